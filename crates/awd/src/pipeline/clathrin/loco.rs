//! Leave one cell out: every cell is the test cell once; the pooled test
//! tracks give each model's R^2, and a paired bootstrap (the same resamples
//! of the tracks for every model, stratified by cell) the intervals of the
//! differences.

use std::collections::BTreeMap;
use std::path::Path;

use awd_core::data::clathrin::Cell;
use awd_core::distill::Progress;
use awd_core::interp::r2;
use awd_core::io::{write_json_atomic, write_npy};
use ndarray::{Array1, Array2, Axis};
use serde::Serialize;

use super::split::{column, paired_scores, run_split, Rows, SplitRun};
use super::teacher::{TeacherChoice, TeacherSettings};
use super::{speeds, Config, Outcome, Speeds, BOOTSTRAP};
use crate::error::Result;
use crate::model::SavedModel;
use crate::pipeline::distill::{CompressionRates, CvScores, DistillConfig, GridScore, Selected};
use crate::pipeline::stages::Interval;
use crate::pipeline::stages::{write_text, MeanStd, Timings, INTERVAL};

/// Paired differences of R^2 on the pooled test tracks.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Diffs {
    /// AWD - db5.
    pub awd_minus_db5: Interval,
    /// AWD - the reference LSTM.
    pub awd_minus_lstm: Interval,
    /// AWD - ridge on raw traces.
    pub awd_minus_ridge: Interval,
    /// AWD - the teacher it distils.
    pub awd_minus_teacher: Interval,
    /// AWD - the constant predictor.
    pub awd_minus_constant: Interval,
    /// AWD (abs rule) - db5 (abs rule).
    pub awd_abs_minus_db5_abs: Interval,
}

/// One held-out cell's R^2 per model.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CellScores {
    /// Its tracks.
    pub tracks: usize,
    /// R^2 of every model on them.
    #[serde(flatten)]
    pub r2: Rows<f64>,
}

/// The leave-one-cell-out summary (R^2 values).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Loco {
    /// R^2 on all held-out tracks pooled (targets are standardised per cell).
    pub pooled: Rows<f64>,
    /// Bootstrap standard deviation of the pooled R^2.
    pub pooled_std: Rows<f64>,
    /// Unweighted mean of the per-cell R^2.
    pub mean_over_cells: Rows<f64>,
    /// Per held-out cell.
    pub per_cell: BTreeMap<String, CellScores>,
    /// Paired-bootstrap differences with [`INTERVAL`] intervals.
    pub diff: Diffs,
    /// Resamples.
    pub bootstrap_resamples: usize,
    /// Coverage of the intervals.
    pub interval: f64,
    /// Resampling within each cell (cell sizes kept).
    pub stratified_by_cell: bool,
}

/// What one held-out cell's run chose.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FoldSummary {
    /// The held-out cell.
    pub held_out: u32,
    /// Its training cells.
    pub train_cells: Vec<u32>,
    /// Training tracks.
    pub train_tracks: usize,
    /// Test tracks.
    pub test_tracks: usize,
    /// How the teacher was chosen.
    pub teacher: TeacherChoice,
    /// AWD's selected point (over seeds).
    pub selected: Selected,
    /// Cross-validated R^2 of AWD and db5 (grouped by cell).
    pub cv: CvScores,
    /// Each seed's test R^2 of its own selection.
    pub seed_test_r2: Vec<f64>,
    /// The abs rule's selected point.
    pub selected_abs: Selected,
    /// Compression rates on the held-out cell.
    pub compression: CompressionRates,
    /// The learned lowpass.
    pub awd_lowpass: Vec<f64>,
}

/// Compression rates pooled over the held-out cells (weighted by tracks).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PooledCompression {
    /// AWD.
    pub awd: f64,
    /// db5.
    pub db5: f64,
}

/// Everything measured (results.json).
#[derive(Debug, Clone, Serialize)]
pub struct LocoResults {
    /// `clathrin`.
    pub experiment: String,
    /// A reduced run.
    pub quick: bool,
    /// `leave_one_cell_out`.
    pub mode: String,
    /// The cells, each held out once.
    pub cells: Vec<u32>,
    /// All tracks.
    pub tracks: usize,
    /// Preprocessing.
    pub preprocessing: awd_core::data::clathrin::ClathrinOptions,
    /// The summary.
    pub loco: Loco,
    /// Compression rates.
    pub compression: PooledCompression,
    /// Seconds to predict 1,000 tracks (the first held-out cell's models).
    pub predict_seconds_per_1000: Speeds,
    /// Per held-out cell.
    pub folds: Vec<FoldSummary>,
    /// Column order of `predictions.npy`.
    pub prediction_columns: Vec<String>,
    /// The distillation's configuration.
    pub distillation: DistillConfig,
    /// The teacher candidates.
    pub teacher: TeacherSettings,
    /// Wall time per stage.
    pub seconds: Timings,
}

fn interval(boot: &Array2<f64>, a: &str, b: &str) -> Interval {
    Interval::of_differences(boot.column(column(a)), boot.column(column(b)))
}

/// Run every held-out cell (`chosen` index into `cells`) into
/// `dir/folds/cell<K>/`, then pool.
pub fn run(
    cfg: &Config,
    cells: &[Cell],
    chosen: &[usize],
    dir: &Path,
    mut times: Timings,
    progress: &dyn Progress,
) -> Result<Outcome> {
    let mut runs: Vec<SplitRun> = Vec::new();
    for (k, &test) in chosen.iter().enumerate() {
        let id = cells[test].id;
        progress.message(&format!("held-out cell {id} ({}/{})", k + 1, chosen.len()));
        let train: Vec<usize> = chosen.iter().copied().filter(|&i| i != test).collect();
        let sub = dir.join(format!("folds/cell{id}"));
        let run = run_split(cfg, cells, &train, &[test], &sub, progress)?;
        for (name, t) in &run.times.0 {
            times.0.push((format!("cell {id}: {name}"), *t));
        }
        run.distilled.model.save(&sub.join("models/awd.json"))?;
        run.distilled.baseline.save(&sub.join("models/db5.json"))?;
        run.distilled_abs.model.save(&sub.join("models/awd_abs.json"))?;
        runs.push(run);
    }

    // pool the held-out tracks
    let y: Array1<f64> = runs.iter().flat_map(|r| r.y_test.to_vec()).collect();
    let strata: Vec<i64> = runs.iter().flat_map(|r| r.test_cell_of.iter().map(|&c| c as i64)).collect();
    let preds: Rows<Array1<f64>> = runs[0]
        .predictions
        .map_named(|name, _| runs.iter().flat_map(|r| r.predictions.as_array()[column(name)].to_vec()).collect());
    let (pooled, boot) = paired_scores(&preds, y.view(), &strata, BOOTSTRAP, cfg.seed)?;
    let pooled_std = pooled.map_named(|name, _| MeanStd::of(&boot.index_axis(Axis(1), column(name)).to_vec()).std);
    let mut per_cell = BTreeMap::new();
    for r in &runs {
        let yt = r.y_test.view();
        per_cell.insert(
            r.test_cells[0].to_string(),
            CellScores { tracks: yt.len(), r2: r.predictions.map(|p| r2(p.view(), yt)) },
        );
    }
    let mean_over_cells = pooled.map_named(|name, _| {
        let v: Vec<f64> = per_cell.values().map(|c| *c.r2.as_array()[column(name)]).collect();
        v.iter().sum::<f64>() / v.len() as f64
    });
    let diff = Diffs {
        awd_minus_db5: interval(&boot, "awd", "db5"),
        awd_minus_lstm: interval(&boot, "awd", "lstm"),
        awd_minus_ridge: interval(&boot, "awd", "ridge"),
        awd_minus_teacher: interval(&boot, "awd", "teacher"),
        awd_minus_constant: interval(&boot, "awd", "constant"),
        awd_abs_minus_db5_abs: interval(&boot, "awd_abs", "db5_abs"),
    };
    let all = Array2::from_shape_fn((y.len(), Rows::<()>::NAMES.len()), |(i, j)| preds.as_array()[j][i]);
    write_npy(&dir.join("predictions.npy"), all.view().into_dyn())?;
    write_npy(&dir.join("y.npy"), y.view().into_dyn())?;
    let cells_f: Array1<f64> = strata.iter().map(|&c| c as f64).collect();
    write_npy(&dir.join("cells.npy"), cells_f.view().into_dyn())?;

    // compression, weighted by test tracks
    let n = y.len() as f64;
    let weighted = |f: &dyn Fn(&CompressionRates) -> Option<f64>| -> f64 {
        runs.iter()
            .map(|r| f(&r.distilled.results.compression).unwrap_or(f64::NAN) * r.y_test.len() as f64)
            .sum::<f64>()
            / n
    };
    let compression = PooledCompression { awd: weighted(&|c| c.awd), db5: weighted(&|c| c.baseline) };
    let predict_seconds_per_1000 = speeds(&runs[0])?;
    let folds: Vec<FoldSummary> = runs
        .iter()
        .map(|r| FoldSummary {
            held_out: r.test_cells[0],
            train_cells: r.train_cells.clone(),
            train_tracks: r.x_train.nrows(),
            test_tracks: r.x_test.nrows(),
            teacher: r.teacher_choice.clone(),
            selected: r.distilled.results.selected.clone(),
            cv: r.distilled.results.cv.clone(),
            seed_test_r2: r.distilled.results.seeds.iter().filter_map(|s| s.test).collect(),
            selected_abs: r.distilled_abs.results.selected.clone(),
            compression: r.distilled.results.compression.clone(),
            awd_lowpass: r.distilled.model.lowpass().expect("a filter").to_vec(),
        })
        .collect();
    let results = LocoResults {
        experiment: "clathrin".into(),
        quick: cfg.quick,
        mode: "leave_one_cell_out".into(),
        cells: runs.iter().map(|r| r.test_cells[0]).collect(),
        tracks: y.len(),
        preprocessing: cfg.preprocessing.clone(),
        loco: Loco {
            pooled,
            pooled_std,
            mean_over_cells,
            per_cell,
            diff,
            bootstrap_resamples: BOOTSTRAP,
            interval: INTERVAL,
            stratified_by_cell: true,
        },
        compression,
        predict_seconds_per_1000,
        folds,
        prediction_columns: Rows::<()>::NAMES.iter().map(|s| s.to_string()).collect(),
        distillation: cfg.distill.clone(),
        teacher: cfg.teacher.clone(),
        seconds: times,
    };
    write_json_atomic(&dir.join("results.json"), &results)?;
    let path = dir.join("report.md");
    write_text(&path, &report(cfg, &results))?;
    let l = &results.loco;
    let summary = format!(
        "clathrin, leave one cell out ({} cells, {} tracks): pooled R^2 AWD {:.3} db5 {:.3} LSTM {:.3} ridge {:.3} \
         teacher {:.3}; AWD - db5 {:+.3} [{:+.3}, {:+.3}]; compression AWD {:.3} db5 {:.3}; wrote {}",
        results.cells.len(),
        results.tracks,
        l.pooled.awd,
        l.pooled.db5,
        l.pooled.lstm,
        l.pooled.ridge,
        l.pooled.teacher,
        l.diff.awd_minus_db5.mean,
        l.diff.awd_minus_db5.lo,
        l.diff.awd_minus_db5.hi,
        results.compression.awd,
        results.compression.db5,
        path.display()
    );
    let first = &runs[0];
    let SavedModel::TopK(model) = first.distilled.model.clone() else { unreachable!("top-k spec") };
    let seed = first.distilled.results.selected.seed;
    let grid: Vec<GridScore> = first.distilled.results.grid.iter().filter(|g| g.seed == seed).cloned().collect();
    let selected =
        grid.iter().position(|g| g.file == first.distilled.results.selected.file).expect("selected from the grid");
    let wavelets = runs
        .iter()
        .map(|r| {
            (format!("cell {} held out", r.test_cells[0]), r.distilled.model.lowpass().expect("a filter").to_vec())
        })
        .collect();
    Ok(Outcome {
        results: serde_json::to_value(&results).expect("serialisable"),
        model,
        wavelets,
        grid,
        selected,
        x_test: first.x_test.clone(),
        summary,
    })
}

fn report(cfg: &Config, r: &LocoResults) -> String {
    let l = &r.loco;
    let labels = [
        ("awd", "AWD (top 6 values + OLS)"),
        ("db5", "db5 (same model)"),
        ("lstm", "LSTM (reference recipe)"),
        ("ridge", "ridge on raw traces"),
        ("teacher", "teacher distilled"),
        ("awd_abs", "AWD, abs rule (declared extra)"),
        ("db5_abs", "db5, abs rule (declared extra)"),
        ("constant", "constant (training mean)"),
    ];
    let cells: Vec<&String> = l.per_cell.keys().collect();
    let mut md = format!(
        "# Molecular-partner prediction (paper §4.2, Table 1), leave one cell out\n\n{}Each of cells {:?} is held out \
         in turn ({} tracks in all); for each, the teacher (chosen by grouped cross-validation), the sweeps and the \
         selection use the other cells only. Lifetimes {}-{} frames, traces resampled to {} and standardised per cell.\n\n\
         | model | pooled R^2 (± bootstrap std) | mean over cells | {} |\n|---|---|---|{}\n",
        if cfg.quick { "**Quick run** (small grid, few epochs, seeds and teacher epochs): not the paper's setting.\n\n" } else { "" },
        r.cells,
        r.tracks,
        r.preprocessing.min_lifetime,
        r.preprocessing.max_lifetime,
        r.preprocessing.length,
        cells.iter().map(|c| format!("cell {c}")).collect::<Vec<_>>().join(" | "),
        "---|".repeat(cells.len()),
    );
    for (name, label) in labels {
        let k = column(name);
        md.push_str(&format!(
            "| {label} | {:.3} ± {:.3} | {:.3} | {} |\n",
            l.pooled.as_array()[k],
            l.pooled_std.as_array()[k],
            l.mean_over_cells.as_array()[k],
            l.per_cell.values().map(|c| format!("{:.3}", c.r2.as_array()[k])).collect::<Vec<_>>().join(" | ")
        ));
    }
    let d = |i: &Interval| format!("{:+.3} [{:+.3}, {:+.3}]", i.mean, i.lo, i.hi);
    md.push_str(&format!(
        "\nPaired bootstrap of the pooled R^2 ({} resamples of the tracks within each cell; {:.0} % intervals):\n\n\
         | difference | mean [interval] |\n|---|---|\n\
         | AWD - db5 | {} |\n| AWD - LSTM | {} |\n| AWD - ridge | {} |\n| AWD - teacher | {} |\n\
         | AWD - constant | {} |\n| AWD (abs) - db5 (abs) | {} |\n\n",
        l.bootstrap_resamples,
        100.0 * l.interval,
        d(&l.diff.awd_minus_db5),
        d(&l.diff.awd_minus_lstm),
        d(&l.diff.awd_minus_ridge),
        d(&l.diff.awd_minus_teacher),
        d(&l.diff.awd_minus_constant),
        d(&l.diff.awd_abs_minus_db5_abs),
    ));
    md.push_str(
        "| held-out cell | teacher chosen | teacher CV R^2 | ridge CV R^2 | AWD lambda | AWD gamma | AWD CV R^2 | \
         db5 CV R^2 | AWD test R^2 per seed |\n|---|---|---|---|---|---|---|---|---|\n",
    );
    for f in &r.folds {
        md.push_str(&format!(
            "| {} | {} | {} | {:.3} | {:.2e} | {:.2e} | {:.3} | {:.3} | {} |\n",
            f.held_out,
            f.teacher.chosen,
            f.teacher.cv_r2.iter().map(|(n, v)| format!("{n} {v:.3}")).collect::<Vec<_>>().join(", "),
            f.teacher.ridge_cv_r2,
            f.selected.lambda,
            f.selected.gamma,
            f.cv.awd,
            f.cv.baseline,
            f.seed_test_r2.iter().map(|v| format!("{v:.3}")).collect::<Vec<_>>().join(", ")
        ));
    }
    let s = &r.predict_seconds_per_1000;
    md.push_str(&format!(
        "\nCompression rate (fraction of held-out coefficients whose magnitude and saliency both exceed {:e}, pooled): \
         AWD {:.3}, db5 {:.3}.\n\nPrediction time per 1,000 tracks (the whole path): AWD {:.2e} s, db5 {:.2e} s, LSTM \
         {:.2e} s ({:.0}x AWD's), teacher ({}, held-out cell {}'s) {:.2e} s ({:.0}x).\n\n\
         AWD: db5 start without noise, {} seeds changing only the batch order, each seed's sweep over {} lambdas x {} \
         gammas x {} epochs; each seed's point selected by {}, and of those the seed of best cross-validated \
         R^2 is the model (folds grouped by cell on the training cells, the same for every point and seed). Predictions of every model on every held-out track: \
         `predictions.npy` (columns in results.json), `y.npy`, `cells.npy`; models in `folds/cell<K>/models/`.\n",
        super::ACTIVE,
        r.compression.awd,
        r.compression.db5,
        s.awd,
        s.db5,
        s.lstm,
        s.lstm / s.awd,
        r.folds[0].teacher.chosen,
        r.folds[0].held_out,
        s.teacher,
        s.teacher / s.awd,
        r.distillation.seeds.len(),
        r.distillation.lambdas.as_ref().map_or(0, Vec::len),
        r.distillation.gammas.as_ref().map_or(0, Vec::len),
        r.distillation.epochs,
        super::selection_rule(&r.distillation),
    ));
    let total: f64 = r.seconds.0.iter().map(|(_, t)| t).sum();
    let selection: Vec<String> = cfg
        .teacher
        .candidates
        .iter()
        .map(|c| {
            let stage = format!("teacher selection: {}", c.name);
            let t: f64 = r.seconds.0.iter().filter(|(k, _)| k.ends_with(&stage)).map(|(_, t)| t).sum();
            format!("{} {t:.0} s", c.name)
        })
        .collect();
    md.push_str(&format!(
        "\nThe stages of this run took {total:.0} s; scoring the teacher candidates, summed over the held-out cells: {} \
         (members already trained by an earlier run are reused and cost nothing here).\n",
        selection.join(", ")
    ));
    md
}
