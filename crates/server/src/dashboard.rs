//! The dashboard: server-rendered pages over the same views as the API, a
//! stylesheet and a little JavaScript that refreshes each page's live part
//! every few seconds and sends the actions with the token. Nothing is
//! fetched from elsewhere: it works offline.

use std::collections::HashMap;

use axum::{
    Router,
    extract::{Path, Query, State},
    http::{HeaderMap, StatusCode, header},
    response::{Html, IntoResponse, Response},
    routing::get,
};
use serde_json::Value;

use crate::{
    App,
    answers::{Instant, RateUsage},
    error::ApiError,
    views,
};

const SCRIPT: &str = include_str!("../assets/dashboard.js");
const STYLE: &str = include_str!("../assets/dashboard.css");

pub(crate) fn routes() -> Router<App> {
    Router::new()
        .route("/", get(overview))
        .route("/schedule", get(schedule))
        .route("/jobs", get(jobs))
        .route("/tasks", get(tasks))
        .route("/tasks/{id}", get(task))
        .route("/executions", get(executions))
}

/// The stylesheet and script: no data in them, so no token needed.
pub(crate) fn assets() -> Router<App> {
    Router::new()
        .route(
            "/assets/dashboard.js",
            get(|| async { ([(header::CONTENT_TYPE, "text/javascript")], SCRIPT) }),
        )
        .route(
            "/assets/dashboard.css",
            get(|| async { ([(header::CONTENT_TYPE, "text/css")], STYLE) }),
        )
}

/// Text safe inside HTML.
fn esc(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// What a table cell shows of a value: text escaped, numbers as written,
/// nothing as a dash.
trait Cell {
    fn cell(&self) -> String;
}

impl Cell for str {
    fn cell(&self) -> String {
        esc(self)
    }
}

impl Cell for String {
    fn cell(&self) -> String {
        esc(self)
    }
}

impl Cell for Instant {
    fn cell(&self) -> String {
        esc(&self.0)
    }
}

/// The plan is still JSON from the planner: its figures show as written.
impl Cell for Value {
    fn cell(&self) -> String {
        match self {
            Value::Null => "–".into(),
            Value::String(s) => esc(s),
            other => esc(&other.to_string()),
        }
    }
}

macro_rules! number_cells {
    ($($t:ty),*) => {
        $(impl Cell for $t {
            fn cell(&self) -> String {
                self.to_string()
            }
        })*
    };
}

number_cells!(i64, u64, u32, usize);

impl<T: Cell> Cell for Option<T> {
    fn cell(&self) -> String {
        self.as_ref().map_or_else(|| "–".into(), Cell::cell)
    }
}

fn show(value: &(impl Cell + ?Sized)) -> String {
    value.cell()
}

/// An instant as `HH:MM:SS` (the date when it is not today's).
fn clock(at: &Instant, today: &str) -> String {
    let t = &at.0;
    if t.len() < 19 {
        esc(t)
    } else if t.starts_with(today) {
        esc(&t[11..19])
    } else {
        esc(&t[..16].replace('T', " "))
    }
}

fn millis(value: Option<i64>) -> String {
    match value {
        None => "–".into(),
        Some(ms) if ms < 1_000 => format!("{ms} ms"),
        Some(ms) if ms < 120_000 => format!("{:.1} s", ms as f64 / 1_000.0),
        Some(ms) => format!("{:.1} min", ms as f64 / 60_000.0),
    }
}

/// A whole page, or only its live part when the script asks for a refresh.
fn page(headers: &HeaderMap, title: &str, current: &str, fixed: &str, live: String) -> Response {
    if headers.contains_key("x-pacer-live") {
        return Html(live).into_response();
    }
    let nav: String = [
        ("/", "Overview"),
        ("/schedule", "Schedule"),
        ("/jobs", "Jobs"),
        ("/tasks", "Tasks"),
        ("/executions", "Executions"),
    ]
    .iter()
    .map(|(href, name)| {
        let here = if *href == current {
            " aria-current=\"page\""
        } else {
            ""
        };
        format!("<a href=\"{href}\"{here}>{name}</a>")
    })
    .collect();
    Html(format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{title} · Pacer</title><link rel=\"stylesheet\" href=\"/assets/dashboard.css\"></head>\
         <body><header><strong class=\"brand\">Pacer</strong><nav>{nav}</nav>\
         <span id=\"status\" role=\"status\"></span></header>\
         <main><h1>{title}</h1>{fixed}<div id=\"live\">{live}</div></main>\
         <script src=\"/assets/dashboard.js\"></script></body></html>"
    ))
    .into_response()
}

/// The answer to a dashboard request without the token.
pub(crate) fn sign_in(message: &str) -> Response {
    let body = format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>Sign in · Pacer</title><link rel=\"stylesheet\" href=\"/assets/dashboard.css\"></head>\
         <body><main><h1>Pacer</h1><p>{}</p>\
         <form id=\"sign-in\"><label>API token <input type=\"password\" name=\"token\" autocomplete=\"off\" required></label>\
         <button>Sign in</button></form></main><script src=\"/assets/dashboard.js\"></script></body></html>",
        esc(message)
    );
    (StatusCode::UNAUTHORIZED, Html(body)).into_response()
}

fn today(engine: &pacer_engine::Engine) -> String {
    views::time(engine, engine.clock().now())[..10].to_string()
}

fn button(label: &str, action: &str, confirm: Option<&str>) -> String {
    let confirm = confirm.map_or(String::new(), |c| format!(" data-confirm=\"{}\"", esc(c)));
    format!(
        "<button type=\"button\" data-action=\"{}\"{confirm}>{label}</button>",
        esc(action)
    )
}

/// Healthy, busy, or needs someone: from the task counts.
fn health(counts: &std::collections::BTreeMap<&str, u64>) -> (&'static str, &'static str) {
    let n = |s: &str| counts.get(s).copied().unwrap_or(0);
    if n("dead") > 0 {
        ("bad", "dead tasks")
    } else if n("failed") > 0 {
        ("warn", "retrying")
    } else {
        ("ok", "healthy")
    }
}

async fn overview(State(app): State<App>, headers: HeaderMap) -> Result<Response, ApiError> {
    let engine = &app.engine;
    let env = views::environment(engine).await?;
    let counts = views::task_counts(engine).await?;
    let errors = views::recent_errors(engine, 10).await?;
    let today = today(engine);
    let mut live = format!(
        "<section class=\"cards\"><div><span>Environment</span><b>{}</b></div>\
         <div><span>Capacity in use</span><b>{} / {}</b></div>\
         <div><span>Nodes alive</span><b>{}</b></div><div><span>Store</span><b>{}</b></div></section>",
        show(&env.name),
        env.capacity_in_use,
        env.capacity,
        env.nodes_alive.len(),
        show(env.store),
    );
    live.push_str(
        "<h2>Tasks by integration</h2><div class=\"scroll\"><table id=\"task-counts\"><thead><tr>\
         <th>Integration</th><th>Health</th><th>New</th><th>Processing</th><th>Finished</th>\
         <th>Failed</th><th>Dead</th><th>Skipped</th></tr></thead><tbody>",
    );
    for (integration, statuses) in &counts {
        let (class, word) = health(statuses);
        live.push_str(&format!(
            "<tr><th><a href=\"/tasks?integration={0}\">{0}</a></th><td><span class=\"health {class}\">{word}</span></td>",
            esc(integration)
        ));
        for status in ["new", "processing", "finished", "failed", "dead", "skipped"] {
            let n = statuses.get(status).copied().unwrap_or(0);
            live.push_str(&format!(
                "<td class=\"num\" data-status=\"{status}\"><a href=\"/tasks?integration={}&amp;status={status}\">{n}</a></td>",
                esc(integration)
            ));
        }
        live.push_str("</tr>");
    }
    live.push_str("</tbody></table></div><h2>Last errors</h2>");
    if errors.is_empty() {
        live.push_str("<p class=\"quiet\">No failed attempts.</p>");
    } else {
        live.push_str("<ul class=\"errors\">");
        for e in &errors {
            live.push_str(&format!(
                "<li><time>{}</time> <a href=\"/tasks/{}\">{} task {}</a> attempt {}: <code>{}</code></li>",
                clock(&e.at, &today),
                e.task,
                show(&e.integration),
                e.task,
                e.attempt,
                show(&e.error),
            ));
        }
        live.push_str("</ul>");
    }
    Ok(page(&headers, "Overview", "/", "", live))
}

/// Colour of a heat-map cell: empty, within capacity (lighter to darker), at it, above it.
fn shade(load: u32, capacity: u32) -> String {
    match load {
        0 => "#eef1f5".into(),
        n if n > capacity => "#d7301f".into(),
        n if n == capacity => "#f08c2b".into(),
        n => {
            let share = f64::from(n) / f64::from(capacity.max(1));
            let lightness = 85.0 - 45.0 * share;
            format!("hsl(212,60%,{lightness:.0}%)")
        }
    }
}

/// An hour of today as a heat-map row: its label, first minute and length.
pub(crate) struct Row {
    label: String,
    first: usize,
    minutes: usize,
}

/// A row per hour today has (23 or 25 when the clock moves), a cell per
/// minute: planned load as colour, actual executions as dots, the current
/// minute outlined.
fn heat_map(
    planned: &[u32],
    actual: &[u32],
    capacity: u32,
    now_minute: i64,
    rows: &[Row],
) -> String {
    let label = rows.iter().map(|r| r.label.len()).max().unwrap_or(3).max(3) as i64;
    let (cell, top) = (12, 14);
    let left = (label * 6 + 4).max(34);
    let (width, height) = (left + 60 * cell, top + rows.len() as i64 * cell);
    let mut svg = format!(
        "<svg id=\"heat-map\" viewBox=\"0 0 {width} {height}\" role=\"img\" \
         aria-label=\"Planned executions in each minute of the day, with actual executions as dots\">"
    );
    for minute in (0..60).step_by(10) {
        svg.push_str(&format!(
            "<text x=\"{}\" y=\"10\" class=\"axis\">:{minute:02}</text>",
            left + minute * cell
        ));
    }
    let mut now = None;
    for (n, row) in rows.iter().enumerate() {
        let y = top + n as i64 * cell;
        let short = if row.label.len() == 5 && row.label.ends_with(":00") {
            format!("{}h", &row.label[..2])
        } else {
            row.label.clone()
        };
        svg.push_str(&format!(
            "<text x=\"0\" y=\"{}\" class=\"axis\">{}</text>",
            y + cell - 2,
            esc(&short)
        ));
        for minute in 0..row.minutes {
            let i = row.first + minute;
            let x = left + minute as i64 * cell;
            let load = planned.get(i).copied().unwrap_or(0);
            let ran = actual.get(i).copied().unwrap_or(0);
            svg.push_str(&format!(
                "<rect x=\"{x}\" y=\"{y}\" width=\"{}\" height=\"{}\" fill=\"{}\"><title>{} planned {load}, ran {ran}</title></rect>",
                cell - 1,
                cell - 1,
                shade(load, capacity),
                minute_label(&row.label, minute)
            ));
            if ran > 0 {
                let r = (1.5
                    + f64::from(ran.min(capacity.max(1))) * 3.0 / f64::from(capacity.max(1)))
                .min(5.0);
                let class = if ran > capacity { "dot over" } else { "dot" };
                svg.push_str(&format!(
                    "<circle class=\"{class}\" cx=\"{}\" cy=\"{}\" r=\"{r:.1}\"/>",
                    x + cell / 2,
                    y + cell / 2
                ));
            }
            if i as i64 == now_minute {
                now = Some((x, y));
            }
        }
    }
    if let Some((x, y)) = now {
        svg.push_str(&format!(
            "<rect id=\"now\" x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" class=\"now\"/>",
            x - 1,
            y - 1,
            cell + 1,
            cell + 1
        ));
    }
    svg.push_str("</svg>");
    svg
}

/// `02:00+01:00` and 5 minutes: `02:05+01:00`.
fn minute_label(hour: &str, minute: usize) -> String {
    let (start, offset) = hour.split_at(hour.len().min(5));
    let (h, m) = start.split_once(':').unwrap_or((start, "0"));
    let total = m.parse::<usize>().unwrap_or(0) + minute;
    format!("{h}:{:02}{offset}", total % 60)
}

/// The day as a line: planned load as an area, actual as a line, capacity as a rule.
fn day_line(planned: &[u32], actual: &[u32], capacity: u32) -> String {
    let top = planned
        .iter()
        .chain(actual)
        .copied()
        .max()
        .unwrap_or(0)
        .max(capacity)
        + 1;
    let (width, height) = (planned.len().max(1) as f64, 120.0);
    let y = |v: u32| height - f64::from(v) / f64::from(top) * height;
    let mut area = format!("M0,{height}");
    for (i, v) in planned.iter().enumerate() {
        area.push_str(&format!(" L{i},{:.1} L{},{:.1}", y(*v), i + 1, y(*v)));
    }
    area.push_str(&format!(" L{width},{height} Z"));
    let line: Vec<String> = actual
        .iter()
        .enumerate()
        .map(|(i, v)| format!("{i},{:.1}", y(*v)))
        .collect();
    format!(
        "<svg id=\"day-line\" viewBox=\"0 0 {width} {height}\" preserveAspectRatio=\"none\" role=\"img\" \
         aria-label=\"Executions at once over the day: planned, actual, and capacity\">\
         <path d=\"{area}\" class=\"planned\"/><polyline points=\"{}\" class=\"actual\"/>\
         <line x1=\"0\" x2=\"{width}\" y1=\"{cap:.1}\" y2=\"{cap:.1}\" class=\"capacity\"/></svg>",
        line.join(" "),
        cap = y(capacity)
    )
}

/// A system's items per minute over the last hour against its limit.
fn rate_bars(usage: &RateUsage) -> String {
    let limit = u64::from(usage.limit_per_minute).max(1);
    let per_minute = &usage.per_minute;
    let busiest = per_minute.iter().copied().max().unwrap_or(0);
    let top = busiest.max(limit) as f64 * 1.1;
    let (width, height) = (600.0, 80.0);
    let mut svg = format!(
        "<svg viewBox=\"0 0 {width} {height}\" preserveAspectRatio=\"none\" role=\"img\" \
         aria-label=\"Items per minute over the last hour against the limit\">"
    );
    for (i, n) in per_minute.iter().enumerate() {
        let h = *n as f64 / top * height;
        let class = if *n >= limit { "bar full" } else { "bar" };
        svg.push_str(&format!(
            "<rect class=\"{class}\" x=\"{}\" y=\"{:.1}\" width=\"9\" height=\"{h:.1}\"><title>{n} of {limit}</title></rect>",
            i * 10,
            height - h
        ));
    }
    let line = height - limit as f64 / top * height;
    svg.push_str(&format!(
        "<line x1=\"0\" x2=\"{width}\" y1=\"{line:.1}\" y2=\"{line:.1}\" class=\"capacity\"/></svg>"
    ));
    format!(
        "<figure class=\"rate\"><figcaption><b>{}</b> busiest minute {busiest} of {limit}/min</figcaption>{svg}</figure>",
        show(&usage.budget)
    )
}

async fn schedule(State(app): State<App>, headers: HeaderMap) -> Result<Response, ApiError> {
    let engine = &app.engine;
    let plan = views::plan(engine).await?;
    let numbers = |v: &Value| -> Vec<u32> {
        v.as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|n| n.as_u64().map(|n| n as u32))
                    .collect()
            })
            .unwrap_or_default()
    };
    let planned = numbers(&plan["actual"]["planned_by_minute"]);
    let actual = numbers(&plan["actual"]["by_minute"]);
    let rows: Vec<Row> = plan["actual"]["hours"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|h| Row {
            label: h["label"].as_str().unwrap_or_default().to_string(),
            first: h["first_minute"].as_u64().unwrap_or(0) as usize,
            minutes: h["minutes"].as_u64().unwrap_or(0) as usize,
        })
        .collect();
    let capacity = plan["load"]["capacity"].as_u64().unwrap_or(1) as u32;
    let now_minute = plan["actual"]["now_minute"].as_i64().unwrap_or(-1);
    let ran_peak = actual.iter().copied().max().unwrap_or(0);
    let mut live = format!(
        "<p>{} · planned peak <b>{}</b>, today's actual peak <b>{ran_peak}</b>, capacity <b>{capacity}</b>. \
         Colour: executions planned in the minute (orange at capacity, red above); dots: executions that ran; \
         outlined: now.</p><div class=\"scroll\">{}</div>{}",
        show(&plan["actual"]["date"]),
        show(&plan["load"]["peak"]),
        heat_map(&planned, &actual, capacity, now_minute, &rows),
        day_line(&planned, &actual, capacity),
    );
    live.push_str("<h2>Systems: items per minute, last hour</h2><div class=\"rates\">");
    for usage in views::rate_usage(engine).await? {
        live.push_str(&rate_bars(&usage));
    }
    live.push_str("</div>");
    Ok(page(&headers, "Schedule", "/schedule", "", live))
}

async fn jobs(State(app): State<App>, headers: HeaderMap) -> Result<Response, ApiError> {
    let engine = &app.engine;
    let today = today(engine);
    let mut live = String::from(
        "<div class=\"scroll\"><table id=\"jobs\"><thead><tr><th>Job</th><th>Schedule</th><th>Next runs</th>\
         <th>Last result</th><th>State</th><th></th></tr></thead><tbody>",
    );
    for job in views::jobs(engine).await? {
        let name = job.name.as_str();
        let next: Vec<String> = job
            .next_runs
            .iter()
            .take(3)
            .map(|t| clock(t, &today))
            .collect();
        let last = match &job.last_execution {
            None => "never ran".to_string(),
            Some(last) => format!(
                "<span class=\"state {0}\">{0}</span> {1} · {2} items",
                show(last.state),
                clock(&last.minute, &today),
                last.items
            ),
        };
        let paused = job.paused;
        let state = if paused {
            "<span class=\"state paused\">paused</span>".to_string()
        } else {
            format!("<span class=\"state {0}\">{0}</span>", show(job.state))
        };
        let path = format!("/api/v1/jobs/{name}");
        let toggle = if paused {
            button("Resume", &format!("{path}/resume"), None)
        } else {
            button("Pause", &format!("{path}/pause"), None)
        };
        live.push_str(&format!(
            "<tr data-job=\"{}\"><th>{}</th><td><code>{}</code><br><small>{}</small></td><td>{}</td><td>{last}</td>\
             <td>{state}</td><td class=\"actions\">{toggle}{}</td></tr>",
            esc(name),
            esc(name),
            show(&job.schedule),
            show(&job.description),
            next.join("<br>"),
            button("Run now", &format!("{path}/trigger"), None),
        ));
    }
    live.push_str("</tbody></table></div>");
    Ok(page(&headers, "Jobs", "/jobs", "", live))
}

fn select(name: &str, label: &str, options: &[String], chosen: Option<&String>) -> String {
    let mut html =
        format!("<label>{label} <select name=\"{name}\"><option value=\"\">all</option>");
    for option in options {
        let selected = if chosen == Some(option) {
            " selected"
        } else {
            ""
        };
        html.push_str(&format!("<option{selected}>{}</option>", esc(option)));
    }
    html.push_str("</select></label>");
    html
}

async fn tasks(
    State(app): State<App>,
    headers: HeaderMap,
    Query(params): Query<HashMap<String, String>>,
) -> Result<Response, ApiError> {
    let engine = &app.engine;
    let today = today(engine);
    let query = views::task_query(&params)?;
    let integrations = views::integrations(engine);
    let statuses: Vec<String> = pacer_store::TaskStatus::ALL
        .iter()
        .map(|s| s.as_str().to_string())
        .collect();
    let mut fixed = format!(
        "<form class=\"filters\" method=\"get\">{}{}<button>Filter</button></form><p class=\"actions\">",
        select(
            "integration",
            "Integration",
            &integrations,
            params.get("integration")
        ),
        select("status", "Status", &statuses, params.get("status")),
    );
    for integration in &integrations {
        fixed.push_str(&button(
            &format!("Replay dead {}", esc(integration)),
            &format!("/api/v1/integrations/{integration}/replay-dead"),
            Some(&format!("Queue every dead {integration} task again?")),
        ));
    }
    fixed.push_str("</p>");
    let answer = views::tasks(engine, &query).await?;
    let mut live = String::from(
        "<div class=\"scroll\"><table id=\"tasks\"><thead><tr><th>Id</th><th>Integration</th><th>Key</th>\
         <th>Status</th><th>Attempts</th><th>Last error</th><th>Updated</th></tr></thead><tbody>",
    );
    for t in &answer.tasks {
        live.push_str(&format!(
            "<tr><td><a href=\"/tasks/{0}\">{0}</a></td><td>{1}</td><td>{2}</td>\
             <td><span class=\"state {3}\">{3}</span></td><td class=\"num\">{4}</td><td><code>{5}</code></td><td>{6}</td></tr>",
            t.id,
            show(&t.integration),
            show(&t.key),
            show(t.status),
            t.attempts,
            show(&t.last_error),
            clock(&t.updated_at, &today),
        ));
    }
    live.push_str("</tbody></table></div>");
    if let Some(cursor) = answer.next_cursor.as_deref() {
        let mut next: Vec<(String, String)> = params
            .iter()
            .filter(|(k, _)| *k != "cursor")
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        next.sort();
        next.push(("cursor".into(), cursor.into()));
        let query: Vec<String> = next
            .iter()
            .map(|(k, v)| format!("{}={}", esc(k), esc(v)))
            .collect();
        live.push_str(&format!(
            "<p><a href=\"/tasks?{}\">Older tasks →</a></p>",
            query.join("&amp;")
        ));
    }
    Ok(page(&headers, "Tasks", "/tasks", &fixed, live))
}

async fn task(
    State(app): State<App>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let engine = &app.engine;
    let today = today(engine);
    let id = views::task_id(&id)?;
    let t = views::task_detail(engine, id).await?;
    let payload = serde_json::to_string_pretty(&t.payload).unwrap_or_default();
    let fixed = format!(
        "<p class=\"actions\">{}{}</p>",
        button("Retry", &format!("/api/v1/tasks/{id}/retry"), None),
        button("Skip", &format!("/api/v1/tasks/{id}/skip"), None)
    );
    let mut live = format!(
        "<dl class=\"facts\"><dt>Integration</dt><dd>{0}</dd><dt>Key</dt><dd>{1}</dd><dt>Status</dt>\
         <dd><span class=\"state {2}\">{2}</span></dd><dt>Attempts</dt><dd>{3}</dd><dt>Queued</dt><dd>{4}</dd>\
         <dt>Next attempt</dt><dd>{5}</dd></dl><h2>Payload</h2><pre id=\"payload\">{6}</pre><h2>Failed attempts</h2>",
        show(&t.task.integration),
        show(&t.task.key),
        show(t.task.status),
        t.task.attempts,
        clock(&t.task.created_at, &today),
        clock(&t.task.next_attempt_at, &today),
        esc(&payload),
    );
    let errors = &t.errors;
    if errors.is_empty() {
        live.push_str("<p class=\"quiet\">None.</p>");
    } else {
        live.push_str("<ol class=\"errors\">");
        for e in errors {
            live.push_str(&format!(
                "<li><time>{}</time> attempt {}: <code>{}</code></li>",
                clock(&e.at, &today),
                e.attempt,
                show(&e.error)
            ));
        }
        live.push_str("</ol>");
    }
    Ok(page(
        &headers,
        &format!("Task {id}"),
        "/tasks",
        &fixed,
        live,
    ))
}

async fn executions(
    State(app): State<App>,
    headers: HeaderMap,
    Query(params): Query<HashMap<String, String>>,
) -> Result<Response, ApiError> {
    let engine = &app.engine;
    let today = today(engine);
    let query = views::execution_query(engine, &params)?;
    let states: Vec<String> = pacer_store::ExecutionState::ALL
        .iter()
        .map(|s| s.as_str().to_string())
        .collect();
    let fixed = format!(
        "<form class=\"filters\" method=\"get\">{}{}<button>Filter</button></form>",
        select("job", "Job", &engine.jobs(), params.get("job")),
        select("state", "State", &states, params.get("state")),
    );
    let mut live = String::from(
        "<div class=\"scroll\"><table id=\"executions\"><thead><tr><th>Minute</th><th>Job</th><th>State</th>\
         <th>Waited</th><th>Duration</th><th>Items</th><th>Error</th></tr></thead><tbody>",
    );
    for e in views::executions(engine, &query).await? {
        live.push_str(&format!(
            "<tr><td>{0}</td><td>{1}</td><td><span class=\"state {2}\">{2}</span></td><td class=\"num\">{3}</td>\
             <td class=\"num\">{4}</td><td class=\"num\">{5}</td><td><code>{6}</code></td></tr>",
            clock(&e.minute, &today),
            show(&e.job),
            show(e.state),
            millis(e.waited_ms),
            millis(e.duration_ms),
            e.items,
            show(&e.error),
        ));
    }
    live.push_str("</tbody></table></div>");
    Ok(page(&headers, "Executions", "/executions", &fixed, live))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_escaped() {
        assert_eq!(
            esc("<b onclick=\"x\">'&'</b>"),
            "&lt;b onclick=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/b&gt;"
        );
    }

    fn rows(date: jiff::civil::Date) -> (Vec<Row>, usize) {
        let zone = jiff::tz::TimeZone::get("Europe/Amsterdam").unwrap();
        let day = pacer_cron::Day::of(date, &zone).unwrap();
        let rows = day
            .hours()
            .iter()
            .map(|h| Row {
                label: h.label.clone(),
                first: h.first,
                minutes: h.len,
            })
            .collect();
        (rows, day.minutes())
    }

    #[test]
    fn the_heat_map_has_a_cell_per_minute_and_marks_now() {
        let (hours, minutes) = rows(jiff::civil::date(2026, 11, 27));
        let planned = vec![1; minutes];
        let mut actual = vec![0; minutes];
        actual[61] = 2;
        let svg = heat_map(&planned, &actual, 2, 61, &hours);
        assert_eq!(svg.matches("<rect x=").count(), 1_440);
        assert_eq!(svg.matches("<circle").count(), 1);
        assert!(svg.contains("01:01 planned 1, ran 2"));
        assert!(svg.contains("id=\"now\""));
    }

    /// A fall-back day has 25 rows, the repeated hour told apart; a
    /// spring-forward day 23, and nothing is drawn past either's end.
    #[test]
    fn the_heat_map_has_the_hours_the_day_has() {
        let (hours, minutes) = rows(jiff::civil::date(2026, 10, 25));
        let svg = heat_map(&vec![1; minutes], &vec![0; minutes], 2, 1_499, &hours);
        assert_eq!(svg.matches("<rect x=").count(), 1_500);
        assert!(svg.contains("02:30+02:00 planned 1") && svg.contains("02:30+01:00 planned 1"));
        assert!(svg.contains("id=\"now\""));
        let (hours, minutes) = rows(jiff::civil::date(2026, 3, 29));
        let svg = heat_map(&vec![1; minutes], &vec![0; minutes], 2, 1_400, &hours);
        assert_eq!(svg.matches("<rect x=").count(), 1_380);
        assert!(!svg.contains("02:30 planned"));
        assert!(!svg.contains("id=\"now\""));
    }

    #[test]
    fn shades_say_where_capacity_is_reached() {
        assert_eq!(shade(0, 4), "#eef1f5");
        assert_eq!(shade(4, 4), "#f08c2b");
        assert_eq!(shade(5, 4), "#d7301f");
        assert!(shade(2, 4).starts_with("hsl("));
    }
}
