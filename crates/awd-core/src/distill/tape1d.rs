//! A chunk of signals through the 1-D objective: forward (coefficients,
//! reconstruction, attributions) and reverse mode (gradient with respect to
//! the filters). Signals are stored as columns (time along axis 0), so every
//! kernel call serves the whole chunk and its inner loops run across signals.
//!
//! Chains, with `J` levels, `a_0 = x`:
//! * analysis: `(a_j, d_j) = An(a_{j-1})` in the fit's mode;
//! * synthesis: `r_J = a_J`, `r_{j-1} = Syn(r_j[..len d_j], d_j)`, `xhat = r_0[..n]`;
//! * attribution (the adjoint of synthesis): `v_0 = G` zero-padded to
//!   `len r_0`, `(p_j, q_j) = An*(v_{j-1})`, `v_j = p_j` zero-padded to
//!   `len r_j`; the attributions are `q_j` (details) and `v_J` (approximation).
//!
//! `An*` is analysis in [`adjoint_mode`]; synthesis is its transpose. With
//! time along axis 0, cropping and zero-padding along time are prefixes.

use super::objective::{col_sums, col_sums2, sign, SampleSums, Scales};
use crate::dwt::adjoint::adjoint_mode;
use crate::dwt::kernel::Taps;
use crate::dwt::len::{dwt_coeff_len, idwt_output_len, max_useful_level};
use crate::dwt::stencil::Stencil;
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
    /// Stencil of analysis level `j` (index `j - 1`).
    analysis: Vec<Stencil>,
    /// Stencil of the adjoint-mode analysis whose transpose is synthesis
    /// level `j` (index `j - 1`).
    adjoint: Vec<Stencil>,
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
        let max = max_useful_level(n, f, mode);
        if levels > max {
            return Err(Error::InvalidArgument {
                reason: format!(
                    "{levels} levels are too many for {n}-sample signals with a {f}-tap filter in {mode} mode: \
                     beyond level {max} the approximation no longer shrinks; use {max} levels or fewer"
                ),
            });
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
        let analysis = (1..=levels).map(|j| Stencil::new(lens[j - 1], f, mode)).collect();
        let adjoint = (1..=levels).map(|j| Stencil::new(rlens[j - 1], f, adjoint_mode(mode))).collect();
        Ok(Layout1d { n, levels, mode, f, lens, rlens, analysis, adjoint })
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

fn bufs(n: usize) -> Vec<Vec<f64>> {
    (0..n).map(|_| Vec::new()).collect()
}

/// Resize `v` to `len` (contents are overwritten by the caller).
fn sized(v: &mut Vec<f64>, len: usize) -> &mut [f64] {
    v.resize(len, 0.0);
    &mut v[..len]
}

/// Buffers of one chunk's forward and reverse passes (`rows x b`, row-major).
pub(crate) struct Tape1d {
    pub layout: Layout1d,
    b: usize,
    x: Vec<f64>,
    g: Vec<f64>,
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
    /// The last chunk's sums, one lane per signal.
    pub sums: SampleSums,
}

impl Tape1d {
    pub fn new(layout: &Layout1d) -> Self {
        let n = layout.levels + 1;
        Tape1d {
            layout: layout.clone(),
            b: 0,
            x: Vec::new(),
            g: Vec::new(),
            a: bufs(n),
            d: bufs(n),
            r: bufs(n),
            v: bufs(n),
            q: bufs(n),
            ga: bufs(n),
            gd: bufs(n),
            gr: bufs(n),
            gv: bufs(n),
            gq: bufs(n),
            tmp: Vec::new(),
            sums: SampleSums::default(),
        }
    }

    /// Load the chunk's signals (and gradients) as columns; `G` is padded to
    /// the reconstruction length. The column count is rounded up to whole
    /// SIMD vectors with zero signals, which add nothing to any sum or
    /// gradient (their coefficients, errors and attributions are all zero).
    fn load(&mut self, xs: &[&[f64]], gs: Option<&[&[f64]]>) {
        let (n, b) = (self.layout.n, xs.len().next_multiple_of(crate::dwt::stencil::NARROW_GROUP));
        self.b = b;
        let x = sized(&mut self.x, n * b);
        x.fill(0.0);
        for (c, row) in xs.iter().enumerate() {
            for (t, &v) in row.iter().enumerate() {
                x[t * b + c] = v;
            }
        }
        if let Some(gs) = gs {
            let rows = self.layout.rlens[0];
            let g = sized(&mut self.g, rows * b);
            g.fill(0.0);
            for (c, row) in gs.iter().enumerate() {
                for (t, &v) in row.iter().enumerate() {
                    g[t * b + c] = v;
                }
            }
        }
    }

    /// Forward analysis chain into `a`, `d`.
    fn analyse(&mut self, taps: &Taps) {
        let (jm, b) = (self.layout.levels, self.b);
        let (h, g) = (&taps.rec[0], &taps.rec[1]);
        for j in 1..=jm {
            let rows_out = self.layout.lens[j];
            let (prev, next) = self.a.split_at_mut(j);
            let input: &[f64] = if j == 1 { &self.x } else { &prev[j - 1] };
            let aj = sized(&mut next[0], rows_out * b);
            let dj = sized(&mut self.d[j], rows_out * b);
            self.layout.analysis[j - 1].analysis(h, g, input, b, aj, dj);
        }
    }

    /// Attribution chain (`A^T G`) into `v`, `q`.
    fn adjoint(&mut self, taps: &Taps) {
        let (jm, b) = (self.layout.levels, self.b);
        let (h, g) = (&taps.rec[0], &taps.rec[1]);
        for j in 1..=jm {
            let (len, rlen) = (self.layout.lens[j], self.layout.rlens[j]);
            let (prev, next) = self.v.split_at_mut(j);
            let input: &[f64] = if j == 1 { &self.g } else { &prev[j - 1] };
            let vj = sized(&mut next[0], rlen * b);
            let qj = sized(&mut self.q[j], len * b);
            self.layout.adjoint[j - 1].analysis(h, g, input, b, &mut vj[..len * b], qj);
            vj[len * b..].fill(0.0);
        }
    }

    /// The arrays in pywt order as `(coefficients, adjoint values)`, each
    /// `len x b`.
    fn arrays(&self) -> Vec<(&[f64], &[f64])> {
        let jm = self.layout.levels;
        let mut v: Vec<(&[f64], &[f64])> = vec![(&self.a[jm], &self.v[jm])];
        for j in (1..=jm).rev() {
            v.push((&self.d[j], &self.q[j]));
        }
        v
    }

    /// Forward passes only, then copy sample `c`'s coefficients and
    /// attributions (pywt order) into `coeffs[c]` / `attrs[c]`.
    pub fn forward_into(
        &mut self,
        taps: &Taps,
        xs: &[&[f64]],
        gs: Option<&[&[f64]]>,
        tc: bool,
        coeffs: &mut [Vec<f64>],
        attrs: Option<&mut [Vec<f64>]>,
    ) {
        self.load(xs, gs);
        self.analyse(taps);
        let has_g = gs.is_some();
        if has_g {
            self.adjoint(taps);
        }
        let b = self.b;
        let mut attrs = attrs;
        for c in 0..xs.len() {
            let mut at = 0;
            for (cf, adj) in self.arrays() {
                let len = cf.len() / b;
                for t in 0..len {
                    coeffs[c][at + t] = cf[t * b + c];
                    if let (true, Some(a)) = (has_g, attrs.as_deref_mut()) {
                        a[c][at + t] = if tc { cf[t * b + c] * adj[t * b + c] } else { adj[t * b + c] };
                    }
                }
                at += len;
            }
        }
    }

    /// One chunk: per-signal loss sums and, when `scales` is given, filter
    /// gradients, into `sums`.
    pub fn chunk(&mut self, taps: &Taps, xs: &[&[f64]], gs: Option<&[&[f64]]>, tc: bool, scales: Option<&Scales>) {
        self.load(xs, gs);
        let (jm, n, b) = (self.layout.levels, self.layout.n, self.b);
        self.sums.reset(b, self.layout.f);
        let (h, g) = (&taps.rec[0][..], &taps.rec[1][..]);
        self.analyse(taps);
        // synthesis: r_J = a_J (read from `a`), r_{j-1} = Syn(r_j[..len d_j], d_j)
        for j in (1..=jm).rev() {
            let len = self.layout.lens[j];
            let (lo, hi) = self.r.split_at_mut(j);
            let rj: &[f64] = if j == jm { &self.a[jm] } else { &hi[0][..len * b] };
            let out = sized(&mut lo[j - 1], self.layout.rlens[j - 1] * b);
            self.layout.adjoint[j - 1].transpose(h, g, rj, &self.d[j], b, out);
        }
        let mut sums = std::mem::take(&mut self.sums);
        col_sums2(&self.x, &self.r[0][..n * b], b, &mut sums.squared_error, |x, r| (x - r) * (x - r));
        for (c, _) in self.arrays() {
            col_sums(c, b, &mut sums.abs_coefficients, f64::abs);
        }
        if gs.is_some() {
            self.adjoint(taps);
            for (c, q) in self.arrays() {
                if tc {
                    col_sums2(c, q, b, &mut sums.abs_attributions, |c, q| (c * q).abs());
                } else {
                    col_sums(q, b, &mut sums.abs_attributions, f64::abs);
                }
            }
        }
        self.sums = sums;
        let Some(sc) = scales else { return };
        let acc = &mut self.sums.filter_grad;

        // --- reverse mode ---
        for j in 1..=jm {
            let len = self.layout.lens[j] * b;
            let gd = sized(&mut self.gd[j], len);
            for (g, &c) in gd.iter_mut().zip(&self.d[j]) {
                *g = sc.l1c * sign(c);
            }
        }
        {
            let len = self.layout.lens[jm] * b;
            let ga = sized(&mut self.ga[jm], len);
            for (g, &c) in ga.iter_mut().zip(&self.a[jm]) {
                *g = sc.l1c * sign(c);
            }
        }
        // reconstruction: d/d r_0 = -2 (x - xhat) / B on the first n rows
        {
            let rows = self.layout.rlens[0];
            let gr0 = sized(&mut self.gr[0], rows * b);
            for (i, g0) in gr0.iter_mut().enumerate() {
                *g0 = if i < n * b { -2.0 * sc.recon * (self.x[i] - self.r[0][i]) } else { 0.0 };
            }
        }
        for j in 1..=jm {
            let (len, rlen) = (self.layout.lens[j], self.layout.rlens[j]);
            let st = &self.layout.adjoint[j - 1];
            let (lo, hi) = self.gr.split_at_mut(j);
            let gout = &lo[j - 1];
            let grj = sized(&mut hi[0], rlen * b);
            let tmp = sized(&mut self.tmp, len * b);
            st.analysis(h, g, gout, b, &mut grj[..len * b], tmp);
            grj[len * b..].fill(0.0);
            for (gd, &t) in self.gd[j].iter_mut().zip(tmp.iter()) {
                *gd += t;
            }
            let rj: &[f64] = if j == jm { &self.a[jm] } else { &self.r[j][..len * b] };
            st.filter_grad(gout, rj, &self.d[j], b, b, acc);
        }
        for (ga, &g) in self.ga[jm].iter_mut().zip(&self.gr[jm]) {
            *ga += g;
        }
        // attribution penalty through the adjoint chain
        if gs.is_some() && sc.l1a != 0.0 {
            // upstream on the attribution arrays; x-gradient kinds split it
            // between the adjoint values and the coefficients
            let upstream = |c: &[f64], q: &[f64], gq: &mut Vec<f64>, gc: &mut [f64]| {
                let gq = sized(gq, q.len());
                for i in 0..q.len() {
                    let (cv, qv) = (c[i], q[i]);
                    let u = sc.l1a * sign(if tc { cv * qv } else { qv });
                    gq[i] = if tc { u * cv } else { u };
                    if tc {
                        gc[i] += u * qv;
                    }
                }
            };
            upstream(&self.a[jm], &self.v[jm], &mut self.gv[jm], &mut self.ga[jm]);
            for j in 1..=jm {
                upstream(&self.d[j], &self.q[j], &mut self.gq[j], &mut self.gd[j]);
            }
            for j in (1..=jm).rev() {
                let (len, rows_in) = (self.layout.lens[j], self.layout.rlens[j - 1]);
                let st = &self.layout.adjoint[j - 1];
                let (lo, hi) = self.gv.split_at_mut(j);
                let gp = &hi[0][..len * b];
                let vin: &[f64] = if j == 1 { &self.g } else { &self.v[j - 1] };
                st.filter_grad(vin, gp, &self.gq[j], b, b, acc);
                if j > 1 {
                    let gx = sized(&mut lo[j - 1], rows_in * b);
                    st.transpose(h, g, gp, &self.gq[j], b, gx);
                }
            }
        }
        // analysis chain
        for j in (1..=jm).rev() {
            let rows_in = self.layout.lens[j - 1];
            let st = &self.layout.analysis[j - 1];
            let (lo, hi) = self.ga.split_at_mut(j);
            let g_a = &hi[0];
            let input: &[f64] = if j == 1 { &self.x } else { &self.a[j - 1] };
            st.filter_grad(input, g_a, &self.gd[j], b, b, acc);
            if j > 1 {
                let gx = sized(&mut lo[j - 1], rows_in * b);
                st.transpose(h, g, g_a, &self.gd[j], b, gx);
            }
        }
    }
}
