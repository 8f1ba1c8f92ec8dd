//! Reading a file: serde for the shape, then each value checked where it stands.

use std::path::Path;

use jiff::tz::TimeZone;

use pacer_cron::Schedule;
use pacer_plan::{ActiveHours, Environment, Integration, JobOptions, Rate, System};
use serde_saphyr::Spanned;

use crate::{
    Error,
    check::Check,
    raw::{
        RawAlerts, RawAuth, RawChannel, RawConfig, RawGraphql, RawIntegration, RawJob, RawLookup,
        RawMaintenance, RawPaginate, RawRequest, RawRetention, RawSwitch, RawSystem, RawWebhook,
    },
    run::{
        Alerts, Auth, CatchUp, Channel, Conditions, Connection, Expr, Flow, JobPolicy, Lookup,
        Maintenance, Overlap, Paginate, Pull, Push, Request, RequestRate, Retention, Webhook,
    },
    runnable::Fields,
    values,
};

/// The fewest items one request to `system` moves, for planning a rate
/// given in requests: a push's batch, a pull's page (100 records, fewer
/// with a smaller `max_items`); 1 when no job uses the system.
fn items_per_request(system: &str, integrations: &[Integration], flows: &[Flow]) -> f64 {
    integrations
        .iter()
        .zip(flows)
        .flat_map(|(integration, flow)| {
            let pull = (integration.from == system && flow.webhook.is_none())
                .then(|| integration.pull.max_items.unwrap_or(PAGE).min(PAGE) as f64);
            let push = (integration.to == system).then_some(f64::from(flow.push.batch));
            pull.into_iter().chain(push)
        })
        .reduce(f64::min)
        .unwrap_or(1.0)
}

/// The most records a pull asks for in one request: the engine's page.
const PAGE: u64 = 100;

/// A configuration file, checked and typed.
#[derive(Clone, Debug)]
pub struct Config {
    /// The environment, its systems and integrations, as the planner takes them.
    pub environment: Environment,
    /// The IANA time zone schedules are read in, as written.
    pub timezone: String,
    /// That time zone, found.
    pub time_zone: TimeZone,
    /// `environment.store` as written: `sqlite://…` or `postgres://…`; `None`
    /// means a SQLite file next to the config.
    pub store: Option<String>,
    /// `environment.api_token` as written (`${VARIABLE}` read when the server starts).
    pub api_token: Option<Expr>,
    /// How to reach each system, in the file's order.
    pub connections: Vec<Connection>,
    /// How each integration's records move, in the file's order.
    pub flows: Vec<Flow>,
    /// When no job may start.
    pub maintenance: Vec<Maintenance>,
    /// How long the store keeps what is done.
    pub retention: Retention,
    /// Who is told when something needs a person; `None`: nobody.
    pub alerts: Option<Alerts>,
    /// What the file says that Pacer accepts, as cronie does, but its author
    /// likely did not mean (a cron step wider than its range), each as
    /// `file:line:column: key: what`.
    pub warnings: Vec<String>,
}

/// One integration as the file declares it, found by name: what the
/// planner reads of it and how its records move.
#[derive(Clone, Copy, Debug)]
pub struct IntegrationConfig<'a> {
    /// Its systems, volume, peak and jobs, as the planner takes them.
    pub plan: &'a Integration,
    /// How its records move: requests, transforms, webhook, profile.
    pub flow: &'a Flow,
}

impl Config {
    /// Every integration, in the file's order.
    pub fn integrations(&self) -> impl Iterator<Item = IntegrationConfig<'_>> {
        // Both lists are made from the file's integrations, in its order.
        self.environment
            .integrations
            .iter()
            .zip(&self.flows)
            .map(|(plan, flow)| IntegrationConfig { plan, flow })
    }

    /// The integration named `name`.
    pub fn integration(&self, name: &str) -> Option<IntegrationConfig<'_>> {
        self.integrations().find(|i| i.plan.name == name)
    }

    /// How to reach the system named `system`.
    pub fn connection(&self, system: &str) -> Option<&Connection> {
        self.connections.iter().find(|c| c.system == system)
    }

    /// The system named `name`, as the planner takes it (its rate).
    pub fn system(&self, name: &str) -> Option<&System> {
        self.environment.systems.iter().find(|s| s.name == name)
    }

    /// The environment variables `pacer run` reads secrets from (`${NAME}`
    /// in auth, API token, webhook secrets and request headers), each with
    /// where it is first written; planning and simulating need none.
    pub fn variables(&self) -> Vec<(String, String)> {
        let mut written: Vec<(&str, String)> = Vec::new();
        if let Some(token) = &self.api_token {
            written.push((&token.text, token.origin.clone()));
        }
        for connection in &self.connections {
            match &connection.auth {
                Some(Auth::Bearer(e)) | Some(Auth::Header { value: e, .. }) => {
                    written.push((&e.text, e.origin.clone()));
                }
                Some(Auth::Basic { password, .. }) => {
                    written.push((&password.text, password.origin.clone()));
                }
                Some(Auth::OAuth2 { client_secret, .. }) => {
                    written.push((&client_secret.text, client_secret.origin.clone()));
                }
                Some(Auth::Login { body, .. }) => {
                    for (_, value) in body {
                        written.push((&value.text, value.origin.clone()));
                    }
                }
                None => {}
            }
            if let Some(database) = &connection.database {
                written.push((&database.text, database.origin.clone()));
            }
            for lookup in &connection.lookups {
                for (name, value) in &lookup.read.request.headers {
                    let origin = format!(
                        "systems.{}.lookups.{}.request.headers.{name}",
                        connection.system, lookup.name
                    );
                    written.push((value, origin));
                }
            }
        }
        for flow in &self.flows {
            for (job, request) in [("pull", &flow.pull.request), ("push", &flow.push.request)] {
                for (name, value) in &request.headers {
                    let origin = format!(
                        "integrations.{}.{job}.request.headers.{name}",
                        flow.integration
                    );
                    written.push((value, origin));
                }
            }
            if let Some(secret) = flow.webhook.as_ref().and_then(|w| w.secret.as_ref()) {
                written.push((&secret.text, secret.origin.clone()));
            }
        }
        let mut variables: Vec<(String, String)> = Vec::new();
        for (text, origin) in written {
            let mut rest = text;
            while let Some(start) = rest.find("${") {
                let Some(end) = rest[start..].find('}') else {
                    break;
                };
                let name = &rest[start + 2..start + end];
                if !variables.iter().any(|(known, _)| known == name) {
                    variables.push((name.to_string(), origin.clone()));
                }
                rest = &rest[start + end + 1..];
            }
        }
        variables
    }
}

/// Parses and checks a configuration file as read from disk: it must be
/// UTF-8 (the error says where it is not).
///
/// # Errors
///
/// As [`parse`], and bytes that are not UTF-8.
///
/// # Example
///
/// ```
/// let err = pacer_config::parse_bytes(b"systems: {}\nintegrations: { \xff: {} }\n", "a.yaml");
/// assert_eq!(
///     err.unwrap_err().to_string(),
///     "a.yaml:2:17: the file is not UTF-8 text (byte 0xFF); save it as UTF-8"
/// );
/// ```
pub fn parse_bytes(bytes: &[u8], file: &str) -> Result<Config, Error> {
    match std::str::from_utf8(bytes) {
        Ok(text) => parse(text, file),
        Err(e) => {
            let good = &bytes[..e.valid_up_to()];
            let line = good.iter().filter(|&&b| b == b'\n').count() as u64 + 1;
            let line_start = good.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
            let column = String::from_utf8_lossy(&good[line_start..]).chars().count() as u64 + 1;
            Err(Error::new(
                file,
                line,
                column,
                "",
                format!(
                    "the file is not UTF-8 text (byte 0x{:02X}); save it as UTF-8",
                    bytes[e.valid_up_to()]
                ),
            ))
        }
    }
}

/// Parses and checks a configuration file's text; `file` names it in errors.
///
/// Everything `pacer run` needs is checked here, for every command: jq
/// expressions compile, methods are HTTP methods, templates name what a
/// request has, base URLs are URLs, and numbers are within the ranges
/// README lists (a capacity of 4294967295 or a rate of 0.0000001/min once
/// made the planner or the engine work forever).
///
/// # Errors
///
/// When the YAML is malformed, a key is unknown or missing, or a value does
/// not mean anything: the error names the file, line, column and key.
pub fn parse(text: &str, file: &str) -> Result<Config, Error> {
    let mut path = String::new();
    let raw: RawConfig = serde_saphyr::with_deserializer_from_str(text, |de| {
        serde_path_to_error::deserialize(de).map_err(|e| {
            path = e.path().to_string();
            e.into_inner()
        })
    })
    .map_err(|e| yaml_error(file, &path, &e))?;
    let check = Check::new(file, text);
    let mut config = check.config(raw)?;
    config.warnings = check.into_warnings();
    Ok(config)
}

/// The JSON Schema of the file, pretty-printed.
pub fn schema() -> String {
    let schema = schemars::schema_for!(RawConfig);
    let mut text = serde_json::to_string_pretty(&schema).expect("a schema serialises");
    // The types are the loader's own (`RawJob`…); the file's author knows
    // them by what they are (`Job`…).
    let mut value: serde_json::Value = serde_json::from_str(&text).expect("the schema is JSON");
    let names: Vec<String> = value["$defs"]
        .as_object()
        .map(|defs| defs.keys().cloned().collect())
        .unwrap_or_default();
    for name in names {
        let public = name.replace("Raw", "");
        text = text.replace(
            &format!("\"#/$defs/{name}\""),
            &format!("\"#/$defs/{public}\""),
        );
    }
    value = serde_json::from_str(&text).expect("the schema is JSON");
    if let Some(defs) = value["$defs"].as_object_mut() {
        *defs = std::mem::take(defs)
            .into_iter()
            .map(|(name, schema)| (name.replace("Raw", ""), schema))
            .collect();
    }
    if let Some(root) = value.as_object_mut() {
        root.insert("$id".into(), SCHEMA_ID.into());
    }
    serde_json::to_string_pretty(&value).expect("a schema serialises")
}

/// Where the schema says it lives: `pacer schema` prints it.
pub const SCHEMA_ID: &str = "urn:pacer:config:1";

fn yaml_error(file: &str, path: &str, error: &serde_saphyr::Error) -> Error {
    let (line, column) = error.location().map_or((0, 0), |l| (l.line(), l.column()));
    let path = if path == "." { "" } else { path };
    // `Spanned` reads its value through an inner field; users never wrote it.
    let path = path.strip_suffix(".value").unwrap_or(path);
    let message = match error.without_snippet() {
        serde_saphyr::Error::SerdeUnknownField {
            field, expected, ..
        } => {
            let hint = did_you_mean(field, expected.iter().copied())
                .map(|close| format!("; did you mean `{close}`?"))
                .unwrap_or_default();
            format!(
                "unknown key `{field}`{hint} (expected one of: {})",
                expected.join(", ")
            )
        }
        serde_saphyr::Error::SerdeMissingField { field, .. } => format!("missing key `{field}`"),
        other => {
            let text = other.to_string();
            // The location is already in front; drop serde-saphyr's own copy.
            match text.rsplit_once(" at line ") {
                Some((message, _)) => message.to_string(),
                None => text,
            }
        }
    };
    Error::new(file, line, column, path, message)
}

/// The candidate closest to `word`, if it is close enough to be a typo.
fn did_you_mean<'a>(word: &str, candidates: impl Iterator<Item = &'a str>) -> Option<&'a str> {
    candidates
        .map(|c| (edit_distance(word, c), c))
        .filter(|&(d, c)| d <= 2.max(c.len() / 3))
        .min()
        .map(|(_, c)| c)
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, &cb) in b.iter().enumerate() {
            let above = row[j + 1];
            row[j + 1] = (above + 1)
                .min(row[j] + 1)
                .min(diagonal + usize::from(ca != cb));
            diagonal = above;
        }
    }
    row[b.len()]
}

impl Check<'_> {
    /// A bound no sane file exceeds; a larger number made the planner, the
    /// store or the engine work without end.
    fn at_most<T: PartialOrd + std::fmt::Display + Copy>(
        &self,
        spanned: &Spanned<T>,
        path: &str,
        least: T,
        most: T,
        what: &str,
    ) -> Result<T, Error> {
        let value = spanned.value;
        if value < least || value > most {
            return Err(self.at(
                spanned,
                path,
                format!("expected {least} to {most} {what}, found {value}"),
            ));
        }
        Ok(value)
    }

    /// "expected X, found "Y"" for a value that did not parse.
    fn value<T>(
        &self,
        spanned: &Spanned<String>,
        path: &str,
        parse: impl Fn(&str) -> Result<T, &'static str>,
    ) -> Result<T, Error> {
        parse(&spanned.value).map_err(|expected| {
            self.at(
                spanned,
                path,
                format!("expected {expected}, found {:?}", spanned.value),
            )
        })
    }

    /// A schedule as written, its warnings kept with where they are.
    fn schedule(
        &self,
        spanned: &Spanned<String>,
        path: &str,
        key: Option<&str>,
    ) -> Result<Schedule, Error> {
        let schedule = match key {
            Some(key) => Schedule::parse_with_key(&spanned.value, key),
            None => Schedule::parse(&spanned.value),
        }
        .map_err(|e| self.cron_error(spanned, path, &e))?;
        for warning in schedule.warnings() {
            let at = self.at(spanned, path, warning.clone());
            self.warn(format!("warning: {at}"));
        }
        Ok(schedule)
    }

    /// Points at the offending character inside the expression, not at its start.
    fn cron_error(
        &self,
        spanned: &Spanned<String>,
        path: &str,
        error: &pacer_cron::Error,
    ) -> Error {
        let message = format!("invalid cron expression {:?}: {error}", spanned.value);
        let chars = error.column().map_or(0, |c| c.saturating_sub(1));
        self.inside(spanned, chars, path, message)
    }

    fn config(&self, raw: RawConfig) -> Result<Config, Error> {
        let env = raw.environment;
        let (timezone, time_zone) = self.time_zone(env.timezone.as_ref())?;
        let capacity = self.capacity(env.capacity.as_ref())?;
        let name = env.name.unwrap_or_else(|| {
            Path::new(self.file())
                .file_stem()
                .map_or_else(|| "pacer".to_string(), |s| s.to_string_lossy().into_owned())
        });

        let store = self.store(env.store.as_ref())?;

        let api_token = env
            .api_token
            .as_ref()
            .map(|token| self.expr(Some(token), "environment.api_token", ""));

        let mut maintenance = Vec::new();
        for (n, window) in env.maintenance.iter().enumerate() {
            maintenance.push(self.maintenance(window, &format!("environment.maintenance[{n}]"))?);
        }

        let retention = self.retention(&env.retention)?;
        let alerts = raw
            .alerts
            .as_ref()
            .map(|alerts| self.alerts(alerts))
            .transpose()?;

        let mut rates = Vec::new();
        let mut connections = Vec::new();
        for (system, settings) in &raw.systems.0 {
            let mut connection = self.connection(system, settings)?;
            let (items, requests) = self.value(
                &settings.rate,
                &format!("systems.{system}.rate"),
                values::system_rate,
            )?;
            let whole = |r: Rate| (r.items_per_minute().floor() as u32).max(1);
            connection.requests = requests.map(|r| RequestRate {
                per_minute: whole(r),
                items_per_minute: items.map(whole),
            });
            connections.push(connection);
            rates.push((items, requests));
        }
        let names: Vec<&str> = raw
            .systems
            .0
            .iter()
            .map(|(name, _)| name.as_str())
            .collect();

        let mut integrations = Vec::new();
        let mut flows = Vec::new();
        for (integration, settings) in &raw.integrations.0 {
            integrations.push(self.integration(integration, settings, &names)?);
            flows.push(self.flow(integration, settings)?);
            self.database_keys(integration, settings, &raw.systems.0)?;
        }
        let mut systems = Vec::new();
        for ((name, settings), (items, requests)) in raw.systems.0.iter().zip(rates) {
            let rate = match requests {
                None => items,
                Some(requests) => {
                    let moved = requests.items_per_minute()
                        * items_per_request(name, &integrations, &flows);
                    let by_requests = Rate::per_minute(moved);
                    match items {
                        Some(items) if items.items_per_minute() <= moved => Some(items),
                        _ if by_requests.is_plannable() => Some(by_requests),
                        _ => {
                            return Err(self.at(
                                &settings.rate,
                                &format!("systems.{name}.rate"),
                                format!("{moved} items a minute by its requests is beyond what Pacer plans (1/h to 1000000/s)"),
                            ));
                        }
                    }
                }
            };
            systems.push(System {
                name: name.clone(),
                rate: rate.expect("a system's rate gives items, requests or both"),
            });
        }
        Ok(Config {
            environment: Environment {
                name,
                capacity,
                systems,
                integrations,
            },
            timezone,
            time_zone,
            store,
            api_token,
            connections,
            flows,
            maintenance,
            retention,
            alerts,
            warnings: Vec::new(),
        })
    }

    /// A database is read with `pull.query` and written with
    /// `push.statement`, and an API with neither.
    fn database_keys(
        &self,
        integration: &str,
        settings: &RawIntegration,
        systems: &[(String, RawSystem)],
    ) -> Result<(), Error> {
        let is_database = |name: &str| {
            systems
                .iter()
                .any(|(system, raw)| system == name && raw.database.is_some())
        };
        for (job, system, written, needed) in [
            ("pull", &settings.from, &settings.pull.query, "query"),
            ("push", &settings.to, &settings.push.statement, "statement"),
        ] {
            let database = is_database(&system.value);
            match written {
                Some(text) if !database => {
                    return Err(self.at(
                        text,
                        &format!("integrations.{integration}.{job}.{needed}"),
                        format!(
                            "system {:?} is an API, not a database: it is asked with `request`; \
                             give it `database:` to {job} with a {needed}",
                            system.value
                        ),
                    ));
                }
                None if database && (job == "push" || settings.webhook.is_none()) => {
                    return Err(self.at(
                        system,
                        &format!("integrations.{integration}.{job}.{needed}"),
                        format!(
                            "system {:?} is a database: the {job} needs `{needed}:`",
                            system.value
                        ),
                    ));
                }
                _ => {}
            }
        }
        Ok(())
    }

    /// `environment.timezone`, as written and found; UTC when not set.
    fn time_zone(&self, zone: Option<&Spanned<String>>) -> Result<(String, TimeZone), Error> {
        let Some(zone) = zone else {
            return Ok(("UTC".to_string(), TimeZone::UTC));
        };
        let time_zone = TimeZone::get(&zone.value).map_err(|_| {
            self.at(
                zone,
                "environment.timezone",
                format!(
                    "unknown time zone {:?}; expected an IANA name such as UTC, \
                     Europe/Amsterdam or America/New_York",
                    zone.value
                ),
            )
        })?;
        Ok((zone.value.clone(), time_zone))
    }

    /// `environment.capacity`: executions at once, 1 when not set.
    fn capacity(&self, capacity: Option<&Spanned<u32>>) -> Result<u32, Error> {
        match capacity {
            Some(c) if c.value == 0 => Err(self.at(
                c,
                "environment.capacity",
                "expected at least 1 execution at once, found 0".into(),
            )),
            Some(c) => self.at_most(c, "environment.capacity", 1, 1_000, "executions at once"),
            None => Ok(1),
        }
    }

    /// `environment.store`, one of the URLs a store opens.
    fn store(&self, store: Option<&Spanned<String>>) -> Result<Option<String>, Error> {
        let Some(store) = store else {
            return Ok(None);
        };
        let known = ["sqlite://", "postgres://", "postgresql://"];
        if !known.iter().any(|p| store.value.starts_with(p)) {
            return Err(self.at(
                store,
                "environment.store",
                format!(
                    "expected \"sqlite://FILE\" or \"postgres://…\", found {:?}",
                    store.value
                ),
            ));
        }
        Ok(Some(store.value.clone()))
    }

    /// An integration as the planner takes it: its systems (each one of
    /// `names`), volume, peak, freshness, active hours and jobs.
    fn integration(
        &self,
        integration: &str,
        settings: &RawIntegration,
        names: &[&str],
    ) -> Result<Integration, Error> {
        let key = |k: &str| format!("integrations.{integration}.{k}");
        for (field, system) in [("from", &settings.from), ("to", &settings.to)] {
            if !names.contains(&system.value.as_str()) {
                let hint = did_you_mean(&system.value, names.iter().copied())
                    .map(|close| format!("did you mean {close:?}? "))
                    .unwrap_or_default();
                let known = if names.is_empty() {
                    "none".to_string()
                } else {
                    names.join(", ")
                };
                return Err(self.at(
                    system,
                    &key(field),
                    format!(
                        "no system named {:?}; {hint}the systems are: {known}",
                        system.value
                    ),
                ));
            }
        }
        let volume_per_day = self.value(&settings.volume, &key("volume"), values::volume)?;
        let peak_factor = match &settings.peak_factor {
            Some(p) if !(p.value.is_finite() && p.value > 0.0 && p.value <= 100.0) => {
                return Err(self.at(
                    p,
                    &key("peak_factor"),
                    format!(
                        "expected a number above 0 and at most 100, found {}",
                        shown(p.value)
                    ),
                ));
            }
            Some(p) => p.value,
            None => 1.0,
        };
        let freshness_minutes = settings
            .freshness
            .as_ref()
            .map(|f| self.value(f, &key("freshness"), values::duration_minutes))
            .transpose()?;
        let active_hours = settings
            .active_hours
            .as_ref()
            .map(|h| self.value(h, &key("active_hours"), values::active_hours))
            .transpose()?
            .unwrap_or(ActiveHours::ALL_DAY);
        let pull = self.job(&settings.pull, integration, "pull")?;
        let push = self.job(&settings.push, integration, "push")?;
        Ok(Integration {
            name: integration.to_string(),
            from: settings.from.value.clone(),
            to: settings.to.value.clone(),
            volume_per_day,
            peak_factor,
            freshness_minutes,
            active_hours,
            pull,
            push,
        })
    }

    fn alerts(&self, raw: &RawAlerts) -> Result<Alerts, Error> {
        let repeat = match &raw.repeat {
            Some(repeat) => self.value(repeat, "alerts.repeat", values::duration_minutes)?,
            None => 240,
        };
        let mut conditions = Conditions::default();
        let when = &raw.when;
        let key = |k: &str| format!("alerts.when.{k}");
        let count = |written: &Option<Spanned<RawSwitch>>, k: &str, kept: &mut Option<u32>| {
            match written.as_ref().map(|w| (w, &w.value)) {
                None => {}
                Some((_, RawSwitch::Flag(false))) => *kept = None,
                Some((_, RawSwitch::Text(t))) if t == "off" => *kept = None,
                Some((_, RawSwitch::Count(n))) if *n > 0 => *kept = Some(*n),
                Some((w, _)) => {
                    return Err(self.at(
                        w,
                        &key(k),
                        "expected a count of at least 1, or off".into(),
                    ));
                }
            }
            Ok(())
        };
        count(&when.dead_tasks, "dead_tasks", &mut conditions.dead_tasks)?;
        count(
            &when.failed_runs,
            "failed_runs",
            &mut conditions.failed_runs,
        )?;
        let flag = |written: &Option<Spanned<RawSwitch>>, k: &str, kept: &mut bool| {
            match written.as_ref().map(|w| (w, &w.value)) {
                None => {}
                Some((_, RawSwitch::Flag(on))) => *kept = *on,
                Some((_, RawSwitch::Text(t))) if t == "on" || t == "off" => *kept = t == "on",
                Some((w, _)) => return Err(self.at(w, &key(k), "expected on or off".into())),
            }
            Ok(())
        };
        flag(&when.backlog, "backlog", &mut conditions.backlog)?;
        flag(&when.node_lost, "node_lost", &mut conditions.node_lost)?;
        flag(&when.drift, "drift", &mut conditions.drift)?;
        let lasting = |written: &Option<Spanned<RawSwitch>>,
                       k: &str,
                       kept: &mut Option<jiff::SignedDuration>| {
            match written.as_ref().map(|w| (w, &w.value)) {
                None => {}
                Some((_, RawSwitch::Flag(false))) => *kept = None,
                Some((_, RawSwitch::Text(t))) if t == "off" => *kept = None,
                Some((w, RawSwitch::Text(t))) => match values::duration_minutes(t) {
                    Ok(minutes) => *kept = Some(jiff::SignedDuration::from_mins(minutes.into())),
                    Err(expected) => {
                        return Err(self.at(
                            w,
                            &key(k),
                            format!("expected {expected}, or off; found {t:?}"),
                        ));
                    }
                },
                Some((w, _)) => {
                    return Err(self.at(
                        w,
                        &key(k),
                        r#"expected a duration such as "30m", or off"#.into(),
                    ));
                }
            }
            Ok(())
        };
        lasting(&when.at_rate, "at_rate", &mut conditions.at_rate)?;
        lasting(
            &when.at_capacity,
            "at_capacity",
            &mut conditions.at_capacity,
        )?;
        if raw.send.is_empty() {
            return Err(Error::new(
                self.file(),
                0,
                0,
                "alerts.send",
                "expected at least one place to send alerts: webhook, slack or email".into(),
            ));
        }
        let mut channels = Vec::new();
        for (n, channel) in raw.send.iter().enumerate() {
            let path = format!("alerts.send[{n}]");
            channels.push(match channel {
                RawChannel::Webhook(url) => {
                    self.alert_url(url, &format!("{path}.webhook"), &["http://", "https://"])?;
                    Channel::Webhook(self.expr(Some(url), &format!("{path}.webhook"), ""))
                }
                RawChannel::Slack(url) => {
                    self.alert_url(url, &format!("{path}.slack"), &["http://", "https://"])?;
                    Channel::Slack(self.expr(Some(url), &format!("{path}.slack"), ""))
                }
                RawChannel::Email(email) => {
                    let server = format!("{path}.email.server");
                    self.alert_url(&email.server, &server, &["smtp://", "smtps://"])?;
                    if email.to.is_empty() {
                        return Err(Error::new(
                            self.file(),
                            0,
                            0,
                            &format!("{path}.email.to"),
                            "expected at least one recipient".into(),
                        ));
                    }
                    let address = |a: &Spanned<String>, k: &str| {
                        if a.value.contains('@') {
                            Ok(a.value.clone())
                        } else {
                            Err(self.at(
                                a,
                                &format!("{path}.email.{k}"),
                                format!("expected an email address, found {:?}", a.value),
                            ))
                        }
                    };
                    Channel::Email {
                        server: self.expr(Some(&email.server), &server, ""),
                        from: address(&email.from, "from")?,
                        to: email
                            .to
                            .iter()
                            .map(|a| address(a, "to"))
                            .collect::<Result<_, _>>()?,
                    }
                }
            });
        }
        Ok(Alerts {
            conditions,
            channels,
            repeat: jiff::SignedDuration::from_mins(repeat.into()),
        })
    }

    /// A channel's URL: one of `schemes`, or a `${VARIABLE}` that holds it.
    fn alert_url(&self, url: &Spanned<String>, path: &str, schemes: &[&str]) -> Result<(), Error> {
        if url.value.starts_with("${") || schemes.iter().any(|s| url.value.starts_with(s)) {
            return Ok(());
        }
        Err(self.at(
            url,
            path,
            format!("expected a URL starting {}", schemes.join(" or ")),
        ))
    }

    fn retention(&self, raw: &RawRetention) -> Result<Retention, Error> {
        let mut retention = Retention::default();
        for (written, key, kept) in [
            (&raw.finished, "finished", &mut retention.finished_tasks),
            (&raw.dead, "dead", &mut retention.dead_tasks),
            (&raw.executions, "executions", &mut retention.executions),
            (
                &raw.rate_windows,
                "rate_windows",
                &mut retention.rate_windows,
            ),
        ] {
            if let Some(written) = written {
                let minutes = self.value(
                    written,
                    &format!("environment.retention.{key}"),
                    values::duration_minutes,
                )?;
                *kept = jiff::SignedDuration::from_mins(i64::from(minutes));
            }
        }
        Ok(retention)
    }

    fn maintenance(&self, raw: &RawMaintenance, path: &str) -> Result<Maintenance, Error> {
        let instant = |spanned: &Spanned<String>, key: &str| {
            self.value(spanned, &format!("{path}.{key}"), |text| {
                text.parse::<jiff::Timestamp>()
                    .map_err(|_| r#"an RFC 3339 instant such as "2026-11-29T02:00:00+01:00""#)
            })
        };
        match (&raw.start, &raw.end, &raw.cron, &raw.duration) {
            (Some(start), Some(end), None, None) => {
                let (from, to) = (instant(start, "start")?, instant(end, "end")?);
                if to <= from {
                    return Err(self.at(
                        end,
                        &format!("{path}.end"),
                        "expected an end after the start".into(),
                    ));
                }
                Ok(Maintenance::Once {
                    start: from,
                    end: to,
                })
            }
            (None, None, Some(cron), Some(duration)) => Ok(Maintenance::Every {
                schedule: self.schedule(cron, &format!("{path}.cron"), None)?,
                duration_minutes: self.value(
                    duration,
                    &format!("{path}.duration"),
                    values::duration_minutes,
                )?,
            }),
            _ => Err(Error::new(
                self.file(),
                0,
                0,
                path,
                "expected either `start` and `end`, or `cron` and `duration`".into(),
            )),
        }
    }

    /// An expression as written, or the default, remembering where it stands.
    fn expr(&self, written: Option<&Spanned<String>>, path: &str, default: &str) -> Expr {
        match written {
            Some(spanned) => {
                let at = spanned.referenced;
                Expr {
                    text: spanned.value.clone(),
                    origin: format!("{}:{}:{}: {path}", self.file(), at.line(), at.column()),
                }
            }
            None => Expr {
                text: default.to_string(),
                origin: format!("{path} (default {default:?})"),
            },
        }
    }

    fn connection(&self, system: &str, raw: &RawSystem) -> Result<Connection, Error> {
        let key = |k: &str| format!("systems.{system}.{k}");
        let base_url = match &raw.base_url {
            Some(url) => {
                self.base_url(url, &key("base_url"))?;
                Some(url.value.trim().trim_end_matches('/').to_string())
            }
            None => None,
        };
        let auth = raw
            .auth
            .as_ref()
            .map(|auth| self.auth(auth, &key("auth")))
            .transpose()?;
        let lookups = raw
            .lookups
            .0
            .iter()
            .map(|(name, lookup)| self.lookup(name, lookup, &key(&format!("lookups.{name}"))))
            .collect::<Result<_, _>>()?;
        let database = match (&raw.database, &raw.base_url) {
            (Some(database), Some(_)) => {
                return Err(self.at(
                    database,
                    &key("database"),
                    "expected base_url (an API) or database, not both".into(),
                ));
            }
            (Some(database), None) => {
                let known = ["sqlite://", "postgres://", "postgresql://"];
                if !known.iter().any(|p| database.value.starts_with(p)) {
                    return Err(self.at(
                        database,
                        &key("database"),
                        "expected \"postgres://…\" or \"sqlite://FILE\"".into(),
                    ));
                }
                Some(self.expr(Some(database), &key("database"), ""))
            }
            (None, _) => None,
        };
        Ok(Connection {
            system: system.to_string(),
            base_url,
            database,
            requests: None,
            auth,
            lookups,
        })
    }

    /// `systems.NAME.lookups.LOOKUP`: read as a pull reads, without a cursor.
    fn lookup(&self, name: &str, raw: &RawLookup, path: &str) -> Result<Lookup, Error> {
        let key = |k: &str| format!("{path}.{k}");
        for (expr, k) in [
            (&raw.records, "records"),
            (&raw.key, "key"),
            (&raw.value, "value"),
            (&raw.body, "body"),
        ] {
            if let Some(expr) = expr {
                self.jq(expr, &key(k))?;
            }
        }
        let read = Pull {
            request: self.request(
                raw.request.as_ref(),
                &key("request"),
                (name, "GET"),
                &[],
                Fields::None,
            )?,
            records: self.expr(raw.records.as_ref(), &key("records"), ".items[]"),
            key: self.expr(raw.key.as_ref(), &key("key"), ".key"),
            // A lookup is read whole each time: no record moves a cursor.
            cursor: self.expr(None, &key("cursor"), "empty"),
            paginate: self.paginate(raw.paginate.as_ref(), &key("paginate"))?,
            inclusive: false,
            start_cursor: None,
            query: None,
            success: None,
            retry: None,
            size_param: raw
                .paginate
                .as_ref()
                .and_then(|p| p.value.size_param.clone())
                .unwrap_or_else(|| "limit".into()),
            timeout_ms: match &raw.timeout {
                Some(t) => self.value(t, &key("timeout"), values::duration_ms)?,
                None => 30_000,
            },
            policy: JobPolicy {
                overlap: Overlap::Skip,
                catch_up: CatchUp::None,
                deadline_minutes: None,
            },
        };
        Ok(Lookup {
            name: name.to_string(),
            read,
            body: raw
                .body
                .as_ref()
                .map(|b| self.expr(Some(b), &key("body"), "")),
            value: self.expr(raw.value.as_ref(), &key("value"), ".id"),
            refresh_ms: match &raw.refresh {
                Some(r) => {
                    u64::from(self.value(r, &key("refresh"), values::duration_minutes)?) * 60_000
                }
                None => 3_600_000,
            },
        })
    }

    fn auth(&self, spanned: &Spanned<RawAuth>, path: &str) -> Result<Auth, Error> {
        let raw = &spanned.value;
        let mut found = Vec::new();
        if let Some(token) = &raw.bearer {
            found.push(Auth::Bearer(self.expr(
                Some(token),
                &format!("{path}.bearer"),
                "",
            )));
        }
        if let Some(basic) = &raw.basic {
            found.push(Auth::Basic {
                username: basic.username.clone(),
                password: self.expr(Some(&basic.password), &format!("{path}.basic.password"), ""),
            });
        }
        if let Some(header) = &raw.header {
            found.push(Auth::Header {
                name: header.name.clone(),
                value: self.expr(Some(&header.value), &format!("{path}.header.value"), ""),
            });
        }
        if let Some(oauth2) = &raw.oauth2 {
            let token_url = oauth2.token_url.trim();
            if !(token_url.starts_with("http://") || token_url.starts_with("https://")) {
                return Err(self.at(
                    spanned,
                    &format!("{path}.oauth2.token_url"),
                    format!("expected an http:// or https:// URL, found {token_url:?}"),
                ));
            }
            found.push(Auth::OAuth2 {
                token_url: token_url.to_string(),
                client_id: oauth2.client_id.clone(),
                client_secret: self.expr(
                    Some(&oauth2.client_secret),
                    &format!("{path}.oauth2.client_secret"),
                    "",
                ),
                scope: oauth2.scope.clone(),
            });
        }
        if let Some(login) = &raw.login {
            let at = |k: &str| format!("{path}.login.{k}");
            self.jq(&login.token, &at("token"))?;
            if let Some(expires_in) = &login.expires_in {
                self.jq(expires_in, &at("expires_in"))?;
            }
            let method = match &login.method {
                Some(method) => self.method(
                    &Spanned {
                        value: method.clone(),
                        referenced: spanned.referenced,
                        defined: spanned.defined,
                    },
                    &at("method"),
                )?,
                None => "POST".into(),
            };
            found.push(Auth::Login {
                path: login.path.value.clone(),
                method,
                body: login
                    .body
                    .0
                    .iter()
                    .map(|(name, value)| {
                        let origin = format!("{}: {}", self.file(), at(&format!("body.{name}")));
                        (
                            name.clone(),
                            Expr {
                                text: value.clone(),
                                origin,
                            },
                        )
                    })
                    .collect(),
                token: self.expr(Some(&login.token), &at("token"), ""),
                expires_in: login
                    .expires_in
                    .as_ref()
                    .map(|e| self.expr(Some(e), &at("expires_in"), "")),
                header: login.header.clone(),
            });
        }
        match found.len() {
            1 => Ok(found.remove(0)),
            n => Err(self.at(
                spanned,
                path,
                format!(
                    "expected exactly one of bearer, basic, header, oauth2 or login, found {n}"
                ),
            )),
        }
    }

    fn flow(&self, integration: &str, raw: &RawIntegration) -> Result<Flow, Error> {
        let key = |k: &str| format!("integrations.{integration}.{k}");
        let paginate = self.paginate(raw.pull.paginate.as_ref(), &key("pull.paginate"))?;
        for (expr, name) in [
            (&raw.pull.records, "pull.records"),
            (&raw.pull.key, "pull.key"),
            (&raw.pull.cursor, "pull.cursor"),
            (&raw.pull.success, "pull.success"),
            (&raw.pull.retry, "pull.retry"),
            (&raw.push.transform, "push.transform"),
            (&raw.push.body, "push.body"),
            (&raw.push.success, "push.success"),
            (&raw.push.retry, "push.retry"),
            (&raw.push.each, "push.each"),
        ] {
            if let Some(expr) = expr {
                self.jq(expr, &key(name))?;
            }
        }
        let pull = self.pull(integration, &raw.pull, paginate)?;
        let push = self.push(integration, &raw.push)?;
        let webhook = match &raw.webhook {
            None => None,
            Some(hook) => Some(self.webhook(integration, hook)?),
        };
        let profile = match &raw.profile {
            None => None,
            Some(spanned) => Some(self.profile(spanned, &key("profile"))?),
        };
        Ok(Flow {
            integration: integration.to_string(),
            pull,
            push,
            webhook,
            profile,
        })
    }

    /// `paginate` (at `path`, a pull's or a lookup's): exactly one way to
    /// ask for the next page; a `next_page_token` when not set.
    fn paginate(
        &self,
        paginate: Option<&Spanned<RawPaginate>>,
        path: &str,
    ) -> Result<Paginate, Error> {
        let next_path = format!("{path}.next");
        Ok(match paginate {
            None => Paginate::Next {
                token: self.expr(None, &next_path, ".next_page_token"),
                param: "page_token".into(),
            },
            Some(spanned) => {
                let p = &spanned.value;
                let param = p.param.clone().unwrap_or_else(|| "page_token".into());
                let mut kinds = Vec::new();
                if let Some(next) = &p.next {
                    self.jq(next, &next_path)?;
                    kinds.push(Paginate::Next {
                        token: self.expr(Some(next), &next_path, ""),
                        param,
                    });
                }
                if let Some(page) = &p.page {
                    kinds.push(Paginate::Page(page.clone()));
                }
                if let Some(offset) = &p.offset {
                    kinds.push(Paginate::Offset(offset.clone()));
                }
                if p.link == Some(true) {
                    kinds.push(Paginate::Link);
                }
                if kinds.len() != 1 {
                    return Err(self.at(
                        spanned,
                        path,
                        format!(
                            "expected exactly one of next, page, offset or link: true, found {}",
                            kinds.len()
                        ),
                    ));
                }
                kinds.remove(0)
            }
        })
    }

    /// How a pull asks its source, reads its records and keys, and moves
    /// its cursor.
    fn pull(&self, integration: &str, pull: &RawJob, paginate: Paginate) -> Result<Pull, Error> {
        let key = |k: &str| format!("integrations.{integration}.{k}");
        let size_param = pull
            .paginate
            .as_ref()
            .and_then(|p| p.value.size_param.clone())
            .unwrap_or_else(|| "limit".into());
        let default_query = [("changed_since".to_string(), "{{ cursor }}".to_string())];
        Ok(Pull {
            request: self.request(
                pull.request.as_ref(),
                &key("pull.request"),
                (integration, "GET"),
                &default_query,
                Fields::Cursor,
            )?,
            records: self.expr(pull.records.as_ref(), &key("pull.records"), ".items[]"),
            key: self.expr(pull.key.as_ref(), &key("pull.key"), ".key"),
            cursor: self.expr(pull.cursor.as_ref(), &key("pull.cursor"), ".updated_at"),
            paginate,
            inclusive: match &pull.cursor_compare {
                None => false,
                Some(c) => self.value(c, &key("pull.cursor_compare"), |text| match text {
                    "strict" => Ok(false),
                    "inclusive" => Ok(true),
                    _ => Err(r#""strict" (the source sends records after the cursor) or "inclusive" (at or after it)"#),
                })?,
            },
            start_cursor: pull.start_cursor.as_ref().map(|c| c.value.clone()),
            success: pull
                .success
                .as_ref()
                .map(|s| self.expr(Some(s), &key("pull.success"), "")),
            retry: pull
                .retry
                .as_ref()
                .map(|r| self.expr(Some(r), &key("pull.retry"), "")),
            query: match &pull.query {
                Some(query) => {
                    self.template(query, &key("pull.query"), Fields::Query)?;
                    Some(query.value.clone())
                }
                None => None,
            },
            size_param,
            timeout_ms: self.timeout(pull, &key("pull.timeout"))?,
            policy: self.policy(pull, &key("pull"))?,
        })
    }

    /// How a push sends a record: its request, transform and batch.
    fn push(&self, integration: &str, push: &RawJob) -> Result<Push, Error> {
        let key = |k: &str| format!("integrations.{integration}.{k}");
        let batch = match &push.batch {
            Some(b) if b.value == 0 => {
                return Err(self.at(
                    b,
                    &key("push.batch"),
                    "expected at least 1 record per request, found 0".into(),
                ));
            }
            Some(b) => self.at_most(b, &key("push.batch"), 1, 10_000, "records per request")?,
            None => 1,
        };
        let graphql = match &push.graphql {
            Some(graphql) => Some(self.graphql(graphql, push, batch, &key("push.graphql"))?),
            None => None,
        };
        let mut request = self.request(
            push.request.as_ref(),
            &key("push.request"),
            (integration, if graphql.is_some() { "POST" } else { "PUT" }),
            &[],
            Fields::Record,
        )?;
        // A GraphQL API answers at one URL: the base URL, unless a path is given.
        if graphql.is_some() && push.request.as_ref().is_none_or(|r| r.path.is_none()) {
            request.path = String::new();
        }
        let (transform, body, check) = match graphql {
            Some(shorthand) => shorthand,
            None => (
                self.expr(push.transform.as_ref(), &key("push.transform"), "."),
                push.body
                    .as_ref()
                    .map(|b| self.expr(Some(b), &key("push.body"), "")),
                None,
            ),
        };
        Ok(Push {
            request,
            transform,
            body,
            success: push
                .success
                .as_ref()
                .map(|s| self.expr(Some(s), &key("push.success"), ""))
                .or(check),
            each: push
                .each
                .as_ref()
                .map(|e| self.expr(Some(e), &key("push.each"), "")),
            retry: push
                .retry
                .as_ref()
                .map(|r| self.expr(Some(r), &key("push.retry"), "")),
            statement: match &push.statement {
                Some(statement) => {
                    self.template(statement, &key("push.statement"), Fields::Record)?;
                    Some(statement.value.clone())
                }
                None => None,
            },
            batch,
            timeout_ms: self.timeout(push, &key("push.timeout"))?,
            policy: self.policy(push, &key("push"))?,
        })
    }

    /// `push.graphql` as the transform, batch body and success check it
    /// stands for.
    fn graphql(
        &self,
        spanned: &Spanned<RawGraphql>,
        push: &RawJob,
        batch: u32,
        path: &str,
    ) -> Result<(Expr, Option<Expr>, Option<Expr>), Error> {
        if push.transform.is_some() || push.body.is_some() {
            return Err(self.at(
                spanned,
                path,
                "graphql writes the request's body: give the record's variables as \
                 graphql.variables, not push.transform or push.body"
                    .into(),
            ));
        }
        let graphql = &spanned.value;
        if let Some(variables) = &graphql.variables {
            self.jq(variables, &format!("{path}.variables"))?;
        }
        let variables = self.expr(
            graphql.variables.as_ref(),
            &format!("{path}.variables"),
            ".",
        );
        // A JSON string is a jq string literal.
        let query = serde_json::Value::from(graphql.query.as_str()).to_string();
        let at = spanned.referenced;
        let made = |text: String| Expr {
            text,
            origin: format!("{}:{}:{}: {path}", self.file(), at.line(), at.column()),
        };
        Ok(if batch > 1 {
            (
                variables,
                Some(made(format!("{{query: {query}, variables: {{input: .}}}}"))),
                Some(made(".errors == null".into())),
            )
        } else {
            (
                made(format!(
                    "{{query: {query}, variables: ({})}}",
                    variables.text
                )),
                None,
                Some(made(".errors == null".into())),
            )
        })
    }

    /// A webhook that queues records as they come: its secret, size limit
    /// and key.
    fn webhook(&self, integration: &str, hook: &RawWebhook) -> Result<Webhook, Error> {
        let key = |k: &str| format!("integrations.{integration}.{k}");
        if let Some(expr) = &hook.key {
            self.jq(expr, &key("webhook.key"))?;
        }
        let max_bytes = match &hook.max_bytes {
            Some(m) => self.at_most(m, &key("webhook.max_bytes"), 1, 16 << 20, "bytes")?,
            None => 1 << 20,
        };
        Ok(Webhook {
            secret: hook.secret.as_ref().map(|secret| Expr {
                text: secret.clone(),
                origin: key("webhook.secret"),
            }),
            max_bytes,
            key: self.expr(hook.key.as_ref(), &key("webhook.key"), ".key"),
        })
    }

    /// `profile`: 24 hourly weights the changes follow.
    fn profile(&self, spanned: &Spanned<Vec<f64>>, path: &str) -> Result<[f64; 24], Error> {
        let weights = &spanned.value;
        let valid = weights.len() == 24
            && weights.iter().all(|w| w.is_finite() && *w >= 0.0)
            && weights.iter().sum::<f64>() > 0.0;
        if !valid {
            return Err(self.at(
                spanned,
                path,
                format!(
                    "expected 24 weights, one per hour from 00:00, none negative and not all 0, \
                     found {} values",
                    weights.len()
                ),
            ));
        }
        let mut hours = [0.0; 24];
        hours.copy_from_slice(weights);
        Ok(hours)
    }

    /// A request as written, or the defaults (`path` from the integration's
    /// name, `method`); its templates may name `fields`.
    fn request(
        &self,
        raw: Option<&RawRequest>,
        path: &str,
        (integration, method): (&str, &str),
        query: &[(String, String)],
        fields: Fields,
    ) -> Result<Request, Error> {
        let method = match raw.and_then(|r| r.method.as_ref()) {
            Some(m) => self.method(m, &format!("{path}.method"))?,
            None => method.to_string(),
        };
        let url_path = match raw.and_then(|r| r.path.as_ref()) {
            Some(written) => {
                self.template(written, &format!("{path}.path"), fields)?;
                written.value.clone()
            }
            None => format!("/{integration}"),
        };
        let query = match raw.and_then(|r| r.query.as_ref()) {
            Some(written) => {
                let in_query = match fields {
                    Fields::Record => Fields::None,
                    other => other,
                };
                let mut pairs = Vec::new();
                for (name, value) in &written.0 {
                    self.template(value, &format!("{path}.query.{name}"), in_query)?;
                    pairs.push((name.clone(), value.value.clone()));
                }
                pairs
            }
            None => query.to_vec(),
        };
        let mut headers = Vec::new();
        for (name, value) in raw.map_or(&[][..], |r| &r.headers.0[..]) {
            self.template(value, &format!("{path}.headers.{name}"), fields)?;
            headers.push((name.clone(), value.value.clone()));
        }
        Ok(Request {
            method,
            path: url_path,
            query,
            headers,
        })
    }

    fn timeout(&self, raw: &RawJob, path: &str) -> Result<u64, Error> {
        match &raw.timeout {
            Some(t) => self.value(t, path, values::duration_ms),
            None => Ok(30_000),
        }
    }

    fn policy(&self, raw: &RawJob, path: &str) -> Result<JobPolicy, Error> {
        let overlap = match &raw.overlap {
            None => Overlap::Skip,
            Some(o) => self.value(o, &format!("{path}.overlap"), |text| match text {
                "skip" => Ok(Overlap::Skip),
                "queue_one" => Ok(Overlap::QueueOne),
                "allow" => Ok(Overlap::Allow),
                _ => Err(r#""skip", "queue_one" or "allow""#),
            })?,
        };
        let window_minutes = raw
            .catch_up_window
            .as_ref()
            .map(|w| {
                self.value(
                    w,
                    &format!("{path}.catch_up_window"),
                    values::duration_minutes,
                )
            })
            .transpose()?
            .unwrap_or(60);
        let catch_up_max = match &raw.catch_up_max {
            Some(m) => self.at_most(m, &format!("{path}.catch_up_max"), 0, 10_000, "executions")?,
            None => 10,
        };
        let catch_up = match &raw.catch_up {
            None => CatchUp::None,
            Some(c) => self.value(c, &format!("{path}.catch_up"), |text| match text {
                "none" => Ok(CatchUp::None),
                "latest" => Ok(CatchUp::Latest),
                "all" => Ok(CatchUp::All {
                    window_minutes,
                    max: catch_up_max,
                }),
                _ => Err(r#""none", "latest" or "all""#),
            })?,
        };
        let deadline_minutes = raw
            .deadline
            .as_ref()
            .map(|d| self.value(d, &format!("{path}.deadline"), values::duration_minutes))
            .transpose()?;
        Ok(JobPolicy {
            overlap,
            catch_up,
            deadline_minutes,
        })
    }

    fn job(&self, raw: &RawJob, integration: &str, kind: &str) -> Result<JobOptions, Error> {
        let key = |k: &str| format!("integrations.{integration}.{kind}.{k}");
        let rate = raw
            .rate
            .as_ref()
            .map(|r| self.value(r, &key("rate"), values::rate))
            .transpose()?;
        let max_items = match &raw.max_items {
            Some(m) if m.value == 0 => {
                return Err(self.at(
                    m,
                    &key("max_items"),
                    "expected at least 1 item per execution, found 0".into(),
                ));
            }
            Some(m) => Some(self.at_most(m, &key("max_items"), 1, 1_000_000_000, "items")?),
            None => None,
        };
        let schedule = match &raw.schedule {
            Some(s) if s.value.trim() != "auto" => {
                Some(self.schedule(s, &key("schedule"), Some(&format!("{integration}.{kind}")))?)
            }
            _ => None,
        };
        Ok(JobOptions {
            rate,
            max_items,
            schedule,
        })
    }
}

/// A number as a person wrote it: `1e300`, not three hundred digits.
fn shown(x: f64) -> String {
    if x.abs() >= 1e16 {
        format!("{x:e}")
    } else {
        x.to_string()
    }
}
