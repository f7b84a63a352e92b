//! Pieces every pipeline shares: timed stages, prediction timing, cached
//! teachers (reused only for the same data and options), report files.

use std::path::Path;
use std::time::Instant;

use awd_core::distill::Progress;
use awd_core::interp::quantile;
use awd_core::io::{fingerprint_f64, write_atomic, write_json_atomic, IoError};
use awd_teachers::{train, Teacher, TeacherConfig, TrainOptions};
use ndarray::{ArrayView1, ArrayView2};
use serde::Serialize;

use crate::error::Result;

/// Wall time of named stages, in order.
#[derive(Debug, Default, Clone)]
pub struct Timings(pub Vec<(String, f64)>);

impl Timings {
    /// Run `f` as stage `name`, record its wall time and report it to
    /// `progress` when it finishes.
    pub fn stage<T>(&mut self, progress: &dyn Progress, name: &str, f: impl FnOnce() -> Result<T>) -> Result<T> {
        let t = Instant::now();
        let out = f()?;
        let seconds = t.elapsed().as_secs_f64();
        progress.stage(name, seconds);
        self.0.push((name.to_string(), seconds));
        Ok(out)
    }

    /// Append the stages of `other` (a pipeline run inside this one), each
    /// name prefixed with `prefix`.
    pub fn append(&mut self, prefix: &str, other: &Timings) {
        self.0.extend(other.0.iter().map(|(k, v)| (format!("{prefix}{k}"), *v)));
    }

    /// As a JSON object `{stage: seconds}`.
    pub fn json(&self) -> serde_json::Value {
        serde_json::Value::Object(self.0.iter().map(|(k, v)| (k.clone(), serde_json::json!(v))).collect())
    }
}

impl Serialize for Timings {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        self.json().serialize(s)
    }
}

/// Seconds to predict 1,000 samples with `f` (which predicts `n`): one
/// warm-up call, then the mean over `reps` calls.
pub fn per_thousand(n: usize, reps: usize, mut f: impl FnMut() -> Result<()>) -> Result<f64> {
    f()?;
    let t = Instant::now();
    for _ in 0..reps {
        f()?;
    }
    Ok(t.elapsed().as_secs_f64() / reps as f64 / n.max(1) as f64 * 1000.0)
}

/// Whether the JSON key file at `path` holds exactly `key` (a cached result
/// beside it then belongs to the same inputs).
pub fn key_matches(path: &Path, key: &serde_json::Value) -> bool {
    std::fs::read_to_string(path).ok().and_then(|t| serde_json::from_str::<serde_json::Value>(&t).ok()).as_ref()
        == Some(key)
}

/// The data and options a teacher was fitted on, as a comparable key.
fn training_key(x: ArrayView2<'_, f64>, y: ArrayView2<'_, f64>, opts: &TrainOptions) -> serde_json::Value {
    let hash = fingerprint_f64(x.iter().chain(y.iter()));
    serde_json::json!({ "data": format!("{}x{}+{}-{hash}", x.nrows(), x.ncols(), y.ncols()), "options": opts })
}

/// The teacher saved at `path` when one with the expected architecture,
/// fitted on the same data with the same options, is there (so a re-run
/// resumes), else a new one trained (epochs reported to `progress`) and
/// saved there with its training key (`*.training.json`) beside it.
pub fn reuse_or_train(
    path: &Path,
    config: TeacherConfig,
    seed: u64,
    x: ArrayView2<'_, f64>,
    y: ArrayView2<'_, f64>,
    opts: &TrainOptions,
    progress: &dyn Progress,
) -> Result<Teacher> {
    let key = training_key(x, y, opts);
    let key_path = path.with_extension("training.json");
    if let (true, Ok(t)) = (key_matches(&key_path, &key), Teacher::load(path)) {
        let expected = TeacherConfig { target_scale: t.config.target_scale.clone(), ..config.clone() };
        if t.config == expected {
            progress.message(&format!("reusing the teacher in {}", path.display()));
            return Ok(t);
        }
    }
    let mut t = Teacher::new(config, seed)?;
    train(&mut t, x, y, opts, &mut |log| {
        progress.message(&format!(
            "teacher epoch {}/{}: validation loss {:.4}",
            log.epoch,
            opts.epochs,
            log.val_loss.unwrap_or(f64::NAN)
        ));
    })?;
    t.save(path)?;
    write_json_atomic(&key_path, &key)?;
    Ok(t)
}

/// A progress that forwards only cancellation: for inner steps (many small
/// trainings, a re-selection on reused sweeps) whose lines would flood a log.
pub struct Quiet<'a>(pub &'a dyn Progress);

impl Progress for Quiet<'_> {
    fn cancelled(&self) -> bool {
        self.0.cancelled()
    }
}

/// Write a text file (a report) atomically.
pub fn write_text(path: &Path, text: &str) -> Result<()> {
    write_atomic(path, |w| {
        use std::io::Write;
        w.write_all(text.as_bytes()).map_err(|e| IoError::Write { path: path.to_path_buf(), source: e })
    })?;
    Ok(())
}

/// Create `dir` and check it can be written, before any work.
pub fn prepare_dir(dir: &Path) -> Result<()> {
    std::fs::create_dir_all(dir).map_err(|e| IoError::Write { path: dir.to_path_buf(), source: e })?;
    let probe = dir.join(format!(".awd-write-test-{}", std::process::id()));
    std::fs::write(&probe, b"").map_err(|e| IoError::Write { path: dir.to_path_buf(), source: e })?;
    let _ = std::fs::remove_file(probe);
    Ok(())
}

/// Mean and sample standard deviation.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct MeanStd {
    /// Mean.
    pub mean: f64,
    /// Sample standard deviation (0 for one value).
    pub std: f64,
}

impl MeanStd {
    /// Of a list of values.
    pub fn of(v: &[f64]) -> Self {
        let m = v.iter().sum::<f64>() / v.len().max(1) as f64;
        let s = if v.len() > 1 {
            (v.iter().map(|x| (x - m) * (x - m)).sum::<f64>() / (v.len() - 1) as f64).sqrt()
        } else {
            0.0
        };
        MeanStd { mean: m, std: s }
    }
}

/// Central probability of the bootstrap intervals of paired differences.
pub const INTERVAL: f64 = 0.95;

/// A bootstrap mean and its central [`INTERVAL`] interval.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Interval {
    /// Mean over the resamples.
    pub mean: f64,
    /// Lower end of the interval.
    pub lo: f64,
    /// Upper end.
    pub hi: f64,
}

impl Interval {
    /// The differences `a - b` of two models' scores on the same resamples.
    pub fn of_differences(a: ArrayView1<'_, f64>, b: ArrayView1<'_, f64>) -> Self {
        let d: Vec<f64> = a.iter().zip(b.iter()).map(|(x, y)| x - y).collect();
        let tail = (1.0 - INTERVAL) / 2.0;
        Interval {
            mean: d.iter().sum::<f64>() / d.len().max(1) as f64,
            lo: quantile(&d, tail),
            hi: quantile(&d, 1.0 - tail),
        }
    }
}
