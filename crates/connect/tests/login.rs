//! Auth by a login request: an API (axum, on loopback) that hands out a
//! token for a user name and password, lets it live two seconds, and
//! wants it in a header of its own, as many ERPs and shops do.

mod support;

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use axum::{
    Json, Router,
    extract::State,
    http::{HeaderMap, StatusCode},
    routing::{post, put},
};
use jiff::Timestamp;
use pacer_connect::{Delivery, Destination};
use support::prices;

#[derive(Default)]
struct Api {
    /// Token → when it expires.
    tokens: HashMap<String, Instant>,
    logins: u64,
    accepted: u64,
    refused: u64,
}

type Shared = Arc<Mutex<Api>>;

async fn login(
    State(api): State<Shared>,
    Json(body): Json<serde_json::Value>,
) -> (StatusCode, Json<serde_json::Value>) {
    if body != serde_json::json!({"username": "pacer", "password": "s3cret"}) {
        return (
            StatusCode::UNAUTHORIZED,
            Json(serde_json::json!({"error": "bad credentials"})),
        );
    }
    let mut api = api.lock().unwrap();
    api.logins += 1;
    let token = format!("token-{}", api.logins);
    api.tokens
        .insert(token.clone(), Instant::now() + Duration::from_secs(2));
    (
        StatusCode::OK,
        Json(serde_json::json!({"session": {"token": token, "ttl": 2}})),
    )
}

async fn price(State(api): State<Shared>, headers: HeaderMap) -> StatusCode {
    let mut api = api.lock().unwrap();
    let token = headers
        .get("x-auth-token")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    if api
        .tokens
        .get(token)
        .is_some_and(|until| Instant::now() < *until)
    {
        api.accepted += 1;
        StatusCode::OK
    } else {
        api.refused += 1;
        StatusCode::UNAUTHORIZED
    }
}

async fn serve() -> (String, Shared) {
    let api = Shared::default();
    let app = Router::new()
        .route("/api/login", post(login))
        .route("/prices/{sku}", put(price))
        .with_state(api.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    (url, api)
}

fn destination(url: &str, password: &str) -> Destination {
    let yaml = format!(
        "systems:\n  erp: {{ rate: 100/min }}\n  \
         shop:\n    rate: 100/min\n    base_url: \"{url}\"\n    \
         auth:\n      login:\n        path: /api/login\n        \
         body: {{ username: pacer, password: \"{password}\" }}\n        \
         token: .session.token\n        expires_in: .session.ttl\n        header: X-Auth-Token\n\
         integrations:\n  prices:\n    from: erp\n    to: shop\n    volume: 2400/day\n    \
         push: {{ request: {{ path: \"/prices/{{{{ sku }}}}\" }} }}\n"
    );
    let config = pacer_config::parse(&yaml, "login.yaml").unwrap();
    Destination::new("prices", &config.connections[1], &config.flows[0].push).unwrap()
}

/// One login serves while its token lives; one that expired is renewed
/// before it is refused; a token the API forgets is replaced on its 401
/// and the request sent again at once.
#[tokio::test]
async fn a_login_token_is_used_renewed_and_replaced() {
    let (url, api) = serve().await;
    let shop = destination(&url, "s3cret");
    let delivered = shop
        .deliver(&prices(&["SKU-1", "SKU-2"]), Timestamp::now())
        .await;
    assert_eq!(delivered, vec![Delivery::Delivered; 2]);
    let counts = |api: &Shared| {
        let api = api.lock().unwrap();
        (api.logins, api.accepted, api.refused)
    };
    assert_eq!(counts(&api), (1, 2, 0));

    tokio::time::sleep(Duration::from_millis(2_100)).await;
    let delivered = shop.deliver(&prices(&["SKU-3"]), Timestamp::now()).await;
    assert_eq!(delivered, [Delivery::Delivered]);
    assert_eq!(counts(&api), (2, 3, 0), "renewed before it expired");

    api.lock().unwrap().tokens.clear();
    let delivered = shop.deliver(&prices(&["SKU-4"]), Timestamp::now()).await;
    assert_eq!(delivered, [Delivery::Delivered]);
    assert_eq!(counts(&api), (3, 4, 1));
}

/// A wrong password holds the records with the login's answer as the
/// reason, and the password shows nowhere.
#[tokio::test]
async fn a_refused_login_holds_the_records_and_says_why() {
    let (url, api) = serve().await;
    let shop = destination(&url, "hunter2");
    let delivered = shop.deliver(&prices(&["SKU-1"]), Timestamp::now()).await;
    let [Delivery::Retry { error, .. }] = delivered.as_slice() else {
        panic!("{delivered:?}")
    };
    assert!(error.contains("no token from the login at"), "{error}");
    assert!(
        error.contains("401") && error.contains("bad credentials"),
        "{error}"
    );
    assert!(error.contains("check the login's body"), "{error}");
    assert!(!error.contains("hunter2"), "{error}");
    assert_eq!(api.lock().unwrap().accepted, 0);
}
