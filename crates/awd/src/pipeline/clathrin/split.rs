//! One split of the cells: the teacher chosen and trained on the training
//! cells, its saliency, the distillation (top-k on values, and on magnitudes
//! as a declared extra), ridge on raw traces, and every model's predictions
//! on the test cells.

use std::path::Path;

use awd_core::data::clathrin::Cell;
use awd_core::distill::Progress;
use awd_core::interp::{FeatureSign, Folds};
use ndarray::{concatenate, Array1, Array2, ArrayView2, Axis};
use serde::Serialize;

use super::super::distill::{distill, DistillConfig, Distilled, ModelSpec};
use super::super::stages::Timings;
use super::super::Data;
use super::teacher::{choose, Committee, TeacherChoice, LSTM};
use super::Config;
use crate::error::{Error, Result};
use crate::model::SavedModel;

/// One value per model compared on the test cells.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Rows<T> {
    /// AWD: top-k largest values + OLS on the learned wavelet.
    pub awd: T,
    /// The same model on db5.
    pub db5: T,
    /// The reference's LSTM recipe.
    pub lstm: T,
    /// Ridge on the raw traces (alpha by grouped CV).
    pub ridge: T,
    /// The teacher distilled (the candidate of best grouped-CV R^2).
    pub teacher: T,
    /// AWD with the "abs" feature rule (largest magnitudes), its own selection.
    pub awd_abs: T,
    /// db5 with the "abs" feature rule.
    pub db5_abs: T,
    /// The mean of the training targets (the trivial baseline).
    pub constant: T,
}

impl<T> Rows<T> {
    /// The rows' names, in table order.
    pub const NAMES: [&'static str; 8] = ["awd", "db5", "lstm", "ridge", "teacher", "awd_abs", "db5_abs", "constant"];

    /// The rows in [`Rows::NAMES`] order.
    pub fn as_array(&self) -> [&T; 8] {
        [&self.awd, &self.db5, &self.lstm, &self.ridge, &self.teacher, &self.awd_abs, &self.db5_abs, &self.constant]
    }

    /// Apply `f` to every row.
    pub fn map<U>(&self, mut f: impl FnMut(&T) -> U) -> Rows<U> {
        self.map_named(|_, v| f(v))
    }

    /// Apply `f` to every row's name and value.
    pub fn map_named<U>(&self, mut f: impl FnMut(&'static str, &T) -> U) -> Rows<U> {
        let n = Self::NAMES;
        Rows {
            awd: f(n[0], &self.awd),
            db5: f(n[1], &self.db5),
            lstm: f(n[2], &self.lstm),
            ridge: f(n[3], &self.ridge),
            teacher: f(n[4], &self.teacher),
            awd_abs: f(n[5], &self.awd_abs),
            db5_abs: f(n[6], &self.db5_abs),
            constant: f(n[7], &self.constant),
        }
    }
}

/// Everything one split produced.
pub struct SplitRun {
    /// Training cells.
    pub train_cells: Vec<u32>,
    /// Test cells.
    pub test_cells: Vec<u32>,
    /// Training and test traces.
    pub x_train: Array2<f64>,
    /// Test traces.
    pub x_test: Array2<f64>,
    /// Test responses.
    pub y_test: Array1<f64>,
    /// The cell of each test track.
    pub test_cell_of: Vec<u32>,
    /// Every model's predictions on the test tracks.
    pub predictions: Rows<Array1<f64>>,
    /// How the teacher was chosen.
    pub teacher_choice: TeacherChoice,
    /// The chosen teacher.
    pub teacher: Committee,
    /// The reference LSTM (the same as `teacher` when it was chosen).
    pub lstm: Option<Committee>,
    /// The distillation (top-k of values).
    pub distilled: Distilled,
    /// The distillation with the "abs" rule (sweeps shared).
    pub distilled_abs: Distilled,
    /// The split's data, with the teacher's saliency.
    pub data: Data,
    /// Wall time of the stages.
    pub times: Timings,
}

impl SplitRun {
    /// The reference LSTM, whether it was chosen or not.
    pub fn lstm(&self) -> &Committee {
        self.lstm.as_ref().unwrap_or(&self.teacher)
    }
}

fn stack(parts: &[ArrayView2<'_, f64>]) -> Array2<f64> {
    concatenate(Axis(0), parts).expect("same widths")
}

/// Run one split: `train`, `test` index into `cells`; files go into `dir`
/// (teacher/, sweeps/), so that a re-run resumes.
pub fn run_split(
    cfg: &Config,
    cells: &[Cell],
    train: &[usize],
    test: &[usize],
    dir: &Path,
    progress: &dyn Progress,
) -> Result<SplitRun> {
    let mut times = Timings::default();
    let x_train = stack(&train.iter().map(|&i| cells[i].traces.view()).collect::<Vec<_>>());
    let y_train: Array1<f64> = train.iter().flat_map(|&i| cells[i].response.to_vec()).collect();
    let x_test = stack(&test.iter().map(|&i| cells[i].traces.view()).collect::<Vec<_>>());
    let y_test: Array1<f64> = test.iter().flat_map(|&i| cells[i].response.to_vec()).collect();
    let groups: Vec<i64> = train.iter().flat_map(|&i| vec![cells[i].id as i64; cells[i].traces.nrows()]).collect();
    let test_cell_of: Vec<u32> = test.iter().flat_map(|&i| vec![cells[i].id; cells[i].traces.nrows()]).collect();
    let train_cells: Vec<u32> = train.iter().map(|&i| cells[i].id).collect();
    let test_cells: Vec<u32> = test.iter().map(|&i| cells[i].id).collect();
    progress.message(&format!(
        "{} training tracks (cells {train_cells:?}), {} test tracks (cells {test_cells:?})",
        x_train.nrows(),
        x_test.nrows(),
    ));

    // the teacher: candidates scored by grouped CV on the training cells
    let folds = Folds::grouped(&groups, cfg.teacher.folds, cfg.seed)
        .map_err(|e| Error::data("training cells", format!("{e}; give at least 2 training cells")))?;
    let tdir = dir.join("teacher");
    let choice = choose(&cfg.teacher, x_train.view(), y_train.view(), &folds, &tdir, &mut times, progress)?;
    let cand = |name: &str| cfg.teacher.candidates.iter().find(|c| c.name == name).expect("a listed candidate");
    let teacher = times.stage(progress, "teacher", || {
        Committee::train(cand(&choice.chosen), x_train.view(), y_train.view(), &tdir, progress)
    })?;
    let lstm = if choice.chosen == LSTM || !cfg.teacher.candidates.iter().any(|c| c.name == LSTM) {
        None
    } else {
        Some(Committee::train(cand(LSTM), x_train.view(), y_train.view(), &tdir, progress)?)
    };
    progress.message(&format!(
        "teacher: {} (cross-validated R^2 {:.3}; ridge on raw traces {:.3})",
        choice.chosen, choice.cv_r2[&choice.chosen], choice.ridge_cv_r2
    ));
    let (g_train, g_test) = times
        .stage(progress, "gradients", || Ok((teacher.saliency(x_train.view())?, teacher.saliency(x_test.view())?)))?;

    // the distillation, through the pipeline
    let data = Data::new(
        x_train.view().into_dyn(),
        y_train.view().into_dyn(),
        Some(g_train.view().into_dyn()),
        Some(&groups),
        false,
    )?
    .with_test(x_test.view().into_dyn(), y_test.view().into_dyn(), Some(g_test.view().into_dyn()), None)?;
    let base = DistillConfig { work_dir: Some(dir.to_path_buf()), ..cfg.distill.clone() };
    let distilled = distill(&base, &data, progress)?;
    times.append("", &distilled.results.seconds);
    let abs_model = match base.model {
        ModelSpec::TopK { k, ridge_alpha, .. } => ModelSpec::TopK { k, sign: FeatureSign::Abs, ridge_alpha },
        ref other => other.clone(),
    };
    let distilled_abs = times.stage(progress, "abs rule (sweeps reused)", || {
        distill(&DistillConfig { model: abs_model, ..base.clone() }, &data, &super::super::stages::Quiet(progress))
    })?;

    // every model's test predictions
    let predict = |m: &SavedModel| -> Result<Array1<f64>> { m.predict(x_test.view().into_dyn()) };
    let ridge_model = awd_core::interp::LinearModel::fit_ridge(x_train.view(), y_train.view(), choice.ridge_alpha)?;
    let constant = y_train.mean().unwrap_or(0.0);
    let lstm_pred = match &lstm {
        Some(l) => l.predict(x_test.view())?,
        None => teacher.predict(x_test.view())?,
    };
    let predictions = Rows {
        awd: predict(&distilled.model)?,
        db5: predict(&distilled.baseline)?,
        lstm: lstm_pred,
        ridge: ridge_model.predict(x_test.view()),
        teacher: teacher.predict(x_test.view())?,
        awd_abs: predict(&distilled_abs.model)?,
        db5_abs: predict(&distilled_abs.baseline)?,
        constant: Array1::from_elem(x_test.nrows(), constant),
    };
    Ok(SplitRun {
        train_cells,
        test_cells,
        x_train,
        x_test,
        y_test,
        test_cell_of,
        predictions,
        teacher_choice: choice,
        teacher,
        lstm,
        distilled,
        distilled_abs,
        data,
        times,
    })
}

/// R^2 of every row on `y`, and the rows' R^2 on the same `resamples`
/// bootstrap resamples of the tracks (stratified by `strata`), one column
/// per row in [`Rows::NAMES`] order.
pub fn paired_scores(
    preds: &Rows<Array1<f64>>,
    y: ndarray::ArrayView1<'_, f64>,
    strata: &[i64],
    resamples: usize,
    seed: u64,
) -> Result<(Rows<f64>, Array2<f64>)> {
    let views: Vec<_> = preds.as_array().iter().map(|p| p.view()).collect();
    let boot = awd_core::interp::bootstrap_r2_paired(&views, y, strata, resamples, seed)?;
    Ok((preds.map(|p| awd_core::interp::r2(p.view(), y)), boot))
}

/// Column of row `name` in [`paired_scores`]' resamples.
pub fn column(name: &str) -> usize {
    Rows::<()>::NAMES.iter().position(|n| *n == name).expect("a row name")
}
