//! `awd dwt` and `awd idwt`: files in, files out, numerics in the core.

use std::path::Path;

use anyhow::{bail, Context, Result};
use awd::dwt::{boundary_level_warning, Coeffs1d, Coeffs2d, Plan1d, Plan2d};
use awd::io::{
    coeff_format, npy_is_float32, read_coeffs, read_npy_f64, read_npy_rows_f64, read_npy_shape, read_npz_typed,
    shape_string, write_coeffs, write_npy_streamed, CoeffFormat, CoeffValue,
};
use awd::{check_finite, Wavelet};
use ndarray::{ArrayD, ArrayView2, ArrayView3, ArrayViewD, Axis, Ix2, Ix3, IxDyn, Slice};

use super::wavelet_arg;
use crate::args::{DwtArgs, IdwtArgs};

/// PyWavelets' warning for levels above `dwt_max_level` (unless
/// `--force-levels` says the user knows).
fn warn_boundary_levels(args: &DwtArgs, length: usize, wavelet: &Wavelet) {
    if let Some(w) = boundary_level_warning(length, wavelet.dec_lo.len(), args.levels) {
        if !args.force_levels {
            eprintln!("awd: warning: {}: {w}; --force-levels silences this", args.input.display());
        }
    }
}

/// Values of input (or output) transformed per block: the transforms stream
/// through blocks of rows, so memory holds the coefficients and one block.
const BLOCK_VALUES: usize = 1 << 18;

/// Forward multilevel transform of a `.npy` file, block of rows by block of
/// rows (the input is read through a map, block by block).
pub fn dwt(args: &DwtArgs) -> Result<()> {
    let wavelet = wavelet_arg(&args.wavelet)?;
    coeff_format(&args.output)?; // fail before any work on a bad extension
    let input = args.input.as_path();
    let shape = read_npy_shape(input)?;
    let (single, n) = match (args.two_d, shape.len()) {
        (false, 1) | (true, 2) => (true, 1),
        (false, 2) | (true, 3) => (false, shape[0]),
        (false, _) => bail!(
            "{}: expected a signal (L,) or a batch of signals (n, L), got shape {}; for images pass --2d",
            input.display(),
            shape_string(&shape)
        ),
        (true, _) => bail!(
            "{}: expected an image (H, W) or a batch of images (n, H, W) with --2d, got shape {}",
            input.display(),
            shape_string(&shape)
        ),
    };
    let item: Vec<usize> = if single { shape.clone() } else { shape[1..].to_vec() };
    let at = |e: awd::CoreError| anyhow::Error::from(e).context(format!("{}", input.display()));
    let block = (BLOCK_VALUES / item.iter().product::<usize>().max(1)).max(1);
    let plan1 = if args.two_d {
        warn_boundary_levels(args, item[0].min(item[1]), &wavelet);
        None
    } else {
        warn_boundary_levels(args, item[0], &wavelet);
        Some(Plan1d::with_boundary_levels(item[0], &wavelet, args.mode, args.levels).map_err(at)?)
    };
    let plan2 = match args.two_d {
        true => Some(Plan2d::with_boundary_levels((item[0], item[1]), &wavelet, args.mode, args.levels).map_err(at)?),
        false => None,
    };
    // float32 files give float32 coefficients computed in float32, as pywt
    // does (1-D and 2-D)
    let float32 = npy_is_float32(input)?;
    let read_block = |r: std::ops::Range<usize>| -> Result<ArrayD<f64>> {
        let x = if single { read_npy_f64(input)?.insert_axis(Axis(0)) } else { read_npy_rows_f64(input, r.clone())?.0 };
        check_block_finite(x.view(), r.start, single).with_context(|| format!("{}", input.display()))?;
        Ok(x)
    };
    let wavedec2_named = |x: &ArrayD<f64>| -> Result<Vec<(String, ArrayD<f64>)>> {
        let plan = plan2.as_ref().expect("a 2-D plan");
        Ok(named_2d(plan, plan.wavedec2(x.view().into_dimensionality::<Ix3>()?)?.data.view()))
    };
    if float32 {
        let outputs = collect_blocks(n, block, |r| {
            // the float32 file's values, widened exactly when read
            let x = read_block(r)?.mapv(|v| v as f32);
            Ok(match (&plan1, &plan2) {
                (Some(plan), _) => named_1d(plan, plan.wavedec_f32(x.view().into_dimensionality()?)?.view()),
                (None, Some(plan)) => named_2d(plan, plan.wavedec2_f32(x.view().into_dimensionality()?)?.view()),
                (None, None) => unreachable!("a 1-D or a 2-D plan"),
            })
        })?;
        return write_outputs(&args.output, &outputs, single, &wavelet);
    }
    let outputs = collect_blocks(n, block, |r| {
        let x = read_block(r)?;
        match &plan1 {
            Some(plan) => Ok(named_1d(plan, plan.wavedec(x.view().into_dimensionality::<Ix2>()?)?.data.view())),
            None => wavedec2_named(&x),
        }
    })?;
    write_outputs(&args.output, &outputs, single, &wavelet)
}

/// Named coefficient arrays of the `n` inputs, block of rows by block of
/// rows: `block_fn(rows)` transforms one block; the outputs are allocated
/// at the first block.
fn collect_blocks<T: Clone + Default>(
    n: usize,
    block: usize,
    mut block_fn: impl FnMut(std::ops::Range<usize>) -> Result<Vec<(String, ArrayD<T>)>>,
) -> Result<Vec<(String, ArrayD<T>)>> {
    let mut outputs: Vec<(String, ArrayD<T>)> = Vec::new();
    let mut start = 0;
    loop {
        let end = (start + block).min(n);
        let named = block_fn(start..end)?;
        if outputs.is_empty() {
            outputs = named
                .iter()
                .map(|(name, a)| {
                    let mut full = a.shape().to_vec();
                    full[0] = n;
                    (name.clone(), ArrayD::from_elem(IxDyn(&full), T::default()))
                })
                .collect();
        }
        for ((_, out), (_, part)) in outputs.iter_mut().zip(&named) {
            out.slice_axis_mut(Axis(0), Slice::from(start..end)).assign(part);
        }
        start = end;
        if start >= n {
            return Ok(outputs);
        }
    }
}

/// Packed 1-D coefficient rows split into pywt's named arrays `a, dJ, ..., d1`.
fn named_1d<T: Clone>(plan: &Plan1d, packed: ArrayView2<'_, T>) -> Vec<(String, ArrayD<T>)> {
    let (j, offs) = (plan.levels(), plan.offsets());
    (0..=j)
        .map(|k| {
            let name = if k == 0 { "a".to_string() } else { format!("d{}", j - k + 1) };
            (name, packed.slice_axis(Axis(1), Slice::from(offs[k]..offs[k + 1])).to_owned().into_dyn())
        })
        .collect()
}

/// Named 2-D coefficient arrays `a, h_J, v_J, d_J, …, d_1` of packed rows
/// (`(n, h, w)` each; index 1 is the finest level).
fn named_2d<T: Clone>(plan: &Plan2d, packed: ArrayView2<'_, T>) -> Vec<(String, ArrayD<T>)> {
    let (j, offs, shapes) = (plan.levels(), plan.offsets(), plan.shapes());
    (0..1 + 3 * j)
        .map(|i| {
            let (name, (h, w)) = match i {
                0 => ("a".to_string(), shapes[0]),
                _ => {
                    let k = 1 + (i - 1) / 3; // pywt index: coarsest level first
                    (format!("{}{}", ["h", "v", "d"][(i - 1) % 3], j - k + 1), shapes[k])
                }
            };
            let part = packed.slice_axis(Axis(1), Slice::from(offs[i]..offs[i + 1]));
            let arr = part.to_owned().into_shape_with_order((packed.nrows(), h, w)).expect("h * w values per image");
            (name, arr.into_dyn())
        })
        .collect()
}

/// Warn about non-finite results, then write the coefficient file (a
/// single signal or image without its batch axis).
fn write_outputs<T: CoeffValue + Into<f64>>(
    output: &Path,
    outputs: &[(String, ArrayD<T>)],
    single: bool,
    wavelet: &Wavelet,
) -> Result<()> {
    warn_non_finite(outputs, wavelet);
    let views: Vec<(String, ArrayViewD<'_, T>)> = outputs
        .iter()
        .map(|(name, a)| (name.clone(), if single { a.index_axis(Axis(0), 0) } else { a.view() }))
        .collect();
    write_coeffs(output, &views)?;
    Ok(())
}

/// Warn when a finite input gave coefficients that are not finite (taps so
/// large that the sums overflow float64).
fn warn_non_finite<T: Copy + Into<f64>>(arrays: &[(String, ArrayD<T>)], wavelet: &Wavelet) {
    let bad: usize = arrays.iter().map(|(_, a)| a.iter().filter(|&&v| !v.into().is_finite()).count()).sum();
    if bad > 0 {
        let total: usize = arrays.iter().map(|(_, a)| a.len()).sum();
        let largest = wavelet.dec_lo.iter().fold(0.0f64, |m, v| m.max(v.abs()));
        eprintln!(
            "awd: warning: {bad} of the {total} coefficients are not finite although the input is: the filter's \
             taps (largest |h| = {largest:e}) overflow float64; an orthogonal wavelet's taps lie within [-1, 1]"
        );
    }
}

/// `check_finite` of a block whose first row is row `first` of the file,
/// naming the index in the file.
fn check_block_finite(x: ArrayViewD<'_, f64>, first: usize, single: bool) -> Result<(), awd::CoreError> {
    if check_finite(x.view()).is_ok() {
        return Ok(());
    }
    let (pos, v) = x.indexed_iter().find(|(_, v)| !v.is_finite()).expect("check_finite found one");
    let mut idx: Vec<usize> = ndarray::Dimension::slice(&pos).to_vec();
    idx[0] += first;
    if single {
        idx.remove(0);
    }
    Err(awd::CoreError::NonFinite { value: *v, location: format!("index {idx:?}") })
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
    // a .npz of float32 arrays gives a float32 signal, as pywt does
    let (mut arrays, float32) = match coeff_format(path)? {
        CoeffFormat::Npz => read_npz_typed(path)?,
        CoeffFormat::Json => (read_coeffs(path)?, false),
    };
    for (name, a) in &arrays {
        check_finite(a.view()).with_context(|| format!("{}: array '{name}'", path.display()))?;
    }
    let a_pos = arrays
        .iter()
        .position(|(k, _)| k == "a")
        .with_context(|| format!("{}: no approximation array 'a'", path.display()))?;
    let approx = arrays.remove(a_pos).1;
    let j = arrays.iter().filter(|(k, _)| k.starts_with('d')).count();
    if args.two_d {
        let h = take_levels(path, &mut arrays, "h", j)?;
        let v = take_levels(path, &mut arrays, "v", j)?;
        let d = take_levels(path, &mut arrays, "d", j)?;
        reject_leftovers(path, &arrays, "a, h1..hJ, v1..vJ, d1..dJ")?;
        idwt_2d(args, &wavelet, approx, h, v, d, float32)
    } else {
        if arrays.iter().any(|(k, _)| k.starts_with('h')) {
            bail!("{}: holds 2-D coefficients (h1, v1, ...); pass --2d", path.display());
        }
        let d = take_levels(path, &mut arrays, "d", j)?;
        reject_leftovers(path, &arrays, "a, d1..dJ")?;
        idwt_1d(args, &wavelet, approx, d, float32)
    }
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

/// The inverse of signals' coefficients, written to the output block of
/// rows by block of rows.
fn idwt_1d(
    args: &IdwtArgs,
    wavelet: &Wavelet,
    approx: ArrayD<f64>,
    details: Vec<ArrayD<f64>>,
    float32: bool,
) -> Result<()> {
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
    let rows = |r: std::ops::Range<usize>| -> Vec<ArrayView2<'_, f64>> {
        mats.iter().map(|m| m.slice_axis(Axis(0), Slice::from(r.clone()))).collect()
    };
    let n = mats[0].nrows();
    same_count(path, mats.iter().map(|m| m.nrows()))?;
    // every other check (lengths) on a first row, before anything is written
    let coeff_lens =
        Coeffs1d::from_arrays(&rows(0..n.min(1))).with_context(|| format!("{}", path.display()))?.coeff_lens().to_vec();
    let plan =
        Plan1d::from_coeff_lens(&coeff_lens, wavelet, args.mode).with_context(|| format!("{}", path.display()))?;
    let len = plan.recon_len();
    let shape = if single { vec![len] } else { vec![n, len] };
    let block = (BLOCK_VALUES / len.max(1)).max(1);
    if float32 {
        // the arrays were float32, so converting back is exact; computed in float32
        return Ok(write_npy_streamed::<f32>(&args.output, &shape, |sink| {
            for start in (0..n).step_by(block) {
                let coeffs = Coeffs1d::from_arrays(&rows(start..(start + block).min(n)))?;
                let out = plan.waverec_f32(coeffs.data.mapv(|v| v as f32).view())?;
                sink(out.as_slice().expect("a new array is contiguous"))?;
            }
            Ok(())
        })?);
    }
    write_npy_streamed::<f64>(&args.output, &shape, |sink| {
        for start in (0..n).step_by(block) {
            let coeffs = Coeffs1d::from_arrays(&rows(start..(start + block).min(n)))?;
            let out = plan.waverec(&coeffs)?;
            sink(out.as_slice().expect("a new array is contiguous"))?;
        }
        Ok(())
    })?;
    Ok(())
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

/// Every coefficient array holds as many signals or images as 'a'.
fn same_count(path: &Path, mut counts: impl Iterator<Item = usize>) -> Result<()> {
    let first = counts.next().unwrap_or(0);
    if let Some(other) = counts.find(|&c| c != first) {
        bail!("{}: 'a' holds {first} signals or images but another array holds {other}", path.display());
    }
    Ok(())
}

/// Rows `r` of `a`.
fn cut<'a>(a: &'a ndarray::Array3<f64>, r: &std::ops::Range<usize>) -> ArrayView3<'a, f64> {
    a.slice_axis(Axis(0), Slice::from(r.clone()))
}

/// The inverse of images' coefficients, written to the output block of
/// images by block of images.
fn idwt_2d(
    args: &IdwtArgs,
    wavelet: &Wavelet,
    approx: ArrayD<f64>,
    h: Vec<ArrayD<f64>>,
    v: Vec<ArrayD<f64>>,
    d: Vec<ArrayD<f64>>,
    float32: bool,
) -> Result<()> {
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
    let block_of = |r: std::ops::Range<usize>| -> Result<Coeffs2d, awd::CoreError> {
        let views: Vec<[ArrayView3<'_, f64>; 3]> =
            levels.iter().map(|l| [cut(&l[0], &r), cut(&l[1], &r), cut(&l[2], &r)]).collect();
        Coeffs2d::from_arrays(cut(&a3, &r), &views)
    };
    let n = a3.dim().0;
    same_count(path, std::iter::once(n).chain(levels.iter().flatten().map(|l| l.dim().0)))?;
    // every other check (shapes) on a first image, before anything is written
    let shapes = block_of(0..n.min(1)).with_context(|| format!("{}", path.display()))?.shapes().to_vec();
    let plan = Plan2d::from_shapes(&shapes, wavelet, args.mode).with_context(|| format!("{}", path.display()))?;
    let (h, w) = plan.recon_shape();
    let shape = if single { vec![h, w] } else { vec![n, h, w] };
    let block = (BLOCK_VALUES / (h * w).max(1)).max(1);
    if float32 {
        // computed in float32 (the file's values, widened exactly when read)
        return Ok(write_npy_streamed::<f32>(&args.output, &shape, |sink| {
            for start in (0..n).step_by(block) {
                let packed = block_of(start..(start + block).min(n))?.data.mapv(|v| v as f32);
                let out = plan.waverec2_f32(packed.view())?;
                sink(out.as_slice().expect("a new array is contiguous"))?;
            }
            Ok(())
        })?);
    }
    write_npy_streamed::<f64>(&args.output, &shape, |sink| {
        for start in (0..n).step_by(block) {
            let out = plan.waverec2(&block_of(start..(start + block).min(n))?)?;
            sink(out.as_slice().expect("a new array is contiguous"))?;
        }
        Ok(())
    })?;
    Ok(())
}
