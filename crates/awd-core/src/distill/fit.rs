//! Learning the filter: Adam on mini-batches from a seeded shuffle, with a
//! per-epoch history of every loss term. Same data, settings and seed give
//! bit-identical results (batch sums are taken in a fixed order).

use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, StandardNormal};
use serde::{Deserialize, Serialize};

use super::objective::{LossTerms, Penalties};
use super::problem::{BatchShare, Problem};
use super::validity::{validity, Validity};
use crate::error::{Error, Result};
use crate::Mode;

/// Everything that defines one fit (recorded with its result).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FitSettings {
    /// Levels J.
    pub levels: usize,
    /// Signal-extension mode of the transform.
    pub mode: Mode,
    /// lambda, gamma, validity weights and attribution kind.
    pub penalties: Penalties,
    /// Passes over the data (0: evaluate the initial filter only).
    pub epochs: usize,
    /// Samples per mini-batch.
    pub batch_size: usize,
    /// Adam learning rate.
    pub lr: f64,
    /// Seed of the shuffling.
    pub seed: u64,
}

/// One row of a fit's history: the loss terms averaged over an epoch's
/// batches (epoch 0: the initial filter on the whole data).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct EpochRecord {
    /// Epoch number, 0 = before training.
    pub epoch: usize,
    /// The loss terms.
    #[serde(flatten)]
    pub terms: LossTerms,
}

/// The result of a fit.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FitOutcome {
    /// The learned lowpass filter `h` (pywt `rec_lo` orientation).
    pub lowpass: Vec<f64>,
    /// History, one record per epoch, epoch 0 first.
    pub history: Vec<EpochRecord>,
    /// Validity penalties of the final filter (unweighted).
    pub validity: Validity,
    /// The batch size actually used (clamped to the number of samples).
    pub batch_size_used: usize,
    /// Set when the progress hook stopped training early (see
    /// [`fit_stoppable`]): the last epoch trained.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stopped_at: Option<usize>,
}

/// What a progress hook tells a running fit after each epoch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flow {
    /// Go on training.
    Continue,
    /// Stop now: the fit returns [`Error::Stopped`] and writes nothing.
    Stop,
}

/// Receives progress of long runs (a progress bar in the CLI, a callback in
/// Python) and can stop them.
pub trait Progress: Sync {
    /// One epoch of some fit finished with the loss terms of `record`
    /// (averaged over the epoch's batches). Return [`Flow::Stop`] to end the
    /// run cleanly: the fit (and a sweep around it) returns
    /// [`Error::Stopped`]; finished sweep points stay on disk.
    fn epoch_done(&self, _record: &EpochRecord) -> Flow {
        Flow::Continue
    }
    /// A fit finished (or was found finished on disk, skipping `epochs`).
    fn fit_done(&self, _skipped_epochs: usize) {}
    /// A run announces its size: `fits` fits of `epochs` epochs each.
    fn planned(&self, _fits: usize, _epochs: usize) {}
    /// A named stage of a pipeline finished after `seconds` (for logs: one
    /// plain line each).
    fn stage(&self, _name: &str, _seconds: f64) {}
    /// A line of news from a long step (e.g. a teacher's epoch).
    fn message(&self, _text: &str) {}
    /// Polled between mini-batches: `true` abandons the run at once (Ctrl-C
    /// in Python); the fit returns [`Error::Stopped`] and keeps nothing.
    fn cancelled(&self) -> bool {
        false
    }
}

/// No progress reporting.
pub struct Silent;
impl Progress for Silent {}

/// The processes of a data-parallel fit, and how their partial sums meet
/// (MPI's allreduce across ranks; nothing for one process). Every process
/// makes the same calls in the same order.
pub trait Collective {
    /// Number of processes.
    fn size(&self) -> usize;
    /// This process's index, `0..size`.
    fn rank(&self) -> usize;
    /// Replace `buf` by its elementwise sum over the processes.
    fn sum(&self, buf: &mut [f64]) -> Result<()>;
    /// Whether every process passed the same `value` (a fingerprint of its
    /// settings and data).
    fn all_equal(&self, value: u64) -> Result<bool>;
}

/// One process alone: sums are what they are.
#[derive(Debug, Clone, Copy, Default)]
pub struct Alone;

impl Collective for Alone {
    fn size(&self) -> usize {
        1
    }
    fn rank(&self) -> usize {
        0
    }
    fn sum(&self, _buf: &mut [f64]) -> Result<()> {
        Ok(())
    }
    fn all_equal(&self, _value: u64) -> Result<bool> {
        Ok(true)
    }
}

/// The rows of the whole data set that this process's [`Problem`] holds:
/// global rows `first .. first + problem.len()` of `total`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RowShard {
    /// First global row held here.
    pub first: usize,
    /// Rows of the whole data set.
    pub total: usize,
}

impl RowShard {
    /// The contiguous part `rank` of `size` of `total` rows (the first
    /// `total % size` parts one row longer).
    pub fn split(total: usize, rank: usize, size: usize) -> std::ops::Range<usize> {
        let (base, extra) = (total / size, total % size);
        let start = rank * base + rank.min(extra);
        start..start + base + usize::from(rank < extra)
    }
}

/// The initial filter: `base * init_factor + noise_factor * N(0, 1)` per tap,
/// from a generator seeded with `seed`.
pub fn initial_filter(base: &[f64], init_factor: f64, noise_factor: f64, seed: u64) -> Vec<f64> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    rng.set_stream(1); // independent of the shuffling stream
    base.iter()
        .map(|&v| {
            let z: f64 = StandardNormal.sample(&mut rng);
            v * init_factor + noise_factor * z
        })
        .collect()
}

/// PyTorch's Adam (beta1 0.9, beta2 0.999, eps 1e-8, no weight decay).
#[derive(Debug, Clone)]
pub struct Adam {
    lr: f64,
    m: Vec<f64>,
    v: Vec<f64>,
    t: i32,
}

impl Adam {
    const BETA1: f64 = 0.9;
    const BETA2: f64 = 0.999;
    const EPS: f64 = 1e-8;

    /// A fresh optimiser for `n` parameters.
    pub fn new(n: usize, lr: f64) -> Self {
        Adam { lr, m: vec![0.0; n], v: vec![0.0; n], t: 0 }
    }

    /// One step: `params -= lr * mhat / (sqrt(vhat) + eps)`, in PyTorch's order.
    pub fn step(&mut self, params: &mut [f64], grad: &[f64]) {
        self.t += 1;
        let bias1 = 1.0 - Self::BETA1.powi(self.t);
        let bias2 = 1.0 - Self::BETA2.powi(self.t);
        for i in 0..params.len() {
            self.m[i] = Self::BETA1 * self.m[i] + (1.0 - Self::BETA1) * grad[i];
            self.v[i] = Self::BETA2 * self.v[i] + (1.0 - Self::BETA2) * grad[i] * grad[i];
            let denom = self.v[i].sqrt() / bias2.sqrt() + Self::EPS;
            params[i] -= self.lr / bias1 * self.m[i] / denom;
        }
    }
}

/// Check settings against the problem before any work.
pub fn check_settings(problem: &Problem, h0: &[f64], s: &FitSettings) -> Result<()> {
    let bad = |reason: String| Err(Error::InvalidArgument { reason });
    let p = &s.penalties;
    if !(p.lambda.is_finite() && p.lambda >= 0.0) {
        return bad(format!("lambda must be a finite number >= 0, got {}", p.lambda));
    }
    if !(p.gamma.is_finite() && p.gamma >= 0.0) {
        return bad(format!("gamma must be a finite number >= 0, got {}", p.gamma));
    }
    if p.gamma > 0.0 && !problem.has_teacher() {
        return bad(format!(
            "gamma is {} but no teacher gradients were given; pass the teacher's input gradients or set gamma to 0 \
             to learn from the data alone",
            p.gamma
        ));
    }
    let w = &p.validity;
    for (name, v) in [
        ("lowpass_sum", w.lowpass_sum),
        ("highpass_sum", w.highpass_sum),
        ("unit_norm", w.unit_norm),
        ("cmf", w.cmf),
        ("orthogonality", w.orthogonality),
    ] {
        if !(v.is_finite() && v >= 0.0) {
            return bad(format!("validity weight {name} must be a finite number >= 0, got {v}"));
        }
    }
    if !(s.lr.is_finite() && s.lr > 0.0) {
        return bad(format!("the learning rate must be a finite number > 0, got {}", s.lr));
    }
    if s.batch_size == 0 {
        return bad("the batch size must be at least 1".into());
    }
    if h0.len() != problem.filter_len() {
        return bad(format!("the initial filter has {} taps, the problem expects {}", h0.len(), problem.filter_len()));
    }
    if s.levels != problem.levels() || s.mode != problem.mode() {
        return bad("settings and problem disagree on levels or mode".into());
    }
    Ok(())
}

/// Learn `h` from `h0`: `epochs` passes of Adam over shuffled mini-batches.
/// A stop request from `progress` is [`Error::Stopped`].
pub fn fit(problem: &Problem, h0: &[f64], s: &FitSettings, progress: &dyn Progress) -> Result<FitOutcome> {
    let outcome = fit_stoppable(problem, h0, s, progress)?;
    match outcome.stopped_at {
        Some(epoch) => Err(Error::Stopped { epoch }),
        None => Ok(outcome),
    }
}

/// [`fit`], except that [`Flow::Stop`] after an epoch ends training early
/// and returns the filter of that epoch with `stopped_at` set (early
/// stopping). Cancellation between batches is still [`Error::Stopped`].
pub fn fit_stoppable(problem: &Problem, h0: &[f64], s: &FitSettings, progress: &dyn Progress) -> Result<FitOutcome> {
    let rows = RowShard { first: 0, total: problem.len() };
    fit_data_parallel(problem, rows, h0, s, &Alone, progress)
}

/// [`fit_stoppable`] over data spread across processes: `problem` holds
/// the global rows `rows.first ..` of `rows.total`. Every process draws the
/// same global batches from the seed, evaluates only its members, and the
/// partial sums meet in one `collective` sum per step (the global batch
/// size scales every term, ragged last batches and unequal shares
/// included), so each process takes the same Adam steps. Batch sums are
/// taken per sample and in batch order (see [`Problem::evaluate_shared`]),
/// so the filter equals the single-process one bit for bit, for any number
/// of processes and any split of the rows.
pub fn fit_data_parallel(
    problem: &Problem,
    rows: RowShard,
    h0: &[f64],
    s: &FitSettings,
    collective: &dyn Collective,
    progress: &dyn Progress,
) -> Result<FitOutcome> {
    check_settings(problem, h0, s)?;
    let held = rows.first..rows.first + problem.len();
    if held.end > rows.total {
        return Err(Error::InvalidArgument {
            reason: format!(
                "rows {}..{} held here are beyond the {} rows of the data",
                held.start, held.end, rows.total
            ),
        });
    }
    let n = rows.total;
    let batch = s.batch_size.min(n);
    // the members of a global batch held here, as (local rows, batch positions)
    let local = |global: &[usize]| -> (Vec<usize>, Vec<usize>) {
        global.iter().enumerate().filter(|(_, i)| held.contains(i)).map(|(q, i)| (i - held.start, q)).unzip()
    };
    let start = {
        let (rows, positions): (Vec<usize>, Vec<usize>) = (0..problem.len()).map(|i| (i, held.start + i)).unzip();
        let share = BatchShare { rows: &rows, positions: &positions, batch: n };
        problem.evaluate_shared(h0, &s.penalties, &share, false, collective)?.0
    };
    let mut h = h0.to_vec();
    let mut history = vec![EpochRecord { epoch: 0, terms: start }];
    let mut adam = Adam::new(h.len(), s.lr);
    let mut rng = ChaCha8Rng::seed_from_u64(s.seed);
    let mut order: Vec<usize> = (0..n).collect();
    let mut stopped_at = None;
    for epoch in 1..=s.epochs {
        order.shuffle(&mut rng);
        let mut mean = LossTerms::default();
        let batches = order.chunks(batch).count();
        for idx in order.chunks(batch) {
            if progress.cancelled() {
                return Err(Error::Stopped { epoch });
            }
            let (rows, positions) = local(idx);
            let share = BatchShare { rows: &rows, positions: &positions, batch: idx.len() };
            let (terms, grad) = problem.evaluate_shared(&h, &s.penalties, &share, true, collective)?;
            adam.step(&mut h, &grad.expect("gradient requested"));
            mean.add_scaled(&terms, 1.0 / batches as f64);
        }
        if h.iter().any(|v| !v.is_finite()) {
            return Err(Error::InvalidArgument {
                reason: format!("the filter diverged to non-finite values at epoch {epoch}; lower the learning rate"),
            });
        }
        let record = EpochRecord { epoch, terms: mean };
        history.push(record);
        if progress.epoch_done(&record) == Flow::Stop {
            stopped_at = Some(epoch);
            break;
        }
    }
    let v = validity(&h, &s.penalties.validity, None);
    if stopped_at.is_none() {
        progress.fit_done(0);
    }
    Ok(FitOutcome { lowpass: h, history, validity: v, batch_size_used: batch, stopped_at })
}
