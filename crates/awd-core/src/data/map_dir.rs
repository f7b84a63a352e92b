//! A folder of maps split into train, validation and test:
//! `{train,val,test}_maps.npy` `(n, H, W)` and `{train,val,test}_params.npy`
//! `(n, p)` (for the cosmology case `p = 3`: m_nu (eV), Omega_m, 10^9 A_s).
//! Written by `awd data cosmology`; N-body maps of a user's own can be laid
//! out the same way.

use std::path::Path;

use ndarray::{Array2, Array3, Ix2, Ix3};

use super::lognormal::{MapSet, SimulatedMaps};
use crate::io::{read_npy_f64, shape_string, write_npy, IoError};

/// The three parts in file-name order.
pub const PARTS: [&str; 3] = ["train", "val", "test"];

/// Write the three parts into `dir` (atomically, file by file).
pub fn write_map_dir(dir: &Path, data: &SimulatedMaps) -> Result<(), IoError> {
    for (name, set) in PARTS.iter().zip([&data.train, &data.val, &data.test]) {
        write_npy(&dir.join(format!("{name}_maps.npy")), set.maps.view().into_dyn())?;
        write_npy(&dir.join(format!("{name}_params.npy")), set.params.view().into_dyn())?;
    }
    Ok(())
}

fn read_part(dir: &Path, name: &str) -> Result<MapSet, IoError> {
    let maps_path = dir.join(format!("{name}_maps.npy"));
    let params_path = dir.join(format!("{name}_params.npy"));
    let maps = read_npy_f64(&maps_path)?;
    let maps: Array3<f64> = maps.into_dimensionality::<Ix3>().map_err(|_| {
        IoError::format(&maps_path, "maps must be a 3-D array (n, height, width); got another number of axes")
    })?;
    let params = read_npy_f64(&params_path)?;
    let shape = params.shape().to_vec();
    let params: Array2<f64> = params.into_dimensionality::<Ix2>().map_err(|_| {
        IoError::format(
            &params_path,
            format!("parameters must be a 2-D array (n, p); got shape {}", shape_string(&shape)),
        )
    })?;
    if maps.dim().0 != params.nrows() {
        return Err(IoError::format(
            &params_path,
            format!(
                "{} parameter rows but {} has {} maps; they must match, one row per map",
                params.nrows(),
                maps_path.display(),
                maps.dim().0
            ),
        ));
    }
    if maps.dim().0 == 0 {
        return Err(IoError::format(&maps_path, "holds no maps"));
    }
    crate::check_finite(&maps).map_err(|e| IoError::format(&maps_path, format!("{e}; remove or repair that map")))?;
    crate::check_finite(&params).map_err(|e| IoError::format(&params_path, e.to_string()))?;
    Ok(MapSet { maps, params })
}

/// Read and check a map folder: all parts present, maps and parameters of
/// equal counts, all maps of one shape, all values finite, the same number
/// of parameter columns everywhere.
pub fn read_map_dir(dir: &Path) -> Result<SimulatedMaps, IoError> {
    let train = read_part(dir, "train")?;
    let val = read_part(dir, "val")?;
    let test = read_part(dir, "test")?;
    let shape = |s: &MapSet| (s.maps.dim().1, s.maps.dim().2, s.params.ncols());
    for (name, set) in [("val", &val), ("test", &test)] {
        if shape(set) != shape(&train) {
            let (h, w, p) = shape(set);
            let (h0, w0, p0) = shape(&train);
            return Err(IoError::format(
                &dir.join(format!("{name}_maps.npy")),
                format!("maps of {h}x{w} with {p} parameters, but the training maps are {h0}x{w0} with {p0}"),
            ));
        }
    }
    Ok(SimulatedMaps { train, val, test })
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::Array3;

    fn set(n: usize, size: usize) -> MapSet {
        MapSet { maps: Array3::from_elem((n, size, size), 0.5), params: Array2::from_elem((n, 3), 0.3) }
    }

    #[test]
    fn round_trip_and_errors_name_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let data = SimulatedMaps { train: set(4, 8), val: set(2, 8), test: set(2, 8) };
        write_map_dir(dir.path(), &data).unwrap();
        let back = read_map_dir(dir.path()).unwrap();
        assert_eq!(back.train.maps, data.train.maps);
        // counts that differ
        write_npy(&dir.path().join("val_params.npy"), Array2::<f64>::zeros((3, 3)).view().into_dyn()).unwrap();
        let e = read_map_dir(dir.path()).unwrap_err().to_string();
        assert!(e.contains("val_params.npy") && e.contains("3 parameter rows") && e.contains("2 maps"), "{e}");
        // NaN in a map
        write_map_dir(dir.path(), &data).unwrap();
        let mut bad = data.test.maps.clone();
        bad[[1, 2, 3]] = f64::NAN;
        write_npy(&dir.path().join("test_maps.npy"), bad.view().into_dyn()).unwrap();
        let e = read_map_dir(dir.path()).unwrap_err().to_string();
        assert!(e.contains("test_maps.npy") && e.contains("NaN") && e.contains("[1, 2, 3]"), "{e}");
        // a different map size
        write_map_dir(dir.path(), &SimulatedMaps { test: set(2, 6), ..data.clone() }).unwrap();
        let e = read_map_dir(dir.path()).unwrap_err().to_string();
        assert!(e.contains("6x6") && e.contains("8x8"), "{e}");
    }
}
