//! `awd distill` on a user's own .npy files: end to end with gradients from
//! any framework or from an awd teacher, `awd predict` on its model, and bad
//! input (one line naming the file and the value, exit 1, nothing written).

mod common;
use common::*;

use std::path::{Path, PathBuf};

use awd::io::{read_npy_f64, write_npy};
use ndarray::{Array1, Array2};

/// Files of a small 1-D problem: signals with a bump of amplitude y, G the
/// bump, 6 groups, and a test set.
struct Files {
    x: PathBuf,
    y: PathBuf,
    g: PathBuf,
    groups: PathBuf,
    xt: PathBuf,
    yt: PathBuf,
}

fn signals(n: usize, offset: usize) -> (Array2<f64>, Array1<f64>, Array2<f64>) {
    let amp = |i: usize| 0.5 + ((i * 37 + offset) % 29) as f64 / 19.0;
    let center = |i: usize| 8 + (i * 11 + offset) % 24;
    let bump = |i: usize, t: usize| (-((t as f64 - center(i) as f64) / 2.5).powi(2)).exp();
    let x = Array2::from_shape_fn((n, 40), |(i, t)| amp(i) * bump(i, t) + 0.02 * ((i * 7 + t * 3) % 5) as f64);
    let g = Array2::from_shape_fn((n, 40), |(i, t)| bump(i, t));
    (x, Array1::from_shape_fn(n, amp), g)
}

fn write_files(dir: &Path) -> Files {
    let (x, y, g) = signals(240, 0);
    let (xt, yt, _) = signals(90, 5);
    let f = Files {
        x: dir.join("x.npy"),
        y: dir.join("y.npy"),
        g: dir.join("g.npy"),
        groups: dir.join("groups.npy"),
        xt: dir.join("xt.npy"),
        yt: dir.join("yt.npy"),
    };
    write_npy(&f.x, x.view().into_dyn()).unwrap();
    write_npy(&f.y, y.view().into_dyn()).unwrap();
    write_npy(&f.g, g.view().into_dyn()).unwrap();
    write_npy(&f.xt, xt.view().into_dyn()).unwrap();
    write_npy(&f.yt, yt.view().into_dyn()).unwrap();
    let groups = Array1::from_shape_fn(240, |i| (i % 6) as i64);
    ndarray_npy::write_npy(&f.groups, &groups).unwrap();
    f
}

fn json(path: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

#[test]
fn distill_own_data_end_to_end_and_predict() {
    let dir = tempfile::tempdir().unwrap();
    let f = write_files(dir.path());
    let out = dir.path().join("out");
    #[rustfmt::skip]
    let line = ok(&[
        "distill", "--x", s(&f.x), "--y", s(&f.y), "--grad", s(&f.g), "--groups", s(&f.groups),
        "--x-test", s(&f.xt), "--y-test", s(&f.yt), "--levels", "3", "--epochs", "2", "--bootstrap", "200",
        "--output-dir", s(&out),
    ]);
    assert!(line.contains("distill: selected lambda") && line.contains("test r2"), "{line}");
    let r = json(&out.join("results.json"));
    // the keys scripts read
    for k in ["lambda", "gamma", "cv_score", "validity"] {
        assert!(r["selected"][k].is_number(), "selected.{k}");
    }
    for who in ["awd", "baseline"] {
        assert!(r["cv"][who].is_number(), "cv.{who}");
        assert!(r["test"][who]["r2"].is_number() && r["test"][who]["std"].is_number(), "test.{who}");
        assert!(r["compression"][who].is_number(), "compression.{who}");
    }
    assert_eq!(r["cv"]["grouped"], true);
    for file in ["models/awd.json", "models/baseline.json", "report.md", "wavelet.png", "cv_grid.png", "features.png"] {
        assert!(out.join(file).exists(), "missing {file}");
    }
    // better than predicting the training mean (R^2 <= 0 on the test set)
    assert!(r["test"]["awd"]["r2"].as_f64().unwrap() > 0.5, "{}", r["test"]);
    // awd predict reproduces the test predictions exactly
    let pred = dir.path().join("pred.npy");
    ok(&["predict", "--model", s(&out.join("models/awd.json")), "--x", s(&f.xt), "--output", s(&pred)]);
    assert_eq!(read_npy_f64(&pred).unwrap(), read_npy_f64(&out.join("test_predictions.npy")).unwrap());
    // the model file is a wavelet file too
    ok(&["filters", "--wavelet", s(&out.join("models/awd.json"))]);
}

#[test]
fn distill_with_an_awd_teacher() {
    let dir = tempfile::tempdir().unwrap();
    let f = write_files(dir.path());
    let teacher = dir.path().join("t.safetensors");
    #[rustfmt::skip]
    ok(&["teacher", "train", "--arch", "mlp", "--x", s(&f.x), "--y", s(&f.y), "--output", s(&teacher), "--epochs", "3"]);
    let out = dir.path().join("out");
    #[rustfmt::skip]
    ok(&[
        "distill", "--x", s(&f.x), "--y", s(&f.y), "--teacher", s(&teacher), "--attribution", "integrated-gradients",
        "--x-test", s(&f.xt), "--y-test", s(&f.yt), "--levels", "3", "--epochs", "1", "--lambdas", "0",
        "--gammas", "0,0.01", "--folds", "3", "--bootstrap", "100", "--output-dir", s(&out),
    ]);
    let r = json(&out.join("results.json"));
    assert_eq!(r["compression"]["on"], "test");
    assert_eq!(r["grid"].as_array().unwrap().len(), 2);
    assert_eq!(r["config"]["attribution"], "integrated-gradients");

    // awd bench predict: the model and its teacher timed on the same inputs
    let model = out.join("models/awd.json");
    let so =
        ok(&["bench", "predict", "--model", s(&model), "--x", s(&f.xt), "--teacher", s(&teacher), "--repeat", "2"]);
    let v: serde_json::Value = serde_json::from_str(&so).unwrap();
    assert_eq!(v["inputs"], serde_json::json!([90, 40]));
    // timings: numbers, their ratio not asserted (no timed assertions)
    for k in ["model_seconds_per_1000", "teacher_seconds_per_1000", "teacher_over_model"] {
        assert!(v[k].as_f64().is_some_and(f64::is_finite), "{k}: {v}");
    }
    // an ensemble: --teacher repeated, every member named
    #[rustfmt::skip]
    let so = ok(&["bench", "predict", "--model", s(&model), "--x", s(&f.xt), "--teacher", s(&teacher), "--teacher", s(&teacher), "--repeat", "1"]);
    let v: serde_json::Value = serde_json::from_str(&so).unwrap();
    assert_eq!(v["teacher"].as_array().unwrap().len(), 2, "{v}");
    // members that predict different outputs: refused, the odd member named
    let (y2, two) = (dir.path().join("y2.npy"), dir.path().join("two_outputs.safetensors"));
    write_npy(&y2, Array2::<f64>::from_shape_fn((240, 2), |(i, j)| (i * (j + 1)) as f64).view().into_dyn()).unwrap();
    #[rustfmt::skip]
    ok(&["teacher", "train", "--arch", "mlp", "--x", s(&f.x), "--y", s(&y2), "--output", s(&two), "--epochs", "1"]);
    #[rustfmt::skip]
    let e = fails(&["bench", "predict", "--model", s(&model), "--x", s(&f.xt), "--teacher", s(&teacher), "--teacher", s(&two)]);
    assert!(e.contains("two_outputs.safetensors") && e.contains("2 outputs") && e.contains("has 1"), "{e}");
    let e = fails(&["bench", "predict", "--model", s(&model), "--x", s(&f.xt), "--repeat", "0"]);
    assert!(e.contains("--repeat 0"), "{e}");
    // inputs the model does not take: the file and the lengths named
    let short = dir.path().join("short.npy");
    write_npy(&short, Array2::<f64>::zeros((3, 32)).view().into_dyn()).unwrap();
    let e = fails(&["bench", "predict", "--model", s(&model), "--x", s(&short)]);
    assert!(e.contains("short.npy") && e.contains("40") && e.contains("32"), "{e}");
    let empty = dir.path().join("empty.npy");
    write_npy(&empty, Array2::<f64>::zeros((0, 40)).view().into_dyn()).unwrap();
    let e = fails(&["bench", "predict", "--model", s(&model), "--x", s(&empty)]);
    assert!(e.contains("empty.npy") && e.contains("no inputs"), "{e}");
    let e = fails(&[
        "bench",
        "predict",
        "--model",
        s(&model),
        "--x",
        s(&f.xt),
        "--teacher",
        s(&dir.path().join("no.safetensors")),
    ]);
    assert!(e.contains("no.json") && e.contains("beside the weights"), "{e}");
}

#[test]
fn distill_bad_input() {
    let dir = tempfile::tempdir().unwrap();
    let f = write_files(dir.path());
    let out = dir.path().join("out");
    let run = |extra: &[&str]| {
        let mut a = vec!["distill", "--levels", "3", "--epochs", "1", "--output-dir", s(&out)];
        a.extend_from_slice(extra);
        fails(&a)
    };
    let base = |x: &Path, y: &Path, g: &Path| vec![s(x).to_string(), s(y).to_string(), s(g).to_string()];
    let call = |v: Vec<String>, more: &[&str]| {
        let mut a = vec!["--x", &v[0], "--y", &v[1], "--grad", &v[2]];
        a.extend_from_slice(more);
        run(&a)
    };
    // y with another sample count
    let y50 = dir.path().join("y50.npy");
    write_npy(&y50, Array1::<f64>::zeros(50).view().into_dyn()).unwrap();
    let e = call(base(&f.x, &y50, &f.g), &[]);
    assert!(e.contains("y50.npy") && e.contains("50 targets") && e.contains("240 samples"), "{e}");
    // G of another shape
    let g2 = dir.path().join("g2.npy");
    write_npy(&g2, Array2::<f64>::zeros((240, 39)).view().into_dyn()).unwrap();
    let e = call(base(&f.x, &f.y, &g2), &[]);
    assert!(e.contains("g2.npy") && e.contains("(240, 39)") && e.contains("(240, 40)"), "{e}");
    // a NaN target
    let yn = dir.path().join("yn.npy");
    let mut yv = read_npy_f64(&f.y).unwrap();
    yv[[7]] = f64::NAN;
    write_npy(&yn, yv.view()).unwrap();
    let e = call(base(&f.x, &yn, &f.g), &[]);
    assert!(e.contains("yn.npy") && e.contains("NaN") && e.contains("[7, 0]"), "{e}");
    // a single group under grouped cross-validation
    let one = dir.path().join("one.npy");
    ndarray_npy::write_npy(&one, &Array1::from_elem(240, 4i64)).unwrap();
    let e = call(base(&f.x, &f.y, &f.g), &["--groups", s(&one)]);
    assert!(e.contains("one.npy") && e.contains("one group (4)"), "{e}");
    // groups of another length
    let short = dir.path().join("short.npy");
    ndarray_npy::write_npy(&short, &Array1::from_elem(10, 1i64)).unwrap();
    let e = call(base(&f.x, &f.y, &f.g), &["--groups", s(&short)]);
    assert!(e.contains("short.npy") && e.contains("10 group labels"), "{e}");
    // fewer samples than folds
    let e = call(base(&f.x, &f.y, &f.g), &["--folds", "500"]);
    assert!(e.contains("240 samples are fewer than the 500"), "{e}");
    // a test set of another signal length
    let xt = dir.path().join("xt39.npy");
    write_npy(&xt, Array2::<f64>::zeros((90, 39)).view().into_dyn()).unwrap();
    let e = call(base(&f.x, &f.y, &f.g), &["--x-test", s(&xt), "--y-test", s(&f.yt)]);
    assert!(e.contains("xt39.npy") && e.contains("39 samples") && e.contains("40 samples"), "{e}");
    // no gradients at all
    let e = run(&["--x", s(&f.x), "--y", s(&f.y)]);
    assert!(e.contains("--grad") && e.contains("--teacher"), "{e}");
    // peak counting on signals
    let e = call(base(&f.x, &f.y, &f.g), &["--model", "peaks"]);
    assert!(e.contains("--2d"), "{e}");
    assert!(!out.join("results.json").exists(), "no partial results");
    // a hand-edited model: one weight too few, an odd filter
    let good = dir.path().join("good");
    #[rustfmt::skip]
    ok(&["distill", "--x", s(&f.x), "--y", s(&f.y), "--grad", s(&f.g), "--levels", "3", "--epochs", "1",
         "--lambdas", "0", "--gammas", "0", "--output-dir", s(&good)]);
    let model = good.join("models/awd.json");
    let mut v = json(&model);
    v["linear"]["weights"].as_array_mut().unwrap().pop();
    let edited = dir.path().join("edited.json");
    std::fs::write(&edited, v.to_string()).unwrap();
    let e = fails(&["predict", "--model", s(&edited), "--x", s(&f.xt)]);
    assert!(e.contains("edited.json") && e.contains("linear.weights") && e.contains("23 values"), "{e}");
    let mut v = json(&model);
    v["lowpass"].as_array_mut().unwrap().pop();
    std::fs::write(&edited, v.to_string()).unwrap();
    let e = fails(&["predict", "--model", s(&edited), "--x", s(&f.xt)]);
    assert!(e.contains("edited.json") && e.contains("9 taps"), "{e}");
    // a model applied to signals of another length
    let e = fails(&["predict", "--model", s(&model), "--x", s(&xt)]);
    assert!(e.contains("xt39.npy") && e.contains("40 samples") && e.contains("39"), "{e}");
}

#[test]
fn distill_maps_by_peak_counting() {
    let dir = tempfile::tempdir().unwrap();
    // two classes of maps: white noise of scale 1 and 2 (a pseudo-random field)
    let field = |n: usize, seed: usize| {
        ndarray::Array3::from_shape_fn((n, 16, 16), |(i, r, c)| {
            let u = (((i * 7919 + r * 104_729 + c * 1_299_709 + seed * 15_485_863) % 1_000_003) as f64) / 1_000_003.0;
            (if i % 2 == 0 { 1.0 } else { 2.0 }) * (u - 0.5)
        })
    };
    let class = |n: usize| Array1::from_shape_fn(n, |i| if i % 2 == 0 { 0.25 } else { 0.35 });
    let (m, mt) = (field(80, 1), field(40, 2));
    let paths: Vec<PathBuf> = ["m", "y", "g", "mt", "yt"].iter().map(|n| dir.path().join(format!("{n}.npy"))).collect();
    write_npy(&paths[0], m.view().into_dyn()).unwrap();
    write_npy(&paths[1], class(80).view().into_dyn()).unwrap();
    write_npy(&paths[2], m.mapv(|v| 0.1 * v).view().into_dyn()).unwrap();
    write_npy(&paths[3], mt.view().into_dyn()).unwrap();
    write_npy(&paths[4], class(40).view().into_dyn()).unwrap();
    let out = dir.path().join("out");
    #[rustfmt::skip]
    ok(&[
        "distill", "--2d", "--x", s(&paths[0]), "--y", s(&paths[1]), "--grad", s(&paths[2]), "--x-test", s(&paths[3]),
        "--y-test", s(&paths[4]), "--levels", "1", "--epochs", "1", "--lambdas", "0", "--gammas", "0,0.01",
        "--bins", "6", "--folds", "4", "--bootstrap", "100", "--output-dir", s(&out),
    ]);
    let r = json(&out.join("results.json"));
    assert_eq!(r["metric"], "rmse");
    // better than predicting 0.30 for every map (RMSE 0.05)
    assert!(r["test"]["awd"]["rmse"].as_f64().unwrap() < 0.025, "{}", r["test"]);
    assert!(out.join("features.png").exists());
    let pred = dir.path().join("pred.npy");
    ok(&["predict", "--model", s(&out.join("models/awd.json")), "--x", s(&paths[3]), "--output", s(&pred)]);
    assert_eq!(read_npy_f64(&pred).unwrap(), read_npy_f64(&out.join("test_predictions.npy")).unwrap());
    // the posterior mean over the classes: selected, saved and applied as such
    let post = dir.path().join("post");
    #[rustfmt::skip]
    ok(&[
        "distill", "--2d", "--x", s(&paths[0]), "--y", s(&paths[1]), "--grad", s(&paths[2]), "--x-test", s(&paths[3]),
        "--y-test", s(&paths[4]), "--levels", "1", "--epochs", "1", "--lambdas", "0", "--gammas", "0,0.01",
        "--bins", "4,6", "--folds", "4", "--bootstrap", "100", "--estimator", "posterior", "--output-dir", s(&post),
    ]);
    let r = json(&post.join("results.json"));
    let bins = r["selected"]["bins"].as_u64().unwrap();
    assert!(bins == 4 || bins == 6, "{}", r["selected"]);
    assert_eq!(json(&post.join("models/awd.json"))["binning"]["bins"], bins);
    assert!(r["test"]["awd"]["rmse"].as_f64().unwrap() < 0.025, "{}", r["test"]);
    assert_eq!(json(&post.join("models/awd.json"))["estimator"], "posterior_mean");
    ok(&["predict", "--model", s(&post.join("models/awd.json")), "--x", s(&paths[3]), "--output", s(&pred)]);
    assert_eq!(read_npy_f64(&pred).unwrap(), read_npy_f64(&post.join("test_predictions.npy")).unwrap());
    // traces given to a peak-counting model, continuous targets for peak counting
    let e = fails(&["predict", "--model", s(&out.join("models/awd.json")), "--x", s(&dir.path().join("y.npy"))]);
    assert!(e.contains("y.npy") && e.contains("maps (n, H, W)"), "{e}");
    let yc = dir.path().join("yc.npy");
    write_npy(&yc, Array1::from_shape_fn(80, |i| i as f64).view().into_dyn()).unwrap();
    #[rustfmt::skip]
    let e = fails(&["distill", "--2d", "--x", s(&paths[0]), "--y", s(&yc), "--grad", s(&paths[2]), "--levels", "1",
                    "--output-dir", s(&dir.path().join("o2"))]);
    assert!(e.contains("yc.npy") && e.contains("not continuous targets"), "{e}");
    // a bin count of 0
    #[rustfmt::skip]
    let e = fails(&["distill", "--2d", "--x", s(&paths[0]), "--y", s(&paths[1]), "--grad", s(&paths[2]), "--bins", "6,0",
                    "--output-dir", s(&dir.path().join("o3"))]);
    assert!(e.contains("bins") && e.contains("[6, 0]") && e.contains("at least 1"), "{e}");
}

#[test]
fn distill_selects_on_a_validation_set_when_given_one() {
    let dir = tempfile::tempdir().unwrap();
    let f = write_files(dir.path());
    let out = dir.path().join("out");
    #[rustfmt::skip]
    ok(&[
        "distill", "--x", s(&f.x), "--y", s(&f.y), "--grad", s(&f.g), "--x-val", s(&f.xt), "--y-val", s(&f.yt),
        "--levels", "3", "--epochs", "1", "--lambdas", "0", "--gammas", "0,0.01", "--bootstrap", "100",
        "--output-dir", s(&out),
    ]);
    let r = json(&out.join("results.json"));
    assert_eq!((r["cv"]["validation_samples"].as_u64(), r["cv"]["folds"].as_u64()), (Some(90), Some(1)));
    // the selection score is the saved model's R^2 on the validation files
    let pred = dir.path().join("pred.npy");
    ok(&["predict", "--model", s(&out.join("models/awd.json")), "--x", s(&f.xt), "--output", s(&pred)]);
    let (p, y) = (read_npy_f64(&pred).unwrap(), read_npy_f64(&f.yt).unwrap());
    let mean = y.mean().unwrap();
    let r2 = 1.0 - (&p - &y).mapv(|v| v * v).sum() / y.mapv(|v| (v - mean).powi(2)).sum();
    assert!((r2 - r["cv"]["awd"].as_f64().unwrap()).abs() < 1e-9, "{r2} vs {}", r["cv"]["awd"]);
    assert!(std::fs::read_to_string(out.join("report.md")).unwrap().contains("selection on 90 validation samples"));
    // validation inputs of another length, and --y-val without --x-val
    let short = dir.path().join("short.npy");
    write_npy(&short, Array2::<f64>::zeros((90, 39)).view().into_dyn()).unwrap();
    #[rustfmt::skip]
    let e = fails(&[
        "distill", "--x", s(&f.x), "--y", s(&f.y), "--grad", s(&f.g), "--x-val", s(&short), "--y-val", s(&f.yt),
        "--output-dir", s(&dir.path().join("bad")),
    ]);
    assert!(e.contains("short.npy") && e.contains("validation samples") && e.contains("39"), "{e}");
    #[rustfmt::skip]
    let e = fails_any(&[
        "distill", "--x", s(&f.x), "--y", s(&f.y), "--grad", s(&f.g), "--y-val", s(&f.yt),
        "--output-dir", s(&dir.path().join("bad")),
    ]);
    assert!(e.contains("--x-val"), "{e}");
}

#[test]
fn distill_reads_gammas_relative_to_the_l1_ratio_when_asked() {
    let dir = tempfile::tempdir().unwrap();
    let f = write_files(dir.path());
    let out = dir.path().join("out");
    #[rustfmt::skip]
    ok(&[
        "distill", "--x", s(&f.x), "--y", s(&f.y), "--grad", s(&f.g), "--levels", "3", "--epochs", "1",
        "--lambdas", "0", "--gammas", "0,log:0.1:1:2", "--gamma-scale", "l1-ratio", "--bootstrap", "100",
        "--output-dir", s(&out),
    ]);
    let r = json(&out.join("results.json"));
    assert_eq!(r["config"]["gamma_scale"], "l1_ratio");
    let v = &r["grid_values"];
    let ratio = v["l1_coefficients_at_start"].as_f64().unwrap() / v["l1_attributions_at_start"].as_f64().unwrap();
    let gammas: Vec<f64> = v["gammas"].as_array().unwrap().iter().map(|g| g.as_f64().unwrap()).collect();
    assert_eq!(gammas, [0.0, 0.1 * ratio, 1.0 * ratio]);
    // a scale needs a grid; an unknown scale is named
    #[rustfmt::skip]
    let e = fails_any(&[
        "distill", "--x", s(&f.x), "--y", s(&f.y), "--grad", s(&f.g), "--gamma-scale", "l1-ratio",
        "--output-dir", s(&dir.path().join("bad")),
    ]);
    assert!(e.contains("--gammas"), "{e}");
    #[rustfmt::skip]
    let e = fails_any(&[
        "distill", "--x", s(&f.x), "--y", s(&f.y), "--grad", s(&f.g), "--gammas", "0", "--gamma-scale", "relative",
        "--output-dir", s(&dir.path().join("bad")),
    ]);
    assert!(e.contains("unknown gamma scale 'relative'") && e.contains("l1_ratio"), "{e}");
}
