//! The embedded backend: one SQLite file in WAL mode (or, for a throwaway
//! store, a database in this process's memory), written through one
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
    sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous},
};
use tokio::sync::{Mutex, MutexGuard};

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
    /// dashboard never waits for the queue. A throwaway store has none: one
    /// task at a time reads and writes there, through the writer.
    readers: Option<SqlitePool>,
    /// Whether finished tasks are forgotten as they finish, only counted
    /// (a throwaway store's, see [`FORGET_FINISHED`]).
    forgets_finished: bool,
}

/// What a throwaway store runs once it is made. Nobody lists its finished
/// tasks, while a simulated day finishes millions: kept, they would make
/// every claim and queueing walk indexes of millions of rows. So a task
/// that finishes is deleted instead ([`Run::forgets_finished`]: the only
/// delete of a task still processing), and this trigger counts it in
/// `finished_tally`, by integration and the instant it was queued, for
/// the counts the store answers.
const FORGET_FINISHED: &str = "CREATE TABLE finished_tally (
        integration TEXT NOT NULL,
        created_at BIGINT NOT NULL,
        n BIGINT NOT NULL,
        PRIMARY KEY (integration, created_at)
    );
    CREATE TRIGGER tally_finished AFTER DELETE ON tasks
    WHEN old.status = 'processing'
    BEGIN
        INSERT INTO finished_tally (integration, created_at, n)
        VALUES (old.integration, old.created_at, 1)
        ON CONFLICT (integration, created_at) DO UPDATE SET n = n + 1;
    END;";

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
        .fetch_all(&mut *self.reader().await?)
        .await
        .map_err(Error::database(statement.context))
    }

    fn forgets_finished(&self) -> bool {
        self.forgets_finished
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
            readers: Some(readers),
            forgets_finished: false,
        };
        let context = "migrating the SQLite store";
        shared::migrate(&store, schema::Backend::Sqlite, None, context).await?;
        Ok(store)
    }

    /// A throwaway store: a database in this process's memory, gone when
    /// the store is dropped, on its one connection. Nothing waits for a
    /// disk or a file lock, and nothing is left behind.
    pub(crate) async fn in_memory() -> Result<Sqlite, Error> {
        let context = "opening an in-memory SQLite store";
        let writer = SqliteConnectOptions::from_str("sqlite::memory:")
            .map_err(Error::database(context))?
            .connect()
            .await
            .map_err(Error::database(context))?;
        let store = Sqlite {
            writer: Mutex::new(writer),
            readers: None,
            forgets_finished: true,
        };
        let context = "migrating the in-memory SQLite store";
        shared::migrate(&store, schema::Backend::Sqlite, None, context).await?;
        sqlx::raw_sql(FORGET_FINISHED)
            .execute(&mut *store.writer.lock().await)
            .await
            .map_err(Error::database(context))?;
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

    pub(crate) async fn enqueue(&self, batch: &Batch<'_>) -> Result<(), Error> {
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
    pub(crate) async fn claim(
        &self,
        claim: &ClaimRequest<'_>,
    ) -> Result<(u64, Vec<Claimed>), Error> {
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

    pub(crate) async fn take_rate(&self, take: &RateTake<'_>) -> Result<u32, Error> {
        let &RateTake {
            system,
            window: window_start,
            want,
            limit,
        } = take;
        let context = format!("taking {want} from {system}'s rate limit");
        // One statement: what is left of the window (as it was) is granted and
        // counted at once, so concurrent takers never share a unit.
        let (granted,): (i64,) = sqlx::query_as(
            "INSERT INTO rate_windows (system, window_start, used, granted)
             VALUES (?1, ?2, MIN(?3, ?4), MIN(?3, ?4))
             ON CONFLICT (system, window_start) DO UPDATE SET
                 granted = MIN(?3, MAX(0, ?4 - used)),
                 used = used + MIN(?3, MAX(0, ?4 - used))
             RETURNING granted",
        )
        .bind(system)
        .bind(window_start)
        .bind(i64::from(want))
        .bind(i64::from(limit))
        .fetch_one(&mut *self.writer.lock().await)
        .await
        .map_err(Error::database(&context))?;
        Ok(granted.max(0) as u32)
    }

    pub(crate) async fn acquire_slot(
        &self,
        request: &SlotRequest<'_>,
    ) -> Result<Option<u32>, Error> {
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
