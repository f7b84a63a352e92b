//! A batch of images through the 2-D objective (separable transform, pywt's
//! axis order), forward and reverse. Same chains as [`super::tape1d`], with
//! each 1-D step replaced by its separable pair:
//! * analysis level `j`: columns `A_{j-1} -> (L, H)`, then rows
//!   `L -> (A_j, cV_j)`, `H -> (cH_j, cD_j)`;
//! * synthesis level `j`: `r_j` cropped to `A_j`'s shape, rows
//!   `(r_j, cV_j) -> Ar`, `(cH_j, cD_j) -> Dr`, then columns `(Ar, Dr) -> r_{j-1}`;
//! * attribution level `j`: the transpose of synthesis level `j`.
//!
//! A batch of `b` images is stored as one array of shape `(rows, cols, b)`,
//! the image index fastest. Then a step along axis 0 is the 1-D stencil
//! kernel on `rows x (cols * b)` columns, and a step along axis 1 is the same
//! kernel on each image row's `cols x b` block: no transposes, every inner
//! loop runs across images, and the buffers are reused from batch to batch.

use super::objective::{col_sums, col_sums2, sign, SampleSums, Scales};
use crate::dwt::adjoint::adjoint_mode;
use crate::dwt::kernel::Taps;
use crate::dwt::len::{dwt_coeff_len, idwt_output_len, max_useful_level};
use crate::dwt::stencil::{Stencil, GROUP, NARROW_GROUP};
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

/// A batch of `rows x cols` arrays, one per image, stored `(rows, cols, b)`
/// with each row padded to [`Grid::pitch`] values: an odd number of
/// columns, rounded up to whole [`GROUP`]s of values, the extra ones zeros.
/// With an even count, a row of 64 columns of 16 images is 8 KB, and the
/// rows read by one column of the axis-0 kernels all fall into the same L1
/// cache set (measured: 1.6x slower epochs); whole groups let the axis-0
/// kernels use their wide register groups whatever the chunk's width.
#[derive(Debug, Clone, Default)]
struct Grid {
    /// Storage, never shrunk: a buffer that serves several shapes (the
    /// scratch arrays) is not refilled with zeros each time it grows back.
    buf: Vec<f64>,
    /// Values in use, `rows * pitch`.
    len: usize,
    rows: usize,
    cols: usize,
    /// Values of the real columns per row, `cols * b`.
    width: usize,
    /// Values per stored row: `(cols | 1) * b` rounded up to a multiple of
    /// both `b` and [`GROUP`].
    pitch: usize,
}

impl Grid {
    /// Take the shape `rows x cols`. The padding columns are zeroed; the
    /// caller overwrites the rest.
    fn reshape(&mut self, rows: usize, cols: usize, b: usize) {
        // whole images (the lanes of sums) and whole groups: lcm(b, GROUP), b a multiple of 8
        let whole = if b.is_multiple_of(GROUP) { b } else { 2 * b };
        let pitch = ((cols | 1) * b).next_multiple_of(whole);
        (self.rows, self.cols, self.width, self.pitch) = (rows, cols, cols * b, pitch);
        self.len = rows * pitch;
        if self.buf.len() < self.len {
            self.buf.resize(self.len, 0.0);
        }
        let used = self.width;
        for row in self.vals_mut().chunks_exact_mut(pitch) {
            row[used..].fill(0.0);
        }
    }
    /// The values in use, padding included.
    fn vals(&self) -> &[f64] {
        &self.buf[..self.len]
    }
    /// The values in use, mutable.
    fn vals_mut(&mut self) -> &mut [f64] {
        &mut self.buf[..self.len]
    }
    /// The real columns of every row.
    fn rows(&self) -> impl Iterator<Item = &[f64]> {
        let w = self.width;
        self.vals().chunks_exact(self.pitch).map(move |r| &r[..w])
    }
    /// The real columns of every row, mutable.
    fn rows_mut(&mut self) -> impl Iterator<Item = &mut [f64]> {
        let (w, pitch) = (self.width, self.pitch);
        self.vals_mut().chunks_exact_mut(pitch).map(move |r| &mut r[..w])
    }
    /// `self = src[..rows, ..cols]` (the top-left block of every image).
    fn crop_from(&mut self, src: &Grid, rows: usize, cols: usize, b: usize) {
        self.reshape(rows, cols, b);
        let w = cols * b;
        for (d, s) in self.rows_mut().zip(src.rows()) {
            d.copy_from_slice(&s[..w]);
        }
    }
    /// `self` = `src` zero-padded at the bottom and right to `rows x cols`.
    fn pad_from(&mut self, src: &Grid, rows: usize, cols: usize, b: usize) {
        self.reshape(rows, cols, b);
        let w = src.width;
        for (d, s) in self.rows_mut().zip(src.rows()) {
            d[..w].copy_from_slice(s);
        }
        self.zero_outside(src.rows, w);
    }
    /// Zero every value outside the first `rows` rows' first `width` values
    /// (the parts a padded array's writer does not write).
    fn zero_outside(&mut self, rows: usize, width: usize) {
        let pitch = self.pitch;
        for (r, row) in self.vals_mut().chunks_exact_mut(pitch).enumerate() {
            row[if r < rows { width } else { 0 }..].fill(0.0);
        }
    }
    /// `self = src`.
    fn copy_from(&mut self, src: &Grid, b: usize) {
        self.reshape(src.rows, src.cols, b);
        self.vals_mut().copy_from_slice(src.vals());
    }
    /// `self += src` (same shape; the padding stays zero).
    fn add(&mut self, src: &Grid) {
        debug_assert_eq!((self.rows, self.cols), (src.rows, src.cols));
        for (d, s) in self.vals_mut().iter_mut().zip(src.vals()) {
            *d += s;
        }
    }
}

/// The stencils of one level: analysis along each axis in the fit's mode,
/// and the adjoint-mode ones whose transposes are synthesis.
#[derive(Debug, Clone)]
struct LevelStencils {
    an0: Stencil,
    an1: Stencil,
    adj0: Stencil,
    adj1: Stencil,
}

/// Analysis along axis 0 (over whole rows, padding included: zeros give
/// zeros): `lo`, `hi` become `st.n_out x x.cols`.
fn an0(st: &Stencil, taps: &Taps, x: &Grid, b: usize, lo: &mut Grid, hi: &mut Grid) {
    lo.reshape(st.n_out, x.cols, b);
    hi.reshape(st.n_out, x.cols, b);
    st.analysis(&taps.rec[0], &taps.rec[1], x.vals(), x.pitch, lo.vals_mut(), hi.vals_mut());
}

/// Analysis along axis 1: `lo`, `hi` become `x.rows x st.n_out`.
fn an1(st: &Stencil, taps: &Taps, x: &Grid, b: usize, lo: &mut Grid, hi: &mut Grid) {
    lo.reshape(x.rows, st.n_out, b);
    hi.reshape(x.rows, st.n_out, b);
    for (xr, (lr, hr)) in x.rows().zip(lo.rows_mut().zip(hi.rows_mut())) {
        st.analysis(&taps.rec[0], &taps.rec[1], xr, b, lr, hr);
    }
}

/// Transpose of [`an0`] (synthesis along axis 0 for an adjoint-mode
/// stencil): `out` becomes `st.n x ca.cols`.
fn tr0(st: &Stencil, taps: &Taps, ca: &Grid, cd: &Grid, b: usize, out: &mut Grid) {
    out.reshape(st.n, ca.cols, b);
    st.transpose(&taps.rec[0], &taps.rec[1], ca.vals(), cd.vals(), ca.pitch, out.vals_mut());
}

/// Transpose of [`an1`]: `out` becomes `ca.rows x st.n`.
fn tr1(st: &Stencil, taps: &Taps, ca: &Grid, cd: &Grid, b: usize, out: &mut Grid) {
    out.reshape(ca.rows, st.n, b);
    for ((ar, dr), or) in ca.rows().zip(cd.rows()).zip(out.rows_mut()) {
        st.transpose(&taps.rec[0], &taps.rec[1], ar, dr, b, or);
    }
}

/// Filter gradient of [`an0`] at input `x` for output gradients `ga`, `gd`,
/// accumulated per image (the padding adds zeros).
fn fg0(st: &Stencil, x: &Grid, ga: &Grid, gd: &Grid, b: usize, acc: &mut [f64]) {
    st.filter_grad(x.vals(), ga.vals(), gd.vals(), x.pitch, b, acc);
}

/// Filter gradient of [`an1`], accumulated per image.
fn fg1(st: &Stencil, x: &Grid, ga: &Grid, gd: &Grid, b: usize, acc: &mut [f64]) {
    for (xr, (ar, dr)) in x.rows().zip(ga.rows().zip(gd.rows())) {
        st.filter_grad(xr, ar, dr, b, b, acc);
    }
}

/// Image `c`'s pixel `(r, col)` (each image `h x w`, row-major) into `out`'s
/// row `r` at `col * b + c`: the writes run in order (whole cache lines),
/// the reads follow one stream per image. `out` is at least `h x w`.
fn interleave(images: &[&[f64]], (h, w): (usize, usize), b: usize, out: &mut Grid) {
    let n = images.len();
    for (r, row) in out.rows_mut().take(h).enumerate() {
        let from = r * w;
        for (col, dst) in row.chunks_exact_mut(b).take(w).enumerate() {
            for (d, img) in dst[..n].iter_mut().zip(images) {
                *d = img[from + col];
            }
        }
    }
}

fn grids(n: usize) -> Vec<Grid> {
    (0..n).map(|_| Grid::default()).collect()
}

/// Buffers of one batch's passes.
pub(crate) struct Tape2d {
    layout: Layout2d,
    /// Stencils of level `j` at index `j - 1`.
    stencils: Vec<LevelStencils>,
    /// Batch width: the images of the chunk, rounded up to whole SIMD groups.
    b: usize,
    // analysis (a[0] is the input)
    a: Vec<Grid>,
    lc: Vec<Grid>,
    hc: Vec<Grid>,
    ch: Vec<Grid>,
    cv: Vec<Grid>,
    cd: Vec<Grid>,
    // synthesis
    r: Vec<Grid>,
    rc: Vec<Grid>,
    ar: Vec<Grid>,
    dr: Vec<Grid>,
    // attribution (v[0] is the teacher's gradient, padded)
    v: Vec<Grid>,
    va: Vec<Grid>,
    vd: Vec<Grid>,
    p: Vec<Grid>,
    qh: Vec<Grid>,
    qv: Vec<Grid>,
    qd: Vec<Grid>,
    // gradients
    ga: Vec<Grid>,
    gch: Vec<Grid>,
    gcv: Vec<Grid>,
    gcd: Vec<Grid>,
    gr: Vec<Grid>,
    gv: Vec<Grid>,
    gqh: Vec<Grid>,
    gqv: Vec<Grid>,
    gqd: Vec<Grid>,
    tmp: [Grid; 4],
    /// The last batch's sums, one lane per image.
    pub sums: SampleSums,
}

impl Tape2d {
    pub fn new(layout: &Layout2d) -> Self {
        let n = layout.levels + 1;
        let (f, mode, amode) = (layout.f, layout.mode, adjoint_mode(layout.mode));
        let stencils = (1..=layout.levels)
            .map(|j| {
                let ((h, w), (rh, rw)) = (layout.shapes[j - 1], layout.rshapes[j - 1]);
                LevelStencils {
                    an0: Stencil::new(h, f, mode),
                    an1: Stencil::new(w, f, mode),
                    adj0: Stencil::new(rh, f, amode),
                    adj1: Stencil::new(rw, f, amode),
                }
            })
            .collect();
        Tape2d {
            layout: layout.clone(),
            stencils,
            b: 0,
            a: grids(n),
            lc: grids(n),
            hc: grids(n),
            ch: grids(n),
            cv: grids(n),
            cd: grids(n),
            r: grids(n),
            rc: grids(n),
            ar: grids(n),
            dr: grids(n),
            v: grids(n),
            va: grids(n),
            vd: grids(n),
            p: grids(n),
            qh: grids(n),
            qv: grids(n),
            qd: grids(n),
            ga: grids(n),
            gch: grids(n),
            gcv: grids(n),
            gcd: grids(n),
            gr: grids(n),
            gv: grids(n),
            gqh: grids(n),
            gqv: grids(n),
            gqd: grids(n),
            tmp: Default::default(),
            sums: SampleSums::default(),
        }
    }

    /// Load the images (flattened row-major) into `a[0]` and the teacher's
    /// gradients, zero-padded to the reconstruction shape, into `v[0]`. The
    /// batch is rounded up to whole SIMD groups with zero images, which add
    /// nothing to any sum or gradient.
    fn load(&mut self, xs: &[&[f64]], gs: Option<&[&[f64]]>) {
        let b = xs.len().next_multiple_of(NARROW_GROUP);
        self.b = b;
        let (h, w) = self.layout.image;
        let x = &mut self.a[0];
        x.reshape(h, w, b);
        if xs.len() < b {
            x.vals_mut().fill(0.0);
        }
        interleave(xs, (h, w), b, x);
        if let Some(gs) = gs {
            let (rh, rw) = self.layout.rshapes[0];
            let v0 = &mut self.v[0];
            v0.reshape(rh, rw, b);
            if gs.len() < b {
                v0.vals_mut().fill(0.0);
            } else {
                v0.zero_outside(h, w * b);
            }
            interleave(gs, (h, w), b, v0);
        }
    }

    fn analyse(&mut self, taps: &Taps) {
        let b = self.b;
        for (j, st) in (1..).zip(&self.stencils) {
            let (prev, next) = self.a.split_at_mut(j);
            an0(&st.an0, taps, &prev[j - 1], b, &mut self.lc[j], &mut self.hc[j]);
            an1(&st.an1, taps, &self.lc[j], b, &mut next[0], &mut self.cv[j]);
            an1(&st.an1, taps, &self.hc[j], b, &mut self.ch[j], &mut self.cd[j]);
        }
    }

    fn adjoint(&mut self, taps: &Taps) {
        let b = self.b;
        for (j, st) in (1..).zip(&self.stencils) {
            let (prev, next) = self.v.split_at_mut(j);
            an0(&st.adj0, taps, &prev[j - 1], b, &mut self.va[j], &mut self.vd[j]);
            an1(&st.adj1, taps, &self.va[j], b, &mut self.p[j], &mut self.qv[j]);
            an1(&st.adj1, taps, &self.vd[j], b, &mut self.qh[j], &mut self.qd[j]);
            let (rh, rw) = self.layout.rshapes[j];
            next[0].pad_from(&self.p[j], rh, rw, b);
        }
    }

    /// The arrays in pywt order as `(coefficients, adjoint values)`: cA,
    /// then cH, cV, cD per level, coarsest first.
    fn arrays(&self) -> Vec<(&Grid, &Grid)> {
        let jm = self.layout.levels;
        let mut v = vec![(&self.a[jm], &self.v[jm])];
        for j in (1..=jm).rev() {
            v.push((&self.ch[j], &self.qh[j]));
            v.push((&self.cv[j], &self.qv[j]));
            v.push((&self.cd[j], &self.qd[j]));
        }
        v
    }

    /// Forward passes only, then copy image `c`'s coefficients and
    /// attributions (pywt order, each array row-major) into `coeffs[c]` /
    /// `attrs[c]`.
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
        if gs.is_some() {
            self.adjoint(taps);
        }
        let b = self.b;
        let mut attrs = attrs.filter(|_| gs.is_some());
        for c in 0..xs.len() {
            let mut at = 0;
            for (cf, adj) in self.arrays() {
                for (r, (crow, qrow)) in cf.rows().zip(adj.rows()).enumerate() {
                    let out = at + r * cf.cols;
                    for (k, v) in crow.iter().skip(c).step_by(b).enumerate() {
                        coeffs[c][out + k] = *v;
                    }
                    if let Some(a) = attrs.as_deref_mut() {
                        for (k, (v, q)) in crow.iter().zip(qrow).skip(c).step_by(b).enumerate() {
                            a[c][out + k] = if tc { v * q } else { *q };
                        }
                    }
                }
                at += cf.rows * cf.cols;
            }
        }
    }

    /// One batch: per-image loss sums and, with `scales`, filter gradients,
    /// into `sums`.
    pub fn chunk(&mut self, taps: &Taps, xs: &[&[f64]], gs: Option<&[&[f64]]>, tc: bool, scales: Option<&Scales>) {
        self.load(xs, gs);
        let (jm, b) = (self.layout.levels, self.b);
        let (h, w) = self.layout.image;
        let (rh, rw) = self.layout.rshapes[0];
        self.sums.reset(b, self.layout.f);
        self.analyse(taps);
        // synthesis: r_J = a_J
        self.r[jm].copy_from(&self.a[jm], b);
        for (j, st) in (1..jm + 1).zip(&self.stencils).rev() {
            let (hj, wj) = self.layout.shapes[j];
            let (lo, hi) = self.r.split_at_mut(j);
            self.rc[j].crop_from(&hi[0], hj, wj, b);
            tr1(&st.adj1, taps, &self.rc[j], &self.cv[j], b, &mut self.ar[j]);
            tr1(&st.adj1, taps, &self.ch[j], &self.cd[j], b, &mut self.dr[j]);
            tr0(&st.adj0, taps, &self.ar[j], &self.dr[j], b, &mut lo[j - 1]);
        }
        let mut sums = std::mem::take(&mut self.sums);
        for (x, r) in self.a[0].rows().zip(self.r[0].rows()) {
            col_sums2(x, &r[..w * b], b, &mut sums.squared_error, |x, r| (x - r) * (x - r));
        }
        for (c, _) in self.arrays() {
            col_sums(c.vals(), b, &mut sums.abs_coefficients, f64::abs);
        }
        if gs.is_some() {
            self.adjoint(taps);
            for (c, q) in self.arrays() {
                if tc {
                    col_sums2(c.vals(), q.vals(), b, &mut sums.abs_attributions, |c, q| (c * q).abs());
                } else {
                    col_sums(q.vals(), b, &mut sums.abs_attributions, f64::abs);
                }
            }
        }
        self.sums = sums;
        let Some(sc) = scales else { return };
        let acc = &mut self.sums.filter_grad;

        // coefficient gradients from the L1 penalty
        let l1 = |dst: &mut Grid, src: &Grid| {
            dst.reshape(src.rows, src.cols, b);
            for (d, &c) in dst.vals_mut().iter_mut().zip(src.vals()) {
                *d = sc.l1c * sign(c);
            }
        };
        l1(&mut self.ga[jm], &self.a[jm]);
        for j in 1..=jm {
            l1(&mut self.gch[j], &self.ch[j]);
            l1(&mut self.gcv[j], &self.cv[j]);
            l1(&mut self.gcd[j], &self.cd[j]);
        }
        // reconstruction: d/d r_0 = -2 (x - xhat) / B on the image's block,
        // written over r_0 (not needed any more: one array less in cache)
        std::mem::swap(&mut self.gr[0], &mut self.r[0]);
        let g0 = &mut self.gr[0];
        debug_assert_eq!((g0.rows, g0.cols), (rh, rw));
        for (x, g) in self.a[0].rows().zip(g0.rows_mut()) {
            for (g, x) in g.iter_mut().zip(x) {
                *g = -2.0 * sc.recon * (x - *g);
            }
        }
        g0.zero_outside(h, w * b);
        for (j, st) in (1..jm + 1).zip(&self.stencils) {
            let [gar, gdr, grc, gadd] = &mut self.tmp;
            let (lo, hi) = self.gr.split_at_mut(j);
            let gout = &lo[j - 1];
            // columns of r_{j-1} = Syn(Ar, Dr)
            an0(&st.adj0, taps, gout, b, gar, gdr);
            fg0(&st.adj0, gout, &self.ar[j], &self.dr[j], b, acc);
            // rows of Ar = Syn(rc, cV)
            an1(&st.adj1, taps, gar, b, grc, gadd);
            self.gcv[j].add(gadd);
            fg1(&st.adj1, gar, &self.rc[j], &self.cv[j], b, acc);
            let (rhj, rwj) = self.layout.rshapes[j];
            hi[0].pad_from(grc, rhj, rwj, b);
            // rows of Dr = Syn(cH, cD)
            an1(&st.adj1, taps, gdr, b, grc, gadd);
            self.gch[j].add(grc);
            self.gcd[j].add(gadd);
            fg1(&st.adj1, gdr, &self.ch[j], &self.cd[j], b, acc);
        }
        self.ga[jm].add(&self.gr[jm]);
        // attribution penalty through the adjoint chain
        if gs.is_some() && sc.l1a != 0.0 {
            // upstream on the attribution arrays; x-gradient kinds split it
            // between the adjoint values and the coefficients
            let up = |c: &Grid, q: &Grid, gq: &mut Grid, gc: &mut Grid| {
                gq.reshape(q.rows, q.cols, b);
                let (c, q, gq, gc) = (c.vals(), q.vals(), gq.vals_mut(), gc.vals_mut());
                if tc {
                    for (((&cv, &qv), gq), gc) in c.iter().zip(q).zip(gq).zip(gc) {
                        let u = sc.l1a * sign(cv * qv);
                        *gq = u * cv;
                        *gc += u * qv;
                    }
                } else {
                    for (&qv, gq) in q.iter().zip(gq) {
                        *gq = sc.l1a * sign(qv);
                    }
                }
            };
            up(&self.a[jm], &self.v[jm], &mut self.gv[jm], &mut self.ga[jm]);
            for j in 1..=jm {
                up(&self.ch[j], &self.qh[j], &mut self.gqh[j], &mut self.gch[j]);
                up(&self.cv[j], &self.qv[j], &mut self.gqv[j], &mut self.gcv[j]);
                up(&self.cd[j], &self.qd[j], &mut self.gqd[j], &mut self.gcd[j]);
            }
            for (j, st) in (1..jm + 1).zip(&self.stencils).rev() {
                let (hj, wj) = self.layout.shapes[j];
                let [gp, gva, gvd, _] = &mut self.tmp;
                gp.crop_from(&self.gv[j], hj, wj, b);
                fg1(&st.adj1, &self.va[j], gp, &self.gqv[j], b, acc);
                tr1(&st.adj1, taps, gp, &self.gqv[j], b, gva);
                fg1(&st.adj1, &self.vd[j], &self.gqh[j], &self.gqd[j], b, acc);
                tr1(&st.adj1, taps, &self.gqh[j], &self.gqd[j], b, gvd);
                fg0(&st.adj0, &self.v[j - 1], gva, gvd, b, acc);
                if j > 1 {
                    tr0(&st.adj0, taps, gva, gvd, b, &mut self.gv[j - 1]);
                }
            }
        }
        // analysis chain
        for (j, st) in (1..jm + 1).zip(&self.stencils).rev() {
            let [glc, ghc, _, _] = &mut self.tmp;
            let (lo, hi) = self.ga.split_at_mut(j);
            fg1(&st.an1, &self.lc[j], &hi[0], &self.gcv[j], b, acc);
            tr1(&st.an1, taps, &hi[0], &self.gcv[j], b, glc);
            fg1(&st.an1, &self.hc[j], &self.gch[j], &self.gcd[j], b, acc);
            tr1(&st.an1, taps, &self.gch[j], &self.gcd[j], b, ghc);
            fg0(&st.an0, &self.a[j - 1], glc, ghc, b, acc);
            if j > 1 {
                tr0(&st.an0, taps, glc, ghc, b, &mut lo[j - 1]);
            }
        }
    }
}
