//! Every kind of bad file gets file:line:column, the key, and what to write.

const GOOD: &str = "\
environment:
  name: acme
  timezone: Europe/Amsterdam
  capacity: 2
systems:
  erp: { rate: 100/min }
  webshop: { rate: 500/min }
integrations:
  prices:
    from: erp
    to: webshop
    volume: 35000/day
    peak_factor: 1.5
    freshness: 30m
    active_hours: \"06:00-22:00\"
    pull: { max_items: 50, schedule: auto }
    push: { rate: 5/s, schedule: \"H/20 * * * *\" }
";

fn error(yaml: &str) -> String {
    pacer_config::parse(yaml, "acme.yaml")
        .unwrap_err()
        .to_string()
}

#[test]
fn a_good_file_parses_into_the_planners_model() {
    let config = pacer_config::parse(GOOD, "acme.yaml").unwrap();
    assert_eq!(config.timezone, "Europe/Amsterdam");
    let env = &config.environment;
    assert_eq!((env.name.as_str(), env.capacity), ("acme", 2));
    assert_eq!(env.systems[1].rate.items_per_minute(), 500.0);
    let prices = &env.integrations[0];
    assert_eq!(prices.peak_factor, 1.5);
    assert_eq!(prices.freshness_minutes, Some(30));
    assert_eq!(prices.active_hours.hours(), 16);
    assert_eq!(prices.pull.max_items, Some(50));
    assert!(prices.pull.schedule.is_none());
    assert_eq!(prices.push.rate.unwrap().items_per_minute(), 300.0);
    // H is hashed from the job's name.
    assert_eq!(
        prices.push.schedule.as_ref().unwrap().to_string(),
        "16-59/20 * * * *"
    );
}

#[test]
fn defaults_and_order() {
    let yaml = "systems: { b: { rate: 1/s }, a: { rate: 1/s } }\nintegrations:\n  z: { from: a, to: b, volume: 10/hour }\n  y: { from: b, to: a, volume: 1/day }\n";
    let config = pacer_config::parse(yaml, "dir/shop.yaml").unwrap();
    assert_eq!(config.timezone, "UTC");
    assert_eq!(config.environment.name, "shop");
    assert_eq!(config.environment.capacity, 1);
    // The file's order, not alphabetical.
    let names: Vec<&str> = config
        .environment
        .integrations
        .iter()
        .map(|i| i.name.as_str())
        .collect();
    assert_eq!(names, ["z", "y"]);
    assert_eq!(config.environment.integrations[0].volume_per_day, 240.0);
}

#[test]
fn a_value_that_means_nothing() {
    assert_eq!(
        error(&GOOD.replace("35000/day", "lots")),
        r#"acme.yaml:12:13: integrations.prices.volume: expected "<number>/day" or "<number>/hour", found "lots""#
    );
    assert_eq!(
        error(&GOOD.replace("rate: 100/min", "rate: fast")),
        r#"acme.yaml:6:16: systems.erp.rate: expected "<number>/min" (items), "<number> requests/min", or both: "5000/min, 60 requests/min" (also /s, /h), found "fast""#
    );
    assert_eq!(
        error(&GOOD.replace("30m", "soon")),
        r#"acme.yaml:14:16: integrations.prices.freshness: expected a duration such as "30m", "2h" or "1h30m", found "soon""#
    );
    assert_eq!(
        error(&GOOD.replace("06:00-22:00", "6am-10pm")),
        r#"acme.yaml:15:19: integrations.prices.active_hours: expected hours such as "06:00-22:00" (whole hours, 00:00-24:00), found "6am-10pm""#
    );
    assert_eq!(
        error(&GOOD.replace("capacity: 2", "capacity: 0")),
        "acme.yaml:4:13: environment.capacity: expected at least 1 execution at once, found 0"
    );
    assert_eq!(
        error(&GOOD.replace("peak_factor: 1.5", "peak_factor: -1")),
        "acme.yaml:13:18: integrations.prices.peak_factor: expected a number above 0 and at most 100, found -1"
    );
    assert_eq!(
        error(&GOOD.replace("max_items: 50", "max_items: 0")),
        "acme.yaml:16:24: integrations.prices.pull.max_items: expected at least 1 item per execution, found 0"
    );
}

#[test]
fn unknown_keys_suggest_the_close_one() {
    assert_eq!(
        error(&GOOD.replace("    volume:", "    volum:")),
        "acme.yaml:12:5: integrations.prices.volum: unknown key `volum`; did you mean `volume`? \
         (expected one of: from, to, volume, peak_factor, freshness, active_hours, profile, webhook, pull, push)"
    );
    assert_eq!(
        error(&GOOD.replace("timezone:", "time_zone:")),
        "acme.yaml:3:3: environment.time_zone: unknown key `time_zone`; did you mean `timezone`? \
         (expected one of: name, timezone, capacity, store, api_token, maintenance, retention)"
    );
    // Nothing close: no suggestion, the full list.
    assert_eq!(
        error(&GOOD.replace("    peak_factor: 1.5\n", "    colour: blue\n")),
        "acme.yaml:13:5: integrations.prices.colour: unknown key `colour` \
         (expected one of: from, to, volume, peak_factor, freshness, active_hours, profile, webhook, pull, push)"
    );
}

#[test]
fn missing_keys_and_wrong_types() {
    assert_eq!(
        error(&GOOD.replace("    volume: 35000/day\n", "")),
        // serde-saphyr points at the end of the mapping that lacks it.
        "acme.yaml:16:5: integrations.prices: missing key `volume`"
    );
    assert_eq!(
        error(&GOOD.replace("peak_factor: 1.5", "peak_factor: lots")),
        "acme.yaml:13:18: integrations.prices.peak_factor: invalid floating point"
    );
}

#[test]
fn systems_that_do_not_exist() {
    assert_eq!(
        error(&GOOD.replace("from: erp", "from: erpp")),
        r#"acme.yaml:10:11: integrations.prices.from: no system named "erpp"; did you mean "erp"? the systems are: erp, webshop"#
    );
    assert_eq!(
        error(&GOOD.replace("to: webshop", "to: pim")),
        r#"acme.yaml:11:9: integrations.prices.to: no system named "pim"; the systems are: erp, webshop"#
    );
}

#[test]
fn bad_time_zones_and_schedules() {
    assert_eq!(
        error(&GOOD.replace("Europe/Amsterdam", "Europe/Amstrdam")),
        r#"acme.yaml:3:13: environment.timezone: unknown time zone "Europe/Amstrdam"; expected an IANA name such as UTC, Europe/Amsterdam or America/New_York"#
    );
    assert_eq!(
        error(&GOOD.replace("H/20 * * * *", "H/20 25 * * *")),
        r#"acme.yaml:17:40: integrations.prices.push.schedule: invalid cron expression "H/20 25 * * *": hour field, column 6: 25 is out of range, expected 0-23"#
    );
}

#[test]
fn malformed_yaml() {
    let message = error("systems: [\n");
    assert!(message.starts_with("acme.yaml:1:"), "{message}");
    assert!(message.contains("systems"), "{message}");
}

#[test]
fn the_example_file_parses() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples/acme.yaml");
    let text = std::fs::read_to_string(path).unwrap();
    let config = pacer_config::parse(&text, "examples/acme.yaml").unwrap();
    let names: Vec<&str> = config
        .environment
        .integrations
        .iter()
        .map(|i| i.name.as_str())
        .collect();
    assert_eq!(
        names,
        [
            "new_products",
            "updated_products",
            "prices",
            "stock",
            "orders"
        ]
    );
    let volumes: Vec<f64> = config
        .environment
        .integrations
        .iter()
        .map(|i| i.volume_per_day)
        .collect();
    assert_eq!(volumes, [15.0, 200.0, 35_000.0, 21_000.0, 180.0]);
}

#[test]
fn the_schema_describes_every_key() {
    let schema: serde_json::Value = serde_json::from_str(&pacer_config::schema()).unwrap();
    assert_eq!(schema["title"], "Pacer configuration");
    let text = schema.to_string();
    for key in [
        "environment",
        "timezone",
        "capacity",
        "systems",
        "rate",
        "integrations",
        "volume",
        "peak_factor",
        "freshness",
        "active_hours",
        "max_items",
        "schedule",
    ] {
        assert!(text.contains(&format!("\"{key}\"")), "schema lacks {key}");
    }
    // Unknown keys are rejected by the schema too, as by the parser.
    assert!(text.contains("\"additionalProperties\":false"));
    // And the ranges the parser keeps, so an editor flags them as it does.
    let capacity = &schema["$defs"]["Environment"]["properties"]["capacity"];
    assert_eq!(
        (&capacity["minimum"], &capacity["maximum"]),
        (&1.into(), &1000.into()),
        "{capacity}"
    );
    let batch = &schema["$defs"]["Job"]["properties"]["batch"];
    assert_eq!(batch["maximum"], 10_000, "{batch}");
    let method = &schema["$defs"]["Request"]["properties"]["method"];
    assert!(method["pattern"].is_string(), "{method}");
}

#[test]
fn an_hourly_profile_has_24_weights() {
    let day = "[0,0,0,0,0,0,1,2,4,4,3,3,3,3,3,3,3,2,1,1,0,0,0,0]";
    let good = GOOD.replace(
        "    freshness: 30m\n",
        &format!("    freshness: 30m\n    profile: {day}\n"),
    );
    let config = pacer_config::parse(&good, "acme.yaml").unwrap();
    let profile = config.flows[0].profile.unwrap();
    assert_eq!((profile[8], profile[23]), (4.0, 0.0));
    assert_eq!(
        error(&good.replace(day, "[1, 2, 3]")),
        "acme.yaml:15:14: integrations.prices.profile: expected 24 weights, one per hour from \
         00:00, none negative and not all 0, found 3 values"
    );
}

/// Numbers that once made `plan`, `run` or `simulate` work without end are
/// refused where they are written, with the range that is allowed.
#[test]
fn numbers_outside_sane_ranges_are_refused_where_written() {
    for (from, to, expected) in [
        (
            "rate: 100/min",
            "rate: 0.0000001/min",
            r#"acme.yaml:6:16: systems.erp.rate: expected a rate from 1/h to 1000000/s, found "0.0000001/min""#,
        ),
        (
            "capacity: 2",
            "capacity: 4294967295",
            "acme.yaml:4:13: environment.capacity: expected 1 to 1000 executions at once, found 4294967295",
        ),
        (
            "35000/day",
            "1e30/day",
            r#"acme.yaml:12:13: integrations.prices.volume: expected at most 1000000000/day (41666666/hour), found "1e30/day""#,
        ),
        (
            "35000/day",
            "18446744073709551616/hour",
            r#"acme.yaml:12:13: integrations.prices.volume: expected at most 1000000000/day (41666666/hour), found "18446744073709551616/hour""#,
        ),
        (
            "peak_factor: 1.5",
            "peak_factor: 1e300",
            "acme.yaml:13:18: integrations.prices.peak_factor: expected a number above 0 and at most 100, found 1e300",
        ),
        (
            "freshness: 30m",
            "freshness: 99999999999999999999d",
            r#"acme.yaml:14:16: integrations.prices.freshness: expected a duration of at most 366d, found "99999999999999999999d""#,
        ),
        (
            "max_items: 50",
            "max_items: 18446744073709551615",
            "acme.yaml:16:24: integrations.prices.pull.max_items: expected 1 to 1000000000 items, found 18446744073709551615",
        ),
        (
            "rate: 5/s,",
            "batch: 4294967295, rate: 5/s,",
            "acme.yaml:17:20: integrations.prices.push.batch: expected 1 to 10000 records per request, found 4294967295",
        ),
        (
            "max_items: 50,",
            "catch_up: all, catch_up_max: 4294967295, max_items: 50,",
            "acme.yaml:16:42: integrations.prices.pull.catch_up_max: expected 0 to 10000 executions, found 4294967295",
        ),
    ] {
        assert!(GOOD.contains(from), "{from}");
        assert_eq!(error(&GOOD.replace(from, to)), expected, "{to}");
    }
}

/// `pacer run` once refused these while `plan` and `simulate` took them;
/// now every command reads the file through the same checks.
#[test]
fn what_run_cannot_use_is_refused_for_every_command() {
    let jobs = "    pull: { max_items: 50, schedule: auto }\n    push: { rate: 5/s, schedule: \"H/20 * * * *\" }\n";
    assert!(GOOD.ends_with(jobs));
    for (job, expected) in [
        (
            r#"pull: { records: ".items[" }"#,
            r#"acme.yaml:16:30: integrations.prices.pull.records: invalid jq expression ".items[": expected closing bracket at the end"#,
        ),
        (
            r#"push: { request: { method: "FO O" } }"#,
            r#"acme.yaml:16:35: integrations.prices.push.request.method: "FO O" is not an HTTP method"#,
        ),
        (
            r#"push: { request: { path: "/prices/{{ sku }" } }"#,
            "acme.yaml:16:39: integrations.prices.push.request.path: `{{` without its `}}`",
        ),
        (
            r#"pull: { request: { path: "/prices/{{ sku }}" } }"#,
            r#"acme.yaml:16:39: integrations.prices.pull.request.path: {{ sku }} names "sku", but a pull request knows only {{ cursor }}"#,
        ),
        (
            r#"pull: { request: { query: { since_id: "{{ cursor.x }}" } } }"#,
            r#"acme.yaml:16:44: integrations.prices.pull.request.query.since_id: {{ cursor.x }} names "cursor.x", but a pull request knows only {{ cursor }} (and {{ cursor.0 }}, {{ cursor.1 }}… for the parts of a compound cursor)"#,
        ),
        (
            r#"pull: { cursor_compare: ">=" }"#,
            r#"acme.yaml:16:29: integrations.prices.pull.cursor_compare: expected "strict" (the source sends records after the cursor) or "inclusive" (at or after it), found ">=""#,
        ),
        (
            r#"push: { transform: ".", graphql: { query: "mutation { a }" } }"#,
            "acme.yaml:16:38: integrations.prices.push.graphql: graphql writes the request's body: give the record's variables as graphql.variables, not push.transform or push.body",
        ),
        (
            r#"pull: { success: ".errors ==" }"#,
            "acme.yaml:16:33: integrations.prices.pull.success: invalid jq expression",
        ),
        (
            r#"push: { transform: "{sku, price: nosuch(.amount)}" }"#,
            "acme.yaml:16:38: integrations.prices.push.transform: invalid jq expression \"{sku, price: nosuch(.amount)}\": undefined `nosuch`",
        ),
        (
            r#"push: { success: ".errors ==" }"#,
            "acme.yaml:16:33: integrations.prices.push.success: invalid jq expression \".errors ==\"",
        ),
        (
            r#"push: { batch: 10, body: "{items: .[}" }"#,
            "acme.yaml:16:41: integrations.prices.push.body: invalid jq expression \"{items: .[}\"",
        ),
        (
            r#"push: { success: ".errors == null", retry: ".errors[" }"#,
            "acme.yaml:16:57: integrations.prices.push.retry: invalid jq expression \".errors[\"",
        ),
    ] {
        let message = error(&GOOD.replace(jobs, &format!("    {job}\n")));
        assert!(message.starts_with(expected), "{job}\n{message}");
    }
    let message = error(&GOOD.replace(
        "erp: { rate: 100/min }",
        "erp: { rate: 100/min, lookups: { ids: { value: \".id[\" } } }",
    ));
    assert!(
        message.starts_with(
            "acme.yaml:6:55: systems.erp.lookups.ids.value: invalid jq expression \".id[\""
        ),
        "{message}"
    );
    let message = error(&GOOD.replace(
        "erp: { rate: 100/min }",
        "erp: { rate: 100/min, base_url: \"http://user:pw@[::1\" }",
    ));
    assert!(
        message.starts_with(
            "acme.yaml:6:35: systems.erp.base_url: expected an http:// or https:// URL"
        ),
        "{message}"
    );
    assert!(!message.contains("pw"), "{message}");
}

#[test]
fn a_file_that_is_not_utf8_says_where() {
    let mut bytes = GOOD.as_bytes().to_vec();
    let at = GOOD.find("webshop\n").unwrap() + 2;
    bytes[at] = 0xE9;
    let err = pacer_config::parse_bytes(&bytes, "acme.yaml").unwrap_err();
    assert_eq!(
        err.to_string(),
        "acme.yaml:11:11: the file is not UTF-8 text (byte 0xE9); save it as UTF-8"
    );
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(64))]

    /// Whatever numbers the file may hold, the plan is made with bounded
    /// work: an execution lasts at most an hour and the day has its 1,440
    /// minutes (a rate of 0.0000001/min once made an execution last 19
    /// years and the planner lay out every minute of it).
    #[test]
    fn every_allowed_number_plans_with_bounded_work(
        rate_per_hour in 1.0f64..3.6e9,
        volume in 0.0f64..1e9,
        peak in 0.01f64..100.0,
        capacity in 1u32..=1000,
        batch in 1u32..=10_000,
        max_items in 1u64..=1_000_000_000,
    ) {
        let yaml = format!(
            "environment: {{ capacity: {capacity} }}\n\
             systems:\n  a: {{ rate: {rate_per_hour}/h }}\n  b: {{ rate: 1/h }}\n\
             integrations:\n  p:\n    from: a\n    to: b\n    volume: {volume}/day\n    \
             peak_factor: {peak}\n    pull: {{ max_items: {max_items} }}\n    push: {{ batch: {batch} }}\n"
        );
        let config = pacer_config::parse(&yaml, "p.yaml").unwrap();
        let plan = pacer_plan::plan(&config.environment).unwrap();
        proptest::prop_assert!(plan.jobs.iter().all(|j| j.duration_minutes <= 60));
        proptest::prop_assert_eq!(plan.load.by_minute.len(), 1440);
    }
}

/// What cronie accepts but the author likely did not mean is kept as a
/// warning with where it is written; the file is still read.
#[test]
fn a_step_wider_than_its_range_is_a_warning_where_it_is_written() {
    let config =
        pacer_config::parse(&GOOD.replace("H/20 * * * *", "0 3 */40 * *"), "acme.yaml").unwrap();
    assert_eq!(
        config.warnings,
        [
            "warning: acme.yaml:17:34: integrations.prices.push.schedule: day-of-month field, \
          column 5: a step of 40 is wider than 1-31, so \"*/40\" means 1 only (as cronie reads it)"
        ]
    );
    assert!(
        pacer_config::parse(GOOD, "acme.yaml")
            .unwrap()
            .warnings
            .is_empty()
    );
    assert_eq!(
        error(&GOOD.replace("H/20 * * * *", "5/20 * * * *")),
        "acme.yaml:17:36: integrations.prices.push.schedule: invalid cron expression \"5/20 * * * *\": \
         minute field, column 2: a step needs a range before it, as cronie reads crontabs; \
         write 5-59/20 (from 5 to the end) or */20"
    );
}

/// A regression: these two said line 0, because their check runs after
/// the YAML is read, where the position was no longer kept.
#[test]
fn two_ways_to_authenticate_or_paginate_say_where() {
    let message = error(&GOOD.replace(
        "erp: { rate: 100/min }",
        "erp: { rate: 100/min, auth: { bearer: x, header: { name: a, value: b } } }",
    ));
    assert!(
        message.starts_with(
            "acme.yaml:6:31: systems.erp.auth: expected exactly one of bearer, basic, header, oauth2 or login, found 2"
        ),
        "{message}"
    );
    let message = error(&GOOD.replace(
        "pull: { max_items: 50, schedule: auto }",
        "pull: { paginate: { next: .n, offset: o } }",
    ));
    assert!(
        message.starts_with(
            "acme.yaml:16:23: integrations.prices.pull.paginate: expected exactly one of next, page, offset or link: true, found 2"
        ),
        "{message}"
    );
}

/// A database system is read with `pull.query` and written with
/// `push.statement`; an API with neither; a system is one or the other.
#[test]
fn a_database_is_asked_with_sql_and_an_api_with_requests() {
    let database = GOOD.replace(
        "erp: { rate: 100/min }",
        "erp: { rate: 100/min, database: \"postgres://erp@db/erp\" }",
    );
    assert_eq!(
        error(&database),
        "acme.yaml:10:11: integrations.prices.pull.query: system \"erp\" is a database: the pull needs `query:`"
    );
    let with_query = database.replace(
        "pull: { max_items: 50, schedule: auto }",
        "pull: { max_items: 50, query: \"SELECT * FROM prices WHERE updated_at > {{ cursor }} LIMIT {{ limit }}\" }",
    );
    let config = pacer_config::parse(&with_query, "acme.yaml").unwrap();
    assert!(config.flows[0].pull.query.is_some());
    assert_eq!(
        config.variables(),
        [],
        "a URL without ${{VARIABLE}} reads nothing from the environment"
    );
    assert_eq!(
        error(&with_query.replace("{{ limit }}", "{{ rows }}")),
        "acme.yaml:16:95: integrations.prices.pull.query: {{ rows }} names \"rows\", but a query knows only {{ cursor }}, {{ limit }} and {{ offset }}"
    );
    assert_eq!(
        error(&GOOD.replace(
            "push: { rate: 5/s,",
            "push: { statement: \"INSERT INTO p VALUES ({{ sku }})\", rate: 5/s,"
        )),
        "acme.yaml:17:24: integrations.prices.push.statement: system \"webshop\" is an API, not a database: it is asked with `request`; give it `database:` to push with a statement"
    );
    assert_eq!(
        error(&GOOD.replace(
            "erp: { rate: 100/min }",
            "erp: { rate: 100/min, base_url: \"http://erp\", database: \"sqlite://erp.db\" }"
        )),
        "acme.yaml:6:59: systems.erp.database: expected base_url (an API) or database, not both"
    );
    assert_eq!(
        error(&GOOD.replace(
            "erp: { rate: 100/min }",
            "erp: { rate: 100/min, database: \"mysql://erp\" }"
        )),
        "acme.yaml:6:35: systems.erp.database: expected \"postgres://…\" or \"sqlite://FILE\""
    );
}
