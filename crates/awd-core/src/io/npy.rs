//! NumPy `.npy` and `.npz` arrays through `ndarray-npy`, with errors that say
//! which file is wrong and what was expected.

use std::fs::File;
use std::path::Path;

use ndarray::{ArrayD, ArrayViewD};
use ndarray_npy::{NpzReader, NpzWriter, ReadNpyError, ReadNpyExt, ViewNpyExt, WriteNpyExt};

use super::{write_atomic, IoError};

fn describe_npy_error(e: ReadNpyError) -> String {
    match e {
        ReadNpyError::WrongDescriptor(d) => format!(
            "unsupported dtype {d}; save the array as float64 or float32 \
             (e.g. numpy.save(path, x.astype(numpy.float64)))"
        ),
        ReadNpyError::ParseHeader(e) => format!("not a valid .npy file (bad header: {e})"),
        ReadNpyError::MissingData => "truncated .npy file: the data is shorter than its header says".into(),
        ReadNpyError::ExtraBytes(n) => format!("corrupt .npy file: {n} unexpected bytes after the data"),
        other => format!("cannot read as .npy: {other}"),
    }
}

/// Read a float64 or float32 `.npy` file as float64, of any rank.
pub fn read_npy_f64(path: &Path) -> Result<ArrayD<f64>, IoError> {
    let open = || File::open(path).map_err(|e| IoError::read(path, e));
    match ArrayD::<f64>::read_npy(open()?) {
        Ok(a) => Ok(a),
        Err(ReadNpyError::WrongDescriptor(_)) => match ArrayD::<f32>::read_npy(open()?) {
            Ok(a) => Ok(a.mapv(f64::from)),
            Err(e) => Err(IoError::format(path, describe_npy_error(e))),
        },
        Err(e) => Err(IoError::format(path, describe_npy_error(e))),
    }
}

/// Read rows `rows` (along the first axis) of a float64 or float32 `.npy`
/// file as float64, through a memory map: only those rows are touched and
/// copied, so each process of a data-parallel fit holds only its share.
/// Returns them with the file's full shape. Files a map cannot view (other
/// byte orders) are read whole, then sliced.
pub fn read_npy_rows_f64(path: &Path, rows: std::ops::Range<usize>) -> Result<(ArrayD<f64>, Vec<usize>), IoError> {
    let file = File::open(path).map_err(|e| IoError::read(path, e))?;
    // SAFETY: the map is read-only and dropped before returning; a file
    // truncated meanwhile by another process would fault, as with NumPy's
    // memmap, which is the documented caveat of mapping files.
    let map = unsafe { memmap2::Mmap::map(&file) }.map_err(|e| IoError::read(path, e))?;
    let take = |shape: &[usize]| -> Result<(), IoError> {
        let n = shape.first().copied().unwrap_or(0);
        if shape.is_empty() || rows.start > rows.end || rows.end > n {
            return Err(IoError::format(
                path,
                format!("rows {}..{} asked of an array of shape {}", rows.start, rows.end, shape_string(shape)),
            ));
        }
        Ok(())
    };
    let slice = ndarray::Slice::from(rows.clone());
    if let Ok(v) = ArrayViewD::<f64>::view_npy(&map) {
        take(v.shape())?;
        return Ok((v.slice_axis(ndarray::Axis(0), slice).to_owned(), v.shape().to_vec()));
    }
    if let Ok(v) = ArrayViewD::<f32>::view_npy(&map) {
        take(v.shape())?;
        return Ok((v.slice_axis(ndarray::Axis(0), slice).mapv(f64::from), v.shape().to_vec()));
    }
    drop(map);
    let all = read_npy_f64(path)?;
    take(all.shape())?;
    Ok((all.slice_axis(ndarray::Axis(0), slice).to_owned(), all.shape().to_vec()))
}

/// Read a 1-D `.npy` of integer labels (any integer dtype, or floats that
/// are whole numbers), e.g. the cell, patient or simulation of each sample.
pub fn read_npy_labels(path: &Path) -> Result<Vec<i64>, IoError> {
    let open = || File::open(path).map_err(|e| IoError::read(path, e));
    macro_rules! try_int {
        ($($t:ty),*) => {$(
            match ArrayD::<$t>::read_npy(open()?) {
                Ok(a) => return labels_1d(path, a.shape(), a.iter().map(|&v| v as i64).collect()),
                Err(ReadNpyError::WrongDescriptor(_)) => {}
                Err(e) => return Err(IoError::format(path, describe_npy_error(e))),
            }
        )*};
    }
    try_int!(i64, i32, i16, i8, u32, u16, u8);
    match ArrayD::<u64>::read_npy(open()?) {
        Ok(a) => {
            let v: Result<Vec<i64>, _> = a.iter().map(|&v| i64::try_from(v)).collect();
            let v = v.map_err(|_| IoError::format(path, "a label does not fit in a signed 64-bit integer"))?;
            return labels_1d(path, a.shape(), v);
        }
        Err(ReadNpyError::WrongDescriptor(_)) => {}
        Err(e) => return Err(IoError::format(path, describe_npy_error(e))),
    }
    let a = read_npy_f64(path)?;
    if let Some((i, v)) = a.iter().enumerate().find(|(_, v)| !(v.is_finite() && v.fract() == 0.0 && v.abs() < 9e15)) {
        return Err(IoError::format(
            path,
            format!("labels must be whole numbers, got {v} at index {i}; save them as integers (numpy.int64)"),
        ));
    }
    labels_1d(path, a.shape(), a.iter().map(|&v| v as i64).collect())
}

fn labels_1d(path: &Path, shape: &[usize], v: Vec<i64>) -> Result<Vec<i64>, IoError> {
    if shape.len() != 1 {
        return Err(IoError::format(
            path,
            format!("expected one label per sample, shape (n,), got {}", shape_string(shape)),
        ));
    }
    Ok(v)
}

/// Read every array of a `.npz` file (float64 or float32) as float64, by name.
pub fn read_npz_f64(path: &Path) -> Result<Vec<(String, ArrayD<f64>)>, IoError> {
    let file = File::open(path).map_err(|e| IoError::read(path, e))?;
    let mut npz = NpzReader::new(file).map_err(|e| IoError::format(path, format!("not a valid .npz archive: {e}")))?;
    let names = npz.names().map_err(|e| IoError::format(path, format!("corrupt .npz: {e}")))?;
    let mut out = Vec::with_capacity(names.len());
    for name in names {
        let arr: Result<ArrayD<f64>, _> = npz.by_name(&name);
        let arr = match arr {
            Ok(a) => a,
            Err(_) => {
                let a32: ArrayD<f32> = npz
                    .by_name(&name)
                    .map_err(|e| IoError::format(path, format!("array '{name}': {e}; expected float64 or float32")))?;
                a32.mapv(f64::from)
            }
        };
        out.push((name.trim_end_matches(".npy").to_string(), arr));
    }
    Ok(out)
}

/// Write a float64 array as `.npy`, atomically.
pub fn write_npy(path: &Path, array: ArrayViewD<'_, f64>) -> Result<(), IoError> {
    write_atomic(path, |w| array.write_npy(w).map_err(|e| IoError::format(path, format!("cannot write .npy: {e}"))))
}

/// Write named float64 arrays as an (uncompressed) `.npz`, atomically.
pub fn write_npz(path: &Path, arrays: &[(String, ArrayD<f64>)]) -> Result<(), IoError> {
    write_atomic(path, |w| {
        let mut npz = NpzWriter::new(w);
        for (name, a) in arrays {
            npz.add_array(name.as_str(), a)
                .map_err(|e| IoError::format(path, format!("cannot write array '{name}': {e}")))?;
        }
        npz.finish().map_err(|e| IoError::format(path, format!("cannot finish .npz: {e}")))?;
        Ok(())
    })
}

/// Shape of an array as a readable string, e.g. `(3, 64)`.
pub fn shape_string(shape: &[usize]) -> String {
    let inner: Vec<String> = shape.iter().map(|s| s.to_string()).collect();
    if inner.len() == 1 {
        format!("({},)", inner[0])
    } else {
        format!("({})", inner.join(", "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::{s, Array3};

    #[test]
    fn row_ranges_read_through_a_map_equal_slices_of_the_whole_file() {
        let dir = tempfile::tempdir().unwrap();
        let a = Array3::from_shape_fn((9, 4, 3), |(i, j, k)| (i * 100 + j * 10 + k) as f64 + 0.25);
        let f64_path = dir.path().join("a64.npy");
        write_npy(&f64_path, a.view().into_dyn()).unwrap();
        let f32_path = dir.path().join("a32.npy");
        a.mapv(|v| v as f32).write_npy(File::create(&f32_path).unwrap()).unwrap();
        let fortran_path = dir.path().join("fortran.npy");
        a.t().as_standard_layout().reversed_axes().write_npy(File::create(&fortran_path).unwrap()).unwrap();
        for path in [&f64_path, &f32_path, &fortran_path] {
            let (rows, shape) = read_npy_rows_f64(path, 3..7).unwrap();
            assert_eq!(shape, vec![9, 4, 3]);
            assert_eq!(rows, a.slice(s![3..7, .., ..]).into_dyn(), "{}", path.display());
            assert_eq!(read_npy_rows_f64(path, 9..9).unwrap().0.shape(), &[0, 4, 3]);
        }
        let e = read_npy_rows_f64(&f64_path, 5..10).unwrap_err().to_string();
        assert!(e.contains("a64.npy") && e.contains("rows 5..10") && e.contains("(9, 4, 3)"), "{e}");
        std::fs::write(&f64_path, b"not an npy").unwrap();
        let e = read_npy_rows_f64(&f64_path, 0..1).unwrap_err().to_string();
        assert!(e.contains("a64.npy"), "{e}");
    }
}
