//! A deliberately naive oracle for tests: pad explicitly with its own rules,
//! convolve in full with pywt's `dec_*` filters, keep every second sample.
//! It shares no code with the kernels or `extend.rs`.

use crate::Mode;

fn pad_index(n: usize, m: isize, mode: Mode) -> Option<(usize, f64)> {
    let n = n as isize;
    if m >= 0 && m < n {
        return Some((m as usize, 1.0));
    }
    match mode {
        Mode::Zero => None,
        Mode::Constant => Some((if m < 0 { 0 } else { (n - 1) as usize }, 1.0)),
        Mode::Periodic => Some((((m % n + n) % n) as usize, 1.0)),
        Mode::Symmetric | Mode::Antisymmetric => {
            // walk outwards, bouncing off half-sample mirrors
            let (mut i, mut sign) = (m, 1.0);
            while i < 0 || i >= n {
                if i < 0 {
                    i = -i - 1;
                } else {
                    i = 2 * n - 1 - i;
                }
                if mode == Mode::Antisymmetric {
                    sign = -sign;
                }
            }
            Some((i as usize, sign))
        }
        Mode::Reflect => {
            let mut i = m;
            while i < 0 || i >= n {
                if i < 0 {
                    i = -i;
                } else {
                    i = 2 * n - 2 - i;
                }
            }
            Some((i as usize, 1.0))
        }
        _ => unreachable!("handled by the caller"),
    }
}

fn padded_value(x: &[f64], m: isize, mode: Mode) -> f64 {
    let n = x.len() as isize;
    match mode {
        Mode::Smooth if n >= 2 => {
            if m < 0 {
                x[0] - m as f64 * (x[0] - x[1])
            } else if m >= n {
                x[(n - 1) as usize] + (m - n + 1) as f64 * (x[(n - 1) as usize] - x[(n - 2) as usize])
            } else {
                x[m as usize]
            }
        }
        Mode::Smooth => x[0],
        Mode::Periodization => {
            let mut y = x.to_vec();
            if y.len() % 2 == 1 {
                y.push(*x.last().expect("non-empty"));
            }
            let p = y.len() as isize;
            y[((m % p + p) % p) as usize]
        }
        _ => pad_index(x.len(), m, mode).map_or(0.0, |(i, w)| w * x[i]),
    }
}

/// One analysis level by explicit padding and full convolution.
pub fn dwt_reference(x: &[f64], dec_lo: &[f64], dec_hi: &[f64], mode: Mode) -> (Vec<f64>, Vec<f64>) {
    let f = dec_lo.len() as isize;
    let n = x.len() as isize;
    let (first, count) = match mode {
        Mode::Periodization => (f / 2, (n + 1) / 2),
        _ => (1, (n + f - 1) / 2),
    };
    let mut ca = Vec::new();
    let mut cd = Vec::new();
    for o in 0..count {
        let i = first + 2 * o;
        let (mut a, mut d) = (0.0, 0.0);
        for j in 0..f {
            let v = padded_value(x, i - j, mode);
            a += dec_lo[j as usize] * v;
            d += dec_hi[j as usize] * v;
        }
        ca.push(a);
        cd.push(d);
    }
    (ca, cd)
}

/// One synthesis level: upsample, full convolution with `rec_*`, keep pywt's
/// part (periodization: circular convolution of the upsampled coefficients).
pub fn idwt_reference(ca: &[f64], cd: &[f64], rec_lo: &[f64], rec_hi: &[f64], mode: Mode) -> Vec<f64> {
    let n = ca.len();
    let f = rec_lo.len();
    let mut up_a = vec![0.0; 2 * n];
    let mut up_d = vec![0.0; 2 * n];
    for i in 0..n {
        up_a[2 * i] = ca[i];
        up_d[2 * i] = cd[i];
    }
    if mode == Mode::Periodization {
        // out[t] = sum_m rec[m] up[(t - m + F/2 - 1 ... )] derived as the
        // transpose of periodized analysis: t = 2c + m - F/2 + 1 (mod 2n).
        let mut out = vec![0.0; 2 * n];
        for c in 0..n {
            for m in 0..f {
                let t = (2 * c as isize + m as isize - f as isize / 2 + 1).rem_euclid(2 * n as isize);
                out[t as usize] += rec_lo[m] * ca[c] + rec_hi[m] * cd[c];
            }
        }
        return out;
    }
    let full_len = 2 * n + f - 1;
    let mut full = vec![0.0; full_len];
    for t in 0..full_len {
        for m in 0..f {
            if t >= m && t - m < 2 * n {
                full[t] += rec_lo[m] * up_a[t - m] + rec_hi[m] * up_d[t - m];
            }
        }
    }
    // keep the samples where the whole filter overlaps: length 2n - F + 2
    full[f - 2..2 * n].to_vec()
}
