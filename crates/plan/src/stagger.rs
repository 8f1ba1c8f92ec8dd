//! Choosing offsets for all jobs together so the environment's peak load stays low.
//!
//! The load is counted on the planner's grid: 1,440 wall-clock minutes, each
//! holding the number of executions running in it. A start at minute `m` of a
//! job that takes `d` minutes occupies `m .. m + d`, wrapping into the next day
//! because schedules repeat daily.
//!
//! Each system's rate is a second budget, shared by every job that reads
//! from it or writes to it: a placement that would ask a system for more
//! items in a minute than its rate is worse than any that does not, so jobs
//! sharing a system take minutes of their own where the day has room.
//!
//! Greedy first (the heaviest jobs choose first, each taking the offset that
//! asks its system for more than its rate in the fewest minutes, then whose
//! busiest minute is least busy), then local search: jobs above their
//! system's rate or on the peak minute move to their best offset while that
//! lowers those minutes, the peak, or the number of minutes at it. Both are
//! deterministic: ties go to the smaller offset and the name. Small
//! environments (16 jobs or fewer, a billion combinations or fewer) are then
//! searched exactly for a lower peak, within a bounded amount of work.

use crate::{model::ActiveHours, systems::SystemMinutes};

pub(crate) const DAY: usize = 1440;

/// A job whose offset the planner chooses.
#[derive(Clone, Debug)]
pub(crate) struct Movable {
    pub(crate) interval: u32,
    pub(crate) duration: u32,
    pub(crate) hours: ActiveHours,
    /// The system it reads from or writes to.
    pub(crate) system: usize,
    /// Items a minute it asks of that system while it runs.
    pub(crate) usage: f64,
}

/// How bad a placement is, worst part first: minutes it would put its
/// system above its rate, then the busiest minute it would see, then the
/// load it would share.
type Cost = (u32, u32, u64);

/// How many offsets a job can take without losing a run: every minute of its
/// interval, except that an hour step must start early enough in the active
/// hours to fit as many runs as from the first hour.
pub(crate) fn offsets(interval: u32, hours: ActiveHours) -> u32 {
    if interval <= 60 {
        interval
    } else {
        let step = interval / 60;
        ((hours.hours() - 1) % step + 1) * 60
    }
}

/// The start minutes (0..1440) of a job with this interval and offset within
/// its active hours: exactly the minutes its cron schedule fires at.
pub(crate) fn starts(interval: u32, offset: u32, hours: ActiveHours) -> Vec<u16> {
    let mut starts = Vec::new();
    if interval <= 60 {
        for hour in (0..24).filter(|&h| hours.contains(h)) {
            let mut minute = offset;
            while minute < 60 {
                starts.push((hour * 60 + minute) as u16);
                minute += interval;
            }
        }
    } else {
        let step = interval / 60;
        let (hour_offset, minute) = (offset / 60, offset % 60);
        let mut k = hour_offset;
        while k < hours.hours() {
            let hour = (hours.start() + k) % 24;
            starts.push((hour * 60 + minute) as u16);
            k += step;
        }
        starts.sort_unstable();
    }
    starts
}

/// Adds (`delta = 1`) or removes (`-1`) the occupancy of `starts` to `load`.
pub(crate) fn apply(load: &mut [u32], starts: &[u16], duration: u32, delta: i32) {
    for &start in starts {
        for j in 0..duration as usize {
            let m = (start as usize + j) % DAY;
            load[m] = load[m].wrapping_add_signed(delta);
        }
    }
}

/// What adding the job at `starts` would cost, given the loads without it.
fn cost(load: &[u32], systems: &SystemMinutes, job: &Movable, starts: &[u16]) -> Cost {
    let mut over = 0;
    let mut busiest = 0;
    let mut total = 0u64;
    for &start in starts {
        for j in 0..job.duration as usize {
            let m = (start as usize + j) % DAY;
            let l = load[m];
            busiest = busiest.max(l);
            total += u64::from(l);
            over += u32::from(systems.would_exceed(job.system, m, job.usage));
        }
    }
    (over, busiest + 1, total)
}

/// The best offset for `job` given the loads (which must not include it).
fn best_offset(load: &[u32], systems: &SystemMinutes, job: &Movable) -> (u32, Cost) {
    let mut best = (0, (u32::MAX, u32::MAX, u64::MAX));
    for offset in 0..offsets(job.interval, job.hours) {
        let c = cost(load, systems, job, &starts(job.interval, offset, job.hours));
        if c < best.1 {
            best = (offset, c);
        }
    }
    best
}

/// Places `job` at `offset` (`sign = 1`) or takes it away (`-1`).
fn place(load: &mut [u32], systems: &mut SystemMinutes, job: &Movable, offset: u32, sign: i32) {
    let starts = starts(job.interval, offset, job.hours);
    apply(load, &starts, job.duration, sign);
    systems.apply(
        job.system,
        &starts,
        job.duration,
        job.usage * f64::from(sign),
    );
}

/// Offsets for `jobs`, on top of the fixed load `base` and `systems` (jobs
/// with explicit schedules), in the order given; `order` says in which
/// order they choose. `systems` ends holding every job's items.
pub(crate) fn stagger(
    jobs: &[Movable],
    base: &[u32],
    systems: &mut SystemMinutes,
    order: &[usize],
) -> (Vec<u32>, Vec<u32>) {
    let mut load = base.to_vec();
    let mut offsets = vec![0; jobs.len()];
    for &i in order {
        let (offset, _) = best_offset(&load, systems, &jobs[i]);
        offsets[i] = offset;
        place(&mut load, systems, &jobs[i], offset, 1);
    }
    improve(jobs, &mut offsets, &mut load, systems, order);
    exact(jobs, &mut offsets, &mut load, base, systems, order);
    (offsets, load)
}

/// At most this many jobs are searched exactly…
const EXACT_JOBS: usize = 16;
/// …with at most this many combinations of offsets…
const EXACT_COMBINATIONS: f64 = 1e9;
/// …and at most this many minutes laid down in the search, about 50 ms.
const EXACT_WORK: u64 = 30_000_000;

/// Small environments are solved exactly: while the peak is above the
/// fixed load, a depth-first search looks for offsets with a peak one
/// lower that ask no system for more than its rate, and takes them into
/// `chosen` (each job's offset). The work is bounded, so a search that runs
/// out keeps what it has.
fn exact(
    jobs: &[Movable],
    chosen: &mut [u32],
    load: &mut [u32],
    base: &[u32],
    systems: &mut SystemMinutes,
    order: &[usize],
) {
    let combinations: f64 = jobs
        .iter()
        .map(|j| f64::from(offsets(j.interval, j.hours)))
        .product();
    if jobs.is_empty() || jobs.len() > EXACT_JOBS || combinations > EXACT_COMBINATIONS {
        return;
    }
    if jobs
        .iter()
        .any(|j| (0..DAY).any(|m| systems.would_exceed(j.system, m, 0.0)))
    {
        return;
    }
    let floor = base.iter().copied().max().unwrap_or(0).max(1);
    let mut work = EXACT_WORK;
    // The search starts from the fixed jobs alone.
    for (i, job) in jobs.iter().enumerate() {
        place(load, systems, job, chosen[i], -1);
    }
    let mut best = chosen.to_vec();
    let mut target = peak_with(base, jobs, &best);
    while target > floor {
        let mut search = Search {
            jobs,
            order,
            target: target - 1,
            load: &mut *load,
            systems: &mut *systems,
            trial: vec![0; jobs.len()],
            work: &mut work,
        };
        if !search.from(0) {
            break;
        }
        best = search.trial;
        target -= 1;
    }
    for (i, job) in jobs.iter().enumerate() {
        place(load, systems, job, best[i], 1);
    }
    chosen.copy_from_slice(&best);
}

/// The peak of `base` with every job at its offset.
fn peak_with(base: &[u32], jobs: &[Movable], offsets: &[u32]) -> u32 {
    let mut load = base.to_vec();
    for (job, &offset) in jobs.iter().zip(offsets) {
        apply(
            &mut load,
            &starts(job.interval, offset, job.hours),
            job.duration,
            1,
        );
    }
    load.iter().copied().max().unwrap_or(0)
}

/// A depth-first search for offsets that keep every minute at or below
/// `target` and every system within its rate, on top of `load`.
struct Search<'a> {
    jobs: &'a [Movable],
    order: &'a [usize],
    target: u32,
    load: &'a mut [u32],
    systems: &'a mut SystemMinutes,
    /// The offsets being tried; the answer once `from(0)` is true.
    trial: Vec<u32>,
    /// Minutes it may still lay down.
    work: &'a mut u64,
}

impl Search<'_> {
    /// Offsets for `order[depth..]`; false when there are none, or the work
    /// ran out.
    fn from(&mut self, depth: usize) -> bool {
        let Some(&i) = self.order.get(depth) else {
            return true;
        };
        let job = &self.jobs[i];
        for offset in 0..offsets(job.interval, job.hours) {
            let starts = starts(job.interval, offset, job.hours);
            let cost = starts.len() as u64 * u64::from(job.duration);
            if *self.work < cost {
                return false;
            }
            *self.work -= cost;
            let fits = starts.iter().all(|&s| {
                (0..job.duration as usize).all(|j| {
                    let m = (s as usize + j) % DAY;
                    self.load[m] < self.target
                        && !self.systems.would_exceed(job.system, m, job.usage)
                })
            });
            if !fits {
                continue;
            }
            place(self.load, self.systems, job, offset, 1);
            self.trial[i] = offset;
            let found = self.from(depth + 1);
            place(self.load, self.systems, job, offset, -1);
            if found {
                return true;
            }
            if *self.work == 0 {
                return false;
            }
        }
        false
    }
}

/// Local search: move jobs that are above their system's rate or on the
/// peak while that lowers the minutes above the rate, the peak, or the
/// number of minutes at it.
fn improve(
    jobs: &[Movable],
    offsets: &mut [u32],
    load: &mut [u32],
    systems: &mut SystemMinutes,
    order: &[usize],
) {
    // A move changes only its own system's minutes, so that system's count
    // is the whole of the rate part of the score.
    let score = |load: &[u32], systems: &SystemMinutes, system: usize| {
        let peak = load.iter().copied().max().unwrap_or(0);
        let at_peak = load.iter().filter(|&&l| l == peak).count();
        (systems.minutes_over(system), peak, at_peak)
    };
    // Each pass costs about as much as the greedy; a few suffice in practice.
    for _ in 0..8 {
        let mut improved = false;
        for &i in order {
            let job = &jobs[i];
            let peak = load.iter().copied().max().unwrap_or(0);
            let current = starts(job.interval, offsets[i], job.hours);
            let stuck = current.iter().any(|&s| {
                (0..job.duration as usize).any(|j| {
                    let m = (s as usize + j) % DAY;
                    load[m] == peak || systems.would_exceed(job.system, m, 0.0)
                })
            });
            if !stuck {
                continue;
            }
            let before = score(load, systems, job.system);
            place(load, systems, job, offsets[i], -1);
            let (offset, _) = best_offset(load, systems, job);
            place(load, systems, job, offset, 1);
            if score(load, systems, job.system) < before {
                offsets[i] = offset;
                improved = true;
            } else {
                place(load, systems, job, offset, -1);
                place(load, systems, job, offsets[i], 1);
            }
        }
        if !improved {
            break;
        }
    }
}

#[cfg(test)]
mod tests {
    use pacer_cron::Schedule;

    use super::*;
    use crate::sizing::schedule;

    /// `starts` and the cron expression `schedule` writes are the same minutes.
    #[test]
    fn starts_are_the_schedules_fires() {
        let windows = [
            ActiveHours::ALL_DAY,
            ActiveHours::new(6, 22).unwrap(),
            ActiveHours::new(22, 6).unwrap(),
            ActiveHours::new(9, 10).unwrap(),
        ];
        for hours in windows {
            for interval in [
                1, 2, 3, 4, 5, 6, 10, 12, 15, 20, 30, 60, 120, 180, 240, 360, 480, 720,
            ] {
                if interval > 60 && interval / 60 >= hours.hours() {
                    continue;
                }
                for offset in (0..offsets(interval, hours)).step_by(7) {
                    let expr = schedule(interval, offset, hours);
                    let fires: Vec<u16> = Schedule::parse(&expr)
                        .unwrap()
                        .times_of_day()
                        .iter()
                        .map(|m| m as u16)
                        .collect();
                    assert_eq!(
                        starts(interval, offset, hours),
                        fires,
                        "{expr} for {hours:?}"
                    );
                    // No offset loses a run.
                    assert_eq!(fires.len(), starts(interval, 0, hours).len(), "{expr}");
                }
            }
        }
    }

    #[test]
    fn the_guides_three_jobs_every_three_minutes_get_three_offsets() {
        let job = Movable {
            interval: 3,
            duration: 1,
            hours: ActiveHours::ALL_DAY,
            system: 0,
            usage: 100.0,
        };
        let jobs = vec![job.clone(), job.clone(), job];
        let mut systems = SystemMinutes::new(vec![100.0]);
        let (offsets, load) = stagger(&jobs, &[0; DAY], &mut systems, &[0, 1, 2]);
        assert_eq!(offsets, [0, 1, 2]);
        assert!(load.iter().all(|&l| l == 1));
    }
}
