//! The process's secrets, and the one function that takes them out of text.
//!
//! Secrets are registered where Pacer learns them (a `${VARIABLE}` read, a
//! password in a URL) and redacted from every message that leaves: errors
//! kept in the store and served by the API, and every log line. A remote
//! system may echo a request back, so a secret is looked for as sent, too:
//! percent-encoded in a URL and escaped in JSON.

use std::{borrow::Cow, sync::RwLock};

/// What a secret becomes in a message.
const REDACTED: &str = "[redacted]";

static SECRETS: RwLock<Vec<String>> = RwLock::new(Vec::new());

/// Registers `secret` so [`redact`] takes it (and how it is written in URLs
/// and in JSON) out of every message from now on. Empty text is ignored.
pub fn register(secret: &str) {
    if secret.is_empty() {
        return;
    }
    let forms = [
        secret.to_string(),
        crate::encode_segment(secret),
        serde_json::to_string(secret)
            .map(|quoted| quoted[1..quoted.len() - 1].to_string())
            .unwrap_or_default(),
    ];
    let mut secrets = SECRETS.write().unwrap_or_else(|e| e.into_inner());
    for form in forms {
        if !form.is_empty() && !secrets.contains(&form) {
            secrets.push(form);
        }
    }
    // Longest first: a secret that contains another is taken out whole.
    secrets.sort_by_key(|s| std::cmp::Reverse(s.len()));
}

/// `text` with every registered secret replaced by `[redacted]`.
///
/// # Example
///
/// ```
/// pacer_connect::register_secret("tok-3f9a2c71e0");
/// assert_eq!(
///     pacer_connect::redact("500: echo Authorization: Bearer tok-3f9a2c71e0"),
///     "500: echo Authorization: Bearer [redacted]"
/// );
/// ```
pub fn redact(text: &str) -> Cow<'_, str> {
    let secrets = SECRETS.read().unwrap_or_else(|e| e.into_inner());
    let mut text = Cow::Borrowed(text);
    for secret in secrets.iter() {
        if text.contains(secret.as_str()) {
            text = Cow::Owned(text.replace(secret.as_str(), REDACTED));
        }
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_redacted_as_sent_in_urls_and_json() {
        register("pw/with \"quotes\" é");
        assert_eq!(
            redact(r#"{"echo": "pw/with \"quotes\" é"}"#),
            r#"{"echo": "[redacted]"}"#
        );
        assert_eq!(
            redact("GET /x?token=pw%2Fwith%20%22quotes%22%20%C3%A9"),
            "GET /x?token=[redacted]"
        );
        assert!(matches!(redact("nothing to hide"), Cow::Borrowed(_)));
    }
}
