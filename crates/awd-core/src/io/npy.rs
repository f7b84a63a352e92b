//! NumPy `.npy` and `.npz` arrays through `ndarray-npy`, with errors that say
//! which file is wrong and what was expected.

use std::fs::File;
use std::path::Path;

use ndarray::{ArrayD, ArrayViewD};
use ndarray_npy::{NpzReader, NpzWriter, ReadNpyError, ReadNpyExt, WriteNpyExt};

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
