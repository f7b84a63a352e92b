//! One fit and one sweep from arrays: what `awd fit`, `awd sweep` and
//! Python's `awd.fit` / `awd.sweep` all call, so the same data, settings
//! and seed give the same filter bit for bit whichever door they came in by.

use std::ops::Range;
use std::path::Path;

use ndarray::{Array2, ArrayViewD};

use super::data::{check_grad_shape, samples, SampleArray};
use crate::distill::validity;
use crate::distill::{
    check_settings, fit_data_parallel, fit_stoppable, grid_values, initial_filter, summarize as core_summarize,
    sweep as core_sweep, sweep_shard as core_sweep_shard, sweep_shard_data_parallel as core_sweep_shard_data_parallel,
    Attribution, Collective, FitSettings, Geometry, LearnedWavelet, Penalties, Problem, Progress, RowShard, Shard,
    ShardRun, SweepPoint, SweepSpec, Validity, ValidityWeights, FAR_FROM_WAVELET,
};
use crate::dwt::Real;
use crate::io::{read_npy_f64, read_npy_rows_f64};
use crate::wavelet::Wavelet;
use crate::{Error, Mode, Result};

/// Settings of one fit; the defaults are the CLI's (levels 4 as in the
/// paper's 1-D runs).
#[derive(Debug, Clone, PartialEq)]
pub struct FitConfig {
    /// Initial wavelet: a name (`db5`) or a learned-wavelet JSON file.
    pub wavelet: String,
    /// The initial lowpass given directly (overrides `wavelet`, which then
    /// only labels it).
    pub lowpass: Option<Vec<f64>>,
    /// The initial filter is the wavelet's lowpass times this factor ...
    pub init_factor: f64,
    /// ... plus this much N(0, 1) noise per tap (seeded by `seed`).
    pub noise_factor: f64,
    /// Levels J (above pywt's `dwt_max_level` is allowed).
    pub levels: usize,
    /// Signal-extension mode.
    pub mode: Mode,
    /// Attribution penalised by gamma.
    pub attribution: Attribution,
    /// Weight of the L1 norm of the coefficients.
    pub lambda: f64,
    /// Weight of the L1 norm of the attributions.
    pub gamma: f64,
    /// Passes over the data.
    pub epochs: usize,
    /// Samples per mini-batch (clamped to the number of samples).
    pub batch_size: usize,
    /// Adam learning rate.
    pub lr: f64,
    /// Seed of the initial noise and the shuffling.
    pub seed: u64,
    /// Weights of the five validity penalties.
    pub validity: ValidityWeights,
}

impl Default for FitConfig {
    fn default() -> Self {
        FitConfig {
            wavelet: "db5".into(),
            lowpass: None,
            init_factor: 1.0,
            noise_factor: 0.0,
            levels: 4,
            mode: Mode::Zero,
            attribution: Attribution::Saliency,
            lambda: 0.0,
            gamma: 0.0,
            epochs: 50,
            batch_size: 100,
            lr: 0.001,
            seed: 0,
            validity: ValidityWeights::default(),
        }
    }
}

impl FitConfig {
    /// The core's settings of this config at `(lambda, gamma)`.
    pub fn settings(&self, lambda: f64, gamma: f64) -> FitSettings {
        FitSettings {
            levels: self.levels,
            mode: self.mode,
            penalties: Penalties { lambda, gamma, validity: self.validity, attribution: self.attribution },
            epochs: self.epochs,
            batch_size: self.batch_size,
            lr: self.lr,
            seed: self.seed,
        }
    }

    /// The initial filter: the wavelet's lowpass scaled by `init_factor`
    /// plus seeded noise.
    pub fn initial_lowpass(&self) -> Result<Vec<f64>> {
        for (name, v) in [("init_factor", self.init_factor), ("noise_factor", self.noise_factor)] {
            if !v.is_finite() {
                return Err(Error::Input(format!("{name} must be finite, got {v}")));
            }
        }
        let w = match &self.lowpass {
            Some(h) => Wavelet::from_lowpass(&self.wavelet, h)?,
            None => Wavelet::resolve(&self.wavelet)?,
        };
        Ok(initial_filter(&w.rec_lo, self.init_factor, self.noise_factor, self.seed))
    }

    /// The settings as recorded in a learned-wavelet file.
    fn record(&self, samples: &Samples) -> serde_json::Value {
        serde_json::json!({
            "x": samples.x_name,
            "grad": samples.grad_name,
            "data_shape": samples.shape,
            "two_d": matches!(samples.geometry, Geometry::TwoD { .. }),
            "initial_wavelet": self.wavelet,
            "init_factor": self.init_factor,
            "noise_factor": self.noise_factor,
        })
    }
}

/// Inputs and teacher gradients as rows `(n, values)`, checked; float64
/// and float32 `.npy` files are memory-mapped, not copied.
#[derive(Debug, Clone)]
pub struct Samples {
    x: SampleArray,
    grad: Option<SampleArray>,
    geometry: Geometry,
    shape: Vec<usize>,
    x_name: String,
    grad_name: Option<String>,
}

impl Samples {
    /// Signals `(n, L)` (or maps `(n, H, W)` with `two_d`) and gradients
    /// shaped like them, float64 or float32 (float32 is kept as float32: a
    /// copy of half the size, widened chunk by chunk when read); any memory
    /// layout. `names` label the two arrays in messages (file names, or `X`
    /// and `grad`).
    pub fn new<T: Real>(
        x: ArrayViewD<'_, T>,
        grad: Option<ArrayViewD<'_, T>>,
        two_d: bool,
        names: (&str, &str),
    ) -> Result<Self>
    where
        Array2<T>: Into<SampleArray>,
    {
        let shape = x.shape().to_vec();
        let (geometry, rows) = samples(names.0, x, two_d)?;
        let grad = match grad {
            None => None,
            Some(g) => {
                check_grad_shape(names.1, g.shape(), names.0, &shape)?;
                Some(samples(names.1, g, two_d)?.1)
            }
        };
        Ok(Samples {
            x: rows.into(),
            grad_name: grad.as_ref().map(|_| names.1.to_string()),
            grad: grad.map(Into::into),
            geometry,
            shape,
            x_name: names.0.to_string(),
        })
    }

    /// Read X (and G) from .npy files (float64 or float32); messages name
    /// the files. Files in C order are memory-mapped, float32 staying
    /// float32 (no copy: the resident memory of a fit follows its batches,
    /// not the data size); others are read and converted.
    pub fn load(x: &Path, grad: Option<&Path>, two_d: bool) -> Result<Self> {
        if let Some(mapped) = Self::map(x, grad, two_d, None)? {
            return Ok(mapped);
        }
        let xa = read_npy_f64(x)?;
        let ga = grad.map(read_npy_f64).transpose()?;
        let gname = grad.map_or(String::new(), |p| p.display().to_string());
        Self::new(xa.view(), ga.as_ref().map(|g| g.view()), two_d, (&x.display().to_string(), &gname))
    }

    /// X (and G) memory-mapped, when every file can be (see [`SampleArray::map`]).
    fn map(x: &Path, grad: Option<&Path>, two_d: bool, range: Option<Range<usize>>) -> Result<Option<Self>> {
        let Some((xm, shape)) = SampleArray::map(x, two_d, range.clone())? else { return Ok(None) };
        let gm = match grad {
            None => None,
            Some(g) => {
                let Some((gm, gshape)) = SampleArray::map(g, two_d, range)? else { return Ok(None) };
                check_grad_shape(&g.display().to_string(), &gshape, &x.display().to_string(), &shape)?;
                Some(gm)
            }
        };
        let geometry =
            if two_d { Geometry::TwoD { rows: shape[1], cols: shape[2] } } else { Geometry::OneD { n: shape[1] } };
        Ok(Some(Samples {
            x: xm,
            grad_name: grad.map(|g| g.display().to_string()),
            grad: gm,
            geometry,
            shape,
            x_name: x.display().to_string(),
        }))
    }

    /// Rows `rows` of X (and G), the share of one process in a
    /// data-parallel fit: mapped (only those rows are ever paged in), or
    /// read for files a map cannot view. The recorded data shape is the
    /// files' (all rows).
    pub fn load_rows(x: &Path, grad: Option<&Path>, two_d: bool, rows: Range<usize>) -> Result<Self> {
        if let Some(mapped) = Self::map(x, grad, two_d, Some(rows.clone()))? {
            return Ok(mapped);
        }
        let (xa, shape) = read_npy_rows_f64(x, rows.clone())?;
        let ga = match grad {
            Some(g) => {
                let (ga, gshape) = read_npy_rows_f64(g, rows)?;
                check_grad_shape(&g.display().to_string(), &gshape, &x.display().to_string(), &shape)?;
                Some(ga)
            }
            None => None,
        };
        let gname = grad.map_or(String::new(), |p| p.display().to_string());
        let mut samples =
            Self::new(xa.view(), ga.as_ref().map(|g| g.view()), two_d, (&x.display().to_string(), &gname))?;
        samples.shape = shape;
        Ok(samples)
    }

    /// Whether X is held as float32 (a mapped float32 file, or float32
    /// arrays given).
    pub fn is_float32(&self) -> bool {
        self.x.view().is_float32()
    }

    /// Rows `(n, ...)` of the whole data set (of the files, for a share).
    pub fn total_rows(&self) -> usize {
        self.shape[0]
    }

    /// Number of samples.
    pub fn len(&self) -> usize {
        self.x.view().dim().0
    }

    /// Whether there are no samples (never, once checked).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The core problem for filters of `filter_len` taps.
    fn problem(&self, cfg: &FitConfig, filter_len: usize) -> Result<Problem<'_>> {
        Problem::with_rows(
            self.x.view(),
            self.grad.as_ref().map(|g| g.view()),
            self.geometry.clone(),
            filter_len,
            cfg.mode,
            cfg.levels,
        )
        .map_err(|e| {
            let msg = e.to_string();
            let name =
                if msg.contains(" of G") { self.grad_name.as_deref().unwrap_or(&self.x_name) } else { &self.x_name };
            Error::data(name, msg)
        })
    }
}

/// A fit checked and set up once: the initial filter, the core settings
/// and the problem over the samples. Run it as one fit or as a sweep.
pub struct PreparedFit<'a> {
    cfg: FitConfig,
    samples: &'a Samples,
    initial: Vec<f64>,
    settings: FitSettings,
    problem: Problem<'a>,
    /// The data's fingerprint (one pass over X and G), once.
    fingerprint: std::sync::OnceLock<String>,
}

impl<'a> PreparedFit<'a> {
    /// Check every option against the data before any work.
    pub fn new(cfg: &FitConfig, samples: &'a Samples) -> Result<Self> {
        let initial = cfg.initial_lowpass()?;
        let problem = samples.problem(cfg, initial.len())?;
        let settings = cfg.settings(cfg.lambda, cfg.gamma);
        check_settings(&problem, &initial, &settings).map_err(|e| Error::Input(e.to_string()))?;
        Ok(PreparedFit { cfg: cfg.clone(), samples, initial, settings, problem, fingerprint: Default::default() })
    }

    /// The initial filter (with its noise).
    pub fn initial_lowpass(&self) -> &[f64] {
        &self.initial
    }

    /// Warnings for the caller to show before training: a batch larger than
    /// the data, levels above PyWavelets' `dwt_max_level` (as `awd dwt`
    /// warns), an initial filter far from a wavelet.
    pub fn warnings(&self) -> Vec<String> {
        let n = self.samples.len();
        let mut out = Vec::new();
        if self.cfg.batch_size > n {
            out.push(format!(
                "batch size {} is larger than the {n} samples; using batches of {n}",
                self.cfg.batch_size
            ));
        }
        let length = match self.samples.geometry {
            Geometry::OneD { n } => n,
            Geometry::TwoD { rows, cols } => rows.min(cols),
        };
        out.extend(crate::dwt::boundary_level_warning(length, self.initial.len(), self.cfg.levels));
        let v = validity(&self.initial, &ValidityWeights::default(), None);
        if v.far_from_wavelet() {
            out.push(format!(
                "the initial filter is far from a wavelet (validity penalty {:.3e} > {FAR_FROM_WAVELET}); training \
                 starts from a filter with no wavelet meaning: start from a named wavelet (--wavelet db5), a --init-factor of 1 or a lower \
                 --noise-factor",
                v.total()
            ));
        }
        out
    }

    /// The warning for a learned filter that ended far from a wavelet.
    pub fn learned_warning(validity: &Validity) -> Option<String> {
        validity.far_from_wavelet().then(|| {
            format!(
                "the learned filter ended far from a wavelet (validity penalty {:.3e} > {FAR_FROM_WAVELET}); its \
                 coefficients are not those of an orthogonal transform: lower lambda/gamma or --lr, or train longer",
                validity.total()
            )
        })
    }

    /// Learn the wavelet. A [`Flow::Stop`](crate::distill::Flow) from
    /// `progress` ends training early and returns the filter so far
    /// (`stopped_at` set); cancellation is [`Error::is_stopped`].
    pub fn fit(&self, name: &str, progress: &dyn Progress) -> Result<LearnedWavelet> {
        let outcome = fit_stoppable(&self.problem, &self.initial, &self.settings, progress)?;
        Ok(LearnedWavelet::new(name, &outcome, &self.settings, self.cfg.record(self.samples)))
    }

    /// Run (or resume) a sweep over `lambdas x gammas` (sorted,
    /// deduplicated, each finite and >= 0) into `dir`, with the reference's
    /// warm starts; the config's own lambda and gamma are not used.
    pub fn sweep(
        &self,
        lambdas: &[f64],
        gammas: &[f64],
        dir: &Path,
        progress: &dyn Progress,
    ) -> Result<Vec<SweepPoint>> {
        Ok(core_sweep(&self.problem, &self.sweep_spec(lambdas, gammas)?, dir, progress)?)
    }

    /// Run (or resume) shard `shard` of the sweep into the shared folder
    /// `dir` (see [`crate::distill::sweep_shard`]); the shard that completes
    /// the grid writes the summary.
    pub fn sweep_shard(
        &self,
        lambdas: &[f64],
        gammas: &[f64],
        dir: &Path,
        shard: Shard,
        progress: &dyn Progress,
    ) -> Result<ShardRun> {
        Ok(core_sweep_shard(&self.problem, &self.sweep_spec(lambdas, gammas)?, dir, shard, progress)?)
    }

    /// Write the summary of the sweep in `dir` once every shard has run; an
    /// error lists the missing points otherwise.
    pub fn summarize(
        &self,
        lambdas: &[f64],
        gammas: &[f64],
        dir: &Path,
        progress: &dyn Progress,
    ) -> Result<Vec<SweepPoint>> {
        Ok(core_summarize(&self.sweep_spec(lambdas, gammas)?, dir, progress)?)
    }

    /// The sweep's identity: grids, settings, initial filter, data fingerprint.
    fn sweep_spec(&self, lambdas: &[f64], gammas: &[f64]) -> Result<SweepSpec> {
        let lambdas = grid_values("lambda", lambdas)?;
        let gammas = grid_values("gamma", gammas)?;
        let base = self.cfg.settings(lambdas[lambdas.len() - 1], gammas[gammas.len() - 1]);
        check_settings(&self.problem, &self.initial, &base).map_err(|e| Error::Input(e.to_string()))?;
        Ok(SweepSpec {
            lambdas,
            gammas,
            base,
            initial_lowpass: self.initial.clone(),
            data_fingerprint: self.fingerprint.get_or_init(|| self.problem.fingerprint()).clone(),
            extra: self.cfg.record(self.samples),
        })
    }
}

/// Stop every process with one message unless all passed the same
/// `fingerprint` (of their settings and data files): processes that
/// disagree would otherwise compute different things, or wait forever.
pub fn check_agreement(collective: &dyn Collective, fingerprint: u64) -> Result<()> {
    if collective.all_equal(fingerprint)? {
        return Ok(());
    }
    Err(Error::Input(format!(
        "the {} processes disagree on the settings or the data files (fingerprints differ); start every rank with \
         the same command line and the same files",
        collective.size()
    )))
}

/// This process's contiguous share of the rows of X (and G), and where it
/// sits among all the rows; more processes than rows is an error. A
/// collective call.
fn load_share(x: &Path, grad: Option<&Path>, two_d: bool, collective: &dyn Collective) -> Result<(RowShard, Samples)> {
    let total = all_succeed(collective, npy_rows(x))?;
    let size = collective.size();
    if total < size {
        return Err(Error::data(
            x.display().to_string(),
            format!("{total} samples cannot be shared by {size} processes; use at most {total}"),
        ));
    }
    let rows = RowShard::split(total, collective.rank(), size);
    let first = rows.start;
    let samples = all_succeed(collective, Samples::load_rows(x, grad, two_d, rows))?;
    Ok((RowShard { first, total }, samples))
}

/// One fit spread over the processes of `collective` (data-parallel): each
/// reads only its share of the rows of X and G (memory-mapped), every one
/// draws the same global batches and the partial sums meet once per step.
/// Every process returns the same filter, the single-process fit's bit for
/// bit (each sample's sums are placed at its batch position and added in
/// batch order, see [`awd_core::distill::Problem::evaluate_shared`]).
pub fn fit_across(
    cfg: &FitConfig,
    x: &Path,
    grad: Option<&Path>,
    two_d: bool,
    name: &str,
    collective: &dyn Collective,
    progress: &dyn Progress,
) -> Result<LearnedWavelet> {
    let (shard, samples) = load_share(x, grad, two_d, collective)?;
    let prepared = all_succeed(collective, PreparedFit::new(cfg, &samples))?;
    let outcome =
        fit_data_parallel(&prepared.problem, shard, &prepared.initial, &prepared.settings, collective, progress)?;
    Ok(LearnedWavelet::new(name, &outcome, &prepared.settings, cfg.record(&samples)))
}

/// A sweep spread over the processes of `collective`: process `r` of `R`
/// runs shard `r + 1` of `R` (whole lambda chains, see
/// [`crate::distill::sweep_shard`]) into the shared folder `dir`; after all
/// have finished, process 0 writes the summary and returns every point
/// (`None` elsewhere). The files equal the single-process sweep's bit for
/// bit.
pub fn sweep_across(
    prepared: &PreparedFit<'_>,
    lambdas: &[f64],
    gammas: &[f64],
    dir: &Path,
    collective: &dyn Collective,
    progress: &dyn Progress,
) -> Result<Option<Vec<SweepPoint>>> {
    let shard = Shard::new(collective.rank() + 1, collective.size())?;
    all_succeed(collective, prepared.sweep_shard(lambdas, gammas, dir, shard, progress))?;
    if collective.rank() == 0 {
        Ok(Some(prepared.summarize(lambdas, gammas, dir, progress)?))
    } else {
        Ok(None)
    }
}

/// A sweep whose every fit is data-parallel over the processes of
/// `collective` (see [`crate::distill::sweep_data_parallel`]): each process
/// reads only its share of the rows of X and G; process 0 also maps the
/// whole files once for the sweep's data fingerprint, and writes the files,
/// which equal the single-process sweep's bit for bit. Returns every point
/// on process 0, `None` elsewhere.
#[allow(clippy::too_many_arguments)]
pub fn sweep_data_parallel_across(
    cfg: &FitConfig,
    x: &Path,
    grad: Option<&Path>,
    two_d: bool,
    lambdas: &[f64],
    gammas: &[f64],
    dir: &Path,
    collective: &dyn Collective,
    progress: &dyn Progress,
) -> Result<Option<Vec<SweepPoint>>> {
    let files = SweepFiles { x, grad, two_d, dir };
    sweep_groups_across(cfg, &files, lambdas, gammas, collective, collective, Shard::ALL, progress)
}

/// The files of a sweep across processes: inputs, gradients, their
/// geometry and the shared output folder.
#[derive(Debug, Clone, Copy)]
pub struct SweepFiles<'p> {
    /// Inputs .npy.
    pub x: &'p Path,
    /// Teacher gradients .npy.
    pub grad: Option<&'p Path>,
    /// Maps `(n, H, W)` rather than signals.
    pub two_d: bool,
    /// The shared output folder.
    pub dir: &'p Path,
}

/// A sweep over groups of processes, chains and data combined: the group
/// `group` (a part of `world`) owns the lambda chains of `shard` and runs
/// each of their fits data-parallel over its members (see
/// [`crate::distill::sweep_shard_data_parallel`]); each member reads only
/// its share of the rows, the group's process 0 also maps the whole files
/// once for the data fingerprint and writes the group's files. Once every
/// group has finished, process 0 of `world` writes the summary and returns
/// every point (`None` elsewhere). The files equal the single-process
/// sweep's bit for bit; a failure in any group stops every process (at the
/// latest when the groups meet at the end).
#[allow(clippy::too_many_arguments)]
pub fn sweep_groups_across(
    cfg: &FitConfig,
    files: &SweepFiles<'_>,
    lambdas: &[f64],
    gammas: &[f64],
    world: &dyn Collective,
    group: &dyn Collective,
    shard: Shard,
    progress: &dyn Progress,
) -> Result<Option<Vec<SweepPoint>>> {
    let SweepFiles { x, grad, two_d, dir } = *files;
    let run = || -> Result<Option<(SweepSpec, Option<ShardRun>)>> {
        let (rows, share) = load_share(x, grad, two_d, group)?;
        let prepared = all_succeed(group, PreparedFit::new(cfg, &share))?;
        let spec = all_succeed(
            group,
            if group.rank() == 0 {
                Samples::load(x, grad, two_d)
                    .and_then(|whole| PreparedFit::new(cfg, &whole)?.sweep_spec(lambdas, gammas))
            } else {
                prepared.sweep_spec(lambdas, gammas)
            },
        )?;
        let done = core_sweep_shard_data_parallel(&prepared.problem, rows, &spec, dir, shard, group, progress)?;
        Ok((group.rank() == 0).then_some((spec, done)))
    };
    let led = all_succeed(world, run())?;
    if world.rank() != 0 {
        return Ok(None);
    }
    let (spec, done) = led.ok_or_else(|| Error::Input("process 0 of the world must lead its group".into()))?;
    // the summary is written already when this group completed the grid
    match done.and_then(|d| d.complete) {
        Some(points) => Ok(Some(points)),
        None => Ok(Some(core_summarize(&spec, dir, progress)?)),
    }
}

/// `result` where every process succeeded; else an error everywhere (its
/// own where it failed, a count of the failures elsewhere), so that no
/// process goes on to wait for the failed ones. A collective call.
pub fn all_succeed<T>(collective: &dyn Collective, result: Result<T>) -> Result<T> {
    let mut failed = [f64::from(u8::from(result.is_err()))];
    collective.sum(&mut failed)?;
    let value = result?;
    if failed[0] > 0.0 {
        return Err(Error::Input(format!(
            "{} of the {} processes failed (their messages say why)",
            failed[0],
            collective.size()
        )));
    }
    Ok(value)
}

/// Rows (first axis) of the array in a .npy file, from its header.
fn npy_rows(path: &Path) -> Result<usize> {
    let (_, shape) = read_npy_rows_f64(path, 0..0)?;
    Ok(shape[0])
}

/// [`PreparedFit::fit`] in one call.
pub fn fit(cfg: &FitConfig, samples: &Samples, name: &str, progress: &dyn Progress) -> Result<LearnedWavelet> {
    PreparedFit::new(cfg, samples)?.fit(name, progress)
}

/// [`PreparedFit::sweep`] in one call.
pub fn sweep(
    cfg: &FitConfig,
    lambdas: &[f64],
    gammas: &[f64],
    samples: &Samples,
    dir: &Path,
    progress: &dyn Progress,
) -> Result<Vec<SweepPoint>> {
    PreparedFit::new(cfg, samples)?.sweep(lambdas, gammas, dir, progress)
}
