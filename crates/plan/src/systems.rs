//! The systems' rates as budgets shared by every job that reads from or
//! writes to them: what the day asks of each, before any schedule is
//! chosen, and what the plan puts on each of its minutes.

use schemars::JsonSchema;
use serde::Serialize;

use crate::{Warning, model::Environment, stagger::DAY};

/// Slack for sums of fractional items: 1e-6 of an item is not a breach.
pub(crate) const SLACK: f64 = 1e-6;

/// A system's planned use of its rate, shared by every job that reads from
/// it or writes to it.
#[derive(Clone, Debug, PartialEq, Serialize, JsonSchema)]
pub struct SystemLoad {
    /// The system.
    pub system: String,
    /// Items a minute it delivers or accepts.
    pub rate_per_minute: f64,
    /// The integrations that read from it or write to it.
    pub integrations: Vec<String>,
    /// Items a minute its integrations ask of it on average over the day:
    /// their (peak) volumes over 1,440 minutes, to one decimal, rounded up.
    pub demand_per_minute: f64,
    /// The most items planned in one minute: the maximum of `by_minute`.
    pub peak_per_minute: u32,
    /// Items planned in each minute of the day, 0 = 00:00, rounded up.
    pub by_minute: Vec<u32>,
}

/// `x` to one decimal, rounded up (but 100.0000001 is 100).
pub(crate) fn tenths_up(x: f64) -> f64 {
    ((x - SLACK) * 10.0).ceil() / 10.0
}

/// Every system's planned items in each minute of the day, against its rate.
#[derive(Clone, Debug)]
pub(crate) struct SystemMinutes {
    rates: Vec<f64>,
    /// `system * DAY + minute`.
    load: Vec<f64>,
}

impl SystemMinutes {
    pub(crate) fn new(rates: Vec<f64>) -> SystemMinutes {
        let load = vec![0.0; rates.len() * DAY];
        SystemMinutes { rates, load }
    }

    pub(crate) fn rate(&self, system: usize) -> f64 {
        self.rates[system]
    }

    /// Adds `usage` items a minute (negative: removes them) for every
    /// minute of `duration` after each of `starts`.
    pub(crate) fn apply(&mut self, system: usize, starts: &[u16], duration: u32, usage: f64) {
        let minutes = &mut self.load[system * DAY..(system + 1) * DAY];
        for &start in starts {
            for j in 0..duration as usize {
                minutes[(start as usize + j) % DAY] += usage;
            }
        }
    }

    /// Whether `usage` more items in `minute` would ask `system` for more
    /// than its rate.
    pub(crate) fn would_exceed(&self, system: usize, minute: usize, usage: f64) -> bool {
        self.load[system * DAY + minute] + usage > self.rates[system] + SLACK
    }

    /// How many minutes of the day ask `system` for more than its rate.
    pub(crate) fn minutes_over(&self, system: usize) -> usize {
        (0..DAY)
            .filter(|&m| self.would_exceed(system, m, 0.0))
            .count()
    }

    /// `system`'s items in each minute, rounded up.
    fn by_minute(&self, system: usize) -> Vec<u32> {
        self.load[system * DAY..(system + 1) * DAY]
            .iter()
            .map(|&items| (items - SLACK).ceil().max(0.0) as u32)
            .collect()
    }
}

/// Items a minute each integration asks of a system on average over the
/// day: its (peak) volume over the day's 1,440 minutes, counted on its
/// source and on its destination. No plan can move more than the rate; a
/// busier hour can be caught up in a quieter one, when the freshness allows
/// (and when it does not, the minutes the plan puts on the system say so).
fn demand(environment: &Environment, index: usize) -> Vec<(String, f64)> {
    let system = &environment.systems[index].name;
    environment
        .integrations
        .iter()
        .filter_map(|integration| {
            // An integration from a system to itself asks it twice.
            let sides =
                u32::from(integration.from == *system) + u32::from(integration.to == *system);
            (sides > 0).then(|| {
                let items = integration.volume_per_day * integration.peak_factor * f64::from(sides);
                (integration.name.clone(), items / DAY as f64)
            })
        })
        .collect()
}

/// Items a minute the integrations ask of the system at `index`, on
/// average over the day.
pub(crate) fn demand_per_minute(environment: &Environment, index: usize) -> f64 {
    demand(environment, index).iter().map(|(_, d)| d).sum()
}

/// Each system's demand and planned load; a warning for each system the day
/// asks for more than its rate (nothing can fit it) and for each the plan
/// still puts more than its rate on in some minute.
pub(crate) fn loads(
    environment: &Environment,
    minutes: &SystemMinutes,
    warnings: &mut Vec<Warning>,
) -> Vec<SystemLoad> {
    let mut loads = Vec::with_capacity(environment.systems.len());
    for (index, system) in environment.systems.iter().enumerate() {
        let rate = minutes.rate(index);
        let mut users = demand(environment, index);
        let integrations = users.iter().map(|(name, _)| name.clone()).collect();
        let demand_per_minute: f64 = users.iter().map(|(_, d)| d).sum();
        let by_minute = minutes.by_minute(index);
        let peak_per_minute = by_minute.iter().copied().max().unwrap_or(0);
        if demand_per_minute > rate + SLACK {
            // The largest users first: the fewest to move or slow.
            users.sort_by(|a, b| b.1.total_cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
            let mut left = demand_per_minute;
            let mut move_or_slow = Vec::new();
            for (name, d) in &users {
                if left <= rate + SLACK {
                    break;
                }
                left -= d;
                move_or_slow.push(name.clone());
            }
            warnings.push(Warning::SystemOverloaded {
                system: system.name.clone(),
                rate_per_minute: rate,
                demand_per_minute: tenths_up(demand_per_minute),
                integrations: users.iter().map(|(n, _)| n.clone()).collect(),
                move_or_slow,
            });
        } else if minutes.minutes_over(index) > 0 {
            warnings.push(Warning::RateExceeded {
                system: system.name.clone(),
                rate_per_minute: rate,
                peak_per_minute,
                minutes: (0..DAY as u32)
                    .filter(|&m| minutes.would_exceed(index, m as usize, 0.0))
                    .collect(),
            });
        }
        loads.push(SystemLoad {
            system: system.name.clone(),
            rate_per_minute: rate,
            integrations,
            demand_per_minute: tenths_up(demand_per_minute),
            peak_per_minute,
            by_minute,
        });
    }
    loads
}
