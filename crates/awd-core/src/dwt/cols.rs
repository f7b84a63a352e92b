//! Kernels along axis 0 of a row-major matrix: every output row is a weighted
//! sum of whole input rows, so the inner loops run over contiguous columns.
//! Generic over the sample type (f64 or f32, computed in that type).

use rayon::prelude::*;

use super::extend::ext_terms;
use super::kernel::{has_avx2, KernelReal, OutBuf, Taps};
use crate::Mode;

/// Columns handled together per accumulator block (ragged right edge).
const COLS: usize = 64;
/// Columns of a register-held accumulator block (four AVX2 registers of f64,
/// two of f32).
const REG_COLS: usize = 16;
/// Matrices smaller than this (in values) stay on one thread.
const PAR_MIN: usize = 1 << 15;

/// A matrix of `rows x w` values, row-major.
#[derive(Clone, Copy)]
struct Matrix<'a, T> {
    data: &'a [T],
    rows: usize,
    w: usize,
}

impl<'a, T> Matrix<'a, T> {
    #[inline(always)]
    fn row_part(&self, r: usize, c0: usize, len: usize) -> &'a [T] {
        &self.data[r * self.w + c0..r * self.w + c0 + len]
    }
}

/// Analysis along axis 0: what every output row needs.
struct ColAnalysis<'a, T> {
    x: Matrix<'a, T>,
    rec_lo: &'a [T],
    rec_hi: &'a [T],
    shift: isize,
    mode: Mode,
}

impl<T: KernelReal> ColAnalysis<'_, T> {
    /// Output row `o` of both channels, columns `c0 .. c0 + N` (a fixed
    /// width keeps the accumulators in registers).
    #[inline(always)]
    fn out_block<const N: usize>(&self, o: usize, c0: usize, lo: &mut OutBuf<T>, hi: &mut OutBuf<T>) {
        let mut a0 = [T::ZERO; N];
        let mut a1 = [T::ZERO; N];
        for (m, (&fl, &fh)) in self.rec_lo.iter().zip(self.rec_hi).enumerate() {
            let row = 2 * o as isize + m as isize - self.shift;
            for &(idx, wt) in ext_terms(self.x.rows, row, self.mode).as_slice() {
                let (c_lo, c_hi) = (fl * T::from_f64(wt), fh * T::from_f64(wt));
                let v: &[T; N] = self.x.row_part(idx, c0, N).try_into().expect("block");
                for i in 0..N {
                    a0[i] = a0[i] + c_lo * v[i];
                    a1[i] = a1[i] + c_hi * v[i];
                }
            }
        }
        write(&mut lo[c0..c0 + N], &a0);
        write(&mut hi[c0..c0 + N], &a1);
    }

    /// Output row `o` of both channels.
    #[inline(always)]
    fn out_row(&self, o: usize, lo: &mut OutBuf<T>, hi: &mut OutBuf<T>) {
        let w = self.x.w;
        let mut c0 = 0;
        while c0 + REG_COLS <= w {
            self.out_block::<REG_COLS>(o, c0, lo, hi);
            c0 += REG_COLS;
        }
        let mut acc0 = [T::ZERO; COLS];
        let mut acc1 = [T::ZERO; COLS];
        while c0 < w {
            let len = COLS.min(w - c0);
            let (a0, a1) = (&mut acc0[..len], &mut acc1[..len]);
            a0.fill(T::ZERO);
            a1.fill(T::ZERO);
            for (m, (&fl, &fh)) in self.rec_lo.iter().zip(self.rec_hi).enumerate() {
                let row = 2 * o as isize + m as isize - self.shift;
                for &(idx, wt) in ext_terms(self.x.rows, row, self.mode).as_slice() {
                    let (c_lo, c_hi) = (fl * T::from_f64(wt), fh * T::from_f64(wt));
                    for ((p0, p1), &v) in a0.iter_mut().zip(a1.iter_mut()).zip(self.x.row_part(idx, c0, len)) {
                        *p0 = *p0 + c_lo * v;
                        *p1 = *p1 + c_hi * v;
                    }
                }
            }
            write(&mut lo[c0..c0 + len], a0);
            write(&mut hi[c0..c0 + len], a1);
            c0 += len;
        }
    }

    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2")]
    unsafe fn out_row_avx2(&self, o: usize, lo: &mut OutBuf<T>, hi: &mut OutBuf<T>) {
        self.out_row(o, lo, hi)
    }

    fn run(&self, o: usize, lo: &mut OutBuf<T>, hi: &mut OutBuf<T>) {
        #[cfg(target_arch = "x86_64")]
        if has_avx2() {
            // SAFETY: AVX2 support was checked at run time.
            return unsafe { self.out_row_avx2(o, lo, hi) };
        }
        self.out_row(o, lo, hi)
    }
}

/// Store `src` into `dst` (equal lengths).
#[inline(always)]
fn write<T: Copy>(dst: &mut OutBuf<T>, src: &[T]) {
    for (d, &v) in dst.iter_mut().zip(src) {
        d.write(v);
    }
}

/// Analysis along axis 0 of a row-major `h x w` matrix `x`: writes all of
/// `lo` and `hi`, each `dwt_coeff_len(h) x w`.
pub fn analysis_cols<T: KernelReal>(
    x: &[T],
    (h, w): (usize, usize),
    rec: (&[T], &[T]),
    taps: &Taps,
    mode: Mode,
    lo: &mut OutBuf<T>,
    hi: &mut OutBuf<T>,
) {
    if w == 0 {
        return;
    }
    let job = ColAnalysis {
        x: Matrix { data: x, rows: h, w },
        rec_lo: rec.0,
        rec_hi: rec.1,
        shift: taps.analysis_shift(mode) as isize,
        mode,
    };
    if lo.len() >= PAR_MIN {
        lo.par_chunks_mut(w).zip(hi.par_chunks_mut(w)).enumerate().for_each(|(o, (l, g))| job.run(o, l, g));
    } else {
        lo.chunks_mut(w).zip(hi.chunks_mut(w)).enumerate().for_each(|(o, (l, g))| job.run(o, l, g));
    }
}

/// Synthesis along axis 0: what every output row needs.
struct ColSynthesis<'a, T> {
    a: Matrix<'a, T>,
    d: Matrix<'a, T>,
    taps: &'a Taps,
    mode: Mode,
}

impl<T: KernelReal> ColSynthesis<'_, T> {
    /// Output row `t`.
    #[inline(always)]
    fn out_row(&self, t: usize, out: &mut OutBuf<T>) {
        let (nc, w) = (self.a.rows, self.a.w);
        let u = self.taps.f / 2 - 1;
        let (q, p, wrap) = if self.mode == Mode::Periodization {
            let tp = (t + 2 * nc - u % 2) % (2 * nc);
            (tp / 2, tp % 2, true)
        } else {
            (t / 2, t % 2, false)
        };
        let syn = T::phases(self.taps).1;
        let (ta, td) = if p == 0 { (&syn[0], &syn[1]) } else { (&syn[2], &syn[3]) };
        let off = u / 2;
        let row_of = |r: usize| if wrap { (q + r + nc * (off / nc + 1) - off) % nc } else { q + r };
        let mut c0 = 0;
        // full blocks: a fixed width keeps the accumulator in registers
        while c0 + REG_COLS <= w {
            let mut acc = [T::ZERO; REG_COLS];
            for (r, (&fa, &fd)) in ta.iter().zip(td).enumerate() {
                let row = row_of(r);
                let ra: &[T; REG_COLS] = self.a.row_part(row, c0, REG_COLS).try_into().expect("block");
                let rd: &[T; REG_COLS] = self.d.row_part(row, c0, REG_COLS).try_into().expect("block");
                for i in 0..REG_COLS {
                    acc[i] = acc[i] + (fa * ra[i] + fd * rd[i]);
                }
            }
            for (o, &v) in out[c0..c0 + REG_COLS].iter_mut().zip(acc.iter()) {
                o.write(v);
            }
            c0 += REG_COLS;
        }
        let mut acc = [T::ZERO; COLS];
        while c0 < w {
            let len = COLS.min(w - c0);
            let acc = &mut acc[..len];
            acc.fill(T::ZERO);
            for (r, (&fa, &fd)) in ta.iter().zip(td).enumerate() {
                let row = row_of(r);
                let (ra, rd) = (self.a.row_part(row, c0, len), self.d.row_part(row, c0, len));
                for ((o, &va), &vd) in acc.iter_mut().zip(ra).zip(rd) {
                    *o = *o + (fa * va + fd * vd);
                }
            }
            for (o, &v) in out[c0..c0 + len].iter_mut().zip(acc.iter()) {
                o.write(v);
            }
            c0 += len;
        }
    }

    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2")]
    unsafe fn out_row_avx2(&self, t: usize, out: &mut OutBuf<T>) {
        self.out_row(t, out)
    }

    fn run(&self, t: usize, out: &mut OutBuf<T>) {
        #[cfg(target_arch = "x86_64")]
        if has_avx2() {
            // SAFETY: AVX2 support was checked at run time.
            return unsafe { self.out_row_avx2(t, out) };
        }
        self.out_row(t, out)
    }
}

/// Synthesis along axis 0: `a` and `d` are `nc x w`; `out` is
/// `idwt_output_len(nc) x w` and is written completely.
pub fn synthesis_cols<T: KernelReal>(
    a: &[T],
    d: &[T],
    (nc, w): (usize, usize),
    taps: &Taps,
    mode: Mode,
    out: &mut OutBuf<T>,
) {
    if w == 0 {
        return;
    }
    let job = ColSynthesis { a: Matrix { data: a, rows: nc, w }, d: Matrix { data: d, rows: nc, w }, taps, mode };
    if out.len() >= PAR_MIN {
        out.par_chunks_mut(w).enumerate().for_each(|(t, o)| job.run(t, o));
    } else {
        out.chunks_mut(w).enumerate().for_each(|(t, o)| job.run(t, o));
    }
}
