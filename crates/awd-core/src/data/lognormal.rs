//! Shifted-lognormal convergence maps from a power spectrum (Hilbert et al.
//! 2011; Xavier et al. 2016), with galaxy shape noise.
//!
//! `kappa = lambda (exp(g - sigma_g^2 / 2) - 1)` with `g` a zero-mean Gaussian
//! field, so `<kappa> = 0` and `kappa > -lambda`. The correlation of `g`
//! follows from the target one, `xi_g = ln(1 + xi_kappa / lambda^2)`, on a
//! periodic grid twice as fine and twice as large (per side) as the map:
//! `C_ell` on the FFT grid -> inverse FFT -> `xi_kappa` -> `xi_g` -> FFT ->
//! power of `g` (negative values clipped to 0). Each draw is then one inverse
//! FFT of complex white noise shaped by that power, whose real and imaginary
//! parts are two independent fields. The fine field is average-pooled 2x2
//! and the top-left `size x size` corner kept, which limits aliasing and
//! hides the periodicity.
//!
//! Lognormal maps reproduce the power spectrum and roughly the one-point
//! distribution, not the tails of real halo peaks: a test bed for the
//! pipeline, not a substitute for N-body maps.

use std::sync::Arc;

use ndarray::{s, Array2, Array3, ArrayView2, Axis};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, StandardNormal};
use rayon::prelude::*;
use rustfft::num_complex::Complex64;
use rustfft::{Fft, FftPlanner};
use serde::{Deserialize, Serialize};

use super::cosmology::ClTable;
use crate::error::{Error, Result};

/// Radians per arcminute.
pub const ARCMIN: f64 = std::f64::consts::PI / (180.0 * 60.0);

/// Galaxy shape noise: white Gaussian noise of standard deviation
/// `sigma_e / sqrt(n_gal * A_pix)` per pixel.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ShapeNoise {
    /// Intrinsic ellipticity dispersion per component.
    pub sigma_e: f64,
    /// Galaxies per square arcminute (0: no noise).
    pub n_gal: f64,
}

impl ShapeNoise {
    /// Per-pixel standard deviation for square pixels of `pixel_arcmin`.
    pub fn pixel_std(&self, pixel_arcmin: f64) -> f64 {
        if self.n_gal <= 0.0 || self.sigma_e <= 0.0 {
            return 0.0;
        }
        self.sigma_e / (self.n_gal * pixel_arcmin * pixel_arcmin).sqrt()
    }
}

/// Geometry and noise of simulated maps.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct MapSpec {
    /// Pixels per side.
    pub size: usize,
    /// Pixel side, arcminutes.
    pub pixel_arcmin: f64,
    /// Shape noise added to each map.
    pub noise: ShapeNoise,
}

impl MapSpec {
    /// Check the values; the message names the bad one.
    pub fn validate(&self) -> Result<()> {
        let bad = |reason: String| Err(Error::InvalidArgument { reason });
        if !(8..=2048).contains(&self.size) {
            return bad(format!("map size {} is outside 8..=2048 pixels", self.size));
        }
        if !(self.pixel_arcmin.is_finite() && self.pixel_arcmin > 0.0) {
            return bad(format!("pixel size {} arcmin must be positive", self.pixel_arcmin));
        }
        let n = self.noise;
        if !(n.sigma_e.is_finite() && n.sigma_e >= 0.0 && n.n_gal.is_finite() && n.n_gal >= 0.0) {
            return bad(format!("shape noise sigma_e {} and n_gal {} must be >= 0", n.sigma_e, n.n_gal));
        }
        Ok(())
    }
}

/// The precomputed Fourier amplitude of the Gaussian field of one cosmology.
pub struct LognormalField {
    spec: MapSpec,
    /// Fine grid points per side (4 x size).
    n: usize,
    /// `sqrt` of the power of `g` per FFT mode, row-major `n x n`.
    amp: Vec<f64>,
    /// Variance of `g`.
    sigma_g2: f64,
    /// Shift lambda.
    lambda: f64,
    ifft: Arc<dyn Fft<f64>>,
}

/// In-place 2-D FFT of a row-major `n x n` grid with `fft` of length `n`.
fn fft2(data: &mut [Complex64], n: usize, fft: &dyn Fft<f64>) {
    let mut scratch = vec![Complex64::default(); fft.get_inplace_scratch_len()];
    fft.process_with_scratch(data, &mut scratch);
    transpose(data, n);
    fft.process_with_scratch(data, &mut scratch);
    transpose(data, n);
}

fn transpose(data: &mut [Complex64], n: usize) {
    for i in 0..n {
        for j in i + 1..n {
            data.swap(i * n + j, j * n + i);
        }
    }
}

/// Signed FFT frequency index of bin `i` on a length-`n` grid.
fn freq(i: usize, n: usize) -> f64 {
    if i <= n / 2 {
        i as f64
    } else {
        i as f64 - n as f64
    }
}

impl LognormalField {
    /// Precompute cosmology `k` of `table` for maps of `spec`.
    pub fn new(table: &ClTable, k: usize, spec: MapSpec) -> Result<Self> {
        spec.validate()?;
        let n = 4 * spec.size;
        let d = spec.pixel_arcmin / 2.0 * ARCMIN;
        let mut planner = FftPlanner::<f64>::new();
        let fwd = planner.plan_fft_forward(n);
        let ifft = planner.plan_fft_inverse(n);
        let kf = 2.0 * std::f64::consts::PI / (n as f64 * d);
        // spectral density S = C / d^2: its inverse FFT (1/N^2) is xi_kappa
        let mut grid: Vec<Complex64> = (0..n * n)
            .map(|idx| {
                let ell = kf * freq(idx / n, n).hypot(freq(idx % n, n));
                Complex64::new(table.cl_at(k, ell) / (d * d), 0.0)
            })
            .collect();
        fft2(&mut grid, n, ifft.as_ref());
        let lambda = table.cosmologies[k].lognormal_shift;
        let norm = 1.0 / (n * n) as f64;
        for (idx, v) in grid.iter_mut().enumerate() {
            let xi = v.re * norm;
            let arg = 1.0 + xi / (lambda * lambda);
            if arg <= 0.0 {
                return Err(Error::InvalidArgument {
                    reason: format!(
                        "cosmology {k}: the correlation {xi:e} at lag {idx} is below -lambda^2 = {:e}; \
                         no lognormal field has it (check lognormal_shift)",
                        -lambda * lambda
                    ),
                });
            }
            *v = Complex64::new(arg.ln(), 0.0);
        }
        fft2(&mut grid, n, fwd.as_ref());
        let power: Vec<f64> = grid.iter().map(|v| v.re.max(0.0)).collect();
        let sigma_g2 = power.iter().sum::<f64>() * norm;
        let amp = power.iter().map(|p| p.sqrt()).collect();
        Ok(LognormalField { spec, n, amp, sigma_g2, lambda, ifft })
    }

    /// Two independent noisy maps `(size, size)` from the generator.
    pub fn sample_pair(&self, rng: &mut ChaCha8Rng) -> [Array2<f64>; 2] {
        let n = self.n;
        // the FFT of complex white noise w1 + i w2 is complex white noise of
        // E|W_k|^2 = 2 N^2; shaped by the (real, even) amplitude, its inverse
        // FFT has real part from w1 and imaginary part from w2, each a field
        // of power P_k
        let scale = n as f64;
        let mut grid: Vec<Complex64> = self
            .amp
            .iter()
            .map(|&a| {
                let re: f64 = StandardNormal.sample(rng);
                let im: f64 = StandardNormal.sample(rng);
                Complex64::new(re, im) * (a * scale)
            })
            .collect();
        fft2(&mut grid, n, self.ifft.as_ref());
        let norm = 1.0 / (n * n) as f64;
        let noise_std = self.spec.noise.pixel_std(self.spec.pixel_arcmin);
        let m = self.spec.size;
        let mut out = [Array2::zeros((m, m)), Array2::zeros((m, m))];
        for (part, map) in out.iter_mut().enumerate() {
            let g = |i: usize, j: usize| {
                let v = grid[i * n + j] * norm;
                if part == 0 {
                    v.re
                } else {
                    v.im
                }
            };
            let kappa = |i: usize, j: usize| self.lambda * ((g(i, j) - self.sigma_g2 / 2.0).exp() - 1.0);
            for i in 0..m {
                for j in 0..m {
                    let (a, b) = (2 * i, 2 * j);
                    map[[i, j]] = 0.25 * (kappa(a, b) + kappa(a + 1, b) + kappa(a, b + 1) + kappa(a + 1, b + 1));
                }
            }
            if noise_std > 0.0 {
                map.mapv_inplace(|v| {
                    let e: f64 = StandardNormal.sample(rng);
                    v + noise_std * e
                });
            }
        }
        out
    }
}

/// How many maps per cosmology go to training, validation and test.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct SplitCounts {
    /// Training maps per cosmology.
    pub train: usize,
    /// Validation maps per cosmology.
    pub val: usize,
    /// Test maps per cosmology.
    pub test: usize,
}

impl SplitCounts {
    /// 70 % / 15 % / 15 % of `per_cosmology` (at least one map in each part).
    pub fn from_total(per_cosmology: usize) -> Result<Self> {
        if per_cosmology < 3 {
            return Err(Error::InvalidArgument {
                reason: format!("{per_cosmology} maps per cosmology; at least 3 are needed (train, validation, test)"),
            });
        }
        let val = ((per_cosmology as f64 * 0.15).round() as usize).max(1);
        let test = val;
        Ok(SplitCounts { train: per_cosmology - val - test, val, test })
    }

    /// Exactly `train`, `val` and `test` maps per cosmology (each at least
    /// one). The two maps of a simulated pair are independent, so any
    /// counts split them safely.
    pub fn new(train: usize, val: usize, test: usize) -> Result<Self> {
        if train == 0 || val == 0 || test == 0 {
            return Err(Error::InvalidArgument {
                reason: format!(
                    "{train} training, {val} validation and {test} test maps per cosmology; each part needs at \
                     least one map"
                ),
            });
        }
        Ok(SplitCounts { train, val, test })
    }

    /// Maps per cosmology.
    pub fn total(&self) -> usize {
        self.train + self.val + self.test
    }
}

/// Maps and their parameters for one part of the split.
#[derive(Debug, Clone)]
pub struct MapSet {
    /// Maps `(n, size, size)`.
    pub maps: Array3<f64>,
    /// Parameters `(n, 3)`: m_nu (eV), Omega_m, 10^9 A_s.
    pub params: Array2<f64>,
}

impl MapSet {
    /// Number of maps.
    pub fn len(&self) -> usize {
        self.maps.len_of(Axis(0))
    }

    /// Whether there are no maps.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// The simulated data set: train, validation and test parts.
#[derive(Debug, Clone)]
pub struct SimulatedMaps {
    /// Training maps.
    pub train: MapSet,
    /// Validation maps.
    pub val: MapSet,
    /// Test maps.
    pub test: MapSet,
}

/// Simulate `counts` maps per cosmology of `table`, in parallel; map `i` of
/// cosmology `k` depends only on `(seed, k, i)`, so results do not depend on
/// the number of threads. `progress` is called once per finished cosmology.
pub fn simulate_maps(
    table: &ClTable,
    spec: MapSpec,
    counts: SplitCounts,
    seed: u64,
    progress: &(dyn Fn() + Sync),
) -> Result<SimulatedMaps> {
    let per = counts.total();
    let pairs = per.div_ceil(2);
    let m = spec.size;
    let fields: Vec<LognormalField> = (0..table.cosmologies.len())
        .into_par_iter()
        .map(|k| LognormalField::new(table, k, spec))
        .collect::<Result<_>>()?;
    let per_cosmo: Vec<Vec<Array2<f64>>> = fields
        .iter()
        .enumerate()
        .map(|(k, field)| {
            let maps: Vec<Array2<f64>> = (0..pairs)
                .into_par_iter()
                .flat_map_iter(|p| {
                    let mut rng = ChaCha8Rng::seed_from_u64(seed);
                    rng.set_stream(((k as u64) << 32) | p as u64);
                    field.sample_pair(&mut rng)
                })
                .collect();
            progress();
            maps
        })
        .collect();
    let part = |lo: usize, count: usize| -> MapSet {
        let n = count * table.cosmologies.len();
        let mut maps = Array3::zeros((n, m, m));
        let mut params = Array2::zeros((n, 3));
        for (k, list) in per_cosmo.iter().enumerate() {
            for i in 0..count {
                let row = k * count + i;
                maps.slice_mut(s![row, .., ..]).assign(&list[lo + i]);
                params.row_mut(row).assign(&ndarray::arr1(&table.cosmologies[k].params()));
            }
        }
        MapSet { maps, params }
    };
    Ok(SimulatedMaps {
        train: part(0, counts.train),
        val: part(counts.train, counts.val),
        test: part(counts.train + counts.val, counts.test),
    })
}

/// Azimuthally averaged power spectrum of a square map (flat sky, plain FFT
/// estimator, no window): for each bin `[edges[b], edges[b+1])` of `|ell|`,
/// the mean of `|FFT|^2 d^2 / N^2` over the modes in it and their count.
pub fn power_spectrum(map: ArrayView2<'_, f64>, pixel_arcmin: f64, edges: &[f64]) -> Vec<(f64, usize)> {
    let n = map.nrows();
    assert_eq!(n, map.ncols(), "power_spectrum takes square maps");
    let d = pixel_arcmin * ARCMIN;
    let fft = FftPlanner::<f64>::new().plan_fft_forward(n);
    let mut grid: Vec<Complex64> = map.iter().map(|&v| Complex64::new(v, 0.0)).collect();
    fft2(&mut grid, n, fft.as_ref());
    let kf = 2.0 * std::f64::consts::PI / (n as f64 * d);
    let mut sums = vec![(0.0, 0usize); edges.len().saturating_sub(1)];
    for (idx, v) in grid.iter().enumerate() {
        let ell = kf * freq(idx / n, n).hypot(freq(idx % n, n));
        let b = edges.partition_point(|&e| e <= ell);
        if b == 0 || b >= edges.len() {
            continue;
        }
        sums[b - 1].0 += v.norm_sqr() * d * d / (n * n) as f64;
        sums[b - 1].1 += 1;
    }
    sums.into_iter().map(|(s, c)| (if c > 0 { s / c as f64 } else { 0.0 }, c)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(size: usize, n_gal: f64) -> MapSpec {
        MapSpec { size, pixel_arcmin: 1.6, noise: ShapeNoise { sigma_e: 0.3, n_gal } }
    }

    #[test]
    fn maps_have_zero_mean_and_stay_above_minus_lambda() {
        let table = ClTable::built_in();
        let field = LognormalField::new(&table, 1, spec(32, 0.0)).unwrap();
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        let (mut sum, mut count, mut min) = (0.0, 0usize, f64::INFINITY);
        for _ in 0..200 {
            for m in field.sample_pair(&mut rng) {
                sum += m.sum();
                count += m.len();
                min = min.min(m.iter().cloned().fold(f64::INFINITY, f64::min));
            }
        }
        let lambda = table.cosmologies[1].lognormal_shift;
        let mean = sum / count as f64;
        // the pixel standard deviation is ~0.02; 400 maps of 1024 correlated pixels
        assert!(mean.abs() < 1e-3, "mean {mean}");
        assert!(min > -lambda, "min {min} vs -lambda {}", -lambda);
        assert!(min < -0.5 * lambda, "the field should approach -lambda, min {min}");
    }

    #[test]
    fn noise_has_the_requested_standard_deviation() {
        let s = spec(16, 30.0);
        assert!((s.noise.pixel_std(1.6) - 0.3 / (30.0f64 * 2.56).sqrt()).abs() < 1e-15);
        assert_eq!(ShapeNoise { sigma_e: 0.3, n_gal: 0.0 }.pixel_std(1.0), 0.0);
    }

    #[test]
    fn same_seed_same_maps_regardless_of_threads() {
        let table = ClTable::built_in();
        let counts = SplitCounts::from_total(4).unwrap();
        let a = simulate_maps(&table, spec(16, 30.0), counts, 9, &|| {}).unwrap();
        let pool = rayon::ThreadPoolBuilder::new().num_threads(1).build().unwrap();
        let b = pool.install(|| simulate_maps(&table, spec(16, 30.0), counts, 9, &|| {}).unwrap());
        assert_eq!(a.test.maps, b.test.maps);
        assert_eq!(a.train.params.row(counts.train), ndarray::arr1(&table.cosmologies[1].params()));
        let c = simulate_maps(&table, spec(16, 30.0), counts, 10, &|| {}).unwrap();
        assert_ne!(a.test.maps, c.test.maps);
    }

    #[test]
    fn more_evaluation_maps_leave_the_training_maps_unchanged() {
        let table = ClTable::built_in();
        let small = SplitCounts::from_total(20).unwrap();
        assert_eq!((small.train, small.val, small.test), (14, 3, 3));
        let large = SplitCounts::new(14, 5, 9).unwrap();
        let a = simulate_maps(&table, spec(16, 0.0), small, 4, &|| {}).unwrap();
        let b = simulate_maps(&table, spec(16, 0.0), large, 4, &|| {}).unwrap();
        assert_eq!(a.train.maps, b.train.maps);
        assert_eq!((b.val.len(), b.test.len()), (5 * 10, 9 * 10));
        // cosmology 1's first validation maps are the same maps
        assert_eq!(a.val.maps.slice(s![3..6, .., ..]), b.val.maps.slice(s![5..8, .., ..]));
        assert!(SplitCounts::new(14, 0, 9).is_err());
    }
}
