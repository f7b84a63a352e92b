//! The filter-bank kernels on one contiguous signal (row).
//!
//! Analysis and synthesis both reduce to one polyphase kernel,
//! `y0[o] = sum_k p00[k] x0[o+k] + p01[k] x1[o+k]` and
//! `y1[o] = sum_k p10[k] x0[o+k] + p11[k] x1[o+k]`, on contiguous inputs:
//!
//! * analysis: the extended signal `e[t] = ext(t - s)` split into even and odd
//!   samples (`x0`, `x1`) and the taps of `rec_lo`/`rec_hi` split likewise give
//!   `cA[o] = sum_m rec_lo[m] e[2o+m]` and `cD[o] = sum_m rec_hi[m] e[2o+m]`,
//!   which is pywt's convolution with `dec_lo`/`dec_hi` (their reverses). The
//!   shift `s` is `F-2` (periodization: `F/2-1`).
//! * synthesis: `x0 = cA`, `x1 = cD`; `y0`/`y1` are the even/odd outputs,
//!   `out[2q+p] = sum_j rec_lo[2j+p] cA[q+u-j] + rec_hi[2j+p] cD[q+u-j]`,
//!   `u = F/2 - 1` (pywt's "valid" upsampling convolution). Periodization
//!   first wraps the coefficients and rotates the output by `u mod 2`.
//!
//! The kernel works in blocks held in registers/L1, is compiled twice (a
//! portable build and an AVX2 build chosen at run time) and splits long
//! signals over threads.

use rayon::prelude::*;

use super::extend::ext_value;
use super::len::{dwt_coeff_len, idwt_output_len};
use crate::Mode;

/// Block of outputs accumulated together.
const BLOCK: usize = 64;
/// Outputs per parallel task on long signals.
const PAR_CHUNK: usize = 1 << 14;

/// Polyphase taps of a filter bank for the kernels.
#[derive(Debug, Clone)]
pub struct Taps {
    /// Filter length `F`.
    pub f: usize,
    /// Analysis taps `[p00, p01, p10, p11]` = rec_lo even/odd, rec_hi even/odd.
    pub analysis: [Vec<f64>; 4],
    /// Synthesis taps: reversed even/odd phases of rec_lo and rec_hi.
    pub synthesis: [Vec<f64>; 4],
}

impl Taps {
    /// Taps from `rec_lo` and `rec_hi` (even length `F >= 2`).
    pub fn new(rec_lo: &[f64], rec_hi: &[f64]) -> Self {
        let f = rec_lo.len();
        let half = f / 2;
        let even = |v: &[f64]| (0..half).map(|k| v[2 * k]).collect::<Vec<_>>();
        let odd = |v: &[f64]| (0..half).map(|k| v[2 * k + 1]).collect::<Vec<_>>();
        let u = half - 1;
        let rev_even = |v: &[f64]| (0..half).map(|r| v[2 * (u - r)]).collect::<Vec<_>>();
        let rev_odd = |v: &[f64]| (0..half).map(|r| v[2 * (u - r) + 1]).collect::<Vec<_>>();
        Taps {
            f,
            analysis: [even(rec_lo), odd(rec_lo), even(rec_hi), odd(rec_hi)],
            synthesis: [rev_even(rec_lo), rev_even(rec_hi), rev_odd(rec_lo), rev_odd(rec_hi)],
        }
    }

    /// Shift between output and extended-signal indices in analysis.
    pub fn analysis_shift(&self, mode: Mode) -> usize {
        match mode {
            Mode::Periodization => self.f / 2 - 1,
            _ => self.f - 2,
        }
    }
}

/// Where the kernel writes: two separate outputs, or interleaved even/odd.
enum Out<'a> {
    Split(&'a mut [f64], &'a mut [f64]),
    Interleaved(&'a mut [f64]),
}

#[inline(always)]
fn corr2x2_body(x0: &[f64], x1: &[f64], p: &[Vec<f64>; 4], out: Out<'_>, o_start: usize) {
    let n = match &out {
        Out::Split(y0, _) => y0.len(),
        Out::Interleaved(y) => y.len() / 2,
    };
    let taps = p[0].len();
    let mut out = out;
    let mut b0 = 0;
    while b0 < n {
        let len = BLOCK.min(n - b0);
        let mut acc0 = [0.0f64; BLOCK];
        let mut acc1 = [0.0f64; BLOCK];
        let base = o_start + b0;
        for k in 0..taps {
            let (c00, c01, c10, c11) = (p[0][k], p[1][k], p[2][k], p[3][k]);
            let s0 = &x0[base + k..base + k + len];
            let s1 = &x1[base + k..base + k + len];
            for (((a0, a1), &v0), &v1) in
                acc0[..len].iter_mut().zip(acc1[..len].iter_mut()).zip(s0).zip(s1)
            {
                *a0 += c00 * v0 + c01 * v1;
                *a1 += c10 * v0 + c11 * v1;
            }
        }
        match &mut out {
            Out::Split(y0, y1) => {
                y0[b0..b0 + len].copy_from_slice(&acc0[..len]);
                y1[b0..b0 + len].copy_from_slice(&acc1[..len]);
            }
            Out::Interleaved(y) => {
                for (t, pair) in y[2 * b0..2 * (b0 + len)].chunks_exact_mut(2).enumerate() {
                    pair[0] = acc0[t];
                    pair[1] = acc1[t];
                }
            }
        }
        b0 += len;
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn corr2x2_avx2(x0: &[f64], x1: &[f64], p: &[Vec<f64>; 4], out: Out<'_>, o_start: usize) {
    corr2x2_body(x0, x1, p, out, o_start)
}

fn has_avx2() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        static AVX2: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
        *AVX2.get_or_init(|| std::arch::is_x86_feature_detected!("avx2"))
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

fn corr2x2(x0: &[f64], x1: &[f64], p: &[Vec<f64>; 4], out: Out<'_>, o_start: usize) {
    #[cfg(target_arch = "x86_64")]
    if has_avx2() {
        // SAFETY: the CPU supports AVX2 (checked at run time above).
        return unsafe { corr2x2_avx2(x0, x1, p, out, o_start) };
    }
    corr2x2_body(x0, x1, p, out, o_start)
}

/// Run the kernel over all outputs, splitting long signals over threads.
fn corr2x2_par(x0: &[f64], x1: &[f64], p: &[Vec<f64>; 4], out: Out<'_>) {
    match out {
        Out::Split(y0, y1) if y0.len() > 2 * PAR_CHUNK => {
            y0.par_chunks_mut(PAR_CHUNK).zip(y1.par_chunks_mut(PAR_CHUNK)).enumerate().for_each(
                |(i, (c0, c1))| corr2x2(x0, x1, p, Out::Split(c0, c1), i * PAR_CHUNK),
            );
        }
        Out::Interleaved(y) if y.len() > 4 * PAR_CHUNK => {
            y.par_chunks_mut(2 * PAR_CHUNK).enumerate().for_each(|(i, c)| {
                corr2x2(x0, x1, p, Out::Interleaved(c), i * PAR_CHUNK)
            });
        }
        out => corr2x2(x0, x1, p, out, 0),
    }
}

/// One analysis step of one signal (pywt `dwt`): writes `ca` and `cd`, each of
/// `dwt_coeff_len(x.len())` samples. `scratch` is resized as needed.
///
/// # Panics
/// If `x` is empty or the output lengths do not follow the length rule (the
/// plans check both before calling).
pub fn analysis_row(
    x: &[f64],
    taps: &Taps,
    mode: Mode,
    ca: &mut [f64],
    cd: &mut [f64],
    scratch: &mut Vec<f64>,
) {
    let n = x.len();
    let n_out = dwt_coeff_len(n, taps.f, mode);
    assert!(n > 0 && ca.len() == n_out && cd.len() == n_out, "analysis_row: bad lengths");
    let half = taps.f / 2;
    let len = n_out - 1 + half;
    scratch.resize(2 * len, 0.0);
    let (ee, eo) = scratch.split_at_mut(len);
    let s = taps.analysis_shift(mode) as isize;
    let ni = n as isize;
    for k in 0..len {
        let m = 2 * k as isize - s;
        if m >= 0 && m + 1 < ni {
            ee[k] = x[m as usize];
            eo[k] = x[m as usize + 1];
        } else {
            ee[k] = ext_value(x, m, mode);
            eo[k] = ext_value(x, m + 1, mode);
        }
    }
    corr2x2_par(ee, eo, &taps.analysis, Out::Split(ca, cd));
}

/// One synthesis step of one signal (pywt `idwt` with both channels): `out`
/// has `idwt_output_len(ca.len())` samples and is overwritten.
///
/// # Panics
/// If `ca` and `cd` differ in length or `out` has the wrong length (the plans
/// check before calling).
pub fn synthesis_row(
    ca: &[f64],
    cd: &[f64],
    taps: &Taps,
    mode: Mode,
    out: &mut [f64],
    scratch: &mut Vec<f64>,
) {
    let nc = ca.len();
    assert!(cd.len() == nc, "synthesis_row: cA has {nc} samples, cD {}", cd.len());
    assert_eq!(Some(out.len()), idwt_output_len(nc, taps.f, mode), "synthesis_row: bad output");
    let u = taps.f / 2 - 1;
    if mode != Mode::Periodization {
        corr2x2_par(ca, cd, &taps.synthesis, Out::Interleaved(out));
        return;
    }
    // Periodization: wrap the coefficients by floor(u/2) and rotate by u mod 2.
    let len = nc + u;
    scratch.resize(2 * len + 2 * nc, 0.0);
    let (wa, rest) = scratch.split_at_mut(len);
    let (wd, tmp) = rest.split_at_mut(len);
    let off = u / 2;
    for k in 0..len {
        let idx = (k + nc * (off / nc + 1) - off) % nc;
        wa[k] = ca[idx];
        wd[k] = cd[idx];
    }
    let shift = u % 2;
    if shift == 0 {
        corr2x2_par(wa, wd, &taps.synthesis, Out::Interleaved(out));
    } else {
        corr2x2_par(wa, wd, &taps.synthesis, Out::Interleaved(tmp));
        let n2 = 2 * nc;
        out[0] = tmp[n2 - 1];
        out[1..].copy_from_slice(&tmp[..n2 - 1]);
    }
}
