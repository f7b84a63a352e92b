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

/// Seconds to predict 1,000 samples with `f` (which predicts `n`): one
/// warm-up call, then the mean over `reps` calls.
pub fn per_thousand(n: usize, reps: usize, mut f: impl FnMut() -> anyhow::Result<()>) -> anyhow::Result<f64> {
    f()?;
    let t = Instant::now();
    for _ in 0..reps {
        f()?;
    }
    Ok(t.elapsed().as_secs_f64() / reps as f64 / n as f64 * 1000.0)
}

/// Whether the JSON key file at `path` holds exactly `key` (a cached result
/// beside it then belongs to the same inputs).
pub fn key_matches(path: &std::path::Path, key: &serde_json::Value) -> bool {
    std::fs::read_to_string(path).ok().and_then(|t| serde_json::from_str::<serde_json::Value>(&t).ok()).as_ref()
        == Some(key)
}

/// The data and options a teacher was fitted on, as a comparable key.
fn training_key(
    x: ndarray::ArrayView2<'_, f64>,
    y: ndarray::ArrayView2<'_, f64>,
    opts: &awd_teachers::TrainOptions,
) -> serde_json::Value {
    let hash = awd_core::io::fingerprint_f64(x.iter().chain(y.iter()));
    serde_json::json!({ "data": format!("{}x{}+{}-{hash}", x.nrows(), x.ncols(), y.ncols()), "options": opts })
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
    let same_data = key_matches(&key_path, &key);
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
