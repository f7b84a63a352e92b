//! pywt's `wavedec`, `waverec`, `wavedec2`, `waverec2` and `dwt_max_level`
//! over the library's batched plans: the transform axes are moved last,
//! leading axes become the batch, results are moved back.

use std::ffi::CString;

use awd::dwt::{Coeffs2d, Plan1d, Plan2d};
use awd::{Mode, Wavelet};
use ndarray::{Array2, ArrayD, ArrayView3, ArrayViewD, ArrayViewMut2, CowArray, Ix2, Ix3, IxDyn};
use numpy::{IntoPyArray, PyArray2, PyArrayMethods};
use pyo3::exceptions::PyUserWarning;
use pyo3::prelude::*;

use crate::arrays::{axis_index, to_numpy, Floats};
use crate::errors::{core_to_py, value_error};
use crate::wavelets::extract_wavelet;

/// `wavedec`'s packed result: coefficients `(batch, total)`, lengths in
/// pywt order, the leading shape, the normalised axis.
type Packed1d<'py> = (Bound<'py, PyAny>, Vec<usize>, Vec<usize>, usize);
/// `wavedec2`'s packed result: coefficients `(batch, total)`, shapes
/// `[cA_n, level n, ..., level 1]`, the leading shape, the normalised axes.
type Packed2d<'py> = (Bound<'py, PyAny>, Vec<(usize, usize)>, Vec<usize>, (usize, usize));
/// `waverec`'s rows: signals `(batch, n)`, the leading shape, the axis.
type Rows<'py> = (Bound<'py, PyAny>, Vec<usize>, usize);

fn parse_mode(mode: &str) -> PyResult<Mode> {
    mode.parse().map_err(core_to_py)
}

/// The level to use: `None` is pywt's `dwt_max_level`; above it, pywt's
/// warning (every coefficient is affected by the boundary).
fn resolve_level(py: Python<'_>, level: Option<i64>, n: usize, w: &Wavelet) -> PyResult<usize> {
    let max = awd::dwt::dwt_max_level(n, w.filter_len());
    let Some(level) = level else { return Ok(max) };
    if level < 0 {
        return Err(value_error(format!(
            "level {level} is negative; use 0 or more (None: the largest useful level, {max} here)"
        )));
    }
    let level = level as usize;
    if level > max {
        let text = format!(
            "level {level} is higher than dwt_max_level {max} for {n} samples and {} ({} taps): every \
             coefficient is affected by the boundary",
            w.name,
            w.filter_len()
        );
        let text = CString::new(text).expect("no NUL in the message");
        PyErr::warn(py, &py.get_type::<PyUserWarning>(), &text, 2)?;
    }
    Ok(level)
}

/// Axes order that moves `last` (in that order) to the end, and its inverse.
fn permutation(ndim: usize, last: &[usize]) -> (Vec<usize>, Vec<usize>) {
    let mut perm: Vec<usize> = (0..ndim).filter(|i| !last.contains(i)).collect();
    perm.extend_from_slice(last);
    let inverse = (0..ndim).map(|i| perm.iter().position(|&p| p == i).expect("a permutation")).collect();
    (perm, inverse)
}

/// `a` with `last` moved to the end, as rows `(batch, values)` in standard
/// layout, and the leading shape.
fn as_batch(a: ArrayViewD<'_, f64>, perm: &[usize], tail: usize) -> (Vec<usize>, ArrayD<f64>) {
    let (lead, rows) = as_batch_view(a, perm, tail);
    (lead, rows.into_owned())
}

/// A standard-layout copy; 2-D and 3-D go through fixed-rank iteration,
/// an order of magnitude faster than dynamic-rank iteration.
fn standard_copy<A: Clone>(v: ArrayViewD<'_, A>) -> ArrayD<A> {
    match v.ndim() {
        2 => v.into_dimensionality::<Ix2>().expect("2-D").as_standard_layout().into_owned().into_dyn(),
        3 => v.into_dimensionality::<Ix3>().expect("3-D").as_standard_layout().into_owned().into_dyn(),
        _ => v.as_standard_layout().into_owned(),
    }
}

/// [`as_batch`] without a copy when the input is already in that layout.
fn as_batch_view<'a, A: Clone>(
    a: ArrayViewD<'a, A>,
    perm: &[usize],
    tail: usize,
) -> (Vec<usize>, CowArray<'a, A, IxDyn>) {
    let moved = a.permuted_axes(IxDyn(perm));
    let lead = moved.shape()[..moved.ndim() - tail].to_vec();
    if moved.is_standard_layout() {
        (lead, CowArray::from(moved))
    } else {
        (lead, CowArray::from(standard_copy(moved)))
    }
}

/// A `(batch, ...)` result back to the caller's axes.
fn restore<'py>(
    py: Python<'py>,
    rows: ArrayD<f64>,
    lead: &[usize],
    tail: &[usize],
    inverse: &[usize],
    f32: bool,
) -> Bound<'py, PyAny> {
    let mut shape = lead.to_vec();
    shape.extend_from_slice(tail);
    let owned = if rows.is_standard_layout() { rows } else { rows.as_standard_layout().into_owned() };
    let owned = owned.into_shape_with_order(IxDyn(&shape)).expect("sizes agree");
    to_numpy(py, owned.permuted_axes(IxDyn(inverse)), f32)
}

/// The packed coefficients `(batch, total)` as one NumPy array (no copy
/// for float64); the package slices it into pywt's list as views.
fn packed_to_numpy(py: Python<'_>, packed: Array2<f64>, f32: bool) -> Bound<'_, PyAny> {
    if f32 {
        packed.mapv(|v| v as f32).into_pyarray(py).into_any()
    } else {
        packed.into_pyarray(py).into_any()
    }
}

/// pywt `wavedec`, packed: `(coefficients (batch, total), lengths in pywt
/// order, leading shape, normalised axis)`.
#[pyfunction]
#[pyo3(signature = (data, wavelet, mode = "symmetric", level = None, axis = -1))]
pub fn wavedec_packed<'py>(
    py: Python<'py>,
    data: Floats<'py>,
    wavelet: &Bound<'py, PyAny>,
    mode: &str,
    level: Option<i64>,
    axis: i64,
) -> PyResult<Packed1d<'py>> {
    let w = extract_wavelet(wavelet)?;
    let mode = parse_mode(mode)?;
    let ndim = data.shape().len();
    if ndim == 0 {
        return Err(value_error("data is a scalar; wavedec needs at least one axis of samples"));
    }
    let ax = axis_index(axis, ndim, "axis")?;
    let n = data.shape()[ax];
    let level = resolve_level(py, level, n, &w)?;
    let (perm, _) = permutation(ndim, &[ax]);
    let plan = Plan1d::with_boundary_levels(n, &w, mode, level).map_err(core_to_py)?;
    let lens = plan.coeff_lens().to_vec();
    if let Some(x32) = data.view32() {
        // float32 in, float32 out, computed in float32 (as pywt does)
        let (lead, rows) = as_batch_view(x32, &perm, 1);
        let batch: usize = lead.iter().product();
        let rows = rows.view().into_shape_with_order((batch, n)).expect("sizes agree");
        let packed = py.detach(|| plan.wavedec_f32(rows)).map_err(core_to_py)?;
        return Ok((packed.into_pyarray(py).into_any(), lens, lead, ax));
    }
    let x = data.view64();
    let (lead, rows) = as_batch_view(x.view(), &perm, 1);
    let batch: usize = lead.iter().product();
    let rows = rows.view().into_shape_with_order((batch, n)).expect("sizes agree");
    // NumPy's own allocation (large ones on huge pages: far fewer page
    // faults than a fresh Rust allocation), filled in place; the kernels
    // check finiteness as they load the input.
    // SAFETY: every element is written by `wavedec_into_checked`, or the
    // array is dropped unseen when the input holds a non-finite value.
    let out = unsafe { PyArray2::<f64>::new(py, [batch, plan.total_len()], false) };
    {
        let mut guard = out.readwrite();
        let view = guard.as_array_mut();
        py.detach(|| plan.wavedec_into_checked(rows.view(), view)).map_err(core_to_py)?;
    }
    Ok((out.into_any(), lens, lead, ax))
}

/// Largest packing buffer kept between calls (values); larger inverse
/// transforms allocate their own.
const KEPT_PACK_VALUES: usize = 1 << 23;

thread_local! {
    /// The inverse's packed coefficients, reused so that repeated calls do
    /// not fault in fresh pages.
    static PACK: std::cell::RefCell<Vec<f64>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// Run `f` on a zeroed-length buffer of `len` values (reused when small).
fn with_pack_buffer<T>(len: usize, f: impl FnOnce(&mut [f64]) -> T) -> T {
    if len > KEPT_PACK_VALUES {
        return f(&mut vec![0.0; len]);
    }
    PACK.with(|cell| {
        let mut buf = cell.borrow_mut();
        if buf.len() < len {
            buf.resize(len, 0.0);
        }
        f(&mut buf[..len])
    })
}

/// pywt `waverec`'s coefficient arrays as rows `(batch, len_k)` with
/// `axis` moved last (views where the leading axes merge), the leading
/// shape and the normalised axis; arrays that disagree are an error.
#[allow(clippy::type_complexity)]
fn coefficient_rows<'a, A: Clone>(
    views: &[ArrayViewD<'a, A>],
    axis: i64,
) -> PyResult<(Vec<usize>, usize, Vec<CowArray<'a, A, Ix2>>)> {
    let ndim = views[0].ndim();
    if ndim == 0 {
        return Err(value_error("coeffs[0] is a scalar; coefficient arrays need at least one axis"));
    }
    let ax = axis_index(axis, ndim, "axis")?;
    let (perm, _) = permutation(ndim, &[ax]);
    let mut lead = Vec::new();
    let mut rows: Vec<CowArray<'a, A, Ix2>> = Vec::with_capacity(views.len());
    for (k, v) in views.iter().enumerate() {
        if v.ndim() != ndim {
            return Err(value_error(format!(
                "coeffs[{k}] has {} dimension(s) but coeffs[0] has {ndim}; all arrays must agree except along axis {axis}",
                v.ndim()
            )));
        }
        let moved = v.clone().permuted_axes(IxDyn(&perm));
        let l = moved.shape()[..ndim - 1].to_vec();
        if k > 0 && l != lead {
            return Err(value_error(format!(
                "coeffs[{k}] has shape {:?} but coeffs[0] has {:?}; all arrays must agree except along axis {axis}",
                v.shape(),
                views[0].shape()
            )));
        }
        let batch: usize = l.iter().product();
        let len = v.shape()[ax];
        // a strided view when the leading axes merge, a copy otherwise
        let row_view = if ndim == 2 {
            CowArray::from(moved.into_dimensionality::<Ix2>().expect("2-D"))
        } else {
            match moved.clone().into_shape_with_order((batch, len)) {
                Ok(r) => CowArray::from(r),
                Err(_) => {
                    CowArray::from(standard_copy(moved).into_shape_with_order((batch, len)).expect("sizes agree"))
                }
            }
        };
        rows.push(row_view);
        lead = l;
    }
    Ok((lead, ax, rows))
}

/// pywt `waverec`, as rows: `(signals (batch, n), leading shape,
/// normalised axis)`; the package reshapes and moves the axis back.
#[pyfunction]
#[pyo3(signature = (coeffs, wavelet, mode = "symmetric", axis = -1))]
pub fn waverec_rows<'py>(
    py: Python<'py>,
    coeffs: Vec<Floats<'py>>,
    wavelet: &Bound<'py, PyAny>,
    mode: &str,
    axis: i64,
) -> PyResult<Rows<'py>> {
    let w = extract_wavelet(wavelet)?;
    let mode = parse_mode(mode)?;
    if coeffs.is_empty() {
        return Err(value_error("coeffs is empty; waverec needs [cA_n, cD_n, ..., cD_1]"));
    }
    if coeffs.iter().all(|c| c.is_f32()) {
        // float32 in, float32 out, computed in float32 (as pywt does)
        let views: Vec<_> = coeffs.iter().map(|c| c.view32().expect("float32")).collect();
        let (lead, ax, rows) = coefficient_rows(&views, axis)?;
        let lens: Vec<usize> = rows.iter().map(|r| r.ncols()).collect();
        let plan = Plan1d::from_coeff_lens(&lens, &w, mode).map_err(core_to_py)?;
        let batch: usize = lead.iter().product();
        let mut packed = Array2::<f32>::zeros((batch, plan.total_len()));
        let views: Vec<_> = rows.iter().map(|r| r.view()).collect();
        awd::dwt::pack_coeff_rows(&views, packed.view_mut());
        let out = py.detach(|| plan.waverec_f32(packed.view())).map_err(core_to_py)?;
        return Ok((out.into_pyarray(py).into_any(), lead, ax));
    }
    let views: Vec<_> = coeffs.iter().map(|c| c.view64()).collect();
    let (lead, ax, rows) = coefficient_rows(&views.iter().map(|v| v.view()).collect::<Vec<_>>(), axis)?;
    let lens: Vec<usize> = rows.iter().map(|r| r.ncols()).collect();
    let plan = Plan1d::from_coeff_lens(&lens, &w, mode).map_err(core_to_py)?;
    let batch: usize = lead.iter().product();
    let total = plan.total_len();
    // NumPy's own allocation, filled in place (see `wavedec_packed`).
    // SAFETY: `waverec_into_checked` writes every element, or the array is dropped
    // unseen when the input holds a non-finite value.
    let out = unsafe { PyArray2::<f64>::new(py, [batch, plan.recon_len()], false) };
    {
        let mut guard = out.readwrite();
        let view = guard.as_array_mut();
        py.detach(|| {
            with_pack_buffer(batch * total, |buf| {
                let mut packed = ArrayViewMut2::from_shape((batch, total), buf).expect("sizes agree");
                let views: Vec<_> = rows.iter().map(|r| r.view()).collect();
                awd::dwt::pack_coeff_rows(&views, packed.view_mut());
                plan.waverec_into_checked(packed.view(), view)
            })
        })
        .map_err(core_to_py)?;
    }
    // float32 mixed with float64 gives float64, as NumPy's promotion (and pywt) does
    Ok((out.into_any(), lead, ax))
}

fn two_axes(axes: (i64, i64), ndim: usize) -> PyResult<[usize; 2]> {
    if ndim < 2 {
        return Err(value_error(format!("data has {ndim} dimension(s); 2-D transforms need at least 2")));
    }
    let a = [axis_index(axes.0, ndim, "axes")?, axis_index(axes.1, ndim, "axes")?];
    if a[0] == a[1] {
        return Err(value_error(format!("axes {axes:?} name the same axis twice; give two different axes")));
    }
    Ok(a)
}

/// pywt `wavedec2`, packed: `(coefficients (batch, total), shapes
/// [cA_n, level n, ..., level 1], leading shape, normalised axes)`; each
/// row holds `[cA_n, cH_n, cV_n, cD_n, ..., cH_1, cV_1, cD_1]`.
#[pyfunction]
#[pyo3(signature = (data, wavelet, mode = "symmetric", level = None, axes = (-2, -1)))]
pub fn wavedec2_packed<'py>(
    py: Python<'py>,
    data: Floats<'py>,
    wavelet: &Bound<'py, PyAny>,
    mode: &str,
    level: Option<i64>,
    axes: (i64, i64),
) -> PyResult<Packed2d<'py>> {
    let w = extract_wavelet(wavelet)?;
    let mode = parse_mode(mode)?;
    let ndim = data.shape().len();
    let ax = two_axes(axes, ndim)?;
    let (h, wd) = (data.shape()[ax[0]], data.shape()[ax[1]]);
    let level = resolve_level(py, level, h.min(wd), &w)?;
    let (perm, _) = permutation(ndim, &ax);
    let plan = Plan2d::with_boundary_levels((h, wd), &w, mode, level).map_err(core_to_py)?;
    let shapes = plan.shapes().to_vec();
    if let Some(x32) = data.view32() {
        // float32 in, float32 out, computed in float32 (as pywt does)
        let (lead, moved) = as_batch_view(x32, &perm, 2);
        let batch: usize = lead.iter().product();
        let images = moved.view().into_shape_with_order((batch, h, wd)).expect("sizes agree");
        let packed = py.detach(|| plan.wavedec2_f32(images)).map_err(core_to_py)?;
        return Ok((packed.into_pyarray(py).into_any(), shapes, lead, (ax[0], ax[1])));
    }
    let x = data.view64();
    let (lead, moved) = as_batch_view(x.view(), &perm, 2);
    let batch: usize = lead.iter().product();
    let images = moved.view().into_shape_with_order((batch, h, wd)).expect("sizes agree");
    let coeffs: Coeffs2d = py.detach(|| plan.wavedec2(images.view())).map_err(core_to_py)?;
    Ok((packed_to_numpy(py, coeffs.data, false), shapes, lead, (ax[0], ax[1])))
}

/// pywt `waverec2`.
#[pyfunction]
#[pyo3(signature = (coeffs, wavelet, mode = "symmetric", axes = (-2, -1)))]
pub fn waverec2<'py>(
    py: Python<'py>,
    coeffs: Vec<Bound<'py, PyAny>>,
    wavelet: &Bound<'py, PyAny>,
    mode: &str,
    axes: (i64, i64),
) -> PyResult<Bound<'py, PyAny>> {
    let w = extract_wavelet(wavelet)?;
    let mode = parse_mode(mode)?;
    let Some(first) = coeffs.first() else {
        return Err(value_error("coeffs is empty; waverec2 needs [cA_n, (cH_n, cV_n, cD_n), ..., (cH_1, cV_1, cD_1)]"));
    };
    let approx: Floats<'py> = first.extract()?;
    let mut details: Vec<[Floats<'py>; 3]> = Vec::new();
    for (k, d) in coeffs[1..].iter().enumerate() {
        let t: (Floats<'py>, Floats<'py>, Floats<'py>) = d
            .extract()
            .map_err(|_| value_error(format!("coeffs[{}] must be a tuple of three arrays (cH, cV, cD)", k + 1)))?;
        details.push([t.0, t.1, t.2]);
    }
    let a = approx.view64();
    let ax = two_axes(axes, a.ndim())?;
    let (perm, inverse) = permutation(a.ndim(), &ax);
    let to_images = |v: ArrayViewD<'_, f64>,
                     what: String,
                     lead0: Option<&Vec<usize>>|
     -> PyResult<(Vec<usize>, ndarray::Array3<f64>)> {
        if v.ndim() != a.ndim() {
            return Err(value_error(format!("{what} has {} dimension(s) but coeffs[0] has {}", v.ndim(), a.ndim())));
        }
        let (lead, moved) = as_batch(v.view(), &perm, 2);
        if let Some(l0) = lead0 {
            if *l0 != lead {
                return Err(value_error(format!(
                    "{what} has shape {:?}, which does not match coeffs[0] {:?} outside the axes",
                    v.shape(),
                    a.shape()
                )));
            }
        }
        let batch: usize = lead.iter().product();
        let (r, c) = (v.shape()[ax[0]], v.shape()[ax[1]]);
        Ok((
            lead,
            moved.into_shape_with_order((batch, r, c)).expect("sizes agree").into_dimensionality::<Ix3>().expect("3-D"),
        ))
    };
    let (lead, approx3) = to_images(a.view(), "coeffs[0]".into(), None)?;
    let mut detail3 = Vec::with_capacity(details.len());
    for (k, d) in details.iter().enumerate() {
        let mut trio = Vec::with_capacity(3);
        for (j, name) in ["cH", "cV", "cD"].iter().enumerate() {
            trio.push(to_images(d[j].view64().view(), format!("coeffs[{}] {name}", k + 1), Some(&lead))?.1);
        }
        detail3.push(trio);
    }
    let views: Vec<[ArrayView3<'_, f64>; 3]> =
        detail3.iter().map(|t| [t[0].view(), t[1].view(), t[2].view()]).collect();
    let packed = Coeffs2d::from_arrays(approx3.view(), &views).map_err(core_to_py)?;
    let plan = Plan2d::from_shapes(packed.shapes(), &w, mode).map_err(core_to_py)?;
    // float32 only when every array is float32 (NumPy's promotion, as pywt):
    // then computed in float32 from the exactly widened values
    let all_f32 = approx.is_f32() && details.iter().flatten().all(|d| d.is_f32());
    let out = if all_f32 {
        let packed32 = packed.data.mapv(|v| v as f32);
        py.detach(|| plan.waverec2_f32(packed32.view())).map_err(core_to_py)?.mapv(f64::from)
    } else {
        py.detach(|| plan.waverec2(&packed)).map_err(core_to_py)?
    };
    let (_, r, c) = out.dim();
    Ok(restore(py, out.into_dyn(), &lead, &[r, c], &inverse, all_f32))
}

/// pywt `dwt_max_level(data_len, filter_len)`; `filter_len` may be a
/// wavelet (name or object).
#[pyfunction]
pub fn dwt_max_level(data_len: i64, filter_len: &Bound<'_, PyAny>) -> PyResult<usize> {
    if data_len < 0 {
        return Err(value_error(format!("data_len {data_len} is negative")));
    }
    let f = match filter_len.extract::<i64>() {
        Ok(f) if f >= 2 => f as usize,
        Ok(f) => return Err(value_error(format!("filter_len {f} is too short; a filter has at least 2 taps"))),
        Err(_) => extract_wavelet(filter_len)?.filter_len(),
    };
    Ok(awd::dwt::dwt_max_level(data_len as usize, f))
}
