//! Alerts on the virtual clock: fired once when a condition holds, sent
//! again at the repeat interval while it holds, resolved when it clears —
//! to a real HTTP receiver on loopback.

mod support;

use std::sync::{
    Arc, Mutex,
    atomic::{AtomicBool, Ordering},
};

use axum::{Json, Router, extract::State, http::StatusCode, routing::get, routing::post};
use jiff::SignedDuration;
use pacer_engine::{Clock, VirtualClock};
use serde_json::{Value, json};
use support::{TempDb, config, engine, midnight, mock};

/// An ERP whose `/prices` answers 503 while `broken`, else no changes.
async fn erp(broken: Arc<AtomicBool>) -> String {
    let app = Router::new()
        .route(
            "/prices",
            get(|State(broken): State<Arc<AtomicBool>>| async move {
                if broken.load(Ordering::SeqCst) {
                    (
                        StatusCode::SERVICE_UNAVAILABLE,
                        Json(json!({"error": "down for maintenance"})),
                    )
                } else {
                    (StatusCode::OK, Json(json!({"items": []})))
                }
            }),
        )
        .with_state(broken);
    serve(app).await
}

type Received = Arc<Mutex<Vec<Value>>>;

/// A receiver that keeps every alert posted to `/alerts`.
async fn receiver(received: Received) -> String {
    let app = Router::new()
        .route(
            "/alerts",
            post(
                |State(r): State<Received>, Json(body): Json<Value>| async move {
                    r.lock().unwrap().push(body);
                    StatusCode::NO_CONTENT
                },
            ),
        )
        .with_state(received);
    serve(app).await
}

async fn serve(app: Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    base
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_alert_fires_once_repeats_while_it_holds_and_resolves() {
    let start = midnight();
    let clock: Arc<dyn Clock> = Arc::new(VirtualClock::new(start));
    let broken = Arc::new(AtomicBool::new(true));
    let erp = erp(broken.clone()).await;
    let shop = mock("webshop", 500, &[], start, clock.clone()).await;
    let received: Received = Arc::default();
    let hooks = receiver(received.clone()).await;
    let yaml = format!(
        "environment: {{ name: acme, timezone: Europe/Amsterdam, capacity: 2 }}\n\
         systems:\n  erp: {{ rate: 100/min, base_url: \"{erp}\" }}\n  webshop: {{ rate: 500/min, base_url: \"{}\" }}\n\
         integrations:\n  prices:\n    from: erp\n    to: webshop\n    volume: 1000/day\n    \
         pull: {{ schedule: \"*/5 * * * *\" }}\n    push: {{ schedule: \"59 23 * * *\" }}\n\
         alerts:\n  repeat: 1h\n  \
         when: {{ failed_runs: 3, backlog: off, at_rate: off, at_capacity: off }}\n  \
         send:\n    - webhook: \"{hooks}/alerts\"\n",
        shop.base_url()
    );
    let config = pacer_config::parse(&yaml, "alerts.yaml").unwrap();
    let db = TempDb::new("alerts");
    let store = db.open().await;
    // A node that beat once and never said it stopped: lost after 3 minutes.
    store.heartbeat("ghost", start).await.unwrap();
    let engine = engine(&config, store.clone(), clock.clone(), "node-a");
    assert_eq!(
        engine.alerting(),
        (
            vec!["dead_tasks", "failed_runs", "node_lost"],
            vec!["webhook 127.0.0.1".to_string()]
        )
    );

    // 00:00, 00:05, 00:10 fail: the third fires; still failing an hour
    // later, it is sent again; nothing else is.
    engine
        .run(Some(start + SignedDuration::from_mins(90)))
        .await
        .unwrap();
    let pending = engine.alerts().await.unwrap();
    let subjects: Vec<(&str, &str, bool)> = pending
        .iter()
        .map(|a| {
            (
                a.condition.as_str(),
                a.subject.as_str(),
                a.fired_at.is_some(),
            )
        })
        .collect();
    assert_eq!(
        subjects,
        [
            ("node_lost", "ghost", true),
            ("failed_runs", "prices.pull", true)
        ]
    );
    let sent = received.lock().unwrap().clone();
    let said: Vec<(&str, &str, &str)> = sent
        .iter()
        .map(|a| {
            (
                a["status"].as_str().unwrap(),
                a["condition"].as_str().unwrap(),
                a["since"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        said,
        [
            ("firing", "node_lost", "2026-11-27T00:04:00+01:00"),
            ("firing", "failed_runs", "2026-11-27T00:11:00+01:00"),
            ("firing", "node_lost", "2026-11-27T00:04:00+01:00"),
            ("firing", "failed_runs", "2026-11-27T00:11:00+01:00"),
        ],
        "each fired when first seen (silent for 3 min; the third failure \
         ended), then once more after the hour: {sent:#?}"
    );
    let failed = &sent[1];
    assert_eq!(failed["environment"], "acme");
    assert_eq!(failed["subject"], "prices.pull");
    let message = failed["message"].as_str().unwrap();
    assert!(
        message
            .starts_with("the last 3 executions of prices.pull failed or were missed; the last:")
            && message.contains("503"),
        "{message}"
    );
    assert!(
        sent[0]["message"]
            .as_str()
            .unwrap()
            .contains("node ghost last beat at 2026-11-27 00:00:00 CET")
    );

    // The ERP is back, and the ghost is found dead: both resolve, once.
    broken.store(false, Ordering::SeqCst);
    store.release_node("ghost", clock.now()).await.unwrap();
    engine
        .run(Some(start + SignedDuration::from_mins(120)))
        .await
        .unwrap();
    let sent = received.lock().unwrap().clone();
    let resolved: Vec<(&str, &str)> = sent[4..]
        .iter()
        .map(|a| {
            (
                a["status"].as_str().unwrap(),
                a["subject"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        resolved,
        [("resolved", "ghost"), ("resolved", "prices.pull")]
    );
    assert!(engine.alerts().await.unwrap().is_empty());
    assert_eq!(
        engine.stats().notifications[&("webhook 127.0.0.1".to_string(), "sent")],
        6
    );
}

/// Two hours of changes wait at an ERP that gives 100 a minute, capacity
/// 1, a webshop that refuses two records: the ERP is at its rate, the
/// capacity at its limit, the backlog past its freshness, tasks dead — and
/// each alert says so once it held as long as its condition asks.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rate_capacity_backlog_and_dead_tasks_alert() {
    let start = midnight();
    let clock: Arc<dyn Clock> = Arc::new(VirtualClock::new(start + SignedDuration::from_hours(2)));
    let erp = mock(
        "erp",
        100,
        &[("prices", 35_000.0, None)],
        start,
        clock.clone(),
    )
    .await;
    let shop = mock("webshop", 500, &[], start, clock.clone()).await;
    support::refuse_two(&shop);
    let received: Received = Arc::default();
    let hooks = receiver(received.clone()).await;
    let integrations = format!(
        "  prices:\n    from: erp\n    to: webshop\n    volume: 35000/day\n    freshness: 20m\n    \
         pull: {{ schedule: \"*/10 * * * *\", max_items: 1000 }}\n    \
         push: {{ schedule: \"*/10 * * * *\", request: {{ path: \"/prices/{{{{ key }}}}\" }} }}\n\
         alerts:\n  when: {{ at_rate: 5m, at_capacity: 5m, failed_runs: off }}\n  \
         send:\n    - webhook: \"{hooks}/alerts\"\n"
    );
    let config = config(&erp, &shop, 1, &integrations);
    let db = TempDb::new("alerts-load");
    let store = db.open().await;
    let engine = engine(&config, store.clone(), clock.clone(), "node-a");
    engine
        .run(Some(start + SignedDuration::from_mins(180)))
        .await
        .unwrap();

    let sent = received.lock().unwrap().clone();
    let fired = |condition: &str, subject: &str| {
        sent.iter().any(|a| {
            a["status"] == "firing" && a["condition"] == condition && a["subject"] == subject
        })
    };
    assert!(fired("at_rate", "erp"), "{sent:#?}");
    assert!(fired("at_capacity", "capacity"), "{sent:#?}");
    assert!(fired("backlog", "prices"), "{sent:#?}");
    assert!(fired("dead_tasks", "prices"), "{sent:#?}");
    let dead = sent
        .iter()
        .find(|a| a["condition"] == "dead_tasks")
        .unwrap();
    assert!(
        dead["message"]
            .as_str()
            .unwrap()
            .starts_with("2 dead tasks in prices"),
        "{dead}"
    );
    // Held for 5 minutes before they fired: never at the first look.
    for condition in ["at_rate", "at_capacity"] {
        let alert = sent.iter().find(|a| a["condition"] == condition).unwrap();
        let since: jiff::Timestamp = alert["since"].as_str().unwrap().parse().unwrap();
        assert!(since >= start + SignedDuration::from_hours(2), "{alert}");
    }
    // Within the repeat (4h, longer than the run) an alert is sent once
    // when it fires and once when it clears: firing and resolved take
    // turns, whatever flaps.
    let mut by_alert: std::collections::BTreeMap<(&str, &str), Vec<&str>> = Default::default();
    for a in &sent {
        by_alert
            .entry((
                a["condition"].as_str().unwrap(),
                a["subject"].as_str().unwrap(),
            ))
            .or_default()
            .push(a["status"].as_str().unwrap());
    }
    for (alert, statuses) in by_alert {
        let alternate = statuses
            .iter()
            .enumerate()
            .all(|(n, s)| *s == if n % 2 == 0 { "firing" } else { "resolved" });
        assert!(alternate, "{alert:?}: {statuses:?}");
    }
}
