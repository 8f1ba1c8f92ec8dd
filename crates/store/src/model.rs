//! What the store keeps: executions, tasks and cursors.

use jiff::{SignedDuration, Timestamp};

use crate::{
    Error,
    error::ErrorKind,
    time::{Minute, millis, millis_to_timestamp},
};

/// The state of one execution of a job for one scheduled minute; the last
/// five are how an execution ends.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ExecutionState {
    /// Its minute has come.
    Due,
    /// Waiting for capacity.
    Waiting,
    /// Running.
    Running,
    /// Finished without error.
    Succeeded,
    /// Finished with an error.
    Failed,
    /// Not started: the previous run was still going.
    Skipped,
    /// Waited past its deadline.
    Missed,
    /// Its node stopped (killed, or silent past its lease) while it waited
    /// or ran; a live node marked it so.
    Interrupted,
}

impl ExecutionState {
    /// Every state, in the order an execution goes through them.
    pub const ALL: [ExecutionState; 8] = [
        ExecutionState::Due,
        ExecutionState::Waiting,
        ExecutionState::Running,
        ExecutionState::Succeeded,
        ExecutionState::Failed,
        ExecutionState::Skipped,
        ExecutionState::Missed,
        ExecutionState::Interrupted,
    ];

    /// The state named `name` (lowercase, as [`as_str`](Self::as_str) says it).
    pub fn parse(name: &str) -> Option<ExecutionState> {
        ExecutionState::ALL.into_iter().find(|s| s.as_str() == name)
    }

    /// Whether it has not ended yet: due, waiting or running.
    pub fn is_open(self) -> bool {
        matches!(
            self,
            ExecutionState::Due | ExecutionState::Waiting | ExecutionState::Running
        )
    }

    /// Whether it ended without doing its work: failed or missed.
    pub fn is_failure(self) -> bool {
        matches!(self, ExecutionState::Failed | ExecutionState::Missed)
    }

    /// Its lowercase name, as the ledger, the API and the logs say it.
    pub fn as_str(self) -> &'static str {
        match self {
            ExecutionState::Due => "due",
            ExecutionState::Waiting => "waiting",
            ExecutionState::Running => "running",
            ExecutionState::Succeeded => "succeeded",
            ExecutionState::Failed => "failed",
            ExecutionState::Skipped => "skipped",
            ExecutionState::Missed => "missed",
            ExecutionState::Interrupted => "interrupted",
        }
    }
}

/// Reads as its name: `state == "succeeded"`.
impl PartialEq<&str> for ExecutionState {
    fn eq(&self, name: &&str) -> bool {
        self.as_str() == *name
    }
}

impl std::fmt::Display for ExecutionState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A scheduled minute of a job that has come, as a node records it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Due<'a> {
    /// The job.
    pub job: &'a str,
    /// Its scheduled minute.
    pub minute: Minute,
    /// The node that saw it come.
    pub node: &'a str,
    /// When it saw it.
    pub at: Timestamp,
}

/// A node, and the process it runs as: process `pid` on `machine` (a name
/// for one kernel boot and process namespace, in which a pid names one
/// process).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NodeProcess<'a> {
    /// The node's name.
    pub node: &'a str,
    /// Where its process runs.
    pub machine: &'a str,
    /// Its process.
    pub pid: u32,
}

/// A take from a rate budget: up to `want` of `system`'s `limit` for the
/// minute `window`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RateRequest<'a> {
    /// The budget: a system's name, or a job's own.
    pub system: &'a str,
    /// The minute it counts in.
    pub window: Minute,
    /// Units asked for.
    pub want: u32,
    /// The budget's units a minute.
    pub limit: u32,
}

/// A change of an execution's state, as the ledger records it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ExecutionChange<'a> {
    /// Its new state.
    pub state: ExecutionState,
    /// The node it waits or runs on (recorded for `waiting` and `running`,
    /// so a live node can tell what a stopped one left behind).
    pub node: &'a str,
    /// When.
    pub at: Timestamp,
    /// Items moved so far.
    pub items: u64,
    /// Why it failed, was skipped or missed.
    pub error: Option<&'a str>,
}

/// Where a task is, in the words iPaaS users know.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TaskStatus {
    /// Queued, waiting for a push.
    New,
    /// Claimed by a push under a lease.
    Processing,
    /// Delivered.
    Finished,
    /// A delivery failed; it will be retried at its next attempt time.
    Failed,
    /// Failed too often; kept for inspection and replay.
    Dead,
    /// Set aside by a user.
    Skipped,
}

impl TaskStatus {
    /// Every status, in the order a task usually goes through them.
    pub const ALL: [TaskStatus; 6] = [
        TaskStatus::New,
        TaskStatus::Processing,
        TaskStatus::Finished,
        TaskStatus::Failed,
        TaskStatus::Dead,
        TaskStatus::Skipped,
    ];

    /// Its lowercase name, as the API and the metrics say it.
    pub fn as_str(self) -> &'static str {
        match self {
            TaskStatus::New => "new",
            TaskStatus::Processing => "processing",
            TaskStatus::Finished => "finished",
            TaskStatus::Failed => "failed",
            TaskStatus::Dead => "dead",
            TaskStatus::Skipped => "skipped",
        }
    }

    /// The status named `text` (`new`, `processing`, …), if any.
    pub fn from_name(text: &str) -> Option<TaskStatus> {
        TaskStatus::ALL.into_iter().find(|s| s.as_str() == text)
    }

    pub(crate) fn parse(text: &str) -> TaskStatus {
        match text {
            "new" => TaskStatus::New,
            "processing" => TaskStatus::Processing,
            "finished" => TaskStatus::Finished,
            "failed" => TaskStatus::Failed,
            "dead" => TaskStatus::Dead,
            _ => TaskStatus::Skipped,
        }
    }
}

/// A record to queue: its dedup key and payload (JSON text).
#[derive(Clone, Debug)]
pub struct NewTask {
    /// Within an integration, at most one pending task has this key.
    pub key: String,
    /// The record, as JSON text.
    pub payload: String,
}

/// A batch as (key, payload) pairs with one entry per key, the last one
/// given: one statement cannot update the same row twice.
pub(crate) fn latest_per_key(tasks: &[NewTask]) -> Vec<(&str, &str)> {
    let mut seen = std::collections::HashSet::new();
    let mut latest: Vec<(&str, &str)> = tasks
        .iter()
        .rev()
        .filter(|t| seen.insert(t.key.as_str()))
        .map(|t| (t.key.as_str(), t.payload.as_str()))
        .collect();
    latest.reverse();
    latest
}

/// A queued record.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Task {
    /// Its id, unique in the store.
    pub id: i64,
    /// The integration it belongs to.
    pub integration: String,
    /// Its dedup key.
    pub key: String,
    /// The record, as JSON text.
    pub payload: String,
    /// Where it is.
    pub status: TaskStatus,
    /// Deliveries attempted so far.
    pub attempts: u32,
    /// The last delivery's error, if any.
    pub last_error: Option<String>,
    /// When it may be claimed (again).
    pub next_attempt_at: Timestamp,
    /// When it was queued.
    pub created_at: Timestamp,
    /// When it last changed.
    pub updated_at: Timestamp,
}

/// A task's `id, integration, dedup_key, payload, status, attempts,
/// last_error, next_attempt_at, created_at, updated_at`.
pub(crate) type TaskRow = (
    i64,
    String,
    String,
    String,
    String,
    i64,
    Option<String>,
    i64,
    i64,
    i64,
);

impl Task {
    pub(crate) fn from_row(row: TaskRow) -> Task {
        let (
            id,
            integration,
            key,
            payload,
            status,
            attempts,
            last_error,
            next_attempt_at,
            created_at,
            updated_at,
        ) = row;
        Task {
            id,
            integration,
            key,
            payload,
            status: TaskStatus::parse(&status),
            attempts: u32::try_from(attempts).unwrap_or(u32::MAX),
            last_error,
            next_attempt_at: millis_to_timestamp(next_attempt_at),
            created_at: millis_to_timestamp(created_at),
            updated_at: millis_to_timestamp(updated_at),
        }
    }
}

/// A task claimed for delivery: what a push needs of it, and no more (each
/// column read costs every claimed row a copy).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Claimed {
    /// Its id, unique in the store.
    pub id: i64,
    /// Its dedup key.
    pub key: String,
    /// The record, as JSON text.
    pub payload: String,
    /// Deliveries attempted, this one included.
    pub attempts: u32,
    /// The `Idempotency-Key` of the batch it was sent in, if it was sent in
    /// one: sent again, it goes with the same tasks under the same key.
    pub batch_key: Option<String>,
}

/// A lease a node takes on tasks or a capacity slot: who holds it, from
/// when (what is claimable is judged at that instant), and until when.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Lease<'a> {
    /// Who holds it: a node, or a worker of a node (`node/worker`).
    pub holder: &'a str,
    /// When it is taken: `now`.
    pub from: Timestamp,
    /// When it expires unless renewed.
    pub until: Timestamp,
}

impl<'a> Lease<'a> {
    pub(crate) fn in_millis(&self) -> LeaseMillis<'a> {
        LeaseMillis {
            holder: self.holder,
            from: millis(self.from),
            until: millis(self.until),
        }
    }
}

/// A [`Lease`] as the tables keep its times.
pub(crate) struct LeaseMillis<'a> {
    pub(crate) holder: &'a str,
    pub(crate) from: i64,
    pub(crate) until: i64,
}

/// Where an integration's pulls have read up to.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Cursor {
    /// The largest cursor value read.
    pub value: String,
    /// Fingerprints of the records read at exactly `value`: a source that
    /// filters inclusively (`>=`) sends them again, and they are not news.
    /// Empty for a source that filters strictly.
    pub boundary: Vec<String>,
}

impl Cursor {
    /// A cursor at `value` with no record read at it yet.
    pub fn at(value: &str) -> Cursor {
        Cursor {
            value: value.to_string(),
            boundary: Vec::new(),
        }
    }
}

/// A batch of records to queue, with the cursor that moves with it.
pub(crate) struct Batch<'a> {
    pub(crate) integration: &'a str,
    pub(crate) tasks: &'a [NewTask],
    pub(crate) cursor: Option<&'a Cursor>,
    pub(crate) now: i64,
}

/// A claim as a backend runs it: completes `done` (when any), then claims
/// up to `limit` of the integration's tasks under `lease`.
pub(crate) struct ClaimRequest<'a> {
    pub(crate) done: &'a [i64],
    pub(crate) integration: &'a str,
    pub(crate) limit: u32,
    pub(crate) lease: LeaseMillis<'a>,
}

/// A take of up to `want` units from `system`'s `limit` for the minute
/// starting at `window`.
pub(crate) struct RateTake<'a> {
    pub(crate) system: &'a str,
    pub(crate) window: i64,
    pub(crate) want: u32,
    pub(crate) limit: u32,
}

/// One of `capacity` slots, asked for `execution` under `lease`.
pub(crate) struct SlotRequest<'a> {
    pub(crate) capacity: u32,
    pub(crate) execution: &'a str,
    pub(crate) lease: LeaseMillis<'a>,
}

/// A failed delivery, as [`Store::fail`](crate::Store::fail) records it.
#[derive(Clone, Copy, Debug)]
pub struct Failure<'a> {
    /// What went wrong, kept on the task and in its errors.
    pub error: &'a str,
    /// When the destination asked to be tried again (`Retry-After`), if it did.
    pub retry_after: Option<Timestamp>,
    /// The integration's retries.
    pub policy: &'a RetryPolicy,
}

/// A record that could not be read (not JSON, no key), as
/// [`Store::reject`](crate::Store::reject) keeps it.
#[derive(Clone, Copy, Debug)]
pub struct Rejected<'a> {
    /// Its key, or a stand-in when it had none.
    pub key: &'a str,
    /// The record as it came.
    pub raw: &'a str,
    /// Why it was rejected.
    pub reason: &'a str,
}

/// An execution a stopped node left due, waiting or running, now marked
/// `interrupted`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Interrupted {
    /// The job.
    pub job: String,
    /// Its scheduled minute.
    pub minute: Minute,
    /// The node it was on (empty when the row named none).
    pub node: String,
}

impl Interrupted {
    pub(crate) fn from_row((job, minute, node): (String, i64, String)) -> Interrupted {
        Interrupted {
            job,
            minute: Minute::from_millis(minute),
            node,
        }
    }
}

/// A claim's `RETURNING id, dedup_key, payload, attempts, batch_key`.
pub(crate) type ClaimedRow = (i64, String, String, i64, Option<String>);

impl Claimed {
    pub(crate) fn from_row(row: ClaimedRow) -> Claimed {
        let (id, key, payload, attempts, batch_key) = row;
        Claimed {
            id,
            key,
            payload,
            attempts: attempts as u32,
            batch_key,
        }
    }
}

/// Which tasks [`Store::tasks`](crate::Store::tasks) lists, newest first.
#[derive(Clone, Debug, Default)]
pub struct TaskQuery {
    /// Only this integration's.
    pub integration: Option<String>,
    /// Only those with this status.
    pub status: Option<TaskStatus>,
    /// Only those with an id below this one: the page after a previous page's last id.
    pub before: Option<i64>,
    /// At most this many.
    pub limit: u32,
}

/// Which executions [`Store::history`](crate::Store::history) lists, newest minute first.
#[derive(Clone, Debug, Default)]
pub struct ExecutionQuery {
    /// Only this job's.
    pub job: Option<String>,
    /// Only those in this state.
    pub state: Option<ExecutionState>,
    /// Only minutes from this instant on.
    pub since: Timestamp,
    /// At most this many.
    pub limit: u32,
}

/// One failed attempt of a task, kept for inspection.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TaskError {
    /// The task.
    pub task: i64,
    /// Its integration.
    pub integration: String,
    /// Which attempt failed (0: the record was rejected before any delivery).
    pub attempt: u32,
    /// When.
    pub at: Timestamp,
    /// What went wrong.
    pub error: String,
}

pub(crate) type TaskErrorRow = (i64, String, i64, i64, String);

impl TaskError {
    pub(crate) fn from_row((task, integration, attempt, at, error): TaskErrorRow) -> TaskError {
        TaskError {
            task,
            integration,
            attempt: attempt as u32,
            at: millis_to_timestamp(at),
            error,
        }
    }
}

/// What happened to a task whose delivery failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FailOutcome {
    /// It will be retried at this time.
    RetryAt(Timestamp),
    /// It reached its maximum attempts and is dead.
    Dead,
}

impl FailOutcome {
    /// The task's status and next attempt time for this outcome.
    pub(crate) fn status_and_next_attempt(self, now: i64) -> (&'static str, i64) {
        match self {
            FailOutcome::Dead => ("dead", now),
            FailOutcome::RetryAt(at) => ("failed", millis(at)),
        }
    }
}

/// How failed deliveries are retried: exponential backoff with jitter, capped.
#[derive(Clone, Copy, Debug)]
pub struct RetryPolicy {
    /// Attempts before a task is dead.
    pub max_attempts: u32,
    /// The first retry's delay.
    pub base_delay: SignedDuration,
    /// No delay is longer than this.
    pub max_delay: SignedDuration,
}

impl Default for RetryPolicy {
    fn default() -> RetryPolicy {
        RetryPolicy {
            max_attempts: 8,
            base_delay: SignedDuration::from_secs(1),
            max_delay: SignedDuration::from_hours(1),
        }
    }
}

impl RetryPolicy {
    /// What follows the failure of delivery number `attempts`: dead once the
    /// maximum is reached, else a retry at `retry_after` if the destination
    /// gave one, else after the backoff (jittered by `seed`, the task's id).
    pub(crate) fn after_failure(
        &self,
        attempts: u32,
        retry_after: Option<Timestamp>,
        now: Timestamp,
        seed: u64,
    ) -> FailOutcome {
        if attempts >= self.max_attempts {
            return FailOutcome::Dead;
        }
        FailOutcome::RetryAt(
            retry_after
                // A delay is never negative: past jiff's range means never.
                .unwrap_or_else(|| {
                    now.checked_add(self.delay(attempts, seed))
                        .unwrap_or(Timestamp::MAX)
                }),
        )
    }

    /// The delay before retry number `attempt` (1 = after the first failure):
    /// `base × 2^(attempt-1)`, capped, then "equal jitter" — between half and
    /// all of it — drawn from `seed` so that many tasks failing together do
    /// not retry together.
    pub fn delay(&self, attempt: u32, seed: u64) -> SignedDuration {
        let base = self.base_delay.as_millis() as i64;
        let max = self.max_delay.as_millis() as i64;
        let exponential = base
            .saturating_mul(1i64 << attempt.saturating_sub(1).min(40))
            .min(max);
        let half = exponential / 2;
        let mixed = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ u64::from(attempt);
        SignedDuration::from_millis(half + (mixed % (half.max(0) as u64 + 1)) as i64)
    }
}

/// One row of the executions ledger.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Execution {
    /// The job.
    pub job: String,
    /// The scheduled minute.
    pub minute: Minute,
    /// Where it is, or how it ended.
    pub state: ExecutionState,
    /// When a node recorded it due.
    pub due_at: Timestamp,
    /// When it started running.
    pub started_at: Option<Timestamp>,
    /// When it ended.
    pub finished_at: Option<Timestamp>,
    /// Items it moved.
    pub items: i64,
    /// Why it failed, was skipped or missed.
    pub error: Option<String>,
}

pub(crate) type ExecutionRow = (
    String,
    i64,
    String,
    i64,
    Option<i64>,
    Option<i64>,
    i64,
    Option<String>,
);

impl Execution {
    /// The row as read; an error when its state is none Pacer writes.
    pub(crate) fn from_row(row: ExecutionRow) -> Result<Execution, Error> {
        let (job, minute, state, due_at, started_at, finished_at, items, error) = row;
        let Some(state) = ExecutionState::parse(&state) else {
            return Err(Error::new(
                ErrorKind::Database(format!("unknown execution state {state:?}")),
                format!(
                    "reading {job}'s execution at {}",
                    Minute::from_millis(minute)
                ),
            ));
        };
        Ok(Execution {
            job,
            minute: Minute::from_millis(minute),
            state,
            due_at: millis_to_timestamp(due_at),
            started_at: started_at.map(millis_to_timestamp),
            finished_at: finished_at.map(millis_to_timestamp),
            items,
            error,
        })
    }
}

/// A job's switches, set from any node: paused, and a pending "run now".
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JobControl {
    /// The job, `integration.pull` or `integration.push`.
    pub job: String,
    /// No new executions start while set.
    pub paused: bool,
    /// When someone asked for a run now that no node has started yet.
    pub triggered_at: Option<Timestamp>,
}

impl JobControl {
    pub(crate) fn from_row((job, paused, triggered_at): (String, bool, Option<i64>)) -> JobControl {
        JobControl {
            job,
            paused,
            triggered_at: triggered_at.map(millis_to_timestamp),
        }
    }
}

/// How much of a rate window's `limit` a request for `want` gets, `used` already gone.
pub(crate) fn granted(used: i64, want: u32, limit: u32) -> u32 {
    let left = (i64::from(limit) - used).max(0);
    left.min(i64::from(want)) as u32
}

/// What a prune deleted.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Pruned {
    /// Finished and skipped tasks.
    pub finished_tasks: u64,
    /// Dead tasks.
    pub dead_tasks: u64,
    /// Ledger rows of ended executions.
    pub executions: u64,
    /// Rate windows.
    pub rate_windows: u64,
}

/// What a prune deletes: rows older than each of these.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Retention {
    /// Finished and skipped tasks last changed before this.
    pub finished_tasks: Timestamp,
    /// Dead tasks last changed before this.
    pub dead_tasks: Timestamp,
    /// Ended executions of minutes before this (each job's latest stays).
    pub executions: Minute,
    /// Rate windows that started before this.
    pub rate_windows: Minute,
}

/// The same cutoffs as the tables keep time: Unix milliseconds.
pub(crate) struct Cutoffs {
    pub(crate) finished_tasks: i64,
    pub(crate) dead_tasks: i64,
    pub(crate) executions: i64,
    pub(crate) rate_windows: i64,
}

impl From<&Retention> for Cutoffs {
    fn from(r: &Retention) -> Cutoffs {
        Cutoffs {
            finished_tasks: r.finished_tasks.as_millisecond(),
            dead_tasks: r.dead_tasks.as_millisecond(),
            executions: r.executions.millis(),
            rate_windows: r.rate_windows.millis(),
        }
    }
}

/// An alert's state: a condition that holds for a subject.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Alert {
    /// What holds: `dead_tasks`, `failed_runs`, `backlog`, …
    pub condition: String,
    /// What for: an integration, a job, a system, a node.
    pub subject: String,
    /// What a person reads.
    pub message: String,
    /// Since when it holds.
    pub since: Timestamp,
    /// When it was first sent; `None` while it has not held long enough.
    pub fired_at: Option<Timestamp>,
    /// When it was last sent.
    pub sent_at: Option<Timestamp>,
    /// Since when a fired alert's condition no longer holds; it is
    /// resolved once that lasts.
    pub cleared_at: Option<Timestamp>,
}

impl Alert {
    pub(crate) fn from_row(
        (condition, subject, message, since, fired_at, sent_at, cleared_at): AlertRow,
    ) -> Alert {
        Alert {
            condition,
            subject,
            message,
            since: millis_to_timestamp(since),
            fired_at: fired_at.map(millis_to_timestamp),
            sent_at: sent_at.map(millis_to_timestamp),
            cleared_at: cleared_at.map(millis_to_timestamp),
        }
    }
}

pub(crate) type AlertRow = (
    String,
    String,
    String,
    i64,
    Option<i64>,
    Option<i64>,
    Option<i64>,
);

/// How many rows the store holds, table by table.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RowCounts {
    /// Tasks of every status.
    pub tasks: u64,
    /// Failed attempts kept with their tasks.
    pub task_errors: u64,
    /// Ledger rows.
    pub executions: u64,
    /// Rate windows.
    pub rate_windows: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_with_jitter_and_a_cap() {
        let policy = RetryPolicy {
            max_attempts: 10,
            base_delay: SignedDuration::from_secs(1),
            max_delay: SignedDuration::from_secs(30),
        };
        for seed in 0..200 {
            for (attempt, full) in [
                (1, 1_000),
                (2, 2_000),
                (3, 4_000),
                (5, 16_000),
                (6, 30_000),
                (9, 30_000),
            ] {
                let delay = policy.delay(attempt, seed).as_millis() as i64;
                assert!(
                    (full / 2..=full).contains(&delay),
                    "attempt {attempt}: {delay}"
                );
            }
        }
        // Jitter spreads tasks that failed together.
        let distinct: std::collections::HashSet<i64> = (0..100)
            .map(|seed| policy.delay(4, seed).as_millis() as i64)
            .collect();
        assert!(distinct.len() > 50);
    }

    #[test]
    fn retry_after_wins_until_the_last_attempt() {
        let policy = RetryPolicy {
            max_attempts: 3,
            ..RetryPolicy::default()
        };
        let at = |ms| millis_to_timestamp(ms);
        assert_eq!(
            policy.after_failure(1, Some(at(9_000)), at(100), 7),
            FailOutcome::RetryAt(at(9_000))
        );
        assert!(
            matches!(policy.after_failure(2, None, at(100), 7), FailOutcome::RetryAt(when) if when > at(100))
        );
        assert_eq!(
            policy.after_failure(3, Some(at(9_000)), at(100), 7),
            FailOutcome::Dead
        );
    }

    #[test]
    fn one_entry_per_key_the_last_one() {
        let batch = [("a", "1"), ("b", "2"), ("a", "3")].map(|(key, payload)| NewTask {
            key: key.into(),
            payload: payload.into(),
        });
        assert_eq!(latest_per_key(&batch), [("b", "2"), ("a", "3")]);
    }
}

/// What a system answered back in one minute, beyond what it took.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PushBack {
    /// Answers that said slow down: 429, or a `Retry-After`.
    pub throttled: u64,
    /// Answers that failed in a way a retry may fix: timeouts, 5xx,
    /// refused connections.
    pub failed: u64,
    /// Items those answers did not take.
    pub refused: u64,
}

impl PushBack {
    /// Nothing answered back.
    pub fn is_empty(&self) -> bool {
        *self == PushBack::default()
    }
}

/// One rate budget's minute: what it used and what was answered back.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SystemMinute {
    /// The budget: a system's name (or a job's, or `SYSTEM:requests`).
    pub budget: String,
    /// The minute.
    pub window: Minute,
    /// Items (or requests) taken from it.
    pub used: u64,
    /// What the system answered back.
    pub answers: PushBack,
}
