//! The dashboard in a real browser: headless Chromium, driven over the
//! WebDriver protocol by Debian's chromedriver, opens the dashboard of a
//! running `pacer demo`, reads the heat map and the task counts, clicks
//! "Pause" on a job, and the API then reports that job paused.
//!
//! Screenshots of each page go to `$PACER_SCREENSHOTS` (the README's come
//! from `PACER_SCREENSHOTS=$PWD/docs cargo test -p pacer --test browser`,
//! run from the repository root: a relative path is the crate's), else
//! to a temporary directory. `.ci/run` installs chromium and chromium-driver;
//! without them this test fails and says so.

mod support;

use support::{client, free_port};

use std::{
    io::{BufRead, BufReader},
    os::unix::process::CommandExt,
    path::PathBuf,
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use base64::Engine as _;
use serde_json::{Value, json};

const TOKEN: &str = "browser-test-token";
/// The key WebDriver names an element by.
const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

/// A child process killed when the test ends, however it ends.
struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// `pacer demo` at 600× with a known token; returns it and its dashboard URL.
fn demo() -> (Killed, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_pacer"))
        .args(["demo", "--speed", "600", "--listen", "127.0.0.1:0"])
        .env("PACER_API_TOKEN", TOKEN)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let (found, url) = std::sync::mpsc::channel();
    // Keep reading after the line we want, so the demo never blocks on a full pipe.
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if let Some(url) = line.strip_prefix("dashboard: ") {
                let _ = found.send(url.to_string());
            }
        }
    });
    let url = url
        .recv_timeout(Duration::from_secs(60))
        .expect("pacer demo printed no dashboard line");
    (Killed(child), url)
}

/// A process group killed when the test ends, however it ends.
struct Group(Child);

impl Drop for Group {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .args(["-KILL", "--", &format!("-{}", self.0.id())])
            .status();
        let _ = self.0.wait();
    }
}

struct Browser {
    client: reqwest::Client,
    session: String,
    _driver: Group,
    shots: PathBuf,
}

impl Browser {
    async fn start() -> Browser {
        let (chromium, chromedriver) = ("/usr/bin/chromium", "/usr/bin/chromedriver");
        assert!(
            std::path::Path::new(chromium).exists() && std::path::Path::new(chromedriver).exists(),
            "the browser test needs Debian's chromium and chromium-driver: \
             apt-get install chromium chromium-driver (.ci/run does)"
        );
        let port = free_port();
        // Its own process group: the Chromium it starts goes with it, even
        // when a failed assertion skips the session's end.
        let driver = Command::new(chromedriver)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .process_group(0)
            .spawn()
            .unwrap();
        let driver = Group(driver);
        let client = client();
        let base = format!("http://127.0.0.1:{port}");
        let started = Instant::now();
        loop {
            let ready = client.get(format!("{base}/status")).send().await;
            if let Ok(response) = ready
                && let Ok(status) = response.json::<Value>().await
                && status["value"]["ready"] == true
            {
                break;
            }
            assert!(
                started.elapsed() < Duration::from_secs(30),
                "chromedriver did not start"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let capabilities = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": chromium,
                "args": ["--headless=new", "--no-sandbox", "--disable-gpu",
                         "--disable-dev-shm-usage", "--disable-background-networking",
                         "--disable-extensions", "--no-first-run", "--window-size=1280,900"]
            }
        }}});
        let created: Value = client
            .post(format!("{base}/session"))
            .json(&capabilities)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let id = created["value"]["sessionId"]
            .as_str()
            .unwrap_or_else(|| panic!("no WebDriver session: {created}"));
        let shots = std::env::var_os("PACER_SCREENSHOTS").map_or_else(
            || std::env::temp_dir().join(format!("pacer-screens-{}", std::process::id())),
            PathBuf::from,
        );
        std::fs::create_dir_all(&shots).unwrap();
        Browser {
            client,
            session: format!("{base}/session/{id}"),
            _driver: driver,
            shots,
        }
    }

    /// One WebDriver command; its `value`, or a panic with the driver's error.
    async fn command(&self, method: reqwest::Method, path: &str, body: Value) -> Value {
        let mut request = self
            .client
            .request(method, format!("{}{path}", self.session));
        if !body.is_null() {
            request = request.json(&body);
        }
        let answer: Value = request.send().await.unwrap().json().await.unwrap();
        if answer["value"]["error"].is_string() {
            panic!("WebDriver {path}: {}", answer["value"]);
        }
        answer["value"].clone()
    }

    async fn open(&self, url: &str) {
        self.command(reqwest::Method::POST, "/url", json!({"url": url}))
            .await;
    }

    async fn script(&self, script: &str) -> Value {
        self.command(
            reqwest::Method::POST,
            "/execute/sync",
            json!({"script": script, "args": []}),
        )
        .await
    }

    /// Waits until `script` returns true.
    async fn wait_for(&self, script: &str, what: &str) {
        let started = Instant::now();
        while self.script(script).await != true {
            assert!(
                started.elapsed() < Duration::from_secs(60),
                "timed out waiting for {what}"
            );
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    }

    async fn click(&self, css: &str) {
        let element = self
            .command(
                reqwest::Method::POST,
                "/element",
                json!({"using": "css selector", "value": css}),
            )
            .await;
        let id = element[ELEMENT]
            .as_str()
            .unwrap_or_else(|| panic!("no element {css}: {element}"))
            .to_string();
        self.command(
            reqwest::Method::POST,
            &format!("/element/{id}/click"),
            json!({}),
        )
        .await;
    }

    async fn window(&self, width: u32, height: u32) {
        self.command(
            reqwest::Method::POST,
            "/window/rect",
            json!({"width": width, "height": height}),
        )
        .await;
    }

    async fn screenshot(&self, name: &str) {
        let png = self
            .command(reqwest::Method::GET, "/screenshot", Value::Null)
            .await;
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(png.as_str().unwrap())
            .unwrap();
        assert!(
            bytes.starts_with(b"\x89PNG") && bytes.len() > 10_000,
            "{name}"
        );
        std::fs::write(self.shots.join(format!("dashboard-{name}.png")), bytes).unwrap();
    }

    async fn quit(&self) {
        let _ = self.client.delete(&self.session).send().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_dashboard_shows_the_load_and_pauses_a_job_in_a_real_browser() {
    let (_demo, dashboard) = demo();
    assert!(
        dashboard.ends_with(&format!("/#token={TOKEN}")),
        "{dashboard}"
    );
    let base = dashboard
        .trim_end_matches(&format!("/#token={TOKEN}"))
        .to_string();
    let browser = Browser::start().await;

    // The sign-in link hands the token over and drops it from the address bar.
    browser.open(&dashboard).await;
    browser
        .wait_for(
            "return !!document.getElementById('task-counts') && !location.hash",
            "the overview",
        )
        .await;
    // The page refreshes itself: finished tasks appear without a reload.
    browser
        .wait_for(
            "const cells = [...document.querySelectorAll('#task-counts td[data-status=finished]')];\
             return cells.some(td => Number(td.textContent) > 0) && !!document.getElementById('live').dataset.refreshed;",
            "non-zero task counts",
        )
        .await;
    browser.screenshot("overview").await;

    browser.open(&format!("{base}/schedule")).await;
    let map = browser
        .script(
            "const map = document.getElementById('heat-map');\
             return map && [map.querySelectorAll('rect[x]').length, map.querySelectorAll('circle').length,\
                            !!document.getElementById('now'), map.getBoundingClientRect().width];",
        )
        .await;
    assert_eq!(
        map[0], 1_441,
        "a cell per minute and the current-minute mark"
    );
    assert!(map[1].as_u64() > Some(0), "actual executions drawn: {map}");
    assert_eq!(map[2], true, "the current minute marked");
    assert!(
        map[3].as_f64() > Some(500.0),
        "the heat map is drawn: {map}"
    );
    browser.screenshot("schedule").await;

    browser.open(&format!("{base}/jobs")).await;
    browser
        .wait_for(
            "return !!document.querySelector('tr[data-job=\"prices.pull\"] button')",
            "the jobs table",
        )
        .await;
    browser
        .click("tr[data-job=\"prices.pull\"] button[data-action$=\"/pause\"]")
        .await;
    // The API says so, and so does the page once it refreshed.
    let client = client();
    let started = Instant::now();
    loop {
        let job: Value = client
            .get(format!("{base}/api/v1/jobs/prices.pull"))
            .bearer_auth(TOKEN)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        if job["paused"] == true {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "not paused: {job}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    browser
        .wait_for(
            "return !!document.querySelector('tr[data-job=\"prices.pull\"] .state.paused')",
            "the job shown paused",
        )
        .await;
    browser.screenshot("jobs").await;

    browser.open(&format!("{base}/tasks")).await;
    browser
        .wait_for(
            "return document.querySelectorAll('#tasks tbody tr').length > 0",
            "tasks",
        )
        .await;
    browser.screenshot("tasks").await;
    browser.click("#tasks tbody tr a").await;
    browser
        .wait_for(
            "return !!document.getElementById('payload') && document.getElementById('payload').textContent.includes('\"key\"')",
            "a task's payload",
        )
        .await;
    browser.screenshot("task").await;

    browser.open(&format!("{base}/executions")).await;
    browser
        .wait_for(
            "return document.querySelectorAll('#executions tbody tr').length > 0",
            "executions",
        )
        .await;
    browser.screenshot("executions").await;

    // A narrow window: nothing wider than the screen but the tables' own scroll.
    browser.window(390, 844).await;
    browser.open(&base).await;
    browser
        .wait_for(
            "return !!document.getElementById('task-counts')",
            "the overview",
        )
        .await;
    let overflow = browser
        .script(
            "return document.documentElement.scrollWidth - document.documentElement.clientWidth;",
        )
        .await;
    assert_eq!(overflow, 0, "the page scrolls sideways in a narrow window");
    browser.screenshot("narrow").await;
    // The counts table scrolls within its box, its first column stays in
    // view, and scrolled to its end its last columns are on screen.
    let reach = |table: &str, last: &str| {
        format!(
            "const table = document.getElementById('{table}'); const box = table.parentElement;\
             const first = table.querySelector('tr > :first-child');\
             const scrolls = box.scrollWidth > box.clientWidth;\
             box.scrollLeft = box.scrollWidth;\
             const end = table.querySelector('{last}').getBoundingClientRect();\
             const start = first.getBoundingClientRect();\
             return [scrolls, getComputedStyle(first).position,\
                     end.left >= 0 && end.right <= window.innerWidth,\
                     start.left >= 0 && start.right <= window.innerWidth];"
        )
    };
    let counts = browser
        .script(&reach("task-counts", "thead th:last-child"))
        .await;
    assert_eq!(
        counts,
        json!([true, "sticky", true, true]),
        "the Overview's counts at 390 px"
    );
    contrast(&browser, "the narrow Overview").await;
    browser.open(&format!("{base}/jobs")).await;
    browser
        .wait_for("return !!document.getElementById('jobs')", "the jobs table")
        .await;
    let jobs = browser
        .script(&reach(
            "jobs",
            "tr[data-job=\"prices.pull\"] button[data-action$=\"/resume\"]",
        ))
        .await;
    assert_eq!(
        jobs,
        json!([true, "sticky", true, true]),
        "Resume reachable at 390 px"
    );
    contrast(&browser, "the Jobs page").await;
    browser.quit().await;
}

/// Every badge, quiet text and heading on the page reads at 4.5:1 or more
/// against the background it sits on (WCAG AA for text).
async fn contrast(browser: &Browser, page: &str) {
    let lowest = browser
        .script(
            "const rgb = c => c.match(/[\\d.]+/g).map(Number);\
             const lum = ([r, g, b]) => [r, g, b].map(v => { v /= 255;\
                 return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; })\
                 .reduce((s, v, i) => s + v * [0.2126, 0.7152, 0.0722][i], 0);\
             const behind = el => { for (; el; el = el.parentElement) {\
                 const c = rgb(getComputedStyle(el).backgroundColor);\
                 if (c.length < 4 || c[3] > 0) return c; } return [255, 255, 255]; };\
             let worst = [99, ''];\
             for (const el of document.querySelectorAll('.health, .state, .quiet, small, thead th, .cards span, nav a')) {\
                 if (!el.textContent.trim()) continue;\
                 const [a, b] = [lum(rgb(getComputedStyle(el).color)), lum(behind(el))];\
                 const ratio = (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);\
                 if (ratio < worst[0]) worst = [ratio, el.className + ' ' + el.textContent.trim()];\
             }\
             return worst;",
        )
        .await;
    let ratio = lowest[0].as_f64().unwrap();
    assert!(ratio >= 4.5, "{page}: {} at {ratio:.2}:1", lowest[1]);
}
