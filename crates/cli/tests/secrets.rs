//! No secret leaves Pacer: `pacer run` against systems that echo every
//! request back — its `Authorization` header, its URL, all its headers — in
//! their error answers, and every place Pacer writes to is searched for the
//! secrets afterwards: the log, the store's files, the API, the dashboard's
//! pages and the metrics.

mod support;

use support::{client, free_port};

use std::{
    process::{Command, Stdio},
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use axum::{extract::Request, http::StatusCode, response::IntoResponse};
use base64::Engine as _;

const ERP_TOKEN: &str = "erp-tok-7c41d9e2b8";
const SHOP_PASSWORD: &str = "shop-pw-5a0f3e91";
const HOOK_SECRET: &str = "hook-sec-2d8b6c04";
const API_TOKEN: &str = "api-tok-9e3f1a27";

/// Answers `GET /prices` with two records and everything else with the
/// request echoed back: 500 for a pull, 422 for a delivery (a dead task
/// whose error the store keeps). Counts the echoes it sent.
async fn echoing_system() -> (String, Arc<Mutex<u32>>) {
    let echoed = Arc::new(Mutex::new(0));
    let count = echoed.clone();
    let app = axum::Router::new().fallback(move |request: Request| {
        let count = count.clone();
        async move {
            let target = request.uri().to_string();
            if request.method() == "GET" && target.starts_with("/prices") {
                let page = r#"{"items": [
                    {"key": "A", "amount": 1, "updated_at": "2026-01-01T00:00:00Z"},
                    {"key": "B", "amount": 2, "updated_at": "2026-01-01T00:00:00Z"}]}"#;
                return (StatusCode::OK, page.to_string()).into_response();
            }
            let mut echo = format!("{} {target}\n", request.method());
            for (name, value) in request.headers() {
                echo.push_str(&format!("{name}: {}\n", value.to_str().unwrap_or("?")));
            }
            *count.lock().unwrap() += 1;
            let status = if request.method() == "GET" {
                StatusCode::INTERNAL_SERVER_ERROR
            } else {
                StatusCode::UNPROCESSABLE_ENTITY
            };
            (status, echo).into_response()
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    (format!("127.0.0.1:{}", addr.port()), echoed)
}

/// Every form a secret could leave in: as written, and as it goes over the
/// wire (Basic auth's base64 of `user:password`).
fn forms() -> Vec<String> {
    let basic = base64::engine::general_purpose::STANDARD.encode(format!("shop:{SHOP_PASSWORD}"));
    vec![
        ERP_TOKEN.into(),
        SHOP_PASSWORD.into(),
        HOOK_SECRET.into(),
        API_TOKEN.into(),
        basic,
    ]
}

fn assert_clean(place: &str, text: &str) {
    for secret in forms() {
        assert!(!text.contains(&secret), "{place} holds {secret}:\n{text}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn no_secret_reaches_the_log_store_api_dashboard_or_metrics() {
    let (host, echoed) = echoing_system().await;
    let dir = std::env::temp_dir().join(format!("pacer-secrets-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("echo.yaml");
    let yaml = format!(
        "systems:\n  \
           erp: {{ rate: 100/min, base_url: \"http://{host}\", auth: {{ bearer: \"${{PACER_E2E_ERP_TOKEN}}\" }} }}\n  \
           shop: {{ rate: 100/min, base_url: \"http://shop:{SHOP_PASSWORD}@{host}/api\" }}\n\
         integrations:\n  \
           prices: {{ from: erp, to: shop, volume: 1000/day, pull: {{ schedule: \"* * * * *\" }}, push: {{ schedule: \"* * * * *\", request: {{ path: \"/prices/{{{{ key }}}}\" }} }} }}\n  \
           stock: {{ from: erp, to: shop, volume: 1000/day, pull: {{ schedule: \"* * * * *\" }} }}\n  \
           orders: {{ from: shop, to: erp, volume: 100/day, webhook: {{ secret: \"${{PACER_E2E_HOOK}}\", key: .id }} }}\n"
    );
    std::fs::write(&file, yaml).unwrap();
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let mut child = Command::new(env!("CARGO_BIN_EXE_pacer"))
        .args([
            "run",
            file.to_str().unwrap(),
            "--speed",
            "60",
            "--for",
            "6m",
        ])
        .args(["--listen", &format!("127.0.0.1:{port}")])
        .env("PACER_E2E_ERP_TOKEN", ERP_TOKEN)
        .env("PACER_E2E_HOOK", HOOK_SECRET)
        .env("PACER_API_TOKEN", API_TOKEN)
        .env("RUST_LOG", "debug")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Read as it comes: a full pipe would stop Pacer at its next log line.
    let log = support::read_log(&mut child);

    // Until a delivery was echoed (its task dead with the echo) and a pull
    // (its execution failed with it).
    let client = client();
    let get = |path: &str| {
        client
            .get(format!("{base}{path}"))
            .bearer_auth(API_TOKEN)
            .send()
    };
    let json = |path: &'static str| {
        let answer = get(path);
        async move { answer.await.ok()?.json::<serde_json::Value>().await.ok() }
    };
    let started = Instant::now();
    let dead = loop {
        let dead = json("/api/v1/tasks?integration=prices&status=dead").await;
        let executions = json("/api/v1/executions").await;
        let pull_failed = executions
            .is_some_and(|e| e.to_string().contains("stock.pull") && e.to_string().contains("500"));
        if let Some(task) = dead
            .as_ref()
            .and_then(|d| d["tasks"].as_array()?.first().cloned())
            && pull_failed
        {
            break task["id"].as_i64().unwrap();
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "no delivery and no pull was refused"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    // A webhook delivery with its secret, echoed nowhere but checked.
    let hook = client
        .post(format!("{base}/hooks/orders"))
        .header("x-pacer-secret", HOOK_SECRET)
        .body(r#"{"id": 1}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(hook.status(), 202);

    let mut served = String::new();
    for path in [
        "/api/v1/executions".to_string(),
        "/api/v1/tasks?status=dead".into(),
        format!("/api/v1/tasks/{dead}"),
        "/api/v1/jobs".into(),
        "/api/v1/environment".into(),
        "/api/v1/plan".into(),
        "/".into(),
        "/jobs".into(),
        "/tasks?status=dead".into(),
        format!("/tasks/{dead}"),
        "/executions".into(),
        "/metrics".into(),
    ] {
        let answer = get(&path).await.unwrap();
        assert!(answer.status().is_success(), "{path}: {}", answer.status());
        let text = answer.text().await.unwrap();
        assert_clean(&path, &text);
        served.push_str(&text);
    }
    // The echoes arrived and were kept, redacted: the search above could fail.
    let task: serde_json::Value = get(&format!("/api/v1/tasks/{dead}"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let error = task.to_string();
    assert!(error.contains("authorization: Basic [redacted]"), "{error}");
    assert!(
        served.contains("authorization: Bearer [redacted]"),
        "no pull echo served"
    );
    assert!(*echoed.lock().unwrap() >= 2);

    let output = tokio::task::spawn_blocking(move || child.wait_with_output())
        .await
        .unwrap()
        .unwrap();
    assert!(output.status.success());
    let log = log.join().unwrap();
    assert!(log.contains("[redacted]"), "the log kept no echo:\n{log}");
    assert_clean("the log", &log);
    assert_clean("stdout", &String::from_utf8_lossy(&output.stdout));
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e != "yaml") {
            let bytes = std::fs::read(&path).unwrap();
            assert_clean(
                &path.display().to_string(),
                &String::from_utf8_lossy(&bytes),
            );
        }
    }
    std::fs::remove_dir_all(&dir).unwrap();
}
