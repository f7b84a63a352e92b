//! `awd dwt` and `awd idwt`: files in, files out, numerics in the core.

use std::path::Path;

use anyhow::{bail, Context, Result};
use awd::dwt::{boundary_level_warning, Coeffs1d, Coeffs2d, Plan1d, Plan2d};
use awd::io::{read_npy_f64, shape_string, write_npy};
use awd::{check_finite, Wavelet};
use ndarray::{ArrayD, ArrayView2, ArrayView3, Ix2, Ix3};

use super::wavelet_arg;
use crate::args::{DwtArgs, IdwtArgs};
use crate::coeff_files::{format_of, read_coeffs, write_coeffs};

/// PyWavelets' warning for levels above `dwt_max_level` (unless
/// `--force-levels` says the user knows).
fn warn_boundary_levels(args: &DwtArgs, length: usize, wavelet: &Wavelet) {
    if let Some(w) = boundary_level_warning(length, wavelet.dec_lo.len(), args.levels) {
        if !args.force_levels {
            eprintln!("awd: warning: {}: {w}; --force-levels silences this", args.input.display());
        }
    }
}

/// Forward multilevel transform of a `.npy` file.
pub fn dwt(args: &DwtArgs) -> Result<()> {
    let wavelet = wavelet_arg(&args.wavelet)?;
    format_of(&args.output)?; // fail before any work on a bad extension
    let x = read_npy_f64(&args.input)?;
    check_finite(x.view()).with_context(|| format!("{}", args.input.display()))?;
    let shape = x.shape().to_vec();
    let arrays = if args.two_d { dwt_2d(args, &wavelet, x, &shape)? } else { dwt_1d(args, &wavelet, x, &shape)? };
    warn_non_finite(&arrays, &wavelet);
    write_coeffs(&args.output, &arrays)
}

/// Warn when a finite input gave coefficients that are not finite (taps so
/// large that the sums overflow float64).
fn warn_non_finite(arrays: &[(String, ArrayD<f64>)], wavelet: &Wavelet) {
    let bad: usize = arrays.iter().map(|(_, a)| a.iter().filter(|v| !v.is_finite()).count()).sum();
    if bad > 0 {
        let total: usize = arrays.iter().map(|(_, a)| a.len()).sum();
        let largest = wavelet.dec_lo.iter().fold(0.0f64, |m, v| m.max(v.abs()));
        eprintln!(
            "awd: warning: {bad} of the {total} coefficients are not finite although the input is: the filter's \
             taps (largest |h| = {largest:e}) overflow float64; an orthogonal wavelet's taps lie within [-1, 1]"
        );
    }
}

fn dwt_1d(args: &DwtArgs, wavelet: &Wavelet, x: ArrayD<f64>, shape: &[usize]) -> Result<Vec<(String, ArrayD<f64>)>> {
    let single = shape.len() == 1;
    let x2 = match shape.len() {
        1 => x.into_shape_with_order((1, shape[0]))?.into_dyn(),
        2 => x,
        _ => bail!(
            "{}: expected a signal (L,) or a batch of signals (n, L), got shape {}; for images pass --2d",
            args.input.display(),
            shape_string(shape)
        ),
    };
    let x2 = x2.into_dimensionality::<Ix2>()?;
    let n = x2.ncols();
    warn_boundary_levels(args, n, wavelet);
    let plan = Plan1d::with_boundary_levels(n, wavelet, args.mode, args.levels)
        .with_context(|| format!("{}", args.input.display()))?;
    let c = plan.wavedec(x2.view())?;
    let j = plan.levels();
    let mut out = Vec::new();
    for k in 0..=j {
        let name = if k == 0 { "a".to_string() } else { format!("d{}", j - k + 1) };
        let a = c.array(k).to_owned();
        let a = if single { a.index_axis_move(ndarray::Axis(0), 0).into_dyn() } else { a.into_dyn() };
        out.push((name, a));
    }
    Ok(out)
}

fn dwt_2d(args: &DwtArgs, wavelet: &Wavelet, x: ArrayD<f64>, shape: &[usize]) -> Result<Vec<(String, ArrayD<f64>)>> {
    let single = shape.len() == 2;
    let x3 = match shape.len() {
        2 => x.into_shape_with_order((1, shape[0], shape[1]))?.into_dyn(),
        3 => x,
        _ => bail!(
            "{}: expected an image (H, W) or a batch of images (n, H, W) with --2d, got shape {}",
            args.input.display(),
            shape_string(shape)
        ),
    };
    let x3 = x3.into_dimensionality::<Ix3>()?;
    let (_, h, w) = x3.dim();
    warn_boundary_levels(args, h.min(w), wavelet);
    let plan = Plan2d::with_boundary_levels((h, w), wavelet, args.mode, args.levels)
        .with_context(|| format!("{}", args.input.display()))?;
    let c = plan.wavedec2(x3.view())?;
    let squeeze = |a: ArrayView3<'_, f64>| -> ArrayD<f64> {
        if single {
            a.index_axis(ndarray::Axis(0), 0).to_owned().into_dyn()
        } else {
            a.to_owned().into_dyn()
        }
    };
    let mut out = vec![("a".to_string(), squeeze(c.approx()))];
    for level in 1..=plan.levels() {
        let [ch, cv, cd] = c.detail(level);
        out.push((format!("h{level}"), squeeze(ch)));
        out.push((format!("v{level}"), squeeze(cv)));
        out.push((format!("d{level}"), squeeze(cd)));
    }
    Ok(out)
}

/// Take the arrays named `prefix1..prefixJ` out of `arrays`.
fn take_levels(
    path: &Path,
    arrays: &mut Vec<(String, ArrayD<f64>)>,
    prefix: &str,
    j: usize,
) -> Result<Vec<ArrayD<f64>>> {
    (1..=j)
        .map(|l| {
            let name = format!("{prefix}{l}");
            let pos = arrays.iter().position(|(k, _)| *k == name).with_context(|| {
                format!("{}: array '{name}' is missing (levels run 1..={j}, 1 = finest)", path.display())
            })?;
            Ok(arrays.remove(pos).1)
        })
        .collect()
}

/// Inverse multilevel transform of a coefficient file.
pub fn idwt(args: &IdwtArgs) -> Result<()> {
    let wavelet = wavelet_arg(&args.wavelet)?;
    let path = args.input.as_path();
    let mut arrays = read_coeffs(path)?;
    for (name, a) in &arrays {
        check_finite(a.view()).with_context(|| format!("{}: array '{name}'", path.display()))?;
    }
    let a_pos = arrays
        .iter()
        .position(|(k, _)| k == "a")
        .with_context(|| format!("{}: no approximation array 'a'", path.display()))?;
    let approx = arrays.remove(a_pos).1;
    let j = arrays.iter().filter(|(k, _)| k.starts_with('d')).count();
    let out = if args.two_d {
        let h = take_levels(path, &mut arrays, "h", j)?;
        let v = take_levels(path, &mut arrays, "v", j)?;
        let d = take_levels(path, &mut arrays, "d", j)?;
        reject_leftovers(path, &arrays, "a, h1..hJ, v1..vJ, d1..dJ")?;
        idwt_2d(args, &wavelet, approx, h, v, d)?
    } else {
        if arrays.iter().any(|(k, _)| k.starts_with('h')) {
            bail!("{}: holds 2-D coefficients (h1, v1, ...); pass --2d", path.display());
        }
        let d = take_levels(path, &mut arrays, "d", j)?;
        reject_leftovers(path, &arrays, "a, d1..dJ")?;
        idwt_1d(args, &wavelet, approx, d)?
    };
    write_npy(&args.output, out.view())?;
    Ok(())
}

fn reject_leftovers(path: &Path, arrays: &[(String, ArrayD<f64>)], expected: &str) -> Result<()> {
    if let Some((name, _)) = arrays.first() {
        bail!("{}: unexpected array '{name}'; expected {expected}", path.display());
    }
    Ok(())
}

fn as_batch2(path: &Path, name: &str, a: ArrayD<f64>, single: bool) -> Result<ndarray::Array2<f64>> {
    let want = if single { 1 } else { 2 };
    if a.ndim() != want {
        bail!(
            "{}: array '{name}' has shape {}, but 'a' is {}-D; all arrays need the same rank",
            path.display(),
            shape_string(a.shape()),
            want
        );
    }
    let a = if single { a.insert_axis(ndarray::Axis(0)) } else { a };
    Ok(a.into_dimensionality::<Ix2>()?)
}

fn idwt_1d(args: &IdwtArgs, wavelet: &Wavelet, approx: ArrayD<f64>, details: Vec<ArrayD<f64>>) -> Result<ArrayD<f64>> {
    let path = args.input.as_path();
    let single = match approx.ndim() {
        1 => true,
        2 => false,
        _ => bail!("{}: 'a' has shape {}; expected (len,) or (n, len)", path.display(), shape_string(approx.shape())),
    };
    let mut mats = vec![as_batch2(path, "a", approx, single)?];
    // pywt order: a, dJ, ..., d1
    for (l, d) in details.into_iter().enumerate().rev() {
        mats.push(as_batch2(path, &format!("d{}", l + 1), d, single)?);
    }
    let views: Vec<ArrayView2<'_, f64>> = mats.iter().map(|m| m.view()).collect();
    let coeffs = Coeffs1d::from_arrays(&views).with_context(|| format!("{}", path.display()))?;
    let plan = Plan1d::from_coeff_lens(coeffs.coeff_lens(), wavelet, args.mode)
        .with_context(|| format!("{}", path.display()))?;
    let out = plan.waverec(&coeffs)?;
    Ok(if single { out.index_axis_move(ndarray::Axis(0), 0).into_dyn() } else { out.into_dyn() })
}

fn as_batch3(path: &Path, name: &str, a: ArrayD<f64>, single: bool) -> Result<ndarray::Array3<f64>> {
    let want = if single { 2 } else { 3 };
    if a.ndim() != want {
        bail!(
            "{}: array '{name}' has shape {}, but 'a' has {} dimensions; all arrays need the same rank",
            path.display(),
            shape_string(a.shape()),
            want
        );
    }
    let a = if single { a.insert_axis(ndarray::Axis(0)) } else { a };
    Ok(a.into_dimensionality::<Ix3>()?)
}

fn idwt_2d(
    args: &IdwtArgs,
    wavelet: &Wavelet,
    approx: ArrayD<f64>,
    h: Vec<ArrayD<f64>>,
    v: Vec<ArrayD<f64>>,
    d: Vec<ArrayD<f64>>,
) -> Result<ArrayD<f64>> {
    let path = args.input.as_path();
    let single = match approx.ndim() {
        2 => true,
        3 => false,
        _ => bail!("{}: 'a' has shape {}; expected (H, W) or (n, H, W)", path.display(), shape_string(approx.shape())),
    };
    let a3 = as_batch3(path, "a", approx, single)?;
    let mut levels = Vec::new();
    for (l, ((hh, vv), dd)) in h.into_iter().zip(v).zip(d).enumerate().rev() {
        let lvl = l + 1;
        levels.push([
            as_batch3(path, &format!("h{lvl}"), hh, single)?,
            as_batch3(path, &format!("v{lvl}"), vv, single)?,
            as_batch3(path, &format!("d{lvl}"), dd, single)?,
        ]);
    }
    let views: Vec<[ArrayView3<'_, f64>; 3]> = levels.iter().map(|l| [l[0].view(), l[1].view(), l[2].view()]).collect();
    let coeffs = Coeffs2d::from_arrays(a3.view(), &views).with_context(|| format!("{}", path.display()))?;
    let plan =
        Plan2d::from_shapes(coeffs.shapes(), wavelet, args.mode).with_context(|| format!("{}", path.display()))?;
    let out = plan.waverec2(&coeffs)?;
    Ok(if single { out.index_axis_move(ndarray::Axis(0), 0).into_dyn() } else { out.into_dyn() })
}
