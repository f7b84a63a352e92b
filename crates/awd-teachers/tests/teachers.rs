//! Teachers: learning, seeding, saving, loading and input gradients.

use awd_teachers::{input_gradients, train, Arch, GradMethod, Teacher, TeacherConfig, TrainOptions};
use ndarray::{Array2, Axis};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, StandardNormal};

fn normal(shape: (usize, usize), seed: u64) -> Array2<f64> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    Array2::from_shape_simple_fn(shape, || StandardNormal.sample(&mut rng))
}

/// y = x . w for a fixed w (what the synthetic benchmark's teacher learns).
fn linear_data(n: usize, d: usize) -> (Array2<f64>, Array2<f64>, Vec<f64>) {
    let x = normal((n, d), 1);
    let w: Vec<f64> = (0..d).map(|i| if i % 5 == 0 { 1.0 } else { 0.0 }).collect();
    let y = x.dot(&ndarray::Array1::from(w.clone())).insert_axis(Axis(1));
    (x, y, w)
}

fn r2(pred: &Array2<f64>, y: &Array2<f64>) -> f64 {
    let mean = y.mean().unwrap();
    let ss_res: f64 = pred.iter().zip(y).map(|(p, t)| (p - t).powi(2)).sum();
    let ss_tot: f64 = y.iter().map(|t| (t - mean).powi(2)).sum();
    1.0 - ss_res / ss_tot
}

#[test]
fn mlp_learns_a_linear_teacher_and_its_gradient_is_the_weights() {
    let (x, y, w) = linear_data(3000, 16);
    let mut t = Teacher::new(TeacherConfig::new(Arch::Mlp, vec![16], 1), 0).unwrap();
    let opts = TrainOptions { epochs: 15, batch_size: 50, lr: 0.01, ..Default::default() };
    let mut logs = 0;
    let report = train(&mut t, x.view(), y.view(), &opts, &mut |_| logs += 1).unwrap();
    assert_eq!(logs, report.history.len());
    let pred = t.predict(x.view()).unwrap();
    assert!(r2(&pred, &y) > 0.99, "R^2 {}", r2(&pred, &y));
    let g = input_gradients(&t, x.slice(ndarray::s![..20, ..]), GradMethod::Saliency, 0).unwrap();
    let mean: Vec<f64> = g.mean_axis(Axis(0)).unwrap().to_vec();
    for (gi, wi) in mean.iter().zip(&w) {
        assert!((gi - wi).abs() < 0.1, "{mean:?} vs {w:?}");
    }
}

#[test]
fn gradients_match_finite_differences_for_every_architecture() {
    for (arch, shape) in
        [(Arch::Mlp, vec![12]), (Arch::Lstm, vec![12]), (Arch::Cnn, vec![8, 8]), (Arch::Cnn1d, vec![12])]
    {
        let d: usize = shape.iter().product();
        let t = Teacher::new(TeacherConfig::new(arch, shape, 1), 3).unwrap();
        let x = normal((3, d), 2);
        let g = input_gradients(&t, x.view(), GradMethod::Saliency, 0).unwrap();
        let ig = input_gradients(&t, x.view(), GradMethod::IntegratedGradients { steps: 8 }, 0).unwrap();
        assert_eq!(g.dim(), x.dim());
        assert_eq!(ig.dim(), x.dim());
        for j in [0, d / 2, d - 1] {
            let eps = 1e-2;
            let (mut xp, mut xm) = (x.clone(), x.clone());
            xp[[1, j]] += eps;
            xm[[1, j]] -= eps;
            let fd = (t.predict(xp.view()).unwrap()[[1, 0]] - t.predict(xm.view()).unwrap()[[1, 0]]) / (2.0 * eps);
            assert!((fd - g[[1, j]]).abs() < 2e-2 * (1.0 + fd.abs()), "{arch:?} {j}: fd {fd} vs {}", g[[1, j]]);
        }
    }
}

#[test]
fn same_seed_same_network_and_save_load_round_trip() {
    let (x, y, _) = linear_data(400, 8);
    let opts = TrainOptions { epochs: 3, batch_size: 40, lr: 0.01, seed: 5, ..Default::default() };
    let mut a = Teacher::new(TeacherConfig::new(Arch::Mlp, vec![8], 1), 9).unwrap();
    let mut b = Teacher::new(TeacherConfig::new(Arch::Mlp, vec![8], 1), 9).unwrap();
    train(&mut a, x.view(), y.view(), &opts, &mut |_| {}).unwrap();
    train(&mut b, x.view(), y.view(), &opts, &mut |_| {}).unwrap();
    let (pa, pb) = (a.predict(x.view()).unwrap(), b.predict(x.view()).unwrap());
    assert_eq!(pa, pb);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.safetensors");
    a.save(&path).unwrap();
    assert!(Teacher::config_path(&path).exists());
    let back = Teacher::load(&path).unwrap();
    assert_eq!(back.predict(x.view()).unwrap(), pa);
    // corrupt weights, missing weights, missing config: named errors
    std::fs::write(&path, b"not safetensors").unwrap();
    let e = Teacher::load(&path).err().unwrap().to_string();
    assert!(e.contains("t.safetensors") && e.contains("not valid"), "{e}");
    std::fs::remove_file(&path).unwrap();
    let e = Teacher::load(&path).err().unwrap().to_string();
    assert!(e.contains("no such weights file"), "{e}");
    let e = Teacher::load(&dir.path().join("none.safetensors")).err().unwrap().to_string();
    assert!(e.contains("none.json"), "{e}");
}

#[test]
fn bad_data_is_refused() {
    let (x, y, _) = linear_data(50, 8);
    let mut t = Teacher::new(TeacherConfig::new(Arch::Mlp, vec![8], 1), 0).unwrap();
    let short = y.slice(ndarray::s![..40, ..]).to_owned();
    let e = train(&mut t, x.view(), short.view(), &TrainOptions::default(), &mut |_| {}).unwrap_err().to_string();
    assert!(e.contains("50 samples") && e.contains("40"), "{e}");
    let mut bad = y.clone();
    bad[[7, 0]] = f64::NAN;
    let e = train(&mut t, x.view(), bad.view(), &TrainOptions::default(), &mut |_| {}).unwrap_err().to_string();
    assert!(e.contains("NaN") && e.contains("sample 7"), "{e}");
    let wide = normal((5, 9), 0);
    let e = input_gradients(&t, wide.view(), GradMethod::Saliency, 0).unwrap_err().to_string();
    assert!(e.contains("9 values"), "{e}");
}

#[test]
fn lstm_and_cnn_train() {
    let x = normal((300, 10), 4);
    let y = x.sum_axis(Axis(1)).insert_axis(Axis(1));
    let mut t = Teacher::new(TeacherConfig::new(Arch::Lstm, vec![10], 1), 1).unwrap();
    let r = train(
        &mut t,
        x.view(),
        y.view(),
        &TrainOptions { epochs: 3, batch_size: 30, ..Default::default() },
        &mut |_| {},
    )
    .unwrap();
    assert!(r.history.last().unwrap().train_loss < r.history[0].train_loss);
    let maps = normal((64, 64), 5);
    let y2 = maps.mean_axis(Axis(1)).unwrap().insert_axis(Axis(1));
    let mut c = Teacher::new(TeacherConfig::new(Arch::Cnn, vec![8, 8], 1), 1).unwrap();
    let r = train(
        &mut c,
        maps.view(),
        y2.view(),
        &TrainOptions { epochs: 3, batch_size: 16, ..Default::default() },
        &mut |_| {},
    )
    .unwrap();
    assert!(r.history.iter().all(|l| l.train_loss.is_finite()));
}

#[test]
fn cnn_with_strided_stem_and_augmentation_learns_a_symmetric_target() {
    // the target (map variance) is invariant under flips and transposes, so
    // augmentation must not stop the network from fitting it
    let maps = normal((256, 64), 11);
    let scale: Vec<f64> = (0..256).map(|i| 0.5 + (i % 4) as f64 * 0.5).collect();
    let maps = ndarray::Array2::from_shape_fn((256, 64), |(i, j)| maps[[i, j]] * scale[i]);
    let y = ndarray::Array2::from_shape_fn((256, 1), |(i, _)| scale[i]);
    let mut cfg = TeacherConfig::new(Arch::Cnn, vec![8, 8], 1);
    cfg.stem_stride = 2;
    let mut c = Teacher::new(cfg.clone(), 2).unwrap();
    let opts =
        TrainOptions { epochs: 8, batch_size: 32, lr: 0.01, val_fraction: 0.0, augment: true, ..Default::default() };
    let r = train(&mut c, maps.view(), y.view(), &opts, &mut |_| {}).unwrap();
    let (first, last) = (r.history[0].train_loss, r.history.last().unwrap().train_loss);
    assert!(last < 0.5 * first, "loss {first} -> {last}");
    // the stride survives saving and loading
    let dir = tempfile::tempdir().unwrap();
    c.save(&dir.path().join("c.safetensors")).unwrap();
    assert_eq!(Teacher::load(&dir.path().join("c.safetensors")).unwrap().config.stem_stride, 2);
    // augmentation needs square maps
    let mut rect = Teacher::new(TeacherConfig::new(Arch::Cnn, vec![4, 16], 1), 0).unwrap();
    let e = train(&mut rect, maps.view(), y.view(), &opts, &mut |_| {}).unwrap_err().to_string();
    assert!(e.contains("square"), "{e}");
}

#[test]
fn cnn_trains_and_differentiates_on_maps_whose_sides_differ_in_parity() {
    // 13 x 12 maps through a stride-2 stem: candle's own backward pass of a
    // strided convolution fails on such maps (one output padding for both
    // axes); the network's convolution has its own
    let (h, w) = (13, 12);
    let scale = |i: usize| 0.5 + (i % 4) as f64 * 0.5;
    let noise = normal((128, h * w), 12);
    let maps = Array2::from_shape_fn(noise.dim(), |(i, j)| noise[[i, j]] * scale(i));
    let y = Array2::from_shape_fn((128, 1), |(i, _)| scale(i));
    let mut cfg = TeacherConfig::new(Arch::Cnn, vec![h, w], 1);
    cfg.stem_stride = 2;
    let mut t = Teacher::new(cfg, 4).unwrap();
    let opts = TrainOptions { epochs: 8, batch_size: 32, lr: 0.01, val_fraction: 0.0, ..Default::default() };
    let r = train(&mut t, maps.view(), y.view(), &opts, &mut |_| {}).unwrap();
    let (first, last) = (r.history[0].train_loss, r.history.last().unwrap().train_loss);
    assert!(last < 0.5 * first, "loss {first} -> {last}");
    let x = maps.slice(ndarray::s![..2, ..]).to_owned();
    let g = input_gradients(&t, x.view(), GradMethod::Saliency, 0).unwrap();
    assert_eq!(g.dim(), x.dim());
    // the gradient's inner product with a direction matches the finite
    // difference along it (a smooth check through every ReLU at once)
    let direction = normal((2, h * w), 13);
    let eps = 1e-3;
    let along = |s: f64| t.predict((&x + &(&direction * s)).view()).unwrap();
    let fd = (along(eps) - along(-eps)) / (2.0 * eps);
    for i in 0..2 {
        let dot: f64 = g.row(i).iter().zip(direction.row(i)).map(|(a, b)| a * b).sum();
        assert!((fd[[i, 0]] - dot).abs() < 0.05 * dot.abs().max(1e-2), "row {i}: fd {} vs {dot}", fd[[i, 0]]);
    }
}

#[test]
fn lstm_learns_an_easy_sequence_target_far_beyond_a_constant() {
    // y = the sum of the last three steps: an LSTM reading the sequence must learn it
    let x = normal((600, 12), 7);
    let y = x.slice(ndarray::s![.., 9..]).sum_axis(Axis(1)).insert_axis(Axis(1));
    let (xtr, ytr) = (x.slice(ndarray::s![..500, ..]), y.slice(ndarray::s![..500, ..]));
    let (xte, yte) = (x.slice(ndarray::s![500.., ..]).to_owned(), y.slice(ndarray::s![500.., ..]).to_owned());
    let mut t = Teacher::new(TeacherConfig { hidden: 16, ..TeacherConfig::new(Arch::Lstm, vec![12], 1) }, 2).unwrap();
    let opts = TrainOptions { epochs: 60, batch_size: 25, lr: 0.01, val_fraction: 0.0, ..Default::default() };
    train(&mut t, xtr, ytr, &opts, &mut |_| {}).unwrap();
    let pred = t.predict(xte.view()).unwrap();
    // the constant predictor (training mean) scores R^2 <= 0 on held-out data
    let constant = Array2::from_elem(yte.dim(), ytr.mean().unwrap());
    let (learned, trivial) = (r2(&pred, &yte), r2(&constant, &yte));
    assert!(learned > 0.9 && learned > trivial + 0.9, "LSTM R^2 {learned} vs constant {trivial}");
}

#[test]
fn cnn1d_learns_a_local_sequence_target_far_beyond_a_constant_and_round_trips() {
    // y = a weighted sum of three steps in the middle: a position-aware 1-D CNN must learn it
    let x = normal((600, 13), 8);
    let y = ndarray::Array2::from_shape_fn((600, 1), |(i, _)| x[[i, 5]] - 2.0 * x[[i, 6]] + x[[i, 7]]);
    let (xtr, ytr) = (x.slice(ndarray::s![..500, ..]), y.slice(ndarray::s![..500, ..]));
    let (xte, yte) = (x.slice(ndarray::s![500.., ..]).to_owned(), y.slice(ndarray::s![500.., ..]).to_owned());
    for stem_stride in [1, 2] {
        let cfg = TeacherConfig { stem_stride, ..TeacherConfig::new(Arch::Cnn1d, vec![13], 1) };
        let mut t = Teacher::new(cfg, 3).unwrap();
        let opts = TrainOptions { epochs: 60, batch_size: 25, lr: 0.01, val_fraction: 0.0, ..Default::default() };
        train(&mut t, xtr, ytr, &opts, &mut |_| {}).unwrap();
        let pred = t.predict(xte.view()).unwrap();
        let constant = Array2::from_elem(yte.dim(), ytr.mean().unwrap());
        let (learned, trivial) = (r2(&pred, &yte), r2(&constant, &yte));
        assert!(
            learned > 0.85 && learned > trivial + 0.85,
            "stride {stem_stride}: R^2 {learned} vs constant {trivial}"
        );
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.safetensors");
        t.save(&path).unwrap();
        let back = Teacher::load(&path).unwrap();
        assert_eq!(back.config, t.config);
        assert_eq!(back.predict(xte.view()).unwrap(), pred);
    }
}

#[test]
fn a_config_too_large_for_its_weights_is_refused_before_anything_is_built() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.safetensors");
    Teacher::new(TeacherConfig::new(Arch::Cnn1d, vec![12], 1), 0).unwrap().save(&path).unwrap();
    assert!(Teacher::load(&path).is_ok());
    // a 1-D CNN whose input length overflows 64 bits, and one whose head alone outgrows the file
    for shape in [vec![1usize << 32, 1 << 32], vec![1 << 20]] {
        let cfg = TeacherConfig::new(Arch::Cnn1d, shape.clone(), 1);
        std::fs::write(Teacher::config_path(&path), serde_json::to_string(&cfg).unwrap()).unwrap();
        let e = Teacher::load(&path).err().unwrap().to_string();
        assert!(e.contains("do not belong together") && e.contains("t.safetensors"), "{shape:?}: {e}");
    }
}
