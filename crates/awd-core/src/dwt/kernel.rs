//! The filter-bank kernels on one contiguous signal (row).
//!
//! Analysis and synthesis both reduce to one polyphase kernel over output
//! pairs `q`:
//! `y0[q] = sum_k p00[k] x0[q+k] + p01[k] x1[q+k]`,
//! `y1[q] = sum_k p10[k] x0[q+k] + p11[k] x1[q+k]`.
//!
//! * Analysis: `x0[j] = ext(2j - s)`, `x1[j] = ext(2j + 1 - s)` (the extended
//!   signal split into even and odd samples), taps = even/odd phases of
//!   `rec_lo` and `rec_hi`; then `cA[o] = sum_m rec_lo[m] ext(2o + m - s)`,
//!   which is pywt's convolution with `dec_lo` (the reverse of `rec_lo`). The
//!   shift `s` is `F-2`, or `F/2-1` in periodization.
//! * Synthesis: `x0 = cA`, `x1 = cD`, taps = reversed even/odd phases;
//!   `y0`/`y1` are the even/odd outputs, `out[2q+p] = sum_j rec_lo[2j+p]
//!   cA[q+u-j] + rec_hi[2j+p] cD[q+u-j]` with `u = F/2 - 1` (pywt's "valid"
//!   upsampling convolution). Periodization reads the coefficients cyclically
//!   (offset `floor(u/2)`) and moves the output by `u mod 2`.
//!
//! Inputs are gathered block by block into small stack buffers (the extension
//! is never materialised), accumulated in registers/L1, compiled twice (a
//! portable build and an AVX2 build picked at run time) and long signals are
//! split over threads.

use rayon::prelude::*;

use super::extend::ext_value;
use super::len::{dwt_coeff_len, idwt_output_len};
use crate::Mode;

/// Output pairs accumulated together.
const BLOCK: usize = 64;
/// Largest half filter length the kernels take (filters up to 256 taps).
pub const MAX_HALF: usize = 128;
/// Output pairs per parallel task on long signals.
const PAR_CHUNK: usize = 1 << 14;

/// Polyphase taps of a filter bank for the kernels.
#[derive(Debug, Clone)]
pub struct Taps {
    /// Filter length `F`.
    pub f: usize,
    /// Analysis taps `[p00, p01, p10, p11]` = rec_lo even/odd, rec_hi even/odd.
    pub analysis: [Vec<f64>; 4],
    /// Synthesis taps: reversed even phases of rec_lo/rec_hi, then odd phases.
    pub synthesis: [Vec<f64>; 4],
}

impl Taps {
    /// Taps from `rec_lo` and `rec_hi` (even length `2 <= F <= 2 MAX_HALF`).
    ///
    /// # Panics
    /// If the length is odd or outside that range (wavelets are validated).
    pub fn new(rec_lo: &[f64], rec_hi: &[f64]) -> Self {
        let f = rec_lo.len();
        assert!(f >= 2 && f % 2 == 0 && f / 2 <= MAX_HALF, "filter length {f}");
        let half = f / 2;
        let u = half - 1;
        let phase = |v: &[f64], p: usize, rev: bool| -> Vec<f64> {
            (0..half).map(|k| v[2 * if rev { u - k } else { k } + p]).collect()
        };
        Taps {
            f,
            analysis: [phase(rec_lo, 0, false), phase(rec_lo, 1, false), phase(rec_hi, 0, false), phase(rec_hi, 1, false)],
            synthesis: [phase(rec_lo, 0, true), phase(rec_hi, 0, true), phase(rec_lo, 1, true), phase(rec_hi, 1, true)],
        }
    }

    /// Shift `s` between extended-signal and output indices in analysis.
    pub fn analysis_shift(&self, mode: Mode) -> usize {
        match mode {
            Mode::Periodization => self.f / 2 - 1,
            _ => self.f - 2,
        }
    }
}

/// The polyphase kernel over `count` output pairs from `q_start`: `fill`
/// gathers inputs `j0 .. j0 + len + half - 1`, `emit` takes the outputs.
#[inline(always)]
fn run_blocks<Fill, Emit>(q_start: isize, count: usize, p: &[Vec<f64>; 4], mut fill: Fill, mut emit: Emit)
where
    Fill: FnMut(isize, &mut [f64], &mut [f64]),
    Emit: FnMut(isize, &[f64], &[f64]),
{
    let half = p[0].len();
    let mut in0 = [0.0f64; BLOCK + MAX_HALF];
    let mut in1 = [0.0f64; BLOCK + MAX_HALF];
    let mut done = 0;
    while done < count {
        let len = BLOCK.min(count - done);
        let q0 = q_start + done as isize;
        let span = len + half - 1;
        fill(q0, &mut in0[..span], &mut in1[..span]);
        let mut acc0 = [0.0f64; BLOCK];
        let mut acc1 = [0.0f64; BLOCK];
        for k in 0..half {
            let (c00, c01, c10, c11) = (p[0][k], p[1][k], p[2][k], p[3][k]);
            let s0 = &in0[k..k + len];
            let s1 = &in1[k..k + len];
            for (((a0, a1), &v0), &v1) in acc0[..len].iter_mut().zip(acc1[..len].iter_mut()).zip(s0).zip(s1) {
                *a0 += c00 * v0 + c01 * v1;
                *a1 += c10 * v0 + c11 * v1;
            }
        }
        emit(q0, &acc0[..len], &acc1[..len]);
        done += len;
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn run_blocks_avx2<Fill, Emit>(q_start: isize, count: usize, p: &[Vec<f64>; 4], fill: Fill, emit: Emit)
where
    Fill: FnMut(isize, &mut [f64], &mut [f64]),
    Emit: FnMut(isize, &[f64], &[f64]),
{
    run_blocks(q_start, count, p, fill, emit)
}

/// Whether the AVX2 build of the kernels runs on this CPU (checked once).
pub fn has_avx2() -> bool {
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

/// Run the kernel with the best build for this CPU.
#[inline]
fn dispatch<Fill, Emit>(q_start: isize, count: usize, p: &[Vec<f64>; 4], fill: Fill, emit: Emit)
where
    Fill: FnMut(isize, &mut [f64], &mut [f64]),
    Emit: FnMut(isize, &[f64], &[f64]),
{
    #[cfg(target_arch = "x86_64")]
    if has_avx2() {
        // SAFETY: the CPU supports AVX2 (checked at run time).
        return unsafe { run_blocks_avx2(q_start, count, p, fill, emit) };
    }
    run_blocks(q_start, count, p, fill, emit)
}

/// Gather `ext(2j - s)` and `ext(2j + 1 - s)` for `j = j0 ..`.
#[inline(always)]
fn gather_extended(x: &[f64], mode: Mode, s: isize, j0: isize, even: &mut [f64], odd: &mut [f64]) {
    let n = x.len() as isize;
    let m0 = 2 * j0 - s;
    let m_last = m0 + 2 * even.len() as isize - 1;
    if m0 >= 0 && m_last < n {
        let src = &x[m0 as usize..=m_last as usize];
        for ((e, o), pair) in even.iter_mut().zip(odd.iter_mut()).zip(src.chunks_exact(2)) {
            *e = pair[0];
            *o = pair[1];
        }
    } else {
        for (i, (e, o)) in even.iter_mut().zip(odd.iter_mut()).enumerate() {
            let m = m0 + 2 * i as isize;
            *e = ext_value(x, m, mode);
            *o = ext_value(x, m + 1, mode);
        }
    }
}

/// Analysis over output range `[o0, o0 + ca.len())`.
fn analysis_range(x: &[f64], taps: &Taps, mode: Mode, o0: usize, ca: &mut [f64], cd: &mut [f64]) {
    let s = taps.analysis_shift(mode) as isize;
    let count = ca.len();
    dispatch(
        o0 as isize,
        count,
        &taps.analysis,
        |j0, e, o| gather_extended(x, mode, s, j0, e, o),
        |q0, y0, y1| {
            let at = q0 as usize - o0;
            ca[at..at + y0.len()].copy_from_slice(y0);
            cd[at..at + y1.len()].copy_from_slice(y1);
        },
    );
}

/// One analysis step of one signal (pywt `dwt`): writes `ca` and `cd`, each of
/// `dwt_coeff_len(x.len())` samples. Long signals are split over threads.
///
/// # Panics
/// If `x` is empty or the output lengths do not follow the length rule (the
/// plans check both before calling).
pub fn analysis_row(x: &[f64], taps: &Taps, mode: Mode, ca: &mut [f64], cd: &mut [f64]) {
    let n_out = dwt_coeff_len(x.len(), taps.f, mode);
    assert!(!x.is_empty() && ca.len() == n_out && cd.len() == n_out, "analysis_row: bad lengths");
    if n_out > 2 * PAR_CHUNK {
        ca.par_chunks_mut(PAR_CHUNK)
            .zip(cd.par_chunks_mut(PAR_CHUNK))
            .enumerate()
            .for_each(|(i, (a, d))| analysis_range(x, taps, mode, i * PAR_CHUNK, a, d));
    } else {
        analysis_range(x, taps, mode, 0, ca, cd);
    }
}

/// Synthesis of the output samples `[t0, t0 + out.len())`.
fn synthesis_range(ca: &[f64], cd: &[f64], taps: &Taps, mode: Mode, t0: usize, out: &mut [f64]) {
    let nc = ca.len();
    if mode != Mode::Periodization {
        // out[2q + p]; t0 is even
        dispatch(
            (t0 / 2) as isize,
            out.len() / 2,
            &taps.synthesis,
            |j0, a, d| {
                let j = j0 as usize;
                a.copy_from_slice(&ca[j..j + a.len()]);
                d.copy_from_slice(&cd[j..j + d.len()]);
            },
            |q0, y0, y1| {
                let at = 2 * q0 as usize - t0;
                for ((pair, &e), &o) in out[at..at + 2 * y0.len()].chunks_exact_mut(2).zip(y0).zip(y1) {
                    pair[0] = e;
                    pair[1] = o;
                }
            },
        );
        return;
    }
    // Periodization: coefficients read cyclically; output moved by `shift`.
    let u = taps.f / 2 - 1;
    let (off, shift) = ((u / 2) as isize, (u % 2) as isize);
    let (n2, len) = (2 * nc as isize, out.len() as isize);
    let t0 = t0 as isize;
    // pairs q whose outputs 2q + p + shift can land in [t0, t0 + len)
    let q_first = (t0 - shift).div_euclid(2);
    let q_last = (t0 + len - 1 - shift).div_euclid(2);
    let nci = nc as isize;
    dispatch(
        q_first,
        (q_last - q_first + 1) as usize,
        &taps.synthesis,
        |j0, a, d| {
            for (i, (va, vd)) in a.iter_mut().zip(d.iter_mut()).enumerate() {
                let idx = (j0 + i as isize - off).rem_euclid(nci) as usize;
                *va = ca[idx];
                *vd = cd[idx];
            }
        },
        |q0, y0, y1| {
            for (i, (&e, &o)) in y0.iter().zip(y1).enumerate() {
                for (p, v) in [(0, e), (1, o)] {
                    let t = (2 * (q0 + i as isize) + p + shift).rem_euclid(n2) - t0;
                    if (0..len).contains(&t) {
                        out[t as usize] = v;
                    }
                }
            }
        },
    );
}

/// One synthesis step of one signal (pywt `idwt` with both channels): `out`
/// has `idwt_output_len(ca.len())` samples and is overwritten.
///
/// # Panics
/// If `ca` and `cd` differ in length or `out` has the wrong length (the plans
/// check before calling).
pub fn synthesis_row(ca: &[f64], cd: &[f64], taps: &Taps, mode: Mode, out: &mut [f64]) {
    let nc = ca.len();
    assert!(cd.len() == nc, "synthesis_row: cA has {nc} samples, cD {}", cd.len());
    assert_eq!(Some(out.len()), idwt_output_len(nc, taps.f, mode), "synthesis_row: bad output");
    if out.len() > 4 * PAR_CHUNK {
        out.par_chunks_mut(2 * PAR_CHUNK)
            .enumerate()
            .for_each(|(i, o)| synthesis_range(ca, cd, taps, mode, 2 * i * PAR_CHUNK, o));
    } else {
        synthesis_range(ca, cd, taps, mode, 0, out);
    }
}
