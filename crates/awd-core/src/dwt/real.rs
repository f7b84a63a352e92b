//! The two number types the public transforms run in: `f64` and `f32`
//! (float32 in, float32 out, as PyWavelets does).

use std::fmt::Debug;
use std::mem::MaybeUninit;
use std::ops::{Add, Mul, Neg, Sub};

/// A floating-point sample type of the transforms.
pub trait Real:
    Copy
    + Send
    + Sync
    + Debug
    + PartialOrd
    + Add<Output = Self>
    + Sub<Output = Self>
    + Mul<Output = Self>
    + Neg<Output = Self>
    + 'static
{
    /// Zero.
    const ZERO: Self;
    /// Signals per tile of the across-signals analysis (two accumulators
    /// of this width stay in AVX2 registers).
    const TILE: usize;
    /// Signals per tile of the across-signals synthesis (measured fastest).
    const TILE_INVERSE: usize;
    /// Nearest value of this type (filters are stored in f64).
    fn from_f64(v: f64) -> Self;
    /// The value as f64 (exact).
    fn to_f64(self) -> f64;
    /// `a * b + c`, fused where the build has FMA.
    fn madd<const FMA: bool>(a: Self, b: Self, c: Self) -> Self;
    /// Side of the square block one AVX2 transpose moves (one register per row).
    const BLOCK: usize;
    /// Transpose one `BLOCK x BLOCK` block: `dst[c * ds + r] = src[r * ss + c]`.
    ///
    /// # Safety
    /// The CPU must support AVX2, and both blocks must lie inside their slices
    /// (`src[(BLOCK - 1) * ss + BLOCK - 1]`, `dst[(BLOCK - 1) * ds + BLOCK - 1]`).
    #[cfg(target_arch = "x86_64")]
    unsafe fn transpose_block_avx2(src: &[Self], ss: usize, dst: &mut [MaybeUninit<Self>], ds: usize);
}

macro_rules! real {
    ($t:ty, $tile:expr, $tile_inverse:expr, $block:expr, $transpose:ident) => {
        impl Real for $t {
            const ZERO: Self = 0.0;
            const TILE: usize = $tile;
            const TILE_INVERSE: usize = $tile_inverse;
            const BLOCK: usize = $block;
            #[cfg(target_arch = "x86_64")]
            #[inline(always)]
            unsafe fn transpose_block_avx2(src: &[Self], ss: usize, dst: &mut [MaybeUninit<Self>], ds: usize) {
                debug_assert!(src.len() > ($block - 1) * ss + $block - 1 && dst.len() > ($block - 1) * ds + $block - 1);
                $transpose(src.as_ptr(), ss, dst.as_mut_ptr() as *mut $t, ds)
            }
            #[inline(always)]
            fn from_f64(v: f64) -> Self {
                v as $t
            }
            #[inline(always)]
            fn to_f64(self) -> f64 {
                self as f64
            }
            #[inline(always)]
            fn madd<const FMA: bool>(a: Self, b: Self, c: Self) -> Self {
                if FMA {
                    a.mul_add(b, c)
                } else {
                    a * b + c
                }
            }
        }
    };
}

real!(f64, 16, 16, 4, transpose4_f64);
real!(f32, 16, 32, 8, transpose8_f32);

/// 4 x 4 transpose of f64 (unpack pairs, then swap 128-bit halves).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
#[inline]
unsafe fn transpose4_f64(src: *const f64, ss: usize, dst: *mut f64, ds: usize) {
    use std::arch::x86_64::*;
    let r = [0, 1, 2, 3].map(|i| _mm256_loadu_pd(src.add(i * ss)));
    let (t0, t1) = (_mm256_unpacklo_pd(r[0], r[1]), _mm256_unpackhi_pd(r[0], r[1]));
    let (t2, t3) = (_mm256_unpacklo_pd(r[2], r[3]), _mm256_unpackhi_pd(r[2], r[3]));
    _mm256_storeu_pd(dst, _mm256_permute2f128_pd(t0, t2, 0x20));
    _mm256_storeu_pd(dst.add(ds), _mm256_permute2f128_pd(t1, t3, 0x20));
    _mm256_storeu_pd(dst.add(2 * ds), _mm256_permute2f128_pd(t0, t2, 0x31));
    _mm256_storeu_pd(dst.add(3 * ds), _mm256_permute2f128_pd(t1, t3, 0x31));
}

/// 8 x 8 transpose of f32 (unpack, shuffle, swap 128-bit halves).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
#[inline]
unsafe fn transpose8_f32(src: *const f32, ss: usize, dst: *mut f32, ds: usize) {
    use std::arch::x86_64::*;
    let r = [0, 1, 2, 3, 4, 5, 6, 7].map(|i| _mm256_loadu_ps(src.add(i * ss)));
    let t = [
        _mm256_unpacklo_ps(r[0], r[1]),
        _mm256_unpackhi_ps(r[0], r[1]),
        _mm256_unpacklo_ps(r[2], r[3]),
        _mm256_unpackhi_ps(r[2], r[3]),
        _mm256_unpacklo_ps(r[4], r[5]),
        _mm256_unpackhi_ps(r[4], r[5]),
        _mm256_unpacklo_ps(r[6], r[7]),
        _mm256_unpackhi_ps(r[6], r[7]),
    ];
    let u = [
        _mm256_shuffle_ps::<0x44>(t[0], t[2]),
        _mm256_shuffle_ps::<0xEE>(t[0], t[2]),
        _mm256_shuffle_ps::<0x44>(t[1], t[3]),
        _mm256_shuffle_ps::<0xEE>(t[1], t[3]),
        _mm256_shuffle_ps::<0x44>(t[4], t[6]),
        _mm256_shuffle_ps::<0xEE>(t[4], t[6]),
        _mm256_shuffle_ps::<0x44>(t[5], t[7]),
        _mm256_shuffle_ps::<0xEE>(t[5], t[7]),
    ];
    for c in 0..4 {
        _mm256_storeu_ps(dst.add(c * ds), _mm256_permute2f128_ps::<0x20>(u[c], u[c + 4]));
        _mm256_storeu_ps(dst.add((c + 4) * ds), _mm256_permute2f128_ps::<0x31>(u[c], u[c + 4]));
    }
}
