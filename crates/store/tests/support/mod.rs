//! Time in the store's tests and benchmarks: small numbers of
//! milliseconds from the Unix epoch, as the store's API takes them typed.

#![allow(dead_code)]

use jiff::Timestamp;
use pacer_store::{Failure, Lease, Minute, RetryPolicy};

/// The instant `ms` milliseconds after the Unix epoch.
pub(crate) fn at(ms: i64) -> Timestamp {
    Timestamp::from_millisecond(ms).unwrap()
}

/// The minute `ms` milliseconds after the epoch falls in.
pub(crate) fn minute_at(ms: i64) -> Minute {
    Minute::containing(at(ms))
}

/// A lease `holder` takes at `from_ms` until `until_ms`.
pub(crate) fn lease(holder: &str, from_ms: i64, until_ms: i64) -> Lease<'_> {
    Lease {
        holder,
        from: at(from_ms),
        until: at(until_ms),
    }
}

/// A failed delivery, retried at `retry_after_ms` when given.
pub(crate) fn failure<'a>(
    error: &'a str,
    retry_after_ms: Option<i64>,
    policy: &'a RetryPolicy,
) -> Failure<'a> {
    Failure {
        error,
        retry_after: retry_after_ms.map(at),
        policy,
    }
}
