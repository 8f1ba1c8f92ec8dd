//! Two engines on one PostgreSQL: each due minute runs once in the cluster,
//! capacity and rate limits hold in total.

mod support;

use std::sync::Arc;

use jiff::{SignedDuration, Timestamp};
use pacer_engine::{Clock, VirtualClock};
use pacer_store::{ExecutionState, StoreBuilder};
use support::{Schema, config, engine, midnight, mock};

const TWO: &str = "  prices:
    from: erp
    to: webshop
    volume: 35000/day
    freshness: 30m
    pull: { max_items: 200 }      # two minutes of the ERP's rate: runs last and overlap
  stock:
    from: erp
    to: webshop
    volume: 21000/day
    freshness: 45m
";

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_engines_share_minutes_capacity_and_rates() {
    let start = midnight();
    let clock: Arc<dyn Clock> = Arc::new(VirtualClock::new(start));
    // Three times the planned prices: pulls run into the ERP's rate, last
    // minutes, and overlap the next job's minute.
    let erp = mock(
        "erp",
        100,
        &[("prices", 105_000.0, None), ("stock", 21_000.0, None)],
        start,
        clock.clone(),
    )
    .await;
    let shop = mock("webshop", 500, &[], start, clock.clone()).await;
    let config = config(&erp, &shop, 1, TWO);
    let schema = Schema::new().await;
    let open = || async {
        let mut builder = StoreBuilder::new(&schema.url);
        builder.schema(&schema.name);
        Arc::new(builder.open().await.unwrap())
    };
    let (store_a, store_b) = (open().await, open().await);
    let a = engine(&config, store_a.clone(), clock.clone(), "node-a");
    let b = engine(&config, store_b, clock.clone(), "node-b");
    let end = start + SignedDuration::from_hours(1);
    let (ra, rb) = tokio::join!(a.run(Some(end)), b.run(Some(end)));
    ra.unwrap();
    rb.unwrap();

    // Each due minute once in the cluster: */4 + 1-59/6 pulls, */20 + */30 pushes.
    let plan = pacer_plan::plan(&config.environment).unwrap();
    let expected: u64 = plan
        .jobs
        .iter()
        .map(|j| 60 / u64::from(j.interval_minutes))
        .sum();
    let ledger = store_a
        .executions(pacer_store::Minute::containing(start), 10_000)
        .await
        .unwrap();
    assert_eq!(
        ledger.len() as u64,
        expected,
        "one ledger row per job and due minute"
    );
    let (sa, sb) = (a.stats(), b.stats());
    let ran = |s: &pacer_engine::Stats| -> u64 {
        s.executions.values().map(|o| o.values().sum::<u64>()).sum()
    };
    assert_eq!(
        ran(&sa) + ran(&sb),
        expected,
        "each executed once, by one node"
    );
    assert!(
        ran(&sa) > 0 && ran(&sb) > 0,
        "both nodes took minutes: {} and {}",
        ran(&sa),
        ran(&sb)
    );
    let count = |outcome: ExecutionState| -> u64 {
        [&sa, &sb]
            .iter()
            .flat_map(|s| s.executions.values().filter_map(move |o| o.get(&outcome)))
            .sum()
    };
    let finished = ledger.iter().filter(|e| e.state == "succeeded").count() as u64;
    assert_eq!(finished, count(ExecutionState::Succeeded));
    assert_eq!(
        ledger.len() as u64 - finished,
        count(ExecutionState::Missed) + count(ExecutionState::Skipped)
    );
    assert!(
        sa.longest_wait_ms.max(sb.longest_wait_ms) > 0,
        "some executions waited for capacity"
    );

    // Capacity 1 in total: no two executions' [start, end) overlap.
    let mut spans: Vec<(Timestamp, Timestamp)> = ledger
        .iter()
        .filter_map(|e| Some((e.started_at?, e.finished_at?)))
        .collect();
    spans.sort();
    assert_eq!(spans.len() as u64, finished);
    assert!(
        spans
            .iter()
            .any(|(s, e)| e.duration_since(*s) >= SignedDuration::from_mins(1)),
        "some executions lasted minutes"
    );
    for pair in spans.windows(2) {
        assert!(pair[0].1 <= pair[1].0, "executions overlapped: {pair:?}");
    }
    // The ERP's 100/min and the webshop's 500/min held for both nodes together.
    let (erp, shop) = (erp.stats(), shop.stats());
    assert!(erp.max_per_minute <= 100, "{}", erp.max_per_minute);
    assert!(shop.max_per_minute <= 500, "{}", shop.max_per_minute);
    assert_eq!(erp.rate_limited + shop.rate_limited, 0);
    assert!(shop.accepted["prices"].items > 0 && shop.accepted["stock"].items > 0);
    schema.drop().await;
}
