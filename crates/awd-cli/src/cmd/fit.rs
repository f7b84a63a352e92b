//! `awd fit` and `awd sweep`: load the data, check every option before any
//! work, run the core's distillation with a progress bar, write the results.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use awd::distill::{grid_values, log_space, Shard, Silent, ValidityWeights, FAR_FROM_WAVELET};
use awd::pipeline::{FitConfig, PreparedFit, Samples};

use crate::args::{DataArgs, FitArgs, SweepArgs, TrainArgs};
use crate::plot::plot_fit;
use crate::progress::Bar;

/// The library's fit settings from the command line.
pub(super) fn config(data: &DataArgs, t: &TrainArgs, lambda: f64, gamma: f64) -> FitConfig {
    FitConfig {
        wavelet: data.wavelet.clone(),
        lowpass: None,
        init_factor: data.init_factor,
        noise_factor: data.noise_factor,
        levels: data.levels,
        mode: data.mode,
        attribution: data.attribution,
        lambda,
        gamma,
        epochs: t.epochs,
        batch_size: t.batch_size,
        lr: t.lr,
        seed: t.seed,
        validity: ValidityWeights {
            lowpass_sum: t.weight_lowpass_sum,
            highpass_sum: t.weight_highpass_sum,
            unit_norm: t.weight_unit_norm,
            cmf: t.weight_cmf,
            orthogonality: t.weight_orthogonality,
        },
    }
}

pub(super) fn load(data: &DataArgs) -> Result<Samples> {
    Ok(Samples::load(&data.x, data.grad.as_deref(), data.two_d)?)
}

/// The library's message plus the flag that fixes it.
fn flag_hint(e: awd::Error) -> anyhow::Error {
    let text = e.to_string();
    if text.contains("no teacher gradients") {
        anyhow::anyhow!("{text} (--grad G.npy, or --gamma 0)")
    } else if text.contains("levels or fewer") {
        anyhow::anyhow!("{text} (--levels)")
    } else {
        e.into()
    }
}

/// Check the options against the data, then warn about a batch larger than the data.
pub(super) fn prepare<'a>(cfg: &FitConfig, samples: &'a Samples) -> Result<PreparedFit<'a>> {
    let prepared = PreparedFit::new(cfg, samples).map_err(flag_hint)?;
    for w in prepared.warnings() {
        eprintln!("awd: warning: {w}");
    }
    Ok(prepared)
}

/// Fail before any work when `path`'s folder cannot be written.
pub fn check_writable_dir(dir: &Path) -> Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("{}: cannot create the output folder", dir.display()))?;
    let probe = dir.join(format!(".awd-write-test-{}", std::process::id()));
    std::fs::write(&probe, b"").with_context(|| format!("{}: the output folder is not writable", dir.display()))?;
    let _ = std::fs::remove_file(probe);
    Ok(())
}

pub(super) fn parent(path: &Path) -> PathBuf {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

/// `awd fit`.
pub fn fit(args: &FitArgs) -> Result<()> {
    check_writable_dir(&parent(&args.output))?;
    if let Some(p) = &args.plot {
        check_writable_dir(&parent(p))?;
    }
    let cfg = config(&args.data, &args.train, args.lambda, args.gamma);
    let samples = load(&args.data)?;
    let prepared = prepare(&cfg, &samples)?;
    let bar = Bar::new(cfg.epochs as u64, "epochs");
    let name = args.output.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_else(|| "awd".into());
    let lw = prepared.fit(&name, &bar)?;
    bar.finish();
    if let Some(p) = &args.plot {
        plot_fit(p, &lw, prepared.initial_lowpass())?;
    }
    lw.save(&args.output)?;
    if let Some(w) = PreparedFit::learned_warning(&lw.validity) {
        eprintln!("awd: warning: {w}");
    }
    let first = lw.history.first().expect("epoch 0").terms;
    let last = lw.history.last().expect("epoch 0").terms;
    super::emit(&format!(
        "fit: {} epochs, total loss {:.6e} -> {:.6e}, validity penalties {:.2e}; wrote {}",
        cfg.epochs,
        first.total,
        last.total,
        lw.validity.total(),
        args.output.display()
    ))
}

/// Parse a grid: comma-separated numbers and `log:LO:HI:COUNT` ranges.
pub fn parse_grid(flag: &str, text: &str) -> Result<Vec<f64>> {
    let mut values = Vec::new();
    for item in text.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        if let Some(range) = item.strip_prefix("log:") {
            let parts: Vec<&str> = range.split(':').collect();
            if parts.len() != 3 {
                bail!("{flag} {text}: '{item}' should be log:LO:HI:COUNT, e.g. log:1e-5:1e-4:5");
            }
            let lo: f64 = parts[0].parse().with_context(|| format!("{flag}: '{}' is not a number", parts[0]))?;
            let hi: f64 = parts[1].parse().with_context(|| format!("{flag}: '{}' is not a number", parts[1]))?;
            let count: usize = parts[2].parse().with_context(|| format!("{flag}: '{}' is not a count", parts[2]))?;
            values.extend(log_space(lo, hi, count).with_context(|| format!("{flag} {item}"))?);
        } else {
            values.push(item.parse::<f64>().with_context(|| format!("{flag}: '{item}' is not a number"))?);
        }
    }
    grid_values(flag.trim_start_matches('-'), &values).with_context(|| format!("{flag} {text}"))
}

/// `awd sweep`.
pub fn sweep_cmd(args: &SweepArgs) -> Result<()> {
    if let Some(k) = args.ranks_per_fit.filter(|&k| k != 1) {
        anyhow::bail!(
            "--ranks-per-fit {k}: this is one process; groups of ranks need {} processes or more under mpirun/srun \
             (awd built with --features mpi), or drop the option",
            k.max(2)
        );
    }
    check_writable_dir(&args.output_dir)?;
    let lambdas = parse_grid("--lambdas", &args.lambdas)?;
    let gammas = parse_grid("--gammas", &args.gammas)?;
    let cfg = config(&args.data, &args.train, lambdas[lambdas.len() - 1], gammas[gammas.len() - 1]);
    let samples = load(&args.data)?;
    let prepared = prepare(&cfg, &samples)?;
    let summary = args.output_dir.join("summary.md");
    if args.summarize {
        let points = prepared.summarize(&lambdas, &gammas, &args.output_dir, &Silent)?;
        return super::emit(&format!("sweep: {} grid points summarized in {}", points.len(), summary.display()));
    }
    let shard = args.shard.unwrap_or(Shard::ALL);
    let fits = (shard.chains(lambdas.len()).len() * gammas.len() + shard.borrowed_starts(lambdas.len())) as u64;
    let bar = Bar::new(fits * args.train.epochs as u64, "epochs");
    bar.set_fits(fits);
    let run = prepared.sweep_shard(&lambdas, &gammas, &args.output_dir, shard, &bar)?;
    bar.finish();
    let far = run.points.iter().filter(|p| p.validity.far_from_wavelet()).count();
    if far > 0 {
        eprintln!(
            "awd: warning: {far} of the {} points of this run ended far from a wavelet (validity penalty > \
             {FAR_FROM_WAVELET}); summary.md lists each point's penalty, and selection should skip them",
            run.points.len()
        );
    }
    let work = format!("{} points fitted, {} reused from {}", run.computed, run.reused, args.output_dir.display());
    match &run.complete {
        Some(points) => super::emit(&format!(
            "sweep: {} grid points ({} lambdas x {} gammas; {work}); {} {}",
            points.len(),
            lambdas.len(),
            gammas.len(),
            if run.wrote_summary { "wrote" } else { "summary already written by another run:" },
            summary.display()
        )),
        None => super::emit(&format!(
            "sweep: shard {shard} done ({work}); other shards still running or to run, the last one (or \
             `awd sweep ... --summarize`) writes {}",
            summary.display()
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::parse_grid;

    #[test]
    fn grids_parse_lists_and_log_ranges() {
        assert_eq!(parse_grid("--gammas", "0, 1, 0.5").unwrap(), vec![0.0, 0.5, 1.0]);
        let g = parse_grid("--gammas", "0,log:1e-5:50:20").unwrap();
        assert_eq!(g.len(), 21);
        assert!((g[1] - 1e-5).abs() < 1e-18 && (g[20] - 50.0).abs() < 1e-12);
        assert!(parse_grid("--lambdas", "-1").is_err());
        assert!(parse_grid("--lambdas", "log:1:2").is_err());
        assert!(parse_grid("--lambdas", "abc").is_err());
    }
}
