//! NumPy arrays in and out: float64 and float32 of any strides and memory
//! order come in as views; results go out as float64, or float32 when the
//! input was float32 (as pywt does).

use ndarray::{ArrayD, CowArray, IxDyn};
use numpy::{IntoPyArray, PyReadonlyArrayDyn, PyUntypedArrayMethods};
use pyo3::prelude::*;

/// A float array from Python (the package converts everything else first).
#[derive(FromPyObject)]
pub enum Floats<'py> {
    /// float64, any strides.
    F64(PyReadonlyArrayDyn<'py, f64>),
    /// float32, any strides (the transforms compute in float32, 1-D and
    /// 2-D alike).
    F32(PyReadonlyArrayDyn<'py, f32>),
}

impl Floats<'_> {
    /// Whether the array is float32.
    pub fn is_f32(&self) -> bool {
        matches!(self, Floats::F32(_))
    }

    /// The array's shape.
    pub fn shape(&self) -> &[usize] {
        match self {
            Floats::F64(a) => a.shape(),
            Floats::F32(a) => a.shape(),
        }
    }

    /// A view of float32 input (`None` for float64).
    pub fn view32(&self) -> Option<ndarray::ArrayViewD<'_, f32>> {
        match self {
            Floats::F64(_) => None,
            Floats::F32(a) => Some(a.as_array()),
        }
    }

    /// The values as float64: a view of float64 input, a converted copy of
    /// float32 input.
    pub fn view64(&self) -> CowArray<'_, f64, IxDyn> {
        match self {
            Floats::F64(a) => CowArray::from(a.as_array()),
            Floats::F32(a) => CowArray::from(a.as_array().mapv(f64::from)),
        }
    }
}

/// An owned array back to NumPy, float32 when `as_f32`.
pub fn to_numpy(py: Python<'_>, a: ArrayD<f64>, as_f32: bool) -> Bound<'_, PyAny> {
    if as_f32 {
        a.mapv(|v| v as f32).into_pyarray(py).into_any()
    } else {
        a.into_pyarray(py).into_any()
    }
}

/// A plain vector as a 1-D float64 array.
pub fn vec_to_numpy(py: Python<'_>, v: Vec<f64>) -> Bound<'_, PyAny> {
    v.into_pyarray(py).into_any()
}

/// A normalised axis index (negative counts from the end), or an error
/// naming the argument.
pub fn axis_index(axis: i64, ndim: usize, what: &str) -> PyResult<usize> {
    let n = ndim as i64;
    let a = if axis < 0 { axis + n } else { axis };
    if a < 0 || a >= n {
        return Err(crate::errors::value_error(format!(
            "{what} {axis} is out of range for an array of {ndim} dimension(s)"
        )));
    }
    Ok(a as usize)
}
