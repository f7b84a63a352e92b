//! Kernels along axis 0 of a row-major matrix: every output row is a weighted
//! sum of whole input rows, so the inner loops run over contiguous columns.

use rayon::prelude::*;

use super::extend::ext_terms;
use super::kernel::{OutBuf, Taps};
use crate::Mode;

/// Columns handled together per accumulator block.
const COLS: usize = 256;
/// Matrices smaller than this (in values) stay on one thread.
const PAR_MIN: usize = 1 << 15;

#[inline(always)]
fn axpy2(acc0: &mut [f64], acc1: &mut [f64], c0: f64, c1: f64, src: &[f64]) {
    for ((a0, a1), &v) in acc0.iter_mut().zip(acc1.iter_mut()).zip(src) {
        *a0 += c0 * v;
        *a1 += c1 * v;
    }
}

#[inline(always)]
fn axpy2x2(acc: &mut [f64], ca: f64, cd: f64, a: &[f64], d: &[f64]) {
    for ((o, &va), &vd) in acc.iter_mut().zip(a).zip(d) {
        *o += ca * va + cd * vd;
    }
}

/// Analysis output row `o` (lowpass and highpass) of an `h x w` matrix.
#[inline(always)]
fn analysis_out_row(
    x: &[f64],
    h: usize,
    w: usize,
    rec_lo: &[f64],
    rec_hi: &[f64],
    shift: isize,
    mode: Mode,
    o: usize,
    lo: &mut [f64],
    hi: &mut [f64],
) {
    let mut acc0 = [0.0f64; COLS];
    let mut acc1 = [0.0f64; COLS];
    let mut c0 = 0;
    while c0 < w {
        let len = COLS.min(w - c0);
        acc0[..len].fill(0.0);
        acc1[..len].fill(0.0);
        for (m, (&fl, &fh)) in rec_lo.iter().zip(rec_hi).enumerate() {
            let row = 2 * o as isize + m as isize - shift;
            for &(idx, wt) in ext_terms(h, row, mode).as_slice() {
                let src = &x[idx * w + c0..idx * w + c0 + len];
                axpy2(&mut acc0[..len], &mut acc1[..len], fl * wt, fh * wt, src);
            }
        }
        lo[c0..c0 + len].copy_from_slice(&acc0[..len]);
        hi[c0..c0 + len].copy_from_slice(&acc1[..len]);
        c0 += len;
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
#[allow(clippy::too_many_arguments)]
unsafe fn analysis_out_row_avx2(
    x: &[f64],
    h: usize,
    w: usize,
    rec_lo: &[f64],
    rec_hi: &[f64],
    shift: isize,
    mode: Mode,
    o: usize,
    lo: &mut [f64],
    hi: &mut [f64],
) {
    analysis_out_row(x, h, w, rec_lo, rec_hi, shift, mode, o, lo, hi)
}

fn avx2() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        std::arch::is_x86_feature_detected!("avx2")
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

/// Analysis along axis 0 of a row-major `h x w` matrix `x`: writes `lo` and
/// `hi`, each `dwt_coeff_len(h) x w`.
pub fn analysis_cols(
    x: &[f64],
    h: usize,
    w: usize,
    rec_lo: &[f64],
    rec_hi: &[f64],
    taps: &Taps,
    mode: Mode,
    lo: &mut [f64],
    hi: &mut [f64],
) {
    let shift = taps.analysis_shift(mode) as isize;
    let use_avx2 = avx2();
    let run = |o: usize, l: &mut [f64], g: &mut [f64]| {
        #[cfg(target_arch = "x86_64")]
        if use_avx2 {
            // SAFETY: AVX2 support was checked at run time.
            return unsafe { analysis_out_row_avx2(x, h, w, rec_lo, rec_hi, shift, mode, o, l, g) };
        }
        let _ = use_avx2;
        analysis_out_row(x, h, w, rec_lo, rec_hi, shift, mode, o, l, g)
    };
    if w == 0 {
        return;
    }
    if lo.len() >= PAR_MIN {
        lo.par_chunks_mut(w).zip(hi.par_chunks_mut(w)).enumerate().for_each(|(o, (l, g))| run(o, l, g));
    } else {
        lo.chunks_mut(w).zip(hi.chunks_mut(w)).enumerate().for_each(|(o, (l, g))| run(o, l, g));
    }
}

/// Synthesis output row `t` from `nc x w` coefficient matrices `a` and `d`.
#[inline(always)]
fn synthesis_out_row(a: &[f64], d: &[f64], nc: usize, w: usize, taps: &Taps, mode: Mode, t: usize, out: &mut OutBuf) {
    let u = taps.f / 2 - 1;
    let (q, p, wrap) = if mode == Mode::Periodization {
        let shift = u % 2;
        let tp = (t + 2 * nc - shift) % (2 * nc);
        (tp / 2, tp % 2, true)
    } else {
        (t / 2, t % 2, false)
    };
    let (ta, td) = if p == 0 {
        (&taps.synthesis[0], &taps.synthesis[1])
    } else {
        (&taps.synthesis[2], &taps.synthesis[3])
    };
    let off = u / 2;
    let mut acc = [0.0f64; COLS];
    let mut c0 = 0;
    while c0 < w {
        let len = COLS.min(w - c0);
        acc[..len].fill(0.0);
        for (r, (&fa, &fd)) in ta.iter().zip(td).enumerate() {
            let row = if wrap { (q + r + nc * (off / nc + 1) - off) % nc } else { q + r };
            let ra = &a[row * w + c0..row * w + c0 + len];
            let rd = &d[row * w + c0..row * w + c0 + len];
            axpy2x2(&mut acc[..len], fa, fd, ra, rd);
        }
        for (o, &v) in out[c0..c0 + len].iter_mut().zip(&acc[..len]) {
            o.write(v);
        }
        c0 += len;
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
#[allow(clippy::too_many_arguments)]
unsafe fn synthesis_out_row_avx2(
    a: &[f64],
    d: &[f64],
    nc: usize,
    w: usize,
    taps: &Taps,
    mode: Mode,
    t: usize,
    out: &mut OutBuf,
) {
    synthesis_out_row(a, d, nc, w, taps, mode, t, out)
}

/// Synthesis along axis 0: `a` and `d` are `nc x w`; `out` is
/// `idwt_output_len(nc) x w` and is written completely.
pub fn synthesis_cols(a: &[f64], d: &[f64], nc: usize, w: usize, taps: &Taps, mode: Mode, out: &mut OutBuf) {
    if w == 0 {
        return;
    }
    let use_avx2 = avx2();
    let run = |t: usize, o: &mut OutBuf| {
        #[cfg(target_arch = "x86_64")]
        if use_avx2 {
            // SAFETY: AVX2 support was checked at run time.
            return unsafe { synthesis_out_row_avx2(a, d, nc, w, taps, mode, t, o) };
        }
        let _ = use_avx2;
        synthesis_out_row(a, d, nc, w, taps, mode, t, o)
    };
    if out.len() >= PAR_MIN {
        out.par_chunks_mut(w).enumerate().for_each(|(t, o)| run(t, o));
    } else {
        out.chunks_mut(w).enumerate().for_each(|(t, o)| run(t, o));
    }
}
