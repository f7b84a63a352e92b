//! Peak counting (paper §4.3): the statistics' bins, fitting and scoring a
//! peak-counting model on train / validation / test parts; used by the
//! cosmology experiment and by `distill` for 2-D data.

use awd_core::peaks::{
    all_peaks, peak_values, rmse, rmse_bootstrap, values_at, wavelet_subfilters, Binning, Estimator, PeakClassifier,
    PeakCountModel, PeakStatistic,
};
use awd_core::Wavelet;
use ndarray::{Array2, ArrayView2, ArrayView3};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, StandardNormal};
use serde::Serialize;

use super::distill::{PEAK_BINS, PEAK_QUANTILE};
use crate::error::Result;

/// Histogram bins per channel: the paper's 0 to 0.22 in steps of 0.01.
pub const BINS: usize = PEAK_BINS;
/// Bins per channel tried for the posterior-mean estimator (chosen on the
/// validation maps, jointly with the wavelet for AWD).
pub const POSTERIOR_BINS: [usize; 4] = [6, 10, 16, 22];
/// Bootstrap resamples of the test RMSE.
pub const BOOTSTRAP: usize = 10_000;
/// Quantile cut (each side) of ranges chosen on the training maps (the
/// rule of [`crate::pipeline::distill()`]).
const QUANTILE: f64 = PEAK_QUANTILE;

/// Column of Omega_m in the parameter arrays.
pub const OMEGA_M: usize = 1;

/// How a filter's histogram range is chosen.
#[derive(Debug, Clone, Copy, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RangeRule {
    /// `[0, c sigma_noise]`, `c` the 99.5 % quantile of the statistic at
    /// peaks of unit white noise (the paper's fixed bins, scaled to the noise).
    NoiseScaled,
    /// The 0.5 % and 99.5 % quantiles of the training maps' peak values
    /// (no targets read; the rule of [`crate::pipeline::distill()`]).
    Training,
}

/// The posterior-mean estimator of a statistic, at its best bins.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PosteriorEval {
    /// Bins per channel (chosen on the validation maps).
    pub bins: usize,
    /// RMSE of Omega_m on the validation maps.
    pub val_rmse: f64,
    /// RMSE on the test maps.
    pub value: f64,
    /// Its bootstrap standard deviation (the same resamples as the nearest-cosmology one's).
    pub std: f64,
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
    /// The posterior mean of Omega_m over the cosmologies (weights
    /// `exp(-chi^2 / 2)`), bins from [`POSTERIOR_BINS`] chosen on validation.
    pub posterior: PosteriorEval,
    /// The fitted nearest-cosmology model (its class means are Fig. D1's curves).
    #[serde(skip)]
    pub classifier: PeakClassifier,
    /// The fitted posterior-mean model (at its own bins).
    #[serde(skip)]
    pub posterior_classifier: PeakClassifier,
    /// The posterior-mean model's bins.
    #[serde(skip)]
    pub posterior_binning: Binning,
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

    /// The fitted posterior-mean model as a file, like [`PeakEval::model_for`].
    pub fn posterior_model_for(
        &self,
        lowpass: Option<Vec<f64>>,
        target: usize,
        shape: (usize, usize),
    ) -> PeakCountModel {
        PeakCountModel::new(
            self.statistic.clone(),
            self.posterior_binning.clone(),
            &self.posterior_classifier,
            target,
            lowpass,
        )
        .with_map_shape(shape.0, shape.1)
        .with_estimator(Estimator::PosteriorMean)
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
    let (v_train, v_val, v_test) = (train.values(stat), val.values(stat), test.values(stat));
    // the noise-scaled range is simulated once, shared by every bins choice
    let noise_hi = match rule {
        RangeRule::NoiseScaled if noise_std > 0.0 => {
            Some(noise_quantile(stat, train.maps.dim().1.max(16), seed) * noise_std)
        }
        _ => None,
    };
    let binning_for = |bins: usize| -> Result<Binning> {
        Ok(match noise_hi {
            Some(hi) => Binning::uniform(stat.channels(), 0.0, hi, bins),
            None => Binning::from_quantiles(&v_train, QUANTILE, bins)?,
        })
    };
    let fitted = |binning: &Binning| -> Result<(PeakClassifier, Array2<f64>, Array2<f64>)> {
        let clf = PeakClassifier::fit(binning.histograms(&v_train).view(), train.params)?;
        Ok((clf, binning.histograms(&v_val), binning.histograms(&v_test)))
    };
    let (omega_val, omega_test) = (val.omega(), test.omega());
    let binning = binning_for(BINS)?;
    let (clf, h_val, h_test) = fitted(&binning)?;
    let val_rmse = rmse(&clf.predict_param(h_val.view(), OMEGA_M), &omega_val);
    let (value, std) = rmse_bootstrap(&clf.predict_param(h_test.view(), OMEGA_M), &omega_test, BOOTSTRAP, seed);
    let mut posterior: Option<(PosteriorEval, PeakClassifier, Binning)> = None;
    for bins in POSTERIOR_BINS {
        let (b, (c, hv, ht)) = if bins == BINS {
            (binning.clone(), (clf.clone(), h_val.clone(), h_test.clone()))
        } else {
            let b = binning_for(bins)?;
            let fit = fitted(&b)?;
            (b, fit)
        };
        let v = rmse(&c.posterior_mean(hv.view(), OMEGA_M), &omega_val);
        if posterior.as_ref().is_none_or(|(p, _, _)| v < p.val_rmse) {
            let (value, std) = rmse_bootstrap(&c.posterior_mean(ht.view(), OMEGA_M), &omega_test, BOOTSTRAP, seed);
            posterior = Some((PosteriorEval { bins, val_rmse: v, value, std }, c, b));
        }
    }
    let (posterior, posterior_classifier, posterior_binning) = posterior.expect("bins to try");
    Ok(PeakEval {
        val_rmse,
        value,
        std,
        binning,
        posterior,
        classifier: clf,
        posterior_classifier,
        posterior_binning,
        statistic: stat.clone(),
    })
}

/// RMSE of Omega_m predicted by always answering the training maps' mean
/// (the trivial baseline), with its bootstrap std.
pub fn constant_rmse(train: &Part<'_>, test: &Part<'_>, seed: u64) -> (f64, f64) {
    let omega = train.omega();
    let mean = omega.iter().sum::<f64>() / omega.len().max(1) as f64;
    let truth = test.omega();
    rmse_bootstrap(&vec![mean; truth.len()], &truth, BOOTSTRAP, seed)
}

/// The wavelet's four 3x3 sub-filters as a peak statistic.
pub fn subfilter_stat(lowpass: &[f64]) -> Result<PeakStatistic> {
    let w = Wavelet::from_lowpass("h", lowpass)?;
    Ok(PeakStatistic::Kernels(wavelet_subfilters(&w).to_vec()))
}

/// Bins per channel tried for multi-scale peak counting (its histograms are
/// `(levels + 1) x 5` channels wide, so fewer bins than one scale's).
pub const MULTISCALE_BINS: [usize; 3] = [4, 6, 10];

/// Multi-scale peak counting (a declared extension of the paper, applied to
/// db5 and AWD alike): at the map and at the approximation of every level of
/// the wavelet's transform, the peaks' height and the four 3x3 sub-filter
/// responses, one histogram per level and channel, concatenated; bins per
/// channel from [`MULTISCALE_BINS`] and the estimator's score chosen on the
/// validation maps.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MultiScaleEval {
    /// Levels of approximation used (the map itself is level 0).
    pub levels: usize,
    /// Nearest cosmology, at the bins of best validation RMSE.
    pub nearest: PosteriorEval,
    /// Posterior mean, at its bins of best validation RMSE.
    pub posterior: PosteriorEval,
}

/// The maps and their approximations at levels `1..=levels` (zero mode).
fn approximations(maps: ArrayView3<'_, f64>, wavelet: &Wavelet, levels: usize) -> Result<Vec<ndarray::Array3<f64>>> {
    let mut out = vec![maps.to_owned()];
    for _ in 0..levels {
        let last = out.last().expect("the maps");
        let (_, h, w) = last.dim();
        if h < 3 || w < 3 {
            break;
        }
        let plan = awd_core::dwt::Plan2d::with_boundary_levels((h, w), wavelet, awd_core::Mode::Zero, 1)?;
        let next = plan.wavedec2(last.view())?.approx().to_owned();
        out.push(next);
    }
    Ok(out)
}

/// Per level, the statistic (height and the sub-filters) at its peaks.
fn multiscale_values(
    maps: ArrayView3<'_, f64>,
    wavelet: &Wavelet,
    levels: usize,
    stat: &PeakStatistic,
) -> Result<Vec<Vec<Array2<f64>>>> {
    Ok(approximations(maps, wavelet, levels)?.iter().map(|a| peak_values(a.view(), stat)).collect())
}

/// Evaluate multi-scale peak counting of `lowpass` with `levels` levels.
pub fn evaluate_multiscale(lowpass: &[f64], levels: usize, parts: [&Part<'_>; 3], seed: u64) -> Result<MultiScaleEval> {
    let [train, val, test] = parts;
    let (_, eval) = multiscale(lowpass, levels, train, val, Some((test, seed)))?;
    Ok(eval.expect("test maps given"))
}

/// One estimator's score on the validation maps at its best bins.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ValidationScore {
    /// Bins per channel (chosen on the validation maps).
    pub bins: usize,
    /// RMSE of Omega_m on the validation maps.
    pub val_rmse: f64,
}

/// Multi-scale peak counting scored on the validation maps only: what
/// selecting a grid point needs (the test maps are scored once, at the
/// selected point, by [`evaluate_multiscale`]).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MultiScaleValidation {
    /// Levels of approximation used (the map itself is level 0).
    pub levels: usize,
    /// Nearest cosmology.
    pub nearest: ValidationScore,
    /// Posterior mean.
    pub posterior: ValidationScore,
}

/// [`evaluate_multiscale`] on the training and validation maps only.
pub fn validate_multiscale(
    lowpass: &[f64],
    levels: usize,
    train: &Part<'_>,
    val: &Part<'_>,
) -> Result<MultiScaleValidation> {
    Ok(multiscale(lowpass, levels, train, val, None)?.0)
}

/// Multi-scale peak counting fitted on `train`, bins chosen per estimator on
/// `val`; with `test` (and the bootstrap seed), those choices scored there.
fn multiscale(
    lowpass: &[f64],
    levels: usize,
    train: &Part<'_>,
    val: &Part<'_>,
    test: Option<(&Part<'_>, u64)>,
) -> Result<(MultiScaleValidation, Option<MultiScaleEval>)> {
    let wavelet = Wavelet::from_lowpass("h", lowpass)?;
    let mut kernels = wavelet_subfilters(&wavelet).to_vec();
    kernels.insert(0, [[0.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 0.0]]);
    let stat = PeakStatistic::Kernels(kernels);
    let v_train = multiscale_values(train.maps, &wavelet, levels, &stat)?;
    let v_val = multiscale_values(val.maps, &wavelet, levels, &stat)?;
    let v_test = match test {
        Some((t, _)) => Some(multiscale_values(t.maps, &wavelet, levels, &stat)?),
        None => None,
    };
    let used = v_train.len().min(v_val.len()).min(v_test.as_ref().map_or(usize::MAX, Vec::len));
    let omega_val = val.omega();
    // per estimator: the validation score and, with test maps, the test
    // predictions at the best bins so far
    let mut nearest: Option<(ValidationScore, Option<Vec<f64>>)> = None;
    let mut posterior: Option<(ValidationScore, Option<Vec<f64>>)> = None;
    for bins in MULTISCALE_BINS {
        // bins per level from the training maps' peak values at that level
        let mut binnings = Vec::with_capacity(used);
        for values in v_train.iter().take(used) {
            binnings.push(Binning::from_quantiles(values, QUANTILE, bins)?);
        }
        let features = |v: &[Vec<Array2<f64>>]| -> Array2<f64> {
            let per_level: Vec<Array2<f64>> = binnings.iter().zip(v).map(|(b, vals)| b.histograms(vals)).collect();
            let views: Vec<_> = per_level.iter().map(|a| a.view()).collect();
            ndarray::concatenate(ndarray::Axis(1), &views).expect("same maps")
        };
        let (h_train, h_val) = (features(&v_train), features(&v_val));
        let h_test = v_test.as_deref().map(features);
        let clf = PeakClassifier::fit(h_train.view(), train.params)?;
        for (slot, predict) in [
            (
                &mut nearest,
                &(|h: ArrayView2<'_, f64>| clf.predict_param(h, OMEGA_M)) as &dyn Fn(ArrayView2<'_, f64>) -> Vec<f64>,
            ),
            (&mut posterior, &|h: ArrayView2<'_, f64>| clf.posterior_mean(h, OMEGA_M)),
        ] {
            let v = rmse(&predict(h_val.view()), &omega_val);
            if slot.as_ref().is_none_or(|(p, _)| v < p.val_rmse) {
                *slot = Some((ValidationScore { bins, val_rmse: v }, h_test.as_ref().map(|h| predict(h.view()))));
            }
        }
    }
    let (nearest, posterior) = (nearest.expect("bins to try"), posterior.expect("bins to try"));
    let validation =
        MultiScaleValidation { levels: used - 1, nearest: nearest.0.clone(), posterior: posterior.0.clone() };
    let eval = test.map(|(t, seed)| {
        let omega_test = t.omega();
        let scored = |(score, pred): (ValidationScore, Option<Vec<f64>>)| {
            let (value, std) = rmse_bootstrap(&pred.expect("test maps given"), &omega_test, BOOTSTRAP, seed);
            PosteriorEval { bins: score.bins, val_rmse: score.val_rmse, value, std }
        };
        MultiScaleEval { levels: used - 1, nearest: scored(nearest), posterior: scored(posterior) }
    });
    Ok((validation, eval))
}

#[cfg(test)]
mod tests {
    use super::*;
    use awd_core::data::cosmology::ClTable;
    use awd_core::data::lognormal::{simulate_maps, MapSpec, ShapeNoise, SplitCounts};

    #[test]
    fn scoring_the_validation_maps_alone_makes_the_same_choices_as_the_full_evaluation() {
        let spec = MapSpec { size: 32, pixel_arcmin: 1.6, noise: ShapeNoise { sigma_e: 0.3, n_gal: 30.0 } };
        let m = simulate_maps(&ClTable::built_in(), spec, SplitCounts::new(12, 6, 6).unwrap(), 2, &|| {}).unwrap();
        let parts = [&m.train, &m.val, &m.test].map(|p| Part::new(p.maps.view(), p.params.view()));
        // a filter that is not db5, so the choice depends on the lowpass
        let h = [0.0, 0.0, 0.0, 0.0, 0.5f64.sqrt(), 0.5f64.sqrt(), 0.0, 0.0, 0.0, 0.0];
        for lowpass in [Wavelet::from_name("db5").unwrap().rec_lo, h.to_vec()] {
            let full = evaluate_multiscale(&lowpass, 2, [&parts[0], &parts[1], &parts[2]], 7).unwrap();
            let val = validate_multiscale(&lowpass, 2, &parts[0], &parts[1]).unwrap();
            assert_eq!(val.levels, full.levels);
            for (v, f) in [(&val.nearest, &full.nearest), (&val.posterior, &full.posterior)] {
                assert_eq!((v.bins, v.val_rmse), (f.bins, f.val_rmse));
                assert!(f.value.is_finite() && f.std > 0.0);
            }
        }
    }
}
