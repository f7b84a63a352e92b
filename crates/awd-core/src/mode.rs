//! Signal-extension modes, with PyWavelets' names and meanings.
//!
//! For a signal `1 2 3 4` extended by three samples each side:
//!
//! | mode            | left pad   | signal    | right pad  |
//! |-----------------|------------|-----------|------------|
//! | `zero`          | `0 0 0`    | `1 2 3 4` | `0 0 0`    |
//! | `constant`      | `1 1 1`    | `1 2 3 4` | `4 4 4`    |
//! | `symmetric`     | `3 2 1`    | `1 2 3 4` | `4 3 2`    |
//! | `reflect`       | `4 3 2`    | `1 2 3 4` | `3 2 1`    |
//! | `periodic`      | `2 3 4`    | `1 2 3 4` | `1 2 3`    |
//! | `smooth`        | `-2 -1 0`  | `1 2 3 4` | `5 6 7`    |
//! | `antisymmetric` | `-3 -2 -1` | `1 2 3 4` | `-4 -3 -2` |
//!
//! `periodization` is periodic extension with an output of `ceil(n/2)`
//! coefficients per level (odd signals first repeat their last sample), which
//! makes the transform orthogonal for orthogonal filters.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::error::Error;

/// A PyWavelets signal-extension mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// Zero padding.
    Zero,
    /// Edge values repeated.
    Constant,
    /// Half-sample symmetric: the edge sample is repeated in mirror.
    Symmetric,
    /// Whole-sample symmetric: mirrored about the edge sample.
    Reflect,
    /// Periodic continuation.
    Periodic,
    /// Linear continuation from the first derivative at each edge.
    Smooth,
    /// Half-sample antisymmetric: mirrored and negated.
    Antisymmetric,
    /// Periodic with `ceil(n/2)` outputs per level (orthogonal transform).
    Periodization,
}

impl Mode {
    /// Every mode, in PyWavelets' documentation order.
    pub const ALL: [Mode; 8] = [
        Mode::Zero,
        Mode::Constant,
        Mode::Symmetric,
        Mode::Reflect,
        Mode::Periodic,
        Mode::Smooth,
        Mode::Antisymmetric,
        Mode::Periodization,
    ];

    /// The mode names as PyWavelets spells them.
    pub const NAMES: [&'static str; 8] =
        ["zero", "constant", "symmetric", "reflect", "periodic", "smooth", "antisymmetric", "periodization"];

    /// PyWavelets' name of the mode.
    pub fn name(self) -> &'static str {
        Self::NAMES[Self::ALL.iter().position(|m| *m == self).expect("mode in ALL")]
    }
}

impl fmt::Display for Mode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Mode {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self, Error> {
        let lower = s.trim().to_ascii_lowercase();
        let canonical = match lower.as_str() {
            // pywt's aliases
            "zpd" => "zero",
            "cpd" => "constant",
            "sym" => "symmetric",
            "ppd" => "periodic",
            "sp1" => "smooth",
            "per" => "periodization",
            other => other,
        };
        Self::NAMES
            .iter()
            .position(|n| *n == canonical)
            .map(|i| Self::ALL[i])
            .ok_or_else(|| Error::UnknownMode { name: s.to_string() })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for m in Mode::ALL {
            assert_eq!(m.name().parse::<Mode>().unwrap(), m);
        }
        assert_eq!("per".parse::<Mode>().unwrap(), Mode::Periodization);
        assert!(matches!("mirror".parse::<Mode>(), Err(Error::UnknownMode { .. })));
    }
}
