//! Every length rule of the transforms, in one place (PyWavelets' rules).

use crate::Mode;

/// Coefficients per channel of one analysis step on `n` samples with an
/// `f`-tap filter: `ceil(n/2)` in periodization, `floor((n+f-1)/2)` otherwise.
pub fn dwt_coeff_len(n: usize, f: usize, mode: Mode) -> usize {
    match mode {
        Mode::Periodization => n.div_ceil(2),
        _ => (n + f - 1) / 2,
    }
}

/// Output length of one synthesis step from `nc` coefficients per channel:
/// `2 nc` in periodization, `2 nc - f + 2` otherwise (`None` when `nc < f/2`,
/// where PyWavelets has no valid output either).
pub fn idwt_output_len(nc: usize, f: usize, mode: Mode) -> Option<usize> {
    match mode {
        Mode::Periodization => Some(2 * nc),
        _ if nc >= f / 2 && nc > 0 => Some(2 * nc + 2 - f),
        _ => None,
    }
}

/// PyWavelets' `dwt_max_level`: the deepest level at which some coefficients
/// are still free of boundary effects, `floor(log2(n / (f - 1)))`, or 0.
pub fn dwt_max_level(n: usize, f: usize) -> usize {
    if f <= 1 || n < f - 1 {
        return 0;
    }
    let mut level = 0;
    while (f - 1) << (level + 1) <= n {
        level += 1;
    }
    level
}

/// PyWavelets' warning for a level above [`dwt_max_level`] (which it, like
/// awd, computes anyway): `None` when `levels` is within it.
pub fn boundary_level_warning(n: usize, f: usize, levels: usize) -> Option<String> {
    let max = dwt_max_level(n, f);
    (levels > max).then(|| {
        format!(
            "level {levels} is above PyWavelets' dwt_max_level {max} for {n} samples and a {f}-tap filter: every \
             coefficient of level{} feels the boundary (computed anyway, as PyWavelets does)",
            if levels == max + 1 { format!(" {levels}") } else { format!("s {} to {levels}", max + 1) }
        )
    })
}

/// The deepest level at which analysis still shrinks the approximation: each
/// level's input must be longer than `f - 1` samples (in periodization: at
/// least 2). Unlike [`dwt_max_level`] this allows boundary-dominated levels
/// (AWD uses J = 4 on 64 samples with db5); beyond it a level no longer
/// decomposes anything.
pub fn max_useful_level(n: usize, f: usize, mode: Mode) -> usize {
    let mut len = n;
    let mut level = 0;
    loop {
        let ok = if mode == Mode::Periodization { len >= 2 } else { len > f - 1 };
        if !ok || level >= 64 {
            return level;
        }
        len = dwt_coeff_len(len, f, mode);
        level += 1;
    }
}

/// Lengths along one axis through `levels` analysis steps: `[n, len_1, ..., len_J]`.
pub fn level_lengths(n: usize, f: usize, mode: Mode, levels: usize) -> Vec<usize> {
    let mut lens = Vec::with_capacity(levels + 1);
    lens.push(n);
    for _ in 0..levels {
        let last = *lens.last().expect("non-empty");
        lens.push(dwt_coeff_len(last, f, mode));
    }
    lens
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pywt_examples() {
        // db5, n = 257 (conformance README)
        assert_eq!(level_lengths(257, 10, Mode::Zero, 4), vec![257, 133, 71, 40, 24]);
        assert_eq!(level_lengths(257, 10, Mode::Periodization, 4), vec![257, 129, 65, 33, 17]);
        assert_eq!(dwt_max_level(16, 10), 0);
        assert_eq!(dwt_max_level(64, 10), 2);
        assert_eq!(dwt_max_level(1 << 20, 10), 16);
        assert_eq!(dwt_max_level(8, 2), 3);
        assert_eq!(idwt_output_len(3, 10, Mode::Zero), None);
        assert_eq!(idwt_output_len(12, 10, Mode::Zero), Some(16));
        // 64 -> 36 -> 22 -> 15 -> 12 -> 10 -> 9: inputs longer than 9 up to level 6
        assert_eq!(max_useful_level(64, 10, Mode::Zero), 6);
        assert_eq!(max_useful_level(64, 10, Mode::Periodization), 6);
        assert_eq!(max_useful_level(5, 10, Mode::Zero), 0);
    }
}
