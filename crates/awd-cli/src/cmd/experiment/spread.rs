//! `awd experiment spread`: cosmology runs of several seeds side by side
//! (library: `awd::pipeline::spread`), with a forest plot of the
//! differences.

use std::path::Path;

use anyhow::{anyhow, Result};
use awd::pipeline::spread::{cosmology_spread, Spread, PRINT_SCALE as SCALE};
use plotters::prelude::*;

use crate::args::ExperimentSpreadArgs;
use crate::plot::{draw_key, fitted_font, fixed_tick, write_png, Series, PALETTE};

/// Gather the runs, print the tables, write the files and the plot.
pub fn run(a: &ExperimentSpreadArgs) -> Result<()> {
    let spread = cosmology_spread(&a.runs)?;
    if let Some(dir) = &a.output_dir {
        spread.write(dir)?;
        let rows = spread.differences.len() as u32;
        write_png(&dir.join("spread.png"), (1300 + KEY_WIDTH_PX, 140 + 62 * rows), |tmp, size| {
            forest(tmp, size, &spread)
        })?;
    }
    crate::cmd::emit(&spread.report())
}

/// Width of the key beside the forest plot.
const KEY_WIDTH_PX: u32 = 240;

/// Colour of every run's interval when there are more runs than colours.
const MANY_RUNS: RGBColor = RGBColor(150, 150, 150);

/// A forest plot: one row per comparison, each run's bootstrap interval in
/// its colour (all grey beyond [`PALETTE`]'s six colours; spread.md has
/// each run's values), the interval of the mean over seeds in black, 0
/// marked.
fn forest(path: &Path, size: (u32, u32), s: &Spread) -> Result<()> {
    let err = |e| anyhow!("cannot draw: {e:?}");
    let root = BitMapBackend::new(path, size).into_drawing_area();
    root.fill(&WHITE).map_err(err)?;
    let (plot_area, key_area) = root.split_horizontally(size.0 - KEY_WIDTH_PX);
    let rows = s.differences.len();
    let n = s.runs.len();
    let colour = |j: usize| if n <= PALETTE.len() { PALETTE[j] } else { MANY_RUNS };
    let (mut lo, mut hi) = (0f64, 0f64);
    for row in &s.differences {
        for i in &row.per_run {
            (lo, hi) = (lo.min(i.lo), hi.max(i.hi));
        }
        (lo, hi) = (lo.min(row.across.lo), hi.max(row.across.hi));
    }
    let pad = 0.05 * (hi - lo).max(1e-12);
    let (x_lo, x_hi) = ((lo - pad) * SCALE, (hi + pad) * SCALE);
    let pct = (s.interval * 100.0).round();
    let title = format!(
        "AWD − each model over {n} seeds: each seed's {pct:.0} % bootstrap interval ({}), the {pct:.0} % t-interval of the mean (black)",
        if n <= PALETTE.len() { "colour" } else { "grey" }
    );
    let mut chart = ChartBuilder::on(&plot_area)
        .caption(&title, ("sans-serif", fitted_font(&plot_area, &title, 22)))
        .margin(16)
        .x_label_area_size(50)
        .y_label_area_size(330)
        .build_cartesian_2d(x_lo..x_hi, -0.5..rows as f64 - 0.5)
        .map_err(err)?;
    // decimals of a tick step of about a tenth of the range; no "-0.0"
    let decimals = (-((x_hi - x_lo) / 10.0).log10()).ceil().max(0.0) as usize;
    let labels: Vec<String> = s.differences.iter().map(|r| r.label.replace(" - ", " − ")).collect();
    chart
        .configure_mesh()
        .disable_y_mesh()
        .y_labels(rows)
        .y_label_formatter(&|y| {
            let k = y.round();
            if (y - k).abs() < 1e-6 && k >= 0.0 && (k as usize) < rows {
                labels[rows - 1 - k as usize].clone()
            } else {
                String::new()
            }
        })
        .x_label_formatter(&|v| fixed_tick(*v, decimals))
        .x_desc("RMSE of Ωm difference (× 10⁻²); below 0: AWD better")
        .label_style(("sans-serif", 17))
        .axis_desc_style(("sans-serif", 19))
        .light_line_style(RGBColor(235, 235, 235))
        .draw()
        .map_err(err)?;
    chart
        .draw_series(std::iter::once(PathElement::new(
            vec![(0.0, -0.5), (0.0, rows as f64 - 0.5)],
            RGBColor(120, 120, 120).stroke_width(2),
        )))
        .map_err(err)?;
    for (k, row) in s.differences.iter().enumerate() {
        let y0 = (rows - 1 - k) as f64;
        let step = 0.6 / n as f64;
        for (j, i) in row.per_run.iter().enumerate() {
            let y = y0 + 0.3 - step * (j as f64 + 0.5);
            let c = colour(j);
            chart
                .draw_series([
                    PathElement::new(vec![(i.lo * SCALE, y), (i.hi * SCALE, y)], c.stroke_width(2)).into_dyn(),
                    Circle::new((i.mean * SCALE, y), 4, c.filled()).into_dyn(),
                ])
                .map_err(err)?;
        }
        let a = &row.across;
        let y = y0 - 0.38;
        chart
            .draw_series([
                PathElement::new(vec![(a.lo * SCALE, y), (a.hi * SCALE, y)], BLACK.stroke_width(4)).into_dyn(),
                Rectangle::new(
                    [
                        (a.mean * SCALE - 0.004 * (x_hi - x_lo), y - 0.06),
                        (a.mean * SCALE + 0.004 * (x_hi - x_lo), y + 0.06),
                    ],
                    BLACK.filled(),
                )
                .into_dyn(),
            ])
            .map_err(err)?;
    }
    let mut key: Vec<Series> = if n <= PALETTE.len() {
        s.runs
            .iter()
            .enumerate()
            .map(|(j, r)| Series { label: format!("seed {}", r.seed), color: colour(j), points: Vec::new() })
            .collect()
    } else {
        vec![Series { label: "each seed".into(), color: MANY_RUNS, points: Vec::new() }]
    };
    key.push(Series { label: "mean over seeds".into(), color: BLACK, points: Vec::new() });
    draw_key(&key_area, "runs", &key)?;
    root.present().map_err(err)?;
    Ok(())
}
