//! Wavelet JSON files: an object with at least `"lowpass"` (h in pywt's
//! `rec_lo` orientation). Later tools add keys (loss history, settings); unknown
//! keys are kept so a file can be read, amended and written back.

use std::path::Path;

use serde::{Deserialize, Serialize};

use super::Wavelet;
use crate::io::IoError;

/// A wavelet JSON file as read from disk.
#[derive(Debug, Clone)]
pub struct WaveletFile {
    /// The filter bank built from `"lowpass"`.
    pub wavelet: Wavelet,
    /// The whole JSON object, all keys included.
    pub raw: serde_json::Map<String, serde_json::Value>,
}

#[derive(Deserialize, Serialize)]
struct LowpassOnly {
    lowpass: Vec<f64>,
    #[serde(default)]
    name: Option<String>,
}

/// Read a wavelet JSON file (`{"lowpass": [...], "name": "..."?, ...}`).
pub fn load_wavelet_json(path: &Path) -> Result<WaveletFile, IoError> {
    let text = crate::io::read_json_text(path)?;
    let raw: serde_json::Value =
        serde_json::from_str(&text).map_err(|e| IoError::format(path, format!("not valid JSON: {e}")))?;
    let obj = raw
        .as_object()
        .ok_or_else(|| IoError::format(path, "expected a JSON object with a \"lowpass\" array"))?
        .clone();
    let parsed: LowpassOnly = serde_json::from_value(raw)
        .map_err(|e| IoError::format(path, format!("expected \"lowpass\": an array of numbers ({e})")))?;
    let name =
        parsed.name.unwrap_or_else(|| path.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default());
    let wavelet = Wavelet::from_lowpass(&name, &parsed.lowpass).map_err(|e| IoError::format(path, e.to_string()))?;
    Ok(WaveletFile { wavelet, raw: obj })
}
