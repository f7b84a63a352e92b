//! A spread over runs of the cosmology experiment that differ only in their
//! seed.
//!
//! One run's paired bootstrap resamples its test maps and holds everything
//! else fixed: the maps it trained on, its teacher, its sweep. A new seed
//! draws new maps, trains a new teacher and distils again, and the ordering
//! of AWD and db5 has been seen to change with it. For each comparison
//! (AWD minus another model, per estimator) this gathers every run's
//! bootstrap mean and interval, and across runs the mean, the standard
//! deviation and a Student-t interval for the mean over seeds (the runs are
//! independent draws of the whole experiment; n - 1 degrees of freedom).

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use awd_core::io::{read_json_text, write_json_atomic};
use serde::Serialize;
use serde_json::Value;
use statrs::distribution::{ContinuousCDF, StudentsT};

use super::stages::{prepare_dir, write_text, Interval, MeanStd, INTERVAL};
use crate::error::{Error, Result};

/// The settings (JSON pointers into results.json) that runs must share to
/// be seeds of one experiment: everything that decides the experiment
/// except the seed.
pub const SHARED_SETTINGS: [&str; 25] = [
    "/experiment",
    "/quick",
    "/maps/source",
    "/maps/train",
    "/maps/val",
    "/maps/test",
    "/maps/height",
    "/maps/width",
    "/distillation/lambdas",
    "/distillation/gammas_relative",
    "/distillation/epochs",
    "/distillation/levels",
    "/distillation/mode",
    "/distillation/init",
    "/distillation/attribution",
    "/distillation/batch_size",
    "/distillation/lr",
    "/distillation/max_validity",
    "/teacher/arch",
    "/teacher/epochs_max",
    "/teacher/augment",
    "/teacher/config/hidden",
    "/teacher/config/blocks",
    "/teacher/config/stem_stride",
    "/bootstrap_resamples",
];

/// The test RMSEs gathered from each run: label and JSON pointer.
pub const RMSE_ROWS: [(&str, &str); 11] = [
    ("AWD, nearest", "/rmse_omega_m/awd/value"),
    ("db5, nearest", "/rmse_omega_m/db5/value"),
    ("peak height, nearest", "/rmse_omega_m/peak_height/value"),
    ("Roberts, nearest", "/rmse_omega_m/roberts/value"),
    ("Laplace, nearest", "/rmse_omega_m/laplace/value"),
    ("AWD, posterior mean", "/rmse_omega_m/awd_posterior/value"),
    ("db5, posterior mean", "/rmse_omega_m/db5/posterior_mean/value"),
    ("peak height, posterior mean", "/rmse_omega_m/peak_height/posterior_mean/value"),
    ("Roberts, posterior mean", "/rmse_omega_m/roberts/posterior_mean/value"),
    ("Laplace, posterior mean", "/rmse_omega_m/laplace/posterior_mean/value"),
    ("CNN", "/rmse_omega_m/cnn/value"),
];

/// The paired differences gathered from each run: label and JSON pointer
/// of its `{mean, lo, hi}`.
pub const DIFFERENCE_ROWS: [(&str, &str); 9] = [
    ("AWD - db5, nearest", "/rmse_omega_m/awd_minus/nearest/db5"),
    ("AWD - peak height, nearest", "/rmse_omega_m/awd_minus/nearest/peak_height"),
    ("AWD - Roberts, nearest", "/rmse_omega_m/awd_minus/nearest/roberts"),
    ("AWD - Laplace, nearest", "/rmse_omega_m/awd_minus/nearest/laplace"),
    ("AWD - db5, posterior mean", "/rmse_omega_m/awd_minus/posterior_mean/db5"),
    ("AWD - peak height, posterior mean", "/rmse_omega_m/awd_minus/posterior_mean/peak_height"),
    ("AWD - Roberts, posterior mean", "/rmse_omega_m/awd_minus/posterior_mean/roberts"),
    ("AWD - Laplace, posterior mean", "/rmse_omega_m/awd_minus/posterior_mean/laplace"),
    ("AWD - CNN, nearest", "/rmse_omega_m/awd_minus/cnn"),
];

/// Scale of the printed (and plotted) RMSE values: Omega_m x 1e-2, as in
/// the experiment's report.
pub const PRINT_SCALE: f64 = 100.0;

/// One run: its folder and seed.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RunId {
    /// The run's output folder.
    pub dir: String,
    /// Its seed.
    pub seed: u64,
}

/// Values of one quantity across runs: their mean, sample standard
/// deviation and the Student-t [`INTERVAL`] interval for the mean.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct AcrossRuns {
    /// Mean over the runs.
    pub mean: f64,
    /// Sample standard deviation over the runs.
    pub std: f64,
    /// Lower end of the interval for the mean.
    pub lo: f64,
    /// Upper end.
    pub hi: f64,
}

impl AcrossRuns {
    /// Of the values of at least two runs.
    pub fn of(values: &[f64]) -> Result<Self> {
        let n = values.len();
        if n < 2 {
            return Err(Error::Input(format!("a spread needs at least two runs; got {n}")));
        }
        let MeanStd { mean, std } = MeanStd::of(values);
        let t = StudentsT::new(0.0, 1.0, (n - 1) as f64)
            .map_err(|e| Error::Input(format!("Student-t with {} degrees of freedom: {e}", n - 1)))?
            .inverse_cdf(1.0 - (1.0 - INTERVAL) / 2.0);
        let half = t * std / (n as f64).sqrt();
        Ok(AcrossRuns { mean, std, lo: mean - half, hi: mean + half })
    }
}

/// A test RMSE in every run.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RmseRow {
    /// What it is.
    pub label: String,
    /// Where it is in results.json.
    pub key: String,
    /// Its value in each run, in run order.
    pub per_run: Vec<f64>,
    /// Across the runs.
    pub across: AcrossRuns,
}

/// A paired difference AWD - model in every run.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DifferenceRow {
    /// What it is.
    pub label: String,
    /// Where it is in results.json.
    pub key: String,
    /// Each run's bootstrap mean and interval, in run order.
    pub per_run: Vec<Interval>,
    /// Across the runs' bootstrap means.
    pub across: AcrossRuns,
    /// Runs whose interval lies below 0 (AWD better).
    pub runs_below_zero: usize,
    /// Runs whose interval lies above 0 (the other model better).
    pub runs_above_zero: usize,
}

/// The spread over seeds (spread.json).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Spread {
    /// `cosmology`.
    pub experiment: String,
    /// The runs, in the order given.
    pub runs: Vec<RunId>,
    /// Central probability of every interval.
    pub interval: f64,
    /// The settings the runs share ([`SHARED_SETTINGS`], the first run's).
    pub settings: serde_json::Map<String, Value>,
    /// Test RMSEs.
    pub rmse: Vec<RmseRow>,
    /// Paired differences, AWD minus each model.
    pub differences: Vec<DifferenceRow>,
}

/// A run's results.json, parsed, with its path.
struct RunResults {
    path: PathBuf,
    json: Value,
}

impl RunResults {
    /// The results.json of the run in `dir`.
    fn read(dir: &Path) -> Result<Self> {
        let path = dir.join("results.json");
        let text = read_json_text(&path)?;
        let json: Value = serde_json::from_str(&text)
            .map_err(|e| Error::data(path.display().to_string(), format!("not JSON ({e})")))?;
        Ok(RunResults { path, json })
    }

    /// An error about this file.
    fn error(&self, reason: String) -> Error {
        Error::data(self.path.display().to_string(), reason)
    }

    /// The number at `pointer`.
    fn number(&self, pointer: &str) -> Result<f64> {
        self.json
            .pointer(pointer)
            .and_then(Value::as_f64)
            .ok_or_else(|| self.error(format!("has no number at {pointer}: not a complete cosmology results.json")))
    }

    /// The interval `{mean, lo, hi}` at `pointer`.
    fn interval(&self, pointer: &str) -> Result<Interval> {
        let at = |end: &str| self.number(&format!("{pointer}/{end}"));
        Ok(Interval { mean: at("mean")?, lo: at("lo")?, hi: at("hi")? })
    }
}

/// The spread over the cosmology runs in `dirs` (each an `awd experiment
/// cosmology --output-dir` folder): at least two runs, distinct seeds, the
/// same [`SHARED_SETTINGS`].
pub fn cosmology_spread(dirs: &[PathBuf]) -> Result<Spread> {
    if dirs.len() < 2 {
        return Err(Error::Input(format!(
            "a spread over seeds needs at least two run folders; got {}: run `awd experiment cosmology` with \
             another --seed and --output-dir, and give both folders",
            dirs.len()
        )));
    }
    let runs: Vec<RunResults> = dirs.iter().map(|d| RunResults::read(d)).collect::<Result<_>>()?;
    let mut ids: Vec<RunId> = Vec::with_capacity(runs.len());
    for (run, dir) in runs.iter().zip(dirs) {
        let experiment = run.json.pointer("/experiment").and_then(Value::as_str).unwrap_or("unknown");
        if experiment != "cosmology" {
            return Err(run.error(format!(
                "holds a run of the {experiment} experiment; the spread over seeds is computed for runs of \
                 `awd experiment cosmology`"
            )));
        }
        let seed = run.json.pointer("/seed").and_then(Value::as_u64).ok_or_else(|| {
            run.error(format!(
                "records no seed: it was written before results.json recorded one. Run its command again with its \
                 seed (`awd experiment cosmology --output-dir {} --seed N` and its other options): the run resumes \
                 from its teacher and sweep and rewrites results.json with the seed",
                dir.display()
            ))
        })?;
        if let Some(twin) = ids.iter().find(|r| r.seed == seed) {
            return Err(run.error(format!(
                "has seed {seed}, as {} does: the same seed twice is one draw counted twice",
                twin.dir
            )));
        }
        ids.push(RunId { dir: dir.display().to_string(), seed });
    }
    let first = &runs[0];
    let mut settings = serde_json::Map::new();
    for pointer in SHARED_SETTINGS {
        let expected = first.json.pointer(pointer).cloned().unwrap_or(Value::Null);
        for run in &runs[1..] {
            let found = run.json.pointer(pointer).cloned().unwrap_or(Value::Null);
            if found != expected {
                return Err(run.error(format!(
                    "differs from {} in {pointer}: {found} against {expected}; a spread over seeds needs runs that \
                     differ only in their seed",
                    first.path.display()
                )));
            }
        }
        settings.insert(pointer.to_string(), expected);
    }
    let rmse = RMSE_ROWS
        .iter()
        .map(|&(label, key)| {
            let per_run = runs.iter().map(|r| r.number(key)).collect::<Result<Vec<_>>>()?;
            Ok(RmseRow { label: label.into(), key: key.into(), across: AcrossRuns::of(&per_run)?, per_run })
        })
        .collect::<Result<_>>()?;
    let differences = DIFFERENCE_ROWS
        .iter()
        .map(|&(label, key)| {
            let per_run = runs.iter().map(|r| r.interval(key)).collect::<Result<Vec<_>>>()?;
            let means: Vec<f64> = per_run.iter().map(|i| i.mean).collect();
            Ok(DifferenceRow {
                label: label.into(),
                key: key.into(),
                across: AcrossRuns::of(&means)?,
                runs_below_zero: per_run.iter().filter(|i| i.hi < 0.0).count(),
                runs_above_zero: per_run.iter().filter(|i| i.lo > 0.0).count(),
                per_run,
            })
        })
        .collect::<Result<_>>()?;
    Ok(Spread { experiment: "cosmology".into(), runs: ids, interval: INTERVAL, settings, rmse, differences })
}

impl Spread {
    /// The spread as Markdown tables (values x 1e-2).
    pub fn report(&self) -> String {
        let pct = (self.interval * 100.0).round();
        let n = self.runs.len();
        let seeds: Vec<String> = self.runs.iter().map(|r| r.seed.to_string()).collect();
        let mut s = format!(
            "# Spread over {n} seeds ({})\n\nEach seed draws new maps, trains a new teacher and distils again. \
             Per run: the paired-bootstrap mean and {pct:.0} % interval on that run's test maps. Across runs: \
             the mean of the runs' values, their standard deviation, and the {pct:.0} % Student-t interval for \
             the mean (n - 1 = {} degree{} of freedom). RMSE of Omega_m x 1e-2.\n\n",
            seeds.join(", "),
            n - 1,
            if n == 2 { "" } else { "s" }
        );
        let run_cols: String = self.runs.iter().map(|r| format!(" seed {} |", r.seed)).collect();
        let rule: String = "---|".repeat(n);
        let _ = writeln!(s, "## AWD minus each model\n");
        let _ = writeln!(s, "| comparison |{run_cols} mean [interval] | std | runs below 0 / above 0 |");
        let _ = writeln!(s, "|---|{rule}---|---|---|");
        for row in &self.differences {
            let cells: String =
                row.per_run.iter().map(|i| format!(" {} |", bracketed(i.mean, i.lo, i.hi, true))).collect();
            let a = &row.across;
            let _ = writeln!(
                s,
                "| {} |{cells} {} | {:.3} | {} / {} of {n} |",
                row.label,
                bracketed(a.mean, a.lo, a.hi, true),
                a.std * PRINT_SCALE,
                row.runs_below_zero,
                row.runs_above_zero
            );
        }
        let _ = writeln!(s, "\n## Test RMSE\n");
        let _ = writeln!(s, "| model |{run_cols} mean [interval] | std |");
        let _ = writeln!(s, "|---|{rule}---|---|");
        for row in &self.rmse {
            let cells: String = row.per_run.iter().map(|v| format!(" {:.3} |", v * PRINT_SCALE)).collect();
            let a = &row.across;
            let _ = writeln!(
                s,
                "| {} |{cells} {} | {:.3} |",
                row.label,
                bracketed(a.mean, a.lo, a.hi, false),
                a.std * PRINT_SCALE
            );
        }
        s
    }

    /// Write spread.json and spread.md into `dir` (atomically).
    pub fn write(&self, dir: &Path) -> Result<()> {
        prepare_dir(dir)?;
        write_json_atomic(&dir.join("spread.json"), self)?;
        write_text(&dir.join("spread.md"), &self.report())
    }
}

/// `mean [lo, hi]` in the report's unit, with a sign on every value when
/// `signed` (differences) or only on negative ones (RMSEs).
fn bracketed(mean: f64, lo: f64, hi: f64, signed: bool) -> String {
    let [m, l, h] = [mean, lo, hi].map(|v| v * PRINT_SCALE);
    if signed {
        format!("{m:+.3} [{l:+.3}, {h:+.3}]")
    } else {
        format!("{m:.3} [{l:.3}, {h:.3}]")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A results.json with the keys the spread reads: every RMSE `rmse`,
    /// every difference `diff` with the interval `diff +- 0.001`.
    fn results(seed: Option<u64>, rmse: f64, diff: f64, epochs: usize) -> Value {
        let mut v = serde_json::json!({ "experiment": "cosmology", "distillation": { "epochs": epochs } });
        if let Some(s) = seed {
            v["seed"] = s.into();
        }
        for (_, key) in RMSE_ROWS {
            set(&mut v, key, rmse.into());
        }
        for (_, key) in DIFFERENCE_ROWS {
            set(&mut v, key, serde_json::json!({ "mean": diff, "lo": diff - 0.001, "hi": diff + 0.001 }));
        }
        v
    }

    fn set(v: &mut Value, pointer: &str, value: Value) {
        let mut at = v;
        for part in pointer.trim_start_matches('/').split('/') {
            at = at.as_object_mut().unwrap().entry(part).or_insert_with(|| serde_json::json!({}));
        }
        *at = value;
    }

    fn runs(results: &[Value]) -> (tempfile::TempDir, Vec<PathBuf>) {
        let root = tempfile::tempdir().unwrap();
        let dirs = results
            .iter()
            .enumerate()
            .map(|(k, r)| {
                let d = root.path().join(format!("run{k}"));
                std::fs::create_dir_all(&d).unwrap();
                std::fs::write(d.join("results.json"), r.to_string()).unwrap();
                d
            })
            .collect();
        (root, dirs)
    }

    /// Mean, sample std and the t-interval against values computed by hand
    /// (t quantile 0.975 with 2 degrees of freedom: 4.302653).
    #[test]
    fn the_interval_over_runs_is_students() {
        let a = AcrossRuns::of(&[1.0, 2.0, 6.0]).unwrap();
        assert_eq!(a.mean, 3.0);
        let std = 7f64.sqrt();
        assert!((a.std - std).abs() < 1e-12);
        let half = 4.302652729749464 * std / 3f64.sqrt();
        assert!((a.hi - (3.0 + half)).abs() < 1e-9 && (a.lo - (3.0 - half)).abs() < 1e-9, "{a:?}");
        assert!(AcrossRuns::of(&[1.0]).is_err());
    }

    /// Per-run values in run order, the count of runs on each side of 0,
    /// and a mean across runs that a sign change in one run moves.
    #[test]
    fn the_spread_gathers_each_run_and_counts_the_sides_of_zero() {
        let (_root, dirs) = runs(&[
            results(Some(0), 0.02, -0.002, 50),
            results(Some(1), 0.03, 0.003, 50),
            results(Some(2), 0.025, -0.001, 50),
        ]);
        let s = cosmology_spread(&dirs).unwrap();
        assert_eq!(s.runs.iter().map(|r| r.seed).collect::<Vec<_>>(), vec![0, 1, 2]);
        let d = &s.differences[0];
        assert_eq!(d.per_run.iter().map(|i| i.mean).collect::<Vec<_>>(), vec![-0.002, 0.003, -0.001]);
        assert_eq!((d.runs_below_zero, d.runs_above_zero), (1, 1), "the third run's interval spans 0");
        assert!((d.across.mean - 0.0).abs() < 1e-15);
        assert!(d.across.lo < 0.0 && d.across.hi > 0.0);
        assert!((s.rmse[0].across.mean - 0.025).abs() < 1e-15);
        assert!(s.report().contains("| AWD - db5, nearest | -0.200 [-0.300, -0.100] |"), "{}", s.report());
    }

    /// Runs that differ in a setting, share a seed, record no seed or are
    /// fewer than two are refused, naming the file and the value.
    #[test]
    fn runs_that_are_not_seeds_of_one_experiment_are_refused() {
        let err = |rs: &[Value]| {
            let (_root, dirs) = runs(rs);
            cosmology_spread(&dirs).unwrap_err().to_string()
        };
        let e = err(&[results(Some(0), 0.02, 0.0, 50), results(Some(1), 0.02, 0.0, 10)]);
        assert!(e.contains("run1/results.json") && e.contains("/distillation/epochs: 10 against 50"), "{e}");
        let e = err(&[results(Some(3), 0.02, 0.0, 50), results(Some(3), 0.02, 0.0, 50)]);
        assert!(e.contains("has seed 3") && e.contains("run0"), "{e}");
        let e = err(&[results(Some(0), 0.02, 0.0, 50), results(None, 0.02, 0.0, 50)]);
        assert!(e.contains("records no seed") && e.contains("--seed"), "{e}");
        let e = err(&[results(Some(0), 0.02, 0.0, 50)]);
        assert!(e.contains("at least two"), "{e}");
        let mut clathrin = results(Some(1), 0.02, 0.0, 50);
        clathrin["experiment"] = "clathrin".into();
        let e = err(&[results(Some(0), 0.02, 0.0, 50), clathrin]);
        assert!(e.contains("clathrin experiment"), "{e}");
        let mut partial = results(Some(1), 0.02, 0.0, 50);
        partial["rmse_omega_m"].as_object_mut().unwrap().remove("cnn");
        let e = err(&[results(Some(0), 0.02, 0.0, 50), partial]);
        assert!(e.contains("/rmse_omega_m/cnn/value"), "{e}");
        let root = tempfile::tempdir().unwrap();
        let e = cosmology_spread(&[root.path().join("a"), root.path().join("b")]).unwrap_err().to_string();
        assert!(e.contains("a/results.json"), "{e}");
    }
}
