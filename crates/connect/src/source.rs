//! The HTTP source: one page per call, records picked out with jq.

use std::{cmp::Ordering, sync::Arc, time::Duration};

use pacer_config::{Connection, Expr, Paginate, Pull};
use pacer_jq::{Value, text_of};
use reqwest::{Url, header::HeaderMap};

use crate::{
    Endpoint, Error, Transport, excerpt,
    jq::Jq,
    pool, read_body, retry_after,
    sql::{Bound, Database, Sql},
    template, transport_error,
};

/// The largest answer read as a page; a larger one fails the page.
pub const MAX_PAGE_BYTES: usize = 32 << 20;

/// The longest dedup key a record may have; a longer one rejects the record.
/// Keys are indexed, shown and sent in URLs: a kilobyte is a mistake.
pub const MAX_KEY_BYTES: usize = 1_024;

/// Which page to fetch.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum PageRequest {
    /// The first page after the cursor.
    First,
    /// A token the previous page gave.
    Token(String),
    /// A page number, from 1.
    Page(u64),
    /// An offset in records.
    Offset(u64),
    /// A URL from a `Link: rel="next"` header.
    Url(String),
}

/// A record read from a page.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Record {
    /// Its dedup key.
    pub key: String,
    /// The record, as JSON.
    pub payload: String,
    /// Its cursor value, if the cursor expression gave one.
    pub cursor: Option<String>,
}

impl Record {
    /// What tells this record, as read, from any other: 16 hex digits of
    /// a hash (FNV-1a, stable across builds) of its key and payload. A
    /// record sent again unchanged has the same fingerprint; changed, it
    /// has another.
    pub fn fingerprint(&self) -> String {
        let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
        for byte in self.key.bytes().chain([0]).chain(self.payload.bytes()) {
            hash ^= u64::from(byte);
            hash = hash.wrapping_mul(0x0100_0000_01b3);
        }
        format!("{hash:016x}")
    }
}

/// A record that could not be read, kept with the reason.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rejected {
    /// Its key if it had one, else where it was: `page 2, record 7`.
    pub key: String,
    /// The record as received.
    pub raw: String,
    /// Why it was rejected.
    pub reason: String,
}

/// One page of a pull.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Page {
    /// The records, in the page's order.
    pub records: Vec<Record>,
    /// Records that could not be read.
    pub rejected: Vec<Rejected>,
    /// The page after this one; `None` at the end.
    pub next: Option<PageRequest>,
    /// The largest cursor value among the records.
    pub cursor: Option<String>,
}

enum Paging {
    Next { token: Jq, param: String },
    Page(String),
    Offset(String),
    Link,
}

/// Where a pull job reads: a system's API or database as the config
/// describes it.
#[derive(Clone)]
pub struct Source {
    integration: String,
    reach: Reach,
    reader: Arc<Reader>,
    /// `pull.start_cursor`: the cursor before any change was read.
    start_cursor: Option<String>,
    /// `pull.cursor_compare: inclusive`: records at the cursor come again.
    inclusive: bool,
}

/// How a source is asked.
#[derive(Clone)]
enum Reach {
    Api {
        endpoint: Box<Endpoint>,
        size_param: String,
        /// jq giving each request's JSON body from `{page_token}` (a
        /// lookup read by POST, its pages' tokens in the body).
        body: Option<Jq>,
    },
    /// `pull.query`; its rows are a page's records, read by offset.
    Database { database: Database, query: Sql },
}

/// What turns an answer into a page; it runs on the jq threads.
struct Reader {
    records: Jq,
    key: Jq,
    cursor: Jq,
    paging: Paging,
    /// `pull.success` and `pull.retry`: when a 2xx answer is a page.
    success: Option<(Jq, Option<Jq>)>,
}

impl std::fmt::Debug for Source {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the headers: they hold credentials.
        let base = match &self.reach {
            Reach::Api { endpoint, .. } => endpoint.base_url.as_str(),
            Reach::Database { .. } => "a database",
        };
        f.debug_struct("Source")
            .field("integration", &self.integration)
            .field("base", &base)
            .finish_non_exhaustive()
    }
}

impl Source {
    /// Builds the source of `integration` from its system's connection and pull settings.
    ///
    /// # Errors
    ///
    /// A jq expression that does not compile, a secret that is not set, a
    /// system without a `base_url`.
    pub fn new(integration: &str, connection: &Connection, pull: &Pull) -> Result<Source, Error> {
        Source::with_transport(integration, connection, pull, &Transport::network())
    }

    /// As [`new`](Source::new), its requests sent through `transport`: to a
    /// service in this process when it has one for the system's base URL.
    ///
    /// # Errors
    ///
    /// As [`new`](Source::new).
    pub fn with_transport(
        integration: &str,
        connection: &Connection,
        pull: &Pull,
        transport: &Transport,
    ) -> Result<Source, Error> {
        let request = format!("integrations.{integration}.pull.request");
        let mut source = Source::named(integration, &request, connection, pull)?;
        if let Reach::Api { endpoint, .. } = &mut source.reach {
            endpoint.via(transport);
        }
        Ok(source)
    }

    /// As [`new`](Source::new), `request` naming the request's settings in
    /// errors: a lookup's are `systems.shop.lookups.variants.request`.
    pub(crate) fn named(
        integration: &str,
        request: &str,
        connection: &Connection,
        pull: &Pull,
    ) -> Result<Source, Error> {
        if let Some(query) = &pull.query {
            let database = Database::open(connection, Duration::from_millis(pull.timeout_ms))?;
            return Ok(Source {
                integration: integration.to_string(),
                reach: Reach::Database {
                    query: database.sql(query),
                    database,
                },
                reader: Arc::new(Reader {
                    records: Jq::compile(&Expr {
                        text: ".[]".into(),
                        origin: format!("the rows of integrations.{integration}.pull.query"),
                    })?,
                    key: Jq::compile(&pull.key)?,
                    cursor: Jq::compile(&pull.cursor)?,
                    paging: Paging::Offset("offset".into()),
                    success: None,
                }),
                start_cursor: pull.start_cursor.clone(),
                inclusive: pull.inclusive,
            });
        }
        let endpoint = Endpoint::new(connection, &pull.request, pull.timeout_ms, request)?;
        let paging = match &pull.paginate {
            Paginate::Next { token, param } => Paging::Next {
                token: Jq::compile(token)?,
                param: param.clone(),
            },
            Paginate::Page(param) => Paging::Page(param.clone()),
            Paginate::Offset(param) => Paging::Offset(param.clone()),
            Paginate::Link => Paging::Link,
        };
        Ok(Source {
            integration: integration.to_string(),
            reach: Reach::Api {
                endpoint: Box::new(endpoint),
                size_param: pull.size_param.clone(),
                body: None,
            },
            reader: Arc::new(Reader {
                records: Jq::compile(&pull.records)?,
                key: Jq::compile(&pull.key)?,
                cursor: Jq::compile(&pull.cursor)?,
                paging,
                success: match &pull.success {
                    None => None,
                    Some(success) => Some((
                        Jq::compile(success)?,
                        pull.retry.as_ref().map(Jq::compile).transpose()?,
                    )),
                },
            }),
            start_cursor: pull.start_cursor.clone(),
            inclusive: pull.inclusive,
        })
    }

    /// The same source, each request carrying the JSON `shape` gives
    /// from `{page_token}`: the next page's token (null for the first),
    /// which then goes in the body instead of the URL.
    pub(crate) fn with_body(mut self, shape: Jq) -> Source {
        if let Reach::Api { body, .. } = &mut self.reach {
            *body = Some(shape);
        }
        self
    }

    /// Whether the source sends the records at the cursor's value again
    /// (it filters `>=`): those already read are then not news.
    pub fn inclusive(&self) -> bool {
        self.inclusive
    }

    /// Whether pages are asked for by number: then every page of a run must
    /// have the same size, or the numbers count different records.
    pub fn numbers_pages(&self) -> bool {
        matches!(self.reader.paging, Paging::Page(_))
    }

    /// Fetches one page of at most `size` records changed after `cursor`
    /// (`pull.start_cursor` when none was read yet).
    ///
    /// # Errors
    ///
    /// [`Error::Transient`] for timeouts, connection errors, 429, 5xx and a
    /// body that is not JSON (with `Retry-After` in `retry_after_ms`
    /// for the engine); [`Error::Permanent`] for other 4xx, an answer larger
    /// than [`MAX_PAGE_BYTES`] or nested deeper than
    /// [`pacer_jq::MAX_DEPTH`].
    pub async fn fetch(
        &self,
        cursor: Option<&str>,
        at: &PageRequest,
        size: u32,
        now: jiff::Timestamp,
    ) -> Result<Page, (Error, Option<i64>)> {
        let cursor = cursor.or(self.start_cursor.as_deref());
        let (endpoint, size_param, body) = match &self.reach {
            Reach::Api {
                endpoint,
                size_param,
                body,
            } => (endpoint, size_param, body),
            Reach::Database { database, query } => {
                let offset = match at {
                    PageRequest::Offset(n) => *n,
                    _ => 0,
                };
                let rows = database
                    .rows(query, |name| match name {
                        "limit" => Bound::Number(i64::from(size)),
                        "offset" => Bound::Number(i64::try_from(offset).unwrap_or(i64::MAX)),
                        cursor_name => {
                            Bound::Text(cursor.and_then(|c| cursor_part(c, cursor_name)))
                        }
                    })
                    .await
                    .map_err(|e| (e, None))?;
                let shown = format!("integrations.{}.pull.query", self.integration);
                let body = format!("[{}]", rows.join(",")).into_bytes();
                return self
                    .read(body, at, size, None, &shown)
                    .await
                    .map_err(|e| (e, None));
            }
        };
        let in_body = body.is_some();
        let url = self
            .url(endpoint, size_param, cursor, at, size, in_body)
            .map_err(|e| (e, None))?;
        let shown = without_query(&url);
        let filled = endpoint
            .fill_headers(|name| cursor_part(cursor.unwrap_or(""), name))
            .map_err(|e| (Error::Permanent(e), None))?;
        let mut request = endpoint.start(url).headers(filled);
        if let Some(shape) = body {
            let token = match at {
                PageRequest::Token(token) => Value::from(token.clone()),
                _ => Value::Null,
            };
            let shape = shape.clone();
            let json = pool::run(move || {
                let input = pacer_jq::parse(format!(r#"{{"page_token":{}}}"#, token).as_bytes())
                    .map_err(|e| e.to_string())?;
                shape
                    .first(&input)?
                    .map(|v| v.to_string())
                    .ok_or_else(|| format!("{shape:?} gave nothing"))
            })
            .await
            .map_err(|e| (e, None))?
            .map_err(|e| (Error::Permanent(format!("the request's body: {e}")), None))?;
            request = request
                .header(reqwest::header::CONTENT_TYPE, "application/json")
                .body(json);
        }
        let response = endpoint
            .send(request, &shown)
            .await
            .map_err(|e| (e, None))?;
        let status = response.status();
        let headers = response.headers().clone();
        if !status.is_success() {
            let body = read_body(response, crate::MAX_EXCERPT_BYTES)
                .await
                .unwrap_or_default();
            let message = format!("{shown}: {status}: {}", excerpt(&body));
            return Err(if status.as_u16() == 429 || status.is_server_error() {
                (Error::Transient(message), retry_after(&headers, now))
            } else {
                (Error::Permanent(message), None)
            });
        }
        let body = read_body(response, MAX_PAGE_BYTES)
            .await
            .map_err(|e| (transport_error(&e, &shown), None))?;
        if body.len() > MAX_PAGE_BYTES {
            let message = format!(
                "{shown}: the answer is larger than {} MiB, the most a page may be; \
                 does the source honour `{}`?",
                MAX_PAGE_BYTES >> 20,
                size_param
            );
            return Err((Error::Permanent(message), None));
        }
        self.read(body, at, size, next_link(&headers), &shown)
            .await
            .map_err(|e| (e, None))
    }

    /// Turns an answer's body into a page, on the jq threads: what
    /// [`fetch`](Source::fetch) does once the request is answered, public so
    /// the body can be read without a server (the fuzzer does).
    /// `link` is the answer's `Link: rel="next"` target; `shown` names the
    /// request in errors.
    ///
    /// # Errors
    ///
    /// A body that is not JSON ([`Error::Transient`]) or is nested deeper
    /// than [`pacer_jq::MAX_DEPTH`], a records filter that fails
    /// ([`Error::Transient`]).
    pub async fn read(
        &self,
        body: Vec<u8>,
        at: &PageRequest,
        size: u32,
        link: Option<String>,
        shown: &str,
    ) -> Result<Page, Error> {
        let reader = self.reader.clone();
        let (at, shown) = (at.clone(), shown.to_string());
        pool::run(move || reader.read(&body, &at, size, link, &shown)).await?
    }

    fn url(
        &self,
        endpoint: &Endpoint,
        size_param: &str,
        cursor: Option<&str>,
        at: &PageRequest,
        size: u32,
        token_in_body: bool,
    ) -> Result<Url, Error> {
        let invalid = |e: String| Error::Permanent(format!("cannot build the request URL: {e}"));
        if let PageRequest::Url(next) = at {
            let url = endpoint
                .base_url
                .join(next)
                .map_err(|e| invalid(e.to_string()))?;
            // The request carries the system's credentials: never to another host.
            if url.origin() != endpoint.base_url.origin() {
                return Err(Error::Permanent(format!(
                    "the next page's link leads to {}, not to {}: not followed, as the \
                     request would carry the system's credentials there",
                    without_query(&url),
                    endpoint.base_url.origin().ascii_serialization()
                )));
            }
            return Ok(url);
        }
        let cursor = |name: &str| cursor_part(cursor.unwrap_or(""), name);
        let fill = |text: &str| {
            template::render(text, cursor).map_err(|field| {
                Error::Permanent(format!(
                    "{{{{ {field} }}}} in a pull request: only {{{{ cursor }}}} is known there"
                ))
            })
        };
        let path = fill(&endpoint.request.path)?;
        let mut url = endpoint.url(&path).map_err(Error::Permanent)?;
        {
            let mut query = url.query_pairs_mut();
            for (name, value) in &endpoint.request.query {
                query.append_pair(name, &fill(value)?);
            }
            query.append_pair(size_param, &size.to_string());
            match (&self.reader.paging, at) {
                (Paging::Next { param, .. }, PageRequest::Token(token)) if !token_in_body => {
                    query.append_pair(param, token);
                }
                (Paging::Page(param), PageRequest::Page(n)) => {
                    query.append_pair(param, &n.to_string());
                }
                (Paging::Page(param), PageRequest::First) => {
                    query.append_pair(param, "1");
                }
                (Paging::Offset(param), PageRequest::Offset(n)) => {
                    query.append_pair(param, &n.to_string());
                }
                _ => {}
            }
        }
        Ok(url)
    }
}

impl Reader {
    /// The page in `body`: its records, each keyed and with its cursor, and
    /// what comes next; `link` is the answer's `Link: rel="next"`.
    fn read(
        &self,
        body: &[u8],
        at: &PageRequest,
        size: u32,
        link: Option<String>,
        shown: &str,
    ) -> Result<Page, Error> {
        let body = pacer_jq::parse(body).map_err(|e| {
            let message = format!("{shown}: the answer is {e}: {}", excerpt(body));
            if e.is_too_deep() {
                Error::Permanent(message)
            } else {
                Error::Transient(message)
            }
        })?;
        if let Some((success, retry)) = &self.success {
            let holds = |jq: &Jq| jq.first(&body).map(|v| v == Some(Value::Bool(true)));
            match holds(success) {
                Ok(true) => {}
                outcome => {
                    let why = match outcome {
                        Err(e) => format!("pull.success failed on it: {e}"),
                        _ => "pull.success is not true".to_string(),
                    };
                    let message = format!(
                        "{shown}: {why}: {}",
                        excerpt(&body.to_string().into_bytes())
                    );
                    let again = retry.as_ref().map(holds);
                    return Err(match again {
                        Some(Ok(true)) => Error::Transient(message),
                        _ => Error::Permanent(message),
                    });
                }
            }
        }
        let values = self.records.run(&body).map_err(|e| {
            Error::Transient(format!(
                "{:?}: selecting the records failed: {e}",
                self.records
            ))
        })?;
        let mut page = Page::default();
        for (n, value) in values.iter().enumerate() {
            // A record that is rejected was read all the same: the cursor
            // moves past it, or every pull would reject it again.
            let cursor = self.cursor.first(value).ok().flatten().map(|c| text_of(&c));
            if let Some(c) = &cursor
                && page
                    .cursor
                    .as_ref()
                    .is_none_or(|max| compare(c, max) == Ordering::Greater)
            {
                page.cursor = Some(c.clone());
            }
            let key = match keyed(&self.key, value, || format!("record {} of the page", n + 1)) {
                Ok(key) => key,
                Err(rejected) => {
                    page.rejected.push(rejected);
                    continue;
                }
            };
            page.records.push(Record {
                key,
                payload: pacer_jq::to_text(value),
                cursor,
            });
        }
        let received = values.len() as u64;
        let full = received >= u64::from(size) && received > 0;
        page.next = match &self.paging {
            Paging::Next { token, .. } => token
                .first(&body)
                .ok()
                .flatten()
                .map(|t| PageRequest::Token(text_of(&t))),
            Paging::Page(_) => full.then(|| match at {
                PageRequest::Page(n) => PageRequest::Page(n + 1),
                _ => PageRequest::Page(2),
            }),
            Paging::Offset(_) => full.then(|| match at {
                PageRequest::Offset(n) => PageRequest::Offset(n + received),
                _ => PageRequest::Offset(received),
            }),
            Paging::Link => link.map(PageRequest::Url),
        };
        Ok(page)
    }
}

/// A record's key by `key`, or the record rejected with the reason; `place`
/// names a record without a key (`record 3 of the page`).
pub(crate) fn keyed(
    key: &Jq,
    value: &Value,
    place: impl Fn() -> String,
) -> Result<String, Rejected> {
    let reason = match key.first(value) {
        Ok(Some(found)) => {
            let text = text_of(&found);
            if text.len() <= MAX_KEY_BYTES {
                return Ok(text);
            }
            format!(
                "key of {} bytes, longer than the {MAX_KEY_BYTES} a key may be: {key:?} gave {}…",
                text.len(),
                text.chars().take(64).collect::<String>()
            )
        }
        Ok(None) => format!("no key: {key:?} gave null"),
        Err(e) => format!("no key: {key:?} failed: {e}"),
    };
    Err(Rejected {
        key: place(),
        raw: pacer_jq::to_text(value),
        reason,
    })
}

/// How cursor value `a` compares with `b`: as numbers when both are, else
/// as text (RFC 3339 times in one format sort as text). Compound cursors,
/// JSON arrays such as `["2026-11-29T10:00:00Z",17]`, compare part by part.
pub fn compare(a: &str, b: &str) -> Ordering {
    match (parts(a), parts(b)) {
        (Some(a), Some(b)) => a
            .iter()
            .zip(&b)
            .map(|(x, y)| compare_one(x, y))
            .find(|o| o.is_ne())
            .unwrap_or_else(|| a.len().cmp(&b.len())),
        _ => compare_one(a, b),
    }
}

fn compare_one(a: &str, b: &str) -> Ordering {
    match (a.parse::<f64>(), b.parse::<f64>()) {
        (Ok(x), Ok(y)) => x.partial_cmp(&y).unwrap_or(Ordering::Equal),
        _ => a.cmp(b),
    }
}

/// The parts of a compound cursor as text, or `None` for a plain one.
fn parts(cursor: &str) -> Option<Vec<String>> {
    if !cursor.starts_with('[') {
        return None;
    }
    match pacer_jq::parse(cursor.as_bytes()) {
        Ok(Value::Arr(items)) => Some(items.iter().map(text_of).collect()),
        _ => None,
    }
}

/// What `{{ name }}` stands for in a pull request: `cursor` the whole
/// cursor, `cursor.N` part N of a compound one (empty before the first pull).
fn cursor_part(cursor: &str, name: &str) -> Option<String> {
    if name == "cursor" {
        return Some(cursor.to_string());
    }
    let index: usize = name.strip_prefix("cursor.")?.parse().ok()?;
    if cursor.is_empty() {
        return Some(String::new());
    }
    parts(cursor)?.get(index).cloned()
}

/// The target of `Link: <…>; rel="next"` (RFC 8288), if any.
fn next_link(headers: &HeaderMap) -> Option<String> {
    for value in headers.get_all(reqwest::header::LINK) {
        let Ok(text) = value.to_str() else { continue };
        for link in text.split(',') {
            let mut parts = link.split(';');
            let target = parts.next()?.trim();
            let is_next = parts.any(|p| {
                let p = p.trim();
                p.strip_prefix("rel=")
                    .map(|r| r.trim_matches('"').split_whitespace().any(|r| r == "next"))
                    .unwrap_or(false)
            });
            if is_next && target.starts_with('<') && target.ends_with('>') {
                return Some(target[1..target.len() - 1].to_string());
            }
        }
    }
    None
}

fn without_query(url: &Url) -> String {
    let mut shown = url.clone();
    shown.set_query(None);
    shown.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_compare_as_numbers_or_text() {
        assert_eq!(compare("10", "9"), Ordering::Greater);
        assert_eq!(
            compare("2026-11-27T10:00:00.001Z", "2026-11-27T10:00:00.000Z"),
            Ordering::Greater
        );
        assert_eq!(compare("a", "b"), Ordering::Less);
        assert_eq!(compare("7", "7.0"), Ordering::Equal);
    }

    #[test]
    fn compound_cursors_compare_part_by_part() {
        let t = |time: &str, id: u32| format!(r#"["2026-11-29T10:{time}Z",{id}]"#);
        assert_eq!(compare(&t("00:00", 10), &t("00:00", 9)), Ordering::Greater);
        assert_eq!(compare(&t("00:00", 10), &t("00:01", 2)), Ordering::Less);
        assert_eq!(compare(&t("00:00", 10), &t("00:00", 10)), Ordering::Equal);
        assert_eq!(
            cursor_part(&t("00:00", 10), "cursor.1").as_deref(),
            Some("10")
        );
        assert_eq!(
            cursor_part(&t("00:00", 10), "cursor.0").as_deref(),
            Some("2026-11-29T10:00:00Z")
        );
        assert_eq!(cursor_part("", "cursor.1").as_deref(), Some(""));
        assert_eq!(cursor_part(&t("00:00", 10), "cursor.2"), None);
    }

    #[test]
    fn a_record_sent_again_unchanged_has_the_same_fingerprint() {
        let record = |payload: &str| Record {
            key: "SKU-1".into(),
            payload: payload.into(),
            cursor: None,
        };
        assert_eq!(record("{}").fingerprint(), record("{}").fingerprint());
        assert_ne!(record("{}").fingerprint(), record("{ }").fingerprint());
        // Stable across builds, as a store written by one version is read
        // by the next: FNV-1a of "SKU-1\0{}", as Python computes it.
        assert_eq!(record("{}").fingerprint(), "587a1c9c603026d0");
    }

    #[test]
    fn link_headers_give_the_next_page() {
        let mut headers = HeaderMap::new();
        headers.insert(
            "link",
            r#"</prices?page=1>; rel="prev", </prices?page=3>; rel="next""#
                .parse()
                .unwrap(),
        );
        assert_eq!(next_link(&headers).as_deref(), Some("/prices?page=3"));
        headers.insert("link", r#"</a>; rel="last""#.parse().unwrap());
        assert_eq!(next_link(&headers), None);
    }
}
