//! Changes produced at a volume per day, computed from the clock: change `i`
//! (from 1) happens where the day's cumulative share reaches `i / volume` —
//! evenly, `start + ceil(i × day / volume)`, or following an hourly profile —
//! so any window of time holds the same changes however often, and by whom,
//! it is asked.

use std::io::Write;

use jiff::Timestamp;

const DAY_MS: f64 = 86_400_000.0;
const HOUR_MS: f64 = 3_600_000.0;

/// An entity a mock system produces changes of, at a volume per day.
#[derive(Clone, Debug)]
pub struct Feed {
    /// The entity, also its path: `prices` is served at `GET /prices`.
    pub entity: String,
    /// Changes per day, spread evenly.
    pub volume_per_day: f64,
    /// Stop after this many changes (for tests that count them all).
    pub total: Option<u64>,
    /// Each hour's share of a day's changes, from the start's hour 0; `None`: even.
    pub profile: Option<[f64; 24]>,
}

impl Feed {
    /// A feed of `volume_per_day` changes spread evenly, without end.
    pub fn even(entity: &str, volume_per_day: f64) -> Feed {
        Feed {
            entity: entity.to_string(),
            volume_per_day,
            total: None,
            profile: None,
        }
    }

    /// When change `i` happened, in Unix milliseconds.
    pub fn changed_at(&self, start_ms: i64, i: u64) -> i64 {
        let days = i as f64 / self.volume_per_day;
        let Some(profile) = self.shares() else {
            return start_ms + (days * DAY_MS).ceil() as i64;
        };
        let whole = days.floor();
        let mut left = days - whole;
        let mut at = whole * DAY_MS;
        for share in profile {
            if left <= share {
                at += if share > 0.0 {
                    left / share * HOUR_MS
                } else {
                    0.0
                };
                return start_ms + at.ceil() as i64;
            }
            left -= share;
            at += HOUR_MS;
        }
        start_ms + at.ceil() as i64
    }

    /// The profile's shares, summing to 1, when there is one that holds any change.
    fn shares(&self) -> Option<[f64; 24]> {
        let profile = self.profile?;
        let sum: f64 = profile.iter().map(|w| w.max(0.0)).sum();
        (sum > 0.0).then(|| profile.map(|w| w.max(0.0) / sum))
    }

    /// How many changes happened up to and including `now_ms`.
    pub fn produced(&self, start_ms: i64, now_ms: i64) -> u64 {
        let produced = self.produced_unbounded(start_ms, now_ms);
        self.total.map_or(produced, |total| produced.min(total))
    }

    fn produced_unbounded(&self, start_ms: i64, now_ms: i64) -> u64 {
        if now_ms <= start_ms || self.volume_per_day <= 0.0 {
            return 0;
        }
        let mut n = ((now_ms - start_ms) as f64 * self.volume_per_day / DAY_MS).floor() as u64;
        if self.profile.is_some() {
            // Uneven: search between the bounds the whole days give.
            let days = ((now_ms - start_ms) as f64 / DAY_MS).floor();
            let (mut low, mut high) = (
                (days * self.volume_per_day).floor() as u64,
                ((days + 1.0) * self.volume_per_day).ceil() as u64 + 1,
            );
            while low < high {
                let middle = low + (high - low).div_ceil(2);
                if self.changed_at(start_ms, middle) <= now_ms {
                    low = middle;
                } else {
                    high = middle - 1;
                }
            }
            n = low;
        }
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

    /// The key of change `i`'s record.
    pub fn key(&self, i: u64) -> String {
        format!("{}-{i:06}", self.entity)
    }

    /// The record of change `i`, appended to `out` as compact JSON:
    ///
    /// `{"key":"prices-000012","sku":"SKU-000012","seq":12,"amount":"22.12","currency":"EUR","updated_at":"…"}`
    ///
    /// Written straight out rather than built as a `serde_json::Value` and
    /// serialised: a large simulated day serves millions of records, and
    /// the maps built and dropped were a tenth of its time.
    pub(crate) fn write_record(&self, start_ms: i64, i: u64, out: &mut Vec<u8>) {
        let at = Timestamp::from_millisecond(self.changed_at(start_ms, i)).unwrap_or_default();
        out.extend_from_slice(b"{\"key\":");
        // The entity is the user's text: escaped as JSON escapes it.
        serde_json::to_writer(&mut *out, &self.key(i)).expect("a string serialises");
        let (units, cents) = (10 + i % 90, i % 100);
        write!(
            out,
            ",\"sku\":\"SKU-{i:06}\",\"seq\":{i},\"amount\":\"{units}.{cents:02}\",\
             \"currency\":\"EUR\",\"updated_at\":\"{at:.3}\"}}"
        )
        .expect("a Vec takes every write");
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
            profile: None,
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
    fn a_profile_puts_the_changes_in_its_hours() {
        let mut profile = [0.0; 24];
        profile[9] = 3.0; // three quarters between 09:00 and 10:00
        profile[14] = 1.0;
        let feed = Feed {
            profile: Some(profile),
            ..Feed::even("orders", 400.0)
        };
        let hour = 3_600_000;
        assert_eq!(feed.produced(0, 9 * hour), 0);
        assert_eq!(feed.produced(0, 10 * hour), 300);
        assert_eq!(feed.produced(0, 14 * hour), 300);
        assert_eq!(feed.produced(0, 24 * hour), 400);
        assert_eq!(feed.produced(0, 48 * hour), 800);
        let mut last = 0;
        for i in 1..900 {
            let at = feed.changed_at(0, i);
            assert!(at > last, "change {i} at {at}");
            assert_eq!(feed.produced(0, at), i);
            assert_eq!(feed.produced(0, at - 1), i - 1);
            last = at;
        }
    }

    /// The record as it was built before it was written straight out.
    fn record(feed: &Feed, start_ms: i64, i: u64) -> serde_json::Value {
        let at = Timestamp::from_millisecond(feed.changed_at(start_ms, i)).unwrap_or_default();
        serde_json::json!({
            "key": feed.key(i),
            "sku": format!("SKU-{i:06}"),
            "seq": i,
            "amount": format!("{}.{:02}", 10 + i % 90, i % 100),
            "currency": "EUR",
            "updated_at": format!("{at:.3}"),
        })
    }

    /// Byte for byte what serde_json writes for the record as a value,
    /// whatever the entity's name holds.
    #[test]
    fn a_record_is_written_as_serde_json_would() {
        for entity in ["prices", "stock \"levels\"", "prijs\\lijst", "ünïcode\u{7}"] {
            let feed = Feed {
                entity: entity.into(),
                volume_per_day: 35_000.0,
                total: None,
                profile: None,
            };
            for i in (0..50_000)
                .step_by(997)
                .chain([1, 99, 100, 999_999, 1_000_000])
            {
                let mut written = Vec::new();
                feed.write_record(1_700_000_000_000, i, &mut written);
                let expected = serde_json::to_vec(&record(&feed, 1_700_000_000_000, i)).unwrap();
                assert_eq!(
                    String::from_utf8(written).unwrap(),
                    String::from_utf8(expected).unwrap()
                );
            }
        }
    }

    #[test]
    fn records_carry_a_key_and_a_sortable_time() {
        let feed = Feed {
            entity: "stock".into(),
            volume_per_day: 24.0,
            total: Some(1),
            profile: None,
        };
        assert_eq!(feed.produced(0, 86_400_000), 1);
        let mut written = Vec::new();
        feed.write_record(0, 2, &mut written);
        let record: serde_json::Value = serde_json::from_slice(&written).unwrap();
        assert_eq!(record["key"], "stock-000002");
        assert_eq!(record["updated_at"], "1970-01-01T02:00:00.000Z");
    }
}
