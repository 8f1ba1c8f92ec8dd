//! [`Store`]: one API over both backends.

use jiff::{SignedDuration, Timestamp};

use crate::{
    Error,
    error::ErrorKind,
    memory::Memory,
    model::{
        Alert, Batch, ClaimRequest, Claimed, Cursor, Cutoffs, Due, Execution, ExecutionChange,
        ExecutionQuery, ExecutionState, FailOutcome, Failure, Interrupted, JobControl, Lease,
        NewTask, NodeProcess, Pruned, PushBack, RateRequest, RateTake, Rejected, Retention,
        RowCounts, SlotRequest, SystemMinute, Task, TaskError, TaskQuery, TaskStatus,
    },
    postgres::Postgres,
    shared,
    sqlite::{Sqlite, SqliteQueue},
    time::{Minute, millis, millis_to_timestamp},
};

/// Pacer's durable state: the executions ledger, the task queue and cursors.
///
/// Opened from a URL: `sqlite://pacer.db` (the embedded default) or
/// `postgres://user@host/database` (several nodes on one database). The
/// schema is created and migrated on first use. Every time is passed in by
/// the caller (`now`, a lease's end), so a virtual clock drives the store
/// like a real one.
#[derive(Debug)]
pub struct Store {
    backend: Backend,
    /// Calls made through this handle: what a node asks of its database.
    calls: std::sync::atomic::AtomicU64,
}

enum Backend {
    Sqlite(Sqlite),
    Postgres(Postgres),
    /// SQLite too, in memory: see [`StoreBuilder::in_memory`].
    Memory(Memory),
}

impl std::fmt::Debug for Backend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Backend::Sqlite(_) => "Sqlite",
            Backend::Postgres(_) => "Postgres",
            Backend::Memory(_) => "Memory",
        })
    }
}

/// Builds a [`Store`]: the URL, and for PostgreSQL an optional schema.
#[derive(Clone, Debug)]
pub struct StoreBuilder {
    url: String,
    schema: Option<String>,
    in_memory: bool,
}

impl StoreBuilder {
    /// A store at `url`: `sqlite://PATH` or `postgres://…`.
    pub fn new(url: &str) -> StoreBuilder {
        StoreBuilder {
            url: url.to_string(),
            schema: None,
            in_memory: false,
        }
    }

    /// For PostgreSQL: keep Pacer's tables in this schema (it must exist).
    pub fn schema(&mut self, schema: &str) -> &mut StoreBuilder {
        self.schema = Some(schema.to_string());
        self
    }

    /// A throwaway store: SQLite in this process's memory, for a run whose
    /// store nobody opens again (a simulation's). It answers as a store on
    /// disk does, but for one thing: a task that finishes is forgotten,
    /// only counted — [`Store::count`], [`Store::task_counts`] and
    /// [`Store::queued_by`] include it, [`Store::tasks`] no longer lists it.
    pub fn in_memory() -> StoreBuilder {
        StoreBuilder {
            url: "sqlite::memory:".to_string(),
            schema: None,
            in_memory: true,
        }
    }

    /// Opens the store, creating and migrating its tables as needed.
    ///
    /// # Errors
    ///
    /// When the URL is not one of the two forms, the database cannot be
    /// reached, or it was written by a newer Pacer ([`Error::is_newer_schema`]).
    pub async fn open(&self) -> Result<Store, Error> {
        let backend = if self.in_memory {
            Backend::Memory(Memory::open().await?)
        } else if let Some(path) = self.url.strip_prefix("sqlite://") {
            Backend::Sqlite(Sqlite::open(path).await?)
        } else if self.url.starts_with("postgres://") || self.url.starts_with("postgresql://") {
            Backend::Postgres(Postgres::open(&self.url, self.schema.as_deref()).await?)
        } else {
            return Err(Error::new(
                ErrorKind::Url,
                format!("opening store {:?}", self.url),
            ));
        };
        Ok(Store {
            backend,
            calls: std::sync::atomic::AtomicU64::new(0),
        })
    }
}

/// Counts the call, then makes it on the backend: `$call` on every backend,
/// or on the in-memory one `$memory` instead, for what its task queue
/// answers.
macro_rules! dispatch {
    ($self:ident, $b:ident => $call:expr) => {
        dispatch!($self, $b => $call, $b => $call)
    };
    ($self:ident, $b:ident => $call:expr, $m:ident => $memory:expr) => {{
        $self
            .calls
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        match &$self.backend {
            Backend::Sqlite($b) => $call,
            Backend::Postgres($b) => $call,
            Backend::Memory($m) => $memory,
        }
    }};
}

impl Store {
    /// How many calls this handle made to the store so far, each one
    /// statement or one transaction: what a node costs its database.
    pub fn calls(&self) -> u64 {
        self.calls.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Records that a job's scheduled minute is due, on a node. Of any
    /// number of nodes recording the same minute, exactly one gets `true`:
    /// that one runs it.
    pub async fn record_due(&self, due: &Due<'_>) -> Result<bool, Error> {
        let &Due {
            job,
            minute,
            node,
            at,
        } = due;
        dispatch!(self, b => shared::record_due(b, job, minute.millis(), node, millis(at)).await)
    }

    /// Moves an execution to a new state, with the items it moved and its
    /// error, and, waiting or running, the node it is on.
    pub async fn set_execution(
        &self,
        job: &str,
        minute: Minute,
        change: ExecutionChange<'_>,
    ) -> Result<(), Error> {
        dispatch!(self, b => shared::set_execution(b, job, minute.millis(), change).await)
    }

    /// The state of an execution, if it was recorded.
    pub async fn execution_state(
        &self,
        job: &str,
        minute: Minute,
    ) -> Result<Option<ExecutionState>, Error> {
        dispatch!(self, b => shared::execution_state(b, job, minute.millis()).await)
    }

    /// Queues records for an integration and, in the same transaction, moves
    /// its cursor: a crash never advances a cursor past records not queued.
    ///
    /// A record whose key is already pending replaces that task's payload.
    pub async fn enqueue(
        &self,
        integration: &str,
        tasks: &[NewTask],
        cursor: Option<&Cursor>,
        now: Timestamp,
    ) -> Result<(), Error> {
        let batch = Batch {
            integration,
            tasks,
            cursor,
            now: millis(now),
        };
        dispatch!(self, b => b.enqueue(&batch).await, m => m.enqueue(&batch).await)
    }

    /// Claims up to `limit` tasks of an integration under `lease`: new
    /// tasks, failed ones due for a retry by the lease's start, and
    /// processing ones whose lease expired (their claimer is gone).
    pub async fn claim(
        &self,
        integration: &str,
        limit: u32,
        lease: &Lease<'_>,
    ) -> Result<Vec<Claimed>, Error> {
        let (_, tasks) = self
            .complete_and_claim(&[], integration, limit, lease)
            .await?;
        Ok(tasks)
    }

    /// Marks the claimed tasks `done` delivered and claims the next ones: a
    /// push loop pays one call per batch (and on PostgreSQL one durable
    /// commit). Returns how many of `done` the lease's holder still held,
    /// and the new tasks.
    pub async fn complete_and_claim(
        &self,
        done: &[i64],
        integration: &str,
        limit: u32,
        lease: &Lease<'_>,
    ) -> Result<(u64, Vec<Claimed>), Error> {
        let request = ClaimRequest {
            done,
            integration,
            limit,
            lease: lease.in_millis(),
        };
        dispatch!(self, b => b.claim(&request).await, m => Ok(m.queue().claim(&request)))
    }

    /// Marks a claimed task delivered. `false` when `owner` no longer holds it.
    pub async fn complete(&self, id: i64, owner: &str, now: Timestamp) -> Result<bool, Error> {
        dispatch!(self, b => shared::complete(b, id, owner, millis(now)).await,
                  m => Ok(m.queue().complete_many(&[id], owner, millis(now)) == 1))
    }

    /// Records a failed delivery: a retry after the policy's backoff (or at
    /// the failure's `retry_after`, e.g. from a `Retry-After` header), or
    /// dead after the policy's maximum attempts. `None` when `owner` no
    /// longer holds it.
    pub async fn fail(
        &self,
        id: i64,
        owner: &str,
        failure: &Failure<'_>,
        now: Timestamp,
    ) -> Result<Option<FailOutcome>, Error> {
        dispatch!(self, b => shared::fail(b, id, owner, failure, millis(now)).await,
                  m => Ok(m.queue().fail(id, owner, failure, millis(now))))
    }

    /// Queues an integration's dead tasks again (the newest per key, unless a
    /// pending one has that key); returns how many. Left dead: those whose
    /// id is in `leave`, and those never attempted — records rejected when
    /// read (no key, not JSON), which would be rejected the same way again.
    pub async fn replay_dead(
        &self,
        integration: &str,
        leave: &[i64],
        now: Timestamp,
    ) -> Result<u64, Error> {
        dispatch!(self, b => shared::replay_dead(b, integration, leave, millis(now)).await,
                  m => Ok(m.queue().replay_dead(integration, leave, millis(now))))
    }

    /// The integration's cursor, if a pull has set one.
    pub async fn cursor(&self, integration: &str) -> Result<Option<Cursor>, Error> {
        dispatch!(self, b => shared::cursor(b, integration).await)
    }

    /// One task, by id.
    pub async fn task(&self, id: i64) -> Result<Option<Task>, Error> {
        dispatch!(self, b => shared::task(b, id).await, m => Ok(m.queue().task(id)))
    }

    /// How many of an integration's tasks have `status`.
    pub async fn count(&self, integration: &str, status: TaskStatus) -> Result<u64, Error> {
        dispatch!(self, b => shared::count(b, integration, status).await,
                  m => Ok(m.queue().count(integration, status)))
    }

    /// Marks several claimed tasks delivered (a batch); returns how many
    /// `owner` still held.
    pub async fn complete_many(
        &self,
        ids: &[i64],
        owner: &str,
        now: Timestamp,
    ) -> Result<u64, Error> {
        dispatch!(self, b => shared::complete_many(b, ids, owner, millis(now)).await,
                  m => Ok(m.queue().complete_many(ids, owner, millis(now))))
    }

    /// Sets a waiting, failed or dead task aside; `false` if it is in flight or done.
    pub async fn skip(&self, id: i64, now: Timestamp) -> Result<bool, Error> {
        dispatch!(self, b => shared::skip(b, id, millis(now)).await,
                  m => Ok(m.queue().skip(id, millis(now))))
    }

    /// Queues one dead or skipped task again, or makes a failed one due now,
    /// with its attempts reset — unless another pending task has its key.
    pub async fn replay(&self, id: i64, now: Timestamp) -> Result<bool, Error> {
        dispatch!(self, b => shared::replay(b, id, millis(now)).await,
                  m => Ok(m.queue().replay(id, millis(now))))
    }

    /// Ledger rows from minute `since` on, oldest first, at most `limit`.
    pub async fn executions(&self, since: Minute, limit: u32) -> Result<Vec<Execution>, Error> {
        dispatch!(self, b => shared::executions(b, since.millis(), limit).await)
    }

    /// Whether an execution of `job` holds a live capacity slot on any node
    /// (slots name their execution `job@minute`).
    pub async fn has_live_slot(&self, job: &str, now: Timestamp) -> Result<bool, Error> {
        dispatch!(self, b => shared::has_live_slot(b, job, millis(now)).await)
    }

    /// The latest minute recorded for `job`, to find what was missed while no node ran.
    pub async fn last_due(&self, job: &str) -> Result<Option<Minute>, Error> {
        let minute = dispatch!(self, b => shared::last_due(b, job).await)?;
        Ok(minute.map(Minute::from_millis))
    }

    /// Takes what it can of a request from a rate budget, shared by every
    /// node on this store; returns how many units it got (0 when the
    /// window is spent).
    pub async fn take_rate(&self, request: &RateRequest<'_>) -> Result<u32, Error> {
        let take = RateTake {
            system: request.system,
            window: request.window.millis(),
            want: request.want,
            limit: request.limit,
        };
        dispatch!(self, b => b.take_rate(&take).await)
    }

    /// Says a node is alive at `now`, and where its process runs.
    pub async fn register_node(
        &self,
        process: &NodeProcess<'_>,
        now: Timestamp,
    ) -> Result<(), Error> {
        let &NodeProcess { node, machine, pid } = process;
        dispatch!(self, b => shared::register_node(b, node, machine, pid, millis(now)).await)
    }

    /// The nodes registered on `machine`, with their pids, by name.
    pub async fn nodes_on(&self, machine: &str) -> Result<Vec<(String, u32)>, Error> {
        dispatch!(self, b => shared::nodes_on(b, machine).await)
    }

    /// Frees at once what `node` held, known dead: its capacity slots and
    /// task leases, and its executions still due, waiting or running, which
    /// end `interrupted` and are returned. Its tasks go back to the queue;
    /// the node is forgotten.
    pub async fn release_node(
        &self,
        node: &str,
        now: Timestamp,
    ) -> Result<Vec<Interrupted>, Error> {
        let rows = dispatch!(self, b => shared::release_node(b, node, millis(now)).await,
                             m => m.release_node(node, millis(now)).await)?;
        Ok(rows.into_iter().map(Interrupted::from_row).collect())
    }

    /// Keeps every capacity slot and task lease the lease's holder (a node)
    /// holds until the lease's end: a node's heartbeat, so a node that stops
    /// lets go of them within one lease.
    pub async fn renew_leases(&self, lease: &Lease<'_>) -> Result<(), Error> {
        dispatch!(self, b => shared::renew_leases(b, &lease.in_millis()).await,
                  m => m.renew_leases(&lease.in_millis()).await)
    }

    /// Marks `interrupted` every execution left due, waiting or running by a
    /// node not seen since `alive_since` (and any older row without a node),
    /// and returns them.
    pub async fn interrupt_orphans(
        &self,
        alive_since: Timestamp,
        now: Timestamp,
    ) -> Result<Vec<Interrupted>, Error> {
        let rows = dispatch!(self, b => shared::interrupt_orphans(b, millis(alive_since), millis(now)).await)?;
        Ok(rows.into_iter().map(Interrupted::from_row).collect())
    }

    /// The latest minute in the ledger, of any job.
    pub async fn latest_minute(&self) -> Result<Option<Minute>, Error> {
        let minute = dispatch!(self, b => shared::latest_minute(b).await)?;
        Ok(minute.map(Minute::from_millis))
    }

    /// Records that tasks `ids` were sent together under `key`, before
    /// they are sent: sent again, they go together under it.
    pub async fn set_batch_key(&self, ids: &[i64], key: &str) -> Result<(), Error> {
        dispatch!(self, b => shared::set_batch_key(b, ids, key).await,
        m => {
            m.queue().set_batch_key(ids, key);
            Ok(())
        })
    }

    /// Claims the claimable tasks of `integration` sent in the batches
    /// `keys`, so a batch that comes back goes whole.
    pub async fn claim_batches(
        &self,
        integration: &str,
        keys: &[String],
        lease: &Lease<'_>,
    ) -> Result<Vec<Claimed>, Error> {
        if keys.is_empty() {
            return Ok(Vec::new());
        }
        let lease = lease.in_millis();
        dispatch!(self, b => shared::claim_batches(b, integration, keys, &lease).await,
                  m => Ok(m.queue().claim_batches(integration, keys, &lease)))
    }

    /// Gives `unused` units back to `system`'s minute `window`: what a page
    /// or a batch was granted and did not use.
    pub async fn give_back_rate(
        &self,
        system: &str,
        window: Minute,
        unused: u32,
    ) -> Result<(), Error> {
        if unused == 0 {
            return Ok(());
        }
        dispatch!(self, b => shared::give_back_rate(b, system, window.millis(), unused).await)
    }

    /// Whether `integration` has a task a push could claim at `now`.
    pub async fn has_work(&self, integration: &str, now: Timestamp) -> Result<bool, Error> {
        dispatch!(self, b => shared::has_work(b, integration, millis(now)).await,
                  m => Ok(m.queue().has_work(integration, millis(now))))
    }

    /// Pauses (`true`) or resumes a job, for every node.
    pub async fn set_paused(&self, job: &str, paused: bool) -> Result<(), Error> {
        dispatch!(self, b => shared::set_paused(b, job, paused).await)
    }

    /// Asks for one run of `job` now; the first node to [`take_trigger`](Store::take_trigger) runs it.
    pub async fn trigger(&self, job: &str, now: Timestamp) -> Result<(), Error> {
        dispatch!(self, b => shared::trigger(b, job, millis(now)).await)
    }

    /// Clears a pending trigger; `true` for the one caller that cleared it.
    pub async fn take_trigger(&self, job: &str) -> Result<bool, Error> {
        dispatch!(self, b => shared::take_trigger(b, job).await)
    }

    /// Every job's switches that were ever set, by job name.
    pub async fn job_controls(&self) -> Result<Vec<JobControl>, Error> {
        dispatch!(self, b => shared::job_controls(b).await)
    }

    /// Keeps a record that could not be read (not JSON, no key) as a dead task
    /// with the reason, so it is seen and can be replayed, never silently lost.
    pub async fn reject(
        &self,
        integration: &str,
        rejected: &Rejected<'_>,
        now: Timestamp,
    ) -> Result<i64, Error> {
        dispatch!(self, b => shared::reject(b, integration, rejected, millis(now)).await,
                  m => Ok(m.queue().reject(integration, rejected, millis(now))))
    }

    /// Tasks matching `query`, newest first.
    pub async fn tasks(&self, query: &TaskQuery) -> Result<Vec<Task>, Error> {
        dispatch!(self, b => shared::tasks(b, query).await, m => Ok(m.queue().tasks(query)))
    }

    /// How many tasks of `integration` were queued at or before `until`, in
    /// any status (a change replacing a pending one is not a task of its
    /// own): where a simulation's changes were when one went late.
    pub async fn queued_by(&self, integration: &str, until: Timestamp) -> Result<u64, Error> {
        dispatch!(self, b => shared::queued_by(b, integration, millis(until)).await,
                  m => Ok(m.queue().queued_by(integration, millis(until))))
    }

    /// How many tasks each integration has in each status (only pairs with some).
    pub async fn task_counts(&self) -> Result<Vec<(String, TaskStatus, u64)>, Error> {
        dispatch!(self, b => shared::task_counts(b).await, m => Ok(m.queue().task_counts()))
    }

    /// A task's failed attempts, first first.
    pub async fn task_errors(&self, task: i64) -> Result<Vec<TaskError>, Error> {
        dispatch!(self, b => shared::task_errors(b, task).await,
                  m => Ok(m.queue().task_errors(task)))
    }

    /// The latest failed attempts across all integrations, newest first.
    pub async fn recent_errors(&self, limit: u32) -> Result<Vec<TaskError>, Error> {
        dispatch!(self, b => shared::recent_errors(b, limit).await,
                  m => Ok(m.queue().recent_errors(limit)))
    }

    /// Each of `jobs`' newest ledger row in one of `states` (none for a
    /// job without one), in one call, by job name.
    pub async fn latest_executions(
        &self,
        jobs: &[String],
        states: &[ExecutionState],
    ) -> Result<Vec<Execution>, Error> {
        let states: Vec<String> = states.iter().map(|s| s.as_str().to_string()).collect();
        dispatch!(self, b => shared::latest_executions(b, jobs, &states).await)
    }

    /// Ledger rows matching `query`, newest minute first.
    pub async fn history(&self, query: &ExecutionQuery) -> Result<Vec<Execution>, Error> {
        dispatch!(self, b => shared::history(b, query).await)
    }

    /// Units taken from each rate budget per minute window, from `since` on:
    /// (budget, window start, used), by budget then window.
    pub async fn rate_usage(&self, since: Minute) -> Result<Vec<(String, Minute, u64)>, Error> {
        Ok(self
            .system_minutes(since)
            .await?
            .into_iter()
            .map(|m| (m.budget, m.window, m.used))
            .collect())
    }

    /// Counts what `system` answered back in minute `window`, beside what
    /// its rate window used.
    pub async fn push_back(
        &self,
        system: &str,
        window: Minute,
        answers: &PushBack,
    ) -> Result<(), Error> {
        if answers.is_empty() {
            return Ok(());
        }
        dispatch!(self, b => shared::push_back(b, system, window.millis(), answers).await)
    }

    /// Each rate budget's minutes from `since` on — what it used and what
    /// the system answered back — by budget then minute (as long as
    /// `retention.rate_windows` keeps them: 2 days by default).
    pub async fn system_minutes(&self, since: Minute) -> Result<Vec<SystemMinute>, Error> {
        dispatch!(self, b => shared::system_minutes(b, since.millis()).await)
    }

    /// Says `node` is alive at `now`.
    pub async fn heartbeat(&self, node: &str, now: Timestamp) -> Result<(), Error> {
        dispatch!(self, b => shared::heartbeat(b, node, millis(now)).await)
    }

    /// The nodes whose last heartbeat is at `since` or later, by name.
    pub async fn nodes_alive(&self, since: Timestamp) -> Result<Vec<String>, Error> {
        dispatch!(self, b => shared::nodes_alive(b, millis(since)).await)
    }

    /// `sqlite` or `postgres`.
    pub fn kind(&self) -> &'static str {
        match self.backend {
            Backend::Sqlite(_) | Backend::Memory(_) => "sqlite",
            Backend::Postgres(_) => "postgres",
        }
    }

    /// Takes one of the environment's `capacity` execution slots for
    /// `execution` under `lease`, across all nodes; `None` when all are held.
    /// A slot whose lease expired (its node died) is free again.
    pub async fn acquire_slot(
        &self,
        capacity: u32,
        execution: &str,
        lease: &Lease<'_>,
    ) -> Result<Option<u32>, Error> {
        let request = SlotRequest {
            capacity,
            execution,
            lease: lease.in_millis(),
        };
        dispatch!(self, b => b.acquire_slot(&request).await)
    }

    /// The heartbeat: extends a held slot's lease. `false` when the lease had
    /// already expired or another holder took the slot.
    pub async fn renew_slot(&self, slot: u32, lease: &Lease<'_>) -> Result<bool, Error> {
        dispatch!(self, b => shared::renew_slot(b, slot, &lease.in_millis()).await)
    }

    /// Gives a slot back.
    pub async fn release_slot(&self, slot: u32, holder: &str) -> Result<bool, Error> {
        dispatch!(self, b => shared::release_slot(b, slot, holder).await)
    }

    /// How many of the `capacity` slots are held under a live lease.
    pub async fn slots_in_use(&self, capacity: u32, now: Timestamp) -> Result<u32, Error> {
        dispatch!(self, b => shared::slots_in_use(b, capacity, millis(now)).await)
    }

    /// Deletes what `retention` no longer keeps, `batch` rows per statement
    /// so no lock is held for long.
    pub async fn prune(&self, retention: &Retention, batch: u32) -> Result<Pruned, Error> {
        let cutoffs = Cutoffs::from(retention);
        dispatch!(self, b => shared::prune(b, &cutoffs, batch.max(1)).await,
                  m => m.prune(&cutoffs, batch.max(1)).await)
    }

    /// Takes the chore named `chore` (a prune) for `node` when no node took
    /// it within `every` before `now`: `true` for the one node of the
    /// cluster that gets this round.
    pub async fn claim_chore(
        &self,
        chore: &str,
        node: &str,
        now: Timestamp,
        every: SignedDuration,
    ) -> Result<bool, Error> {
        let every = i64::try_from(every.as_millis()).unwrap_or(i64::MAX);
        dispatch!(self, b => shared::claim_chore(b, chore, node, millis(now), every).await)
    }

    /// The alerts whose conditions hold, the longest-held first.
    pub async fn alerts(&self) -> Result<Vec<Alert>, Error> {
        dispatch!(self, b => shared::alerts(b).await)
    }

    /// Keeps `alert`'s state, new or changed.
    pub async fn put_alert(&self, alert: &Alert) -> Result<(), Error> {
        dispatch!(self, b => shared::put_alert(b, alert).await)
    }

    /// Forgets an alert whose condition no longer holds.
    pub async fn close_alert(&self, condition: &str, subject: &str) -> Result<(), Error> {
        dispatch!(self, b => shared::close_alert(b, condition, subject).await)
    }

    /// Says `node` stopped cleanly at `now`: its silence is not a loss.
    /// Its next heartbeat takes that back.
    pub async fn node_stopped(&self, node: &str, now: Timestamp) -> Result<(), Error> {
        dispatch!(self, b => shared::node_stopped(b, node, millis(now)).await)
    }

    /// Nodes that beat at `seen_since` or later, but not since
    /// `silent_since`, and did not say they stopped: each with its last beat.
    pub async fn nodes_lost(
        &self,
        silent_since: Timestamp,
        seen_since: Timestamp,
    ) -> Result<Vec<(String, Timestamp)>, Error> {
        let rows = dispatch!(self, b => shared::nodes_lost(b, millis(silent_since), millis(seen_since)).await)?;
        Ok(named_instants(rows))
    }

    /// When each job's last successful execution ended (jobs that never
    /// succeeded, or whose successes were pruned, are not listed).
    pub async fn last_successes(&self) -> Result<Vec<(String, Timestamp)>, Error> {
        let rows = dispatch!(self, b => shared::last_successes(b).await)?;
        Ok(named_instants(rows))
    }

    /// When each integration's oldest task still to deliver (new, failed
    /// or being delivered) was queued.
    pub async fn oldest_queued(&self) -> Result<Vec<(String, Timestamp)>, Error> {
        let rows = dispatch!(self, b => shared::oldest_queued(b).await,
                             m => Ok(m.queue().oldest_queued()))?;
        Ok(named_instants(rows))
    }

    /// How many rows each table holds.
    pub async fn row_counts(&self) -> Result<RowCounts, Error> {
        dispatch!(self, b => shared::row_counts(b).await, m => m.row_counts().await)
    }
}

/// Rows of a name and Unix milliseconds, as names and instants.
fn named_instants(rows: Vec<(String, i64)>) -> Vec<(String, Timestamp)> {
    rows.into_iter()
        .map(|(name, at)| (name, millis_to_timestamp(at)))
        .collect()
}
