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
    model::{Batch, ClaimRequest, Claimed, RateTake, SlotRequest, granted, latest_per_key},
    schema, shared,
    sql::{Decode, Dialect, Run, Statement, Tx, Work},
};

pub(crate) struct Postgres {
    pool: PgPool,
}

impl Run for Postgres {
    async fn transaction<T>(&self, context: &str, work: impl Work<T>) -> Result<T, Error> {
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
        // Any constant in the lock: nodes starting together take turns.
        let lock = "SELECT pg_advisory_xact_lock(7061636572)";
        let context = "migrating the PostgreSQL store";
        shared::migrate(&store, schema::Backend::Postgres, Some(lock), context).await?;
        Ok(store)
    }

    pub(crate) async fn enqueue(&self, batch: &Batch<'_>) -> Result<(), Error> {
        // One statement for the whole batch: keys and payloads as two arrays.
        let (keys, payloads): (Vec<&str>, Vec<&str>) =
            latest_per_key(batch.tasks).into_iter().unzip();
        let insert = "INSERT INTO tasks (integration, dedup_key, payload, status, attempts, next_attempt_at, created_at, updated_at)
             SELECT $1, k, p, 'new', 0, $2, $2, $2 FROM UNNEST($3::text[], $4::text[]) AS batch (k, p)
             ON CONFLICT (integration, dedup_key) WHERE status IN ('new', 'failed')
             DO UPDATE SET payload = excluded.payload, updated_at = excluded.updated_at, batch_key = NULL";
        shared::enqueue(self, batch, insert, |s| {
            s.bind(keys.as_slice()).bind(payloads.as_slice())
        })
        .await
    }

    /// Completes `done` (when any) and claims the next tasks in one
    /// transaction: a push loop pays one durable commit per batch, not two.
    pub(crate) async fn claim(
        &self,
        claim: &ClaimRequest<'_>,
    ) -> Result<(u64, Vec<Claimed>), Error> {
        let lease = &claim.lease;
        let context = format!("claiming tasks of {}", claim.integration);
        self.transaction(&context, async |tx| {
            let completed = match claim.done {
                [] => 0,
                done => {
                    let statement = shared::complete_many_statement(done, lease.holder, lease.from);
                    tx.execute(statement).await?
                }
            };
            let rows = tx
                .fetch(shared::claim(claim.integration, claim.limit, lease))
                .await?;
            Ok((completed, shared::claimed(rows)))
        })
        .await
    }

    pub(crate) async fn take_rate(&self, take: &RateTake<'_>) -> Result<u32, Error> {
        let context = format!("taking {} from {}'s rate limit", take.want, take.system);
        self.transaction(&context, async |tx| {
            // The row lock makes nodes taking from one window wait for each other.
            let window = Statement::new(
                "INSERT INTO rate_windows (system, window_start, used) VALUES ($1, $2, 0)
                 ON CONFLICT (system, window_start) DO UPDATE SET used = rate_windows.used
                 RETURNING used",
                &context,
            );
            let used: Vec<(i64,)> = tx.fetch(window.bind(take.system).bind(take.window)).await?;
            let granted = granted(used.first().map_or(0, |r| r.0), take.want, take.limit);
            let count = Statement::new(
                "UPDATE rate_windows SET used = used + $1 WHERE system = $2 AND window_start = $3",
                &context,
            );
            tx.execute(count.bind(granted).bind(take.system).bind(take.window))
                .await?;
            Ok(granted)
        })
        .await
    }

    pub(crate) async fn acquire_slot(
        &self,
        request: &SlotRequest<'_>,
    ) -> Result<Option<u32>, Error> {
        let context = format!("acquiring a capacity slot for {}", request.execution);
        self.transaction(&context, async |tx| {
            let make = Statement::new(
                "INSERT INTO slots (slot) SELECT generate_series(0, $1 - 1) ON CONFLICT (slot) DO NOTHING",
                &context,
            );
            tx.execute(make.bind(request.capacity)).await?;
            shared::take_slot(tx, request).await
        })
        .await
    }
}
