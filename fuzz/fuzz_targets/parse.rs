//! The parser never panics, and whatever it accepts can be described and
//! searched without panicking.
//!
//! Run with `cargo +nightly fuzz run parse` from this directory.

#![no_main]

use jiff::{Timestamp, tz::TimeZone};
use libfuzzer_sys::fuzz_target;
use pacer_cron::Schedule;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    // The first line is the expression, the rest the key for `H`.
    let (expr, key) = text.split_once('\n').unwrap_or((text, "fuzz"));
    let _ = Schedule::parse(expr);
    if let Ok(schedule) = Schedule::parse_with_key(expr, key) {
        let _ = schedule.describe();
        let _ = schedule.to_string();
        let from = Timestamp::from_second(1_790_000_000).unwrap();
        // Without daylight saving, every accepted expression fires.
        assert!(schedule.next_after(from, &TimeZone::UTC).is_some());
        assert!(schedule.prev_before(from, &TimeZone::UTC).is_some());
        // With it, a wall-clock job can match only skipped minutes.
        let zone = TimeZone::get("Europe/Amsterdam").unwrap();
        let _ = schedule.next_after(from, &zone);
        let _ = schedule.prev_before(from, &zone);
    }
});
