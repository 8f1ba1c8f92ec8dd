//! The `pacer` binary as a user runs it: arguments in, stdout, stderr and exit code out.

mod support;

use std::{
    io::{BufRead, BufReader},
    path::{Path, PathBuf},
    process::{Command, Output, Stdio},
};

fn pacer(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_pacer"))
        .args(args)
        .output()
        .expect("the pacer binary runs")
}

fn stdout(output: &Output) -> String {
    String::from_utf8(output.stdout.clone()).unwrap()
}

fn stderr(output: &Output) -> String {
    String::from_utf8(output.stderr.clone()).unwrap()
}

#[test]
fn explain_describes_the_expression() {
    let out = pacer(&["explain", "1-59/3 * * * *"]);
    assert!(out.status.success());
    assert_eq!(
        stdout(&out),
        "every 3 minutes, at minutes 1, 4, 7 … 58 past each hour\n"
    );
}

#[test]
fn explain_shows_the_resolved_expression_when_h_is_used() {
    let out = pacer(&["explain", "H/20 * * * *", "--key", "prices.push"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(
        stdout(&out),
        "every 20 minutes, at minutes 16, 36 and 56 past each hour\nresolved: 16-59/20 * * * *\n"
    );
}

#[test]
fn next_prints_rfc3339_json_and_nothing_else() {
    let out = pacer(&[
        "next",
        "30 2 * * *",
        "-n",
        "3",
        "--from",
        "2026-03-27T12:00:00Z",
        "--tz",
        "Europe/Amsterdam",
        "--format",
        "json",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(
        stdout(&out),
        "[\"2026-03-28T02:30:00+01:00\",\"2026-03-29T03:00:00+02:00\",\"2026-03-30T02:30:00+02:00\"]\n"
    );
    let parsed: Vec<String> = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(parsed.len(), 3);
}

#[test]
fn next_text_shows_local_time_weekday_and_zone() {
    let out = pacer(&[
        "next",
        "*/20 * * * *",
        "-n",
        "2",
        "--from",
        "2026-11-27T10:01:30Z",
    ]);
    assert!(out.status.success());
    assert_eq!(
        stdout(&out),
        "2026-11-27T10:20:00+00:00  Fri UTC\n2026-11-27T10:40:00+00:00  Fri UTC\n"
    );
}

#[test]
fn next_defaults_to_five_fires_from_now() {
    let out = pacer(&["next", "* * * * *", "--format", "json"]);
    assert!(out.status.success());
    let fires: Vec<String> = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(fires.len(), 5);
    let first: jiff::Timestamp = fires[0].parse().unwrap();
    assert!(first > jiff::Timestamp::now() - jiff::SignedDuration::from_secs(1));
}

#[test]
fn invalid_expression_exits_2_and_points_at_the_mistake() {
    let out = pacer(&["next", "0 24 * * *"]);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(stdout(&out), "");
    assert_eq!(
        stderr(&out),
        "error: invalid cron expression: hour field, column 3: 24 is out of range, expected 0-23\n  0 24 * * *\n    ^^\n"
    );
}

#[test]
fn h_without_a_key_says_how_to_give_one() {
    let out = pacer(&["explain", "H * * * *"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).ends_with("hint: pass --key NAME (the job's name) to resolve H\n"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn bad_zone_and_bad_instant_exit_2() {
    let out = pacer(&["next", "* * * * *", "--tz", "Europe/Amsterdm"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).starts_with("error: --tz: unknown time zone \"Europe/Amsterdm\""),
        "{}",
        stderr(&out)
    );
    let out = pacer(&["next", "* * * * *", "--from", "yesterday"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).starts_with("error: --from: \"yesterday\" is not an RFC 3339 instant"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn usage_errors_exit_2() {
    assert_eq!(pacer(&["frobnicate"]).status.code(), Some(2));
    assert_eq!(pacer(&["next"]).status.code(), Some(2));
    assert_eq!(
        pacer(&["next", "* * * * *", "-n", "many"]).status.code(),
        Some(2)
    );
    assert_eq!(
        pacer(&["next", "* * * * *", "--format", "xml"])
            .status
            .code(),
        Some(2)
    );
}

#[test]
fn a_closed_pipe_is_not_an_error() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_pacer"))
        .args(["next", "* * * * *", "-n", "1000000"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut first)
        .unwrap();
    assert!(!first.is_empty());
    // Dropping our end of the pipe is what `| head -1` does.
    let status = child.wait().unwrap();
    assert!(status.success(), "{status:?}");
    let mut err = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut err).unwrap();
    assert_eq!(err, "");
}

#[test]
fn fewer_fires_than_asked_is_noted_on_stderr() {
    let out = pacer(&[
        "next",
        "0-59/7 2 * 3 0L",
        "--tz",
        "Europe/Amsterdam",
        "--format",
        "json",
    ]);
    assert!(out.status.success());
    assert_eq!(stdout(&out), "[]\n");
    assert_eq!(
        stderr(&out),
        "note: only 0 of 5 fire times exist before the year 10000 in Europe/Amsterdam \
         (does it match only wall-clock times that daylight saving skips?)\n"
    );
}

const ACME: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples/acme.yaml");

/// A file in a fresh temporary directory, for configurations written by a test.
fn temp_file(test: &str, name: &str, contents: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("pacer-cli-{}-{test}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(name);
    std::fs::write(&path, contents).unwrap();
    path
}

#[test]
fn plan_json_has_the_promised_names() {
    let out = pacer(&["plan", ACME, "--format", "json"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let plan: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    for job in plan["jobs"].as_array().unwrap() {
        for key in [
            "job",
            "executions_per_day",
            "runs_per_hour",
            "runs_per_day",
            "interval_minutes",
            "schedule",
            "items_per_run",
            "duration_minutes",
        ] {
            assert!(!job[key].is_null(), "{key} missing in {job}");
        }
    }
    let pull = plan["jobs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|j| j["job"] == "prices.pull")
        .unwrap();
    assert_eq!(pull["executions_per_day"], 350);
    assert_eq!(pull["runs_per_hour"], 15.0);
    assert_eq!(pull["interval_minutes"], 4);
    assert_eq!(pull["runs_per_day"], 360);
    let load = &plan["load"];
    let by_minute: Vec<u64> = load["by_minute"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_u64().unwrap())
        .collect();
    assert_eq!(by_minute.len(), 1440);
    assert_eq!(load["peak"].as_u64(), by_minute.iter().copied().max());
    assert_eq!(load["capacity"], 2);
    assert!(load["lower_bound"].as_u64().unwrap() <= load["peak"].as_u64().unwrap());
    assert_eq!(plan["fits"], true);
    assert!(plan["warnings"].as_array().unwrap().is_empty());
}

#[test]
fn plan_text_and_markdown() {
    let out = pacer(&["plan", ACME]);
    assert!(out.status.success());
    let text = stdout(&out);
    assert!(text.starts_with("Plan for acme\n"), "{text}");
    assert!(text.contains("prices.pull"), "{text}");
    assert!(
        text.contains("Verdict: fits (schedules read in Europe/Amsterdam)."),
        "{text}"
    );
    let out = pacer(&["plan", ACME, "--format", "markdown"]);
    let markdown = stdout(&out);
    assert!(
        markdown.contains("| job | executions/day | runs/hour | runs/day | interval | schedule |"),
        "{markdown}"
    );
    assert!(
        markdown.contains("| prices.pull | 350 | 15 | 360 | 4 min |"),
        "{markdown}"
    );
}

#[test]
fn plan_check_exit_codes() {
    assert_eq!(pacer(&["plan", ACME, "--check"]).status.code(), Some(0));
    let overloaded = std::fs::read_to_string(ACME)
        .unwrap()
        .replace("35000/day", "900000/day");
    let path = temp_file("check", "overloaded.yaml", &overloaded);
    let out = pacer(&["plan", path.to_str().unwrap(), "--check"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stdout(&out).contains("Verdict: does not fit"),
        "{}",
        stdout(&out)
    );
    assert!(
        stdout(&out).contains("- capacity exceeded: "),
        "{}",
        stdout(&out)
    );
    // Without --check the same plan exits 0: it was printed, as asked.
    assert_eq!(
        pacer(&["plan", path.to_str().unwrap()]).status.code(),
        Some(0)
    );
}

#[test]
fn plan_of_an_invalid_file_exits_2_with_file_line_column() {
    let broken = std::fs::read_to_string(ACME)
        .unwrap()
        .replace("35000/day", "lots");
    let path = temp_file("invalid", "acme.yaml", &broken);
    let out = pacer(&["plan", path.to_str().unwrap(), "--check"]);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(stdout(&out), "");
    let expected = format!(
        "error: {}:32:13: integrations.prices.volume: expected \"<number>/day\" or \"<number>/hour\", found \"lots\"\n",
        path.display()
    );
    assert_eq!(stderr(&out), expected);
    let out = pacer(&["plan", "no/such/file.yaml"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).starts_with("error: cannot read no/such/file.yaml:"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn plan_writes_an_svg_heat_map() {
    let svg = temp_file("svg", "placeholder", "").with_file_name("acme.svg");
    let out = pacer(&["plan", ACME, "--svg", svg.to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    let picture = std::fs::read_to_string(&svg).unwrap();
    assert!(picture.starts_with("<svg xmlns=\"http://www.w3.org/2000/svg\""));
    // 24 rows of 60 minutes, each a cell with its tooltip.
    assert_eq!(picture.matches("running</title>").count(), 1440);
    assert!(picture.contains("= capacity"));
    // Below it, each system's items a minute against its rate.
    assert!(picture.contains("erp — items a minute planned: at most"));
    assert!(picture.contains("webshop — items a minute planned: at most"));
}

#[test]
fn schema_is_json() {
    let out = pacer(&["schema"]);
    assert!(out.status.success());
    let schema: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(schema["title"], "Pacer configuration");
}

#[test]
fn demo_moves_data_within_the_limits_and_sums_up_as_json() {
    // 600x: a scheduled minute is 100 real ms. At 1200x a request delayed
    // in flight by a busy machine (the other tests) can land in the next
    // minute of the mock's clock, one run in twenty under two busy loops.
    let out = pacer(&["demo", "--for", "40m", "--speed", "600", "--format", "json"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let summary: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    let prices = &summary["integrations"]["prices"];
    let n = |key: &str| {
        prices[key]
            .as_u64()
            .unwrap_or_else(|| panic!("{key} in {prices}"))
    };
    // The words README defines, and how they add up.
    assert_eq!(n("not_pulled"), n("changes") - n("pulled"), "{prices}");
    assert_eq!(n("backlog"), n("changes") - n("delivered"), "{prices}");
    assert!(
        n("waiting") + n("dead") + n("delivered") <= n("pulled"),
        "{prices}"
    );
    assert!(prices["changes"].as_u64().unwrap() > 500, "{prices}");
    assert!(prices["delivered"].as_u64().unwrap() > 0, "{prices}");
    assert!(n("pulled") <= n("changes"), "{prices}");
    for (system, limit) in [("erp", 100), ("webshop", 500)] {
        let s = &summary["systems"][system];
        assert_eq!(s["limit"], limit);
        assert!(
            s["max_per_minute"].as_u64().unwrap() <= limit,
            "{system}: {s}"
        );
        // The busiest minute as Pacer counted it: the dashboard's figure.
        assert!(s["busiest_minute"].as_u64().unwrap() <= limit, "{s}");
    }
    // The log says what happened, on stderr.
    assert!(stderr(&out).contains("execution ended"), "{}", stderr(&out));
}

#[test]
fn run_refuses_a_config_it_cannot_run() {
    let dir = std::env::temp_dir().join(format!("pacer-cli-run-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("shop.yaml");
    let yaml = "systems:\n  erp: { rate: 100/min, base_url: \"http://127.0.0.1:9\", auth: { bearer: \"${PACER_CLI_TEST_UNSET}\" } }\n  \
                shop: { rate: 100/min }\nintegrations:\n  prices: { from: erp, to: shop, volume: 100/day }\n";
    std::fs::write(&file, yaml).unwrap();
    let out = pacer(&["run", file.to_str().unwrap(), "--for", "1m"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains(
            "systems.erp.auth.bearer: environment variable PACER_CLI_TEST_UNSET is not set"
        ),
        "{}",
        stderr(&out)
    );
    std::fs::write(&file, yaml.replace("${PACER_CLI_TEST_UNSET}", "t")).unwrap();
    let out = pacer(&["run", file.to_str().unwrap(), "--for", "1m"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("system \"shop\" has no base_url"),
        "{}",
        stderr(&out)
    );
    let token = "environment: { api_token: \"${PACER_CLI_TEST_UNSET_TOKEN}\" }\n";
    std::fs::write(&file, format!("{token}{yaml}")).unwrap();
    let out = pacer(&["run", file.to_str().unwrap(), "--for", "1m"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains(
            "shop.yaml:1:27: environment.api_token: environment variable PACER_CLI_TEST_UNSET_TOKEN is not set"
        ),
        "{}",
        stderr(&out)
    );
    let out = pacer(&["run", file.to_str().unwrap(), "--for", "soon"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("--for \"soon\""), "{}", stderr(&out));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn run_logs_each_execution_as_json_and_never_a_secret() {
    let dir = std::env::temp_dir().join(format!("pacer-cli-logs-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("logs.yaml");
    // Nothing listens on port 9: every pull fails to connect, and says so.
    let yaml = "systems:\n  erp: { rate: 100/min, base_url: \"http://127.0.0.1:9\", auth: { bearer: \"${PACER_LOG_TEST_TOKEN}\" } }\n  \
                shop: { rate: 100/min, base_url: \"http://127.0.0.1:9\" }\nintegrations:\n  \
                prices: { from: erp, to: shop, volume: 100/day, pull: { schedule: \"* * * * *\", timeout: 200ms } }\n";
    std::fs::write(&file, yaml).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_pacer"))
        .args([
            "run",
            file.to_str().unwrap(),
            "--for",
            "3m",
            "--speed",
            "60",
        ])
        .args(["--log-format", "json", "--listen", "127.0.0.1:0"])
        .env("PACER_LOG_TEST_TOKEN", "tok-3f9a-secret")
        .output()
        .unwrap();
    std::fs::remove_dir_all(&dir).unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let log = stderr(&out);
    assert!(!log.contains("tok-3f9a-secret"), "{log}");
    let lines: Vec<serde_json::Value> = log
        .lines()
        .map(|line| serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}")))
        .collect();
    let ended: Vec<&serde_json::Value> = lines
        .iter()
        .filter(|l| l["fields"]["message"] == "execution ended")
        .collect();
    assert!(ended.len() >= 2, "{log}");
    let last = &lines[lines.len() - 1]["fields"]["message"];
    assert!(
        last.as_str()
            .unwrap()
            .starts_with("stopped after 3m of schedule time: "),
        "the summary is a JSON line too: {last}"
    );
    let first = &ended[0]["fields"];
    assert_eq!(first["job"], "prices.pull");
    assert_eq!(first["outcome"], "failed");
    assert!(
        first["error"]
            .as_str()
            .unwrap()
            .contains("could not connect"),
        "{first}"
    );
    for field in ["minute", "waited_ms", "duration_ms", "items"] {
        assert!(!first[field].is_null(), "{field} in {first}");
    }
}

#[test]
fn sigterm_stops_run_cleanly() {
    let dir = std::env::temp_dir().join(format!("pacer-cli-term-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("term.yaml");
    let yaml = "systems:\n  erp: { rate: 100/min, base_url: \"http://127.0.0.1:9\" }\n  \
                shop: { rate: 100/min, base_url: \"http://127.0.0.1:9\" }\nintegrations:\n  \
                prices: { from: erp, to: shop, volume: 100/day, pull: { schedule: \"* * * * *\", timeout: 200ms } }\n";
    std::fs::write(&file, yaml).unwrap();
    let child = Command::new(env!("CARGO_BIN_EXE_pacer"))
        .args([
            "run",
            file.to_str().unwrap(),
            "--speed",
            "60",
            "--listen",
            "127.0.0.1:0",
        ])
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Let the engine run a scheduled minute or two, then ask it to stop.
    std::thread::sleep(std::time::Duration::from_millis(2_500));
    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let out = child.wait_with_output().unwrap();
    std::fs::remove_dir_all(&dir).unwrap();
    assert!(out.status.success(), "exit {:?}", out.status);
    let log = String::from_utf8(out.stderr).unwrap();
    assert!(log.contains("execution ended"), "{log}");
    assert!(log.contains("stopping: no new executions"), "{log}");
    assert!(
        !log.contains("still running at the end of the grace period"),
        "{log}"
    );
}

/// A regression: an idle runner always waited its whole 30 s grace on
/// SIGTERM, asleep until its next minute.
#[test]
fn sigterm_stops_an_idle_runner_at_once() {
    let file = temp_file(
        "idle-term",
        "idle.yaml",
        "systems:\n  erp: { rate: 100/min, base_url: \"http://127.0.0.1:9\" }\n  \
         shop: { rate: 100/min, base_url: \"http://127.0.0.1:9\" }\nintegrations:\n  \
         prices: { from: erp, to: shop, volume: 100/day, pull: { schedule: \"0 3 * * *\" }, push: { schedule: \"0 3 * * *\" } }\n",
    );
    let child = Command::new(env!("CARGO_BIN_EXE_pacer"))
        .args(["run", file.to_str().unwrap(), "--listen", "127.0.0.1:0"])
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Up and idle: nothing is due before 03:00.
    std::thread::sleep(std::time::Duration::from_millis(1_500));
    let asked = std::time::Instant::now();
    Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let took = asked.elapsed();
    assert!(out.status.success(), "exit {:?}", out.status);
    // Well under the 30 s grace (1 s when measured; the margin is for a busy CI).
    assert!(
        took < std::time::Duration::from_secs(5),
        "stopping took {took:?}"
    );
}

/// A fresh directory with NAME.yaml, whose `environment.store` is
/// shared.db beside it and whose one pull runs every minute (`pull`: more
/// of its keys); returns the directory, the file and the store.
fn with_a_store_of_its_own(name: &str, pull: &str) -> (PathBuf, PathBuf, PathBuf) {
    let dir = std::env::temp_dir().join(format!("pacer-cli-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join(format!("{name}.yaml"));
    let store = dir.join("shared.db");
    std::fs::write(
        &file,
        format!(
            "environment: {{ store: \"sqlite://{}\" }}\n\
             systems:\n  erp: {{ rate: 100/min, base_url: \"http://127.0.0.1:9\" }}\n  \
             shop: {{ rate: 100/min, base_url: \"http://127.0.0.1:9\" }}\nintegrations:\n  \
             prices: {{ from: erp, to: shop, volume: 100/day, pull: {{ schedule: \"* * * * *\"{pull} }} }}\n",
            store.display()
        ),
    )
    .unwrap();
    (dir, file, store)
}

/// `pacer run FILE --speed 600 --for DURATION`, on a free port.
fn run_sped_up(file: &Path, duration: &str) -> Output {
    support::sped_up(file, duration).output().unwrap()
}

/// A sped-up run on a store a real-time run writes would record minutes
/// ahead of it and hold it back until real time caught up: refused.
#[test]
fn a_sped_up_run_on_a_real_time_store_is_refused() {
    let (dir, file, store) = with_a_store_of_its_own("real", "");
    // The minute before this one, recorded in real time.
    tokio::runtime::Runtime::new().unwrap().block_on(async {
        let opened = pacer_store::StoreBuilder::new(&format!("sqlite://{}", store.display()))
            .open()
            .await
            .unwrap();
        let now = jiff::Timestamp::now();
        let minute = pacer_store::Minute::containing(now) - 1;
        assert!(
            opened
                .record_due(&pacer_store::Due {
                    job: "prices.pull",
                    minute,
                    node: "real-time",
                    at: now
                })
                .await
                .unwrap()
        );
    });
    let sped = run_sped_up(&file, "5m");
    assert_eq!(sped.status.code(), Some(2), "{}", stderr(&sped));
    assert!(
        stderr(&sped).contains("recorded in real time: a sped-up run would record minutes ahead"),
        "{}",
        stderr(&sped)
    );
    assert!(!dir.join("real.speed.db").exists());
    // Without environment.store it runs on a file of its own.
    std::fs::write(
        &file,
        std::fs::read_to_string(&file).unwrap().replace(
            &format!("environment: {{ store: \"sqlite://{}\" }}", store.display()),
            "environment: {}",
        ),
    )
    .unwrap();
    let apart = run_sped_up(&file, "5m");
    assert!(apart.status.success(), "{}", stderr(&apart));
    assert!(dir.join("real.speed.db").exists());
    let _ = std::fs::remove_dir_all(&dir);
}

/// A sped-up run records minutes ahead of real time; a run in real time on
/// that store would start nothing until then, silently. It is told.
#[test]
fn a_store_ahead_of_real_time_is_named_at_start() {
    let (dir, file, _) = with_a_store_of_its_own("ahead", ", timeout: 200ms");
    let sped = run_sped_up(&file, "30m");
    assert!(sped.status.success(), "{}", stderr(&sped));
    let real = pacer(&[
        "run",
        file.to_str().unwrap(),
        "--for",
        "1m",
        "--listen",
        "127.0.0.1:0",
    ]);
    assert_eq!(real.status.code(), Some(2), "{}", stderr(&real));
    assert!(
        stderr(&real).contains("ahead of now: a sped-up run (--speed) used it"),
        "{}",
        stderr(&real)
    );
    // Another sped-up run goes on from where the last one stopped.
    let again = run_sped_up(&file, "5m");
    assert!(again.status.success(), "{}", stderr(&again));
    assert!(
        stderr(&again).contains("execution ended"),
        "{}",
        stderr(&again)
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn simulate_says_whether_the_plan_holds_and_what_broke() {
    let dir = std::env::temp_dir().join(format!("pacer-cli-sim-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("shop.yaml");
    std::fs::write(
        &file,
        "environment: { timezone: Europe/Amsterdam, capacity: 2 }\n\
         systems:\n  erp: { rate: 10/min }\n  webshop: { rate: 500/min }\n\
         integrations:\n  prices: { from: erp, to: webshop, volume: 3000/day, freshness: 30m }\n",
    )
    .unwrap();
    let file = file.to_str().unwrap();

    let out = pacer(&["simulate", file, "--format", "json"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let report: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(report["holds"], true);
    assert_eq!(report["integrations"][0]["changes"], 3_000);
    assert_eq!(report["start"], "2026-03-02T00:00:00+01:00");

    let svg = dir.join("day.svg");
    let out = pacer(&[
        "simulate",
        file,
        "--volume-factor",
        "6",
        "--svg",
        svg.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    // The same file and flags: the same report, byte for byte.
    let again = pacer(&["simulate", file, "--volume-factor", "6"]);
    assert_eq!(out.stdout, again.stdout);
    let picture = std::fs::read_to_string(&svg).unwrap();
    assert_eq!(
        picture.matches("<svg").count(),
        3,
        "the frame, the plan, the day"
    );
    assert!(
        picture.contains("shop — planned")
            && picture.contains("shop — simulated, day 1 from 2026-03-02")
    );
    assert!(
        stdout(&out).contains(
            "Verdict: the plan does not hold — prices.pull: backlog grows from 00:00; the erp's 10/min is the limit"
        ),
        "{}",
        stdout(&out)
    );

    let out = pacer(&["plan", file, "--verify", "--date", "2026-11-29"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let said = stdout(&out);
    assert!(
        said.contains("Verified: a simulated day (2026-03-02)"),
        "{said}"
    );
    // Counted in words that agree with the number.
    assert!(said.contains("at most 1 execution at once"), "{said}");
    assert!(!said.contains("1 executions"), "{said}");
    // And the zone's next days the clock moves, as they are.
    assert!(
        said.contains("On 2027-03-28 (23h): the clock skips forward"),
        "{said}"
    );
    assert!(
        said.contains("On 2027-10-31 (25h): 02:00 comes twice"),
        "{said}"
    );
    assert!(
        said.contains("Verified: a simulated day the clock moves (2027-03-28, 23 hours)"),
        "{said}"
    );
    assert!(
        said.contains("Verified: a simulated day the clock moves (2027-10-31, 25 hours)"),
        "{said}"
    );

    for (flag, value, says) in [
        ("--days", "0", "--days 0: expected 1 to 366"),
        (
            "--volume-factor",
            "0",
            "--volume-factor 0: expected a number above 0",
        ),
        ("--start", "monday", "--start \"monday\": expected a date"),
        (
            "--request-time",
            "soon",
            "--request-time \"soon\": expected a duration",
        ),
    ] {
        let out = pacer(&["simulate", file, flag, value]);
        assert_eq!(out.status.code(), Some(2), "{flag}");
        assert!(stderr(&out).contains(says), "{}", stderr(&out));
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn check_says_valid_fits_or_where_the_file_is_wrong() {
    let out = pacer(&["check", ACME]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(
        stdout(&out).contains(": valid: 5 integrations, 10 jobs, capacity 2\nplan: fits"),
        "{}",
        stdout(&out)
    );

    let acme = std::fs::read_to_string(ACME).unwrap();
    let tight = temp_file(
        "check",
        "tight.yaml",
        &acme
            .replace("capacity: 2 ", "capacity: 1 ")
            .replace("35000/day", "350000/day"),
    );
    let out = pacer(&["check", tight.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
    assert!(
        stdout(&out).contains("plan: does not fit\n- "),
        "{}",
        stdout(&out)
    );

    let secret = temp_file(
        "check",
        "secret.yaml",
        &acme.replace(
            "base_url: http://127.0.0.1:9101",
            "base_url: http://127.0.0.1:9101\n    auth: { bearer: \"${PACER_CHECK_UNSET}\" }",
        ),
    );
    let out = pacer(&["check", secret.to_str().unwrap(), "--format", "json"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let answer: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(answer["valid"], true);
    assert_eq!(answer["fits"], true);
    assert_eq!(answer["variables"][0]["name"], "PACER_CHECK_UNSET");
    assert_eq!(answer["variables"][0]["set"], false);

    let bad = temp_file(
        "check",
        "bad.yaml",
        &acme.replace("records: .items[]", "records: .items["),
    );
    let out = pacer(&["check", bad.to_str().unwrap(), "--format", "json"]);
    assert_eq!(out.status.code(), Some(2));
    let answer: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(answer["valid"], false);
    assert_eq!(answer["error"]["key"], "integrations.prices.pull.records");
    assert_eq!(answer["error"]["line"], 36);
}

/// `plan` and `simulate` once accepted files `run` refused, and the
/// simulation then vouched for them. Every command now says the same.
#[test]
fn every_command_refuses_what_run_refuses_with_the_same_message() {
    let acme = std::fs::read_to_string(ACME).unwrap();
    for (from, to, expected) in [
        (
            "records: .items[]",
            "records: .items[",
            "acme.yaml:36:23: integrations.prices.pull.records: invalid jq expression \".items[\": expected closing bracket at the end",
        ),
        (
            "method: PUT",
            "method: \"FO O\"",
            "acme.yaml:41:29: integrations.prices.push.request.method: \"FO O\" is not an HTTP method",
        ),
        (
            "capacity: 2 ",
            "capacity: 4294967295 ",
            "acme.yaml:8:13: environment.capacity: expected 1 to 1000 executions at once, found 4294967295",
        ),
        (
            "rate: 100/min",
            "rate: 0.0000001/min",
            "acme.yaml:12:11: systems.erp.rate: expected a rate from 1/h to 1000000/s",
        ),
    ] {
        assert!(acme.contains(from), "{from}");
        let file = temp_file("same", "acme.yaml", &acme.replace(from, to));
        let file = file.to_str().unwrap();
        for command in [
            vec!["plan", file],
            vec!["simulate", file],
            vec!["check", file],
            vec!["run", file, "--for", "1m", "--listen", "127.0.0.1:0"],
        ] {
            let out = pacer(&command);
            assert_eq!(out.status.code(), Some(2), "{command:?}: {}", stderr(&out));
            let message = stderr(&out);
            assert!(
                message.starts_with(&format!("error: {}", file.replace("acme.yaml", "")))
                    && message.contains(expected),
                "{command:?}: {message}"
            );
        }
    }
}

#[test]
fn a_file_that_is_not_utf8_is_refused_with_its_position() {
    let mut bytes = std::fs::read(ACME).unwrap();
    let at = bytes.windows(10).position(|w| w == b"  webshop:").unwrap();
    bytes[at + 5] = 0xFF;
    let dir = std::env::temp_dir().join(format!("pacer-cli-{}-utf8", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("latin1.yaml");
    std::fs::write(&file, bytes).unwrap();
    let out = pacer(&["plan", file.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out)
            .contains("latin1.yaml:14:6: the file is not UTF-8 text (byte 0xFF); save it as UTF-8"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn run_refuses_a_webhook_without_a_secret_beyond_loopback() {
    let yaml = "systems:\n  shop: { rate: 100/min, base_url: \"http://127.0.0.1:9\" }\n  \
                erp: { rate: 100/min, base_url: \"http://127.0.0.1:9\" }\n\
                integrations:\n  orders: { from: shop, to: erp, volume: 180/day, webhook: { key: .id } }\n";
    let file = temp_file("unguarded", "hooks.yaml", yaml);
    let out = pacer(&[
        "run",
        file.to_str().unwrap(),
        "--for",
        "1m",
        "--listen",
        "0.0.0.0:0",
    ]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains(
            "integrations.orders.webhook.secret not set, and --listen 0.0.0.0:0 is beyond loopback"
        ),
        "{}",
        stderr(&out)
    );
    // On loopback it runs, and says why that is the only place it would.
    let out = pacer(&[
        "run",
        file.to_str().unwrap(),
        "--for",
        "1m",
        "--speed",
        "600",
        "--listen",
        "127.0.0.1:0",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("webhooks without a secret are taken on loopback only"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn explain_reads_crontabs_as_cronie_does() {
    // A step wider than its range: accepted, the first value, a warning.
    let out = pacer(&["explain", "0 0 */100 * *"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(stdout(&out), "at 00:00 on the 1st of the month\n");
    assert!(
        stderr(&out).starts_with("warning: day-of-month field, column 5: a step of 100"),
        "{}",
        stderr(&out)
    );
    // A random value `a~b`, resolved from the key like H.
    let out = pacer(&["explain", "0~29 3 * * *", "--key", "prices.pull"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).contains("resolved: "), "{}", stdout(&out));
    // A step after a single value: an error with the range to write.
    let out = pacer(&["explain", "5/15 * * * *"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("write 5-59/15 (from 5 to the end) or */15"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn completions_for_each_shell() {
    for (shell, mark) in [
        ("bash", "_pacer()"),
        ("zsh", "#compdef pacer"),
        ("fish", "complete -c pacer"),
    ] {
        let out = pacer(&["completions", shell]);
        assert!(out.status.success(), "{shell}: {}", stderr(&out));
        let script = stdout(&out);
        assert!(script.contains(mark), "{shell}");
        assert!(
            script.contains("simulate"),
            "{shell}: the commands are there"
        );
    }
    assert_eq!(pacer(&["completions", "tcsh"]).status.code(), Some(2));
}

#[test]
fn explain_speaks_json() {
    let out = pacer(&[
        "explain",
        "H/20 * * * *",
        "--key",
        "prices.push",
        "--format",
        "json",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let answer: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(
        answer,
        serde_json::json!({
            "expression": "H/20 * * * *",
            "resolved": "16-59/20 * * * *",
            "description": "every 20 minutes, at minutes 16, 36 and 56 past each hour",
            "warnings": [],
        })
    );
}

/// `pacer explain */4 * * * *` unquoted: five words in an empty folder (the
/// shell leaves `*` alone), file names where there are files.
#[test]
fn an_expression_the_shell_split_is_taken_or_explained() {
    let dir = std::env::temp_dir().join(format!("pacer-cli-{}-glob", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let explain = |words: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_pacer"))
            .arg("explain")
            .args(words)
            .current_dir(&dir)
            .output()
            .unwrap()
    };
    let out = explain(&["*/4", "*", "*", "*", "*"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(
        stdout(&out),
        "every 4 minutes, at minutes 0, 4, 8 … 56 past each hour\n"
    );
    for name in ["a.txt", "b.txt"] {
        std::fs::write(dir.join(name), "").unwrap();
    }
    let out = explain(&["*/4", "a.txt", "b.txt", "*", "*", "*"]);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        stderr(&out),
        "error: the expression came as 6 words, one of them \"a.txt\", a file here: the shell \
         replaced a `*` with file names\nhint: quote the expression: pacer explain \"*/4 * * * *\"\n"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn an_invalid_rust_log_is_an_error() {
    let (dir, file, _) = with_a_store_of_its_own("rust-log", "");
    let out = support::sped_up(&file, "1m")
        .env("RUST_LOG", "pacer=loud")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let said = stderr(&out);
    assert!(
        said.starts_with("error: RUST_LOG=\"pacer=loud\": error parsing level filter")
            && said.contains("RUST_LOG=info"),
        "{said}"
    );
    std::fs::remove_dir_all(dir).unwrap();
}

/// `--for` and the file read durations alike ("1m30s", "45 minutes"); the
/// run ends with a line that says so and what it did; logs through a pipe
/// or under NO_COLOR carry no colour codes.
#[test]
fn run_for_ends_with_a_summary_in_plain_text() {
    let (dir, file, _) = with_a_store_of_its_own("for", "");
    let yaml = std::fs::read_to_string(&file).unwrap();
    std::fs::write(
        &file,
        yaml.replace(
            "volume: 100/day,",
            "volume: 100/day, freshness: 45 minutes,",
        ),
    )
    .unwrap();
    let plan = pacer(&["plan", file.to_str().unwrap(), "--format", "json"]);
    assert!(plan.status.success(), "{}", stderr(&plan));
    let plan: serde_json::Value = serde_json::from_str(&stdout(&plan)).unwrap();
    assert!(
        plan.to_string().contains("45"),
        "the freshness is read: {plan}"
    );
    let out = support::sped_up(&file, "3m30s")
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let said = stderr(&out);
    let last = said.lines().last().unwrap();
    // Three or four minutes start within 3m30s, by the second it began;
    // every pull fails (nothing listens at the ERP's port).
    let summary = last
        .strip_prefix("stopped after 3m 30s of schedule time: ")
        .unwrap_or_else(|| panic!("{said}"));
    let (executions, rest) = summary.split_once(" executions (").unwrap();
    assert!(["3", "4"].contains(&executions), "{summary}");
    assert!(
        rest.contains(" failed") && rest.ends_with("); 0 records pulled, 0 delivered, 0 dead"),
        "{summary}"
    );
    assert!(!said.contains('\u{1b}'), "no colour codes: {said}");
    std::fs::remove_dir_all(dir).unwrap();
}

/// A simulation longer than a second shows a progress bar on a terminal
/// (here `script`'s pseudo-terminal, from util-linux), and none through a
/// pipe; the report is the same.
#[test]
fn simulate_shows_progress_on_a_terminal_only() {
    let file = temp_file(
        "progress",
        "shop.yaml",
        "environment: { timezone: Europe/Amsterdam, capacity: 2 }\n\
         systems:\n  erp: { rate: 10/min }\n  webshop: { rate: 500/min }\n\
         integrations:\n  prices: { from: erp, to: webshop, volume: 3000/day, freshness: 30m }\n",
    );
    let command = format!(
        "{} simulate {} --days 3",
        env!("CARGO_BIN_EXE_pacer"),
        file.display()
    );
    let on_a_terminal = Command::new("script")
        .args(["-qec", &command, "/dev/null"])
        .env("TERM", "xterm")
        .output()
        .expect("script (util-linux) runs");
    assert!(on_a_terminal.status.success(), "{}", stderr(&on_a_terminal));
    let seen = String::from_utf8_lossy(&on_a_terminal.stdout).replace('\r', "\n");
    assert!(seen.contains("simulating") && seen.contains('%'), "{seen}");
    assert!(
        seen.contains("Verdict: the plan holds"),
        "the report follows: {seen}"
    );

    let piped = pacer(&["simulate", file.to_str().unwrap(), "--days", "3"]);
    assert!(piped.status.success(), "{}", stderr(&piped));
    assert!(!stderr(&piped).contains("simulating"), "{}", stderr(&piped));
    assert!(!stdout(&piped).contains("simulating"));
}

/// `pacer mock --config FILE --speed N` stands in for every system of the
/// file, on its base_url's port, producing each integration at its volume
/// on the same clock as `pacer run --speed N`.
#[test]
fn mock_serves_a_files_integrations_at_its_speed() {
    let port = || {
        std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port()
    };
    let (erp, shop) = (port(), port());
    let file = temp_file(
        "mock-config",
        "crm.yaml",
        &format!(
            "systems:\n  crm: {{ rate: 600/min, base_url: \"http://127.0.0.1:{erp}/api\" }}\n  \
             shop: {{ rate: 600/min, base_url: \"http://127.0.0.1:{shop}\" }}\n\
             integrations:\n  customers: {{ from: crm, to: shop, volume: 14400/day }}\n  \
             orders: {{ from: shop, to: crm, volume: 1440/day }}\n"
        ),
    );
    let mut child = Command::new(env!("CARGO_BIN_EXE_pacer"))
        .args(["mock", "--config", file.to_str().unwrap(), "--speed", "60"])
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let mut said = Vec::new();
    for line in lines.by_ref() {
        let line = line.unwrap();
        let done = line.ends_with("Ctrl-C stops");
        said.push(line);
        if done {
            break;
        }
    }
    assert!(
        said[0].starts_with(&format!(
            "mock crm on http://127.0.0.1:{erp} (rate 600/min; produces customers 14400/day)"
        )),
        "{said:?}"
    );
    assert!(said[2].starts_with("time runs 60x real time"), "{said:?}");
    // Ten customers a minute, sixty minutes a real minute: some 20 in 2 s.
    std::thread::sleep(std::time::Duration::from_secs(2));
    let stats = get_json(erp, "/_stats");
    let produced = stats["feeds"]["customers"]["produced"].as_u64().unwrap();
    assert!((10..=40).contains(&produced), "{stats}");
    let orders = get_json(shop, "/_stats");
    assert!(orders["feeds"]["orders"].is_object(), "{orders}");
    child.kill().unwrap();
    let _ = child.wait();

    let unknown = pacer(&["mock", "--config", file.to_str().unwrap(), "erp"]);
    assert_eq!(unknown.status.code(), Some(2));
    assert!(
        stderr(&unknown).contains("has no system named \"erp\"; it has crm, shop"),
        "{}",
        stderr(&unknown)
    );
    let guide = pacer(&["mock", "crm"]);
    assert_eq!(guide.status.code(), Some(2));
    assert!(stderr(&guide).contains("expected erp or webshop, or --config FILE"));
}

/// `GET path` on a loopback port, its body as JSON (HTTP/1.0: the server
/// closes the connection after the answer).
fn get_json(port: u16, path: &str) -> serde_json::Value {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    write!(stream, "GET {path} HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n").unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).unwrap();
    let (_, body) = answer.split_once("\r\n\r\n").unwrap();
    serde_json::from_str(body).unwrap_or_else(|e| panic!("{e}: {answer}"))
}

#[test]
fn one_execution_is_singular() {
    let file = temp_file(
        "singular",
        "one.yaml",
        "systems:\n  erp: { rate: 100/min }\n  shop: { rate: 100/min }\n\
         integrations:\n  prices: { from: erp, to: shop, volume: 100/day }\n",
    );
    let out = pacer(&["plan", file.to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stdout(&out).contains("Peak load: 1 execution at once, capacity 1"),
        "{}",
        stdout(&out)
    );
}

/// Plans that learn, as a user meets them: a simulated history recorded
/// into a store, `plan --observed` reading it back against a file that
/// declares too little, and `simulate --observed` playing what it saw.
#[test]
fn plan_observed_reads_the_history_and_suggests_a_patch() {
    let busy = temp_file(
        "observed",
        "busy.yaml",
        "environment: { name: shop, timezone: Europe/Amsterdam, capacity: 2 }\n\
         systems:\n  erp: { rate: 100/min }\n  webshop: { rate: 500/min }\n\
         integrations:\n  prices: { from: erp, to: webshop, volume: 2000/day, freshness: 30m, \
         profile: [0,0,0,0,0,0,1,1,3,3,3,3,3,3,3,3,3,3,1,1,1,1,0,0] }\n",
    );
    let file = busy.with_file_name("shop.yaml");
    std::fs::write(
        &file,
        "environment: { name: shop, timezone: Europe/Amsterdam, capacity: 2 }\n\
         systems:\n  erp: { rate: 100/min }\n  webshop: { rate: 500/min }\n\
         integrations:\n  prices: { from: erp, to: webshop, volume: 500/day, freshness: 30m }\n",
    )
    .unwrap();
    let (busy, file) = (busy.to_str().unwrap(), file.to_str().unwrap());
    let db = busy.replace("busy.yaml", "history.db");
    let store = format!("sqlite://{db}");

    // Nothing recorded yet: no store to read, and none is made.
    let out = pacer(&["plan", file, "--observed", "--store", &store]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains(&format!("no store at {db}")),
        "{}",
        stderr(&out)
    );
    assert!(!Path::new(&db).exists());

    let out = pacer(&["simulate", busy, "--days", "2", "--record", &store]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));

    let window = ["--observed", "--store", &store, "--until", "2026-03-04"];
    let out = pacer(&[&["plan", file, "--format", "json"][..], &window[..]].concat());
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let seen: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(seen["observation"]["whole_days"], 2);
    let drift = &seen["integrations"][0];
    assert_eq!(drift["declared_peak_day"], 500.0);
    assert_eq!(drift["drifted"], true);
    let per_day = seen["observation"]["integrations"][0]["changes_per_day"]
        .as_f64()
        .unwrap();
    assert!((per_day - 2_000.0).abs() <= 20.0, "{per_day}");
    let job = &seen["jobs"][0];
    assert_eq!(job["job"], "prices.pull");
    assert!(
        job["observed"]["executions_per_day"].as_u64()
            > job["declared"]["executions_per_day"].as_u64(),
        "{job}"
    );
    let patch = seen["patch"].as_str().unwrap();
    assert!(
        patch.starts_with("integrations:\n  prices:\n    volume: 1999/day\n")
            || patch.starts_with("integrations:\n  prices:\n    volume: 2000/day\n"),
        "{patch}"
    );
    assert!(patch.contains("    profile: [0.00, 0.00"), "{patch}");

    // The text says the same to a person.
    let out = pacer(&[&["plan", file][..], &window[..]].concat());
    let said = stdout(&out);
    assert!(said.contains("2 whole days"), "{said}");
    assert!(said.contains("drifted"), "{said}");
    assert!(said.contains("Suggested for the file"), "{said}");

    // A window with no whole day says so and suggests nothing.
    let out = pacer(&[
        "plan",
        file,
        "--observed",
        "--store",
        &store,
        "--until",
        "2026-03-02T18:00",
        "--since",
        "12h",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(
        stdout(&out).contains("No whole day in the window") && !stdout(&out).contains("volume:"),
        "{}",
        stdout(&out)
    );

    // The file's plan on the observed day: 500 a day planned, 2,000 come.
    let out = pacer(&[&["simulate", file][..], &window[..]].concat());
    let said = stdout(&out);
    assert!(said.starts_with("Simulating what sqlite://"), "{said}");
    assert!(said.contains("prices"), "{said}");
    let _ = std::fs::remove_dir_all(Path::new(busy).parent().unwrap());
}
