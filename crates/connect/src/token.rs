//! Tokens that expire: OAuth2 client credentials (RFC 6749 §4.4).
//!
//! A token is asked for when first needed, kept until shortly before it
//! expires, and asked for again then — or at once when the API answers
//! 401, as a token may be revoked before it expires. Every job on one
//! system shares its token. The client secret and each token are
//! registered as secrets, so no message shows them.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex, OnceLock},
    time::{Duration, Instant},
};

use crate::{Error, excerpt, read_body, secret, send, transport_error};

/// How to ask for a token.
#[derive(Debug)]
pub(crate) struct Credentials {
    pub(crate) token_url: String,
    pub(crate) client_id: String,
    pub(crate) client_secret: String,
    pub(crate) scope: Option<String>,
}

/// The tokens of one client: the one in use and when to renew it.
#[derive(Debug)]
pub(crate) struct Tokens {
    credentials: Credentials,
    current: tokio::sync::Mutex<Option<(String, Instant)>>,
}

/// The longest a token is renewed before it expires; a token that lives
/// less than twice this is renewed halfway through its life.
const RENEW_BEFORE: Duration = Duration::from_secs(60);

/// Without `expires_in` in the answer, a token is used this long.
const ASSUMED_LIFE: Duration = Duration::from_secs(3_600);

impl Tokens {
    /// The tokens of `credentials`, shared by every endpoint that names the
    /// same token URL, client and scope.
    pub(crate) fn shared(credentials: Credentials) -> Arc<Tokens> {
        static ALL: OnceLock<Mutex<HashMap<String, Arc<Tokens>>>> = OnceLock::new();
        let key = format!(
            "{} {} {}",
            credentials.token_url,
            credentials.client_id,
            credentials.scope.as_deref().unwrap_or("")
        );
        let mut all = ALL
            .get_or_init(Default::default)
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        all.entry(key)
            .or_insert_with(|| {
                Arc::new(Tokens {
                    credentials,
                    current: tokio::sync::Mutex::new(None),
                })
            })
            .clone()
    }

    /// A token to send; a new one when `refused` (the API answered 401 to
    /// `refused`) or the one held is due for renewal.
    ///
    /// # Errors
    ///
    /// [`Error::Transient`] when no token can be had: the records are not
    /// at fault, and a corrected secret or a server back up lets them go.
    pub(crate) async fn token(&self, refused: Option<&str>) -> Result<String, Error> {
        let mut current = self.current.lock().await;
        if let Some((token, renew_at)) = current.as_ref() {
            let renewed_since = refused.is_some_and(|r| r != token);
            if (refused.is_none() || renewed_since) && Instant::now() < *renew_at {
                return Ok(token.clone());
            }
        }
        let (token, life) = self.ask().await?;
        let renew_in = life.saturating_sub(RENEW_BEFORE.min(life / 2));
        *current = Some((token.clone(), Instant::now() + renew_in));
        Ok(token)
    }

    /// One token request, and the token's life.
    async fn ask(&self) -> Result<(String, Duration), Error> {
        let c = &self.credentials;
        let failed =
            |why: String| Error::Transient(format!("no OAuth2 token from {}: {why}", c.token_url));
        let form = {
            let mut form = url::form_urlencoded::Serializer::new(String::new());
            form.append_pair("grant_type", "client_credentials");
            if let Some(scope) = &c.scope {
                form.append_pair("scope", scope);
            }
            form.finish()
        };
        let request = crate::client()?
            .post(&c.token_url)
            .basic_auth(&c.client_id, Some(&c.client_secret))
            .header(
                reqwest::header::CONTENT_TYPE,
                "application/x-www-form-urlencoded",
            )
            .body(form)
            .timeout(Duration::from_secs(30));
        let response = send(request)
            .await
            .map_err(|e| failed(transport_error(&e, &c.token_url).to_string()))?;
        let status = response.status();
        let body = read_body(response, crate::MAX_EXCERPT_BYTES)
            .await
            .map_err(|e| failed(transport_error(&e, &c.token_url).to_string()))?;
        if !status.is_success() {
            let hint = if status.as_u16() == 401 || status.as_u16() == 400 {
                "; check client_id and client_secret"
            } else {
                ""
            };
            return Err(failed(format!("{status}: {}{hint}", excerpt(&body))));
        }
        let answer: serde_json::Value = serde_json::from_slice(&body)
            .map_err(|e| failed(format!("the answer is not JSON ({e}): {}", excerpt(&body))))?;
        let Some(token) = answer["access_token"].as_str() else {
            return Err(failed(format!(
                "the answer has no access_token: {}",
                excerpt(&body)
            )));
        };
        secret::register(token);
        let life = answer["expires_in"]
            .as_f64()
            .filter(|s| *s > 0.0)
            .map_or(ASSUMED_LIFE, Duration::from_secs_f64);
        Ok((token.to_string(), life))
    }
}
