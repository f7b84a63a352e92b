//! Errors of the library: the core's and the teachers' errors, file errors,
//! and bad input data named by the array (or file) it is in.

use thiserror::Error;

/// Result type of the library.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// What went wrong; every message names the value and, where there is one,
/// the file.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum Error {
    /// Numerics: bad filters, levels, shapes, settings (or a run stopped by
    /// its progress hook: [`awd_core::Error::Stopped`]).
    #[error(transparent)]
    Core(#[from] awd_core::Error),
    /// Reading or writing a file.
    #[error(transparent)]
    Io(#[from] awd_core::io::IoError),
    /// The teacher network.
    #[error(transparent)]
    Teacher(#[from] awd_teachers::TeacherError),
    /// Inputs a model cannot take (another signal length, map size or rank).
    #[error("{0}")]
    Input(String),
    /// Input data that cannot be used: `what` names the array or its file.
    #[error("{what}: {reason}")]
    Data {
        /// The array (`X`, `y`, ...) or the file it came from.
        what: String,
        /// What is wrong and how to fix it.
        reason: String,
    },
}

impl Error {
    /// A [`Error::Data`] error.
    pub fn data(what: impl Into<String>, reason: impl Into<String>) -> Self {
        Error::Data { what: what.into(), reason: reason.into() }
    }

    /// Whether a progress hook stopped the run (not a failure of the run).
    pub fn is_stopped(&self) -> bool {
        matches!(self, Error::Core(awd_core::Error::Stopped { .. }))
            || matches!(self, Error::Io(awd_core::io::IoError::Core(awd_core::Error::Stopped { .. })))
            || matches!(self, Error::Teacher(awd_teachers::TeacherError::Cancelled { .. }))
    }
}
