//! `awd`: adaptive wavelet distillation from the command line.
//!
//! `main` only parses arguments, runs one subcommand and prints any error
//! once, as `awd: ...`, with a non-zero exit status.

mod args;
mod cmd;
mod plot;
mod progress;

use std::process::ExitCode;

use clap::Parser;

/// Exit status after SIGINT or SIGTERM (128 + SIGINT, as shells report).
const STOPPED_BY_SIGNAL: i32 = 130;

fn main() -> ExitCode {
    remove_unfinished_files_on_signal();
    let cli = match args::Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => match negative_number_message(&e) {
            Some(msg) => {
                eprintln!("awd: {msg}");
                return ExitCode::from(2);
            }
            None => e.exit(),
        },
    };
    match cmd::run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) if is_broken_pipe(&err) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("awd: {err:#}");
            ExitCode::from(1)
        }
    }
}

/// On SIGINT, SIGTERM or SIGHUP, remove the temporary files being written
/// (every output is written to a temporary sibling and renamed when
/// complete), say so and exit: a stopped run leaves finished files only.
fn remove_unfinished_files_on_signal() {
    let installed = ctrlc::set_handler(|| {
        let removed = awd::io::remove_pending_temp_files();
        eprintln!("awd: stopped by a signal; {removed} unfinished file(s) removed, finished ones kept");
        std::process::exit(STOPPED_BY_SIGNAL);
    });
    if let Err(e) = installed {
        eprintln!("awd: warning: cannot handle SIGINT/SIGTERM ({e}); a stopped run may leave hidden .tmp- files");
    }
}

/// Our message for a negative number given to an option (clap reads `-1`
/// as an unknown flag and says "unexpected argument").
fn negative_number_message(e: &clap::Error) -> Option<String> {
    use clap::error::{ContextKind, ContextValue, ErrorKind};
    if e.kind() != ErrorKind::UnknownArgument {
        return None;
    }
    let Some(ContextValue::String(value)) = e.get(ContextKind::InvalidArg) else { return None };
    value.parse::<f64>().ok().filter(|v| *v < 0.0)?;
    let argv: Vec<String> = std::env::args().collect();
    let at = argv.iter().position(|a| a == value)?;
    let flag = argv[..at].last().filter(|f| f.starts_with("--"))?;
    Some(format!("{flag} {value}: negative values are not accepted; {flag} takes a number >= 0 (see awd --help)"))
}

/// A closed stdout (e.g. `awd wavelets | head`) is not an error.
fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain()
        .any(|e| e.downcast_ref::<std::io::Error>().is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe))
}
