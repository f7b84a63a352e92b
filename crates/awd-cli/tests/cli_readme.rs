//! The README's CLI tour runs as written, line by line, on small data: the
//! test reads the block from README.md, so an example that stops working
//! (a renamed flag, a changed default) fails here.
//!
//! Made small, not rewritten: every `--epochs` becomes 2, the experiments
//! (but `experiment spread`, which reads their folders) get `--quick`, simulated maps are 20 per cosmology, `awd bench fit` takes
//! 1,000 samples and one epoch, and optional parts in `[...]` are left out.

mod common;

use std::path::Path;

use awd::io::write_npy;
use ndarray::{Array1, Array2, Array3};

/// The first ```bash block after the heading `## A short tour of the CLI`.
fn tour_block() -> String {
    let readme = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../../README.md")).unwrap();
    let tour = readme.split("## A short tour of the CLI").nth(1).expect("README has the CLI tour");
    let block = tour.split("```bash\n").nth(1).expect("a bash block in the tour");
    block.split("```").next().unwrap().to_string()
}

/// The commands of a block: continuations joined, comments and `[...]`
/// optional parts dropped.
fn commands(block: &str) -> Vec<String> {
    let joined = block.replace("\\\n", " ");
    joined
        .lines()
        .map(|l| l.split(" #").next().unwrap().trim())
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(|l| {
            let mut out = String::new();
            let mut depth = 0;
            for c in l.chars() {
                match c {
                    '[' => depth += 1,
                    ']' => depth -= 1,
                    _ if depth == 0 => out.push(c),
                    _ => {}
                }
            }
            out.split_whitespace().collect::<Vec<_>>().join(" ")
        })
        .collect()
}

/// A command made small (see the module's doc).
fn small(command: &str) -> Vec<String> {
    let mut args: Vec<String> = command.split_whitespace().skip(1).map(String::from).collect();
    for i in 0..args.len().saturating_sub(1) {
        match args[i].as_str() {
            "--epochs" => args[i + 1] = "2".into(),
            "--maps-per-cosmology" => args[i + 1] = "20".into(),
            _ => {}
        }
    }
    if args.first().map(String::as_str) == Some("experiment") && args.get(1).map(String::as_str) != Some("spread") {
        args.push("--quick".into());
    }
    if args.len() == 2 && args[0] == "bench" && args[1] == "fit" {
        args.extend(["--samples", "1000", "--epochs", "1"].map(String::from));
    }
    args
}

/// The files the tour reads, small: signals of 64, maps of 32 x 32 (the
/// quick cosmology's size), traces of 40 (the clathrin model's length).
fn write_inputs(dir: &Path) {
    let signals = |n: usize, len: usize, seed: usize| {
        Array2::from_shape_fn((n, len), |(i, t)| (((i * 31 + t * 7 + seed) % 23) as f64 - 11.0) / 5.0)
    };
    let save = |name: &str, a: ndarray::ArrayViewD<'_, f64>| write_npy(&dir.join(name), a).unwrap();
    let x = signals(240, 64, 0);
    save("x.npy", x.view().into_dyn());
    save("X.npy", x.view().into_dyn());
    save("G.npy", signals(240, 64, 5).mapv(|v| v / 64.0).view().into_dyn());
    save("y.npy", x.sum_axis(ndarray::Axis(1)).view().into_dyn());
    save("groups.npy", Array1::from_shape_fn(240, |i| (i % 6) as f64).view().into_dyn());
    let xt = signals(60, 64, 9);
    save("Xt.npy", xt.view().into_dyn());
    save("yt.npy", xt.sum_axis(ndarray::Axis(1)).view().into_dyn());
    save("X_new.npy", signals(10, 64, 3).view().into_dyn());
    save("traces.npy", signals(10, 40, 2).view().into_dyn());
    let maps = Array3::from_shape_fn((4, 32, 32), |(i, r, c)| ((i * 5 + r * 3 + c * 11) % 17) as f64 / 170.0);
    save("maps.npy", maps.view().into_dyn());
    // the tour plots a learned wavelet before it fits one: start from db5's file
    let (db5, _) = common::ok_both(&["filters", "--wavelet", "db5"]);
    let rec_lo = serde_json::from_str::<serde_json::Value>(&db5).unwrap()["rec_lo"].clone();
    std::fs::write(dir.join("learned.json"), serde_json::json!({ "lowpass": rec_lo }).to_string()).unwrap();
    // the clathrin tracks where the tour expects them
    std::fs::create_dir_all(dir.join("data")).unwrap();
    #[cfg(unix)]
    std::os::unix::fs::symlink(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../data/clathrin"),
        dir.join("data/clathrin"),
    )
    .unwrap();
}

#[test]
fn the_readme_cli_tour_runs_as_written_on_small_data() {
    if !cfg!(unix) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    write_inputs(dir.path());
    let commands = commands(&tour_block());
    assert!(commands.len() >= 20, "the tour should hold the CLI's commands: {commands:?}");
    for command in &commands {
        assert!(command.starts_with("awd "), "{command}");
        let args = small(command);
        let out =
            std::process::Command::new(env!("CARGO_BIN_EXE_awd")).args(&args).current_dir(dir.path()).output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "README command failed: {command}\n(run as awd {})\n{err}", args.join(" "));
        assert!(!err.contains("panicked"), "{command}: {err}");
    }
    // the files the tour says it writes
    for f in ["coeffs.npz", "coeffs.json", "x_rec.npy", "wf.png", "learned.png", "adaptive.json", "sweep/summary.md"] {
        assert!(dir.path().join(f).exists(), "{f}");
    }
    for f in [
        "out/models/awd.json",
        "y_new.npy",
        "out/synthetic/report.md",
        "out/cosmology/report.md",
        "out/spread/spread.md",
    ] {
        assert!(dir.path().join(f).exists(), "{f}");
    }
}
