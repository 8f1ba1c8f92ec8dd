//! `POST /hooks/NAME`: queues the records of an integration whose config has
//! a `webhook`, answering `202 {"queued", "rejected"}` — 404 for an unknown
//! integration, 401 for a missing or wrong `X-Pacer-Secret`, 403 for a
//! webhook without a secret on a server beyond loopback, 413 above the
//! size limit, 400 for a body that is not JSON or nested deeper than 128
//! arrays and objects (kept as a rejected record),
//! 503 when the store failed (nothing was queued).

use crate::{App, answers::HookAnswer, error::ApiError};
use axum::{
    Json,
    body::Bytes,
    extract::{Path, State},
    http::{HeaderMap, StatusCode},
    response::{IntoResponse, Response},
};
use pacer_engine::{Refusal, Refused};

pub(crate) async fn receive(
    State(app): State<App>,
    Path(name): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    // Beyond loopback, anyone who reaches the port could queue records.
    if !app.access.loopback() && app.engine().unguarded_webhooks().contains(&name) {
        return ApiError::new(
            StatusCode::FORBIDDEN,
            "webhook_unguarded",
            format!(
                "the webhook of {name} has no secret and Pacer listens beyond loopback, so it \
                 takes nothing; set integrations.{name}.webhook.secret"
            ),
        )
        .into_response();
    }
    let secret = headers.get("x-pacer-secret").and_then(|v| v.to_str().ok());
    match app.engine().receive(&name, &body, secret).await {
        Ok(received) => (
            StatusCode::ACCEPTED,
            Json(HookAnswer {
                queued: received.queued,
                rejected: received.rejected,
            }),
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
                Refused::Intake(Refusal::TooDeep) => (StatusCode::BAD_REQUEST, "too_deep"),
                Refused::Store(_) => (StatusCode::SERVICE_UNAVAILABLE, "store_unavailable"),
            };
            ApiError::new(status, code, refused.to_string()).into_response()
        }
    }
}
