//! The filter-bank kernels on one contiguous signal (row).
//!
//! Analysis and synthesis both reduce to one polyphase kernel over output
//! pairs `q`:
//! `y0[q] = sum_k p00[k] x0[q+k] + p01[k] x1[q+k]`,
//! `y1[q] = sum_k p10[k] x0[q+k] + p11[k] x1[q+k]`.
//!
//! * Analysis: `x0[j] = ext(2j - s)`, `x1[j] = ext(2j + 1 - s)` (the extended
//!   signal split into even and odd samples), taps = even/odd phases of
//!   `rec_lo` and `rec_hi`; then `cA[o] = sum_m rec_lo[m] ext(2o + m - s)`,
//!   which is pywt's convolution with `dec_lo` (the reverse of `rec_lo`). The
//!   shift `s` is `F-2`, or `F/2-1` in periodization.
//! * Synthesis: `x0 = cA`, `x1 = cD`, taps = reversed even/odd phases;
//!   `y0`/`y1` are the even/odd outputs, `out[2q+p] = sum_j rec_lo[2j+p]
//!   cA[q+u-j] + rec_hi[2j+p] cD[q+u-j]` with `u = F/2 - 1` (pywt's "valid"
//!   upsampling convolution). Periodization reads the coefficients cyclically
//!   (offset `floor(u/2)`) and moves the output by `u mod 2`.
//!
//! Inputs are gathered block by block into small stack buffers (the extension
//! is never materialised), accumulated in registers/L1, compiled twice (a
//! portable build and an AVX2 build picked at run time) and long signals are
//! split over threads. The kernels are generic over the sample type
//! ([`KernelReal`]: f64, and f32 computed in float32 as pywt does); both
//! types sum in the same order. The interior of f64 synthesis runs on a
//! hand-written AVX2 kernel ([`super::interior`]) with the same sums.

use std::mem::MaybeUninit;
use std::sync::OnceLock;

use rayon::prelude::*;

use super::extend::ext_value;
use super::interior;
use super::len::{dwt_coeff_len, idwt_output_len};
use super::real::Real;
use crate::error::all_finite_best;
use crate::Mode;

/// An output buffer the kernels write completely (never read): initialised
/// `[T]` or fresh uninitialised memory alike.
pub type OutBuf<T = f64> = [MaybeUninit<T>];

/// View an initialised slice as an output buffer. Crate-private on purpose:
/// storing `MaybeUninit::uninit()` through the result would de-initialise
/// `s`, so only the kernels (which store initialised values only) may hold
/// one; no public function hands out an `OutBuf` over a user's `[f64]`.
pub(crate) fn as_out<T>(s: &mut [T]) -> &mut OutBuf<T> {
    // SAFETY: same layout; the kernels only ever store initialised values
    // through the returned slice, so `s` stays initialised.
    unsafe { &mut *(s as *mut [T] as *mut OutBuf<T>) }
}

/// `v` emptied, with room for `len` values: the write-only memory a kernel
/// fills before `set_len(len)` (no zeroing of scratch that is overwritten).
pub(crate) fn uninit_len<T>(v: &mut Vec<T>, len: usize) -> &mut OutBuf<T> {
    v.clear();
    v.reserve(len);
    &mut v.spare_capacity_mut()[..len]
}

/// Copy `src` into `dst` (equal lengths); full register groups are copied
/// with fixed-size moves rather than a `memcpy` call.
#[inline(always)]
fn store<T: Copy, const L: usize>(dst: &mut OutBuf<T>, src: &[T]) {
    if let (Ok(d), Ok(s)) = (<&mut [MaybeUninit<T>; L]>::try_from(&mut *dst), <&[T; L]>::try_from(src)) {
        for i in 0..L {
            d[i].write(s[i]);
        }
        return;
    }
    for (d, &v) in dst.iter_mut().zip(src) {
        d.write(v);
    }
}

/// Output pairs accumulated together.
pub(crate) const BLOCK: usize = 64;
/// Largest half filter length the kernels take (filters up to 256 taps).
pub const MAX_HALF: usize = 128;
/// Output pairs per parallel task on long signals.
const PAR_CHUNK: usize = 1 << 14;

/// Polyphase taps of a filter bank for the kernels.
#[derive(Debug, Clone)]
pub struct Taps {
    /// Filter length `F`.
    pub f: usize,
    /// The filters themselves, `[rec_lo, rec_hi]`.
    pub rec: [Vec<f64>; 2],
    /// Analysis taps `[p00, p01, p10, p11]` = rec_lo even/odd, rec_hi even/odd.
    pub analysis: [Vec<f64>; 4],
    /// Synthesis taps: reversed even phases of rec_lo/rec_hi, then odd phases.
    pub synthesis: [Vec<f64>; 4],
    /// `rec`, `analysis` and `synthesis` rounded to float32, made on first use (f64
    /// users, the training loop among them, never pay for them).
    float32: OnceLock<Phases<f32>>,
}

/// Analysis and synthesis taps in one number type.
#[derive(Debug, Clone)]
pub(crate) struct Phases<T> {
    pub rec: [Vec<T>; 2],
    pub analysis: [Vec<T>; 4],
    pub synthesis: [Vec<T>; 4],
}

impl Taps {
    /// Taps from `rec_lo` and `rec_hi` (even length `2 <= F <= 2 MAX_HALF`).
    ///
    /// # Panics
    /// If the length is odd or outside that range (wavelets are validated).
    pub fn new(rec_lo: &[f64], rec_hi: &[f64]) -> Self {
        let f = rec_lo.len();
        assert!(f >= 2 && f.is_multiple_of(2) && f / 2 <= MAX_HALF, "filter length {f}");
        let half = f / 2;
        let u = half - 1;
        let phase = |v: &[f64], p: usize, rev: bool| -> Vec<f64> {
            (0..half).map(|k| v[2 * if rev { u - k } else { k } + p]).collect()
        };
        let analysis =
            [phase(rec_lo, 0, false), phase(rec_lo, 1, false), phase(rec_hi, 0, false), phase(rec_hi, 1, false)];
        let synthesis =
            [phase(rec_lo, 0, true), phase(rec_hi, 0, true), phase(rec_lo, 1, true), phase(rec_hi, 1, true)];
        Taps { f, rec: [rec_lo.to_vec(), rec_hi.to_vec()], analysis, synthesis, float32: OnceLock::new() }
    }

    /// The analysis and synthesis taps rounded to float32 (made on first use).
    pub(crate) fn float32(&self) -> &Phases<f32> {
        self.float32.get_or_init(|| {
            let narrow = |v: &Vec<f64>| v.iter().map(|&t| t as f32).collect::<Vec<f32>>();
            Phases {
                rec: self.rec.each_ref().map(narrow),
                analysis: self.analysis.each_ref().map(narrow),
                synthesis: self.synthesis.each_ref().map(narrow),
            }
        })
    }

    /// Shift `s` between extended-signal and output indices in analysis.
    pub fn analysis_shift(&self, mode: Mode) -> usize {
        match mode {
            Mode::Periodization => self.f / 2 - 1,
            _ => self.f - 2,
        }
    }
}

/// Output pairs per register group of f64 in analysis (four AVX2 vectors
/// per accumulator: measured 13 % faster than two on a long signal).
const LANES_F64_ANALYSIS: usize = 16;
/// Output pairs per register group of f64 in synthesis (two AVX2 vectors
/// per accumulator: measured faster than four).
const LANES_F64_SYNTHESIS: usize = 8;
/// Output pairs per register group of f32 (four AVX2 vectors per
/// accumulator: measured faster than two, mostly in synthesis).
const LANES_F32: usize = 32;
/// Register groups of the AVX-512 build: twice the outputs (the same
/// number of registers, each twice as wide).
const WIDE: usize = 2;
/// The widest register group: readable values the kernels need past a span.
pub(crate) const MAX_LANES: usize = WIDE * LANES_F32;
const _: () = assert!(LANES_F64_ANALYSIS <= LANES_F32 && LANES_F64_SYNTHESIS <= LANES_F32);

/// Block buffers of the kernel, one set per thread (no per-call zeroing).
pub(crate) struct KernelBufs<T> {
    pub in0: [T; BLOCK + MAX_HALF + MAX_LANES],
    pub in1: [T; BLOCK + MAX_HALF + MAX_LANES],
}

impl<T: Real> KernelBufs<T> {
    /// Buffers of zeros.
    pub(crate) const ZERO: KernelBufs<T> =
        KernelBufs { in0: [T::ZERO; BLOCK + MAX_HALF + MAX_LANES], in1: [T::ZERO; BLOCK + MAX_HALF + MAX_LANES] };
}

thread_local! {
    static KERNEL_BUFS_F64: std::cell::RefCell<KernelBufs<f64>> =
        const { std::cell::RefCell::new(KernelBufs::ZERO) };
    static KERNEL_BUFS_F32: std::cell::RefCell<KernelBufs<f32>> =
        const { std::cell::RefCell::new(KernelBufs::ZERO) };
}

/// Run `f` with this thread's buffers in `key`, or with `fresh()` ones when
/// they are already borrowed (a nested call: rayon may run another task on
/// this thread while one waits).
pub(crate) fn with_thread_buffers<B: 'static, R>(
    key: &'static std::thread::LocalKey<std::cell::RefCell<B>>,
    fresh: impl FnOnce() -> B,
    f: impl FnOnce(&mut B) -> R,
) -> R {
    key.with(|cell| match cell.try_borrow_mut() {
        Ok(mut b) => f(&mut b),
        Err(_) => f(&mut fresh()),
    })
}

/// A sample type the row kernels run in: its thread's block buffers, its
/// copy of the taps and its register-group width.
pub(crate) trait KernelReal: super::wide::Wide {
    /// Run `f` with this thread's kernel buffers of this type.
    fn with_bufs<R>(f: impl FnOnce(&mut KernelBufs<Self>) -> R) -> R;
    /// The analysis and synthesis taps in this type.
    fn phases(taps: &Taps) -> (&[Vec<Self>; 4], &[Vec<Self>; 4]);
    /// The whole filters `[rec_lo, rec_hi]` in this type.
    fn filters(taps: &Taps) -> &[Vec<Self>; 2];
    /// Synthesis of the interior pairs `q0 ..` (inputs read in place) by a
    /// kernel written for this type, if it has one: returns how many of the
    /// `pairs` pairs it wrote to `out` (pair `q` at `2 (q - q0)`); the
    /// generic kernel does the rest. Same sums in the same order.
    #[inline(always)]
    fn synthesis_interior(
        _ca: &[Self],
        _cd: &[Self],
        _taps: &Taps,
        _q0: usize,
        _pairs: usize,
        _out: &mut OutBuf<Self>,
    ) -> usize {
        0
    }
    /// The polyphase kernel with this type's register-group width for
    /// analysis or synthesis (`SYNTHESIS`) and the best build for this CPU.
    fn run<const SYNTHESIS: bool, Fill: Source<Self>, Emit: Sink<Self>>(
        bufs: &mut KernelBufs<Self>,
        q_start: isize,
        count: usize,
        p: &[Vec<Self>; 4],
        fill: &Fill,
        emit: &mut Emit,
    );
}

macro_rules! kernel_real {
    ($t:ty, $bufs:ident, $phases:expr, $lanes_analysis:expr, $lanes_synthesis:expr $(, $interior:path)?) => {
        impl KernelReal for $t {
            #[inline]
            fn with_bufs<R>(f: impl FnOnce(&mut KernelBufs<Self>) -> R) -> R {
                with_thread_buffers(&$bufs, || KernelBufs::ZERO, f)
            }
            #[inline(always)]
            fn phases(taps: &Taps) -> (&[Vec<Self>; 4], &[Vec<Self>; 4]) {
                let p = $phases(taps);
                (&p.analysis, &p.synthesis)
            }
            #[inline(always)]
            fn filters(taps: &Taps) -> &[Vec<Self>; 2] {
                &$phases(taps).rec
            }
            $(
                #[inline(always)]
                fn synthesis_interior(
                    ca: &[Self],
                    cd: &[Self],
                    taps: &Taps,
                    q0: usize,
                    pairs: usize,
                    out: &mut OutBuf<Self>,
                ) -> usize {
                    $interior(ca, cd, taps, q0, pairs, out)
                }
            )?
            #[inline(always)]
            fn run<const SYNTHESIS: bool, Fill: Source<Self>, Emit: Sink<Self>>(
                bufs: &mut KernelBufs<Self>,
                q_start: isize,
                count: usize,
                p: &[Vec<Self>; 4],
                fill: &Fill,
                emit: &mut Emit,
            ) {
                if SYNTHESIS {
                    run_best::<$t, $lanes_synthesis, { WIDE * $lanes_synthesis }, _, _>(bufs, q_start, count, p, fill, emit)
                } else {
                    run_best::<$t, $lanes_analysis, { WIDE * $lanes_analysis }, _, _>(bufs, q_start, count, p, fill, emit)
                }
            }
        }
    };
}

// `$phases(taps)` has fields `analysis` and `synthesis`: `Taps` itself in f64
kernel_real!(
    f64,
    KERNEL_BUFS_F64,
    std::convert::identity,
    LANES_F64_ANALYSIS,
    LANES_F64_SYNTHESIS,
    interior::synthesis_f64
);
kernel_real!(f32, KERNEL_BUFS_F32, Taps::float32, LANES_F32, LANES_F32, interior::synthesis_f32);

/// The kernel in the best build for this CPU, with `L` outputs per
/// register group (`LW` in the AVX-512 build).
#[inline(always)]
fn run_best<T: Real, const L: usize, const LW: usize, Fill: Source<T>, Emit: Sink<T>>(
    bufs: &mut KernelBufs<T>,
    q_start: isize,
    count: usize,
    p: &[Vec<T>; 4],
    fill: &Fill,
    emit: &mut Emit,
) {
    #[cfg(target_arch = "x86_64")]
    match kernel_build() {
        // SAFETY: the build is at most what the CPU supports (checked at run time).
        KernelBuild::Avx512 => return unsafe { run_blocks_avx512::<T, LW, _, _>(bufs, q_start, count, p, fill, emit) },
        KernelBuild::Avx2 => return unsafe { run_blocks_avx2::<T, L, _, _>(bufs, q_start, count, p, fill, emit) },
        KernelBuild::Portable => {}
    }
    run_blocks::<T, L, false, _, _>(bufs, q_start, count, p, fill, emit)
}

/// The polyphase kernel over `count` output pairs from `q_start`: `fill`
/// gathers inputs `j0 .. j0 + len + half - 1`, `emit(q, y0, y1)` takes the
/// outputs of pairs `q ..` in groups of at most `L`. Accumulators for `L`
/// outputs stay in registers across all taps.
#[inline(always)]
fn run_blocks<T: Real, const L: usize, const FMA: bool, Fill: Source<T>, Emit: Sink<T>>(
    bufs: &mut KernelBufs<T>,
    q_start: isize,
    count: usize,
    p: &[Vec<T>; 4],
    fill: &Fill,
    emit: &mut Emit,
) {
    let half = p[0].len();
    let (p00, p01, p10, p11) = (&p[0][..half], &p[1][..half], &p[2][..half], &p[3][..half]);
    let KernelBufs { in0, in1, .. } = bufs;
    let mut done = 0;
    while done < count {
        let len = BLOCK.min(count - done);
        let q0 = q_start + done as isize;
        let span = len + half - 1;
        let (in0, in1) = fill.inputs(q0, span, in0, in1);
        let mut t0 = 0;
        while t0 < len {
            let mut a0 = [T::ZERO; L];
            let mut a1 = [T::ZERO; L];
            for k in 0..half {
                let (c00, c01, c10, c11) = (p00[k], p01[k], p10[k], p11[k]);
                let s0: &[T; L] = in0[t0 + k..][..L].try_into().expect("lanes");
                let s1: &[T; L] = in1[t0 + k..][..L].try_into().expect("lanes");
                for i in 0..L {
                    a0[i] = T::madd::<FMA>(c01, s1[i], T::madd::<FMA>(c00, s0[i], a0[i]));
                    a1[i] = T::madd::<FMA>(c11, s1[i], T::madd::<FMA>(c10, s0[i], a1[i]));
                }
            }
            let m = L.min(len - t0);
            emit.emit::<L>(q0 + t0 as isize, &a0[..m], &a1[..m]);
            t0 += L;
        }
        done += len;
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn run_blocks_avx2<T: Real, const L: usize, Fill: Source<T>, Emit: Sink<T>>(
    bufs: &mut KernelBufs<T>,
    q_start: isize,
    count: usize,
    p: &[Vec<T>; 4],
    fill: &Fill,
    emit: &mut Emit,
) {
    run_blocks::<T, L, true, _, _>(bufs, q_start, count, p, fill, emit)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512vl,avx2,fma")]
unsafe fn run_blocks_avx512<T: Real, const L: usize, Fill: Source<T>, Emit: Sink<T>>(
    bufs: &mut KernelBufs<T>,
    q_start: isize,
    count: usize,
    p: &[Vec<T>; 4],
    fill: &Fill,
    emit: &mut Emit,
) {
    run_blocks::<T, L, true, _, _>(bufs, q_start, count, p, fill, emit)
}

/// The instruction sets the kernels are compiled for, in increasing order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum KernelBuild {
    /// Plain Rust, no target features (any CPU).
    Portable,
    /// AVX2 and FMA: 256-bit registers.
    Avx2,
    /// AVX-512 (F and VL) with FMA: 512-bit registers where the kernels'
    /// register groups are wide enough.
    Avx512,
}

impl KernelBuild {
    /// The name used by `AWD_KERNELS` and in benchmark reports.
    pub fn name(self) -> &'static str {
        match self {
            KernelBuild::Portable => "portable",
            KernelBuild::Avx2 => "avx2",
            KernelBuild::Avx512 => "avx512",
        }
    }
}

/// The best build this CPU runs, capped by the environment (checked once):
/// `AWD_KERNELS=portable|avx2|avx512` asks for a build (never one the CPU
/// lacks), and `AWD_PORTABLE_KERNELS=1` is `AWD_KERNELS=portable`. Every
/// build gives the same bits where it has FMA; the tests run each.
pub fn kernel_build() -> KernelBuild {
    static BUILD: std::sync::OnceLock<KernelBuild> = std::sync::OnceLock::new();
    *BUILD.get_or_init(|| {
        let cpu = cpu_build();
        let asked = if std::env::var_os("AWD_PORTABLE_KERNELS").is_some() {
            Some(KernelBuild::Portable)
        } else {
            std::env::var("AWD_KERNELS").ok().and_then(|v| {
                let found = [KernelBuild::Portable, KernelBuild::Avx2, KernelBuild::Avx512]
                    .into_iter()
                    .find(|b| b.name() == v.trim().to_ascii_lowercase());
                if found.is_none() {
                    eprintln!("awd: AWD_KERNELS={v:?} is not one of portable, avx2, avx512; ignored");
                }
                found
            })
        };
        asked.map_or(cpu, |b| b.min(cpu))
    })
}

/// The best build the CPU supports.
fn cpu_build() -> KernelBuild {
    #[cfg(target_arch = "x86_64")]
    {
        use std::arch::is_x86_feature_detected as has;
        if has!("avx2") && has!("fma") {
            return if has!("avx512f") && has!("avx512vl") { KernelBuild::Avx512 } else { KernelBuild::Avx2 };
        }
    }
    KernelBuild::Portable
}

/// Whether the kernels run a build with AVX2 and FMA (AVX-512 included).
pub fn has_avx2() -> bool {
    kernel_build() >= KernelBuild::Avx2
}

/// Run the kernel with the best build for this CPU and this thread's buffers.
#[inline]
pub(crate) fn dispatch<T: KernelReal, const SYNTHESIS: bool, Fill: Source<T>, Emit: Sink<T>>(
    q_start: isize,
    count: usize,
    p: &[Vec<T>; 4],
    fill: &Fill,
    emit: &mut Emit,
) {
    T::with_bufs(|bufs| T::run::<SYNTHESIS, _, _>(bufs, q_start, count, p, fill, emit))
}

/// Where the kernel's inputs come from: `fill(j0, x0, x1)` writes inputs
/// `j0 .. j0 + x0.len()` of both phases.
pub(crate) trait Source<T> {
    /// Write inputs `j0 .. j0 + x0.len()` of both phases.
    fn fill(&self, j0: isize, x0: &mut [T], x1: &mut [T]);

    /// Inputs `j0 .. j0 + span` of both phases, each followed by at least
    /// `MAX_LANES` readable values (the last register group reads past the
    /// span; those lanes are never emitted): gathered into the block buffers
    /// by default, borrowed where the source can lend them.
    #[inline(always)]
    fn inputs<'a>(&'a self, j0: isize, span: usize, in0: &'a mut [T], in1: &'a mut [T]) -> (&'a [T], &'a [T]) {
        self.fill(j0, &mut in0[..span], &mut in1[..span]);
        (in0, in1)
    }
}

/// Where the kernel's outputs go: `emit(q0, y0, y1)` takes pairs `q0 ..`.
pub(crate) trait Sink<T> {
    /// Take the outputs of pairs `q0 .. q0 + y0.len()` (at most `L`, the
    /// kernel's register-group width).
    fn emit<const L: usize>(&mut self, q0: isize, y0: &[T], y1: &[T]);
}

/// Analysis input: the extended signal split into even and odd samples.
pub(crate) struct Extended<'a, T> {
    pub x: &'a [T],
    pub mode: Mode,
    pub shift: isize,
}

impl<T: Real> Source<T> for Extended<'_, T> {
    /// `ext(2j - s)` and `ext(2j + 1 - s)`: a direct copy where both samples
    /// are inside the signal, the mode's rule elsewhere.
    #[inline(always)]
    fn fill(&self, j0: isize, even: &mut [T], odd: &mut [T]) {
        let (x, mode) = (self.x, self.mode);
        let n = x.len() as isize;
        let len = even.len() as isize;
        let m0 = 2 * j0 - self.shift;
        // interior pairs i in [lo, hi): 0 <= m0 + 2i and m0 + 2i + 1 < n
        let lo = (((-m0).max(0) + 1) / 2).min(len);
        let hi = ((n - m0) / 2).clamp(lo, len);
        for i in (0..lo).chain(hi..len) {
            let m = m0 + 2 * i;
            even[i as usize] = ext_value(x, m, mode);
            odd[i as usize] = ext_value(x, m + 1, mode);
        }
        if hi > lo {
            let start = (m0 + 2 * lo) as usize;
            let src = &x[start..start + 2 * (hi - lo) as usize];
            let (lo, hi) = (lo as usize, hi as usize);
            for ((e, o), pair) in even[lo..hi].iter_mut().zip(odd[lo..hi].iter_mut()).zip(src.chunks_exact(2)) {
                *e = pair[0];
                *o = pair[1];
            }
        }
    }
}

/// Synthesis input: the coefficients as they are.
struct Coeffs<'a, T> {
    ca: &'a [T],
    cd: &'a [T],
}

impl<T: Real> Source<T> for Coeffs<'_, T> {
    #[inline(always)]
    fn fill(&self, j0: isize, a: &mut [T], d: &mut [T]) {
        let j = j0 as usize;
        let n = a.len();
        a.copy_from_slice(&self.ca[j..j + n]);
        d.copy_from_slice(&self.cd[j..j + n]);
    }

    /// The coefficients themselves where `MAX_LANES` values follow the
    /// span, copies near the end.
    #[inline(always)]
    fn inputs<'a>(&'a self, j0: isize, span: usize, in0: &'a mut [T], in1: &'a mut [T]) -> (&'a [T], &'a [T]) {
        let j = j0 as usize;
        if j + span + MAX_LANES <= self.ca.len() {
            return (&self.ca[j..], &self.cd[j..]);
        }
        self.fill(j0, &mut in0[..span], &mut in1[..span]);
        (in0, in1)
    }
}

/// Periodization synthesis input: the coefficients read cyclically.
struct CyclicCoeffs<'a, T> {
    ca: &'a [T],
    cd: &'a [T],
    offset: isize,
}

impl<T: Real> Source<T> for CyclicCoeffs<'_, T> {
    #[inline(always)]
    fn fill(&self, j0: isize, a: &mut [T], d: &mut [T]) {
        let nc = self.ca.len() as isize;
        for (i, (va, vd)) in a.iter_mut().zip(d.iter_mut()).enumerate() {
            let idx = (j0 + i as isize - self.offset).rem_euclid(nc) as usize;
            *va = self.ca[idx];
            *vd = self.cd[idx];
        }
    }
}

/// Analysis output: `cA` and `cD` for pairs from `o0`.
struct Split<'a, T> {
    ca: &'a mut OutBuf<T>,
    cd: &'a mut OutBuf<T>,
    o0: usize,
}

impl<T: Real> Sink<T> for Split<'_, T> {
    #[inline(always)]
    fn emit<const L: usize>(&mut self, q0: isize, y0: &[T], y1: &[T]) {
        let at = q0 as usize - self.o0;
        store::<T, L>(&mut self.ca[at..at + y0.len()], y0);
        store::<T, L>(&mut self.cd[at..at + y1.len()], y1);
    }
}

/// Synthesis output: even/odd samples interleaved, from sample `t0` (even).
struct Interleaved<'a, T> {
    out: &'a mut OutBuf<T>,
    t0: usize,
}

impl<T: Real> Sink<T> for Interleaved<'_, T> {
    #[inline(always)]
    fn emit<const L: usize>(&mut self, q0: isize, y0: &[T], y1: &[T]) {
        let at = 2 * q0 as usize - self.t0;
        if let (Ok(e), Ok(o)) = (<&[T; L]>::try_from(y0), <&[T; L]>::try_from(y1)) {
            // a full group: fixed sizes let the interleave compile to shuffles
            let dst = &mut self.out[at..at + 2 * L];
            for i in 0..L {
                dst[2 * i].write(e[i]);
                dst[2 * i + 1].write(o[i]);
            }
            return;
        }
        for ((pair, &e), &o) in self.out[at..at + 2 * y0.len()].chunks_exact_mut(2).zip(y0).zip(y1) {
            pair[0].write(e);
            pair[1].write(o);
        }
    }
}

/// Periodization synthesis output: sample `2q + p` lands at
/// `(2q + p + shift) mod n2`, kept where it falls in `[t0, t0 + len)`.
struct Rotated<'a, T> {
    out: &'a mut OutBuf<T>,
    t0: isize,
    shift: isize,
    n2: isize,
}

impl<T: Real> Sink<T> for Rotated<'_, T> {
    #[inline(always)]
    fn emit<const L: usize>(&mut self, q0: isize, y0: &[T], y1: &[T]) {
        let len = self.out.len() as isize;
        for (i, (&e, &o)) in y0.iter().zip(y1).enumerate() {
            for (p, v) in [(0, e), (1, o)] {
                let t = (2 * (q0 + i as isize) + p + self.shift).rem_euclid(self.n2) - self.t0;
                if (0..len).contains(&t) {
                    self.out[t as usize].write(v);
                }
            }
        }
    }
}

/// Analysis over output range `[o0, o0 + ca.len())`.
fn analysis_range<T: KernelReal>(x: &[T], taps: &Taps, mode: Mode, o0: usize, ca: &mut OutBuf<T>, cd: &mut OutBuf<T>) {
    let count = ca.len();
    let source = Extended { x, mode, shift: taps.analysis_shift(mode) as isize };
    dispatch::<T, false, _, _>(o0 as isize, count, T::phases(taps).0, &source, &mut Split { ca, cd, o0 });
}

/// One analysis step of one signal (pywt `dwt`): writes `ca` and `cd`, each of
/// `dwt_coeff_len(x.len())` samples (every one written). Long signals are split over threads.
///
/// # Panics
/// If `x` is empty or the output lengths do not follow the length rule (the
/// plans check both before calling).
pub(crate) fn analysis_row<T: KernelReal>(x: &[T], taps: &Taps, mode: Mode, ca: &mut OutBuf<T>, cd: &mut OutBuf<T>) {
    analysis_row_checked(x, taps, mode, ca, cd, false);
}

/// [`analysis_row`], and if `check`, whether every value of `x` is finite
/// (else true): each thread scans its part of `x` just before its kernel
/// reads it, so the scan costs no extra pass over memory.
pub(crate) fn analysis_row_checked<T: KernelReal>(
    x: &[T],
    taps: &Taps,
    mode: Mode,
    ca: &mut OutBuf<T>,
    cd: &mut OutBuf<T>,
    check: bool,
) -> bool {
    let n_out = dwt_coeff_len(x.len(), taps.f, mode);
    assert!(!x.is_empty() && ca.len() == n_out && cd.len() == n_out, "analysis_row: bad lengths");
    if n_out > 2 * PAR_CHUNK {
        let parts = n_out.div_ceil(PAR_CHUNK);
        ca.par_chunks_mut(PAR_CHUNK)
            .zip(cd.par_chunks_mut(PAR_CHUNK))
            .enumerate()
            .map(|(i, (a, d))| {
                let finite = !check || all_finite_best(part(x, i, parts, 2 * PAR_CHUNK));
                analysis_range(x, taps, mode, i * PAR_CHUNK, a, d);
                finite
            })
            .reduce(|| true, |a, b| a & b)
    } else {
        let finite = !check || all_finite_best(x);
        analysis_range(x, taps, mode, 0, ca, cd);
        finite
    }
}

/// Run `f` on a thread of rayon's pool: the parallel loops of a
/// multilevel transform inside then start from a worker (which the other
/// workers keep up with) instead of waking this thread after every pass.
pub(crate) fn on_pool<R: Send>(f: impl FnOnce() -> R + Send) -> R {
    rayon::scope(|_| f())
}

/// Part `i` of `parts` of `v`, `per` values each (the last takes the rest):
/// the parts cover `v` exactly.
fn part<T>(v: &[T], i: usize, parts: usize, per: usize) -> &[T] {
    let start = (i * per).min(v.len());
    let end = if i + 1 == parts { v.len() } else { ((i + 1) * per).min(v.len()) };
    &v[start..end]
}

/// Synthesis of the output samples `[t0, t0 + out.len())`.
fn synthesis_range<T: KernelReal>(ca: &[T], cd: &[T], taps: &Taps, mode: Mode, t0: usize, out: &mut OutBuf<T>) {
    if mode != Mode::Periodization {
        let pairs = out.len() / 2;
        let synthesis = T::phases(taps).1;
        let done = T::synthesis_interior(ca, cd, taps, t0 / 2, pairs, out);
        dispatch::<T, true, _, _>(
            (t0 / 2 + done) as isize,
            pairs - done,
            synthesis,
            &Coeffs { ca, cd },
            &mut Interleaved { out, t0 },
        );
        return;
    }
    // Periodization: coefficients read cyclically; output moved by `shift`.
    let u = taps.f / 2 - 1;
    let (offset, shift) = ((u / 2) as isize, (u % 2) as isize);
    let (n2, len, t0) = (2 * ca.len() as isize, out.len() as isize, t0 as isize);
    // pairs q whose outputs 2q + p + shift can land in [t0, t0 + len)
    let q_first = (t0 - shift).div_euclid(2);
    let q_last = (t0 + len - 1 - shift).div_euclid(2);
    dispatch::<T, true, _, _>(
        q_first,
        (q_last - q_first + 1) as usize,
        T::phases(taps).1,
        &CyclicCoeffs { ca, cd, offset },
        &mut Rotated { out, t0, shift, n2 },
    );
}

/// One synthesis step of one signal (pywt `idwt` with both channels): `out`
/// has `idwt_output_len(ca.len())` samples and is overwritten.
///
/// # Panics
/// If `ca` and `cd` differ in length or `out` has the wrong length (the plans
/// check before calling).
pub(crate) fn synthesis_row<T: KernelReal>(ca: &[T], cd: &[T], taps: &Taps, mode: Mode, out: &mut OutBuf<T>) {
    synthesis_row_checked(ca, cd, taps, mode, out, (false, false));
}

/// [`synthesis_row`], and whether every value of `ca` (if `check.0`) and
/// of `cd` (if `check.1`) is finite, scanned part by part as
/// [`analysis_row_checked`] does.
pub(crate) fn synthesis_row_checked<T: KernelReal>(
    ca: &[T],
    cd: &[T],
    taps: &Taps,
    mode: Mode,
    out: &mut OutBuf<T>,
    check: (bool, bool),
) -> bool {
    let nc = ca.len();
    assert!(cd.len() == nc, "synthesis_row: cA has {nc} samples, cD {}", cd.len());
    assert_eq!(Some(out.len()), idwt_output_len(nc, taps.f, mode), "synthesis_row: bad output");
    let finite = |a: &[T], d: &[T]| (!check.0 || all_finite_best(a)) & (!check.1 || all_finite_best(d));
    if out.len() > 4 * PAR_CHUNK {
        let parts = out.len().div_ceil(2 * PAR_CHUNK);
        out.par_chunks_mut(2 * PAR_CHUNK)
            .enumerate()
            .map(|(i, o)| {
                let ok = finite(part(ca, i, parts, PAR_CHUNK), part(cd, i, parts, PAR_CHUNK));
                synthesis_range(ca, cd, taps, mode, 2 * i * PAR_CHUNK, o);
                ok
            })
            .reduce(|| true, |a, b| a & b)
    } else {
        let ok = finite(ca, cd);
        synthesis_range(ca, cd, taps, mode, 0, out);
        ok
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The interior synthesis kernels (f64 and f32) give the generic
    /// kernel's bits, at every start and length around their step sizes
    /// and the edges.
    #[test]
    fn interior_synthesis_equals_generic_kernel_bit_for_bit() {
        let mut state = 12345u64;
        let mut next = || {
            state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            (state >> 11) as f64 / (1u64 << 53) as f64 - 0.5
        };
        for f in [2usize, 10, 20] {
            let rec_lo: Vec<f64> = (0..f).map(|_| next()).collect();
            let rec_hi: Vec<f64> = (0..f).map(|_| next()).collect();
            let taps = Taps::new(&rec_lo, &rec_hi);
            for nc in [1usize, 15, 16, 17, 40, 77, 300, 1001] {
                let ca: Vec<f64> = (0..nc).map(|_| next()).collect();
                let cd: Vec<f64> = (0..nc).map(|_| next()).collect();
                let (ca32, cd32): (Vec<f32>, Vec<f32>) =
                    (ca.iter().map(|&v| v as f32).collect(), cd.iter().map(|&v| v as f32).collect());
                for t0 in [0usize, 2, 32] {
                    let case = format!("F={f} nc={nc} t0={t0}");
                    compare_interior_with_generic(&ca, &cd, &taps, t0, &case);
                    compare_interior_with_generic(&ca32, &cd32, &taps, t0, &format!("{case} f32"));
                }
            }
        }
    }

    /// Synthesis of the outputs from `t0` on by `synthesis_range` (with the
    /// type's interior kernel) equals the generic kernel's, bit for bit.
    fn compare_interior_with_generic<T: KernelReal>(ca: &[T], cd: &[T], taps: &Taps, t0: usize, case: &str) {
        let Some(n_out) = idwt_output_len(ca.len(), taps.f, Mode::Zero) else { return };
        if t0 > n_out {
            return;
        }
        let pairs = (n_out - t0) / 2;
        let mut fast = vec![T::ZERO; 2 * pairs];
        synthesis_range(ca, cd, taps, Mode::Zero, t0, as_out(&mut fast));
        let mut generic = vec![T::ZERO; 2 * pairs];
        let out = as_out(&mut generic);
        dispatch::<T, true, _, _>(
            (t0 / 2) as isize,
            pairs,
            T::phases(taps).1,
            &Coeffs { ca, cd },
            &mut Interleaved { out, t0 },
        );
        assert!(fast == generic, "{case}");
    }
}
