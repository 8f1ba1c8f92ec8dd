//! `pacer explain EXPR [--key NAME] [--format text|json]`

use std::io::Write;

use crate::{
    args::{ExplainArgs, Format},
    input,
};

pub(crate) fn run(args: &ExplainArgs, out: &mut impl Write) -> anyhow::Result<()> {
    let expression = input::expression(&args.expression)?;
    let schedule = input::schedule(&expression, args.key.as_deref())?;
    match args.format {
        Format::Text => {
            writeln!(out, "{}", schedule.describe())?;
            if schedule.uses_hash() {
                writeln!(out, "resolved: {schedule}")?;
            }
        }
        Format::Json => {
            let answer = serde_json::json!({
                "expression": expression,
                "resolved": schedule.to_string(),
                "description": schedule.describe(),
                "warnings": schedule.warnings().iter().map(ToString::to_string).collect::<Vec<_>>(),
            });
            writeln!(out, "{}", serde_json::to_string_pretty(&answer)?)?;
        }
    }
    Ok(())
}
