//! `pacer simulate FILE [--days N] [--volume-factor X] [--start DATE] [--transport in-process|loopback] [--format text|json]`

use std::{io::Write, process::ExitCode};

use anyhow::Context;

use crate::{
    args::{Format, SimulateArgs, SimulateTransport},
    input::{self, InvalidInput},
    observed,
    run::redact,
    runtime,
};

pub(crate) fn run(args: &SimulateArgs, out: &mut impl Write) -> anyhow::Result<ExitCode> {
    let config = input::config(&args.file)?;
    // The file's plan, always: with --observed the question is whether it
    // holds on the day that was observed.
    let plan =
        pacer_plan::plan(&config.environment).map_err(|e| InvalidInput(format!("error: {e}")))?;
    let options = options(args, &config)?;
    let (config, preface) = if args.observed.observed {
        let observed = observed::read(&config, &args.file, &args.observed)?;
        (
            observed::as_observed(&config, &observed.observation),
            observed::simulating(&observed),
        )
    } else {
        (config, String::new())
    };
    let report = simulate(&config, &plan, &options, args.record.as_deref())?;
    match args.format {
        Format::Text => {
            out.write_all(preface.as_bytes())?;
            out.write_all(report.to_text().as_bytes())?;
        }
        Format::Json => writeln!(out, "{}", serde_json::to_string_pretty(&report)?)?,
    }
    if let Some(svg) = &args.svg {
        std::fs::write(svg, report.to_svg())
            .with_context(|| format!("cannot write {}", svg.display()))?;
    }
    Ok(verdict(&report))
}

fn options(
    args: &SimulateArgs,
    config: &pacer_config::Config,
) -> Result<pacer_sim::Options, InvalidInput> {
    if args.days == 0 || args.days > 366 {
        return Err(InvalidInput(format!(
            "error: --days {}: expected 1 to 366",
            args.days
        )));
    }
    if !(args.volume_factor.is_finite() && args.volume_factor > 0.0) {
        return Err(InvalidInput(format!(
            "error: --volume-factor {}: expected a number above 0, such as 3 for three times the volume",
            args.volume_factor
        )));
    }
    let start = match &args.start {
        None => pacer_sim::DEFAULT_START,
        Some(text) => text.parse().map_err(|_| {
            InvalidInput(format!(
                "error: --start {text:?}: expected a date such as 2026-11-27"
            ))
        })?,
    };
    let written = &args.request_time;
    let request_time = match pacer_config::parse_duration(written) {
        Ok(d) if d <= jiff::SignedDuration::from_mins(10) => Some(d),
        // "0s": requests take no schedule time.
        Err(pacer_config::DurationError::NotPositive) if !written.trim().starts_with('-') => {
            Some(jiff::SignedDuration::ZERO)
        }
        _ => None,
    };
    let request_time = request_time.ok_or_else(|| {
        InvalidInput(format!(
            "error: --request-time {:?}: expected a duration from 0s to 10m, such as \"200ms\"",
            args.request_time
        ))
    })?;
    let mock_rates = args
        .mock_rates
        .iter()
        .map(|text| {
            let invalid = |why: &str| {
                InvalidInput(format!(
                    "error: --mock-rate {text:?}: {why}, such as \"webshop=300/min\""
                ))
            };
            let (system, rate) = text
                .split_once('=')
                .ok_or_else(|| invalid("expected SYSTEM=RATE"))?;
            if config.system(system.trim()).is_none() {
                return Err(invalid(&format!(
                    "the file has no system {:?}",
                    system.trim()
                )));
            }
            let rate = pacer_config::parse_rate(rate.trim())
                .map_err(|expected| invalid(&format!("the rate is not {expected}")))?;
            Ok((system.trim().to_string(), rate))
        })
        .collect::<Result<_, _>>()?;
    Ok(pacer_sim::Options {
        mock_rates,
        days: args.days,
        volume_factor: args.volume_factor,
        start,
        request_time,
        progress: progress_bar(),
        transport: match args.transport {
            SimulateTransport::InProcess => pacer_sim::Transport::InProcess,
            SimulateTransport::Loopback => pacer_sim::Transport::Loopback,
        },
        store: None,
    })
}

/// A progress bar on stderr for a simulation that takes longer than a
/// second, on a terminal only: nothing for pipes, files and CI logs.
fn progress_bar() -> Option<pacer_sim::Progress> {
    if !std::io::IsTerminal::is_terminal(&std::io::stderr()) {
        return None;
    }
    let started = std::time::Instant::now();
    let bar: std::sync::Mutex<Option<indicatif::ProgressBar>> = std::sync::Mutex::new(None);
    Some(pacer_sim::Progress(std::sync::Arc::new(
        move |done: f64| {
            let mut bar = bar
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            if bar.is_none() && started.elapsed() < std::time::Duration::from_secs(1) {
                return;
            }
            let bar = bar.get_or_insert_with(|| {
                let bar = indicatif::ProgressBar::new(1_000);
                if let Ok(style) = indicatif::ProgressStyle::with_template(
                    "simulating {bar:40} {percent:>3}% ({elapsed}, about {eta} left)",
                ) {
                    bar.set_style(style);
                }
                bar
            });
            bar.set_position((done * 1_000.0) as u64);
            if done >= 1.0 {
                bar.finish_and_clear();
            }
        },
    )))
}

/// Runs the simulation on its own runtime, into the store at `record` when
/// given (opened on that runtime, whose reactor its connections use).
///
/// The runtime has one thread, and jq runs on it: the virtual clock runs
/// one task at a time, so other threads would only add switches between
/// them (acme's day took 16% less time and 26% less CPU without them).
pub(crate) fn simulate(
    config: &pacer_config::Config,
    plan: &pacer_plan::Plan,
    options: &pacer_sim::Options,
    record: Option<&str>,
) -> anyhow::Result<pacer_sim::Report> {
    pacer_connect::jq_inline(|| {
        runtime::block_on_one_thread(simulate_here(config, plan, options, record))
    })
    .context("cannot start the simulation's thread")?
}

async fn simulate_here(
    config: &pacer_config::Config,
    plan: &pacer_plan::Plan,
    options: &pacer_sim::Options,
    record: Option<&str>,
) -> anyhow::Result<pacer_sim::Report> {
    let mut options = options.clone();
    if let Some(url) = record {
        let store = pacer_store::StoreBuilder::new(url)
            .open()
            .await
            .with_context(|| format!("cannot open the store {}", redact(url)))?;
        options.store = Some(std::sync::Arc::new(store));
    }
    pacer_sim::simulate(config, plan, &options)
        .await
        .map_err(|e| match e {
            pacer_sim::Error::Engine(pacer_engine::Error::Connect(e)) => {
                InvalidInput(format!("error: {e}")).into()
            }
            pacer_sim::Error::TooLarge(why) => InvalidInput(format!("error: {why}")).into(),
            other => anyhow::Error::from(other).context("the simulation failed"),
        })
}

/// 0 when the plan held, 1 when it did not.
pub(crate) fn verdict(report: &pacer_sim::Report) -> ExitCode {
    if report.holds {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}
