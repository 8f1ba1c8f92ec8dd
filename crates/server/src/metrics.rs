//! `/metrics`: the engine's counters in Prometheus' text format (0.0.4).

use std::{collections::BTreeMap, fmt::Write};

use axum::{
    extract::State,
    http::header,
    response::{IntoResponse, Response},
};
use pacer_engine::{BUCKETS, Engine, Histogram, Stats, Timings};
use pacer_store::ExecutionState;

use crate::{App, error::ApiError, views};

pub(crate) async fn render(State(app): State<App>) -> Result<Response, ApiError> {
    let engine = &app.engine();
    let stats = engine.stats();
    let timings = engine.timings();
    let env = engine.environment();
    let now = engine.clock().now();
    let in_use = engine.store().slots_in_use(env.capacity, now).await?;
    let counts = views::task_counts(engine).await?;
    let mut out = Text::default();
    build(&mut out);
    process(&mut out);
    executions(&mut out, &engine.jobs(), &stats, &timings);
    tasks(&mut out, &counts);
    items(&mut out, &stats);
    deliveries(&mut out, engine);
    rate_waits(&mut out, &timings);
    capacity(&mut out, env.capacity, in_use, &timings);
    pruned(&mut out, &stats);
    out.family(
        "pacer_store_calls_total",
        "counter",
        "Calls this node made to the store, each one statement or one transaction.",
    );
    out.sample(
        "pacer_store_calls_total",
        &[],
        engine.store().calls() as f64,
    );
    backlog(&mut out, engine, now).await?;
    rates(&mut out, engine, now).await?;
    let seen = engine.seen().await?;
    drift(&mut out, &seen);
    let successes = engine.store().last_successes().await?;
    last_success(&mut out, &successes);
    let alerts = engine.alerts().await?;
    alerting(&mut out, engine, &alerts, &stats);
    Ok((
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        out.0,
    )
        .into_response())
}

/// `pacer_build_info`: which Pacer answers, as Prometheus exporters say it.
fn build(out: &mut Text) {
    out.family(
        "pacer_build_info",
        "gauge",
        "Always 1; the version of Pacer this node runs.",
    );
    out.sample(
        "pacer_build_info",
        &[("version", env!("CARGO_PKG_VERSION"))],
        1.0,
    );
}

/// The standard process metrics, read from Linux's `/proc/self`: CPU
/// seconds, resident memory, open files and the limit on them. Elsewhere
/// there are none.
fn process(out: &mut Text) {
    // /proc/self/stat: fields after the command's closing parenthesis;
    // utime and stime are the 12th and 13th of those, in clock ticks of
    // USER_HZ, which Linux fixes at 100 for every program that reads them.
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let after = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
    let fields: Vec<&str> = after.split_whitespace().collect();
    let ticks = |i: usize| fields.get(i).and_then(|v| v.parse::<f64>().ok());
    if let (Some(user), Some(system)) = (ticks(11), ticks(12)) {
        out.family(
            "process_cpu_seconds_total",
            "counter",
            "CPU time this process used, user and system.",
        );
        out.sample("process_cpu_seconds_total", &[], (user + system) / 100.0);
    }
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let resident_kib = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok());
    if let Some(kib) = resident_kib {
        out.family(
            "process_resident_memory_bytes",
            "gauge",
            "Memory this process holds in RAM.",
        );
        out.sample("process_resident_memory_bytes", &[], kib * 1024.0);
    }
    if let Ok(open) = std::fs::read_dir("/proc/self/fd") {
        out.family(
            "process_open_fds",
            "gauge",
            "Files, sockets and pipes this process has open.",
        );
        out.sample("process_open_fds", &[], open.count() as f64);
    }
    let limits = std::fs::read_to_string("/proc/self/limits").unwrap_or_default();
    let most = limits
        .lines()
        .find(|l| l.starts_with("Max open files"))
        .and_then(|l| l.split_whitespace().nth(3))
        .and_then(|v| v.parse::<f64>().ok());
    if let Some(most) = most {
        out.family(
            "process_max_fds",
            "gauge",
            "The most files this process may have open.",
        );
        out.sample("process_max_fds", &[], most);
    }
}

/// How an execution may end.
const OUTCOMES: [ExecutionState; 5] = [
    ExecutionState::Succeeded,
    ExecutionState::Failed,
    ExecutionState::Skipped,
    ExecutionState::Missed,
    ExecutionState::Interrupted,
];

/// Executions ended, by job and outcome, and their waits and durations.
/// Jobs are labelled `pacer_job`: Prometheus sets `job` on every target.
/// Each job's series are there at 0 before anything ends that way, so an
/// alert on failures has a series to watch from the start.
fn executions(out: &mut Text, jobs: &[String], stats: &Stats, timings: &Timings) {
    out.family(
        "pacer_executions_total",
        "counter",
        "Executions this node ended, by job and outcome.",
    );
    for job in jobs {
        let ended = stats.executions.get(job);
        for outcome in OUTCOMES {
            let n = ended.and_then(|e| e.get(&outcome)).copied().unwrap_or(0);
            out.sample(
                "pacer_executions_total",
                &[("pacer_job", job), ("outcome", outcome.as_str())],
                n as f64,
            );
        }
    }
    out.histograms(
        "pacer_execution_wait_seconds",
        "From an execution's scheduled minute to its start: the wait for capacity.",
        &timings.wait,
    );
    out.histograms(
        "pacer_execution_duration_seconds",
        "From an execution's start to its end.",
        &timings.duration,
    );
}

/// Tasks in the store, by integration and status.
fn tasks(out: &mut Text, counts: &BTreeMap<String, BTreeMap<&'static str, u64>>) {
    out.family(
        "pacer_tasks",
        "gauge",
        "Tasks in the store, by integration and status.",
    );
    for (integration, statuses) in counts {
        for (status, n) in statuses {
            out.sample(
                "pacer_tasks",
                &[("integration", integration), ("status", status)],
                *n as f64,
            );
        }
    }
}

/// Records moved, by integration and what became of them.
fn items(out: &mut Text, stats: &Stats) {
    out.family(
        "pacer_items_total",
        "counter",
        "Records this node moved, by integration and what became of them.",
    );
    for (integration, moved) in &stats.moved {
        for (what, n) in [
            ("queued", moved.queued),
            ("rejected", moved.rejected),
            ("delivered", moved.delivered),
            ("retried", moved.retried),
            ("dead", moved.dead),
        ] {
            out.sample(
                "pacer_items_total",
                &[("integration", integration), ("outcome", what)],
                n as f64,
            );
        }
    }
}

/// Delivery requests sent, by system and answer.
fn deliveries(out: &mut Text, engine: &Engine) {
    out.family(
        "pacer_deliveries_total",
        "counter",
        "Delivery requests this node sent, by system and HTTP status (\"none\": no answer).",
    );
    for ((system, status), n) in engine.responses() {
        let status = if status == 0 {
            "none".to_string()
        } else {
            status.to_string()
        };
        out.sample(
            "pacer_deliveries_total",
            &[("system", &system), ("status", &status)],
            n as f64,
        );
    }
}

/// Waits for rate budgets: how many, and how long in all.
fn rate_waits(out: &mut Text, timings: &Timings) {
    out.family(
        "pacer_rate_limit_waits_total",
        "counter",
        "Times work waited for a rate budget (a system's, or a job's own).",
    );
    for (budget, (n, _)) in &timings.rate_waits {
        out.sample(
            "pacer_rate_limit_waits_total",
            &[("system", budget)],
            *n as f64,
        );
    }
    out.family(
        "pacer_rate_limit_wait_seconds_total",
        "counter",
        "Seconds work waited for a rate budget.",
    );
    for (budget, (_, seconds)) in &timings.rate_waits {
        out.sample(
            "pacer_rate_limit_wait_seconds_total",
            &[("system", budget)],
            *seconds,
        );
    }
}

/// The last week's observed figures over the file's: 1 is as declared. A
/// series only where both exist (a whole day seen; a system that said
/// slow down in enough minutes).
fn drift(out: &mut Text, seen: &pacer_engine::Seen) {
    out.family(
        "pacer_volume_drift_ratio",
        "gauge",
        "An integration's busiest day of the last 7 whole days over its declared volume × peak factor.",
    );
    for d in &seen.drifts.integrations {
        if let Some(ratio) = d.ratio {
            out.sample(
                "pacer_volume_drift_ratio",
                &[("integration", &d.integration)],
                ratio,
            );
        }
    }
    out.family(
        "pacer_rate_drift_ratio",
        "gauge",
        "What a system took a minute when it said slow down (last 7 whole days) over its declared rate.",
    );
    for d in &seen.drifts.systems {
        if let Some(ratio) = d.ratio {
            out.sample("pacer_rate_drift_ratio", &[("system", &d.system)], ratio);
        }
    }
}

/// Capacity, what of it is held now, and the scheduler's lag.
fn capacity(out: &mut Text, capacity: u32, in_use: u32, timings: &Timings) {
    out.family(
        "pacer_capacity",
        "gauge",
        "Executions that may run at once, across all nodes.",
    );
    out.sample("pacer_capacity", &[], f64::from(capacity));
    out.family(
        "pacer_capacity_in_use",
        "gauge",
        "Capacity slots held now, across all nodes.",
    );
    out.sample("pacer_capacity_in_use", &[], f64::from(in_use));
    out.family(
        "pacer_scheduler_lag_seconds",
        "histogram",
        "How late each minute's dispatch started.",
    );
    out.histogram("pacer_scheduler_lag_seconds", &[], &timings.scheduler_lag);
}

/// Rows this node's prunes deleted, by table.
fn pruned(out: &mut Text, stats: &Stats) {
    out.family(
        "pacer_pruned_rows_total",
        "counter",
        "Rows this node deleted because the retention no longer keeps them, by table.",
    );
    let p = stats.pruned;
    for (table, n) in [
        ("finished_tasks", p.finished_tasks),
        ("dead_tasks", p.dead_tasks),
        ("executions", p.executions),
        ("rate_windows", p.rate_windows),
    ] {
        out.sample("pacer_pruned_rows_total", &[("table", table)], n as f64);
    }
}

/// Each integration's oldest queued change's age, beside its freshness.
async fn backlog(out: &mut Text, engine: &Engine, now: jiff::Timestamp) -> Result<(), ApiError> {
    out.family(
        "pacer_backlog_oldest_seconds",
        "gauge",
        "Age of each integration's oldest change queued and not yet delivered (0: none waits).",
    );
    let oldest: BTreeMap<String, jiff::Timestamp> =
        engine.store().oldest_queued().await?.into_iter().collect();
    let integrations = views::integrations(engine);
    for integration in &integrations {
        let age = oldest
            .get(integration)
            .map_or(0.0, |at| now.duration_since(*at).as_secs_f64().max(0.0));
        out.sample(
            "pacer_backlog_oldest_seconds",
            &[("integration", integration)],
            age,
        );
    }
    out.family(
        "pacer_freshness_seconds",
        "gauge",
        "The longest delay each integration allows from a change to its delivery.",
    );
    for integration in &integrations {
        if let Some(freshness) = engine.freshness(integration) {
            out.sample(
                "pacer_freshness_seconds",
                &[("integration", integration)],
                freshness.as_secs_f64(),
            );
        }
    }
    Ok(())
}

/// Each rate budget's limit, and what the last whole minute used of it.
async fn rates(out: &mut Text, engine: &Engine, now: jiff::Timestamp) -> Result<(), ApiError> {
    let limits = engine.rate_limits();
    out.family(
        "pacer_rate_limit_per_minute",
        "gauge",
        "Units a rate budget (a system's, or a job's own) allows a minute, across all nodes.",
    );
    for (budget, limit) in &limits {
        out.sample(
            "pacer_rate_limit_per_minute",
            &[("system", budget)],
            f64::from(*limit),
        );
    }
    let last = pacer_store::Minute::containing(now) - 1;
    let used: BTreeMap<String, u64> = engine
        .store()
        .rate_usage(last)
        .await?
        .into_iter()
        .filter(|(_, window, _)| *window == last)
        .map(|(budget, _, used)| (budget, used))
        .collect();
    out.family(
        "pacer_rate_used_last_minute",
        "gauge",
        "Units taken from each rate budget in the last whole minute, across all nodes.",
    );
    for budget in limits.keys() {
        let n = used.get(budget).copied().unwrap_or(0);
        out.sample(
            "pacer_rate_used_last_minute",
            &[("system", budget)],
            n as f64,
        );
    }
    Ok(())
}

/// When each job last succeeded, as Unix seconds.
fn last_success(out: &mut Text, successes: &[(String, jiff::Timestamp)]) {
    out.family(
        "pacer_job_last_success_timestamp_seconds",
        "gauge",
        "When each job's last successful execution ended, in Unix seconds.",
    );
    for (job, at) in successes {
        out.sample(
            "pacer_job_last_success_timestamp_seconds",
            &[("pacer_job", job)],
            at.as_millisecond() as f64 / 1000.0,
        );
    }
}

/// Alerts by condition and state (each condition switched on is there at
/// 0), and notifications by channel and outcome.
fn alerting(out: &mut Text, engine: &Engine, alerts: &[pacer_store::Alert], stats: &Stats) {
    let (conditions, channels) = engine.alerting();
    out.family(
        "pacer_alerts",
        "gauge",
        "Alerts whose condition holds, by condition and state (pending: not yet held long enough; firing: sent).",
    );
    for condition in &conditions {
        for state in ["pending", "firing"] {
            let n = alerts
                .iter()
                .filter(|a| {
                    a.condition == *condition && (a.fired_at.is_some() == (state == "firing"))
                })
                .count();
            out.sample(
                "pacer_alerts",
                &[("condition", condition), ("state", state)],
                n as f64,
            );
        }
    }
    out.family(
        "pacer_alert_notifications_total",
        "counter",
        "Alerts this node sent, by channel (kind and host) and outcome.",
    );
    for channel in &channels {
        for outcome in ["sent", "failed"] {
            let n = stats
                .notifications
                .get(&(channel.clone(), outcome))
                .copied()
                .unwrap_or(0);
            out.sample(
                "pacer_alert_notifications_total",
                &[("channel", channel), ("outcome", outcome)],
                n as f64,
            );
        }
    }
}

/// The exposition text being written.
#[derive(Default)]
struct Text(String);

impl Text {
    fn family(&mut self, name: &str, kind: &str, help: &str) {
        let _ = writeln!(self.0, "# HELP {name} {help}\n# TYPE {name} {kind}");
    }

    fn sample(&mut self, name: &str, labels: &[(&str, &str)], value: f64) {
        self.0.push_str(name);
        if !labels.is_empty() {
            let labels: Vec<String> = labels
                .iter()
                .map(|(k, v)| format!("{k}=\"{}\"", escape(v)))
                .collect();
            let _ = write!(self.0, "{{{}}}", labels.join(","));
        }
        let _ = writeln!(self.0, " {value}");
    }

    fn histograms(
        &mut self,
        name: &str,
        help: &str,
        by_job: &std::collections::BTreeMap<String, Histogram>,
    ) {
        self.family(name, "histogram", help);
        for (job, h) in by_job {
            self.histogram(name, &[("pacer_job", job)], h);
        }
    }

    fn histogram(&mut self, name: &str, labels: &[(&str, &str)], h: &Histogram) {
        let bucket = format!("{name}_bucket");
        for (bound, n) in BUCKETS.iter().zip(h.cumulative) {
            let le = bound.to_string();
            let mut with_le = labels.to_vec();
            with_le.push(("le", &le));
            self.sample(&bucket, &with_le, n as f64);
        }
        let mut with_le = labels.to_vec();
        with_le.push(("le", "+Inf"));
        self.sample(&bucket, &with_le, h.count as f64);
        self.sample(&format!("{name}_sum"), labels, h.sum);
        self.sample(&format!("{name}_count"), labels, h.count as f64);
    }
}

/// A label value with `\`, `"` and newlines escaped.
fn escape(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}
