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
}

#[derive(Debug, clap::Args)]
pub(crate) struct ExplainArgs {
    /// The cron expression, in quotes: "*/4 * * * *".
    pub(crate) expression: String,
    /// The key `H` hashes, usually the job's name (e.g. prices.pull).
    #[arg(long, value_name = "NAME")]
    pub(crate) key: Option<String>,
}

#[derive(Debug, clap::Args)]
pub(crate) struct NextArgs {
    /// The cron expression, in quotes: "*/4 * * * *".
    pub(crate) expression: String,
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
