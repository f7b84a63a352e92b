//! `awd experiment cosmology`: Omega_m from weak-lensing convergence maps
//! (paper §4.3, Table 2, Fig. D1, Fig. D2).
//!
//! Maps (simulated shifted-lognormal maps of ten cosmologies, or a user's
//! folder) -> a small residual CNN regressing Omega_m (flip/transpose
//! augmentation) -> its saliency maps -> a learned separable 2-D wavelet
//! (db5 start, lambda x gamma sweep with warm start) -> peak counting with the
//! wavelet's 3x3 sub-filters, the wavelet chosen by the validation RMSE ->
//! test RMSE against peak height, Laplace, Roberts cross, db5 and the CNN.

use anyhow::{bail, Context, Result};
use awd_core::data::lognormal::SimulatedMaps;
use awd_core::data::map_dir::read_map_dir;
use awd_core::distill::{log_space, sweep, Attribution, Geometry, Penalties, Problem, SweepPoint, SweepSpec};
use awd_core::dwt::len::max_useful_level;
use awd_core::interp::active_fraction;
use awd_core::io::{fingerprint_f64, fnv1a, write_atomic, write_json_atomic};
use awd_core::peaks::{rmse_bootstrap, PeakCountModel, PeakStatistic};
use awd_core::{Mode, Wavelet};
use awd_teachers::{input_gradients, Arch, GradMethod, TeacherConfig, TrainOptions};
use ndarray::{Array2, ArrayView2, Axis};

use super::cosmology_peaks::{evaluate, flat, subfilter_stat, Part, PeakEval, RangeRule, BINS, BOOTSTRAP, OMEGA_M};
use super::cosmology_plots::{plot_all, PlotInputs};
use super::{key_matches, per_thousand, reuse_or_train, saliency_sweep_settings, Timings};
use crate::args::ExperimentCosmologyArgs;
use crate::progress::Bar;

/// Filter length of db5 (the initial wavelet).
const TAPS: usize = 10;
/// Coefficients kept in an activation map, as a fraction of all.
pub const ACTIVATION_FRACTION: f64 = 0.02;
/// Magnitude (relative to the db5 RMS) above which a coefficient, or an
/// attribution, counts as active in the compression rate.
const ACTIVE: f64 = 1e-3;

/// Timed repeats of each prediction path (after one warm-up).
const TIMING_REPS: usize = 5;

/// Largest summed validity penalty of a selectable point: beyond it the
/// learned filter is too far from an orthogonal wavelet to be read as one.
const MAX_VALIDITY: f64 = 0.05;

fn rms(a: &Array2<f64>) -> f64 {
    (a.iter().map(|v| v * v).sum::<f64>() / a.len() as f64).sqrt()
}

/// The teacher's saliency on `x`, cached at `path` with a JSON beside it
/// naming the maps and weights it belongs to (a re-run reuses it only for
/// the same maps and the same teacher).
fn cached_saliency(
    teacher: &awd_teachers::Teacher,
    weights: &std::path::Path,
    x: ArrayView2<'_, f64>,
    path: &std::path::Path,
) -> Result<Array2<f64>> {
    let weights_bytes = std::fs::read(weights).with_context(|| format!("{}: cannot read", weights.display()))?;
    let key = serde_json::json!({
        "maps": format!("{}x{}-{}", x.nrows(), x.ncols(), fingerprint_f64(x.iter())),
        "teacher": format!("{:016x}", fnv1a(weights_bytes)),
    });
    let key_path = path.with_extension("json");
    if key_matches(&key_path, &key) {
        if let Ok(Ok(g)) = awd_core::io::read_npy_f64(path).map(|g| g.into_dimensionality::<ndarray::Ix2>()) {
            if g.dim() == x.dim() {
                eprintln!("awd: reusing the saliency in {}", path.display());
                return Ok(g);
            }
        }
    }
    let g = input_gradients(teacher, x, GradMethod::Saliency, 0)?;
    awd_core::io::write_npy(path, g.view().into_dyn())?;
    write_json_atomic(&key_path, &key)?;
    Ok(g)
}

/// Sizes and budgets of a run. `gammas_rel` are relative: the attribution
/// term at `gamma = rel * r` weighs as much as the coefficient term at
/// `lambda = rel`, `r` the ratio of the two L1 norms at db5 on the training
/// maps (a teacher's gradients can have any scale).
struct Scale {
    per_cosmology: usize,
    size: usize,
    teacher_epochs: usize,
    lambdas: Vec<f64>,
    gammas_rel: Vec<f64>,
    epochs: usize,
}

fn scale(quick: bool) -> Result<Scale> {
    Ok(if quick {
        Scale {
            per_cosmology: 40,
            size: 32,
            teacher_epochs: 2,
            lambdas: vec![0.0, 1e-2],
            gammas_rel: vec![0.0, 1e-2],
            epochs: 2,
        }
    } else {
        Scale {
            per_cosmology: 600,
            size: 64,
            teacher_epochs: 15,
            lambdas: [vec![0.0], log_space(1e-3, 1e-2, 3)?].concat(),
            gammas_rel: [vec![0.0], log_space(1e-3, 1.0, 4)?].concat(),
            epochs: 10,
        }
    })
}

/// Load or simulate the maps; describe where they came from.
fn load_maps(a: &ExperimentCosmologyArgs, sc: &Scale) -> Result<(SimulatedMaps, serde_json::Value, f64)> {
    if let Some(md) = &a.maps_dir {
        let maps = read_map_dir(md).with_context(|| format!("--maps-dir {}", md.display()))?;
        let source = serde_json::json!({ "maps_dir": md.display().to_string() });
        return Ok((maps, source, 0.0));
    }
    let table = crate::cmd::maps::cl_table(&a.sim)?;
    let spec = crate::cmd::maps::map_spec(&a.sim, sc.size)?;
    let per = a.maps_per_cosmology.unwrap_or(sc.per_cosmology);
    let maps = crate::cmd::maps::simulate(&table, spec, per, a.seed)?;
    let noise = spec.noise.pixel_std(spec.pixel_arcmin);
    let source = serde_json::json!({
        "simulated": spec, "maps_per_cosmology": per, "cosmologies": table.cosmologies.len(),
        "noise_pixel_std": noise, "cl_table": a.sim.cl_table.as_ref().map(|p| p.display().to_string()),
    });
    Ok((maps, source, noise))
}

/// Check what the rest of the run relies on.
fn check_maps(m: &SimulatedMaps, levels: usize, dir_hint: &str) -> Result<()> {
    let (_, h, w) = m.train.maps.dim();
    if m.train.params.ncols() <= OMEGA_M {
        bail!(
            "{dir_hint}: the parameter arrays have {} column(s); Omega_m is read from column {OMEGA_M} \
             (columns m_nu, Omega_m, 10^9 A_s)",
            m.train.params.ncols()
        );
    }
    let useful = max_useful_level(h.min(w), TAPS, Mode::Zero);
    if levels == 0 || levels > useful {
        bail!(
            "{dir_hint}: maps of {h}x{w} are too small for {levels} levels with db5 ({TAPS} taps): at most {useful} \
             fit; use larger maps or fewer --levels"
        );
    }
    if h < 8 || w < 8 {
        bail!("{dir_hint}: maps of {h}x{w} are too small; at least 8x8 is needed");
    }
    Ok(())
}

/// Run the experiment.
pub fn run(a: &ExperimentCosmologyArgs) -> Result<()> {
    let dir = &a.output_dir;
    std::fs::create_dir_all(dir).with_context(|| format!("{}: cannot create the output folder", dir.display()))?;
    let sc = scale(a.quick)?;
    let mut times = Timings::default();
    let (maps, source, noise_std) = times.stage("maps", || load_maps(a, &sc))?;
    let hint = a.maps_dir.as_ref().map_or("simulated maps".to_string(), |p| p.display().to_string());
    check_maps(&maps, a.levels, &hint)?;
    let (_, h, w) = maps.train.maps.dim();
    let train = Part::new(maps.train.maps.view(), maps.train.params.view());
    let val = Part::new(maps.val.maps.view(), maps.val.params.view());
    let test = Part::new(maps.test.maps.view(), maps.test.params.view());
    eprintln!(
        "awd: {} training, {} validation, {} test maps of {h}x{w}",
        maps.train.len(),
        maps.val.len(),
        maps.test.len()
    );

    // teacher: the small residual CNN on Omega_m, flips and transposes
    let x_train = flat(train.maps);
    let tpath = dir.join("teacher").join("cnn.safetensors");
    let teacher = times.stage("teacher", || {
        let mut config = TeacherConfig::new(Arch::Cnn, vec![h, w], 1);
        config.stem_stride = if h.min(w) >= 48 { 2 } else { 1 };
        let opts = TrainOptions {
            epochs: sc.teacher_epochs,
            batch_size: 32,
            lr: 0.003,
            val_fraction: 0.1,
            patience: 4,
            seed: a.seed,
            augment: h == w,
        };
        let y = train.params.column(OMEGA_M).insert_axis(Axis(1)).to_owned();
        reuse_or_train(&tpath, config, a.seed, x_train, y.view(), &opts)
    })?;
    let cnn_pred = teacher.predict(flat(test.maps))?.column(0).to_vec();
    let cnn = rmse_bootstrap(&cnn_pred, &test.omega(), BOOTSTRAP, a.seed);
    let (g_train, g_test) = times.stage("gradients", || {
        Ok((
            cached_saliency(&teacher, &tpath, x_train, &dir.join("teacher/saliency_train.npy"))?,
            cached_saliency(&teacher, &tpath, flat(test.maps), &dir.join("teacher/saliency_test.npy"))?,
        ))
    })?;

    // baselines
    let parts = [&train, &val, &test];
    let db5 = Wavelet::from_name("db5")?;
    let baselines = times.stage("baselines", || {
        Ok((
            evaluate(&PeakStatistic::Height, RangeRule::Validation, noise_std, parts, a.seed)?,
            evaluate(&PeakStatistic::Laplace, RangeRule::NoiseScaled, noise_std, parts, a.seed)?,
            evaluate(&PeakStatistic::Roberts, RangeRule::NoiseScaled, noise_std, parts, a.seed)?,
            evaluate(&subfilter_stat(&db5.rec_lo)?, RangeRule::Validation, noise_std, parts, a.seed)?,
        ))
    })?;
    let (height, laplace, roberts, db5_eval) = baselines;

    // distillation sweep
    let problem =
        Problem::new(x_train, Some(g_train.view()), Geometry::TwoD { rows: h, cols: w }, TAPS, Mode::Zero, a.levels)?;
    let at_db5 = problem.evaluate_all(
        &db5.rec_lo,
        &Penalties { lambda: 1.0, gamma: 1.0, attribution: Attribution::Saliency, ..Penalties::default() },
    );
    let ratio = if at_db5.l1_attributions > 0.0 { at_db5.l1_coefficients / at_db5.l1_attributions } else { 1.0 };
    let gammas: Vec<f64> = sc.gammas_rel.iter().map(|g| g * ratio).collect();
    let spec = SweepSpec {
        lambdas: sc.lambdas.clone(),
        gammas: gammas.clone(),
        base: saliency_sweep_settings(a.levels, sc.epochs, a.seed),
        initial_lowpass: db5.rec_lo.clone(),
        data_fingerprint: problem.fingerprint(),
        extra: serde_json::json!({ "experiment": "cosmology", "seed": a.seed }),
    };
    let fits = (sc.lambdas.len() * gammas.len()) as u64;
    let bar = Bar::new(fits * sc.epochs as u64, "epochs");
    bar.set_fits(fits);
    let points = times.stage("sweep", || Ok(sweep(&problem, &spec, &dir.join("sweep"), &bar)?))?;
    bar.finish();

    // selection by the validation RMSE of peak counting, among the points
    // that are still (nearly) valid wavelets
    let ones = awd_core::distill::ValidityWeights::default();
    let any_valid = points.iter().any(|p| p.validity.weighted(&ones) <= MAX_VALIDITY);
    if !any_valid {
        eprintln!("awd: warning: no grid point has validity penalties below {MAX_VALIDITY}; selecting among all");
    }
    let (grid, best) = times.stage("selection", || {
        let mut grid = Vec::new();
        let mut best: Option<(f64, usize, PeakEval)> = None;
        for (i, p) in points.iter().enumerate() {
            let e = evaluate(&subfilter_stat(&p.lowpass)?, RangeRule::Validation, noise_std, parts, a.seed)?;
            let penalty = p.validity.weighted(&ones);
            let eligible = penalty <= MAX_VALIDITY || !any_valid;
            grid.push(serde_json::json!({
                "lambda": p.lambda, "gamma": p.gamma, "val_rmse": e.val_rmse, "test_rmse": e.value,
                "validity": p.validity, "validity_total": penalty, "eligible": eligible, "file": format!("sweep/{}", p.file),
            }));
            if eligible && best.as_ref().is_none_or(|(b, _, _)| e.val_rmse < *b) {
                best = Some((e.val_rmse, i, e));
            }
        }
        Ok((grid, best.expect("a non-empty grid")))
    })?;
    let (_, best_i, awd) = best;
    let chosen: &SweepPoint = &points[best_i];

    // compression and activation maps on the test maps
    let test_problem = Problem::new(
        flat(test.maps),
        Some(g_test.view()),
        Geometry::TwoD { rows: h, cols: w },
        TAPS,
        Mode::Zero,
        a.levels,
    )?;
    let coeffs_attrs = |h: &[f64]| {
        let (c, a) = test_problem.coefficients_and_attributions(h, Attribution::Saliency);
        (c, a.expect("gradients given"))
    };
    let (c_db5, a_db5) = coeffs_attrs(&db5.rec_lo);
    let (c_awd, a_awd) = coeffs_attrs(&chosen.lowpass);
    let thresholds = (ACTIVE * rms(&c_db5), ACTIVE * rms(&a_db5));
    let comp_awd = active_fraction(c_awd.view(), a_awd.view(), thresholds);
    let comp_db5 = active_fraction(c_db5.view(), a_db5.view(), thresholds);

    // the fitted peak-counting models, as users apply them (`awd predict`)
    let awd_model = awd.model(Some(chosen.lowpass.clone()));
    let models = dir.join("models");
    awd_model.save(&models.join("awd.json"))?;
    db5_eval.model(Some(db5.rec_lo.clone())).save(&models.join("db5.json"))?;
    laplace.model(None).save(&models.join("laplace.json"))?;
    roberts.model(None).save(&models.join("roberts.json"))?;
    height.model(None).save(&models.join("peak_height.json"))?;

    // prediction time per 1,000 maps, the whole path (peaks, histograms,
    // chi^2 against every cosmology; the CNN's forward pass)
    let n_test = test.maps.dim().0;
    let t_awd = per_thousand(n_test, TIMING_REPS, || awd_model.predict(test.maps).map(|_| ()).map_err(Into::into))?;
    let t_cnn = per_thousand(n_test, TIMING_REPS, || teacher.predict(flat(test.maps)).map(|_| ()).map_err(Into::into))?;

    times.stage("plots", || {
        plot_all(
            dir,
            &PlotInputs {
                train: train.maps,
                train_params: train.params,
                test: test.maps,
                test_params: test.params,
                awd_attributions: a_awd.view(),
                levels: a.levels,
                awd_lowpass: &chosen.lowpass,
                evals: [
                    ("peak height", &height),
                    ("Laplace", &laplace),
                    ("Roberts cross", &roberts),
                    ("db5", &db5_eval),
                    ("AWD", &awd),
                ],
            },
        )
    })?;

    let value = |e: &PeakEval| serde_json::json!({ "value": e.value, "std": e.std, "val_rmse": e.val_rmse });
    let results = serde_json::json!({
        "experiment": "cosmology",
        "quick": a.quick,
        "maps": { "source": source, "train": maps.train.len(), "val": maps.val.len(), "test": maps.test.len(), "height": h, "width": w },
        "rmse_omega_m": {
            "awd": value(&awd), "roberts": value(&roberts), "laplace": value(&laplace),
            "db5": value(&db5_eval), "cnn": { "value": cnn.0, "std": cnn.1 }, "peak_height": value(&height),
        },
        "compression": { "awd": comp_awd, "db5": comp_db5 },
        "predict_seconds_per_1000": { "awd": t_awd, "cnn": t_cnn },
        "selected": { "lambda": chosen.lambda, "gamma": chosen.gamma, "lowpass": chosen.lowpass, "validity": chosen.validity, "file": format!("sweep/{}", chosen.file) },
        "bins": {
            "per_channel": BINS, "peak_height": height.binning, "laplace": laplace.binning, "roberts": roberts.binning,
            "db5": db5_eval.binning, "awd": awd.binning,
        },
        "grid": grid,
        "distillation": { "lambdas": sc.lambdas, "gammas": gammas, "gammas_relative": sc.gammas_rel, "l1_ratio_at_db5": ratio, "epochs": sc.epochs, "levels": a.levels, "mode": "zero", "init": "db5", "attribution": "saliency", "batch_size": 100, "lr": 0.001 },
        "teacher": { "arch": "cnn", "config": teacher.config, "epochs_max": sc.teacher_epochs, "augment": h == w },
        "bootstrap_resamples": BOOTSTRAP,
        "seconds": times.json(),
    });
    write_json_atomic(&dir.join("results.json"), &results)?;
    let report = report_text(
        a,
        &maps,
        &source,
        [&awd, &roberts, &laplace, &db5_eval, &height],
        cnn,
        (comp_awd, comp_db5),
        (t_awd, t_cnn),
        chosen,
    );
    let path = dir.join("report.md");
    write_atomic(&path, |wr| {
        use std::io::Write;
        wr.write_all(report.as_bytes()).map_err(|e| awd_core::io::IoError::Write { path: path.clone(), source: e })
    })?;
    crate::cmd::emit(&format!(
        "cosmology: RMSE(Omega_m) x 1e-2: AWD {:.3}, Roberts {:.3}, Laplace {:.3}, db5 {:.3}, CNN {:.3}, peak height {:.3}; \
         compression AWD {:.3} db5 {:.3}; wrote {}",
        100.0 * awd.value,
        100.0 * roberts.value,
        100.0 * laplace.value,
        100.0 * db5_eval.value,
        100.0 * cnn.0,
        100.0 * height.value,
        comp_awd,
        comp_db5,
        path.display()
    ))
}

#[allow(clippy::too_many_arguments)]
fn report_text(
    a: &ExperimentCosmologyArgs,
    maps: &SimulatedMaps,
    source: &serde_json::Value,
    evals: [&PeakEval; 5],
    cnn: (f64, f64),
    comp: (f64, f64),
    times: (f64, f64),
    chosen: &SweepPoint,
) -> String {
    let [awd, roberts, laplace, db5, height] = evals;
    let cell = |e: &PeakEval| format!("{:.3} ± {:.3}", 100.0 * e.value, 100.0 * e.std);
    let (_, h, w) = maps.train.maps.dim();
    let origin = match source.get("simulated") {
        Some(s) => format!(
            "Simulated shifted-lognormal convergence maps ({h}x{w} pixels of {} arcmin, shape noise sigma_e = {}, \
             n_gal = {} per arcmin², per-pixel noise {:.4}) for the ten cosmologies of Table D1. Lognormal maps reproduce \
             the power spectrum and roughly the one-point distribution, not the tails of real halo peaks: a test bed for \
             the pipeline, not a substitute for the paper's N-body maps, so the numbers differ from the paper's.",
            s["pixel_arcmin"], s["noise"]["sigma_e"], s["noise"]["n_gal"], source["noise_pixel_std"].as_f64().unwrap_or(0.0)
        ),
        None => format!("Maps from `{}` ({h}x{w}).", source["maps_dir"].as_str().unwrap_or("?")),
    };
    let mut rows = vec![
        ("AWD", cell(awd), format!("{:.3}", comp.0)),
        ("ResNet (CNN teacher)", format!("{:.3} ± {:.3}", 100.0 * cnn.0, 100.0 * cnn.1), "—".into()),
        ("Roberts cross", cell(roberts), "—".into()),
        ("Laplace", cell(laplace), "—".into()),
        ("db5", cell(db5), format!("{:.3}", comp.1)),
        ("Peak height", cell(height), "—".into()),
    ];
    let table: String = rows.drain(..).map(|(n, r, c)| format!("| {n} | {r} | {c} |\n")).collect();
    let ranking = {
        let mut v = [
            ("AWD", awd.value),
            ("ResNet", cnn.0),
            ("Roberts", roberts.value),
            ("Laplace", laplace.value),
            ("db5", db5.value),
        ];
        v.sort_by(|x, y| x.1.total_cmp(&y.1));
        v.iter().map(|(n, _)| *n).collect::<Vec<_>>().join(" < ")
    };
    format!(
        "# Cosmological parameter inference (paper §4.3, Table 2)\n\n{}{origin}\n\n\
         {} training, {} validation and {} test maps.\n\n\
         | Model | RMSE of Omega_m (x 1e-2) | Compression rate |\n|---|---|---|\n{table}\n\
         Measured order (lower RMSE first): {ranking}. The paper's: AWD < ResNet < Roberts < Laplace < db5.\n\n\
         Prediction time per 1,000 maps: AWD peak counting {:.3} s, CNN {:.3} s ({:.0}x).\n\n\
         RMSE ± its bootstrap standard deviation ({BOOTSTRAP} resamples of the test maps). Peak counting: peaks are \
         pixels above their 8 neighbours; per map a histogram ({BINS} bins per channel) of the statistic at the peaks; \
         per cosmology the mean and pseudo-inverse covariance over the training maps; a map is assigned the cosmology \
         of smallest chi². Laplace and Roberts bins span 0 to the 99.5 % quantile of their response at peaks of pure \
         shape noise (the paper's fixed bins, scaled to the noise; validation quantiles without known noise); peak \
         height, db5 and AWD bins span the 0.5-99.5 % quantiles of the validation maps. db5 and AWD use the 3x3 \
         windows of largest energy of their four 2-D filters (LL, LH, HL, HH), four histograms concatenated.\n\n\
         AWD: {} levels, zero mode, db5 start, saliency of the CNN, lambda x gamma grid with warm start (gamma \
         relative to the ratio of the coefficients' and attributions' L1 norms at db5, see results.json); selected \
         on the validation RMSE among the points whose summed validity penalties stay below {MAX_VALIDITY} (larger \
         gamma buys lower RMSE with filters that are no longer wavelets; the whole grid is in results.json): \
         lambda = {:.2e}, gamma = {:.2e}, validity penalties {:.2e}. Compression: fraction of test coefficients whose magnitude and \
         saliency both exceed 1e-3 of db5's RMS.\n\n\
         The fitted peak-counting models are in `models/` (`awd.json`, `db5.json`, `laplace.json`, `roberts.json`, \
         `peak_height.json`); `awd predict --model models/awd.json --x maps.npy` applies one to new maps.\n\n\
         Plots: `maps_per_cosmology.png` (a map of each cosmology), `figD1_peak_statistics.png` (mean histograms per \
         cosmology for each filter), `filters_2d.png` (the learned 2-D filters and their 3x3 sub-filters, db5's \
         beside), `figD2_activation_maps.png` (test maps beside the inverse transform of their coefficients of \
         largest attribution).\n",
        if a.quick { "**Quick run** (small maps, few of them, tiny grid): not the full setting.\n\n" } else { "" },
        maps.train.len(),
        maps.val.len(),
        maps.test.len(),
        times.0,
        times.1,
        times.1 / times.0,
        a.levels,
        chosen.lambda,
        chosen.gamma,
        chosen.validity.weighted(&awd_core::distill::ValidityWeights::default()),
    )
}

/// `awd predict` with a peak-counting model: maps `(n, H, W)` or one map
/// `(H, W)` in, the target parameter (Omega_m) out.
pub fn predict_maps(a: &crate::args::PredictArgs) -> Result<()> {
    let model = PeakCountModel::load(&a.model)?;
    let x = awd_core::io::read_npy_f64(&a.x)?;
    let x = match x.ndim() {
        2 => x.insert_axis(Axis(0)),
        3 => x,
        _ => bail!("{}: expected maps (n, H, W) or one map (H, W), got shape {:?}", a.x.display(), x.shape()),
    };
    let x = x.into_dimensionality::<ndarray::Ix3>()?;
    let y = model.predict(x.view()).with_context(|| format!("{}", a.x.display()))?;
    crate::cmd::predict::write_predictions(a, &y)
}
