//! Every case of PyWavelets' reference outputs (tests/data/pywt, see its
//! README): filters, 1-D dwt/wavedec/waverec, 2-D wavedec2/waverec2.

use awd_core::dwt::{dwt, reference, wavedec, wavedec2, waverec, waverec2};
use awd_core::{Mode, Wavelet};
use ndarray::Array2;
use serde_json::Value;

/// Relative tolerance of the issue: `1e-12 * max(1, max |expected|)`.
const REL_TOL: f64 = 1e-12;

fn load(name: &str) -> Value {
    let path = format!("{}/tests/data/pywt/{name}", env!("CARGO_MANIFEST_DIR"));
    serde_json::from_str(&std::fs::read_to_string(&path).expect(&path)).expect("valid JSON")
}

fn vec1(v: &Value) -> Vec<f64> {
    v.as_array().expect("array").iter().map(|x| x.as_f64().expect("number")).collect()
}

fn mat(v: &Value) -> Array2<f64> {
    let rows: Vec<Vec<f64>> = v.as_array().expect("rows").iter().map(vec1).collect();
    let (h, w) = (rows.len(), rows.first().map_or(0, |r| r.len()));
    Array2::from_shape_vec((h, w), rows.concat()).expect("rectangular")
}

/// Compare and report the case, max error and first bad index.
fn assert_close(what: &str, got: &[f64], want: &[f64]) {
    assert_eq!(got.len(), want.len(), "{what}: length {} vs pywt {}", got.len(), want.len());
    let scale = want.iter().fold(1.0f64, |m, v| m.max(v.abs()));
    let tol = REL_TOL * scale;
    let (mut worst, mut first_bad) = (0.0f64, None);
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        let e = (g - w).abs();
        worst = worst.max(e);
        if e > tol && first_bad.is_none() {
            first_bad = Some(i);
        }
    }
    assert!(first_bad.is_none(), "{what}: max error {worst:e} > {tol:e}, first bad index {first_bad:?}");
}

#[test]
fn filters_match_pywt_bit_for_bit() {
    let data = load("filters.json");
    let wavelets = data["wavelets"].as_array().unwrap();
    assert_eq!(wavelets.len(), 75);
    for w in wavelets {
        let name = w["name"].as_str().unwrap();
        let ours = Wavelet::from_name(name).unwrap();
        for (key, got) in
            [("dec_lo", &ours.dec_lo), ("dec_hi", &ours.dec_hi), ("rec_lo", &ours.rec_lo), ("rec_hi", &ours.rec_hi)]
        {
            let want = vec1(&w[key]);
            assert_eq!(got, &want, "{name} {key}");
        }
        // a custom bank from rec_lo alone gives the same four filters
        let custom = Wavelet::from_lowpass("custom", &ours.rec_lo).unwrap();
        assert_eq!(custom.dec_hi, ours.dec_hi, "{name}");
    }
}

#[test]
fn dwt1d_all_cases() {
    let data = load("dwt1d.json");
    let signals: std::collections::HashMap<String, Vec<f64>> = data["signals"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| (s["id"].as_str().unwrap().to_string(), vec1(&s["data"])))
        .collect();
    let cases = data["cases"].as_array().unwrap();
    assert_eq!(cases.len(), 240);
    for c in cases {
        let wname = c["wavelet"].as_str().unwrap();
        let mode: Mode = c["mode"].as_str().unwrap().parse().unwrap();
        let x = &signals[c["signal"].as_str().unwrap()];
        let level = c["level"].as_u64().unwrap() as usize;
        let wav = Wavelet::from_name(wname).unwrap();
        let tag = format!("{wname}/{mode}/n={}/J={level}", x.len());
        let (ca, cd) = dwt(x, &wav, mode).unwrap();
        assert_close(&format!("{tag} dwt cA"), &ca, &vec1(&c["dwt"]["cA"]));
        assert_close(&format!("{tag} dwt cD"), &cd, &vec1(&c["dwt"]["cD"]));
        // the naive oracle agrees too (it shares no code with the kernels)
        let (ra, rd) = reference::dwt_reference(x, &wav.dec_lo, &wav.dec_hi, mode);
        assert_close(&format!("{tag} reference cA"), &ra, &vec1(&c["dwt"]["cA"]));
        assert_close(&format!("{tag} reference cD"), &rd, &vec1(&c["dwt"]["cD"]));
        let coeffs = wavedec(x, &wav, mode, level).unwrap();
        let want: Vec<Vec<f64>> = c["wavedec"].as_array().unwrap().iter().map(vec1).collect();
        assert_eq!(coeffs.len(), want.len(), "{tag}");
        for (k, (g, w)) in coeffs.iter().zip(&want).enumerate() {
            assert_close(&format!("{tag} wavedec[{k}]"), g, w);
        }
        let rec = waverec(&want, &wav, mode).unwrap();
        assert_close(&format!("{tag} waverec"), &rec, &vec1(&c["waverec"]));
    }
}

#[test]
fn dwt2d_all_cases() {
    let data = load("dwt2d.json");
    let images: std::collections::HashMap<String, Array2<f64>> = data["images"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| (s["id"].as_str().unwrap().to_string(), mat(&s["data"])))
        .collect();
    let cases = data["cases"].as_array().unwrap();
    assert_eq!(cases.len(), 36);
    for c in cases {
        let wname = c["wavelet"].as_str().unwrap();
        let mode: Mode = c["mode"].as_str().unwrap().parse().unwrap();
        let x = &images[c["image"].as_str().unwrap()];
        let level = c["level"].as_u64().unwrap() as usize;
        let wav = Wavelet::from_name(wname).unwrap();
        let tag = format!("{wname}/{mode}/{:?}/J={level}", x.dim());
        let (ca, details) = wavedec2(x.view(), &wav, mode, level).unwrap();
        let want_ca = mat(&c["cA"]);
        assert_eq!(ca.dim(), want_ca.dim(), "{tag} cA shape");
        assert_close(&format!("{tag} cA"), ca.as_slice().unwrap(), want_ca.as_slice().unwrap());
        let want_details = c["details"].as_array().unwrap();
        assert_eq!(details.len(), want_details.len());
        let mut views = Vec::new();
        for (k, (got, want)) in details.iter().zip(want_details).enumerate() {
            let mut lvl = Vec::new();
            for (i, key) in ["cH", "cV", "cD"].iter().enumerate() {
                let w = mat(&want[*key]);
                assert_eq!(got[i].dim(), w.dim(), "{tag} level index {k} {key} shape");
                assert_close(&format!("{tag} [{k}] {key}"), got[i].as_slice().unwrap(), w.as_slice().unwrap());
                lvl.push(w);
            }
            views.push(lvl);
        }
        let dviews: Vec<[ndarray::ArrayView2<f64>; 3]> =
            views.iter().map(|l| [l[0].view(), l[1].view(), l[2].view()]).collect();
        let rec = waverec2(want_ca.view(), &dviews, &wav, mode).unwrap();
        let want_rec = mat(&c["waverec2"]);
        assert_eq!(rec.dim(), want_rec.dim(), "{tag} waverec2 shape");
        assert_close(&format!("{tag} waverec2"), rec.as_slice().unwrap(), want_rec.as_slice().unwrap());
    }
}

#[test]
fn wavefun_builtin_and_custom() {
    use awd_core::wavefun::wavefun;
    let data = load("wavefun.json");
    for c in data["builtin"].as_array().unwrap() {
        let name = c["wavelet"].as_str().unwrap();
        let level = c["level"].as_u64().unwrap() as usize;
        let got = wavefun(&Wavelet::from_name(name).unwrap(), level).unwrap();
        for (key, g) in [("phi", &got.phi), ("psi", &got.psi), ("x", &got.x)] {
            assert_close(&format!("wavefun {name} L={level} {key}"), g, &vec1(&c[key]));
        }
    }
    let custom = &data["custom"][0];
    let wav = Wavelet::from_lowpass("custom", &vec1(&custom["h"])).unwrap();
    assert_eq!(wav.rec_hi, vec1(&custom["g"]));
    for wf in custom["wavefun"].as_array().unwrap() {
        let level = wf["level"].as_u64().unwrap() as usize;
        let got = wavefun(&wav, level).unwrap();
        for (key, g) in
            [("phi_d", &got.phi), ("psi_d", &got.psi), ("phi_r", &got.phi), ("psi_r", &got.psi), ("x", &got.x)]
        {
            assert_close(&format!("custom wavefun L={level} {key}"), g, &vec1(&wf[key]));
        }
    }
}

#[test]
fn distance_pairs() {
    use awd_core::distance::{psi_distance, wavelet_distance};
    let data = load("distance.json");
    let psi = &data["psi"];
    for p in data["pairs"].as_array().unwrap() {
        let (a, b) = (p["psi_a"].as_str().unwrap(), p["psi_b"].as_str().unwrap());
        let d = psi_distance(&vec1(&psi[a]["psi"]), &vec1(&psi[b]["psi"])).unwrap();
        let want = p["distance"].as_f64().unwrap();
        assert!((d.value - want).abs() <= 1e-12 * want.max(1.0), "{a}/{b}: {} vs {want}", d.value);
        assert_eq!(d.flipped, p["argmin_flipped"].as_bool().unwrap(), "{a}/{b}");
        assert_eq!(d.shift as u64, p["argmin_shift"].as_u64().unwrap(), "{a}/{b}");
    }
    // from wavelets directly, our own wavefun included
    let db5 = Wavelet::from_name("db5").unwrap();
    let custom_h = vec1(&data["custom_wavelet"]["h"]);
    let pert = Wavelet::from_lowpass("db5-perturbed", &custom_h).unwrap();
    let d = wavelet_distance(&pert, &db5, 5).unwrap();
    assert!((d.value - 0.3347356073096251).abs() < 1e-12);
    let sym5 = Wavelet::from_name("sym5").unwrap();
    assert!((wavelet_distance(&db5, &sym5, 5).unwrap().value - 1.2804442955994846).abs() < 1e-12);
}

/// Float32 accuracy, relative to the largest expected magnitude (at least 1).
const FLOAT32_TOL: f64 = 2e-6;

/// Every value of `got` within `FLOAT32_TOL * max(1, max |want|)` of `want`.
fn close_float32(what: &str, got: &[f64], want: &[f64]) {
    assert_eq!(got.len(), want.len(), "{what}: length");
    let scale = want.iter().fold(1.0f64, |m, v| m.max(v.abs()));
    let worst = got.iter().zip(want).map(|(g, w)| (g - w).abs()).fold(0.0, f64::max);
    assert!(worst <= FLOAT32_TOL * scale, "{what}: max error {worst:e} > {:e}", FLOAT32_TOL * scale);
}

/// The float32 transforms against PyWavelets' float32 outputs
/// (`float32_wavedec.json`, made by `tools/make_pywt_float32_reference.py`)
/// and against our f64 transform, both to float32 accuracy: every value
/// within `FLOAT32_TOL * max(1, max |expected|)` of its array. Short batches
/// take the tiled float32 kernels, the 5,000-sample case the row kernels.
#[test]
fn float32_transforms_match_pywt_float32() {
    use awd_core::dwt::Plan1d;
    let data = load("float32_wavedec.json");
    for case in data["cases"].as_array().unwrap() {
        let (name, mode) = (case["wavelet"].as_str().unwrap(), case["mode"].as_str().unwrap());
        let (b, n) = (case["signals"].as_u64().unwrap() as usize, case["length"].as_u64().unwrap() as usize);
        let levels = case["levels"].as_u64().unwrap() as usize;
        let w = Wavelet::from_name(name).unwrap();
        let mode: Mode = mode.parse().unwrap();
        // the generator's inputs: k / 64 - 0.5 with k = (i * 7919) mod 64, exact in float32
        let x = Array2::from_shape_fn((b, n), |(r, c)| ((r * n + c) * 7919 % 64) as f32 / 64.0 - 0.5);
        let plan = Plan1d::with_boundary_levels(n, &w, mode, levels).unwrap();
        let packed = plan.wavedec_f32(x.view()).unwrap();
        let wide = plan.wavedec(x.mapv(f64::from).view()).unwrap();
        let offs = plan.offsets().to_vec();
        for (k, arr) in case["coeffs"].as_array().unwrap().iter().enumerate() {
            let want = mat(arr);
            for r in 0..b {
                let got: Vec<f64> =
                    packed.row(r).iter().skip(offs[k]).take(offs[k + 1] - offs[k]).map(|&v| v as f64).collect();
                let what = format!("{name} {mode} n={n} J={levels} signal {r} array {k}");
                close_float32(&format!("{what} vs pywt float32"), &got, want.row(r).as_slice().unwrap());
                close_float32(
                    &format!("{what} vs f64"),
                    &got,
                    &wide.data.row(r).as_slice().unwrap()[offs[k]..offs[k + 1]],
                );
            }
        }
        let rec = plan.waverec_f32(packed.view()).unwrap();
        let want = mat(&case["waverec"]);
        assert_eq!(rec.dim(), want.dim(), "{name} {mode}: waverec shape");
        for r in 0..b {
            let got: Vec<f64> = rec.row(r).iter().map(|&v| v as f64).collect();
            close_float32(&format!("{name} {mode} n={n} waverec signal {r}"), &got, want.row(r).as_slice().unwrap());
        }
    }
}

/// The float32 2-D transforms against PyWavelets' float32 `wavedec2` and
/// `waverec2` (`cases_2d` of `float32_wavedec.json`) and against our f64
/// transform, to float32 accuracy as above; and on an image large enough
/// for the parallel column kernels, against f64 only, where the float32
/// result must not be the f64 one rounded (it is computed in float32).
#[test]
fn float32_2d_transforms_match_pywt_float32() {
    use awd_core::dwt::Plan2d;
    use ndarray::Array3;
    let image = |b: usize, h: usize, w: usize| {
        Array3::from_shape_fn((b, h, w), |(i, r, c)| (((i * h + r) * w + c) * 7919 % 64) as f32 / 64.0 - 0.5)
    };
    let data = load("float32_wavedec.json");
    let cases = data["cases_2d"].as_array().unwrap();
    assert!(!cases.is_empty(), "no 2-D float32 cases");
    for case in cases {
        let (name, mode) = (case["wavelet"].as_str().unwrap(), case["mode"].as_str().unwrap());
        let [b, h, w, levels] = ["images", "rows", "cols", "levels"].map(|k| case[k].as_u64().unwrap() as usize);
        let wav = Wavelet::from_name(name).unwrap();
        let mode: Mode = mode.parse().unwrap();
        let x = image(b, h, w);
        let plan = Plan2d::with_boundary_levels((h, w), &wav, mode, levels).unwrap();
        let packed = plan.wavedec2_f32(x.view()).unwrap();
        let wide = plan.wavedec2(x.mapv(f64::from).view()).unwrap();
        let want = mat(&case["packed"]);
        assert_eq!(packed.dim(), want.dim(), "{name} {mode}: packed shape");
        let what = format!("{name} {mode} {h}x{w} J={levels}");
        for r in 0..b {
            let got: Vec<f64> = packed.row(r).iter().map(|&v| v as f64).collect();
            close_float32(&format!("{what} image {r} vs pywt float32"), &got, want.row(r).as_slice().unwrap());
            close_float32(&format!("{what} image {r} vs f64"), &got, wide.data.row(r).as_slice().unwrap());
        }
        let rec = plan.waverec2_f32(packed.view()).unwrap();
        let shape: Vec<usize> =
            case["recon_shape"].as_array().unwrap().iter().map(|v| v.as_u64().unwrap() as usize).collect();
        assert_eq!(&rec.shape()[1..], &shape[..], "{what}: waverec2 shape");
        let want = mat(&case["waverec2"]);
        for r in 0..b {
            let got: Vec<f64> = rec.index_axis(ndarray::Axis(0), r).iter().map(|&v| v as f64).collect();
            close_float32(&format!("{what} waverec2 image {r}"), &got, want.row(r).as_slice().unwrap());
        }
    }
    // parallel column kernels (more than 2^15 values per pass)
    let wav = Wavelet::from_name("db5").unwrap();
    let x = image(1, 300, 260);
    let plan = Plan2d::with_boundary_levels((300, 260), &wav, Mode::Symmetric, 2).unwrap();
    let packed = plan.wavedec2_f32(x.view()).unwrap();
    let wide = plan.wavedec2(x.mapv(f64::from).view()).unwrap();
    let got: Vec<f64> = packed.iter().map(|&v| v as f64).collect();
    close_float32("db5 symmetric 300x260 vs f64", &got, wide.data.as_slice().unwrap());
    let rounded = packed.iter().zip(wide.data.iter()).filter(|(&g, &w)| g == w as f32).count();
    assert!(rounded < packed.len(), "every float32 value is the f64 one rounded: not computed in float32");
    let rec = plan.waverec2_f32(packed.view()).unwrap();
    let back: Vec<f64> = rec.iter().map(|&v| v as f64).collect();
    close_float32("db5 symmetric 300x260 reconstruction", &back, &x.mapv(f64::from).into_raw_vec_and_offset().0);
    // a packed row of the wrong length is an error, not a panic
    let err = plan.waverec2_f32(packed.slice(ndarray::s![.., 1..]).view()).unwrap_err().to_string();
    assert!(err.contains("packed rows have"), "{err}");
}
