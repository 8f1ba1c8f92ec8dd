//! The scale-out backend: several nodes on one PostgreSQL database.
//!
//! Claims lock rows with `FOR UPDATE SKIP LOCKED`, so concurrent claimers
//! take different tasks instead of queueing behind each other; migrations
//! run under an advisory lock, so nodes starting together migrate once.

use std::str::FromStr;

use sqlx::{
    PgPool,
    postgres::{PgConnectOptions, PgPoolOptions},
};

use crate::{
    Error,
    model::{Claimed, ClaimedRow, LeaseMillis, NewTask, granted, latest_per_key},
    schema, shared,
    sql::{Decode, Dialect, Run, Statement, Tx},
};

pub(crate) struct Postgres {
    pool: PgPool,
}

impl Run for Postgres {
    async fn transaction<T>(
        &self,
        context: &str,
        work: impl AsyncFnOnce(&mut Tx<'_>) -> Result<T, Error>,
    ) -> Result<T, Error> {
        let tx = self.pool.begin().await.map_err(Error::database(context))?;
        let mut tx = Tx::Postgres(tx);
        let value = work(&mut tx).await?;
        tx.commit(context).await?;
        Ok(value)
    }

    async fn execute(&self, statement: Statement<'_>) -> Result<u64, Error> {
        sqlx::query_with(
            sqlx::Postgres::sql(statement.sql),
            statement.arguments::<sqlx::Postgres>()?,
        )
        .execute(&self.pool)
        .await
        .map(|done| done.rows_affected())
        .map_err(Error::database(statement.context))
    }

    async fn execute_returning<R: Decode>(
        &self,
        statement: Statement<'_>,
    ) -> Result<Vec<R>, Error> {
        self.fetch(statement).await
    }

    async fn fetch<R: Decode>(&self, statement: Statement<'_>) -> Result<Vec<R>, Error> {
        sqlx::query_as_with(
            sqlx::Postgres::sql(statement.sql),
            statement.arguments::<sqlx::Postgres>()?,
        )
        .fetch_all(&self.pool)
        .await
        .map_err(Error::database(statement.context))
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

    // Any constant in the lock: nodes starting together take turns.
    async fn migrate(&self) -> Result<(), Error> {
        shared::migrate(
            self,
            schema::Backend::Postgres,
            Some("SELECT pg_advisory_xact_lock(7061636572)"),
            "migrating the PostgreSQL store",
        )
        .await
    }

    pub(crate) async fn enqueue(
        &self,
        integration: &str,
        tasks: &[NewTask],
        cursor: Option<&str>,
        now: i64,
    ) -> Result<(), Error> {
        // One statement for the whole batch: keys and payloads as two arrays.
        let (keys, payloads): (Vec<&str>, Vec<&str>) = latest_per_key(tasks).into_iter().unzip();
        let insert = Statement::new(
            "INSERT INTO tasks (integration, dedup_key, payload, status, attempts, next_attempt_at, created_at, updated_at)
             SELECT $1, k, p, 'new', 0, $2, $2, $2 FROM UNNEST($3::text[], $4::text[]) AS batch (k, p)
             ON CONFLICT (integration, dedup_key) WHERE status IN ('new', 'failed')
             DO UPDATE SET payload = excluded.payload, updated_at = excluded.updated_at, batch_key = NULL",
            format!("queueing {} tasks for {integration}", tasks.len()),
        )
        .bind(integration)
        .bind(now)
        .bind(keys.as_slice())
        .bind(payloads.as_slice());
        shared::enqueue(self, insert, integration, cursor, now).await
    }

    /// Completes `done` (when any) and claims the next tasks in one
    /// transaction: a push loop pays one durable commit per batch, not two.
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
}
