//! Convergence power spectra `C_ell` of a set of cosmologies, the input of the
//! lognormal map simulator ([`super::lognormal`]).
//!
//! The JSON layout (that of `data/cosmology/cl_zs1.json`, built in):
//! `{"ell": [...], "cosmologies": [{"m_nu_ev", "omega_m", "a_s_1e9",
//! "sigma8", "lognormal_shift", "cl": [...]}, ...]}`. `C_ell` is flat-sky and
//! dimensionless: the variance of the field is `∫ ell C_ell / (2 pi) d ell`.

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::io::IoError;

/// The built-in table: ten cosmologies of the AWD paper's Table D1, sources
/// at z = 1 (see `data/cosmology/README.md`).
const BUILT_IN: &str = include_str!("../../../../data/cosmology/cl_zs1.json");

/// One cosmology: its parameters and its convergence power spectrum.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Cosmology {
    /// Total neutrino mass, eV.
    pub m_nu_ev: f64,
    /// Matter density Omega_m.
    pub omega_m: f64,
    /// Primordial amplitude, 10^9 A_s.
    pub a_s_1e9: f64,
    /// Derived sigma_8 (informative).
    #[serde(default)]
    pub sigma8: f64,
    /// Shift lambda of the shifted-lognormal field: `kappa > -lambda`.
    pub lognormal_shift: f64,
    /// `C_ell` at each multipole of the table's grid.
    pub cl: Vec<f64>,
}

impl Cosmology {
    /// The parameters as written to `*_params.npy`: m_nu (eV), Omega_m, 10^9 A_s.
    pub fn params(&self) -> [f64; 3] {
        [self.m_nu_ev, self.omega_m, self.a_s_1e9]
    }
}

/// A grid of multipoles and the spectra of several cosmologies on it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClTable {
    /// Multipoles, strictly increasing and positive.
    pub ell: Vec<f64>,
    /// The cosmologies.
    pub cosmologies: Vec<Cosmology>,
}

impl ClTable {
    /// The built-in table (ten cosmologies, z_s = 1).
    pub fn built_in() -> Self {
        let t: ClTable = serde_json::from_str(BUILT_IN).expect("the built-in C_ell table parses");
        t.validate().expect("the built-in C_ell table is valid");
        t
    }

    /// Read and check a table from a JSON file.
    pub fn load(path: &Path) -> Result<Self, IoError> {
        let text = crate::io::read_json_text(path)?;
        let t: ClTable = serde_json::from_str(&text).map_err(|e| {
            IoError::format(
                path,
                format!("not a C_ell table ({e}); expected {{\"ell\": [...], \"cosmologies\": [...]}}"),
            )
        })?;
        t.validate().map_err(|reason| IoError::format(path, reason))?;
        Ok(t)
    }

    /// Check the grid and every spectrum; the message names the bad value.
    pub fn validate(&self) -> Result<(), String> {
        if self.ell.len() < 2 {
            return Err(format!("the ell grid has {} values; at least 2 are needed", self.ell.len()));
        }
        if let Some((i, &v)) = self.ell.iter().enumerate().find(|(_, v)| !(v.is_finite() && **v > 0.0)) {
            return Err(format!("ell[{i}] = {v}; multipoles must be positive and finite"));
        }
        if let Some(i) = (1..self.ell.len()).find(|&i| self.ell[i] <= self.ell[i - 1]) {
            return Err(format!(
                "the ell grid is not increasing: ell[{}] = {} then ell[{i}] = {}; sort it and remove duplicates",
                i - 1,
                self.ell[i - 1],
                self.ell[i]
            ));
        }
        if self.cosmologies.is_empty() {
            return Err("the table has no cosmologies".into());
        }
        for (k, c) in self.cosmologies.iter().enumerate() {
            if c.cl.len() != self.ell.len() {
                return Err(format!("cosmology {k}: {} C_ell values for {} multipoles", c.cl.len(), self.ell.len()));
            }
            if let Some((i, &v)) = c.cl.iter().enumerate().find(|(_, v)| !(v.is_finite() && **v >= 0.0)) {
                return Err(format!(
                    "cosmology {k}: C_ell[{i}] = {v} (ell = {}); power must be finite and non-negative",
                    self.ell[i]
                ));
            }
            if !(c.lognormal_shift.is_finite() && c.lognormal_shift > 0.0) {
                return Err(format!("cosmology {k}: lognormal_shift = {}; it must be positive", c.lognormal_shift));
            }
            let params = c.params();
            if let Some(v) = params.iter().find(|v| !v.is_finite()) {
                return Err(format!("cosmology {k}: parameter {v} is not finite"));
            }
        }
        Ok(())
    }

    /// `C_ell` of cosmology `k` at any `ell`: log-log interpolation inside the
    /// grid, the end values held outside it, and 0 at `ell = 0` (no mean).
    pub fn cl_at(&self, k: usize, ell: f64) -> f64 {
        let cl = &self.cosmologies[k].cl;
        if ell <= 0.0 {
            return 0.0;
        }
        let grid = &self.ell;
        if ell <= grid[0] {
            return cl[0];
        }
        if ell >= grid[grid.len() - 1] {
            return cl[cl.len() - 1];
        }
        let hi = grid.partition_point(|&g| g < ell);
        let lo = hi - 1;
        let (a, b) = (cl[lo], cl[hi]);
        if a <= 0.0 || b <= 0.0 {
            let t = (ell - grid[lo]) / (grid[hi] - grid[lo]);
            return a + t * (b - a);
        }
        let t = (ell.ln() - grid[lo].ln()) / (grid[hi].ln() - grid[lo].ln());
        (a.ln() + t * (b.ln() - a.ln())).exp()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn built_in_table_has_the_ten_cosmologies_of_table_d1() {
        let t = ClTable::built_in();
        assert_eq!(t.cosmologies.len(), 10);
        assert_eq!(t.cosmologies[0].params(), [0.0, 0.3, 2.1]);
        // interpolation hits the grid values exactly
        let k = 3;
        for i in [0, 100, 280] {
            let v = t.cl_at(k, t.ell[i]);
            assert!((v / t.cosmologies[k].cl[i] - 1.0).abs() < 1e-12);
        }
        // and lies between neighbours
        let mid = (t.ell[50] * t.ell[51]).sqrt();
        let v = t.cl_at(k, mid);
        let (a, b) = (t.cosmologies[k].cl[50], t.cosmologies[k].cl[51]);
        assert!(v >= a.min(b) && v <= a.max(b));
        assert_eq!(t.cl_at(k, 0.0), 0.0);
    }

    #[test]
    fn bad_tables_are_rejected_with_the_value() {
        let mut t = ClTable::built_in();
        t.cosmologies[2].cl[7] = -1e-9;
        let e = t.validate().unwrap_err();
        assert!(e.contains("cosmology 2") && e.contains("C_ell[7]") && e.contains("-0.000000001"), "{e}");
        let mut t = ClTable::built_in();
        t.cosmologies[0].cl[3] = f64::NAN;
        assert!(t.validate().unwrap_err().contains("NaN"));
        let mut t = ClTable::built_in();
        t.ell[10] = t.ell[9];
        let e = t.validate().unwrap_err();
        assert!(e.contains("not increasing") && e.contains("ell[10]"), "{e}");
    }
}
