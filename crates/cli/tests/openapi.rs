//! schemathesis (PyPI, pinned in tests/schemathesis) fuzzes a running
//! Pacer's API against its OpenAPI document: every operation, valid and
//! invalid requests, each answer against the schema it documents.

mod support;

use std::{
    process::{Command, Stdio},
    time::{Duration, Instant},
};

use support::{free_port, read_log};

const TOKEN: &str = "schemathesis-tok-8d1e";

#[test]
fn the_api_answers_as_its_openapi_document_says() {
    let st = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../tests/schemathesis/.venv/bin/st"
    );
    assert!(
        std::path::Path::new(st).exists(),
        "schemathesis is needed: run tests/setup (.ci/run does)"
    );
    let port = free_port();
    let mut demo = Command::new(env!("CARGO_BIN_EXE_pacer"))
        .args([
            "demo",
            "--speed",
            "60",
            "--listen",
            &format!("127.0.0.1:{port}"),
        ])
        .env("PACER_API_TOKEN", TOKEN)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let log = read_log(&mut demo);
    let base = format!("http://127.0.0.1:{port}");
    let started = Instant::now();
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "the demo did not listen"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    // A fixed seed and a bounded number of examples: the same run each time.
    let run = Command::new(st)
        .args(["run", &format!("{base}/api/v1/openapi.json")])
        .args(["-H", &format!("Authorization: Bearer {TOKEN}")])
        .args(["--checks", "all", "--max-examples", "20", "--seed", "1"])
        .env("NO_COLOR", "1")
        // It keeps its state where it runs: not in the repository.
        .current_dir(std::env::temp_dir())
        .output()
        .unwrap();
    let _ = demo.kill();
    let _ = demo.wait();
    let said = String::from_utf8_lossy(&run.stdout);
    assert!(
        run.status.success(),
        "schemathesis found failures:\n{said}\n{}\nthe demo's log:\n{}",
        String::from_utf8_lossy(&run.stderr),
        log.join().unwrap_or_default()
    );
    assert!(
        said.contains("Tested: 19"),
        "every operation tested:\n{said}"
    );
}
