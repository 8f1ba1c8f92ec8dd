//! What users rely on when jobs collide, run long, are paused, or the engine
//! was down: capacity, deadlines, overlap, catch-up, controls, maintenance.

mod support;

use std::{collections::BTreeMap, sync::Arc};

use jiff::{SignedDuration, Timestamp};
use pacer_engine::{Clock, Engine, Settings, VirtualClock};
use pacer_mock::Running;
use pacer_store::{ExecutionState, Minute, Store};
use support::{TempDb, engine_with, midnight, mock};

struct World {
    clock: Arc<dyn Clock>,
    erp: Running,
    shop: Running,
    db: TempDb,
}

/// The ERP produces far more than the plan expects, so a pull of `max_items`
/// at 100/min lasts minutes.
async fn world(test: &str) -> World {
    let start = midnight();
    let clock: Arc<dyn Clock> = Arc::new(VirtualClock::new(start));
    let feeds = [
        ("a", 1_000_000.0, None),
        ("b", 1_000_000.0, None),
        ("c", 1_000_000.0, None),
    ];
    // Changes began an hour before: there is a backlog from the first minute.
    let produced_since = start - SignedDuration::from_hours(1);
    World {
        erp: mock("erp", 100, &feeds, produced_since, clock.clone()).await,
        shop: mock("webshop", 500, &[], start, clock.clone()).await,
        clock,
        db: TempDb::new(test),
    }
}

impl World {
    async fn engine(&self, environment: &str, integrations: &str) -> (Engine, Arc<Store>) {
        let yaml = format!(
            "environment: {{ name: t, timezone: Europe/Amsterdam{environment} }}\n\
             systems:\n  erp: {{ rate: 100/min, base_url: \"{}\" }}\n  webshop: {{ rate: 500/min, base_url: \"{}\" }}\n\
             integrations:\n{integrations}",
            self.erp.base_url(),
            self.shop.base_url()
        );
        let config = pacer_config::parse(&yaml, "t.yaml").unwrap();
        let store = self.db.open().await;
        // Requests take schedule time, as against a real system: a run's last
        // page (taken when the rate's minute window opens) then ends after
        // that minute's tick, not at the same instant, where their order
        // would be a race.
        let settings = Settings {
            node: "node".into(),
            request_time: Some(SignedDuration::from_millis(200)),
            ..Settings::default()
        };
        (
            engine_with(&config, store.clone(), self.clock.clone(), settings),
            store,
        )
    }
}

fn at(minutes: i64) -> Timestamp {
    midnight() + SignedDuration::from_mins(minutes)
}

/// Ledger states by job: minute (from midnight) → state.
async fn ledger(store: &Store) -> BTreeMap<String, Vec<(i64, String)>> {
    let mut by_job: BTreeMap<String, Vec<(i64, String)>> = BTreeMap::new();
    for e in store.executions(Minute::default(), 100_000).await.unwrap() {
        let minute = e.minute.minutes_since(Minute::containing(midnight()));
        by_job
            .entry(e.job)
            .or_default()
            .push((minute, e.state.to_string()));
    }
    by_job
}

/// An integration whose pull runs on `schedule`, by default for 300 items
/// (three minutes at the ERP's 100/min).
fn pull(name: &str, schedule: &str, extra: &str) -> String {
    let items = if extra.contains("max_items") {
        ""
    } else {
        ", max_items: 300"
    };
    format!(
        "  {name}:\n    from: erp\n    to: webshop\n    volume: 1000/day\n    \
         pull: {{ schedule: \"{schedule}\"{items}{extra} }}\n    \
         push: {{ schedule: \"59 23 * * *\" }}\n"
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn at_capacity_executions_wait_in_order_then_miss_their_deadline() {
    let w = world("capacity").await;
    // a runs 0:00-0:03 (300 items at 100/min); b waits; c gives up after 2 minutes.
    let jobs = pull("a", "0 * * * *", "")
        + &pull("b", "0 * * * *", "")
        + &pull("c", "0 * * * *", ", deadline: 2m");
    let (engine, store) = w.engine(", capacity: 1", &jobs).await;
    engine.run(Some(at(30))).await.unwrap();
    let states = ledger(&store).await;
    assert_eq!(states["a.pull"], [(0, "succeeded".to_string())]);
    assert_eq!(states["b.pull"], [(0, "succeeded".to_string())]);
    assert_eq!(states["c.pull"], [(0, "missed".to_string())]);
    let rows = store.executions(Minute::default(), 100).await.unwrap();
    let started = |job: &str| {
        rows.iter()
            .find(|e| e.job == job)
            .and_then(|e| e.started_at)
            .map(|s| s.duration_since(at(0)).as_secs())
    };
    assert_eq!(started("a.pull"), Some(0));
    assert!(
        started("b.pull").unwrap() >= 120,
        "b waited for a: {:?}",
        started("b.pull")
    );
    let c = rows.iter().find(|e| e.job == "c.pull").unwrap();
    assert_eq!(c.error.as_deref(), Some("no capacity within 2 min"));
    let stats = engine.stats();
    assert_eq!(stats.most_at_once, 1);
    assert_eq!(stats.executions["c.pull"][&ExecutionState::Missed], 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn overlap_skip_queue_one_and_allow() {
    // Every minute, each run lasting three (300 items at the ERP's 100/min).
    let w = world("overlap").await;
    let (engine, store) = w
        .engine(", capacity: 4", &pull("a", "* * * * *", ", overlap: skip"))
        .await;
    engine.run(Some(at(6))).await.unwrap();
    let rows = ledger(&store).await;
    let states: Vec<&str> = rows["a.pull"].iter().map(|(_, s)| s.as_str()).collect();
    // Runs at 0 (until 0:02), skips 1 and 2, runs at 3, skips 4 and 5.
    assert_eq!(
        states,
        [
            "succeeded",
            "skipped",
            "skipped",
            "succeeded",
            "skipped",
            "skipped"
        ]
    );

    // Two nodes on one store: a run on one is seen by the other.
    let w = world("overlap_nodes").await;
    let job = pull("a", "* * * * *", ", overlap: skip");
    let ((one, store), (two, _)) = (
        w.engine(", capacity: 4", &job).await,
        w.engine(", capacity: 4", &job).await,
    );
    let (ran_one, ran_two) = tokio::join!(one.run(Some(at(6))), two.run(Some(at(6))));
    ran_one.unwrap();
    ran_two.unwrap();
    let rows = ledger(&store).await;
    let states: Vec<&str> = rows["a.pull"].iter().map(|(_, s)| s.as_str()).collect();
    assert_eq!(
        states,
        [
            "succeeded",
            "skipped",
            "skipped",
            "succeeded",
            "skipped",
            "skipped"
        ]
    );

    let w = world("queue_one").await;
    let (engine, store) = w
        .engine(
            ", capacity: 4",
            &pull("b", "* * * * *", ", overlap: queue_one"),
        )
        .await;
    engine.run(Some(at(6))).await.unwrap();
    let rows = ledger(&store).await;
    let states: Vec<&str> = rows["b.pull"].iter().map(|(_, s)| s.as_str()).collect();
    // 1 waits behind 0 and runs when it ends; 2 is skipped (one queued at most).
    assert_eq!(states[0..3], ["succeeded", "succeeded", "skipped"]);

    let w = world("allow").await;
    let (engine, store) = w
        .engine(", capacity: 4", &pull("c", "* * * * *", ", overlap: allow"))
        .await;
    engine.run(Some(at(3))).await.unwrap();
    assert!(
        ledger(&store).await["c.pull"]
            .iter()
            .all(|(_, s)| s == "succeeded")
    );
    assert!(
        engine.stats().most_at_once >= 2,
        "allow runs them side by side"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_downtime_catch_up_runs_latest_all_or_none() {
    let w = world("catch_up").await;
    let jobs = pull("a", "*/10 * * * *", ", max_items: 10, catch_up: latest")
        + &pull(
            "b",
            "*/10 * * * *",
            ", max_items: 10, catch_up: all, catch_up_window: 30m, catch_up_max: 2",
        )
        + &pull("c", "*/10 * * * *", ", max_items: 10");
    let (engine, store) = w.engine(", capacity: 3", &jobs).await;
    engine.run(Some(at(5))).await.unwrap(); // runs minute 0, then "the node dies"
    drop(engine);
    // Back at 1:05: minutes 0:10 … 1:00 were missed (six of them).
    let clock: Arc<dyn Clock> = Arc::new(VirtualClock::new(at(65)));
    let w = World { clock, ..w };
    let (engine, store2) = w.engine(", capacity: 3", &jobs).await;
    engine.run(Some(at(66))).await.unwrap();
    let rows = ledger(&store2).await;
    let minutes = |job: &str| -> Vec<i64> { rows[job].iter().map(|(m, _)| *m).collect() };
    assert_eq!(
        minutes("a.pull"),
        [0, 60],
        "latest: once, for the latest missed minute"
    );
    assert_eq!(
        minutes("b.pull"),
        [0, 50, 60],
        "all: within 30 min, at most 2"
    );
    assert_eq!(minutes("c.pull"), [0], "none: nothing");
    drop(store);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn paused_jobs_do_not_start_and_a_trigger_runs_one_now() {
    let w = world("controls").await;
    let jobs =
        pull("a", "*/5 * * * *", ", max_items: 10") + &pull("b", "0 0 1 1 *", ", max_items: 10");
    let (engine, store) = w.engine(", capacity: 2", &jobs).await;
    store.set_paused("a.pull", true).await.unwrap();
    store
        .trigger("b.pull", Timestamp::UNIX_EPOCH)
        .await
        .unwrap();
    engine.run(Some(at(11))).await.unwrap();
    let rows = store.executions(Minute::default(), 100).await.unwrap();
    let a: Vec<_> = rows.iter().filter(|e| e.job == "a.pull").collect();
    assert_eq!(a.len(), 3);
    assert!(
        a.iter()
            .all(|e| e.state == "skipped" && e.error.as_deref() == Some("paused"))
    );
    let b: Vec<_> = rows.iter().filter(|e| e.job == "b.pull").collect();
    assert_eq!(
        b.len(),
        1,
        "the trigger ran b once, though it is not due for weeks"
    );
    assert_eq!(b[0].state, "succeeded");
    store.set_paused("a.pull", false).await.unwrap();
    engine.run(Some(at(16))).await.unwrap();
    let resumed = store
        .executions(Minute::containing(at(15)), 100)
        .await
        .unwrap();
    assert_eq!(resumed[0].job, "a.pull");
    assert_eq!(resumed[0].state, "succeeded");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nothing_starts_inside_a_maintenance_window() {
    let w = world("maintenance").await;
    // 00:10-00:30 Amsterdam every day.
    let environment = ", capacity: 2, maintenance: [ { cron: \"10 0 * * *\", duration: 20m } ]";
    let (engine, store) = w
        .engine(environment, &pull("a", "*/5 * * * *", ", max_items: 10"))
        .await;
    engine.run(Some(at(40))).await.unwrap();
    let rows = store.executions(Minute::default(), 100).await.unwrap();
    for e in &rows {
        let minute = e.minute.minutes_since(Minute::containing(at(0)));
        if (10..30).contains(&minute) {
            assert_eq!(e.state, "skipped", "minute {minute}");
            assert!(
                e.error
                    .as_deref()
                    .unwrap()
                    .starts_with("maintenance 10 0 * * * for 20 min"),
                "{:?}",
                e.error
            );
        } else {
            assert_eq!(e.state, "succeeded", "minute {minute}");
        }
    }
    assert_eq!(rows.len(), 8);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stop_takes_no_new_executions() {
    let w = world("stop").await;
    let (engine, store) = w
        .engine(", capacity: 2", &pull("a", "* * * * *", ", max_items: 10"))
        .await;
    let stopper = engine.clone();
    // Stop from a task on the clock at 0:03:30. It starts once the scheduler
    // has (`join!` polls in order), or the clock would jump there at once.
    let (ran, stopped) = tokio::join!(engine.run(Some(at(60))), async {
        w.clock
            .spawn(Box::pin(async move {
                stopper
                    .clock()
                    .sleep_until(at(3) + SignedDuration::from_secs(30))
                    .await;
                stopper.stop();
            }))
            .await
    });
    ran.unwrap();
    stopped.unwrap();
    assert_eq!(
        store
            .executions(Minute::default(), 100)
            .await
            .unwrap()
            .len(),
        4,
        "minutes 0-3 only"
    );
}

/// Runs `schedules` (one integration each) through a night in Amsterdam and
/// returns, per job, the UTC instants it ran at and those pacer-cron gives.
async fn night(
    test: &str,
    from: &str,
    hours: i64,
    schedules: &[(&str, &str)],
) -> Vec<(Vec<Timestamp>, Vec<Timestamp>)> {
    let start: Timestamp = from.parse().unwrap();
    let clock: Arc<dyn Clock> = Arc::new(VirtualClock::new(start));
    let feeds: Vec<(&str, f64, Option<u64>)> =
        schedules.iter().map(|(n, _)| (*n, 1_000.0, None)).collect();
    let w = World {
        erp: mock("erp", 100, &feeds, start, clock.clone()).await,
        shop: mock("webshop", 500, &[], start, clock.clone()).await,
        clock,
        db: TempDb::new(test),
    };
    let jobs: String = schedules
        .iter()
        .map(|(name, schedule)| pull(name, schedule, ", max_items: 10"))
        .collect();
    let (engine, store) = w.engine(", capacity: 4", &jobs).await;
    let end = start + SignedDuration::from_hours(hours);
    engine.run(Some(end)).await.unwrap();
    let rows = store.executions(Minute::default(), 10_000).await.unwrap();
    let zone = jiff::tz::TimeZone::get("Europe/Amsterdam").unwrap();
    schedules
        .iter()
        .map(|(name, schedule)| {
            let ran: Vec<Timestamp> = rows
                .iter()
                .filter(|e| e.job == format!("{name}.pull"))
                .map(|e| e.minute.start())
                .collect();
            let cron = pacer_cron::Schedule::parse(schedule).unwrap();
            let mut due = Vec::new();
            let mut at = start - SignedDuration::from_millis(1);
            while let Some(next) = cron.next_after(at, &zone).map(|z| z.timestamp()) {
                if next >= end {
                    break;
                }
                due.push(next);
                at = next;
            }
            (ran, due)
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn daylight_saving_nights_run_what_cron_says() {
    // Spring forward (02:00 → 03:00) and fall back (03:00 → 02:00) in Amsterdam.
    for (test, from, fixed_runs, wall_runs) in [
        ("dst_spring", "2026-03-28T23:00:00Z", 1, 12),
        ("dst_fall", "2026-10-24T22:00:00Z", 1, 12),
    ] {
        let nights = night(
            test,
            from,
            6,
            &[("fixed", "30 2 * * *"), ("wall", "*/30 * * * *")],
        )
        .await;
        for (ran, due) in &nights {
            assert_eq!(ran, due, "{test}");
        }
        assert_eq!(
            nights[0].0.len(),
            fixed_runs,
            "{test}: a fixed-time job runs once"
        );
        assert_eq!(nights[1].0.len(), wall_runs, "{test}: */30 over the night");
    }
}

/// Executions due together start together, up to capacity: none waits for
/// another's turn to be polled (they once started a second apart, so a
/// node with many jobs fell minutes behind).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn executions_due_together_start_together() {
    let start = midnight();
    let clock: Arc<dyn Clock> = Arc::new(VirtualClock::new(start));
    let names: Vec<String> = (0..30).map(|i| format!("i{i:02}")).collect();
    let feeds: Vec<(&str, f64, Option<u64>)> =
        names.iter().map(|n| (n.as_str(), 1_000.0, None)).collect();
    let w = World {
        erp: mock("erp", 100, &feeds, start, clock.clone()).await,
        shop: mock("webshop", 500, &[], start, clock.clone()).await,
        clock,
        db: TempDb::new("together"),
    };
    let jobs: String = names
        .iter()
        .map(|n| pull(n, "0 * * * *", ", max_items: 1"))
        .collect();
    let (engine, store) = w.engine(", capacity: 30", &jobs).await;
    engine.run(Some(at(5))).await.unwrap();
    let rows = store.executions(Minute::default(), 1_000).await.unwrap();
    let pulls: Vec<_> = rows.iter().filter(|e| e.job.ends_with(".pull")).collect();
    assert_eq!(pulls.len(), 30, "{rows:#?}");
    for e in pulls {
        assert_eq!(e.state, ExecutionState::Succeeded, "{e:#?}");
        assert_eq!(e.started_at, Some(at(0)), "{} waited for its turn", e.job);
    }
}

/// A slot that frees goes to the next execution in line at that instant,
/// not at its next look.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_freed_slot_goes_to_the_next_in_line_at_once() {
    let w = world("handover").await;
    let jobs = pull("a", "0 * * * *", ", max_items: 150") + &pull("b", "0 * * * *", "");
    let (engine, store) = w.engine(", capacity: 1", &jobs).await;
    engine.run(Some(at(10))).await.unwrap();
    let rows = store.executions(Minute::default(), 100).await.unwrap();
    let row = |job: &str| rows.iter().find(|e| e.job == job).unwrap();
    let (a, b) = (row("a.pull"), row("b.pull"));
    assert_eq!(a.state, ExecutionState::Succeeded, "{a:#?}");
    assert!(
        a.finished_at.unwrap() > at(1),
        "a ran past a minute: {a:#?}"
    );
    assert_eq!(b.started_at, a.finished_at, "b started when a's slot freed");
}
