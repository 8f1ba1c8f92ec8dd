//! Systems that fail, hang and refuse: nothing is lost, and the only
//! duplicates are deliveries retried under the same idempotency key.

mod support;

use std::sync::Arc;

use jiff::SignedDuration;
use pacer_engine::{Clock, VirtualClock};
use pacer_mock::Fault;
use pacer_store::{Execution, Store, TaskStatus};
use support::{TempDb, config, engine, midnight, minute_at, mock};

const PRICES: &str = "  prices:
    from: erp
    to: webshop
    volume: 35000/day
    freshness: 30m
    pull: { timeout: 200ms }
    push: { request: { path: \"/prices/{{ key }}\" }, timeout: 200ms }
";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failing_systems_lose_nothing() {
    let start = midnight();
    let clock: Arc<dyn Clock> = Arc::new(VirtualClock::new(start));
    // Two hours of prices: 2,916 changes.
    let total = 2_916;
    let erp = mock(
        "erp",
        100,
        &[("prices", 35_000.0, Some(total))],
        start,
        clock.clone(),
    )
    .await;
    let shop = mock("webshop", 500, &[], start, clock.clone()).await;
    // The source: 500s, a hang past the timeout, garbage instead of JSON.
    for fault in [
        Fault {
            status: 500,
            count: 4,
            ..Fault::default()
        },
        Fault {
            status: 200,
            delay_ms: 1_000,
            ..Fault::default()
        },
        Fault {
            status: 200,
            body: Some("<html>maintenance</html>".into()),
            ..Fault::default()
        },
        Fault {
            status: 503,
            retry_after: Some(90),
            ..Fault::default()
        },
    ] {
        erp.inject(fault);
    }
    // The destination: 429 with Retry-After, 500s, a hang, a garbage 502.
    for fault in [
        Fault {
            status: 429,
            retry_after: Some(45),
            count: 3,
            ..Fault::default()
        },
        Fault {
            status: 500,
            count: 20,
            ..Fault::default()
        },
        Fault {
            status: 200,
            delay_ms: 1_000,
            count: 2,
            ..Fault::default()
        },
        Fault {
            status: 502,
            body: Some("\u{0}\u{1}garbage".into()),
            count: 5,
            ..Fault::default()
        },
    ] {
        shop.inject(fault);
    }
    let config = config(&erp, &shop, 2, PRICES);
    let db = TempDb::new("faults");
    let store = db.open().await;
    let engine = engine(&config, store.clone(), clock.clone(), "node-a");
    engine
        .run(Some(start + SignedDuration::from_hours(4)))
        .await
        .unwrap();

    let (erp, shop) = (erp.stats(), shop.stats());
    assert_eq!(erp.faults, 4 + 1 + 1 + 1, "every source fault was met");
    assert_eq!(
        shop.faults,
        3 + 20 + 2 + 5,
        "every destination fault was met"
    );
    let delivered = &shop.accepted["prices"];
    assert_eq!(delivered.distinct, total, "every change arrived");
    assert_eq!(
        delivered.duplicates_without_key, 0,
        "no duplicate without its idempotency key"
    );
    assert_eq!(store.count("prices", TaskStatus::Dead).await.unwrap(), 0);
    assert_eq!(
        store.count("prices", TaskStatus::Finished).await.unwrap(),
        total
    );
    let moved = &engine.stats().moved["prices"];
    assert!(moved.retried >= 3 + 20 + 2 + 5, "{moved:?}");
    assert!(erp.max_per_minute <= 100 && shop.max_per_minute <= 500);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_destination_that_refuses_a_record_sends_it_to_the_dead_letters_with_the_reason() {
    let start = midnight();
    let clock: Arc<dyn Clock> = Arc::new(VirtualClock::new(start));
    let erp = mock(
        "erp",
        100,
        &[("prices", 35_000.0, Some(50))],
        start,
        clock.clone(),
    )
    .await;
    let shop = mock("webshop", 500, &[], start, clock.clone()).await;
    support::refuse_two(&shop);
    let config = config(&erp, &shop, 2, PRICES);
    let db = TempDb::new("refused");
    let store = db.open().await;
    let engine = engine(&config, store.clone(), clock.clone(), "node-a");
    engine
        .run(Some(start + SignedDuration::from_hours(1)))
        .await
        .unwrap();
    assert_eq!(store.count("prices", TaskStatus::Dead).await.unwrap(), 2);
    assert_eq!(
        store.count("prices", TaskStatus::Finished).await.unwrap(),
        48
    );
    // Replayed, they go through.
    assert_eq!(engine.replay_dead("prices").await.unwrap().replayed, 2);
    engine
        .run(Some(start + SignedDuration::from_hours(2)))
        .await
        .unwrap();
    assert_eq!(
        store.count("prices", TaskStatus::Finished).await.unwrap(),
        50
    );
    assert_eq!(shop.stats().accepted["prices"].distinct, 50);
}

/// Records whose own content keeps them from being sent — no key, a
/// transform that fails on them — are dead with the reason and no request;
/// replaying the dead queues only those a retry could help.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn records_that_cannot_be_sent_stay_dead_when_the_dead_are_replayed() {
    let start = midnight();
    let clock: Arc<dyn Clock> = Arc::new(VirtualClock::new(start));
    let erp = mock(
        "erp",
        100,
        &[("prices", 35_000.0, Some(50))],
        start,
        clock.clone(),
    )
    .await;
    let shop = mock("webshop", 500, &[], start, clock.clone()).await;
    shop.inject(Fault {
        status: 422,
        count: 2,
        ..Fault::default()
    });
    let prices = "  prices:
    from: erp
    to: webshop
    volume: 35000/day
    freshness: 30m
    pull: { key: 'if .seq % 10 == 0 then null else .key end' }
    push:
      request: { path: \"/prices/{{ key }}\" }
      transform: 'if .seq % 7 == 0 then error(\"no price for \\(.key)\") else {key, price: .amount} end'
";
    let config = config(&erp, &shop, 2, prices);
    let db = TempDb::new("unsendable");
    let store = db.open().await;
    let engine = engine(&config, store.clone(), clock.clone(), "node-a");
    engine
        .run(Some(start + SignedDuration::from_hours(1)))
        .await
        .unwrap();
    // 5 without a key, 7 the transform refuses, 2 the shop refused.
    assert_eq!(
        store.count("prices", TaskStatus::Dead).await.unwrap(),
        5 + 7 + 2
    );
    let sent = shop.stats().requests;
    assert_eq!(
        sent,
        50 - 5 - 7,
        "no request for a record that cannot be sent"
    );

    let replayed = engine.replay_dead("prices").await.unwrap();
    assert_eq!(replayed.replayed, 2);
    assert_eq!(replayed.left.len(), 5 + 7);
    let reasons: Vec<&str> = replayed.left.iter().map(|(_, r)| r.as_str()).collect();
    assert_eq!(
        reasons.iter().filter(|r| r.starts_with("no key")).count(),
        5
    );
    assert_eq!(
        reasons
            .iter()
            .filter(|r| r.contains("no price for prices-"))
            .count(),
        7,
        "{reasons:?}"
    );
    engine
        .run(Some(start + SignedDuration::from_hours(2)))
        .await
        .unwrap();
    assert_eq!(shop.stats().accepted["prices"].distinct, 50 - 5 - 7);
    assert_eq!(
        store.count("prices", TaskStatus::Dead).await.unwrap(),
        5 + 7
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_429_slows_every_job_that_talks_to_the_system() {
    let start = midnight();
    let clock: Arc<dyn Clock> = Arc::new(VirtualClock::new(start - SignedDuration::from_mins(30)));
    let feeds = [("a", 35_000.0, None), ("b", 35_000.0, None)];
    let erp = mock(
        "erp",
        100,
        &feeds,
        start - SignedDuration::from_hours(1),
        clock.clone(),
    )
    .await;
    let shop = mock("webshop", 500, &[], start, clock.clone()).await;
    // a pushes one record at 0:00 and is told to come back in 5 minutes;
    // b, due at 0:01, must wait for the same webshop.
    let both = "  a:\n    from: erp\n    to: webshop\n    volume: 35000/day\n    \
                push: { schedule: \"0 * * * *\", max_items: 1 }\n  \
                b:\n    from: erp\n    to: webshop\n    volume: 35000/day\n    \
                push: { schedule: \"1 * * * *\", max_items: 20 }\n";
    let config = config(&erp, &shop, 4, both);
    let db = TempDb::new("throttle");
    let store = db.open().await;
    let engine = engine(&config, store.clone(), clock.clone(), "node-a");
    // Half an hour of pulls fills both queues before the pushes start.
    shop.inject(Fault {
        status: 429,
        retry_after: Some(300),
        ..Fault::default()
    });
    engine
        .run(Some(start + SignedDuration::from_mins(10)))
        .await
        .unwrap();
    let stats = shop.stats();
    let midnight_ms = start.as_millisecond();
    let accepted_at = |minute: i64| {
        stats
            .by_minute
            .get(&(midnight_ms + minute * 60_000))
            .copied()
            .unwrap_or(0)
    };
    // b delivered nothing while the webshop asked for quiet, though due at 0:01.
    for minute in 0..5 {
        assert_eq!(
            accepted_at(minute),
            0,
            "minute {minute}: {:?}",
            stats.by_minute
        );
    }
    let after: u64 = (5..10).map(accepted_at).sum();
    assert_eq!(
        after, 20,
        "b delivered when it was over: {:?}",
        stats.by_minute
    );
    assert_eq!(
        stats.rate_limited + stats.faults,
        1,
        "one 429, no more asked"
    );
}

/// What a run of prices alone left behind.
struct PricesRun {
    erp: pacer_mock::Stats,
    store: Arc<Store>,
    /// Holds the file while the store is open: dropped, it deletes it.
    _db: TempDb,
}

/// Runs prices for `minutes` against an erp that takes `erp_rate`/min (the
/// file says 100/min), with `backlog` of changes waiting and `faults` queued.
async fn run_prices(
    test: &str,
    erp_rate: u32,
    backlog: SignedDuration,
    faults: Vec<Fault>,
    minutes: i64,
) -> PricesRun {
    let start = midnight();
    let clock: Arc<dyn Clock> = Arc::new(VirtualClock::new(start));
    let erp = mock(
        "erp",
        erp_rate,
        &[("prices", 35_000.0, None)],
        start - backlog,
        clock.clone(),
    )
    .await;
    for fault in faults {
        erp.inject(fault);
    }
    let shop = mock("webshop", 500, &[], start, clock.clone()).await;
    let config = config(&erp, &shop, 2, PRICES);
    let db = TempDb::new(test);
    let store = db.open().await;
    let engine = engine(&config, store.clone(), clock, "node-a");
    engine
        .run(Some(start + SignedDuration::from_mins(minutes)))
        .await
        .unwrap();
    PricesRun {
        erp: erp.stats(),
        store,
        _db: db,
    }
}

/// The first prices.pull execution.
async fn first_pull(store: &Store) -> Execution {
    store
        .executions(minute_at(0), 100)
        .await
        .unwrap()
        .into_iter()
        .find(|e| e.job == "prices.pull")
        .expect("prices.pull ran")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_source_whose_pages_loop_is_stopped_not_followed_forever() {
    let looping = r#"{"items": [{"key": "k1", "updated_at": "2026-11-27T00:00:00Z"}], "next_page_token": "again"}"#;
    let fault = Fault {
        status: 200,
        count: 3,
        body: Some(looping.into()),
        ..Fault::default()
    };
    let run = run_prices("loop", 100, SignedDuration::ZERO, vec![fault], 1).await;
    let pull = first_pull(&run.store).await;
    assert_eq!(pull.state, "failed");
    let error = pull.error.unwrap();
    assert!(error.contains(r#"page Token("again") twice"#), "{error}");
    // What was read is kept: the record is queued and the cursor moved.
    assert_eq!(run.store.count("prices", TaskStatus::New).await.unwrap(), 1);
    assert_eq!(
        run.store
            .cursor("prices")
            .await
            .unwrap()
            .map(|c| c.value)
            .as_deref(),
        Some("2026-11-27T00:00:00Z")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_retried_after_a_429_is_paid_from_the_budget_of_its_minute() {
    // The erp really takes 50/min, not the 100/min the file says, and has
    // an hour of prices waiting: every minute some page gets 429.
    let run = run_prices(
        "retry-budget",
        50,
        SignedDuration::from_hours(1),
        vec![],
        30,
    )
    .await;
    let erp = &run.erp;
    assert!(erp.rate_limited > 0, "the erp refused some pages: {erp:?}");
    let paid: std::collections::BTreeMap<i64, u64> = run
        .store
        .rate_usage(minute_at(0))
        .await
        .unwrap()
        .into_iter()
        .filter(|(system, _, _)| system == "erp")
        .map(|(_, window, used)| (window.start().as_millisecond(), used))
        .collect();
    for (minute, asked) in &erp.by_minute {
        let paid = paid.get(minute).copied().unwrap_or(0);
        assert!(
            *asked <= paid,
            "minute {minute}: the erp was asked for {asked} items, the budget paid {paid}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_page_retried_within_its_minute_is_not_paid_for_twice() {
    // An hour of prices waiting: the first page asks for the erp's whole
    // minute, 100 items, and gets a 500.
    let run = run_prices(
        "retry-same-minute",
        100,
        SignedDuration::from_hours(1),
        vec![Fault::default()],
        3,
    )
    .await;
    assert_eq!(run.erp.faults, 1);
    let pull = first_pull(&run.store).await;
    assert_eq!((pull.state.as_str(), pull.items), ("succeeded", 100));
    // Retried a second later on the same grant: no wait for the next minute.
    let took = pull
        .finished_at
        .unwrap()
        .duration_since(pull.started_at.unwrap())
        .as_millis();
    assert!(took < 10_000, "the pull took {took} ms");
}
