//! The clathrin teacher: candidate networks (the reference's LSTM recipe, an
//! ensemble of MLPs, an ensemble of 1-D CNNs), each scored by grouped
//! cross-validation on the training cells next to ridge regression on the
//! raw traces; the best is trained on all training cells and distilled.

use std::collections::BTreeMap;
use std::path::Path;

use awd_core::distill::Progress;
use awd_core::interp::{r2, Folds};
use awd_teachers::{input_gradients, Arch, GradMethod, Teacher, TeacherConfig, TrainOptions};
use ndarray::{Array1, Array2, ArrayView1, ArrayView2, Axis};
use serde::Serialize;

use super::super::stages::{reuse_or_train, Quiet, Timings};
use super::super::teacher::ensemble_predict;
use crate::error::Result;

/// One candidate teacher: `members` networks of one recipe (seeds `seed`,
/// `seed + 1`, …) whose predictions and saliencies are averaged.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TeacherCandidate {
    /// Name in reports (`lstm` is the reference's recipe and the table's
    /// LSTM row).
    pub name: String,
    /// Architecture of each member.
    pub arch: Arch,
    /// Hidden width of each member.
    pub hidden: usize,
    /// Networks averaged.
    pub members: usize,
    /// Training of each member (early stopping on a validation part).
    pub train: TrainOptions,
}

/// The candidates and how one is chosen.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TeacherSettings {
    /// Candidates, scored in this order (ties keep the first).
    pub candidates: Vec<TeacherCandidate>,
    /// Grouped cross-validation folds on the training cells (at most one per cell).
    pub folds: usize,
    /// Ridge penalties tried for the raw-trace baseline (chosen on the same folds).
    pub ridge_alphas: Vec<f64>,
}

/// The name of the candidate that is the table's LSTM row.
pub const LSTM: &str = "lstm";

impl TeacherSettings {
    /// The reference's LSTM (1 layer, 40 hidden, Adam 1e-3, batch 100), an
    /// ensemble of `mlp_members` MLPs (32 hidden) and one of `cnn_members`
    /// 1-D residual CNNs (16 channels, 2 blocks), all with Adam 1e-3 and
    /// batch 100; up to `epochs` epochs (the MLPs twice that), stopping after
    /// 10 without improvement on a 20 % validation part.
    pub fn reference(seed: u64, epochs: usize, mlp_members: usize, cnn_members: usize) -> Self {
        let train =
            TrainOptions { epochs, batch_size: 100, lr: 1e-3, val_fraction: 0.2, patience: 10, seed, augment: false };
        TeacherSettings {
            candidates: vec![
                TeacherCandidate { name: LSTM.into(), arch: Arch::Lstm, hidden: 40, members: 1, train: train.clone() },
                TeacherCandidate {
                    name: "mlp_ensemble".into(),
                    arch: Arch::Mlp,
                    hidden: 32,
                    members: mlp_members,
                    train: TrainOptions { epochs: 2 * epochs, ..train.clone() },
                },
                TeacherCandidate {
                    name: "cnn1d_ensemble".into(),
                    arch: Arch::Cnn1d,
                    hidden: 16,
                    members: cnn_members,
                    train,
                },
            ],
            folds: 5,
            ridge_alphas: vec![1e-2, 1e-1, 1.0, 1e1, 1e2, 1e3, 1e4],
        }
    }
}

/// A trained candidate: its members, averaged.
pub struct Committee {
    /// The candidate's name.
    pub name: String,
    /// The trained networks.
    pub members: Vec<Teacher>,
}

impl Committee {
    /// Train (or reuse from `dir`, see [`reuse_or_train`]) the members of
    /// `cand` on `x`, `y`; files `dir/<name>_m<k>.safetensors`.
    pub fn train(
        cand: &TeacherCandidate,
        x: ArrayView2<'_, f64>,
        y: ArrayView1<'_, f64>,
        dir: &Path,
        progress: &dyn Progress,
    ) -> Result<Self> {
        let y = y.insert_axis(Axis(1));
        let members = (0..cand.members)
            .map(|k| {
                let config = TeacherConfig { hidden: cand.hidden, ..TeacherConfig::new(cand.arch, vec![x.ncols()], 1) };
                let seed = cand.train.seed + k as u64;
                let opts = TrainOptions { seed, ..cand.train.clone() };
                let path = dir.join(format!("{}_m{k}.safetensors", cand.name));
                reuse_or_train(&path, config, seed, x, y, &opts, &Quiet(progress))
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(Committee { name: cand.name.clone(), members })
    }

    /// The mean prediction of the members.
    pub fn predict(&self, x: ArrayView2<'_, f64>) -> Result<Array1<f64>> {
        let p = ensemble_predict(&self.members, &[], &self.name, x.into_dyn())?;
        Ok(p.column(0).to_owned())
    }

    /// The saliency of the mean prediction: the mean of the members' input
    /// gradients (exact, the gradient being linear).
    pub fn saliency(&self, x: ArrayView2<'_, f64>) -> Result<Array2<f64>> {
        let mut sum = Array2::zeros(x.dim());
        for m in &self.members {
            sum += &input_gradients(m, x, GradMethod::Saliency, 0)?;
        }
        Ok(sum / self.members.len() as f64)
    }
}

/// Cross-validated R^2 of a candidate, of ridge, and the choice.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TeacherChoice {
    /// The chosen candidate (highest mean cross-validated R^2).
    pub chosen: String,
    /// Mean cross-validated R^2 of each candidate.
    pub cv_r2: BTreeMap<String, f64>,
    /// Its value on each fold.
    pub cv_r2_folds: BTreeMap<String, Vec<f64>>,
    /// Ridge on the raw traces, at its best alpha, on the same folds.
    pub ridge_cv_r2: f64,
    /// That alpha.
    pub ridge_alpha: f64,
    /// Folds (cells held out together).
    pub folds: usize,
}

/// Ridge on raw traces: the alpha of best mean R^2 over `folds`, and that R^2.
pub fn choose_ridge(
    x: ArrayView2<'_, f64>,
    y: ArrayView1<'_, f64>,
    folds: &Folds,
    alphas: &[f64],
) -> Result<(f64, f64)> {
    let mut best = (f64::NAN, f64::NEG_INFINITY);
    for &a in alphas {
        let s = awd_core::interp::cross_val_r2_folds(x, y, folds, a)?;
        let mean = s.iter().sum::<f64>() / s.len() as f64;
        if mean > best.1 {
            best = (a, mean);
        }
    }
    Ok(best)
}

/// Score every candidate on `folds` (members cached under `dir/cv/`) and
/// ridge on the same folds; the best candidate is chosen. Each candidate's
/// scoring is a stage of `times` ("teacher selection: <name>").
pub fn choose(
    settings: &TeacherSettings,
    x: ArrayView2<'_, f64>,
    y: ArrayView1<'_, f64>,
    folds: &Folds,
    dir: &Path,
    times: &mut Timings,
    progress: &dyn Progress,
) -> Result<TeacherChoice> {
    let mut cv_r2 = BTreeMap::new();
    let mut cv_r2_folds = BTreeMap::new();
    let mut chosen: Option<(String, f64)> = None;
    for cand in &settings.candidates {
        let scores = times.stage(progress, &format!("teacher selection: {}", cand.name), || {
            (0..folds.len())
                .map(|k| {
                    let (tr, te) = (&folds.train[k], &folds.test[k]);
                    let sub = dir.join(format!("cv/fold{k}"));
                    let (x_tr, y_tr) = (x.select(Axis(0), tr), y.select(Axis(0), tr));
                    let c = Committee::train(cand, x_tr.view(), y_tr.view(), &sub, progress)?;
                    let p = c.predict(x.select(Axis(0), te).view())?;
                    Ok(r2(p.view(), y.select(Axis(0), te).view()))
                })
                .collect::<Result<Vec<f64>>>()
        })?;
        let mean = scores.iter().sum::<f64>() / scores.len() as f64;
        progress.message(&format!(
            "teacher candidate {}: cross-validated R^2 {mean:.3} over {} folds",
            cand.name,
            scores.len()
        ));
        if chosen.as_ref().is_none_or(|(_, b)| mean > *b) {
            chosen = Some((cand.name.clone(), mean));
        }
        cv_r2.insert(cand.name.clone(), mean);
        cv_r2_folds.insert(cand.name.clone(), scores);
    }
    let (ridge_alpha, ridge_cv_r2) = choose_ridge(x, y, folds, &settings.ridge_alphas)?;
    progress.message(&format!("ridge on raw traces: cross-validated R^2 {ridge_cv_r2:.3} (alpha {ridge_alpha:e})"));
    Ok(TeacherChoice {
        chosen: chosen.expect("at least one candidate").0,
        cv_r2,
        cv_r2_folds,
        ridge_cv_r2,
        ridge_alpha,
        folds: folds.len(),
    })
}
