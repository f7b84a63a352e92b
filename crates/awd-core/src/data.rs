//! Built-in data sets: the synthetic benchmark (below), the clathrin tracks
//! ([`clathrin`]) and simulated lensing maps ([`cosmology`] spectra,
//! [`lognormal`] simulator, [`map_dir`] folders).
//!
//! The synthetic benchmark of the AWD paper (§4.1, App. B): inputs
//! `x ~ N(0, I_64)`, the db5 coefficients `Psi x` (J = 4, zero mode), and a
//! response `y = <Psi x, beta> + N(0, 0.1^2)` with `beta = 2` at positions 7,
//! 8 and 9 of the level-3 detail array `cD_3` and 0 elsewhere. The true
//! wavelet is db5, so distillation should recover it.

pub mod clathrin;
pub mod cosmology;
pub mod lognormal;
pub mod map_dir;

use ndarray::{Array1, Array2};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, StandardNormal};

use crate::dwt::Plan1d;
use crate::error::Result;
use crate::{Mode, Wavelet};

/// Settings of the synthetic benchmark.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct SyntheticSpec {
    /// Training samples (paper: 50,000).
    pub train: usize,
    /// Test samples (paper: 5,000).
    pub test: usize,
    /// Signal length (paper: 64).
    pub length: usize,
    /// Standard deviation of the response noise (paper: 0.1).
    pub noise: f64,
    /// Seed of the generator.
    pub seed: u64,
}

impl Default for SyntheticSpec {
    fn default() -> Self {
        SyntheticSpec { train: 50_000, test: 5_000, length: 64, noise: 0.1, seed: 0 }
    }
}

/// The synthetic data: inputs and responses for training and testing.
#[derive(Debug, Clone)]
pub struct SyntheticData {
    /// Training inputs `(train, length)`.
    pub x_train: Array2<f64>,
    /// Training responses `(train,)`.
    pub y_train: Array1<f64>,
    /// Test inputs `(test, length)`.
    pub x_test: Array2<f64>,
    /// Test responses `(test,)`.
    pub y_test: Array1<f64>,
    /// `beta` in pywt's packed coefficient order `[cA_4, cD_4, cD_3, cD_2, cD_1]`.
    pub beta: Vec<f64>,
}

/// The true wavelet, levels and mode of the benchmark.
pub const TRUE_WAVELET: &str = "db5";
/// Levels J of the benchmark.
pub const LEVELS: usize = 4;
/// Positions of the non-zero `beta` inside `cD_3`.
pub const BETA_POSITIONS: [usize; 3] = [7, 8, 9];

/// Generate the benchmark data (seeded).
pub fn synthetic(spec: &SyntheticSpec) -> Result<SyntheticData> {
    let w = Wavelet::from_name(TRUE_WAVELET)?;
    let plan = Plan1d::with_boundary_levels(spec.length, &w, Mode::Zero, LEVELS)?;
    let mut beta = vec![0.0; plan.total_len()];
    let cd3 = plan.offsets()[LEVELS - 3 + 1];
    for p in BETA_POSITIONS {
        beta[cd3 + p] = 2.0;
    }
    let mut rng = ChaCha8Rng::seed_from_u64(spec.seed);
    let mut draw = |n: usize| -> Result<(Array2<f64>, Array1<f64>)> {
        let x = Array2::from_shape_simple_fn((n, spec.length), || StandardNormal.sample(&mut rng));
        let coeffs = plan.wavedec(x.view())?;
        let clean = coeffs.data.dot(&Array1::from(beta.clone()));
        let y =
            clean.mapv(|v| v + spec.noise * <StandardNormal as Distribution<f64>>::sample(&StandardNormal, &mut rng));
        Ok((x, y))
    };
    let (x_train, y_train) = draw(spec.train)?;
    let (x_test, y_test) = draw(spec.test)?;
    Ok(SyntheticData { x_train, y_train, x_test, y_test, beta })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn response_is_the_cd3_coefficients() {
        let spec = SyntheticSpec { train: 50, test: 10, noise: 0.0, ..Default::default() };
        let d = synthetic(&spec).unwrap();
        let w = Wavelet::from_name("db5").unwrap();
        let c = crate::dwt::wavedec(d.x_train.row(3).as_slice().unwrap(), &w, Mode::Zero, 4).unwrap();
        // pywt order: c[2] is cD_3
        let want = 2.0 * (c[2][7] + c[2][8] + c[2][9]);
        assert!((d.y_train[3] - want).abs() < 1e-12);
        assert_eq!(d.beta.iter().filter(|&&b| b != 0.0).count(), 3);
        // seeded
        assert_eq!(synthetic(&spec).unwrap().x_test, d.x_test);
    }
}
