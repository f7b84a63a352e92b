//! `awd.Wavelet` (pywt's filter-bank object), `awd.LearnedWavelet` (a fit's
//! result, the CLI's JSON file), `wavelist` and `load_wavelet`.

use std::path::PathBuf;

use awd::distill::LearnedWavelet;
use awd::wavelet::builtin_wavelets;
use awd::Wavelet;
use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyTuple};

use crate::arrays::vec_to_numpy;
use crate::errors::{core_to_py, io_to_py, value_error};

/// Any wavelet a Python caller may pass: a name or JSON path, an
/// `awd.Wavelet`, an `awd.LearnedWavelet`, or an object with `rec_lo`
/// (a `pywt.Wavelet`).
pub fn extract_wavelet(obj: &Bound<'_, PyAny>) -> PyResult<Wavelet> {
    if let Ok(spec) = obj.extract::<String>() {
        return Wavelet::resolve(&spec).map_err(io_to_py);
    }
    if let Ok(w) = obj.extract::<PyRef<'_, PyWavelet>>() {
        return Ok(w.inner.clone());
    }
    if let Ok(w) = obj.extract::<PyRef<'_, PyLearnedWavelet>>() {
        return Ok(w.inner.wavelet());
    }
    if let Ok(rec_lo) = obj.getattr("rec_lo").and_then(|r| r.extract::<Vec<f64>>()) {
        let name = obj.getattr("name").and_then(|n| n.extract::<String>()).unwrap_or_else(|_| "custom".into());
        return Wavelet::from_lowpass(&name, &rec_lo).map_err(core_to_py);
    }
    Err(PyTypeError::new_err(format!(
        "wavelet must be a name ('db5'), a wavelet JSON file, an awd.Wavelet, an awd.LearnedWavelet or a \
         pywt.Wavelet; got {}",
        obj.get_type().name()?
    )))
}

fn json_to_py<'py>(py: Python<'py>, value: &impl serde::Serialize) -> PyResult<Bound<'py, PyAny>> {
    let text = serde_json::to_string(value).map_err(|e| value_error(e.to_string()))?;
    py.import("json")?.call_method1("loads", (text,))
}

/// JSON-serialisable Rust value as Python objects (dicts, lists, floats).
pub fn to_python<'py>(py: Python<'py>, value: &impl serde::Serialize) -> PyResult<Bound<'py, PyAny>> {
    json_to_py(py, value)
}

fn wavefun_of<'py>(py: Python<'py>, w: &Wavelet, level: usize) -> PyResult<Vec<Bound<'py, PyAny>>> {
    let f = awd::wavefun::wavefun(w, level).map_err(core_to_py)?;
    Ok(vec![vec_to_numpy(py, f.phi), vec_to_numpy(py, f.psi), vec_to_numpy(py, f.x)])
}

/// An orthogonal wavelet filter bank, pywt's `Wavelet` for the built-in
/// orthogonal families and for any lowpass filter.
#[pyclass(name = "Wavelet", module = "awd", frozen, from_py_object)]
#[derive(Clone)]
pub struct PyWavelet {
    pub inner: Wavelet,
}

#[pymethods]
impl PyWavelet {
    #[new]
    fn new(name: &str) -> PyResult<Self> {
        Ok(PyWavelet { inner: Wavelet::resolve(name).map_err(io_to_py)? })
    }

    /// A custom bank from its lowpass `h` (pywt's `rec_lo` orientation).
    #[staticmethod]
    #[pyo3(signature = (h, name = "custom"))]
    fn from_lowpass(h: Vec<f64>, name: &str) -> PyResult<Self> {
        Ok(PyWavelet { inner: Wavelet::from_lowpass(name, &h).map_err(core_to_py)? })
    }

    #[getter]
    fn name(&self) -> String {
        self.inner.name.clone()
    }
    #[getter]
    fn dec_lo(&self) -> Vec<f64> {
        self.inner.dec_lo.clone()
    }
    #[getter]
    fn dec_hi(&self) -> Vec<f64> {
        self.inner.dec_hi.clone()
    }
    #[getter]
    fn rec_lo(&self) -> Vec<f64> {
        self.inner.rec_lo.clone()
    }
    #[getter]
    fn rec_hi(&self) -> Vec<f64> {
        self.inner.rec_hi.clone()
    }
    #[getter]
    fn dec_len(&self) -> usize {
        self.inner.filter_len()
    }
    #[getter]
    fn rec_len(&self) -> usize {
        self.inner.filter_len()
    }
    #[getter]
    fn orthogonal(&self) -> bool {
        true
    }
    #[getter]
    fn biorthogonal(&self) -> bool {
        true
    }
    /// `(dec_lo, dec_hi, rec_lo, rec_hi)`.
    #[getter]
    fn filter_bank<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyTuple>> {
        let w = &self.inner;
        PyTuple::new(py, [w.dec_lo.clone(), w.dec_hi.clone(), w.rec_lo.clone(), w.rec_hi.clone()])
    }

    /// `[phi, psi, x]` sampled by the cascade algorithm at `level`.
    #[pyo3(signature = (level = 8))]
    fn wavefun<'py>(&self, py: Python<'py>, level: usize) -> PyResult<Vec<Bound<'py, PyAny>>> {
        wavefun_of(py, &self.inner, level)
    }

    fn __len__(&self) -> usize {
        self.inner.filter_len()
    }

    fn __repr__(&self) -> String {
        format!("awd.Wavelet('{}', filter length {})", self.inner.name, self.inner.filter_len())
    }
}

/// The built-in wavelet names, optionally of one family (`haar`, `db`,
/// `sym`, `coif`).
#[pyfunction]
#[pyo3(signature = (family = None, kind = "all"))]
pub fn wavelist(family: Option<&str>, kind: &str) -> PyResult<Vec<String>> {
    if !matches!(kind, "all" | "discrete") {
        return Ok(Vec::new());
    }
    let short = |name: &str| name.trim_end_matches(|c: char| c.is_ascii_digit()).to_string();
    Ok(builtin_wavelets()
        .into_iter()
        .filter(|w| family.is_none_or(|f| short(w.name) == f))
        .map(|w| w.name.to_string())
        .collect())
}

/// A learned wavelet: the result of `awd.fit`, or a file written by
/// `awd fit` / `LearnedWavelet.save`.
#[pyclass(name = "LearnedWavelet", module = "awd", frozen)]
pub struct PyLearnedWavelet {
    pub inner: LearnedWavelet,
}

#[pymethods]
impl PyLearnedWavelet {
    #[getter]
    fn name(&self) -> String {
        self.inner.name.clone()
    }
    #[getter]
    fn lowpass<'py>(&self, py: Python<'py>) -> Bound<'py, PyAny> {
        vec_to_numpy(py, self.inner.lowpass.clone())
    }
    #[getter]
    fn highpass<'py>(&self, py: Python<'py>) -> Bound<'py, PyAny> {
        vec_to_numpy(py, self.inner.highpass.clone())
    }
    /// `(dec_lo, dec_hi, rec_lo, rec_hi)` as lists.
    #[getter]
    fn filter_bank<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyTuple>> {
        let b = &self.inner.filter_bank;
        PyTuple::new(py, [b.dec_lo.clone(), b.dec_hi.clone(), b.rec_lo.clone(), b.rec_hi.clone()])
    }
    #[getter]
    fn dec_lo(&self) -> Vec<f64> {
        self.inner.filter_bank.dec_lo.clone()
    }
    #[getter]
    fn dec_hi(&self) -> Vec<f64> {
        self.inner.filter_bank.dec_hi.clone()
    }
    #[getter]
    fn rec_lo(&self) -> Vec<f64> {
        self.inner.filter_bank.rec_lo.clone()
    }
    #[getter]
    fn rec_hi(&self) -> Vec<f64> {
        self.inner.filter_bank.rec_hi.clone()
    }
    #[getter]
    fn levels(&self) -> usize {
        self.inner.levels
    }
    #[getter]
    fn mode(&self) -> &'static str {
        self.inner.mode.name()
    }
    /// Every setting of the fit.
    #[getter]
    fn settings<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        json_to_py(py, &self.inner.settings)
    }
    /// The five validity penalties of the learned filter (unweighted).
    #[getter]
    fn validity<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        json_to_py(py, &self.inner.validity)
    }
    /// The loss terms per epoch as NumPy arrays (epoch 0: before training).
    #[getter]
    fn history<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let rows: Vec<serde_json::Value> =
            self.inner.history.iter().map(|r| serde_json::to_value(r).expect("records serialise")).collect();
        let dict = PyDict::new(py);
        if let Some(serde_json::Value::Object(first)) = rows.first() {
            for key in first.keys() {
                let column: Vec<f64> = rows.iter().map(|r| r[key].as_f64().unwrap_or(f64::NAN)).collect();
                dict.set_item(key, vec_to_numpy(py, column))?;
            }
        }
        Ok(dict)
    }
    /// The epoch at which the callback stopped training, or None.
    #[getter]
    fn stopped_at(&self) -> Option<usize> {
        self.inner.stopped_at
    }
    /// The filter bank as an `awd.Wavelet`.
    #[getter]
    fn wavelet(&self) -> PyWavelet {
        PyWavelet { inner: self.inner.wavelet() }
    }

    /// Write the CLI's learned-wavelet JSON (atomically).
    fn save(&self, path: PathBuf) -> PyResult<()> {
        self.inner.save(&path).map_err(io_to_py)
    }

    /// `[phi, psi, x]` of the learned wavelet.
    #[pyo3(signature = (level = 8))]
    fn wavefun<'py>(&self, py: Python<'py>, level: usize) -> PyResult<Vec<Bound<'py, PyAny>>> {
        wavefun_of(py, &self.inner.wavelet(), level)
    }

    fn __len__(&self) -> usize {
        self.inner.lowpass.len()
    }

    fn __repr__(&self) -> String {
        format!(
            "awd.LearnedWavelet('{}', {} taps, {} levels, {} epochs, validity {:.2e})",
            self.inner.name,
            self.inner.lowpass.len(),
            self.inner.levels,
            self.inner.history.len().saturating_sub(1),
            self.inner.validity.total()
        )
    }
}

/// Read a learned-wavelet JSON file (`awd fit`'s output).
#[pyfunction]
pub fn load_wavelet(path: PathBuf) -> PyResult<PyLearnedWavelet> {
    Ok(PyLearnedWavelet { inner: LearnedWavelet::load(&path).map_err(io_to_py)? })
}
