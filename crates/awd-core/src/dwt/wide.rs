//! AVX-512 builds of the tiles' level kernels ([`super::tiles`]): a tile
//! row of `W` lanes is [`ROW_VECTORS`] 512-bit registers, and two outputs
//! (analysis) or two pairs (synthesis) are computed at once, so each row is
//! loaded once for both and the accumulators are sixteen independent
//! chains of multiply-adds, more than the FMA pipes' latency needs (eight
//! chains measured 10-15 % slower). The sums are the generic level
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
    /// `[e0 o0 e1 o1 ..]` of the lower halves of `even` and `odd`, then of
    /// the upper halves.
    #[cfg(target_arch = "x86_64")]
    unsafe fn interleave(even: Self::V, odd: Self::V) -> (Self::V, Self::V);
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
    ($t:ty, $lanes:expr, $v:ident, $splat:ident, $load:ident, $store:ident, $fmadd:ident, $interleave:ident, $block:expr, $transpose:expr) => {
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
            #[cfg(target_arch = "x86_64")]
            #[inline(always)]
            unsafe fn interleave(even: Self::V, odd: Self::V) -> (Self::V, Self::V) {
                $interleave(even, odd)
            }
        }
    };
}

wide!(
    f64,
    8,
    __m512d,
    _mm512_set1_pd,
    _mm512_loadu_pd,
    _mm512_storeu_pd,
    _mm512_fmadd_pd,
    interleave_f64,
    8,
    transpose8_f64
);
// f32 keeps the AVX2 build's 8 x 8 blocks
wide!(
    f32,
    16,
    __m512,
    _mm512_set1_ps,
    _mm512_loadu_ps,
    _mm512_storeu_ps,
    _mm512_fmadd_ps,
    interleave_f32,
    <f32 as super::Real>::BLOCK,
    <f32 as super::Real>::transpose_block_avx2
);

/// [`Wide::interleave`] of f64 by two-source permutes.
#[cfg(target_arch = "x86_64")]
#[inline(always)]
unsafe fn interleave_f64(
    even: std::arch::x86_64::__m512d,
    odd: std::arch::x86_64::__m512d,
) -> (std::arch::x86_64::__m512d, std::arch::x86_64::__m512d) {
    use std::arch::x86_64::*;
    let lo = _mm512_set_epi64(11, 3, 10, 2, 9, 1, 8, 0);
    let hi = _mm512_set_epi64(15, 7, 14, 6, 13, 5, 12, 4);
    (_mm512_permutex2var_pd(even, lo, odd), _mm512_permutex2var_pd(even, hi, odd))
}

/// [`Wide::interleave`] of f32 by two-source permutes.
#[cfg(target_arch = "x86_64")]
#[inline(always)]
unsafe fn interleave_f32(
    even: std::arch::x86_64::__m512,
    odd: std::arch::x86_64::__m512,
) -> (std::arch::x86_64::__m512, std::arch::x86_64::__m512) {
    use std::arch::x86_64::*;
    let lo = _mm512_set_epi32(23, 7, 22, 6, 21, 5, 20, 4, 19, 3, 18, 2, 17, 1, 16, 0);
    let hi = _mm512_set_epi32(31, 15, 30, 14, 29, 13, 28, 12, 27, 11, 26, 10, 25, 9, 24, 8);
    (_mm512_permutex2var_ps(even, lo, odd), _mm512_permutex2var_ps(even, hi, odd))
}

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
    let taps = [taps.0.as_ptr(), taps.1.as_ptr()];
    let store = |o: usize, l: &[T::V; V], h: &[T::V; V]| {
        for (v, (&l, &h)) in l.iter().zip(h).enumerate() {
            T::store(pl.add(o * W + v * T::LANES), l);
            T::store(ph.add(o * W + v * T::LANES), h);
        }
    };
    // outputs o and o + 1 together: input row 2 o + m is loaded once for
    // output o's tap m and output o + 1's tap m - 2 (sixteen chains)
    let mut o = 0;
    while o + 2 <= n_out {
        let mut acc = [[T::splat(T::ZERO); V]; 4]; // lowpass o, highpass o, lowpass o + 1, highpass o + 1
        for m in 0..f + 2 {
            let row = pi.add((2 * o + m) * W);
            let x: [T::V; V] = std::array::from_fn(|v| T::load(row.add(v * T::LANES)));
            if m < f {
                tap_step::<T, V>(&taps, m, &x, &mut acc, 0);
            }
            if m >= 2 {
                tap_step::<T, V>(&taps, m - 2, &x, &mut acc, 2);
            }
        }
        store(o, &acc[0], &acc[1]);
        store(o + 1, &acc[2], &acc[3]);
        o += 2;
    }
    if o < n_out {
        let mut acc = [[T::splat(T::ZERO); V]; 4];
        for m in 0..f {
            let row = pi.add((2 * o + m) * W);
            let x: [T::V; V] = std::array::from_fn(|v| T::load(row.add(v * T::LANES)));
            tap_step::<T, V>(&taps, m, &x, &mut acc, 0);
        }
        store(o, &acc[0], &acc[1]);
    }
}

/// Tap `m` of one analysis output on row `x`, into `acc[at]` (lowpass) and
/// `acc[at + 1]` (highpass).
///
/// # Safety
/// As [`analysis_rows`]; `m` must be below the filters' length.
#[cfg(target_arch = "x86_64")]
#[inline(always)]
unsafe fn tap_step<T: Wide, const V: usize>(
    taps: &[*const T; 2],
    m: usize,
    x: &[T::V; V],
    acc: &mut [[T::V; V]; 4],
    at: usize,
) {
    let (cl, ch) = (T::splat(*taps[0].add(m)), T::splat(*taps[1].add(m)));
    for v in 0..V {
        acc[at][v] = T::fmadd(cl, x[v], acc[at][v]);
        acc[at + 1][v] = T::fmadd(ch, x[v], acc[at + 1][v]);
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
    let syn = [syn[0].as_ptr(), syn[1].as_ptr(), syn[2].as_ptr(), syn[3].as_ptr()];
    let out_rows = out.len() / W;
    let target = |q: usize| {
        let (re, ro) = rows(q);
        assert!(re.max(ro) < out_rows, "synthesis_rows: output row {} outside {out_rows}", re.max(ro));
        (re, ro)
    };
    let store_row = |r: usize, vals: &[T::V; V]| {
        for (v, &x) in vals.iter().enumerate() {
            T::store(po.add(r * W + v * T::LANES), x);
        }
    };
    // pairs q and q + 1 together: row q + k of `a` and `d` is loaded once for
    // pair q's tap k and pair q + 1's tap k - 1, and the sixteen accumulator
    // chains hide the multiply-adds' latency
    let mut q = 0;
    while q + 2 <= pairs {
        let (t0, t1) = (target(q), target(q + 1));
        let mut acc = [[T::splat(T::ZERO); V]; 4]; // even q, odd q, even q + 1, odd q + 1
        for k in 0..=half {
            let (ra, rd) = (pa.add((q + k) * W), pd.add((q + k) * W));
            let xa: [T::V; V] = std::array::from_fn(|v| T::load(ra.add(v * T::LANES)));
            let xd: [T::V; V] = std::array::from_fn(|v| T::load(rd.add(v * T::LANES)));
            if k < half {
                pair_step::<T, V>(&syn, k, &xa, &xd, &mut acc, 0);
            }
            if k > 0 {
                pair_step::<T, V>(&syn, k - 1, &xa, &xd, &mut acc, 2);
            }
        }
        for (i, (re, ro)) in [t0, t1].into_iter().enumerate() {
            store_row(re, &acc[2 * i]);
            store_row(ro, &acc[2 * i + 1]);
        }
        q += 2;
    }
    if q < pairs {
        let (re, ro) = target(q);
        let mut acc = [[T::splat(T::ZERO); V]; 4];
        for k in 0..half {
            let (ra, rd) = (pa.add((q + k) * W), pd.add((q + k) * W));
            let xa: [T::V; V] = std::array::from_fn(|v| T::load(ra.add(v * T::LANES)));
            let xd: [T::V; V] = std::array::from_fn(|v| T::load(rd.add(v * T::LANES)));
            pair_step::<T, V>(&syn, k, &xa, &xd, &mut acc, 0);
        }
        store_row(re, &acc[0]);
        store_row(ro, &acc[1]);
    }
}

/// Tap `k` of one synthesis pair on rows `xa`, `xd`, into `acc[at]` (even)
/// and `acc[at + 1]` (odd), in the generic order: + c0 a, then + c1 d
/// (even); + c2 a, then + c3 d (odd).
///
/// # Safety
/// As [`analysis_rows`]; `k` must be below the phases' length.
#[cfg(target_arch = "x86_64")]
#[inline(always)]
unsafe fn pair_step<T: Wide, const V: usize>(
    syn: &[*const T; 4],
    k: usize,
    xa: &[T::V; V],
    xd: &[T::V; V],
    acc: &mut [[T::V; V]; 4],
    at: usize,
) {
    let c: [T::V; 4] = std::array::from_fn(|i| T::splat(*syn[i].add(k)));
    for v in 0..V {
        acc[at][v] = T::fmadd(c[1], xd[v], T::fmadd(c[0], xa[v], acc[at][v]));
        acc[at + 1][v] = T::fmadd(c[3], xd[v], T::fmadd(c[2], xa[v], acc[at + 1][v]));
    }
}
