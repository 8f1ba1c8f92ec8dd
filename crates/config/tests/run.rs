//! The keys `pacer run` reads: connections, requests, jq, policies.

use pacer_config::{Auth, CatchUp, Overlap, Paginate};

const FILE: &str = "\
environment: { name: acme, store: \"sqlite://acme.db\" }
systems:
  erp:
    rate: 100/min
    base_url: http://127.0.0.1:9101/api/
    auth: { bearer: \"${ERP_TOKEN}\" }
  webshop: { rate: 500/min, base_url: \"http://127.0.0.1:9102\", auth: { basic: { username: pacer, password: \"${SHOP_PASSWORD}\" } } }
integrations:
  prices:
    from: erp
    to: webshop
    volume: 35000/day
    pull:
      request: { path: /prices, query: { changed_since: \"{{ cursor }}\", type: price } }
      records: .data[]
      key: .sku
      paginate: { link: true }
      overlap: queue_one
      catch_up: all
      catch_up_window: 2h
      catch_up_max: 5
    push:
      request: { method: put, path: \"/prices/{{ sku }}\", headers: { X-Source: pacer } }
      transform: '{sku, price: .amount}'
      batch: 50
      timeout: 5s
      deadline: 10m
  orders:
    from: webshop
    to: erp
    volume: 180/day
    webhook: { secret: \"${HOOK_SECRET}\" }
";

fn error(yaml: &str) -> String {
    pacer_config::parse(yaml, "acme.yaml")
        .unwrap_err()
        .to_string()
}

#[test]
fn connections_keep_secrets_unresolved() {
    let config = pacer_config::parse(FILE, "acme.yaml").unwrap();
    assert_eq!(config.store.as_deref(), Some("sqlite://acme.db"));
    let erp = &config.connections[0];
    assert_eq!(erp.base_url.as_deref(), Some("http://127.0.0.1:9101/api"));
    match &erp.auth {
        Some(Auth::Bearer(token)) => {
            assert_eq!(token.text, "${ERP_TOKEN}");
            assert_eq!(token.origin, "acme.yaml:6:21: systems.erp.auth.bearer");
        }
        other => panic!("expected bearer auth, got {other:?}"),
    }
    assert!(matches!(
        &config.connections[1].auth,
        Some(Auth::Basic { username, password }) if username == "pacer" && password.text == "${SHOP_PASSWORD}"
    ));
}

#[test]
fn pull_and_push_as_written_and_by_default() {
    let config = pacer_config::parse(FILE, "acme.yaml").unwrap();
    let prices = &config.flows[0];
    assert_eq!(prices.pull.request.method, "GET");
    assert_eq!(prices.pull.request.path, "/prices");
    assert_eq!(
        prices.pull.request.query,
        [
            ("changed_since".to_string(), "{{ cursor }}".to_string()),
            ("type".to_string(), "price".to_string())
        ]
    );
    assert_eq!(prices.pull.records.text, ".data[]");
    assert_eq!(
        prices.pull.records.origin,
        "acme.yaml:15:16: integrations.prices.pull.records"
    );
    assert_eq!(prices.pull.cursor.text, ".updated_at");
    assert_eq!(
        prices.pull.cursor.origin,
        "integrations.prices.pull.cursor (default \".updated_at\")"
    );
    assert_eq!(prices.pull.paginate, Paginate::Link);
    assert_eq!(prices.pull.policy.overlap, Overlap::QueueOne);
    assert_eq!(
        prices.pull.policy.catch_up,
        CatchUp::All {
            window_minutes: 120,
            max: 5
        }
    );
    assert_eq!(prices.push.request.method, "PUT");
    assert_eq!(prices.push.request.path, "/prices/{{ sku }}");
    assert_eq!(prices.push.batch, 50);
    assert_eq!(prices.push.timeout_ms, 5_000);
    assert_eq!(prices.push.policy.deadline_minutes, Some(10));
    assert_eq!(prices.push.policy.overlap, Overlap::Skip);

    let orders = &config.flows[1];
    assert_eq!(orders.pull.request.path, "/orders");
    assert!(
        matches!(&orders.pull.paginate, Paginate::Next { token, param }
        if token.text == ".next_page_token" && param == "page_token")
    );
    let hook = orders.webhook.as_ref().unwrap();
    assert_eq!(hook.max_bytes, 1 << 20);
    assert_eq!(hook.key.text, ".key");
}

#[test]
fn bad_run_keys_name_where_and_what() {
    assert_eq!(
        error(&FILE.replace("sqlite://acme.db", "mysql://x")),
        r#"acme.yaml:1:35: environment.store: expected "sqlite://FILE" or "postgres://…", found "mysql://x""#
    );
    assert_eq!(
        error(&FILE.replace("http://127.0.0.1:9101/api/", "127.0.0.1:9101")),
        r#"acme.yaml:5:15: systems.erp.base_url: expected an http:// or https:// URL such as https://erp.example.com/api, found "127.0.0.1:9101" (relative URL without a base)"#
    );
    assert_eq!(
        error(&FILE.replace("overlap: queue_one", "overlap: twice")),
        r#"acme.yaml:18:16: integrations.prices.pull.overlap: expected "skip", "queue_one" or "allow", found "twice""#
    );
    assert_eq!(
        error(&FILE.replace("timeout: 5s", "timeout: soon")),
        r#"acme.yaml:26:16: integrations.prices.push.timeout: expected a duration such as "500ms", "30s" or "2m", found "soon""#
    );
    assert_eq!(
        error(&FILE.replace("batch: 50", "batch: 0")),
        "acme.yaml:25:14: integrations.prices.push.batch: expected at least 1 record per request, found 0"
    );
    assert!(
        error(&FILE.replace("paginate: { link: true }", "paginate: { link: true, page: p }"))
            .contains("integrations.prices.pull.paginate: expected exactly one of next, page, offset or link: true, found 2")
    );
}

#[test]
fn maintenance_windows_once_or_recurring() {
    let file = FILE.replace(
        "environment: { name: acme, store: \"sqlite://acme.db\" }",
        "environment:\n  name: acme\n  timezone: Europe/Amsterdam\n  maintenance:\n    \
         - { start: \"2026-11-29T02:00:00+01:00\", end: \"2026-11-29T04:00:00+01:00\" }\n    \
         - { cron: \"0 3 * * SUN\", duration: 90m }",
    );
    let config = pacer_config::parse(&file, "acme.yaml").unwrap();
    let zone = jiff::tz::TimeZone::get("Europe/Amsterdam").unwrap();
    let at = |s: &str| s.parse::<jiff::Timestamp>().unwrap();
    let [once, weekly] = &config.maintenance[..] else {
        panic!("two windows expected: {:?}", config.maintenance);
    };
    assert!(once.contains(at("2026-11-29T01:00:00Z"), &zone));
    assert!(!once.contains(at("2026-11-29T03:00:00Z"), &zone));
    // Sunday 6 December 2026, 03:00-04:30 in Amsterdam.
    assert!(!weekly.contains(at("2026-12-06T01:59:00Z"), &zone));
    assert!(weekly.contains(at("2026-12-06T02:00:00Z"), &zone));
    assert!(weekly.contains(at("2026-12-06T03:29:00Z"), &zone));
    assert!(!weekly.contains(at("2026-12-06T03:30:00Z"), &zone));
    assert!(!weekly.contains(at("2026-12-07T02:10:00Z"), &zone));

    let bad = file.replace("duration: 90m", "durration: 90m");
    assert!(error(&bad).contains("unknown key `durration`; did you mean `duration`?"));
    let bad = file.replace("duration: 90m", "end: \"2026-11-29T04:00:00+01:00\"");
    assert!(error(&bad).contains(
        "environment.maintenance[1]: expected either `start` and `end`, or `cron` and `duration`"
    ));
}

#[test]
fn retention_has_defaults_and_takes_durations() {
    let days = |n: i64| jiff::SignedDuration::from_hours(24 * n);
    let config = pacer_config::parse(FILE, "acme.yaml").unwrap();
    assert_eq!(
        config.retention,
        pacer_config::Retention {
            finished_tasks: days(7),
            dead_tasks: days(30),
            executions: days(30),
            rate_windows: days(2),
        }
    );
    let file = FILE.replace(
        "environment: { name: acme, store: \"sqlite://acme.db\" }",
        "environment:\n  name: acme\n  retention: { finished: 36h, executions: 90d, rate_windows: 12h }",
    );
    let config = pacer_config::parse(&file, "acme.yaml").unwrap();
    assert_eq!(config.retention.finished_tasks, days(1) + days(1) / 2);
    assert_eq!(config.retention.dead_tasks, days(30), "unset: the default");
    assert_eq!(config.retention.executions, days(90));
    assert_eq!(config.retention.rate_windows, days(1) / 2);

    let bad = file.replace("90d", "forever");
    assert_eq!(
        error(&bad),
        "acme.yaml:3:43: environment.retention.executions: expected a duration such as \"30m\", \"2h\" or \"1h30m\", found \"forever\""
    );
    let bad = file.replace("finished:", "finshed:");
    assert!(error(&bad).contains("unknown key `finshed`; did you mean `finished`?"));
}

#[test]
fn alerts_name_their_conditions_and_channels() {
    let config = pacer_config::parse(FILE, "acme.yaml").unwrap();
    assert_eq!(config.alerts, None, "no alerts: nobody is told");
    let file = format!(
        "{FILE}alerts:\n  \
         when: {{ failed_runs: 5, backlog: off, at_rate: 2h, at_capacity: false, drift: on }}\n  \
         repeat: 1h\n  \
         send:\n    \
         - webhook: https://hooks.example.com/pacer\n    \
         - slack: \"${{SLACK_URL}}\"\n    \
         - email: {{ server: \"smtp://mail.example.com:25\", from: pacer@example.com, to: [ops@example.com] }}\n"
    );
    let alerts = pacer_config::parse(&file, "acme.yaml")
        .unwrap()
        .alerts
        .unwrap();
    assert_eq!(
        alerts.conditions,
        pacer_config::Conditions {
            dead_tasks: Some(1),
            failed_runs: Some(5),
            backlog: false,
            at_rate: Some(jiff::SignedDuration::from_hours(2)),
            at_capacity: None,
            node_lost: true,
            drift: true,
        }
    );
    assert_eq!(alerts.repeat, jiff::SignedDuration::from_hours(1));
    let [
        pacer_config::Channel::Webhook(hook),
        pacer_config::Channel::Slack(slack),
        pacer_config::Channel::Email { server, from, to },
    ] = &alerts.channels[..]
    else {
        panic!("three channels: {:?}", alerts.channels);
    };
    assert_eq!(hook.text, "https://hooks.example.com/pacer");
    assert_eq!(slack.text, "${SLACK_URL}");
    assert!(
        slack.origin.ends_with("alerts.send[1].slack"),
        "{}",
        slack.origin
    );
    assert_eq!(server.text, "smtp://mail.example.com:25");
    assert_eq!(
        (from.as_str(), &to[..]),
        ("pacer@example.com", &["ops@example.com".to_string()][..])
    );

    for (bad, says) in [
        (
            "failed_runs: 5",
            "alerts.when.failed_runs: expected a count of at least 1, or off",
        ),
        ("backlog: off", "alerts.when.backlog: expected on or off"),
        (
            "at_rate: 2h",
            "alerts.when.at_rate: expected a duration such as",
        ),
        (
            "https://hooks",
            "alerts.send[0].webhook: expected a URL starting http:// or https://",
        ),
        (
            "smtp://mail",
            "alerts.send[2].email.server: expected a URL starting smtp:// or smtps://",
        ),
        (
            "to: [ops@example.com]",
            "alerts.send[2].email.to: expected an email address, found \"ops\"",
        ),
        ("repeat: 1h", "alerts.repeat: expected a duration"),
    ] {
        let wrong = match bad {
            "failed_runs: 5" => file.replace(bad, "failed_runs: 0"),
            "backlog: off" => file.replace(bad, "backlog: sometimes"),
            "at_rate: 2h" => file.replace(bad, "at_rate: 7"),
            "https://hooks" => file.replace(bad, "hooks"),
            "smtp://mail" => file.replace(bad, "mail"),
            "to: [ops@example.com]" => file.replace(bad, "to: [ops]"),
            _ => file.replace(bad, "repeat: often"),
        };
        let message = error(&wrong);
        assert!(message.contains(says), "{bad}: {message}");
        assert!(message.starts_with("acme.yaml:"), "{message}");
    }
    let none = file.replace(&file[file.find("  send:").unwrap()..], "  send: []\n");
    assert!(error(&none).contains("alerts.send: expected at least one place to send alerts"));
}

#[test]
fn an_integration_is_found_by_name_with_its_flow_and_systems() {
    let config = pacer_config::parse(FILE, "acme.yaml").unwrap();
    let names: Vec<&str> = config
        .integrations()
        .map(|i| i.plan.name.as_str())
        .collect();
    assert_eq!(names, ["prices", "orders"]);
    let orders = config.integration("orders").unwrap();
    assert_eq!(orders.flow.integration, "orders");
    assert!(orders.flow.webhook.is_some());
    assert_eq!(
        config.connection(&orders.plan.to).unwrap().system,
        "erp",
        "orders go to the erp"
    );
    assert_eq!(
        config.system("webshop").unwrap().rate.items_per_minute(),
        500.0
    );
    assert!(config.integration("stock").is_none());
    assert!(config.connection("crm").is_none());
    // No time zone in the file: schedules are read in UTC, already found.
    assert_eq!(config.time_zone, jiff::tz::TimeZone::UTC);
}
