//! Interpretable models on wavelet coefficients (paper §4.2): the `k` largest
//! coefficients of each coefficient array as features, and ordinary least
//! squares; with cross-validated and bootstrapped R^2.

use ndarray::{Array1, Array2, ArrayView1, ArrayView2};
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// The `k` largest values (by value, descending) of each array of a packed
/// coefficient row; arrays shorter than `k` are padded with zeros.
pub fn top_k_features(row: &[f64], coeff_lens: &[usize], k: usize) -> Vec<f64> {
    let mut out = Vec::with_capacity(coeff_lens.len() * k);
    let mut at = 0;
    for &len in coeff_lens {
        let mut v = row[at..at + len].to_vec();
        v.sort_by(|a, b| b.total_cmp(a));
        v.resize(k.max(len), 0.0);
        out.extend_from_slice(&v[..k]);
        at += len;
    }
    out
}

/// Features of every row of a packed coefficient matrix.
pub fn feature_matrix(coeffs: ArrayView2<'_, f64>, coeff_lens: &[usize], k: usize) -> Array2<f64> {
    let rows: Vec<Vec<f64>> = coeffs.rows().into_iter().map(|r| top_k_features(&r.to_vec(), coeff_lens, k)).collect();
    let n = rows.len();
    let d = coeff_lens.len() * k;
    Array2::from_shape_vec((n, d), rows.concat()).expect("n x d")
}

/// `y = intercept + w . x`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LinearModel {
    /// Weights, one per feature.
    pub weights: Vec<f64>,
    /// Intercept.
    pub intercept: f64,
}

/// Solve `A x = b` for a symmetric positive definite `A` (Cholesky).
fn cholesky_solve(a: &Array2<f64>, b: &Array1<f64>) -> Option<Array1<f64>> {
    let n = a.nrows();
    let mut l = Array2::<f64>::zeros((n, n));
    for i in 0..n {
        for j in 0..=i {
            let s: f64 = (0..j).map(|k| l[[i, k]] * l[[j, k]]).sum();
            if i == j {
                let d = a[[i, i]] - s;
                if d <= 0.0 {
                    return None;
                }
                l[[i, j]] = d.sqrt();
            } else {
                l[[i, j]] = (a[[i, j]] - s) / l[[j, j]];
            }
        }
    }
    let mut y = Array1::<f64>::zeros(n);
    for i in 0..n {
        y[i] = (b[i] - (0..i).map(|k| l[[i, k]] * y[k]).sum::<f64>()) / l[[i, i]];
    }
    let mut x = Array1::<f64>::zeros(n);
    for i in (0..n).rev() {
        x[i] = (y[i] - (i + 1..n).map(|k| l[[k, i]] * x[k]).sum::<f64>()) / l[[i, i]];
    }
    Some(x)
}

impl LinearModel {
    /// Ordinary least squares with an intercept (features centred; a ridge
    /// of `1e-10` times the mean feature variance keeps singular designs
    /// solvable without changing well-posed ones).
    pub fn fit(x: ArrayView2<'_, f64>, y: ArrayView1<'_, f64>) -> Result<Self> {
        let (n, d) = x.dim();
        if n == 0 || y.len() != n {
            return Err(Error::ShapeMismatch { reason: format!("{n} feature rows but {} targets", y.len()) });
        }
        let xm = x.mean_axis(ndarray::Axis(0)).expect("n > 0");
        let ym = y.mean().expect("n > 0");
        let xc = &x - &xm;
        let yc = &y - ym;
        let mut a = xc.t().dot(&xc);
        let b = xc.t().dot(&yc);
        let scale = (0..d).map(|i| a[[i, i]]).sum::<f64>() / d.max(1) as f64;
        for i in 0..d {
            a[[i, i]] += 1e-10 * scale.max(1e-300);
        }
        let w = cholesky_solve(&a, &b).ok_or_else(|| Error::InvalidArgument {
            reason: "the least-squares system is not positive definite".into(),
        })?;
        let intercept = ym - w.dot(&xm);
        Ok(LinearModel { weights: w.to_vec(), intercept })
    }

    /// Predictions for feature rows.
    pub fn predict(&self, x: ArrayView2<'_, f64>) -> Array1<f64> {
        x.dot(&ArrayView1::from(&self.weights)) + self.intercept
    }
}

/// Compression rate: the fraction of coefficients whose magnitude exceeds
/// `thresholds.0` while their attribution's exceeds `thresholds.1`.
pub fn active_fraction(coeffs: ArrayView2<'_, f64>, attrs: ArrayView2<'_, f64>, thresholds: (f64, f64)) -> f64 {
    let active =
        coeffs.iter().zip(attrs.iter()).filter(|(c, a)| c.abs() > thresholds.0 && a.abs() > thresholds.1).count();
    active as f64 / coeffs.len().max(1) as f64
}

/// `1 - SS_res / SS_tot`.
pub fn r2(pred: ArrayView1<'_, f64>, y: ArrayView1<'_, f64>) -> f64 {
    let mean = y.mean().unwrap_or(0.0);
    let ss_res: f64 = pred.iter().zip(y).map(|(p, t)| (p - t) * (p - t)).sum();
    let ss_tot: f64 = y.iter().map(|t| (t - mean) * (t - mean)).sum();
    1.0 - ss_res / ss_tot
}

/// Mean R^2 of `folds`-fold cross-validation (a seeded shuffle into folds).
pub fn cross_val_r2(x: ArrayView2<'_, f64>, y: ArrayView1<'_, f64>, folds: usize, seed: u64) -> Result<f64> {
    let n = x.nrows();
    let mut order: Vec<usize> = (0..n).collect();
    order.shuffle(&mut ChaCha8Rng::seed_from_u64(seed));
    let mut total = 0.0;
    for f in 0..folds {
        let test: Vec<usize> = order.iter().copied().skip(f).step_by(folds).collect();
        let train: Vec<usize> =
            order.iter().copied().enumerate().filter(|(i, _)| i % folds != f).map(|(_, v)| v).collect();
        let m = LinearModel::fit(x.select(ndarray::Axis(0), &train).view(), y.select(ndarray::Axis(0), &train).view())?;
        let xt = x.select(ndarray::Axis(0), &test);
        total += r2(m.predict(xt.view()).view(), y.select(ndarray::Axis(0), &test).view());
    }
    Ok(total / folds as f64)
}

/// Standard deviation of R^2 over `resamples` bootstrap resamples (seeded).
pub fn bootstrap_r2_std(pred: ArrayView1<'_, f64>, y: ArrayView1<'_, f64>, resamples: usize, seed: u64) -> f64 {
    let n = y.len();
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut vals = Vec::with_capacity(resamples);
    let (mut p, mut t) = (vec![0.0; n], vec![0.0; n]);
    for _ in 0..resamples {
        for i in 0..n {
            let j = rng.random_range(0..n);
            p[i] = pred[j];
            t[i] = y[j];
        }
        vals.push(r2(ArrayView1::from(&p), ArrayView1::from(&t)));
    }
    let m = vals.iter().sum::<f64>() / vals.len().max(1) as f64;
    (vals.iter().map(|v| (v - m) * (v - m)).sum::<f64>() / (vals.len().max(2) - 1) as f64).sqrt()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ols_recovers_a_linear_law_and_features_pick_the_largest() {
        let x = Array2::from_shape_fn((50, 3), |(i, j)| ((i * 7 + j * 13) % 11) as f64 + 0.1 * j as f64 * i as f64);
        let y = x.column(0).mapv(|v| 2.0 * v) - x.column(2).mapv(|v| 0.5 * v) + 3.0;
        let m = LinearModel::fit(x.view(), y.view()).unwrap();
        assert!(
            (m.weights[0] - 2.0).abs() < 1e-8 && (m.weights[2] + 0.5).abs() < 1e-8 && (m.intercept - 3.0).abs() < 1e-7
        );
        assert!((r2(m.predict(x.view()).view(), y.view()) - 1.0).abs() < 1e-12);
        let f = top_k_features(&[1.0, 5.0, 3.0, -1.0, 9.0], &[3, 2], 2);
        assert_eq!(f, vec![5.0, 3.0, 9.0, -1.0]);
        assert!(cross_val_r2(x.view(), y.view(), 5, 0).unwrap() > 0.999);
        assert!(bootstrap_r2_std(m.predict(x.view()).view(), y.view(), 100, 1) < 1e-9);
    }
}
