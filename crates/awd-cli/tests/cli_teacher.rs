//! End-to-end tests of `awd teacher`, `awd data synthetic` and
//! `awd experiment synthetic --quick` (the CI run of the main job).

mod common;
use common::*;

use awd::io::{read_npy_f64, write_npy};
use ndarray::{Array1, Array2, Array3};

#[test]
fn data_teacher_predict_and_grad() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    ok(&["data", "synthetic", "--output-dir", s(d), "--train", "3000", "--test", "500", "--seed", "1"]);
    let x = read_npy_f64(&d.join("x_train.npy")).unwrap();
    assert_eq!(x.shape(), &[3000, 64]);
    assert_eq!(read_npy_f64(&d.join("y_test.npy")).unwrap().shape(), &[500]);
    let model = d.join("t").join("mlp.safetensors");
    let out = ok(&[
        "teacher",
        "train",
        "--arch",
        "mlp",
        "--x",
        s(&d.join("x_train.npy")),
        "--y",
        s(&d.join("y_train.npy")),
        "--output",
        s(&model),
        "--epochs",
        "8",
        "--lr",
        "0.01",
    ]);
    assert!(out.contains("teacher:"), "{out}");
    assert!(d.join("t").join("mlp.json").exists());
    let pred = d.join("pred.npy");
    let (_, said) =
        ok_both(&["teacher", "predict", "--model", s(&model), "--x", s(&d.join("x_test.npy")), "--output", s(&pred)]);
    assert!(said.contains("predictions") && said.contains("wrote"), "a success says what it wrote: {said}");
    let (p, y) = (read_npy_f64(&pred).unwrap(), read_npy_f64(&d.join("y_test.npy")).unwrap());
    assert_eq!(p.shape(), &[500]);
    let mean = y.mean().unwrap();
    let r2 = 1.0
        - p.iter().zip(y.iter()).map(|(a, b)| (a - b).powi(2)).sum::<f64>()
            / y.iter().map(|b| (b - mean).powi(2)).sum::<f64>();
    assert!(r2 > 0.9, "R^2 {r2}");
    for method in ["saliency", "integrated-gradients"] {
        let g = d.join(format!("g-{method}.npy"));
        ok(&[
            "teacher",
            "grad",
            "--model",
            s(&model),
            "--x",
            s(&d.join("x_test.npy")),
            "--output",
            s(&g),
            "--method",
            method,
            "--steps",
            "4",
        ]);
        let g = read_npy_f64(&g).unwrap();
        assert_eq!(g.shape(), &[500, 64]);
        // the teacher is nearly linear in the three cD_3 coefficients: its
        // gradient is far from zero
        assert!(g.iter().map(|v| v.abs()).sum::<f64>() > 100.0);
    }
}

#[test]
fn teacher_bad_input() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let x = Array2::from_shape_fn((40, 16), |(i, j)| ((i * 7 + j * 3) % 11) as f64);
    let y = Array1::from_shape_fn(40, |i| i as f64);
    write_npy(&d.join("x.npy"), x.view().into_dyn()).unwrap();
    write_npy(&d.join("y.npy"), y.view().into_dyn()).unwrap();
    write_npy(&d.join("y_short.npy"), y.slice(ndarray::s![..30]).into_dyn()).unwrap();
    let mut ynan = y.clone();
    ynan[3] = f64::NAN;
    write_npy(&d.join("y_nan.npy"), ynan.view().into_dyn()).unwrap();
    let model = d.join("m.safetensors");
    let train = |yname: &str| {
        vec![
            "teacher".to_string(),
            "train".into(),
            "--arch".into(),
            "mlp".into(),
            "--x".into(),
            s(&d.join("x.npy")).into(),
            "--y".into(),
            s(&d.join(yname)).into(),
            "--output".into(),
            s(&model).into(),
            "--epochs".into(),
            "2".into(),
        ]
    };
    let run = |v: Vec<String>| fails(&v.iter().map(|a| a.as_str()).collect::<Vec<_>>());
    let e = run(train("y_short.npy"));
    assert!(e.contains("30 samples") && e.contains("40"), "{e}");
    let e = run(train("y_nan.npy"));
    assert!(e.contains("y_nan.npy") && e.contains("NaN"), "{e}");
    assert!(!model.exists(), "no partial model");
    ok(&train("y.npy").iter().map(|a| a.as_str()).collect::<Vec<_>>());
    // a model whose input size differs from X
    let wide = Array2::<f64>::zeros((5, 20));
    write_npy(&d.join("wide.npy"), wide.view().into_dyn()).unwrap();
    let e = fails(&[
        "teacher",
        "grad",
        "--model",
        s(&model),
        "--x",
        s(&d.join("wide.npy")),
        "--output",
        s(&d.join("g.npy")),
    ]);
    assert!(e.contains("wide.npy") && e.contains("20 values"), "{e}");
    assert!(!d.join("g.npy").exists());
    // corrupt and missing weights
    let bad = d.join("bad.safetensors");
    std::fs::write(&bad, b"garbage").unwrap();
    std::fs::copy(d.join("m.json"), d.join("bad.json")).unwrap();
    let e =
        fails(&["teacher", "predict", "--model", s(&bad), "--x", s(&d.join("x.npy")), "--output", s(&d.join("p.npy"))]);
    assert!(e.contains("bad.safetensors"), "{e}");
    let e = fails(&[
        "teacher",
        "predict",
        "--model",
        s(&d.join("none.safetensors")),
        "--x",
        s(&d.join("x.npy")),
        "--output",
        s(&d.join("p.npy")),
    ]);
    assert!(e.contains("none.json"), "{e}");
    // the cnn takes maps
    let maps = Array3::from_shape_fn((20, 8, 8), |(i, j, k)| ((i + j * k) % 5) as f64);
    write_npy(&d.join("maps.npy"), maps.view().into_dyn()).unwrap();
    let e = fails(&[
        "teacher",
        "train",
        "--arch",
        "cnn",
        "--x",
        s(&d.join("x.npy")),
        "--y",
        s(&d.join("y.npy")),
        "--output",
        s(&model),
    ]);
    assert!(e.contains("(n, H, W)"), "{e}");
}

#[test]
fn synthetic_experiment_quick_recovers_db5() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("synthetic");
    ok(&["experiment", "synthetic", "--quick", "--output-dir", s(&out)]);
    let r: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("results.json")).unwrap()).unwrap();
    assert!(r["teacher_test_r2"].as_f64().unwrap() > 0.99, "{}", r["teacher_test_r2"]);
    let sel = r["selected"].as_array().unwrap();
    assert_eq!(sel.len(), 3);
    for s in sel {
        for key in ["init", "lambda", "gamma", "initial_distance", "final_distance"] {
            assert!(s.get(key).is_some(), "selected lacks {key}");
        }
    }
    let by = |name: &str| sel.iter().find(|s| s["init"] == name).unwrap();
    for name in ["db5+noise", "coif2"] {
        let s = by(name);
        let (a, b) = (s["initial_distance"].as_f64().unwrap(), s["final_distance"].as_f64().unwrap());
        assert!(b <= 0.1 * a, "{name}: {a} -> {b}");
    }
    assert!(by("sym5")["final_distance"].as_f64().unwrap() <= by("sym5")["initial_distance"].as_f64().unwrap());
    for f in ["report.md", "fig3_wavelets.png", "figB4_distance_vs_gamma.png", "teacher/mlp.safetensors"] {
        assert!(out.join(f).exists(), "missing {f}");
    }
    assert_eq!(r["grid"].as_array().unwrap().len(), 3 * 2 * 4);
}
