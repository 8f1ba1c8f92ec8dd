//! One suite, run against both backends: every test exists as `NAME::sqlite`
//! and `NAME::postgres`.
//!
//! PostgreSQL comes from `PACER_TEST_POSTGRES` (default: the local server CI
//! starts); each test works in a fresh schema of its own. Nothing is skipped:
//! when the server is unreachable, the PostgreSQL tests fail.

use std::{
    collections::{HashMap, HashSet},
    sync::atomic::{AtomicU64, Ordering},
};

use pacer_store::{
    Cursor, Due, ExecutionChange, ExecutionQuery, ExecutionState, FailOutcome, NewTask, Pruned,
    PushBack, RateRequest, Rejected, Retention, RetryPolicy, Store, StoreBuilder, SystemMinute,
    TaskQuery, TaskStatus,
};
use support::{at, failure, lease, minute_at};

mod support;

/// A fresh database for one test.
struct Db {
    builder: StoreBuilder,
    url: String,
    schema: Option<String>,
}

fn unique(test: &str) -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .subsec_nanos();
    format!(
        "{test}_{}_{nanos}_{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    )
}

impl Db {
    async fn sqlite(test: &str) -> Db {
        let dir = std::env::temp_dir().join(format!("pacer-store-{}", unique(test)));
        std::fs::create_dir_all(&dir).unwrap();
        let url = format!("sqlite://{}", dir.join("pacer.db").display());
        Db {
            builder: StoreBuilder::new(&url),
            url,
            schema: None,
        }
    }

    async fn postgres(test: &str) -> Db {
        let url = std::env::var("PACER_TEST_POSTGRES")
            .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_string());
        // PostgreSQL cuts names at 63 bytes: keep only what makes it unique.
        let schema = format!("pacer_test_{}", unique("")).to_lowercase();
        let _ = test;
        let mut admin = <sqlx::PgConnection as sqlx::Connection>::connect(&url)
            .await
            .unwrap_or_else(|e| panic!("PostgreSQL at {url} is needed for this test: {e}"));
        sqlx::raw_sql(sqlx::AssertSqlSafe(format!("CREATE SCHEMA {schema}")))
            .execute(&mut admin)
            .await
            .unwrap();
        let mut builder = StoreBuilder::new(&url);
        builder.schema(&schema);
        Db {
            builder,
            url,
            schema: Some(schema),
        }
    }

    async fn open(&self) -> Store {
        self.builder.open().await.unwrap()
    }

    /// Drops the test's schema (a failed test leaves it, for inspection).
    async fn clean_up(self) {
        if let Some(schema) = &self.schema {
            let mut admin = <sqlx::PgConnection as sqlx::Connection>::connect(&self.url)
                .await
                .unwrap();
            sqlx::raw_sql(sqlx::AssertSqlSafe(format!("DROP SCHEMA {schema} CASCADE")))
                .execute(&mut admin)
                .await
                .unwrap();
        }
    }
}

macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {$(
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn sqlite() {
                let db = super::Db::sqlite(stringify!($name)).await;
                super::$name(&db).await;
                db.clean_up().await;
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn postgres() {
                let db = super::Db::postgres(stringify!($name)).await;
                super::$name(&db).await;
                db.clean_up().await;
            }
        }
    )*};
}

on_both_backends!(
    a_due_minute_is_recorded_once,
    three_nodes_race_for_a_thousand_minutes,
    executions_move_through_their_states,
    a_newer_payload_replaces_the_pending_one,
    leases_expire_and_owners_are_checked,
    failures_back_off_then_die_and_replay,
    cursors_move_with_their_tasks,
    eight_claimers_complete_ten_thousand_tasks_once,
    a_newer_schema_is_refused,
    capacity_slots_are_shared_and_come_back,
    skip_replay_and_batch_completion,
    pruning_deletes_old_rows_in_batches,
    one_node_a_round_takes_a_chore,
    alerts_lost_nodes_and_oldest_tasks,
    rate_windows_are_shared_by_nodes,
    pause_resume_and_trigger_from_any_node,
    a_rejected_record_is_kept_dead_with_its_reason,
    tasks_and_executions_are_listed_for_the_dashboard,
    replaying_the_dead_leaves_what_cannot_be_sent,
    a_failed_delivery_carries_the_change_queued_meanwhile,
    what_a_system_answered_back_is_counted_by_the_minute,
);

/// Throttles, failures and refused items add up in a system's minute,
/// beside what its rate window used, whether the minute was taken from
/// first or not; nothing answered back writes nothing.
async fn what_a_system_answered_back_is_counted_by_the_minute(db: &Db) {
    let store = db.open().await;
    store
        .take_rate(&RateRequest {
            system: "webshop",
            window: minute_at(60_000),
            want: 300,
            limit: 500,
        })
        .await
        .unwrap();
    let throttled = PushBack {
        throttled: 1,
        failed: 0,
        refused: 20,
    };
    store
        .push_back("webshop", minute_at(60_000), &throttled)
        .await
        .unwrap();
    store
        .push_back("webshop", minute_at(60_000), &throttled)
        .await
        .unwrap();
    let timed_out = PushBack {
        throttled: 0,
        failed: 1,
        refused: 0,
    };
    store
        .push_back("erp", minute_at(120_000), &timed_out)
        .await
        .unwrap();
    store
        .push_back("erp", minute_at(180_000), &PushBack::default())
        .await
        .unwrap();
    assert_eq!(
        store.system_minutes(minute_at(0)).await.unwrap(),
        [
            SystemMinute {
                budget: "erp".into(),
                window: minute_at(120_000),
                used: 0,
                answers: timed_out,
            },
            SystemMinute {
                budget: "webshop".into(),
                window: minute_at(60_000),
                used: 300,
                answers: PushBack {
                    throttled: 2,
                    failed: 0,
                    refused: 40,
                },
            },
        ]
    );
    assert!(
        store
            .system_minutes(minute_at(180_000))
            .await
            .unwrap()
            .is_empty()
    );
}

fn task(key: &str, payload: &str) -> NewTask {
    NewTask {
        key: key.to_string(),
        payload: payload.to_string(),
    }
}

async fn a_due_minute_is_recorded_once(db: &Db) {
    let store = db.open().await;
    assert!(
        store
            .record_due(&Due {
                job: "prices.pull",
                minute: minute_at(60_000),
                node: "node-1",
                at: at(60_001)
            })
            .await
            .unwrap()
    );
    assert!(
        !store
            .record_due(&Due {
                job: "prices.pull",
                minute: minute_at(60_000),
                node: "node-1",
                at: at(60_002)
            })
            .await
            .unwrap()
    );
    assert!(
        store
            .record_due(&Due {
                job: "prices.push",
                minute: minute_at(60_000),
                node: "node-1",
                at: at(60_001)
            })
            .await
            .unwrap()
    );
    assert_eq!(
        store
            .execution_state("prices.pull", minute_at(60_000))
            .await
            .unwrap(),
        Some(ExecutionState::Due)
    );
    // Opening again migrates nothing and keeps the data.
    let again = db.open().await;
    assert!(
        !again
            .record_due(&Due {
                job: "prices.pull",
                minute: minute_at(60_000),
                node: "node-1",
                at: at(60_003)
            })
            .await
            .unwrap()
    );
}

async fn three_nodes_race_for_a_thousand_minutes(db: &Db) {
    let nodes = [db.open().await, db.open().await, db.open().await];
    let nodes: Vec<std::sync::Arc<Store>> = nodes.into_iter().map(std::sync::Arc::new).collect();
    let mut handles = Vec::new();
    for node in &nodes {
        let node = node.clone();
        handles.push(tokio::spawn(async move {
            let mut won = Vec::new();
            for n in 0..1000i64 {
                if node
                    .record_due(&Due {
                        job: "stock.pull",
                        minute: minute_at(n * 60_000),
                        node: "node-1",
                        at: at(0),
                    })
                    .await
                    .unwrap()
                {
                    won.push(n);
                }
            }
            won
        }));
    }
    let mut winners = Vec::new();
    for handle in handles {
        winners.extend(handle.await.unwrap());
    }
    winners.sort_unstable();
    assert_eq!(
        winners,
        (0..1000).collect::<Vec<_>>(),
        "each minute must have exactly one winner"
    );
}

async fn executions_move_through_their_states(db: &Db) {
    let store = db.open().await;
    store
        .record_due(&Due {
            job: "orders.push",
            minute: minute_at(120_000),
            node: "node-1",
            at: at(120_000),
        })
        .await
        .unwrap();
    let change = |state, ms, items, error| ExecutionChange {
        state,
        node: "node-a",
        at: at(ms),
        items,
        error,
    };
    store
        .set_execution(
            "orders.push",
            minute_at(120_000),
            change(pacer_store::ExecutionState::Running, 120_500, 0, None),
        )
        .await
        .unwrap();
    store
        .set_execution(
            "orders.push",
            minute_at(120_000),
            change(
                pacer_store::ExecutionState::Failed,
                121_000,
                3,
                Some("webshop answered 500"),
            ),
        )
        .await
        .unwrap();
    assert_eq!(
        store
            .execution_state("orders.push", minute_at(120_000))
            .await
            .unwrap(),
        Some(ExecutionState::Failed)
    );
}

async fn a_newer_payload_replaces_the_pending_one(db: &Db) {
    let store = db.open().await;
    store
        .enqueue(
            "prices",
            &[task("SKU-1", "10"), task("SKU-2", "20")],
            None,
            at(0),
        )
        .await
        .unwrap();
    store
        .enqueue("prices", &[task("SKU-1", "11")], None, at(1))
        .await
        .unwrap();
    assert_eq!(store.count("prices", TaskStatus::New).await.unwrap(), 2);
    let claimed = store
        .claim("prices", 10, &lease("a", 2, 1_000))
        .await
        .unwrap();
    let sku1 = claimed.iter().find(|t| t.key == "SKU-1").unwrap();
    assert_eq!(sku1.payload, "11");
    // While SKU-1 is in flight, a newer change queues beside it: it is not lost.
    store
        .enqueue("prices", &[task("SKU-1", "12")], None, at(3))
        .await
        .unwrap();
    assert_eq!(store.count("prices", TaskStatus::New).await.unwrap(), 1);
    assert_eq!(
        store.count("prices", TaskStatus::Processing).await.unwrap(),
        2
    );
    // Keys are per integration.
    store
        .enqueue("stock", &[task("SKU-1", "5")], None, at(3))
        .await
        .unwrap();
    assert_eq!(store.count("stock", TaskStatus::New).await.unwrap(), 1);

    // A replaced change keeps the time it was first queued; the one queued
    // beside an in-flight task has its own, whatever the ids.
    let queued_by =
        async |integration: &str, ms: i64| store.queued_by(integration, at(ms)).await.unwrap();
    assert_eq!(queued_by("prices", 0).await, 2);
    assert_eq!(queued_by("prices", 2).await, 2);
    assert_eq!(queued_by("prices", 3).await, 3);
    store
        .enqueue("stock", &[task("SKU-2", "6")], None, at(2))
        .await
        .unwrap();
    assert_eq!(queued_by("stock", 1).await, 0);
    assert_eq!(queued_by("stock", 2).await, 1);
    assert_eq!(queued_by("stock", 3).await, 2);
    assert_eq!(queued_by("orders", 3).await, 0);
}

/// Found by the in-memory store's differential test: a delivery failed
/// while a newer change of its record waited, and the retry broke the one
/// pending task per key (a unique violation, which failed the push).
async fn a_failed_delivery_carries_the_change_queued_meanwhile(db: &Db) {
    let store = db.open().await;
    let policy = RetryPolicy {
        max_attempts: 2,
        ..RetryPolicy::default()
    };
    store
        .enqueue("prices", &[task("SKU-1", "10")], None, at(0))
        .await
        .unwrap();
    let sent = store
        .claim("prices", 10, &lease("a", 1, 1_000))
        .await
        .unwrap();
    store
        .enqueue("prices", &[task("SKU-1", "11")], None, at(2))
        .await
        .unwrap();
    let fate = store
        .fail(sent[0].id, "a", &failure("503", None, &policy), at(3))
        .await
        .unwrap();
    let Some(FailOutcome::RetryAt(retry)) = fate else {
        panic!("a first failure is retried: {fate:?}");
    };
    // One task for the record, the newer payload, keeping its history.
    assert_eq!(store.count("prices", TaskStatus::Failed).await.unwrap(), 1);
    assert_eq!(store.count("prices", TaskStatus::New).await.unwrap(), 0);
    assert_eq!(store.queued_by("prices", at(3)).await.unwrap(), 1);
    let retried = store
        .claim(
            "prices",
            10,
            &lease("b", retry.as_millisecond(), retry.as_millisecond() + 1_000),
        )
        .await
        .unwrap();
    assert_eq!(retried.len(), 1);
    assert_eq!(
        (
            retried[0].id,
            retried[0].payload.as_str(),
            retried[0].attempts
        ),
        (sent[0].id, "11", 2)
    );
    assert_eq!(store.task_errors(sent[0].id).await.unwrap().len(), 1);

    // A task that dies leaves the newer change pending, to go on its own.
    store
        .enqueue("prices", &[task("SKU-1", "12")], None, retry)
        .await
        .unwrap();
    let fate = store
        .fail(sent[0].id, "b", &failure("503", None, &policy), retry)
        .await
        .unwrap();
    assert_eq!(fate, Some(FailOutcome::Dead));
    let next = store
        .claim(
            "prices",
            10,
            &lease("c", retry.as_millisecond(), retry.as_millisecond() + 1_000),
        )
        .await
        .unwrap();
    assert_eq!(next.len(), 1);
    assert_eq!((next[0].payload.as_str(), next[0].attempts), ("12", 1));
}

async fn leases_expire_and_owners_are_checked(db: &Db) {
    let store = db.open().await;
    store
        .enqueue("stock", &[task("A", "1")], None, at(0))
        .await
        .unwrap();
    let first = store
        .claim("stock", 10, &lease("node-1", 0, 100))
        .await
        .unwrap();
    assert_eq!(first.len(), 1);
    assert_eq!(first[0].attempts, 1);
    // Leased: nobody else gets it before the lease ends.
    assert!(
        store
            .claim("stock", 10, &lease("node-2", 50, 200))
            .await
            .unwrap()
            .is_empty()
    );
    // node-1 died; after its lease, node-2 takes the task over.
    let second = store
        .claim("stock", 10, &lease("node-2", 101, 300))
        .await
        .unwrap();
    assert_eq!(second.len(), 1);
    assert_eq!(second[0].id, first[0].id);
    assert_eq!(second[0].attempts, 2);
    // node-1 comes back: its completion no longer counts.
    assert!(
        !store
            .complete(first[0].id, "node-1", at(150))
            .await
            .unwrap()
    );
    assert!(
        store
            .complete(first[0].id, "node-2", at(150))
            .await
            .unwrap()
    );
    assert_eq!(
        store.task(first[0].id).await.unwrap().unwrap().status,
        TaskStatus::Finished
    );
}

async fn failures_back_off_then_die_and_replay(db: &Db) {
    let store = db.open().await;
    let policy = RetryPolicy {
        max_attempts: 3,
        base_delay: jiff::SignedDuration::from_secs(1),
        max_delay: jiff::SignedDuration::from_secs(10),
    };
    store
        .enqueue("orders", &[task("O-1", "{}")], None, at(0))
        .await
        .unwrap();
    let id = store
        .claim("orders", 1, &lease("a", 0, 60_000))
        .await
        .unwrap()[0]
        .id;
    // An explicit Retry-After wins over the backoff.
    assert_eq!(
        store
            .fail(id, "a", &failure("429", Some(5_000), &policy), at(10))
            .await
            .unwrap(),
        Some(FailOutcome::RetryAt(at(5_000)))
    );
    assert!(
        store
            .claim("orders", 1, &lease("a", 4_999, 60_000))
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        store
            .claim("orders", 1, &lease("a", 5_000, 60_000))
            .await
            .unwrap()
            .len(),
        1
    );
    // Backoff: between half and all of base × 2^(attempt-1).
    let Some(FailOutcome::RetryAt(retry)) = store
        .fail(id, "a", &failure("500", None, &policy), at(6_000))
        .await
        .unwrap()
    else {
        panic!("expected a retry")
    };
    let retry = retry.as_millisecond();
    assert!(
        (6_000 + 1_000..=6_000 + 2_000).contains(&retry),
        "retry at {retry}"
    );
    assert_eq!(
        store.task(id).await.unwrap().unwrap().status,
        TaskStatus::Failed
    );
    assert_eq!(
        store.task(id).await.unwrap().unwrap().last_error.as_deref(),
        Some("500")
    );
    store
        .claim("orders", 1, &lease("a", retry, 60_000))
        .await
        .unwrap();
    assert_eq!(
        store
            .fail(id, "a", &failure("500 again", None, &policy), at(retry + 1))
            .await
            .unwrap(),
        Some(FailOutcome::Dead)
    );
    assert_eq!(store.count("orders", TaskStatus::Dead).await.unwrap(), 1);
    // Replay: back to new, attempts reset, and deliverable.
    assert_eq!(
        store
            .replay_dead("orders", &[], at(retry + 2))
            .await
            .unwrap(),
        1
    );
    let replayed = store.task(id).await.unwrap().unwrap();
    assert_eq!((replayed.status, replayed.attempts), (TaskStatus::New, 0));
    assert_eq!(
        store
            .claim("orders", 1, &lease("b", retry + 3, 60_000))
            .await
            .unwrap()[0]
            .id,
        id
    );
}

/// Records rejected when read (never attempted) and the tasks the caller
/// names stay dead; the others are queued again.
async fn replaying_the_dead_leaves_what_cannot_be_sent(db: &Db) {
    let store = db.open().await;
    let once = RetryPolicy {
        max_attempts: 1,
        ..RetryPolicy::default()
    };
    store
        .enqueue(
            "orders",
            &[task("O-1", "{}"), task("O-2", "{}")],
            None,
            at(0),
        )
        .await
        .unwrap();
    let claimed = store
        .claim("orders", 2, &lease("a", 0, 60_000))
        .await
        .unwrap();
    for t in &claimed {
        store
            .fail(t.id, "a", &failure("422", None, &once), at(1))
            .await
            .unwrap();
    }
    let keyless = store
        .reject(
            "orders",
            &Rejected {
                key: "record 3 of the page",
                raw: "{}",
                reason: "no key",
            },
            at(2),
        )
        .await
        .unwrap();
    assert_eq!(store.count("orders", TaskStatus::Dead).await.unwrap(), 3);
    let (refused, unsendable) = (claimed[0].id, claimed[1].id);
    assert_eq!(
        store
            .replay_dead("orders", &[unsendable], at(3))
            .await
            .unwrap(),
        1
    );
    for (id, status) in [
        (refused, TaskStatus::New),
        (unsendable, TaskStatus::Dead),
        (keyless, TaskStatus::Dead),
    ] {
        assert_eq!(
            store.task(id).await.unwrap().unwrap().status,
            status,
            "{id}"
        );
    }
}

async fn cursors_move_with_their_tasks(db: &Db) {
    let store = db.open().await;
    assert_eq!(store.cursor("prices").await.unwrap(), None);
    let first = Cursor::at("2026-11-27T10:00:00Z");
    store
        .enqueue("prices", &[task("A", "1")], Some(&first), at(0))
        .await
        .unwrap();
    assert_eq!(store.cursor("prices").await.unwrap(), Some(first));
    // The records read at the cursor's value move with it.
    let later = Cursor {
        value: "2026-11-27T10:05:00Z".into(),
        boundary: vec!["1f2e".into(), "3d4c".into()],
    };
    store
        .enqueue("prices", &[], Some(&later), at(1))
        .await
        .unwrap();
    assert_eq!(store.cursor("prices").await.unwrap(), Some(later));
    assert_eq!(store.cursor("stock").await.unwrap(), None);
}

async fn eight_claimers_complete_ten_thousand_tasks_once(db: &Db) {
    let store = std::sync::Arc::new(db.open().await);
    let tasks: Vec<NewTask> = (0..10_000).map(|i| task(&format!("K{i}"), "{}")).collect();
    for batch in tasks.chunks(1_000) {
        store.enqueue("bulk", batch, None, at(0)).await.unwrap();
    }
    let mut handles = Vec::new();
    for worker in 0..8 {
        let store = store.clone();
        handles.push(tokio::spawn(async move {
            let owner = format!("worker-{worker}");
            let mut done = Vec::new();
            // Half the workers complete one by one, half batch-complete while claiming.
            let mut in_flight: Vec<i64> = Vec::new();
            loop {
                let claimed = if worker % 2 == 0 {
                    store
                        .claim("bulk", 100, &lease(&owner, 1, 3_600_000))
                        .await
                        .unwrap()
                } else {
                    let (completed, claimed) = store
                        .complete_and_claim(&in_flight, "bulk", 100, &lease(&owner, 1, 3_600_000))
                        .await
                        .unwrap();
                    assert_eq!(completed, in_flight.len() as u64);
                    done.append(&mut in_flight);
                    claimed
                };
                if claimed.is_empty() {
                    return done;
                }
                for t in claimed {
                    if worker % 2 == 0 {
                        assert!(store.complete(t.id, &owner, at(2)).await.unwrap());
                        done.push(t.id);
                    } else {
                        in_flight.push(t.id);
                    }
                }
            }
        }));
    }
    let mut all = Vec::new();
    for handle in handles {
        all.extend(handle.await.unwrap());
    }
    let distinct: HashSet<i64> = all.iter().copied().collect();
    assert_eq!(all.len(), 10_000, "every task completed exactly once");
    assert_eq!(distinct.len(), 10_000, "no task claimed twice");
    assert_eq!(
        store.count("bulk", TaskStatus::Finished).await.unwrap(),
        10_000
    );
}

async fn a_newer_schema_is_refused(db: &Db) {
    drop(db.open().await);
    let sql = "INSERT INTO pacer_schema (version) VALUES (999)";
    match &db.schema {
        None => {
            let mut c = <sqlx::SqliteConnection as sqlx::Connection>::connect(&db.url)
                .await
                .unwrap();
            sqlx::query(sql).execute(&mut c).await.unwrap();
        }
        Some(schema) => {
            let mut c = <sqlx::PgConnection as sqlx::Connection>::connect(&db.url)
                .await
                .unwrap();
            sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
                "SET search_path = {schema}; {sql}"
            )))
            .execute(&mut c)
            .await
            .unwrap();
        }
    }
    let err = db.builder.open().await.unwrap_err();
    assert!(err.is_newer_schema(), "{err}");
    assert!(err.to_string().contains("schema version 999"), "{err}");
}

async fn capacity_slots_are_shared_and_come_back(db: &Db) {
    let (a, b) = (db.open().await, db.open().await);
    // Capacity 2 across two nodes.
    let first = a
        .acquire_slot(2, "prices.pull@0", &lease("node-a", 0, 1_000))
        .await
        .unwrap();
    let second = b
        .acquire_slot(2, "stock.pull@0", &lease("node-b", 0, 1_000))
        .await
        .unwrap();
    assert!(first.is_some() && second.is_some() && first != second);
    // Any node sees which jobs run: by whole job name, while the lease lives.
    assert!(b.has_live_slot("prices.pull", at(10)).await.unwrap());
    assert!(a.has_live_slot("stock.pull", at(10)).await.unwrap());
    assert!(!a.has_live_slot("prices.pul", at(10)).await.unwrap());
    assert!(!a.has_live_slot("prices", at(10)).await.unwrap());
    assert!(!a.has_live_slot("orders.pull", at(10)).await.unwrap());
    assert!(!a.has_live_slot("prices.pull", at(1_001)).await.unwrap());
    assert_eq!(
        b.acquire_slot(2, "orders.pull@0", &lease("node-b", 10, 1_000))
            .await
            .unwrap(),
        None
    );
    assert_eq!(a.slots_in_use(2, at(10)).await.unwrap(), 2);
    // node-a heartbeats; node-b dies and its lease runs out.
    assert!(
        a.renew_slot(first.unwrap(), &lease("node-a", 900, 5_000))
            .await
            .unwrap()
    );
    assert_eq!(a.slots_in_use(2, at(1_001)).await.unwrap(), 1);
    let taken_over = a
        .acquire_slot(2, "orders.pull@0", &lease("node-a", 1_001, 6_000))
        .await
        .unwrap();
    assert_eq!(taken_over, second);
    // node-b's late heartbeat is refused: it lost the slot.
    assert!(
        !b.renew_slot(second.unwrap(), &lease("node-b", 1_002, 9_000))
            .await
            .unwrap()
    );
    assert!(a.release_slot(first.unwrap(), "node-a").await.unwrap());
    assert_eq!(a.slots_in_use(2, at(1_003)).await.unwrap(), 1);
}

async fn skip_replay_and_batch_completion(db: &Db) {
    let store = db.open().await;
    let tasks: Vec<NewTask> = (0..5).map(|i| task(&format!("K{i}"), "{}")).collect();
    store.enqueue("stock", &tasks, None, at(0)).await.unwrap();
    let claimed = store
        .claim("stock", 3, &lease("a", 0, 1_000))
        .await
        .unwrap();
    let ids: Vec<i64> = claimed.iter().map(|t| t.id).collect();
    assert_eq!(store.complete_many(&ids, "a", at(1)).await.unwrap(), 3);
    assert_eq!(store.complete_many(&ids, "a", at(2)).await.unwrap(), 0);
    let (completed, rest) = store
        .complete_and_claim(&[], "stock", 10, &lease("a", 3, 1_000))
        .await
        .unwrap();
    assert_eq!((completed, rest.len()), (0, 2));
    assert_eq!(
        store
            .complete_many(&[rest[0].id], "someone-else", at(4))
            .await
            .unwrap(),
        0
    );
    // A task in flight cannot be skipped; a failed one can, and comes back by replay.
    assert!(!store.skip(rest[0].id, at(5)).await.unwrap());
    let policy = RetryPolicy::default();
    store
        .fail(
            rest[0].id,
            "a",
            &failure("boom", Some(10_000), &policy),
            at(5),
        )
        .await
        .unwrap();
    assert!(store.skip(rest[0].id, at(6)).await.unwrap());
    assert_eq!(
        store.task(rest[0].id).await.unwrap().unwrap().status,
        TaskStatus::Skipped
    );
    assert!(store.replay(rest[0].id, at(7)).await.unwrap());
    assert_eq!(
        store.task(rest[0].id).await.unwrap().unwrap().status,
        TaskStatus::New
    );
    // Not while a newer change with its key waits.
    assert!(store.skip(rest[0].id, at(8)).await.unwrap());
    store
        .enqueue("stock", &[task(&rest[0].key, "newer")], None, at(9))
        .await
        .unwrap();
    assert!(!store.replay(rest[0].id, at(10)).await.unwrap());
}

async fn pruning_deletes_old_rows_in_batches(db: &Db) {
    let store = db.open().await;
    let tasks: Vec<NewTask> = (0..25).map(|i| task(&format!("K{i}"), "{}")).collect();
    store.enqueue("prices", &tasks, None, at(0)).await.unwrap();
    let claimed = store
        .claim("prices", 20, &lease("a", 0, 1_000))
        .await
        .unwrap();
    let ids: Vec<i64> = claimed.iter().map(|t| t.id).collect();
    store.complete_many(&ids[..15], "a", at(100)).await.unwrap();
    store
        .complete_many(&ids[15..], "a", at(5_000))
        .await
        .unwrap();
    // Dead: one old, one recent; a skipped one goes with the finished.
    for (n, when) in [(0, 200), (1, 9_000)] {
        let reject = Rejected {
            key: &format!("bad {n}"),
            raw: "{",
            reason: "not JSON",
        };
        store.reject("prices", &reject, at(when)).await.unwrap();
    }
    let query = TaskQuery {
        status: Some(TaskStatus::New),
        limit: 1,
        ..TaskQuery::default()
    };
    let new = &store.tasks(&query).await.unwrap()[0];
    assert!(store.skip(new.id, at(300)).await.unwrap());
    for minute in 0..30 {
        store
            .record_due(&Due {
                job: "prices.pull",
                minute: minute_at(minute * 60_000),
                node: "node-1",
                at: at(0),
            })
            .await
            .unwrap();
        let state = if minute == 3 {
            ExecutionState::Running
        } else {
            ExecutionState::Succeeded
        };
        store
            .set_execution(
                "prices.pull",
                minute_at(minute * 60_000),
                ExecutionChange {
                    state,
                    node: "node-1",
                    at: at(1),
                    items: 0,
                    error: None,
                },
            )
            .await
            .unwrap();
    }
    // A job whose only minute is old keeps it: a restart counts from there.
    store
        .record_due(&Due {
            job: "stock.pull",
            minute: minute_at(0),
            node: "node-1",
            at: at(0),
        })
        .await
        .unwrap();
    for window in 0..10 {
        store
            .take_rate(&RateRequest {
                system: "erp",
                window: minute_at(window * 60_000),
                want: 5,
                limit: 100,
            })
            .await
            .unwrap();
    }
    let before = store.row_counts().await.unwrap();
    assert_eq!(
        (before.tasks, before.executions, before.rate_windows),
        (27, 31, 10)
    );
    // Batches of 4: the old rows go, in several statements each.
    let retention = Retention {
        finished_tasks: at(1_000),
        dead_tasks: at(1_000),
        executions: minute_at(20 * 60_000),
        rate_windows: minute_at(6 * 60_000),
    };
    let pruned = store.prune(&retention, 4).await.unwrap();
    assert_eq!(
        pruned,
        Pruned {
            finished_tasks: 16,
            dead_tasks: 1,
            executions: 19,
            rate_windows: 6,
        },
        "15 finished and 1 skipped; the old dead one; 20 old minutes but the running one; 6 windows"
    );
    assert_eq!(
        store.count("prices", TaskStatus::Finished).await.unwrap(),
        5
    );
    assert_eq!(store.count("prices", TaskStatus::Dead).await.unwrap(), 1);
    assert_eq!(store.count("prices", TaskStatus::New).await.unwrap(), 4);
    assert_eq!(store.count("prices", TaskStatus::Skipped).await.unwrap(), 0);
    let after = store.row_counts().await.unwrap();
    assert_eq!(
        (after.tasks, after.executions, after.rate_windows),
        (10, 12, 4)
    );
    assert_eq!(
        store.last_due("stock.pull").await.unwrap(),
        Some(minute_at(0))
    );
    assert!(
        store
            .record_due(&Due {
                job: "prices.pull",
                minute: minute_at(0),
                node: "node-1",
                at: at(1)
            })
            .await
            .unwrap(),
        "pruned minutes are gone"
    );
    assert!(
        !store
            .record_due(&Due {
                job: "prices.pull",
                minute: minute_at(25 * 60_000),
                node: "node-1",
                at: at(1)
            })
            .await
            .unwrap()
    );
    assert_eq!(
        store.prune(&retention, 4).await.unwrap(),
        Pruned::default(),
        "a second prune finds nothing: the minute recorded again is still due"
    );
}

async fn one_node_a_round_takes_a_chore(db: &Db) {
    let (a, b) = (db.open().await, db.open().await);
    let hour = jiff::SignedDuration::from_hours(1);
    assert!(a.claim_chore("prune", "a", at(0), hour).await.unwrap());
    assert!(!b.claim_chore("prune", "b", at(1_000), hour).await.unwrap());
    assert!(
        !a.claim_chore("prune", "a", at(3_599_999), hour)
            .await
            .unwrap()
    );
    assert!(
        b.claim_chore("prune", "b", at(3_600_000), hour)
            .await
            .unwrap()
    );
    assert!(
        a.claim_chore("other", "a", at(3_600_000), hour)
            .await
            .unwrap(),
        "each chore has its own round"
    );
    // Many nodes at once: exactly one wins.
    let (w, x, y, z) = (
        db.open().await,
        db.open().await,
        db.open().await,
        db.open().await,
    );
    let late = at(7_200_000);
    let wins = tokio::join!(
        w.claim_chore("prune", "w", late, hour),
        x.claim_chore("prune", "x", late, hour),
        y.claim_chore("prune", "y", late, hour),
        z.claim_chore("prune", "z", late, hour),
    );
    let wins = [wins.0, wins.1, wins.2, wins.3];
    assert_eq!(wins.into_iter().filter(|w| *w.as_ref().unwrap()).count(), 1);
}

async fn alerts_lost_nodes_and_oldest_tasks(db: &Db) {
    let store = db.open().await;
    let alert = pacer_store::Alert {
        condition: "dead_tasks".into(),
        subject: "prices".into(),
        message: "2 dead tasks".into(),
        since: at(1_000),
        fired_at: None,
        sent_at: None,
        cleared_at: None,
    };
    store.put_alert(&alert).await.unwrap();
    let fired = pacer_store::Alert {
        message: "3 dead tasks".into(),
        fired_at: Some(at(2_000)),
        sent_at: Some(at(2_000)),
        cleared_at: Some(at(2_500)),
        ..alert.clone()
    };
    store.put_alert(&fired).await.unwrap();
    let other = pacer_store::Alert {
        condition: "at_capacity".into(),
        subject: "capacity".into(),
        since: at(1_500),
        ..alert.clone()
    };
    store.put_alert(&other).await.unwrap();
    assert_eq!(
        store.alerts().await.unwrap(),
        [fired.clone(), other.clone()]
    );
    store.close_alert("dead_tasks", "prices").await.unwrap();
    assert_eq!(store.alerts().await.unwrap(), [other]);

    // a beats and stops cleanly; b goes silent; c still beats; d is long gone.
    for (node, when) in [("a", 10_000), ("b", 10_000), ("c", 200_000), ("d", 1)] {
        store.heartbeat(node, at(when)).await.unwrap();
    }
    store.node_stopped("a", at(10_001)).await.unwrap();
    let lost = store.nodes_lost(at(100_000), at(5_000)).await.unwrap();
    assert_eq!(lost, [("b".to_string(), at(10_000))]);
    // A stopped node that beats again is counted again.
    store.heartbeat("a", at(20_000)).await.unwrap();
    let lost = store.nodes_lost(at(100_000), at(5_000)).await.unwrap();
    assert_eq!(lost.len(), 2);

    let tasks = [task("K1", "{}"), task("K2", "{}")];
    store
        .enqueue("prices", &tasks, None, at(300))
        .await
        .unwrap();
    store
        .enqueue("prices", &[task("K3", "{}")], None, at(400))
        .await
        .unwrap();
    store
        .enqueue("stock", &[task("S1", "{}")], None, at(500))
        .await
        .unwrap();
    let claimed = store
        .claim("prices", 2, &lease("n", 600, 9_000))
        .await
        .unwrap();
    store
        .complete_many(
            &claimed.iter().map(|t| t.id).collect::<Vec<_>>(),
            "n",
            at(700),
        )
        .await
        .unwrap();
    assert_eq!(
        store.oldest_queued().await.unwrap(),
        [
            ("prices".to_string(), at(400)),
            ("stock".to_string(), at(500))
        ],
        "delivered tasks are not waiting"
    );
}

async fn rate_windows_are_shared_by_nodes(db: &Db) {
    let (a, b) = (
        std::sync::Arc::new(db.open().await),
        std::sync::Arc::new(db.open().await),
    );
    let take = |system, minute_ms, want, limit| RateRequest {
        system,
        window: minute_at(minute_ms),
        want,
        limit,
    };
    // 100 a minute between them: 60 + 40, then nothing until the next window.
    assert_eq!(a.take_rate(&take("erp", 0, 60, 100)).await.unwrap(), 60);
    assert_eq!(b.take_rate(&take("erp", 0, 60, 100)).await.unwrap(), 40);
    assert_eq!(a.take_rate(&take("erp", 0, 1, 100)).await.unwrap(), 0);
    assert_eq!(b.take_rate(&take("webshop", 0, 5, 500)).await.unwrap(), 5);
    assert_eq!(
        a.take_rate(&take("erp", 60_000, 100, 100)).await.unwrap(),
        100
    );

    // Sixteen takers racing for one window never get more than the limit together.
    let mut racers = Vec::new();
    for n in 0..16 {
        let store = if n % 2 == 0 { a.clone() } else { b.clone() };
        racers.push(tokio::spawn(async move {
            let mut got = 0;
            for _ in 0..20 {
                got += store
                    .take_rate(&RateRequest {
                        system: "erp",
                        window: minute_at(120_000),
                        want: 3,
                        limit: 500,
                    })
                    .await
                    .unwrap();
            }
            got
        }));
    }
    let mut total = 0;
    for racer in racers {
        total += racer.await.unwrap();
    }
    assert_eq!(total, 500);
}

async fn pause_resume_and_trigger_from_any_node(db: &Db) {
    let (a, b) = (db.open().await, db.open().await);
    assert!(a.job_controls().await.unwrap().is_empty());
    a.set_paused("prices.pull", true).await.unwrap();
    b.trigger("stock.push", at(5_000)).await.unwrap();
    let controls = b.job_controls().await.unwrap();
    assert_eq!(controls.len(), 2);
    assert!(controls[0].paused && controls[0].job == "prices.pull");
    assert_eq!(controls[1].triggered_at, Some(at(5_000)));
    // Exactly one node takes a trigger.
    assert!(a.take_trigger("stock.push").await.unwrap());
    assert!(!b.take_trigger("stock.push").await.unwrap());
    b.set_paused("prices.pull", false).await.unwrap();
    assert!(!a.job_controls().await.unwrap()[0].paused);
}

async fn a_rejected_record_is_kept_dead_with_its_reason(db: &Db) {
    let store = db.open().await;
    let id = store
        .reject(
            "prices",
            &Rejected {
                key: "page 3, record 7",
                raw: "{not json",
                reason: "not JSON: expected a value",
            },
            at(9),
        )
        .await
        .unwrap();
    let rejected = store.task(id).await.unwrap().unwrap();
    assert_eq!(rejected.status, TaskStatus::Dead);
    assert_eq!(rejected.payload, "{not json");
    assert_eq!(
        rejected.last_error.as_deref(),
        Some("not JSON: expected a value")
    );
    assert_eq!(store.count("prices", TaskStatus::Dead).await.unwrap(), 1);
    // A rejected record does not block a good one with the same key.
    store
        .enqueue("prices", &[task("page 3, record 7", "{}")], None, at(10))
        .await
        .unwrap();
    assert_eq!(store.count("prices", TaskStatus::New).await.unwrap(), 1);
}

async fn tasks_and_executions_are_listed_for_the_dashboard(db: &Db) {
    let store = db.open().await;
    let policy = RetryPolicy {
        max_attempts: 2,
        ..RetryPolicy::default()
    };
    let batch: Vec<NewTask> = (0..5).map(|i| task(&format!("P-{i}"), "{}")).collect();
    store
        .enqueue("prices", &batch, None, at(100))
        .await
        .unwrap();
    store
        .enqueue("stock", &[task("S-1", "{}")], None, at(100))
        .await
        .unwrap();
    let claimed = store
        .claim("prices", 1, &lease("a", 200, 60_000))
        .await
        .unwrap();
    let failing = claimed[0].id;
    store
        .fail(failing, "a", &failure("503 busy", None, &policy), at(300))
        .await
        .unwrap();
    store
        .claim("prices", 5, &lease("a", 1_000_000, 60_000))
        .await
        .unwrap();
    store
        .fail(
            failing,
            "a",
            &failure("400 bad price", None, &policy),
            at(400),
        )
        .await
        .unwrap();
    let rejected = store
        .reject(
            "stock",
            &Rejected {
                key: "record 2",
                raw: "{",
                reason: "not JSON",
            },
            at(500),
        )
        .await
        .unwrap();

    // Newest first, filtered, and paged by id.
    let prices = store
        .tasks(&TaskQuery {
            integration: Some("prices".into()),
            limit: 3,
            ..TaskQuery::default()
        })
        .await
        .unwrap();
    assert_eq!(prices.len(), 3);
    assert!(prices.windows(2).all(|w| w[0].id > w[1].id));
    assert_eq!(prices[0].created_at, at(100));
    let rest = store
        .tasks(&TaskQuery {
            integration: Some("prices".into()),
            before: Some(prices[2].id),
            limit: 10,
            ..TaskQuery::default()
        })
        .await
        .unwrap();
    assert_eq!(rest.len(), 2);
    let dead = store
        .tasks(&TaskQuery {
            status: Some(TaskStatus::Dead),
            limit: 10,
            ..TaskQuery::default()
        })
        .await
        .unwrap();
    assert_eq!(
        dead.iter().map(|t| t.id).collect::<Vec<_>>(),
        [rejected, failing]
    );

    let counts = store.task_counts().await.unwrap();
    assert!(counts.contains(&("prices".into(), TaskStatus::Dead, 1)));
    assert!(counts.contains(&("prices".into(), TaskStatus::Processing, 4)));
    assert!(counts.contains(&("stock".into(), TaskStatus::New, 1)));

    // Every failed attempt is kept, not only the last.
    let errors = store.task_errors(failing).await.unwrap();
    assert_eq!(
        errors
            .iter()
            .map(|e| (e.attempt, e.at, e.error.as_str()))
            .collect::<Vec<_>>(),
        [(1, at(300), "503 busy"), (2, at(400), "400 bad price")]
    );
    let recent = store.recent_errors(2).await.unwrap();
    assert_eq!(
        recent
            .iter()
            .map(|e| (e.integration.as_str(), e.task))
            .collect::<Vec<_>>(),
        [("stock", rejected), ("prices", failing)]
    );

    // Every status is counted, once: against the tasks listed one by one.
    let listed = |status| {
        let store = &store;
        async move {
            let query = TaskQuery {
                status: Some(status),
                limit: 100,
                ..TaskQuery::default()
            };
            store.tasks(&query).await.unwrap()
        }
    };
    let processing = listed(TaskStatus::Processing).await;
    assert!(
        store
            .complete(processing[0].id, "a", at(600))
            .await
            .unwrap()
    );
    let retried = store
        .fail(
            processing[1].id,
            "a",
            &failure("503 busy", Some(60_000), &policy),
            at(600),
        )
        .await
        .unwrap();
    assert!(matches!(retried, Some(FailOutcome::RetryAt(_))));
    let stock = listed(TaskStatus::New).await;
    assert!(store.skip(stock[0].id, at(600)).await.unwrap());
    store
        .enqueue("stock", &[task("S-2", "{}")], None, at(600))
        .await
        .unwrap();
    let mut expected = HashMap::new();
    for status in TaskStatus::ALL {
        for t in listed(status).await {
            *expected.entry((t.integration, status)).or_insert(0) += 1;
        }
    }
    let counted: HashMap<(String, TaskStatus), u64> = store
        .task_counts()
        .await
        .unwrap()
        .into_iter()
        .map(|(integration, status, n)| ((integration, status), n))
        .collect();
    assert_eq!(counted, expected);
    let statuses: HashSet<TaskStatus> = counted.keys().map(|(_, status)| *status).collect();
    assert_eq!(statuses.len(), TaskStatus::ALL.len(), "{counted:?}");

    for (job, minute, state) in [
        ("prices.pull", 60_000, ExecutionState::Succeeded),
        ("prices.pull", 120_000, ExecutionState::Missed),
        ("stock.push", 120_000, ExecutionState::Succeeded),
    ] {
        store
            .record_due(&Due {
                job,
                minute: minute_at(minute),
                node: "node-1",
                at: at(minute),
            })
            .await
            .unwrap();
        let change = ExecutionChange {
            state,
            node: "node-a",
            at: at(minute + 1),
            items: 0,
            error: None,
        };
        store
            .set_execution(job, minute_at(minute), change)
            .await
            .unwrap();
    }
    let history = |job: Option<&str>, state: Option<&str>| {
        let query = ExecutionQuery {
            job: job.map(str::to_string),
            state: state.map(|s| ExecutionState::parse(s).unwrap()),
            since: at(0),
            limit: 10,
        };
        let store = &store;
        async move {
            store
                .history(&query)
                .await
                .unwrap()
                .into_iter()
                .map(|e| (e.job, e.minute.start().as_millisecond()))
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(
        history(None, None).await,
        [
            ("prices.pull".into(), 120_000),
            ("stock.push".into(), 120_000),
            ("prices.pull".into(), 60_000)
        ]
    );
    assert_eq!(
        history(Some("prices.pull"), Some("succeeded")).await,
        [("prices.pull".into(), 60_000)]
    );
    // Each job's newest row in one call; a job that never ran has none.
    let jobs = ["stock.push", "prices.pull", "orders.pull"].map(String::from);
    let latest: Vec<(String, i64, ExecutionState)> = store
        .latest_executions(&jobs, &ExecutionState::ALL)
        .await
        .unwrap()
        .into_iter()
        .map(|e| (e.job, e.minute.start().as_millisecond(), e.state))
        .collect();
    assert_eq!(
        latest,
        [
            ("prices.pull".into(), 120_000, ExecutionState::Missed),
            ("stock.push".into(), 120_000, ExecutionState::Succeeded),
        ]
    );
    // Or the newest in chosen states: prices.pull's last success is older.
    let succeeded = store
        .latest_executions(&jobs, &[ExecutionState::Succeeded])
        .await
        .unwrap();
    assert_eq!(
        succeeded
            .iter()
            .map(|e| (e.job.as_str(), e.minute.start().as_millisecond()))
            .collect::<Vec<_>>(),
        [("prices.pull", 60_000), ("stock.push", 120_000)]
    );

    store.heartbeat("node-a", at(1_000)).await.unwrap();
    store.heartbeat("node-b", at(5_000)).await.unwrap();
    store.heartbeat("node-a", at(900)).await.unwrap();
    assert_eq!(
        store.nodes_alive(at(1_000)).await.unwrap(),
        ["node-a", "node-b"]
    );
    assert_eq!(store.nodes_alive(at(2_000)).await.unwrap(), ["node-b"]);

    // A manual retry makes a failed task due now.
    store
        .enqueue("stock", &[task("S-9", "{}")], None, at(600))
        .await
        .unwrap();
    let waiting = store
        .claim("stock", 1, &lease("a", 600, 60_000))
        .await
        .unwrap()[0]
        .id;
    store
        .fail(
            waiting,
            "a",
            &failure("503", Some(9_999_999), &policy),
            at(700),
        )
        .await
        .unwrap();
    assert!(store.replay(waiting, at(800)).await.unwrap());
    let retried = store.task(waiting).await.unwrap().unwrap();
    assert_eq!(
        (retried.status, retried.next_attempt_at),
        (TaskStatus::New, at(800))
    );

    store
        .take_rate(&RateRequest {
            system: "webshop",
            window: minute_at(60_000),
            want: 30,
            limit: 500,
        })
        .await
        .unwrap();
    store
        .take_rate(&RateRequest {
            system: "webshop",
            window: minute_at(120_000),
            want: 70,
            limit: 500,
        })
        .await
        .unwrap();
    store
        .take_rate(&RateRequest {
            system: "erp",
            window: minute_at(0),
            want: 5,
            limit: 10,
        })
        .await
        .unwrap();
    assert_eq!(
        store.rate_usage(minute_at(60_000)).await.unwrap(),
        [
            ("webshop".to_string(), minute_at(60_000), 30),
            ("webshop".to_string(), minute_at(120_000), 70)
        ]
    );
}
