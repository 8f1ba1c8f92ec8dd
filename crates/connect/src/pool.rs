//! The threads jq runs on: off the async runtime, with room to recurse.
//!
//! A filter over a page may take up to its deadline (a second) of CPU; on a
//! runtime thread that would stall every other request. And a run may
//! recurse up to [`pacer_jq::Limits::stack`], then free a value built a
//! level per step by recursion too, which takes more stack than a runtime
//! thread has: these threads have [`STACK`].

use std::{
    panic::{AssertUnwindSafe, catch_unwind},
    sync::{Arc, Mutex, OnceLock, mpsc},
};

use crate::Error;

/// Reserved, not committed: the kernel backs only the pages a run touches.
const STACK: usize = 256 << 20;

type Job = Box<dyn FnOnce() + Send>;

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
        _ => Err(Error::Permanent(
            "reading records failed unexpectedly (a bug in Pacer); the record is kept".into(),
        )),
    }
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
