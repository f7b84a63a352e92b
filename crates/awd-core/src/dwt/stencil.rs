//! One analysis step as an explicit stencil: for every output `o`, the list
//! of `(tap m, input sample, weight)` that make it, the extension rule folded
//! in. Built once per (length, filter length, mode), it drives four kernels
//! on column-major batches (time along axis 0, one signal per column):
//! analysis, its transpose (which is synthesis in the adjoint mode, and the
//! input gradient of analysis), and the filter gradient.

use super::extend::ext_terms;
use super::kernel::has_avx2;
use super::len::dwt_coeff_len;
use super::real::Real;
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
    /// Input samples read only by plain outputs, every tap of their parity
    /// (`m = (i + s) mod 2, .. < f`) with weight 1: the transpose reads
    /// them without the term table.
    plain_rows: std::ops::Range<usize>,
    /// The analysis shift `s`.
    shift: usize,
}

/// Columns per register group; batches are padded to a multiple of it.
pub const GROUP: usize = 16;

/// The narrow register group: the analysis and transpose kernels take
/// batches of any multiple of it, with whole [`GROUP`]s where the width
/// allows (a chunk of 8 maps keeps a tape's arrays half as large).
pub const NARROW_GROUP: usize = 8;

/// Run `$body` with the const `$g` set to the register group for a batch
/// `$b` columns wide: [`GROUP`] when it divides `$b`, else [`NARROW_GROUP`].
macro_rules! with_group {
    ($b:expr, $g:ident => $body:expr) => {
        if $b.is_multiple_of(GROUP) {
            const $g: usize = GROUP;
            $body
        } else {
            const $g: usize = NARROW_GROUP;
            $body
        }
    };
}

/// Columns per tile of the analysis and transpose kernels: every output of a
/// tile is computed before the next tile, so the input rows a tile reads
/// (the filter's length of them, 4 KB each) stay in cache between outputs.
/// Each output is computed alone, so tiling changes no result.
const COLUMN_TILE: usize = 128;

/// Starts of the column tiles of a batch `b` columns wide.
fn column_tiles(b: usize) -> std::iter::StepBy<std::ops::Range<usize>> {
    (0..b).step_by(COLUMN_TILE)
}

/// Columns per vector in the filter gradient's register blocks.
const VEC: usize = 4;

/// Taps per register block of the filter gradient (5 taps x 2 filters x one
/// vector of [`VEC`] columns: 10 accumulators, enough independent sums to
/// hide the multiply-add latency, with room for the loads).
const TAP_BLOCK: usize = 5;

/// One group of `G` columns from `c0` of one analysis output: the sums
/// `sum w_a x[row]`, `sum w_d x[row]` over `taps` `(w_a, w_d, row)`, in order.
#[inline(always)]
fn analysis_group<const FMA: bool, const G: usize>(
    taps: impl Iterator<Item = (f64, f64, usize)>,
    x: &[f64],
    b: usize,
    c0: usize,
) -> ([f64; G], [f64; G]) {
    let (mut aa, mut ad) = ([0.0f64; G], [0.0f64; G]);
    for (wa, wd, row) in taps {
        let at = row * b + c0;
        let xr: &[f64; G] = x[at..at + G].try_into().expect("group");
        for i in 0..G {
            aa[i] = f64::madd::<FMA>(wa, xr[i], aa[i]);
            ad[i] = f64::madd::<FMA>(wd, xr[i], ad[i]);
        }
    }
    (aa, ad)
}

/// One group of `G` columns from `c0` of one transpose output: the sum of
/// `w_a ca[row] + w_d cd[row]` over `taps` `(w_a, w_d, row)`, in order.
#[inline(always)]
fn transpose_group<const FMA: bool, const G: usize>(
    taps: impl Iterator<Item = (f64, f64, usize)>,
    ca: &[f64],
    cd: &[f64],
    b: usize,
    c0: usize,
) -> [f64; G] {
    let mut acc = [0.0f64; G];
    for (wa, wd, row) in taps {
        let at = row * b + c0;
        let ra: &[f64; G] = ca[at..at + G].try_into().expect("group");
        let rd: &[f64; G] = cd[at..at + G].try_into().expect("group");
        for k in 0..G {
            acc[k] = f64::madd::<FMA>(wd, rd[k], f64::madd::<FMA>(wa, ra[k], acc[k]));
        }
    }
    acc
}

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
        let plain_row = |i: usize| {
            let t = &by_row[row_starts[i]..row_starts[i + 1]];
            let p = (i as isize + s) as usize & 1;
            t.len() == f / 2
                && t.iter().zip((p..f).step_by(2).rev()).all(|(t, m)| {
                    let o = (i as isize + s - m as isize) / 2;
                    t.tap as usize == m && t.weight == 1.0 && t.row as isize == o && interior.contains(&(o as usize))
                })
        };
        let lo = (0..n).find(|&i| plain_row(i)).unwrap_or(n);
        let hi = (lo..n).find(|&i| !plain_row(i)).unwrap_or(n);
        let plain_rows = lo..hi;
        Stencil { n, n_out, f, terms, starts, by_row, row_starts, interior, plain_rows, shift: s as usize }
    }

    #[inline(always)]
    fn terms_of(&self, o: usize) -> &[Term] {
        &self.terms[self.starts[o]..self.starts[o + 1]]
    }

    #[inline(always)]
    fn analysis_body<const FMA: bool, const G: usize>(
        &self,
        h: &[f64],
        g: &[f64],
        x: &[f64],
        b: usize,
        ca: &mut [f64],
        cd: &mut [f64],
    ) {
        let f = self.f;
        for (t0, o) in column_tiles(b).flat_map(|t| (0..self.n_out).map(move |o| (t, o))) {
            let columns = (t0..(t0 + COLUMN_TILE).min(b)).step_by(G);
            for c0 in columns {
                let (aa, ad) = if self.interior.contains(&o) {
                    // plain taps: rows 2o - s + m, weight 1 (the same sums)
                    let row0 = 2 * o - self.shift;
                    let taps = h[..f].iter().zip(&g[..f]).enumerate().map(|(m, (&wa, &wd))| (wa, wd, row0 + m));
                    analysis_group::<FMA, G>(taps, x, b, c0)
                } else {
                    let taps = self
                        .terms_of(o)
                        .iter()
                        .map(|t| (h[t.tap as usize] * t.weight, g[t.tap as usize] * t.weight, t.row as usize));
                    analysis_group::<FMA, G>(taps, x, b, c0)
                };
                ca[o * b + c0..o * b + c0 + G].copy_from_slice(&aa);
                cd[o * b + c0..o * b + c0 + G].copy_from_slice(&ad);
            }
        }
    }

    #[inline(always)]
    fn transpose_body<const FMA: bool, const G: usize>(
        &self,
        h: &[f64],
        g: &[f64],
        ca: &[f64],
        cd: &[f64],
        b: usize,
        out: &mut [f64],
    ) {
        let (f, s) = (self.f, self.shift);
        for t0 in column_tiles(b) {
            let columns = (t0..(t0 + COLUMN_TILE).min(b)).step_by(G);
            let mut i = 0;
            while i < self.n {
                if self.plain_rows.contains(&i) && self.plain_rows.contains(&(i + 1)) && (i + s) % 2 == 0 {
                    // rows i (even taps) and i + 1 (odd taps) read the same
                    // outputs o = (i + s) / 2 - q: one load serves both rows,
                    // each summed in its own order (o ascending)
                    let top = (i + s) / 2;
                    for c0 in columns.clone() {
                        let (mut even, mut odd) = ([0.0f64; G], [0.0f64; G]);
                        for q in (0..f / 2).rev() {
                            let (we, wde, wo, wdo) = (h[2 * q], g[2 * q], h[2 * q + 1], g[2 * q + 1]);
                            let at = (top - q) * b + c0;
                            let ra: &[f64; G] = ca[at..at + G].try_into().expect("group");
                            let rd: &[f64; G] = cd[at..at + G].try_into().expect("group");
                            for k in 0..G {
                                even[k] = f64::madd::<FMA>(wde, rd[k], f64::madd::<FMA>(we, ra[k], even[k]));
                                odd[k] = f64::madd::<FMA>(wdo, rd[k], f64::madd::<FMA>(wo, ra[k], odd[k]));
                            }
                        }
                        out[i * b + c0..i * b + c0 + G].copy_from_slice(&even);
                        out[(i + 1) * b + c0..(i + 1) * b + c0 + G].copy_from_slice(&odd);
                    }
                    i += 2;
                    continue;
                }
                for c0 in columns.clone() {
                    let acc = if self.plain_rows.contains(&i) {
                        // taps of i's parity, outputs (i + s - m) / 2 ascending
                        let taps = ((i + s) % 2..f).step_by(2).rev().map(|m| (h[m], g[m], (i + s - m) / 2));
                        transpose_group::<FMA, G>(taps, ca, cd, b, c0)
                    } else {
                        let terms = &self.by_row[self.row_starts[i]..self.row_starts[i + 1]];
                        let taps = terms
                            .iter()
                            .map(|t| (h[t.tap as usize] * t.weight, g[t.tap as usize] * t.weight, t.row as usize));
                        transpose_group::<FMA, G>(taps, ca, cd, b, c0)
                    };
                    out[i * b + c0..i * b + c0 + G].copy_from_slice(&acc);
                }
                i += 1;
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
            for c0 in (0..b).step_by(VEC) {
                let at = o * b + c0;
                let lane = c0 % period;
                let ra: &[f64; VEC] = ga[at..at + VEC].try_into().expect("vector");
                let rd: &[f64; VEC] = gd[at..at + VEC].try_into().expect("vector");
                for t in terms {
                    let (m, w) = (t.tap as usize, t.weight);
                    let xa = t.row as usize * b + c0;
                    let xr: &[f64; VEC] = x[xa..xa + VEC].try_into().expect("vector");
                    let slot = m * period + lane;
                    let ah: &mut [f64; VEC] = (&mut acc_h[slot..slot + VEC]).try_into().expect("vector");
                    let ag: &mut [f64; VEC] = (&mut acc_g[slot..slot + VEC]).try_into().expect("vector");
                    for k in 0..VEC {
                        let wx = w * xr[k];
                        ah[k] = f64::madd::<false>(wx, ra[k], ah[k]);
                        ag[k] = f64::madd::<false>(wx, rd[k], ag[k]);
                    }
                }
            }
        }
        // plain outputs: blocks of taps summed over every output
        for c0 in (0..b).step_by(VEC) {
            let lane = c0 % period;
            let mut m0 = 0;
            while m0 < f {
                let k_len = (f - m0).min(TAP_BLOCK);
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
                            sh[k][i] = f64::madd::<false>(xr[i], ra[i], sh[k][i]);
                            sg[k][i] = f64::madd::<false>(xr[i], rd[i], sg[k][i]);
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
    /// (`b` a multiple of [`NARROW_GROUP`]).
    pub fn analysis(&self, h: &[f64], g: &[f64], x: &[f64], b: usize, ca: &mut [f64], cd: &mut [f64]) {
        assert!(b.is_multiple_of(NARROW_GROUP), "batch width {b} is not a multiple of {NARROW_GROUP}");
        assert!(x.len() == self.n * b && ca.len() == self.n_out * b && cd.len() == self.n_out * b, "stencil shapes");
        with_group!(b, G => {
            #[cfg(target_arch = "x86_64")]
            if has_avx2() {
                // SAFETY: the CPU supports AVX2 and FMA (checked at run time).
                return unsafe { analysis_avx2::<G>(self, h, g, x, b, ca, cd) };
            }
            self.analysis_body::<false, G>(h, g, x, b, ca, cd)
        })
    }

    /// The transpose of [`Stencil::analysis`]: `out` (`n x b`, overwritten)
    /// from `ca`, `cd` (`n_out x b`). This is pywt's synthesis when the
    /// stencil is built in the adjoint mode, and the input gradient of
    /// analysis otherwise.
    pub fn transpose(&self, h: &[f64], g: &[f64], ca: &[f64], cd: &[f64], b: usize, out: &mut [f64]) {
        assert!(b.is_multiple_of(NARROW_GROUP), "batch width {b} is not a multiple of {NARROW_GROUP}");
        assert!(out.len() == self.n * b && ca.len() == self.n_out * b && cd.len() == self.n_out * b, "stencil shapes");
        with_group!(b, G => {
            #[cfg(target_arch = "x86_64")]
            if has_avx2() {
                // SAFETY: the CPU supports AVX2 and FMA (checked at run time).
                return unsafe { transpose_avx2::<G>(self, h, g, ca, cd, b, out) };
            }
            self.transpose_body::<false, G>(h, g, ca, cd, b, out)
        })
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
        assert!(
            period.is_multiple_of(VEC) && b.is_multiple_of(period) && acc.len() == 2 * self.f * period,
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
unsafe fn analysis_avx2<const G: usize>(
    s: &Stencil,
    h: &[f64],
    g: &[f64],
    x: &[f64],
    b: usize,
    ca: &mut [f64],
    cd: &mut [f64],
) {
    s.analysis_body::<true, G>(h, g, x, b, ca, cd)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn transpose_avx2<const G: usize>(
    s: &Stencil,
    h: &[f64],
    g: &[f64],
    ca: &[f64],
    cd: &[f64],
    b: usize,
    out: &mut [f64],
) {
    s.transpose_body::<true, G>(h, g, ca, cd, b, out)
}

/// [`Stencil::filter_grad`] with AVX2 vectors of [`VEC`] columns: the same
/// sums per column as the portable body, with fused multiply-adds.
///
/// # Safety
/// The CPU has AVX2 and FMA, and the shapes are those checked by
/// [`Stencil::filter_grad`]: `x` is `n x b`, `ga`/`gd` are `n_out x b`,
/// `acc` is `2 f period`, `b` a multiple of `period` and of [`VEC`]. The
/// stencil's rows are below `n` and its taps below `f` by construction.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn filter_grad_avx2(s: &Stencil, x: &[f64], ga: &[f64], gd: &[f64], b: usize, period: usize, acc: &mut [f64]) {
    use std::arch::x86_64::{_mm256_fmadd_pd, _mm256_loadu_pd, _mm256_mul_pd, _mm256_set1_pd, _mm256_storeu_pd};
    let f = s.f;
    let (xp, ap, dp) = (x.as_ptr(), ga.as_ptr(), gd.as_ptr());
    let (hp, gp) = acc.split_at_mut(f * period);
    let (hp, gp) = (hp.as_mut_ptr(), gp.as_mut_ptr());
    // outputs that read the extension: term by term, sums in `acc`
    for o in (0..s.interior.start).chain(s.interior.end..s.n_out) {
        let terms = s.terms_of(o);
        for c0 in (0..b).step_by(VEC) {
            let lane = c0 % period;
            // SAFETY: every offset is inside its slice (see the function's contract).
            unsafe {
                let (ra, rd) = (_mm256_loadu_pd(ap.add(o * b + c0)), _mm256_loadu_pd(dp.add(o * b + c0)));
                for t in terms {
                    let slot = t.tap as usize * period + lane;
                    let wx = _mm256_mul_pd(_mm256_set1_pd(t.weight), _mm256_loadu_pd(xp.add(t.row as usize * b + c0)));
                    _mm256_storeu_pd(hp.add(slot), _mm256_fmadd_pd(wx, ra, _mm256_loadu_pd(hp.add(slot))));
                    _mm256_storeu_pd(gp.add(slot), _mm256_fmadd_pd(wx, rd, _mm256_loadu_pd(gp.add(slot))));
                }
            }
        }
    }
    // plain outputs: blocks of up to TAP_BLOCK taps summed over every output in registers
    if s.interior.is_empty() {
        return;
    }
    let walk = PlainWalk { x: xp, ga: ap, gd: dp, b, outputs: s.interior.clone(), shift: s.shift };
    for c0 in (0..b).step_by(VEC) {
        let lane = c0 % period;
        let mut m0 = 0;
        while m0 < f {
            let k = (f - m0).min(TAP_BLOCK);
            // SAFETY: as above; taps m0..m0+k are below f.
            unsafe {
                let (h, g) = (hp.add(m0 * period + lane), gp.add(m0 * period + lane));
                match k {
                    5 => walk.sums::<5>(c0, m0, period, h, g),
                    4 => walk.sums::<4>(c0, m0, period, h, g),
                    3 => walk.sums::<3>(c0, m0, period, h, g),
                    2 => walk.sums::<2>(c0, m0, period, h, g),
                    _ => walk.sums::<1>(c0, m0, period, h, g),
                }
            }
            m0 += k;
        }
    }
}

/// The plain outputs of a filter gradient, walked with pointers.
#[cfg(target_arch = "x86_64")]
struct PlainWalk {
    x: *const f64,
    ga: *const f64,
    gd: *const f64,
    b: usize,
    outputs: std::ops::Range<usize>,
    shift: usize,
}

#[cfg(target_arch = "x86_64")]
impl PlainWalk {
    /// Taps `m0 .. m0 + K` for the [`VEC`] columns from `c0`: `2K` vector
    /// sums over the plain outputs in registers, then added to the lanes at
    /// `h + k period` and `g + k period`.
    ///
    /// # Safety
    /// AVX2 and FMA; the contract of [`filter_grad_avx2`]; `h`, `g` point at
    /// the lanes of tap `m0`, and `m0 + K <= f`.
    #[target_feature(enable = "avx2,fma")]
    #[inline]
    unsafe fn sums<const K: usize>(&self, c0: usize, m0: usize, period: usize, h: *mut f64, g: *mut f64) {
        use std::arch::x86_64::{_mm256_add_pd, _mm256_fmadd_pd, _mm256_loadu_pd, _mm256_setzero_pd, _mm256_storeu_pd};
        let b = self.b;
        let (mut sh, mut sg) = ([_mm256_setzero_pd(); K], [_mm256_setzero_pd(); K]);
        let o0 = self.outputs.start;
        // pointers step by whole rows; wrapping, as the last step may leave the slice
        let (mut pa, mut pd) = (self.ga.wrapping_add(o0 * b + c0), self.gd.wrapping_add(o0 * b + c0));
        let mut px = self.x.wrapping_add((2 * o0 + m0 - self.shift) * b + c0);
        for _ in self.outputs.clone() {
            // SAFETY: rows o and 2o + m - shift of the plain outputs are inside the slices.
            unsafe {
                let (ra, rd) = (_mm256_loadu_pd(pa), _mm256_loadu_pd(pd));
                for k in 0..K {
                    let xr = _mm256_loadu_pd(px.add(k * b));
                    sh[k] = _mm256_fmadd_pd(xr, ra, sh[k]);
                    sg[k] = _mm256_fmadd_pd(xr, rd, sg[k]);
                }
            }
            (pa, pd, px) = (pa.wrapping_add(b), pd.wrapping_add(b), px.wrapping_add(2 * b));
        }
        for k in 0..K {
            // SAFETY: lanes of taps m0 + k < f.
            unsafe {
                let (hk, gk) = (h.add(k * period), g.add(k * period));
                _mm256_storeu_pd(hk, _mm256_add_pd(_mm256_loadu_pd(hk), sh[k]));
                _mm256_storeu_pd(gk, _mm256_add_pd(_mm256_loadu_pd(gk), sg[k]));
            }
        }
    }
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
        for (mode, b) in Mode::ALL.into_iter().flat_map(|m| [(m, GROUP), (m, NARROW_GROUP), (m, 3 * NARROW_GROUP)]) {
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
                for (n, period, b) in
                    [(5usize, GROUP, GROUP), (40, GROUP, 3 * GROUP), (33, 2 * GROUP, 2 * GROUP), (40, 8, 24)]
                {
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
/// Throughput of the three kernels on the 2-D tape's shapes (an image axis
/// of 64 across 65 columns of 16 images, one image row of 16 images, level
/// 2), in multiply-adds per second on one thread. A benchmark, not a test:
/// `cargo test --release -p awd-core --lib kernel_throughput -- --ignored
/// --nocapture`; it asserts nothing.
#[cfg(test)]
mod throughput {
    use super::*;

    #[test]
    #[ignore]
    fn kernel_throughput() {
        let f = 10;
        let h: Vec<f64> = (0..f).map(|i| 0.1 * i as f64 - 0.3).collect();
        let g: Vec<f64> = (0..f).map(|i| 0.07 * i as f64 + 0.1).collect();
        for (n, b, reps) in [(64usize, 1040usize, 400usize), (64, 16, 20000), (36, 592, 1000)] {
            let st = Stencil::new(n, f, Mode::Zero);
            let x: Vec<f64> = (0..n * b).map(|i| (i % 17) as f64 * 0.01).collect();
            let (mut ca, mut cd) = (vec![0.0; st.n_out * b], vec![0.0; st.n_out * b]);
            let mut acc = vec![0.0; 2 * f * GROUP];
            let mut out = vec![0.0; n * b];
            let madds = (st.n_out * b * 2 * f * reps) as f64;
            let rate = |run: &mut dyn FnMut()| {
                let t = std::time::Instant::now();
                (0..reps).for_each(|_| run());
                madds / t.elapsed().as_secs_f64() / 1e9
            };
            let a = rate(&mut || st.analysis(&h, &g, &x, b, &mut ca, &mut cd));
            let t = rate(&mut || st.transpose(&h, &g, &ca, &cd, b, &mut out));
            let fg = rate(&mut || st.filter_grad(&x, &ca, &cd, b, GROUP, &mut acc));
            println!("n={n} columns={b}: analysis {a:.1}, transpose {t:.1}, filter gradient {fg:.1} G multiply-adds/s");
        }
    }
}
