//! `pacer run` killed with SIGKILL mid-run and started again, ten times:
//! every change is delivered, a change delivered twice only under the same
//! idempotency key (a delivery in flight when the process died), nothing a
//! dead process had waiting or running is left so, and no job is held back
//! as "still running" by a process that is gone.

use std::{
    process::{Child, Command, Stdio},
    sync::Arc,
    time::{Duration, Instant},
};

use pacer_mock::{Feed, MockSystem, Running};

fn serve(name: &str, feeds: Vec<Feed>) -> impl std::future::Future<Output = Running> {
    let system = MockSystem {
        name: name.into(),
        rate_per_minute: None,
        feeds,
        start: jiff::Timestamp::now(),
        now: Arc::new(jiff::Timestamp::now),
    };
    async move {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        pacer_mock::serve(system, listener).unwrap()
    }
}

fn start(config: &std::path::Path) -> Child {
    Command::new(env!("CARGO_BIN_EXE_pacer"))
        .args([
            "run",
            config.to_str().unwrap(),
            "--speed",
            "60",
            "--listen",
            "127.0.0.1:0",
        ])
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_and_restarted_it_loses_nothing() {
    // 600 changes over the first 20 real seconds.
    let total = 600;
    let erp = serve(
        "erp",
        vec![Feed {
            entity: "prices".into(),
            volume_per_day: 600.0 * 86_400.0 / 20.0,
            total: Some(total),
            profile: None,
        }],
    )
    .await;
    let shop = serve("webshop", Vec::new()).await;
    let dir = std::env::temp_dir().join(format!("pacer-kill-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let config = dir.join("kill.yaml");
    // Every minute of schedule time (a real second), 40 items a run each way.
    let yaml = format!(
        "environment: {{ capacity: 2 }}\n\
         systems:\n  erp: {{ rate: 6000/min, base_url: \"{}\" }}\n  webshop: {{ rate: 6000/min, base_url: \"{}\" }}\n\
         integrations:\n  prices:\n    from: erp\n    to: webshop\n    volume: 50000/day\n\
         \x20   pull: {{ schedule: \"* * * * *\", max_items: 40 }}\n\
         \x20   push: {{ schedule: \"* * * * *\", max_items: 40, request: {{ path: \"/prices/{{{{ key }}}}\" }} }}\n",
        erp.base_url(),
        shop.base_url()
    );
    std::fs::write(&config, yaml).unwrap();

    let mut run = start(&config);
    for kill_after in [
        1_500, 2_100, 1_700, 900, 2_500, 1_300, 1_900, 1_100, 2_300, 1_600,
    ] {
        tokio::time::sleep(Duration::from_millis(kill_after)).await;
        run.kill().unwrap(); // SIGKILL: no shutdown, leases left behind
        run.wait().unwrap();
        run = start(&config);
    }
    let deadline = Instant::now() + Duration::from_secs(120);
    while shop
        .stats()
        .accepted
        .get("prices")
        .is_none_or(|a| a.distinct < total)
        && Instant::now() < deadline
    {
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    // The last one stops as it should, SIGTERM, and must not need its grace.
    let stopping = Instant::now();
    Command::new("kill")
        .args(["-TERM", &run.id().to_string()])
        .status()
        .unwrap();
    run.wait().unwrap();
    let stopped_in = stopping.elapsed();

    let store = pacer_store::StoreBuilder::new(&format!(
        "sqlite://{}",
        dir.join("kill.speed.db").display()
    ))
    .open()
    .await
    .unwrap();
    let ledger = store.executions(0, u32::MAX).await.unwrap();
    let _ = std::fs::remove_dir_all(&dir);
    let left: Vec<_> = ledger
        .iter()
        .filter(|e| e.state == "waiting" || e.state == "running")
        .collect();
    assert!(left.is_empty(), "left by dead processes: {left:#?}");
    let held_back: Vec<_> = ledger
        .iter()
        .filter(|e| e.error.as_deref() == Some("the previous execution is still running"))
        .collect();
    assert!(
        held_back.is_empty(),
        "held back by a process that was gone: {held_back:#?}"
    );
    assert!(
        stopped_in < Duration::from_secs(10),
        "SIGTERM took {stopped_in:?}"
    );

    let accepted = &shop.stats().accepted["prices"];
    assert_eq!(accepted.distinct, total, "every change was delivered");
    assert_eq!(
        accepted.duplicates_without_key, 0,
        "a repeated delivery always carried the same idempotency key"
    );
    assert_eq!(erp.stats().feeds["prices"].produced, total);
}
