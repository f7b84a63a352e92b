use awd_core::dwt::{Plan1d, Plan2d};
use awd_core::{Mode, Wavelet};
use ndarray::{Array2, Array3};
use std::time::Instant;
fn t<T>(rep: usize, mut f: impl FnMut() -> T) -> (f64, f64) {
    std::hint::black_box(f());
    let mut v: Vec<f64> = (0..rep)
        .map(|_| {
            let t = Instant::now();
            std::hint::black_box(f());
            t.elapsed().as_secs_f64() * 1e3
        })
        .collect();
    v.sort_by(|a, b| a.total_cmp(b));
    (v[0], v[v.len() / 2])
}
fn main() {
    let w = Wavelet::from_name("db5").unwrap();
    let rep: usize = std::env::var("REP").ok().and_then(|v| v.parse().ok()).unwrap_or(100);
    let only = std::env::args().nth(1).unwrap_or_default();
    let run = |c: &str| only.is_empty() || only == c;
    let mut s = 1u64;
    let mut rnd = || {
        s = s.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        ((s >> 11) as f64) / (1u64 << 53) as f64 - 0.5
    };
    for (name, b, n, j) in [("long", 1usize, 1usize << 20, 5usize), ("batch", 10000, 64, 4)] {
        if !run(name) {
            continue;
        }
        let x = Array2::from_shape_simple_fn((b, n), &mut rnd);
        let p = Plan1d::with_boundary_levels(n, &w, Mode::Zero, j).unwrap();
        let c = p.wavedec(x.view()).unwrap();
        let (a, b) = t(rep, || p.wavedec(x.view()).unwrap());
        let (c1, d) = t(rep, || p.waverec(&c).unwrap());
        println!("{name:6} fwd min {a:.3} med {b:.3} | inv min {c1:.3} med {d:.3}");
    }
    if run("2d") {
        let x = Array3::from_shape_simple_fn((1, 1024, 1024), &mut rnd);
        let p = Plan2d::with_boundary_levels((1024, 1024), &w, Mode::Zero, 3).unwrap();
        let c = p.wavedec2(x.view()).unwrap();
        let (a, b) = t(rep, || p.wavedec2(x.view()).unwrap());
        let (c1, d) = t(rep, || p.waverec2(&c).unwrap());
        println!("2d     fwd min {a:.3} med {b:.3} | inv min {c1:.3} med {d:.3}");
    }
}
