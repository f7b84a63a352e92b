//! The Python module `awd._awd`: conversions between NumPy and the `awd`
//! library, and nothing else. The package `awd` (python/awd) re-exports it
//! with pywt-style signatures and docstrings.

mod arrays;
mod errors;
mod run;
mod training;
mod transforms;
mod wavelets;

use pyo3::prelude::*;

/// The extension module.
#[pymodule]
fn _awd(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("Stopped", m.py().get_type::<errors::Stopped>())?;
    m.add_class::<wavelets::PyWavelet>()?;
    m.add_class::<wavelets::PyLearnedWavelet>()?;
    m.add_class::<training::PyModel>()?;
    m.add_class::<training::PyDistilled>()?;
    m.add_class::<training::PyTeacher>()?;
    m.add_function(wrap_pyfunction!(transforms::wavedec_packed, m)?)?;
    m.add_function(wrap_pyfunction!(transforms::waverec_rows, m)?)?;
    m.add_function(wrap_pyfunction!(transforms::wavedec2_packed, m)?)?;
    m.add_function(wrap_pyfunction!(transforms::waverec2, m)?)?;
    m.add_function(wrap_pyfunction!(transforms::dwt_max_level, m)?)?;
    m.add_function(wrap_pyfunction!(wavelets::wavelist, m)?)?;
    m.add_function(wrap_pyfunction!(wavelets::load_wavelet, m)?)?;
    m.add_function(wrap_pyfunction!(training::fit, m)?)?;
    m.add_function(wrap_pyfunction!(training::sweep, m)?)?;
    m.add_function(wrap_pyfunction!(training::distill, m)?)?;
    m.add_function(wrap_pyfunction!(training::load_model, m)?)?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    Ok(())
}
