//! `awd predict`: apply a saved interpretable model to new data. A
//! peak-counting model (from `awd experiment cosmology`) takes maps, an
//! interpretable model (from `awd experiment clathrin`) takes traces; the
//! file's `kind` tells them apart.

use anyhow::{Context, Result};
use awd_core::io::write_npy;

use super::experiment::{clathrin, cosmology};
use crate::args::PredictArgs;

/// `awd predict`.
pub fn predict_cmd(a: &PredictArgs) -> Result<()> {
    let text = std::fs::read_to_string(&a.model).with_context(|| format!("{}: cannot read", a.model.display()))?;
    let kind = serde_json::from_str::<serde_json::Value>(&text).ok().and_then(|v| v["kind"].as_str().map(String::from));
    if kind.as_deref() == Some(awd_core::peaks::PEAK_MODEL_KIND) {
        return cosmology::predict_maps(a);
    }
    clathrin::predict_traces(a, &text)
}

/// Write predictions to `--output` (.npy) or print them, one per line.
pub fn write_predictions(a: &PredictArgs, y: &[f64]) -> Result<()> {
    match &a.output {
        Some(p) => write_npy(p, ndarray::ArrayView1::from(y).into_dyn())?,
        None => {
            let lines: Vec<String> = y.iter().map(|v| format!("{v}")).collect();
            super::emit(&lines.join("\n"))?;
        }
    }
    Ok(())
}
