//! What the API answers, as types: the handlers serialize them, the
//! dashboard reads their fields, and the OpenAPI document's schemas are
//! generated from them, so the three cannot disagree.

use std::borrow::Cow;

use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use serde::Serialize;
use serde_json::Value;

/// An instant as the API writes it: RFC 3339 in the environment's time
/// zone, `2026-11-27T08:00:00+01:00`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub(crate) struct Instant(pub(crate) String);

impl JsonSchema for Instant {
    fn schema_name() -> Cow<'static, str> {
        "Instant".into()
    }

    fn inline_schema() -> bool {
        true
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({"type": "string", "format": "date-time"})
    }
}

/// The environment: name, time zone, capacity, nodes alive, store.
#[derive(Debug, Serialize, JsonSchema)]
#[schemars(rename = "Environment")]
pub(crate) struct EnvironmentAnswer {
    pub(crate) name: String,
    pub(crate) timezone: String,
    pub(crate) capacity: u32,
    pub(crate) capacity_in_use: u32,
    pub(crate) node: String,
    pub(crate) nodes_alive: Vec<String>,
    #[schemars(extend("enum" = ["sqlite", "postgres"]))]
    pub(crate) store: &'static str,
    pub(crate) now: Instant,
    pub(crate) retention: RetentionAnswer,
}

/// An alert whose condition holds: `pending` until it held long enough,
/// then `firing` (sent, and sent again at the repeat interval).
#[derive(Debug, Serialize, JsonSchema)]
#[schemars(rename = "Alert")]
pub(crate) struct AlertAnswer {
    #[schemars(extend("enum" = ["dead_tasks", "failed_runs", "backlog", "at_rate", "at_capacity", "node_lost", "drift"]))]
    pub(crate) condition: String,
    pub(crate) subject: String,
    pub(crate) message: String,
    #[schemars(extend("enum" = ["pending", "firing"]))]
    pub(crate) state: &'static str,
    pub(crate) since: Instant,
    pub(crate) sent_at: Option<Instant>,
}

/// Open alerts, the conditions switched on and where alerts go.
#[derive(Debug, Serialize, JsonSchema)]
pub(crate) struct AlertList {
    pub(crate) alerts: Vec<AlertAnswer>,
    pub(crate) conditions: Vec<&'static str>,
    pub(crate) channels: Vec<String>,
}

/// What a reload did.
#[derive(Debug, Serialize, JsonSchema)]
pub(crate) struct ReloadAnswer {
    /// Always true: a refused reload answers 422 with the reason.
    pub(crate) reloaded: bool,
    /// What the new config runs.
    pub(crate) message: String,
}

/// How long the store keeps what is done (`environment.retention`, as
/// durations such as `7d`), and the rows it holds now. One node of the
/// cluster deletes older rows every hour.
#[derive(Debug, Serialize, JsonSchema)]
#[schemars(rename = "Retention")]
pub(crate) struct RetentionAnswer {
    pub(crate) finished_tasks: String,
    pub(crate) dead_tasks: String,
    pub(crate) executions: String,
    pub(crate) rate_windows: String,
    pub(crate) rows: RowsAnswer,
}

/// Rows the store holds, by table.
#[derive(Debug, Serialize, JsonSchema)]
#[schemars(rename = "Rows")]
pub(crate) struct RowsAnswer {
    pub(crate) tasks: u64,
    pub(crate) task_errors: u64,
    pub(crate) executions: u64,
    pub(crate) rate_windows: u64,
}

/// A job with its next runs, last execution, state and switches.
#[derive(Debug, Serialize, JsonSchema)]
#[schemars(rename = "Job")]
pub(crate) struct JobAnswer {
    pub(crate) name: String,
    pub(crate) integration: String,
    #[schemars(extend("enum" = ["pull", "push"]))]
    pub(crate) kind: &'static str,
    pub(crate) system: String,
    pub(crate) schedule: String,
    pub(crate) description: String,
    pub(crate) items_per_run: u64,
    pub(crate) next_runs: Vec<Instant>,
    pub(crate) last_execution: Option<ExecutionAnswer>,
    #[schemars(extend("enum" = ["idle", "due", "waiting", "running"]))]
    pub(crate) state: &'static str,
    pub(crate) paused: bool,
    pub(crate) triggered_at: Option<Instant>,
}

/// A page of jobs in the file's order, and the cursor of the next page
/// (`null` on the last).
#[derive(Debug, Serialize, JsonSchema)]
pub(crate) struct JobList {
    pub(crate) jobs: Vec<JobAnswer>,
    pub(crate) next_cursor: Option<String>,
}

/// One execution, as the ledger keeps it.
#[derive(Debug, Serialize, JsonSchema)]
#[schemars(rename = "Execution")]
pub(crate) struct ExecutionAnswer {
    pub(crate) job: String,
    pub(crate) minute: Instant,
    #[schemars(extend("enum" = ["due", "waiting", "running", "succeeded", "failed", "skipped", "missed", "interrupted"]))]
    pub(crate) state: &'static str,
    pub(crate) due_at: Instant,
    pub(crate) started_at: Option<Instant>,
    pub(crate) finished_at: Option<Instant>,
    pub(crate) waited_ms: Option<i64>,
    pub(crate) duration_ms: Option<i64>,
    pub(crate) items: i64,
    pub(crate) error: Option<String>,
}

/// Execution history, newest first.
#[derive(Debug, Serialize, JsonSchema)]
pub(crate) struct ExecutionList {
    pub(crate) executions: Vec<ExecutionAnswer>,
}

/// A queued record, without its payload.
#[derive(Debug, Serialize, JsonSchema)]
#[schemars(rename = "Task")]
pub(crate) struct TaskAnswer {
    pub(crate) id: i64,
    pub(crate) integration: String,
    pub(crate) key: String,
    /// `new`, `processing` and `failed` (retried when due) are waiting;
    /// `finished` was delivered; `dead` waits for a person; `skipped` was
    /// set aside.
    #[schemars(extend("enum" = ["new", "processing", "finished", "failed", "dead", "skipped"]))]
    pub(crate) status: &'static str,
    pub(crate) attempts: u32,
    pub(crate) last_error: Option<String>,
    pub(crate) next_attempt_at: Instant,
    pub(crate) created_at: Instant,
    pub(crate) updated_at: Instant,
}

/// A page of tasks, and the cursor of the next page (`null` on the last).
#[derive(Debug, Serialize, JsonSchema)]
pub(crate) struct TaskPage {
    pub(crate) tasks: Vec<TaskAnswer>,
    pub(crate) next_cursor: Option<String>,
}

/// A task with its payload and every failed attempt.
#[derive(Debug, Serialize, JsonSchema)]
#[schemars(rename = "TaskDetail")]
pub(crate) struct TaskDetail {
    #[serde(flatten)]
    pub(crate) task: TaskAnswer,
    /// The record: JSON when it is, else the text as it came.
    pub(crate) payload: Value,
    pub(crate) errors: Vec<Attempt>,
}

/// One failed attempt of a task.
#[derive(Debug, Serialize, JsonSchema)]
pub(crate) struct Attempt {
    pub(crate) attempt: u32,
    pub(crate) at: Instant,
    pub(crate) error: String,
}

/// A failed attempt among the latest, across integrations.
#[derive(Debug, Serialize)]
pub(crate) struct RecentError {
    pub(crate) task: i64,
    pub(crate) integration: String,
    pub(crate) attempt: u32,
    pub(crate) at: Instant,
    pub(crate) error: String,
}

/// What replaying an integration's dead tasks did.
#[derive(Debug, Serialize, JsonSchema)]
pub(crate) struct ReplayAnswer {
    pub(crate) integration: String,
    pub(crate) replayed: u64,
    /// Tasks left dead: their record would fail the same way.
    pub(crate) left_dead: usize,
    /// The first 20 of them.
    pub(crate) left: Vec<LeftDead>,
}

/// A task left dead, and why.
#[derive(Debug, Serialize, JsonSchema)]
pub(crate) struct LeftDead {
    pub(crate) task: i64,
    pub(crate) reason: String,
}

/// What a webhook delivery queued.
#[derive(Debug, Serialize, JsonSchema)]
#[schemars(rename = "Received")]
pub(crate) struct HookAnswer {
    /// Records queued as tasks.
    pub(crate) queued: usize,
    /// Records kept as rejected: they carry no key.
    pub(crate) rejected: usize,
}

/// An error, as every failed request answers.
#[derive(Debug, Serialize, JsonSchema)]
#[schemars(rename = "Error")]
pub(crate) struct ErrorAnswer {
    pub(crate) error: ErrorBody,
}

/// What went wrong: a code to match on and a message to read.
#[derive(Debug, Serialize, JsonSchema)]
pub(crate) struct ErrorBody {
    pub(crate) code: &'static str,
    pub(crate) message: String,
}

/// The plan as served: what `pacer plan --format json` prints, and today's
/// actual load beside it.
#[derive(Debug, Serialize, JsonSchema)]
#[schemars(rename = "Plan")]
pub(crate) struct PlanAnswer {
    #[serde(flatten)]
    pub(crate) plan: pacer_plan::Plan,
    pub(crate) actual: Today,
}

/// Today in the environment's time zone, as long as it really is (23 or 25
/// hours on a day the clock moves).
#[derive(Debug, Serialize, JsonSchema)]
pub(crate) struct Today {
    /// `YYYY-MM-DD`.
    pub(crate) date: String,
    /// Minutes since today's start; -1 outside it.
    pub(crate) now_minute: i64,
    /// The hours today really has: 23, 24 or 25.
    pub(crate) hours: Vec<Hour>,
    /// The plan laid on today: executions planned in each minute.
    pub(crate) planned_by_minute: Vec<u32>,
    /// Executions that ran in each minute so far.
    pub(crate) by_minute: Vec<u32>,
}

/// An hour of a day: its wall-clock label (a repeated hour carries its
/// offset, `02:00+01:00`), its first minute and its length.
#[derive(Debug, Serialize, JsonSchema)]
pub(crate) struct Hour {
    pub(crate) label: String,
    pub(crate) first_minute: usize,
    pub(crate) minutes: usize,
}

impl From<&pacer_cron::Hour> for Hour {
    fn from(hour: &pacer_cron::Hour) -> Hour {
        Hour {
            label: hour.label.clone(),
            first_minute: hour.first,
            minutes: hour.len,
        }
    }
}

/// Items taken from a rate budget in each of the last 60 minutes.
#[derive(Debug, Serialize)]
pub(crate) struct RateUsage {
    pub(crate) budget: String,
    pub(crate) limit_per_minute: u32,
    pub(crate) from: Instant,
    pub(crate) per_minute: Vec<u64>,
    /// What the plan asks of the system in the same minutes (none for a
    /// job's own budget, which the plan does not lay out).
    pub(crate) planned_per_minute: Option<Vec<u32>>,
}
