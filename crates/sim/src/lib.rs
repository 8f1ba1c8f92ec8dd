//! Plays days of an environment before it goes live: the real engine — the
//! same scheduler, capacity limit, queue and connectors — on a
//! [`VirtualClock`], against mock systems built from the file, with a
//! throwaway SQLite store in memory. The mocks' HTTP handlers answer in this process
//! ([`Transport::InProcess`], the default) or on loopback ports
//! ([`Transport::Loopback`]); nothing leaves the machine either way.
//!
//! Each system keeps its `rate` (more gets 429); each source produces its
//! integrations' changes at their peak-day volume (`volume × peak_factor`,
//! times [`Options::volume_factor`]), spread evenly over the active hours or
//! by the file's hourly `profile`. The [`Report`] says, per integration,
//! what was produced and delivered, the backlog at the end of each hour,
//! delivery delays against freshness, and the executions; for the
//! environment, the most executions at once against capacity and every
//! minute where the run differed from the plan — and whether the plan held.
//!
//! The mocks speak their own API (`GET /NAME?changed_since=…` with
//! `.items[]`, `PUT /NAME/KEY`), so each flow's requests are pointed at it
//! while its schedule, batch, timeouts, transform and policies stay as the
//! file says. Integrations fed by webhooks have no pull to simulate and are
//! reported as such.

#![deny(missing_docs)]

use std::sync::Arc;

use jiff::{Timestamp, civil::Date};
use pacer_config::{Config, Expr, Flow, IntegrationConfig, Paginate, Request};
use pacer_engine::{Clock, Engine, Settings, VirtualClock};
use pacer_mock::{Feed, MockSystem, Running};
use pacer_plan::Plan;

pub use crate::moved::{MOVED_HEADING, Moved, moved_table};
pub use crate::report::{Difference, IntegrationReport, JobCounts, Report};

mod moved;
mod report;

/// Why a simulation could not run.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The engine could not be built or failed.
    #[error(transparent)]
    Engine(#[from] pacer_engine::Error),
    /// The in-memory store failed.
    #[error(transparent)]
    Store(#[from] pacer_store::Error),
    /// A mock system could not be set up.
    #[error("{0}")]
    Setup(String),
    /// More changes than a simulation can play in reasonable time.
    #[error("{0}")]
    TooLarge(String),
}

/// The most changes a simulated day may move, across integrations: each
/// goes through the engine, the store and HTTP like a real one, at some
/// 10,000 a second on two cores, so this is a quarter of an hour a day.
pub const MOST_CHANGES_A_DAY: f64 = 10_000_000.0;

/// What to simulate.
#[derive(Clone, Debug)]
pub struct Options {
    /// Days to play, from [`start`](Options::start)'s midnight.
    pub days: u32,
    /// Volumes are multiplied by this, on top of each integration's peak factor.
    pub volume_factor: f64,
    /// The first day; fixed by default so a report depends only on the file and flags.
    pub start: Date,
    /// The schedule time each request to a system takes: a page fetched, or
    /// a round of deliveries in flight. Executions occupy capacity that long.
    pub request_time: jiff::SignedDuration,
    /// Told how far the simulation is, from 0 to 1, a few times a second.
    pub progress: Option<Progress>,
    /// How the engine reaches the mock systems.
    pub transport: Transport,
    /// Systems whose mocks keep another rate than the file declares (the
    /// engine still holds to the file's): what if the webshop really
    /// accepts only 300 a minute? Beyond it, a mock answers 429.
    pub mock_rates: Vec<(String, pacer_plan::Rate)>,
    /// The store the day is played into, kept for whoever opens it next
    /// (`pacer plan --observed` reads its ledger); default a throwaway one
    /// in memory.
    pub store: Option<Arc<pacer_store::Store>>,
}

/// How the engine reaches the mock systems in a simulation.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Transport {
    /// Their HTTP handlers are called in this process, with no socket: the
    /// same requests and answers, without TCP and HTTP framing, which
    /// otherwise take most of a large simulation's time.
    #[default]
    InProcess,
    /// Over loopback TCP, each mock on a port of its own, as `pacer mock`
    /// serves them.
    Loopback,
}

/// What is told how far a simulation is (0 to 1): a progress bar.
#[derive(Clone)]
pub struct Progress(pub std::sync::Arc<dyn Fn(f64) + Send + Sync>);

impl std::fmt::Debug for Progress {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Progress")
    }
}

impl Default for Options {
    fn default() -> Options {
        Options {
            days: 1,
            volume_factor: 1.0,
            start: DEFAULT_START,
            request_time: DEFAULT_REQUEST_TIME,
            progress: None,
            transport: Transport::default(),
            mock_rates: Vec::new(),
            store: None,
        }
    }
}

/// What a request to an ERP's or a webshop's API typically takes.
pub const DEFAULT_REQUEST_TIME: jiff::SignedDuration = jiff::SignedDuration::from_millis(200);

/// A Monday without a daylight-saving change in either hemisphere's usual rules.
pub const DEFAULT_START: Date = jiff::civil::date(2026, 3, 2);

/// A mock for each system of `config` ([`mock_system`]), served on the
/// runtime `on` at a free loopback port.
///
/// # Errors
///
/// When no loopback port can be had.
pub fn mocks(
    config: &Config,
    start: Timestamp,
    clock: Arc<dyn Clock>,
    volume_factor: f64,
    on: &tokio::runtime::Handle,
) -> Result<Vec<(String, Running)>, Error> {
    let _on = on.enter();
    let mut mocks = Vec::new();
    for system in &config.environment.systems {
        let mock = mock_system(config, &system.name, start, clock.clone(), volume_factor);
        let cannot = |e: std::io::Error| {
            Error::Setup(format!(
                "cannot listen on loopback for the mock {}: {e}",
                system.name
            ))
        };
        let listener = std::net::TcpListener::bind("127.0.0.1:0").map_err(cannot)?;
        listener.set_nonblocking(true).map_err(cannot)?;
        let listener = tokio::net::TcpListener::from_std(listener).map_err(cannot)?;
        let running = pacer_mock::serve(mock, listener).map_err(cannot)?;
        mocks.push((system.name.clone(), running));
    }
    Ok(mocks)
}

/// A mock for each system of `config` ([`mock_system`]) in this process,
/// at `http://system-N.mock.invalid`, and the transport that hands their
/// requests to them: no socket, no port.
fn in_process_mocks(
    config: &Config,
    start: Timestamp,
    clock: Arc<dyn Clock>,
    volume_factor: f64,
) -> Result<(Vec<(String, Running)>, pacer_connect::Transport), Error> {
    let mut transport = pacer_connect::Transport::network();
    let mut mocks = Vec::new();
    for (n, system) in config.environment.systems.iter().enumerate() {
        let mock = mock_system(config, &system.name, start, clock.clone(), volume_factor);
        // `.invalid` never resolves (RFC 2606): a request that missed the
        // transport would fail, not reach some host.
        let running = pacer_mock::in_process(mock, &format!("http://system-{n}.mock.invalid"));
        let handlers = running.handlers();
        let service: pacer_connect::Service =
            Arc::new(move |request| Box::pin(handlers.answer(request)));
        transport = transport
            .serve(&running.base_url(), service)
            .map_err(|e| Error::Setup(e.to_string()))?;
        mocks.push((system.name.clone(), running));
    }
    Ok((mocks, transport))
}

/// The stand-in for `system`: it produces the changes of the integrations
/// it is the source of — at `volume × peak_factor × volume_factor` a day,
/// by the file's hourly profile or evenly over the active hours, both read
/// in the environment's time zone — from `start` on, on `clock`, and keeps
/// its rate.
///
/// An hourly profile counts from the top of `start`'s local hour, so a
/// mock started at 06:51 produces 06:00–22:00's changes from then, not
/// from 06:51 plus sixteen hours (changes of the minutes before `start` in
/// that hour come at once).
pub fn mock_system(
    config: &Config,
    system: &str,
    start: Timestamp,
    clock: Arc<dyn Clock>,
    volume_factor: f64,
) -> MockSystem {
    let local = start.to_zoned(config.time_zone.clone());
    let hour = local.hour().unsigned_abs() as usize;
    let top_of_hour = local
        .with()
        .minute(0)
        .second(0)
        .subsec_nanosecond(0)
        .build()
        .map_or(start, |z| z.timestamp());
    let feeds: Vec<Feed> = config
        .environment
        .integrations
        .iter()
        .filter(|i| i.from == system)
        .filter_map(|i| feed(config, &i.name, volume_factor))
        .map(|mut feed| {
            if let Some(profile) = &mut feed.profile {
                profile.rotate_left(hour % 24);
            }
            feed
        })
        .collect();
    let rate = config
        .system(system)
        .map_or(1, |s| (s.rate.items_per_minute().floor() as u32).max(1));
    let uneven = feeds.iter().any(|f| f.profile.is_some());
    MockSystem {
        name: system.to_string(),
        rate_per_minute: Some(rate),
        feeds,
        start: if uneven { top_of_hour } else { start },
        now: Arc::new(move || clock.now()),
    }
}

/// The changes an integration's source produces in the simulation, by
/// hour of the day from midnight.
pub(crate) fn feed(config: &Config, integration: &str, volume_factor: f64) -> Option<Feed> {
    let IntegrationConfig { plan: i, flow } = config.integration(integration)?;
    let hours = i.active_hours;
    let active = (hours.hours() < 24)
        .then(|| std::array::from_fn(|h| f64::from(u8::from(hours.contains(h as u32)))));
    Some(Feed {
        profile: flow.profile.or(active),
        ..Feed::even(&i.name, i.volume_per_day * i.peak_factor * volume_factor)
    })
}

/// Refuses a simulation that would move more than [`MOST_CHANGES_A_DAY`]:
/// each integration moves its produced volume or what its source's rate
/// lets through in a day, whichever is less.
fn within_reach(config: &Config, volume_factor: f64) -> Result<(), Error> {
    let mut moved = Vec::new();
    for IntegrationConfig { plan: i, flow } in config.integrations() {
        if flow.webhook.is_some() {
            continue;
        }
        let produced = i.volume_per_day * i.peak_factor * volume_factor;
        let rate = config
            .system(&i.from)
            .map_or(f64::INFINITY, |s| s.rate.items_per_minute() * 1440.0);
        moved.push((i.name.as_str(), produced.min(rate), produced));
    }
    let total: f64 = moved.iter().map(|(_, n, _)| n).sum();
    if total.is_finite() && total <= MOST_CHANGES_A_DAY {
        return Ok(());
    }
    moved.sort_by(|a, b| b.1.total_cmp(&a.1));
    let largest: Vec<String> = moved
        .iter()
        .take(3)
        .map(|(name, n, _)| format!("{name} {n:.0}"))
        .collect();
    Err(Error::TooLarge(format!(
        "a simulated day would move {total:.0} changes ({}), more than the {MOST_CHANGES_A_DAY:.0} \
         a simulation plays in reasonable time (it moves each one like a real run); \
         simulate with a smaller --volume-factor, or the largest integrations in a file of their own",
        largest.join(", ")
    )))
}

/// Points a flow's requests at a mock system's API; everything that shapes
/// its timing — schedule, batch, timeouts, transform, policies — stays,
/// except a transform that reads a lookup (the mocks have none).
pub fn against_mock(flow: &mut Flow) {
    let name = &flow.integration;
    let expr = |text: &str| Expr {
        text: text.to_string(),
        origin: format!("the simulation's mock API for {name}"),
    };
    let pull = &mut flow.pull;
    pull.request = Request {
        method: "GET".into(),
        path: format!("/{name}"),
        query: vec![("changed_since".into(), "{{ cursor }}".into())],
        headers: Vec::new(),
    };
    pull.records = expr(".items[]");
    pull.key = expr(".key");
    pull.cursor = expr(".updated_at");
    pull.paginate = Paginate::Next {
        token: expr(".next_page_token"),
        param: "page_token".into(),
    };
    pull.size_param = "limit".into();
    pull.query = None;
    flow.push.statement = None;
    // One record a request carries its key in the path; a batch, in each record.
    let path = if flow.push.batch == 1 {
        format!("/{name}/{{{{ key }}}}")
    } else {
        format!("/{name}")
    };
    flow.push.request = Request {
        method: "PUT".into(),
        path,
        query: Vec::new(),
        headers: Vec::new(),
    };
    // The mocks hold no lookups: a transform that reads one would find
    // nothing, so records go as pulled, which the mocks accept.
    let transform = &flow.push.transform.text;
    if transform.contains("lookup(") || transform.contains("$lookup") {
        flow.push.transform = expr(".");
    }
}

/// Simulates `options.days` days of `config` under `plan`, with the mock
/// systems served on the calling Tokio runtime (a multi-thread one lets them
/// answer while the engine works).
///
/// # Errors
///
/// When the engine cannot be built (a transform that does not compile, an
/// unknown time zone), the in-memory store fails, or no loopback port can be had.
pub async fn simulate(config: &Config, plan: &Plan, options: &Options) -> Result<Report, Error> {
    within_reach(config, options.volume_factor)?;
    let tz = config.time_zone.clone();
    let midnight = options
        .start
        .to_zoned(tz.clone())
        .map_err(|e| Error::Setup(format!("start {}: {e}", options.start)))?;
    let end = midnight
        .checked_add(jiff::Span::new().days(i64::from(options.days)))
        .map_err(|e| Error::Setup(format!("{} days from {}: {e}", options.days, options.start)))?;
    let (start, end) = (midnight.timestamp(), end.timestamp());
    let clock: Arc<dyn Clock> = Arc::new(VirtualClock::serial(start));
    let mut mocked = config.clone();
    for (name, rate) in &options.mock_rates {
        match mocked
            .environment
            .systems
            .iter_mut()
            .find(|s| s.name == *name)
        {
            Some(system) => system.rate = *rate,
            None => {
                return Err(Error::Setup(format!(
                    "no system {name} to give a mock rate"
                )));
            }
        }
    }
    let (mocks, transport) = match options.transport {
        Transport::InProcess => {
            in_process_mocks(&mocked, start, clock.clone(), options.volume_factor)?
        }
        // The mock systems answer on the engine's runtime: on a multi-thread
        // one they still work while the engine does, and their answers wake
        // the engine on its own threads, not across runtimes.
        Transport::Loopback => (
            mocks(
                &mocked,
                start,
                clock.clone(),
                options.volume_factor,
                &tokio::runtime::Handle::current(),
            )?,
            pacer_connect::Transport::network(),
        ),
    };

    let mut config = config.clone();
    // A simulation tells nobody: its alerts would reach real people about
    // a day that did not happen.
    config.alerts = None;
    for connection in &mut config.connections {
        if let Some((_, mock)) = mocks.iter().find(|(name, _)| *name == connection.system) {
            connection.base_url = Some(mock.base_url());
        }
        // The mocks ask for no credentials, so the simulation needs no secret.
        connection.auth = None;
        connection.lookups.clear();
        // A database system is played by a mock API like any other.
        connection.database = None;
    }
    for flow in &mut config.flows {
        against_mock(flow);
    }

    let store = match &options.store {
        Some(store) => store.clone(),
        None => Arc::new(pacer_store::StoreBuilder::in_memory().open().await?),
    };
    let settings = Settings {
        node: "simulation".into(),
        request_time: Some(options.request_time),
        // One node that never dies: a long lease keeps the heartbeat's
        // store writes off the day's clock.
        lease: jiff::SignedDuration::from_mins(10),
        transport,
        ..Settings::default()
    };
    let engine = Engine::new(&config, plan, store.clone(), clock, settings)?;
    // Watched in real time, off the virtual clock: the clock's own tasks,
    // and so the report, stay as they are.
    let watcher = options.progress.clone().map(|progress| {
        let clock = engine.clock().clone();
        let span = end.duration_since(start).as_secs_f64();
        tokio::spawn(async move {
            loop {
                let done = clock.now().duration_since(start).as_secs_f64() / span;
                (progress.0)(done.clamp(0.0, 1.0));
                tokio::time::sleep(std::time::Duration::from_millis(200)).await;
            }
        })
    });
    let ran = engine.run(Some(end)).await;
    if let Some(watcher) = watcher {
        watcher.abort();
    }
    if let Some(progress) = &options.progress {
        (progress.0)(1.0);
    }
    ran?;
    let report = report::build(report::Run {
        config: &config,
        plan,
        options,
        tz: &tz,
        start,
        end,
        engine: &engine,
        store: &store,
        mocks: &mocks,
    })
    .await?;
    drop(mocks);
    Ok(report)
}
