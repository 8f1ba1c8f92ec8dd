//! What the planner is given: an environment, its systems and integrations.

use pacer_cron::Schedule;

/// How many items a system delivers or accepts, as items per minute.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Rate {
    per_minute: f64,
}

impl Rate {
    /// The slowest rate the planner takes, one item an hour: an execution of
    /// one item then lasts an hour, and a day of them is laid out minute by
    /// minute (slower ones would take the planner ages).
    pub const SLOWEST_PER_MINUTE: f64 = 1.0 / 60.0;
    /// The fastest rate the planner takes, a million items a second: beyond
    /// any system's API.
    pub const FASTEST_PER_MINUTE: f64 = 60_000_000.0;

    /// `n` items a minute.
    pub fn per_minute(n: f64) -> Rate {
        Rate { per_minute: n }
    }

    /// `n` items a second.
    pub fn per_second(n: f64) -> Rate {
        Rate::per_minute(n * 60.0)
    }

    /// `n` items an hour.
    pub fn per_hour(n: f64) -> Rate {
        Rate::per_minute(n / 60.0)
    }

    /// Items a minute.
    pub fn items_per_minute(self) -> f64 {
        self.per_minute
    }

    /// Whether the planner takes this rate: from
    /// [`SLOWEST_PER_MINUTE`](Rate::SLOWEST_PER_MINUTE) (give or take the
    /// rounding of "1/h") to [`FASTEST_PER_MINUTE`](Rate::FASTEST_PER_MINUTE).
    pub fn is_plannable(self) -> bool {
        (Rate::SLOWEST_PER_MINUTE * (1.0 - 1e-12)..=Rate::FASTEST_PER_MINUTE)
            .contains(&self.per_minute)
    }
}

/// The hours of the day in which an integration's jobs may run, on the
/// wall clock: `start` through `end - 1`, wrapping past midnight when
/// `end <= start` (`22:00-06:00`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ActiveHours {
    start: u32,
    end: u32,
}

impl ActiveHours {
    /// All day.
    pub const ALL_DAY: ActiveHours = ActiveHours { start: 0, end: 24 };

    /// From hour `start` (0-23) up to hour `end` (1-24); `None` when out of range
    /// or empty.
    pub fn new(start: u32, end: u32) -> Option<ActiveHours> {
        let in_range = start < 24 && (1..=24).contains(&end);
        let non_empty = start != end % 24 || (start, end) == (0, 24);
        (in_range && non_empty).then_some(ActiveHours { start, end })
    }

    /// Whether `hour` (0-23) is active.
    pub fn contains(self, hour: u32) -> bool {
        if self.start < self.end {
            (self.start..self.end).contains(&hour)
        } else {
            hour >= self.start || hour < self.end
        }
    }

    /// How many hours are active.
    pub fn hours(self) -> u32 {
        (0..24).filter(|&h| self.contains(h)).count() as u32
    }

    /// The cron hour field for these hours: `*`, `6-21`, `22-23,0-5`.
    pub fn cron_field(self) -> String {
        if self.hours() == 24 {
            return "*".to_string();
        }
        let end = self.end - 1;
        if self.start <= end {
            format!("{}-{end}", self.start)
        } else {
            format!("{}-23,0-{end}", self.start)
        }
    }

    /// The first active hour.
    pub fn start(self) -> u32 {
        self.start
    }

    /// The hour after the last active one (24 for midnight).
    pub fn end(self) -> u32 {
        self.end
    }
}

impl Default for ActiveHours {
    fn default() -> ActiveHours {
        ActiveHours::ALL_DAY
    }
}

/// Per-job overrides: the rate and item budget of one execution, and the schedule.
#[derive(Clone, Debug, Default)]
pub struct JobOptions {
    /// The rate this job may use; default the system's.
    pub rate: Option<Rate>,
    /// At most this many items per execution.
    pub max_items: Option<u64>,
    /// A fixed schedule, kept as given; `None` lets the planner choose.
    pub schedule: Option<Schedule>,
}

/// An external application and the rate it delivers or accepts.
#[derive(Clone, Debug)]
pub struct System {
    /// Its name in the environment (`erp`).
    pub name: String,
    /// What it delivers (as a source) or accepts (as a destination).
    pub rate: Rate,
}

/// The largest volume the planner takes, a billion changes a day (the
/// simulation makes each one).
pub const MOST_PER_DAY: f64 = 1e9;

/// One entity flowing from one system to another, with its two jobs.
#[derive(Clone, Debug)]
pub struct Integration {
    /// Its name (`prices`); the jobs are `prices.pull` and `prices.push`.
    pub name: String,
    /// The source system.
    pub from: String,
    /// The destination system.
    pub to: String,
    /// Changes a day.
    pub volume_per_day: f64,
    /// Size for the busy season: the volume is multiplied by this.
    pub peak_factor: f64,
    /// Longest acceptable delay from a change to its delivery, in minutes.
    pub freshness_minutes: Option<u32>,
    /// When its jobs may run.
    pub active_hours: ActiveHours,
    /// The pull job's overrides.
    pub pull: JobOptions,
    /// The push job's overrides.
    pub push: JobOptions,
}

/// One Pacer installation: its capacity, systems and integrations.
#[derive(Clone, Debug)]
pub struct Environment {
    /// Its name.
    pub name: String,
    /// How many executions may run at once.
    pub capacity: u32,
    /// The systems, by name.
    pub systems: Vec<System>,
    /// The integrations.
    pub integrations: Vec<Integration>,
}
