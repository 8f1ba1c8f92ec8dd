//! The plan: every job's schedule, the environment's load, and what does not fit.

use std::fmt;

use pacer_cron::Schedule;
use schemars::JsonSchema;
use serde::{Serialize, Serializer, ser::SerializeSeq};

use crate::{
    Error,
    day::DayLoad,
    model::{ActiveHours, Environment, Integration, JobOptions, Rate},
    sizing::{self, Sizing},
    stagger::{self, DAY, Movable},
    systems::{self, SystemLoad, SystemMinutes},
};

/// Which of an integration's two jobs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum JobKind {
    /// Fetch from the source, create tasks.
    Pull,
    /// Take tasks, transform, deliver.
    Push,
}

/// How one job runs.
#[derive(Clone, Debug, Serialize, JsonSchema)]
#[schemars(rename = "PlannedJob")]
pub struct JobPlan {
    /// `<integration>.pull` or `<integration>.push`.
    pub job: String,
    /// The integration it belongs to.
    pub integration: String,
    /// Pull or push.
    pub kind: JobKind,
    /// Executions a day its (peak) volume needs.
    pub executions_per_day: u64,
    /// Runs an hour of its schedule, on average over its active hours.
    pub runs_per_hour: f64,
    /// Runs a day of its schedule.
    pub runs_per_day: u64,
    /// Minutes between runs (the average, for an explicit schedule that is not even).
    pub interval_minutes: u32,
    /// The cron expression.
    pub schedule: String,
    /// The schedule in words.
    pub description: String,
    /// Items one execution moves.
    pub items_per_run: u64,
    /// Items that must move a minute on average, ceil(volume / 1,440): the
    /// guide's "at least 25 price changes every minute".
    pub min_items_per_minute: u64,
    /// Whole minutes one execution takes.
    pub duration_minutes: u32,
    /// Spare runs as a share of the runs needed: `(runs - needed) / needed`, in percent.
    pub headroom_percent: f64,
    /// True when the schedule came from the file, not from the planner.
    pub explicit: bool,
}

/// The environment's load on the minute grid of a day.
#[derive(Clone, Debug, Serialize, JsonSchema)]
pub struct Load {
    /// Executions that may run at once.
    pub capacity: u32,
    /// The most executions running in any minute: the maximum of `by_minute`.
    pub peak: u32,
    /// A peak no choice of offsets can go below.
    pub lower_bound: u32,
    /// Executions running in each minute of the day, 0 = 00:00.
    pub by_minute: Vec<u32>,
}

/// Something in the plan that does not hold, or deserves a look.
#[derive(Clone, Debug, PartialEq, Serialize, JsonSchema)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Warning {
    /// More executions at once than the capacity, at these minutes of the day.
    CapacityExceeded {
        /// The capacity.
        capacity: u32,
        /// The peak.
        peak: u32,
        /// Minutes of the day (0 = 00:00) where the load exceeds the capacity.
        minutes: Vec<u32>,
    },
    /// On a day the clock moves (a repeated hour runs its executions twice),
    /// more executions at once than the capacity.
    CapacityExceededOn {
        /// The day, `YYYY-MM-DD`.
        date: String,
        /// The capacity.
        capacity: u32,
        /// The peak that day.
        peak: u32,
        /// Its minutes over capacity, as wall-clock labels (`02:15+01:00`).
        minutes: Vec<String>,
    },
    /// A system too slow for the volume even with a run every minute.
    TooSlow {
        /// The job.
        job: String,
        /// Executions a day needed.
        needed: u64,
        /// Executions a day possible within the active hours.
        possible: u64,
    },
    /// The interval between runs is longer than the freshness allows.
    Freshness {
        /// The integration.
        integration: String,
        /// The freshness asked for, in minutes.
        freshness_minutes: u32,
        /// The worst delay the schedules allow: the pull and push intervals
        /// together, plus the hours outside the active hours.
        worst_delay_minutes: u32,
        /// The part of that delay spent outside the active hours.
        inactive_minutes: u32,
    },
    /// An explicit schedule runs less often than the volume needs.
    TooFewRuns {
        /// The job.
        job: String,
        /// Executions a day needed.
        needed: u64,
        /// Runs a day of its schedule.
        runs: u64,
    },
    /// The integrations that share a system ask it, on average over the
    /// day, for more items a minute than its rate: no schedule can fit them.
    SystemOverloaded {
        /// The system.
        system: String,
        /// Items a minute it delivers or accepts.
        rate_per_minute: f64,
        /// Items a minute asked of it on average over the day, to one decimal.
        demand_per_minute: f64,
        /// The integrations that use it, the largest first.
        integrations: Vec<String>,
        /// The fewest of them (the largest first) that, moved to another
        /// system or slowed, leave what fits.
        move_or_slow: Vec<String>,
    },
    /// The plan asks a system, in some minutes, for more items than its
    /// rate: the jobs that share it could not each get minutes of their own.
    RateExceeded {
        /// The system.
        system: String,
        /// Items a minute it delivers or accepts.
        rate_per_minute: f64,
        /// The most items planned in one minute.
        peak_per_minute: u32,
        /// Minutes of the day (0 = 00:00) planned above the rate.
        minutes: Vec<u32>,
    },
    /// An execution takes longer than the interval, so it would overlap itself.
    SelfOverlap {
        /// The job.
        job: String,
        /// Minutes one execution takes.
        duration_minutes: u32,
        /// Minutes between runs.
        interval_minutes: u32,
    },
}

impl Warning {
    /// True when the warning means the plan does not fit (`pacer plan --check` fails).
    pub fn is_failure(&self) -> bool {
        !matches!(self, Warning::SelfOverlap { .. })
    }
}

impl fmt::Display for Warning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Warning::CapacityExceeded {
                capacity,
                peak,
                minutes,
            } => {
                write!(
                    f,
                    "capacity exceeded: {peak} executions at once against a capacity of {capacity}, at {}",
                    minute_ranges(minutes)
                )
            }
            Warning::CapacityExceededOn {
                date,
                capacity,
                peak,
                minutes,
            } => {
                let shown: Vec<&str> = minutes.iter().take(8).map(String::as_str).collect();
                write!(
                    f,
                    "capacity exceeded on {date}, when the clock moves: {peak} executions at once \
                     against a capacity of {capacity}, at {}{}",
                    shown.join(", "),
                    if minutes.len() > 8 {
                        format!(" and {} more minutes", minutes.len() - 8)
                    } else {
                        String::new()
                    }
                )
            }
            Warning::TooSlow {
                job,
                needed,
                possible,
            } => write!(
                f,
                "{job}: needs {needed} executions a day but at most {possible} fit even at one a minute \
                 ({:.1}x too slow); raise the rate or the item budget per run (max_items)",
                *needed as f64 / (*possible).max(1) as f64
            ),
            Warning::Freshness {
                integration,
                freshness_minutes,
                worst_delay_minutes,
                inactive_minutes,
            } => {
                write!(
                    f,
                    "{integration}: freshness of {freshness_minutes} minutes cannot be met; a change can wait \
                     up to {worst_delay_minutes} minutes for its pull and push"
                )?;
                if *inactive_minutes > 0 {
                    write!(f, ", {inactive_minutes} of them outside its active hours")?;
                }
                Ok(())
            }
            Warning::SystemOverloaded {
                system,
                rate_per_minute,
                demand_per_minute,
                integrations,
                move_or_slow,
            } => write!(
                f,
                "{system}: {} ask it for {demand_per_minute:.1} items a minute on average over the \
                 day but its rate is {}/min; it needs a rate of {}/min, or move \
                 {} to another system or slow it (peak_factor, volume)",
                integrations.join(", "),
                items(*rate_per_minute),
                demand_per_minute.ceil(),
                move_or_slow.join(" and ")
            ),
            Warning::RateExceeded {
                system,
                rate_per_minute,
                peak_per_minute,
                minutes,
            } => write!(
                f,
                "{system}: {peak_per_minute} items a minute planned against its rate of {}/min, \
                 at {}; its jobs could not each get minutes of their own: lower their item \
                 budget per run (max_items) or raise the rate",
                items(*rate_per_minute),
                minute_ranges(minutes)
            ),
            Warning::TooFewRuns { job, needed, runs } => write!(
                f,
                "{job}: its schedule runs {runs} times a day but the volume needs {needed} executions"
            ),
            Warning::SelfOverlap {
                job,
                duration_minutes,
                interval_minutes,
            } => write!(
                f,
                "{job}: an execution takes {duration_minutes} minutes but runs every {interval_minutes}, \
                 so it would overlap itself"
            ),
        }
    }
}

/// A rate as written: `100`, `0.5`.
fn items(per_minute: f64) -> String {
    if per_minute.fract() == 0.0 && per_minute.abs() < 1e15 {
        format!("{per_minute:.0}")
    } else {
        format!("{per_minute:.1}")
    }
}

/// `08:00-08:02, 14:07`: minutes of the day as clock-time ranges.
fn minute_ranges(minutes: &[u32]) -> String {
    let clock = |m: u32| format!("{:02}:{:02}", m / 60, m % 60);
    let mut parts = Vec::new();
    let mut i = 0;
    while i < minutes.len() {
        let mut j = i;
        while j + 1 < minutes.len() && minutes[j + 1] == minutes[j] + 1 {
            j += 1;
        }
        parts.push(if i == j {
            clock(minutes[i])
        } else {
            format!("{}-{}", clock(minutes[i]), clock(minutes[j]))
        });
        i = j + 1;
    }
    if parts.len() > 8 {
        let more = parts.len() - 8;
        parts.truncate(8);
        parts.push(format!("and {more} more"));
    }
    parts.join(", ")
}

/// Every job's schedule and the environment's load.
///
/// Serialized, it is what `pacer plan --format json` prints and the API
/// serves: each warning carries its message beside its figures.
#[derive(Clone, Debug, Serialize, JsonSchema)]
pub struct Plan {
    /// The environment's name.
    pub environment: String,
    /// The jobs, in the order of the integrations, pull before push.
    pub jobs: Vec<JobPlan>,
    /// The minute-by-minute load.
    pub load: Load,
    /// Each system's rate, shared by every job that reads from it or writes
    /// to it, against what the day asks of it and the plan puts on it.
    pub systems: Vec<SystemLoad>,
    /// True when no warning is a failure: capacity, freshness and throughput hold.
    pub fits: bool,
    /// What does not hold, or deserves a look.
    #[serde(serialize_with = "with_messages")]
    #[schemars(with = "Vec<Explained<'static>>")]
    pub warnings: Vec<Warning>,
    /// The load of the days the clock moves, once
    /// [`check_days`](Plan::check_days) has laid the plan on them.
    pub days: Vec<DayLoad>,
}

/// A warning as it is served: its kind and figures, and the sentence that
/// says them.
#[derive(Serialize, JsonSchema)]
#[schemars(rename = "Warning")]
struct Explained<'a> {
    #[serde(flatten)]
    warning: &'a Warning,
    /// The warning in words, as `pacer plan` prints it.
    message: String,
}

fn with_messages<S: Serializer>(warnings: &[Warning], serializer: S) -> Result<S::Ok, S::Error> {
    let mut seq = serializer.serialize_seq(Some(warnings.len()))?;
    for warning in warnings {
        seq.serialize_element(&Explained {
            warning,
            message: warning.to_string(),
        })?;
    }
    seq.end()
}

/// One job as the planner sees it while planning.
struct Draft {
    integration: usize,
    kind: JobKind,
    /// The system it reads from or writes to.
    system: usize,
    /// Items a day it moves: its integration's volume times the peak factor.
    items_per_day: f64,
    /// The most items a minute the system gives it (its own rate, when
    /// lower).
    rate: f64,
    sizing: Sizing,
    hours: ActiveHours,
    /// `Some` for an explicit schedule.
    fixed: Option<Schedule>,
    interval: u32,
}

impl Draft {
    /// Items a minute it asks of its system while it runs, when it runs
    /// `runs` times a day: the day's items shared over its runs (a run
    /// moves no more than its budget), over the minutes a run takes, never
    /// more than the system gives it.
    fn usage(&self, runs: usize) -> f64 {
        let per_run =
            (self.items_per_day / runs.max(1) as f64).min(self.sizing.items_per_run as f64);
        (per_run / f64::from(self.sizing.duration_minutes)).min(self.rate)
    }
}

/// Plans an environment.
///
/// # Errors
///
/// When an integration names a system the environment does not have, or a
/// rate, volume, peak factor or capacity is beyond what the planner takes
/// (the bounds on [`Rate`] and [`MOST_PER_DAY`](crate::MOST_PER_DAY)):
/// the planner's work is bounded by them.
pub fn plan(environment: &Environment) -> Result<Plan, Error> {
    within_bounds(environment)?;
    let mut drafts = Vec::new();
    let mut warnings = Vec::new();
    for (index, integration) in environment.integrations.iter().enumerate() {
        let source = system_of(environment, integration, &integration.from)?;
        let destination = system_of(environment, integration, &integration.to)?;
        for (kind, options, system) in [
            (JobKind::Pull, &integration.pull, source),
            (JobKind::Push, &integration.push, destination),
        ] {
            let rate = environment.systems[system].rate;
            drafts.push(draft(index, integration, kind, options, (system, rate)));
        }
        choose_intervals(integration, &mut drafts, &mut warnings);
    }

    let mut placed = place(environment, &drafts);
    // Jobs that share a system but run at unrelated intervals (every 3 and
    // every 20 minutes) meet whatever their offsets; intervals that divide
    // one another can keep apart, so a crowded system's jobs get those, at
    // the cost of a few more runs, and are placed again.
    let crowded: Vec<usize> = (0..environment.systems.len())
        .filter(|&s| {
            placed.minutes.minutes_over(s) > 0
                && systems::demand_per_minute(environment, s) <= placed.minutes.rate(s)
        })
        .collect();
    if !crowded.is_empty() {
        harmonise(&mut drafts, &crowded);
        placed = place(environment, &drafts);
    }
    let Placement {
        offsets,
        by_minute,
        base,
        minutes,
    } = placed;
    let name = |i: usize| job_name(environment, &drafts[i]);

    let mut jobs = Vec::with_capacity(drafts.len());
    for (i, d) in drafts.iter().enumerate() {
        let (expr, schedule) = match &d.fixed {
            Some(schedule) => (schedule.source().to_string(), schedule.clone()),
            None => {
                let offset = offsets[i];
                let expr = sizing::schedule(d.interval, offset, d.hours);
                let schedule = Schedule::parse(&expr).expect("the planner writes valid cron");
                (expr, schedule)
            }
        };
        jobs.push(job_plan(
            environment,
            d,
            &name(i),
            expr,
            &schedule,
            &mut warnings,
        ));
    }

    let peak = by_minute.iter().copied().max().unwrap_or(0);
    let capacity = environment.capacity;
    if peak > capacity {
        let minutes = (0..DAY as u32)
            .filter(|&m| by_minute[m as usize] > capacity)
            .collect();
        warnings.insert(
            0,
            Warning::CapacityExceeded {
                capacity,
                peak,
                minutes,
            },
        );
    }
    // What the systems are asked for comes first: when a system cannot
    // serve its integrations, nothing else about the plan matters as much.
    let mut system_warnings = Vec::new();
    let systems = systems::loads(environment, &minutes, &mut system_warnings);
    warnings.splice(0..0, system_warnings);
    let lower_bound = lower_bound(&drafts, &base);
    Ok(Plan {
        environment: environment.name.clone(),
        fits: !warnings.iter().any(Warning::is_failure),
        jobs,
        load: Load {
            capacity,
            peak,
            lower_bound,
            by_minute,
        },
        systems,
        warnings,
        days: Vec::new(),
    })
}

/// Where the jobs run: each auto job's offset (0 for a fixed one), the
/// load of the capacity and of the systems in each minute, and the fixed
/// jobs' part of the capacity's.
struct Placement {
    offsets: Vec<u32>,
    by_minute: Vec<u32>,
    base: Vec<u32>,
    minutes: SystemMinutes,
}

/// Jobs with explicit schedules are fixed load; the planner places the
/// rest around them, the heaviest first.
fn place(environment: &Environment, drafts: &[Draft]) -> Placement {
    let mut base = vec![0u32; DAY];
    let mut minutes = SystemMinutes::new(
        environment
            .systems
            .iter()
            .map(|s| s.rate.items_per_minute())
            .collect(),
    );
    let mut movable = Vec::new();
    let mut movable_draft = Vec::new();
    for (i, d) in drafts.iter().enumerate() {
        match &d.fixed {
            Some(schedule) => {
                let starts: Vec<u16> = schedule.times_of_day().iter().map(|m| m as u16).collect();
                stagger::apply(&mut base, &starts, d.sizing.duration_minutes, 1);
                let usage = d.usage(starts.len());
                minutes.apply(d.system, &starts, d.sizing.duration_minutes, usage);
            }
            None => {
                let runs = stagger::starts(d.interval, 0, d.hours).len();
                movable.push(Movable {
                    interval: d.interval,
                    duration: d.sizing.duration_minutes,
                    hours: d.hours,
                    system: d.system,
                    usage: d.usage(runs),
                });
                movable_draft.push(i);
            }
        }
    }
    let name = |i: usize| job_name(environment, &drafts[i]);
    let mut order: Vec<usize> = (0..movable.len()).collect();
    // Heaviest first: the share of time a job keeps a slot busy, then the
    // shorter interval (fewer choices), then the name, so plans are reproducible.
    order.sort_by(|&a, &b| {
        let weight = |m: &Movable| f64::from(m.duration) / f64::from(m.interval);
        weight(&movable[b])
            .total_cmp(&weight(&movable[a]))
            .then(movable[a].interval.cmp(&movable[b].interval))
            .then_with(|| name(movable_draft[a]).cmp(&name(movable_draft[b])))
    });
    let (movable_offsets, by_minute) = stagger::stagger(&movable, &base, &mut minutes, &order);
    let mut offsets = vec![0; drafts.len()];
    for (draft, offset) in movable_draft.into_iter().zip(movable_offsets) {
        offsets[draft] = offset;
    }
    Placement {
        offsets,
        by_minute,
        base,
        minutes,
    }
}

/// Gives the auto jobs of each `crowded` system intervals that divide one
/// another: the shortest stays, each longer one becomes the longest
/// interval that is a multiple of the one before it and no longer than its
/// own. Only shorter intervals: more runs, never less freshness.
fn harmonise(drafts: &mut [Draft], crowded: &[usize]) {
    for &system in crowded {
        let mut shared: Vec<&mut Draft> = drafts
            .iter_mut()
            .filter(|d| d.system == system && d.fixed.is_none())
            .collect();
        shared.sort_by_key(|d| d.interval);
        let mut previous: Option<u32> = None;
        for d in shared {
            if let Some(base) = previous {
                d.interval = sizing::multiple_within(base, d.interval, d.hours);
            }
            previous = Some(d.interval);
        }
    }
}

/// Refuses what no plan can be made of in reasonable time.
fn within_bounds(environment: &Environment) -> Result<(), Error> {
    let out = |what: String, value: String, expected| {
        Err(Error::OutOfRange {
            what,
            value,
            expected,
        })
    };
    if environment.capacity == 0 {
        return out(
            "environment.capacity".into(),
            "0".into(),
            "at least 1 execution at once",
        );
    }
    let rates = environment
        .systems
        .iter()
        .map(|s| (format!("systems.{}.rate", s.name), s.rate))
        .chain(environment.integrations.iter().flat_map(|i| {
            [(&i.pull, "pull"), (&i.push, "push")]
                .into_iter()
                .filter_map(move |(o, kind)| {
                    Some((format!("integrations.{}.{kind}.rate", i.name), o.rate?))
                })
        }));
    for (what, rate) in rates {
        if !rate.is_plannable() {
            return out(
                what,
                format!("{}/min", rate.items_per_minute()),
                "a rate from 1/h to 1000000/s",
            );
        }
    }
    for i in &environment.integrations {
        if !(0.0..=crate::MOST_PER_DAY).contains(&i.volume_per_day) {
            return out(
                format!("integrations.{}.volume", i.name),
                format!("{}/day", i.volume_per_day),
                "0 to 1000000000 a day",
            );
        }
        if !(i.peak_factor > 0.0 && i.peak_factor <= 100.0) {
            return out(
                format!("integrations.{}.peak_factor", i.name),
                i.peak_factor.to_string(),
                "above 0 and at most 100",
            );
        }
    }
    Ok(())
}

/// The index of the system named `system`.
fn system_of(
    environment: &Environment,
    integration: &Integration,
    system: &str,
) -> Result<usize, Error> {
    environment
        .systems
        .iter()
        .position(|s| s.name == system)
        .ok_or_else(|| Error::UnknownSystem {
            integration: integration.name.clone(),
            system: system.to_string(),
        })
}

fn draft(
    index: usize,
    integration: &Integration,
    kind: JobKind,
    options: &JobOptions,
    (system, system_rate): (usize, Rate),
) -> Draft {
    let rate = options.rate.unwrap_or(system_rate);
    let sizing = sizing::size(
        integration.volume_per_day,
        integration.peak_factor,
        rate,
        options.max_items,
    );
    Draft {
        integration: index,
        kind,
        system,
        items_per_day: integration.volume_per_day * integration.peak_factor,
        rate: rate.items_per_minute().min(system_rate.items_per_minute()),
        sizing,
        hours: integration.active_hours,
        fixed: options.schedule.clone(),
        interval: 1,
    }
}

fn job_name(environment: &Environment, draft: &Draft) -> String {
    let kind = match draft.kind {
        JobKind::Pull => "pull",
        JobKind::Push => "push",
    };
    format!(
        "{}.{kind}",
        environment.integrations[draft.integration].name
    )
}

/// The intervals of an integration's two auto jobs (the last two drafts): each
/// the longest its volume allows, then shortened until pull and push together
/// stay within the freshness.
fn choose_intervals(integration: &Integration, drafts: &mut [Draft], warnings: &mut Vec<Warning>) {
    let n = drafts.len();
    let (pull, push) = drafts[n - 2..].split_at_mut(1);
    let (pull, push) = (&mut pull[0], &mut push[0]);
    let freshness = integration.freshness_minutes;
    // Without a freshness, the guide's method: at least one run an hour.
    let longest = freshness.unwrap_or(60);
    for d in [&mut *pull, &mut *push] {
        d.interval = match &d.fixed {
            Some(schedule) => average_interval(schedule),
            None => sizing::interval(d.sizing.executions_per_day, d.hours, longest),
        };
    }
    let Some(freshness) = freshness else { return };
    while pull.interval + push.interval > freshness {
        // Shorten the longer auto job; stop when neither can shorten.
        let candidate = [&mut *pull, &mut *push]
            .into_iter()
            .filter(|d| d.fixed.is_none() && d.interval > 1)
            .max_by_key(|d| d.interval);
        let Some(d) = candidate else { break };
        let limit = d.interval - 1;
        d.interval = sizing::interval(d.sizing.executions_per_day, d.hours, limit);
    }
    // A change made after the active hours end waits for them to start again.
    let inactive_minutes = (24 - integration.active_hours.hours()) * 60;
    let worst_delay_minutes = pull.interval + push.interval + inactive_minutes;
    if worst_delay_minutes > freshness {
        warnings.push(Warning::Freshness {
            integration: integration.name.clone(),
            freshness_minutes: freshness,
            worst_delay_minutes,
            inactive_minutes,
        });
    }
}

/// Minutes between runs of an explicit schedule: its period when it repeats
/// evenly all day, else the day divided by its runs.
fn average_interval(schedule: &Schedule) -> u32 {
    let runs = schedule.fires_per_day().max(1);
    match schedule.period_within_hour() {
        Some(period) if runs == 24 * (60 / period.every) => period.every,
        _ => DAY as u32 / runs,
    }
}

fn job_plan(
    environment: &Environment,
    d: &Draft,
    name: &str,
    expr: String,
    schedule: &Schedule,
    warnings: &mut Vec<Warning>,
) -> JobPlan {
    let runs_per_day = u64::from(schedule.fires_per_day());
    let needed = d.sizing.executions_per_day;
    let active_minutes = u64::from(d.hours.hours()) * 60;
    let possible = active_minutes / u64::from(d.sizing.duration_minutes);
    if needed > possible {
        warnings.push(Warning::TooSlow {
            job: name.to_string(),
            needed,
            possible,
        });
    } else if d.fixed.is_some() && runs_per_day < needed {
        warnings.push(Warning::TooFewRuns {
            job: name.to_string(),
            needed,
            runs: runs_per_day,
        });
    }
    if d.sizing.duration_minutes > d.interval {
        warnings.push(Warning::SelfOverlap {
            job: name.to_string(),
            duration_minutes: d.sizing.duration_minutes,
            interval_minutes: d.interval,
        });
    }
    let headroom_percent = if needed == 0 {
        100.0
    } else {
        ((runs_per_day as f64 - needed as f64) / needed as f64 * 1000.0).round() / 10.0
    };
    JobPlan {
        job: name.to_string(),
        integration: environment.integrations[d.integration].name.clone(),
        kind: d.kind,
        executions_per_day: needed,
        runs_per_hour: (runs_per_day as f64 / f64::from(d.hours.hours()) * 100.0).round() / 100.0,
        runs_per_day,
        interval_minutes: d.interval,
        description: schedule.describe(),
        schedule: expr,
        items_per_run: d.sizing.items_per_run,
        min_items_per_minute: (environment.integrations[d.integration].volume_per_day / 1440.0
            - 1e-9)
            .ceil()
            .max(0.0) as u64,
        duration_minutes: d.sizing.duration_minutes,
        headroom_percent,
        explicit: d.fixed.is_some(),
    }
}

/// A peak no offsets can beat: the longest job's overlap with itself, the
/// fixed load, and for every hour the average load of the jobs that are
/// steady through it.
///
/// A job with an interval dividing the hour, running in the hour before too,
/// keeps a slot busy exactly `duration / interval` of every minute of the hour
/// on average, whatever its offset; the busiest minute is at least the average.
fn lower_bound(drafts: &[Draft], base: &[u32]) -> u32 {
    let own = drafts
        .iter()
        .map(|d| d.sizing.duration_minutes.div_ceil(d.interval))
        .max()
        .unwrap_or(0);
    let fixed = base.iter().copied().max().unwrap_or(0);
    let mut by_hour = 0u32;
    for hour in 0..24u32 {
        let previous = (hour + 23) % 24;
        let steady: f64 = drafts
            .iter()
            .filter(|d| d.fixed.is_none() && d.interval <= 60 && 60 % d.interval == 0)
            .filter(|d| d.sizing.duration_minutes <= 60)
            .filter(|d| d.hours.contains(hour) && d.hours.contains(previous))
            .map(|d| f64::from(d.sizing.duration_minutes) / f64::from(d.interval))
            .sum();
        let fixed_average = base[hour as usize * 60..(hour as usize + 1) * 60]
            .iter()
            .map(|&l| f64::from(l))
            .sum::<f64>()
            / 60.0;
        by_hour = by_hour.max(((steady + fixed_average) - 1e-9).ceil() as u32);
    }
    own.max(fixed).max(by_hour)
}
