//! `pacer simulate FILE [--days N] [--volume-factor X] [--start DATE] [--transport in-process|loopback] [--format text|json]`

use std::{io::Write, process::ExitCode};

use anyhow::Context;

use crate::{
    args::{Format, SimulateArgs, SimulateTransport},
    input::{self, InvalidInput},
    runtime,
};

pub(crate) fn run(args: &SimulateArgs, out: &mut impl Write) -> anyhow::Result<ExitCode> {
    let config = input::config(&args.file)?;
    let plan =
        pacer_plan::plan(&config.environment).map_err(|e| InvalidInput(format!("error: {e}")))?;
    let options = options(args)?;
    let report = simulate(&config, &plan, &options)?;
    match args.format {
        Format::Text => out.write_all(report.to_text().as_bytes())?,
        Format::Json => writeln!(out, "{}", serde_json::to_string_pretty(&report)?)?,
    }
    if let Some(svg) = &args.svg {
        std::fs::write(svg, report.to_svg())
            .with_context(|| format!("cannot write {}", svg.display()))?;
    }
    Ok(verdict(&report))
}

fn options(args: &SimulateArgs) -> Result<pacer_sim::Options, InvalidInput> {
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
    Ok(pacer_sim::Options {
        days: args.days,
        volume_factor: args.volume_factor,
        start,
        request_time,
        progress: progress_bar(),
        transport: match args.transport {
            SimulateTransport::InProcess => pacer_sim::Transport::InProcess,
            SimulateTransport::Loopback => pacer_sim::Transport::Loopback,
        },
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

/// Runs the simulation on its own runtime.
pub(crate) fn simulate(
    config: &pacer_config::Config,
    plan: &pacer_plan::Plan,
    options: &pacer_sim::Options,
) -> anyhow::Result<pacer_sim::Report> {
    runtime::block_on(async {
        pacer_sim::simulate(config, plan, options)
            .await
            .map_err(|e| match e {
                pacer_sim::Error::Engine(pacer_engine::Error::Connect(e)) => {
                    InvalidInput(format!("error: {e}")).into()
                }
                pacer_sim::Error::TooLarge(why) => InvalidInput(format!("error: {why}")).into(),
                other => anyhow::Error::from(other).context("the simulation failed"),
            })
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
