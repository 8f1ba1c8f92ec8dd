//! Time as the engine sees it: real, sped up, or virtual.
//!
//! The virtual clock moves only when every task it knows of is asleep on it.
//! Tasks become known by being started with [`Clock::spawn`]; one that awaits
//! anything else (an HTTP answer, a database) holds time still until it
//! returns. So a whole day plays in the time its work takes, and no request
//! ever sees the clock jump while it is in flight.

use std::{
    collections::{BTreeMap, HashMap, HashSet},
    fmt,
    future::Future,
    pin::Pin,
    sync::{
        Arc, Mutex,
        atomic::{AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

use jiff::{SignedDuration, Timestamp};
use tokio::sync::oneshot;

use crate::lock::Locked;

/// A boxed future, as the clock takes and gives them.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Where the engine reads the time and waits for it.
pub trait Clock: Send + Sync + fmt::Debug + 'static {
    /// The current instant.
    fn now(&self) -> Timestamp;

    /// Waits until `at` (returns at once when it has passed).
    fn sleep_until(&self, at: Timestamp) -> BoxFuture<'_, ()>;

    /// Starts a task that this clock waits for before moving on.
    fn spawn(&self, task: BoxFuture<'static, ()>) -> tokio::task::JoinHandle<()>;

    /// Waits until `at`, or until `bell` rings after `seen` — the
    /// [`Bell::rung`] read before the caller last looked, so a ring in
    /// between is not missed.
    fn sleep_until_rung<'a>(
        &'a self,
        at: Timestamp,
        bell: &'a Bell,
        seen: u64,
    ) -> BoxFuture<'a, ()> {
        Box::pin(async move {
            let notified = bell.notify.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if bell.rung() != seen {
                return;
            }
            tokio::select! {
                () = self.sleep_until(at) => {}
                () = notified => {}
            }
        })
    }

    /// Ends every sleep waiting on `bell` now.
    fn ring(&self, bell: &Bell) {
        bell.count.fetch_add(1, Ordering::SeqCst);
        bell.notify.notify_waiters();
    }
}

/// What tasks asleep on a clock can be woken by before their instant:
/// rung through the clock, so a virtual clock holds still until they ran.
#[derive(Debug, Default)]
pub struct Bell {
    count: AtomicU64,
    notify: tokio::sync::Notify,
    /// The virtual clock's sleepers waiting on it.
    listeners: Mutex<HashSet<u64>>,
}

impl Bell {
    /// How often it rang: read before looking, handed to
    /// [`Clock::sleep_until_rung`].
    pub fn rung(&self) -> u64 {
        self.count.load(Ordering::SeqCst)
    }
}

/// The system clock.
#[derive(Clone, Copy, Debug, Default)]
pub struct RealClock;

impl Clock for RealClock {
    fn now(&self) -> Timestamp {
        Timestamp::now()
    }

    fn sleep_until(&self, at: Timestamp) -> BoxFuture<'_, ()> {
        let wait = at.duration_since(Timestamp::now());
        Box::pin(async move {
            if let Ok(wait) = Duration::try_from(wait) {
                tokio::time::sleep(wait).await;
            }
        })
    }

    fn spawn(&self, task: BoxFuture<'static, ()>) -> tokio::task::JoinHandle<()> {
        tokio::spawn(task)
    }
}

/// Schedule time running `speed` times faster than real time from `origin`:
/// with speed 60, a scheduled minute passes each real second.
#[derive(Clone, Copy, Debug)]
pub struct ScaledClock {
    origin: Timestamp,
    started: Instant,
    speed: f64,
}

impl ScaledClock {
    /// Starts at `origin`, now, running `speed` times real time.
    pub fn new(origin: Timestamp, speed: f64) -> ScaledClock {
        ScaledClock {
            origin,
            started: Instant::now(),
            speed: speed.max(f64::MIN_POSITIVE),
        }
    }
}

impl Clock for ScaledClock {
    fn now(&self) -> Timestamp {
        let elapsed = self.started.elapsed().as_secs_f64() * self.speed;
        self.origin + SignedDuration::from_secs_f64(elapsed)
    }

    fn sleep_until(&self, at: Timestamp) -> BoxFuture<'_, ()> {
        let wait = at.duration_since(self.now()).as_secs_f64() / self.speed;
        Box::pin(async move {
            if wait > 0.0 {
                tokio::time::sleep(Duration::from_secs_f64(wait)).await;
            }
        })
    }

    fn spawn(&self, task: BoxFuture<'static, ()>) -> tokio::task::JoinHandle<()> {
        tokio::spawn(task)
    }
}

/// A clock that jumps to the next instant someone waits for, once every task
/// started through it is waiting.
#[derive(Clone, Debug)]
pub struct VirtualClock {
    state: Arc<Mutex<State>>,
}

#[derive(Debug)]
struct State {
    now: Timestamp,
    /// Tasks running (not asleep on this clock).
    busy: usize,
    sleepers: BTreeMap<(Timestamp, u64), oneshot::Sender<()>>,
    /// Each sleeper's instant, by its id: a rung bell moves it to now.
    due: HashMap<u64, Timestamp>,
    next_id: u64,
    /// One task at a time, in the order they asked: see [`VirtualClock::serial`].
    serial: bool,
}

impl VirtualClock {
    /// A virtual clock showing `start`.
    pub fn new(start: Timestamp) -> VirtualClock {
        VirtualClock::with(start, false)
    }

    /// A virtual clock showing `start` that runs its tasks one at a time:
    /// a task runs until it sleeps on the clock (or ends), then the sleeper
    /// due first — by time, then by when it went to sleep — takes its turn.
    /// Tasks due at the same instant cannot race, so the same work gives
    /// the same run, to the millisecond: what a simulation's report needs.
    pub fn serial(start: Timestamp) -> VirtualClock {
        VirtualClock::with(start, true)
    }

    fn with(start: Timestamp, serial: bool) -> VirtualClock {
        VirtualClock {
            state: Arc::new(Mutex::new(State {
                now: start,
                busy: 0,
                sleepers: BTreeMap::new(),
                due: HashMap::new(),
                next_id: 0,
                serial,
            })),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.locked()
    }

    /// Sleeps until `at`, or until `bell` rings after `seen`.
    fn sleep_on<'a>(&'a self, at: Timestamp, bell: Option<(&'a Bell, u64)>) -> BoxFuture<'a, ()> {
        Box::pin(async move {
            let (id, woken) = {
                let mut state = self.lock();
                // The bell's count is read under the clock's lock, where it rings.
                let rang = bell.is_some_and(|(bell, seen)| bell.rung() != seen);
                if at <= state.now || rang {
                    return;
                }
                let listed = state.enlist(at);
                if let Some((bell, _)) = bell {
                    bell.listeners.locked().insert(listed.0);
                }
                state.busy = state.busy.saturating_sub(1);
                state.advance();
                listed
            };
            let _asleep = Asleep {
                clock: self.clone(),
                id,
                bell: bell.map(|(bell, _)| bell),
            };
            let _ = woken.await;
        })
    }
}

impl State {
    /// Moves time to the earliest sleeper while nobody is busy, waking every
    /// sleeper due then (serial: only the first); each woken one counts as
    /// busy from that moment.
    fn advance(&mut self) {
        while self.busy == 0 {
            let Some((&(at, _), _)) = self.sleepers.first_key_value() else {
                return;
            };
            self.now = self.now.max(at);
            while let Some(entry) = self.sleepers.first_entry() {
                if entry.key().0 > self.now || (self.serial && self.busy > 0) {
                    break;
                }
                self.busy += 1;
                self.due.remove(&entry.key().1);
                // A sleeper that gave up has its guard account for it.
                let _ = entry.remove().send(());
            }
        }
    }

    /// Lists a sleeper due at `at`; returns its id and what wakes it.
    fn enlist(&mut self, at: Timestamp) -> (u64, oneshot::Receiver<()>) {
        let (wake, woken) = oneshot::channel();
        let id = self.next_id;
        self.next_id += 1;
        self.sleepers.insert((at, id), wake);
        self.due.insert(id, at);
        (id, woken)
    }

    /// Takes sleeper `id` off the list, if it is still on it.
    fn delist(&mut self, id: u64) -> Option<oneshot::Sender<()>> {
        let at = self.due.remove(&id)?;
        self.sleepers.remove(&(at, id))
    }
}

/// Restores a sleeper's busy count when its sleep ends or is abandoned.
struct Asleep<'a> {
    clock: VirtualClock,
    id: u64,
    bell: Option<&'a Bell>,
}

impl Drop for Asleep<'_> {
    fn drop(&mut self) {
        let mut state = self.clock.lock();
        if let Some(bell) = self.bell {
            bell.listeners.locked().remove(&self.id);
        }
        // Still listed: nobody woke it, so it wakes itself. Not listed: the
        // clock woke it and already counted it busy.
        if state.delist(self.id).is_some() {
            state.busy += 1;
        }
    }
}

/// Counts a spawned task busy until it ends, however it ends.
struct Running {
    clock: VirtualClock,
}

impl Drop for Running {
    fn drop(&mut self) {
        let mut state = self.clock.lock();
        state.busy -= 1;
        state.advance();
    }
}

impl Clock for VirtualClock {
    fn now(&self) -> Timestamp {
        self.lock().now
    }

    fn sleep_until(&self, at: Timestamp) -> BoxFuture<'_, ()> {
        self.sleep_on(at, None)
    }

    fn sleep_until_rung<'a>(
        &'a self,
        at: Timestamp,
        bell: &'a Bell,
        seen: u64,
    ) -> BoxFuture<'a, ()> {
        self.sleep_on(at, Some((bell, seen)))
    }

    /// Under the clock's lock, so no sleep can be listed between the count
    /// and the wake: each listener is due now. Serial, they take their
    /// turns after the ringer sleeps; else they run at once.
    fn ring(&self, bell: &Bell) {
        let mut state = self.lock();
        bell.count.fetch_add(1, Ordering::SeqCst);
        let now = state.now;
        let mut listeners: Vec<u64> = bell.listeners.locked().drain().collect();
        // In the order they went to sleep, so a serial clock's turns are the same each run.
        listeners.sort_unstable();
        for id in listeners {
            let Some(wake) = state.delist(id) else {
                continue;
            };
            if state.serial {
                state.sleepers.insert((now, id), wake);
                state.due.insert(id, now);
            } else {
                state.busy += 1;
                let _ = wake.send(());
            }
        }
    }

    fn spawn(&self, task: BoxFuture<'static, ()>) -> tokio::task::JoinHandle<()> {
        let mut state = self.lock();
        // Serial: it waits its turn, listed now so time cannot move before it starts.
        let turn = state.serial.then(|| {
            let now = state.now;
            let listed = state.enlist(now);
            state.advance();
            listed
        });
        if turn.is_none() {
            // Counted before it starts, so time cannot move between spawn and start.
            state.busy += 1;
        }
        drop(state);
        let clock = self.clone();
        tokio::spawn(async move {
            // Made first, so a task dropped while it waits for its turn leaves
            // the count as it found it (its turn's guard counts it busy).
            let _running = Running {
                clock: clock.clone(),
            };
            if let Some((id, woken)) = turn {
                let _asleep = Asleep {
                    clock,
                    id,
                    bell: None,
                };
                let _ = woken.await;
            }
            task.await;
        })
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    fn at(minutes: i64) -> Timestamp {
        Timestamp::UNIX_EPOCH + SignedDuration::from_mins(minutes)
    }

    #[tokio::test]
    async fn a_virtual_day_passes_as_fast_as_its_work() {
        let clock = VirtualClock::new(at(0));
        let ticks = Arc::new(AtomicUsize::new(0));
        let (c, t) = (clock.clone(), ticks.clone());
        let started = Instant::now();
        clock
            .spawn(Box::pin(async move {
                for minute in 1..=1440 {
                    c.sleep_until(at(minute)).await;
                    assert_eq!(c.now(), at(minute));
                    t.fetch_add(1, Ordering::SeqCst);
                }
            }))
            .await
            .unwrap();
        assert_eq!(ticks.load(Ordering::SeqCst), 1440);
        assert_eq!(clock.now(), at(1440));
        assert!(started.elapsed() < Duration::from_secs(5));
    }

    #[tokio::test]
    async fn a_scaled_clock_runs_schedule_time_faster() {
        // At 600× a scheduled minute is a tenth of a real second.
        let clock = ScaledClock::new(at(0), 600.0);
        let real = Instant::now();
        clock.sleep_until(at(1)).await;
        let elapsed = real.elapsed();
        assert!(clock.now() >= at(1));
        assert!(elapsed >= Duration::from_millis(95), "{elapsed:?}");
        assert!(elapsed < Duration::from_secs(3), "{elapsed:?}");
        // A past instant does not wait.
        let real = Instant::now();
        clock.sleep_until(at(0)).await;
        assert!(real.elapsed() < Duration::from_millis(50));
    }

    #[tokio::test]
    async fn time_holds_still_while_a_task_works() {
        let clock = VirtualClock::new(at(0));
        let (a, b) = (clock.clone(), clock.clone());
        let sleeper = clock.spawn(Box::pin(async move {
            a.sleep_until(at(10)).await;
        }));
        let worker = clock.spawn(Box::pin(async move {
            // Real work (a real sleep stands for I/O): virtual time must not move.
            tokio::time::sleep(Duration::from_millis(50)).await;
            assert_eq!(b.now(), at(0));
            b.sleep_until(at(3)).await;
            assert_eq!(b.now(), at(3));
        }));
        worker.await.unwrap();
        sleeper.await.unwrap();
        assert_eq!(clock.now(), at(10));
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_serial_clock_runs_one_task_at_a_time_in_order() {
        let clock = VirtualClock::serial(at(0));
        let order = Arc::new(Mutex::new(Vec::new()));
        let mut tasks = Vec::new();
        for name in ["a", "b", "c"] {
            let (c, order) = (clock.clone(), order.clone());
            tasks.push(clock.spawn(Box::pin(async move {
                for minute in 1..=3 {
                    // Real work between sleeps: in parallel mode the tasks would interleave.
                    tokio::time::sleep(Duration::from_millis(5)).await;
                    order.lock().unwrap().push(format!("{name}{minute}"));
                    c.sleep_until(at(minute)).await;
                }
            })));
        }
        for task in tasks {
            task.await.unwrap();
        }
        assert_eq!(
            order.lock().unwrap().join(" "),
            "a1 b1 c1 a2 b2 c2 a3 b3 c3"
        );
        assert_eq!(clock.now(), at(3));
        assert_eq!(clock.lock().busy, 0);
    }

    /// A ring ends a sleep at once on every clock, and time does not move
    /// past the ring on a virtual one; a ring between the look and the
    /// sleep is not missed.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_bell_wakes_sleepers_now() {
        let clocks: Vec<Arc<dyn Clock>> = vec![
            Arc::new(VirtualClock::new(at(0))),
            Arc::new(VirtualClock::serial(at(0))),
            Arc::new(ScaledClock::new(at(0), 60.0)),
        ];
        for clock in clocks {
            let bell = Arc::new(Bell::default());
            let woke = Arc::new(Mutex::new(Vec::new()));
            let tasks = Arc::new(Mutex::new(Vec::new()));
            // Started from a task of the clock's, so a virtual clock holds
            // still until all four are under way.
            let (c, b, w, t) = (clock.clone(), bell.clone(), woke.clone(), tasks.clone());
            clock
                .spawn(Box::pin(async move {
                    for _ in 0..3 {
                        let (c2, bell, woke) = (c.clone(), b.clone(), w.clone());
                        t.lock().unwrap().push(c.spawn(Box::pin(async move {
                            let seen = bell.rung();
                            c2.sleep_until_rung(at(60), &bell, seen).await;
                            woke.lock().unwrap().push(c2.now());
                        })));
                    }
                    let c2 = c.clone();
                    t.lock().unwrap().push(c.spawn(Box::pin(async move {
                        c2.sleep_until(at(1)).await;
                        c2.ring(&b);
                        // Rung already: a sleep that read the count before returns at once.
                        c2.sleep_until_rung(at(60), &b, b.rung() - 1).await;
                    })));
                }))
                .await
                .unwrap();
            let tasks: Vec<_> = std::mem::take(&mut *tasks.lock().unwrap());
            for task in tasks {
                task.await.unwrap();
            }
            let woke = woke.lock().unwrap().clone();
            assert_eq!(woke.len(), 3, "{clock:?}");
            for instant in woke {
                assert!(instant < at(2), "{clock:?} woke at {instant}");
            }
        }
    }

    #[tokio::test]
    async fn an_abandoned_sleep_leaves_the_count_right() {
        let clock = VirtualClock::new(at(0));
        let c = clock.clone();
        // A second task at work keeps time still while the first gives up a sleep.
        let worker = clock.spawn(Box::pin(async {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }));
        clock
            .spawn(Box::pin(async move {
                tokio::select! {
                    biased;
                    () = c.sleep_until(at(100)) => panic!("time moved while a task worked"),
                    () = std::future::ready(()) => {}
                }
                {
                    let state = c.lock();
                    assert!(state.sleepers.is_empty());
                    assert_eq!(state.busy, 2);
                }
                c.sleep_until(at(5)).await;
                assert_eq!(c.now(), at(5));
            }))
            .await
            .unwrap();
        worker.await.unwrap();
        assert_eq!(clock.now(), at(5));
        assert_eq!(clock.lock().busy, 0);
    }
}
