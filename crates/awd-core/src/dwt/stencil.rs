//! One analysis step as an explicit stencil: for every output `o`, the list
//! of `(tap m, input sample, weight)` that make it, the extension rule folded
//! in. Built once per (length, filter length, mode), it drives four kernels
//! on column-major batches (time along axis 0, one signal per column):
//! analysis, its transpose (which is synthesis in the adjoint mode, and the
//! input gradient of analysis), and the filter gradient.

use super::extend::ext_terms;
use super::kernel::{has_avx2, madd};
use super::len::dwt_coeff_len;
use crate::Mode;

/// One term of a stencil.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Term {
    tap: u32,
    row: u32,
    weight: f64,
}

/// The stencil of analysis on `n` samples with an `f`-tap filter.
#[derive(Debug, Clone, PartialEq)]
pub struct Stencil {
    /// Input length.
    pub n: usize,
    /// Output length.
    pub n_out: usize,
    /// Filter length.
    pub f: usize,
    terms: Vec<Term>,
    /// `terms[starts[o]..starts[o + 1]]` make output `o`.
    starts: Vec<usize>,
    /// The same terms grouped by input sample (`row` holds the output `o`).
    by_row: Vec<Term>,
    /// `by_row[row_starts[i]..row_starts[i + 1]]` read input sample `i`.
    row_starts: Vec<usize>,
    /// Outputs that read the plain taps, `m = 0..f` at input `2o + m - shift`
    /// with weight 1 (no extension): the filter gradient keeps their sums in
    /// registers.
    interior: std::ops::Range<usize>,
    /// The analysis shift `s`.
    shift: usize,
}

/// Columns per register group; batches are padded to a multiple of it.
pub const GROUP: usize = 16;

/// Columns per tile of the analysis and transpose kernels: every output of a
/// tile is computed before the next tile, so the input rows a tile reads
/// (the filter's length of them, 4 KB each) stay in cache between outputs.
/// Each output is computed alone, so tiling changes no result.
const COLUMN_TILE: usize = 512;

/// Starts of the column tiles of a batch `b` columns wide.
fn column_tiles(b: usize) -> std::iter::StepBy<std::ops::Range<usize>> {
    (0..b).step_by(COLUMN_TILE)
}

/// Columns per vector in the filter gradient's register blocks.
const VEC: usize = 4;

/// Taps per register block of the filter gradient (4 taps x 2 filters x one
/// vector of [`VEC`] columns: 8 accumulators, with room for the loads).
const TAP_BLOCK: usize = 4;

impl Stencil {
    /// Analysis in `mode` of `n` samples: `cA[o] = sum_m h[m] ext(2o + m - s)`.
    pub fn new(n: usize, f: usize, mode: Mode) -> Self {
        let n_out = dwt_coeff_len(n, f, mode);
        let s = if mode == Mode::Periodization { f / 2 - 1 } else { f - 2 } as isize;
        let mut terms = Vec::with_capacity(n_out * f);
        let mut starts = Vec::with_capacity(n_out + 1);
        for o in 0..n_out {
            starts.push(terms.len());
            for m in 0..f {
                for &(row, weight) in ext_terms(n, 2 * o as isize + m as isize - s, mode).as_slice() {
                    terms.push(Term { tap: m as u32, row: row as u32, weight });
                }
            }
        }
        starts.push(terms.len());
        let mut by_row = Vec::with_capacity(terms.len());
        let mut row_starts = Vec::with_capacity(n + 1);
        let mut per_row: Vec<Vec<Term>> = vec![Vec::new(); n];
        for o in 0..n_out {
            for t in &terms[starts[o]..starts[o + 1]] {
                per_row[t.row as usize].push(Term { tap: t.tap, row: o as u32, weight: t.weight });
            }
        }
        for list in per_row {
            row_starts.push(by_row.len());
            by_row.extend(list);
        }
        row_starts.push(by_row.len());
        let plain = |o: usize| {
            let t = &terms[starts[o]..starts[o + 1]];
            t.len() == f
                && t.iter().enumerate().all(|(m, t)| {
                    t.tap as usize == m && t.weight == 1.0 && t.row as isize == 2 * o as isize + m as isize - s
                })
        };
        let lo = (0..n_out).find(|&o| plain(o)).unwrap_or(n_out);
        let hi = (lo..n_out).find(|&o| !plain(o)).unwrap_or(n_out);
        let interior = lo..hi;
        Stencil { n, n_out, f, terms, starts, by_row, row_starts, interior, shift: s as usize }
    }

    #[inline(always)]
    fn terms_of(&self, o: usize) -> &[Term] {
        &self.terms[self.starts[o]..self.starts[o + 1]]
    }

    #[inline(always)]
    fn analysis_body<const FMA: bool>(
        &self,
        h: &[f64],
        g: &[f64],
        x: &[f64],
        b: usize,
        ca: &mut [f64],
        cd: &mut [f64],
    ) {
        for (t0, o) in column_tiles(b).flat_map(|t| (0..self.n_out).map(move |o| (t, o))) {
            let terms = self.terms_of(o);
            for c0 in (t0..(t0 + COLUMN_TILE).min(b)).step_by(GROUP) {
                let (mut aa, mut ad) = ([0.0f64; GROUP], [0.0f64; GROUP]);
                for t in terms {
                    let (wa, wd) = (h[t.tap as usize] * t.weight, g[t.tap as usize] * t.weight);
                    let at = t.row as usize * b + c0;
                    let xr: &[f64; GROUP] = x[at..at + GROUP].try_into().expect("group");
                    for i in 0..GROUP {
                        aa[i] = madd::<FMA>(wa, xr[i], aa[i]);
                        ad[i] = madd::<FMA>(wd, xr[i], ad[i]);
                    }
                }
                ca[o * b + c0..o * b + c0 + GROUP].copy_from_slice(&aa);
                cd[o * b + c0..o * b + c0 + GROUP].copy_from_slice(&ad);
            }
        }
    }

    #[inline(always)]
    fn transpose_body<const FMA: bool>(&self, h: &[f64], g: &[f64], ca: &[f64], cd: &[f64], b: usize, out: &mut [f64]) {
        for (t0, i) in column_tiles(b).flat_map(|t| (0..self.n).map(move |i| (t, i))) {
            let terms = &self.by_row[self.row_starts[i]..self.row_starts[i + 1]];
            for c0 in (t0..(t0 + COLUMN_TILE).min(b)).step_by(GROUP) {
                let mut acc = [0.0f64; GROUP];
                for t in terms {
                    let (wa, wd) = (h[t.tap as usize] * t.weight, g[t.tap as usize] * t.weight);
                    let at = t.row as usize * b + c0;
                    let ra: &[f64; GROUP] = ca[at..at + GROUP].try_into().expect("group");
                    let rd: &[f64; GROUP] = cd[at..at + GROUP].try_into().expect("group");
                    for k in 0..GROUP {
                        acc[k] = madd::<FMA>(wd, rd[k], madd::<FMA>(wa, ra[k], acc[k]));
                    }
                }
                out[i * b + c0..i * b + c0 + GROUP].copy_from_slice(&acc);
            }
        }
    }

    /// The portable filter gradient (no fused multiply-adds; the AVX2 twin
    /// is [`filter_grad_avx2`]).
    fn filter_grad_body(&self, x: &[f64], ga: &[f64], gd: &[f64], b: usize, period: usize, acc: &mut [f64]) {
        // h lanes: `acc[m * period + lane]`; g lanes after `f * period`
        let f = self.f;
        let (acc_h, acc_g) = acc.split_at_mut(f * period);
        // outputs that read the extension: term by term, sums in `acc`
        let edges = (0..self.interior.start).chain(self.interior.end..self.n_out);
        for o in edges {
            let terms = self.terms_of(o);
            for c0 in (0..b).step_by(GROUP) {
                let at = o * b + c0;
                let lane = c0 % period;
                let ra: &[f64; GROUP] = ga[at..at + GROUP].try_into().expect("group");
                let rd: &[f64; GROUP] = gd[at..at + GROUP].try_into().expect("group");
                for t in terms {
                    let (m, w) = (t.tap as usize, t.weight);
                    let xa = t.row as usize * b + c0;
                    let xr: &[f64; GROUP] = x[xa..xa + GROUP].try_into().expect("group");
                    let slot = m * period + lane;
                    let ah: &mut [f64; GROUP] = (&mut acc_h[slot..slot + GROUP]).try_into().expect("group");
                    let ag: &mut [f64; GROUP] = (&mut acc_g[slot..slot + GROUP]).try_into().expect("group");
                    for k in 0..GROUP {
                        let wx = w * xr[k];
                        ah[k] = madd::<false>(wx, ra[k], ah[k]);
                        ag[k] = madd::<false>(wx, rd[k], ag[k]);
                    }
                }
            }
        }
        // plain outputs: blocks of taps summed over every output
        let blocks = f / TAP_BLOCK * TAP_BLOCK;
        for c0 in (0..b).step_by(VEC) {
            let lane = c0 % period;
            let mut m0 = 0;
            while m0 < f {
                let k_len = if m0 < blocks { TAP_BLOCK } else { 2 };
                let (mut sh, mut sg) = ([[0.0f64; VEC]; TAP_BLOCK], [[0.0f64; VEC]; TAP_BLOCK]);
                for o in self.interior.clone() {
                    let at = o * b + c0;
                    let ra: &[f64; VEC] = ga[at..at + VEC].try_into().expect("vector");
                    let rd: &[f64; VEC] = gd[at..at + VEC].try_into().expect("vector");
                    let row0 = 2 * o + m0 - self.shift;
                    for k in 0..k_len {
                        let xa = (row0 + k) * b + c0;
                        let xr: &[f64; VEC] = x[xa..xa + VEC].try_into().expect("vector");
                        for i in 0..VEC {
                            sh[k][i] = madd::<false>(xr[i], ra[i], sh[k][i]);
                            sg[k][i] = madd::<false>(xr[i], rd[i], sg[k][i]);
                        }
                    }
                }
                for k in 0..k_len {
                    let slot = (m0 + k) * period + lane;
                    for i in 0..VEC {
                        acc_h[slot + i] += sh[k][i];
                        acc_g[slot + i] += sg[k][i];
                    }
                }
                m0 += k_len;
            }
        }
    }

    /// Analysis of a batch: `x` is `n x b`, `ca`/`cd` become `n_out x b`
    /// (`b` a multiple of [`GROUP`]).
    pub fn analysis(&self, h: &[f64], g: &[f64], x: &[f64], b: usize, ca: &mut [f64], cd: &mut [f64]) {
        assert!(b.is_multiple_of(GROUP), "batch width {b} is not a multiple of {GROUP}");
        assert!(x.len() == self.n * b && ca.len() == self.n_out * b && cd.len() == self.n_out * b, "stencil shapes");
        #[cfg(target_arch = "x86_64")]
        if has_avx2() {
            // SAFETY: the CPU supports AVX2 and FMA (checked at run time).
            return unsafe { analysis_avx2(self, h, g, x, b, ca, cd) };
        }
        self.analysis_body::<false>(h, g, x, b, ca, cd)
    }

    /// The transpose of [`Stencil::analysis`]: `out` (`n x b`, overwritten)
    /// from `ca`, `cd` (`n_out x b`). This is pywt's synthesis when the
    /// stencil is built in the adjoint mode, and the input gradient of
    /// analysis otherwise.
    pub fn transpose(&self, h: &[f64], g: &[f64], ca: &[f64], cd: &[f64], b: usize, out: &mut [f64]) {
        assert!(b.is_multiple_of(GROUP), "batch width {b} is not a multiple of {GROUP}");
        assert!(out.len() == self.n * b && ca.len() == self.n_out * b && cd.len() == self.n_out * b, "stencil shapes");
        #[cfg(target_arch = "x86_64")]
        if has_avx2() {
            // SAFETY: the CPU supports AVX2 and FMA (checked at run time).
            return unsafe { transpose_avx2(self, h, g, ca, cd, b, out) };
        }
        self.transpose_body::<false>(h, g, ca, cd, b, out)
    }

    /// Accumulate the filter gradient of [`Stencil::analysis`] per column
    /// class: `acc[m * period + c % period] += sum_o ga[o,c] e[2o+m,c]` for
    /// `h` (the first `f * period` values), then the same with `gd` for `g`.
    /// With `period` the number of samples in a batch whose columns cycle
    /// through the samples (1-D: one column per sample; 2-D: one image row
    /// of columns per sample), each sample keeps its own sums, taken in an
    /// order that does not depend on the other samples.
    pub fn filter_grad(&self, x: &[f64], ga: &[f64], gd: &[f64], b: usize, period: usize, acc: &mut [f64]) {
        assert!(x.len() == self.n * b && ga.len() == self.n_out * b && gd.len() == self.n_out * b, "stencil shapes");
        assert!(b.is_multiple_of(GROUP), "batch width {b} is not a multiple of {GROUP}");
        assert!(
            period.is_multiple_of(GROUP) && b.is_multiple_of(period) && acc.len() == 2 * self.f * period,
            "filter-gradient lanes"
        );
        #[cfg(target_arch = "x86_64")]
        if has_avx2() {
            // SAFETY: the CPU supports AVX2 and FMA (checked at run time).
            return unsafe { filter_grad_avx2(self, x, ga, gd, b, period, acc) };
        }
        self.filter_grad_body(x, ga, gd, b, period, acc)
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn analysis_avx2(s: &Stencil, h: &[f64], g: &[f64], x: &[f64], b: usize, ca: &mut [f64], cd: &mut [f64]) {
    s.analysis_body::<true>(h, g, x, b, ca, cd)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn transpose_avx2(s: &Stencil, h: &[f64], g: &[f64], ca: &[f64], cd: &[f64], b: usize, out: &mut [f64]) {
    s.transpose_body::<true>(h, g, ca, cd, b, out)
}

/// [`Stencil::filter_grad`] with AVX2 vectors of [`VEC`] columns: the same
/// operations per column as the portable body with fused multiply-adds.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn filter_grad_avx2(s: &Stencil, x: &[f64], ga: &[f64], gd: &[f64], b: usize, period: usize, acc: &mut [f64]) {
    use std::arch::x86_64::{_mm256_fmadd_pd, _mm256_mul_pd, _mm256_set1_pd};
    let f = s.f;
    let (acc_h, acc_g) = acc.split_at_mut(f * period);
    // outputs that read the extension: term by term, sums in `acc`
    for o in (0..s.interior.start).chain(s.interior.end..s.n_out) {
        let terms = s.terms_of(o);
        for c0 in (0..b).step_by(VEC) {
            let (at, lane) = (o * b + c0, c0 % period);
            let (ra, rd) = (load(ga, at), load(gd, at));
            for t in terms {
                let slot = t.tap as usize * period + lane;
                let wx = _mm256_mul_pd(_mm256_set1_pd(t.weight), load(x, t.row as usize * b + c0));
                store(acc_h, slot, _mm256_fmadd_pd(wx, ra, load(acc_h, slot)));
                store(acc_g, slot, _mm256_fmadd_pd(wx, rd, load(acc_g, slot)));
            }
        }
    }
    // plain outputs: blocks of taps summed over every output in registers
    let blocks = f / TAP_BLOCK * TAP_BLOCK;
    for c0 in (0..b).step_by(VEC) {
        let lane = c0 % period;
        for m0 in (0..blocks).step_by(TAP_BLOCK) {
            plain_taps_avx2::<TAP_BLOCK>(s, x, ga, gd, b, (c0, m0, period, lane), acc_h, acc_g);
        }
        for m0 in (blocks..f).step_by(2) {
            plain_taps_avx2::<2>(s, x, ga, gd, b, (c0, m0, period, lane), acc_h, acc_g);
        }
    }
}

/// Taps `m0 .. m0 + K` of the filter gradient over the plain outputs, for
/// the [`VEC`] columns from `c0`: `2K` vector sums in registers, added to the
/// lanes once at the end. `at` is `(c0, m0, period, lane)`.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
#[inline]
#[allow(clippy::too_many_arguments)]
unsafe fn plain_taps_avx2<const K: usize>(
    s: &Stencil,
    x: &[f64],
    ga: &[f64],
    gd: &[f64],
    b: usize,
    at: (usize, usize, usize, usize),
    acc_h: &mut [f64],
    acc_g: &mut [f64],
) {
    use std::arch::x86_64::{_mm256_add_pd, _mm256_fmadd_pd, _mm256_setzero_pd};
    let (c0, m0, period, lane) = at;
    let (mut sh, mut sg) = ([_mm256_setzero_pd(); K], [_mm256_setzero_pd(); K]);
    for o in s.interior.clone() {
        let at = o * b + c0;
        let (ra, rd) = (load(ga, at), load(gd, at));
        let row0 = 2 * o + m0 - s.shift;
        for k in 0..K {
            let xr = load(x, (row0 + k) * b + c0);
            sh[k] = _mm256_fmadd_pd(xr, ra, sh[k]);
            sg[k] = _mm256_fmadd_pd(xr, rd, sg[k]);
        }
    }
    for k in 0..K {
        let slot = (m0 + k) * period + lane;
        store(acc_h, slot, _mm256_add_pd(load(acc_h, slot), sh[k]));
        store(acc_g, slot, _mm256_add_pd(load(acc_g, slot), sg[k]));
    }
}

/// The [`VEC`] values of `v` from `at` (bounds-checked).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
#[inline]
unsafe fn load(v: &[f64], at: usize) -> std::arch::x86_64::__m256d {
    let s: &[f64; VEC] = v[at..at + VEC].try_into().expect("vector");
    // SAFETY: `s` holds VEC = 4 doubles; unaligned load.
    unsafe { std::arch::x86_64::_mm256_loadu_pd(s.as_ptr()) }
}

/// Store a vector into `v[at..at + VEC]` (bounds-checked).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
#[inline]
unsafe fn store(v: &mut [f64], at: usize, value: std::arch::x86_64::__m256d) {
    let s: &mut [f64; VEC] = (&mut v[at..at + VEC]).try_into().expect("vector");
    // SAFETY: `s` holds VEC = 4 doubles; unaligned store.
    unsafe { std::arch::x86_64::_mm256_storeu_pd(s.as_mut_ptr(), value) }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dwt::kernel::{analysis_row, as_out, synthesis_row, Taps};
    use crate::Wavelet;

    /// Stencil analysis equals the row kernel, and its transpose in the
    /// adjoint mode equals pywt's synthesis, in every mode and length.
    #[test]
    fn stencil_matches_row_kernels() {
        let w = Wavelet::from_name("db3").unwrap();
        let taps = Taps::new(&w.rec_lo, &w.rec_hi);
        let b = GROUP;
        for mode in Mode::ALL {
            for n in [2usize, 3, 7, 16, 33] {
                let st = Stencil::new(n, 6, mode);
                let x: Vec<f64> = (0..n * b).map(|i| ((i * 37 % 11) as f64) - 5.0).collect();
                let (mut ca, mut cd) = (vec![0.0; st.n_out * b], vec![0.0; st.n_out * b]);
                st.analysis(&w.rec_lo, &w.rec_hi, &x, b, &mut ca, &mut cd);
                for c in 0..b {
                    let col: Vec<f64> = (0..n).map(|t| x[t * b + c]).collect();
                    let (mut ra, mut rd) = (vec![0.0; st.n_out], vec![0.0; st.n_out]);
                    analysis_row(&col, &taps, mode, as_out(&mut ra), as_out(&mut rd));
                    for o in 0..st.n_out {
                        assert!(
                            (ra[o] - ca[o * b + c]).abs() < 1e-12 && (rd[o] - cd[o * b + c]).abs() < 1e-12,
                            "{mode} n={n}"
                        );
                    }
                }
                // synthesis of n_out coefficients == transpose of the adjoint-mode stencil
                let nc = st.n_out;
                let out_len = crate::dwt::len::idwt_output_len(nc, 6, mode).unwrap();
                let adj = Stencil::new(out_len, 6, crate::dwt::adjoint::adjoint_mode(mode));
                assert_eq!(adj.n_out, nc);
                let mut out = vec![0.0; out_len * b];
                adj.transpose(&w.rec_lo, &w.rec_hi, &ca, &cd, b, &mut out);
                for c in 0..b {
                    let (a1, d1): (Vec<f64>, Vec<f64>) = (0..nc).map(|o| (ca[o * b + c], cd[o * b + c])).unzip();
                    let mut want = vec![0.0; out_len];
                    synthesis_row(&a1, &d1, &taps, mode, as_out(&mut want));
                    for t in 0..out_len {
                        assert!((want[t] - out[t * b + c]).abs() < 1e-12, "{mode} n={n} t={t}");
                    }
                }
            }
        }
    }

    /// The vectorised filter gradient (AVX2 where the CPU has it) agrees with
    /// the portable body to rounding, in every mode, for plain and edge
    /// outputs, one column per sample or several.
    #[test]
    fn filter_grad_kernels_agree() {
        let mut seed = 11u64;
        let mut next = || {
            seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            ((seed >> 11) as f64 / (1u64 << 53) as f64) - 0.5
        };
        for f in [2usize, 6, 10] {
            for mode in Mode::ALL {
                for (n, period, b) in [(5usize, GROUP, GROUP), (40, GROUP, 3 * GROUP), (33, 2 * GROUP, 2 * GROUP)] {
                    let st = Stencil::new(n, f, mode);
                    let x: Vec<f64> = (0..n * b).map(|_| next()).collect();
                    let ga: Vec<f64> = (0..st.n_out * b).map(|_| next()).collect();
                    let gd: Vec<f64> = (0..st.n_out * b).map(|_| next()).collect();
                    let (mut fast, mut plain) = (vec![0.0; 2 * f * period], vec![0.0; 2 * f * period]);
                    st.filter_grad(&x, &ga, &gd, b, period, &mut fast);
                    st.filter_grad_body(&x, &ga, &gd, b, period, &mut plain);
                    for (a, p) in fast.iter().zip(&plain) {
                        assert!((a - p).abs() <= 1e-12 * (1.0 + p.abs()), "f={f} {mode} n={n}: {a} vs {p}");
                    }
                }
            }
        }
    }
}
