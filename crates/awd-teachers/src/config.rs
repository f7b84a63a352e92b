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
}

impl std::str::FromStr for Arch {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "mlp" => Ok(Arch::Mlp),
            "lstm" => Ok(Arch::Lstm),
            "cnn" => Ok(Arch::Cnn),
            other => Err(format!("unknown architecture '{other}'; expected mlp, lstm or cnn")),
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
    /// Residual blocks (CNN only).
    #[serde(default)]
    pub blocks: usize,
    /// Stride of the CNN's first convolution (2 halves the resolution the
    /// blocks work at: four times less compute on large maps).
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
    /// hidden, LSTM 40, CNN 16 channels with 4 blocks.
    pub fn new(arch: Arch, input_shape: Vec<usize>, outputs: usize) -> Self {
        let (hidden, blocks) = match arch {
            Arch::Mlp => (32, 0),
            Arch::Lstm => (40, 0),
            Arch::Cnn => (16, 4),
        };
        TeacherConfig { arch, input_shape, outputs, hidden, blocks, stem_stride: 1, target_scale: Vec::new() }
    }

    /// A lower bound of the network's parameter count (its weight matrices,
    /// biases left out), without building it: `None` if it overflows.
    pub fn min_parameters(&self) -> Option<u128> {
        let h = self.hidden as u128;
        let o = self.outputs as u128;
        let input = self.input_shape.iter().try_fold(1u128, |acc, &d| acc.checked_mul(d as u128))?;
        let head = h.checked_mul(o)?;
        let body = match self.arch {
            Arch::Mlp => input.checked_mul(h)?.checked_add(h.checked_mul(h)?)?,
            Arch::Lstm => h.checked_mul(4)?.checked_mul(h.checked_add(1)?)?,
            Arch::Cnn => {
                let block = h.checked_mul(h)?.checked_mul(18)?;
                h.checked_mul(9)?.checked_add(block.checked_mul(self.blocks as u128)?)?
            }
        };
        body.checked_add(head)
    }

    /// Values per input.
    pub fn input_len(&self) -> usize {
        self.input_shape.iter().product()
    }
}
