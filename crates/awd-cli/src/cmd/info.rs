//! `awd wavelets`, `awd filters`, `awd wavefun`, `awd distance`.

use anyhow::Result;
use awd::distance::wavelet_distance;
use awd::io::write_json_atomic;
use awd::wavelet::builtin_wavelets;

use super::wavelet_arg;
use crate::args::{DistanceArgs, FiltersArgs, WavefunArgs, WaveletsArgs};
use crate::plot::plot_wavefun;

/// List the built-in wavelets.
pub fn wavelets(args: &WaveletsArgs) -> Result<()> {
    let list = builtin_wavelets();
    if args.json {
        super::emit(&serde_json::to_string_pretty(&list)?)?;
    } else {
        for w in list {
            super::emit(w.name)?;
        }
    }
    Ok(())
}

/// Print the four filters of a wavelet as JSON.
pub fn filters(args: &FiltersArgs) -> Result<()> {
    let w = wavelet_arg(&args.wavelet)?;
    let out = serde_json::json!({
        "name": w.name,
        "filter_length": w.filter_len(),
        "dec_lo": w.dec_lo,
        "dec_hi": w.dec_hi,
        "rec_lo": w.rec_lo,
        "rec_hi": w.rec_hi,
    });
    super::emit(&serde_json::to_string_pretty(&out)?)?;
    Ok(())
}

/// Write phi, psi and x as JSON (and optionally a plot).
pub fn wavefun(args: &WavefunArgs) -> Result<()> {
    let w = wavelet_arg(&args.wavelet)?;
    let wf = awd::wavefun::wavefun(&w, args.level)?;
    if let Some(png) = &args.plot {
        plot_wavefun(png, &w.name, args.level, &wf)?;
    }
    write_json_atomic(&args.output, &wf)?;
    let plot = args.plot.as_ref().map(|p| format!(" and {}", p.display())).unwrap_or_default();
    eprintln!("awd: wavefun: phi and psi of {} at level {}; wrote {}{plot}", w.name, args.level, args.output.display());
    Ok(())
}

/// Print the distance between two wavelets' psi.
pub fn distance(args: &DistanceArgs) -> Result<()> {
    let a = wavelet_arg(&args.wavelet)?;
    let b = wavelet_arg(&args.reference)?;
    let d = wavelet_distance(&a, &b, args.level)?;
    let out = serde_json::json!({
        "wavelet": a.name,
        "reference": b.name,
        "level": args.level,
        "distance": d.value,
        "shift": d.shift,
        "flipped": d.flipped,
    });
    super::emit(&serde_json::to_string_pretty(&out)?)?;
    Ok(())
}
