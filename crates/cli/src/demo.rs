//! `pacer demo [--speed N] [--for DURATION] [--format text|json]`: the guide's
//! environment against mock systems on loopback, sped up, with SQLite in a
//! temporary directory.

use std::{collections::BTreeMap, io::Write, process::ExitCode, sync::Arc};

use anyhow::Context;
use pacer_engine::{Clock, Engine, ScaledClock, Settings};
use pacer_store::StoreBuilder;
use serde::Serialize;

use crate::{
    args::{DemoArgs, Format},
    input::InvalidInput,
    runtime,
};

/// The guide's environment, as in examples/acme.yaml.
const ACME: &str = include_str!("../../../examples/acme.yaml");

pub(crate) fn run(args: &DemoArgs, out: &mut impl Write) -> anyhow::Result<ExitCode> {
    if !(args.speed.is_finite() && args.speed > 0.0) {
        return Err(InvalidInput(format!(
            "error: --speed {}: expected a number above 0",
            args.speed
        ))
        .into());
    }
    let duration = args
        .duration
        .as_deref()
        .map(|d| runtime::duration(d, "--for"))
        .transpose()?;
    runtime::init_logs(Format::Text)?;
    let mut config =
        pacer_config::parse(ACME, "examples/acme.yaml").context("the embedded example")?;
    let plan = pacer_plan::plan(&config.environment).context("planning the embedded example")?;
    let dir = std::env::temp_dir().join(format!("pacer-demo-{}", std::process::id()));
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let summary = runtime::block_on(async {
        let start = jiff::Timestamp::now();
        let clock: Arc<dyn Clock> = Arc::new(ScaledClock::new(start, args.speed));
        let mocks = pacer_sim::mocks(
            &config,
            start,
            clock.clone(),
            1.0,
            &tokio::runtime::Handle::current(),
        )?;
        for (system, mock) in &mocks {
            if let Some(connection) = config.connections.iter_mut().find(|c| c.system == *system) {
                connection.base_url = Some(mock.base_url());
            }
            eprintln!("mock {system} on {}", mock.base_url());
        }
        let url = format!("sqlite://{}", dir.join("demo.db").display());
        let store = Arc::new(StoreBuilder::new(&url).open().await?);
        let engine = Engine::new(
            &config,
            &plan,
            store.clone(),
            clock.clone(),
            Settings::default(),
        )?;
        eprintln!(
            "running {} jobs of {} at {}x ({} per real minute){}; Ctrl-C stops",
            plan.jobs.len(),
            config.environment.name,
            args.speed,
            per_real_minute(args.speed),
            duration
                .map(|d| format!(" for {d:#} of schedule time"))
                .unwrap_or_default()
        );
        let until = duration.map(|d| clock.now() + d);
        // The demo's actions work out of the box: a token made for this run,
        // handed over in the sign-in link (after '#', so no server logs it).
        let token = std::env::var("PACER_API_TOKEN")
            .ok()
            .filter(|t| !t.is_empty())
            .unwrap_or_else(one_time_token);
        let served = runtime::serve(&engine, &args.listen, Some(token.clone()), false).await?;
        eprintln!("dashboard: http://{}/#token={token}", served.addr);
        let engine = runtime::run_until_signal(&engine, until, None).await?;
        served.task.abort();
        summary(&config, &engine, &store, &mocks, start).await
    });
    let _ = std::fs::remove_dir_all(&dir);
    let summary = summary?;
    match args.format {
        Format::Json => writeln!(out, "{}", serde_json::to_string_pretty(&summary)?)?,
        Format::Text => out.write_all(text(&summary).as_bytes())?,
    }
    Ok(ExitCode::SUCCESS)
}

/// 128 random bits as hex, for a demo's API token.
fn one_time_token() -> String {
    use std::hash::{BuildHasher, Hasher};
    // Each RandomState is seeded from the OS's randomness.
    (0..2)
        .map(|_| {
            let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
            let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH);
            hasher.write_u128(now.map_or(0, |d| d.as_nanos()));
            format!("{:016x}", hasher.finish())
        })
        .collect()
}

fn per_real_minute(speed: f64) -> String {
    let minutes = speed;
    if minutes >= 60.0 {
        format!("{:.1} scheduled hours", minutes / 60.0)
    } else {
        format!("{minutes:.0} scheduled minutes")
    }
}

/// The demo's figures in the words README defines: changes (at the
/// source), pulled, not pulled yet, delivered, waiting (queued, not yet
/// delivered), dead, and backlog (changes not delivered: what `pacer
/// simulate` calls backlog too); each system's busiest minute as Pacer
/// counted it, the figure the dashboard shows.
async fn summary(
    config: &pacer_config::Config,
    engine: &Engine,
    store: &pacer_store::Store,
    mocks: &[(String, pacer_mock::Running)],
    started: jiff::Timestamp,
) -> anyhow::Result<Summary> {
    let stats = engine.stats();
    let mut integrations = BTreeMap::new();
    for integration in &config.environment.integrations {
        let changes = mocks
            .iter()
            .find(|(name, _)| *name == integration.from)
            .and_then(|(_, mock)| {
                mock.stats()
                    .feeds
                    .get(&integration.name)
                    .map(|f| f.produced)
            })
            .unwrap_or(0);
        let moved = stats
            .moved
            .get(&integration.name)
            .cloned()
            .unwrap_or_default();
        let moved = pacer_sim::Moved::counted(
            store,
            &integration.name,
            changes,
            moved.pulled(),
            moved.delivered,
        )
        .await?;
        integrations.insert(integration.name.clone(), moved);
    }
    let mut busiest: BTreeMap<String, u64> = BTreeMap::new();
    for (budget, _, used) in store
        .rate_usage(pacer_store::Minute::containing(started))
        .await?
    {
        let most = busiest.entry(budget).or_default();
        *most = (*most).max(used);
    }
    let systems = mocks
        .iter()
        .map(|(name, mock)| {
            let s = mock.stats();
            let busiest_minute = busiest.get(name).copied().unwrap_or(0);
            (
                name.clone(),
                SystemSummary {
                    limit: s.limit,
                    busiest_minute,
                    max_per_minute: s.max_per_minute,
                },
            )
        })
        .collect();
    Ok(Summary {
        integrations,
        systems,
    })
}

/// What the demo moved, printed at its end (`--format json`: as is).
#[derive(Serialize)]
struct Summary {
    integrations: BTreeMap<String, pacer_sim::Moved>,
    systems: BTreeMap<String, SystemSummary>,
}

/// A system's busiest minute against its limit.
#[derive(Serialize)]
struct SystemSummary {
    limit: Option<u32>,
    busiest_minute: u64,
    /// The most the mock itself saw in a minute.
    max_per_minute: u64,
}

fn text(summary: &Summary) -> String {
    let mut out = String::from("\n");
    out.push_str(&pacer_sim::moved_table(
        summary
            .integrations
            .iter()
            .map(|(name, m)| (name.as_str(), m)),
    ));
    out.push_str("\nsystem      limit/min  busiest minute\n");
    for (name, s) in &summary.systems {
        let limit = s.limit.map_or("-".into(), |l| l.to_string());
        let busiest = s.busiest_minute;
        out.push_str(&format!("{name:<11} {limit:>9} {busiest:>15}\n"));
    }
    out
}
