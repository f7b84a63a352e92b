//! `awd fit` and `awd sweep`: load the data, check every option before any
//! work, run the core's distillation with a progress bar, write the results.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use awd::distill::{
    check_settings, grid_values, initial_filter, log_space, sweep, FitSettings, Geometry, LearnedWavelet, Penalties,
    Problem, SweepSpec, ValidityWeights,
};
use awd::io::{read_npy_f64, shape_string};
use ndarray::{Array2, ArrayD};

use super::wavelet_arg;
use crate::args::{DataArgs, FitArgs, SweepArgs, TrainArgs};
use crate::plot::plot_fit;
use crate::progress::Bar;

/// Data loaded for a distillation: X and G as (samples, values per sample).
struct Loaded {
    x: Array2<f64>,
    g: Option<Array2<f64>>,
    geometry: Geometry,
    shape: Vec<usize>,
}

fn load_samples(path: &Path, two_d: bool) -> Result<(Array2<f64>, Geometry, Vec<usize>)> {
    let a: ArrayD<f64> = read_npy_f64(path)?;
    let shape = a.shape().to_vec();
    let (geometry, flat) = match (two_d, shape.len()) {
        (false, 2) => (Geometry::OneD { n: shape[1] }, shape[1]),
        (true, 3) => (Geometry::TwoD { rows: shape[1], cols: shape[2] }, shape[1] * shape[2]),
        (false, _) => bail!(
            "{}: expected signals (n, L), got shape {}; for images (n, H, W) pass --2d",
            path.display(),
            shape_string(&shape)
        ),
        (true, _) => {
            bail!("{}: expected images (n, H, W) with --2d, got shape {}", path.display(), shape_string(&shape))
        }
    };
    let n = shape[0];
    let x = a.into_shape_with_order((n, flat)).context("reshaping")?;
    Ok((x.as_standard_layout().into_owned(), geometry, shape))
}

fn load(data: &DataArgs) -> Result<Loaded> {
    let (x, geometry, shape) = load_samples(&data.x, data.two_d)?;
    let g = match &data.grad {
        Some(p) => {
            let (g, _, gshape) = load_samples(p, data.two_d)?;
            if gshape != shape {
                bail!(
                    "{}: gradients have shape {} but X ({}) has {}; G must be shaped like X",
                    p.display(),
                    shape_string(&gshape),
                    data.x.display(),
                    shape_string(&shape)
                );
            }
            Some(g)
        }
        None => None,
    };
    Ok(Loaded { x, g, geometry, shape })
}

fn problem<'a>(data: &DataArgs, l: &'a Loaded, filter_len: usize) -> Result<Problem<'a>> {
    Problem::new(l.x.view(), l.g.as_ref().map(|g| g.view()), l.geometry.clone(), filter_len, data.mode, data.levels)
        .map_err(|e| {
            let msg = e.to_string();
            let file =
                if msg.contains(" of G") { l.g.as_ref().and(data.grad.as_ref()).unwrap_or(&data.x) } else { &data.x };
            let hint = if msg.contains("levels or fewer") { " (--levels)" } else { "" };
            anyhow::anyhow!("{}: {msg}{hint}", file.display())
        })
}

fn settings(data: &DataArgs, t: &TrainArgs, lambda: f64, gamma: f64) -> FitSettings {
    FitSettings {
        levels: data.levels,
        mode: data.mode,
        penalties: Penalties {
            lambda,
            gamma,
            validity: ValidityWeights {
                lowpass_sum: t.weight_lowpass_sum,
                highpass_sum: t.weight_highpass_sum,
                unit_norm: t.weight_unit_norm,
                cmf: t.weight_cmf,
                orthogonality: t.weight_orthogonality,
            },
            attribution: data.attribution,
        },
        epochs: t.epochs,
        batch_size: t.batch_size,
        lr: t.lr,
        seed: t.seed,
    }
}

fn extra_settings(data: &DataArgs, l: &Loaded) -> serde_json::Value {
    serde_json::json!({
        "x": data.x.display().to_string(),
        "grad": data.grad.as_ref().map(|p| p.display().to_string()),
        "data_shape": l.shape,
        "two_d": data.two_d,
        "initial_wavelet": data.wavelet,
        "init_factor": data.init_factor,
        "noise_factor": data.noise_factor,
    })
}

/// Fail before any work when `path`'s folder cannot be written.
pub fn check_writable_dir(dir: &Path) -> Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("{}: cannot create the output folder", dir.display()))?;
    let probe = dir.join(format!(".awd-write-test-{}", std::process::id()));
    std::fs::write(&probe, b"").with_context(|| format!("{}: the output folder is not writable", dir.display()))?;
    let _ = std::fs::remove_file(probe);
    Ok(())
}

fn parent(path: &Path) -> PathBuf {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

fn warn_batch(t: &TrainArgs, n: usize) {
    if t.batch_size > n {
        eprintln!("awd: warning: --batch-size {} is larger than the {n} samples; using batches of {n}", t.batch_size);
    }
}

/// The initial filter from --wavelet, --init-factor, --noise-factor, --seed.
fn initial(data: &DataArgs, seed: u64) -> Result<Vec<f64>> {
    for (name, v) in [("--init-factor", data.init_factor), ("--noise-factor", data.noise_factor)] {
        if !v.is_finite() {
            bail!("{name} must be finite, got {v}");
        }
    }
    let w = wavelet_arg(&data.wavelet)?;
    Ok(initial_filter(&w.rec_lo, data.init_factor, data.noise_factor, seed))
}

/// The core's message plus the flag that fixes it.
pub fn flag_hint(e: awd::CoreError) -> anyhow::Error {
    let text = e.to_string();
    if text.contains("no teacher gradients") {
        anyhow::anyhow!("{text} (--grad G.npy, or --gamma 0)")
    } else if text.contains("levels or fewer") {
        anyhow::anyhow!("{text} (--levels)")
    } else {
        e.into()
    }
}

/// `awd fit`.
pub fn fit(args: &FitArgs) -> Result<()> {
    check_writable_dir(&parent(&args.output))?;
    if let Some(p) = &args.plot {
        check_writable_dir(&parent(p))?;
    }
    let h0 = initial(&args.data, args.train.seed)?;
    let loaded = load(&args.data)?;
    let problem = problem(&args.data, &loaded, h0.len())?;
    let s = settings(&args.data, &args.train, args.lambda, args.gamma);
    check_settings(&problem, &h0, &s).map_err(flag_hint)?;
    warn_batch(&args.train, problem.len());
    let bar = Bar::new(s.epochs as u64, "epochs");
    let outcome = awd::distill::fit(&problem, &h0, &s, &bar)?;
    bar.finish();
    let name = args.output.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_else(|| "awd".into());
    let lw = LearnedWavelet::new(&name, &outcome, &s, extra_settings(&args.data, &loaded));
    if let Some(p) = &args.plot {
        plot_fit(p, &lw, &h0)?;
    }
    lw.save(&args.output)?;
    let first = outcome.history.first().expect("epoch 0").terms;
    let last = outcome.history.last().expect("epoch 0").terms;
    let v = outcome.validity;
    super::emit(&format!(
        "fit: {} epochs, total loss {:.6e} -> {:.6e}, validity penalties {:.2e}; wrote {}",
        s.epochs,
        first.total,
        last.total,
        v.total(),
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
    check_writable_dir(&args.output_dir)?;
    let lambdas = parse_grid("--lambdas", &args.lambdas)?;
    let gammas = parse_grid("--gammas", &args.gammas)?;
    let h0 = initial(&args.data, args.train.seed)?;
    let loaded = load(&args.data)?;
    let problem = problem(&args.data, &loaded, h0.len())?;
    let base = settings(&args.data, &args.train, lambdas[lambdas.len() - 1], gammas[gammas.len() - 1]);
    check_settings(&problem, &h0, &base).map_err(flag_hint)?;
    warn_batch(&args.train, problem.len());
    let spec = SweepSpec {
        lambdas: lambdas.clone(),
        gammas: gammas.clone(),
        base,
        initial_lowpass: h0,
        data_fingerprint: problem.fingerprint(),
        extra: extra_settings(&args.data, &loaded),
    };
    let fits = (lambdas.len() * gammas.len()) as u64;
    let bar = Bar::new(fits * args.train.epochs as u64, "epochs");
    bar.set_fits(fits);
    let points = sweep(&problem, &spec, &args.output_dir, &bar)?;
    bar.finish();
    super::emit(&format!(
        "sweep: {} grid points ({} lambdas x {} gammas); wrote {}",
        points.len(),
        lambdas.len(),
        gammas.len(),
        args.output_dir.join("summary.md").display()
    ))
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
