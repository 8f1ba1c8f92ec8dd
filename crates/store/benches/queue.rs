//! Task throughput: enqueue + claim + complete in batches of 100 (a push
//! loop completes a batch and claims the next in one transaction), with 1 and 4
//! workers, on both backends (goals: SQLite ≥ 20,000 tasks/s, PostgreSQL ≥ 10,000),
//! and on the in-memory store a simulation runs on (what a simulated day's
//! queue work costs at the least).
//!
//! `cargo bench -p pacer-store --bench queue` (PostgreSQL from `PACER_TEST_POSTGRES`,
//! default the local server).

use std::{
    sync::Arc,
    sync::atomic::{AtomicU64, Ordering},
    time::{Duration, Instant},
};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use pacer_store::{Cursor, NewTask, Store, StoreBuilder};
use support::{at, lease};

#[path = "../tests/support/mod.rs"]
mod support;

const BATCH: usize = 100;
/// Batches each worker moves per iteration.
const ROUNDS: usize = 10;

async fn sqlite() -> Store {
    let dir = std::env::temp_dir().join(format!("pacer-bench-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    StoreBuilder::new(&format!("sqlite://{}", dir.join("bench.db").display()))
        .open()
        .await
        .unwrap()
}

async fn postgres() -> Store {
    let url = std::env::var("PACER_TEST_POSTGRES")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_string());
    let schema = format!("pacer_bench_{}", std::process::id());
    let mut admin = <sqlx::PgConnection as sqlx::Connection>::connect(&url)
        .await
        .unwrap();
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
        "DROP SCHEMA IF EXISTS {schema} CASCADE; CREATE SCHEMA {schema}"
    )))
    .execute(&mut admin)
    .await
    .unwrap();
    StoreBuilder::new(&url)
        .schema(&schema)
        .open()
        .await
        .unwrap()
}

/// One iteration: every worker enqueues, claims and completes `ROUNDS`
/// batches of `BATCH` tasks of its own integration.
async fn run(store: Arc<Store>, workers: usize, iteration: u64) {
    let mut handles = Vec::new();
    for worker in 0..workers {
        let store = store.clone();
        handles.push(tokio::spawn(async move {
            let integration = format!("bench-{iteration}-{worker}");
            for round in 0..ROUNDS {
                let tasks: Vec<NewTask> = (0..BATCH)
                    .map(|i| NewTask {
                        key: format!("{round}-{i}"),
                        payload: r#"{"sku":"A","amount":1}"#.into(),
                    })
                    .collect();
                store
                    .enqueue(&integration, &tasks, Some(&Cursor::at("cursor")), at(0))
                    .await
                    .unwrap();
                let claimed = store
                    .claim(&integration, BATCH as u32, &lease("bench", 1, 3_600_000))
                    .await
                    .unwrap();
                let ids: Vec<i64> = claimed.iter().map(|t| t.id).collect();
                assert_eq!(
                    store.complete_many(&ids, "bench", at(2)).await.unwrap(),
                    BATCH as u64
                );
            }
        }));
    }
    for handle in handles {
        handle.await.unwrap();
    }
}

fn queue(c: &mut Criterion) {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let iteration = AtomicU64::new(0);
    let mut group = c.benchmark_group("queue");
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(10));
    for backend in ["sqlite", "in-memory", "postgres"] {
        let store = Arc::new(runtime.block_on(async {
            match backend {
                "sqlite" => sqlite().await,
                "in-memory" => StoreBuilder::in_memory().open().await.unwrap(),
                _ => postgres().await,
            }
        }));
        for workers in [1, 4] {
            group.throughput(Throughput::Elements((workers * ROUNDS * BATCH) as u64));
            group.bench_function(format!("{backend}/{workers}_workers"), |b| {
                b.iter_custom(|iters| {
                    let start = Instant::now();
                    for _ in 0..iters {
                        let n = iteration.fetch_add(1, Ordering::Relaxed);
                        runtime.block_on(run(store.clone(), workers, n));
                    }
                    start.elapsed()
                })
            });
        }
    }
    group.finish();
}

criterion_group!(benches, queue);
criterion_main!(benches);
