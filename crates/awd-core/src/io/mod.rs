//! File input and output: NumPy `.npy`/`.npz` arrays and JSON, written
//! atomically (to a temporary file in the same folder, then renamed) so an
//! interrupted run never leaves a partial output behind.

mod atomic;
mod coeffs;
mod npy;

use std::path::{Path, PathBuf};

use thiserror::Error;

pub use atomic::{create_json_atomic, remove_pending_temp_files, write_atomic, write_json_atomic, TempPath};
pub use coeffs::{coeff_format, read_coeffs, write_coeffs, write_npy_streamed, CoeffFormat, CoeffValue};
pub use npy::{
    npy_is_float32, read_npy_f64, read_npy_labels, read_npy_rows_f64, read_npy_shape, read_npz_f64, read_npz_typed,
    shape_string, write_npy, write_npz, MappedNpy,
};

/// The text of a JSON file, for a reader to parse: an empty (or blank)
/// file is an error saying so, not a parser's "EOF at column 0".
pub fn read_json_text(path: &Path) -> Result<String, IoError> {
    let text = std::fs::read_to_string(path).map_err(|e| match e.kind() {
        std::io::ErrorKind::InvalidData => IoError::format(path, "is not UTF-8 text, so not a JSON file"),
        _ => IoError::read(path, e),
    })?;
    if text.trim().is_empty() {
        return Err(IoError::format(path, format!("is empty ({} bytes, no JSON value)", text.len())));
    }
    Ok(text)
}

/// FNV-1a hash of a byte stream: a cheap, stable fingerprint of data (e.g.
/// to tell whether cached results belong to the same inputs).
pub fn fnv1a(bytes: impl IntoIterator<Item = u8>) -> u64 {
    bytes.into_iter().fold(0xcbf29ce484222325, |h, b| (h ^ b as u64).wrapping_mul(0x100000001b3))
}

/// FNV-1a of the bit patterns of floats, as hex.
pub fn fingerprint_f64<'a>(values: impl IntoIterator<Item = &'a f64>) -> String {
    fingerprint_values(values.into_iter().copied())
}

/// [`fingerprint_f64`] of values given by value (float32 data widened to
/// f64 fingerprint like the same data stored as float64).
pub fn fingerprint_values(values: impl IntoIterator<Item = f64>) -> String {
    format!("{:016x}", fnv1a(values.into_iter().flat_map(|v| v.to_bits().to_le_bytes())))
}

/// An input/output failure, always naming the file.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum IoError {
    /// The file could not be read.
    #[error("{}: cannot read", .path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// The file could not be written.
    #[error("{}: cannot write", .path.display())]
    Write {
        /// The file.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// The file's content is not what was expected.
    #[error("{}: {reason}", .path.display())]
    Format {
        /// The file.
        path: PathBuf,
        /// What is wrong and how to fix it.
        reason: String,
    },
    /// A wavelet or transform error raised while interpreting a file.
    #[error(transparent)]
    Core(#[from] crate::Error),
}

impl IoError {
    pub(crate) fn read(path: &Path, source: std::io::Error) -> Self {
        IoError::Read { path: path.to_path_buf(), source }
    }
    pub(crate) fn write(path: &Path, source: std::io::Error) -> Self {
        IoError::Write { path: path.to_path_buf(), source }
    }
    pub(crate) fn format(path: &Path, reason: impl Into<String>) -> Self {
        IoError::Format { path: path.to_path_buf(), reason: reason.into() }
    }
}
