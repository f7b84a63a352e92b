//! The paper's experiments, end to end: each writes results.json, report.md
//! and plots into its output folder, and resumes finished stages on re-runs.

pub mod clathrin;
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
