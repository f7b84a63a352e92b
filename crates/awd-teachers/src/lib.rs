//! # awd-teachers
//!
//! The networks `awd` distills, on candle (CPU): a multilayer perceptron (the
//! paper's synthetic teacher), an LSTM (its biology teacher), a small
//! residual CNN for 2-D maps (a scaled-down ResNet) and its 1-D counterpart
//! for signals (a linear head on the flattened feature maps, so positions
//! count). Training with Adam and
//! mean squared error, seeded initialisation and shuffling, a validation split
//! with early stopping; weights saved as safetensors with a JSON of the
//! architecture beside them; input gradients for TRIM (saliency and
//! integrated gradients) as plain `f64` arrays.
//!
//! The core crate never sees a tensor: this crate turns arrays into tensors
//! and gradients back into arrays.

#![warn(missing_docs)]

mod cnn2d;
mod config;
mod error;
mod grad;
mod model;
mod train;

pub use config::{Arch, TeacherConfig};
pub use error::{Result, TeacherError};
pub use grad::{input_gradients, GradMethod};
pub use model::Teacher;
pub use train::{train, train_cancellable, EpochLog, TrainOptions, TrainReport};
