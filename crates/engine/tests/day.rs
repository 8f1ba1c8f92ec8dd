//! The guide's prices integration for a whole day, on the virtual clock,
//! against mock systems on loopback.

mod support;

use std::sync::Arc;

use jiff::SignedDuration;
use pacer_engine::{Clock, VirtualClock};
use pacer_store::{ExecutionState, TaskStatus};
use support::{TempDb, config, engine, midnight, mock};

const PRICES: &str = "  prices:
    from: erp
    to: webshop
    volume: 35000/day
    freshness: 30m
    push: { request: { path: \"/prices/{{ key }}\" }, transform: '{key, sku, price: .amount, currency}' }
";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_day_of_prices_reaches_the_webshop_within_every_limit() {
    let start = midnight();
    let clock: Arc<dyn Clock> = Arc::new(VirtualClock::new(start));
    let erp = mock(
        "erp",
        100,
        &[("prices", 35_000.0, Some(35_000))],
        start,
        clock.clone(),
    )
    .await;
    let shop = mock("webshop", 500, &[], start, clock.clone()).await;
    let config = config(&erp, &shop, 2, PRICES);
    let db = TempDb::new("day");
    let store = db.open().await;
    let engine = engine(&config, store.clone(), clock.clone(), "node-a");

    // The day, and the hour after it for the last changes to arrive.
    let end = start + SignedDuration::from_hours(25);
    engine.run(Some(end)).await.unwrap();
    assert!(clock.now() < end, "nothing ran past the end");

    let erp = erp.stats();
    let shop = shop.stats();
    assert_eq!(erp.feeds["prices"].produced, 35_000);
    let delivered = &shop.accepted["prices"];
    assert_eq!(
        delivered.distinct, 35_000,
        "every change reached the webshop"
    );
    assert_eq!(delivered.items, 35_000, "and each once");
    assert!(
        erp.max_per_minute <= 100,
        "ERP: {} in a minute",
        erp.max_per_minute
    );
    assert!(
        shop.max_per_minute <= 500,
        "webshop: {} in a minute",
        shop.max_per_minute
    );
    assert_eq!(
        erp.rate_limited + shop.rate_limited,
        0,
        "Pacer kept to the rates itself"
    );
    assert_eq!(
        store.count("prices", TaskStatus::Finished).await.unwrap(),
        35_000
    );

    // Every due minute ran (`*/4` and `*/20` over 25 hours), none missed or skipped.
    let stats = engine.stats();
    let runs = |job: &str, outcome| stats.executions[job].get(&outcome).copied().unwrap_or(0);
    assert_eq!(runs("prices.pull", ExecutionState::Succeeded), 25 * 15);
    assert_eq!(runs("prices.push", ExecutionState::Succeeded), 25 * 3);
    for job in ["prices.pull", "prices.push"] {
        assert_eq!(
            runs(job, ExecutionState::Missed) + runs(job, ExecutionState::Skipped),
            0,
            "{job}"
        );
    }
    assert!(stats.most_at_once <= 2);
    assert_eq!(stats.waited, 0, "capacity 2 holds both jobs: nobody waited");
}
