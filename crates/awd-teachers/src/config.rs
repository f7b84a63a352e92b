//! The architecture of a teacher, saved as JSON beside its weights.

use serde::{Deserialize, Serialize};

/// Which network.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Arch {
    /// Three fully connected layers with ReLU (input -> hidden -> hidden -> outputs).
    Mlp,
    /// One LSTM layer over the signal (one feature per step) and a linear head
    /// on the last hidden state.
    Lstm,
    /// A small residual CNN over 2-D maps: stem, residual blocks (the second
    /// half downsampling), global average pooling, linear head.
    Cnn,
    /// A small residual 1-D CNN over signals: stem convolution, residual
    /// blocks (the second half downsampling), and a linear head on the
    /// flattened feature maps (so it keeps where in the signal a feature is).
    Cnn1d,
}

impl std::str::FromStr for Arch {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "mlp" => Ok(Arch::Mlp),
            "lstm" => Ok(Arch::Lstm),
            "cnn" => Ok(Arch::Cnn),
            "cnn1d" => Ok(Arch::Cnn1d),
            other => Err(format!("unknown architecture '{other}'; expected mlp, lstm, cnn or cnn1d")),
        }
    }
}

/// Everything needed to rebuild a teacher before loading its weights.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TeacherConfig {
    /// The network.
    pub arch: Arch,
    /// Shape of one input: `[L]` for signals, `[H, W]` for maps.
    pub input_shape: Vec<usize>,
    /// Number of outputs.
    pub outputs: usize,
    /// Hidden width (MLP layers, LSTM state, CNN channels).
    pub hidden: usize,
    /// Residual blocks (CNNs only).
    #[serde(default)]
    pub blocks: usize,
    /// Stride of the CNN's first convolution (2 halves the resolution the
    /// blocks work at: four times less compute on large maps, two on signals).
    #[serde(default = "one")]
    pub stem_stride: usize,
    /// Per-output mean and standard deviation of the training targets: the
    /// network predicts standardised targets and `predict` undoes it.
    #[serde(default)]
    pub target_scale: Vec<(f64, f64)>,
}

fn one() -> usize {
    1
}

impl TeacherConfig {
    /// The defaults of the paper for an architecture and input shape: MLP 32
    /// hidden, LSTM 40, CNN 16 channels with 4 blocks; the 1-D CNN 16
    /// channels with 2 blocks.
    pub fn new(arch: Arch, input_shape: Vec<usize>, outputs: usize) -> Self {
        let (hidden, blocks) = match arch {
            Arch::Mlp => (32, 0),
            Arch::Lstm => (40, 0),
            Arch::Cnn => (16, 4),
            Arch::Cnn1d => (16, 2),
        };
        TeacherConfig { arch, input_shape, outputs, hidden, blocks, stem_stride: 1, target_scale: Vec::new() }
    }

    /// A lower bound of the network's parameter count (its weight matrices,
    /// biases left out), without building it: `None` if it overflows.
    pub fn min_parameters(&self) -> Option<u128> {
        let h = self.hidden as u128;
        let o = self.outputs as u128;
        let input = self.input_shape.iter().try_fold(1u128, |acc, &d| acc.checked_mul(d as u128))?;
        let head = match self.arch {
            Arch::Cnn1d => h.checked_mul(self.cnn1d_positions(input))?.checked_mul(o)?,
            _ => h.checked_mul(o)?,
        };
        let body = match self.arch {
            Arch::Mlp => input.checked_mul(h)?.checked_add(h.checked_mul(h)?)?,
            Arch::Lstm => h.checked_mul(4)?.checked_mul(h.checked_add(1)?)?,
            Arch::Cnn => {
                let block = h.checked_mul(h)?.checked_mul(18)?;
                h.checked_mul(9)?.checked_add(block.checked_mul(self.blocks as u128)?)?
            }
            Arch::Cnn1d => {
                let block = h.checked_mul(h)?.checked_mul(2 * CNN1D_KERNEL as u128)?;
                h.checked_mul(CNN1D_STEM_KERNEL as u128)?.checked_add(block.checked_mul(self.blocks as u128)?)?
            }
        };
        body.checked_add(head)
    }

    /// Values per input.
    pub fn input_len(&self) -> usize {
        self.input_shape.iter().product()
    }

    /// The index of the 1-D CNN's downsampling block, if it has one.
    pub(crate) fn cnn1d_downsampling_block(&self) -> Option<usize> {
        (self.blocks > 1).then_some(self.blocks / 2)
    }

    /// Positions left after the 1-D CNN's strided convolutions (what its
    /// head sees per channel).
    pub(crate) fn cnn1d_out_len(&self) -> usize {
        self.cnn1d_positions(self.input_len() as u128) as usize
    }

    /// [`Self::cnn1d_out_len`] for an input of `len` values, in `u128` so
    /// that a hostile config's sizes cannot overflow it.
    fn cnn1d_positions(&self, len: u128) -> u128 {
        let strided = |len: u128, stride: u128| len.saturating_sub(1) / stride.max(1) + 1;
        let after_stem = strided(len, self.stem_stride as u128);
        match self.cnn1d_downsampling_block() {
            Some(_) => strided(after_stem, 2),
            None => after_stem,
        }
    }
}

/// Taps of the 1-D CNN's first convolution.
pub(crate) const CNN1D_STEM_KERNEL: usize = 5;
/// Taps of the 1-D CNN's block convolutions.
pub(crate) const CNN1D_KERNEL: usize = 3;
