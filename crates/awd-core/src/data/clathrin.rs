//! Clathrin/auxilin tracks (cmeAnalysis output converted to CSV): loading and
//! the AWD paper's preprocessing for molecular-partner prediction.
//!
//! A folder holds pairs `cellK_tracks.csv` / `cellK_frames.csv` (optionally
//! gzip-compressed, `.csv.gz`), K a positive integer. Per cell:
//! * tracks whose lifetime lies in `[min_lifetime, max_lifetime]` frames;
//! * the clathrin amplitude over the track's frames (`phase == track`),
//!   resampled to `length` samples (frames `floor((n-1) i / (length-1))` when
//!   `n >= length`, else zero-padded at the end);
//! * the response: the mean auxilin amplitude over the frames where it is
//!   significant (`auxilin_A / auxilin_A_pstd > z`), 0 if none;
//! * traces and responses standardised per cell (mean 0, standard deviation 1
//!   over all of the cell's values).

use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};

use ndarray::{Array1, Array2};
use serde::{Deserialize, Serialize};

use crate::io::IoError;

/// Preprocessing settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClathrinOptions {
    /// Shortest lifetime kept, in frames.
    pub min_lifetime: usize,
    /// Longest lifetime kept, in frames.
    pub max_lifetime: usize,
    /// Samples per resampled trace.
    pub length: usize,
    /// One-sided z threshold of a significant auxilin frame.
    pub z: f64,
}

impl Default for ClathrinOptions {
    fn default() -> Self {
        ClathrinOptions { min_lifetime: 15, max_lifetime: 150, length: 40, z: 1.645 }
    }
}

/// One cell after preprocessing.
#[derive(Debug, Clone)]
pub struct Cell {
    /// The cell number K.
    pub id: u32,
    /// Standardised clathrin traces `(tracks, length)`.
    pub traces: Array2<f64>,
    /// Standardised responses `(tracks,)`.
    pub response: Array1<f64>,
    /// Track indices (the `track` column) of the rows.
    pub tracks: Vec<usize>,
    /// Lifetimes of the rows, in frames.
    pub lifetimes: Vec<usize>,
}

/// The largest text a gzip file may inflate to (a gzip bomb is refused,
/// not inflated until memory runs out): far above the largest cell file.
const MAX_INFLATED_TEXT: u64 = 1 << 30;

fn open_text(path: &Path) -> Result<String, IoError> {
    let bytes = std::fs::read(path).map_err(|e| IoError::Read { path: path.to_path_buf(), source: e })?;
    if path.extension().is_some_and(|e| e == "gz") {
        let mut s = String::new();
        flate2::read::GzDecoder::new(&bytes[..])
            .take(MAX_INFLATED_TEXT + 1)
            .read_to_string(&mut s)
            .map_err(|e| IoError::Format { path: path.to_path_buf(), reason: format!("not valid gzip text ({e})") })?;
        if s.len() as u64 > MAX_INFLATED_TEXT {
            return Err(IoError::Format {
                path: path.to_path_buf(),
                reason: format!("inflates to more than {MAX_INFLATED_TEXT} bytes; not a cell file"),
            });
        }
        Ok(s)
    } else {
        String::from_utf8(bytes)
            .map_err(|_| IoError::Format { path: path.to_path_buf(), reason: "not UTF-8 text".into() })
    }
}

/// The `cellK_tracks` / `cellK_frames` pairs found in `dir`, by K.
pub fn find_cells(dir: &Path) -> Result<BTreeMap<u32, (PathBuf, PathBuf)>, IoError> {
    let entries = std::fs::read_dir(dir).map_err(|e| IoError::Read { path: dir.to_path_buf(), source: e })?;
    let mut tracks = BTreeMap::new();
    let mut frames = BTreeMap::new();
    for e in entries.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        let base = name.trim_end_matches(".gz");
        let Some(rest) = base.strip_prefix("cell") else { continue };
        for (suffix, map) in [("_tracks.csv", &mut tracks), ("_frames.csv", &mut frames)] {
            if let Some(k) = rest.strip_suffix(suffix) {
                if let Ok(k) = k.parse::<u32>() {
                    map.insert(k, e.path());
                }
            }
        }
    }
    let mut cells = BTreeMap::new();
    for (k, t) in tracks {
        match frames.remove(&k) {
            Some(f) => {
                cells.insert(k, (t, f));
            }
            None => {
                return Err(IoError::Format {
                    path: t,
                    reason: format!("cell {k} has a tracks file but no cell{k}_frames.csv(.gz) beside it"),
                })
            }
        }
    }
    if let Some((k, f)) = frames.into_iter().next() {
        return Err(IoError::Format {
            path: f,
            reason: format!("cell {k} has a frames file but no cell{k}_tracks.csv(.gz)"),
        });
    }
    if cells.is_empty() {
        return Err(IoError::Format {
            path: dir.to_path_buf(),
            reason: "no cell files here; expected pairs cellK_tracks.csv / cellK_frames.csv (or .csv.gz)".into(),
        });
    }
    Ok(cells)
}

/// Parse a CSV into its header and rows of strings.
fn read_csv(path: &Path) -> Result<(Vec<String>, Vec<csv::StringRecord>), IoError> {
    let text = open_text(path)?;
    if text.trim().is_empty() {
        return Err(IoError::Format {
            path: path.to_path_buf(),
            reason: format!("is empty ({} bytes of text, no header and no rows)", text.len()),
        });
    }
    let mut rd = csv::ReaderBuilder::new().from_reader(text.as_bytes());
    let header: Vec<String> = rd
        .headers()
        .map_err(|e| IoError::Format { path: path.to_path_buf(), reason: format!("bad CSV header ({e})") })?
        .iter()
        .map(str::to_string)
        .collect();
    let mut rows = Vec::new();
    for (i, r) in rd.records().enumerate() {
        rows.push(r.map_err(|e| IoError::Format { path: path.to_path_buf(), reason: format!("line {}: {e}", i + 2) })?);
    }
    if rows.is_empty() {
        return Err(IoError::Format { path: path.to_path_buf(), reason: "has a header but no rows".into() });
    }
    Ok((header, rows))
}

fn column(path: &Path, header: &[String], name: &str) -> Result<usize, IoError> {
    header.iter().position(|h| h == name).ok_or_else(|| IoError::Format {
        path: path.to_path_buf(),
        reason: format!("no column '{name}' (columns: {})", header.join(", ")),
    })
}

fn number(path: &Path, line: usize, name: &str, text: &str) -> Result<Option<f64>, IoError> {
    if text.trim().is_empty() {
        return Ok(None);
    }
    text.trim().parse::<f64>().map(Some).map_err(|_| IoError::Format {
        path: path.to_path_buf(),
        reason: format!("line {line}: column '{name}' holds '{text}', not a number"),
    })
}

/// Resample a trace to `length` samples (see the module docs).
pub fn resample(trace: &[f64], length: usize) -> Vec<f64> {
    let n = trace.len();
    if n >= length {
        (0..length).map(|i| trace[(n - 1) * i / (length - 1).max(1)]).collect()
    } else {
        let mut v = trace.to_vec();
        v.resize(length, 0.0);
        v
    }
}

fn standardise(values: &mut [f64]) {
    let n = values.len().max(1) as f64;
    let mean = values.iter().sum::<f64>() / n;
    let var = values.iter().map(|v| (v - mean) * (v - mean)).sum::<f64>() / n;
    let std = var.sqrt();
    let std = if std > 0.0 { std } else { 1.0 };
    for v in values {
        *v = (*v - mean) / std;
    }
}

/// One frame of a track: (frame, clathrin, auxilin, auxilin standard error).
type Frame = (f64, f64, f64, Option<f64>);

/// Load and preprocess one cell.
pub fn load_cell(id: u32, tracks_path: &Path, frames_path: &Path, opts: &ClathrinOptions) -> Result<Cell, IoError> {
    let (th, trows) = read_csv(tracks_path)?;
    let (c_track, c_life) = (column(tracks_path, &th, "track")?, column(tracks_path, &th, "lifetime_s")?);
    let mut lifetime = BTreeMap::new();
    for (i, r) in trows.iter().enumerate() {
        let t = number(tracks_path, i + 2, "track", &r[c_track])?.unwrap_or(-1.0);
        let l = number(tracks_path, i + 2, "lifetime_s", &r[c_life])?.unwrap_or(0.0);
        lifetime.insert(t as i64, l as usize);
    }
    let (fh, frows) = read_csv(frames_path)?;
    let col = |n: &str| column(frames_path, &fh, n);
    let (f_track, f_phase, f_cla, f_aux, f_auxp) =
        (col("track")?, col("phase")?, col("clathrin_A")?, col("auxilin_A")?, col("auxilin_A_pstd")?);
    let f_frame = col("frame")?;
    // per track: the frames of its track phase
    let mut frames: BTreeMap<i64, Vec<Frame>> = BTreeMap::new();
    for (i, r) in frows.iter().enumerate() {
        let line = i + 2;
        let t = number(frames_path, line, "track", &r[f_track])?.unwrap_or(-1.0) as i64;
        if !lifetime.contains_key(&t) {
            return Err(IoError::Format {
                path: frames_path.to_path_buf(),
                reason: format!("line {line}: track {t} is not in {}", tracks_path.display()),
            });
        }
        if &r[f_phase] != "track" {
            continue;
        }
        let frame = number(frames_path, line, "frame", &r[f_frame])?.unwrap_or(0.0);
        let cla = number(frames_path, line, "clathrin_A", &r[f_cla])?.unwrap_or(0.0);
        let aux = number(frames_path, line, "auxilin_A", &r[f_aux])?.unwrap_or(0.0);
        let auxp = number(frames_path, line, "auxilin_A_pstd", &r[f_auxp])?;
        frames.entry(t).or_default().push((frame, cla, aux, auxp));
    }
    let mut traces = Vec::new();
    let mut response = Vec::new();
    let mut tracks = Vec::new();
    let mut lifetimes = Vec::new();
    for (&t, &life) in &lifetime {
        if life < opts.min_lifetime || life > opts.max_lifetime {
            continue;
        }
        let Some(mut fr) = frames.remove(&t) else { continue };
        fr.sort_by(|a, b| a.0.total_cmp(&b.0));
        let cla: Vec<f64> = fr.iter().map(|f| f.1).collect();
        let sig: Vec<f64> =
            fr.iter().filter(|f| f.3.is_some_and(|p| p > 0.0 && f.2 / p > opts.z)).map(|f| f.2).collect();
        traces.push(resample(&cla, opts.length));
        response.push(if sig.is_empty() { 0.0 } else { sig.iter().sum::<f64>() / sig.len() as f64 });
        tracks.push(t as usize);
        lifetimes.push(life);
    }
    if traces.is_empty() {
        return Err(IoError::Format {
            path: tracks_path.to_path_buf(),
            reason: format!(
                "cell {id}: no track has a lifetime in [{}, {}] frames; widen the lifetime filter",
                opts.min_lifetime, opts.max_lifetime
            ),
        });
    }
    let n = traces.len();
    let mut flat: Vec<f64> = traces.concat();
    standardise(&mut flat);
    standardise(&mut response);
    Ok(Cell {
        id,
        traces: Array2::from_shape_vec((n, opts.length), flat).expect("n x length"),
        response: Array1::from(response),
        tracks,
        lifetimes,
    })
}

/// Load every cell of `dir` (by K), preprocessed.
pub fn load_cells(dir: &Path, opts: &ClathrinOptions) -> Result<Vec<Cell>, IoError> {
    find_cells(dir)?.into_iter().map(|(k, (t, f))| load_cell(k, &t, &f, opts)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resampling_follows_the_rule() {
        let t: Vec<f64> = (0..79).map(|v| v as f64).collect();
        let r = resample(&t, 40);
        assert_eq!(r[0], 0.0);
        assert_eq!(r[39], 78.0);
        assert_eq!(r[1], 2.0);
        assert_eq!(resample(&[1.0, 2.0], 4), vec![1.0, 2.0, 0.0, 0.0]);
    }

    /// A cell of four tracks written as CSV: track 0 too short (lifetime 3),
    /// track 1 with two significant auxilin frames of three, track 2 with none,
    /// track 3 too long (lifetime 9); a frame before the track (phase `before`)
    /// must be ignored.
    fn write_cell(dir: &Path) -> (PathBuf, PathBuf) {
        let tracks = dir.join("cell1_tracks.csv");
        let frames = dir.join("cell1_frames.csv");
        std::fs::write(
            &tracks,
            "track,lifetime_s,start_frame,aux_significant,clathrin_significant\n0,3,0,1,1\n1,4,0,1,1\n2,4,0,0,1\n3,9,0,0,1\n",
        )
        .unwrap();
        let mut f = String::from("track,frame,phase,clathrin_A,auxilin_A,auxilin_A_pstd\n");
        f.push_str("0,0,track,1,5,1\n0,1,track,1,5,1\n0,2,track,1,5,1\n");
        // track 1: z = 4/1 = 4 (significant), 1/1 = 1 (not), 6/2 = 3 (significant); frames out of order
        f.push_str("1,-1,before,99,99,1\n1,2,track,3,6,2\n1,0,track,1,4,1\n1,1,track,2,1,1\n1,3,track,4,0,\n");
        // track 2: z below 1.645 everywhere, and an empty standard error
        f.push_str("2,0,track,4,1,1\n2,1,track,3,1,1\n2,2,track,2,1,\n2,3,track,1,1,1\n");
        f.push_str("3,0,track,1,1,1\n");
        std::fs::write(&frames, f).unwrap();
        (tracks, frames)
    }

    #[test]
    fn target_filters_and_standardisation_follow_the_rules() {
        let dir = tempfile::tempdir().unwrap();
        let (t, f) = write_cell(dir.path());
        let opts = ClathrinOptions { min_lifetime: 4, max_lifetime: 8, length: 4, z: 1.645 };
        let c = load_cell(1, &t, &f, &opts).unwrap();
        // lifetime filter: tracks 0 (3 frames) and 3 (9 frames) dropped
        assert_eq!(c.tracks, vec![1, 2]);
        assert_eq!(c.lifetimes, vec![4, 4]);
        // significance rule: track 1's response is the mean of its significant amplitudes (4 and 6) = 5, track 2's is 0;
        // standardised over the cell's two responses: (5 - 2.5) / 2.5 = 1 and -1
        assert!((c.response[0] - 1.0).abs() < 1e-12 && (c.response[1] + 1.0).abs() < 1e-12, "{:?}", c.response);
        // traces in frame order (the `before` frame ignored), standardised over all of the cell's values:
        // raw [1, 2, 3, 4] and [4, 3, 2, 1], mean 2.5, std sqrt(1.25)
        let sd = 1.25f64.sqrt();
        let want = [1.0, 2.0, 3.0, 4.0, 4.0, 3.0, 2.0, 1.0].map(|v| (v - 2.5) / sd);
        for (got, w) in c.traces.iter().zip(want) {
            assert!((got - w).abs() < 1e-12, "{:?}", c.traces);
        }
        // with z above every frame nothing is significant: every response is 0, and standardising a constant
        // (standard deviation 0) keeps it at 0 instead of dividing by 0
        let none = load_cell(1, &t, &f, &ClathrinOptions { z: 10.0, ..opts.clone() }).unwrap();
        assert!(none.response.iter().all(|&v| v == 0.0), "{:?}", none.response);
        // a filter that keeps nothing is an error naming the file and the range
        let e = load_cell(1, &t, &f, &ClathrinOptions { min_lifetime: 20, max_lifetime: 30, ..opts }).unwrap_err();
        assert!(e.to_string().contains("cell1_tracks.csv") && e.to_string().contains("[20, 30]"), "{e}");
    }
}
