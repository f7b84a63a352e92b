//! Training behaviour: determinism (also across thread counts), learning
//! actually lowers the objective, epochs 0, and resumable sweeps.

use awd_core::distill::{
    fit, initial_filter, sweep, Attribution, FitSettings, Geometry, LearnedWavelet, Penalties, Problem, Silent,
    SweepSpec,
};
use awd_core::{Mode, Wavelet};
use ndarray::Array2;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, StandardNormal};

fn data(n: usize, len: usize, seed: u64) -> (Array2<f64>, Array2<f64>) {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let x = Array2::from_shape_simple_fn((n, len), || StandardNormal.sample(&mut rng));
    let g = Array2::from_shape_simple_fn((n, len), || StandardNormal.sample(&mut rng));
    (x, g)
}

fn settings(epochs: usize) -> FitSettings {
    FitSettings {
        levels: 3,
        mode: Mode::Zero,
        penalties: Penalties { lambda: 0.05, gamma: 0.1, attribution: Attribution::Saliency, ..Default::default() },
        epochs,
        batch_size: 32,
        lr: 0.01,
        seed: 3,
    }
}

#[test]
fn same_seed_same_bits_whatever_the_thread_count() {
    let (x, g) = data(300, 48, 1);
    let problem = Problem::new(x.view(), Some(g.view()), Geometry::OneD { n: 48 }, 10, Mode::Zero, 3).unwrap();
    let h0 = initial_filter(&Wavelet::from_name("db5").unwrap().rec_lo, 1.0, 0.1, 7);
    let a = fit(&problem, &h0, &settings(3), &Silent).unwrap();
    let b = fit(&problem, &h0, &settings(3), &Silent).unwrap();
    assert_eq!(a, b);
    let one = rayon::ThreadPoolBuilder::new().num_threads(1).build().unwrap();
    let c = one.install(|| fit(&problem, &h0, &settings(3), &Silent).unwrap());
    assert_eq!(
        a.lowpass.iter().map(|v| v.to_bits()).collect::<Vec<_>>(),
        c.lowpass.iter().map(|v| v.to_bits()).collect::<Vec<_>>()
    );
    assert_eq!(a.history, c.history);
    let mut other = settings(3);
    other.seed = 4;
    assert_ne!(fit(&problem, &h0, &other, &Silent).unwrap().lowpass, a.lowpass);
}

#[test]
fn training_lowers_the_objective_and_restores_validity() {
    let (x, g) = data(400, 64, 2);
    let problem = Problem::new(x.view(), Some(g.view()), Geometry::OneD { n: 64 }, 10, Mode::Zero, 3).unwrap();
    // a noisy start: the validity penalties are far from zero
    let h0 = initial_filter(&Wavelet::from_name("db5").unwrap().rec_lo, 1.0, 0.2, 11);
    let out = fit(&problem, &h0, &settings(15), &Silent).unwrap();
    let (first, last) = (out.history[0].terms, out.history.last().unwrap().terms);
    assert_eq!(out.history.len(), 16);
    assert!(last.total < 0.5 * first.total, "{} -> {}", first.total, last.total);
    let v0 = first.lowpass_sum + first.highpass_sum + first.unit_norm + first.cmf + first.orthogonality;
    let v1 = out.validity.lowpass_sum
        + out.validity.highpass_sum
        + out.validity.unit_norm
        + out.validity.cmf
        + out.validity.orthogonality;
    assert!(v1 < 0.2 * v0, "validity {v0} -> {v1}");
}

#[test]
fn zero_epochs_record_the_initial_terms() {
    let (x, g) = data(50, 32, 3);
    let problem = Problem::new(x.view(), Some(g.view()), Geometry::OneD { n: 32 }, 4, Mode::Periodization, 2).unwrap();
    let h0 = Wavelet::from_name("db2").unwrap().rec_lo;
    let mut s = settings(0);
    s.levels = 2;
    s.mode = Mode::Periodization;
    let out = fit(&problem, &h0, &s, &Silent).unwrap();
    assert_eq!(out.lowpass, h0);
    assert_eq!(out.history.len(), 1);
    // periodization is orthogonal: reconstruction is perfect and the energy of
    // the coefficients equals the energy of the data
    assert!(out.history[0].terms.reconstruction < 1e-20);
    assert!(out.history[0].terms.l1_attributions > 0.0);
    assert_eq!(out.history[0].terms, problem.evaluate_all(&h0, &s.penalties).unwrap());
}

#[test]
fn bad_settings_are_refused() {
    let (x, _) = data(20, 32, 4);
    let problem = Problem::new(x.view(), None, Geometry::OneD { n: 32 }, 10, Mode::Zero, 2).unwrap();
    let h0 = Wavelet::from_name("db5").unwrap().rec_lo;
    let mut s = settings(1);
    s.levels = 2;
    let msg = fit(&problem, &h0, &s, &Silent).unwrap_err().to_string();
    assert!(msg.contains("no teacher gradients"), "{msg}");
    s.penalties.gamma = 0.0;
    s.penalties.lambda = -1.0;
    assert!(fit(&problem, &h0, &s, &Silent).unwrap_err().to_string().contains("lambda"));
    s.penalties.lambda = 0.0;
    s.batch_size = 1000; // clamped
    assert_eq!(fit(&problem, &h0, &s, &Silent).unwrap().batch_size_used, 20);
    let too_deep = Problem::new(x.view(), None, Geometry::OneD { n: 32 }, 10, Mode::Zero, 9);
    assert!(too_deep.unwrap_err().to_string().contains("too many"));
    let mut xg = x.clone();
    xg[[3, 5]] = f64::INFINITY;
    let err = Problem::new(x.view(), Some(xg.view()), Geometry::OneD { n: 32 }, 10, Mode::Zero, 2).unwrap_err();
    assert!(err.to_string().contains("inf at index [3, 5] of G"), "{err}");
}

#[test]
fn sweep_warm_starts_resumes_and_refuses_foreign_folders() {
    let (x, g) = data(120, 32, 5);
    let problem = Problem::new(x.view(), Some(g.view()), Geometry::OneD { n: 32 }, 6, Mode::Symmetric, 2).unwrap();
    let mut base = settings(2);
    base.levels = 2;
    base.mode = Mode::Symmetric;
    let spec = SweepSpec {
        lambdas: vec![0.01, 0.1],
        gammas: vec![0.0, 0.5, 1.0],
        base,
        initial_lowpass: initial_filter(&Wavelet::from_name("db3").unwrap().rec_lo, 1.0, 0.05, 1),
        data_fingerprint: problem.fingerprint(),
        extra: serde_json::json!({ "note": "test" }),
    };
    let dir = tempfile::tempdir().unwrap();
    let points = sweep(&problem, &spec, dir.path(), &Silent).unwrap();
    assert_eq!(points.len(), 6);
    // warm start: (lambda 0.1, gamma 0) starts from (0.01, 0); (0.1, 0.5) from (0.1, 0)
    let p = |l: usize, gi: usize| points.iter().find(|p| p.lambda_index == l && p.gamma_index == gi).unwrap();
    let direct = {
        let mut s = spec.base.clone();
        s.penalties.lambda = 0.1;
        s.penalties.gamma = 0.5;
        fit(&problem, &p(1, 0).lowpass, &s, &Silent).unwrap()
    };
    assert_eq!(direct.lowpass, p(1, 1).lowpass);
    let file = dir.path().join(&p(1, 2).file);
    let lw = LearnedWavelet::load(&file).unwrap();
    assert_eq!(lw.settings["note"], "test");
    assert_eq!(lw.history.len(), 3);
    assert!(dir.path().join("summary.md").exists());
    // resume: delete one point; the re-run recomputes it identically
    let before = std::fs::read(&file).unwrap();
    std::fs::remove_file(&file).unwrap();
    let again = sweep(&problem, &spec, dir.path(), &Silent).unwrap();
    assert_eq!(again, points);
    assert_eq!(std::fs::read(&file).unwrap(), before);
    // a different sweep in the same folder is refused
    let mut other = spec.clone();
    other.lambdas = vec![0.5];
    let err = sweep(&problem, &other, dir.path(), &Silent).unwrap_err().to_string();
    assert!(err.contains("different sweep"), "{err}");
}

#[test]
fn float32_rows_give_the_bits_of_their_float64_values() {
    use awd_core::distill::SampleRows;
    let (x, g) = data(90, 16 * 16, 4);
    let (x32, g32) = (x.mapv(|v| v as f32), g.mapv(|v| v as f32));
    let (x64, g64) = (x32.mapv(f64::from), g32.mapv(f64::from));
    let h0 = initial_filter(&Wavelet::from_name("db3").unwrap().rec_lo, 1.0, 0.05, 2);
    let s = FitSettings { levels: 2, epochs: 2, ..settings(2) };
    for geometry in [Geometry::OneD { n: 256 }, Geometry::TwoD { rows: 16, cols: 16 }] {
        let wide = Problem::new(x64.view(), Some(g64.view()), geometry.clone(), 6, Mode::Zero, 2).unwrap();
        // X float32, G float64: the types need not agree
        let narrow = Problem::with_rows(
            SampleRows::from(x32.view()),
            Some(SampleRows::from(g64.view())),
            geometry.clone(),
            6,
            Mode::Zero,
            2,
        )
        .unwrap();
        assert_eq!(fit(&wide, &h0, &s, &Silent).unwrap(), fit(&narrow, &h0, &s, &Silent).unwrap());
        assert_eq!(wide.fingerprint(), narrow.fingerprint());
        let all32 = Problem::with_rows(
            SampleRows::from(x32.view()),
            Some(SampleRows::from(g32.view())),
            geometry,
            6,
            Mode::Zero,
            2,
        )
        .unwrap();
        assert_eq!(
            wide.coefficients_and_attributions(&h0, Attribution::Saliency).unwrap(),
            all32.coefficients_and_attributions(&h0, Attribution::Saliency).unwrap()
        );
    }
    // a NaN in float32 rows is found and placed
    let mut bad = x32.clone();
    bad[[5, 7]] = f32::NAN;
    let e = Problem::with_rows(SampleRows::from(bad.view()), None, Geometry::OneD { n: 256 }, 6, Mode::Zero, 2)
        .unwrap_err()
        .to_string();
    assert!(e.contains("[5, 7]") && e.contains("X"), "{e}");
}
