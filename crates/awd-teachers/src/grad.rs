//! Input gradients of a teacher, the `G` that TRIM needs: saliency
//! `grad_x f(x)` and the path-averaged gradient of integrated gradients
//! (baseline zero, midpoint rule: `mean_k grad f((k - 1/2)/m x)`), both for
//! the prediction in the units of the targets.

use candle_core::DType;
use ndarray::{s, Array2, ArrayView2};
use serde::{Deserialize, Serialize};

use crate::error::{Result, TeacherError};
use crate::model::Teacher;

/// Which gradient.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum GradMethod {
    /// `grad_x f(x)`.
    Saliency,
    /// `mean over m steps of grad f(alpha x)`, alpha from 0 to 1 (baseline zero).
    IntegratedGradients {
        /// Path steps.
        steps: usize,
    },
}

/// `grad_x f_k(x)` of output `output` for every row of `x`, in batches; f64,
/// shaped like `x`.
pub fn input_gradients(
    teacher: &Teacher,
    x: ArrayView2<'_, f64>,
    method: GradMethod,
    output: usize,
) -> Result<Array2<f64>> {
    teacher.check_input(x.ncols())?;
    if output >= teacher.config.outputs {
        return Err(TeacherError::Data(format!(
            "output {output} does not exist: the model has {} output(s)",
            teacher.config.outputs
        )));
    }
    let alphas: Vec<f64> = match method {
        GradMethod::Saliency => vec![1.0],
        GradMethod::IntegratedGradients { steps } if steps >= 1 => {
            (1..=steps).map(|k| (k as f64 - 0.5) / steps as f64).collect()
        }
        GradMethod::IntegratedGradients { .. } => {
            return Err(TeacherError::Data("integrated gradients need at least 1 step".into()))
        }
    };
    let (_, std) = teacher.scale(output);
    let mut out = Array2::zeros(x.dim());
    let batch = teacher.gradient_batch();
    for start in (0..x.nrows()).step_by(batch) {
        let end = (start + batch).min(x.nrows());
        let xb = x.slice(s![start..end, ..]);
        for &alpha in &alphas {
            let scaled = xb.mapv(|v| v * alpha);
            let g = teacher.input_gradient(&teacher.tensor(scaled.view())?, output)?;
            let rows: Vec<Vec<f32>> = g.to_dtype(DType::F32)?.to_vec2()?;
            for (i, r) in rows.iter().enumerate() {
                for (j, &v) in r.iter().enumerate() {
                    out[[start + i, j]] += std * v as f64 / alphas.len() as f64;
                }
            }
        }
    }
    Ok(out)
}
