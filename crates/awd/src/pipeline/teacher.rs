//! Teachers from arrays: shape checks and training shared by `awd teacher`
//! and Python's `awd.Teacher`.

use ndarray::{Array2, ArrayViewD};

use super::data::{samples, targets};

use crate::io::shape_string;
use crate::teachers::{
    input_gradients, train_cancellable, Arch, EpochLog, GradMethod, Teacher, TeacherConfig, TeacherError, TrainOptions,
};
use crate::{Error, Result};

/// What to build and how to train it.
#[derive(Debug, Clone, PartialEq)]
pub struct TeacherSpec {
    /// The network.
    pub arch: Arch,
    /// Hidden width (`None`: the architecture's default).
    pub hidden: Option<usize>,
    /// CNN residual blocks (`None`: the default).
    pub blocks: Option<usize>,
    /// Stride of the CNN's first convolution.
    pub stem_stride: usize,
    /// Epochs, batch size, learning rate, validation split, seed.
    pub options: TrainOptions,
}

impl TeacherSpec {
    /// The defaults for `arch`.
    pub fn new(arch: Arch) -> Self {
        TeacherSpec { arch, hidden: None, blocks: None, stem_stride: 1, options: TrainOptions::default() }
    }
}

/// Inputs as `(n, values)` plus the shape of one input: `(n, L)` for MLP and
/// LSTM, `(n, H, W)` for the CNN (either when `arch` is `None`).
pub fn teacher_inputs(name: &str, x: ArrayViewD<'_, f64>, arch: Option<Arch>) -> Result<(Array2<f64>, Vec<usize>)> {
    let ok = match arch {
        Some(Arch::Cnn) => x.ndim() == 3,
        Some(_) => x.ndim() == 2,
        None => x.ndim() == 2 || x.ndim() == 3,
    };
    if !ok {
        return Err(Error::data(
            name,
            format!(
                "expected (n, L) inputs for mlp, lstm or cnn1d, or (n, H, W) maps for cnn, got shape {}",
                shape_string(x.shape())
            ),
        ));
    }
    let shape = x.shape()[1..].to_vec();
    let (_, rows) = samples(name, x.view(), shape.len() == 2)?;
    Ok((rows, shape))
}

/// Build and train a teacher on `x` and `y` (`names` label them in
/// messages); `on_epoch` sees each epoch's losses; `cancelled`, polled
/// between mini-batches, abandons training when it returns `true`.
pub fn train_teacher(
    spec: &TeacherSpec,
    x: ArrayViewD<'_, f64>,
    y: ArrayViewD<'_, f64>,
    names: (&str, &str),
    on_epoch: &mut dyn FnMut(&EpochLog),
    cancelled: &dyn Fn() -> bool,
) -> Result<(Teacher, crate::teachers::TrainReport)> {
    let (x, shape) = teacher_inputs(names.0, x, Some(spec.arch))?;
    let rows = y.shape().first().copied().unwrap_or(0);
    if y.ndim() > 0 && rows != x.nrows() {
        return Err(Error::data(
            names.1,
            format!("y has {rows} samples but X ({}) has {}; they must match", names.0, x.nrows()),
        ));
    }
    let y = targets((names.1, names.0), y, x.nrows())?;
    let mut cfg = TeacherConfig::new(spec.arch, shape, y.ncols());
    if let Some(h) = spec.hidden {
        cfg.hidden = h;
    }
    if let Some(b) = spec.blocks {
        cfg.blocks = b;
    }
    cfg.stem_stride = spec.stem_stride;
    let mut teacher = Teacher::new(cfg, spec.options.seed)?;
    let report = match train_cancellable(&mut teacher, x.view(), y.view(), &spec.options, on_epoch, cancelled) {
        Ok(r) => r,
        Err(e @ TeacherError::Cancelled { .. }) => return Err(e.into()),
        Err(e) => return Err(Error::data(names.0, e.to_string())),
    };
    Ok((teacher, report))
}

/// The teacher's predictions `(n, outputs)` for inputs shaped like its
/// training inputs.
pub fn teacher_predict(teacher: &Teacher, name: &str, x: ArrayViewD<'_, f64>) -> Result<Array2<f64>> {
    let (x, _) = teacher_inputs(name, x, None)?;
    teacher.predict(x.view()).map_err(|e| Error::data(name, e.to_string()))
}

/// The mean prediction `(n, outputs)` of an ensemble of teachers (one
/// member: its prediction). `names` name the members in errors; members
/// whose outputs differ in number are refused.
pub fn ensemble_predict(
    members: &[Teacher],
    names: &[String],
    input_name: &str,
    x: ArrayViewD<'_, f64>,
) -> Result<Array2<f64>> {
    let Some(first) = members.first() else {
        return Err(Error::Input("an ensemble needs at least one teacher".into()));
    };
    let mut sum = teacher_predict(first, input_name, x.view())?;
    for (k, m) in members.iter().enumerate().skip(1) {
        let p = teacher_predict(m, input_name, x.view())?;
        if p.dim() != sum.dim() {
            let name = |i: usize| names.get(i).cloned().unwrap_or_else(|| format!("member {i}"));
            return Err(Error::data(
                name(k),
                format!(
                    "{} outputs where {} has {}; an ensemble's members predict the same outputs",
                    p.ncols(),
                    name(0),
                    sum.ncols()
                ),
            ));
        }
        sum += &p;
    }
    Ok(sum / members.len() as f64)
}

/// Input gradients of output `output`, shaped like `x`.
pub fn teacher_gradients(
    teacher: &Teacher,
    name: &str,
    x: ArrayViewD<'_, f64>,
    method: GradMethod,
    output: usize,
) -> Result<ndarray::ArrayD<f64>> {
    let shape = x.shape().to_vec();
    let (rows, _) = teacher_inputs(name, x, None)?;
    let g = input_gradients(teacher, rows.view(), method, output).map_err(|e| Error::data(name, e.to_string()))?;
    Ok(g.into_shape_with_order(shape).expect("sizes agree"))
}
