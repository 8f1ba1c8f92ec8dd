//! The worked example of DESIGN.md and the scheduling guide, number by number.

use pacer_cron::Schedule;
use pacer_plan::{Environment, JobKind, Warning, plan};

use crate::environments::{guide, integration};

#[test]
fn the_guides_prices_integration() {
    let plan = plan(&guide(4)).unwrap();
    let job = |name: &str| plan.jobs.iter().find(|j| j.job == name).unwrap();

    // 35,000 / 1,440 = at least 25 changes a minute on average; the source
    // delivers 100 a minute, the destination accepts 500.
    let pull = job("prices.pull");
    assert_eq!(pull.kind, JobKind::Pull);
    assert_eq!(pull.min_items_per_minute, 25);
    assert_eq!(pull.items_per_run, 100);
    assert_eq!(pull.executions_per_day, 350);
    assert_eq!(pull.runs_per_hour, 15.0);
    assert_eq!(pull.interval_minutes, 4);
    assert_eq!(pull.runs_per_day, 360);
    assert_eq!(pull.duration_minutes, 1);
    let pull_schedule = Schedule::parse(&pull.schedule).unwrap();
    let period = pull_schedule.period_within_hour().unwrap();
    assert_eq!(period.every, 4);
    // `*/4` or the same with an offset, as the staggering chose.
    let expected = if period.offset == 0 {
        "*/4 * * * *".to_string()
    } else {
        format!("{}-59/4 * * * *", period.offset)
    };
    assert_eq!(pull.schedule, expected);

    let push = job("prices.push");
    assert_eq!(push.items_per_run, 500);
    assert_eq!(push.executions_per_day, 70);
    assert_eq!(push.runs_per_hour, 3.0);
    assert_eq!(push.interval_minutes, 20);
    assert_eq!(push.runs_per_day, 72);
    assert_eq!(
        Schedule::parse(&push.schedule)
            .unwrap()
            .period_within_hour()
            .unwrap()
            .every,
        20
    );
}

#[test]
fn alone_the_prices_jobs_get_the_guides_exact_schedules() {
    let mut environment = guide(1);
    environment.integrations.retain(|i| i.name == "prices");
    let plan = plan(&environment).unwrap();
    assert_eq!(plan.jobs[0].schedule, "*/4 * * * *");
    // The push job moves off minute 0, where the pull job runs.
    assert_eq!(plan.jobs[1].schedule, "1-59/20 * * * *");
    assert_eq!(plan.load.peak, 1);
    assert!(plan.fits);
}

#[test]
fn three_jobs_every_three_minutes_get_the_guides_offsets() {
    let mut environment = guide(1);
    // 48,000 a day pulled at 100 a minute: 480 executions, 20 an hour, every
    // 3 minutes; pushed at 500 a minute: 96 executions, every 15 minutes.
    environment.integrations = ["a", "b", "c"]
        .iter()
        .map(|name| integration(name, "erp", "webshop", 48_000.0))
        .collect();
    let plan = plan(&environment).unwrap();
    let mut pulls: Vec<&str> = plan
        .jobs
        .iter()
        .filter(|j| j.kind == JobKind::Pull)
        .map(|j| j.schedule.as_str())
        .collect();
    pulls.sort_unstable();
    assert_eq!(pulls, ["*/3 * * * *", "1-59/3 * * * *", "2-59/3 * * * *"]);
    // The pulls keep one slot busy every minute; the pushes need a second.
    assert_eq!(plan.load.lower_bound, 2);
    assert_eq!(plan.load.peak, 2);
}

#[test]
fn the_whole_guide_fits_one_slot_when_staggered() {
    let plan = plan(&guide(1)).unwrap();
    assert_eq!(plan.load.lower_bound, 1);
    assert_eq!(
        plan.load.peak,
        1,
        "{:?}",
        plan.jobs.iter().map(|j| &j.schedule).collect::<Vec<_>>()
    );
    assert!(plan.fits);
    assert_eq!(plan.load.by_minute.len(), 1440);
    assert_eq!(
        plan.load.by_minute.iter().copied().max(),
        Some(plan.load.peak)
    );
}

#[test]
fn peak_factor_sizes_for_the_busy_season() {
    let mut environment = guide(4);
    environment.integrations[2].peak_factor = 1.5;
    let plan = plan(&environment).unwrap();
    let pull = plan.jobs.iter().find(|j| j.job == "prices.pull").unwrap();
    // 52,500 a day: 525 executions, 22 an hour, every 2 minutes (3 does not reach 22).
    assert_eq!(pull.executions_per_day, 525);
    assert_eq!(pull.interval_minutes, 2);
}

#[test]
fn warnings_name_what_does_not_fit() {
    let mut environment: Environment = guide(1);
    // 2,000,000 a day at 100 a minute needs 20,000 runs; a day has 1,440 minutes.
    environment.integrations[2].volume_per_day = 2_000_000.0;
    environment.integrations[3].freshness_minutes = Some(1);
    let plan = plan(&environment).unwrap();
    assert!(!plan.fits);
    assert!(
        plan.warnings
            .iter()
            .any(|w| matches!(w, Warning::CapacityExceeded { .. }))
    );
    let too_slow = plan
        .warnings
        .iter()
        .find(|w| matches!(w, Warning::TooSlow { .. }))
        .unwrap();
    assert_eq!(
        too_slow.to_string(),
        "prices.pull: needs 20000 executions a day but at most 1440 fit even at one a minute (13.9x too slow); \
         raise the rate or the item budget per run (max_items)"
    );
    let fresh = plan
        .warnings
        .iter()
        .find(|w| matches!(w, Warning::Freshness { .. }))
        .unwrap();
    assert_eq!(
        fresh.to_string(),
        "stock: freshness of 1 minutes cannot be met; a change can wait up to 2 minutes for its pull and push"
    );
}

#[test]
fn explicit_schedules_are_kept_and_counted() {
    let mut environment = guide(1);
    environment.integrations[2].push.schedule = Some(Schedule::parse("0 * * * *").unwrap());
    let plan = plan(&environment).unwrap();
    let push = plan.jobs.iter().find(|j| j.job == "prices.push").unwrap();
    assert_eq!(push.schedule, "0 * * * *");
    assert!(push.explicit);
    assert_eq!(push.runs_per_day, 24);
    assert!(plan.warnings.contains(&Warning::TooFewRuns {
        job: "prices.push".into(),
        needed: 70,
        runs: 24
    }));
    // Its load is counted at minute 0 of every hour.
    assert!(plan.load.by_minute[0] >= 1);
}

#[test]
fn plans_are_deterministic() {
    let a = plan(&guide(2)).unwrap();
    let b = plan(&guide(2)).unwrap();
    let schedules = |p: &pacer_plan::Plan| {
        p.jobs
            .iter()
            .map(|j| j.schedule.clone())
            .collect::<Vec<_>>()
    };
    assert_eq!(schedules(&a), schedules(&b));
    assert_eq!(a.load.by_minute, b.load.by_minute);
}

#[test]
fn freshness_counts_the_hours_outside_the_active_hours() {
    let mut environment = guide(2);
    environment.integrations[4].active_hours = pacer_plan::ActiveHours::new(6, 22).unwrap();
    environment.integrations[4].freshness_minutes = Some(60);
    let plan = plan(&environment).unwrap();
    let fresh = plan
        .warnings
        .iter()
        .find(|w| matches!(w, Warning::Freshness { .. }))
        .unwrap();
    assert_eq!(
        fresh.to_string(),
        "orders: freshness of 60 minutes cannot be met; a change can wait up to 540 minutes for its pull \
         and push, 480 of them outside its active hours"
    );
    assert!(!plan.fits);
}
