//! Records that arrive by webhook: checked, then read like a page.

use pacer_config::Webhook;

use crate::{
    Error,
    jq::{self, Jq},
    resolve,
    source::{Record, Rejected, keyed},
};

/// Why a webhook delivery was refused.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Refusal {
    /// The shared secret is missing or wrong (401).
    Unauthorized,
    /// The body is larger than `max_bytes` (413).
    TooLarge {
        /// The limit.
        max_bytes: usize,
    },
    /// The body is not JSON (400); it is kept as a rejected record.
    NotJson(String),
}

/// Reads webhook bodies of one integration.
#[derive(Clone)]
pub struct Intake {
    key: Jq,
    secret: Option<String>,
    max_bytes: usize,
}

impl std::fmt::Debug for Intake {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the secret.
        f.debug_struct("Intake")
            .field("key", &self.key)
            .field("max_bytes", &self.max_bytes)
            .finish_non_exhaustive()
    }
}

impl Intake {
    /// Builds the intake from the integration's `webhook` settings.
    ///
    /// # Errors
    ///
    /// A key expression that does not compile, a secret variable not set.
    pub fn new(webhook: &Webhook) -> Result<Intake, Error> {
        Ok(Intake {
            key: Jq::compile(&webhook.key)?,
            secret: webhook.secret.as_ref().map(resolve).transpose()?,
            max_bytes: webhook.max_bytes,
        })
    }

    /// Checks the secret (in constant time) and the size, then reads the
    /// records: each element of an array body, else the body itself.
    ///
    /// # Errors
    ///
    /// The [`Refusal`] to answer with.
    pub fn read(
        &self,
        body: &[u8],
        secret: Option<&str>,
    ) -> Result<(Vec<Record>, Vec<Rejected>), Refusal> {
        if let Some(expected) = &self.secret
            && !secret.is_some_and(|given| same(given.as_bytes(), expected.as_bytes()))
        {
            return Err(Refusal::Unauthorized);
        }
        if body.len() > self.max_bytes {
            return Err(Refusal::TooLarge {
                max_bytes: self.max_bytes,
            });
        }
        let value = jq::parse(body).map_err(|e| Refusal::NotJson(format!("not JSON: {e}")))?;
        let values = match value {
            jaq_json::Val::Arr(items) => items.iter().cloned().collect(),
            one => vec![one],
        };
        let mut records = Vec::new();
        let mut rejected = Vec::new();
        for (n, value) in values.iter().enumerate() {
            match keyed(&self.key, value, || {
                format!("record {} of the webhook", n + 1)
            }) {
                Ok(key) => records.push(Record {
                    key,
                    payload: value.to_string(),
                    cursor: None,
                }),
                Err(r) => rejected.push(r),
            }
        }
        Ok((records, rejected))
    }
}

/// Compares two secrets in time that depends only on their lengths.
pub fn same(a: &[u8], b: &[u8]) -> bool {
    let mut diff = a.len() ^ b.len();
    for (i, &x) in a.iter().enumerate() {
        diff |= usize::from(x ^ b.get(i % b.len().max(1)).copied().unwrap_or(0));
    }
    diff == 0
}

#[cfg(test)]
mod tests {
    use pacer_config::Expr;

    use super::*;

    fn intake(secret: Option<&str>) -> Intake {
        Intake::new(&Webhook {
            secret: secret.map(|s| Expr {
                text: s.into(),
                origin: "integrations.orders.webhook.secret".into(),
            }),
            max_bytes: 64,
            key: Expr {
                text: ".id".into(),
                origin: "integrations.orders.webhook.key".into(),
            },
        })
        .unwrap()
    }

    #[test]
    fn arrays_hold_one_record_each_and_keyless_ones_are_rejected() {
        let (records, rejected) = intake(None)
            .read(br#"[{"id": 1}, {"id": "b"}, {"no": 3}]"#, None)
            .unwrap();
        let keys: Vec<&str> = records.iter().map(|r| r.key.as_str()).collect();
        assert_eq!(keys, ["1", "b"]);
        assert_eq!(rejected.len(), 1);
        assert_eq!(rejected[0].raw, r#"{"no":3}"#);
        let (records, _) = intake(None).read(br#"{"id": 7}"#, None).unwrap();
        assert_eq!(records[0].payload, r#"{"id":7}"#);
    }

    #[test]
    fn secrets_sizes_and_json_are_checked() {
        let guarded = intake(Some("s3cret"));
        assert_eq!(
            guarded.read(b"{}", None).unwrap_err(),
            Refusal::Unauthorized
        );
        assert_eq!(
            guarded.read(b"{}", Some("s3cre")).unwrap_err(),
            Refusal::Unauthorized
        );
        assert_eq!(
            guarded.read(b"{}", Some("s3cret!")).unwrap_err(),
            Refusal::Unauthorized
        );
        assert!(guarded.read(br#"{"id": 1}"#, Some("s3cret")).is_ok());
        assert_eq!(
            intake(None).read(&[b' '; 65], None).unwrap_err(),
            Refusal::TooLarge { max_bytes: 64 }
        );
        assert!(matches!(
            intake(None).read(b"{oops", None),
            Err(Refusal::NotJson(_))
        ));
        assert!(!format!("{guarded:?}").contains("s3cret"));
    }
}
