//! Stand-in systems for Pacer: an ERP, a webshop — any system that produces
//! changes and accepts deliveries — as real HTTP servers.
//!
//! A [`MockSystem`] serves each [`Feed`] at `GET /<entity>` with an
//! incremental `changed_since` cursor and pagination (`page_token`, `page`,
//! `offset`, and an RFC 8288 `Link` header), accepts deliveries at
//! `PUT|POST|PATCH /<entity>[/<key>]` (one record, or a JSON array), answers
//! 429 with `Retry-After` beyond its rate, and counts what happened at
//! `GET /_stats`. `POST /_faults` queues failures for tests: a status, a
//! body, a delay.
//!
//! Time comes from a [`Now`] function, so a mock follows the same clock as
//! the engine it serves: real, sped up, or virtual. "Per minute" means per
//! minute of that clock.

#![deny(missing_docs)]

use std::{
    collections::{BTreeMap, HashMap, VecDeque},
    sync::{Arc, Mutex},
    time::Duration,
};

use indexmap::IndexMap;

use axum::{
    Json, Router,
    body::Bytes,
    extract::{Path, Query, State},
    http::{HeaderMap, HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
    routing::{get, post},
};
use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

pub use crate::feed::Feed;

mod feed;

/// The clock a mock reads.
pub type Now = Arc<dyn Fn() -> Timestamp + Send + Sync>;

/// A system to stand in for.
#[derive(Clone)]
pub struct MockSystem {
    /// Its name, in stats.
    pub name: String,
    /// Items it serves or accepts per minute; more gets 429. `None`: no limit.
    pub rate_per_minute: Option<u32>,
    /// The entities it produces changes of.
    pub feeds: Vec<Feed>,
    /// When its changes start.
    pub start: Timestamp,
    /// Its clock.
    pub now: Now,
}

impl std::fmt::Debug for MockSystem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MockSystem")
            .field("name", &self.name)
            .field("rate_per_minute", &self.rate_per_minute)
            .field("feeds", &self.feeds)
            .field("start", &self.start)
            .finish_non_exhaustive()
    }
}

/// A failure to answer with, queued by `POST /_faults`.
#[derive(Clone, Debug, Deserialize, Serialize)]
pub struct Fault {
    /// The status to answer with, e.g. 500 or 429.
    pub status: u16,
    /// How many requests get it.
    #[serde(default = "one")]
    pub count: u32,
    /// A `Retry-After` header, in seconds.
    #[serde(default)]
    pub retry_after: Option<u64>,
    /// Real milliseconds to wait before answering (a hanging system).
    #[serde(default)]
    pub delay_ms: u64,
    /// The body; default a short JSON error.
    #[serde(default)]
    pub body: Option<String>,
    /// A delivery is taken before the fault answers: a destination that
    /// commits, then fails to say so (a crash, a lost answer). A retry of
    /// it is a duplicate the destination can only tell by its key.
    #[serde(default)]
    pub applied: bool,
}

fn one() -> u32 {
    1
}

impl Default for Fault {
    fn default() -> Fault {
        Fault {
            status: 500,
            count: 1,
            retry_after: None,
            delay_ms: 0,
            body: None,
            applied: false,
        }
    }
}

/// What a mock system saw, as `GET /_stats` reports it.
#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq)]
pub struct Stats {
    /// The system's name.
    pub name: String,
    /// Its limit per minute, if any.
    pub limit: Option<u32>,
    /// Requests answered, faults and 429s included.
    pub requests: u64,
    /// Requests answered 429 because the rate was spent.
    pub rate_limited: u64,
    /// Requests answered with a queued fault.
    pub faults: u64,
    /// The most items asked for in any one minute — served or accepted, or
    /// refused with 429 — so a client that oversteps the rate shows here.
    pub max_per_minute: u64,
    /// Items asked for per minute (as `max_per_minute`), by the minute's start (Unix ms).
    pub by_minute: BTreeMap<i64, u64>,
    /// Per entity produced.
    pub feeds: BTreeMap<String, FeedStats>,
    /// Per entity delivered to it.
    pub accepted: BTreeMap<String, AcceptedStats>,
}

/// One feed's counts.
#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq, Eq)]
pub struct FeedStats {
    /// Changes that happened so far.
    pub produced: u64,
    /// Records served (a record served twice counts twice).
    pub served: u64,
}

/// Deliveries of one entity.
#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq, Eq)]
pub struct AcceptedStats {
    /// Records accepted.
    pub items: u64,
    /// Distinct record keys accepted.
    pub distinct: u64,
    /// Requests whose `Idempotency-Key` had been accepted before.
    pub repeated_idempotency_keys: u64,
    /// Records accepted more than once under different idempotency keys.
    pub duplicates_without_key: u64,
    /// Requests whose `Idempotency-Key` had been accepted before with other
    /// records: a real destination would answer the first request again
    /// and drop these records.
    pub conflicting_idempotency_keys: u64,
}

/// The hash of the maps a simulated day writes once per request or
/// record: SipHash, std's default, was several percent of its time, and
/// these keys come from Pacer, not from an attacker.
type Fast = foldhash::fast::RandomState;

#[derive(Default)]
struct Counts {
    requests: u64,
    rate_limited: u64,
    faults: u64,
    /// Items asked for, per minute.
    by_minute: HashMap<i64, u64, Fast>,
    /// Items served or accepted, per minute: what the rate limits.
    admitted_by_minute: HashMap<i64, u64, Fast>,
    served: HashMap<String, u64>,
    accepted: HashMap<String, Accepted>,
    faults_queued: VecDeque<Fault>,
}

/// The first time a record was accepted.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Delivery {
    /// The record's key.
    pub key: String,
    /// When this system accepted it (Unix ms, on the mock's clock).
    pub delivered_at: i64,
}

#[derive(Default)]
struct Accepted {
    items: u64,
    /// Each record key accepted, in the order first accepted, with when:
    /// one copy of each key, as a simulated day accepts millions.
    firsts: IndexMap<Box<str>, i64, Fast>,
    /// A fingerprint of the sorted record keys each idempotency key came
    /// with: only ever compared, so no copy of the keys themselves.
    idempotency: HashMap<String, u64, Fast>,
    repeated_idempotency_keys: u64,
    duplicates_without_key: u64,
    conflicting_idempotency_keys: u64,
}

struct Shared {
    system: MockSystem,
    counts: Mutex<Counts>,
    /// Real milliseconds every answer takes.
    latency_ms: std::sync::atomic::AtomicU64,
}

/// A mock system serving on loopback, or in this process only; dropping
/// it stops the server.
#[derive(Debug)]
pub struct Running {
    base_url: String,
    shared: Arc<Shared>,
    app: Router,
    /// The server on a socket; `None` when served in this process only.
    server: Option<tokio::task::JoinHandle<()>>,
}

impl std::fmt::Debug for Shared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.system.fmt(f)
    }
}

impl Running {
    /// `http://ADDR` where it listens (or the URL it was given in this
    /// process), for a system's `base_url`.
    pub fn base_url(&self) -> String {
        self.base_url.clone()
    }

    /// Its HTTP handlers, to answer requests in this process: the same ones
    /// that answer on its socket.
    pub fn handlers(&self) -> Handlers {
        Handlers(self.app.clone())
    }

    /// What it saw so far.
    pub fn stats(&self) -> Stats {
        self.shared.stats()
    }

    /// Each record of `entity` accepted, the first time, in order.
    pub fn deliveries(&self, entity: &str) -> Vec<Delivery> {
        self.shared
            .counts()
            .accepted
            .get(entity)
            .map(|a| {
                a.firsts
                    .iter()
                    .map(|(key, &delivered_at)| Delivery {
                        key: key.to_string(),
                        delivered_at,
                    })
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Makes every answer from now on take `ms` real milliseconds more: a
    /// slow system, whose requests are in flight long enough to be cut.
    pub fn slow_down(&self, ms: u64) {
        self.shared
            .latency_ms
            .store(ms, std::sync::atomic::Ordering::Relaxed);
    }

    /// Queues a fault for the next requests.
    pub fn inject(&self, fault: Fault) {
        self.shared.counts().faults_queued.push_back(fault);
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if let Some(server) = &self.server {
            server.abort();
        }
    }
}

/// A mock system's HTTP handlers, called in this process with no socket:
/// what a connector's in-process transport sends to.
#[derive(Clone, Debug)]
pub struct Handlers(Router);

impl Handlers {
    /// Answers `request` as the mock would on its socket.
    pub fn answer(
        &self,
        request: axum::http::Request<Bytes>,
    ) -> impl std::future::Future<Output = axum::http::Response<Bytes>> + Send + 'static {
        let mut app = self.0.clone();
        async move {
            let request = request.map(axum::body::Body::from);
            let Ok(response) = tower_service::Service::call(&mut app, request).await;
            let (parts, body) = response.into_parts();
            // The handlers answer with bodies already in memory.
            let body = axum::body::to_bytes(body, usize::MAX)
                .await
                .unwrap_or_default();
            axum::http::Response::from_parts(parts, body)
        }
    }
}

/// Serves `system` on `listener` until the returned handle is dropped.
pub fn serve(system: MockSystem, listener: tokio::net::TcpListener) -> std::io::Result<Running> {
    let addr = listener.local_addr()?;
    let mut running = in_process(system, &format!("http://{addr}"));
    let app = running.app.clone();
    running.server = Some(tokio::spawn(async move {
        // The server ends only when aborted; an accept error ends the mock.
        let _ = axum::serve(listener, app).await;
    }));
    Ok(running)
}

/// `system` in this process only, for [`Running::handlers`] to serve; no
/// socket is opened. `base_url` is what [`Running::base_url`] gives back:
/// the URL connectors are told to send to.
pub fn in_process(system: MockSystem, base_url: &str) -> Running {
    let shared = Arc::new(Shared {
        system,
        counts: Mutex::new(Counts::default()),
        latency_ms: std::sync::atomic::AtomicU64::new(0),
    });
    let app = Router::new()
        .route("/_stats", get(stats))
        .route("/_faults", post(queue_fault))
        .route(
            "/{entity}",
            get(changes)
                .put(accept_all)
                .post(accept_all)
                .patch(accept_all),
        )
        .route(
            "/{entity}/{key}",
            axum::routing::put(accept_one)
                .post(accept_one)
                .patch(accept_one),
        )
        .with_state(shared.clone());
    Running {
        base_url: base_url.to_string(),
        shared,
        app,
        server: None,
    }
}

impl Shared {
    fn counts(&self) -> std::sync::MutexGuard<'_, Counts> {
        // A handler that panicked mid-count leaves counts as they were; keep serving.
        self.counts.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn now_ms(&self) -> i64 {
        (self.system.now)().as_millisecond()
    }

    fn stats(&self) -> Stats {
        let now = self.now_ms();
        let start = self.system.start.as_millisecond();
        let counts = self.counts();
        Stats {
            name: self.system.name.clone(),
            limit: self.system.rate_per_minute,
            requests: counts.requests,
            rate_limited: counts.rate_limited,
            faults: counts.faults,
            max_per_minute: counts.by_minute.values().copied().max().unwrap_or(0),
            by_minute: counts
                .by_minute
                .iter()
                .map(|(&minute, &items)| (minute * 60_000, items))
                .collect(),
            feeds: self
                .system
                .feeds
                .iter()
                .map(|feed| {
                    let stats = FeedStats {
                        produced: feed.produced(start, now),
                        served: counts.served.get(&feed.entity).copied().unwrap_or(0),
                    };
                    (feed.entity.clone(), stats)
                })
                .collect(),
            accepted: counts
                .accepted
                .iter()
                .map(|(entity, a)| {
                    let stats = AcceptedStats {
                        items: a.items,
                        distinct: a.firsts.len() as u64,
                        repeated_idempotency_keys: a.repeated_idempotency_keys,
                        duplicates_without_key: a.duplicates_without_key,
                        conflicting_idempotency_keys: a.conflicting_idempotency_keys,
                    };
                    (entity.clone(), stats)
                })
                .collect(),
        }
    }

    /// Counts a request and takes the next queued fault, if any, after its
    /// delay: first, before the request is even read, as a failing system
    /// would.
    async fn next_fault(&self) -> Option<Fault> {
        let fault = {
            let mut counts = self.counts();
            counts.requests += 1;
            let fault = counts.faults_queued.front_mut().map(|f| {
                f.count = f.count.saturating_sub(1);
                f.clone()
            });
            if counts.faults_queued.front().is_some_and(|f| f.count == 0) {
                counts.faults_queued.pop_front();
            }
            if fault.is_some() {
                counts.faults += 1;
            }
            fault
        };
        let delay = self.latency_ms.load(std::sync::atomic::Ordering::Relaxed)
            + fault.as_ref().map_or(0, |f| f.delay_ms);
        if delay > 0 {
            tokio::time::sleep(Duration::from_millis(delay)).await;
        }
        fault
    }

    /// The answer of the next queued fault, if any.
    async fn fault(&self) -> Option<Response> {
        self.next_fault().await.map(fault_answer)
    }

    /// Answers 429 when `items` more would exceed this minute's rate; else counts them.
    fn admit(&self, items: u64) -> Option<Response> {
        let now = self.now_ms();
        let minute = now.div_euclid(60_000);
        let mut counts = self.counts();
        *counts.by_minute.entry(minute).or_default() += items;
        let used = counts.admitted_by_minute.get(&minute).copied().unwrap_or(0);
        if let Some(limit) = self.system.rate_per_minute
            && used + items > u64::from(limit)
        {
            counts.rate_limited += 1;
            let seconds = ((minute + 1) * 60_000 - now + 999) / 1_000;
            let mut response = (
                StatusCode::TOO_MANY_REQUESTS,
                json!({"error": format!("rate limit of {limit}/min reached")}).to_string(),
            )
                .into_response();
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(seconds.max(1)));
            return Some(response);
        }
        *counts.admitted_by_minute.entry(minute).or_default() += items;
        None
    }
}

/// What a fault answers: its status, body and `Retry-After`.
fn fault_answer(fault: Fault) -> Response {
    let status = StatusCode::from_u16(fault.status).unwrap_or(StatusCode::BAD_GATEWAY);
    let body = fault
        .body
        .unwrap_or_else(|| json!({"error": "injected fault"}).to_string());
    let mut response = (status, body).into_response();
    if let Some(seconds) = fault.retry_after {
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
    }
    response
}

async fn stats(State(shared): State<Arc<Shared>>) -> Json<Stats> {
    Json(shared.stats())
}

async fn queue_fault(State(shared): State<Arc<Shared>>, Json(fault): Json<Fault>) -> StatusCode {
    shared.counts().faults_queued.push_back(fault);
    StatusCode::NO_CONTENT
}

#[derive(Debug, Deserialize)]
struct PageQuery {
    changed_since: Option<String>,
    limit: Option<u64>,
    page_token: Option<String>,
    page: Option<u64>,
    offset: Option<u64>,
}

/// The same for the same keys in any order: what an idempotency key's
/// records are compared by. SipHash with fixed keys, so a run repeats.
/// A visitor's methods for every JSON value but an array and an object,
/// each answering `$value`.
macro_rules! scalars_are {
    ($value:expr) => {
        fn visit_bool<E>(self, _: bool) -> Result<Self::Value, E> {
            Ok($value)
        }
        fn visit_i64<E>(self, _: i64) -> Result<Self::Value, E> {
            Ok($value)
        }
        fn visit_u64<E>(self, _: u64) -> Result<Self::Value, E> {
            Ok($value)
        }
        fn visit_f64<E>(self, _: f64) -> Result<Self::Value, E> {
            Ok($value)
        }
        fn visit_str<E>(self, _: &str) -> Result<Self::Value, E> {
            Ok($value)
        }
        fn visit_unit<E>(self) -> Result<Self::Value, E> {
            Ok($value)
        }
    };
}

/// An accepted body's records — an array of them, or one — each read only
/// for its key: its `key`, `sku` or `id` field, the first there (a string
/// as it is, another value as JSON), `None` when it has none or is not an
/// object. The rest of a record is checked to be JSON and skipped: a
/// destination keeps only the keys, and building whole values for a
/// simulated day's millions of records took a tenth of its time.
struct Records(Vec<Option<String>>);

impl Records {
    fn read(body: &[u8]) -> Result<Vec<Option<String>>, serde_json::Error> {
        let read = match serde_json::from_slice::<Records>(body) {
            // serde_json skips a value at any depth, but reads one at most
            // this deep: deeper is refused as a whole read refuses it.
            Ok(_) if nesting(body) >= 128 => None,
            Ok(Records(keys)) => return Ok(keys),
            Err(e) => Some(e),
        };
        // Skipping a value words some errors otherwise: the message is the
        // one a whole read gives.
        match (serde_json::from_slice::<Value>(body), read) {
            (Err(e), _) | (Ok(_), Some(e)) => Err(e),
            // Not so: serde_json refuses 128 levels. Said all the same.
            (Ok(_), None) => Err(serde::de::Error::custom("recursion limit exceeded")),
        }
    }
}

/// How deep arrays and objects nest in JSON text `body`.
fn nesting(body: &[u8]) -> usize {
    let (mut depth, mut deepest) = (0usize, 0usize);
    let (mut in_string, mut escaped) = (false, false);
    for &byte in body {
        match byte {
            _ if escaped => escaped = false,
            b'\\' if in_string => escaped = true,
            b'"' => in_string = !in_string,
            b'[' | b'{' if !in_string => {
                depth += 1;
                deepest = deepest.max(depth);
            }
            b']' | b'}' if !in_string => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    deepest
}

impl<'de> Deserialize<'de> for Records {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Records, D::Error> {
        struct Body;
        impl<'de> serde::de::Visitor<'de> for Body {
            type Value = Records;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a record or an array of records")
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(
                self,
                mut seq: A,
            ) -> Result<Records, A::Error> {
                let mut records = Vec::new();
                while let Some(RecordKey(key)) = seq.next_element()? {
                    records.push(key);
                }
                Ok(Records(records))
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(self, map: A) -> Result<Records, A::Error> {
                let RecordKey(key) = RecordKey::of(map)?;
                Ok(Records(vec![key]))
            }
            // Any other value is one record without a key.
            scalars_are!(Records(vec![None]));
        }
        deserializer.deserialize_any(Body)
    }
}

/// One record's key, as [`Records`] reads it.
struct RecordKey(Option<String>);

impl RecordKey {
    fn of<'de, A: serde::de::MapAccess<'de>>(mut map: A) -> Result<RecordKey, A::Error> {
        // A field given twice counts with its last value, as in a map.
        let mut found: [Option<Value>; 3] = [None, None, None];
        while let Some(KeyField(field)) = map.next_key()? {
            match field {
                Some(n) => found[n] = Some(map.next_value()?),
                None => {
                    map.next_value::<serde::de::IgnoredAny>()?;
                }
            }
        }
        let key = found
            .into_iter()
            .flatten()
            .next()
            .map(|v| v.as_str().map_or(v.to_string(), String::from));
        Ok(RecordKey(key))
    }
}

/// A record's field name, read for which of `key`, `sku` and `id` it is,
/// if any (without a copy of it).
struct KeyField(Option<usize>);

impl<'de> Deserialize<'de> for KeyField {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<KeyField, D::Error> {
        struct Name;
        impl serde::de::Visitor<'_> for Name {
            type Value = KeyField;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a field name")
            }
            fn visit_str<E>(self, name: &str) -> Result<KeyField, E> {
                Ok(KeyField(
                    ["key", "sku", "id"].iter().position(|k| *k == name),
                ))
            }
        }
        deserializer.deserialize_str(Name)
    }
}

impl<'de> Deserialize<'de> for RecordKey {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<RecordKey, D::Error> {
        struct Record;
        impl<'de> serde::de::Visitor<'de> for Record {
            type Value = RecordKey;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a record")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                map: A,
            ) -> Result<RecordKey, A::Error> {
                RecordKey::of(map)
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(
                self,
                mut seq: A,
            ) -> Result<RecordKey, A::Error> {
                while seq.next_element::<serde::de::IgnoredAny>()?.is_some() {}
                Ok(RecordKey(None))
            }
            scalars_are!(RecordKey(None));
        }
        deserializer.deserialize_any(Record)
    }
}

fn fingerprint(keys: &[String]) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut sorted: Vec<&str> = keys.iter().map(String::as_str).collect();
    sorted.sort_unstable();
    let mut hasher = std::hash::DefaultHasher::new();
    sorted.hash(&mut hasher);
    hasher.finish()
}

fn error(status: StatusCode, message: String) -> Response {
    (status, Json(json!({"error": message}))).into_response()
}

async fn changes(
    State(shared): State<Arc<Shared>>,
    Path(entity): Path<String>,
    Query(query): Query<PageQuery>,
) -> Response {
    if let Some(response) = shared.fault().await {
        return response;
    }
    let Some(feed) = shared.system.feeds.iter().find(|f| f.entity == entity) else {
        return error(StatusCode::NOT_FOUND, format!("no feed named {entity:?}"));
    };
    let start = shared.system.start.as_millisecond();
    let now = shared.now_ms();
    let since = match query.changed_since.as_deref().map(str::trim) {
        None | Some("") => i64::MIN,
        Some(text) => match text.parse::<Timestamp>() {
            Ok(at) => at.as_millisecond(),
            Err(e) => {
                return error(
                    StatusCode::BAD_REQUEST,
                    format!("changed_since {text:?} is not an RFC 3339 time: {e}"),
                );
            }
        },
    };
    let limit = query.limit.unwrap_or(100).clamp(1, 1_000);
    let first = feed.first_after(start, since.max(start));
    let from = match (&query.page_token, query.page, query.offset) {
        (Some(token), _, _) => match token.parse::<u64>() {
            Ok(i) if i >= first => i,
            _ => {
                return error(
                    StatusCode::BAD_REQUEST,
                    format!("page_token {token:?} is not one this system gave"),
                );
            }
        },
        (None, Some(page), _) => first + page.saturating_sub(1) * limit,
        (None, None, Some(offset)) => first + offset,
        (None, None, None) => first,
    };
    let last = feed.produced(start, now);
    let to = last.min(from.saturating_add(limit - 1));
    let count = if to >= from { to - from + 1 } else { 0 };
    if let Some(response) = shared.admit(count) {
        return response;
    }
    *shared.counts().served.entry(entity.clone()).or_default() += count;
    let next = (to < last && count > 0).then(|| (to + 1).to_string());
    // `{"items":[…],"next_page_token":…}`, written straight out (see
    // `Feed::write_record`).
    let mut page = Vec::with_capacity(count as usize * 160 + 64);
    page.extend_from_slice(b"{\"items\":[");
    for i in from..from + count {
        if i > from {
            page.push(b',');
        }
        feed.write_record(start, i, &mut page);
    }
    page.extend_from_slice(b"],\"next_page_token\":");
    serde_json::to_writer(&mut page, &next).expect("a token serialises");
    page.push(b'}');
    let json = [(header::CONTENT_TYPE, "application/json")];
    let mut response = (json, page).into_response();
    if let Some(token) = &next {
        let mut link = format!("</{entity}?page_token={token}&limit={limit}");
        if let Some(since) = &query.changed_since {
            link.push_str("&changed_since=");
            link.push_str(&encode(since));
        }
        link.push_str(">; rel=\"next\"");
        if let Ok(value) = HeaderValue::from_str(&link) {
            response.headers_mut().insert(header::LINK, value);
        }
    }
    response
}

fn encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

async fn accept_all(
    State(shared): State<Arc<Shared>>,
    Path(entity): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    accept(&shared, entity, None, &headers, &body).await
}

async fn accept_one(
    State(shared): State<Arc<Shared>>,
    Path((entity, key)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    accept(&shared, entity, Some(key), &headers, &body).await
}

async fn accept(
    shared: &Shared,
    entity: String,
    key: Option<String>,
    headers: &HeaderMap,
    body: &[u8],
) -> Response {
    let fault = shared.next_fault().await;
    let answer_now = fault.as_ref().filter(|f| !f.applied).cloned();
    if let Some(fault) = answer_now {
        return fault_answer(fault);
    }
    let records = match Records::read(body) {
        Ok(records) => records,
        Err(e) => return error(StatusCode::BAD_REQUEST, format!("body is not JSON: {e}")),
    };
    let mut keys = Vec::new();
    for record in &records {
        let found = key.clone().or_else(|| record.clone());
        match found {
            Some(k) => keys.push(k),
            None => {
                return error(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "a record has no key, sku or id".into(),
                );
            }
        }
    }
    if let Some(response) = shared.admit(records.len() as u64) {
        return response;
    }
    let idempotency = headers
        .get("idempotency-key")
        .and_then(|v| v.to_str().ok())
        .map(String::from);
    let mut counts = shared.counts();
    let accepted = counts.accepted.entry(entity).or_default();
    let repeated = match &idempotency {
        Some(k) => {
            let fingerprint = fingerprint(&keys);
            match accepted.idempotency.get(k) {
                Some(&first) => {
                    if first != fingerprint {
                        accepted.conflicting_idempotency_keys += 1;
                    }
                    true
                }
                None => {
                    accepted.idempotency.insert(k.clone(), fingerprint);
                    false
                }
            }
        }
        None => false,
    };
    if repeated {
        accepted.repeated_idempotency_keys += 1;
    }
    accepted.items += records.len() as u64;
    let now = shared.now_ms();
    for k in keys {
        match accepted.firsts.entry(k.into_boxed_str()) {
            indexmap::map::Entry::Vacant(first) => {
                first.insert(now);
            }
            indexmap::map::Entry::Occupied(_) if !repeated => {
                accepted.duplicates_without_key += 1;
            }
            indexmap::map::Entry::Occupied(_) => {}
        }
    }
    match fault {
        Some(fault) => fault_answer(fault),
        None => StatusCode::OK.into_response(),
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;
    use serde_json::Value;

    use super::Records;

    /// The keys as the mock read them when it parsed a body whole.
    fn keys_of_whole(body: &[u8]) -> Result<Vec<Option<String>>, String> {
        let value: Value = serde_json::from_slice(body).map_err(|e| e.to_string())?;
        let records = match value {
            Value::Array(records) => records,
            record => vec![record],
        };
        Ok(records
            .iter()
            .map(|record| {
                ["key", "sku", "id"].iter().find_map(|k| {
                    record
                        .get(*k)
                        .map(|v| v.as_str().map_or(v.to_string(), String::from))
                })
            })
            .collect())
    }

    fn keys_read(body: &[u8]) -> Result<Vec<Option<String>>, String> {
        Records::read(body).map_err(|e| e.to_string())
    }

    /// Nesting past serde_json's limit is refused as before, even where
    /// it is only skipped.
    #[test]
    fn deep_bodies_are_refused_as_before() {
        for depth in [100, 124, 125, 126, 127, 128, 500] {
            let body = format!(
                r#"[{{"key": "a", "x": {}{}}}]"#,
                "[".repeat(depth),
                "]".repeat(depth)
            );
            assert_eq!(
                keys_read(body.as_bytes()),
                keys_of_whole(body.as_bytes()),
                "{depth}"
            );
        }
    }

    fn value() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(Value::from),
            any::<f64>()
                .prop_filter("JSON has no NaN", |f| f.is_finite())
                .prop_map(Value::from),
            "[a-z\"\\\\é]{0,6}".prop_map(Value::String),
        ];
        leaf.prop_recursive(3, 24, 4, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
                prop::collection::vec(
                    (
                        prop_oneof![
                            Just("key"),
                            Just("sku"),
                            Just("id"),
                            Just("name"),
                            Just("k\"ey")
                        ],
                        inner
                    ),
                    0..5
                )
                .prop_map(|fields| {
                    Value::Object(
                        fields
                            .into_iter()
                            .map(|(k, v)| (k.to_string(), v))
                            .collect(),
                    )
                }),
            ]
        })
    }

    proptest! {
        /// Any body, any records: the keys read field by field are those
        /// the whole value gave, and a body that is not JSON is refused
        /// with the same message.
        #[test]
        fn keys_are_read_as_from_the_whole_value(body in value(), cut in 0..64usize) {
            let text = serde_json::to_vec(&body).unwrap();
            prop_assert_eq!(keys_read(&text), keys_of_whole(&text));
            // A key written twice counts with its last value.
            let twice = br#"{"sku": "a", "key": 1, "key": "b"}"#;
            prop_assert_eq!(keys_read(twice), keys_of_whole(twice));
            let broken = &text[..cut.min(text.len().saturating_sub(1))];
            prop_assert_eq!(keys_read(broken), keys_of_whole(broken));
        }
    }
}
