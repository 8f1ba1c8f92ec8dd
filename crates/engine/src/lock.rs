//! [`Locked`]: one way to take a `std::sync::Mutex`.

use std::sync::{Mutex, MutexGuard, PoisonError};

/// Takes a mutex also after a panic elsewhere poisoned it. What the
/// engine's mutexes guard is plain data that no panic leaves half-changed
/// (counters, maps, a slot); one failed task must not stop every other.
pub(crate) trait Locked<T> {
    /// The guard, poisoned or not.
    fn locked(&self) -> MutexGuard<'_, T>;
}

impl<T> Locked<T> for Mutex<T> {
    fn locked(&self) -> MutexGuard<'_, T> {
        self.lock().unwrap_or_else(PoisonError::into_inner)
    }
}
