//! The connectors against real HTTP servers on loopback: the mock systems.

use std::{collections::HashSet, sync::Arc};

use jiff::Timestamp;
use pacer_config::{Config, Connection, Paginate};
use pacer_connect::{Delivery, Destination, Outgoing, PageRequest, Source};
use pacer_mock::{Fault, Feed, MockSystem, Running};

async fn mock(volume: f64, rate: Option<u32>) -> Running {
    let start: Timestamp = "2026-11-27T00:00:00Z".parse().unwrap();
    let now = start + jiff::SignedDuration::from_hours(1);
    let system = MockSystem {
        name: "erp".into(),
        rate_per_minute: rate,
        feeds: vec![Feed {
            entity: "prices".into(),
            volume_per_day: volume,
            total: None,
            profile: None,
        }],
        start,
        now: Arc::new(move || now),
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    pacer_mock::serve(system, listener).unwrap()
}

fn config(base_url: &str, extra: &str) -> Config {
    let yaml = format!(
        "systems:\n  erp: {{ rate: 100/min, base_url: \"{base_url}\" }}\n  \
         shop: {{ rate: 100/min, base_url: \"{base_url}\" }}\n\
         integrations:\n  prices:\n    from: erp\n    to: shop\n    volume: 2400/day\n{extra}"
    );
    pacer_config::parse(&yaml, "test.yaml").unwrap()
}

fn source(config: &Config) -> Source {
    Source::new("prices", &config.connections[0], &config.flows[0].pull).unwrap()
}

fn destination(config: &Config) -> Destination {
    Destination::new("prices", &config.connections[1], &config.flows[0].push).unwrap()
}

/// Reads every page after `cursor`, failing on a page asked for twice.
async fn all_pages(
    source: &Source,
    cursor: Option<&str>,
    size: u32,
) -> (Vec<String>, Option<String>) {
    let mut keys = Vec::new();
    let mut at = PageRequest::First;
    let mut max_cursor = None;
    let mut seen = HashSet::new();
    loop {
        assert!(seen.insert(at.clone()), "page {at:?} twice");
        let page = source
            .fetch(cursor, &at, size, Timestamp::now())
            .await
            .unwrap();
        keys.extend(page.records.iter().map(|r| r.key.clone()));
        if page.cursor.is_some() {
            max_cursor = page.cursor.clone();
        }
        match page.next {
            Some(next) => at = next,
            None => return (keys, max_cursor),
        }
    }
}

#[tokio::test]
async fn every_pagination_reads_each_change_once() {
    // 2,400/day is 100 in the first hour.
    let erp = mock(2_400.0, None).await;
    let expected: Vec<String> = (1..=100).map(|i| format!("prices-{i:06}")).collect();
    for paginate in [
        "",
        "      paginate: { next: .next_page_token }\n",
        "      paginate: { page: page }\n",
        "      paginate: { offset: offset }\n",
        "      paginate: { link: true }\n",
    ] {
        let pull = if paginate.is_empty() {
            String::new()
        } else {
            format!("    pull:\n{paginate}")
        };
        let config = config(&erp.base_url(), &pull);
        let (keys, cursor) = all_pages(&source(&config), None, 30).await;
        assert_eq!(keys, expected, "{paginate}");
        assert_eq!(cursor.as_deref(), Some("2026-11-27T01:00:00.000Z"));
    }
    assert!(matches!(
        config(&erp.base_url(), "").flows[0].pull.paginate,
        Paginate::Next { .. }
    ));
}

#[tokio::test]
async fn the_cursor_resumes_after_the_last_change_read() {
    let erp = mock(2_400.0, None).await;
    let config = config(&erp.base_url(), "");
    let source = source(&config);
    let first = source
        .fetch(None, &PageRequest::First, 40, Timestamp::now())
        .await
        .unwrap();
    assert_eq!(first.records.len(), 40);
    let cursor = first.cursor.unwrap();
    let (rest, _) = all_pages(&source, Some(&cursor), 25).await;
    assert_eq!(rest.len(), 60);
    assert_eq!(rest[0], "prices-000041");
}

/// `pull.start_cursor` is the cursor of a first pull: it reads the changes
/// after it, not a full load; a cursor read since takes its place.
#[tokio::test]
async fn a_start_cursor_spares_the_first_pull_a_full_load() {
    let erp = mock(2_400.0, None).await;
    let forty = source(&config(&erp.base_url(), ""))
        .fetch(None, &PageRequest::First, 40, Timestamp::now())
        .await
        .unwrap()
        .cursor
        .unwrap();
    let extra = format!("    pull:\n      start_cursor: \"{forty}\"\n");
    let source = source(&config(&erp.base_url(), &extra));
    let (first, last) = all_pages(&source, None, 25).await;
    assert_eq!(first.len(), 60);
    assert_eq!(first[0], "prices-000041");
    // Once a change was read, its cursor is the one that counts.
    let (later, _) = all_pages(&source, last.as_deref(), 25).await;
    assert!(later.is_empty(), "{later:?}");
}

#[tokio::test]
async fn records_without_a_key_are_rejected_not_fatal() {
    let erp = mock(2_400.0, None).await;
    let config = config(&erp.base_url(), "    pull: { key: .nothing_here }\n");
    let page = source(&config)
        .fetch(None, &PageRequest::First, 5, Timestamp::now())
        .await
        .unwrap();
    assert!(page.records.is_empty());
    assert_eq!(page.rejected.len(), 5);
    assert_eq!(page.rejected[0].key, "record 1 of the page");
    assert!(page.rejected[0].raw.contains("prices-000001"));
    assert!(
        page.rejected[0].reason.contains(".nothing_here"),
        "{}",
        page.rejected[0].reason
    );
}

#[tokio::test]
async fn source_failures_are_classified() {
    let erp = mock(2_400.0, None).await;
    let config = config(&erp.base_url(), "    pull: { timeout: 300ms }\n");
    let source = source(&config);
    let fetch = || source.fetch(None, &PageRequest::First, 5, Timestamp::now());
    erp.inject(Fault {
        status: 503,
        retry_after: Some(4),
        ..Fault::default()
    });
    let (error, retry_after) = fetch().await.unwrap_err();
    assert!(error.is_transient(), "{error}");
    assert_eq!(retry_after, Some(4_000));
    erp.inject(Fault {
        status: 200,
        delay_ms: 2_000,
        ..Fault::default()
    });
    let (error, _) = fetch().await.unwrap_err();
    assert!(
        error.is_transient() && error.to_string().contains("timed out"),
        "{error}"
    );
    erp.inject(Fault {
        status: 200,
        body: Some("<html>oops".into()),
        ..Fault::default()
    });
    let (error, _) = fetch().await.unwrap_err();
    assert!(error.to_string().contains("not JSON"), "{error}");
    erp.inject(Fault {
        status: 404,
        ..Fault::default()
    });
    let (error, _) = fetch().await.unwrap_err();
    assert!(!error.is_transient(), "{error}");
    assert_eq!(fetch().await.unwrap().records.len(), 5);
}

fn outgoing(n: i64) -> Vec<Outgoing> {
    (1..=n)
        .map(|id| Outgoing {
            id,
            payload: format!(r#"{{"key": "prices-{id:06}", "sku": "SKU-{id}", "amount": "1.00"}}"#),
            batch_key: None,
        })
        .collect()
}

#[tokio::test]
async fn deliveries_single_and_batched_carry_idempotency_keys() {
    let shop = mock(0.0, None).await;
    let single = config(
        &shop.base_url(),
        "    push: { request: { path: \"/prices/{{ key }}\" }, transform: '{key, price: .amount}' }\n",
    );
    let outcomes = destination(&single)
        .deliver(&outgoing(20), Timestamp::now())
        .await;
    assert!(outcomes.iter().all(|o| *o == Delivery::Delivered));
    let batched = config(&shop.base_url(), "    push: { batch: 7 }\n");
    let outcomes = destination(&batched)
        .deliver(&outgoing(20), Timestamp::now())
        .await;
    assert!(outcomes.iter().all(|o| *o == Delivery::Delivered));
    let stats = shop.stats();
    assert_eq!(stats.requests, 20 + 3);
    let accepted = &stats.accepted["prices"];
    assert_eq!(accepted.items, 40);
    assert_eq!(accepted.distinct, 20);
    // Each request had a key of its own.
    assert_eq!(accepted.repeated_idempotency_keys, 0);
    // Resending the same task repeats its key: the destination can tell.
    destination(&single)
        .deliver(&outgoing(1), Timestamp::now())
        .await;
    assert_eq!(shop.stats().accepted["prices"].repeated_idempotency_keys, 1);
}

#[tokio::test]
async fn over_the_rate_the_rest_is_told_to_come_back() {
    let shop = mock(0.0, Some(5)).await;
    let config = config(&shop.base_url(), "");
    let outcomes = destination(&config)
        .deliver(&outgoing(8), Timestamp::now())
        .await;
    assert_eq!(
        outcomes
            .iter()
            .filter(|o| **o == Delivery::Delivered)
            .count(),
        5
    );
    assert!(outcomes.iter().any(|o| matches!(o,
        Delivery::Retry { throttled: true, retry_after_ms: Some(ms), .. } if *ms > 0)));

    // Told to slow down, it stops sending: only what was already in flight went.
    let shop = mock(0.0, Some(5)).await;
    let mut config = config;
    config.connections[1].base_url = Some(shop.base_url());
    let outcomes = destination(&config)
        .deliver(&outgoing(40), Timestamp::now())
        .await;
    assert_eq!(
        outcomes
            .iter()
            .filter(|o| **o == Delivery::Delivered)
            .count(),
        5
    );
    assert!(
        shop.stats().requests < 40,
        "{} requests",
        shop.stats().requests
    );
    assert!(outcomes.iter().any(|o| matches!(o,
        Delivery::Retry { error, .. } if error.starts_with("not sent"))));
}

#[tokio::test]
async fn destination_failures_retry_or_reject() {
    let shop = mock(0.0, None).await;
    let mut config = config(
        &shop.base_url(),
        "    push: { timeout: 300ms, transform: '{key, n: (.amount | tonumber)}' }\n",
    );
    config.connections[1] = Connection {
        base_url: Some(shop.base_url()),
        ..config.connections[1].clone()
    };
    let destination = destination(&config);
    let now = Timestamp::now();
    for (status, transient) in [(500, true), (400, false)] {
        shop.inject(Fault {
            status,
            body: Some("price must be positive".into()),
            ..Fault::default()
        });
        match destination.deliver(&outgoing(1), now).await.remove(0) {
            Delivery::Retry { error, .. } => {
                assert!(transient && error.contains("500"), "{error}")
            }
            Delivery::Reject { error } => assert!(
                !transient && error.contains("price must be positive"),
                "{error}"
            ),
            Delivery::Delivered => panic!("a {status} was delivered"),
        }
    }
    shop.inject(Fault {
        status: 200,
        delay_ms: 2_000,
        ..Fault::default()
    });
    assert!(matches!(
        destination.deliver(&outgoing(1), now).await[0],
        Delivery::Retry { .. }
    ));
    let garbage = Outgoing {
        id: 9,
        payload: "{not json".into(),
        batch_key: None,
    };
    assert!(matches!(&destination.deliver(&[garbage], now).await[0],
        Delivery::Reject { error } if error.starts_with("the record is not JSON")));
}

/// A source that answers what it was told to: a body, with headers.
async fn hostile(body: Vec<u8>, link: Option<&str>) -> String {
    let link = link.map(str::to_string);
    let app = axum::Router::new().fallback(move || {
        let body = body.clone();
        let link = link.clone();
        async move {
            let mut response = axum::response::Response::new(axum::body::Body::from(body));
            if let Some(link) = link {
                response.headers_mut().insert("link", link.parse().unwrap());
            }
            response
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    url
}

#[tokio::test]
async fn hostile_pages_fail_the_page_with_a_reason_never_the_process() {
    let fetch = |url: String, extra: &'static str| async move {
        let config = config(&url, extra);
        source(&config)
            .fetch(None, &PageRequest::First, 100, Timestamp::now())
            .await
    };
    // 5,000 nested arrays: once a stack overflow that aborted Pacer.
    let deep = format!(r#"{{"items": {}{}}}"#, "[".repeat(5_000), "]".repeat(5_000));
    let (error, _) = fetch(hostile(deep.into_bytes(), None).await, "")
        .await
        .unwrap_err();
    assert!(!error.is_transient());
    assert!(
        error.to_string().contains("nested deeper than 128"),
        "{error}"
    );

    // Larger than a page may be: read no further, say so.
    let huge = vec![b' '; pacer_connect::MAX_PAGE_BYTES + 1];
    let (error, _) = fetch(hostile(huge, None).await, "").await.unwrap_err();
    assert!(error.to_string().contains("larger than 32 MiB"), "{error}");

    // A records filter that never ends fails the page at its deadline.
    let page = br#"{"items": [{"key": "a"}]}"#.to_vec();
    let (error, _) = fetch(
        hostile(page.clone(), None).await,
        "    pull: { records: 'def f: f; f' }\n",
    )
    .await
    .unwrap_err();
    assert!(error.to_string().contains("loop forever"), "{error}");

    // A key longer than a key may be rejects that record, not the page.
    let long = format!(
        r#"{{"items": [{{"key": "{}"}}, {{"key": "b"}}]}}"#,
        "k".repeat(2_000)
    );
    let read = fetch(hostile(long.into_bytes(), None).await, "")
        .await
        .unwrap();
    assert_eq!(read.records.len(), 1);
    assert!(
        read.rejected[0].reason.contains("longer than the 1024"),
        "{:?}",
        read.rejected
    );

    // A next link to another host is not followed: the request would carry
    // the system's credentials there.
    let elsewhere = hostile(page, Some(r#"<http://127.0.0.2:1/steal>; rel="next""#)).await;
    let config = config(&elsewhere, "    pull: { paginate: { link: true } }\n");
    let source = source(&config);
    let first = source
        .fetch(None, &PageRequest::First, 100, Timestamp::now())
        .await
        .unwrap();
    let next = first.next.unwrap();
    let (error, _) = source
        .fetch(None, &next, 100, Timestamp::now())
        .await
        .unwrap_err();
    assert!(error.to_string().contains("not followed"), "{error}");
}

/// A regression: a record without the path's field was sent to `/prices/`.
#[tokio::test]
async fn a_record_without_the_paths_field_is_rejected_without_a_request() {
    let shop = mock(0.0, None).await;
    let config = config(
        &shop.base_url(),
        "    push: { request: { path: \"/prices/{{ sku }}\" } }\n",
    );
    let outcomes = destination(&config)
        .deliver(
            &[
                Outgoing {
                    id: 1,
                    payload: r#"{"key": "a", "amount": 1}"#.into(),
                    batch_key: None,
                },
                Outgoing {
                    id: 2,
                    payload: r#"{"sku": null}"#.into(),
                    batch_key: None,
                },
            ],
            Timestamp::now(),
        )
        .await;
    for outcome in outcomes {
        assert!(
            matches!(&outcome, Delivery::Reject { error } if error.contains("no `sku` for {{ sku }}")),
            "{outcome:?}"
        );
    }
    assert_eq!(shop.stats().requests, 0);
}

/// A transform that never ends fails its task at the deadline, with the
/// reason, and the delivery goes on for the others.
#[tokio::test]
async fn a_transform_that_never_ends_fails_its_task_not_the_delivery() {
    let shop = mock(0.0, None).await;
    let config = config(
        &shop.base_url(),
        "    push: { transform: 'if .key == \"loop\" then (def f: f; f) else . end' }\n",
    );
    let outcomes = destination(&config)
        .deliver(
            &[
                Outgoing {
                    id: 1,
                    payload: r#"{"key": "loop"}"#.into(),
                    batch_key: None,
                },
                Outgoing {
                    id: 2,
                    payload: r#"{"key": "fine"}"#.into(),
                    batch_key: None,
                },
            ],
            Timestamp::now(),
        )
        .await;
    assert!(
        matches!(&outcomes[0], Delivery::Reject { error } if error.contains("does it loop forever?")),
        "{:?}",
        outcomes[0]
    );
    assert_eq!(outcomes[1], Delivery::Delivered);
}

/// A server that answers the first request on a connection, keeps it open,
/// then reads the next request on it and closes it unanswered, as a server
/// whose keep-alive ran out at that moment does; each connection it took
/// is counted.
async fn closes_reused_connections() -> (String, Arc<std::sync::atomic::AtomicUsize>) {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    /// Reads up to the end of a request's head (these have no body).
    async fn request(socket: &mut tokio::net::TcpStream) -> bool {
        let mut head = Vec::new();
        let mut buffer = [0u8; 4096];
        while !head.windows(4).any(|w| w == b"\r\n\r\n") {
            match socket.read(&mut buffer).await {
                Ok(0) | Err(_) => return false,
                Ok(n) => head.extend_from_slice(&buffer[..n]),
            }
        }
        true
    }

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let connections = Arc::new(AtomicUsize::new(0));
    let counted = connections.clone();
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            counted.fetch_add(1, Ordering::SeqCst);
            tokio::spawn(async move {
                if !request(&mut socket).await {
                    return;
                }
                let body = r#"{"items": []}"#;
                let answer = format!(
                    "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n\
                     content-length: {}\r\n\r\n{body}",
                    body.len()
                );
                if socket.write_all(answer.as_bytes()).await.is_err() {
                    return;
                }
                // The next request on this connection meets its close.
                request(&mut socket).await;
            });
        }
    });
    (url, connections)
}

/// A request sent on a pooled connection the server has just closed is
/// sent again at once on a new one: the pull does not fail, and costs no
/// retry after a backoff.
#[tokio::test]
async fn a_connection_the_server_closed_is_replaced_at_once() {
    let (url, connections) = closes_reused_connections().await;
    let source = source(&config(&url, ""));
    let now = Timestamp::now();
    let first = source.fetch(None, &PageRequest::First, 10, now).await;
    assert!(first.is_ok(), "{:?}", first.err());
    let second = source.fetch(None, &PageRequest::First, 10, now).await;
    assert!(second.is_ok(), "{:?}", second.err());
    // The second pull went out on the first connection, met its close,
    // and was answered on a second one.
    assert_eq!(connections.load(std::sync::atomic::Ordering::SeqCst), 2);
}

/// An API that answers 200 with its errors, as GraphQL does, fails the
/// delivery when `push.success` says so, the answer kept as the reason;
/// `push.retry` picks the failures worth another try. Without a check, a
/// 2xx is a success.
#[tokio::test]
async fn a_success_check_reads_errors_from_a_200_answer() {
    let check = "    push:\n      success: '.errors == null'\n      \
                 retry: '.errors[0].extensions.code == \"RATE_LIMITED\"'\n";
    let forbidden = r#"{"errors": [{"message": "FORBIDDEN"}]}"#;
    let limited =
        r#"{"errors": [{"message": "slow down", "extensions": {"code": "RATE_LIMITED"}}]}"#;
    let now = Timestamp::now();
    for (extra, answer, expected) in [
        (
            check,
            r#"{"data": {"productVariantsBulkUpdate": {}}}"#,
            "delivered",
        ),
        (check, forbidden, "dead: FORBIDDEN"),
        (check, limited, "retry: slow down"),
        (check, "<html>busy</html>", "dead: is not JSON"),
        ("", forbidden, "delivered"),
    ] {
        let url = hostile(answer.as_bytes().to_vec(), None).await;
        let destination = destination(&config(&url, extra));
        let delivered = destination.deliver(&outgoing(1), now).await;
        let shown = match &delivered[0] {
            Delivery::Delivered => "delivered".to_string(),
            Delivery::Retry { error, .. } => format!("retry: {error}"),
            Delivery::Reject { error } => format!("dead: {error}"),
        };
        let (kind, reason) = expected.split_once(": ").unwrap_or((expected, ""));
        assert!(
            shown.starts_with(kind) && shown.contains(reason),
            "{answer}: {shown}"
        );
        if kind != "delivered" {
            assert!(
                shown.contains(": 200 OK, but ") && shown.contains("push.success"),
                "{shown}"
            );
        }
    }
}

/// Headers are templated like paths: a pull's `{{ cursor }}`, a push's
/// `{{ field }}` of the record (of its first record, for a batch), and a
/// secret beside a field stays out of messages.
#[tokio::test]
async fn headers_are_filled_in_for_each_request() {
    let seen: Arc<std::sync::Mutex<Vec<(String, String)>>> = Arc::default();
    let record = |name: &'static str| {
        let seen = seen.clone();
        move |headers: axum::http::HeaderMap| async move {
            let value = headers
                .get(name)
                .map(|v| v.to_str().unwrap().to_string())
                .unwrap_or_default();
            seen.lock().unwrap().push((name.to_string(), value));
            axum::Json(serde_json::json!({"items": []}))
        }
    };
    let app = axum::Router::new()
        .route("/prices", axum::routing::get(record("x-since")))
        .route("/prices/{sku}", axum::routing::put(record("x-sku")));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    let config = config(
        &base,
        "    pull: { request: { headers: { X-Since: \"{{ cursor }}\" } } }\n    \
         push: { request: { path: \"/prices/{{ sku }}\", headers: { X-Sku: \"sku={{ sku }}\" } } }\n",
    );
    source(&config)
        .fetch(
            Some("2026-11-29T10:00:00Z"),
            &PageRequest::First,
            10,
            Timestamp::now(),
        )
        .await
        .unwrap();
    let shop = destination(&config);
    let delivered = shop
        .deliver(
            &[Outgoing {
                id: 1,
                payload: r#"{"sku": "A 1", "amount": 2}"#.into(),
                batch_key: None,
            }],
            Timestamp::now(),
        )
        .await;
    assert_eq!(delivered, [Delivery::Delivered]);
    // A record without the field is refused without a request.
    let refused = shop
        .deliver(
            &[Outgoing {
                id: 2,
                payload: r#"{"amount": 2}"#.into(),
                batch_key: None,
            }],
            Timestamp::now(),
        )
        .await;
    assert!(
        matches!(&refused[..], [Delivery::Reject { error }] if error.contains("the record has no `sku`")),
        "{refused:?}"
    );
    assert_eq!(
        *seen.lock().unwrap(),
        [
            ("x-since".to_string(), "2026-11-29T10:00:00Z".to_string()),
            ("x-sku".to_string(), "sku=A 1".to_string()),
        ]
    );
}

/// A source that answers 200 with its errors (GraphQL does): `pull.success`
/// fails the page with the answer as the reason — for good, or for
/// another try when `pull.retry` says so — instead of reading no records.
#[tokio::test]
async fn a_pull_success_check_reads_errors_from_a_200_answer() {
    let app = axum::Router::new().route(
        "/prices",
        axum::routing::get(
            |query: axum::extract::Query<std::collections::HashMap<String, String>>| async move {
                match query.get("changed_since").map(String::as_str) {
                    Some("busy") => {
                        axum::Json(serde_json::json!({"errors": [{"message": "THROTTLED"}]}))
                    }
                    Some("denied") => {
                        axum::Json(serde_json::json!({"errors": [{"message": "FORBIDDEN"}]}))
                    }
                    _ => {
                        axum::Json(serde_json::json!({"items": [{"key": "A", "updated_at": "1"}]}))
                    }
                }
            },
        ),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    let config = config(
        &base,
        "    pull: { success: \".errors == null\", retry: '.errors[0].message == \"THROTTLED\"' }\n",
    );
    let source = source(&config);
    let fetch = |cursor: &'static str| {
        let source = source.clone();
        async move {
            source
                .fetch(Some(cursor), &PageRequest::First, 10, Timestamp::now())
                .await
        }
    };
    assert_eq!(fetch("ok").await.unwrap().records.len(), 1);
    let (denied, _) = fetch("denied").await.unwrap_err();
    assert!(!denied.is_transient(), "{denied}");
    assert!(
        denied.to_string().contains("pull.success is not true")
            && denied.to_string().contains("FORBIDDEN"),
        "{denied}"
    );
    let (busy, _) = fetch("busy").await.unwrap_err();
    assert!(busy.is_transient(), "{busy}");
}
