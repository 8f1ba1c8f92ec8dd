//! Turning what the user typed into library values, with errors that point at the mistake.

use std::fmt;

use jiff::{Timestamp, tz::TimeZone};
use pacer_cron::Schedule;

/// Input the user can fix: the binary prints it and exits with code 2.
#[derive(Debug)]
pub(crate) struct InvalidInput(pub(crate) String);

impl fmt::Display for InvalidInput {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for InvalidInput {}

/// The expression as typed: one argument, or several a shell split it into.
///
/// `pacer explain */4 * * * *` unquoted reaches Pacer as five words, and a
/// shell replaces a `*` with the names of the files in the folder when
/// there are any. Words that are not file names are taken together; a
/// file's name among them means the shell expanded one: the error says to
/// quote it.
pub(crate) fn expression(words: &[String]) -> Result<String, InvalidInput> {
    let joined = words.join(" ");
    if words.len() == 1 {
        return Ok(joined);
    }
    if let Some(file) = words
        .iter()
        .find(|w| !w.contains('*') && std::path::Path::new(w.as_str()).exists())
    {
        return Err(InvalidInput(format!(
            "error: the expression came as {} words, one of them {file:?}, a file here: the \
             shell replaced a `*` with file names\nhint: quote the expression: pacer explain \"*/4 * * * *\"",
            words.len()
        )));
    }
    Ok(joined)
}

/// Parses a cron expression; on error, shows it with the offending text underlined.
pub(crate) fn schedule(expr: &str, key: Option<&str>) -> Result<Schedule, InvalidInput> {
    let parsed = match key {
        Some(key) => Schedule::parse_with_key(expr, key),
        None => Schedule::parse(expr),
    };
    if let Ok(schedule) = &parsed {
        for warning in schedule.warnings() {
            eprintln!("warning: {warning}");
        }
    }
    parsed.map_err(|err| {
        let mut message = format!("error: invalid cron expression: {err}\n  {expr}\n");
        if let Some(span) = err.span() {
            let pad = expr[..span.start].chars().count();
            let width = expr[span].chars().count().max(1);
            message.push_str(&format!("  {}{}", " ".repeat(pad), "^".repeat(width)));
        }
        if err.is_missing_key() {
            message.push_str("\nhint: pass --key NAME (the job's name) to resolve H");
        }
        InvalidInput(message)
    })
}

pub(crate) fn time_zone(name: &str) -> Result<TimeZone, InvalidInput> {
    TimeZone::get(name).map_err(|_| {
        InvalidInput(format!(
            "error: --tz: unknown time zone {name:?}; expected an IANA name such as \
             UTC, Europe/Amsterdam or America/New_York"
        ))
    })
}

pub(crate) fn instant(text: &str) -> Result<Timestamp, InvalidInput> {
    text.parse().map_err(|err| {
        InvalidInput(format!(
            "error: --from: {text:?} is not an RFC 3339 instant ({err}); \
             expected e.g. 2026-11-27T09:00:00Z or 2026-11-27T10:00:00+01:00"
        ))
    })
}

/// Reads and checks a configuration file: the one check every command
/// shares, so what `run` refuses, `plan`, `simulate` and `check` refuse too.
pub(crate) fn config(path: &std::path::Path) -> Result<pacer_config::Config, InvalidInput> {
    let bytes = std::fs::read(path)
        .map_err(|e| InvalidInput(format!("error: cannot read {}: {e}", path.display())))?;
    let config = pacer_config::parse_bytes(&bytes, &path.display().to_string())
        .map_err(|e| InvalidInput(format!("error: {e}")))?;
    for warning in &config.warnings {
        eprintln!("{warning}");
    }
    Ok(config)
}
