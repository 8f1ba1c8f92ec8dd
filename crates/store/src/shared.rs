//! The statements both backends run alike, written once: the ledger, task
//! reads and single-task moves, controls, nodes, slots and rate usage.
//! [`crate::Store`] documents what each does.

use crate::{
    Error,
    error::ErrorKind,
    model::{
        Alert, AlertRow, Batch, Claimed, ClaimedRow, Cursor, Cutoffs, Execution, ExecutionChange,
        ExecutionQuery, ExecutionRow, ExecutionState, FailOutcome, Failure, JobControl,
        LeaseMillis, Pruned, PushBack, Rejected, RowCounts, SlotRequest, SystemMinute, Task,
        TaskError, TaskErrorRow, TaskQuery, TaskRow, TaskStatus,
    },
    schema,
    sql::{Run, Statement, Tx},
    time::{Minute, millis, millis_to_timestamp},
};

const TASK_COLUMNS_BY_ID: &str = "SELECT id, integration, dedup_key, payload, status, attempts, last_error, next_attempt_at, created_at, updated_at FROM tasks WHERE id = $1";

pub(crate) async fn record_due(
    db: &impl Run,
    job: &str,
    minute: i64,
    node: &str,
    now: i64,
) -> Result<bool, Error> {
    let statement = Statement::new(
        "INSERT INTO executions (job, minute, state, due_at, node) VALUES ($1, $2, 'due', $3, $4)
         ON CONFLICT (job, minute) DO NOTHING",
        format!("recording {job} due at {minute}"),
    )
    .bind(job)
    .bind(minute)
    .bind(now)
    .bind(node);
    Ok(db.execute(statement).await? == 1)
}

pub(crate) async fn set_execution(
    db: &impl Run,
    job: &str,
    minute: i64,
    change: ExecutionChange<'_>,
) -> Result<(), Error> {
    let ExecutionChange {
        state,
        node,
        at,
        items,
        error,
    } = change;
    let statement = Statement::new(
        "UPDATE executions SET state = $1,
            started_at = CASE WHEN $1 = 'running' THEN $2 ELSE started_at END,
            finished_at = CASE WHEN $1 IN ('succeeded', 'failed', 'skipped', 'missed', 'interrupted') THEN $2 ELSE finished_at END,
            items = $3, error = $4,
            node = CASE WHEN $1 IN ('waiting', 'running') THEN $7 ELSE node END
         WHERE job = $5 AND minute = $6",
        format!("updating {job} at {}", Minute::from_millis(minute)),
    )
    .bind(state.as_str())
    .bind(millis(at))
    .bind(items as i64)
    .bind(error)
    .bind(job)
    .bind(minute)
    .bind(node);
    db.execute(statement).await.map(drop)
}

pub(crate) async fn execution_state(
    db: &impl Run,
    job: &str,
    minute: i64,
) -> Result<Option<ExecutionState>, Error> {
    let statement = Statement::new(
        "SELECT state FROM executions WHERE job = $1 AND minute = $2",
        format!("reading {job} at {minute}"),
    )
    .bind(job)
    .bind(minute);
    // A state this Pacer does not know (a newer one wrote it) reads as none.
    let state = db.fetch_optional::<(String,)>(statement).await?;
    Ok(state.and_then(|(name,)| ExecutionState::parse(&name)))
}

pub(crate) async fn complete(db: &impl Run, id: i64, owner: &str, now: i64) -> Result<bool, Error> {
    Ok(complete_many(db, &[id], owner, now).await? == 1)
}

pub(crate) async fn cursor(db: &impl Run, integration: &str) -> Result<Option<Cursor>, Error> {
    let statement = Statement::new(
        "SELECT value, boundary FROM cursors WHERE integration = $1",
        format!("reading the cursor of {integration}"),
    )
    .bind(integration);
    Ok(db
        .fetch_optional::<(String, String)>(statement)
        .await?
        .map(|(value, boundary)| Cursor {
            value,
            boundary: boundary.split_whitespace().map(str::to_string).collect(),
        }))
}

pub(crate) async fn task(db: &impl Run, id: i64) -> Result<Option<Task>, Error> {
    let statement = Statement::new(TASK_COLUMNS_BY_ID, format!("reading task {id}")).bind(id);
    Ok(db
        .fetch_optional::<TaskRow>(statement)
        .await?
        .map(Task::from_row))
}

pub(crate) async fn count(
    db: &impl Run,
    integration: &str,
    status: TaskStatus,
) -> Result<u64, Error> {
    // The statuses written out let the backend read the partial index that
    // holds them (SQLite cannot match a bound status to one): otherwise a
    // count reads every task of every integration.
    let sql = match status {
        TaskStatus::New | TaskStatus::Failed | TaskStatus::Processing => {
            "SELECT COUNT(*) FROM tasks WHERE integration = $1
               AND status IN ('new', 'failed', 'processing') AND status = $2"
        }
        TaskStatus::Finished => {
            "SELECT COUNT(*) FROM tasks WHERE integration = $1
               AND status = 'finished' AND status = $2"
        }
        TaskStatus::Dead | TaskStatus::Skipped => {
            "SELECT COUNT(*) FROM tasks WHERE integration = $1
               AND status IN ('dead', 'skipped') AND status = $2"
        }
    };
    let statement = Statement::new(sql, format!("counting tasks of {integration}"))
        .bind(integration)
        .bind(status.as_str());
    let (n,): (i64,) = db.fetch_one(statement).await?;
    Ok(n.max(0) as u64)
}

pub(crate) async fn skip(db: &impl Run, id: i64, now: i64) -> Result<bool, Error> {
    let statement = Statement::new(
        "UPDATE tasks SET status = 'skipped', lease_owner = NULL, lease_until = NULL, updated_at = $1
         WHERE id = $2 AND status IN ('new', 'failed', 'dead')",
        format!("skipping task {id}"),
    )
    .bind(now)
    .bind(id);
    Ok(db.execute(statement).await? == 1)
}

pub(crate) async fn replay(db: &impl Run, id: i64, now: i64) -> Result<bool, Error> {
    let statement = Statement::new(
        "UPDATE tasks SET status = 'new', attempts = 0, next_attempt_at = $1, updated_at = $1, batch_key = NULL
         WHERE id = $2 AND status IN ('dead', 'skipped', 'failed')
           AND NOT EXISTS (SELECT 1 FROM tasks p
                           WHERE p.integration = tasks.integration AND p.dedup_key = tasks.dedup_key
                             AND p.status IN ('new', 'failed') AND p.id <> tasks.id)",
        format!("replaying task {id}"),
    )
    .bind(now)
    .bind(id);
    Ok(db.execute(statement).await? == 1)
}

pub(crate) async fn executions(
    db: &impl Run,
    since: i64,
    limit: u32,
) -> Result<Vec<Execution>, Error> {
    let statement = Statement::new(
        "SELECT job, minute, state, due_at, started_at, finished_at, items, error
         FROM executions WHERE minute >= $1 ORDER BY minute, job LIMIT $2",
        "reading executions",
    )
    .bind(since)
    .bind(limit);
    let rows: Vec<ExecutionRow> = db.fetch(statement).await?;
    rows.into_iter().map(Execution::from_row).collect()
}

pub(crate) async fn last_due(db: &impl Run, job: &str) -> Result<Option<i64>, Error> {
    let statement = Statement::new(
        "SELECT MAX(minute) FROM executions WHERE job = $1",
        format!("reading {job}'s last execution"),
    )
    .bind(job);
    Ok(db.fetch_one::<(Option<i64>,)>(statement).await?.0)
}

pub(crate) async fn give_back_rate(
    db: &impl Run,
    system: &str,
    window_start: i64,
    unused: u32,
) -> Result<(), Error> {
    let statement = Statement::new(
        "UPDATE rate_windows SET used = CASE WHEN used > $3 THEN used - $3 ELSE 0 END
         WHERE system = $1 AND window_start = $2",
        format!("giving {unused} back to {system}'s rate limit"),
    )
    .bind(system)
    .bind(window_start)
    .bind(unused);
    db.execute(statement).await.map(drop)
}

pub(crate) async fn push_back(
    db: &impl Run,
    system: &str,
    window_start: i64,
    answers: &PushBack,
) -> Result<(), Error> {
    let count = |n: u64| i64::try_from(n).unwrap_or(i64::MAX);
    let statement = Statement::new(
        "INSERT INTO rate_windows (system, window_start, used, throttled, failed, refused)
         VALUES ($1, $2, 0, $3, $4, $5)
         ON CONFLICT (system, window_start) DO UPDATE SET
             throttled = rate_windows.throttled + excluded.throttled,
             failed = rate_windows.failed + excluded.failed,
             refused = rate_windows.refused + excluded.refused",
        format!("counting what {system} answered back"),
    )
    .bind(system)
    .bind(window_start)
    .bind(count(answers.throttled))
    .bind(count(answers.failed))
    .bind(count(answers.refused));
    db.execute(statement).await.map(drop)
}

pub(crate) async fn system_minutes(db: &impl Run, since: i64) -> Result<Vec<SystemMinute>, Error> {
    let statement = Statement::new(
        "SELECT system, window_start, used, throttled, failed, refused FROM rate_windows
         WHERE window_start >= $1 ORDER BY system, window_start",
        "reading what systems took and answered back",
    )
    .bind(since);
    let rows: Vec<(String, i64, i64, i64, i64, i64)> = db.fetch(statement).await?;
    let count = |n: i64| n.max(0).unsigned_abs();
    Ok(rows
        .into_iter()
        .map(
            |(budget, window, used, throttled, failed, refused)| SystemMinute {
                budget,
                window: Minute::from_millis(window),
                used: count(used),
                answers: PushBack {
                    throttled: count(throttled),
                    failed: count(failed),
                    refused: count(refused),
                },
            },
        )
        .collect())
}

pub(crate) async fn has_work(db: &impl Run, integration: &str, now: i64) -> Result<bool, Error> {
    let statement = Statement::new(
        "SELECT EXISTS (SELECT 1 FROM tasks
             WHERE integration = $1 AND status IN ('new', 'failed', 'processing')
               AND ((status IN ('new', 'failed') AND next_attempt_at <= $2)
                    OR (status = 'processing' AND lease_until < $2)))",
        format!("looking for tasks of {integration} to deliver"),
    )
    .bind(integration)
    .bind(now);
    Ok(db.fetch_one::<(bool,)>(statement).await?.0)
}

pub(crate) async fn set_paused(db: &impl Run, job: &str, paused: bool) -> Result<(), Error> {
    let statement = Statement::new(
        "INSERT INTO job_controls (job, paused) VALUES ($1, $2)
         ON CONFLICT (job) DO UPDATE SET paused = excluded.paused",
        format!("pausing or resuming {job}"),
    )
    .bind(job)
    .bind(paused);
    db.execute(statement).await.map(drop)
}

pub(crate) async fn trigger(db: &impl Run, job: &str, now: i64) -> Result<(), Error> {
    let statement = Statement::new(
        "INSERT INTO job_controls (job, triggered_at) VALUES ($1, $2)
         ON CONFLICT (job) DO UPDATE SET triggered_at = excluded.triggered_at",
        format!("triggering {job}"),
    )
    .bind(job)
    .bind(now);
    db.execute(statement).await.map(drop)
}

pub(crate) async fn take_trigger(db: &impl Run, job: &str) -> Result<bool, Error> {
    let statement = Statement::new(
        "UPDATE job_controls SET triggered_at = NULL WHERE job = $1 AND triggered_at IS NOT NULL",
        format!("taking {job}'s trigger"),
    )
    .bind(job);
    Ok(db.execute(statement).await? == 1)
}

pub(crate) async fn job_controls(db: &impl Run) -> Result<Vec<JobControl>, Error> {
    let statement = Statement::new(
        "SELECT job, paused, triggered_at FROM job_controls ORDER BY job",
        "reading job controls",
    );
    let rows: Vec<(String, bool, Option<i64>)> = db.fetch(statement).await?;
    Ok(rows.into_iter().map(JobControl::from_row).collect())
}

pub(crate) async fn tasks(db: &impl Run, query: &TaskQuery) -> Result<Vec<Task>, Error> {
    let statement = Statement::new(
        "SELECT id, integration, dedup_key, payload, status, attempts, last_error,
                next_attempt_at, created_at, updated_at
         FROM tasks
         WHERE ($1 IS NULL OR integration = $1)
           AND ($2 IS NULL OR status = $2)
           AND ($3 IS NULL OR id < $3)
         ORDER BY id DESC LIMIT $4",
        "listing tasks",
    )
    .bind(query.integration.as_deref())
    .bind(query.status.map(TaskStatus::as_str))
    .bind(query.before)
    .bind(query.limit);
    let rows: Vec<TaskRow> = db.fetch(statement).await?;
    Ok(rows.into_iter().map(Task::from_row).collect())
}

pub(crate) async fn queued_by(db: &impl Run, integration: &str, until: i64) -> Result<u64, Error> {
    // One part per partial index, as in task_counts, so none reads the
    // whole table; together they cover every status.
    let statement = Statement::new(
        "SELECT (SELECT COUNT(*) FROM tasks WHERE integration = $1
                   AND status IN ('new', 'failed', 'processing') AND created_at <= $2)
              + (SELECT COUNT(*) FROM tasks WHERE integration = $1
                   AND status = 'finished' AND created_at <= $2)
              + (SELECT COUNT(*) FROM tasks WHERE integration = $1
                   AND status IN ('dead', 'skipped') AND created_at <= $2)",
        format!("counting the tasks of {integration} queued by a time"),
    )
    .bind(integration)
    .bind(until);
    let (n,): (i64,) = db.fetch_one(statement).await?;
    Ok(n.max(0) as u64)
}

pub(crate) async fn task_counts(db: &impl Run) -> Result<Vec<(String, TaskStatus, u64)>, Error> {
    // One part per partial index, so no part reads the whole table;
    // together they cover every status (TaskStatus::ALL).
    let statement = Statement::new(
        "SELECT integration, status, COUNT(*) FROM tasks
         WHERE status IN ('new', 'failed', 'processing') GROUP BY integration, status
         UNION ALL
         SELECT integration, status, COUNT(*) FROM tasks
         WHERE status = 'finished' GROUP BY integration, status
         UNION ALL
         SELECT integration, status, COUNT(*) FROM tasks
         WHERE status IN ('dead', 'skipped') GROUP BY integration, status
         ORDER BY 1, 2",
        "counting tasks",
    );
    let rows: Vec<(String, String, i64)> = db.fetch(statement).await?;
    Ok(rows
        .into_iter()
        .map(|(integration, status, n)| (integration, TaskStatus::parse(&status), n.max(0) as u64))
        .collect())
}

pub(crate) async fn task_errors(db: &impl Run, task: i64) -> Result<Vec<TaskError>, Error> {
    let statement = Statement::new(
        "SELECT e.task_id, t.integration, e.attempt, e.at, e.error
         FROM task_errors e JOIN tasks t ON t.id = e.task_id
         WHERE e.task_id = $1 ORDER BY e.at, e.attempt",
        format!("reading task {task}'s errors"),
    )
    .bind(task);
    let rows: Vec<TaskErrorRow> = db.fetch(statement).await?;
    Ok(rows.into_iter().map(TaskError::from_row).collect())
}

pub(crate) async fn recent_errors(db: &impl Run, limit: u32) -> Result<Vec<TaskError>, Error> {
    let statement = Statement::new(
        "SELECT e.task_id, t.integration, e.attempt, e.at, e.error
         FROM task_errors e JOIN tasks t ON t.id = e.task_id
         ORDER BY e.at DESC, e.task_id DESC LIMIT $1",
        "reading the latest errors",
    )
    .bind(limit);
    let rows: Vec<TaskErrorRow> = db.fetch(statement).await?;
    Ok(rows.into_iter().map(TaskError::from_row).collect())
}

pub(crate) async fn history(
    db: &impl Run,
    query: &ExecutionQuery,
) -> Result<Vec<Execution>, Error> {
    let statement = Statement::new(
        "SELECT job, minute, state, due_at, started_at, finished_at, items, error
         FROM executions
         WHERE minute >= $1
           AND ($2 IS NULL OR job = $2)
           AND ($3 IS NULL OR state = $3)
         ORDER BY minute DESC, job LIMIT $4",
        "reading the execution history",
    )
    .bind(millis(query.since))
    .bind(query.job.as_deref())
    .bind(query.state.map(ExecutionState::as_str))
    .bind(query.limit);
    let rows: Vec<ExecutionRow> = db.fetch(statement).await?;
    rows.into_iter().map(Execution::from_row).collect()
}

pub(crate) async fn latest_executions(
    db: &impl Run,
    jobs: &[String],
    states: &[String],
) -> Result<Vec<Execution>, Error> {
    // For each job, the primary key read backwards from its newest minute
    // to the first row in one of `states`, then that row: a few index
    // steps per job, however long the ledger is.
    let statement = Statement::new(
        "SELECT e.job, e.minute, e.state, e.due_at, e.started_at, e.finished_at, e.items, e.error
         FROM (SELECT value AS job FROM elements($1)) j
         JOIN executions e ON e.job = j.job
          AND e.minute = (SELECT x.minute FROM executions x
                          WHERE x.job = j.job AND x.state IN (SELECT value FROM elements($2))
                          ORDER BY x.minute DESC LIMIT 1)
         ORDER BY e.job",
        format!("reading the latest execution of {} jobs", jobs.len()),
    )
    .bind(jobs)
    .bind(states);
    let rows: Vec<ExecutionRow> = db.fetch(statement).await?;
    rows.into_iter().map(Execution::from_row).collect()
}

pub(crate) async fn heartbeat(db: &impl Run, node: &str, now: i64) -> Result<(), Error> {
    let statement = Statement::new(
        "INSERT INTO nodes (node, seen_at) VALUES ($1, $2)
         ON CONFLICT (node) DO UPDATE SET stopped_at = NULL, seen_at = CASE
             WHEN excluded.seen_at > nodes.seen_at THEN excluded.seen_at ELSE nodes.seen_at END",
        format!("recording node {node}'s heartbeat"),
    )
    .bind(node)
    .bind(now);
    db.execute(statement).await.map(drop)
}

pub(crate) async fn register_node(
    db: &impl Run,
    node: &str,
    machine: &str,
    pid: u32,
    now: i64,
) -> Result<(), Error> {
    let statement = Statement::new(
        "INSERT INTO nodes (node, seen_at, machine, pid) VALUES ($1, $2, $3, $4)
         ON CONFLICT (node) DO UPDATE SET seen_at = CASE
                 WHEN excluded.seen_at > nodes.seen_at THEN excluded.seen_at ELSE nodes.seen_at END,
             machine = excluded.machine, pid = excluded.pid",
        format!("registering node {node}"),
    )
    .bind(node)
    .bind(now)
    .bind(machine)
    .bind(pid);
    db.execute(statement).await.map(drop)
}

pub(crate) async fn nodes_on(db: &impl Run, machine: &str) -> Result<Vec<(String, u32)>, Error> {
    let statement = Statement::new(
        "SELECT node, pid FROM nodes WHERE machine = $1 ORDER BY node",
        format!("reading the nodes on {machine}"),
    )
    .bind(machine);
    let rows: Vec<(String, i64)> = db.fetch(statement).await?;
    Ok(rows
        .into_iter()
        .filter_map(|(node, pid)| Some((node, u32::try_from(pid).ok()?)))
        .collect())
}

pub(crate) async fn interrupt_orphans(
    db: &impl Run,
    alive_since: i64,
    now: i64,
) -> Result<Vec<(String, i64, String)>, Error> {
    let statement = Statement::new(
        "UPDATE executions SET state = 'interrupted', finished_at = $2,
             error = 'its node (' || COALESCE(node, 'unknown') || ') stopped while it was '
                     || state || ': no heartbeat within its lease'
         WHERE state IN ('due', 'waiting', 'running')
           AND ((node IS NOT NULL
                 AND node NOT IN (SELECT node FROM nodes WHERE seen_at >= $1))
                OR (node IS NULL AND due_at < $1))
         RETURNING job, minute, COALESCE(node, 'unknown')",
        "interrupting the executions of stopped nodes",
    )
    .bind(alive_since)
    .bind(now);
    db.execute_returning(statement).await
}

pub(crate) async fn latest_minute(db: &impl Run) -> Result<Option<i64>, Error> {
    let statement = Statement::new(
        "SELECT MAX(minute) FROM executions",
        "reading the ledger's latest minute",
    );
    Ok(db.fetch_one::<(Option<i64>,)>(statement).await?.0)
}

pub(crate) async fn nodes_alive(db: &impl Run, since: i64) -> Result<Vec<String>, Error> {
    let statement = Statement::new(
        "SELECT node FROM nodes WHERE seen_at >= $1 ORDER BY node",
        "reading the nodes alive",
    )
    .bind(since);
    let rows: Vec<(String,)> = db.fetch(statement).await?;
    Ok(rows.into_iter().map(|r| r.0).collect())
}

pub(crate) async fn renew_slot(
    db: &impl Run,
    slot: u32,
    lease: &LeaseMillis<'_>,
) -> Result<bool, Error> {
    let statement = Statement::new(
        "UPDATE slots SET lease_until = $1 WHERE slot = $2 AND holder = $3 AND lease_until >= $4",
        format!("renewing slot {slot}"),
    )
    .bind(lease.until)
    .bind(slot)
    .bind(lease.holder)
    .bind(lease.from);
    Ok(db.execute(statement).await? == 1)
}

pub(crate) async fn release_slot(db: &impl Run, slot: u32, holder: &str) -> Result<bool, Error> {
    let statement = Statement::new(
        "UPDATE slots SET holder = NULL, execution = NULL, lease_until = NULL
         WHERE slot = $1 AND holder = $2",
        format!("releasing slot {slot}"),
    )
    .bind(slot)
    .bind(holder);
    Ok(db.execute(statement).await? == 1)
}

pub(crate) async fn has_live_slot(db: &impl Run, job: &str, now: i64) -> Result<bool, Error> {
    // A prefix compare, not LIKE: job names may hold `_`, a LIKE wildcard.
    let statement = Statement::new(
        "SELECT COUNT(*) FROM slots
         WHERE holder IS NOT NULL AND lease_until >= $2
           AND substr(execution, 1, length($1) + 1) = $1 || '@'",
        format!("checking whether {job} runs"),
    )
    .bind(job)
    .bind(now);
    Ok(db.fetch_one::<(i64,)>(statement).await?.0 > 0)
}

pub(crate) async fn slots_in_use(db: &impl Run, capacity: u32, now: i64) -> Result<u32, Error> {
    let statement = Statement::new(
        "SELECT COUNT(*) FROM slots WHERE slot < $1 AND holder IS NOT NULL AND lease_until >= $2",
        "counting capacity slots in use",
    )
    .bind(capacity)
    .bind(now);
    let (n,): (i64,) = db.fetch_one(statement).await?;
    Ok(u32::try_from(n).unwrap_or(u32::MAX))
}

/// Runs `sql` (a `DELETE … WHERE key IN (SELECT … LIMIT $2)`) with `before`
/// and `batch` until a statement deletes less than a batch: each statement
/// holds its locks only for its own rows.
async fn delete_in_batches(
    db: &impl Run,
    sql: &'static str,
    before: i64,
    batch: u32,
    context: &str,
) -> Result<u64, Error> {
    let mut total = 0;
    loop {
        let statement = Statement::new(sql, context).bind(before).bind(batch);
        let deleted = db.execute(statement).await?;
        total += deleted;
        if deleted < u64::from(batch) {
            return Ok(total);
        }
    }
}

pub(crate) async fn prune(db: &impl Run, cutoffs: &Cutoffs, batch: u32) -> Result<Pruned, Error> {
    let context = "pruning what the retention no longer keeps";
    let finished = delete_in_batches(
        db,
        "DELETE FROM tasks WHERE id IN (
             SELECT id FROM tasks WHERE status IN ('finished', 'skipped') AND updated_at < $1 LIMIT $2)",
        cutoffs.finished_tasks,
        batch,
        context,
    )
    .await?;
    let dead = delete_in_batches(
        db,
        "DELETE FROM tasks WHERE id IN (
             SELECT id FROM tasks WHERE status = 'dead' AND updated_at < $1 LIMIT $2)",
        cutoffs.dead_tasks,
        batch,
        context,
    )
    .await?;
    // Only ended executions, and never a job's latest: a restart counts
    // the minutes it missed from there.
    let executions = delete_in_batches(
        db,
        "DELETE FROM executions WHERE (job, minute) IN (
             SELECT job, minute FROM executions e
             WHERE minute < $1 AND state NOT IN ('due', 'waiting', 'running')
               AND minute < (SELECT MAX(minute) FROM executions l WHERE l.job = e.job)
             LIMIT $2)",
        cutoffs.executions,
        batch,
        context,
    )
    .await?;
    let rate_windows = delete_in_batches(
        db,
        "DELETE FROM rate_windows WHERE (system, window_start) IN (
             SELECT system, window_start FROM rate_windows WHERE window_start < $1 LIMIT $2)",
        cutoffs.rate_windows,
        batch,
        context,
    )
    .await?;
    // The errors of tasks pruned above go with them.
    delete_in_batches(
        db,
        "DELETE FROM task_errors WHERE task_id IN (
             SELECT task_id FROM task_errors WHERE at < $1
               AND NOT EXISTS (SELECT 1 FROM tasks t WHERE t.id = task_errors.task_id)
             LIMIT $2)",
        cutoffs.finished_tasks.max(cutoffs.dead_tasks),
        batch,
        context,
    )
    .await?;
    Ok(Pruned {
        finished_tasks: finished,
        dead_tasks: dead,
        executions,
        rate_windows,
    })
}

pub(crate) async fn claim_chore(
    db: &impl Run,
    chore: &str,
    node: &str,
    now: i64,
    every: i64,
) -> Result<bool, Error> {
    // Under the row's lock a second node sees the first one's `last_at`
    // and its WHERE fails: one node a round.
    let statement = Statement::new(
        "INSERT INTO chores (chore, node, last_at) VALUES ($1, $2, $3)
         ON CONFLICT (chore) DO UPDATE SET node = excluded.node, last_at = excluded.last_at
         WHERE chores.last_at <= $4",
        format!("claiming the chore {chore}"),
    )
    .bind(chore)
    .bind(node)
    .bind(now)
    .bind(now - every);
    Ok(db.execute(statement).await? > 0)
}

pub(crate) async fn alerts(db: &impl Run) -> Result<Vec<Alert>, Error> {
    let statement = Statement::new(
        "SELECT condition, subject, message, since, fired_at, sent_at, cleared_at FROM alerts
         ORDER BY since, condition, subject",
        "reading the alerts",
    );
    let rows: Vec<AlertRow> = db.fetch(statement).await?;
    Ok(rows.into_iter().map(Alert::from_row).collect())
}

pub(crate) async fn put_alert(db: &impl Run, alert: &Alert) -> Result<(), Error> {
    let statement = Statement::new(
        "INSERT INTO alerts (condition, subject, message, since, fired_at, sent_at, cleared_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7)
         ON CONFLICT (condition, subject) DO UPDATE SET message = excluded.message,
             since = excluded.since, fired_at = excluded.fired_at, sent_at = excluded.sent_at,
             cleared_at = excluded.cleared_at",
        format!(
            "keeping the alert {} for {}",
            alert.condition, alert.subject
        ),
    )
    .bind(alert.condition.as_str())
    .bind(alert.subject.as_str())
    .bind(alert.message.as_str())
    .bind(millis(alert.since))
    .bind(alert.fired_at.map(millis))
    .bind(alert.sent_at.map(millis))
    .bind(alert.cleared_at.map(millis));
    db.execute(statement).await.map(drop)
}

pub(crate) async fn close_alert(
    db: &impl Run,
    condition: &str,
    subject: &str,
) -> Result<(), Error> {
    let statement = Statement::new(
        "DELETE FROM alerts WHERE condition = $1 AND subject = $2",
        format!("closing the alert {condition} for {subject}"),
    )
    .bind(condition)
    .bind(subject);
    db.execute(statement).await.map(drop)
}

pub(crate) async fn node_stopped(db: &impl Run, node: &str, now: i64) -> Result<(), Error> {
    let statement = Statement::new(
        "UPDATE nodes SET stopped_at = $2 WHERE node = $1",
        format!("recording that node {node} stopped"),
    )
    .bind(node)
    .bind(now);
    db.execute(statement).await.map(drop)
}

pub(crate) async fn nodes_lost(
    db: &impl Run,
    silent_since: i64,
    seen_since: i64,
) -> Result<Vec<(String, i64)>, Error> {
    let statement = Statement::new(
        "SELECT node, seen_at FROM nodes
         WHERE seen_at < $1 AND seen_at >= $2 AND stopped_at IS NULL ORDER BY node",
        "finding nodes that stopped beating",
    )
    .bind(silent_since)
    .bind(seen_since);
    db.fetch(statement).await
}

pub(crate) async fn last_successes(db: &impl Run) -> Result<Vec<(String, i64)>, Error> {
    let statement = Statement::new(
        "SELECT job, MAX(finished_at) FROM executions
         WHERE state = 'succeeded' AND finished_at IS NOT NULL GROUP BY job ORDER BY job",
        "finding each job's last success",
    );
    db.fetch(statement).await
}

pub(crate) async fn oldest_queued(db: &impl Run) -> Result<Vec<(String, i64)>, Error> {
    let statement = Statement::new(
        "SELECT integration, MIN(created_at) FROM tasks
         WHERE status IN ('new', 'failed', 'processing') GROUP BY integration ORDER BY integration",
        "finding each integration's oldest queued task",
    );
    db.fetch(statement).await
}

pub(crate) async fn row_counts(db: &impl Run) -> Result<RowCounts, Error> {
    let statement = Statement::new(
        "SELECT (SELECT COUNT(*) FROM tasks), (SELECT COUNT(*) FROM task_errors),
                (SELECT COUNT(*) FROM executions), (SELECT COUNT(*) FROM rate_windows)",
        "counting the store's rows",
    );
    let (tasks, task_errors, executions, rate_windows): (i64, i64, i64, i64) =
        db.fetch_one(statement).await?;
    let n = |v: i64| v.unsigned_abs();
    Ok(RowCounts {
        tasks: n(tasks),
        task_errors: n(task_errors),
        executions: n(executions),
        rate_windows: n(rate_windows),
    })
}

pub(crate) async fn fail(
    db: &impl Run,
    id: i64,
    owner: &str,
    failure: &Failure<'_>,
    now: i64,
) -> Result<Option<FailOutcome>, Error> {
    let &Failure {
        error,
        retry_after,
        policy,
    } = failure;
    let context = format!("failing task {id}");
    db.transaction(&context, async |tx| {
        let attempts: Vec<(i64,)> = tx
            .fetch(
                Statement::new(
                    "SELECT attempts FROM tasks WHERE id = $1 AND status = 'processing' AND lease_owner = $2",
                    &context,
                )
                .bind(id)
                .bind(owner),
            )
            .await?;
        let Some(&(attempts,)) = attempts.first() else {
            return Ok(None);
        };
        let outcome = policy.after_failure(
            u32::try_from(attempts).unwrap_or(u32::MAX),
            retry_after,
            millis_to_timestamp(now),
            id.unsigned_abs(),
        );
        let (status, next) = outcome.status_and_next_attempt(now);
        // A newer change of the same record may have been queued while this
        // one was out: a retry carries it instead, as if it had come after
        // the failure and replaced the pending payload (enqueue), so one
        // task per key stays pending. A task that died leaves it pending.
        let newer: Vec<(String,)> = if matches!(outcome, FailOutcome::RetryAt(_)) {
            tx.fetch(
                Statement::new(
                    "DELETE FROM tasks
                     WHERE status IN ('new', 'failed') AND id <> $1
                       AND integration = (SELECT integration FROM tasks WHERE id = $1)
                       AND dedup_key = (SELECT dedup_key FROM tasks WHERE id = $1)
                     RETURNING payload",
                    &context,
                )
                .bind(id),
            )
            .await?
        } else {
            Vec::new()
        };
        let newer = newer.first().map(|(payload,)| payload.as_str());
        tx.execute(
            Statement::new(
                "UPDATE tasks SET status = $1, next_attempt_at = $2, last_error = $3,
                     lease_owner = NULL, lease_until = NULL, updated_at = $4,
                     payload = COALESCE($6, payload),
                     batch_key = CASE WHEN $7 THEN NULL ELSE batch_key END
                 WHERE id = $5",
                &context,
            )
            .bind(status)
            .bind(next)
            .bind(error)
            .bind(now)
            .bind(id)
            .bind(newer)
            .bind(newer.is_some()),
        )
        .await?;
        tx.execute(
            Statement::new(
                "INSERT INTO task_errors (task_id, attempt, at, error) VALUES ($1, $2, $3, $4)",
                &context,
            )
            .bind(id)
            .bind(attempts)
            .bind(now)
            .bind(error),
        )
        .await?;
        Ok(Some(outcome))
    })
    .await
}

pub(crate) async fn reject(
    db: &impl Run,
    integration: &str,
    rejected: &Rejected<'_>,
    now: i64,
) -> Result<i64, Error> {
    let &Rejected { key, raw, reason } = rejected;
    let context = format!("recording a rejected {integration} record");
    db.transaction(&context, async |tx| {
        let ids: Vec<(i64,)> = tx
            .fetch(
                Statement::new(
                    "INSERT INTO tasks (integration, dedup_key, payload, status, next_attempt_at,
                                        last_error, created_at, updated_at)
                     VALUES ($1, $2, $3, 'dead', $4, $5, $4, $4) RETURNING id",
                    &context,
                )
                .bind(integration)
                .bind(key)
                .bind(raw)
                .bind(now)
                .bind(reason),
            )
            .await?;
        let Some(&(id,)) = ids.first() else {
            return Err(Error::database(context.as_str())(sqlx::Error::RowNotFound));
        };
        tx.execute(
            Statement::new(
                "INSERT INTO task_errors (task_id, attempt, at, error) VALUES ($1, 0, $2, $3)",
                &context,
            )
            .bind(id)
            .bind(now)
            .bind(reason),
        )
        .await?;
        Ok(id)
    })
    .await
}

pub(crate) async fn release_node(
    db: &impl Run,
    node: &str,
    now: i64,
) -> Result<Vec<(String, i64, String)>, Error> {
    let context = format!("freeing what node {node} held");
    db.transaction(&context, async |tx| {
        // Prefix compares, not LIKE: node names may hold `_`, a LIKE wildcard.
        tx.execute(
            Statement::new(
                "UPDATE slots SET holder = NULL, execution = NULL, lease_until = NULL
                 WHERE holder IS NOT NULL AND substr(holder, 1, length($1) + 1) = $1 || '/'",
                &context,
            )
            .bind(node),
        )
        .await?;
        tx.execute(
            Statement::new(
                "UPDATE tasks SET lease_until = $2 - 1
                 WHERE status IN ('new', 'failed', 'processing') AND status = 'processing'
                   AND substr(lease_owner, 1, length($1) + 1) = $1 || '/'",
                &context,
            )
            .bind(node)
            .bind(now),
        )
        .await?;
        let interrupted = tx
            .fetch(
                Statement::new(
                    "UPDATE executions SET state = 'interrupted', finished_at = $2,
                         error = 'its node (' || node || ') stopped while it was ' || state
                                 || ': its process is gone'
                     WHERE state IN ('due', 'waiting', 'running') AND node = $1
                     RETURNING job, minute, node",
                    &context,
                )
                .bind(node)
                .bind(now),
            )
            .await?;
        tx.execute(Statement::new("DELETE FROM nodes WHERE node = $1", &context).bind(node))
            .await?;
        Ok(interrupted)
    })
    .await
}

pub(crate) async fn renew_leases(db: &impl Run, lease: &LeaseMillis<'_>) -> Result<(), Error> {
    let &LeaseMillis {
        holder: node,
        from: now,
        until: lease_until,
    } = lease;
    let context = format!("renewing node {node}'s leases");
    db.transaction(&context, async |tx| {
        // Prefix compares, not LIKE: node names may hold `_`, a LIKE wildcard.
        tx.execute(
            Statement::new(
                "UPDATE slots SET lease_until = $2
                 WHERE holder IS NOT NULL AND substr(holder, 1, length($1) + 1) = $1 || '/'
                   AND lease_until >= $3",
                &context,
            )
            .bind(node)
            .bind(lease_until)
            .bind(now),
        )
        .await?;
        tx.execute(
            Statement::new(
                "UPDATE tasks SET lease_until = $2
                 WHERE status IN ('new', 'failed', 'processing') AND status = 'processing'
                   AND substr(lease_owner, 1, length($1) + 1) = $1 || '/'
                   AND lease_until >= $3",
                &context,
            )
            .bind(node)
            .bind(lease_until)
            .bind(now),
        )
        .await?;
        Ok(())
    })
    .await
}

/// Brings the schema to the newest of `backend`'s migrations, in one
/// transaction that starts with `first` (PostgreSQL: an advisory lock, so
/// nodes starting together migrate once).
pub(crate) async fn migrate(
    db: &impl Run,
    backend: schema::Backend,
    first: Option<&'static str>,
    context: &str,
) -> Result<(), Error> {
    let migrations = schema::migrations(backend);
    db.transaction(context, async |tx| {
        if let Some(first) = first {
            tx.execute(Statement::new(first, context)).await?;
        }
        tx.execute(Statement::new(
            "CREATE TABLE IF NOT EXISTS pacer_schema (version BIGINT NOT NULL)",
            context,
        ))
        .await?;
        let found: Vec<(i64,)> = tx
            .fetch(Statement::new(
                "SELECT COALESCE(MAX(version), 0) FROM pacer_schema",
                context,
            ))
            .await?;
        let found = found.first().map_or(0, |r| r.0);
        let supported = migrations.last().map_or(0, |m| m.0);
        if found > supported {
            return Err(Error::new(
                ErrorKind::NewerSchema { found, supported },
                context,
            ));
        }
        for (version, script) in migrations.iter().filter(|m| m.0 > found) {
            tx.execute_script(script, context).await?;
            tx.execute(
                Statement::new("INSERT INTO pacer_schema (version) VALUES ($1)", context)
                    .bind(*version),
            )
            .await?;
        }
        Ok(())
    })
    .await
}

/// Claims up to `limit` tasks of `integration` under `lease`: new ones,
/// failed ones due for a retry, and processing ones whose lease expired.
pub(crate) fn claim<'a>(
    integration: &'a str,
    limit: u32,
    lease: &LeaseMillis<'a>,
) -> Statement<'a> {
    Statement::new(
        "UPDATE tasks SET status = 'processing', lease_owner = $1, lease_until = $2,
             attempts = attempts + 1, updated_at = $3
         WHERE id IN (
             SELECT id FROM tasks
             -- The first condition lets the partial index tasks_live skip
             -- finished tasks: without it each claim reads them all.
             WHERE integration = $4 AND status IN ('new', 'failed', 'processing')
               AND ((status IN ('new', 'failed') AND next_attempt_at <= $3)
                    OR (status = 'processing' AND lease_until < $3))
             -- A bare `LIMIT $5` has SQLite prepare the statement again
             -- each time it is bound (a claim per batch); an expression not.
             ORDER BY id LIMIT CAST($5 AS BIGINT)
             FOR UPDATE SKIP LOCKED)
         RETURNING id, dedup_key, payload, attempts, batch_key",
        format!("claiming tasks of {integration}"),
    )
    .bind(lease.holder)
    .bind(lease.until)
    .bind(lease.from)
    .bind(integration)
    .bind(limit)
}

/// Takes the first free one of the request's slots (never held, or its
/// lease expired), if any.
pub(crate) fn take_slot_statement<'a>(request: &SlotRequest<'a>, context: &str) -> Statement<'a> {
    Statement::new(
        "UPDATE slots SET holder = $1, execution = $2, lease_until = $3
         WHERE slot = (SELECT slot FROM slots
                       WHERE slot < $4 AND (holder IS NULL OR lease_until < $5)
                       ORDER BY slot LIMIT 1
                       FOR UPDATE SKIP LOCKED)
         RETURNING slot",
        context,
    )
    .bind(request.lease.holder)
    .bind(request.execution)
    .bind(request.lease.until)
    .bind(request.capacity)
    .bind(request.lease.from)
}

/// [`take_slot_statement`] in a transaction that made sure the slots exist.
pub(crate) async fn take_slot(
    tx: &mut Tx<'_>,
    request: &SlotRequest<'_>,
) -> Result<Option<u32>, Error> {
    let context = format!("acquiring a capacity slot for {}", request.execution);
    let taken: Vec<(i64,)> = tx.fetch(take_slot_statement(request, &context)).await?;
    Ok(taken.first().map(|&(slot,)| slot as u32))
}

/// Claimed rows as tasks, by id (`RETURNING` keeps no order).
pub(crate) fn claimed(rows: Vec<ClaimedRow>) -> Vec<Claimed> {
    let mut tasks: Vec<Claimed> = rows.into_iter().map(Claimed::from_row).collect();
    tasks.sort_by_key(|t| t.id);
    tasks
}

pub(crate) async fn complete_many(
    db: &impl Run,
    ids: &[i64],
    owner: &str,
    now: i64,
) -> Result<u64, Error> {
    db.execute(complete_many_statement(ids, owner, now)).await
}

/// Marks the claimed tasks `ids` finished, those `owner` still holds, on a
/// store that keeps finished tasks.
pub(crate) fn complete_many_statement<'a>(
    ids: &'a [i64],
    owner: &'a str,
    now: i64,
) -> Statement<'a> {
    let context = format!("completing {} tasks", ids.len());
    Statement::new(
        "UPDATE tasks SET status = 'finished', lease_owner = NULL, lease_until = NULL, updated_at = $1
         WHERE id IN (SELECT value FROM elements($2)) AND status = 'processing' AND lease_owner = $3",
        context,
    )
    .bind(now)
    .bind(ids)
    .bind(owner)
}

pub(crate) async fn replay_dead(
    db: &impl Run,
    integration: &str,
    leave: &[i64],
    now: i64,
) -> Result<u64, Error> {
    let statement = Statement::new(
        "UPDATE tasks SET status = 'new', attempts = 0, next_attempt_at = $1, updated_at = $1, batch_key = NULL
         WHERE integration = $2 AND status = 'dead' AND attempts > 0
           AND id NOT IN (SELECT value FROM elements($3))
           AND id = (SELECT MAX(id) FROM tasks d
                     WHERE d.integration = tasks.integration AND d.dedup_key = tasks.dedup_key
                       AND d.status = 'dead')
           AND NOT EXISTS (SELECT 1 FROM tasks p
                           WHERE p.integration = tasks.integration AND p.dedup_key = tasks.dedup_key
                             AND p.status IN ('new', 'failed'))",
        format!("replaying dead tasks of {integration}"),
    )
    .bind(now)
    .bind(integration)
    .bind(leave);
    db.execute(statement).await
}

pub(crate) async fn set_batch_key(db: &impl Run, ids: &[i64], key: &str) -> Result<(), Error> {
    let statement = Statement::new(
        "UPDATE tasks SET batch_key = $2 WHERE id IN (SELECT value FROM elements($1))",
        format!("recording batch {key}"),
    )
    .bind(ids)
    .bind(key);
    db.execute(statement).await.map(drop)
}

pub(crate) async fn claim_batches(
    db: &impl Run,
    integration: &str,
    keys: &[String],
    lease: &LeaseMillis<'_>,
) -> Result<Vec<Claimed>, Error> {
    let statement = Statement::new(
        "UPDATE tasks SET status = 'processing', lease_owner = $1, lease_until = $2,
             attempts = attempts + 1, updated_at = $3
         WHERE integration = $4 AND batch_key IN (SELECT value FROM elements($5))
           AND batch_key IS NOT NULL AND status IN ('new', 'failed', 'processing')
           AND ((status IN ('new', 'failed') AND next_attempt_at <= $3)
                OR (status = 'processing' AND lease_until < $3))
         RETURNING id, dedup_key, payload, attempts, batch_key",
        format!("claiming the rest of {integration}'s batches"),
    )
    .bind(lease.holder)
    .bind(lease.until)
    .bind(lease.from)
    .bind(integration)
    .bind(keys);
    Ok(claimed(db.execute_returning(statement).await?))
}

/// Runs `insert` (a backend's statement queueing a batch of tasks: `$1`
/// the integration, `$2` now, then the values `rows` binds) and, in the
/// same transaction, moves the cursor: a crash never advances a cursor past
/// records not queued.
pub(crate) async fn enqueue<'a>(
    db: &impl Run,
    batch: &Batch<'a>,
    insert: &'static str,
    rows: impl FnOnce(Statement<'a>) -> Statement<'a>,
) -> Result<(), Error> {
    let &Batch {
        integration,
        tasks,
        cursor,
        now,
    } = batch;
    let context = format!("queueing {} tasks for {integration}", tasks.len());
    let boundary = cursor.map(|c| c.boundary.join(" "));
    let insert = rows(Statement::new(insert, &context).bind(integration).bind(now));
    db.transaction(&context, async |tx| {
        tx.execute(insert).await?;
        if let (Some(cursor), Some(boundary)) = (cursor, &boundary) {
            tx.execute(set_cursor(integration, cursor, boundary, now, &context))
                .await?;
        }
        Ok(())
    })
    .await
}

/// Moves `integration`'s cursor to `cursor`, whose boundary keys are
/// `boundary` joined by spaces.
pub(crate) fn set_cursor<'a>(
    integration: &'a str,
    cursor: &'a Cursor,
    boundary: &'a str,
    now: i64,
    context: &str,
) -> Statement<'a> {
    Statement::new(
        "INSERT INTO cursors (integration, value, boundary, updated_at) VALUES ($1, $2, $3, $4)
         ON CONFLICT (integration) DO UPDATE SET value = excluded.value,
             boundary = excluded.boundary, updated_at = excluded.updated_at",
        context,
    )
    .bind(integration)
    .bind(cursor.value.as_str())
    .bind(boundary)
    .bind(now)
}
