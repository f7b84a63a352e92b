//! `awd experiment cosmology`: the paper's §4.3 (library:
//! `awd::pipeline::cosmology`), plus Fig. D1, Fig. D2 and the filters.

use anyhow::Result;
use awd::pipeline::cosmology::{run as run_pipeline, Config, Maps};

use super::cosmology_plots::{plot_all, PlotInputs};
use crate::args::ExperimentCosmologyArgs;
use crate::progress::Bar;

/// Run the experiment.
pub fn run(a: &ExperimentCosmologyArgs) -> Result<()> {
    let mut cfg = if a.quick { Config::quick(a.seed) } else { Config::paper(a.seed) };
    cfg.fit.levels = a.levels.unwrap_or(cfg.fit.levels);
    cfg.lambdas = a.lambdas.clone().unwrap_or(cfg.lambdas);
    cfg.gammas_relative = a.gammas_relative.clone().unwrap_or(cfg.gammas_relative);
    cfg.maps = match (&a.maps_dir, &cfg.maps) {
        (Some(dir), _) => Maps::Folder(dir.clone()),
        (None, Maps::Simulated { spec, counts, .. }) => Maps::Simulated {
            cl_table: a.sim.cl_table.clone(),
            spec: crate::cmd::maps::map_spec(&a.sim, spec.size)?,
            counts: crate::cmd::maps::split_counts(&a.counts, *counts)?,
        },
        (None, Maps::Folder(_)) => unreachable!("the presets simulate"),
    };
    let bar = Bar::new(0, "epochs");
    let out = run_pipeline(&cfg, &a.output_dir, &bar)?;
    bar.finish();
    let m = &out.maps;
    let models: Vec<(&str, &awd::peaks::PeakCountModel)> = out.models.iter().map(|(n, m)| (n.as_str(), m)).collect();
    plot_all(
        &a.output_dir,
        &PlotInputs {
            train: m.train.maps.view(),
            train_params: m.train.params.view(),
            test: m.test.maps.view(),
            test_params: m.test.params.view(),
            awd_attributions: out.awd_attributions.view(),
            levels: out.levels,
            awd_lowpass: &out.awd_lowpass,
            models: [models[0], models[1], models[2], models[3], models[4]],
        },
    )?;
    crate::cmd::emit(&out.summary)
}
