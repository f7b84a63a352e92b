//! Every command-line definition of `awd`, one struct per subcommand; the doc
//! comments are the help text.

use std::path::PathBuf;

use awd::distill::{Attribution, Shard};
use awd::interp::FeatureSign;
use awd::peaks::Estimator;
use awd::pipeline::GammaScale;
use awd::teachers::Arch;
use awd::Mode;
use clap::{Args, Parser, Subcommand};

/// awd: distill a neural network into a learned wavelet and a tiny model.
#[derive(Debug, Parser)]
#[command(name = "awd", version, about, long_about = None, args_override_self = true)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// List the built-in wavelet names.
    Wavelets(WaveletsArgs),
    /// Print a wavelet's four filters as JSON (dec_lo, dec_hi, rec_lo, rec_hi).
    Filters(FiltersArgs),
    /// Multilevel forward transform of .npy signals or images (pywt wavedec/wavedec2).
    Dwt(DwtArgs),
    /// Inverse transform of coefficients written by `awd dwt` (pywt waverec/waverec2).
    Idwt(IdwtArgs),
    /// Scaling function phi and wavelet psi on PyWavelets' grid (cascade algorithm).
    Wavefun(WavefunArgs),
    /// The AWD paper's distance between the psi of two wavelets.
    Distance(DistanceArgs),
    /// Learn a wavelet (AWD, paper eq. 8) from data and optional teacher gradients.
    Fit(FitArgs),
    /// Fit a lambda x gamma grid with warm starts (resumable).
    Sweep(SweepArgs),
    /// Teacher networks: train, predict, input gradients.
    #[command(subcommand)]
    Teacher(TeacherCommand),
    /// Built-in data sets.
    #[command(subcommand)]
    Data(DataCommand),
    /// The paper's experiments end to end, with results, report and plots.
    #[command(subcommand)]
    Experiment(ExperimentCommand),
    /// Distill your own network: learn a wavelet from its input gradients and build, select and test an
    /// interpretable model on it (top-k coefficients + linear model for signals, peak counting for maps).
    Distill(Box<DistillArgs>),
    /// Apply a saved interpretable model (from awd distill or an experiment) to new signals or maps.
    Predict(PredictArgs),
    /// Benchmarks that print JSON timings.
    #[command(subcommand)]
    Bench(BenchCommand),
}

/// Parse a mode name (pywt's names).
pub fn parse_mode(s: &str) -> Result<Mode, String> {
    s.parse::<Mode>().map_err(|e| e.to_string())
}

/// `awd wavelets`
#[derive(Debug, Args)]
pub struct WaveletsArgs {
    /// Print JSON (name, family, filter length, vanishing moments) instead of names.
    #[arg(long)]
    pub json: bool,
}

/// `awd filters`
#[derive(Debug, Args)]
pub struct FiltersArgs {
    /// Wavelet name (db5) or wavelet JSON file (ending in .json, with "lowpass").
    #[arg(long)]
    pub wavelet: String,
}

/// `awd dwt`
#[derive(Debug, Args)]
pub struct DwtArgs {
    /// Wavelet name (db5) or wavelet JSON file (ending in .json, with "lowpass").
    #[arg(long)]
    pub wavelet: String,
    /// Signal-extension mode: zero, constant, symmetric, reflect, periodic, smooth,
    /// antisymmetric or periodization (PyWavelets' names).
    #[arg(long, default_value = "symmetric", value_parser = parse_mode)]
    pub mode: Mode,
    /// Number of levels J.
    #[arg(long)]
    pub levels: usize,
    /// Treat the input as images: (n, H, W) or (H, W).
    #[arg(long = "2d")]
    pub two_d: bool,
    /// Levels above pywt's dwt_max_level are computed with a warning (as in pywt and `awd fit`); this silences it.
    #[arg(long)]
    pub force_levels: bool,
    /// Input .npy: (n, L) or (L,), or with --2d (n, H, W) or (H, W); float64 or float32.
    #[arg(long)]
    pub input: PathBuf,
    /// Output .npz or .json: arrays a, d1..dJ (1-D) or a, h1..hJ, v1..vJ, d1..dJ (2-D); 1 = finest.
    #[arg(long)]
    pub output: PathBuf,
}

/// `awd idwt`
#[derive(Debug, Args)]
pub struct IdwtArgs {
    /// Wavelet name (db5) or wavelet JSON file (ending in .json, with "lowpass").
    #[arg(long)]
    pub wavelet: String,
    /// Signal-extension mode: zero, constant, symmetric, reflect, periodic, smooth,
    /// antisymmetric or periodization (PyWavelets' names).
    #[arg(long, default_value = "symmetric", value_parser = parse_mode)]
    pub mode: Mode,
    /// The coefficients are 2-D (a, h1..hJ, v1..vJ, d1..dJ).
    #[arg(long = "2d")]
    pub two_d: bool,
    /// Coefficients, .npz or .json, as written by `awd dwt`.
    #[arg(long)]
    pub input: PathBuf,
    /// Output .npy (float64), with pywt's reconstruction length (odd n gives n + 1).
    #[arg(long)]
    pub output: PathBuf,
}

/// `awd wavefun`
#[derive(Debug, Args)]
pub struct WavefunArgs {
    /// Wavelet name (db5) or wavelet JSON file (ending in .json, with "lowpass").
    #[arg(long)]
    pub wavelet: String,
    /// Cascade level (1..=20); pywt's grid has (F-1) 2^level + 1 points.
    #[arg(long, default_value_t = 8)]
    pub level: usize,
    /// Output JSON with keys phi, psi, x.
    #[arg(long)]
    pub output: PathBuf,
    /// Also draw phi and psi into this PNG.
    #[arg(long)]
    pub plot: Option<PathBuf>,
}

/// `awd distance`
#[derive(Debug, Args)]
pub struct DistanceArgs {
    /// Wavelet name or JSON file whose psi is shifted and flipped.
    #[arg(long)]
    pub wavelet: String,
    /// Reference wavelet name or JSON file.
    #[arg(long)]
    pub reference: String,
    /// Cascade level of both psi.
    #[arg(long, default_value_t = 5)]
    pub level: usize,
}

/// Data, initial wavelet and transform of a distillation.
#[derive(Debug, Args, Clone)]
pub struct DataArgs {
    /// Inputs .npy: (n, L) signals, or (n, H, W) images with --2d.
    #[arg(long)]
    pub x: PathBuf,
    /// Teacher input gradients .npy, shaped like X (omit to learn from the data alone; gamma must then be 0).
    #[arg(long)]
    pub grad: Option<PathBuf>,
    /// Attribution penalised by gamma: saliency, input-x-gradient or integrated-gradients.
    #[arg(long, default_value = "saliency", value_parser = parse_attribution)]
    pub attribution: Attribution,
    /// Initial wavelet: a name (db5) or a wavelet JSON file.
    #[arg(long, default_value = "db5")]
    pub wavelet: String,
    /// The initial filter is the wavelet's lowpass times this factor ...
    #[arg(long, default_value_t = 1.0)]
    pub init_factor: f64,
    /// ... plus this much N(0, 1) noise per tap (seeded by --seed).
    #[arg(long, default_value_t = 0.0)]
    pub noise_factor: f64,
    /// Levels J (above pywt's dwt_max_level is allowed: AWD's J = 4 on 64 samples).
    #[arg(long)]
    pub levels: usize,
    /// Signal-extension mode: zero, constant, symmetric, reflect, periodic, smooth,
    /// antisymmetric or periodization (PyWavelets' names).
    #[arg(long, default_value = "zero", value_parser = parse_mode)]
    pub mode: Mode,
    /// Images: X is (n, H, W) and the transform is 2-D.
    #[arg(long = "2d")]
    pub two_d: bool,
}

/// Optimisation and penalty weights shared by `fit` and `sweep`.
#[derive(Debug, Args, Clone)]
pub struct TrainArgs {
    /// Passes over the data (0 evaluates the initial filter only).
    #[arg(long, default_value_t = 50)]
    pub epochs: usize,
    /// Samples per mini-batch (clamped to the number of samples, with a warning).
    #[arg(long, default_value_t = 100)]
    pub batch_size: usize,
    /// Adam learning rate.
    #[arg(long, default_value_t = 0.001)]
    pub lr: f64,
    /// Seed of the initial noise and the shuffling.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Weight of the lowpass-sum penalty.
    #[arg(long, default_value_t = 1.0)]
    pub weight_lowpass_sum: f64,
    /// Weight of the highpass-sum penalty.
    #[arg(long, default_value_t = 1.0)]
    pub weight_highpass_sum: f64,
    /// Weight of the unit-norm penalty.
    #[arg(long, default_value_t = 1.0)]
    pub weight_unit_norm: f64,
    /// Weight of the conjugate-mirror-filter penalty.
    #[arg(long, default_value_t = 1.0)]
    pub weight_cmf: f64,
    /// Weight of the orthogonality penalty.
    #[arg(long, default_value_t = 1.0)]
    pub weight_orthogonality: f64,
}

/// `awd fit`
#[derive(Debug, Args)]
pub struct FitArgs {
    #[command(flatten)]
    pub data: DataArgs,
    #[command(flatten)]
    pub train: TrainArgs,
    /// Weight of the L1 norm of the wavelet coefficients.
    #[arg(long, default_value_t = 0.0, allow_negative_numbers = true)]
    pub lambda: f64,
    /// Weight of the L1 norm of the attributions.
    #[arg(long, default_value_t = 0.0, allow_negative_numbers = true)]
    pub gamma: f64,
    /// Output wavelet JSON (lowpass, filter_bank, settings, validity, history).
    #[arg(long)]
    pub output: PathBuf,
    /// Also plot the learned wavelet and the loss history into this PNG.
    #[arg(long)]
    pub plot: Option<PathBuf>,
}

/// `awd sweep`
#[derive(Debug, Args)]
pub struct SweepArgs {
    #[command(flatten)]
    pub data: DataArgs,
    #[command(flatten)]
    pub train: TrainArgs,
    /// lambda values: a comma list, items may be log:LO:HI:COUNT (log-spaced), e.g. log:1e-5:1e-4:5.
    #[arg(long, allow_hyphen_values = true)]
    pub lambdas: String,
    /// gamma values, same syntax, e.g. 0,log:1e-5:50:20.
    #[arg(long, allow_hyphen_values = true)]
    pub gammas: String,
    /// Folder for sweep.json, one JSON per grid point, summary.json and summary.md.
    #[arg(long)]
    pub output_dir: PathBuf,
    /// Run only part K of N of the grid (whole lambda chains; K from 1 to N), e.g. a job array's
    /// task: `--shard $SLURM_ARRAY_TASK_ID/$SLURM_ARRAY_TASK_COUNT`. Shards share --output-dir; the one
    /// that completes the grid writes the summary.
    #[arg(long, value_parser = parse_shard, conflicts_with = "summarize")]
    pub shard: Option<Shard>,
    /// Only write the summary of a sweep whose shards have all run (fits nothing).
    #[arg(long)]
    pub summarize: bool,
    /// Under mpirun/srun: spread every fit's data over the ranks (each reads only its share of the
    /// rows) instead of spreading the lambda chains; for data larger than one node's memory. Alone,
    /// no effect.
    #[arg(long, conflicts_with_all = ["shard", "summarize"])]
    pub data_parallel: bool,
    /// Under mpirun/srun: groups of K consecutive ranks; each group owns lambda chains and runs
    /// each of their fits data-parallel over its K ranks (chains and data combined). K must divide
    /// the number of ranks: 1 is the default spread of chains, all ranks is --data-parallel.
    #[arg(long, value_name = "K", conflicts_with_all = ["shard", "summarize", "data_parallel"])]
    pub ranks_per_fit: Option<usize>,
}

fn parse_shard(s: &str) -> Result<Shard, String> {
    s.parse::<Shard>().map_err(|e| e.to_string())
}

/// Which interpretable model `awd distill` builds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ModelKind {
    /// Top-k coefficients per array + a linear model (1-D signals).
    Topk,
    /// Peak counting with the wavelet's 3x3 sub-filters (2-D maps, --2d).
    Peaks,
}

/// The linear model of the top-k model.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LinearKind {
    /// Ordinary least squares.
    Ols,
    /// Ridge regression (--ridge-alpha).
    Ridge,
}

/// `awd distill`
#[derive(Debug, Args)]
pub struct DistillArgs {
    /// Inputs .npy: (n, L) signals, or (n, H, W) maps with --2d.
    #[arg(long)]
    pub x: PathBuf,
    /// Targets .npy: (n,) or (n, k); for peak counting each distinct row is a class (e.g. a cosmology).
    #[arg(long)]
    pub y: PathBuf,
    /// The teacher's input gradients .npy, shaped like X (from any framework, e.g. torch.autograd.grad).
    #[arg(long, conflicts_with = "teacher")]
    pub grad: Option<PathBuf>,
    /// Or an awd teacher (.safetensors from `awd teacher train`) whose gradients are computed here.
    #[arg(long)]
    pub teacher: Option<PathBuf>,
    /// Attribution penalised by gamma: saliency, input-x-gradient or integrated-gradients.
    #[arg(long, default_value = "saliency", value_parser = parse_attribution)]
    pub attribution: Attribution,
    /// Group of each sample .npy (n,) integers (cell, patient, simulation): cross-validation never splits a group.
    #[arg(long)]
    pub groups: Option<PathBuf>,
    /// Validation inputs .npy (same size as X): each grid point is scored on them by a model fitted on all of X,
    /// instead of by cross-validation (--folds is then unused).
    #[arg(long, requires = "y_val")]
    pub x_val: Option<PathBuf>,
    /// Validation targets .npy.
    #[arg(long, requires = "x_val")]
    pub y_val: Option<PathBuf>,
    /// Test inputs .npy (same signal length or map size as X).
    #[arg(long, requires = "y_test")]
    pub x_test: Option<PathBuf>,
    /// Test targets .npy.
    #[arg(long, requires = "x_test")]
    pub y_test: Option<PathBuf>,
    /// Test gradients .npy (for the compression rate on the test set; computed with --teacher).
    #[arg(long, requires = "x_test", conflicts_with = "teacher")]
    pub grad_test: Option<PathBuf>,
    /// Test groups .npy (the paired bootstrap of the test scores resamples within each group).
    #[arg(long, requires = "x_test")]
    pub groups_test: Option<PathBuf>,
    /// Maps: X is (n, H, W), the transform is 2-D and the model counts peaks.
    #[arg(long = "2d")]
    pub two_d: bool,
    /// Initial wavelet: a name (db5) or a wavelet JSON file.
    #[arg(long, default_value = "db5")]
    pub wavelet: String,
    /// Levels J (default 4 for signals, 3 for maps).
    #[arg(long)]
    pub levels: Option<usize>,
    /// Signal-extension mode: zero, constant, symmetric, reflect, periodic, smooth,
    /// antisymmetric or periodization (PyWavelets' names).
    #[arg(long, default_value = "zero", value_parser = parse_mode)]
    pub mode: Mode,
    /// lambda grid: a comma list, items may be log:LO:HI:COUNT (default: scaled to the data, see the README).
    #[arg(long, allow_hyphen_values = true)]
    pub lambdas: Option<String>,
    /// gamma grid, same syntax (default: scaled to the data).
    #[arg(long, allow_hyphen_values = true)]
    pub gammas: Option<String>,
    /// How --gammas is read: absolute, or l1-ratio (multiplied by L1(coefficients) / L1(attributions) of the
    /// training data at the initial wavelet).
    #[arg(long, default_value = "absolute", value_parser = parse_gamma_scale, requires = "gammas")]
    pub gamma_scale: GammaScale,
    /// Epochs per grid point.
    #[arg(long, default_value_t = 20)]
    pub epochs: usize,
    /// Mini-batch size.
    #[arg(long, default_value_t = 100)]
    pub batch_size: usize,
    /// Adam learning rate.
    #[arg(long, default_value_t = 0.001)]
    pub lr: f64,
    /// Seeds, one sweep each (batch order; and the initial noise with --noise-factor).
    #[arg(long, default_value = "0", value_delimiter = ',')]
    pub seeds: Vec<u64>,
    /// N(0, 1) noise per tap added to the initial wavelet (seeded).
    #[arg(long, default_value_t = 0.0)]
    pub noise_factor: f64,
    /// The interpretable model (default: topk for signals, peaks for maps).
    #[arg(long, value_enum)]
    pub model: Option<ModelKind>,
    /// Top-k: coefficients per array.
    #[arg(long, default_value_t = 6)]
    pub top_k: usize,
    /// Top-k: the largest values (pos) or the largest magnitudes (abs).
    #[arg(long, default_value = "pos", value_parser = parse_sign)]
    pub sign: FeatureSign,
    /// Top-k: the linear model.
    #[arg(long, value_enum, default_value = "ols")]
    pub linear: LinearKind,
    /// Top-k with --linear ridge: the ridge penalty (scikit-learn's alpha).
    #[arg(long, default_value_t = 1.0)]
    pub ridge_alpha: f64,
    /// Peaks: histogram bins per sub-filter; several (6,10,16,22): the count
    /// of best cross-validated score, chosen with each grid point.
    #[arg(long, value_delimiter = ',', default_value = "22")]
    pub bins: Vec<usize>,
    /// Peaks: the target column predicted and scored.
    #[arg(long, default_value_t = 0)]
    pub target_column: usize,
    /// Peaks: nearest (the target of the class of smallest chi^2, the
    /// paper's rule) or posterior (the classes' targets weighted by
    /// exp(-chi^2/2), a continuous estimate).
    #[arg(long, default_value = "nearest", value_parser = parse_estimator)]
    pub estimator: Estimator,
    /// Cross-validation folds (grouped: at most one per group).
    #[arg(long, default_value_t = 5)]
    pub folds: usize,
    /// Seed of the folds and the bootstrap.
    #[arg(long, default_value_t = 0)]
    pub cv_seed: u64,
    /// Select the most regularised grid point within one standard error of the best.
    #[arg(long)]
    pub one_se: bool,
    /// Only grid points whose summed validity penalties stay below this are selectable.
    #[arg(long)]
    pub max_validity: Option<f64>,
    /// Bootstrap resamples of the test metric.
    #[arg(long, default_value_t = 10_000)]
    pub bootstrap: usize,
    /// Folder for models/, results.json, report.md, plots and sweeps/ (a re-run resumes).
    #[arg(long)]
    pub output_dir: PathBuf,
}

/// Parse a feature rule.
pub fn parse_sign(s: &str) -> Result<FeatureSign, String> {
    s.parse::<FeatureSign>()
}

/// Parse a peak-counting estimator (nearest or posterior).
pub fn parse_estimator(s: &str) -> Result<Estimator, String> {
    s.parse::<Estimator>()
}

/// Parse an attribution name.
pub fn parse_attribution(s: &str) -> Result<Attribution, String> {
    s.parse::<Attribution>()
}

/// `awd bench ...`
#[derive(Debug, Subcommand)]
pub enum BenchCommand {
    /// Median seconds per forward and inverse multilevel transform.
    Dwt(BenchDwtArgs),
    /// Seconds per training epoch of the distillation (random data and gradients).
    Fit(BenchFitArgs),
    /// Seconds per 1,000 predictions of a saved model, and of its teacher on the same inputs.
    Predict(BenchPredictArgs),
}

/// `awd bench predict`
#[derive(Debug, Args)]
pub struct BenchPredictArgs {
    /// A saved interpretable model (`awd distill`'s or an experiment's models/*.json).
    #[arg(long)]
    pub model: PathBuf,
    /// Inputs: signals (n, L) or maps (n, H, W), .npy (float64 or float32).
    #[arg(long)]
    pub x: PathBuf,
    /// The network the model was distilled from (.safetensors, its .json beside it), timed on the same
    /// inputs; repeat it for an ensemble (timed as the mean of its members' predictions).
    #[arg(long)]
    pub teacher: Vec<PathBuf>,
    /// Timed repetitions (the median is reported).
    #[arg(long, default_value_t = 20)]
    pub repeat: usize,
}

/// `awd bench fit`
#[derive(Debug, Args)]
pub struct BenchFitArgs {
    /// Number of signals (maps with --2d; default 50,000 signals, 4,096 maps).
    #[arg(long)]
    pub samples: Option<usize>,
    /// Samples per signal.
    #[arg(long, default_value_t = 64)]
    pub length: usize,
    /// Maps (n, H, W) instead of signals: the 2-D distillation.
    #[arg(long = "2d")]
    pub two_d: bool,
    /// Map size H W with --2d.
    #[arg(long, num_args = 2, value_names = ["H", "W"], default_values_t = [64, 64], requires = "two_d")]
    pub size: Vec<usize>,
    /// Levels J.
    #[arg(long, default_value_t = 4)]
    pub levels: usize,
    /// Initial wavelet.
    #[arg(long, default_value = "db5")]
    pub wavelet: String,
    /// Signal-extension mode: zero, constant, symmetric, reflect, periodic, smooth,
    /// antisymmetric or periodization (PyWavelets' names).
    #[arg(long, default_value = "zero", value_parser = parse_mode)]
    pub mode: Mode,
    /// Mini-batch size.
    #[arg(long, default_value_t = 100)]
    pub batch_size: usize,
    /// lambda.
    #[arg(long, default_value_t = 0.1)]
    pub lambda: f64,
    /// gamma (0 skips the attribution gradient).
    #[arg(long, default_value_t = 1.0)]
    pub gamma: f64,
    /// Attribution penalised by gamma: saliency, input-x-gradient or integrated-gradients.
    #[arg(long, default_value = "saliency", value_parser = parse_attribution)]
    pub attribution: Attribution,
    /// Timed epochs (the median is reported).
    #[arg(long, default_value_t = 3)]
    pub epochs: usize,
    /// Seed of the random data.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
}

/// `awd bench dwt`
#[derive(Debug, Args)]
pub struct BenchDwtArgs {
    /// Wavelet name or JSON file.
    #[arg(long, default_value = "db5")]
    pub wavelet: String,
    /// Signal-extension mode: zero, constant, symmetric, reflect, periodic, smooth,
    /// antisymmetric or periodization (PyWavelets' names).
    #[arg(long, default_value = "zero", value_parser = parse_mode)]
    pub mode: Mode,
    /// Number of levels J (levels above dwt_max_level are allowed here).
    #[arg(long)]
    pub levels: usize,
    /// Samples per signal (1-D).
    #[arg(long, required_unless_present = "two_d")]
    pub length: Option<usize>,
    /// Signals per batch (1-D), default 1.
    #[arg(long, default_value_t = 1)]
    pub batch: usize,
    /// Benchmark a 2-D transform of one image of --size H W.
    #[arg(long = "2d", requires = "size")]
    pub two_d: bool,
    /// Image rows and columns (with --2d).
    #[arg(long, num_args = 2, value_names = ["H", "W"])]
    pub size: Option<Vec<usize>>,
    /// Transform float32 signals or images (float32 in, float32 out, computed in float32).
    #[arg(long)]
    pub float32: bool,
    /// Timed repetitions (the median is reported).
    #[arg(long, default_value_t = 20)]
    pub repeat: usize,
    /// Seed of the random input.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_documented_commands() {
        let c = Cli::try_parse_from([
            "awd",
            "dwt",
            "--wavelet",
            "db5",
            "--mode",
            "zero",
            "--levels",
            "4",
            "--input",
            "x.npy",
            "--output",
            "c.npz",
        ])
        .unwrap();
        match c.command {
            Command::Dwt(a) => {
                assert_eq!(a.mode, Mode::Zero);
                assert_eq!(a.levels, 4);
                assert!(!a.two_d);
            }
            other => panic!("{other:?}"),
        }
        assert!(Cli::try_parse_from([
            "awd",
            "dwt",
            "--wavelet",
            "db5",
            "--mode",
            "mirror",
            "--levels",
            "1",
            "--input",
            "x",
            "--output",
            "y"
        ])
        .is_err());
        let b = Cli::try_parse_from([
            "awd", "bench", "dwt", "--levels", "3", "--2d", "--size", "1024", "1024", "--repeat", "5",
        ])
        .unwrap();
        match b.command {
            Command::Bench(BenchCommand::Dwt(a)) => assert_eq!(a.size, Some(vec![1024, 1024])),
            other => panic!("{other:?}"),
        }
        assert!(Cli::try_parse_from(["awd", "bench", "dwt", "--levels", "3"]).is_err());
    }
}

/// `awd teacher ...`
#[derive(Debug, Subcommand)]
pub enum TeacherCommand {
    /// Train a teacher (Adam, MSE, validation split, early stopping).
    Train(TeacherTrainArgs),
    /// Predictions of a saved teacher as .npy.
    Predict(TeacherPredictArgs),
    /// Input gradients of a saved teacher as .npy shaped like X (the G of `awd fit`).
    Grad(TeacherGradArgs),
}

/// `awd teacher train`
#[derive(Debug, Args)]
pub struct TeacherTrainArgs {
    /// Architecture: mlp, lstm, cnn (2-D maps) or cnn1d (signals).
    #[arg(long, value_parser = parse_arch)]
    pub arch: Arch,
    /// Inputs .npy: (n, L) for mlp, lstm and cnn1d, (n, H, W) for cnn.
    #[arg(long)]
    pub x: PathBuf,
    /// Targets .npy: (n,) or (n, k).
    #[arg(long)]
    pub y: PathBuf,
    /// Weights (.safetensors); the architecture JSON is written beside it (same name, .json).
    #[arg(long)]
    pub output: PathBuf,
    /// Maximum epochs.
    #[arg(long, default_value_t = 20)]
    pub epochs: usize,
    /// Mini-batch size.
    #[arg(long, default_value_t = 100)]
    pub batch_size: usize,
    /// Adam learning rate.
    #[arg(long, default_value_t = 0.01)]
    pub lr: f64,
    /// Fraction held out for validation and early stopping.
    #[arg(long, default_value_t = 0.1)]
    pub val_fraction: f64,
    /// Epochs without validation improvement before stopping.
    #[arg(long, default_value_t = 5)]
    pub patience: usize,
    /// Seed of the initial weights, the split and the shuffling.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Hidden width (default: mlp 32, lstm 40, cnn and cnn1d 16 channels).
    #[arg(long)]
    pub hidden: Option<usize>,
    /// Residual blocks of the cnn (default 4) or cnn1d (default 2).
    #[arg(long)]
    pub blocks: Option<usize>,
    /// Stride of the cnn's or cnn1d's first convolution (default 1; 2 for large maps).
    #[arg(long, default_value_t = 1)]
    pub stem_stride: usize,
    /// Random flips and transposes of square maps during training (cnn).
    #[arg(long)]
    pub augment: bool,
}

/// `awd teacher predict`
#[derive(Debug, Args)]
pub struct TeacherPredictArgs {
    /// Weights (.safetensors) with its architecture JSON beside it.
    #[arg(long)]
    pub model: PathBuf,
    /// Inputs .npy.
    #[arg(long)]
    pub x: PathBuf,
    /// Predictions .npy: (n,) for one output, (n, k) otherwise.
    #[arg(long)]
    pub output: PathBuf,
}

/// `awd teacher grad`
#[derive(Debug, Args)]
pub struct TeacherGradArgs {
    /// Weights (.safetensors) with its architecture JSON beside it.
    #[arg(long)]
    pub model: PathBuf,
    /// Inputs .npy.
    #[arg(long)]
    pub x: PathBuf,
    /// Gradients .npy (float64, shaped like X).
    #[arg(long)]
    pub output: PathBuf,
    /// saliency (grad_x f) or integrated-gradients (path-averaged gradient, baseline 0).
    #[arg(long, default_value = "saliency")]
    pub method: String,
    /// Path steps of integrated gradients.
    #[arg(long, default_value_t = 32)]
    pub steps: usize,
    /// Which output to differentiate.
    #[arg(long, default_value_t = 0)]
    pub output_index: usize,
}

/// Parse a gamma scale (absolute, l1-ratio).
fn parse_gamma_scale(s: &str) -> Result<GammaScale, String> {
    s.parse::<GammaScale>()
}

/// Parse an architecture name.
pub fn parse_arch(s: &str) -> Result<Arch, String> {
    s.parse::<Arch>()
}

/// `awd data ...`
#[derive(Debug, Subcommand)]
pub enum DataCommand {
    /// The paper's synthetic benchmark (App. B): x_train, y_train, x_test, y_test as .npy.
    Synthetic(DataSyntheticArgs),
    /// Simulated lensing convergence maps (shifted lognormal with shape noise) for ten cosmologies.
    Cosmology(DataCosmologyArgs),
}

/// Map simulation settings shared by `awd data cosmology` and `awd experiment cosmology`.
#[derive(Debug, Args, Clone)]
pub struct MapSimArgs {
    /// Pixels per side of a map [default: 64; quick experiment runs: 32].
    #[arg(long)]
    pub size: Option<usize>,
    /// Pixel side in arcminutes.
    #[arg(long, default_value_t = 1.6)]
    pub pixel_arcmin: f64,
    /// Shape noise: galaxies per square arcminute; 0 (the default, as in the paper) gives
    /// noiseless maps, 30 the noise of a deep survey.
    #[arg(long, default_value_t = 0.0)]
    pub noise: f64,
    /// Shape noise: intrinsic ellipticity dispersion per component.
    #[arg(long, default_value_t = 0.3)]
    pub sigma_e: f64,
    /// C_ell table JSON (layout of data/cosmology/cl_zs1.json); the built-in table when absent.
    #[arg(long)]
    pub cl_table: Option<PathBuf>,
}

/// How many simulated maps of each cosmology go to training, validation and test
/// (shared by `awd data cosmology` and `awd experiment cosmology`).
#[derive(Debug, Args, Clone)]
pub struct MapCountArgs {
    /// Maps per cosmology split 70/15/15 into train, validation and test (instead of the
    /// three counts below; 600 gives the split of versions before 2026-12-07).
    #[arg(long, conflicts_with_all = ["train_maps", "val_maps", "test_maps"])]
    pub maps_per_cosmology: Option<usize>,
    /// Training maps per cosmology [default: 420; quick experiment runs: 28].
    #[arg(long)]
    pub train_maps: Option<usize>,
    /// Validation maps per cosmology [default: 500; quick experiment runs: 6].
    #[arg(long)]
    pub val_maps: Option<usize>,
    /// Test maps per cosmology [default: 1000; quick experiment runs: 6].
    #[arg(long)]
    pub test_maps: Option<usize>,
}

/// `awd data cosmology`
#[derive(Debug, Args)]
pub struct DataCosmologyArgs {
    /// Folder for {train,val,test}_maps.npy, {train,val,test}_params.npy and spec.json.
    #[arg(long)]
    pub output_dir: PathBuf,
    /// Maps per cosmology in each part (the full experiment's by default).
    #[command(flatten)]
    pub counts: MapCountArgs,
    /// Geometry and noise.
    #[command(flatten)]
    pub sim: MapSimArgs,
    /// Seed.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
}

/// `awd data synthetic`
#[derive(Debug, Args)]
pub struct DataSyntheticArgs {
    /// Folder for x_train.npy, y_train.npy, x_test.npy, y_test.npy and beta.npy.
    #[arg(long)]
    pub output_dir: PathBuf,
    /// Training samples.
    #[arg(long, default_value_t = 50_000)]
    pub train: usize,
    /// Test samples.
    #[arg(long, default_value_t = 5_000)]
    pub test: usize,
    /// Standard deviation of the response noise.
    #[arg(long, default_value_t = 0.1)]
    pub noise: f64,
    /// Seed.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
}

/// `awd experiment ...`
#[derive(Debug, Subcommand)]
pub enum ExperimentCommand {
    /// Synthetic benchmark (paper §4.1, Fig. 3, App. B): does AWD recover db5?
    Synthetic(ExperimentSyntheticArgs),
    /// Molecular-partner prediction on clathrin tracks (paper §4.2, Table 1, Fig. 4, Fig. C4).
    Clathrin(ExperimentClathrinArgs),
    /// Omega_m from lensing maps by peak counting (paper §4.3, Table 2, Fig. D1, Fig. D2).
    Cosmology(ExperimentCosmologyArgs),
    /// The spread over seeds of cosmology runs that differ only in --seed: each run's paired
    /// intervals of AWD minus every model, and the Student-t interval of the mean over seeds.
    Spread(ExperimentSpreadArgs),
}

/// `awd experiment spread`
#[derive(Debug, Args)]
pub struct ExperimentSpreadArgs {
    /// Output folders of `awd experiment cosmology` runs with different seeds (at least two).
    #[arg(required = true, num_args = 2..)]
    pub runs: Vec<PathBuf>,
    /// Folder for spread.json, spread.md and spread.png (printed only, when absent).
    #[arg(long)]
    pub output_dir: Option<PathBuf>,
}

/// `awd experiment cosmology`
#[derive(Debug, Args)]
pub struct ExperimentCosmologyArgs {
    /// Folder for results.json, report.md, plots, the teacher and the sweep (re-runs resume).
    #[arg(long)]
    pub output_dir: PathBuf,
    /// Take maps and parameters from this folder ({train,val,test}_maps.npy (n, H, W) and
    /// {train,val,test}_params.npy (n, p), Omega_m in column 1) instead of simulating them.
    #[arg(long, conflicts_with_all = ["maps_per_cosmology", "train_maps", "val_maps", "test_maps"])]
    pub maps_dir: Option<PathBuf>,
    /// Maps per cosmology in each part when simulating.
    #[command(flatten)]
    pub counts: MapCountArgs,
    /// Geometry and noise of simulated maps (quick runs use 32 x 32).
    #[command(flatten)]
    pub sim: MapSimArgs,
    /// Levels J of the learned 2-D transform [default: 4, the paper's].
    #[arg(long)]
    pub levels: Option<usize>,
    /// lambda grid, comma-separated [default: the paper's 0.005,0.01,0.02].
    #[arg(long, value_delimiter = ',')]
    pub lambdas: Option<Vec<f64>>,
    /// gamma grid relative to the L1 ratio of coefficients to attributions at db5 on the
    /// training maps, comma-separated [default: 0 and 10 values log-spaced from 0.001 to 1].
    #[arg(long, value_delimiter = ',')]
    pub gammas_relative: Option<Vec<f64>>,
    /// Smaller maps, fewer of them, a small grid and few epochs (CI).
    #[arg(long)]
    pub quick: bool,
    /// Seed of the maps, the teacher and the distillation.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
}

/// `awd experiment clathrin`
#[derive(Debug, Args)]
pub struct ExperimentClathrinArgs {
    /// Folder of cellK_tracks.csv / cellK_frames.csv pairs (.csv or .csv.gz).
    #[arg(long, default_value = "data/clathrin")]
    pub data_dir: PathBuf,
    /// Folder for results.json, report.md, plots, the teacher, sweeps and models.
    #[arg(long)]
    pub output_dir: PathBuf,
    /// Cells held out in turn, each once (leave one cell out; default: every cell in --data-dir).
    #[arg(long, value_delimiter = ',', conflicts_with_all = ["train_cells", "test_cells"])]
    pub cells: Option<Vec<u32>>,
    /// Training cells of a single fixed split (with --test-cells) instead of leaving each cell out.
    #[arg(long, value_delimiter = ',', requires = "test_cells")]
    pub train_cells: Option<Vec<u32>>,
    /// Test cells of a single fixed split (with --train-cells).
    #[arg(long, value_delimiter = ',', requires = "train_cells")]
    pub test_cells: Option<Vec<u32>>,
    /// Shortest track lifetime kept (frames).
    #[arg(long, default_value_t = 15)]
    pub min_lifetime: usize,
    /// Longest track lifetime kept (frames).
    #[arg(long, default_value_t = 150)]
    pub max_lifetime: usize,
    /// Select the most regularised grid point within one standard error of
    /// the best cross-validated R^2 (a guard against the winner's curse)
    /// instead of the best.
    #[arg(long)]
    pub one_se: bool,
    /// Smaller grid, fewer seeds and epochs (CI).
    #[arg(long)]
    pub quick: bool,
    /// Base seed.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
}

/// `awd predict`
#[derive(Debug, Args)]
pub struct PredictArgs {
    /// Model JSON (models/*.json written by `awd distill` or an `awd experiment`).
    #[arg(long)]
    pub model: PathBuf,
    /// Signals .npy (n, L) or (L,) for a top-k model, maps .npy (n, H, W) or (H, W) for a peak-counting model.
    #[arg(long)]
    pub x: PathBuf,
    /// Output .npy (n,); without it the predictions are printed, one per line.
    #[arg(long)]
    pub output: Option<PathBuf>,
}

/// `awd experiment synthetic`
#[derive(Debug, Args)]
pub struct ExperimentSyntheticArgs {
    /// Folder for results.json, report.md, plots, data, teacher and sweeps (re-runs resume).
    #[arg(long)]
    pub output_dir: PathBuf,
    /// Smaller data and grid (CI; well under two minutes).
    #[arg(long)]
    pub quick: bool,
    /// Seed of data, teacher and initial noise.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
}
