//! One signal through the 1-D objective: forward (coefficients,
//! reconstruction, attributions) and reverse mode (gradient with respect to
//! the filters), on buffers reused from signal to signal.
//!
//! Chains, with `J` levels, `a_0 = x`:
//! * analysis: `(a_j, d_j) = An(a_{j-1})` in the fit's mode;
//! * synthesis: `r_J = a_J`, `r_{j-1} = Syn(r_j[..len d_j], d_j)`, `xhat = r_0[..n]`;
//! * attribution (the adjoint of synthesis): `v_0 = G` zero-padded to
//!   `len r_0`, `(p_j, q_j) = An*(v_{j-1})`, `v_j = p_j` zero-padded to
//!   `len r_j`; the attributions are `q_j` (details) and `v_J` (approximation).
//!
//! `An*` is analysis in [`adjoint_mode`]; synthesis is its transpose.

use super::objective::{sign, RawSums, Scales};
use crate::dwt::adjoint::{adjoint_mode, analysis_filter_grad_row, analysis_input_grad_row};
use crate::dwt::kernel::{analysis_row, as_out, synthesis_row, Taps};
use crate::dwt::len::{dwt_coeff_len, idwt_output_len};
use crate::error::{Error, Result};
use crate::Mode;

/// Lengths of every array of the chains for one signal length.
#[derive(Debug, Clone, PartialEq)]
pub struct Layout1d {
    /// Signal length `n`.
    pub n: usize,
    /// Levels `J >= 1`.
    pub levels: usize,
    /// Mode of the transform.
    pub mode: Mode,
    /// Filter length `F`.
    pub f: usize,
    /// `len a_j` (= `len d_j` for `j >= 1`), `j = 0..=J`.
    pub lens: Vec<usize>,
    /// `len r_j`, `j = 0..=J`.
    pub rlens: Vec<usize>,
}

impl Layout1d {
    /// Lengths for signals of `n` samples, an `f`-tap filter, `levels` levels.
    pub fn new(n: usize, f: usize, mode: Mode, levels: usize) -> Result<Self> {
        if levels == 0 {
            return Err(Error::InvalidArgument { reason: "levels must be at least 1".into() });
        }
        if n == 0 {
            return Err(Error::TooShort { reason: "the signals are empty".into() });
        }
        let mut lens = vec![n];
        for j in 0..levels {
            if mode == Mode::Reflect && lens[j] < 2 {
                return Err(Error::TooShort {
                    reason: format!("reflect mode needs at least 2 samples, but level {} gets {}", j + 1, lens[j]),
                });
            }
            lens.push(dwt_coeff_len(lens[j], f, mode));
        }
        let mut rlens = vec![0; levels + 1];
        rlens[levels] = lens[levels];
        for j in (1..=levels).rev() {
            rlens[j - 1] = idwt_output_len(lens[j], f, mode).expect("analysis lengths always reconstruct");
        }
        Ok(Layout1d { n, levels, mode, f, lens, rlens })
    }

    /// Coefficient lengths in pywt order `[cA_J, cD_J, ..., cD_1]`.
    pub fn coeff_lens(&self) -> Vec<usize> {
        let mut v = vec![self.lens[self.levels]];
        v.extend((1..=self.levels).rev().map(|j| self.lens[j]));
        v
    }

    /// Total coefficients per signal.
    pub fn coeff_total(&self) -> usize {
        self.coeff_lens().iter().sum()
    }
}

fn bufs(lens: impl Iterator<Item = usize>) -> Vec<Vec<f64>> {
    lens.map(|l| vec![0.0; l]).collect()
}

/// Buffers of one signal's forward and reverse passes.
pub(crate) struct Tape1d {
    pub layout: Layout1d,
    a: Vec<Vec<f64>>,
    d: Vec<Vec<f64>>,
    r: Vec<Vec<f64>>,
    v: Vec<Vec<f64>>,
    q: Vec<Vec<f64>>,
    ga: Vec<Vec<f64>>,
    gd: Vec<Vec<f64>>,
    gr: Vec<Vec<f64>>,
    gv: Vec<Vec<f64>>,
    gq: Vec<Vec<f64>>,
    tmp: Vec<f64>,
    /// Accumulated `dL/d rec_lo`.
    pub gh: Vec<f64>,
    /// Accumulated `dL/d rec_hi`.
    pub gg: Vec<f64>,
    /// Accumulated raw sums.
    pub sums: RawSums,
}

impl Tape1d {
    pub fn new(layout: &Layout1d) -> Self {
        let (l, r) = (&layout.lens, &layout.rlens);
        Tape1d {
            a: bufs(l.iter().copied()),
            d: bufs(l.iter().copied()),
            r: bufs(r.iter().copied()),
            v: bufs(r.iter().copied()),
            q: bufs(l.iter().copied()),
            ga: bufs(l.iter().copied()),
            gd: bufs(l.iter().copied()),
            gr: bufs(r.iter().copied()),
            gv: bufs(r.iter().copied()),
            gq: bufs(l.iter().copied()),
            tmp: vec![0.0; *l.iter().max().expect("levels")],
            gh: vec![0.0; layout.f],
            gg: vec![0.0; layout.f],
            sums: RawSums::default(),
            layout: layout.clone(),
        }
    }

    /// Reset the accumulators.
    pub fn clear(&mut self) {
        self.gh.fill(0.0);
        self.gg.fill(0.0);
        self.sums = RawSums::default();
    }

    /// Forward analysis chain of `x` into `a`, `d`.
    fn analyse(&mut self, taps: &Taps, x: &[f64]) {
        let (j_max, mode) = (self.layout.levels, self.layout.mode);
        self.a[0].copy_from_slice(x);
        for j in 1..=j_max {
            let (prev, next) = self.a.split_at_mut(j);
            analysis_row(&prev[j - 1], taps, mode, as_out(&mut next[0]), as_out(&mut self.d[j]));
        }
    }

    /// Attribution chain (`A^T G`) into `v`, `q`.
    fn adjoint(&mut self, taps: &Taps, g: &[f64]) {
        let (j_max, amode) = (self.layout.levels, adjoint_mode(self.layout.mode));
        let v0 = &mut self.v[0];
        v0[..g.len()].copy_from_slice(g);
        v0[g.len()..].fill(0.0);
        for j in 1..=j_max {
            let len = self.layout.lens[j];
            let (prev, next) = self.v.split_at_mut(j);
            let vj = &mut next[0];
            analysis_row(&prev[j - 1], taps, amode, as_out(&mut vj[..len]), as_out(&mut self.q[j]));
            vj[len..].fill(0.0);
        }
    }

    /// Attribution of array `j` (0 = approximation `a_J`, else detail `d_j`)
    /// at index `i`, of the given kind.
    #[inline]
    fn attribution_at(&self, times_coeffs: bool, j: usize, i: usize) -> f64 {
        let jm = self.layout.levels;
        let (adj, c) = if j == 0 { (self.v[jm][i], self.a[jm][i]) } else { (self.q[j][i], self.d[j][i]) };
        if times_coeffs {
            adj * c
        } else {
            adj
        }
    }

    /// Coefficients in pywt order into `out` (length `coeff_total`).
    pub fn write_coefficients(&self, out: &mut [f64]) {
        let jm = self.layout.levels;
        let mut at = 0;
        for arr in std::iter::once(&self.a[jm]).chain((1..=jm).rev().map(|j| &self.d[j])) {
            out[at..at + arr.len()].copy_from_slice(arr);
            at += arr.len();
        }
    }

    /// Attributions in pywt order into `out` (after `row` with a gradient).
    pub fn write_attributions(&self, times_coeffs: bool, out: &mut [f64]) {
        let jm = self.layout.levels;
        let mut at = 0;
        for j in std::iter::once(0).chain((1..=jm).rev()) {
            let len = self.layout.lens[if j == 0 { jm } else { j }];
            for i in 0..len {
                out[at + i] = self.attribution_at(times_coeffs, j, i);
            }
            at += len;
        }
    }

    /// Forward passes only (for attribution maps and evaluation).
    pub fn forward(&mut self, taps: &Taps, x: &[f64], g: Option<&[f64]>) {
        self.analyse(taps, x);
        if let Some(g) = g {
            self.adjoint(taps, g);
        }
    }

    /// One signal: loss sums, and (when `scales` is given) the filter gradient
    /// accumulated into `gh`, `gg`.
    pub fn row(&mut self, taps: &Taps, x: &[f64], g: Option<&[f64]>, times_coeffs: bool, scales: Option<&Scales>) {
        let lay = self.layout.clone();
        let (jm, mode, amode) = (lay.levels, lay.mode, adjoint_mode(lay.mode));
        self.analyse(taps, x);
        // synthesis: r_J = a_J, r_{j-1} = Syn(r_j[..len d_j], d_j)
        self.r[jm].copy_from_slice(&self.a[jm]);
        for j in (1..=jm).rev() {
            let (lo, hi) = self.r.split_at_mut(j);
            synthesis_row(&hi[0][..lay.lens[j]], &self.d[j], taps, mode, as_out(&mut lo[j - 1]));
        }
        let mut sq = 0.0;
        for (xi, ri) in x.iter().zip(&self.r[0]) {
            sq += (xi - ri) * (xi - ri);
        }
        let mut abs_c: f64 = self.a[jm].iter().map(|v| v.abs()).sum();
        for j in 1..=jm {
            abs_c += self.d[j].iter().map(|v| v.abs()).sum::<f64>();
        }
        let mut abs_a = 0.0;
        if let Some(g) = g {
            self.adjoint(taps, g);
            for j in std::iter::once(0).chain(1..=jm) {
                let len = lay.lens[if j == 0 { jm } else { j }];
                abs_a += (0..len).map(|i| self.attribution_at(times_coeffs, j, i).abs()).sum::<f64>();
            }
        }
        self.sums.squared_error += sq;
        self.sums.abs_coefficients += abs_c;
        self.sums.abs_attributions += abs_a;
        let Some(sc) = scales else { return };

        // --- reverse mode ---
        // coefficient gradients from the L1 penalty
        for j in 1..=jm {
            for (gd, &c) in self.gd[j].iter_mut().zip(&self.d[j]) {
                *gd = sc.l1c * sign(c);
            }
        }
        for (ga, &c) in self.ga[jm].iter_mut().zip(&self.a[jm]) {
            *ga = sc.l1c * sign(c);
        }
        // reconstruction: d/d r_0 = -2 (x - xhat) / B on the first n samples
        let gr0 = &mut self.gr[0];
        for (i, g0) in gr0.iter_mut().enumerate() {
            *g0 = if i < lay.n { -2.0 * sc.recon * (x[i] - self.r[0][i]) } else { 0.0 };
        }
        for j in 1..=jm {
            let len = lay.lens[j];
            let (lo, hi) = self.gr.split_at_mut(j);
            let (gout, grj) = (&lo[j - 1], &mut hi[0]);
            let tmp = &mut self.tmp[..len];
            analysis_row(gout, taps, amode, as_out(&mut grj[..len]), as_out(tmp));
            grj[len..].fill(0.0);
            for (gd, &t) in self.gd[j].iter_mut().zip(tmp.iter()) {
                *gd += t;
            }
            analysis_filter_grad_row(gout, taps, amode, &self.r[j][..len], &self.d[j], &mut self.gh, &mut self.gg);
        }
        for (ga, &g) in self.ga[jm].iter_mut().zip(&self.gr[jm]) {
            *ga += g;
        }
        // attribution penalty through the adjoint chain
        if g.is_some() && sc.l1a != 0.0 {
            // upstream on the attribution arrays; for x-gradient kinds, split
            // between the adjoint values and the coefficients
            for j in std::iter::once(0).chain(1..=jm) {
                let len = lay.lens[if j == 0 { jm } else { j }];
                for i in 0..len {
                    let u = sc.l1a * sign(self.attribution_at(times_coeffs, j, i));
                    let (adj_grad, coeff_grad) = if times_coeffs {
                        let (adj, c) = if j == 0 { (self.v[jm][i], self.a[jm][i]) } else { (self.q[j][i], self.d[j][i]) };
                        (u * c, u * adj)
                    } else {
                        (u, 0.0)
                    };
                    if j == 0 {
                        self.gv[jm][i] = adj_grad;
                        self.ga[jm][i] += coeff_grad;
                    } else {
                        self.gq[j][i] = adj_grad;
                        self.gd[j][i] += coeff_grad;
                    }
                }
            }
            for j in (1..=jm).rev() {
                let len = lay.lens[j];
                let (lo, hi) = self.gv.split_at_mut(j);
                let gp = &hi[0][..len];
                analysis_filter_grad_row(&self.v[j - 1], taps, amode, gp, &self.gq[j], &mut self.gh, &mut self.gg);
                if j > 1 {
                    analysis_input_grad_row(gp, &self.gq[j], taps, amode, &mut lo[j - 1]);
                }
            }
        }
        // analysis chain
        for j in (1..=jm).rev() {
            let (lo, hi) = self.ga.split_at_mut(j);
            let g_a = &hi[0];
            analysis_filter_grad_row(&self.a[j - 1], taps, mode, g_a, &self.gd[j], &mut self.gh, &mut self.gg);
            if j > 1 {
                analysis_input_grad_row(g_a, &self.gd[j], taps, mode, &mut lo[j - 1]);
            }
        }
    }
}
