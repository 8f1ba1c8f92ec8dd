//! Pacer's HTTP surface, served by `pacer run` and `pacer demo`.
//!
//! Today it receives webhooks: `POST /hooks/NAME` queues the records of an
//! integration whose config has a `webhook`, answering `202 {"queued",
//! "rejected"}`, or an error as `{"error": {"code", "message"}}` — 404 for
//! an unknown integration, 401 for a missing or wrong `X-Pacer-Secret`, 413
//! above the size limit, 400 for a body that is not JSON (kept as a rejected
//! record), 503 when the store failed (nothing was queued).

#![deny(missing_docs)]

use axum::{
    Json, Router,
    body::Bytes,
    extract::{DefaultBodyLimit, Path, State},
    http::{HeaderMap, StatusCode},
    response::{IntoResponse, Response},
    routing::post,
};
use pacer_engine::{Engine, Refusal, Refused};
use serde_json::json;

/// Bodies above this are cut off before an integration's own limit is checked.
const HARD_LIMIT: usize = 16 << 20;

/// The routes, over a running engine.
pub fn router(engine: Engine) -> Router {
    Router::new()
        .route("/hooks/{name}", post(hook))
        .layer(DefaultBodyLimit::max(HARD_LIMIT))
        .with_state(engine)
}

/// Serves `router` on `listener` until the task is dropped or aborted.
pub async fn serve(listener: tokio::net::TcpListener, router: Router) -> std::io::Result<()> {
    axum::serve(listener, router).await
}

async fn hook(
    State(engine): State<Engine>,
    Path(name): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let secret = headers.get("x-pacer-secret").and_then(|v| v.to_str().ok());
    match engine.receive(&name, &body, secret).await {
        Ok(received) => (
            StatusCode::ACCEPTED,
            Json(json!({"queued": received.queued, "rejected": received.rejected})),
        )
            .into_response(),
        Err(refused) => {
            let (status, code) = match &refused {
                Refused::NoWebhook(_) => (StatusCode::NOT_FOUND, "not_found"),
                Refused::Intake(Refusal::Unauthorized) => {
                    (StatusCode::UNAUTHORIZED, "unauthorized")
                }
                Refused::Intake(Refusal::TooLarge { .. }) => {
                    (StatusCode::PAYLOAD_TOO_LARGE, "too_large")
                }
                Refused::Intake(Refusal::NotJson(_)) => (StatusCode::BAD_REQUEST, "not_json"),
                Refused::Store(_) => (StatusCode::SERVICE_UNAVAILABLE, "store_unavailable"),
            };
            let body = json!({"error": {"code": code, "message": refused.to_string()}});
            (status, Json(body)).into_response()
        }
    }
}
