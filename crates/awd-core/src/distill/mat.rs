//! Row-major matrices and the 1-D filter-bank steps applied along either axis,
//! forward and reverse, for the 2-D objective. Axis-0 steps transpose, apply
//! the row kernels and transpose back.

use crate::dwt::adjoint::{analysis_filter_grad_row, analysis_input_grad_row};
use crate::dwt::kernel::{analysis_row, as_out, synthesis_row, Taps};
use crate::Mode;

/// A row-major matrix.
#[derive(Debug, Clone, Default)]
pub(crate) struct Mat {
    pub data: Vec<f64>,
    pub rows: usize,
    pub cols: usize,
}

impl Mat {
    pub fn zeros(rows: usize, cols: usize) -> Self {
        Mat { data: vec![0.0; rows * cols], rows, cols }
    }
    pub fn shape(&self) -> (usize, usize) {
        (self.rows, self.cols)
    }
    fn reshape(&mut self, rows: usize, cols: usize) {
        self.rows = rows;
        self.cols = cols;
        self.data.resize(rows * cols, 0.0);
    }
    fn row(&self, r: usize) -> &[f64] {
        &self.data[r * self.cols..(r + 1) * self.cols]
    }
    fn row_mut(&mut self, r: usize) -> &mut [f64] {
        &mut self.data[r * self.cols..(r + 1) * self.cols]
    }
    /// `self = src^T`.
    pub fn transpose_from(&mut self, src: &Mat) {
        self.reshape(src.cols, src.rows);
        for r in 0..src.rows {
            for c in 0..src.cols {
                self.data[c * src.rows + r] = src.data[r * src.cols + c];
            }
        }
    }
    /// `self = src[..rows, ..cols]` (the top-left block).
    pub fn crop_from(&mut self, src: &Mat, rows: usize, cols: usize) {
        self.reshape(rows, cols);
        for r in 0..rows {
            self.data[r * cols..(r + 1) * cols].copy_from_slice(&src.row(r)[..cols]);
        }
    }
    /// `self` = `src` zero-padded at the bottom and right to `rows x cols`.
    pub fn pad_from(&mut self, src: &Mat, rows: usize, cols: usize) {
        self.reshape(rows, cols);
        self.data.fill(0.0);
        for r in 0..src.rows {
            self.data[r * cols..r * cols + src.cols].copy_from_slice(src.row(r));
        }
    }
    /// Sum of `|v|`.
    pub fn abs_sum(&self) -> f64 {
        self.data.iter().map(|v| v.abs()).sum()
    }
}

/// Scratch matrices for the axis-0 steps.
#[derive(Debug, Default)]
pub(crate) struct Transposes {
    x: Mat,
    a: Mat,
    d: Mat,
    gx: Mat,
}

/// Analysis of every row: `a`, `d` become `rows x len`.
pub(crate) fn an_rows(taps: &Taps, mode: Mode, x: &Mat, a: &mut Mat, d: &mut Mat) {
    let len = crate::dwt::len::dwt_coeff_len(x.cols, taps.f, mode);
    a.reshape(x.rows, len);
    d.reshape(x.rows, len);
    for r in 0..x.rows {
        analysis_row(x.row(r), taps, mode, as_out(a.row_mut(r)), as_out(d.row_mut(r)));
    }
}

/// Reverse of [`an_rows`]: filter gradients accumulated, input gradient
/// (overwritten) when `gx` is given.
#[allow(clippy::too_many_arguments)]
pub(crate) fn an_rows_back(
    taps: &Taps,
    mode: Mode,
    x: &Mat,
    ga: &Mat,
    gd: &Mat,
    gh: &mut [f64],
    gg: &mut [f64],
    gx: Option<&mut Mat>,
) {
    for r in 0..x.rows {
        analysis_filter_grad_row(x.row(r), taps, mode, ga.row(r), gd.row(r), gh, gg);
    }
    if let Some(gx) = gx {
        gx.reshape(x.rows, x.cols);
        for r in 0..x.rows {
            analysis_input_grad_row(ga.row(r), gd.row(r), taps, mode, gx.row_mut(r));
        }
    }
}

/// Analysis along axis 0: `a`, `d` become `len x cols`.
pub(crate) fn an_cols(taps: &Taps, mode: Mode, x: &Mat, a: &mut Mat, d: &mut Mat, t: &mut Transposes) {
    t.x.transpose_from(x);
    an_rows(taps, mode, &t.x, &mut t.a, &mut t.d);
    a.transpose_from(&t.a);
    d.transpose_from(&t.d);
}

/// Reverse of [`an_cols`].
#[allow(clippy::too_many_arguments)]
pub(crate) fn an_cols_back(
    taps: &Taps,
    mode: Mode,
    x: &Mat,
    ga: &Mat,
    gd: &Mat,
    gh: &mut [f64],
    gg: &mut [f64],
    gx: Option<&mut Mat>,
    t: &mut Transposes,
) {
    t.x.transpose_from(x);
    t.a.transpose_from(ga);
    t.d.transpose_from(gd);
    match gx {
        Some(gx) => {
            an_rows_back(taps, mode, &t.x, &t.a, &t.d, gh, gg, Some(&mut t.gx));
            gx.transpose_from(&t.gx);
        }
        None => an_rows_back(taps, mode, &t.x, &t.a, &t.d, gh, gg, None),
    }
}

/// Synthesis of every row pair: `out` becomes `rows x idwt_len(cols)`.
pub(crate) fn syn_rows(taps: &Taps, mode: Mode, a: &Mat, d: &Mat, out: &mut Mat) {
    let len = crate::dwt::len::idwt_output_len(a.cols, taps.f, mode).expect("valid layout");
    out.reshape(a.rows, len);
    for r in 0..a.rows {
        synthesis_row(a.row(r), d.row(r), taps, mode, as_out(out.row_mut(r)));
    }
}

/// Synthesis along axis 0.
pub(crate) fn syn_cols(taps: &Taps, mode: Mode, a: &Mat, d: &Mat, out: &mut Mat, t: &mut Transposes) {
    t.a.transpose_from(a);
    t.d.transpose_from(d);
    syn_rows(taps, mode, &t.a, &t.d, &mut t.x);
    out.transpose_from(&t.x);
}
