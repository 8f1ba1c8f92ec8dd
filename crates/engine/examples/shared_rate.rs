//! Two push jobs sharing one system's rate, on a virtual clock: the items a
//! minute each delivers against the system's 60/min, for an idle and a busy
//! job, then for two busy ones. What BENCHMARKS.md's "two jobs sharing a
//! system" figures come from:
//!
//! ```sh
//! cargo run --release -p pacer-engine --example shared_rate
//! ```

use std::sync::Arc;

use jiff::{SignedDuration, Timestamp};
use pacer_engine::{Clock, Engine, Settings, VirtualClock};
use pacer_mock::{MockSystem, Running};
use pacer_store::{NewTask, StoreBuilder};

const MINUTES: i64 = 10;

async fn mock(name: &str, clock: Arc<dyn Clock>, start: Timestamp) -> Running {
    let system = MockSystem {
        name: name.into(),
        rate_per_minute: None,
        feeds: Vec::new(),
        start,
        now: Arc::new(move || clock.now()),
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    pacer_mock::serve(system, listener).unwrap()
}

/// Delivered per minute by each of `queued` (integration, tasks queued).
async fn run(label: &str, queued: [(&str, usize); 2]) {
    let start: Timestamp = "2026-11-26T23:00:00Z".parse().unwrap();
    let clock: Arc<dyn Clock> = Arc::new(VirtualClock::new(start));
    let erp = mock("erp", clock.clone(), start).await;
    let shop = mock("webshop", clock.clone(), start).await;
    let integration = |name: &str| {
        format!(
            "  {name}:\n    from: erp\n    to: webshop\n    volume: 100/day\n    \
             webhook: {{ key: .key }}\n    push: {{ schedule: \"* * * * *\" }}\n"
        )
    };
    let yaml = format!(
        "environment: {{ name: shared, timezone: UTC, capacity: 2 }}\n\
         systems:\n  erp: {{ rate: 500/min, base_url: \"{}\" }}\n  webshop: {{ rate: 60/min, base_url: \"{}\" }}\n\
         integrations:\n{}{}",
        erp.base_url(),
        shop.base_url(),
        integration(queued[0].0),
        integration(queued[1].0)
    );
    let config = pacer_config::parse(&yaml, "shared.yaml").unwrap();
    let plan = pacer_plan::plan(&config.environment).unwrap();
    let path = std::env::temp_dir().join(format!("pacer-shared-{label}-{}.db", std::process::id()));
    let store = Arc::new(
        StoreBuilder::new(&format!("sqlite://{}", path.display()))
            .open()
            .await
            .unwrap(),
    );
    for (name, n) in queued {
        let tasks: Vec<NewTask> = (0..n)
            .map(|i| NewTask {
                key: format!("{name}-{i:05}"),
                payload: format!(r#"{{"key": "{name}-{i:05}"}}"#),
            })
            .collect();
        store
            .enqueue(name, &tasks, None, jiff::Timestamp::UNIX_EPOCH)
            .await
            .unwrap();
    }
    let settings = Settings {
        node: "bench".into(),
        request_time: Some(SignedDuration::from_millis(200)),
        ..Settings::default()
    };
    let engine = Engine::new(&config, &plan, store, clock, settings).unwrap();
    engine
        .run(Some(start + SignedDuration::from_mins(MINUTES)))
        .await
        .unwrap();
    let accepted = shop.stats().accepted;
    let per_minute = |name: &str| accepted.get(name).map_or(0, |a| a.items) as f64 / MINUTES as f64;
    println!(
        "{label}: {} {:.1}/min, {} {:.1}/min, together {:.1}/min of 60/min",
        queued[0].0,
        per_minute(queued[0].0),
        queued[1].0,
        per_minute(queued[1].0),
        per_minute(queued[0].0) + per_minute(queued[1].0)
    );
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
    }
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    run("idle and busy", [("idle", 0), ("busy", 2_000)]).await;
    run("both busy", [("first", 2_000), ("second", 2_000)]).await;
}
