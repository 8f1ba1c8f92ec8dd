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
pub(crate) struct TempDb {
    pub path: PathBuf,
}

impl TempDb {
    pub(crate) fn new(test: &str) -> TempDb {
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        let path = std::env::temp_dir().join(format!(
            "pacer-engine-{test}-{}-{}.db",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::SeqCst)
        ));
        TempDb { path }
    }

    pub(crate) fn url(&self) -> String {
        format!("sqlite://{}", self.path.display())
    }

    pub(crate) async fn open(&self) -> Arc<Store> {
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

/// A PostgreSQL schema of its own at `PACER_TEST_POSTGRES`, dropped by
/// [`Schema::drop`] (kept when a test fails, for a look).
pub(crate) struct Schema {
    pub url: String,
    pub name: String,
}

impl Schema {
    pub(crate) async fn new() -> Schema {
        let url = std::env::var("PACER_TEST_POSTGRES")
            .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_string());
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        let name = format!(
            "pacer_engine_{}_{}_{}",
            std::process::id(),
            Timestamp::now().as_nanosecond() % 1_000_000_000,
            COUNTER.fetch_add(1, Ordering::SeqCst)
        );
        let mut admin = <sqlx::PgConnection as sqlx::Connection>::connect(&url)
            .await
            .unwrap_or_else(|e| panic!("PostgreSQL at {url} is needed for this test: {e}"));
        sqlx::raw_sql(sqlx::AssertSqlSafe(format!("CREATE SCHEMA {name}")))
            .execute(&mut admin)
            .await
            .unwrap();
        Schema { url, name }
    }

    pub(crate) async fn open(&self) -> Arc<Store> {
        let mut builder = StoreBuilder::new(&self.url);
        builder.schema(&self.name);
        Arc::new(builder.open().await.unwrap())
    }

    pub(crate) async fn drop(self) {
        let mut admin = <sqlx::PgConnection as sqlx::Connection>::connect(&self.url)
            .await
            .unwrap();
        sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
            "DROP SCHEMA {} CASCADE",
            self.name
        )))
        .execute(&mut admin)
        .await
        .unwrap();
    }
}

/// A store for a test that runs on both backends.
pub(crate) enum Backend {
    Sqlite(TempDb),
    Postgres(Schema),
}

impl Backend {
    pub(crate) async fn sqlite(test: &str) -> Backend {
        Backend::Sqlite(TempDb::new(test))
    }

    pub(crate) async fn postgres() -> Backend {
        Backend::Postgres(Schema::new().await)
    }

    pub(crate) async fn open(&self) -> Arc<Store> {
        match self {
            Backend::Sqlite(db) => db.open().await,
            Backend::Postgres(schema) => schema.open().await,
        }
    }

    /// Removes what the test left; call at its end (after it passed).
    pub(crate) async fn finish(self) {
        if let Backend::Postgres(schema) = self {
            schema.drop().await;
        }
    }
}

/// Each `async fn NAME(backend: Backend)` as two tests, `NAME::sqlite` and
/// `NAME::postgres`.
#[macro_export]
macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {$(
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                super::$name($crate::support::Backend::sqlite(stringify!($name)).await).await
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                super::$name($crate::support::Backend::postgres().await).await
            }
        }
    )*};
}

/// A mock system on loopback following `clock`.
pub(crate) async fn mock(
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

/// Has `shop` refuse the next two deliveries for good (422: dead tasks).
pub(crate) fn refuse_two(shop: &Running) {
    shop.inject(pacer_mock::Fault {
        status: 422,
        body: Some(r#"{"error": "price must be positive"}"#.into()),
        count: 2,
        ..pacer_mock::Fault::default()
    });
}

/// The guide's ERP and webshop with `integrations` (YAML) between them.
pub(crate) fn config(
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

pub(crate) fn engine(
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
pub(crate) fn engine_with(
    config: &pacer_config::Config,
    store: Arc<Store>,
    clock: Arc<dyn Clock>,
    settings: Settings,
) -> Engine {
    let plan = pacer_plan::plan(&config.environment).unwrap();
    Engine::new(config, &plan, store, clock, settings).unwrap()
}

/// Midnight in Amsterdam on the test day.
pub(crate) fn midnight() -> Timestamp {
    "2026-11-26T23:00:00Z".parse().unwrap()
}

/// The instant `ms` milliseconds after the Unix epoch: a test that counts
/// time in small numbers counts from there.
pub(crate) fn at(ms: i64) -> Timestamp {
    Timestamp::from_millisecond(ms).unwrap()
}

/// The minute `ms` milliseconds after the epoch falls in.
pub(crate) fn minute_at(ms: i64) -> pacer_store::Minute {
    pacer_store::Minute::containing(at(ms))
}

/// A lease `holder` takes at `from_ms` until `until_ms`.
pub(crate) fn lease(holder: &str, from_ms: i64, until_ms: i64) -> pacer_store::Lease<'_> {
    pacer_store::Lease {
        holder,
        from: at(from_ms),
        until: at(until_ms),
    }
}
