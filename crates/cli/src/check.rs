//! `pacer check FILE [--format text|json]`: the file as `pacer run` reads
//! it, and whether its plan fits — for a CI pipeline, without running.
//!
//! Exit 0: valid and fits; 1: valid, but the plan does not fit; 2: invalid,
//! or a system without the `base_url` that `run` needs (planning needs none).

use std::{io::Write, process::ExitCode};

use serde_json::json;

use crate::{
    args::{CheckArgs, Format},
    input::InvalidInput,
};

pub(crate) fn run(args: &CheckArgs, out: &mut impl Write) -> anyhow::Result<ExitCode> {
    let file = args.file.display().to_string();
    let bytes = std::fs::read(&args.file)
        .map_err(|e| InvalidInput(format!("error: cannot read {file}: {e}")))?;
    let config = match pacer_config::parse_bytes(&bytes, &file) {
        Ok(config) => {
            if args.format == Format::Text {
                for warning in &config.warnings {
                    writeln!(out, "{warning}")?;
                }
            }
            config
        }
        Err(e) if args.format == Format::Json => {
            let error = json!({
                "line": e.line(), "column": e.column(), "key": e.path(), "message": e.message(),
            });
            let answer = json!({"file": file, "valid": false, "error": error});
            writeln!(out, "{}", serde_json::to_string_pretty(&answer)?)?;
            return Ok(ExitCode::from(2));
        }
        Err(e) => return Err(InvalidInput(format!("error: {e}")).into()),
    };
    // What `pacer run` needs beyond what planning does.
    if let Some(system) = config
        .connections
        .iter()
        .find(|c| c.base_url.is_none() && c.database.is_none())
    {
        return Err(InvalidInput(format!(
            "error: {file}: systems.{0}: no base_url, which pacer run needs; \
             add `base_url: https://…` (or `database: postgres://…`) to systems.{0}",
            system.system
        ))
        .into());
    }
    let (plan, _) = crate::plan::plan(&config, None)?;
    let variables: Vec<(String, String, bool)> = config
        .variables()
        .into_iter()
        .map(|(name, origin)| {
            let set = std::env::var_os(&name).is_some();
            (name, origin, set)
        })
        .collect();
    let environment = &config.environment;
    match args.format {
        Format::Json => {
            let answer = json!({
                "file": file,
                "valid": true,
                "integrations": environment.integrations.len(),
                "jobs": plan.jobs.len(),
                "capacity": environment.capacity,
                "peak": plan.load.peak,
                "fits": plan.fits,
                "problems": plan.warnings.iter().filter(|w| w.is_failure()).map(ToString::to_string).collect::<Vec<_>>(),
                "warnings": config.warnings,
                "variables": variables.iter().map(|(name, origin, set)| json!({
                    "name": name, "where": origin, "set": set,
                })).collect::<Vec<_>>(),
            });
            writeln!(out, "{}", serde_json::to_string_pretty(&answer)?)?;
        }
        Format::Text => {
            writeln!(
                out,
                "{file}: valid: {} integrations, {} jobs, capacity {}",
                environment.integrations.len(),
                plan.jobs.len(),
                environment.capacity
            )?;
            if plan.fits {
                let peak = plan.load.peak;
                let noun = if peak == 1 { "execution" } else { "executions" };
                writeln!(out, "plan: fits, at most {peak} {noun} at once")?;
            } else {
                writeln!(out, "plan: does not fit")?;
                for warning in plan.warnings.iter().filter(|w| w.is_failure()) {
                    writeln!(out, "- {warning}")?;
                }
            }
            if !variables.is_empty() {
                let listed: Vec<String> = variables
                    .iter()
                    .map(|(name, origin, set)| match set {
                        true => format!("{name} (set)"),
                        false => format!("{name} (not set here; {origin})"),
                    })
                    .collect();
                writeln!(out, "pacer run reads: {}", listed.join(", "))?;
            }
        }
    }
    Ok(if plan.fits {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}
