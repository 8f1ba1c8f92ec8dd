//! `pacer plan FILE [--format text|json|markdown] [--svg FILE] [--check]`

use std::{fmt::Write as _, io::Write, process::ExitCode};

use anyhow::Context;
use pacer_plan::{JobPlan, Plan};

use crate::{
    args::{PlanArgs, PlanFormat},
    input::{self, InvalidInput},
};

pub(crate) fn run(args: &PlanArgs, out: &mut impl Write) -> anyhow::Result<ExitCode> {
    let config = input::config(&args.file)?;
    let plan =
        pacer_plan::plan(&config.environment).map_err(|e| InvalidInput(format!("error: {e}")))?;
    match args.format {
        PlanFormat::Text => out.write_all(text(&plan, &config.timezone).as_bytes())?,
        PlanFormat::Json => {
            serde_json::to_writer_pretty(&mut *out, &plan.to_json())?;
            writeln!(out)?;
        }
        PlanFormat::Markdown => out.write_all(markdown(&plan, &config.timezone).as_bytes())?,
    }
    if let Some(svg) = &args.svg {
        std::fs::write(svg, plan.to_svg())
            .with_context(|| format!("cannot write {}", svg.display()))?;
    }
    if args.verify {
        // The plan's promise, checked by the real engine on a simulated day.
        let report = crate::simulate::simulate(&config, &plan, &pacer_sim::Options::default())?;
        match &report.first_problem {
            None => writeln!(
                out,
                "\nVerified: a simulated day ({}) delivered every change within its freshness; \
                 at most {} executions at once (capacity {}).",
                &report.start[..10],
                report.peak_at_once,
                report.capacity
            )?,
            Some(problem) => writeln!(
                out,
                "\nNot verified: a simulated day ({}) contradicts the plan — {problem}. \
                 `pacer simulate {}` shows the day.",
                &report.start[..10],
                args.file.display()
            )?,
        }
        if !report.holds {
            return Ok(ExitCode::from(1));
        }
    }
    Ok(if args.check && !plan.fits {
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
    vec![
        format!(
            "Peak load: {} executions at once, capacity {} (no offsets can go below {}).",
            load.peak, load.capacity, load.lower_bound
        ),
        format!(
            "Verdict: {} (schedules read in {timezone}).",
            if plan.fits { "fits" } else { "does not fit" }
        ),
    ]
}

fn text(plan: &Plan, timezone: &str) -> String {
    let rows: Vec<[String; 9]> = plan.jobs.iter().map(row).collect();
    let widths: Vec<usize> = (0..9)
        .map(|c| {
            rows.iter()
                .map(|r| r[c].chars().count())
                .chain([HEADERS[c].len()])
                .max()
                .unwrap_or(0)
        })
        .collect();
    let mut s = format!("Plan for {}\n\n", plan.environment);
    let line = |cells: Vec<&str>| {
        let mut l = String::new();
        for (c, cell) in cells.iter().enumerate() {
            // Names and schedules read left to right; numbers line up on the right.
            if c == 0 || c == 5 {
                let _ = write!(l, "{cell:<w$}  ", w = widths[c]);
            } else {
                let _ = write!(l, "{cell:>w$}  ", w = widths[c]);
            }
        }
        l.trim_end().to_string() + "\n"
    };
    s.push_str(&line(HEADERS.to_vec()));
    for r in &rows {
        s.push_str(&line(r.iter().map(String::as_str).collect()));
    }
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
