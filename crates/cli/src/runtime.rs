//! What the long-running commands share: an async runtime, logs, signals
//! and durations.

use std::future::Future;

use anyhow::Context;
use jiff::{SignedDuration, Timestamp};
use pacer_engine::Engine;

use crate::{args::Format, input::InvalidInput};

pub(crate) fn block_on<T>(work: impl Future<Output = anyhow::Result<T>>) -> anyhow::Result<T> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?
        .block_on(work)
}

/// Log lines on stderr; `RUST_LOG` narrows or widens them (default `info`).
pub(crate) fn init_logs(format: Format) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(|| Redacted(Vec::new()))
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_target(false);
    // A second call (tests run commands in one process) keeps the first.
    let _ = match format {
        Format::Text => builder.compact().try_init(),
        Format::Json => builder.json().try_init(),
    };
}

/// One log line on its way to stderr, written whole once it is complete
/// and with every registered secret taken out: whatever a field holds —
/// an answer a system echoed, a URL — no secret reaches the log.
struct Redacted(Vec<u8>);

impl std::io::Write for Redacted {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Drop for Redacted {
    fn drop(&mut self) {
        let text = String::from_utf8_lossy(&self.0);
        let _ = std::io::Write::write_all(
            &mut std::io::stderr().lock(),
            pacer_connect::redact(&text).as_bytes(),
        );
    }
}

/// "2h", "90m", "1d" as schedule time.
pub(crate) fn duration(text: &str, flag: &str) -> Result<SignedDuration, InvalidInput> {
    let parsed = text.parse::<jiff::Span>().ok().and_then(|span| {
        span.to_duration(jiff::SpanRelativeTo::days_are_24_hours())
            .ok()
    });
    match parsed {
        Some(d) if d.is_positive() => Ok(d),
        _ => Err(InvalidInput(format!(
            "error: {flag} {text:?}: expected a duration such as \"90m\", \"2h\" or \"1d\""
        ))),
    }
}

/// The API token: `environment.api_token` (its `${VARIABLE}` read now), else
/// `PACER_API_TOKEN`; `None` when neither is set.
pub(crate) fn api_token(config: &pacer_config::Config) -> anyhow::Result<Option<String>> {
    match &config.api_token {
        Some(expr) => Ok(Some(
            pacer_connect::resolve(expr).map_err(|e| InvalidInput(format!("error: {e}")))?,
        )),
        None => Ok(std::env::var("PACER_API_TOKEN")
            .ok()
            .filter(|t| !t.is_empty())
            .inspect(|token| pacer_connect::register_secret(token))),
    }
}

/// Serves Pacer's HTTP surface for `engine` on `listen` in the background;
/// returns the task and the address it listens on.
pub(crate) async fn serve(
    engine: &Engine,
    listen: &str,
    token: Option<String>,
) -> anyhow::Result<(tokio::task::JoinHandle<()>, std::net::SocketAddr)> {
    // Refused before binding when the address says so already.
    if let Ok(planned) = listen.parse::<std::net::SocketAddr>()
        && !planned.ip().is_loopback()
    {
        unguarded_webhooks(engine, planned)?;
    }
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .with_context(|| format!("cannot listen on {listen} (choose another with --listen)"))?;
    let addr = listener.local_addr()?;
    unguarded_webhooks(engine, addr)?;
    let has_token = token.is_some();
    let access = pacer_server::Access::new(token, addr);
    tracing::info!(%addr, "dashboard at http://{addr}/, API at http://{addr}/api/v1, metrics at http://{addr}/metrics");
    if !has_token {
        if access.reads_need_token() {
            tracing::warn!(%addr, "listening beyond loopback without an API token: every API read and action is refused until PACER_API_TOKEN is set");
        } else {
            tracing::info!(
                "no API token set: reads are open on loopback, actions are refused (set PACER_API_TOKEN to allow them)"
            );
        }
    }
    let router = pacer_server::router(engine.clone(), access);
    let server = tokio::spawn(async move {
        if let Err(e) = pacer_server::serve(listener, router).await {
            tracing::error!(error = %e, "the HTTP server stopped");
        }
    });
    Ok((server, addr))
}

/// Webhooks without a secret: refused beyond loopback (anyone who reaches
/// the port could queue records), a warning on it.
fn unguarded_webhooks(engine: &Engine, addr: std::net::SocketAddr) -> Result<(), InvalidInput> {
    let unguarded = engine.unguarded_webhooks();
    if unguarded.is_empty() {
        return Ok(());
    }
    let keys: Vec<String> = unguarded
        .iter()
        .map(|name| format!("integrations.{name}.webhook.secret"))
        .collect();
    if !addr.ip().is_loopback() {
        return Err(InvalidInput(format!(
            "error: {} not set, and --listen {addr} is beyond loopback: anyone who can reach \
             it could queue records; set a secret (\"${{VARIABLE}}\") or listen on 127.0.0.1",
            keys.join(", ")
        )));
    }
    tracing::warn!(
        webhooks = %unguarded.join(", "),
        "webhooks without a secret are taken on loopback only; set {} before listening beyond it",
        keys.join(", ")
    );
    Ok(())
}

/// How long running executions get to finish after Ctrl-C or SIGTERM.
const SHUTDOWN_GRACE: std::time::Duration = std::time::Duration::from_secs(30);

/// Runs the engine until `until` or Ctrl-C / SIGTERM, after which running
/// executions end at their next page or batch — within [`SHUTDOWN_GRACE`];
/// past it Pacer exits anyway and their leases return the work to the queue.
pub(crate) async fn run_until_signal(
    engine: &Engine,
    until: Option<Timestamp>,
) -> anyhow::Result<()> {
    let (stopped, on_stop) = tokio::sync::oneshot::channel::<()>();
    let stopper = engine.clone();
    let signals = tokio::spawn(async move {
        shutdown_signal().await;
        tracing::info!("stopping: no new executions; running ones finish their page or batch");
        stopper.stop();
        let _ = stopped.send(());
    });
    let grace = async {
        match on_stop.await {
            Ok(()) => tokio::time::sleep(SHUTDOWN_GRACE).await,
            Err(_) => std::future::pending().await,
        }
    };
    let result = tokio::select! {
        result = engine.run(until) => result.context("the engine stopped"),
        () = grace => {
            tracing::warn!(
                grace_s = SHUTDOWN_GRACE.as_secs(),
                "executions still running at the end of the grace period; their leases return their work to the queue"
            );
            Ok(())
        }
    };
    signals.abort();
    result
}

async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}
