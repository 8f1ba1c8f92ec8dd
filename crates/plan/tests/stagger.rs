//! How good the offsets are: against the lower bound on large generated
//! environments, and against an exact solver on small ones.

use good_lp::{Expression, ProblemVariables, Solution, SolverModel, constraint, microlp, variable};
use pacer_cron::Schedule;
use pacer_plan::{Plan, plan};
use proptest::prelude::*;

use crate::environments::generated;

/// The load recomputed from the printed schedules and durations alone.
fn load_of_schedules(plan: &Plan) -> Vec<u32> {
    let mut load = vec![0u32; 1440];
    for job in &plan.jobs {
        let schedule = Schedule::parse(&job.schedule).unwrap();
        for start in schedule.times_of_day().iter() {
            for j in 0..job.duration_minutes as usize {
                load[(start + j) % 1440] += 1;
            }
        }
    }
    load
}

#[test]
fn thousand_job_environments_peak_within_one_of_the_lower_bound() {
    for seed in 1..=5 {
        let plan = plan(&generated(seed, 1000, 10)).unwrap();
        assert_eq!(plan.jobs.len(), 1000);
        let load = &plan.load;
        assert!(
            load.lower_bound <= load.peak,
            "seed {seed}: bound {} above peak {}",
            load.lower_bound,
            load.peak
        );
        assert!(
            load.peak <= load.lower_bound + 1,
            "seed {seed}: peak {} is more than 1 above the lower bound {}",
            load.peak,
            load.lower_bound
        );
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 40, ..ProptestConfig::default() })]

    /// `load.by_minute` is the load of the schedules printed, and `peak` its maximum.
    #[test]
    fn the_load_is_the_load_of_the_printed_schedules(seed in 1u64..10_000, jobs in 2usize..80) {
        let plan = plan(&generated(seed, jobs, 4)).unwrap();
        prop_assert_eq!(&plan.load.by_minute, &load_of_schedules(&plan));
        prop_assert_eq!(plan.load.peak, plan.load.by_minute.iter().copied().max().unwrap());
        prop_assert!(plan.load.lower_bound <= plan.load.peak);
        prop_assert_eq!(plan.fits, plan.warnings.iter().all(|w| !w.is_failure()));
    }
}

/// The best peak any offsets can reach, by integer programming: a binary
/// variable per job and offset, one constraint per minute of the hour.
/// Valid when every job runs all day at an interval dividing 60.
fn optimal_peak(plan: &Plan) -> u32 {
    let mut vars = ProblemVariables::new();
    let peak = vars.add(variable().min(0));
    let choices: Vec<Vec<_>> = plan
        .jobs
        .iter()
        .map(|job| {
            (0..job.interval_minutes)
                .map(|_| vars.add(variable().binary()))
                .collect()
        })
        .collect();
    let mut model = vars.minimise(peak).using(microlp);
    for offsets in &choices {
        let one: Expression = offsets.iter().copied().sum();
        model = model.with(constraint!(one == 1));
    }
    for minute in 0..60u32 {
        let mut running = Expression::from(0);
        for (job, offsets) in plan.jobs.iter().zip(&choices) {
            let (p, d) = (job.interval_minutes, job.duration_minutes);
            for (offset, &x) in offsets.iter().enumerate() {
                // Minute `minute` is busy when it lies within `d` of a start.
                if (minute + 60 * p - offset as u32) % p < d {
                    running += x;
                }
            }
        }
        model = model.with(constraint!(running <= peak));
    }
    let solution = model.solve().unwrap();
    solution.value(peak).round() as u32
}

/// Small environments are searched exactly: the planner's peak is the one
/// an integer program finds.
#[test]
fn small_environments_get_the_optimal_peak() {
    let mut compared = 0;
    let mut gaps = Vec::new();
    for seed in 1..=250u64 {
        let mut environment = generated(seed, 6, 1);
        for integration in &mut environment.integrations {
            integration.active_hours = pacer_plan::ActiveHours::ALL_DAY;
            integration.freshness_minutes = None;
        }
        let plan = plan(&environment).unwrap();
        // Keep the integer programs small enough to solve in a test.
        let offsets: u32 = plan.jobs.iter().map(|j| j.interval_minutes).sum();
        if plan.jobs.iter().any(|j| 60 % j.interval_minutes != 0) || offsets > 150 {
            continue;
        }
        let optimal = optimal_peak(&plan);
        assert!(
            plan.load.lower_bound <= optimal,
            "seed {seed}: bound {} above optimum {optimal}",
            plan.load.lower_bound
        );
        assert!(
            optimal <= plan.load.peak,
            "seed {seed}: optimum {optimal} above the plan's {}",
            plan.load.peak
        );
        assert!(
            plan.load.peak <= optimal + 1,
            "seed {seed}: peak {} vs optimum {optimal}",
            plan.load.peak
        );
        gaps.push((seed, plan.load.peak - optimal));
        compared += 1;
    }
    assert!(compared >= 30, "only {compared} instances compared");
    let above: Vec<(u64, u32)> = gaps.into_iter().filter(|&(_, gap)| gap > 0).collect();
    assert!(
        above.is_empty(),
        "(seed, peak above the optimum): {above:?}"
    );
}

/// Eight-job environments where the greedy and the local search stopped at
/// a peak of 4 and an integer program found 3: the exact search finds it.
#[test]
fn the_small_environments_the_heuristics_missed_get_their_optimum() {
    for seed in [152, 235] {
        let mut environment = generated(seed, 8, 1);
        for integration in &mut environment.integrations {
            integration.freshness_minutes = None;
            integration.active_hours = pacer_plan::ActiveHours::ALL_DAY;
        }
        let plan = plan(&environment).unwrap();
        assert_eq!(plan.load.peak, 3, "seed {seed}");
        assert_eq!(optimal_peak(&plan), 3, "seed {seed}");
    }
}
