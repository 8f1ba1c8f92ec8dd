//! The in-memory store a simulation runs on answers as a SQLite store on
//! disk does. It forgets each task as it finishes and keeps only a count, so
//! the same operations in the same order, on both, must give the same
//! claims, outcomes, counts and queued-by figures; only the list of finished
//! tasks differs, and that difference is the promise.

use std::collections::HashMap;

use pacer_store::{
    Claimed, FailOutcome, NewTask, RetryPolicy, Store, StoreBuilder, TaskQuery, TaskStatus,
};
use proptest::prelude::*;
use support::{at, failure, lease};

mod support;

const INTEGRATIONS: [&str; 2] = ["prices", "stock"];
const HOLDERS: [&str; 2] = ["node-a/push", "node-b/push"];
/// How long a claim's lease lasts: steps move time by up to more than
/// this, so some leases run out and their tasks are claimed again.
const LEASE_MS: i64 = 1_000;

/// One thing a push loop, a pull or an operator does to the queue.
#[derive(Clone, Debug)]
enum Step {
    /// Queue records with these keys (payloads are unique per step).
    Enqueue { integration: usize, keys: Vec<u8> },
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
    Batch { holder: usize },
    /// Dead tasks go again.
    Replay { integration: usize },
    /// Time passes.
    Wait { ms: i64 },
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
            Step::Wait { ms } => {
                self.now += ms;
                (Answer::Done, Answer::Done)
            }
        };
        prop_assert_eq!(on_disk, in_memory, "the answers to {:?}", step);
        self.same_counts().await
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
