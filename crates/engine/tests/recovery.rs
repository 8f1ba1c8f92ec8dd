//! A node that stops (SIGKILL, a crash, a machine gone) lets go of its
//! work within one lease: a live node frees its slots, takes its tasks
//! back, marks what it left waiting or running `interrupted`, and runs its
//! jobs again at once. On SQLite and PostgreSQL.

mod support;

use std::sync::Arc;

use jiff::SignedDuration;
use pacer_engine::{Clock, Settings, VirtualClock};
use pacer_store::{Due, ExecutionChange, ExecutionState, NewTask, NodeProcess};
use support::{Backend, at, config, engine, lease, midnight, minute_at, mock};

on_both_backends!(
    what_a_stopped_node_held_comes_back_within_a_lease,
    a_restarted_node_frees_what_its_dead_predecessor_held_at_once,
);

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
    let lease_end = killed + 30_000;
    store.heartbeat("gone", at(killed)).await.unwrap();
    assert!(
        store
            .record_due(&Due {
                job: "prices.pull",
                minute: minute_at(minute),
                node: "gone",
                at: at(minute)
            })
            .await
            .unwrap()
    );
    let running = ExecutionChange {
        state: ExecutionState::Running,
        node: "gone",
        at: at(minute),
        items: 0,
        error: None,
    };
    store
        .set_execution("prices.pull", minute_at(minute), running)
        .await
        .unwrap();
    store
        .acquire_slot(
            1,
            "prices.pull@0",
            &lease("gone/prices.pull@0", killed, lease_end),
        )
        .await
        .unwrap()
        .unwrap();
    let tasks: Vec<NewTask> = (1..=5)
        .map(|i| NewTask {
            key: format!("prices-{i:06}"),
            payload: format!(r#"{{"key": "prices-{i:06}"}}"#),
        })
        .collect();
    store
        .enqueue("prices", &tasks, None, at(minute))
        .await
        .unwrap();
    let claimed = store
        .claim("prices", 5, &lease("gone/prices.push@0", killed, lease_end))
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

    let ledger = store.executions(minute_at(minute), 100).await.unwrap();
    let first = ledger
        .iter()
        .find(|e| e.job == "prices.pull" && e.minute == minute_at(minute))
        .unwrap();
    assert_eq!(first.state, "interrupted", "{first:?}");
    assert!(
        first.error.as_deref().unwrap().contains("(gone)"),
        "{first:?}"
    );
    assert_eq!(
        engine.stats().executions["prices.pull"][&ExecutionState::Interrupted],
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
        .find(|e| e.job == "prices.pull" && e.minute == minute_at(minute) + 1)
        .unwrap();
    assert_eq!(next.state, "succeeded", "{next:?}");
    // The five it had claimed came back and were delivered, with the rest.
    assert_eq!(shop.stats().accepted["prices"].distinct, 50);
    backend.finish().await;
}

/// A node restarted on the same machine finds its predecessor's process
/// gone and frees what it held at once, not a lease later: killed at
/// 00:00:50, its lease would hold the pull's slot past 00:01, and the pull
/// would be skipped then as "still running". A node whose process still
/// runs keeps its rows until its lease ends.
async fn a_restarted_node_frees_what_its_dead_predecessor_held_at_once(backend: Backend) {
    let machine = Settings::default()
        .machine
        .expect("Linux: /proc says which processes run");
    let mut exited = std::process::Command::new("true").spawn().unwrap();
    exited.wait().unwrap();
    let dead_pid = exited.id();

    let start = midnight();
    let (minute, killed) = (start.as_millisecond(), start.as_millisecond() + 50_000);
    let clock: Arc<dyn Clock> = Arc::new(VirtualClock::new(start + SignedDuration::from_secs(55)));
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
    let lease_end = killed + 30_000;
    // "gone" ran the pull, its process has exited; "busy", another node on
    // this machine whose process (this one) runs, ran the push.
    store
        .register_node(
            &NodeProcess {
                node: "gone",
                machine: &machine,
                pid: dead_pid,
            },
            at(killed),
        )
        .await
        .unwrap();
    store
        .register_node(
            &NodeProcess {
                node: "busy",
                machine: &machine,
                pid: std::process::id(),
            },
            at(killed),
        )
        .await
        .unwrap();
    for (job, node, slot) in [("prices.pull", "gone", 0), ("prices.push", "busy", 1)] {
        assert!(
            store
                .record_due(&Due {
                    job,
                    minute: minute_at(minute),
                    node,
                    at: at(minute)
                })
                .await
                .unwrap()
        );
        let running = ExecutionChange {
            state: ExecutionState::Running,
            node,
            at: at(minute),
            items: 0,
            error: None,
        };
        store
            .set_execution(job, minute_at(minute), running)
            .await
            .unwrap();
        store
            .acquire_slot(
                3,
                &format!("{job}@{slot}"),
                &lease(&format!("{node}/{job}@{slot}"), killed, lease_end),
            )
            .await
            .unwrap()
            .unwrap();
    }

    let config = config(&erp, &shop, 3, PRICES);
    let engine = engine(&config, store.clone(), clock.clone(), "restarted");
    engine
        .run(Some(start + SignedDuration::from_mins(6)))
        .await
        .unwrap();

    let ledger = store.executions(minute_at(minute), 100).await.unwrap();
    let at = |job: &str, m: i64| {
        ledger
            .iter()
            .find(|e| e.job == job && e.minute == minute_at(m))
            .unwrap_or_else(|| panic!("no {job} at {m} in {ledger:#?}"))
    };
    let pull = at("prices.pull", minute);
    assert_eq!(pull.state, "interrupted", "{pull:?}");
    assert!(
        pull.error
            .as_deref()
            .unwrap()
            .contains("its process is gone"),
        "{pull:?}"
    );
    assert_eq!(
        at("prices.pull", minute + 60_000).state,
        "succeeded",
        "the pull ran again at its next minute"
    );
    let push = at("prices.push", minute);
    assert_eq!(push.state, "interrupted", "{push:?}");
    assert!(
        push.error
            .as_deref()
            .unwrap()
            .contains("no heartbeat within its lease"),
        "a live process's node is left to its lease: {push:?}"
    );
    assert_eq!(
        at("prices.push", minute + 60_000).state,
        "skipped",
        "its slot was still leased at 00:01"
    );
    assert_eq!(shop.stats().accepted["prices"].distinct, 50);
    backend.finish().await;
}
