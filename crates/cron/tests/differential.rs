//! pacer-cron against croner, on thousands of generated expressions and start
//! instants in several zones, with daylight-saving days over-represented.
//!
//! croner follows cronie in most things. Where it deliberately does not, the
//! comparison asserts cronie's behaviour instead, as each spot says.

use croner::{Cron, JobType, parser::CronParser};
use jiff::{SignedDuration, Timestamp, Zoned, tz::TimeZone};
use pacer_cron::Schedule;
use proptest::prelude::*;

use crate::{generate, reference};

/// The same expression in croner's dialect.
fn croner_dialect(expr: &str) -> String {
    let mut fields: Vec<String> = expr.split(' ').map(str::to_string).collect();
    // croner reads a range ending in SUN as ending in 7, even `SUN-SUN`,
    // which then spans the whole week; cronie and pacer-cron read Sunday.
    fields[4] = fields[4].replace("SUN-SUN", "SUN");
    // cronie (like Vixie cron) requires both day fields to match when either
    // begins with `*`, so `*/2` with `MON` means odd days that are Mondays.
    // croner only treats a bare `*` that way and would fire on every odd day
    // and every Monday. Its `+` prefix asks for both, which is cronie's rule.
    if ["*", "?"]
        .iter()
        .any(|p| fields[2].starts_with(p) || fields[4].starts_with(p))
    {
        fields[4].insert(0, '+');
    }
    fields.join(" ")
}

fn croner(expr: &str) -> Cron {
    CronParser::new()
        .parse(&croner_dialect(expr))
        .unwrap_or_else(|e| panic!("croner rejects {:?}: {e}", croner_dialect(expr)))
}

/// croner decides between a fixed-time and a wall-clock job by counting values:
/// `0,30 2 * * *` is a wall-clock job to croner. cronie, and pacer-cron, look
/// at the text: no `*` and no step in the minute and hour fields make a
/// fixed-time job, whatever its number of values. On days with a DST
/// transition croner's answer then differs from cronie's, so those cases are
/// checked against the reference model of cronie instead.
fn same_job_type(schedule: &Schedule, cron: &Cron) -> bool {
    schedule.is_fixed_time() == (cron.determine_job_type() == JobType::FixedTime)
}

fn has_dst(zone: &TimeZone) -> bool {
    let from = Timestamp::from_second(946_684_800).unwrap();
    zone.following(from).next().is_some()
}

/// Checks the next three fires after `start` and the previous one.
fn compare(expr: &str, zone_name: &str, start: Timestamp) -> Result<(), TestCaseError> {
    let Ok(schedule) = Schedule::parse(expr) else {
        // Only expressions that can never fire are rejected; croner agrees
        // they never fire (it searches until its limit).
        return Ok(());
    };
    let zone = TimeZone::get(zone_name).unwrap();
    let cron = croner(expr);
    if has_dst(&zone) && !same_job_type(&schedule, &cron) {
        return compare_with_reference(&schedule, &zone, start);
    }
    let start_zoned = start.to_zoned(zone.clone());

    let ours: Vec<Zoned> = schedule.fires_after(start, &zone).take(3).collect();
    let mut theirs = Vec::new();
    let mut cursor = start_zoned.clone();
    for _ in 0..3 {
        match cron.find_next_occurrence(&cursor, false) {
            Ok(next) => {
                cursor = next.clone();
                theirs.push(next);
            }
            // croner gives up after searching a year; compare what it found.
            Err(_) => break,
        }
    }
    let ours: Vec<Timestamp> = ours
        .iter()
        .take(theirs.len())
        .map(Zoned::timestamp)
        .collect();
    let theirs: Vec<Timestamp> = theirs.iter().map(Zoned::timestamp).collect();
    prop_assert_eq!(
        ours,
        theirs,
        "next fires of {:?} after {} in {}",
        expr,
        start,
        zone_name
    );

    if let Ok(prev) = cron.find_previous_occurrence(&start_zoned, false) {
        let ours = schedule.prev_before(start, &zone).map(|z| z.timestamp());
        prop_assert_eq!(
            ours,
            Some(prev.timestamp()),
            "previous fire of {:?} before {} in {}",
            expr,
            start,
            zone_name
        );
    }
    Ok(())
}

/// Every fire within two days of `start` equals the reference model's.
pub(crate) fn compare_with_reference(
    schedule: &Schedule,
    zone: &TimeZone,
    start: Timestamp,
) -> Result<(), TestCaseError> {
    let from = reference::floor_minute(start) + SignedDuration::from_mins(1);
    let to = from + SignedDuration::from_hours(48);
    let ours: Vec<Timestamp> = schedule
        .fires_after(start, zone)
        .map(|z| z.timestamp())
        .take_while(|&t| t < to)
        .collect();
    let expected = reference::fires_between(schedule, from, to, zone);
    prop_assert_eq!(ours, expected, "fires of {} from {}", schedule, start);
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 4000, ..ProptestConfig::default() })]

    #[test]
    fn next_and_prev_agree_with_croner(
        expr in generate::expression(),
        (zone, start) in generate::zoned_instant(),
    ) {
        compare(&expr, zone, start)?;
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 1500, ..ProptestConfig::default() })]

    /// Dense schedules around transitions, where the two DST rules matter most.
    #[test]
    fn daily_schedules_agree_with_croner_near_transitions(
        expr in generate::daily_expression(),
        (zone, start) in generate::zoned_instant(),
    ) {
        compare(&expr, zone, start)?;
    }
}

#[test]
fn dialect_translation() {
    assert_eq!(croner_dialect("5-59/15 * * * *"), "5-59/15 * * * +*");
    assert_eq!(croner_dialect("0 0 */2 * MON"), "0 0 */2 * +MON");
    assert_eq!(croner_dialect("0 0 1,15 * 1-6/2"), "0 0 1,15 * 1-6/2");
}
