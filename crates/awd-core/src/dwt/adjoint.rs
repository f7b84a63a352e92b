//! Reverse-mode pieces of the filter bank, for learning the filter: the
//! gradient of an analysis step with respect to its filters and to its input.
//!
//! Analysis computes `cA[o] = sum_m h[m] e[2o+m]` and `cD[o] = sum_m g[m]
//! e[2o+m]` with `e[t] = ext(t - s)` (see `kernel`). Given upstream gradients
//! `gA`, `gD`:
//! * filter gradients: `dh[m] = sum_o gA[o] e[2o+m]`, `dg[m] = sum_o gD[o] e[2o+m]`
//!   (correlations, accumulated);
//! * input gradient: `de[t] = sum_{2o+m=t} h[m] gA[o] + g[m] gD[o]` (a full
//!   upsampling convolution, i.e. synthesis of the zero-padded gradients),
//!   then scattered back through the extension rule (`ext_terms`).
//!
//! Synthesis needs no kernel of its own here: in every mode but periodization
//! it is the transpose of zero-mode analysis with the same taps, and in
//! periodization the transpose of periodized analysis of an even-length
//! signal (see [`adjoint_mode`]).

use super::extend::ext_terms;
use super::kernel::{
    dispatch, has_avx2, madd, with_kernel_bufs, Extended, KernelBufs, Sink, Source, Taps, BLOCK, LANES,
};
use super::len::dwt_coeff_len;
use crate::Mode;

/// The analysis mode whose transpose is synthesis in `mode`: periodization for
/// periodization, zero padding for every other mode (pywt's synthesis does not
/// depend on the extension mode).
pub fn adjoint_mode(mode: Mode) -> Mode {
    if mode == Mode::Periodization {
        Mode::Periodization
    } else {
        Mode::Zero
    }
}

/// Correlations of the whole signal for every tap, accumulated into `gh`,
/// `gg`. Lane accumulators live across blocks and are reduced once at the
/// end; block tails are zero-padded to whole register groups.
#[inline(always)]
fn grad_blocks<const FMA: bool, S: Source>(
    bufs: &mut KernelBufs,
    source: &S,
    half: usize,
    ga: &[f64],
    gd: &[f64],
    gh: &mut [f64],
    gg: &mut [f64],
) {
    let KernelBufs { in0, in1, acc } = bufs;
    let count = ga.len();
    // acc[k][c] for c = (a, e0), (a, e1), (d, e0), (d, e1)
    let acc = &mut acc[..half];
    for a in acc.iter_mut() {
        *a = [[0.0; LANES]; 4];
    }
    let mut pa = [0.0f64; BLOCK];
    let mut pd = [0.0f64; BLOCK];
    let mut done = 0;
    while done < count {
        let len = BLOCK.min(count - done);
        let padded = len.div_ceil(LANES) * LANES;
        let span = len + half - 1;
        source.fill(done as isize, &mut in0[..span], &mut in1[..span]);
        in0[span..padded + half - 1].fill(0.0);
        in1[span..padded + half - 1].fill(0.0);
        pa[..len].copy_from_slice(&ga[done..done + len]);
        pd[..len].copy_from_slice(&gd[done..done + len]);
        pa[len..padded].fill(0.0);
        pd[len..padded].fill(0.0);
        for (k, acc_k) in acc.iter_mut().enumerate() {
            // register accumulators for this block, added to the running lanes
            let mut r = [[0.0f64; LANES]; 4];
            for t in (0..padded).step_by(LANES) {
                let a: &[f64; LANES] = pa[t..t + LANES].try_into().expect("lanes");
                let d: &[f64; LANES] = pd[t..t + LANES].try_into().expect("lanes");
                let x0: &[f64; LANES] = in0[t + k..t + k + LANES].try_into().expect("lanes");
                let x1: &[f64; LANES] = in1[t + k..t + k + LANES].try_into().expect("lanes");
                for i in 0..LANES {
                    r[0][i] = madd::<FMA>(a[i], x0[i], r[0][i]);
                    r[1][i] = madd::<FMA>(a[i], x1[i], r[1][i]);
                    r[2][i] = madd::<FMA>(d[i], x0[i], r[2][i]);
                    r[3][i] = madd::<FMA>(d[i], x1[i], r[3][i]);
                }
            }
            for c in 0..4 {
                for i in 0..LANES {
                    acc_k[c][i] += r[c][i];
                }
            }
        }
        done += len;
    }
    let sum = |v: &[f64; LANES]| v.iter().sum::<f64>();
    for (k, acc_k) in acc.iter().enumerate() {
        gh[2 * k] += sum(&acc_k[0]);
        gh[2 * k + 1] += sum(&acc_k[1]);
        gg[2 * k] += sum(&acc_k[2]);
        gg[2 * k + 1] += sum(&acc_k[3]);
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn grad_blocks_avx2<S: Source>(
    bufs: &mut KernelBufs,
    source: &S,
    half: usize,
    ga: &[f64],
    gd: &[f64],
    gh: &mut [f64],
    gg: &mut [f64],
) {
    grad_blocks::<true, S>(bufs, source, half, ga, gd, gh, gg)
}

/// Accumulate the gradient of one analysis step with respect to its filters:
/// `gh[m] += sum_o ga[o] e[2o+m]`, `gg[m] += sum_o gd[o] e[2o+m]`, where `e`
/// is `x` extended in `mode` and `gh`/`gg` are in `rec_lo`/`rec_hi`
/// orientation (length `F`).
///
/// # Panics
/// If the lengths do not fit (`ga`, `gd` of `dwt_coeff_len(x.len())`, `gh`,
/// `gg` of `F`).
pub fn analysis_filter_grad_row(
    x: &[f64],
    taps: &Taps,
    mode: Mode,
    ga: &[f64],
    gd: &[f64],
    gh: &mut [f64],
    gg: &mut [f64],
) {
    let n_out = dwt_coeff_len(x.len(), taps.f, mode);
    assert!(ga.len() == n_out && gd.len() == n_out, "analysis_filter_grad_row: gradient lengths");
    assert!(gh.len() == taps.f && gg.len() == taps.f, "analysis_filter_grad_row: filter lengths");
    let source = Extended { x, mode, shift: taps.analysis_shift(mode) as isize };
    let half = taps.f / 2;
    let go = |bufs: &mut KernelBufs| {
        #[cfg(target_arch = "x86_64")]
        if has_avx2() {
            // SAFETY: the CPU supports AVX2 and FMA (checked at run time).
            return unsafe { grad_blocks_avx2(bufs, &source, half, ga, gd, gh, gg) };
        }
        grad_blocks::<false, _>(bufs, &source, half, ga, gd, gh, gg)
    };
    with_kernel_bufs(go)
}

/// Gradients `ga`, `gd` read with `pad` zeros before them (and zeros after).
struct ZeroPadded<'a> {
    ga: &'a [f64],
    gd: &'a [f64],
    pad: isize,
}

impl Source for ZeroPadded<'_> {
    #[inline(always)]
    fn fill(&self, j0: isize, a: &mut [f64], d: &mut [f64]) {
        let n = self.ga.len() as isize;
        for (i, (va, vd)) in a.iter_mut().zip(d.iter_mut()).enumerate() {
            let idx = j0 + i as isize - self.pad;
            if (0..n).contains(&idx) {
                *va = self.ga[idx as usize];
                *vd = self.gd[idx as usize];
            } else {
                *va = 0.0;
                *vd = 0.0;
            }
        }
    }
}

/// Scatter `de[t]` into `gx` through the extension rule: `e[t] = ext(t - s)`.
struct ScatterExtended<'a> {
    gx: &'a mut [f64],
    mode: Mode,
    shift: isize,
}

impl Sink for ScatterExtended<'_> {
    #[inline(always)]
    fn emit(&mut self, q0: isize, y0: &[f64], y1: &[f64]) {
        let n = self.gx.len() as isize;
        for (i, (&e, &o)) in y0.iter().zip(y1).enumerate() {
            let m = 2 * (q0 + i as isize) - self.shift;
            if m >= 0 && m + 1 < n {
                self.gx[m as usize] += e;
                self.gx[m as usize + 1] += o;
            } else {
                for (mm, v) in [(m, e), (m + 1, o)] {
                    for &(idx, w) in ext_terms(n as usize, mm, self.mode).as_slice() {
                        self.gx[idx] += w * v;
                    }
                }
            }
        }
    }
}

/// The gradient of one analysis step with respect to its input: `gx`
/// (length `n`, overwritten) from the upstream gradients `ga`, `gd`.
///
/// # Panics
/// If `ga`, `gd` do not have `dwt_coeff_len(gx.len())` samples.
pub fn analysis_input_grad_row(ga: &[f64], gd: &[f64], taps: &Taps, mode: Mode, gx: &mut [f64]) {
    let n_out = dwt_coeff_len(gx.len(), taps.f, mode);
    assert!(ga.len() == n_out && gd.len() == n_out, "analysis_input_grad_row: gradient lengths");
    gx.fill(0.0);
    let u = (taps.f / 2 - 1) as isize;
    // de has 2 (n_out + u) samples: pairs q = 0 .. n_out + u.
    let pairs = n_out + u as usize;
    let source = ZeroPadded { ga, gd, pad: u };
    let mut sink = ScatterExtended { gx, mode, shift: taps.analysis_shift(mode) as isize };
    dispatch(0, pairs, &taps.synthesis, &source, &mut sink);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dwt::kernel::{analysis_row, as_out};
    use crate::Wavelet;

    fn lcg(seed: &mut u64) -> f64 {
        *seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        ((*seed >> 11) as f64 / (1u64 << 53) as f64) - 0.5
    }

    /// <analysis(x), (ga, gd)> = <x, input_grad(ga, gd)> in every mode and for
    /// short and long signals: the input gradient is the exact transpose.
    #[test]
    fn input_grad_is_the_transpose_of_analysis() {
        let mut seed = 1;
        for name in ["haar", "db2", "db5", "sym4"] {
            let w = Wavelet::from_name(name).unwrap();
            let taps = Taps::new(&w.rec_lo, &w.rec_hi);
            for mode in Mode::ALL {
                for n in [1usize, 2, 3, 5, 8, 13, 31, 64, 200] {
                    if mode == Mode::Reflect && n < 2 {
                        continue;
                    }
                    let x: Vec<f64> = (0..n).map(|_| lcg(&mut seed)).collect();
                    let m = dwt_coeff_len(n, taps.f, mode);
                    let (mut ca, mut cd) = (vec![0.0; m], vec![0.0; m]);
                    analysis_row(&x, &taps, mode, as_out(&mut ca), as_out(&mut cd));
                    let ga: Vec<f64> = (0..m).map(|_| lcg(&mut seed)).collect();
                    let gd: Vec<f64> = (0..m).map(|_| lcg(&mut seed)).collect();
                    let mut gx = vec![0.0; n];
                    analysis_input_grad_row(&ga, &gd, &taps, mode, &mut gx);
                    let lhs: f64 = ca.iter().zip(&ga).chain(cd.iter().zip(&gd)).map(|(a, b)| a * b).sum();
                    let rhs: f64 = x.iter().zip(&gx).map(|(a, b)| a * b).sum();
                    assert!((lhs - rhs).abs() < 1e-12 * (1.0 + lhs.abs()), "{name}/{mode}/n={n}: {lhs} vs {rhs}");
                }
            }
        }
    }

    /// The filter gradient against central finite differences of
    /// `<analysis_h(x), (ga, gd)>` (linear in the taps: exact up to rounding).
    #[test]
    fn filter_grad_matches_finite_differences() {
        let mut seed = 7;
        for mode in Mode::ALL {
            for n in [3usize, 10, 37] {
                let h: Vec<f64> = (0..6).map(|_| lcg(&mut seed)).collect();
                let g: Vec<f64> = (0..6).map(|_| lcg(&mut seed)).collect();
                let x: Vec<f64> = (0..n).map(|_| lcg(&mut seed)).collect();
                let m = dwt_coeff_len(n, 6, mode);
                let ga: Vec<f64> = (0..m).map(|_| lcg(&mut seed)).collect();
                let gd: Vec<f64> = (0..m).map(|_| lcg(&mut seed)).collect();
                let objective = |h: &[f64], g: &[f64]| {
                    let taps = Taps::new(h, g);
                    let (mut ca, mut cd) = (vec![0.0; m], vec![0.0; m]);
                    analysis_row(&x, &taps, mode, as_out(&mut ca), as_out(&mut cd));
                    ca.iter().zip(&ga).chain(cd.iter().zip(&gd)).map(|(a, b)| a * b).sum::<f64>()
                };
                let (mut gh, mut gg) = (vec![0.0; 6], vec![0.0; 6]);
                analysis_filter_grad_row(&x, &Taps::new(&h, &g), mode, &ga, &gd, &mut gh, &mut gg);
                for i in 0..6 {
                    let eps = 1e-6;
                    let (mut hp, mut hm) = (h.clone(), h.clone());
                    hp[i] += eps;
                    hm[i] -= eps;
                    let fd = (objective(&hp, &g) - objective(&hm, &g)) / (2.0 * eps);
                    assert!((fd - gh[i]).abs() < 1e-8, "{mode} n={n} dh[{i}]: {fd} vs {}", gh[i]);
                    let (mut gp, mut gm) = (g.clone(), g.clone());
                    gp[i] += eps;
                    gm[i] -= eps;
                    let fd = (objective(&h, &gp) - objective(&h, &gm)) / (2.0 * eps);
                    assert!((fd - gg[i]).abs() < 1e-8, "{mode} n={n} dg[{i}]: {fd} vs {}", gg[i]);
                }
            }
        }
    }
}
