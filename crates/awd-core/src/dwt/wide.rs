//! AVX-512 builds of the tiles' level kernels ([`super::tiles`]): a tile
//! row of `W` lanes is [`ROW_VECTORS`] 512-bit registers, so the two
//! channels' accumulators are eight independent chains of multiply-adds,
//! enough to keep both FMA pipes busy. The sums are the generic level
//! kernels' in their order (lane-wise fused multiply-adds), so every build
//! gives the same bits; `tiles`' tests compare them.

/// Registers per tile row: the tile width of this build is
/// `ROW_VECTORS * Wide::LANES` (32 f64 or 64 f32 signals).
pub(crate) const ROW_VECTORS: usize = 4;

/// A sample type with 512-bit vector operations.
pub(crate) trait Wide: super::Real {
    /// Values per 512-bit register.
    const LANES: usize;
    /// One register of this type.
    #[cfg(target_arch = "x86_64")]
    type V: Copy;
    /// Every lane `x`.
    #[cfg(target_arch = "x86_64")]
    unsafe fn splat(x: Self) -> Self::V;
    /// Load `LANES` values from `p` (unaligned).
    #[cfg(target_arch = "x86_64")]
    unsafe fn load(p: *const Self) -> Self::V;
    /// Store `LANES` values at `p` (unaligned).
    #[cfg(target_arch = "x86_64")]
    unsafe fn store(p: *mut Self, v: Self::V);
    /// `a * b + c`, fused, lane by lane.
    #[cfg(target_arch = "x86_64")]
    unsafe fn fmadd(a: Self::V, b: Self::V, c: Self::V) -> Self::V;
    /// Side of the square block [`Wide::transpose_block`] moves.
    const BLOCK_WIDE: usize;
    /// Transpose one `BLOCK_WIDE` square block, as
    /// [`super::Real::transpose_block_avx2`] does.
    ///
    /// # Safety
    /// The CPU must support AVX-512F; both blocks must lie inside their
    /// slices.
    #[cfg(target_arch = "x86_64")]
    unsafe fn transpose_block(src: &[Self], ss: usize, dst: &mut [std::mem::MaybeUninit<Self>], ds: usize);
}

macro_rules! wide {
    ($t:ty, $lanes:expr, $v:ident, $splat:ident, $load:ident, $store:ident, $fmadd:ident, $block:expr, $transpose:expr) => {
        impl Wide for $t {
            const LANES: usize = $lanes;
            const BLOCK_WIDE: usize = $block;
            #[cfg(target_arch = "x86_64")]
            #[inline(always)]
            unsafe fn transpose_block(src: &[Self], ss: usize, dst: &mut [std::mem::MaybeUninit<Self>], ds: usize) {
                $transpose(src, ss, dst, ds)
            }
            #[cfg(target_arch = "x86_64")]
            type V = std::arch::x86_64::$v;
            #[cfg(target_arch = "x86_64")]
            #[inline(always)]
            unsafe fn splat(x: Self) -> Self::V {
                std::arch::x86_64::$splat(x)
            }
            #[cfg(target_arch = "x86_64")]
            #[inline(always)]
            unsafe fn load(p: *const Self) -> Self::V {
                std::arch::x86_64::$load(p)
            }
            #[cfg(target_arch = "x86_64")]
            #[inline(always)]
            unsafe fn store(p: *mut Self, v: Self::V) {
                std::arch::x86_64::$store(p, v)
            }
            #[cfg(target_arch = "x86_64")]
            #[inline(always)]
            unsafe fn fmadd(a: Self::V, b: Self::V, c: Self::V) -> Self::V {
                std::arch::x86_64::$fmadd(a, b, c)
            }
        }
    };
}

wide!(f64, 8, __m512d, _mm512_set1_pd, _mm512_loadu_pd, _mm512_storeu_pd, _mm512_fmadd_pd, 8, transpose8_f64);
// f32 keeps the AVX2 build's 8 x 8 blocks
wide!(
    f32,
    16,
    __m512,
    _mm512_set1_ps,
    _mm512_loadu_ps,
    _mm512_storeu_ps,
    _mm512_fmadd_ps,
    <f32 as super::Real>::BLOCK,
    <f32 as super::Real>::transpose_block_avx2
);

/// 8 x 8 transpose of f64 in 512-bit registers: unpack pairs of rows, then
/// two rounds of 128-bit lane shuffles (24 shuffles for 64 values).
///
/// # Safety
/// The CPU must support AVX-512F; `src[7 * ss + 7]` and `dst[7 * ds + 7]`
/// must be inside the slices.
#[cfg(target_arch = "x86_64")]
#[inline(always)]
unsafe fn transpose8_f64(src: &[f64], ss: usize, dst: &mut [std::mem::MaybeUninit<f64>], ds: usize) {
    use std::arch::x86_64::*;
    debug_assert!(src.len() > 7 * ss + 7 && dst.len() > 7 * ds + 7);
    let (s, d) = (src.as_ptr(), dst.as_mut_ptr().cast::<f64>());
    let r: [__m512d; 8] = std::array::from_fn(|i| _mm512_loadu_pd(s.add(i * ss)));
    // t[2i]: [r(2i)_0 r(2i+1)_0 | r(2i)_2 r(2i+1)_2 | ..]; t[2i+1] the odd columns
    let t: [__m512d; 8] = std::array::from_fn(|i| {
        let (a, b) = (r[i & !1], r[i | 1]);
        if i % 2 == 0 {
            _mm512_unpacklo_pd(a, b)
        } else {
            _mm512_unpackhi_pd(a, b)
        }
    });
    // lanes 0, 2 of x then of y (0x88), or lanes 1, 3 (0xDD)
    let (even, odd) = (|x, y| _mm512_shuffle_f64x2::<0x88>(x, y), |x, y| _mm512_shuffle_f64x2::<0xDD>(x, y));
    // u: rows 0-3 (from t0/t2 or t1/t3) and rows 4-7 (t4/t6, t5/t7) of columns {c, c + 4}
    for (c, (lo, hi)) in [(0, (0, 4)), (1, (1, 5)), (2, (0, 4)), (3, (1, 5))] {
        let pick = if c < 2 { even } else { odd };
        let (u, v) = (pick(t[lo], t[lo + 2]), pick(t[hi], t[hi + 2]));
        _mm512_storeu_pd(d.add(c * ds), even(u, v));
        _mm512_storeu_pd(d.add((c + 4) * ds), odd(u, v));
    }
}

/// [`super::tiles`]' analysis loop in 512-bit registers: output row `o` of
/// both channels from input rows `2 o .. 2 o + f` (`W` lanes each); the
/// lowpass row goes to `lo[(lo_base + o) W ..]`, the highpass row to
/// `hi[o W ..]`.
///
/// # Safety
/// The CPU must support AVX-512F and FMA; `W` must be
/// `ROW_VECTORS * T::LANES`.
#[cfg(target_arch = "x86_64")]
#[inline(always)]
pub(crate) unsafe fn analysis_rows<T: Wide, const W: usize>(
    input: &[T],
    n_out: usize,
    taps: (&[T], &[T]),
    (lo, lo_base): (&mut [T], usize),
    hi: &mut [T],
) {
    const V: usize = ROW_VECTORS;
    debug_assert_eq!(W, V * T::LANES);
    let f = taps.0.len();
    if n_out == 0 {
        return;
    }
    assert!(
        taps.1.len() == f
            && input.len() >= (2 * (n_out - 1) + f) * W
            && lo.len() >= (lo_base + n_out) * W
            && hi.len() >= n_out * W,
        "analysis_rows: buffers too short"
    );
    let (pi, pl, ph) = (input.as_ptr(), lo.as_mut_ptr().add(lo_base * W), hi.as_mut_ptr());
    let (tl, th) = (taps.0.as_ptr(), taps.1.as_ptr());
    for o in 0..n_out {
        let mut l = [T::splat(T::ZERO); V];
        let mut h = [T::splat(T::ZERO); V];
        for m in 0..f {
            let (cl, ch) = (T::splat(*tl.add(m)), T::splat(*th.add(m)));
            let row = pi.add((2 * o + m) * W);
            for v in 0..V {
                let x = T::load(row.add(v * T::LANES));
                l[v] = T::fmadd(cl, x, l[v]);
                h[v] = T::fmadd(ch, x, h[v]);
            }
        }
        for v in 0..V {
            T::store(pl.add(o * W + v * T::LANES), l[v]);
            T::store(ph.add(o * W + v * T::LANES), h[v]);
        }
    }
}

/// [`super::tiles`]' synthesis loop in 512-bit registers: pair `q` in
/// `0..pairs` reads rows `q .. q + half` of `a` and `d` and writes its even
/// and odd outputs to the rows of `out` that `rows(q)` names.
///
/// # Safety
/// As [`analysis_rows`].
#[cfg(target_arch = "x86_64")]
#[inline(always)]
pub(crate) unsafe fn synthesis_rows<T: Wide, const W: usize>(
    a: &[T],
    d: &[T],
    pairs: usize,
    syn: &[Vec<T>; 4],
    out: &mut [T],
    rows: impl Fn(usize) -> (usize, usize),
) {
    const V: usize = ROW_VECTORS;
    debug_assert_eq!(W, V * T::LANES);
    let half = syn[0].len();
    if pairs == 0 {
        return;
    }
    assert!(
        syn.iter().all(|s| s.len() == half) && a.len().min(d.len()) >= (pairs - 1 + half) * W,
        "synthesis_rows: inputs too short"
    );
    let (pa, pd, po) = (a.as_ptr(), d.as_ptr(), out.as_mut_ptr());
    let (s0, s1, s2, s3) = (syn[0].as_ptr(), syn[1].as_ptr(), syn[2].as_ptr(), syn[3].as_ptr());
    let out_rows = out.len() / W;
    for q in 0..pairs {
        let (re, ro) = rows(q);
        assert!(re.max(ro) < out_rows, "synthesis_rows: output row {} outside {out_rows}", re.max(ro));
        let mut even = [T::splat(T::ZERO); V];
        let mut odd = [T::splat(T::ZERO); V];
        for k in 0..half {
            let (c0, c1) = (T::splat(*s0.add(k)), T::splat(*s1.add(k)));
            let (c2, c3) = (T::splat(*s2.add(k)), T::splat(*s3.add(k)));
            let (ra, rd) = (pa.add((q + k) * W), pd.add((q + k) * W));
            for v in 0..V {
                // the generic order: + c0 a, then + c1 d (even); + c2 a, + c3 d (odd)
                let (xa, xd) = (T::load(ra.add(v * T::LANES)), T::load(rd.add(v * T::LANES)));
                even[v] = T::fmadd(c1, xd, T::fmadd(c0, xa, even[v]));
                odd[v] = T::fmadd(c3, xd, T::fmadd(c2, xa, odd[v]));
            }
        }
        for v in 0..V {
            T::store(po.add(re * W + v * T::LANES), even[v]);
            T::store(po.add(ro * W + v * T::LANES), odd[v]);
        }
    }
}
