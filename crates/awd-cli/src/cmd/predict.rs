//! `awd predict`: apply a saved interpretable model (`awd distill` or an
//! experiment's `models/*.json`) to new data: signals for a top-k model,
//! maps for a peak-counting model; the file's `kind` tells them apart.

use anyhow::{Context, Result};
use awd::io::{read_npy_f64, write_npy};
use awd::SavedModel;

use crate::args::PredictArgs;

/// `awd predict`.
pub fn predict_cmd(a: &PredictArgs) -> Result<()> {
    let model = SavedModel::load(&a.model)?;
    let x = read_npy_f64(&a.x)?;
    let y = model.predict(x.view()).with_context(|| format!("{}", a.x.display()))?;
    match &a.output {
        Some(p) => write_npy(p, y.view().into_dyn())?,
        None => {
            let lines: Vec<String> = y.iter().map(|v| format!("{v}")).collect();
            super::emit(&lines.join("\n"))?;
        }
    }
    Ok(())
}
