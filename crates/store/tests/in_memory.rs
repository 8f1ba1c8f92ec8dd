//! The in-memory store a simulation runs on answers as a SQLite store on
//! disk does. Its task queue is its own code, not SQL, and it forgets each
//! task as it finishes, keeping only a count. So the same operations in the
//! same order, on both, must give the same claims, outcomes, counts,
//! listings, errors and prunes; only finished tasks differ (counted, never
//! listed), and that difference is the promise.

use std::collections::HashMap;

use pacer_store::{
    Claimed, FailOutcome, Minute, NewTask, Pruned, Rejected, Retention, RetryPolicy, Store,
    StoreBuilder, Task, TaskError, TaskQuery, TaskStatus,
};
use proptest::prelude::*;
use support::{at, failure, lease};

mod support;

const INTEGRATIONS: [&str; 2] = ["prices", "stock"];
const NODES: [&str; 2] = ["node-a", "node-b"];
const HOLDERS: [&str; 2] = ["node-a/push", "node-b/push"];
/// How long a claim's lease lasts: steps move time by up to more than
/// this, so some leases run out and their tasks are claimed again.
const LEASE_MS: i64 = 1_000;

/// One thing a push loop, a pull or an operator does to the queue.
#[derive(Clone, Debug)]
enum Step {
    /// Queue records with these keys (payloads are unique per step).
    Enqueue {
        integration: usize,
        keys: Vec<u8>,
    },
    /// Claim up to `limit`, completing the first `done` of what the holder
    /// holds in the same call.
    Claim {
        integration: usize,
        holder: usize,
        limit: u32,
        done: usize,
    },
    /// The holder's oldest task failed: retried, or dead at the last attempt.
    Fail {
        holder: usize,
        retry_after_ms: Option<i64>,
    },
    /// Sets a batch key on what the holder holds, then claims the rest of
    /// that batch as another holder would after a crash.
    Batch {
        holder: usize,
    },
    /// Dead tasks go again.
    Replay {
        integration: usize,
    },
    /// An operator sets a task aside, or queues it again (ids are the same
    /// on both stores; one that does not exist is refused on both).
    Skip {
        id: i64,
    },
    ReplayOne {
        id: i64,
    },
    /// A record that could not be read is kept dead.
    Reject {
        integration: usize,
        key: u8,
    },
    /// A node is known dead: its task leases run out at once.
    Release {
        node: usize,
    },
    /// A node's heartbeat: its live leases last one more lease.
    Renew {
        node: usize,
    },
    /// What is older than `age_ms` goes.
    Prune {
        age_ms: i64,
    },
    /// Time passes.
    Wait {
        ms: i64,
    },
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        3 => (0..2usize, prop::collection::vec(0..8u8, 1..6))
            .prop_map(|(integration, keys)| Step::Enqueue { integration, keys }),
        4 => (0..2usize, 0..2usize, 1..6u32, 0..6usize).prop_map(
            |(integration, holder, limit, done)| Step::Claim { integration, holder, limit, done }
        ),
        2 => (0..2usize, prop::option::of(0..3_000i64))
            .prop_map(|(holder, retry_after_ms)| Step::Fail { holder, retry_after_ms }),
        1 => (0..2usize).prop_map(|holder| Step::Batch { holder }),
        1 => (0..2usize).prop_map(|integration| Step::Replay { integration }),
        1 => (0..30i64).prop_map(|id| Step::Skip { id }),
        1 => (0..30i64).prop_map(|id| Step::ReplayOne { id }),
        1 => (0..2usize, 0..8u8).prop_map(|(integration, key)| Step::Reject { integration, key }),
        1 => (0..2usize).prop_map(|node| Step::Release { node }),
        1 => (0..2usize).prop_map(|node| Step::Renew { node }),
        1 => (0..4_000i64).prop_map(|age_ms| Step::Prune { age_ms }),
        2 => (0..2_500i64).prop_map(|ms| Step::Wait { ms }),
    ]
}

/// What the two stores answer to each step, compared whole.
#[derive(Debug, PartialEq)]
enum Answer {
    Done,
    Claimed(u64, Vec<Claimed>),
    Failed(Option<FailOutcome>),
    Replayed(u64),
    Changed(bool),
    Rejected(i64),
    Pruned(Pruned),
}

/// Both stores, and what each holder holds (the same ids on both).
struct Pair {
    disk: Store,
    memory: Store,
    held: HashMap<usize, Vec<(usize, i64)>>,
    now: i64,
    payloads: u64,
}

impl Pair {
    /// What each store answers to the same call: the one on disk's first.
    async fn both(&self, call: impl AsyncFn(&Store) -> Answer) -> (Answer, Answer) {
        (call(&self.disk).await, call(&self.memory).await)
    }

    async fn apply(&mut self, step: &Step) -> Result<(), TestCaseError> {
        let policy = RetryPolicy {
            max_attempts: 3,
            ..RetryPolicy::default()
        };
        let now = self.now;
        let (on_disk, in_memory) = match step {
            Step::Enqueue { integration, keys } => {
                let tasks: Vec<NewTask> = keys
                    .iter()
                    .map(|k| {
                        self.payloads += 1;
                        NewTask {
                            key: format!("K{k}"),
                            payload: self.payloads.to_string(),
                        }
                    })
                    .collect();
                let name = INTEGRATIONS[*integration];
                self.both(async |store| {
                    store.enqueue(name, &tasks, None, at(now)).await.unwrap();
                    Answer::Done
                })
                .await
            }
            Step::Claim {
                integration,
                holder,
                limit,
                done,
            } => {
                let held = self.held.entry(*holder).or_default();
                let done: Vec<i64> = held.drain(..(*done).min(held.len())).map(|t| t.1).collect();
                let lease = lease(HOLDERS[*holder], now, now + LEASE_MS);
                let name = INTEGRATIONS[*integration];
                let answers = self
                    .both(async |store| {
                        let (completed, claimed) = store
                            .complete_and_claim(&done, name, *limit, &lease)
                            .await
                            .unwrap();
                        Answer::Claimed(completed, claimed)
                    })
                    .await;
                if let Answer::Claimed(_, claimed) = &answers.0 {
                    let held = self.held.entry(*holder).or_default();
                    held.extend(claimed.iter().map(|t| (*integration, t.id)));
                }
                answers
            }
            Step::Fail {
                holder,
                retry_after_ms,
            } => {
                let held = self.held.entry(*holder).or_default();
                if held.is_empty() {
                    return Ok(());
                }
                let (_, id) = held.remove(0);
                let failure = failure("503", retry_after_ms.map(|ms| now + ms), &policy);
                self.both(async |store| {
                    let fate = store.fail(id, HOLDERS[*holder], &failure, at(now)).await;
                    Answer::Failed(fate.unwrap())
                })
                .await
            }
            Step::Batch { holder } => {
                let Some(&(integration, _)) = self.held.get(holder).and_then(|h| h.first()) else {
                    return Ok(());
                };
                let ids: Vec<i64> = self.held[holder]
                    .iter()
                    .filter(|t| t.0 == integration)
                    .map(|t| t.1)
                    .collect();
                let key = format!("batch-{}", self.payloads);
                let other = lease(HOLDERS[1 - holder], now, now + LEASE_MS);
                let name = INTEGRATIONS[integration];
                self.both(async |store| {
                    store.set_batch_key(&ids, &key).await.unwrap();
                    let keys = std::slice::from_ref(&key);
                    let claimed = store.claim_batches(name, keys, &other).await.unwrap();
                    Answer::Claimed(0, claimed)
                })
                .await
            }
            Step::Replay { integration } => {
                let name = INTEGRATIONS[*integration];
                self.both(async |store| {
                    Answer::Replayed(store.replay_dead(name, &[], at(now)).await.unwrap())
                })
                .await
            }
            Step::Skip { id } => {
                self.both(async |store| Answer::Changed(store.skip(*id, at(now)).await.unwrap()))
                    .await
            }
            Step::ReplayOne { id } => {
                self.both(async |store| Answer::Changed(store.replay(*id, at(now)).await.unwrap()))
                    .await
            }
            Step::Reject { integration, key } => {
                let rejected = Rejected {
                    key: &format!("K{key}"),
                    raw: "not json",
                    reason: "not JSON",
                };
                let name = INTEGRATIONS[*integration];
                self.both(async |store| {
                    Answer::Rejected(store.reject(name, &rejected, at(now)).await.unwrap())
                })
                .await
            }
            Step::Release { node } => {
                self.both(async |store| {
                    store.release_node(NODES[*node], at(now)).await.unwrap();
                    Answer::Done
                })
                .await
            }
            Step::Renew { node } => {
                let lease = lease(NODES[*node], now, now + LEASE_MS);
                self.both(async |store| {
                    store.renew_leases(&lease).await.unwrap();
                    Answer::Done
                })
                .await
            }
            Step::Prune { age_ms } => {
                let before = at(now - age_ms);
                let retention = Retention {
                    finished_tasks: before,
                    dead_tasks: before,
                    executions: Minute::containing(before),
                    rate_windows: Minute::containing(before),
                };
                self.both(async |store| Answer::Pruned(store.prune(&retention, 3).await.unwrap()))
                    .await
            }
            Step::Wait { ms } => {
                self.now += ms;
                (Answer::Done, Answer::Done)
            }
        };
        prop_assert_eq!(on_disk, in_memory, "the answers to {:?}", step);
        self.same_counts().await?;
        self.same_listings().await
    }

    /// The ids of the finished tasks the store on disk keeps.
    async fn finished_ids(&self) -> Vec<i64> {
        let finished = TaskQuery {
            status: Some(TaskStatus::Finished),
            limit: u32::MAX,
            ..TaskQuery::default()
        };
        let tasks = self.disk.tasks(&finished).await.unwrap();
        tasks.into_iter().map(|t| t.id).collect()
    }

    /// What either store lists of tasks (the finished ones on disk left
    /// out) and their errors, and whether there is work.
    async fn same_listings(&self) -> Result<(), TestCaseError> {
        let finished = self.finished_ids().await;
        let all = TaskQuery {
            limit: u32::MAX,
            ..TaskQuery::default()
        };
        let kept = |tasks: Vec<Task>| -> Vec<Task> {
            tasks
                .into_iter()
                .filter(|t| !finished.contains(&t.id))
                .collect()
        };
        let on_disk = kept(self.disk.tasks(&all).await.unwrap());
        prop_assert_eq!(&on_disk, &self.memory.tasks(&all).await.unwrap());
        for task in &on_disk {
            prop_assert_eq!(
                self.disk.task(task.id).await.unwrap(),
                self.memory.task(task.id).await.unwrap()
            );
            prop_assert_eq!(
                self.disk.task_errors(task.id).await.unwrap(),
                self.memory.task_errors(task.id).await.unwrap(),
                "the errors of task {}",
                task.id
            );
        }
        for &task in &finished {
            prop_assert_eq!(
                self.disk.task_errors(task).await.unwrap(),
                self.memory.task_errors(task).await.unwrap(),
                "the errors of finished task {}",
                task
            );
        }
        // Errors at one instant of one task come in no set order on disk.
        let errors = |mut errors: Vec<TaskError>| -> Vec<TaskError> {
            errors.sort_by_key(|e| (e.at, e.task, e.attempt));
            errors
        };
        prop_assert_eq!(
            errors(self.disk.recent_errors(u32::MAX).await.unwrap()),
            errors(self.memory.recent_errors(u32::MAX).await.unwrap())
        );
        prop_assert_eq!(
            self.disk.oldest_queued().await.unwrap(),
            self.memory.oldest_queued().await.unwrap()
        );
        for integration in INTEGRATIONS {
            prop_assert_eq!(
                self.disk.has_work(integration, at(self.now)).await.unwrap(),
                self.memory
                    .has_work(integration, at(self.now))
                    .await
                    .unwrap()
            );
        }
        let (disk, memory) = (
            self.disk.row_counts().await.unwrap(),
            self.memory.row_counts().await.unwrap(),
        );
        prop_assert_eq!(disk.tasks - finished.len() as u64, memory.tasks);
        prop_assert_eq!(disk.task_errors, memory.task_errors);
        Ok(())
    }

    /// Every count either store gives, at every instant queued so far.
    async fn same_counts(&self) -> Result<(), TestCaseError> {
        prop_assert_eq!(
            self.disk.task_counts().await.unwrap(),
            self.memory.task_counts().await.unwrap()
        );
        for integration in INTEGRATIONS {
            for status in TaskStatus::ALL {
                prop_assert_eq!(
                    self.disk.count(integration, status).await.unwrap(),
                    self.memory.count(integration, status).await.unwrap(),
                    "{} {:?}",
                    integration,
                    status
                );
            }
            for ms in (0..=self.now).step_by(500).chain([self.now]) {
                prop_assert_eq!(
                    self.disk.queued_by(integration, at(ms)).await.unwrap(),
                    self.memory.queued_by(integration, at(ms)).await.unwrap(),
                    "{} queued by {}",
                    integration,
                    ms
                );
            }
        }
        Ok(())
    }
}

/// A store in a fresh directory of its own, and that directory.
async fn disk_store() -> (Store, std::path::PathBuf) {
    static COUNTER: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let dir = std::env::temp_dir().join(format!(
        "pacer-in-memory-{}-{}",
        std::process::id(),
        COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let url = format!("sqlite://{}", dir.join("pacer.db").display());
    (StoreBuilder::new(&url).open().await.unwrap(), dir)
}

async fn play(steps: &[Step]) -> Result<(), TestCaseError> {
    let (disk, dir) = disk_store().await;
    let played = play_on(disk, steps).await;
    let _ = std::fs::remove_dir_all(dir);
    played
}

async fn play_on(disk: Store, steps: &[Step]) -> Result<(), TestCaseError> {
    let mut pair = Pair {
        disk,
        memory: StoreBuilder::in_memory().open().await.unwrap(),
        held: HashMap::new(),
        now: 0,
        payloads: 0,
    };
    for step in steps {
        pair.apply(step).await?;
    }
    // Everyone delivers what they hold: the difference that remains is
    // the promise, finished tasks listed on disk and not in memory.
    for holder in 0..HOLDERS.len() {
        for integration in 0..INTEGRATIONS.len() {
            let done = pair.held.get(&holder).map_or(0, Vec::len);
            let step = Step::Claim {
                integration,
                holder,
                limit: 0,
                done,
            };
            pair.apply(&step).await?;
        }
    }
    let finished = TaskQuery {
        status: Some(TaskStatus::Finished),
        limit: u32::MAX,
        ..TaskQuery::default()
    };
    let on_disk = pair.disk.tasks(&finished).await.unwrap().len() as u64;
    let counted: u64 = pair
        .memory
        .task_counts()
        .await
        .unwrap()
        .iter()
        .filter(|(_, status, _)| *status == TaskStatus::Finished)
        .map(|(_, _, n)| n)
        .sum();
    prop_assert_eq!(counted, on_disk);
    prop_assert!(pair.memory.tasks(&finished).await.unwrap().is_empty());
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 64,
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn the_in_memory_store_answers_as_one_on_disk(steps in prop::collection::vec(step(), 1..40)) {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        runtime.block_on(play(&steps))?;
    }
}
