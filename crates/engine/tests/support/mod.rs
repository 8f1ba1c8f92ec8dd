//! Mock systems, stores and engines for the engine's tests.

#![allow(dead_code)]

use std::{
    path::PathBuf,
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
};

use jiff::Timestamp;
use pacer_engine::{Clock, Engine, Settings};
use pacer_mock::{Feed, MockSystem, Running};
use pacer_store::{Store, StoreBuilder};

/// A SQLite file of its own, removed when dropped.
pub struct TempDb {
    pub path: PathBuf,
}

impl TempDb {
    pub fn new(test: &str) -> TempDb {
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        let path = std::env::temp_dir().join(format!(
            "pacer-engine-{test}-{}-{}.db",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::SeqCst)
        ));
        TempDb { path }
    }

    pub fn url(&self) -> String {
        format!("sqlite://{}", self.path.display())
    }

    pub async fn open(&self) -> Arc<Store> {
        Arc::new(StoreBuilder::new(&self.url()).open().await.unwrap())
    }
}

impl Drop for TempDb {
    fn drop(&mut self) {
        for suffix in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{}{suffix}", self.path.display()));
        }
    }
}

/// A mock system on loopback following `clock`.
pub async fn mock(
    name: &str,
    rate: u32,
    feeds: &[(&str, f64, Option<u64>)],
    start: Timestamp,
    clock: Arc<dyn Clock>,
) -> Running {
    let system = MockSystem {
        name: name.into(),
        rate_per_minute: Some(rate),
        feeds: feeds
            .iter()
            .map(|&(entity, volume, total)| Feed {
                entity: entity.into(),
                volume_per_day: volume,
                total,
                profile: None,
            })
            .collect(),
        start,
        now: Arc::new(move || clock.now()),
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    pacer_mock::serve(system, listener).unwrap()
}

/// The guide's ERP and webshop with `integrations` (YAML) between them.
pub fn config(
    erp: &Running,
    shop: &Running,
    capacity: u32,
    integrations: &str,
) -> pacer_config::Config {
    let yaml = format!(
        "environment: {{ name: acme, timezone: Europe/Amsterdam, capacity: {capacity} }}\n\
         systems:\n  erp: {{ rate: 100/min, base_url: \"{}\" }}\n  webshop: {{ rate: 500/min, base_url: \"{}\" }}\n\
         integrations:\n{integrations}",
        erp.base_url(),
        shop.base_url()
    );
    pacer_config::parse(&yaml, "test.yaml").unwrap()
}

pub fn engine(
    config: &pacer_config::Config,
    store: Arc<Store>,
    clock: Arc<dyn Clock>,
    node: &str,
) -> Engine {
    let settings = Settings {
        node: node.into(),
        ..Settings::default()
    };
    engine_with(config, store, clock, settings)
}

/// An engine for `config` with the planner's schedules and these settings.
pub fn engine_with(
    config: &pacer_config::Config,
    store: Arc<Store>,
    clock: Arc<dyn Clock>,
    settings: Settings,
) -> Engine {
    let plan = pacer_plan::plan(&config.environment).unwrap();
    Engine::new(config, &plan, store, clock, settings).unwrap()
}

/// Midnight in Amsterdam on the test day.
pub fn midnight() -> Timestamp {
    "2026-11-26T23:00:00Z".parse().unwrap()
}
