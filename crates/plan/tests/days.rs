//! The plan laid on real days: ordinary ones match the planner's day, and
//! on the days the clock moves the skipped hour is absent, the repeated one
//! runs twice, and capacity is checked for both.

use jiff::{civil::date, tz::TimeZone};
use pacer_cron::{Day, Schedule};
use pacer_plan::{JobOptions, Warning, plan};
use proptest::prelude::*;

use crate::environments::{generated, guide};

fn amsterdam() -> TimeZone {
    TimeZone::get("Europe/Amsterdam").unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(32))]

    /// On an ordinary day the schedules laid on the real day give the
    /// planner's own minute-by-minute load, for any generated environment.
    #[test]
    fn an_ordinary_day_is_the_planners_day(seed in 0u64..1_000, day in 0i64..300) {
        let environment = generated(seed, 12, 4);
        let plan = plan(&environment).unwrap();
        let zone = amsterdam();
        let date = date(2026, 1, 1).checked_add(jiff::Span::new().days(day)).unwrap();
        let day = Day::of(date, &zone).unwrap();
        let before = Day::of(date.yesterday().unwrap(), &zone).unwrap();
        prop_assume!(day.is_ordinary() && before.is_ordinary());
        prop_assert_eq!(plan.load_on(&day, &zone), plan.load.by_minute.clone());
    }

    /// Whatever the day's length and date, the load has a value for each
    /// of its minutes and its labels cover it: nothing indexed past the end.
    #[test]
    fn any_day_in_any_zone_has_a_load_for_each_minute(
        zone in prop::sample::select(vec![
            "Europe/Amsterdam", "America/New_York", "Australia/Sydney",
            "Australia/Lord_Howe", "Asia/Kolkata", "America/Santiago", "UTC",
        ]),
        day in 0i64..(3 * 366),
    ) {
        let zone = TimeZone::get(zone).unwrap();
        let plan = plan(&guide(2)).unwrap();
        let date = date(2026, 1, 1).checked_add(jiff::Span::new().days(day)).unwrap();
        let day = Day::of(date, &zone).unwrap();
        let load = plan.load_on(&day, &zone);
        prop_assert_eq!(load.len(), day.minutes());
        prop_assert_eq!(day.hours().iter().map(|h| h.len).sum::<usize>(), day.minutes());
        prop_assert!((day.minutes() as i64 - 1_440).abs() <= 60);
    }
}

#[test]
fn the_skipped_hour_is_absent_and_the_repeated_one_runs_twice() {
    let plan = plan(&guide(2)).unwrap();
    let zone = amsterdam();
    let spring = Day::of(date(2026, 3, 29), &zone).unwrap();
    let autumn = Day::of(date(2026, 10, 25), &zone).unwrap();
    let ordinary = &plan.load.by_minute;
    let spring_load = plan.load_on(&spring, &zone);
    // 00:00-02:00 as ever, then 03:00 on: the hour from 02:00 is gone.
    assert_eq!(spring_load[..120], ordinary[..120]);
    assert_eq!(spring_load[120..], ordinary[180..]);
    let autumn_load = plan.load_on(&autumn, &zone);
    assert_eq!(autumn_load[..180], ordinary[..180]);
    assert_eq!(autumn_load[180..240], ordinary[120..180]);
    assert_eq!(autumn_load[240..], ordinary[180..]);
}

/// cronie runs a fixed-time job whose time the clock skips at the first
/// minute after the gap: on a spring-forward day it meets the 03:00 job.
#[test]
fn a_job_moved_out_of_the_gap_can_exceed_capacity_that_day_only() {
    let mut environment = guide(1);
    environment.integrations.truncate(1);
    let fixed = |expr: &str| JobOptions {
        schedule: Some(Schedule::parse(expr).unwrap()),
        ..JobOptions::default()
    };
    environment.integrations[0].pull = fixed("30 2 * * *");
    environment.integrations[0].push = fixed("0 3 * * *");
    let mut plan = plan(&environment).unwrap();
    assert_eq!(plan.load.peak, 1);
    let zone = amsterdam();
    let (spring, autumn) = Day::next_changes(&zone, date(2026, 1, 1));
    let days = [spring.unwrap(), autumn.unwrap()];
    plan.check_days(&days, &zone);
    assert!(!plan.fits);
    assert_eq!(plan.days.len(), 2);
    assert_eq!(
        (
            plan.days[0].date.as_str(),
            plan.days[0].minutes,
            plan.days[0].peak
        ),
        ("2026-03-29", 1_380, 2)
    );
    assert_eq!(plan.days[0].hours.len(), 23);
    assert_eq!((plan.days[1].minutes, plan.days[1].peak), (1_500, 1));
    // Fixed-time jobs run once in the repeated hour: as many as ever.
    assert_eq!(plan.days[1].executions, plan.days[1].ordinary_executions);
    match &plan.warnings[..] {
        [
            Warning::CapacityExceededOn {
                date,
                peak: 2,
                minutes,
                ..
            },
            ..,
        ] => {
            assert_eq!(date, "2026-03-29");
            assert_eq!(minutes, &["03:00"]);
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn an_interval_job_runs_its_repeated_hour_twice() {
    let mut plan = plan(&guide(2)).unwrap();
    let zone = amsterdam();
    let (_, autumn) = Day::next_changes(&zone, date(2026, 1, 1));
    plan.check_days(&[autumn.unwrap()], &zone);
    let day = &plan.days[0];
    assert!(day.executions > day.ordinary_executions, "{day:?}");
    assert_eq!(day.hours[2..4], ["02:00+02:00", "02:00+01:00"]);
    assert!(plan.fits);
}
