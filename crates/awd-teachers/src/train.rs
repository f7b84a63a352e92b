//! Training: Adam on mean squared error of standardised targets, seeded
//! shuffling, a validation split and early stopping (the best weights are
//! kept).

use candle_core::{Tensor, Var};
use candle_nn::{AdamW, Optimizer, ParamsAdamW};
use ndarray::{Array2, ArrayView2, Axis};
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use crate::error::{Result, TeacherError};
use crate::model::{Teacher, EVAL_BATCH};

/// Settings of one training run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainOptions {
    /// Maximum passes over the training part.
    pub epochs: usize,
    /// Samples per mini-batch.
    pub batch_size: usize,
    /// Adam learning rate.
    pub lr: f64,
    /// Fraction of the samples held out for validation (0 disables early stopping).
    pub val_fraction: f64,
    /// Epochs without validation improvement before stopping.
    pub patience: usize,
    /// Seed of the split and the shuffling.
    pub seed: u64,
    /// Random flips and transposes of square 2-D inputs (the 8 symmetries of
    /// the square, one drawn per sample and batch from the seeded generator).
    #[serde(default)]
    pub augment: bool,
}

impl Default for TrainOptions {
    fn default() -> Self {
        TrainOptions { epochs: 20, batch_size: 100, lr: 0.01, val_fraction: 0.1, patience: 5, seed: 0, augment: false }
    }
}

/// One epoch of training.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct EpochLog {
    /// Epoch, from 1.
    pub epoch: usize,
    /// Mean training loss (standardised targets).
    pub train_loss: f64,
    /// Validation loss (standardised targets), if there is a validation part.
    pub val_loss: Option<f64>,
}

/// What training did.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainReport {
    /// Per-epoch losses.
    pub history: Vec<EpochLog>,
    /// Epoch whose weights were kept.
    pub best_epoch: usize,
    /// Whether early stopping ended the run.
    pub stopped_early: bool,
}

fn gather(x: ArrayView2<'_, f64>, idx: &[usize]) -> Array2<f64> {
    x.select(Axis(0), idx)
}

/// Apply symmetry `code` (bit 0: flip rows, bit 1: flip columns, bit 2:
/// transpose) to each row of `batch`, a flattened `side x side` map.
fn apply_symmetries(batch: &mut Array2<f64>, side: usize, codes: &[u8]) {
    let mut tmp = vec![0.0; side * side];
    for (mut row, &code) in batch.rows_mut().into_iter().zip(codes) {
        for i in 0..side {
            for j in 0..side {
                let (mut a, mut b) = (i, j);
                if code & 4 != 0 {
                    std::mem::swap(&mut a, &mut b);
                }
                if code & 1 != 0 {
                    a = side - 1 - a;
                }
                if code & 2 != 0 {
                    b = side - 1 - b;
                }
                tmp[i * side + j] = row[a * side + b];
            }
        }
        row.iter_mut().zip(&tmp).for_each(|(r, &t)| *r = t);
    }
}

/// Train `teacher` on `x` `(n, input_len)` and `y` `(n, outputs)`; `on_epoch`
/// sees each epoch's log (a progress bar).
pub fn train(
    teacher: &mut Teacher,
    x: ArrayView2<'_, f64>,
    y: ArrayView2<'_, f64>,
    opts: &TrainOptions,
    on_epoch: &mut dyn FnMut(&EpochLog),
) -> Result<TrainReport> {
    train_cancellable(teacher, x, y, opts, on_epoch, &|| false)
}

/// [`train`], polling `cancelled` between mini-batches: `true` ends training
/// with [`TeacherError::Cancelled`] (the teacher's weights are then those of
/// the last step).
pub fn train_cancellable(
    teacher: &mut Teacher,
    x: ArrayView2<'_, f64>,
    y: ArrayView2<'_, f64>,
    opts: &TrainOptions,
    on_epoch: &mut dyn FnMut(&EpochLog),
    cancelled: &dyn Fn() -> bool,
) -> Result<TrainReport> {
    teacher.check_input(x.ncols())?;
    if y.nrows() != x.nrows() {
        return Err(TeacherError::Data(format!(
            "X has {} samples but y has {}; they must match",
            x.nrows(),
            y.nrows()
        )));
    }
    if y.ncols() != teacher.config.outputs {
        return Err(TeacherError::Data(format!(
            "y has {} columns, the model {} outputs",
            y.ncols(),
            teacher.config.outputs
        )));
    }
    if let Some((i, v)) = y.iter().enumerate().find(|(_, v)| !v.is_finite()) {
        return Err(TeacherError::Data(format!("y has a non-finite value {v} at sample {}", i / y.ncols().max(1))));
    }
    if let Some((i, v)) = x.iter().enumerate().find(|(_, v)| !v.is_finite()) {
        return Err(TeacherError::Data(format!(
            "X has a non-finite value {v} at index [{}, {}]",
            i / x.ncols(),
            i % x.ncols()
        )));
    }
    let lr_ok = opts.lr.is_finite() && opts.lr > 0.0;
    if opts.batch_size == 0 || opts.epochs == 0 || !lr_ok || !(0.0..0.9).contains(&opts.val_fraction) {
        return Err(TeacherError::Data(format!(
            "invalid training options: epochs {} and batch size {} must be >= 1, lr {} > 0, validation fraction {} in [0, 0.9)",
            opts.epochs, opts.batch_size, opts.lr, opts.val_fraction
        )));
    }
    let shape = &teacher.config.input_shape;
    let side = shape[0];
    if opts.augment && !(shape.len() == 2 && shape[0] == shape[1]) {
        return Err(TeacherError::Data(format!(
            "flip/transpose augmentation needs square 2-D inputs; this model takes {shape:?}"
        )));
    }
    let n = x.nrows();
    let mut rng = ChaCha8Rng::seed_from_u64(opts.seed);
    let mut order: Vec<usize> = (0..n).collect();
    order.shuffle(&mut rng);
    let n_val = ((n as f64) * opts.val_fraction).round() as usize;
    let (val_idx, train_idx) = order.split_at(n_val);
    let (val_idx, mut train_idx) = (val_idx.to_vec(), train_idx.to_vec());
    if train_idx.is_empty() {
        return Err(TeacherError::Data(format!("{n} samples leave none for training")));
    }
    // standardise the targets on the training part
    let ty = gather(y, &train_idx);
    teacher.config.target_scale = (0..y.ncols())
        .map(|k| {
            let col = ty.column(k);
            let mean = col.mean().unwrap_or(0.0);
            let std = col.std(0.0).max(1e-12);
            (mean, std)
        })
        .collect();
    let ys = {
        let mut ys = y.to_owned();
        for k in 0..y.ncols() {
            let (m, s) = teacher.scale(k);
            ys.column_mut(k).mapv_inplace(|v| (v - m) / s);
        }
        ys
    };
    let vars: Vec<Var> = teacher.varmap.all_vars();
    let mut opt = AdamW::new(vars.clone(), ParamsAdamW { lr: opts.lr, weight_decay: 0.0, ..Default::default() })?;
    let val_loss = |t: &Teacher| -> Result<Option<f64>> {
        if val_idx.is_empty() {
            return Ok(None);
        }
        let mut sum = 0.0;
        for chunk in val_idx.chunks(EVAL_BATCH) {
            let pred = t.forward(&t.tensor(gather(x, chunk).view())?)?;
            let target = t.tensor(gather(ys.view(), chunk).view())?;
            sum += (pred - target)?.sqr()?.sum_all()?.to_scalar::<f32>()? as f64;
        }
        Ok(Some(sum / (val_idx.len() * ys.ncols()) as f64))
    };
    let snapshot = |vars: &[Var]| -> Result<Vec<Tensor>> {
        Ok(vars.iter().map(|v| v.as_tensor().copy()).collect::<Result<_, _>>()?)
    };
    let mut best = (f64::INFINITY, 0usize, snapshot(&vars)?);
    let mut history = Vec::new();
    let mut stopped_early = false;
    for epoch in 1..=opts.epochs {
        train_idx.shuffle(&mut rng);
        let (mut total, mut batches) = (0.0, 0usize);
        for chunk in train_idx.chunks(opts.batch_size) {
            if cancelled() {
                return Err(TeacherError::Cancelled { epoch });
            }
            let mut xb = gather(x, chunk);
            if opts.augment {
                let codes: Vec<u8> = chunk.iter().map(|_| rng.random_range(0..8u8)).collect();
                apply_symmetries(&mut xb, side, &codes);
            }
            let pred = teacher.forward(&teacher.tensor(xb.view())?)?;
            let target = teacher.tensor(gather(ys.view(), chunk).view())?;
            let loss = candle_nn::loss::mse(&pred, &target)?;
            opt.backward_step(&loss)?;
            total += loss.to_scalar::<f32>()? as f64;
            batches += 1;
        }
        let log = EpochLog { epoch, train_loss: total / batches as f64, val_loss: val_loss(teacher)? };
        if !log.train_loss.is_finite() {
            return Err(TeacherError::Data(format!("training diverged at epoch {epoch}; lower the learning rate")));
        }
        on_epoch(&log);
        history.push(log);
        let score = log.val_loss.unwrap_or(log.train_loss);
        if score < best.0 {
            best = (score, epoch, snapshot(&vars)?);
        } else if log.val_loss.is_some() && epoch - best.1 >= opts.patience {
            stopped_early = true;
            break;
        }
    }
    for (v, t) in vars.iter().zip(&best.2) {
        v.set(t)?;
    }
    Ok(TrainReport { history, best_epoch: best.1, stopped_early })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_eight_symmetries_are_distinct_and_invertible() {
        let side = 3;
        let base = Array2::from_shape_fn((1, 9), |(_, k)| k as f64);
        let mut seen = Vec::new();
        for code in 0..8u8 {
            let mut b = base.clone();
            apply_symmetries(&mut b, side, &[code]);
            let mut sorted = b.row(0).to_vec();
            sorted.sort_by(f64::total_cmp);
            assert_eq!(sorted, base.row(0).to_vec(), "a permutation");
            assert!(!seen.contains(&b), "code {code} repeats another symmetry");
            seen.push(b);
        }
        // transpose: element (0, 1) goes to (1, 0)
        let mut t = base.clone();
        apply_symmetries(&mut t, side, &[4]);
        assert_eq!(t[[0, 3]], 1.0);
    }
}
