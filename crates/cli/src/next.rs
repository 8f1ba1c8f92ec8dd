//! `pacer next EXPR [-n N] [--from RFC3339] [--tz ZONE] [--key NAME] [--format text|json]`

use std::io::Write;

use jiff::Timestamp;

use crate::{
    args::{Format, NextArgs},
    input,
};

pub(crate) fn run(args: &NextArgs, out: &mut impl Write) -> anyhow::Result<()> {
    let schedule = input::schedule(&args.expression, args.key.as_deref())?;
    let zone = input::time_zone(&args.tz)?;
    let from = match &args.from {
        Some(text) => input::instant(text)?,
        None => Timestamp::now(),
    };
    let fires = schedule.fires_after(from, &zone).take(args.count);
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
    Ok(())
}
