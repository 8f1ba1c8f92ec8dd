//! Each system's rate is one budget for every job that reads from it or
//! writes to it: what the day asks of it, and where the plan puts its jobs.

use pacer_cron::Schedule;
use pacer_plan::{JobOptions, Rate, System, Warning, plan};

use crate::environments::{generated, guide, integration};

fn fixed(expr: &str) -> JobOptions {
    JobOptions {
        schedule: Some(Schedule::parse(expr).unwrap()),
        ..JobOptions::default()
    }
}

#[test]
fn a_system_asked_for_more_than_its_rate_does_not_fit_and_says_what_would() {
    let mut environment = guide(8);
    // 200,000 more a day from the ERP: 139/min on top of the guide's 39.
    environment
        .integrations
        .push(integration("catalogue", "erp", "webshop", 200_000.0));
    let plan = plan(&environment).unwrap();
    assert!(!plan.fits);
    // The system comes first: nothing else matters as much.
    let Warning::SystemOverloaded {
        system,
        rate_per_minute,
        demand_per_minute,
        integrations,
        move_or_slow,
        ..
    } = &plan.warnings[0]
    else {
        panic!("{:?}", plan.warnings)
    };
    assert_eq!((system.as_str(), *rate_per_minute), ("erp", 100.0));
    // (15 + 200 + 35,000 + 21,000 + 180 + 200,000) / 1,440, rounded up.
    assert_eq!(*demand_per_minute, 178.1);
    assert_eq!(integrations[0], "catalogue");
    assert_eq!(integrations.len(), 6);
    assert_eq!(move_or_slow, &["catalogue"]);
    assert_eq!(
        plan.warnings[0].to_string(),
        "erp: catalogue, prices, stock, updated_products, orders, new_products ask it for 178.1 \
         items a minute on average over the day but its rate is 100/min; it needs a rate of \
         179/min, or move catalogue to another system or slow it (peak_factor, volume)"
    );
    let erp = &plan.systems[0];
    assert_eq!((erp.system.as_str(), erp.demand_per_minute), ("erp", 178.1));
    // The webshop accepts 500 a minute: it fits.
    assert!(plan.systems[1].demand_per_minute < 500.0);
    assert!(
        !plan.warnings[1..].iter().any(|w| matches!(
            w,
            Warning::SystemOverloaded { .. } | Warning::RateExceeded { .. }
        )),
        "{:?}",
        plan.warnings
            .iter()
            .map(|w| w.to_string())
            .collect::<Vec<_>>()
    );
}

/// Where the capacity alone would put a job beside another of its system's,
/// the rate puts it in a minute of its own.
#[test]
fn jobs_sharing_a_system_take_minutes_of_their_own() {
    let mut environment = guide(4);
    // Every even minute the ERP gives its whole rate to a fixed pull; every
    // odd one, two fixed jobs keep two slots busy on two other systems.
    let mut even = integration("even", "erp", "webshop", 72_000.0);
    even.pull = fixed("*/2 * * * *");
    let mut odd_a = integration("odd_a", "pim", "pim", 1.0);
    odd_a.pull = fixed("30 0 * * *");
    odd_a.push = fixed("1-59/2 * * * *");
    let mut odd_b = odd_a.clone();
    (odd_b.name, odd_b.from, odd_b.to) = ("odd_b".into(), "dam".into(), "dam".into());
    for name in ["pim", "dam"] {
        environment.systems.push(System {
            name: name.into(),
            rate: Rate::per_minute(1_000.0),
        });
    }
    // Pulled at 100 a minute every 2 minutes: it must run on odd minutes.
    let shared = integration("shared", "erp", "webshop", 72_000.0);
    environment.integrations = vec![even, odd_a, odd_b, shared];
    let plan = plan(&environment).unwrap();
    let pull = plan.jobs.iter().find(|j| j.job == "shared.pull").unwrap();
    assert_eq!(pull.schedule, "1-59/2 * * * *", "{:?}", plan.warnings);
    assert_eq!(plan.systems[0].peak_per_minute, 100);
    assert_eq!(plan.load.peak, 3);
    assert!(plan.fits, "{:?}", plan.warnings);
}

/// When the jobs of a system cannot each have minutes of their own, the
/// plan says so rather than "fits".
#[test]
fn a_system_the_plan_asks_for_more_than_its_rate_does_not_fit() {
    let mut environment = guide(4);
    // 143,000 a day every minute: 99.3 of the ERP's 100 in each; another
    // 1,000 a day cannot find a minute with room (the day's average, 100,
    // fits exactly).
    let mut a = integration("a", "erp", "webshop", 143_000.0);
    a.pull = fixed("* * * * *");
    let shared = integration("shared", "erp", "webshop", 1_000.0);
    environment.integrations = vec![a, shared];
    let plan = plan(&environment).unwrap();
    assert!(!plan.fits);
    let exceeded = plan
        .warnings
        .iter()
        .find(|w| matches!(w, Warning::RateExceeded { .. }))
        .unwrap_or_else(|| panic!("{:?}", plan.warnings));
    let Warning::RateExceeded {
        system,
        peak_per_minute,
        minutes,
        ..
    } = exceeded
    else {
        unreachable!()
    };
    // 99.3 and the hourly pull's 41.7.
    assert_eq!((system.as_str(), *peak_per_minute), ("erp", 141));
    assert!(!minutes.is_empty());
    assert!(
        exceeded
            .to_string()
            .starts_with("erp: 141 items a minute planned against its rate of 100/min, at ")
    );
}

/// Whatever the environment, a system's minutes say what its warnings say,
/// and a plan that fits asks no system for more than its rate.
#[test]
fn the_system_minutes_and_the_verdict_agree() {
    for seed in 0..40 {
        let environment = generated(seed, 12, 6);
        let plan = plan(&environment).unwrap();
        for system in &plan.systems {
            let above = system
                .by_minute
                .iter()
                .any(|&items| f64::from(items) > system.rate_per_minute + 1e-6);
            let warned = plan.warnings.iter().any(|w| match w {
                Warning::SystemOverloaded { system: s, .. } => *s == system.system,
                Warning::RateExceeded { system: s, .. } => *s == system.system,
                _ => false,
            });
            if above || system.demand_per_minute > system.rate_per_minute {
                assert!(warned, "seed {seed}: {} unwarned", system.system);
                assert!(!plan.fits, "seed {seed}");
            }
            assert_eq!(
                system.peak_per_minute,
                system.by_minute.iter().copied().max().unwrap()
            );
        }
    }
}

/// Absurd figures end at once, with an error that names them or a plan,
/// never a planner that lays out years of minutes.
#[test]
fn absurd_inputs_end_with_an_error_or_a_plan() {
    let mut slow = guide(2);
    slow.systems[0].rate = Rate::per_minute(0.000_000_1);
    assert_eq!(
        plan(&slow).unwrap_err().to_string(),
        "systems.erp.rate is 0.0000001/min: expected a rate from 1/h to 1000000/s"
    );
    let mut huge = guide(2);
    huge.integrations[2].volume_per_day = 1e30;
    assert_eq!(
        plan(&huge).unwrap_err().to_string(),
        "integrations.prices.volume is 1000000000000000000000000000000/day: expected 0 to \
         1000000000 a day"
    );
    let mut not_a_number = guide(2);
    not_a_number.integrations[0].volume_per_day = f64::NAN;
    assert!(plan(&not_a_number).is_err());
    let mut wide = guide(u32::MAX);
    wide.integrations[0].push.rate = Some(Rate::per_second(1e9));
    assert!(
        plan(&wide)
            .unwrap_err()
            .to_string()
            .starts_with("integrations.new_products.push.rate is 60000000000/min")
    );
    // A capacity of 4,294,967,295 is only a number to compare with.
    let plan = plan(&guide(u32::MAX)).unwrap();
    assert!(plan.fits);
}
