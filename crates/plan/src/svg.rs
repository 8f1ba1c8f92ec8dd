//! The day's load as a picture: 24 rows of 60 minutes, coloured by executions running.
//!
//! Written with maud, which escapes every title and label it is given.

use maud::{Markup, PreEscaped, html};

use crate::{Plan, SystemLoad, stagger::DAY};

const CELL: u32 = 12;
const LEFT: u32 = 48;
const TOP: u32 = 56;

/// Height of one system's strip below the heat map.
const STRIP: u32 = 100;

impl Plan {
    /// An SVG heat map of the day's load: one row per hour, one cell per minute,
    /// darker as more executions run, red where the capacity is exceeded, with
    /// a legend of the shades and the peak against the capacity in the title;
    /// below it, for each system, the items a minute the plan asks of it
    /// against its rate.
    ///
    /// Self-contained (no fonts or scripts fetched), so it can be saved, mailed
    /// or embedded as it is.
    pub fn to_svg(&self) -> String {
        let load = &self.load;
        let verdict = if load.peak > load.capacity {
            "exceeds"
        } else {
            "within"
        };
        let map = heat_map(
            &format!(
                "{} — executions running, minute by minute",
                self.environment
            ),
            &format!(
                "peak {} {verdict} capacity {} (no offsets can go below {})",
                load.peak, load.capacity, load.lower_bound
            ),
            &load.by_minute,
            load.capacity,
        );
        if self.systems.is_empty() {
            return map;
        }
        // The heat map of 24 rows labelled `HH:00` is this size (see `draw`).
        let (width, map_height) = (LEFT + 60 * CELL + 24, TOP + 24 * CELL + 72);
        let height = map_height + STRIP * self.systems.len() as u32;
        let svg = html! {
            svg xmlns="http://www.w3.org/2000/svg" width=(width) height=(height)
                viewBox={ "0 0 " (width) " " (height) } font-family="sans-serif" font-size="11" {
                rect width=(width) height=(height) fill="white" {}
                (PreEscaped(map.trim_end()))
                @for (n, system) in self.systems.iter().enumerate() {
                    g transform={ "translate(0," (map_height + n as u32 * STRIP) ")" } {
                        (strip(system))
                    }
                }
            }
        };
        let mut svg = svg.into_string();
        svg.push('\n');
        svg
    }
}

/// One system's day: items a minute planned as a line, its rate as a
/// dashed rule, red where the line is above it.
fn strip(system: &SystemLoad) -> Markup {
    let (left, top, width, height) = (LEFT, 24, 60 * CELL, 60);
    let rate = system.rate_per_minute;
    let highest = f64::from(system.peak_per_minute).max(rate) * 1.1;
    let y = |items: f64| f64::from(top + height) - items / highest * f64::from(height);
    let x = |minute: usize| f64::from(left) + minute as f64 * f64::from(width) / DAY as f64;
    let points: Vec<String> = system
        .by_minute
        .iter()
        .enumerate()
        .map(|(m, &items)| format!("{:.1},{:.1}", x(m), y(f64::from(items))))
        .collect();
    let over = system.peak_per_minute as f64 > rate + 1e-6;
    html! {
        text x=(left) y="16" font-weight="bold" {
            (system.system) " — items a minute planned: at most " (system.peak_per_minute)
            ", rate " (rate) "/min, " (system.demand_per_minute) " on average"
        }
        rect x=(left) y=(top) width=(width) height=(height) fill="#f3f4f6" {}
        polyline points=(points.join(" ")) fill="none"
            stroke=(if over { "#dc2626" } else { "hsl(215, 80%, 45%)" }) stroke-width="1" {}
        line x1=(left) x2=(left + width) y1=(format!("{:.1}", y(rate))) y2=(format!("{:.1}", y(rate)))
            stroke="#dc2626" stroke-dasharray="4 3" {}
        @for hour in (0..=24).step_by(6) {
            text x=(left + hour * width / 24) y=(top + height + 12) text-anchor="middle" {
                (format!("{hour:02}:00"))
            }
        }
    }
}

/// The planner's heat map for any day's executions by minute (1,440 of them,
/// 0 = 00:00) — a plan's, or a simulated day's — under a title and a subtitle.
pub fn heat_map(title: &str, subtitle: &str, by_minute: &[u32], capacity: u32) -> String {
    let rows: Vec<(String, &[u32])> = (0..24)
        .map(|hour| {
            let hour_load = by_minute.get(hour * 60..(hour + 1) * 60).unwrap_or(&[]);
            (format!("{hour:02}:00"), hour_load)
        })
        .collect();
    draw(title, subtitle, &rows, capacity, &|row, minute| {
        format!("{row:02}:{minute:02}")
    })
}

/// The heat map of a real day, one row per hour it really has: 23 on a
/// spring-forward day, 25 on a fall-back one (the repeated hour labelled
/// with its offsets), a row of 30 where the clock moves half an hour.
/// `by_minute` has a value per minute of `day`.
pub fn heat_map_of_day(
    title: &str,
    subtitle: &str,
    day: &pacer_cron::Day,
    by_minute: &[u32],
    capacity: u32,
) -> String {
    let rows: Vec<(String, &[u32])> = day
        .hours()
        .iter()
        .map(|h| {
            let hour_load = by_minute.get(h.first..h.first + h.len).unwrap_or(&[]);
            (h.label.clone(), hour_load)
        })
        .collect();
    let hours = day.hours();
    draw(title, subtitle, &rows, capacity, &|row, minute| {
        day.label(hours[row].first + minute)
    })
}

/// One row per `(label, minutes)`, a cell per minute; `at(row, minute)`
/// names a cell's minute in its tooltip.
fn draw(
    title: &str,
    subtitle: &str,
    rows: &[(String, &[u32])],
    capacity: u32,
    at: &dyn Fn(usize, usize) -> String,
) -> String {
    let label_width = rows
        .iter()
        .map(|(label, _)| label.len() as u32)
        .max()
        .unwrap_or(5)
        .max(5);
    let left = LEFT.max(label_width * 7 + 8);
    let count = rows.len() as u32;
    let width = left + 60 * CELL + 24;
    let height = TOP + count * CELL + 72;
    let peak = rows
        .iter()
        .flat_map(|(_, load)| load.iter().copied())
        .max()
        .unwrap_or(0);
    let top = peak.max(capacity).max(1);
    let legend = TOP + count * CELL + 24;
    let svg = html! {
        svg xmlns="http://www.w3.org/2000/svg" width=(width) height=(height)
            viewBox={ "0 0 " (width) " " (height) } font-family="sans-serif" font-size="11" {
            rect width=(width) height=(height) fill="white" {}
            text x=(left) y="20" font-size="14" font-weight="bold" { (title) }
            text x=(left) y="38" { (subtitle) }
            @for minute in (0..60).step_by(10) {
                text x=(left + minute * CELL) y=(TOP - 4) { ":" (format!("{minute:02}")) }
            }
            @for (row, (label, load)) in rows.iter().enumerate() {
                @let y = TOP + row as u32 * CELL;
                text x="4" y=(y + CELL - 2) { (label) }
                @for (minute, &running) in load.iter().enumerate() {
                    rect x=(left + minute as u32 * CELL) y=(y) width=(CELL) height=(CELL)
                        fill=(shade(running, capacity, top)) stroke="white" stroke-width="1" {
                        title { (at(row, minute)) " — " (running) " running" }
                    }
                }
            }
            // The legend: one swatch per level from 0 to the peak (or capacity).
            text x="4" y=(legend + CELL - 2) { "running" }
            @for level in 0..=top.min(20) {
                @let x = left + 8 + level * (CELL * 2 + 8);
                rect x=(x) y=(legend) width=(CELL * 2) height=(CELL) fill=(shade(level, capacity, top))
                    stroke="gray" stroke-width="0.5" {}
                text x=(x) y=(legend + CELL + 14) {
                    (level) @if level == capacity { " = capacity" }
                }
            }
        }
    };
    let mut svg = svg.into_string();
    svg.push('\n');
    svg
}

/// White for idle, blues up to the capacity, reds beyond it.
fn shade(running: u32, capacity: u32, top: u32) -> String {
    if running == 0 {
        return "#f3f4f6".to_string();
    }
    if running > capacity {
        return "#dc2626".to_string();
    }
    // Lighter to darker blue as the load approaches the capacity.
    let share = f64::from(running) / f64::from(capacity.max(1).min(top));
    let lightness = 85.0 - 50.0 * share;
    format!("hsl(215, 80%, {lightness:.0}%)")
}
