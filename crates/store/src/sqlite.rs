//! The embedded backend: one SQLite file in WAL mode (a throwaway store's
//! locked for its one connection, its journal in memory), written through one
//! connection per store; a transaction of several writes in `BEGIN IMMEDIATE`.
//!
//! A deferred transaction that reads and then writes fails with SQLITE_BUSY
//! at once when another connection (another process on the file) wrote in
//! between; taking the write lock up front makes writers wait their turn (up
//! to the busy timeout) instead.

use std::{
    ops::{Deref, DerefMut},
    str::FromStr,
    time::Duration,
};

use sqlx::{
    ConnectOptions, Connection, Row, SqliteConnection, SqlitePool,
    pool::PoolConnection,
    sqlite::{
        SqliteConnectOptions, SqliteJournalMode, SqliteLockingMode, SqlitePoolOptions, SqliteRow,
        SqliteSynchronous,
    },
};
use tokio::sync::{Mutex, MutexGuard};

use crate::{
    Error,
    error::ErrorKind,
    model::ExecutionChange,
    model::{
        Claimed, ClaimedRow, Execution, ExecutionQuery, ExecutionRow, FailOutcome, JobControl,
        NewTask, RetryPolicy, Task, TaskError, TaskErrorRow, TaskQuery, TaskStatus, latest_per_key,
    },
};

const MIGRATIONS: &[(i64, &str)] = &[
    (
        1,
        "CREATE TABLE executions (
        job TEXT NOT NULL,
        minute INTEGER NOT NULL,
        state TEXT NOT NULL,
        due_at INTEGER NOT NULL,
        started_at INTEGER,
        finished_at INTEGER,
        items INTEGER NOT NULL DEFAULT 0,
        error TEXT,
        PRIMARY KEY (job, minute)
    );
    CREATE TABLE tasks (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        integration TEXT NOT NULL,
        dedup_key TEXT NOT NULL,
        payload TEXT NOT NULL,
        status TEXT NOT NULL,
        attempts INTEGER NOT NULL DEFAULT 0,
        next_attempt_at INTEGER NOT NULL,
        lease_owner TEXT,
        lease_until INTEGER,
        last_error TEXT,
        created_at INTEGER NOT NULL,
        updated_at INTEGER NOT NULL
    );
    CREATE UNIQUE INDEX tasks_pending_key ON tasks (integration, dedup_key)
        WHERE status IN ('new', 'failed');
    CREATE INDEX tasks_claimable ON tasks (integration, status, next_attempt_at);
    CREATE TABLE cursors (
        integration TEXT PRIMARY KEY,
        value TEXT NOT NULL,
        updated_at INTEGER NOT NULL
    );",
    ),
    (
        2,
        "CREATE TABLE slots (
        slot INTEGER PRIMARY KEY,
        holder TEXT,
        execution TEXT,
        lease_until INTEGER
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
        window_start INTEGER NOT NULL,
        used INTEGER NOT NULL,
        PRIMARY KEY (system, window_start)
    );
    CREATE TABLE job_controls (
        job TEXT PRIMARY KEY,
        paused INTEGER NOT NULL DEFAULT 0,
        triggered_at INTEGER
    );",
    ),
    (
        4,
        "CREATE TABLE task_errors (
        task_id INTEGER NOT NULL,
        attempt INTEGER NOT NULL,
        at INTEGER NOT NULL,
        error TEXT NOT NULL
    );
    CREATE INDEX task_errors_by_task ON task_errors (task_id, attempt);
    CREATE INDEX task_errors_by_age ON task_errors (at);
    CREATE TABLE nodes (
        node TEXT PRIMARY KEY,
        seen_at INTEGER NOT NULL
    );",
    ),
    (
        5,
        "ALTER TABLE rate_windows ADD COLUMN granted INTEGER NOT NULL DEFAULT 0;",
    ),
    (
        6,
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
        7,
        // The node an execution waits or runs on: when it stops beating,
        // a live node marks what it left behind `interrupted`.
        "ALTER TABLE executions ADD COLUMN node TEXT;
    CREATE INDEX executions_open ON executions (minute)
        WHERE state IN ('due', 'waiting', 'running');",
    ),
    (
        8,
        // The Idempotency-Key a task was sent under in a batch: after a
        // crash the same tasks go again, together, under the same key.
        "ALTER TABLE tasks ADD COLUMN batch_key TEXT;
    CREATE INDEX tasks_by_batch ON tasks (integration, batch_key)
        WHERE batch_key IS NOT NULL AND status IN ('new', 'failed', 'processing');",
    ),
    (
        9,
        // Where a node's process runs: a node restarted on the same machine
        // finds its dead predecessor's rows and frees them at once.
        "ALTER TABLE nodes ADD COLUMN machine TEXT;
    ALTER TABLE nodes ADD COLUMN pid INTEGER;",
    ),
];

pub(crate) struct Sqlite {
    /// Every write, through one held connection. SQLite lets one writer in
    /// at a time anyway, and a pooled connection is pinged as it returns to
    /// the pool: a second trip to the connection's thread for each statement.
    /// Cancellation-safe: the connection runs its commands in order, and a
    /// transaction dropped half-way queues its rollback before the next one.
    writer: Mutex<SqliteConnection>,
    /// Reads, beside the writer (WAL lets them run during a write), so the
    /// dashboard never waits for the queue. A throwaway store has none: one
    /// task at a time reads and writes there, through the writer.
    readers: Option<SqlitePool>,
}

/// A connection to read on: a pooled reader, or the writer.
enum Reader<'a> {
    Pooled(PoolConnection<sqlx::Sqlite>),
    Writer(MutexGuard<'a, SqliteConnection>),
}

impl Deref for Reader<'_> {
    type Target = SqliteConnection;

    fn deref(&self) -> &SqliteConnection {
        match self {
            Reader::Pooled(c) => c,
            Reader::Writer(c) => c,
        }
    }
}

impl DerefMut for Reader<'_> {
    fn deref_mut(&mut self) -> &mut SqliteConnection {
        match self {
            Reader::Pooled(c) => c,
            Reader::Writer(c) => c,
        }
    }
}

fn task(row: &SqliteRow) -> Task {
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

impl Sqlite {
    pub(crate) async fn open(path: &str, throwaway: bool) -> Result<Sqlite, Error> {
        let context = format!("opening SQLite store {path}");
        let options = SqliteConnectOptions::from_str(&format!("sqlite://{path}"))
            .map_err(Error::database(&context))?
            .create_if_missing(true)
            .busy_timeout(Duration::from_secs(10))
            // The queue's pages stay in memory: a claim or a count reads no disk.
            .pragma("cache_size", "-32768")
            .pragma("mmap_size", "268435456");
        let options = if throwaway {
            // Only its one connection ever opens a throwaway store, so it
            // holds the lock for good instead of taking and dropping file
            // locks around each statement, and a write goes once to the
            // file instead of to the WAL and then the file. A crash can
            // leave the file torn; nobody opens it again.
            options
                .locking_mode(SqliteLockingMode::Exclusive)
                .journal_mode(SqliteJournalMode::Memory)
                .synchronous(SqliteSynchronous::Off)
        } else {
            options
                .journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Normal)
        };
        // The writer first: it creates the file and sets its journal mode.
        let writer = options.connect().await.map_err(Error::database(&context))?;
        let readers = if throwaway {
            None
        } else {
            Some(
                SqlitePoolOptions::new()
                    .max_connections(8)
                    // A connection to a local file does not go stale: no ping before each use.
                    .test_before_acquire(false)
                    .connect_lazy_with(options),
            )
        };
        let store = Sqlite {
            writer: Mutex::new(writer),
            readers,
        };
        store.migrate().await?;
        Ok(store)
    }

    async fn migrate(&self) -> Result<(), Error> {
        let context = "migrating the SQLite store";
        let mut writer = self.writer.lock().await;
        let mut tx = writer
            .begin_with("BEGIN IMMEDIATE")
            .await
            .map_err(Error::database(context))?;
        sqlx::query("CREATE TABLE IF NOT EXISTS pacer_schema (version INTEGER NOT NULL)")
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
            sqlx::query("INSERT INTO pacer_schema (version) VALUES (?)")
                .bind(version)
                .execute(&mut *tx)
                .await
                .map_err(Error::database(context))?;
        }
        tx.commit().await.map_err(Error::database(context))
    }

    /// Runs one write statement in its own `BEGIN IMMEDIATE` transaction and
    /// returns the rows it changed.
    async fn write(
        &self,
        query: sqlx::query::Query<'_, sqlx::Sqlite, sqlx::sqlite::SqliteArguments>,
        context: &str,
    ) -> Result<u64, Error> {
        // One statement commits on its own. It takes the write lock as it
        // starts, with no read before it, so a busy database makes it wait
        // (busy_timeout) rather than fail: what `BEGIN IMMEDIATE` gives a
        // transaction of several, without two more trips to the connection.
        let done = query
            .execute(&mut *self.writer.lock().await)
            .await
            .map_err(Error::database(context))?;
        Ok(done.rows_affected())
    }

    /// A connection for reads: a pooled reader, or a throwaway store's writer.
    async fn reader(&self) -> Result<Reader<'_>, Error> {
        Ok(match &self.readers {
            Some(pool) => Reader::Pooled(
                pool.acquire()
                    .await
                    .map_err(Error::database("taking a connection to the SQLite store"))?,
            ),
            None => Reader::Writer(self.writer.lock().await),
        })
    }

    pub(crate) async fn record_due(
        &self,
        job: &str,
        minute: i64,
        node: &str,
        now: i64,
    ) -> Result<bool, Error> {
        let query = sqlx::query(
            "INSERT INTO executions (job, minute, state, due_at, node) VALUES (?, ?, 'due', ?, ?)
             ON CONFLICT (job, minute) DO NOTHING",
        )
        .bind(job)
        .bind(minute)
        .bind(now)
        .bind(node);
        let done = self
            .write(query, &format!("recording {job} due at {minute}"))
            .await?;
        Ok(done == 1)
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
        let query = sqlx::query(
            "UPDATE executions SET state = ?1,
                started_at = CASE WHEN ?1 = 'running' THEN ?2 ELSE started_at END,
                finished_at = CASE WHEN ?1 IN ('succeeded', 'failed', 'skipped', 'missed', 'interrupted') THEN ?2 ELSE finished_at END,
                items = ?3, error = ?4,
                node = CASE WHEN ?1 IN ('waiting', 'running') THEN ?7 ELSE node END
             WHERE job = ?5 AND minute = ?6",
        )
        .bind(state.as_str())
        .bind(now)
        .bind(items as i64)
        .bind(error)
        .bind(job)
        .bind(minute)
        .bind(node);
        self.write(query, &format!("updating {job} at {minute}"))
            .await?;
        Ok(())
    }

    pub(crate) async fn execution_state(
        &self,
        job: &str,
        minute: i64,
    ) -> Result<Option<String>, Error> {
        sqlx::query_scalar("SELECT state FROM executions WHERE job = ? AND minute = ?")
            .bind(job)
            .bind(minute)
            .fetch_optional(&mut *self.reader().await?)
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
        let mut writer = self.writer.lock().await;
        let mut tx = writer
            .begin_with("BEGIN IMMEDIATE")
            .await
            .map_err(Error::database(&context))?;
        // One statement for the whole batch: the rows travel as a JSON array.
        let rows = serde_json::to_string(&latest_per_key(tasks)).expect("strings serialise");
        sqlx::query(
            "INSERT INTO tasks (integration, dedup_key, payload, status, attempts, next_attempt_at, created_at, updated_at)
             SELECT ?, json_extract(value, '$[0]'), json_extract(value, '$[1]'), 'new', 0, ?, ?, ?
             FROM json_each(?) WHERE true
             ON CONFLICT (integration, dedup_key) WHERE status IN ('new', 'failed')
             DO UPDATE SET payload = excluded.payload, updated_at = excluded.updated_at,
                 batch_key = NULL",
        )
        .bind(integration)
        .bind(now)
        .bind(now)
        .bind(now)
        .bind(rows)
        .execute(&mut *tx)
        .await
        .map_err(Error::database(&context))?;
        if let Some(value) = cursor {
            sqlx::query(
                "INSERT INTO cursors (integration, value, updated_at) VALUES (?, ?, ?)
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

    /// Completes `done` (when any), then claims the next tasks. Each commits
    /// on its own: a crash between them leaves the completions made and
    /// nothing claimed, as if the claim came later, so two trips to the
    /// connection's thread do instead of four with `BEGIN`/`COMMIT` (a WAL
    /// commit waits for no disk at `synchronous = NORMAL`).
    pub(crate) async fn claim(
        &self,
        done: &[i64],
        integration: &str,
        limit: u32,
        owner: &str,
        lease_until: i64,
        now: i64,
    ) -> Result<(u64, Vec<Claimed>), Error> {
        let completed = if done.is_empty() {
            0
        } else {
            self.complete_many(done, owner, now).await?
        };
        let rows: Vec<ClaimedRow> = sqlx::query_as(
            "UPDATE tasks SET status = 'processing', lease_owner = ?1, lease_until = ?2,
                 attempts = attempts + 1, updated_at = ?3
             WHERE id IN (
                 SELECT id FROM tasks
                 -- The first condition lets the partial index tasks_live skip
                 -- finished tasks: without it each claim reads them all.
                 WHERE integration = ?4 AND status IN ('new', 'failed', 'processing')
                   AND ((status IN ('new', 'failed') AND next_attempt_at <= ?3)
                        OR (status = 'processing' AND lease_until < ?3))
                 ORDER BY id LIMIT ?5)
             RETURNING id, dedup_key, payload, attempts, batch_key",
        )
        .bind(owner)
        .bind(lease_until)
        .bind(now)
        .bind(integration)
        .bind(i64::from(limit))
        .fetch_all(&mut *self.writer.lock().await)
        .await
        .map_err(Error::database(format!("claiming tasks of {integration}")))?;
        let mut tasks: Vec<Claimed> = rows.into_iter().map(Claimed::from_row).collect();
        tasks.sort_by_key(|t| t.id);
        Ok((completed, tasks))
    }

    pub(crate) async fn complete(&self, id: i64, owner: &str, now: i64) -> Result<bool, Error> {
        let query = sqlx::query(
            "UPDATE tasks SET status = 'finished', lease_owner = NULL, lease_until = NULL, updated_at = ?
             WHERE id = ? AND status = 'processing' AND lease_owner = ?",
        )
        .bind(now)
        .bind(id)
        .bind(owner);
        let done = self.write(query, &format!("completing task {id}")).await?;
        Ok(done == 1)
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
        let mut writer = self.writer.lock().await;
        let mut tx = writer
            .begin_with("BEGIN IMMEDIATE")
            .await
            .map_err(Error::database(&context))?;
        let attempts: Option<i64> = sqlx::query_scalar(
            "SELECT attempts FROM tasks WHERE id = ? AND status = 'processing' AND lease_owner = ?",
        )
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
            "UPDATE tasks SET status = ?, next_attempt_at = ?, last_error = ?, lease_owner = NULL,
                 lease_until = NULL, updated_at = ?
             WHERE id = ?",
        )
        .bind(status)
        .bind(next)
        .bind(error)
        .bind(now)
        .bind(id)
        .execute(&mut *tx)
        .await
        .map_err(Error::database(&context))?;
        sqlx::query("INSERT INTO task_errors (task_id, attempt, at, error) VALUES (?, ?, ?, ?)")
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
        let leave = serde_json::to_string(leave).expect("numbers serialise");
        let query = sqlx::query(
            "UPDATE tasks SET status = 'new', attempts = 0, next_attempt_at = ?, updated_at = ?, batch_key = NULL
             WHERE integration = ? AND status = 'dead' AND attempts > 0
               AND id NOT IN (SELECT value FROM json_each(?))
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
        .bind(leave);
        let done = self
            .write(query, &format!("replaying dead tasks of {integration}"))
            .await?;
        Ok(done)
    }

    pub(crate) async fn cursor(&self, integration: &str) -> Result<Option<String>, Error> {
        sqlx::query_scalar("SELECT value FROM cursors WHERE integration = ?")
            .bind(integration)
            .fetch_optional(&mut *self.reader().await?)
            .await
            .map_err(Error::database(format!(
                "reading the cursor of {integration}"
            )))
    }

    pub(crate) async fn task(&self, id: i64) -> Result<Option<Task>, Error> {
        let row = sqlx::query(
            "SELECT id, integration, dedup_key, payload, status, attempts, last_error, next_attempt_at, created_at, updated_at FROM tasks WHERE id = ?",
        )
        .bind(id)
        .fetch_optional(&mut *self.reader().await?)
        .await
        .map_err(Error::database(format!("reading task {id}")))?;
        Ok(row.as_ref().map(task))
    }

    pub(crate) async fn count(&self, integration: &str, status: TaskStatus) -> Result<u64, Error> {
        let n: i64 =
            sqlx::query_scalar("SELECT COUNT(*) FROM tasks WHERE integration = ? AND status = ?")
                .bind(integration)
                .bind(status.as_str())
                .fetch_one(&mut *self.reader().await?)
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
        let ids = serde_json::to_string(ids).expect("numbers serialise");
        let query = sqlx::query(
            "UPDATE tasks SET status = 'finished', lease_owner = NULL, lease_until = NULL, updated_at = ?
             WHERE id IN (SELECT value FROM json_each(?)) AND status = 'processing' AND lease_owner = ?",
        )
        .bind(now)
        .bind(ids)
        .bind(owner);
        let done = self.write(query, "completing a batch of tasks").await?;
        Ok(done)
    }

    pub(crate) async fn skip(&self, id: i64, now: i64) -> Result<bool, Error> {
        let query = sqlx::query(
            "UPDATE tasks SET status = 'skipped', lease_owner = NULL, lease_until = NULL, updated_at = ?
             WHERE id = ? AND status IN ('new', 'failed', 'dead')",
        )
        .bind(now)
        .bind(id);
        let done = self.write(query, &format!("skipping task {id}")).await?;
        Ok(done == 1)
    }

    pub(crate) async fn replay(&self, id: i64, now: i64) -> Result<bool, Error> {
        let query = sqlx::query(
            "UPDATE tasks SET status = 'new', attempts = 0, next_attempt_at = ?, updated_at = ?, batch_key = NULL
             WHERE id = ? AND status IN ('dead', 'skipped', 'failed')
               AND NOT EXISTS (SELECT 1 FROM tasks p
                               WHERE p.integration = tasks.integration AND p.dedup_key = tasks.dedup_key
                                 AND p.status IN ('new', 'failed') AND p.id <> tasks.id)",
        )
        .bind(now)
        .bind(now)
        .bind(id);
        let done = self.write(query, &format!("replaying task {id}")).await?;
        Ok(done == 1)
    }

    pub(crate) async fn executions(&self, since: i64, limit: u32) -> Result<Vec<Execution>, Error> {
        let rows: Vec<ExecutionRow> = sqlx::query_as(
            "SELECT job, minute, state, due_at, started_at, finished_at, items, error
             FROM executions WHERE minute >= ? ORDER BY minute, job LIMIT ?",
        )
        .bind(since)
        .bind(i64::from(limit))
        .fetch_all(&mut *self.reader().await?)
        .await
        .map_err(Error::database("reading executions"))?;
        Ok(rows.into_iter().map(Execution::from_row).collect())
    }

    pub(crate) async fn last_due(&self, job: &str) -> Result<Option<i64>, Error> {
        sqlx::query_scalar("SELECT MAX(minute) FROM executions WHERE job = ?")
            .bind(job)
            .fetch_one(&mut *self.reader().await?)
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
        // One statement: what is left of the window (as it was) is granted and
        // counted at once, so concurrent takers never share a unit.
        let (used, granted): (i64, i64) = sqlx::query_as(
            "INSERT INTO rate_windows (system, window_start, used, granted)
             VALUES (?1, ?2, MIN(?3, ?4), MIN(?3, ?4))
             ON CONFLICT (system, window_start) DO UPDATE SET
                 granted = MIN(?3, MAX(0, ?4 - used)),
                 used = used + MIN(?3, MAX(0, ?4 - used))
             RETURNING used, granted",
        )
        .bind(system)
        .bind(window_start)
        .bind(i64::from(want))
        .bind(i64::from(limit))
        .fetch_one(&mut *self.writer.lock().await)
        .await
        .map_err(Error::database(&context))?;
        if used == granted {
            // The window's first take: windows an hour old count for nothing.
            let stale =
                sqlx::query("DELETE FROM rate_windows WHERE system = ? AND window_start < ?")
                    .bind(system)
                    .bind(window_start - 3_600_000);
            self.write(stale, &context).await?;
        }
        Ok(granted.max(0) as u32)
    }

    pub(crate) async fn set_batch_key(&self, ids: &[i64], key: &str) -> Result<(), Error> {
        let ids = serde_json::to_string(ids).expect("numbers serialise");
        let query = sqlx::query(
            "UPDATE tasks SET batch_key = ?2 WHERE id IN (SELECT value FROM json_each(?1))",
        )
        .bind(ids)
        .bind(key);
        self.write(query, &format!("recording batch {key}"))
            .await
            .map(drop)
    }

    pub(crate) async fn claim_batches(
        &self,
        integration: &str,
        keys: &[String],
        owner: &str,
        lease_until: i64,
        now: i64,
    ) -> Result<Vec<Claimed>, Error> {
        let keys = serde_json::to_string(keys).expect("strings serialise");
        let rows: Vec<ClaimedRow> = sqlx::query_as(
            "UPDATE tasks SET status = 'processing', lease_owner = ?1, lease_until = ?2,
                 attempts = attempts + 1, updated_at = ?3
             WHERE integration = ?4 AND batch_key IN (SELECT value FROM json_each(?5))
               AND batch_key IS NOT NULL AND status IN ('new', 'failed', 'processing')
               AND ((status IN ('new', 'failed') AND next_attempt_at <= ?3)
                    OR (status = 'processing' AND lease_until < ?3))
             RETURNING id, dedup_key, payload, attempts, batch_key",
        )
        .bind(owner)
        .bind(lease_until)
        .bind(now)
        .bind(integration)
        .bind(keys)
        .fetch_all(&mut *self.writer.lock().await)
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
        let query = sqlx::query(
            "UPDATE rate_windows SET used = MAX(0, used - ?3) WHERE system = ?1 AND window_start = ?2",
        )
        .bind(system)
        .bind(window_start)
        .bind(i64::from(unused));
        self.write(
            query,
            &format!("giving {unused} back to {system}'s rate limit"),
        )
        .await
        .map(drop)
    }

    pub(crate) async fn has_work(&self, integration: &str, now: i64) -> Result<bool, Error> {
        sqlx::query_scalar(
            "SELECT EXISTS (SELECT 1 FROM tasks
                 WHERE integration = ?1 AND status IN ('new', 'failed', 'processing')
                   AND ((status IN ('new', 'failed') AND next_attempt_at <= ?2)
                        OR (status = 'processing' AND lease_until < ?2)))",
        )
        .bind(integration)
        .bind(now)
        .fetch_one(&mut *self.reader().await?)
        .await
        .map_err(Error::database(format!(
            "looking for tasks of {integration} to deliver"
        )))
    }

    pub(crate) async fn set_paused(&self, job: &str, paused: bool) -> Result<(), Error> {
        let query = sqlx::query(
            "INSERT INTO job_controls (job, paused) VALUES (?, ?)
             ON CONFLICT (job) DO UPDATE SET paused = excluded.paused",
        )
        .bind(job)
        .bind(paused);
        self.write(query, &format!("pausing or resuming {job}"))
            .await
            .map(drop)
    }

    pub(crate) async fn trigger(&self, job: &str, now: i64) -> Result<(), Error> {
        let query = sqlx::query(
            "INSERT INTO job_controls (job, triggered_at) VALUES (?, ?)
             ON CONFLICT (job) DO UPDATE SET triggered_at = excluded.triggered_at",
        )
        .bind(job)
        .bind(now);
        self.write(query, &format!("triggering {job}"))
            .await
            .map(drop)
    }

    pub(crate) async fn take_trigger(&self, job: &str) -> Result<bool, Error> {
        let query = sqlx::query(
            "UPDATE job_controls SET triggered_at = NULL WHERE job = ? AND triggered_at IS NOT NULL",
        )
        .bind(job);
        let done = self
            .write(query, &format!("taking {job}'s trigger"))
            .await?;
        Ok(done == 1)
    }

    pub(crate) async fn job_controls(&self) -> Result<Vec<JobControl>, Error> {
        let rows: Vec<(String, bool, Option<i64>)> =
            sqlx::query_as("SELECT job, paused, triggered_at FROM job_controls ORDER BY job")
                .fetch_all(&mut *self.reader().await?)
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
        let context = format!("recording a rejected {integration} record");
        let mut writer = self.writer.lock().await;
        let mut tx = writer
            .begin_with("BEGIN IMMEDIATE")
            .await
            .map_err(Error::database(&context))?;
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO tasks (integration, dedup_key, payload, status, next_attempt_at,
                                last_error, created_at, updated_at)
             VALUES (?, ?, ?, 'dead', ?, ?, ?, ?) RETURNING id",
        )
        .bind(integration)
        .bind(key)
        .bind(raw)
        .bind(now)
        .bind(reason)
        .bind(now)
        .bind(now)
        .fetch_one(&mut *tx)
        .await
        .map_err(Error::database(&context))?;
        sqlx::query("INSERT INTO task_errors (task_id, attempt, at, error) VALUES (?, 0, ?, ?)")
            .bind(id)
            .bind(now)
            .bind(reason)
            .execute(&mut *tx)
            .await
            .map_err(Error::database(&context))?;
        tx.commit().await.map_err(Error::database(&context))?;
        Ok(id)
    }

    pub(crate) async fn tasks(&self, query: &TaskQuery) -> Result<Vec<Task>, Error> {
        let rows = sqlx::query(
            "SELECT id, integration, dedup_key, payload, status, attempts, last_error,
                    next_attempt_at, created_at, updated_at
             FROM tasks
             WHERE (?1 IS NULL OR integration = ?1)
               AND (?2 IS NULL OR status = ?2)
               AND (?3 IS NULL OR id < ?3)
             ORDER BY id DESC LIMIT ?4",
        )
        .bind(query.integration.as_deref())
        .bind(query.status.map(TaskStatus::as_str))
        .bind(query.before)
        .bind(i64::from(query.limit))
        .fetch_all(&mut *self.reader().await?)
        .await
        .map_err(Error::database("listing tasks"))?;
        Ok(rows.iter().map(task).collect())
    }

    pub(crate) async fn queued_times(&self, integration: &str) -> Result<Vec<i64>, Error> {
        sqlx::query_scalar("SELECT created_at FROM tasks WHERE integration = ? ORDER BY created_at")
            .bind(integration)
            .fetch_all(&mut *self.reader().await?)
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
        .fetch_all(&mut *self.reader().await?)
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
             WHERE e.task_id = ? ORDER BY e.at, e.attempt",
        )
        .bind(task)
        .fetch_all(&mut *self.reader().await?)
        .await
        .map_err(Error::database(format!("reading task {task}'s errors")))?;
        Ok(rows.into_iter().map(TaskError::from_row).collect())
    }

    pub(crate) async fn recent_errors(&self, limit: u32) -> Result<Vec<TaskError>, Error> {
        let rows: Vec<TaskErrorRow> = sqlx::query_as(
            "SELECT e.task_id, t.integration, e.attempt, e.at, e.error
             FROM task_errors e JOIN tasks t ON t.id = e.task_id
             ORDER BY e.at DESC, e.task_id DESC LIMIT ?",
        )
        .bind(i64::from(limit))
        .fetch_all(&mut *self.reader().await?)
        .await
        .map_err(Error::database("reading the latest errors"))?;
        Ok(rows.into_iter().map(TaskError::from_row).collect())
    }

    pub(crate) async fn history(&self, query: &ExecutionQuery) -> Result<Vec<Execution>, Error> {
        let rows: Vec<ExecutionRow> = sqlx::query_as(
            "SELECT job, minute, state, due_at, started_at, finished_at, items, error
             FROM executions
             WHERE minute >= ?1
               AND (?2 IS NULL OR job = ?2)
               AND (?3 IS NULL OR state = ?3)
             ORDER BY minute DESC, job LIMIT ?4",
        )
        .bind(query.since)
        .bind(query.job.as_deref())
        .bind(query.state.as_deref())
        .bind(i64::from(query.limit))
        .fetch_all(&mut *self.reader().await?)
        .await
        .map_err(Error::database("reading the execution history"))?;
        Ok(rows.into_iter().map(Execution::from_row).collect())
    }

    pub(crate) async fn heartbeat(&self, node: &str, now: i64) -> Result<(), Error> {
        let query = sqlx::query(
            "INSERT INTO nodes (node, seen_at) VALUES (?, ?) ON CONFLICT (node) DO UPDATE SET seen_at = MAX(seen_at, excluded.seen_at)",
        )
        .bind(node)
        .bind(now);
        self.write(query, &format!("recording node {node}'s heartbeat"))
            .await?;
        Ok(())
    }

    pub(crate) async fn register_node(
        &self,
        node: &str,
        machine: &str,
        pid: u32,
        now: i64,
    ) -> Result<(), Error> {
        let query = sqlx::query(
            "INSERT INTO nodes (node, seen_at, machine, pid) VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT (node) DO UPDATE SET seen_at = MAX(seen_at, excluded.seen_at),
                 machine = excluded.machine, pid = excluded.pid",
        )
        .bind(node)
        .bind(now)
        .bind(machine)
        .bind(i64::from(pid));
        self.write(query, &format!("registering node {node}"))
            .await?;
        Ok(())
    }

    pub(crate) async fn nodes_on(&self, machine: &str) -> Result<Vec<(String, u32)>, Error> {
        let rows: Vec<(String, i64)> =
            sqlx::query_as("SELECT node, pid FROM nodes WHERE machine = ? ORDER BY node")
                .bind(machine)
                .fetch_all(&mut *self.reader().await?)
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
        let mut writer = self.writer.lock().await;
        let mut tx = writer
            .begin_with("BEGIN IMMEDIATE")
            .await
            .map_err(Error::database(&context))?;
        sqlx::query(
            "UPDATE slots SET holder = NULL, execution = NULL, lease_until = NULL
             WHERE holder IS NOT NULL AND substr(holder, 1, length(?1) + 1) = ?1 || '/'",
        )
        .bind(node)
        .execute(&mut *tx)
        .await
        .map_err(Error::database(&context))?;
        sqlx::query(
            "UPDATE tasks SET lease_until = ?2 - 1
             WHERE status IN ('new', 'failed', 'processing') AND status = 'processing'
               AND substr(lease_owner, 1, length(?1) + 1) = ?1 || '/'",
        )
        .bind(node)
        .bind(now)
        .execute(&mut *tx)
        .await
        .map_err(Error::database(&context))?;
        let interrupted = sqlx::query_as(
            "UPDATE executions SET state = 'interrupted', finished_at = ?2,
                 error = 'its node (' || node || ') stopped while it was ' || state
                         || ': its process is gone'
             WHERE state IN ('due', 'waiting', 'running') AND node = ?1
             RETURNING job, minute, node",
        )
        .bind(node)
        .bind(now)
        .fetch_all(&mut *tx)
        .await
        .map_err(Error::database(&context))?;
        sqlx::query("DELETE FROM nodes WHERE node = ?")
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
        let mut writer = self.writer.lock().await;
        let mut tx = writer
            .begin_with("BEGIN IMMEDIATE")
            .await
            .map_err(Error::database(&context))?;
        // Prefix compares, not LIKE: node names may hold `_`, a LIKE wildcard.
        sqlx::query(
            "UPDATE slots SET lease_until = ?2
             WHERE holder IS NOT NULL AND substr(holder, 1, length(?1) + 1) = ?1 || '/'
               AND lease_until >= ?3",
        )
        .bind(node)
        .bind(lease_until)
        .bind(now)
        .execute(&mut *tx)
        .await
        .map_err(Error::database(&context))?;
        sqlx::query(
            "UPDATE tasks SET lease_until = ?2
             WHERE status IN ('new', 'failed', 'processing') AND status = 'processing'
               AND substr(lease_owner, 1, length(?1) + 1) = ?1 || '/'
               AND lease_until >= ?3",
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
            "UPDATE executions SET state = 'interrupted', finished_at = ?2,
                 error = 'its node (' || COALESCE(node, 'unknown') || ') stopped while it was '
                         || state || ': no heartbeat within its lease'
             WHERE state IN ('due', 'waiting', 'running')
               AND ((node IS NOT NULL
                     AND node NOT IN (SELECT node FROM nodes WHERE seen_at >= ?1))
                    OR (node IS NULL AND due_at < ?1))
             RETURNING job, minute, COALESCE(node, 'unknown')",
        )
        .bind(alive_since)
        .bind(now)
        .fetch_all(&mut *self.writer.lock().await)
        .await
        .map_err(Error::database(
            "interrupting the executions of stopped nodes",
        ))
    }

    pub(crate) async fn latest_minute(&self) -> Result<Option<i64>, Error> {
        sqlx::query_scalar("SELECT MAX(minute) FROM executions")
            .fetch_one(&mut *self.reader().await?)
            .await
            .map_err(Error::database("reading the ledger's latest minute"))
    }

    pub(crate) async fn nodes_alive(&self, since: i64) -> Result<Vec<String>, Error> {
        sqlx::query_scalar("SELECT node FROM nodes WHERE seen_at >= ? ORDER BY node")
            .bind(since)
            .fetch_all(&mut *self.reader().await?)
            .await
            .map_err(Error::database("reading the nodes alive"))
    }

    pub(crate) async fn rate_usage(&self, since: i64) -> Result<Vec<(String, i64, u64)>, Error> {
        let rows: Vec<(String, i64, i64)> = sqlx::query_as(
            "SELECT system, window_start, used FROM rate_windows WHERE window_start >= ?
             ORDER BY system, window_start",
        )
        .bind(since)
        .fetch_all(&mut *self.reader().await?)
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
        let take = || {
            sqlx::query_scalar(
                "UPDATE slots SET holder = ?, execution = ?, lease_until = ?
                 WHERE slot = (SELECT slot FROM slots
                               WHERE slot < ? AND (holder IS NULL OR lease_until < ?)
                               ORDER BY slot LIMIT 1)
                 RETURNING slot",
            )
            .bind(holder)
            .bind(execution)
            .bind(lease_until)
            .bind(i64::from(capacity))
            .bind(now)
        };
        // Once the slots exist, one statement takes a free one.
        let slot: Option<i64> = take()
            .fetch_optional(&mut *self.writer.lock().await)
            .await
            .map_err(Error::database(&context))?;
        if let Some(slot) = slot {
            return Ok(Some(slot as u32));
        }
        // None free, or not all made yet (the first run, a larger capacity).
        let mut writer = self.writer.lock().await;
        let mut tx = writer
            .begin_with("BEGIN IMMEDIATE")
            .await
            .map_err(Error::database(&context))?;
        for slot in 0..i64::from(capacity) {
            sqlx::query("INSERT INTO slots (slot) VALUES (?) ON CONFLICT (slot) DO NOTHING")
                .bind(slot)
                .execute(&mut *tx)
                .await
                .map_err(Error::database(&context))?;
        }
        let slot: Option<i64> = take()
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
        let query = sqlx::query(
            "UPDATE slots SET lease_until = ? WHERE slot = ? AND holder = ? AND lease_until >= ?",
        )
        .bind(lease_until)
        .bind(i64::from(slot))
        .bind(holder)
        .bind(now);
        let done = self.write(query, &format!("renewing slot {slot}")).await?;
        Ok(done == 1)
    }

    pub(crate) async fn release_slot(&self, slot: u32, holder: &str) -> Result<bool, Error> {
        let query = sqlx::query(
            "UPDATE slots SET holder = NULL, execution = NULL, lease_until = NULL WHERE slot = ? AND holder = ?",
        )
        .bind(i64::from(slot))
        .bind(holder);
        let done = self.write(query, &format!("releasing slot {slot}")).await?;
        Ok(done == 1)
    }

    pub(crate) async fn running(&self, job: &str, now: i64) -> Result<bool, Error> {
        // A prefix compare, not LIKE: job names may hold `_`, a LIKE wildcard.
        let n: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM slots
             WHERE holder IS NOT NULL AND lease_until >= ?2
               AND substr(execution, 1, length(?1) + 1) = ?1 || '@'",
        )
        .bind(job)
        .bind(now)
        .fetch_one(&mut *self.reader().await?)
        .await
        .map_err(Error::database(format!("checking whether {job} runs")))?;
        Ok(n > 0)
    }

    pub(crate) async fn slots_in_use(&self, capacity: u32, now: i64) -> Result<u32, Error> {
        let n: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM slots WHERE slot < ? AND holder IS NOT NULL AND lease_until >= ?",
        )
        .bind(i64::from(capacity))
        .bind(now)
        .fetch_one(&mut *self.reader().await?)
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
            let query = sqlx::query(
                "DELETE FROM tasks WHERE id IN (
                     SELECT id FROM tasks WHERE status = 'finished' AND updated_at < ? LIMIT ?)",
            )
            .bind(tasks_before)
            .bind(i64::from(batch));
            let deleted = self.write(query, context).await?;
            tasks += deleted;
            if deleted < u64::from(batch) {
                break;
            }
        }
        loop {
            let query = sqlx::query(
                "DELETE FROM executions WHERE (job, minute) IN (
                     SELECT job, minute FROM executions WHERE minute < ? LIMIT ?)",
            )
            .bind(executions_before)
            .bind(i64::from(batch));
            let deleted = self.write(query, context).await?;
            executions += deleted;
            if deleted < u64::from(batch) {
                break;
            }
        }
        // The errors of tasks pruned above go with them.
        let query = sqlx::query(
            "DELETE FROM task_errors WHERE at < ?
               AND NOT EXISTS (SELECT 1 FROM tasks t WHERE t.id = task_errors.task_id)",
        )
        .bind(tasks_before);
        self.write(query, context).await?;
        Ok((tasks, executions))
    }
}
