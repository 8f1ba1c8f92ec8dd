//! A deliberately naive model of cronie's behaviour, as an oracle: it visits
//! every minute of absolute time and asks whether the job runs then.
//!
//! It shares nothing with the library's search but [`Schedule::matches`]
//! (checked against croner separately), so a bug in the day-by-day search or
//! in its DST handling shows up as a disagreement.

use jiff::{
    SignedDuration, Timestamp,
    tz::{AmbiguousOffset, TimeZone},
};
use pacer_cron::Schedule;

const MINUTE: SignedDuration = SignedDuration::from_mins(1);

/// Whether cronie runs `schedule` at the absolute minute `at`.
pub(crate) fn fires_at(schedule: &Schedule, at: Timestamp, zone: &TimeZone) -> bool {
    let wall = zone.to_datetime(at);
    if schedule.matches(wall) {
        let second_pass = match zone.to_ambiguous_timestamp(wall).offset() {
            AmbiguousOffset::Fold { after, .. } => after.to_timestamp(wall).unwrap() == at,
            _ => false,
        };
        // A fixed-time job runs only in the first pass of a repeated hour.
        if !(second_pass && schedule.is_fixed_time()) {
            return true;
        }
    }
    // A fixed-time job whose minute the clock skipped runs when the gap ends.
    if schedule.is_fixed_time() {
        let before = zone.to_offset(at - MINUTE);
        let now = zone.to_offset(at);
        if now > before {
            let mut skipped = before.to_datetime(at);
            let gap_end = now.to_datetime(at);
            while skipped < gap_end {
                if schedule.matches(skipped) {
                    return true;
                }
                skipped = skipped.checked_add(MINUTE).unwrap();
            }
        }
    }
    false
}

/// Every fire in `[from, to)` (both on whole minutes), minute by minute.
pub(crate) fn fires_between(
    schedule: &Schedule,
    from: Timestamp,
    to: Timestamp,
    zone: &TimeZone,
) -> Vec<Timestamp> {
    let mut fires = Vec::new();
    let mut at = from;
    while at < to {
        if fires_at(schedule, at, zone) {
            fires.push(at);
        }
        at += MINUTE;
    }
    fires
}

/// The instant rounded down to a whole minute (all zones tested have whole-minute offsets).
pub(crate) fn floor_minute(at: Timestamp) -> Timestamp {
    Timestamp::from_second(at.as_second().div_euclid(60) * 60).unwrap()
}
