//! Adaptive wavelet distillation: learning the lowpass filter `h` of paper
//! eq. 8 with exact gradients, Adam, and warm-started sweeps.
//!
//! # TRIM without double back-propagation
//!
//! TRIM re-parameterises the teacher `f` on the wavelet domain. With the
//! analysis `Psi` and synthesis `Psi^-1` of the current filters and the
//! residual `r = x - Psi^-1 Psi x` held fixed,
//! `f'(w) = f(Psi^-1 w + r)`, so that `f'(Psi x) = f(x)`. The synthesis is
//! linear in `w`: `Psi^-1 w = A w` with `A = dPsi^-1/dw` (it depends on `h`,
//! not on `w`). By the chain rule,
//!
//! `grad_w f'(Psi x) = A^T grad_x f(A Psi x + r) = A^T grad_x f(x)`.
//!
//! So the saliency attribution in the wavelet domain is the adjoint of the
//! synthesis applied to the teacher's input gradient `G = grad_x f(x)`, and
//! `G` does not depend on `h`. It is computed once per sample by the caller
//! (any framework) and handed in as an array shaped like `X`; the engine never
//! sees the teacher. Likewise input-x-gradient is `(Psi x) * (A^T G)` and
//! integrated gradients `(Psi x) * (A^T gbar)`, with `gbar` the teacher
//! gradient averaged along the straight path from a baseline to `x`.
//!
//! The reference implementation instead differentiates `f'` with autograd and
//! back-propagates through that gradient again to reach `h` (a gradient of a
//! gradient through the teacher at every step). For a piecewise-linear teacher
//! (a ReLU network) `grad_x f` is constant on each linear region, so both give
//! the same attributions and the same `d/dh` of their L1 norm; we differentiate
//! `A^T G` through the filter bank instead, exactly and without the teacher.
//!
//! `A^T` is computed by the kernels of [`crate::dwt::adjoint`]: the synthesis
//! of every mode but periodization is the transpose of zero-mode analysis with
//! the same taps (periodization: of periodized analysis), and pywt's
//! trimming of an approximation one sample longer than its detail becomes
//! zero-padding in the transpose.

mod file;
mod fit;
mod objective;
mod problem;
mod rows;
mod sweep;
mod tape1d;
mod tape2d;
mod validity;

pub use file::{FilterBank, LearnedWavelet};
pub use fit::{
    check_settings, fit, fit_data_parallel, fit_stoppable, initial_filter, Adam, Alone, Collective, EpochRecord,
    FitOutcome, FitSettings, Flow, Progress, RowShard, Silent,
};
pub use objective::{Attribution, LossTerms, Penalties};
pub use problem::{BatchShare, Geometry, Problem};
pub use rows::SampleRows;
pub use sweep::{
    grid_values, log_space, summarize, sweep, sweep_data_parallel, sweep_shard, sweep_shard_data_parallel, Shard,
    ShardRun, SweepPoint, SweepSpec,
};
pub use validity::{highpass, validity, Validity, ValidityWeights, FAR_FROM_WAVELET};
