//! `pacer run FILE [--speed N] [--for DURATION] [--log-format text|json]`

use std::{path::Path, process::ExitCode, sync::Arc};

use anyhow::Context;
use pacer_engine::{Clock, Engine, RealClock, ScaledClock, Settings};
use pacer_store::{Minute, StoreBuilder};

use crate::{
    args::RunArgs,
    input::{self, InvalidInput},
    runtime,
};

pub(crate) fn run(args: &RunArgs) -> anyhow::Result<ExitCode> {
    let config = input::config(&args.file)?;
    let (plan, _) = crate::plan::plan(&config, None)?;
    let duration = args
        .duration
        .as_deref()
        .map(|d| runtime::duration(d, "--for"))
        .transpose()?;
    if let Some(speed) = args.speed
        && !(speed.is_finite() && speed > 0.0)
    {
        return Err(
            InvalidInput(format!("error: --speed {speed}: expected a number above 0")).into(),
        );
    }
    let token = runtime::api_token(&config)?;
    runtime::init_logs(args.log_format)?;
    let url = store_url(&config, &args.file, args.speed.is_some());
    if let Some(password) = store_password(&url) {
        pacer_connect::register_secret(password);
    }
    runtime::block_on(async {
        let store = StoreBuilder::new(&url)
            .open()
            .await
            .with_context(|| format!("cannot open the store {}", redact(&url)))?;
        let now = jiff::Timestamp::now();
        let latest = store.latest_minute().await?.map(Minute::start);
        // A sped-up run records minutes ahead of real time; a run in real
        // time, never past now.
        let clock: Arc<dyn Clock> = match (args.speed, latest) {
            // Another sped-up run continues where the last one stopped: from
            // now it would find every minute up to there done, and wait. It
            // starts a little before the latest minute and runs it again: a
            // run killed part-way through starting that minute's jobs left
            // the rest unrecorded, and those start now (the others are
            // recorded, and do not start twice).
            (Some(speed), Some(latest)) if latest > now => Arc::new(ScaledClock::new(
                latest - jiff::SignedDuration::from_secs(59),
                speed,
            )),
            (Some(_), Some(latest)) if config.store.is_some() => {
                return Err(InvalidInput(format!(
                    "error: the store {} holds executions up to {latest}, recorded in real \
                     time: a sped-up run would record minutes ahead of them and hold the \
                     real-time runs back; leave environment.store out for --speed (it then \
                     uses a SQLite file of its own beside the config), or give it a store \
                     of its own",
                    redact(&url)
                ))
                .into());
            }
            (Some(speed), _) => Arc::new(ScaledClock::new(now, speed)),
            // A minute of leeway for clocks that differ between nodes.
            (None, Some(latest)) if latest > now + jiff::SignedDuration::from_mins(1) => {
                return Err(InvalidInput(format!(
                    "error: the store {} holds executions up to {latest}, ahead of now: a \
                     sped-up run (--speed) used it, and a run in real time would start nothing \
                     until then; run with --speed again (it goes on from there), or give \
                     environment.store a store of its own for real time",
                    redact(&url)
                ))
                .into());
            }
            (None, _) => Arc::new(RealClock),
        };
        let started = clock.now();
        let until = duration.map(|d| started + d);
        let node = Node {
            store: Arc::new(store),
            clock: clock.clone(),
            settings: Settings::default(),
        };
        let engine = node
            .engine(&config, &plan)
            .map_err(|e| InvalidInput(format!("error: {e}")))?;
        tracing::info!(
            environment = %config.environment.name,
            store = %redact(&url),
            jobs = engine.jobs().len(),
            capacity = config.environment.capacity,
            "running"
        );
        let served = runtime::serve(&engine, &args.listen, token, true).await?;
        let reloads = served.reloads.expect("a reloadable server");
        let file = args.file.clone();
        let (addr, running_store) = (served.addr, config.store.clone());
        let rebuild: runtime::Rebuild = Box::new(move || {
            let config = input::config(&file)
                .map_err(|e| e.0.strip_prefix("error: ").unwrap_or(&e.0).to_string())?;
            // Where state lives and who may act are fixed for a run.
            if config.store != running_store {
                return Err(format!(
                    "{}: environment.store changed; a running Pacer keeps its store: restart it to move",
                    file.display()
                ));
            }
            let (plan, _) = crate::plan::plan(&config, None).map_err(|e| format!("{e:#}"))?;
            let engine = node.engine(&config, &plan).map_err(|e| e.to_string())?;
            runtime::unguarded_webhooks(&engine, addr).map_err(|e| e.0)?;
            let what = format!(
                "{} jobs of {} within capacity {}",
                engine.jobs().len(),
                config.environment.name,
                config.environment.capacity
            );
            Ok((engine, what))
        });
        let engine = runtime::run_until_signal(&engine, until, Some((reloads, rebuild))).await?;
        served.task.abort();
        // The run ends with the last minute before --for's end: it ran all of it.
        let now = clock.now();
        let ran = match (duration, until) {
            (Some(d), Some(until)) if now + jiff::SignedDuration::from_mins(1) >= until => d,
            _ => now
                .duration_since(started)
                .round(jiff::Unit::Second)
                .unwrap_or_default(),
        };
        let line = runtime::stopped_line(&engine, ran);
        match args.log_format {
            // A log shipper reads every line of stderr as JSON.
            crate::args::Format::Json => tracing::info!("{line}"),
            crate::args::Format::Text => eprintln!("{line}"),
        }
        Ok(ExitCode::SUCCESS)
    })
}

/// What each engine of one run shares, the first and those a reload
/// builds: its store, its clock and this node's settings.
struct Node {
    store: Arc<pacer_store::Store>,
    clock: Arc<dyn Clock>,
    settings: Settings,
}

impl Node {
    fn engine(
        &self,
        config: &pacer_config::Config,
        plan: &pacer_plan::Plan,
    ) -> Result<Engine, pacer_engine::Error> {
        Engine::new(
            config,
            plan,
            self.store.clone(),
            self.clock.clone(),
            self.settings.clone(),
        )
    }
}

/// `environment.store`, or a SQLite file named after the config, beside it:
/// `acme.db`, or `acme.speed.db` for a sped-up run, whose minutes run ahead
/// of real time and would hold a real-time run back.
pub(crate) fn store_url(config: &pacer_config::Config, file: &Path, sped_up: bool) -> String {
    config.store.clone().unwrap_or_else(|| {
        let stem = file
            .file_stem()
            .map_or("pacer".into(), |s| s.to_string_lossy());
        let dir = file
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        let name = if sped_up {
            format!("{stem}.speed.db")
        } else {
            format!("{stem}.db")
        };
        format!("sqlite://{}", dir.join(name).display())
    })
}

/// The password in a store URL (`postgres://user:pw@host/db`), if any.
fn store_password(url: &str) -> Option<&str> {
    let (scheme, at) = (url.find("://")?, url.rfind('@')?);
    (at > scheme)
        .then(|| url[scheme + 3..at].split_once(':').map(|(_, pw)| pw))
        .flatten()
        .filter(|pw| !pw.is_empty())
}

/// A store URL without its password, for logs and errors.
pub(crate) fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let credentials = &url[scheme + 3..at];
            match credentials.split_once(':') {
                Some((user, _)) => format!("{}{user}:***{}", &url[..scheme + 3], &url[at..]),
                None => url.to_string(),
            }
        }
        _ => url.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_never_reach_a_log() {
        assert_eq!(
            redact("postgres://pacer:s3cret@db:5432/pacer"),
            "postgres://pacer:***@db:5432/pacer"
        );
        assert_eq!(
            redact("postgres://postgres@127.0.0.1/test"),
            "postgres://postgres@127.0.0.1/test"
        );
        assert_eq!(redact("sqlite://acme.db"), "sqlite://acme.db");
        assert_eq!(
            store_password("postgres://pacer:s3cret@db/p"),
            Some("s3cret")
        );
        assert_eq!(store_password("postgres://postgres@127.0.0.1/test"), None);
    }
}
