//! A job as the engine runs it: built once from the config and its plan,
//! with what it does (pull or push), its budgets and its occupancy here.

use std::sync::{Arc, Mutex};

use jiff::{SignedDuration, Timestamp, tz::TimeZone};
use pacer_config::{Config, Connection, Flow, IntegrationConfig, JobPolicy};
use pacer_connect::{Destination, Source, Transport};
use pacer_cron::Schedule;
use pacer_plan::{JobKind, Plan};

use crate::{Error, lock::Locked};

/// A job as the engine runs it.
#[derive(Debug)]
pub(crate) struct Job {
    pub(crate) name: String,
    pub(crate) integration: String,
    pub(crate) schedule: Schedule,
    pub(crate) interval_minutes: u32,
    /// Items one execution moves at most.
    pub(crate) budget: u64,
    /// The rate budgets it takes from: its system's, then its own if set.
    pub(crate) budgets: Vec<String>,
    /// Its system's budget of requests (`rate: 60 requests/min`), if any:
    /// each page or delivery request takes one.
    pub(crate) request_budget: Option<String>,
    pub(crate) system: String,
    pub(crate) policy: JobPolicy,
    pub(crate) work: Work,
    /// What of the job is under way on this node.
    pub(crate) occupancy: Mutex<Occupancy>,
    /// Its next fire time, kept so each minute's check needs no search.
    next_fire: Mutex<Option<Timestamp>>,
}

/// A job's executions on this node: how many are reserved or running, and
/// whether one waits for them (overlap `queue_one`).
#[derive(Debug, Default)]
pub(crate) struct Occupancy {
    pub(crate) running: u32,
    pub(crate) queued: bool,
}

impl Job {
    /// Whether `job` fires at `at`, keeping its next fire time to avoid searching each minute.
    pub(crate) fn fires_at(&self, at: Timestamp, tz: &TimeZone) -> bool {
        let mut next = self.next_fire.locked();
        if next.is_none_or(|n| n < at) {
            *next = self
                .schedule
                .next_after(at - SignedDuration::from_millis(1), tz)
                .map(|z| z.timestamp());
        }
        if *next == Some(at) {
            *next = self.schedule.next_after(at, tz).map(|z| z.timestamp());
            true
        } else {
            false
        }
    }
}

/// What a job does.
#[derive(Debug)]
pub(crate) enum Work {
    Pull(Box<Source>),
    Push(Destination),
}

impl Work {
    pub(crate) fn new(
        kind: JobKind,
        integration: &str,
        connection: &Connection,
        flow: &Flow,
        transport: &Transport,
    ) -> Result<Option<Work>, Error> {
        Ok(match kind {
            // The records come by webhook: the pull job has nothing to fetch.
            JobKind::Pull if flow.webhook.is_some() => None,
            JobKind::Pull => Some(Work::Pull(Box::new(Source::with_transport(
                integration,
                connection,
                &flow.pull,
                transport,
            )?))),
            JobKind::Push => Some(Work::Push(Destination::with_transport(
                integration,
                connection,
                &flow.push,
                transport,
            )?)),
        })
    }
}

/// The jobs of a plan as the engine runs them.
pub(crate) struct Jobs {
    pub(crate) jobs: Vec<Arc<Job>>,
    /// Every rate budget the jobs take from (each system's, and each job's
    /// own where it sets one): name, items per minute.
    pub(crate) budgets: Vec<(String, f64)>,
}

/// Builds the jobs of `plan`, each with its connector (sending through
/// `transport`) and budgets.
pub(crate) fn build(config: &Config, plan: &Plan, transport: &Transport) -> Result<Jobs, Error> {
    // A system limited in requests has an items budget only when the file
    // also limits its items; the planner's rate counts what requests move.
    let mut budgets: Vec<(String, f64)> = config
        .environment
        .systems
        .iter()
        .filter_map(
            |s| match config.connection(&s.name).and_then(|c| c.requests) {
                None => Some((s.name.clone(), s.rate.items_per_minute())),
                Some(requests) => requests
                    .items_per_minute
                    .map(|items| (s.name.clone(), f64::from(items))),
            },
        )
        .collect();
    let mut jobs = Vec::new();
    for job in &plan.jobs {
        let IntegrationConfig {
            plan: integration,
            flow,
        } = config.integration(&job.integration).ok_or_else(|| {
            Error::Config(format!("the plan's job {} has no integration", job.job))
        })?;
        let (system, options, policy) = match job.kind {
            JobKind::Pull => (&integration.from, &integration.pull, flow.pull.policy),
            JobKind::Push => (&integration.to, &integration.push, flow.push.policy),
        };
        let connection = config
            .connection(system)
            .ok_or_else(|| Error::Config(format!("no system named {system}")))?;
        let rate = options.rate.map_or_else(
            || match connection.requests {
                // What this job's own requests move: a push's batch, a
                // pull's page.
                Some(requests) => {
                    let per_request = match job.kind {
                        JobKind::Push => f64::from(flow.push.batch),
                        JobKind::Pull => 100.0,
                    };
                    let moved = f64::from(requests.per_minute) * per_request;
                    requests
                        .items_per_minute
                        .map_or(moved, |items| moved.min(f64::from(items)))
                }
                None => config
                    .system(system)
                    .map_or(1.0, |s| s.rate.items_per_minute()),
            },
            |r| r.items_per_minute(),
        );
        let mut job_budgets = vec![system.clone()];
        let request_budget = connection.requests.map(|requests| {
            let name = format!("{system} requests");
            if !budgets.iter().any(|(known, _)| *known == name) {
                budgets.push((name.clone(), f64::from(requests.per_minute)));
            }
            name
        });
        if let Some(own) = options.rate {
            job_budgets.push(job.job.clone());
            budgets.push((job.job.clone(), own.items_per_minute()));
        }
        let budget = options.max_items.unwrap_or_else(|| {
            job.items_per_run
                .max((rate * f64::from(job.duration_minutes)).floor() as u64)
                .max(1)
        });
        let Some(work) = Work::new(job.kind, &job.integration, connection, flow, transport)? else {
            continue;
        };
        let schedule = Schedule::parse_with_key(&job.schedule, &job.job)
            .map_err(|e| Error::Config(format!("{}: schedule {:?}: {e}", job.job, job.schedule)))?;
        jobs.push(Arc::new(Job {
            name: job.job.clone(),
            integration: job.integration.clone(),
            schedule,
            interval_minutes: job.interval_minutes,
            budget,
            budgets: job_budgets,
            request_budget,
            system: system.clone(),
            policy,
            work,
            occupancy: Mutex::default(),
            next_fire: Mutex::new(None),
        }));
    }
    Ok(Jobs { jobs, budgets })
}
