//! Pacer's connectors: the HTTP source a pull job reads and the HTTP
//! destination a push job writes, as the config file describes them.
//!
//! A [`Source`] fetches one page at a time — the engine decides how many, at
//! what pace, and commits each page's records with the new cursor — and turns
//! a body into [`Record`]s with the file's jq expressions, keeping the ones
//! that cannot be read as [`Rejected`] instead of failing the page. A
//! [`Destination`] delivers claimed tasks, singly or in JSON array batches,
//! and says per task whether it was delivered, should be retried (429, 5xx,
//! timeouts, connection errors, honouring `Retry-After`) or is rejected for
//! good (other 4xx, a transform that fails).
//!
//! Secrets are written `${VARIABLE}` in the file and read from the
//! environment when a connector is built. Each one, and the password of a
//! `base_url` like `https://user:pw@host`, is registered with [`redact`],
//! which every error and log line passes through: not even a system that
//! echoes the request's `Authorization` in its answer gets one into a
//! message. URLs are shown without user info.
//!
//! What a system sends is read within bounds: a page of at most
//! [`MAX_PAGE_BYTES`] nested at most [`pacer_jq::MAX_DEPTH`] deep, a key of
//! at most [`MAX_KEY_BYTES`], the first [`MAX_EXCERPT_BYTES`] of an error
//! answer; jq runs on threads of its own within [`pacer_jq::Limits`].

#![deny(missing_docs)]

use std::{sync::Arc, time::Duration};

use pacer_config::{Auth, Connection, Expr};
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};

use crate::token::{Credentials, Tokens};

pub use crate::{
    destination::{Delivery, Destination, Outgoing},
    intake::{Intake, Refusal, same as same_secret},
    notify::{Notice, NoticeStatus, Notifier},
    pool::inline as jq_inline,
    secret::{redact, register as register_secret},
    source::{MAX_KEY_BYTES, MAX_PAGE_BYTES, Page, PageRequest, Record, Rejected, Source, compare},
    transport::{NotAUrl, Service, Transport},
};

mod destination;
mod intake;
mod jq;
mod lookup;
mod notify;
mod pool;
mod secret;
mod source;
mod sql;
mod template;
mod token;
mod transport;

/// Makes ring the process's TLS crypto provider, which every HTTP client
/// needs (reqwest is built without one, so aws-lc-rs's C stays out of the
/// build). Pacer's own clients call it; call it before building a
/// `reqwest::Client` of your own. A second call, or a provider installed
/// before, changes nothing.
pub fn install_tls() {
    // `Err`: one is installed already, which is what is wanted.
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// How much of an error answer is read, to show its start.
pub const MAX_EXCERPT_BYTES: usize = 64 << 10;

/// Why a connector could not be built or a request not be made.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Something in the config file is wrong.
    #[error("{origin}: {message}")]
    Config {
        /// `file:line:column: key.path` of the value.
        origin: String,
        /// What is wrong and what to do.
        message: String,
    },
    /// A request failed in a way a later attempt may fix.
    #[error("{0}")]
    Transient(String),
    /// A request failed in a way retrying will not fix.
    #[error("{0}")]
    Permanent(String),
}

impl Error {
    /// Whether a later attempt may succeed.
    pub fn is_transient(&self) -> bool {
        matches!(self, Error::Transient(_))
    }
}

/// Replaces each `${VARIABLE}` in a secret with the environment's value,
/// and registers each value and the result with [`redact`].
///
/// # Errors
///
/// A variable that is not set, or a `${` without its `}`; the error names
/// the variable and where the secret is written, never a value.
pub fn resolve(expr: &Expr) -> Result<String, Error> {
    let mut out = String::new();
    let mut rest = expr.text.as_str();
    while let Some(start) = rest.find("${") {
        out.push_str(&rest[..start]);
        let Some(end) = rest[start..].find('}') else {
            return Err(Error::Config {
                origin: expr.origin.clone(),
                message: "`${` without a closing `}`".into(),
            });
        };
        let name = &rest[start + 2..start + end];
        match std::env::var(name) {
            Ok(value) => {
                // The value alone too: a system may echo it without the
                // text around it (a Slack URL's path, a "Bearer " header).
                secret::register(&value);
                out.push_str(&value);
            }
            Err(_) => {
                return Err(Error::Config {
                    origin: expr.origin.clone(),
                    message: format!(
                        "environment variable {name} is not set; set it before starting Pacer"
                    ),
                });
            }
        }
        rest = &rest[start + end + 1..];
    }
    out.push_str(rest);
    secret::register(&out);
    Ok(out)
}

/// The headers every request to a system carries: its auth, then extras.
fn headers(
    connection: &Connection,
    extra: &[(String, String)],
    credentials: Option<String>,
    origin: &str,
) -> Result<HeaderMap, Error> {
    let mut headers = HeaderMap::new();
    // The message never includes the value: it may be a secret.
    let header = |name: &str, value: String, origin: &str| {
        let name = HeaderName::from_bytes(name.as_bytes()).map_err(|_| Error::Config {
            origin: origin.to_string(),
            message: format!("{name:?} is not a valid header name"),
        })?;
        let mut value = HeaderValue::from_str(&value).map_err(|_| Error::Config {
            origin: origin.to_string(),
            message: format!("the value of header {name} holds characters a header cannot"),
        })?;
        value.set_sensitive(true);
        Ok::<_, Error>((name, value))
    };
    match &connection.auth {
        None => {}
        Some(Auth::Bearer(token)) => {
            let (name, value) = header(
                "authorization",
                format!("Bearer {}", resolve(token)?),
                &token.origin,
            )?;
            headers.insert(name, value);
        }
        Some(Auth::Basic { username, password }) => {
            let encoded = base64(format!("{username}:{}", resolve(password)?).as_bytes());
            secret::register(&encoded);
            let (name, value) = header(
                "authorization",
                format!("Basic {encoded}"),
                &password.origin,
            )?;
            headers.insert(name, value);
        }
        Some(Auth::Header { name, value }) => {
            let (name, value) = header(name, resolve(value)?, &value.origin)?;
            headers.insert(name, value);
        }
        // Its header is added to each request: the token changes.
        Some(Auth::OAuth2 { .. } | Auth::Login { .. }) => {}
    }
    // Templated ones are filled in for each request.
    for (name, value) in extra.iter().filter(|(_, v)| !v.contains("{{")) {
        let expr = Expr {
            text: value.clone(),
            origin: format!("{origin}.headers.{name}"),
        };
        // Only a value read from a variable is a secret; `Accept:
        // application/json` stays readable in messages.
        let resolved = if value.contains("${") {
            resolve(&expr)?
        } else {
            value.clone()
        };
        let (name, value) = header(name, resolved, &expr.origin)?;
        headers.insert(name, value);
    }
    if let Some(basic) = credentials {
        let (name, value) = header("authorization", basic, origin)?;
        headers.entry(name).or_insert(value);
    }
    Ok(headers)
}

/// What every request of one job to its system shares.
#[derive(Clone)]
struct Endpoint {
    client: reqwest::Client,
    /// Each request's time limit, from the file's `timeout`.
    timeout: Duration,
    /// The system's base URL, parsed once: each request's URL reuses its
    /// scheme and host.
    base_url: reqwest::Url,
    /// Auth and extra headers; they may hold secrets, so never shown.
    headers: HeaderMap,
    request: pacer_config::Request,
    method: reqwest::Method,
    /// OAuth2's tokens, when the system's auth asks for them.
    tokens: Option<Arc<Tokens>>,
    /// Headers whose values hold `{{ … }}`, secrets already read.
    templated: Vec<(HeaderName, String)>,
    /// The service in this process that answers for the base URL, when the
    /// transport has one; `None` sends over the network.
    service: Option<Service>,
}

impl Endpoint {
    /// `origin` names the request's settings in errors: `integrations.prices.pull.request`.
    fn new(
        connection: &Connection,
        request: &pacer_config::Request,
        timeout_ms: u64,
        origin: &str,
    ) -> Result<Endpoint, Error> {
        let method =
            reqwest::Method::from_bytes(request.method.as_bytes()).map_err(|_| Error::Config {
                origin: origin.to_string(),
                message: format!("{:?} is not an HTTP method", request.method),
            })?;
        let base = base_url(connection, origin)?;
        let mut base_url = reqwest::Url::parse(&base).map_err(|e| Error::Config {
            origin: origin.to_string(),
            message: format!("systems.{}.base_url is not a URL: {e}", connection.system),
        })?;
        let credentials = take_credentials(&mut base_url);
        let tokens = match &connection.auth {
            Some(Auth::OAuth2 {
                token_url,
                client_id,
                client_secret,
                scope,
            }) => Some(Tokens::shared(
                Credentials::ClientCredentials {
                    token_url: token_url.clone(),
                    client_id: client_id.clone(),
                    client_secret: resolve(client_secret)?,
                    scope: scope.clone(),
                },
                None,
            )),
            Some(Auth::Login {
                path,
                method,
                body,
                token,
                expires_in,
                header,
            }) => {
                let login_origin = format!("systems.{}.auth.login", connection.system);
                let invalid = |message: String| Error::Config {
                    origin: login_origin.clone(),
                    message,
                };
                let url = Endpoint::url_of(&base_url, path).map_err(&invalid)?;
                let mut fields = serde_json::Map::new();
                for (name, value) in body {
                    fields.insert(name.clone(), resolve(value)?.into());
                }
                let header = match header {
                    Some(name) => Some(
                        HeaderName::from_bytes(name.as_bytes())
                            .map_err(|_| invalid(format!("{name:?} is not a valid header name")))?,
                    ),
                    None => None,
                };
                Some(Tokens::shared(
                    Credentials::Login {
                        url: url.to_string(),
                        method: reqwest::Method::from_bytes(method.as_bytes())
                            .map_err(|_| invalid(format!("{method:?} is not an HTTP method")))?,
                        body: serde_json::Value::Object(fields).to_string(),
                        token: jq::Jq::compile(token)?,
                        expires_in: expires_in.as_ref().map(jq::Jq::compile).transpose()?,
                    },
                    header,
                ))
            }
            _ => None,
        };
        let mut templated = Vec::new();
        for (name, value) in request.headers.iter().filter(|(_, v)| v.contains("{{")) {
            let origin = format!("{origin}.headers.{name}");
            let name = HeaderName::from_bytes(name.as_bytes()).map_err(|_| Error::Config {
                origin: origin.clone(),
                message: format!("{name:?} is not a valid header name"),
            })?;
            let value = if value.contains("${") {
                resolve(&Expr {
                    text: value.clone(),
                    origin,
                })?
            } else {
                value.clone()
            };
            templated.push((name, value));
        }
        Ok(Endpoint {
            client: client()?,
            timeout: Duration::from_millis(timeout_ms),
            base_url,
            headers: headers(connection, &request.headers, credentials, origin)?,
            request: request.clone(),
            method,
            tokens,
            templated,
            service: None,
        })
    }

    /// Sends through `transport`: to a service in this process when it has
    /// one for the base URL.
    fn via(&mut self, transport: &Transport) {
        self.service = transport.service_for(&self.base_url);
    }

    /// The templated headers filled in by `value` (a name's value, `None`
    /// when there is none), or why one cannot be.
    fn fill_headers(&self, value: impl Fn(&str) -> Option<String>) -> Result<HeaderMap, String> {
        let mut headers = HeaderMap::new();
        for (name, template) in &self.templated {
            let text = template::render(template, &value)
                .map_err(|field| format!("nothing for {{{{ {field} }}}} in the header {name}"))?;
            let mut value = HeaderValue::from_str(&text)
                .map_err(|_| format!("the header {name} would hold characters a header cannot"))?;
            value.set_sensitive(true);
            headers.insert(name.clone(), value);
        }
        Ok(headers)
    }

    /// Sends `request` with the system's auth; with OAuth2, a 401 has a
    /// new token asked for and the request sent again at once. `shown`
    /// names the request in errors.
    async fn send(
        &self,
        request: reqwest::RequestBuilder,
        shown: &str,
    ) -> Result<reqwest::Response, Error> {
        let Some(tokens) = &self.tokens else {
            return self.exchange(request, shown).await;
        };
        let again = request.try_clone();
        let token = tokens.token(None).await?;
        let response = self.exchange(tokens.carry(request, &token), shown).await?;
        match again {
            Some(again) if response.status() == reqwest::StatusCode::UNAUTHORIZED => {
                let renewed = tokens.token(Some(&token)).await?;
                self.exchange(tokens.carry(again, &renewed), shown).await
            }
            _ => Ok(response),
        }
    }

    /// One request and its answer, over the network or in this process.
    async fn exchange(
        &self,
        request: reqwest::RequestBuilder,
        shown: &str,
    ) -> Result<reqwest::Response, Error> {
        match &self.service {
            None => send(request).await.map_err(|e| transport_error(&e, shown)),
            Some(service) => transport::exchange(service, request).await.map_err(|why| {
                Error::Transient(redact(&format!("{shown}: request {why}")).into_owned())
            }),
        }
    }

    /// The URL of `path` under the base URL, as if appended to it. An
    /// absolute path is resolved against the parsed base, so the host is
    /// not parsed again for every request.
    fn url(&self, path: &str) -> Result<reqwest::Url, String> {
        Endpoint::url_of(&self.base_url, path)
    }

    /// `path` under `base_url`, as if appended to it.
    fn url_of(base_url: &reqwest::Url, path: &str) -> Result<reqwest::Url, String> {
        let joined = format!("{}{path}", base_url.path().trim_end_matches('/'));
        let url =
            if joined.starts_with('/') && !joined.starts_with("//") && base_url.query().is_none() {
                base_url.join(&joined)
            } else {
                let base = base_url.as_str().trim_end_matches('/');
                reqwest::Url::parse(&format!("{base}{path}"))
            };
        url.map_err(|e| format!("cannot build the request URL: {e}"))
    }

    /// A request to `url` with the method, headers and timeout set.
    fn start(&self, url: impl reqwest::IntoUrl) -> reqwest::RequestBuilder {
        self.client
            .request(self.method.clone(), url)
            .headers(self.headers.clone())
            .timeout(self.timeout)
    }
}

/// Moves `user:password@` out of a URL into a Basic `Authorization` value,
/// as a browser would send it; the URL is then shown without them, and the
/// password is registered as a secret.
fn take_credentials(url: &mut reqwest::Url) -> Option<String> {
    if url.username().is_empty() && url.password().is_none() {
        return None;
    }
    let decode = |text: &str| {
        let mut bytes = Vec::new();
        let mut rest = text.as_bytes();
        while let Some((&b, tail)) = rest.split_first() {
            let hex = |i: usize| (tail.get(i)).and_then(|c| (*c as char).to_digit(16));
            match (b, hex(0), hex(1)) {
                (b'%', Some(high), Some(low)) => {
                    bytes.push((high * 16 + low) as u8);
                    rest = &tail[2..];
                }
                _ => {
                    bytes.push(b);
                    rest = tail;
                }
            }
        }
        String::from_utf8_lossy(&bytes).into_owned()
    };
    let user = decode(url.username());
    let password = url.password().map(decode).unwrap_or_default();
    if let Some(raw) = url.password() {
        secret::register(raw);
        secret::register(&password);
    }
    let encoded = base64(format!("{user}:{password}").as_bytes());
    secret::register(&encoded);
    let _ = url.set_username("");
    let _ = url.set_password(None);
    Some(format!("Basic {encoded}"))
}

/// Reads an answer's body, stopping once it holds more than `limit` bytes
/// (so a caller sees `len() > limit` and refuses it, having read no more).
async fn read_body(
    mut response: reqwest::Response,
    limit: usize,
) -> Result<Vec<u8>, reqwest::Error> {
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await? {
        body.extend_from_slice(&chunk);
        if body.len() > limit {
            break;
        }
    }
    Ok(body)
}

fn base_url(connection: &Connection, origin: &str) -> Result<String, Error> {
    connection.base_url.clone().ok_or_else(|| Error::Config {
        origin: origin.to_string(),
        message: format!(
            "system {:?} has no base_url; add `base_url: https://…` to systems.{}",
            connection.system, connection.system
        ),
    })
}

/// The process's one HTTP client: every endpoint shares its connection
/// pools (and the trust roots it loads once); timeouts are per request.
fn client() -> Result<reqwest::Client, Error> {
    static CLIENT: std::sync::OnceLock<reqwest::Client> = std::sync::OnceLock::new();
    if let Some(client) = CLIENT.get() {
        return Ok(client.clone());
    }
    install_tls();
    let client = reqwest::Client::builder()
        .connect_timeout(Duration::from_secs(10))
        // Shorter than the keep-alive of common servers (Node's 5 s,
        // Apache's 5 s), so the pool drops an idle connection before the
        // server does, rather than sending on one it already closed.
        .pool_idle_timeout(POOL_IDLE)
        .build()
        .map_err(|e| {
            // reqwest says only "builder error"; the cause is beneath it.
            let mut why = e.to_string();
            let mut source = std::error::Error::source(&e);
            while let Some(cause) = source {
                why.push_str(&format!(": {cause}"));
                source = cause.source();
            }
            Error::Permanent(format!(
                "cannot start an HTTP client: {why}; TLS needs the system's root \
                 certificates (the ca-certificates package, or SSL_CERT_FILE / SSL_CERT_DIR)"
            ))
        })?;
    Ok(CLIENT.get_or_init(|| client).clone())
}

/// How long an idle pooled connection is kept.
const POOL_IDLE: Duration = Duration::from_secs(4);

/// Sends `request`, and once more at once when the server had closed the
/// pooled connection it went out on before answering: a server closes an
/// idle connection without telling, and a request that meets the close is
/// not a failure of the system, so it is not worth a retry after a backoff.
async fn send(request: reqwest::RequestBuilder) -> Result<reqwest::Response, reqwest::Error> {
    let again = request.try_clone();
    match request.send().await {
        Err(error) if closed_before_answering(&error) => match again {
            Some(again) => again.send().await,
            None => Err(error),
        },
        answer => answer,
    }
}

/// True when the connection closed before any answer came: hyper's
/// "incomplete message".
fn closed_before_answering(error: &reqwest::Error) -> bool {
    let mut next = std::error::Error::source(error);
    while let Some(cause) = next {
        if cause
            .downcast_ref::<hyper::Error>()
            .is_some_and(hyper::Error::is_incomplete_message)
        {
            return true;
        }
        next = cause.source();
    }
    false
}

/// How a failed exchange is classified: worth retrying or not.
fn transport_error(error: &reqwest::Error, url: &str) -> Error {
    let what = if error.is_timeout() {
        "timed out"
    } else if error.is_connect() {
        "could not connect"
    } else {
        "failed"
    };
    // reqwest's own text repeats the URL; ours says it once, without a query.
    let detail = error_chain(error);
    Error::Transient(redact(&format!("{url}: request {what}: {detail}")).into_owned())
}

fn error_chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut parts = Vec::new();
    let mut next = error.source();
    while let Some(e) = next {
        parts.push(e.to_string());
        next = e.source();
    }
    if parts.is_empty() {
        "no detail".into()
    } else {
        parts.join(": ")
    }
}

/// `Retry-After` as milliseconds: delta-seconds, or an HTTP date.
fn retry_after(headers: &HeaderMap, now: jiff::Timestamp) -> Option<i64> {
    let text = headers
        .get(reqwest::header::RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim();
    if let Ok(seconds) = text.parse::<i64>() {
        return Some(seconds.max(0) * 1_000);
    }
    let at = jiff::fmt::strtime::parse("%a, %d %b %Y %H:%M:%S GMT", text)
        .ok()?
        .to_datetime()
        .ok()?
        .to_zoned(jiff::tz::TimeZone::UTC)
        .ok()?
        .timestamp();
    Some((at.as_millisecond() - now.as_millisecond()).max(0))
}

/// The first bytes of a body, for an error a person reads; secrets are
/// redacted from the whole body first, so none is cut in half and kept.
fn excerpt(body: &[u8]) -> String {
    const KEEP: usize = 512;
    let text = String::from_utf8_lossy(body);
    let text = redact(&text);
    let mut end = text.len().min(KEEP);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    if text.len() > end {
        format!("{}… ({} bytes)", &text[..end], body.len())
    } else {
        text.into_owned()
    }
}

fn base64(bytes: &[u8]) -> String {
    const TABLE: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, &b)| n | (u32::from(b) << (16 - 8 * i)));
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(TABLE[(n >> (18 - 6 * i)) as usize & 63] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// Percent-encodes a value for a URL path segment.
fn encode_segment(text: &str) -> String {
    let mut out = String::new();
    for b in text.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                out.push(b as char)
            }
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_urls_are_the_path_appended_to_the_base() {
        let request = pacer_config::Request {
            method: "PUT".into(),
            path: String::new(),
            query: Vec::new(),
            headers: Vec::new(),
        };
        for base in [
            "http://127.0.0.1:9101",
            "https://shop.example/api/v2",
            "https://shop.example/api?tenant=7",
        ] {
            let connection = Connection {
                system: "webshop".into(),
                base_url: Some(base.into()),
                database: None,
                requests: None,
                auth: None,
                lookups: Vec::new(),
            };
            let endpoint = Endpoint::new(&connection, &request, 1_000, "test").unwrap();
            for path in [
                "/prices/A%201%2F2",
                "/orders",
                "",
                "prices",
                "//x/y",
                "/a?b=c",
            ] {
                let appended = reqwest::Url::parse(&format!("{base}{path}"));
                assert_eq!(endpoint.url(path).ok(), appended.ok(), "{base} + {path}");
            }
        }
        let bad = Connection {
            system: "webshop".into(),
            base_url: Some("http://".into()),
            database: None,
            requests: None,
            auth: None,
            lookups: Vec::new(),
        };
        let error = Endpoint::new(&bad, &request, 1_000, "test").err().unwrap();
        assert!(
            error.to_string().contains("systems.webshop.base_url"),
            "{error}"
        );
    }

    #[test]
    fn basic_auth_encodes_as_rfc_4648() {
        assert_eq!(base64(b"pacer:s3cret"), "cGFjZXI6czNjcmV0");
        assert_eq!(base64(b"a"), "YQ==");
        assert_eq!(base64(b"ab"), "YWI=");
    }

    #[test]
    fn missing_secrets_name_the_variable_not_a_value() {
        let expr = Expr {
            text: "${PACER_TEST_UNSET_TOKEN}".into(),
            origin: "acme.yaml:6:21: systems.erp.auth.bearer".into(),
        };
        assert_eq!(
            resolve(&expr).unwrap_err().to_string(),
            "acme.yaml:6:21: systems.erp.auth.bearer: environment variable \
             PACER_TEST_UNSET_TOKEN is not set; set it before starting Pacer"
        );
        let path = Expr {
            text: "x-${PATH}-y".into(),
            origin: String::new(),
        };
        assert_eq!(
            resolve(&path).unwrap(),
            format!("x-{}-y", std::env::var("PATH").unwrap())
        );
    }

    #[test]
    fn retry_after_in_seconds_or_a_date() {
        let now: jiff::Timestamp = "2026-11-27T10:00:00Z".parse().unwrap();
        let mut headers = HeaderMap::new();
        headers.insert("retry-after", HeaderValue::from_static("7"));
        assert_eq!(retry_after(&headers, now), Some(7_000));
        headers.insert(
            "retry-after",
            HeaderValue::from_static("Fri, 27 Nov 2026 10:00:30 GMT"),
        );
        assert_eq!(retry_after(&headers, now), Some(30_000));
        headers.insert("retry-after", HeaderValue::from_static("soon"));
        assert_eq!(retry_after(&headers, now), None);
    }
}
