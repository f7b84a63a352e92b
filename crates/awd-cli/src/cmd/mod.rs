//! One module per subcommand family; each turns parsed arguments into calls of
//! the core library and writes the outputs.

mod bench;
#[cfg(feature = "mpi")]
mod cluster;
mod distill;
mod experiment;
mod fit;
mod info;
pub mod maps;
mod predict;
mod teacher;
mod transform;

use anyhow::{Context, Result};
use awd::Wavelet;

use crate::args::{BenchCommand, Cli, Command, DataCommand, ExperimentCommand, TeacherCommand};

/// Run one parsed command line.
pub fn run(cli: Cli) -> Result<()> {
    match cli.command {
        Command::Wavelets(a) => info::wavelets(&a),
        Command::Filters(a) => info::filters(&a),
        Command::Wavefun(a) => info::wavefun(&a),
        Command::Distance(a) => info::distance(&a),
        Command::Dwt(a) => transform::dwt(&a),
        Command::Idwt(a) => transform::idwt(&a),
        Command::Fit(a) => {
            #[cfg(feature = "mpi")]
            if let Some(mpi) = cluster::world()? {
                return cluster::fit(&a, &mpi);
            }
            fit::fit(&a)
        }
        Command::Sweep(a) => {
            #[cfg(feature = "mpi")]
            if let Some(mpi) = cluster::world()? {
                return cluster::sweep(&a, &mpi);
            }
            fit::sweep_cmd(&a)
        }
        Command::Distill(a) => distill::distill_cmd(&a),
        Command::Teacher(TeacherCommand::Train(a)) => teacher::train_cmd(&a),
        Command::Teacher(TeacherCommand::Predict(a)) => teacher::predict_cmd(&a),
        Command::Teacher(TeacherCommand::Grad(a)) => teacher::grad_cmd(&a),
        Command::Data(DataCommand::Synthetic(a)) => teacher::synthetic_data_cmd(&a),
        Command::Data(DataCommand::Cosmology(a)) => maps::cosmology_data_cmd(&a),
        Command::Experiment(ExperimentCommand::Synthetic(a)) => experiment::synthetic::run(&a),
        Command::Experiment(ExperimentCommand::Clathrin(a)) => experiment::clathrin::run(&a),
        Command::Experiment(ExperimentCommand::Cosmology(a)) => experiment::cosmology::run(&a),
        Command::Experiment(ExperimentCommand::Spread(a)) => experiment::spread::run(&a),
        Command::Predict(a) => predict::predict_cmd(&a),
        Command::Bench(BenchCommand::Dwt(a)) => bench::dwt(&a),
        Command::Bench(BenchCommand::Fit(a)) => bench::fit(&a),
        Command::Bench(BenchCommand::Predict(a)) => bench::predict(&a),
    }
}

/// Resolve a `--wavelet` value: a built-in name or a wavelet JSON file.
pub fn wavelet_arg(spec: &str) -> Result<Wavelet> {
    Wavelet::resolve(spec).with_context(|| format!("--wavelet {spec}"))
}

/// Print a line to stdout, returning write errors (a closed pipe included)
/// instead of panicking.
pub fn emit(text: &str) -> Result<()> {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    writeln!(out, "{text}")?;
    out.flush()?;
    Ok(())
}
