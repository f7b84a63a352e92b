//! One fixed split (`--train-cells` -> `--test-cells`): the table of earlier
//! versions (AWD over seeds, db5, LSTM), with the declared extra rows.

use std::path::Path;

use awd_core::data::clathrin::{Cell, ClathrinOptions};
use awd_core::distill::Progress;
use awd_core::interp::bootstrap_r2_std;
use awd_core::io::{write_json_atomic, write_npy};
use ndarray::Axis;
use serde::Serialize;

use super::split::{column, paired_scores, run_split, Rows};
use super::teacher::{TeacherChoice, TeacherSettings};
use super::{speeds, Config, Outcome, Speeds, BOOTSTRAP};
use crate::error::Result;
use crate::model::SavedModel;
use crate::pipeline::distill::{compression, DistillConfig, GridScore};
use crate::pipeline::stages::{write_text, MeanStd, Timings};

/// Track counts.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Tracks {
    /// Training tracks.
    pub train: usize,
    /// Test tracks.
    pub test: usize,
}

/// Compression rates (AWD: mean and std over seeds).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CompressionTable {
    /// AWD, mean over seeds.
    pub awd: f64,
    /// AWD, std over seeds.
    pub awd_std: f64,
    /// db5.
    pub db5: f64,
}

/// One seed's selected wavelet and its test score.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SeedSelection {
    /// The seed.
    pub seed: u64,
    /// lambda.
    pub lambda: f64,
    /// gamma.
    pub gamma: f64,
    /// Cross-validated R^2 on the training cells.
    pub cv_r2: f64,
    /// R^2 on the test cells.
    pub test_r2: Option<f64>,
    /// Its bootstrap standard deviation.
    pub test_r2_bootstrap_std: f64,
    /// Compression rate on the test cells.
    pub compression: f64,
    /// The saved model.
    pub model: String,
}

/// One grid point of one seed.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GridRow {
    /// The seed.
    pub seed: u64,
    /// lambda.
    pub lambda: f64,
    /// gamma.
    pub gamma: f64,
    /// Cross-validated R^2.
    pub cv_r2: f64,
    /// Its standard error over the folds.
    pub cv_se: f64,
    /// Point file.
    pub file: String,
}

/// The distillation pipeline's own summary.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PipelineSummary {
    /// The point selected over all seeds.
    pub selected: crate::pipeline::Selected,
    /// Its cross-validated score and db5's.
    pub cv: crate::pipeline::CvScores,
    /// Test scores of that point's model and db5's.
    pub test: Option<crate::pipeline::TestScores>,
}

/// Everything measured on one split (results.json).
#[derive(Debug, Clone, Serialize)]
pub struct Results {
    /// `clathrin`.
    pub experiment: String,
    /// A reduced run.
    pub quick: bool,
    /// Training cells.
    pub train_cells: Vec<u32>,
    /// Test cells.
    pub test_cells: Vec<u32>,
    /// Track counts.
    pub tracks: Tracks,
    /// Preprocessing.
    pub preprocessing: ClathrinOptions,
    /// Test R^2: AWD mean and std over seeds; the others ± their bootstrap
    /// std (the same resamples for every row).
    pub r2: Rows<MeanStd>,
    /// Compression rates.
    pub compression: CompressionTable,
    /// Seconds to predict 1,000 tracks, the whole path.
    pub predict_seconds_per_1000: Speeds,
    /// Each seed's selection.
    pub selected: Vec<SeedSelection>,
    /// Every grid point of every seed.
    pub grid: Vec<GridRow>,
    /// The distillation's configuration.
    pub distillation: DistillConfig,
    /// The teacher candidates.
    pub teacher: TeacherSettings,
    /// How the teacher was chosen (grouped CV on the training cells).
    pub teacher_selection: TeacherChoice,
    /// The pipeline's summary.
    pub pipeline: PipelineSummary,
    /// Wall time per stage.
    pub seconds: Timings,
}

/// Run the fixed split `tr` -> `te` into `dir`.
pub fn run(
    cfg: &Config,
    cells: &[Cell],
    tr: &[usize],
    te: &[usize],
    dir: &Path,
    mut times: Timings,
    progress: &dyn Progress,
) -> Result<Outcome> {
    let run = run_split(cfg, cells, tr, te, dir, progress)?;
    times.0.extend(run.times.0.iter().cloned());
    for (name, a) in [("x_train", run.x_train.view()), ("x_test", run.x_test.view())] {
        write_npy(&dir.join(format!("data/{name}.npy")), a.into_dyn())?;
    }
    write_npy(&dir.join("data/y_test.npy"), run.y_test.view().into_dyn())?;
    write_npy(&dir.join("data/y_train.npy"), run.data.train.y.column(0).into_dyn())?;
    let groups: ndarray::Array1<f64> = run.data.train.groups.iter().flatten().map(|&g| g as f64).collect();
    write_npy(&dir.join("data/groups_train.npy"), groups.view().into_dyn())?;
    let d = &run.distilled;
    let r = &d.results;
    let y = run.y_test.view();
    let strata = vec![0i64; y.len()];
    let (full, boot) = paired_scores(&run.predictions, y, &strata, BOOTSTRAP, cfg.seed)?;
    let std_of = |name: &str| {
        let c: Vec<f64> = boot.index_axis(Axis(1), column(name)).to_vec();
        MeanStd::of(&c).std
    };
    // per seed: model file, test R^2 and its bootstrap std, compression
    d.baseline.save(&dir.join("models/db5.json"))?;
    run.distilled_abs.model.save(&dir.join("models/awd_abs.json"))?;
    let mut selected = Vec::new();
    let mut seed_comp = Vec::new();
    for (s, m) in r.seeds.iter().zip(&d.seed_models) {
        let file = format!("models/awd_seed{}.json", s.seed);
        m.save(&dir.join(&file))?;
        let c = compression(&cfg.distill, &run.data, &d.initial_lowpass, m.lowpass().expect("a filter"))?;
        let p = m.predict(run.x_test.view().into_dyn())?;
        let comp = c.awd.unwrap_or(f64::NAN);
        seed_comp.push(comp);
        selected.push(SeedSelection {
            seed: s.seed,
            lambda: s.selected.lambda,
            gamma: s.selected.gamma,
            cv_r2: s.selected.cv_score,
            test_r2: s.test,
            test_r2_bootstrap_std: bootstrap_r2_std(p.view(), y, BOOTSTRAP, s.seed),
            compression: comp,
            model: file,
        });
    }
    let tests: Vec<f64> = r.seeds.iter().filter_map(|s| s.test).collect();
    let awd = if tests.len() > 1 { MeanStd::of(&tests) } else { MeanStd { mean: full.awd, std: std_of("awd") } };
    let r2 = full.map_named(|name, &v| match name {
        "awd" => awd,
        _ => MeanStd { mean: v, std: std_of(name) },
    });
    let comp = MeanStd::of(&seed_comp);
    let comp_db5 = r.compression.baseline.unwrap_or(f64::NAN);
    let predict_seconds_per_1000 = speeds(&run)?;
    let first_seed = cfg.distill.seeds[0];
    let grid: Vec<GridScore> = r.grid.iter().filter(|g| g.seed == first_seed).cloned().collect();
    let sel = grid.iter().position(|g| g.file == r.seeds[0].selected.file).expect("selected from the grid");
    let results = Results {
        experiment: "clathrin".into(),
        quick: cfg.quick,
        train_cells: run.train_cells.clone(),
        test_cells: run.test_cells.clone(),
        tracks: Tracks { train: run.x_train.nrows(), test: run.x_test.nrows() },
        preprocessing: cfg.preprocessing.clone(),
        r2,
        compression: CompressionTable { awd: comp.mean, awd_std: comp.std, db5: comp_db5 },
        predict_seconds_per_1000,
        selected,
        grid: r
            .grid
            .iter()
            .map(|g| GridRow {
                seed: g.seed,
                lambda: g.lambda,
                gamma: g.gamma,
                cv_r2: g.cv_score,
                cv_se: g.cv_se,
                file: g.file.clone(),
            })
            .collect(),
        distillation: cfg.distill.clone(),
        teacher: cfg.teacher.clone(),
        teacher_selection: run.teacher_choice.clone(),
        pipeline: PipelineSummary { selected: r.selected.clone(), cv: r.cv.clone(), test: r.test.clone() },
        seconds: times,
    };
    write_json_atomic(&dir.join("results.json"), &results)?;
    let report = report(cfg, &results);
    write_text(&dir.join("report.md"), &report)?;
    let summary = format!(
        "clathrin: R^2 AWD {:.3} db5 {:.3} LSTM {:.3} ridge {:.3}; compression AWD {:.3} db5 {comp_db5:.3}; wrote {}",
        results.r2.awd.mean,
        results.r2.db5.mean,
        results.r2.lstm.mean,
        results.r2.ridge.mean,
        comp.mean,
        dir.join("report.md").display()
    );
    let SavedModel::TopK(model) = d.seed_models[0].clone() else { unreachable!("top-k spec") };
    let wavelets = vec![("AWD".to_string(), model.lowpass.clone())];
    Ok(Outcome {
        results: serde_json::to_value(&results).expect("serialisable"),
        model,
        wavelets,
        grid,
        selected: sel,
        x_test: run.x_test,
        summary,
    })
}

fn report(cfg: &Config, r: &Results) -> String {
    let cell = |m: &MeanStd| format!("{:.3} ± {:.3}", m.mean, m.std);
    let t = &r.teacher_selection;
    let cands: Vec<String> = t.cv_r2.iter().map(|(n, v)| format!("{n} {v:.3}")).collect();
    let s = &r.predict_seconds_per_1000;
    format!(
        "# Molecular-partner prediction (paper §4.2, Table 1), one split\n\n{}Training cells {:?} ({} tracks), test \
         cells {:?} ({} tracks); lifetimes {}-{} frames, traces resampled to {} and standardised per cell.\n\n\
         | | AWD | db5 | LSTM |\n|---|---|---|---|\n\
         | Regression (R^2) | {} | {} | {} |\n\
         | Compression rate | {:.3} | {:.3} | — |\n\
         | Prediction time per 1,000 tracks (s) | {:.2e} | {:.2e} | {:.2e} |\n\n\
         Declared extra rows (test R^2): ridge on raw traces {}; the teacher distilled ({}) {}; the \"abs\" rule \
         (largest magnitudes) AWD {} and db5 {}; the constant predictor (mean of the training targets) {}.\n\n\
         Teacher: chosen by {}-fold cross-validation grouped by cell on the training cells (cross-validated R^2: {}; \
         ridge on raw traces {:.3}, alpha {:e}).\n\n\
         AWD: mean ± std over {} seeds (db5 start without noise; the seeds change only the batch order); each seed's \
         wavelet is selected by {}, grouped by cell (the same folds for every grid point and seed). \
         The other rows: ± the bootstrap standard deviation ({BOOTSTRAP} resamples of the test tracks, the same for \
         every row). Compression: fraction of test coefficients whose magnitude and saliency both exceed {:e}. Times \
         include the wavelet transform and feature extraction; the LSTM is {:.0}x slower than AWD, the teacher \
         {:.0}x.\n\n\
         Plots: `fig4_wavelet.png` (learned phi and psi against db5), `fig4_grid.png` (learned wavelets over the \
         grid, the selected one marked), `figC4_track.png` (a test track and its three most important wavelet \
         components).\n",
        if cfg.quick { "**Quick run** (small grid, few epochs and seeds): not the paper's setting.\n\n" } else { "" },
        r.train_cells,
        r.tracks.train,
        r.test_cells,
        r.tracks.test,
        r.preprocessing.min_lifetime,
        r.preprocessing.max_lifetime,
        r.preprocessing.length,
        cell(&r.r2.awd),
        cell(&r.r2.db5),
        cell(&r.r2.lstm),
        r.compression.awd,
        r.compression.db5,
        s.awd,
        s.db5,
        s.lstm,
        cell(&r.r2.ridge),
        t.chosen,
        cell(&r.r2.teacher),
        cell(&r.r2.awd_abs),
        cell(&r.r2.db5_abs),
        cell(&r.r2.constant),
        t.folds,
        cands.join(", "),
        t.ridge_cv_r2,
        t.ridge_alpha,
        r.selected.len(),
        super::selection_rule(&cfg.distill),
        super::ACTIVE,
        s.lstm / s.awd,
        s.teacher / s.awd,
    )
}
