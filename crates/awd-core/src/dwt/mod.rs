//! Discrete wavelet transforms with PyWavelets' conventions: coefficient order,
//! lengths, modes and filter orientation.

pub(crate) mod adjoint;
pub(crate) mod cols;
pub(crate) mod extend;
mod interior;
pub(crate) mod kernel;
pub mod len;
mod plan1d;
mod plan2d;
pub mod real;
pub mod reference;
pub(crate) mod stencil;
mod tiles;
mod wide;

pub use kernel::{has_avx2, kernel_build, KernelBuild};
pub use len::{boundary_level_warning, dwt_coeff_len, dwt_max_level, idwt_output_len, max_useful_level};
pub use plan1d::{dwt, idwt, pack_coeff_rows, wavedec, waverec, Coeffs1d, Plan1d, Scratch};
pub use plan2d::{wavedec2, waverec2, Coeffs2d, Plan2d};
pub use real::Real;
