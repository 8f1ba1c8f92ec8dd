//! Pacer's configuration file: YAML in, a typed model out, with errors that
//! say `file:line:column: key: what is wrong`.
//!
//! The same file serves `pacer plan` and `pacer run`. Unknown keys are errors
//! (with a "did you mean" where a key is close), and [`schema`] gives the JSON
//! Schema that editors use to complete and check the file.
//!
//! # Example
//!
//! ```
//! let yaml = r#"
//! environment: { name: acme, timezone: Europe/Amsterdam, capacity: 2 }
//! systems:
//!   erp: { rate: 100/min }
//!   webshop: { rate: 500/min }
//! integrations:
//!   prices: { from: erp, to: webshop, volume: 35000/day }
//! "#;
//! let config = pacer_config::parse(yaml, "acme.yaml")?;
//! assert_eq!(config.timezone, "Europe/Amsterdam");
//! assert_eq!(config.environment.integrations[0].volume_per_day, 35000.0);
//!
//! let err = pacer_config::parse(&yaml.replace("35000/day", "lots"), "acme.yaml").unwrap_err();
//! assert_eq!(
//!     err.to_string(),
//!     r#"acme.yaml:7:45: integrations.prices.volume: expected "<number>/day" or "<number>/hour", found "lots""#,
//! );
//! # Ok::<(), pacer_config::Error>(())
//! ```

#![deny(missing_docs)]

pub use crate::{
    error::Error,
    load::{Config, IntegrationConfig, SCHEMA_ID, parse, parse_bytes, schema},
    run::{
        Alerts, Auth, CatchUp, Channel, Conditions, Connection, Expr, Flow, JobPolicy, Lookup,
        Maintenance, Overlap, Paginate, Pull, Push, Request, RequestRate, Retention, Webhook,
    },
    values::DurationError,
};

mod check;
mod error;
mod load;
mod raw;
mod run;
mod runnable;
mod values;

/// Reads a rate as the file writes it (`"100/min"`, `"5/s"`, `"2000/h"`); on
/// failure, what was expected.
pub fn parse_rate(text: &str) -> Result<pacer_plan::Rate, &'static str> {
    values::rate(text)
}

/// Reads a duration as the file and the command line write it (`"30m"`,
/// `"1h30m"`, `"1m30s"`, `"45 minutes"`, `"1d"`).
///
/// ```
/// let d = pacer_config::parse_duration("1m30s").unwrap();
/// assert_eq!(d, jiff::SignedDuration::from_secs(90));
/// assert_eq!(pacer_config::parse_duration("45 minutes").unwrap().as_mins(), 45);
/// assert!(pacer_config::parse_duration("soon").is_err());
/// ```
pub fn parse_duration(text: &str) -> Result<jiff::SignedDuration, DurationError> {
    values::duration(text)
}

/// Reads a volume as the file writes it (`"35000/day"`, `"1500/hour"`), as
/// changes a day; on failure, what was expected.
pub fn parse_volume(text: &str) -> Result<f64, &'static str> {
    values::volume(text)
}
