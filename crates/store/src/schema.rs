//! The schema, written once: the steps both backends take, in order, each
//! numbered by its place among the steps a backend takes (the numbers the
//! stores already written carry).
//!
//! Scripts are written as PostgreSQL reads them; [`for_sqlite`] renames the
//! three column types SQLite spells otherwise.

/// Which backends take a step.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Backend {
    Sqlite,
    Postgres,
}

struct Step {
    script: &'static str,
    /// `None`: both.
    only: Option<Backend>,
}

const fn both(script: &'static str) -> Step {
    Step { script, only: None }
}

const STEPS: &[Step] = &[
    both(
        "CREATE TABLE executions (
        job TEXT NOT NULL,
        minute BIGINT NOT NULL,
        state TEXT NOT NULL,
        due_at BIGINT NOT NULL,
        started_at BIGINT,
        finished_at BIGINT,
        items BIGINT NOT NULL DEFAULT 0,
        error TEXT,
        PRIMARY KEY (job, minute)
    );
    CREATE TABLE tasks (
        id BIGSERIAL PRIMARY KEY,
        integration TEXT NOT NULL,
        dedup_key TEXT NOT NULL,
        payload TEXT NOT NULL,
        status TEXT NOT NULL,
        attempts BIGINT NOT NULL DEFAULT 0,
        next_attempt_at BIGINT NOT NULL,
        lease_owner TEXT,
        lease_until BIGINT,
        last_error TEXT,
        created_at BIGINT NOT NULL,
        updated_at BIGINT NOT NULL
    );
    CREATE UNIQUE INDEX tasks_pending_key ON tasks (integration, dedup_key)
        WHERE status IN ('new', 'failed');
    CREATE INDEX tasks_claimable ON tasks (integration, status, next_attempt_at);
    CREATE TABLE cursors (
        integration TEXT PRIMARY KEY,
        value TEXT NOT NULL,
        updated_at BIGINT NOT NULL
    );",
    ),
    both(
        "CREATE TABLE slots (
        slot BIGINT PRIMARY KEY,
        holder TEXT,
        execution TEXT,
        lease_until BIGINT
    );
    CREATE INDEX executions_by_age ON executions (minute);
    CREATE INDEX tasks_live ON tasks (integration, id)
        WHERE status IN ('new', 'failed', 'processing');
    CREATE INDEX tasks_by_age ON tasks (status, updated_at);",
    ),
    both(
        "CREATE TABLE rate_windows (
        system TEXT NOT NULL,
        window_start BIGINT NOT NULL,
        used BIGINT NOT NULL,
        PRIMARY KEY (system, window_start)
    );
    CREATE TABLE job_controls (
        job TEXT PRIMARY KEY,
        paused BOOLEAN NOT NULL DEFAULT FALSE,
        triggered_at BIGINT
    );",
    ),
    both(
        "CREATE TABLE task_errors (
        task_id BIGINT NOT NULL,
        attempt BIGINT NOT NULL,
        at BIGINT NOT NULL,
        error TEXT NOT NULL
    );
    CREATE INDEX task_errors_by_task ON task_errors (task_id, attempt);
    CREATE INDEX task_errors_by_age ON task_errors (at);
    CREATE TABLE nodes (
        node TEXT PRIMARY KEY,
        seen_at BIGINT NOT NULL
    );",
    ),
    // SQLite's rate take writes what it granted in the same statement
    // (RETURNING); PostgreSQL reads and writes under a row lock instead.
    Step {
        script: "ALTER TABLE rate_windows ADD COLUMN granted BIGINT NOT NULL DEFAULT 0;",
        only: Some(Backend::Sqlite),
    },
    // Every index over all tasks is written on each change of status —
    // three per task — so the ones no claim needs go. Finished tasks
    // (prunes, counts) and dead or skipped ones (counts) get partial
    // indexes, written once per task when it ends.
    both(
        "DROP INDEX tasks_claimable;
    DROP INDEX tasks_by_age;
    CREATE INDEX tasks_finished ON tasks (integration, updated_at) WHERE status = 'finished';
    CREATE INDEX tasks_ended ON tasks (integration, status) WHERE status IN ('dead', 'skipped');",
    ),
    // The node an execution waits or runs on, so that when it stops beating
    // a live node marks what it left behind `interrupted`.
    both(
        "ALTER TABLE executions ADD COLUMN node TEXT;
    CREATE INDEX executions_open ON executions (minute)
        WHERE state IN ('due', 'waiting', 'running');",
    ),
    // The Idempotency-Key a task was sent under in a batch, so after a crash
    // the same tasks go again, together, under the same key.
    both(
        "ALTER TABLE tasks ADD COLUMN batch_key TEXT;
    CREATE INDEX tasks_by_batch ON tasks (integration, batch_key)
        WHERE batch_key IS NOT NULL AND status IN ('new', 'failed', 'processing');",
    ),
    // Where a node's process runs: a node restarted on the same machine
    // finds its dead predecessor's rows and frees them at once.
    both(
        "ALTER TABLE nodes ADD COLUMN machine TEXT;
    ALTER TABLE nodes ADD COLUMN pid BIGINT;",
    ),
    // The records a pull read at its cursor's value, so a source that
    // filters `>=` does not deliver them again: fingerprints, space-separated.
    both("ALTER TABLE cursors ADD COLUMN boundary TEXT NOT NULL DEFAULT '';"),
    // Retention: work one node of the cluster does a round (a prune), and
    // the index its rate-window deletes read by age.
    both(
        "CREATE TABLE chores (
        chore TEXT PRIMARY KEY,
        node TEXT NOT NULL,
        last_at BIGINT NOT NULL
    );
    CREATE INDEX rate_windows_by_age ON rate_windows (window_start);
    CREATE INDEX tasks_dead ON tasks (updated_at) WHERE status = 'dead';",
    ),
    // Alerts: each condition that holds, for what, since when, when it was
    // last sent and since when it is clear; a node that stopped cleanly is
    // not lost.
    both(
        "CREATE TABLE alerts (
        condition TEXT NOT NULL,
        subject TEXT NOT NULL,
        message TEXT NOT NULL,
        since BIGINT NOT NULL,
        fired_at BIGINT,
        sent_at BIGINT,
        cleared_at BIGINT,
        PRIMARY KEY (condition, subject)
    );
    ALTER TABLE nodes ADD COLUMN stopped_at BIGINT;",
    ),
    // What each system answered back in each minute: answers that said
    // slow down (429, Retry-After), answers that failed in a way a retry
    // may fix (timeouts, 5xx, refused connections), and the items those
    // answers did not take, beside what was used: plans learn from them.
    both(
        "ALTER TABLE rate_windows ADD COLUMN throttled BIGINT NOT NULL DEFAULT 0;
    ALTER TABLE rate_windows ADD COLUMN failed BIGINT NOT NULL DEFAULT 0;
    ALTER TABLE rate_windows ADD COLUMN refused BIGINT NOT NULL DEFAULT 0;",
    ),
];

/// The migrations `backend` takes: (version, script as it reads it).
pub(crate) fn migrations(backend: Backend) -> Vec<(i64, String)> {
    STEPS
        .iter()
        .filter(|step| step.only.is_none_or(|only| only == backend))
        .zip(1..)
        .map(|(step, version)| {
            let script = match backend {
                Backend::Sqlite => for_sqlite(step.script),
                Backend::Postgres => step.script.to_string(),
            };
            (version, script)
        })
        .collect()
}

/// A script as SQLite spells its types: a key that numbers itself is
/// `INTEGER PRIMARY KEY AUTOINCREMENT` (only `INTEGER` makes it the row id),
/// and a flag an integer.
fn for_sqlite(script: &str) -> String {
    script
        .replace("BIGSERIAL PRIMARY KEY", "INTEGER PRIMARY KEY AUTOINCREMENT")
        .replace(
            "BOOLEAN NOT NULL DEFAULT FALSE",
            "INTEGER NOT NULL DEFAULT 0",
        )
        .replace("BIGINT", "INTEGER")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_backend_keeps_the_versions_its_stores_carry() {
        let sqlite = migrations(Backend::Sqlite);
        let postgres = migrations(Backend::Postgres);
        assert_eq!(sqlite.len(), 13);
        assert_eq!(postgres.len(), 12);
        // What systems answered back, the last step: the same on both.
        assert!(
            sqlite[12]
                .1
                .contains("ADD COLUMN throttled INTEGER NOT NULL DEFAULT 0")
        );
        assert!(
            postgres[11]
                .1
                .contains("ADD COLUMN refused BIGINT NOT NULL DEFAULT 0")
        );
        assert!(sqlite[4].1.contains("granted INTEGER NOT NULL"));
        assert!(postgres[4].1.starts_with("DROP INDEX tasks_claimable"));
        assert!(sqlite[0].1.contains("id INTEGER PRIMARY KEY AUTOINCREMENT"));
        assert!(!sqlite.iter().any(|(_, s)| s.contains("BIG")));
        assert!(
            postgres[2]
                .1
                .contains("paused BOOLEAN NOT NULL DEFAULT FALSE")
        );
    }
}
