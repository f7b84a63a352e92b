//! `awd data cosmology`: simulated lensing maps for the cosmology case.

use anyhow::{Context, Result};
use awd::data::cosmology::ClTable;
use awd::data::lognormal::{simulate_maps, MapSpec, ShapeNoise, SimulatedMaps, SplitCounts};
use awd::data::map_dir::write_map_dir;

use awd::pipeline::cosmology::PAPER_SPLIT;

use crate::args::{DataCosmologyArgs, MapCountArgs, MapSimArgs};

/// The C_ell table of `--cl-table`, or the built-in one.
pub fn cl_table(sim: &MapSimArgs) -> Result<ClTable> {
    Ok(match &sim.cl_table {
        Some(p) => ClTable::load(p).context("--cl-table")?,
        None => ClTable::built_in(),
    })
}

/// The map geometry and noise of the arguments, checked.
pub fn map_spec(sim: &MapSimArgs, default_size: usize) -> Result<MapSpec> {
    let spec = MapSpec {
        size: sim.size.unwrap_or(default_size),
        pixel_arcmin: sim.pixel_arcmin,
        noise: ShapeNoise { sigma_e: sim.sigma_e, n_gal: sim.noise },
    };
    spec.validate().context("--size / --pixel-arcmin / --noise / --sigma-e")?;
    Ok(spec)
}

/// The maps per cosmology of each part: `--maps-per-cosmology` split
/// 70/15/15, or the three counts, each defaulting to `default`'s.
pub fn split_counts(c: &MapCountArgs, default: SplitCounts) -> Result<SplitCounts> {
    match c.maps_per_cosmology {
        Some(n) => SplitCounts::from_total(n).context("--maps-per-cosmology"),
        None => SplitCounts::new(
            c.train_maps.unwrap_or(default.train),
            c.val_maps.unwrap_or(default.val),
            c.test_maps.unwrap_or(default.test),
        )
        .context("--train-maps / --val-maps / --test-maps"),
    }
}

/// Simulate the split with a progress bar (one tick per cosmology).
pub fn simulate(table: &ClTable, spec: MapSpec, counts: SplitCounts, seed: u64) -> Result<SimulatedMaps> {
    let bar = crate::progress::Bar::new(table.cosmologies.len() as u64, "cosmologies simulated");
    let maps = simulate_maps(table, spec, counts, seed, &|| bar.inc(1))?;
    bar.finish();
    Ok(maps)
}

/// `awd data cosmology`.
pub fn cosmology_data_cmd(a: &DataCosmologyArgs) -> Result<()> {
    let table = cl_table(&a.sim)?;
    let spec = map_spec(&a.sim, 64)?;
    let counts = split_counts(&a.counts, PAPER_SPLIT)?;
    let maps = simulate(&table, spec, counts, a.seed)?;
    write_map_dir(&a.output_dir, &maps)?;
    let about = serde_json::json!({
        "spec": spec,
        "maps_per_cosmology": counts,
        "seed": a.seed,
        "cosmologies": table.cosmologies.len(),
        "noise_pixel_std": spec.noise.pixel_std(spec.pixel_arcmin),
        "params_columns": ["m_nu_ev", "omega_m", "a_s_1e9"],
    });
    awd::io::write_json_atomic(&a.output_dir.join("spec.json"), &about)?;
    super::emit(&format!(
        "cosmology maps: {} train, {} val, {} test of {}x{} ({} arcmin pixels); wrote {}",
        maps.train.len(),
        maps.val.len(),
        maps.test.len(),
        spec.size,
        spec.size,
        spec.pixel_arcmin,
        a.output_dir.display()
    ))
}
