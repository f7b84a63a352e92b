//! A distillation problem: the data `X`, the teacher's input gradients `G`
//! (optional) and the transform geometry; evaluates eq. 8 and its exact
//! gradient on any subset of samples, in parallel and deterministically.

use ndarray::ArrayView2;
use rayon::prelude::*;

use super::fit::{Alone, Collective};
use super::objective::{LossTerms, Penalties, SampleSums, Scales, LOSS_SUMS};
use super::rows::{SampleRows, Stored};
use super::tape1d::{Layout1d, Tape1d};
use super::tape2d::{Layout2d, Tape2d};
use super::validity::{add_highpass_grad, highpass, validity};
use crate::dwt::kernel::Taps;
use crate::error::{check_finite, Error, Result};
use crate::Mode;

/// Samples evaluated together per parallel task: about a quarter of the
/// batch, between 8 and 64, and at most [`CHUNK_VALUES`] values (maps come
/// 8 at a time: a tape's arrays grow with the chunk, and the two tapes of
/// two threads must stay in cache). Any chunking gives the same bits: every
/// sample's sums are its own.
fn chunk_size(batch: usize, values_per_sample: usize) -> usize {
    let cap = (CHUNK_VALUES / values_per_sample.max(1)).max(8);
    batch.div_ceil(4).clamp(8, 64).min(cap)
}

/// Values (samples x values per sample) of one chunk, at most, unless a
/// chunk of 8 samples is larger: 256 KB per array of a tape.
const CHUNK_VALUES: usize = 1 << 15;

/// Batch positions whose per-sample sums are gathered in one table (and one
/// collective sum) at a time: a training batch is one block; an evaluation
/// of the whole data set goes block by block, so memory does not grow with
/// the number of samples.
const REDUCE_BLOCK: usize = 4096;

/// This process's part of one (global) batch, for a data-parallel
/// evaluation.
#[derive(Debug, Clone, Copy)]
pub struct BatchShare<'i> {
    /// The batch members held here, as rows of this process's problem.
    pub rows: &'i [usize],
    /// Their positions in the global batch, strictly increasing.
    pub positions: &'i [usize],
    /// Size of the global batch, which every scale factor uses.
    pub batch: usize,
}

/// Signals (1-D) or images (2-D).
#[derive(Debug, Clone, PartialEq)]
pub enum Geometry {
    /// Signals of `n` samples.
    OneD {
        /// Samples per signal.
        n: usize,
    },
    /// Images of `rows x cols`.
    TwoD {
        /// Image rows.
        rows: usize,
        /// Image columns.
        cols: usize,
    },
}

#[derive(Debug, Clone)]
enum Layout {
    OneD(Layout1d),
    TwoD(Layout2d),
}

enum Tape {
    OneD(Box<Tape1d>),
    TwoD(Box<Tape2d>),
}

impl Tape {
    fn chunk(&mut self, taps: &Taps, xs: &[&[f64]], gs: Option<&[&[f64]]>, tc: bool, sc: Option<&Scales>) {
        match self {
            Tape::OneD(t) => t.chunk(taps, xs, gs, tc, sc),
            Tape::TwoD(t) => t.chunk(taps, xs, gs, tc, sc),
        }
    }
    fn sums(&self) -> &SampleSums {
        match self {
            Tape::OneD(t) => &t.sums,
            Tape::TwoD(t) => &t.sums,
        }
    }
    fn forward_into(
        &mut self,
        taps: &Taps,
        xs: &[&[f64]],
        gs: Option<&[&[f64]]>,
        tc: bool,
        coeffs: &mut [Vec<f64>],
        attrs: Option<&mut [Vec<f64>]>,
    ) {
        match self {
            Tape::OneD(t) => t.forward_into(taps, xs, gs, tc, coeffs, attrs),
            Tape::TwoD(t) => t.forward_into(taps, xs, gs, tc, coeffs, attrs),
        }
    }
}

/// Data and transform of one distillation: plain arrays in.
pub struct Problem<'a> {
    /// Tapes kept between batches, so a training epoch reuses its buffers.
    pool: std::sync::Mutex<Vec<Tape>>,
    /// Samples as rows, in standard (row-major) layout: borrowed when the
    /// caller's array already is, else a row-major copy; float32 stays
    /// float32.
    x: Stored<'a>,
    g: Option<Stored<'a>>,
    layout: Layout,
    levels: usize,
    mode: Mode,
}

impl std::fmt::Debug for Problem<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Problem")
            .field("samples", &self.x.dim().0)
            .field("values_per_sample", &self.x.dim().1)
            .field("teacher", &self.g.is_some())
            .field("levels", &self.levels)
            .field("mode", &self.mode)
            .finish()
    }
}

impl<'a> Problem<'a> {
    /// `x`: one sample per row (an image flattened row-major for 2-D); `g`:
    /// the teacher's input gradients, same shape, or `None` to learn from the
    /// data alone. Any memory layout is accepted (a column-major or strided
    /// view is copied to row-major once). Checks shapes, finiteness and
    /// lengths and returns an error for anything a user can get wrong.
    pub fn new(
        x: ArrayView2<'a, f64>,
        g: Option<ArrayView2<'a, f64>>,
        geometry: Geometry,
        filter_len: usize,
        mode: Mode,
        levels: usize,
    ) -> Result<Self> {
        Self::with_rows(x.into(), g.map(SampleRows::from), geometry, filter_len, mode, levels)
    }

    /// [`Problem::new`] for rows of float64 or float32 (X and G need not
    /// share a type). Float32 rows are never widened as a whole: each chunk
    /// is widened when a batch reads it, so a mapped float32 file keeps its
    /// size in memory, and the results equal those of the rows converted to
    /// float64 first, bit for bit.
    pub fn with_rows(
        x: SampleRows<'a>,
        g: Option<SampleRows<'a>>,
        geometry: Geometry,
        filter_len: usize,
        mode: Mode,
        levels: usize,
    ) -> Result<Self> {
        let (n, width) = x.dim();
        if n == 0 {
            return Err(Error::TooShort { reason: "X holds no samples".into() });
        }
        let sample_len = match geometry {
            Geometry::OneD { n } => n,
            Geometry::TwoD { rows, cols } => rows * cols,
        };
        if width != sample_len {
            return Err(Error::ShapeMismatch {
                reason: format!("samples have {width} values, the geometry {geometry:?} needs {sample_len}"),
            });
        }
        x.check_finite().map_err(|e| locate("X", e))?;
        if let Some(g) = &g {
            if g.dim() != x.dim() {
                return Err(Error::ShapeMismatch {
                    reason: format!("X has shape {:?} but G has {:?}; they must be equal", x.dim(), g.dim()),
                });
            }
            g.check_finite().map_err(|e| locate("G", e))?;
        }
        let layout = match geometry {
            Geometry::OneD { n } => Layout::OneD(Layout1d::new(n, filter_len, mode, levels)?),
            Geometry::TwoD { rows, cols } => Layout::TwoD(Layout2d::new((rows, cols), filter_len, mode, levels)?),
        };
        let (x, g) = (x.stored(), g.map(SampleRows::stored));
        Ok(Problem { pool: std::sync::Mutex::new(Vec::new()), x, g, layout, levels, mode })
    }

    /// Number of samples.
    pub fn len(&self) -> usize {
        self.x.dim().0
    }
    /// Whether there are no samples (never: `new` refuses that).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// Whether teacher gradients were given.
    pub fn has_teacher(&self) -> bool {
        self.g.is_some()
    }
    /// Levels J.
    pub fn levels(&self) -> usize {
        self.levels
    }
    /// Mode of the transform.
    pub fn mode(&self) -> Mode {
        self.mode
    }
    /// Filter length the problem was laid out for.
    pub fn filter_len(&self) -> usize {
        match &self.layout {
            Layout::OneD(l) => l.f,
            Layout::TwoD(l) => l.f,
        }
    }

    /// A tape from the pool (or a new one); it goes back when dropped. Every
    /// buffer of a tape is overwritten before it is read, so reuse cannot
    /// change a result.
    fn pooled_tape(&self) -> Pooled<'_> {
        let tape = self.pool.lock().ok().and_then(|mut p| p.pop()).unwrap_or_else(|| self.new_tape());
        Pooled { tape: Some(tape), pool: &self.pool }
    }

    fn new_tape(&self) -> Tape {
        match &self.layout {
            Layout::OneD(l) => Tape::OneD(Box::new(Tape1d::new(l))),
            Layout::TwoD(l) => Tape::TwoD(Box::new(Tape2d::new(l))),
        }
    }

    /// An error unless `h` has the problem's filter length and finite taps.
    fn check_filter(&self, h: &[f64]) -> Result<()> {
        if h.len() != self.filter_len() {
            return Err(Error::InvalidArgument {
                reason: format!("the filter has {} taps, the problem was laid out for {}", h.len(), self.filter_len()),
            });
        }
        check_finite(ndarray::ArrayView1::from(h)).map_err(|e| locate("the filter", e))
    }

    /// Loss terms of eq. 8 at filter `h` on the samples `indices` (one batch),
    /// and the gradient with respect to `h` when `want_grad`. Errors for a
    /// filter of another length, a non-finite tap, an empty batch or an index
    /// beyond the samples.
    pub fn evaluate(
        &self,
        h: &[f64],
        p: &Penalties,
        indices: &[usize],
        want_grad: bool,
    ) -> Result<(LossTerms, Option<Vec<f64>>)> {
        if indices.is_empty() {
            return Err(Error::InvalidArgument { reason: "the batch holds no sample indices".into() });
        }
        let positions: Vec<usize> = (0..indices.len()).collect();
        let share = BatchShare { rows: indices, positions: &positions, batch: indices.len() };
        self.evaluate_shared(h, p, &share, want_grad, &Alone)
    }

    /// [`Problem::evaluate`] for a data-parallel fit: this process holds
    /// some rows of the data and `share` says which batch members are here
    /// (possibly none) and where they sit in the global batch. Every sample's
    /// sums are computed on their own and placed at its batch position in a
    /// table that one `collective` sum completes (each entry is nonzero on
    /// one process only, so that sum is exact); the table is then added up
    /// in batch order. The result is therefore the same, bit for bit,
    /// however the batch is spread over processes, threads and chunks. The
    /// validity penalties, which depend on `h` alone, are added once after.
    pub fn evaluate_shared(
        &self,
        h: &[f64],
        p: &Penalties,
        share: &BatchShare,
        want_grad: bool,
        collective: &dyn Collective,
    ) -> Result<(LossTerms, Option<Vec<f64>>)> {
        self.check_filter(h)?;
        let BatchShare { rows, positions, batch } = *share;
        if batch == 0 || rows.len() > batch || rows.len() != positions.len() {
            return Err(Error::InvalidArgument {
                reason: format!(
                    "{} batch members ({} positions) here but a batch of {batch}",
                    rows.len(),
                    positions.len()
                ),
            });
        }
        if positions.windows(2).any(|w| w[0] >= w[1]) || positions.last().is_some_and(|&p| p >= batch) {
            return Err(Error::InvalidArgument {
                reason: format!("batch positions must increase strictly and stay below the batch size {batch}"),
            });
        }
        if let Some(&i) = rows.iter().find(|&&i| i >= self.len()) {
            return Err(Error::InvalidArgument {
                reason: format!("sample index {i} is beyond the {} samples", self.len()),
            });
        }
        let taps = Taps::new(h, &highpass(h));
        let scales = Scales::new(p, self.levels, batch);
        let tc = p.attribution.times_coefficients();
        let f = h.len();
        let width = if want_grad { LOSS_SUMS + 2 * f } else { LOSS_SUMS };
        let mut sums = vec![0.0; width];
        let mut table = Vec::new();
        for block in (0..batch).step_by(REDUCE_BLOCK) {
            let end = (block + REDUCE_BLOCK).min(batch);
            let (lo, hi) = (positions.partition_point(|&q| q < block), positions.partition_point(|&q| q < end));
            let (members, at) = (&rows[lo..hi], &positions[lo..hi]);
            let parts: Vec<Vec<f64>> = members
                .par_chunks(chunk_size(members.len(), self.x.dim().1))
                .map_init(
                    || (self.pooled_tape(), Vec::new(), Vec::new()),
                    |(pooled, xbuf, gbuf), idx| {
                        let tape = pooled.tape.as_mut().expect("tape until dropped");
                        let xs = self.x.gather(idx, xbuf);
                        let gs = self.g.as_ref().map(|g| g.gather(idx, gbuf));
                        tape.chunk(&taps, &xs, gs.as_deref(), tc, want_grad.then_some(&scales));
                        let mut out = vec![0.0; idx.len() * width];
                        tape.sums().write_rows(idx.len(), width, &mut out);
                        out
                    },
                )
                .collect();
            table.clear();
            table.resize((end - block) * width, 0.0);
            for (row, &q) in parts.iter().flat_map(|part| part.chunks_exact(width)).zip(at) {
                let q = q - block;
                table[q * width..(q + 1) * width].copy_from_slice(row);
            }
            if collective.size() > 1 {
                collective.sum(&mut table)?;
            }
            for row in table.chunks_exact(width) {
                for (s, v) in sums.iter_mut().zip(row) {
                    *s += v;
                }
            }
        }
        let (squared_error, abs_coefficients, abs_attributions) = (sums[0], sums[1], sums[2]);
        let mut vgrad = vec![0.0; f];
        let v = validity(h, &p.validity, want_grad.then_some(&mut vgrad[..]));
        let b = batch as f64;
        let arrays = (self.levels + 1) as f64;
        let mut t = LossTerms {
            total: 0.0,
            reconstruction: squared_error / b,
            lowpass_sum: v.lowpass_sum,
            highpass_sum: v.highpass_sum,
            unit_norm: v.unit_norm,
            cmf: v.cmf,
            orthogonality: v.orthogonality,
            l1_coefficients: abs_coefficients / arrays / b,
            l1_attributions: abs_attributions / arrays / b,
        };
        t.total =
            t.reconstruction + v.weighted(&p.validity) + p.lambda * t.l1_coefficients + p.gamma * t.l1_attributions;
        if !want_grad {
            return Ok((t, None));
        }
        let mut gh = sums[LOSS_SUMS..LOSS_SUMS + f].to_vec();
        add_highpass_grad(&sums[LOSS_SUMS + f..], &mut gh);
        for (a, b) in gh.iter_mut().zip(&vgrad) {
            *a += b;
        }
        Ok((t, Some(gh)))
    }

    /// A short fingerprint of the data (shapes and a hash of every value of
    /// X and G), so a resumed sweep can tell it is looking at the same data.
    pub fn fingerprint(&self) -> String {
        let g = self.g.iter().flat_map(|g| g.values());
        let hash = crate::io::fingerprint_values(self.x.values().chain(g));
        let (n, width) = self.x.dim();
        format!("{n}x{width}{}-{hash}", if self.g.is_some() { "+G" } else { "" })
    }

    /// Loss terms on every sample at once (a fit's epoch 0).
    pub fn evaluate_all(&self, h: &[f64], p: &Penalties) -> Result<LossTerms> {
        let all: Vec<usize> = (0..self.len()).collect();
        Ok(self.evaluate(h, p, &all, false)?.0)
    }

    /// Coefficients (pywt order, packed per sample) and attributions of the
    /// kind `p.attribution` at filter `h`, for every sample; attributions are
    /// `None` without teacher gradients. Shapes `(samples, coefficients)`.
    pub fn coefficients_and_attributions(
        &self,
        h: &[f64],
        attribution: super::Attribution,
    ) -> Result<(ndarray::Array2<f64>, Option<ndarray::Array2<f64>>)> {
        self.coefficients_and_attributions_of(h, attribution, 0..self.len())
    }

    /// [`Problem::coefficients_and_attributions`] of the samples `rows` only
    /// (the same values those rows get among all samples): a caller can walk
    /// the samples block by block, with memory for one block.
    pub fn coefficients_and_attributions_of(
        &self,
        h: &[f64],
        attribution: super::Attribution,
        rows: std::ops::Range<usize>,
    ) -> Result<(ndarray::Array2<f64>, Option<ndarray::Array2<f64>>)> {
        self.check_filter(h)?;
        if rows.start > rows.end || rows.end > self.len() {
            return Err(Error::InvalidArgument {
                reason: format!("samples {}..{} asked of {}", rows.start, rows.end, self.len()),
            });
        }
        let taps = Taps::new(h, &highpass(h));
        let total = match &self.layout {
            Layout::OneD(l) => l.coeff_total(),
            Layout::TwoD(l) => l.coeff_total(),
        };
        let n = rows.len();
        let mut coeffs = ndarray::Array2::zeros((n, total));
        let mut attrs = self.g.as_ref().map(|_| ndarray::Array2::zeros((n, total)));
        let tc = attribution.times_coefficients();
        let all: Vec<usize> = rows.collect();
        let parts: Vec<ChunkRows> = all
            .par_chunks(chunk_size(n, self.x.dim().1))
            .map_init(
                || (self.pooled_tape(), Vec::new(), Vec::new()),
                |(pooled, xbuf, gbuf), idx| {
                    let tape = pooled.tape.as_mut().expect("tape until dropped");
                    let xs = self.x.gather(idx, xbuf);
                    let gs = self.g.as_ref().map(|g| g.gather(idx, gbuf));
                    let mut c = vec![vec![0.0; total]; idx.len()];
                    let mut a = gs.as_ref().map(|_| vec![vec![0.0; total]; idx.len()]);
                    tape.forward_into(&taps, &xs, gs.as_deref(), tc, &mut c, a.as_deref_mut());
                    (c, a)
                },
            )
            .collect();
        let mut i = 0;
        for (c, a) in parts {
            for (k, row) in c.iter().enumerate() {
                coeffs.row_mut(i + k).assign(&ndarray::ArrayView1::from(row));
                if let (Some(attrs), Some(a)) = (attrs.as_mut(), a.as_ref()) {
                    attrs.row_mut(i + k).assign(&ndarray::ArrayView1::from(&a[k]));
                }
            }
            i += c.len();
        }
        Ok((coeffs, attrs))
    }
}

/// A tape borrowed from a problem's pool, returned on drop.
struct Pooled<'p> {
    tape: Option<Tape>,
    pool: &'p std::sync::Mutex<Vec<Tape>>,
}

impl Drop for Pooled<'_> {
    fn drop(&mut self) {
        if let (Some(t), Ok(mut p)) = (self.tape.take(), self.pool.lock()) {
            p.push(t);
        }
    }
}

/// Coefficient rows and (optional) attribution rows of one chunk.
type ChunkRows = (Vec<Vec<f64>>, Option<Vec<Vec<f64>>>);

/// Say which array a non-finite value is in.
fn locate(name: &str, e: Error) -> Error {
    match e {
        Error::NonFinite { value, location } => Error::NonFinite { value, location: format!("{location} of {name}") },
        other => other,
    }
}
