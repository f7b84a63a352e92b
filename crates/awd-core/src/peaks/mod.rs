//! Peak counting (AWD paper App. D.1; Ribli et al. 2019): the interpretable
//! model of the cosmology case.
//!
//! Peaks are pixels strictly larger than all 8 neighbours (border pixels are
//! never peaks). Each map becomes a histogram of a statistic at its peaks:
//! the peak height, the response of a small filter there (Laplace, Roberts
//! cross) or of several 3x3 kernels (wavelet sub-filters), histograms
//! concatenated. Per cosmology the mean histogram and the pseudo-inverse of
//! its covariance over training maps are kept; a map is assigned the
//! cosmology of smallest `chi^2 = (h - mu)^T Sigma^+ (h - mu)`.

use nalgebra::{DMatrix, DVector};
use ndarray::{Array2, ArrayView2, ArrayView3, Axis};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;

use crate::error::{Error, Result};
use crate::Wavelet;

mod model;
pub use model::{Estimator, PeakCountModel, KIND as PEAK_MODEL_KIND};

/// A 3x3 kernel, applied by correlation: `sum_ab k[a][b] x[i+a-1][j+b-1]`.
pub type Kernel3 = [[f64; 3]; 3];

/// The statistic recorded at each peak.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PeakStatistic {
    /// The map value at the peak.
    Height,
    /// The negative discrete Laplacian `4 x - (sum of the 4 neighbours)`,
    /// positive at peaks.
    Laplace,
    /// The negative 9-point isotropic Laplacian
    /// `(20 x - 4 (sum of the 4 edge neighbours) - (sum of the 4 corners)) / 6`,
    /// positive at peaks (the same second derivative as [`Laplace`](Self::Laplace)
    /// on smooth maps, with an error that does not depend on direction).
    Laplace9,
    /// The Roberts-cross gradient magnitude `sqrt((a-d)^2 + (b-c)^2)` of each
    /// of the 4 2x2 blocks holding the peak, summed.
    Roberts,
    /// One channel per 3x3 kernel (e.g. the four wavelet sub-filters).
    Kernels(Vec<Kernel3>),
}

impl PeakStatistic {
    /// Values recorded per peak.
    pub fn channels(&self) -> usize {
        match self {
            PeakStatistic::Kernels(k) => k.len(),
            _ => 1,
        }
    }

    /// The statistic's values at pixel `(i, j)` (an interior pixel), appended to `out`.
    fn eval(&self, m: &ArrayView2<'_, f64>, i: usize, j: usize, out: &mut Vec<f64>) {
        match self {
            PeakStatistic::Height => out.push(m[[i, j]]),
            PeakStatistic::Laplace => {
                out.push(4.0 * m[[i, j]] - m[[i - 1, j]] - m[[i + 1, j]] - m[[i, j - 1]] - m[[i, j + 1]])
            }
            PeakStatistic::Laplace9 => {
                let edges = m[[i - 1, j]] + m[[i + 1, j]] + m[[i, j - 1]] + m[[i, j + 1]];
                let corners = m[[i - 1, j - 1]] + m[[i - 1, j + 1]] + m[[i + 1, j - 1]] + m[[i + 1, j + 1]];
                out.push((20.0 * m[[i, j]] - 4.0 * edges - corners) / 6.0)
            }
            PeakStatistic::Roberts => {
                let mut s = 0.0;
                for (a, b) in [(i - 1, j - 1), (i - 1, j), (i, j - 1), (i, j)] {
                    let (p, q, r, t) = (m[[a, b]], m[[a, b + 1]], m[[a + 1, b]], m[[a + 1, b + 1]]);
                    s += ((p - t).powi(2) + (q - r).powi(2)).sqrt();
                }
                out.push(s)
            }
            PeakStatistic::Kernels(ks) => {
                for k in ks {
                    let mut s = 0.0;
                    for (a, row) in k.iter().enumerate() {
                        for (b, &w) in row.iter().enumerate() {
                            s += w * m[[i + a - 1, j + b - 1]];
                        }
                    }
                    out.push(s);
                }
            }
        }
    }
}

/// Positions of the peaks of a map: interior pixels above all 8 neighbours.
pub fn find_peaks(map: ArrayView2<'_, f64>) -> Vec<(usize, usize)> {
    let (h, w) = map.dim();
    let mut peaks = Vec::new();
    for i in 1..h.saturating_sub(1) {
        for j in 1..w.saturating_sub(1) {
            let v = map[[i, j]];
            let above = (i - 1..=i + 1).all(|a| (j - 1..=j + 1).all(|b| (a == i && b == j) || map[[a, b]] < v));
            if above {
                peaks.push((i, j));
            }
        }
    }
    peaks
}

/// Peak positions of every map of `(n, H, W)`.
pub fn all_peaks(maps: ArrayView3<'_, f64>) -> Vec<Vec<(usize, usize)>> {
    maps.axis_iter(Axis(0)).into_par_iter().map(find_peaks).collect()
}

/// The statistic at the given peaks of every map (from [`all_peaks`]): per
/// map a `(peaks, channels)` array.
pub fn values_at(maps: ArrayView3<'_, f64>, peaks: &[Vec<(usize, usize)>], stat: &PeakStatistic) -> Vec<Array2<f64>> {
    maps.axis_iter(Axis(0))
        .into_par_iter()
        .zip(peaks)
        .map(|(m, peaks)| {
            let mut flat = Vec::with_capacity(peaks.len() * stat.channels());
            for &(i, j) in peaks {
                stat.eval(&m, i, j, &mut flat);
            }
            Array2::from_shape_vec((peaks.len(), stat.channels()), flat).expect("peaks x channels")
        })
        .collect()
}

/// The statistic at every peak of every map: per map, a `(peaks, channels)` array.
pub fn peak_values(maps: ArrayView3<'_, f64>, stat: &PeakStatistic) -> Vec<Array2<f64>> {
    values_at(maps, &all_peaks(maps), stat)
}

/// Histogram bins per channel: `bins` equal bins over `[lo, hi)`; values
/// outside are not counted.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Binning {
    /// `(lo, hi)` per channel.
    pub ranges: Vec<(f64, f64)>,
    /// Bins per channel.
    pub bins: usize,
}

impl Binning {
    /// The same range for every channel.
    pub fn uniform(channels: usize, lo: f64, hi: f64, bins: usize) -> Self {
        Binning { ranges: vec![(lo, hi); channels], bins }
    }

    /// Per channel, the range between the `q` and `1 - q` quantiles of the
    /// values (e.g. the peak values of validation maps).
    pub fn from_quantiles(values: &[Array2<f64>], q: f64, bins: usize) -> Result<Self> {
        let channels = values.first().map_or(0, |v| v.ncols());
        let mut ranges = Vec::with_capacity(channels);
        for c in 0..channels {
            let mut all: Vec<f64> = values.iter().flat_map(|v| v.column(c).to_vec()).collect();
            if all.len() < 2 {
                return Err(Error::InvalidArgument {
                    reason: format!("{} peaks are too few to choose histogram bins", all.len()),
                });
            }
            all.sort_by(f64::total_cmp);
            let at = |p: f64| all[((all.len() - 1) as f64 * p).round() as usize];
            let (lo, hi) = (at(q), at(1.0 - q));
            ranges.push(if hi > lo { (lo, hi) } else { (lo - 0.5, lo + 0.5) });
        }
        Ok(Binning { ranges, bins })
    }

    /// The concatenated histogram of one map's peak values `(peaks, channels)`.
    pub fn histogram(&self, values: &Array2<f64>) -> Vec<f64> {
        let mut h = vec![0.0; self.ranges.len() * self.bins];
        for row in values.rows() {
            for (c, (&v, &(lo, hi))) in row.iter().zip(&self.ranges).enumerate() {
                if v >= lo && v < hi {
                    let b = (((v - lo) / (hi - lo)) * self.bins as f64) as usize;
                    h[c * self.bins + b.min(self.bins - 1)] += 1.0;
                }
            }
        }
        h
    }

    /// Histograms of many maps, one row each.
    pub fn histograms(&self, values: &[Array2<f64>]) -> Array2<f64> {
        let rows: Vec<Vec<f64>> = values.par_iter().map(|v| self.histogram(v)).collect();
        let width = self.ranges.len() * self.bins;
        Array2::from_shape_fn((rows.len(), width), |(i, j)| rows[i][j])
    }
}

/// Nearest-cosmology classifier on peak histograms (chi^2 with the
/// pseudo-inverse covariance of each class).
#[derive(Debug, Clone)]
pub struct PeakClassifier {
    /// The distinct parameter rows, one per class, in first-seen order.
    pub classes: Vec<Vec<f64>>,
    means: Vec<DVector<f64>>,
    precisions: Vec<DMatrix<f64>>,
}

/// Index of each row of `params` in the list of distinct rows (appended as seen).
pub fn class_ids(params: ArrayView2<'_, f64>, classes: &mut Vec<Vec<f64>>) -> Vec<usize> {
    params
        .rows()
        .into_iter()
        .map(|r| {
            let r = r.to_vec();
            match classes.iter().position(|c| *c == r) {
                Some(k) => k,
                None => {
                    classes.push(r);
                    classes.len() - 1
                }
            }
        })
        .collect()
}

impl PeakClassifier {
    /// Fit on training histograms `(n, features)` with parameter rows
    /// `(n, p)`; each distinct row is a class and needs at least 2 maps.
    pub fn fit(features: ArrayView2<'_, f64>, params: ArrayView2<'_, f64>) -> Result<Self> {
        if features.nrows() != params.nrows() {
            return Err(Error::ShapeMismatch {
                reason: format!("{} histograms but {} parameter rows", features.nrows(), params.nrows()),
            });
        }
        let mut classes = Vec::new();
        let ids = class_ids(params, &mut classes);
        let d = features.ncols();
        let fitted: Vec<(DVector<f64>, DMatrix<f64>)> = (0..classes.len())
            .into_par_iter()
            .map(|k| {
                let rows: Vec<usize> = (0..ids.len()).filter(|&i| ids[i] == k).collect();
                if rows.len() < 2 {
                    return Err(Error::InvalidArgument {
                        reason: format!(
                            "class (cosmology) {:?} has {} training sample(s); at least 2 are needed",
                            classes[k],
                            rows.len()
                        ),
                    });
                }
                let n = rows.len() as f64;
                let mean = DVector::from_fn(d, |j, _| rows.iter().map(|&i| features[[i, j]]).sum::<f64>() / n);
                let mut cov = DMatrix::zeros(d, d);
                for &i in &rows {
                    let x = DVector::from_fn(d, |j, _| features[[i, j]] - mean[j]);
                    cov.ger(1.0 / (n - 1.0), &x, &x, 1.0);
                }
                Ok((mean, pseudo_inverse(cov)))
            })
            .collect::<Result<_>>()?;
        let (means, precisions) = fitted.into_iter().unzip();
        Ok(PeakClassifier { classes, means, precisions })
    }

    /// The class means and pseudo-inverse covariances (row-major), for saving.
    pub fn parts(&self) -> (Vec<Vec<f64>>, Vec<Vec<f64>>) {
        let means = self.means.iter().map(|m| m.iter().copied().collect()).collect();
        let precisions = self.precisions.iter().map(|p| p.transpose().iter().copied().collect()).collect();
        (means, precisions)
    }

    /// Rebuild from [`PeakClassifier::parts`]; checks the sizes.
    pub fn from_parts(classes: Vec<Vec<f64>>, means: Vec<Vec<f64>>, precisions: Vec<Vec<f64>>) -> Result<Self> {
        let d = means.first().map_or(0, |m| m.len());
        let ok = !classes.is_empty()
            && classes.len() == means.len()
            && means.len() == precisions.len()
            && means.iter().all(|m| m.len() == d)
            && precisions.iter().all(|p| p.len() == d * d);
        if !ok {
            return Err(Error::ShapeMismatch {
                reason: format!(
                    "{} classes, {} means and {} covariance matrices do not fit together",
                    classes.len(),
                    means.len(),
                    precisions.len()
                ),
            });
        }
        Ok(PeakClassifier {
            classes,
            means: means.into_iter().map(DVector::from_vec).collect(),
            precisions: precisions.into_iter().map(|p| DMatrix::from_row_slice(d, d, &p)).collect(),
        })
    }

    /// Features per histogram.
    pub fn features(&self) -> usize {
        self.means.first().map_or(0, |m| m.len())
    }

    /// The chi^2 of a histogram against each class.
    pub fn chi2(&self, h: &[f64]) -> Vec<f64> {
        let h = DVector::from_column_slice(h);
        self.means
            .iter()
            .zip(&self.precisions)
            .map(|(mu, p)| {
                let r = &h - mu;
                (r.transpose() * p * &r)[(0, 0)]
            })
            .collect()
    }

    /// The chi^2 of every row of `features` against every class, `(rows, classes)`:
    /// per class one matrix product `(H - 1 mu^T) Sigma^+`, classes in parallel.
    pub fn chi2_all(&self, features: ArrayView2<'_, f64>) -> Array2<f64> {
        let (n, d) = features.dim();
        let h = DMatrix::from_fn(n, d, |i, j| features[[i, j]]);
        let cols: Vec<Vec<f64>> = self
            .means
            .par_iter()
            .zip(&self.precisions)
            .map(|(mu, p)| {
                let mut r = h.clone();
                for (j, mut col) in r.column_iter_mut().enumerate() {
                    col.add_scalar_mut(-mu[j]);
                }
                let m = &r * p;
                (0..n).map(|i| m.row(i).dot(&r.row(i))).collect()
            })
            .collect();
        Array2::from_shape_fn((n, cols.len()), |(i, k)| cols[k][i])
    }

    /// The predicted class of each row of `features`.
    pub fn predict(&self, features: ArrayView2<'_, f64>) -> Vec<usize> {
        self.chi2_all(features)
            .rows()
            .into_iter()
            .map(|c| (0..c.len()).min_by(|&a, &b| c[a].total_cmp(&c[b])).unwrap_or(0))
            .collect()
    }

    /// The posterior mean of parameter column `col` for each row of
    /// `features`: the classes' values weighted by `exp(-chi^2 / 2)` (a flat
    /// prior over the classes; computed stably from the smallest chi^2).
    pub fn posterior_mean(&self, features: ArrayView2<'_, f64>, col: usize) -> Vec<f64> {
        self.chi2_all(features)
            .rows()
            .into_iter()
            .map(|c| {
                let min = c.iter().cloned().fold(f64::INFINITY, f64::min);
                let w: Vec<f64> = c.iter().map(|&x| (-(x - min) / 2.0).exp()).collect();
                let total: f64 = w.iter().sum();
                w.iter().zip(&self.classes).map(|(wk, cl)| wk * cl[col]).sum::<f64>() / total
            })
            .collect()
    }

    /// The prediction of parameter column `col` for each row of `features`
    /// by `estimator`.
    pub fn estimate(&self, features: ArrayView2<'_, f64>, col: usize, estimator: Estimator) -> Vec<f64> {
        match estimator {
            Estimator::NearestCosmology => self.predict_param(features, col),
            Estimator::PosteriorMean => self.posterior_mean(features, col),
        }
    }

    /// Predicted value of parameter column `col` for each row of `features`.
    pub fn predict_param(&self, features: ArrayView2<'_, f64>, col: usize) -> Vec<f64> {
        self.predict(features).into_iter().map(|k| self.classes[k][col]).collect()
    }
}

/// Moore-Penrose pseudo-inverse of a symmetric positive semi-definite matrix
/// (eigenvalues below `1e-10` of the largest are treated as 0).
fn pseudo_inverse(m: DMatrix<f64>) -> DMatrix<f64> {
    // features of zero variance (bins no map of the class reaches) get zero
    // precision; the rest is inverted on its own (the eigensolver returns
    // NaN on matrices with many exact zero rows)
    let d = m.nrows();
    let live: Vec<usize> = (0..d).filter(|&j| m[(j, j)] > 0.0).collect();
    let sub = DMatrix::from_fn(live.len(), live.len(), |a, b| m[(live[a], live[b])]);
    let inv_sub = pseudo_inverse_dense(sub);
    let mut out = DMatrix::zeros(d, d);
    for (a, &i) in live.iter().enumerate() {
        for (b, &j) in live.iter().enumerate() {
            out[(i, j)] = inv_sub[(a, b)];
        }
    }
    out
}

/// Pseudo-inverse through the symmetric eigendecomposition, or through the
/// SVD where the eigensolver fails to give finite values.
fn pseudo_inverse_dense(m: DMatrix<f64>) -> DMatrix<f64> {
    let eig = m.clone().symmetric_eigen();
    if eig.eigenvalues.iter().chain(eig.eigenvectors.iter()).all(|v| v.is_finite()) {
        let top = eig.eigenvalues.iter().cloned().fold(0.0, f64::max);
        let cut = top * PSEUDO_INVERSE_CUT;
        let inv = eig.eigenvalues.map(|v| if v > cut { 1.0 / v } else { 0.0 });
        return &eig.eigenvectors * DMatrix::from_diagonal(&inv) * eig.eigenvectors.transpose();
    }
    let svd = m.svd(true, true);
    let top = svd.singular_values.iter().cloned().fold(0.0, f64::max);
    svd.pseudo_inverse(top * PSEUDO_INVERSE_CUT).expect("both factors were computed")
}

/// Eigenvalues below this fraction of the largest are treated as zero.
const PSEUDO_INVERSE_CUT: f64 = 1e-10;

/// Root mean squared error.
pub fn rmse(pred: &[f64], truth: &[f64]) -> f64 {
    let n = pred.len().max(1) as f64;
    (pred.iter().zip(truth).map(|(p, t)| (p - t) * (p - t)).sum::<f64>() / n).sqrt()
}

/// The RMSE and its bootstrap standard deviation over `resamples` resamples
/// of the pairs, with replacement (seeded).
pub fn rmse_bootstrap(pred: &[f64], truth: &[f64], resamples: usize, seed: u64) -> (f64, f64) {
    let value = rmse(pred, truth);
    let n = pred.len();
    if n == 0 || resamples < 2 {
        return (value, 0.0);
    }
    let sq: Vec<f64> = pred.iter().zip(truth).map(|(p, t)| (p - t) * (p - t)).collect();
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let draws: Vec<f64> =
        (0..resamples).map(|_| ((0..n).map(|_| sq[rng.random_range(0..n)]).sum::<f64>() / n as f64).sqrt()).collect();
    let mean = draws.iter().sum::<f64>() / resamples as f64;
    let var = draws.iter().map(|d| (d - mean) * (d - mean)).sum::<f64>() / (resamples - 1) as f64;
    (value, var.sqrt())
}

/// The RMSE of each of `preds` on the same `resamples` bootstrap resamples
/// of the samples, drawn within each stratum (one row per resample, one
/// column per model): [`crate::interp::bootstrap_paired`] with the RMSE.
pub fn rmse_bootstrap_paired(
    preds: &[ndarray::ArrayView1<'_, f64>],
    truth: ndarray::ArrayView1<'_, f64>,
    strata: &[i64],
    resamples: usize,
    seed: u64,
) -> Result<Array2<f64>> {
    crate::interp::bootstrap_paired(preds, truth, strata, resamples, seed, &|p, t| {
        let n = p.len().max(1) as f64;
        (p.iter().zip(t.iter()).map(|(a, b)| (a - b) * (a - b)).sum::<f64>() / n).sqrt()
    })
}

/// The four 2-D analysis filters of one level, `LL, LH, HL, HH` (outer
/// products of the lowpass/highpass reconstruction filters; as correlation
/// kernels they are the convolutions with the decomposition filters), each
/// cut to the 3x3 window holding most of its energy.
pub fn wavelet_subfilters(w: &Wavelet) -> [Kernel3; 4] {
    let (lo, hi) = (w.rec_lo.as_slice(), w.rec_hi.as_slice());
    let pairs = [(lo, lo), (lo, hi), (hi, lo), (hi, hi)];
    pairs.map(|(a, b)| best_window(a, b))
}

/// The 3x3 window of `outer(a, b)` of largest energy.
fn best_window(a: &[f64], b: &[f64]) -> Kernel3 {
    // filters shorter than 3 taps (haar) are padded with zeros
    let pad =
        |f: &[f64]| -> Vec<f64> { f.iter().cloned().chain(std::iter::repeat(0.0)).take(f.len().max(3)).collect() };
    let (a, b) = (pad(a), pad(b));
    let full = |i: usize, j: usize| a[i] * b[j];
    let (n, m) = (a.len(), b.len());
    let mut best = (f64::NEG_INFINITY, 0, 0);
    for i in 0..=n.saturating_sub(3) {
        for j in 0..=m.saturating_sub(3) {
            let e: f64 =
                (0..3).flat_map(|x| (0..3).map(move |y| (x, y))).map(|(x, y)| full(i + x, j + y).powi(2)).sum();
            if e > best.0 {
                best = (e, i, j);
            }
        }
    }
    let (_, i0, j0) = best;
    let mut k = [[0.0; 3]; 3];
    for (x, row) in k.iter_mut().enumerate() {
        for (y, v) in row.iter_mut().enumerate() {
            *v = full(i0 + x, j0 + y);
        }
    }
    k
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::{array, Array3};

    #[test]
    fn peaks_are_strict_local_maxima_off_the_border() {
        let m = array![[0.0, 0.0, 0.0, 9.0], [0.0, 5.0, 1.0, 0.0], [0.0, 1.0, 2.0, 2.0], [0.0, 0.0, 0.0, 0.0]];
        // 9 is on the border; 5 is a peak; 2 ties with its neighbour
        assert_eq!(find_peaks(m.view()), vec![(1, 1)]);
    }

    #[test]
    fn statistics_at_a_peak() {
        let m = array![[0.0, 1.0, 0.0], [2.0, 5.0, 1.0], [0.0, 1.0, 0.0]];
        let mut out = Vec::new();
        PeakStatistic::Laplace.eval(&m.view(), 1, 1, &mut out);
        assert_eq!(out, vec![20.0 - 5.0]);
        out.clear();
        PeakStatistic::Roberts.eval(&m.view(), 1, 1, &mut out);
        let blocks = [(0.0, 1.0, 2.0, 5.0), (1.0, 0.0, 5.0, 1.0), (2.0, 5.0, 0.0, 1.0), (5.0, 1.0, 1.0, 0.0)];
        let want: f64 =
            blocks.iter().map(|&(p, q, r, t): &(f64, f64, f64, f64)| ((p - t).powi(2) + (q - r).powi(2)).sqrt()).sum();
        assert!((out[0] - want).abs() < 1e-12);
        out.clear();
        let id = [[0.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 0.0]];
        let shift = [[0.0, 1.0, 0.0], [0.0, 0.0, 0.0], [0.0, 0.0, 0.0]];
        PeakStatistic::Kernels(vec![id, shift]).eval(&m.view(), 1, 1, &mut out);
        assert_eq!(out, vec![5.0, 1.0]);
        // 9-point Laplacian: (20 * 5 - 4 * (1 + 2 + 1 + 1) - 0) / 6
        out.clear();
        PeakStatistic::Laplace9.eval(&m.view(), 1, 1, &mut out);
        assert!((out[0] - 80.0 / 6.0).abs() < 1e-12);
        // on the quadratic (x + y)^2 the negative Laplacian is -4 exactly
        let quad = Array2::from_shape_fn((3, 3), |(i, j)| {
            let (x, y) = (i as f64 - 1.0, j as f64 - 1.0);
            x * x + y * y + 2.0 * x * y
        });
        out.clear();
        PeakStatistic::Laplace9.eval(&quad.view(), 1, 1, &mut out);
        assert!((out[0] + 4.0).abs() < 1e-12, "{out:?}");
    }

    #[test]
    fn posterior_mean_weighs_classes_by_their_likelihood() {
        // two classes far apart: the posterior mean equals the nearest class's value; a histogram
        // halfway between gets a value halfway between
        let feats =
            Array2::from_shape_fn(
                (40, 1),
                |(i, _)| if i < 20 { (i % 4) as f64 * 0.1 } else { 5.0 + (i % 4) as f64 * 0.1 },
            );
        let params = Array2::from_shape_fn((40, 1), |(i, _)| if i < 20 { 0.2 } else { 0.4 });
        let c = PeakClassifier::fit(feats.view(), params.view()).unwrap();
        let probe = ndarray::array![[0.15], [5.15], [2.65]];
        let pm = c.posterior_mean(probe.view(), 0);
        assert!((pm[0] - 0.2).abs() < 1e-9 && (pm[1] - 0.4).abs() < 1e-9, "{pm:?}");
        assert!((pm[2] - 0.3).abs() < 1e-9, "{pm:?}");
        // nearest-class prediction agrees where the posterior is sharp
        assert_eq!(c.predict_param(probe.view(), 0)[..2], [0.2, 0.4]);
    }

    #[test]
    fn histogram_counts_in_range_only() {
        let b = Binning::uniform(1, 0.0, 1.0, 4);
        let v = Array2::from_shape_vec((5, 1), vec![0.1, 0.3, 0.35, 0.99, 1.5]).unwrap();
        assert_eq!(b.histogram(&v), vec![1.0, 2.0, 0.0, 1.0]);
    }

    #[test]
    fn classifier_separates_two_distinct_classes() {
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        let n = 40;
        let feats = Array2::from_shape_fn((2 * n, 3), |(i, j)| {
            let centre = if i < n { 0.0 } else { 1.0 };
            centre + 0.1 * (j as f64) + 0.05 * (rng.random::<f64>() - 0.5)
        });
        let params = Array2::from_shape_fn((2 * n, 2), |(i, _)| if i < n { 0.2 } else { 0.4 });
        let c = PeakClassifier::fit(feats.view(), params.view()).unwrap();
        let pred = c.predict_param(feats.view(), 1);
        let all = c.chi2_all(feats.view());
        for i in [0, n + 3] {
            let one = c.chi2(feats.row(i).as_slice().unwrap());
            assert!(one.iter().zip(all.row(i)).all(|(a, b)| (a - b).abs() <= 1e-9 * a.abs().max(1.0)));
        }
        assert!(pred.iter().take(n).all(|&p| p == 0.2) && pred.iter().skip(n).all(|&p| p == 0.4));
        let one = Array2::from_shape_fn((3, 2), |(i, _)| i as f64);
        let e = PeakClassifier::fit(Array2::zeros((3, 3)).view(), one.view()).unwrap_err().to_string();
        assert!(e.contains("at least 2"), "{e}");
    }

    #[test]
    fn bootstrap_std_shrinks_with_more_samples() {
        let truth: Vec<f64> = (0..400).map(|i| (i % 7) as f64).collect();
        let pred: Vec<f64> = truth.iter().enumerate().map(|(i, t)| t + if i % 3 == 0 { 1.0 } else { 0.0 }).collect();
        let (v, s) = rmse_bootstrap(&pred, &truth, 2000, 0);
        assert!((v - (134.0f64 / 400.0).sqrt()).abs() < 1e-12);
        let (_, s_small) = rmse_bootstrap(&pred[..40], &truth[..40], 2000, 0);
        assert!(s > 0.0 && s_small > 2.0 * s, "{s} vs {s_small}");
    }

    #[test]
    fn haar_subfilters_are_the_2x2_haar_filters_padded() {
        let w = Wavelet::from_name("haar").unwrap();
        let k = wavelet_subfilters(&w);
        let energy: f64 = k[0].iter().flatten().map(|v| v * v).sum();
        assert!((energy - 1.0).abs() < 1e-12);
        let maps = Array3::<f64>::zeros((2, 5, 5));
        let v = peak_values(maps.view(), &PeakStatistic::Kernels(k.to_vec()));
        assert_eq!(v.len(), 2);
        assert_eq!(v[0].dim(), (0, 4));
    }
}
