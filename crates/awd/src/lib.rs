//! # awd
//!
//! Adaptive wavelet distillation (Ha, Singh, Lanusse, Upadhyayula, Yu,
//! NeurIPS 2021) as a library: distill a trained network into a learned
//! wavelet and a tiny interpretable model, from plain arrays.
//!
//! * [`pipeline::distill()`]: the method on your data (a sweep over lambda x
//!   gamma, the interpretable model cross-validated at every grid point,
//!   selection, the final model, test evaluation against the initial wavelet).
//! * [`pipeline::synthetic`], [`pipeline::clathrin`], [`pipeline::cosmology`]:
//!   the paper's experiments, each `run(&Config, out_dir, progress)`.
//! * [`SavedModel`]: the models written into `models/`, loaded with every
//!   field checked, applied with `predict`.
//! * The numerics ([`dwt`], [`distill`], [`wavelet`] …, from `awd-core`) and
//!   the teacher networks ([`teachers`], from `awd-teachers`) re-exported.
//!
//! The teacher enters only through its input gradients `G = grad_x f(x)`,
//! computed once by any framework (PyTorch's `torch.autograd.grad`, or an
//! awd teacher: [`pipeline::Data::with_teacher_gradients`]).
//!
//! ```
//! use awd::distill::Silent;
//! use awd::ndarray::{Array2, Axis};
//! use awd::pipeline::{distill, Data, DistillConfig};
//!
//! // 200 signals of 32 samples; the target is their mean, so G = 1/32.
//! let x = Array2::from_shape_fn((200, 32), |(i, t)| ((i * 7 + t * 3) % 11) as f64 - 5.0);
//! let y = x.mean_axis(Axis(1)).unwrap();
//! let g = Array2::from_elem((200, 32), 1.0 / 32.0);
//! let data = Data::new(x.view().into_dyn(), y.view().into_dyn(), Some(g.view().into_dyn()), None, false)?;
//!
//! let config = DistillConfig { levels: 2, epochs: 2, ..DistillConfig::default() };
//! let out = distill(&config, &data, &Silent)?;
//!
//! let predictions = out.model.predict(x.view().into_dyn())?;
//! assert_eq!(predictions.len(), 200);
//! println!("selected lambda {} gamma {}", out.results.selected.lambda, out.results.selected.gamma);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

#![warn(missing_docs)]

#[cfg(feature = "mpi")]
pub mod cluster;
mod error;
pub mod model;
pub mod pipeline;

pub use awd_core::Error as CoreError;
pub use awd_core::{check_finite, data, distance, distill, dwt, interp, io, peaks, wavefun, wavelet, Mode, Wavelet};
pub use awd_teachers as teachers;
pub use error::{Error, Result};
pub use model::{SavedModel, TopKModel};
pub use ndarray;
