//! A node that stops (SIGKILL, a crash, a machine gone) lets go of its
//! work within one lease: a live node frees its slots, takes its tasks
//! back, marks what it left waiting or running `interrupted`, and runs its
//! jobs again at once. On SQLite and PostgreSQL.

mod support;

use std::sync::Arc;

use jiff::SignedDuration;
use pacer_engine::{Clock, Outcome, VirtualClock};
use pacer_store::{ExecutionChange, ExecutionState, NewTask};
use support::{Backend, config, engine, midnight, mock};

on_both_backends!(what_a_stopped_node_held_comes_back_within_a_lease);

const PRICES: &str = "  prices:
    from: erp
    to: webshop
    volume: 35000/day
    pull: { schedule: \"* * * * *\" }
    push: { schedule: \"* * * * *\", request: { path: \"/prices/{{ key }}\" } }
";

/// A regression: a killed runner's slots stayed leased for 5 minutes and
/// its ledger rows `running` for ever, so the next runner skipped each job
/// as "previous execution is still running" (26 of 52 due minutes once).
async fn what_a_stopped_node_held_comes_back_within_a_lease(backend: Backend) {
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
    let store = backend.open().await;
    // What node "gone" left when it was killed at 00:00:05: a running pull
    // holding a slot, and five prices it had claimed to deliver.
    let (minute, killed) = (start.as_millisecond(), start.as_millisecond() + 5_000);
    let lease = killed + 30_000;
    store.heartbeat("gone", killed).await.unwrap();
    assert!(
        store
            .record_due("prices.pull", minute, minute)
            .await
            .unwrap()
    );
    let running = ExecutionChange {
        state: ExecutionState::Running,
        node: "gone",
        at: minute,
        items: 0,
        error: None,
    };
    store
        .set_execution("prices.pull", minute, running)
        .await
        .unwrap();
    store
        .acquire_slot(1, "gone/prices.pull@0", "prices.pull@0", lease, killed)
        .await
        .unwrap()
        .unwrap();
    let tasks: Vec<NewTask> = (1..=5)
        .map(|i| NewTask {
            key: format!("prices-{i:06}"),
            payload: format!(r#"{{"key": "prices-{i:06}"}}"#),
        })
        .collect();
    store.enqueue("prices", &tasks, None, minute).await.unwrap();
    let claimed = store
        .claim("prices", 5, "gone/prices.push@0", lease, killed)
        .await
        .unwrap();
    assert_eq!(claimed.len(), 5);

    // A new node starts at once, with capacity 1: the gone node's slot is
    // all there is.
    let config = config(&erp, &shop, 1, PRICES);
    let engine = engine(&config, store.clone(), clock.clone(), "alive");
    engine
        .run(Some(start + SignedDuration::from_mins(6)))
        .await
        .unwrap();

    let ledger = store.executions(minute, 100).await.unwrap();
    let first = ledger
        .iter()
        .find(|e| e.job == "prices.pull" && e.minute == minute)
        .unwrap();
    assert_eq!(first.state, "interrupted", "{first:?}");
    assert!(
        first.error.as_deref().unwrap().contains("(gone)"),
        "{first:?}"
    );
    assert_eq!(
        engine.stats().executions["prices.pull"][&Outcome::Interrupted],
        1
    );
    // Nothing is left waiting or running, nothing was skipped as "still
    // running", and the job ran again the very next minute.
    assert!(
        ledger
            .iter()
            .all(|e| !["waiting", "running", "skipped"].contains(&e.state.as_str())),
        "{ledger:#?}"
    );
    let next = ledger
        .iter()
        .find(|e| e.job == "prices.pull" && e.minute == minute + 60_000)
        .unwrap();
    assert_eq!(next.state, "succeeded", "{next:?}");
    // The five it had claimed came back and were delivered, with the rest.
    assert_eq!(shop.stats().accepted["prices"].distinct, 50);
    backend.finish().await;
}
