//! A distillation problem: the data `X`, the teacher's input gradients `G`
//! (optional) and the transform geometry; evaluates eq. 8 and its exact
//! gradient on any subset of samples, in parallel and deterministically.

use ndarray::{ArrayView2, Axis};
use rayon::prelude::*;

use super::objective::{LossTerms, Penalties, RawSums, Scales};
use super::tape1d::{Layout1d, Tape1d};
use super::tape2d::{Layout2d, Tape2d};
use super::validity::{add_highpass_grad, highpass, validity};
use crate::dwt::kernel::Taps;
use crate::error::{check_finite, Error, Result};
use crate::Mode;

/// Samples evaluated sequentially per parallel task. Fixed, so that sums are
/// taken in the same order whatever the number of threads (same seed, same
/// bits).
const CHUNK: usize = 8;

/// Signals (1-D) or images (2-D).
#[derive(Debug, Clone, PartialEq)]
pub enum Geometry {
    /// Signals of `n` samples.
    OneD {
        /// Samples per signal.
        n: usize,
    },
    /// Images of `rows x cols`.
    TwoD {
        /// Image rows.
        rows: usize,
        /// Image columns.
        cols: usize,
    },
}

#[derive(Debug, Clone)]
enum Layout {
    OneD(Layout1d),
    TwoD(Layout2d),
}

enum Tape {
    OneD(Tape1d),
    TwoD(Box<Tape2d>),
}

impl Tape {
    fn clear(&mut self) {
        match self {
            Tape::OneD(t) => t.clear(),
            Tape::TwoD(t) => t.clear(),
        }
    }
    fn row(&mut self, taps: &Taps, x: &[f64], g: Option<&[f64]>, tc: bool, sc: Option<&Scales>) {
        match self {
            Tape::OneD(t) => t.row(taps, x, g, tc, sc),
            Tape::TwoD(t) => t.row(taps, x, g, tc, sc),
        }
    }
    fn parts(&self) -> (RawSums, Vec<f64>, Vec<f64>) {
        match self {
            Tape::OneD(t) => (t.sums, t.gh.clone(), t.gg.clone()),
            Tape::TwoD(t) => (t.sums, t.gh.clone(), t.gg.clone()),
        }
    }
}

/// Data and transform of one distillation: plain arrays in.
pub struct Problem<'a> {
    x: ArrayView2<'a, f64>,
    g: Option<ArrayView2<'a, f64>>,
    layout: Layout,
    levels: usize,
    mode: Mode,
}

impl<'a> Problem<'a> {
    /// `x`: one sample per row (an image flattened row-major for 2-D); `g`:
    /// the teacher's input gradients, same shape, or `None` to learn from the
    /// data alone. Checks shapes, finiteness and lengths.
    pub fn new(
        x: ArrayView2<'a, f64>,
        g: Option<ArrayView2<'a, f64>>,
        geometry: Geometry,
        filter_len: usize,
        mode: Mode,
        levels: usize,
    ) -> Result<Self> {
        if x.nrows() == 0 {
            return Err(Error::TooShort { reason: "X holds no samples".into() });
        }
        let sample_len = match geometry {
            Geometry::OneD { n } => n,
            Geometry::TwoD { rows, cols } => rows * cols,
        };
        if x.ncols() != sample_len {
            return Err(Error::ShapeMismatch {
                reason: format!("samples have {} values, the geometry {geometry:?} needs {sample_len}", x.ncols()),
            });
        }
        check_finite(x).map_err(|e| locate("X", e))?;
        if let Some(g) = g {
            if g.dim() != x.dim() {
                return Err(Error::ShapeMismatch {
                    reason: format!("X has shape {:?} but G has {:?}; they must be equal", x.dim(), g.dim()),
                });
            }
            check_finite(g).map_err(|e| locate("G", e))?;
        }
        let layout = match geometry {
            Geometry::OneD { n } => Layout::OneD(Layout1d::new(n, filter_len, mode, levels)?),
            Geometry::TwoD { rows, cols } => Layout::TwoD(Layout2d::new((rows, cols), filter_len, mode, levels)?),
        };
        Ok(Problem { x, g, layout, levels, mode })
    }

    /// Number of samples.
    pub fn len(&self) -> usize {
        self.x.nrows()
    }
    /// Whether there are no samples (never: `new` refuses that).
    pub fn is_empty(&self) -> bool {
        self.x.nrows() == 0
    }
    /// Whether teacher gradients were given.
    pub fn has_teacher(&self) -> bool {
        self.g.is_some()
    }
    /// Levels J.
    pub fn levels(&self) -> usize {
        self.levels
    }
    /// Mode of the transform.
    pub fn mode(&self) -> Mode {
        self.mode
    }
    /// Filter length the problem was laid out for.
    pub fn filter_len(&self) -> usize {
        match &self.layout {
            Layout::OneD(l) => l.f,
            Layout::TwoD(l) => l.f,
        }
    }

    fn new_tape(&self) -> Tape {
        match &self.layout {
            Layout::OneD(l) => Tape::OneD(Tape1d::new(l)),
            Layout::TwoD(l) => Tape::TwoD(Box::new(Tape2d::new(l))),
        }
    }

    /// Loss terms of eq. 8 at filter `h` on the samples `indices` (one batch),
    /// and the gradient with respect to `h` when `want_grad`.
    pub fn evaluate(&self, h: &[f64], p: &Penalties, indices: &[usize], want_grad: bool) -> (LossTerms, Option<Vec<f64>>) {
        assert_eq!(h.len(), self.filter_len(), "filter length");
        let taps = Taps::new(h, &highpass(h));
        let scales = Scales::new(p, self.levels, indices.len());
        let tc = p.attribution.times_coefficients();
        let use_g = self.g;
        let parts: Vec<(RawSums, Vec<f64>, Vec<f64>)> = indices
            .par_chunks(CHUNK)
            .map_init(
                || self.new_tape(),
                |tape, idx| {
                    tape.clear();
                    for &i in idx {
                        let x = self.x.index_axis(Axis(0), i);
                        let g = use_g.as_ref().map(|g| g.index_axis(Axis(0), i));
                        tape.row(
                            &taps,
                            x.as_slice().expect("rows are contiguous"),
                            g.as_ref().map(|g| g.as_slice().expect("rows are contiguous")),
                            tc,
                            want_grad.then_some(&scales),
                        );
                    }
                    tape.parts()
                },
            )
            .collect();
        let f = h.len();
        let mut sums = RawSums::default();
        let (mut gh, mut gg) = (vec![0.0; f], vec![0.0; f]);
        for (s, ph, pg) in &parts {
            sums.add(s);
            for i in 0..f {
                gh[i] += ph[i];
                gg[i] += pg[i];
            }
        }
        let mut vgrad = vec![0.0; f];
        let v = validity(h, &p.validity, want_grad.then_some(&mut vgrad[..]));
        let b = indices.len() as f64;
        let arrays = (self.levels + 1) as f64;
        let mut t = LossTerms {
            total: 0.0,
            reconstruction: sums.squared_error / b,
            lowpass_sum: v.lowpass_sum,
            highpass_sum: v.highpass_sum,
            unit_norm: v.unit_norm,
            cmf: v.cmf,
            orthogonality: v.orthogonality,
            l1_coefficients: sums.abs_coefficients / arrays / b,
            l1_attributions: sums.abs_attributions / arrays / b,
        };
        t.total = t.reconstruction + v.weighted(&p.validity) + p.lambda * t.l1_coefficients + p.gamma * t.l1_attributions;
        if !want_grad {
            return (t, None);
        }
        add_highpass_grad(&gg, &mut gh);
        for (a, b) in gh.iter_mut().zip(&vgrad) {
            *a += b;
        }
        (t, Some(gh))
    }

    /// Loss terms on every sample at once (a fit's epoch 0).
    pub fn evaluate_all(&self, h: &[f64], p: &Penalties) -> LossTerms {
        let all: Vec<usize> = (0..self.len()).collect();
        self.evaluate(h, p, &all, false).0
    }

    /// Coefficients (pywt order, packed per sample) and attributions of the
    /// kind `p.attribution` at filter `h`, for every sample; attributions are
    /// `None` without teacher gradients. Shapes `(samples, coefficients)`.
    pub fn coefficients_and_attributions(&self, h: &[f64], attribution: super::Attribution) -> (ndarray::Array2<f64>, Option<ndarray::Array2<f64>>) {
        let taps = Taps::new(h, &highpass(h));
        let total = match &self.layout {
            Layout::OneD(l) => l.coeff_total(),
            Layout::TwoD(l) => l.coeff_total(),
        };
        let n = self.len();
        let mut coeffs = ndarray::Array2::zeros((n, total));
        let mut attrs = self.g.map(|_| ndarray::Array2::zeros((n, total)));
        let tc = attribution.times_coefficients();
        let rows: Vec<(Vec<f64>, Option<Vec<f64>>)> = (0..n)
            .into_par_iter()
            .map_init(
                || self.new_tape(),
                |tape, i| {
                    let x = self.x.index_axis(Axis(0), i).to_owned();
                    let g = self.g.map(|g| g.index_axis(Axis(0), i).to_owned());
                    let mut c = vec![0.0; total];
                    let mut a = g.as_ref().map(|_| vec![0.0; total]);
                    match tape {
                        Tape::OneD(t) => {
                            t.forward(&taps, x.as_slice().expect("owned"), g.as_ref().map(|g| g.as_slice().expect("owned")));
                            t.write_coefficients(&mut c);
                            if let Some(a) = a.as_mut() {
                                t.write_attributions(tc, a);
                            }
                        }
                        Tape::TwoD(t) => {
                            t.forward(&taps, x.as_slice().expect("owned"), g.as_ref().map(|g| g.as_slice().expect("owned")));
                            t.write_coefficients(&mut c);
                            if let Some(a) = a.as_mut() {
                                t.write_attributions(tc, a);
                            }
                        }
                    }
                    (c, a)
                },
            )
            .collect();
        for (i, (c, a)) in rows.into_iter().enumerate() {
            coeffs.row_mut(i).assign(&ndarray::ArrayView1::from(&c));
            if let (Some(attrs), Some(a)) = (attrs.as_mut(), a) {
                attrs.row_mut(i).assign(&ndarray::ArrayView1::from(&a));
            }
        }
        (coeffs, attrs)
    }
}

/// Say which array a non-finite value is in.
fn locate(name: &str, e: Error) -> Error {
    match e {
        Error::NonFinite { value, location } => Error::NonFinite { value, location: format!("{location} of {name}") },
        other => other,
    }
}
