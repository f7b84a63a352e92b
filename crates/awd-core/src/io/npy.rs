//! NumPy `.npy` and `.npz` arrays through `ndarray-npy`, with errors that say
//! which file is wrong and what was expected.

use std::fs::File;
use std::path::Path;

use ndarray::{ArrayD, ArrayViewD};
use ndarray_npy::{NpzWriter, ReadNpyError, ReadNpyExt, ViewNpyError, ViewNpyExt, WriteNpyExt};

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

/// `path` mapped read-only into memory, with its length; an empty file is
/// refused.
fn map_file(path: &Path) -> Result<(memmap2::Mmap, u64), IoError> {
    let file = File::open(path).map_err(|e| IoError::read(path, e))?;
    let len = file.metadata().map_err(|e| IoError::read(path, e))?.len();
    if len == 0 {
        return Err(IoError::format(path, "is empty (0 bytes), not a .npy file"));
    }
    // SAFETY: read-only; a file truncated by another process while mapped
    // would fault, the documented caveat of mapped files (as with NumPy's
    // memmap).
    let map = unsafe { memmap2::Mmap::map(&file) }.map_err(|e| IoError::read(path, e))?;
    Ok((map, len))
}

/// A float64 or float32 `.npy` file mapped into memory, its header checked
/// against its size before anything is allocated. Its values are paged in
/// as they are read (and may be dropped again by the OS), so a file larger
/// than memory can be used.
#[derive(Debug)]
pub struct MappedNpy {
    map: memmap2::Mmap,
    float32: bool,
}

impl MappedNpy {
    /// Map `path`; `Ok(None)` for files a map cannot view (another byte
    /// order, misaligned data), which the streaming reader then takes;
    /// an error for anything else that is not a float64/float32 `.npy`.
    pub fn open(path: &Path) -> Result<Option<Self>, IoError> {
        let (map, len) = map_file(path)?;
        let float32 = match ArrayViewD::<f64>::view_npy(&map) {
            Ok(_) => false,
            Err(ViewNpyError::WrongDescriptor(d)) => match ArrayViewD::<f32>::view_npy(&map) {
                Ok(_) => true,
                Err(ViewNpyError::WrongDescriptor(_)) => {
                    return Err(IoError::format(
                        path,
                        format!(
                            "unsupported dtype {d}; save the array as float64 or float32 \
                             (e.g. numpy.save(path, x.astype(numpy.float64)))"
                        ),
                    ))
                }
                Err(e) => return Self::refuse(path, len, e),
            },
            Err(e) => return Self::refuse(path, len, e),
        };
        Ok(Some(MappedNpy { map, float32 }))
    }

    /// The error for a file the map cannot view, or `None` to stream it.
    fn refuse(path: &Path, len: u64, e: ViewNpyError) -> Result<Option<Self>, IoError> {
        let reason = match e {
            ViewNpyError::NonNativeEndian | ViewNpyError::MisalignedData => return Ok(None),
            ViewNpyError::MissingBytes(n) => format!(
                "truncated .npy file: its header describes {n} more bytes of data than the file's {len} bytes hold"
            ),
            ViewNpyError::ExtraBytes(n) => format!("corrupt .npy file: {n} unexpected bytes after the data"),
            ViewNpyError::LengthOverflow => "corrupt .npy file: its header describes an impossibly large shape".into(),
            ViewNpyError::ParseHeader(h) => format!("not a valid .npy file (bad header: {h})"),
            ViewNpyError::Io(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => {
                format!("truncated .npy file: its {len} bytes end inside the header")
            }
            other => format!("cannot read as .npy: {other}"),
        };
        Err(IoError::format(path, reason))
    }

    /// Whether the values are float32 (else float64).
    pub fn is_float32(&self) -> bool {
        self.float32
    }

    /// The array's shape.
    pub fn shape(&self) -> Vec<usize> {
        if self.float32 {
            ArrayViewD::<f32>::view_npy(&self.map).expect("viewed when opened").shape().to_vec()
        } else {
            ArrayViewD::<f64>::view_npy(&self.map).expect("viewed when opened").shape().to_vec()
        }
    }

    /// The array as rows `(shape[0], product of the other axes)`, in its
    /// own type and without a copy; `None` when it is not in C order (or
    /// has rank 0).
    pub fn rows(&self) -> Option<crate::distill::SampleRows<'_>> {
        fn flat<T>(v: ArrayViewD<'_, T>) -> Option<ndarray::ArrayView2<'_, T>> {
            if v.ndim() == 0 || !v.is_standard_layout() {
                return None;
            }
            let n = v.shape()[0];
            let width: usize = v.shape()[1..].iter().product();
            v.into_shape_with_order((n, width)).ok()
        }
        if self.float32 {
            flat(ArrayViewD::<f32>::view_npy(&self.map).expect("viewed when opened")).map(Into::into)
        } else {
            flat(ArrayViewD::<f64>::view_npy(&self.map).expect("viewed when opened")).map(Into::into)
        }
    }

    /// The whole array as float64.
    fn all(&self) -> ArrayD<f64> {
        if self.float32 {
            ArrayViewD::<f32>::view_npy(&self.map).expect("viewed when opened").mapv(f64::from)
        } else {
            ArrayViewD::<f64>::view_npy(&self.map).expect("viewed when opened").to_owned()
        }
    }

    /// Rows `rows` (first axis) as float64.
    fn rows_f64(&self, rows: std::ops::Range<usize>) -> ArrayD<f64> {
        let slice = ndarray::Slice::from(rows);
        if self.float32 {
            let v = ArrayViewD::<f32>::view_npy(&self.map).expect("viewed when opened");
            v.slice_axis(ndarray::Axis(0), slice).mapv(f64::from)
        } else {
            let v = ArrayViewD::<f64>::view_npy(&self.map).expect("viewed when opened");
            v.slice_axis(ndarray::Axis(0), slice).to_owned()
        }
    }
}

/// Read a float64 or float32 `.npy` file as float64, of any rank. The
/// header is checked against the file's size before anything is allocated,
/// so a corrupt or hostile header is an error, never an abort.
pub fn read_npy_f64(path: &Path) -> Result<ArrayD<f64>, IoError> {
    match MappedNpy::open(path)? {
        Some(m) => Ok(m.all()),
        None => read_npy_streaming(path),
    }
}

/// Check, through a map and before the streaming reader allocates, that a
/// numeric `.npy` file holds the data its header describes.
fn check_header_fits(path: &Path) -> Result<(), IoError> {
    let (map, len) = map_file(path)?;
    macro_rules! try_view {
        ($($t:ty),*) => {$(
            match ArrayViewD::<$t>::view_npy(&map) {
                Ok(_) => return Ok(()),
                Err(ViewNpyError::WrongDescriptor(_)) => {}
                Err(e) => return MappedNpy::refuse(path, len, e).map(|_| ()),
            }
        )*};
    }
    try_view!(i64, i32, i16, i8, u64, u32, u16, u8, f64, f32);
    Ok(()) // another dtype: the reader names it
}

/// The streaming reader (for byte orders a map cannot view).
fn read_npy_streaming(path: &Path) -> Result<ArrayD<f64>, IoError> {
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

/// The shape of a float64 or float32 `.npy` file, from its header (checked
/// against the file's size), without reading the data.
pub fn read_npy_shape(path: &Path) -> Result<Vec<usize>, IoError> {
    match MappedNpy::open(path)? {
        Some(m) => Ok(m.shape()),
        None => Ok(read_npy_streaming(path)?.shape().to_vec()),
    }
}

/// Whether a `.npy` file holds float32 in this machine's byte order (the
/// files whose transforms stay float32, as pywt's do); float64 and other
/// byte orders are read as float64.
pub fn npy_is_float32(path: &Path) -> Result<bool, IoError> {
    Ok(MappedNpy::open(path)?.is_some_and(|m| m.float32))
}

/// Read rows `rows` (along the first axis) of a float64 or float32 `.npy`
/// file as float64, through a memory map: only those rows are touched and
/// copied, so each process of a data-parallel fit holds only its share.
/// Returns them with the file's full shape.
pub fn read_npy_rows_f64(path: &Path, rows: std::ops::Range<usize>) -> Result<(ArrayD<f64>, Vec<usize>), IoError> {
    let check = |shape: &[usize]| -> Result<(), IoError> {
        let n = shape.first().copied().unwrap_or(0);
        if shape.is_empty() || rows.start > rows.end || rows.end > n {
            return Err(IoError::format(
                path,
                format!("rows {}..{} asked of an array of shape {}", rows.start, rows.end, shape_string(shape)),
            ));
        }
        Ok(())
    };
    match MappedNpy::open(path)? {
        Some(m) => {
            let shape = m.shape();
            check(&shape)?;
            Ok((m.rows_f64(rows), shape))
        }
        None => {
            let all = read_npy_streaming(path)?;
            check(all.shape())?;
            let part = all.slice_axis(ndarray::Axis(0), ndarray::Slice::from(rows)).to_owned();
            Ok((part, all.shape().to_vec()))
        }
    }
}

/// Read a 1-D `.npy` of integer labels (any integer dtype, or floats that
/// are whole numbers), e.g. the cell, patient or simulation of each sample.
pub fn read_npy_labels(path: &Path) -> Result<Vec<i64>, IoError> {
    check_header_fits(path)?;
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

/// The largest ratio of uncompressed to compressed size that deflate can
/// reach (about 1032:1) plus slack: an `.npz` entry that claims more is
/// refused before anything is inflated.
const MAX_DEFLATE_RATIO: u64 = 1100;

/// Read every array of a `.npz` file (float64 or float32) as float64, by name.
/// Each entry's size is checked against the archive before anything is
/// allocated, and each array's header against its entry's bytes, so a
/// corrupt or hostile archive is an error, never an abort.
pub fn read_npz_f64(path: &Path) -> Result<Vec<(String, ArrayD<f64>)>, IoError> {
    Ok(read_npz_typed(path)?.0)
}

/// Named arrays of a `.npz` file, in the archive's order.
pub type NamedArrays = Vec<(String, ArrayD<f64>)>;

/// [`read_npz_f64`], and whether every array was float32 (exact in float64,
/// so a float32 archive can be transformed back to float32).
pub fn read_npz_typed(path: &Path) -> Result<(NamedArrays, bool), IoError> {
    let file = File::open(path).map_err(|e| IoError::read(path, e))?;
    let len = file.metadata().map_err(|e| IoError::read(path, e))?.len();
    if len == 0 {
        return Err(IoError::format(path, "is empty (0 bytes), not a .npz archive"));
    }
    let mut zip = zip::ZipArchive::new(std::io::BufReader::new(file))
        .map_err(|e| IoError::format(path, format!("not a valid .npz archive ({e})")))?;
    let mut out = Vec::with_capacity(zip.len().min(1024));
    let mut all_f32 = true;
    for index in 0..zip.len() {
        let mut entry =
            zip.by_index(index).map_err(|e| IoError::format(path, format!("corrupt .npz: entry {index}: {e}")))?;
        let name = entry.name().trim_end_matches(".npy").to_string();
        let size = entry.size();
        let bound = len.saturating_mul(MAX_DEFLATE_RATIO);
        if size > bound {
            return Err(IoError::format(
                path,
                format!("corrupt .npz: array '{name}' claims {size} bytes, more than a {len}-byte archive can hold"),
            ));
        }
        // read into 8-byte-aligned memory, so the array can be viewed in place
        let words = usize::try_from(size.div_ceil(8))
            .map_err(|_| IoError::format(path, format!("array '{name}' is too large for this machine")))?;
        let mut buffer = vec![0u64; words];
        // SAFETY: any byte pattern is a valid u64; the slice covers the buffer.
        let bytes = unsafe { std::slice::from_raw_parts_mut(buffer.as_mut_ptr().cast::<u8>(), words * 8) };
        let bytes = &mut bytes[..size as usize];
        std::io::Read::read_exact(&mut entry, bytes)
            .map_err(|e| IoError::format(path, format!("corrupt .npz: array '{name}' is damaged ({e})")))?;
        let (array, f32) =
            npz_array(bytes).map_err(|reason| IoError::format(path, format!("array '{name}': {reason}")))?;
        all_f32 &= f32;
        out.push((name, array));
    }
    let all_f32 = all_f32 && !out.is_empty();
    Ok((out, all_f32))
}

/// One `.npz` entry's `.npy` bytes (8-byte aligned) as float64, and
/// whether it was float32.
fn npz_array(bytes: &[u8]) -> Result<(ArrayD<f64>, bool), String> {
    let refuse = |e: ViewNpyError| match e {
        ViewNpyError::WrongDescriptor(d) => format!("unsupported dtype {d}; expected float64 or float32"),
        ViewNpyError::NonNativeEndian => "non-native byte order; save it with numpy's native byte order".into(),
        ViewNpyError::MissingBytes(n) => format!("truncated: its header describes {n} more bytes than it holds"),
        ViewNpyError::ExtraBytes(n) => format!("{n} unexpected bytes after the data"),
        ViewNpyError::ParseHeader(h) => format!("not a valid .npy entry (bad header: {h})"),
        other => format!("not a valid .npy entry ({other})"),
    };
    match ArrayViewD::<f64>::view_npy(bytes) {
        Ok(v) => Ok((v.to_owned(), false)),
        Err(ViewNpyError::WrongDescriptor(_)) => {
            ArrayViewD::<f32>::view_npy(bytes).map(|v| (v.mapv(f64::from), true)).map_err(refuse)
        }
        Err(e) => Err(refuse(e)),
    }
}

/// Write a float64 array as `.npy`, atomically.
pub fn write_npy(path: &Path, array: ArrayViewD<'_, f64>) -> Result<(), IoError> {
    write_atomic(path, |w| array.write_npy(w).map_err(|e| IoError::format(path, format!("cannot write .npy: {e}"))))
}

/// Write named float64 or float32 arrays (views: nothing is copied) as an
/// (uncompressed) `.npz`, atomically.
pub fn write_npz<T: ndarray_npy::WritableElement>(
    path: &Path,
    arrays: &[(String, ArrayViewD<'_, T>)],
) -> Result<(), IoError> {
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

    /// An `.npy` file's bytes with `from` replaced by `to` in its header
    /// (padded again to a multiple of 64 bytes): a header that lies.
    fn lie_about_shape(bytes: &[u8], from: &str, to: &str) -> Vec<u8> {
        let header_len = u16::from_le_bytes([bytes[8], bytes[9]]) as usize;
        let text = std::str::from_utf8(&bytes[10..10 + header_len]).unwrap();
        let mut header = text.replace(from, to).trim_end().to_string();
        while !(10 + header.len() + 1).is_multiple_of(64) {
            header.push(' ');
        }
        header.push('\n');
        let mut out = bytes[..8].to_vec();
        out.extend((header.len() as u16).to_le_bytes());
        out.extend(header.as_bytes());
        out.extend(&bytes[10 + header_len..]);
        out
    }

    #[test]
    fn mapped_row_ranges_equal_whole_reads_and_lying_headers_are_errors() {
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
        // a header that claims far more data than the file holds is an error, not an allocation
        let bytes = std::fs::read(&f32_path).unwrap();
        let hostile_path = dir.path().join("hostile.npy");
        std::fs::write(&hostile_path, lie_about_shape(&bytes, "(9, 4, 3)", "(900000000000, 4, 3)")).unwrap();
        let e = read_npy_f64(&hostile_path).unwrap_err().to_string();
        assert!(e.contains("hostile.npy") && e.contains("truncated"), "{e}");
        // the same for integer labels
        let labels = ndarray::Array1::from_vec((0..20i64).collect());
        let labels_path = dir.path().join("labels.npy");
        labels.write_npy(File::create(&labels_path).unwrap()).unwrap();
        assert_eq!(read_npy_labels(&labels_path).unwrap().len(), 20);
        let bytes = std::fs::read(&labels_path).unwrap();
        std::fs::write(&labels_path, lie_about_shape(&bytes, "(20,)", "(4000000000000,)")).unwrap();
        let e = read_npy_labels(&labels_path).unwrap_err().to_string();
        assert!(e.contains("labels.npy") && e.contains("truncated"), "{e}");
        // empty, and ending inside the header
        std::fs::write(&hostile_path, b"").unwrap();
        let e = read_npy_f64(&hostile_path).unwrap_err().to_string();
        assert!(e.contains("empty"), "{e}");
        std::fs::write(&hostile_path, &bytes[..40]).unwrap();
        let e = read_npy_f64(&hostile_path).unwrap_err().to_string();
        assert!(e.contains("hostile.npy") && e.contains("truncated"), "{e}");
        std::fs::write(&f64_path, b"not an npy").unwrap();
        let e = read_npy_rows_f64(&f64_path, 0..1).unwrap_err().to_string();
        assert!(e.contains("a64.npy"), "{e}");
    }
}
