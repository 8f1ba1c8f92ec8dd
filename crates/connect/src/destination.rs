//! The HTTP destination: transform, send, and say what became of each task.

use std::{collections::BTreeSet, sync::Arc};

use reqwest::header::HeaderMap;

use pacer_config::{Connection, Push};
use pacer_jq::{Value, text_of};

use crate::{
    Endpoint, Error, Transport, encode_segment, excerpt,
    jq::Jq,
    lookup::Lookups,
    pool, read_body, retry_after,
    sql::{Database, Sql},
    template,
};

/// A claimed task to deliver.
#[derive(Clone, Debug)]
pub struct Outgoing {
    /// The task's id; with the integration it makes the `Idempotency-Key`.
    pub id: i64,
    /// The record, as JSON.
    pub payload: String,
    /// The batch it goes in, when the caller formed batches
    /// ([`Destination::batch_key`]): consecutive tasks with the same key
    /// are one request under that key. `None`: batched here, in order.
    pub batch_key: Option<String>,
}

/// What became of one task's delivery. (An execution's end is
/// `pacer_engine::Outcome`.)
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Delivery {
    /// The destination accepted it (2xx).
    Delivered,
    /// Worth another attempt: 429, 5xx, a timeout, a connection error.
    Retry {
        /// What happened.
        error: String,
        /// The destination's `Retry-After`, in milliseconds.
        retry_after_ms: Option<i64>,
        /// Whether the destination said it was over its rate (429).
        throttled: bool,
    },
    /// Refused for good: another 4xx (with its body), or a transform that failed.
    Reject {
        /// What happened.
        error: String,
    },
}

struct Inner {
    integration: String,
    target: Target,
    transform: Jq,
    /// `push.body`: the request's body from the array of its records.
    body: Option<Jq>,
    /// When a 2xx answer is a success, and when a refused one is worth
    /// another try: `push.success` and `push.retry`.
    verdict: Option<Verdict>,
    batch: usize,
    /// The destination system's lookups, which the transform reads.
    lookups: Lookups,
    /// Requests answered, by HTTP status; 0 for those that got no answer.
    responses: std::sync::Mutex<std::collections::BTreeMap<u16, u64>>,
}

/// Where records go.
enum Target {
    Api(Box<Endpoint>),
    /// `push.statement`, run for each record of a batch in one transaction.
    Database {
        database: Database,
        statement: Sql,
    },
}

/// Where a push job writes: a system's API or database as the config
/// describes it.
#[derive(Clone)]
pub struct Destination {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Destination {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let base = match &self.inner.target {
            Target::Api(endpoint) => endpoint.base_url.as_str(),
            Target::Database { .. } => "a database",
        };
        f.debug_struct("Destination")
            .field("integration", &self.inner.integration)
            .field("base", &base)
            .finish_non_exhaustive()
    }
}

/// Requests in flight at once per delivery call, when records go one by one.
const IN_FLIGHT: usize = 8;

impl Destination {
    /// Builds the destination of `integration`.
    ///
    /// # Errors
    ///
    /// A transform that does not compile, a secret that is not set, a system
    /// without a `base_url`.
    pub fn new(
        integration: &str,
        connection: &Connection,
        push: &Push,
    ) -> Result<Destination, Error> {
        Destination::with_transport(integration, connection, push, &Transport::network())
    }

    /// As [`new`](Destination::new), its requests sent through `transport`:
    /// to a service in this process when it has one for the system's base URL.
    ///
    /// # Errors
    ///
    /// As [`new`](Destination::new).
    pub fn with_transport(
        integration: &str,
        connection: &Connection,
        push: &Push,
        transport: &Transport,
    ) -> Result<Destination, Error> {
        let target = match &push.statement {
            Some(statement) => {
                let timeout = std::time::Duration::from_millis(push.timeout_ms);
                let database = Database::open(connection, timeout)?;
                Target::Database {
                    statement: database.sql(statement),
                    database,
                }
            }
            None => {
                let origin = format!("integrations.{integration}.push.request");
                let mut endpoint =
                    Endpoint::new(connection, &push.request, push.timeout_ms, &origin)?;
                endpoint.via(transport);
                Target::Api(Box::new(endpoint))
            }
        };
        Ok(Destination {
            inner: Arc::new(Inner {
                integration: integration.to_string(),
                target,
                transform: Jq::compile(&push.transform)?,
                body: push.body.as_ref().map(Jq::compile).transpose()?,
                verdict: match (&push.success, &push.each) {
                    (None, None) => None,
                    (success, each) => Some(Verdict {
                        success: success.as_ref().map(Jq::compile).transpose()?,
                        retry: push.retry.as_ref().map(Jq::compile).transpose()?,
                        each: each.as_ref().map(Jq::compile).transpose()?,
                    }),
                },
                batch: push.batch.max(1) as usize,
                lookups: Lookups::new(connection)?,
                responses: Default::default(),
            }),
        })
    }

    /// How many rounds of requests in flight delivering `tasks` records takes:
    /// what a simulation charges in time.
    pub fn rounds(&self, tasks: usize) -> usize {
        tasks.div_ceil(self.inner.batch).div_ceil(IN_FLIGHT)
    }

    /// Records per request.
    pub fn batch(&self) -> usize {
        self.inner.batch
    }

    /// The requests and records that reading lookups took since last
    /// asked, for the system's rate budgets: a lookup is read while
    /// records are prepared, without asking them first.
    pub fn lookup_reads(&self) -> (u64, u64) {
        self.inner.lookups.take_reads()
    }

    /// Delivers `tasks`; one outcome per task, in order. Once the destination
    /// answers 429, nothing more is sent: the rest come back as throttled
    /// retries with its `Retry-After`. A task whose record cannot be sent
    /// (its transform fails, its path names a field it lacks) is rejected
    /// without a request.
    pub async fn deliver(&self, tasks: &[Outgoing], now: jiff::Timestamp) -> Vec<Delivery> {
        let prepared = match self.prepare_all(tasks, now).await {
            Ok(prepared) => prepared,
            // Not the records' fault: they are tried again.
            Err(e) => {
                let retry = Delivery::Retry {
                    error: e.to_string(),
                    retry_after_ms: None,
                    throttled: false,
                };
                return vec![retry; tasks.len()];
            }
        };
        let mut outcomes = vec![None; tasks.len()];
        let mut requests = tokio::task::JoinSet::new();
        let mut throttled: Option<Delivery> = None;
        let settle = |outcomes: &mut [Option<Delivery>],
                      joined: Result<(Vec<usize>, Vec<Delivery>), tokio::task::JoinError>,
                      throttled: &mut Option<Delivery>| {
            let Ok((done, each)) = joined else { return };
            for (i, outcome) in done.into_iter().zip(each) {
                if let Delivery::Retry {
                    throttled: true,
                    retry_after_ms,
                    ..
                } = &outcome
                {
                    throttled.get_or_insert(Delivery::Retry {
                        error: "not sent: the destination asked to slow down (429)".into(),
                        retry_after_ms: *retry_after_ms,
                        throttled: true,
                    });
                }
                outcomes[i] = Some(outcome);
            }
        };
        let mut prepared = prepared.into_iter().enumerate().peekable();
        while let Some((first, _)) = prepared.peek() {
            while requests.len() >= IN_FLIGHT {
                if let Some(joined) = requests.join_next().await {
                    settle(&mut outcomes, joined, &mut throttled);
                }
            }
            // A batch the caller formed is the tasks under one key;
            // otherwise the next `batch` tasks.
            let chunk: Vec<_> = match tasks[*first].batch_key.clone() {
                Some(key) => {
                    let mut chunk = Vec::new();
                    while let Some(next) =
                        prepared.next_if(|(i, _)| tasks[*i].batch_key.as_ref() == Some(&key))
                    {
                        chunk.push(next);
                    }
                    chunk
                }
                None => prepared.by_ref().take(self.inner.batch).collect(),
            };
            if let Some(held) = &throttled {
                assign(&mut outcomes, chunk.iter().map(|(i, _)| *i).collect(), held);
                continue;
            }
            let mut bodies = Vec::new();
            let mut members = Vec::new();
            // A request's path and headers take their fields from its
            // first record.
            let mut path = None;
            for (i, ready) in chunk {
                match ready {
                    Ok(Prepared {
                        path: own,
                        headers,
                        body,
                    }) => {
                        path.get_or_insert((own, headers));
                        bodies.push(body);
                        members.push(i);
                    }
                    Err(refused) => {
                        outcomes[i] = Some(Delivery::Reject {
                            error: refused.error,
                        })
                    }
                }
            }
            let Some((path, headers)) = path else {
                continue;
            };
            let ids: Vec<i64> = members.iter().map(|&i| tasks[i].id).collect();
            let key = tasks[members[0]]
                .batch_key
                .clone()
                .unwrap_or_else(|| self.batch_key(&ids));
            let this = self.clone();
            // Boxed: the request's future holds a whole exchange (with a
            // simulation's in-process mock handlers, kilobytes), and a
            // spawn copies what it is given several times over.
            requests.spawn(Box::pin(async move {
                let each = match &this.inner.target {
                    Target::Api(endpoint) => {
                        let request = Request {
                            idempotency_key: &key,
                            path: &path,
                            headers,
                        };
                        this.send(endpoint, request, bodies, now).await
                    }
                    Target::Database {
                        database,
                        statement,
                    } => write(database, statement, &bodies).await,
                };
                (members, each)
            }));
        }
        while let Some(joined) = requests.join_next().await {
            settle(&mut outcomes, joined, &mut throttled);
        }
        outcomes
            .into_iter()
            .map(|o| {
                o.unwrap_or(Delivery::Retry {
                    error: "the delivery was interrupted".into(),
                    retry_after_ms: None,
                    throttled: false,
                })
            })
            .collect()
    }

    /// Whether the record in `payload` can be sent at all: it is JSON, its
    /// transform gives one value, its path's fields are there. `Err` says
    /// why not; the record itself is the reason, so sending it again fails
    /// the same way.
    pub async fn check(&self, payload: &str) -> Result<(), String> {
        let this = self.clone();
        let payload = payload.to_string();
        // Lookups are read when records are sent: a key missing now may
        // be there by then.
        match pool::run(move || this.prepare(&payload, &Value::Null))
            .await
            .map_err(|e| e.to_string())?
        {
            Err(Refused {
                missing: None,
                error,
            }) => Err(error),
            _ => Ok(()),
        }
    }

    /// Each task's request path and body, with the lookups as of `now`; a
    /// task whose record misses a lookup has that lookup read again (at
    /// most once a minute) and is prepared once more.
    async fn prepare_all(
        &self,
        tasks: &[Outgoing],
        now: jiff::Timestamp,
    ) -> Result<Vec<Result<Prepared, Refused>>, Error> {
        let lookups = self.inner.lookups.current(now).await?;
        let payloads: Vec<String> = tasks.iter().map(|t| t.payload.clone()).collect();
        let mut prepared = self.prepare_on_pool(payloads, lookups).await?;
        let missed: BTreeSet<String> = prepared
            .iter()
            .filter_map(|p| p.as_ref().err()?.missing.clone())
            .collect();
        if missed.is_empty() || !self.inner.lookups.reread(&missed, now).await {
            return Ok(prepared);
        }
        let lookups = self.inner.lookups.current(now).await?;
        let again: Vec<usize> = (0..tasks.len())
            .filter(|&i| matches!(&prepared[i], Err(r) if r.missing.is_some()))
            .collect();
        let payloads = again.iter().map(|&i| tasks[i].payload.clone()).collect();
        let retried = self.prepare_on_pool(payloads, lookups).await?;
        for (i, result) in again.into_iter().zip(retried) {
            prepared[i] = result.map_err(|refused| Refused {
                error: format!("{} (read again just now)", refused.error),
                ..refused
            });
        }
        Ok(prepared)
    }

    async fn prepare_on_pool(
        &self,
        payloads: Vec<String>,
        lookups: Value,
    ) -> Result<Vec<Result<Prepared, Refused>>, Error> {
        let this = self.clone();
        pool::run(move || {
            payloads
                .iter()
                .map(|payload| this.prepare(payload, &lookups))
                .collect()
        })
        .await
    }

    /// Requests sent so far by the HTTP status they got (0: no answer —
    /// a timeout or a connection error), for the metrics.
    pub fn responses(&self) -> Vec<(u16, u64)> {
        let responses = self
            .inner
            .responses
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        responses.iter().map(|(&s, &n)| (s, n)).collect()
    }

    fn answered(&self, status: u16) {
        let mut responses = self
            .inner
            .responses
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        *responses.entry(status).or_default() += 1;
    }

    /// A task's record, parsed once for its transform and its path, and the
    /// request path and body made of it, with `lookups` as `$lookup`.
    fn prepare(&self, payload: &str, lookups: &Value) -> Result<Prepared, Refused> {
        let record = pacer_jq::parse(payload.as_bytes())
            .map_err(|e| Refused::from(format!("the record is {e}")))?;
        let (path, headers) = match &self.inner.target {
            Target::Api(endpoint) => (
                render_path(&endpoint.request.path, &record)?,
                endpoint.fill_headers(|field| match field_of(&record, field)? {
                    Value::Null => None,
                    value => Some(text_of(value)),
                })?,
            ),
            Target::Database { .. } => Default::default(),
        };
        let transform = &self.inner.transform;
        // Payloads are queued as compact JSON, which is what `.` would print.
        if transform.is_identity() {
            return Ok(Prepared {
                path,
                headers,
                body: payload.to_string(),
            });
        }
        let body = match transform.run_with(&record, lookups) {
            Ok(mut out) if out.len() == 1 => pacer_jq::to_text(&out.remove(0)),
            Ok(out) => {
                return Err(Refused::from(format!(
                    "{transform:?} gave {} values, expected 1",
                    out.len()
                )));
            }
            Err(e) => {
                return Err(Refused {
                    error: format!("{transform:?} failed: {e}"),
                    missing: e.missing_lookup().map(|(name, _)| name.to_string()),
                });
            }
        };
        Ok(Prepared {
            path,
            headers,
            body,
        })
    }

    /// The `Idempotency-Key` of a request carrying tasks `ids`, in order:
    /// `prices-12` for one, `prices-12-19-8` (first, last, how many) for a
    /// batch. A caller that stores it before sending sends the same tasks
    /// under it again after a crash.
    pub fn batch_key(&self, ids: &[i64]) -> String {
        let integration = &self.inner.integration;
        match ids {
            [] => integration.clone(),
            [one] => format!("{integration}-{one}"),
            many => format!(
                "{integration}-{}-{}-{}",
                many[0],
                many[many.len() - 1],
                many.len()
            ),
        }
    }

    async fn send(
        &self,
        endpoint: &Endpoint,
        request: Request<'_>,
        mut bodies: Vec<String>,
        now: jiff::Timestamp,
    ) -> Vec<Delivery> {
        let n = bodies.len();
        let Request {
            idempotency_key,
            path,
            headers,
        } = request;
        let inner = &self.inner;
        let url = match endpoint.url(path) {
            Ok(url) => url,
            Err(error) => return vec![Delivery::Reject { error }; n],
        };
        let body = match &inner.body {
            None if inner.batch == 1 => bodies.remove(0),
            None => format!("[{}]", bodies.join(",")),
            Some(shape) => {
                let shape = shape.clone();
                let records = format!("[{}]", bodies.join(","));
                match pool::run(move || shape_body(&shape, &records)).await {
                    Ok(Ok(body)) => body,
                    Ok(Err(error)) => return vec![Delivery::Reject { error }; n],
                    // Not the records' fault: they are tried again.
                    Err(e) => {
                        let retry = Delivery::Retry {
                            error: e.to_string(),
                            retry_after_ms: None,
                            throttled: false,
                        };
                        return vec![retry; n];
                    }
                }
            }
        };
        let request = endpoint
            .start(url.clone())
            .headers(headers)
            .query(&endpoint.request.query)
            .header("content-type", "application/json")
            .header("idempotency-key", idempotency_key)
            .body(body);
        let response = match endpoint.send(request, url.as_str()).await {
            Ok(response) => response,
            Err(e) => {
                self.answered(0);
                let retry = Delivery::Retry {
                    error: e.to_string(),
                    retry_after_ms: None,
                    throttled: false,
                };
                return vec![retry; n];
            }
        };
        let status = response.status();
        self.answered(status.as_u16());
        if status.is_success() {
            let Some(verdict) = &self.inner.verdict else {
                return vec![Delivery::Delivered; n];
            };
            let answer = read_body(response, MAX_ANSWER_BYTES)
                .await
                .unwrap_or_default();
            let verdict = verdict.clone();
            let said = format!("{} {url}: {status}", endpoint.method);
            return pool::run(move || verdict.judge(&said, &answer, n))
                .await
                .unwrap_or_else(|e| {
                    let retry = Delivery::Retry {
                        error: e.to_string(),
                        retry_after_ms: None,
                        throttled: false,
                    };
                    vec![retry; n]
                });
        }
        let headers = response.headers().clone();
        let body = read_body(response, crate::MAX_EXCERPT_BYTES)
            .await
            .unwrap_or_default();
        let error = format!("{} {url}: {status}: {}", endpoint.method, excerpt(&body));
        let outcome =
            if status.as_u16() == 429 || status.as_u16() == 408 || status.is_server_error() {
                Delivery::Retry {
                    error,
                    retry_after_ms: retry_after(&headers, now),
                    throttled: status.as_u16() == 429,
                }
            } else {
                Delivery::Reject { error }
            };
        vec![outcome; n]
    }
}

/// Writes a batch's records with `statement` in one transaction, and what
/// became of each. When the database refuses one for good (a constraint,
/// a value of the wrong type), the transaction writes none, so each is
/// written again alone: the one refused goes dead, the rest are written.
async fn write(database: &Database, statement: &Sql, records: &[String]) -> Vec<Delivery> {
    let outcome = |result: Result<(), Error>| match result {
        Ok(()) => Delivery::Delivered,
        Err(Error::Transient(error)) => Delivery::Retry {
            error,
            retry_after_ms: None,
            throttled: false,
        },
        Err(error) => Delivery::Reject {
            error: error.to_string(),
        },
    };
    match database.write(statement, records).await {
        Err(Error::Permanent(_)) if records.len() > 1 => {
            let mut each = Vec::with_capacity(records.len());
            for record in records {
                let alone = database
                    .write(statement, std::slice::from_ref(record))
                    .await;
                each.push(outcome(alone));
            }
            each
        }
        result => vec![outcome(result); records.len()],
    }
}

/// A request's body: `push.body` over the JSON array of its records.
fn shape_body(shape: &Jq, records: &str) -> Result<String, String> {
    let array = pacer_jq::parse(records.as_bytes())
        .map_err(|e| format!("the batch is not JSON ({e}), so push.body cannot shape it"))?;
    match shape.run(&array) {
        Ok(mut out) if out.len() == 1 => Ok(pacer_jq::to_text(&out.remove(0))),
        Ok(out) => Err(format!("{shape:?} gave {} values, expected 1", out.len())),
        Err(e) => Err(format!("{shape:?} failed: {e}")),
    }
}

/// The largest 2xx answer `push.success` reads; a larger one fails the
/// delivery, as its success cannot be told.
const MAX_ANSWER_BYTES: usize = 4 << 20;

/// `push.success`, `push.retry` and `push.each`, compiled.
#[derive(Clone, Debug)]
struct Verdict {
    success: Option<Jq>,
    retry: Option<Jq>,
    each: Option<Jq>,
}

impl Verdict {
    /// What a 2xx `answer` means for each of the `n` records it answered:
    /// the whole request by `success`, then each record by `each`. `said`
    /// is the request and status, for the reason.
    fn judge(&self, said: &str, answer: &[u8], n: usize) -> Vec<Delivery> {
        let whole = self.judge_whole(said, answer);
        match (&self.each, &whole) {
            (Some(each), Delivery::Delivered) => self.judge_each(each, said, answer, n),
            _ => vec![whole; n],
        }
    }

    /// `push.each` over the answer: one value per record, in order; null
    /// or `true` delivered it, anything else is why it failed.
    fn judge_each(&self, each: &Jq, said: &str, answer: &[u8], n: usize) -> Vec<Delivery> {
        let values = pacer_jq::parse(answer)
            .map_err(|e| e.to_string())
            .and_then(|value| each.run(&value));
        match values {
            Ok(values) if values.len() == n => values
                .into_iter()
                .map(|value| match value {
                    Value::Null | Value::Bool(true) => Delivery::Delivered,
                    reason => Delivery::Reject {
                        error: format!(
                            "{said}, but push.each says of this record: {}",
                            text_of(&reason)
                        ),
                    },
                })
                .collect(),
            Ok(values) => {
                let error = format!(
                    "{said}, but push.each gave {} values for the {n} records sent, so which \
                     failed cannot be told: {}",
                    values.len(),
                    excerpt(answer)
                );
                vec![Delivery::Reject { error }; n]
            }
            Err(e) => vec![
                Delivery::Reject {
                    error: format!("{said}, but push.each failed on its answer: {e}"),
                };
                n
            ],
        }
    }

    /// What a 2xx `answer` means for the request as a whole.
    fn judge_whole(&self, said: &str, answer: &[u8]) -> Delivery {
        if answer.len() > MAX_ANSWER_BYTES {
            return Delivery::Reject {
                error: format!(
                    "{said}, but its answer is larger than {MAX_ANSWER_BYTES} bytes, so \
                     push.success cannot judge it"
                ),
            };
        }
        let Ok(value) = pacer_jq::parse(answer) else {
            return Delivery::Reject {
                error: format!(
                    "{said}, but its answer is not JSON, so push.success cannot judge it: {}",
                    excerpt(answer)
                ),
            };
        };
        let holds = |jq: &Jq| jq.first(&value).map(|v| v == Some(Value::Bool(true)));
        let Some(success) = &self.success else {
            return Delivery::Delivered;
        };
        match holds(success) {
            Ok(true) => Delivery::Delivered,
            Ok(false) => {
                let error = format!("{said}, but push.success is not true: {}", excerpt(answer));
                match self.retry.as_ref().map(holds) {
                    Some(Ok(true)) => Delivery::Retry {
                        error,
                        retry_after_ms: None,
                        throttled: false,
                    },
                    Some(Err(e)) => Delivery::Reject {
                        error: format!("{error}; push.retry failed: {e}"),
                    },
                    _ => Delivery::Reject { error },
                }
            }
            Err(e) => Delivery::Reject {
                error: format!("{said}, but push.success failed on its answer: {e}"),
            },
        }
    }
}

fn assign(outcomes: &mut [Option<Delivery>], members: Vec<usize>, outcome: &Delivery) {
    for i in members {
        outcomes[i] = Some(outcome.clone());
    }
}

/// What one record becomes: the request's path, templated headers and body.
struct Prepared {
    path: String,
    headers: HeaderMap,
    body: String,
}

/// What a request carries beyond its body.
struct Request<'a> {
    idempotency_key: &'a str,
    path: &'a str,
    headers: HeaderMap,
}

/// Why a record cannot be sent.
struct Refused {
    error: String,
    /// The lookup its transform found no entry in: read again, it may.
    missing: Option<String>,
}

impl From<String> for Refused {
    fn from(error: String) -> Refused {
        Refused {
            error,
            missing: None,
        }
    }
}

/// The record's top-level `field`.
fn field_of<'a>(record: &'a Value, field: &str) -> Option<&'a Value> {
    match record {
        Value::Obj(fields) => fields.get(&Value::from(field.to_string())),
        _ => None,
    }
}

/// Fills `{{ field }}` in a path from the record's top-level fields,
/// percent-encoded; a field the record lacks (or holds null) is an error,
/// never an empty segment that sends the request elsewhere.
fn render_path(template: &str, record: &Value) -> Result<String, String> {
    template::render(template, |field| match field_of(record, field)? {
        Value::Null => None,
        value => Some(encode_segment(&text_of(value))),
    })
    .map_err(|field| {
        format!("the record has no `{field}` for {{{{ {field} }}}} in the path {template:?}")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(json: &str) -> Value {
        pacer_jq::parse(json.as_bytes()).unwrap()
    }

    #[test]
    fn a_body_is_shaped_from_the_array_of_records_into_one_value() {
        let shape = |text: &str| {
            Jq::compile(&pacer_config::Expr {
                text: text.into(),
                origin: "acme.yaml:20:13: integrations.prices.push.body".into(),
            })
            .unwrap()
        };
        assert_eq!(
            shape_body(&shape("{items: .}"), r#"[{"sku":"A"},{"sku":"B"}]"#).unwrap(),
            r#"{"items":[{"sku":"A"},{"sku":"B"}]}"#
        );
        let error = shape_body(&shape(".[]"), r#"[{"sku":"A"},{"sku":"B"}]"#).unwrap_err();
        assert!(error.ends_with("gave 2 values, expected 1"), "{error}");
        assert!(error.contains("integrations.prices.push.body"), "{error}");
    }

    #[test]
    fn paths_take_fields_from_the_record() {
        assert_eq!(
            render_path("/prices/{{ sku }}", &record(r#"{"sku": "A 1/2"}"#)).unwrap(),
            "/prices/A%201%2F2"
        );
        assert_eq!(
            render_path("/stock/{{id}}", &record(r#"{"id": 7}"#)).unwrap(),
            "/stock/7"
        );
        assert_eq!(render_path("/orders", &record("{}")).unwrap(), "/orders");
    }

    #[test]
    fn a_field_the_record_lacks_is_a_reason_not_an_empty_segment() {
        assert_eq!(
            render_path("/stock/{{id}}", &record(r#"{"id": null}"#)).unwrap_err(),
            "the record has no `id` for {{ id }} in the path \"/stock/{{id}}\""
        );
        assert!(render_path("/prices/{{ sku }}", &record("[1]")).is_err());
    }

    #[test]
    fn dot_would_print_a_queued_payload_unchanged() {
        // For `.`, `prepare` sends the queued payload as it is: what jq would
        // print, since payloads are queued as jaq prints what it received.
        let dot = Jq::compile(&pacer_config::Expr {
            text: " . ".into(),
            origin: "test".into(),
        })
        .unwrap();
        assert!(dot.is_identity());
        let received = r#"{"sku": "Ä \"1\"\n\u0001", "amount": 12.50, "n": 1e3, "big": 123456789012345678901234567890,
            "list": [1, -0.0, null, true, 0.1, 1.7976931348623157e308], "emoji": "\ud83d\ude00", "empty": {}}"#;
        let queued = record(received).to_string();
        let printed: Vec<String> = dot
            .run(&record(&queued))
            .unwrap()
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(printed, [queued]);
    }
}
