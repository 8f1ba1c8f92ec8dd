//! Webhooks, and what every request meets at the server's edge (limits,
//! security headers, JSON errors), over real HTTP on loopback into a real
//! engine and SQLite store.

use std::sync::Arc;

use pacer_engine::{Engine, RealClock, Settings};
use pacer_store::{StoreBuilder, TaskStatus};

async fn start() -> (String, Arc<pacer_store::Store>, std::path::PathBuf) {
    start_on(None).await
}

/// As [`start`]; `listen` is what the access rules believe the server
/// listens on (it always binds loopback).
async fn start_on(
    listen: Option<std::net::SocketAddr>,
) -> (String, Arc<pacer_store::Store>, std::path::PathBuf) {
    let yaml = "systems:\n  shop: { rate: 100/min, base_url: \"http://127.0.0.1:9\" }\n  \
                erp: { rate: 100/min, base_url: \"http://127.0.0.1:9\" }\n\
                integrations:\n  orders:\n    from: shop\n    to: erp\n    volume: 180/day\n    \
                webhook: { secret: s3cret, max_bytes: 200, key: .id }\n  \
                events:\n    from: shop\n    to: erp\n    volume: 180/day\n    \
                webhook: { secret: s3cret, key: .id }\n  \
                open:\n    from: shop\n    to: erp\n    volume: 180/day\n    \
                webhook: { key: .id }\n  \
                prices: { from: erp, to: shop, volume: 100/day }\n";
    let config = pacer_config::parse(yaml, "hooks.yaml").unwrap();
    let plan = pacer_plan::plan(&config.environment).unwrap();
    static STARTED: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let n = STARTED.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    let path = std::env::temp_dir().join(format!("pacer-hooks-{}-{n}.db", std::process::id()));
    let store = Arc::new(
        StoreBuilder::new(&format!("sqlite://{}", path.display()))
            .open()
            .await
            .unwrap(),
    );
    let engine = Engine::new(
        &config,
        &plan,
        store.clone(),
        Arc::new(RealClock),
        Settings::default(),
    )
    .unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let url = format!("http://{addr}");
    let access = pacer_server::Access::new(None, listen.unwrap_or(addr));
    tokio::spawn(pacer_server::serve(
        listener,
        pacer_server::router(engine, access),
    ));
    (url, store, path)
}

#[tokio::test]
async fn webhooks_queue_records_and_refuse_what_they_must() {
    let (url, store, path) = start().await;
    let client = client();
    let post = |name: &str, body: &str, secret: Option<&str>| {
        let mut request = client
            .post(format!("{url}/hooks/{name}"))
            .body(body.to_string());
        if let Some(secret) = secret {
            request = request.header("x-pacer-secret", secret);
        }
        request.send()
    };
    let ok = post(
        "orders",
        r#"[{"id": 1, "total": 9.5}, {"id": 2}, {"nope": 3}]"#,
        Some("s3cret"),
    )
    .await
    .unwrap();
    assert_eq!(ok.status(), 202);
    let body: serde_json::Value = ok.json().await.unwrap();
    assert_eq!(body, serde_json::json!({"queued": 2, "rejected": 1}));
    assert_eq!(store.count("orders", TaskStatus::New).await.unwrap(), 2);
    assert_eq!(store.count("orders", TaskStatus::Dead).await.unwrap(), 1);

    for (name, body, secret, status, code) in [
        ("orders", "{}", None, 401, "unauthorized"),
        ("orders", "{}", Some("wrong"), 401, "unauthorized"),
        ("orders", &"x".repeat(300), Some("s3cret"), 413, "too_large"),
        ("orders", "{not json", Some("s3cret"), 400, "not_json"),
        ("prices", "{}", Some("s3cret"), 404, "not_found"),
    ] {
        let answer = post(name, body, secret).await.unwrap();
        assert_eq!(answer.status(), status, "{name} {secret:?}");
        let error: serde_json::Value = answer.json().await.unwrap();
        assert_eq!(error["error"]["code"], code);
        let message = error["error"]["message"].as_str().unwrap();
        assert!(!message.contains("s3cret"), "{message}");
    }
    // The body that was not JSON is kept, with why.
    assert_eq!(store.count("orders", TaskStatus::Dead).await.unwrap(), 2);
    assert_eq!(store.count("orders", TaskStatus::New).await.unwrap(), 2);
    let _ = std::fs::remove_file(&path);
}

/// A regression: 5,000 nested `[` (10 KB, within the size limit) overflowed
/// the stack of the thread reading them and aborted the whole process.
#[tokio::test]
async fn a_body_nested_5000_deep_is_refused_and_the_server_lives_on() {
    let (url, store, path) = start().await;
    let client = client();
    let post = |body: String| {
        client
            .post(format!("{url}/hooks/events"))
            .header("x-pacer-secret", "s3cret")
            .body(body)
            .send()
    };
    let first = post(r#"[{"id": "a"}, {"id": "b"}]"#.into()).await.unwrap();
    assert_eq!(first.status(), 202);
    let deep = format!("{}{}", "[".repeat(5_000), "]".repeat(5_000));
    let answer = post(deep).await.unwrap();
    assert_eq!(answer.status(), 400);
    let error: serde_json::Value = answer.json().await.unwrap();
    assert_eq!(error["error"]["code"], "too_deep");
    assert!(
        error["error"]["message"]
            .as_str()
            .unwrap()
            .contains("nested deeper than 128"),
        "{error}"
    );
    // Still answering, and what was queued before is there.
    let after = post(r#"{"id": "c"}"#.into()).await.unwrap();
    assert_eq!(after.status(), 202);
    assert_eq!(store.count("events", TaskStatus::New).await.unwrap(), 3);
    let _ = std::fs::remove_file(&path);
}

#[tokio::test]
async fn a_webhook_without_a_secret_is_taken_on_loopback_only() {
    let (url, store, path) = start().await;
    let client = client();
    let on_loopback = client
        .post(format!("{url}/hooks/open"))
        .body(r#"{"id": 1}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(on_loopback.status(), 202);
    assert_eq!(store.count("open", TaskStatus::New).await.unwrap(), 1);
    let _ = std::fs::remove_file(&path);

    let beyond: std::net::SocketAddr = "0.0.0.0:8080".parse().unwrap();
    let (url, store, path) = start_on(Some(beyond)).await;
    let refused = client
        .post(format!("{url}/hooks/open"))
        .body(r#"{"id": 2}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 403);
    let error: serde_json::Value = refused.json().await.unwrap();
    assert_eq!(error["error"]["code"], "webhook_unguarded");
    assert_eq!(store.count("open", TaskStatus::New).await.unwrap(), 0);
    // One with a secret is still taken there.
    let guarded = client
        .post(format!("{url}/hooks/events"))
        .header("x-pacer-secret", "s3cret")
        .body(r#"{"id": 3}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(guarded.status(), 202);
    let _ = std::fs::remove_file(&path);
}

#[tokio::test]
async fn every_answer_carries_the_security_headers() {
    let (url, _store, path) = start().await;
    let client = client();
    for (target, cached) in [
        ("/api/v1/jobs", false),
        ("/", false),
        ("/metrics", false),
        ("/assets/dashboard.js", true),
        ("/no/such/page", false),
    ] {
        let answer = client.get(format!("{url}{target}")).send().await.unwrap();
        let headers = answer.headers();
        let csp = headers["content-security-policy"].to_str().unwrap();
        assert!(csp.contains("script-src 'self'"), "{target}: {csp}");
        assert!(csp.contains("frame-ancestors 'none'"), "{target}: {csp}");
        assert_eq!(headers["x-frame-options"], "DENY", "{target}");
        assert_eq!(headers["x-content-type-options"], "nosniff", "{target}");
        assert_eq!(headers["referrer-policy"], "no-referrer", "{target}");
        assert_eq!(
            headers
                .get("cache-control")
                .is_some_and(|v| v == "no-store"),
            !cached,
            "{target}"
        );
    }
    let _ = std::fs::remove_file(&path);
}

/// 413, 414, 431 and 404 were plain text or empty; every error is the
/// API's JSON now, and the server answers on.
#[tokio::test]
async fn every_refusal_is_a_json_error() {
    let (url, _store, path) = start().await;
    let client = client();
    let long_query = format!("{url}/api/v1/tasks?integration={}", "x".repeat(9_000));
    let big_header = "h".repeat(40_000);
    let too_big = vec![b'['; (16 << 20) + 1];
    let answers = [
        (
            client.get(long_query).send().await.unwrap(),
            414,
            "uri_too_long",
        ),
        (
            client
                .get(format!("{url}/api/v1/jobs"))
                .header("x-big", big_header.as_str())
                .send()
                .await
                .unwrap(),
            431,
            "headers_too_large",
        ),
        (
            client
                .post(format!("{url}/hooks/events"))
                .header("x-pacer-secret", "s3cret")
                .body(too_big)
                .send()
                .await
                .unwrap(),
            413,
            "too_large",
        ),
        (
            client.get(format!("{url}/nope")).send().await.unwrap(),
            404,
            "not_found",
        ),
        (
            client
                .get(format!("{url}/api/v1/executions?limit=lots"))
                .send()
                .await
                .unwrap(),
            400,
            "bad_request",
        ),
    ];
    for (answer, status, code) in answers {
        assert_eq!(answer.status(), status, "{code}");
        assert!(
            answer.headers()["content-type"]
                .to_str()
                .unwrap()
                .starts_with("application/json"),
            "{code}"
        );
        let error: serde_json::Value = answer.json().await.unwrap();
        assert_eq!(error["error"]["code"], code, "{error}");
        assert!(
            error["error"]["message"]
                .as_str()
                .is_some_and(|m| !m.is_empty())
        );
    }
    let alive = client
        .get(format!("{url}/api/v1/jobs"))
        .send()
        .await
        .unwrap();
    assert_eq!(alive.status(), 200);
    let _ = std::fs::remove_file(&path);
}

/// An HTTP client for the test, with the TLS provider Pacer installs.
fn client() -> reqwest::Client {
    pacer_connect::install_tls();
    reqwest::Client::new()
}
