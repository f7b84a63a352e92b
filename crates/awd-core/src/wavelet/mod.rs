//! Orthogonal wavelet filter banks: the built-in families and custom lowpass
//! filters, with PyWavelets' filter names and orientation.
//!
//! A bank is fixed by its lowpass `h = rec_lo` (even length `N`):
//! `rec_hi[n] = (-1)^n h[N-1-n]`, `dec_lo = reverse(rec_lo)`,
//! `dec_hi = reverse(rec_hi)`. These rules reproduce every built-in pywt
//! wavelet bit for bit, and they are how a learned filter becomes a bank.

mod json;
mod table;

use std::path::Path;

use serde::Serialize;

use crate::error::{Error, Result};

pub use json::{load_wavelet_json, WaveletFile};

/// One built-in wavelet as stored in the generated table.
pub(crate) struct BuiltinWavelet {
    pub name: &'static str,
    pub family_name: &'static str,
    pub vanishing_moments_psi: u32,
    pub symmetry: &'static str,
    pub rec_lo: &'static [f64],
}

/// An orthogonal two-channel filter bank with PyWavelets' four filters.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Wavelet {
    /// Name: a pywt name (`db5`) for built-ins, a user label for custom banks.
    pub name: String,
    /// Decomposition lowpass (pywt `dec_lo`).
    pub dec_lo: Vec<f64>,
    /// Decomposition highpass (pywt `dec_hi`).
    pub dec_hi: Vec<f64>,
    /// Reconstruction lowpass (pywt `rec_lo`), the filter `h` AWD learns.
    pub rec_lo: Vec<f64>,
    /// Reconstruction highpass (pywt `rec_hi`).
    pub rec_hi: Vec<f64>,
    /// True for the built-in families, which pywt marks orthogonal.
    pub builtin: bool,
}

impl Wavelet {
    /// A built-in wavelet by pywt name (`haar`, `db1`..`db38`, `sym2`..`sym20`,
    /// `coif1`..`coif17`). Unknown names get the closest suggestion.
    pub fn from_name(name: &str) -> Result<Self> {
        let key = name.trim().to_ascii_lowercase();
        match table::BUILTIN.iter().find(|w| w.name == key) {
            Some(w) => {
                let mut wav = Self::bank_from_lowpass(w.name, w.rec_lo);
                wav.builtin = true;
                Ok(wav)
            }
            None => Err(Error::UnknownWavelet { name: name.to_string(), suggestion: closest_name(&key) }),
        }
    }

    /// A custom bank from its lowpass filter `h` in pywt's `rec_lo`
    /// orientation. `h` must be non-empty, of even length and finite.
    pub fn from_lowpass(name: &str, h: &[f64]) -> Result<Self> {
        if h.is_empty() {
            return Err(Error::InvalidFilter {
                reason: "the lowpass filter is empty; give an even number of taps (e.g. 10 for db5)".into(),
            });
        }
        if !h.len().is_multiple_of(2) {
            return Err(Error::InvalidFilter {
                reason: format!("the lowpass filter has {} taps; an orthogonal wavelet needs an even number", h.len()),
            });
        }
        if h.len() > 2 * crate::dwt::kernel::MAX_HALF {
            return Err(Error::InvalidFilter {
                reason: format!(
                    "the lowpass filter has {} taps; at most {} are supported",
                    h.len(),
                    2 * crate::dwt::kernel::MAX_HALF
                ),
            });
        }
        if let Some((i, v)) = h.iter().enumerate().find(|(_, v)| !v.is_finite()) {
            return Err(Error::InvalidFilter { reason: format!("tap {i} is {v}") });
        }
        Ok(Self::bank_from_lowpass(name, h))
    }

    /// A wavelet from a command-line style spec: a built-in name, or the path
    /// of a wavelet JSON file (any value ending in `.json`).
    pub fn resolve(spec: &str) -> Result<Self, crate::io::IoError> {
        if spec.to_ascii_lowercase().ends_with(".json") {
            Ok(load_wavelet_json(Path::new(spec))?.wavelet)
        } else {
            Ok(Self::from_name(spec)?)
        }
    }

    fn bank_from_lowpass(name: &str, h: &[f64]) -> Self {
        let rec_lo = h.to_vec();
        let rec_hi = qmf_highpass(h);
        let dec_lo: Vec<f64> = rec_lo.iter().rev().copied().collect();
        let dec_hi: Vec<f64> = rec_hi.iter().rev().copied().collect();
        Wavelet { name: name.to_string(), dec_lo, dec_hi, rec_lo, rec_hi, builtin: false }
    }

    /// Filter length `F` (pywt `dec_len` = `rec_len`).
    pub fn filter_len(&self) -> usize {
        self.rec_lo.len()
    }
}

/// Facts about a built-in wavelet, for listings.
#[derive(Debug, Clone, Serialize)]
pub struct WaveletInfo {
    /// pywt name.
    pub name: &'static str,
    /// pywt family name.
    pub family_name: &'static str,
    /// Filter length.
    pub filter_length: usize,
    /// Vanishing moments of psi (pywt's value).
    pub vanishing_moments_psi: u32,
    /// pywt's symmetry label.
    pub symmetry: &'static str,
}

/// Every built-in wavelet, in pywt's order.
pub fn builtin_wavelets() -> Vec<WaveletInfo> {
    table::BUILTIN
        .iter()
        .map(|w| WaveletInfo {
            name: w.name,
            family_name: w.family_name,
            filter_length: w.rec_lo.len(),
            vanishing_moments_psi: w.vanishing_moments_psi,
            symmetry: w.symmetry,
        })
        .collect()
}

/// The built-in name closest to `name` by edit distance, if reasonably close.
/// Ties go to the same family (`db`, `sym`, ...), then to an order that
/// starts with the same digit, then to the nearer length (`db55` -> `db5`,
/// not `db15`).
fn closest_name(name: &str) -> Option<String> {
    let split = |s: &str| {
        let at = s.find(|c: char| c.is_ascii_digit()).unwrap_or(s.len());
        (s[..at].to_string(), s[at..].chars().next())
    };
    let (family, first_digit) = split(name);
    table::BUILTIN
        .iter()
        .map(|w| {
            let (f, d) = split(w.name);
            let tie = (f != family, d != first_digit, w.name.len().abs_diff(name.len()));
            (edit_distance(name, w.name), tie, w.name)
        })
        .min()
        .filter(|(d, _, _)| *d <= 2.max(name.len() / 2))
        .map(|(_, _, n)| n.to_string())
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            let sub = prev[j] + usize::from(ca != *cb);
            cur[j + 1] = sub.min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}

/// The quadrature-mirror highpass of a lowpass `h`: `g[n] = (-1)^n h[N-1-n]`
/// (pywt's `rec_hi` from `rec_lo`). The one place this rule is written.
pub fn qmf_highpass(h: &[f64]) -> Vec<f64> {
    let n = h.len();
    (0..n).map(|i| if i % 2 == 0 { h[n - 1 - i] } else { -h[n - 1 - i] }).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn db5_identities() {
        let w = Wavelet::from_name("db5").unwrap();
        let s: f64 = w.rec_lo.iter().sum();
        assert!((s - 2f64.sqrt()).abs() < 1e-14);
        assert!(w.rec_hi.iter().sum::<f64>().abs() < 1e-14);
        let even: f64 = w.rec_lo.iter().step_by(2).sum();
        assert!((even - 0.5f64.sqrt()).abs() < 1e-14);
    }

    #[test]
    fn unknown_name_suggests_closest() {
        match Wavelet::from_name("db5x") {
            Err(Error::UnknownWavelet { suggestion: Some(s), .. }) => assert_eq!(s, "db5"),
            other => panic!("unexpected {other:?}"),
        }
        let msg = Wavelet::from_name("sym").unwrap_err().to_string();
        assert!(msg.contains("did you mean"), "{msg}");
        // ties prefer the same family, the same leading digit, the nearer length
        for (typo, want) in [("db55", "db5"), ("sym44", "sym4"), ("coif33", "coif3"), ("bd5", "db5")] {
            match Wavelet::from_name(typo) {
                Err(Error::UnknownWavelet { suggestion: Some(s), .. }) => assert_eq!(s, want, "{typo}"),
                other => panic!("{typo}: unexpected {other:?}"),
            }
        }
    }

    #[test]
    fn bad_lowpass_rejected() {
        assert!(Wavelet::from_lowpass("x", &[]).is_err());
        assert!(Wavelet::from_lowpass("x", &[1.0, 2.0, 3.0]).is_err());
        assert!(Wavelet::from_lowpass("x", &[1.0, f64::NAN]).is_err());
    }

    #[test]
    fn seventy_five_builtins() {
        assert_eq!(builtin_wavelets().len(), 75);
    }
}
