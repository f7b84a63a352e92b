//! The library pipeline end to end: `distill` on 1-D signals and 2-D maps,
//! saved models, the progress hook's stop, and bad input.

use std::sync::atomic::{AtomicUsize, Ordering};

use awd::distill::{EpochRecord, Flow, Progress, Silent};
use awd::ndarray::{s, Array1, Array2, Array3};
use awd::peaks::Estimator;
use awd::pipeline::{distill, Data, DistillConfig, GammaScale, ModelSpec};
use awd::SavedModel;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// Signals of `len` samples holding a bump of amplitude `a` at a random
/// place plus noise; the target is `a`; G is the bump (the input gradient
/// of a matched-filter teacher at the bump). Groups: 8 "cells", each with
/// its own amplitude offset.
fn bumps(n: usize, len: usize, seed: u64) -> (Array2<f64>, Array1<f64>, Array2<f64>, Vec<i64>) {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let (mut x, mut g) = (Array2::zeros((n, len)), Array2::zeros((n, len)));
    let mut y = Array1::zeros(n);
    let groups: Vec<i64> = (0..n).map(|i| (i % 8) as i64).collect();
    for i in 0..n {
        let a: f64 = rng.random_range(0.5..2.0) + 0.05 * groups[i] as f64;
        let c = rng.random_range(8..len - 8) as f64;
        for t in 0..len {
            let b = (-((t as f64 - c) / 2.5).powi(2)).exp();
            x[[i, t]] = a * b + 0.05 * (rng.random::<f64>() - 0.5);
            g[[i, t]] = b;
        }
        y[i] = a;
    }
    (x, y, g, groups)
}

fn r2(p: &[f64], y: &[f64]) -> f64 {
    let m = y.iter().sum::<f64>() / y.len() as f64;
    1.0 - p.iter().zip(y).map(|(a, b)| (a - b).powi(2)).sum::<f64>() / y.iter().map(|b| (b - m).powi(2)).sum::<f64>()
}

/// `cfg` with its sweeps kept in `dir`.
fn in_dir(cfg: &DistillConfig, dir: &std::path::Path) -> DistillConfig {
    DistillConfig { work_dir: Some(dir.to_path_buf()), ..cfg.clone() }
}

fn quick_1d() -> DistillConfig {
    DistillConfig { levels: 3, epochs: 2, bootstrap: 200, ..DistillConfig::default() }
}

#[test]
fn distill_1d_beats_a_constant_and_the_saved_model_reproduces_the_test() {
    let (x, y, g, groups) = bumps(400, 48, 1);
    let (xt, yt, gt, _) = bumps(200, 48, 2);
    let data = Data::new(x.view().into_dyn(), y.view().into_dyn(), Some(g.view().into_dyn()), Some(&groups), false)
        .unwrap()
        .with_test(xt.view().into_dyn(), yt.view().into_dyn(), Some(gt.view().into_dyn()), None)
        .unwrap();
    let work = tempfile::tempdir().unwrap();
    let out = distill(&in_dir(&quick_1d(), work.path()), &data, &Silent).unwrap();
    let r = &out.results;
    // the grid scaled to the data: 3 lambdas x 5 gammas, every point scored
    assert_eq!(r.grid.len(), 15);
    assert!(r.grid.iter().all(|g| g.cv_score.is_finite()));
    assert!(r.cv.grouped);
    assert_eq!(r.cv.folds, 5);
    // the selection is the grid's best cross-validated score
    let best = r.grid.iter().map(|g| g.cv_score).fold(f64::NEG_INFINITY, f64::max);
    assert_eq!(r.selected.cv_score, best);
    // against the trivial baseline: the training mean as the prediction
    let (p_awd, p_base) = out.test_predictions.clone().unwrap();
    let constant = vec![y.mean().unwrap(); yt.len()];
    let (awd, base, flat) = (
        r2(&p_awd, yt.as_slice().unwrap()),
        r2(&p_base, yt.as_slice().unwrap()),
        r2(&constant, yt.as_slice().unwrap()),
    );
    assert!(awd > flat + 0.5, "AWD test R^2 {awd} vs constant {flat}");
    assert!(base > flat + 0.5, "baseline test R^2 {base} vs constant {flat}");
    assert_eq!(r.test.as_ref().unwrap().awd.value, awd);
    // the paired difference of R^2 brackets the difference of the two scores
    let d = r.test.as_ref().unwrap().awd_minus_baseline;
    assert!(d.lo < awd - base && awd - base < d.hi && d.lo < d.hi, "{d:?} vs {}", awd - base);
    // the saved model, loaded back, gives the same predictions bit for bit
    out.save(work.path()).unwrap();
    let m = SavedModel::load(&work.path().join("models/awd.json")).unwrap();
    assert_eq!(m.predict(xt.view().into_dyn()).unwrap().to_vec(), p_awd);
    // and it is a wavelet file too
    assert!(awd::Wavelet::resolve(work.path().join("models/awd.json").to_str().unwrap()).is_ok());
    // a re-run resumes the sweep and gives the same selection and numbers
    let again = distill(&in_dir(&quick_1d(), work.path()), &data, &Silent).unwrap();
    assert_eq!(again.results.selected, r.selected);
    assert_eq!(again.test_predictions, out.test_predictions);
}

#[test]
fn any_memory_layout_gives_the_same_result() {
    let (x, y, g, _) = bumps(120, 32, 3);
    let cfg = DistillConfig {
        levels: 2,
        epochs: 2,
        folds: 3,
        gammas: Some(vec![0.0, 0.1]),
        lambdas: Some(vec![0.0]),
        ..quick_1d()
    };
    let row = Data::new(x.view().into_dyn(), y.view().into_dyn(), Some(g.view().into_dyn()), None, false).unwrap();
    // column-major copies (what NumPy's x.T.copy().T gives) and a strided view
    let xf = x.t().as_standard_layout().into_owned();
    let gf = g.t().as_standard_layout().into_owned();
    let col = Data::new(xf.t().into_dyn(), y.view().into_dyn(), Some(gf.t().into_dyn()), None, false).unwrap();
    let (w1, w2) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let a = distill(&in_dir(&cfg, w1.path()), &row, &Silent).unwrap();
    let b = distill(&in_dir(&cfg, w2.path()), &col, &Silent).unwrap();
    assert_eq!(a.model.lowpass(), b.model.lowpass());
    assert_eq!(a.results.cv, b.results.cv);
    // the core accepts a column-major X directly (no copy made by the caller)
    let p = awd::distill::Problem::new(
        xf.t(),
        Some(gf.t()),
        awd::distill::Geometry::OneD { n: 32 },
        10,
        awd::Mode::Zero,
        2,
    )
    .unwrap();
    let q = awd::distill::Problem::new(
        x.view(),
        Some(g.view()),
        awd::distill::Geometry::OneD { n: 32 },
        10,
        awd::Mode::Zero,
        2,
    )
    .unwrap();
    let h = awd::Wavelet::from_name("db5").unwrap().rec_lo;
    let pen = awd::distill::Penalties { lambda: 0.1, gamma: 0.1, ..Default::default() };
    assert_eq!(p.evaluate(&h, &pen, &[3, 7, 11], true).unwrap(), q.evaluate(&h, &pen, &[3, 7, 11], true).unwrap());
    // a filter of another length is an error, not a panic
    assert!(p.evaluate(&h[..8], &pen, &[0], true).is_err());
    assert!(p.evaluate(&h, &pen, &[500], true).is_err());
}

/// Stops the run after `limit` epochs.
struct StopAfter {
    limit: usize,
    seen: AtomicUsize,
}

impl Progress for StopAfter {
    fn epoch_done(&self, record: &EpochRecord) -> Flow {
        assert!(record.terms.total.is_finite());
        if self.seen.fetch_add(1, Ordering::SeqCst) + 1 >= self.limit {
            Flow::Stop
        } else {
            Flow::Continue
        }
    }
}

#[test]
fn the_progress_hook_sees_losses_and_stops_the_run_cleanly() {
    let (x, y, g, _) = bumps(100, 32, 4);
    let data = Data::new(x.view().into_dyn(), y.view().into_dyn(), Some(g.view().into_dyn()), None, false).unwrap();
    let cfg = DistillConfig { levels: 2, epochs: 3, ..quick_1d() };
    let work = tempfile::tempdir().unwrap();
    let stop = StopAfter { limit: 4, seen: AtomicUsize::new(0) };
    let e = distill(&in_dir(&cfg, work.path()), &data, &stop).unwrap_err();
    assert!(e.is_stopped(), "{e}");
    assert!(e.to_string().contains("stopped at epoch 1"), "{e}");
    // the first point (3 epochs) finished and is on disk; the stopped one is not
    let sweep = work.path().join("sweeps/seed0");
    assert!(sweep.join("point_l000_g000.json").exists());
    assert!(!sweep.join("point_l001_g000.json").exists());
    // resuming without a stop finishes, reusing the finished point
    distill(&in_dir(&cfg, work.path()), &data, &Silent).unwrap();
}

/// Maps of two classes: white noise of standard deviation 1 or 2, the class
/// parameter 0.25 or 0.35; groups: 6 "simulations".
fn noise_maps(n: usize, size: usize, seed: u64) -> (Array3<f64>, Array1<f64>, Vec<i64>) {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let maps = Array3::from_shape_fn((n, size, size), |(i, _, _)| {
        (if i % 2 == 0 { 1.0 } else { 2.0 }) * (rng.random::<f64>() - 0.5)
    });
    let y = Array1::from_shape_fn(n, |i| if i % 2 == 0 { 0.25 } else { 0.35 });
    let groups = (0..n).map(|i| (i / 2 % 6) as i64).collect();
    (maps, y, groups)
}

/// A small 2-D run: one level, one epoch, 1 x 2 grid, peak counting.
fn quick_peaks(bins: Vec<usize>, estimator: Estimator) -> DistillConfig {
    DistillConfig {
        levels: 1,
        epochs: 1,
        bootstrap: 100,
        lambdas: Some(vec![0.0]),
        gammas: Some(vec![0.0, 0.01]),
        model: ModelSpec::Peaks { bins, target: 0, estimator },
        ..DistillConfig::maps()
    }
}

#[test]
fn distill_2d_peak_counting_beats_a_constant_with_either_estimator() {
    let (m, y, groups) = noise_maps(120, 16, 5);
    let (mt, yt, _) = noise_maps(60, 16, 6);
    let g = m.mapv(|v| 0.1 * v);
    let data = Data::new(m.view().into_dyn(), y.view().into_dyn(), Some(g.view().into_dyn()), Some(&groups), true)
        .unwrap()
        .with_test(mt.view().into_dyn(), yt.view().into_dyn(), None, None)
        .unwrap();
    for estimator in [Estimator::NearestCosmology, Estimator::PosteriorMean] {
        let work = tempfile::tempdir().unwrap();
        let out = distill(&in_dir(&quick_peaks(vec![4, 6], estimator), work.path()), &data, &Silent).unwrap();
        let t = out.results.test.clone().unwrap();
        let rmse = t.awd.value;
        let constant = 0.05; // predicting 0.30 for every map
        assert!(rmse < 0.5 * constant, "{estimator:?}: peak counting RMSE {rmse} vs constant {constant}");
        // the paired difference brackets the difference of the two test scores
        let d = t.awd_minus_baseline;
        let point = t.awd.value - t.baseline.value;
        assert!(d.lo <= point && point <= d.hi, "{d:?} vs {point}");
        assert_eq!(out.results.compression.on.as_deref(), Some("train"));
        // the saved model predicts with the estimator it was selected with
        out.save(work.path()).unwrap();
        let model = SavedModel::load(&work.path().join("models/awd.json")).unwrap();
        match &model {
            SavedModel::Peaks(p) => assert_eq!(p.estimator, estimator),
            other => panic!("a peak-counting model expected, got {other:?}"),
        }
        let pred = model.predict(mt.view().into_dyn()).unwrap();
        assert_eq!(pred.to_vec(), out.test_predictions.unwrap().0);
        // maps of another size are refused by the saved model
        let small = mt.slice(s![.., ..12, ..12]).to_owned();
        let e = model.predict(small.view().into_dyn()).unwrap_err().to_string();
        assert!(e.contains("16x16") && e.contains("12x12"), "{e}");
    }
}

#[test]
fn peak_bins_are_chosen_jointly_with_the_grid_point() {
    let (m, y, groups) = noise_maps(120, 16, 5);
    let g = m.mapv(|v| 0.1 * v);
    let data =
        Data::new(m.view().into_dyn(), y.view().into_dyn(), Some(g.view().into_dyn()), Some(&groups), true).unwrap();
    let run = |bins: Vec<usize>| {
        let work = tempfile::tempdir().unwrap();
        distill(&in_dir(&quick_peaks(bins, Estimator::PosteriorMean), work.path()), &data, &Silent).unwrap()
    };
    let (two, three) = (run(vec![2]), run(vec![3]));
    let joint = run(vec![2, 3]);
    // the best (point, bins) pair is the best of each count's best point
    let best = if two.results.cv.awd <= three.results.cv.awd { &two } else { &three };
    assert_eq!(joint.results.cv.awd, best.results.cv.awd);
    assert_eq!(joint.results.selected.bins, best.results.selected.bins);
    assert_eq!(joint.results.selected.gamma, best.results.selected.gamma);
    let base = two.results.cv.baseline.min(three.results.cv.baseline);
    assert_eq!(joint.results.cv.baseline, base);
    match &joint.model {
        SavedModel::Peaks(p) => assert_eq!(Some(p.binning.bins), joint.results.selected.bins),
        other => panic!("a peak-counting model expected, got {other:?}"),
    }
    // the two single counts disagree here, so the choice is not vacuous
    assert_ne!(two.results.cv.awd, three.results.cv.awd);
}

#[test]
fn bad_input_is_named() {
    let (x, y, g, groups) = bumps(60, 32, 7);
    let err = |r: awd::Result<Data>| r.unwrap_err().to_string();
    let short_y = y.slice(s![..50]).to_owned();
    let e = err(Data::new(x.view().into_dyn(), short_y.view().into_dyn(), None, None, false));
    assert!(e.contains("y") && e.contains("50 targets") && e.contains("60 samples"), "{e}");
    let g2 = g.slice(s![.., ..30]).to_owned();
    let e = err(Data::new(x.view().into_dyn(), y.view().into_dyn(), Some(g2.view().into_dyn()), None, false));
    assert!(e.contains("(60, 30)") && e.contains("(60, 32)"), "{e}");
    let mut yn = y.clone();
    yn[17] = f64::NAN;
    let e = err(Data::new(x.view().into_dyn(), yn.view().into_dyn(), None, None, false));
    assert!(e.contains("NaN") && e.contains("[17, 0]"), "{e}");
    let e = err(Data::new(x.view().into_dyn(), y.view().into_dyn(), None, Some(&groups[..10]), false));
    assert!(e.contains("10 group labels"), "{e}");
    let data = Data::new(x.view().into_dyn(), y.view().into_dyn(), Some(g.view().into_dyn()), None, false).unwrap();
    let xt = Array2::<f64>::zeros((5, 31));
    let e = err(data.clone().with_test(xt.view().into_dyn(), Array1::<f64>::zeros(5).view().into_dyn(), None, None));
    assert!(e.contains("31 samples") && e.contains("32"), "{e}");
    // one group only, fewer samples than folds
    let work = tempfile::tempdir().unwrap();
    let one = vec![3i64; 60];
    let d1 = Data::new(x.view().into_dyn(), y.view().into_dyn(), Some(g.view().into_dyn()), Some(&one), false).unwrap();
    let e = distill(&in_dir(&quick_1d(), work.path()), &d1, &Silent).unwrap_err().to_string();
    assert!(e.contains("one group (3)"), "{e}");
    let few = Data::new(
        x.slice(s![..3, ..]).into_dyn(),
        y.slice(s![..3]).into_dyn(),
        Some(g.slice(s![..3, ..]).into_dyn()),
        None,
        false,
    )
    .unwrap();
    let e = distill(&in_dir(&quick_1d(), work.path()), &few, &Silent).unwrap_err().to_string();
    assert!(e.contains("3 samples are fewer than the 5"), "{e}");
    // a model edited by hand
    let out = distill(&in_dir(&quick_1d(), work.path()), &data, &Silent).unwrap();
    out.save(work.path()).unwrap();
    let path = work.path().join("models/awd.json");
    let text = std::fs::read_to_string(&path).unwrap();
    let mut v: serde_json::Value = serde_json::from_str(&text).unwrap();
    v["linear"]["weights"].as_array_mut().unwrap().pop();
    std::fs::write(&path, v.to_string()).unwrap();
    let e = SavedModel::load(&path).unwrap_err().to_string();
    assert!(e.contains("awd.json") && e.contains("linear.weights") && e.contains("23 values"), "{e}");
    let mut v: serde_json::Value = serde_json::from_str(&text).unwrap();
    v["lowpass"].as_array_mut().unwrap().pop();
    std::fs::write(&path, v.to_string()).unwrap();
    let e = SavedModel::load(&path).unwrap_err().to_string();
    assert!(e.contains("awd.json") && e.contains("'lowpass'") && e.contains("9 taps"), "{e}");
    let mut v: serde_json::Value = serde_json::from_str(&text).unwrap();
    v["levels"] = serde_json::json!(9);
    std::fs::write(&path, v.to_string()).unwrap();
    let e = SavedModel::load(&path).unwrap_err().to_string();
    assert!(e.contains("'levels' is 9"), "{e}");
    std::fs::write(&path, r#"{"kind": "something else"}"#).unwrap();
    let e = SavedModel::load(&path).unwrap_err().to_string();
    assert!(e.contains("'kind' is 'something else'"), "{e}");
    // top-k on maps, peaks on signals
    let cfg = DistillConfig { model: ModelSpec::peaks(), ..quick_1d() };
    let e = distill(&in_dir(&cfg, work.path()), &data, &Silent).unwrap_err().to_string();
    assert!(e.contains("--2d"), "{e}");
}

#[test]
fn one_standard_error_rule_and_validity_cap() {
    let (x, y, g, groups) = bumps(300, 40, 8);
    let data =
        Data::new(x.view().into_dyn(), y.view().into_dyn(), Some(g.view().into_dyn()), Some(&groups), false).unwrap();
    let work = tempfile::tempdir().unwrap();
    let base = in_dir(&quick_1d(), work.path());
    let plain = distill(&base, &data, &Silent).unwrap();
    let grid = &plain.results.grid;
    let best = grid.iter().max_by(|a, b| a.cv_score.total_cmp(&b.cv_score)).unwrap();
    // one standard error: the most regularised point no worse than best - SE
    let one_se = distill(&DistillConfig { one_standard_error: true, ..base.clone() }, &data, &Silent).unwrap();
    let s = &one_se.results.selected;
    assert!(s.cv_score >= best.cv_score - best.cv_se, "{} vs {} - {}", s.cv_score, best.cv_score, best.cv_se);
    assert!(s.gamma > best.gamma || (s.gamma == best.gamma && s.lambda >= best.lambda));
    let within = grid.iter().filter(|g| g.cv_score >= best.cv_score - best.cv_se);
    assert_eq!(s.gamma, within.map(|g| g.gamma).fold(f64::NEG_INFINITY, f64::max));
    // a validity cap: only points below it are selected
    let mut v: Vec<f64> = grid.iter().map(|g| g.validity).collect();
    v.sort_by(f64::total_cmp);
    let cap = v[v.len() / 2];
    let capped = distill(&DistillConfig { max_validity: Some(cap), ..base }, &data, &Silent).unwrap();
    assert!(capped.results.selected.validity <= cap);
    let eligible = capped.results.grid.iter().filter(|g| g.eligible);
    let best_eligible = eligible.map(|g| g.cv_score).fold(f64::NEG_INFINITY, f64::max);
    assert_eq!(capped.results.selected.cv_score, best_eligible);
}

#[test]
fn same_seed_same_result_on_one_thread_or_many() {
    let (x, y, g, groups) = bumps(200, 32, 9);
    let data =
        Data::new(x.view().into_dyn(), y.view().into_dyn(), Some(g.view().into_dyn()), Some(&groups), false).unwrap();
    let run = |threads: usize| {
        let work = tempfile::tempdir().unwrap();
        let cfg = DistillConfig { levels: 2, seeds: vec![0, 1], ..in_dir(&quick_1d(), work.path()) };
        let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
        pool.install(|| distill(&cfg, &data, &Silent).unwrap())
    };
    let (one, four) = (run(1), run(4));
    assert_eq!(one.model.lowpass(), four.model.lowpass());
    assert_eq!(one.results.grid, four.results.grid);
    assert_eq!(one.results.cv, four.results.cv);
}

#[test]
fn mapped_float64_files_fit_like_arrays_in_memory() {
    use awd::pipeline::{fit, FitConfig, Samples};
    let dir = tempfile::tempdir().unwrap();
    let (x, _, g, _) = bumps(120, 32, 5);
    let (px, pg) = (dir.path().join("x.npy"), dir.path().join("g.npy"));
    awd::io::write_npy(&px, x.view().into_dyn()).unwrap();
    awd::io::write_npy(&pg, g.view().into_dyn()).unwrap();
    let cfg = FitConfig { levels: 2, lambda: 0.01, gamma: 0.1, epochs: 3, batch_size: 16, ..FitConfig::default() };
    let mapped = Samples::load(&px, Some(&pg), false).unwrap();
    let owned = Samples::new(x.view().into_dyn(), Some(g.view().into_dyn()), false, ("x", "g")).unwrap();
    let a = fit(&cfg, &mapped, "a", &Silent).unwrap();
    let b = fit(&cfg, &owned, "b", &Silent).unwrap();
    assert_eq!(a.lowpass, b.lowpass);
    assert_eq!(a.history, b.history);
    // a NaN in a mapped file is named like one read into memory
    let mut bad = x.clone();
    bad[[7, 3]] = f64::NAN;
    awd::io::write_npy(&px, bad.view().into_dyn()).unwrap();
    let e = Samples::load(&px, Some(&pg), false).unwrap_err().to_string();
    assert!(e.contains("x.npy") && e.contains("NaN"), "{e}");
    // maps need --2d's rank: a 2-D file asked as maps falls back and says so
    let e = Samples::load(&pg, None, true).unwrap_err().to_string();
    assert!(e.contains("g.npy") && e.contains("(n, H, W)"), "{e}");
}

#[test]
fn mapped_float32_files_stay_float32_and_fit_like_their_float64_values() {
    use awd::pipeline::{fit, FitConfig, Samples};
    let write_f32 = |path: &std::path::Path, a: &Array2<f32>| {
        awd::io::write_npy_streamed::<f32>(path, a.shape(), |put| put(a.as_slice().unwrap())).unwrap()
    };
    let dir = tempfile::tempdir().unwrap();
    let (x, _, g, _) = bumps(120, 32, 5);
    let (x32, g32) = (x.mapv(|v| v as f32), g.mapv(|v| v as f32));
    let (px, pg) = (dir.path().join("x32.npy"), dir.path().join("g32.npy"));
    write_f32(&px, &x32);
    write_f32(&pg, &g32);
    let mapped = Samples::load(&px, Some(&pg), false).unwrap();
    assert!(mapped.is_float32(), "a float32 file is mapped as float32, not widened");
    // the same values as float64 in memory: the fit is the same, bit for bit
    let (x64, g64) = (x32.mapv(f64::from), g32.mapv(f64::from));
    let owned = Samples::new(x64.view().into_dyn(), Some(g64.view().into_dyn()), false, ("x", "g")).unwrap();
    assert!(!owned.is_float32());
    let cfg = FitConfig { levels: 2, lambda: 0.01, gamma: 0.1, epochs: 3, batch_size: 16, ..FitConfig::default() };
    let a = fit(&cfg, &mapped, "a", &Silent).unwrap();
    let b = fit(&cfg, &owned, "b", &Silent).unwrap();
    assert_eq!(a.lowpass, b.lowpass);
    assert_eq!(a.history, b.history);
    // a process's share of the rows: mapped too, and the same as those rows
    let share = Samples::load_rows(&px, Some(&pg), false, 30..75).unwrap();
    assert!(share.is_float32());
    assert_eq!((share.len(), share.total_rows()), (45, 120));
    let rows = x64.slice(ndarray::s![30..75, ..]).to_owned();
    let grows = g64.slice(ndarray::s![30..75, ..]).to_owned();
    let owned_share = Samples::new(rows.view().into_dyn(), Some(grows.view().into_dyn()), false, ("x", "g")).unwrap();
    let c = fit(&cfg, &share, "c", &Silent).unwrap();
    let d = fit(&cfg, &owned_share, "d", &Silent).unwrap();
    assert_eq!(c.lowpass, d.lowpass);
    // an infinity in a float32 file is named with its file and position
    let mut bad = x32.clone();
    bad[[9, 4]] = f32::INFINITY;
    write_f32(&px, &bad);
    let e = Samples::load(&px, Some(&pg), false).unwrap_err().to_string();
    assert!(e.contains("x32.npy") && e.contains("inf") && e.contains("[9, 4]"), "{e}");
    // a share beyond the file's rows is refused, naming the file
    write_f32(&px, &x32);
    let e = Samples::load_rows(&px, Some(&pg), false, 100..130).unwrap_err().to_string();
    assert!(e.contains("x32.npy") && e.contains("100..130"), "{e}");
}

#[test]
fn distill_maps_its_files_and_learns_what_the_same_arrays_in_memory_give() {
    use awd::pipeline::DataFiles;
    let dir = tempfile::tempdir().unwrap();
    let (x, y, g, groups) = bumps(300, 32, 3);
    let (xt, yt, gt, _) = bumps(120, 32, 4);
    // X as float32 files (stays float32), G as float64 files
    let narrow = |a: &Array2<f64>| a.mapv(|v| v as f32);
    let (x32, xt32) = (narrow(&x), narrow(&xt));
    let p = |name: &str| dir.path().join(name);
    let write_f32 = |path: &std::path::Path, a: &Array2<f32>| {
        awd::io::write_npy_streamed::<f32>(path, a.shape(), |put| put(a.as_slice().unwrap())).unwrap()
    };
    write_f32(&p("x.npy"), &x32);
    write_f32(&p("xt.npy"), &xt32);
    for (name, a) in [("g.npy", g.view().into_dyn()), ("gt.npy", gt.view().into_dyn())] {
        awd::io::write_npy(&p(name), a).unwrap();
    }
    awd::io::write_npy(&p("y.npy"), y.view().into_dyn()).unwrap();
    awd::io::write_npy(&p("yt.npy"), yt.view().into_dyn()).unwrap();
    let labels: Vec<f64> = groups.iter().map(|&v| v as f64).collect();
    awd::io::write_npy(&p("groups.npy"), Array1::from(labels).view().into_dyn()).unwrap();
    let files = DataFiles {
        x: p("x.npy"),
        y: p("y.npy"),
        grad: Some(p("g.npy")),
        groups: Some(p("groups.npy")),
        x_test: Some(p("xt.npy")),
        y_test: Some(p("yt.npy")),
        grad_test: Some(p("gt.npy")),
        ..DataFiles::default()
    };
    let mapped = Data::load(&files).unwrap();
    let test = mapped.test.as_ref().unwrap();
    for a in [&mapped.train.x, mapped.train.grad.as_ref().unwrap(), &test.x, test.grad.as_ref().unwrap()] {
        assert!(a.is_mapped(), "C-order .npy files are mapped, not read");
    }
    assert!(mapped.train.x.view().is_float32());
    let wide = |a: &Array2<f32>| a.mapv(f64::from);
    let owned =
        Data::new(wide(&x32).view().into_dyn(), y.view().into_dyn(), Some(g.view().into_dyn()), Some(&groups), false)
            .unwrap()
            .with_test(wide(&xt32).view().into_dyn(), yt.view().into_dyn(), Some(gt.view().into_dyn()), None)
            .unwrap();
    let (wa, wb) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let a = distill(&in_dir(&quick_1d(), wa.path()), &mapped, &Silent).unwrap();
    let b = distill(&in_dir(&quick_1d(), wb.path()), &owned, &Silent).unwrap();
    assert_eq!(a.model.lowpass(), b.model.lowpass());
    assert_eq!(a.results.grid, b.results.grid);
    assert_eq!(a.results.test, b.results.test);
    // a gradient file shaped unlike X is refused from its header, naming it
    awd::io::write_npy(&p("g.npy"), g.slice(s![..10, ..]).into_dyn()).unwrap();
    let e = Data::load(&files).unwrap_err().to_string();
    assert!(e.contains("g.npy") && e.contains("shaped like X"), "{e}");
}

#[test]
fn the_model_step_in_blocks_gives_the_values_of_one_pass() {
    use awd::distill::{Attribution, Geometry, Problem, SampleRows};
    use awd::interp::{feature_matrix_by, FeatureSign, LinearModel};
    // more signals than one block of 4,096
    let (x, _, g, _) = bumps(9000, 24, 7);
    let h = awd::Wavelet::from_name("db2").unwrap().rec_lo;
    let model = awd::TopKModel {
        kind: awd::model::TOPK_MODEL_KIND.into(),
        lowpass: h.clone(),
        levels: 2,
        mode: awd::Mode::Zero,
        length: 24,
        top_k: 3,
        sign: FeatureSign::Abs,
        ridge_alpha: 0.0,
        linear: LinearModel { weights: vec![0.0; 9], intercept: 0.0 },
        lambda: 0.0,
        gamma: 0.0,
    };
    let w = awd::Wavelet::from_lowpass("h", &h).unwrap();
    let plan = awd::dwt::Plan1d::with_boundary_levels(24, &w, awd::Mode::Zero, 2).unwrap();
    let whole = feature_matrix_by(plan.wavedec(x.view()).unwrap().data.view(), plan.coeff_lens(), 3, FeatureSign::Abs);
    assert_eq!(model.features(x.view()).unwrap(), whole);
    let x32 = x.mapv(|v| v as f32);
    let wide = feature_matrix_by(
        plan.wavedec(x32.mapv(f64::from).view()).unwrap().data.view(),
        plan.coeff_lens(),
        3,
        FeatureSign::Abs,
    );
    assert_eq!(model.features_of(SampleRows::from(x32.view())).unwrap(), wide);
    // signals of another length are an error naming both lengths, not a panic
    let e = model.features(x.slice(s![.., ..20])).unwrap_err().to_string();
    assert!(e.contains("24") && e.contains("20"), "{e}");
    // a NaN in a later block is named by its index in the whole input
    let mut bad = x.clone();
    bad[[8500, 3]] = f64::NAN;
    let e = model.features(bad.view()).unwrap_err().to_string();
    assert!(e.contains("[8500, 3]"), "{e}");
    // coefficients and attributions of a block are those rows of one pass
    let p = Problem::new(x.view(), Some(g.view()), Geometry::OneD { n: 24 }, 4, awd::Mode::Zero, 2).unwrap();
    let (c, a) = p.coefficients_and_attributions(&h, Attribution::Saliency).unwrap();
    let (cb, ab) = p.coefficients_and_attributions_of(&h, Attribution::Saliency, 4096..8192).unwrap();
    assert_eq!(cb, c.slice(s![4096..8192, ..]));
    assert_eq!(ab.unwrap(), a.unwrap().slice(s![4096..8192, ..]));
    assert!(p.coefficients_and_attributions_of(&h, Attribution::Saliency, 8000..9001).is_err());
}

#[test]
fn a_validation_set_scores_each_point_with_the_model_fitted_on_all_training_samples() {
    // maps: the selected point's validation RMSE is what its saved model
    // (fitted on all training maps) scores on the validation maps
    let (m, y, _) = noise_maps(120, 16, 5);
    let (mv, yv, _) = noise_maps(60, 16, 9);
    let g = m.mapv(|v| 0.1 * v);
    let maps = Data::new(m.view().into_dyn(), y.view().into_dyn(), Some(g.view().into_dyn()), None, true)
        .unwrap()
        .with_validation(mv.view().into_dyn(), yv.view().into_dyn())
        .unwrap();
    let rmse =
        |p: &[f64], t: &[f64]| (p.iter().zip(t).map(|(a, b)| (a - b).powi(2)).sum::<f64>() / t.len() as f64).sqrt();
    let work = tempfile::tempdir().unwrap();
    let out =
        distill(&in_dir(&quick_peaks(vec![3, 6], Estimator::PosteriorMean), work.path()), &maps, &Silent).unwrap();
    let r = &out.results;
    assert_eq!((r.cv.folds, r.cv.validation_samples, r.data.validation), (1, Some(60), Some(60)));
    let on_val = |model: &SavedModel| model.predict(mv.view().into_dyn()).unwrap().to_vec();
    assert!((rmse(&on_val(&out.model), &yv.to_vec()) - r.cv.awd).abs() < 1e-12);
    assert!((rmse(&on_val(&out.baseline), &yv.to_vec()) - r.cv.baseline).abs() < 1e-12);
    let best = r.grid.iter().map(|g| g.cv_score).fold(f64::INFINITY, f64::min);
    assert_eq!(r.selected.cv_score, best, "the selected point is the validation optimum");
    assert!(out.report().contains("selection on 60 validation samples"));
    // with no validation set the same data are cross-validated instead
    let no_val = Data { validation: None, ..maps.clone() };
    let cv =
        distill(&in_dir(&quick_peaks(vec![3, 6], Estimator::PosteriorMean), work.path()), &no_val, &Silent).unwrap();
    assert_eq!((cv.results.cv.folds, cv.results.cv.validation_samples), (5, None));

    // signals: the same for the top-k linear model and R^2
    let (x, y, g, _) = bumps(300, 40, 8);
    let (xv, yv, _, _) = bumps(100, 40, 10);
    let signals = Data::new(x.view().into_dyn(), y.view().into_dyn(), Some(g.view().into_dyn()), None, false)
        .unwrap()
        .with_validation(xv.view().into_dyn(), yv.view().into_dyn())
        .unwrap();
    let work = tempfile::tempdir().unwrap();
    let out = distill(&in_dir(&quick_1d(), work.path()), &signals, &Silent).unwrap();
    let p = out.model.predict(xv.view().into_dyn()).unwrap().to_vec();
    assert!((r2(&p, &yv.to_vec()) - out.results.cv.awd).abs() < 1e-9);
    let best = out.results.grid.iter().map(|g| g.cv_score).fold(f64::NEG_INFINITY, f64::max);
    assert_eq!(out.results.selected.cv_score, best);

    // bad input: the wrong size, the wrong targets, the one-SE rule
    let short = xv.slice(s![.., ..39]).to_owned();
    let e = signals.clone().with_validation(short.view().into_dyn(), yv.view().into_dyn()).unwrap_err().to_string();
    assert!(e.contains("X_val") && e.contains("validation samples") && e.contains("39"), "{e}");
    let e =
        signals.clone().with_validation(xv.view().into_dyn(), yv.slice(s![..90]).into_dyn()).unwrap_err().to_string();
    assert!(e.contains("y_val") && e.contains("90 targets"), "{e}");
    let one_se = DistillConfig { one_standard_error: true, ..in_dir(&quick_1d(), work.path()) };
    let e = distill(&one_se, &signals, &Silent).unwrap_err().to_string();
    assert!(e.contains("one-standard-error") && e.contains("validation set"), "{e}");
}

#[test]
fn an_l1_ratio_gamma_scale_multiplies_the_given_gammas_by_the_ratio_at_the_initial_wavelet() {
    let (x, y, g, _) = bumps(200, 40, 12);
    let data = Data::new(x.view().into_dyn(), y.view().into_dyn(), Some(g.view().into_dyn()), None, false).unwrap();
    let given = vec![0.0, 0.5, 2.0];
    let (work, work_abs) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let relative = DistillConfig { gammas: Some(given.clone()), gamma_scale: GammaScale::L1Ratio, ..quick_1d() };
    let out = distill(&in_dir(&relative, work.path()), &data, &Silent).unwrap();
    let v = &out.results.grid_values;
    let ratio = v.l1_coefficients_at_start / v.l1_attributions_at_start;
    assert!((ratio - 1.0).abs() > 0.1, "a ratio of {ratio} would not test the scaling");
    assert_eq!(v.gammas, given.iter().map(|g| g * ratio).collect::<Vec<_>>());
    // the same as giving those products as absolute gammas: the same sweep, to the last bit
    let absolute = DistillConfig { gammas: Some(v.gammas.clone()), ..quick_1d() };
    let out_abs = distill(&in_dir(&absolute, work_abs.path()), &data, &Silent).unwrap();
    assert_eq!(out_abs.results.grid_values.gammas, v.gammas);
    assert_eq!(out_abs.model.lowpass(), out.model.lowpass());
    // a scale without a grid to scale is refused, naming the fix
    let no_grid = DistillConfig { gamma_scale: GammaScale::L1Ratio, ..quick_1d() };
    let e = distill(&no_grid, &data, &Silent).unwrap_err().to_string();
    assert!(e.contains("gamma_scale") && e.contains("--gammas"), "{e}");
}
