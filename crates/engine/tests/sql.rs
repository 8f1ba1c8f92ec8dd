//! Databases as systems: an ERP read from a table with `pull.query` and a
//! shop's table written with `push.statement`, on the real PostgreSQL at
//! `PACER_TEST_POSTGRES` (a schema of its own per test) and on SQLite
//! files — with the same tasks, batches, retries and dead letters as HTTP.

mod support;

use std::sync::{
    Arc,
    atomic::{AtomicU64, Ordering},
};

use jiff::SignedDuration;
use pacer_engine::{Clock, VirtualClock};
use pacer_store::{TaskQuery, TaskStatus};
use support::{TempDb, engine, midnight};

/// `$body` with `$db` a connection to `$erp`'s database, whichever it is.
macro_rules! connected {
    ($erp:expr, $db:ident => $body:expr) => {
        match $erp {
            Erp::Postgres { url, .. } => {
                let mut $db = <sqlx::PgConnection as sqlx::Connection>::connect(url)
                    .await
                    .unwrap_or_else(|e| panic!("PostgreSQL at {url} is needed for this test: {e}"));
                $body
            }
            Erp::Sqlite { .. } => {
                let mut $db = <sqlx::SqliteConnection as sqlx::Connection>::connect(&$erp.url())
                    .await
                    .unwrap();
                $body
            }
        }
    };
}

/// Where the ERP's and the shop's tables are, and how SQL names them.
enum Erp {
    Postgres { url: String, schema: String },
    Sqlite { file: TempDb },
}

impl Erp {
    async fn postgres() -> Erp {
        let url = std::env::var("PACER_TEST_POSTGRES")
            .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_string());
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        let schema = format!(
            "pacer_sql_{}_{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::SeqCst)
        );
        let create = format!("CREATE SCHEMA {schema}");
        let erp = Erp::Postgres { url, schema };
        erp.run(&create).await;
        erp
    }

    fn sqlite() -> Erp {
        Erp::Sqlite {
            file: TempDb::new("sql-erp"),
        }
    }

    /// The URL `database:` is given.
    fn url(&self) -> String {
        match self {
            Erp::Postgres { url, .. } => url.clone(),
            Erp::Sqlite { file } => format!("{}?mode=rwc", file.url()),
        }
    }

    /// The prefix tables are named with: `schema.` on PostgreSQL.
    fn schema(&self) -> String {
        match self {
            Erp::Postgres { schema, .. } => format!("{schema}."),
            Erp::Sqlite { .. } => String::new(),
        }
    }

    /// Runs `sql` (statements separated by `;`) as the ERP's own users would.
    async fn run(&self, sql: &str) {
        connected!(self, db => {
            sqlx::raw_sql(sqlx::AssertSqlSafe(sql.to_string()))
                .execute(&mut db)
                .await
                .unwrap();
        })
    }

    /// The shop's prices: (sku, price with two decimals, times written).
    async fn shop(&self) -> Vec<(String, String, i64)> {
        let sql = format!(
            "SELECT sku, CAST(price AS TEXT), seen FROM {}shop_prices ORDER BY sku",
            self.schema()
        );
        let rows: Vec<(String, String, i64)> = connected!(self, db => {
            sqlx::query_as(sqlx::AssertSqlSafe(sql))
                .fetch_all(&mut db)
                .await
                .unwrap()
        });
        // PostgreSQL writes numeric(10,2) as 1.50, SQLite a REAL as 1.5.
        rows.into_iter()
            .map(|(sku, price, seen)| (sku, format!("{:.2}", price.parse::<f64>().unwrap()), seen))
            .collect()
    }

    async fn finish(self) {
        if let Erp::Postgres { .. } = &self {
            let schema = self.schema();
            self.run(&format!(
                "DROP SCHEMA {} CASCADE",
                schema.trim_end_matches('.')
            ))
            .await;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_postgresql_erp_and_shop_get_each_change_once() {
    database_to_database(
        Erp::postgres().await,
        "numeric(10,2)",
        "::timestamptz",
        "::numeric",
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sqlite_erp_and_shop_get_each_change_once() {
    database_to_database(Erp::sqlite(), "REAL", "", "").await;
}

/// Five prices read by a query and written by an upsert, ten to a batch
/// (one transaction); then two changed and one added, read again by the
/// cursor; a price the shop's table refuses (a CHECK) goes dead alone while
/// the rest of its batch is written.
async fn database_to_database(erp: Erp, money: &str, time: &str, number: &str) {
    let s = erp.schema();
    erp.run(&format!(
        "CREATE TABLE {s}erp_prices (id INTEGER PRIMARY KEY, sku TEXT NOT NULL, price {money} NOT NULL, updated_at TEXT NOT NULL);
         CREATE TABLE {s}shop_prices (sku TEXT PRIMARY KEY, price {money} NOT NULL CHECK (price >= 0), seen BIGINT NOT NULL DEFAULT 1);
         INSERT INTO {s}erp_prices VALUES
           (1, 'SKU-1', 1.50, '2026-11-27T10:00:00Z'), (2, 'SKU-2', 2.50, '2026-11-27T10:01:00Z'),
           (3, 'SKU-3', 3.50, '2026-11-27T10:01:00Z'), (4, 'SKU-4', 4.50, '2026-11-27T10:02:00Z'),
           (5, 'SKU-5', 5.50, '2026-11-27T10:03:00Z');"
    ))
    .await;
    let url = erp.url();
    let yaml = format!(
        "environment: {{ name: acme, timezone: Europe/Amsterdam, capacity: 4 }}\n\
         systems:\n  erp: {{ rate: 1000/min, database: \"{url}\" }}\n  shop: {{ rate: 1000/min, database: \"{url}\" }}\n\
         integrations:\n  prices:\n    from: erp\n    to: shop\n    volume: 1000/day\n    \
         pull:\n      schedule: \"* * * * *\"\n      \
         query: \"SELECT sku, price, updated_at FROM {s}erp_prices WHERE {{{{ cursor }}}} IS NULL OR updated_at{time} > {{{{ cursor }}}}{time} ORDER BY updated_at, id LIMIT {{{{ limit }}}} OFFSET {{{{ offset }}}}\"\n      \
         key: .sku\n      cursor: .updated_at\n    \
         push:\n      schedule: \"* * * * *\"\n      batch: 10\n      \
         statement: \"INSERT INTO {s}shop_prices (sku, price) VALUES ({{{{ sku }}}}, {{{{ price }}}}{number}) ON CONFLICT (sku) DO UPDATE SET price = excluded.price, seen = {s}shop_prices.seen + 1\"\n"
    );
    let config = pacer_config::parse(&yaml, "sql.yaml").unwrap();
    let start = midnight();
    let clock: Arc<dyn Clock> = Arc::new(VirtualClock::new(start));
    let store_file = TempDb::new("sql-store");
    let store = store_file.open().await;
    let run = |minutes: i64| {
        let engine = engine(&config, store.clone(), clock.clone(), "node-a");
        async move {
            engine
                .run(Some(start + SignedDuration::from_mins(minutes)))
                .await
                .unwrap()
        }
    };
    run(5).await;
    let shop = erp.shop().await;
    let expected: Vec<(String, String, i64)> = (1..=5)
        .map(|n| (format!("SKU-{n}"), format!("{n}.50"), 1))
        .collect();
    assert_eq!(shop, expected, "each price once");

    erp.run(&format!(
        "UPDATE {s}erp_prices SET price = 2.75, updated_at = '2026-11-27T11:00:00Z' WHERE id = 2;
         UPDATE {s}erp_prices SET price = 4.75, updated_at = '2026-11-27T11:00:00Z' WHERE id = 4;
         INSERT INTO {s}erp_prices VALUES (6, 'SKU-6', 6.50, '2026-11-27T11:01:00Z'), (7, 'SKU-BAD', -1, '2026-11-27T11:01:00Z');"
    ))
    .await;
    run(10).await;
    let shop = erp.shop().await;
    assert_eq!(
        shop,
        [
            ("SKU-1", "1.50", 1),
            ("SKU-2", "2.75", 2),
            ("SKU-3", "3.50", 1),
            ("SKU-4", "4.75", 2),
            ("SKU-5", "5.50", 1),
            ("SKU-6", "6.50", 1),
        ]
        .map(|(sku, p, seen)| (sku.to_string(), p.to_string(), seen)),
        "the changes and the new price, once each; not the refused one"
    );
    let dead = store
        .tasks(&TaskQuery {
            integration: Some("prices".into()),
            status: Some(TaskStatus::Dead),
            before: None,
            limit: 10,
        })
        .await
        .unwrap();
    assert_eq!(dead.len(), 1, "{dead:?}");
    assert_eq!(dead[0].key, "SKU-BAD");
    let reason = dead[0].last_error.clone().unwrap_or_default();
    assert!(reason.to_lowercase().contains("check"), "{reason}");
    assert!(!reason.contains("password"), "{reason}");
    erp.finish().await;
}
