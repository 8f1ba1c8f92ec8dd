//! Time as the store's API speaks it: a [`Timestamp`] for an instant and a
//! [`Minute`] for a scheduled minute (the ledger's key, a rate window). The
//! tables keep Unix milliseconds; only this crate's SQL layer sees them.

use std::fmt;

use jiff::Timestamp;

const MINUTE_MS: i64 = 60_000;

/// A minute of UTC time: the minute an execution was scheduled for (the
/// ledger's key), or a rate window.
///
/// Ordered, and stepped a minute at a time with `+` and `-` of a number of
/// minutes, so walking a schedule needs no arithmetic on milliseconds. The
/// default is the Unix epoch's first minute: "since the default" is always.
///
/// A run asked for by hand is keyed by the instant it started
/// ([`Minute::manual`]), never a whole minute, so it never takes the place
/// of a scheduled one.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Minute {
    /// Its first instant in Unix milliseconds (a whole minute unless manual).
    ms: i64,
}

impl Minute {
    /// The minute `at` falls in.
    pub fn containing(at: Timestamp) -> Minute {
        Minute {
            ms: at.as_millisecond().div_euclid(MINUTE_MS) * MINUTE_MS,
        }
    }

    /// The key of a run asked for by hand at `at`: the instant itself, moved
    /// past `scheduled` (the minute it falls in) when it is that minute's
    /// first millisecond.
    pub fn manual(at: Timestamp, scheduled: Minute) -> Minute {
        Minute {
            ms: at.as_millisecond().max(scheduled.ms + 1),
        }
    }

    /// Its first instant.
    pub fn start(self) -> Timestamp {
        millis_to_timestamp(self.ms)
    }

    /// Whole minutes from `earlier` to it (negative when `earlier` is later).
    pub fn minutes_since(self, earlier: Minute) -> i64 {
        (self.ms - earlier.ms).div_euclid(MINUTE_MS)
    }

    /// Its first instant in Unix milliseconds, as the tables keep it.
    pub(crate) fn millis(self) -> i64 {
        self.ms
    }

    /// The minute the tables keep as `ms`.
    pub(crate) fn from_millis(ms: i64) -> Minute {
        Minute { ms }
    }
}

impl std::ops::Add<i64> for Minute {
    type Output = Minute;

    fn add(self, minutes: i64) -> Minute {
        Minute {
            ms: self.ms.saturating_add(minutes.saturating_mul(MINUTE_MS)),
        }
    }
}

impl std::ops::Sub<i64> for Minute {
    type Output = Minute;

    fn sub(self, minutes: i64) -> Minute {
        Minute {
            ms: self.ms.saturating_sub(minutes.saturating_mul(MINUTE_MS)),
        }
    }
}

impl std::ops::AddAssign<i64> for Minute {
    fn add_assign(&mut self, minutes: i64) {
        *self = *self + minutes;
    }
}

/// As its first instant: `2026-03-29T01:00:00Z`.
impl fmt::Display for Minute {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.start().fmt(f)
    }
}

/// An instant as the tables keep it.
pub(crate) fn millis(at: Timestamp) -> i64 {
    at.as_millisecond()
}

/// An instant the tables kept. A value outside jiff's range (years ±9999)
/// can only come from a hand-edited database; it reads as the range's edge
/// rather than failing every read of its table.
pub(crate) fn millis_to_timestamp(ms: i64) -> Timestamp {
    Timestamp::from_millisecond(ms).unwrap_or(if ms < 0 {
        Timestamp::MIN
    } else {
        Timestamp::MAX
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_minute_holds_its_sixty_seconds_and_a_manual_run_never_takes_its_key() {
        let at: Timestamp = "2026-03-29T01:00:59.999Z".parse().unwrap();
        let minute = Minute::containing(at);
        assert_eq!(minute.to_string(), "2026-03-29T01:00:00Z");
        assert_eq!((minute + 1).start().to_string(), "2026-03-29T01:01:00Z");
        assert_eq!(
            Minute::manual(at, minute).to_string(),
            "2026-03-29T01:00:59.999Z"
        );
        assert_eq!(
            Minute::manual(minute.start(), minute).minutes_since(minute),
            0
        );
        assert!(Minute::manual(minute.start(), minute) > minute);
        assert_eq!((minute + 90).minutes_since(minute), 90);
        assert!(minute - 1 < minute);
        let before_1970: Timestamp = "1969-12-31T23:59:30Z".parse().unwrap();
        assert_eq!(
            Minute::containing(before_1970).to_string(),
            "1969-12-31T23:59:00Z"
        );
        assert_eq!(Minute::from_millis(minute.millis()), minute);
    }
}
