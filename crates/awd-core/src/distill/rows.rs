//! Samples as rows `(n, values)` of float64 or float32. Float32 data stay
//! float32 (a mapped float32 file is never widened as a whole): each chunk
//! of a batch is widened to f64 when it is read, exactly (every f32 is an
//! f64), so a fit on float32 rows equals, bit for bit, the fit on the same
//! rows converted to float64 first.

use ndarray::{ArrayView2, Axis, CowArray, Ix2};

use crate::dwt::Real;
use crate::error::{check_finite, Result};

/// Borrowed sample rows, one sample per row, float64 or float32.
#[derive(Debug, Clone, Copy)]
pub enum SampleRows<'a> {
    /// Float64 rows.
    F64(ArrayView2<'a, f64>),
    /// Float32 rows (widened chunk by chunk, exactly).
    F32(ArrayView2<'a, f32>),
}

impl<'a> From<ArrayView2<'a, f64>> for SampleRows<'a> {
    fn from(v: ArrayView2<'a, f64>) -> Self {
        SampleRows::F64(v)
    }
}

impl<'a> From<ArrayView2<'a, f32>> for SampleRows<'a> {
    fn from(v: ArrayView2<'a, f32>) -> Self {
        SampleRows::F32(v)
    }
}

impl<'a> SampleRows<'a> {
    /// `(samples, values per sample)`.
    pub fn dim(&self) -> (usize, usize) {
        match self {
            SampleRows::F64(v) => v.dim(),
            SampleRows::F32(v) => v.dim(),
        }
    }

    /// Whether the values are float32.
    pub fn is_float32(&self) -> bool {
        matches!(self, SampleRows::F32(_))
    }

    /// An error naming the first non-finite value, if any (a parallel scan).
    pub fn check_finite(&self) -> Result<()> {
        match self {
            SampleRows::F64(v) => check_finite(v.view()),
            SampleRows::F32(v) => check_finite(v.view()),
        }
    }

    /// Rows `range` (a data-parallel process's share), without copying.
    pub fn slice_rows(&self, range: std::ops::Range<usize>) -> SampleRows<'a> {
        let s = ndarray::Slice::from(range);
        match *self {
            SampleRows::F64(v) => SampleRows::F64(v.slice_axis_move(Axis(0), s)),
            SampleRows::F32(v) => SampleRows::F32(v.slice_axis_move(Axis(0), s)),
        }
    }

    /// Stored for a problem: borrowed when row-major, else a row-major copy
    /// (of the same type).
    pub(crate) fn stored(self) -> Stored<'a> {
        match self {
            SampleRows::F64(v) => Stored::F64(row_major(v)),
            SampleRows::F32(v) => Stored::F32(row_major(v)),
        }
    }
}

/// Rows held by a problem, row-major.
#[derive(Debug)]
pub(crate) enum Stored<'a> {
    F64(CowArray<'a, f64, Ix2>),
    F32(CowArray<'a, f32, Ix2>),
}

impl Stored<'_> {
    /// `(samples, values per sample)`.
    pub(crate) fn dim(&self) -> (usize, usize) {
        match self {
            Stored::F64(a) => a.dim(),
            Stored::F32(a) => a.dim(),
        }
    }

    /// Rows `idx` as f64 slices: the rows themselves for float64, their
    /// exact widening into `buf` for float32.
    pub(crate) fn gather<'s>(&'s self, idx: &[usize], buf: &'s mut Vec<f64>) -> Vec<&'s [f64]> {
        match self {
            Stored::F64(a) => idx.iter().map(|&i| a.index_axis(Axis(0), i).to_slice().expect("row-major")).collect(),
            Stored::F32(a) => {
                let width = a.ncols();
                buf.clear();
                for &i in idx {
                    buf.extend(a.index_axis(Axis(0), i).iter().map(|&v| f64::from(v)));
                }
                if width == 0 {
                    return vec![&buf[..0]; idx.len()];
                }
                buf.chunks_exact(width).collect()
            }
        }
    }

    /// Every value as f64, row by row.
    pub(crate) fn values(&self) -> Box<dyn Iterator<Item = f64> + '_> {
        match self {
            Stored::F64(a) => Box::new(a.iter().copied()),
            Stored::F32(a) => Box::new(a.iter().map(|&v| f64::from(v))),
        }
    }
}

/// The view itself when it is row-major, else a row-major copy.
fn row_major<T: Real>(a: ArrayView2<'_, T>) -> CowArray<'_, T, Ix2> {
    if a.is_standard_layout() {
        CowArray::from(a)
    } else {
        CowArray::from(a.as_standard_layout().into_owned())
    }
}
