//! `distill`: the method on anyone's data. A resumable sweep over a lambda x
//! gamma grid (per seed) -> the interpretable model scored at every grid
//! point, by cross-validation on the training data (one set of folds for
//! every point and seed; grouped when groups are given) or, when a
//! validation set is given, fitted on all training data and scored on it ->
//! selection -> the final model on all training data -> evaluation on the
//! test set against the same model on the initial wavelet.

use std::path::{Path, PathBuf};

use awd_core::distill::{
    initial_filter, sweep, Attribution, FitSettings, Geometry, Penalties, Problem, Progress, SweepPoint, SweepSpec,
    ValidityWeights,
};
use awd_core::interp::{
    active_count, bootstrap_r2_paired, bootstrap_r2_std, cross_val_r2_folds, r2, FeatureSign, Folds, LinearModel,
};
use awd_core::io::IoError;
use awd_core::peaks::{
    all_peaks, rmse, rmse_bootstrap, rmse_bootstrap_paired, values_at, Binning, Estimator, PeakClassifier,
    PeakStatistic,
};
use awd_core::{Mode, Wavelet};
use ndarray::{Array2, ArrayView1, ArrayView2, Axis, CowArray, Ix2};
use serde::{Deserialize, Serialize};

use super::data::{Data, Part};
use super::stages::{prepare_dir, write_text, Interval, MeanStd, Timings};
use crate::error::{Error, Result};
use crate::model::{SavedModel, TopKModel, TOPK_MODEL_KIND};

/// Which interpretable model is built on the coefficients.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ModelSpec {
    /// 1-D: the `k` largest coefficients of each array, then a linear model
    /// (ridge with `ridge_alpha`, OLS when 0). Metric: R^2.
    TopK {
        /// Coefficients per array.
        k: usize,
        /// Largest values or largest magnitudes.
        sign: FeatureSign,
        /// Ridge penalty (0: ordinary least squares).
        ridge_alpha: f64,
    },
    /// 2-D: peaks of the map, histograms of the wavelet's four 3x3
    /// sub-filter responses at them, chi^2 to each class (each distinct
    /// target row is a class), then the nearest class's target or the
    /// posterior mean. Metric: RMSE of target column `target`.
    Peaks {
        /// Histogram bins per sub-filter; with several counts, the one of
        /// best cross-validated score at each grid point (so jointly with
        /// the wavelet).
        #[serde(deserialize_with = "one_or_many")]
        bins: Vec<usize>,
        /// Target column predicted and scored.
        target: usize,
        /// Nearest class (the paper's rule) or posterior mean over the
        /// classes; absent in older files: nearest.
        #[serde(default)]
        estimator: Estimator,
    },
}

impl ModelSpec {
    /// The paper's clathrin model: top 6 values per array, OLS.
    pub fn top_k() -> Self {
        ModelSpec::TopK { k: TOP_K, sign: FeatureSign::Pos, ridge_alpha: 0.0 }
    }
    /// The paper's cosmology model: 22 bins per sub-filter, column 0,
    /// nearest class.
    pub fn peaks() -> Self {
        ModelSpec::Peaks { bins: vec![PEAK_BINS], target: 0, estimator: Estimator::NearestCosmology }
    }
    /// The metric's name in results: `r2` or `rmse`.
    pub fn metric(&self) -> &'static str {
        match self {
            ModelSpec::TopK { .. } => "r2",
            ModelSpec::Peaks { .. } => "rmse",
        }
    }
    /// The model in words, for reports.
    pub fn describe(&self) -> String {
        match self {
            ModelSpec::TopK { k, sign, ridge_alpha } => format!(
                "the {k} largest {} of each coefficient array, then {}",
                if *sign == FeatureSign::Abs { "magnitudes" } else { "values" },
                if *ridge_alpha > 0.0 { format!("ridge (alpha {ridge_alpha})") } else { "OLS".into() }
            ),
            ModelSpec::Peaks { bins, target, estimator } => format!(
                "peak counting with the wavelet's 3x3 sub-filters ({} bins each{}), target column {target} by {}",
                bins.iter().map(|b| b.to_string()).collect::<Vec<_>>().join(" or "),
                if bins.len() > 1 { ", chosen by cross-validation with the grid point" } else { "" },
                match estimator {
                    Estimator::NearestCosmology => "the nearest class in chi^2 (the paper's rule)",
                    Estimator::PosteriorMean => "the posterior mean over the classes (weights exp(-chi^2/2))",
                }
            ),
        }
    }
    fn higher_is_better(&self) -> bool {
        matches!(self, ModelSpec::TopK { .. })
    }
}

/// A list of counts, or one count (results.json of earlier versions).
fn one_or_many<'de, D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Vec<usize>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum OneOrMany {
        One(usize),
        Many(Vec<usize>),
    }
    Ok(match OneOrMany::deserialize(d)? {
        OneOrMany::One(b) => vec![b],
        OneOrMany::Many(b) => b,
    })
}

/// Coefficients per array of the paper's top-k model.
pub const TOP_K: usize = 6;
/// Histogram bins per channel of the paper's peak counting.
pub const PEAK_BINS: usize = 22;
/// Quantile cut (each side) of peak-value histogram ranges.
pub const PEAK_QUANTILE: f64 = 0.005;
/// Relative weights of the default grids: a term at relative weight `r`
/// weighs `r` at the initial wavelet (see [`DistillConfig::lambdas`]).
pub const DEFAULT_LAMBDAS_RELATIVE: [f64; 3] = [0.0, 1e-3, 1e-2];
/// Relative gamma weights of the default grid.
pub const DEFAULT_GAMMAS_RELATIVE: [f64; 5] = [0.0, 1e-3, 1e-2, 1e-1, 1.0];
/// Threshold of the compression rate (relative to the baseline's RMS).
pub const ACTIVE_RELATIVE: f64 = 1e-3;

/// How the compression rate's thresholds are set.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Compression {
    /// A coefficient (an attribution) is active above this fraction of the
    /// baseline's RMS coefficient (attribution): scale-free.
    RelativeToBaseline(f64),
    /// Fixed thresholds for both (the paper's clathrin rule, 1e-3).
    Absolute(f64),
}

/// How a given gamma grid is read.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GammaScale {
    /// As given.
    #[default]
    Absolute,
    /// Multiplied by the ratio L1(coefficients) / L1(attributions) of the
    /// training data at the initial wavelet, so that gamma 1 weighs the
    /// attribution penalty as much as lambda 1 weighs the coefficients'
    /// (the cosmology experiment's grid; 1 if the attributions are all 0).
    L1Ratio,
}

impl GammaScale {
    /// The factor applied to a given gamma, from the L1 terms at the start.
    pub fn factor(self, l1_coefficients: f64, l1_attributions: f64) -> f64 {
        match self {
            GammaScale::Absolute => 1.0,
            GammaScale::L1Ratio if l1_attributions > 0.0 => l1_coefficients / l1_attributions,
            GammaScale::L1Ratio => 1.0,
        }
    }
}

impl std::str::FromStr for GammaScale {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        match s {
            "absolute" => Ok(GammaScale::Absolute),
            "l1_ratio" | "l1-ratio" => Ok(GammaScale::L1Ratio),
            other => {
                Err(format!("unknown gamma scale '{other}'; expected absolute or l1_ratio (also spelled l1-ratio)"))
            }
        }
    }
}

/// Everything that defines a distillation (recorded in results.json).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DistillConfig {
    /// Initial wavelet: a built-in name or a wavelet JSON file.
    pub wavelet: String,
    /// Levels J.
    pub levels: usize,
    /// Signal-extension mode.
    pub mode: Mode,
    /// Attribution penalised by gamma.
    pub attribution: Attribution,
    /// lambda grid; `None`: relative weights [`DEFAULT_LAMBDAS_RELATIVE`]
    /// divided by the L1 norm of the coefficients at the initial wavelet.
    pub lambdas: Option<Vec<f64>>,
    /// gamma grid; `None`: [`DEFAULT_GAMMAS_RELATIVE`] divided by the L1 norm
    /// of the attributions at the initial wavelet (`[0]` without gradients).
    pub gammas: Option<Vec<f64>>,
    /// How a given gamma grid is read (needs `gammas`).
    #[serde(default)]
    pub gamma_scale: GammaScale,
    /// Epochs per fit.
    pub epochs: usize,
    /// Mini-batch size.
    pub batch_size: usize,
    /// Adam learning rate.
    pub lr: f64,
    /// Seeds: one sweep each (batch order, and the initial noise if any).
    pub seeds: Vec<u64>,
    /// N(0, 1) noise added per tap to the initial wavelet (0: none).
    pub noise_factor: f64,
    /// Weights of the validity penalties.
    pub validity: ValidityWeights,
    /// The interpretable model.
    pub model: ModelSpec,
    /// Cross-validation folds (grouped: at most one per group).
    pub folds: usize,
    /// Seed of the folds and the bootstrap.
    pub cv_seed: u64,
    /// Select the most regularised point within one standard error of the best.
    pub one_standard_error: bool,
    /// Only points whose summed validity penalties stay below this are
    /// selectable (all, with a warning, if none does).
    pub max_validity: Option<f64>,
    /// Bootstrap resamples of the test metric.
    pub bootstrap: usize,
    /// Compression-rate thresholds.
    pub compression: Compression,
    /// Folder of the sweeps (`sweeps/seed<S>/`): a re-run with the same data
    /// and settings resumes them. `None`: a temporary folder, removed after.
    #[serde(skip)]
    pub work_dir: Option<PathBuf>,
}

impl Default for DistillConfig {
    fn default() -> Self {
        DistillConfig {
            wavelet: "db5".into(),
            levels: 4,
            mode: Mode::Zero,
            attribution: Attribution::Saliency,
            lambdas: None,
            gammas: None,
            gamma_scale: GammaScale::Absolute,
            epochs: 20,
            batch_size: 100,
            lr: 0.001,
            seeds: vec![0],
            noise_factor: 0.0,
            validity: ValidityWeights::default(),
            model: ModelSpec::top_k(),
            folds: 5,
            cv_seed: 0,
            one_standard_error: false,
            max_validity: None,
            bootstrap: 10_000,
            compression: Compression::RelativeToBaseline(ACTIVE_RELATIVE),
            work_dir: None,
        }
    }
}

impl DistillConfig {
    /// Defaults for 2-D maps: peak counting, 3 levels.
    pub fn maps() -> Self {
        DistillConfig { model: ModelSpec::peaks(), levels: 3, ..Default::default() }
    }
}

/// The cross-validated score of one grid point of one seed.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GridScore {
    /// Seed of the sweep.
    pub seed: u64,
    /// lambda.
    pub lambda: f64,
    /// gamma.
    pub gamma: f64,
    /// Mean score over the folds (R^2 or RMSE), or the validation score.
    pub cv_score: f64,
    /// Its standard error over the folds (0 with a validation set).
    pub cv_se: f64,
    /// Peak counting: the histogram bins per channel of that score (chosen
    /// by the same score among the spec's counts).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bins: Option<usize>,
    /// Summed validity penalties of the learned filter.
    pub validity: f64,
    /// Whether selection could take it (validity cap).
    pub eligible: bool,
    /// Point file, relative to the work folder.
    pub file: String,
    /// The learned lowpass.
    #[serde(skip)]
    pub lowpass: Vec<f64>,
    /// Index of lambda in the grid.
    #[serde(skip)]
    pub lambda_index: usize,
    /// Index of gamma in the grid.
    #[serde(skip)]
    pub gamma_index: usize,
}

/// A test metric with its bootstrap standard deviation.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Scored {
    /// R^2 or RMSE on the test set.
    pub value: f64,
    /// Bootstrap standard deviation (same resamples for every model).
    pub std: f64,
}

/// The selected grid point.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Selected {
    /// lambda.
    pub lambda: f64,
    /// gamma.
    pub gamma: f64,
    /// Mean cross-validated score (or the validation score).
    pub cv_score: f64,
    /// Summed validity penalties.
    pub validity: f64,
    /// Seed of the sweep it came from.
    pub seed: u64,
    /// Its point file.
    pub file: String,
    /// Peak counting: histogram bins per channel, chosen with the point.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bins: Option<usize>,
}

/// Per seed: the point that seed's own grid selects, and its test score.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SeedResult {
    /// The seed.
    pub seed: u64,
    /// lambda, gamma, score of its selection.
    pub selected: Selected,
    /// Test metric of the model built on it (with a test set).
    pub test: Option<f64>,
}

/// What the data were.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DataSummary {
    /// Training samples.
    pub train: usize,
    /// Validation samples, if a validation set was given.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub validation: Option<usize>,
    /// Test samples, if a test set was given.
    pub test: Option<usize>,
    /// Shape of one sample: `[L]` or `[H, W]`.
    pub sample_shape: Vec<usize>,
    /// Target columns.
    pub outputs: usize,
    /// Distinct groups, if groups were given.
    pub groups: Option<usize>,
    /// Whether teacher gradients were given.
    pub gradients: bool,
    /// Names (files) of the inputs and targets.
    pub files: DataFileNames,
}

/// Names (files) of the inputs and targets.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DataFileNames {
    /// Inputs.
    pub x: String,
    /// Targets.
    pub y: String,
}

/// The grids used, and how they were scaled.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GridValues {
    /// lambda values.
    pub lambdas: Vec<f64>,
    /// gamma values.
    pub gammas: Vec<f64>,
    /// Which grids were scaled to the data (the defaults).
    pub scaled_to_data: ScaledGrids,
    /// L1 term of the coefficients at the initial wavelet (the lambda scale).
    pub l1_coefficients_at_start: f64,
    /// L1 term of the attributions at the initial wavelet (the gamma scale).
    pub l1_attributions_at_start: f64,
}

/// Which grids were scaled to the data.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct ScaledGrids {
    /// lambda.
    pub lambdas: bool,
    /// gamma.
    pub gammas: bool,
}

/// Selection scores of AWD (the selected point) and of the baseline (the
/// initial wavelet), on the same folds (or the same validation set).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CvScores {
    /// Mean score of AWD.
    pub awd: f64,
    /// Mean score of the baseline.
    pub baseline: f64,
    /// Standard error of AWD's over the folds.
    pub awd_se: f64,
    /// Standard error of the baseline's.
    pub baseline_se: f64,
    /// Number of folds (1 with a validation set).
    pub folds: usize,
    /// Whether folds hold out whole groups.
    pub grouped: bool,
    /// Validation samples when selection scored a validation set (models
    /// fitted on all training samples) instead of folds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub validation_samples: Option<usize>,
    /// `r2` or `rmse`.
    pub metric: String,
    /// Peak counting: the baseline's histogram bins per channel (chosen by
    /// the same score among the spec's counts).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub baseline_bins: Option<usize>,
}

/// A metric and its bootstrap standard deviation, written as
/// `{"r2": value, "std": std}` (or `"rmse"`).
#[derive(Debug, Clone, PartialEq)]
pub struct MetricScore {
    /// `r2` or `rmse`.
    pub metric: &'static str,
    /// The value.
    pub value: f64,
    /// Its bootstrap standard deviation.
    pub std: f64,
}

impl Serialize for MetricScore {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut m = s.serialize_map(Some(2))?;
        m.serialize_entry(self.metric, &self.value)?;
        m.serialize_entry("std", &self.std)?;
        m.end()
    }
}

/// Test scores of AWD and the baseline (same bootstrap resamples).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TestScores {
    /// AWD.
    pub awd: MetricScore,
    /// The baseline.
    pub baseline: MetricScore,
    /// AWD's metric minus the baseline's on the same bootstrap resamples
    /// (stratified by the test groups when given): mean and 95 % interval.
    pub awd_minus_baseline: Interval,
    /// Test samples.
    pub samples: usize,
    /// Bootstrap resamples.
    pub bootstrap_resamples: usize,
}

/// Compression rates (`None` without gradients).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CompressionRates {
    /// AWD's.
    pub awd: Option<f64>,
    /// The baseline's.
    pub baseline: Option<f64>,
    /// `test` (test set with gradients) or `train`.
    pub on: Option<String>,
    /// Thresholds of the coefficients and the attributions.
    pub thresholds: Option<(f64, f64)>,
}

/// Everything measured (results.json).
#[derive(Debug, Clone, Serialize)]
pub struct DistillResults {
    /// `r2` or `rmse`.
    pub metric: String,
    /// Samples and shapes.
    pub data: DataSummary,
    /// The configuration.
    pub config: DistillConfig,
    /// The grids used, and how they were scaled.
    pub grid_values: GridValues,
    /// The selected point.
    pub selected: Selected,
    /// Cross-validated (or validation) scores of AWD and the baseline.
    pub cv: CvScores,
    /// Test scores of AWD and the baseline.
    pub test: Option<TestScores>,
    /// Compression rates of AWD and the baseline.
    pub compression: CompressionRates,
    /// Each seed's selection.
    pub seeds: Vec<SeedResult>,
    /// The spread of the per-seed test metric (with a test set and >1 seed).
    pub seed_spread: Option<MeanStd>,
    /// Every grid point's score.
    pub grid: Vec<GridScore>,
    /// Wall time of the stages.
    pub seconds: Timings,
}

/// The outcome of [`distill`].
#[derive(Debug, Clone)]
pub struct Distilled {
    /// The interpretable model on the selected learned wavelet.
    pub model: SavedModel,
    /// The same model on the initial wavelet.
    pub baseline: SavedModel,
    /// The initial lowpass (without noise).
    pub initial_lowpass: Vec<f64>,
    /// Everything measured.
    pub results: DistillResults,
    /// Test predictions of the model and the baseline (with a test set).
    pub test_predictions: Option<(Vec<f64>, Vec<f64>)>,
    /// Each seed's model on its own selection (in `config.seeds` order;
    /// `model` is the one of the best seed).
    pub seed_models: Vec<SavedModel>,
}

impl Distilled {
    /// Write `models/awd.json`, `models/baseline.json`, `results.json`,
    /// `report.md` (and `test_predictions.npy` with a test set) into `dir`,
    /// each atomically.
    pub fn save(&self, dir: &Path) -> Result<()> {
        self.model.save(&dir.join("models/awd.json"))?;
        self.baseline.save(&dir.join("models/baseline.json"))?;
        if let Some((p, _)) = &self.test_predictions {
            awd_core::io::write_npy(&dir.join("test_predictions.npy"), ndarray::ArrayView1::from(p).into_dyn())?;
        }
        awd_core::io::write_json_atomic(&dir.join("results.json"), &self.results)?;
        write_text(&dir.join("report.md"), &self.report())
    }

    /// The report (markdown).
    pub fn report(&self) -> String {
        report_text(self)
    }
}

/// Check the configuration against the data before any work.
fn check_config(cfg: &DistillConfig, data: &Data) -> Result<()> {
    let bad = |what: &str, reason: String| Err(Error::data(what, reason));
    if cfg.seeds.is_empty() {
        return bad("seeds", "give at least one seed".into());
    }
    if data.validation.is_none() && cfg.folds < 2 {
        return bad("folds", format!("cross-validation needs at least 2 folds, got {}", cfg.folds));
    }
    if data.validation.is_some() && cfg.one_standard_error {
        return bad(
            "one-standard-error rule",
            "it needs the spread of fold scores, and a validation set gives one score per point: drop the \
             validation set (cross-validate) or the rule"
                .into(),
        );
    }
    if !(cfg.noise_factor.is_finite() && cfg.noise_factor >= 0.0) {
        return bad("noise factor", format!("must be finite and >= 0, got {}", cfg.noise_factor));
    }
    if let Some(m) = cfg.max_validity {
        if !(m.is_finite() && m >= 0.0) {
            return bad("validity cap", format!("must be finite and >= 0, got {m}"));
        }
    }
    let two_d = matches!(data.geometry, Geometry::TwoD { .. });
    match (&cfg.model, two_d) {
        (ModelSpec::TopK { k, ridge_alpha, .. }, false) => {
            if *k == 0 {
                return bad("top-k", "k must be at least 1".into());
            }
            if !(ridge_alpha.is_finite() && *ridge_alpha >= 0.0) {
                return bad("ridge alpha", format!("must be finite and >= 0, got {ridge_alpha}"));
            }
            if data.train.y.ncols() != 1 {
                return bad(
                    &data.names.y,
                    format!(
                        "{} target columns; the top-k linear model predicts one target: pass one column",
                        data.train.y.ncols()
                    ),
                );
            }
        }
        (ModelSpec::Peaks { bins, target, .. }, true) => {
            if bins.is_empty() || bins.contains(&0) {
                return bad("bins", format!("every bin count must be at least 1, got {bins:?}"));
            }
            if *target >= data.train.y.ncols() {
                return bad(
                    &data.names.y,
                    format!("target column {target} is beyond its {} column(s)", data.train.y.ncols()),
                );
            }
            let mut classes = Vec::new();
            let ids = awd_core::peaks::class_ids(data.train.y.view(), &mut classes);
            if let Some(k) = (0..classes.len()).find(|&k| ids.iter().filter(|&&i| i == k).count() < 2) {
                return bad(
                    &data.names.y,
                    format!(
                        "peak counting assigns each map the class (a distinct row of y, e.g. a cosmology) of \
                         nearest chi^2, and every class needs at least 2 training maps; class {:?} has fewer \
                         ({} distinct rows for {} maps): give class parameters, not continuous targets",
                        classes[k],
                        classes.len(),
                        data.train.len()
                    ),
                );
            }
        }
        (ModelSpec::TopK { .. }, true) => {
            return bad(
                "model",
                "the top-k model takes 1-D signals; for images use peak counting (--model peaks)".into(),
            )
        }
        (ModelSpec::Peaks { .. }, false) => {
            return bad(
                "model",
                "peak counting takes 2-D maps (--2d); for signals use the top-k model (--model topk)".into(),
            )
        }
    }
    if cfg.gamma_scale != GammaScale::Absolute && cfg.gammas.is_none() {
        return bad(
            "gamma_scale",
            "a gamma scale other than absolute applies to a given gamma grid; give the gammas (--gammas), or leave \
             the scale absolute for the default grid"
                .into(),
        );
    }
    if cfg.gammas.as_ref().is_some_and(|g| g.iter().any(|&v| v > 0.0)) && data.train.grad.is_none() {
        return bad(
            "gammas",
            "a gamma above 0 needs the teacher's input gradients (G or a teacher); give them, or use gamma 0".into(),
        );
    }
    Ok(())
}

/// How each grid point is scored.
enum Scheme {
    /// Cross-validation on the training part.
    Folds(Folds),
    /// Fitted on the whole training part, scored on the validation part.
    Holdout,
}

impl Scheme {
    /// Folds of the training part, or the holdout when a validation part is given.
    fn of(cfg: &DistillConfig, data: &Data) -> Result<Self> {
        match data.validation {
            Some(_) => Ok(Scheme::Holdout),
            None => Ok(Scheme::Folds(folds(cfg, data)?)),
        }
    }
}

/// Cross-validation folds of the training part.
fn folds(cfg: &DistillConfig, data: &Data) -> Result<Folds> {
    let n = data.train.len();
    match &data.train.groups {
        Some(g) => {
            Folds::grouped(g, cfg.folds, cfg.cv_seed).map_err(|e| Error::data(&data.names.groups, e.to_string()))
        }
        None if n < cfg.folds => Err(Error::data(
            &data.names.x,
            format!(
                "{n} samples are fewer than the {} cross-validation folds; give more samples or fewer folds",
                cfg.folds
            ),
        )),
        None => Ok(Folds::new(n, cfg.folds, cfg.cv_seed)?),
    }
}

/// The model of `spec` built on filter `h` (fitted on `fit_rows` of the
/// training part), with the peak positions found once per part.
struct Builder<'a> {
    cfg: &'a DistillConfig,
    data: &'a Data,
    /// 2-D: the training maps as float64 (borrowed, or widened once from
    /// float32) and their peaks, shared by every candidate filter.
    train_maps: Option<MapsAndPeaks<'a>>,
    /// 2-D with a validation set: its maps and peaks.
    val_maps: Option<MapsAndPeaks<'a>>,
}

/// Maps as rows of float64 and the peak positions of each map.
type MapsAndPeaks<'a> = (CowArray<'a, f64, Ix2>, Vec<Vec<(usize, usize)>>);

/// Features of every training (and validation) sample at one filter.
enum Features {
    TopK {
        train: Array2<f64>,
        val: Option<Array2<f64>>,
    },
    /// Per bin count of the spec.
    Peaks(Vec<PeakFeatures>),
}

/// Peak histograms at one bin count.
struct PeakFeatures {
    bins: usize,
    train: Array2<f64>,
    val: Option<Array2<f64>>,
    binning: Binning,
}

impl<'a> Builder<'a> {
    fn new(cfg: &'a DistillConfig, data: &'a Data) -> Self {
        let with_peaks = |p: &'a Part| match data.geometry {
            Geometry::TwoD { rows, cols } => {
                let x = p.x.to_f64();
                let peaks = all_peaks(maps(&x, rows, cols));
                Some((x, peaks))
            }
            Geometry::OneD { .. } => None,
        };
        let val_maps = data.validation.as_ref().and_then(with_peaks);
        Builder { cfg, data, train_maps: with_peaks(&data.train), val_maps }
    }

    fn features(&self, h: &[f64]) -> Result<Features> {
        match &self.cfg.model {
            ModelSpec::TopK { .. } => {
                let m = self.topk(h, 0.0, 0.0, None)?;
                let val = self.data.validation.as_ref().map(|v| m.features_of(v.x.view())).transpose()?;
                Ok(Features::TopK { train: m.features_of(self.data.train.x.view())?, val })
            }
            ModelSpec::Peaks { bins, .. } => {
                let Geometry::TwoD { rows, cols } = self.data.geometry else { unreachable!("checked") };
                let stat = subfilters(h)?;
                let at = |(x, peaks): &MapsAndPeaks<'_>| values_at(maps(x, rows, cols), peaks, &stat);
                let vals = at(self.train_maps.as_ref().expect("2-D"));
                let val_vals = self.val_maps.as_ref().map(at);
                // the bins come from every training map's peak values (no
                // targets are read), shared by the folds and the validation set
                let per_count = bins
                    .iter()
                    .map(|&b| {
                        let binning = Binning::from_quantiles(&vals, PEAK_QUANTILE, b)?;
                        let val = val_vals.as_ref().map(|v| binning.histograms(v));
                        Ok(PeakFeatures { bins: b, train: binning.histograms(&vals), val, binning })
                    })
                    .collect::<Result<_>>()?;
                Ok(Features::Peaks(per_count))
            }
        }
    }

    /// Scores of the model on each fold (one score on the validation set);
    /// for peak counting, those of the bin count of best mean score,
    /// returned with it.
    fn cv(&self, f: &Features, scheme: &Scheme) -> Result<(Vec<f64>, Option<usize>)> {
        let y = &self.data.train.y;
        match (f, &self.cfg.model, scheme) {
            (Features::TopK { train, .. }, ModelSpec::TopK { ridge_alpha, .. }, Scheme::Folds(folds)) => {
                Ok((cross_val_r2_folds(train.view(), y.column(0), folds, *ridge_alpha)?, None))
            }
            (Features::TopK { train, val }, ModelSpec::TopK { ridge_alpha, .. }, Scheme::Holdout) => {
                let (val, yv) = (val.as_ref().expect("holdout features"), &self.validation().y);
                let linear = LinearModel::fit_ridge(train.view(), y.column(0), *ridge_alpha)?;
                Ok((vec![r2(linear.predict(val.view()).view(), yv.column(0))], None))
            }
            (Features::Peaks(per_count), ModelSpec::Peaks { target, estimator, .. }, _) => {
                // the classifier fitted on (histograms, targets), scored on others
                let fit_score = |fit: (ArrayView2<'_, f64>, ArrayView2<'_, f64>),
                                 eval: (ArrayView2<'_, f64>, ArrayView2<'_, f64>)| {
                    let clf = PeakClassifier::fit(fit.0, fit.1)?;
                    let pred = clf.estimate(eval.0, *target, *estimator);
                    Ok(rmse(&pred, &eval.1.column(*target).to_vec()))
                };
                let mut best: Option<(f64, Vec<f64>, usize)> = None;
                for pf in per_count {
                    let scores = match scheme {
                        Scheme::Folds(folds) => (0..folds.len())
                            .map(|k| {
                                let rows = |r: &[usize]| (pf.train.select(Axis(0), r), y.select(Axis(0), r));
                                let ((xf, yf), (xe, ye)) = (rows(&folds.train[k]), rows(&folds.test[k]));
                                fit_score((xf.view(), yf.view()), (xe.view(), ye.view()))
                            })
                            .collect::<Result<Vec<f64>>>()?,
                        Scheme::Holdout => {
                            let val = pf.val.as_ref().expect("holdout features");
                            vec![fit_score((pf.train.view(), y.view()), (val.view(), self.validation().y.view()))?]
                        }
                    };
                    let mean = mean_se(&scores).0;
                    if best.as_ref().is_none_or(|(b, _, _)| mean < *b) {
                        best = Some((mean, scores, pf.bins));
                    }
                }
                let (_, scores, bins) = best.expect("at least one bin count (checked)");
                Ok((scores, Some(bins)))
            }
            _ => unreachable!("features follow the model spec"),
        }
    }

    /// The validation part (the holdout scheme has one).
    fn validation(&self) -> &Part {
        self.data.validation.as_ref().expect("holdout scheme with a validation part")
    }

    fn topk(&self, h: &[f64], lambda: f64, gamma: f64, linear: Option<LinearModel>) -> Result<TopKModel> {
        let ModelSpec::TopK { k, sign, ridge_alpha } = self.cfg.model else { unreachable!("top-k spec") };
        let levels = self.cfg.levels;
        Ok(TopKModel {
            kind: TOPK_MODEL_KIND.into(),
            lowpass: h.to_vec(),
            levels,
            mode: self.cfg.mode,
            length: self.data.sample_len(),
            top_k: k,
            sign,
            ridge_alpha,
            linear: linear.unwrap_or(LinearModel { weights: vec![0.0; (levels + 1) * k], intercept: 0.0 }),
            lambda,
            gamma,
        })
    }

    /// The final model at `h` on all training samples, from `features` (the
    /// features of `h`, see [`Builder::features`]); peak counting with
    /// `bins` per channel (the count [`Builder::cv`] chose).
    fn fit(&self, h: &[f64], features: Features, bins: Option<usize>, lambda: f64, gamma: f64) -> Result<SavedModel> {
        let y = &self.data.train.y;
        match (features, &self.cfg.model) {
            (Features::TopK { train, .. }, ModelSpec::TopK { ridge_alpha, .. }) => {
                let linear = LinearModel::fit_ridge(train.view(), y.column(0), *ridge_alpha)?;
                Ok(SavedModel::TopK(self.topk(h, lambda, gamma, Some(linear))?))
            }
            (Features::Peaks(per_count), ModelSpec::Peaks { target, estimator, .. }) => {
                let Geometry::TwoD { rows, cols } = self.data.geometry else { unreachable!("checked") };
                let chosen = per_count
                    .into_iter()
                    .find(|pf| Some(pf.bins) == bins)
                    .expect("bins chosen among the spec's counts");
                let clf = PeakClassifier::fit(chosen.train.view(), y.view())?;
                let m = awd_core::peaks::PeakCountModel::new(
                    subfilters(h)?,
                    chosen.binning,
                    &clf,
                    *target,
                    Some(h.to_vec()),
                )
                .with_map_shape(rows, cols)
                .with_estimator(*estimator);
                Ok(SavedModel::Peaks(m))
            }
            _ => unreachable!("features follow the model spec"),
        }
    }

    /// The metric of each of `preds` (predictions of the test part) on the
    /// same bootstrap resamples of the test samples, stratified by the test
    /// groups when there are some: one row per resample.
    fn paired_bootstrap(&self, preds: &[&[f64]], test: &Part) -> Result<Array2<f64>> {
        let strata = test.groups.clone().unwrap_or_else(|| vec![0; test.len()]);
        let views: Vec<_> = preds.iter().map(|p| ArrayView1::from(*p)).collect();
        let seed = self.cfg.cv_seed;
        let boot = match &self.cfg.model {
            ModelSpec::TopK { .. } => bootstrap_r2_paired(&views, test.y.column(0), &strata, self.cfg.bootstrap, seed),
            ModelSpec::Peaks { target, .. } => {
                rmse_bootstrap_paired(&views, test.y.column(*target), &strata, self.cfg.bootstrap, seed)
            }
        };
        Ok(boot?)
    }

    /// Test metric and predictions of a fitted model.
    fn test(&self, model: &SavedModel, test: &Part) -> Result<(Scored, Vec<f64>)> {
        let rows = test.x.to_f64();
        let x = match self.data.geometry {
            Geometry::OneD { .. } => rows.view().into_dyn(),
            Geometry::TwoD { rows: h, cols: w } => maps(&rows, h, w).into_dyn(),
        };
        let pred = model.predict(x)?;
        let seed = self.cfg.cv_seed;
        let scored = match &self.cfg.model {
            ModelSpec::TopK { .. } => Scored {
                value: r2(pred.view(), test.y.column(0)),
                std: bootstrap_r2_std(pred.view(), test.y.column(0), self.cfg.bootstrap, seed),
            },
            ModelSpec::Peaks { target, .. } => {
                let (value, std) = rmse_bootstrap(
                    pred.as_slice().expect("contiguous"),
                    &test.y.column(*target).to_vec(),
                    self.cfg.bootstrap,
                    seed,
                );
                Scored { value, std }
            }
        };
        Ok((scored, pred.to_vec()))
    }
}

/// Rows of images as `(n, H, W)`.
fn maps<'a>(x: &'a CowArray<'_, f64, Ix2>, rows: usize, cols: usize) -> ndarray::ArrayView3<'a, f64> {
    x.view().into_shape_with_order((x.nrows(), rows, cols)).expect("rows of H*W values")
}

/// The wavelet's four 3x3 sub-filters as a peak statistic.
pub fn subfilters(h: &[f64]) -> Result<PeakStatistic> {
    let w = Wavelet::from_lowpass("h", h)?;
    Ok(PeakStatistic::Kernels(awd_core::peaks::wavelet_subfilters(&w).to_vec()))
}

fn mean_se(v: &[f64]) -> (f64, f64) {
    let ms = MeanStd::of(v);
    (ms.mean, ms.std / (v.len() as f64).sqrt())
}

/// Whether score `a` is better than `b` under the metric.
fn better(spec: &ModelSpec, a: f64, b: f64) -> bool {
    if spec.higher_is_better() {
        a > b
    } else {
        a < b
    }
}

/// Distill: see the module docs. Sweeps are kept in `cfg.work_dir` (a
/// re-run with the same data and settings resumes them); `progress` sees
/// every epoch's losses and can stop the run.
pub fn distill(cfg: &DistillConfig, data: &Data, progress: &dyn Progress) -> Result<Distilled> {
    check_config(cfg, data)?;
    let temporary;
    let work_dir: &Path = match &cfg.work_dir {
        Some(d) => d,
        None => {
            temporary = tempfile::tempdir().map_err(|e| IoError::Write { path: std::env::temp_dir(), source: e })?;
            temporary.path()
        }
    };
    prepare_dir(work_dir)?;
    let mut times = Timings::default();
    let scheme = Scheme::of(cfg, data)?;
    let w0 = Wavelet::resolve(&cfg.wavelet)?;
    let h_init = w0.rec_lo.clone();
    let problem = Problem::with_rows(
        data.train.x.view(),
        data.train.grad.as_ref().map(|g| g.view()),
        data.geometry.clone(),
        h_init.len(),
        cfg.mode,
        cfg.levels,
    )
    .map_err(|e| Error::data(&data.names.x, e.to_string()))?;

    // the grid, scaled to the data unless given
    let at_start = problem.evaluate_all(
        &h_init,
        &Penalties { lambda: 1.0, gamma: 1.0, attribution: cfg.attribution, validity: cfg.validity },
    )?;
    let scaled = |rel: &[f64], norm: f64| -> Vec<f64> {
        let mut v: Vec<f64> = rel.iter().map(|r| if norm > 0.0 { r / norm } else { *r }).collect();
        v.dedup();
        v
    };
    let lambdas = match &cfg.lambdas {
        Some(l) => awd_core::distill::grid_values("lambda", l)?,
        None => scaled(&DEFAULT_LAMBDAS_RELATIVE, at_start.l1_coefficients),
    };
    let gammas = match (&cfg.gammas, problem.has_teacher()) {
        (Some(g), _) => {
            let factor = cfg.gamma_scale.factor(at_start.l1_coefficients, at_start.l1_attributions);
            awd_core::distill::grid_values("gamma", g)?.iter().map(|v| v * factor).collect()
        }
        (None, true) => scaled(&DEFAULT_GAMMAS_RELATIVE, at_start.l1_attributions),
        (None, false) => vec![0.0],
    };

    // sweeps, one per seed
    progress.planned(cfg.seeds.len() * lambdas.len() * gammas.len(), cfg.epochs);
    let mut sweeps: Vec<(u64, Vec<SweepPoint>)> = Vec::new();
    for &seed in &cfg.seeds {
        let spec = SweepSpec {
            lambdas: lambdas.clone(),
            gammas: gammas.clone(),
            base: FitSettings {
                levels: cfg.levels,
                mode: cfg.mode,
                penalties: Penalties { lambda: 0.0, gamma: 0.0, validity: cfg.validity, attribution: cfg.attribution },
                epochs: cfg.epochs,
                batch_size: cfg.batch_size,
                lr: cfg.lr,
                seed,
            },
            initial_lowpass: initial_filter(&h_init, 1.0, cfg.noise_factor, seed),
            data_fingerprint: problem.fingerprint(),
            extra: serde_json::json!({ "pipeline": "distill", "seed": seed, "initial_wavelet": cfg.wavelet }),
        };
        awd_core::distill::check_settings(&problem, &spec.initial_lowpass, &spec.base)?;
        let dir = work_dir.join(format!("sweeps/seed{seed}"));
        let points =
            times.stage(progress, &format!("sweep seed {seed}"), || Ok(sweep(&problem, &spec, &dir, progress)?))?;
        sweeps.push((seed, points));
    }

    // the cross-validated (or validation) score of every point
    let builder = Builder::new(cfg, data);
    let mut grid = Vec::new();
    let scoring = match scheme {
        Scheme::Folds(_) => "cross-validation over the grid",
        Scheme::Holdout => "validation scores over the grid",
    };
    times.stage(progress, scoring, || {
        for (seed, points) in &sweeps {
            for p in points {
                let (scores, bins) = builder.cv(&builder.features(&p.lowpass)?, &scheme)?;
                let (cv_score, cv_se) = mean_se(&scores);
                let validity = p.validity.total();
                grid.push(GridScore {
                    seed: *seed,
                    lambda: p.lambda,
                    gamma: p.gamma,
                    cv_score,
                    cv_se,
                    bins,
                    validity,
                    eligible: cfg.max_validity.is_none_or(|m| validity <= m),
                    file: format!("sweeps/seed{seed}/{}", p.file),
                    lowpass: p.lowpass.clone(),
                    lambda_index: p.lambda_index,
                    gamma_index: p.gamma_index,
                });
            }
        }
        Ok(())
    })?;
    if !grid.iter().any(|g| g.eligible) {
        progress.message(&format!(
            "warning: no grid point has validity penalties below {}; selecting among all",
            cfg.max_validity.unwrap_or(0.0)
        ));
        grid.iter_mut().for_each(|g| g.eligible = true);
    }

    // selection: per seed, then the best of the seeds
    let select = |rows: &[&GridScore]| -> Option<GridScore> {
        let best =
            rows.iter().filter(|g| g.eligible && g.cv_score.is_finite()).fold(None::<&GridScore>, |b, g| match b {
                Some(b) if !better(&cfg.model, g.cv_score, b.cv_score) => Some(b),
                _ => Some(g),
            })?;
        if !cfg.one_standard_error {
            return Some(best.clone());
        }
        // the most regularised point (largest gamma, then lambda) within one SE
        let within = |g: &GridScore| {
            if cfg.model.higher_is_better() {
                g.cv_score >= best.cv_score - best.cv_se
            } else {
                g.cv_score <= best.cv_score + best.cv_se
            }
        };
        rows.iter()
            .filter(|g| g.eligible && g.cv_score.is_finite() && within(g))
            .max_by(|a, b| a.gamma.total_cmp(&b.gamma).then(a.lambda.total_cmp(&b.lambda)))
            .map(|g| (*g).clone())
    };
    let as_selected = |g: &GridScore| Selected {
        lambda: g.lambda,
        gamma: g.gamma,
        cv_score: g.cv_score,
        validity: g.validity,
        seed: g.seed,
        file: g.file.clone(),
        bins: g.bins,
    };
    let mut per_seed = Vec::new();
    for &seed in &cfg.seeds {
        let rows: Vec<&GridScore> = grid.iter().filter(|g| g.seed == seed).collect();
        let chosen = select(&rows).ok_or_else(|| {
            Error::data("selection", format!("no grid point of seed {seed} has a finite selection score"))
        })?;
        per_seed.push(chosen);
    }
    let best_seed = (0..per_seed.len())
        .reduce(|b, i| if better(&cfg.model, per_seed[i].cv_score, per_seed[b].cv_score) { i } else { b })
        .expect("at least one seed");
    let best = per_seed[best_seed].clone();

    // final models (one per seed; the best seed's is the model), the baseline
    let (seed_models, baseline, (baseline_cv, baseline_bins)) = times.stage(progress, "final models", || {
        let seed_models = per_seed
            .iter()
            .map(|g| builder.fit(&g.lowpass, builder.features(&g.lowpass)?, g.bins, g.lambda, g.gamma))
            .collect::<Result<Vec<_>>>()?;
        let base_features = builder.features(&h_init)?;
        let (base_scores, base_bins) = builder.cv(&base_features, &scheme)?;
        let baseline = builder.fit(&h_init, base_features, base_bins, 0.0, 0.0)?;
        Ok((seed_models, baseline, (mean_se(&base_scores), base_bins)))
    })?;
    let model = seed_models[best_seed].clone();
    let mut seeds = Vec::new();
    let mut test_json = None;
    let mut test_predictions = None;
    if let Some(test) = &data.test {
        times.stage(progress, "test", || {
            let (awd, p_awd) = builder.test(&model, test)?;
            let (base, p_base) = builder.test(&baseline, test)?;
            let metric = cfg.model.metric();
            let boot = builder.paired_bootstrap(&[&p_awd, &p_base], test)?;
            test_json = Some(TestScores {
                awd: MetricScore { metric, value: awd.value, std: awd.std },
                baseline: MetricScore { metric, value: base.value, std: base.std },
                awd_minus_baseline: Interval::of_differences(boot.column(0), boot.column(1)),
                samples: test.len(),
                bootstrap_resamples: cfg.bootstrap,
            });
            test_predictions = Some((p_awd, p_base));
            for (g, m) in per_seed.iter().zip(&seed_models) {
                seeds.push(SeedResult {
                    seed: g.seed,
                    selected: as_selected(g),
                    test: Some(builder.test(m, test)?.0.value),
                });
            }
            Ok(())
        })?;
    } else {
        seeds = per_seed.iter().map(|g| SeedResult { seed: g.seed, selected: as_selected(g), test: None }).collect();
    }
    let seed_spread = (seeds.len() > 1 && data.test.is_some())
        .then(|| MeanStd::of(&seeds.iter().filter_map(|s| s.test).collect::<Vec<_>>()));

    // compression: on the test set when it has gradients, else on the training set
    let compression = times.stage(progress, "compression", || compression(cfg, data, &h_init, &best.lowpass))?;

    let results = DistillResults {
        metric: cfg.model.metric().into(),
        data: DataSummary {
            train: data.train.len(),
            validation: data.validation.as_ref().map(Part::len),
            test: data.test.as_ref().map(Part::len),
            sample_shape: match data.geometry {
                Geometry::OneD { n } => vec![n],
                Geometry::TwoD { rows, cols } => vec![rows, cols],
            },
            outputs: data.train.y.ncols(),
            groups: data.train.groups.as_ref().map(|g| {
                let mut v = g.clone();
                v.sort_unstable();
                v.dedup();
                v.len()
            }),
            gradients: data.train.grad.is_some(),
            files: DataFileNames { x: data.names.x.clone(), y: data.names.y.clone() },
        },
        config: cfg.clone(),
        grid_values: GridValues {
            lambdas,
            gammas,
            scaled_to_data: ScaledGrids { lambdas: cfg.lambdas.is_none(), gammas: cfg.gammas.is_none() },
            l1_coefficients_at_start: at_start.l1_coefficients,
            l1_attributions_at_start: at_start.l1_attributions,
        },
        selected: as_selected(&best),
        cv: CvScores {
            awd: best.cv_score,
            baseline: baseline_cv.0,
            awd_se: best.cv_se,
            baseline_se: baseline_cv.1,
            folds: match &scheme {
                Scheme::Folds(f) => f.len(),
                Scheme::Holdout => 1,
            },
            grouped: matches!(&scheme, Scheme::Folds(f) if f.grouped),
            validation_samples: data.validation.as_ref().map(Part::len),
            metric: cfg.model.metric().into(),
            baseline_bins,
        },
        test: test_json,
        compression,
        seeds,
        seed_spread,
        grid,
        seconds: times,
    };
    Ok(Distilled { model, baseline, initial_lowpass: h_init, results, test_predictions, seed_models })
}

/// Compression rates of filter `h` and of the initial filter `h_init`: the
/// fraction of coefficients whose magnitude and attribution both exceed the
/// thresholds of `cfg.compression`, on the test set when it has gradients,
/// else on the training set (`on` says which).
pub fn compression(cfg: &DistillConfig, data: &Data, h_init: &[f64], h: &[f64]) -> Result<CompressionRates> {
    let (part, on) = match &data.test {
        Some(t) if t.grad.is_some() => (t, "test"),
        _ => (&data.train, "train"),
    };
    let Some(g) = &part.grad else {
        return Ok(CompressionRates { awd: None, baseline: None, on: None, thresholds: None });
    };
    let p = Problem::with_rows(part.x.view(), Some(g.view()), data.geometry.clone(), h.len(), cfg.mode, cfg.levels)?;
    // block by block, so memory holds one block of coefficients, not n rows
    let n = p.len();
    let blocks = || (0..n).step_by(COMPRESSION_BLOCK).map(move |b| b..(b + COMPRESSION_BLOCK).min(n));
    let ca = |h: &[f64], rows| -> Result<(Array2<f64>, Array2<f64>)> {
        let (c, a) = p.coefficients_and_attributions_of(h, cfg.attribution, rows)?;
        Ok((c, a.expect("gradients given")))
    };
    let thresholds = match cfg.compression {
        Compression::RelativeToBaseline(r) => {
            // sums of squares continued block after block: the bits of one pass
            let (mut sc, mut sa, mut count) = (0.0, 0.0, 0);
            for rows in blocks() {
                let (c0, a0) = ca(h_init, rows)?;
                sc = c0.iter().fold(sc, |s, v| s + v * v);
                sa = a0.iter().fold(sa, |s, v| s + v * v);
                count += c0.len();
            }
            let rms = |s: f64| (s / count.max(1) as f64).sqrt();
            (r * rms(sc), r * rms(sa))
        }
        Compression::Absolute(t) => (t, t),
    };
    let (mut active_awd, mut active_baseline, mut count) = (0, 0, 0);
    for rows in blocks() {
        let (c0, a0) = ca(h_init, rows.clone())?;
        let (c1, a1) = ca(h, rows)?;
        active_awd += active_count(c1.view(), a1.view(), thresholds);
        active_baseline += active_count(c0.view(), a0.view(), thresholds);
        count += c0.len();
    }
    let total = count.max(1) as f64;
    Ok(CompressionRates {
        awd: Some(active_awd as f64 / total),
        baseline: Some(active_baseline as f64 / total),
        on: Some(on.into()),
        thresholds: Some(thresholds),
    })
}

/// Samples per block of the compression rates (one block of coefficients
/// and attributions in memory at a time).
const COMPRESSION_BLOCK: usize = 4096;

/// 1st, 2nd, 3rd, 4th …
fn ordinal(n: usize) -> String {
    let suffix = match (n % 10, n % 100) {
        (1, 11) | (2, 12) | (3, 13) => "th",
        (1, _) => "st",
        (2, _) => "nd",
        (3, _) => "rd",
        _ => "th",
    };
    format!("{n}{suffix}")
}

fn report_text(d: &Distilled) -> String {
    let r = &d.results;
    let metric = if r.metric == "r2" { "R^2 (higher is better)" } else { "RMSE (lower is better)" };
    let f = |v: Option<f64>| v.map_or("—".to_string(), |x| format!("{x:.4}"));
    let shape: Vec<String> = r.data.sample_shape.iter().map(|v| v.to_string()).collect();
    let mut md = String::from("# AWD distillation\n\n");
    let selection = match r.cv.validation_samples {
        Some(n) => format!("selection on {n} validation samples (models fitted on all training samples)"),
        None => format!(
            "{} {}-fold cross-validation{}",
            if r.cv.grouped { "grouped" } else { "shuffled" },
            r.cv.folds,
            if r.cv.grouped { " (no group on both sides of a split)" } else { "" },
        ),
    };
    md.push_str(&format!(
        "{} training samples of shape ({}){}; metric: {metric}; {selection}.\n\n",
        r.data.train,
        shape.join(" x "),
        r.data.test.map_or(String::new(), |n| format!(", {n} test samples")),
    ));
    md.push_str(&format!("Model: {}.\n\n", r.config.model.describe()));
    md.push_str("| | AWD (learned wavelet) | baseline (initial wavelet) |\n|---|---|---|\n");
    // a row of AWD's and the baseline's values, each with its spread
    let spread_row = |label: String, awd: (f64, f64), baseline: (f64, f64)| {
        format!(
            "| {label} | {} ± {} | {} ± {} |\n",
            f(Some(awd.0)),
            f(Some(awd.1)),
            f(Some(baseline.0)),
            f(Some(baseline.1))
        )
    };
    if r.cv.validation_samples.is_some() {
        md.push_str(&format!("| validation {} | {} | {} |\n", r.metric, f(Some(r.cv.awd)), f(Some(r.cv.baseline))));
    } else {
        md.push_str(&spread_row(
            format!("cross-validated {} (± SE over folds)", r.metric),
            (r.cv.awd, r.cv.awd_se),
            (r.cv.baseline, r.cv.baseline_se),
        ));
    }
    if let Some(t) = &r.test {
        md.push_str(&spread_row(
            format!("test {} (± bootstrap std)", r.metric),
            (t.awd.value, t.awd.std),
            (t.baseline.value, t.baseline.std),
        ));
        let d = &t.awd_minus_baseline;
        md.push_str(&format!(
            "| test {} AWD - baseline, same resamples (95 % interval) | {:+.4} [{:+.4}, {:+.4}] | |\n",
            r.metric, d.mean, d.lo, d.hi
        ));
    }
    md.push_str(&format!(
        "| compression rate ({}) | {} | {} |\n\n",
        r.compression.on.as_deref().unwrap_or("no gradients"),
        f(r.compression.awd),
        f(r.compression.baseline)
    ));
    let s = &r.selected;
    md.push_str(&format!(
        "Selected: lambda = {:.3e}, gamma = {:.3e} (seed {}){}, summed validity penalties {:.2e}{}.\n\n",
        s.lambda,
        s.gamma,
        s.seed,
        match (s.bins, r.cv.baseline_bins) {
            (Some(a), Some(b)) => format!(", {a} bins per channel (the baseline: {b})"),
            _ => String::new(),
        },
        s.validity,
        if r.config.one_standard_error { ", by the one-standard-error rule" } else { "" }
    ));
    if let Some(sp) = &r.seed_spread {
        md.push_str(&format!(
            "Over {} seeds, the test {} of each seed's selection: {:.4} ± {:.4}.\n\n",
            r.seeds.len(),
            r.metric,
            sp.mean,
            sp.std
        ));
    }
    if r.seeds.len() > 1 {
        let sel = if r.cv.validation_samples.is_some() { "validation" } else { "CV" };
        md.push_str(&format!(
            "| seed | lambda | gamma | {sel} {m} | test {m} |\n|---|---|---|---|---|\n",
            m = r.metric
        ));
        for s in &r.seeds {
            md.push_str(&format!(
                "| {} | {:.3e} | {:.3e} | {:.4} | {} |\n",
                s.seed,
                s.selected.lambda,
                s.selected.gamma,
                s.selected.cv_score,
                s.test.map_or("—".to_string(), |t| format!("{t:.4}"))
            ));
        }
        md.push('\n');
    }
    if let SavedModel::TopK(m) = &d.model {
        // the model in words: its largest weights
        let names: Vec<String> =
            std::iter::once(format!("cA{}", m.levels)).chain((1..=m.levels).rev().map(|j| format!("cD{j}"))).collect();
        let mut w: Vec<(f64, usize)> = m.linear.weights.iter().enumerate().map(|(i, &v)| (v, i)).collect();
        w.sort_by(|a, b| b.0.abs().total_cmp(&a.0.abs()));
        let rule = if m.sign == FeatureSign::Abs { "largest |coefficient|" } else { "largest coefficient" };
        md.push_str(&format!("The model: prediction = {:.4}", m.linear.intercept));
        for &(v, i) in w.iter().take(5) {
            let sign = if v < 0.0 { "-" } else { "+" };
            let rank = ordinal(i % m.top_k + 1);
            md.push_str(&format!(" {sign} {:.4} x ({rank} {rule} of {})", v.abs(), names[i / m.top_k]));
        }
        if w.len() > 5 {
            md.push_str(&format!(" + {} smaller terms", w.len() - 5));
        }
        md.push_str(" (see `features.png`).\n\n");
    }
    md.push_str(
        "Files: `models/awd.json` (the model; also a wavelet file), `models/baseline.json`, `results.json` \
         (every number, the whole grid), `sweeps/` (every learned wavelet). Apply the model with \
         `awd predict --model models/awd.json --x X.npy`.\n",
    );
    md
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn peak_specs_of_earlier_results_still_read() {
        // one bin count and no estimator (results.json before both were added)
        let old: ModelSpec = serde_json::from_str(r#"{"kind": "peaks", "bins": 22, "target": 1}"#).unwrap();
        assert_eq!(old, ModelSpec::Peaks { bins: vec![22], target: 1, estimator: Estimator::NearestCosmology });
        let new = ModelSpec::Peaks { bins: vec![6, 10], target: 0, estimator: Estimator::PosteriorMean };
        let back: ModelSpec = serde_json::from_str(&serde_json::to_string(&new).unwrap()).unwrap();
        assert_eq!(back, new);
    }
}
