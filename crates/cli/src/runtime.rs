//! What the long-running commands share: an async runtime, logs, signals
//! and durations.

use std::future::Future;

use anyhow::Context;
use jiff::{SignedDuration, Timestamp};
use pacer_engine::Engine;

use crate::{args::Format, input::InvalidInput};

pub(crate) fn block_on<T>(work: impl Future<Output = anyhow::Result<T>>) -> anyhow::Result<T> {
    run(tokio::runtime::Builder::new_multi_thread(), work)
}

/// For work that runs one task at a time anyway (a simulation on its
/// virtual clock): more threads would only add switches between them.
pub(crate) fn block_on_one_thread<T>(
    work: impl Future<Output = anyhow::Result<T>>,
) -> anyhow::Result<T> {
    run(tokio::runtime::Builder::new_current_thread(), work)
}

fn run<T>(
    mut runtime: tokio::runtime::Builder,
    work: impl Future<Output = anyhow::Result<T>>,
) -> anyhow::Result<T> {
    runtime
        .enable_all()
        .build()
        .context("cannot start the async runtime")?
        .block_on(work)
}

/// Log lines on stderr; `RUST_LOG` narrows or widens them (default `info`).
/// Colours only on a terminal, and never under `NO_COLOR`.
///
/// # Errors
///
/// A `RUST_LOG` that does not parse: silently logging at another level
/// than asked would hide what was asked for.
pub(crate) fn init_logs(format: Format) -> Result<(), InvalidInput> {
    let filter = match std::env::var("RUST_LOG") {
        Ok(text) if !text.trim().is_empty() => tracing_subscriber::EnvFilter::try_new(&text)
            .map_err(|e| {
                InvalidInput(format!(
                    "error: RUST_LOG={text:?}: {e}; write levels such as RUST_LOG=info or \
                     RUST_LOG=warn,pacer_engine=debug"
                ))
            })?,
        _ => tracing_subscriber::EnvFilter::new("info"),
    };
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(|| Redacted(Vec::new()))
        .with_ansi(colour(
            std::io::IsTerminal::is_terminal(&std::io::stderr()),
            std::env::var_os("NO_COLOR").as_deref(),
        ))
        .with_target(false);
    // A second call (tests run commands in one process) keeps the first.
    let _ = match format {
        Format::Text => builder.compact().try_init(),
        Format::Json => builder.json().try_init(),
    };
    Ok(())
}

/// Whether log lines are coloured: on a terminal, unless `NO_COLOR` is set
/// to anything (no-color.org).
fn colour(terminal: bool, no_color: Option<&std::ffi::OsStr>) -> bool {
    terminal && no_color.is_none_or(std::ffi::OsStr::is_empty)
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

/// "2h", "90m", "1m30s", "45 minutes", "1d" as schedule time: the same
/// reader as the config file's durations.
pub(crate) fn duration(text: &str, flag: &str) -> Result<SignedDuration, InvalidInput> {
    pacer_config::parse_duration(text).map_err(|_| {
        InvalidInput(format!(
            "error: {flag} {text:?}: expected a duration such as \"90m\", \"1h30m\", \"45 minutes\" or \"1d\""
        ))
    })
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
    reloadable: bool,
) -> anyhow::Result<Served> {
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
    let (router, reloads) = if reloadable {
        let (router, reloads) = pacer_server::reloadable_router(engine.clone(), access);
        (router, Some(reloads))
    } else {
        (pacer_server::router(engine.clone(), access), None)
    };
    let task = tokio::spawn(async move {
        if let Err(e) = pacer_server::serve(listener, router).await {
            tracing::error!(error = %e, "the HTTP server stopped");
        }
    });
    Ok(Served {
        task,
        addr,
        reloads,
    })
}

/// A server answering in the background.
pub(crate) struct Served {
    pub(crate) task: tokio::task::JoinHandle<()>,
    pub(crate) addr: std::net::SocketAddr,
    /// Reload requests from its API, and the swap of its engine.
    pub(crate) reloads: Option<pacer_server::Reloads>,
}

/// Webhooks without a secret: refused beyond loopback (anyone who reaches
/// the port could queue records), a warning on it.
pub(crate) fn unguarded_webhooks(
    engine: &Engine,
    addr: std::net::SocketAddr,
) -> Result<(), InvalidInput> {
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

/// One line on what this node did, for the end of a run: executions by
/// outcome, and records pulled, delivered and dead (README's words).
pub(crate) fn stopped_line(engine: &Engine, ran: SignedDuration) -> String {
    let stats = engine.stats();
    let mut outcomes: std::collections::BTreeMap<&str, u64> = std::collections::BTreeMap::new();
    for by_outcome in stats.executions.values() {
        for (outcome, n) in by_outcome {
            *outcomes.entry(outcome.as_str()).or_default() += n;
        }
    }
    let executions: u64 = outcomes.values().sum();
    let outcomes: Vec<String> = outcomes.iter().map(|(o, n)| format!("{n} {o}")).collect();
    let moved = stats.moved.values();
    let (pulled, delivered, dead) = moved.fold((0, 0, 0), |(p, d, x), m| {
        (p + m.pulled(), d + m.delivered, x + m.dead + m.rejected)
    });
    let plural = |n: u64, one: &str| {
        if n == 1 {
            format!("1 {one}")
        } else {
            format!("{n} {one}s")
        }
    };
    format!(
        "stopped after {ran:#} of schedule time: {}{}; {} pulled, {} delivered, {} dead",
        plural(executions, "execution"),
        if outcomes.is_empty() {
            String::new()
        } else {
            format!(" ({})", outcomes.join(", "))
        },
        plural(pulled, "record"),
        delivered,
        dead
    )
}

/// Builds the engine for the config file as it reads now, or says why not.
pub(crate) type Rebuild = Box<dyn Fn() -> Result<(Engine, String), String> + Send + Sync>;

/// Runs the engine until `until` or Ctrl-C / SIGTERM, after which running
/// executions end at their next page or batch — within [`SHUTDOWN_GRACE`];
/// past it Pacer exits anyway and their leases return the work to the queue.
///
/// With `reload`, SIGHUP and `POST /api/v1/reload` rebuild the engine from
/// the file: when it is valid, the running engine stops as for a shutdown
/// (queued tasks stay in the store) and the new one runs on the same store
/// and clock; when it is not, the running one goes on and the reason is
/// logged and answered.
///
/// Returns the engine that ran last (a reload swaps it).
pub(crate) async fn run_until_signal(
    engine: &Engine,
    until: Option<Timestamp>,
    mut reload: Option<(pacer_server::Reloads, Rebuild)>,
) -> anyhow::Result<Engine> {
    let (mut signals, mut hangup) = Signals::new()?;
    let mut engine = engine.clone();
    let mut running = spawn_run(&engine, until);
    loop {
        let request = tokio::select! {
            outcome = &mut running => {
                outcome.context("the engine panicked")?.context("the engine stopped")?;
                return Ok(engine);
            }
            () = signals.stop() => {
                tracing::info!("stopping: no new executions; running ones finish their page or batch");
                engine.stop();
                finish(running).await?;
                return Ok(engine);
            }
            () = hangup.wait() => None,
            Some(request) = next_reload(&mut reload) => Some(request),
        };
        let Some((reloads, rebuild)) = &reload else {
            tracing::warn!("SIGHUP: this command does not reload its file");
            continue;
        };
        match rebuild() {
            Err(why) => {
                tracing::error!(error = %why, "reload refused; the running config stays");
                if let Some(request) = request {
                    request.answer(Err(why));
                }
            }
            Ok((next, what)) => {
                tracing::info!(
                    "reloading: running executions finish their page or batch, then {what}"
                );
                engine.stop();
                finish(running).await?;
                reloads.swap(next.clone());
                engine = next;
                running = spawn_run(&engine, until);
                tracing::info!("reloaded: {what}");
                if let Some(request) = request {
                    request.answer(Ok(what));
                }
            }
        }
    }
}

fn spawn_run(
    engine: &Engine,
    until: Option<Timestamp>,
) -> tokio::task::JoinHandle<Result<(), pacer_engine::Error>> {
    let engine = engine.clone();
    tokio::spawn(async move { engine.run(until).await })
}

/// Waits for a stopped engine's run to end, at most [`SHUTDOWN_GRACE`].
async fn finish(
    running: tokio::task::JoinHandle<Result<(), pacer_engine::Error>>,
) -> anyhow::Result<()> {
    match tokio::time::timeout(SHUTDOWN_GRACE, running).await {
        Ok(outcome) => outcome
            .context("the engine panicked")?
            .context("the engine stopped"),
        Err(_) => {
            tracing::warn!(
                grace_s = SHUTDOWN_GRACE.as_secs(),
                "executions still running at the end of the grace period; their leases return their work to the queue"
            );
            Ok(())
        }
    }
}

async fn next_reload(
    reload: &mut Option<(pacer_server::Reloads, Rebuild)>,
) -> Option<pacer_server::Reload> {
    match reload {
        Some((reloads, _)) => reloads.next().await,
        None => std::future::pending().await,
    }
}

/// The signals a running Pacer heeds, registered once so none is missed
/// between two waits: Ctrl-C and SIGTERM stop it.
struct Signals {
    #[cfg(unix)]
    terminate: tokio::signal::unix::Signal,
    #[cfg(unix)]
    interrupt: tokio::signal::unix::Signal,
}

impl Signals {
    fn new() -> anyhow::Result<(Signals, Hangup)> {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{SignalKind, signal};
            let listen =
                |kind, name| signal(kind).with_context(|| format!("cannot listen for {name}"));
            Ok((
                Signals {
                    terminate: listen(SignalKind::terminate(), "SIGTERM")?,
                    interrupt: listen(SignalKind::interrupt(), "SIGINT")?,
                },
                Hangup(listen(SignalKind::hangup(), "SIGHUP")?),
            ))
        }
        #[cfg(not(unix))]
        Ok((Signals {}, Hangup))
    }

    /// Ctrl-C or SIGTERM.
    async fn stop(&mut self) {
        #[cfg(unix)]
        tokio::select! {
            _ = self.terminate.recv() => {}
            _ = self.interrupt.recv() => {}
        }
        #[cfg(not(unix))]
        let _ = tokio::signal::ctrl_c().await;
    }
}

/// SIGHUP: reload the file.
#[cfg(unix)]
struct Hangup(tokio::signal::unix::Signal);
#[cfg(not(unix))]
struct Hangup;

impl Hangup {
    async fn wait(&mut self) {
        #[cfg(unix)]
        self.0.recv().await;
        #[cfg(not(unix))]
        std::future::pending::<()>().await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn colours_only_on_a_terminal_without_no_color() {
        assert!(colour(true, None));
        assert!(!colour(false, None), "a pipe or a file");
        assert!(!colour(true, Some(std::ffi::OsStr::new("1"))));
        assert!(
            colour(true, Some(std::ffi::OsStr::new(""))),
            "set but empty: no-color.org says colour"
        );
    }
}
