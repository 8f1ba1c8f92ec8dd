//! Tokens that expire: OAuth2 client credentials (RFC 6749 §4.4), or a
//! login request whose answer holds one.
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

use pacer_jq::text_of;
use reqwest::header::{HeaderName, HeaderValue};

use crate::{Error, excerpt, jq::Jq, pool, read_body, secret, send, transport_error};

/// How to ask for a token.
#[derive(Debug)]
pub(crate) enum Credentials {
    ClientCredentials {
        token_url: String,
        client_id: String,
        client_secret: String,
        scope: Option<String>,
    },
    Login {
        url: String,
        method: reqwest::Method,
        /// The JSON body, secrets read.
        body: String,
        token: Jq,
        expires_in: Option<Jq>,
    },
}

/// The tokens of one client: the one in use and when to renew it.
#[derive(Debug)]
pub(crate) struct Tokens {
    credentials: Credentials,
    /// The header that carries a token; `None`: `Authorization: Bearer`.
    header: Option<HeaderName>,
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
    pub(crate) fn shared(credentials: Credentials, header: Option<HeaderName>) -> Arc<Tokens> {
        static ALL: OnceLock<Mutex<HashMap<String, Arc<Tokens>>>> = OnceLock::new();
        let key = match &credentials {
            Credentials::ClientCredentials {
                token_url,
                client_id,
                scope,
                ..
            } => format!("{token_url} {client_id} {}", scope.as_deref().unwrap_or("")),
            Credentials::Login { url, body, .. } => format!("{url} {body}"),
        };
        let mut all = ALL
            .get_or_init(Default::default)
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        all.entry(key)
            .or_insert_with(|| {
                Arc::new(Tokens {
                    credentials,
                    header,
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

    /// `request` carrying `token`.
    pub(crate) fn carry(
        &self,
        request: reqwest::RequestBuilder,
        token: &str,
    ) -> reqwest::RequestBuilder {
        match &self.header {
            None => request.bearer_auth(token),
            Some(name) => match HeaderValue::from_str(token) {
                Ok(mut value) => {
                    value.set_sensitive(true);
                    request.header(name.clone(), value)
                }
                // Checked when the token came.
                Err(_) => request,
            },
        }
    }

    /// One token request, and the token's life.
    async fn ask(&self) -> Result<(String, Duration), Error> {
        match &self.credentials {
            Credentials::ClientCredentials {
                token_url,
                client_id,
                client_secret,
                scope,
            } => {
                let failed = |why: String| {
                    Error::Transient(format!("no OAuth2 token from {token_url}: {why}"))
                };
                let form = {
                    let mut form = url::form_urlencoded::Serializer::new(String::new());
                    form.append_pair("grant_type", "client_credentials");
                    if let Some(scope) = scope {
                        form.append_pair("scope", scope);
                    }
                    form.finish()
                };
                let request = crate::client()?
                    .post(token_url)
                    .basic_auth(client_id, Some(client_secret))
                    .header(
                        reqwest::header::CONTENT_TYPE,
                        "application/x-www-form-urlencoded",
                    )
                    .body(form);
                let hint = "check client_id and client_secret";
                let body = answer(request, token_url, hint, &failed).await?;
                let answer: serde_json::Value = serde_json::from_slice(&body).map_err(|e| {
                    failed(format!("the answer is not JSON ({e}): {}", excerpt(&body)))
                })?;
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
            Credentials::Login {
                url,
                method,
                body,
                token,
                expires_in,
            } => {
                let failed = |why: String| {
                    Error::Transient(format!("no token from the login at {url}: {why}"))
                };
                let request = crate::client()?
                    .request(method.clone(), url)
                    .header(reqwest::header::CONTENT_TYPE, "application/json")
                    .body(body.clone());
                let hint = "check the login's body";
                let answer = answer(request, url, hint, &failed).await?;
                let (token, expires_in) = (token.clone(), expires_in.clone());
                let (token, life) = pool::run(move || {
                    let value = pacer_jq::parse(&answer).map_err(|e| {
                        format!("the answer is not JSON ({e}): {}", excerpt(&answer))
                    })?;
                    let found = token.first(&value)?.map(|t| text_of(&t)).ok_or_else(|| {
                        format!(
                            "{token:?} found no token in the answer: {}",
                            excerpt(&answer)
                        )
                    })?;
                    let life = match &expires_in {
                        Some(jq) => jq
                            .first(&value)?
                            .and_then(|v| text_of(&v).parse::<f64>().ok()),
                        None => None,
                    };
                    Ok::<_, String>((found, life))
                })
                .await?
                .map_err(failed)?;
                secret::register(&token);
                if HeaderValue::from_str(&token).is_err() {
                    return Err(failed("the token holds characters a header cannot".into()));
                }
                let life = life
                    .filter(|s| *s > 0.0)
                    .map_or(ASSUMED_LIFE, Duration::from_secs_f64);
                Ok((token, life))
            }
        }
    }
}

/// The body of a 2xx answer to `request`, or why there is none, with
/// `hint` when the server refused who asked.
async fn answer(
    request: reqwest::RequestBuilder,
    url: &str,
    hint: &str,
    failed: &impl Fn(String) -> Error,
) -> Result<Vec<u8>, Error> {
    let response = send(request.timeout(Duration::from_secs(30)))
        .await
        .map_err(|e| failed(transport_error(&e, url).to_string()))?;
    let status = response.status();
    let body = read_body(response, crate::MAX_EXCERPT_BYTES)
        .await
        .map_err(|e| failed(transport_error(&e, url).to_string()))?;
    if status.is_success() {
        return Ok(body);
    }
    let hint = if matches!(status.as_u16(), 400 | 401 | 403) {
        format!("; {hint}")
    } else {
        String::new()
    };
    Err(failed(format!("{status}: {}{hint}", excerpt(&body))))
}
