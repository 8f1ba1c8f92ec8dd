//! `pacer explain EXPR [--key NAME]`

use std::io::Write;

use crate::{args::ExplainArgs, input};

pub(crate) fn run(args: &ExplainArgs, out: &mut impl Write) -> anyhow::Result<()> {
    let schedule = input::schedule(&args.expression, args.key.as_deref())?;
    writeln!(out, "{}", schedule.describe())?;
    if schedule.uses_hash() {
        writeln!(out, "resolved: {schedule}")?;
    }
    Ok(())
}
