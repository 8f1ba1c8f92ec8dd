//! Changes produced at a steady volume, computed from the clock: change `i`
//! (from 1) happens at `start + ceil(i × day / volume)`, so any window of
//! time holds the same changes however often, and by whom, it is asked.

use jiff::Timestamp;
use serde_json::{Value, json};

const DAY_MS: f64 = 86_400_000.0;

/// An entity a mock system produces changes of, at a volume per day.
#[derive(Clone, Debug)]
pub struct Feed {
    /// The entity, also its path: `prices` is served at `GET /prices`.
    pub entity: String,
    /// Changes per day, spread evenly.
    pub volume_per_day: f64,
    /// Stop after this many changes (for tests that count them all).
    pub total: Option<u64>,
}

impl Feed {
    /// When change `i` happened, in Unix milliseconds.
    pub(crate) fn changed_at(&self, start_ms: i64, i: u64) -> i64 {
        start_ms + (i as f64 * DAY_MS / self.volume_per_day).ceil() as i64
    }

    /// How many changes happened up to and including `now_ms`.
    pub(crate) fn produced(&self, start_ms: i64, now_ms: i64) -> u64 {
        let produced = self.produced_unbounded(start_ms, now_ms);
        self.total.map_or(produced, |total| produced.min(total))
    }

    fn produced_unbounded(&self, start_ms: i64, now_ms: i64) -> u64 {
        if now_ms <= start_ms || self.volume_per_day <= 0.0 {
            return 0;
        }
        let mut n = ((now_ms - start_ms) as f64 * self.volume_per_day / DAY_MS).floor() as u64;
        // Float rounding may be one off either way; the times decide.
        while n > 0 && self.changed_at(start_ms, n) > now_ms {
            n -= 1;
        }
        while self.changed_at(start_ms, n + 1) <= now_ms {
            n += 1;
        }
        n
    }

    /// The first change after `since_ms`.
    pub(crate) fn first_after(&self, start_ms: i64, since_ms: i64) -> u64 {
        self.produced(start_ms, since_ms) + 1
    }

    /// The record of change `i`.
    pub(crate) fn record(&self, start_ms: i64, i: u64) -> Value {
        let at = Timestamp::from_millisecond(self.changed_at(start_ms, i)).unwrap_or_default();
        json!({
            "key": format!("{}-{i:06}", self.entity),
            "sku": format!("SKU-{i:06}"),
            "seq": i,
            "amount": format!("{}.{:02}", 10 + i % 90, i % 100),
            "currency": "EUR",
            "updated_at": format!("{at:.3}"),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_day_holds_the_volume_and_times_increase() {
        let feed = Feed {
            entity: "prices".into(),
            volume_per_day: 35_000.0,
            total: None,
        };
        assert_eq!(feed.produced(0, 86_400_000), 35_000);
        assert_eq!(feed.produced(0, 43_200_000), 17_500);
        assert_eq!(feed.produced(0, 0), 0);
        let mut last = 0;
        for i in 1..2_000 {
            let at = feed.changed_at(0, i);
            assert!(at > last);
            assert_eq!(feed.produced(0, at), i);
            assert_eq!(feed.produced(0, at - 1), i - 1);
            assert_eq!(feed.first_after(0, at), i + 1);
            last = at;
        }
    }

    #[test]
    fn records_carry_a_key_and_a_sortable_time() {
        let feed = Feed {
            entity: "stock".into(),
            volume_per_day: 24.0,
            total: Some(1),
        };
        assert_eq!(feed.produced(0, 86_400_000), 1);
        let record = feed.record(0, 2);
        assert_eq!(record["key"], "stock-000002");
        assert_eq!(record["updated_at"], "1970-01-01T02:00:00.000Z");
    }
}
