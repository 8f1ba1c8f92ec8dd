//! Rate budgets paid for real work: pages and batches give back what they
//! did not use, an idle job takes nothing, page numbers never skip a
//! record, and the cursor only moves forward. Each test runs on SQLite and
//! on PostgreSQL.

mod support;

use std::sync::Arc;

use jiff::SignedDuration;
use pacer_engine::{Clock, VirtualClock};
use pacer_mock::Fault;
use pacer_store::{ExecutionQuery, NewTask};
use support::{Backend, at, engine, lease, midnight, mock};

on_both_backends!(
    page_numbers_under_a_tight_rate_deliver_every_record_once,
    the_cursor_only_moves_forward,
    an_idle_push_takes_no_budget_and_the_busy_one_gets_the_whole_rate,
    two_busy_pushes_on_one_system_share_its_rate,
    a_batch_sent_again_goes_whole_under_its_key,
    a_batch_a_dead_node_sent_goes_whole_under_its_key,
    a_rate_in_requests_counts_requests_not_records,
    reading_a_lookup_is_charged_to_its_systems_rate,
);

fn parse(yaml: &str) -> pacer_config::Config {
    pacer_config::parse(yaml, "budget.yaml").unwrap()
}

/// Capacity 2, an erp of 500/min and a webshop of `shop_rate`, and one
/// integration fed by webhook per `(name, more push keys)`, its push every
/// minute.
fn pushes(
    erp: &str,
    shop: &str,
    shop_rate: &str,
    integrations: &[(&str, &str)],
) -> pacer_config::Config {
    let mut yaml = format!(
        "environment: {{ name: acme, timezone: Europe/Amsterdam, capacity: 2 }}\n\
         systems:\n  erp: {{ rate: 500/min, base_url: \"{erp}\" }}\n  \
         webshop: {{ rate: {shop_rate}, base_url: \"{shop}\" }}\nintegrations:\n"
    );
    for (name, push) in integrations {
        yaml.push_str(&format!(
            "  {name}:\n    from: erp\n    to: webshop\n    volume: 100/day\n    \
             webhook: {{ key: .key }}\n    push: {{ schedule: \"* * * * *\"{push} }}\n"
        ));
    }
    parse(&yaml)
}

/// What rate budget `budget` used in the store's windows since `start`.
async fn used(store: &pacer_store::Store, budget: &str, start: jiff::Timestamp) -> u64 {
    store
        .rate_usage(pacer_store::Minute::containing(start))
        .await
        .unwrap()
        .iter()
        .filter(|(name, _, _)| name == budget)
        .map(|(_, _, used)| used)
        .sum()
}

/// Queues `n` records for `integration`, keyed `INTEGRATION-I`.
async fn queue(store: &pacer_store::Store, integration: &str, n: usize) {
    let tasks: Vec<NewTask> = (0..n)
        .map(|i| NewTask {
            key: format!("{integration}-{i:04}"),
            payload: format!(r#"{{"key": "{integration}-{i:04}"}}"#),
        })
        .collect();
    store
        .enqueue(integration, &tasks, None, at(0))
        .await
        .unwrap();
}

/// A regression: with `paginate: { page }`, a partial grant asked for a
/// smaller page with the next number, so page boundaries shifted and whole
/// blocks were never read (149 of 400 in one run against a real server).
async fn page_numbers_under_a_tight_rate_deliver_every_record_once(backend: Backend) {
    let start = midnight();
    let clock: Arc<dyn Clock> = Arc::new(VirtualClock::new(start));
    // 400 prices in the first six seconds, to be read page after page;
    // stock all day, 20 every other minute,
    // asking first: prices get 25 of the ERP's 45 one minute, 45 the next.
    let erp = mock(
        "erp",
        10_000,
        &[
            ("prices", 5_760_000.0, Some(400)),
            ("stock", 30_000.0, None),
        ],
        start,
        clock.clone(),
    )
    .await;
    let shop = mock("webshop", 10_000, &[], start, clock.clone()).await;
    let config = parse(&format!(
        "environment: {{ name: acme, timezone: Europe/Amsterdam, capacity: 4 }}\n\
         systems:\n  erp: {{ rate: 45/min, base_url: \"{}\" }}\n  webshop: {{ rate: 500/min, base_url: \"{}\" }}\n\
         integrations:\n  \
           stock:\n    from: erp\n    to: webshop\n    volume: 30000/day\n    \
             pull: {{ schedule: \"*/2 * * * *\", max_items: 20 }}\n  \
           prices:\n    from: erp\n    to: webshop\n    volume: 9600/day\n    \
             pull: {{ schedule: \"* * * * *\", max_items: 200, paginate: {{ page: page }} }}\n    \
             push: {{ schedule: \"* * * * *\", request: {{ path: \"/prices/{{{{ key }}}}\" }} }}\n",
        erp.base_url(),
        shop.base_url()
    ));
    let store = backend.open().await;
    let engine = engine(&config, store.clone(), clock.clone(), "node-a");
    engine
        .run(Some(start + SignedDuration::from_hours(3)))
        .await
        .unwrap();
    let prices = &shop.stats().accepted["prices"];
    assert_eq!(prices.distinct, 400, "every record arrived");
    assert_eq!(prices.items, 400, "and each once");
    assert!(
        erp.stats().max_per_minute <= 45,
        "{}",
        erp.stats().max_per_minute
    );
    backend.finish().await;
}

/// A source whose pages are newest first: the last page read holds the
/// oldest records, and its maximum once became the cursor, moving it back.
async fn the_cursor_only_moves_forward(backend: Backend) {
    let start = midnight();
    let clock: Arc<dyn Clock> = Arc::new(VirtualClock::new(start));
    let app = axum::Router::new().route(
        "/prices",
        axum::routing::get(
            |query: axum::extract::Query<std::collections::HashMap<String, String>>| async move {
                let since = query.get("changed_since").cloned().unwrap_or_default();
                let limit: usize = query.get("limit").and_then(|l| l.parse().ok()).unwrap_or(100);
                let page: usize = query.get("page").and_then(|p| p.parse().ok()).unwrap_or(1);
                // Ten records, newest first.
                let records: Vec<serde_json::Value> = (1..=10)
                    .rev()
                    .map(|i| serde_json::json!({"key": format!("p{i}"), "updated_at": format!("2026-01-01T00:00:{i:02}Z")}))
                    .filter(|r| r["updated_at"].as_str().unwrap() > since.as_str())
                    .collect();
                let items: Vec<_> = records.into_iter().skip((page - 1) * limit).take(limit).collect();
                axum::Json(serde_json::json!({"items": items}))
            },
        ),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let erp = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    let shop = mock("webshop", 10_000, &[], start, clock.clone()).await;
    let config = parse(&format!(
        "environment: {{ name: acme, timezone: Europe/Amsterdam, capacity: 2 }}\n\
         systems:\n  erp: {{ rate: 3/min, base_url: \"{erp}\" }}\n  webshop: {{ rate: 500/min, base_url: \"{}\" }}\n\
         integrations:\n  \
           prices:\n    from: erp\n    to: webshop\n    volume: 10/day\n    \
             pull: {{ schedule: \"* * * * *\", max_items: 30, paginate: {{ page: page }} }}\n    \
             push: {{ schedule: \"* * * * *\" }}\n",
        shop.base_url()
    ));
    let store = backend.open().await;
    let engine = engine(&config, store.clone(), clock.clone(), "node-a");
    engine
        .run(Some(start + SignedDuration::from_mins(10)))
        .await
        .unwrap();
    assert_eq!(
        store
            .cursor("prices")
            .await
            .unwrap()
            .map(|c| c.value)
            .as_deref(),
        Some("2026-01-01T00:00:10Z")
    );
    assert_eq!(shop.stats().accepted["prices"].distinct, 10);
    backend.finish().await;
}

/// Two pushes on one 60/min webshop: the idle one used to take all 60 every
/// minute it ran with nothing to send, and hold a slot while it waited.
async fn an_idle_push_takes_no_budget_and_the_busy_one_gets_the_whole_rate(backend: Backend) {
    let start = midnight();
    let clock: Arc<dyn Clock> = Arc::new(VirtualClock::new(start));
    let erp = mock("erp", 10_000, &[], start, clock.clone()).await;
    let shop = mock("webshop", 10_000, &[], start, clock.clone()).await;
    let config = pushes(
        &erp.base_url(),
        &shop.base_url(),
        "60/min",
        &[("idle", ""), ("busy", "")],
    );
    let store = backend.open().await;
    queue(&store, "busy", 300).await;
    let engine = engine(&config, store.clone(), clock.clone(), "node-a");
    engine
        .run(Some(start + SignedDuration::from_mins(5)))
        .await
        .unwrap();
    // Five minutes of 60: the busy push gets them all.
    let busy = shop.stats().accepted["busy"].items;
    assert!(
        busy >= 4 * 60,
        "the busy push delivered {busy} of the 300 the rate allowed"
    );
    // Each idle execution ended at once, its items 0.
    let idle = store
        .history(&ExecutionQuery {
            job: Some("idle.push".into()),
            limit: 100,
            ..ExecutionQuery::default()
        })
        .await
        .unwrap();
    assert!(!idle.is_empty());
    for e in &idle {
        let (Some(started), Some(finished)) = (e.started_at, e.finished_at) else {
            panic!("{e:?}");
        };
        assert_eq!(e.items, 0);
        let held = finished.duration_since(started).as_millis();
        assert!(held < 1_000, "held its slot {held} ms");
    }
    // And the webshop's windows count what was delivered, nothing more.
    assert_eq!(used(&store, "webshop", start).await, busy);
    backend.finish().await;
}

/// Two pushes on one 60/min webshop, both with full queues: the first to
/// ask used to take all 60 each minute and starve the other until its own
/// queue was empty. Each is owed half while both work.
async fn two_busy_pushes_on_one_system_share_its_rate(backend: Backend) {
    let start = midnight();
    let clock: Arc<dyn Clock> = Arc::new(VirtualClock::new(start));
    let erp = mock("erp", 10_000, &[], start, clock.clone()).await;
    let shop = mock("webshop", 10_000, &[], start, clock.clone()).await;
    let config = pushes(
        &erp.base_url(),
        &shop.base_url(),
        "60/min",
        &[("first", ""), ("second", "")],
    );
    let store = backend.open().await;
    queue(&store, "first", 300).await;
    queue(&store, "second", 300).await;
    // Requests take time, as they do: a round of deliveries is not over
    // before the other job has started.
    let settings = pacer_engine::Settings {
        node: "node-a".into(),
        request_time: Some(SignedDuration::from_millis(200)),
        ..pacer_engine::Settings::default()
    };
    let engine = support::engine_with(&config, store.clone(), clock.clone(), settings);
    engine
        .run(Some(start + SignedDuration::from_mins(4)))
        .await
        .unwrap();
    let accepted = shop.stats().accepted;
    let (first, second) = (accepted["first"].items, accepted["second"].items);
    assert!(first + second >= 200, "{first} + {second}");
    assert!(shop.stats().max_per_minute <= 60);
    // Minute by minute, both got some: not 60 and 0 by turns.
    let by_minute = |integration: &str| {
        let mut by_minute = [0u32; 4];
        for delivery in shop.deliveries(integration) {
            let minute = (delivery.delivered_at - start.as_millisecond()) / 60_000;
            if let Some(n) = usize::try_from(minute)
                .ok()
                .and_then(|m| by_minute.get_mut(m))
            {
                *n += 1;
            }
        }
        by_minute
    };
    let (first_by_minute, second_by_minute) = (by_minute("first"), by_minute("second"));
    for minute in 0..4 {
        assert!(
            first_by_minute[minute] > 0 && second_by_minute[minute] > 0,
            "minute {minute}: first {first_by_minute:?}, second {second_by_minute:?}"
        );
    }
    // And over the four minutes, halves within a sixth.
    let (first, second) = (
        first_by_minute.iter().sum::<u32>(),
        second_by_minute.iter().sum::<u32>(),
    );
    assert!(
        first.abs_diff(second) * 6 <= first + second,
        "first {first_by_minute:?}, second {second_by_minute:?}"
    );
    backend.finish().await;
}

/// A batch a destination took but answered 500 goes again whole, its
/// tasks retried together, under the key it went under.
async fn a_batch_sent_again_goes_whole_under_its_key(backend: Backend) {
    let start = midnight();
    let clock: Arc<dyn Clock> = Arc::new(VirtualClock::new(start));
    let erp = mock("erp", 10_000, &[], start, clock.clone()).await;
    let shop = mock("webshop", 10_000, &[], start, clock.clone()).await;
    // The first three batches are taken, then answered 500: the webshop
    // committed them and failed to say so.
    shop.inject(Fault {
        status: 500,
        count: 3,
        applied: true,
        ..Fault::default()
    });
    let config = pushes(
        &erp.base_url(),
        &shop.base_url(),
        "500/min",
        &[("orders", ", batch: 5")],
    );
    let store = backend.open().await;
    queue(&store, "orders", 50).await;
    let engine = engine(&config, store.clone(), clock.clone(), "node-a");
    engine
        .run(Some(start + SignedDuration::from_mins(10)))
        .await
        .unwrap();
    let orders = &shop.stats().accepted["orders"];
    assert_eq!(orders.distinct, 50);
    assert_eq!(orders.repeated_idempotency_keys, 3, "the three sent again");
    assert_eq!(orders.duplicates_without_key, 0, "and each under its key");
    assert_eq!(
        orders.conflicting_idempotency_keys, 0,
        "with the same records"
    );
    backend.finish().await;
}

/// A regression: after a crash, tasks a node had sent in a batch came back
/// and were regrouped by whatever the rate granted, so the ones the
/// destination had taken went again under a key it had never seen (2
/// records in one run). The batch now goes whole, under its key, though
/// the rate grants fewer at a time.
async fn a_batch_a_dead_node_sent_goes_whole_under_its_key(backend: Backend) {
    let start = midnight();
    let clock: Arc<dyn Clock> = Arc::new(VirtualClock::new(start));
    let erp = mock("erp", 10_000, &[], start, clock.clone()).await;
    let shop = mock("webshop", 10_000, &[], start, clock.clone()).await;
    let config = pushes(
        &erp.base_url(),
        &shop.base_url(),
        "3/min",
        &[("orders", ", batch: 5")],
    );
    let store = backend.open().await;
    queue(&store, "orders", 10).await;
    // Node "gone" claimed the first five, recorded their batch, sent it —
    // the webshop took it — and was killed before it heard back.
    let claimed = store
        .claim("orders", 5, &lease("gone/orders.push@0", 0, 30_000))
        .await
        .unwrap();
    let ids: Vec<i64> = claimed.iter().map(|t| t.id).collect();
    let key = format!("orders-{}-{}-5", ids[0], ids[4]);
    store.set_batch_key(&ids, &key).await.unwrap();
    let body = format!(
        "[{}]",
        claimed
            .iter()
            .map(|t| t.payload.as_str())
            .collect::<Vec<_>>()
            .join(",")
    );
    let sent = client()
        .put(format!("{}/orders", shop.base_url()))
        .header("idempotency-key", &key)
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .unwrap();
    assert!(sent.status().is_success());

    let engine = engine(&config, store.clone(), clock.clone(), "node-a");
    engine
        .run(Some(start + SignedDuration::from_mins(8)))
        .await
        .unwrap();
    let orders = &shop.stats().accepted["orders"];
    assert_eq!(orders.distinct, 10);
    assert_eq!(
        orders.repeated_idempotency_keys, 1,
        "the batch went again under its key"
    );
    assert_eq!(orders.duplicates_without_key, 0);
    assert_eq!(orders.conflicting_idempotency_keys, 0);
    backend.finish().await;
}

/// A webshop that takes 6 requests a minute and any number of records:
/// one record a request is held to 6 records a minute, ten to a request
/// move 60 — the same rate, counted as the system counts it.
async fn a_rate_in_requests_counts_requests_not_records(backend: Backend) {
    let start = midnight();
    let clock: Arc<dyn Clock> = Arc::new(VirtualClock::new(start));
    let erp = mock("erp", 10_000, &[], start, clock.clone()).await;
    let shop = mock("webshop", 10_000, &[], start, clock.clone()).await;
    let config = pushes(
        &erp.base_url(),
        &shop.base_url(),
        "\"10000/min, 6 requests/min\"",
        &[("single", ""), ("batched", ", batch: 10")],
    );
    // The planner counts what the requests move: 6 a minute of one record.
    assert_eq!(
        config.system("webshop").unwrap().rate.items_per_minute(),
        6.0
    );
    let store = backend.open().await;
    queue(&store, "single", 60).await;
    queue(&store, "batched", 60).await;
    let engine = engine(&config, store.clone(), clock.clone(), "node-a");
    engine
        .run(Some(start + SignedDuration::from_mins(5)))
        .await
        .unwrap();
    let stats = shop.stats();
    let (single, batched) = (
        stats.accepted["single"].items,
        stats.accepted["batched"].items,
    );
    // Five minutes of 6 requests, shared by the two pushes: at most 30.
    // Ten records a request, the batched push is done in 6 of them; one a
    // request, the single one gets the rest, and no more.
    assert_eq!(batched, 60, "ten records a request");
    assert_eq!(stats.requests, single + batched / 10);
    assert!(stats.requests <= 30, "{} requests", stats.requests);
    assert!(single >= 18, "one record a request: {single}");
    assert_eq!(
        used(&store, "webshop requests", start).await,
        stats.requests,
        "the store counts each request once"
    );
    backend.finish().await;
}

/// A lookup is read while records are prepared, without asking the rate
/// first; what it read is charged to the system's budgets afterwards, a
/// request per page and its records as items, so the jobs that ask next
/// find less.
async fn reading_a_lookup_is_charged_to_its_systems_rate(backend: Backend) {
    let start = midnight();
    let clock: Arc<dyn Clock> = Arc::new(VirtualClock::new(start));
    let erp = mock("erp", 10_000, &[], start, clock.clone()).await;
    let app = axum::Router::new()
        .route(
            "/variants",
            axum::routing::get(|| async {
                axum::Json(serde_json::json!({"items": [
                    {"key": "busy-0000", "id": "v0"}, {"key": "busy-0001", "id": "v1"},
                    {"key": "busy-0002", "id": "v2"}, {"key": "other", "id": "v9"}
                ]}))
            }),
        )
        .route("/prices/{key}", axum::routing::put(|| async { "ok" }));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let shop = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    let config = parse(&format!(
        "environment: {{ name: acme, timezone: Europe/Amsterdam, capacity: 2 }}\n\
         systems:\n  erp: {{ rate: 500/min, base_url: \"{}\" }}\n  \
         webshop:\n    rate: \"1000/min, 100 requests/min\"\n    base_url: \"{shop}\"\n    \
         lookups: {{ variants: {{ request: {{ path: /variants }} }} }}\n\
         integrations:\n  busy:\n    from: erp\n    to: webshop\n    volume: 100/day\n    \
         webhook: {{ key: .key }}\n    push: {{ schedule: \"* * * * *\", \
         request: {{ path: \"/prices/{{{{ key }}}}\" }}, transform: '{{id: lookup(\"variants\"; .key)}}' }}\n",
        erp.base_url()
    ));
    let store = backend.open().await;
    queue(&store, "busy", 3).await;
    let engine = engine(&config, store.clone(), clock.clone(), "node-a");
    engine
        .run(Some(start + SignedDuration::from_mins(2)))
        .await
        .unwrap();
    let finished = store
        .count("busy", pacer_store::TaskStatus::Finished)
        .await
        .unwrap();
    assert_eq!(finished, 3);
    // Three deliveries and one page of the lookup; three records and the
    // lookup's four.
    assert_eq!(used(&store, "webshop requests", start).await, 3 + 1);
    assert_eq!(used(&store, "webshop", start).await, 3 + 4);
    backend.finish().await;
}

/// An HTTP client for the test, with the TLS provider Pacer installs.
fn client() -> reqwest::Client {
    pacer_connect::install_tls();
    reqwest::Client::new()
}
