//! The dashboard: server-rendered pages over the same views as the API, a
//! stylesheet and a little JavaScript that refreshes each page's live part
//! every few seconds and sends the actions with the token. Nothing is
//! fetched from elsewhere: it works offline.
//!
//! Pages are written with maud: its templates are checked when Pacer is
//! built, and every value spliced into them is escaped, so no text from a
//! record, an error or a name can become markup.

use std::collections::HashMap;

use axum::{
    Router,
    extract::{Path, State},
    http::{HeaderMap, StatusCode, header},
    response::{Html, IntoResponse, Response},
    routing::get,
};
use maud::{Markup, PreEscaped, Render, html};

use crate::{
    App,
    answers::{Hour, Instant, RateUsage},
    error::ApiError,
    views,
};

const SCRIPT: &str = include_str!("../assets/dashboard.js");
const STYLE: &str = include_str!("../assets/dashboard.css");

/// How every page begins (maud's own doctype is written in capitals).
const DOCTYPE: PreEscaped<&str> = PreEscaped("<!doctype html>\n");

/// The pages in the navigation, in order.
const PAGES: [(&str, &str); 5] = [
    ("/", "Overview"),
    ("/schedule", "Schedule"),
    ("/jobs", "Jobs"),
    ("/tasks", "Tasks"),
    ("/executions", "Executions"),
];

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

/// A value, or a dash when there is none.
fn or_dash(value: Option<impl Render>) -> Markup {
    html! {
        @if let Some(value) = value { (value) } @else { "–" }
    }
}

/// An instant as `HH:MM:SS` (the date when it is not today's).
fn clock(at: &Instant, today: &str) -> String {
    let t = &at.0;
    if t.len() < 19 {
        t.clone()
    } else if t.starts_with(today) {
        t[11..19].to_string()
    } else {
        t[..16].replace('T', " ")
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

/// A page's head and body: the stylesheet before `body`, the script after.
fn document(title: &str, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " · Pacer" }
                link rel="stylesheet" href="/assets/dashboard.css";
            }
            body {
                (body)
                script src="/assets/dashboard.js" {}
            }
        }
    }
}

/// A whole page, or only its live part when the script asks for a refresh.
fn page(headers: &HeaderMap, title: &str, current: &str, fixed: Markup, live: Markup) -> Response {
    if headers.contains_key("x-pacer-live") {
        return Html(live.into_string()).into_response();
    }
    let body = html! {
        header {
            strong class="brand" { "Pacer" }
            nav {
                @for (href, name) in PAGES {
                    a href=(href) aria-current=[(href == current).then_some("page")] { (name) }
                }
            }
            span id="status" role="status" {}
        }
        main {
            h1 { (title) }
            (fixed)
            div id="live" { (live) }
        }
    };
    Html(document(title, body).into_string()).into_response()
}

/// The answer to a dashboard request without the token.
pub(crate) fn sign_in(message: &str) -> Response {
    let body = html! {
        main {
            h1 { "Pacer" }
            p { (message) }
            form id="sign-in" {
                label { "API token " input type="password" name="token" autocomplete="off" required; }
                button { "Sign in" }
            }
        }
    };
    (
        StatusCode::UNAUTHORIZED,
        Html(document("Sign in", body).into_string()),
    )
        .into_response()
}

fn today(engine: &pacer_engine::Engine) -> String {
    views::time(engine, engine.clock().now())[..10].to_string()
}

/// A button the script sends as a POST to `action`, after asking `confirm`.
fn button(label: &str, action: &str, confirm: Option<&str>) -> Markup {
    html! {
        button type="button" data-action=(action) data-confirm=[confirm] { (label) }
    }
}

/// A table that scrolls sideways on a narrow screen: its headings, then `rows`.
fn table(id: &str, headings: &[&str], rows: Markup) -> Markup {
    html! {
        div class="scroll" {
            table id=(id) {
                thead { tr { @for heading in headings { th { (heading) } } } }
                tbody { (rows) }
            }
        }
    }
}

async fn overview(State(app): State<App>, headers: HeaderMap) -> Result<Response, ApiError> {
    let engine = &app.engine();
    let env = views::environment(engine).await?;
    let counts = views::task_counts(engine).await?;
    let health = views::health(engine, &counts).await?;
    let alerts = views::alerts(engine).await?;
    let errors = views::recent_errors(engine, 10).await?;
    let today = today(engine);
    // README's words: new, processing and failed tasks are waiting;
    // a finished task was delivered.
    let waiting = ["new", "processing", "failed"];
    let statuses = ["new", "processing", "failed", "finished", "dead", "skipped"];
    let count_rows = html! {
        @for (integration, by_status) in &counts {
            @let h = &health[integration];
            tr {
                th { a href={ "/tasks?integration=" (integration) } { (integration) } }
                td {
                    span class={ "health " (h.class) } { (h.word) }
                    @if let Some(reason) = &h.reason {
                        " "
                        @match &h.link {
                            Some(link) => a class="reason" href=(link) { (reason) },
                            None => span class="reason" { (reason) },
                        }
                    }
                }
                td class="num" data-status="waiting" {
                    (waiting.iter().map(|s| by_status.get(s).copied().unwrap_or(0)).sum::<u64>())
                }
                @for status in statuses {
                    td class="num" data-status=(status) {
                        a href={ "/tasks?integration=" (integration) "&status=" (status) } {
                            (by_status.get(status).copied().unwrap_or(0))
                        }
                    }
                }
            }
        }
    };
    let live = html! {
        section class="cards" {
            div { span { "Environment" } b { (env.name) } }
            div { span { "Capacity in use" } b { (env.capacity_in_use) " / " (env.capacity) } }
            div { span { "Nodes alive" } b { (env.nodes_alive.len()) } }
            div { span { "Store" } b { (env.store) } }
        }
        @let kept = &env.retention;
        p class="quiet" id="retention" {
            "The store keeps finished tasks " (kept.finished_tasks)
            ", dead tasks " (kept.dead_tasks)
            ", executions " (kept.executions)
            " and rate windows " (kept.rate_windows)
            "; it holds " (kept.rows.tasks) " tasks and " (kept.rows.executions) " executions."
        }
        @let firing: Vec<_> = alerts.alerts.iter().filter(|a| a.state == "firing").collect();
        @if !firing.is_empty() {
            h2 { "Open alerts" }
            ul class="errors" id="alerts" {
                @for a in &firing {
                    li {
                        time { (clock(&a.since, &today)) }
                        " " b { (a.condition) } " " (a.subject) ": " (a.message)
                    }
                }
            }
        }
        h2 { "Tasks by integration" }
        p class="quiet" {
            "Waiting: new, processing, or failed and due to be retried. "
            "Delivered: accepted by the destination (status finished)."
        }
        (table(
            "task-counts",
            &["Integration", "Health", "Waiting", "New", "Processing", "Failed", "Delivered", "Dead", "Skipped"],
            count_rows,
        ))
        h2 { "Last errors" }
        @if errors.is_empty() {
            p class="quiet" { "No failed attempts." }
        } @else {
            ul class="errors" {
                @for e in &errors {
                    li {
                        time { (clock(&e.at, &today)) }
                        " "
                        a href={ "/tasks/" (e.task) } { (e.integration) " task " (e.task) }
                        " attempt " (e.attempt) ": "
                        code { (e.error) }
                    }
                }
            }
        }
    };
    Ok(page(&headers, "Overview", "/", html! {}, live))
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

/// A row's label on the heat map: `08h` for a whole hour, else as it is.
fn short_label(label: &str) -> String {
    if label.len() == 5 && label.ends_with(":00") {
        format!("{}h", &label[..2])
    } else {
        label.to_string()
    }
}

/// A row per hour today has (23 or 25 when the clock moves), a cell per
/// minute: planned load as colour, actual executions as dots, the current
/// minute outlined.
fn heat_map(
    planned: &[u32],
    actual: &[u32],
    capacity: u32,
    now_minute: i64,
    hours: &[Hour],
) -> Markup {
    let label = hours
        .iter()
        .map(|h| h.label.len())
        .max()
        .unwrap_or(3)
        .max(3) as i64;
    let (cell, top) = (12, 14);
    let left = (label * 6 + 4).max(34);
    let (width, height) = (left + 60 * cell, top + hours.len() as i64 * cell);
    let y_of = |row: usize| top + row as i64 * cell;
    let x_of = |minute: usize| left + minute as i64 * cell;
    // Where the current minute is drawn, when today shows it.
    let now = usize::try_from(now_minute).ok().and_then(|now| {
        hours.iter().enumerate().find_map(|(row, h)| {
            let minute = now.checked_sub(h.first_minute).filter(|m| *m < h.minutes)?;
            Some((x_of(minute), y_of(row)))
        })
    });
    let dot = |ran: u32| {
        let share = f64::from(ran.min(capacity.max(1))) / f64::from(capacity.max(1));
        format!("{:.1}", (1.5 + share * 3.0).min(5.0))
    };
    html! {
        svg id="heat-map" viewBox={ "0 0 " (width) " " (height) } role="img"
            aria-label="Planned executions in each minute of the day, with actual executions as dots" {
            @for minute in (0..60).step_by(10) {
                text x=(left + minute * cell) y="10" class="axis" { ":" (format!("{minute:02}")) }
            }
            @for (row, hour) in hours.iter().enumerate() {
                @let y = y_of(row);
                text x="0" y=(y + cell - 2) class="axis" { (short_label(&hour.label)) }
                @for minute in 0..hour.minutes {
                    @let i = hour.first_minute + minute;
                    @let x = x_of(minute);
                    @let load = planned.get(i).copied().unwrap_or(0);
                    @let ran = actual.get(i).copied().unwrap_or(0);
                    rect x=(x) y=(y) width=(cell - 1) height=(cell - 1) fill=(shade(load, capacity)) {
                        title { (minute_label(&hour.label, minute)) " planned " (load) ", ran " (ran) }
                    }
                    @if ran > 0 {
                        circle class=(if ran > capacity { "dot over" } else { "dot" })
                            cx=(x + cell / 2) cy=(y + cell / 2) r=(dot(ran)) {}
                    }
                }
            }
            @if let Some((x, y)) = now {
                rect id="now" x=(x - 1) y=(y - 1) width=(cell + 1) height=(cell + 1) class="now" {}
            }
        }
    }
}

/// `02:00+01:00` and 5 minutes: `02:05+01:00`.
fn minute_label(hour: &str, minute: usize) -> String {
    let (start, offset) = hour.split_at(hour.len().min(5));
    let (h, m) = start.split_once(':').unwrap_or((start, "0"));
    let total = m.parse::<usize>().unwrap_or(0) + minute;
    format!("{h}:{:02}{offset}", total % 60)
}

/// The day as a line: planned load as an area, actual as a line, capacity as a rule.
fn day_line(planned: &[u32], actual: &[u32], capacity: u32) -> Markup {
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
    let points: Vec<String> = actual
        .iter()
        .enumerate()
        .map(|(i, v)| format!("{i},{:.1}", y(*v)))
        .collect();
    let rule = format!("{:.1}", y(capacity));
    let chart = html! {
        svg id="day-line" viewBox=(format!("0 0 {width} {height}")) preserveAspectRatio="none" role="img"
            aria-label="Executions at once over the day: planned, actual, and capacity" {
            path d=(area) class="planned" {}
            polyline points=(points.join(" ")) class="actual" {}
            line x1="0" x2=(format!("{width}")) y1=(rule) y2=(rule) class="capacity" {}
        }
    };
    axes(&top.to_string(), ["00:00", "12:00", "24:00"], chart)
}

/// A chart with its axes' values beside it, in HTML: the SVG stretches to
/// any width, and text inside it would stretch too.
fn axes(top: &str, along: [&str; 3], chart: Markup) -> Markup {
    html! {
        div class="chart" {
            div class="y" { span { (top) } span { "0" } }
            (chart)
            div class="x" { @for label in along { span { (label) } } }
        }
    }
}

/// A system's items per minute over the last hour against its limit: what
/// it gave as bars, what the plan asked of it as a line.
fn rate_bars(usage: &RateUsage) -> Markup {
    let limit = u64::from(usage.limit_per_minute).max(1);
    let per_minute = &usage.per_minute;
    let busiest = per_minute.iter().copied().max().unwrap_or(0);
    let planned = usage.planned_per_minute.as_deref().unwrap_or_default();
    let planned_peak = planned.iter().copied().max().map_or(0, u64::from);
    let top = busiest.max(limit).max(planned_peak) as f64 * 1.1;
    let (width, height) = (600.0, 80.0);
    let rule = format!("{:.1}", height - limit as f64 / top * height);
    let plan_line: Vec<String> = planned
        .iter()
        .enumerate()
        .map(|(i, &n)| format!("{},{:.1}", i * 10 + 5, height - f64::from(n) / top * height))
        .collect();
    html! {
        figure class="rate" {
            figcaption {
                b { (usage.budget) } " busiest minute " (busiest) " of " (limit) "/min"
                @if usage.planned_per_minute.is_some() { "; planned at most " (planned_peak) }
            }
            (axes(&format!("{top:.0}"), ["60 min ago", "30 min ago", "now"], html! {
                svg viewBox=(format!("0 0 {width} {height}")) preserveAspectRatio="none" role="img"
                    aria-label="Items per minute over the last hour against the limit" {
                    @for (i, n) in per_minute.iter().enumerate() {
                        @let h = *n as f64 / top * height;
                        rect class=(if *n >= limit { "bar full" } else { "bar" }) x=(i * 10)
                            y=(format!("{:.1}", height - h)) width="9" height=(format!("{h:.1}")) {
                            title { (n) " of " (limit) }
                        }
                    }
                    @if !plan_line.is_empty() {
                        polyline class="planned-rate" points=(plan_line.join(" ")) {}
                    }
                    line x1="0" x2=(format!("{width}")) y1=(rule) y2=(rule) class="capacity" {}
                }
            }))
        }
    }
}

async fn schedule(State(app): State<App>, headers: HeaderMap) -> Result<Response, ApiError> {
    let engine = &app.engine();
    let today = views::today(engine).await?;
    let load = &engine.plan().load;
    let capacity = load.capacity;
    let (planned, actual) = (&today.planned_by_minute, &today.by_minute);
    let ran_peak = actual.iter().copied().max().unwrap_or(0);
    let usage = views::rate_usage(engine).await?;
    let seen = engine.seen().await?;
    let live = html! {
        p {
            (today.date) " · planned peak " b { (load.peak) } ", today's actual peak " b { (ran_peak) }
            ", capacity " b { (capacity) } ". Colour: executions planned in the minute (orange at \
            capacity, red above); dots: executions that ran; outlined: now."
        }
        div class="scroll" { (heat_map(planned, actual, capacity, today.now_minute, &today.hours)) }
        (day_line(planned, actual, capacity))
        h2 { "Systems: items per minute, last hour (bars: taken; line: planned)" }
        div class="rates" {
            @for budget in &usage { (rate_bars(budget)) }
        }
        (declared_and_seen(&seen))
    };
    Ok(page(&headers, "Schedule", "/schedule", html! {}, live))
}

/// What the file declares beside what the last whole days showed, each
/// figure that drifted flagged: the plan was made for another environment.
fn declared_and_seen(seen: &pacer_engine::Seen) -> Markup {
    let o = &seen.observation;
    let percent = |ratio: Option<f64>| ratio.map(|r| format!("{:+.0}%", (r - 1.0) * 100.0));
    let seconds = |q: pacer_plan::Quantiles| format!("{:.1} s / {:.1} s", q.p50, q.p95);
    // "08:00 ×2.0": the hour, and its weight against an even hour.
    let at_hour = |hour: Option<(u32, f64)>| {
        hour.map_or("-".to_string(), |(h, weight)| {
            format!("{h:02}:00 ×{weight:.1}")
        })
    };
    html! {
        h2 id="drift" { "Declared and observed, the last " (o.whole_days) " whole days with runs" }
        @if o.whole_days == 0 {
            p class="quiet" { "No whole day in the ledger yet: the figures come after the first midnight." }
        } @else {
            p class="quiet" {
                "Peak day: the file's volume × peak factor against the busiest day seen. \
                 More than " (format!("{:.0}%", pacer_plan::DRIFT * 100.0)) " off is drift: \
                 `pacer plan FILE --observed` plans from what was seen and suggests the figures."
            }
            (table("drift-integrations", &["integration", "declared peak day", "observed a day", "peak day", "drift", "busiest hour, declared / observed", "pull p50 / p95", "push p50 / p95"], html! {
                @for ((d, i), hour) in seen.drifts.integrations.iter().zip(&o.integrations).zip(&seen.busiest_hours) {
                    tr class=[d.drifted.then_some("drifted")] {
                        th { (d.integration) }
                        td class="num" { (format!("{:.0}", d.declared_peak_day)) }
                        td class="num" { (or_dash(i.changes_per_day.map(|n| format!("{n:.0}")))) }
                        td class="num" { (or_dash(d.observed_peak_day)) }
                        td class="num" {
                            (or_dash(percent(d.ratio)))
                            @if d.drifted { " " span class="health warn" { "drifted" } }
                        }
                        td class="num" {
                            (at_hour(Some(hour.declared))) " / " (at_hour(hour.observed))
                        }
                        td class="num" { (seconds(i.pull.duration_s)) }
                        td class="num" { (seconds(i.push.duration_s)) }
                    }
                }
            }))
        }
        (table("drift-systems", &["system", "declared rate", "minutes used", "a minute p50 / p95", "said slow down", "accepts"], html! {
            @for (d, s) in seen.drifts.systems.iter().zip(&o.systems) {
                tr class=[d.drifted.then_some("drifted")] {
                    th { (d.system) }
                    td class="num" { (d.declared_per_minute) "/min" }
                    td class="num" { (s.minutes) }
                    td class="num" { (format!("{:.0} / {:.0}", s.items_per_minute.p50, s.items_per_minute.p95)) }
                    td class="num" { (s.throttled) " in " (s.minutes_throttled) " min" }
                    td class="num" {
                        (or_dash(d.accepted_per_minute.map(|n| format!("{n:.0}/min"))))
                        @if d.drifted { " " span class="health warn" { "drifted" } }
                    }
                }
            }
        }))
    }
}

async fn jobs(
    State(app): State<App>,
    headers: HeaderMap,
    views::Params(params): views::Params,
) -> Result<Response, ApiError> {
    let engine = &app.engine();
    let can_act = app.access.can_act();
    let today = today(engine);
    let page_of_jobs = views::job_page(engine, &params).await?;
    let job_rows = html! {
        @for job in &page_of_jobs.jobs {
            @let path = format!("/api/v1/jobs/{}", job.name);
            tr data-job=(job.name) {
                th { (job.name) }
                td { code { (job.schedule) } br; small { (job.description) } }
                td {
                    @for (i, at) in job.next_runs.iter().take(3).enumerate() {
                        @if i > 0 { br; }
                        (clock(at, &today))
                    }
                }
                td {
                    @if let Some(last) = &job.last_execution {
                        span class={ "state " (last.state) } { (last.state) }
                        " " (clock(&last.minute, &today)) " · " (last.items) " items"
                    } @else {
                        "never ran"
                    }
                }
                td {
                    @if job.paused {
                        span class="state paused" { "paused" }
                    } @else {
                        span class={ "state " (job.state) } { (job.state) }
                    }
                }
                @if can_act {
                    td class="actions" {
                        @if job.paused {
                            (button("Resume", &format!("{path}/resume"), None))
                        } @else {
                            (button("Pause", &format!("{path}/pause"), None))
                        }
                        (button("Run now", &format!("{path}/trigger"), None))
                    }
                }
            }
        }
    };
    let headings: &[&str] = if can_act {
        &["Job", "Schedule", "Next runs", "Last result", "State", ""]
    } else {
        &["Job", "Schedule", "Next runs", "Last result", "State"]
    };
    let live = html! {
        @if !can_act {
            p class="quiet" id="no-actions" {
                "Pausing, resuming and running jobs need an API token: set PACER_API_TOKEN \
                 (or environment.api_token) and restart Pacer."
            }
        }
        (table("jobs", headings, job_rows))
        @if let Some(cursor) = &page_of_jobs.next_cursor {
            p { a href=(after("/jobs", &params, cursor)) { "More jobs →" } }
        }
    };
    Ok(page(&headers, "Jobs", "/jobs", html! {}, live))
}

/// A filter: `all`, or one of `choices`.
fn select(name: &str, label: &str, choices: &[String], chosen: Option<&String>) -> Markup {
    html! {
        label {
            (label) " "
            select name=(name) {
                option value="" { "all" }
                @for choice in choices {
                    option selected[chosen == Some(choice)] { (choice) }
                }
            }
        }
    }
}

/// The link to the page after this one: the same filters, the next cursor.
fn after(path: &str, params: &HashMap<String, String>, cursor: &str) -> String {
    let mut next: Vec<(&str, &str)> = params
        .iter()
        .filter(|(k, _)| *k != "cursor")
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    next.sort_unstable();
    next.push(("cursor", cursor));
    // Pairs of strings always encode.
    let query = serde_urlencoded::to_string(&next).unwrap_or_default();
    format!("{path}?{query}")
}

async fn tasks(
    State(app): State<App>,
    headers: HeaderMap,
    views::Params(params): views::Params,
) -> Result<Response, ApiError> {
    let engine = &app.engine();
    let today = today(engine);
    let query = views::task_query(&params)?;
    let integrations = views::integrations(engine);
    let counts = views::task_counts(engine).await?;
    let dead = |integration: &str| {
        counts
            .get(integration)
            .and_then(|c| c.get("dead"))
            .copied()
            .unwrap_or(0)
    };
    let statuses: Vec<String> = pacer_store::TaskStatus::ALL
        .iter()
        .map(|s| s.as_str().to_string())
        .collect();
    let fixed = html! {
        form class="filters" method="get" {
            (select("integration", "Integration", &integrations, params.get("integration")))
            (select("status", "Status", &statuses, params.get("status")))
            button { "Filter" }
        }
        @if app.access.can_act() {
            p class="actions" {
                @for integration in integrations.iter().filter(|i| dead(i) > 0) {
                    (button(
                        &format!("Replay {} dead {integration}", dead(integration)),
                        &format!("/api/v1/integrations/{integration}/replay-dead"),
                        Some(&format!("Queue every dead {integration} task again?")),
                    ))
                }
            }
        }
    };
    let answer = views::tasks(engine, &query).await?;
    let task_rows = html! {
        @for t in &answer.tasks {
            tr {
                td { a href={ "/tasks/" (t.id) } { (t.id) } }
                td { (t.integration) }
                td { (t.key) }
                td { span class={ "state " (t.status) } { (t.status) } }
                td class="num" { (t.attempts) }
                td { code { (or_dash(t.last_error.as_ref())) } }
                td { (clock(&t.updated_at, &today)) }
            }
        }
    };
    let live = html! {
        @if answer.tasks.is_empty() {
            p class="quiet" id="no-tasks" {
                "No " (params.get("status").map_or("", String::as_str)) " tasks"
                @if let Some(integration) = params.get("integration") { " in " (integration) }
                ". Tasks appear here once a pull queues changes; failed deliveries show \
                 as failed, and those that failed too often as dead."
            }
        } @else {
            (table(
                "tasks",
                &["Id", "Integration", "Key", "Status", "Attempts", "Last error", "Updated"],
                task_rows,
            ))
        }
        @if let Some(cursor) = &answer.next_cursor {
            p { a href=(after("/tasks", &params, cursor)) { "Older tasks →" } }
        }
    };
    Ok(page(&headers, "Tasks", "/tasks", fixed, live))
}

async fn task(
    State(app): State<App>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let engine = &app.engine();
    let today = today(engine);
    let id = views::task_id(&id)?;
    let t = views::task_detail(engine, id).await?;
    let payload = serde_json::to_string_pretty(&t.payload).unwrap_or_default();
    // Only what the API would do for a task in this status.
    let status = t.task.status;
    let retry = matches!(status, "failed" | "dead" | "skipped");
    let skip = matches!(status, "new" | "failed" | "dead");
    let fixed = html! {
        @if app.access.can_act() && (retry || skip) {
            p class="actions" {
                @if retry { (button("Retry", &format!("/api/v1/tasks/{id}/retry"), None)) }
                @if skip { (button("Skip", &format!("/api/v1/tasks/{id}/skip"), None)) }
            }
        }
    };
    let live = html! {
        dl class="facts" {
            dt { "Integration" } dd { (t.task.integration) }
            dt { "Key" } dd { (t.task.key) }
            dt { "Status" } dd { span class={ "state " (t.task.status) } { (t.task.status) } }
            dt { "Attempts" } dd { (t.task.attempts) }
            dt { "Queued" } dd { (clock(&t.task.created_at, &today)) }
            dt { "Next attempt" } dd { (clock(&t.task.next_attempt_at, &today)) }
        }
        h2 { "Payload" }
        pre id="payload" { (payload) }
        h2 { "Failed attempts" }
        @if t.errors.is_empty() {
            p class="quiet" { "None." }
        } @else {
            ol class="errors" {
                @for e in &t.errors {
                    li { time { (clock(&e.at, &today)) } " attempt " (e.attempt) ": " code { (e.error) } }
                }
            }
        }
    };
    Ok(page(&headers, &format!("Task {id}"), "/tasks", fixed, live))
}

async fn executions(
    State(app): State<App>,
    headers: HeaderMap,
    views::Params(params): views::Params,
) -> Result<Response, ApiError> {
    let engine = &app.engine();
    let today = today(engine);
    let query = views::execution_query(engine, &params)?;
    let states: Vec<String> = pacer_store::ExecutionState::ALL
        .iter()
        .map(|s| s.as_str().to_string())
        .collect();
    let fixed = html! {
        form class="filters" method="get" {
            (select("job", "Job", &engine.jobs(), params.get("job")))
            (select("state", "State", &states, params.get("state")))
            button { "Filter" }
        }
    };
    let rows = views::executions(engine, &query).await?;
    let execution_rows = html! {
        @for e in &rows {
            tr {
                td { (clock(&e.minute, &today)) }
                td { (e.job) }
                td { span class={ "state " (e.state) } { (e.state) } }
                td class="num" { (millis(e.waited_ms)) }
                td class="num" { (millis(e.duration_ms)) }
                td class="num" { (e.items) }
                td { code { (or_dash(e.error.as_ref())) } }
            }
        }
    };
    let live = html! {
        (table(
            "executions",
            &["Minute", "Job", "State", "Waited", "Duration", "Items", "Error"],
            execution_rows,
        ))
    };
    Ok(page(&headers, "Executions", "/executions", fixed, live))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Names, records and errors reach the pages as text, never as markup.
    #[test]
    fn text_is_escaped() {
        let filter = select(
            "job",
            "Job",
            &["<b onclick=\"x\">'&'</b>".to_string()],
            None,
        )
        .into_string();
        assert!(
            filter.contains("<option>&lt;b onclick=&quot;x&quot;&gt;'&amp;'&lt;/b&gt;</option>"),
            "{filter}"
        );
        let action = button("Go", "/a?\"><script>", Some("'&'")).into_string();
        assert_eq!(
            action,
            "<button type=\"button\" data-action=\"/a?&quot;&gt;&lt;script&gt;\" \
             data-confirm=\"'&amp;'\">Go</button>"
        );
    }

    fn rows(date: jiff::civil::Date) -> (Vec<Hour>, usize) {
        let zone = jiff::tz::TimeZone::get("Europe/Amsterdam").unwrap();
        let day = pacer_cron::Day::of(date, &zone).unwrap();
        (day.hours().iter().map(Hour::from).collect(), day.minutes())
    }

    #[test]
    fn the_heat_map_has_a_cell_per_minute_and_marks_now() {
        let (hours, minutes) = rows(jiff::civil::date(2026, 11, 27));
        let planned = vec![1; minutes];
        let mut actual = vec![0; minutes];
        actual[61] = 2;
        let svg = heat_map(&planned, &actual, 2, 61, &hours).into_string();
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
        let svg = heat_map(&vec![1; minutes], &vec![0; minutes], 2, 1_499, &hours).into_string();
        assert_eq!(svg.matches("<rect x=").count(), 1_500);
        assert!(svg.contains("02:30+02:00 planned 1") && svg.contains("02:30+01:00 planned 1"));
        assert!(svg.contains("id=\"now\""));
        let (hours, minutes) = rows(jiff::civil::date(2026, 3, 29));
        let svg = heat_map(&vec![1; minutes], &vec![0; minutes], 2, 1_400, &hours).into_string();
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
