//! `awd experiment clathrin --quick` (CI), `awd predict`, and bad input.

mod common;
use common::*;

use std::path::{Path, PathBuf};

use awd::io::read_npy_f64;

fn data_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../data/clathrin")
}

fn results(out: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(out.join("results.json")).unwrap()).unwrap()
}

#[test]
fn quick_leave_one_cell_out() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("loco");
    ok(&[
        "experiment",
        "clathrin",
        "--quick",
        "--cells",
        "4,5,6",
        "--data-dir",
        s(&data_dir()),
        "--output-dir",
        s(&out),
    ]);
    let r = results(&out);
    let l = &r["loco"];
    for who in ["awd", "db5", "lstm", "ridge", "teacher", "awd_abs", "db5_abs", "constant"] {
        assert!(l["pooled"][who].is_number(), "pooled.{who}");
        for cell in ["4", "5", "6"] {
            assert!(l["per_cell"][cell][who].is_number(), "per_cell.{cell}.{who}");
        }
    }
    for d in ["awd_minus_db5", "awd_minus_lstm", "awd_minus_ridge", "awd_minus_constant"] {
        let (lo, m, hi) = (
            l["diff"][d]["lo"].as_f64().unwrap(),
            l["diff"][d]["mean"].as_f64().unwrap(),
            l["diff"][d]["hi"].as_f64().unwrap(),
        );
        assert!(lo <= m && m <= hi, "{d}: {lo} {m} {hi}");
    }
    // against the trivial baseline: the distilled model beats predicting the training mean, on every resample's
    // 95 % interval, and the constant itself scores about 0 on held-out cells
    assert!(l["diff"]["awd_minus_constant"]["lo"].as_f64().unwrap() > 0.05, "{}", l["diff"]);
    assert!(l["pooled"]["constant"].as_f64().unwrap().abs() < 0.05);
    // every held-out cell was trained without it: no fold's training cells contain its test cell
    let folds = r["folds"].as_array().unwrap();
    assert_eq!(folds.len(), 3);
    for f in folds {
        let held = f["held_out"].as_u64().unwrap();
        let train: Vec<u64> = f["train_cells"].as_array().unwrap().iter().map(|v| v.as_u64().unwrap()).collect();
        assert!(!train.contains(&held) && train.len() == 2, "{f}");
        // the teacher chosen is the candidate of best cross-validated R^2
        let cv = f["teacher"]["cv_r2"].as_object().unwrap();
        let names: Vec<&str> = cv.keys().map(|k| k.as_str()).collect();
        assert_eq!(names, ["cnn1d_ensemble", "lstm", "mlp_ensemble"], "{f}");
        let best = cv.iter().max_by(|a, b| a.1.as_f64().unwrap().total_cmp(&b.1.as_f64().unwrap())).unwrap().0;
        assert_eq!(f["teacher"]["chosen"].as_str().unwrap(), best);
        // each candidate's scoring is timed on its own
        for name in names {
            let stage = format!("cell {held}: teacher selection: {name}");
            assert!(r["seconds"][&stage].as_f64().is_some_and(|t| t >= 0.0), "{stage}: {}", r["seconds"]);
        }
    }
    assert_eq!(
        r["tracks"].as_u64().unwrap(),
        l["per_cell"]["4"]["tracks"].as_u64().unwrap() + l["per_cell"]["5"]["tracks"].as_u64().unwrap() + 375
    );
    for f in [
        "report.md",
        "fig4_wavelet.png",
        "fig4_grid.png",
        "figC4_track.png",
        "predictions.npy",
        "folds/cell6/models/awd.json",
    ] {
        assert!(out.join(f).exists(), "missing {f}");
    }
    // predictions.npy holds every model's held-out predictions: its AWD column gives the pooled R^2
    let p = read_npy_f64(&out.join("predictions.npy")).unwrap();
    let y = read_npy_f64(&out.join("y.npy")).unwrap();
    let awd: Vec<f64> = (0..y.len()).map(|i| p[[i, 0]]).collect();
    let mean = y.mean().unwrap();
    let r2 = 1.0
        - awd.iter().zip(y.iter()).map(|(a, b)| (a - b).powi(2)).sum::<f64>()
            / y.iter().map(|b| (b - mean).powi(2)).sum::<f64>();
    assert!((r2 - l["pooled"]["awd"].as_f64().unwrap()).abs() < 1e-12);
    let md = std::fs::read_to_string(out.join("report.md")).unwrap();
    assert!(md.contains("leave one cell out") && md.contains("| AWD - db5 |"));
    assert!(md.contains("scoring the teacher candidates, summed over the held-out cells: lstm "), "{md}");
}

#[test]
fn quick_single_split_and_predict() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("clathrin");
    ok(&[
        "experiment",
        "clathrin",
        "--quick",
        "--train-cells",
        "1,2,3,4,5",
        "--test-cells",
        "6",
        "--data-dir",
        s(&data_dir()),
        "--output-dir",
        s(&out),
    ]);
    let r = results(&out);
    for who in ["awd", "db5", "lstm", "ridge", "teacher", "awd_abs", "db5_abs", "constant"] {
        assert!(r["r2"][who]["mean"].is_number() && r["r2"][who]["std"].is_number(), "r2.{who}");
    }
    for who in ["awd", "db5", "lstm", "teacher"] {
        assert!(r["predict_seconds_per_1000"][who].as_f64().unwrap() > 0.0);
    }
    // AWD against the constant predictor (the training mean), not a fixed bound
    assert!(r["r2"]["awd"]["mean"].as_f64().unwrap() > r["r2"]["constant"]["mean"].as_f64().unwrap() + 0.1);
    assert!(r["compression"]["awd"].is_number() && r["compression"]["db5"].is_number());
    assert_eq!(r["selected"].as_array().unwrap().len(), 2);
    // each seed's selection is the optimum of its cross-validated grid
    for sel in r["selected"].as_array().unwrap() {
        let best = r["grid"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|g| g["seed"] == sel["seed"])
            .map(|g| g["cv_r2"].as_f64().unwrap())
            .fold(f64::NEG_INFINITY, f64::max);
        assert_eq!(sel["cv_r2"].as_f64().unwrap(), best, "{sel}");
    }
    assert_eq!(r["tracks"]["test"], 375);
    assert!(r["teacher_selection"]["ridge_cv_r2"].is_number());
    for f in ["report.md", "fig4_wavelet.png", "fig4_grid.png", "figC4_track.png", "models/awd_seed0.json"] {
        assert!(out.join(f).exists(), "missing {f}");
    }
    let md = std::fs::read_to_string(out.join("report.md")).unwrap();
    assert!(md.contains("| Regression (R^2) |") && md.contains("| Compression rate |"));
    // the saved model reproduces the experiment's predictions on new traces
    let pred = dir.path().join("pred.npy");
    let x = out.join("data/x_test.npy");
    ok(&["predict", "--model", s(&out.join("models/awd_seed0.json")), "--x", s(&x), "--output", s(&pred)]);
    let p = read_npy_f64(&pred).unwrap();
    let y = read_npy_f64(&out.join("data/y_test.npy")).unwrap();
    assert_eq!(p.shape(), y.shape());
    let mean = y.mean().unwrap();
    let r2 = 1.0
        - p.iter().zip(y.iter()).map(|(a, b)| (a - b).powi(2)).sum::<f64>()
            / y.iter().map(|b| (b - mean).powi(2)).sum::<f64>();
    let want = r["selected"][0]["test_r2"].as_f64().unwrap();
    assert!((r2 - want).abs() < 1e-9, "{r2} vs {want}");
    // the model file is also a wavelet file
    ok(&["filters", "--wavelet", s(&out.join("models/awd_seed0.json"))]);
}

#[test]
fn one_standard_error_rule_selects_the_most_regularised_point_within_one_se() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("clathrin");
    let d = data_dir();
    let args = ["experiment", "clathrin", "--quick", "--one-se", "--train-cells", "1,2,3,4,5", "--test-cells", "6"];
    let mut args = args.to_vec();
    args.extend(["--data-dir", s(&d), "--output-dir", s(&out)]);
    ok(&args);
    let r = results(&out);
    assert_eq!(r["distillation"]["one_standard_error"], true);
    let grid = r["grid"].as_array().unwrap();
    let f = |g: &serde_json::Value, k: &str| g[k].as_f64().unwrap();
    for sel in r["selected"].as_array().unwrap() {
        let rows: Vec<&serde_json::Value> = grid.iter().filter(|g| g["seed"] == sel["seed"]).collect();
        let best = rows.iter().max_by(|a, b| f(a, "cv_r2").total_cmp(&f(b, "cv_r2"))).unwrap();
        let floor = f(best, "cv_r2") - f(best, "cv_se");
        let within: Vec<&&serde_json::Value> = rows.iter().filter(|g| f(g, "cv_r2") >= floor).collect();
        let want = within
            .iter()
            .max_by(|a, b| f(a, "gamma").total_cmp(&f(b, "gamma")).then(f(a, "lambda").total_cmp(&f(b, "lambda"))))
            .unwrap();
        assert_eq!((f(sel, "lambda"), f(sel, "gamma")), (f(want, "lambda"), f(want, "gamma")), "{sel}");
        assert!(f(sel, "cv_r2") >= floor);
    }
    let md = std::fs::read_to_string(out.join("report.md")).unwrap();
    assert!(md.contains("one-standard-error"), "the report names the rule");
}

#[test]
fn clathrin_bad_input() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("o");
    let e = experiment_fails(s(dir.path()), &out, &[]);
    assert!(e.contains("no cell files"), "{e}");
    let e = experiment_fails(s(&data_dir()), &out, &["--train-cells", "1,2,6", "--test-cells", "6"]);
    assert!(e.contains("cell 6 is both"), "{e}");
    let e = experiment_fails(s(&data_dir()), &out, &["--train-cells", "1,2", "--test-cells", "9"]);
    assert!(e.contains("test cell 9 not found"), "{e}");
    let e = experiment_fails(s(&data_dir()), &out, &["--test-cells", "6"]);
    assert!(e.contains("--train-cells"), "{e}");
    let e = experiment_fails(s(&data_dir()), &out, &["--cells", "1,2"]);
    assert!(e.contains("at least 3 cells"), "{e}");
    let e = experiment_fails(s(&data_dir()), &out, &["--cells", "1,2,2"]);
    assert!(e.contains("twice"), "{e}");
    let e = experiment_fails(s(&data_dir()), &out, &["--cells", "1,2,9"]);
    assert!(e.contains("cell 9 not found"), "{e}");
    let e = experiment_fails(s(&data_dir()), &out, &["--cells", "1,2,3", "--train-cells", "1", "--test-cells", "2"]);
    assert!(e.contains("cannot be used with"), "{e}");
    let e = experiment_fails(s(&data_dir()), &out, &["--train-cells", "1,x", "--test-cells", "6"]);
    assert!(e.contains("'x'") || e.contains("invalid value"), "{e}");
    let e = experiment_fails(s(&data_dir()), &out, &["--min-lifetime", "400"]);
    assert!(e.contains("no track has a lifetime"), "{e}");
    // a frames file naming a track the tracks file lacks
    let bad = dir.path().join("bad");
    std::fs::create_dir_all(&bad).unwrap();
    std::fs::write(
        bad.join("cell1_tracks.csv"),
        "track,lifetime_s,start_frame,aux_significant,clathrin_significant\n0,20,1,1,1\n",
    )
    .unwrap();
    std::fs::write(
        bad.join("cell1_frames.csv"),
        "track,frame,phase,clathrin_A,clathrin_A_pstd,clathrin_sigma_r,clathrin_SE_sigma_r,auxilin_A,auxilin_A_pstd,auxilin_sigma_r,auxilin_SE_sigma_r\n7,0,track,1,1,1,1,1,1,1,1\n",
    )
    .unwrap();
    let e = experiment_fails(s(&bad), &out, &["--train-cells", "1", "--test-cells", "1"]);
    assert!(e.contains("both") || e.contains("track 7"), "{e}");
    std::fs::write(
        bad.join("cell2_tracks.csv"),
        "track,lifetime_s,start_frame,aux_significant,clathrin_significant\n0,20,1,1,1\n",
    )
    .unwrap();
    std::fs::copy(bad.join("cell1_frames.csv"), bad.join("cell2_frames.csv")).unwrap();
    let e = experiment_fails(s(&bad), &out, &["--train-cells", "1", "--test-cells", "2"]);
    assert!(e.contains("cell1_frames.csv") && e.contains("track 7"), "{e}");
    std::fs::write(bad.join("cell1_frames.csv"), "track,frame,phase,clathrin_A,clathrin_A_pstd,clathrin_sigma_r,clathrin_SE_sigma_r,auxilin_A,auxilin_A_pstd,auxilin_sigma_r,auxilin_SE_sigma_r\n0,0,track,abc,1,1,1,1,1,1,1\n").unwrap();
    let e = experiment_fails(s(&bad), &out, &["--train-cells", "1", "--test-cells", "2"]);
    assert!(e.contains("'abc'") && e.contains("clathrin_A"), "{e}");
}

/// `awd experiment clathrin` on `data` into `out` with `extra` options; must fail.
fn experiment_fails(data: &str, out: &Path, extra: &[&str]) -> String {
    let mut args = vec!["experiment", "clathrin", "--data-dir", data, "--output-dir", s(out)];
    args.extend_from_slice(extra);
    fails_any(&args)
}
