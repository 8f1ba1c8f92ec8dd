//! What the API answers and the dashboard shows, gathered once for both:
//! the store's rows and the engine's state as the answer types.

use std::collections::{BTreeMap, HashMap};

use jiff::{SignedDuration, Timestamp};
use pacer_engine::{Engine, JobView};
use pacer_store::{Execution, ExecutionQuery, ExecutionState, Minute, Task, TaskQuery, TaskStatus};
use serde_json::Value;

use crate::{
    answers::{
        AlertAnswer, AlertList, Attempt, EnvironmentAnswer, ExecutionAnswer, Hour, Instant,
        JobAnswer, JobList, PlanAnswer, RateUsage, RecentError, RetentionAnswer, RowsAnswer,
        TaskAnswer, TaskDetail, TaskPage, Today,
    },
    error::ApiError,
};

/// Most rows one request lists.
pub(crate) const MAX_LIMIT: u32 = 1_000;

/// Jobs a page lists unless `limit` says otherwise.
pub(crate) const JOBS_PAGE: u32 = 100;

/// An instant as RFC 3339 in the environment's time zone.
pub(crate) fn time(engine: &Engine, at: Timestamp) -> String {
    at.to_zoned(engine.time_zone().clone())
        .strftime("%Y-%m-%dT%H:%M:%S%:z")
        .to_string()
}

/// An instant as the API answers it.
pub(crate) fn instant(engine: &Engine, at: Timestamp) -> Instant {
    Instant(time(engine, at))
}

/// Whole milliseconds from `from` to `to`, none when `to` is earlier.
fn millis_between(from: Timestamp, to: Timestamp) -> i64 {
    (to.duration_since(from).as_millis() as i64).max(0)
}

/// The integrations the engine's jobs belong to, in plan order.
pub(crate) fn integrations(engine: &Engine) -> Vec<String> {
    let mut names: Vec<String> = Vec::new();
    for job in &engine.plan().jobs {
        if !names.contains(&job.integration) {
            names.push(job.integration.clone());
        }
    }
    names
}

pub(crate) async fn environment(engine: &Engine) -> Result<EnvironmentAnswer, ApiError> {
    let env = engine.environment();
    let now = engine.clock().now();
    let in_use = engine.store().slots_in_use(env.capacity, now).await?;
    Ok(EnvironmentAnswer {
        name: env.name,
        timezone: env.timezone,
        capacity: env.capacity,
        capacity_in_use: in_use,
        node: env.node,
        nodes_alive: engine.nodes_alive().await?,
        store: engine.store().kind(),
        now: instant(engine, now),
        retention: retention(&env.retention, engine.store().row_counts().await?),
    })
}

fn retention(kept: &pacer_config::Retention, rows: pacer_store::RowCounts) -> RetentionAnswer {
    RetentionAnswer {
        finished_tasks: duration(kept.finished_tasks),
        dead_tasks: duration(kept.dead_tasks),
        executions: duration(kept.executions),
        rate_windows: duration(kept.rate_windows),
        rows: RowsAnswer {
            tasks: rows.tasks,
            task_errors: rows.task_errors,
            executions: rows.executions,
            rate_windows: rows.rate_windows,
        },
    }
}

/// A duration as the config file writes it: `7d`, `36h`, `90m`.
fn duration(d: SignedDuration) -> String {
    let minutes = d.as_mins();
    match minutes {
        m if m % 1440 == 0 => format!("{}d", m / 1440),
        m if m % 60 == 0 => format!("{}h", m / 60),
        m => format!("{m}m"),
    }
}

pub(crate) fn execution(engine: &Engine, e: &Execution) -> ExecutionAnswer {
    let waited = e.started_at.map(|s| millis_between(e.minute.start(), s));
    let duration = match (e.started_at, e.finished_at) {
        (Some(s), Some(f)) => Some(millis_between(s, f)),
        _ => None,
    };
    ExecutionAnswer {
        job: e.job.clone(),
        minute: instant(engine, e.minute.start()),
        state: e.state.as_str(),
        due_at: instant(engine, e.due_at),
        started_at: e.started_at.map(|at| instant(engine, at)),
        finished_at: e.finished_at.map(|at| instant(engine, at)),
        waited_ms: waited,
        duration_ms: duration,
        items: e.items,
        error: e.error.clone(),
    }
}

/// `?limit=&cursor=`: a page of jobs in the file's order, after the job
/// named by `cursor` (the previous page's `next_cursor`).
pub(crate) async fn job_page(
    engine: &Engine,
    params: &HashMap<String, String>,
) -> Result<JobList, ApiError> {
    let limit = limit(params, JOBS_PAGE)? as usize;
    let mut views = engine.job_views(5);
    if let Some(after) = param(params, "cursor") {
        let Some(at) = views.iter().position(|v| v.name == after) else {
            return Err(ApiError::bad_request(format!(
                "cursor={after:?}: no job has that name; give the next_cursor of the page before"
            )));
        };
        views.drain(..=at);
    }
    let more = views.len() > limit;
    views.truncate(limit);
    let next_cursor = more.then(|| views.last().map(|v| v.name.clone())).flatten();
    Ok(JobList {
        jobs: jobs(engine, &views).await?,
        next_cursor,
    })
}

/// The jobs behind `views`, with their switches and last executions: two
/// store calls, however many jobs.
async fn jobs(engine: &Engine, views: &[JobView]) -> Result<Vec<JobAnswer>, ApiError> {
    let controls: HashMap<String, pacer_store::JobControl> = engine
        .store()
        .job_controls()
        .await?
        .into_iter()
        .map(|c| (c.job.clone(), c))
        .collect();
    let names: Vec<String> = views.iter().map(|v| v.name.clone()).collect();
    let last: HashMap<String, Execution> = engine
        .store()
        .latest_executions(&names, &ExecutionState::ALL)
        .await?
        .into_iter()
        .map(|e| (e.job.clone(), e))
        .collect();
    Ok(views
        .iter()
        .map(|view| job(engine, view, controls.get(&view.name), last.get(&view.name)))
        .collect())
}

fn job(
    engine: &Engine,
    view: &JobView,
    control: Option<&pacer_store::JobControl>,
    last: Option<&Execution>,
) -> JobAnswer {
    let state = match last.map(|e| e.state) {
        Some(state @ (ExecutionState::Due | ExecutionState::Waiting | ExecutionState::Running)) => {
            state.as_str()
        }
        _ => "idle",
    };
    JobAnswer {
        name: view.name.clone(),
        integration: view.integration.clone(),
        kind: view.kind,
        system: view.system.clone(),
        schedule: view.schedule.clone(),
        description: view.description.clone(),
        items_per_run: view.budget,
        next_runs: view
            .next
            .iter()
            .map(|z| Instant(z.strftime("%Y-%m-%dT%H:%M:%S%:z").to_string()))
            .collect(),
        last_execution: last.map(|e| execution(engine, e)),
        state,
        paused: control.is_some_and(|c| c.paused),
        triggered_at: control
            .and_then(|c| c.triggered_at)
            .map(|at| instant(engine, at)),
    }
}

/// One job, or 404.
pub(crate) async fn one_job(engine: &Engine, name: &str) -> Result<JobAnswer, ApiError> {
    let views: Vec<JobView> = engine
        .job_views(5)
        .into_iter()
        .filter(|v| v.name == name)
        .collect();
    jobs(engine, &views)
        .await?
        .pop()
        .ok_or_else(|| no_job(engine, name))
}

pub(crate) fn no_job(engine: &Engine, name: &str) -> ApiError {
    ApiError::not_found(format!(
        "no job named {name:?}; the jobs are: {}",
        engine.jobs().join(", ")
    ))
}

/// A query parameter that is absent or empty is no filter.
/// A request's query parameters, each given at most once: `limit=5&limit=`
/// is refused rather than read as one of them.
pub(crate) struct Params(pub(crate) HashMap<String, String>);

impl<S: Send + Sync> axum::extract::FromRequestParts<S> for Params {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        _: &S,
    ) -> Result<Params, ApiError> {
        let query = parts.uri.query().unwrap_or_default();
        let pairs: Vec<(String, String)> = serde_urlencoded::from_str(query)
            .map_err(|e| ApiError::bad_request(format!("the query does not parse: {e}")))?;
        let mut params = HashMap::new();
        for (name, value) in pairs {
            if params.contains_key(&name) {
                return Err(ApiError::bad_request(format!(
                    "{name} is given twice: give each parameter once"
                )));
            }
            params.insert(name, value);
        }
        Ok(Params(params))
    }
}

fn param<'a>(params: &'a HashMap<String, String>, name: &str) -> Option<&'a str> {
    params
        .get(name)
        .map(String::as_str)
        .filter(|v| !v.is_empty())
}

fn limit(params: &HashMap<String, String>, default: u32) -> Result<u32, ApiError> {
    match param(params, "limit") {
        None => Ok(default),
        Some(text) => match text.parse::<u32>() {
            Ok(n) if (1..=MAX_LIMIT).contains(&n) => Ok(n),
            _ => Err(ApiError::bad_request(format!(
                "limit={text:?}: expected a number from 1 to {MAX_LIMIT}"
            ))),
        },
    }
}

/// `?name=` read as one of `names`; a value `read` refuses is a 400 that
/// lists them.
fn one_of<T>(
    params: &HashMap<String, String>,
    name: &str,
    names: &[&str],
    read: impl Fn(&str) -> Option<T>,
) -> Result<Option<T>, ApiError> {
    let Some(text) = param(params, name) else {
        return Ok(None);
    };
    read(text).map(Some).ok_or_else(|| {
        ApiError::bad_request(format!(
            "{name}={text:?}: expected one of {}",
            names.join(", ")
        ))
    })
}

/// `?job=&state=&since=&limit=` as a store query; `since` defaults to a day ago.
pub(crate) fn execution_query(
    engine: &Engine,
    params: &HashMap<String, String>,
) -> Result<ExecutionQuery, ApiError> {
    let names = ExecutionState::ALL.map(ExecutionState::as_str);
    let state = one_of(params, "state", &names, ExecutionState::parse)?;
    let now = engine.clock().now();
    let since = match param(params, "since") {
        None => now - SignedDuration::from_hours(24),
        Some(text) => text.parse::<Timestamp>().map_err(|_| {
            ApiError::bad_request(format!(
                "since={text:?}: expected an RFC 3339 instant such as 2026-11-27T08:00:00Z"
            ))
        })?,
    };
    Ok(ExecutionQuery {
        job: param(params, "job").map(str::to_string),
        state,
        since,
        limit: limit(params, 100)?,
    })
}

pub(crate) async fn executions(
    engine: &Engine,
    query: &ExecutionQuery,
) -> Result<Vec<ExecutionAnswer>, ApiError> {
    let rows = engine.store().history(query).await?;
    Ok(rows.iter().map(|e| execution(engine, e)).collect())
}

/// `?integration=&status=&limit=&cursor=` as a store query.
pub(crate) fn task_query(params: &HashMap<String, String>) -> Result<TaskQuery, ApiError> {
    let names = TaskStatus::ALL.map(TaskStatus::as_str);
    let status = one_of(params, "status", &names, TaskStatus::from_name)?;
    let before = match param(params, "cursor") {
        None => None,
        Some(text) => Some(text.parse::<i64>().map_err(|_| {
            ApiError::bad_request(format!(
                "cursor={text:?}: expected the next_cursor of a previous answer"
            ))
        })?),
    };
    Ok(TaskQuery {
        integration: param(params, "integration").map(str::to_string),
        status,
        before,
        limit: limit(params, 50)?,
    })
}

pub(crate) fn task(engine: &Engine, t: &Task) -> TaskAnswer {
    TaskAnswer {
        id: t.id,
        integration: t.integration.clone(),
        key: t.key.clone(),
        status: t.status.as_str(),
        attempts: t.attempts,
        last_error: t.last_error.clone(),
        next_attempt_at: instant(engine, t.next_attempt_at),
        created_at: instant(engine, t.created_at),
        updated_at: instant(engine, t.updated_at),
    }
}

/// A page of tasks and the cursor of the next page (`null` on the last).
pub(crate) async fn tasks(engine: &Engine, query: &TaskQuery) -> Result<TaskPage, ApiError> {
    let rows = engine.store().tasks(query).await?;
    let next = (rows.len() == query.limit as usize)
        .then(|| rows.last().map(|t| t.id.to_string()))
        .flatten();
    Ok(TaskPage {
        tasks: rows.iter().map(|t| task(engine, t)).collect(),
        next_cursor: next,
    })
}

/// A task id from a path, or 404: ids are numbers.
pub(crate) fn task_id(text: &str) -> Result<i64, ApiError> {
    text.parse()
        .map_err(|_| ApiError::not_found(format!("no task {text:?}: task ids are numbers")))
}

/// A task with its payload and every failed attempt, or 404.
pub(crate) async fn task_detail(engine: &Engine, id: i64) -> Result<TaskDetail, ApiError> {
    let store = engine.store();
    let t = store
        .task(id)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("no task {id}")))?;
    let errors = store.task_errors(id).await?;
    Ok(TaskDetail {
        task: task(engine, &t),
        // A record that is JSON reads as JSON; a rejected one stays as it came.
        payload: serde_json::from_str(&t.payload).unwrap_or(Value::String(t.payload)),
        errors: errors
            .iter()
            .map(|e| Attempt {
                attempt: e.attempt,
                at: instant(engine, e.at),
                error: e.error.clone(),
            })
            .collect(),
    })
}

/// Tasks by integration and status, every integration and status present.
pub(crate) async fn task_counts(
    engine: &Engine,
) -> Result<BTreeMap<String, BTreeMap<&'static str, u64>>, ApiError> {
    let zeros = || TaskStatus::ALL.iter().map(|s| (s.as_str(), 0)).collect();
    let mut counts: BTreeMap<String, BTreeMap<&'static str, u64>> = integrations(engine)
        .into_iter()
        .map(|i| (i, zeros()))
        .collect();
    for (integration, status, n) in engine.store().task_counts().await? {
        *counts
            .entry(integration)
            .or_insert_with(zeros)
            .entry(status.as_str())
            .or_default() += n;
    }
    Ok(counts)
}

/// The open alerts, the conditions switched on, and the channels.
pub(crate) async fn alerts(engine: &Engine) -> Result<AlertList, ApiError> {
    let (conditions, channels) = engine.alerting();
    let alerts = engine
        .alerts()
        .await?
        .into_iter()
        .map(|a| AlertAnswer {
            state: if a.fired_at.is_some() {
                "firing"
            } else {
                "pending"
            },
            since: instant(engine, a.since),
            sent_at: a.sent_at.map(|at| instant(engine, at)),
            condition: a.condition,
            subject: a.subject,
            message: a.message,
        })
        .collect();
    Ok(AlertList {
        alerts,
        conditions,
        channels,
    })
}

/// An integration's health as the Overview shows it: the worst of what
/// holds, why, and where to look.
pub(crate) struct Health {
    /// `ok`, `warn` or `bad`.
    pub(crate) class: &'static str,
    pub(crate) word: &'static str,
    pub(crate) reason: Option<String>,
    pub(crate) link: Option<String>,
}

/// Each integration's health: dead tasks, a last execution that failed, a
/// backlog older than its freshness, tasks waiting to be retried.
pub(crate) async fn health(
    engine: &Engine,
    counts: &BTreeMap<String, BTreeMap<&'static str, u64>>,
) -> Result<BTreeMap<String, Health>, ApiError> {
    let now = engine.clock().now();
    let oldest: HashMap<String, Timestamp> =
        engine.store().oldest_queued().await?.into_iter().collect();
    // Each job's last run that ended (not skipped), in one store call.
    let jobs: Vec<String> = counts
        .keys()
        .flat_map(|i| [format!("{i}.pull"), format!("{i}.push")])
        .collect();
    let ended = [
        ExecutionState::Succeeded,
        ExecutionState::Failed,
        ExecutionState::Missed,
        ExecutionState::Interrupted,
    ];
    let mut last_ended: HashMap<String, Execution> = engine
        .store()
        .latest_executions(&jobs, &ended)
        .await?
        .into_iter()
        .map(|e| (e.job.clone(), e))
        .collect();
    let mut out = BTreeMap::new();
    for (integration, by_status) in counts {
        let n = |s: &str| by_status.get(s).copied().unwrap_or(0);
        let tasks = |status: &str| format!("/tasks?integration={integration}&status={status}");
        let mut failing = None;
        for kind in ["pull", "push"] {
            let job = format!("{integration}.{kind}");
            let last = last_ended.remove(&job);
            if let Some(e) = last.filter(|e| e.state.is_failure()) {
                let why = e.error.unwrap_or_else(|| e.state.as_str().to_string());
                failing = Some((
                    format!("its last {kind} {}: {why}", e.state.as_str()),
                    format!("/executions?job={job}"),
                ));
                break;
            }
        }
        let behind = match (oldest.get(integration), engine.freshness(integration)) {
            (Some(&queued), Some(freshness)) if now.duration_since(queued) > freshness => {
                Some(format!(
                    "its oldest queued change waits {} min, longer than its freshness of {} min",
                    now.duration_since(queued).as_mins(),
                    freshness.as_mins()
                ))
            }
            _ => None,
        };
        let health = if n("dead") > 0 {
            let dead = n("dead");
            Health {
                class: "bad",
                word: "dead tasks",
                reason: Some(format!(
                    "{dead} dead {}: replay them once the cause is fixed",
                    if dead == 1 { "task" } else { "tasks" }
                )),
                link: Some(tasks("dead")),
            }
        } else if let Some((reason, link)) = failing {
            Health {
                class: "bad",
                word: "failing",
                reason: Some(reason),
                link: Some(link),
            }
        } else if let Some(reason) = behind {
            Health {
                class: "warn",
                word: "behind",
                reason: Some(reason),
                link: Some(tasks("new")),
            }
        } else if n("failed") > 0 {
            Health {
                class: "warn",
                word: "retrying",
                reason: Some(format!("{} tasks wait to be retried", n("failed"))),
                link: Some(tasks("failed")),
            }
        } else {
            Health {
                class: "ok",
                word: "healthy",
                reason: None,
                link: None,
            }
        };
        out.insert(integration.clone(), health);
    }
    Ok(out)
}

/// The latest failed attempts, newest first.
pub(crate) async fn recent_errors(
    engine: &Engine,
    limit: u32,
) -> Result<Vec<RecentError>, ApiError> {
    let errors = engine.store().recent_errors(limit).await?;
    Ok(errors
        .into_iter()
        .map(|e| RecentError {
            task: e.task,
            integration: e.integration,
            attempt: e.attempt,
            at: instant(engine, e.at),
            error: e.error,
        })
        .collect())
}

/// Today in the environment's time zone, as long as it really is (23 or
/// 25 hours on a day the clock moves): its date, its hours, the current
/// minute, the plan laid on it, and the executions running in each minute.
pub(crate) async fn today(engine: &Engine) -> Result<Today, ApiError> {
    let now = engine.clock().now();
    let zone = engine.time_zone();
    let zoned = now.to_zoned(zone.clone());
    let Some(day) = pacer_cron::Day::of(zoned.date(), zone) else {
        return Err(ApiError::bad_request("today is beyond the calendar"));
    };
    let rows = engine
        .store()
        .history(&ExecutionQuery {
            since: day.start() - SignedDuration::from_hours(24),
            limit: 100_000,
            ..ExecutionQuery::default()
        })
        .await?;
    let mut by_minute = vec![0u32; day.minutes()];
    for e in &rows {
        let Some(started) = e.started_at else {
            continue;
        };
        let finished = e.finished_at.unwrap_or(now);
        // Every minute it was running in, from its start minute to its end's.
        let mut minute = Minute::containing(started);
        while minute.start() <= finished && minute.start() <= now {
            if let Some(index) = day.minute_of(minute.start()) {
                by_minute[index] += 1;
            }
            minute += 1;
        }
    }
    let plan = engine.plan();
    // Yesterday's last executions run into today: a day after the clock
    // moved has a plan of its own too.
    let yesterday = zoned
        .date()
        .yesterday()
        .ok()
        .and_then(|d| pacer_cron::Day::of(d, zone));
    let planned = if day.is_ordinary() && yesterday.is_none_or(|d| d.is_ordinary()) {
        plan.load.by_minute.clone()
    } else {
        plan.load_on(&day, zone)
    };
    Ok(Today {
        date: zoned.date().to_string(),
        now_minute: day.minute_of(now).map_or(-1, |m| m as i64),
        hours: day.hours().iter().map(Hour::from).collect(),
        planned_by_minute: planned,
        by_minute,
    })
}

/// What `pacer plan --format json` prints, plus today's actual load.
pub(crate) async fn plan(engine: &Engine) -> Result<PlanAnswer, ApiError> {
    Ok(PlanAnswer {
        plan: engine.plan().clone(),
        actual: today(engine).await?,
    })
}

/// Items taken from each rate budget in each of the last 60 minutes, with its limit.
pub(crate) async fn rate_usage(engine: &Engine) -> Result<Vec<RateUsage>, ApiError> {
    let first = Minute::containing(engine.clock().now()) - 59;
    let mut used: BTreeMap<String, Vec<u64>> = BTreeMap::new();
    for (budget, window, n) in engine.store().rate_usage(first).await? {
        let index = window.minutes_since(first) as usize;
        if let Some(slot) = used
            .entry(budget)
            .or_insert_with(|| vec![0; 60])
            .get_mut(index)
        {
            *slot = n;
        }
    }
    // The plan's minute of the day for each of those minutes, on the wall
    // clock (the plan is laid out on an ordinary day).
    let minutes_of_day: Vec<usize> = (0..60)
        .map(|n| {
            let time = (first + n)
                .start()
                .to_zoned(engine.time_zone().clone())
                .time();
            usize::from(time.hour().unsigned_abs()) * 60 + usize::from(time.minute().unsigned_abs())
        })
        .collect();
    let plan = engine.plan();
    Ok(engine
        .rate_limits()
        .into_iter()
        .map(|(budget, limit)| {
            let per_minute = used.remove(&budget).unwrap_or_else(|| vec![0; 60]);
            let planned_per_minute = plan.systems.iter().find(|s| s.system == budget).map(|s| {
                minutes_of_day
                    .iter()
                    .map(|&m| s.by_minute.get(m).copied().unwrap_or(0))
                    .collect()
            });
            RateUsage {
                budget,
                limit_per_minute: limit,
                from: instant(engine, first.start()),
                per_minute,
                planned_per_minute,
            }
        })
        .collect())
}
