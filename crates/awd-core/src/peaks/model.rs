//! A fitted peak-counting model as a file: the statistic (for AWD, the 3x3
//! sub-filters of the learned wavelet), the bins, and per cosmology the
//! parameters, mean histogram and pseudo-inverse covariance. Applying it to
//! new maps needs nothing else.

use std::path::Path;

use ndarray::ArrayView3;
use serde::{Deserialize, Serialize};

use super::{peak_values, Binning, PeakClassifier, PeakStatistic};
use crate::error::{Error, Result};
use crate::io::{write_json_atomic, IoError};

/// A saved peak-counting model (JSON).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PeakCountModel {
    /// What this file is.
    pub kind: String,
    /// The statistic counted at the peaks.
    pub statistic: PeakStatistic,
    /// Histogram bins per channel.
    pub binning: Binning,
    /// Parameter rows of the cosmologies (e.g. m_nu, Omega_m, 10^9 A_s).
    pub classes: Vec<Vec<f64>>,
    /// Mean histogram per cosmology.
    pub means: Vec<Vec<f64>>,
    /// Pseudo-inverse covariance per cosmology, row-major.
    pub precisions: Vec<Vec<f64>>,
    /// The parameter column `predict` returns.
    pub target_column: usize,
    /// The learned lowpass the sub-filters come from, if any (the file is
    /// then also a wavelet JSON).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lowpass: Option<Vec<f64>>,
    /// Map size `(H, W)` the model was fitted on; other sizes are refused
    /// (peak counts scale with the area). Absent in older files.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub map_shape: Option<(usize, usize)>,
    /// How the histograms become a prediction (absent in older files:
    /// nearest cosmology).
    #[serde(default)]
    pub estimator: Estimator,
}

/// How a peak-counting model turns a map's histograms into a prediction.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Estimator {
    /// The parameter of the cosmology of smallest chi^2 (the paper's rule).
    #[default]
    NearestCosmology,
    /// The mean of the cosmologies' parameter weighted by `exp(-chi^2 / 2)`.
    PosteriorMean,
}

impl std::str::FromStr for Estimator {
    type Err = String;
    /// `nearest` or `posterior`, the names on the command line and in Python.
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        match s {
            "nearest" => Ok(Estimator::NearestCosmology),
            "posterior" => Ok(Estimator::PosteriorMean),
            _ => Err(format!("estimator '{s}' is unknown; expected 'nearest' (the paper's rule) or 'posterior'")),
        }
    }
}

/// The `kind` written into model files.
pub const KIND: &str = "awd peak-counting model";

impl PeakCountModel {
    /// Bundle a fitted classifier with its statistic and bins.
    pub fn new(
        statistic: PeakStatistic,
        binning: Binning,
        classifier: &PeakClassifier,
        target_column: usize,
        lowpass: Option<Vec<f64>>,
    ) -> Self {
        let (means, precisions) = classifier.parts();
        PeakCountModel {
            kind: KIND.into(),
            statistic,
            binning,
            classes: classifier.classes.clone(),
            means,
            precisions,
            target_column,
            lowpass,
            map_shape: None,
            estimator: Estimator::NearestCosmology,
        }
    }

    /// The same model, predicting with `estimator`.
    pub fn with_estimator(mut self, estimator: Estimator) -> Self {
        self.estimator = estimator;
        self
    }

    /// The same model, recording the map size it was fitted on.
    pub fn with_map_shape(mut self, rows: usize, cols: usize) -> Self {
        self.map_shape = Some((rows, cols));
        self
    }

    /// Write atomically.
    pub fn save(&self, path: &Path) -> Result<(), IoError> {
        write_json_atomic(path, self)
    }

    /// Read and check a model file.
    pub fn load(path: &Path) -> Result<Self, IoError> {
        let text = crate::io::read_json_text(path)?;
        let m: PeakCountModel = serde_json::from_str(&text)
            .map_err(|e| IoError::format(path, format!("not a peak-counting model ({e})")))?;
        if m.kind != KIND {
            return Err(IoError::format(path, format!("kind is '{}', expected '{KIND}'", m.kind)));
        }
        m.classifier().map_err(|e| IoError::format(path, e.to_string()))?;
        if m.binning.ranges.len() != m.statistic.channels()
            || m.binning.bins * m.binning.ranges.len() != m.means.first().map_or(0, |v| v.len())
        {
            return Err(IoError::format(path, "the bins do not fit the statistic and the histograms"));
        }
        if let Some((i, v)) = m.lowpass.iter().flatten().enumerate().find(|(_, v)| !v.is_finite()) {
            return Err(IoError::format(path, format!("field 'lowpass': tap {i} is {v}")));
        }
        if let Some(h) = &m.lowpass {
            if h.len() < 2 || h.len() % 2 == 1 {
                return Err(IoError::format(
                    path,
                    format!("field 'lowpass': {} taps; an orthogonal wavelet needs an even number >= 2", h.len()),
                ));
            }
        }
        if m.binning.bins == 0 || m.binning.ranges.iter().any(|(lo, hi)| !(lo.is_finite() && hi.is_finite() && hi > lo))
        {
            return Err(IoError::format(path, "field 'binning': every range needs finite lo < hi and bins >= 1"));
        }
        if m.classes.iter().any(|c| c.len() <= m.target_column) {
            return Err(IoError::format(path, format!("target column {} is beyond the parameters", m.target_column)));
        }
        Ok(m)
    }

    fn classifier(&self) -> Result<PeakClassifier> {
        PeakClassifier::from_parts(self.classes.clone(), self.means.clone(), self.precisions.clone())
    }

    /// The predicted target (e.g. Omega_m) of each map `(n, H, W)`.
    pub fn predict(&self, maps: ArrayView3<'_, f64>) -> Result<Vec<f64>> {
        let (_, h, w) = maps.dim();
        if let Some((mh, mw)) = self.map_shape {
            if (h, w) != (mh, mw) {
                return Err(Error::ShapeMismatch {
                    reason: format!(
                        "the model was fitted on maps of {mh}x{mw}, got {h}x{w}; peak counts depend on the map size"
                    ),
                });
            }
        }
        if h < 3 || w < 3 {
            return Err(Error::TooShort {
                reason: format!("maps of {h}x{w} have no interior pixels; 3x3 is the least"),
            });
        }
        crate::check_finite(maps)?;
        let clf = self.classifier()?;
        let hist = self.binning.histograms(&peak_values(maps, &self.statistic));
        Ok(clf.estimate(hist.view(), self.target_column, self.estimator))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::{Array2, Array3};
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    #[test]
    fn saved_model_predicts_like_the_fitted_one() {
        let mut rng = ChaCha8Rng::seed_from_u64(4);
        // two "cosmologies": white noise of standard deviation 1 and 2
        let n = 30;
        let maps = Array3::from_shape_fn((2 * n, 12, 12), |(i, _, _)| {
            let s = if i < n { 1.0 } else { 2.0 };
            s * (rng.random::<f64>() - 0.5)
        });
        let params = Array2::from_shape_fn((2 * n, 2), |(i, c)| {
            if c == 1 {
                if i < n {
                    0.25
                } else {
                    0.35
                }
            } else {
                0.0
            }
        });
        let stat = PeakStatistic::Height;
        let vals = peak_values(maps.view(), &stat);
        let binning = Binning::from_quantiles(&vals, 0.01, 6).unwrap();
        let clf = PeakClassifier::fit(binning.histograms(&vals).view(), params.view()).unwrap();
        let model = PeakCountModel::new(stat, binning, &clf, 1, None);
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("m.json");
        model.save(&path).unwrap();
        let back = PeakCountModel::load(&path).unwrap();
        let pred = back.predict(maps.view()).unwrap();
        let h = model.binning.histograms(&vals);
        assert_eq!(pred, clf.predict_param(h.view(), 1));
        let right = pred.iter().zip(params.column(1)).filter(|(p, t)| *p == *t).count();
        assert!(right > 2 * n * 9 / 10, "{right} of {}", 2 * n);
        // the posterior-mean estimator survives the file and predicts as fitted
        model.clone().with_estimator(Estimator::PosteriorMean).save(&path).unwrap();
        let back = PeakCountModel::load(&path).unwrap();
        assert_eq!(back.estimator, Estimator::PosteriorMean);
        assert_eq!(back.predict(maps.view()).unwrap(), clf.posterior_mean(h.view(), 1));
        // a file without the field (older versions) predicts the nearest cosmology
        let mut v: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        v.as_object_mut().unwrap().remove("estimator");
        std::fs::write(&path, v.to_string()).unwrap();
        assert_eq!(PeakCountModel::load(&path).unwrap().estimator, Estimator::NearestCosmology);
        // a broken file is refused with its name
        std::fs::write(&path, text_without_precisions(&path)).unwrap();
        let e = PeakCountModel::load(&path).unwrap_err().to_string();
        assert!(e.contains("m.json") && e.contains("do not fit"), "{e}");
    }

    fn text_without_precisions(path: &Path) -> String {
        let mut v: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
        v["precisions"] = serde_json::json!([[1.0]]);
        v.to_string()
    }
}
