//! Multilevel 1-D transforms (pywt `wavedec`/`waverec`, and `dwt`/`idwt` as
//! the one-level case) on batches of signals, parallel over the batch.

use std::mem::MaybeUninit;

use ndarray::{s, Array2, ArrayView2, ArrayViewMut2, Axis};
use rayon::prelude::*;

use super::kernel::{
    analysis_row_checked, as_out, on_pool, synthesis_row_checked, uninit_len, with_thread_buffers, KernelReal, OutBuf,
    Taps,
};
use super::len::{dwt_max_level, idwt_output_len, level_lengths};
use super::tiles;
use crate::error::{all_finite_best, check_finite, Error, Result};
use crate::{Mode, Wavelet};

/// Fewest signals sent to the tiled path (a tile holds 16).
const TILE_MIN_ROWS: usize = 4;

/// Reusable buffers for one thread: a training epoch allocates nothing.
/// `T` is the sample type (f64 for the public row functions; the float32
/// transforms keep their own).
#[derive(Debug, Default, Clone)]
pub struct Scratch<T = f64> {
    ping: Vec<T>,
    pong: Vec<T>,
}

/// A planned multilevel 1-D transform: fixed wavelet, mode, levels and
/// lengths. Coefficients of one signal are packed in pywt order
/// `[cA_J, cD_J, ..., cD_1]` into one row of `total_len()` values.
#[derive(Debug, Clone)]
pub struct Plan1d {
    wavelet: Wavelet,
    taps: Taps,
    mode: Mode,
    /// Coefficient lengths in pywt order `[cA_J, cD_J, ..., cD_1]`.
    coeff_lens: Vec<usize>,
    offsets: Vec<usize>,
    /// Input length (0 when planned from coefficient lengths alone).
    signal_len: usize,
    recon_len: usize,
}

impl Plan1d {
    /// Plan `levels` levels for signals of length `n`; errors when `levels`
    /// exceeds pywt's `dwt_max_level` (every coefficient boundary-dominated).
    pub fn new(n: usize, wavelet: &Wavelet, mode: Mode, levels: usize) -> Result<Self> {
        let max = dwt_max_level(n, wavelet.filter_len());
        if levels > max {
            return Err(Error::LevelTooHigh {
                level: levels,
                max,
                length: n,
                wavelet: wavelet.name.clone(),
                filter_length: wavelet.filter_len(),
            });
        }
        Self::with_boundary_levels(n, wavelet, mode, levels)
    }

    /// Like [`Plan1d::new`] but accepts levels above `dwt_max_level`, as pywt
    /// does with a warning (AWD's J = 4 on 64-sample signals is such a case).
    pub fn with_boundary_levels(n: usize, wavelet: &Wavelet, mode: Mode, levels: usize) -> Result<Self> {
        let f = wavelet.filter_len();
        if n == 0 {
            return Err(Error::TooShort { reason: "the signal is empty".into() });
        }
        let lens = level_lengths(n, f, mode, levels);
        if mode == Mode::Reflect {
            if let Some(j) = lens[..levels].iter().position(|&l| l < 2) {
                return Err(Error::TooShort {
                    reason: format!(
                        "reflect mode needs at least 2 samples, but level {} gets {} \
                         (signal length {n}); use fewer levels or another mode",
                        j + 1,
                        lens[j]
                    ),
                });
            }
        }
        let mut coeff_lens = vec![lens[levels]];
        coeff_lens.extend(lens[1..].iter().rev());
        if levels == 0 {
            coeff_lens = vec![n];
        }
        let mut plan = Self::from_parts(wavelet, mode, coeff_lens)?;
        plan.signal_len = n;
        Ok(plan)
    }

    /// Plan the inverse of given coefficient lengths in pywt order
    /// `[cA_J, cD_J, ..., cD_1]`, checking that they fit together.
    pub fn from_coeff_lens(coeff_lens: &[usize], wavelet: &Wavelet, mode: Mode) -> Result<Self> {
        if coeff_lens.is_empty() {
            return Err(Error::ShapeMismatch { reason: "no coefficient arrays".into() });
        }
        Self::from_parts(wavelet, mode, coeff_lens.to_vec())
    }

    fn from_parts(wavelet: &Wavelet, mode: Mode, coeff_lens: Vec<usize>) -> Result<Self> {
        let f = wavelet.filter_len();
        let mut offsets = Vec::with_capacity(coeff_lens.len() + 1);
        let mut acc = 0;
        for l in &coeff_lens {
            offsets.push(acc);
            acc += l;
        }
        offsets.push(acc);
        // Walk the inverse chain once to validate and find the output length.
        let mut a = coeff_lens[0];
        for (k, &d) in coeff_lens[1..].iter().enumerate() {
            if a == d + 1 {
                a = d;
            }
            if a != d {
                return Err(Error::ShapeMismatch {
                    reason: format!(
                        "approximation of {a} samples cannot pair with detail array {} of {d} \
                         (pywt order [cA_J, cD_J, ..., cD_1])",
                        k + 1
                    ),
                });
            }
            a = idwt_output_len(d, f, mode).ok_or_else(|| Error::ShapeMismatch {
                reason: format!(
                    "detail array {} has {d} samples, fewer than the {} that {} ({f} taps) needs \
                     to reconstruct in {mode} mode",
                    k + 1,
                    f / 2,
                    wavelet.name
                ),
            })?;
        }
        Ok(Plan1d {
            wavelet: wavelet.clone(),
            taps: Taps::new(&wavelet.rec_lo, &wavelet.rec_hi),
            mode,
            coeff_lens,
            offsets,
            signal_len: 0,
            recon_len: a,
        })
    }

    /// Number of levels J.
    pub fn levels(&self) -> usize {
        self.coeff_lens.len() - 1
    }
    /// The wavelet.
    pub fn wavelet(&self) -> &Wavelet {
        &self.wavelet
    }
    /// The mode.
    pub fn mode(&self) -> Mode {
        self.mode
    }
    /// Input signal length (0 for a plan made from coefficient lengths).
    pub fn signal_len(&self) -> usize {
        self.signal_len
    }
    /// Coefficient lengths in pywt order `[cA_J, cD_J, ..., cD_1]`.
    pub fn coeff_lens(&self) -> &[usize] {
        &self.coeff_lens
    }
    /// Start of each array in the packed row, plus the total at the end.
    pub fn offsets(&self) -> &[usize] {
        &self.offsets
    }
    /// Values per packed coefficient row.
    pub fn total_len(&self) -> usize {
        *self.offsets.last().expect("offsets")
    }
    /// Length of `waverec`'s output: pywt's rule (n + 1 for odd n in every mode).
    pub fn recon_len(&self) -> usize {
        self.recon_len
    }
    /// Polyphase taps (for kernels built on this plan).
    pub fn taps(&self) -> &Taps {
        &self.taps
    }

    /// Analyse one signal into a packed coefficient row.
    ///
    /// # Panics
    /// If `x.len() != signal_len()` or `out.len() != total_len()`.
    pub fn wavedec_row(&self, x: &[f64], out: &mut [f64], scratch: &mut Scratch) {
        self.wavedec_row_out(x, as_out(out), scratch, false);
    }

    /// [`Plan1d::wavedec_row`] into uninitialised memory; returns whether
    /// every value of `x` is finite if `check` (true otherwise), scanned as
    /// the first level reads it.
    fn wavedec_row_out<T: KernelReal>(
        &self,
        x: &[T],
        out: &mut OutBuf<T>,
        scratch: &mut Scratch<T>,
        check: bool,
    ) -> bool {
        assert_eq!(x.len(), self.signal_len, "wavedec_row: input length");
        assert_eq!(out.len(), self.total_len(), "wavedec_row: output length");
        let levels = self.levels();
        if levels == 0 {
            for (o, &v) in out.iter_mut().zip(x) {
                o.write(v);
            }
            return !check || all_finite_best(x);
        }
        let mut cur = std::mem::take(&mut scratch.ping);
        let mut next = std::mem::take(&mut scratch.pong);
        let mut finite = true;
        for j in 1..=levels {
            // cD_j sits at pywt index levels - j + 1.
            let k = levels - j + 1;
            let n_out = self.coeff_lens[k];
            let (head, tail) = out.split_at_mut(self.offsets[k]);
            let cd = &mut tail[..n_out];
            let input: &[T] = if j == 1 { x } else { &cur };
            let check = check && j == 1;
            if j == levels {
                finite &= analysis_row_checked(input, &self.taps, self.mode, &mut head[..n_out], cd, check);
            } else {
                finite &= analysis_row_checked(input, &self.taps, self.mode, uninit_len(&mut next, n_out), cd, check);
                // SAFETY: analysis_row wrote all n_out values.
                unsafe { next.set_len(n_out) };
                std::mem::swap(&mut cur, &mut next);
            }
        }
        scratch.ping = cur;
        scratch.pong = next;
        finite
    }

    /// Rebuild one signal (`recon_len()` samples) from a packed coefficient row.
    ///
    /// # Panics
    /// If `coeffs.len() != total_len()` or `out.len() != recon_len()`.
    pub fn waverec_row(&self, coeffs: &[f64], out: &mut [f64], scratch: &mut Scratch) {
        self.waverec_row_out(coeffs, as_out(out), scratch, false);
    }

    /// [`Plan1d::waverec_row`] into uninitialised memory; returns whether
    /// every coefficient is finite if `check` (true otherwise), scanned as
    /// the levels read them.
    fn waverec_row_out<T: KernelReal>(
        &self,
        coeffs: &[T],
        out: &mut OutBuf<T>,
        scratch: &mut Scratch<T>,
        check: bool,
    ) -> bool {
        assert_eq!(coeffs.len(), self.total_len(), "waverec_row: coefficient length");
        assert_eq!(out.len(), self.recon_len, "waverec_row: output length");
        let levels = self.levels();
        if levels == 0 {
            for (o, &v) in out.iter_mut().zip(coeffs) {
                o.write(v);
            }
            return !check || all_finite_best(coeffs);
        }
        let f = self.taps.f;
        let mut cur = std::mem::take(&mut scratch.ping);
        let mut next = std::mem::take(&mut scratch.pong);
        // cA_J's samples past cD_J's length are never read (pywt drops them)
        let mut finite =
            !check || all_finite_best(&coeffs[self.coeff_lens[1].min(self.coeff_lens[0])..self.coeff_lens[0]]);
        for k in 1..=levels {
            let d = &coeffs[self.offsets[k]..self.offsets[k + 1]];
            let a: &[T] = if k == 1 { &coeffs[..self.coeff_lens[0]] } else { &cur };
            let a = &a[..d.len()]; // pywt drops a trailing sample of a
            let n_out = idwt_output_len(d.len(), f, self.mode).expect("validated plan");
            // the coefficients of cD_k always, cA_J's at the first level
            let check = (check && k == 1, check);
            if k == levels {
                finite &= synthesis_row_checked(a, d, &self.taps, self.mode, out, check);
            } else {
                finite &= synthesis_row_checked(a, d, &self.taps, self.mode, uninit_len(&mut next, n_out), check);
                // SAFETY: synthesis_row wrote all n_out values.
                unsafe { next.set_len(n_out) };
                std::mem::swap(&mut cur, &mut next);
            }
        }
        scratch.ping = cur;
        scratch.pong = next;
        finite
    }

    /// Analyse a batch of signals, one per row of `x` (shape `(batch, n)`),
    /// in parallel. Non-finite inputs are an error naming the position.
    pub fn wavedec(&self, x: ArrayView2<'_, f64>) -> Result<Coeffs1d> {
        if x.ncols() != self.signal_len {
            return Err(Error::ShapeMismatch {
                reason: format!("signals have {} samples, the plan expects {}", x.ncols(), self.signal_len),
            });
        }
        let data = checked_rows(x, self.total_len(), |src, rows, out| self.wavedec_flat(src, rows, out, true))?;
        Ok(Coeffs1d { data, coeff_lens: self.coeff_lens.clone(), offsets: self.offsets.clone() })
    }

    /// Analyse into a caller-owned packed array `(batch, total_len)`; no checks
    /// beyond shapes (hot loops).
    ///
    /// # Panics
    /// If the shapes do not match the plan.
    pub fn wavedec_into(&self, x: ArrayView2<'_, f64>, out: ArrayViewMut2<'_, f64>) {
        self.wavedec_into_impl(x, out, false).expect("nothing is checked");
    }

    /// [`Plan1d::wavedec_into`], and non-finite inputs are an error naming
    /// the position (checked as the kernels load the input; `out` is then
    /// written but meaningless).
    ///
    /// # Panics
    /// If the shapes do not match the plan.
    pub fn wavedec_into_checked(&self, x: ArrayView2<'_, f64>, out: ArrayViewMut2<'_, f64>) -> Result<()> {
        self.wavedec_into_impl(x, out, true)
    }

    fn wavedec_into_impl(&self, x: ArrayView2<'_, f64>, mut out: ArrayViewMut2<'_, f64>, check: bool) -> Result<()> {
        assert_eq!(out.dim(), (x.nrows(), self.total_len()), "wavedec_into: output shape");
        let x = x.as_standard_layout();
        let rows = x.nrows();
        let finite = into_rows(&mut out, |o| self.wavedec_flat(x.as_slice().expect("standard layout"), rows, o, check));
        if finite {
            Ok(())
        } else {
            check_finite(x.view())
        }
    }

    /// Whether `rows` signals go through the tiled kernels (enough of them,
    /// short enough).
    fn tiled(&self, rows: usize) -> bool {
        rows >= TILE_MIN_ROWS && tiles::takes(self)
    }

    /// Analyse `rows` signals stored flat, row-major, into `out` (all written):
    /// across signals in tiles for short signals, one signal at a time else.
    /// Returns whether every input value is finite if `check` (else true,
    /// unchecked): the tiles check each tile as they load it (it is in cache
    /// then), the row path each part of a signal as its first level reads
    /// it.
    fn wavedec_flat<T: RowReal>(&self, x: &[T], rows: usize, out: &mut OutBuf<T>, check: bool) -> bool {
        if self.tiled(rows) {
            return tiles::wavedec_tiles(self, x, out, check);
        }
        on_pool(|| rows_into(x, rows, out, &|xr, or, s| self.wavedec_row_out(xr, or, s, check)))
    }

    /// Rebuild `rows` packed coefficient rows stored flat into `out` (all
    /// written); returns whether every input value is finite, as
    /// [`Plan1d::wavedec_flat`].
    fn waverec_flat<T: RowReal>(&self, c: &[T], rows: usize, out: &mut OutBuf<T>, check: bool) -> bool {
        if self.tiled(rows) {
            return tiles::waverec_tiles(self, c, out, check);
        }
        on_pool(|| rows_into(c, rows, out, &|cr, or, s| self.waverec_row_out(cr, or, s, check)))
    }

    /// Rebuild a batch of signals; output `(batch, recon_len())` (pywt's length).
    pub fn waverec(&self, coeffs: &Coeffs1d) -> Result<Array2<f64>> {
        if coeffs.coeff_lens != self.coeff_lens {
            return Err(Error::ShapeMismatch {
                reason: format!(
                    "coefficient lengths {:?} do not match the plan's {:?}",
                    coeffs.coeff_lens, self.coeff_lens
                ),
            });
        }
        checked_rows(coeffs.data.view(), self.recon_len, |src, rows, out| self.waverec_flat(src, rows, out, true))
    }

    /// Rebuild into a caller-owned `(batch, recon_len)` array (hot loops).
    ///
    /// # Panics
    /// If the shapes do not match the plan.
    pub fn waverec_into(&self, packed: ArrayView2<'_, f64>, out: ArrayViewMut2<'_, f64>) {
        self.waverec_into_impl(packed, out, false).expect("nothing is checked");
    }

    /// [`Plan1d::waverec_into`], and non-finite coefficients are an error
    /// naming the position, as [`Plan1d::wavedec_into_checked`].
    ///
    /// # Panics
    /// If the shapes do not match the plan.
    pub fn waverec_into_checked(&self, packed: ArrayView2<'_, f64>, out: ArrayViewMut2<'_, f64>) -> Result<()> {
        self.waverec_into_impl(packed, out, true)
    }

    fn waverec_into_impl(
        &self,
        packed: ArrayView2<'_, f64>,
        mut out: ArrayViewMut2<'_, f64>,
        check: bool,
    ) -> Result<()> {
        assert_eq!(packed.ncols(), self.total_len(), "waverec_into: coefficient shape");
        assert_eq!(out.dim(), (packed.nrows(), self.recon_len), "waverec_into: output shape");
        let packed = packed.as_standard_layout();
        let rows = packed.nrows();
        let finite =
            into_rows(&mut out, |o| self.waverec_flat(packed.as_slice().expect("standard layout"), rows, o, check));
        if finite {
            Ok(())
        } else {
            check_finite(packed.view())
        }
    }

    /// Analyse a batch of float32 signals into packed float32 rows
    /// `(batch, total_len)`: float32 in, float32 out, computed in float32
    /// arithmetic, as pywt does (the same kernels and summation order as
    /// f64).
    pub fn wavedec_f32(&self, x: ArrayView2<'_, f32>) -> Result<Array2<f32>> {
        if x.ncols() != self.signal_len {
            return Err(Error::ShapeMismatch {
                reason: format!("signals have {} samples, the plan expects {}", x.ncols(), self.signal_len),
            });
        }
        checked_rows(x, self.total_len(), |src, rows, out| self.wavedec_flat(src, rows, out, true))
    }

    /// Rebuild float32 signals `(batch, recon_len)` from packed float32 rows
    /// `(batch, total_len)`.
    pub fn waverec_f32(&self, packed: ArrayView2<'_, f32>) -> Result<Array2<f32>> {
        if packed.ncols() != self.total_len() {
            return Err(Error::ShapeMismatch {
                reason: format!(
                    "packed rows have {} coefficients, the plan's lengths {:?} add up to {}",
                    packed.ncols(),
                    self.coeff_lens,
                    self.total_len()
                ),
            });
        }
        checked_rows(packed, self.recon_len, |src, rows, out| self.waverec_flat(src, rows, out, true))
    }
}

/// A new `(rows, cols)` array that `flat(input rows, rows, out)` fills,
/// where `flat` also tells whether every input value is finite; if not, the
/// array is dropped and the error names the first such value's position.
fn checked_rows<T: RowReal>(
    input: ArrayView2<'_, T>,
    cols: usize,
    flat: impl FnOnce(&[T], usize, &mut OutBuf<T>) -> bool,
) -> Result<Array2<T>> {
    let input = input.as_standard_layout();
    let mut finite = true;
    let out = new_rows(input.nrows(), cols, |out| {
        finite = flat(input.as_slice().expect("standard layout"), input.nrows(), out)
    });
    if !finite {
        check_finite(input.view())?;
    }
    Ok(out)
}

thread_local! {
    /// Per-thread buffers, kept between calls so repeated transforms (training
    /// epochs, benchmarks) do not allocate.
    static SCRATCH_F64: std::cell::RefCell<Scratch<f64>> = std::cell::RefCell::new(Scratch::default());
    static SCRATCH_F32: std::cell::RefCell<Scratch<f32>> = std::cell::RefCell::new(Scratch::default());
}

/// A sample type of the row path: the kernels' type with its thread's
/// scratch buffers.
trait RowReal: KernelReal {
    /// Run `f` with this thread's scratch; a nested call (rayon may run
    /// another row on this thread while a long row waits) gets fresh
    /// buffers instead.
    fn with_scratch<R>(f: impl FnOnce(&mut Scratch<Self>) -> R) -> R;
}

macro_rules! row_real {
    ($t:ty, $scratch:ident) => {
        impl RowReal for $t {
            fn with_scratch<R>(f: impl FnOnce(&mut Scratch<Self>) -> R) -> R {
                with_thread_buffers(&$scratch, Scratch::default, f)
            }
        }
    };
}

row_real!(f64, SCRATCH_F64);
row_real!(f32, SCRATCH_F32);

/// Apply `f(in_row, out_row, scratch)` to every pair of rows of two flat
/// row-major buffers, in parallel; true if every call returned true.
fn rows_into<T: RowReal, F>(input: &[T], rows: usize, out: &mut OutBuf<T>, f: &F) -> bool
where
    F: Fn(&[T], &mut OutBuf<T>, &mut Scratch<T>) -> bool + Sync,
{
    if rows == 0 || input.is_empty() || out.is_empty() {
        return true;
    }
    let (ni, no) = (input.len() / rows, out.len() / rows);
    let min_len = (4096 / ni.max(no)).max(1);
    input
        .par_chunks(ni)
        .zip(out.par_chunks_mut(no))
        .with_min_len(min_len)
        .map(|(xr, or)| T::with_scratch(|s| f(xr, or, s)))
        .reduce(|| true, |a, b| a & b)
}

/// A new `(rows, cols)` array (f64 or f32) that `fill` writes completely,
/// without zero-filling it first.
pub(crate) fn new_rows<T>(rows: usize, cols: usize, fill: impl FnOnce(&mut [MaybeUninit<T>])) -> Array2<T> {
    let len = rows * cols;
    let mut data: Vec<T> = Vec::with_capacity(len);
    if len > 0 {
        fill(&mut data.spare_capacity_mut()[..len]);
    }
    // SAFETY: `fill` writes every element (the kernels' contract).
    unsafe { data.set_len(len) };
    Array2::from_shape_vec((rows, cols), data).expect("rows * cols elements")
}

/// Let `fill` write all of `out`: in place when it is contiguous, else
/// through a temporary.
fn into_rows(out: &mut ArrayViewMut2<'_, f64>, fill: impl FnOnce(&mut OutBuf) -> bool) -> bool {
    if out.is_empty() {
        return true;
    }
    if let Some(out_slice) = out.as_slice_mut() {
        fill(as_out(out_slice))
    } else {
        let mut finite = true;
        let filled = new_rows(out.nrows(), out.ncols(), |o| finite = fill(o));
        out.assign(&filled);
        finite
    }
}

/// Coefficients of a batch of signals, packed one row per signal in pywt
/// order `[cA_J, cD_J, ..., cD_1]`.
#[derive(Debug, Clone, PartialEq)]
pub struct Coeffs1d {
    /// Packed coefficients, shape `(batch, total)`.
    pub data: Array2<f64>,
    coeff_lens: Vec<usize>,
    offsets: Vec<usize>,
}

impl Coeffs1d {
    /// Build from arrays in pywt order, each `(batch, len_k)`.
    pub fn from_arrays(arrays: &[ArrayView2<'_, f64>]) -> Result<Self> {
        let Some(first) = arrays.first() else {
            return Err(Error::ShapeMismatch { reason: "no coefficient arrays".into() });
        };
        let batch = first.nrows();
        if let Some((k, a)) = arrays.iter().enumerate().find(|(_, a)| a.nrows() != batch) {
            return Err(Error::ShapeMismatch {
                reason: format!("array {k} has {} signals, array 0 has {batch}", a.nrows()),
            });
        }
        let coeff_lens: Vec<usize> = arrays.iter().map(|a| a.ncols()).collect();
        let mut offsets = vec![0];
        for l in &coeff_lens {
            offsets.push(offsets.last().expect("non-empty") + l);
        }
        let mut data = Array2::zeros((batch, *offsets.last().expect("non-empty")));
        pack_coeff_rows(arrays, data.view_mut());
        Ok(Coeffs1d { data, coeff_lens, offsets })
    }

    /// Number of levels J.
    pub fn levels(&self) -> usize {
        self.coeff_lens.len() - 1
    }
    /// Coefficient lengths in pywt order.
    pub fn coeff_lens(&self) -> &[usize] {
        &self.coeff_lens
    }
    /// Array `k` in pywt order (0 = `cA_J`, 1 = `cD_J`, ..., J = `cD_1`).
    pub fn array(&self, k: usize) -> ArrayView2<'_, f64> {
        self.data.slice(s![.., self.offsets[k]..self.offsets[k + 1]])
    }
    /// All arrays in pywt order.
    pub fn arrays(&self) -> Vec<ArrayView2<'_, f64>> {
        (0..self.coeff_lens.len()).map(|k| self.array(k)).collect()
    }
    /// The approximation `cA_J`.
    pub fn approx(&self) -> ArrayView2<'_, f64> {
        self.array(0)
    }
    /// The detail at `level` (1 = finest, J = coarsest).
    ///
    /// # Panics
    /// If `level` is 0 or above J.
    pub fn detail(&self, level: usize) -> ArrayView2<'_, f64> {
        assert!((1..=self.levels()).contains(&level), "detail level {level} out of 1..={}", self.levels());
        self.array(self.levels() - level + 1)
    }
    /// Number of signals.
    pub fn batch(&self) -> usize {
        self.data.len_of(Axis(0))
    }
}

/// Signals per parallel task when packing coefficient rows.
const PACK_ROWS: usize = 256;

/// Pack coefficient arrays (f64 or f32) in pywt order (each `(batch, len_k)`, any strides)
/// side by side into `out` (`(batch, sum of len_k)`), in parallel over
/// blocks of signals.
///
/// # Panics
/// If the arrays' row counts or total width do not match `out`.
pub fn pack_coeff_rows<T: Copy + Send + Sync>(arrays: &[ArrayView2<'_, T>], mut out: ArrayViewMut2<'_, T>) {
    let width: usize = arrays.iter().map(|a| a.ncols()).sum();
    assert_eq!(out.ncols(), width, "pack_coeff_rows: total width");
    assert!(arrays.iter().all(|a| a.nrows() == out.nrows()), "pack_coeff_rows: row counts");
    out.axis_chunks_iter_mut(Axis(0), PACK_ROWS).into_par_iter().enumerate().for_each(|(block, mut part)| {
        for (i, mut dst) in part.outer_iter_mut().enumerate() {
            let r = block * PACK_ROWS + i;
            let mut start = 0;
            for a in arrays {
                let (len, src) = (a.ncols(), a.row(r));
                match (dst.as_slice_mut(), src.as_slice()) {
                    // contiguous rows (the usual case): a plain copy, no slicing machinery
                    (Some(d), Some(v)) => d[start..start + len].copy_from_slice(v),
                    _ => dst.slice_mut(s![start..start + len]).assign(&src),
                }
                start += len;
            }
        }
    });
}

/// pywt `dwt`: one analysis level of one signal, any length >= 1.
pub fn dwt(x: &[f64], wavelet: &Wavelet, mode: Mode) -> Result<(Vec<f64>, Vec<f64>)> {
    check_finite(ndarray::ArrayView1::from(x))?;
    let plan = Plan1d::with_boundary_levels(x.len(), wavelet, mode, 1)?;
    let mut packed = vec![0.0; plan.total_len()];
    plan.wavedec_row(x, &mut packed, &mut Scratch::default());
    let d = packed.split_off(plan.coeff_lens()[0]);
    Ok((packed, d))
}

/// pywt `idwt` with both channels of equal length.
pub fn idwt(ca: &[f64], cd: &[f64], wavelet: &Wavelet, mode: Mode) -> Result<Vec<f64>> {
    if ca.len() != cd.len() {
        return Err(Error::ShapeMismatch {
            reason: format!("cA has {} samples and cD {}; they must be equal", ca.len(), cd.len()),
        });
    }
    let coeffs = Coeffs1d::from_arrays(&[
        ArrayView2::from_shape((1, ca.len()), ca).expect("shape"),
        ArrayView2::from_shape((1, cd.len()), cd).expect("shape"),
    ])?;
    let plan = Plan1d::from_coeff_lens(coeffs.coeff_lens(), wavelet, mode)?;
    Ok(plan.waverec(&coeffs)?.into_raw_vec_and_offset().0)
}

/// pywt `wavedec` of one signal: arrays in pywt order. Levels above
/// `dwt_max_level` are accepted, as in pywt.
pub fn wavedec(x: &[f64], wavelet: &Wavelet, mode: Mode, levels: usize) -> Result<Vec<Vec<f64>>> {
    let plan = Plan1d::with_boundary_levels(x.len(), wavelet, mode, levels)?;
    let c = plan.wavedec(ArrayView2::from_shape((1, x.len()), x).expect("shape"))?;
    Ok(c.arrays().iter().map(|a| a.row(0).to_vec()).collect())
}

/// pywt `waverec` of one signal's arrays in pywt order.
pub fn waverec(coeffs: &[Vec<f64>], wavelet: &Wavelet, mode: Mode) -> Result<Vec<f64>> {
    let views: Vec<ArrayView2<'_, f64>> =
        coeffs.iter().map(|c| ArrayView2::from_shape((1, c.len()), c).expect("shape")).collect();
    let c = Coeffs1d::from_arrays(&views)?;
    let plan = Plan1d::from_coeff_lens(c.coeff_lens(), wavelet, mode)?;
    Ok(plan.waverec(&c)?.into_raw_vec_and_offset().0)
}

#[cfg(test)]
mod tests {
    use ndarray::Array2;

    use super::Plan1d;
    use crate::{Mode, Wavelet};

    /// Signals too long for the tiles check finiteness part by part as the
    /// first level reads them: a NaN or infinity at a part's edge, in the
    /// middle or at the end of a long signal (split over threads), or in any
    /// row of a batch of medium signals, is an error naming its position,
    /// both ways and in both types.
    #[test]
    fn row_path_rejects_non_finite_values_by_position() {
        let w = Wavelet::from_name("db5").unwrap();
        for (rows, n, positions) in
            [(1, 140_001, vec![0, 32_767, 32_768, 65_536, 100_000, 140_000]), (5, 3_000, vec![0, 2_999, 7_777, 14_999])]
        {
            for mode in [Mode::Zero, Mode::Periodization] {
                let plan = Plan1d::with_boundary_levels(n, &w, mode, 3).unwrap();
                let x = Array2::from_shape_fn((rows, n), |(i, j)| ((i * 7 + j * 3) % 11) as f64 - 5.0);
                assert!(!plan.tiled(rows), "the case must take the row path");
                let c = plan.wavedec(x.view()).unwrap();
                let total = plan.total_len();
                for (&p, bad) in positions.iter().zip([f64::NAN, f64::INFINITY, f64::NEG_INFINITY].into_iter().cycle())
                {
                    let (r, col) = (p / n, p % n);
                    let mut xb = x.clone();
                    xb[[r, col]] = bad;
                    let want = format!("index [{r}, {col}]");
                    let err = plan.wavedec(xb.view()).unwrap_err().to_string();
                    assert!(err.contains(&want), "forward f64 {mode} n={n}: {err}");
                    let err = plan.wavedec_f32(xb.mapv(|v| v as f32).view()).unwrap_err().to_string();
                    assert!(err.contains(&want), "forward f32 {mode} n={n}: {err}");
                    // the same flat position among the packed coefficients
                    let q = p * total / (rows * n);
                    let (r, col) = (q / total, q % total);
                    let mut cb = c.clone();
                    cb.data[[r, col]] = bad;
                    let want = format!("index [{r}, {col}]");
                    let err = plan.waverec(&cb).unwrap_err().to_string();
                    assert!(err.contains(&want), "inverse f64 {mode} n={n}: {err}");
                    let err = plan.waverec_f32(cb.data.mapv(|v| v as f32).view()).unwrap_err().to_string();
                    assert!(err.contains(&want), "inverse f32 {mode} n={n}: {err}");
                }
            }
        }
    }
}
