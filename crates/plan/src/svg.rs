//! The day's load as a picture: 24 rows of 60 minutes, coloured by executions running.

use std::fmt::Write;

use crate::Plan;

const CELL: u32 = 12;
const LEFT: u32 = 48;
const TOP: u32 = 56;

impl Plan {
    /// An SVG heat map of the day's load: one row per hour, one cell per minute,
    /// darker as more executions run, red where the capacity is exceeded, with
    /// a legend of the shades and the peak against the capacity in the title.
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
        heat_map(
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
        )
    }
}

/// The planner's heat map for any day's executions by minute (1,440 of them,
/// 0 = 00:00) — a plan's, or a simulated day's — under a title and a subtitle.
pub fn heat_map(title: &str, subtitle: &str, by_minute: &[u32], capacity: u32) -> String {
    let width = LEFT + 60 * CELL + 24;
    let height = TOP + 24 * CELL + 72;
    let peak = by_minute.iter().copied().max().unwrap_or(0);
    let top = peak.max(capacity).max(1);
    let mut svg = String::new();
    let _ = write!(
        svg,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" viewBox="0 0 {width} {height}" font-family="sans-serif" font-size="11">"#
    );
    let _ = write!(
        svg,
        r#"<rect width="{width}" height="{height}" fill="white"/>"#
    );
    let _ = write!(
        svg,
        r#"<text x="{LEFT}" y="20" font-size="14" font-weight="bold">{}</text>"#,
        escape(title)
    );
    let _ = write!(
        svg,
        r#"<text x="{LEFT}" y="38">{}</text>"#,
        escape(subtitle)
    );
    for minute in (0..60).step_by(10) {
        let x = LEFT + minute * CELL;
        let _ = write!(svg, r#"<text x="{x}" y="{}">:{minute:02}</text>"#, TOP - 4);
    }
    for hour in 0..24u32 {
        let y = TOP + hour * CELL;
        let _ = write!(
            svg,
            r#"<text x="4" y="{}">{hour:02}:00</text>"#,
            y + CELL - 2
        );
        for minute in 0..60u32 {
            let running = by_minute
                .get((hour * 60 + minute) as usize)
                .copied()
                .unwrap_or(0);
            let x = LEFT + minute * CELL;
            let _ = write!(
                svg,
                r#"<rect x="{x}" y="{y}" width="{CELL}" height="{CELL}" fill="{}" stroke="white" stroke-width="1"><title>{hour:02}:{minute:02} — {running} running</title></rect>"#,
                shade(running, capacity, top)
            );
        }
    }
    // The legend: one swatch per level from 0 to the peak (or capacity).
    let y = TOP + 24 * CELL + 24;
    let _ = write!(svg, r#"<text x="4" y="{}">running</text>"#, y + CELL - 2);
    for level in 0..=top.min(20) {
        let x = LEFT + 8 + level * (CELL * 2 + 8);
        let _ = write!(
            svg,
            r#"<rect x="{x}" y="{y}" width="{}" height="{CELL}" fill="{}" stroke="gray" stroke-width="0.5"/><text x="{x}" y="{}">{level}{}</text>"#,
            CELL * 2,
            shade(level, capacity, top),
            y + CELL + 14,
            if level == capacity { " = capacity" } else { "" }
        );
    }
    svg.push_str("</svg>\n");
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

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}
