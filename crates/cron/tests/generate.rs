//! Proptest strategies: cron expressions in the syntax both pacer-cron and
//! croner accept, and start instants that favour daylight-saving days.

use jiff::{SignedDuration, Timestamp, tz::TimeZone};
use proptest::prelude::*;

/// The zones the issue names: a European, an American and a southern-hemisphere
/// DST zone, a half-hour zone without DST, and Chatham's 45-minute offsets and
/// transitions at 02:45.
pub(crate) const ZONES: [&str; 6] = [
    "UTC",
    "Europe/Amsterdam",
    "America/New_York",
    "Australia/Sydney",
    "Asia/Kolkata",
    "Pacific/Chatham",
];

/// A value, range or stepped range within `min..=max`.
fn item(min: u32, max: u32) -> BoxedStrategy<String> {
    prop_oneof![
        3 => (min..=max).prop_map(|v| v.to_string()),
        2 => (min..=max, min..=max).prop_map(|(a, b)| format!("{}-{}", a.min(b), a.max(b))),
        1 => (min..=max, min..=max, 1..=(max - min + 1).min(12))
            .prop_map(|(a, b, s)| format!("{}-{}/{s}", a.min(b), a.max(b))),
        1 => (min..=max, 1..=(max - min + 1).min(12)).prop_map(move |(a, s)| format!("{a}-{max}/{s}")),
    ]
    .boxed()
}

fn list(min: u32, max: u32) -> BoxedStrategy<String> {
    prop::collection::vec(item(min, max), 1..=3)
        .prop_map(|items| items.join(","))
        .boxed()
}

fn steps(max: u32) -> BoxedStrategy<String> {
    (1..=max.min(30)).prop_map(|s| format!("*/{s}")).boxed()
}

pub(crate) fn minute() -> BoxedStrategy<String> {
    prop_oneof![2 => Just("*".to_string()), 3 => steps(60), 4 => list(0, 59)].boxed()
}

pub(crate) fn hour() -> BoxedStrategy<String> {
    prop_oneof![4 => Just("*".to_string()), 2 => steps(24), 4 => list(0, 23)].boxed()
}

pub(crate) fn day_of_month() -> BoxedStrategy<String> {
    prop_oneof![
        8 => Just("*".to_string()),
        1 => Just("?".to_string()),
        2 => steps(31),
        3 => list(1, 31),
        1 => Just("L".to_string()),
        1 => Just("LW".to_string()),
        1 => (1..=31u32).prop_map(|d| format!("{d}W")),
    ]
    .boxed()
}

pub(crate) fn month() -> BoxedStrategy<String> {
    const NAMES: [&str; 12] = [
        "JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC",
    ];
    prop_oneof![
        8 => Just("*".to_string()),
        2 => list(1, 12),
        1 => (0..12usize, 0..12usize)
            .prop_map(|(a, b)| format!("{}-{}", NAMES[a.min(b)], NAMES[a.max(b)].to_lowercase())),
    ]
    .boxed()
}

pub(crate) fn day_of_week() -> BoxedStrategy<String> {
    const NAMES: [&str; 7] = ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"];
    prop_oneof![
        8 => Just("*".to_string()),
        1 => Just("?".to_string()),
        1 => steps(7),
        3 => list(0, 7),
        1 => (0..7usize, 0..7usize)
            .prop_map(|(a, b)| format!("{}-{}", NAMES[a.min(b)], NAMES[a.max(b)])),
        1 => (0..=7u32).prop_map(|d| format!("{d}L")),
        1 => (0..7usize, 1..=5u32).prop_map(|(d, n)| format!("{}#{n}", NAMES[d])),
    ]
    .boxed()
}

/// Five-field expressions.
pub(crate) fn expression() -> BoxedStrategy<String> {
    (minute(), hour(), day_of_month(), month(), day_of_week())
        .prop_map(|(m, h, dom, mon, dow)| format!("{m} {h} {dom} {mon} {dow}"))
        .boxed()
}

/// Expressions that fire on most days, so that a window of a few days around
/// a transition holds many fires.
pub(crate) fn daily_expression() -> BoxedStrategy<String> {
    (minute(), hour())
        .prop_map(|(m, h)| format!("{m} {h} * * *"))
        .boxed()
}

/// An instant between 2000 and 2040, with a third of them within 36 hours of
/// one of the zone's transitions.
pub(crate) fn instant(zone: &'static str) -> BoxedStrategy<Timestamp> {
    let tz = TimeZone::get(zone).unwrap();
    let lo = Timestamp::from_second(946_684_800).unwrap(); // 2000-01-01
    let hi = Timestamp::from_second(2_208_988_800).unwrap(); // 2040-01-01
    let transitions: Vec<Timestamp> = tz
        .following(lo)
        .take_while(|t| t.timestamp() < hi)
        .map(|t| t.timestamp())
        .collect();
    let anywhere = (lo.as_second()..hi.as_second())
        .prop_map(|s| Timestamp::from_second(s).unwrap())
        .boxed();
    if transitions.is_empty() {
        return anywhere;
    }
    let near_transition = (0..transitions.len(), -36 * 3600..36 * 3600i64)
        .prop_map(move |(i, offset)| transitions[i] + SignedDuration::from_secs(offset))
        .boxed();
    prop_oneof![2 => anywhere, 1 => near_transition].boxed()
}

/// A zone and an instant in it.
pub(crate) fn zoned_instant() -> BoxedStrategy<(&'static str, Timestamp)> {
    (0..ZONES.len())
        .prop_flat_map(|i| (Just(ZONES[i]), instant(ZONES[i])))
        .boxed()
}
