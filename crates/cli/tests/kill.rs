//! `pacer run` killed with SIGKILL mid-run and started again, ten times,
//! on SQLite and on PostgreSQL: every change is delivered, a change
//! delivered twice only under the same idempotency key with the same
//! records (a delivery or batch in flight when the process died), nothing a
//! dead process had due, waiting or running is left so, and each job runs
//! again at its first minute after a restart, not held back as "still
//! running" by a process that is gone.

use std::{
    process::{Child, Command, Stdio},
    sync::Arc,
    time::{Duration, Instant},
};

use pacer_mock::{Feed, MockSystem, Running};

fn serve(name: &str, feeds: Vec<Feed>) -> impl std::future::Future<Output = Running> {
    let system = MockSystem {
        name: name.into(),
        rate_per_minute: None,
        feeds,
        start: jiff::Timestamp::now(),
        now: Arc::new(jiff::Timestamp::now),
    };
    async move {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        pacer_mock::serve(system, listener).unwrap()
    }
}

fn start(config: &std::path::Path) -> Child {
    Command::new(env!("CARGO_BIN_EXE_pacer"))
        .args([
            "run",
            config.to_str().unwrap(),
            "--speed",
            "60",
            "--listen",
            "127.0.0.1:0",
        ])
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap()
}

/// Where the runs keep their ledger.
enum Store {
    /// The default: a SQLite file beside the config.
    Sqlite,
    /// A database of its own on `PACER_TEST_POSTGRES`'s server.
    Postgres { admin: String, url: String },
}

impl Store {
    async fn postgres() -> Store {
        let admin = std::env::var("PACER_TEST_POSTGRES")
            .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_string());
        let name = format!(
            "pacer_kill_{}_{}",
            std::process::id(),
            jiff::Timestamp::now().as_nanosecond() % 1_000_000_000
        );
        let mut connection = <sqlx::PgConnection as sqlx::Connection>::connect(&admin)
            .await
            .unwrap_or_else(|e| panic!("PostgreSQL at {admin} is needed for this test: {e}"));
        sqlx::raw_sql(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
            .execute(&mut connection)
            .await
            .unwrap();
        let base = admin
            .rsplit_once('/')
            .map_or(admin.as_str(), |(base, _)| base);
        let url = format!("{base}/{name}");
        Store::Postgres { admin, url }
    }

    /// The config's `store:` line, if any.
    fn config_line(&self) -> String {
        match self {
            Store::Sqlite => String::new(),
            Store::Postgres { url, .. } => format!(", store: \"{url}\""),
        }
    }

    fn url(&self, dir: &std::path::Path) -> String {
        match self {
            Store::Sqlite => format!("sqlite://{}", dir.join("kill.speed.db").display()),
            Store::Postgres { url, .. } => url.clone(),
        }
    }

    async fn finish(self) {
        if let Store::Postgres { admin, url } = self {
            let name = url.rsplit_once('/').unwrap().1;
            let mut connection = <sqlx::PgConnection as sqlx::Connection>::connect(&admin)
                .await
                .unwrap();
            sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
                "DROP DATABASE {name} WITH (FORCE)"
            )))
            .execute(&mut connection)
            .await
            .unwrap();
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_and_restarted_on_sqlite_it_loses_nothing() {
    killed_and_restarted_it_loses_nothing(Store::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_and_restarted_on_postgres_it_loses_nothing() {
    killed_and_restarted_it_loses_nothing(Store::postgres().await).await;
}

async fn killed_and_restarted_it_loses_nothing(store: Store) {
    // 600 prices and 300 stock levels over the first 20 real seconds.
    let (prices, stock) = (600, 300);
    let erp = serve(
        "erp",
        vec![
            Feed {
                entity: "prices".into(),
                volume_per_day: 600.0 * 86_400.0 / 20.0,
                total: Some(prices),
                profile: None,
            },
            Feed {
                entity: "stock".into(),
                volume_per_day: 300.0 * 86_400.0 / 20.0,
                total: Some(stock),
                profile: None,
            },
        ],
    )
    .await;
    let shop = serve("webshop", Vec::new()).await;
    // 10 ms an answer: a push of 40 prices takes 0.4 s of each 1 s minute,
    // so most kills land in the middle of one.
    shop.slow_down(10);
    let dir = std::env::temp_dir().join(format!(
        "pacer-kill-{}-{}",
        std::process::id(),
        match store {
            Store::Sqlite => "sqlite",
            Store::Postgres { .. } => "postgres",
        }
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let config = dir.join("kill.yaml");
    // Every minute of schedule time (a real second), 40 items a run each
    // way: prices one request per record, stock in batches of 7.
    let yaml = format!(
        "environment: {{ capacity: 3{} }}\n\
         systems:\n  erp: {{ rate: 6000/min, base_url: \"{}\" }}\n  webshop: {{ rate: 6000/min, base_url: \"{}\" }}\n\
         integrations:\n  prices:\n    from: erp\n    to: webshop\n    volume: 50000/day\n\
         \x20   pull: {{ schedule: \"* * * * *\", max_items: 40 }}\n\
         \x20   push: {{ schedule: \"* * * * *\", max_items: 40, request: {{ path: \"/prices/{{{{ key }}}}\" }} }}\n\
         \x20 stock:\n    from: erp\n    to: webshop\n    volume: 25000/day\n\
         \x20   pull: {{ schedule: \"* * * * *\", max_items: 40 }}\n\
         \x20   push: {{ schedule: \"* * * * *\", max_items: 40, batch: 7 }}\n",
        store.config_line(),
        erp.base_url(),
        shop.base_url()
    );
    std::fs::write(&config, yaml).unwrap();

    let mut run = start(&config);
    for kill_after in [
        1_500, 2_100, 1_700, 900, 2_500, 1_300, 1_900, 1_100, 2_300, 1_600,
    ] {
        tokio::time::sleep(Duration::from_millis(kill_after)).await;
        // Then in the middle of a push, when there is one within 2 s.
        let pushing = Instant::now() + Duration::from_secs(2);
        loop {
            let before = shop.stats().requests;
            tokio::time::sleep(Duration::from_millis(15)).await;
            if shop.stats().requests > before || Instant::now() > pushing {
                break;
            }
        }
        run.kill().unwrap(); // SIGKILL: no shutdown, leases left behind
        run.wait().unwrap();
        run = start(&config);
    }
    let delivered = |entity: &str| {
        shop.stats()
            .accepted
            .get(entity)
            .map_or(0, |accepted| accepted.distinct)
    };
    let deadline = Instant::now() + Duration::from_secs(120);
    while (delivered("prices") < prices || delivered("stock") < stock) && Instant::now() < deadline
    {
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    // The last one stops as it should, SIGTERM, and must not need its grace.
    let stopping = Instant::now();
    Command::new("kill")
        .args(["-TERM", &run.id().to_string()])
        .status()
        .unwrap();
    run.wait().unwrap();
    let stopped_in = stopping.elapsed();

    let ledger = pacer_store::StoreBuilder::new(&store.url(&dir))
        .open()
        .await
        .unwrap()
        .executions(pacer_store::Minute::default(), u32::MAX)
        .await
        .unwrap();
    let _ = std::fs::remove_dir_all(&dir);
    store.finish().await;
    let left: Vec<_> = ledger
        .iter()
        .filter(|e| ["due", "waiting", "running"].contains(&e.state.as_str()))
        .collect();
    assert!(left.is_empty(), "left by dead processes: {left:#?}");
    let held_back: Vec<_> = ledger.iter().filter(|e| e.state == "skipped").collect();
    assert!(
        held_back.is_empty(),
        "held back by a process that was gone: {held_back:#?}"
    );
    // Every job started at each of its minutes, from its first to its last:
    // none held back by what a dead process left, none lost to a kill.
    let states = ledger
        .iter()
        .fold(std::collections::BTreeMap::new(), |mut n, e| {
            *n.entry(e.state.as_str()).or_insert(0) += 1;
            n
        });
    eprintln!("the ledger after the kills: {states:?}");
    assert!(
        states.get("interrupted").is_some_and(|&n| n >= 5),
        "the kills cut executions short"
    );
    for job in ["prices.pull", "prices.push", "stock.pull", "stock.push"] {
        let mut minutes: Vec<pacer_store::Minute> = ledger
            .iter()
            .filter(|e| e.job == job)
            .map(|e| e.minute)
            .collect();
        minutes.sort_unstable();
        let gaps: Vec<_> = minutes.windows(2).filter(|w| w[1] != w[0] + 1).collect();
        assert!(gaps.is_empty(), "{job} lost minutes: {gaps:?}");
    }
    assert!(
        stopped_in < Duration::from_secs(10),
        "SIGTERM took {stopped_in:?}"
    );

    let accepted = shop.stats().accepted;
    for (entity, total) in [("prices", prices), ("stock", stock)] {
        let accepted = &accepted[entity];
        assert_eq!(
            accepted.distinct, total,
            "every {entity} change was delivered"
        );
        assert_eq!(
            accepted.duplicates_without_key, 0,
            "a repeated {entity} delivery always carried the same idempotency key"
        );
        assert_eq!(
            accepted.conflicting_idempotency_keys, 0,
            "an idempotency key sent again always carried the same {entity} records"
        );
        assert_eq!(erp.stats().feeds[entity].produced, total);
        eprintln!("{entity}: {accepted:?}");
    }
}
