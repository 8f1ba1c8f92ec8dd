//! Records that arrive by webhook: checked, then read like a page.

use std::sync::Arc;

use pacer_config::Webhook;

use crate::{
    Error,
    jq::Jq,
    pool, resolve,
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
    /// The body is JSON nested deeper than [`pacer_jq::MAX_DEPTH`] (400).
    TooDeep,
}

/// Reads webhook bodies of one integration.
#[derive(Clone)]
pub struct Intake {
    key: Arc<Jq>,
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
            key: Arc::new(Jq::compile(&webhook.key)?),
            secret: webhook.secret.as_ref().map(resolve).transpose()?,
            max_bytes: webhook.max_bytes,
        })
    }

    /// Whether deliveries must carry a secret.
    pub fn has_secret(&self) -> bool {
        self.secret.is_some()
    }

    /// Checks the secret (in constant time) and the size, then reads the
    /// records, on the jq threads: each element of an array body, else the
    /// body itself.
    ///
    /// # Errors
    ///
    /// The [`Refusal`] to answer with.
    pub async fn read(
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
        let key = self.key.clone();
        let body = body.to_vec();
        pool::run(move || records(&key, &body))
            .await
            .unwrap_or_else(|e| Err(Refusal::NotJson(e.to_string())))
    }
}

fn records(key: &Jq, body: &[u8]) -> Result<(Vec<Record>, Vec<Rejected>), Refusal> {
    let value = pacer_jq::parse(body).map_err(|e| {
        if e.is_too_deep() {
            Refusal::TooDeep
        } else {
            Refusal::NotJson(e.to_string())
        }
    })?;
    let values = match value {
        pacer_jq::Value::Arr(items) => items.iter().cloned().collect(),
        one => vec![one],
    };
    let mut records = Vec::new();
    let mut rejected = Vec::new();
    for (n, value) in values.iter().enumerate() {
        match keyed(key, value, || format!("record {} of the webhook", n + 1)) {
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

    fn webhook(secret: Option<&str>) -> Webhook {
        Webhook {
            secret: secret.map(|s| Expr {
                text: s.into(),
                origin: "integrations.orders.webhook.secret".into(),
            }),
            max_bytes: 64,
            key: Expr {
                text: ".id".into(),
                origin: "integrations.orders.webhook.key".into(),
            },
        }
    }

    fn intake(secret: Option<&str>) -> Intake {
        Intake::new(&webhook(secret)).unwrap()
    }

    #[tokio::test]
    async fn arrays_hold_one_record_each_and_keyless_ones_are_rejected() {
        let (records, rejected) = intake(None)
            .read(br#"[{"id": 1}, {"id": "b"}, {"no": 3}]"#, None)
            .await
            .unwrap();
        let keys: Vec<&str> = records.iter().map(|r| r.key.as_str()).collect();
        assert_eq!(keys, ["1", "b"]);
        assert_eq!(rejected.len(), 1);
        assert_eq!(rejected[0].raw, r#"{"no":3}"#);
        let (records, _) = intake(None).read(br#"{"id": 7}"#, None).await.unwrap();
        assert_eq!(records[0].payload, r#"{"id":7}"#);
    }

    #[tokio::test]
    async fn secrets_sizes_depth_and_json_are_checked() {
        let guarded = intake(Some("hook-s3cret-71"));
        for wrong in [None, Some("hook-s3cret-7"), Some("hook-s3cret-71!")] {
            assert_eq!(
                guarded.read(b"{}", wrong).await.unwrap_err(),
                Refusal::Unauthorized
            );
        }
        assert!(
            guarded
                .read(br#"{"id": 1}"#, Some("hook-s3cret-71"))
                .await
                .is_ok()
        );
        assert_eq!(
            intake(None).read(&[b' '; 65], None).await.unwrap_err(),
            Refusal::TooLarge { max_bytes: 64 }
        );
        assert!(matches!(
            intake(None).read(b"{oops", None).await,
            Err(Refusal::NotJson(_))
        ));
        assert_eq!(
            intake(None).read(&[b'['; 65], None).await.unwrap_err(),
            Refusal::TooLarge { max_bytes: 64 }
        );
        let deep = Intake::new(&Webhook {
            max_bytes: 1 << 20,
            ..webhook(None)
        })
        .unwrap();
        assert_eq!(
            deep.read(&[b'['; 5_000], None).await.unwrap_err(),
            Refusal::TooDeep
        );
        assert!(!format!("{guarded:?}").contains("hook-s3cret"));
    }

    proptest::proptest! {
        /// Whatever its depth and size, a body is read or refused for the
        /// right reason: too large first, then too deep.
        #[test]
        fn any_depth_and_size_is_read_or_refused_for_the_right_reason(
            depth in 0usize..400,
            padding in 0usize..3_000,
        ) {
            let intake = Intake::new(&Webhook { max_bytes: 2_048, ..webhook(None) }).unwrap();
            let body = format!(
                r#"{{"id": 1, "pad": "{}", "deep": {}0{}}}"#,
                " ".repeat(padding),
                "[".repeat(depth),
                "]".repeat(depth)
            );
            let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
            let read = runtime.block_on(intake.read(body.as_bytes(), None));
            if body.len() > 2_048 {
                proptest::prop_assert_eq!(read.unwrap_err(), Refusal::TooLarge { max_bytes: 2_048 });
            } else if depth + 1 > pacer_jq::MAX_DEPTH {
                proptest::prop_assert_eq!(read.unwrap_err(), Refusal::TooDeep);
            } else {
                let (records, rejected) = read.unwrap();
                proptest::prop_assert_eq!((records.len(), rejected.len()), (1, 0));
            }
        }
    }
}
