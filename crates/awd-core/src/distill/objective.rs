//! The AWD objective (paper eq. 8) evaluated on a batch: loss terms and the
//! exact gradient with respect to the lowpass filter `h`.

use serde::{Deserialize, Serialize};

use super::validity::ValidityWeights;

/// Which wavelet-domain attribution of the teacher the objective penalises.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Attribution {
    /// `A^T grad_x f(x)`: the teacher's gradient carried to the wavelet domain.
    Saliency,
    /// `(Psi x) * (A^T grad_x f(x))`, elementwise.
    InputXGradient,
    /// `(Psi x) * (A^T gbar)`, `gbar` the path-averaged teacher gradient.
    IntegratedGradients,
}

impl Attribution {
    /// Every kind, in the CLI's order.
    pub const ALL: [Attribution; 3] =
        [Attribution::Saliency, Attribution::InputXGradient, Attribution::IntegratedGradients];

    /// The name used on the command line and in files.
    pub fn name(self) -> &'static str {
        match self {
            Attribution::Saliency => "saliency",
            Attribution::InputXGradient => "input-x-gradient",
            Attribution::IntegratedGradients => "integrated-gradients",
        }
    }

    /// Whether the attribution multiplies by the coefficients `Psi x`.
    pub fn times_coefficients(self) -> bool {
        self != Attribution::Saliency
    }
}

impl std::str::FromStr for Attribution {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Attribution::ALL.into_iter().find(|a| a.name() == s).ok_or_else(|| {
            format!("unknown attribution '{s}'; expected saliency, input-x-gradient or integrated-gradients")
        })
    }
}

/// The weights of eq. 8.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Penalties {
    /// Weight of the L1 norm of the coefficients.
    pub lambda: f64,
    /// Weight of the L1 norm of the attributions.
    pub gamma: f64,
    /// Weights of the five validity penalties.
    pub validity: ValidityWeights,
    /// Which attribution `gamma` applies to.
    pub attribution: Attribution,
}

impl Default for Penalties {
    fn default() -> Self {
        Penalties { lambda: 0.0, gamma: 0.0, validity: ValidityWeights::default(), attribution: Attribution::Saliency }
    }
}

/// Every term of the objective, as recorded in a fit's history.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct LossTerms {
    /// The weighted total.
    pub total: f64,
    /// `sum_i ||x_i - xhat_i||^2 / B`.
    pub reconstruction: f64,
    /// `0.5 (sum h - sqrt 2)^2`.
    pub lowpass_sum: f64,
    /// `0.5 (sum g)^2`.
    pub highpass_sum: f64,
    /// `0.5 (||h||^2 - 1)^2`.
    pub unit_norm: f64,
    /// Conjugate-mirror-filter penalty.
    pub cmf: f64,
    /// Double-shift orthogonality penalty.
    pub orthogonality: f64,
    /// `sum over the J+1 arrays of sum |c|, / (J+1) / B`.
    pub l1_coefficients: f64,
    /// The same for the attributions.
    pub l1_attributions: f64,
}

impl LossTerms {
    /// The five validity penalties, unweighted, as a [`Validity`](super::Validity).
    pub fn validity(&self) -> super::Validity {
        super::Validity {
            lowpass_sum: self.lowpass_sum,
            highpass_sum: self.highpass_sum,
            unit_norm: self.unit_norm,
            cmf: self.cmf,
            orthogonality: self.orthogonality,
        }
    }

    /// Add `other * weight` term by term (for averaging over batches).
    pub fn add_scaled(&mut self, other: &LossTerms, weight: f64) {
        self.total += weight * other.total;
        self.reconstruction += weight * other.reconstruction;
        self.lowpass_sum += weight * other.lowpass_sum;
        self.highpass_sum += weight * other.highpass_sum;
        self.unit_norm += weight * other.unit_norm;
        self.cmf += weight * other.cmf;
        self.orthogonality += weight * other.orthogonality;
        self.l1_coefficients += weight * other.l1_coefficients;
        self.l1_attributions += weight * other.l1_attributions;
    }
}

/// Loss sums per sample, before the `1/B` and `1/(J+1)` normalisations:
/// squared error, sum of |coefficients|, sum of |attributions|.
pub(crate) const LOSS_SUMS: usize = 3;

/// Per-sample partial sums of one chunk of samples: the three loss sums and
/// the gradient with respect to `rec_lo` and `rec_hi`, each sample's in its
/// own lane and in an order that does not depend on the other samples, so a
/// batch's total is the same whichever process or chunk evaluated a sample.
#[derive(Debug, Clone, Default)]
pub(crate) struct SampleSums {
    /// Lanes (samples of the chunk, padding included).
    lanes: usize,
    /// Filter length.
    f: usize,
    pub squared_error: Vec<f64>,
    pub abs_coefficients: Vec<f64>,
    pub abs_attributions: Vec<f64>,
    /// `dL/d rec_lo` at `m * lanes + lane`, then `dL/d rec_hi` after `f * lanes`.
    pub filter_grad: Vec<f64>,
}

impl SampleSums {
    /// Zero sums for `lanes` samples and an `f`-tap filter.
    pub fn reset(&mut self, lanes: usize, f: usize) {
        (self.lanes, self.f) = (lanes, f);
        for v in [&mut self.squared_error, &mut self.abs_coefficients, &mut self.abs_attributions] {
            v.clear();
            v.resize(lanes, 0.0);
        }
        self.filter_grad.clear();
        self.filter_grad.resize(2 * f * lanes, 0.0);
    }

    /// Row `k` of `out` (rows of `width` values: the [`LOSS_SUMS`] loss sums,
    /// then, when `width` is `LOSS_SUMS + 2f`, `dL/d rec_lo` and `dL/d
    /// rec_hi`) for the first `count` samples.
    pub fn write_rows(&self, count: usize, width: usize, out: &mut [f64]) {
        for (k, row) in out.chunks_exact_mut(width).take(count).enumerate() {
            row[0] = self.squared_error[k];
            row[1] = self.abs_coefficients[k];
            row[2] = self.abs_attributions[k];
            for (i, r) in row[LOSS_SUMS..].iter_mut().enumerate() {
                *r = self.filter_grad[i * self.lanes + k];
            }
        }
    }
}

/// Upstream scale factors of one batch: `d loss / d (per-row raw quantity)`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Scales {
    /// `1 / B` (reconstruction).
    pub recon: f64,
    /// `lambda / (J+1) / B`.
    pub l1c: f64,
    /// `gamma / (J+1) / B`.
    pub l1a: f64,
}

impl Scales {
    pub fn new(p: &Penalties, levels: usize, batch: usize) -> Self {
        let b = batch as f64;
        let arrays = (levels + 1) as f64;
        Scales { recon: 1.0 / b, l1c: p.lambda / arrays / b, l1a: p.gamma / arrays / b }
    }
}

/// `sign(v)` with `sign(0) = 0` (and 0 for NaN), the subgradient PyTorch
/// uses for `abs`; branch-free, as the signs of coefficients are random.
#[inline]
pub(crate) fn sign(v: f64) -> f64 {
    f64::from(u8::from(v > 0.0)) - f64::from(u8::from(v < 0.0))
}

/// `out[i % period] += f(v[i])` in the order of `v`: sums per sample of a
/// batch laid out with the sample index fastest (`period` samples).
#[inline]
pub(crate) fn col_sums(v: &[f64], period: usize, out: &mut [f64], f: impl Fn(f64) -> f64) {
    for row in v.chunks_exact(period) {
        for (o, &x) in out.iter_mut().zip(row) {
            *o += f(x);
        }
    }
}

/// `out[i % period] += f(a[i], b[i])` in order, as [`col_sums`].
#[inline]
pub(crate) fn col_sums2(a: &[f64], b: &[f64], period: usize, out: &mut [f64], f: impl Fn(f64, f64) -> f64) {
    for (ra, rb) in a.chunks_exact(period).zip(b.chunks_exact(period)) {
        for ((o, &x), &y) in out.iter_mut().zip(ra).zip(rb) {
            *o += f(x, y);
        }
    }
}
