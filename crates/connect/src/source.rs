//! The HTTP source: one page per call, records picked out with jq.

use std::cmp::Ordering;

use jaq_json::Val;
use pacer_config::{Connection, Paginate, Pull};
use reqwest::{Url, header::HeaderMap};

use crate::{
    Endpoint, Error, excerpt,
    jq::{self, Jq},
    retry_after, transport_error,
};

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

/// Where a pull job reads: a system's API as the config describes it.
#[derive(Clone)]
pub struct Source {
    integration: String,
    endpoint: Endpoint,
    records: Jq,
    key: Jq,
    cursor: Jq,
    paging: std::sync::Arc<Paging>,
    size_param: String,
}

impl std::fmt::Debug for Source {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the headers: they hold credentials.
        f.debug_struct("Source")
            .field("integration", &self.integration)
            .field("base", &self.endpoint.base_url.as_str())
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
        let origin = format!("integrations.{integration}.pull.request");
        let endpoint = Endpoint::new(connection, &pull.request, pull.timeout_ms, &origin)?;
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
            endpoint,
            records: Jq::compile(&pull.records)?,
            key: Jq::compile(&pull.key)?,
            cursor: Jq::compile(&pull.cursor)?,
            paging: std::sync::Arc::new(paging),
            size_param: pull.size_param.clone(),
        })
    }

    /// Fetches one page of at most `size` records changed after `cursor`.
    ///
    /// # Errors
    ///
    /// [`Error::Transient`] for timeouts, connection errors, 429, 5xx and a
    /// body that is not JSON (with `Retry-After` in `retry_after_ms`
    /// for the engine); [`Error::Permanent`] for other 4xx.
    pub async fn fetch(
        &self,
        cursor: Option<&str>,
        at: &PageRequest,
        size: u32,
        now: jiff::Timestamp,
    ) -> Result<Page, (Error, Option<i64>)> {
        let url = self.url(cursor, at, size).map_err(|e| (e, None))?;
        let shown = without_query(&url);
        let response = self
            .endpoint
            .start(url)
            .send()
            .await
            .map_err(|e| (transport_error(&e, &shown), None))?;
        let status = response.status();
        let headers = response.headers().clone();
        let body = response
            .bytes()
            .await
            .map_err(|e| (transport_error(&e, &shown), None))?;
        if !status.is_success() {
            let message = format!("{shown}: {status}: {}", excerpt(&body));
            return Err(if status.as_u16() == 429 || status.is_server_error() {
                (Error::Transient(message), retry_after(&headers, now))
            } else {
                (Error::Permanent(message), None)
            });
        }
        let parsed = jq::parse(&body).map_err(|e| {
            let message = format!("{shown}: the body is not JSON ({e}): {}", excerpt(&body));
            (Error::Transient(message), None)
        })?;
        let page = self
            .read(&parsed, at, size, &headers)
            .map_err(|e| (e, None))?;
        Ok(page)
    }

    fn url(&self, cursor: Option<&str>, at: &PageRequest, size: u32) -> Result<Url, Error> {
        let invalid = |e: String| Error::Permanent(format!("cannot build the request URL: {e}"));
        if let PageRequest::Url(next) = at {
            return self
                .endpoint
                .base_url
                .join(next)
                .map_err(|e| invalid(e.to_string()));
        }
        let cursor = cursor.unwrap_or("");
        let path = self.endpoint.request.path.replace("{{ cursor }}", cursor);
        let mut url = self.endpoint.url(&path).map_err(Error::Permanent)?;
        {
            let mut query = url.query_pairs_mut();
            for (name, value) in &self.endpoint.request.query {
                query.append_pair(name, &value.replace("{{ cursor }}", cursor));
            }
            query.append_pair(&self.size_param, &size.to_string());
            match (&*self.paging, at) {
                (Paging::Next { param, .. }, PageRequest::Token(token)) => {
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

    fn read(
        &self,
        body: &Val,
        at: &PageRequest,
        size: u32,
        headers: &HeaderMap,
    ) -> Result<Page, Error> {
        let values = self.records.run(body).map_err(|e| {
            Error::Transient(format!(
                "{:?}: selecting the records failed: {e}",
                self.records
            ))
        })?;
        let mut page = Page::default();
        for (n, value) in values.iter().enumerate() {
            let key = match keyed(&self.key, value, || format!("record {} of the page", n + 1)) {
                Ok(key) => key,
                Err(rejected) => {
                    page.rejected.push(rejected);
                    continue;
                }
            };
            let cursor = self
                .cursor
                .first(value)
                .ok()
                .flatten()
                .map(|c| jq::text_of(&c));
            if let Some(c) = &cursor
                && page.cursor.as_ref().is_none_or(|max| later(c, max))
            {
                page.cursor = Some(c.clone());
            }
            page.records.push(Record {
                key,
                payload: value.to_string(),
                cursor,
            });
        }
        let received = values.len() as u64;
        let full = received >= u64::from(size) && received > 0;
        page.next = match &*self.paging {
            Paging::Next { token, .. } => token
                .first(body)
                .ok()
                .flatten()
                .map(|t| PageRequest::Token(jq::text_of(&t))),
            Paging::Page(_) => full.then(|| match at {
                PageRequest::Page(n) => PageRequest::Page(n + 1),
                _ => PageRequest::Page(2),
            }),
            Paging::Offset(_) => full.then(|| match at {
                PageRequest::Offset(n) => PageRequest::Offset(n + received),
                _ => PageRequest::Offset(received),
            }),
            Paging::Link => next_link(headers).map(PageRequest::Url),
        };
        Ok(page)
    }
}

/// A record's key by `key`, or the record rejected with the reason; `place`
/// names a record without a key (`record 3 of the page`).
pub(crate) fn keyed(key: &Jq, value: &Val, place: impl Fn() -> String) -> Result<String, Rejected> {
    let reason = match key.first(value) {
        Ok(Some(found)) => return Ok(jq::text_of(&found)),
        Ok(None) => format!("no key: {key:?} gave null"),
        Err(e) => format!("no key: {key:?} failed: {e}"),
    };
    Err(Rejected {
        key: place(),
        raw: value.to_string(),
        reason,
    })
}

/// Whether cursor `a` comes after `b`: as numbers when both are, else as text
/// (RFC 3339 times in one format sort as text).
pub(crate) fn later(a: &str, b: &str) -> bool {
    match (a.parse::<f64>(), b.parse::<f64>()) {
        (Ok(x), Ok(y)) => x.partial_cmp(&y) == Some(Ordering::Greater),
        _ => a > b,
    }
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
        assert!(later("10", "9"));
        assert!(later(
            "2026-11-27T10:00:00.001Z",
            "2026-11-27T10:00:00.000Z"
        ));
        assert!(!later("a", "b"));
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
