//! The paper's experiments, end to end: each writes results.json, report.md
//! and plots into its output folder, and resumes finished stages on re-runs.

pub mod clathrin;
pub mod cosmology;
mod cosmology_peaks;
mod cosmology_plots;
pub mod synthetic;

use std::time::Instant;

/// Wall time of named stages, in order.
#[derive(Debug, Default, serde::Serialize)]
pub struct Timings(pub Vec<(String, f64)>);

impl Timings {
    /// Run `f` as stage `name` and record its wall time.
    pub fn stage<T>(&mut self, name: &str, f: impl FnOnce() -> anyhow::Result<T>) -> anyhow::Result<T> {
        let t = Instant::now();
        let out = f()?;
        self.0.push((name.to_string(), t.elapsed().as_secs_f64()));
        Ok(out)
    }

    /// As a JSON object `{stage: seconds}`.
    pub fn json(&self) -> serde_json::Value {
        serde_json::Value::Object(self.0.iter().map(|(k, v)| (k.clone(), serde_json::json!(v))).collect())
    }
}

/// `1 - SS_res / SS_tot`.
pub fn r2(pred: &[f64], truth: &[f64]) -> f64 {
    let mean = truth.iter().sum::<f64>() / truth.len() as f64;
    let ss_res: f64 = pred.iter().zip(truth).map(|(p, t)| (p - t) * (p - t)).sum();
    let ss_tot: f64 = truth.iter().map(|t| (t - mean) * (t - mean)).sum();
    1.0 - ss_res / ss_tot
}

/// FNV-1a hash of the training data and options a teacher was fitted on.
fn training_key(
    x: ndarray::ArrayView2<'_, f64>,
    y: ndarray::ArrayView2<'_, f64>,
    opts: &awd_teachers::TrainOptions,
) -> serde_json::Value {
    let mut hash: u64 = 0xcbf29ce484222325;
    for v in x.iter().chain(y.iter()) {
        for b in v.to_bits().to_le_bytes() {
            hash ^= b as u64;
            hash = hash.wrapping_mul(0x100000001b3);
        }
    }
    serde_json::json!({ "data": format!("{}x{}+{}-{hash:016x}", x.nrows(), x.ncols(), y.ncols()), "options": opts })
}

/// A teacher saved at `path` when one with the expected architecture, fitted
/// on the same data with the same options, is there (so a re-run resumes),
/// else a new one trained with a progress bar and saved there with its
/// training key (`*.training.json`) beside it.
pub fn reuse_or_train(
    path: &std::path::Path,
    config: awd_teachers::TeacherConfig,
    seed: u64,
    x: ndarray::ArrayView2<'_, f64>,
    y: ndarray::ArrayView2<'_, f64>,
    opts: &awd_teachers::TrainOptions,
) -> anyhow::Result<awd_teachers::Teacher> {
    use awd_teachers::{train, Teacher, TeacherConfig};
    let key = training_key(x, y, opts);
    let key_path = path.with_extension("training.json");
    let same_data = std::fs::read_to_string(&key_path)
        .ok()
        .and_then(|t| serde_json::from_str::<serde_json::Value>(&t).ok())
        .is_some_and(|k| k == key);
    if let (true, Ok(t)) = (same_data, Teacher::load(path)) {
        let expected = TeacherConfig { target_scale: t.config.target_scale.clone(), ..config.clone() };
        if t.config == expected {
            eprintln!("awd: reusing the teacher in {}", path.display());
            return Ok(t);
        }
    }
    let mut t = Teacher::new(config, seed)?;
    let bar = crate::progress::Bar::new(opts.epochs as u64, "teacher epochs");
    train(&mut t, x, y, opts, &mut |log| {
        bar.set_message(format!("val loss {:.4}", log.val_loss.unwrap_or(f64::NAN)));
        bar.inc(1);
    })?;
    bar.finish();
    t.save(path)?;
    awd_core::io::write_json_atomic(&key_path, &key)?;
    Ok(t)
}

/// The sweep settings the paper uses in both 1-D experiments: zero mode,
/// saliency attributions, batch 100, Adam learning rate 0.001 (lambda and
/// gamma are set per grid point).
pub fn saliency_sweep_settings(levels: usize, epochs: usize, seed: u64) -> awd_core::distill::FitSettings {
    use awd_core::distill::{Attribution, FitSettings, Penalties};
    FitSettings {
        levels,
        mode: awd_core::Mode::Zero,
        penalties: Penalties { attribution: Attribution::Saliency, ..Penalties::default() },
        epochs,
        batch_size: 100,
        lr: 0.001,
        seed,
    }
}
