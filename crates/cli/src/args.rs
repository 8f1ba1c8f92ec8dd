//! What the user can type, as clap definitions.

use clap::{Parser, Subcommand, ValueEnum};

/// Plan and run scheduled, capacity-limited data integrations.
#[derive(Debug, Parser)]
#[command(name = "pacer", version, about, propagate_version = true)]
pub(crate) struct Args {
    #[command(subcommand)]
    pub(crate) command: Command,
}

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Explain a cron expression in plain English.
    Explain(ExplainArgs),
    /// Print the next times a cron expression fires.
    Next(NextArgs),
    /// Plan schedules, offsets and load for an environment's configuration file.
    Plan(PlanArgs),
    /// Check a configuration file as `pacer run` would, and whether its plan fits: for CI.
    Check(CheckArgs),
    /// Print the JSON Schema of the configuration file.
    Schema,
    /// Run the environment: pull, queue, push on the planned schedules.
    Run(RunArgs),
    /// Start a stand-in system (an ERP or a webshop) for trying configs out.
    Mock(MockArgs),
    /// Run the guide's example against mock systems, sped up, with nothing installed.
    Demo(DemoArgs),
    /// Play days of the environment on a virtual clock against mock systems: does the plan hold?
    Simulate(SimulateArgs),
    /// Print a shell's completion script: `pacer completions bash > /etc/bash_completion.d/pacer`.
    Completions(CompletionsArgs),
}

#[derive(Debug, clap::Args)]
pub(crate) struct CompletionsArgs {
    /// The shell: bash, zsh, fish, elvish or powershell.
    pub(crate) shell: clap_complete::Shell,
}

#[derive(Debug, clap::Args)]
pub(crate) struct CheckArgs {
    /// The configuration file (YAML), e.g. examples/acme.yaml.
    pub(crate) file: std::path::PathBuf,
    /// Output format: text for people, json for tools.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub(crate) format: Format,
}

#[derive(Debug, clap::Args)]
pub(crate) struct SimulateArgs {
    /// The configuration file (YAML), e.g. examples/acme.yaml.
    pub(crate) file: std::path::PathBuf,
    /// Days to simulate, from midnight.
    #[arg(long, default_value_t = 1, value_name = "N")]
    pub(crate) days: u32,
    /// Multiply every volume (already at its peak factor) by this: "what if" at 3× volume.
    #[arg(long, default_value_t = 1.0, value_name = "X")]
    pub(crate) volume_factor: f64,
    /// The first day (YYYY-MM-DD); a fixed Monday by default, so reports repeat exactly.
    #[arg(long, value_name = "DATE")]
    pub(crate) start: Option<String>,
    /// Also write the planner's heat map of the plan beside each simulated day's, as SVG.
    #[arg(long, value_name = "FILE")]
    pub(crate) svg: Option<std::path::PathBuf>,
    /// The schedule time each request to a system takes ("200ms", "1s").
    #[arg(long, default_value = "200ms", value_name = "DURATION")]
    pub(crate) request_time: String,
    /// How the engine reaches the mock systems: their handlers called in
    /// this process, or over loopback TCP as `pacer mock` serves them; the
    /// report is the same, in-process is several times faster.
    #[arg(long, value_enum, default_value_t = SimulateTransport::InProcess)]
    pub(crate) transport: SimulateTransport,
    /// Output format: text for people, json for tools.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub(crate) format: Format,
    /// What if a system accepts less (or more) than the file says: its mock
    /// keeps this rate, and answers 429 beyond it, while the plan and the
    /// engine keep the file's ("webshop=300/min"; repeat for more systems).
    #[arg(long = "mock-rate", value_name = "SYSTEM=RATE")]
    pub(crate) mock_rates: Vec<String>,
    /// Keep the simulated days' history in this store (sqlite://FILE or
    /// postgres://…), as `pacer run` writes it: `pacer plan --observed
    /// --store URL` reads it back. Default: a throwaway store in memory.
    #[arg(long, value_name = "URL")]
    pub(crate) record: Option<String>,
    #[command(flatten)]
    pub(crate) observed: ObservedArgs,
}

#[derive(Debug, clap::Args)]
pub(crate) struct RunArgs {
    /// The configuration file (YAML), e.g. examples/acme.yaml.
    pub(crate) file: std::path::PathBuf,
    /// Run schedule time this many times faster than real time (60: a minute per second).
    #[arg(long, value_name = "N")]
    pub(crate) speed: Option<f64>,
    /// Stop after this much schedule time ("2h", "1d"); default: until Ctrl-C or SIGTERM.
    #[arg(long = "for", value_name = "DURATION")]
    pub(crate) duration: Option<String>,
    /// Where the dashboard, API, metrics and webhooks listen; loopback unless you say otherwise.
    #[arg(long, default_value = "127.0.0.1:8080", value_name = "ADDR")]
    pub(crate) listen: String,
    /// Log lines as text for people or JSON for log shippers.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub(crate) log_format: Format,
}

#[derive(Debug, clap::Args)]
pub(crate) struct MockArgs {
    /// Which system to stand in for: erp or webshop (the guide's), or with
    /// --config one of the file's systems (default: all of them).
    #[arg(value_name = "SYSTEM")]
    pub(crate) system: Option<String>,
    /// Stand in for the systems of this configuration file: every
    /// integration they are the source of, at its volume, active hours and
    /// profile, each system at its rate and on its base_url's port.
    #[arg(long, value_name = "FILE")]
    pub(crate) config: Option<std::path::PathBuf>,
    /// Where to listen; default the system's base_url with --config, else
    /// 127.0.0.1:9101 (erp) or 127.0.0.1:9102 (webshop).
    #[arg(long, value_name = "ADDR")]
    pub(crate) listen: Option<String>,
    /// Run time this many times faster than real time, as `pacer run --speed N` does.
    #[arg(long, value_name = "N")]
    pub(crate) speed: Option<f64>,
    /// Changes a day of every entity it produces ("35000/day"), instead of the guide's volumes.
    #[arg(long, value_name = "VOLUME", conflicts_with = "config")]
    pub(crate) volume: Option<String>,
    /// Items a minute it serves or accepts before answering 429 ("100/min").
    #[arg(long, value_name = "RATE", conflicts_with = "config")]
    pub(crate) rate: Option<String>,
}

#[derive(Debug, clap::Args)]
pub(crate) struct DemoArgs {
    /// Schedule minutes per real minute. Real delays grow with it: at
    /// 1200x a request held up 50 ms on a busy machine arrives a scheduled
    /// minute later, and a system's busiest minute can show more than its
    /// limit.
    #[arg(long, default_value_t = 60.0, value_name = "N")]
    pub(crate) speed: f64,
    /// Stop after this much schedule time ("2h"); default: until Ctrl-C.
    #[arg(long = "for", value_name = "DURATION")]
    pub(crate) duration: Option<String>,
    /// Where the dashboard, API, metrics and webhooks listen.
    #[arg(long, default_value = "127.0.0.1:8080", value_name = "ADDR")]
    pub(crate) listen: String,
    /// The summary at the end: text for people, json for tools (one object on stdout).
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub(crate) format: Format,
}

#[derive(Debug, clap::Args)]
pub(crate) struct PlanArgs {
    /// The configuration file (YAML), e.g. examples/acme.yaml.
    pub(crate) file: std::path::PathBuf,
    /// Output format: text for people, json for tools, markdown for a ticket or wiki.
    #[arg(long, value_enum, default_value_t = PlanFormat::Text)]
    pub(crate) format: PlanFormat,
    /// Also write the day's load as an SVG heat map to this file.
    #[arg(long, value_name = "FILE")]
    pub(crate) svg: Option<std::path::PathBuf>,
    /// Exit 1 when the plan does not fit (capacity, freshness, throughput), 0 when it does.
    #[arg(long)]
    pub(crate) check: bool,
    /// Then simulate a day (as `pacer simulate`), and the zone's next days the
    /// clock moves, and exit 1 when one contradicts the plan.
    #[arg(long)]
    pub(crate) verify: bool,
    /// The day to plan from (YYYY-MM-DD; default today): the daylight-saving
    /// days checked and verified are the zone's next ones after it.
    #[arg(long, value_name = "DATE")]
    pub(crate) date: Option<String>,
    #[command(flatten)]
    pub(crate) observed: ObservedArgs,
}

/// What `--observed` reads: the store's ledger over a window.
#[derive(Debug, clap::Args)]
pub(crate) struct ObservedArgs {
    /// Use what the store saw instead of the file's estimates: each
    /// integration's changes a day, peak day and hourly profile, read from
    /// the executions of the window.
    #[arg(long)]
    pub(crate) observed: bool,
    /// With --observed: how far back the window reaches ("14d", "36h").
    #[arg(
        long,
        default_value = "14d",
        value_name = "DURATION",
        requires = "observed"
    )]
    pub(crate) since: String,
    /// With --observed: the window's end, a date (its local midnight) or a
    /// time such as 2026-03-09T12:00 in the file's time zone; default now.
    #[arg(long, value_name = "TIME", requires = "observed")]
    pub(crate) until: Option<String>,
    /// With --observed: the store to read; default the one `pacer run`
    /// uses (`environment.store`, or the SQLite file beside the config).
    #[arg(long, value_name = "URL", requires = "observed")]
    pub(crate) store: Option<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub(crate) enum SimulateTransport {
    InProcess,
    Loopback,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub(crate) enum PlanFormat {
    Text,
    Json,
    Markdown,
}

#[derive(Debug, clap::Args)]
pub(crate) struct ExplainArgs {
    /// The cron expression, in quotes: "*/4 * * * *".
    #[arg(required = true, num_args = 1.., value_name = "EXPRESSION")]
    pub(crate) expression: Vec<String>,
    /// The key `H` hashes, usually the job's name (e.g. prices.pull).
    #[arg(long, value_name = "NAME")]
    pub(crate) key: Option<String>,
    /// Output format: text for people, json for tools.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub(crate) format: Format,
}

#[derive(Debug, clap::Args)]
pub(crate) struct NextArgs {
    /// The cron expression, in quotes: "*/4 * * * *".
    #[arg(required = true, num_args = 1.., value_name = "EXPRESSION")]
    pub(crate) expression: Vec<String>,
    /// How many fire times to print.
    #[arg(short = 'n', long = "count", default_value_t = 5, value_name = "N")]
    pub(crate) count: usize,
    /// Start strictly after this instant (RFC 3339, e.g. 2026-11-27T09:00:00Z); default now.
    #[arg(long, value_name = "RFC3339")]
    pub(crate) from: Option<String>,
    /// The IANA time zone the expression is read in.
    #[arg(long, default_value = "UTC", value_name = "ZONE")]
    pub(crate) tz: String,
    /// The key `H` hashes, usually the job's name (e.g. prices.pull).
    #[arg(long, value_name = "NAME")]
    pub(crate) key: Option<String>,
    /// Output format: text for people, json for tools (an array of RFC 3339 strings).
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub(crate) format: Format,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub(crate) enum Format {
    Text,
    Json,
}
