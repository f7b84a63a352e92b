//! End-to-end tests of the `awd` binary: outputs, round trips and the
//! one-line errors (with no partial output file) for bad input.

mod common;
use common::*;

use std::path::{Path, PathBuf};

use awd::io::{read_npy_f64, read_npz_f64, write_npy};
use awd::{Mode, Wavelet};
use ndarray::{Array1, Array2, Array3, ArrayD};

fn p(dir: &Path, name: &str) -> PathBuf {
    dir.join(name)
}

fn signal(n: usize, seed: u64) -> Vec<f64> {
    // a deterministic, irregular test signal
    (0..n).map(|i| (i as f64 * 0.37 + seed as f64).sin() * 3.0 + (i * i % 7) as f64 * 0.1).collect()
}

/// `n` test signals of `len` samples, written to `dir/x.npy`: the path and
/// the array.
fn signals_file(dir: &Path, n: usize, len: usize) -> (PathBuf, Array2<f64>) {
    let x = Array2::from_shape_fn((n, len), |(i, t)| signal(len, i as u64)[t]);
    let path = p(dir, "x.npy");
    write_npy(&path, x.view().into_dyn()).unwrap();
    (path, x)
}

#[test]
fn wavelets_and_filters() {
    let names = ok(&["wavelets"]);
    assert_eq!(names.lines().count(), 75);
    assert!(names.lines().any(|l| l == "coif17"));
    let f: serde_json::Value = serde_json::from_str(&ok(&["filters", "--wavelet", "db2"])).unwrap();
    let keys: Vec<&str> = f.as_object().unwrap().keys().map(|k| k.as_str()).collect();
    assert_eq!(keys, ["name", "filter_length", "dec_lo", "dec_hi", "rec_lo", "rec_hi"]);
    assert_eq!(f["rec_lo"][0].as_f64().unwrap(), 0.48296291314453416);
}

#[test]
fn dwt_idwt_round_trip_1d_npz_and_json() {
    let dir = tempfile::tempdir().unwrap();
    let (xin, x) = signals_file(dir.path(), 3, 101);
    for out in ["c.npz", "c.json"] {
        let c = p(dir.path(), out);
        ok(&["dwt", "--wavelet", "db5", "--mode", "zero", "--levels", "3", "--input", s(&xin), "--output", s(&c)]);
        let r = p(dir.path(), "r.npy");
        ok(&["idwt", "--wavelet", "db5", "--mode", "zero", "--input", s(&c), "--output", s(&r)]);
        let back = read_npy_f64(&r).unwrap();
        assert_eq!(back.shape(), &[3, 102], "pywt's odd-length rule");
        for i in 0..3 {
            for j in 0..101 {
                assert!((back[[i, j]] - x[[i, j]]).abs() < 1e-10);
            }
        }
    }
    // the npz holds a, d1..d3 with the core's values
    let arrays = read_npz_f64(&p(dir.path(), "c.npz")).unwrap();
    let mut names: Vec<&str> = arrays.iter().map(|(n, _)| n.as_str()).collect();
    names.sort();
    assert_eq!(names, ["a", "d1", "d2", "d3"]);
    let w = Wavelet::from_name("db5").unwrap();
    let want = awd::dwt::wavedec(x.row(1).as_slice().unwrap(), &w, Mode::Zero, 3).unwrap();
    let d3 = &arrays.iter().find(|(n, _)| n == "d3").unwrap().1;
    assert_eq!(d3.shape(), &[3, want[1].len()]);
    assert_eq!(d3.index_axis(ndarray::Axis(0), 1).iter().copied().collect::<Vec<_>>(), want[1]);
}

/// float32 `.npy` in, float32 coefficients out (`.npz` keeps the dtype, as
/// pywt's arrays do), and `idwt` of them gives a float32 `.npy`; values
/// within float32 accuracy of the float64 transform. 1-D and 2-D.
#[test]
fn float32_files_stay_float32() {
    use awd::io::read_npz_typed;
    use ndarray_npy::{ReadNpyExt, WriteNpyExt};
    let dir = tempfile::tempdir().unwrap();
    for (two_d, shape) in [(false, vec![20, 64]), (false, vec![3, 3000]), (true, vec![2, 40, 36])] {
        let x64 = ArrayD::from_shape_fn(ndarray::IxDyn(&shape), |i| signal(7, i[0] as u64)[i[shape.len() - 1] % 7]);
        let x32 = x64.mapv(|v| v as f32);
        let (xin, c64, c32, r) =
            (p(dir.path(), "x32.npy"), p(dir.path(), "c64.npz"), p(dir.path(), "c32.npz"), p(dir.path(), "r.npy"));
        x32.write_npy(std::fs::File::create(&xin).unwrap()).unwrap();
        let x64in = p(dir.path(), "x64.npy");
        write_npy(&x64in, x32.mapv(f64::from).view()).unwrap();
        let flag: &[&str] = if two_d { &["--2d"] } else { &[] };
        let common = ["--wavelet", "db4", "--mode", "symmetric"];
        let run = |cmd: &str, args: &[&str]| ok(&[&[cmd][..], flag, &common[..], args].concat());
        run("dwt", &["--levels", "2", "--input", s(&xin), "--output", s(&c32)]);
        run("dwt", &["--levels", "2", "--input", s(&x64in), "--output", s(&c64)]);
        let (got, is32) = read_npz_typed(&c32).unwrap();
        let (want, was32) = read_npz_typed(&c64).unwrap();
        assert!(is32 && !was32, "float32 in gives float32 coefficients, float64 gives float64");
        for ((name, g), (_, w)) in got.iter().zip(&want) {
            let worst = g.iter().zip(w).map(|(a, b)| (a - b).abs()).fold(0.0, f64::max);
            assert!(worst < 1e-5, "{shape:?} {name}: float32 differs from float64 by {worst:e}");
        }
        run("idwt", &["--input", s(&c32), "--output", s(&r)]);
        let back = ArrayD::<f32>::read_npy(std::fs::File::open(&r).unwrap()).expect("a float32 .npy");
        assert_eq!(back.shape(), x32.shape());
        let worst = back.iter().zip(&x32).map(|(a, b)| (a - b).abs()).fold(0.0f32, f32::max);
        assert!(worst < 1e-5, "{shape:?}: float32 round trip off by {worst:e}");
    }
}

#[test]
fn single_signal_and_image_keep_their_rank() {
    let dir = tempfile::tempdir().unwrap();
    let x = Array1::from(signal(64, 3));
    let xin = p(dir.path(), "x.npy");
    write_npy(&xin, x.view().into_dyn()).unwrap();
    let c = p(dir.path(), "c.json");
    ok(&[
        "dwt",
        "--wavelet",
        "haar",
        "--mode",
        "periodization",
        "--levels",
        "2",
        "--input",
        s(&xin),
        "--output",
        s(&c),
    ]);
    let v: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&c).unwrap()).unwrap();
    assert_eq!(v["a"].as_array().unwrap().len(), 16);
    assert!(v["d1"][0].is_number());

    let img = Array3::from_shape_fn((2, 20, 17), |(b, i, j)| signal(400, b as u64)[i * 17 + j]);
    let iin = p(dir.path(), "img.npy");
    write_npy(&iin, img.view().into_dyn()).unwrap();
    let ci = p(dir.path(), "ci.npz");
    ok(&[
        "dwt",
        "--2d",
        "--wavelet",
        "db2",
        "--mode",
        "symmetric",
        "--levels",
        "2",
        "--input",
        s(&iin),
        "--output",
        s(&ci),
    ]);
    let names: Vec<String> = read_npz_f64(&ci).unwrap().into_iter().map(|(n, _)| n).collect();
    assert_eq!(names.len(), 7);
    let r = p(dir.path(), "ri.npy");
    ok(&["idwt", "--2d", "--wavelet", "db2", "--mode", "symmetric", "--input", s(&ci), "--output", s(&r)]);
    let back: ArrayD<f64> = read_npy_f64(&r).unwrap();
    assert_eq!(back.shape(), &[2, 20, 18]);
    assert!((back[[1, 7, 9]] - img[[1, 7, 9]]).abs() < 1e-10);
}

#[test]
fn wavefun_writes_json_and_png_and_distance_prints() {
    let dir = tempfile::tempdir().unwrap();
    let j = p(dir.path(), "wf.json");
    let png = p(dir.path(), "wf.png");
    let (_, said) = ok_both(&["wavefun", "--wavelet", "db5", "--level", "5", "--output", s(&j), "--plot", s(&png)]);
    assert!(said.contains("wrote") && said.contains(s(&png)), "a success says what it wrote: {said}");
    let v: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&j).unwrap()).unwrap();
    assert_eq!(v["psi"].as_array().unwrap().len(), 289);
    let bytes = std::fs::read(&png).unwrap();
    assert_eq!(&bytes[1..4], b"PNG");
    assert!(bytes.len() > 20_000, "a plot with curves and text, not a blank image");
    // a custom wavelet from JSON
    let custom = p(dir.path(), "learned.json");
    let db5 = Wavelet::from_name("db5").unwrap();
    std::fs::write(&custom, serde_json::json!({ "lowpass": db5.rec_lo, "name": "learned" }).to_string()).unwrap();
    let d: serde_json::Value =
        serde_json::from_str(&ok(&["distance", "--wavelet", "sym5", "--reference", "db5"])).unwrap();
    assert!((d["distance"].as_f64().unwrap() - 1.2804442955994846).abs() < 1e-12);
    let d2: serde_json::Value =
        serde_json::from_str(&ok(&["distance", "--wavelet", s(&custom), "--reference", "db5"])).unwrap();
    // pywt's custom grid is one sample shorter; the shifts align it with db5
    assert!(d2["distance"].as_f64().unwrap() < 1e-9, "{d2}");
}

#[test]
fn bench_prints_medians() {
    let v: serde_json::Value = serde_json::from_str(&ok(&[
        "bench",
        "dwt",
        "--wavelet",
        "db5",
        "--levels",
        "4",
        "--batch",
        "50",
        "--length",
        "64",
        "--repeat",
        "3",
    ]))
    .unwrap();
    assert!(v["forward_median_s"].as_f64().unwrap() > 0.0);
    assert!(v["inverse_median_s"].as_f64().unwrap() > 0.0);
    let v2: serde_json::Value =
        serde_json::from_str(&ok(&["bench", "dwt", "--levels", "2", "--2d", "--size", "64", "48", "--repeat", "2"]))
            .unwrap();
    assert_eq!(v2["shape"], serde_json::json!([64, 48]));
    // float32, and the limit: multiply-adds counted from the plan (db5, 10 taps:
    // forward 2 x 10 per coefficient of levels of 24 and 16 coefficients)
    let v3: serde_json::Value = serde_json::from_str(&ok(&[
        "bench",
        "dwt",
        "--levels",
        "2",
        "--batch",
        "3",
        "--length",
        "40",
        "--float32",
        "--repeat",
        "2",
    ]))
    .unwrap();
    assert_eq!(v3["dtype"], "float32");
    assert_eq!(v3["forward_multiply_adds"], 3 * 2 * 10 * (24 + 16));
    assert_eq!(v3["forward_bytes_in_out"], 3 * (40 + 16 + 16 + 24) * 4);
    let limit = v3["forward_limit_s"].as_f64().unwrap();
    assert!(limit >= v3["forward_copy_s"].as_f64().unwrap() && limit > 0.0);
}

#[test]
fn bad_input_is_one_line_and_leaves_no_output() {
    let dir = tempfile::tempdir().unwrap();
    let good = p(dir.path(), "x.npy");
    write_npy(&good, Array1::from(signal(100, 1)).view().into_dyn()).unwrap();
    let out = p(dir.path(), "out.npz");
    let o = s(&out);

    let e = fails(&["dwt", "--wavelet", "db5x", "--levels", "1", "--input", s(&good), "--output", o]);
    assert!(e.contains("unknown wavelet 'db5x'") && e.contains("did you mean 'db5'"), "{e}");

    // levels above dwt_max_level: computed with PyWavelets' warning, as `awd fit` does
    let (_, err) = ok_both(&["dwt", "--wavelet", "db5", "--levels", "5", "--input", s(&good), "--output", o]);
    assert!(
        err.contains("dwt_max_level 3") && err.contains("levels 4 to 5") && err.contains("--force-levels"),
        "{err}"
    );
    let (_, err) =
        ok_both(&["dwt", "--wavelet", "db5", "--levels", "5", "--force-levels", "--input", s(&good), "--output", o]);
    assert!(err.is_empty(), "{err}");
    std::fs::remove_file(&out).unwrap();
    // a negative number gets our message, not clap's "unexpected argument"
    let err = fails_any(&["dwt", "--wavelet", "db5", "--levels", "-1", "--input", s(&good), "--output", o]);
    assert!(err.starts_with("awd: --levels -1: negative values are not accepted"), "{err}");

    let ints = p(dir.path(), "ints.npy");
    std::fs::write(&ints, npy_bytes("<i8", "(3,)", &[0u8; 24])).unwrap();
    let e = fails(&["dwt", "--wavelet", "db5", "--levels", "1", "--input", s(&ints), "--output", o]);
    assert!(e.contains("ints.npy") && e.contains("<i8") && e.contains("float64"), "{e}");

    let rank = p(dir.path(), "rank.npy");
    write_npy(&rank, ArrayD::zeros(ndarray::IxDyn(&[2, 3, 4])).view()).unwrap();
    let e = fails(&["dwt", "--wavelet", "db5", "--levels", "1", "--input", s(&rank), "--output", o]);
    assert!(e.contains("(2, 3, 4)") && e.contains("--2d"), "{e}");

    let nan = p(dir.path(), "nan.npy");
    let mut x = Array2::from_shape_fn((4, 32), |(i, j)| (i + j) as f64);
    x[[2, 17]] = f64::NAN;
    write_npy(&nan, x.view().into_dyn()).unwrap();
    let e = fails(&["dwt", "--wavelet", "db2", "--levels", "1", "--input", s(&nan), "--output", o]);
    assert!(e.contains("NaN at index [2, 17]"), "{e}");

    let corrupt = p(dir.path(), "corrupt.npy");
    std::fs::write(&corrupt, b"\x93NUMPY\x01\x00garbage").unwrap();
    let e = fails(&["dwt", "--wavelet", "db5", "--levels", "1", "--input", s(&corrupt), "--output", o]);
    assert!(e.contains("corrupt.npy"), "{e}");

    let truncated = p(dir.path(), "short.npy");
    let bytes = std::fs::read(&good).unwrap();
    std::fs::write(&truncated, &bytes[..bytes.len() - 40]).unwrap();
    let e = fails(&["dwt", "--wavelet", "db5", "--levels", "1", "--input", s(&truncated), "--output", o]);
    assert!(e.contains("short.npy") && e.contains("truncated"), "{e}");

    let odd = p(dir.path(), "odd.json");
    std::fs::write(&odd, r#"{"lowpass": [0.5, 0.5, 0.1]}"#).unwrap();
    let e = fails(&["dwt", "--wavelet", s(&odd), "--levels", "1", "--input", s(&good), "--output", o]);
    assert!(e.contains("3 taps") && e.contains("even"), "{e}");
    let empty = p(dir.path(), "empty.json");
    std::fs::write(&empty, r#"{"lowpass": []}"#).unwrap();
    let e = fails(&["filters", "--wavelet", s(&empty)]);
    assert!(e.contains("empty"), "{e}");

    let e = fails(&[
        "dwt",
        "--wavelet",
        "db5",
        "--levels",
        "1",
        "--input",
        s(&good),
        "--output",
        s(&p(dir.path(), "c.txt")),
    ]);
    assert!(e.contains(".npz or .json"), "{e}");

    let leftovers: Vec<_> = std::fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert!(!out.exists() && !p(dir.path(), "c.txt").exists(), "partial output left: {leftovers:?}");
    assert!(leftovers.iter().all(|n| !n.to_string_lossy().contains(".tmp-")), "{leftovers:?}");
}

/// A minimal .npy file with the given dtype, shape and raw data.
fn npy_bytes(descr: &str, shape: &str, data: &[u8]) -> Vec<u8> {
    let mut header = format!("{{'descr': '{descr}', 'fortran_order': False, 'shape': {shape}, }}");
    while (10 + header.len() + 1) % 64 != 0 {
        header.push(' ');
    }
    header.push('\n');
    let mut out = b"\x93NUMPY\x01\x00".to_vec();
    out.extend_from_slice(&(header.len() as u16).to_le_bytes());
    out.extend_from_slice(header.as_bytes());
    out.extend_from_slice(data);
    out
}

/// `--help` names the accepted values of every enumerated option.
#[test]
fn help_lists_the_accepted_values() {
    for command in [&["dwt"][..], &["fit"], &["sweep"], &["distill"], &["bench", "fit"]] {
        let help = ok(&[command, &["--help"]].concat());
        for mode in Mode::NAMES {
            assert!(help.contains(mode), "awd {command:?} --help lacks mode {mode}: {help}");
        }
    }
    for command in [&["fit"][..], &["distill"]] {
        let help = ok(&[command, &["--help"]].concat());
        for kind in ["saliency", "input-x-gradient", "integrated-gradients"] {
            assert!(help.contains(kind), "awd {command:?} --help lacks {kind}");
        }
    }
    let help = ok(&["teacher", "train", "--help"]);
    assert!(["mlp", "lstm", "cnn"].iter().all(|a| help.contains(a)), "{help}");
}

/// SIGTERM while `awd dwt` writes a large output: the temporary file is
/// removed, the target never appears, and the exit status says so (130).
#[cfg(unix)]
#[test]
fn a_stopped_dwt_leaves_no_temporary_file() {
    let dir = tempfile::tempdir().unwrap();
    let input = p(dir.path(), "big.npy");
    let x = ndarray::Array2::from_shape_fn((20_000, 256), |(i, t)| ((i * 31 + t * 17) % 101) as f64 / 7.0 - 3.0);
    write_npy(&input, x.view().into_dyn()).unwrap();
    let output = p(dir.path(), "c.json");
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_awd"))
        .args(["dwt", "--wavelet", "db5", "--levels", "3", "--input", s(&input), "--output", s(&output)])
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let temporaries = || -> Vec<String> {
        std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.contains(".tmp-"))
            .collect()
    };
    // wait (without a clock) until the output is being written, then stop the run
    while temporaries().is_empty() {
        assert!(child.try_wait().unwrap().is_none(), "the run ended before its output was seen being written");
        std::thread::yield_now();
    }
    let killed = std::process::Command::new("kill").args(["-TERM", &child.id().to_string()]).status().unwrap();
    assert!(killed.success());
    let out = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(130), "{err}");
    assert!(err.contains("stopped by a signal") && err.contains("1 unfinished file(s) removed"), "{err}");
    assert!(temporaries().is_empty(), "{:?}", temporaries());
    assert!(!output.exists());
}

/// Numerics a user would not want are warned about, not silent: coefficients
/// that overflow from a finite input, an initial filter far from a wavelet,
/// and a learned filter that ended far from one.
#[test]
fn numeric_trouble_is_warned_about() {
    let dir = tempfile::tempdir().unwrap();
    let (xp, _) = signals_file(dir.path(), 64, 32);
    let huge = p(dir.path(), "huge.json");
    std::fs::write(&huge, r#"{"lowpass": [1e308, 1e308]}"#).unwrap();
    let (_, err) = ok_both(&[
        "dwt",
        "--wavelet",
        s(&huge),
        "--levels",
        "1",
        "--input",
        s(&xp),
        "--output",
        s(&p(dir.path(), "c.npz")),
    ]);
    assert!(err.contains("warning") && err.contains("not finite although the input is"), "{err}");
    // a healthy transform says nothing of the kind
    let (_, err) = ok_both(&[
        "dwt",
        "--wavelet",
        "db2",
        "--levels",
        "1",
        "--input",
        s(&xp),
        "--output",
        s(&p(dir.path(), "c.npz")),
    ]);
    assert!(!err.contains("warning"), "{err}");

    let zeros = p(dir.path(), "zeros.json");
    std::fs::write(&zeros, r#"{"lowpass": [0, 0, 0, 0]}"#).unwrap();
    let fit = |wavelet: &str| {
        ok_both(&[
            "fit",
            "--x",
            s(&xp),
            "--wavelet",
            wavelet,
            "--levels",
            "2",
            "--epochs",
            "2",
            "--output",
            s(&p(dir.path(), "w.json")),
        ])
        .1
    };
    let err = fit(s(&zeros));
    assert!(err.contains("initial filter is far from a wavelet"), "{err}");
    assert!(err.contains("learned filter ended far from a wavelet"), "{err}");
    let err = fit("db2");
    assert!(!err.contains("far from a wavelet"), "{err}");
}
