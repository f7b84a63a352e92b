//! `awd`: adaptive wavelet distillation from the command line.
//!
//! `main` only parses arguments, runs one subcommand and prints any error
//! once, as `awd: ...`, with a non-zero exit status.

mod args;
mod cmd;
mod coeff_files;
mod plot;
mod progress;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = args::Cli::parse();
    match cmd::run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) if is_broken_pipe(&err) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("awd: {err:#}");
            ExitCode::from(1)
        }
    }
}

/// A closed stdout (e.g. `awd wavelets | head`) is not an error.
fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain()
        .any(|e| e.downcast_ref::<std::io::Error>().is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe))
}
