//! Scaling function `phi` and wavelet `psi` by the cascade algorithm, on
//! PyWavelets' grid (`Wavelet.wavefun(level)`).
//!
//! Starting from `[sqrt(2)^L]`, `L` steps of "upsample by two, convolve fully
//! with a filter" (`rec_hi` first for `psi`, `rec_lo` otherwise) give
//! `(F-1) 2^L - F + 2` samples, framed by pywt's zero padding:
//! * built-in (orthogonal) wavelets: `[0] + cascade + (F-2) zeros`, i.e.
//!   `(F-1) 2^L + 1` samples (haar: `2^L + 2`);
//! * custom filter banks, which pywt does not flag orthogonal: `[0] + cascade
//!   + (F-3) zeros`, i.e. `(F-1) 2^L` samples (pywt's `phi_d`/`psi_d`).
//!
//! `x = linspace(0, (len-1)/2^L, len)` in both cases.

use serde::Serialize;

use crate::error::{Error, Result};
use crate::Wavelet;

/// Sampled scaling and wavelet functions.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct WaveFun {
    /// Scaling function phi.
    pub phi: Vec<f64>,
    /// Wavelet function psi.
    pub psi: Vec<f64>,
    /// Sample positions.
    pub x: Vec<f64>,
}

/// Highest cascade level accepted (2^20 samples per filter tap is plenty).
pub const MAX_LEVEL: usize = 20;

/// One step: upsample by two and convolve fully (`2m + F - 2` samples).
fn upsample_convolve(input: &[f64], filter: &[f64]) -> Vec<f64> {
    let f = filter.len();
    let mut out = vec![0.0; 2 * input.len() + f - 2];
    for (i, &v) in input.iter().enumerate() {
        for (m, &c) in filter.iter().enumerate() {
            out[2 * i + m] += c * v;
        }
    }
    out
}

fn cascade(first: &[f64], rec_lo: &[f64], level: usize) -> Vec<f64> {
    let mut cur = vec![2f64.sqrt().powi(level as i32)];
    for step in 0..level {
        cur = upsample_convolve(&cur, if step == 0 { first } else { rec_lo });
    }
    cur
}

/// numpy's `linspace(0, stop, len)`: `k * step`, last element exactly `stop`.
fn linspace(stop: f64, len: usize) -> Vec<f64> {
    if len == 1 {
        return vec![0.0];
    }
    let step = stop / (len - 1) as f64;
    let mut x: Vec<f64> = (0..len).map(|k| k as f64 * step).collect();
    x[len - 1] = stop;
    x
}

/// `phi`, `psi` and `x` of `wavelet` at cascade `level` (1..=20), on pywt's grid.
pub fn wavefun(wavelet: &Wavelet, level: usize) -> Result<WaveFun> {
    if level == 0 || level > MAX_LEVEL {
        return Err(Error::InvalidArgument { reason: format!("cascade level {level} is outside 1..={MAX_LEVEL}") });
    }
    let f = wavelet.filter_len();
    let p = (1usize << level) as f64;
    let phi_c = cascade(&wavelet.rec_lo, &wavelet.rec_lo, level);
    let psi_c = cascade(&wavelet.rec_hi, &wavelet.rec_lo, level);
    let keep = phi_c.len();
    let len = if wavelet.builtin { ((f - 1) << level) + 1 } else { (f - 1) << level }.max(keep + 2);
    let frame = |c: &[f64]| {
        let mut v = Vec::with_capacity(len);
        v.push(0.0);
        v.extend_from_slice(c);
        v.resize(len, 0.0);
        v
    };
    Ok(WaveFun { phi: frame(&phi_c), psi: frame(&psi_c), x: linspace((len - 1) as f64 / p, len) })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lengths_follow_pywt() {
        let db5 = Wavelet::from_name("db5").unwrap();
        assert_eq!(wavefun(&db5, 5).unwrap().psi.len(), 289);
        let haar = Wavelet::from_name("haar").unwrap();
        let h = wavefun(&haar, 3).unwrap();
        assert_eq!(h.psi.len(), 10);
        assert_eq!(*h.x.last().unwrap(), 9.0 / 8.0);
        let custom = Wavelet::from_lowpass("c", &db5.rec_lo).unwrap();
        assert_eq!(wavefun(&custom, 5).unwrap().psi.len(), 288);
        assert!(wavefun(&db5, 0).is_err());
    }
}
