//! One execution: wait for capacity, then pull pages or deliver tasks.

use std::{
    cmp::Ordering,
    collections::{HashMap, HashSet},
    time::Instant,
};

use jiff::{SignedDuration, Timestamp};
use pacer_connect::{Destination, Outgoing, Page, PageRequest, Record, Source};
use pacer_store::{
    Cursor, ExecutionState, FailOutcome, Failure, Minute, NewTask, PushBack, Rejected, RetryPolicy,
};

use crate::{
    Error,
    job::{Job, Work},
    limit::Grant,
    state::Inner,
};

/// How an execution's work ended.
struct Ran {
    items: u64,
    error: Option<String>,
}

/// A held capacity slot; the node's heartbeat keeps its lease.
struct Slot {
    number: u32,
    holder: String,
}

/// One execution of a job for one scheduled minute, on this node: it waits
/// for capacity, pulls or pushes under the rate limits, and records each
/// step in the ledger.
pub(crate) struct Execution<'a> {
    node: &'a Inner,
    job: &'a Job,
    minute: Minute,
    /// Its place in this node's queue for capacity.
    place: (Minute, u64),
    /// `job@minute`: the name its slot and its task leases carry.
    name: String,
}

impl<'a> Execution<'a> {
    /// `job`'s execution for `minute`, queued for capacity at `place`.
    pub(crate) fn new(
        node: &'a Inner,
        job: &'a Job,
        minute: Minute,
        place: (Minute, u64),
    ) -> Execution<'a> {
        Execution {
            node,
            job,
            minute,
            place,
            name: format!("{}@{minute}", job.name),
        }
    }

    /// Runs it and records how it went.
    pub(crate) async fn run(self) -> Result<(), Error> {
        let result = self.start_and_work().await;
        // However it ended, it no longer waits.
        self.node.lock_waiting().remove(&self.place);
        result
    }

    /// Waits for capacity, then does the job's work.
    async fn start_and_work(&self) -> Result<(), Error> {
        let (job, minute) = (self.job, self.minute);
        let store = &self.node.store;
        let deadline_minutes = job
            .policy
            .deadline_minutes
            .unwrap_or(job.interval_minutes)
            .max(1);
        let deadline = (minute + i64::from(deadline_minutes)).start();
        let Some(slot) = self.wait_for_capacity(deadline).await? else {
            let now = self.node.clock.now();
            // Stopped, it did not miss its deadline: its node went away.
            let (state, why) = if self.node.stopping() {
                let why = "its node stopped while it was waiting".to_string();
                (ExecutionState::Interrupted, why)
            } else {
                let why = format!("no capacity within {deadline_minutes} min");
                (ExecutionState::Missed, why)
            };
            store
                .set_execution(
                    &job.name,
                    minute,
                    self.node.change(state, now, 0, Some(&why)),
                )
                .await?;
            self.node.count(job, state);
            tracing::warn!(job = %job.name, minute = %self.node.show(minute), outcome = state.as_str(), "{why}");
            return Ok(());
        };
        let started = self.node.clock.now();
        let waited = started.duration_since(minute.start()).as_millis().max(0) as i64;
        store
            .set_execution(
                &job.name,
                minute,
                self.node.change(ExecutionState::Running, started, 0, None),
            )
            .await?;
        self.node.counters.started();
        self.node.counters.update(|s| {
            s.longest_wait_ms = s.longest_wait_ms.max(waited);
            if started >= (minute + 1).start() {
                s.waited += 1;
            }
        });
        self.node.counters.time(|t| {
            t.wait
                .entry(job.name.clone())
                .or_default()
                .observe(waited as f64 / 1_000.0);
        });
        tracing::info!(job = %job.name, minute = %self.node.show(minute), waited_ms = waited, "execution started");
        let real = Instant::now();
        let ran = match &job.work {
            Work::Pull(source) => self.pull(source).await,
            Work::Push(destination) => self.push(destination).await,
        };
        self.node.counters.ended();
        // The slot goes back even when the work failed.
        let released = store.release_slot(slot.number, &slot.holder).await;
        self.node.clock.ring(&self.node.turn);
        let ran = ran?;
        released?;
        let ended = self.node.clock.now();
        let state = match &ran.error {
            None => ExecutionState::Succeeded,
            Some(_) => ExecutionState::Failed,
        };
        store
            .set_execution(
                &job.name,
                minute,
                self.node
                    .change(state, ended, ran.items, ran.error.as_deref()),
            )
            .await?;
        self.node.count(job, state);
        let duration = ended.duration_since(started).as_millis() as i64;
        self.node.counters.time(|t| {
            t.duration
                .entry(job.name.clone())
                .or_default()
                .observe(duration as f64 / 1_000.0);
        });
        match &ran.error {
            None => tracing::info!(
                job = %job.name, minute = %self.node.show(minute), waited_ms = waited,
                duration_ms = duration, real_ms = real.elapsed().as_millis() as u64,
                items = ran.items, outcome = state.as_str(), "execution ended"
            ),
            Some(error) => tracing::warn!(
                job = %job.name, minute = %self.node.show(minute), waited_ms = waited,
                duration_ms = duration, items = ran.items, outcome = state.as_str(),
                error = %error, "execution ended"
            ),
        }
        Ok(())
    }

    /// Waits for a capacity slot, oldest minute first among this node's
    /// waiters; `None` once the deadline passed (or the engine stops). The
    /// ledger says `waiting` from the first time it has to wait.
    async fn wait_for_capacity(&self, deadline: Timestamp) -> Result<Option<Slot>, Error> {
        let (job, minute, place, execution) = (self.job, self.minute, self.place, &self.name);
        let holder = format!("{}/{execution}", self.node.settings.node);
        let mut recorded = false;
        let turn = &self.node.turn;
        let result = loop {
            // Read before looking: a ring after this ends the sleep below.
            let seen = turn.rung();
            let now = self.node.clock.now();
            let first = self.node.lock_waiting().first() == Some(&place);
            // Nothing starts inside a maintenance window, not even a waiting execution.
            let held = self.node.maintenance_at(now).is_some();
            if first
                && !held
                && let Some(number) = self
                    .node
                    .store
                    .acquire_slot(
                        self.node.capacity,
                        execution,
                        &self.node.lease(&holder, now),
                    )
                    .await?
            {
                break Some(Slot { number, holder });
            }
            if now >= deadline || self.node.stopping() {
                break None;
            }
            if !recorded {
                self.node
                    .store
                    .set_execution(
                        &job.name,
                        minute,
                        self.node.change(ExecutionState::Waiting, now, 0, None),
                    )
                    .await?;
                recorded = true;
            }
            // The first in line looks again each second, for slots other
            // nodes free; the rest wait for their turn (a ring) or their deadline.
            let next = if first {
                (now + SignedDuration::from_secs(1)).min(deadline)
            } else {
                deadline
            };
            self.node.clock.sleep_until_rung(next, turn, seen).await;
        };
        self.node.lock_waiting().remove(&place);
        self.node.clock.ring(turn);
        Ok(result)
    }

    /// Waits until the job's rate budgets grant some of `want` (all of it
    /// when `exact`).
    async fn take(&self, want: u32, exact: bool) -> Result<Option<Grant>, Error> {
        let job = self.job;
        let names: Vec<&str> = job.budgets.iter().map(String::as_str).collect();
        let give_up = || self.node.stopping();
        self.node
            .limits
            .take(&job.name, &names, want, exact, &give_up)
            .await
    }

    /// Up to `want` requests from the system's request budget, when it has
    /// one: `Some(None)` when it has none, `None` once the engine stops.
    async fn take_requests(&self, want: u32) -> Result<Option<Option<Grant>>, Error> {
        let Some(budget) = &self.job.request_budget else {
            return Ok(Some(None));
        };
        let give_up = || self.node.stopping();
        let grant = self
            .node
            .limits
            .take(&self.job.name, &[budget.as_str()], want, false, &give_up)
            .await?;
        Ok(grant.map(Some))
    }

    /// Charges the system's budgets for the lookups `destination` read
    /// while it prepared records: a page each to the requests, its records
    /// to the items.
    async fn charge_lookups(&self, destination: &Destination) -> Result<(), Error> {
        let (pages, records) = destination.lookup_reads();
        let limits = &self.node.limits;
        let job = &self.job.name;
        let names: Vec<&str> = self.job.budgets.iter().map(String::as_str).collect();
        let whole = |n: u64| u32::try_from(n).unwrap_or(u32::MAX);
        limits.charge(job, &names, whole(records)).await?;
        if let Some(budget) = &self.job.request_budget {
            limits.charge(job, &[budget.as_str()], whole(pages)).await?;
        }
        Ok(())
    }

    /// Gives back to the request budget what `grant` held beyond `used`.
    async fn give_back_requests(&self, grant: Option<Grant>, used: u32) -> Result<(), Error> {
        match (&self.job.request_budget, grant) {
            (Some(budget), Some(grant)) => {
                self.node
                    .limits
                    .give_back(&self.job.name, &[budget.as_str()], grant, used)
                    .await
            }
            _ => Ok(()),
        }
    }

    /// Gives back to the job's budgets what `grant` held beyond `used`.
    async fn give_back(&self, grant: Grant, used: u32) -> Result<(), Error> {
        let job = self.job;
        let names: Vec<&str> = job.budgets.iter().map(String::as_str).collect();
        self.node
            .limits
            .give_back(&job.name, &names, grant, used)
            .await
    }

    async fn pull(&self, source: &Source) -> Result<Ran, Error> {
        let job = self.job;
        let store = &self.node.store;
        let read = store.cursor(&job.integration).await?;
        let cursor = read.as_ref().map(|c| c.value.clone());
        // The cursor only moves forward: the largest value seen over the
        // whole execution, committed with its last page.
        let mut newest = read.clone();
        let mut at = PageRequest::First;
        let mut seen = HashSet::new();
        let mut items = 0u64;
        // Page numbers count pages of one size: a smaller page with the next
        // number would skip records. Such a source gets pages of one size,
        // whole, however long the rate makes it wait for one.
        let names: Vec<&str> = job.budgets.iter().map(String::as_str).collect();
        let fixed_size = source.numbers_pages().then(|| {
            self.node
                .settings
                .page_size
                .min(self.node.limits.widest_grant(&names))
                .max(1)
        });
        while items < job.budget && !self.node.stopping() {
            let want = fixed_size.unwrap_or_else(|| {
                (job.budget - items).min(u64::from(self.node.settings.page_size)) as u32
            });
            let Some(fetched) = self
                .fetch(source, cursor.as_deref(), &at, want, fixed_size.is_some())
                .await?
            else {
                break;
            };
            self.take_time(1).await;
            let page = match fetched {
                Ok(page) => page,
                Err(error) => {
                    return Ok(Ran {
                        items,
                        error: Some(error),
                    });
                }
            };
            let now = self.node.clock.now();
            for rejected in &page.rejected {
                store
                    .reject(
                        &job.integration,
                        &Rejected {
                            key: &rejected.key,
                            raw: &rejected.raw,
                            reason: &rejected.reason,
                        },
                        now,
                    )
                    .await?;
                tracing::warn!(integration = %job.integration, record = %rejected.key, reason = %rejected.reason, "record rejected");
            }
            let news: Vec<&Record> = page
                .records
                .iter()
                .filter(|r| {
                    !(source.inclusive() && read.as_ref().is_some_and(|c| already_read(r, c)))
                })
                .collect();
            let tasks: Vec<NewTask> = news
                .iter()
                .map(|r| NewTask {
                    key: r.key.clone(),
                    payload: r.payload.clone(),
                })
                .collect();
            // The source sent them all, and the rate pays for them all; the
            // execution's item budget pays only for news, or a boundary as
            // large as a page would be all a pull ever read.
            let received = (page.records.len() + page.rejected.len()) as u64;
            let read_again = (page.records.len() - news.len()) as u64;
            advance(&mut newest, &page, source.inclusive());
            let next = match page.next {
                Some(next) if received > 0 => Some(next),
                _ => None,
            };
            let fresh = received - read_again;
            let last = next.is_none() || items + fresh >= job.budget || self.node.stopping();
            let commit = (last && newest != read)
                .then_some(newest.as_ref())
                .flatten();
            store.enqueue(&job.integration, &tasks, commit, now).await?;
            items += fresh;
            self.node.counters.update(|s| {
                let moved = s.moved.entry(job.integration.clone()).or_default();
                moved.queued += tasks.len() as u64;
                moved.rejected += page.rejected.len() as u64;
            });
            match next {
                Some(next) if !last => {
                    if !seen.insert(next.clone()) {
                        let error = format!(
                            "the source gave page {next:?} twice: its pagination loops; \
                             stopped after {} pages (the cursor keeps what was read)",
                            seen.len()
                        );
                        if newest != read {
                            store
                                .enqueue(&job.integration, &[], newest.as_ref(), now)
                                .await?;
                        }
                        return Ok(Ran {
                            items,
                            error: Some(error),
                        });
                    }
                    at = next;
                }
                _ => break,
            }
        }
        Ok(Ran { items, error: None })
    }

    /// One page of up to `want` (exactly `want` when `exact`), retried on
    /// transient failures a few times within the execution; `None` once the
    /// engine stops. A retry in the minute its grant was taken in is still
    /// paid for; one sent in a later minute (after a 429's `Retry-After`,
    /// say) pays again from that minute's budget, which counts it as the
    /// system does. What the page did not fill goes back.
    async fn fetch(
        &self,
        source: &Source,
        cursor: Option<&str>,
        at: &PageRequest,
        want: u32,
        exact: bool,
    ) -> Result<Option<Result<pacer_connect::Page, String>>, Error> {
        let job = self.job;
        const ATTEMPTS: u32 = 3;
        let mut attempt = 1;
        let mut grant: Option<Grant> = None;
        loop {
            let paid = match grant {
                Some(paid) if paid.window == Minute::containing(self.node.clock.now()) => paid,
                _ => {
                    let Some(paid) = self.take(want, exact).await? else {
                        return Ok(None);
                    };
                    grant = Some(paid);
                    paid
                }
            };
            // Each attempt is a request the system counts.
            if self.take_requests(1).await?.is_none() {
                self.give_back(paid, 0).await?;
                return Ok(None);
            }
            let now = self.node.clock.now();
            match source.fetch(cursor, at, paid.items, now).await {
                Ok(page) => {
                    let received = page.records.len() + page.rejected.len();
                    let used = u32::try_from(received).unwrap_or(u32::MAX);
                    self.give_back(paid, used).await?;
                    return Ok(Some(Ok(page)));
                }
                Err((error, retry_after)) => {
                    if error.is_transient() {
                        let answers = PushBack {
                            throttled: u64::from(retry_after.is_some()),
                            failed: u64::from(retry_after.is_none()),
                            refused: 0,
                        };
                        self.answered_back(&answers, paid.window).await?;
                    }
                    if !error.is_transient() || attempt >= ATTEMPTS || self.node.stopping() {
                        return Ok(Some(Err(error.to_string())));
                    }
                    let wait = retry_after.unwrap_or(1_000 << (attempt - 1));
                    if retry_after.is_some() {
                        self.node
                            .limits
                            .throttle(&job.system, now + SignedDuration::from_millis(wait));
                    }
                    tracing::info!(job = %job.name, attempt, wait_ms = wait, error = %error, "pull retried");
                    self.node
                        .clock
                        .sleep_until(now + SignedDuration::from_millis(wait))
                        .await;
                    attempt += 1;
                }
            }
        }
    }

    async fn push(&self, destination: &Destination) -> Result<Ran, Error> {
        let job = self.job;
        let store = &self.node.store;
        let owner = format!("{}/{}", self.node.settings.node, self.name);
        let reject_now = RetryPolicy {
            max_attempts: 1,
            ..self.node.settings.retry
        };
        let mut done: Vec<i64> = Vec::new();
        let mut items = 0u64;
        while items < job.budget && !self.node.stopping() {
            // Nothing to deliver: end now, and take no budget for it.
            if done.is_empty()
                && !store
                    .has_work(&job.integration, self.node.clock.now())
                    .await?
            {
                break;
            }
            let want = (job.budget - items).min(u64::from(self.node.settings.page_size)) as u32;
            // A request carries a batch: as many records as the requests
            // granted carry, at most.
            let batch = u32::try_from(destination.batch()).unwrap_or(u32::MAX);
            let Some(requests) = self.take_requests(want.div_ceil(batch)).await? else {
                break;
            };
            let want = requests.map_or(want, |r| want.min(r.items.saturating_mul(batch)));
            let Some(grant) = self.take(want, false).await? else {
                self.give_back_requests(requests, 0).await?;
                break;
            };
            let now = self.node.clock.now();
            let (_, mut tasks) = store
                .complete_and_claim(
                    &done,
                    &job.integration,
                    grant.items,
                    &self.node.lease(&owner, now),
                )
                .await?;
            let claimed = u32::try_from(tasks.len()).unwrap_or(u32::MAX);
            self.give_back(grant, claimed).await?;
            self.give_back_requests(requests, claimed.div_ceil(batch))
                .await?;
            self.delivered(done.len());
            done.clear();
            if tasks.is_empty() {
                break;
            }
            if destination.batch() > 1 {
                let Some(batched) = self.whole_batches(destination, &owner, tasks).await? else {
                    break;
                };
                tasks = batched;
            }
            let outgoing: Vec<Outgoing> = tasks
                .iter()
                .map(|t| Outgoing {
                    id: t.id,
                    payload: t.payload.clone(),
                    batch_key: t.batch_key.clone(),
                })
                .collect();
            let outcomes = destination.deliver(&outgoing, now).await;
            self.charge_lookups(destination).await?;
            self.take_time(destination.rounds(outgoing.len())).await;
            let now = self.node.clock.now();
            // Counted in the minute the items were taken in, beside them.
            self.answered_back(&pushed_back(&outcomes, destination.batch()), grant.window)
                .await?;
            // A batch that failed comes back whole: its tasks retry together.
            let mut batch_retry: HashMap<String, Timestamp> = HashMap::new();
            for (task, outcome) in tasks.iter().zip(outcomes) {
                match outcome {
                    pacer_connect::Delivery::Delivered => done.push(task.id),
                    pacer_connect::Delivery::Retry {
                        error,
                        retry_after_ms,
                        throttled,
                    } => {
                        let after = |ms: i64| now + SignedDuration::from_millis(ms);
                        if throttled {
                            self.node
                                .limits
                                .throttle(&job.system, after(retry_after_ms.unwrap_or(1_000)));
                        }
                        let retry_after = retry_after_ms.map(after).or_else(|| {
                            task.batch_key
                                .as_ref()
                                .and_then(|k| batch_retry.get(k).copied())
                        });
                        let failure = Failure {
                            error: &error,
                            retry_after,
                            policy: &self.node.settings.retry,
                        };
                        let fate = store.fail(task.id, &owner, &failure, now).await?;
                        if let (Some(key), Some(FailOutcome::RetryAt(at))) = (&task.batch_key, fate)
                        {
                            batch_retry.entry(key.clone()).or_insert(at);
                        }
                        self.failed(task.id, fate, &error);
                    }
                    pacer_connect::Delivery::Reject { error } => {
                        let failure = Failure {
                            error: &error,
                            retry_after: None,
                            policy: &reject_now,
                        };
                        let fate = store.fail(task.id, &owner, &failure, now).await?;
                        self.failed(task.id, fate, &error);
                    }
                }
            }
            items += tasks.len() as u64;
        }
        let now = self.node.clock.now();
        store.complete_many(&done, &owner, now).await?;
        self.delivered(done.len());
        Ok(Ran { items, error: None })
    }

    /// `tasks` formed into the batches they are sent in, each task's
    /// `batch_key` set and stored before anything is sent: a batch some of
    /// these were sent in before (and that comes back, after a crash or a
    /// failure) is completed from the queue and goes again whole under its
    /// key; the rest, in order, make new batches. The members claimed to
    /// complete a batch are paid from the rate too; `None` once the engine
    /// stops while it waits for that.
    async fn whole_batches(
        &self,
        destination: &Destination,
        owner: &str,
        mut tasks: Vec<pacer_store::Claimed>,
    ) -> Result<Option<Vec<pacer_store::Claimed>>, Error> {
        let job = self.job;
        let store = &self.node.store;
        let members = |tasks: &[pacer_store::Claimed], key: &str| {
            tasks
                .iter()
                .filter(|t| t.batch_key.as_deref() == Some(key))
                .count()
        };
        let mut short: Vec<String> = tasks
            .iter()
            .filter_map(|t| t.batch_key.clone())
            .filter(|key| members(&tasks, key) < batch_size(&job.integration, key))
            .collect();
        short.sort();
        short.dedup();
        let lease = self.node.lease(owner, self.node.clock.now());
        let rest = store
            .claim_batches(&job.integration, &short, &lease)
            .await?;
        let mut owed = u32::try_from(rest.len()).unwrap_or(u32::MAX);
        while owed > 0 {
            let Some(grant) = self.take(owed, false).await? else {
                return Ok(None);
            };
            owed -= grant.items.min(owed);
        }
        tasks.extend(rest);
        // Whole batches first, as they were sent; then the rest in order.
        let whole = |t: &pacer_store::Claimed| {
            t.batch_key
                .as_deref()
                .is_some_and(|key| members(&tasks, key) == batch_size(&job.integration, key))
        };
        let (mut batched, mut loose): (Vec<_>, Vec<_>) =
            tasks.iter().cloned().partition(|t| whole(t));
        batched.sort_by(|a, b| a.batch_key.cmp(&b.batch_key).then(a.id.cmp(&b.id)));
        loose.sort_by_key(|t| t.id);
        for chunk in loose.chunks_mut(destination.batch()) {
            let ids: Vec<i64> = chunk.iter().map(|t| t.id).collect();
            let key = destination.batch_key(&ids);
            store.set_batch_key(&ids, &key).await?;
            for task in chunk.iter_mut() {
                task.batch_key = Some(key.clone());
            }
        }
        batched.extend(loose);
        Ok(Some(batched))
    }

    /// Counts what the job's system answered back this minute, for plans
    /// that learn (`pacer plan --observed`).
    async fn answered_back(&self, answers: &PushBack, minute: Minute) -> Result<(), Error> {
        Ok(self
            .node
            .store
            .push_back(&self.job.system, minute, answers)
            .await?)
    }

    /// Lets `requests` requests' worth of schedule time pass, when the
    /// settings give requests a time (a simulation); else nothing.
    async fn take_time(&self, requests: usize) {
        if let Some(each) = self.node.settings.request_time
            && requests > 0
        {
            let until = self.node.clock.now() + each * requests as i32;
            self.node.clock.sleep_until(until).await;
        }
    }

    fn delivered(&self, n: usize) {
        let job = self.job;
        if n > 0 {
            self.node.counters.update(|s| {
                s.moved
                    .entry(job.integration.clone())
                    .or_default()
                    .delivered += n as u64;
            });
        }
    }

    fn failed(&self, task: i64, fate: Option<FailOutcome>, error: &str) {
        let job = self.job;
        match fate {
            Some(FailOutcome::Dead) => {
                tracing::warn!(job = %job.name, task, error, "task dead");
                self.node
                    .counters
                    .update(|s| s.moved.entry(job.integration.clone()).or_default().dead += 1);
            }
            Some(FailOutcome::RetryAt(at)) => {
                tracing::info!(job = %job.name, task, retry_at = %at, error, "delivery retried");
                self.node
                    .counters
                    .update(|s| s.moved.entry(job.integration.clone()).or_default().retried += 1);
            }
            // The lease was lost: another execution owns the task now.
            None => {}
        }
    }
}

/// The most records a cursor remembers as read at its value. Beyond it the
/// oldest are forgotten, and a source that sends them again has them
/// delivered again: at least once, never lost.
const MAX_BOUNDARY: usize = 1_000;

/// What a round of deliveries was answered back: a 429 stops the round, so
/// it is one answer that said slow down; the other retryable failures are
/// requests of `batch` records each; every record not delivered for either
/// was refused.
fn pushed_back(outcomes: &[pacer_connect::Delivery], batch: usize) -> PushBack {
    let (mut throttled, mut failed) = (0u64, 0u64);
    for outcome in outcomes {
        if let pacer_connect::Delivery::Retry { throttled: t, .. } = outcome {
            if *t {
                throttled += 1;
            } else {
                failed += 1;
            }
        }
    }
    PushBack {
        throttled: u64::from(throttled > 0),
        failed: failed.div_ceil(batch.max(1) as u64),
        refused: throttled + failed,
    }
}

/// Whether `record`, from a source that filters `>=`, was read by an
/// earlier pull: it is before the cursor (a compound cursor's tie-breaker
/// says so), or at it and remembered.
fn already_read(record: &Record, cursor: &Cursor) -> bool {
    record
        .cursor
        .as_deref()
        .is_some_and(|c| match pacer_connect::compare(c, &cursor.value) {
            Ordering::Less => true,
            Ordering::Equal => cursor.boundary.contains(&record.fingerprint()),
            Ordering::Greater => false,
        })
}

/// Moves `newest` to the largest cursor value in `page`; for an inclusive
/// source, also remembers the records read at that value.
fn advance(newest: &mut Option<Cursor>, page: &Page, inclusive: bool) {
    if let Some(c) = &page.cursor
        && newest
            .as_ref()
            .is_none_or(|n| pacer_connect::compare(c, &n.value) == Ordering::Greater)
    {
        *newest = Some(Cursor::at(c));
    }
    let Some(newest) = newest.as_mut().filter(|_| inclusive) else {
        return;
    };
    for record in &page.records {
        if record
            .cursor
            .as_deref()
            .is_some_and(|c| pacer_connect::compare(c, &newest.value) == Ordering::Equal)
        {
            let fingerprint = record.fingerprint();
            if !newest.boundary.contains(&fingerprint) {
                newest.boundary.push(fingerprint);
            }
        }
    }
    let over = newest.boundary.len().saturating_sub(MAX_BOUNDARY);
    newest.boundary.drain(..over);
}

/// How many tasks a batch key of `integration` stands for: `prices-12` one,
/// `prices-12-19-8` eight.
fn batch_size(integration: &str, key: &str) -> usize {
    let parts: Vec<&str> = key
        .strip_prefix(integration)
        .and_then(|rest| rest.strip_prefix('-'))
        .map_or_else(Vec::new, |rest| rest.split('-').collect());
    match parts[..] {
        [_, _, n] => n.parse().unwrap_or(1),
        _ => 1,
    }
}

#[cfg(test)]
mod tests {
    use super::batch_size;

    #[test]
    fn batch_keys_say_how_many_tasks_they_stand_for() {
        assert_eq!(batch_size("prices", "prices-12-19-8"), 8);
        assert_eq!(batch_size("prices", "prices-12"), 1);
        assert_eq!(batch_size("a-b-c", "a-b-c-12"), 1);
        assert_eq!(batch_size("a-b-c", "a-b-c-12-20-9"), 9);
    }
}
