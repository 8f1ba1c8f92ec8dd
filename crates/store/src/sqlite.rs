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
    ConnectOptions, Connection, SqliteConnection, SqlitePool,
    pool::PoolConnection,
    sqlite::{
        SqliteConnectOptions, SqliteJournalMode, SqliteLockingMode, SqlitePoolOptions,
        SqliteSynchronous,
    },
};
use tokio::sync::{Mutex, MutexGuard};

use crate::{
    Error,
    model::{Claimed, ClaimedRow, LeaseMillis, NewTask, latest_per_key},
    schema, shared,
    sql::{Decode, Dialect, Run, Statement, Tx},
};

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

impl Run for Sqlite {
    async fn transaction<T>(
        &self,
        context: &str,
        work: impl AsyncFnOnce(&mut Tx<'_>) -> Result<T, Error>,
    ) -> Result<T, Error> {
        let mut writer = self.writer.lock().await;
        let tx = writer
            .begin_with("BEGIN IMMEDIATE")
            .await
            .map_err(Error::database(context))?;
        let mut tx = Tx::Sqlite(tx);
        let value = work(&mut tx).await?;
        tx.commit(context).await?;
        Ok(value)
    }

    async fn execute(&self, statement: Statement<'_>) -> Result<u64, Error> {
        let query = sqlx::query_with(
            sqlx::Sqlite::sql(statement.sql),
            statement.arguments::<sqlx::Sqlite>()?,
        );
        self.write(query, &statement.context).await
    }

    async fn execute_returning<R: Decode>(
        &self,
        statement: Statement<'_>,
    ) -> Result<Vec<R>, Error> {
        sqlx::query_as_with(
            sqlx::Sqlite::sql(statement.sql),
            statement.arguments::<sqlx::Sqlite>()?,
        )
        .fetch_all(&mut *self.writer.lock().await)
        .await
        .map_err(Error::database(statement.context))
    }

    async fn fetch<R: Decode>(&self, statement: Statement<'_>) -> Result<Vec<R>, Error> {
        sqlx::query_as_with(
            sqlx::Sqlite::sql(statement.sql),
            statement.arguments::<sqlx::Sqlite>()?,
        )
        .fetch_all(&mut *self.reader().await?)
        .await
        .map_err(Error::database(statement.context))
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
        shared::migrate(
            self,
            schema::Backend::Sqlite,
            None,
            "migrating the SQLite store",
        )
        .await
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

    pub(crate) async fn enqueue(
        &self,
        integration: &str,
        tasks: &[NewTask],
        cursor: Option<&str>,
        now: i64,
    ) -> Result<(), Error> {
        // One statement for the whole batch: the rows travel as a JSON array.
        let rows = serde_json::to_string(&latest_per_key(tasks)).expect("strings serialise");
        let insert = Statement::new(
            "INSERT INTO tasks (integration, dedup_key, payload, status, attempts, next_attempt_at, created_at, updated_at)
             SELECT $1, json_extract(value, '$[0]'), json_extract(value, '$[1]'), 'new', 0, $2, $2, $2
             FROM json_each($3) WHERE true
             ON CONFLICT (integration, dedup_key) WHERE status IN ('new', 'failed')
             DO UPDATE SET payload = excluded.payload, updated_at = excluded.updated_at,
                 batch_key = NULL",
            format!("queueing {} tasks for {integration}", tasks.len()),
        )
        .bind(integration)
        .bind(now)
        .bind(rows.as_str());
        shared::enqueue(self, insert, integration, cursor, now).await
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
        lease: &LeaseMillis<'_>,
    ) -> Result<(u64, Vec<Claimed>), Error> {
        let &LeaseMillis {
            holder: owner,
            from: now,
            until: lease_until,
        } = lease;
        let completed = if done.is_empty() {
            0
        } else {
            shared::complete_many(self, done, owner, now).await?
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

    pub(crate) async fn acquire_slot(
        &self,
        capacity: u32,
        execution: &str,
        lease: &LeaseMillis<'_>,
    ) -> Result<Option<u32>, Error> {
        let &LeaseMillis {
            holder,
            from: now,
            until: lease_until,
        } = lease;
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
}
