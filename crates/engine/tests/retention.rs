//! A month on the virtual clock: the store's rows level off at what the
//! retention keeps, while every change still arrives.

mod support;

use std::sync::Arc;

use jiff::SignedDuration;
use pacer_engine::{Clock, Settings, VirtualClock};
use support::{TempDb, config, engine_with, midnight, mock};

const STOCK: &str = "  stock:
    from: erp
    to: webshop
    volume: 2000/day
    freshness: 60m
    push: { request: { path: \"/stock/{{ key }}\" } }
";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_month_of_work_levels_off_at_the_retention() {
    let start = midnight();
    let clock: Arc<dyn Clock> = Arc::new(VirtualClock::new(start));
    let erp = mock(
        "erp",
        100,
        &[("stock", 2_000.0, None)],
        start,
        clock.clone(),
    )
    .await;
    let shop = mock("webshop", 500, &[], start, clock.clone()).await;
    let config = config(&erp, &shop, 2, STOCK);
    let yaml_retention = pacer_config::Retention {
        finished_tasks: SignedDuration::from_hours(48),
        dead_tasks: SignedDuration::from_hours(48),
        executions: SignedDuration::from_hours(72),
        rate_windows: SignedDuration::from_hours(24),
    };
    let config = pacer_config::Config {
        retention: yaml_retention,
        ..config
    };
    let db = TempDb::new("retention");
    let store = db.open().await;
    // A long lease: the heartbeat is not what this test watches, and a
    // beat every 10 s would be most of a month's work.
    let settings = Settings {
        node: "node-a".into(),
        lease: SignedDuration::from_mins(30),
        ..Settings::default()
    };
    let engine = engine_with(&config, store.clone(), clock.clone(), settings);

    let mut counts = Vec::new();
    for day in (5..=30).step_by(5) {
        let until = start + SignedDuration::from_hours(24 * day);
        engine.run(Some(until)).await.unwrap();
        counts.push((day, store.row_counts().await.unwrap()));
    }
    let stats = engine.stats();
    let executions: u64 = stats.executions.values().flat_map(|o| o.values()).sum();
    let produced = erp.stats().feeds["stock"].produced;
    let delivered = shop.stats().accepted["stock"].distinct;
    assert!(produced > 55_000, "a month of stock changes: {produced}");
    assert!(
        produced - delivered < 200,
        "every change but the last hour's arrived: {delivered} of {produced}"
    );
    // From the fifth day on, what the store holds stays level: the last
    // two days of tasks, three of executions, one of rate windows.
    let (_, level) = counts[1];
    for &(day, rows) in &counts[1..] {
        let near = |now: u64, then: u64| now.abs_diff(then) * 10 <= then;
        assert!(
            near(rows.tasks, level.tasks)
                && near(rows.executions, level.executions)
                && near(rows.rate_windows, level.rate_windows),
            "day {day}: {rows:?}, against day 10's {level:?}"
        );
    }
    let (_, last) = counts[counts.len() - 1];
    assert!(
        last.tasks < 2 * 2_000 + 500 && last.tasks < produced / 10,
        "two days of tasks kept: {last:?}"
    );
    assert!(
        last.executions * 8 < executions,
        "three of thirty days' executions kept: {} of {executions}",
        last.executions
    );
    assert!(
        last.rate_windows > 0 && last.rate_windows <= 2 * (24 * 60 + 60),
        "one day of two systems' windows kept: {last:?}"
    );
    let pruned = stats.pruned;
    assert!(
        pruned.finished_tasks > 50_000 && pruned.executions > 2_000 && pruned.rate_windows > 2_000,
        "{pruned:?}"
    );
}
