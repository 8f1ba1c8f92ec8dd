//! Properties that hold for every expression, zone and instant.

use jiff::{SignedDuration, Timestamp, tz::TimeZone};
use pacer_cron::Schedule;
use proptest::prelude::*;

use crate::{differential::compare_with_reference, generate, reference};

proptest! {
    #![proptest_config(ProptestConfig { cases: 1500, ..ProptestConfig::default() })]

    /// Every fire is one the reference model of cronie would run, on a whole
    /// minute, and fires strictly increase.
    #[test]
    fn fires_match_and_increase(
        expr in generate::expression(),
        (zone, start) in generate::zoned_instant(),
    ) {
        let Ok(schedule) = Schedule::parse(&expr) else { return Ok(()) };
        let tz = TimeZone::get(zone).unwrap();
        let mut previous = start;
        for fire in schedule.fires_after(start, &tz).take(20) {
            let t = fire.timestamp();
            prop_assert!(t > previous, "{} after {} in {}", t, previous, zone);
            prop_assert_eq!(t.as_second() % 60, 0);
            prop_assert_eq!(t.subsec_nanosecond(), 0);
            prop_assert!(reference::fires_at(&schedule, t, &tz), "{} does not fire at {}", expr, fire);
            previous = t;
        }
    }

    /// `prev_before(next_after(t)) <= t` and `next_after(prev_before(t)) >= t`.
    #[test]
    fn next_and_prev_are_inverse(
        expr in generate::expression(),
        (zone, start) in generate::zoned_instant(),
    ) {
        let Ok(schedule) = Schedule::parse(&expr) else { return Ok(()) };
        let tz = TimeZone::get(zone).unwrap();
        if let Some(next) = schedule.next_after(start, &tz) {
            let back = schedule.prev_before(next.timestamp(), &tz).unwrap();
            prop_assert!(back.timestamp() <= start, "{} back from {} is {}", expr, next, back);
        }
        if let Some(prev) = schedule.prev_before(start, &tz) {
            let forth = schedule.next_after(prev.timestamp(), &tz).unwrap();
            prop_assert!(forth.timestamp() >= start, "{} forth from {} is {}", expr, prev, forth);
        }
    }

    /// Every fire in two days around a transition, against the minute-by-minute model.
    #[test]
    fn dense_schedules_match_the_reference_near_transitions(
        expr in generate::daily_expression(),
        (zone, start) in generate::zoned_instant(),
    ) {
        let schedule = Schedule::parse(&expr).unwrap();
        compare_with_reference(&schedule, &TimeZone::get(zone).unwrap(), start)?;
    }

    /// The resolved form (macros expanded, `H` replaced) means the same.
    #[test]
    fn display_round_trips(expr in generate::expression(), key in "[a-z.]{1,12}") {
        let Ok(schedule) = Schedule::parse_with_key(&expr, &key) else { return Ok(()) };
        let again = Schedule::parse(&schedule.to_string()).unwrap();
        let from: Timestamp = "2026-01-01T00:00:00Z".parse().unwrap();
        let a: Vec<_> = schedule.fires_after(from, &TimeZone::UTC).take(10).collect();
        let b: Vec<_> = again.fires_after(from, &TimeZone::UTC).take(10).collect();
        prop_assert_eq!(a, b);
    }

    /// `H` forms resolve within their range, to the same values for the same key.
    #[test]
    fn hash_is_stable_and_in_range(key in ".{0,20}", step in 1u32..=30, lo in 0u32..30, width in 0u32..29) {
        let hi = lo + width;
        let expr = format!("H(0-29) H(0-23)/{} H * H(1-5)", step.min(24));
        let a = Schedule::parse_with_key(&expr, &key).unwrap();
        let b = Schedule::parse_with_key(&expr, &key).unwrap();
        prop_assert_eq!(&a, &b);
        let minute = Schedule::parse_with_key(&format!("H({lo}-{hi}) * * * *"), &key).unwrap();
        let fired: Vec<usize> = minute.times_of_day().iter().filter(|m| *m < 60).collect();
        prop_assert_eq!(fired.len(), 1);
        prop_assert!((lo as usize..=hi as usize).contains(&fired[0]));
        let day = Schedule::parse_with_key("0 0 H * *", &key).unwrap().to_string();
        let day: u32 = day.split(' ').nth(2).unwrap().parse().unwrap();
        prop_assert!((1..=28).contains(&day), "H in the day of the month gave {}", day);
    }

    /// The parser never panics, whatever it is given.
    #[test]
    fn parser_never_panics(expr in ".{0,40}") {
        let _ = Schedule::parse(&expr);
        let _ = Schedule::parse_with_key(&expr, "key");
    }

    /// Nor on text made of cron's own characters, which reaches deeper.
    #[test]
    fn parser_never_panics_on_cron_alphabet(expr in "[0-9*/,?#LWH()a-zA-Z@ -]{0,40}") {
        if let Ok(schedule) = Schedule::parse_with_key(&expr, "key") {
            let _ = schedule.describe();
            let from: Timestamp = "2026-01-01T00:00:00Z".parse().unwrap();
            prop_assert!(schedule.next_after(from, &TimeZone::UTC).is_some());
        }
    }
}

#[test]
fn the_ends_of_time() {
    let every = Schedule::parse("* * * * *").unwrap();
    let yearly = Schedule::parse("@yearly").unwrap();
    assert_eq!(every.next_after(Timestamp::MAX, &TimeZone::UTC), None);
    assert_eq!(every.prev_before(Timestamp::MIN, &TimeZone::UTC), None);
    let near_end = Timestamp::MAX - SignedDuration::from_hours(24 * 400);
    assert_eq!(yearly.fires_after(near_end, &TimeZone::UTC).count(), 1);
    let tz = TimeZone::get("Pacific/Chatham").unwrap();
    assert_eq!(yearly.fires_after(near_end, &tz).count(), 1);
}
