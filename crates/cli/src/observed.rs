//! `--observed`: what the store's ledger saw over a window, for `pacer plan`
//! (the plan those figures make beside the file's, and a patch for the
//! file) and `pacer simulate` (a day at the observed peak and profile).

use std::{fmt::Write as _, path::Path};

use anyhow::Context;
use jiff::Timestamp;
use pacer_config::Config;
use pacer_plan::{IntegrationObserved, Observation, Plan, SystemObserved};
use serde::Serialize;

use crate::{
    args::ObservedArgs,
    input::InvalidInput,
    plan::table,
    run::{redact, store_url},
    runtime,
};

/// The figures of a window, and the store they were read from (its URL
/// without a password).
pub(crate) struct Observed {
    pub(crate) observation: Observation,
    pub(crate) store: String,
    /// The window, in the file's time zone: "2026-03-02 00:00 to 2026-03-04 00:00 (Europe/Amsterdam)".
    window: String,
}

/// The figures `args` asks for, read from the store of `config` (found at
/// `file`).
pub(crate) fn read(config: &Config, file: &Path, args: &ObservedArgs) -> anyhow::Result<Observed> {
    let until = match &args.until {
        None => Timestamp::now(),
        Some(text) => when(text, config)?,
    };
    let reach = pacer_config::parse_duration(&args.since)
        .ok()
        .and_then(|d| until.checked_sub(d).ok())
        .ok_or_else(|| {
            InvalidInput(format!(
                "error: --since {:?}: expected a duration such as \"14d\" or \"36h\"",
                args.since
            ))
        })?;
    let url = args
        .store
        .clone()
        .unwrap_or_else(|| store_url(config, file, false));
    // Opening a SQLite file that is not there would make an empty store.
    if let Some(path) = url.strip_prefix("sqlite://") {
        let path = path.split('?').next().unwrap_or(path);
        if !Path::new(path).exists() {
            return Err(InvalidInput(format!(
                "error: no store at {path}: `pacer run {}` keeps its history there; \
                 pass --store URL to read another",
                file.display()
            ))
            .into());
        }
    }
    let ran = runtime::block_on(async {
        let store = pacer_store::StoreBuilder::new(&url)
            .open()
            .await
            .with_context(|| format!("cannot open the store {}", redact(&url)))?;
        let ran = pacer_engine::observed::ran(&store, reach, until).await?;
        let took = pacer_engine::observed::took(&store, reach, until).await?;
        Ok((ran, took))
    })?;
    let (ran, took) = ran;
    Ok(Observed {
        observation: pacer_plan::observe(
            &config.environment,
            &config.time_zone,
            reach,
            until,
            &ran,
            &took,
        ),
        store: redact(&url),
        window: format!(
            "{} to {} ({})",
            local(reach, config),
            local(until, config),
            config.timezone
        ),
    })
}

fn local(at: Timestamp, config: &Config) -> String {
    at.to_zoned(config.time_zone.clone())
        .strftime("%Y-%m-%d %H:%M")
        .to_string()
}

/// `--until`: a date (its local midnight), a local time, or an instant.
fn when(text: &str, config: &Config) -> Result<Timestamp, InvalidInput> {
    let zone = config.time_zone.clone();
    let local = |civil: jiff::civil::DateTime| civil.to_zoned(zone.clone()).ok();
    text.parse::<Timestamp>()
        .ok()
        .or_else(|| {
            local(
                text.parse::<jiff::civil::Date>()
                    .ok()?
                    .to_datetime(jiff::civil::Time::midnight()),
            )
            .map(|z| z.timestamp())
        })
        .or_else(|| local(text.parse().ok()?).map(|z| z.timestamp()))
        .ok_or_else(|| {
            InvalidInput(format!(
                "error: --until {text:?}: expected a date such as 2026-11-27 or a time such as \
                 2026-11-27T12:00 (in {})",
                config.timezone
            ))
        })
}

/// `config` declaring what was observed: each integration with a whole day
/// seen gets its mean a day, peak factor and hourly profile.
pub(crate) fn as_observed(config: &Config, observation: &Observation) -> Config {
    let mut observed = config.clone();
    observed.environment = pacer_plan::as_observed(&config.environment, observation);
    // Flows and integrations are both in the file's order.
    for (flow, seen) in observed.flows.iter_mut().zip(&observation.integrations) {
        if let Some(profile) = seen
            .profile
            .as_deref()
            .and_then(|p| <[f64; 24]>::try_from(p).ok())
        {
            flow.profile = Some(profile);
        }
    }
    observed
}

/// What `pacer simulate --observed` says before its report: what it plays.
pub(crate) fn simulating(observed: &Observed) -> String {
    let o = &observed.observation;
    format!(
        "Simulating what {} saw from {}, {}: each integration at its \
         peak day's volume, hour by hour as observed.\n\n",
        observed.store,
        observed.window,
        crate::plan::counted(u64::from(o.whole_days), "whole day"),
    )
}

/// `pacer plan --observed`: both plans, job by job, and the patch.
#[derive(Serialize)]
pub(crate) struct Comparison<'a> {
    /// The store read, without its password.
    store: &'a str,
    #[serde(skip)]
    window: &'a str,
    observation: &'a Observation,
    /// Each integration: declared and observed volume, and whether it drifted.
    integrations: Vec<Drift>,
    /// Each job: what the file's figures plan and what the observed ones do.
    jobs: Vec<JobChange>,
    /// Whether each plan fits.
    declared_fits: bool,
    observed_fits: bool,
    /// The observed plan's warnings, as sentences.
    observed_warnings: Vec<String>,
    /// Each system's rate a minute as the file declares it, in the file's order.
    declared_rates: Vec<f64>,
    /// The file's integrations with the observed figures, as YAML to review
    /// and merge; empty when nothing was observed.
    patch: String,
}

#[derive(Serialize)]
struct Drift {
    #[serde(flatten)]
    declared_and_seen: pacer_plan::IntegrationDrift,
    /// Most of its pulls took their whole item budget: the source had more
    /// to give, and the observed volume is a floor, not the volume.
    pulls_full: bool,
}

#[derive(Serialize)]
struct JobChange {
    job: String,
    declared: Scheduled,
    observed: Scheduled,
}

#[derive(Serialize, PartialEq)]
struct Scheduled {
    executions_per_day: u64,
    schedule: String,
    headroom_percent: f64,
}

impl<'a> Comparison<'a> {
    pub(crate) fn new(
        config: &Config,
        observed: &'a Observed,
        declared_plan: &Plan,
        planned: &Plan,
    ) -> Comparison<'a> {
        let observation = &observed.observation;
        let integrations: Vec<Drift> = pacer_plan::drifts(&config.environment, observation)
            .integrations
            .into_iter()
            .zip(&observation.integrations)
            .map(|(drift, seen)| {
                let budget =
                    planned_pull(declared_plan, &drift.integration).map(|j| j.items_per_run);
                Drift {
                    declared_and_seen: drift,
                    pulls_full: seen.pull.executions > 0
                        && budget.is_some_and(|b| seen.pull.items.p50 >= b as f64),
                }
            })
            .collect();
        let scheduled = |job: &pacer_plan::JobPlan| Scheduled {
            executions_per_day: job.executions_per_day,
            schedule: job.schedule.clone(),
            headroom_percent: job.headroom_percent,
        };
        let jobs = declared_plan
            .jobs
            .iter()
            .zip(&planned.jobs)
            .map(|(d, o)| JobChange {
                job: d.job.clone(),
                declared: scheduled(d),
                observed: scheduled(o),
            })
            .collect();
        Comparison {
            store: &observed.store,
            window: &observed.window,
            observation,
            jobs,
            declared_fits: declared_plan.fits,
            observed_fits: planned.fits,
            observed_warnings: planned.warnings.iter().map(ToString::to_string).collect(),

            patch: patch(
                observation,
                &integrations_full(&integrations),
                &declared_rates(config),
            ),
            declared_rates: declared_rates(config),
            integrations,
        }
    }

    /// For people: the window, each integration's drift, each job's change,
    /// the verdicts and the patch.
    pub(crate) fn to_text(&self) -> String {
        let o = self.observation;
        let mut s = format!(
            "Observed in {} from {}: {}.\n\n",
            self.store,
            self.window,
            crate::plan::counted(u64::from(o.whole_days), "whole day"),
        );
        if o.whole_days == 0 {
            s.push_str(
                "No whole day in the window: a day's figures need at least one \
                 (midnight to midnight). Widen it with --since, or wait for one \
                 to pass. Nothing is suggested.\n",
            );
            return s;
        }
        let rows: Vec<Vec<String>> = self
            .integrations
            .iter()
            .zip(&o.integrations)
            .map(|(drift, seen)| integration_row(drift, seen))
            .collect();
        s.push_str(&table(
            &[
                "integration",
                "declared peak day",
                "observed a day",
                "peak day",
                "drift",
                "pull p50/p95",
                "push p50/p95",
            ],
            &rows,
            &[0, 3],
        ));
        let rows: Vec<Vec<String>> = config_rates(self)
            .into_iter()
            .map(|(seen, declared)| system_row(seen, declared))
            .collect();
        s.push('\n');
        s.push_str(&table(
            &[
                "system",
                "rate",
                "minutes used",
                "a minute p50/p95",
                "busiest",
                "said slow down",
                "failed",
                "accepts",
            ],
            &rows,
            &[0],
        ));
        let rows: Vec<Vec<String>> = self
            .jobs
            .iter()
            .map(|j| {
                let arrow = |a: String, b: String| {
                    if a == b { a } else { format!("{a} → {b}") }
                };
                vec![
                    j.job.clone(),
                    arrow(
                        j.declared.executions_per_day.to_string(),
                        j.observed.executions_per_day.to_string(),
                    ),
                    arrow(j.declared.schedule.clone(), j.observed.schedule.clone()),
                    arrow(
                        format!("{:+.0}%", j.declared.headroom_percent),
                        format!("{:+.0}%", j.observed.headroom_percent),
                    ),
                ]
            })
            .collect();
        s.push('\n');
        s.push_str(&table(
            &["job", "executions/day", "schedule", "headroom"],
            &rows,
            &[0, 2],
        ));
        if self.integrations.iter().any(|d| d.pulls_full) {
            s.push_str(
                "\n≥: most pulls took their whole item budget, so the source had more \
                 than they read; the true volume is higher than observed.\n",
            );
        }
        let verdict = |fits: bool| if fits { "fits" } else { "does not fit" };
        let _ = writeln!(
            s,
            "\nThe file's plan {}; planned from what was observed, it {}.",
            verdict(self.declared_fits),
            verdict(self.observed_fits)
        );
        for w in &self.observed_warnings {
            let _ = writeln!(s, "- {w}");
        }
        if !self.patch.is_empty() {
            let _ = write!(
                s,
                "\nSuggested for the file (review before merging; the volume is the \
                 mean day, the peak factor the peak day over it, the profile each \
                 hour's share with 1 for an even hour):\n\n{}",
                self.patch
            );
        }
        s
    }
}

/// Each system's observed figures beside its declared rate a minute.
fn config_rates<'c>(comparison: &'c Comparison<'_>) -> Vec<(&'c SystemObserved, f64)> {
    comparison
        .observation
        .systems
        .iter()
        .zip(&comparison.declared_rates)
        .map(|(seen, rate)| (seen, *rate))
        .collect()
}

fn system_row(seen: &SystemObserved, declared: f64) -> Vec<String> {
    vec![
        seen.system.clone(),
        format!("{declared}/min"),
        seen.minutes.to_string(),
        format!(
            "{:.0}/{:.0}",
            seen.items_per_minute.p50, seen.items_per_minute.p95
        ),
        seen.busiest_minute.to_string(),
        match seen.minutes_throttled {
            0 => "-".to_string(),
            n => format!("{} in {n} min", seen.throttled),
        },
        seen.failed.to_string(),
        seen.accepted_when_throttled
            .map_or("-".into(), |n| format!("{n:.0}/min")),
    ]
}

fn integration_row(full: &Drift, seen: &IntegrationObserved) -> Vec<String> {
    let drift = &full.declared_and_seen;
    let durations = |j: &pacer_plan::JobObserved| {
        if j.executions == 0 {
            "-".to_string()
        } else {
            format!("{:.1}s/{:.1}s", j.duration_s.p50, j.duration_s.p95)
        }
    };
    vec![
        drift.integration.clone(),
        format!("{:.0}", drift.declared_peak_day),
        seen.changes_per_day.map_or("-".into(), |n| {
            if full.pulls_full {
                format!("≥ {n:.0}")
            } else {
                format!("{n:.0}")
            }
        }),
        seen.peak_day
            .as_ref()
            .map_or("-".into(), |p| format!("{} ({})", p.changes, p.date)),
        match drift.ratio {
            Some(r) if drift.drifted => format!("{:+.0}% drifted", (r - 1.0) * 100.0),
            Some(r) => format!("{:+.0}%", (r - 1.0) * 100.0),
            None => "-".into(),
        },
        durations(&seen.pull),
        durations(&seen.push),
    ]
}

fn declared_rates(config: &Config) -> Vec<f64> {
    config
        .environment
        .systems
        .iter()
        .map(|s| s.rate.items_per_minute())
        .collect()
}

fn planned_pull<'p>(plan: &'p Plan, integration: &str) -> Option<&'p pacer_plan::JobPlan> {
    plan.jobs
        .iter()
        .find(|j| j.integration == integration && j.kind == pacer_plan::JobKind::Pull)
}

fn integrations_full(drifts: &[Drift]) -> Vec<&str> {
    drifts
        .iter()
        .filter(|d| d.pulls_full)
        .map(|d| d.declared_and_seen.integration.as_str())
        .collect()
}

/// The observed figures as the file writes them, for each integration with
/// a whole day seen; those in `full` (pulls at their budget) say that
/// their volume is a floor.
fn patch(observation: &Observation, full: &[&str], declared_rates: &[f64]) -> String {
    let mut s = String::new();
    for (seen, declared) in observation.systems.iter().zip(declared_rates) {
        let Some(accepted) = seen.accepted_when_throttled.filter(|a| *a < *declared) else {
            continue;
        };
        if s.is_empty() {
            s.push_str("systems:\n");
        }
        let _ = writeln!(s, "  {}:", seen.system);
        let _ = writeln!(
            s,
            "    # said slow down in {} minutes, taking {accepted:.0} a minute at the median",
            seen.minutes_throttled
        );
        let _ = writeln!(s, "    rate: {:.0}/min", accepted.floor());
    }
    let systems = s.len();
    for seen in &observation.integrations {
        let Some(mean) = seen.changes_per_day else {
            continue;
        };
        if s.len() == systems {
            s.push_str("integrations:\n");
        }
        let _ = writeln!(s, "  {}:", seen.integration);
        if full.contains(&seen.integration.as_str()) {
            let _ = writeln!(
                s,
                "    # at least: its pulls took their whole budget, so the source had more"
            );
        }
        let _ = writeln!(s, "    volume: {:.0}/day", mean.round());
        if let Some(factor) = seen.peak_factor {
            let _ = writeln!(s, "    peak_factor: {:.2}", factor.max(1.0));
        }
        if let Some(profile) = &seen.profile {
            let weights: Vec<String> = profile.iter().map(|w| format!("{w:.2}")).collect();
            let _ = writeln!(s, "    profile: [{}]", weights.join(", "));
        }
    }
    s
}
