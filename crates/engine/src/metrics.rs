//! Timings for the metrics: how long executions waited and ran, how late the
//! scheduler woke, how long rate limits held work back.

use std::collections::BTreeMap;

/// Upper bounds, in seconds, of every [`Histogram`]'s buckets: from a tenth
/// of a second (a scheduler tick) to an hour (a long backfill).
pub const BUCKETS: [f64; 13] = [
    0.1, 0.5, 1.0, 5.0, 15.0, 30.0, 60.0, 120.0, 300.0, 600.0, 900.0, 1800.0, 3600.0,
];

/// Observations counted into [`BUCKETS`].
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Histogram {
    /// Observations at or below each bound of [`BUCKETS`], cumulative as
    /// Prometheus expects; `count` holds those above the last bound too.
    pub cumulative: [u64; BUCKETS.len()],
    /// Observations.
    pub count: u64,
    /// Their sum, in seconds.
    pub sum: f64,
}

impl Histogram {
    pub(crate) fn observe(&mut self, seconds: f64) {
        for (bound, n) in BUCKETS.iter().zip(&mut self.cumulative) {
            if seconds <= *bound {
                *n += 1;
            }
        }
        self.count += 1;
        self.sum += seconds;
    }
}

/// What the engine timed so far, in schedule time.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Timings {
    /// From an execution's minute to its start (the wait for capacity), by job.
    pub wait: BTreeMap<String, Histogram>,
    /// From an execution's start to its end, by job.
    pub duration: BTreeMap<String, Histogram>,
    /// How late each minute's dispatch started.
    pub scheduler_lag: Histogram,
    /// Waits for a rate budget (a system's, or a job's own), by budget:
    /// how many, and their seconds in all.
    pub rate_waits: BTreeMap<String, (u64, f64)>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_are_cumulative() {
        let mut h = Histogram::default();
        for seconds in [0.05, 2.0, 2.0, 7_200.0] {
            h.observe(seconds);
        }
        assert_eq!(h.cumulative[0], 1); // ≤ 0.1
        assert_eq!(h.cumulative[3], 3); // ≤ 5
        assert_eq!(h.cumulative[BUCKETS.len() - 1], 3); // ≤ 3600: not the 2 h one
        assert_eq!(h.count, 4);
        assert!((h.sum - 7_204.05).abs() < 1e-9);
    }
}
