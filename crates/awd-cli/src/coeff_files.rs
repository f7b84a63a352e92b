//! Coefficient files of `awd dwt`/`awd idwt`: named arrays in `.npz` or
//! `.json` (each name a key holding nested lists of the array's shape).

use std::path::Path;

use anyhow::{bail, Context, Result};
use awd::io::{read_npz_f64, write_atomic, write_npz};
use ndarray::{ArrayD, IxDyn};
use serde_json::Value;

/// Output format chosen from the file extension.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// NumPy `.npz` archive.
    Npz,
    /// JSON object of nested lists.
    Json,
}

/// The format of a coefficient file, from its extension.
pub fn format_of(path: &Path) -> Result<Format> {
    match path.extension().and_then(|e| e.to_str()).map(str::to_ascii_lowercase).as_deref() {
        Some("npz") => Ok(Format::Npz),
        Some("json") => Ok(Format::Json),
        _ => bail!("{}: unsupported coefficient file extension; use .npz or .json", path.display()),
    }
}

fn to_json(a: &ArrayD<f64>) -> Value {
    fn rec(v: ndarray::ArrayViewD<'_, f64>) -> Value {
        if v.ndim() == 0 {
            return serde_json::json!(v.first().copied().unwrap_or(0.0));
        }
        Value::Array(v.outer_iter().map(rec).collect())
    }
    if a.ndim() == 1 {
        return Value::Array(a.iter().map(|x| serde_json::json!(x)).collect());
    }
    rec(a.view())
}

fn from_json(path: &Path, name: &str, v: &Value) -> Result<ArrayD<f64>> {
    let mut shape = Vec::new();
    let mut cur = v;
    while let Value::Array(items) = cur {
        shape.push(items.len());
        match items.first() {
            Some(first) => cur = first,
            None => break,
        }
    }
    let mut flat = Vec::new();
    fn walk(v: &Value, depth: usize, shape: &[usize], out: &mut Vec<f64>) -> bool {
        match v {
            Value::Array(items) if depth < shape.len() && items.len() == shape[depth] => {
                items.iter().all(|i| walk(i, depth + 1, shape, out))
            }
            Value::Number(n) if depth == shape.len() => {
                out.push(n.as_f64().unwrap_or(f64::NAN));
                true
            }
            _ => false,
        }
    }
    if shape.is_empty() || !walk(v, 0, &shape, &mut flat) {
        bail!("{}: array '{name}' is not a rectangular nested list of numbers", path.display());
    }
    Ok(ArrayD::from_shape_vec(IxDyn(&shape), flat).expect("walk checked the shape"))
}

/// Write named arrays to `.npz` or `.json`, atomically.
pub fn write_coeffs(path: &Path, arrays: &[(String, ArrayD<f64>)]) -> Result<()> {
    match format_of(path)? {
        Format::Npz => write_npz(path, arrays)?,
        Format::Json => {
            let mut obj = serde_json::Map::new();
            for (name, a) in arrays {
                obj.insert(name.clone(), to_json(a));
            }
            write_atomic(path, |w| {
                serde_json::to_writer(&mut *w, &Value::Object(obj))
                    .map_err(|e| awd::io::IoError::Format { path: path.to_path_buf(), reason: e.to_string() })
            })?;
        }
    }
    Ok(())
}

/// Read named arrays from `.npz` or `.json`.
pub fn read_coeffs(path: &Path) -> Result<Vec<(String, ArrayD<f64>)>> {
    match format_of(path)? {
        Format::Npz => Ok(read_npz_f64(path)?),
        Format::Json => {
            let text = std::fs::read_to_string(path).with_context(|| format!("{}: cannot read", path.display()))?;
            let v: Value =
                serde_json::from_str(&text).with_context(|| format!("{}: not valid JSON", path.display()))?;
            let Value::Object(obj) = v else {
                bail!("{}: expected a JSON object of named arrays (a, d1, ...)", path.display());
            };
            obj.iter().map(|(k, v)| Ok((k.clone(), from_json(path, k, v)?))).collect()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_round_trip_keeps_shape_and_bits() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("c.json");
        let a = ArrayD::from_shape_vec(IxDyn(&[2, 3]), vec![0.1, 1e-300, -2.5, 3.0, 0.123_456_789_012_345_67, 9.0])
            .unwrap();
        let b = ArrayD::from_shape_vec(IxDyn(&[3]), vec![1.0, 2.0, 3.0]).unwrap();
        write_coeffs(&p, &[("a".into(), a.clone()), ("d1".into(), b.clone())]).unwrap();
        let back = read_coeffs(&p).unwrap();
        let get = |n: &str| back.iter().find(|(k, _)| k == n).unwrap().1.clone();
        assert_eq!(get("a"), a);
        assert_eq!(get("d1"), b);
    }

    #[test]
    fn ragged_json_is_rejected() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("c.json");
        std::fs::write(&p, r#"{"a": [[1, 2], [3]]}"#).unwrap();
        let e = read_coeffs(&p).unwrap_err().to_string();
        assert!(e.contains("rectangular"), "{e}");
    }
}
