//! The guide's method, per job: how many executions a day, how often, how long.

use crate::model::{ActiveHours, Rate};

/// Intervals that divide the hour, so `*/n` fires at even spacing across the
/// hour boundary; and hour steps that divide the day.
const MINUTE_INTERVALS: [u32; 12] = [1, 2, 3, 4, 5, 6, 10, 12, 15, 20, 30, 60];
const HOUR_INTERVALS: [u32; 7] = [1, 2, 3, 4, 6, 8, 12];

/// How one job must run to move its volume.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct Sizing {
    /// Items one execution moves: the rate times one minute, or the item
    /// budget if smaller, and at least 1.
    pub(crate) items_per_run: u64,
    /// Whole minutes one execution takes: items per run over the rate.
    pub(crate) duration_minutes: u32,
    /// Executions a day needed for the (peak) volume.
    pub(crate) executions_per_day: u64,
}

pub(crate) fn size(
    volume_per_day: f64,
    peak_factor: f64,
    rate: Rate,
    max_items: Option<u64>,
) -> Sizing {
    let per_minute = rate.items_per_minute();
    let by_rate = per_minute.floor() as u64;
    let items_per_run = max_items.map_or(by_rate, |m| m.min(by_rate)).max(1);
    let duration_minutes = ((items_per_run as f64 / per_minute).ceil() as u32).max(1);
    // A tiny epsilon keeps 35000 × 1.0 / 100 at exactly 350, not 351.
    let executions_per_day = ((volume_per_day * peak_factor / items_per_run as f64) - 1e-9)
        .ceil()
        .max(0.0) as u64;
    Sizing {
        items_per_run,
        duration_minutes,
        executions_per_day,
    }
}

/// The longest interval, in minutes, that runs `executions_per_day` times within
/// `hours` and is no longer than `longest` (from freshness).
///
/// The guide's steps: runs per hour over the active hours, rounded up, then the
/// longest whole-minute interval achieving them, preferring intervals that divide
/// 60. Beyond an hour (only when freshness allows more than 60 minutes), hour
/// steps that divide the day.
pub(crate) fn interval(executions_per_day: u64, hours: ActiveHours, longest: u32) -> u32 {
    let active = u64::from(hours.hours());
    if longest >= 120 && executions_per_day * 2 <= active {
        // Fewer runs than active hours: hour steps, as long as they still fit.
        let step = HOUR_INTERVALS.iter().rev().copied().find(|&h| {
            h * 60 <= longest
                && u64::from(h) < active
                && active.div_ceil(u64::from(h)) >= executions_per_day
        });
        if let Some(step) = step {
            return step * 60;
        }
    }
    let runs_per_hour = executions_per_day.div_ceil(active).max(1);
    let longest_for_volume = (60 / runs_per_hour).max(1) as u32;
    MINUTE_INTERVALS
        .iter()
        .rev()
        .copied()
        .find(|&m| m <= longest_for_volume && m <= longest)
        .unwrap_or(1)
}

/// The longest interval the planner writes that is a multiple of `base`
/// and no longer than `longest`: `base` itself when none is longer.
pub(crate) fn multiple_within(base: u32, longest: u32, hours: ActiveHours) -> u32 {
    let hour_steps = HOUR_INTERVALS
        .iter()
        .map(|h| h * 60)
        .filter(|&m| m / 60 < hours.hours());
    MINUTE_INTERVALS
        .iter()
        .copied()
        .chain(hour_steps)
        .filter(|&m| m >= base && m <= longest && m % base == 0)
        .max()
        .unwrap_or(base)
}

/// The cron expression for an interval and offset (both in minutes) within the
/// active hours: `*/4`, `1-59/3`, `17 6-21/2`.
pub(crate) fn schedule(interval: u32, offset: u32, hours: ActiveHours) -> String {
    if interval > 60 {
        let step = interval / 60;
        let (hour_offset, minute) = (offset / 60, offset % 60);
        let first = (hours.start() + hour_offset) % 24;
        let hour_field = if hours.hours() == 24 {
            if first == 0 {
                format!("*/{step}")
            } else {
                // `1-23/2`, not `1/2`: cronie (and croner) take a step only
                // after `*` or a range.
                format!("{first}-23/{step}")
            }
        } else {
            let last = (hours.end() + 23) % 24;
            if first <= last {
                format!("{first}-{last}/{step}")
            } else {
                // Steps across midnight: list the hours.
                (0..hours.hours() - hour_offset)
                    .step_by(step as usize)
                    .map(|k| ((first + k) % 24).to_string())
                    .collect::<Vec<_>>()
                    .join(",")
            }
        };
        return format!("{minute} {hour_field} * * *");
    }
    let minute_field = match (interval, offset) {
        (1, _) => "*".to_string(),
        (60, o) => o.to_string(),
        (n, 0) => format!("*/{n}"),
        (n, o) => format!("{o}-59/{n}"),
    };
    format!("{minute_field} {} * * *", hours.cron_field())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_guides_prices_integration() {
        let pull = size(35_000.0, 1.0, Rate::per_minute(100.0), None);
        assert_eq!(
            pull,
            Sizing {
                items_per_run: 100,
                duration_minutes: 1,
                executions_per_day: 350
            }
        );
        assert_eq!(interval(350, ActiveHours::ALL_DAY, 60), 4);
        let push = size(35_000.0, 1.0, Rate::per_minute(500.0), None);
        assert_eq!(push.executions_per_day, 70);
        assert_eq!(interval(70, ActiveHours::ALL_DAY, 60), 20);
    }

    #[test]
    fn item_budget_and_slow_systems() {
        let budget = size(1000.0, 1.5, Rate::per_minute(500.0), Some(50));
        assert_eq!(budget.items_per_run, 50);
        assert_eq!(budget.executions_per_day, 30);
        let slow = size(100.0, 1.0, Rate::per_hour(20.0), None);
        assert_eq!((slow.items_per_run, slow.duration_minutes), (1, 3));
    }

    #[test]
    fn intervals_divide_the_hour_or_the_day() {
        // 7 runs an hour would allow 8 minutes; 6 divides the hour.
        assert_eq!(interval(7 * 24, ActiveHours::ALL_DAY, 60), 6);
        assert_eq!(interval(1, ActiveHours::ALL_DAY, 60), 60);
        assert_eq!(interval(100_000, ActiveHours::ALL_DAY, 60), 1);
        // With freshness allowing it, few runs use hour steps.
        assert_eq!(interval(3, ActiveHours::ALL_DAY, 24 * 60), 8 * 60);
        assert_eq!(interval(3, ActiveHours::ALL_DAY, 240), 4 * 60);
        // Freshness caps the interval.
        assert_eq!(interval(70, ActiveHours::ALL_DAY, 15), 15);
        // Only 16 active hours: 350 runs need 22 an hour, every 2 minutes.
        assert_eq!(interval(350, ActiveHours::new(6, 22).unwrap(), 60), 2);
    }

    #[test]
    fn schedules_with_offsets() {
        let day = ActiveHours::ALL_DAY;
        assert_eq!(schedule(3, 0, day), "*/3 * * * *");
        assert_eq!(schedule(3, 1, day), "1-59/3 * * * *");
        assert_eq!(schedule(3, 2, day), "2-59/3 * * * *");
        assert_eq!(schedule(1, 0, day), "* * * * *");
        assert_eq!(schedule(60, 17, day), "17 * * * *");
        assert_eq!(
            schedule(20, 5, ActiveHours::new(6, 22).unwrap()),
            "5-59/20 6-21 * * *"
        );
        assert_eq!(schedule(120, 77, day), "17 1-23/2 * * *");
        assert_eq!(
            schedule(240, 0, ActiveHours::new(6, 22).unwrap()),
            "0 6-21/4 * * *"
        );
        assert_eq!(
            schedule(240, 60, ActiveHours::new(22, 6).unwrap()),
            "0 23,3 * * *"
        );
        assert_eq!(
            schedule(120, 180, ActiveHours::new(22, 6).unwrap()),
            "0 1-5/2 * * *"
        );
        assert_eq!(
            schedule(240, 60, ActiveHours::new(20, 6).unwrap()),
            "0 21,1,5 * * *"
        );
    }
}
