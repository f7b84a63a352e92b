//! Molecular-partner prediction (paper §4.2, Table 1): clathrin traces
//! predict auxilin recruitment. Cells -> an LSTM teacher -> its saliency ->
//! [`distill()`](super::distill()) (db5 start with noise, one sweep per
//! seed, top-k + OLS selected by cross-validation on the training cells) ->
//! the test cells against plain db5 (the pipeline's baseline) and the LSTM.

use std::path::{Path, PathBuf};

use awd_core::data::clathrin::{load_cells, Cell, ClathrinOptions};
use awd_core::distill::{log_space, Attribution, Progress};
use awd_core::interp::{bootstrap_r2_std, r2, FeatureSign};
use awd_core::io::{write_json_atomic, write_npy};
use awd_core::Mode;
use awd_teachers::{input_gradients, Arch, GradMethod, TeacherConfig, TrainOptions};
use ndarray::{concatenate, Array1, Array2, ArrayView2, Axis};
use serde::Serialize;

use super::distill::{distill, Compression, DistillConfig, GridScore, ModelSpec};
use super::stages::{per_thousand, prepare_dir, reuse_or_train, write_text, MeanStd, Timings};
use super::Data;
use crate::error::{Error, Result};
use crate::model::{SavedModel, TopKModel};

/// Timed repeats of each prediction path (after one warm-up).
const TIMING_REPS: usize = 20;
/// Bootstrap resamples of the test R^2.
const BOOTSTRAP: usize = 10_000;
/// The paper's activity threshold of the compression rate.
const ACTIVE: f64 = 1e-3;

/// The LSTM teacher's settings.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TeacherSettings {
    /// Hidden units of the LSTM.
    pub hidden: usize,
    /// Training options (epochs, batch, learning rate, early stopping).
    pub train: TrainOptions,
}

/// Every constant of the experiment.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Config {
    /// Folder of `cellK_tracks.csv` / `cellK_frames.csv` pairs.
    pub data_dir: PathBuf,
    /// Training cells.
    pub train_cells: Vec<u32>,
    /// Test cells.
    pub test_cells: Vec<u32>,
    /// Preprocessing (lifetimes, trace length).
    pub preprocessing: ClathrinOptions,
    /// The teacher.
    pub teacher: TeacherSettings,
    /// The distillation (grid, epochs, seeds, model, folds).
    pub distill: DistillConfig,
    /// Base seed (teacher; the sweeps use `seed, seed + 1, …`).
    pub seed: u64,
    /// A reduced run (CI), marked as such in the report.
    pub quick: bool,
}

impl Config {
    /// The paper's setting: LSTM (hidden 40, 60 epochs), 5 lambdas x 21
    /// gammas x 100 epochs, 5 seeds from db5 + 0.1 noise, top 6 + OLS.
    pub fn paper(seed: u64) -> Self {
        let lambdas = log_space(1e-4, 5e-3, 5).expect("valid range");
        let gammas = [vec![0.0], log_space(1e-4, 10.0, 20).expect("valid range")].concat();
        Config {
            data_dir: PathBuf::from("data/clathrin"),
            train_cells: vec![1, 2, 3, 4, 5],
            test_cells: vec![6],
            preprocessing: ClathrinOptions::default(),
            teacher: TeacherSettings {
                hidden: 40,
                train: TrainOptions {
                    epochs: 60,
                    batch_size: 64,
                    lr: 0.005,
                    val_fraction: 0.2,
                    patience: 8,
                    seed,
                    augment: false,
                },
            },
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
                noise_factor: 0.1,
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

    /// A small run for CI: 4 teacher epochs, a 2 x 3 grid, 10 epochs, 2 seeds.
    pub fn quick(seed: u64) -> Self {
        let mut c = Self::paper(seed);
        c.teacher.train.epochs = 4;
        c.distill.lambdas = Some(vec![1e-4, 5e-3]);
        c.distill.gammas = Some([vec![0.0], log_space(1e-3, 1.0, 2).expect("valid range")].concat());
        c.distill.epochs = 10;
        c.distill.seeds = vec![seed, seed + 1];
        c.quick = true;
        c
    }
}

/// Track counts.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Tracks {
    /// Training tracks.
    pub train: usize,
    /// Test tracks.
    pub test: usize,
}

/// One value per column of Table 1.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Table1<T> {
    /// AWD.
    pub awd: T,
    /// db5.
    pub db5: T,
    /// The LSTM teacher.
    pub lstm: T,
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
    /// Point file.
    pub file: String,
}

/// The distillation pipeline's own summary.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PipelineSummary {
    /// The point selected over all seeds.
    pub selected: super::Selected,
    /// Its cross-validated score and db5's.
    pub cv: super::CvScores,
    /// Test scores of that point's model and db5's.
    pub test: Option<super::TestScores>,
}

/// Everything measured (results.json).
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
    /// Test R^2 (AWD: mean and std over seeds; db5, LSTM: bootstrap std).
    pub r2: Table1<MeanStd>,
    /// Compression rates.
    pub compression: CompressionTable,
    /// Seconds to predict 1,000 tracks, the whole path.
    pub predict_seconds_per_1000: Table1<f64>,
    /// Each seed's selection.
    pub selected: Vec<SeedSelection>,
    /// Every grid point of every seed.
    pub grid: Vec<GridRow>,
    /// The distillation's configuration.
    pub distillation: DistillConfig,
    /// The teacher's settings.
    pub teacher: TeacherSettings,
    /// The pipeline's summary.
    pub pipeline: PipelineSummary,
    /// Wall time per stage.
    pub seconds: Timings,
}

/// What the plots need, besides the files.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// results.json.
    pub results: Results,
    /// The first seed's model (plotted and timed).
    pub model: TopKModel,
    /// The first seed's grid, in sweep order.
    pub grid: Vec<GridScore>,
    /// Index of the first seed's selection in `grid`.
    pub selected: usize,
    /// The test traces.
    pub x_test: Array2<f64>,
    /// One line for the terminal.
    pub summary: String,
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

fn stack(parts: &[ArrayView2<'_, f64>]) -> Array2<f64> {
    concatenate(Axis(0), parts).expect("same widths")
}

/// Run the experiment into `dir` (results.json, report.md, data/, teacher/,
/// sweeps/, models/); finished stages are reused on a re-run.
pub fn run(cfg: &Config, dir: &Path, progress: &dyn Progress) -> Result<Outcome> {
    prepare_dir(dir)?;
    if let Some(c) = cfg.test_cells.iter().find(|c| cfg.train_cells.contains(c)) {
        return Err(Error::data("cells", format!("cell {c} is both a training and a test cell; split by cell")));
    }
    let mut times = Timings::default();
    let (cells, tr, te) = times.stage(progress, "data", || {
        let cells = load_cells(&cfg.data_dir, &cfg.preprocessing)?;
        let (tr, te) = (
            pick(&cells, &cfg.train_cells, "training", &cfg.data_dir)?,
            pick(&cells, &cfg.test_cells, "test", &cfg.data_dir)?,
        );
        Ok((cells, tr, te))
    })?;
    let x_train = stack(&tr.iter().map(|&i| cells[i].traces.view()).collect::<Vec<_>>());
    let y_train: Array1<f64> = tr.iter().flat_map(|&i| cells[i].response.to_vec()).collect();
    let x_test = stack(&te.iter().map(|&i| cells[i].traces.view()).collect::<Vec<_>>());
    let y_test: Array1<f64> = te.iter().flat_map(|&i| cells[i].response.to_vec()).collect();
    let groups: Vec<i64> = tr.iter().flat_map(|&i| vec![cells[i].id as i64; cells[i].traces.nrows()]).collect();
    for (name, a) in [("x_train", x_train.view().into_dyn()), ("x_test", x_test.view().into_dyn())] {
        write_npy(&dir.join(format!("data/{name}.npy")), a)?;
    }
    write_npy(&dir.join("data/y_train.npy"), y_train.view().into_dyn())?;
    write_npy(&dir.join("data/y_test.npy"), y_test.view().into_dyn())?;
    let gv = Array1::from(groups.iter().map(|&g| g as f64).collect::<Vec<_>>());
    write_npy(&dir.join("data/groups_train.npy"), gv.view().into_dyn())?;
    progress.message(&format!(
        "{} training tracks (cells {:?}), {} test tracks (cells {:?})",
        x_train.nrows(),
        cfg.train_cells,
        x_test.nrows(),
        cfg.test_cells
    ));

    // teacher: LSTM with early stopping on a validation part
    let tpath = dir.join("teacher").join("lstm.safetensors");
    let teacher = times.stage(progress, "teacher", || {
        let input = vec![cfg.preprocessing.length];
        let config = TeacherConfig { hidden: cfg.teacher.hidden, ..TeacherConfig::new(Arch::Lstm, input, 1) };
        let y = y_train.view().insert_axis(Axis(1));
        reuse_or_train(&tpath, config, cfg.seed, x_train.view(), y, &cfg.teacher.train, progress)
    })?;
    let lstm_pred = teacher.predict(x_test.view())?.column(0).to_owned();
    let lstm =
        (r2(lstm_pred.view(), y_test.view()), bootstrap_r2_std(lstm_pred.view(), y_test.view(), BOOTSTRAP, cfg.seed));
    let (g_train, g_test) = times.stage(progress, "gradients", || {
        Ok((
            input_gradients(&teacher, x_train.view(), GradMethod::Saliency, 0)?,
            input_gradients(&teacher, x_test.view(), GradMethod::Saliency, 0)?,
        ))
    })?;

    // the pipeline: sweeps per seed, CV selection, the db5 baseline, test
    let data =
        Data::new(x_train.view().into_dyn(), y_train.view().into_dyn(), Some(g_train.view().into_dyn()), None, false)?
            .with_test(x_test.view().into_dyn(), y_test.view().into_dyn(), Some(g_test.view().into_dyn()), None)?;
    let cfg_distill = DistillConfig { work_dir: Some(dir.to_path_buf()), ..cfg.distill.clone() };
    let out = distill(&cfg_distill, &data, progress)?;
    let r = &out.results;
    times.0.extend(r.seconds.0.iter().cloned());
    let SavedModel::TopK(db5_model) = &out.baseline else { unreachable!("top-k spec") };
    let (_, db5_pred) = out.test_predictions.as_ref().expect("a test set was given");
    let db5_pred = ndarray::ArrayView1::from(db5_pred);
    let db5 =
        (r2(db5_pred.view(), y_test.view()), bootstrap_r2_std(db5_pred.view(), y_test.view(), BOOTSTRAP, cfg.seed));
    write_json_atomic(&dir.join("models/db5.json"), &out.baseline)?;
    let mut seed_compression = Vec::new();
    let mut seed_std = Vec::new();
    for (s, m) in r.seeds.iter().zip(&out.seed_models) {
        m.save(&dir.join(format!("models/awd_seed{}.json", s.seed)))?;
        let lowpass = m.lowpass().expect("a top-k model has a filter");
        let c = super::compression(&cfg.distill, &data, &db5_model.lowpass, lowpass)?;
        let p = m.predict(x_test.view().into_dyn())?;
        seed_std.push(bootstrap_r2_std(p.view(), y_test.view(), BOOTSTRAP, s.seed));
        seed_compression.push(c.awd.unwrap_or(f64::NAN));
    }

    // prediction time per 1,000 tracks, the whole path
    let SavedModel::TopK(model) = out.seed_models[0].clone() else { unreachable!("top-k spec") };
    let n = x_test.nrows();
    let t_awd = per_thousand(n, TIMING_REPS, || model.predict(x_test.view()).map(|_| ()))?;
    let t_db5 = per_thousand(n, TIMING_REPS, || db5_model.predict(x_test.view()).map(|_| ()))?;
    let t_lstm = per_thousand(n, TIMING_REPS, || teacher.predict(x_test.view()).map(|_| ()).map_err(Into::into))?;

    let tests: Vec<f64> = r.seeds.iter().filter_map(|s| s.test).collect();
    let awd = if tests.len() > 1 { MeanStd::of(&tests) } else { MeanStd { mean: tests[0], std: seed_std[0] } };
    let comp = MeanStd::of(&seed_compression);
    let comp_awd = comp.mean;
    let comp_db5 = r.compression.baseline.unwrap_or(f64::NAN);
    let first_seed = cfg.distill.seeds[0];
    let grid: Vec<GridScore> = r.grid.iter().filter(|g| g.seed == first_seed).cloned().collect();
    let selected = grid.iter().position(|g| g.file == r.seeds[0].selected.file).expect("selected from the grid");
    let results = Results {
        experiment: "clathrin".into(),
        quick: cfg.quick,
        train_cells: cfg.train_cells.clone(),
        test_cells: cfg.test_cells.clone(),
        tracks: Tracks { train: x_train.nrows(), test: x_test.nrows() },
        preprocessing: cfg.preprocessing.clone(),
        r2: Table1 { awd, db5: MeanStd { mean: db5.0, std: db5.1 }, lstm: MeanStd { mean: lstm.0, std: lstm.1 } },
        compression: CompressionTable { awd: comp_awd, awd_std: comp.std, db5: comp_db5 },
        predict_seconds_per_1000: Table1 { awd: t_awd, db5: t_db5, lstm: t_lstm },
        selected: r
            .seeds
            .iter()
            .enumerate()
            .map(|(k, s)| SeedSelection {
                seed: s.seed,
                lambda: s.selected.lambda,
                gamma: s.selected.gamma,
                cv_r2: s.selected.cv_score,
                test_r2: s.test,
                test_r2_bootstrap_std: seed_std[k],
                compression: seed_compression[k],
                model: format!("models/awd_seed{}.json", s.seed),
            })
            .collect(),
        grid: r
            .grid
            .iter()
            .map(|g| GridRow {
                seed: g.seed,
                lambda: g.lambda,
                gamma: g.gamma,
                cv_r2: g.cv_score,
                file: g.file.clone(),
            })
            .collect(),
        distillation: cfg.distill.clone(),
        teacher: cfg.teacher.clone(),
        pipeline: PipelineSummary { selected: r.selected.clone(), cv: r.cv.clone(), test: r.test.clone() },
        seconds: times.clone(),
    };
    write_json_atomic(&dir.join("results.json"), &results)?;
    let report = format!(
        "# Molecular-partner prediction (paper §4.2, Table 1)\n\n{}Training cells {:?} ({} tracks), test cells {:?} ({} tracks); \
         lifetimes {}-{} frames, traces resampled to {} and standardised per cell.\n\n\
         | | AWD | db5 | LSTM |\n|---|---|---|---|\n\
         | Regression (R^2) | {:.3} ± {:.3} | {:.3} ± {:.3} | {:.3} ± {:.3} |\n\
         | Compression rate | {:.3} | {:.3} | — |\n\
         | Prediction time per 1,000 tracks (s) | {:.2e} | {:.2e} | {:.2e} |\n\n\
         AWD: mean ± std over {} seeds (the bootstrap std for a single seed); each seed's wavelet is selected by {}-fold \
         cross-validated R^2 on the training cells (the same folds for every grid point and seed). db5 and LSTM: ± the \
         bootstrap standard deviation ({BOOTSTRAP} resamples). Compression: fraction of test coefficients whose magnitude \
         and saliency both exceed {ACTIVE:e}. Times include the wavelet transform and feature extraction; the LSTM is \
         {:.0}x slower than AWD.\n\n\
         Plots: `fig4_wavelet.png` (learned phi and psi against db5), `fig4_grid.png` (learned wavelets over the grid, the \
         selected one marked), `figC4_track.png` (a test track and its three most important wavelet components).\n",
        if cfg.quick { "**Quick run** (small grid, few epochs and seeds): not the paper's setting.\n\n" } else { "" },
        cfg.train_cells,
        x_train.nrows(),
        cfg.test_cells,
        x_test.nrows(),
        cfg.preprocessing.min_lifetime,
        cfg.preprocessing.max_lifetime,
        cfg.preprocessing.length,
        awd.mean,
        awd.std,
        db5.0,
        db5.1,
        lstm.0,
        lstm.1,
        comp_awd,
        comp_db5,
        t_awd,
        t_db5,
        t_lstm,
        tests.len(),
        cfg.distill.folds,
        t_lstm / t_awd
    );
    write_text(&dir.join("report.md"), &report)?;
    let summary = format!(
        "clathrin: R^2 AWD {:.3} db5 {:.3} LSTM {:.3}; compression AWD {comp_awd:.3} db5 {comp_db5:.3}; wrote {}",
        awd.mean,
        db5.0,
        lstm.0,
        dir.join("report.md").display()
    );
    Ok(Outcome { results, model, grid, selected, x_test, summary })
}
