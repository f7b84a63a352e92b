//! `awd experiment ...`: the paper's experiments. Each driver turns the
//! arguments into the library's `Config`, runs the pipeline, draws the
//! plots and prints one line; the numerics and files are the library's.
//! `spread` gathers cosmology runs of several seeds.

pub mod clathrin;
pub mod cosmology;
mod cosmology_plots;
pub mod spread;
pub mod synthetic;
