//! # awd-core
//!
//! The numerical core of adaptive wavelet distillation (AWD): orthogonal
//! wavelet filter banks and transforms that reproduce PyWavelets, plus the
//! file formats shared by the `awd` tools. No ML framework is used here.
//!
//! ## Conventions (PyWavelets')
//! * Filters: `dec_lo`, `dec_hi`, `rec_lo`, `rec_hi`. A wavelet is fixed by
//!   its lowpass `h = rec_lo` (even length `N`); `rec_hi[n] = (-1)^n h[N-1-n]`,
//!   `dec_lo = reverse(rec_lo)`, `dec_hi = reverse(rec_hi)`.
//! * 1-D multilevel order: `[cA_J, cD_J, ..., cD_1]` (coarsest first; level 1
//!   is the finest detail).
//! * 2-D order: `[cA_J, (cH_J, cV_J, cD_J), ..., (cH_1, cV_1, cD_1)]`, where
//!   `cH` is highpass along axis 0 (rows index) and lowpass along axis 1.
//! * Modes: `zero`, `constant`, `symmetric`, `reflect`, `periodic`, `smooth`,
//!   `antisymmetric`, `periodization` ([`Mode`]).
//! * Lengths: `floor((n + F - 1) / 2)` coefficients per level, `ceil(n / 2)`
//!   in periodization; reconstruction of an odd-length signal has `n + 1`
//!   samples (pywt's rule), the first `n` of which are the signal.
//!
//! Batches run along the leading axis, in parallel over the batch (rayon).

#![warn(missing_docs)]

pub mod data;
pub mod distance;
pub mod distill;
pub mod dwt;
mod error;
pub mod interp;
pub mod io;
mod mode;
pub mod peaks;
pub mod wavefun;
pub mod wavelet;

pub use error::{check_finite, Error, Result};
pub use mode::Mode;
pub use wavelet::Wavelet;
