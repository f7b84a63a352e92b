//! One image through the 2-D objective (separable transform, pywt's axis
//! order), forward and reverse. Same chains as [`super::tape1d`], with each
//! 1-D step replaced by its separable pair:
//! * analysis level `j`: columns `A_{j-1} -> (L, H)`, then rows
//!   `L -> (A_j, cV_j)`, `H -> (cH_j, cD_j)`;
//! * synthesis level `j`: `r_j` cropped to `A_j`'s shape, rows
//!   `(r_j, cV_j) -> Ar`, `(cH_j, cD_j) -> Dr`, then columns `(Ar, Dr) -> r_{j-1}`;
//! * attribution level `j`: the transpose of synthesis level `j`.

use super::mat::{an_cols, an_cols_back, an_rows, an_rows_back, syn_cols, syn_rows, Mat, Transposes};
use super::objective::{sign, RawSums, Scales};
use crate::dwt::adjoint::adjoint_mode;
use crate::dwt::kernel::Taps;
use crate::dwt::len::{dwt_coeff_len, idwt_output_len, max_useful_level};
use crate::error::{Error, Result};
use crate::Mode;

/// Shapes of every array of the chains for one image shape.
#[derive(Debug, Clone, PartialEq)]
pub struct Layout2d {
    /// Image `(rows, cols)`.
    pub image: (usize, usize),
    /// Levels `J >= 1`.
    pub levels: usize,
    /// Mode of the transform.
    pub mode: Mode,
    /// Filter length.
    pub f: usize,
    /// Shape of `A_j` (= of the level-`j` details), `j = 0..=J`.
    pub shapes: Vec<(usize, usize)>,
    /// Shape of `r_j`, `j = 0..=J`.
    pub rshapes: Vec<(usize, usize)>,
}

impl Layout2d {
    /// Shapes for `image`-shaped inputs.
    pub fn new(image: (usize, usize), f: usize, mode: Mode, levels: usize) -> Result<Self> {
        if levels == 0 {
            return Err(Error::InvalidArgument { reason: "levels must be at least 1".into() });
        }
        if image.0 == 0 || image.1 == 0 {
            return Err(Error::TooShort { reason: format!("the images are empty ({}x{})", image.0, image.1) });
        }
        let side = image.0.min(image.1);
        let max = max_useful_level(side, f, mode);
        if levels > max {
            return Err(Error::InvalidArgument {
                reason: format!(
                    "{levels} levels are too many for {}x{} images with a {f}-tap filter in {mode} mode: \
                     beyond level {max} the approximation no longer shrinks; use {max} levels or fewer",
                    image.0, image.1
                ),
            });
        }
        let mut shapes = vec![image];
        for j in 0..levels {
            let (h, w) = shapes[j];
            if mode == Mode::Reflect && (h < 2 || w < 2) {
                return Err(Error::TooShort {
                    reason: format!("reflect mode needs at least 2 samples per axis, but level {} gets {h}x{w}", j + 1),
                });
            }
            shapes.push((dwt_coeff_len(h, f, mode), dwt_coeff_len(w, f, mode)));
        }
        let mut rshapes = vec![(0, 0); levels + 1];
        rshapes[levels] = shapes[levels];
        for j in (1..=levels).rev() {
            let (h, w) = shapes[j];
            let rec = |n| idwt_output_len(n, f, mode).expect("analysis lengths always reconstruct");
            rshapes[j - 1] = (rec(h), rec(w));
        }
        Ok(Layout2d { image, levels, mode, f, shapes, rshapes })
    }

    /// Coefficients per image: `cA_J` and three detail arrays per level.
    pub fn coeff_total(&self) -> usize {
        let (h, w) = self.shapes[self.levels];
        h * w + (1..=self.levels).map(|j| 3 * self.shapes[j].0 * self.shapes[j].1).sum::<usize>()
    }
}

fn mats(n: usize) -> Vec<Mat> {
    (0..n).map(|_| Mat::default()).collect()
}

/// Buffers of one image's passes.
pub(crate) struct Tape2d {
    layout: Layout2d,
    t: Transposes,
    // analysis
    a: Vec<Mat>,
    lc: Vec<Mat>,
    hc: Vec<Mat>,
    ch: Vec<Mat>,
    cv: Vec<Mat>,
    cd: Vec<Mat>,
    // synthesis
    r: Vec<Mat>,
    rc: Vec<Mat>,
    ar: Vec<Mat>,
    dr: Vec<Mat>,
    // attribution
    v: Vec<Mat>,
    va: Vec<Mat>,
    vd: Vec<Mat>,
    p: Vec<Mat>,
    qh: Vec<Mat>,
    qv: Vec<Mat>,
    qd: Vec<Mat>,
    // gradients
    ga: Vec<Mat>,
    gch: Vec<Mat>,
    gcv: Vec<Mat>,
    gcd: Vec<Mat>,
    gr: Vec<Mat>,
    gv: Vec<Mat>,
    gqh: Vec<Mat>,
    gqv: Vec<Mat>,
    gqd: Vec<Mat>,
    tmp: [Mat; 4],
    /// Accumulated `dL/d rec_lo`.
    pub gh: Vec<f64>,
    /// Accumulated `dL/d rec_hi`.
    pub gg: Vec<f64>,
    /// Accumulated raw sums.
    pub sums: RawSums,
}

impl Tape2d {
    pub fn new(layout: &Layout2d) -> Self {
        let n = layout.levels + 1;
        Tape2d {
            layout: layout.clone(),
            t: Transposes::default(),
            a: mats(n),
            lc: mats(n),
            hc: mats(n),
            ch: mats(n),
            cv: mats(n),
            cd: mats(n),
            r: mats(n),
            rc: mats(n),
            ar: mats(n),
            dr: mats(n),
            v: mats(n),
            va: mats(n),
            vd: mats(n),
            p: mats(n),
            qh: mats(n),
            qv: mats(n),
            qd: mats(n),
            ga: mats(n),
            gch: mats(n),
            gcv: mats(n),
            gcd: mats(n),
            gr: mats(n),
            gv: mats(n),
            gqh: mats(n),
            gqv: mats(n),
            gqd: mats(n),
            tmp: Default::default(),
            gh: vec![0.0; layout.f],
            gg: vec![0.0; layout.f],
            sums: RawSums::default(),
        }
    }

    /// Reset the accumulators.
    pub fn clear(&mut self) {
        self.gh.fill(0.0);
        self.gg.fill(0.0);
        self.sums = RawSums::default();
    }

    fn analyse(&mut self, taps: &Taps, x: &[f64]) {
        let (jm, mode) = (self.layout.levels, self.layout.mode);
        let (h, w) = self.layout.image;
        self.a[0] = Mat { data: x.to_vec(), rows: h, cols: w };
        for j in 1..=jm {
            let (prev, next) = self.a.split_at_mut(j);
            an_cols(taps, mode, &prev[j - 1], &mut self.lc[j], &mut self.hc[j], &mut self.t);
            an_rows(taps, mode, &self.lc[j], &mut next[0], &mut self.cv[j]);
            an_rows(taps, mode, &self.hc[j], &mut self.ch[j], &mut self.cd[j]);
        }
    }

    fn adjoint(&mut self, taps: &Taps, g: &[f64]) {
        let (jm, amode) = (self.layout.levels, adjoint_mode(self.layout.mode));
        let (h, w) = self.layout.image;
        let (rh, rw) = self.layout.rshapes[0];
        let gm = Mat { data: g.to_vec(), rows: h, cols: w };
        self.v[0].pad_from(&gm, rh, rw);
        for j in 1..=jm {
            let (prev, next) = self.v.split_at_mut(j);
            an_cols(taps, amode, &prev[j - 1], &mut self.va[j], &mut self.vd[j], &mut self.t);
            an_rows(taps, amode, &self.va[j], &mut self.p[j], &mut self.qv[j]);
            an_rows(taps, amode, &self.vd[j], &mut self.qh[j], &mut self.qd[j]);
            let (rh, rw) = self.layout.rshapes[j];
            next[0].pad_from(&self.p[j], rh, rw);
        }
    }

    /// Visit the arrays in pywt order as `(coefficients, adjoint values)`.
    fn arrays(&self) -> Vec<(&Mat, &Mat)> {
        let jm = self.layout.levels;
        let mut v = vec![(&self.a[jm], &self.v[jm])];
        for j in (1..=jm).rev() {
            v.push((&self.ch[j], &self.qh[j]));
            v.push((&self.cv[j], &self.qv[j]));
            v.push((&self.cd[j], &self.qd[j]));
        }
        v
    }

    /// Forward passes only.
    pub fn forward(&mut self, taps: &Taps, x: &[f64], g: Option<&[f64]>) {
        self.analyse(taps, x);
        if let Some(g) = g {
            self.adjoint(taps, g);
        }
    }

    /// Coefficients in pywt order (cA, then cH, cV, cD per level, coarsest first).
    pub fn write_coefficients(&self, out: &mut [f64]) {
        let mut at = 0;
        for (c, _) in self.arrays() {
            out[at..at + c.data.len()].copy_from_slice(&c.data);
            at += c.data.len();
        }
    }

    /// Attributions in the same order.
    pub fn write_attributions(&self, times_coeffs: bool, out: &mut [f64]) {
        let mut at = 0;
        for (c, q) in self.arrays() {
            for (i, (&cv, &qv)) in c.data.iter().zip(&q.data).enumerate() {
                out[at + i] = if times_coeffs { cv * qv } else { qv };
            }
            at += c.data.len();
        }
    }

    /// One image: loss sums and, with `scales`, the filter gradient.
    pub fn row(&mut self, taps: &Taps, x: &[f64], g: Option<&[f64]>, tc: bool, scales: Option<&Scales>) {
        let lay = self.layout.clone();
        let (jm, mode, amode) = (lay.levels, lay.mode, adjoint_mode(lay.mode));
        let (h, w) = lay.image;
        self.analyse(taps, x);
        // synthesis
        self.r[jm] = self.a[jm].clone();
        for j in (1..=jm).rev() {
            let (hj, wj) = lay.shapes[j];
            let (lo, hi) = self.r.split_at_mut(j);
            self.rc[j].crop_from(&hi[0], hj, wj);
            syn_rows(taps, mode, &self.rc[j], &self.cv[j], &mut self.ar[j]);
            syn_rows(taps, mode, &self.ch[j], &self.cd[j], &mut self.dr[j]);
            syn_cols(taps, mode, &self.ar[j], &self.dr[j], &mut lo[j - 1], &mut self.t);
        }
        let r0 = &self.r[0];
        let mut sq = 0.0;
        for i in 0..h {
            for k in 0..w {
                let e = x[i * w + k] - r0.data[i * r0.cols + k];
                sq += e * e;
            }
        }
        let abs_c: f64 = self.arrays().iter().map(|(c, _)| c.abs_sum()).sum();
        let mut abs_a = 0.0;
        if let Some(g) = g {
            self.adjoint(taps, g);
            for (c, q) in self.arrays() {
                abs_a += c
                    .data
                    .iter()
                    .zip(&q.data)
                    .map(|(&cv, &qv)| if tc { (cv * qv).abs() } else { qv.abs() })
                    .sum::<f64>();
            }
        }
        self.sums.squared_error += sq;
        self.sums.abs_coefficients += abs_c;
        self.sums.abs_attributions += abs_a;
        let Some(sc) = scales else { return };

        // coefficient gradients from the L1 penalty
        let l1 = |dst: &mut Mat, src: &Mat| {
            *dst = Mat { data: src.data.iter().map(|&c| sc.l1c * sign(c)).collect(), rows: src.rows, cols: src.cols };
        };
        l1(&mut self.ga[jm], &self.a[jm]);
        for j in 1..=jm {
            l1(&mut self.gch[j], &self.ch[j]);
            l1(&mut self.gcv[j], &self.cv[j]);
            l1(&mut self.gcd[j], &self.cd[j]);
        }
        // reconstruction
        let (rh, rw) = lay.rshapes[0];
        let mut g0 = Mat::zeros(rh, rw);
        for i in 0..h {
            for k in 0..w {
                g0.data[i * rw + k] = -2.0 * sc.recon * (x[i * w + k] - self.r[0].data[i * rw + k]);
            }
        }
        self.gr[0] = g0;
        for j in 1..=jm {
            let [gar, gdr, grc, gadd] = &mut self.tmp;
            let (lo, hi) = self.gr.split_at_mut(j);
            let gout = &lo[j - 1];
            an_cols(taps, amode, gout, gar, gdr, &mut self.t);
            an_cols_back(taps, amode, gout, &self.ar[j], &self.dr[j], &mut self.gh, &mut self.gg, None, &mut self.t);
            // rows of Ar = Syn(rc, cV)
            an_rows(taps, amode, gar, grc, gadd);
            add_into(&mut self.gcv[j], gadd);
            an_rows_back(taps, amode, gar, &self.rc[j], &self.cv[j], &mut self.gh, &mut self.gg, None);
            let (rh, rw) = lay.rshapes[j];
            hi[0].pad_from(grc, rh, rw);
            // rows of Dr = Syn(cH, cD)
            an_rows(taps, amode, gdr, grc, gadd);
            add_into(&mut self.gch[j], grc);
            add_into(&mut self.gcd[j], gadd);
            an_rows_back(taps, amode, gdr, &self.ch[j], &self.cd[j], &mut self.gh, &mut self.gg, None);
        }
        let grj = self.gr[jm].clone();
        add_into(&mut self.ga[jm], &grj);
        // attribution penalty
        if g.is_some() && sc.l1a != 0.0 {
            let up = |c: &Mat, q: &Mat, gq: &mut Mat, gc: &mut Mat| {
                gq.rows = q.rows;
                gq.cols = q.cols;
                gq.data.resize(q.data.len(), 0.0);
                for i in 0..q.data.len() {
                    let (cv, qv) = (c.data[i], q.data[i]);
                    let u = sc.l1a * sign(if tc { cv * qv } else { qv });
                    gq.data[i] = if tc { u * cv } else { u };
                    if tc {
                        gc.data[i] += u * qv;
                    }
                }
            };
            up(&self.a[jm], &self.v[jm], &mut self.gv[jm], &mut self.ga[jm]);
            for j in 1..=jm {
                up(&self.ch[j], &self.qh[j], &mut self.gqh[j], &mut self.gch[j]);
                up(&self.cv[j], &self.qv[j], &mut self.gqv[j], &mut self.gcv[j]);
                up(&self.cd[j], &self.qd[j], &mut self.gqd[j], &mut self.gcd[j]);
            }
            for j in (1..=jm).rev() {
                let (hj, wj) = lay.shapes[j];
                let [gp, gva, gvd, _] = &mut self.tmp;
                gp.crop_from(&self.gv[j], hj, wj);
                an_rows_back(taps, amode, &self.va[j], gp, &self.gqv[j], &mut self.gh, &mut self.gg, Some(gva));
                an_rows_back(
                    taps,
                    amode,
                    &self.vd[j],
                    &self.gqh[j],
                    &self.gqd[j],
                    &mut self.gh,
                    &mut self.gg,
                    Some(gvd),
                );
                let (lo, _) = self.gv.split_at_mut(j);
                let gx = if j > 1 { Some(&mut lo[j - 1]) } else { None };
                an_cols_back(taps, amode, &self.v[j - 1], gva, gvd, &mut self.gh, &mut self.gg, gx, &mut self.t);
            }
        }
        // analysis chain
        for j in (1..=jm).rev() {
            let [glc, ghc, _, _] = &mut self.tmp;
            let (lo, hi) = self.ga.split_at_mut(j);
            an_rows_back(taps, mode, &self.lc[j], &hi[0], &self.gcv[j], &mut self.gh, &mut self.gg, Some(glc));
            an_rows_back(taps, mode, &self.hc[j], &self.gch[j], &self.gcd[j], &mut self.gh, &mut self.gg, Some(ghc));
            let gx = if j > 1 { Some(&mut lo[j - 1]) } else { None };
            an_cols_back(taps, mode, &self.a[j - 1], glc, ghc, &mut self.gh, &mut self.gg, gx, &mut self.t);
        }
    }
}

fn add_into(dst: &mut Mat, src: &Mat) {
    debug_assert_eq!(dst.shape(), src.shape());
    for (d, s) in dst.data.iter_mut().zip(&src.data) {
        *d += s;
    }
}
