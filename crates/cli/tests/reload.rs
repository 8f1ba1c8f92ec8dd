//! `pacer run` takes a changed file on SIGHUP and on `POST /api/v1/reload`:
//! the new jobs run, what was queued under the old file is delivered under
//! the new one, and an invalid file leaves the running config in place
//! with the reason.

mod support;

use support::{client, free_port};

use std::{
    process::{Command, Stdio},
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use axum::{extract::Request, http::StatusCode, response::IntoResponse};
use serde_json::Value;

const API_TOKEN: &str = "reload-tok-41c9";

/// An ERP that has five price changes, and a webshop that counts the
/// deliveries it takes, on one loopback port.
async fn systems() -> (String, Arc<Mutex<Vec<String>>>) {
    let delivered: Arc<Mutex<Vec<String>>> = Arc::default();
    let kept = delivered.clone();
    let app = axum::Router::new().fallback(move |request: Request| {
        let kept = kept.clone();
        async move {
            let path = request.uri().path().to_string();
            if request.method() == "GET" && path == "/prices" {
                let items: Vec<String> = (1..=5)
                    .map(|n| {
                        format!(r#"{{"key": "P{n}", "updated_at": "2026-01-01T00:00:0{n}Z"}}"#)
                    })
                    .collect();
                let page = format!(r#"{{"items": [{}]}}"#, items.join(","));
                return (StatusCode::OK, page).into_response();
            }
            if request.method() == "GET" {
                return (StatusCode::OK, r#"{"items": []}"#.to_string()).into_response();
            }
            kept.lock().unwrap().push(path);
            (StatusCode::OK, "{}".to_string()).into_response()
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    (format!("http://{addr}"), delivered)
}

/// The file: prices pulled every minute, pushed on `push`; `extra` more
/// integrations.
fn file(base: &str, push: &str, extra: &str) -> String {
    format!(
        "environment: {{ name: acme, capacity: 2 }}\n\
         systems:\n  erp: {{ rate: 100/min, base_url: \"{base}\" }}\n  shop: {{ rate: 100/min, base_url: \"{base}\" }}\n\
         integrations:\n  prices:\n    from: erp\n    to: shop\n    volume: 1000/day\n    \
         pull: {{ schedule: \"* * * * *\" }}\n    \
         push: {{ schedule: \"{push}\", request: {{ path: \"/prices/{{{{ key }}}}\" }} }}\n{extra}"
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn a_changed_file_is_taken_on_sighup_and_an_invalid_one_is_refused() {
    let (base, delivered) = systems().await;
    let dir = std::env::temp_dir().join(format!("pacer-reload-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("reload.yaml");
    // The push never runs under the first file: what is pulled stays queued.
    std::fs::write(&path, file(&base, "0 0 1 1 *", "")).unwrap();
    let port = free_port();
    let api = format!("http://127.0.0.1:{port}/api/v1");
    let mut child = Command::new(env!("CARGO_BIN_EXE_pacer"))
        .args(["run", path.to_str().unwrap(), "--speed", "60"])
        .args(["--listen", &format!("127.0.0.1:{port}")])
        .env("PACER_API_TOKEN", API_TOKEN)
        .env("RUST_LOG", "info")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let log = support::read_log(&mut child);
    let client = client();
    let get = |path: String| {
        let request = client.get(format!("{api}{path}")).bearer_auth(API_TOKEN);
        async move {
            let answer = request.send().await.ok()?;
            answer.json::<Value>().await.ok()
        }
    };
    let wait_for = async |what: &str, check: &dyn Fn() -> bool| {
        let started = Instant::now();
        while !check() {
            assert!(started.elapsed() < Duration::from_secs(60), "{what}");
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    };

    // Five changes queued, none delivered.
    let started = Instant::now();
    loop {
        let queued = get("/tasks?integration=prices&status=new".into()).await;
        if queued.is_some_and(|q| q["tasks"].as_array().is_some_and(|t| t.len() == 5)) {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "nothing queued"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(delivered.lock().unwrap().is_empty());

    // A new file: the push every minute, and a new integration. SIGHUP.
    let stock = "  stock:\n    from: erp\n    to: shop\n    volume: 500/day\n    pull: { schedule: \"*/2 * * * *\" }\n";
    std::fs::write(&path, file(&base, "* * * * *", stock)).unwrap();
    let hup = Command::new("kill")
        .args(["-HUP", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(hup.success());
    wait_for(
        "the queued changes were not delivered after the reload",
        &|| delivered.lock().unwrap().len() >= 5,
    )
    .await;
    let mut paths = delivered.lock().unwrap().clone();
    paths.sort();
    paths.dedup();
    assert_eq!(
        paths,
        [
            "/prices/P1",
            "/prices/P2",
            "/prices/P3",
            "/prices/P4",
            "/prices/P5"
        ],
        "each change queued before the reload delivered"
    );
    let jobs = get("/jobs".into()).await.unwrap();
    let schedules: Vec<(String, String)> = jobs["jobs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|j| {
            (
                j["name"].as_str().unwrap().to_string(),
                j["schedule"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert!(
        schedules.contains(&("prices.push".into(), "* * * * *".into()))
            && schedules.iter().any(|(name, _)| name == "stock.pull"),
        "{schedules:?}"
    );

    // An invalid file through the API: refused with where and why; the
    // running config stays. Without the token, nothing happens.
    std::fs::write(
        &path,
        file(&base, "* * * * *", stock).replace("volume: 500/day", "volume: lots"),
    )
    .unwrap();
    let refused = client.post(format!("{api}/reload")).send().await.unwrap();
    assert_eq!(refused.status(), 401);
    let reload = async || {
        let answer = client
            .post(format!("{api}/reload"))
            .bearer_auth(API_TOKEN)
            .send()
            .await
            .unwrap();
        (answer.status(), answer.json::<Value>().await.unwrap())
    };
    let (status, body) = reload().await;
    assert_eq!(status, 422);
    let message = body["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("reload.yaml:15:13: integrations.stock.volume: expected")
            && message.ends_with("; the running config stays"),
        "{message}"
    );
    let jobs = get("/jobs".into()).await.unwrap();
    assert!(jobs.to_string().contains("stock.pull"), "still running");

    // A valid file through the API: applied, and said so.
    std::fs::write(&path, file(&base, "*/5 * * * *", "")).unwrap();
    let (status, body) = reload().await;
    assert_eq!(status, 200);
    assert_eq!(body["reloaded"], true);
    assert_eq!(body["message"], "2 jobs of acme within capacity 2");
    let jobs = get("/jobs".into()).await.unwrap();
    assert!(!jobs.to_string().contains("stock.pull"), "{jobs}");

    let term = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(term.success());
    let status = tokio::task::spawn_blocking(move || child.wait())
        .await
        .unwrap()
        .unwrap();
    assert!(status.success(), "{status}");
    let log = log.join().unwrap();
    assert!(
        log.contains("reloaded: 4 jobs of acme within capacity 2"),
        "{log}"
    );
    assert!(
        log.contains("reload refused; the running config stays"),
        "{log}"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}
