//! `awd data cosmology`, `awd experiment cosmology --quick` (CI) on simulated
//! maps and on a folder of a user's own maps, and bad input.

mod common;
use common::*;

use std::path::Path;

use awd::io::{read_npy_f64, write_npy};
use ndarray::{s as sl, Array2, Array3, Axis};

fn results(dir: &Path) -> serde_json::Value {
    results_named(dir, "results.json")
}

#[test]
fn data_cosmology_writes_the_split() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("maps");
    let args = [
        "data",
        "cosmology",
        "--maps-per-cosmology",
        "10",
        "--size",
        "16",
        "--seed",
        "3",
        "--noise",
        "30",
        "--output-dir",
        s(&out),
    ];
    ok(&args);
    for (part, n) in [("train", 60), ("val", 20), ("test", 20)] {
        let m = read_npy_f64(&out.join(format!("{part}_maps.npy"))).unwrap();
        assert_eq!(m.shape(), &[n, 16, 16], "{part}");
        let p = read_npy_f64(&out.join(format!("{part}_params.npy"))).unwrap();
        assert_eq!(p.shape(), &[n, 3], "{part}");
        // Omega_m of Table D1's cosmologies lie in [0.2, 0.42]
        assert!(p.index_axis(Axis(1), 1).iter().all(|&v| (0.2..0.42).contains(&v)));
    }
    // noise: the per-pixel standard deviation is at least the shape noise's
    let m = read_npy_f64(&out.join("train_maps.npy")).unwrap();
    let std = m.std(0.0);
    let noise = 0.3 / (30.0f64 * 1.6 * 1.6).sqrt();
    assert!(std > noise && std < 2.0 * noise, "pixel std {std} vs noise {noise}");
    // same seed, same maps
    let again = dir.path().join("again");
    ok(&[
        "data",
        "cosmology",
        "--maps-per-cosmology",
        "10",
        "--size",
        "16",
        "--seed",
        "3",
        "--noise",
        "30",
        "--output-dir",
        s(&again),
    ]);
    assert_eq!(read_npy_f64(&again.join("test_maps.npy")).unwrap(), read_npy_f64(&out.join("test_maps.npy")).unwrap());
    // the default is noiseless (as the paper's maps): the convergence alone varies less than with the noise added
    let clean = dir.path().join("clean");
    ok(&["data", "cosmology", "--maps-per-cosmology", "10", "--size", "16", "--seed", "3", "--output-dir", s(&clean)]);
    let clean_std = read_npy_f64(&clean.join("train_maps.npy")).unwrap().std(0.0);
    assert!(clean_std < noise && clean_std < std, "noiseless pixel std {clean_std} vs noisy {std}");
}

#[test]
fn data_cosmology_takes_the_count_of_each_part() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("maps");
    let base = ["data", "cosmology", "--size", "16", "--seed", "3", "--output-dir", s(&out)];
    ok(&[&base[..], &["--train-maps", "4", "--val-maps", "2", "--test-maps", "6"]].concat());
    for (part, n) in [("train", 40), ("val", 20), ("test", 60)] {
        assert_eq!(read_npy_f64(&out.join(format!("{part}_maps.npy"))).unwrap().shape(), &[n, 16, 16], "{part}");
    }
    // the training maps do not depend on how many evaluation maps follow them
    let split = dir.path().join("split");
    ok(&["data", "cosmology", "--size", "16", "--seed", "3", "--maps-per-cosmology", "6", "--output-dir", s(&split)]);
    assert_eq!(
        read_npy_f64(&split.join("train_maps.npy")).unwrap(),
        read_npy_f64(&out.join("train_maps.npy")).unwrap()
    );
    let spec: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("spec.json")).unwrap()).unwrap();
    assert_eq!(spec["maps_per_cosmology"], serde_json::json!({"train": 4, "val": 2, "test": 6}));
    let e = fails(&[&base[..], &["--val-maps", "0"]].concat());
    assert!(e.contains("--val-maps") && e.contains("0 validation"), "{e}");
    let e = fails_any(&[&base[..], &["--maps-per-cosmology", "10", "--test-maps", "3"]].concat());
    assert!(e.contains("--maps-per-cosmology") && e.contains("--test-maps"), "{e}");
    let e = fails_any(&[
        "experiment",
        "cosmology",
        "--maps-dir",
        s(&out),
        "--val-maps",
        "3",
        "--output-dir",
        s(&dir.path().join("x")),
    ]);
    assert!(e.contains("--maps-dir") && e.contains("--val-maps"), "{e}");
}

#[test]
fn bad_cl_tables_are_named() {
    let dir = tempfile::tempdir().unwrap();
    let table: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../../data/cosmology/cl_zs1.json"))
            .unwrap(),
    )
    .unwrap();
    let run = |t: &serde_json::Value| {
        let p = dir.path().join("cl.json");
        std::fs::write(&p, t.to_string()).unwrap();
        fails(&[
            "data",
            "cosmology",
            "--cl-table",
            s(&p),
            "--size",
            "16",
            "--maps-per-cosmology",
            "3",
            "--output-dir",
            s(&dir.path().join("o")),
        ])
    };
    let mut neg = table.clone();
    neg["cosmologies"][4]["cl"][12] = serde_json::json!(-2.5e-9);
    let e = run(&neg);
    assert!(e.contains("cl.json") && e.contains("cosmology 4") && e.contains("C_ell[12]"), "{e}");
    let mut order = table.clone();
    order["ell"][5] = serde_json::json!(1.0);
    let e = run(&order);
    assert!(e.contains("cl.json") && e.contains("not increasing") && e.contains("ell[5]"), "{e}");
    let e = fails(&["data", "cosmology", "--size", "4", "--output-dir", s(&dir.path().join("o"))]);
    assert!(e.contains("map size 4"), "{e}");
    assert!(!dir.path().join("o").exists(), "no output on failure");
}

#[test]
fn quick_experiment_on_simulated_maps() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("cosmo");
    ok(&["experiment", "cosmology", "--quick", "--output-dir", s(&out)]);
    let r = results(&out);
    let rmse = |who: &str| r["rmse_omega_m"][who]["value"].as_f64().unwrap();
    for who in ["awd", "awd_posterior", "roberts", "laplace", "db5", "cnn", "peak_height", "constant"] {
        let sd = r["rmse_omega_m"][who]["std"].as_f64().unwrap();
        assert!(rmse(who) > 0.0 && sd > 0.0 && sd < rmse(who), "{who}: {} ± {sd}", rmse(who));
    }
    // against the trivial baseline (the training maps' mean Omega_m), not a fixed bound: the distilled peak
    // counting beats it by more than two of its own bootstrap standard deviations, with either estimator
    let constant = rmse("constant");
    for who in ["awd", "awd_posterior"] {
        let sd = r["rmse_omega_m"][who]["std"].as_f64().unwrap();
        assert!(rmse(who) + 2.0 * sd < constant, "{who} {} ± {sd} vs constant {constant}", rmse(who));
    }
    for who in ["awd", "db5"] {
        let c = r["compression"][who].as_f64().unwrap();
        assert!(c > 0.0 && c <= 1.0, "compression {who} {c}");
    }
    assert_eq!(r["maps"]["test"], 60);
    assert_eq!(r["grid"].as_array().unwrap().len(), 4);
    // the selected point has the smallest validation RMSE of the eligible (valid enough) points
    let grid = r["grid"].as_array().unwrap();
    assert!(grid.iter().any(|g| g["eligible"] == true));
    let best = grid
        .iter()
        .filter(|g| g["eligible"] == true)
        .map(|g| g["val_rmse"].as_f64().unwrap())
        .fold(f64::INFINITY, f64::min);
    assert_eq!(r["rmse_omega_m"]["awd"]["val_rmse"].as_f64().unwrap(), best);
    // and the posterior-mean AWD is the grid's (and bins') optimum of its own validation RMSE
    let best_posterior = grid
        .iter()
        .filter(|g| g["eligible"] == true)
        .map(|g| g["posterior_val_rmse"].as_f64().unwrap())
        .fold(f64::INFINITY, f64::min);
    assert_eq!(r["rmse_omega_m"]["awd_posterior"]["val_rmse"].as_f64().unwrap(), best_posterior);
    // the distillation is the library pipeline's (selection on the validation maps), its results beside
    for (estimator, row) in [("nearest", "awd"), ("posterior", "awd_posterior")] {
        let d = results(&out.join("distill").join(estimator));
        assert_eq!(d["cv"]["validation_samples"], r["maps"]["val"]);
        assert_eq!(d["cv"]["awd"], r["rmse_omega_m"][row]["val_rmse"]);
        assert_eq!(d["test"]["awd"]["rmse"], r["rmse_omega_m"][row]["value"]);
    }
    // the pipeline's baseline is the experiment's db5 row, and its paired interval the experiment's
    let d = results(&out.join("distill/nearest"));
    assert_eq!(d["test"]["baseline"]["rmse"], r["rmse_omega_m"]["db5"]["value"]);
    assert_eq!(d["test"]["awd_minus_baseline"], r["rmse_omega_m"]["awd_minus"]["nearest"]["db5"]);
    // every paired interval brackets its mean
    let m = &r["rmse_omega_m"]["awd_minus"];
    for key in ["/cnn", "/nearest/peak_height", "/nearest/roberts", "/posterior_mean/laplace", "/posterior_mean/db5"] {
        let i = m.pointer(key).unwrap();
        let (lo, mean, hi) = (i["lo"].as_f64().unwrap(), i["mean"].as_f64().unwrap(), i["hi"].as_f64().unwrap());
        assert!(lo <= mean && mean <= hi, "{key}: {i}");
    }
    assert_eq!(r["distillation"]["levels"], 4);
    assert!(r["maps"]["source"]["noise_pixel_std"].as_f64().unwrap() == 0.0, "noiseless by default");
    let md = std::fs::read_to_string(out.join("report.md")).unwrap();
    for row in [
        "| AWD |",
        "| ResNet (CNN teacher) |",
        "| Roberts cross |",
        "| Laplace (9-point) |",
        "| db5 |",
        "| Peak height |",
        "| Constant (training mean) |",
    ] {
        assert!(md.contains(row), "report lacks {row}");
    }
    for f in ["maps_per_cosmology.png", "figD1_peak_statistics.png", "filters_2d.png", "figD2_activation_maps.png"] {
        assert!(std::fs::metadata(out.join(f)).unwrap().len() > 5_000, "{f} missing or empty");
    }
    // a re-run resumes (teacher, saliency and sweep reused) and gives the same numbers
    let (_, err) = ok_both(&["experiment", "cosmology", "--quick", "--output-dir", s(&out)]);
    assert!(err.contains("reusing the teacher") && err.contains("reusing the saliency"), "{err}");
    assert_eq!(results(&out)["rmse_omega_m"], r["rmse_omega_m"]);
    // other maps in the same folder: the teacher is not reused (it was fitted
    // on other data) and the sweep folder refuses to mix two sweeps
    let err = fails_any(&["experiment", "cosmology", "--quick", "--noise", "10", "--output-dir", s(&out)]);
    assert!(!err.contains("reusing the teacher") && !err.contains("reusing the saliency"), "{err}");
    assert!(err.contains("different sweep"), "{err}");
}

/// A user's folder: three cosmologies of non-square maps, five parameters.
fn user_maps(dir: &Path) {
    let src = dir.join("sim");
    ok(&["data", "cosmology", "--maps-per-cosmology", "24", "--size", "32", "--seed", "1", "--output-dir", s(&src)]);
    for part in ["train", "val", "test"] {
        let m =
            read_npy_f64(&src.join(format!("{part}_maps.npy"))).unwrap().into_dimensionality::<ndarray::Ix3>().unwrap();
        let p = read_npy_f64(&src.join(format!("{part}_params.npy")))
            .unwrap()
            .into_dimensionality::<ndarray::Ix2>()
            .unwrap();
        let per = m.dim().0 / 10;
        let rows: Vec<usize> = (0..3 * per).collect();
        let maps: Array3<f64> = m.select(Axis(0), &rows).slice(sl![.., .., ..28]).to_owned();
        let mut params = Array2::zeros((rows.len(), 5));
        params.slice_mut(sl![.., ..3]).assign(&p.select(Axis(0), &rows));
        write_npy(&dir.join(format!("user/{part}_maps.npy")), maps.view().into_dyn()).unwrap();
        write_npy(&dir.join(format!("user/{part}_params.npy")), params.view().into_dyn()).unwrap();
    }
}

#[test]
fn quick_experiment_on_a_maps_dir_and_its_errors() {
    let dir = tempfile::tempdir().unwrap();
    user_maps(dir.path());
    let user = dir.path().join("user");
    let out = dir.path().join("out");
    // a grid of the user's (unsorted gammas are sorted)
    let grid = ["--lambdas", "0.01", "--gammas-relative", "0.1,0"];
    ok(&[&["experiment", "cosmology", "--quick", "--maps-dir", s(&user), "--output-dir", s(&out)], &grid[..]].concat());
    let r = results(&out);
    assert_eq!(r["distillation"]["lambdas"], serde_json::json!([0.01]));
    assert_eq!(r["distillation"]["gammas_relative"], serde_json::json!([0.0, 0.1]));
    assert_eq!(r["grid"].as_array().unwrap().len(), 2);
    assert_eq!(r["maps"]["width"], 28);
    assert_eq!(r["teacher"]["augment"], false);
    assert!(
        r["rmse_omega_m"]["awd"]["value"].as_f64().unwrap() < r["rmse_omega_m"]["constant"]["value"].as_f64().unwrap()
    );
    // the saved models, nearest cosmology and posterior mean, reproduce the
    // test RMSE on the test maps
    let mut saved = vec![("awd_posterior".to_string(), "/rmse_omega_m/awd_posterior/value".to_string())];
    for name in ["awd", "db5", "laplace", "roberts", "peak_height"] {
        saved.push((name.to_string(), format!("/rmse_omega_m/{name}/value")));
        if name != "awd" {
            saved.push((format!("{name}_posterior"), format!("/rmse_omega_m/{name}/posterior_mean/value")));
        }
    }
    for (file, key) in &saved {
        let pred = dir.path().join(format!("{file}.npy"));
        let model = out.join(format!("models/{file}.json"));
        ok(&["predict", "--model", s(&model), "--x", s(&user.join("test_maps.npy")), "--output", s(&pred)]);
        let p = read_npy_f64(&pred).unwrap();
        let truth = read_npy_f64(&user.join("test_params.npy")).unwrap();
        let truth = truth.index_axis(Axis(1), 1);
        let rmse = (p.iter().zip(truth.iter()).map(|(a, b)| (a - b).powi(2)).sum::<f64>() / p.len() as f64).sqrt();
        let want = r.pointer(key).and_then(|v| v.as_f64()).unwrap_or_else(|| panic!("{key} in results.json"));
        assert!((rmse - want).abs() < 1e-12, "{file}: {rmse} vs {want}");
    }
    // the AWD model file is also a wavelet file
    ok(&["filters", "--wavelet", s(&out.join("models/awd.json"))]);
    // traces (50, 64) read as one map, and maps of another size: refused, naming both sizes
    let traces = dir.path().join("traces.npy");
    write_npy(&traces, ndarray::Array2::<f64>::ones((50, 64)).view().into_dyn()).unwrap();
    let e = fails(&["predict", "--model", s(&out.join("models/awd.json")), "--x", s(&traces)]);
    assert!(e.contains("traces.npy") && e.contains("fitted on maps of") && e.contains("got 50x64"), "{e}");

    let run = |extra: &[&str]| {
        let mut args = vec!["experiment", "cosmology", "--quick", "--maps-dir", s(&user), "--output-dir"];
        let o = dir.path().join("bad");
        let o = o.to_str().unwrap().to_string();
        args.push(Box::leak(o.into_boxed_str()));
        args.extend_from_slice(extra);
        fails(&args)
    };
    let e = run(&["--levels", "6"]);
    assert!(e.contains("too small for 6 levels"), "{e}");
    let e = run(&["--lambdas", "0.01,-1"]);
    assert!(e.contains("lambda must be finite and >= 0, got -1"), "{e}");
    let e = run(&["--gammas-relative", "NaN"]);
    assert!(e.contains("gamma must be finite and >= 0, got NaN"), "{e}");
    // NaN in a map
    let mut m = read_npy_f64(&user.join("val_maps.npy")).unwrap();
    m[[2, 3, 4]] = f64::NAN;
    write_npy(&user.join("val_maps.npy"), m.view()).unwrap();
    let e = run(&[]);
    assert!(e.contains("val_maps.npy") && e.contains("NaN") && e.contains("[2, 3, 4]"), "{e}");
    // counts that differ
    m[[2, 3, 4]] = 0.0;
    write_npy(&user.join("val_maps.npy"), m.view()).unwrap();
    let p = read_npy_f64(&user.join("test_params.npy")).unwrap();
    write_npy(&user.join("test_params.npy"), p.slice(sl![1.., ..]).into_dyn()).unwrap();
    let e = run(&[]);
    assert!(e.contains("test_params.npy") && e.contains("parameter rows"), "{e}");
}

/// Two quick runs that differ only in their seed, gathered by `awd
/// experiment spread`: each run's numbers are carried over as they are, the
/// seeds are recorded, and a run given twice is refused.
#[test]
fn spread_over_two_quick_seeds() {
    let dir = tempfile::tempdir().unwrap();
    let runs: Vec<_> = (0..2).map(|k| dir.path().join(format!("seed{k}"))).collect();
    for (k, run) in runs.iter().enumerate() {
        ok(&["experiment", "cosmology", "--quick", "--seed", &k.to_string(), "--output-dir", s(run)]);
        assert_eq!(results(run)["seed"], k as u64);
    }
    let out = dir.path().join("spread");
    let printed = ok(&["experiment", "spread", s(&runs[0]), s(&runs[1]), "--output-dir", s(&out)]);
    assert!(printed.contains("Spread over 2 seeds (0, 1)") && printed.contains("| AWD - db5, posterior mean |"));
    let spread = results_named(&out, "spread.json");
    let (r0, r1) = (results(&runs[0]), results(&runs[1]));
    assert_ne!(r0["rmse_omega_m"]["awd"]["value"], r1["rmse_omega_m"]["awd"]["value"], "the seeds drew the same maps");
    for row in spread["differences"].as_array().unwrap() {
        let key = row["key"].as_str().unwrap();
        assert_eq!(row["per_run"][0], *r0.pointer(key).unwrap(), "{key}");
        assert_eq!(row["per_run"][1], *r1.pointer(key).unwrap(), "{key}");
    }
    let awd = &spread["rmse"][0];
    assert_eq!(awd["key"], "/rmse_omega_m/awd/value");
    let mean = (r0["rmse_omega_m"]["awd"]["value"].as_f64().unwrap()
        + r1["rmse_omega_m"]["awd"]["value"].as_f64().unwrap())
        / 2.0;
    assert!((awd["across"]["mean"].as_f64().unwrap() - mean).abs() < 1e-15);
    assert!(std::fs::read_to_string(out.join("spread.md")).unwrap().contains("## Test RMSE"));
    assert!(std::fs::metadata(out.join("spread.png")).unwrap().len() > 5_000);
    let err = fails_any(&["experiment", "spread", s(&runs[0]), s(&runs[0])]);
    assert!(err.contains("has seed 0") && err.contains("results.json"), "{err}");
}

fn results_named(dir: &Path, name: &str) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(dir.join(name)).unwrap()).unwrap()
}
