//! `awd bench dwt|fit|predict`: median wall time of the public forward and
//! inverse transforms, of training epochs, and of a saved model's and its
//! teacher's predictions (allocation and input checks included, as a user
//! calls them).

use std::time::Instant;

use anyhow::{bail, Context, Result};
use awd::dwt::{Plan1d, Plan2d};
use awd::io::read_npy_f64;
use awd::pipeline::ensemble_predict;
use awd::SavedModel;
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

/// Median seconds of `forward()` and of `inverse` on its result, `repeat`
/// times each (the first forward also checks the input).
fn time_both<C, R, E: std::error::Error + Send + Sync + 'static>(
    repeat: usize,
    forward: impl Fn() -> std::result::Result<C, E>,
    inverse: impl Fn(&C) -> std::result::Result<R, E>,
) -> Result<(f64, f64)> {
    let coeffs = forward()?;
    let fwd = time_median(repeat, || forward().expect("checked input"));
    Ok((fwd, time_median(repeat, || inverse(&coeffs).expect("checked input"))))
}

/// Benchmark the multilevel transform and print JSON: the median times, and
/// what bounds them on this machine (a copy of the same bytes, the
/// multiply-adds at the measured peak rate).
pub fn dwt(args: &BenchDwtArgs) -> Result<()> {
    if args.repeat == 0 {
        bail!("--repeat 0: give at least one repetition");
    }
    let wavelet = wavelet_arg(&args.wavelet)?;
    let mut rng = ChaCha8Rng::seed_from_u64(args.seed);
    let f = wavelet.filter_len();
    let value_bytes = if args.float32 { 4 } else { 8 };
    let (shape, forward, inverse, sizes, madds) = if args.two_d {
        let size = args.size.clone().unwrap_or_default();
        let (h, w) = (size[0], size[1]);
        let x = Array3::from_shape_simple_fn((1, h, w), || rng.random::<f64>() - 0.5);
        let plan = Plan2d::with_boundary_levels((h, w), &wavelet, args.mode, args.levels)?;
        let (fwd, inv) = if args.float32 {
            let x = x.mapv(|v| v as f32);
            time_both(args.repeat, || plan.wavedec2_f32(x.view()), |c| plan.waverec2_f32(c.view()))?
        } else {
            time_both(args.repeat, || plan.wavedec2(x.view()), |c| plan.waverec2(c))?
        };
        let (rh, rw) = plan.recon_shape();
        (vec![h, w], fwd, inv, (h * w, plan.total_len(), rh * rw), multiply_adds_2d(&plan, f))
    } else {
        let n = args.length.unwrap_or(0);
        if n == 0 || args.batch == 0 {
            bail!("--length and --batch must be at least 1");
        }
        let x = Array2::from_shape_simple_fn((args.batch, n), || rng.random::<f64>() - 0.5);
        let plan = Plan1d::with_boundary_levels(n, &wavelet, args.mode, args.levels)?;
        let (fwd, inv) = if args.float32 {
            let x = x.mapv(|v| v as f32);
            time_both(args.repeat, || plan.wavedec_f32(x.view()), |c| plan.waverec_f32(c.view()))?
        } else {
            time_both(args.repeat, || plan.wavedec(x.view()), |c| plan.waverec(c))?
        };
        let (mf, mi) = multiply_adds_1d(&plan, f);
        let b = args.batch;
        (vec![b, n], fwd, inv, (b * n, b * plan.total_len(), b * plan.recon_len()), (b * mf, b * mi))
    };
    let (n_in, n_coeffs, n_out) = sizes;
    let (copy_forward, copy_inverse) = if args.float32 {
        (copy_median::<f32>(n_in, n_coeffs, args.repeat), copy_median::<f32>(n_coeffs, n_out, args.repeat))
    } else {
        (copy_median::<f64>(n_in, n_coeffs, args.repeat), copy_median::<f64>(n_coeffs, n_out, args.repeat))
    };
    let peak = peak_multiply_adds(args.float32);
    let limit = |copy: f64, m: usize| copy.max(m as f64 / peak);
    let out = serde_json::json!({
        "benchmark": if args.two_d { "wavedec2/waverec2" } else { "wavedec/waverec" },
        "wavelet": wavelet.name,
        "mode": args.mode.name(),
        "levels": args.levels,
        "shape": shape,
        "dtype": if args.float32 { "float32" } else { "float64" },
        "repeat": args.repeat,
        "threads": rayon::current_num_threads(),
        "kernels": awd::dwt::kernel_build().name(),
        "forward_median_s": forward,
        "inverse_median_s": inverse,
        "forward_bytes_in_out": (n_in + n_coeffs) * value_bytes,
        "inverse_bytes_in_out": (n_coeffs + n_out) * value_bytes,
        "forward_copy_s": copy_forward,
        "inverse_copy_s": copy_inverse,
        "forward_multiply_adds": madds.0,
        "inverse_multiply_adds": madds.1,
        "peak_multiply_adds_per_s": peak,
        "forward_limit_s": limit(copy_forward, madds.0),
        "inverse_limit_s": limit(copy_inverse, madds.1),
    });
    super::emit(&serde_json::to_string_pretty(&out)?)?;
    Ok(())
}

/// Multiply-adds of one signal's transforms (direct convolution, as the
/// kernels compute it): every coefficient of a level costs `f`, forward;
/// every output sample of a level costs `f`, inverse.
fn multiply_adds_1d(plan: &Plan1d, f: usize) -> (usize, usize) {
    let lens = &plan.coeff_lens()[1..];
    let forward = lens.iter().map(|&l| 2 * l * f).sum();
    let inverse = lens.iter().map(|&l| awd::dwt::idwt_output_len(l, f, plan.mode()).unwrap_or(0) * f).sum();
    (forward, inverse)
}

/// Multiply-adds of one image's separable transforms: per level, axis 0
/// then axis 1 forward; axis 1 then axis 0 inverse.
fn multiply_adds_2d(plan: &Plan2d, f: usize) -> (usize, usize) {
    let (mut forward, mut inverse) = (0, 0);
    let mut input = plan.image_shape();
    // shapes: [cA_J, level J, ..., level 1]; level 1 is the finest
    for &(h2, w2) in plan.shapes()[1..].iter().rev() {
        forward += (2 * h2 * input.1 + 4 * h2 * w2) * f;
        let up = |l: usize| awd::dwt::idwt_output_len(l, f, plan.mode()).unwrap_or(0);
        let (ho, wo) = (up(h2), up(w2));
        inverse += (2 * h2 * wo + ho * wo) * f;
        input = (h2, w2);
    }
    (forward, inverse)
}

/// Median seconds to read `n_in` values and write `n_out` fresh ones (the
/// input repeated), on all threads: a transform that did no arithmetic.
fn copy_median<T: Copy + Send + Sync + Default>(n_in: usize, n_out: usize, repeat: usize) -> f64 {
    use rayon::prelude::*;
    let input = vec![T::default(); n_in.max(1)];
    let chunk = COPY_CHUNK.min(input.len());
    time_median(repeat, || {
        let mut out: Vec<T> = Vec::with_capacity(n_out);
        out.spare_capacity_mut().par_chunks_mut(chunk).enumerate().for_each(|(i, o)| {
            let (mut from, mut done) = ((i * chunk) % input.len(), 0);
            while done < o.len() {
                let take = (o.len() - done).min(input.len() - from);
                for (d, &v) in o[done..done + take].iter_mut().zip(&input[from..from + take]) {
                    d.write(v);
                }
                (done, from) = (done + take, 0);
            }
        });
        // SAFETY: every value was written above.
        unsafe { out.set_len(n_out) };
        out
    })
}

/// Values per task of the copy benchmark.
const COPY_CHUNK: usize = 1 << 14;
/// Independent accumulators of the peak-rate loop (enough to hide the
/// multiply-add latency on two vector units).
const PEAK_CHAINS: usize = 12;
/// Loop trips of the peak-rate loop per thread.
const PEAK_TRIPS: usize = 4_000_000;

/// The machine's peak multiply-add rate (all threads) in f64 or f32
/// lanes, measured: the best of three runs of `PEAK_CHAINS` independent
/// chains of fused multiply-adds per thread, in the widest registers the
/// kernels' build uses (512-bit in the AVX-512 build, else 256-bit).
/// Without AVX2 it reports the scalar rate of the portable kernels' build.
fn peak_multiply_adds(float32: bool) -> f64 {
    let wide = awd::dwt::kernel_build() == awd::dwt::KernelBuild::Avx512;
    let lanes = match (float32, wide) {
        (false, false) => 4,
        (true, false) | (false, true) => 8,
        (true, true) => 16,
    };
    (0..3)
        .map(|_| {
            let t = Instant::now();
            std::hint::black_box(rayon::broadcast(|_| peak_loop(float32)));
            let vectors = (PEAK_CHAINS * PEAK_TRIPS * rayon::current_num_threads()) as f64;
            let per_vector = if awd::dwt::has_avx2() { lanes as f64 } else { 1.0 };
            vectors * per_vector / t.elapsed().as_secs_f64()
        })
        .fold(0.0, f64::max)
}

/// [`peak_multiply_adds`]' loop on one thread.
fn peak_loop(float32: bool) -> f64 {
    #[cfg(target_arch = "x86_64")]
    match awd::dwt::kernel_build() {
        // SAFETY: the build is at most what the CPU supports (checked at run time).
        awd::dwt::KernelBuild::Avx512 => return unsafe { peak_loop_avx512(float32) },
        awd::dwt::KernelBuild::Avx2 => return unsafe { peak_loop_avx2(float32) },
        awd::dwt::KernelBuild::Portable => {}
    }
    let _ = float32;
    let (m, a) = std::hint::black_box((0.999_999_9f64, 1e-7f64));
    let mut acc = [std::hint::black_box(1.0f64); PEAK_CHAINS];
    for _ in 0..PEAK_TRIPS {
        for v in acc.iter_mut() {
            *v = *v * m + a;
        }
    }
    acc.iter().sum()
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn peak_loop_avx2(float32: bool) -> f64 {
    use std::arch::x86_64::*;
    let (m, a) = std::hint::black_box((0.999_999_9f64, 1e-7f64));
    if float32 {
        let (m, a) = (_mm256_set1_ps(m as f32), _mm256_set1_ps(a as f32));
        let mut acc = [_mm256_set1_ps(std::hint::black_box(1.0)); PEAK_CHAINS];
        for _ in 0..PEAK_TRIPS {
            for v in acc.iter_mut() {
                *v = _mm256_fmadd_ps(*v, m, a);
            }
        }
        let mut out = [0.0f32; 8];
        _mm256_storeu_ps(out.as_mut_ptr(), acc.iter().fold(_mm256_setzero_ps(), |s, &v| _mm256_add_ps(s, v)));
        return out.iter().map(|&v| v as f64).sum();
    }
    let (m, a) = (_mm256_set1_pd(m), _mm256_set1_pd(a));
    let mut acc = [_mm256_set1_pd(std::hint::black_box(1.0)); PEAK_CHAINS];
    for _ in 0..PEAK_TRIPS {
        for v in acc.iter_mut() {
            *v = _mm256_fmadd_pd(*v, m, a);
        }
    }
    let mut out = [0.0f64; 4];
    _mm256_storeu_pd(out.as_mut_ptr(), acc.iter().fold(_mm256_setzero_pd(), |s, &v| _mm256_add_pd(s, v)));
    out.iter().sum()
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,fma")]
unsafe fn peak_loop_avx512(float32: bool) -> f64 {
    use std::arch::x86_64::*;
    let (m, a) = std::hint::black_box((0.999_999_9f64, 1e-7f64));
    if float32 {
        let (m, a) = (_mm512_set1_ps(m as f32), _mm512_set1_ps(a as f32));
        let mut acc = [_mm512_set1_ps(std::hint::black_box(1.0)); PEAK_CHAINS];
        for _ in 0..PEAK_TRIPS {
            for v in acc.iter_mut() {
                *v = _mm512_fmadd_ps(*v, m, a);
            }
        }
        return _mm512_reduce_add_ps(acc.iter().fold(_mm512_setzero_ps(), |s, &v| _mm512_add_ps(s, v))) as f64;
    }
    let (m, a) = (_mm512_set1_pd(m), _mm512_set1_pd(a));
    let mut acc = [_mm512_set1_pd(std::hint::black_box(1.0)); PEAK_CHAINS];
    for _ in 0..PEAK_TRIPS {
        for v in acc.iter_mut() {
            *v = _mm512_fmadd_pd(*v, m, a);
        }
    }
    _mm512_reduce_add_pd(acc.iter().fold(_mm512_setzero_pd(), |s, &v| _mm512_add_pd(s, v)))
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

/// Time a saved model's predictions on `--x`, and its teacher's (one network,
/// or the mean of an ensemble's) on the same inputs with `--teacher`; print JSON with seconds per 1,000 inputs (the
/// median of `--repeat` timed calls after one untimed call) and the ratio.
pub fn predict(args: &crate::args::BenchPredictArgs) -> Result<()> {
    if args.repeat == 0 {
        bail!("--repeat 0: give at least one repetition");
    }
    let model = SavedModel::load(&args.model)?;
    let x = read_npy_f64(&args.x)?;
    let n = x.shape().first().copied().unwrap_or(0);
    if n == 0 {
        bail!("{}: no inputs to time (shape {:?}); give at least one row", args.x.display(), x.shape());
    }
    model.predict(x.view()).with_context(|| format!("{}", args.x.display()))?;
    let per_1000 = |s: f64| s / n as f64 * 1000.0;
    let model_s = per_1000(time_median(args.repeat, || model.predict(x.view()).expect("checked input")));
    let mut out = serde_json::json!({
        "benchmark": "predict",
        "model": args.model.display().to_string(),
        "inputs": x.shape(),
        "repeat": args.repeat,
        "threads": rayon::current_num_threads(),
        "model_seconds_per_1000": model_s,
    });
    if !args.teacher.is_empty() {
        let members = args.teacher.iter().map(|p| super::teacher::load_teacher(p)).collect::<Result<Vec<_>>>()?;
        let files: Vec<String> = args.teacher.iter().map(|p| p.display().to_string()).collect();
        let name = args.x.display().to_string();
        let ensemble = || ensemble_predict(&members, &files, &name, x.view());
        ensemble()?;
        let teacher_s = per_1000(time_median(args.repeat, || ensemble().expect("checked input")));
        out["teacher"] = serde_json::json!(files);
        out["teacher_seconds_per_1000"] = serde_json::json!(teacher_s);
        out["teacher_over_model"] = serde_json::json!(teacher_s / model_s);
    }
    super::emit(&serde_json::to_string_pretty(&out)?)?;
    Ok(())
}
