//! What really happened, in the planner's own terms: the ledger's
//! executions over a window turned into each integration's changes a day,
//! its peak day and hourly profile, and each job's items, durations and
//! waits — and an [`Environment`] that declares those figures instead of
//! the file's estimates, to plan again.
//!
//! A pull's items are the changes it queued, so an integration's changes
//! are its pull executions' items, counted in the local hour each started.
//! Only whole local days inside the window count towards a day's figures
//! (a window that starts at 14:00 would otherwise make its first day look
//! quiet), and of those only days the ledger has executions on (a day
//! Pacer did not run would look like a day without changes). Pure: the
//! caller reads the ledger.

use jiff::{Timestamp, ToSpan, civil::Date, tz::TimeZone};
use schemars::JsonSchema;
use serde::Serialize;

use crate::Environment;

/// One execution as the ledger kept it.
#[derive(Clone, Debug)]
pub struct Ran {
    /// `<integration>.pull` or `<integration>.push`.
    pub job: String,
    /// When it was due.
    pub due_at: Timestamp,
    /// When it started; `None` if it never did (missed, skipped).
    pub started_at: Option<Timestamp>,
    /// When it ended; `None` while it runs.
    pub finished_at: Option<Timestamp>,
    /// Items it moved.
    pub items: u64,
}

/// One minute of a system's rate window, as the store kept it.
#[derive(Clone, Debug)]
pub struct Took {
    /// The system.
    pub system: String,
    /// The minute's start.
    pub minute: Timestamp,
    /// Items Pacer took from its rate that minute.
    pub used: u64,
    /// Answers that said slow down (429, `Retry-After`).
    pub throttled: u64,
    /// Answers that failed in a way a retry may fix (timeouts, 5xx).
    pub failed: u64,
    /// Items those answers did not take.
    pub refused: u64,
}

/// The figures over one window.
#[derive(Clone, Debug, Serialize, JsonSchema)]
pub struct Observation {
    /// The window's start.
    #[schemars(with = "String")]
    #[serde(serialize_with = "as_text")]
    pub from: Timestamp,
    /// The window's end.
    #[schemars(with = "String")]
    #[serde(serialize_with = "as_text")]
    pub until: Timestamp,
    /// The whole local days inside it that the ledger has executions on:
    /// the days the day figures count.
    pub whole_days: u32,
    /// Each integration of the environment, in its order.
    pub integrations: Vec<IntegrationObserved>,
    /// Each system of the environment, in its order.
    pub systems: Vec<SystemObserved>,
}

/// What one system really took and answered back, over the minutes its
/// rate windows were kept.
#[derive(Clone, Debug, Default, PartialEq, Serialize, JsonSchema)]
pub struct SystemObserved {
    /// Its name.
    pub system: String,
    /// Minutes Pacer used it in.
    pub minutes: u64,
    /// Items it took in one of those minutes (taken less refused).
    pub items_per_minute: Quantiles,
    /// The most it took in one minute.
    pub busiest_minute: u64,
    /// Minutes it said slow down in.
    pub minutes_throttled: u64,
    /// Answers that said slow down (429, `Retry-After`).
    pub throttled: u64,
    /// Answers that failed in a way a retry may fix (timeouts, 5xx).
    pub failed: u64,
    /// What it took, at the median, in the minutes it said slow down in:
    /// the rate it really accepts. Only from [`MINUTES_TO_TRUST`] such
    /// minutes on: one busy minute is no rate.
    pub accepted_when_throttled: Option<f64>,
}

/// Minutes a system must have said slow down in before its observed rate
/// is trusted over the declared one.
pub const MINUTES_TO_TRUST: u64 = 3;

/// What one integration really moved.
#[derive(Clone, Debug, Serialize, JsonSchema)]
pub struct IntegrationObserved {
    /// Its name.
    pub integration: String,
    /// Changes its pulls queued over the whole days.
    pub changes: u64,
    /// Their mean a day; `None` without a whole day.
    pub changes_per_day: Option<f64>,
    /// The day with the most changes, and how many.
    pub peak_day: Option<PeakDay>,
    /// The peak day over the mean: what `peak_factor` declares; `None`
    /// without a change.
    pub peak_factor: Option<f64>,
    /// Each local hour's share of a day's changes, from 00:00, as weights
    /// whose mean is 1 (an even day is 24 ones); `None` without a change.
    pub profile: Option<Vec<f64>>,
    /// Its pull job.
    pub pull: JobObserved,
    /// Its push job.
    pub push: JobObserved,
}

/// The day an integration moved the most.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, JsonSchema)]
pub struct PeakDay {
    /// The local date.
    #[schemars(with = "String")]
    #[serde(serialize_with = "as_text")]
    pub date: Date,
    /// Changes that day.
    pub changes: u64,
}

/// One job's executions over the whole window.
#[derive(Clone, Debug, Default, PartialEq, Serialize, JsonSchema)]
pub struct JobObserved {
    /// The job.
    pub job: String,
    /// Executions that started.
    pub executions: u64,
    /// Items an execution moved: the median and the 95th percentile.
    pub items: Quantiles,
    /// Seconds from start to end.
    pub duration_s: Quantiles,
    /// Seconds from due to start: the wait for capacity.
    pub wait_s: Quantiles,
}

/// A median and a 95th percentile (nearest rank); zeros without a value.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, JsonSchema)]
pub struct Quantiles {
    /// Half are at most this.
    pub p50: f64,
    /// 95 in 100 are at most this.
    pub p95: f64,
}

impl Quantiles {
    fn of(mut values: Vec<f64>) -> Quantiles {
        if values.is_empty() {
            return Quantiles::default();
        }
        values.sort_by(f64::total_cmp);
        let rank = |p: f64| values[((p * values.len() as f64).ceil() as usize).max(1) - 1];
        Quantiles {
            p50: rank(0.50),
            p95: rank(0.95),
        }
    }
}

/// The figures of `environment`'s integrations from `ran`, the ledger's
/// executions from `from` to `until`, days and hours read in `zone`.
pub fn observe(
    environment: &Environment,
    zone: &TimeZone,
    from: Timestamp,
    until: Timestamp,
    ran: &[Ran],
    took: &[Took],
) -> Observation {
    // A day the ledger has nothing on is a day Pacer did not run, not a
    // day without changes.
    let days: Vec<Date> = whole_days(zone, from, until)
        .into_iter()
        .filter(|day| {
            ran.iter()
                .any(|r| r.due_at.to_zoned(zone.clone()).date() == *day)
        })
        .collect();
    let integrations = environment
        .integrations
        .iter()
        .map(|integration| {
            let job = |kind: &str| format!("{}.{kind}", integration.name);
            let (pull, push) = (job("pull"), job("push"));
            let mut by_day = vec![0.0; days.len()];
            let mut by_hour = [0.0; 24];
            let mut pulls: Vec<(Timestamp, u64)> = ran
                .iter()
                .filter(|r| r.job == pull)
                .filter_map(|r| Some((r.started_at?, r.items)))
                .collect();
            pulls.sort_by_key(|(started, _)| *started);
            // A pull reads the changes made since the one before it started,
            // so its items are spread evenly over that stretch, hour by hour
            // — over its active hours only, when the stretch has any: the
            // first pull of the morning reads the evening's changes, not
            // the night's.
            let mut previous: Option<Timestamp> = None;
            for (started, items) in pulls {
                let since = previous.unwrap_or(started);
                previous = Some(started);
                let hour =
                    |at: &Timestamp| u32::from(at.to_zoned(zone.clone()).hour().unsigned_abs());
                let mut pieces = spread(zone, since, started);
                let active: f64 = pieces
                    .iter()
                    .filter(|(at, _)| integration.active_hours.contains(hour(at)))
                    .map(|(_, share)| share)
                    .sum();
                if active > 0.0 {
                    pieces = pieces
                        .into_iter()
                        .filter(|(at, _)| integration.active_hours.contains(hour(at)))
                        .map(|(at, share)| (at, share / active))
                        .collect();
                }
                for (at, share) in pieces {
                    let local = at.to_zoned(zone.clone());
                    if let Some(day) = days.iter().position(|d| *d == local.date()) {
                        let n = items as f64 * share;
                        by_day[day] += n;
                        by_hour[local.hour().unsigned_abs() as usize] += n;
                    }
                }
            }
            let total: f64 = by_day.iter().sum();
            let changes = total.round() as u64;
            let mean = (!days.is_empty()).then(|| total / days.len() as f64);
            let peak_day = by_day
                .iter()
                .zip(&days)
                .max_by(|a, b| a.0.total_cmp(b.0))
                .map(|(&n, &date)| PeakDay {
                    date,
                    changes: n.round() as u64,
                });
            let seen = changes > 0;
            IntegrationObserved {
                integration: integration.name.clone(),
                changes,
                changes_per_day: mean,
                peak_factor: mean
                    .filter(|_| seen)
                    .zip(peak_day.as_ref())
                    .map(|(mean, _)| by_day.iter().copied().fold(0.0, f64::max) / mean),
                peak_day,
                profile: seen.then(|| by_hour.iter().map(|&n| n * 24.0 / total).collect()),
                pull: job_observed(&pull, ran),
                push: job_observed(&push, ran),
            }
        })
        .collect();
    let systems = environment
        .systems
        .iter()
        .map(|system| system_observed(&system.name, took))
        .collect();
    Observation {
        from,
        until,
        whole_days: days.len() as u32,
        integrations,
        systems,
    }
}

fn system_observed(system: &str, took: &[Took]) -> SystemObserved {
    let minutes: Vec<&Took> = took
        .iter()
        .filter(|t| t.system == system && (t.used > 0 || t.throttled + t.failed > 0))
        .collect();
    let accepted = |t: &Took| t.used.saturating_sub(t.refused);
    let throttled: Vec<f64> = minutes
        .iter()
        .filter(|t| t.throttled > 0)
        .map(|t| accepted(t) as f64)
        .collect();
    SystemObserved {
        system: system.to_string(),
        minutes: minutes.len() as u64,
        items_per_minute: Quantiles::of(minutes.iter().map(|t| accepted(t) as f64).collect()),
        busiest_minute: minutes.iter().map(|t| accepted(t)).max().unwrap_or(0),
        minutes_throttled: throttled.len() as u64,
        throttled: minutes.iter().map(|t| t.throttled).sum(),
        failed: minutes.iter().map(|t| t.failed).sum(),
        accepted_when_throttled: (throttled.len() as u64 >= MINUTES_TO_TRUST)
            .then(|| Quantiles::of(throttled).p50),
    }
}

/// Observed this much above or below what the file declares, a figure has
/// drifted: its plan was made for another environment.
pub const DRIFT: f64 = 0.25;

/// Where what was observed left what the file declares behind.
#[derive(Clone, Debug, Default, PartialEq, Serialize, JsonSchema)]
pub struct Drifts {
    /// Each integration, in the environment's order.
    pub integrations: Vec<IntegrationDrift>,
    /// Each system, in the environment's order.
    pub systems: Vec<SystemDrift>,
}

/// An integration's peak day, declared and observed.
#[derive(Clone, Debug, PartialEq, Serialize, JsonSchema)]
pub struct IntegrationDrift {
    /// Its name.
    pub integration: String,
    /// `volume × peak_factor` as the file says.
    pub declared_peak_day: f64,
    /// The most changes observed in one day; `None` without a whole day.
    pub observed_peak_day: Option<u64>,
    /// Observed over declared: 1.5 is half as many again; `None` without
    /// either.
    pub ratio: Option<f64>,
    /// The ratio is more than [`DRIFT`] away from 1.
    pub drifted: bool,
}

/// A system's rate, declared and observed.
#[derive(Clone, Debug, PartialEq, Serialize, JsonSchema)]
pub struct SystemDrift {
    /// Its name.
    pub system: String,
    /// Its rate a minute as the file says.
    pub declared_per_minute: f64,
    /// What it accepted a minute when it said slow down
    /// ([`SystemObserved::accepted_when_throttled`]).
    pub accepted_per_minute: Option<f64>,
    /// Accepted over declared; `None` while it never said slow down enough.
    pub ratio: Option<f64>,
    /// The ratio is more than [`DRIFT`] below 1.
    pub drifted: bool,
}

/// How far `observation` is from what `environment` declares.
pub fn drifts(environment: &Environment, observation: &Observation) -> Drifts {
    let integrations = environment
        .integrations
        .iter()
        .zip(&observation.integrations)
        .map(|(declared, seen)| {
            let declared_peak_day = declared.volume_per_day * declared.peak_factor;
            let observed_peak_day = seen.peak_day.as_ref().map(|p| p.changes);
            let ratio = observed_peak_day
                .filter(|_| declared_peak_day > 0.0)
                .map(|n| n as f64 / declared_peak_day);
            IntegrationDrift {
                integration: declared.name.clone(),
                declared_peak_day,
                observed_peak_day,
                ratio,
                drifted: ratio.is_some_and(|r| (r - 1.0).abs() > DRIFT),
            }
        })
        .collect();
    let systems = environment
        .systems
        .iter()
        .zip(&observation.systems)
        .map(|(declared, seen)| {
            let declared_per_minute = declared.rate.items_per_minute();
            let ratio = seen
                .accepted_when_throttled
                .map(|accepted| accepted / declared_per_minute);
            SystemDrift {
                system: declared.name.clone(),
                declared_per_minute,
                accepted_per_minute: seen.accepted_when_throttled,
                ratio,
                drifted: ratio.is_some_and(|r| r < 1.0 - DRIFT),
            }
        })
        .collect();
    Drifts {
        integrations,
        systems,
    }
}

/// `environment` declaring what `observation` saw: each integration with a
/// whole day observed gets its mean a day as `volume` and its peak day over
/// that as `peak_factor` (at least 1: a peak below the mean is no peak);
/// each system that said slow down in enough minutes, what it accepted
/// then as its rate, when that is below the declared one. The rest keep
/// what the file says.
pub fn as_observed(environment: &Environment, observation: &Observation) -> Environment {
    let mut observed = environment.clone();
    for (integration, seen) in observed
        .integrations
        .iter_mut()
        .zip(&observation.integrations)
    {
        if let Some(mean) = seen.changes_per_day {
            integration.volume_per_day = mean;
            integration.peak_factor = seen.peak_factor.unwrap_or(1.0).max(1.0);
        }
    }
    for (system, seen) in observed.systems.iter_mut().zip(&observation.systems) {
        if let Some(accepted) = seen.accepted_when_throttled
            && accepted >= 1.0
            && accepted < system.rate.items_per_minute()
        {
            system.rate = crate::Rate::per_minute(accepted.floor());
        }
    }
    observed
}

/// The stretch from `from` to `to` cut at the zone's hours: a moment in
/// each piece and the share of the stretch it is. An empty stretch is one
/// piece, whole, at `to`.
fn spread(zone: &TimeZone, from: Timestamp, to: Timestamp) -> Vec<(Timestamp, f64)> {
    let whole = to.duration_since(from).as_secs_f64();
    if whole <= 0.0 {
        return vec![(to, 1.0)];
    }
    let mut pieces = Vec::new();
    let mut at = from;
    while at < to {
        let next_hour = at
            .to_zoned(zone.clone())
            .start_of_day()
            .ok()
            .and_then(|day| {
                let hours = at.duration_since(day.timestamp()).as_hours() + 1;
                day.timestamp()
                    .checked_add(jiff::SignedDuration::from_hours(hours))
                    .ok()
            })
            .unwrap_or(to);
        let end = next_hour
            .min(to)
            .max(at + jiff::SignedDuration::from_millis(1));
        pieces.push((at, end.duration_since(at).as_secs_f64() / whole));
        at = end;
    }
    pieces
}

/// A time or date as jiff writes it (ISO 8601), which JSON Schema's
/// `String` above describes.
fn as_text<S: serde::Serializer>(value: &impl std::fmt::Display, to: S) -> Result<S::Ok, S::Error> {
    to.collect_str(value)
}

fn job_observed(job: &str, ran: &[Ran]) -> JobObserved {
    let started: Vec<(&Ran, Timestamp)> = ran
        .iter()
        .filter(|r| r.job == job)
        .filter_map(|r| Some((r, r.started_at?)))
        .collect();
    let seconds = |from: Timestamp, to: Timestamp| to.duration_since(from).as_secs_f64().max(0.0);
    JobObserved {
        job: job.to_string(),
        executions: started.len() as u64,
        items: Quantiles::of(started.iter().map(|(r, _)| r.items as f64).collect()),
        duration_s: Quantiles::of(
            started
                .iter()
                .filter_map(|(r, at)| Some(seconds(*at, r.finished_at?)))
                .collect(),
        ),
        wait_s: Quantiles::of(
            started
                .iter()
                .map(|(r, at)| seconds(r.due_at, *at))
                .collect(),
        ),
    }
}

/// The local dates whose whole day lies from `from` to `until`.
fn whole_days(zone: &TimeZone, from: Timestamp, until: Timestamp) -> Vec<Date> {
    let start_of = |date: Date| date.to_zoned(zone.clone()).ok().map(|z| z.timestamp());
    let mut date = from.to_zoned(zone.clone()).date();
    if start_of(date).is_some_and(|start| start < from) {
        date = date.tomorrow().unwrap_or(date);
    }
    let mut days = Vec::new();
    while let (Some(start), Some(next)) = (start_of(date), date.checked_add(1.day()).ok()) {
        match start_of(next) {
            Some(end) if start >= from && end <= until => days.push(date),
            _ => break,
        }
        date = next;
    }
    days
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{ActiveHours, Integration, JobOptions, Rate, System};

    fn environment() -> Environment {
        Environment {
            name: "t".into(),
            capacity: 2,
            systems: vec![
                System {
                    name: "erp".into(),
                    rate: Rate::per_minute(100.0),
                },
                System {
                    name: "shop".into(),
                    rate: Rate::per_minute(500.0),
                },
            ],
            integrations: vec![Integration {
                name: "prices".into(),
                from: "erp".into(),
                to: "shop".into(),
                volume_per_day: 1000.0,
                peak_factor: 1.0,
                freshness_minutes: None,
                active_hours: ActiveHours::ALL_DAY,
                pull: JobOptions::default(),
                push: JobOptions::default(),
            }],
        }
    }

    fn at(text: &str) -> Timestamp {
        let zone = TimeZone::get("Europe/Amsterdam").unwrap();
        text.parse::<jiff::civil::DateTime>()
            .unwrap()
            .to_zoned(zone)
            .unwrap()
            .timestamp()
    }

    fn pull(started: &str, items: u64) -> Ran {
        let started = at(started);
        Ran {
            job: "prices.pull".into(),
            due_at: started - 2.seconds(),
            started_at: Some(started),
            finished_at: Some(started + 10.seconds()),
            items,
        }
    }

    #[test]
    fn only_whole_local_days_count() {
        let zone = TimeZone::get("Europe/Amsterdam").unwrap();
        let days = whole_days(&zone, at("2026-03-02T14:00"), at("2026-03-05T00:00"));
        let dates: Vec<String> = days.iter().map(ToString::to_string).collect();
        assert_eq!(dates, ["2026-03-03", "2026-03-04"]);
        // The day the clock moves has 23 hours and is whole all the same.
        let days = whole_days(&zone, at("2026-03-29T00:00"), at("2026-03-30T00:00"));
        assert_eq!(days.len(), 1);
        assert!(whole_days(&zone, at("2026-03-02T00:00"), at("2026-03-02T23:59")).is_empty());
    }

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-6
    }

    #[test]
    fn a_pull_counts_its_changes_since_the_pull_before() {
        let zone = TimeZone::get("Europe/Amsterdam").unwrap();
        let ran = [
            pull("2026-03-03T00:00", 0),
            // 800 over 00:00-08:00: 100 in each of those hours.
            pull("2026-03-03T08:00", 800),
            pull("2026-03-03T09:00", 400),
            pull("2026-03-04T00:00", 0),
            // 1700 over 00:00-08:30: 200 an hour, 100 in the half hour.
            pull("2026-03-04T08:30", 1700),
        ];
        let seen = observe(
            &environment(),
            &zone,
            at("2026-03-02T12:00"),
            at("2026-03-05T00:00"),
            &ran,
            &[],
        );
        assert_eq!(seen.whole_days, 2);
        let prices = &seen.integrations[0];
        assert_eq!(prices.changes, 2900);
        assert_eq!(prices.changes_per_day, Some(1450.0));
        assert_eq!(
            prices.peak_day,
            Some(PeakDay {
                date: jiff::civil::date(2026, 3, 4),
                changes: 1700
            })
        );
        assert!(close(prices.peak_factor.unwrap(), 1700.0 / 1450.0));
        let profile = prices.profile.as_ref().unwrap();
        for hour in 0..8 {
            assert!(close(profile[hour], 300.0 * 24.0 / 2900.0), "{profile:?}");
        }
        assert!(close(profile[8], 500.0 * 24.0 / 2900.0), "{profile:?}");
        assert!(close(profile.iter().sum::<f64>(), 24.0));
        assert_eq!(prices.pull.executions, 5);
        assert_eq!(prices.pull.items.p50, 400.0);
        assert_eq!(prices.pull.items.p95, 1700.0);
        assert_eq!(prices.pull.duration_s.p50, 10.0);
        assert_eq!(prices.pull.wait_s.p95, 2.0);
        assert_eq!(prices.push.executions, 0);

        let planned = as_observed(&environment(), &seen);
        assert_eq!(planned.integrations[0].volume_per_day, 1450.0);
        assert!(close(planned.integrations[0].peak_factor, 1700.0 / 1450.0));
    }

    #[test]
    fn the_first_pull_of_the_morning_reads_the_evening() {
        let zone = TimeZone::get("Europe/Amsterdam").unwrap();
        let mut office = environment();
        office.integrations[0].active_hours = ActiveHours::new(6, 22).unwrap();
        let ran = [
            pull("2026-03-03T21:30", 0),
            // 21:30-22:00 is active, the night is not: all 90 are evening's.
            pull("2026-03-04T06:00", 90),
        ];
        let seen = observe(
            &office,
            &zone,
            at("2026-03-03T00:00"),
            at("2026-03-05T00:00"),
            &ran,
            &[],
        );
        let profile = seen.integrations[0].profile.as_ref().unwrap();
        assert!(close(profile[21], 24.0), "{profile:?}");
    }

    #[test]
    fn a_system_that_says_slow_down_is_planned_at_what_it_accepted() {
        let zone = TimeZone::get("Europe/Amsterdam").unwrap();
        let minute = |n: i64, used: u64, throttled: u64, refused: u64| Took {
            system: "shop".into(),
            minute: at("2026-03-03T08:00") + (n * 60).seconds(),
            used,
            throttled,
            failed: 0,
            refused,
        };
        let mut took = vec![minute(0, 200, 0, 0), minute(1, 250, 0, 0)];
        let seen = observe(
            &environment(),
            &zone,
            at("2026-03-03T00:00"),
            at("2026-03-04T00:00"),
            &[],
            &took,
        );
        let shop = &seen.systems[1];
        assert_eq!(
            (shop.minutes, shop.busiest_minute, shop.minutes_throttled),
            (2, 250, 0)
        );
        assert_eq!(shop.accepted_when_throttled, None);
        // Two minutes that said slow down are not yet a rate; three are.
        took.extend([minute(2, 400, 1, 100), minute(3, 350, 1, 40)]);
        let seen = observe(
            &environment(),
            &zone,
            at("2026-03-03T00:00"),
            at("2026-03-04T00:00"),
            &[],
            &took,
        );
        assert_eq!(seen.systems[1].accepted_when_throttled, None);
        took.push(minute(4, 320, 2, 20));
        let seen = observe(
            &environment(),
            &zone,
            at("2026-03-03T00:00"),
            at("2026-03-04T00:00"),
            &[],
            &took,
        );
        let shop = &seen.systems[1];
        assert_eq!((shop.minutes_throttled, shop.throttled), (3, 4));
        assert_eq!(shop.accepted_when_throttled, Some(300.0));
        assert_eq!(seen.systems[0].minutes, 0);
        let planned = as_observed(&environment(), &seen);
        assert_eq!(planned.systems[1].rate.items_per_minute(), 300.0);
        assert_eq!(planned.systems[0].rate.items_per_minute(), 100.0);
    }

    #[test]
    fn drift_is_a_quarter_away_from_what_was_declared() {
        let zone = TimeZone::get("Europe/Amsterdam").unwrap();
        let day = |volume: u64| {
            observe(
                &environment(),
                &zone,
                at("2026-03-03T00:00"),
                at("2026-03-04T00:00"),
                &[
                    pull("2026-03-03T00:00", 0),
                    pull("2026-03-03T12:00", volume),
                ],
                &[],
            )
        };
        let ratio = |volume| drifts(&environment(), &day(volume)).integrations[0].clone();
        assert!(!ratio(1_250).drifted && ratio(1_250).ratio == Some(1.25));
        assert!(ratio(1_260).drifted);
        assert!(!ratio(750).drifted && ratio(740).drifted);
        let quiet = drifts(&environment(), &day(0));
        assert_eq!(quiet.integrations[0].ratio, Some(0.0));
        assert_eq!(quiet.systems[1].ratio, None);
        assert!(!quiet.systems[1].drifted);
    }

    #[test]
    fn a_stretch_is_cut_at_the_hours() {
        let zone = TimeZone::get("Europe/Amsterdam").unwrap();
        let pieces = spread(&zone, at("2026-03-03T07:30"), at("2026-03-03T09:00"));
        let shares: Vec<f64> = pieces.iter().map(|(_, s)| *s).collect();
        assert!(
            close(shares[0], 1.0 / 3.0) && close(shares[1], 2.0 / 3.0),
            "{shares:?}"
        );
        assert_eq!(pieces[1].0, at("2026-03-03T08:00"));
        // Across the hour the clock skips: 01:30 to 03:30 is one real hour.
        let pieces = spread(&zone, at("2026-03-29T01:30"), at("2026-03-29T03:30"));
        let shares: Vec<f64> = pieces.iter().map(|(_, s)| *s).collect();
        assert!(close(shares[0], 0.5) && close(shares[1], 0.5), "{shares:?}");
        assert_eq!(
            spread(&zone, at("2026-03-03T07:30"), at("2026-03-03T07:30")).len(),
            1
        );
    }

    #[test]
    fn a_day_pacer_did_not_run_is_not_a_quiet_day() {
        let zone = TimeZone::get("Europe/Amsterdam").unwrap();
        let ran = [pull("2026-03-04T08:00", 600)];
        let seen = observe(
            &environment(),
            &zone,
            at("2026-03-01T00:00"),
            at("2026-03-06T00:00"),
            &ran,
            &[],
        );
        assert_eq!(seen.whole_days, 1);
        assert_eq!(seen.integrations[0].changes_per_day, Some(600.0));
    }

    #[test]
    fn a_window_without_a_whole_day_declares_nothing() {
        let zone = TimeZone::get("Europe/Amsterdam").unwrap();
        let ran = [pull("2026-03-02T13:00", 50)];
        let seen = observe(
            &environment(),
            &zone,
            at("2026-03-02T12:00"),
            at("2026-03-02T18:00"),
            &ran,
            &[],
        );
        let prices = &seen.integrations[0];
        assert_eq!(
            (prices.changes_per_day, prices.peak_day.as_ref()),
            (None, None)
        );
        assert_eq!(prices.profile, None);
        // The job's own figures need no whole day.
        assert_eq!(prices.pull.executions, 1);
        let planned = as_observed(&environment(), &seen);
        assert_eq!(planned.integrations[0].volume_per_day, 1000.0);
    }
}
