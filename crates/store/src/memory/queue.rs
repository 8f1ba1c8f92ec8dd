//! The in-memory store's task queue: tasks, their failed attempts and the
//! tally of finished ones, in collections instead of SQLite tables.
//!
//! A simulated day of a large environment queues, claims and completes
//! millions of tasks. Through SQLite, even in memory, each one cost three
//! statements and some seven B-tree changes: half of the day's time. Here a
//! claim walks an integration's ordered set of live ids and a completion
//! removes one entry.
//!
//! It answers as the SQL of `shared.rs` does on SQLite, and
//! `tests/in_memory.rs` holds it to that, operation by operation. The one
//! difference is the in-memory store's promise: a task that finishes is
//! forgotten, only counted by integration and the instants it was queued
//! and finished; a prune takes it off the count when it would delete it.
//! Its failed attempts stay listed, as on disk while the finished task is
//! kept.

use std::{
    collections::{BTreeMap, HashMap, HashSet, btree_set::BTreeSet},
    sync::Arc,
};

use crate::{
    model::{
        Batch, ClaimRequest, Claimed, Cutoffs, FailOutcome, Failure, LeaseMillis, Pruned, Rejected,
        Task, TaskError, TaskQuery, TaskStatus, latest_per_key,
    },
    time::millis_to_timestamp,
};

/// The hash of the queue's maps, looked up once or twice per task:
/// SipHash, std's default, is several times slower on short keys. Seeded
/// per process, as std's is.
type Fast = foldhash::fast::RandomState;

#[derive(Default)]
pub(crate) struct Queue {
    /// The last id given out: ids are never reused, as SQLite's
    /// `AUTOINCREMENT` keys are not.
    last_id: i64,
    /// Every task not finished, by id.
    tasks: BTreeMap<i64, Record>,
    /// Each integration's indexes and counts, by name.
    lanes: HashMap<Arc<str>, Lane, Fast>,
    /// Every failed attempt, in the order they were recorded.
    errors: Vec<Attempt>,
    /// When each finished task that had failed attempts finished: a prune
    /// keeps its attempts as long as it would keep the task.
    finished_with_errors: HashMap<i64, i64>,
}

/// A task, as a row of the `tasks` table.
struct Record {
    integration: Arc<str>,
    key: Arc<str>,
    payload: String,
    status: TaskStatus,
    attempts: u32,
    next_attempt_at: i64,
    /// Who holds it and until when: only while it is processing.
    lease: Option<(Arc<str>, i64)>,
    last_error: Option<String>,
    created_at: i64,
    updated_at: i64,
    batch_key: Option<Arc<str>>,
}

impl Record {
    /// Whether a claim at `now` takes it: due new or failed, or processing
    /// under a lease that ran out.
    fn claimable(&self, now: i64) -> bool {
        match (self.status, &self.lease) {
            (TaskStatus::New | TaskStatus::Failed, _) => self.next_attempt_at <= now,
            (TaskStatus::Processing, Some((_, until))) => *until < now,
            _ => false,
        }
    }

    /// Whether `node` or one of its workers (`node/…`) holds it.
    fn held_by_node(&self, node: &str) -> bool {
        self.status == TaskStatus::Processing
            && self.lease.as_ref().is_some_and(|(owner, _)| {
                owner
                    .strip_prefix(node)
                    .is_some_and(|rest| rest.starts_with('/'))
            })
    }

    fn held_by(&self, owner: &str) -> bool {
        self.status == TaskStatus::Processing
            && self.lease.as_ref().is_some_and(|(o, _)| &**o == owner)
    }

    fn task(&self, id: i64) -> Task {
        Task {
            id,
            integration: self.integration.to_string(),
            key: self.key.to_string(),
            payload: self.payload.clone(),
            status: self.status,
            attempts: self.attempts,
            last_error: self.last_error.clone(),
            next_attempt_at: millis_to_timestamp(self.next_attempt_at),
            created_at: millis_to_timestamp(self.created_at),
            updated_at: millis_to_timestamp(self.updated_at),
        }
    }
}

/// What SQLite's indexes over one integration's tasks give its queries.
struct Lane {
    /// The integration's name, shared by its tasks.
    name: Arc<str>,
    /// New, failed and processing tasks, by id: what a claim walks
    /// (the `tasks_live` index).
    live: BTreeSet<i64>,
    /// The new or failed task of each key (the unique `tasks_pending_key`).
    pending: HashMap<Arc<str>, i64, Fast>,
    /// How many tasks are in each status, finished ones ever.
    counts: [u64; TaskStatus::ALL.len()],
    /// How many tasks finished, by the instants they finished and were queued.
    finished: BTreeMap<(i64, i64), u64>,
}

impl Lane {
    /// Adds task `id` of this lane to `tasks`, queued at `now`.
    fn add<'t>(
        &mut self,
        tasks: &'t mut BTreeMap<i64, Record>,
        id: i64,
        key: &str,
        payload: &str,
        status: TaskStatus,
        now: i64,
    ) -> &'t mut Record {
        let key: Arc<str> = Arc::from(key);
        self.moved(id, &key, None, Some(status));
        let record = Record {
            integration: self.name.clone(),
            key,
            payload: payload.to_string(),
            status,
            attempts: 0,
            next_attempt_at: now,
            lease: None,
            last_error: None,
            created_at: now,
            updated_at: now,
            batch_key: None,
        };
        tasks.entry(id).insert_entry(record).into_mut()
    }

    /// Books a task of key `key` moving from status `from` (`None`: a new
    /// task) to `to` (`None`: deleted).
    fn moved(&mut self, id: i64, key: &Arc<str>, from: Option<TaskStatus>, to: Option<TaskStatus>) {
        if let Some(from) = from {
            self.counts[slot(from)] -= 1;
        }
        if let Some(to) = to {
            self.counts[slot(to)] += 1;
        }
        let pending = |s: Option<TaskStatus>| s.is_some_and(is_pending);
        match (pending(from), pending(to)) {
            (true, false) => {
                // One lookup when the key is this task's, as it always is.
                if let Some(other) = self.pending.remove(key)
                    && other != id
                {
                    self.pending.insert(key.clone(), other);
                }
            }
            (false, true) => {
                self.pending.insert(key.clone(), id);
            }
            _ => {}
        }
        let live = |s: Option<TaskStatus>| s.is_some_and(is_live);
        match (live(from), live(to)) {
            (true, false) => {
                self.live.remove(&id);
            }
            (false, true) => {
                self.live.insert(id);
            }
            _ => {}
        }
    }
}

/// One failed attempt (a `task_errors` row).
struct Attempt {
    task: i64,
    integration: Arc<str>,
    attempt: u32,
    at: i64,
    error: String,
    /// Whether its task is still there, or finished: on disk the others
    /// are hidden by the join with `tasks` until pruned.
    listed: bool,
}

impl Attempt {
    fn task_error(&self) -> TaskError {
        TaskError {
            task: self.task,
            integration: self.integration.to_string(),
            attempt: self.attempt,
            at: millis_to_timestamp(self.at),
            error: self.error.clone(),
        }
    }
}

fn slot(status: TaskStatus) -> usize {
    TaskStatus::ALL
        .iter()
        .position(|&s| s == status)
        .expect("ALL holds every status")
}

fn is_pending(status: TaskStatus) -> bool {
    matches!(status, TaskStatus::New | TaskStatus::Failed)
}

fn is_live(status: TaskStatus) -> bool {
    matches!(
        status,
        TaskStatus::New | TaskStatus::Failed | TaskStatus::Processing
    )
}

impl Queue {
    /// The lane of `integration`, made on its first task.
    fn lane(&mut self, integration: &str) -> &mut Lane {
        if !self.lanes.contains_key(integration) {
            let name: Arc<str> = Arc::from(integration);
            let lane = Lane {
                name: name.clone(),
                live: BTreeSet::new(),
                pending: HashMap::default(),
                counts: [0; TaskStatus::ALL.len()],
                finished: BTreeMap::new(),
            };
            self.lanes.insert(name, lane);
        }
        self.lanes.get_mut(integration).expect("inserted above")
    }

    /// Deletes a task; its failed attempts are no longer listed.
    fn delete(&mut self, id: i64) -> Option<Record> {
        let record = self.tasks.remove(&id)?;
        let lane = self
            .lanes
            .get_mut(&record.integration)
            .expect("every task's integration has a lane");
        lane.moved(id, &record.key, Some(record.status), None);
        for attempt in self.errors.iter_mut().filter(|a| a.task == id) {
            attempt.listed = false;
        }
        Some(record)
    }

    /// Moves task `id` to `status`, keeping the lane's indexes.
    fn set_status(&mut self, id: i64, status: TaskStatus) {
        let Some(record) = self.tasks.get_mut(&id) else {
            return;
        };
        let from = std::mem::replace(&mut record.status, status);
        let lane = self
            .lanes
            .get_mut(&record.integration)
            .expect("every task's integration has a lane");
        lane.moved(id, &record.key, Some(from), Some(status));
    }

    /// Queues a batch: a key already pending has its payload replaced.
    pub(crate) fn enqueue(&mut self, batch: &Batch<'_>) {
        let now = batch.now;
        let latest = latest_per_key(batch.tasks);
        self.lane(batch.integration);
        let Queue {
            last_id,
            tasks,
            lanes,
            ..
        } = self;
        let lane = lanes.get_mut(batch.integration).expect("made above");
        for (key, payload) in latest {
            // Every record offered takes an id, one that updates too: an
            // upsert does on SQLite, as from a PostgreSQL sequence.
            *last_id += 1;
            if let Some(&id) = lane.pending.get(key) {
                let record = tasks.get_mut(&id).expect("pending tasks exist");
                record.payload = payload.to_string();
                record.updated_at = now;
                record.batch_key = None;
                continue;
            }
            lane.add(tasks, *last_id, key, payload, TaskStatus::New, now);
        }
    }

    /// Completes the request's `done`, then claims.
    pub(crate) fn claim(&mut self, request: &ClaimRequest<'_>) -> (u64, Vec<Claimed>) {
        let lease = &request.lease;
        let completed = self.complete_many(request.done, lease.holder, lease.from);
        let Some(lane) = self.lanes.get(request.integration) else {
            return (completed, Vec::new());
        };
        let tasks = &self.tasks;
        let ids: Vec<i64> = lane
            .live
            .iter()
            .copied()
            .filter(|id| tasks[id].claimable(lease.from))
            .take(request.limit as usize)
            .collect();
        (completed, self.take(request.integration, &ids, lease))
    }

    /// Claims the claimable tasks of `integration` sent under one of `keys`.
    pub(crate) fn claim_batches(
        &mut self,
        integration: &str,
        keys: &[String],
        lease: &LeaseMillis<'_>,
    ) -> Vec<Claimed> {
        let Some(lane) = self.lanes.get(integration) else {
            return Vec::new();
        };
        let keys: HashSet<&str> = keys.iter().map(String::as_str).collect();
        let tasks = &self.tasks;
        let ids: Vec<i64> = lane
            .live
            .iter()
            .copied()
            .filter(|id| {
                let record = &tasks[id];
                record.claimable(lease.from)
                    && record
                        .batch_key
                        .as_deref()
                        .is_some_and(|k| keys.contains(k))
            })
            .collect();
        self.take(integration, &ids, lease)
    }

    /// Puts the tasks `ids` of `integration` (claimable, in id order)
    /// under `lease`.
    fn take(&mut self, integration: &str, ids: &[i64], lease: &LeaseMillis<'_>) -> Vec<Claimed> {
        let holder: Arc<str> = Arc::from(lease.holder);
        let mut claimed = Vec::with_capacity(ids.len());
        let Queue { tasks, lanes, .. } = self;
        let Some(lane) = lanes.get_mut(integration) else {
            return claimed;
        };
        for &id in ids {
            let record = tasks.get_mut(&id).expect("claimable tasks exist");
            let from = std::mem::replace(&mut record.status, TaskStatus::Processing);
            lane.moved(id, &record.key, Some(from), Some(TaskStatus::Processing));
            record.lease = Some((holder.clone(), lease.until));
            record.attempts = record.attempts.saturating_add(1);
            record.updated_at = lease.from;
            claimed.push(Claimed {
                id,
                key: record.key.to_string(),
                payload: record.payload.clone(),
                attempts: record.attempts,
                batch_key: record.batch_key.as_deref().map(str::to_string),
            });
        }
        claimed
    }

    /// Finishes the tasks of `ids` that `owner` holds: forgotten, counted.
    pub(crate) fn complete_many(&mut self, ids: &[i64], owner: &str, now: i64) -> u64 {
        let mut completed = 0;
        let Queue {
            tasks,
            lanes,
            finished_with_errors,
            ..
        } = self;
        for &id in ids {
            let std::collections::btree_map::Entry::Occupied(entry) = tasks.entry(id) else {
                continue;
            };
            if !entry.get().held_by(owner) {
                continue;
            }
            let record = entry.remove();
            let lane = lanes
                .get_mut(&record.integration)
                .expect("every task's integration has a lane");
            lane.moved(id, &record.key, Some(record.status), None);
            lane.counts[slot(TaskStatus::Finished)] += 1;
            *lane.finished.entry((now, record.created_at)).or_default() += 1;
            if record.last_error.is_some() {
                finished_with_errors.insert(id, now);
            }
            completed += 1;
        }
        completed
    }

    /// Records a failed delivery of task `id`, held by `owner`.
    pub(crate) fn fail(
        &mut self,
        id: i64,
        owner: &str,
        failure: &Failure<'_>,
        now: i64,
    ) -> Option<FailOutcome> {
        let record = self.tasks.get(&id).filter(|r| r.held_by(owner))?;
        let attempts = record.attempts;
        let at = millis_to_timestamp(now);
        let seed = id.unsigned_abs();
        let outcome = failure
            .policy
            .after_failure(attempts, failure.retry_after, at, seed);
        let (status, next) = outcome.status_and_next_attempt(now);
        // A newer change of the same record queued while this one was out
        // goes with the retry instead (as `shared::fail` explains).
        let newer = match outcome {
            FailOutcome::RetryAt(_) => {
                let pending = self.lanes[&record.integration].pending.get(&record.key);
                match pending.copied() {
                    Some(other) => self.delete(other).map(|r| r.payload),
                    None => None,
                }
            }
            FailOutcome::Dead => None,
        };
        self.set_status(id, TaskStatus::parse(status));
        let record = self.tasks.get_mut(&id).expect("checked above");
        record.next_attempt_at = next;
        record.last_error = Some(failure.error.to_string());
        record.lease = None;
        record.updated_at = now;
        if let Some(payload) = newer {
            record.payload = payload;
            record.batch_key = None;
        }
        let integration = record.integration.clone();
        self.errors.push(Attempt {
            task: id,
            integration,
            attempt: attempts,
            at: now,
            error: failure.error.to_string(),
            listed: true,
        });
        Some(outcome)
    }

    /// Keeps a record that could not be read as a dead task; returns its id.
    pub(crate) fn reject(&mut self, integration: &str, rejected: &Rejected<'_>, now: i64) -> i64 {
        self.last_id += 1;
        let id = self.last_id;
        self.lane(integration);
        let lane = self.lanes.get_mut(integration).expect("made above");
        let record = lane.add(
            &mut self.tasks,
            id,
            rejected.key,
            rejected.raw,
            TaskStatus::Dead,
            now,
        );
        record.last_error = Some(rejected.reason.to_string());
        let integration = record.integration.clone();
        self.errors.push(Attempt {
            task: id,
            integration,
            attempt: 0,
            at: now,
            error: rejected.reason.to_string(),
            listed: true,
        });
        id
    }

    /// Sets a waiting, failed or dead task aside.
    pub(crate) fn skip(&mut self, id: i64, now: i64) -> bool {
        let skippable = self.tasks.get(&id).is_some_and(|r| {
            matches!(
                r.status,
                TaskStatus::New | TaskStatus::Failed | TaskStatus::Dead
            )
        });
        if skippable {
            self.set_status(id, TaskStatus::Skipped);
            let record = self.tasks.get_mut(&id).expect("checked above");
            record.lease = None;
            record.updated_at = now;
        }
        skippable
    }

    /// Whether task `id`'s key is free for it to be pending.
    fn key_free_for(&self, id: i64, record: &Record) -> bool {
        self.lanes[&record.integration]
            .pending
            .get(&record.key)
            .is_none_or(|&p| p == id)
    }

    /// Queues task `id` again with its attempts reset.
    fn requeue(&mut self, id: i64, now: i64) {
        self.set_status(id, TaskStatus::New);
        let record = self.tasks.get_mut(&id).expect("requeued tasks exist");
        record.attempts = 0;
        record.next_attempt_at = now;
        record.updated_at = now;
        record.batch_key = None;
    }

    /// Queues one dead or skipped task again, or makes a failed one due now.
    pub(crate) fn replay(&mut self, id: i64, now: i64) -> bool {
        let replayable = self.tasks.get(&id).is_some_and(|r| {
            matches!(
                r.status,
                TaskStatus::Dead | TaskStatus::Skipped | TaskStatus::Failed
            ) && self.key_free_for(id, r)
        });
        if replayable {
            self.requeue(id, now);
        }
        replayable
    }

    /// Queues an integration's dead tasks again: the newest dead one per
    /// key, when it was attempted, is not in `leave`, and no task of its
    /// key is pending.
    pub(crate) fn replay_dead(&mut self, integration: &str, leave: &[i64], now: i64) -> u64 {
        let mut newest: HashMap<&Arc<str>, i64> = HashMap::new();
        for (&id, record) in &self.tasks {
            if record.status == TaskStatus::Dead && &*record.integration == integration {
                newest.insert(&record.key, id);
            }
        }
        let replayed: Vec<i64> = newest
            .into_values()
            .filter(|id| {
                let record = &self.tasks[id];
                record.attempts > 0 && !leave.contains(id) && self.key_free_for(*id, record)
            })
            .collect();
        for &id in &replayed {
            self.requeue(id, now);
        }
        replayed.len() as u64
    }

    /// Records that tasks `ids` were sent together under `key`.
    pub(crate) fn set_batch_key(&mut self, ids: &[i64], key: &str) {
        let key: Arc<str> = Arc::from(key);
        for id in ids {
            if let Some(record) = self.tasks.get_mut(id) {
                record.batch_key = Some(key.clone());
            }
        }
    }

    pub(crate) fn task(&self, id: i64) -> Option<Task> {
        self.tasks.get(&id).map(|r| r.task(id))
    }

    pub(crate) fn tasks(&self, query: &TaskQuery) -> Vec<Task> {
        self.tasks
            .range(..query.before.unwrap_or(i64::MAX))
            .rev()
            .filter(|(_, r)| {
                query
                    .integration
                    .as_deref()
                    .is_none_or(|i| *i == *r.integration)
                    && query.status.is_none_or(|s| s == r.status)
            })
            .take(query.limit as usize)
            .map(|(&id, r)| r.task(id))
            .collect()
    }

    pub(crate) fn count(&self, integration: &str, status: TaskStatus) -> u64 {
        self.lanes
            .get(integration)
            .map_or(0, |lane| lane.counts[slot(status)])
    }

    /// How many tasks of `integration` were queued at or before `until`,
    /// finished ones included.
    pub(crate) fn queued_by(&self, integration: &str, until: i64) -> u64 {
        let Some(lane) = self.lanes.get(integration) else {
            return 0;
        };
        let kept = self
            .tasks
            .values()
            .filter(|r| &*r.integration == integration && r.created_at <= until)
            .count() as u64;
        let finished: u64 = lane
            .finished
            .iter()
            .filter(|((_, queued), _)| *queued <= until)
            .map(|(_, n)| n)
            .sum();
        kept + finished
    }

    /// Each integration's count in each status that has some, by
    /// integration then status name (as SQL's `ORDER BY` sorts them).
    pub(crate) fn task_counts(&self) -> Vec<(String, TaskStatus, u64)> {
        let mut counts: Vec<(String, TaskStatus, u64)> = self
            .lanes
            .iter()
            .flat_map(|(name, lane)| {
                TaskStatus::ALL
                    .into_iter()
                    .map(|status| (name.to_string(), status, lane.counts[slot(status)]))
            })
            .filter(|&(_, _, n)| n > 0)
            .collect();
        counts.sort_by(|a, b| (&a.0, a.1.as_str()).cmp(&(&b.0, b.1.as_str())));
        counts
    }

    pub(crate) fn has_work(&self, integration: &str, now: i64) -> bool {
        self.lanes
            .get(integration)
            .is_some_and(|lane| lane.live.iter().any(|id| self.tasks[id].claimable(now)))
    }

    /// A task's listed failed attempts, by time then attempt.
    pub(crate) fn task_errors(&self, task: i64) -> Vec<TaskError> {
        let mut attempts: Vec<&Attempt> = self
            .errors
            .iter()
            .filter(|a| a.listed && a.task == task)
            .collect();
        attempts.sort_by_key(|a| (a.at, a.attempt));
        attempts.into_iter().map(Attempt::task_error).collect()
    }

    /// The latest listed failed attempts, newest first.
    pub(crate) fn recent_errors(&self, limit: u32) -> Vec<TaskError> {
        let mut attempts: Vec<&Attempt> = self.errors.iter().filter(|a| a.listed).collect();
        attempts.sort_by_key(|a| std::cmp::Reverse((a.at, a.task, a.attempt)));
        attempts
            .into_iter()
            .take(limit as usize)
            .map(Attempt::task_error)
            .collect()
    }

    /// When each integration's oldest task still to deliver was queued.
    pub(crate) fn oldest_queued(&self) -> Vec<(String, i64)> {
        let mut oldest: Vec<(String, i64)> = self
            .lanes
            .iter()
            .filter_map(|(name, lane)| {
                let first = lane.live.iter().map(|id| self.tasks[id].created_at).min()?;
                Some((name.to_string(), first))
            })
            .collect();
        oldest.sort();
        oldest
    }

    /// Tasks kept (not finished) and failed attempts kept.
    pub(crate) fn rows(&self) -> (u64, u64) {
        (self.tasks.len() as u64, self.errors.len() as u64)
    }

    /// A stopped node's task leases run out at once.
    pub(crate) fn release_node(&mut self, node: &str, now: i64) {
        for record in self.tasks.values_mut().filter(|r| r.held_by_node(node)) {
            if let Some((_, until)) = &mut record.lease {
                *until = now - 1;
            }
        }
    }

    /// A node's live task leases last until the lease's end.
    pub(crate) fn renew_leases(&mut self, lease: &LeaseMillis<'_>) {
        for record in self
            .tasks
            .values_mut()
            .filter(|r| r.held_by_node(lease.holder))
        {
            if let Some((_, until)) = &mut record.lease
                && *until >= lease.from
            {
                *until = lease.until;
            }
        }
    }

    /// Deletes finished, skipped and dead tasks past their cutoffs (the
    /// finished from their count), then the failed attempts past both
    /// whose tasks are gone.
    pub(crate) fn prune(&mut self, cutoffs: &Cutoffs) -> Pruned {
        let mut finished = 0;
        for lane in self.lanes.values_mut() {
            let kept = lane.finished.split_off(&(cutoffs.finished_tasks, i64::MIN));
            let pruned: u64 = std::mem::replace(&mut lane.finished, kept).values().sum();
            lane.counts[slot(TaskStatus::Finished)] -= pruned;
            finished += pruned;
        }
        self.finished_with_errors
            .retain(|_, at| *at >= cutoffs.finished_tasks);
        let old: Vec<(i64, TaskStatus)> = self
            .tasks
            .iter()
            .filter(|(_, r)| match r.status {
                TaskStatus::Skipped => r.updated_at < cutoffs.finished_tasks,
                TaskStatus::Dead => r.updated_at < cutoffs.dead_tasks,
                _ => false,
            })
            .map(|(&id, r)| (id, r.status))
            .collect();
        for &(id, _) in &old {
            self.delete(id);
        }
        let errors_before = cutoffs.finished_tasks.max(cutoffs.dead_tasks);
        let (tasks, finished_with_errors) = (&self.tasks, &self.finished_with_errors);
        self.errors.retain(|a| {
            a.at >= errors_before
                || tasks.contains_key(&a.task)
                || finished_with_errors.contains_key(&a.task)
        });
        let dead = old.iter().filter(|(_, s)| *s == TaskStatus::Dead).count() as u64;
        Pruned {
            finished_tasks: finished + old.len() as u64 - dead,
            dead_tasks: dead,
            executions: 0,
            rate_windows: 0,
        }
    }
}
