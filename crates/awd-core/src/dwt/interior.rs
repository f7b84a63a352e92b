//! Hand-written synthesis of the interior of long signals: f64 on AVX2 +
//! FMA and on AVX-512, f32 on AVX-512. The generic kernel's sums in its
//! order (tested bit for bit in `kernel`'s tests), with more independent
//! accumulator chains in registers than the compiler keeps there from the
//! generic code.

use super::kernel::{kernel_build, KernelBuild, OutBuf, Taps};
use super::wide::{Wide, ROW_VECTORS};

/// Pairs per step of the AVX2 f64 synthesis kernel (four 256-bit vectors
/// per channel).
const INTERIOR_PAIRS: usize = 16;
/// Pairs per step of the AVX-512 kernel in type `T` (four 512-bit vectors
/// per channel: 32 f64 or 64 f32 pairs).
const fn pairs_wide<T: Wide>() -> usize {
    ROW_VECTORS * T::LANES
}

/// Whole steps of `step` pairs from `q0` whose inputs lie inside `ca` and
/// `cd` (filters of `2 half` taps) and whose outputs fit `out_len`, at most
/// `pairs / step`.
fn whole_steps(
    ca_len: usize,
    cd_len: usize,
    half: usize,
    q0: usize,
    pairs: usize,
    step: usize,
    out_len: usize,
) -> usize {
    // step s reads coefficients below q0 + (s + 1) step + half - 1
    let fit = (ca_len.min(cd_len) + 1).saturating_sub(q0 + half) / step;
    fit.min(pairs / step).min(out_len / (2 * step))
}

/// f64 synthesis of whole steps of pairs from `q0` whose inputs lie inside
/// the coefficients, on AVX2 + FMA or AVX-512; returns how many pairs it
/// wrote (0 in the portable build).
#[inline(always)]
pub(crate) fn synthesis_f64(
    ca: &[f64],
    cd: &[f64],
    taps: &Taps,
    q0: usize,
    pairs: usize,
    out: &mut OutBuf<f64>,
) -> usize {
    let build = kernel_build();
    let step = if build == KernelBuild::Avx512 { pairs_wide::<f64>() } else { INTERIOR_PAIRS };
    let steps = whole_steps(ca.len(), cd.len(), taps.f / 2, q0, pairs, step, out.len());
    #[cfg(target_arch = "x86_64")]
    if steps > 0 && build >= KernelBuild::Avx2 {
        // SAFETY: the build is at most what the CPU supports (checked at run
        // time); every read is below q0 + steps * step + half - 1 <= len
        // (above) and every write below 2 * steps * step <= out.len().
        unsafe {
            if build == KernelBuild::Avx512 {
                synthesis_steps_avx512(ca, cd, &taps.synthesis, q0, steps, out)
            } else {
                synthesis_steps_f64_avx2(ca, cd, &taps.synthesis, q0, steps, out)
            }
        };
        return steps * step;
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = (steps, ca, cd, q0, out);
    0
}

/// f32 synthesis of whole steps of pairs from `q0` whose inputs lie inside
/// the coefficients, on AVX-512; returns how many pairs it wrote (0 in the
/// other builds).
#[inline(always)]
pub(crate) fn synthesis_f32(
    ca: &[f32],
    cd: &[f32],
    taps: &Taps,
    q0: usize,
    pairs: usize,
    out: &mut OutBuf<f32>,
) -> usize {
    if kernel_build() != KernelBuild::Avx512 {
        return 0;
    }
    let step = pairs_wide::<f32>();
    let steps = whole_steps(ca.len(), cd.len(), taps.f / 2, q0, pairs, step, out.len());
    #[cfg(target_arch = "x86_64")]
    if steps > 0 {
        // SAFETY: as in `synthesis_f64`.
        unsafe { synthesis_steps_avx512(ca, cd, &taps.float32().synthesis, q0, steps, out) };
        return steps * step;
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = (steps, ca, cd, q0, out);
    0
}

/// The steps of [`synthesis_f64`]: per tap, each coefficient vector
/// is loaded once and used by both outputs at once, so eight accumulators
/// (independent chains of multiply-adds) stay in registers with the taps.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn synthesis_steps_f64_avx2(
    ca: &[f64],
    cd: &[f64],
    syn: &[Vec<f64>; 4],
    q0: usize,
    steps: usize,
    out: &mut OutBuf<f64>,
) {
    use std::arch::x86_64::*;
    const V: usize = INTERIOR_PAIRS / 4;
    let half = syn[0].len();
    let (pa, pd) = (ca.as_ptr(), cd.as_ptr());
    let po = out.as_mut_ptr().cast::<f64>();
    for s in 0..steps {
        let q = q0 + s * INTERIOR_PAIRS;
        let mut even = [_mm256_setzero_pd(); V];
        let mut odd = [_mm256_setzero_pd(); V];
        let taps = syn[0].iter().zip(&syn[1]).zip(&syn[2]).zip(&syn[3]).take(half);
        for (k, (((&t0, &t1), &t2), &t3)) in taps.enumerate() {
            let (c0, c1, c2, c3) = (_mm256_set1_pd(t0), _mm256_set1_pd(t1), _mm256_set1_pd(t2), _mm256_set1_pd(t3));
            for v in 0..V {
                // the generic kernel's order: + c0 a, then + c1 d (even); + c2 a, + c3 d (odd)
                let a = _mm256_loadu_pd(pa.add(q + 4 * v + k));
                let d = _mm256_loadu_pd(pd.add(q + 4 * v + k));
                even[v] = _mm256_fmadd_pd(c1, d, _mm256_fmadd_pd(c0, a, even[v]));
                odd[v] = _mm256_fmadd_pd(c3, d, _mm256_fmadd_pd(c2, a, odd[v]));
            }
        }
        for v in 0..V {
            // [e0 e1 e2 e3], [o0 o1 o2 o3] -> [e0 o0 e1 o1], [e2 o2 e3 o3]
            let lo = _mm256_unpacklo_pd(even[v], odd[v]);
            let hi = _mm256_unpackhi_pd(even[v], odd[v]);
            let at = po.add(2 * (s * INTERIOR_PAIRS + 4 * v));
            _mm256_storeu_pd(at, _mm256_permute2f128_pd::<0x20>(lo, hi));
            _mm256_storeu_pd(at.add(4), _mm256_permute2f128_pd::<0x31>(lo, hi));
        }
    }
}

/// [`synthesis_steps_f64_avx2`] in 512-bit registers, in f64 or f32:
/// [`pairs_wide`] pairs per step (four registers per channel), the outputs
/// interleaved by two-source permutes ([`Wide::interleave`]).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,fma")]
unsafe fn synthesis_steps_avx512<T: Wide>(
    ca: &[T],
    cd: &[T],
    syn: &[Vec<T>; 4],
    q0: usize,
    steps: usize,
    out: &mut OutBuf<T>,
) {
    const V: usize = ROW_VECTORS;
    let (lanes, step) = (T::LANES, pairs_wide::<T>());
    let half = syn[0].len();
    let (pa, pd) = (ca.as_ptr(), cd.as_ptr());
    let po = out.as_mut_ptr().cast::<T>();
    for s in 0..steps {
        let q = q0 + s * step;
        let mut even = [T::splat(T::ZERO); V];
        let mut odd = [T::splat(T::ZERO); V];
        let taps = syn[0].iter().zip(&syn[1]).zip(&syn[2]).zip(&syn[3]).take(half);
        for (k, (((&t0, &t1), &t2), &t3)) in taps.enumerate() {
            let (c0, c1, c2, c3) = (T::splat(t0), T::splat(t1), T::splat(t2), T::splat(t3));
            for v in 0..V {
                // the generic kernel's order: + c0 a, then + c1 d (even); + c2 a, + c3 d (odd)
                let a = T::load(pa.add(q + lanes * v + k));
                let d = T::load(pd.add(q + lanes * v + k));
                even[v] = T::fmadd(c1, d, T::fmadd(c0, a, even[v]));
                odd[v] = T::fmadd(c3, d, T::fmadd(c2, a, odd[v]));
            }
        }
        for v in 0..V {
            let at = po.add(2 * (s * step + lanes * v));
            let (lo, hi) = T::interleave(even[v], odd[v]);
            T::store(at, lo);
            T::store(at.add(lanes), hi);
        }
    }
}
