//! Data-parallel fits: processes holding parts of the rows, meeting in one
//! sum per step, learn the single-process filter bit for bit, for any split
//! of the rows, ragged batches and long fits included. The processes are
//! simulated by threads.

use std::sync::{Arc, Barrier, Mutex};

use awd_core::distill::{
    fit, fit_data_parallel, initial_filter, sweep, sweep_data_parallel, sweep_shard_data_parallel, Attribution,
    Collective, FitSettings, Geometry, Penalties, Problem, RowShard, Shard, Silent, SweepSpec,
};
use awd_core::{Mode, Wavelet};
use ndarray::{s, Array2};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, StandardNormal};

/// Threads standing in for ranks: each posts its buffer, all add them up in
/// rank order.
struct Threads {
    size: usize,
    rank: usize,
    slots: Arc<Mutex<Vec<Vec<f64>>>>,
    barrier: Arc<Barrier>,
}

impl Threads {
    fn group(size: usize) -> Vec<Threads> {
        let slots = Arc::new(Mutex::new(vec![Vec::new(); size]));
        let barrier = Arc::new(Barrier::new(size));
        (0..size).map(|rank| Threads { size, rank, slots: slots.clone(), barrier: barrier.clone() }).collect()
    }
}

impl Collective for Threads {
    fn size(&self) -> usize {
        self.size
    }
    fn rank(&self) -> usize {
        self.rank
    }
    fn sum(&self, buf: &mut [f64]) -> awd_core::Result<()> {
        self.slots.lock().unwrap()[self.rank] = buf.to_vec();
        self.barrier.wait();
        {
            let slots = self.slots.lock().unwrap();
            for (i, b) in buf.iter_mut().enumerate() {
                *b = slots.iter().map(|s| s[i]).sum();
            }
        }
        self.barrier.wait();
        Ok(())
    }
    fn all_equal(&self, value: u64) -> awd_core::Result<bool> {
        let mut v = [value as f64];
        self.sum(&mut v)?;
        Ok(v[0] == value as f64 * self.size as f64)
    }
}

fn data(n: usize, len: usize, seed: u64) -> (Array2<f64>, Array2<f64>) {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let x = Array2::from_shape_simple_fn((n, len), || StandardNormal.sample(&mut rng));
    let g = Array2::from_shape_simple_fn((n, len), || StandardNormal.sample(&mut rng));
    (x, g)
}

fn settings(levels: usize, batch_size: usize) -> FitSettings {
    FitSettings {
        levels,
        mode: Mode::Zero,
        penalties: Penalties { lambda: 0.05, gamma: 0.1, attribution: Attribution::Saliency, ..Default::default() },
        epochs: 4,
        batch_size,
        lr: 0.01,
        seed: 3,
    }
}

/// Rank `c`'s contiguous share of the rows of `x` and `g` as a problem
/// (filters of 10 taps, zero mode), with where the share sits.
fn share<'a>(
    x: &'a Array2<f64>,
    g: &'a Array2<f64>,
    geometry: Geometry,
    levels: usize,
    c: &Threads,
) -> (Problem<'a>, RowShard) {
    let n = x.nrows();
    let rows = RowShard::split(n, c.rank, c.size);
    let (xs, gs) = (x.slice(s![rows.clone(), ..]), g.slice(s![rows.clone(), ..]));
    let p = Problem::new(xs, Some(gs), geometry, 10, Mode::Zero, levels).unwrap();
    (p, RowShard { first: rows.start, total: n })
}

/// A sweep of `lambdas x gammas`, `epochs` each, from db5 with noise seeded
/// by `seed`, over the data of `whole`.
fn sweep_spec(whole: &Problem, lambdas: Vec<f64>, gammas: Vec<f64>, epochs: usize, seed: u64) -> SweepSpec {
    SweepSpec {
        lambdas,
        gammas,
        base: FitSettings { epochs, ..settings(2, 8) },
        initial_lowpass: initial_filter(&Wavelet::from_name("db5").unwrap().rec_lo, 1.0, 0.1, seed),
        data_fingerprint: whole.fingerprint(),
        extra: serde_json::json!({ "note": "test" }),
    }
}

/// The filter learned by `ranks` threads, each holding its contiguous rows.
fn parallel(x: &Array2<f64>, g: &Array2<f64>, geometry: &Geometry, s: &FitSettings, ranks: usize) -> Vec<Vec<f64>> {
    let h0 = initial_filter(&Wavelet::from_name("db5").unwrap().rec_lo, 1.0, 0.1, 7);
    std::thread::scope(|scope| {
        let handles: Vec<_> = Threads::group(ranks)
            .into_iter()
            .map(|c| {
                let (h0, geometry) = (&h0, geometry.clone());
                scope.spawn(move || {
                    let (p, shard) = share(x, g, geometry, s.levels, &c);
                    fit_data_parallel(&p, shard, h0, s, &c, &Silent).unwrap().lowpass
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    })
}

fn max_relative(a: &[f64], b: &[f64]) -> f64 {
    let scale = b.iter().map(|v| v.abs()).fold(0.0, f64::max);
    a.iter().zip(b).map(|(x, y)| (x - y).abs() / scale).fold(0.0, f64::max)
}

#[test]
fn unequal_shards_and_ragged_batches_learn_the_single_process_filter() {
    // 50 signals: shards of 17, 17, 16; batches of 16 leave a last batch of 2
    let (x, g) = data(50, 48, 1);
    let geometry = Geometry::OneD { n: 48 };
    let s = settings(3, 16);
    let h0 = initial_filter(&Wavelet::from_name("db5").unwrap().rec_lo, 1.0, 0.1, 7);
    let p = Problem::new(x.view(), Some(g.view()), geometry.clone(), 10, Mode::Zero, 3).unwrap();
    let alone = fit(&p, &h0, &s, &Silent).unwrap().lowpass;
    assert!(max_relative(&alone, &h0) > 1e-4, "training moved the filter");
    for ranks in [2, 3, 7] {
        let filters = parallel(&x, &g, &geometry, &s, ranks);
        for f in &filters {
            assert_eq!(f, &alone, "{ranks} ranks: relative difference {:e}", max_relative(f, &alone));
        }
    }
    // more ranks than a batch has members, and ranks holding no member of a batch
    let filters = parallel(&x, &g, &geometry, &settings(3, 3), 5);
    let alone = fit(&p, &h0, &settings(3, 3), &Silent).unwrap().lowpass;
    assert_eq!(filters[0], alone);
}

/// A long fit (1,500 steps, where L1 sign flips amplify any rounding
/// difference) stays bit-identical.
#[test]
fn long_fits_stay_bit_identical() {
    let (x, g) = data(60, 32, 4);
    let geometry = Geometry::OneD { n: 32 };
    let s = FitSettings { epochs: 250, ..settings(2, 10) };
    let h0 = initial_filter(&Wavelet::from_name("db5").unwrap().rec_lo, 1.0, 0.1, 7);
    let p = Problem::new(x.view(), Some(g.view()), geometry.clone(), 10, Mode::Zero, 2).unwrap();
    let alone = fit(&p, &h0, &s, &Silent).unwrap().lowpass;
    for f in parallel(&x, &g, &geometry, &s, 4) {
        assert_eq!(f, alone, "relative difference {:e}", max_relative(&f, &alone));
    }
}

#[test]
fn maps_too() {
    let (x, g) = data(20, 16 * 16, 2);
    let geometry = Geometry::TwoD { rows: 16, cols: 16 };
    let s = settings(2, 8);
    let h0 = initial_filter(&Wavelet::from_name("db5").unwrap().rec_lo, 1.0, 0.1, 7);
    let p = Problem::new(x.view(), Some(g.view()), geometry.clone(), 10, Mode::Zero, 2).unwrap();
    let alone = fit(&p, &h0, &s, &Silent).unwrap().lowpass;
    assert!(max_relative(&alone, &h0) > 1e-4, "training moved the filter");
    for f in parallel(&x, &g, &geometry, &s, 3) {
        assert_eq!(f, alone);
    }
}

/// The files directly in `dir` (name, bytes), sorted by name.
fn files(dir: &std::path::Path) -> Vec<(std::ffi::OsString, Vec<u8>)> {
    let mut v: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_file())
        .map(|p| (p.file_name().unwrap().to_owned(), std::fs::read(&p).unwrap()))
        .collect();
    v.sort();
    v
}

/// A sweep whose fits are data-parallel over 3 processes writes the files of
/// the single-process sweep, byte for byte, and resumes from them.
#[test]
fn data_parallel_sweep_writes_the_single_process_files() {
    let (x, g) = data(41, 32, 5);
    let geometry = Geometry::OneD { n: 32 };
    let whole = Problem::new(x.view(), Some(g.view()), geometry.clone(), 10, Mode::Zero, 2).unwrap();
    let spec = sweep_spec(&whole, vec![0.01, 0.1], vec![0.0, 0.3, 1.0], 3, 7);
    let (one, many) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    sweep(&whole, &spec, one.path(), &Silent).unwrap();
    let run = || {
        std::thread::scope(|scope| {
            let handles: Vec<_> = Threads::group(3)
                .into_iter()
                .map(|c| {
                    let (spec, geometry, dir) = (&spec, geometry.clone(), many.path());
                    let (x, g) = (&x, &g);
                    scope.spawn(move || {
                        let (p, shard) = share(x, g, geometry, 2, &c);
                        sweep_data_parallel(&p, shard, spec, dir, &c, &Silent).unwrap()
                    })
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect::<Vec<_>>()
        })
    };
    let points = run();
    assert_eq!(points[0].as_ref().map(Vec::len), Some(6), "process 0 returns every point");
    assert!(points[1].is_none() && points[2].is_none());
    let want = files(one.path());
    assert_eq!(want.len(), 6 + 3, "6 points, sweep.json, summary.json, summary.md");
    assert!(files(many.path()) == want, "the data-parallel sweep's files differ from the single-process sweep's");
    // resuming reads the points back on every process and changes nothing
    let again = run();
    assert_eq!(again[0], points[0]);
    assert!(files(many.path()) == want);
}

#[test]
fn row_shards_cover_the_rows_once() {
    for total in [0, 1, 5, 50, 51] {
        for size in 1..6 {
            let parts: Vec<_> = (0..size).map(|r| RowShard::split(total, r, size)).collect();
            assert_eq!(parts[0].start, 0);
            assert_eq!(parts[size - 1].end, total);
            for w in parts.windows(2) {
                assert_eq!(w[0].end, w[1].start);
                assert!(w[0].len() >= w[1].len() && w[0].len() <= w[1].len() + 1);
            }
        }
    }
}

/// Groups of processes: each group owns lambda chains (a shard) and runs
/// their fits data-parallel over its members; groups of unequal sizes
/// running at once write the single-process sweep's files, byte for byte.
#[test]
fn groups_of_processes_sharing_chains_write_the_single_process_files() {
    let (x, g) = data(37, 32, 8);
    let geometry = Geometry::OneD { n: 32 };
    let whole = Problem::new(x.view(), Some(g.view()), geometry.clone(), 10, Mode::Zero, 2).unwrap();
    let spec = sweep_spec(&whole, vec![0.003, 0.01, 0.1], vec![0.0, 1.0], 2, 9);
    let (one, many) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    sweep(&whole, &spec, one.path(), &Silent).unwrap();
    // group 1 of 2 processes owns chains 0 and 2; group 2, of 3, chain 1
    let runs = std::thread::scope(|scope| {
        let mut handles = Vec::new();
        for (index, size) in [(1, 2), (2, 3)] {
            for c in Threads::group(size) {
                let (spec, geometry, dir, x, g) = (&spec, geometry.clone(), many.path(), &x, &g);
                handles.push(scope.spawn(move || {
                    let (p, rows) = share(x, g, geometry, 2, &c);
                    let shard = Shard::new(index, 2).unwrap();
                    sweep_shard_data_parallel(&p, rows, spec, dir, shard, &c, &Silent).unwrap()
                }));
            }
        }
        handles.into_iter().map(|h| h.join().unwrap()).collect::<Vec<_>>()
    });
    let roots: Vec<_> = runs.iter().flatten().collect();
    assert_eq!(roots.len(), 2, "process 0 of each group reports its shard");
    assert_eq!(roots.iter().map(|r| r.computed).sum::<usize>(), 6, "every point fitted once");
    // the summary is written once: by the group that finishes last, or by
    // the first under the summary lock when both find the grid complete
    let summarisers = roots.iter().filter(|r| r.wrote_summary).count();
    assert_eq!(summarisers, 1, "{summarisers} groups wrote the summary");
    assert!(
        roots.iter().all(|r| r.wrote_summary <= r.complete.is_some()),
        "a summary written before the grid was complete"
    );
    let want = files(one.path());
    assert_eq!(want.len(), 6 + 3);
    assert!(files(many.path()) == want, "the grouped sweep's files differ from the single-process sweep's");
}
