//! The store's side of the queue peer benchmark (`benches/queue-peer/run.sh`,
//! which runs graphile-worker on the same work beside it): enqueues N tasks
//! of one integration, 100 a call, then drains them with C workers sharing
//! that queue, each completing a batch and claiming the next in one call as
//! the push loop does. Prints one JSON line of tasks a second.
//!
//! ```sh
//! cargo run --release -p pacer-store --example drain -- URL N C
//! ```
//!
//! URL is a PostgreSQL or SQLite URL; on PostgreSQL the work happens in a
//! fresh schema of its own, dropped at the end.

use std::time::Instant;

use jiff::Timestamp;
use pacer_store::{Lease, NewTask, Store, StoreBuilder};

const BATCH: usize = 100;
const INTEGRATION: &str = "drain";

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [url, n, workers] = args.as_slice() else {
        return Err("usage: drain URL N C (tasks, workers)".into());
    };
    let n: usize = n.parse().map_err(|e| format!("N {n:?}: {e}"))?;
    let workers: usize = workers.parse().map_err(|e| format!("C {workers:?}: {e}"))?;
    let schema = format!("pacer_drain_{}", std::process::id());
    let postgres = url.starts_with("postgres");
    if postgres {
        admin(
            url,
            &format!("DROP SCHEMA IF EXISTS {schema} CASCADE; CREATE SCHEMA {schema}"),
        )
        .await?;
    }
    let mut builder = StoreBuilder::new(url);
    if postgres {
        builder.schema(&schema);
    }
    let store = std::sync::Arc::new(builder.open().await?);

    let started = Instant::now();
    for first in (0..n).step_by(BATCH) {
        let tasks: Vec<NewTask> = (first..n.min(first + BATCH))
            .map(|i| NewTask {
                key: i.to_string(),
                payload: r#"{"sku":"A","amount":1}"#.into(),
            })
            .collect();
        store
            .enqueue(INTEGRATION, &tasks, None, Timestamp::now())
            .await?;
    }
    let enqueued = started.elapsed().as_secs_f64();

    let draining = Instant::now();
    let mut handles = Vec::new();
    for worker in 0..workers {
        let store = store.clone();
        handles.push(tokio::spawn(drain(store, format!("worker-{worker}"))));
    }
    let mut drained = 0;
    for handle in handles {
        drained += handle.await??;
    }
    let drain = draining.elapsed().as_secs_f64();
    if drained != n as u64 {
        return Err(format!("drained {drained} of {n} tasks").into());
    }
    println!(
        "{{\"queue\":\"pacer\",\"tasks\":{n},\"concurrency\":{workers},\
         \"enqueue_per_s\":{:.0},\"drain_per_s\":{:.0},\"total_per_s\":{:.0}}}",
        n as f64 / enqueued,
        n as f64 / drain,
        n as f64 / (enqueued + drain),
    );
    drop(store);
    if postgres {
        admin(url, &format!("DROP SCHEMA {schema} CASCADE")).await?;
    }
    Ok(())
}

/// Completes and claims batches until the queue is empty; how many it completed.
async fn drain(store: std::sync::Arc<Store>, holder: String) -> Result<u64, pacer_store::Error> {
    let mut done: Vec<i64> = Vec::new();
    let mut completed = 0;
    loop {
        let now = Timestamp::now();
        let lease = Lease {
            holder: &holder,
            from: now,
            until: now + jiff::SignedDuration::from_mins(5),
        };
        let (held, claimed) = store
            .complete_and_claim(&done, INTEGRATION, BATCH as u32, &lease)
            .await?;
        completed += held;
        if claimed.is_empty() {
            return Ok(completed);
        }
        done = claimed.iter().map(|task| task.id).collect();
    }
}

async fn admin(url: &str, sql: &str) -> Result<(), sqlx::Error> {
    let mut connection = <sqlx::PgConnection as sqlx::Connection>::connect(url).await?;
    sqlx::raw_sql(sqlx::AssertSqlSafe(sql.to_string()))
        .execute(&mut connection)
        .await?;
    Ok(())
}
