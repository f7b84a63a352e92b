//! `awd fit` and `awd sweep` under `mpirun` / `srun` (cargo feature `mpi`):
//! start MPI when a launcher started us, check that every rank runs the
//! same command on the same files, then call the library's `fit_across` /
//! `sweep_across`. Rank 0 writes the outputs and prints.

use std::hash::{Hash, Hasher};
use std::io::{Read, Seek, SeekFrom};
use std::path::Path;

use anyhow::Result;
use awd::cluster::Mpi;
use awd::distill::{Collective, Progress, Silent};
use awd::pipeline::{
    all_succeed, check_agreement, fit_across, sweep_across, sweep_data_parallel_across, sweep_groups_across, SweepFiles,
};

use super::fit::{check_writable_dir, config, load, parent, parse_grid, prepare};
use crate::args::{FitArgs, SweepArgs};
use crate::plot::plot_fit;
use crate::progress::Bar;

/// Environment variables that MPI launchers (Open MPI, MPICH / PMI, PMIx,
/// Slurm's srun with PMI) set in the processes they start.
const LAUNCHER_VARS: [&str; 4] = ["OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_RANK", "MPI_LOCALNRANKS"];

/// MPI's world when a launcher started more than one process.
pub fn world() -> Result<Option<Mpi>> {
    if !LAUNCHER_VARS.iter().any(|v| std::env::var_os(v).is_some()) {
        return Ok(None);
    }
    let mpi = Mpi::init()?;
    Ok((mpi.size() > 1).then_some(mpi))
}

/// A fingerprint of the command line and of each file (its size and its
/// first and last 64 KiB): ranks that disagree stop at once.
fn fingerprint(command: &str, files: &[Option<&Path>]) -> u64 {
    let mut h = std::hash::DefaultHasher::new();
    command.hash(&mut h);
    for f in files.iter().flatten() {
        let mut read = || -> std::io::Result<()> {
            let mut file = std::fs::File::open(f)?;
            let len = file.metadata()?.len();
            len.hash(&mut h);
            let mut buf = vec![0u8; 1 << 16];
            let n = file.read(&mut buf)?;
            buf[..n].hash(&mut h);
            file.seek(SeekFrom::Start(len.saturating_sub(1 << 16)))?;
            let n = file.read(&mut buf)?;
            buf[..n].hash(&mut h);
            Ok(())
        };
        if read().is_err() {
            "unreadable".hash(&mut h);
        }
    }
    h.finish()
}

/// `awd fit` across the ranks (data-parallel).
pub fn fit(args: &FitArgs, mpi: &Mpi) -> Result<()> {
    check_agreement(mpi, fingerprint(&format!("{args:?}"), &[Some(&args.data.x), args.data.grad.as_deref()]))?;
    let root = mpi.rank() == 0;
    all_succeed(
        mpi,
        (|| -> awd::Result<()> {
            if root {
                check_writable_dir(&parent(&args.output)).map_err(|e| awd::Error::Input(format!("{e:#}")))?;
            }
            Ok(())
        })(),
    )?;
    let cfg = config(&args.data, &args.train, args.lambda, args.gamma);
    let bar = Bar::new(cfg.epochs as u64, "epochs");
    let progress: &dyn Progress = if root { &bar } else { &Silent };
    let name = args.output.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_else(|| "awd".into());
    let lw = fit_across(&cfg, &args.data.x, args.data.grad.as_deref(), args.data.two_d, &name, mpi, progress)?;
    bar.finish();
    if !root {
        return Ok(());
    }
    if let Some(p) = &args.plot {
        plot_fit(p, &lw, &cfg.initial_lowpass()?)?;
    }
    lw.save(&args.output)?;
    let first = lw.history.first().expect("epoch 0").terms;
    let last = lw.history.last().expect("epoch 0").terms;
    let t = mpi.traffic();
    let batch = lw.settings["batch_size_used"].as_u64().unwrap_or(0) as usize;
    let sums = 3 + 2 * lw.lowpass.len();
    super::emit(&format!(
        "fit: {} epochs on {} processes (data-parallel), total loss {:.6e} -> {:.6e}, validity penalties {:.2e}; \
         wrote {}\nfit: {} allreduces (a step's: {} samples x {} sums = {} values), {:.1} µs each on rank 0 \
         (waiting for the slowest rank included)",
        cfg.epochs,
        mpi.size(),
        first.total,
        last.total,
        lw.validity.total(),
        args.output.display(),
        t.calls,
        batch,
        sums,
        batch * sums,
        1e6 * t.seconds / t.calls.max(1) as f64
    ))
}

/// `awd sweep` across the ranks (chains spread over them).
pub fn sweep(args: &SweepArgs, mpi: &Mpi) -> Result<()> {
    check_agreement(mpi, fingerprint(&format!("{args:?}"), &[Some(&args.data.x), args.data.grad.as_deref()]))?;
    if args.shard.is_some() || args.summarize {
        anyhow::bail!(
            "--shard and --summarize are for job arrays; under mpirun the ranks split the grid themselves (drop them)"
        );
    }
    let root = mpi.rank() == 0;
    let lambdas = parse_grid("--lambdas", &args.lambdas)?;
    let gammas = parse_grid("--gammas", &args.gammas)?;
    let cfg = config(&args.data, &args.train, lambdas[lambdas.len() - 1], gammas[gammas.len() - 1]);
    let writable = if root { check_writable_dir(&args.output_dir) } else { Ok(()) };
    all_succeed(mpi, writable.map_err(|e| awd::Error::Input(format!("{e:#}"))))?;
    let bar = Bar::new(0, "epochs");
    let progress: &dyn Progress = if root { &bar } else { &Silent };
    let (x, grad) = (&args.data.x, args.data.grad.as_deref());
    let (points, how) = if let Some(per_fit) = args.ranks_per_fit {
        let (group, shard) = all_succeed(mpi, mpi.groups(per_fit))?;
        let files = SweepFiles { x, grad, two_d: args.data.two_d, dir: &args.output_dir };
        let points = sweep_groups_across(&cfg, &files, &lambdas, &gammas, mpi, &group, shard, progress)?;
        let how = format!(
            "{} groups of {per_fit}: lambda chains spread over the groups, each fit data-parallel in its group",
            shard.count
        );
        (points, how)
    } else if args.data_parallel {
        let dir = &args.output_dir;
        let points = sweep_data_parallel_across(&cfg, x, grad, args.data.two_d, &lambdas, &gammas, dir, mpi, progress)?;
        (points, "every fit data-parallel".to_string())
    } else {
        let samples = all_succeed(mpi, load(&args.data).map_err(|e| awd::Error::Input(format!("{e:#}"))))?;
        let prepared = all_succeed(mpi, prepare(&cfg, &samples).map_err(|e| awd::Error::Input(format!("{e:#}"))))?;
        let points = sweep_across(&prepared, &lambdas, &gammas, &args.output_dir, mpi, progress)?;
        (points, "lambda chains spread over them".to_string())
    };
    bar.finish();
    match points {
        Some(points) => super::emit(&format!(
            "sweep: {} grid points ({} lambdas x {} gammas) on {} processes ({}); wrote {}",
            points.len(),
            lambdas.len(),
            gammas.len(),
            mpi.size(),
            how,
            args.output_dir.join("summary.md").display()
        )),
        None => Ok(()),
    }
}
