//! Every reader against thousands of mutated files: truncations, byte flips,
//! huge, negative and empty shapes, wrong dtypes, hostile numbers, deep and
//! giant JSON. Never a panic or an abort (an abort would kill this test
//! binary), and every error names the file.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};

use awd::data::clathrin::{load_cell, ClathrinOptions};
use awd::data::cosmology::ClTable;
use awd::distill::{LearnedWavelet, Silent};
use awd::io::{read_npy_f64, read_npy_labels, read_npy_rows_f64, read_npz_f64, write_npy, write_npz};
use awd::ndarray::{Array1, Array2, Array3, ArrayD};
use awd::pipeline::{distill, Data, DistillConfig, FitConfig, PreparedFit, Samples};
use awd::teachers::{Arch, Teacher, TeacherConfig};
use awd::wavelet::load_wavelet_json;
use awd::SavedModel;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// Mutations per seed file.
const MUTATIONS: usize = 400;

/// Numbers a hostile file puts where a count, shape or value belongs.
const HOSTILE_NUMBERS: [&str; 14] = [
    "1e999",
    "-1",
    "0",
    "-0",
    "18446744073709551616",
    "1000000000000",
    "4294967296",
    "1e-400",
    "NaN",
    "\"x\"",
    "null",
    "[]",
    "{}",
    "9007199254740993",
];

/// Shapes a hostile `.npy` header claims.
const HOSTILE_SHAPES: [&str; 8] = [
    "(1000000000000, 64)",
    "(-1, 64)",
    "(18446744073709551615,)",
    "()",
    "(0, 64)",
    "(3, -2)",
    "(4294967296, 4294967296)",
    "(2, 3, 4, 5, 6, 7, 8, 9)",
];

/// dtypes a hostile `.npy` header claims.
const HOSTILE_DTYPES: [&str; 9] = ["<c16", "|b1", "<U3", "|O", ">f8", "<f2", "<i8", "|V8", "<M8[ns]"];

/// A reader: `Ok` or an error message.
type Reader = Box<dyn Fn(&Path) -> Result<(), String>>;

/// A seed file, the reader that takes it, and whether it is text.
struct Case {
    name: &'static str,
    path: PathBuf,
    read: Reader,
    text: bool,
}

fn msg<E: std::fmt::Display>(r: Result<impl Sized, E>) -> Result<(), String> {
    r.map(|_| ()).map_err(|e| e.to_string())
}

/// A mutated copy of `bytes`.
fn mutate(bytes: &[u8], text: bool, rng: &mut ChaCha8Rng) -> Vec<u8> {
    let mut b = bytes.to_vec();
    match rng.random_range(0..8) {
        // truncation (0 bytes included: an empty file)
        0 => b.truncate(rng.random_range(0..=b.len())),
        // flips
        1 => {
            for _ in 0..rng.random_range(1..=4) {
                if !b.is_empty() {
                    let i = rng.random_range(0..b.len());
                    b[i] = rng.random();
                }
            }
        }
        // a chunk deleted or duplicated
        2 if b.len() > 2 => {
            let i = rng.random_range(0..b.len() - 1);
            let j = rng.random_range(i + 1..=b.len().min(i + 64));
            if rng.random() {
                b.drain(i..j);
            } else {
                let chunk = b[i..j].to_vec();
                b.splice(j..j, chunk);
            }
        }
        // a number replaced by a hostile one (in text, or in an .npy header)
        3..=5 => {
            let s = String::from_utf8_lossy(&b).into_owned();
            let numbers: Vec<(usize, usize)> = number_spans(&s);
            if let Some(&(i, j)) = numbers.get(rng.random_range(0..numbers.len().max(1))) {
                let by = HOSTILE_NUMBERS[rng.random_range(0..HOSTILE_NUMBERS.len())];
                let mut out = s.as_bytes()[..i].to_vec();
                out.extend(by.as_bytes());
                out.extend(&s.as_bytes()[j..]);
                if !text {
                    return splice_npy_header(bytes, &s[i..j], by).unwrap_or(out);
                }
                return out;
            }
        }
        // npy: a shape or dtype that lies; text: deep nesting
        6 if !text => {
            let (from, to) = if rng.random() {
                (find_between(&b, b"'shape': ", b"}").unwrap_or_default(), {
                    HOSTILE_SHAPES[rng.random_range(0..HOSTILE_SHAPES.len())].to_string() + ", "
                })
            } else {
                let d = find_between(&b, b"'descr': '", b"'").unwrap_or_default();
                (d, HOSTILE_DTYPES[rng.random_range(0..HOSTILE_DTYPES.len())].to_string())
            };
            if let Some(m) = splice_npy_header(bytes, &from, &to) {
                return m;
            }
        }
        6 => {
            let depth = rng.random_range(200..20_000);
            let mut out = b"{\"lowpass\": ".to_vec();
            out.extend(std::iter::repeat_n(b'[', depth));
            out.extend(std::iter::repeat_n(b']', depth));
            out.push(b'}');
            return out;
        }
        // giant: the content repeated many times
        _ => {
            let times = rng.random_range(2..40);
            return b.repeat(times);
        }
    }
    b
}

/// Byte spans of the numbers in `s`.
fn number_spans(s: &str) -> Vec<(usize, usize)> {
    let bytes = s.as_bytes();
    let mut spans = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i].is_ascii_digit() {
            let start = i;
            while i < bytes.len() && (bytes[i].is_ascii_digit() || b".eE-+".contains(&bytes[i])) {
                i += 1;
            }
            spans.push((start, i));
        } else {
            i += 1;
        }
    }
    spans
}

fn find_between(b: &[u8], open: &[u8], close: &[u8]) -> Option<String> {
    let text = String::from_utf8_lossy(&b[..b.len().min(4096)]).into_owned();
    let open = std::str::from_utf8(open).unwrap();
    let i = text.find(open)? + open.len();
    let j = text[i..].find(std::str::from_utf8(close).unwrap())? + i;
    Some(text[i..j].to_string())
}

/// An `.npy` file's bytes with `from` replaced by `to` in its header (the
/// header padded again, so only the replaced text lies).
fn splice_npy_header(bytes: &[u8], from: &str, to: &str) -> Option<Vec<u8>> {
    if bytes.len() < 10 || &bytes[..6] != b"\x93NUMPY" || from.is_empty() {
        return None;
    }
    let header_len = u16::from_le_bytes([bytes[8], bytes[9]]) as usize;
    let text = std::str::from_utf8(bytes.get(10..10 + header_len)?).ok()?;
    let mut header = text.replacen(from, to, 1).trim_end().to_string();
    while !(10 + header.len() + 1).is_multiple_of(64) {
        header.push(' ');
    }
    header.push('\n');
    let mut out = bytes[..8].to_vec();
    out.extend((header.len() as u16).to_le_bytes());
    out.extend(header.as_bytes());
    out.extend(&bytes[10 + header_len..]);
    Some(out)
}

/// Signals whose target is their mean (a trivial distillation problem).
fn tiny_data() -> (Array2<f64>, Array1<f64>, Array2<f64>) {
    let x = Array2::from_shape_fn((80, 16), |(i, t)| ((i * 7 + t * 3) % 11) as f64 - 5.0);
    let y = x.mean_axis(awd::ndarray::Axis(1)).unwrap();
    let g = Array2::from_elem((80, 16), 1.0 / 16.0);
    (x, y, g)
}

/// The seed files, each valid, with the readers that take them.
fn cases(dir: &Path) -> Vec<Case> {
    let mut cases = Vec::new();
    let p = |name: &str| dir.join(name);
    let (x, y, g) = tiny_data();

    let npy = p("x.npy");
    write_npy(&npy, x.view().into_dyn()).unwrap();
    cases.push(Case { name: "npy f64", path: npy, read: Box::new(|p| msg(read_npy_f64(p))), text: false });
    let npy32 = p("x32.npy");
    ndarray_npy::WriteNpyExt::write_npy(&x.mapv(|v| v as f32), std::fs::File::create(&npy32).unwrap()).unwrap();
    cases.push(Case {
        name: "npy f32 rows",
        path: npy32,
        read: Box::new(|p| msg(read_npy_rows_f64(p, 2..5))),
        text: false,
    });
    let labels = p("labels.npy");
    ndarray_npy::WriteNpyExt::write_npy(&Array1::from_iter(0..40i64), std::fs::File::create(&labels).unwrap()).unwrap();
    cases.push(Case { name: "npy labels", path: labels, read: Box::new(|p| msg(read_npy_labels(p))), text: false });
    let samples = p("samples.npy");
    write_npy(&samples, x.view().into_dyn()).unwrap();
    cases.push(Case {
        name: "npy samples (mapped)",
        path: samples,
        read: Box::new(|p| msg(Samples::load(p, None, false))),
        text: false,
    });
    let npz = p("c.npz");
    let maps = Array3::from_shape_fn((2, 4, 4), |(i, r, c)| (i + r * c) as f64).into_dyn();
    write_npz(&npz, &[("a".into(), x.view().into_dyn()), ("m".into(), maps.view())]).unwrap();
    cases.push(Case { name: "npz", path: npz, read: Box::new(|p| msg(read_npz_f64(p))), text: false });

    for name in ["coeffs.json", "coeffs2.npz"] {
        let path = p(name);
        let a = Array2::from_shape_fn((3, 5), |(i, j)| (i * 5 + j) as f64 * 0.25).into_dyn();
        let d = Array1::from_vec(vec![1.5, -2.0, 1e-300]).into_dyn();
        awd::io::write_coeffs(&path, &[("a".into(), a.view()), ("d1".into(), d.view())]).unwrap();
        cases.push(Case {
            name: "coefficient file",
            path,
            read: Box::new(|p| msg(awd::io::read_coeffs(p))),
            text: name.ends_with(".json"),
        });
    }

    let wavelet = p("w.json");
    std::fs::write(&wavelet, r#"{"name": "mine", "lowpass": [0.48296291314469025, 0.836516303737469, 0.22414386804185735, -0.12940952255092145]}"#).unwrap();
    cases.push(Case { name: "wavelet json", path: wavelet, read: Box::new(|p| msg(load_wavelet_json(p))), text: true });

    // a fit, a sweep and the models of the pipeline
    let sx = Samples::new(x.view().into_dyn(), Some(g.view().into_dyn()), false, ("X", "grad")).unwrap();
    let cfg = FitConfig { levels: 2, epochs: 1, batch_size: 20, wavelet: "db2".into(), ..FitConfig::default() };
    let prepared = PreparedFit::new(&cfg, &sx).unwrap();
    let learned = p("learned.json");
    prepared.fit("learned", &Silent).unwrap().save(&learned).unwrap();
    cases.push(Case {
        name: "learned wavelet",
        path: learned,
        read: Box::new(|p| msg(LearnedWavelet::load(p))),
        text: true,
    });
    let sweep_dir = p("sweep");
    prepared.sweep(&[0.0, 0.1], &[0.0, 0.1], &sweep_dir, &Silent).unwrap();
    for file in ["sweep.json", "point_l001_g001.json"] {
        let prepared = PreparedFit::new(&cfg, &sx).unwrap();
        let sx = Samples::new(x.view().into_dyn(), Some(g.view().into_dyn()), false, ("X", "grad")).unwrap();
        drop(prepared);
        let cfg = cfg.clone();
        cases.push(Case {
            name: if file == "sweep.json" { "sweep spec" } else { "sweep point" },
            path: sweep_dir.join(file),
            read: Box::new(move |p| {
                // summarize reads sweep.json and every point file
                let prepared = PreparedFit::new(&cfg, &sx).map_err(|e| e.to_string())?;
                msg(prepared.summarize(&[0.0, 0.1], &[0.0, 0.1], p.parent().unwrap(), &Silent))
            }),
            text: true,
        });
    }
    let data = Data::new(x.view().into_dyn(), y.view().into_dyn(), Some(g.view().into_dyn()), None, false).unwrap();
    let config = DistillConfig {
        levels: 2,
        epochs: 1,
        bootstrap: 10,
        work_dir: Some(p("work")),
        lambdas: Some(vec![0.0]),
        gammas: Some(vec![0.0]),
        ..DistillConfig::default()
    };
    let topk = p("topk.json");
    distill(&config, &data, &Silent).unwrap().model.save(&topk).unwrap();
    cases.push(Case { name: "top-k model", path: topk, read: Box::new(|p| msg(SavedModel::load(p))), text: true });
    let maps = Array3::from_shape_fn((60, 12, 12), |(i, r, c)| {
        (((i * 31 + r * 7 + c * 13) % 17) as f64) * (1.0 + (i % 2) as f64)
    });
    let targets = Array1::from_shape_fn(60, |i| (i % 2) as f64);
    let map_data = Data::new(maps.view().into_dyn(), targets.view().into_dyn(), None, None, true).unwrap();
    let map_config =
        DistillConfig { work_dir: Some(p("work2")), model: awd::pipeline::ModelSpec::peaks(), ..config.clone() };
    let peaks = p("peaks.json");
    distill(&map_config, &map_data, &Silent).unwrap().model.save(&peaks).unwrap();
    cases.push(Case { name: "peak model", path: peaks, read: Box::new(|p| msg(SavedModel::load(p))), text: true });

    let teacher = p("t.safetensors");
    Teacher::new(TeacherConfig::new(Arch::Mlp, vec![16], 1), 0).unwrap().save(&teacher).unwrap();
    cases.push(Case {
        name: "teacher config",
        path: Teacher::config_path(&teacher),
        read: Box::new(|p| msg(Teacher::load(&p.with_extension("safetensors")))),
        text: true,
    });
    cases.push(Case { name: "teacher weights", path: teacher, read: Box::new(|p| msg(Teacher::load(p))), text: false });

    let cl = p("cl.json");
    std::fs::copy(Path::new(env!("CARGO_MANIFEST_DIR")).join("../../data/cosmology/cl_zs1.json"), &cl).unwrap();
    cases.push(Case { name: "C_ell table", path: cl, read: Box::new(|p| msg(ClTable::load(p))), text: true });

    // a real cell's tables, cut to their first tracks
    let gz = |name: &str| {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../data/clathrin").join(name);
        let mut text = String::new();
        std::io::Read::read_to_string(&mut flate2_reader(std::fs::File::open(path).unwrap()), &mut text).unwrap();
        // the header and the rows of the first 40 tracks
        let keep = |line: &str| line.split(',').next().and_then(|t| t.parse::<usize>().ok()).is_none_or(|t| t < 40);
        text.lines().filter(|l| keep(l)).collect::<Vec<_>>().join("\n") + "\n"
    };
    let (tracks, frames) = (p("cell1_tracks.csv"), p("cell1_frames.csv"));
    std::fs::write(&tracks, gz("cell1_tracks.csv.gz")).unwrap();
    std::fs::write(&frames, gz("cell1_frames.csv.gz")).unwrap();
    let frames_for_tracks = frames.clone();
    cases.push(Case {
        name: "clathrin tracks csv",
        path: tracks.clone(),
        read: Box::new(move |p| msg(load_cell(1, p, &frames_for_tracks, &ClathrinOptions::default()))),
        text: true,
    });
    cases.push(Case {
        name: "clathrin frames csv",
        path: frames,
        read: Box::new(move |p| msg(load_cell(1, &tracks, p, &ClathrinOptions::default()))),
        text: true,
    });
    cases
}

fn flate2_reader(f: std::fs::File) -> impl std::io::Read {
    flate2::read::GzDecoder::new(f)
}

#[test]
fn thousands_of_mutated_files_give_errors_that_name_the_file_never_a_panic() {
    let dir = tempfile::tempdir().unwrap();
    let cases = cases(dir.path());
    let mut rng = ChaCha8Rng::seed_from_u64(2026);
    let (mut tried, mut refused) = (0usize, 0usize);
    for case in &cases {
        let seed = std::fs::read(&case.path).unwrap();
        assert_eq!((case.read)(&case.path), Ok(()), "{}: the seed file itself must read", case.name);
        let name = case.path.file_name().unwrap().to_string_lossy().into_owned();
        // a cell is a pair of files: an error about the pair may name either
        let name = if name.starts_with("cell1_") { "cell1_".to_string() } else { name };
        for k in 0..MUTATIONS {
            let mutated = mutate(&seed, case.text, &mut rng);
            std::fs::write(&case.path, &mutated).unwrap();
            let outcome = catch_unwind(AssertUnwindSafe(|| (case.read)(&case.path)));
            // outside the temporary folder, which unwinding removes
            let kept = std::env::temp_dir().join(format!("awd-failing-{}-{k}", name));
            match outcome {
                Err(_) => {
                    std::fs::copy(&case.path, &kept).unwrap();
                    panic!("{}: mutation {k} panicked (file kept as {})", case.name, kept.display());
                }
                Ok(Err(e)) => {
                    assert!(e.contains(&name), "{}: mutation {k}: the error does not name {name}: {e}", case.name);
                    refused += 1;
                }
                Ok(Ok(())) => {}
            }
            tried += 1;
        }
        std::fs::write(&case.path, &seed).unwrap();
    }
    eprintln!("{tried} mutated files, {refused} refused with a named error, none panicked");
    assert!(refused > tried / 2, "most mutations should be refused: {refused} of {tried}");
}

/// Every mutation kind in one place also for a file that is only whitespace
/// or only a header: the message says what is wrong.
#[test]
fn empty_and_header_only_files_say_so() {
    let dir = tempfile::tempdir().unwrap();
    let empty = dir.path().join("empty.npy");
    std::fs::write(&empty, b"").unwrap();
    let e = read_npy_f64(&empty).unwrap_err().to_string();
    assert!(e.contains("empty.npy") && e.contains("empty"), "{e}");
    let npz = dir.path().join("empty.npz");
    std::fs::write(&npz, b"").unwrap();
    let e = read_npz_f64(&npz).unwrap_err().to_string();
    assert!(e.contains("empty.npz") && e.contains("empty"), "{e}");
    // a header with no data
    let header_only = dir.path().join("header.npy");
    let x: ArrayD<f64> = Array2::<f64>::zeros((3, 4)).into_dyn();
    write_npy(&header_only, x.view()).unwrap();
    let bytes = std::fs::read(&header_only).unwrap();
    std::fs::write(&header_only, &bytes[..128]).unwrap();
    let e = read_npy_f64(&header_only).unwrap_err().to_string();
    assert!(e.contains("header.npy") && e.contains("truncated") && e.contains("96 more bytes"), "{e}");
    // a cell's CSV: empty, then only its header
    let tracks = dir.path().join("cell1_tracks.csv");
    let frames = dir.path().join("cell1_frames.csv");
    std::fs::write(&frames, "track,frame\n0,1\n").unwrap();
    std::fs::write(&tracks, "").unwrap();
    let e = load_cell(1, &tracks, &frames, &ClathrinOptions::default()).unwrap_err().to_string();
    assert!(e.contains("cell1_tracks.csv") && e.contains("is empty"), "{e}");
    std::fs::write(&tracks, "track,lifetime_s,start_frame\n").unwrap();
    let e = load_cell(1, &tracks, &frames, &ClathrinOptions::default()).unwrap_err().to_string();
    assert!(e.contains("cell1_tracks.csv") && e.contains("header but no rows"), "{e}");
    for name in ["w.json", "m.json"] {
        let path = dir.path().join(name);
        std::fs::write(&path, b"").unwrap();
        let e = if name == "w.json" {
            load_wavelet_json(&path).unwrap_err().to_string()
        } else {
            SavedModel::load(&path).unwrap_err().to_string()
        };
        assert!(e.contains(name) && e.contains("empty"), "{e}");
    }
}
