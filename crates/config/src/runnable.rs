//! What `pacer run` would refuse, refused here for every command: jq that
//! does not compile, a method that is not HTTP, a template naming what a
//! request does not have, a base URL that is not a URL.
//!
//! `plan` and `simulate` read the same file through the same checks, so a
//! simulation never vouches for a file that cannot run.

use serde_saphyr::Spanned;

use crate::{Error, check::Check};

/// What a request's templates may name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Fields {
    /// A pull request: only `{{ cursor }}`, and the parts of a compound
    /// one, `{{ cursor.0 }}`.
    Cursor,
    /// A push request's path, or a statement: any top-level field of the record.
    Record,
    /// A database pull's query: `{{ cursor }}` (and its parts),
    /// `{{ limit }}`, `{{ offset }}`.
    Query,
    /// Where nothing is filled in (a push request's query).
    None,
}

impl Check<'_> {
    /// Compiles a jq expression as the connectors will, pointing at the
    /// offending character on failure.
    pub(crate) fn jq(&self, spanned: &Spanned<String>, path: &str) -> Result<(), Error> {
        pacer_jq::Filter::compile(&spanned.value)
            .map(|_| ())
            .map_err(|e| {
                let chars = e.offset().map_or(0, |at| {
                    spanned.value[..at.min(spanned.value.len())].chars().count()
                });
                self.inside(
                    spanned,
                    chars,
                    path,
                    format!("invalid jq expression {:?}: {e}", spanned.value),
                )
            })
    }

    /// An HTTP method is a token (RFC 9110): letters, digits and
    /// ``!#$%&'*+-.^_`|~``.
    pub(crate) fn method(&self, spanned: &Spanned<String>, path: &str) -> Result<String, Error> {
        let method = spanned.value.trim();
        let bad = method
            .char_indices()
            .find(|&(_, c)| !(c.is_ascii_alphanumeric() || "!#$%&'*+-.^_`|~".contains(c)));
        match (method.is_empty(), bad) {
            (true, _) => Err(self.at(
                spanned,
                path,
                "expected an HTTP method such as GET, PUT, POST, PATCH or DELETE, found nothing"
                    .into(),
            )),
            (false, Some((at, c))) => Err(self.inside(
                spanned,
                method[..at].chars().count(),
                path,
                format!(
                    "{method:?} is not an HTTP method: {c:?} cannot be in one; \
                     expected e.g. GET, PUT, POST, PATCH or DELETE"
                ),
            )),
            (false, None) => Ok(method.to_uppercase()),
        }
    }

    /// Every `{{ … }}` in `spanned` is closed and names what `fields` allows.
    pub(crate) fn template(
        &self,
        spanned: &Spanned<String>,
        path: &str,
        fields: Fields,
    ) -> Result<(), Error> {
        let text = &spanned.value;
        let mut from = 0;
        while let Some(open) = text[from..].find("{{").map(|i| from + i) {
            let at = |byte: usize| text[..byte].chars().count();
            let Some(close) = text[open..].find("}}").map(|i| open + i) else {
                return Err(self.inside(spanned, at(open), path, "`{{` without its `}}`".into()));
            };
            let name = text[open + 2..close].trim();
            let wrong = match fields {
                _ if name.is_empty() => Some("names no field".to_string()),
                Fields::Cursor if !is_cursor(name) => Some(format!(
                    "names {name:?}, but a pull request knows only {{{{ cursor }}}} \
                     (and {{{{ cursor.0 }}}}, {{{{ cursor.1 }}}}… for the parts of a compound cursor)"
                )),
                Fields::Query if !(is_cursor(name) || name == "limit" || name == "offset") => {
                    Some(format!(
                        "names {name:?}, but a query knows only {{{{ cursor }}}}, \
                         {{{{ limit }}}} and {{{{ offset }}}}"
                    ))
                }
                Fields::Record | Fields::None
                    if !name
                        .chars()
                        .all(|c| c.is_alphanumeric() || c == '_' || c == '-') =>
                {
                    Some(format!(
                        "names {name:?}, which is not a field name (letters, digits, _ and -)"
                    ))
                }
                Fields::None => Some(format!(
                    "names {name:?}, but nothing is filled in here: only the push \
                     request's path takes {{{{ field }}}} of the record"
                )),
                _ => None,
            };
            if let Some(wrong) = wrong {
                return Err(self.inside(
                    spanned,
                    at(open),
                    path,
                    format!("{{{{ {name} }}}} {wrong}"),
                ));
            }
            from = close + 2;
        }
        Ok(())
    }

    /// A base URL is an `http://` or `https://` URL with a host.
    pub(crate) fn base_url(&self, spanned: &Spanned<String>, path: &str) -> Result<(), Error> {
        let text = spanned.value.trim();
        let wrong = match url::Url::parse(text) {
            Ok(url) if !matches!(url.scheme(), "http" | "https") => {
                Some(format!("the scheme is {:?}", url.scheme()))
            }
            Ok(url) if url.host().is_none() => Some("there is no host".into()),
            Ok(_) => None,
            Err(e) => Some(e.to_string()),
        };
        match wrong {
            None => Ok(()),
            Some(wrong) => Err(self.at(
                spanned,
                path,
                format!(
                    "expected an http:// or https:// URL such as https://erp.example.com/api, \
                     found {:?} ({wrong})",
                    without_password(text)
                ),
            )),
        }
    }
}

/// `cursor`, or `cursor.N`: part N of a compound cursor.
fn is_cursor(name: &str) -> bool {
    name.strip_prefix("cursor").is_some_and(|rest| {
        rest.is_empty()
            || rest
                .strip_prefix('.')
                .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
    })
}

/// A URL as written, its password (`user:pw@`) masked: errors are shown and logged.
fn without_password(url: &str) -> String {
    let start = url.find("://").map_or(0, |i| i + 3);
    let authority_end = url[start..]
        .find(['/', '?', '#'])
        .map_or(url.len(), |i| start + i);
    match url[start..authority_end].rfind('@') {
        Some(at) => {
            let userinfo = &url[start..start + at];
            match userinfo.split_once(':') {
                Some((user, _)) => {
                    format!("{}{user}:***{}", &url[..start], &url[start + at..])
                }
                None => url.to_string(),
            }
        }
        None => url.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::without_password;
    use crate::parse;

    #[test]
    fn passwords_in_urls_are_masked() {
        assert_eq!(without_password("http://u:pw@[::1"), "http://u:***@[::1");
        assert_eq!(without_password("https://u@h/x@y"), "https://u@h/x@y");
        assert_eq!(without_password("127.0.0.1:9101"), "127.0.0.1:9101");
    }

    fn error(push: &str) -> String {
        let yaml = format!(
            "systems:\n  a: {{ rate: 1/s, base_url: \"http://a\" }}\n\
             integrations:\n  p:\n    from: a\n    to: a\n    volume: 1/day\n    push: {push}\n"
        );
        parse(&yaml, "t.yaml").unwrap_err().to_string()
    }

    #[test]
    fn the_column_is_the_offending_characters() {
        assert_eq!(
            error("{ request: { method: \"FO O\" } }"),
            "t.yaml:8:35: integrations.p.push.request.method: \"FO O\" is not an HTTP \
             method: ' ' cannot be in one; expected e.g. GET, PUT, POST, PATCH or DELETE"
        );
        assert_eq!(
            error("{ request: { path: \"/p/{{ sku }\" } }"),
            "t.yaml:8:34: integrations.p.push.request.path: `{{` without its `}}`"
        );
        assert_eq!(
            error("{ request: { path: \"/p\", query: { id: \"{{ sku }}\" } } }"),
            "t.yaml:8:50: integrations.p.push.request.query.id: {{ sku }} names \"sku\", but \
             nothing is filled in here: only the push request's path takes {{ field }} of the record"
        );
        let jq = error("{ transform: '{sku, price: .amount' }");
        assert!(
            jq.starts_with("t.yaml:8:45: integrations.p.push.transform: invalid jq expression"),
            "{jq}"
        );
    }
}
