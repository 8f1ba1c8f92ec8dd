//! `pacer mock [SYSTEM] [--config FILE] [--listen ADDR] [--speed N] [--volume V] [--rate R]`

use std::{process::ExitCode, sync::Arc};

use anyhow::Context;
use pacer_engine::{Clock, RealClock, ScaledClock};
use pacer_mock::{Feed, MockSystem};

use crate::{
    args::MockArgs,
    input::{self, InvalidInput},
    runtime,
};

/// One of the guide's systems: where it listens, how fast it serves, and
/// what it produces (entity, changes a day).
struct Guide {
    listen: &'static str,
    rate: u32,
    feeds: &'static [(&'static str, f64)],
}

fn guide(system: &str) -> Option<Guide> {
    match system {
        "erp" => Some(Guide {
            listen: "127.0.0.1:9101",
            rate: 100,
            feeds: &[
                ("new_products", 15.0),
                ("updated_products", 200.0),
                ("prices", 35_000.0),
                ("stock", 21_000.0),
            ],
        }),
        "webshop" => Some(Guide {
            listen: "127.0.0.1:9102",
            rate: 500,
            feeds: &[("orders", 180.0)],
        }),
        _ => None,
    }
}

pub(crate) fn run(args: &MockArgs) -> anyhow::Result<ExitCode> {
    if let Some(speed) = args.speed
        && !(speed.is_finite() && speed > 0.0)
    {
        return Err(
            InvalidInput(format!("error: --speed {speed}: expected a number above 0")).into(),
        );
    }
    let now = jiff::Timestamp::now();
    let clock: Arc<dyn Clock> = match args.speed {
        Some(speed) => Arc::new(ScaledClock::new(now, speed)),
        None => Arc::new(RealClock),
    };
    let mocks = match &args.config {
        Some(file) => from_config(args, file, now, &clock)?,
        None => vec![the_guides(args, now, &clock)?],
    };
    runtime::block_on(async move {
        let mut running = Vec::new();
        for (mock, listen) in mocks {
            let name = mock.name.clone();
            let produces: Vec<String> = mock
                .feeds
                .iter()
                .map(|f| format!("{} {}/day", f.entity, f.volume_per_day))
                .collect();
            let rate = mock.rate_per_minute.unwrap_or_default();
            let listener = tokio::net::TcpListener::bind(&listen).await.map_err(|e| {
                InvalidInput(format!(
                    "error: cannot listen on {listen} for the mock {name}: {e}\nhint: another \
                     program (another pacer mock?) may hold the port; give another with --listen"
                ))
            })?;
            let served = pacer_mock::serve(mock, listener)?;
            eprintln!(
                "mock {name} on {} (rate {rate}/min; produces {}); stats at {}/_stats",
                served.base_url(),
                if produces.is_empty() {
                    "nothing, accepts deliveries".to_string()
                } else {
                    produces.join(", ")
                },
                served.base_url()
            );
            running.push(served);
        }
        eprintln!(
            "{}; Ctrl-C stops",
            match args.speed {
                Some(speed) => format!("time runs {speed}x real time"),
                None => "time runs in real time".to_string(),
            }
        );
        tokio::signal::ctrl_c()
            .await
            .context("waiting for Ctrl-C")?;
        drop(running);
        Ok(ExitCode::SUCCESS)
    })
}

/// `pacer mock erp|webshop`: the guide's system, its volumes and rate
/// unless `--volume` and `--rate` say otherwise.
fn the_guides(
    args: &MockArgs,
    now: jiff::Timestamp,
    clock: &Arc<dyn Clock>,
) -> Result<(MockSystem, String), InvalidInput> {
    let name = args.system.as_deref().unwrap_or_default();
    let Some(Guide {
        listen,
        rate,
        feeds,
    }) = guide(name)
    else {
        return Err(InvalidInput(format!(
            "error: no mock named {name:?}: expected erp or webshop, or --config FILE for the \
             systems of a configuration file"
        )));
    };
    let rate = match &args.rate {
        Some(text) => pacer_config::parse_rate(text)
            .map(|r| (r.items_per_minute().floor() as u32).max(1))
            .map_err(|expected| {
                InvalidInput(format!("error: --rate {text:?}: expected {expected}"))
            })?,
        None => rate,
    };
    let volume = match &args.volume {
        Some(text) => Some(pacer_config::parse_volume(text).map_err(|expected| {
            InvalidInput(format!("error: --volume {text:?}: expected {expected}"))
        })?),
        None => None,
    };
    let clock = clock.clone();
    let system = MockSystem {
        name: name.into(),
        rate_per_minute: Some(rate),
        feeds: feeds
            .iter()
            .map(|&(entity, default)| Feed::even(entity, volume.unwrap_or(default)))
            .collect(),
        start: now,
        now: Arc::new(move || clock.now()),
    };
    Ok((system, args.listen.as_deref().unwrap_or(listen).to_string()))
}

/// `pacer mock --config FILE [SYSTEM]`: each system of the file (or the one
/// named), on its base_url's port (or `--listen`).
fn from_config(
    args: &MockArgs,
    file: &std::path::Path,
    now: jiff::Timestamp,
    clock: &Arc<dyn Clock>,
) -> Result<Vec<(MockSystem, String)>, InvalidInput> {
    let config = input::config(file)?;
    let systems: Vec<&str> = match &args.system {
        Some(name) if config.system(name).is_none() => {
            let names: Vec<&str> = config
                .environment
                .systems
                .iter()
                .map(|s| s.name.as_str())
                .collect();
            return Err(InvalidInput(format!(
                "error: {} has no system named {name:?}; it has {}",
                file.display(),
                names.join(", ")
            )));
        }
        Some(name) => vec![name.as_str()],
        None => config
            .environment
            .systems
            .iter()
            .map(|s| s.name.as_str())
            .collect(),
    };
    if args.listen.is_some() && systems.len() > 1 {
        return Err(InvalidInput(
            "error: --listen gives one address: name the SYSTEM to stand in for, or leave \
             --listen out to use each system's base_url"
                .into(),
        ));
    }
    let mut mocks = Vec::new();
    for system in systems {
        let listen = match &args.listen {
            Some(listen) => listen.clone(),
            None => loopback_address(&config, system, file)?,
        };
        let mock = pacer_sim::mock_system(&config, system, now, clock.clone(), 1.0);
        mocks.push((mock, listen));
    }
    Ok(mocks)
}

/// The loopback `host:port` of `system`'s base_url, where `pacer run` of the
/// same file will call it.
fn loopback_address(
    config: &pacer_config::Config,
    system: &str,
    file: &std::path::Path,
) -> Result<String, InvalidInput> {
    let base_url = config
        .connection(system)
        .and_then(|c| c.base_url.clone())
        .unwrap_or_default();
    let authority = base_url
        .split_once("://")
        .map(|(_, rest)| rest.split('/').next().unwrap_or(rest))
        .unwrap_or_default();
    let authority = authority.rsplit('@').next().unwrap_or(authority);
    let (host, port) = authority.rsplit_once(':').unwrap_or((authority, "80"));
    if matches!(host, "127.0.0.1" | "localhost" | "[::1]") {
        return Ok(format!("{host}:{port}"));
    }
    Err(InvalidInput(format!(
        "error: {}: systems.{system}.base_url is {:?}, not on this machine: a mock listens on \
         loopback; point base_url at http://127.0.0.1:PORT, or name the system and give --listen",
        file.display(),
        base_url
    )))
}
