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
