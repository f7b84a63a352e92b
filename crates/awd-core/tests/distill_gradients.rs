//! The distillation objective's gradient against central finite differences
//! (every term, 1-D and 2-D, every mode, every attribution kind), the adjoint
//! identity of the attribution operator, and TRIM checks against values
//! derived independently with dense matrices.

use awd_core::distill::{Attribution, Geometry, Penalties, Problem, ValidityWeights};
use awd_core::dwt::Plan1d;
use awd_core::{Mode, Wavelet};
use ndarray::Array2;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

fn randn(rng: &mut ChaCha8Rng, n: usize) -> Vec<f64> {
    (0..n).map(|_| rng.random::<f64>() * 2.0 - 1.0).collect()
}

fn perturbed(name: &str, rng: &mut ChaCha8Rng, amount: f64) -> Vec<f64> {
    Wavelet::from_name(name).unwrap().rec_lo.iter().map(|v| v + amount * (rng.random::<f64>() - 0.5)).collect()
}

/// Relative error of `grad` against central differences of the total loss.
fn fd_check(problem: &Problem, h: &[f64], p: &Penalties, idx: &[usize], tag: &str) {
    let (_, grad) = problem.evaluate(h, p, idx, true).unwrap();
    let grad = grad.unwrap();
    let eps = 1e-6;
    let mut fd = vec![0.0; h.len()];
    for i in 0..h.len() {
        let (mut hp, mut hm) = (h.to_vec(), h.to_vec());
        hp[i] += eps;
        hm[i] -= eps;
        fd[i] = (problem.evaluate(&hp, p, idx, false).unwrap().0.total
            - problem.evaluate(&hm, p, idx, false).unwrap().0.total)
            / (2.0 * eps);
    }
    let norm = fd.iter().map(|v| v * v).sum::<f64>().sqrt();
    let err = fd.iter().zip(&grad).map(|(a, b)| (a - b) * (a - b)).sum::<f64>().sqrt();
    assert!(err <= 1e-6 * norm.max(1e-8), "{tag}: relative error {:e}\n fd {fd:?}\n an {grad:?}", err / norm);
}

fn penalties(attribution: Attribution) -> Penalties {
    Penalties {
        lambda: 0.3,
        gamma: 0.7,
        validity: ValidityWeights { lowpass_sum: 1.0, highpass_sum: 0.5, unit_norm: 2.0, cmf: 1.5, orthogonality: 0.8 },
        attribution,
    }
}

#[test]
fn gradient_1d_every_mode_and_attribution() {
    let mut rng = ChaCha8Rng::seed_from_u64(42);
    for mode in Mode::ALL {
        for (n, levels, base) in [(33usize, 3usize, "db3"), (64, 4, "db5"), (10, 2, "haar")] {
            let b = 5;
            let x = Array2::from_shape_vec((b, n), randn(&mut rng, b * n)).unwrap();
            let g = Array2::from_shape_vec((b, n), randn(&mut rng, b * n)).unwrap();
            let h = perturbed(base, &mut rng, 0.2);
            let problem = Problem::new(x.view(), Some(g.view()), Geometry::OneD { n }, h.len(), mode, levels).unwrap();
            for attribution in Attribution::ALL {
                let idx = [0, 2, 3, 4];
                fd_check(
                    &problem,
                    &h,
                    &penalties(attribution),
                    &idx,
                    &format!("1-D {mode} n={n} J={levels} {attribution:?}"),
                );
            }
        }
    }
}

#[test]
fn gradient_2d_every_mode_and_attribution() {
    let mut rng = ChaCha8Rng::seed_from_u64(43);
    for mode in Mode::ALL {
        for ((rows, cols), levels, base) in [((12usize, 9usize), 2usize, "db2"), ((16, 16), 2, "db3")] {
            let b = 3;
            let len = rows * cols;
            let x = Array2::from_shape_vec((b, len), randn(&mut rng, b * len)).unwrap();
            let g = Array2::from_shape_vec((b, len), randn(&mut rng, b * len)).unwrap();
            let h = perturbed(base, &mut rng, 0.2);
            let problem =
                Problem::new(x.view(), Some(g.view()), Geometry::TwoD { rows, cols }, h.len(), mode, levels).unwrap();
            for attribution in Attribution::ALL {
                fd_check(
                    &problem,
                    &h,
                    &penalties(attribution),
                    &[0, 1, 2],
                    &format!("2-D {mode} {rows}x{cols} {attribution:?}"),
                );
            }
        }
    }
}

/// Batches large enough for whole SIMD groups of images (chunks of 16), on
/// odd shapes whose reconstruction is larger than the image: the padding
/// the tape zeroes instead of clearing whole arrays stays zero. The
/// gradient matches finite differences, and a batch gives the same bits
/// before and after the tapes held a batch of another chunk width.
#[test]
fn gradient_2d_whole_groups_and_reused_tapes() {
    let mut rng = ChaCha8Rng::seed_from_u64(45);
    let (rows, cols, n) = (13usize, 11usize, 128usize);
    let x = Array2::from_shape_vec((n, rows * cols), randn(&mut rng, n * rows * cols)).unwrap();
    let g = Array2::from_shape_vec((n, rows * cols), randn(&mut rng, n * rows * cols)).unwrap();
    // 64 images go 16 per chunk (wide groups), 88 go 22 per chunk (24 lanes:
    // narrow groups); 128 go 32 per chunk, another layout of the same buffers
    let all: Vec<usize> = (0..128).rev().collect();
    for (mode, batch) in [(Mode::Symmetric, 64), (Mode::Zero, 88), (Mode::Periodization, 64), (Mode::Smooth, 88)] {
        let first: Vec<usize> = (0..batch).collect();
        let h = perturbed("db3", &mut rng, 0.2);
        let problem = Problem::new(x.view(), Some(g.view()), Geometry::TwoD { rows, cols }, h.len(), mode, 2).unwrap();
        let p = penalties(Attribution::InputXGradient);
        let (before, grad_before) = problem.evaluate(&h, &p, &first, true).unwrap();
        problem.evaluate(&h, &p, &all, true).unwrap();
        let (after, grad_after) = problem.evaluate(&h, &p, &first, true).unwrap();
        assert_eq!(before.total.to_bits(), after.total.to_bits(), "{mode}: loss changed after another batch");
        assert_eq!(grad_before, grad_after, "{mode}: gradient changed after another batch");
        fd_check(&problem, &h, &p, &first, &format!("2-D {mode} {rows}x{cols}, {batch} images"));
    }
}

#[test]
fn gradient_without_teacher() {
    let mut rng = ChaCha8Rng::seed_from_u64(44);
    let (b, n) = (6, 40);
    let x = Array2::from_shape_vec((b, n), randn(&mut rng, b * n)).unwrap();
    let h = perturbed("sym4", &mut rng, 0.1);
    let problem = Problem::new(x.view(), None, Geometry::OneD { n }, h.len(), Mode::Symmetric, 3).unwrap();
    let p = Penalties { lambda: 0.5, gamma: 0.0, ..Penalties::default() };
    fd_check(&problem, &h, &p, &[0, 1, 2, 3, 4, 5], "no teacher");
    let t = problem.evaluate_all(&h, &p).unwrap();
    assert_eq!(t.l1_attributions, 0.0);
}

/// Dense synthesis matrix `A` (n x coefficients) of filter `h`, built by
/// reconstructing unit coefficient vectors with the plan (no adjoint code).
fn dense_synthesis(h: &[f64], n: usize, mode: Mode, levels: usize) -> Array2<f64> {
    let w = Wavelet::from_lowpass("h", h).unwrap();
    let fwd = Plan1d::with_boundary_levels(n, &w, mode, levels).unwrap();
    let total = fwd.total_len();
    let mut a = Array2::zeros((n, total));
    let mut unit = vec![0.0; total];
    let mut out = vec![0.0; fwd.recon_len()];
    let mut s = Default::default();
    for k in 0..total {
        unit.fill(0.0);
        unit[k] = 1.0;
        fwd.waverec_row(&unit, &mut out, &mut s);
        for i in 0..n {
            a[[i, k]] = out[i];
        }
    }
    a
}

#[test]
fn attribution_operator_passes_the_dot_product_test_in_every_mode() {
    let mut rng = ChaCha8Rng::seed_from_u64(45);
    for mode in Mode::ALL {
        for (n, levels) in [(64usize, 4usize), (37, 3), (20, 2)] {
            let h = perturbed("db5", &mut rng, 0.3);
            let v = Array2::from_shape_vec((1, n), randn(&mut rng, n)).unwrap();
            let x = Array2::from_shape_vec((1, n), randn(&mut rng, n)).unwrap();
            let problem = Problem::new(x.view(), Some(v.view()), Geometry::OneD { n }, h.len(), mode, levels).unwrap();
            let (_, at_v) = problem.coefficients_and_attributions(&h, Attribution::Saliency).unwrap();
            let at_v = at_v.unwrap();
            let a = dense_synthesis(&h, n, mode, levels);
            let w = randn(&mut rng, a.ncols());
            let aw: Vec<f64> = (0..n).map(|i| (0..a.ncols()).map(|k| a[[i, k]] * w[k]).sum()).collect();
            let lhs: f64 = aw.iter().zip(v.iter()).map(|(p, q)| p * q).sum();
            let rhs: f64 = w.iter().zip(at_v.iter()).map(|(p, q)| p * q).sum();
            assert!((lhs - rhs).abs() < 1e-12 * (1.0 + lhs.abs()), "{mode} n={n}: {lhs} vs {rhs}");
        }
    }
}

#[test]
fn linear_teacher_saliency_recovers_beta_in_periodization() {
    // f(x) = <Psi_db5 x, beta>, so G = Psi^T beta = A beta (orthogonal transform)
    let db5 = Wavelet::from_name("db5").unwrap();
    let (n, levels) = (64, 3);
    let plan = Plan1d::with_boundary_levels(n, &db5, Mode::Periodization, levels).unwrap();
    let mut rng = ChaCha8Rng::seed_from_u64(46);
    let beta = randn(&mut rng, plan.total_len());
    let mut g = vec![0.0; plan.recon_len()];
    plan.waverec_row(&beta, &mut g, &mut Default::default());
    let x = Array2::from_shape_vec((1, n), randn(&mut rng, n)).unwrap();
    let gm = Array2::from_shape_vec((1, n), g).unwrap();
    let problem =
        Problem::new(x.view(), Some(gm.view()), Geometry::OneD { n }, 10, Mode::Periodization, levels).unwrap();
    let (_, attr) = problem.coefficients_and_attributions(&db5.rec_lo, Attribution::Saliency).unwrap();
    let attr = attr.unwrap();
    for (a, b) in attr.iter().zip(&beta) {
        assert!((a - b).abs() < 1e-12, "{a} vs {b}");
    }
}

/// A two-layer ReLU network `f(x) = w2 . relu(W1 x + b1)`.
struct Relu {
    w1: Array2<f64>,
    b1: Vec<f64>,
    w2: Vec<f64>,
}

impl Relu {
    fn f(&self, x: &[f64]) -> f64 {
        (0..self.b1.len())
            .map(|j| {
                let z: f64 = (0..x.len()).map(|i| self.w1[[j, i]] * x[i]).sum::<f64>() + self.b1[j];
                self.w2[j] * z.max(0.0)
            })
            .sum()
    }
    /// grad_x f by hand: W1^T (mask * w2).
    fn grad(&self, x: &[f64]) -> Vec<f64> {
        let mut g = vec![0.0; x.len()];
        for j in 0..self.b1.len() {
            let z: f64 = (0..x.len()).map(|i| self.w1[[j, i]] * x[i]).sum::<f64>() + self.b1[j];
            if z > 0.0 {
                for (i, gi) in g.iter_mut().enumerate() {
                    *gi += self.w1[[j, i]] * self.w2[j];
                }
            }
        }
        g
    }
}

#[test]
fn relu_teacher_matches_trim_definition_and_its_h_gradient() {
    let mut rng = ChaCha8Rng::seed_from_u64(47);
    let (n, levels, hidden) = (24usize, 2usize, 16usize);
    let net = Relu {
        w1: Array2::from_shape_vec((hidden, n), randn(&mut rng, hidden * n)).unwrap(),
        b1: randn(&mut rng, hidden),
        w2: randn(&mut rng, hidden),
    };
    let x = randn(&mut rng, n);
    let gx = net.grad(&x);
    let mode = Mode::Zero;
    let h = perturbed("db2", &mut rng, 0.2);
    let xm = Array2::from_shape_vec((1, n), x.clone()).unwrap();
    let gm = Array2::from_shape_vec((1, n), gx.clone()).unwrap();
    let problem = Problem::new(xm.view(), Some(gm.view()), Geometry::OneD { n }, h.len(), mode, levels).unwrap();
    let (coeffs, attr) = problem.coefficients_and_attributions(&h, Attribution::Saliency).unwrap();
    let (coeffs, attr) = (coeffs.row(0).to_vec(), attr.unwrap().row(0).to_vec());

    // TRIM by definition: f'(w) = f(A w + r), r = x - A Psi x; differentiate
    // f' in w numerically (f' is linear near Psi x: exact up to rounding).
    let a = dense_synthesis(&h, n, mode, levels);
    let synth = |w: &[f64]| -> Vec<f64> { (0..n).map(|i| (0..w.len()).map(|k| a[[i, k]] * w[k]).sum()).collect() };
    let recon = synth(&coeffs);
    let r: Vec<f64> = x.iter().zip(&recon).map(|(p, q)| p - q).collect();
    let f_prime = |w: &[f64]| -> f64 { net.f(&synth(w).iter().zip(&r).map(|(p, q)| p + q).collect::<Vec<_>>()) };
    for k in 0..coeffs.len() {
        let eps = 1e-5;
        let (mut wp, mut wm) = (coeffs.clone(), coeffs.clone());
        wp[k] += eps;
        wm[k] -= eps;
        let d = (f_prime(&wp) - f_prime(&wm)) / (2.0 * eps);
        assert!((d - attr[k]).abs() < 1e-7 * (1.0 + d.abs()), "coefficient {k}: {d} vs {}", attr[k]);
    }

    // d/dh of sum |attr| with attr = A(h)^T grad_x f(x) from dense matrices
    // (what double back-propagation through a ReLU network computes), against
    // the engine's gradient of the attribution term alone.
    let l1_dense = |h: &[f64]| -> f64 {
        let a = dense_synthesis(h, n, mode, levels);
        (0..a.ncols()).map(|k| (0..n).map(|i| a[[i, k]] * gx[i]).sum::<f64>().abs()).sum()
    };
    let p1 = Penalties { lambda: 0.0, gamma: 1.0, validity: zero_weights(), attribution: Attribution::Saliency };
    let p0 = Penalties { gamma: 0.0, ..p1 };
    let g1 = problem.evaluate(&h, &p1, &[0], true).unwrap().1.unwrap();
    let g0 = problem.evaluate(&h, &p0, &[0], true).unwrap().1.unwrap();
    let scale = 1.0 / (levels + 1) as f64; // the objective's normalisation (B = 1)
    for i in 0..h.len() {
        let eps = 1e-6;
        let (mut hp, mut hm) = (h.clone(), h.clone());
        hp[i] += eps;
        hm[i] -= eps;
        let fd = scale * (l1_dense(&hp) - l1_dense(&hm)) / (2.0 * eps);
        let ours = g1[i] - g0[i];
        assert!((fd - ours).abs() < 1e-6 * (1.0 + fd.abs()), "tap {i}: dense {fd} vs engine {ours}");
    }
}

fn zero_weights() -> ValidityWeights {
    ValidityWeights { lowpass_sum: 0.0, highpass_sum: 0.0, unit_norm: 0.0, cmf: 0.0, orthogonality: 0.0 }
}

#[test]
fn attribution_operator_2d_passes_the_dot_product_test_in_every_mode() {
    use awd_core::dwt::{Coeffs2d, Plan2d};
    let mut rng = ChaCha8Rng::seed_from_u64(48);
    for mode in Mode::ALL {
        let ((rows, cols), levels) = ((11usize, 14usize), 2usize);
        let h = perturbed("db2", &mut rng, 0.3);
        let wav = Wavelet::from_lowpass("h", &h).unwrap();
        let plan = Plan2d::with_boundary_levels((rows, cols), &wav, mode, levels).unwrap();
        let total = plan.total_len();
        let v = Array2::from_shape_vec((1, rows * cols), randn(&mut rng, rows * cols)).unwrap();
        let x = Array2::from_shape_vec((1, rows * cols), randn(&mut rng, rows * cols)).unwrap();
        let problem =
            Problem::new(x.view(), Some(v.view()), Geometry::TwoD { rows, cols }, h.len(), mode, levels).unwrap();
        let (_, at_v) = problem.coefficients_and_attributions(&h, Attribution::Saliency).unwrap();
        let at_v = at_v.unwrap();
        // <A w, v> with A w = waverec2 of the packed coefficients, cropped
        let w = randn(&mut rng, total);
        let template = plan.wavedec2(x.view().into_shape_with_order((1, rows, cols)).unwrap()).unwrap();
        let mut packed = template.clone();
        packed.data.row_mut(0).assign(&ndarray::ArrayView1::from(&w));
        let packed =
            Coeffs2d::from_arrays(packed.approx(), &(1..=levels).rev().map(|l| packed.detail(l)).collect::<Vec<_>>())
                .unwrap();
        let aw = plan.waverec2(&packed).unwrap();
        let mut lhs = 0.0;
        for i in 0..rows {
            for k in 0..cols {
                lhs += aw[[0, i, k]] * v[[0, i * cols + k]];
            }
        }
        let rhs: f64 = w.iter().zip(at_v.iter()).map(|(p, q)| p * q).sum();
        assert!((lhs - rhs).abs() < 1e-12 * (1.0 + lhs.abs()), "{mode}: {lhs} vs {rhs}");
    }
}
