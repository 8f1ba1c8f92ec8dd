//! Pacer's durable state behind one API, on SQLite (the embedded default) or
//! PostgreSQL (several nodes sharing one database).
//!
//! - the **executions ledger**: (job, scheduled minute) is recorded once, so
//!   of any number of nodes exactly one runs each minute;
//! - the **task queue**: records between pull and push, deduplicated by key,
//!   claimed under leases that expire when a claimer dies, retried with
//!   exponential backoff and jitter, dead after too many attempts, replayable;
//! - **cursors**, written in the same transaction as the tasks of a pull;
//! - **capacity slots**: at most N executions at once across all nodes, each
//!   slot a lease with a heartbeat, so a crashed node's slots come back;
//! - **pruning** of finished tasks and old executions, in bounded batches.
//!
//! SQL lives only in this crate; no database type appears in its API.
//!
//! # Example
//!
//! ```
//! # tokio::runtime::Runtime::new().unwrap().block_on(async {
//! use jiff::{SignedDuration, Timestamp};
//! use pacer_store::{Cursor, Due, Lease, Minute, NewTask, StoreBuilder};
//!
//! let dir = std::env::temp_dir().join(format!("pacer-doc-{}", std::process::id()));
//! std::fs::create_dir_all(&dir).unwrap();
//! let url = format!("sqlite://{}", dir.join("pacer.db").display());
//! let store = StoreBuilder::new(&url).open().await?;
//!
//! let now: Timestamp = "2026-11-27T10:00:05Z".parse().unwrap();
//! let minute = Minute::containing(now);
//! let due = Due { job: "prices.pull", minute, node: "node-1", at: now };
//! assert!(store.record_due(&due).await?);
//! assert!(!store.record_due(&due).await?);
//!
//! let price = NewTask { key: "SKU-1".into(), payload: r#"{"amount": 10}"#.into() };
//! let read_up_to = Cursor::at("2026-11-27T10:00:00Z");
//! store.enqueue("prices", &[price], Some(&read_up_to), now).await?;
//! let lease = Lease { holder: "node-1", from: now, until: now + SignedDuration::from_mins(1) };
//! let claimed = store.claim("prices", 10, &lease).await?;
//! assert_eq!(claimed.len(), 1);
//! assert!(store.complete(claimed[0].id, "node-1", now).await?);
//! assert_eq!(store.cursor("prices").await?, Some(read_up_to));
//! # Ok::<(), pacer_store::Error>(())
//! # }).unwrap();
//! ```

#![deny(missing_docs)]

pub use crate::{
    error::Error,
    model::{
        Alert, Claimed, Cursor, Due, Execution, ExecutionChange, ExecutionQuery, ExecutionState,
        FailOutcome, Failure, Interrupted, JobControl, Lease, NewTask, NodeProcess, Pruned,
        PushBack, RateRequest, Rejected, Retention, RetryPolicy, RowCounts, SystemMinute, Task,
        TaskError, TaskQuery, TaskStatus,
    },
    store::{Store, StoreBuilder},
    time::Minute,
};

mod error;
mod memory;
mod model;
mod postgres;
mod schema;
mod shared;
mod sql;
mod sqlite;
mod store;
mod time;
