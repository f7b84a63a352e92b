//! Batches of short signals transformed across signals.
//!
//! A tile of `W` signals is transposed so that sample `i` of all `W` signals
//! is one row of `W` lanes; every filter tap is then one vector multiply-add
//! over whole rows, the boundary rule is applied once per row (not once per
//! signal) and the accumulators of two channels stay in registers. Tiles are
//! transposed back into pywt's packed rows at the end, and partial tiles are
//! padded with zero signals that are never written out.
//!
//! The sums run in the same order as the row kernels ([`super::kernel`]) and
//! extended samples are computed by the same rule, so both paths give the
//! same bits; the tests check it for every mode.

use std::mem::MaybeUninit;

use rayon::prelude::*;

use super::extend::ext_terms;
use super::kernel::{as_out, kernel_build, KernelBuild, KernelReal};
use super::len::idwt_output_len;
use super::plan1d::Plan1d;
use super::real::Real;
use super::wide::{self, Wide};
use crate::error::all_finite;
use crate::Mode;

/// Longest signal sent to the tiled path; longer signals use the row kernels,
/// which keep a whole signal in cache on their own.
pub(crate) const TILE_MAX_LEN: usize = 2048;
/// Tiles handed to a thread at a time (keeps task overhead small).
const TILES_PER_TASK: usize = 4;

/// Per-task buffers of the tiled path (a few kB per tile).
struct TileBufs<T> {
    cur: Vec<T>,
    next: Vec<T>,
    coef: Vec<T>,
    pad_a: Vec<T>,
    pad_d: Vec<T>,
}

impl<T: Real> TileBufs<T> {
    fn new() -> Self {
        TileBufs { cur: Vec::new(), next: Vec::new(), coef: Vec::new(), pad_a: Vec::new(), pad_d: Vec::new() }
    }
}

/// The first `len` values of `v`, grown if it is shorter (never shrunk, so
/// the levels' changing sizes do not zero-fill it again; contents
/// unspecified: every value is written before it is read).
fn sized<T: Real>(v: &mut Vec<T>, len: usize) -> &mut [T] {
    if v.len() < len {
        v.resize(len, T::ZERO);
    }
    &mut v[..len]
}

/// Extended-sample row `m` (any integer) of an `n`-row signal tile whose row
/// `i` sits at `buf[(base + i) * W ..]`, written lane-wise by the same rule
/// (and the same arithmetic) as [`super::extend::ext_value`].
#[inline(always)]
fn extend_row<T: Real, const W: usize>(buf: &mut [T], base: usize, n: usize, m: isize, mode: Mode) {
    let at = (base as isize + m) as usize * W;
    let row = |i: usize| (base + i) * W;
    if mode == Mode::Smooth && n >= 2 {
        let (r0, r1, k) = if m < 0 {
            (row(0), row(1), T::from_f64((-m) as f64))
        } else {
            (row(n - 1), row(n - 2), T::from_f64((m - n as isize + 1) as f64))
        };
        for l in 0..W {
            let (x0, x1) = (buf[r0 + l], buf[r1 + l]);
            buf[at + l] = x0 + k * (x0 - x1);
        }
        return;
    }
    let terms = ext_terms(n, m, mode);
    match terms.as_slice() {
        [] => buf[at..at + W].fill(T::ZERO),
        &[(i, w)] => {
            let src = row(i);
            for l in 0..W {
                let v = buf[src + l];
                buf[at + l] = if w < 0.0 { -v } else { v };
            }
        }
        _ => unreachable!("only smooth extension has two terms"),
    }
}

/// One analysis level of a tile: `input` holds the `n_in` rows from buffer
/// row `shift` on (room for `shift` extension rows before them and the
/// needed rows after); writes `n_out` rows of the lowpass channel to
/// `lo[(lo_base + o) W ..]` and of the highpass channel to `hi[o W ..]`,
/// in 512-bit registers if `WIDE`.
#[allow(clippy::too_many_arguments)]
#[inline(always)]
fn analysis_level<T: Wide, const W: usize, const FMA: bool, const WIDE: bool>(
    input: &mut [T],
    n_in: usize,
    n_out: usize,
    taps: (&[T], &[T]),
    shift: usize,
    mode: Mode,
    (lo, lo_base): (&mut [T], usize),
    hi: &mut [T],
) {
    let f = taps.0.len();
    let last = 2 * n_out + f - 2; // one past the last extended index, + shift
    for e in (0..shift.min(last)).map(|e| e as isize - shift as isize) {
        extend_row::<T, W>(input, shift, n_in, e, mode);
    }
    for e in n_in as isize..last as isize - shift as isize {
        extend_row::<T, W>(input, shift, n_in, e, mode);
    }
    #[cfg(target_arch = "x86_64")]
    if WIDE {
        // SAFETY: WIDE is only set in the AVX-512 build, whose tile width is
        // ROW_VECTORS * T::LANES; the kernel checks the buffers' lengths.
        return unsafe { wide::analysis_rows::<T, W>(input, n_out, taps, (lo, lo_base), hi) };
    }
    for o in 0..n_out {
        let mut l = [T::ZERO; W];
        let mut h = [T::ZERO; W];
        for m in 0..f {
            let (cl, ch) = (taps.0[m], taps.1[m]);
            let r: &[T; W] = input[(2 * o + m) * W..][..W].try_into().expect("lanes");
            for i in 0..W {
                l[i] = T::madd::<FMA>(cl, r[i], l[i]);
                h[i] = T::madd::<FMA>(ch, r[i], h[i]);
            }
        }
        lo[(lo_base + o) * W..][..W].copy_from_slice(&l);
        hi[o * W..][..W].copy_from_slice(&h);
    }
}

/// One synthesis level: pairs `q` in `0..pairs` read rows `q .. q + half` of
/// `a` and `d`; the two outputs of pair `q` go to the rows of `out` that
/// `rows(q)` names (even, odd), in 512-bit registers if `WIDE`.
#[inline(always)]
fn synthesis_level<T: Wide, const W: usize, const FMA: bool, const WIDE: bool>(
    a: &[T],
    d: &[T],
    pairs: usize,
    syn: &[Vec<T>; 4],
    out: &mut [T],
    rows: impl Fn(usize) -> (usize, usize),
) {
    #[cfg(target_arch = "x86_64")]
    if WIDE {
        // SAFETY: as in `analysis_level`.
        return unsafe { wide::synthesis_rows::<T, W>(a, d, pairs, syn, out, rows) };
    }
    let half = syn[0].len();
    for q in 0..pairs {
        let mut even = [T::ZERO; W];
        let mut odd = [T::ZERO; W];
        for k in 0..half {
            let (c0, c1, c2, c3) = (syn[0][k], syn[1][k], syn[2][k], syn[3][k]);
            let ra: &[T; W] = a[(q + k) * W..][..W].try_into().expect("lanes");
            let rd: &[T; W] = d[(q + k) * W..][..W].try_into().expect("lanes");
            for l in 0..W {
                even[l] = T::madd::<FMA>(c1, rd[l], T::madd::<FMA>(c0, ra[l], even[l]));
                odd[l] = T::madd::<FMA>(c3, rd[l], T::madd::<FMA>(c2, ra[l], odd[l]));
            }
        }
        let (re, ro) = rows(q);
        out[re * W..][..W].copy_from_slice(&even);
        out[ro * W..][..W].copy_from_slice(&odd);
    }
}

/// Copy rows `q_first - offset ..` of an `nc`-row tile cyclically into `pad`
/// (`rows` rows): periodization's wrap-around read, done once per level.
fn wrap_rows<T: Real, const W: usize>(src: &[T], nc: usize, start: isize, rows: usize, pad: &mut [T]) {
    for (i, dst) in pad.chunks_exact_mut(W).take(rows).enumerate() {
        let r = (start + i as isize).rem_euclid(nc as isize) as usize;
        dst.copy_from_slice(&src[r * W..(r + 1) * W]);
    }
}

/// Transpose the `rows x cols` corner of `src` (row stride `ss`) into `dst`
/// (row stride `ds`): `dst[c][r] = src[r][c]`; square register blocks in
/// the AVX2 build (`SIMD`) and the AVX-512 build (`WIDE` too), the ragged
/// edges (and the portable build) value by value.
#[inline(always)]
fn transpose<T: Wide, const SIMD: bool, const WIDE: bool>(
    src: &[T],
    ss: usize,
    dst: &mut [MaybeUninit<T>],
    ds: usize,
    rows: usize,
    cols: usize,
) {
    let (b, mut rb, mut cb) = (if WIDE { T::BLOCK_WIDE } else { T::BLOCK }, 0, 0);
    #[cfg(target_arch = "x86_64")]
    if SIMD {
        (rb, cb) = (rows / b * b, cols / b * b);
        for r0 in (0..rb).step_by(b) {
            for c0 in (0..cb).step_by(b) {
                let (s, d) = (&src[r0 * ss + c0..], &mut dst[c0 * ds + r0..]);
                assert!(s.len() > (b - 1) * ss + b - 1 && d.len() > (b - 1) * ds + b - 1, "transpose block");
                // SAFETY: SIMD is only set in the AVX2 and AVX-512 builds,
                // WIDE only in the latter, and the assertion keeps both
                // blocks inside their slices.
                unsafe {
                    if WIDE {
                        T::transpose_block(s, ss, d, ds)
                    } else {
                        T::transpose_block_avx2(s, ss, d, ds)
                    }
                };
            }
        }
    }
    let _ = (b, SIMD);
    for r in 0..rows {
        let c_from = if r < rb { cb } else { 0 };
        for c in c_from..cols {
            dst[c * ds + r].write(src[r * ss + c]);
        }
    }
}

/// Transpose `valid` rows of `len` values into a tile's rows `base..` (lane =
/// signal); lanes past `valid` are zero.
#[inline(always)]
fn load_tile<T: Wide, const W: usize, const SIMD: bool, const WIDE: bool>(
    rows: &[T],
    len: usize,
    valid: usize,
    tile: &mut [T],
    base: usize,
) {
    let tile = &mut tile[base * W..(base + len) * W];
    if valid < W {
        tile.fill(T::ZERO);
    }
    transpose::<T, SIMD, WIDE>(rows, len, as_out(tile), W, valid, len);
}

/// Transpose a tile's first `len` rows back into `valid` rows of `len` values.
#[inline(always)]
fn store_tile<T: Wide, const W: usize, const SIMD: bool, const WIDE: bool>(
    tile: &[T],
    len: usize,
    valid: usize,
    rows: &mut [MaybeUninit<T>],
) {
    transpose::<T, SIMD, WIDE>(tile, W, rows, len, len, valid);
}

/// A plan's filters in the tile's number type: the whole filters for
/// analysis, the row kernels' synthesis phases (shared with them).
struct TapsOf<'a, T> {
    rec: (&'a [T], &'a [T]),
    syn: &'a [Vec<T>; 4],
}

impl<'a, T: KernelReal> TapsOf<'a, T> {
    fn new(plan: &'a Plan1d) -> Self {
        let (t, rec) = (plan.taps(), T::filters(plan.taps()));
        TapsOf { rec: (&rec[0], &rec[1]), syn: T::phases(t).1 }
    }
}

/// Rows a level input of `n_in` rows needs, margins included, to give
/// `n_out` outputs with filters of `f` taps and analysis shift `shift`.
fn level_rows(n_in: usize, n_out: usize, f: usize, shift: usize) -> usize {
    shift + n_in.max(2 * n_out + f - 2 - shift)
}

/// Multilevel analysis of one tile of `valid <= W` signals into packed rows;
/// returns whether every input value is finite if `check` (else true).
#[inline(always)]
fn wavedec_tile<T: Wide, const W: usize, const FMA: bool, const WIDE: bool>(
    plan: &Plan1d,
    taps: &TapsOf<'_, T>,
    (x, check): (&[T], bool),
    valid: usize,
    out: &mut [MaybeUninit<T>],
    b: &mut TileBufs<T>,
) -> bool {
    let (lens, offs, levels, mode) = (plan.coeff_lens(), plan.offsets(), plan.levels(), plan.mode());
    let (n, total, f) = (plan.signal_len(), plan.total_len(), taps.rec.0.len());
    let shift = plan.taps().analysis_shift(mode);
    let rec = taps.rec;
    let coef = sized(&mut b.coef, total * W);
    let mut cur = std::mem::take(&mut b.cur);
    let mut next = std::mem::take(&mut b.next);
    load_tile::<T, W, FMA, WIDE>(x, n, valid, sized(&mut cur, level_rows(n, lens[levels], f, shift) * W), shift);
    // checked in the tile (in cache; its padding lanes are zeros)
    let finite = !check || all_finite(&cur[shift * W..(shift + n) * W]);
    let mut n_in = n;
    for j in 1..=levels {
        // level j's outputs: cD_j at pywt index k; cA_j feeds level j + 1
        let k = levels - j + 1;
        let n_out = lens[k];
        let (head, tail) = coef.split_at_mut(offs[k] * W);
        if j == levels {
            analysis_level::<T, W, FMA, WIDE>(&mut cur, n_in, n_out, rec, shift, mode, (head, 0), tail);
        } else {
            let lo = sized(&mut next, level_rows(n_out, lens[k - 1], f, shift) * W);
            analysis_level::<T, W, FMA, WIDE>(&mut cur, n_in, n_out, rec, shift, mode, (lo, shift), tail);
            std::mem::swap(&mut cur, &mut next);
        }
        n_in = n_out;
    }
    store_tile::<T, W, FMA, WIDE>(coef, total, valid, out);
    b.cur = cur;
    b.next = next;
    finite
}

/// Multilevel synthesis of one tile of `valid <= W` packed coefficient rows;
/// returns whether every input value is finite if `check` (else true).
#[inline(always)]
fn waverec_tile<T: Wide, const W: usize, const FMA: bool, const WIDE: bool>(
    plan: &Plan1d,
    taps: &TapsOf<'_, T>,
    (c, check): (&[T], bool),
    valid: usize,
    out: &mut [MaybeUninit<T>],
    b: &mut TileBufs<T>,
) -> bool {
    let (lens, offs, levels, mode) = (plan.coeff_lens(), plan.offsets(), plan.levels(), plan.mode());
    let (total, f, half) = (plan.total_len(), taps.rec.0.len(), taps.syn[0].len());
    let coef = sized(&mut b.coef, total * W);
    load_tile::<T, W, FMA, WIDE>(c, total, valid, coef, 0);
    let finite = !check || all_finite(coef);
    let mut cur = std::mem::take(&mut b.cur);
    let mut next = std::mem::take(&mut b.next);
    let mut n_out = 0;
    for k in 1..=levels {
        let d_len = lens[k];
        let d = &coef[offs[k] * W..(offs[k] + d_len) * W];
        let a = if k == 1 { &coef[..d_len * W] } else { &cur[..d_len * W] };
        n_out = idwt_output_len(d_len, f, mode).expect("validated plan");
        let out_rows = sized(&mut next, n_out * W);
        if mode == Mode::Periodization {
            // coefficients read cyclically from `offset` back; outputs moved by `shift`
            let u = half - 1;
            let (offset, shift, n2) = ((u / 2) as isize, (u % 2) as isize, 2 * d_len as isize);
            let q_first = (-shift).div_euclid(2);
            let pairs = ((n2 - 1 - shift).div_euclid(2) - q_first + 1) as usize;
            let rows = pairs + half - 1;
            let (pa, pd) = (sized(&mut b.pad_a, rows * W), sized(&mut b.pad_d, rows * W));
            wrap_rows::<T, W>(a, d_len, q_first - offset, rows, pa);
            wrap_rows::<T, W>(d, d_len, q_first - offset, rows, pd);
            synthesis_level::<T, W, FMA, WIDE>(pa, pd, pairs, taps.syn, out_rows, |i| {
                let q = q_first + i as isize;
                ((2 * q + shift).rem_euclid(n2) as usize, (2 * q + 1 + shift).rem_euclid(n2) as usize)
            });
        } else {
            synthesis_level::<T, W, FMA, WIDE>(a, d, n_out / 2, taps.syn, out_rows, |q| (2 * q, 2 * q + 1));
        }
        std::mem::swap(&mut cur, &mut next);
    }
    store_tile::<T, W, FMA, WIDE>(&cur, n_out, valid, out);
    b.cur = cur;
    b.next = next;
    finite
}

/// Which way a tile goes.
#[derive(Clone, Copy)]
enum Direction {
    Forward,
    Inverse,
}

/// One tile, either way, in the build `FMA` and `WIDE` name; returns
/// whether every input value is finite if `check` (checked in the loaded
/// tile, in cache; true otherwise).
#[inline(always)]
fn run_tile<T: Wide, const W: usize, const FMA: bool, const WIDE: bool>(
    (dir, check): (Direction, bool),
    plan: &Plan1d,
    taps: &TapsOf<'_, T>,
    input: &[T],
    valid: usize,
    out: &mut [MaybeUninit<T>],
    b: &mut TileBufs<T>,
) -> bool {
    match dir {
        Direction::Forward => wavedec_tile::<T, W, FMA, WIDE>(plan, taps, (input, check), valid, out, b),
        Direction::Inverse => waverec_tile::<T, W, FMA, WIDE>(plan, taps, (input, check), valid, out, b),
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn run_tile_avx2<T: Wide, const W: usize>(
    dir: (Direction, bool),
    plan: &Plan1d,
    taps: &TapsOf<'_, T>,
    input: &[T],
    valid: usize,
    out: &mut [MaybeUninit<T>],
    b: &mut TileBufs<T>,
) -> bool {
    run_tile::<T, W, true, false>(dir, plan, taps, input, valid, out, b)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512vl,avx2,fma")]
unsafe fn run_tile_avx512<T: Wide, const W: usize>(
    dir: (Direction, bool),
    plan: &Plan1d,
    taps: &TapsOf<'_, T>,
    input: &[T],
    valid: usize,
    out: &mut [MaybeUninit<T>],
    b: &mut TileBufs<T>,
) -> bool {
    run_tile::<T, W, true, true>(dir, plan, taps, input, valid, out, b)
}

/// Run every tile of `rows` signals in parallel in `build`: `input` has
/// `rows x in_len` values, `out` gets `rows x out_len` (all written).
/// Returns whether every input value is finite if `dir.1` (else true).
fn run_tiles<T: KernelReal, const W: usize>(
    plan: &Plan1d,
    dir: (Direction, bool),
    build: KernelBuild,
    input: &[T],
    (in_len, out_len): (usize, usize),
    out: &mut [MaybeUninit<T>],
) -> bool {
    let taps = TapsOf::<T>::new(plan);
    let tiles = input.par_chunks(W * in_len).zip(out.par_chunks_mut(W * out_len)).with_min_len(TILES_PER_TASK);
    // `map_init(..).reduce(..)`, not `all`: every tile must be written even
    // after a non-finite one (the output is uninitialised memory).
    tiles
        .map_init(TileBufs::new, |b, (xs, os)| {
            let valid = xs.len() / in_len;
            #[cfg(target_arch = "x86_64")]
            match build {
                // SAFETY: `build` is at most what the CPU supports (checked at run time).
                KernelBuild::Avx512 => return unsafe { run_tile_avx512::<T, W>(dir, plan, &taps, xs, valid, os, b) },
                KernelBuild::Avx2 => return unsafe { run_tile_avx2::<T, W>(dir, plan, &taps, xs, valid, os, b) },
                KernelBuild::Portable => {}
            }
            let _ = build;
            run_tile::<T, W, false, false>(dir, plan, &taps, xs, valid, os, b)
        })
        .reduce(|| true, |a, b| a & b)
}

/// Run the tiles `dir.0`'s way with the tile width of the best build;
/// returns whether every input value is finite if `dir.1` (else true).
fn run_tiles_best<T: KernelReal>(
    plan: &Plan1d,
    dir: (Direction, bool),
    input: &[T],
    lens: (usize, usize),
    out: &mut [MaybeUninit<T>],
) -> bool {
    let build = kernel_build();
    let width = match (build, dir.0) {
        (KernelBuild::Avx512, _) => wide::ROW_VECTORS * T::LANES,
        (_, Direction::Forward) => T::TILE,
        (_, Direction::Inverse) => T::TILE_INVERSE,
    };
    match width {
        16 => run_tiles::<T, 16>(plan, dir, build, input, lens, out),
        32 => run_tiles::<T, 32>(plan, dir, build, input, lens, out),
        _ => run_tiles::<T, 64>(plan, dir, build, input, lens, out),
    }
}

/// Whether the tiled path takes this plan (short signals, at least one level).
pub(crate) fn takes(plan: &Plan1d) -> bool {
    plan.levels() > 0 && plan.signal_len().max(plan.recon_len()) <= TILE_MAX_LEN
}

/// Multilevel analysis of `x` (`rows x signal_len`, row-major) into packed
/// rows `out` (`rows x total_len`), tile by tile; returns whether every
/// input value is finite if `check` (else true).
pub(crate) fn wavedec_tiles<T: KernelReal>(plan: &Plan1d, x: &[T], out: &mut [MaybeUninit<T>], check: bool) -> bool {
    run_tiles_best(plan, (Direction::Forward, check), x, (plan.signal_len(), plan.total_len()), out)
}

/// Multilevel synthesis of packed rows `c` (`rows x total_len`) into `out`
/// (`rows x recon_len`), tile by tile; returns whether every input value is
/// finite if `check` (else true).
pub(crate) fn waverec_tiles<T: KernelReal>(plan: &Plan1d, c: &[T], out: &mut [MaybeUninit<T>], check: bool) -> bool {
    run_tiles_best(plan, (Direction::Inverse, check), c, (plan.total_len(), plan.recon_len()), out)
}

#[cfg(test)]
mod tests {
    use ndarray::Array2;
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    use crate::dwt::{Plan1d, Scratch};
    use crate::{Mode, Wavelet};

    /// The tiled path gives the row kernels' bits, forward and inverse, in
    /// every mode, for full and partial tiles and odd lengths.
    #[test]
    fn tiles_match_row_kernels_bit_for_bit() {
        let mut rng = ChaCha8Rng::seed_from_u64(7);
        for name in ["haar", "db2", "db5", "sym4", "coif3"] {
            let w = Wavelet::from_name(name).unwrap();
            for mode in Mode::ALL {
                for n in [1, 2, 3, 5, 8, 13, 31, 64, 100] {
                    for levels in 1..=4 {
                        let Ok(plan) = Plan1d::with_boundary_levels(n, &w, mode, levels) else { continue };
                        for batch in [4, 17, 33] {
                            let x = Array2::from_shape_simple_fn((batch, n), || rng.random::<f64>() - 0.5);
                            let tiled = plan.wavedec(x.view()).unwrap();
                            let back = plan.waverec(&tiled).unwrap();
                            let mut s = Scratch::default();
                            for r in 0..batch {
                                let mut row = vec![0.0; plan.total_len()];
                                plan.wavedec_row(x.row(r).as_slice().unwrap(), &mut row, &mut s);
                                let case = format!("{name} {mode} n={n} J={levels} batch={batch} row {r}");
                                assert_eq!(tiled.data.row(r).as_slice().unwrap(), &row[..], "forward {case}");
                                let mut rec = vec![0.0; plan.recon_len()];
                                plan.waverec_row(&row, &mut rec, &mut s);
                                assert_eq!(back.row(r).as_slice().unwrap(), &rec[..], "inverse {case}");
                            }
                        }
                    }
                }
            }
        }
    }

    /// The same in float32: a tiled batch equals each signal sent alone
    /// through the float32 row kernels (a partial tile, and a full tile of
    /// every build's width plus a partial one).
    #[test]
    fn float32_tiles_match_float32_row_kernels_bit_for_bit() {
        let mut rng = ChaCha8Rng::seed_from_u64(8);
        for name in ["haar", "db5", "coif3"] {
            let w = Wavelet::from_name(name).unwrap();
            for mode in Mode::ALL {
                for n in [1, 3, 8, 13, 64, 100] {
                    for levels in 1..=3 {
                        let Ok(plan) = Plan1d::with_boundary_levels(n, &w, mode, levels) else { continue };
                        for batch in [17, 70] {
                            let x = Array2::from_shape_simple_fn((batch, n), || rng.random::<f32>() - 0.5);
                            let tiled = plan.wavedec_f32(x.view()).unwrap();
                            let back = plan.waverec_f32(tiled.view()).unwrap();
                            for r in 0..x.nrows() {
                                let case = format!("{name} {mode} n={n} J={levels} row {r}");
                                let row = plan.wavedec_f32(x.slice(ndarray::s![r..r + 1, ..])).unwrap();
                                assert_eq!(tiled.row(r), row.row(0), "forward {case}");
                                let rec = plan.waverec_f32(row.view()).unwrap();
                                assert_eq!(back.row(r), rec.row(0), "inverse {case}");
                            }
                        }
                    }
                }
            }
        }
    }

    /// The tiles check finiteness as they load: a NaN or infinity anywhere
    /// in a batch (any tile, any row) is an error naming its position, both
    /// ways, in both types and in place, as the separate scan reported it.
    #[test]
    fn tiled_batches_reject_non_finite_values_by_position() {
        let w = Wavelet::from_name("db5").unwrap();
        let plan = Plan1d::with_boundary_levels(64, &w, Mode::Zero, 4).unwrap();
        let x = Array2::from_shape_fn((100, 64), |(i, j)| ((i * 7 + j * 3) % 11) as f64 - 5.0);
        let c = plan.wavedec(x.view()).unwrap();
        for (r, col, bad) in [(0, 0, f64::NAN), (37, 63, f64::INFINITY), (99, 20, f64::NEG_INFINITY)] {
            let want = format!("index [{r}, {col}]");
            let mut xb = x.clone();
            xb[[r, col]] = bad;
            let err = plan.wavedec(xb.view()).unwrap_err().to_string();
            assert!(err.contains(&want), "forward f64: {err}");
            let mut into = Array2::zeros((100, plan.total_len()));
            let err = plan.wavedec_into_checked(xb.view(), into.view_mut()).unwrap_err().to_string();
            assert!(err.contains(&want), "forward f64 into: {err}");
            let err = plan.wavedec_f32(xb.mapv(|v| v as f32).view()).unwrap_err().to_string();
            assert!(err.contains(&want), "forward f32: {err}");
            let mut cb = c.clone();
            cb.data[[r, col]] = bad;
            let err = plan.waverec(&cb).unwrap_err().to_string();
            assert!(err.contains(&want), "inverse f64: {err}");
            let mut into = Array2::zeros((100, plan.recon_len()));
            let err = plan.waverec_into_checked(cb.data.view(), into.view_mut()).unwrap_err().to_string();
            assert!(err.contains(&want), "inverse f64 into: {err}");
            let err = plan.waverec_f32(cb.data.mapv(|v| v as f32).view()).unwrap_err().to_string();
            assert!(err.contains(&want), "inverse f32: {err}");
        }
    }
}
