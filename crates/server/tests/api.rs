//! The API, dashboard and metrics over real HTTP on loopback, after a real
//! engine ran two hours (virtual) against mock systems into a SQLite store.

use std::{net::SocketAddr, sync::Arc};

use jiff::{SignedDuration, Timestamp};
use pacer_engine::{Clock, Engine, Settings, VirtualClock};
use pacer_mock::{Fault, Feed, MockSystem, Running};
use pacer_store::{Store, StoreBuilder};
use reqwest::{Client, Method, StatusCode};
use serde_json::{Value, json};

const TOKEN: &str = "test-token-5f1c";
/// A system credential in the config: no answer may show it.
const SECRET: &str = "erp-secret-93b7";

struct Env {
    engine: Engine,
    store: Arc<Store>,
    dir: std::path::PathBuf,
    _mocks: (Running, Running),
}

impl Drop for Env {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

async fn mock(name: &str, feeds: Vec<Feed>, start: Timestamp, clock: Arc<dyn Clock>) -> Running {
    let system = MockSystem {
        name: name.into(),
        rate_per_minute: Some(500),
        feeds,
        start,
        now: Arc::new(move || clock.now()),
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    pacer_mock::serve(system, listener).unwrap()
}

/// Two hours of prices from the ERP to the webshop, which refuses two
/// records for good (dead tasks) and fails one delivery (a retry).
async fn ran_two_hours(test: &str) -> Env {
    ran(test, &[], "").await
}

/// Two hours as [`ran_two_hours`], the ERP answering `erp_faults` first,
/// with `extra` YAML at the end of the file.
async fn ran(test: &str, erp_faults: &[Fault], extra: &str) -> Env {
    let start: Timestamp = "2026-11-27T05:00:00Z".parse().unwrap();
    let clock: Arc<dyn Clock> = Arc::new(VirtualClock::new(start));
    let feed = Feed {
        entity: "prices".into(),
        volume_per_day: 35_000.0,
        total: Some(300),
        profile: None,
    };
    let erp = mock("erp", vec![feed], start, clock.clone()).await;
    for fault in erp_faults {
        erp.inject(fault.clone());
    }
    let shop = mock("webshop", vec![], start, clock.clone()).await;
    shop.inject(Fault {
        status: 422,
        body: Some(r#"{"error": "price must be positive"}"#.into()),
        count: 2,
        ..Fault::default()
    });
    shop.inject(Fault {
        status: 503,
        ..Fault::default()
    });
    let yaml = format!(
        "environment: {{ name: acme, timezone: Europe/Amsterdam, capacity: 2 }}\n\
         systems:\n  erp: {{ rate: 100/min, base_url: \"{}\", auth: {{ bearer: \"{SECRET}\" }} }}\n  \
         webshop: {{ rate: 500/min, base_url: \"{}\" }}\n\
         integrations:\n  prices:\n    from: erp\n    to: webshop\n    volume: 35000/day\n    freshness: 30m\n    \
         push: {{ request: {{ path: \"/prices/{{{{ key }}}}\" }} }}\n{extra}",
        erp.base_url(),
        shop.base_url()
    );
    let config = pacer_config::parse(&yaml, "api.yaml").unwrap();
    let plan = pacer_plan::plan(&config.environment).unwrap();
    let dir = std::env::temp_dir().join(format!("pacer-api-{test}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let url = format!("sqlite://{}", dir.join("api.db").display());
    let store = Arc::new(StoreBuilder::new(&url).open().await.unwrap());
    let settings = Settings {
        node: "node-a".into(),
        ..Settings::default()
    };
    let engine = Engine::new(&config, &plan, store.clone(), clock.clone(), settings).unwrap();
    engine
        .run(Some(start + SignedDuration::from_hours(2)))
        .await
        .unwrap();
    Env {
        engine,
        store,
        dir,
        _mocks: (erp, shop),
    }
}

/// Serves the engine on loopback with `token`; `listen` is what the access
/// rules believe the server listens on.
async fn serve(env: &Env, token: Option<&str>, listen: Option<SocketAddr>) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let access = pacer_server::Access::new(token.map(str::to_string), listen.unwrap_or(addr));
    let router = pacer_server::router(env.engine.clone(), access);
    tokio::spawn(pacer_server::serve(listener, router));
    format!("http://{addr}")
}

async fn call(
    client: &Client,
    method: Method,
    url: &str,
    token: Option<&str>,
) -> (StatusCode, String) {
    let mut request = client.request(method, url);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = request.send().await.unwrap();
    let status = response.status();
    (status, response.text().await.unwrap())
}

fn resolve<'a>(document: &'a Value, schema: &'a Value) -> &'a Value {
    match schema["$ref"].as_str() {
        Some(reference) => {
            let name = reference.rsplit('/').next().unwrap();
            &document["components"]["schemas"][name]
        }
        None => schema,
    }
}

/// Checks `value` against the parts of JSON Schema the document uses.
fn check(document: &Value, schema: &Value, value: &Value, at: &str) -> Result<(), String> {
    check_part(document, schema, value, at, true)
}

/// `whole`: the schema describes the whole value, so every key must be in it
/// (a part of an allOf names only some).
fn check_part(
    document: &Value,
    schema: &Value,
    value: &Value,
    at: &str,
    whole: bool,
) -> Result<(), String> {
    let schema = resolve(document, schema);
    if let Some(all) = schema["allOf"].as_array() {
        for part in all {
            check_part(document, part, value, at, false)?;
        }
    }
    // A choice beside properties of its own (a flattened enum, as a plan's
    // warnings are) names only its keys; the rest are the schema's.
    let beside = whole && schema["properties"].is_object();
    let mut chosen_keys: Vec<String> = Vec::new();
    for choice in ["oneOf", "anyOf"] {
        if let Some(any) = schema[choice].as_array() {
            let Some(chosen) = any
                .iter()
                .find(|s| check_part(document, s, value, at, whole && !beside).is_ok())
            else {
                return Err(format!("{at}: {value} matches none of {choice}"));
            };
            if beside {
                chosen_keys.extend(documented_keys(document, chosen));
            }
        }
    }
    let kinds: Vec<&str> = match &schema["type"] {
        Value::String(kind) => vec![kind.as_str()],
        Value::Array(kinds) => kinds.iter().filter_map(Value::as_str).collect(),
        _ => vec![],
    };
    if !kinds.is_empty() {
        let fits = kinds.iter().any(|kind| match *kind {
            "object" => value.is_object(),
            "array" => value.is_array(),
            "string" => value.is_string(),
            "integer" => value.is_i64() || value.is_u64(),
            "number" => value.is_number(),
            "boolean" => value.is_boolean(),
            "null" => value.is_null(),
            _ => false,
        });
        if !fits {
            return Err(format!("{at}: {value} is not {kinds:?}"));
        }
    }
    if let Some(allowed) = schema["enum"].as_array()
        && !allowed.contains(value)
    {
        return Err(format!("{at}: {value} is not one of {allowed:?}"));
    }
    if let Some(required) = schema["required"].as_array() {
        for key in required.iter().filter_map(Value::as_str) {
            if value.get(key).is_none() {
                return Err(format!("{at}: missing {key}"));
            }
        }
    }
    if let (Some(properties), Some(object)) = (schema["properties"].as_object(), value.as_object())
    {
        for (key, property) in properties {
            if let Some(inner) = object.get(key) {
                check(document, property, inner, &format!("{at}.{key}"))?;
            }
        }
        // Nothing is served that the document does not name.
        for key in object.keys() {
            if whole
                && !properties.contains_key(key)
                && !chosen_keys.contains(key)
                && schema["additionalProperties"] != true
            {
                return Err(format!("{at}: {key} is served but not documented"));
            }
        }
    }
    if let (Some(items), Some(array)) = (schema.get("items"), value.as_array()) {
        for (i, item) in array.iter().enumerate() {
            check(document, items, item, &format!("{at}[{i}]"))?;
        }
    }
    Ok(())
}

/// The properties a schema names, through allOf, for the served-but-undocumented check.
fn documented_keys(document: &Value, schema: &Value) -> Vec<String> {
    let schema = resolve(document, schema);
    let mut keys: Vec<String> = schema["properties"]
        .as_object()
        .map(|p| p.keys().cloned().collect())
        .unwrap_or_default();
    for part in schema["allOf"].as_array().into_iter().flatten() {
        keys.extend(documented_keys(document, part));
    }
    keys
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_documented_operation_answers_as_documented() {
    let env = ran_two_hours("documented").await;
    let base = serve(&env, Some(TOKEN), None).await;
    let client = client();
    let (status, body) = call(
        &client,
        Method::GET,
        &format!("{base}/api/v1/openapi.json"),
        Some(TOKEN),
    )
    .await;
    assert_eq!(status, 200);
    let document: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(document["openapi"], "3.1.0");

    let dead = env
        .store
        .tasks(&pacer_store::TaskQuery {
            status: Some(pacer_store::TaskStatus::Dead),
            limit: 10,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(dead.len(), 2, "the webshop refused two records for good");
    let paths = document["paths"].as_object().unwrap();
    assert_eq!(paths.len(), 20);
    let mut operations = 0;
    for (path, methods) in paths {
        for (method, operation) in methods.as_object().unwrap() {
            // Retry the first dead task, skip the second: both are allowed.
            let id = if path.ends_with("/skip") {
                dead[1].id
            } else {
                dead[0].id
            };
            let concrete = path
                .replace(
                    "{name}",
                    if path.contains("/integrations/") || path.starts_with("/hooks/") {
                        "prices"
                    } else {
                        "prices.push"
                    },
                )
                .replace("{id}", &id.to_string());
            let method: Method = method.to_uppercase().parse().unwrap();
            let (status, body) = call(
                &client,
                method.clone(),
                &format!("{base}{concrete}"),
                Some(TOKEN),
            )
            .await;
            let answer = &operation["responses"][status.as_str()];
            assert!(
                answer.is_object(),
                "{method} {concrete} answered {status}, which the document does not list: {body}"
            );
            // /metrics answers text, documented as such.
            if answer["content"]["text/plain"].is_object() {
                assert!(body.contains("# TYPE pacer_"), "{concrete}: {body}");
                operations += 1;
                continue;
            }
            let schema = &answer["content"]["application/json"]["schema"];
            let value: Value = serde_json::from_str(&body).unwrap();
            // An object's keys must all be documented, through allOf too.
            if let Some(object) = value.as_object()
                && !resolve(&document, schema)["allOf"].is_null()
            {
                let keys = documented_keys(&document, schema);
                for key in object.keys() {
                    assert!(
                        keys.contains(key),
                        "{method} {concrete}: {key} is not documented"
                    );
                }
            }
            if let Err(e) = check(&document, schema, &value, &format!("{method} {concrete}")) {
                panic!("{e}\n{body}");
            }
            // Each operation's success is what this test reaches, but a
            // reload: this router has nobody to reload a file (pacer run's
            // test reloads one), and says so as documented.
            // A webhook to an integration without one is a documented 404
            // (crates/server/tests/hooks.rs delivers to real ones); a
            // finished run's node is not ready, as documented.
            if concrete == "/api/v1/reload" {
                assert_eq!(status, StatusCode::CONFLICT, "{body}");
            } else if concrete.starts_with("/hooks/") {
                assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
            } else if concrete == "/readyz" {
                assert!([200, 503].contains(&status.as_u16()), "{body}");
            } else {
                assert!(status.is_success(), "{method} {concrete}: {status} {body}");
            }
            operations += 1;
        }
    }
    assert_eq!(operations, 20);

    // A plan that does not fit: each warning is served with its kind, its
    // figures and its message, all of them documented.
    let tight = pacer_config::parse(
        "environment: { name: tight, timezone: UTC, capacity: 1 }\n\
         systems:\n  erp: { rate: 10/min, base_url: \"http://127.0.0.1:9\" }\n  \
         shop: { rate: 10/min, base_url: \"http://127.0.0.1:9\" }\n\
         integrations:\n  prices: { from: erp, to: shop, volume: 35000/day, freshness: 5m }\n",
        "tight.yaml",
    )
    .unwrap();
    let plan = serde_json::to_value(pacer_plan::plan(&tight.environment).unwrap()).unwrap();
    let warnings = plan["warnings"].as_array().unwrap();
    assert!(warnings.len() >= 2, "{plan}");
    let warning = serde_json::json!({"$ref": "#/components/schemas/Warning"});
    for (i, served) in warnings.iter().enumerate() {
        assert!(served["message"].is_string(), "{served}");
        if let Err(e) = check(&document, &warning, served, &format!("warnings[{i}]")) {
            panic!("{e}");
        }
    }

    // An endpoint the document does not list is a JSON 404.
    let (status, body) = call(
        &client,
        Method::GET,
        &format!("{base}/api/v1/workflows"),
        Some(TOKEN),
    )
    .await;
    assert_eq!(status, 404);
    assert_eq!(
        serde_json::from_str::<Value>(&body).unwrap()["error"]["code"],
        "not_found"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reads_show_what_ran() {
    let env = ran_two_hours("reads").await;
    let base = serve(&env, None, None).await;
    let client = client();
    let get = |path: &str| {
        let url = format!("{base}{path}");
        let client = client.clone();
        async move {
            let (status, body) = call(&client, Method::GET, &url, None).await;
            assert_eq!(status, 200, "{url}: {body}");
            serde_json::from_str::<Value>(&body).unwrap()
        }
    };
    let environment = get("/api/v1/environment").await;
    assert_eq!(
        (
            environment["name"].clone(),
            environment["capacity"].clone(),
            environment["store"].clone()
        ),
        (json!("acme"), json!(2), json!("sqlite"))
    );
    assert_eq!(environment["nodes_alive"], json!(["node-a"]));
    // The run ended after its last minute, 07:59.
    assert_eq!(environment["now"], "2026-11-27T07:59:00+01:00");
    // What the store keeps (the defaults), and what it holds.
    let retention = &environment["retention"];
    assert_eq!(
        [
            &retention["finished_tasks"],
            &retention["dead_tasks"],
            &retention["executions"],
            &retention["rate_windows"]
        ],
        [&json!("7d"), &json!("30d"), &json!("30d"), &json!("2d")]
    );
    let executions = get("/api/v1/executions?limit=500").await;
    assert_eq!(
        retention["rows"]["executions"].as_u64().unwrap() as usize,
        executions["executions"].as_array().unwrap().len(),
        "two hours of executions, none pruned yet"
    );
    assert!(retention["rows"]["tasks"].as_u64().unwrap() > 0);

    let job = get("/api/v1/jobs/prices.pull").await;
    assert_eq!(job["schedule"], "*/4 * * * *");
    assert_eq!(
        job["description"],
        "every 4 minutes, at minutes 0, 4, 8 … 56 past each hour"
    );
    assert_eq!(
        job["next_runs"],
        json!([
            "2026-11-27T08:00:00+01:00",
            "2026-11-27T08:04:00+01:00",
            "2026-11-27T08:08:00+01:00",
            "2026-11-27T08:12:00+01:00",
            "2026-11-27T08:16:00+01:00"
        ])
    );
    assert_eq!(job["last_execution"]["state"], "succeeded");
    assert_eq!(job["last_execution"]["minute"], "2026-11-27T07:56:00+01:00");

    // Jobs come a page at a time, in the file's order, each page's last
    // execution read with the rest; the pages together are every job once.
    let all = get("/api/v1/jobs?limit=1000").await;
    let every: Vec<Value> = all["jobs"].as_array().unwrap().clone();
    let names: Vec<&str> = every.iter().map(|j| j["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["prices.pull", "prices.push"]);
    assert_eq!(all["next_cursor"], Value::Null);
    let mut paged = Vec::new();
    let mut cursor = String::new();
    loop {
        let page = get(&format!("/api/v1/jobs?limit=1&cursor={cursor}")).await;
        paged.extend(page["jobs"].as_array().unwrap().iter().cloned());
        match page["next_cursor"].as_str() {
            Some(next) => cursor = next.to_string(),
            None => break,
        }
    }
    assert_eq!(paged, every);
    let prices = every.iter().find(|j| j["name"] == "prices.pull").unwrap();
    assert_eq!(prices["last_execution"], job["last_execution"]);

    let executions = get("/api/v1/executions?job=prices.pull&state=succeeded&limit=5").await;
    let rows = executions["executions"].as_array().unwrap();
    assert_eq!(rows.len(), 5);
    assert!(
        rows.iter()
            .all(|e| e["job"] == "prices.pull" && e["waited_ms"].is_i64())
    );
    assert!(
        rows[0]["minute"].as_str() > rows[1]["minute"].as_str(),
        "newest first"
    );

    // Paging through every task with the cursor finds each once.
    let mut seen = std::collections::HashSet::new();
    let mut cursor = String::new();
    loop {
        let page = get(&format!(
            "/api/v1/tasks?integration=prices&limit=40&cursor={cursor}"
        ))
        .await;
        for task in page["tasks"].as_array().unwrap() {
            assert!(seen.insert(task["id"].as_i64().unwrap()));
        }
        match page["next_cursor"].as_str() {
            Some(next) => cursor = next.to_string(),
            None => break,
        }
    }
    assert_eq!(seen.len(), 300);

    let dead = get("/api/v1/tasks?status=dead").await;
    let id = dead["tasks"][0]["id"].as_i64().unwrap();
    let task = get(&format!("/api/v1/tasks/{id}")).await;
    assert!(task["payload"].is_object(), "a JSON record reads as JSON");
    assert_eq!(task["errors"][0]["attempt"], 1);
    assert!(
        task["errors"][0]["error"]
            .as_str()
            .unwrap()
            .contains("price must be positive")
    );

    let plan = get("/api/v1/plan").await;
    assert_eq!(plan["jobs"][0]["schedule"], "*/4 * * * *");
    let actual = plan["actual"]["by_minute"].as_array().unwrap();
    assert_eq!(actual.len(), 1_440);
    // 06:00–08:00 local ran; nothing ran before.
    assert!(actual[6 * 60..8 * 60].iter().any(|n| n.as_u64() > Some(0)));
    assert!(actual[..6 * 60].iter().all(|n| n == 0));
    assert_eq!(plan["actual"]["now_minute"], 7 * 60 + 59);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn actions_need_the_token_and_unknowns_are_404() {
    let env = ran_two_hours("actions").await;
    let base = serve(&env, Some(TOKEN), None).await;
    let client = client();
    let pause = format!("{base}/api/v1/jobs/prices.push/pause");
    for token in [None, Some("wrong")] {
        let (status, body) = call(&client, Method::POST, &pause, token).await;
        assert_eq!(status, 401, "{body}");
        assert_eq!(
            serde_json::from_str::<Value>(&body).unwrap()["error"]["code"],
            "unauthorized"
        );
    }
    // A cookie is enough to read, never to act.
    let with_cookie = client
        .post(&pause)
        .header("cookie", format!("pacer_token={TOKEN}"))
        .send()
        .await
        .unwrap();
    assert_eq!(with_cookie.status(), 401);

    let (status, body) = call(&client, Method::POST, &pause, Some(TOKEN)).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        serde_json::from_str::<Value>(&body).unwrap()["paused"],
        true
    );
    let (_, body) = call(
        &client,
        Method::GET,
        &format!("{base}/api/v1/jobs/prices.push"),
        Some(TOKEN),
    )
    .await;
    assert_eq!(
        serde_json::from_str::<Value>(&body).unwrap()["paused"],
        true
    );
    assert!(
        env.store
            .job_controls()
            .await
            .unwrap()
            .iter()
            .any(|c| c.job == "prices.push" && c.paused)
    );
    let (status, _) = call(
        &client,
        Method::POST,
        &format!("{base}/api/v1/jobs/prices.push/resume"),
        Some(TOKEN),
    )
    .await;
    assert_eq!(status, 200);
    let (status, body) = call(
        &client,
        Method::POST,
        &format!("{base}/api/v1/jobs/prices.pull/trigger"),
        Some(TOKEN),
    )
    .await;
    assert_eq!(status, 202);
    assert!(serde_json::from_str::<Value>(&body).unwrap()["triggered_at"].is_string());

    for (method, path) in [
        (Method::GET, "/api/v1/jobs/nope.pull"),
        (Method::POST, "/api/v1/jobs/nope.pull/pause"),
        (Method::GET, "/api/v1/tasks/999999"),
        (Method::GET, "/api/v1/tasks/abc"),
        (Method::POST, "/api/v1/tasks/999999/retry"),
        (Method::POST, "/api/v1/integrations/nope/replay-dead"),
    ] {
        let (status, body) = call(
            &client,
            method.clone(),
            &format!("{base}{path}"),
            Some(TOKEN),
        )
        .await;
        assert_eq!(status, 404, "{method} {path}: {body}");
        let error = &serde_json::from_str::<Value>(&body).unwrap()["error"];
        assert_eq!(error["code"], "not_found");
        assert!(!error["message"].as_str().unwrap().is_empty());
    }
    let (status, body) = call(
        &client,
        Method::DELETE,
        &format!("{base}/api/v1/jobs/prices.pull"),
        Some(TOKEN),
    )
    .await;
    assert_eq!(status, 405);
    assert_eq!(
        serde_json::from_str::<Value>(&body).unwrap()["error"]["code"],
        "method_not_allowed"
    );
    let (status, body) = call(
        &client,
        Method::GET,
        &format!("{base}/api/v1/tasks?status=lost"),
        Some(TOKEN),
    )
    .await;
    assert_eq!(status, 400);
    assert!(body.contains("new, processing, finished, failed, dead, skipped"));

    // Retry a dead task; retrying it again while it is queued is a conflict.
    let dead = env
        .store
        .tasks(&pacer_store::TaskQuery {
            status: Some(pacer_store::TaskStatus::Dead),
            limit: 1,
            ..Default::default()
        })
        .await
        .unwrap();
    let retry = format!("{base}/api/v1/tasks/{}/retry", dead[0].id);
    let (status, body) = call(&client, Method::POST, &retry, Some(TOKEN)).await;
    assert_eq!(status, 200);
    assert_eq!(
        serde_json::from_str::<Value>(&body).unwrap()["status"],
        "new"
    );
    let (status, body) = call(&client, Method::POST, &retry, Some(TOKEN)).await;
    assert_eq!(status, 409, "{body}");
    let (status, body) = call(
        &client,
        Method::POST,
        &format!("{base}/api/v1/integrations/prices/replay-dead"),
        Some(TOKEN),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(serde_json::from_str::<Value>(&body).unwrap()["replayed"], 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reads_are_open_only_on_loopback_without_a_token() {
    let env = ran_two_hours("access").await;
    let client = client();

    // Loopback, no token: reads open, actions refused with what to do.
    let open = serve(&env, None, None).await;
    for path in ["/api/v1/jobs", "/metrics", "/", "/schedule"] {
        let (status, _) = call(&client, Method::GET, &format!("{open}{path}"), None).await;
        assert_eq!(status, 200, "{path}");
    }
    let (status, body) = call(
        &client,
        Method::POST,
        &format!("{open}/api/v1/jobs/prices.pull/pause"),
        None,
    )
    .await;
    assert_eq!(status, 401);
    assert!(body.contains("PACER_API_TOKEN"));

    // A token set: reads need it too — the header, or the dashboard's cookie.
    let guarded = serve(&env, Some(TOKEN), None).await;
    for path in ["/api/v1/jobs", "/metrics"] {
        let (status, body) = call(&client, Method::GET, &format!("{guarded}{path}"), None).await;
        assert_eq!(status, 401, "{path}");
        assert_eq!(
            serde_json::from_str::<Value>(&body).unwrap()["error"]["code"],
            "unauthorized"
        );
    }
    let (status, page) = call(&client, Method::GET, &format!("{guarded}/jobs"), None).await;
    assert_eq!(status, 401);
    assert!(
        page.contains("id=\"sign-in\""),
        "the dashboard asks for the token"
    );
    let cookie = client
        .get(format!("{guarded}/jobs"))
        .header("cookie", format!("theme=dark; pacer_token={TOKEN}"))
        .send()
        .await
        .unwrap();
    assert_eq!(cookie.status(), 200);
    // The stylesheet and script hold no data: the sign-in page needs them.
    let (status, _) = call(
        &client,
        Method::GET,
        &format!("{guarded}/assets/dashboard.js"),
        None,
    )
    .await;
    assert_eq!(status, 200);

    // Beyond loopback without a token, nothing is open.
    let exposed = serve(&env, None, Some("0.0.0.0:8080".parse().unwrap())).await;
    let (status, body) = call(
        &client,
        Method::GET,
        &format!("{exposed}/api/v1/environment"),
        None,
    )
    .await;
    assert_eq!(status, 401);
    assert!(body.contains("beyond loopback"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_are_prometheus_text_with_the_promised_families() {
    let env = ran_two_hours("metrics").await;
    let base = serve(&env, None, None).await;
    let client = client();
    let response = client.get(format!("{base}/metrics")).send().await.unwrap();
    assert!(
        response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/plain; version=0.0.4")
    );
    let text = response.text().await.unwrap();
    let value = |sample: &str| -> f64 {
        text.lines()
            .find(|l| l.starts_with(sample) && l[sample.len()..].starts_with(' '))
            .unwrap_or_else(|| panic!("no sample {sample} in\n{text}"))
            .rsplit(' ')
            .next()
            .unwrap()
            .parse()
            .unwrap()
    };
    for family in [
        "pacer_executions_total counter",
        "pacer_store_calls_total counter",
        "pacer_execution_wait_seconds histogram",
        "pacer_execution_duration_seconds histogram",
        "pacer_tasks gauge",
        "pacer_deliveries_total counter",
        "pacer_rate_limit_waits_total counter",
        "pacer_rate_limit_wait_seconds_total counter",
        "pacer_capacity gauge",
        "pacer_capacity_in_use gauge",
        "pacer_scheduler_lag_seconds histogram",
        "pacer_pruned_rows_total counter",
    ] {
        assert!(text.contains(&format!("# TYPE {family}\n")), "{family}");
    }
    // Every job's outcomes are there from the start, at 0 until they
    // happen; jobs are `pacer_job`, as Prometheus owns `job`.
    for outcome in ["failed", "skipped", "missed", "interrupted"] {
        assert_eq!(
            value(&format!(
                r#"pacer_executions_total{{pacer_job="prices.push",outcome="{outcome}"}}"#
            )),
            0.0,
            "{outcome}"
        );
    }
    assert!(!text.contains("{job="), "no label named job");
    // The process, as Prometheus' client libraries name it (Linux /proc).
    assert!(value("process_resident_memory_bytes") > 1_000_000.0);
    assert!(value("process_open_fds") >= 3.0);
    assert!(value("process_max_fds") >= value("process_open_fds"));
    assert!(value("process_cpu_seconds_total") > 0.0);
    assert_eq!(
        value(&format!(
            r#"pacer_build_info{{version="{}"}}"#,
            env!("CARGO_PKG_VERSION")
        )),
        1.0
    );
    // Two hours of */4 pulls: 30 executions, and as many in the histogram.
    assert_eq!(
        value(r#"pacer_executions_total{pacer_job="prices.pull",outcome="succeeded"}"#),
        30.0
    );
    assert_eq!(
        value(r#"pacer_execution_wait_seconds_count{pacer_job="prices.pull"}"#),
        30.0
    );
    assert_eq!(
        value(r#"pacer_execution_duration_seconds_bucket{pacer_job="prices.pull",le="+Inf"}"#),
        30.0
    );
    assert_eq!(
        value(r#"pacer_tasks{integration="prices",status="dead"}"#),
        2.0
    );
    assert_eq!(
        value(r#"pacer_tasks{integration="prices",status="finished"}"#),
        298.0
    );
    assert_eq!(
        value(r#"pacer_deliveries_total{system="webshop",status="422"}"#),
        2.0
    );
    assert_eq!(
        value(r#"pacer_deliveries_total{system="webshop",status="503"}"#),
        1.0
    );
    assert!(value(r#"pacer_deliveries_total{system="webshop",status="200"}"#) >= 298.0);
    assert_eq!(value("pacer_capacity"), 2.0);
    assert_eq!(value("pacer_capacity_in_use"), 0.0);
    // Two hours of minutes, each dispatched and recorded through the store.
    assert!(value("pacer_store_calls_total") > 120.0, "{text}");
    assert_eq!(value(r#"pacer_scheduler_lag_seconds_count"#), 120.0);
    // The last pull ended in the run's last minutes (07:56 is its last */4).
    let last_pull = value(r#"pacer_job_last_success_timestamp_seconds{pacer_job="prices.pull"}"#);
    let run_end = "2026-11-27T07:00:00Z"
        .parse::<Timestamp>()
        .unwrap()
        .as_second() as f64;
    assert!(
        (run_end - 240.0..run_end).contains(&last_pull),
        "{last_pull} against {run_end}"
    );
    // No alerts: no condition is switched on, so no series.
    assert!(!text.contains("pacer_alerts{"), "no alerts: configured");
    // Two hours are well within every retention: nothing pruned yet.
    assert_eq!(
        value(r#"pacer_pruned_rows_total{table="finished_tasks"}"#),
        0.0
    );
    // Buckets only grow.
    let buckets: Vec<f64> = text
        .lines()
        .filter(|l| l.starts_with(r#"pacer_execution_wait_seconds_bucket{pacer_job="prices.pull""#))
        .map(|l| l.rsplit(' ').next().unwrap().parse().unwrap())
        .collect();
    assert!(buckets.windows(2).all(|w| w[0] <= w[1]), "{buckets:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_answer_contains_a_secret() {
    let env = ran_two_hours("secrets").await;
    let base = serve(&env, Some(TOKEN), None).await;
    let client = client();
    let dead = env
        .store
        .tasks(&pacer_store::TaskQuery {
            limit: 1,
            ..Default::default()
        })
        .await
        .unwrap();
    for path in [
        "/api/v1/environment".to_string(),
        "/api/v1/jobs".into(),
        "/api/v1/executions?limit=1000".into(),
        "/api/v1/tasks?limit=1000".into(),
        format!("/api/v1/tasks/{}", dead[0].id),
        "/api/v1/plan".into(),
        "/api/v1/openapi.json".into(),
        "/metrics".into(),
        "/".into(),
        "/schedule".into(),
        "/jobs".into(),
        "/tasks".into(),
        format!("/tasks/{}", dead[0].id),
        "/executions".into(),
        "/api/v1/jobs/nope".into(),
    ] {
        let (_, body) = call(&client, Method::GET, &format!("{base}{path}"), Some(TOKEN)).await;
        assert!(!body.contains(SECRET), "{path} shows the ERP's credential");
        assert!(!body.contains(TOKEN), "{path} shows the API token");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dashboard_pages_render_and_refresh_in_parts() {
    let env = ran_two_hours("pages").await;
    // With a token, so the actions that can succeed are offered.
    let base = serve(&env, Some(TOKEN), None).await;
    let client = client();
    for (path, marks) in [
        (
            "/",
            &[
                "id=\"task-counts\"",
                // README's words, with the statuses they gather.
                "<th>Waiting</th><th>New</th><th>Processing</th><th>Failed</th><th>Delivered</th><th>Dead</th>",
                "data-status=\"dead\"><a href=\"/tasks?integration=prices&amp;status=dead\">2</a>",
                "price must be positive",
                "The store keeps finished tasks 7d, dead tasks 30d, executions 30d and rate windows 2d",
                "<span class=\"health bad\">dead tasks</span> <a class=\"reason\" href=\"/tasks?integration=prices&amp;status=dead\">2 dead tasks: replay them once the cause is fixed</a>",
            ][..],
        ),
        (
            "/schedule",
            &[
                "id=\"heat-map\"",
                "id=\"now\"",
                "id=\"day-line\"",
                "busiest minute",
                // What the plan asks of each system, beside what it gave:
                // 35,000 prices a day over 360 pulls is 98 a pull.
                "; planned at most 98",
                "class=\"planned-rate\"",
                // Charts carry their axes' values.
                "<div class=\"x\"><span>00:00</span><span>12:00</span><span>24:00</span></div>",
                "<span>60 min ago</span>",
            ][..],
        ),
        (
            "/jobs",
            &[
                "data-job=\"prices.pull\"",
                "every 4 minutes",
                "/api/v1/jobs/prices.pull/pause",
            ][..],
        ),
        (
            "/tasks?status=dead",
            &["id=\"tasks\"", "Replay 2 dead prices"][..],
        ),
        (
            "/executions?job=prices.pull",
            &["id=\"executions\"", "succeeded"][..],
        ),
    ] {
        let (status, page) =
            call(&client, Method::GET, &format!("{base}{path}"), Some(TOKEN)).await;
        assert_eq!(status, 200, "{path}");
        assert!(page.starts_with("<!doctype html>"), "{path}");
        for elsewhere in ["src=\"http", "href=\"http", "url(http", "@import"] {
            assert!(!page.contains(elsewhere), "{path} fetches from elsewhere");
        }
        for mark in marks {
            assert!(page.contains(mark), "{path} lacks {mark}");
        }
        // The script's refresh asks for the live part only.
        let live = client
            .get(format!("{base}{path}"))
            .header("x-pacer-live", "1")
            .bearer_auth(TOKEN)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(!live.contains("<html") && live.contains(marks[0]), "{path}");
    }
    let (status, _) = call(
        &client,
        Method::GET,
        &format!("{base}/tasks?status=lost"),
        Some(TOKEN),
    )
    .await;
    assert_eq!(status, 400);
    // A parameter given twice is refused, not read as one of them
    // (schemathesis sent limit=…&limit=).
    let (status, body) = call(
        &client,
        Method::GET,
        &format!("{base}/api/v1/tasks?limit=5&limit="),
        Some(TOKEN),
    )
    .await;
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("limit is given twice"), "{body}");
    // A jobs cursor that names no job says what to give instead.
    let (status, body) = call(
        &client,
        Method::GET,
        &format!("{base}/api/v1/jobs?cursor=nope.pull"),
        Some(TOKEN),
    )
    .await;
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("give the next_cursor"), "{body}");
    // The Jobs page pages the same way, with a link to the rest.
    let (status, body) = call(
        &client,
        Method::GET,
        &format!("{base}/jobs?limit=1"),
        Some(TOKEN),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(body.matches("<tr data-job=").count(), 1, "{body}");
    assert!(
        body.contains("<a href=\"/jobs?limit=1&amp;cursor=prices.pull\">More jobs →</a>"),
        "{body}"
    );

    // Only what can succeed: a finished task offers neither retry nor
    // skip, a dead one both; an empty filter says what would appear.
    let task = |status| pacer_store::TaskQuery {
        status: Some(status),
        limit: 1,
        ..Default::default()
    };
    let finished = env
        .store
        .tasks(&task(pacer_store::TaskStatus::Finished))
        .await
        .unwrap()[0]
        .id;
    let dead = env
        .store
        .tasks(&task(pacer_store::TaskStatus::Dead))
        .await
        .unwrap()[0]
        .id;
    let page = |path: String| {
        let client = client.clone();
        let url = format!("{base}{path}");
        async move { call(&client, Method::GET, &url, Some(TOKEN)).await.1 }
    };
    let finished = page(format!("/tasks/{finished}")).await;
    assert!(
        !finished.contains("/retry") && !finished.contains("/skip"),
        "{finished}"
    );
    let dead = page(format!("/tasks/{dead}")).await;
    assert!(dead.contains("/retry") && dead.contains("/skip"), "{dead}");
    let skipped = page("/tasks?status=skipped".into()).await;
    assert!(
        skipped.contains("No skipped tasks. Tasks appear here once a pull queues changes")
            && !skipped.contains("id=\"tasks\""),
        "{skipped}"
    );

    // Without a token no action can succeed: none is offered.
    let open = serve(&env, None, None).await;
    let (_, jobs) = call(&client, Method::GET, &format!("{open}/jobs"), None).await;
    assert!(
        !jobs.contains("/pause") && !jobs.contains("data-action"),
        "{jobs}"
    );
    assert!(
        jobs.contains("need an API token: set PACER_API_TOKEN"),
        "{jobs}"
    );
    let (_, tasks) = call(&client, Method::GET, &format!("{open}/tasks"), None).await;
    assert!(!tasks.contains("replay-dead"), "{tasks}");
}

/// An ERP down for the whole run: the Overview says the integration is
/// failing and why, the alert fires to a real receiver, and the API, the
/// Overview and the metrics list it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_pull_is_shown_unhealthy_and_alerted() {
    let received: Arc<std::sync::Mutex<Vec<Value>>> = Arc::default();
    let keep = received.clone();
    let app = axum::Router::new().route(
        "/alerts",
        axum::routing::post(move |axum::Json(body): axum::Json<Value>| {
            let keep = keep.clone();
            async move {
                keep.lock().unwrap().push(body);
                StatusCode::OK
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let receiver = format!("http://{}/alerts", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    let down = Fault {
        status: 503,
        count: 100_000,
        body: Some(r#"{"error": "erp is down"}"#.into()),
        ..Fault::default()
    };
    let alerts = format!("alerts:\n  send:\n    - webhook: \"{receiver}\"\n");
    let env = ran("failing", &[down], &alerts).await;
    let base = serve(&env, None, None).await;
    let client = client();

    let (_, overview) = call(&client, Method::GET, &format!("{base}/"), None).await;
    assert!(
        overview.contains("<span class=\"health bad\">failing</span> <a class=\"reason\" href=\"/executions?job=prices.pull\">its last pull failed:"),
        "{overview}"
    );
    assert!(overview.contains("erp is down"), "the reason is shown");
    assert!(!overview.contains(">healthy<"), "{overview}");
    assert!(overview.contains("Open alerts"), "{overview}");

    let (status, body) = call(&client, Method::GET, &format!("{base}/api/v1/alerts"), None).await;
    assert_eq!(status, 200, "{body}");
    let answer: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(
        answer["conditions"],
        json!([
            "dead_tasks",
            "failed_runs",
            "backlog",
            "at_rate",
            "at_capacity",
            "node_lost"
        ])
    );
    assert_eq!(answer["channels"], json!(["webhook 127.0.0.1"]));
    let open = answer["alerts"].as_array().unwrap();
    assert_eq!(open.len(), 1, "{body}");
    assert_eq!(
        (
            &open[0]["condition"],
            &open[0]["subject"],
            &open[0]["state"]
        ),
        (
            &json!("failed_runs"),
            &json!("prices.pull"),
            &json!("firing")
        )
    );
    let sent = received.lock().unwrap().clone();
    assert_eq!(
        sent.len(),
        1,
        "fired once within the repeat of 4h: {sent:?}"
    );
    assert_eq!(sent[0]["status"], "firing");

    let (_, text) = call(&client, Method::GET, &format!("{base}/metrics"), None).await;
    for (series, value) in [
        (
            r#"pacer_alerts{condition="failed_runs",state="firing"} 1"#,
            true,
        ),
        (
            r#"pacer_alerts{condition="dead_tasks",state="firing"} 0"#,
            true,
        ),
        (
            r#"pacer_alerts{condition="node_lost",state="pending"} 0"#,
            true,
        ),
        (
            r#"pacer_alert_notifications_total{channel="webhook 127.0.0.1",outcome="sent"} 1"#,
            true,
        ),
        (
            r#"pacer_alert_notifications_total{channel="webhook 127.0.0.1",outcome="failed"} 0"#,
            true,
        ),
        (
            "pacer_job_last_success_timestamp_seconds{pacer_job=\"prices.pull\"}",
            false,
        ),
    ] {
        assert_eq!(text.contains(series), value, "{series}");
    }
}

/// Prometheus' own checker takes a live scrape, the shipped alerting rules
/// and their unit tests; the rules and the Grafana dashboard name only
/// metrics a scrape has.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn promtool_accepts_the_metrics_and_the_shipped_rules() {
    let env = ran_two_hours("promtool").await;
    let base = serve(&env, None, None).await;
    let (_, text) = call(&client(), Method::GET, &format!("{base}/metrics"), None).await;
    let promtool = |args: &[&str], input: Option<&str>| {
        let mut child = std::process::Command::new("promtool")
            .args(args)
            .current_dir(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/../../docs/prometheus"
            ))
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("promtool is needed: apt-get install prometheus (.ci/run does)");
        if let Some(input) = input {
            use std::io::Write;
            child
                .stdin
                .take()
                .unwrap()
                .write_all(input.as_bytes())
                .unwrap();
        }
        drop(child.stdin.take());
        let out = child.wait_with_output().unwrap();
        let said = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(out.status.success(), "promtool {args:?}: {said}");
        said
    };
    let said = promtool(&["check", "metrics"], Some(&text));
    assert!(said.trim().is_empty(), "no lint findings: {said}");
    assert!(promtool(&["check", "rules", "alerts.yml"], None).contains("SUCCESS: 9 rules found"));
    assert!(promtool(&["test", "rules", "alerts.test.yml"], None).contains("SUCCESS"));

    // Each metric the rules and the dashboard read is one a scrape has
    // (families without series yet still say their TYPE).
    let families: Vec<&str> = text
        .lines()
        .filter_map(|l| l.strip_prefix("# TYPE "))
        .filter_map(|l| l.split(' ').next())
        .collect();
    let docs = concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs");
    for file in ["prometheus/alerts.yml", "grafana/pacer.json"] {
        let content = std::fs::read_to_string(format!("{docs}/{file}")).unwrap();
        let mut named = 0;
        for word in content.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_')) {
            if !(word.starts_with("pacer_") || word.starts_with("process_")) || word == "pacer_job"
            {
                continue;
            }
            let family = word.strip_suffix("_bucket").unwrap_or(word);
            assert!(
                families.contains(&family),
                "{file} reads {word}, which /metrics lacks"
            );
            named += 1;
        }
        assert!(named > 5, "{file} names {named} metrics");
    }
    let dashboard: Value = serde_json::from_str(
        &std::fs::read_to_string(format!("{docs}/grafana/pacer.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(dashboard["uid"], "pacer");
    assert!(dashboard["panels"].as_array().unwrap().len() >= 10);
}

/// `/healthz` and `/readyz` answer without a token, even when one is set:
/// a probe carries none. Ready while the scheduler and heartbeat run;
/// 503 with the reasons once they have been silent too long.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_and_readiness_answer_probes_without_a_token() {
    let env = ran_two_hours("health").await;
    let client = client();
    let guarded = serve(&env, Some(TOKEN), None).await;
    let (status, body) = call(&client, Method::GET, &format!("{guarded}/healthz"), None).await;
    assert_eq!(
        (status, body.as_str()),
        (StatusCode::OK, r#"{"status":"ok"}"#)
    );
    let (status, body) = call(&client, Method::GET, &format!("{guarded}/readyz"), None).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let answer: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(answer["ready"], true);
    assert_eq!(
        answer["checks"],
        serde_json::json!({"store": "ok", "scheduler": "ok", "heartbeat": "ok"})
    );

    // The run ended; five minutes on, its scheduler and heartbeat are stale.
    let clock = env.engine.clock().clone();
    clock
        .sleep_until(clock.now() + SignedDuration::from_mins(5))
        .await;
    let (status, body) = call(&client, Method::GET, &format!("{guarded}/readyz"), None).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    let answer: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(answer["ready"], false);
    assert_eq!(answer["checks"]["store"], "ok");
    let scheduler = answer["checks"]["scheduler"].as_str().unwrap();
    assert!(
        scheduler.starts_with("the scheduler last ran ")
            && scheduler.ends_with("s ago, more than 90 s"),
        "{scheduler}"
    );
    let heartbeat = answer["checks"]["heartbeat"].as_str().unwrap();
    assert!(heartbeat.ends_with("more than 30 s"), "{heartbeat}");
}

/// An HTTP client for the test, with the TLS provider Pacer installs.
fn client() -> reqwest::Client {
    pacer_connect::install_tls();
    reqwest::Client::new()
}
