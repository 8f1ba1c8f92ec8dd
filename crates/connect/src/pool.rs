//! The threads jq runs on: off the async runtime, with room to recurse.
//!
//! A filter over a page may take up to its deadline (a second) of CPU; on a
//! runtime thread that would stall every other request. And a run may
//! recurse up to [`pacer_jq::Limits::stack`], then free a value built a
//! level per step by recursion too, which takes more stack than a runtime
//! thread has: these threads have [`STACK`].
//!
//! A simulation is the exception ([`inline`]): its virtual clock runs one
//! task at a time, so handing jq to another thread and waiting for it buys
//! nothing and costs two thread switches a page and a batch.

use std::{
    cell::Cell,
    panic::{AssertUnwindSafe, catch_unwind},
    sync::{Arc, Mutex, OnceLock, mpsc},
};

use crate::Error;

/// Reserved, not committed: the kernel backs only the pages a run touches.
const STACK: usize = 256 << 20;

type Job = Box<dyn FnOnce() + Send>;

thread_local! {
    /// Set on the thread [`inline`] starts: jq runs there, where it is asked.
    static INLINE: Cell<bool> = const { Cell::new(false) };
}

/// Runs `work` on a thread of its own, with the jq threads' stack, on which
/// jq runs where it is asked instead of on the jq threads. For work that
/// runs one task at a time anyway, on a current-thread runtime: a
/// simulation on its virtual clock, where nothing else could run while
/// jq works.
///
/// # Errors
///
/// The thread could not be started.
///
/// # Panics
///
/// When `work` panics: the panic goes on in the caller.
pub fn inline<T: Send>(work: impl FnOnce() -> T + Send) -> std::io::Result<T> {
    std::thread::scope(|scope| {
        let thread = std::thread::Builder::new()
            .name("pacer-inline".into())
            .stack_size(STACK)
            .spawn_scoped(scope, || {
                INLINE.set(true);
                work()
            })?;
        Ok(thread
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic)))
    })
}

/// Runs `work` on one of the jq threads and waits for it without blocking
/// the runtime.
///
/// # Errors
///
/// The threads could not be started, or `work` panicked (a bug: filters
/// report their failures as values).
pub(crate) async fn run<T: Send + 'static>(
    work: impl FnOnce() -> T + Send + 'static,
) -> Result<T, Error> {
    if INLINE.get() {
        return catch_unwind(AssertUnwindSafe(work)).map_err(|_| unexpected());
    }
    let (done, result) = tokio::sync::oneshot::channel();
    let job: Job = Box::new(move || {
        let _ = done.send(catch_unwind(AssertUnwindSafe(work)));
    });
    let sent = threads()
        .ok_or_else(|| Error::Permanent("cannot start the threads jq runs on".into()))?
        .send(job);
    if sent.is_err() {
        return Err(Error::Permanent(
            "the threads jq runs on have stopped".into(),
        ));
    }
    match result.await {
        Ok(Ok(value)) => Ok(value),
        _ => Err(unexpected()),
    }
}

/// `work` panicked, or its thread went away.
fn unexpected() -> Error {
    Error::Permanent(
        "reading records failed unexpectedly (a bug in Pacer); the record is kept".into(),
    )
}

/// The queue of the process's jq threads, one per CPU (at least two),
/// started on first use; `None` if not one could be started.
fn threads() -> Option<&'static mpsc::Sender<Job>> {
    static QUEUE: OnceLock<Option<mpsc::Sender<Job>>> = OnceLock::new();
    QUEUE
        .get_or_init(|| {
            let (queue, jobs) = mpsc::channel::<Job>();
            let jobs = Arc::new(Mutex::new(jobs));
            let count = std::thread::available_parallelism().map_or(2, |n| n.get().clamp(2, 16));
            let started = (0..count)
                .filter(|n| {
                    let jobs = jobs.clone();
                    std::thread::Builder::new()
                        .name(format!("pacer-jq-{n}"))
                        .stack_size(STACK)
                        .spawn(move || {
                            loop {
                                let next = jobs.lock().unwrap_or_else(|e| e.into_inner()).recv();
                                match next {
                                    Ok(job) => job(),
                                    Err(_) => return,
                                }
                            }
                        })
                        .is_ok()
                })
                .count();
            (started > 0).then_some(queue)
        })
        .as_ref()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn thread_name() -> Option<String> {
        std::thread::current().name().map(str::to_string)
    }

    /// Deep enough to overflow a runtime thread's stack (2 MB), as a deep
    /// jq recursion would.
    fn deep(n: u32) -> u64 {
        let frame = std::hint::black_box([u64::from(n); 64]);
        if n == 0 {
            frame[0]
        } else {
            deep(n - 1) + frame[1] - frame[2] + 1
        }
    }

    #[tokio::test]
    async fn jq_runs_on_its_threads_by_default() {
        let name = run(thread_name).await.unwrap().unwrap();
        assert!(name.starts_with("pacer-jq-"), "ran on {name}");
    }

    #[test]
    fn inline_runs_jq_where_it_is_asked_with_room_to_recurse() {
        let (name, depth) = inline(|| {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .build()
                .unwrap();
            runtime.block_on(async {
                let name = run(thread_name).await.unwrap();
                let depth = run(|| deep(100_000)).await.unwrap();
                (name, depth)
            })
        })
        .unwrap();
        assert_eq!(name.as_deref(), Some("pacer-inline"));
        assert_eq!(depth, 100_000);
    }

    #[test]
    fn a_panic_inline_is_an_error_like_on_the_jq_threads() {
        let answer = inline(|| {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .build()
                .unwrap();
            runtime.block_on(run(|| -> u32 { panic!("a bug") }))
        })
        .unwrap();
        assert!(matches!(answer, Err(Error::Permanent(e)) if e.contains("a bug in Pacer")));
    }
}
