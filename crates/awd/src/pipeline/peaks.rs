//! Peak counting (paper §4.3): the statistics' bins, fitting and scoring a
//! peak-counting model on train / validation / test parts; used by the
//! cosmology experiment and by `distill` for 2-D data.

use awd_core::peaks::{
    all_peaks, peak_values, rmse_bootstrap, values_at, wavelet_subfilters, Binning, PeakClassifier, PeakCountModel,
    PeakStatistic,
};
use awd_core::Wavelet;
use ndarray::{Array2, ArrayView2, ArrayView3};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, StandardNormal};
use serde::Serialize;

use crate::error::Result;

/// Histogram bins per channel: the paper's 0 to 0.22 in steps of 0.01.
pub const BINS: usize = 22;
/// Bootstrap resamples of the test RMSE.
pub const BOOTSTRAP: usize = 10_000;
/// Quantile cut of ranges chosen on validation maps (each side).
const QUANTILE: f64 = 0.005;

/// Column of Omega_m in the parameter arrays.
pub const OMEGA_M: usize = 1;

/// How a filter's histogram range is chosen.
#[derive(Debug, Clone, Copy, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RangeRule {
    /// `[0, c sigma_noise]`, `c` the 99.5 % quantile of the statistic at
    /// peaks of unit white noise (the paper's fixed bins, scaled to the noise).
    NoiseScaled,
    /// The 0.5 % and 99.5 % quantiles of the validation maps' peak values.
    Validation,
}

/// One peak-counting model evaluated.
#[derive(Debug, Clone, Serialize)]
pub struct PeakEval {
    /// RMSE of Omega_m on the validation maps.
    pub val_rmse: f64,
    /// RMSE of Omega_m on the test maps.
    pub value: f64,
    /// Its bootstrap standard deviation.
    pub std: f64,
    /// Bins used.
    pub binning: Binning,
    /// The fitted nearest-cosmology model (its class means are Fig. D1's curves).
    #[serde(skip)]
    pub classifier: PeakClassifier,
    /// The statistic it counts.
    #[serde(skip)]
    pub statistic: PeakStatistic,
}

impl PeakEval {
    /// The fitted model as a file (with the wavelet's lowpass for AWD and db5),
    /// predicting parameter column `target` and recording the map size.
    pub fn model_for(&self, lowpass: Option<Vec<f64>>, target: usize, shape: (usize, usize)) -> PeakCountModel {
        PeakCountModel::new(self.statistic.clone(), self.binning.clone(), &self.classifier, target, lowpass)
            .with_map_shape(shape.0, shape.1)
    }
}

/// Maps of one part with their parameters and peaks (found once, shared by
/// every statistic and grid point).
pub struct Part<'a> {
    /// Maps `(n, H, W)`.
    pub maps: ArrayView3<'a, f64>,
    /// Parameters `(n, p)`.
    pub params: ArrayView2<'a, f64>,
    /// Peak positions per map.
    peaks: Vec<Vec<(usize, usize)>>,
}

impl<'a> Part<'a> {
    /// A part and its peaks.
    pub fn new(maps: ArrayView3<'a, f64>, params: ArrayView2<'a, f64>) -> Self {
        Part { maps, params, peaks: all_peaks(maps) }
    }

    /// The statistic at this part's peaks.
    pub fn values(&self, stat: &PeakStatistic) -> Vec<Array2<f64>> {
        values_at(self.maps, &self.peaks, stat)
    }

    /// Omega_m of each map.
    pub fn omega(&self) -> Vec<f64> {
        self.params.column(OMEGA_M).to_vec()
    }
}

/// Maps `(n, H, W)` as rows `(n, H*W)`.
pub fn flat(maps: ArrayView3<'_, f64>) -> ArrayView2<'_, f64> {
    let (n, h, w) = maps.dim();
    maps.into_shape_with_order((n, h * w)).expect("standard layout maps")
}

/// Scale of a statistic at peaks of unit white noise (99.5 % quantile).
fn noise_quantile(stat: &PeakStatistic, size: usize, seed: u64) -> f64 {
    let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0x5eed);
    let maps = ndarray::Array3::from_shape_simple_fn((40, size, size), || StandardNormal.sample(&mut rng));
    let vals = peak_values(maps.view(), stat);
    let mut all: Vec<f64> = vals.iter().flat_map(|v| v.iter().copied().collect::<Vec<_>>()).collect();
    all.sort_by(f64::total_cmp);
    all[((all.len() - 1) as f64 * (1.0 - QUANTILE)) as usize]
}

/// Fit and score peak counting with `stat` on the three parts.
pub fn evaluate(
    stat: &PeakStatistic,
    rule: RangeRule,
    noise_std: f64,
    parts: [&Part<'_>; 3],
    seed: u64,
) -> Result<PeakEval> {
    let [train, val, test] = parts;
    let vals = val.values(stat);
    let binning = match rule {
        RangeRule::NoiseScaled if noise_std > 0.0 => {
            let hi = noise_quantile(stat, train.maps.dim().1.max(16), seed) * noise_std;
            Binning::uniform(stat.channels(), 0.0, hi, BINS)
        }
        _ => Binning::from_quantiles(&vals, QUANTILE, BINS)?,
    };
    let h_train = binning.histograms(&train.values(stat));
    let h_val = binning.histograms(&vals);
    let h_test = binning.histograms(&test.values(stat));
    let clf = PeakClassifier::fit(h_train.view(), train.params)?;
    let val_rmse = awd_core::peaks::rmse(&clf.predict_param(h_val.view(), OMEGA_M), &val.omega());
    let (value, std) = rmse_bootstrap(&clf.predict_param(h_test.view(), OMEGA_M), &test.omega(), BOOTSTRAP, seed);
    Ok(PeakEval { val_rmse, value, std, binning, classifier: clf, statistic: stat.clone() })
}

/// The wavelet's four 3x3 sub-filters as a peak statistic.
pub fn subfilter_stat(lowpass: &[f64]) -> Result<PeakStatistic> {
    let w = Wavelet::from_lowpass("h", lowpass)?;
    Ok(PeakStatistic::Kernels(wavelet_subfilters(&w).to_vec()))
}
