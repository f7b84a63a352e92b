//! Sweeps over a lambda x gamma grid with the reference's warm start: along
//! the first gamma, fits chain through increasing lambda; then for each
//! lambda, fits chain through increasing gamma, each starting from the
//! previous fit's filter. The lambda chains run in parallel. Each finished
//! point is written atomically as it completes, and a re-run skips the points
//! already on disk, so an interrupted sweep resumes where it stopped.

use std::path::Path;

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use super::file::LearnedWavelet;
use super::fit::{fit, FitOutcome, FitSettings, Progress};
use super::objective::LossTerms;
use super::problem::Problem;
use super::validity::Validity;
use crate::error::{Error, Result};
use crate::io::{write_atomic, write_json_atomic, IoError};

/// Identity of a sweep, checked before resuming one.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SweepSpec {
    /// Grid values of lambda, increasing.
    pub lambdas: Vec<f64>,
    /// Grid values of gamma, increasing.
    pub gammas: Vec<f64>,
    /// Settings shared by every point (lambda and gamma are overridden).
    pub base: FitSettings,
    /// The filter the first chain starts from.
    pub initial_lowpass: Vec<f64>,
    /// Fingerprint of the data (see [`Problem::fingerprint`]).
    pub data_fingerprint: String,
    /// Caller's settings recorded in every point file.
    pub extra: serde_json::Value,
}

/// One finished grid point.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SweepPoint {
    /// lambda of the point.
    pub lambda: f64,
    /// gamma of the point.
    pub gamma: f64,
    /// Index of lambda in the grid.
    pub lambda_index: usize,
    /// Index of gamma in the grid.
    pub gamma_index: usize,
    /// File of the point, relative to the sweep folder.
    pub file: String,
    /// Loss terms of the last epoch.
    pub final_terms: LossTerms,
    /// Validity penalties of the learned filter.
    pub validity: Validity,
    /// The learned filter.
    pub lowpass: Vec<f64>,
}

/// Sort, deduplicate and check grid values (finite, >= 0).
pub fn grid_values(name: &str, values: &[f64]) -> Result<Vec<f64>> {
    if values.is_empty() {
        return Err(Error::InvalidArgument { reason: format!("the {name} grid is empty") });
    }
    if let Some(v) = values.iter().find(|v| !(v.is_finite() && **v >= 0.0)) {
        return Err(Error::InvalidArgument { reason: format!("{name} must be finite and >= 0, got {v}") });
    }
    let mut v = values.to_vec();
    v.sort_by(|a, b| a.total_cmp(b));
    v.dedup();
    Ok(v)
}

/// `count` values spaced evenly in log10 between `lo` and `hi` (inclusive).
pub fn log_space(lo: f64, hi: f64, count: usize) -> Result<Vec<f64>> {
    if !(lo > 0.0 && hi >= lo && lo.is_finite() && hi.is_finite()) || count == 0 {
        return Err(Error::InvalidArgument {
            reason: format!("a log-spaced range needs 0 < lo <= hi and a count >= 1, got {lo}..{hi} x {count}"),
        });
    }
    if count == 1 {
        return Ok(vec![lo]);
    }
    let (a, b) = (lo.log10(), hi.log10());
    Ok((0..count).map(|i| 10f64.powf(a + (b - a) * i as f64 / (count - 1) as f64)).collect())
}

fn point_file(li: usize, gi: usize) -> String {
    format!("point_l{li:03}_g{gi:03}.json")
}

/// Run (or resume) a sweep, writing into `dir`: `sweep.json` (the spec), one
/// learned-wavelet file per point, and `summary.json` / `summary.md`.
pub fn sweep(
    problem: &Problem,
    spec: &SweepSpec,
    dir: &Path,
    progress: &dyn Progress,
) -> Result<Vec<SweepPoint>, IoError> {
    std::fs::create_dir_all(dir).map_err(|e| IoError::Write { path: dir.to_path_buf(), source: e })?;
    let spec_path = dir.join("sweep.json");
    if spec_path.exists() {
        let text =
            std::fs::read_to_string(&spec_path).map_err(|e| IoError::Read { path: spec_path.clone(), source: e })?;
        let old: SweepSpec = serde_json::from_str(&text)
            .map_err(|e| IoError::Format { path: spec_path.clone(), reason: format!("not a sweep spec ({e})") })?;
        if old != *spec {
            return Err(IoError::Format {
                path: spec_path,
                reason: "this folder holds a different sweep (other data, grid, settings or initial filter); \
                         use a new output folder, or delete the folder to start over"
                    .into(),
            });
        }
    } else {
        write_json_atomic(&spec_path, spec)?;
    }
    let run_point = |li: usize, gi: usize, start: &[f64]| -> Result<SweepPoint, IoError> {
        let mut s = spec.base.clone();
        s.penalties.lambda = spec.lambdas[li];
        s.penalties.gamma = spec.gammas[gi];
        let file = point_file(li, gi);
        let path = dir.join(&file);
        let outcome = match load_point(&path, &s)? {
            Some(o) => {
                progress.fit_done(s.epochs);
                o
            }
            None => {
                let o = fit(problem, start, &s, progress)?;
                let extra = merge(&spec.extra, serde_json::json!({ "lambda_index": li, "gamma_index": gi }));
                let name = format!("awd-l{li}-g{gi}");
                LearnedWavelet::new(&name, &o, &s, extra).save(&path)?;
                o
            }
        };
        Ok(SweepPoint {
            lambda: s.penalties.lambda,
            gamma: s.penalties.gamma,
            lambda_index: li,
            gamma_index: gi,
            file,
            final_terms: outcome.history.last().expect("history has epoch 0").terms,
            validity: outcome.validity,
            lowpass: outcome.lowpass,
        })
    };
    // first gamma: one chain through increasing lambda
    let mut first_column = Vec::with_capacity(spec.lambdas.len());
    let mut start = spec.initial_lowpass.clone();
    for li in 0..spec.lambdas.len() {
        let p = run_point(li, 0, &start)?;
        start = p.lowpass.clone();
        first_column.push(p);
    }
    // then one chain per lambda through increasing gamma, in parallel
    let rows: Vec<Result<Vec<SweepPoint>, IoError>> = first_column
        .par_iter()
        .map(|p0| {
            let mut row = vec![p0.clone()];
            for gi in 1..spec.gammas.len() {
                let next = run_point(p0.lambda_index, gi, &row.last().expect("non-empty").lowpass)?;
                row.push(next);
            }
            Ok(row)
        })
        .collect();
    let mut points = Vec::new();
    for r in rows {
        points.extend(r?);
    }
    write_summary(dir, &points)?;
    Ok(points)
}

fn merge(a: &serde_json::Value, b: serde_json::Value) -> serde_json::Value {
    let mut out = a.as_object().cloned().unwrap_or_default();
    if let serde_json::Value::Object(b) = b {
        out.extend(b);
    }
    serde_json::Value::Object(out)
}

/// A finished point on disk, if its fit settings are the expected ones.
fn load_point(path: &Path, expected: &FitSettings) -> Result<Option<FitOutcome>, IoError> {
    if !path.exists() {
        return Ok(None);
    }
    let lw = LearnedWavelet::load(path)?;
    let settings: FitSettings = serde_json::from_value(lw.settings.clone()).map_err(|e| IoError::Format {
        path: path.to_path_buf(),
        reason: format!("settings unreadable ({e}); delete the file to recompute it"),
    })?;
    if settings != *expected {
        return Err(IoError::Format {
            path: path.to_path_buf(),
            reason: "was written with other settings; delete it (or the folder) to recompute".into(),
        });
    }
    let batch_size_used = lw.settings.get("batch_size_used").and_then(|v| v.as_u64()).unwrap_or(0) as usize;
    Ok(Some(FitOutcome {
        lowpass: lw.lowpass,
        history: lw.history,
        validity: lw.validity,
        batch_size_used,
        stopped_at: None,
    }))
}

/// `summary.json` (every point) and `summary.md` (a table), atomically.
fn write_summary(dir: &Path, points: &[SweepPoint]) -> Result<(), IoError> {
    write_json_atomic(&dir.join("summary.json"), &points)?;
    let path = dir.join("summary.md");
    write_atomic(&path, |w| {
        use std::io::Write;
        let mut text = String::from(
            "| lambda | gamma | total | reconstruction | l1 coefficients | l1 attributions | validity (sum) | file |\n\
             |---|---|---|---|---|---|---|---|\n",
        );
        for p in points {
            let v = &p.validity;
            let vsum = v.total();
            let t = &p.final_terms;
            text.push_str(&format!(
                "| {:.3e} | {:.3e} | {:.4e} | {:.4e} | {:.4e} | {:.4e} | {:.2e} | {} |\n",
                p.lambda, p.gamma, t.total, t.reconstruction, t.l1_coefficients, t.l1_attributions, vsum, p.file
            ));
        }
        w.write_all(text.as_bytes()).map_err(|e| IoError::Write { path: path.to_path_buf(), source: e })
    })
}
