//! Errors of the teacher crate, naming the file or value involved.

use std::path::PathBuf;

use thiserror::Error;

/// Result type of the teacher crate.
pub type Result<T, E = TeacherError> = std::result::Result<T, E>;

/// What went wrong with a teacher.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum TeacherError {
    /// A model file that is missing, corrupt or does not fit its architecture.
    #[error("{}: {reason}", .path.display())]
    File {
        /// The file.
        path: PathBuf,
        /// What is wrong and how to fix it.
        reason: String,
    },
    /// Data that does not fit the model or each other.
    #[error("{0}")]
    Data(String),
    /// An error inside candle.
    #[error("candle: {0}")]
    Candle(#[from] candle_core::Error),
    /// Training cancelled by the caller (Ctrl-C in Python).
    #[error("training cancelled at epoch {epoch} by the caller")]
    Cancelled {
        /// The epoch that was running.
        epoch: usize,
    },
}
