//! Webhooks over real HTTP on loopback into a real engine and SQLite store.

use std::sync::Arc;

use pacer_engine::{Engine, RealClock, Settings};
use pacer_store::{StoreBuilder, TaskStatus};

async fn start() -> (String, Arc<pacer_store::Store>, std::path::PathBuf) {
    let yaml = "systems:\n  shop: { rate: 100/min, base_url: \"http://127.0.0.1:9\" }\n  \
                erp: { rate: 100/min, base_url: \"http://127.0.0.1:9\" }\n\
                integrations:\n  orders:\n    from: shop\n    to: erp\n    volume: 180/day\n    \
                webhook: { secret: s3cret, max_bytes: 200, key: .id }\n  \
                events:\n    from: shop\n    to: erp\n    volume: 180/day\n    \
                webhook: { secret: s3cret, key: .id }\n  \
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
    let access = pacer_server::Access::new(None, addr);
    tokio::spawn(pacer_server::serve(
        listener,
        pacer_server::router(engine, access),
    ));
    (url, store, path)
}

#[tokio::test]
async fn webhooks_queue_records_and_refuse_what_they_must() {
    let (url, store, path) = start().await;
    let client = reqwest::Client::new();
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
    let client = reqwest::Client::new();
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
