//! The library's errors as Python exceptions of the natural type, with the
//! CLI's messages (the error and its causes joined by ": ").

use std::io::ErrorKind;

use awd::io::IoError;
use pyo3::exceptions::{PyFileNotFoundError, PyOSError, PyPermissionError, PyRuntimeError, PyValueError};
use pyo3::prelude::*;

pyo3::create_exception!(
    awd,
    Stopped,
    PyRuntimeError,
    "A run stopped by its callback (finished sweep points stay on disk)."
);

/// The message of `e` and all its causes, as the CLI prints it.
fn chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        let part = s.to_string();
        if !text.contains(&part) {
            text.push_str(": ");
            text.push_str(&part);
        }
        source = s.source();
    }
    text
}

fn io_kind(e: &IoError) -> Option<ErrorKind> {
    match e {
        IoError::Read { source, .. } | IoError::Write { source, .. } => Some(source.kind()),
        _ => None,
    }
}

/// A Python exception for a library error.
pub fn to_py(e: awd::Error) -> PyErr {
    let text = chain(&e);
    if e.is_stopped() {
        return Stopped::new_err(text);
    }
    match &e {
        awd::Error::Io(io) => match io_kind(io) {
            Some(ErrorKind::NotFound) => PyFileNotFoundError::new_err(text),
            Some(ErrorKind::PermissionDenied) => PyPermissionError::new_err(text),
            Some(_) => PyOSError::new_err(text),
            None => PyValueError::new_err(text),
        },
        awd::Error::Teacher(awd::teachers::TeacherError::Candle(_)) => PyRuntimeError::new_err(text),
        _ => PyValueError::new_err(text),
    }
}

/// A core error (transforms) as a Python exception.
pub fn core_to_py(e: awd::CoreError) -> PyErr {
    to_py(awd::Error::Core(e))
}

/// An I/O error of the core as a Python exception.
pub fn io_to_py(e: IoError) -> PyErr {
    to_py(awd::Error::Io(e))
}

/// A bad value named by the argument it came from.
pub fn value_error(text: impl Into<String>) -> PyErr {
    PyValueError::new_err(text.into())
}
