//! `pacer next EXPR [-n N] [--from RFC3339] [--tz ZONE] [--key NAME] [--format text|json]`

use std::io::Write;

use jiff::Timestamp;

use crate::{
    args::{Format, NextArgs},
    input,
};

pub(crate) fn run(args: &NextArgs, out: &mut impl Write) -> anyhow::Result<()> {
    let expression = input::expression(&args.expression)?;
    let schedule = input::schedule(&expression, args.key.as_deref())?;
    let zone = input::time_zone(&args.tz)?;
    let from = match &args.from {
        Some(text) => input::instant(text)?,
        None => Timestamp::now(),
    };
    let mut found = 0;
    let fires = schedule
        .fires_after(from, &zone)
        .take(args.count)
        .inspect(|_| found += 1);
    match args.format {
        Format::Text => {
            for fire in fires {
                writeln!(
                    out,
                    "{}  {}",
                    fire.strftime("%Y-%m-%dT%H:%M:%S%:z"),
                    fire.strftime("%a %Z")
                )?;
            }
        }
        Format::Json => {
            let rfc3339: Vec<String> = fires
                .map(|fire| fire.strftime("%Y-%m-%dT%H:%M:%S%:z").to_string())
                .collect();
            serde_json::to_writer(&mut *out, &rfc3339)?;
            writeln!(out)?;
        }
    }
    if found < args.count {
        // Not an error: the answer is complete, just shorter than asked.
        eprintln!(
            "note: only {found} of {} fire times exist before the year 10000 in {}{}",
            args.count,
            args.tz,
            if found == 0 && !schedule.is_fixed_time() {
                " (does it match only wall-clock times that daylight saving skips?)"
            } else {
                ""
            }
        );
    }
    Ok(())
}
