//! `awd bench dwt`: median wall time of the public forward and inverse
//! transforms (allocation and input checks included, as a user calls them).

use std::time::Instant;

use anyhow::{bail, Result};
use awd::dwt::{Plan1d, Plan2d};
use ndarray::{Array2, Array3};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::wavelet_arg;
use crate::args::BenchDwtArgs;

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        0.5 * (v[n / 2 - 1] + v[n / 2])
    }
}

/// Time `f` once to warm up, then `repeat` times; return the median seconds.
fn time_median<T>(repeat: usize, mut f: impl FnMut() -> T) -> f64 {
    std::hint::black_box(f());
    let times = (0..repeat)
        .map(|_| {
            let t = Instant::now();
            std::hint::black_box(f());
            t.elapsed().as_secs_f64()
        })
        .collect();
    median(times)
}

/// Benchmark the multilevel transform and print JSON.
pub fn dwt(args: &BenchDwtArgs) -> Result<()> {
    if args.repeat == 0 {
        bail!("--repeat 0: give at least one repetition");
    }
    let wavelet = wavelet_arg(&args.wavelet)?;
    let mut rng = ChaCha8Rng::seed_from_u64(args.seed);
    let (shape, forward, inverse) = if args.two_d {
        let size = args.size.clone().unwrap_or_default();
        let (h, w) = (size[0], size[1]);
        let x = Array3::from_shape_simple_fn((1, h, w), || rng.random::<f64>() - 0.5);
        let plan = Plan2d::with_boundary_levels((h, w), &wavelet, args.mode, args.levels)?;
        let coeffs = plan.wavedec2(x.view())?;
        let fwd = time_median(args.repeat, || plan.wavedec2(x.view()).expect("checked input"));
        let inv = time_median(args.repeat, || plan.waverec2(&coeffs).expect("checked input"));
        (vec![h, w], fwd, inv)
    } else {
        let n = args.length.unwrap_or(0);
        if n == 0 || args.batch == 0 {
            bail!("--length and --batch must be at least 1");
        }
        let x = Array2::from_shape_simple_fn((args.batch, n), || rng.random::<f64>() - 0.5);
        let plan = Plan1d::with_boundary_levels(n, &wavelet, args.mode, args.levels)?;
        let coeffs = plan.wavedec(x.view())?;
        let fwd = time_median(args.repeat, || plan.wavedec(x.view()).expect("checked input"));
        let inv = time_median(args.repeat, || plan.waverec(&coeffs).expect("checked input"));
        (vec![args.batch, n], fwd, inv)
    };
    let out = serde_json::json!({
        "benchmark": if args.two_d { "wavedec2/waverec2" } else { "wavedec/waverec" },
        "wavelet": wavelet.name,
        "mode": args.mode.name(),
        "levels": args.levels,
        "shape": shape,
        "repeat": args.repeat,
        "threads": rayon::current_num_threads(),
        "forward_median_s": forward,
        "inverse_median_s": inverse,
    });
    super::emit(&serde_json::to_string_pretty(&out)?)?;
    Ok(())
}

/// Default signals of `awd bench fit`.
const BENCH_FIT_SIGNALS: usize = 50_000;
/// Default maps of `awd bench fit --2d`.
const BENCH_FIT_MAPS: usize = 4_096;

/// Time training epochs of the distillation on random data and gradients.
pub fn fit(args: &crate::args::BenchFitArgs) -> Result<()> {
    use awd::distill::{FitSettings, Geometry, Penalties, Problem, Silent};
    use rand_distr::{Distribution, StandardNormal};
    if args.epochs == 0 {
        bail!("--epochs 0: time at least one epoch");
    }
    let wavelet = wavelet_arg(&args.wavelet)?;
    let mut rng = ChaCha8Rng::seed_from_u64(args.seed);
    let mut normal = || -> f64 { StandardNormal.sample(&mut rng) };
    let (samples, width, geometry) = if args.two_d {
        let (rows, cols) = (args.size[0], args.size[1]);
        (args.samples.unwrap_or(BENCH_FIT_MAPS), rows * cols, Geometry::TwoD { rows, cols })
    } else {
        (args.samples.unwrap_or(BENCH_FIT_SIGNALS), args.length, Geometry::OneD { n: args.length })
    };
    if samples == 0 {
        bail!("--samples 0: give at least one sample");
    }
    let x = Array2::from_shape_simple_fn((samples, width), &mut normal);
    let g = Array2::from_shape_simple_fn((samples, width), &mut normal);
    let problem =
        Problem::new(x.view(), Some(g.view()), geometry.clone(), wavelet.filter_len(), args.mode, args.levels)?;
    let penalties =
        Penalties { lambda: args.lambda, gamma: args.gamma, attribution: args.attribution, ..Default::default() };
    let settings = FitSettings {
        levels: args.levels,
        mode: args.mode,
        penalties,
        epochs: 1,
        batch_size: args.batch_size,
        lr: 1e-3,
        seed: 0,
    };
    let mut h = wavelet.rec_lo.clone();
    let mut times = Vec::new();
    for _ in 0..args.epochs {
        let t = Instant::now();
        let out = awd::distill::fit(&problem, &h, &settings, &Silent)?;
        times.push(t.elapsed().as_secs_f64());
        h = out.lowpass;
    }
    // one evaluation of epoch 0 on the whole data is part of each timed fit: time it alone
    let t = Instant::now();
    std::hint::black_box(problem.evaluate_all(&h, &settings.penalties)?);
    let eval_all = t.elapsed().as_secs_f64();
    let per_epoch: Vec<f64> = times.iter().map(|t| t - eval_all).collect();
    let out = serde_json::json!({
        "benchmark": "fit epoch",
        "samples": samples,
        "shape": match geometry {
            Geometry::OneD { n } => vec![n],
            Geometry::TwoD { rows, cols } => vec![rows, cols],
        },
        "levels": args.levels,
        "wavelet": wavelet.name,
        "mode": args.mode.name(),
        "batch_size": args.batch_size,
        "lambda": args.lambda,
        "gamma": args.gamma,
        "attribution": args.attribution.name(),
        "threads": rayon::current_num_threads(),
        "epochs_timed": args.epochs,
        "seconds_per_epoch_median": median(per_epoch),
        "seconds_full_data_evaluation": eval_all,
    });
    super::emit(&serde_json::to_string_pretty(&out)?)?;
    Ok(())
}
