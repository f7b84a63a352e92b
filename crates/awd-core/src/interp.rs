//! Interpretable models on wavelet coefficients (paper §4.2): the `k` largest
//! coefficients of each coefficient array as features, and ordinary least
//! squares or ridge; cross-validation folds (grouped or not) shared by every
//! model compared, cross-validated and bootstrapped R^2.

use ndarray::{Array1, Array2, ArrayView1, ArrayView2, ArrayViewMut2, Axis};
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// Which coefficients a top-k feature takes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FeatureSign {
    /// The `k` largest values, signed (the paper's clathrin model).
    #[default]
    Pos,
    /// The `k` largest magnitudes, as magnitudes.
    Abs,
}

impl FeatureSign {
    /// The name used on the command line and in files.
    pub fn name(self) -> &'static str {
        match self {
            FeatureSign::Pos => "pos",
            FeatureSign::Abs => "abs",
        }
    }
}

impl std::str::FromStr for FeatureSign {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        match s {
            "pos" => Ok(FeatureSign::Pos),
            "abs" => Ok(FeatureSign::Abs),
            _ => Err(format!("unknown feature rule '{s}'; expected pos or abs")),
        }
    }
}

/// The `k` largest values (by value, descending) of each array of a packed
/// coefficient row; arrays shorter than `k` are padded with zeros.
pub fn top_k_features(row: &[f64], coeff_lens: &[usize], k: usize) -> Vec<f64> {
    top_k_features_by(row, coeff_lens, k, FeatureSign::Pos)
}

/// [`top_k_features`] under a feature rule: the largest values, or the
/// largest magnitudes.
pub fn top_k_features_by(row: &[f64], coeff_lens: &[usize], k: usize, sign: FeatureSign) -> Vec<f64> {
    let mut out = vec![0.0; coeff_lens.len() * k];
    top_k_into(row, coeff_lens, k, sign, &mut out);
    out
}

/// Write the features of one packed row into `out` (`coeff_lens.len() * k`
/// values): per array, its `k` largest keys (values, or magnitudes under
/// [`FeatureSign::Abs`]) in descending [`f64::total_cmp`] order, zeros
/// where the array is shorter than `k`. One pass with insertion into the
/// output, no allocation: the same values as sorting each array.
fn top_k_into(row: &[f64], coeff_lens: &[usize], k: usize, sign: FeatureSign, out: &mut [f64]) {
    let mut at = 0;
    for (arr, &len) in coeff_lens.iter().enumerate() {
        let top = &mut out[arr * k..(arr + 1) * k];
        let mut filled = 0;
        for &c in &row[at..at + len] {
            let key = if sign == FeatureSign::Abs { c.abs() } else { c };
            if filled == k {
                if k == 0 || key.total_cmp(&top[k - 1]).is_le() {
                    continue;
                }
            } else {
                filled += 1;
            }
            // shift the smaller keys down one place and put `key` above them
            let mut i = filled - 1;
            while i > 0 && key.total_cmp(&top[i - 1]).is_gt() {
                top[i] = top[i - 1];
                i -= 1;
            }
            top[i] = key;
        }
        top[filled..].fill(0.0);
        at += len;
    }
}

/// Features of every row of a packed coefficient matrix.
pub fn feature_matrix(coeffs: ArrayView2<'_, f64>, coeff_lens: &[usize], k: usize) -> Array2<f64> {
    feature_matrix_by(coeffs, coeff_lens, k, FeatureSign::Pos)
}

/// Features of every row under a feature rule.
pub fn feature_matrix_by(
    coeffs: ArrayView2<'_, f64>,
    coeff_lens: &[usize],
    k: usize,
    sign: FeatureSign,
) -> Array2<f64> {
    let mut features = Array2::<f64>::zeros((coeffs.nrows(), coeff_lens.len() * k));
    feature_rows_into(coeffs, coeff_lens, k, sign, features.view_mut());
    features
}

/// Rows of features per parallel task of [`feature_rows_into`].
const FEATURE_ROWS_PER_TASK: usize = 256;

/// [`feature_matrix_by`] into a caller-owned `(rows, coeff_lens.len() * k)`
/// array, rows in parallel (each row's features depend on that row alone,
/// so the result is the same on any number of threads).
///
/// # Panics
/// If `out` does not have one row per coefficient row and `coeff_lens.len() * k` columns.
pub fn feature_rows_into(
    coeffs: ArrayView2<'_, f64>,
    coeff_lens: &[usize],
    k: usize,
    sign: FeatureSign,
    mut out: ArrayViewMut2<'_, f64>,
) {
    assert_eq!(out.dim(), (coeffs.nrows(), coeff_lens.len() * k), "feature_rows_into: output shape");
    out.axis_chunks_iter_mut(Axis(0), FEATURE_ROWS_PER_TASK)
        .into_par_iter()
        .zip(coeffs.axis_chunks_iter(Axis(0), FEATURE_ROWS_PER_TASK))
        .for_each(|(mut out, coeffs)| {
            let mut scratch = Vec::new();
            let mut line = vec![0.0; coeff_lens.len() * k];
            for (row, mut dst) in coeffs.rows().into_iter().zip(out.rows_mut()) {
                let row = match row.to_slice() {
                    Some(r) => r,
                    None => {
                        scratch.clear();
                        scratch.extend(row.iter());
                        &scratch[..]
                    }
                };
                match dst.as_slice_mut() {
                    Some(d) => top_k_into(row, coeff_lens, k, sign, d),
                    None => {
                        top_k_into(row, coeff_lens, k, sign, &mut line);
                        dst.assign(&ArrayView1::from(&line[..]));
                    }
                }
            }
        });
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
        Self::fit_ridge(x, y, 0.0)
    }

    /// Ridge regression with an unpenalised intercept: minimises
    /// `|y - b - X w|^2 + alpha |w|^2` (scikit-learn's `Ridge(alpha)`);
    /// `alpha = 0` is [`LinearModel::fit`].
    pub fn fit_ridge(x: ArrayView2<'_, f64>, y: ArrayView1<'_, f64>, alpha: f64) -> Result<Self> {
        if !(alpha.is_finite() && alpha >= 0.0) {
            return Err(Error::InvalidArgument {
                reason: format!("the ridge alpha must be finite and >= 0, got {alpha}"),
            });
        }
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
            a[[i, i]] += 1e-10 * scale.max(1e-300) + alpha;
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
    active_count(coeffs, attrs, thresholds) as f64 / coeffs.len().max(1) as f64
}

/// How many coefficients [`active_fraction`] counts as active (for a
/// caller adding up blocks of samples).
pub fn active_count(coeffs: ArrayView2<'_, f64>, attrs: ArrayView2<'_, f64>, thresholds: (f64, f64)) -> usize {
    coeffs.iter().zip(attrs.iter()).filter(|(c, a)| c.abs() > thresholds.0 && a.abs() > thresholds.1).count()
}

/// `1 - SS_res / SS_tot`.
pub fn r2(pred: ArrayView1<'_, f64>, y: ArrayView1<'_, f64>) -> f64 {
    let mean = y.mean().unwrap_or(0.0);
    let ss_res: f64 = pred.iter().zip(y).map(|(p, t)| (p - t) * (p - t)).sum();
    let ss_tot: f64 = y.iter().map(|t| (t - mean) * (t - mean)).sum();
    1.0 - ss_res / ss_tot
}

/// Cross-validation folds: for each fold the training and the held-out
/// sample indices. Built once and shared by every model compared, so all are
/// scored on the same splits.
#[derive(Debug, Clone, PartialEq)]
pub struct Folds {
    /// Training indices of each fold.
    pub train: Vec<Vec<usize>>,
    /// Held-out indices of each fold.
    pub test: Vec<Vec<usize>>,
    /// Whether the folds keep every group on one side.
    pub grouped: bool,
}

impl Folds {
    /// `folds` folds of `n` samples from a seeded shuffle (sample `order[i]`
    /// goes to fold `i mod folds`). Needs `2 <= folds <= n`.
    pub fn new(n: usize, folds: usize, seed: u64) -> Result<Self> {
        if folds < 2 || folds > n {
            return Err(Error::InvalidArgument {
                reason: format!(
                    "{folds}-fold cross-validation needs at least 2 folds and at most one per sample ({n} samples)"
                ),
            });
        }
        let mut order: Vec<usize> = (0..n).collect();
        order.shuffle(&mut ChaCha8Rng::seed_from_u64(seed));
        let test = (0..folds).map(|f| order.iter().copied().skip(f).step_by(folds).collect()).collect();
        let train = (0..folds)
            .map(|f| order.iter().copied().enumerate().filter(|(i, _)| i % folds != f).map(|(_, v)| v).collect())
            .collect();
        Ok(Folds { train, test, grouped: false })
    }

    /// Grouped folds: whole groups are held out together (no group is on
    /// both sides of a split). The distinct groups are shuffled (seeded) and
    /// dealt to `min(folds, groups)` folds. Needs at least 2 groups.
    pub fn grouped(groups: &[i64], folds: usize, seed: u64) -> Result<Self> {
        let mut ids: Vec<i64> = groups.to_vec();
        ids.sort_unstable();
        ids.dedup();
        if ids.len() < 2 {
            return Err(Error::InvalidArgument {
                reason: format!(
                    "all {} samples are in one group ({}); grouped cross-validation needs at least 2 groups",
                    groups.len(),
                    ids.first().map_or("none".to_string(), |g| g.to_string())
                ),
            });
        }
        if folds < 2 {
            return Err(Error::InvalidArgument {
                reason: format!("cross-validation needs at least 2 folds, got {folds}"),
            });
        }
        ids.shuffle(&mut ChaCha8Rng::seed_from_u64(seed));
        let k = folds.min(ids.len());
        let fold_of = |g: i64| ids.iter().position(|&v| v == g).expect("a listed group") % k;
        let assigned: Vec<usize> = groups.iter().map(|&g| fold_of(g)).collect();
        let test = (0..k).map(|f| (0..groups.len()).filter(|&i| assigned[i] == f).collect()).collect();
        let train = (0..k).map(|f| (0..groups.len()).filter(|&i| assigned[i] != f).collect()).collect();
        Ok(Folds { train, test, grouped: true })
    }

    /// Number of folds.
    pub fn len(&self) -> usize {
        self.test.len()
    }

    /// Whether there are no folds (never for a constructed value).
    pub fn is_empty(&self) -> bool {
        self.test.is_empty()
    }
}

/// R^2 of the linear model (ridge `alpha`, 0 for OLS) on each fold.
pub fn cross_val_r2_folds(
    x: ArrayView2<'_, f64>,
    y: ArrayView1<'_, f64>,
    folds: &Folds,
    alpha: f64,
) -> Result<Vec<f64>> {
    let ax = ndarray::Axis(0);
    (0..folds.len())
        .map(|f| {
            let (train, test) = (&folds.train[f], &folds.test[f]);
            let m = LinearModel::fit_ridge(x.select(ax, train).view(), y.select(ax, train).view(), alpha)?;
            Ok(r2(m.predict(x.select(ax, test).view()).view(), y.select(ax, test).view()))
        })
        .collect()
}

/// Mean R^2 of `folds`-fold cross-validation (a seeded shuffle into folds)
/// with OLS.
pub fn cross_val_r2(x: ArrayView2<'_, f64>, y: ArrayView1<'_, f64>, folds: usize, seed: u64) -> Result<f64> {
    let scores = cross_val_r2_folds(x, y, &Folds::new(x.nrows(), folds, seed)?, 0.0)?;
    Ok(scores.iter().sum::<f64>() / scores.len() as f64)
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

/// R^2 of several models on the same bootstrap resamples (paired), one row
/// per resample and one column per model. Resampling is stratified: the
/// samples of each stratum (a cell, say) are drawn with replacement from that
/// stratum only, so every resample keeps the strata's sizes. `strata` gives
/// each sample's stratum (all equal for a plain bootstrap).
pub fn bootstrap_r2_paired(
    preds: &[ArrayView1<'_, f64>],
    y: ArrayView1<'_, f64>,
    strata: &[i64],
    resamples: usize,
    seed: u64,
) -> Result<Array2<f64>> {
    bootstrap_paired(preds, y, strata, resamples, seed, &|p, t| r2(p, t))
}

/// [`bootstrap_r2_paired`] with any `score(predictions, targets)` (RMSE,
/// say): the same resamples for every model.
pub fn bootstrap_paired(
    preds: &[ArrayView1<'_, f64>],
    y: ArrayView1<'_, f64>,
    strata: &[i64],
    resamples: usize,
    seed: u64,
    score: &dyn Fn(ArrayView1<'_, f64>, ArrayView1<'_, f64>) -> f64,
) -> Result<Array2<f64>> {
    let n = y.len();
    if strata.len() != n || preds.iter().any(|p| p.len() != n) {
        return Err(Error::ShapeMismatch {
            reason: format!(
                "{n} targets, {} strata labels and predictions of lengths {:?}",
                strata.len(),
                preds.iter().map(|p| p.len()).collect::<Vec<_>>()
            ),
        });
    }
    let mut ids: Vec<i64> = strata.to_vec();
    ids.sort_unstable();
    ids.dedup();
    let members: Vec<Vec<usize>> = ids.iter().map(|&s| (0..n).filter(|&i| strata[i] == s).collect()).collect();
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut out = Array2::zeros((resamples, preds.len()));
    let mut pick = Vec::with_capacity(n);
    let (mut p, mut t) = (vec![0.0; n], vec![0.0; n]);
    for r in 0..resamples {
        pick.clear();
        for m in &members {
            pick.extend((0..m.len()).map(|_| m[rng.random_range(0..m.len())]));
        }
        pick.iter().enumerate().for_each(|(i, &j)| t[i] = y[j]);
        for (k, pred) in preds.iter().enumerate() {
            pick.iter().enumerate().for_each(|(i, &j)| p[i] = pred[j]);
            out[[r, k]] = score(ArrayView1::from(&p), ArrayView1::from(&t));
        }
    }
    Ok(out)
}

/// The `q`-quantile (0 to 1) of `v` by linear interpolation between order
/// statistics (NumPy's default); NaN for an empty slice.
pub fn quantile(v: &[f64], q: f64) -> f64 {
    if v.is_empty() {
        return f64::NAN;
    }
    let mut s = v.to_vec();
    s.sort_by(f64::total_cmp);
    let pos = q.clamp(0.0, 1.0) * (s.len() - 1) as f64;
    let (lo, hi) = (pos.floor() as usize, pos.ceil() as usize);
    s[lo] + (s[hi] - s[lo]) * (pos - lo as f64)
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

    /// The definition the one-pass selection must reproduce: sort each
    /// array's keys, descending, pad with zeros, keep `k`.
    fn top_k_by_sorting(row: &[f64], coeff_lens: &[usize], k: usize, sign: FeatureSign) -> Vec<f64> {
        let mut out = Vec::new();
        let mut at = 0;
        for &len in coeff_lens {
            let mut v: Vec<f64> =
                row[at..at + len].iter().map(|&c| if sign == FeatureSign::Abs { c.abs() } else { c }).collect();
            v.sort_by(|a, b| b.total_cmp(a));
            v.resize(k.max(len), 0.0);
            out.extend_from_slice(&v[..k]);
            at += len;
        }
        out
    }

    #[test]
    fn one_pass_top_k_equals_sorting_bit_for_bit() {
        let mut rng = ChaCha8Rng::seed_from_u64(7);
        // lengths around k (shorter arrays are padded), values with ties, signed zeros and wide magnitudes
        let pool = [0.0, -0.0, 1.0, -1.0, 2.5, -2.5, 1e-300, -1e300, 3.0];
        for trial in 0..400 {
            let lens: Vec<usize> = (0..rng.random_range(1..5)).map(|_| rng.random_range(0..12)).collect();
            let total: usize = lens.iter().sum();
            let row: Vec<f64> =
                (0..total)
                    .map(|_| {
                        if trial % 2 == 0 {
                            pool[rng.random_range(0..pool.len())]
                        } else {
                            rng.random_range(-5.0..5.0)
                        }
                    })
                    .collect();
            for k in [0, 1, 3, 6, 13] {
                for sign in [FeatureSign::Pos, FeatureSign::Abs] {
                    let want = top_k_by_sorting(&row, &lens, k, sign);
                    let got = top_k_features_by(&row, &lens, k, sign);
                    let bits = |v: &[f64]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
                    assert_eq!(bits(&got), bits(&want), "row {row:?}, lengths {lens:?}, k {k}, {sign:?}");
                }
            }
            // the matrix version, rows contiguous or not, gives the same rows
            let m = Array2::from_shape_vec((1, total), row.clone()).unwrap();
            let two = Array2::from_shape_fn((total, 2), |(i, _)| row[i]).reversed_axes();
            let strided = two.slice(ndarray::s![0..1, ..]);
            assert!(total < 2 || strided.row(0).to_slice().is_none());
            for x in [m.view(), strided] {
                let f = feature_matrix_by(x, &lens, 3, FeatureSign::Abs);
                assert_eq!(f.row(0).to_vec(), top_k_by_sorting(&row, &lens, 3, FeatureSign::Abs));
            }
        }
    }

    #[test]
    fn paired_bootstrap_keeps_strata_and_orders_models_consistently() {
        // y in two strata; model a = truth + small noise, b = truth + large noise
        let n = 60;
        let y = Array1::from_shape_fn(n, |i| ((i * 37 % 17) as f64) - 8.0);
        let a = Array1::from_shape_fn(n, |i| y[i] + 0.1 * (((i * 13) % 7) as f64 - 3.0));
        let b = Array1::from_shape_fn(n, |i| y[i] + 1.5 * (((i * 11) % 5) as f64 - 2.0));
        let strata: Vec<i64> = (0..n).map(|i| (i < 20) as i64).collect();
        let r = bootstrap_r2_paired(&[a.view(), b.view(), a.view()], y.view(), &strata, 300, 3).unwrap();
        assert_eq!(r.dim(), (300, 3));
        // paired: the same resample scores a identically in columns 0 and 2, and a beats b on every resample
        assert!(r.rows().into_iter().all(|row| row[0] == row[2] && row[0] > row[1]));
        // same seed, same numbers
        let again = bootstrap_r2_paired(&[a.view(), b.view(), a.view()], y.view(), &strata, 300, 3).unwrap();
        assert_eq!(r, again);
        // the resampled R^2 spreads around the full-sample value
        let full = r2(b.view(), y.view());
        let col: Vec<f64> = r.column(1).to_vec();
        assert!(quantile(&col, 0.025) < full && full < quantile(&col, 0.975));
        assert!(bootstrap_r2_paired(&[a.view()], y.view(), &strata[1..], 10, 0).is_err());
        // any score on the same resamples: R^2 by hand equals the R^2 version
        let by_hand = bootstrap_paired(&[a.view(), b.view()], y.view(), &strata, 300, 3, &|p, t| r2(p, t)).unwrap();
        assert_eq!(by_hand.column(1), r.column(1));
        // a mean absolute error: a beats b on every resample
        let mae = |p: ArrayView1<'_, f64>, t: ArrayView1<'_, f64>| (&p - &t).mapv(f64::abs).mean().unwrap();
        let e = bootstrap_paired(&[a.view(), b.view()], y.view(), &strata, 300, 3, &mae).unwrap();
        assert!(e.rows().into_iter().all(|row| row[0] < row[1]));
    }

    #[test]
    fn quantile_interpolates_like_numpy() {
        let v = [3.0, 1.0, 2.0, 4.0];
        assert_eq!(quantile(&v, 0.0), 1.0);
        assert_eq!(quantile(&v, 1.0), 4.0);
        assert!((quantile(&v, 0.5) - 2.5).abs() < 1e-15);
        assert!((quantile(&v, 0.25) - 1.75).abs() < 1e-15);
        assert!(quantile(&[], 0.5).is_nan());
    }
}
