//! The networks, their seeded initialisation, and safetensors I/O.

use std::path::{Path, PathBuf};

use candle_core::{DType, Device, Module, Tensor, Var};
use candle_nn::rnn::{lstm, LSTMConfig, LSTM, RNN};
use candle_nn::{conv1d, conv2d, linear, Conv1d, Conv1dConfig, Conv2dConfig, Linear, VarBuilder, VarMap};
use ndarray::{Array2, ArrayView2};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use awd_core::io::{write_json_atomic, IoError, TempPath};

use crate::cnn2d::{Cnn2d, Conv};
use crate::config::{Arch, TeacherConfig, CNN1D_KERNEL, CNN1D_STEM_KERNEL};
use crate::error::{Result, TeacherError};

/// Samples per forward pass when predicting or differentiating.
pub(crate) const EVAL_BATCH: usize = 1024;

/// Maps per backward pass of the 2-D CNN: small enough that its buffers stay
/// in cache (2,048 maps of 64 x 64: 15 s in batches of 128, 27 s in batches
/// of 1,024).
const CNN_GRAD_BATCH: usize = 128;

/// A residual block: conv-ReLU-conv plus a skip (1x1 stride-2 conv when the
/// block downsamples); `C` is a 2-D or a 1-D convolution.
pub(crate) struct Block<C> {
    pub(crate) conv1: C,
    pub(crate) conv2: C,
    pub(crate) down: Option<C>,
}

/// A block's input and the pre-activations its backward pass needs.
pub(crate) struct BlockTape {
    pub(crate) input: Tensor,
    pub(crate) hidden_pre: Tensor,
    pub(crate) out_pre: Tensor,
}

impl<C: Module> Block<C> {
    /// `relu(conv2(relu(conv1(z))) + skip(z))`.
    fn forward(&self, z: &Tensor) -> candle_core::Result<Tensor> {
        self.forward_taped(z, None)
    }

    /// [`Block::forward`], pushing the block's [`BlockTape`] onto `tape`
    /// when one is given.
    pub(crate) fn forward_taped(&self, z: &Tensor, tape: Option<&mut Vec<BlockTape>>) -> candle_core::Result<Tensor> {
        let hidden_pre = self.conv1.forward(z)?;
        let y = self.conv2.forward(&hidden_pre.relu()?)?;
        let skip = match &self.down {
            Some(d) => d.forward(z)?,
            None => z.clone(),
        };
        let out_pre = (y + skip)?;
        let out = out_pre.relu()?;
        if let Some(tape) = tape {
            tape.push(BlockTape { input: z.clone(), hidden_pre, out_pre });
        }
        Ok(out)
    }
}

enum Net {
    Mlp { fc1: Linear, fc2: Linear, fc3: Linear },
    Lstm { lstm: LSTM, head: Linear },
    Cnn(Cnn2d),
    Cnn1d { stem: Conv1d, blocks: Vec<Block<Conv1d>>, head: Linear },
}

/// A teacher network with its weights.
pub struct Teacher {
    /// The architecture.
    pub config: TeacherConfig,
    pub(crate) varmap: VarMap,
    net: Net,
    pub(crate) device: Device,
}

fn build(cfg: &TeacherConfig, vb: VarBuilder) -> Result<Net> {
    let h = cfg.hidden;
    Ok(match cfg.arch {
        Arch::Mlp => Net::Mlp {
            fc1: linear(cfg.input_len(), h, vb.pp("fc1"))?,
            fc2: linear(h, h, vb.pp("fc2"))?,
            fc3: linear(h, cfg.outputs, vb.pp("fc3"))?,
        },
        Arch::Lstm => Net::Lstm {
            lstm: lstm(1, h, LSTMConfig::default(), vb.pp("lstm"))?,
            head: linear(h, cfg.outputs, vb.pp("head"))?,
        },
        Arch::Cnn => {
            let same = Conv2dConfig { padding: 1, ..Default::default() };
            let mut blocks = Vec::new();
            for k in 0..cfg.blocks {
                let downsample = k == cfg.blocks / 2 && cfg.blocks > 1;
                let first = Conv2dConfig { padding: 1, stride: if downsample { 2 } else { 1 }, ..Default::default() };
                let p = vb.pp(format!("block{k}"));
                blocks.push(Block {
                    conv1: Conv(conv2d(h, h, 3, first, p.pp("conv1"))?),
                    conv2: Conv(conv2d(h, h, 3, same, p.pp("conv2"))?),
                    down: if downsample {
                        Some(Conv(conv2d(h, h, 1, Conv2dConfig { stride: 2, ..Default::default() }, p.pp("down"))?))
                    } else {
                        None
                    },
                });
            }
            Net::Cnn(Cnn2d {
                stem: Conv(conv2d(
                    1,
                    h,
                    3,
                    Conv2dConfig { padding: 1, stride: cfg.stem_stride.max(1), ..Default::default() },
                    vb.pp("stem"),
                )?),
                blocks,
                head: linear(h, cfg.outputs, vb.pp("head"))?,
            })
        }
        Arch::Cnn1d => {
            let padded = |k: usize, stride: usize| Conv1dConfig { padding: k / 2, stride, ..Default::default() };
            let mut blocks = Vec::new();
            for k in 0..cfg.blocks {
                let downsample = cfg.cnn1d_downsampling_block() == Some(k);
                let p = vb.pp(format!("block{k}"));
                blocks.push(Block {
                    conv1: conv1d(
                        h,
                        h,
                        CNN1D_KERNEL,
                        padded(CNN1D_KERNEL, if downsample { 2 } else { 1 }),
                        p.pp("conv1"),
                    )?,
                    conv2: conv1d(h, h, CNN1D_KERNEL, padded(CNN1D_KERNEL, 1), p.pp("conv2"))?,
                    down: if downsample { Some(conv1d(h, h, 1, padded(1, 2), p.pp("down"))?) } else { None },
                });
            }
            Net::Cnn1d {
                stem: conv1d(
                    1,
                    h,
                    CNN1D_STEM_KERNEL,
                    padded(CNN1D_STEM_KERNEL, cfg.stem_stride.max(1)),
                    vb.pp("stem"),
                )?,
                blocks,
                head: linear(h * cfg.cnn1d_out_len(), cfg.outputs, vb.pp("head"))?,
            }
        }
    })
}

impl Teacher {
    /// A new network with weights drawn from a generator seeded with `seed`
    /// (PyTorch's default ranges: uniform within `1/sqrt(fan_in)`; LSTM
    /// weights within `1/sqrt(hidden)`).
    pub fn new(config: TeacherConfig, seed: u64) -> Result<Self> {
        let device = Device::Cpu;
        let varmap = VarMap::new();
        let vb = VarBuilder::from_varmap(&varmap, DType::F32, &device);
        let net = build(&config, vb)?;
        let t = Teacher { config, varmap, net, device };
        t.seeded_init(seed)?;
        Ok(t)
    }

    fn seeded_init(&self, seed: u64) -> Result<()> {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let data = self.varmap.data().lock().expect("varmap lock");
        let mut names: Vec<&String> = data.keys().collect();
        names.sort();
        let fan_in = |name: &str| -> usize {
            let wname = name.replace("bias", "weight");
            let dims = data.get(&wname).map(|v| v.as_tensor().dims().to_vec()).unwrap_or_default();
            dims.iter().skip(1).product::<usize>().max(1)
        };
        for name in names {
            let var = &data[name];
            let bound = if name.starts_with("lstm") {
                1.0 / (self.config.hidden as f64).sqrt()
            } else {
                1.0 / (fan_in(name) as f64).sqrt()
            };
            let n = var.as_tensor().elem_count();
            let values: Vec<f32> = (0..n).map(|_| ((rng.random::<f64>() * 2.0 - 1.0) * bound) as f32).collect();
            var.set(&Tensor::from_vec(values, var.as_tensor().shape(), &self.device)?)?;
        }
        Ok(())
    }

    /// Raw network output (standardised targets) for a batch `(n, input_len)`.
    pub(crate) fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let n = x.dim(0)?;
        Ok(match &self.net {
            Net::Mlp { fc1, fc2, fc3 } => fc3.forward(&fc2.forward(&fc1.forward(x)?.relu()?)?.relu()?)?,
            Net::Lstm { lstm, head } => {
                let seq = x.reshape((n, self.config.input_len(), 1))?;
                let states = lstm.seq(&seq)?;
                let last = states.last().ok_or_else(|| TeacherError::Data("empty sequence".into()))?;
                head.forward(last.h())?
            }
            Net::Cnn(cnn) => cnn.forward(&self.maps(x)?)?,
            Net::Cnn1d { stem, blocks, head } => {
                let mut z = stem.forward(&x.reshape((n, 1, self.config.input_len()))?)?.relu()?;
                for b in blocks {
                    z = b.forward(&z)?;
                }
                head.forward(&z.flatten_from(1)?)?
            }
        })
    }

    /// `d f_output / d x` (raw network units) for a batch `x` `(n,
    /// input_len)`: the hand-written pass for the 2-D CNN, candle's
    /// autograd for the other networks.
    pub(crate) fn input_gradient(&self, x: &Tensor, output: usize) -> Result<Tensor> {
        match &self.net {
            Net::Cnn(cnn) => Ok(cnn.input_gradient(&self.maps(x)?, output)?.reshape(x.dims2()?)?),
            _ => self.autograd_input_gradient(x, output),
        }
    }

    /// Samples per batch of [`Teacher::input_gradient`]: the 2-D CNN's
    /// backward pass is fastest on small batches.
    pub(crate) fn gradient_batch(&self) -> usize {
        match &self.net {
            Net::Cnn(_) => CNN_GRAD_BATCH,
            _ => EVAL_BATCH,
        }
    }

    /// Rows `(n, H * W)` as maps `(n, 1, H, W)` for the 2-D CNN.
    fn maps(&self, x: &Tensor) -> Result<Tensor> {
        Ok(x.reshape((x.dim(0)?, 1, self.config.input_shape[0], self.config.input_shape[1]))?)
    }

    /// `d f_output / d x` by candle's autograd (every network).
    pub(crate) fn autograd_input_gradient(&self, x: &Tensor, output: usize) -> Result<Tensor> {
        let var = Var::from_tensor(x)?;
        let y = self.forward(var.as_tensor())?;
        let mut grads = y.narrow(1, output, 1)?.sum_all()?.backward()?;
        grads.remove(var.as_tensor()).ok_or_else(|| TeacherError::Data("the network gave no input gradient".into()))
    }

    /// Check that `x` has one input of the model's size per row.
    pub(crate) fn check_input(&self, cols: usize) -> Result<()> {
        if cols != self.config.input_len() {
            return Err(TeacherError::Data(format!(
                "the model takes inputs of shape {:?} ({} values) but X has {cols} values per sample",
                self.config.input_shape,
                self.config.input_len()
            )));
        }
        Ok(())
    }

    /// A batch of rows as an f32 tensor.
    pub(crate) fn tensor(&self, x: ArrayView2<'_, f64>) -> Result<Tensor> {
        let v: Vec<f32> = x.iter().map(|&v| v as f32).collect();
        Ok(Tensor::from_vec(v, (x.nrows(), x.ncols()), &self.device)?)
    }

    /// Per-output `(mean, std)` of the targets (identity when unset).
    pub(crate) fn scale(&self, k: usize) -> (f64, f64) {
        self.config.target_scale.get(k).copied().unwrap_or((0.0, 1.0))
    }

    /// Predictions `(n, outputs)` for inputs `(n, input_len)`, in batches.
    pub fn predict(&self, x: ArrayView2<'_, f64>) -> Result<Array2<f64>> {
        self.check_input(x.ncols())?;
        let mut out = Array2::zeros((x.nrows(), self.config.outputs));
        for start in (0..x.nrows()).step_by(EVAL_BATCH) {
            let end = (start + EVAL_BATCH).min(x.nrows());
            let y = self.forward(&self.tensor(x.slice(ndarray::s![start..end, ..]))?)?;
            let rows: Vec<Vec<f32>> = y.to_dtype(DType::F32)?.to_vec2()?;
            for (i, r) in rows.iter().enumerate() {
                for (k, &v) in r.iter().enumerate() {
                    let (m, s) = self.scale(k);
                    out[[start + i, k]] = v as f64 * s + m;
                }
            }
        }
        Ok(out)
    }

    /// The config file beside a weights file: `T.safetensors` -> `T.json`.
    pub fn config_path(weights: &Path) -> PathBuf {
        weights.with_extension("json")
    }

    /// Save the weights (safetensors) and the architecture (JSON beside
    /// them), each written to a temporary file and renamed.
    pub fn save(&self, path: &Path) -> Result<()> {
        let file_err = |p: &Path, e: String| TeacherError::File { path: p.to_path_buf(), reason: e };
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent).map_err(|e| file_err(path, format!("cannot create folder: {e}")))?;
        }
        let tmp = TempPath::beside(path);
        self.varmap.save(tmp.path()).map_err(|e| file_err(path, format!("cannot write: {e}")))?;
        tmp.persist().map_err(|e| file_err(path, without_path(e)))?;
        let cfg_path = Self::config_path(path);
        write_json_atomic(&cfg_path, &self.config).map_err(|e| file_err(&cfg_path, without_path(e)))
    }

    /// Load a teacher saved by [`Teacher::save`].
    pub fn load(path: &Path) -> Result<Self> {
        let cfg_path = Self::config_path(path);
        let text = awd_core::io::read_json_text(&cfg_path).map_err(|e| TeacherError::File {
            path: cfg_path.clone(),
            reason: match e {
                IoError::Read { source, .. } => {
                    format!("cannot read the architecture file that belongs beside the weights ({source})")
                }
                other => without_path(other),
            },
        })?;
        let config: TeacherConfig = serde_json::from_str(&text).map_err(|e| TeacherError::File {
            path: cfg_path.clone(),
            reason: format!("not a teacher config ({e})"),
        })?;
        let weights_len = match std::fs::metadata(path) {
            Ok(m) => m.len(),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(TeacherError::File { path: path.to_path_buf(), reason: "no such weights file".into() })
            }
            Err(e) => {
                return Err(TeacherError::File { path: path.to_path_buf(), reason: format!("cannot read ({e})") })
            }
        };
        // the config decides what is allocated: check it against the weights
        // before building anything (a hostile or mistyped config is an error)
        if config.hidden == 0 || config.outputs == 0 || config.input_shape.is_empty() || config.input_shape.contains(&0)
        {
            return Err(TeacherError::File {
                path: cfg_path.clone(),
                reason: format!(
                    "hidden {}, outputs {}, input shape {:?}: each must be at least 1",
                    config.hidden, config.outputs, config.input_shape
                ),
            });
        }
        let bytes_needed = config.min_parameters().map(|p| p.saturating_mul(F32_BYTES));
        if bytes_needed.is_none_or(|b| b > u128::from(weights_len)) {
            return Err(TeacherError::File {
                path: path.to_path_buf(),
                reason: format!(
                    "not valid weights for the network {} describes: it needs at least {} bytes of float32 weights, \
                     the file holds {weights_len}; the config and the weights do not belong together",
                    cfg_path.display(),
                    bytes_needed.map_or_else(|| "2^128".to_string(), |b| b.to_string()),
                ),
            });
        }
        let mut t = Teacher::new(config, 0)?;
        t.varmap.load(path).map_err(|e| TeacherError::File {
            path: path.to_path_buf(),
            reason: format!("not valid safetensors weights for this architecture ({e})"),
        })?;
        Ok(t)
    }
}

/// Bytes of one float32 weight.
const F32_BYTES: u128 = 4;

/// The reason of a file error, without the path (which the caller names).
fn without_path(e: IoError) -> String {
    match e {
        IoError::Read { source, .. } => format!("cannot read: {source}"),
        IoError::Write { source, .. } => format!("cannot write: {source}"),
        IoError::Format { reason, .. } => reason,
        other => other.to_string(),
    }
}
