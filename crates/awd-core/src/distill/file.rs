//! The learned-wavelet JSON file: what `--wavelet FILE.json` reads everywhere
//! (`"lowpass"` at least) plus everything a person needs to trust the fit:
//! the four filters, settings, the validity of the final filter and the
//! per-epoch loss history.

use std::path::Path;

use serde::{Deserialize, Serialize};

use super::fit::{EpochRecord, FitOutcome, FitSettings};
use super::validity::{highpass, Validity};
use crate::io::{write_json_atomic, IoError};
use crate::{Mode, Wavelet};

/// pywt's four filters of a bank.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FilterBank {
    /// Decomposition lowpass.
    pub dec_lo: Vec<f64>,
    /// Decomposition highpass.
    pub dec_hi: Vec<f64>,
    /// Reconstruction lowpass (= `lowpass`).
    pub rec_lo: Vec<f64>,
    /// Reconstruction highpass (= `highpass`).
    pub rec_hi: Vec<f64>,
}

/// A learned wavelet as written to disk.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LearnedWavelet {
    /// A label for plots and reports.
    pub name: String,
    /// `h`, pywt `rec_lo` orientation.
    pub lowpass: Vec<f64>,
    /// `g[n] = (-1)^n h[N-1-n]`.
    pub highpass: Vec<f64>,
    /// The four filters as pywt names them.
    pub filter_bank: FilterBank,
    /// Levels J of the fit.
    pub levels: usize,
    /// Mode of the fit.
    pub mode: Mode,
    /// Every option used: the fit settings plus the caller's (data files,
    /// initialisation, ...).
    pub settings: serde_json::Value,
    /// Validity penalties of the final filter.
    pub validity: Validity,
    /// Loss terms per epoch, epoch 0 = before training.
    pub history: Vec<EpochRecord>,
    /// The epoch at which the caller stopped training early, if it did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stopped_at: Option<usize>,
}

impl LearnedWavelet {
    /// Assemble the file content of a fit. `extra` (a JSON object) is merged
    /// into `settings` next to the fit settings.
    pub fn new(name: &str, outcome: &FitOutcome, settings: &FitSettings, extra: serde_json::Value) -> Self {
        let h = outcome.lowpass.clone();
        let bank = Wavelet::from_lowpass(name, &h).expect("a fit keeps the filter length even and finite");
        let mut s = serde_json::to_value(settings).expect("settings serialize");
        if let (Some(obj), serde_json::Value::Object(extra)) = (s.as_object_mut(), extra) {
            obj.insert("batch_size_used".into(), outcome.batch_size_used.into());
            for (k, v) in extra {
                obj.insert(k, v);
            }
        }
        LearnedWavelet {
            name: name.to_string(),
            highpass: highpass(&h),
            lowpass: h,
            filter_bank: FilterBank {
                dec_lo: bank.dec_lo,
                dec_hi: bank.dec_hi,
                rec_lo: bank.rec_lo,
                rec_hi: bank.rec_hi,
            },
            levels: settings.levels,
            mode: settings.mode,
            settings: s,
            validity: outcome.validity,
            history: outcome.history.clone(),
            stopped_at: outcome.stopped_at,
        }
    }

    /// Write the file atomically.
    pub fn save(&self, path: &Path) -> Result<(), IoError> {
        write_json_atomic(path, self)
    }

    /// Read a file written by [`LearnedWavelet::save`].
    pub fn load(path: &Path) -> Result<Self, IoError> {
        let text = crate::io::read_json_text(path)?;
        let lw: Self = serde_json::from_str(&text).map_err(|e| IoError::Format {
            path: path.to_path_buf(),
            reason: format!("not a learned-wavelet file ({e})"),
        })?;
        Wavelet::from_lowpass(&lw.name, &lw.lowpass)
            .map_err(|e| IoError::Format { path: path.to_path_buf(), reason: format!("\"lowpass\": {e}") })?;
        Ok(lw)
    }

    /// The bank as a [`Wavelet`].
    pub fn wavelet(&self) -> Wavelet {
        Wavelet::from_lowpass(&self.name, &self.lowpass).expect("validated when written or loaded")
    }
}
