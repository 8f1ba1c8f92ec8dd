//! What `pacer run` needs beyond the planner's model: where systems answer,
//! how to ask them, and what to do when a job is late, busy or was down.
//!
//! jq expressions and secrets stay as written: [`Expr`] carries where it was
//! written so the engine can point at it, and `${VARIABLE}` is read from the
//! environment only when a request is built, so a config never holds a secret.

/// A value as written in the file, with `file:line:column: key.path` to name it in errors.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Expr {
    /// The text, e.g. `.items[]`.
    pub text: String,
    /// Where it was written: `acme.yaml:20:16: integrations.prices.pull.records`,
    /// or `integrations.prices.pull.records (default)` when not written at all.
    pub origin: String,
}

/// How to reach a system.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Connection {
    /// The system's name.
    pub system: String,
    /// Its API's base URL; `None` when the file does not say (planning only).
    pub base_url: Option<String>,
    /// Instead of an API, a database URL; may hold `${VARIABLE}`.
    pub database: Option<Expr>,
    /// A rate in requests (`rate: 60 requests/min`), when the file gives
    /// one; the planner's rate then counts what the requests move.
    pub requests: Option<RequestRate>,
    /// How to authenticate.
    pub auth: Option<Auth>,
    /// The key→value maps read from it, in the file's order.
    pub lookups: Vec<Lookup>,
}

/// A key→value map read from a system, for transforms to look up.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Lookup {
    /// Its name: `lookup("NAME"; key)`.
    pub name: String,
    /// How it is read: request, records, key and pages, as a pull reads
    /// (no cursor: the whole map each time).
    pub read: Pull,
    /// jq giving each request's body from `{page_token}`, for an API read
    /// by POST.
    pub body: Option<Expr>,
    /// jq giving the value a record's key stands for.
    pub value: Expr,
    /// How long a read map is used, in milliseconds.
    pub refresh_ms: u64,
}

/// A system's rate in requests, and in items when it has both.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RequestRate {
    /// Requests a minute, at least 1.
    pub per_minute: u32,
    /// Items a minute when the file also limits them (`5000/min, 60
    /// requests/min`); `None`: only requests are limited.
    pub items_per_minute: Option<u32>,
}

/// Credentials; each value may hold `${VARIABLE}`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Auth {
    /// `Authorization: Bearer <token>`.
    Bearer(Expr),
    /// `Authorization: Basic …`.
    Basic {
        /// The user name.
        username: String,
        /// The password.
        password: Expr,
    },
    /// An API key in a header of its own.
    Header {
        /// The header's name.
        name: String,
        /// Its value.
        value: Expr,
    },
    /// OAuth2 client credentials (RFC 6749 §4.4): a bearer token from
    /// `token_url`, the client authenticated with HTTP Basic.
    OAuth2 {
        /// Where tokens are asked for.
        token_url: String,
        /// The client's id.
        client_id: String,
        /// The client's secret.
        client_secret: Expr,
        /// The scope asked for.
        scope: Option<String>,
    },
    /// A login request whose answer holds a token.
    Login {
        /// Appended to the system's base URL.
        path: String,
        /// The request's method.
        method: String,
        /// The JSON object sent, each value text that may hold `${VARIABLE}`.
        body: Vec<(String, Expr)>,
        /// jq giving the token from the answer.
        token: Expr,
        /// jq giving its life in seconds.
        expires_in: Option<Expr>,
        /// The header that carries it; `None`: `Authorization: Bearer`.
        header: Option<String>,
    },
}

/// An HTTP request to template.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Request {
    /// `GET`, `PUT`, …
    pub method: String,
    /// Appended to the base URL; may hold `{{ cursor }}` or `{{ field }}`.
    pub path: String,
    /// Query parameters, in order.
    pub query: Vec<(String, String)>,
    /// Extra headers, in order; values may hold `{{ … }}` as the path does.
    pub headers: Vec<(String, String)>,
}

/// How pages of a pull follow each other.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Paginate {
    /// A token from the body (jq), sent back in a query parameter.
    Next {
        /// jq giving the token; null or missing ends the run.
        token: Expr,
        /// The query parameter that carries it.
        param: String,
    },
    /// Page numbers from 1 in a query parameter.
    Page(String),
    /// An offset in a query parameter, advanced by the records received.
    Offset(String),
    /// RFC 8288 `Link: <…>; rel="next"`.
    Link,
}

/// The pull side of an integration.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Pull {
    /// The request.
    pub request: Request,
    /// jq selecting the records in a response.
    pub records: Expr,
    /// jq giving a record's dedup key.
    pub key: Expr,
    /// jq over each record; the largest value becomes the next cursor.
    pub cursor: Expr,
    /// How pages follow each other.
    pub paginate: Paginate,
    /// Whether the source sends records at the cursor's value again
    /// (`>=`), so those already read are dropped.
    pub inclusive: bool,
    /// The `{{ cursor }}` of the first pull, before any change was read.
    pub start_cursor: Option<String>,
    /// From a database: the query, with `{{ cursor }}`, `{{ limit }}` and
    /// `{{ offset }}`.
    pub query: Option<String>,
    /// jq over a 2xx answer: unless it gives `true`, the page failed.
    pub success: Option<Expr>,
    /// jq over an answer `success` refused: `true` asks for the page again.
    pub retry: Option<Expr>,
    /// The query parameter asking for a page size.
    pub size_param: String,
    /// Longest wait for one answer, in milliseconds.
    pub timeout_ms: u64,
    /// Overlap, catch-up and deadline.
    pub policy: JobPolicy,
}

/// The push side of an integration.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Push {
    /// The request; the path may hold `{{ field }}` of the record.
    pub request: Request,
    /// jq turning a record into what the destination takes.
    pub transform: Expr,
    /// jq over the array of a request's transformed records, giving its
    /// body; without it a batch is the array, a single record itself.
    pub body: Option<Expr>,
    /// jq over a 2xx answer: unless it gives `true`, the delivery failed.
    pub success: Option<Expr>,
    /// jq over an answer `success` refused: `true` retries, else the task
    /// is dead.
    pub retry: Option<Expr>,
    /// jq over a 2xx answer giving one value per record of the request, in
    /// order: null or `true` delivered it, anything else is why not.
    pub each: Option<Expr>,
    /// To a database: the statement run for each record, with `{{ field }}`
    /// of the transformed record.
    pub statement: Option<String>,
    /// Records per request: 1 sends each alone, more a JSON array.
    pub batch: u32,
    /// Longest wait for one answer, in milliseconds.
    pub timeout_ms: u64,
    /// Overlap, catch-up and deadline.
    pub policy: JobPolicy,
}

/// Receiving records by webhook instead of pulling them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Webhook {
    /// The shared secret expected in `X-Pacer-Secret`; may hold `${VARIABLE}`.
    pub secret: Option<Expr>,
    /// Largest accepted body in bytes.
    pub max_bytes: usize,
    /// jq giving a record's dedup key.
    pub key: Expr,
}

/// How an integration's records move.
#[derive(Clone, Debug, PartialEq)]
pub struct Flow {
    /// The integration's name.
    pub integration: String,
    /// Its pull job (not scheduled when a webhook brings the records).
    pub pull: Pull,
    /// Its push job.
    pub push: Push,
    /// Set when the records arrive by webhook.
    pub webhook: Option<Webhook>,
    /// Each hour's weight in the day's changes, from 00:00, when the file gives
    /// them (`pacer simulate` spreads evenly over the active hours otherwise).
    pub profile: Option<[f64; 24]>,
}

/// What to do when a job is busy, late, or was not running.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct JobPolicy {
    /// When the job still runs at its next minute.
    pub overlap: Overlap,
    /// Minutes missed while no node ran.
    pub catch_up: CatchUp,
    /// Longest wait for capacity before the execution is missed, in minutes;
    /// `None`: the job's interval.
    pub deadline_minutes: Option<u32>,
}

/// A job still running when its next minute comes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Overlap {
    /// Do not start it; record the minute as skipped.
    Skip,
    /// Start it once when the running one ends; further minutes are skipped.
    QueueOne,
    /// Start it anyway.
    Allow,
}

/// Minutes that passed while no node ran.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CatchUp {
    /// Forget them (they are recorded as missed).
    None,
    /// Run once for the latest of them.
    Latest,
    /// Run each, within a window and up to a maximum.
    All {
        /// Only minutes this recent.
        window_minutes: u32,
        /// At most this many.
        max: u32,
    },
}

/// How long the store keeps what is done (`environment.retention`); one
/// node of the cluster deletes older rows every hour.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Retention {
    /// Finished and skipped tasks, after their last change; default 7 days.
    pub finished_tasks: jiff::SignedDuration,
    /// Dead tasks, after they died; default 30 days (time to replay them).
    pub dead_tasks: jiff::SignedDuration,
    /// The ledger's ended executions; default 30 days (each job's latest stays).
    pub executions: jiff::SignedDuration,
    /// Rate windows, each a system's use in one minute; default 2 days.
    pub rate_windows: jiff::SignedDuration,
}

impl Default for Retention {
    fn default() -> Retention {
        let days = |n: i64| jiff::SignedDuration::from_hours(24 * n);
        Retention {
            finished_tasks: days(7),
            dead_tasks: days(30),
            executions: days(30),
            rate_windows: days(2),
        }
    }
}

/// Who is told when something needs a person (`alerts:`), and when.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Alerts {
    /// When to alert.
    pub conditions: Conditions,
    /// Where alerts go.
    pub channels: Vec<Channel>,
    /// How often an alert that still holds is sent again.
    pub repeat: jiff::SignedDuration,
}

/// The conditions that alert, each `None` when switched off.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Conditions {
    /// An integration holds at least this many dead tasks.
    pub dead_tasks: Option<u32>,
    /// A job's last this-many executions all failed or were missed.
    pub failed_runs: Option<u32>,
    /// An integration's oldest queued change is older than its freshness.
    pub backlog: bool,
    /// A system used at least 90% of its rate each minute for this long.
    pub at_rate: Option<jiff::SignedDuration>,
    /// Every capacity slot was taken for this long.
    pub at_capacity: Option<jiff::SignedDuration>,
    /// A node stopped beating without stopping cleanly.
    pub node_lost: bool,
    /// The last week's observed figures drifted from the file's (off by
    /// default: it asks for the file to be changed, not for a fix now).
    pub drift: bool,
}

impl Default for Conditions {
    fn default() -> Conditions {
        Conditions {
            dead_tasks: Some(1),
            failed_runs: Some(3),
            backlog: true,
            at_rate: Some(jiff::SignedDuration::from_hours(1)),
            at_capacity: Some(jiff::SignedDuration::from_mins(30)),
            node_lost: true,
            drift: false,
        }
    }
}

/// Where an alert goes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Channel {
    /// POST a JSON body to this URL (may hold `${VARIABLE}`).
    Webhook(Expr),
    /// POST Slack's `{"text": …}` to this URL (may hold `${VARIABLE}`).
    Slack(Expr),
    /// Email through SMTP.
    Email {
        /// `smtp://…` or `smtps://…`, may hold `${VARIABLE}`.
        server: Expr,
        /// The sender.
        from: String,
        /// The recipients.
        to: Vec<String>,
    },
}

/// A time when no job starts (running ones finish).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Maintenance {
    /// From `start` to `end`, once.
    Once {
        /// Its first instant.
        start: jiff::Timestamp,
        /// Its end (exclusive).
        end: jiff::Timestamp,
    },
    /// Each time `schedule` fires, for `duration_minutes`.
    Every {
        /// When it starts.
        schedule: pacer_cron::Schedule,
        /// How long it lasts.
        duration_minutes: u32,
    },
}

impl Maintenance {
    /// Whether `at` falls inside the window; `zone` reads a recurring one.
    pub fn contains(&self, at: jiff::Timestamp, zone: &jiff::tz::TimeZone) -> bool {
        match self {
            Maintenance::Once { start, end } => *start <= at && at < *end,
            Maintenance::Every {
                schedule,
                duration_minutes,
            } => schedule
                .prev_before(at + jiff::SignedDuration::from_millis(1), zone)
                .is_some_and(|began| {
                    at < began.timestamp()
                        + jiff::SignedDuration::from_mins(i64::from(*duration_minutes))
                }),
        }
    }

    /// The window in words, for logs and the dashboard.
    pub fn describe(&self) -> String {
        match self {
            Maintenance::Once { start, end } => format!("maintenance {start} to {end}"),
            Maintenance::Every {
                schedule,
                duration_minutes,
            } => format!(
                "maintenance {} for {duration_minutes} min ({})",
                schedule.source(),
                schedule.describe()
            ),
        }
    }
}
