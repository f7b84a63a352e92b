//! Errors of the core crate: each names the offending value and, where there is
//! one, the fix.

use thiserror::Error;

/// Result type of the core crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// What went wrong at a public edge of the core crate.
#[derive(Debug, Error, Clone, PartialEq)]
#[non_exhaustive]
pub enum Error {
    /// A wavelet name that is not built in.
    #[error("unknown wavelet '{name}'{}; see the list of built-in wavelets", suggestion_text(.suggestion))]
    UnknownWavelet {
        /// The name asked for.
        name: String,
        /// The closest built-in name, if any is close.
        suggestion: Option<String>,
    },
    /// A custom lowpass filter that cannot define an orthogonal wavelet bank.
    #[error("invalid lowpass filter: {reason}")]
    InvalidFilter {
        /// Why the filter was rejected.
        reason: String,
    },
    /// A signal-extension mode name that is not known.
    #[error("unknown mode '{name}'; expected one of: {}", crate::Mode::NAMES.join(", "))]
    UnknownMode {
        /// The name asked for.
        name: String,
    },
    /// A decomposition level above what the input length allows.
    #[error(
        "level {level} exceeds the maximum of {max} for a length-{length} signal with {wavelet} \
         ({filter_length} taps): every coefficient would be dominated by boundary effects"
    )]
    LevelTooHigh {
        /// Level asked for.
        level: usize,
        /// PyWavelets' `dwt_max_level` for this length and filter.
        max: usize,
        /// Input length along the transformed axis.
        length: usize,
        /// Wavelet name.
        wavelet: String,
        /// Filter length.
        filter_length: usize,
    },
    /// An input that is empty or too short for the chosen mode.
    #[error("input too short: {reason}")]
    TooShort {
        /// What is too short and what is needed.
        reason: String,
    },
    /// A NaN or infinite input value.
    #[error("non-finite value {value} at {location}")]
    NonFinite {
        /// The value (NaN, inf or -inf).
        value: f64,
        /// Where it is, e.g. `index [3, 17]`.
        location: String,
    },
    /// An argument outside its valid range.
    #[error("invalid argument: {reason}")]
    InvalidArgument {
        /// What is wrong and what is allowed.
        reason: String,
    },
    /// A run stopped by its progress hook (a user's interrupt).
    #[error("stopped at epoch {epoch} by the caller")]
    Stopped {
        /// The last epoch finished.
        epoch: usize,
    },
    /// Coefficient arrays whose shapes do not fit together.
    #[error("coefficient shapes do not fit: {reason}")]
    ShapeMismatch {
        /// What does not fit.
        reason: String,
    },
}

fn suggestion_text(s: &Option<String>) -> String {
    match s {
        Some(name) => format!(" (did you mean '{name}'?)"),
        None => String::new(),
    }
}

/// Values per parallel task of the finiteness scan.
const FINITE_CHUNK: usize = 1 << 16;
/// Independent sums of the finiteness scan: enough registers' worth that
/// the adds do not wait on each other (4 AVX-512 or 8 AVX2 registers of f64).
const FINITE_LANES: usize = 32;

/// Whether every value of `slice` is finite (f64 or f32): `x * 0` is NaN
/// exactly for NaN and infinities, so a branch-free, vectorisable sum tells.
/// Always inlined, so it gets the caller's vector build.
#[inline(always)]
pub(crate) fn all_finite<T: crate::dwt::Real>(slice: &[T]) -> bool {
    let mut lanes = [T::ZERO; FINITE_LANES];
    let chunks = slice.chunks_exact(FINITE_LANES);
    let tail = chunks.remainder().iter().fold(T::ZERO, |s, &v| s + v * T::ZERO);
    for c in chunks {
        for (l, &v) in lanes.iter_mut().zip(c) {
            *l = *l + v * T::ZERO;
        }
    }
    lanes.iter().fold(tail, |s, &v| s + v) == T::ZERO
}

/// [`all_finite`] in the kernels' best build for this CPU.
pub(crate) fn all_finite_best<T: crate::dwt::Real>(slice: &[T]) -> bool {
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx512f")]
    unsafe fn avx512<T: crate::dwt::Real>(slice: &[T]) -> bool {
        all_finite(slice)
    }
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2")]
    unsafe fn avx2<T: crate::dwt::Real>(slice: &[T]) -> bool {
        all_finite(slice)
    }
    #[cfg(target_arch = "x86_64")]
    match crate::dwt::kernel_build() {
        // SAFETY: the build is at most what the CPU supports (checked at run time).
        crate::dwt::KernelBuild::Avx512 => return unsafe { avx512(slice) },
        crate::dwt::KernelBuild::Avx2 => return unsafe { avx2(slice) },
        crate::dwt::KernelBuild::Portable => {}
    }
    all_finite(slice)
}

/// Whether every value of `slice` is finite, scanned in parallel chunks.
pub(crate) fn all_finite_par<T: crate::dwt::Real>(slice: &[T]) -> bool {
    use rayon::prelude::*;
    slice.par_chunks(FINITE_CHUNK).all(all_finite_best)
}

/// Check that every value is finite (a parallel scan; the position is
/// searched only on failure); report the first offending index.
pub fn check_finite<'a, T: crate::dwt::Real, D: ndarray::Dimension>(
    data: impl Into<ndarray::ArrayView<'a, T, D>>,
) -> Result<()> {
    let view = data.into();
    if view.as_slice_memory_order().is_some_and(all_finite_par) {
        return Ok(());
    }
    let Some((flat, v)) = view.iter().enumerate().find(|(_, v)| !v.to_f64().is_finite()) else {
        return Ok(());
    };
    // unravel the logical (row-major) position into a multi-index
    let shape = view.shape();
    let mut idx = vec![0; shape.len()];
    let mut rest = flat;
    for (slot, &dim) in idx.iter_mut().zip(shape).rev() {
        *slot = rest % dim.max(1);
        rest /= dim.max(1);
    }
    Err(Error::NonFinite { value: v.to_f64(), location: format!("index {idx:?}") })
}
