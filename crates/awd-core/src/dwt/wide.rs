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
}

macro_rules! wide {
    ($t:ty, $lanes:expr, $v:ident, $splat:ident, $load:ident, $store:ident, $fmadd:ident) => {
        impl Wide for $t {
            const LANES: usize = $lanes;
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

wide!(f64, 8, __m512d, _mm512_set1_pd, _mm512_loadu_pd, _mm512_storeu_pd, _mm512_fmadd_pd);
wide!(f32, 16, __m512, _mm512_set1_ps, _mm512_loadu_ps, _mm512_storeu_ps, _mm512_fmadd_ps);

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
