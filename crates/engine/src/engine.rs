//! The scheduler: each minute, the due jobs; each due job, once per cluster.

use std::{
    collections::{BTreeMap, BTreeSet, HashMap},
    sync::{
        Arc, Mutex,
        atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering},
    },
};

use jiff::{SignedDuration, Timestamp, tz::TimeZone};
use pacer_config::{CatchUp, Config, Overlap};
use pacer_connect::{Intake, Refusal};
use pacer_plan::Plan;
use pacer_store::{Due, ExecutionState, Interrupted, Lease, Minute, NodeProcess, Rejected, Store};

use crate::{
    Counters, Error, Settings, Stats, Timings,
    alerts::{Alerting, LOST_AFTER},
    clock::{Bell, Clock},
    execution::Execution,
    job::{self, Job, Occupancy, Work},
    limit::Limits,
    lock::Locked,
    state::Inner,
};

/// What [`Engine::readiness`] found: each check, or why it failed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Readiness {
    /// The store answers a query.
    pub store: Result<(), String>,
    /// The scheduler woke within the last 90 s.
    pub scheduler: Result<(), String>,
    /// This node's heartbeat reached the store within a lease.
    pub heartbeat: Result<(), String>,
}

impl Readiness {
    /// Whether every check passed.
    pub fn is_ready(&self) -> bool {
        self.store.is_ok() && self.scheduler.is_ok() && self.heartbeat.is_ok()
    }
}

/// How often one node of the cluster deletes what the retention no longer
/// keeps; each node offers every [`PRUNE_OFFER`] minutes, so a prune follows
/// the last within this and a few minutes, whichever nodes live.
const PRUNE_EVERY: SignedDuration = SignedDuration::from_hours(1);
const PRUNE_OFFER: i64 = 5;

/// Rows a prune deletes per statement: each holds its locks only briefly.
const PRUNE_BATCH: u32 = 1_000;

/// What a webhook delivery queued.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Received {
    /// Records queued as tasks.
    pub queued: usize,
    /// Records kept as rejected (no key).
    pub rejected: usize,
}

/// What replaying an integration's dead tasks did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Replayed {
    /// Tasks queued again.
    pub replayed: u64,
    /// Tasks left dead because their record itself cannot be sent — it was
    /// rejected when read, its transform fails, its path names a field it
    /// lacks — each with the reason; sending them again fails the same way.
    pub left: Vec<(i64, String)>,
}

/// Why a webhook delivery was not queued.
#[derive(Debug, thiserror::Error)]
pub enum Refused {
    /// No integration by that name receives webhooks.
    #[error("no integration named {0:?} receives webhooks")]
    NoWebhook(String),
    /// The delivery itself was refused.
    #[error("{}", describe(.0))]
    Intake(Refusal),
    /// The store failed; nothing was queued.
    #[error("the store failed: {0}")]
    Store(Error),
}

fn describe(refusal: &Refusal) -> String {
    match refusal {
        Refusal::Unauthorized => "missing or wrong X-Pacer-Secret header".into(),
        Refusal::TooLarge { max_bytes } => format!("body larger than {max_bytes} bytes"),
        Refusal::NotJson(reason) => format!("body is {reason}; kept as a rejected record"),
        Refusal::TooDeep => format!(
            "body is JSON nested deeper than {} arrays and objects; kept as a rejected record",
            pacer_jq::MAX_DEPTH
        ),
    }
}

/// The environment an engine runs, as the API shows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EnvironmentView {
    /// Its name.
    pub name: String,
    /// Its IANA time zone: schedules and days are read in it.
    pub timezone: String,
    /// Executions that may run at once, across all nodes.
    pub capacity: u32,
    /// This node's name.
    pub node: String,
    /// How long the store keeps what is done.
    pub retention: pacer_config::Retention,
}

/// A job an engine runs, as the API shows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JobView {
    /// `integration.pull` or `integration.push`.
    pub name: String,
    /// Its integration.
    pub integration: String,
    /// `pull` or `push`.
    pub kind: &'static str,
    /// The system it reads or writes.
    pub system: String,
    /// Its cron expression.
    pub schedule: String,
    /// The schedule in words.
    pub description: String,
    /// Items one execution moves at most.
    pub budget: u64,
    /// Its next runs, in the environment's time zone.
    pub next: Vec<jiff::Zoned>,
}

/// A running engine; cheap to clone, every clone is the same engine.
#[derive(Clone, Debug)]
pub struct Engine {
    inner: Arc<Inner>,
}

impl Engine {
    /// Builds the engine for a config and its plan.
    ///
    /// # Errors
    ///
    /// A connector that cannot be built (jq that does not compile, a secret
    /// not set, a system without `base_url`), or an unknown time zone.
    pub fn new(
        config: &Config,
        plan: &Plan,
        store: Arc<Store>,
        clock: Arc<dyn Clock>,
        settings: Settings,
    ) -> Result<Engine, Error> {
        let tz = config.time_zone.clone();
        let environment = &config.environment;
        let job::Jobs { jobs, budgets } = job::build(config, plan, &settings.transport)?;
        let mut intakes = HashMap::new();
        for flow in &config.flows {
            if let Some(webhook) = &flow.webhook {
                intakes.insert(flow.integration.clone(), Intake::new(webhook)?);
            }
        }
        let mut limits = Limits::new(
            store.clone(),
            clock.clone(),
            budgets,
            settings.enforce_rates,
        );
        for job in &jobs {
            limits.share(&job.name, &job.budgets);
            limits.share(&job.name, job.request_budget.as_slice());
        }
        let alerting = match &config.alerts {
            Some(alerts) => Some(Alerting {
                conditions: alerts.conditions,
                notifier: pacer_connect::Notifier::new(&alerts.channels)?,
                repeat: alerts.repeat,
            }),
            None => None,
        };
        let freshness = config
            .environment
            .integrations
            .iter()
            .filter_map(|i| {
                let minutes = i.freshness_minutes?;
                Some((i.name.clone(), SignedDuration::from_mins(minutes.into())))
            })
            .collect();
        Ok(Engine {
            inner: Arc::new(Inner {
                environment: environment.name.clone(),
                timezone: config.timezone.clone(),
                plan: plan.clone(),
                clock,
                store,
                settings,
                tz,
                capacity: environment.capacity,
                jobs,
                maintenance: config.maintenance.clone(),
                retention: config.retention,
                alerting,
                freshness,
                intakes,
                limits,
                counters: Counters::default(),
                stopping: AtomicBool::new(false),
                stopped: tokio::sync::Notify::new(),
                waiting: Mutex::new(BTreeSet::new()),
                turn: Bell::default(),
                sequence: AtomicU64::new(0),
                failure: Mutex::new(None),
                last_tick: AtomicI64::new(i64::MIN),
                last_beat: AtomicI64::new(i64::MIN),
                declared: environment.clone(),
                declared_profiles: config.flows.iter().map(|f| f.profile).collect(),
                seen: Mutex::new(None),
            }),
        })
    }

    /// Runs the scheduler until `until` (exclusive) or [`stop`](Engine::stop),
    /// then lets running executions end and returns.
    ///
    /// # Errors
    ///
    /// When the store fails in a way the scheduler cannot go on from.
    pub async fn run(&self, until: Option<Timestamp>) -> Result<(), Error> {
        let inner = self.inner.clone();
        let beating = Arc::new(AtomicBool::new(true));
        let heart = (self.inner.clone(), beating.clone());
        let heartbeat_slot: Arc<Mutex<Option<tokio::task::JoinHandle<()>>>> = Arc::default();
        let slot = heartbeat_slot.clone();
        // The scheduler first: a heartbeat spawned first could sleep, and
        // a virtual clock with nothing else to wait for would move on
        // before the scheduler saw its first minute.
        let scheduler = self.inner.clock.spawn(Box::pin(async move {
            if let Err(e) = inner.schedule(until).await {
                tracing::error!(error = %e, "the scheduler stopped");
                *inner.failure.locked() = Some(e);
            }
            // The heartbeat ends while the scheduler still counts as busy: a
            // virtual clock must not move past the run's end to wake it.
            beating.store(false, Ordering::SeqCst);
            inner.stopped.notify_waiters();
            let heartbeat = slot.locked().take();
            if let Some(heartbeat) = heartbeat {
                let _ = heartbeat.await;
            }
        }));
        let heartbeat = self.inner.clock.spawn(Box::pin(async move {
            let (inner, beating) = heart;
            if let Err(e) = inner.beat(&beating).await {
                tracing::error!(error = %e, "the heartbeat stopped");
            }
        }));
        *heartbeat_slot.locked() = Some(heartbeat);
        let _ = scheduler.await;
        // Set after the scheduler ended, if it ended at once: it ends soon.
        let heartbeat = heartbeat_slot.locked().take();
        if let Some(heartbeat) = heartbeat {
            let _ = heartbeat.await;
        }
        // Its silence from now on is not a loss.
        let now = self.inner.clock.now();
        if let Err(e) = self
            .inner
            .store
            .node_stopped(&self.inner.settings.node, now)
            .await
        {
            tracing::warn!(error = %e, "could not record that this node stopped");
        }
        match self.inner.failure.locked().take() {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }

    /// Starts no new executions; running ones end at their next page or
    /// batch, and an idle engine's [`run`](Engine::run) returns at once.
    pub fn stop(&self) {
        self.inner.stopping.store(true, Ordering::SeqCst);
        self.inner.stopped.notify_waiters();
        // Executions waiting for capacity give up now.
        self.inner.clock.ring(&self.inner.turn);
    }

    /// What this node did so far.
    pub fn stats(&self) -> Stats {
        self.inner.counters.snapshot()
    }

    /// The engine's clock.
    pub fn clock(&self) -> &Arc<dyn Clock> {
        &self.inner.clock
    }

    /// Queues the records of a webhook delivery to `integration`: each element
    /// of an array body, else the body. Records without a key, and a body that
    /// is not JSON, are kept as rejected (dead) tasks with the reason.
    ///
    /// # Errors
    ///
    /// [`Refused`]: no such webhook, a wrong secret, too large, not JSON, or
    /// the store failed (nothing was queued then).
    pub async fn receive(
        &self,
        integration: &str,
        body: &[u8],
        secret: Option<&str>,
    ) -> Result<Received, Refused> {
        let inner = &self.inner;
        let intake = inner
            .intakes
            .get(integration)
            .ok_or_else(|| Refused::NoWebhook(integration.to_string()))?;
        let now = inner.clock.now();
        let (records, rejected) = match intake.read(body, secret).await {
            Ok(read) => read,
            Err(refusal @ (Refusal::NotJson(_) | Refusal::TooDeep)) => {
                let reason = describe(&refusal);
                let raw = String::from_utf8_lossy(&body[..body.len().min(64 * 1024)]);
                inner
                    .store
                    .reject(
                        integration,
                        &Rejected {
                            key: "webhook body",
                            raw: &raw,
                            reason: &reason,
                        },
                        now,
                    )
                    .await
                    .map_err(|e| Refused::Store(e.into()))?;
                return Err(Refused::Intake(refusal));
            }
            Err(refusal) => return Err(Refused::Intake(refusal)),
        };
        for r in &rejected {
            inner
                .store
                .reject(
                    integration,
                    &Rejected {
                        key: &r.key,
                        raw: &r.raw,
                        reason: &r.reason,
                    },
                    now,
                )
                .await
                .map_err(|e| Refused::Store(e.into()))?;
        }
        let tasks: Vec<pacer_store::NewTask> = records
            .iter()
            .map(|r| pacer_store::NewTask {
                key: r.key.clone(),
                payload: r.payload.clone(),
            })
            .collect();
        inner
            .store
            .enqueue(integration, &tasks, None, now)
            .await
            .map_err(|e| Refused::Store(e.into()))?;
        inner.counters.update(|s| {
            let moved = s.moved.entry(integration.to_string()).or_default();
            moved.queued += tasks.len() as u64;
            moved.rejected += rejected.len() as u64;
        });
        tracing::info!(
            integration,
            queued = tasks.len(),
            rejected = rejected.len(),
            "webhook received"
        );
        Ok(Received {
            queued: tasks.len(),
            rejected: rejected.len(),
        })
    }

    /// Queues `integration`'s dead tasks again, but for those whose record
    /// would fail the same way: each dead task's record goes through the
    /// push job's transform and path template (as now configured: a fixed
    /// transform lets its tasks through) before it is replayed.
    ///
    /// # Errors
    ///
    /// The store failed.
    pub async fn replay_dead(&self, integration: &str) -> Result<Replayed, Error> {
        let inner = &self.inner;
        let destination = inner.jobs.iter().find_map(|job| match &job.work {
            Work::Push(destination) if job.integration == integration => Some(destination),
            _ => None,
        });
        let mut left = Vec::new();
        let mut query = pacer_store::TaskQuery {
            integration: Some(integration.to_string()),
            status: Some(pacer_store::TaskStatus::Dead),
            before: None,
            limit: 500,
        };
        loop {
            let dead = inner.store.tasks(&query).await?;
            for task in &dead {
                let reason = if task.attempts == 0 {
                    Some(task.last_error.clone().unwrap_or_else(|| {
                        "rejected when read: the record cannot be queued".into()
                    }))
                } else {
                    match destination {
                        Some(destination) => destination.check(&task.payload).await.err(),
                        None => None,
                    }
                };
                if let Some(reason) = reason {
                    left.push((task.id, reason));
                }
            }
            match dead.last() {
                Some(last) if dead.len() == query.limit as usize => query.before = Some(last.id),
                _ => break,
            }
        }
        let leave: Vec<i64> = left.iter().map(|(id, _)| *id).collect();
        let now = inner.clock.now();
        let replayed = inner.store.replay_dead(integration, &leave, now).await?;
        Ok(Replayed { replayed, left })
    }

    /// The integrations that take webhooks without a secret: anyone who can
    /// reach the server can queue records for them.
    pub fn unguarded_webhooks(&self) -> Vec<String> {
        let mut names: Vec<String> = self
            .inner
            .intakes
            .iter()
            .filter(|(_, intake)| !intake.has_secret())
            .map(|(name, _)| name.clone())
            .collect();
        names.sort();
        names
    }

    /// The jobs' names, in plan order.
    pub fn jobs(&self) -> Vec<String> {
        self.inner.jobs.iter().map(|j| j.name.clone()).collect()
    }

    /// The jobs this engine runs, in plan order, each with its next `runs` after now.
    pub fn job_views(&self, runs: usize) -> Vec<JobView> {
        let inner = &self.inner;
        let now = inner.clock.now();
        inner
            .jobs
            .iter()
            .map(|job| {
                let planned = inner.plan.jobs.iter().find(|p| p.job == job.name);
                let mut next = Vec::with_capacity(runs);
                let mut at = now;
                while next.len() < runs {
                    let Some(zoned) = job.schedule.next_after(at, &inner.tz) else {
                        break;
                    };
                    at = zoned.timestamp();
                    next.push(zoned);
                }
                JobView {
                    name: job.name.clone(),
                    integration: job.integration.clone(),
                    kind: match &job.work {
                        Work::Pull(_) => "pull",
                        Work::Push(_) => "push",
                    },
                    system: job.system.clone(),
                    schedule: job.schedule.source().to_string(),
                    description: planned
                        .map_or_else(|| job.schedule.describe(), |p| p.description.clone()),
                    budget: job.budget,
                    next,
                }
            })
            .collect()
    }

    /// The environment this engine runs.
    pub fn environment(&self) -> EnvironmentView {
        let inner = &self.inner;
        EnvironmentView {
            name: inner.environment.clone(),
            timezone: inner.timezone.clone(),
            capacity: inner.capacity,
            node: inner.settings.node.clone(),
            retention: inner.retention,
        }
    }

    /// The alerts whose conditions hold now (pending until they held long
    /// enough to fire), the longest-held first.
    ///
    /// # Errors
    ///
    /// When the store fails.
    pub async fn alerts(&self) -> Result<Vec<pacer_store::Alert>, Error> {
        Ok(self.inner.store.alerts().await?)
    }

    /// The alert conditions switched on, and the channels alerts go to (by
    /// kind and host); both empty without `alerts:`.
    pub fn alerting(&self) -> (Vec<&'static str>, Vec<String>) {
        match &self.inner.alerting {
            Some(a) => (crate::alerts::enabled(&a.conditions), a.notifier.channels()),
            None => (Vec::new(), Vec::new()),
        }
    }

    /// How fresh `integration`'s changes must arrive, where the file says.
    pub fn freshness(&self, integration: &str) -> Option<SignedDuration> {
        self.inner.freshness.get(integration).copied()
    }

    /// The last [`SEEN_DAYS`](crate::observed::SEEN_DAYS) whole local days
    /// as the ledger saw them, beside what the file declares: the
    /// dashboard's drift, its metric and alert. Read once a local day.
    ///
    /// # Errors
    ///
    /// When the store cannot be read.
    pub async fn seen(&self) -> Result<Arc<crate::Seen>, Error> {
        self.inner.seen().await
    }

    /// The plan this engine runs.
    pub fn plan(&self) -> &Plan {
        &self.inner.plan
    }

    /// The store this engine keeps its state in.
    pub fn store(&self) -> &Arc<Store> {
        &self.inner.store
    }

    /// The environment's time zone.
    pub fn time_zone(&self) -> &TimeZone {
        &self.inner.tz
    }

    /// The nodes that ran the scheduler in the last few minutes, this one included.
    ///
    /// # Errors
    ///
    /// When the store cannot be read.
    pub async fn nodes_alive(&self) -> Result<Vec<String>, Error> {
        let now = self.inner.clock.now();
        Ok(self.inner.store.nodes_alive(now - LOST_AFTER).await?)
    }

    /// Whether this node can take work: its store answers, its scheduler
    /// woke within the last 90 s (it wakes each minute) and its heartbeat
    /// reached the store within a lease. Each check says why when it fails.
    pub async fn readiness(&self) -> Readiness {
        let now = self.inner.clock.now();
        let age = |last: &AtomicI64| {
            let ms = last.load(Ordering::SeqCst);
            (ms != i64::MIN).then(|| (now.as_millisecond() - ms).max(0))
        };
        let within = |what: &str, ms: Option<i64>, bound: SignedDuration| match ms {
            None => Err(format!("the {what} has not run yet")),
            Some(ms) if ms > bound.as_millis() as i64 => Err(format!(
                "the {what} last ran {} s ago, more than {} s",
                ms / 1_000,
                bound.as_secs()
            )),
            Some(_) => Ok(()),
        };
        let store = match self.inner.store.nodes_alive(now - LOST_AFTER).await {
            Ok(_) => Ok(()),
            Err(e) => Err(format!("the store does not answer: {e}")),
        };
        Readiness {
            store,
            scheduler: within(
                "scheduler",
                age(&self.inner.last_tick),
                SignedDuration::from_secs(90),
            ),
            heartbeat: within(
                "heartbeat",
                age(&self.inner.last_beat),
                self.inner.settings.lease,
            ),
        }
    }

    /// Executions running on this node now.
    pub fn running(&self) -> u32 {
        self.inner.counters.running()
    }

    /// Waits, durations, scheduler lag and rate-limit waits so far.
    pub fn timings(&self) -> Timings {
        let mut timings = self.inner.counters.timings();
        timings.rate_waits = self.inner.limits.waits();
        timings
    }

    /// The rate budgets: each system's items per minute, and each job's own where set.
    pub fn rate_limits(&self) -> BTreeMap<String, u32> {
        self.inner.limits.per_minute()
    }

    /// Delivery requests so far by system and HTTP status (0: no answer).
    pub fn responses(&self) -> BTreeMap<(String, u16), u64> {
        let mut responses = BTreeMap::new();
        for job in &self.inner.jobs {
            if let Work::Push(destination) = &job.work {
                for (status, n) in destination.responses() {
                    *responses.entry((job.system.clone(), status)).or_default() += n;
                }
            }
        }
        responses
    }
}

impl Inner {
    async fn schedule(self: &Arc<Self>, until: Option<Timestamp>) -> Result<(), Error> {
        let now = self.clock.now();
        let mut minute = Minute::containing(now);
        if minute.start() < now {
            minute += 1;
        }
        // On the clock, as the scheduler: a virtual clock must not move
        // while a restart frees what its predecessor held.
        self.free_dead_predecessors().await?;
        // Alive before it records anything: rows of a node never seen are
        // taken for a dead node's.
        self.store.heartbeat(&self.settings.node, now).await?;
        self.ticked(now);
        self.beaten(now);
        self.catch_up(minute).await?;
        let mut executions = Vec::new();
        loop {
            let at = minute.start();
            if until.is_some_and(|u| at >= u) || self.stopping() {
                break;
            }
            self.sleep_unless_stopped(at).await;
            if self.stopping() {
                break;
            }
            let woke = self.clock.now();
            let lag = woke.duration_since(at).as_secs_f64().max(0.0);
            self.counters.time(|t| t.scheduler_lag.observe(lag));
            self.store.heartbeat(&self.settings.node, woke).await?;
            self.ticked(woke);
            self.beaten(woke);
            let controls: HashMap<String, (bool, bool)> = self
                .store
                .job_controls()
                .await?
                .into_iter()
                .map(|c| (c.job, (c.paused, c.triggered_at.is_some())))
                .collect();
            let window = self.maintenance_at(at);
            // Every job due this minute is owed its share from the start:
            // the first one dispatched must not take the whole minute while
            // the next is still being recorded.
            let due: Vec<bool> = self
                .jobs
                .iter()
                .map(|job| job.fires_at(at, &self.tz))
                .collect();
            let _owed: Vec<_> = self
                .jobs
                .iter()
                .zip(&due)
                .filter(|(_, due)| **due)
                .map(|(job, _)| self.limits.active(&job.name))
                .collect();
            for (job, due) in self.jobs.iter().zip(due) {
                let (paused, triggered) = controls.get(&job.name).copied().unwrap_or_default();
                if due {
                    let held = if paused {
                        Some("paused".to_string())
                    } else {
                        window.clone()
                    };
                    match held {
                        Some(why) => self.hold(job, minute, &why).await?,
                        None => executions.extend(self.dispatch(job, minute).await?),
                    }
                }
                if triggered
                    && !paused
                    && window.is_none()
                    && self.store.take_trigger(&job.name).await?
                {
                    // A manual run is recorded at the instant it started, so it
                    // never takes the place of a scheduled minute.
                    let manual = Minute::manual(self.clock.now(), minute);
                    executions.extend(self.dispatch(job, manual).await?);
                }
            }
            if self.alerting.is_some() {
                let inner = self.clone();
                executions.push(self.clock.spawn(Box::pin(async move {
                    if let Err(e) = inner.alert().await {
                        tracing::warn!(error = %e, "alerts could not be evaluated; tried again next minute");
                    }
                })));
            }
            if at.as_second().div_euclid(60) % PRUNE_OFFER == 0 {
                let inner = self.clone();
                executions.push(self.clock.spawn(Box::pin(async move {
                    if let Err(e) = inner.prune().await {
                        tracing::warn!(error = %e, "pruning failed; the next round tries again");
                    }
                })));
            }
            executions.retain(|h: &tokio::task::JoinHandle<()>| !h.is_finished());
            minute += 1;
        }
        // Waiting on the clock, not on the handles: executions sleep on it too.
        while executions.iter().any(|h| !h.is_finished()) {
            let next = self.clock.now() + SignedDuration::from_secs(1);
            self.clock.sleep_until(next).await;
        }
        Ok(())
    }

    /// Deletes what the retention no longer keeps, when this node gets this
    /// round of the cluster's prune.
    async fn prune(&self) -> Result<(), Error> {
        let Some(now) = self.take_chore("prune", PRUNE_EVERY).await? else {
            return Ok(());
        };
        let kept = &self.retention;
        let retention = pacer_store::Retention {
            finished_tasks: now - kept.finished_tasks,
            dead_tasks: now - kept.dead_tasks,
            executions: Minute::containing(now - kept.executions),
            rate_windows: Minute::containing(now - kept.rate_windows),
        };
        let pruned = self.store.prune(&retention, PRUNE_BATCH).await?;
        self.counters.update(|s| {
            s.pruned.finished_tasks += pruned.finished_tasks;
            s.pruned.dead_tasks += pruned.dead_tasks;
            s.pruned.executions += pruned.executions;
            s.pruned.rate_windows += pruned.rate_windows;
        });
        tracing::info!(
            finished_tasks = pruned.finished_tasks,
            dead_tasks = pruned.dead_tasks,
            executions = pruned.executions,
            rate_windows = pruned.rate_windows,
            "pruned what the retention no longer keeps"
        );
        Ok(())
    }

    /// The scheduler woke for a minute at `at`.
    fn ticked(&self, at: Timestamp) {
        self.last_tick.store(at.as_millisecond(), Ordering::SeqCst);
    }

    /// This node's heartbeat reached the store at `at`.
    fn beaten(&self, at: Timestamp) {
        self.last_beat.store(at.as_millisecond(), Ordering::SeqCst);
    }

    /// Sleeps until `at` on the clock, or until the engine is told to stop.
    async fn sleep_unless_stopped(&self, at: Timestamp) {
        let stopped = self.stopped.notified();
        tokio::pin!(stopped);
        // Registered before the check, so a stop between them is not missed.
        stopped.as_mut().enable();
        if self.stopping() {
            return;
        }
        tokio::select! {
            () = self.clock.sleep_until(at) => {}
            () = stopped => {}
        }
    }

    /// While `beating`, three times a lease: tells the store this node
    /// lives, keeps its slots and task leases, and marks `interrupted` what
    /// nodes that stopped beating left waiting or running.
    async fn beat(&self, beating: &AtomicBool) -> Result<(), Error> {
        let lease = self.settings.lease;
        let node = &self.settings.node;
        while beating.load(Ordering::SeqCst) {
            let now = self.clock.now();
            self.store.heartbeat(node, now).await?;
            self.beaten(now);
            self.store
                .renew_leases(&Lease {
                    holder: node,
                    from: now,
                    until: now + lease,
                })
                .await?;
            let orphans = self.store.interrupt_orphans(now - lease, now).await?;
            self.interrupted(orphans);
            // Woken early when the engine stops, and when its run ends.
            let woken = self.stopped.notified();
            tokio::pin!(woken);
            woken.as_mut().enable();
            if !beating.load(Ordering::SeqCst) {
                break;
            }
            tokio::select! {
                () = self.clock.sleep_until(now + lease / 3) => {}
                () = woken => {}
            }
        }
        Ok(())
    }

    /// Frees at once what this node's dead predecessors on this machine
    /// held — a restart after a crash finds them — rather than after their
    /// leases: the jobs they ran are due again at their next minute.
    async fn free_dead_predecessors(&self) -> Result<(), Error> {
        let Some(machine) = &self.settings.machine else {
            return Ok(());
        };
        let node = &self.settings.node;
        let now = self.clock.now();
        self.store
            .register_node(
                &NodeProcess {
                    node,
                    machine,
                    pid: std::process::id(),
                },
                now,
            )
            .await?;
        for (other, pid) in self.store.nodes_on(machine).await? {
            if other == *node || process_alive(pid) {
                continue;
            }
            let orphans = self.store.release_node(&other, now).await?;
            tracing::info!(
                node = other,
                pid,
                interrupted = orphans.len(),
                "freed what a stopped node on this machine held"
            );
            self.interrupted(orphans);
        }
        Ok(())
    }

    /// Logs and counts executions found left by a stopped node.
    fn interrupted(&self, orphans: Vec<Interrupted>) {
        for Interrupted { job, minute, node } in orphans {
            tracing::warn!(job, minute = %self.show(minute), node, outcome = "interrupted", "its node stopped");
            self.counters.update(|s| {
                *s.executions
                    .entry(job)
                    .or_default()
                    .entry(ExecutionState::Interrupted)
                    .or_default() += 1;
            });
        }
    }

    /// Records `job`'s `minute` as due on this node; `true` for the one
    /// node of the cluster that got it.
    async fn record_due(&self, job: &Job, minute: Minute) -> Result<bool, Error> {
        let due = Due {
            job: &job.name,
            minute,
            node: &self.settings.node,
            at: self.clock.now(),
        };
        Ok(self.store.record_due(&due).await?)
    }

    /// Records a due minute that does not start (paused, maintenance) and says why.
    async fn hold(&self, job: &Job, minute: Minute, why: &str) -> Result<(), Error> {
        if self.record_due(job, minute).await? {
            self.skip(job, minute, why).await?;
        }
        Ok(())
    }

    /// Marks a recorded minute skipped, counts and logs it.
    async fn skip(&self, job: &Job, minute: Minute, why: &str) -> Result<(), Error> {
        let now = self.clock.now();
        self.store
            .set_execution(
                &job.name,
                minute,
                self.change(ExecutionState::Skipped, now, 0, Some(why)),
            )
            .await?;
        self.count(job, ExecutionState::Skipped);
        tracing::info!(job = %job.name, minute = %self.show(minute), outcome = "skipped", "not started: {why}");
        Ok(())
    }

    /// Minutes missed while no node ran, handled by each job's `catch_up`.
    async fn catch_up(self: &Arc<Self>, first_minute: Minute) -> Result<(), Error> {
        let now = first_minute.start();
        for job in &self.jobs {
            let Some(last) = self.store.last_due(&job.name).await? else {
                continue; // Never ran: nothing was missed.
            };
            let mut missed = std::collections::VecDeque::new();
            let mut at = last.start();
            while let Some(next) = job.schedule.next_after(at, &self.tz).map(|z| z.timestamp()) {
                if next >= now {
                    break;
                }
                missed.push_back(Minute::containing(next));
                at = next;
                // A long outage of a frequent job: only the recent end matters.
                // (From a Vec, each removal moved the other 100,000: a year
                // down made the start quadratic.)
                if missed.len() > 100_000 {
                    missed.pop_front();
                }
            }
            if missed.is_empty() {
                continue;
            }
            let run: Vec<Minute> = match job.policy.catch_up {
                CatchUp::None => Vec::new(),
                CatchUp::Latest => missed.back().copied().into_iter().collect(),
                CatchUp::All {
                    window_minutes,
                    max,
                } => {
                    let from = first_minute - i64::from(window_minutes);
                    let recent: Vec<Minute> =
                        missed.iter().copied().filter(|&m| m >= from).collect();
                    recent[recent.len().saturating_sub(max as usize)..].to_vec()
                }
            };
            tracing::warn!(
                job = %job.name,
                missed = missed.len(),
                catching_up = run.len(),
                policy = ?job.policy.catch_up,
                "minutes missed while no node ran"
            );
            for minute in run {
                self.dispatch(job, minute).await?;
            }
        }
        Ok(())
    }

    /// Records the due minute and, unless another node has it or the job is
    /// still running here, starts its execution.
    async fn dispatch(
        self: &Arc<Self>,
        job: &Arc<Job>,
        minute: Minute,
    ) -> Result<Option<tokio::task::JoinHandle<()>>, Error> {
        if !self.record_due(job, minute).await? {
            return Ok(None);
        }
        let now = self.clock.now();
        // Running on another node counts too: its slot names the job.
        let elsewhere = job.policy.overlap != Overlap::Allow
            && self.store.has_live_slot(&job.name, now).await?;
        let queued = {
            let mut occupancy = job.occupancy.locked();
            match (job.policy.overlap, occupancy.running > 0 || elsewhere) {
                (_, false) | (Overlap::Allow, true) => {
                    occupancy.running += 1;
                    Some(false)
                }
                (Overlap::QueueOne, true) if !occupancy.queued => {
                    occupancy.queued = true;
                    Some(true)
                }
                _ => None,
            }
        };
        let Some(queued) = queued else {
            self.skip(job, minute, "the previous execution is still running")
                .await?;
            return Ok(None);
        };
        let inner = self.clone();
        let job = job.clone();
        let mut place = (!queued).then(|| self.queue_for_capacity(minute));
        // Its share of each rate is owed to it from its minute on, while it
        // waits too: the job dispatched a moment earlier must not take the
        // whole minute before this one starts.
        let active = self.limits.active(&job.name);
        Ok(Some(self.clock.spawn(Box::pin(async move {
            let _active = active;
            if queued {
                // Wait for the running one, here or elsewhere, then take its place.
                loop {
                    let now = inner.clock.now();
                    inner.clock.sleep_until(now + SignedDuration::from_secs(1)).await;
                    let idle_here = job.occupancy.locked().running == 0;
                    let now = inner.clock.now();
                    if idle_here && !inner.store.has_live_slot(&job.name, now).await.unwrap_or(true) {
                        let mut occupancy = job.occupancy.locked();
                        if occupancy.running == 0 {
                            *occupancy = Occupancy {
                                running: 1,
                                queued: false,
                            };
                            break;
                        }
                    }
                }
            }
            let place = place.take().unwrap_or_else(|| inner.queue_for_capacity(minute));
            if let Err(e) = Execution::new(&inner, &job, minute, place).run().await {
                tracing::error!(job = %job.name, minute = %inner.show(minute), error = %e, "execution could not be recorded");
            }
            job.occupancy.locked().running -= 1;
        }))))
    }
}

/// Whether process `pid` on this machine still runs (a zombie counts: its
/// parent has not yet seen it end).
fn process_alive(pid: u32) -> bool {
    std::path::Path::new(&format!("/proc/{pid}")).exists()
}
