//! Records per second through pull → queue → transform → push, on loopback,
//! rate limits off: `cargo bench -p pacer-engine --bench throughput`.
//!
//! A mock ERP holds a backlog of N changes; one engine pulls them in pages
//! of 1,000, queues them, transforms each with jq and delivers them to a
//! mock webshop in JSON array batches of 100, on the virtual clock (so
//! schedules cost no waiting). The baseline, measured in the same run, is
//! the store alone moving N tasks in the same pages and claims: the part of the
//! pipeline that is not HTTP or jq.

use std::{
    sync::Arc,
    time::{Duration, Instant},
};

use jiff::{SignedDuration, Timestamp};
use pacer_engine::{Clock, Engine, Settings, VirtualClock};
use pacer_mock::{Feed, MockSystem, Running};
use pacer_store::{Cursor, Lease, NewTask, Store, StoreBuilder};

const RECORDS: u64 = 50_000;

async fn mock(name: &str, feeds: Vec<Feed>, start: Timestamp, clock: Arc<dyn Clock>) -> Running {
    let system = MockSystem {
        name: name.into(),
        rate_per_minute: None,
        feeds,
        start,
        now: Arc::new(move || clock.now()),
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    pacer_mock::serve(system, listener).unwrap()
}

async fn pipeline(store: Arc<Store>) -> Duration {
    let start: Timestamp = "2026-11-27T00:00:00Z".parse().unwrap();
    let clock: Arc<dyn Clock> = Arc::new(VirtualClock::new(start));
    // The whole backlog happened in the hour before the run.
    let feeds = vec![Feed {
        entity: "prices".into(),
        volume_per_day: RECORDS as f64 * 24.0,
        total: Some(RECORDS),
        profile: None,
    }];
    let erp = mock(
        "erp",
        feeds,
        start - SignedDuration::from_hours(1),
        clock.clone(),
    )
    .await;
    let shop = mock("webshop", Vec::new(), start, clock.clone()).await;
    let yaml = format!(
        "environment: {{ capacity: 2 }}\n\
         systems:\n  erp: {{ rate: 100/min, base_url: \"{}\" }}\n  webshop: {{ rate: 100/min, base_url: \"{}\" }}\n\
         integrations:\n  prices:\n    from: erp\n    to: webshop\n    volume: 1000/day\n    \
         pull: {{ schedule: \"* * * * *\", max_items: {RECORDS} }}\n    \
         push: {{ schedule: \"* * * * *\", max_items: {RECORDS}, batch: 100, \
         transform: '{{key, sku, price: .amount, currency}}' }}\n",
        erp.base_url(),
        shop.base_url()
    );
    let config = pacer_config::parse(&yaml, "bench.yaml").unwrap();
    let plan = pacer_plan::plan(&config.environment).unwrap();
    let settings = Settings {
        node: "bench".into(),
        enforce_rates: false,
        page_size: 1_000,
        ..Settings::default()
    };
    let engine = Engine::new(&config, &plan, store, clock, settings).unwrap();
    let began = Instant::now();
    let mut minutes = 1;
    while shop
        .stats()
        .accepted
        .get("prices")
        .is_none_or(|a| a.distinct < RECORDS)
    {
        engine
            .run(Some(start + SignedDuration::from_mins(minutes)))
            .await
            .unwrap();
        minutes += 1;
        assert!(minutes < 100, "the pipeline stalled");
    }
    began.elapsed()
}

async fn store_only(store: Store) -> Duration {
    let began = Instant::now();
    let payload = r#"{"key":"prices-000001","sku":"SKU-000001","amount":"11.01","currency":"EUR","updated_at":"2026-11-27T00:00:00.000Z"}"#;
    for page in 0..RECORDS / 1_000 {
        let tasks: Vec<NewTask> = (0..1_000)
            .map(|i| NewTask {
                key: format!("prices-{}", page * 1_000 + i),
                payload: payload.into(),
            })
            .collect();
        store
            .enqueue(
                "prices",
                &tasks,
                Some(&Cursor::at("cursor")),
                Timestamp::UNIX_EPOCH,
            )
            .await
            .unwrap();
    }
    let mut done = Vec::new();
    // A lease that never runs out: the clock stands still.
    let lease = Lease {
        holder: "bench",
        from: Timestamp::UNIX_EPOCH,
        until: Timestamp::MAX,
    };
    loop {
        let (_, tasks) = store
            .complete_and_claim(&done, "prices", 1_000, &lease)
            .await
            .unwrap();
        if tasks.is_empty() {
            break;
        }
        done = tasks.iter().map(|t| t.id).collect();
    }
    began.elapsed()
}

fn per_second(elapsed: Duration) -> f64 {
    RECORDS as f64 / elapsed.as_secs_f64()
}

async fn postgres(tag: &str) -> Option<(StoreBuilder, String, String)> {
    let url = std::env::var("PACER_TEST_POSTGRES")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_string());
    let schema = format!("pacer_bench_{tag}_{}", std::process::id());
    let mut admin = <sqlx::PgConnection as sqlx::Connection>::connect(&url)
        .await
        .ok()?;
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
        "DROP SCHEMA IF EXISTS {schema} CASCADE; CREATE SCHEMA {schema}"
    )))
    .execute(&mut admin)
    .await
    .ok()?;
    let mut builder = StoreBuilder::new(&url);
    builder.schema(&schema);
    Some((builder, url, schema))
}

async fn drop_schema(url: &str, schema: &str) {
    if let Ok(mut admin) = <sqlx::PgConnection as sqlx::Connection>::connect(url).await {
        let _ = sqlx::raw_sql(sqlx::AssertSqlSafe(format!("DROP SCHEMA {schema} CASCADE")))
            .execute(&mut admin)
            .await;
    }
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    // `cargo test --benches` runs this too: keep it a smoke run there.
    if !std::env::args().any(|a| a == "--bench") {
        println!("throughput: run with `cargo bench -p pacer-engine --bench throughput`");
        return;
    }
    let dir = std::env::temp_dir().join(format!("pacer-throughput-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let sqlite = |name: &str| format!("sqlite://{}", dir.join(name).display());

    let store = Arc::new(
        StoreBuilder::new(&sqlite("pipeline.db"))
            .open()
            .await
            .unwrap(),
    );
    let piped = pipeline(store).await;
    let base = store_only(StoreBuilder::new(&sqlite("store.db")).open().await.unwrap()).await;
    println!(
        "sqlite      pipeline {RECORDS} records in {:>6.2} s: {:>7.0} records/s | store alone {:>6.2} s: {:>7.0} records/s",
        piped.as_secs_f64(),
        per_second(piped),
        base.as_secs_f64(),
        per_second(base)
    );
    let _ = std::fs::remove_dir_all(&dir);

    match (postgres("pipe").await, postgres("store").await) {
        (Some((pipe, url, s1)), Some((alone, _, s2))) => {
            let piped = pipeline(Arc::new(pipe.open().await.unwrap())).await;
            let base = store_only(alone.open().await.unwrap()).await;
            println!(
                "postgresql  pipeline {RECORDS} records in {:>6.2} s: {:>7.0} records/s | store alone {:>6.2} s: {:>7.0} records/s",
                piped.as_secs_f64(),
                per_second(piped),
                base.as_secs_f64(),
                per_second(base)
            );
            drop_schema(&url, &s1).await;
            drop_schema(&url, &s2).await;
        }
        _ => println!("postgresql  not reachable at PACER_TEST_POSTGRES: skipped"),
    }
}
