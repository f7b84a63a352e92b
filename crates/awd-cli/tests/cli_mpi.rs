//! `awd fit` and `awd sweep` under `mpirun` (built with `--features mpi`;
//! needs Open MPI's `mpirun`): the data-parallel fit learns the
//! single-process filter to 1e-12 relative over short fits (unequal shares, ragged last
//! batches, float32 gradients, maps), the sweep writes the single-process
//! files bit for bit, and ranks that disagree stop with one message.
#![cfg(feature = "mpi")]

mod common;
use common::*;

use std::path::Path;
use std::process::{Command, Stdio};

use awd::io::write_npy;
use ndarray::{Array2, Array3};
use ndarray_npy::WriteNpyExt;

/// mpirun's own limit on a run (seconds, far above the second or so each
/// takes): a hang ends as a failed run, not a stuck suite. The tests read no
/// clock themselves.
const MPIRUN_TIMEOUT: &str = "600";

/// The options every launch gets.
fn launcher() -> Command {
    let mut cmd = Command::new("mpirun");
    cmd.args(["--allow-run-as-root", "--oversubscribe", "--timeout", MPIRUN_TIMEOUT]);
    cmd
}

/// `mpirun -np ranks awd args...`: (success, stdout, stderr).
fn mpirun(ranks: usize, args: &[&str]) -> (bool, String, String) {
    let mut cmd = launcher();
    cmd.args(["-np", &ranks.to_string(), env!("CARGO_BIN_EXE_awd")]).args(args);
    finish(cmd)
}

fn finish(mut cmd: Command) -> (bool, String, String) {
    let out = cmd.stdout(Stdio::piped()).stderr(Stdio::piped()).output().expect("mpirun (apt-get install openmpi-bin)");
    (out.status.success(), String::from_utf8_lossy(&out.stdout).into(), String::from_utf8_lossy(&out.stderr).into())
}

/// Owned arguments as the `&str`s the helpers take.
fn strs(args: &[String]) -> Vec<&str> {
    args.iter().map(String::as_str).collect()
}

fn signals(dir: &Path, n: usize, len: usize) {
    let x = Array2::from_shape_fn((n, len), |(i, t)| ((i * 37 + t * 11) % 17) as f64 / 8.0 - 1.0 + (t as f64).sin());
    let g = Array2::from_shape_fn((n, len), |(i, t)| (((i + 3 * t) % 7) as f32 - 3.0) / 3.0);
    write_npy(&dir.join("x.npy"), x.view().into_dyn()).unwrap();
    g.write_npy(std::fs::File::create(dir.join("g.npy")).unwrap()).unwrap();
}

fn lowpass(path: &Path) -> Vec<f64> {
    let v: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    v["lowpass"].as_array().unwrap().iter().map(|t| t.as_f64().unwrap()).collect()
}

fn max_relative(a: &[f64], b: &[f64]) -> f64 {
    let scale = b.iter().map(|v| v.abs()).fold(0.0, f64::max);
    a.iter().zip(b).map(|(x, y)| (x - y).abs() / scale).fold(0.0, f64::max)
}

#[test]
fn data_parallel_fit_learns_the_single_process_filter() {
    let dir = tempfile::tempdir().unwrap();
    // 301 signals: shares of 151 and 150 (2 ranks), 101/100/100 (3); batches of 32 leave 13
    signals(dir.path(), 301, 64);
    let (x, g) = (dir.path().join("x.npy"), dir.path().join("g.npy"));
    let fit = |out: &Path| -> Vec<String> {
        [
            "fit",
            "--x",
            s(&x),
            "--grad",
            s(&g),
            "--levels",
            "3",
            "--lambda",
            "0.01",
            "--gamma",
            "0.1",
            "--epochs",
            "4",
            "--batch-size",
            "32",
            "--noise-factor",
            "0.05",
            "--output",
            s(out),
        ]
        .map(String::from)
        .to_vec()
    };
    let one = dir.path().join("one.json");
    ok(&strs(&fit(&one)));
    let h0 = lowpass(&one);
    for ranks in [2, 3] {
        let out = dir.path().join(format!("ranks{ranks}.json"));
        let (done, so, se) = mpirun(ranks, &strs(&fit(&out)));
        assert!(done, "{se}");
        assert!(so.contains(&format!("on {ranks} processes")), "{so}");
        assert_eq!(so.lines().count(), 2, "only rank 0 prints: {so}");
        assert!(so.contains("32 samples x 23 sums = 736 values"), "{so}");
        let d = max_relative(&lowpass(&out), &h0);
        assert!(lowpass(&out) == h0, "{ranks} ranks: relative difference {d:e}, not bit for bit");
    }
}

#[test]
fn data_parallel_fit_of_maps() {
    let dir = tempfile::tempdir().unwrap();
    let maps = Array3::from_shape_fn((21, 16, 16), |(i, r, c)| ((i * 5 + r * 3 + c * 7) % 11) as f64 / 5.0 - 1.0);
    let grads = Array3::from_shape_fn((21, 16, 16), |(i, r, c)| if (r + c + i) % 5 == 0 { 1.0 } else { 0.1 });
    let (x, g) = (dir.path().join("maps.npy"), dir.path().join("grads.npy"));
    write_npy(&x, maps.view().into_dyn()).unwrap();
    write_npy(&g, grads.view().into_dyn()).unwrap();
    let args = |out: &Path| -> Vec<String> {
        [
            "fit",
            "--2d",
            "--x",
            s(&x),
            "--grad",
            s(&g),
            "--levels",
            "2",
            "--lambda",
            "0.01",
            "--gamma",
            "0.1",
            "--epochs",
            "3",
            "--batch-size",
            "8",
            "--output",
            s(out),
        ]
        .map(String::from)
        .to_vec()
    };
    let one = dir.path().join("one.json");
    ok(&strs(&args(&one)));
    let two = dir.path().join("two.json");
    let (done, _, se) = mpirun(2, &strs(&args(&two)));
    assert!(done, "{se}");
    assert!(lowpass(&two) == lowpass(&one), "bit for bit: {:e}", max_relative(&lowpass(&two), &lowpass(&one)));
}

#[test]
fn sweep_across_ranks_writes_the_single_process_files() {
    let dir = tempfile::tempdir().unwrap();
    signals(dir.path(), 120, 32);
    let (x, g) = (dir.path().join("x.npy"), dir.path().join("g.npy"));
    let args = |out: &Path| -> Vec<String> {
        [
            "sweep",
            "--x",
            s(&x),
            "--grad",
            s(&g),
            "--levels",
            "2",
            "--epochs",
            "2",
            "--batch-size",
            "16",
            "--lambdas",
            "0.001,0.01,0.1",
            "--gammas",
            "0,0.1",
            "--output-dir",
            s(out),
        ]
        .map(String::from)
        .to_vec()
    };
    let one = dir.path().join("one");
    ok(&strs(&args(&one)));
    let two = dir.path().join("two");
    let (done, so, se) = mpirun(2, &strs(&args(&two)));
    assert!(done, "{se}");
    assert!(so.contains("6 grid points") && so.contains("on 2 processes"), "{so}");
    let mut names: Vec<String> = std::fs::read_dir(&one)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("point_") || n == "summary.json" || n == "sweep.json")
        .collect();
    names.sort();
    assert_eq!(names.len(), 8);
    for n in &names {
        assert_eq!(std::fs::read(one.join(n)).unwrap(), std::fs::read(two.join(n)).unwrap(), "{n}");
    }
    // every fit data-parallel over 3 ranks (shares of 40 rows): the same files too
    let three = dir.path().join("three");
    let mut a = args(&three);
    a.push("--data-parallel".into());
    let (done, so, se) = mpirun(3, &strs(&a));
    assert!(done, "{se}");
    assert!(so.contains("every fit data-parallel"), "{so}");
    for n in &names {
        assert_eq!(std::fs::read(one.join(n)).unwrap(), std::fs::read(three.join(n)).unwrap(), "{n}");
    }
    // chains and data combined: 2 groups of 2 ranks, each group owning chains
    // and running their fits data-parallel (shares of 60 rows): the same files
    let groups = dir.path().join("groups");
    let mut a = args(&groups);
    a.extend(["--ranks-per-fit".into(), "2".into()]);
    let (done, so, se) = mpirun(4, &strs(&a));
    assert!(done, "{se}");
    assert!(so.contains("2 groups of 2") && so.contains("on 4 processes"), "{so}");
    for n in &names {
        assert_eq!(std::fs::read(one.join(n)).unwrap(), std::fs::read(groups.join(n)).unwrap(), "{n}");
    }
    // groups that do not divide the ranks: every rank stops with one message
    let mut a = args(&dir.path().join("bad"));
    a.extend(["--ranks-per-fit".into(), "2".into()]);
    let (done, _, se) = mpirun(3, &strs(&a));
    assert!(!done && se.contains("--ranks-per-fit 2 does not divide the 3 ranks") && !se.contains("panicked"), "{se}");
    // job-array flags make no sense under mpirun
    let mut a = args(&two);
    a.extend(["--shard".into(), "1/2".into()]);
    let (done, _, se) = mpirun(2, &strs(&a));
    assert!(!done && se.contains("--shard") && !se.contains("panicked"), "{se}");
}

#[test]
fn ranks_that_disagree_or_outnumber_the_samples_stop_with_a_message() {
    let dir = tempfile::tempdir().unwrap();
    signals(dir.path(), 40, 32);
    let x = dir.path().join("x.npy");
    let out = dir.path().join("w.json");
    let base = ["fit", "--x", s(&x), "--levels", "2", "--epochs", "2", "--output", s(&out)];
    // two programs (MPMD): the second rank asks for another lambda
    let mut cmd = launcher();
    cmd.args(["-np", "1", env!("CARGO_BIN_EXE_awd")]);
    cmd.args(base).args(["--lambda", "0.1", ":", "-np", "1", env!("CARGO_BIN_EXE_awd")]);
    cmd.args(base).args(["--lambda", "0.2"]);
    let (done, _, se) = finish(cmd);
    assert!(!done && se.contains("disagree on the settings") && !se.contains("panicked"), "{se}");
    assert!(!out.exists());
    // more ranks than samples
    signals(dir.path(), 2, 32);
    let (done, _, se) = mpirun(3, &base);
    assert!(!done && se.contains("2 samples cannot be shared by 3 processes"), "{se}");
    // a rank-local failure (an unreadable gradient file) stops every rank, no hang
    let missing = dir.path().join("missing.npy");
    let mut a = base.to_vec();
    a.extend(["--grad", s(&missing), "--gamma", "0.1"]);
    signals(dir.path(), 40, 32);
    let (done, _, se) = mpirun(2, &a);
    assert!(!done && se.contains("missing.npy"), "{se}");
}
