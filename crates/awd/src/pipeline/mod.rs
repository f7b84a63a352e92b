//! Pipelines: [`distill()`] on anyone's data, and the paper's three
//! experiments ([`synthetic`], [`clathrin`], [`cosmology`]) as drivers over
//! it (each with its own data, teacher and paper table), and the [`spread`]
//! of a cosmology run over seeds.

pub mod clathrin;
pub mod cosmology;
mod data;
mod distill;
mod fit;
pub mod peaks;
pub mod spread;
pub mod stages;
pub mod synthetic;
mod teacher;

pub use data::{Data, DataFiles, Names, Part, INTEGRATED_GRADIENT_STEPS};
pub use distill::{
    compression, distill, subfilters, Compression, CompressionRates, CvScores, DataFileNames, DataSummary,
    DistillConfig, DistillResults, Distilled, GammaScale, GridScore, GridValues, MetricScore, ModelSpec, ScaledGrids,
    Scored, SeedResult, Selected, TestScores, ACTIVE_RELATIVE, DEFAULT_GAMMAS_RELATIVE, DEFAULT_LAMBDAS_RELATIVE,
    PEAK_BINS, PEAK_QUANTILE, TOP_K,
};
pub use fit::{
    all_succeed, check_agreement, fit, fit_across, sweep, sweep_across, sweep_data_parallel_across,
    sweep_groups_across, FitConfig, PreparedFit, Samples, SweepFiles,
};
pub use teacher::{ensemble_predict, teacher_gradients, teacher_inputs, teacher_predict, train_teacher, TeacherSpec};
