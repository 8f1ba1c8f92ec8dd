//! `/healthz` and `/readyz`: what a Kubernetes probe, a load balancer or
//! a watchdog asks. Open without a token — they say nothing a caller
//! could use but whether to send work here.

use axum::{Json, extract::State, http::StatusCode, response::IntoResponse};
use serde_json::{Value, json};

use crate::App;

/// The process answers: a liveness probe.
pub(crate) async fn alive() -> Json<Value> {
    Json(json!({"status": "ok"}))
}

/// This node can take work: its store answers, its scheduler and its
/// heartbeat ran recently. 503 with each failed check's reason when not.
pub(crate) async fn ready(State(app): State<App>) -> impl IntoResponse {
    let readiness = app.engine().readiness().await;
    let check = |result: &Result<(), String>| match result {
        Ok(()) => Value::from("ok"),
        Err(why) => Value::from(why.as_str()),
    };
    let answer = json!({
        "ready": readiness.is_ready(),
        "checks": {
            "store": check(&readiness.store),
            "scheduler": check(&readiness.scheduler),
            "heartbeat": check(&readiness.heartbeat),
        },
    });
    let status = if readiness.is_ready() {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (status, Json(answer))
}
