//! Rate limits: each system's (and a job's own) items per minute, counted in
//! minute windows in the store so every node on it shares one budget.

use std::{
    collections::{BTreeMap, HashMap},
    sync::{
        Arc, Mutex,
        atomic::{AtomicI64, Ordering},
    },
};

use jiff::{SignedDuration, Timestamp};
use pacer_store::Store;

use crate::{Error, clock::Clock};

#[derive(Debug)]
struct Budget {
    per_minute: u32,
    /// Set when the system answered 429: nobody asks it before then.
    blocked_until_ms: AtomicI64,
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
        }
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
        self.waits.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Sleeps until `until`, counted as a wait for `name`'s budget.
    async fn wait(&self, name: &str, now: Timestamp, until: Timestamp) {
        {
            let mut waits = self.waits.lock().unwrap_or_else(|e| e.into_inner());
            let (n, seconds) = waits.entry(name.to_string()).or_default();
            *n += 1;
            *seconds += until.duration_since(now).as_secs_f64().max(0.0);
        }
        self.clock.sleep_until(until).await;
    }

    /// Waits until every named budget grants part of `want`; returns the
    /// smallest grant (at least 1), or `None` once `give_up` says so.
    pub(crate) async fn take(
        &self,
        names: &[&str],
        want: u32,
        give_up: &(dyn Fn() -> bool + Send + Sync),
    ) -> Result<Option<u32>, Error> {
        if !self.enforce {
            return Ok(Some(want));
        }
        let mut want = want.max(1);
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
            let window = now_ms.div_euclid(60_000) * 60_000;
            for name in names {
                let Some(budget) = self.budgets.get(*name) else {
                    continue;
                };
                // What an earlier budget granted but a later one refuses is
                // lost for this window; narrow budgets come last, so rarely.
                let granted = self
                    .store
                    .take_rate(name, window, want, budget.per_minute)
                    .await?;
                if granted == 0 {
                    let next = Timestamp::from_millisecond(window).unwrap_or(now)
                        + SignedDuration::from_mins(1);
                    self.wait(name, now, next).await;
                    continue 'wait;
                }
                want = want.min(granted);
            }
            return Ok(Some(want));
        }
    }

    /// A system said 429: nobody on this node asks it before `until_ms`.
    pub(crate) fn throttle(&self, name: &str, until_ms: i64) {
        if let Some(budget) = self.budgets.get(name) {
            budget
                .blocked_until_ms
                .fetch_max(until_ms, Ordering::SeqCst);
        }
    }
}
