//! Coefficient files of `awd dwt`/`awd idwt`, streamed: named arrays in
//! `.npz` or `.json` (each name a key holding nested lists of the array's
//! shape), and `.npy` outputs written row block by row block. Nothing here
//! holds a second copy of the data: JSON is written and parsed number by
//! number, `.npz` arrays are written from views.

use std::fs::File;
use std::io::{BufReader, Write};
use std::path::Path;

use ndarray::{ArrayD, ArrayViewD, IxDyn};
use serde::de::{self, DeserializeSeed, MapAccess, SeqAccess, Visitor};

use super::{read_npz_f64, write_atomic, write_npz, IoError};

/// Format of a coefficient file, from its extension.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CoeffFormat {
    /// NumPy `.npz` archive.
    Npz,
    /// JSON object of nested lists.
    Json,
}

/// The format of a coefficient file, from its extension.
pub fn coeff_format(path: &Path) -> Result<CoeffFormat, IoError> {
    match path.extension().and_then(|e| e.to_str()).map(str::to_ascii_lowercase).as_deref() {
        Some("npz") => Ok(CoeffFormat::Npz),
        Some("json") => Ok(CoeffFormat::Json),
        _ => Err(IoError::format(path, "unsupported coefficient file extension; use .npz or .json")),
    }
}

/// A number type coefficient files hold: float64, or float32 (kept as
/// float32 in `.npz` and `.npy`; JSON numbers carry no type).
pub trait CoeffValue: Copy + ndarray_npy::WritableElement + serde::Serialize {
    /// The `.npy` dtype descriptor.
    const DESCR: &'static str;
    /// Append the little-endian bytes of `self`.
    fn push_le(self, out: &mut Vec<u8>);
}

impl CoeffValue for f64 {
    const DESCR: &'static str = "<f8";
    fn push_le(self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.to_le_bytes());
    }
}

impl CoeffValue for f32 {
    const DESCR: &'static str = "<f4";
    fn push_le(self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.to_le_bytes());
    }
}

/// Write named arrays to `.npz` or `.json`, atomically, from views.
pub fn write_coeffs<T: CoeffValue>(path: &Path, arrays: &[(String, ArrayViewD<'_, T>)]) -> Result<(), IoError> {
    match coeff_format(path)? {
        CoeffFormat::Npz => write_npz(path, arrays),
        CoeffFormat::Json => write_atomic(path, |w| {
            let io = |e: std::io::Error| IoError::write(path, e);
            w.write_all(b"{").map_err(io)?;
            for (k, (name, a)) in arrays.iter().enumerate() {
                if k > 0 {
                    w.write_all(b",").map_err(io)?;
                }
                serde_json::to_writer(&mut *w, name).map_err(|e| IoError::format(path, e.to_string()))?;
                w.write_all(b":").map_err(io)?;
                write_nested(w, a).map_err(|e| IoError::format(path, e.to_string()))?;
            }
            w.write_all(b"}").map_err(io)
        }),
    }
}

/// `a` as nested JSON lists, number by number (serde_json's shortest
/// round-trip form; NaN and infinities as `null`, as serde_json writes them).
fn write_nested<T: CoeffValue>(w: &mut impl Write, a: &ArrayViewD<'_, T>) -> serde_json::Result<()> {
    if a.ndim() == 0 {
        return match a.first() {
            Some(v) => serde_json::to_writer(&mut *w, v),
            None => w.write_all(b"0").map_err(serde_json::Error::io),
        };
    }
    w.write_all(b"[").map_err(serde_json::Error::io)?;
    for (i, sub) in a.outer_iter().enumerate() {
        if i > 0 {
            w.write_all(b",").map_err(serde_json::Error::io)?;
        }
        write_nested(w, &sub)?;
    }
    w.write_all(b"]").map_err(serde_json::Error::io)
}

/// Read named arrays from `.npz` or `.json` (float64; the JSON is parsed as a
/// stream, without a document tree).
pub fn read_coeffs(path: &Path) -> Result<Vec<(String, ArrayD<f64>)>, IoError> {
    match coeff_format(path)? {
        CoeffFormat::Npz => read_npz_f64(path),
        CoeffFormat::Json => {
            let file = File::open(path).map_err(|e| IoError::read(path, e))?;
            if file.metadata().map_err(|e| IoError::read(path, e))?.len() == 0 {
                return Err(IoError::format(path, "is empty (0 bytes, no JSON value)"));
            }
            let mut de = serde_json::Deserializer::from_reader(BufReader::new(file));
            let arrays = NamedArrays.deserialize(&mut de).map_err(|e| IoError::format(path, e.to_string()))?;
            de.end().map_err(|e| IoError::format(path, format!("trailing data after the object ({e})")))?;
            Ok(arrays)
        }
    }
}

/// The top level: an object of named arrays.
struct NamedArrays;

impl<'de> DeserializeSeed<'de> for NamedArrays {
    type Value = Vec<(String, ArrayD<f64>)>;
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for NamedArrays {
    type Value = Vec<(String, ArrayD<f64>)>;
    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a JSON object of named arrays (a, d1, ...)")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut out: Vec<(String, ArrayD<f64>)> = Vec::new();
        while let Some(name) = map.next_key::<String>()? {
            let mut nested = Nested { dims: Vec::new(), rank: None, flat: Vec::new() };
            map.next_value_seed(Level { depth: 0, into: &mut nested }).map_err(|e: A::Error| {
                de::Error::custom(format!("array '{name}' is not a rectangular nested list of numbers ({e})"))
            })?;
            let rank = nested.rank.unwrap_or(nested.dims.len());
            let shape: Vec<usize> = nested.dims.iter().take(rank).map(|d| d.unwrap_or(0)).collect();
            if shape.is_empty() {
                return Err(de::Error::custom(format!("array '{name}' is a number, not a list")));
            }
            nested.flat.shrink_to_fit();
            let array = ArrayD::from_shape_vec(IxDyn(&shape), nested.flat).map_err(|_| {
                de::Error::custom(format!("array '{name}' is not a rectangular nested list of numbers"))
            })?;
            out.retain(|(k, _)| *k != name);
            out.push((name, array));
        }
        Ok(out)
    }
}

/// What a nested list has shown so far: the length at each depth, the depth
/// of its numbers, and the numbers in row-major order.
struct Nested {
    dims: Vec<Option<usize>>,
    rank: Option<usize>,
    flat: Vec<f64>,
}

/// One level of a nested list, at `depth`.
struct Level<'a> {
    depth: usize,
    into: &'a mut Nested,
}

impl<'de> DeserializeSeed<'de> for Level<'_> {
    type Value = ();
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl Level<'_> {
    fn number<E: de::Error>(self, v: f64) -> Result<(), E> {
        match self.into.rank {
            None => self.into.rank = Some(self.depth),
            Some(r) if r != self.depth => return Err(E::custom("numbers at different depths")),
            Some(_) => {}
        }
        self.into.flat.push(v);
        Ok(())
    }
}

impl<'de> Visitor<'de> for Level<'_> {
    type Value = ();
    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a number or a list")
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<(), E> {
        self.number(v)
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<(), E> {
        self.number(v as f64)
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<(), E> {
        self.number(v as f64)
    }
    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        // serde_json writes NaN and infinities as null
        self.number(f64::NAN)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let depth = self.depth;
        if self.into.rank.is_some_and(|r| depth >= r) {
            return Err(de::Error::custom("a list where a number belongs"));
        }
        let mut count = 0usize;
        while seq.next_element_seed(Level { depth: depth + 1, into: &mut *self.into })?.is_some() {
            count += 1;
        }
        let dims = &mut self.into.dims;
        if dims.len() <= depth {
            dims.resize(depth + 1, None);
        }
        match dims[depth] {
            None => dims[depth] = Some(count),
            Some(c) if c != count => {
                return Err(de::Error::custom(format!("lists of different lengths at depth {depth}")));
            }
            Some(_) => {}
        }
        Ok(())
    }
}

/// Write a float64 or float32 `.npy` of `shape` (C order) atomically, its
/// values given in row-major order by `fill`, which calls the sink as often
/// as it likes (e.g. once per block of rows). An error if the values do not
/// add up to the shape.
pub fn write_npy_streamed<T: CoeffValue>(
    path: &Path,
    shape: &[usize],
    fill: impl FnOnce(&mut dyn FnMut(&[T]) -> Result<(), IoError>) -> Result<(), IoError>,
) -> Result<(), IoError> {
    let expected: usize = shape.iter().product();
    write_atomic(path, |w| {
        let io = |e: std::io::Error| IoError::write(path, e);
        w.write_all(&npy_header(shape, T::DESCR)).map_err(io)?;
        let mut written = 0usize;
        let mut bytes = Vec::new();
        let mut sink = |values: &[T]| -> Result<(), IoError> {
            written += values.len();
            if written > expected {
                return Err(IoError::format(path, format!("more values than the shape {shape:?} holds")));
            }
            bytes.clear();
            for &v in values {
                v.push_le(&mut bytes);
            }
            w.write_all(&bytes).map_err(io)
        };
        fill(&mut sink)?;
        if written != expected {
            return Err(IoError::format(path, format!("{written} values written for the shape {shape:?}")));
        }
        Ok(())
    })
}

/// The header of a little-endian, C-order `.npy` (format 1.0) of dtype
/// `descr`, padded to a multiple of 64 bytes as NumPy writes it.
fn npy_header(shape: &[usize], descr: &str) -> Vec<u8> {
    let dims: Vec<String> = shape.iter().map(|d| d.to_string()).collect();
    let shape_text = if dims.len() == 1 { format!("({},)", dims[0]) } else { format!("({})", dims.join(", ")) };
    let mut dict = format!("{{'descr': '{descr}', 'fortran_order': False, 'shape': {shape_text}, }}");
    while !(10 + dict.len() + 1).is_multiple_of(64) {
        dict.push(' ');
    }
    dict.push('\n');
    let mut out = b"\x93NUMPY\x01\x00".to_vec();
    out.extend((dict.len() as u16).to_le_bytes());
    out.extend(dict.as_bytes());
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::io::read_npy_f64;

    #[test]
    fn json_round_trip_keeps_shape_and_bits_and_refuses_ragged_lists() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("c.json");
        let a = ArrayD::from_shape_vec(IxDyn(&[2, 3]), vec![0.1, 1e-300, -2.5, 3.0, 0.123_456_789_012_345_67, 9.0])
            .unwrap();
        let b = ArrayD::from_shape_vec(IxDyn(&[3]), vec![1.0, 2.0, 3.0]).unwrap();
        let c = ArrayD::from_shape_vec(IxDyn(&[2, 1, 2]), vec![1.0, f64::NAN, 3.0, 4.0]).unwrap();
        write_coeffs(&p, &[("a".into(), a.view()), ("d1".into(), b.view()), ("m".into(), c.view())]).unwrap();
        // the same text serde_json writes for the same object
        let text = std::fs::read_to_string(&p).unwrap();
        let v: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(v["a"][1][1], serde_json::json!(0.123_456_789_012_345_67));
        let back = read_coeffs(&p).unwrap();
        let get = |n: &str| back.iter().find(|(k, _)| k == n).unwrap().1.clone();
        assert_eq!(get("a"), a);
        assert_eq!(get("d1"), b);
        assert_eq!(get("m").shape(), &[2, 1, 2]);
        assert!(get("m")[[0, 0, 1]].is_nan());
        for (bad, why) in [
            (r#"{"a": [[1, 2], [3]]}"#, "rectangular"),
            (r#"{"a": [[1, 2], 3]}"#, "rectangular"),
            (r#"{"a": [1, [2]]}"#, "rectangular"),
            (r#"{"a": 1}"#, "not a list"),
            (r#"[1, 2]"#, "object"),
            (r#"{"a": [1, "x"]}"#, "rectangular"),
            (r#"{"a": [1]} 7"#, "trailing"),
            ("", "empty"),
        ] {
            std::fs::write(&p, bad).unwrap();
            let e = read_coeffs(&p).unwrap_err().to_string();
            assert!(e.contains("c.json") && e.contains(why), "{bad}: {e}");
        }
    }

    #[test]
    fn streamed_npy_equals_a_whole_write_and_checks_the_count() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("x.npy");
        let values: Vec<f64> = (0..12).map(|v| v as f64 * 0.5 - 1.0).collect();
        write_npy_streamed(&p, &[4, 3], |sink| {
            for row in values.chunks(3) {
                sink(row)?;
            }
            Ok(())
        })
        .unwrap();
        let back = read_npy_f64(&p).unwrap();
        assert_eq!(back.shape(), &[4, 3]);
        assert_eq!(back.iter().copied().collect::<Vec<_>>(), values);
        let short = write_npy_streamed(&dir.path().join("y.npy"), &[4, 3], |sink| sink(&values[..6]));
        assert!(short.unwrap_err().to_string().contains("6 values written"));
        assert!(!dir.path().join("y.npy").exists());
    }
}
