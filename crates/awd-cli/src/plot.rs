//! PNG plots with an embedded font (DejaVu Sans), so text renders the same on
//! every machine and no system font library is needed.

use std::path::Path;
use std::sync::Once;

use anyhow::{anyhow, Context, Result};
use awd::wavefun::WaveFun;
use plotters::prelude::*;
use plotters::style::FontStyle;

static FONT: &[u8] = include_bytes!("../assets/DejaVuSans.ttf");
static REGISTER: Once = Once::new();

/// Register the embedded font under "sans-serif" (once per process).
pub fn register_fonts() {
    REGISTER.call_once(|| {
        for style in [FontStyle::Normal, FontStyle::Bold] {
            // The font is compiled in and known to parse; a failure would show
            // as a text-drawing error below, which is checked.
            let _ = plotters::style::register_font("sans-serif", style, FONT);
        }
    });
}

fn plot_err<E: std::fmt::Debug>(path: &Path) -> impl Fn(E) -> anyhow::Error + '_ {
    move |e| anyhow!("{}: cannot draw plot: {e:?}", path.display())
}

/// Draw phi and psi of a wavelet, labelled, into a PNG (written atomically).
pub fn plot_wavefun(path: &Path, name: &str, level: usize, wf: &WaveFun) -> Result<()> {
    write_png(path, (1000, 600), |tmp, _| draw_wavefun(tmp, name, level, wf))
}

fn draw_wavefun(path: &Path, name: &str, level: usize, wf: &WaveFun) -> Result<()> {
    let err = plot_err(path);
    let root = BitMapBackend::new(path, (1000, 600)).into_drawing_area();
    root.fill(&WHITE).map_err(&err)?;
    let x_max = wf.x.last().copied().unwrap_or(1.0);
    let (lo, hi) =
        wf.phi.iter().chain(&wf.psi).fold((f64::INFINITY, f64::NEG_INFINITY), |(l, h), &v| (l.min(v), h.max(v)));
    let pad = 0.08 * (hi - lo).max(1e-9);
    let curves: Vec<(f64, f64)> =
        wf.x.iter()
            .copied()
            .zip(wf.phi.iter().copied())
            .chain(wf.x.iter().copied().zip(wf.psi.iter().copied()))
            .collect();
    let ((y_lo, y_hi), corner) = legend_room(&curves, (0.0, x_max), (lo - pad, hi + pad), 2, 600);
    let title = format!("{name}: scaling function φ and wavelet ψ (cascade level {level})");
    let mut chart = ChartBuilder::on(&root)
        .caption(&title, ("sans-serif", fitted_font(&root, &title, 26)))
        .margin(20)
        .x_label_area_size(50)
        .y_label_area_size(70)
        .build_cartesian_2d(0.0..x_max, y_lo..y_hi)
        .map_err(&err)?;
    chart
        .configure_mesh()
        .x_desc("x")
        .y_desc("amplitude")
        .label_style(("sans-serif", 18))
        .axis_desc_style(("sans-serif", 20))
        .light_line_style(RGBColor(235, 235, 235))
        .draw()
        .map_err(&err)?;
    let blue = RGBColor(31, 119, 180);
    let orange = RGBColor(255, 127, 14);
    chart
        .draw_series(curve(wf.x.iter().copied().zip(wf.phi.iter().copied()), blue))
        .map_err(&err)?
        .label("φ (scaling function)")
        .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 24, y)], blue.stroke_width(3)));
    chart
        .draw_series(curve(wf.x.iter().copied().zip(wf.psi.iter().copied()), orange))
        .map_err(&err)?
        .label("ψ (wavelet)")
        .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 24, y)], orange.stroke_width(3)));
    chart
        .configure_series_labels()
        .label_font(("sans-serif", 20))
        .background_style(WHITE.mix(0.9))
        .border_style(BLACK)
        .position(corner)
        .draw()
        .map_err(&err)?;
    root.present().map_err(&err)?;
    Ok(())
}

/// One labelled curve.
pub struct Series {
    /// Legend label (empty: left out of the legend, e.g. for a shared key).
    pub label: String,
    /// Colour.
    pub color: RGBColor,
    /// Points `(x, y)`.
    pub points: Vec<(f64, f64)>,
}

/// Colours of successive series (matplotlib's default cycle).
pub const PALETTE: [RGBColor; 6] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
];

/// Draw labelled curves into `area` (log10 of y when `log_y`; non-positive
/// values are then left out).
pub fn draw_lines<DB: DrawingBackend>(
    area: &DrawingArea<DB, plotters::coord::Shift>,
    title: &str,
    x_desc: &str,
    y_desc: &str,
    series: &[Series],
    log_y: bool,
) -> Result<()>
where
    DB::ErrorType: 'static,
{
    draw_lines_marked(area, title, x_desc, y_desc, series, log_y, &[], XLabels::Plain)
}

/// Where a log10 axis draws a parameter's 0: the whole decade below the
/// decade of its smallest positive value `min_pos`, so that a tick (labelled
/// 0) falls on it.
pub fn zero_tick(min_pos: f64) -> f64 {
    if min_pos.is_finite() && min_pos > 0.0 {
        min_pos.log10().floor() - 1.0
    } else {
        0.0
    }
}

/// Width in pixels of data curves: one pixel, so that a jagged curve (a
/// learned wavelet) is never drawn past its values (thick strokes with
/// mitred joins overshoot at sharp corners).
const DATA_STROKE: u32 = 1;

/// How the x tick labels read.
#[derive(Debug, Clone, Copy)]
pub enum XLabels {
    /// The values.
    Plain,
    /// x is log10 of a parameter; the tick at `zero_at` (a whole decade left
    /// of     /// its smallest positive value) stands for the parameter's 0.
    Log10WithZeroAt(f64),
}

/// The largest font size up to `size` at which `text` fits the width of
/// `area` (titles of narrow panels shrink instead of being cut).
pub fn fitted_font<DB: DrawingBackend>(area: &DrawingArea<DB, plotters::coord::Shift>, text: &str, size: u32) -> u32 {
    let width = area.dim_in_pixel().0.saturating_sub(20);
    let mut size = size;
    while size > 10 {
        match area.estimate_text_size(text, &("sans-serif", size).into_text_style(area)) {
            Ok((w, _)) if w <= width => break,
            Err(_) => break,
            _ => size -= 1,
        }
    }
    size
}

/// Pixels of one legend entry, and of the legend's frame.
const LEGEND_ROW_PX: f64 = 22.0;
/// Margin in pixels of a shared key ([`draw_key`]) from its area's corner.
const KEY_MARGIN_PX: i32 = 40;
const LEGEND_FRAME_PX: f64 = 14.0;
/// Pixels of a chart's height outside its plotting area (caption, x labels).
const CHART_CHROME_PX: f64 = 100.0;
/// Fraction of a plot's width a legend covers.
const LEGEND_WIDTH: f64 = 0.4;

/// Fraction of a plotting area `height_px` high that a legend of `entries`
/// lines covers.
fn legend_height(entries: usize, height_px: u32) -> f64 {
    let plot = (f64::from(height_px) - CHART_CHROME_PX).max(1.0);
    ((entries as f64 * LEGEND_ROW_PX + LEGEND_FRAME_PX) / plot).min(0.8)
}

/// The corner of the plot (x range `x`, y range `y`) holding the fewest
/// data points under a legend `height` (a fraction of the plot) high, and
/// how many points it covers there.
fn emptiest_corner(
    points: impl Iterator<Item = (f64, f64)>,
    x: (f64, f64),
    y: (f64, f64),
    height: f64,
) -> (SeriesLabelPosition, usize) {
    let corners = [
        SeriesLabelPosition::UpperRight,
        SeriesLabelPosition::UpperLeft,
        SeriesLabelPosition::LowerRight,
        SeriesLabelPosition::LowerLeft,
    ];
    let mut counts = [0usize; 4];
    let (w, h) = ((x.1 - x.0).max(1e-300), (y.1 - y.0).max(1e-300));
    for (px, py) in points {
        let (u, v) = ((px - x.0) / w, (py - y.0) / h);
        let (right, left) = (u >= 1.0 - LEGEND_WIDTH, u <= LEGEND_WIDTH);
        let (top, bottom) = (v > 1.0 - height, v < height);
        counts[0] += usize::from(right && top);
        counts[1] += usize::from(left && top);
        counts[2] += usize::from(right && bottom);
        counts[3] += usize::from(left && bottom);
    }
    let best = (0..4).min_by_key(|&k| counts[k]).expect("four corners");
    (corners[best].clone(), counts[best])
}

/// The y range `(lo, hi)` and legend corner for `points`: when every corner
/// would cover data, the top is raised until the legend fits above it.
fn legend_room(
    points: &[(f64, f64)],
    x: (f64, f64),
    y: (f64, f64),
    entries: usize,
    height_px: u32,
) -> ((f64, f64), SeriesLabelPosition) {
    let height = legend_height(entries, height_px);
    let (corner, covered) = emptiest_corner(points.iter().copied(), x, y, height);
    if covered == 0 {
        return (y, corner);
    }
    // a little air between the data's top and the legend
    let raised = (y.0, y.0 + (y.1 - y.0) / (1.0 - height - 0.03));
    (raised, emptiest_corner(points.iter().copied(), x, raised, height).0)
}

/// A log10 tick value as a readable number: `1e-3` at whole decades, else
/// three significant digits (`3.16e-1`).
fn log_tick(v: f64) -> String {
    if (v - v.round()).abs() < 1e-9 {
        format!("1e{}", v.round() as i64)
    } else {
        format!("{:.2e}", 10f64.powf(v))
    }
}

/// A tick value with `decimals` decimals, without the sign of a value that
/// rounds to zero (`0.00`, not `-0.00`).
pub fn fixed_tick(v: f64, decimals: usize) -> String {
    let s = format!("{v:.decimals$}");
    match s.strip_prefix('-') {
        Some(rest) if rest.chars().all(|c| c == '0' || c == '.') => rest.to_string(),
        _ => s,
    }
}

/// A data curve as drawn in every plot (one pixel wide: see [`DATA_STROKE`]).
fn curve<DB: DrawingBackend>(
    points: impl IntoIterator<Item = (f64, f64)>,
    color: RGBColor,
) -> LineSeries<DB, (f64, f64)> {
    LineSeries::new(points, color.stroke_width(DATA_STROKE))
}

/// [`draw_lines`] with labelled points marked by circles (e.g. a selection),
/// and x tick labels read as `x_labels` says.
#[allow(clippy::too_many_arguments)] // a plot's parts, each named at the call
pub fn draw_lines_marked<DB: DrawingBackend>(
    area: &DrawingArea<DB, plotters::coord::Shift>,
    title: &str,
    x_desc: &str,
    y_desc: &str,
    series: &[Series],
    log_y: bool,
    marks: &[(f64, f64, String)],
    x_labels: XLabels,
) -> Result<()>
where
    DB::ErrorType: 'static,
{
    let err = |e: DrawingAreaErrorKind<DB::ErrorType>| anyhow!("cannot draw plot: {e:?}");
    let tf = |y: f64| if log_y { y.log10() } else { y };
    let pts: Vec<Vec<(f64, f64)>> = series
        .iter()
        .map(|s| s.points.iter().filter(|(_, y)| !log_y || *y > 0.0).map(|&(x, y)| (x, tf(y))).collect())
        .collect();
    let all = pts.iter().flatten();
    let (mut x0, mut x1, mut y0, mut y1) = (f64::INFINITY, f64::NEG_INFINITY, f64::INFINITY, f64::NEG_INFINITY);
    for &(x, y) in all {
        x0 = x0.min(x);
        x1 = x1.max(x);
        y0 = y0.min(y);
        y1 = y1.max(y);
    }
    if !x0.is_finite() {
        (x0, x1, y0, y1) = (0.0, 1.0, 0.0, 1.0);
    }
    if x1 <= x0 {
        x1 = x0 + 1.0;
    }
    let pad = 0.08 * (y1 - y0).max(1e-9);
    let all_points: Vec<(f64, f64)> =
        pts.iter().flatten().copied().chain(marks.iter().map(|(x, y, _)| (*x, tf(*y)))).collect();
    // series without a label stay out of the legend (a shared key drawn elsewhere)
    let entries = series.iter().filter(|s| !s.label.is_empty()).count() + marks.len();
    let ((lo, hi), corner) = if entries == 0 {
        ((y0 - pad, y1 + pad), SeriesLabelPosition::UpperRight)
    } else {
        legend_room(&all_points, (x0, x1), (y0 - pad, y1 + pad), entries, area.dim_in_pixel().1)
    };
    let mut chart = ChartBuilder::on(area)
        .caption(title, ("sans-serif", fitted_font(area, title, 24)))
        .margin(15)
        .x_label_area_size(45)
        .y_label_area_size(90)
        .build_cartesian_2d(x0..x1, lo..hi)
        .map_err(err)?;
    // enough decimals that neighbouring tick labels differ
    let decimals = (2.0 - (y1 - y0).max(1e-12).log10().floor()).clamp(2.0, 8.0) as usize;
    let y_fmt = |v: &f64| if log_y { log_tick(*v) } else { fixed_tick(*v, decimals) };
    let x_fmt = |v: &f64| match x_labels {
        XLabels::Plain => format!("{v}"),
        XLabels::Log10WithZeroAt(zero) if (v - zero).abs() < 1e-9 => "0".to_string(),
        XLabels::Log10WithZeroAt(zero) if *v < zero => String::new(),
        XLabels::Log10WithZeroAt(_) => log_tick(*v),
    };
    let mut mesh = chart.configure_mesh();
    mesh.x_desc(x_desc).y_desc(y_desc).y_label_formatter(&y_fmt);
    if let XLabels::Log10WithZeroAt(zero) = x_labels {
        // one tick per decade, so that the tick standing for 0 is drawn
        mesh.x_labels(((x1 - zero).round() as usize + 1).clamp(2, 12)).x_label_formatter(&x_fmt);
    }
    mesh.label_style(("sans-serif", 16))
        .axis_desc_style(("sans-serif", 18))
        .light_line_style(RGBColor(235, 235, 235))
        .draw()
        .map_err(err)?;
    for (s, p) in series.iter().zip(pts) {
        let color = s.color;
        let drawn = chart.draw_series(curve(p, color)).map_err(err)?;
        if !s.label.is_empty() {
            drawn
                .label(s.label.clone())
                .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 24, y)], color.stroke_width(3)));
        }
    }
    for (x, y, label) in marks {
        let (x, y) = (*x, tf(*y));
        chart
            .draw_series(std::iter::once(Circle::new((x, y), 7, BLACK.stroke_width(2))))
            .map_err(err)?
            .label(label.clone())
            .legend(|(x, y)| Circle::new((x + 12, y), 5, BLACK.stroke_width(2)));
    }
    if entries > 0 {
        chart
            .configure_series_labels()
            .label_font(("sans-serif", 16))
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK)
            .position(corner)
            .draw()
            .map_err(err)?;
    }
    Ok(())
}

/// A key shared by several panels (drawn with unlabelled series): `title`,
/// then one row per series, its colour and label, in an area of its own.
pub fn draw_key<DB: DrawingBackend>(
    area: &DrawingArea<DB, plotters::coord::Shift>,
    title: &str,
    series: &[Series],
) -> Result<()>
where
    DB::ErrorType: 'static,
{
    let err = |e: DrawingAreaErrorKind<DB::ErrorType>| anyhow!("cannot draw key: {e:?}");
    let (x, row) = (KEY_MARGIN_PX, LEGEND_ROW_PX.round() as i32 + 6);
    area.draw(&Text::new(title.to_string(), (x, KEY_MARGIN_PX), ("sans-serif", 22))).map_err(err)?;
    for (k, s) in series.iter().enumerate() {
        let y = 2 * KEY_MARGIN_PX + k as i32 * row;
        area.draw(&PathElement::new(vec![(x, y), (x + 40, y)], s.color.stroke_width(3))).map_err(err)?;
        area.draw(&Text::new(s.label.clone(), (x + 52, y - 9), ("sans-serif", 18))).map_err(err)?;
    }
    Ok(())
}

/// Write a PNG through `draw`, atomically (temporary file, then rename).
pub fn write_png(path: &Path, size: (u32, u32), draw: impl FnOnce(&Path, (u32, u32)) -> Result<()>) -> Result<()> {
    register_fonts();
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent).with_context(|| format!("{}: cannot create folder", path.display()))?;
    }
    // plotters picks the format by the extension, which the temporary keeps
    let tmp = awd::io::TempPath::beside(path);
    draw(tmp.path(), size).with_context(|| format!("{}", path.display()))?;
    tmp.persist().with_context(|| format!("{}: cannot write", path.display()))
}

/// A fit at a glance: the learned psi against the initial one, and the loss
/// history per term.
pub fn plot_fit(path: &Path, lw: &awd::distill::LearnedWavelet, initial: &[f64]) -> Result<()> {
    let level = 7;
    let learned = awd::wavefun::wavefun(&lw.wavelet(), level)?;
    let init = awd::wavefun::wavefun(&awd::Wavelet::from_lowpass("initial", initial)?, level)?;
    let curve = |wf: &WaveFun| wf.x.iter().copied().zip(wf.psi.iter().copied()).collect::<Vec<_>>();
    let left = vec![
        Series { label: "ψ initial".into(), color: RGBColor(150, 150, 150), points: curve(&init) },
        Series { label: "ψ learned".into(), color: PALETTE[0], points: curve(&learned) },
    ];
    let h = &lw.history;
    let term = |f: &dyn Fn(&awd::distill::LossTerms) -> f64| -> Vec<(f64, f64)> {
        h.iter().map(|r| (r.epoch as f64, f(&r.terms))).collect()
    };
    let right = vec![
        Series { label: "total".into(), color: PALETTE[0], points: term(&|t| t.total) },
        Series { label: "reconstruction".into(), color: PALETTE[1], points: term(&|t| t.reconstruction) },
        Series { label: "L1 coefficients".into(), color: PALETTE[2], points: term(&|t| t.l1_coefficients) },
        Series { label: "L1 attributions".into(), color: PALETTE[3], points: term(&|t| t.l1_attributions) },
        Series { label: "validity (sum)".into(), color: PALETTE[4], points: term(&|t| t.validity().total()) },
    ];
    let title = format!("{}: learned wavelet", lw.name);
    write_png(path, (1400, 600), |tmp, size| {
        let root = BitMapBackend::new(tmp, size).into_drawing_area();
        root.fill(&WHITE).map_err(|e| anyhow!("cannot draw plot: {e:?}"))?;
        let (l, r) = root.split_horizontally(700);
        draw_lines(&l, &title, "x", "ψ(x)", &left, false)?;
        draw_lines(&r, "loss terms per epoch", "epoch", "value (log scale)", &right, true)?;
        root.present().map_err(|e| anyhow!("cannot draw plot: {e:?}"))?;
        Ok(())
    })
}

/// One panel of wavelets: `psi` aligned to `reference` (the distance's best
/// circular shift and flip) and drawn over it.
pub struct WaveletPanel {
    /// Panel title.
    pub title: String,
    /// The wavelet function.
    pub psi: Vec<f64>,
    /// The reference (db5), drawn in grey.
    pub reference: Vec<f64>,
}

/// `psi` padded to the reference length, flipped and rolled as the distance found best.
fn aligned(psi: &[f64], reference: &[f64]) -> (Vec<f64>, Vec<f64>) {
    let n = psi.len().max(reference.len());
    let mut a = psi.to_vec();
    a.resize(n, 0.0);
    let mut r = reference.to_vec();
    r.resize(n, 0.0);
    if let Ok(d) = awd::distance::psi_distance(&a, &r) {
        if d.flipped {
            a.reverse();
        }
        a.rotate_right(d.shift % n);
    }
    (a, r)
}

/// A grid of wavelet panels (`cols` per row), written atomically.
pub fn plot_wavelet_panels(path: &Path, title: &str, panels: &[WaveletPanel], cols: usize) -> Result<()> {
    let rows = panels.len().div_ceil(cols);
    write_png(path, (460 * cols as u32, 380 * rows as u32 + 50), |tmp, size| {
        let root = BitMapBackend::new(tmp, size).into_drawing_area();
        root.fill(&WHITE).map_err(|e| anyhow!("cannot draw plot: {e:?}"))?;
        let root = root
            .titled(title, ("sans-serif", fitted_font(&root, title, 26)))
            .map_err(|e| anyhow!("cannot draw plot: {e:?}"))?;
        for (area, p) in root.split_evenly((rows, cols)).iter().zip(panels) {
            let (a, r) = aligned(&p.psi, &p.reference);
            let scale = 1.0 / 32.0;
            let series = vec![
                Series {
                    label: "db5".into(),
                    color: RGBColor(160, 160, 160),
                    points: r.iter().enumerate().map(|(i, &v)| (i as f64 * scale, v)).collect(),
                },
                Series {
                    label: "ψ".into(),
                    color: PALETTE[0],
                    points: a.iter().enumerate().map(|(i, &v)| (i as f64 * scale, v)).collect(),
                },
            ];
            draw_lines(area, &p.title, "x", "ψ(x)", &series, false)?;
        }
        root.present().map_err(|e| anyhow!("cannot draw plot: {e:?}"))?;
        Ok(())
    })
}

/// One initialisation's grid: its name and `(lambda, gamma, distance)` points.
pub type GridCurve = (String, Vec<(f64, f64, f64)>);

/// Distance to db5 against log10 gamma, one line per lambda, one panel per
/// initialisation (`(init, [(lambda, gamma, distance)])`). gamma = 0 is drawn
/// at the tick labelled 0 (see [`zero_tick`]).
pub fn plot_distance_vs_gamma(path: &Path, curves: &[GridCurve]) -> Result<()> {
    let min_pos =
        curves.iter().flat_map(|(_, v)| v.iter().map(|p| p.1)).filter(|g| *g > 0.0).fold(f64::INFINITY, f64::min);
    let zero_at = zero_tick(min_pos);
    let n = curves.len().max(1);
    write_png(path, (520 * n as u32, 460), |tmp, size| {
        let root = BitMapBackend::new(tmp, size).into_drawing_area();
        root.fill(&WHITE).map_err(|e| anyhow!("cannot draw plot: {e:?}"))?;
        for (area, (init, pts)) in root.split_evenly((1, n)).iter().zip(curves) {
            let mut lambdas: Vec<f64> = pts.iter().map(|p| p.0).collect();
            lambdas.sort_by(|a, b| a.total_cmp(b));
            lambdas.dedup();
            let series: Vec<Series> = lambdas
                .iter()
                .enumerate()
                .map(|(k, &l)| {
                    let mut line: Vec<(f64, f64)> = pts
                        .iter()
                        .filter(|p| p.0 == l)
                        .map(|p| (if p.1 > 0.0 { p.1.log10() } else { zero_at }, p.2))
                        .collect();
                    line.sort_by(|a, b| a.0.total_cmp(&b.0));
                    Series { label: format!("λ = {l:.1e}"), color: PALETTE[k % PALETTE.len()], points: line }
                })
                .collect();
            let title = format!("from {init}");
            let x_desc = "γ (log scale; the tick 0 is γ = 0)";
            draw_lines_marked(
                area,
                &title,
                x_desc,
                "distance to db5",
                &series,
                false,
                &[],
                XLabels::Log10WithZeroAt(zero_at),
            )?;
        }
        root.present().map_err(|e| anyhow!("cannot draw plot: {e:?}"))?;
        Ok(())
    })
}

/// A small unlabelled curve (for grids of many panels), with a short caption.
pub fn draw_mini<DB: DrawingBackend>(
    area: &DrawingArea<DB, plotters::coord::Shift>,
    caption: &str,
    points: &[(f64, f64)],
    color: RGBColor,
    highlight: bool,
) -> Result<()>
where
    DB::ErrorType: 'static,
{
    let err = |e: DrawingAreaErrorKind<DB::ErrorType>| anyhow!("cannot draw plot: {e:?}");
    if highlight {
        area.fill(&RGBColor(255, 240, 200)).map_err(err)?;
    }
    let (mut y0, mut y1) = (f64::INFINITY, f64::NEG_INFINITY);
    for &(_, y) in points {
        y0 = y0.min(y);
        y1 = y1.max(y);
    }
    if !(y0.is_finite() && y1 > y0) {
        (y0, y1) = (-1.0, 1.0);
    }
    let x1 = points.last().map_or(1.0, |p| p.0).max(1e-9);
    let mut chart = ChartBuilder::on(area)
        .caption(caption, ("sans-serif", fitted_font(area, caption, 13)))
        .margin(4)
        .build_cartesian_2d(0.0..x1, y0..y1)
        .map_err(err)?;
    chart.draw_series(curve(points.iter().copied(), color)).map_err(err)?;
    Ok(())
}

/// Diverging colour map (blue - white - red) of `t` in `[-1, 1]`.
pub fn diverging(t: f64) -> RGBColor {
    let t = t.clamp(-1.0, 1.0);
    let mix = |a: f64, b: f64, s: f64| (a + (b - a) * s).round() as u8;
    if t >= 0.0 {
        RGBColor(mix(255.0, 178.0, t), mix(255.0, 24.0, t), mix(255.0, 43.0, t))
    } else {
        RGBColor(mix(255.0, 33.0, -t), mix(255.0, 102.0, -t), mix(255.0, 172.0, -t))
    }
}

/// An image as coloured cells filling `area` under a caption; values are
/// divided by `scale` (symmetric about 0) before the diverging colour map.
pub fn draw_heatmap<DB: DrawingBackend>(
    area: &DrawingArea<DB, plotters::coord::Shift>,
    caption: &str,
    image: ndarray::ArrayView2<'_, f64>,
    scale: f64,
) -> Result<()>
where
    DB::ErrorType: 'static,
{
    let err = |e: DrawingAreaErrorKind<DB::ErrorType>| anyhow!("cannot draw plot: {e:?}");
    let (rows, cols) = image.dim();
    let (w, h) = area.dim_in_pixel();
    let title_h = 22u32;
    area.draw(&Text::new(caption.to_string(), (4, 2), ("sans-serif", 15))).map_err(err)?;
    let cell = (((w.saturating_sub(8)) as f64 / cols as f64).min((h.saturating_sub(title_h + 4)) as f64 / rows as f64))
        .max(1.0);
    let x0 = ((w as f64 - cell * cols as f64) / 2.0).max(0.0);
    let y0 = title_h as f64;
    let scale = if scale > 0.0 && scale.is_finite() { scale } else { 1.0 };
    for ((i, j), &v) in image.indexed_iter() {
        let (a, b) = ((x0 + j as f64 * cell) as i32, (y0 + i as f64 * cell) as i32);
        let (c, d) = ((x0 + (j + 1) as f64 * cell) as i32, (y0 + (i + 1) as f64 * cell) as i32);
        area.draw(&Rectangle::new([(a, b), (c, d)], diverging(v / scale).filled())).map_err(err)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tick_labels_drop_the_sign_of_a_rounded_zero() {
        assert_eq!(fixed_tick(-1e-17, 2), "0.00");
        assert_eq!(fixed_tick(-0.0, 3), "0.000");
        assert_eq!(fixed_tick(-0.004, 2), "0.00");
        assert_eq!(fixed_tick(-0.006, 2), "-0.01");
        assert_eq!(fixed_tick(-120.0, 0), "-120");
        assert_eq!(fixed_tick(0.25, 2), "0.25");
    }

    /// Rows of the pixels of colour `c` in an RGB buffer `w` wide.
    fn rows_of(buffer: &[u8], w: usize, c: RGBColor) -> Vec<usize> {
        buffer.chunks(3).enumerate().filter(|(_, p)| p == &[c.0, c.1, c.2]).map(|(i, _)| i / w).collect()
    }

    /// Rows drawn by a zigzag of `points` alternating between `lo` and `hi`
    /// with stroke `width`, and the rows of `hi` and `lo`.
    fn zigzag_rows(points: usize, width: u32, lo: f64, hi: f64) -> (usize, usize, usize, usize) {
        let (w, h) = (600usize, 400usize);
        let zigzag: Vec<(f64, f64)> =
            (0..points).map(|i| (i as f64 * 3.0 / points as f64, if i % 2 == 0 { lo } else { hi })).collect();
        let red = RGBColor(255, 0, 0);
        let mut buffer = vec![255u8; w * h * 3];
        let (top, bottom) = {
            let root = BitMapBackend::with_buffer(&mut buffer, (w as u32, h as u32)).into_drawing_area();
            let mut chart = ChartBuilder::on(&root).margin(20).build_cartesian_2d(0.0..3.0, -3.0..3.0).unwrap();
            chart.draw_series(LineSeries::new(zigzag, red.stroke_width(width))).unwrap();
            let top = chart.backend_coord(&(1.0, hi)).1 as usize;
            let bottom = chart.backend_coord(&(1.0, lo)).1 as usize;
            root.present().unwrap();
            (top, bottom)
        };
        let rows = rows_of(&buffer, w, red);
        (*rows.iter().min().unwrap(), *rows.iter().max().unwrap(), top, bottom)
    }

    /// A curve with sharp corners (a jagged learned psi within [-1.36, 1.87])
    /// is drawn within its values' rows, plus the line width: no stroke
    /// overshoots past the data. Thick mitred strokes do, which is why data
    /// curves are one pixel wide.
    #[test]
    fn curves_with_sharp_corners_stay_within_the_data() {
        let (lo, hi) = (-1.36, 1.87);
        for points in [60, 300, 1200] {
            let (min, max, top, bottom) = zigzag_rows(points, DATA_STROKE, lo, hi);
            let stroke = DATA_STROKE as usize;
            assert!(
                min + stroke >= top && max <= bottom + stroke,
                "{points} points: drawn rows {min}..={max}, data rows {top}..={bottom}"
            );
        }
        let (min, max, top, bottom) = zigzag_rows(1200, 2, lo, hi);
        assert!(min + 10 < top || max > bottom + 10, "a 2-pixel stroke: rows {min}..={max}, data {top}..={bottom}");
    }

    /// Log ticks read as numbers; the legend goes to the corner without data.
    #[test]
    fn log_ticks_read_as_numbers_and_legends_avoid_the_data() {
        assert_eq!(log_tick(-3.0), "1e-3");
        assert_eq!(log_tick(0.5), "3.16e0");
        // gamma = 0 sits on a whole decade, so a tick (labelled 0) marks it
        assert_eq!(zero_tick(7.42e-4), -5.0);
        assert_eq!(zero_tick(1e-3), -4.0);
        // data filling the upper half: the legend goes below
        let upper = (0..100).map(|i| (i as f64 / 100.0, 0.8 + 0.1 * (i % 2) as f64));
        assert!(matches!(emptiest_corner(upper, (0.0, 1.0), (0.0, 1.0), 0.35), (SeriesLabelPosition::LowerRight, 0)));
        let right_top = (0..100).map(|i| (0.7 + i as f64 / 400.0, 0.9));
        assert!(matches!(
            emptiest_corner(right_top, (0.0, 1.0), (0.0, 1.0), 0.35),
            (SeriesLabelPosition::UpperLeft, 0)
        ));
        // data in every corner (a peak at each end, a floor at 0): the top is
        // raised until the legend's corner holds no data
        let everywhere: Vec<(f64, f64)> =
            (0..=100).map(|i| (i as f64 / 100.0, if (5..=95).contains(&i) { 0.0 } else { 1.0 })).collect();
        assert!(emptiest_corner(everywhere.iter().copied(), (0.0, 1.0), (0.0, 1.0), 0.4).1 > 0);
        let ((lo, hi), corner) = legend_room(&everywhere, (0.0, 1.0), (0.0, 1.0), 10, 400);
        assert!(lo == 0.0 && hi > 1.0);
        let height = legend_height(10, 400);
        assert_eq!(emptiest_corner(everywhere.iter().copied(), (0.0, 1.0), (lo, hi), height).1, 0);
        assert!(matches!(corner, SeriesLabelPosition::UpperRight | SeriesLabelPosition::UpperLeft));
    }
}
