//! The HTTP destination: transform, send, and say what became of each task.

use std::sync::Arc;

use jaq_json::Val;
use pacer_config::{Connection, Push};

use crate::{
    Endpoint, Error, encode_segment, excerpt,
    jq::{self, Jq},
    retry_after, transport_error,
};

/// A claimed task to deliver.
#[derive(Clone, Debug)]
pub struct Outgoing {
    /// The task's id; with the integration it makes the `Idempotency-Key`.
    pub id: i64,
    /// The record, as JSON.
    pub payload: String,
}

/// What became of one task.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
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
    endpoint: Endpoint,
    transform: Jq,
    batch: usize,
    /// Requests answered, by HTTP status; 0 for those that got no answer.
    responses: std::sync::Mutex<std::collections::BTreeMap<u16, u64>>,
}

/// Where a push job writes: a system's API as the config describes it.
#[derive(Clone)]
pub struct Destination {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Destination {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Destination")
            .field("integration", &self.inner.integration)
            .field("base", &self.inner.endpoint.base_url.as_str())
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
        let origin = format!("integrations.{integration}.push.request");
        let endpoint = Endpoint::new(connection, &push.request, push.timeout_ms, &origin)?;
        Ok(Destination {
            inner: Arc::new(Inner {
                integration: integration.to_string(),
                endpoint,
                transform: Jq::compile(&push.transform)?,
                batch: push.batch.max(1) as usize,
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

    /// Delivers `tasks`; one outcome per task, in order. Once the destination
    /// answers 429, nothing more is sent: the rest come back as throttled
    /// retries with its `Retry-After`.
    pub async fn deliver(&self, tasks: &[Outgoing], now: jiff::Timestamp) -> Vec<Outcome> {
        let mut outcomes = vec![None; tasks.len()];
        let mut requests = tokio::task::JoinSet::new();
        let mut throttled: Option<Outcome> = None;
        let settle = |outcomes: &mut [Option<Outcome>],
                      joined: Result<(Vec<usize>, Outcome), tokio::task::JoinError>,
                      throttled: &mut Option<Outcome>| {
            if let Ok((done, outcome)) = joined {
                if let Outcome::Retry {
                    throttled: true,
                    retry_after_ms,
                    ..
                } = &outcome
                {
                    throttled.get_or_insert(Outcome::Retry {
                        error: "not sent: the destination asked to slow down (429)".into(),
                        retry_after_ms: *retry_after_ms,
                        throttled: true,
                    });
                }
                assign(outcomes, done, &outcome);
            }
        };
        for (chunk_index, chunk) in tasks.chunks(self.inner.batch).enumerate() {
            let first = chunk_index * self.inner.batch;
            while requests.len() >= IN_FLIGHT {
                if let Some(joined) = requests.join_next().await {
                    settle(&mut outcomes, joined, &mut throttled);
                }
            }
            if let Some(held) = &throttled {
                assign(&mut outcomes, (first..first + chunk.len()).collect(), held);
                continue;
            }
            let mut bodies = Vec::new();
            let mut members = Vec::new();
            // A request's path takes its fields from its first record.
            let mut path = None;
            for (i, task) in chunk.iter().enumerate() {
                match self.prepare(&task.payload) {
                    Ok((record, body)) => {
                        path.get_or_insert_with(|| {
                            render_path(&self.inner.endpoint.request.path, &record)
                        });
                        bodies.push(body);
                        members.push(first + i);
                    }
                    Err(error) => outcomes[first + i] = Some(Outcome::Reject { error }),
                }
            }
            let Some(path) = path else {
                continue;
            };
            let ids: Vec<i64> = members.iter().map(|&i| tasks[i].id).collect();
            let this = self.clone();
            requests.spawn(async move {
                let outcome = this.send(&ids, &path, bodies, now).await;
                (members, outcome)
            });
        }
        while let Some(joined) = requests.join_next().await {
            settle(&mut outcomes, joined, &mut throttled);
        }
        outcomes
            .into_iter()
            .map(|o| {
                o.unwrap_or(Outcome::Retry {
                    error: "the delivery was interrupted".into(),
                    retry_after_ms: None,
                    throttled: false,
                })
            })
            .collect()
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
    /// body the transform makes of it.
    fn prepare(&self, payload: &str) -> Result<(Val, String), String> {
        let record = jq::parse(payload.as_bytes()).map_err(|e| format!("not JSON: {e}"))?;
        let transform = &self.inner.transform;
        // Payloads are queued as compact JSON, which is what `.` would print.
        if transform.is_identity() {
            return Ok((record, payload.to_string()));
        }
        let body = match transform.run(&record) {
            Ok(mut out) if out.len() == 1 => out.remove(0).to_string(),
            Ok(out) => {
                return Err(format!(
                    "{transform:?} gave {} values, expected 1",
                    out.len()
                ));
            }
            Err(e) => return Err(format!("{transform:?} failed: {e}")),
        };
        Ok((record, body))
    }

    async fn send(
        &self,
        ids: &[i64],
        path: &str,
        mut bodies: Vec<String>,
        now: jiff::Timestamp,
    ) -> Outcome {
        let inner = &self.inner;
        let endpoint = &inner.endpoint;
        let url = match endpoint.url(path) {
            Ok(url) => url,
            Err(error) => return Outcome::Reject { error },
        };
        let body = if inner.batch == 1 {
            bodies.remove(0)
        } else {
            format!("[{}]", bodies.join(","))
        };
        let idempotency_key = match ids {
            [one] => format!("{}-{one}", inner.integration),
            many => format!(
                "{}-{}-{}-{}",
                inner.integration,
                many[0],
                many[many.len() - 1],
                many.len()
            ),
        };
        let result = endpoint
            .start(url.clone())
            .query(&endpoint.request.query)
            .header("content-type", "application/json")
            .header("idempotency-key", idempotency_key)
            .body(body)
            .send()
            .await;
        let response = match result {
            Ok(response) => response,
            Err(e) => {
                self.answered(0);
                return Outcome::Retry {
                    error: transport_error(&e, url.as_str()).to_string(),
                    retry_after_ms: None,
                    throttled: false,
                };
            }
        };
        let status = response.status();
        self.answered(status.as_u16());
        if status.is_success() {
            return Outcome::Delivered;
        }
        let headers = response.headers().clone();
        let body = response.bytes().await.unwrap_or_default();
        let error = format!("{} {url}: {status}: {}", endpoint.method, excerpt(&body));
        if status.as_u16() == 429 || status.as_u16() == 408 || status.is_server_error() {
            Outcome::Retry {
                error,
                retry_after_ms: retry_after(&headers, now),
                throttled: status.as_u16() == 429,
            }
        } else {
            Outcome::Reject { error }
        }
    }
}

fn assign(outcomes: &mut [Option<Outcome>], members: Vec<usize>, outcome: &Outcome) {
    for i in members {
        outcomes[i] = Some(outcome.clone());
    }
}

/// Fills `{{ field }}` in a path from the record's top-level fields.
fn render_path(template: &str, record: &Val) -> String {
    if !template.contains("{{") {
        return template.to_string();
    }
    let mut out = String::new();
    let mut rest = template;
    while let Some(start) = rest.find("{{") {
        out.push_str(&rest[..start]);
        let Some(end) = rest[start..].find("}}") else {
            break;
        };
        let field = rest[start + 2..start + end].trim();
        let value = match record {
            Val::Obj(fields) => fields.get(&Val::from(field.to_string())),
            _ => None,
        };
        let value = match value {
            Some(Val::Null) | None => String::new(),
            Some(value) => jq::text_of(value),
        };
        out.push_str(&encode_segment(&value));
        rest = &rest[start + end + 2..];
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(json: &str) -> Val {
        jq::parse(json.as_bytes()).unwrap()
    }

    #[test]
    fn paths_take_fields_from_the_record() {
        assert_eq!(
            render_path("/prices/{{ sku }}", &record(r#"{"sku": "A 1/2"}"#)),
            "/prices/A%201%2F2"
        );
        assert_eq!(
            render_path("/stock/{{id}}", &record(r#"{"id": 7}"#)),
            "/stock/7"
        );
        assert_eq!(
            render_path("/stock/{{id}}/{{ gone }}", &record(r#"{"id": null}"#)),
            "/stock//"
        );
        assert_eq!(render_path("/orders", &record("{}")), "/orders");
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
