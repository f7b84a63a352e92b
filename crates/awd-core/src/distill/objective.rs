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

/// Raw per-batch sums, before the `1/B` and `1/(J+1)` normalisations.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct RawSums {
    pub squared_error: f64,
    pub abs_coefficients: f64,
    pub abs_attributions: f64,
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

/// `sign(v)` with `sign(0) = 0`, the subgradient PyTorch uses for `abs`.
#[inline]
pub(crate) fn sign(v: f64) -> f64 {
    if v > 0.0 {
        1.0
    } else if v < 0.0 {
        -1.0
    } else {
        0.0
    }
}

/// `sum f(x_i)` with eight independent partial sums, so long sums vectorise
/// (the order is fixed: same input, same bits).
#[inline]
pub(crate) fn lane_sum(v: &[f64], f: impl Fn(f64) -> f64) -> f64 {
    let mut lanes = [0.0f64; 8];
    let chunks = v.chunks_exact(8);
    let tail: f64 = chunks.remainder().iter().map(|&x| f(x)).sum();
    for c in chunks {
        for (l, &x) in lanes.iter_mut().zip(c) {
            *l += f(x);
        }
    }
    lanes.iter().sum::<f64>() + tail
}

/// `sum f(a_i, b_i)` with eight independent partial sums.
#[inline]
pub(crate) fn lane_sum2(a: &[f64], b: &[f64], f: impl Fn(f64, f64) -> f64) -> f64 {
    let n = a.len().min(b.len());
    let mut lanes = [0.0f64; 8];
    let full = n / 8 * 8;
    for i in (0..full).step_by(8) {
        for k in 0..8 {
            lanes[k] += f(a[i + k], b[i + k]);
        }
    }
    let tail: f64 = (full..n).map(|i| f(a[i], b[i])).sum();
    lanes.iter().sum::<f64>() + tail
}
