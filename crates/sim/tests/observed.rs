//! Plans that learn: days played through the real engine, on the virtual
//! clock, against mocks that produce a known volume by a known hourly
//! profile, into a store on disk (SQLite, and PostgreSQL on
//! `PACER_TEST_POSTGRES`); then the ledger read back as the planner's
//! observed figures, which must recover that volume, peak and profile.

use std::sync::{
    Arc,
    atomic::{AtomicU64, Ordering},
};

use jiff::civil::date;
use pacer_plan::Observation;
use pacer_sim::Options;
use pacer_store::{Store, StoreBuilder};

/// Nothing at night, a shoulder either side of a busy working day.
const PROFILE: [f64; 24] = [
    0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 1.0, 1.0, 3.0, 3.0, 3.0, 3.0, 3.0, 3.0, 3.0, 3.0, 3.0, 3.0, 1.0,
    1.0, 1.0, 1.0, 0.0, 0.0,
];

/// What really happens: 2,000 price changes on an ordinary day, by
/// [`PROFILE`]; the file that is planned declares 500 and no profile.
fn config(volume: u32, profile: bool) -> pacer_config::Config {
    let profile = if profile {
        format!(", profile: {PROFILE:?}")
    } else {
        String::new()
    };
    let yaml = format!(
        "environment: {{ name: shop, timezone: Europe/Amsterdam, capacity: 2 }}\n\
         systems:\n  erp: {{ rate: 100/min }}\n  webshop: {{ rate: 500/min }}\n\
         integrations:\n  prices: {{ from: erp, to: webshop, volume: {volume}/day, \
         freshness: 30m{profile} }}\n"
    );
    pacer_config::parse(&yaml, "shop.yaml").unwrap()
}

/// Plays 2026-03-02 at the ordinary volume and 2026-03-03 at 1.5× (the
/// peak day) into `store`, on a plan with room for the peak, and reads
/// back the window of both days.
async fn observe_two_days(store: Arc<Store>) -> Observation {
    let actual = config(2_000, true);
    let plan = pacer_plan::plan(&config(3_000, false).environment).unwrap();
    for (start, volume_factor) in [(date(2026, 3, 2), 1.0), (date(2026, 3, 3), 1.5)] {
        let options = Options {
            start,
            volume_factor,
            store: Some(store.clone()),
            ..Options::default()
        };
        pacer_sim::simulate(&actual, &plan, &options).await.unwrap();
    }
    read_back(
        &store,
        &config(500, false),
        date(2026, 2, 20),
        date(2026, 3, 4),
    )
    .await
}

/// The store's ledger and rate windows from local midnight `from` to
/// `until`, observed against `declared`.
async fn read_back(
    store: &Store,
    declared: &pacer_config::Config,
    from: jiff::civil::Date,
    until: jiff::civil::Date,
) -> Observation {
    let zone = declared.time_zone.clone();
    let at = |d: jiff::civil::Date| d.to_zoned(zone.clone()).unwrap().timestamp();
    let (from, until) = (at(from), at(until));
    let ran = pacer_engine::observed::ran(store, from, until)
        .await
        .unwrap();
    let took = pacer_engine::observed::took(store, from, until)
        .await
        .unwrap();
    pacer_plan::observe(&declared.environment, &zone, from, until, &ran, &took)
}

/// The file as the test's node runs it after the recorded days: it
/// declares 500 a day, sees drift alerts (sent to nowhere), and its
/// systems are addresses nothing answers on.
fn declared_node() -> pacer_config::Config {
    let yaml = "environment: { name: shop, timezone: Europe/Amsterdam, capacity: 2 }\n\
         systems:\n  erp: { rate: 100/min, base_url: 'http://127.0.0.1:9' }\n  \
         webshop: { rate: 500/min, base_url: 'http://127.0.0.1:9' }\n\
         integrations:\n  prices: { from: erp, to: webshop, volume: 500/day, freshness: 30m }\n\
         alerts: { when: { drift: on }, send: [ { webhook: 'http://127.0.0.1:9/alerts' } ] }\n";
    pacer_config::parse(yaml, "shop.yaml").unwrap()
}

/// The day after the recorded ones, a node on the declared file finds its
/// plan drifted: the engine's figures flag it, the alert fires, the
/// Schedule page says "drifted" and `/metrics` has the ratio (about 6:
/// 3,000 on the peak day against 500 declared).
async fn drift_is_shown_and_alerted(store: Arc<Store>) {
    let config = declared_node();
    let plan = pacer_plan::plan(&config.environment).unwrap();
    let zone = config.time_zone.clone();
    let start = date(2026, 3, 4).to_zoned(zone).unwrap().timestamp();
    let clock = Arc::new(pacer_engine::VirtualClock::serial(start));
    let settings = pacer_engine::Settings {
        node: "next-day".into(),
        ..pacer_engine::Settings::default()
    };
    let engine = pacer_engine::Engine::new(&config, &plan, store, clock, settings).unwrap();
    engine
        .run(Some(start + jiff::SignedDuration::from_mins(3)))
        .await
        .unwrap();

    let seen = engine.seen().await.unwrap();
    // The file declares no profile (even over the day); the mocks made
    // 08:00-18:00 three times as busy as 06:00-08:00.
    let hour = seen.busiest_hours[0];
    assert_eq!(hour.declared, (0, 1.0));
    let (busiest, weight) = hour.observed.unwrap();
    assert!(
        (8..18).contains(&busiest) && (weight - 2.0).abs() < 0.05,
        "{hour:?}"
    );
    let prices = &seen.drifts.integrations[0];
    assert!(prices.drifted, "{prices:?}");
    let ratio = prices.ratio.unwrap();
    assert!((ratio - 6.0).abs() <= 0.06, "{ratio}");
    let alerts = engine.alerts().await.unwrap();
    assert!(
        alerts.iter().any(|a| a.condition == "drift"
            && a.subject == "prices"
            && a.message.starts_with("prices changed ")
            && a.message.contains(
                " times on its busiest day of the last 7 days, the file plans for 500 (+500%); "
            )
            && a.message
                .ends_with("`pacer plan FILE --observed` suggests the figures to declare")),
        "{alerts:?}"
    );

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let access = pacer_server::Access::new(None, addr);
    tokio::spawn(pacer_server::serve(
        listener,
        pacer_server::router(engine.clone(), access),
    ));
    let get = |path: &str| reqwest::get(format!("http://{addr}{path}"));
    let page = get("/schedule").await.unwrap().text().await.unwrap();
    assert!(
        page.contains("id=\"drift-integrations\"")
            && page.contains("drifted")
            && page.contains("00:00 ×1.0 / ")
            && page.contains("the busiest day seen. More than 25% off is drift: `pacer plan"),
        "{page}"
    );
    let metrics = get("/metrics").await.unwrap().text().await.unwrap();
    let line = metrics
        .lines()
        .find(|l| l.starts_with("pacer_volume_drift_ratio{integration=\"prices\"}"))
        .unwrap_or_else(|| panic!("{metrics}"));
    let value: f64 = line.rsplit(' ').next().unwrap().parse().unwrap();
    assert!((value - ratio).abs() < 1e-9, "{line}");
}

/// The observed figures recover what the mocks produced: the volume and
/// the peak within 1%, the peak factor within 0.01, each hour's weight
/// within 0.05 of the profile's (weights whose mean is 1).
fn assert_recovered(observation: &Observation) {
    assert_eq!(observation.whole_days, 2, "{observation:#?}");
    let prices = &observation.integrations[0];
    let mean = prices.changes_per_day.unwrap();
    assert!((mean - 2_500.0).abs() <= 25.0, "mean {mean}");
    let peak = prices.peak_day.as_ref().unwrap();
    assert_eq!(peak.date, date(2026, 3, 3));
    assert!(peak.changes.abs_diff(3_000) <= 30, "peak {}", peak.changes);
    let factor = prices.peak_factor.unwrap();
    assert!((factor - 1.2).abs() <= 0.01, "peak factor {factor}");
    let sum: f64 = PROFILE.iter().sum();
    let profile = prices.profile.as_ref().unwrap();
    for (hour, (seen, weight)) in profile.iter().zip(PROFILE).enumerate() {
        let expected = weight * 24.0 / sum;
        assert!(
            (seen - expected).abs() <= 0.05,
            "hour {hour}: observed {seen:.3}, produced {expected:.3}\n{profile:?}"
        );
    }
    // Every pull and push started: durations and waits are figures.
    assert!(prices.pull.executions >= 48 * 2, "{:?}", prices.pull);
    assert!(prices.push.items.p50 > 0.0, "{:?}", prices.push);
    assert!(prices.pull.duration_s.p50 > 0.0, "{:?}", prices.pull);
}

/// What the planner makes of it: the declared 500 a day becomes the
/// observed mean, with the peak day as its factor.
fn assert_planned_again(observation: &Observation) {
    let declared = config(500, false);
    let observed = pacer_plan::as_observed(&declared.environment, observation);
    let prices = &observed.integrations[0];
    let peak_day = prices.volume_per_day * prices.peak_factor;
    assert!((peak_day - 3_000.0).abs() <= 30.0, "{prices:?}");
    let before = pacer_plan::plan(&declared.environment).unwrap();
    let after = pacer_plan::plan(&observed).unwrap();
    assert!(
        after.jobs[0].executions_per_day > before.jobs[0].executions_per_day,
        "{} then {}",
        before.jobs[0].executions_per_day,
        after.jobs[0].executions_per_day
    );
}

fn unique(what: &str) -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    format!(
        "{what}_{}_{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::SeqCst)
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_observed_figures_recover_the_volume_and_profile_on_sqlite() {
    let path = std::env::temp_dir().join(format!("pacer-{}.db", unique("observed")));
    let store = StoreBuilder::new(&format!("sqlite://{}", path.display()))
        .open()
        .await
        .unwrap();
    let store = Arc::new(store);
    let observation = observe_two_days(store.clone()).await;
    drift_is_shown_and_alerted(store).await;
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
    }
    assert_recovered(&observation);
    assert_planned_again(&observation);
}

/// A webshop the file says takes 500 a minute, which really takes 300 and
/// answers 429 beyond: the minutes it said slow down in give its real rate,
/// and the plan from them holds to it. Rates are kept by the minute, so
/// one day in memory does.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_system_that_takes_less_is_planned_at_what_it_took() {
    let yaml = "environment: { name: shop, timezone: Europe/Amsterdam, capacity: 2 }\n\
         systems:\n  erp: { rate: 1000/min }\n  webshop: { rate: 500/min }\n\
         integrations:\n  prices: { from: erp, to: webshop, volume: 30000/day }\n";
    let declared = pacer_config::parse(yaml, "shop.yaml").unwrap();
    let plan = pacer_plan::plan(&declared.environment).unwrap();
    let store = Arc::new(StoreBuilder::in_memory().open().await.unwrap());
    let options = Options {
        mock_rates: vec![("webshop".into(), pacer_plan::Rate::per_minute(300.0))],
        store: Some(store.clone()),
        ..Options::default()
    };
    pacer_sim::simulate(&declared, &plan, &options)
        .await
        .unwrap();
    let observation = read_back(&store, &declared, date(2026, 3, 2), date(2026, 3, 3)).await;
    let webshop = &observation.systems[1];
    assert!(webshop.minutes_throttled >= 24, "{webshop:?}");
    assert!(webshop.busiest_minute <= 300, "{webshop:?}");
    let accepted = webshop.accepted_when_throttled.unwrap();
    assert!((270.0..=300.0).contains(&accepted), "{webshop:?}");
    // The ERP never said slow down: its declared rate stands.
    let erp = &observation.systems[0];
    assert_eq!(
        (erp.minutes_throttled, erp.accepted_when_throttled),
        (0, None)
    );
    let observed = pacer_plan::as_observed(&declared.environment, &observation);
    assert_eq!(observed.systems[0].rate.items_per_minute(), 1000.0);
    assert_eq!(
        observed.systems[1].rate.items_per_minute(),
        accepted.floor()
    );
    let replanned = pacer_plan::plan(&observed).unwrap();
    assert!(
        replanned.jobs[1].executions_per_day > plan.jobs[1].executions_per_day,
        "{} then {}",
        plan.jobs[1].executions_per_day,
        replanned.jobs[1].executions_per_day
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_observed_figures_recover_the_volume_and_profile_on_postgres() {
    let url = std::env::var("PACER_TEST_POSTGRES")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_string());
    let schema = unique("pacer_observed");
    let mut admin = <sqlx::PgConnection as sqlx::Connection>::connect(&url)
        .await
        .unwrap_or_else(|e| panic!("PostgreSQL at {url} is needed for this test: {e}"));
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!("CREATE SCHEMA {schema}")))
        .execute(&mut admin)
        .await
        .unwrap();
    let store = StoreBuilder::new(&url)
        .schema(&schema)
        .open()
        .await
        .unwrap();
    let observation = observe_two_days(Arc::new(store)).await;
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!("DROP SCHEMA {schema} CASCADE")))
        .execute(&mut admin)
        .await
        .unwrap();
    assert_recovered(&observation);
    assert_planned_again(&observation);
}
