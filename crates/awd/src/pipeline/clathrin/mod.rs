//! Molecular-partner prediction (paper §4.2, Table 1): clathrin traces
//! predict auxilin recruitment.
//!
//! By default every cell is held out in turn (leave one cell out): for each,
//! the teacher is chosen by grouped cross-validation on the other cells (the
//! reference's LSTM against ensembles of MLPs and of 1-D CNNs, next to ridge
//! on raw traces), its saliency is distilled through
//! [`distill()`](super::distill()) (db5 without noise, the seeds changing
//! only the batch order; selection by cross-validation grouped by cell), and
//! every model predicts the held-out cell. Pooled and per-cell R^2 and a
//! paired bootstrap of the differences follow. A fixed split (`train_cells`
//! -> `test_cells`) gives the single table of earlier versions.

mod loco;
mod single;
mod split;
mod teacher;

use std::path::{Path, PathBuf};

use awd_core::data::clathrin::{load_cells, Cell, ClathrinOptions};
use awd_core::distill::{log_space, Attribution, Progress};
use awd_core::interp::FeatureSign;
use awd_core::Mode;
use serde::Serialize;

pub use loco::{CellScores, Diffs, FoldSummary, Loco, LocoResults};
pub use single::{CompressionTable, GridRow, PipelineSummary, Results, SeedSelection, Tracks};
pub use split::Rows;
pub use teacher::{Committee, TeacherCandidate, TeacherChoice, TeacherSettings, LSTM};

use super::distill::{Compression, DistillConfig, GridScore, ModelSpec};
use super::stages::{per_thousand, prepare_dir, Timings};
use crate::error::{Error, Result};
use crate::model::{SavedModel, TopKModel};

/// Timed repeats of each prediction path (after one warm-up).
const TIMING_REPS: usize = 20;
/// Bootstrap resamples of the test R^2 (paired across models).
const BOOTSTRAP: usize = 10_000;
/// The paper's activity threshold of the compression rate.
const ACTIVE: f64 = 1e-3;

/// How the cells are split.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum Split {
    /// Each of `cells` (`None`: every cell found) is the test cell once, the
    /// others training.
    LeaveOneCellOut {
        /// The cells used.
        cells: Option<Vec<u32>>,
    },
    /// One split.
    Fixed {
        /// Training cells.
        train: Vec<u32>,
        /// Test cells.
        test: Vec<u32>,
    },
}

/// Every constant of the experiment.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Config {
    /// Folder of `cellK_tracks.csv` / `cellK_frames.csv` pairs.
    pub data_dir: PathBuf,
    /// How the cells are split.
    pub split: Split,
    /// Preprocessing (lifetimes, trace length).
    pub preprocessing: ClathrinOptions,
    /// The teacher candidates and their selection.
    pub teacher: TeacherSettings,
    /// The distillation (grid, epochs, seeds, model, folds).
    pub distill: DistillConfig,
    /// Base seed (teachers, folds; the sweeps use `seed, seed + 1, …`).
    pub seed: u64,
    /// A reduced run (CI), marked as such in the report.
    pub quick: bool,
}

impl Config {
    /// The paper's setting, leave one cell out: teachers as in
    /// [`TeacherSettings::reference`] (up to 100 epochs), 5 lambdas x 21
    /// gammas x 100 epochs, 5 seeds from db5 without noise, top 6 + OLS,
    /// cross-validation grouped by cell.
    pub fn paper(seed: u64) -> Self {
        let lambdas = log_space(1e-4, 5e-3, 5).expect("valid range");
        let gammas = [vec![0.0], log_space(1e-4, 10.0, 20).expect("valid range")].concat();
        Config {
            data_dir: PathBuf::from("data/clathrin"),
            split: Split::LeaveOneCellOut { cells: None },
            preprocessing: ClathrinOptions::default(),
            teacher: TeacherSettings::reference(seed, 100, 5, 3),
            distill: DistillConfig {
                wavelet: "db5".into(),
                levels: 4,
                mode: Mode::Zero,
                attribution: Attribution::Saliency,
                lambdas: Some(lambdas),
                gammas: Some(gammas),
                epochs: 100,
                batch_size: 100,
                lr: 0.001,
                seeds: (seed..seed + 5).collect(),
                noise_factor: 0.0,
                model: ModelSpec::TopK { k: super::TOP_K, sign: FeatureSign::Pos, ridge_alpha: 0.0 },
                folds: 5,
                cv_seed: seed,
                one_standard_error: false,
                max_validity: None,
                bootstrap: BOOTSTRAP,
                compression: Compression::Absolute(ACTIVE),
                ..DistillConfig::default()
            },
            seed,
            quick: false,
        }
    }

    /// A small run for CI: teachers of 4 (MLP 8) epochs, 2 MLPs, 1 CNN,
    /// chosen on 2 folds; a 2 x 3 grid, 10 epochs, 2 seeds.
    pub fn quick(seed: u64) -> Self {
        let mut c = Self::paper(seed);
        c.teacher = TeacherSettings { folds: 2, ..TeacherSettings::reference(seed, 4, 2, 1) };
        c.distill.lambdas = Some(vec![1e-4, 5e-3]);
        c.distill.gammas = Some([vec![0.0], log_space(1e-3, 1.0, 2).expect("valid range")].concat());
        c.distill.epochs = 10;
        c.distill.seeds = vec![seed, seed + 1];
        c.quick = true;
        c
    }
}

/// Seconds to predict 1,000 tracks, the whole path (transform, features,
/// linear model; the networks' forward passes).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Speeds {
    /// AWD.
    pub awd: f64,
    /// db5.
    pub db5: f64,
    /// The reference LSTM.
    pub lstm: f64,
    /// The teacher distilled (all its members; leave one cell out: the
    /// first fold's, `folds[0].teacher.chosen`).
    pub teacher: f64,
}

/// What the plots need, besides the files.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// results.json, as written.
    pub results: serde_json::Value,
    /// The (first) split's AWD model (plotted).
    pub model: TopKModel,
    /// Every split's learned lowpass, labelled (the held-out cell).
    pub wavelets: Vec<(String, Vec<f64>)>,
    /// The first seed's grid of the (first) split, in sweep order.
    pub grid: Vec<GridScore>,
    /// Index of that seed's selection in `grid`.
    pub selected: usize,
    /// The (first) split's test traces.
    pub x_test: ndarray::Array2<f64>,
    /// One line for the terminal.
    pub summary: String,
}

/// The selection rule of `cfg`, in words for the reports.
fn selection_rule(cfg: &DistillConfig) -> &'static str {
    if cfg.one_standard_error {
        "the one-standard-error rule (the most regularised point, largest gamma then lambda, within one standard \
         error of the best cross-validated R^2)"
    } else {
        "the best cross-validated R^2"
    }
}

/// Positions in `cells` of the cells numbered `ids`.
fn pick(cells: &[Cell], ids: &[u32], role: &str, dir: &Path) -> Result<Vec<usize>> {
    ids.iter()
        .map(|id| {
            cells.iter().position(|c| c.id == *id).ok_or_else(|| {
                let have: Vec<String> = cells.iter().map(|c| c.id.to_string()).collect();
                Error::data(
                    dir.display().to_string(),
                    format!("{role} cell {id} not found (cells here: {})", have.join(", ")),
                )
            })
        })
        .collect()
}

/// Prediction time per 1,000 test tracks of the split's models.
fn speeds(run: &split::SplitRun) -> Result<Speeds> {
    let x = run.x_test.view();
    let n = x.nrows();
    let model = |m: &SavedModel| -> Result<TopKModel> {
        match m {
            SavedModel::TopK(t) => Ok(t.clone()),
            _ => unreachable!("top-k spec"),
        }
    };
    let (awd, db5) = (model(&run.distilled.model)?, model(&run.distilled.baseline)?);
    Ok(Speeds {
        awd: per_thousand(n, TIMING_REPS, || awd.predict(x).map(|_| ()))?,
        db5: per_thousand(n, TIMING_REPS, || db5.predict(x).map(|_| ()))?,
        lstm: per_thousand(n, TIMING_REPS, || run.lstm().predict(x).map(|_| ()))?,
        teacher: per_thousand(n, TIMING_REPS, || run.teacher.predict(x).map(|_| ()))?,
    })
}

/// Run the experiment into `dir` (results.json, report.md, models/, and per
/// split teacher/ and sweeps/); finished stages are reused on a re-run.
pub fn run(cfg: &Config, dir: &Path, progress: &dyn Progress) -> Result<Outcome> {
    prepare_dir(dir)?;
    let mut times = Timings::default();
    let cells = times.stage(progress, "data", || Ok(load_cells(&cfg.data_dir, &cfg.preprocessing)?))?;
    match &cfg.split {
        Split::Fixed { train, test } => {
            if let Some(c) = test.iter().find(|c| train.contains(c)) {
                return Err(Error::data(
                    "cells",
                    format!("cell {c} is both a training and a test cell; split by cell"),
                ));
            }
            let tr = pick(&cells, train, "training", &cfg.data_dir)?;
            let te = pick(&cells, test, "test", &cfg.data_dir)?;
            single::run(cfg, &cells, &tr, &te, dir, times, progress)
        }
        Split::LeaveOneCellOut { cells: ids } => {
            let ids: Vec<u32> = ids.clone().unwrap_or_else(|| cells.iter().map(|c| c.id).collect());
            let mut sorted = ids.clone();
            sorted.sort_unstable();
            sorted.dedup();
            if sorted.len() != ids.len() {
                return Err(Error::data("cells", format!("cells {ids:?} list a cell twice")));
            }
            if ids.len() < 3 {
                return Err(Error::data(
                    cfg.data_dir.display().to_string(),
                    format!(
                        "leaving one cell out needs at least 3 cells (2 to train and cross-validate on), got {ids:?}"
                    ),
                ));
            }
            let chosen = pick(&cells, &ids, "requested", &cfg.data_dir)?;
            loco::run(cfg, &cells, &chosen, dir, times, progress)
        }
    }
}
