//! Saved interpretable models: what `awd distill` and the experiments write
//! into `models/`, what `awd predict` applies. A file is JSON; its `kind`
//! says which model it holds, and both kinds carry the learned `lowpass`, so
//! a model file is also a wavelet file (`--wavelet models/awd.json`).
//!
//! * [`TopKModel`]: the 1-D model of the paper's clathrin case: the `k`
//!   largest coefficients of each coefficient array (`[cA_J, cD_J … cD_1]`)
//!   as features, and a linear model on them.
//! * [`PeakCountModel`]: the 2-D model of the cosmology case: peaks of the
//!   map, histograms of the wavelet's 3x3 sub-filter responses at them, and
//!   the nearest class (parameter row) by chi^2.

use std::path::Path;

use awd_core::distill::SampleRows;
use awd_core::dwt::{max_useful_level, Plan1d};
use awd_core::interp::{feature_rows_into, FeatureSign, LinearModel};
use awd_core::io::{write_json_atomic, IoError};
use awd_core::{check_finite, Mode, Wavelet};
use ndarray::{Array1, ArrayView2, ArrayViewD, Axis, Ix2, Ix3};
use serde::{Deserialize, Serialize};

pub use awd_core::peaks::{PeakCountModel, PEAK_MODEL_KIND};

use crate::error::{Error, Result};

/// The `kind` of a top-k + linear model file.
pub const TOPK_MODEL_KIND: &str = "awd top-k linear model";
/// The `kind` written by earlier versions (`awd experiment clathrin`);
/// still read.
pub const TOPK_MODEL_KIND_LEGACY: &str = "awd interpretable model: top-k wavelet coefficients + OLS";

/// Top-k wavelet coefficients per array, then a linear model (1-D signals).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TopKModel {
    /// What this file is ([`TOPK_MODEL_KIND`]).
    pub kind: String,
    /// The lowpass filter `h` (pywt `rec_lo`); also makes the file a wavelet JSON.
    pub lowpass: Vec<f64>,
    /// Levels J of the transform.
    pub levels: usize,
    /// Signal-extension mode of the transform.
    pub mode: Mode,
    /// Signal length the model takes.
    pub length: usize,
    /// Coefficients taken per array.
    pub top_k: usize,
    /// Largest values (`pos`) or largest magnitudes (`abs`).
    #[serde(default)]
    pub sign: FeatureSign,
    /// Ridge penalty of the linear model (0: ordinary least squares).
    #[serde(default)]
    pub ridge_alpha: f64,
    /// The linear model on the `(levels + 1) * top_k` features.
    pub linear: LinearModel,
    /// lambda of the learned wavelet (0 for a fixed one).
    pub lambda: f64,
    /// gamma of the learned wavelet (0 for a fixed one).
    pub gamma: f64,
}

/// Signals per block of [`TopKModel::features_of`].
const FEATURE_BLOCK: usize = 4096;

impl TopKModel {
    /// The transform plan of this model.
    fn plan(&self) -> Result<Plan1d> {
        let w = Wavelet::from_lowpass("model", &self.lowpass)?;
        Ok(Plan1d::with_boundary_levels(self.length, &w, self.mode, self.levels)?)
    }

    /// The features of signals `(n, length)`.
    pub fn features(&self, x: ArrayView2<'_, f64>) -> Result<ndarray::Array2<f64>> {
        self.features_of(x.into())
    }

    /// The features of signals `(n, length)` of float64 or float32, block
    /// by block into one output: memory holds the features and one block's
    /// coefficients, not every signal's (the same values as one transform
    /// of all).
    pub fn features_of(&self, x: SampleRows<'_>) -> Result<ndarray::Array2<f64>> {
        let (n, length) = x.dim();
        if length != self.length {
            return Err(Error::Input(format!("the model takes signals of {} samples, got {length}", self.length)));
        }
        let plan = self.plan()?;
        let mut features = ndarray::Array2::zeros((n, plan.coeff_lens().len() * self.top_k));
        let mut coeffs = ndarray::Array2::zeros((FEATURE_BLOCK.min(n), plan.total_len()));
        for (b, out) in features.axis_chunks_iter_mut(Axis(0), FEATURE_BLOCK).enumerate() {
            let start = b * FEATURE_BLOCK;
            let mut c = coeffs.slice_mut(ndarray::s![..out.nrows(), ..]);
            let transformed = match x.slice_rows(start..start + out.nrows()) {
                SampleRows::F64(v) => plan.wavedec_into_checked(v, c.view_mut()),
                SampleRows::F32(v) => plan.wavedec_into_checked(v.mapv(f64::from).view(), c.view_mut()),
            };
            if transformed.is_err() {
                // the kernels found a non-finite value; name its index in `x`, not in the block
                x.check_finite()?;
                transformed?;
            }
            feature_rows_into(c.view(), plan.coeff_lens(), self.top_k, self.sign, out);
        }
        Ok(features)
    }

    /// Predictions for signals `(n, length)`.
    pub fn predict(&self, x: ArrayView2<'_, f64>) -> Result<Array1<f64>> {
        if x.ncols() != self.length {
            return Err(Error::Input(format!("the model takes signals of {} samples, got {}", self.length, x.ncols())));
        }
        check_finite(x)?;
        Ok(self.linear.predict(self.features(x)?.view()))
    }

    /// The `count` most important wavelet components of one signal: for each
    /// coefficient that feeds a feature, importance = |its weight x its
    /// value|; returned largest first as (coefficient index in the packed
    /// `[cA_J, cD_J … cD_1]` row, the signal rebuilt from that coefficient
    /// alone).
    pub fn top_components(&self, signal: &[f64], count: usize) -> Result<Vec<(usize, Vec<f64>)>> {
        if signal.len() != self.length {
            return Err(Error::data("signal", format!("{} samples, the model takes {}", signal.len(), self.length)));
        }
        let plan = self.plan()?;
        let x = ndarray::ArrayView2::from_shape((1, signal.len()), signal).expect("one row");
        let row = plan.wavedec(x)?.data.row(0).to_vec();
        let mut importance: Vec<(f64, usize)> = Vec::new();
        let mut at = 0;
        for (arr, &len) in plan.coeff_lens().iter().enumerate() {
            let key = |i: usize| if self.sign == FeatureSign::Abs { row[i].abs() } else { row[i] };
            let mut idx: Vec<usize> = (at..at + len).collect();
            idx.sort_by(|&p, &q| key(q).total_cmp(&key(p)));
            for (rank, &i) in idx.iter().take(self.top_k).enumerate() {
                importance.push(((self.linear.weights[arr * self.top_k + rank] * key(i)).abs(), i));
            }
            at += len;
        }
        importance.sort_by(|p, q| q.0.total_cmp(&p.0));
        let mut scratch = Default::default();
        Ok(importance
            .iter()
            .take(count)
            .map(|&(_, i)| {
                let mut unit = vec![0.0; plan.total_len()];
                unit[i] = row[i];
                let mut out = vec![0.0; plan.recon_len()];
                plan.waverec_row(&unit, &mut out, &mut scratch);
                out.truncate(self.length);
                (i, out)
            })
            .collect())
    }

    /// Everything a hand-edited file can get wrong, as a reason.
    fn check(&self) -> std::result::Result<(), String> {
        let f = self.lowpass.len();
        if f < 2 || f % 2 == 1 {
            return Err(format!("field 'lowpass': {f} taps; an orthogonal wavelet needs an even number >= 2"));
        }
        if let Some((i, v)) = self.lowpass.iter().enumerate().find(|(_, v)| !v.is_finite()) {
            return Err(format!("field 'lowpass': tap {i} is {v}"));
        }
        if self.length == 0 {
            return Err("field 'length' is 0".into());
        }
        let max = max_useful_level(self.length, f, self.mode);
        if self.levels == 0 || self.levels > max {
            return Err(format!(
                "field 'levels' is {}; signals of {} samples with a {f}-tap filter in {} mode take 1 to {max}",
                self.levels, self.length, self.mode
            ));
        }
        if self.top_k == 0 {
            return Err("field 'top_k' is 0".into());
        }
        let features = (self.levels + 1) * self.top_k;
        if self.linear.weights.len() != features {
            return Err(format!(
                "field 'linear.weights' has {} values; {} levels x top-k {} give {features} features",
                self.linear.weights.len(),
                self.levels,
                self.top_k
            ));
        }
        if let Some((i, v)) = self.linear.weights.iter().enumerate().find(|(_, v)| !v.is_finite()) {
            return Err(format!("field 'linear.weights': weight {i} is {v}"));
        }
        if !self.linear.intercept.is_finite() {
            return Err(format!("field 'linear.intercept' is {}", self.linear.intercept));
        }
        if !(self.ridge_alpha.is_finite() && self.ridge_alpha >= 0.0) {
            return Err(format!("field 'ridge_alpha' is {}", self.ridge_alpha));
        }
        Ok(())
    }
}

/// A saved interpretable model of either kind.
#[derive(Debug, Clone, Serialize)]
#[serde(untagged)]
pub enum SavedModel {
    /// Top-k coefficients + linear model (1-D signals).
    TopK(TopKModel),
    /// Peak counting with the wavelet's 3x3 sub-filters (2-D maps).
    Peaks(PeakCountModel),
}

impl SavedModel {
    /// Read a model file and check everything in it (filter length and
    /// finiteness, weight count against feature count, levels against
    /// length, bins against histograms); errors name the file and the field.
    pub fn load(path: &Path) -> Result<Self> {
        let text = awd_core::io::read_json_text(path)?;
        let value: serde_json::Value = serde_json::from_str(&text)
            .map_err(|e| IoError::Format { path: path.into(), reason: format!("not JSON ({e})") })?;
        let kind = value.get("kind").and_then(|k| k.as_str()).unwrap_or("");
        let bad = |reason: String| Error::Io(IoError::Format { path: path.into(), reason });
        match kind {
            PEAK_MODEL_KIND => Ok(SavedModel::Peaks(PeakCountModel::load(path)?)),
            TOPK_MODEL_KIND | TOPK_MODEL_KIND_LEGACY => {
                let m: TopKModel = serde_json::from_value(value)
                    .map_err(|e| bad(format!("not a top-k model ({e}); write it with awd distill")))?;
                m.check().map_err(bad)?;
                Ok(SavedModel::TopK(m))
            }
            other => Err(bad(format!(
                "field 'kind' is '{other}'; a model file is written by awd distill or an awd experiment \
                 ('{TOPK_MODEL_KIND}' or '{PEAK_MODEL_KIND}')"
            ))),
        }
    }

    /// Write atomically as JSON.
    pub fn save(&self, path: &Path) -> Result<()> {
        Ok(write_json_atomic(path, self)?)
    }

    /// The learned lowpass the model is built on (a peak-counting model of a
    /// plain filter such as Laplace has none).
    pub fn lowpass(&self) -> Option<&[f64]> {
        match self {
            SavedModel::TopK(m) => Some(&m.lowpass),
            SavedModel::Peaks(m) => m.lowpass.as_deref(),
        }
    }

    /// Predictions for new inputs: signals `(n, L)` or one signal `(L,)` for
    /// a top-k model; maps `(n, H, W)` or one map `(H, W)` for a
    /// peak-counting model. One value per input.
    pub fn predict(&self, x: ArrayViewD<'_, f64>) -> Result<Array1<f64>> {
        match self {
            SavedModel::TopK(m) => {
                let x = match x.ndim() {
                    1 => x.insert_axis(Axis(0)),
                    2 => x,
                    _ => {
                        return Err(Error::Input(format!(
                            "a top-k model takes signals (n, {}) or one signal ({},), got shape {}",
                            m.length,
                            m.length,
                            awd_core::io::shape_string(x.shape())
                        )))
                    }
                };
                m.predict(x.into_dimensionality::<Ix2>().expect("rank 2"))
            }
            SavedModel::Peaks(m) => {
                let x = match x.ndim() {
                    2 => x.insert_axis(Axis(0)),
                    3 => x,
                    _ => {
                        return Err(Error::Input(format!(
                            "a peak-counting model takes maps (n, H, W) or one map (H, W), got shape {}",
                            awd_core::io::shape_string(x.shape())
                        )))
                    }
                };
                Ok(Array1::from(m.predict(x.into_dimensionality::<Ix3>().expect("rank 3"))?))
            }
        }
    }
}
