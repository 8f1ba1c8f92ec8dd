//! Rate limits: each system's (and a job's own) items per minute, counted in
//! minute windows in the store so every node on it shares one budget.

use std::{
    collections::{BTreeMap, HashMap},
    sync::{
        Arc, Mutex,
        atomic::{AtomicI64, Ordering},
    },
};

use jiff::Timestamp;
use pacer_store::{Minute, RateRequest, Store};

use crate::{Error, clock::Clock, lock::Locked};

#[derive(Debug)]
struct Budget {
    per_minute: u32,
    /// Set when the system answered 429: nobody asks it before then (Unix
    /// ms, as an atomic holds it).
    blocked_until_ms: AtomicI64,
}

/// What a take granted: items, and the minute window they count in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Grant {
    pub(crate) items: u32,
    pub(crate) window: Minute,
}

/// The rate budgets of every system and of the jobs that set their own.
#[derive(Debug)]
pub(crate) struct Limits {
    store: Arc<Store>,
    clock: Arc<dyn Clock>,
    budgets: HashMap<String, Budget>,
    enforce: bool,
    /// Waits so far by budget: how many, and their seconds in all.
    waits: Mutex<BTreeMap<String, (u64, f64)>>,
    shares: Shares,
}

/// How jobs that take from one budget share it within a minute: each is
/// owed an even part (at least 1) while it has an execution under way,
/// and what a job is owed but has not taken is kept from the others; an
/// idle job is owed nothing, so a busy one may take it all.
#[derive(Debug, Default)]
struct Shares {
    /// Budget name → the jobs that take from it.
    members: HashMap<String, Vec<String>>,
    /// Jobs with an execution under way on this node, and how many.
    active: Arc<Mutex<HashMap<String, usize>>>,
    /// (job, budget, window) → what the job holds of that window.
    held: Mutex<HashMap<(String, String, Minute), u32>>,
}

/// A job's execution under way: its share is owed to it until dropped.
pub(crate) struct Active {
    active: Arc<Mutex<HashMap<String, usize>>>,
    job: String,
}

impl Drop for Active {
    fn drop(&mut self) {
        let mut active = self.active.locked();
        if let Some(n) = active.get_mut(&self.job) {
            *n -= 1;
            if *n == 0 {
                active.remove(&self.job);
            }
        }
    }
}

impl Limits {
    /// `budgets`: name → items per minute. With `enforce` false (throughput
    /// measurements) every request gets what it asks for.
    pub(crate) fn new(
        store: Arc<Store>,
        clock: Arc<dyn Clock>,
        budgets: impl IntoIterator<Item = (String, f64)>,
        enforce: bool,
    ) -> Limits {
        let budgets = budgets
            .into_iter()
            .map(|(name, rate)| {
                let budget = Budget {
                    per_minute: (rate.floor() as u32).max(1),
                    blocked_until_ms: AtomicI64::new(i64::MIN),
                };
                (name, budget)
            })
            .collect();
        Limits {
            store,
            clock,
            budgets,
            enforce,
            waits: Mutex::default(),
            shares: Shares::default(),
        }
    }

    /// Records that `job` takes from each of `names`.
    pub(crate) fn share(&mut self, job: &str, names: &[String]) {
        for name in names {
            self.shares
                .members
                .entry(name.clone())
                .or_default()
                .push(job.to_string());
        }
    }

    /// Marks `job` as under way until the guard is dropped.
    pub(crate) fn active(&self, job: &str) -> Active {
        *self
            .shares
            .active
            .locked()
            .entry(job.to_string())
            .or_default() += 1;
        Active {
            active: self.shares.active.clone(),
            job: job.to_string(),
        }
    }

    /// The most `job` may take of `name`'s `window` now: the budget less
    /// what the other jobs under way are owed and have not taken. While
    /// another is under way, no more than a share at a time: a job that
    /// comes a moment later in the minute finds its share still there.
    fn cap(&self, job: &str, name: &str, window: Minute, per_minute: u32) -> u32 {
        let Some(members) = self.shares.members.get(name).filter(|m| m.len() > 1) else {
            return per_minute;
        };
        let share = (per_minute / members.len() as u32).max(1);
        let active = self.shares.active.locked();
        let held = self.shares.held.locked();
        let others: Vec<&String> = members
            .iter()
            .filter(|k| *k != job && active.contains_key(*k))
            .collect();
        let taken = |k: &str| {
            held.get(&(k.to_string(), name.to_string(), window))
                .copied()
                .unwrap_or(0)
        };
        let owed: u32 = others.iter().map(|k| share.saturating_sub(taken(k))).sum();
        let left = per_minute.saturating_sub(owed).saturating_sub(taken(job));
        if others.is_empty() {
            left
        } else {
            left.min(share)
        }
    }

    /// Adds `delta` (negative: gives back) to what `job` holds of `name`'s window.
    fn hold(&self, job: &str, name: &str, window: Minute, delta: i64) {
        let mut held = self.shares.held.locked();
        // Windows more than two minutes old matter to nobody.
        held.retain(|(_, _, w), _| *w >= window - 2);
        let entry = held
            .entry((job.to_string(), name.to_string(), window))
            .or_default();
        *entry = (i64::from(*entry) + delta).clamp(0, i64::from(u32::MAX)) as u32;
    }

    /// The most a job can always get of every one of `names` in a minute:
    /// its share of the narrowest. A page that must keep its size is no
    /// larger, so it always fits.
    pub(crate) fn fair_grant(&self, names: &[&str]) -> u32 {
        names
            .iter()
            .filter_map(|name| {
                let budget = self.budgets.get(*name)?;
                let members = self.shares.members.get(*name).map_or(1, Vec::len).max(1);
                Some((budget.per_minute / members as u32).max(1))
            })
            .min()
            .unwrap_or(u32::MAX)
    }

    /// Each budget's items per minute, by name.
    pub(crate) fn per_minute(&self) -> BTreeMap<String, u32> {
        self.budgets
            .iter()
            .map(|(name, b)| (name.clone(), b.per_minute))
            .collect()
    }

    /// Waits so far by budget: how many, and their seconds in all.
    pub(crate) fn waits(&self) -> BTreeMap<String, (u64, f64)> {
        self.waits.locked().clone()
    }

    /// Sleeps until `until`, counted as a wait for `name`'s budget.
    async fn wait(&self, name: &str, now: Timestamp, until: Timestamp) {
        {
            let mut waits = self.waits.locked();
            let (n, seconds) = waits.entry(name.to_string()).or_default();
            *n += 1;
            *seconds += until.duration_since(now).as_secs_f64().max(0.0);
        }
        self.clock.sleep_until(until).await;
    }

    /// The most any one take from all of `names` can grant: the narrowest
    /// budget's per-minute rate.
    pub(crate) fn widest_grant(&self, names: &[&str]) -> u32 {
        names
            .iter()
            .filter_map(|name| self.budgets.get(*name))
            .map(|b| b.per_minute)
            .min()
            .unwrap_or(u32::MAX)
    }

    /// Waits until every named budget grants part of `want` — all of it
    /// when `exact` (a page-numbered page must keep its size) — and returns
    /// the smallest grant (at least 1) with its window, or `None` once
    /// `give_up` says so. What a wider budget granted beyond the smallest
    /// goes back at once; what the caller does not use goes back with
    /// [`give_back`](Limits::give_back).
    pub(crate) async fn take(
        &self,
        job: &str,
        names: &[&str],
        want: u32,
        exact: bool,
        give_up: &(dyn Fn() -> bool + Send + Sync),
    ) -> Result<Option<Grant>, Error> {
        if !self.enforce {
            return Ok(Some(Grant {
                items: want,
                window: Minute::containing(self.clock.now()),
            }));
        }
        // An exact take can never be more than the job's share holds.
        let want = want.max(1).min(if exact {
            self.fair_grant(names)
        } else {
            self.widest_grant(names)
        });
        let mut asked_again = false;
        'wait: loop {
            if give_up() {
                return Ok(None);
            }
            let now = self.clock.now();
            let now_ms = now.as_millisecond();
            for name in names {
                let Some(budget) = self.budgets.get(*name) else {
                    continue;
                };
                let blocked = budget.blocked_until_ms.load(Ordering::SeqCst);
                if blocked > now_ms {
                    let until = Timestamp::from_millisecond(blocked).unwrap_or(now);
                    self.wait(name, now, until).await;
                    continue 'wait;
                }
            }
            let window = Minute::containing(now);
            let mut grants: Vec<(&str, u32)> = Vec::new();
            let mut short = None;
            for name in names {
                let Some(budget) = self.budgets.get(*name) else {
                    continue;
                };
                let ask = want.min(self.cap(job, name, window, budget.per_minute));
                let granted = if ask == 0 {
                    0
                } else {
                    self.store
                        .take_rate(&RateRequest {
                            system: name,
                            window,
                            want: ask,
                            limit: budget.per_minute,
                        })
                        .await?
                };
                grants.push((name, granted));
                if granted == 0 || (exact && granted < want) {
                    short = Some(*name);
                    break;
                }
            }
            let smallest = grants.iter().map(|g| g.1).min().unwrap_or(want);
            // Each budget keeps only what every one of them granted; on a
            // refusal, nothing.
            let keep = if short.is_some() { 0 } else { smallest };
            for (name, granted) in &grants {
                self.store
                    .give_back_rate(name, window, granted - keep)
                    .await?;
                self.hold(job, name, window, i64::from(keep));
            }
            if let Some(name) = short {
                self.wait(name, now, (window + 1).start()).await;
                continue 'wait;
            }
            // Taking can wait on the store (its one writer); a grant that
            // comes back after its window ended would land in the next one,
            // on top of that window's own budget. It is spent; ask again,
            // once: on a clock sped up until a minute passes faster than the
            // store answers, asking until a grant is on time never ends.
            if !asked_again && Minute::containing(self.clock.now()) > window {
                asked_again = true;
                continue 'wait;
            }
            return Ok(Some(Grant {
                items: keep,
                window,
            }));
        }
    }

    /// Gives back to each of `names` what `grant` held beyond `used`: a
    /// page that came back short, a batch with fewer tasks than granted.
    pub(crate) async fn give_back(
        &self,
        job: &str,
        names: &[&str],
        grant: Grant,
        used: u32,
    ) -> Result<(), Error> {
        let unused = grant.items.saturating_sub(used);
        // Nothing unused is the common case: a full page, a full batch.
        if !self.enforce || unused == 0 {
            return Ok(());
        }
        for name in names {
            if self.budgets.contains_key(*name) {
                self.store
                    .give_back_rate(name, grant.window, unused)
                    .await?;
                self.hold(job, name, grant.window, -i64::from(unused));
            }
        }
        Ok(())
    }

    /// Counts `used` units in each of `names`' current window, granted or
    /// not: work already done without asking (a lookup read while records
    /// were prepared), so the jobs that ask next find less.
    pub(crate) async fn charge(&self, job: &str, names: &[&str], used: u32) -> Result<(), Error> {
        if !self.enforce || used == 0 {
            return Ok(());
        }
        let window = Minute::containing(self.clock.now());
        for name in names {
            if self.budgets.contains_key(*name) {
                self.store
                    .take_rate(&RateRequest {
                        system: name,
                        window,
                        want: used,
                        limit: u32::MAX,
                    })
                    .await?;
                self.hold(job, name, window, i64::from(used));
            }
        }
        Ok(())
    }

    /// A system said 429: nobody on this node asks it before `until`.
    pub(crate) fn throttle(&self, name: &str, until: Timestamp) {
        if let Some(budget) = self.budgets.get(name) {
            budget
                .blocked_until_ms
                .fetch_max(until.as_millisecond(), Ordering::SeqCst);
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::AtomicI64;

    use pacer_store::StoreBuilder;

    use super::*;
    use crate::clock::BoxFuture;

    /// A clock that moves `step_ms` on every reading: time that passes
    /// while the store answers.
    #[derive(Debug)]
    struct Stepping {
        now_ms: AtomicI64,
        step_ms: i64,
    }

    impl Clock for Stepping {
        fn now(&self) -> Timestamp {
            let ms = self.now_ms.fetch_add(self.step_ms, Ordering::SeqCst);
            Timestamp::from_millisecond(ms).unwrap()
        }

        fn sleep_until(&self, _: Timestamp) -> BoxFuture<'_, ()> {
            Box::pin(async {})
        }

        fn spawn(&self, task: BoxFuture<'static, ()>) -> tokio::task::JoinHandle<()> {
            tokio::spawn(task)
        }
    }

    /// Takes 60 of the erp's 100/min on a clock that first reads `start_ms`.
    async fn take_60(
        test: &str,
        start_ms: i64,
        step_ms: i64,
    ) -> (Option<Grant>, Vec<(Minute, u64)>) {
        let path =
            std::env::temp_dir().join(format!("pacer-limit-{test}-{}.db", std::process::id()));
        let store = Arc::new(
            StoreBuilder::new(&format!("sqlite://{}", path.display()))
                .open()
                .await
                .unwrap(),
        );
        let clock = Arc::new(Stepping {
            now_ms: AtomicI64::new(start_ms),
            step_ms,
        });
        let limits = Limits::new(store.clone(), clock, [("erp".to_string(), 100.0)], true);
        // Bounded: a limiter that asked until a grant came on time would hang here.
        let take = limits.take("prices.pull", &["erp"], 60, false, &|| false);
        let granted = tokio::time::timeout(std::time::Duration::from_secs(10), take)
            .await
            .expect("take returns")
            .unwrap();
        let used = store
            .rate_usage(Minute::default())
            .await
            .unwrap()
            .into_iter()
            .map(|(_, window, used)| (window, used))
            .collect();
        for suffix in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
        }
        (granted, used)
    }

    #[tokio::test]
    async fn a_grant_that_comes_back_after_its_window_is_taken_again_from_the_next() {
        // Asked at 00:59.990, granted at 01:00.010: the request would land
        // in the second minute, so that minute pays for it.
        let (granted, used) = take_60("late", 59_990, 20).await;
        assert_eq!(granted.map(|g| g.items), Some(60));
        let first = Minute::default();
        assert_eq!(used, [(first, 60), (first + 1, 60)]);
    }

    #[tokio::test]
    async fn a_grant_in_time_is_taken_once() {
        let (granted, used) = take_60("on-time", 30_000, 20).await;
        assert_eq!(granted.map(|g| g.items), Some(60));
        assert_eq!(used, [(Minute::default(), 60)]);
    }

    #[tokio::test]
    async fn a_clock_faster_than_the_store_still_gets_a_grant() {
        // Every answer comes a minute late; asking once more is enough.
        let (granted, used) = take_60("fast", 0, 61_000).await;
        assert_eq!(granted.map(|g| g.items), Some(60));
        assert_eq!(used.len(), 2, "{used:?}");
    }
}
