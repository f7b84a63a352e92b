//! `awd distill`: the method on your own data. Parse, call
//! `awd::pipeline::distill`, save, plot, print.

use std::path::Path;

use anyhow::{Context, Result};
use awd::distill::LearnedWavelet;
use awd::pipeline::{distill, Data, DataFiles, DistillConfig, Distilled, ModelSpec};
use awd::teachers::Teacher;
use awd::SavedModel;
use plotters::prelude::*;

use super::fit::parse_grid;
use crate::args::{DistillArgs, LinearKind, ModelKind};
use crate::plot::{
    draw_heatmap, draw_lines, draw_lines_marked, fitted_font, plot_fit, write_png, zero_tick, Series, XLabels, PALETTE,
};
use crate::progress::Bar;

/// The library's configuration from the arguments.
fn config(a: &DistillArgs) -> Result<DistillConfig> {
    let base = if a.two_d { DistillConfig::maps() } else { DistillConfig::default() };
    let model = match a.model.unwrap_or(if a.two_d { ModelKind::Peaks } else { ModelKind::Topk }) {
        ModelKind::Topk => ModelSpec::TopK {
            k: a.top_k,
            sign: a.sign,
            ridge_alpha: if a.linear == LinearKind::Ridge { a.ridge_alpha } else { 0.0 },
        },
        ModelKind::Peaks => ModelSpec::Peaks { bins: a.bins.clone(), target: a.target_column, estimator: a.estimator },
    };
    Ok(DistillConfig {
        wavelet: a.wavelet.clone(),
        levels: a.levels.unwrap_or(base.levels),
        mode: a.mode,
        attribution: a.attribution,
        lambdas: a.lambdas.as_deref().map(|t| parse_grid("--lambdas", t)).transpose()?,
        gammas: a.gammas.as_deref().map(|t| parse_grid("--gammas", t)).transpose()?,
        gamma_scale: a.gamma_scale,
        epochs: a.epochs,
        batch_size: a.batch_size,
        lr: a.lr,
        seeds: a.seeds.clone(),
        noise_factor: a.noise_factor,
        model,
        folds: a.folds,
        cv_seed: a.cv_seed,
        one_standard_error: a.one_se,
        max_validity: a.max_validity,
        bootstrap: a.bootstrap,
        work_dir: Some(a.output_dir.clone()),
        ..base
    })
}

/// `awd distill`.
pub fn distill_cmd(a: &DistillArgs) -> Result<()> {
    super::fit::check_writable_dir(&a.output_dir)?;
    let cfg = config(a)?;
    awd::Wavelet::resolve(&cfg.wavelet).with_context(|| format!("--wavelet {}", cfg.wavelet))?;
    let files = DataFiles {
        x: a.x.clone(),
        y: a.y.clone(),
        grad: a.grad.clone(),
        groups: a.groups.clone(),
        x_test: a.x_test.clone(),
        y_test: a.y_test.clone(),
        grad_test: a.grad_test.clone(),
        groups_test: a.groups_test.clone(),
        x_val: a.x_val.clone(),
        y_val: a.y_val.clone(),
        two_d: a.two_d,
    };
    let mut data = Data::load(&files)?;
    if let Some(t) = &a.teacher {
        let teacher = Teacher::load(t).with_context(|| format!("--teacher {}", t.display()))?;
        eprintln!("awd: computing the teacher's input gradients ({})", cfg.attribution.name());
        data = data.with_teacher_gradients(&teacher, cfg.attribution).with_context(|| format!("{}", t.display()))?;
    }
    if data.train.grad.is_none() {
        anyhow::bail!("give the teacher's input gradients (--grad G.npy) or an awd teacher (--teacher T.safetensors)");
    }
    let bar = Bar::new(0, "epochs");
    let out = distill(&cfg, &data, &bar)?;
    bar.finish();
    out.save(&a.output_dir)?;
    plots(&a.output_dir, &out)?;
    let r = &out.results;
    let mut line = format!(
        "distill: selected lambda {:.2e} gamma {:.2e}; cross-validated {} AWD {:.4} baseline {:.4}",
        r.selected.lambda, r.selected.gamma, r.metric, r.cv.awd, r.cv.baseline
    );
    if let Some(t) = &r.test {
        let d = &t.awd_minus_baseline;
        line.push_str(&format!(
            "; test {} AWD {:.4} baseline {:.4} (difference {:+.4} [{:+.4}, {:+.4}])",
            r.metric, t.awd.value, t.baseline.value, d.mean, d.lo, d.hi
        ));
    }
    line.push_str(&format!("; wrote {}", a.output_dir.join("report.md").display()));
    super::emit(&line)
}

fn err<E: std::fmt::Debug>(e: E) -> anyhow::Error {
    anyhow::anyhow!("cannot draw plot: {e:?}")
}

/// `wavelet.png` (learned psi against the initial one, loss history),
/// `cv_grid.png` (the score over the grid, the selection marked) and
/// `features.png` (what the model reads).
fn plots(dir: &Path, out: &Distilled) -> Result<()> {
    let r = &out.results;
    let lw = LearnedWavelet::load(&dir.join(&r.selected.file))?;
    plot_fit(&dir.join("wavelet.png"), &lw, &out.initial_lowpass)?;
    // the score against log10 gamma, one line per lambda, for the selected seed
    let pts: Vec<_> = r.grid.iter().filter(|g| g.seed == r.selected.seed).collect();
    let min_pos = pts.iter().map(|g| g.gamma).filter(|g| *g > 0.0).fold(f64::INFINITY, f64::min);
    let zero_at = zero_tick(min_pos);
    let gx = |g: f64| if g > 0.0 { g.log10() } else { zero_at };
    let mut lambdas: Vec<f64> = pts.iter().map(|g| g.lambda).collect();
    lambdas.sort_by(f64::total_cmp);
    lambdas.dedup();
    let series: Vec<Series> = lambdas
        .iter()
        .enumerate()
        .map(|(k, &l)| {
            let mut line: Vec<(f64, f64)> =
                pts.iter().filter(|g| g.lambda == l).map(|g| (gx(g.gamma), g.cv_score)).collect();
            line.sort_by(|a, b| a.0.total_cmp(&b.0));
            Series { label: format!("λ = {l:.1e}"), color: PALETTE[k % PALETTE.len()], points: line }
        })
        .collect();
    let marks = [(gx(r.selected.gamma), r.selected.cv_score, "selected".to_string())];
    let better = if r.metric == "r2" { "higher" } else { "lower" };
    let title = format!("cross-validated {} ({better} is better)", r.metric);
    write_png(&dir.join("cv_grid.png"), (900, 560), |tmp, size| {
        let root = BitMapBackend::new(tmp, size).into_drawing_area();
        root.fill(&WHITE).map_err(err)?;
        let x_desc = "γ (log scale; the tick 0 is γ = 0)";
        let metric = format!("CV {}", r.metric);
        draw_lines_marked(&root, &title, x_desc, &metric, &series, false, &marks, XLabels::Log10WithZeroAt(zero_at))?;
        root.present().map_err(err)
    })?;
    match (&out.model, &out.baseline) {
        (SavedModel::TopK(m), SavedModel::TopK(b)) => {
            let names: Vec<String> = std::iter::once(format!("cA{}", m.levels))
                .chain((1..=m.levels).rev().map(|j| format!("cD{j}")))
                .collect();
            let series: Vec<Series> = names
                .iter()
                .enumerate()
                .map(|(a, name)| Series {
                    label: name.clone(),
                    color: PALETTE[a % PALETTE.len()],
                    points: (0..m.top_k).map(|k| ((k + 1) as f64, m.linear.weights[a * m.top_k + k])).collect(),
                })
                .collect();
            let _ = b;
            write_png(&dir.join("features.png"), (900, 560), |tmp, size| {
                let root = BitMapBackend::new(tmp, size).into_drawing_area();
                root.fill(&WHITE).map_err(err)?;
                let title = format!("linear weight of the k-th largest coefficient ({}) per array", m.sign.name());
                draw_lines(&root, &title, "rank k", "weight", &series, false)?;
                root.present().map_err(err)
            })
        }
        (SavedModel::Peaks(m), SavedModel::Peaks(b)) => {
            let kernels = |s: &awd::peaks::PeakStatistic| match s {
                awd::peaks::PeakStatistic::Kernels(k) => k.clone(),
                _ => Vec::new(),
            };
            let (learned, initial) = (kernels(&m.statistic), kernels(&b.statistic));
            let scale = learned.iter().chain(&initial).flatten().flatten().fold(0.0f64, |a, v| a.max(v.abs()));
            write_png(&dir.join("features.png"), (880, 500), |tmp, size| {
                let root = BitMapBackend::new(tmp, size).into_drawing_area();
                root.fill(&WHITE).map_err(err)?;
                let title = format!(
                    "3x3 sub-filters counted at peaks: initial (top), learned (bottom); blue < 0 < red, |max| = {scale:.3}"
                );
                let root = root.titled(&title, ("sans-serif", fitted_font(&root, &title, 16))).map_err(err)?;
                let cells = root.split_evenly((2, 4));
                let names = ["LL", "LH", "HL", "HH"];
                for (row, ks) in [&initial, &learned].iter().enumerate() {
                    for (c, k) in ks.iter().enumerate().take(4) {
                        let img = awd::ndarray::Array2::from_shape_fn((3, 3), |(i, j)| k[i][j]);
                        draw_heatmap(&cells[row * 4 + c], names[c], img.view(), scale)?;
                    }
                }
                root.present().map_err(err)
            })
        }
        _ => Ok(()),
    }
}
