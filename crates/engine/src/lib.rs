//! Pacer's engine: runs what the planner planned.
//!
//! At each minute of the environment's time zone the scheduler finds the
//! jobs due (pacer-cron), records each due minute in the store's ledger —
//! once per job and minute across every node on that store — and starts an
//! execution. An execution waits for one of the environment's `capacity`
//! slots (oldest first; past its deadline it is `missed`), then pulls pages
//! from the source into the queue, or delivers queued tasks to the
//! destination, within every system's rate limit, until its item budget is
//! spent or nothing is left.
//!
//! Storage is a [`pacer_store::Store`]; time is a [`Clock`]: the real one, a
//! [`ScaledClock`] for demos, or a [`VirtualClock`] that plays a day in the
//! time its work takes.
//!
//! ```no_run
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! use std::sync::Arc;
//! let config = pacer_config::parse(&std::fs::read_to_string("acme.yaml")?, "acme.yaml")?;
//! let plan = pacer_plan::plan(&config.environment)?;
//! let store = Arc::new(pacer_store::StoreBuilder::new("sqlite://acme.db").open().await?);
//! let engine = pacer_engine::Engine::new(
//!     &config,
//!     &plan,
//!     store,
//!     Arc::new(pacer_engine::RealClock),
//!     pacer_engine::Settings::default(),
//! )?;
//! engine.run(None).await?;
//! # Ok(()) }
//! ```

#![deny(missing_docs)]

use std::{collections::BTreeMap, sync::Mutex};

use pacer_store::{ExecutionState, RetryPolicy};

use crate::lock::Locked;

pub use crate::{
    clock::{Bell, BoxFuture, Clock, RealClock, ScaledClock, VirtualClock},
    engine::{Engine, EnvironmentView, JobView, Readiness, Received, Refused, Replayed},
    metrics::{BUCKETS, Histogram, Timings},
    observed::{BusiestHour, Seen},
};
pub use pacer_connect::Refusal;

mod alerts;
mod clock;
mod engine;
mod execution;
mod job;
mod limit;
mod lock;
mod metrics;
pub mod observed;
mod state;

/// Why the engine could not start or go on.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The config and plan do not make a runnable engine.
    #[error(transparent)]
    Connect(#[from] pacer_connect::Error),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] pacer_store::Error),
    /// Something else about the config.
    #[error("{0}")]
    Config(String),
}

/// How an engine runs, beyond what the config file says.
#[derive(Clone, Debug)]
pub struct Settings {
    /// This node's name in leases and logs; default `<host>-<pid>`.
    pub node: String,
    /// Hold every system to its rate (default); off only to measure throughput.
    pub enforce_rates: bool,
    /// Retries and dead letters.
    pub retry: RetryPolicy,
    /// Records asked for per page, and tasks claimed per round.
    pub page_size: u32,
    /// On a virtual clock, the schedule time each request takes (a page
    /// fetched, a round of deliveries in flight); requests take no virtual
    /// time otherwise. Real clocks ignore it: their requests take real time.
    pub request_time: Option<jiff::SignedDuration>,
    /// How long this node's capacity slots, task leases and ledger rows
    /// outlive its last heartbeat (default 30 s; it beats three times a
    /// lease): a node that is killed lets go of everything within this,
    /// and a live node marks its executions `interrupted`.
    pub lease: jiff::SignedDuration,
    /// The kernel boot and process namespace this process runs in, where a
    /// pid names one process: a node restarted here frees what its dead
    /// predecessor held at once. `None` (other systems than Linux) leaves
    /// that to the lease.
    pub machine: Option<String>,
    /// Where connectors send their requests: over the network (default),
    /// or to services in this process (a simulation's mock systems).
    pub transport: pacer_connect::Transport,
}

impl Default for Settings {
    fn default() -> Settings {
        let host = std::env::var("HOSTNAME").unwrap_or_else(|_| "pacer".into());
        Settings {
            node: format!("{host}-{}", std::process::id()),
            enforce_rates: true,
            retry: RetryPolicy::default(),
            page_size: 100,
            request_time: None,
            lease: jiff::SignedDuration::from_secs(30),
            machine: this_machine(),
            transport: pacer_connect::Transport::network(),
        }
    }
}

/// This kernel boot and process namespace, on Linux: two processes that see
/// the same have pids from one space, and `/proc/<pid>` says whether one
/// still runs.
fn this_machine() -> Option<String> {
    let boot = std::fs::read_to_string("/proc/sys/kernel/random/boot_id").ok()?;
    let namespace = std::fs::read_link("/proc/self/ns/pid").ok()?;
    Some(format!("{}/{}", boot.trim(), namespace.display()))
}

/// What an integration moved on this node.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Moved {
    /// Records pulled and queued.
    pub queued: u64,
    /// Records rejected (not readable), kept as dead tasks.
    pub rejected: u64,
    /// Tasks the destination accepted.
    pub delivered: u64,
    /// Delivery attempts that will be retried.
    pub retried: u64,
    /// Tasks that went to the dead letters.
    pub dead: u64,
}

impl Moved {
    /// Records its pulls read: queued, or kept dead as unreadable.
    pub fn pulled(&self) -> u64 {
        self.queued + self.rejected
    }
}

/// What this node did so far.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Stats {
    /// Executions ended, by job and how they ended.
    pub executions: BTreeMap<String, BTreeMap<ExecutionState, u64>>,
    /// Per integration.
    pub moved: BTreeMap<String, Moved>,
    /// The most executions that ran at once on this node.
    pub most_at_once: u32,
    /// The longest any execution waited for capacity, in milliseconds.
    pub longest_wait_ms: i64,
    /// Executions that started later than their minute (they waited for capacity).
    pub waited: u64,
    /// Rows this node deleted because the retention no longer keeps them.
    pub pruned: pacer_store::Pruned,
    /// Alerts this node sent, by channel and `sent` or `failed`.
    pub notifications: BTreeMap<(String, &'static str), u64>,
}

/// Counters shared by the tasks of one engine.
#[derive(Debug, Default)]
pub(crate) struct Counters {
    stats: Mutex<Stats>,
    running: Mutex<u32>,
    timings: Mutex<Timings>,
}

impl Counters {
    pub(crate) fn update(&self, f: impl FnOnce(&mut Stats)) {
        f(&mut self.stats.locked());
    }

    pub(crate) fn snapshot(&self) -> Stats {
        self.stats.locked().clone()
    }

    pub(crate) fn time(&self, f: impl FnOnce(&mut Timings)) {
        f(&mut self.timings.locked());
    }

    pub(crate) fn timings(&self) -> Timings {
        self.timings.locked().clone()
    }

    /// Executions running on this node now.
    pub(crate) fn running(&self) -> u32 {
        *self.running.locked()
    }

    pub(crate) fn started(&self) {
        let mut running = self.running.locked();
        *running += 1;
        let now = *running;
        self.update(|s| s.most_at_once = s.most_at_once.max(now));
    }

    pub(crate) fn ended(&self) {
        let mut running = self.running.locked();
        *running = running.saturating_sub(1);
    }
}
