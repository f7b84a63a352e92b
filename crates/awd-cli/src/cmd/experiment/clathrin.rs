//! `awd experiment clathrin`: the paper's §4.2 (library:
//! `awd::pipeline::clathrin`), plus Fig. 4 and Fig. C4.

use std::path::Path;

use anyhow::Result;
use awd::data::clathrin::ClathrinOptions;
use awd::pipeline::clathrin::{run as run_pipeline, Config, Outcome, Split};
use awd::wavefun::wavefun;
use awd::Wavelet;
use plotters::prelude::*;

use crate::args::ExperimentClathrinArgs;
use crate::plot::{draw_lines, draw_mini, fitted_font, write_png, Series, PALETTE};
use crate::progress::Bar;

/// Run the experiment.
pub fn run(a: &ExperimentClathrinArgs) -> Result<()> {
    let mut cfg = if a.quick { Config::quick(a.seed) } else { Config::paper(a.seed) };
    cfg.data_dir = a.data_dir.clone();
    cfg.split = match (&a.train_cells, &a.test_cells) {
        (Some(train), Some(test)) => Split::Fixed { train: train.clone(), test: test.clone() },
        _ => Split::LeaveOneCellOut { cells: a.cells.clone() },
    };
    cfg.distill.one_standard_error = a.one_se;
    cfg.preprocessing =
        ClathrinOptions { min_lifetime: a.min_lifetime, max_lifetime: a.max_lifetime, ..ClathrinOptions::default() };
    let bar = Bar::new(0, "epochs");
    let out = run_pipeline(&cfg, &a.output_dir, &bar)?;
    bar.finish();
    let (lambdas, gammas) =
        (cfg.distill.lambdas.unwrap_or_default().len(), cfg.distill.gammas.unwrap_or_default().len());
    plots(&a.output_dir, &out, lambdas, gammas)?;
    crate::cmd::emit(&out.summary)
}

fn err<E: std::fmt::Debug>(e: E) -> anyhow::Error {
    anyhow::anyhow!("cannot draw plot: {e:?}")
}

fn plots(dir: &Path, out: &Outcome, rows: usize, cols: usize) -> Result<()> {
    let db5 = wavefun(&Wavelet::from_name("db5")?, 7)?;
    let pts = |x: &[f64], y: &[f64]| x.iter().copied().zip(y.iter().copied()).collect::<Vec<_>>();
    let grey = RGBColor(160, 160, 160);
    let mut phi = vec![Series { label: "db5".into(), color: grey, points: pts(&db5.x, &db5.phi) }];
    let mut psi = vec![Series { label: "db5".into(), color: grey, points: pts(&db5.x, &db5.psi) }];
    for (k, (label, lowpass)) in out.wavelets.iter().enumerate() {
        let learned = wavefun(&Wavelet::from_lowpass("awd", lowpass)?, 7)?;
        let color = PALETTE[k % PALETTE.len()];
        phi.push(Series { label: label.clone(), color, points: pts(&learned.x, &learned.phi) });
        psi.push(Series { label: label.clone(), color, points: pts(&learned.x, &learned.psi) });
    }
    write_png(&dir.join("fig4_wavelet.png"), (1200, 480), |tmp, size| {
        let root = BitMapBackend::new(tmp, size).into_drawing_area();
        root.fill(&WHITE).map_err(err)?;
        let (l, r) = root.split_horizontally(600);
        draw_lines(&l, "scaling function φ", "x", "φ(x)", &phi, false)?;
        draw_lines(&r, "wavelet ψ", "x", "ψ(x)", &psi, false)?;
        root.present().map_err(err)
    })?;
    // the learned wavelets of the first seed: every lambda (rows) x every gamma (columns)
    write_png(&dir.join("fig4_grid.png"), (150 * cols as u32 + 20, 120 * rows as u32 + 50), |tmp, size| {
        let root = BitMapBackend::new(tmp, size).into_drawing_area();
        root.fill(&WHITE).map_err(err)?;
        let title = "learned ψ over the grid: λ grows downwards, γ to the right; the selected wavelet is highlighted";
        let root = root.titled(title, ("sans-serif", fitted_font(&root, title, 20))).map_err(err)?;
        let areas = root.split_evenly((rows, cols));
        for (idx, p) in out.grid.iter().enumerate() {
            let wf = wavefun(&Wavelet::from_lowpass("g", &p.lowpass)?, 5)?;
            let value = |v: f64| if v == 0.0 { "0".to_string() } else { format!("{v:.0e}") };
            let caption = match (p.lambda_index, p.gamma_index) {
                (0, 0) => format!("λ={}, γ={}", value(p.lambda), value(p.gamma)),
                (0, _) => format!("γ={}", value(p.gamma)),
                (_, 0) => format!("λ={}", value(p.lambda)),
                _ => String::new(),
            };
            let chosen = idx == out.selected;
            let caption = if chosen { format!("★ {caption}") } else { caption };
            let color = if chosen { PALETTE[3] } else { PALETTE[0] };
            let area = &areas[p.lambda_index * cols + p.gamma_index];
            draw_mini(area, &caption, &pts(&wf.x, &wf.psi), color, chosen)?;
        }
        root.present().map_err(err)
    })?;
    // one test track explained by its three most important components
    let track = out.x_test.row(0).to_vec();
    let mut series = vec![Series {
        label: "track (standardised)".into(),
        color: RGBColor(60, 60, 60),
        points: track.iter().enumerate().map(|(i, &v)| (i as f64, v)).collect(),
    }];
    for (k, (i, part)) in out.model.top_components(&track, 3)?.into_iter().enumerate() {
        series.push(Series {
            label: format!("component {} (coefficient {i})", k + 1),
            color: PALETTE[k],
            points: part.iter().enumerate().map(|(t, &v)| (t as f64, v)).collect(),
        });
    }
    write_png(&dir.join("figC4_track.png"), (900, 500), |tmp, size| {
        let root = BitMapBackend::new(tmp, size).into_drawing_area();
        root.fill(&WHITE).map_err(err)?;
        let title = "a test track and its three most important wavelet components";
        draw_lines(&root, title, "time (resampled frame)", "amplitude", &series, false)?;
        root.present().map_err(err)
    })
}
