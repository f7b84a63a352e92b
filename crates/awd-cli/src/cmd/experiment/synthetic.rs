//! `awd experiment synthetic`: the paper's §4.1 (library:
//! `awd::pipeline::synthetic`), plus Fig. 3 and Fig. B4.

use std::path::Path;

use anyhow::Result;
use awd::pipeline::synthetic::{psi, run as run_pipeline, Config, Outcome, DISTANCE_LEVEL};
use awd::wavefun::wavefun;
use awd::Wavelet;

use crate::args::ExperimentSyntheticArgs;
use crate::plot::{plot_distance_vs_gamma, plot_wavelet_panels, GridCurve, WaveletPanel};
use crate::progress::Bar;

/// Run the experiment.
pub fn run(args: &ExperimentSyntheticArgs) -> Result<()> {
    let cfg = if args.quick { Config::quick(args.seed) } else { Config::paper(args.seed) };
    let bar = Bar::new(0, "epochs");
    let out = run_pipeline(&cfg, &args.output_dir, &bar)?;
    bar.finish();
    plots(&args.output_dir, &out)?;
    crate::cmd::emit(&out.summary)
}

fn plots(dir: &Path, out: &Outcome) -> Result<()> {
    let db5 = wavefun(&Wavelet::from_name("db5")?, DISTANCE_LEVEL)?;
    let mut panels = Vec::new();
    for s in &out.selected {
        panels.push(WaveletPanel {
            title: format!("initial: {}", s.init),
            psi: psi(&s.initial_lowpass)?,
            reference: db5.psi.clone(),
        });
    }
    for s in &out.selected {
        panels.push(WaveletPanel {
            title: format!("learned from {} (d = {:.3})", s.init, s.final_distance),
            psi: psi(&s.lowpass)?,
            reference: db5.psi.clone(),
        });
    }
    plot_wavelet_panels(
        &dir.join("fig3_wavelets.png"),
        "AWD on the synthetic benchmark: ψ against db5 (grey)",
        &panels,
        3,
    )?;
    let curves: Vec<GridCurve> = out
        .points
        .iter()
        .map(|(name, pts)| (name.clone(), pts.iter().map(|(p, d)| (p.lambda, p.gamma, *d)).collect()))
        .collect();
    plot_distance_vs_gamma(&dir.join("figB4_distance_vs_gamma.png"), &curves)
}
