//! The scale-out backend: several nodes on one PostgreSQL database.
//!
//! Claims lock rows with `FOR UPDATE SKIP LOCKED`, so concurrent claimers
//! take different tasks instead of queueing behind each other; migrations
//! run under an advisory lock, so nodes starting together migrate once.

use std::str::FromStr;

use sqlx::{
    PgPool, Row,
    postgres::{PgConnectOptions, PgPoolOptions, PgRow},
};

use crate::{
    Error,
    error::ErrorKind,
    model::ExecutionChange,
    model::{
        Claimed, ClaimedRow, Execution, ExecutionQuery, ExecutionRow, FailOutcome, JobControl,
        NewTask, RetryPolicy, Task, TaskError, TaskErrorRow, TaskQuery, TaskStatus, granted,
        latest_per_key,
    },
};

const MIGRATIONS: &[(i64, &str)] = &[
    (
        1,
        "CREATE TABLE executions (
        job TEXT NOT NULL,
        minute BIGINT NOT NULL,
        state TEXT NOT NULL,
        due_at BIGINT NOT NULL,
        started_at BIGINT,
        finished_at BIGINT,
        items BIGINT NOT NULL DEFAULT 0,
        error TEXT,
        PRIMARY KEY (job, minute)
    );
    CREATE TABLE tasks (
        id BIGSERIAL PRIMARY KEY,
        integration TEXT NOT NULL,
        dedup_key TEXT NOT NULL,
        payload TEXT NOT NULL,
        status TEXT NOT NULL,
        attempts BIGINT NOT NULL DEFAULT 0,
        next_attempt_at BIGINT NOT NULL,
        lease_owner TEXT,
        lease_until BIGINT,
        last_error TEXT,
        created_at BIGINT NOT NULL,
        updated_at BIGINT NOT NULL
    );
    CREATE UNIQUE INDEX tasks_pending_key ON tasks (integration, dedup_key)
        WHERE status IN ('new', 'failed');
    CREATE INDEX tasks_claimable ON tasks (integration, status, next_attempt_at);
    CREATE TABLE cursors (
        integration TEXT PRIMARY KEY,
        value TEXT NOT NULL,
        updated_at BIGINT NOT NULL
    );",
    ),
    (
        2,
        "CREATE TABLE slots (
        slot BIGINT PRIMARY KEY,
        holder TEXT,
        execution TEXT,
        lease_until BIGINT
    );
    CREATE INDEX executions_by_age ON executions (minute);
    CREATE INDEX tasks_live ON tasks (integration, id)
        WHERE status IN ('new', 'failed', 'processing');
    CREATE INDEX tasks_by_age ON tasks (status, updated_at);",
    ),
    (
        3,
        "CREATE TABLE rate_windows (
        system TEXT NOT NULL,
        window_start BIGINT NOT NULL,
        used BIGINT NOT NULL,
        PRIMARY KEY (system, window_start)
    );
    CREATE TABLE job_controls (
        job TEXT PRIMARY KEY,
        paused BOOLEAN NOT NULL DEFAULT FALSE,
        triggered_at BIGINT
    );",
    ),
    (
        4,
        "CREATE TABLE task_errors (
        task_id BIGINT NOT NULL,
        attempt BIGINT NOT NULL,
        at BIGINT NOT NULL,
        error TEXT NOT NULL
    );
    CREATE INDEX task_errors_by_task ON task_errors (task_id, attempt);
    CREATE INDEX task_errors_by_age ON task_errors (at);
    CREATE TABLE nodes (
        node TEXT PRIMARY KEY,
        seen_at BIGINT NOT NULL
    );",
    ),
    (
        5,
        // Every index over all tasks is written on each change of status —
        // three per task — so the ones no claim needs go. Finished tasks
        // (prunes, counts) and dead or skipped ones (counts) get partial
        // indexes, written once per task when it ends.
        "DROP INDEX tasks_claimable;
    DROP INDEX tasks_by_age;
    CREATE INDEX tasks_finished ON tasks (integration, updated_at) WHERE status = 'finished';
    CREATE INDEX tasks_ended ON tasks (integration, status) WHERE status IN ('dead', 'skipped');",
    ),
    (
        6,
        // The node an execution waits or runs on: when it stops beating,
        // a live node marks what it left behind `interrupted`.
        "ALTER TABLE executions ADD COLUMN node TEXT;
    CREATE INDEX executions_open ON executions (minute)
        WHERE state IN ('due', 'waiting', 'running');",
    ),
    (
        7,
        // The Idempotency-Key a task was sent under in a batch: after a
        // crash the same tasks go again, together, under the same key.
        "ALTER TABLE tasks ADD COLUMN batch_key TEXT;
    CREATE INDEX tasks_by_batch ON tasks (integration, batch_key)
        WHERE batch_key IS NOT NULL AND status IN ('new', 'failed', 'processing');",
    ),
    (
        8,
        // Where a node's process runs: a node restarted on the same machine
        // finds its dead predecessor's rows and frees them at once.
        "ALTER TABLE nodes ADD COLUMN machine TEXT, ADD COLUMN pid BIGINT;",
    ),
];

pub(crate) struct Postgres {
    pool: PgPool,
}

fn task(row: &PgRow) -> Task {
    Task {
        id: row.get("id"),
        integration: row.get("integration"),
        key: row.get("dedup_key"),
        payload: row.get("payload"),
        status: TaskStatus::parse(row.get("status")),
        attempts: row.get::<i64, _>("attempts") as u32,
        last_error: row.get("last_error"),
        next_attempt_at: row.get("next_attempt_at"),
        created_at: row.get("created_at"),
        updated_at: row.get("updated_at"),
    }
}

impl Postgres {
    pub(crate) async fn open(url: &str, schema: Option<&str>) -> Result<Postgres, Error> {
        let context = "opening the PostgreSQL store";
        let mut options = PgConnectOptions::from_str(url).map_err(Error::database(context))?;
        if let Some(schema) = schema {
            options = options.options([("search_path", schema)]);
        }
        let pool = PgPoolOptions::new()
            .max_connections(8)
            .connect_with(options)
            .await
            .map_err(Error::database(context))?;
        let store = Postgres { pool };
        store.migrate().await?;
        Ok(store)
    }

    async fn migrate(&self) -> Result<(), Error> {
        let context = "migrating the PostgreSQL store";
        let mut tx = self.pool.begin().await.map_err(Error::database(context))?;
        // Any constant: nodes starting together take turns.
        sqlx::query("SELECT pg_advisory_xact_lock(7061636572)")
            .execute(&mut *tx)
            .await
            .map_err(Error::database(context))?;
        sqlx::query("CREATE TABLE IF NOT EXISTS pacer_schema (version BIGINT NOT NULL)")
            .execute(&mut *tx)
            .await
            .map_err(Error::database(context))?;
        let found: i64 = sqlx::query_scalar("SELECT COALESCE(MAX(version), 0) FROM pacer_schema")
            .fetch_one(&mut *tx)
            .await
            .map_err(Error::database(context))?;
        let supported = MIGRATIONS.last().map_or(0, |m| m.0);
        if found > supported {
            return Err(Error::new(
                ErrorKind::NewerSchema { found, supported },
                context,
            ));
        }
        for &(version, sql) in MIGRATIONS.iter().filter(|m| m.0 > found) {
            sqlx::raw_sql(sql)
                .execute(&mut *tx)
                .await
                .map_err(Error::database(context))?;
            sqlx::query("INSERT INTO pacer_schema (version) VALUES ($1)")
                .bind(version)
                .execute(&mut *tx)
                .await
                .map_err(Error::database(context))?;
        }
        tx.commit().await.map_err(Error::database(context))
    }

    pub(crate) async fn record_due(
        &self,
        job: &str,
        minute: i64,
        node: &str,
        now: i64,
    ) -> Result<bool, Error> {
        let done = sqlx::query(
            "INSERT INTO executions (job, minute, state, due_at, node)
             VALUES ($1, $2, 'due', $3, $4)
             ON CONFLICT (job, minute) DO NOTHING",
        )
        .bind(job)
        .bind(minute)
        .bind(now)
        .bind(node)
        .execute(&self.pool)
        .await
        .map_err(Error::database(format!("recording {job} due at {minute}")))?;
        Ok(done.rows_affected() == 1)
    }

    pub(crate) async fn set_execution(
        &self,
        job: &str,
        minute: i64,
        change: ExecutionChange<'_>,
    ) -> Result<(), Error> {
        let ExecutionChange {
            state,
            node,
            at: now,
            items,
            error,
        } = change;
        sqlx::query(
            "UPDATE executions SET state = $1,
                started_at = CASE WHEN $2::text = 'running' THEN $3 ELSE started_at END,
                finished_at = CASE WHEN $4::text IN ('succeeded', 'failed', 'skipped', 'missed', 'interrupted') THEN $5 ELSE finished_at END,
                items = $6, error = $7,
                node = CASE WHEN $1::text IN ('waiting', 'running') THEN $10 ELSE node END
             WHERE job = $8 AND minute = $9",
        )
        .bind(state.as_str())
        .bind(state.as_str())
        .bind(now)
        .bind(state.as_str())
        .bind(now)
        .bind(items as i64)
        .bind(error)
        .bind(job)
        .bind(minute)
        .bind(node)
        .execute(&self.pool)
        .await
        .map_err(Error::database(format!("updating {job} at {minute}")))?;
        Ok(())
    }

    pub(crate) async fn execution_state(
        &self,
        job: &str,
        minute: i64,
    ) -> Result<Option<String>, Error> {
        sqlx::query_scalar("SELECT state FROM executions WHERE job = $1 AND minute = $2")
            .bind(job)
            .bind(minute)
            .fetch_optional(&self.pool)
            .await
            .map_err(Error::database(format!("reading {job} at {minute}")))
    }

    pub(crate) async fn enqueue(
        &self,
        integration: &str,
        tasks: &[NewTask],
        cursor: Option<&str>,
        now: i64,
    ) -> Result<(), Error> {
        let context = format!("queueing {} tasks for {integration}", tasks.len());
        let mut tx = self.pool.begin().await.map_err(Error::database(&context))?;
        // One statement for the whole batch: keys and payloads as two arrays.
        let (keys, payloads): (Vec<&str>, Vec<&str>) = latest_per_key(tasks).into_iter().unzip();
        sqlx::query(
            "INSERT INTO tasks (integration, dedup_key, payload, status, attempts, next_attempt_at, created_at, updated_at)
             SELECT $1, k, p, 'new', 0, $2, $2, $2 FROM UNNEST($3::text[], $4::text[]) AS batch (k, p)
             ON CONFLICT (integration, dedup_key) WHERE status IN ('new', 'failed')
             DO UPDATE SET payload = excluded.payload, updated_at = excluded.updated_at, batch_key = NULL",
        )
        .bind(integration)
        .bind(now)
        .bind(keys)
        .bind(payloads)
        .execute(&mut *tx)
        .await
        .map_err(Error::database(&context))?;
        if let Some(value) = cursor {
            sqlx::query(
                "INSERT INTO cursors (integration, value, updated_at) VALUES ($1, $2, $3)
                 ON CONFLICT (integration) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
            )
            .bind(integration)
            .bind(value)
            .bind(now)
            .execute(&mut *tx)
            .await
            .map_err(Error::database(&context))?;
        }
        tx.commit().await.map_err(Error::database(&context))
    }

    /// Completes `done` (when any) and claims the next tasks in one
    /// transaction: a push loop pays one durable commit per batch, not two.
    pub(crate) async fn claim(
        &self,
        done: &[i64],
        integration: &str,
        limit: u32,
        owner: &str,
        lease_until: i64,
        now: i64,
    ) -> Result<(u64, Vec<Claimed>), Error> {
        let context = format!("claiming tasks of {integration}");
        let mut tx = self.pool.begin().await.map_err(Error::database(&context))?;
        let completed = if done.is_empty() {
            0
        } else {
            sqlx::query(
                "UPDATE tasks SET status = 'finished', lease_owner = NULL, lease_until = NULL, updated_at = $1
                 WHERE id = ANY($2) AND status = 'processing' AND lease_owner = $3",
            )
            .bind(now)
            .bind(done)
            .bind(owner)
            .execute(&mut *tx)
            .await
            .map_err(Error::database(&context))?
            .rows_affected()
        };
        let rows: Vec<ClaimedRow> = sqlx::query_as(
            "UPDATE tasks SET status = 'processing', lease_owner = $1, lease_until = $2,
                 attempts = attempts + 1, updated_at = $3
             WHERE id IN (
                 SELECT id FROM tasks
                 -- The first condition lets the partial index tasks_live skip
                 -- finished tasks: without it each claim reads them all.
                 WHERE integration = $4 AND status IN ('new', 'failed', 'processing')
                   AND ((status IN ('new', 'failed') AND next_attempt_at <= $5)
                        OR (status = 'processing' AND lease_until < $6))
                 ORDER BY id LIMIT $7
                 FOR UPDATE SKIP LOCKED)
             RETURNING id, dedup_key, payload, attempts, batch_key",
        )
        .bind(owner)
        .bind(lease_until)
        .bind(now)
        .bind(integration)
        .bind(now)
        .bind(now)
        .bind(i64::from(limit))
        .fetch_all(&mut *tx)
        .await
        .map_err(Error::database(&context))?;
        tx.commit().await.map_err(Error::database(&context))?;
        let mut tasks: Vec<Claimed> = rows.into_iter().map(Claimed::from_row).collect();
        tasks.sort_by_key(|t| t.id);
        Ok((completed, tasks))
    }

    pub(crate) async fn complete(&self, id: i64, owner: &str, now: i64) -> Result<bool, Error> {
        let done = sqlx::query(
            "UPDATE tasks SET status = 'finished', lease_owner = NULL, lease_until = NULL, updated_at = $1
             WHERE id = $2 AND status = 'processing' AND lease_owner = $3",
        )
        .bind(now)
        .bind(id)
        .bind(owner)
        .execute(&self.pool)
        .await
        .map_err(Error::database(format!("completing task {id}")))?;
        Ok(done.rows_affected() == 1)
    }

    pub(crate) async fn fail(
        &self,
        id: i64,
        owner: &str,
        error: &str,
        retry_after: Option<i64>,
        policy: &RetryPolicy,
        now: i64,
    ) -> Result<Option<FailOutcome>, Error> {
        let context = format!("failing task {id}");
        let mut tx = self.pool.begin().await.map_err(Error::database(&context))?;
        let attempts: Option<i64> =
            sqlx::query_scalar("SELECT attempts FROM tasks WHERE id = $1 AND status = 'processing' AND lease_owner = $2")
                .bind(id)
                .bind(owner)
                .fetch_optional(&mut *tx)
                .await
                .map_err(Error::database(&context))?;
        let Some(attempts) = attempts else {
            return Ok(None);
        };
        let outcome = policy.after_failure(attempts as u32, retry_after, now, id as u64);
        let (status, next) = outcome.status_and_next_attempt(now);
        sqlx::query(
            "UPDATE tasks SET status = $1, next_attempt_at = $2, last_error = $3, lease_owner = NULL,
                 lease_until = NULL, updated_at = $4
             WHERE id = $5",
        )
        .bind(status)
        .bind(next)
        .bind(error)
        .bind(now)
        .bind(id)
        .execute(&mut *tx)
        .await
        .map_err(Error::database(&context))?;
        sqlx::query(
            "INSERT INTO task_errors (task_id, attempt, at, error) VALUES ($1, $2, $3, $4)",
        )
        .bind(id)
        .bind(attempts)
        .bind(now)
        .bind(error)
        .execute(&mut *tx)
        .await
        .map_err(Error::database(&context))?;
        tx.commit().await.map_err(Error::database(&context))?;
        Ok(Some(outcome))
    }

    pub(crate) async fn replay_dead(
        &self,
        integration: &str,
        leave: &[i64],
        now: i64,
    ) -> Result<u64, Error> {
        let done = sqlx::query(
            "UPDATE tasks SET status = 'new', attempts = 0, next_attempt_at = $1, updated_at = $2, batch_key = NULL
             WHERE integration = $3 AND status = 'dead' AND attempts > 0
               AND NOT (id = ANY($4))
               AND id = (SELECT MAX(id) FROM tasks d
                         WHERE d.integration = tasks.integration AND d.dedup_key = tasks.dedup_key
                           AND d.status = 'dead')
               AND NOT EXISTS (SELECT 1 FROM tasks p
                               WHERE p.integration = tasks.integration AND p.dedup_key = tasks.dedup_key
                                 AND p.status IN ('new', 'failed'))",
        )
        .bind(now)
        .bind(now)
        .bind(integration)
        .bind(leave)
        .execute(&self.pool)
        .await
        .map_err(Error::database(format!("replaying dead tasks of {integration}")))?;
        Ok(done.rows_affected())
    }

    pub(crate) async fn cursor(&self, integration: &str) -> Result<Option<String>, Error> {
        sqlx::query_scalar("SELECT value FROM cursors WHERE integration = $1")
            .bind(integration)
            .fetch_optional(&self.pool)
            .await
            .map_err(Error::database(format!(
                "reading the cursor of {integration}"
            )))
    }

    pub(crate) async fn task(&self, id: i64) -> Result<Option<Task>, Error> {
        let row = sqlx::query(
            "SELECT id, integration, dedup_key, payload, status, attempts, last_error, next_attempt_at, created_at, updated_at FROM tasks WHERE id = $1",
        )
        .bind(id)
        .fetch_optional(&self.pool)
        .await
        .map_err(Error::database(format!("reading task {id}")))?;
        Ok(row.as_ref().map(task))
    }

    pub(crate) async fn count(&self, integration: &str, status: TaskStatus) -> Result<u64, Error> {
        let n: i64 =
            sqlx::query_scalar("SELECT COUNT(*) FROM tasks WHERE integration = $1 AND status = $2")
                .bind(integration)
                .bind(status.as_str())
                .fetch_one(&self.pool)
                .await
                .map_err(Error::database(format!("counting tasks of {integration}")))?;
        Ok(n as u64)
    }
    pub(crate) async fn complete_many(
        &self,
        ids: &[i64],
        owner: &str,
        now: i64,
    ) -> Result<u64, Error> {
        let done = sqlx::query(
            "UPDATE tasks SET status = 'finished', lease_owner = NULL, lease_until = NULL, updated_at = $1
             WHERE id = ANY($2) AND status = 'processing' AND lease_owner = $3",
        )
        .bind(now)
        .bind(ids)
        .bind(owner)
        .execute(&self.pool)
        .await
        .map_err(Error::database(format!("completing {} tasks", ids.len())))?;
        Ok(done.rows_affected())
    }

    pub(crate) async fn skip(&self, id: i64, now: i64) -> Result<bool, Error> {
        let done = sqlx::query(
            "UPDATE tasks SET status = 'skipped', lease_owner = NULL, lease_until = NULL, updated_at = $1
             WHERE id = $2 AND status IN ('new', 'failed', 'dead')",
        )
        .bind(now)
        .bind(id)
        .execute(&self.pool)
        .await
        .map_err(Error::database(format!("skipping task {id}")))?;
        Ok(done.rows_affected() == 1)
    }

    pub(crate) async fn replay(&self, id: i64, now: i64) -> Result<bool, Error> {
        let done = sqlx::query(
            "UPDATE tasks SET status = 'new', attempts = 0, next_attempt_at = $1, updated_at = $2, batch_key = NULL
             WHERE id = $3 AND status IN ('dead', 'skipped', 'failed')
               AND NOT EXISTS (SELECT 1 FROM tasks p
                               WHERE p.integration = tasks.integration AND p.dedup_key = tasks.dedup_key
                                 AND p.status IN ('new', 'failed') AND p.id <> tasks.id)",
        )
        .bind(now)
        .bind(now)
        .bind(id)
        .execute(&self.pool)
        .await
        .map_err(Error::database(format!("replaying task {id}")))?;
        Ok(done.rows_affected() == 1)
    }

    pub(crate) async fn executions(&self, since: i64, limit: u32) -> Result<Vec<Execution>, Error> {
        let rows: Vec<ExecutionRow> = sqlx::query_as(
            "SELECT job, minute, state, due_at, started_at, finished_at, items, error
             FROM executions WHERE minute >= $1 ORDER BY minute, job LIMIT $2",
        )
        .bind(since)
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await
        .map_err(Error::database("reading executions"))?;
        Ok(rows.into_iter().map(Execution::from_row).collect())
    }

    pub(crate) async fn last_due(&self, job: &str) -> Result<Option<i64>, Error> {
        sqlx::query_scalar("SELECT MAX(minute) FROM executions WHERE job = $1")
            .bind(job)
            .fetch_one(&self.pool)
            .await
            .map_err(Error::database(format!("reading {job}'s last execution")))
    }

    pub(crate) async fn take_rate(
        &self,
        system: &str,
        window_start: i64,
        want: u32,
        limit: u32,
    ) -> Result<u32, Error> {
        let context = format!("taking {want} from {system}'s rate limit");
        let mut tx = self.pool.begin().await.map_err(Error::database(&context))?;
        sqlx::query("DELETE FROM rate_windows WHERE system = $1 AND window_start < $2")
            .bind(system)
            .bind(window_start - 3_600_000)
            .execute(&mut *tx)
            .await
            .map_err(Error::database(&context))?;
        // The row lock makes nodes taking from one window wait for each other.
        let used: i64 = sqlx::query_scalar(
            "INSERT INTO rate_windows (system, window_start, used) VALUES ($1, $2, 0)
             ON CONFLICT (system, window_start) DO UPDATE SET used = rate_windows.used
             RETURNING used",
        )
        .bind(system)
        .bind(window_start)
        .fetch_one(&mut *tx)
        .await
        .map_err(Error::database(&context))?;
        let granted = granted(used, want, limit);
        sqlx::query(
            "UPDATE rate_windows SET used = used + $1 WHERE system = $2 AND window_start = $3",
        )
        .bind(i64::from(granted))
        .bind(system)
        .bind(window_start)
        .execute(&mut *tx)
        .await
        .map_err(Error::database(&context))?;
        tx.commit().await.map_err(Error::database(&context))?;
        Ok(granted)
    }

    pub(crate) async fn set_batch_key(&self, ids: &[i64], key: &str) -> Result<(), Error> {
        sqlx::query("UPDATE tasks SET batch_key = $2 WHERE id = ANY($1)")
            .bind(ids)
            .bind(key)
            .execute(&self.pool)
            .await
            .map_err(Error::database(format!("recording batch {key}")))?;
        Ok(())
    }

    pub(crate) async fn claim_batches(
        &self,
        integration: &str,
        keys: &[String],
        owner: &str,
        lease_until: i64,
        now: i64,
    ) -> Result<Vec<Claimed>, Error> {
        let rows: Vec<ClaimedRow> = sqlx::query_as(
            "UPDATE tasks SET status = 'processing', lease_owner = $1, lease_until = $2,
                 attempts = attempts + 1, updated_at = $3
             WHERE integration = $4 AND batch_key = ANY($5)
               AND batch_key IS NOT NULL AND status IN ('new', 'failed', 'processing')
               AND ((status IN ('new', 'failed') AND next_attempt_at <= $3)
                    OR (status = 'processing' AND lease_until < $3))
             RETURNING id, dedup_key, payload, attempts, batch_key",
        )
        .bind(owner)
        .bind(lease_until)
        .bind(now)
        .bind(integration)
        .bind(keys)
        .fetch_all(&self.pool)
        .await
        .map_err(Error::database(format!(
            "claiming the rest of {integration}'s batches"
        )))?;
        let mut tasks: Vec<Claimed> = rows.into_iter().map(Claimed::from_row).collect();
        tasks.sort_by_key(|t| t.id);
        Ok(tasks)
    }

    pub(crate) async fn give_back_rate(
        &self,
        system: &str,
        window_start: i64,
        unused: u32,
    ) -> Result<(), Error> {
        sqlx::query(
            "UPDATE rate_windows SET used = GREATEST(0, used - $3) WHERE system = $1 AND window_start = $2",
        )
        .bind(system)
        .bind(window_start)
        .bind(i64::from(unused))
        .execute(&self.pool)
        .await
        .map_err(Error::database(format!("giving {unused} back to {system}'s rate limit")))?;
        Ok(())
    }

    pub(crate) async fn has_work(&self, integration: &str, now: i64) -> Result<bool, Error> {
        sqlx::query_scalar(
            "SELECT EXISTS (SELECT 1 FROM tasks
                 WHERE integration = $1 AND status IN ('new', 'failed', 'processing')
                   AND ((status IN ('new', 'failed') AND next_attempt_at <= $2)
                        OR (status = 'processing' AND lease_until < $2)))",
        )
        .bind(integration)
        .bind(now)
        .fetch_one(&self.pool)
        .await
        .map_err(Error::database(format!(
            "looking for tasks of {integration} to deliver"
        )))
    }

    pub(crate) async fn set_paused(&self, job: &str, paused: bool) -> Result<(), Error> {
        sqlx::query(
            "INSERT INTO job_controls (job, paused) VALUES ($1, $2)
             ON CONFLICT (job) DO UPDATE SET paused = excluded.paused",
        )
        .bind(job)
        .bind(paused)
        .execute(&self.pool)
        .await
        .map_err(Error::database(format!("pausing or resuming {job}")))
        .map(drop)
    }

    pub(crate) async fn trigger(&self, job: &str, now: i64) -> Result<(), Error> {
        sqlx::query(
            "INSERT INTO job_controls (job, triggered_at) VALUES ($1, $2)
             ON CONFLICT (job) DO UPDATE SET triggered_at = excluded.triggered_at",
        )
        .bind(job)
        .bind(now)
        .execute(&self.pool)
        .await
        .map_err(Error::database(format!("triggering {job}")))
        .map(drop)
    }

    pub(crate) async fn take_trigger(&self, job: &str) -> Result<bool, Error> {
        let done = sqlx::query(
            "UPDATE job_controls SET triggered_at = NULL WHERE job = $1 AND triggered_at IS NOT NULL",
        )
        .bind(job)
        .execute(&self.pool)
        .await
        .map_err(Error::database(format!("taking {job}'s trigger")))?;
        Ok(done.rows_affected() == 1)
    }

    pub(crate) async fn job_controls(&self) -> Result<Vec<JobControl>, Error> {
        let rows: Vec<(String, bool, Option<i64>)> =
            sqlx::query_as("SELECT job, paused, triggered_at FROM job_controls ORDER BY job")
                .fetch_all(&self.pool)
                .await
                .map_err(Error::database("reading job controls"))?;
        Ok(rows.into_iter().map(JobControl::from_row).collect())
    }

    pub(crate) async fn reject(
        &self,
        integration: &str,
        key: &str,
        raw: &str,
        reason: &str,
        now: i64,
    ) -> Result<i64, Error> {
        sqlx::query_scalar(
            "WITH rejected AS (
                 INSERT INTO tasks (integration, dedup_key, payload, status, next_attempt_at,
                                    last_error, created_at, updated_at)
                 VALUES ($1, $2, $3, 'dead', $4, $5, $4, $4) RETURNING id)
             INSERT INTO task_errors (task_id, attempt, at, error)
             SELECT id, 0, $4, $5 FROM rejected RETURNING task_id",
        )
        .bind(integration)
        .bind(key)
        .bind(raw)
        .bind(now)
        .bind(reason)
        .fetch_one(&self.pool)
        .await
        .map_err(Error::database(format!(
            "recording a rejected {integration} record"
        )))
    }

    pub(crate) async fn tasks(&self, query: &TaskQuery) -> Result<Vec<Task>, Error> {
        let rows = sqlx::query(
            "SELECT id, integration, dedup_key, payload, status, attempts, last_error,
                    next_attempt_at, created_at, updated_at
             FROM tasks
             WHERE ($1::text IS NULL OR integration = $1)
               AND ($2::text IS NULL OR status = $2)
               AND ($3::bigint IS NULL OR id < $3)
             ORDER BY id DESC LIMIT $4",
        )
        .bind(query.integration.as_deref())
        .bind(query.status.map(TaskStatus::as_str))
        .bind(query.before)
        .bind(i64::from(query.limit))
        .fetch_all(&self.pool)
        .await
        .map_err(Error::database("listing tasks"))?;
        Ok(rows.iter().map(task).collect())
    }

    pub(crate) async fn queued_times(&self, integration: &str) -> Result<Vec<i64>, Error> {
        sqlx::query_scalar(
            "SELECT created_at FROM tasks WHERE integration = $1 ORDER BY created_at",
        )
        .bind(integration)
        .fetch_all(&self.pool)
        .await
        .map_err(Error::database(format!(
            "reading when the tasks of {integration} were queued"
        )))
    }

    pub(crate) async fn task_counts(&self) -> Result<Vec<(String, TaskStatus, u64)>, Error> {
        let rows: Vec<(String, String, i64)> = sqlx::query_as(
            // One part per partial index, so no part reads the whole table;
            // together they cover every status (TaskStatus::ALL).
            "SELECT integration, status, COUNT(*) FROM tasks
             WHERE status IN ('new', 'failed', 'processing') GROUP BY integration, status
             UNION ALL
             SELECT integration, status, COUNT(*) FROM tasks
             WHERE status = 'finished' GROUP BY integration, status
             UNION ALL
             SELECT integration, status, COUNT(*) FROM tasks
             WHERE status IN ('dead', 'skipped') GROUP BY integration, status
             ORDER BY 1, 2",
        )
        .fetch_all(&self.pool)
        .await
        .map_err(Error::database("counting tasks"))?;
        Ok(rows
            .into_iter()
            .map(|(integration, status, n)| (integration, TaskStatus::parse(&status), n as u64))
            .collect())
    }

    pub(crate) async fn task_errors(&self, task: i64) -> Result<Vec<TaskError>, Error> {
        let rows: Vec<TaskErrorRow> = sqlx::query_as(
            "SELECT e.task_id, t.integration, e.attempt, e.at, e.error
             FROM task_errors e JOIN tasks t ON t.id = e.task_id
             WHERE e.task_id = $1 ORDER BY e.at, e.attempt",
        )
        .bind(task)
        .fetch_all(&self.pool)
        .await
        .map_err(Error::database(format!("reading task {task}'s errors")))?;
        Ok(rows.into_iter().map(TaskError::from_row).collect())
    }

    pub(crate) async fn recent_errors(&self, limit: u32) -> Result<Vec<TaskError>, Error> {
        let rows: Vec<TaskErrorRow> = sqlx::query_as(
            "SELECT e.task_id, t.integration, e.attempt, e.at, e.error
             FROM task_errors e JOIN tasks t ON t.id = e.task_id
             ORDER BY e.at DESC, e.task_id DESC LIMIT $1",
        )
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await
        .map_err(Error::database("reading the latest errors"))?;
        Ok(rows.into_iter().map(TaskError::from_row).collect())
    }

    pub(crate) async fn history(&self, query: &ExecutionQuery) -> Result<Vec<Execution>, Error> {
        let rows: Vec<ExecutionRow> = sqlx::query_as(
            "SELECT job, minute, state, due_at, started_at, finished_at, items, error
             FROM executions
             WHERE minute >= $1
               AND ($2::text IS NULL OR job = $2)
               AND ($3::text IS NULL OR state = $3)
             ORDER BY minute DESC, job LIMIT $4",
        )
        .bind(query.since)
        .bind(query.job.as_deref())
        .bind(query.state.as_deref())
        .bind(i64::from(query.limit))
        .fetch_all(&self.pool)
        .await
        .map_err(Error::database("reading the execution history"))?;
        Ok(rows.into_iter().map(Execution::from_row).collect())
    }

    pub(crate) async fn heartbeat(&self, node: &str, now: i64) -> Result<(), Error> {
        sqlx::query("INSERT INTO nodes (node, seen_at) VALUES ($1, $2) ON CONFLICT (node) DO UPDATE SET seen_at = GREATEST(nodes.seen_at, excluded.seen_at)")
            .bind(node)
            .bind(now)
            .execute(&self.pool)
            .await
            .map_err(Error::database(format!("recording node {node}'s heartbeat")))?;
        Ok(())
    }

    pub(crate) async fn register_node(
        &self,
        node: &str,
        machine: &str,
        pid: u32,
        now: i64,
    ) -> Result<(), Error> {
        sqlx::query(
            "INSERT INTO nodes (node, seen_at, machine, pid) VALUES ($1, $2, $3, $4)
             ON CONFLICT (node) DO UPDATE SET seen_at = GREATEST(nodes.seen_at, excluded.seen_at),
                 machine = excluded.machine, pid = excluded.pid",
        )
        .bind(node)
        .bind(now)
        .bind(machine)
        .bind(i64::from(pid))
        .execute(&self.pool)
        .await
        .map_err(Error::database(format!("registering node {node}")))?;
        Ok(())
    }

    pub(crate) async fn nodes_on(&self, machine: &str) -> Result<Vec<(String, u32)>, Error> {
        let rows: Vec<(String, i64)> =
            sqlx::query_as("SELECT node, pid FROM nodes WHERE machine = $1 ORDER BY node")
                .bind(machine)
                .fetch_all(&self.pool)
                .await
                .map_err(Error::database(format!("reading the nodes on {machine}")))?;
        Ok(rows
            .into_iter()
            .filter_map(|(node, pid)| Some((node, u32::try_from(pid).ok()?)))
            .collect())
    }

    pub(crate) async fn release_node(
        &self,
        node: &str,
        now: i64,
    ) -> Result<Vec<(String, i64, String)>, Error> {
        let context = format!("freeing what node {node} held");
        let mut tx = self.pool.begin().await.map_err(Error::database(&context))?;
        sqlx::query(
            "UPDATE slots SET holder = NULL, execution = NULL, lease_until = NULL
             WHERE holder IS NOT NULL AND left(holder, length($1) + 1) = $1 || '/'",
        )
        .bind(node)
        .execute(&mut *tx)
        .await
        .map_err(Error::database(&context))?;
        sqlx::query(
            "UPDATE tasks SET lease_until = $2 - 1
             WHERE status IN ('new', 'failed', 'processing') AND status = 'processing'
               AND left(lease_owner, length($1) + 1) = $1 || '/'",
        )
        .bind(node)
        .bind(now)
        .execute(&mut *tx)
        .await
        .map_err(Error::database(&context))?;
        let interrupted = sqlx::query_as(
            "UPDATE executions SET state = 'interrupted', finished_at = $2,
                 error = 'its node (' || node || ') stopped while it was ' || state
                         || ': its process is gone'
             WHERE state IN ('due', 'waiting', 'running') AND node = $1
             RETURNING job, minute, node",
        )
        .bind(node)
        .bind(now)
        .fetch_all(&mut *tx)
        .await
        .map_err(Error::database(&context))?;
        sqlx::query("DELETE FROM nodes WHERE node = $1")
            .bind(node)
            .execute(&mut *tx)
            .await
            .map_err(Error::database(&context))?;
        tx.commit().await.map_err(Error::database(&context))?;
        Ok(interrupted)
    }

    pub(crate) async fn renew_leases(
        &self,
        node: &str,
        lease_until: i64,
        now: i64,
    ) -> Result<(), Error> {
        let context = format!("renewing node {node}'s leases");
        let mut tx = self.pool.begin().await.map_err(Error::database(&context))?;
        // Prefix compares, not LIKE: node names may hold `_`, a LIKE wildcard.
        sqlx::query(
            "UPDATE slots SET lease_until = $2
             WHERE holder IS NOT NULL AND left(holder, length($1) + 1) = $1 || '/'
               AND lease_until >= $3",
        )
        .bind(node)
        .bind(lease_until)
        .bind(now)
        .execute(&mut *tx)
        .await
        .map_err(Error::database(&context))?;
        sqlx::query(
            "UPDATE tasks SET lease_until = $2
             WHERE status IN ('new', 'failed', 'processing') AND status = 'processing'
               AND left(lease_owner, length($1) + 1) = $1 || '/'
               AND lease_until >= $3",
        )
        .bind(node)
        .bind(lease_until)
        .bind(now)
        .execute(&mut *tx)
        .await
        .map_err(Error::database(&context))?;
        tx.commit().await.map_err(Error::database(&context))
    }

    pub(crate) async fn interrupt_orphans(
        &self,
        alive_since: i64,
        now: i64,
    ) -> Result<Vec<(String, i64, String)>, Error> {
        sqlx::query_as(
            "UPDATE executions SET state = 'interrupted', finished_at = $2,
                 error = 'its node (' || COALESCE(node, 'unknown') || ') stopped while it was '
                         || state || ': no heartbeat within its lease'
             WHERE state IN ('due', 'waiting', 'running')
               AND ((node IS NOT NULL
                     AND node NOT IN (SELECT node FROM nodes WHERE seen_at >= $1))
                    OR (node IS NULL AND due_at < $1))
             RETURNING job, minute, COALESCE(node, 'unknown')",
        )
        .bind(alive_since)
        .bind(now)
        .fetch_all(&self.pool)
        .await
        .map_err(Error::database(
            "interrupting the executions of stopped nodes",
        ))
    }

    pub(crate) async fn latest_minute(&self) -> Result<Option<i64>, Error> {
        sqlx::query_scalar("SELECT MAX(minute) FROM executions")
            .fetch_one(&self.pool)
            .await
            .map_err(Error::database("reading the ledger's latest minute"))
    }

    pub(crate) async fn nodes_alive(&self, since: i64) -> Result<Vec<String>, Error> {
        sqlx::query_scalar("SELECT node FROM nodes WHERE seen_at >= $1 ORDER BY node")
            .bind(since)
            .fetch_all(&self.pool)
            .await
            .map_err(Error::database("reading the nodes alive"))
    }

    pub(crate) async fn rate_usage(&self, since: i64) -> Result<Vec<(String, i64, u64)>, Error> {
        let rows: Vec<(String, i64, i64)> = sqlx::query_as(
            "SELECT system, window_start, used FROM rate_windows WHERE window_start >= $1
             ORDER BY system, window_start",
        )
        .bind(since)
        .fetch_all(&self.pool)
        .await
        .map_err(Error::database("reading rate usage"))?;
        Ok(rows
            .into_iter()
            .map(|(system, window, used)| (system, window, used.max(0) as u64))
            .collect())
    }

    pub(crate) async fn acquire_slot(
        &self,
        capacity: u32,
        holder: &str,
        execution: &str,
        lease_until: i64,
        now: i64,
    ) -> Result<Option<u32>, Error> {
        let context = format!("acquiring a capacity slot for {execution}");
        let mut tx = self.pool.begin().await.map_err(Error::database(&context))?;
        sqlx::query(
            "INSERT INTO slots (slot) SELECT generate_series(0, $1 - 1) ON CONFLICT (slot) DO NOTHING",
        )
        .bind(i64::from(capacity))
        .execute(&mut *tx)
        .await
        .map_err(Error::database(&context))?;
        let slot: Option<i64> = sqlx::query_scalar(
            "UPDATE slots SET holder = $1, execution = $2, lease_until = $3
             WHERE slot = (SELECT slot FROM slots
                           WHERE slot < $4 AND (holder IS NULL OR lease_until < $5)
                           ORDER BY slot LIMIT 1
                           FOR UPDATE SKIP LOCKED)
             RETURNING slot",
        )
        .bind(holder)
        .bind(execution)
        .bind(lease_until)
        .bind(i64::from(capacity))
        .bind(now)
        .fetch_optional(&mut *tx)
        .await
        .map_err(Error::database(&context))?;
        tx.commit().await.map_err(Error::database(&context))?;
        Ok(slot.map(|s| s as u32))
    }

    pub(crate) async fn renew_slot(
        &self,
        slot: u32,
        holder: &str,
        lease_until: i64,
        now: i64,
    ) -> Result<bool, Error> {
        let done = sqlx::query(
            "UPDATE slots SET lease_until = $1 WHERE slot = $2 AND holder = $3 AND lease_until >= $4",
        )
        .bind(lease_until)
        .bind(i64::from(slot))
        .bind(holder)
        .bind(now)
        .execute(&self.pool)
        .await
        .map_err(Error::database(format!("renewing slot {slot}")))?;
        Ok(done.rows_affected() == 1)
    }

    pub(crate) async fn release_slot(&self, slot: u32, holder: &str) -> Result<bool, Error> {
        let done = sqlx::query(
            "UPDATE slots SET holder = NULL, execution = NULL, lease_until = NULL WHERE slot = $1 AND holder = $2",
        )
        .bind(i64::from(slot))
        .bind(holder)
        .execute(&self.pool)
        .await
        .map_err(Error::database(format!("releasing slot {slot}")))?;
        Ok(done.rows_affected() == 1)
    }

    pub(crate) async fn running(&self, job: &str, now: i64) -> Result<bool, Error> {
        // A prefix compare, not LIKE: job names may hold `_`, a LIKE wildcard.
        let n: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM slots
             WHERE holder IS NOT NULL AND lease_until >= $2
               AND substr(execution, 1, length($1) + 1) = $1 || '@'",
        )
        .bind(job)
        .bind(now)
        .fetch_one(&self.pool)
        .await
        .map_err(Error::database(format!("checking whether {job} runs")))?;
        Ok(n > 0)
    }

    pub(crate) async fn slots_in_use(&self, capacity: u32, now: i64) -> Result<u32, Error> {
        let n: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM slots WHERE slot < $1 AND holder IS NOT NULL AND lease_until >= $2",
        )
        .bind(i64::from(capacity))
        .bind(now)
        .fetch_one(&self.pool)
        .await
        .map_err(Error::database("counting capacity slots in use"))?;
        Ok(n as u32)
    }

    pub(crate) async fn prune(
        &self,
        tasks_before: i64,
        executions_before: i64,
        batch: u32,
    ) -> Result<(u64, u64), Error> {
        let context = "pruning old tasks and executions";
        let (mut tasks, mut executions) = (0, 0);
        loop {
            let deleted = sqlx::query(
                "DELETE FROM tasks WHERE id IN (
                     SELECT id FROM tasks WHERE status = 'finished' AND updated_at < $1 LIMIT $2)",
            )
            .bind(tasks_before)
            .bind(i64::from(batch))
            .execute(&self.pool)
            .await
            .map_err(Error::database(context))?
            .rows_affected();
            tasks += deleted;
            if deleted < u64::from(batch) {
                break;
            }
        }
        loop {
            let deleted = sqlx::query(
                "DELETE FROM executions WHERE (job, minute) IN (
                     SELECT job, minute FROM executions WHERE minute < $1 LIMIT $2)",
            )
            .bind(executions_before)
            .bind(i64::from(batch))
            .execute(&self.pool)
            .await
            .map_err(Error::database(context))?
            .rows_affected();
            executions += deleted;
            if deleted < u64::from(batch) {
                break;
            }
        }
        // The errors of tasks pruned above go with them.
        sqlx::query(
            "DELETE FROM task_errors WHERE at < $1
               AND NOT EXISTS (SELECT 1 FROM tasks t WHERE t.id = task_errors.task_id)",
        )
        .bind(tasks_before)
        .execute(&self.pool)
        .await
        .map_err(Error::database(context))?;
        Ok((tasks, executions))
    }
}
