//! What one node's scheduler, heartbeat and executions share: the store,
//! the clock, the jobs, capacity and rate limits, counters, and the queue
//! of executions waiting for capacity here.

use std::{
    collections::{BTreeSet, HashMap},
    sync::{
        Arc, Mutex,
        atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering},
    },
};

use jiff::{Timestamp, tz::TimeZone};
use pacer_config::{Maintenance, Retention};
use pacer_connect::Intake;
use pacer_plan::Plan;
use pacer_store::{ExecutionChange, ExecutionState, Lease, Minute, Store};

use crate::{
    Counters, Error, Settings,
    alerts::Alerting,
    clock::{Bell, Clock},
    job::Job,
    limit::Limits,
    lock::Locked,
};

/// An engine's state on this node, shared by its scheduler, heartbeat and
/// executions.
pub(crate) struct Inner {
    pub(crate) environment: String,
    pub(crate) timezone: String,
    pub(crate) plan: Plan,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) store: Arc<Store>,
    pub(crate) settings: Settings,
    pub(crate) tz: TimeZone,
    pub(crate) capacity: u32,
    pub(crate) jobs: Vec<Arc<Job>>,
    pub(crate) maintenance: Vec<Maintenance>,
    pub(crate) retention: Retention,
    pub(crate) alerting: Option<Alerting>,
    /// Each integration's freshness, where it has one.
    pub(crate) freshness: HashMap<String, jiff::SignedDuration>,
    pub(crate) intakes: HashMap<String, Intake>,
    pub(crate) limits: Limits,
    pub(crate) counters: Counters,
    pub(crate) stopping: AtomicBool,
    /// Wakes the scheduler and the heartbeat when [`Engine::stop`] is called.
    pub(crate) stopped: tokio::sync::Notify,
    /// Executions waiting for capacity here, oldest minute first.
    pub(crate) waiting: Mutex<BTreeSet<(Minute, u64)>>,
    /// Rung when the first in that line may have changed or a slot freed,
    /// so the next execution tries for a slot at once rather than at its
    /// next look.
    pub(crate) turn: Bell,
    pub(crate) sequence: AtomicU64,
    pub(crate) failure: Mutex<Option<Error>>,
    /// When the scheduler last woke for a minute, and the heartbeat last
    /// reached the store (Unix ms on the clock; `i64::MIN`: never).
    pub(crate) last_tick: AtomicI64,
    pub(crate) last_beat: AtomicI64,
    /// The environment as the file declares it, which observed figures
    /// are held against.
    pub(crate) declared: pacer_plan::Environment,
    /// Each integration's hourly profile as the file declares it, in its
    /// order (`None`: even over its active hours).
    pub(crate) declared_profiles: Vec<Option<[f64; 24]>>,
    /// The last week's observed figures and their drift, for the local
    /// date they were read on: whole days change only at midnight.
    pub(crate) seen: Mutex<Option<(jiff::civil::Date, Arc<crate::Seen>)>>,
}

impl std::fmt::Debug for Inner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine")
            .field("node", &self.settings.node)
            .field("capacity", &self.capacity)
            .field("jobs", &self.jobs.len())
            .finish_non_exhaustive()
    }
}

impl Inner {
    /// Whether the engine was told to stop.
    pub(crate) fn stopping(&self) -> bool {
        self.stopping.load(Ordering::SeqCst)
    }

    /// The maintenance window `at` falls in, described.
    pub(crate) fn maintenance_at(&self, at: Timestamp) -> Option<String> {
        self.maintenance
            .iter()
            .find(|w| w.contains(at, &self.tz))
            .map(Maintenance::describe)
    }

    /// A minute as people read it, in the environment's time zone.
    pub(crate) fn show(&self, minute: Minute) -> String {
        minute
            .start()
            .to_zoned(self.tz.clone())
            .strftime("%Y-%m-%d %H:%M:%S %Z")
            .to_string()
    }

    /// Takes a place in this node's queue for capacity: oldest minute first,
    /// then in the order the scheduler dispatched them.
    pub(crate) fn queue_for_capacity(&self, minute: Minute) -> (Minute, u64) {
        let place = (
            minute,
            self.sequence
                .fetch_add(1, std::sync::atomic::Ordering::SeqCst),
        );
        self.lock_waiting().insert(place);
        place
    }

    /// Takes this round of the cluster's `chore` when no node took it
    /// within `every`: the instant it was taken, or `None` when another
    /// node has it.
    pub(crate) async fn take_chore(
        &self,
        chore: &str,
        every: jiff::SignedDuration,
    ) -> Result<Option<Timestamp>, Error> {
        let now = self.clock.now();
        let taken = self
            .store
            .claim_chore(chore, &self.settings.node, now, every)
            .await?;
        Ok(taken.then_some(now))
    }

    /// Counts an execution of `job` that ended `outcome`.
    pub(crate) fn count(&self, job: &Job, outcome: ExecutionState) {
        self.counters.update(|s| {
            *s.executions
                .entry(job.name.clone())
                .or_default()
                .entry(outcome)
                .or_default() += 1;
        });
    }

    /// This node's queue for capacity, locked.
    pub(crate) fn lock_waiting(
        &self,
    ) -> std::sync::MutexGuard<'_, std::collections::BTreeSet<(Minute, u64)>> {
        self.waiting.locked()
    }

    /// A ledger change made on this node.
    pub(crate) fn change<'a>(
        &'a self,
        state: ExecutionState,
        at: Timestamp,
        items: u64,
        error: Option<&'a str>,
    ) -> ExecutionChange<'a> {
        ExecutionChange {
            state,
            node: &self.settings.node,
            at,
            items,
            error,
        }
    }

    /// A lease `holder` takes at `now` on a slot or tasks: it lasts this
    /// node's lease without a heartbeat.
    pub(crate) fn lease<'a>(&self, holder: &'a str, now: Timestamp) -> Lease<'a> {
        Lease {
            holder,
            from: now,
            until: now + self.settings.lease,
        }
    }
}
