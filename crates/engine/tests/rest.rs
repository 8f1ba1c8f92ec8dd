//! Pulls from a real REST server: json-server 0.17 from npm, in
//! `tests/rest` (`.ci/run` installs its packages), serving an ERP's prices
//! from a JSON file. It filters as such APIs really do — `updated_at_gte`
//! includes the record at the cursor — and pages with `Link` headers.
//! Changes are made through its API between runs, as the ERP's users
//! would make them.

mod support;

use std::{
    io::{BufRead, BufReader},
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    sync::Arc,
};

use jiff::SignedDuration;
use pacer_engine::{Clock, VirtualClock};
use pacer_store::{TaskQuery, TaskStatus};
use support::{Backend, engine, midnight, mock};

on_both_backends!(
    an_inclusive_source_delivers_each_change_once,
    records_sharing_a_time_across_pages_are_all_read,
    a_compound_cursor_breaks_ties_by_id,
);

/// json-server on a copy of a database, stopped (and the copy removed)
/// when dropped.
struct Erp {
    child: Child,
    db: PathBuf,
    /// `http://127.0.0.1:PORT`.
    url: String,
}

impl Drop for Erp {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_file(&self.db);
    }
}

/// json-server serving `prices` (JSON objects) as `/prices`.
fn erp(prices: &[serde_json::Value]) -> Erp {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/rest");
    assert!(
        dir.join("node_modules/json-server").is_dir(),
        "the REST test server needs its packages: run tests/setup (.ci/run does)"
    );
    static COUNTER: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let db = std::env::temp_dir().join(format!(
        "pacer-rest-{}-{}.json",
        std::process::id(),
        COUNTER.fetch_add(1, std::sync::atomic::Ordering::SeqCst)
    ));
    std::fs::write(&db, serde_json::json!({ "prices": prices }).to_string()).unwrap();
    let mut child = Command::new("node")
        .arg("server.js")
        .arg(&db)
        .current_dir(&dir)
        .stdout(Stdio::piped())
        .spawn()
        .expect("node runs the REST test server (.ci/run installs Node.js when missing)");
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let url = line
        .trim()
        .strip_prefix("listening on ")
        .unwrap_or_else(|| panic!("the server said {line:?}"))
        .to_string();
    Erp { child, db, url }
}

fn price(id: u32, sku: &str, amount: &str, updated_at: &str) -> serde_json::Value {
    serde_json::json!({ "id": id, "sku": sku, "amount": amount, "updated_at": format!("2026-11-27T{updated_at}Z") })
}

/// Changes record `id` as the ERP's users would, through its API.
async fn change(erp: &Erp, id: u32, amount: &str, updated_at: &str) {
    let answer = client()
        .patch(format!("{}/prices/{id}", erp.url))
        .json(&serde_json::json!({ "amount": amount, "updated_at": format!("2026-11-27T{updated_at}Z") }))
        .send()
        .await
        .unwrap();
    assert!(answer.status().is_success(), "{}", answer.status());
}

/// How a pull names its cursor: the jq expression, and the template of
/// the `updated_at_gte` query parameter.
const BY_TIME: (&str, &str) = (".updated_at", "{{ cursor }}");
const BY_TIME_AND_ID: (&str, &str) = ("[.updated_at, .id]", "{{ cursor.0 }}");

/// Prices pulled from the ERP every minute, at most `max_items` an
/// execution, filtered `updated_at >= cursor` and sorted as the server
/// sorts, each pushed to the webshop.
fn config(erp: &Erp, shop: &str, max_items: u32, compare: &str) -> pacer_config::Config {
    config_by(erp, shop, max_items, compare, BY_TIME)
}

fn config_by(
    erp: &Erp,
    shop: &str,
    max_items: u32,
    compare: &str,
    (cursor, since): (&str, &str),
) -> pacer_config::Config {
    let yaml = format!(
        "environment: {{ name: acme, timezone: Europe/Amsterdam, capacity: 4 }}\n\
         systems:\n  erp: {{ rate: 100/min, base_url: \"{}\" }}\n  webshop: {{ rate: 500/min, base_url: \"{shop}\" }}\n\
         integrations:\n  prices:\n    from: erp\n    to: webshop\n    volume: 1000/day\n    \
         pull:\n      schedule: \"* * * * *\"\n      max_items: {max_items}\n      \
         request:\n        path: /prices\n        query: {{ updated_at_gte: \"{since}\", _sort: \"updated_at,id\", _order: \"asc,asc\", _page: \"1\" }}\n      \
         paginate: {{ link: true, size_param: _limit }}\n      records: \".[]\"\n      key: .sku\n      \
         cursor: \"{cursor}\"\n      cursor_compare: {compare}\n    \
         push: {{ schedule: \"* * * * *\", request: {{ path: \"/prices/{{{{ sku }}}}\" }} }}\n",
        erp.url
    );
    pacer_config::parse(&yaml, "rest.yaml").unwrap()
}

/// The problem this fixes, on a real server: `>=` sends the newest record
/// again on every pull, and with a strict cursor each one was delivered
/// again. Inclusive, each change arrives once, and a later change of the
/// same record is news.
async fn an_inclusive_source_delivers_each_change_once(backend: Backend) {
    let prices = [
        price(1, "SKU-1", "9.99", "10:00:00"),
        price(2, "SKU-2", "1.00", "10:01:00"),
        price(3, "SKU-3", "2.00", "10:02:00"),
    ];
    let start = midnight();

    // Strict: the boundary record comes back every minute.
    let strict = erp(&prices);
    let clock: Arc<dyn Clock> = Arc::new(VirtualClock::new(start));
    let shop = mock("webshop", 10_000, &[], start, clock.clone()).await;
    let store = Backend::sqlite("strict").await;
    run_until(
        &config(&strict, &shop.base_url(), 100, "strict"),
        store.open().await,
        &clock,
        start,
        10,
    )
    .await;
    let accepted = &shop.stats().accepted["prices"];
    assert_eq!(accepted.distinct, 3);
    assert!(
        accepted.items >= 3 + 5,
        "a strict cursor on a `>=` source delivers SKU-3 again and again: {} deliveries",
        accepted.items
    );

    // Inclusive: once each.
    let erp = erp(&prices);
    let clock: Arc<dyn Clock> = Arc::new(VirtualClock::new(start));
    let shop = mock("webshop", 10_000, &[], start, clock.clone()).await;
    let store = backend.open().await;
    let config = config(&erp, &shop.base_url(), 100, "inclusive");
    run_until(&config, store.clone(), &clock, start, 10).await;
    let accepted = &shop.stats().accepted["prices"];
    assert_eq!((accepted.items, accepted.distinct), (3, 3));

    // A record changed at the cursor's own time is news; so is a later change.
    change(&erp, 2, "1.50", "10:02:00").await;
    change(&erp, 1, "9.49", "10:05:00").await;
    run_until(&config, store.clone(), &clock, start, 20).await;
    let accepted = &shop.stats().accepted["prices"];
    assert_eq!(accepted.items, 5, "three prices, then two changes");
    let delivered: Vec<(String, String)> = store
        .tasks(&TaskQuery {
            integration: Some("prices".into()),
            status: Some(TaskStatus::Finished),
            before: None,
            limit: 100,
        })
        .await
        .unwrap()
        .into_iter()
        .map(|t| {
            let record: serde_json::Value = serde_json::from_str(&t.payload).unwrap();
            (t.key, record["amount"].as_str().unwrap().to_string())
        })
        .collect();
    assert_eq!(delivered.len(), 5, "{delivered:?}");
    assert!(
        delivered.contains(&("SKU-2".into(), "1.50".into())),
        "{delivered:?}"
    );
    assert!(
        delivered.contains(&("SKU-1".into(), "9.49".into())),
        "{delivered:?}"
    );
    backend.finish().await;
}

/// Runs an engine of `config` on `store` until `minutes` after `start`.
async fn run_until(
    config: &pacer_config::Config,
    store: Arc<pacer_store::Store>,
    clock: &Arc<dyn Clock>,
    start: jiff::Timestamp,
    minutes: i64,
) {
    engine(config, store, clock.clone(), "node-a")
        .run(Some(start + SignedDuration::from_mins(minutes)))
        .await
        .unwrap();
}

/// Five prices, three of them changed in the same second, in a server of
/// their own; the clock, the webshop and the store of a run.
async fn five_prices(
    backend: &Backend,
) -> (
    Erp,
    jiff::Timestamp,
    Arc<dyn Clock>,
    pacer_mock::Running,
    Arc<pacer_store::Store>,
) {
    let erp = erp(&[
        price(1, "SKU-1", "1.00", "10:00:00"),
        price(2, "SKU-2", "2.00", "10:01:00"),
        price(3, "SKU-3", "3.00", "10:01:00"),
        price(4, "SKU-4", "4.00", "10:01:00"),
        price(5, "SKU-5", "5.00", "10:02:00"),
    ]);
    let start = midnight();
    let clock: Arc<dyn Clock> = Arc::new(VirtualClock::new(start));
    let shop = mock("webshop", 10_000, &[], start, clock.clone()).await;
    (erp, start, clock, shop, backend.open().await)
}

/// Five prices, three changed in the same second, pulled two at a time:
/// a page ends between records of one time. A strict `>` would skip the
/// rest of that second; `>=` with the records at the cursor remembered
/// reads them all, each once.
async fn records_sharing_a_time_across_pages_are_all_read(backend: Backend) {
    let (erp, start, clock, shop, store) = five_prices(&backend).await;
    run_until(
        &config(&erp, &shop.base_url(), 2, "inclusive"),
        store.clone(),
        &clock,
        start,
        10,
    )
    .await;
    let accepted = &shop.stats().accepted["prices"];
    assert_eq!((accepted.items, accepted.distinct), (5, 5));
    let cursor = store.cursor("prices").await.unwrap().unwrap();
    assert_eq!(cursor.value, "2026-11-27T10:02:00Z");
    assert_eq!(cursor.boundary.len(), 1, "SKU-5 is the one read at 10:02");
    backend.finish().await;
}

/// The same five prices with a compound cursor, time then id: the id
/// breaks the ties, so nothing needs remembering but the cursor itself.
async fn a_compound_cursor_breaks_ties_by_id(backend: Backend) {
    let (erp, start, clock, shop, store) = five_prices(&backend).await;
    let config = config_by(&erp, &shop.base_url(), 2, "inclusive", BY_TIME_AND_ID);
    run_until(&config, store.clone(), &clock, start, 10).await;
    let accepted = &shop.stats().accepted["prices"];
    assert_eq!((accepted.items, accepted.distinct), (5, 5));
    let cursor = store.cursor("prices").await.unwrap().unwrap();
    assert_eq!(cursor.value, r#"["2026-11-27T10:02:00Z",5]"#);
    // A change to SKU-2 moves it after SKU-5: read once more, and only it.
    change(&erp, 2, "2.50", "10:03:00").await;
    run_until(&config, store.clone(), &clock, start, 20).await;
    let accepted = &shop.stats().accepted["prices"];
    assert_eq!((accepted.items, accepted.distinct), (6, 5));
    let cursor = store.cursor("prices").await.unwrap().unwrap();
    assert_eq!(cursor.value, r#"["2026-11-27T10:03:00Z",2]"#);
    backend.finish().await;
}

/// An HTTP client for the test, with the TLS provider Pacer installs.
fn client() -> reqwest::Client {
    pacer_connect::install_tls();
    reqwest::Client::new()
}
