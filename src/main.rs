//! `kubeseed`: argv in, exit codes out; everything else is the library's
//! (`kubeseed::commands`).

use std::io::Write as _;
use std::process::ExitCode;

use clap::Parser;
use kubeseed::cli::{Cli, Command};
use kubeseed::commands::{check_expiration, completions, init, join, plan, render, verify};
use kubeseed::error::Error;

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            // Help and version are not errors; every real error exits 1.
            let code = if e.use_stderr() { 1 } else { 0 };
            let _ = e.print();
            return ExitCode::from(code);
        }
    };
    let result = match cli.command {
        Command::Init { dir } => init::run(&dir),
        Command::Render {
            spec,
            out,
            seed,
            templates,
        } => render::run(&spec, &out, seed.as_deref(), templates.as_deref()),
        Command::Join { spec, seed, output } => join::run(&spec, seed.as_deref(), output),
        Command::Plan {
            spec,
            out,
            seed,
            templates,
            verbose,
            output,
        } => {
            let opts = plan::Options {
                seed: seed.as_deref(),
                templates: templates.as_deref(),
                verbose,
                output,
            };
            return detailed_exit(plan::run(&spec, &out, &opts));
        }
        Command::CheckExpiration {
            dir,
            warn_within,
            output,
        } => return detailed_exit(check_expiration::run(&dir, warn_within, output)),
        Command::Completions { shell } => completions::run(shell),
        Command::Verify {
            dir,
            strict,
            output,
            age_identity,
        } => {
            // A failed audit exits 1, as an error does (there is no "changes" status).
            return match verify::run(&dir, strict, output, age_identity.as_deref()) {
                Ok(false) => ExitCode::SUCCESS,
                Ok(true) => ExitCode::from(1),
                Err(e) => {
                    report_error(&e);
                    ExitCode::from(1)
                }
            };
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            report_error(&e);
            ExitCode::from(1)
        }
    }
}

fn report_error(e: &Error) {
    let mut stderr = std::io::stderr().lock();
    match e {
        Error::Spec(errors) => {
            for p in &errors.0 {
                let _ = writeln!(stderr, "error: {p}");
            }
        }
        _ => {
            let _ = writeln!(stderr, "error: {e}");
            if let Some(hint) = e.hint() {
                let _ = writeln!(stderr, "  hint: {hint}");
            }
        }
    }
}

/// Exit status for commands that gate CI (terraform's `-detailed-exitcode`): 0 when all is
/// well, 2 when `Ok(true)` says there is something to act on, 1 on error.
fn detailed_exit(result: Result<bool, Error>) -> ExitCode {
    match result {
        Ok(false) => ExitCode::SUCCESS,
        Ok(true) => ExitCode::from(2),
        Err(e) => {
            report_error(&e);
            ExitCode::from(1)
        }
    }
}
