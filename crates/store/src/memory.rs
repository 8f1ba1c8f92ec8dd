//! The throwaway backend: SQLite in this process's memory, for a run whose
//! store nobody opens again (a simulation's).
//!
//! It runs the SQLite backend's statements, but through rusqlite, on the
//! calling thread, instead of through sqlx, whose SQLite connections live
//! on a thread of their own. A statement on a store in memory takes a
//! microsecond or two; the trip to that thread and back took some 45 µs
//! on this project's 2-core machine, and a simulated day makes tens of
//! thousands of them, one after the other. Nothing here waits for a disk,
//! so running on the caller's thread never holds up the runtime.
//!
//! The task queue is the exception: its tasks live in Rust collections
//! ([`queue`]), not in the SQLite tables, and a task that finishes is
//! forgotten, only counted — the one difference in what this store answers.
//! Nobody lists a simulation's finished tasks, while a simulated day
//! finishes millions.

use std::sync::{MutexGuard, PoisonError};

use rusqlite::{Connection, types::ToSql};
use tokio::sync::Mutex;

use crate::{
    Error,
    error::ErrorKind,
    model::{Batch, Cutoffs, LeaseMillis, Pruned, RowCounts},
    schema, shared,
    sql::{Decode, Dialect, Run, Statement, Tx, Value, Work, sqlite_list},
    sqlite::SqliteQueue,
};

mod queue;

pub(crate) struct Memory {
    /// Held across a transaction's statements, as the SQLite backend's
    /// writer is; an async mutex, so a transaction's work may await.
    connection: Mutex<Connection>,
    /// Never held across an await: each of its calls is done at once.
    /// Boxed: it is most of a store's size, and a store is passed around.
    queue: std::sync::Mutex<Box<queue::Queue>>,
}

/// Statements kept prepared: every one the store runs, with room to spare
/// (rusqlite's default keeps 16, fewer than a simulation uses).
const PREPARED: usize = 256;

impl Memory {
    pub(crate) async fn open() -> Result<Memory, Error> {
        let context = "opening an in-memory SQLite store";
        let connection = Connection::open_in_memory().map_err(Error::database(context))?;
        connection.set_prepared_statement_cache_capacity(PREPARED);
        let store = Memory {
            connection: Mutex::new(connection),
            queue: std::sync::Mutex::default(),
        };
        let context = "migrating the in-memory SQLite store";
        shared::migrate(&store, schema::Backend::Sqlite, None, context).await?;
        Ok(store)
    }

    /// The task queue. A panic half-way through one of its calls would be a
    /// bug of the queue's, not a reason to refuse every later call.
    pub(crate) fn queue(&self) -> MutexGuard<'_, Box<queue::Queue>> {
        self.queue.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Moves the cursor (in SQLite), then queues the tasks: nothing can
    /// fail after the cursor moved, so the two stay one change.
    pub(crate) async fn enqueue(&self, batch: &Batch<'_>) -> Result<(), Error> {
        if let Some(cursor) = batch.cursor {
            let boundary = cursor.boundary.join(" ");
            let context = format!("moving the cursor of {}", batch.integration);
            let set = shared::set_cursor(batch.integration, cursor, &boundary, batch.now, &context);
            self.execute(set).await?;
        }
        self.queue().enqueue(batch);
        Ok(())
    }

    /// What the node held in SQLite (slots, executions), then its task leases.
    pub(crate) async fn release_node(
        &self,
        node: &str,
        now: i64,
    ) -> Result<Vec<(String, i64, String)>, Error> {
        let interrupted = shared::release_node(self, node, now).await?;
        self.queue().release_node(node, now);
        Ok(interrupted)
    }

    /// The node's slots in SQLite, then its task leases.
    pub(crate) async fn renew_leases(&self, lease: &LeaseMillis<'_>) -> Result<(), Error> {
        shared::renew_leases(self, lease).await?;
        self.queue().renew_leases(lease);
        Ok(())
    }

    /// Executions and rate windows in SQLite, tasks and their errors here.
    pub(crate) async fn prune(&self, cutoffs: &Cutoffs, batch: u32) -> Result<Pruned, Error> {
        let in_sqlite = shared::prune(self, cutoffs, batch).await?;
        Ok(Pruned {
            executions: in_sqlite.executions,
            rate_windows: in_sqlite.rate_windows,
            ..self.queue().prune(cutoffs)
        })
    }

    pub(crate) async fn row_counts(&self) -> Result<RowCounts, Error> {
        let in_sqlite = shared::row_counts(self).await?;
        let (tasks, task_errors) = self.queue().rows();
        Ok(RowCounts {
            tasks,
            task_errors,
            ..in_sqlite
        })
    }
}

impl Run for Memory {
    async fn transaction<T>(&self, context: &str, work: impl Work<T>) -> Result<T, Error> {
        let mut connection = self.connection.lock().await;
        connection
            .execute_batch("BEGIN IMMEDIATE")
            .map_err(Error::database(context))?;
        let mut tx = Tx::Memory(Open {
            connection: &mut connection,
            committed: false,
        });
        let value = work(&mut tx).await?;
        tx.commit(context).await?;
        Ok(value)
    }

    async fn execute(&self, statement: Statement<'_>) -> Result<u64, Error> {
        execute(&*self.connection.lock().await, &statement)
    }

    async fn execute_returning<R: Decode>(
        &self,
        statement: Statement<'_>,
    ) -> Result<Vec<R>, Error> {
        fetch(&*self.connection.lock().await, &statement)
    }

    async fn fetch<R: Decode>(&self, statement: Statement<'_>) -> Result<Vec<R>, Error> {
        fetch(&*self.connection.lock().await, &statement)
    }
}

/// A transaction begun on the in-memory store; dropped before
/// [`Open::commit`], it rolls back, as sqlx's do.
pub(crate) struct Open<'c> {
    /// Mutable, so the transaction's future may move between threads
    /// (a connection is `Send`, not `Sync`).
    connection: &'c mut Connection,
    committed: bool,
}

impl Open<'_> {
    pub(crate) fn execute(&self, statement: &Statement<'_>) -> Result<u64, Error> {
        execute(self.connection, statement)
    }

    pub(crate) fn fetch<R: Decode>(&self, statement: &Statement<'_>) -> Result<Vec<R>, Error> {
        fetch(self.connection, statement)
    }

    pub(crate) fn execute_script(&self, sql: &str, context: &str) -> Result<(), Error> {
        self.connection
            .execute_batch(sql)
            .map_err(Error::database(context))
    }

    pub(crate) fn commit(mut self, context: &str) -> Result<(), Error> {
        self.connection
            .execute_batch("COMMIT")
            .map_err(Error::database(context))?;
        self.committed = true;
        Ok(())
    }
}

impl Drop for Open<'_> {
    fn drop(&mut self) {
        if !self.committed {
            // Nothing to do if it fails: the connection is gone with the store.
            let _ = self.connection.execute_batch("ROLLBACK");
        }
    }
}

impl SqliteQueue for Memory {}

fn execute(connection: &Connection, statement: &Statement<'_>) -> Result<u64, Error> {
    let mut prepared = prepare(connection, statement)?;
    let mut rows = prepared.raw_query();
    // Stepped to the end, so a write with `RETURNING` is done too.
    while rows
        .next()
        .map_err(Error::database(&statement.context))?
        .is_some()
    {}
    drop(rows);
    Ok(connection.changes())
}

fn fetch<R: Decode>(connection: &Connection, statement: &Statement<'_>) -> Result<Vec<R>, Error> {
    let mut prepared = prepare(connection, statement)?;
    let mut rows = prepared.raw_query();
    let mut decoded = Vec::new();
    while let Some(row) = rows.next().map_err(Error::database(&statement.context))? {
        decoded.push(R::try_from(row).map_err(Error::database(&statement.context))?);
    }
    Ok(decoded)
}

/// The statement prepared (or found prepared) with its values bound. A
/// value goes where its number says (`$2` is the second, however often
/// and wherever it appears), as sqlx binds them for SQLite.
fn prepare<'c>(
    connection: &'c Connection,
    statement: &Statement<'_>,
) -> Result<rusqlite::CachedStatement<'c>, Error> {
    let sql = sqlx::Sqlite::sql(statement.sql);
    let context = &statement.context;
    let mut prepared = connection
        .prepare_cached(&sql.0)
        .map_err(Error::database(context))?;
    for index in 1..=prepared.parameter_count() {
        let number = prepared
            .parameter_name(index)
            .and_then(|name| name.get(1..)?.parse::<usize>().ok())
            .unwrap_or(index);
        let Some(value) = number.checked_sub(1).and_then(|n| statement.values.get(n)) else {
            let missing = format!("the statement has parameter ${number} but no value for it");
            return Err(Error::new(ErrorKind::Database(missing), context.as_str()));
        };
        bind(&mut prepared, index, *value).map_err(Error::database(context))?;
    }
    Ok(prepared)
}

fn bind(
    prepared: &mut rusqlite::Statement<'_>,
    index: usize,
    value: Value<'_>,
) -> Result<(), rusqlite::Error> {
    let value: Box<dyn ToSql + '_> = match value {
        Value::Int(v) => Box::new(v),
        Value::Text(v) => Box::new(v),
        Value::Bool(v) => Box::new(v),
        Value::MaybeInt(v) => Box::new(v),
        Value::MaybeText(v) => Box::new(v),
        list @ (Value::Ints(_) | Value::Texts(_) | Value::Strs(_)) => {
            Box::new(sqlite_list(list).map_err(rusqlite::Error::ToSqlConversionFailure)?)
        }
    };
    prepared.raw_bind_parameter(index, value)
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn store() -> Memory {
        let store = Memory::open().await.unwrap();
        store
            .execute(Statement::new(
                "CREATE TABLE t (a BIGINT, b TEXT, c BOOLEAN, d BIGINT)",
                "making t",
            ))
            .await
            .unwrap();
        store
    }

    /// `$n` is the n-th value wherever and however often it appears, as
    /// sqlx binds it; a missing value is an error that names it.
    #[tokio::test]
    async fn values_go_where_their_numbers_say() {
        let store = store().await;
        let insert = Statement::new(
            "INSERT INTO t (b, a, c, d) VALUES ($2, $1, $3, $1 + $4)",
            "inserting",
        )
        .bind(7i64)
        .bind("seven")
        .bind(true)
        .bind(Option::<i64>::None);
        assert_eq!(store.execute(insert).await.unwrap(), 1);
        let rows: Vec<(i64, String, bool, Option<i64>)> = store
            .fetch(Statement::new("SELECT a, b, c, d FROM t", "reading"))
            .await
            .unwrap();
        assert_eq!(rows, [(7, "seven".to_string(), true, None)]);
        let short = Statement::new("SELECT $1, $2", "reading short").bind(1i64);
        let err = store.fetch::<(i64, i64)>(short).await.unwrap_err();
        assert_eq!(
            err.to_string(),
            "reading short: the statement has parameter $2 but no value for it"
        );
    }

    #[tokio::test]
    async fn lists_are_read_as_elements() {
        let store = store().await;
        let ids: &[i64] = &[3, 1, 2];
        let rows: Vec<(i64,)> = store
            .fetch(
                Statement::new("SELECT value FROM elements($1) ORDER BY value", "listing")
                    .bind(ids),
            )
            .await
            .unwrap();
        assert_eq!(rows, [(1,), (2,), (3,)]);
    }

    /// A transaction whose work fails leaves nothing behind, and the store
    /// takes the next one.
    #[tokio::test]
    async fn a_failed_transaction_rolls_back() {
        let store = store().await;
        let failed: Result<(), Error> = store
            .transaction("failing", async |tx| {
                tx.execute(Statement::new("INSERT INTO t (a) VALUES (1)", "inserting"))
                    .await?;
                tx.execute(Statement::new("INSERT INTO nowhere VALUES (1)", "missing"))
                    .await?;
                Ok(())
            })
            .await;
        assert!(failed.unwrap_err().to_string().starts_with("missing: "));
        store
            .transaction("inserting", async |tx| {
                tx.execute(Statement::new("INSERT INTO t (a) VALUES (2)", "inserting"))
                    .await
            })
            .await
            .unwrap();
        let rows: Vec<(i64,)> = store
            .fetch(Statement::new("SELECT a FROM t", "reading"))
            .await
            .unwrap();
        assert_eq!(rows, [(2,)]);
    }

    /// A push claims once per batch: the SQLite stores' claim statement
    /// must stay prepared whatever it is bound to. (A bare `LIMIT $n` made
    /// SQLite prepare it again at each bind, some 5% of a large simulated
    /// day when the simulation's queue was SQLite.) This store's SQLite
    /// connection is the handy one to ask.
    #[tokio::test]
    async fn a_claim_is_prepared_once() {
        let store = Memory::open().await.unwrap();
        let connection = store.connection.lock().await;
        for (n, until) in [(3u32, 100i64), (5, 200), (1, 300)] {
            let lease = crate::model::LeaseMillis {
                holder: "node",
                from: until - 10,
                until,
            };
            let claim = shared::claim("prices", n, &lease);
            let mut prepared = prepare(&connection, &claim).unwrap();
            let mut rows = prepared.raw_query();
            while rows.next().unwrap().is_some() {}
            drop(rows);
            let again = prepared.get_status(rusqlite::StatementStatus::RePrepare);
            assert_eq!(again, 0, "prepared again after binding a limit of {n}");
        }
    }
}
