//! `awd experiment clathrin --quick` (CI), `awd predict`, and bad input.

mod common;
use common::*;

use std::path::{Path, PathBuf};

use awd::io::read_npy_f64;

fn data_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../data/clathrin")
}

#[test]
fn quick_experiment_and_predict() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("clathrin");
    ok(&["experiment", "clathrin", "--quick", "--data-dir", s(&data_dir()), "--output-dir", s(&out)]);
    let r: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("results.json")).unwrap()).unwrap();
    for who in ["awd", "db5", "lstm"] {
        assert!(r["r2"][who]["mean"].is_number() && r["r2"][who]["std"].is_number(), "r2.{who}");
        assert!(r["predict_seconds_per_1000"][who].as_f64().unwrap() > 0.0);
    }
    assert!(r["compression"]["awd"].is_number() && r["compression"]["db5"].is_number());
    assert_eq!(r["selected"].as_array().unwrap().len(), 2);
    assert!(r["selected"][0]["lambda"].is_number() && r["selected"][0]["gamma"].is_number());
    assert_eq!(r["tracks"]["test"], 375);
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
fn clathrin_bad_input() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("o");
    let e = experiment_fails(s(dir.path()), &out, &[]);
    assert!(e.contains("no cell files"), "{e}");
    let e = experiment_fails(s(&data_dir()), &out, &["--train-cells", "1,2,6", "--test-cells", "6"]);
    assert!(e.contains("cell 6 is both"), "{e}");
    let e = experiment_fails(s(&data_dir()), &out, &["--test-cells", "9"]);
    assert!(e.contains("test cell 9 not found"), "{e}");
    let e = experiment_fails(s(&data_dir()), &out, &["--train-cells", "1,x"]);
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
