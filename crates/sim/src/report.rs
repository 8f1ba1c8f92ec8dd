//! What a simulation shows: per integration, per hour, per minute, and the verdict.

use std::{collections::BTreeMap, fmt::Write};

use jiff::{SignedDuration, Timestamp, tz::TimeZone};
use pacer_config::{Config, IntegrationConfig};
use pacer_engine::{Engine, Stats};
use pacer_mock::{Feed, Running};
use pacer_plan::{JobKind, Plan};
use pacer_store::{ExecutionState, Minute, Store};
use serde::Serialize;

use crate::{Error, Moved, Options, moved_table};

const MINUTE: i64 = 60_000;
const HOUR: i64 = 3_600_000;

/// What a simulation found.
#[derive(Clone, Debug, Serialize)]
pub struct Report {
    /// The environment.
    pub environment: String,
    /// Its time zone; every time in the report is read in it.
    pub timezone: String,
    /// The first simulated midnight.
    pub start: String,
    /// Days simulated.
    pub days: u32,
    /// Volumes were `volume × peak_factor × volume_factor` a day.
    pub volume_factor: f64,
    /// The schedule time each request took, in milliseconds.
    pub request_ms: i64,
    /// Executions that may run at once.
    pub capacity: u32,
    /// The most that ran at once.
    pub peak_at_once: u32,
    /// Per integration, in the file's order.
    pub integrations: Vec<IntegrationReport>,
    /// The simulated hours, in order: the hours each day really has (23 on
    /// a spring-forward day, 25 on a fall-back one). `backlog_by_hour` has a
    /// value for each.
    pub hours: Vec<ReportHour>,
    /// Every minute whose executions differed from the plan's load.
    pub differences: Vec<Difference>,
    /// Every integration delivered its volume within its freshness, and
    /// capacity was never exceeded.
    pub holds: bool,
    /// The first thing that broke, in words; `None` when the plan held.
    pub first_problem: Option<String>,
    /// The plan's executions in each minute of a day.
    #[serde(skip)]
    planned: Vec<u32>,
    /// Each simulated day, the plan laid on it, and the executions running
    /// in each of its minutes.
    #[serde(skip)]
    simulated: Vec<SimulatedDay>,
}

/// One hour of the simulation, as the local clock showed it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ReportHour {
    /// Its day, `YYYY-MM-DD`.
    pub date: String,
    /// Its wall-clock start, `HH:MM`, with the offset where the hour came
    /// twice that day (`02:00+01:00`).
    pub hour: String,
    /// Its minutes: 60, or 30 where the clock moved half an hour.
    pub minutes: usize,
}

#[derive(Clone, Debug)]
struct SimulatedDay {
    day: pacer_cron::Day,
    planned: Vec<u32>,
    ran: Vec<u32>,
}

/// One integration's run.
#[derive(Clone, Debug, Serialize)]
pub struct IntegrationReport {
    /// Its name.
    pub name: String,
    /// Its freshness in minutes, if the file sets one.
    pub freshness_minutes: Option<u32>,
    /// What a change's delay is held to: the freshness, or a day without one.
    pub deadline_minutes: u32,
    /// Its records in README's words: changes at the source, pulled,
    /// delivered (each change's first delivery, as the destination saw
    /// it), waiting, dead, backlog.
    #[serde(flatten)]
    pub moved: Moved,
    /// Changes whose deadline fell inside the simulation: these must be delivered.
    pub due: u64,
    /// Of those, delivered after their deadline or not at all.
    pub late: u64,
    /// Changes produced and not yet delivered at the end of each of the
    /// report's `hours`.
    pub backlog_by_hour: Vec<u64>,
    /// The longest delay from a change to its delivery, in seconds (an
    /// undelivered change counts with its age at the end).
    pub worst_delay_s: i64,
    /// The 95th percentile delay of delivered changes, in seconds.
    pub p95_delay_s: i64,
    /// Its jobs' executions.
    pub executions: BTreeMap<String, JobCounts>,
    /// Delivered within its deadline.
    pub holds: bool,
    /// What went wrong, in words.
    pub problem: Option<String>,
    /// Records came by webhook: nothing to pull, not simulated.
    pub webhook: bool,
    /// When the first change that went late was made (Unix ms).
    #[serde(skip)]
    late_at: Option<i64>,
}

/// How a job's executions went.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct JobCounts {
    /// Ran (succeeded or failed).
    pub run: u64,
    /// Of those, failed.
    pub failed: u64,
    /// Not started: still running, paused or in maintenance.
    pub skipped: u64,
    /// Not started: no capacity before the deadline.
    pub missed: u64,
}

/// A minute whose executions differed from the plan's.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Difference {
    /// The minute, local time.
    pub minute: String,
    /// Executions the plan puts in it.
    pub planned: u32,
    /// Executions that ran in it.
    pub simulated: u32,
}

pub(crate) struct Run<'a> {
    pub(crate) config: &'a Config,
    pub(crate) plan: &'a Plan,
    pub(crate) options: &'a Options,
    pub(crate) tz: &'a TimeZone,
    pub(crate) start: Timestamp,
    pub(crate) end: Timestamp,
    pub(crate) engine: &'a Engine,
    pub(crate) store: &'a Store,
    pub(crate) mocks: &'a [(String, Running)],
}

impl Run<'_> {
    fn local(&self, ms: i64) -> jiff::Zoned {
        Timestamp::from_millisecond(ms)
            .unwrap_or(self.start)
            .to_zoned(self.tz.clone())
    }

    /// "14:00", or "day 2 14:00" past the first day; a time that comes
    /// twice that day with its offset, "02:00+01:00".
    fn when(&self, ms: i64, days: &[pacer_cron::Day]) -> String {
        let at = Timestamp::from_millisecond(ms).unwrap_or(self.start);
        let Some((n, minute)) = days
            .iter()
            .enumerate()
            .find_map(|(n, d)| Some((n, d.minute_of(at)?)))
        else {
            return self.local(ms).strftime("%H:%M").to_string();
        };
        let time = days[n].label(minute);
        if self.options.days > 1 {
            format!("day {} {time}", n + 1)
        } else {
            time
        }
    }

    /// The simulated days, as the zone has them.
    fn days(&self) -> Vec<pacer_cron::Day> {
        (0..i64::from(self.options.days))
            .filter_map(|n| {
                let date = self
                    .options
                    .start
                    .checked_add(jiff::Span::new().days(n))
                    .ok()?;
                pacer_cron::Day::of(date, self.tz)
            })
            .collect()
    }

    fn mock(&self, system: &str) -> Option<&Running> {
        self.mocks.iter().find(|(n, _)| n == system).map(|(_, m)| m)
    }
}

/// The change number a mock's key ends in: `prices-000123` is change 123.
fn change_number(key: &str) -> Option<u64> {
    let digits = key.len() - key.trim_end_matches(|c: char| c.is_ascii_digit()).len();
    key[key.len() - digits..].parse().ok()
}

pub(crate) async fn build(run: Run<'_>) -> Result<Report, Error> {
    let (start, end) = (run.start.as_millisecond(), run.end.as_millisecond());
    let stats = run.engine.stats();
    let views = run.engine.job_views(0);
    let days = run.days();
    // The end of each hour each day really has.
    let hour_ends: Vec<i64> = days
        .iter()
        .flat_map(|d| {
            d.hours()
                .iter()
                .map(|h| d.instant(h.first + h.len).as_millisecond())
        })
        .collect();
    let hours: Vec<ReportHour> = days
        .iter()
        .flat_map(|d| {
            d.hours().iter().map(|h| ReportHour {
                date: d.date().to_string(),
                hour: h.label.clone(),
                minutes: h.len,
            })
        })
        .collect();
    let mut integrations = Vec::new();
    for integration in run.config.integrations() {
        let executions = job_counts(&run, &stats, &integration.plan.name);
        let pulled = stats
            .moved
            .get(&integration.plan.name)
            .map_or(0, pacer_engine::Moved::pulled);
        integrations.push(
            integration_report(&run, integration, executions, pulled, &views, &hour_ends).await?,
        );
    }

    let capacity = run.config.environment.capacity;
    let planned = run.plan.load.by_minute.clone();
    let ran = occupancy(&run, run.store, &days).await?;
    let (simulated, differences) = compare_days(&run, &days, &planned, ran);
    let peak_at_once = stats.most_at_once;
    let mut first: Option<(i64, String)> = integrations
        .iter()
        .filter_map(|r| Some((r.late_at?, r.problem.clone()?)))
        .min_by_key(|(at, _)| *at);
    if peak_at_once > capacity && first.is_none() {
        first = Some((
            end,
            format!("{peak_at_once} executions ran at once, above the capacity of {capacity}"),
        ));
    }
    let holds = first.is_none();
    Ok(Report {
        environment: run.config.environment.name.clone(),
        timezone: run.config.timezone.clone(),
        start: run
            .local(start)
            .strftime("%Y-%m-%dT%H:%M:%S%:z")
            .to_string(),
        days: run.options.days,
        volume_factor: run.options.volume_factor,
        request_ms: run.options.request_time.as_millis() as i64,
        capacity,
        peak_at_once,
        integrations,
        hours,
        differences,
        holds,
        first_problem: first.map(|(_, p)| p),
        planned,
        simulated,
    })
}

/// How each job of `integration` ran, by job name.
fn job_counts(run: &Run<'_>, stats: &Stats, integration: &str) -> BTreeMap<String, JobCounts> {
    let mut executions = BTreeMap::new();
    for job in run
        .plan
        .jobs
        .iter()
        .filter(|j| j.integration == integration)
    {
        let outcomes = stats.executions.get(&job.job);
        let n = |o: ExecutionState| outcomes.and_then(|m| m.get(&o)).copied().unwrap_or(0);
        executions.insert(
            job.job.clone(),
            JobCounts {
                run: n(ExecutionState::Succeeded) + n(ExecutionState::Failed),
                failed: n(ExecutionState::Failed),
                skipped: n(ExecutionState::Skipped),
                missed: n(ExecutionState::Missed),
            },
        );
    }
    executions
}

/// What became of one integration's changes: produced, delivered, on time,
/// the backlog hour by hour, and, when they went late, why.
async fn integration_report(
    run: &Run<'_>,
    IntegrationConfig {
        plan: integration,
        flow,
    }: IntegrationConfig<'_>,
    executions: BTreeMap<String, JobCounts>,
    pulled: u64,
    views: &[pacer_engine::JobView],
    hour_ends: &[i64],
) -> Result<IntegrationReport, Error> {
    let (start, end) = (run.start.as_millisecond(), run.end.as_millisecond());
    // Without a freshness the file asks only that each day's changes arrive.
    let deadline_minutes = integration.freshness_minutes.unwrap_or(24 * 60);
    let deadline = i64::from(deadline_minutes) * MINUTE;
    let feed = crate::feed(run.config, &integration.name, run.options.volume_factor)
        .unwrap_or_else(|| Feed::even(&integration.name, 0.0));
    let produced_by = |t: i64| feed.produced(start, t);
    let produced = produced_by(end);
    let deliveries = run
        .mock(&integration.to)
        .map(|m| m.deliveries(&integration.name))
        .unwrap_or_default();
    // The first delivery of each change, by change number.
    let mut delivered_at: BTreeMap<u64, i64> = BTreeMap::new();
    for d in &deliveries {
        if let Some(i) = change_number(&d.key) {
            delivered_at.entry(i).or_insert(d.delivered_at);
        }
    }
    let mut times: Vec<i64> = delivered_at.values().copied().collect();
    times.sort_unstable();
    let delivered_by = |t: i64| times.partition_point(|&at| at <= t) as u64;

    let timeliness = Timeliness::of(&feed, start, end, deadline, produced, &delivered_at);
    let backlog_by_hour: Vec<u64> = hour_ends
        .iter()
        .map(|&at| produced_by(at).saturating_sub(delivered_by(at)))
        .collect();
    let webhook = flow.webhook.is_some();
    let holds = webhook || timeliness.late == 0;
    let problem = match timeliness.first_late {
        Some(at) if !holds => {
            // Where the changes were when the first one went late.
            let then = at + deadline;
            let queued = run
                .store
                // A time within the run, so always one jiff holds.
                .queued_by(
                    &integration.name,
                    jiff::Timestamp::from_millisecond(then).unwrap_or(run.end),
                )
                .await?;
            Some(explain(
                run,
                integration,
                &feed,
                views,
                at,
                (produced_by(then), queued, delivered_by(then)),
                &executions,
            ))
        }
        _ => None,
    };
    let delivered = delivered_at.len() as u64;
    let moved = Moved::counted(run.store, &integration.name, produced, pulled, delivered).await?;
    Ok(IntegrationReport {
        name: integration.name.clone(),
        freshness_minutes: integration.freshness_minutes,
        deadline_minutes,
        moved,
        due: timeliness.due,
        late: timeliness.late,
        backlog_by_hour,
        worst_delay_s: timeliness.worst / 1_000,
        p95_delay_s: timeliness.p95 / 1_000,
        executions,
        holds,
        problem,
        webhook,
        late_at: timeliness.first_late.filter(|_| !holds),
    })
}

/// How late an integration's changes arrived, in milliseconds.
struct Timeliness {
    /// Changes whose deadline fell within the run.
    due: u64,
    /// Of those, how many arrived after it, or not at all.
    late: u64,
    /// The longest any change took (or has waited, undelivered, at the end).
    worst: i64,
    /// The 95th percentile of the delivered changes' delays.
    p95: i64,
    /// When the first change that went late was made.
    first_late: Option<i64>,
}

impl Timeliness {
    /// Changes 1 to `produced` of `feed` against when each was first
    /// delivered, each due `deadline` after it was made.
    fn of(
        feed: &Feed,
        start: i64,
        end: i64,
        deadline: i64,
        produced: u64,
        delivered_at: &BTreeMap<u64, i64>,
    ) -> Timeliness {
        let mut delays = Vec::with_capacity(delivered_at.len());
        let (mut due, mut late, mut worst) = (0u64, 0u64, 0i64);
        let mut first_late: Option<i64> = None;
        for i in 1..=produced {
            let changed = feed.changed_at(start, i);
            let delivered = delivered_at.get(&i).copied();
            let delay = delivered.map(|at| at - changed);
            if let Some(delay) = delay {
                delays.push(delay);
            }
            let must_by = changed + deadline;
            worst = worst.max(delay.unwrap_or(end - changed));
            if must_by <= end {
                due += 1;
                if delivered.is_none_or(|at| at > must_by) {
                    late += 1;
                    first_late = Some(first_late.map_or(changed, |f| f.min(changed)));
                }
            }
        }
        delays.sort_unstable();
        let p95 = if delays.is_empty() {
            0
        } else {
            delays[((delays.len() as f64 * 0.95).ceil() as usize).clamp(1, delays.len()) - 1]
        };
        Timeliness {
            due,
            late,
            worst,
            p95,
            first_late,
        }
    }
}

/// Each simulated day's load beside its plan, and every minute where the
/// two differ.
fn compare_days(
    run: &Run<'_>,
    days: &[pacer_cron::Day],
    planned: &[u32],
    ran: Vec<Vec<u32>>,
) -> (Vec<SimulatedDay>, Vec<Difference>) {
    let mut simulated = Vec::new();
    let mut differences = Vec::new();
    for (n, (day, ran)) in days.iter().zip(ran).enumerate() {
        // A day the clock moves, or the day after one (its first minutes
        // hold what ran over from it), has a plan of its own.
        let ordinary = day.is_ordinary() && (n == 0 || days[n - 1].is_ordinary());
        let day_plan = if ordinary {
            planned.to_vec()
        } else {
            run.plan.load_on(day, run.tz)
        };
        for (minute, (&plan, &ran)) in day_plan.iter().zip(&ran).enumerate() {
            if plan != ran {
                differences.push(Difference {
                    minute: format!("{}T{}", day.date(), day.label(minute)),
                    planned: plan,
                    simulated: ran,
                });
            }
        }
        simulated.push(SimulatedDay {
            day: day.clone(),
            planned: day_plan,
            ran,
        });
    }
    (simulated, differences)
}

/// Executions running in each minute of each simulated day.
async fn occupancy(
    run: &Run<'_>,
    store: &Store,
    days: &[pacer_cron::Day],
) -> Result<Vec<Vec<u32>>, Error> {
    let mut ran: Vec<Vec<u32>> = days.iter().map(|d| vec![0u32; d.minutes()]).collect();
    let instant = SignedDuration::from_millis(1);
    for e in store
        .executions(Minute::containing(run.start), u32::MAX)
        .await?
    {
        let Some(started) = e.started_at else {
            continue;
        };
        // A run ending on a minute's first instant does not occupy that minute.
        let finished = e.finished_at.unwrap_or(run.end).max(started + instant) - instant;
        let mut minute = Minute::containing(started);
        while minute.start() <= finished && minute.start() < run.end {
            for (day, ran) in days.iter().zip(ran.iter_mut()) {
                if let Some(index) = day.minute_of(minute.start()) {
                    ran[index] += 1;
                }
            }
            minute += 1;
        }
    }
    Ok(ran)
}

/// Why an integration's changes went late, in words: which job fell
/// behind, from when, and what would fix it.
fn explain(
    run: &Run<'_>,
    integration: &pacer_plan::Integration,
    feed: &Feed,
    views: &[pacer_engine::JobView],
    since: i64,
    (produced, queued, delivered): (u64, u64, u64),
    executions: &BTreeMap<String, JobCounts>,
) -> String {
    // The side holding more of the backlog fell behind.
    let pull_behind = produced.saturating_sub(queued) >= queued.saturating_sub(delivered);
    let (kind, system) = if pull_behind {
        (JobKind::Pull, &integration.from)
    } else {
        (JobKind::Push, &integration.to)
    };
    let job = run
        .plan
        .jobs
        .iter()
        .find(|j| j.integration == integration.name && j.kind == kind);
    let name = job.map_or_else(|| integration.name.clone(), |j| j.job.clone());
    let budget = views
        .iter()
        .find(|v| v.name == name)
        .map_or(1, |v| v.budget.max(1));
    let busiest = busiest_hour(run, feed);
    let runs_per_hour = job.map_or(0.0, |j| j.runs_per_hour);
    let needed_runs = busiest.div_ceil(budget);
    let more_runs = needed_runs.saturating_sub(runs_per_hour.floor() as u64);
    // The system's rate is one budget for every integration that reads from
    // it or writes to it: its load in the busiest hour counts them all.
    let users: Vec<(&str, u64)> = run
        .config
        .environment
        .integrations
        .iter()
        .map(|i| {
            let sides = u64::from(i.from == *system) + u64::from(i.to == *system);
            let busiest = crate::feed(run.config, &i.name, run.options.volume_factor)
                .map_or(0, |f| busiest_hour(run, &f));
            (i.name.as_str(), busiest * sides)
        })
        .filter(|(_, items)| *items > 0)
        .collect();
    let per_minute_needed = users.iter().map(|(_, items)| items).sum::<u64>() as f64 / 60.0;
    let rate = run
        .config
        .environment
        .systems
        .iter()
        .find(|s| s.name == *system)
        .map_or(0.0, |s| s.rate.items_per_minute());
    let rate_bound = per_minute_needed > rate;
    // Each run takes the system's minute: the other jobs on it leave this
    // one the rest of the hour, and no more runs than that can help.
    let others: f64 = run
        .plan
        .jobs
        .iter()
        .filter(|j| j.job != name)
        .filter(|j| {
            run.config.environment.integrations.iter().any(|i| {
                i.name == j.integration
                    && match j.kind {
                        JobKind::Pull => i.from == *system,
                        JobKind::Push => i.to == *system,
                    }
            })
        })
        .map(|j| j.runs_per_hour * f64::from(j.duration_minutes))
        .sum();
    let room = (60.0 - others).floor().max(0.0) as u64;
    let volume = if (run.options.volume_factor - 1.0).abs() < f64::EPSILON {
        "at this volume".to_string()
    } else {
        format!("at {}× volume", run.options.volume_factor)
    };
    let days = run.days();
    let hour = hour_start(&days, since, run.start);
    let missed: u64 = executions.values().map(|c| c.missed).sum();
    let reason = if rate_bound {
        let mut largest = users.clone();
        largest.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
        let names: Vec<&str> = largest.iter().map(|(n, _)| *n).collect();
        let verb = if names.len() == 1 { "needs" } else { "need" };
        format!(
            "the {system}'s {rate}/min is the limit: {volume} {} {verb} {:.0}/min from it in \
             the busiest hour; raise its rate to {:.0}/min or move or slow {}",
            names.join(", "),
            per_minute_needed.ceil(),
            per_minute_needed.ceil(),
            names.first().copied().unwrap_or(&integration.name)
        )
    } else if more_runs > 0 && needed_runs > room {
        format!(
            "{volume} {} needs {} per hour ({busiest} changes in its busiest hour, {budget} \
             per run), but {}; raise the {system}'s rate",
            integration.name,
            runs(needed_runs, ""),
            room_beside_others(system, room)
        )
    } else if more_runs > 0 {
        format!(
            "{volume} {} needs {} per hour ({busiest} changes in its busiest hour, {budget} per run)",
            integration.name,
            runs(more_runs, "more ")
        )
    } else if missed > 0 {
        format!(
            "{missed} executions missed their deadline waiting for capacity ({} at once)",
            run.config.environment.capacity
        )
    } else {
        // Neither a rate, runs nor capacity: the schedules themselves. A
        // change waits for the next pull, then for the next push.
        let intervals: Vec<String> = run
            .plan
            .jobs
            .iter()
            .filter(|j| j.integration == integration.name)
            .map(|j| format!("{} every {} min", j.job, j.interval_minutes))
            .collect();
        format!(
            "its changes wait longer than its freshness of {} min: a change waits for the next \
             run of {}",
            integration.freshness_minutes.unwrap_or(24 * 60),
            intervals.join(", then of ")
        )
    };
    format!(
        "{name}: backlog grows from {}; {reason}",
        run.when(hour, &days)
    )
}

/// The most changes `feed` makes in one of the run's hours.
/// `n` runs, `what` more, in the singular for one.
fn runs(n: u64, what: &str) -> String {
    if n == 1 {
        format!("1 {what}run")
    } else {
        format!("{n} {what}runs")
    }
}

/// How many runs an hour the other jobs on `system` leave room for, said
/// so that none reads as none.
fn room_beside_others(system: &str, room: u64) -> String {
    match room {
        0 => format!("the other jobs on the {system} take its whole hour: no run fits"),
        1 => format!("beside the other jobs on the {system} only 1 fits"),
        n => format!("beside the other jobs on the {system} only {n} fit"),
    }
}

fn busiest_hour(run: &Run<'_>, feed: &Feed) -> u64 {
    let start = run.start.as_millisecond();
    (0..(run.end.as_millisecond() - start) / HOUR)
        .map(|h| {
            feed.produced(start, start + (h + 1) * HOUR) - feed.produced(start, start + h * HOUR)
        })
        .max()
        .unwrap_or(0)
}

/// The start of the hour, as its day has it (a day the clock moves has
/// 23 or 25), that the instant `since` falls in.
fn hour_start(days: &[pacer_cron::Day], since: i64, fallback: Timestamp) -> i64 {
    let at = Timestamp::from_millisecond(since).unwrap_or(fallback);
    days.iter()
        .find_map(|d| {
            let minute = d.minute_of(at)?;
            let h = d
                .hours()
                .iter()
                .find(|h| (h.first..h.first + h.len).contains(&minute))?;
            Some(d.instant(h.first).as_millisecond())
        })
        .unwrap_or(since.div_euclid(HOUR) * HOUR)
}

impl Report {
    /// The planner's heat map of the plan beside each simulated day's, as one SVG.
    pub fn to_svg(&self) -> String {
        let peak = |load: &[u32]| load.iter().copied().max().unwrap_or(0);
        let mut maps = vec![pacer_plan::heat_map(
            &format!("{} — planned", self.environment),
            &format!(
                "peak {} with capacity {}",
                peak(&self.planned),
                self.capacity
            ),
            &self.planned,
            self.capacity,
        )];
        for (n, simulated) in self.simulated.iter().enumerate() {
            let date = simulated.day.date().to_string();
            maps.push(pacer_plan::heat_map_of_day(
                &format!(
                    "{} — simulated, day {} from {}",
                    self.environment,
                    n + 1,
                    self.start.get(..10).unwrap_or_default()
                ),
                &format!(
                    "peak {} with capacity {}; {} minutes differ from the plan",
                    peak(&simulated.ran),
                    self.capacity,
                    self.differences
                        .iter()
                        .filter(|d| d.minute.get(..10) == Some(date.as_str()))
                        .count()
                ),
                &simulated.day,
                &simulated.ran,
                self.capacity,
            ));
        }
        // Side by side: each map is an SVG of its own, placed in a row.
        let (width, height) = (820, 430);
        let mut svg = format!(
            r#"<svg xmlns="http://www.w3.org/2000/svg" width="{}" height="{height}" viewBox="0 0 {} {height}">"#,
            width * maps.len(),
            width * maps.len()
        );
        for (i, map) in maps.iter().enumerate() {
            svg.push_str(&format!(r#"<g transform="translate({})">"#, i * width));
            svg.push_str(map.trim_end());
            svg.push_str("</g>");
        }
        svg.push_str("</svg>\n");
        svg
    }

    /// The report for people: a table per integration, the backlog by hour,
    /// the plan's heat map beside the simulated one, and the verdict.
    pub fn to_text(&self) -> String {
        let mut s = String::new();
        self.write_integrations(&mut s);
        self.write_backlog(&mut s);
        self.write_load(&mut s);
        self.write_verdict(&mut s);
        s
    }

    /// The heading, and a row of figures per integration.
    fn write_integrations(&self, s: &mut String) {
        *s = format!(
            "Simulation of {}: {} day{} from {} ({}), volumes × peak factor × {}, {} ms a request\n\n",
            self.environment,
            self.days,
            if self.days == 1 { "" } else { "s" },
            &self.start[..10],
            self.timezone,
            self.volume_factor,
            self.request_ms
        );
        s.push_str(&moved_table(
            self.integrations
                .iter()
                .map(|i| (i.name.as_str(), &i.moved)),
        ));
        let _ = writeln!(
            s,
            "\n{:<18} {:>9} {:>6} {:>11} {:>9} {:>6} {:>7} {:>6}",
            "integration", "freshness", "late", "worst delay", "p95", "runs", "skipped", "missed"
        );
        for i in &self.integrations {
            let total = |f: fn(&JobCounts) -> u64| i.executions.values().map(f).sum::<u64>();
            let _ = writeln!(
                s,
                "{:<18} {:>9} {:>6} {:>11} {:>9} {:>6} {:>7} {:>6}{}",
                i.name,
                i.freshness_minutes
                    .map_or("-".to_string(), |m| format!("{m}m")),
                i.late,
                duration(i.worst_delay_s),
                duration(i.p95_delay_s),
                total(|c| c.run),
                total(|c| c.skipped),
                total(|c| c.missed),
                if i.webhook {
                    "  (webhook: not simulated)"
                } else {
                    ""
                }
            );
        }
        s.push_str(
            "late: changes delivered after their freshness (a day where none is set), or not at all.\n",
        );
    }

    /// Each day's backlog at the end of each hour, per integration.
    fn write_backlog(&self, s: &mut String) {
        s.push_str("\nBacklog at the end of each hour (changes not delivered yet):\n");
        let mut first_hour = 0;
        for (n, simulated) in self.simulated.iter().enumerate() {
            let hours = simulated.day.hours();
            let heading = day_heading(n, self.days, &simulated.day);
            if !heading.is_empty() {
                let _ = writeln!(s, "{heading}");
            }
            // A column is as wide as its widest label: `02+01` on a day
            // the clock moves, the hour alone on others.
            let labels: Vec<String> = hours.iter().map(|h| column(&h.label)).collect();
            let width = labels.iter().map(String::len).max().unwrap_or(2).max(5);
            let _ = write!(s, "{:<18}", "hour");
            for label in &labels {
                let _ = write!(s, " {label:>width$}");
            }
            s.push('\n');
            let range = first_hour..first_hour + hours.len();
            for i in &self.integrations {
                let _ = write!(s, "{:<18}", i.name);
                for b in i.backlog_by_hour.get(range.clone()).unwrap_or(&[]) {
                    let _ = write!(s, " {b:>width$}");
                }
                s.push('\n');
            }
            first_hour = range.end;
        }
    }

    /// The executions at once, and each day's load minute by minute,
    /// planned beside simulated.
    fn write_load(&self, s: &mut String) {
        let _ = writeln!(
            s,
            "\nExecutions at once: at most {} (capacity {}).",
            self.peak_at_once, self.capacity
        );
        s.push_str(
            "Load by minute — planned | simulated (· none, 1–9 executions, ! above capacity):\n",
        );
        for (n, simulated) in self.simulated.iter().enumerate() {
            let heading = day_heading(n, self.days, &simulated.day);
            if !heading.is_empty() {
                let _ = writeln!(s, "{heading}");
            }
            let hours = simulated.day.hours();
            let width = hours.iter().map(|h| h.label.len()).max().unwrap_or(5);
            for hour in hours {
                let row = |load: &[u32]| -> String {
                    load.get(hour.first..hour.first + hour.len)
                        .unwrap_or(&[])
                        .iter()
                        .map(|&n| cell(n, self.capacity))
                        .collect()
                };
                let label = if width == 5 {
                    format!("{}h", &hour.label[..2])
                } else {
                    format!("{:<width$}", hour.label)
                };
                let _ = writeln!(
                    s,
                    "{label} {} | {}",
                    row(&simulated.planned),
                    row(&simulated.ran)
                );
            }
        }
    }

    /// The minutes that differed from the plan, and the verdict.
    fn write_verdict(&self, s: &mut String) {
        match self.differences.len() {
            0 => s.push_str("Every minute ran as planned.\n"),
            n => {
                let shown: Vec<String> = self
                    .differences
                    .iter()
                    .take(8)
                    .map(|d| format!("{} {}→{}", &d.minute[11..], d.planned, d.simulated))
                    .collect();
                let _ = writeln!(
                    s,
                    "{n} minutes differed from the plan (planned→simulated): {}{}",
                    shown.join(", "),
                    if n > 8 { ", …" } else { "" }
                );
            }
        }
        s.push('\n');
        match &self.first_problem {
            None => {
                let under_way: u64 = self.integrations.iter().map(|i| i.moved.backlog).sum();
                let delivered = if under_way == 0 {
                    "every change was delivered within its freshness".to_string()
                } else {
                    format!(
                        "every change delivered arrived within its freshness ({under_way} still \
                         under way at the end, not late yet)"
                    )
                };
                let _ = writeln!(
                    s,
                    "Verdict: the plan holds — capacity was never exceeded, and {delivered}."
                );
            }
            Some(problem) => {
                let _ = writeln!(s, "Verdict: the plan does not hold — {problem}.");
            }
        }
    }
}

/// "day 2" over a day's tables when there are several, and what is odd
/// about a day the clock moves; nothing for a lone ordinary day.
fn day_heading(n: usize, days: u32, day: &pacer_cron::Day) -> String {
    let odd = if day.is_ordinary() {
        String::new()
    } else {
        let minutes = day.minutes();
        format!(
            "{} ({}h{} — the clock moves)",
            day.date(),
            minutes / 60,
            if minutes.is_multiple_of(60) {
                String::new()
            } else {
                format!(" {}m", minutes % 60)
            }
        )
    };
    match (days > 1, odd.is_empty()) {
        (true, true) => format!("day {}", n + 1),
        (true, false) => format!("day {}: {odd}", n + 1),
        (false, _) => odd,
    }
}

/// An hour's column heading: its hour (`7`), `HH:MM` where it starts off
/// the hour, the offset's hours where the hour comes twice (`02+01`).
fn column(label: &str) -> String {
    let hour: u32 = label[..2].parse().unwrap_or(0);
    let minutes = &label[3..5];
    match (label.get(5..), minutes) {
        (Some(offset), _) if !offset.is_empty() => format!("{:02}{}", hour, &offset[..3]),
        (_, "00") => hour.to_string(),
        _ => label[..5].to_string(),
    }
}

fn cell(n: u32, capacity: u32) -> char {
    match n {
        0 => '·',
        n if n > capacity => '!',
        n if n <= 9 => char::from_digit(n, 10).unwrap_or('+'),
        _ => '+',
    }
}

/// Seconds as "4m 05s", "1h 02m", "12s".
fn duration(seconds: i64) -> String {
    match seconds {
        s if s < 60 => format!("{s}s"),
        s if s < 3_600 => format!("{}m {:02}s", s / 60, s % 60),
        s => format!("{}h {:02}m", s / 3_600, s % 3_600 / 60),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn change_numbers_come_from_the_key() {
        assert_eq!(change_number("prices-000123"), Some(123));
        assert_eq!(change_number("SKU-1234567"), Some(1_234_567));
        assert_eq!(change_number("no-digits"), None);
    }

    /// A report over any days — ordinary, or the clock moving by an hour
    /// or half of one, in either hemisphere — renders as text and SVG
    /// with a backlog column and a load row for each hour each day has.
    mod any_days {
        use proptest::prelude::*;

        use super::super::*;

        fn report(zone: &str, start: jiff::civil::Date, days: u32, seed: u32) -> Report {
            let tz = TimeZone::get(zone).unwrap();
            let simulated: Vec<SimulatedDay> = (0..i64::from(days))
                .map(|n| {
                    let date = start.checked_add(jiff::Span::new().days(n)).unwrap();
                    let day = pacer_cron::Day::of(date, &tz).unwrap();
                    let load = |k: u32| -> Vec<u32> {
                        (0..day.minutes() as u32)
                            .map(|m| (m * k + seed) % 4)
                            .collect()
                    };
                    SimulatedDay {
                        planned: load(7),
                        ran: load(11),
                        day,
                    }
                })
                .collect();
            let hours: Vec<ReportHour> = simulated
                .iter()
                .flat_map(|s| {
                    s.day.hours().iter().map(|h| ReportHour {
                        date: s.day.date().to_string(),
                        hour: h.label.clone(),
                        minutes: h.len,
                    })
                })
                .collect();
            let integration = IntegrationReport {
                name: "prices".into(),
                freshness_minutes: Some(30),
                deadline_minutes: 30,
                moved: Moved::new(10, 10, 9, 1, 0),
                due: 10,
                late: 1,
                backlog_by_hour: (0..hours.len() as u64).collect(),
                worst_delay_s: 90,
                p95_delay_s: 60,
                executions: BTreeMap::new(),
                holds: false,
                problem: None,
                webhook: false,
                late_at: None,
            };
            Report {
                environment: "acme".into(),
                timezone: zone.into(),
                start: format!("{start}T00:00:00+00:00"),
                days,
                volume_factor: 1.0,
                request_ms: 200,
                capacity: 2,
                peak_at_once: 3,
                integrations: vec![integration],
                hours,
                differences: Vec::new(),
                holds: false,
                first_problem: Some("a test".into()),
                planned: vec![1; 1_440],
                simulated,
            }
        }

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(64))]

            #[test]
            fn renders_every_hour_of_every_day(
                zone in prop::sample::select(vec![
                    "Europe/Amsterdam", "America/New_York", "Australia/Lord_Howe",
                    "America/Santiago", "Asia/Kathmandu", "UTC",
                ]),
                day in 0i64..(2 * 366),
                days in 1u32..4,
                seed in 0u32..4,
            ) {
                let start = jiff::civil::date(2026, 1, 1)
                    .checked_add(jiff::Span::new().days(day))
                    .unwrap();
                let report = report(zone, start, days, seed);
                let text = report.to_text();
                let rows = text
                    .lines()
                    .skip_while(|l| !l.starts_with("Load by minute"))
                    .skip(1)
                    .filter(|l| l.contains(" | "))
                    .count();
                prop_assert_eq!(rows, report.hours.len());
                let columns: usize = text
                    .lines()
                    .filter(|l| l.starts_with("hour "))
                    .map(|l| l.split_whitespace().count() - 1)
                    .sum();
                prop_assert_eq!(columns, report.hours.len());
                let svg = report.to_svg();
                prop_assert_eq!(svg.matches("<svg").count(), days as usize + 2);
            }
        }
    }

    /// The large example's verdict once read "needs 1 runs per hour … only 0 fit".
    #[test]
    fn verdicts_say_one_run_and_no_room_in_words() {
        assert_eq!(
            room_beside_others("accounting", 0),
            "the other jobs on the accounting take its whole hour: no run fits"
        );
        assert_eq!(
            room_beside_others("erp", 1),
            "beside the other jobs on the erp only 1 fits"
        );
        assert_eq!(
            room_beside_others("erp", 4),
            "beside the other jobs on the erp only 4 fit"
        );
        assert_eq!(runs(1, ""), "1 run");
        assert_eq!(runs(1, "more "), "1 more run");
        assert_eq!(runs(26, "more "), "26 more runs");
    }

    #[test]
    fn durations_read_at_a_glance() {
        assert_eq!(duration(12), "12s");
        assert_eq!(duration(245), "4m 05s");
        assert_eq!(duration(3_720), "1h 02m");
    }
}
