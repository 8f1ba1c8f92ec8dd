//! A plan's load on a real day of its time zone: on a spring-forward day the
//! skipped hour's executions are absent, on a fall-back day the repeated
//! hour's are there twice, as the engine runs them.

use jiff::tz::TimeZone;
use pacer_cron::{Day, Schedule};
use schemars::JsonSchema;
use serde::Serialize;

use crate::{Plan, Warning};

const MINUTE: jiff::SignedDuration = jiff::SignedDuration::from_mins(1);

/// The planned load of one real day, when it is not an ordinary one.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, JsonSchema)]
pub struct DayLoad {
    /// The date, `YYYY-MM-DD`.
    pub date: String,
    /// Its length in minutes (1,380 on a spring-forward day, 1,500 on a
    /// fall-back one).
    pub minutes: usize,
    /// Its hours' labels, in order (`02:00+02:00`, `02:00+01:00` for a
    /// repeated hour).
    pub hours: Vec<String>,
    /// Executions starting that day.
    pub executions: u64,
    /// Executions starting on an ordinary day, for comparison.
    pub ordinary_executions: u64,
    /// The most executions running at once.
    pub peak: u32,
    /// Executions running in each of its minutes.
    pub by_minute: Vec<u32>,
}

impl Plan {
    /// Executions running in each minute of `day` (read in `zone`), the
    /// schedules laid on the real day: what the engine runs then.
    ///
    /// # Example: the repeated hour runs twice
    ///
    /// ```
    /// use jiff::{civil::date, tz::TimeZone};
    /// use pacer_cron::Day;
    /// # use pacer_plan::{ActiveHours, Environment, Integration, JobOptions, Rate, System};
    /// # let environment = Environment {
    /// #     name: "acme".into(), capacity: 2,
    /// #     systems: vec![System { name: "erp".into(), rate: Rate::per_minute(100.0) }],
    /// #     integrations: vec![Integration {
    /// #         name: "prices".into(), from: "erp".into(), to: "erp".into(),
    /// #         volume_per_day: 35_000.0, peak_factor: 1.0, freshness_minutes: None,
    /// #         active_hours: ActiveHours::ALL_DAY, pull: JobOptions::default(), push: JobOptions::default(),
    /// #     }],
    /// # };
    /// let plan = pacer_plan::plan(&environment)?;
    /// let zone = TimeZone::get("Europe/Amsterdam").unwrap();
    /// let autumn = Day::of(date(2026, 10, 25), &zone).unwrap();
    /// let load = plan.load_on(&autumn, &zone);
    /// assert_eq!(load.len(), 25 * 60);
    /// // The hour from 02:00 runs in both of its passes.
    /// assert_eq!(load[120..180], load[180..240]);
    /// # Ok::<(), pacer_plan::Error>(())
    /// ```
    pub fn load_on(&self, day: &Day, zone: &TimeZone) -> Vec<u32> {
        let mut load = vec![0u32; day.minutes()];
        for (schedule, duration) in self.schedules() {
            for fire in fires(&schedule, duration, day, zone) {
                mark(&mut load, day, fire, duration);
            }
        }
        load
    }

    /// The load of each of `days` that is not ordinary, with a warning for
    /// each whose peak exceeds the capacity (the plan then does not fit):
    /// a repeated hour's executions count like any other's.
    pub fn check_days(&mut self, days: &[Day], zone: &TimeZone) {
        let ordinary_executions: u64 = self
            .schedules()
            .iter()
            .map(|(s, _)| u64::from(s.fires_per_day()))
            .sum();
        for day in days.iter().filter(|d| !d.is_ordinary()) {
            let by_minute = self.load_on(day, zone);
            let executions = self
                .schedules()
                .iter()
                .map(|(s, _)| {
                    s.fires_after(day.instant(0) - jiff::SignedDuration::from_millis(1), zone)
                        .take_while(|f| f.timestamp() < day.end())
                        .count() as u64
                })
                .sum();
            let peak = by_minute.iter().copied().max().unwrap_or(0);
            let capacity = self.load.capacity;
            if peak > capacity {
                self.warnings.push(Warning::CapacityExceededOn {
                    date: day.date().to_string(),
                    capacity,
                    peak,
                    minutes: (0..day.minutes())
                        .filter(|&m| by_minute[m] > capacity)
                        .map(|m| day.label(m))
                        .collect(),
                });
                self.fits = false;
            }
            self.days.push(DayLoad {
                date: day.date().to_string(),
                minutes: day.minutes(),
                hours: day.hours().iter().map(|h| h.label.clone()).collect(),
                executions,
                ordinary_executions,
                peak,
                by_minute,
            });
        }
    }

    /// Each job's schedule (its `H` hashed from its name, as the engine
    /// does) and how long an execution lasts.
    fn schedules(&self) -> Vec<(Schedule, u32)> {
        self.jobs
            .iter()
            .filter_map(|job| {
                let schedule = Schedule::parse_with_key(&job.schedule, &job.job).ok()?;
                Some((schedule, job.duration_minutes.max(1)))
            })
            .collect()
    }
}

/// The fires of `schedule` that run into `day`: from those that started
/// `duration` minutes before it up to its end.
fn fires(schedule: &Schedule, duration: u32, day: &Day, zone: &TimeZone) -> Vec<jiff::Timestamp> {
    let from = day.start() - MINUTE * i32::try_from(duration).unwrap_or(i32::MAX);
    schedule
        .fires_after(from - jiff::SignedDuration::from_millis(1), zone)
        .map(|fire| fire.timestamp())
        .take_while(|&fire| fire < day.end())
        .collect()
}

fn mark(load: &mut [u32], day: &Day, fire: jiff::Timestamp, duration: u32) {
    for m in 0..duration {
        if let Some(minute) = day.minute_of(fire + MINUTE * m as i32) {
            load[minute] += 1;
        }
    }
}
