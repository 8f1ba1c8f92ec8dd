//! Crash safety: a process holding leases is killed with SIGKILL, and another
//! killed in the middle of a transaction; what they held comes back, and
//! what they half-wrote never appears.
//!
//! The child is this test binary run again with `PACER_CRASH_CHILD` set: it
//! does its part, says so on stdout, and waits to be killed.

use std::{
    io::{BufRead, BufReader},
    process::{Command, Stdio},
    time::Duration,
};

use pacer_store::{Cursor, NewTask, Store, StoreBuilder, TaskStatus};
use support::{at, lease};

mod support;

const URL_VAR: &str = "PACER_CRASH_URL";
const SCHEMA_VAR: &str = "PACER_CRASH_SCHEMA";

async fn open(url: &str, schema: Option<&str>) -> Store {
    let mut builder = StoreBuilder::new(url);
    if let Some(schema) = schema {
        builder.schema(schema);
    }
    builder.open().await.unwrap()
}

/// Runs `child` in a new process against the same store, waits for its
/// "ready" line, optionally lingers, then kills it with SIGKILL.
fn run_and_kill(child: &str, url: &str, schema: Option<&str>, linger: Duration) {
    let mut command = Command::new(std::env::current_exe().unwrap());
    command
        .args([child, "--exact", "--nocapture", "--test-threads=1"])
        .env("PACER_CRASH_CHILD", "1")
        .env(URL_VAR, url)
        .stdout(Stdio::piped());
    if let Some(schema) = schema {
        command.env(SCHEMA_VAR, schema);
    }
    let mut process = command.spawn().unwrap();
    let mut lines = BufReader::new(process.stdout.take().unwrap()).lines();
    loop {
        let line = lines.next().expect("the child said nothing").unwrap();
        if line.contains("ready") {
            break;
        }
    }
    std::thread::sleep(linger);
    process.kill().unwrap(); // SIGKILL: no destructors, no goodbyes
    process.wait().unwrap();
}

fn in_child() -> Option<(String, Option<String>)> {
    std::env::var("PACER_CRASH_CHILD").ok()?;
    Some((
        std::env::var(URL_VAR).unwrap(),
        std::env::var(SCHEMA_VAR).ok(),
    ))
}

/// The child's part: claim tasks and a capacity slot, then hang.
#[tokio::test]
async fn child_holding_leases() {
    let Some((url, schema)) = in_child() else {
        return;
    };
    let store = open(&url, schema.as_deref()).await;
    assert_eq!(
        store
            .claim("prices", 10, &lease("doomed", 0, 1_000))
            .await
            .unwrap()
            .len(),
        10
    );
    assert!(
        store
            .acquire_slot(1, "prices.push@0", &lease("doomed", 0, 1_000))
            .await
            .unwrap()
            .is_some()
    );
    println!("ready");
    tokio::time::sleep(Duration::from_secs(600)).await;
}

/// The child's part: start queueing a large batch with a cursor, and hang
/// (it is killed while the transaction runs).
#[tokio::test]
async fn child_in_a_transaction() {
    let Some((url, schema)) = in_child() else {
        return;
    };
    let store = open(&url, schema.as_deref()).await;
    let tasks: Vec<NewTask> = (0..300_000)
        .map(|i| NewTask {
            key: format!("K{i}"),
            payload: "{}".into(),
        })
        .collect();
    println!("ready");
    store
        .enqueue("stock", &tasks, Some(&Cursor::at("after-the-batch")), at(0))
        .await
        .unwrap();
    println!("finished");
    tokio::time::sleep(Duration::from_secs(600)).await;
}

async fn leases_come_back(url: &str, schema: Option<&str>) {
    let store = open(url, schema).await;
    let tasks: Vec<NewTask> = (0..10)
        .map(|i| NewTask {
            key: format!("P{i}"),
            payload: "{}".into(),
        })
        .collect();
    store.enqueue("prices", &tasks, None, at(0)).await.unwrap();
    run_and_kill("child_holding_leases", url, schema, Duration::ZERO);
    // Held while the leases last…
    assert_eq!(
        store.count("prices", TaskStatus::Processing).await.unwrap(),
        10
    );
    assert!(
        store
            .claim("prices", 10, &lease("survivor", 999, 2_000))
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        store
            .acquire_slot(1, "prices.push@1", &lease("survivor", 999, 2_000))
            .await
            .unwrap(),
        None
    );
    // …and back once they run out.
    assert_eq!(
        store
            .claim("prices", 10, &lease("survivor", 1_001, 3_000))
            .await
            .unwrap()
            .len(),
        10
    );
    assert!(
        store
            .acquire_slot(1, "prices.push@1", &lease("survivor", 1_001, 3_000))
            .await
            .unwrap()
            .is_some()
    );
}

async fn half_written_batches_never_appear(url: &str, schema: Option<&str>) {
    let store = open(url, schema).await;
    run_and_kill(
        "child_in_a_transaction",
        url,
        schema,
        Duration::from_millis(150),
    );
    let queued = store.count("stock", TaskStatus::New).await.unwrap();
    let cursor = store.cursor("stock").await.unwrap();
    eprintln!("after the kill: {queued} of 300,000 tasks visible");
    // All or nothing, and the cursor moves only with its tasks.
    match queued {
        0 => assert_eq!(cursor, None),
        300_000 => assert_eq!(cursor, Some(Cursor::at("after-the-batch"))),
        n => panic!("{n} of 300,000 tasks of a killed transaction are visible"),
    }
    // The store is usable after the crash.
    store
        .enqueue(
            "stock",
            &[NewTask {
                key: "after".into(),
                payload: "{}".into(),
            }],
            None,
            at(1),
        )
        .await
        .unwrap();
}

fn sqlite_url(name: &str) -> String {
    let dir = std::env::temp_dir().join(format!("pacer-crash-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    format!("sqlite://{}", dir.join("pacer.db").display())
}

async fn postgres_schema(name: &str) -> (String, String) {
    let url = std::env::var("PACER_TEST_POSTGRES")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_string());
    let schema = format!("pacer_crash_{name}_{}", std::process::id());
    let mut admin = <sqlx::PgConnection as sqlx::Connection>::connect(&url)
        .await
        .unwrap();
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
        "DROP SCHEMA IF EXISTS {schema} CASCADE; CREATE SCHEMA {schema}"
    )))
    .execute(&mut admin)
    .await
    .unwrap();
    (url, schema)
}

#[tokio::test]
async fn killed_holder_leases_come_back_sqlite() {
    if in_child().is_some() {
        return;
    }
    leases_come_back(&sqlite_url("leases"), None).await;
}

#[tokio::test]
async fn killed_holder_leases_come_back_postgres() {
    if in_child().is_some() {
        return;
    }
    let (url, schema) = postgres_schema("leases").await;
    leases_come_back(&url, Some(&schema)).await;
}

#[tokio::test]
async fn killed_transaction_leaves_nothing_behind_sqlite() {
    if in_child().is_some() {
        return;
    }
    half_written_batches_never_appear(&sqlite_url("transaction"), None).await;
}

#[tokio::test]
async fn killed_transaction_leaves_nothing_behind_postgres() {
    if in_child().is_some() {
        return;
    }
    let (url, schema) = postgres_schema("transaction").await;
    half_written_batches_never_appear(&url, Some(&schema)).await;
}
