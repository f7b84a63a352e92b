//! Reverse mode of the filter bank, for learning the filter. Analysis
//! computes `cA[o] = sum_m h[m] e[2o+m]` and `cD[o] = sum_m g[m] e[2o+m]`
//! with `e[t] = ext(t - s)` (see `kernel`). Given upstream gradients `gA`,
//! `gD`:
//! * filter gradients: `dh[m] = sum_o gA[o] e[2o+m]`, `dg[m] = sum_o gD[o]
//!   e[2o+m]` ([`Stencil::filter_grad`](super::stencil::Stencil::filter_grad));
//! * input gradient: the transpose of analysis, the extension rule folded in
//!   ([`Stencil::transpose`](super::stencil::Stencil::transpose)).
//!
//! Synthesis needs no kernel of its own here: in every mode but periodization
//! it is the transpose of zero-mode analysis with the same taps, and in
//! periodization the transpose of periodized analysis of an even-length
//! signal (see [`adjoint_mode`]).

use crate::Mode;

/// The analysis mode whose transpose is synthesis in `mode`: periodization for
/// periodization, zero padding for every other mode (pywt's synthesis does not
/// depend on the extension mode).
pub fn adjoint_mode(mode: Mode) -> Mode {
    if mode == Mode::Periodization {
        Mode::Periodization
    } else {
        Mode::Zero
    }
}

#[cfg(test)]
mod tests {
    use crate::dwt::len::dwt_coeff_len;
    use crate::dwt::stencil::{Stencil, GROUP};
    use crate::Mode;

    fn lcg(seed: &mut u64) -> f64 {
        *seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        ((*seed >> 11) as f64 / (1u64 << 53) as f64) - 0.5
    }

    fn random(n: usize, seed: &mut u64) -> Vec<f64> {
        (0..n).map(|_| lcg(seed)).collect()
    }

    /// <analysis(x), (ga, gd)> = <x, transpose(ga, gd)> in every mode and for
    /// short and long signals: the input gradient is the exact transpose.
    #[test]
    fn transpose_is_the_adjoint_of_analysis() {
        let mut seed = 1;
        let b = GROUP;
        for f in [2usize, 4, 10, 8] {
            let (h, g) = (random(f, &mut seed), random(f, &mut seed));
            for mode in Mode::ALL {
                for n in [1usize, 2, 3, 5, 8, 13, 31, 64, 200] {
                    if mode == Mode::Reflect && n < 2 {
                        continue;
                    }
                    let st = Stencil::new(n, f, mode);
                    let m = dwt_coeff_len(n, f, mode);
                    let x = random(n * b, &mut seed);
                    let (mut ca, mut cd) = (vec![0.0; m * b], vec![0.0; m * b]);
                    st.analysis(&h, &g, &x, b, &mut ca, &mut cd);
                    let (ga, gd) = (random(m * b, &mut seed), random(m * b, &mut seed));
                    let mut gx = vec![0.0; n * b];
                    st.transpose(&h, &g, &ga, &gd, b, &mut gx);
                    let lhs: f64 = ca.iter().zip(&ga).chain(cd.iter().zip(&gd)).map(|(a, b)| a * b).sum();
                    let rhs: f64 = x.iter().zip(&gx).map(|(a, b)| a * b).sum();
                    assert!((lhs - rhs).abs() < 1e-12 * (1.0 + lhs.abs()), "f={f}/{mode}/n={n}: {lhs} vs {rhs}");
                }
            }
        }
    }

    /// The per-sample filter gradient against central finite differences of
    /// `<analysis_h(x), (ga, gd)>` restricted to one sample (linear in the
    /// taps: exact up to rounding), with columns cycling through the samples
    /// as a 2-D batch lays them out.
    #[test]
    fn filter_grad_matches_finite_differences_per_sample() {
        let mut seed = 7;
        let (f, period, per_sample) = (6usize, GROUP, 3usize);
        let b = period * per_sample;
        for mode in Mode::ALL {
            for n in [3usize, 10, 37] {
                let (h, g) = (random(f, &mut seed), random(f, &mut seed));
                let st = Stencil::new(n, f, mode);
                let m = st.n_out;
                let x = random(n * b, &mut seed);
                let (ga, gd) = (random(m * b, &mut seed), random(m * b, &mut seed));
                let mut acc = vec![0.0; 2 * f * period];
                st.filter_grad(&x, &ga, &gd, b, period, &mut acc);
                let sample = 5;
                let objective = |h: &[f64], g: &[f64]| {
                    let (mut ca, mut cd) = (vec![0.0; m * b], vec![0.0; m * b]);
                    st.analysis(h, g, &x, b, &mut ca, &mut cd);
                    (0..m * b).filter(|i| i % period == sample).map(|i| ca[i] * ga[i] + cd[i] * gd[i]).sum::<f64>()
                };
                for i in 0..f {
                    let eps = 1e-6;
                    let (mut hp, mut hm) = (h.clone(), h.clone());
                    hp[i] += eps;
                    hm[i] -= eps;
                    let fd = (objective(&hp, &g) - objective(&hm, &g)) / (2.0 * eps);
                    let gh = acc[i * period + sample];
                    assert!((fd - gh).abs() < 1e-8, "{mode} n={n} dh[{i}]: {fd} vs {gh}");
                    let (mut gp, mut gm) = (g.clone(), g.clone());
                    gp[i] += eps;
                    gm[i] -= eps;
                    let fd = (objective(&h, &gp) - objective(&h, &gm)) / (2.0 * eps);
                    let gg = acc[(f + i) * period + sample];
                    assert!((fd - gg).abs() < 1e-8, "{mode} n={n} dg[{i}]: {fd} vs {gg}");
                }
            }
        }
    }
}
