//! The `pacer` binary: a thin layer that reads arguments, calls the library
//! crates and prints their answers.
//!
//! Exit codes are a contract: 0 success, 1 a failure while doing the work,
//! 2 invalid input (arguments, expressions, time zones, files).

use std::{io::Write, process::ExitCode};

use clap::Parser;

mod args;
mod check;
mod demo;
mod explain;
mod input;
mod mock;
mod next;
mod observed;
mod plan;
mod run;
mod runtime;
mod simulate;

use crate::{args::Args, input::InvalidInput};

// Records, pages and requests are allocated on one thread and freed on
// another (engine, HTTP client and server, SQLite's worker); in a profiled
// simulation glibc's malloc and free took a sixth of the time.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let args = Args::parse();
    match run(args) {
        Ok(code) => code,
        Err(err) => {
            if is_broken_pipe(&err) {
                return ExitCode::SUCCESS;
            }
            let mut stderr = std::io::stderr().lock();
            if let Some(invalid) = err.downcast_ref::<InvalidInput>() {
                let _ = writeln!(stderr, "{invalid}");
                return ExitCode::from(2);
            }
            let _ = writeln!(stderr, "error: {err:#}");
            ExitCode::from(1)
        }
    }
}

fn run(args: Args) -> anyhow::Result<ExitCode> {
    let mut stdout = std::io::stdout().lock();
    let code = match args.command {
        args::Command::Explain(explain) => {
            explain::run(&explain, &mut stdout).map(|()| ExitCode::SUCCESS)?
        }
        args::Command::Next(next) => next::run(&next, &mut stdout).map(|()| ExitCode::SUCCESS)?,
        args::Command::Plan(plan) => plan::run(&plan, &mut stdout)?,
        args::Command::Check(check) => check::run(&check, &mut stdout)?,
        args::Command::Schema => {
            writeln!(stdout, "{}", pacer_config::schema())?;
            ExitCode::SUCCESS
        }
        args::Command::Run(run) => run::run(&run)?,
        args::Command::Mock(mock) => mock::run(&mock)?,
        args::Command::Demo(demo) => demo::run(&demo, &mut stdout)?,
        args::Command::Simulate(simulate) => simulate::run(&simulate, &mut stdout)?,
        args::Command::Completions(completions) => {
            let mut command = <Args as clap::CommandFactory>::command();
            // Into memory first: clap_complete panics when its writer fails
            // (`pacer completions bash | head`).
            let mut script = Vec::new();
            clap_complete::generate(completions.shell, &mut command, "pacer", &mut script);
            stdout.write_all(&script)?;
            ExitCode::SUCCESS
        }
    };
    stdout.flush()?;
    Ok(code)
}

/// `pacer next -n 100000 | head` is not an error.
fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain().any(|cause| {
        let kind = cause
            .downcast_ref::<std::io::Error>()
            .map(std::io::Error::kind)
            .or_else(|| cause.downcast_ref::<serde_json::Error>()?.io_error_kind());
        kind == Some(std::io::ErrorKind::BrokenPipe)
    })
}
