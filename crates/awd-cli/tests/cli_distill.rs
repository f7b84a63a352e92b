//! End-to-end tests of `awd fit`, `awd sweep` and `awd bench fit`.

mod common;
use common::*;

use std::path::{Path, PathBuf};

use awd::io::write_npy;
use ndarray::Array2;

/// X (n, 32) and G for a linear teacher.
fn write_data(dir: &Path, n: usize) -> (PathBuf, PathBuf) {
    let x =
        Array2::from_shape_fn((n, 32), |(i, t)| ((i * 31 + t * 17) % 13) as f64 / 6.0 - 1.0 + (t as f64 * 0.3).sin());
    let g = Array2::from_shape_fn((n, 32), |(_, t)| if (8..12).contains(&t) { 1.0 } else { 0.1 * (t as f64).cos() });
    let (px, pg) = (dir.join("x.npy"), dir.join("g.npy"));
    write_npy(&px, x.view().into_dyn()).unwrap();
    write_npy(&pg, g.view().into_dyn()).unwrap();
    (px, pg)
}

fn base<'a>(x: &'a Path, g: &'a Path) -> Vec<&'a str> {
    vec![
        "--x",
        s(x),
        "--grad",
        s(g),
        "--wavelet",
        "db3",
        "--levels",
        "2",
        "--mode",
        "zero",
        "--batch-size",
        "16",
        "--lr",
        "0.005",
    ]
}

#[test]
fn fit_writes_a_complete_wavelet_file_and_plot() {
    let dir = tempfile::tempdir().unwrap();
    let (x, g) = write_data(dir.path(), 64);
    let out = dir.path().join("w.json");
    let png = dir.path().join("w.png");
    let mut args = vec!["fit"];
    args.extend(base(&x, &g));
    args.extend(["--lambda", "0.1", "--gamma", "0.5", "--epochs", "3", "--noise-factor", "0.05", "--seed", "2"]);
    args.extend(["--output", s(&out), "--plot", s(&png)]);
    let (stdout, _) = ok_both(&args);
    assert!(stdout.contains("3 epochs"), "{stdout}");
    let v: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
    for key in ["lowpass", "highpass", "filter_bank", "levels", "mode", "settings", "history", "validity"] {
        assert!(v.get(key).is_some(), "missing {key}");
    }
    for key in ["dec_lo", "dec_hi", "rec_lo", "rec_hi"] {
        assert_eq!(v["filter_bank"][key].as_array().unwrap().len(), 6);
    }
    let h = v["history"].as_array().unwrap();
    assert_eq!(h.len(), 4);
    for key in [
        "epoch",
        "total",
        "reconstruction",
        "lowpass_sum",
        "highpass_sum",
        "unit_norm",
        "cmf",
        "orthogonality",
        "l1_coefficients",
        "l1_attributions",
    ] {
        assert!(h[3].get(key).is_some(), "history lacks {key}");
    }
    assert_eq!(v["settings"]["penalties"]["gamma"], 0.5);
    assert_eq!(v["settings"]["noise_factor"], 0.05);
    assert_eq!(v["mode"], "zero");
    let bytes = std::fs::read(&png).unwrap();
    assert!(bytes.len() > 20_000 && &bytes[1..4] == b"PNG");
    // the file is a wavelet everywhere
    let wf = dir.path().join("wf.json");
    ok(&["wavefun", "--wavelet", s(&out), "--level", "4", "--output", s(&wf)]);
    // same command, same seed: identical file
    let out2 = dir.path().join("w2.json");
    let mut args2 = args.clone();
    let i = args2.iter().position(|a| *a == s(&out)).unwrap();
    args2[i] = s(&out2);
    args2.retain(|a| *a != "--plot" && *a != s(&png));
    ok(&args2);
    let (a, b): (serde_json::Value, serde_json::Value) = (
        serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap(),
        serde_json::from_str(&std::fs::read_to_string(&out2).unwrap()).unwrap(),
    );
    assert_eq!(a["lowpass"], b["lowpass"]);
    assert_eq!(a["history"], b["history"]);
}

#[test]
fn fit_without_teacher_and_with_zero_epochs() {
    let dir = tempfile::tempdir().unwrap();
    let (x, _) = write_data(dir.path(), 40);
    let out = dir.path().join("adaptive.json");
    ok(&[
        "fit",
        "--x",
        s(&x),
        "--wavelet",
        "db2",
        "--levels",
        "3",
        "--lambda",
        "0.1",
        "--epochs",
        "2",
        "--output",
        s(&out),
    ]);
    let v: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
    assert_eq!(v["history"][2]["l1_attributions"], 0.0);
    let e = fails(&["fit", "--x", s(&x), "--levels", "2", "--gamma", "1", "--output", s(&out)]);
    assert!(e.contains("no teacher gradients") && e.contains("--grad"), "{e}");
    let zero = dir.path().join("zero.json");
    ok(&["fit", "--x", s(&x), "--wavelet", "db2", "--levels", "2", "--epochs", "0", "--output", s(&zero)]);
    let v: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&zero).unwrap()).unwrap();
    assert_eq!(v["history"].as_array().unwrap().len(), 1);
}

#[test]
fn fit_bad_input() {
    let dir = tempfile::tempdir().unwrap();
    let (x, g) = write_data(dir.path(), 20);
    let out = dir.path().join("w.json");
    let o = s(&out);
    let run = |extra: &[&str]| {
        let mut a = vec!["fit"];
        a.extend(base(&x, &g));
        a.extend(extra);
        a.extend(["--output", o]);
        a.iter().map(|v| v.to_string()).collect::<Vec<_>>()
    };
    let call = |v: Vec<String>| fails(&v.iter().map(|s| s.as_str()).collect::<Vec<_>>());
    // G of another shape
    let g2 = dir.path().join("g2.npy");
    write_npy(&g2, Array2::<f64>::zeros((20, 31)).view().into_dyn()).unwrap();
    let e = fails(&["fit", "--x", s(&x), "--grad", s(&g2), "--levels", "2", "--output", o]);
    assert!(e.contains("g2.npy") && e.contains("(20, 31)") && e.contains("(20, 32)"), "{e}");
    // NaN in G: file and index named
    let g3 = dir.path().join("g3.npy");
    let mut gv = Array2::<f64>::zeros((20, 32));
    gv[[4, 9]] = f64::NAN;
    write_npy(&g3, gv.view().into_dyn()).unwrap();
    let e = fails(&["fit", "--x", s(&x), "--grad", s(&g3), "--levels", "2", "--output", o]);
    assert!(e.contains("g3.npy") && e.contains("NaN at index [4, 9]"), "{e}");
    let e = call(run(&["--lambda", "-0.5"]));
    assert!(e.contains("lambda") && e.contains("-0.5"), "{e}");
    let e = call(run(&["--levels", "9"]));
    assert!(e.contains("too many"), "{e}");
    let odd = dir.path().join("odd.json");
    std::fs::write(&odd, r#"{"lowpass": [0.5, 0.5, 0.2]}"#).unwrap();
    let e = call(run(&["--wavelet", s(&odd)]));
    assert!(e.contains("3 taps"), "{e}");
    // an output folder that cannot exist (its parent is a file): fail first
    let blocker = dir.path().join("file");
    std::fs::write(&blocker, b"x").unwrap();
    let bad_out = blocker.join("w.json");
    let e = fails(&["fit", "--x", s(&x), "--levels", "2", "--output", s(&bad_out)]);
    assert!(e.contains("cannot create the output folder"), "{e}");
    assert!(!out.exists());
    // batch larger than the data: a warning, then the fit
    let mut a = vec!["fit", "--x", s(&x), "--levels", "2", "--batch-size", "500", "--epochs", "1", "--output", o];
    let (_, err) = ok_both(&a);
    assert!(err.contains("warning") && err.contains("500") && err.contains("20 samples"), "{err}");
    a.clear();
}

#[test]
fn sweep_writes_points_and_resumes() {
    let dir = tempfile::tempdir().unwrap();
    let (x, g) = write_data(dir.path(), 48);
    let out = dir.path().join("sweep");
    let mut args = vec!["sweep"];
    args.extend(base(&x, &g));
    args.extend(["--epochs", "2", "--lambdas", "0.01,0.1", "--gammas", "0,log:0.1:1:2", "--output-dir", s(&out)]);
    let (stdout, _) = ok_both(&args);
    assert!(stdout.contains("6 grid points"), "{stdout}");
    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("summary.json")).unwrap()).unwrap();
    assert_eq!(summary.as_array().unwrap().len(), 6);
    let md = std::fs::read_to_string(out.join("summary.md")).unwrap();
    assert_eq!(md.lines().count(), 8);
    let point = out.join("point_l001_g002.json");
    let before = std::fs::read(&point).unwrap();
    std::fs::remove_file(&point).unwrap();
    ok(&args);
    assert_eq!(std::fs::read(&point).unwrap(), before);
    // the same folder with another grid is refused
    let mut other = args.clone();
    let i = other.iter().position(|a| *a == "0.01,0.1").unwrap();
    other[i] = "0.5";
    let e = fails(&other);
    assert!(e.contains("different sweep"), "{e}");
    let e =
        fails(&["sweep", "--x", s(&x), "--levels", "2", "--lambdas", "0,-1", "--gammas", "0", "--output-dir", s(&out)]);
    assert!(e.contains("-1"), "{e}");
}

/// Every point file of a sweep folder, by name, as bytes.
fn point_files(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut v: Vec<(String, Vec<u8>)> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.file_name().unwrap().to_string_lossy().starts_with("point_"))
        .map(|p| (p.file_name().unwrap().to_string_lossy().into_owned(), std::fs::read(&p).unwrap()))
        .collect();
    v.sort();
    v
}

#[test]
fn shards_started_together_equal_the_single_process_sweep_bit_for_bit() {
    let dir = tempfile::tempdir().unwrap();
    let (x, g) = write_data(dir.path(), 48);
    let sweep_args = |out: &Path| -> Vec<String> {
        let mut a: Vec<String> = vec!["sweep".into()];
        a.extend(base(&x, &g).into_iter().map(String::from));
        a.extend(
            ["--epochs", "2", "--lambdas", "0.01,0.03,0.1", "--gammas", "0,0.1,1", "--output-dir", s(out)]
                .map(String::from),
        );
        a
    };
    let whole = dir.path().join("whole");
    let a = sweep_args(&whole);
    ok(&a.iter().map(String::as_str).collect::<Vec<_>>());

    // three shards (the third twice, racing for its chain's lock) started at once
    let sharded = dir.path().join("sharded");
    let children: Vec<_> = ["1/3", "2/3", "3/3", "3/3"]
        .iter()
        .map(|k| {
            let mut a = sweep_args(&sharded);
            a.extend(["--shard".to_string(), k.to_string()]);
            std::process::Command::new(env!("CARGO_BIN_EXE_awd"))
                .args(&a)
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    let outputs: Vec<_> = children.into_iter().map(|c| c.wait_with_output().unwrap()).collect();
    for o in &outputs {
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    }
    let stdout: Vec<String> = outputs.iter().map(|o| String::from_utf8_lossy(&o.stdout).into_owned()).collect();
    assert!(stdout.iter().any(|o| o.contains("9 grid points")), "no shard completed the grid: {stdout:?}");
    let writers = stdout.iter().filter(|o| o.contains("; wrote ")).count();
    assert_eq!(writers, 1, "the summary is written by exactly one shard: {stdout:?}");
    // the racing twin fitted nothing: it waited for the lock, then reused
    let fitted: usize = stdout
        .iter()
        .map(|o| o.split(" points fitted").next().unwrap().rsplit(['(', ' ']).next().unwrap().parse::<usize>().unwrap())
        .sum();
    assert_eq!(fitted, 9, "every point fitted once: {stdout:?}");
    assert_eq!(point_files(&sharded), point_files(&whole));
    assert_eq!(point_files(&whole).len(), 9);
    let summary = |d: &Path| std::fs::read(d.join("summary.json")).unwrap();
    assert_eq!(summary(&sharded), summary(&whole));

    // a job array whose last task has not run: --summarize lists what is missing
    let partial = dir.path().join("partial");
    let mut a = sweep_args(&partial);
    a.extend(["--shard".into(), "2/3".into()]);
    let so = ok(&a.iter().map(String::as_str).collect::<Vec<_>>());
    assert!(so.contains("shard 2/3 done") && so.contains("3 points fitted"), "{so}");
    assert!(!partial.join("summary.json").exists());
    let mut summarize = sweep_args(&partial);
    summarize.push("--summarize".into());
    let summarize: Vec<&str> = summarize.iter().map(String::as_str).collect();
    let e = fails(&summarize);
    assert!(e.contains("6 of 9 points missing") && e.contains("point_l000_g000.json"), "{e}");
    for k in ["1/3", "3/3"] {
        let mut a = sweep_args(&partial);
        a.extend(["--shard".into(), k.into()]);
        ok(&a.iter().map(String::as_str).collect::<Vec<_>>());
    }
    let so = ok(&summarize);
    assert!(so.contains("9 grid points summarized"), "{so}");
    assert_eq!(point_files(&partial), point_files(&whole));

    // bad shards, and a shard of another sweep in the folder
    for bad in ["3/2", "0/0", "2", "1/x"] {
        let mut a = sweep_args(&partial);
        a.extend(["--shard".into(), bad.into()]);
        let e = fails_any(&a.iter().map(String::as_str).collect::<Vec<_>>());
        assert!(e.contains("K/N"), "{bad}: {e}");
    }
    // groups of ranks need mpirun: one process refuses them, saying so
    let mut a = sweep_args(&partial);
    a.extend(["--ranks-per-fit".into(), "2".into()]);
    let e = fails(&a.iter().map(String::as_str).collect::<Vec<_>>());
    assert!(e.contains("--ranks-per-fit 2") && e.contains("mpirun"), "{e}");
    let mut other = sweep_args(&partial);
    let i = other.iter().position(|a| a == "0,0.1,1").unwrap();
    other[i] = "0,0.5".into();
    other.extend(["--shard".into(), "1/2".into()]);
    let e = fails(&other.iter().map(String::as_str).collect::<Vec<_>>());
    assert!(e.contains("sweep.json") && e.contains("different sweep"), "{e}");
    // without sweep.json, the points' own fingerprints refuse another sweep
    // (other initial filter: same grid and fit settings)
    std::fs::remove_file(partial.join("sweep.json")).unwrap();
    let mut other = sweep_args(&partial);
    let i = other.iter().position(|a| a == "db3").unwrap();
    other[i] = "sym3".into();
    let e = fails(&other.iter().map(String::as_str).collect::<Vec<_>>());
    assert!(e.contains("point_l000_g000.json") && e.contains("belongs to another sweep"), "{e}");
    // the same sweep again, with sweep.json gone: every point reused, said so
    std::fs::remove_file(partial.join("sweep.json")).unwrap();
    let so = ok(&sweep_args(&partial).iter().map(String::as_str).collect::<Vec<_>>());
    assert!(so.contains("0 points fitted, 9 reused"), "{so}");
}

#[test]
fn bench_fit_prints_seconds_per_epoch() {
    let (so, _) = ok_both(&["bench", "fit", "--samples", "500", "--epochs", "1"]);
    let v: serde_json::Value = serde_json::from_str(&so).unwrap();
    // a difference of two timings: a number, its sign not asserted (no timed assertions)
    assert!(v["seconds_per_epoch_median"].as_f64().is_some_and(f64::is_finite));
}
