//! Pacer's capacity planner: from volumes and rate limits to staggered cron
//! schedules that fit the environment.
//!
//! A typed model in ([`Environment`]), a [`Plan`] out; no I/O. The method is
//! the scheduling guide's, per job:
//!
//! 1. items per execution: the rate times one minute, or `max_items` if smaller;
//!    executions a day = ceil(volume × peak factor / items per execution);
//! 2. runs an hour over the active hours, rounded up; the interval is the
//!    longest whole-minute interval that achieves them, preferring intervals
//!    that divide 60 (and hour steps beyond 60 minutes, where freshness allows),
//!    never longer than freshness allows;
//! 3. a cron expression with an offset (`*/4`, `1-59/4`, …), the offsets
//!    chosen for all jobs together so the peak number of executions running at
//!    once stays low.
//!
//! # Example: the guide's prices integration
//!
//! ```
//! use pacer_plan::{ActiveHours, Environment, Integration, JobOptions, Rate, System, plan};
//!
//! let environment = Environment {
//!     name: "acme".into(),
//!     capacity: 2,
//!     systems: vec![
//!         System { name: "erp".into(), rate: Rate::per_minute(100.0) },
//!         System { name: "webshop".into(), rate: Rate::per_minute(500.0) },
//!     ],
//!     integrations: vec![Integration {
//!         name: "prices".into(),
//!         from: "erp".into(),
//!         to: "webshop".into(),
//!         volume_per_day: 35_000.0,
//!         peak_factor: 1.0,
//!         freshness_minutes: None,
//!         active_hours: ActiveHours::ALL_DAY,
//!         pull: JobOptions::default(),
//!         push: JobOptions::default(),
//!     }],
//! };
//! let plan = plan(&environment)?;
//! let pull = &plan.jobs[0];
//! assert_eq!((pull.executions_per_day, pull.interval_minutes, pull.runs_per_day), (350, 4, 360));
//! assert_eq!(pull.schedule, "*/4 * * * *");
//! let push = &plan.jobs[1];
//! assert_eq!((push.executions_per_day, push.interval_minutes, push.runs_per_day), (70, 20, 72));
//! assert!(plan.fits);
//! # Ok::<(), pacer_plan::Error>(())
//! ```

#![deny(missing_docs)]

pub use crate::{
    day::DayLoad,
    error::Error,
    model::{ActiveHours, Environment, Integration, JobOptions, MOST_PER_DAY, Rate, System},
    observed::{
        DRIFT, Drifts, IntegrationDrift, IntegrationObserved, JobObserved, MINUTES_TO_TRUST,
        Observation, PeakDay, Quantiles, Ran, SystemDrift, SystemObserved, Took, as_observed,
        drifts, observe,
    },
    plan::{JobKind, JobPlan, Load, Plan, Warning, plan},
    svg::{heat_map, heat_map_of_day},
    systems::SystemLoad,
};

mod day;
mod error;
mod model;
mod observed;
mod plan;
mod sizing;
mod stagger;
mod svg;
mod systems;
