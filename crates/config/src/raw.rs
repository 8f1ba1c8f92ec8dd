//! The file as serde reads it: every key the file may hold, nothing more.
//!
//! Values whose meaning is checked after reading (`"35000/day"`, a system's
//! name) are [`Spanned`], so an error can point at them.

use std::{borrow::Cow, collections::BTreeMap, fmt, marker::PhantomData};

use schemars::{JsonSchema, Schema, SchemaGenerator};
use serde::{
    Deserialize, Deserializer,
    de::{MapAccess, Visitor},
};
use serde_saphyr::Spanned;

/// The whole file.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(title = "Pacer configuration")]
pub(crate) struct RawConfig {
    /// The installation: its name, time zone and capacity.
    #[serde(default)]
    #[schemars(example = serde_json::json!({"name": "acme-production", "timezone": "Europe/Amsterdam", "capacity": 4}))]
    pub(crate) environment: RawEnvironment,
    /// External applications, by name, with the rate each delivers or accepts.
    #[schemars(example = serde_json::json!({"erp": {"rate": "100/min", "base_url": "https://erp.example.com/api"}, "webshop": {"rate": "500/min", "base_url": "https://shop.example.com/api"}}))]
    pub(crate) systems: OrderedMap<RawSystem>,
    /// Entities flowing from one system to another, by name.
    #[schemars(example = serde_json::json!({"prices": {"from": "erp", "to": "webshop", "volume": "35000/day", "freshness": "2h"}}))]
    pub(crate) integrations: OrderedMap<RawIntegration>,
    /// Who is told when something needs a person, and when.
    #[schemars(example = serde_json::json!({"send": [{"slack": "${SLACK_WEBHOOK_URL}"}]}))]
    pub(crate) alerts: Option<RawAlerts>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawAlerts {
    /// When to alert; every condition is on with its default unless set `off`.
    #[serde(default)]
    #[schemars(example = serde_json::json!({"failed_runs": 5, "at_rate": "off"}))]
    pub(crate) when: RawConditions,
    /// Where alerts go: webhooks (JSON), Slack incoming webhooks, email.
    #[schemars(example = serde_json::json!([{"webhook": "https://ops.example.com/pacer"}, {"email": {"server": "smtp://mail.example.com:25", "from": "Pacer <pacer@example.com>", "to": ["ops@example.com"]}}]))]
    pub(crate) send: Vec<RawChannel>,
    /// Send an alert again this often while it holds: "4h" (default).
    #[schemars(with = "Option<String>", extend("default" = "4h"))]
    #[schemars(example = &"4h", example = &"1d")]
    pub(crate) repeat: Option<Spanned<String>>,
}

#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawConditions {
    /// An integration holds at least this many dead tasks: 1 (default), or off.
    #[schemars(with = "Option<RawSwitch>")]
    #[schemars(example = 1, example = 10, example = &"off")]
    pub(crate) dead_tasks: Option<Spanned<RawSwitch>>,
    /// A job's last N executions all failed or were missed: 3 (default), or off.
    #[schemars(with = "Option<RawSwitch>")]
    #[schemars(example = 3, example = &"off")]
    pub(crate) failed_runs: Option<Spanned<RawSwitch>>,
    /// An integration's oldest queued change is older than its freshness: on (default) or off.
    #[schemars(with = "Option<RawSwitch>")]
    #[schemars(example = &"on", example = &"off")]
    pub(crate) backlog: Option<Spanned<RawSwitch>>,
    /// A system used at least 90% of its rate each minute for this long: "60m" (default), or off.
    #[schemars(with = "Option<RawSwitch>")]
    #[schemars(example = &"60m", example = &"off")]
    pub(crate) at_rate: Option<Spanned<RawSwitch>>,
    /// Every capacity slot was taken for this long: "30m" (default), or off.
    #[schemars(with = "Option<RawSwitch>")]
    #[schemars(example = &"30m", example = &"off")]
    pub(crate) at_capacity: Option<Spanned<RawSwitch>>,
    /// A node stopped beating without stopping cleanly: on (default) or off.
    #[schemars(with = "Option<RawSwitch>")]
    #[schemars(example = &"on", example = &"off")]
    pub(crate) node_lost: Option<Spanned<RawSwitch>>,
    /// The last week's observed peak day of an integration is more than a
    /// quarter off what the file declares, or a system said slow down at
    /// less than three quarters of its rate: on or off (default).
    #[schemars(with = "Option<RawSwitch>")]
    #[schemars(example = &"on", example = &"off")]
    pub(crate) drift: Option<Spanned<RawSwitch>>,
}

/// A condition's setting: `on`, `off`, a count or a duration.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(untagged)]
pub(crate) enum RawSwitch {
    /// `true` is on, `false` is off.
    Flag(bool),
    /// A count.
    Count(u32),
    /// `on`, `off`, or a duration such as "30m".
    Text(String),
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "snake_case")]
pub(crate) enum RawChannel {
    /// POST a JSON body to this URL: {status, condition, subject, message, since, environment}.
    #[schemars(with = "String")]
    Webhook(Spanned<String>),
    /// A Slack incoming webhook (or one that takes Slack's `{"text": …}`),
    /// written "${SLACK_WEBHOOK_URL}": the URL is a secret.
    #[schemars(with = "String")]
    Slack(Spanned<String>),
    /// Email through SMTP.
    Email(RawEmail),
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawEmail {
    /// "smtp://host:25", "smtp://user:${SMTP_PASSWORD}@host:587?tls=required"
    /// (STARTTLS) or "smtps://user:${SMTP_PASSWORD}@host:465".
    #[schemars(with = "String", regex(pattern = r"^smtps?://"))]
    #[schemars(example = &"smtp://mail.example.com:25", example = &"smtps://pacer:${SMTP_PASSWORD}@mail.example.com:465")]
    pub(crate) server: Spanned<String>,
    /// The sender: "Pacer <pacer@example.com>".
    #[schemars(with = "String")]
    #[schemars(example = &"Pacer <pacer@example.com>")]
    pub(crate) from: Spanned<String>,
    /// The recipients.
    #[schemars(with = "Vec<String>")]
    #[schemars(example = serde_json::json!(["ops@example.com"]))]
    pub(crate) to: Vec<Spanned<String>>,
}

#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawEnvironment {
    /// The environment's name; default the file's name.
    #[schemars(example = &"acme-production")]
    pub(crate) name: Option<String>,
    /// IANA time zone the schedules are read in, e.g. Europe/Amsterdam; default UTC.
    #[serde(default)]
    #[schemars(schema_with = "time_zone", extend("default" = "UTC"))]
    #[schemars(example = &"Europe/Amsterdam")]
    pub(crate) timezone: Option<Spanned<String>>,
    /// How many executions may run at once, 1 to 1000; default 1.
    #[schemars(with = "Option<u32>", range(min = 1, max = 1000), extend("default" = 1))]
    #[schemars(example = 4)]
    pub(crate) capacity: Option<Spanned<u32>>,
    /// Where `pacer run` keeps its state: "sqlite://pacer.db" (default, next to
    /// the file) or "postgres://…" for several nodes.
    #[schemars(with = "Option<String>")]
    #[schemars(example = &"sqlite://pacer.db", example = &"postgres://pacer:${PACER_DB_PASSWORD}@db.example.com/pacer")]
    pub(crate) store: Option<Spanned<String>>,
    /// The token the API's actions (and, beyond loopback, its reads) need,
    /// written "${VARIABLE}" so the secret stays in the environment; default
    /// the PACER_API_TOKEN variable.
    #[schemars(with = "Option<String>")]
    #[schemars(example = &"${PACER_API_TOKEN}")]
    pub(crate) api_token: Option<Spanned<String>>,
    /// When no job may start: one-off (`start`, `end`) or recurring (`cron`, `duration`).
    #[serde(default)]
    #[schemars(example = serde_json::json!([{"cron": "0 2 * * 0", "duration": "2h"}]))]
    pub(crate) maintenance: Vec<RawMaintenance>,
    /// How long the store keeps what is done; older rows are deleted hourly.
    #[serde(default)]
    #[schemars(example = serde_json::json!({"finished": "1d", "executions": "90d"}))]
    pub(crate) retention: RawRetention,
}

#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawRetention {
    /// Finished and skipped tasks, after their last change: "7d" (default).
    #[schemars(with = "Option<String>", extend("default" = "7d"))]
    #[schemars(example = &"7d", example = &"1d")]
    pub(crate) finished: Option<Spanned<String>>,
    /// Dead tasks, after they died: "30d" (default).
    #[schemars(with = "Option<String>", extend("default" = "30d"))]
    #[schemars(example = &"30d")]
    pub(crate) dead: Option<Spanned<String>>,
    /// Ended executions in the ledger: "30d" (default); each job's latest stays.
    #[schemars(with = "Option<String>", extend("default" = "30d"))]
    #[schemars(example = &"30d", example = &"90d")]
    pub(crate) executions: Option<Spanned<String>>,
    /// Each system's use per minute: "2d" (default).
    #[schemars(with = "Option<String>", extend("default" = "2d"))]
    #[schemars(example = &"2d")]
    pub(crate) rate_windows: Option<Spanned<String>>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawMaintenance {
    /// A one-off window's start, RFC 3339: "2026-11-29T02:00:00+01:00".
    #[schemars(with = "Option<String>")]
    #[schemars(example = &"2026-11-29T02:00:00+01:00")]
    pub(crate) start: Option<Spanned<String>>,
    /// A one-off window's end, RFC 3339.
    #[schemars(with = "Option<String>")]
    #[schemars(example = &"2026-11-29T04:00:00+01:00")]
    pub(crate) end: Option<Spanned<String>>,
    /// A recurring window's start, a cron expression in the environment's time zone.
    #[schemars(with = "Option<String>")]
    #[schemars(example = &"0 2 * * 0")]
    pub(crate) cron: Option<Spanned<String>>,
    /// A recurring window's length: "2h".
    #[schemars(with = "Option<String>")]
    #[schemars(example = &"2h")]
    pub(crate) duration: Option<Spanned<String>>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawSystem {
    /// Items it delivers or accepts, from 1/h to 1000000/s: "100/min",
    /// "5/s", "2000/h"; or requests it takes, "60 requests/min"; or both,
    /// "5000/min, 60 requests/min".
    #[schemars(
        with = "String",
        regex(
            pattern = r"^\s*[0-9.]+\s*((items|requests)\s*)?/\s*(s|sec|second|min|minute|h|hour)\s*(,\s*[0-9.]+\s*((items|requests)\s*)?/\s*(s|sec|second|min|minute|h|hour)\s*)?$"
        )
    )]
    #[schemars(example = &"100/min", example = &"5/s", example = &"5000/min, 60 requests/min")]
    pub(crate) rate: Spanned<String>,
    /// Where its API answers, e.g. "https://erp.example.com/api"; needed by `pacer run`.
    #[schemars(with = "Option<String>", regex(pattern = r"^https?://"))]
    #[schemars(example = &"https://erp.example.com/api")]
    pub(crate) base_url: Option<Spanned<String>>,
    /// Instead of an API, a database read with `pull.query` and written
    /// with `push.statement`: "postgres://pacer:${ERP_DB_PASSWORD}@db/erp"
    /// or "sqlite:///var/lib/erp/erp.db".
    #[schemars(
        with = "Option<String>",
        regex(pattern = r"^(postgres|postgresql|sqlite)://")
    )]
    #[schemars(example = &"postgres://pacer:${ERP_DB_PASSWORD}@db.example.com/erp", example = &"sqlite:///var/lib/erp/erp.db")]
    pub(crate) database: Option<Spanned<String>>,
    /// How to authenticate; secrets as "${VARIABLE}", read from the environment.
    #[schemars(with = "Option<RawAuth>")]
    #[schemars(example = serde_json::json!({"bearer": "${ERP_TOKEN}"}))]
    pub(crate) auth: Option<Spanned<RawAuth>>,
    /// Key→value maps read from this system, which the transforms of the
    /// integrations pushing to it read with `lookup("NAME"; .sku)`.
    #[serde(default)]
    #[schemars(example = serde_json::json!({"variants": {"request": {"path": "/variants"}, "key": ".sku", "value": ".id"}}))]
    pub(crate) lookups: OrderedMap<RawLookup>,
}

/// A map read from a system: its records, each giving a key and a value.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawLookup {
    /// The request: method (GET by default), path (default `/<lookup>`), query, headers.
    #[schemars(example = serde_json::json!({"path": "/variants", "query": {"fields": "id,sku"}}))]
    pub(crate) request: Option<RawRequest>,
    /// jq giving each request's body (sent as JSON), for an API read by
    /// POST, from `{page_token}` — the token `paginate.next` gave the
    /// page before (null for the first), which then goes here instead of
    /// the URL: '{query: "query ($after: String) { … }", variables: {after: .page_token}}'.
    #[schemars(with = "Option<String>")]
    #[schemars(example = &"{query: \"query ($after: String) { variants(after: $after) { nodes { id sku } pageInfo { endCursor } } }\", variables: {after: .page_token}}")]
    pub(crate) body: Option<Spanned<String>>,
    /// jq selecting the records in a response; default `.items[]`.
    #[schemars(with = "Option<String>")]
    #[schemars(example = &".items[]", example = &".data.variants.nodes[]")]
    pub(crate) records: Option<Spanned<String>>,
    /// jq giving a record's key, what transforms look up; default `.key`.
    #[schemars(with = "Option<String>")]
    #[schemars(example = &".sku")]
    pub(crate) key: Option<Spanned<String>>,
    /// jq giving the value a key stands for; default `.id`.
    #[schemars(with = "Option<String>")]
    #[schemars(example = &".id")]
    pub(crate) value: Option<Spanned<String>>,
    /// How pages follow each other, as for a pull; default `{ next: .next_page_token }`.
    #[schemars(with = "Option<RawPaginate>")]
    #[schemars(example = serde_json::json!({"next": ".next_page_token"}))]
    pub(crate) paginate: Option<Spanned<RawPaginate>>,
    /// How long a read map is used before it is read again: default "1h".
    /// A key it lacks has it read again at once (at most once a minute).
    #[schemars(with = "Option<String>")]
    #[schemars(example = &"1h", example = &"15m")]
    pub(crate) refresh: Option<Spanned<String>>,
    /// Longest wait for one HTTP answer, at most 1h: "30s" (default).
    #[schemars(with = "Option<String>")]
    #[schemars(example = &"30s")]
    pub(crate) timeout: Option<Spanned<String>>,
}

/// One of `bearer`, `basic`, `header` or `oauth2`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawAuth {
    /// `Authorization: Bearer <token>`.
    #[schemars(with = "Option<String>")]
    #[schemars(example = &"${ERP_TOKEN}")]
    pub(crate) bearer: Option<Spanned<String>>,
    /// `Authorization: Basic …` from a user name and password.
    #[schemars(example = serde_json::json!({"username": "pacer", "password": "${ERP_PASSWORD}"}))]
    pub(crate) basic: Option<RawBasic>,
    /// An API key in a header of its own.
    #[schemars(example = serde_json::json!({"name": "X-Api-Key", "value": "${SHOP_API_KEY}"}))]
    pub(crate) header: Option<RawHeaderAuth>,
    /// OAuth2 client credentials: a token from `token_url`, sent as
    /// `Authorization: Bearer`, renewed before it expires and on a 401.
    #[schemars(example = serde_json::json!({"token_url": "https://auth.example.com/oauth/token", "client_id": "pacer", "client_secret": "${SHOP_CLIENT_SECRET}"}))]
    pub(crate) oauth2: Option<RawOAuth2>,
    /// A login request whose answer holds a token, renewed before it
    /// expires and on a 401.
    #[schemars(example = serde_json::json!({"path": "/api/login", "body": {"username": "pacer", "password": "${SHOP_PASSWORD}"}, "token": ".token"}))]
    pub(crate) login: Option<RawLogin>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawLogin {
    /// Appended to the system's base_url: "/api/login".
    #[schemars(with = "String")]
    #[schemars(example = &"/api/login")]
    pub(crate) path: Spanned<String>,
    /// POST (default) or another method.
    #[schemars(example = &"POST")]
    pub(crate) method: Option<String>,
    /// The JSON object sent, each value text that may hold "${VARIABLE}":
    /// `{ username: pacer, password: "${SHOP_PASSWORD}" }`.
    #[serde(default)]
    #[schemars(example = serde_json::json!({"username": "pacer", "password": "${SHOP_PASSWORD}"}))]
    pub(crate) body: OrderedMap<String>,
    /// jq giving the token from the answer: ".token".
    #[schemars(with = "String")]
    #[schemars(example = &".token")]
    pub(crate) token: Spanned<String>,
    /// jq giving the token's life in seconds from the answer:
    /// ".expires_in"; without it, a token is used for an hour (and
    /// renewed sooner on a 401).
    #[schemars(with = "Option<String>")]
    #[schemars(example = &".expires_in")]
    pub(crate) expires_in: Option<Spanned<String>>,
    /// The header that carries the token: "X-Auth-Token"; default
    /// `Authorization: Bearer <token>`.
    #[schemars(example = &"X-Auth-Token")]
    pub(crate) header: Option<String>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawOAuth2 {
    /// Where tokens are asked for: "https://auth.example.com/oauth/token".
    #[schemars(regex(pattern = r"^https?://"))]
    #[schemars(example = &"https://auth.example.com/oauth/token")]
    pub(crate) token_url: String,
    /// The client's id.
    #[schemars(example = &"pacer")]
    pub(crate) client_id: String,
    /// The client's secret: "${SHOP_CLIENT_SECRET}". Sent with HTTP Basic.
    #[schemars(with = "String")]
    #[schemars(example = &"${SHOP_CLIENT_SECRET}")]
    pub(crate) client_secret: Spanned<String>,
    /// The scope asked for, if the server wants one: "prices:write".
    #[schemars(example = &"prices:write")]
    pub(crate) scope: Option<String>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawBasic {
    /// The user name.
    #[schemars(example = &"pacer")]
    pub(crate) username: String,
    /// The password, written "${VARIABLE}" so it stays in the environment.
    #[schemars(with = "String")]
    #[schemars(example = &"${ERP_PASSWORD}")]
    pub(crate) password: Spanned<String>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawHeaderAuth {
    /// The header's name.
    #[schemars(example = &"X-Api-Key")]
    pub(crate) name: String,
    /// The key, written "${VARIABLE}" so it stays in the environment.
    #[schemars(with = "String")]
    #[schemars(example = &"${SHOP_API_KEY}")]
    pub(crate) value: Spanned<String>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawIntegration {
    /// The source system.
    #[schemars(with = "String")]
    #[schemars(example = &"erp")]
    pub(crate) from: Spanned<String>,
    /// The destination system.
    #[schemars(with = "String")]
    #[schemars(example = &"webshop")]
    pub(crate) to: Spanned<String>,
    /// Changes a day or an hour, at most 1000000000/day: "35000/day", "1500/hour".
    #[schemars(
        with = "String",
        regex(pattern = r"^\s*[0-9.]+\s*/\s*(day|d|hour|h)\s*$")
    )]
    #[schemars(example = &"35000/day", example = &"1500/hour")]
    pub(crate) volume: Spanned<String>,
    /// Size for the busy season, not an average Tuesday: the volume is
    /// multiplied by it, above 0 and at most 100; default 1.
    #[schemars(with = "Option<f64>", range(max = 100.0))]
    #[schemars(example = 1.5)]
    pub(crate) peak_factor: Option<Spanned<f64>>,
    /// Longest acceptable delay from a change to its delivery: "30m", "2h", "1h30m".
    #[schemars(with = "Option<String>")]
    #[schemars(example = &"2h", example = &"30m", example = &"1h30m")]
    pub(crate) freshness: Option<Spanned<String>>,
    /// When runs may happen, on whole hours: "06:00-22:00"; default all day.
    #[schemars(
        with = "Option<String>",
        regex(pattern = r"^\s*[0-9]{1,2}:00\s*-\s*[0-9]{1,2}:00\s*$")
    )]
    #[schemars(example = &"06:00-22:00")]
    pub(crate) active_hours: Option<Spanned<String>>,
    /// How the day's changes spread over its hours, for `pacer simulate`: 24
    /// weights from 00:00, e.g. [0,0,0,0,0,0,1,2,4,4,3,3,3,3,3,3,3,2,1,1,0,0,0,0];
    /// default even over the active hours.
    #[schemars(with = "Option<Vec<f64>>", length(equal = 24))]
    #[schemars(example = serde_json::json!([0,0,0,0,0,0,1,2,4,4,3,3,3,3,3,3,3,2,1,1,0,0,0,0]))]
    pub(crate) profile: Option<Spanned<Vec<f64>>>,
    /// Receive the records by `POST /hooks/<name>` instead of pulling them.
    #[schemars(example = serde_json::json!({"secret": "${ORDERS_HOOK_SECRET}"}))]
    pub(crate) webhook: Option<RawWebhook>,
    /// Overrides for the pull job.
    #[serde(default)]
    #[schemars(example = serde_json::json!({"request": {"path": "/prices", "query": {"changed_since": "{{ cursor }}"}}}))]
    pub(crate) pull: RawJob,
    /// Overrides for the push job.
    #[serde(default)]
    #[schemars(example = serde_json::json!({"request": {"method": "PUT", "path": "/products/{{ sku }}/price"}, "transform": "{price: .price}"}))]
    pub(crate) push: RawJob,
}

#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawJob {
    /// The rate this job may use; default the system's: "100/min".
    #[schemars(with = "Option<String>")]
    #[schemars(example = &"100/min")]
    pub(crate) rate: Option<Spanned<String>>,
    /// At most this many items per execution, 1 to 1000000000.
    #[schemars(with = "Option<u64>", range(min = 1, max = 1_000_000_000))]
    #[schemars(example = 5000)]
    pub(crate) max_items: Option<Spanned<u64>>,
    /// "auto" (default) to let the planner choose, or a cron expression kept as given.
    #[schemars(with = "Option<String>")]
    #[schemars(example = &"auto", example = &"*/20 * * * *")]
    pub(crate) schedule: Option<Spanned<String>>,
    /// The HTTP request: method, path, query, headers; `{{ cursor }}` (pull) and
    /// `{{ field }}` of the record (push) are filled in.
    #[schemars(example = serde_json::json!({"method": "GET", "path": "/prices", "query": {"changed_since": "{{ cursor }}"}}))]
    pub(crate) request: Option<RawRequest>,
    /// Pull from a database: the query reading changes, its values written
    /// `{{ cursor }}`, `{{ limit }}` and `{{ offset }}` (bound, never
    /// pasted in): "SELECT sku AS key, price, updated_at FROM prices WHERE
    /// updated_at > {{ cursor }} ORDER BY updated_at LIMIT {{ limit }}".
    /// Each row is a record, a JSON object of its columns.
    #[schemars(with = "Option<String>")]
    #[schemars(example = &"SELECT sku AS key, price, updated_at FROM prices WHERE updated_at > {{ cursor }} ORDER BY updated_at LIMIT {{ limit }}")]
    pub(crate) query: Option<Spanned<String>>,
    /// Push to a database: the statement run for each record, its values
    /// written `{{ field }}` of the transformed record, bound as text (cast
    /// where a column is not: `{{ price }}::numeric`); make it an upsert.
    #[schemars(with = "Option<String>")]
    #[schemars(example = &"INSERT INTO prices (sku, price) VALUES ({{ sku }}, {{ price }}::numeric) ON CONFLICT (sku) DO UPDATE SET price = excluded.price")]
    pub(crate) statement: Option<Spanned<String>>,
    /// Pull: jq selecting the records in a response; default `.items[]`.
    #[schemars(with = "Option<String>")]
    #[schemars(example = &".items[]", example = &".data[]")]
    pub(crate) records: Option<Spanned<String>>,
    /// Pull: jq giving a record's key, so a newer change replaces a pending one; default `.key`.
    #[schemars(with = "Option<String>")]
    #[schemars(example = &".key", example = &".sku")]
    pub(crate) key: Option<Spanned<String>>,
    /// Pull: jq over each record; the largest value becomes the next
    /// `{{ cursor }}`; default `.updated_at`. An array is a compound cursor
    /// compared element by element, `[.updated_at, .id]`: its parts are
    /// `{{ cursor.0 }}`, `{{ cursor.1 }}`.
    #[schemars(with = "Option<String>")]
    #[schemars(example = &".updated_at", example = &"[.updated_at, .id]")]
    pub(crate) cursor: Option<Spanned<String>>,
    /// Pull: how the source filters on the cursor: "strict" (default,
    /// only records after it) or "inclusive" (`>=`: records at the cursor
    /// come again, and those already read are dropped).
    #[schemars(with = "Option<String>", extend("enum" = ["strict", "inclusive"], "default" = "strict"))]
    #[schemars(example = &"inclusive")]
    pub(crate) cursor_compare: Option<Spanned<String>>,
    /// Pull: how pages follow each other; default `{ next: .next_page_token }`.
    #[schemars(with = "Option<RawPaginate>")]
    #[schemars(example = serde_json::json!({"next": ".next_page_token"}), example = serde_json::json!({"link": true}))]
    pub(crate) paginate: Option<Spanned<RawPaginate>>,
    /// Pull: the `{{ cursor }}` of the first pull, before any change has been
    /// read: "2026-01-01T00:00:00Z". Without it the first pull reads everything.
    #[schemars(with = "Option<String>")]
    #[schemars(example = &"2026-01-01T00:00:00Z")]
    pub(crate) start_cursor: Option<Spanned<String>>,
    /// Push: jq turning a record into what the destination takes; default `.`.
    #[schemars(with = "Option<String>")]
    #[schemars(example = &"{sku: .key, price: .price}")]
    pub(crate) transform: Option<Spanned<String>>,
    /// Push: jq over the JSON array of a request's transformed records,
    /// giving the request's body: "{items: .}", or for GraphQL
    /// '{query: "mutation ($input: [PriceInput!]!) { setPrices(input: $input) }", variables: {input: .}}'.
    /// Without it, a batch is sent as the array and a single record as itself.
    #[schemars(with = "Option<String>")]
    #[schemars(example = &"{items: .}")]
    pub(crate) body: Option<Spanned<String>>,
    /// jq over a 2xx answer's JSON; unless it gives `true` the delivery
    /// (push) or the page (pull) failed, and the answer is kept as the
    /// reason. For an API that answers 200 with its errors (GraphQL):
    /// ".errors == null".
    #[schemars(with = "Option<String>")]
    #[schemars(example = &".errors == null")]
    pub(crate) success: Option<Spanned<String>>,
    /// jq over an answer `success` refused; `true` tries again later (the
    /// task, or the page within the pull), anything else makes the task
    /// dead or fails the pull: '.errors[0].extensions.code == "RATE_LIMITED"'.
    #[schemars(with = "Option<String>")]
    #[schemars(example = &".errors[0].extensions.code == \"RATE_LIMITED\"")]
    pub(crate) retry: Option<Spanned<String>>,
    /// Push to a GraphQL API in one key: the mutation and the jq giving
    /// its variables from a record; sent by POST to the base URL (or
    /// `request.path`) with `success: .errors == null`. With `batch`,
    /// one mutation a request, `$input` the list of each record's variables.
    #[schemars(with = "Option<RawGraphql>")]
    #[schemars(example = serde_json::json!({"query": "mutation ($id: ID!, $price: String!) { setVariantPrice(id: $id, price: $price) }", "variables": "{id: lookup(\"variants\"; .key), price: .price}"}))]
    pub(crate) graphql: Option<Spanned<RawGraphql>>,
    /// Push: jq over a 2xx answer giving one value per record of the
    /// request, in order — null or `true` when it was taken, anything else
    /// the reason it was not (that record goes dead, the rest finish):
    /// '.results[] | if .ok then null else .error end'.
    #[schemars(with = "Option<String>")]
    #[schemars(example = &".results[] | if .ok then null else .error end")]
    pub(crate) each: Option<Spanned<String>>,
    /// Push: records per request, 1 to 10000; 1 sends each alone, more send a JSON array.
    #[schemars(with = "Option<u32>", range(min = 1, max = 10_000), extend("default" = 1))]
    #[schemars(example = 100)]
    pub(crate) batch: Option<Spanned<u32>>,
    /// Longest wait for one HTTP answer, at most 1h: "30s" (default), "2m".
    #[schemars(with = "Option<String>", extend("default" = "30s", "examples" = ["30s", "2m"]))]
    pub(crate) timeout: Option<Spanned<String>>,
    /// When the job is still running at its next minute: "skip" (default), "queue_one", "allow".
    #[schemars(with = "Option<String>", extend("enum" = ["skip", "queue_one", "allow"], "default" = "skip"))]
    #[schemars(example = &"queue_one")]
    pub(crate) overlap: Option<Spanned<String>>,
    /// Minutes missed while no node ran: "none" (default), "latest" (run once),
    /// "all" (each, within `catch_up_window`, at most `catch_up_max`).
    #[schemars(with = "Option<String>", extend("enum" = ["none", "latest", "all"], "default" = "none"))]
    #[schemars(example = &"latest")]
    pub(crate) catch_up: Option<Spanned<String>>,
    /// With `catch_up: all`, how far back missed minutes count: default "1h".
    #[schemars(with = "Option<String>")]
    #[schemars(example = &"1h", example = &"6h")]
    pub(crate) catch_up_window: Option<Spanned<String>>,
    /// With `catch_up: all`, at most this many executions, up to 10000; default 10.
    #[schemars(with = "Option<u32>", range(max = 10_000))]
    #[schemars(example = 10)]
    pub(crate) catch_up_max: Option<Spanned<u32>>,
    /// Longest wait for capacity before an execution counts as missed; default the job's interval.
    #[schemars(with = "Option<String>")]
    #[schemars(example = &"15m")]
    pub(crate) deadline: Option<Spanned<String>>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawGraphql {
    /// The mutation: 'mutation ($id: ID!, $price: String!) { setVariantPrice(id: $id, price: $price) }'.
    #[schemars(example = &"mutation ($id: ID!, $price: String!) { setVariantPrice(id: $id, price: $price) }")]
    pub(crate) query: String,
    /// jq over a record giving the mutation's variables; default `.`.
    #[schemars(with = "Option<String>")]
    #[schemars(example = &"{id: .id, price: .price}")]
    pub(crate) variables: Option<Spanned<String>>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawRequest {
    /// GET (default for pull), PUT (default for push), POST, PATCH, DELETE.
    #[schemars(
        with = "Option<String>",
        regex(pattern = r"^[A-Za-z!#$%&'*+.^_`|~0-9-]+$")
    )]
    #[schemars(example = &"GET", example = &"POST")]
    pub(crate) method: Option<Spanned<String>>,
    /// Appended to the system's base_url; default `/<integration>`. Pull
    /// paths may hold `{{ cursor }}`, push paths `{{ field }}` of the record.
    #[schemars(with = "Option<String>")]
    #[schemars(example = &"/prices", example = &"/products/{{ sku }}/price")]
    pub(crate) path: Option<Spanned<String>>,
    /// Query parameters; default `{ changed_since: "{{ cursor }}" }` for pull.
    #[schemars(with = "Option<BTreeMap<String, String>>")]
    #[schemars(example = serde_json::json!({"changed_since": "{{ cursor }}", "limit": "500"}))]
    pub(crate) query: Option<OrderedMap<Spanned<String>>>,
    /// Extra headers; values may be "${VARIABLE}", and are templated like
    /// the path: `{{ cursor }}` (pull), `{{ field }}` of the record (push).
    #[serde(default)]
    #[schemars(with = "BTreeMap<String, String>")]
    #[schemars(example = serde_json::json!({"X-Api-Version": "2024-10"}))]
    pub(crate) headers: OrderedMap<Spanned<String>>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawPaginate {
    /// jq giving the next page's token from the body; sent as `page_token` (or `param`).
    #[schemars(with = "Option<String>")]
    #[schemars(example = &".next_page_token")]
    pub(crate) next: Option<Spanned<String>>,
    /// Page numbers in this query parameter, from 1.
    #[schemars(example = &"page")]
    pub(crate) page: Option<String>,
    /// An offset in this query parameter, advanced by the records received.
    #[schemars(example = &"offset")]
    pub(crate) offset: Option<String>,
    /// Follow RFC 8288 `Link: <…>; rel="next"` headers.
    #[schemars(example = true)]
    pub(crate) link: Option<bool>,
    /// The query parameter carrying the token (`next`); default `page_token`.
    #[schemars(example = &"page_token", example = &"cursor")]
    pub(crate) param: Option<String>,
    /// The query parameter asking for a page size; default `limit`.
    #[schemars(example = &"limit", example = &"per_page")]
    pub(crate) size_param: Option<String>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawWebhook {
    /// A shared secret the sender puts in the `X-Pacer-Secret` header; "${VARIABLE}".
    #[schemars(example = &"${ORDERS_HOOK_SECRET}")]
    pub(crate) secret: Option<String>,
    /// Largest accepted body in bytes, at most 16 MiB; default 1 MiB.
    #[schemars(with = "Option<usize>", range(min = 1, max = 16_777_216))]
    #[schemars(example = 1048576)]
    pub(crate) max_bytes: Option<Spanned<usize>>,
    /// jq giving a record's key; default `.key`. A body that is an array holds one record each.
    #[schemars(with = "Option<String>")]
    #[schemars(example = &".key", example = &".order_id")]
    pub(crate) key: Option<Spanned<String>>,
}

/// A mapping that keeps the file's order, so plans list jobs as the file does.
#[derive(Debug)]
pub(crate) struct OrderedMap<T>(pub(crate) Vec<(String, T)>);

impl<T> Default for OrderedMap<T> {
    fn default() -> Self {
        OrderedMap(Vec::new())
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for OrderedMap<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Entries<T>(PhantomData<T>);

        impl<'de, T: Deserialize<'de>> Visitor<'de> for Entries<T> {
            type Value = OrderedMap<T>;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a mapping of names to settings")
            }

            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut entries: Vec<(String, T)> = Vec::new();
                while let Some((key, value)) = map.next_entry::<String, T>()? {
                    if entries.iter().any(|(k, _)| *k == key) {
                        return Err(serde::de::Error::custom(format!(
                            "`{key}` is defined twice"
                        )));
                    }
                    entries.push((key, value));
                }
                Ok(OrderedMap(entries))
            }
        }

        deserializer.deserialize_map(Entries(PhantomData))
    }
}

impl<T: JsonSchema> JsonSchema for OrderedMap<T> {
    fn schema_name() -> Cow<'static, str> {
        BTreeMap::<String, T>::schema_name()
    }

    fn json_schema(generator: &mut SchemaGenerator) -> Schema {
        BTreeMap::<String, T>::json_schema(generator)
    }
}

/// A time zone's schema: every IANA name this build knows, so an editor
/// completes them and a misspelt one is marked where it is written.
fn time_zone(_: &mut SchemaGenerator) -> Schema {
    let mut names: Vec<String> = jiff::tz::db()
        .available()
        .map(|name| name.as_str().to_string())
        .collect();
    names.sort_unstable();
    if names.is_empty() {
        // No database to list (it is read when Pacer runs): any name.
        return schemars::json_schema!({"type": "string"});
    }
    schemars::json_schema!({"type": "string", "enum": names})
}
