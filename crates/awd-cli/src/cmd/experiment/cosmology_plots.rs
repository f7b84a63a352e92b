//! Plots of the cosmology experiment: sample maps, peak-statistic
//! distributions (Fig. D1), the 2-D filters and their 3x3 sub-filters, and
//! activation maps (Fig. D2).

use std::path::Path;

use anyhow::{anyhow, Result};
use awd::peaks::{class_ids, wavelet_subfilters};
use awd::Wavelet;
use ndarray::{s, Array2, ArrayView2, ArrayView3, Axis};
use plotters::prelude::*;

use crate::plot::{draw_heatmap, draw_key, draw_lines, fitted_font, write_png, Series};
use awd::peaks::PeakCountModel;
use awd::pipeline::cosmology::{activation_map, ACTIVATION_FRACTION};
use awd::pipeline::peaks::{BINS, OMEGA_M};

/// What the plots need.
pub struct PlotInputs<'a> {
    /// Training maps.
    pub train: ArrayView3<'a, f64>,
    /// Their parameters.
    pub train_params: ArrayView2<'a, f64>,
    /// Test maps.
    pub test: ArrayView3<'a, f64>,
    /// Their parameters.
    pub test_params: ArrayView2<'a, f64>,
    /// Saliency of the test maps' coefficients under the learned wavelet
    /// (packed per map in pywt order).
    pub awd_attributions: ArrayView2<'a, f64>,
    /// Levels of the transform.
    pub levels: usize,
    /// The selected learned lowpass.
    pub awd_lowpass: &'a [f64],
    /// The fitted nearest-cosmology model of each peak statistic, named.
    pub models: [(&'a str, &'a PeakCountModel); 5],
}

fn err<E: std::fmt::Debug>(e: E) -> anyhow::Error {
    anyhow!("cannot draw plot: {e:?}")
}

fn std_of(a: ArrayView2<'_, f64>) -> f64 {
    let n = a.len() as f64;
    let m = a.sum() / n;
    (a.iter().map(|v| (v - m) * (v - m)).sum::<f64>() / n).sqrt()
}

/// A colour from blue (low Omega_m) to red (high).
fn ramp(t: f64) -> RGBColor {
    let t = t.clamp(0.0, 1.0);
    RGBColor((40.0 + 200.0 * t) as u8, (90.0 + 40.0 * (1.0 - (2.0 * t - 1.0).abs())) as u8, (220.0 - 190.0 * t) as u8)
}

/// Write every plot into `dir`.
pub fn plot_all(dir: &Path, p: &PlotInputs<'_>) -> Result<()> {
    sample_maps(dir, p)?;
    distributions(dir, p)?;
    filters(dir, p)?;
    activation_maps(dir, p)
}

fn sample_maps(dir: &Path, p: &PlotInputs<'_>) -> Result<()> {
    let mut classes = Vec::new();
    let ids = class_ids(p.train_params, &mut classes);
    let firsts: Vec<usize> = (0..classes.len().min(10)).filter_map(|k| ids.iter().position(|&i| i == k)).collect();
    let scale = 3.0 * std_of(p.train.slice(s![0, .., ..]));
    let cols = firsts.len().min(5);
    let rows = firsts.len().div_ceil(cols);
    write_png(&dir.join("maps_per_cosmology.png"), (260 * cols as u32, 290 * rows as u32 + 40), |tmp, size| {
        let root = BitMapBackend::new(tmp, size).into_drawing_area();
        root.fill(&WHITE).map_err(err)?;
        let title = format!("one training map per cosmology (colour range ±{scale:.3})");
        let root = root.titled(&title, ("sans-serif", fitted_font(&root, &title, 20))).map_err(err)?;
        let areas = root.split_evenly((rows, cols));
        for (area, &i) in areas.iter().zip(&firsts) {
            let c = p.train_params.row(i);
            let caption = if c.len() >= 3 {
                format!("Ωm={:.4} As={:.3} mν={:.3}", c[1], c[2], c[0])
            } else {
                format!("params {:?}", c.to_vec())
            };
            draw_heatmap(area, &caption, p.train.slice(s![i, .., ..]), scale)?;
        }
        root.present().map_err(err)?;
        Ok(())
    })
}

fn distributions(dir: &Path, p: &PlotInputs<'_>) -> Result<()> {
    write_png(&dir.join("figD1_peak_statistics.png"), (1500, 900), |tmp, size| {
        let root = BitMapBackend::new(tmp, size).into_drawing_area();
        root.fill(&WHITE).map_err(err)?;
        let areas = root.split_evenly((2, 3));
        let mut key = Vec::new();
        for (area, (name, m)) in areas.iter().zip(p.models.iter()) {
            let means = &m.means;
            let omega: Vec<f64> = m.classes.iter().map(|c| c[OMEGA_M]).collect();
            let (lo, hi) = omega.iter().fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), &v| (a.min(v), b.max(v)));
            let mut order: Vec<usize> = (0..means.len()).collect();
            order.sort_by(|&a, &b| omega[a].total_cmp(&omega[b]));
            // the panels share one key, drawn in the last panel
            let series: Vec<Series> = order
                .iter()
                .map(|&k| Series {
                    label: String::new(),
                    color: ramp((omega[k] - lo) / (hi - lo).max(1e-12)),
                    points: means[k].iter().enumerate().map(|(b, &v)| (b as f64, v)).collect(),
                })
                .collect();
            key = order
                .iter()
                .zip(&series)
                .map(|(&k, s)| Series { label: format!("Ωm = {:.3}", omega[k]), color: s.color, points: Vec::new() })
                .collect();
            let channels = m.binning.ranges.len();
            let x_desc = if channels > 1 {
                format!("bin ({channels} sub-filters x {BINS} bins: LL, LH, HL, HH)")
            } else {
                format!("bin ({:.3} to {:.3})", m.binning.ranges[0].0, m.binning.ranges[0].1)
            };
            draw_lines(area, &format!("{name}: mean peaks per bin"), &x_desc, "peaks per map", &series, false)?;
        }
        if let Some(area) = areas.get(p.models.len()) {
            draw_key(area, "per cosmology (training maps)", &key)?;
        }
        root.present().map_err(err)?;
        Ok(())
    })
}

fn outer(a: &[f64], b: &[f64]) -> Array2<f64> {
    Array2::from_shape_fn((a.len(), b.len()), |(i, j)| a[i] * b[j])
}

fn filters(dir: &Path, p: &PlotInputs<'_>) -> Result<()> {
    let awd = Wavelet::from_lowpass("awd", p.awd_lowpass)?;
    let db5 = Wavelet::from_name("db5")?;
    let names = ["LL", "LH", "HL", "HH"];
    write_png(&dir.join("filters_2d.png"), (1600, 470), |tmp, size| {
        let root = BitMapBackend::new(tmp, size).into_drawing_area();
        root.fill(&WHITE).map_err(err)?;
        let title = "2-D filters (outer products of lowpass/highpass) and their 3x3 sub-filters";
        let root = root.titled(title, ("sans-serif", fitted_font(&root, title, 20))).map_err(err)?;
        let rows = root.split_evenly((2, 1));
        for (row, (label, wv)) in rows.iter().zip([("AWD", &awd), ("db5", &db5)]) {
            let cells = row.split_evenly((1, 8));
            let (lo, hi) = (wv.rec_lo.as_slice(), wv.rec_hi.as_slice());
            let full = [outer(lo, lo), outer(lo, hi), outer(hi, lo), outer(hi, hi)];
            let subs = wavelet_subfilters(wv);
            for k in 0..4 {
                let f = &full[k];
                let sc = f.iter().fold(0.0f64, |m, v| m.max(v.abs()));
                draw_heatmap(&cells[k], &format!("{label} {}", names[k]), f.view(), sc)?;
                let sub = Array2::from_shape_fn((3, 3), |(i, j)| subs[k][i][j]);
                draw_heatmap(&cells[4 + k], &format!("{label} {} 3x3", names[k]), sub.view(), sc)?;
            }
        }
        root.present().map_err(err)?;
        Ok(())
    })
}

fn activation_maps(dir: &Path, p: &PlotInputs<'_>) -> Result<()> {
    let attrs = p.awd_attributions;
    // three test maps of distinct cosmologies: lowest, middle and highest Omega_m
    let mut classes = Vec::new();
    let ids = class_ids(p.test_params, &mut classes);
    let mut by_omega: Vec<usize> = (0..classes.len()).collect();
    by_omega
        .sort_by(|&a, &b| classes[a][1.min(classes[a].len() - 1)].total_cmp(&classes[b][1.min(classes[b].len() - 1)]));
    let picks: Vec<usize> = [0, by_omega.len() / 2, by_omega.len() - 1]
        .iter()
        .filter_map(|&r| ids.iter().position(|&i| i == by_omega[r]))
        .collect();
    let mut panels = Vec::new();
    for &i in &picks {
        let map = p.test.index_axis(Axis(0), i);
        let (act, keep) = activation_map(p.awd_lowpass, p.levels, map, attrs.row(i), ACTIVATION_FRACTION)?;
        panels.push((i, map.to_owned(), act, keep));
    }
    write_png(&dir.join("figD2_activation_maps.png"), (560, 290 * panels.len() as u32 + 40), |tmp, size| {
        let root = BitMapBackend::new(tmp, size).into_drawing_area();
        root.fill(&WHITE).map_err(err)?;
        let title = "test maps and their AWD activation maps (top-attribution coefficients)";
        let root = root.titled(title, ("sans-serif", fitted_font(&root, title, 18))).map_err(err)?;
        let rows = root.split_evenly((panels.len(), 2));
        for (r, (i, map, act, keep)) in panels.iter().enumerate() {
            let om = p.test_params.row(*i).get(1).copied().unwrap_or(f64::NAN);
            draw_heatmap(&rows[2 * r], &format!("map {i}, Ωm={om:.4}"), map.view(), 3.0 * std_of(map.view()))?;
            let sc = act.iter().fold(0.0f64, |m, v| m.max(v.abs()));
            draw_heatmap(&rows[2 * r + 1], &format!("activation ({keep} coefficients)"), act.view(), sc)?;
        }
        root.present().map_err(err)?;
        Ok(())
    })
}
