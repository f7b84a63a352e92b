//! Separable multilevel 2-D transforms (pywt `wavedec2`/`waverec2`) on
//! batches of images. Analysis filters axis 0 then axis 1; synthesis goes
//! axis 1 then axis 0, as pywt does.

use ndarray::{Array2, Array3, ArrayView2, ArrayView3, ShapeBuilder};
use rayon::prelude::*;

use super::cols::{analysis_cols, synthesis_cols};
use super::kernel::{analysis_row, on_pool, synthesis_row, uninit_len, with_thread_buffers, KernelReal, OutBuf, Taps};
use super::len::{dwt_max_level, idwt_output_len, level_lengths};
use crate::error::{check_finite, Error, Result};
use crate::{Mode, Wavelet};

/// A planned multilevel 2-D transform. One image's coefficients are packed
/// as `[cA_J, cH_J, cV_J, cD_J, ..., cH_1, cV_1, cD_1]`, each row-major.
#[derive(Debug, Clone)]
pub struct Plan2d {
    wavelet: Wavelet,
    taps: Taps,
    mode: Mode,
    image: (usize, usize),
    /// Shapes in pywt order: `[cA_J, level J, ..., level 1]` (one shape per
    /// level, shared by cH, cV and cD).
    shapes: Vec<(usize, usize)>,
    recon: (usize, usize),
}

/// Per-thread buffers of the 2-D kernels.
#[derive(Debug)]
struct Scratch2d<T> {
    lo: Vec<T>,
    hi: Vec<T>,
    cur: Vec<T>,
    next: Vec<T>,
}

impl<T> Scratch2d<T> {
    const EMPTY: Self = Scratch2d { lo: Vec::new(), hi: Vec::new(), cur: Vec::new(), next: Vec::new() };
}

thread_local! {
    /// Per-thread buffers, kept between calls (one set per sample type).
    static SCRATCH2D_F64: std::cell::RefCell<Scratch2d<f64>> = const { std::cell::RefCell::new(Scratch2d::EMPTY) };
    static SCRATCH2D_F32: std::cell::RefCell<Scratch2d<f32>> = const { std::cell::RefCell::new(Scratch2d::EMPTY) };
}

/// A sample type of the 2-D transforms: the row and column kernels' type,
/// with its own per-thread buffers.
trait ImageReal: KernelReal {
    /// Run `f` with this thread's scratch, or fresh buffers when nested.
    fn with_scratch2d<R>(f: impl FnOnce(&mut Scratch2d<Self>) -> R) -> R;
}

macro_rules! image_real {
    ($t:ty, $scratch:ident) => {
        impl ImageReal for $t {
            fn with_scratch2d<R>(f: impl FnOnce(&mut Scratch2d<Self>) -> R) -> R {
                with_thread_buffers(&$scratch, || Scratch2d::EMPTY, f)
            }
        }
    };
}

image_real!(f64, SCRATCH2D_F64);
image_real!(f32, SCRATCH2D_F32);

impl Plan2d {
    /// Plan `levels` levels for `(rows, cols)` images; errors when `levels`
    /// exceeds pywt's `dwt_max_level` of the shorter side.
    pub fn new(image: (usize, usize), wavelet: &Wavelet, mode: Mode, levels: usize) -> Result<Self> {
        let n = image.0.min(image.1);
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
        Self::with_boundary_levels(image, wavelet, mode, levels)
    }

    /// Like [`Plan2d::new`] but accepts levels above `dwt_max_level` (pywt
    /// warns and computes).
    pub fn with_boundary_levels(image: (usize, usize), wavelet: &Wavelet, mode: Mode, levels: usize) -> Result<Self> {
        let f = wavelet.filter_len();
        if image.0 == 0 || image.1 == 0 {
            return Err(Error::TooShort { reason: format!("the image is empty ({}x{})", image.0, image.1) });
        }
        let hs = level_lengths(image.0, f, mode, levels);
        let ws = level_lengths(image.1, f, mode, levels);
        if mode == Mode::Reflect {
            if let Some(j) = (0..levels).find(|&j| hs[j] < 2 || ws[j] < 2) {
                return Err(Error::TooShort {
                    reason: format!(
                        "reflect mode needs at least 2 samples per axis, but level {} gets {}x{}",
                        j + 1,
                        hs[j],
                        ws[j]
                    ),
                });
            }
        }
        let mut shapes = vec![(hs[levels], ws[levels])];
        shapes.extend((1..=levels).rev().map(|j| (hs[j], ws[j])));
        if levels == 0 {
            shapes = vec![image];
        }
        let mut plan = Self::from_shapes(&shapes, wavelet, mode)?;
        plan.image = image;
        Ok(plan)
    }

    /// Plan the inverse of given shapes: `[cA_J shape, level J, ..., level 1]`.
    pub fn from_shapes(shapes: &[(usize, usize)], wavelet: &Wavelet, mode: Mode) -> Result<Self> {
        let f = wavelet.filter_len();
        let Some(&first) = shapes.first() else {
            return Err(Error::ShapeMismatch { reason: "no coefficient arrays".into() });
        };
        let mut a = first;
        for (k, &d) in shapes[1..].iter().enumerate() {
            let fit = |al: usize, dl: usize| al == dl || al == dl + 1;
            if !fit(a.0, d.0) || !fit(a.1, d.1) {
                return Err(Error::ShapeMismatch {
                    reason: format!(
                        "approximation of shape {}x{} cannot pair with detail level {} of shape {}x{}",
                        a.0,
                        a.1,
                        shapes.len() - 1 - k,
                        d.0,
                        d.1
                    ),
                });
            }
            let rec = |dl: usize| {
                idwt_output_len(dl, f, mode).ok_or_else(|| Error::ShapeMismatch {
                    reason: format!(
                        "detail side of {dl} samples is shorter than the {} that {} needs in {mode} mode",
                        f / 2,
                        wavelet.name
                    ),
                })
            };
            a = (rec(d.0)?, rec(d.1)?);
        }
        Ok(Plan2d {
            wavelet: wavelet.clone(),
            taps: Taps::new(&wavelet.rec_lo, &wavelet.rec_hi),
            mode,
            image: (0, 0),
            shapes: shapes.to_vec(),
            recon: a,
        })
    }

    /// Number of levels J.
    pub fn levels(&self) -> usize {
        self.shapes.len() - 1
    }
    /// Image shape the plan analyses (`(0, 0)` for a plan made from shapes).
    pub fn image_shape(&self) -> (usize, usize) {
        self.image
    }
    /// Shapes in pywt order: `[cA_J, level J, ..., level 1]`.
    pub fn shapes(&self) -> &[(usize, usize)] {
        &self.shapes
    }
    /// Shape of `waverec2`'s output (pywt's rule: odd sides grow by one).
    pub fn recon_shape(&self) -> (usize, usize) {
        self.recon
    }
    /// The mode.
    pub fn mode(&self) -> Mode {
        self.mode
    }
    /// The wavelet.
    pub fn wavelet(&self) -> &Wavelet {
        &self.wavelet
    }

    /// Offsets into a packed row: `[cA, (cH, cV, cD) per level J..1, end]`.
    pub fn offsets(&self) -> Vec<usize> {
        let mut offs = vec![0];
        let (h, w) = self.shapes[0];
        offs.push(h * w);
        for &(h, w) in &self.shapes[1..] {
            for _ in 0..3 {
                let last = *offs.last().expect("non-empty");
                offs.push(last + h * w);
            }
        }
        offs
    }
    /// Values per packed image.
    pub fn total_len(&self) -> usize {
        *self.offsets().last().expect("non-empty")
    }

    fn wavedec_image<T: ImageReal>(
        &self,
        x: &[T],
        rec: (&[T], &[T]),
        out: &mut OutBuf<T>,
        offs: &[usize],
        s: &mut Scratch2d<T>,
    ) {
        let levels = self.levels();
        if levels == 0 {
            for (o, &v) in out.iter_mut().zip(x) {
                o.write(v);
            }
            return;
        }
        let (mut h, mut w) = self.image;
        for j in 1..=levels {
            let k = levels - j + 1; // pywt index of level j
            let (h1, w1) = self.shapes[k];
            // level 1 reads the image itself; later levels the previous cA
            let input: &[T] = if j == 1 { x } else { &s.cur };
            analysis_cols(
                input,
                (h, w),
                rec,
                &self.taps,
                self.mode,
                uninit_len(&mut s.lo, h1 * w),
                uninit_len(&mut s.hi, h1 * w),
            );
            // SAFETY: analysis_cols wrote all h1 * w values of both.
            unsafe {
                s.lo.set_len(h1 * w);
                s.hi.set_len(h1 * w);
            }
            let base = 1 + 3 * (k - 1);
            let (head, tail) = out.split_at_mut(offs[base]);
            let (ch, rest) = tail.split_at_mut(h1 * w1);
            let (cv, rest) = rest.split_at_mut(h1 * w1);
            let cd = &mut rest[..h1 * w1];
            let ca: &mut OutBuf<T> = if j == levels { &mut head[..h1 * w1] } else { uninit_len(&mut s.next, h1 * w1) };
            rows_analysis(&s.lo, w, &self.taps, self.mode, ca, cv, w1);
            rows_analysis(&s.hi, w, &self.taps, self.mode, ch, cd, w1);
            if j < levels {
                // SAFETY: rows_analysis wrote all h1 * w1 values of cA.
                unsafe { s.next.set_len(h1 * w1) };
                std::mem::swap(&mut s.cur, &mut s.next);
            }
            h = h1;
            w = w1;
        }
    }

    fn waverec_image<T: ImageReal>(&self, c: &[T], out: &mut OutBuf<T>, offs: &[usize], s: &mut Scratch2d<T>) {
        let levels = self.levels();
        if levels == 0 {
            for (o, &v) in out.iter_mut().zip(c) {
                o.write(v);
            }
            return;
        }
        let f = self.taps.f;
        let (mut ah, mut aw) = self.shapes[0];
        s.cur.clear();
        s.cur.extend_from_slice(&c[..ah * aw]);
        for k in 1..=levels {
            let (h, w) = self.shapes[k];
            let base = 1 + 3 * (k - 1);
            let ch = &c[offs[base]..offs[base + 1]];
            let cv = &c[offs[base + 1]..offs[base + 2]];
            let cd = &c[offs[base + 2]..offs[base + 3]];
            // crop the approximation to the detail shape (pywt drops a trailing sample)
            if (ah, aw) != (h, w) {
                let mut cropped = Vec::with_capacity(h * w);
                for r in 0..h {
                    cropped.extend_from_slice(&s.cur[r * aw..r * aw + w]);
                }
                s.cur = cropped;
            }
            let w2 = idwt_output_len(w, f, self.mode).expect("validated plan");
            let h2 = idwt_output_len(h, f, self.mode).expect("validated plan");
            rows_synthesis(&s.cur, cv, w, &self.taps, self.mode, uninit_len(&mut s.lo, h * w2), w2);
            rows_synthesis(ch, cd, w, &self.taps, self.mode, uninit_len(&mut s.hi, h * w2), w2);
            // SAFETY: rows_synthesis wrote all h * w2 values of both.
            unsafe {
                s.lo.set_len(h * w2);
                s.hi.set_len(h * w2);
            }
            if k == levels {
                synthesis_cols(&s.lo, &s.hi, (h, w2), &self.taps, self.mode, out);
            } else {
                synthesis_cols(&s.lo, &s.hi, (h, w2), &self.taps, self.mode, uninit_len(&mut s.next, h2 * w2));
                // SAFETY: synthesis_cols wrote all h2 * w2 values.
                unsafe { s.next.set_len(h2 * w2) };
                std::mem::swap(&mut s.cur, &mut s.next);
            }
            ah = h2;
            aw = w2;
        }
    }

    /// Analyse a batch of images `(batch, rows, cols)`, in parallel.
    pub fn wavedec2(&self, x: ArrayView3<'_, f64>) -> Result<Coeffs2d> {
        Ok(Coeffs2d { data: self.wavedec2_packed(x)?, shapes: self.shapes.clone() })
    }

    /// Analyse a batch of float32 images `(batch, rows, cols)` into packed
    /// float32 rows `(batch, total_len)` (the layout of [`Coeffs2d`]):
    /// float32 in, float32 out, computed in float32 arithmetic as pywt
    /// does (the same kernels and summation order as f64).
    pub fn wavedec2_f32(&self, x: ArrayView3<'_, f32>) -> Result<Array2<f32>> {
        self.wavedec2_packed(x)
    }

    /// Rebuild a batch of images; output `(batch, recon rows, recon cols)`.
    pub fn waverec2(&self, coeffs: &Coeffs2d) -> Result<Array3<f64>> {
        if coeffs.shapes != self.shapes {
            return Err(Error::ShapeMismatch {
                reason: format!("coefficient shapes {:?} do not match the plan's {:?}", coeffs.shapes, self.shapes),
            });
        }
        self.waverec2_packed(coeffs.data.view())
    }

    /// Rebuild float32 images `(batch, recon rows, recon cols)` from packed
    /// float32 rows `(batch, total_len)`, computed in float32.
    pub fn waverec2_f32(&self, packed: ArrayView2<'_, f32>) -> Result<Array3<f32>> {
        if packed.ncols() != self.total_len() {
            return Err(Error::ShapeMismatch {
                reason: format!("packed rows have {} values, the plan expects {}", packed.ncols(), self.total_len()),
            });
        }
        self.waverec2_packed(packed)
    }

    /// [`Plan2d::wavedec2`] in either sample type, packed.
    fn wavedec2_packed<T: ImageReal>(&self, x: ArrayView3<'_, T>) -> Result<Array2<T>> {
        let (_, h, w) = x.dim();
        if (h, w) != self.image {
            return Err(Error::ShapeMismatch {
                reason: format!("images are {h}x{w}, the plan expects {}x{}", self.image.0, self.image.1),
            });
        }
        check_finite(x)?;
        let x = x.as_standard_layout();
        let flat = x.as_slice().expect("standard layout");
        let offs = self.offsets();
        let rec = T::filters(&self.taps);
        Ok(fill_images(flat, x.dim().0, self.total_len(), |xi, oi| {
            T::with_scratch2d(|s| self.wavedec_image(xi, (&rec[0], &rec[1]), oi, &offs, s))
        }))
    }

    /// [`Plan2d::waverec2`] in either sample type, from packed rows of the
    /// plan's shapes.
    fn waverec2_packed<T: ImageReal>(&self, packed: ArrayView2<'_, T>) -> Result<Array3<T>> {
        check_finite(packed)?;
        let (rh, rw) = self.recon;
        let batch = packed.nrows();
        let offs = self.offsets();
        let packed = packed.as_standard_layout();
        let src = packed.as_slice().expect("standard layout");
        let flat =
            fill_images(src, batch, rh * rw, |ci, oi| T::with_scratch2d(|s| self.waverec_image(ci, oi, &offs, s)));
        Ok(flat.into_shape_with_order((batch, rh, rw)).expect("batch * rows * cols"))
    }
}

/// A new `(batch, per_item)` array whose items `f` writes completely,
/// without zero-filling it first; parallel over the batch.
fn fill_images<T: ImageReal, F>(input: &[T], batch: usize, per_item: usize, f: F) -> Array2<T>
where
    F: Fn(&[T], &mut OutBuf<T>) + Sync,
{
    let len = batch * per_item;
    if len == 0 || input.is_empty() {
        return Array2::from_elem((batch, per_item), T::ZERO);
    }
    let mut data: Vec<T> = Vec::with_capacity(len);
    let in_item = input.len() / batch;
    let out = &mut data.spare_capacity_mut()[..len];
    on_pool(|| input.par_chunks(in_item).zip(out.par_chunks_mut(per_item)).for_each(|(xi, oi)| f(xi, oi)));
    // SAFETY: `f` writes every element of every item (the kernels' contract).
    unsafe { data.set_len(len) };
    Array2::from_shape_vec((batch, per_item), data).expect("batch * per_item elements")
}

/// Analysis along axis 1 of every row of an `rows x w` matrix.
fn rows_analysis<T: KernelReal>(
    x: &[T],
    w: usize,
    taps: &Taps,
    mode: Mode,
    ca: &mut OutBuf<T>,
    cd: &mut OutBuf<T>,
    w1: usize,
) {
    let job = |((xr, a), d): ((&[T], &mut OutBuf<T>), &mut OutBuf<T>)| analysis_row(xr, taps, mode, a, d);
    if x.len() >= 1 << 15 {
        x.par_chunks(w).zip(ca.par_chunks_mut(w1)).zip(cd.par_chunks_mut(w1)).for_each(job);
    } else {
        x.chunks(w).zip(ca.chunks_mut(w1)).zip(cd.chunks_mut(w1)).for_each(job);
    }
}

/// Synthesis along axis 1 of every row pair of two `rows x w` matrices.
fn rows_synthesis<T: KernelReal>(a: &[T], d: &[T], w: usize, taps: &Taps, mode: Mode, out: &mut OutBuf<T>, w2: usize) {
    let job = |((ar, dr), o): ((&[T], &[T]), &mut OutBuf<T>)| synthesis_row(ar, dr, taps, mode, o);
    if out.len() >= 1 << 15 {
        a.par_chunks(w).zip(d.par_chunks(w)).zip(out.par_chunks_mut(w2)).for_each(job);
    } else {
        a.chunks(w).zip(d.chunks(w)).zip(out.chunks_mut(w2)).for_each(job);
    }
}

/// Coefficients of a batch of images, packed one row per image as
/// `[cA_J, cH_J, cV_J, cD_J, ..., cH_1, cV_1, cD_1]`.
#[derive(Debug, Clone, PartialEq)]
pub struct Coeffs2d {
    /// Packed coefficients `(batch, total)`.
    pub data: Array2<f64>,
    shapes: Vec<(usize, usize)>,
}

impl Coeffs2d {
    /// Build from `cA_J` and per-level `(cH, cV, cD)`, coarsest level first;
    /// each array is `(batch, rows, cols)`.
    pub fn from_arrays(approx: ArrayView3<'_, f64>, details: &[[ArrayView3<'_, f64>; 3]]) -> Result<Self> {
        let batch = approx.dim().0;
        let mut shapes = vec![(approx.dim().1, approx.dim().2)];
        for (k, lvl) in details.iter().enumerate() {
            let s0 = lvl[0].dim();
            if lvl.iter().any(|a| a.dim() != s0) || s0.0 != batch {
                return Err(Error::ShapeMismatch {
                    reason: format!(
                        "detail level {} (coarsest = {}) has cH/cV/cD of shapes {:?}, {:?}, {:?}; \
                         they must be equal with {batch} images",
                        details.len() - k,
                        details.len(),
                        lvl[0].dim(),
                        lvl[1].dim(),
                        lvl[2].dim()
                    ),
                });
            }
            shapes.push((s0.1, s0.2));
        }
        let mut data = Vec::new();
        for b in 0..batch {
            data.extend(approx.index_axis(ndarray::Axis(0), b).iter());
            for lvl in details {
                for a in lvl {
                    data.extend(a.index_axis(ndarray::Axis(0), b).iter());
                }
            }
        }
        let total = data.len() / batch.max(1);
        let data = Array2::from_shape_vec((batch, total), data).expect("sizes add up");
        Ok(Coeffs2d { data, shapes })
    }

    /// Shapes in pywt order: `[cA_J, level J, ..., level 1]`.
    pub fn shapes(&self) -> &[(usize, usize)] {
        &self.shapes
    }
    /// Number of levels J.
    pub fn levels(&self) -> usize {
        self.shapes.len() - 1
    }

    fn view(&self, offset: usize, (h, w): (usize, usize)) -> ArrayView3<'_, f64> {
        let total = self.data.ncols();
        let batch = self.data.nrows();
        let flat = self.data.as_slice().expect("packed data is standard layout");
        let start = offset.min(flat.len());
        ArrayView3::from_shape((batch, h, w).strides((total, w, 1)), &flat[start..]).expect("packed layout")
    }

    fn offset_of(&self, index: usize) -> usize {
        // index 0 = cA, then cH, cV, cD per level, coarsest first
        (0..index).map(|i| if i == 0 { self.shapes[0] } else { self.shapes[1 + (i - 1) / 3] }).map(|(h, w)| h * w).sum()
    }

    /// The approximation `cA_J`, `(batch, rows, cols)`.
    pub fn approx(&self) -> ArrayView3<'_, f64> {
        self.view(0, self.shapes[0])
    }

    /// `(cH, cV, cD)` at `level` (1 = finest, J = coarsest).
    ///
    /// # Panics
    /// If `level` is 0 or above J.
    pub fn detail(&self, level: usize) -> [ArrayView3<'_, f64>; 3] {
        let j = self.levels();
        assert!((1..=j).contains(&level), "detail level {level} out of 1..={j}");
        let k = j - level + 1;
        let shape = self.shapes[k];
        let first = 1 + 3 * (k - 1);
        [0, 1, 2].map(|c| self.view(self.offset_of(first + c), shape))
    }
}

/// pywt `wavedec2` of one image: `(cA_J, [(cH, cV, cD) coarsest first])`.
/// Levels above `dwt_max_level` are accepted, as in pywt.
#[allow(clippy::type_complexity)]
pub fn wavedec2(
    x: ArrayView2<'_, f64>,
    wavelet: &Wavelet,
    mode: Mode,
    levels: usize,
) -> Result<(Array2<f64>, Vec<[Array2<f64>; 3]>)> {
    let plan = Plan2d::with_boundary_levels(x.dim(), wavelet, mode, levels)?;
    let c = plan.wavedec2(x.insert_axis(ndarray::Axis(0)))?;
    let approx = c.approx().index_axis(ndarray::Axis(0), 0).to_owned();
    let details =
        (1..=levels).rev().map(|l| c.detail(l).map(|a| a.index_axis(ndarray::Axis(0), 0).to_owned())).collect();
    Ok((approx, details))
}

/// pywt `waverec2` of one image's coefficients (details coarsest first).
pub fn waverec2(
    approx: ArrayView2<'_, f64>,
    details: &[[ArrayView2<'_, f64>; 3]],
    wavelet: &Wavelet,
    mode: Mode,
) -> Result<Array2<f64>> {
    let ax = ndarray::Axis(0);
    let d3: Vec<[ArrayView3<'_, f64>; 3]> =
        details.iter().map(|l| [l[0].insert_axis(ax), l[1].insert_axis(ax), l[2].insert_axis(ax)]).collect();
    let c = Coeffs2d::from_arrays(approx.insert_axis(ax), &d3)?;
    let plan = Plan2d::from_shapes(c.shapes(), wavelet, mode)?;
    Ok(plan.waverec2(&c)?.index_axis_move(ax, 0))
}
