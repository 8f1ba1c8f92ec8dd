//! `pacer plan FILE [--format text|json|markdown] [--svg FILE] [--check] [--verify] [--date DATE]`

use std::{fmt::Write as _, io::Write, process::ExitCode};

use anyhow::Context;
use jiff::civil::Date;
use pacer_cron::Day;
use pacer_plan::{DayLoad, JobPlan, Plan};

use crate::{
    args::{PlanArgs, PlanFormat},
    input::{self, InvalidInput},
    observed,
};

/// The plan of `config`, checked on the zone's next days the clock moves
/// after `from` (today when `None`); those days, for `--verify`.
pub(crate) fn plan(
    config: &pacer_config::Config,
    from: Option<&str>,
) -> Result<(Plan, Vec<Day>), InvalidInput> {
    let mut plan =
        pacer_plan::plan(&config.environment).map_err(|e| InvalidInput(format!("error: {e}")))?;
    let zone = config.time_zone.clone();
    let from = match from {
        Some(text) => text.parse::<Date>().map_err(|_| {
            InvalidInput(format!(
                "error: --date {text:?}: expected a date such as 2026-11-27"
            ))
        })?,
        None => jiff::Timestamp::now().to_zoned(zone.clone()).date(),
    };
    let (spring, autumn) = Day::next_changes(&zone, from);
    let days: Vec<Day> = [spring, autumn].into_iter().flatten().collect();
    plan.check_days(&days, &zone);
    Ok((plan, days))
}

pub(crate) fn run(args: &PlanArgs, out: &mut impl Write) -> anyhow::Result<ExitCode> {
    let config = input::config(&args.file)?;
    if args.observed.observed {
        return run_observed(args, &config, out);
    }
    let (plan, days) = plan(&config, args.date.as_deref())?;
    match args.format {
        PlanFormat::Text => out.write_all(text(&plan, &config.timezone).as_bytes())?,
        PlanFormat::Json => {
            serde_json::to_writer_pretty(&mut *out, &plan)?;
            writeln!(out)?;
        }
        PlanFormat::Markdown => out.write_all(markdown(&plan, &config.timezone).as_bytes())?,
    }
    if let Some(svg) = &args.svg {
        std::fs::write(svg, plan.to_svg())
            .with_context(|| format!("cannot write {}", svg.display()))?;
    }
    if args.verify {
        // The plan's promise, checked by the real engine on a simulated
        // ordinary day, then on each day the clock moves.
        let mut starts = vec![pacer_sim::DEFAULT_START];
        starts.extend(days.iter().map(Day::date));
        let mut held = true;
        for start in starts {
            let options = pacer_sim::Options {
                start,
                ..pacer_sim::Options::default()
            };
            let report = crate::simulate::simulate(&config, &plan, &options, None)?;
            let day = match report.hours.len() {
                24 => format!("a simulated day ({start})"),
                n => format!("a simulated day the clock moves ({start}, {n} hours)"),
            };
            match &report.first_problem {
                None => writeln!(
                    out,
                    "\nVerified: {day} delivered every change within its freshness; \
                     at most {} at once (capacity {}).",
                    counted(u64::from(report.peak_at_once), "execution"),
                    report.capacity
                )?,
                Some(problem) => writeln!(
                    out,
                    "\nNot verified: {day} contradicts the plan — {problem}. \
                     `pacer simulate {} --start {start}` shows the day.",
                    args.file.display()
                )?,
            }
            held &= report.holds;
        }
        if days.is_empty() {
            writeln!(
                out,
                "No day the clock moves in {}: every day has 24 hours.",
                config.timezone
            )?;
        }
        if !held {
            return Ok(ExitCode::from(1));
        }
    }
    Ok(if args.check && !plan.fits {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

/// `pacer plan --observed`: the plan of what the store saw beside the
/// file's, and the patch that would declare it.
fn run_observed(
    args: &PlanArgs,
    config: &pacer_config::Config,
    out: &mut impl Write,
) -> anyhow::Result<ExitCode> {
    if args.verify || args.format == PlanFormat::Markdown {
        return Err(InvalidInput(
            "error: --observed plans with --format text or json, without --verify; \
             `pacer simulate FILE --observed` plays a day of what was observed"
                .into(),
        )
        .into());
    }
    let observed = observed::read(config, &args.file, &args.observed)?;
    let (declared, _) = plan(config, args.date.as_deref())?;
    let (planned, _) = plan(
        &observed::as_observed(config, &observed.observation),
        args.date.as_deref(),
    )?;
    let comparison = observed::Comparison::new(config, &observed, &declared, &planned);
    match args.format {
        PlanFormat::Json => {
            serde_json::to_writer_pretty(&mut *out, &comparison)?;
            writeln!(out)?;
        }
        _ => out.write_all(comparison.to_text().as_bytes())?,
    }
    if let Some(svg) = &args.svg {
        std::fs::write(svg, planned.to_svg())
            .with_context(|| format!("cannot write {}", svg.display()))?;
    }
    Ok(if args.check && !planned.fits {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

const HEADERS: [&str; 9] = [
    "job",
    "executions/day",
    "runs/hour",
    "runs/day",
    "interval",
    "schedule",
    "items/run",
    "duration",
    "headroom",
];

fn row(job: &JobPlan) -> [String; 9] {
    [
        job.job.clone(),
        job.executions_per_day.to_string(),
        format!("{}", job.runs_per_hour),
        job.runs_per_day.to_string(),
        format!("{} min", job.interval_minutes),
        job.schedule.clone(),
        job.items_per_run.to_string(),
        format!("{} min", job.duration_minutes),
        format!("{:+.1}%", job.headroom_percent),
    ]
}

fn summary(plan: &Plan, timezone: &str) -> Vec<String> {
    let load = &plan.load;
    let mut lines = vec![format!(
        "Peak load: {} at once, capacity {} (no offsets can go below {}).",
        counted(u64::from(load.peak), "execution"),
        load.capacity,
        load.lower_bound
    )];
    // The second budget: each system's rate, shared by all its jobs.
    lines.extend(plan.systems.iter().map(|s| {
        format!(
            "System {}: asked for {} a minute on average, at most {} planned in one \
             minute, rate {}/min.",
            s.system,
            if s.demand_per_minute == 1.0 {
                "1 item".to_string()
            } else {
                format!("{} items", s.demand_per_minute)
            },
            s.peak_per_minute,
            s.rate_per_minute
        )
    }));
    lines.extend(plan.days.iter().map(describe_day));
    lines.push(format!(
        "Verdict: {} (schedules read in {timezone}).",
        if plan.fits { "fits" } else { "does not fit" }
    ));
    lines
}

/// `1 execution`, `2 executions`.
pub(crate) fn counted(n: u64, what: &str) -> String {
    if n == 1 {
        format!("1 {what}")
    } else {
        format!("{n} {what}s")
    }
}

/// A day the clock moves, in a line: what it does to the executions.
fn describe_day(day: &DayLoad) -> String {
    let hours = format!(
        "{}h{}",
        day.minutes / 60,
        match day.minutes % 60 {
            0 => String::new(),
            m => format!(" {m}m"),
        }
    );
    // A repeated time is labelled with its offset; a skipped one is absent.
    let what = match day.hours.iter().find(|h| h.len() > 5) {
        Some(twice) if day.minutes > 1_440 => {
            format!("{} comes twice, and jobs on an interval run in both", &twice[..5])
        }
        _ => "the clock skips forward; what the skipped time held runs after it (fixed times) or not at all (intervals)".to_string(),
    };
    format!(
        "On {} ({hours}): {what}; {} executions against {} on an ordinary day, at most {} at once.",
        day.date, day.executions, day.ordinary_executions, day.peak
    )
}

fn text(plan: &Plan, timezone: &str) -> String {
    let rows: Vec<Vec<String>> = plan.jobs.iter().map(|job| row(job).to_vec()).collect();
    let mut s = format!("Plan for {}\n\n", plan.environment);
    s.push_str(&table(&HEADERS, &rows, &[0, 5]));
    s.push('\n');
    for l in summary(plan, timezone) {
        s.push_str(&l);
        s.push('\n');
    }
    if !plan.warnings.is_empty() {
        s.push_str("\nWarnings:\n");
        for w in &plan.warnings {
            let _ = writeln!(s, "- {w}");
        }
    }
    s
}

/// `rows` under `headers` in aligned columns: those in `left` (names,
/// schedules) read left to right, the rest (numbers) line up on the right.
pub(crate) fn table(headers: &[&str], rows: &[Vec<String>], left: &[usize]) -> String {
    let widths: Vec<usize> = (0..headers.len())
        .map(|c| {
            rows.iter()
                .map(|r| r[c].chars().count())
                .chain([headers[c].chars().count()])
                .max()
                .unwrap_or(0)
        })
        .collect();
    let line = |cells: Vec<&str>| {
        let mut l = String::new();
        for (c, cell) in cells.iter().enumerate() {
            if left.contains(&c) {
                let _ = write!(l, "{cell:<w$}  ", w = widths[c]);
            } else {
                let _ = write!(l, "{cell:>w$}  ", w = widths[c]);
            }
        }
        l.trim_end().to_string() + "\n"
    };
    let mut s = line(headers.to_vec());
    for r in rows {
        s.push_str(&line(r.iter().map(String::as_str).collect()));
    }
    s
}

fn markdown(plan: &Plan, timezone: &str) -> String {
    let mut s = format!("## Plan for {}\n\n", plan.environment);
    let _ = writeln!(s, "| {} |", HEADERS.join(" | "));
    let _ = writeln!(s, "|{}", "---|".repeat(HEADERS.len()));
    for job in &plan.jobs {
        let mut cells = row(job);
        cells[5] = format!("`{}`", cells[5]);
        let _ = writeln!(s, "| {} |", cells.join(" | "));
    }
    s.push('\n');
    for l in summary(plan, timezone) {
        let _ = writeln!(s, "{l}  ");
    }
    if !plan.warnings.is_empty() {
        s.push_str("\n### Warnings\n\n");
        for w in &plan.warnings {
            let _ = writeln!(s, "- {w}");
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    const ACME: &str = include_str!("../../../examples/acme.yaml");

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(48))]

        /// From any date, in zones that move their clocks by an hour, by
        /// half of one or not at all, the plan renders with a line for each
        /// day the clock moves, in text and markdown alike.
        #[test]
        fn the_days_the_clock_moves_render_from_any_date(
            zone in prop::sample::select(vec![
                "Europe/Amsterdam", "America/New_York", "Australia/Sydney",
                "Australia/Lord_Howe", "America/Santiago", "Asia/Tokyo",
            ]),
            day in 0i64..(3 * 366),
        ) {
            let yaml = ACME.replace("Europe/Amsterdam", zone);
            let config = pacer_config::parse(&yaml, "acme.yaml").unwrap();
            let from = jiff::civil::date(2026, 1, 1)
                .checked_add(jiff::Span::new().days(day))
                .unwrap()
                .to_string();
            let (plan, days) = plan(&config, Some(&from)).unwrap();
            prop_assert_eq!(plan.days.len(), days.len());
            prop_assert_eq!(days.len(), if zone == "Asia/Tokyo" { 0 } else { 2 });
            for text in [text(&plan, zone), markdown(&plan, zone)] {
                prop_assert_eq!(text.matches("On 20").count(), days.len());
            }
        }
    }
}
