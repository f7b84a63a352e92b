//! The AWD paper's distance between two wavelet functions: the smallest L2
//! distance over circular shifts of `psi_a` and of its left-right flip, after
//! zero-padding the shorter array at its end. No sign flip is considered.

use crate::error::{Error, Result};
use crate::wavefun::wavefun;
use crate::Wavelet;

/// Where the minimum of [`psi_distance`] was found.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Distance {
    /// The distance.
    pub value: f64,
    /// Circular shift of `psi_a` (numpy `roll`) at the minimum.
    pub shift: usize,
    /// Whether `psi_a` was flipped left-right at the minimum.
    pub flipped: bool,
}

/// `min_k min(||roll(a,k) - b||, ||roll(reverse(a),k) - b||)`, first
/// occurrence over unflipped shifts, then flipped ones (numpy's argmin order).
pub fn psi_distance(psi_a: &[f64], psi_b: &[f64]) -> Result<Distance> {
    let n = psi_a.len().max(psi_b.len());
    if n == 0 {
        return Err(Error::TooShort { reason: "both wavelet functions are empty".into() });
    }
    let mut a = psi_a.to_vec();
    a.resize(n, 0.0);
    let mut b = psi_b.to_vec();
    b.resize(n, 0.0);
    let rev: Vec<f64> = a.iter().rev().copied().collect();
    let mut best = Distance { value: f64::INFINITY, shift: 0, flipped: false };
    for (flipped, src) in [(false, &a), (true, &rev)] {
        for k in 0..n {
            // roll(src, k)[i] = src[(i - k) mod n]
            let mut ss = 0.0;
            for (i, &bi) in b.iter().enumerate() {
                let d = src[(i + n - k) % n] - bi;
                ss += d * d;
            }
            let v = ss.sqrt();
            if v < best.value {
                best = Distance { value: v, shift: k, flipped };
            }
        }
    }
    Ok(best)
}

/// Distance between the `psi` of two wavelets at cascade `level`.
pub fn wavelet_distance(a: &Wavelet, b: &Wavelet, level: usize) -> Result<Distance> {
    psi_distance(&wavefun(a, level)?.psi, &wavefun(b, level)?.psi)
}
