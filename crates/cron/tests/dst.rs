//! Daylight saving, as cronie does it, in tables over real time-zone data.
//!
//! Every row lists consecutive fires from an instant before a transition to
//! one after it. Each row is checked forwards (`fires_after`) and backwards
//! (`fires_before` from just past the last fire), so both sides of every gap
//! and fold are covered in both directions.

use jiff::{SignedDuration, Timestamp, tz::TimeZone};
use pacer_cron::Schedule;

fn check(zone: &str, expr: &str, from: &str, expected: &[&str]) {
    let tz = TimeZone::get(zone).unwrap();
    let schedule = Schedule::parse(expr).unwrap();
    let from: Timestamp = from.parse().unwrap();
    let show = |z: jiff::Zoned| z.strftime("%Y-%m-%dT%H:%M%:z").to_string();

    let forwards: Vec<String> = schedule
        .fires_after(from, &tz)
        .take(expected.len())
        .map(show)
        .collect();
    assert_eq!(forwards, expected, "{expr:?} in {zone} after {from}");

    let last = jiff::fmt::strtime::parse("%Y-%m-%dT%H:%M%:z", expected.last().unwrap())
        .and_then(|t| t.to_timestamp())
        .unwrap();
    let mut backwards: Vec<String> = schedule
        .fires_before(last + SignedDuration::from_mins(1), &tz)
        .take(expected.len())
        .map(show)
        .collect();
    backwards.reverse();
    assert_eq!(backwards, expected, "{expr:?} in {zone} backwards");
}

#[test]
fn amsterdam_spring_forward() {
    // 2026-03-29: 02:00 CET becomes 03:00 CEST.
    let zone = "Europe/Amsterdam";
    let from = "2026-03-28T23:00:00Z"; // 00:00 CET
    // A fixed-time job in the gap runs once, at the first minute after it.
    check(
        zone,
        "30 2 * * *",
        from,
        &["2026-03-29T03:00+02:00", "2026-03-30T02:30+02:00"],
    );
    // Two fixed times in the gap still run once.
    check(
        zone,
        "0,30 2 * * *",
        from,
        &["2026-03-29T03:00+02:00", "2026-03-30T02:00+02:00"],
    );
    // A job already due at 03:00 does not run twice.
    check(
        zone,
        "0 2,3 * * *",
        from,
        &["2026-03-29T03:00+02:00", "2026-03-30T02:00+02:00"],
    );
    // Wall-clock jobs skip the lost hour.
    check(
        zone,
        "*/30 * * * *",
        "2026-03-29T00:15:00Z",
        &[
            "2026-03-29T01:30+01:00",
            "2026-03-29T03:00+02:00",
            "2026-03-29T03:30+02:00",
        ],
    );
    check(
        zone,
        "0 * * * *",
        from,
        &["2026-03-29T01:00+01:00", "2026-03-29T03:00+02:00"],
    );
    check(
        zone,
        "30 */2 * * *",
        from,
        &["2026-03-29T00:30+01:00", "2026-03-29T04:30+02:00"],
    );
}

#[test]
fn amsterdam_fall_back() {
    // 2026-10-25: 03:00 CEST becomes 02:00 CET; 02:00-02:59 happens twice.
    let zone = "Europe/Amsterdam";
    let from = "2026-10-24T22:00:00Z"; // 00:00 CEST
    // A fixed-time job runs once, in the first pass.
    check(
        zone,
        "30 2 * * *",
        from,
        &["2026-10-25T02:30+02:00", "2026-10-26T02:30+01:00"],
    );
    check(
        zone,
        "0,30 2 * * *",
        from,
        &[
            "2026-10-25T02:00+02:00",
            "2026-10-25T02:30+02:00",
            "2026-10-26T02:00+01:00",
        ],
    );
    // Wall-clock jobs run in both passes.
    check(
        zone,
        "*/30 * * * *",
        "2026-10-24T23:45:00Z",
        &[
            "2026-10-25T02:00+02:00",
            "2026-10-25T02:30+02:00",
            "2026-10-25T02:00+01:00",
            "2026-10-25T02:30+01:00",
            "2026-10-25T03:00+01:00",
        ],
    );
    check(
        zone,
        "15 * * * *",
        from,
        &[
            "2026-10-25T00:15+02:00",
            "2026-10-25T01:15+02:00",
            "2026-10-25T02:15+02:00",
            "2026-10-25T02:15+01:00",
            "2026-10-25T03:15+01:00",
        ],
    );
}

#[test]
fn new_york() {
    let zone = "America/New_York";
    // 2026-03-08: 02:00 EST becomes 03:00 EDT.
    check(
        zone,
        "15 2 * * *",
        "2026-03-08T05:00:00Z",
        &["2026-03-08T03:00-04:00", "2026-03-09T02:15-04:00"],
    );
    check(
        zone,
        "*/20 * * * *",
        "2026-03-08T06:30:00Z",
        &[
            "2026-03-08T01:40-05:00",
            "2026-03-08T03:00-04:00",
            "2026-03-08T03:20-04:00",
        ],
    );
    // 2026-11-01: 02:00 EDT becomes 01:00 EST; 01:00-01:59 happens twice.
    check(
        zone,
        "30 1 * * *",
        "2026-11-01T04:00:00Z",
        &["2026-11-01T01:30-04:00", "2026-11-02T01:30-05:00"],
    );
    check(
        zone,
        "*/30 * * * *",
        "2026-11-01T04:15:00Z",
        &[
            "2026-11-01T00:30-04:00",
            "2026-11-01T01:00-04:00",
            "2026-11-01T01:30-04:00",
            "2026-11-01T01:00-05:00",
            "2026-11-01T01:30-05:00",
            "2026-11-01T02:00-05:00",
        ],
    );
}

#[test]
fn sydney() {
    let zone = "Australia/Sydney";
    // 2026-04-05: 03:00 AEDT becomes 02:00 AEST.
    check(
        zone,
        "0 2 * * *",
        "2026-04-04T12:00:00Z",
        &["2026-04-05T02:00+11:00", "2026-04-06T02:00+10:00"],
    );
    check(
        zone,
        "30 * * * *",
        "2026-04-04T14:00:00Z",
        &[
            "2026-04-05T01:30+11:00",
            "2026-04-05T02:30+11:00",
            "2026-04-05T02:30+10:00",
            "2026-04-05T03:30+10:00",
        ],
    );
    // 2026-10-04: 02:00 AEST becomes 03:00 AEDT.
    check(
        zone,
        "0 2 * * *",
        "2026-10-03T12:00:00Z",
        &["2026-10-04T03:00+11:00", "2026-10-05T02:00+11:00"],
    );
    check(
        zone,
        "30 * * * *",
        "2026-10-03T14:00:00Z",
        &[
            "2026-10-04T00:30+10:00",
            "2026-10-04T01:30+10:00",
            "2026-10-04T03:30+11:00",
        ],
    );
}

#[test]
fn kolkata_has_no_transitions() {
    // India keeps +05:30 all year: the same local time every day, around the
    // dates other zones change.
    let zone = "Asia/Kolkata";
    check(
        zone,
        "30 2 * * *",
        "2026-03-27T18:00:00Z",
        &[
            "2026-03-28T02:30+05:30",
            "2026-03-29T02:30+05:30",
            "2026-03-30T02:30+05:30",
        ],
    );
    check(
        zone,
        "*/45 * * * *",
        "2026-10-25T20:00:00Z",
        &[
            "2026-10-26T01:45+05:30",
            "2026-10-26T02:00+05:30",
            "2026-10-26T02:45+05:30",
        ],
    );
}

#[test]
fn chatham_transitions_at_quarter_to() {
    let zone = "Pacific/Chatham";
    // 2026-04-05: 03:45 +13:45 becomes 02:45 +12:45; 02:45-03:44 happens twice.
    check(
        zone,
        "0 3 * * *",
        "2026-04-04T12:00:00Z",
        &["2026-04-05T03:00+13:45", "2026-04-06T03:00+12:45"],
    );
    check(
        zone,
        "*/30 * * * *",
        "2026-04-04T12:30:00Z",
        &[
            "2026-04-05T02:30+13:45",
            "2026-04-05T03:00+13:45",
            "2026-04-05T03:30+13:45",
            "2026-04-05T03:00+12:45",
            "2026-04-05T03:30+12:45",
            "2026-04-05T04:00+12:45",
        ],
    );
    // 2026-09-27: 02:45 +12:45 becomes 03:45 +13:45.
    check(
        zone,
        "0 3 * * *",
        "2026-09-26T12:00:00Z",
        &["2026-09-27T03:45+13:45", "2026-09-28T03:00+13:45"],
    );
    check(
        zone,
        "*/30 * * * *",
        "2026-09-26T13:00:00Z",
        &[
            "2026-09-27T02:00+12:45",
            "2026-09-27T02:30+12:45",
            "2026-09-27T04:00+13:45",
        ],
    );
}

#[test]
fn a_day_is_a_calendar_day_not_86400_seconds() {
    // The daily job keeps its wall-clock time across both transitions.
    let tz = TimeZone::get("Europe/Amsterdam").unwrap();
    let daily = Schedule::parse("0 12 * * *").unwrap();
    let from: Timestamp = "2026-03-27T12:00:00Z".parse().unwrap();
    for fire in daily.fires_after(from, &tz).take(400) {
        assert_eq!((fire.hour(), fire.minute()), (12, 0), "{fire}");
    }
}

/// Found by `cargo fuzz`: a wall-clock job that matches only the hour
/// Amsterdam skips every year never fires there, and the search says so.
#[test]
fn regression_only_skipped_minutes_never_fire() {
    let tz = TimeZone::get("Europe/Amsterdam").unwrap();
    let schedule = Schedule::parse("0-59/7 2 * 3 0L").unwrap();
    let from: Timestamp = "2026-11-27T00:00:00Z".parse().unwrap();
    assert_eq!(schedule.next_after(from, &tz), None);
    // In UTC it fires on the last Sunday of March, 2027-03-28.
    let utc = schedule.next_after(from, &TimeZone::UTC).unwrap();
    assert_eq!(utc.to_string(), "2027-03-28T02:00:00+00:00[UTC]");
}
