//! The wavelet-validity penalties of AWD (paper eq. 8, the reference's exact
//! definitions) and their gradients with respect to the lowpass filter `h`.
//!
//! With `g[n] = (-1)^n h[N-1-n]` and `H` the length-`N` DFT of `h`:
//! * `lowpass_sum = 0.5 (sum h - sqrt 2)^2`, `highpass_sum = 0.5 (sum g)^2`
//! * `unit_norm = 0.5 (||h||^2 - 1)^2`
//! * `cmf = 0.5 sum_{k < N/2} (|H_k|^2 + |H_{k+N/2}|^2 - 2)^2`
//! * `orthogonality = 0.5 sum_{k=-N/2..N/2} (sum_m h[m+2k] h[m] - [k=0])^2`

use serde::{Deserialize, Serialize};

/// The five validity penalties of a lowpass filter.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct Validity {
    /// `0.5 (sum h - sqrt 2)^2`.
    pub lowpass_sum: f64,
    /// `0.5 (sum g)^2`.
    pub highpass_sum: f64,
    /// `0.5 (||h||^2 - 1)^2`.
    pub unit_norm: f64,
    /// Conjugate-mirror-filter condition `0.5 sum (|H_k|^2 + |H_{k+N/2}|^2 - 2)^2`.
    pub cmf: f64,
    /// Double-shift orthogonality `0.5 sum_k (R(2k) - [k=0])^2`.
    pub orthogonality: f64,
}

/// Weights of the five validity penalties (all 1 by default, as in the paper).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ValidityWeights {
    /// Weight of `lowpass_sum`.
    pub lowpass_sum: f64,
    /// Weight of `highpass_sum`.
    pub highpass_sum: f64,
    /// Weight of `unit_norm`.
    pub unit_norm: f64,
    /// Weight of `cmf`.
    pub cmf: f64,
    /// Weight of `orthogonality`.
    pub orthogonality: f64,
}

impl Default for ValidityWeights {
    fn default() -> Self {
        ValidityWeights { lowpass_sum: 1.0, highpass_sum: 1.0, unit_norm: 1.0, cmf: 1.0, orthogonality: 1.0 }
    }
}

/// A validity penalty (unweighted sum) above which a filter is reported as
/// far from a wavelet: an orthogonal wavelet scores 0 (db5: 1e-20), learned
/// filters that selection keeps about 1e-4; an all-zero filter of N taps
/// scores N + 2.
pub const FAR_FROM_WAVELET: f64 = 0.1;

impl Validity {
    /// Whether the penalties put the filter far from a wavelet (above
    /// [`FAR_FROM_WAVELET`], or not finite).
    pub fn far_from_wavelet(&self) -> bool {
        let total = self.total();
        total.is_nan() || total > FAR_FROM_WAVELET
    }

    /// Unweighted sum of the five penalties (0 for an orthogonal wavelet):
    /// what selection caps and reports call "the validity penalty".
    pub fn total(&self) -> f64 {
        self.weighted(&ValidityWeights::default())
    }

    /// Weighted sum of the penalties.
    pub fn weighted(&self, w: &ValidityWeights) -> f64 {
        w.lowpass_sum * self.lowpass_sum
            + w.highpass_sum * self.highpass_sum
            + w.unit_norm * self.unit_norm
            + w.cmf * self.cmf
            + w.orthogonality * self.orthogonality
    }
}

pub use crate::wavelet::qmf_highpass as highpass;

/// Add `dL/dg` (gradient with respect to the highpass) into `dL/dh`.
pub fn add_highpass_grad(dg: &[f64], dh: &mut [f64]) {
    let n = dh.len();
    for (i, &v) in dg.iter().enumerate() {
        dh[n - 1 - i] += if i % 2 == 0 { v } else { -v };
    }
}

/// `R(lag) = sum_m h[m + lag] h[m]` (zero outside the filter).
fn autocorr(h: &[f64], lag: isize) -> f64 {
    let n = h.len() as isize;
    (0..n).filter(|&m| (0..n).contains(&(m + lag))).map(|m| h[(m + lag) as usize] * h[m as usize]).sum()
}

/// Real and imaginary parts of the DFT of `h`.
fn dft(h: &[f64]) -> (Vec<f64>, Vec<f64>) {
    let n = h.len();
    let mut re = vec![0.0; n];
    let mut im = vec![0.0; n];
    for k in 0..n {
        for (t, &v) in h.iter().enumerate() {
            let phase = -2.0 * std::f64::consts::PI * ((k * t) % n) as f64 / n as f64;
            re[k] += v * phase.cos();
            im[k] += v * phase.sin();
        }
    }
    (re, im)
}

/// The penalties of `h`, and their weighted gradient with respect to `h`
/// (added into `grad` when given).
pub fn validity(h: &[f64], weights: &ValidityWeights, grad: Option<&mut [f64]>) -> Validity {
    let n = h.len();
    let half = n / 2;
    let g = highpass(h);
    let sum_h: f64 = h.iter().sum();
    let sum_g: f64 = g.iter().sum();
    let norm2: f64 = h.iter().map(|v| v * v).sum();
    let (re, im) = dft(h);
    let power: Vec<f64> = re.iter().zip(&im).map(|(r, i)| r * r + i * i).collect();
    let cmf_res: Vec<f64> = (0..half).map(|k| power[k] + power[k + half] - 2.0).collect();
    let lags: Vec<isize> = (-(half as isize)..=half as isize).collect();
    let orth_res: Vec<f64> = lags.iter().map(|&k| autocorr(h, 2 * k) - if k == 0 { 1.0 } else { 0.0 }).collect();
    let v = Validity {
        lowpass_sum: 0.5 * (sum_h - std::f64::consts::SQRT_2).powi(2),
        highpass_sum: 0.5 * sum_g * sum_g,
        unit_norm: 0.5 * (norm2 - 1.0).powi(2),
        cmf: 0.5 * cmf_res.iter().map(|r| r * r).sum::<f64>(),
        orthogonality: 0.5 * orth_res.iter().map(|r| r * r).sum::<f64>(),
    };
    if let Some(grad) = grad {
        let w = weights;
        let mut dg = vec![w.highpass_sum * sum_g; n];
        add_highpass_grad(&dg, grad);
        dg.clear();
        for i in 0..n {
            let mut d = w.lowpass_sum * (sum_h - std::f64::consts::SQRT_2);
            d += w.unit_norm * 2.0 * h[i] * (norm2 - 1.0);
            // d|H_k|^2 / dh_i = 2 (Re_k cos(2 pi k i / N) - Im_k sin(2 pi k i / N)) with H_k = sum h_t e^{-2 pi i k t / N}
            let dpow = |k: usize| {
                let phase = -2.0 * std::f64::consts::PI * ((k * i) % n) as f64 / n as f64;
                2.0 * (re[k] * phase.cos() + im[k] * phase.sin())
            };
            d += w.cmf * (0..half).map(|k| cmf_res[k] * (dpow(k) + dpow(k + half))).sum::<f64>();
            let at = |j: isize| if (0..n as isize).contains(&j) { h[j as usize] } else { 0.0 };
            d += w.orthogonality
                * lags
                    .iter()
                    .zip(&orth_res)
                    .map(|(&k, r)| r * (at(i as isize - 2 * k) + at(i as isize + 2 * k)))
                    .sum::<f64>();
            grad[i] += d;
        }
    }
    v
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Wavelet;

    #[test]
    fn orthogonal_wavelets_are_valid() {
        for name in ["haar", "db5", "sym8", "coif3"] {
            let w = Wavelet::from_name(name).unwrap();
            let v = validity(&w.rec_lo, &ValidityWeights::default(), None);
            assert!(v.weighted(&ValidityWeights::default()) < 1e-20, "{name}: {v:?}");
        }
        let v = validity(&[0.5, 0.5, 0.5, 0.5], &ValidityWeights::default(), None);
        assert!(v.lowpass_sum > 0.1 && v.orthogonality > 0.0);
    }

    #[test]
    fn gradient_matches_finite_differences() {
        let h = [0.3, 0.8, 0.41, -0.12, 0.05, -0.02];
        let w = ValidityWeights { lowpass_sum: 1.0, highpass_sum: 0.7, unit_norm: 1.3, cmf: 0.9, orthogonality: 1.1 };
        let mut grad = vec![0.0; h.len()];
        validity(&h, &w, Some(&mut grad));
        for i in 0..h.len() {
            let eps = 1e-6;
            let (mut hp, mut hm) = (h.to_vec(), h.to_vec());
            hp[i] += eps;
            hm[i] -= eps;
            let fd = (validity(&hp, &w, None).weighted(&w) - validity(&hm, &w, None).weighted(&w)) / (2.0 * eps);
            assert!((fd - grad[i]).abs() <= 1e-6 * fd.abs().max(1e-3), "tap {i}: {fd} vs {}", grad[i]);
        }
    }
}
