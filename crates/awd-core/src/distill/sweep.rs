//! Sweeps over a lambda x gamma grid with the reference's warm start: along
//! the first gamma, fits chain through increasing lambda; then for each
//! lambda, fits chain through increasing gamma, each starting from the
//! previous fit's filter. The lambda chains run in parallel. Each finished
//! point is written atomically as it completes, and a re-run skips the points
//! already on disk, so an interrupted sweep resumes where it stopped.
//!
//! A grid can be split over processes ([`Shard`], `--shard K/N` in a job
//! array): each runs whole lambda chains, under a lock per chain, into a
//! shared folder; results equal the single-process sweep bit for bit. Or
//! each fit can be spread over processes that hold parts of the data
//! ([`sweep_data_parallel`], `mpirun awd sweep --data-parallel`).

use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use super::file::LearnedWavelet;
use super::fit::{fit, fit_data_parallel, Collective, FitOutcome, FitSettings, Progress, RowShard};
use super::objective::LossTerms;
use super::problem::Problem;
use super::validity::Validity;
use crate::error::{Error, Result};
use crate::io::{create_json_atomic, write_atomic, write_json_atomic, IoError};

/// Identity of a sweep, checked before resuming one.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SweepSpec {
    /// Grid values of lambda, increasing.
    pub lambdas: Vec<f64>,
    /// Grid values of gamma, increasing.
    pub gammas: Vec<f64>,
    /// Settings shared by every point (lambda and gamma are overridden).
    pub base: FitSettings,
    /// The filter the first chain starts from.
    pub initial_lowpass: Vec<f64>,
    /// Fingerprint of the data (see [`Problem::fingerprint`]).
    pub data_fingerprint: String,
    /// Caller's settings recorded in every point file.
    pub extra: serde_json::Value,
}

/// One finished grid point.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SweepPoint {
    /// lambda of the point.
    pub lambda: f64,
    /// gamma of the point.
    pub gamma: f64,
    /// Index of lambda in the grid.
    pub lambda_index: usize,
    /// Index of gamma in the grid.
    pub gamma_index: usize,
    /// File of the point, relative to the sweep folder.
    pub file: String,
    /// Loss terms of the last epoch.
    pub final_terms: LossTerms,
    /// Validity penalties of the learned filter.
    pub validity: Validity,
    /// The learned filter.
    pub lowpass: Vec<f64>,
}

/// Sort, deduplicate and check grid values (finite, >= 0).
pub fn grid_values(name: &str, values: &[f64]) -> Result<Vec<f64>> {
    if values.is_empty() {
        return Err(Error::InvalidArgument { reason: format!("the {name} grid is empty") });
    }
    if let Some(v) = values.iter().find(|v| !(v.is_finite() && **v >= 0.0)) {
        return Err(Error::InvalidArgument { reason: format!("{name} must be finite and >= 0, got {v}") });
    }
    let mut v = values.to_vec();
    v.sort_by(|a, b| a.total_cmp(b));
    v.dedup();
    Ok(v)
}

/// `count` values spaced evenly in log10 between `lo` and `hi` (inclusive).
pub fn log_space(lo: f64, hi: f64, count: usize) -> Result<Vec<f64>> {
    if !(lo > 0.0 && hi >= lo && lo.is_finite() && hi.is_finite()) || count == 0 {
        return Err(Error::InvalidArgument {
            reason: format!("a log-spaced range needs 0 < lo <= hi and a count >= 1, got {lo}..{hi} x {count}"),
        });
    }
    if count == 1 {
        return Ok(vec![lo]);
    }
    let (a, b) = (lo.log10(), hi.log10());
    Ok((0..count).map(|i| 10f64.powf(a + (b - a) * i as f64 / (count - 1) as f64)).collect())
}

fn point_file(li: usize, gi: usize) -> String {
    format!("point_l{li:03}_g{gi:03}.json")
}

/// The part of a grid one process runs: lambda chains `li` with
/// `li % count == index - 1` (`index` counts from 1, as `--shard K/N`).
/// Every chain (the lambda's point on the first gamma, then its gammas) is
/// run whole, so shards reproduce the single-process sweep bit for bit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Shard {
    /// Which part, 1 ..= `count`.
    pub index: usize,
    /// Number of parts.
    pub count: usize,
}

impl Shard {
    /// The whole grid.
    pub const ALL: Shard = Shard { index: 1, count: 1 };

    /// Shard `index` of `count`, checked.
    pub fn new(index: usize, count: usize) -> Result<Self> {
        if count == 0 || index == 0 || index > count {
            return Err(Error::InvalidArgument {
                reason: format!(
                    "shard {index}/{count} does not exist: shards are K/N with 1 <= K <= N (e.g. 1/4 ... 4/4)"
                ),
            });
        }
        Ok(Shard { index, count })
    }

    /// Whether this shard runs the chain of lambda `li`.
    pub fn owns(&self, li: usize) -> bool {
        li % self.count == self.index - 1
    }

    /// Lambda indices of this shard's chains, of a grid of `lambdas` values.
    pub fn chains(&self, lambdas: usize) -> Vec<usize> {
        (0..lambdas).filter(|&li| self.owns(li)).collect()
    }

    /// Starting filters of other shards' chains that this shard needs (the
    /// first-gamma points before its last chain's): read from disk when
    /// finished there, else fitted and not written.
    pub fn borrowed_starts(&self, lambdas: usize) -> usize {
        self.chains(lambdas).last().map_or(0, |&last| (0..last).filter(|&li| !self.owns(li)).count())
    }
}

impl std::str::FromStr for Shard {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        let bad = || Error::InvalidArgument { reason: format!("shard '{s}' is not K/N (e.g. 2/8, K from 1 to N)") };
        let (k, n) = s.split_once('/').ok_or_else(bad)?;
        let k: usize = k.trim().parse().map_err(|_| bad())?;
        let n: usize = n.trim().parse().map_err(|_| bad())?;
        Shard::new(k, n)
    }
}

impl std::fmt::Display for Shard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

/// What one shard of a sweep did.
#[derive(Debug, Clone, PartialEq)]
pub struct ShardRun {
    /// The shard.
    pub shard: Shard,
    /// Lambda indices of its chains.
    pub lambda_indices: Vec<usize>,
    /// Its points, chain by chain.
    pub points: Vec<SweepPoint>,
    /// Points found finished on disk (written by an earlier run or another
    /// process) and reused.
    pub reused: usize,
    /// Points fitted and written by this run.
    pub computed: usize,
    /// Every point of the grid, when the grid was complete after this shard
    /// (the summary is then on disk).
    pub complete: Option<Vec<SweepPoint>>,
    /// Whether this run wrote the summary: false when the grid was not
    /// complete, or when another process (a shard finishing at the same
    /// time, an earlier run) had written it already.
    pub wrote_summary: bool,
}

/// Run (or resume) a sweep, writing into `dir`: `sweep.json` (the spec), one
/// learned-wavelet file per point, and `summary.json` / `summary.md`.
pub fn sweep(
    problem: &Problem,
    spec: &SweepSpec,
    dir: &Path,
    progress: &dyn Progress,
) -> Result<Vec<SweepPoint>, IoError> {
    let run = sweep_shard(problem, spec, dir, Shard::ALL, progress)?;
    Ok(run.complete.expect("one shard runs the whole grid"))
}

/// Run (or resume) one shard of a sweep in `dir`, which shards share. Each
/// chain is run under an advisory lock of the OS on `locks/chain_l<LLL>.lock`
/// (held by one process at a time: a second one waits, then reuses the
/// points), so no two processes ever write the same point file; the
/// chains' starting filters that other shards own are read from disk when
/// finished there, else fitted here without being written (bit for bit the
/// same). `sweep.json` is created once, atomically; a folder holding a
/// different sweep is refused. The shard that finds the grid complete
/// writes the summary (under `locks/summary.lock`).
pub fn sweep_shard(
    problem: &Problem,
    spec: &SweepSpec,
    dir: &Path,
    shard: Shard,
    progress: &dyn Progress,
) -> Result<ShardRun, IoError> {
    std::fs::create_dir_all(dir).map_err(|e| IoError::Write { path: dir.to_path_buf(), source: e })?;
    claim_spec(dir, spec)?;
    let owned = shard.chains(spec.lambdas.len());
    if shard != Shard::ALL {
        let starts = shard.borrowed_starts(spec.lambdas.len());
        progress.message(&format!(
            "sweep shard {shard}: {} of {} lambda chains ({} of {} points); {starts} starting filter(s) of other \
             shards' chains read from disk if finished there, else fitted here and not written",
            owned.len(),
            spec.lambdas.len(),
            owned.len() * spec.gammas.len(),
            spec.lambdas.len() * spec.gammas.len()
        ));
    }
    let fingerprint = spec.fingerprint();
    let reused = AtomicUsize::new(0);
    let computed = AtomicUsize::new(0);
    // load a finished point, or fit it (and write it if `write`)
    let run_point = |li: usize, gi: usize, start: &[f64], write: bool| -> Result<SweepPoint, IoError> {
        let settings = spec.settings_at(li, gi);
        let file = point_file(li, gi);
        let path = dir.join(&file);
        let outcome = match load_point(&path, &settings, Some(&fingerprint))? {
            Some(o) => {
                if write {
                    reused.fetch_add(1, Ordering::Relaxed);
                }
                progress.fit_done(settings.epochs);
                o
            }
            None => {
                let o = fit(problem, start, &settings, progress)?;
                if write {
                    LearnedWavelet::new(
                        &format!("awd-l{li}-g{gi}"),
                        &o,
                        &settings,
                        spec.point_extra(li, gi, &fingerprint),
                    )
                    .save(&path)?;
                    computed.fetch_add(1, Ordering::Relaxed);
                }
                o
            }
        };
        Ok(SweepPoint::new(spec, li, gi, file, &outcome))
    };
    // first gamma: one chain through increasing lambda, as far as this
    // shard's last chain; its own chains' first points under their locks
    let mut locks = Vec::with_capacity(owned.len());
    let mut heads = Vec::with_capacity(owned.len());
    let mut start = spec.initial_lowpass.clone();
    for li in 0..owned.last().map_or(0, |l| l + 1) {
        let mine = shard.owns(li);
        if mine {
            locks.push(ChainLock::acquire(dir, &format!("chain_l{li:03}"), progress)?);
        }
        let p = run_point(li, 0, &start, mine)?;
        start = p.lowpass.clone();
        if mine {
            heads.push(p);
        }
    }
    // then each own chain through increasing gamma, in parallel
    let rows: Vec<Result<Vec<SweepPoint>, IoError>> = heads
        .par_iter()
        .map(|p0| {
            let mut row = vec![p0.clone()];
            for gi in 1..spec.gammas.len() {
                let next = run_point(p0.lambda_index, gi, &row.last().expect("non-empty").lowpass, true)?;
                row.push(next);
            }
            Ok(row)
        })
        .collect();
    drop(locks);
    let mut points = Vec::new();
    for r in rows {
        points.extend(r?);
    }
    let (complete, wrote_summary) = write_summary_if_complete(spec, dir, &points, progress)?.ok().unzip();
    Ok(ShardRun {
        shard,
        lambda_indices: owned,
        points,
        reused: reused.into_inner(),
        computed: computed.into_inner(),
        complete,
        wrote_summary: wrote_summary.unwrap_or(false),
    })
}

/// Run (or resume) the whole sweep with every fit data-parallel over the
/// processes of `collective`, each holding the global rows `rows` of the
/// data in `problem` (see [`fit_data_parallel`]). Every process walks the
/// grid in the same order (the first gamma through increasing lambda, then
/// each chain through increasing gamma) and takes part in every fit, so
/// parallelism comes from the data, not the chains; process 0 alone holds
/// the chain locks and writes `sweep.json`, the point files and the summary
/// (`spec` need only be complete there: its data fingerprint is of the whole
/// data). The files equal the single-process sweep's bit for bit. Returns
/// the points on process 0, `None` elsewhere; a failure on any process
/// stops them all.
pub fn sweep_data_parallel(
    problem: &Problem,
    rows: RowShard,
    spec: &SweepSpec,
    dir: &Path,
    collective: &dyn Collective,
    progress: &dyn Progress,
) -> Result<Option<Vec<SweepPoint>>, IoError> {
    let run = sweep_shard_data_parallel(problem, rows, spec, dir, Shard::ALL, collective, progress)?;
    run.map(|r| {
        r.complete.ok_or_else(|| IoError::Format {
            path: dir.to_path_buf(),
            reason: "points vanished while the sweep ran (another process removed them?)".into(),
        })
    })
    .transpose()
}

/// Shard `shard` of a sweep (its lambda chains, as [`sweep_shard`] runs
/// them) with every fit data-parallel over the processes of `collective`:
/// how groups of processes share a cluster, each group owning chains and
/// each chain's fits spread over its group. Process 0 of the group holds
/// the shard's chain locks and writes its files (`spec` need only be
/// complete there); the starting filters of other shards' chains are read
/// from disk when finished there, else fitted here and not written. The
/// files equal the single-process sweep's bit for bit. Returns the shard's
/// run on process 0 (its `complete` set if the grid was complete after it,
/// the summary then written), `None` elsewhere; a failure on any process
/// of the group stops the whole group.
pub fn sweep_shard_data_parallel(
    problem: &Problem,
    rows: RowShard,
    spec: &SweepSpec,
    dir: &Path,
    shard: Shard,
    collective: &dyn Collective,
    progress: &dyn Progress,
) -> Result<Option<ShardRun>, IoError> {
    let root = collective.rank() == 0;
    let owned = shard.chains(spec.lambdas.len());
    let setup = || -> Result<Vec<ChainLock>, IoError> {
        std::fs::create_dir_all(dir).map_err(|e| IoError::write(dir, e))?;
        claim_spec(dir, spec)?;
        owned.iter().map(|li| ChainLock::acquire(dir, &format!("chain_l{li:03}"), progress)).collect()
    };
    let _locks = together(collective, dir, if root { setup() } else { Ok(Vec::new()) })?;
    let fingerprint = spec.fingerprint();
    let heads = owned.last().map_or(0, |last| last + 1);
    let order =
        (0..heads).map(|li| (li, 0)).chain(owned.iter().flat_map(|&li| (1..spec.gammas.len()).map(move |gi| (li, gi))));
    let mut outcomes: Vec<Vec<Option<FitOutcome>>> = vec![vec![None; spec.gammas.len()]; spec.lambdas.len()];
    let (mut reused, mut computed) = (0, 0);
    for (li, gi) in order {
        let start = match (li, gi) {
            (0, 0) => spec.initial_lowpass.clone(),
            (_, 0) => outcomes[li - 1][0].as_ref().expect("earlier point").lowpass.clone(),
            _ => outcomes[li][gi - 1].as_ref().expect("earlier point").lowpass.clone(),
        };
        let settings = spec.settings_at(li, gi);
        let path = dir.join(point_file(li, gi));
        let mine = shard.owns(li);
        let found = find_point(&path, &settings, &fingerprint, dir, collective)?;
        let outcome = match found {
            Some(o) => {
                progress.fit_done(settings.epochs);
                reused += usize::from(mine);
                o
            }
            None => {
                let o = fit_data_parallel(problem, rows, &start, &settings, collective, progress)?;
                let write = || {
                    LearnedWavelet::new(
                        &format!("awd-l{li}-g{gi}"),
                        &o,
                        &settings,
                        spec.point_extra(li, gi, &fingerprint),
                    )
                    .save(&path)
                };
                together(collective, dir, if root && mine { write() } else { Ok(()) })?;
                computed += usize::from(mine);
                o
            }
        };
        outcomes[li][gi] = Some(outcome);
    }
    let points: Vec<SweepPoint> = owned
        .iter()
        .flat_map(|&li| {
            let row = &outcomes[li];
            row.iter().enumerate().map(move |(gi, o)| {
                SweepPoint::new(spec, li, gi, point_file(li, gi), o.as_ref().expect("every own point ran"))
            })
        })
        .collect();
    let finish = || -> Result<ShardRun, IoError> {
        let (complete, wrote_summary) = write_summary_if_complete(spec, dir, &points, progress)?.ok().unzip();
        Ok(ShardRun {
            shard,
            lambda_indices: owned.clone(),
            points: points.clone(),
            reused,
            computed,
            complete,
            wrote_summary: wrote_summary.unwrap_or(false),
        })
    };
    together(collective, dir, if root { finish().map(Some) } else { Ok(None) })
}

/// A finished point on disk, as process 0 sees it, read by every process:
/// process 0 holds the whole data's fingerprint (the spec of the others may
/// lack it) and checks it, its refusal stopping every process; it alone
/// decides whether the point is there, so a file another group writes
/// meanwhile cannot be seen by some processes and not others. A process
/// that cannot see a file process 0 saw is an error on every process (the
/// folder is not shared). A collective call.
fn find_point(
    path: &Path,
    settings: &FitSettings,
    fingerprint: &str,
    dir: &Path,
    collective: &dyn Collective,
) -> Result<Option<FitOutcome>, IoError> {
    let root = collective.rank() == 0;
    let on_root =
        together(collective, dir, if root { load_point(path, settings, Some(fingerprint)) } else { Ok(None) })?;
    let mut there = [f64::from(u8::from(on_root.is_some()))];
    collective.sum(&mut there)?;
    if there[0] == 0.0 {
        return Ok(None);
    }
    let here = together(collective, dir, if root { Ok(on_root) } else { load_point(path, settings, None) })?;
    if !collective.all_equal(u64::from(here.is_some()))? {
        return Err(IoError::Format {
            path: path.to_path_buf(),
            reason: "the processes do not all see this file: the output folder must be shared by every node".into(),
        });
    }
    Ok(here)
}

/// `result` where every process succeeded; else an error everywhere (its
/// own where it failed), so that no process waits for a failed one. A
/// collective call.
fn together<T>(collective: &dyn Collective, dir: &Path, result: Result<T, IoError>) -> Result<T, IoError> {
    let mut failed = [f64::from(u8::from(result.is_err()))];
    collective.sum(&mut failed)?;
    let value = result?;
    if failed[0] > 0.0 {
        return Err(IoError::Format {
            path: dir.to_path_buf(),
            reason: format!("{} of the {} processes failed (their messages say why)", failed[0], collective.size()),
        });
    }
    Ok(value)
}

/// Write the summary of a sweep whose every point is on disk (any shard, or
/// a final call after a job array): the points in grid order. An error
/// lists the missing points when some are.
pub fn summarize(spec: &SweepSpec, dir: &Path, progress: &dyn Progress) -> Result<Vec<SweepPoint>, IoError> {
    check_spec(dir, spec)?;
    let done = write_summary_if_complete(spec, dir, &[], progress)?.map_err(|missing| {
        let shown: Vec<&str> = missing.iter().take(8).map(String::as_str).collect();
        IoError::Format {
            path: dir.to_path_buf(),
            reason: format!(
                "the sweep is not complete: {} of {} points missing ({}{}); run the shards that own them",
                missing.len(),
                spec.lambdas.len() * spec.gammas.len(),
                shown.join(", "),
                if missing.len() > shown.len() { ", ..." } else { "" }
            ),
        }
    })?;
    Ok(done.0)
}

impl SweepSpec {
    /// Fingerprint of the whole sweep (data, grid, settings, initial filter,
    /// caller's settings), recorded in every point file so that no point is
    /// ever reused for another sweep, with or without `sweep.json`.
    pub fn fingerprint(&self) -> String {
        let bytes = serde_json::to_vec(self).expect("a spec serializes");
        format!("{:016x}", crate::io::fnv1a(bytes))
    }

    /// The caller's settings plus the point's indices and the sweep's
    /// `fingerprint` (see [`SweepSpec::fingerprint`]), for the file of point
    /// `(li, gi)`.
    fn point_extra(&self, li: usize, gi: usize, fingerprint: &str) -> serde_json::Value {
        merge(&self.extra, serde_json::json!({ "lambda_index": li, "gamma_index": gi, SWEEP_FINGERPRINT: fingerprint }))
    }

    /// Fit settings of grid point `(li, gi)`.
    fn settings_at(&self, li: usize, gi: usize) -> FitSettings {
        let mut s = self.base.clone();
        s.penalties.lambda = self.lambdas[li];
        s.penalties.gamma = self.gammas[gi];
        s
    }
}

impl SweepPoint {
    fn new(spec: &SweepSpec, li: usize, gi: usize, file: String, outcome: &FitOutcome) -> Self {
        SweepPoint {
            lambda: spec.lambdas[li],
            gamma: spec.gammas[gi],
            lambda_index: li,
            gamma_index: gi,
            file,
            final_terms: outcome.history.last().expect("history has epoch 0").terms,
            validity: outcome.validity,
            lowpass: outcome.lowpass.clone(),
        }
    }
}

/// An advisory lock of the OS on a file in `dir/locks/`, released on drop
/// (and by the OS when the process dies).
struct ChainLock {
    _file: std::fs::File,
}

impl ChainLock {
    /// Take the lock, waiting (and saying so) while another process holds it.
    fn acquire(dir: &Path, name: &str, progress: &dyn Progress) -> Result<Self, IoError> {
        let path = dir.join("locks").join(format!("{name}.lock"));
        std::fs::create_dir_all(dir.join("locks")).map_err(|e| IoError::write(&path, e))?;
        let file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(|e| IoError::write(&path, e))?;
        match file.try_lock() {
            Ok(()) => {}
            Err(std::fs::TryLockError::WouldBlock) => {
                progress.message(&format!("waiting for {}: another process holds it", path.display()));
                file.lock().map_err(|e| IoError::write(&path, e))?;
            }
            Err(std::fs::TryLockError::Error(e)) => return Err(IoError::write(&path, e)),
        }
        Ok(ChainLock { _file: file })
    }
}

/// Create `sweep.json` (once, atomically, whichever process comes first) or
/// check that the one there describes this sweep.
fn claim_spec(dir: &Path, spec: &SweepSpec) -> Result<(), IoError> {
    if create_json_atomic(&dir.join("sweep.json"), spec)? {
        return Ok(());
    }
    check_spec(dir, spec)
}

/// Check that `dir/sweep.json` describes `spec`.
fn check_spec(dir: &Path, spec: &SweepSpec) -> Result<(), IoError> {
    let spec_path = dir.join("sweep.json");
    let text = crate::io::read_json_text(&spec_path)?;
    let old: SweepSpec = serde_json::from_str(&text)
        .map_err(|e| IoError::Format { path: spec_path.clone(), reason: format!("not a sweep spec ({e})") })?;
    if old != *spec {
        return Err(IoError::Format {
            path: spec_path,
            reason: "this folder holds a different sweep (other data, grid, settings or initial filter); \
                     use a new output folder, or delete the folder to start over"
                .into(),
        });
    }
    Ok(())
}

/// Names of the grid's points not on disk.
fn missing_points(spec: &SweepSpec, dir: &Path) -> Vec<String> {
    let mut missing = Vec::new();
    for li in 0..spec.lambdas.len() {
        for gi in 0..spec.gammas.len() {
            let file = point_file(li, gi);
            if !dir.join(&file).exists() {
                missing.push(file);
            }
        }
    }
    missing
}

/// Every point of a complete grid, in grid order, and whether this process
/// wrote the summary.
type CompleteGrid = (Vec<SweepPoint>, bool);

/// If every point is on disk, return the points in grid order (chain by
/// chain), taking those in `known` from memory and reading only the others,
/// and whether this call wrote the summary: under the summary lock it is
/// written once, by the first process there; later ones (shards finishing
/// together, a re-run) find it and leave it (`check_spec` has made sure it
/// is this sweep's). Else the names of the missing points.
fn write_summary_if_complete(
    spec: &SweepSpec,
    dir: &Path,
    known: &[SweepPoint],
    progress: &dyn Progress,
) -> Result<Result<CompleteGrid, Vec<String>>, IoError> {
    let missing = missing_points(spec, dir);
    if !missing.is_empty() {
        return Ok(Err(missing));
    }
    let _lock = ChainLock::acquire(dir, "summary", progress)?;
    let fingerprint = spec.fingerprint();
    let mut points = Vec::with_capacity(spec.lambdas.len() * spec.gammas.len());
    for li in 0..spec.lambdas.len() {
        for gi in 0..spec.gammas.len() {
            if let Some(p) = known.iter().find(|p| p.lambda_index == li && p.gamma_index == gi) {
                points.push(p.clone());
                continue;
            }
            let file = point_file(li, gi);
            let path = dir.join(&file);
            let outcome = load_point(&path, &spec.settings_at(li, gi), Some(&fingerprint))?.ok_or_else(|| {
                IoError::Format { path: path.clone(), reason: "vanished while the summary was written".into() }
            })?;
            points.push(SweepPoint::new(spec, li, gi, file, &outcome));
        }
    }
    let written = SUMMARY_FILES.iter().all(|f| dir.join(f).exists());
    if !written {
        write_summary(dir, &points)?;
    }
    Ok(Ok((points, !written)))
}

fn merge(a: &serde_json::Value, b: serde_json::Value) -> serde_json::Value {
    let mut out = a.as_object().cloned().unwrap_or_default();
    if let serde_json::Value::Object(b) = b {
        out.extend(b);
    }
    serde_json::Value::Object(out)
}

/// The key of a point file's settings that holds its sweep's fingerprint.
const SWEEP_FINGERPRINT: &str = "sweep_fingerprint";

/// A finished point on disk, if its fit settings are the expected ones and
/// (when `fingerprint` is given) it belongs to that sweep; a point of
/// another sweep is an error.
fn load_point(path: &Path, expected: &FitSettings, fingerprint: Option<&str>) -> Result<Option<FitOutcome>, IoError> {
    if !path.exists() {
        return Ok(None);
    }
    let lw = LearnedWavelet::load(path)?;
    let settings: FitSettings = serde_json::from_value(lw.settings.clone()).map_err(|e| IoError::Format {
        path: path.to_path_buf(),
        reason: format!("settings unreadable ({e}); delete the file to recompute it"),
    })?;
    if settings != *expected {
        return Err(IoError::Format {
            path: path.to_path_buf(),
            reason: "was written with other settings; delete it (or the folder) to recompute".into(),
        });
    }
    if let Some(want) = fingerprint {
        let found = lw.settings.get(SWEEP_FINGERPRINT).and_then(|v| v.as_str()).unwrap_or("none");
        if found != want {
            return Err(IoError::Format {
                path: path.to_path_buf(),
                reason: format!(
                    "belongs to another sweep (its fingerprint {found}, this sweep's {want}: other data, grid, \
                     settings or initial filter); use a new output folder, or delete the folder to start over"
                ),
            });
        }
    }
    let batch_size_used = lw.settings.get("batch_size_used").and_then(|v| v.as_u64()).unwrap_or(0) as usize;
    Ok(Some(FitOutcome {
        lowpass: lw.lowpass,
        history: lw.history,
        validity: lw.validity,
        batch_size_used,
        stopped_at: None,
    }))
}

/// The summary's files, written in this order (each atomically).
const SUMMARY_FILES: [&str; 2] = ["summary.json", "summary.md"];

/// `summary.json` (every point) and `summary.md` (a table), atomically.
fn write_summary(dir: &Path, points: &[SweepPoint]) -> Result<(), IoError> {
    write_json_atomic(&dir.join(SUMMARY_FILES[0]), &points)?;
    let path = dir.join(SUMMARY_FILES[1]);
    write_atomic(&path, |w| {
        use std::io::Write;
        let mut text = String::from(
            "| lambda | gamma | total | reconstruction | l1 coefficients | l1 attributions | validity (sum) | file |\n\
             |---|---|---|---|---|---|---|---|\n",
        );
        for p in points {
            let v = &p.validity;
            let vsum = v.total();
            let t = &p.final_terms;
            text.push_str(&format!(
                "| {:.3e} | {:.3e} | {:.4e} | {:.4e} | {:.4e} | {:.4e} | {:.2e} | {} |\n",
                p.lambda, p.gamma, t.total, t.reconstruction, t.l1_coefficients, t.l1_attributions, vsum, p.file
            ));
        }
        w.write_all(text.as_bytes()).map_err(|e| IoError::Write { path: path.to_path_buf(), source: e })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shards_parse_check_and_split_the_chains_disjointly() {
        assert_eq!("2/8".parse::<Shard>().unwrap(), Shard { index: 2, count: 8 });
        assert_eq!(" 1 / 1 ".parse::<Shard>().unwrap(), Shard::ALL);
        for bad in ["3/2", "0/0", "0/4", "1/0", "2", "a/b", "-1/2", "1/2/3", ""] {
            let e = bad.parse::<Shard>().unwrap_err().to_string();
            assert!(e.contains("shard") && e.contains("K/N"), "{bad}: {e}");
        }
        // every chain belongs to exactly one shard, for any count
        for count in 1..7 {
            for li in 0..20 {
                let owners = (1..=count).filter(|&k| Shard::new(k, count).unwrap().owns(li)).count();
                assert_eq!(owners, 1, "chain {li} of {count} shards");
            }
        }
        assert!((0..5).all(|li| Shard::ALL.owns(li)));
        let second = Shard::new(2, 3).unwrap();
        assert_eq!(second.chains(5), vec![1, 4]);
        assert_eq!(second.borrowed_starts(5), 3, "chains 0, 2, 3 start the way to chain 4");
        assert_eq!(Shard::ALL.borrowed_starts(5), 0);
        assert_eq!(Shard::new(3, 4).unwrap().to_string(), "3/4");
    }
}
