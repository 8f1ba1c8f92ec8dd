//! The embedded backend: one SQLite file in WAL mode, written through one
//! connection per store; a transaction of several writes in `BEGIN IMMEDIATE`.
//!
//! A deferred transaction that reads and then writes fails with SQLITE_BUSY
//! at once when another connection (another process on the file) wrote in
//! between; taking the write lock up front makes writers wait their turn (up
//! to the busy timeout) instead.
//!
//! What SQLite spells its own way — queueing, claims, rate takes, slots —
//! is [`SqliteQueue`]. The in-memory store ([`crate::memory`]) shares its
//! rate takes and slots, run through another driver; its task queue is
//! its own.

use std::{str::FromStr, time::Duration};

use sqlx::{
    ConnectOptions, Connection, SqliteConnection, SqlitePool,
    sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous},
};
use tokio::sync::Mutex;

use crate::{
    Error,
    model::{Batch, ClaimRequest, Claimed, RateTake, SlotRequest, latest_per_key},
    schema, shared,
    sql::{Decode, Dialect, Run, Statement, Tx, Work},
};

pub(crate) struct Sqlite {
    /// Every write, through one held connection. SQLite lets one writer in
    /// at a time anyway, and a pooled connection is pinged as it returns to
    /// the pool: a second trip to the connection's thread for each statement.
    /// Cancellation-safe: the connection runs its commands in order, and a
    /// transaction dropped half-way queues its rollback before the next one.
    writer: Mutex<SqliteConnection>,
    /// Reads, beside the writer (WAL lets them run during a write), so the
    /// dashboard never waits for the queue.
    readers: SqlitePool,
}

impl Run for Sqlite {
    async fn transaction<T>(&self, context: &str, work: impl Work<T>) -> Result<T, Error> {
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
        .fetch_all(
            &mut *self
                .readers
                .acquire()
                .await
                .map_err(Error::database("taking a connection to the SQLite store"))?,
        )
        .await
        .map_err(Error::database(statement.context))
    }
}

impl Sqlite {
    pub(crate) async fn open(path: &str) -> Result<Sqlite, Error> {
        let context = format!("opening SQLite store {path}");
        let options = SqliteConnectOptions::from_str(&format!("sqlite://{path}"))
            .map_err(Error::database(&context))?
            .create_if_missing(true)
            .busy_timeout(Duration::from_secs(10))
            // The queue's pages stay in memory: a claim or a count reads no disk.
            .pragma("cache_size", "-32768")
            .pragma("mmap_size", "268435456")
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal);
        // The writer first: it creates the file and sets its journal mode.
        let writer = options.connect().await.map_err(Error::database(&context))?;
        let readers = SqlitePoolOptions::new()
            .max_connections(8)
            // A connection to a local file does not go stale: no ping before each use.
            .test_before_acquire(false)
            .connect_lazy_with(options);
        let store = Sqlite {
            writer: Mutex::new(writer),
            readers,
        };
        let context = "migrating the SQLite store";
        shared::migrate(&store, schema::Backend::Sqlite, None, context).await?;
        Ok(store)
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
}

/// What both SQLite stores (on a file, in memory) do their own way, in
/// statements only SQLite takes.
pub(crate) trait SqliteQueue: Run + Sized {
    async fn enqueue(&self, batch: &Batch<'_>) -> Result<(), Error> {
        // One statement for the whole batch: the rows travel as a JSON array.
        let rows = serde_json::to_string(&latest_per_key(batch.tasks)).expect("strings serialise");
        let insert = "INSERT INTO tasks (integration, dedup_key, payload, status, attempts, next_attempt_at, created_at, updated_at)
             SELECT $1, json_extract(value, '$[0]'), json_extract(value, '$[1]'), 'new', 0, $2, $2, $2
             FROM json_each($3) WHERE true
             ON CONFLICT (integration, dedup_key) WHERE status IN ('new', 'failed')
             DO UPDATE SET payload = excluded.payload, updated_at = excluded.updated_at,
                 batch_key = NULL";
        shared::enqueue(self, batch, insert, |s| s.bind(rows.as_str())).await
    }

    /// Completes `done` (when any), then claims the next tasks. Each commits
    /// on its own: a crash between them leaves the completions made and
    /// nothing claimed, as if the claim came later, so two trips to the
    /// connection's thread do instead of four with `BEGIN`/`COMMIT` (a WAL
    /// commit waits for no disk at `synchronous = NORMAL`).
    async fn claim(&self, claim: &ClaimRequest<'_>) -> Result<(u64, Vec<Claimed>), Error> {
        let lease = &claim.lease;
        let completed = match claim.done {
            [] => 0,
            done => shared::complete_many(self, done, lease.holder, lease.from).await?,
        };
        let rows = self
            .execute_returning(shared::claim(claim.integration, claim.limit, lease))
            .await?;
        Ok((completed, shared::claimed(rows)))
    }

    async fn take_rate(&self, take: &RateTake<'_>) -> Result<u32, Error> {
        let &RateTake {
            system,
            window: window_start,
            want,
            limit,
        } = take;
        let context = format!("taking {want} from {system}'s rate limit");
        // One statement: what is left of the window (as it was) is granted and
        // counted at once, so concurrent takers never share a unit.
        let take = Statement::new(
            "INSERT INTO rate_windows (system, window_start, used, granted)
             VALUES ($1, $2, MIN($3, $4), MIN($3, $4))
             ON CONFLICT (system, window_start) DO UPDATE SET
                 granted = MIN($3, MAX(0, $4 - used)),
                 used = used + MIN($3, MAX(0, $4 - used))
             RETURNING granted",
            context,
        )
        .bind(system)
        .bind(window_start)
        .bind(want)
        .bind(limit);
        let granted: Vec<(i64,)> = self.execute_returning(take).await?;
        Ok(granted.first().map_or(0, |r| r.0).max(0) as u32)
    }

    async fn acquire_slot(&self, request: &SlotRequest<'_>) -> Result<Option<u32>, Error> {
        let context = format!("acquiring a capacity slot for {}", request.execution);
        // Once the slots exist, one statement takes a free one.
        let taken: Vec<(i64,)> = self
            .execute_returning(shared::take_slot_statement(request, &context))
            .await?;
        if let Some(&(slot,)) = taken.first() {
            return Ok(Some(slot as u32));
        }
        // None free, or not all made yet (the first run, a larger capacity).
        self.transaction(&context, async |tx| {
            for slot in 0..i64::from(request.capacity) {
                let make = Statement::new(
                    "INSERT INTO slots (slot) VALUES ($1) ON CONFLICT (slot) DO NOTHING",
                    &context,
                );
                tx.execute(make.bind(slot)).await?;
            }
            shared::take_slot(tx, request).await
        })
        .await
    }
}

impl SqliteQueue for Sqlite {}
