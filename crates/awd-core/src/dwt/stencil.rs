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
}

/// Columns per register group; batches are padded to a multiple of it.
pub const GROUP: usize = 16;

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
        Stencil { n, n_out, f, terms, starts, by_row, row_starts }
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
        for o in 0..self.n_out {
            let terms = self.terms_of(o);
            for c0 in (0..b).step_by(GROUP) {
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
        for i in 0..self.n {
            let terms = &self.by_row[self.row_starts[i]..self.row_starts[i + 1]];
            for c0 in (0..b).step_by(GROUP) {
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

    #[inline(always)]
    fn filter_grad_body<const FMA: bool>(&self, x: &[f64], ga: &[f64], gd: &[f64], b: usize, acc: &mut [f64]) {
        // acc[(m, c)] lanes: `acc[m * GROUP + k]` for h, after `f * GROUP` for g
        let f = self.f;
        let (acc_h, acc_g) = acc.split_at_mut(f * GROUP);
        for o in 0..self.n_out {
            let terms = self.terms_of(o);
            for c0 in (0..b).step_by(GROUP) {
                let at = o * b + c0;
                let ra: &[f64; GROUP] = ga[at..at + GROUP].try_into().expect("group");
                let rd: &[f64; GROUP] = gd[at..at + GROUP].try_into().expect("group");
                for t in terms {
                    let (m, w) = (t.tap as usize, t.weight);
                    let xa = t.row as usize * b + c0;
                    let xr: &[f64; GROUP] = x[xa..xa + GROUP].try_into().expect("group");
                    let ah: &mut [f64; GROUP] = (&mut acc_h[m * GROUP..(m + 1) * GROUP]).try_into().expect("group");
                    let ag: &mut [f64; GROUP] = (&mut acc_g[m * GROUP..(m + 1) * GROUP]).try_into().expect("group");
                    for k in 0..GROUP {
                        let wx = w * xr[k];
                        ah[k] = madd::<FMA>(wx, ra[k], ah[k]);
                        ag[k] = madd::<FMA>(wx, rd[k], ag[k]);
                    }
                }
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

    /// Accumulate the filter gradient of [`Stencil::analysis`]:
    /// `gh[m] += sum_{o,c} ga[o,c] e[2o+m,c]`, same for `gg` with `gd`.
    /// `acc` is scratch.
    #[allow(clippy::too_many_arguments)]
    pub fn filter_grad(
        &self,
        x: &[f64],
        ga: &[f64],
        gd: &[f64],
        b: usize,
        gh: &mut [f64],
        gg: &mut [f64],
        acc: &mut Vec<f64>,
    ) {
        assert!(x.len() == self.n * b && ga.len() == self.n_out * b && gd.len() == self.n_out * b, "stencil shapes");
        assert!(b.is_multiple_of(GROUP), "batch width {b} is not a multiple of {GROUP}");
        let f = self.f;
        acc.clear();
        acc.resize(2 * f * GROUP, 0.0);
        #[cfg(target_arch = "x86_64")]
        if has_avx2() {
            // SAFETY: the CPU supports AVX2 and FMA (checked at run time).
            unsafe { filter_grad_avx2(self, x, ga, gd, b, acc) };
        } else {
            self.filter_grad_body::<false>(x, ga, gd, b, acc);
        }
        #[cfg(not(target_arch = "x86_64"))]
        self.filter_grad_body::<false>(x, ga, gd, b, acc);
        for m in 0..f {
            gh[m] += acc[m * GROUP..(m + 1) * GROUP].iter().sum::<f64>();
            gg[m] += acc[(f + m) * GROUP..(f + m + 1) * GROUP].iter().sum::<f64>();
        }
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

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn filter_grad_avx2(s: &Stencil, x: &[f64], ga: &[f64], gd: &[f64], b: usize, acc: &mut [f64]) {
    s.filter_grad_body::<true>(x, ga, gd, b, acc)
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
}
