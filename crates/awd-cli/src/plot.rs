//! PNG plots with an embedded font (DejaVu Sans), so text renders the same on
//! every machine and no system font library is needed.

use std::path::Path;
use std::sync::Once;

use anyhow::{anyhow, Context, Result};
use awd_core::wavefun::WaveFun;
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
    register_fonts();
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent).with_context(|| format!("{}: cannot create folder", path.display()))?;
    }
    let tmp = path.with_file_name(format!(
        ".{}.tmp-{}.png",
        path.file_name().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default(),
        std::process::id()
    ));
    let result = draw_wavefun(&tmp, name, level, wf)
        .and_then(|_| std::fs::rename(&tmp, path).with_context(|| format!("{}: cannot write", path.display())));
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

fn draw_wavefun(path: &Path, name: &str, level: usize, wf: &WaveFun) -> Result<()> {
    let err = plot_err(path);
    let root = BitMapBackend::new(path, (1000, 600)).into_drawing_area();
    root.fill(&WHITE).map_err(&err)?;
    let x_max = wf.x.last().copied().unwrap_or(1.0);
    let (lo, hi) =
        wf.phi.iter().chain(&wf.psi).fold((f64::INFINITY, f64::NEG_INFINITY), |(l, h), &v| (l.min(v), h.max(v)));
    let pad = 0.08 * (hi - lo).max(1e-9);
    let mut chart = ChartBuilder::on(&root)
        .caption(format!("{name}: scaling function φ and wavelet ψ (cascade level {level})"), ("sans-serif", 26))
        .margin(20)
        .x_label_area_size(50)
        .y_label_area_size(70)
        .build_cartesian_2d(0.0..x_max, (lo - pad)..(hi + pad))
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
        .draw_series(LineSeries::new(wf.x.iter().copied().zip(wf.phi.iter().copied()), blue.stroke_width(2)))
        .map_err(&err)?
        .label("φ (scaling function)")
        .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 24, y)], blue.stroke_width(3)));
    chart
        .draw_series(LineSeries::new(wf.x.iter().copied().zip(wf.psi.iter().copied()), orange.stroke_width(2)))
        .map_err(&err)?
        .label("ψ (wavelet)")
        .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 24, y)], orange.stroke_width(3)));
    chart
        .configure_series_labels()
        .label_font(("sans-serif", 20))
        .background_style(WHITE.mix(0.9))
        .border_style(BLACK)
        .position(SeriesLabelPosition::UpperRight)
        .draw()
        .map_err(&err)?;
    root.present().map_err(&err)?;
    Ok(())
}
