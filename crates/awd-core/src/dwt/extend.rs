//! Signal extension: what an out-of-range sample index means in each mode.
//!
//! `ext_terms` is the one definition of every mode: an index maps to at most
//! two `(source index, weight)` terms (smooth extension is affine in two edge
//! samples; zero padding has none). The forward kernels read through it and
//! the adjoints will scatter through it, so the two cannot drift apart.

use super::real::Real;
use crate::Mode;

/// Up to two weighted source samples that make one extended sample.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Terms {
    /// `(index, weight)` pairs; only the first `len` are meaningful.
    pub items: [(usize, f64); 2],
    /// Number of terms (0, 1 or 2).
    pub len: usize,
}

impl Terms {
    const NONE: Terms = Terms { items: [(0, 0.0); 2], len: 0 };
    fn one(i: usize, w: f64) -> Terms {
        Terms { items: [(i, w), (0, 0.0)], len: 1 }
    }
    fn two(i: usize, wi: f64, j: usize, wj: f64) -> Terms {
        Terms { items: [(i, wi), (j, wj)], len: 2 }
    }
    /// The meaningful terms.
    pub fn as_slice(&self) -> &[(usize, f64)] {
        &self.items[..self.len]
    }
}

/// Sample `m` (any integer) of the extension of an `n`-sample signal (`n >= 1`;
/// reflect needs `n >= 2`, checked by the callers) as weighted source samples.
#[inline]
pub fn ext_terms(n: usize, m: isize, mode: Mode) -> Terms {
    let ni = n as isize;
    if (0..ni).contains(&m) {
        return Terms::one(m as usize, 1.0);
    }
    match mode {
        Mode::Zero => Terms::NONE,
        Mode::Constant => Terms::one(if m < 0 { 0 } else { n - 1 }, 1.0),
        Mode::Symmetric => {
            let r = m.rem_euclid(2 * ni);
            Terms::one(if r < ni { r } else { 2 * ni - 1 - r } as usize, 1.0)
        }
        Mode::Antisymmetric => {
            let r = m.rem_euclid(2 * ni);
            if r < ni {
                Terms::one(r as usize, 1.0)
            } else {
                Terms::one((2 * ni - 1 - r) as usize, -1.0)
            }
        }
        Mode::Reflect => {
            if n < 2 {
                return Terms::one(0, 1.0);
            }
            let p = 2 * ni - 2;
            let r = m.rem_euclid(p);
            Terms::one(if r < ni { r } else { p - r } as usize, 1.0)
        }
        Mode::Periodic => Terms::one(m.rem_euclid(ni) as usize, 1.0),
        Mode::Periodization => {
            let period = ni + (ni % 2);
            let r = m.rem_euclid(period);
            Terms::one(if r == ni { n - 1 } else { r as usize }, 1.0)
        }
        Mode::Smooth => {
            if n < 2 {
                return Terms::one(if m < 0 { 0 } else { n - 1 }, 1.0);
            }
            if m < 0 {
                let k = (-m) as f64;
                Terms::two(0, 1.0 + k, 1, -k)
            } else {
                let k = (m - ni + 1) as f64;
                Terms::two(n - 1, 1.0 + k, n - 2, -k)
            }
        }
    }
}

/// The value of extended sample `m`, computed as PyWavelets does (the same
/// rule as [`ext_terms`], evaluated directly for speed), in the signal's
/// own number type.
#[inline(always)]
pub fn ext_value<T: Real>(x: &[T], m: isize, mode: Mode) -> T {
    let n = x.len();
    let ni = n as isize;
    if (0..ni).contains(&m) {
        return x[m as usize];
    }
    match mode {
        Mode::Zero => T::ZERO,
        Mode::Constant => x[if m < 0 { 0 } else { n - 1 }],
        Mode::Symmetric => {
            let r = m.rem_euclid(2 * ni);
            x[if r < ni { r } else { 2 * ni - 1 - r } as usize]
        }
        Mode::Antisymmetric => {
            let r = m.rem_euclid(2 * ni);
            if r < ni {
                x[r as usize]
            } else {
                -x[(2 * ni - 1 - r) as usize]
            }
        }
        Mode::Periodic => x[m.rem_euclid(ni) as usize],
        Mode::Smooth if n >= 2 => {
            // pywt: x0 + k (x0 - x1), evaluated in that order
            if m < 0 {
                x[0] + T::from_f64((-m) as f64) * (x[0] - x[1])
            } else {
                x[n - 1] + T::from_f64((m - ni + 1) as f64) * (x[n - 1] - x[n - 2])
            }
        }
        _ => {
            let terms = ext_terms(n, m, mode);
            let mut terms = terms.as_slice().iter().map(|&(i, w)| T::from_f64(w) * x[i]);
            // the first term as it is, then the rest (as f64's `sum`, which
            // keeps a lone -0.0)
            let first = terms.next().unwrap_or(T::ZERO);
            terms.fold(first, |s, v| s + v)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pad(x: &[f64], before: isize, after: isize, mode: Mode) -> Vec<f64> {
        (-before..x.len() as isize + after).map(|m| ext_value(x, m, mode)).collect()
    }

    #[test]
    fn matches_pywt_pad_examples() {
        // numpy: pywt.pad([1., 2., 4.], 7, mode)
        let x = [1.0, 2.0, 4.0];
        assert_eq!(
            pad(&x, 7, 7, Mode::Antisymmetric),
            vec![-1., 1., 2., 4., -4., -2., -1., 1., 2., 4., -4., -2., -1., 1., 2., 4., -4.]
        );
        assert_eq!(
            pad(&x, 7, 7, Mode::Symmetric),
            vec![1., 1., 2., 4., 4., 2., 1., 1., 2., 4., 4., 2., 1., 1., 2., 4., 4.]
        );
        assert_eq!(
            pad(&x, 7, 7, Mode::Reflect),
            vec![2., 4., 2., 1., 2., 4., 2., 1., 2., 4., 2., 1., 2., 4., 2., 1., 2.]
        );
        assert_eq!(
            pad(&x, 7, 7, Mode::Smooth),
            vec![-6., -5., -4., -3., -2., -1., 0., 1., 2., 4., 6., 8., 10., 12., 14., 16., 18.]
        );
        assert_eq!(
            pad(&x, 7, 7, Mode::Periodic),
            vec![4., 1., 2., 4., 1., 2., 4., 1., 2., 4., 1., 2., 4., 1., 2., 4., 1.]
        );
    }

    #[test]
    fn terms_agree_with_values() {
        let x = [0.3, -1.2, 2.5, 0.7, 1.1];
        for mode in Mode::ALL {
            for m in -23..28 {
                let t: f64 = ext_terms(x.len(), m, mode).as_slice().iter().map(|&(i, w)| w * x[i]).sum();
                assert!((t - ext_value(&x, m, mode)).abs() < 1e-12, "{mode} {m}");
            }
        }
    }
}
