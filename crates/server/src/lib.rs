//! Pacer's HTTP surface, served by `pacer run` and `pacer demo`.
//!
//! - `/api/v1/…`: the environment, jobs, executions, tasks and plan as JSON,
//!   and the actions (pause, resume, trigger, retry, skip, replay); its
//!   OpenAPI document at `/api/v1/openapi.json`;
//! - `/`: the dashboard, server-rendered HTML that refreshes itself;
//! - `/metrics`: Prometheus text, every name prefixed `pacer_`;
//! - `/hooks/NAME`: webhook intake, authenticated by the integration's own
//!   `X-Pacer-Secret`.
//!
//! Every POST under `/api/v1` needs `Authorization: Bearer TOKEN`. Reads are
//! open only while the server listens on loopback with no token set;
//! otherwise they need the token too (the dashboard keeps it in a cookie
//! once signed in). Tokens are compared in constant time. A webhook without
//! a secret is taken only on loopback. Errors are
//! `{"error": {"code", "message"}}`, whatever refused the request.
//!
//! Every answer carries a Content-Security-Policy that lets pages load only
//! the dashboard's own script and stylesheet, `X-Frame-Options: DENY`,
//! `X-Content-Type-Options: nosniff` and `Referrer-Policy: no-referrer`;
//! all but the static assets `Cache-Control: no-store`. Requests are read
//! up to [`MAX_URI_BYTES`] of path and query, [`MAX_HEADERS`] headers of
//! [`MAX_HEADER_BYTES`], and bodies of 16 MiB (a webhook's own
//! `max_bytes` below that).

#![deny(missing_docs)]

use std::{
    net::SocketAddr,
    sync::{Arc, RwLock},
};

use axum::{
    Router,
    extract::{DefaultBodyLimit, Request, State},
    http::{Method, header},
    middleware::{self, Next},
    response::{IntoResponse, Response},
    routing::{get, post},
};
use pacer_engine::Engine;
use tokio::sync::{mpsc, oneshot};

pub use crate::edge::{MAX_HEADER_BYTES, MAX_HEADERS, MAX_URI_BYTES};
use crate::error::ApiError;

mod answers;
mod api;
mod dashboard;
mod edge;
mod error;
mod health;
mod hooks;
mod metrics;
mod openapi;
mod views;

/// Bodies above this are cut off before an integration's own limit is checked.
const HARD_LIMIT: usize = 16 << 20;

/// Who may do what: the API token, and whether reads need it.
#[derive(Clone)]
pub struct Access {
    token: Option<String>,
    open_reads: bool,
    loopback: bool,
}

impl std::fmt::Debug for Access {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Access")
            .field("token", &self.token.as_ref().map(|_| "***"))
            .field("open_reads", &self.open_reads)
            .field("loopback", &self.loopback)
            .finish()
    }
}

impl Access {
    /// The rules for a server on `listen`: actions need `token` (none set:
    /// no action is allowed); reads are open only on loopback with no token;
    /// webhooks without a secret are taken only on loopback.
    pub fn new(token: Option<String>, listen: SocketAddr) -> Access {
        let token = token.filter(|t| !t.is_empty());
        let loopback = listen.ip().is_loopback();
        Access {
            open_reads: token.is_none() && loopback,
            token,
            loopback,
        }
    }

    /// Whether the server listens on loopback only.
    pub fn loopback(&self) -> bool {
        self.loopback
    }

    /// Whether any action can succeed: none without a token.
    pub(crate) fn can_act(&self) -> bool {
        self.token.is_some()
    }

    /// Whether reads need the token.
    pub fn reads_need_token(&self) -> bool {
        !self.open_reads
    }

    /// Whether `offered` is the token, compared in constant time.
    fn accepts(&self, offered: Option<&str>) -> bool {
        match (&self.token, offered) {
            (Some(token), Some(offered)) => {
                pacer_connect::same_secret(token.as_bytes(), offered.as_bytes())
            }
            _ => false,
        }
    }
}

/// What every handler reads: the engine now running, the access rules,
/// and where a reload is asked for.
#[derive(Clone, Debug)]
pub(crate) struct App {
    current: Arc<RwLock<Engine>>,
    pub(crate) access: Access,
    reloads: Option<mpsc::Sender<Reload>>,
}

impl App {
    /// Asks whoever runs the engine to reload the config, and waits for
    /// the answer: what changed, or why the running config stays.
    pub(crate) async fn reload(&self) -> Result<Result<String, String>, ApiError> {
        let Some(reloads) = &self.reloads else {
            return Err(ApiError::new(
                axum::http::StatusCode::CONFLICT,
                "not_reloadable",
                "this server runs a demo, which reloads nothing: pacer run reloads its file",
            ));
        };
        let (reply, answer) = oneshot::channel();
        let gone = || {
            ApiError::new(
                axum::http::StatusCode::SERVICE_UNAVAILABLE,
                "stopping",
                "Pacer is stopping; nothing was reloaded",
            )
        };
        reloads.send(Reload { reply }).await.map_err(|_| gone())?;
        answer.await.map_err(|_| gone())
    }

    /// The engine running now (a reload swaps it).
    pub(crate) fn engine(&self) -> Engine {
        self.current
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }
}

/// A request to reload the config, answered once it is applied or refused.
#[derive(Debug)]
pub struct Reload {
    reply: oneshot::Sender<Result<String, String>>,
}

impl Reload {
    /// Answers the request: what changed, or why the running config stays.
    pub fn answer(self, outcome: Result<String, String>) {
        let _ = self.reply.send(outcome);
    }
}

/// The other end of a reloadable server: reload requests from
/// `POST /api/v1/reload`, and the swap of the engine it answers for.
#[derive(Debug)]
pub struct Reloads {
    current: Arc<RwLock<Engine>>,
    requests: mpsc::Receiver<Reload>,
}

impl Reloads {
    /// The next reload request; `None` once the server is gone.
    pub async fn next(&mut self) -> Option<Reload> {
        self.requests.recv().await
    }

    /// Answers from now on for `engine`.
    pub fn swap(&self, engine: Engine) {
        *self
            .current
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = engine;
    }
}

/// The routes, over a running engine that is never swapped: `POST
/// /api/v1/reload` answers that this server cannot reload.
pub fn router(engine: Engine, access: Access) -> Router {
    routes(App {
        current: Arc::new(RwLock::new(engine)),
        access,
        reloads: None,
    })
}

/// The routes, over an engine a reload may swap: `POST /api/v1/reload`
/// hands [`Reload`]s to the returned [`Reloads`].
pub fn reloadable_router(engine: Engine, access: Access) -> (Router, Reloads) {
    let current = Arc::new(RwLock::new(engine));
    let (sender, requests) = mpsc::channel(4);
    let router = routes(App {
        current: current.clone(),
        access,
        reloads: Some(sender),
    });
    (router, Reloads { current, requests })
}

fn routes(app: App) -> Router {
    let guarded = Router::new()
        .merge(api::routes())
        .merge(dashboard::routes())
        .route("/metrics", get(metrics::render))
        .layer(middleware::from_fn_with_state(app.clone(), guard));
    Router::new()
        .route("/hooks/{name}", post(hooks::receive))
        .route("/healthz", get(health::alive))
        .route("/readyz", get(health::ready))
        .merge(dashboard::assets())
        .merge(guarded)
        .method_not_allowed_fallback(|| async {
            ApiError::new(
                axum::http::StatusCode::METHOD_NOT_ALLOWED,
                "method_not_allowed",
                "this path does not take that method; /api/v1/openapi.json lists what it takes",
            )
        })
        .fallback(|| async {
            ApiError::not_found(
                "no such path: the dashboard is at /, the API under /api/v1 \
                 (/api/v1/openapi.json lists it), metrics at /metrics",
            )
        })
        .layer(DefaultBodyLimit::max(HARD_LIMIT))
        .layer(middleware::from_fn(edge::edge))
        .with_state(app)
}

/// Serves `router` on `listener` until the task is dropped or aborted.
pub async fn serve(listener: tokio::net::TcpListener, router: Router) -> std::io::Result<()> {
    axum::serve(listener, router).await
}

/// Checks the token before any guarded route runs.
///
/// POSTs need the `Authorization` header: a cookie is never enough for an
/// action, so another site cannot make a signed-in browser act. Reads take
/// the header or the dashboard's `pacer_token` cookie.
async fn guard(State(app): State<App>, request: Request, next: Next) -> Response {
    let headers = request.headers();
    let bearer = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim);
    let read = request.method() == Method::GET || request.method() == Method::HEAD;
    if read && !app.access.reads_need_token() {
        return next.run(request).await;
    }
    let cookie = read.then(|| cookie(headers, "pacer_token")).flatten();
    if app.access.accepts(bearer) || app.access.accepts(cookie.as_deref()) {
        return next.run(request).await;
    }
    let message = match (&app.access.token, read) {
        (None, false) => "no API token is set, so no action is allowed: set PACER_API_TOKEN \
                          (or environment.api_token) and restart Pacer"
            .to_string(),
        (None, true) => "this server listens beyond loopback, so reads need a token too: set \
                         PACER_API_TOKEN (or environment.api_token) and restart Pacer"
            .to_string(),
        (Some(_), _) if bearer.is_some() || cookie.is_some() => "wrong API token".to_string(),
        (Some(_), _) => "missing API token: send Authorization: Bearer TOKEN".to_string(),
    };
    let path = request.uri().path();
    if read && !path.starts_with("/api/") && path != "/metrics" {
        return dashboard::sign_in(&message).into_response();
    }
    ApiError::unauthorized(message).into_response()
}

/// A cookie's value from the request's `Cookie` headers.
fn cookie(headers: &axum::http::HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(key, _)| *key == name)
        .map(|(_, value)| value.to_string())
}
