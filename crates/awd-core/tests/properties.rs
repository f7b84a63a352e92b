//! Property tests: perfect reconstruction in every mode, kernels against the
//! naive oracle, the adjoint identity of the orthogonal (periodization)
//! transform, batch/parallel paths against single signals.

use awd_core::dwt::{dwt, idwt, idwt_output_len, reference, Plan1d, Plan2d};
use awd_core::{Mode, Wavelet};
use ndarray::{Array2, Array3};
use proptest::prelude::*;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

const WAVELETS: [&str; 6] = ["haar", "db2", "db5", "sym4", "coif2", "db10"];

fn randn(rng: &mut ChaCha8Rng, n: usize) -> Vec<f64> {
    (0..n).map(|_| rng.random::<f64>() * 2.0 - 1.0).collect()
}

fn max_err(a: &[f64], b: &[f64]) -> f64 {
    assert_eq!(a.len(), b.len());
    a.iter().zip(b).map(|(x, y)| (x - y).abs()).fold(0.0, f64::max)
}

#[test]
fn perfect_reconstruction_1d_every_mode_length_and_level() {
    let mut rng = ChaCha8Rng::seed_from_u64(7);
    for name in WAVELETS {
        let w = Wavelet::from_name(name).unwrap();
        for mode in Mode::ALL {
            for n in 1..=64 {
                let x = randn(&mut rng, n);
                for levels in 0..=4 {
                    let plan = match Plan1d::with_boundary_levels(n, &w, mode, levels) {
                        Ok(p) => p,
                        Err(e) => {
                            // only reflect on too-short inputs may refuse
                            assert_eq!(mode, Mode::Reflect, "{name}/{mode}/n={n}/J={levels}: {e}");
                            continue;
                        }
                    };
                    let xv = ndarray::ArrayView2::from_shape((1, n), &x).unwrap();
                    let c = plan.wavedec(xv).unwrap();
                    let r = plan.waverec(&c).unwrap();
                    let expect_len = if levels > 0 && n % 2 == 1 { n + 1 } else { n };
                    assert_eq!(r.ncols(), expect_len, "{name}/{mode}/n={n}/J={levels}");
                    let e = max_err(&r.as_slice().unwrap()[..n], &x);
                    assert!(e < 1e-10, "{name}/{mode}/n={n}/J={levels}: error {e:e}");
                }
            }
        }
    }
}

#[test]
fn kernels_match_naive_oracle_including_short_signals() {
    let mut rng = ChaCha8Rng::seed_from_u64(11);
    for name in WAVELETS {
        let w = Wavelet::from_name(name).unwrap();
        let f = w.filter_len();
        for mode in Mode::ALL {
            for n in 1..=48 {
                if mode == Mode::Reflect && n < 2 {
                    continue;
                }
                let x = randn(&mut rng, n);
                let (ca, cd) = dwt(&x, &w, mode).unwrap();
                let (ra, rd) = reference::dwt_reference(&x, &w.dec_lo, &w.dec_hi, mode);
                assert!(max_err(&ca, &ra) < 1e-13 && max_err(&cd, &rd) < 1e-13, "dwt {name}/{mode}/n={n}");
            }
            // synthesis on random coefficients, wherever pywt defines it
            for nc in 1..=24 {
                if idwt_output_len(nc, f, mode).is_none() {
                    assert!(idwt(&vec![0.0; nc], &vec![0.0; nc], &w, mode).is_err());
                    continue;
                }
                let a = randn(&mut rng, nc);
                let d = randn(&mut rng, nc);
                let got = idwt(&a, &d, &w, mode).unwrap();
                let want = reference::idwt_reference(&a, &d, &w.rec_lo, &w.rec_hi, mode);
                assert!(max_err(&got, &want) < 1e-13, "idwt {name}/{mode}/nc={nc}");
            }
        }
    }
}

#[test]
fn periodization_inverse_is_the_adjoint() {
    // For orthogonal filters and even lengths (divisible by 2^J), the
    // periodized transform is orthogonal: <W x, c> = <x, W^T c> = <x, W^-1 c>.
    let mut rng = ChaCha8Rng::seed_from_u64(3);
    for name in WAVELETS {
        let w = Wavelet::from_name(name).unwrap();
        for (n, levels) in [(16, 1), (32, 3), (64, 4), (40, 3), (8, 3)] {
            let plan = Plan1d::with_boundary_levels(n, &w, Mode::Periodization, levels).unwrap();
            let x = Array2::from_shape_vec((1, n), randn(&mut rng, n)).unwrap();
            let c = Array2::from_shape_vec((1, plan.total_len()), randn(&mut rng, plan.total_len())).unwrap();
            let wx = plan.wavedec(x.view()).unwrap();
            let mut wtc = Array2::zeros((1, plan.recon_len()));
            plan.waverec_into(c.view(), wtc.view_mut());
            let lhs: f64 = wx.data.iter().zip(c.iter()).map(|(a, b)| a * b).sum();
            let rhs: f64 = x.iter().zip(wtc.iter()).map(|(a, b)| a * b).sum();
            assert!((lhs - rhs).abs() < 1e-12 * lhs.abs().max(1.0), "{name} n={n} J={levels}: {lhs} vs {rhs}");
        }
    }
}

#[test]
fn batch_and_parallel_paths_equal_single_signals() {
    let mut rng = ChaCha8Rng::seed_from_u64(5);
    let w = Wavelet::from_name("db5").unwrap();
    // a batch of short signals (rayon over rows)
    let (batch, n) = (300, 64);
    let x = Array2::from_shape_vec((batch, n), randn(&mut rng, batch * n)).unwrap();
    let plan = Plan1d::with_boundary_levels(n, &w, Mode::Zero, 4).unwrap();
    let c = plan.wavedec(x.view()).unwrap();
    for i in [0, 17, 299] {
        let single = awd_core::dwt::wavedec(x.row(i).as_slice().unwrap(), &w, Mode::Zero, 4).unwrap();
        for (k, arr) in single.iter().enumerate() {
            assert_eq!(c.array(k).row(i).to_vec(), *arr);
        }
    }
    // one long signal (the kernel splits it over threads) against the oracle
    for mode in [Mode::Zero, Mode::Periodization, Mode::Symmetric] {
        let n = (1 << 17) + 3;
        let x = randn(&mut rng, n);
        let (ca, cd) = dwt(&x, &w, mode).unwrap();
        let (ra, rd) = reference::dwt_reference(&x, &w.dec_lo, &w.dec_hi, mode);
        assert!(max_err(&ca, &ra) < 1e-12 && max_err(&cd, &rd) < 1e-12, "{mode}");
        let rec = idwt(&ca, &cd, &w, mode).unwrap();
        assert!(max_err(&rec[..n], &x) < 1e-10, "{mode}");
        let want = reference::idwt_reference(&ca, &cd, &w.rec_lo, &w.rec_hi, mode);
        assert!(max_err(&rec, &want) < 1e-12, "{mode}");
    }
}

/// Naive separable 2-D level: the 1-D oracle along axis 0, then axis 1.
fn naive_dwt2(x: &Array2<f64>, w: &Wavelet, mode: Mode) -> [Array2<f64>; 4] {
    let cols: Vec<(Vec<f64>, Vec<f64>)> =
        (0..x.ncols()).map(|j| reference::dwt_reference(&x.column(j).to_vec(), &w.dec_lo, &w.dec_hi, mode)).collect();
    let h1 = cols[0].0.len();
    let lo = Array2::from_shape_fn((h1, x.ncols()), |(i, j)| cols[j].0[i]);
    let hi = Array2::from_shape_fn((h1, x.ncols()), |(i, j)| cols[j].1[i]);
    let rows = |m: &Array2<f64>| -> (Array2<f64>, Array2<f64>) {
        let r: Vec<(Vec<f64>, Vec<f64>)> =
            (0..m.nrows()).map(|i| reference::dwt_reference(&m.row(i).to_vec(), &w.dec_lo, &w.dec_hi, mode)).collect();
        let w1 = r[0].0.len();
        (
            Array2::from_shape_fn((m.nrows(), w1), |(i, j)| r[i].0[j]),
            Array2::from_shape_fn((m.nrows(), w1), |(i, j)| r[i].1[j]),
        )
    };
    let (aa, ad) = rows(&lo);
    let (da, dd) = rows(&hi);
    [aa, da, ad, dd] // cA, cH, cV, cD
}

#[test]
fn large_images_match_naive_separable_transform_and_reconstruct() {
    let mut rng = ChaCha8Rng::seed_from_u64(9);
    let w = Wavelet::from_name("db5").unwrap();
    for mode in [Mode::Zero, Mode::Periodization, Mode::Smooth] {
        let (h, wd) = (301, 258); // large enough for the threaded paths
        let x = Array2::from_shape_vec((h, wd), randn(&mut rng, h * wd)).unwrap();
        let plan = Plan2d::with_boundary_levels((h, wd), &w, mode, 1).unwrap();
        let c = plan.wavedec2(x.view().insert_axis(ndarray::Axis(0))).unwrap();
        let want = naive_dwt2(&x, &w, mode);
        let [ch, cv, cd] = c.detail(1);
        for (got, want, name) in
            [(c.approx(), &want[0], "cA"), (ch, &want[1], "cH"), (cv, &want[2], "cV"), (cd, &want[3], "cD")]
        {
            let got = got.index_axis(ndarray::Axis(0), 0).to_owned();
            assert!(max_err(got.as_slice().unwrap(), want.as_slice().unwrap()) < 1e-12, "{mode} {name}");
        }
        let plan3 = Plan2d::with_boundary_levels((h, wd), &w, mode, 3).unwrap();
        let batch = Array3::from_shape_fn((2, h, wd), |(b, i, j)| x[[i, j]] * (b as f64 + 1.0));
        let c3 = plan3.wavedec2(batch.view()).unwrap();
        let r = plan3.waverec2(&c3).unwrap();
        let crop = r.slice(ndarray::s![.., ..h, ..wd]).to_owned();
        let e = max_err(crop.as_standard_layout().as_slice().unwrap(), batch.as_slice().unwrap());
        assert!(e < 1e-10, "{mode}: 2-D reconstruction error {e:e}");
    }
}

#[test]
fn perfect_reconstruction_2d_small_shapes() {
    let mut rng = ChaCha8Rng::seed_from_u64(13);
    for name in ["haar", "db2", "sym4"] {
        let w = Wavelet::from_name(name).unwrap();
        for mode in Mode::ALL {
            for (h, wd) in [(1, 5), (7, 3), (16, 16), (33, 20), (9, 40)] {
                for levels in 1..=3 {
                    let Ok(plan) = Plan2d::with_boundary_levels((h, wd), &w, mode, levels) else {
                        assert_eq!(mode, Mode::Reflect);
                        continue;
                    };
                    let x = Array3::from_shape_vec((1, h, wd), randn(&mut rng, h * wd)).unwrap();
                    let r = plan.waverec2(&plan.wavedec2(x.view()).unwrap()).unwrap();
                    let crop = r.slice(ndarray::s![.., ..h, ..wd]).to_owned();
                    let e = max_err(crop.as_standard_layout().as_slice().unwrap(), x.as_slice().unwrap());
                    assert!(e < 1e-10, "{name}/{mode}/{h}x{wd}/J={levels}: {e:e}");
                }
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]
    /// Custom (random) even-length lowpass filters: the transform still
    /// matches the oracle, whatever the filter (AWD learns arbitrary h).
    #[test]
    fn custom_filters_match_oracle(taps in prop::collection::vec(-1.0f64..1.0, 1..8), n in 1usize..40, mode_ix in 0usize..8) {
        let mut h = taps.clone();
        h.extend(taps.iter().map(|t| 0.5 * t));
        let w = Wavelet::from_lowpass("random", &h).unwrap();
        let mode = Mode::ALL[mode_ix];
        prop_assume!(!(mode == Mode::Reflect && n < 2));
        let x: Vec<f64> = (0..n).map(|i| ((i * 7919) % 13) as f64 - 6.0).collect();
        let (ca, cd) = dwt(&x, &w, mode).unwrap();
        let (ra, rd) = reference::dwt_reference(&x, &w.dec_lo, &w.dec_hi, mode);
        prop_assert!(max_err(&ca, &ra) < 1e-12 && max_err(&cd, &rd) < 1e-12);
        if idwt_output_len(ca.len(), w.filter_len(), mode).is_some() {
            let got = idwt(&ca, &cd, &w, mode).unwrap();
            let want = reference::idwt_reference(&ca, &cd, &w.rec_lo, &w.rec_hi, mode);
            prop_assert!(max_err(&got, &want) < 1e-12);
        }
    }
}

/// Long float32 signals run in float32 through the row kernels (split over
/// threads): within float32 accuracy of the f64 transform of the same
/// values, forward and inverse, and they reconstruct to float32 accuracy.
#[test]
fn long_float32_signals_match_f64_to_float32_accuracy() {
    // a few float32 roundings per tap and level, relative to the values' scale
    const TOL: f64 = 8.0 * f32::EPSILON as f64;
    let mut rng = ChaCha8Rng::seed_from_u64(11);
    let n = 70_001; // odd, and long enough for the parallel split of the first levels
    let x32 = Array2::from_shape_simple_fn((2, n), || rng.random::<f32>() * 2.0 - 1.0);
    let x64 = x32.mapv(f64::from);
    for (name, mode) in [("db5", Mode::Zero), ("sym4", Mode::Symmetric), ("coif2", Mode::Periodization)] {
        let w = Wavelet::from_name(name).unwrap();
        let plan = Plan1d::with_boundary_levels(n, &w, mode, 5).unwrap();
        let c32 = plan.wavedec_f32(x32.view()).unwrap();
        let c64 = plan.wavedec(x64.view()).unwrap();
        let scale = c64.data.iter().fold(1.0f64, |m, v| m.max(v.abs()));
        let got: Vec<f64> = c32.iter().map(|&v| f64::from(v)).collect();
        let err = max_err(&got, c64.data.as_slice().unwrap());
        assert!(err <= TOL * scale, "{name} {mode} forward: {err:e} > {:e}", TOL * scale);
        // computed in float32 arithmetic (as pywt), not the f64 result rounded
        let rounded = c64.data.iter().zip(c32.iter()).filter(|(&w, &g)| w as f32 != g).count();
        assert!(rounded > 0, "{name} {mode}: every value is the rounded f64 result");
        // pywt's inverse returns n + 1 samples for odd n; the first n are x
        let back = plan.waverec_f32(c32.view()).unwrap();
        let back: Vec<f64> =
            back.rows().into_iter().flat_map(|r| r.to_vec().into_iter().take(n)).map(f64::from).collect();
        let err = max_err(&back, x64.as_slice().unwrap());
        assert!(err <= TOL * scale, "{name} {mode} reconstruction: {err:e} > {:e}", TOL * scale);
    }
}
