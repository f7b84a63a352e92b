//! `awd teacher train|predict|grad` and `awd data synthetic`.

use std::path::Path;

use anyhow::{bail, Context, Result};
use awd::io::{read_npy_f64, shape_string, write_npy};
use awd::teachers::{input_gradients, train, Arch, GradMethod, Teacher, TeacherConfig, TrainOptions};
use ndarray::{Array2, ArrayD, Ix2};

use crate::args::{DataSyntheticArgs, TeacherGradArgs, TeacherPredictArgs, TeacherTrainArgs};
use crate::progress::Bar;

/// Inputs as `(n, values)` plus the shape of one input.
pub fn load_inputs(path: &Path, arch: Option<Arch>) -> Result<(Array2<f64>, Vec<usize>)> {
    let a: ArrayD<f64> = read_npy_f64(path)?;
    let shape = a.shape().to_vec();
    let ok = match arch {
        Some(Arch::Cnn) => shape.len() == 3,
        Some(_) => shape.len() == 2,
        None => shape.len() == 2 || shape.len() == 3,
    };
    if !ok || shape[0] == 0 {
        bail!(
            "{}: expected (n, L) inputs for mlp/lstm or (n, H, W) maps for cnn, got shape {}",
            path.display(),
            shape_string(&shape)
        );
    }
    let per: usize = shape[1..].iter().product();
    let x = a.into_shape_with_order((shape[0], per))?.as_standard_layout().into_owned();
    awd::check_finite(x.view()).with_context(|| format!("{}", path.display()))?;
    Ok((x, shape[1..].to_vec()))
}

/// Targets as `(n, k)`.
pub fn load_targets(path: &Path) -> Result<Array2<f64>> {
    let a: ArrayD<f64> = read_npy_f64(path)?;
    let y = match a.ndim() {
        1 => a.insert_axis(ndarray::Axis(1)),
        2 => a,
        _ => bail!("{}: expected targets (n,) or (n, k), got shape {}", path.display(), shape_string(a.shape())),
    };
    Ok(y.into_dimensionality::<Ix2>()?)
}

fn model_err(path: &Path) -> impl Fn(awd::teachers::TeacherError) -> anyhow::Error + '_ {
    move |e| match e {
        awd::teachers::TeacherError::File { .. } => anyhow::anyhow!("{e}"),
        other => anyhow::anyhow!("{}: {other}", path.display()),
    }
}

/// `awd teacher train`.
pub fn train_cmd(a: &TeacherTrainArgs) -> Result<()> {
    let (x, shape) = load_inputs(&a.x, Some(a.arch))?;
    let y = load_targets(&a.y)?;
    if y.nrows() != x.nrows() {
        bail!(
            "{}: y has {} samples but X ({}) has {}; they must match",
            a.y.display(),
            y.nrows(),
            a.x.display(),
            x.nrows()
        );
    }
    awd::check_finite(y.view()).with_context(|| format!("{}", a.y.display()))?;
    let mut cfg = TeacherConfig::new(a.arch, shape, y.ncols());
    if let Some(h) = a.hidden {
        cfg.hidden = h;
    }
    if let Some(b) = a.blocks {
        cfg.blocks = b;
    }
    cfg.stem_stride = a.stem_stride;
    let mut teacher = Teacher::new(cfg, a.seed)?;
    let opts = TrainOptions {
        epochs: a.epochs,
        batch_size: a.batch_size,
        lr: a.lr,
        val_fraction: a.val_fraction,
        patience: a.patience,
        seed: a.seed,
        augment: a.augment,
    };
    let bar = Bar::new(a.epochs as u64, "epochs");
    let report = train(&mut teacher, x.view(), y.view(), &opts, &mut |log| {
        bar.set_message(format!("loss {:.4} val {:.4}", log.train_loss, log.val_loss.unwrap_or(f64::NAN)));
        bar.inc(1);
    })
    .map_err(|e| anyhow::anyhow!("{}: {e}", a.x.display()))?;
    bar.finish();
    teacher.save(&a.output)?;
    let last = report.history.last().expect("at least one epoch");
    super::emit(&format!(
        "teacher: {} epochs (best {}{}), train loss {:.4e}, validation loss {}; wrote {} and {}",
        report.history.len(),
        report.best_epoch,
        if report.stopped_early { ", stopped early" } else { "" },
        last.train_loss,
        last.val_loss.map_or("-".into(), |v| format!("{v:.4e}")),
        a.output.display(),
        Teacher::config_path(&a.output).display()
    ))
}

/// `awd teacher predict`.
pub fn predict_cmd(a: &TeacherPredictArgs) -> Result<()> {
    let teacher = Teacher::load(&a.model).map_err(model_err(&a.model))?;
    let (x, _) = load_inputs(&a.x, None)?;
    let y = teacher.predict(x.view()).map_err(model_err(&a.x))?;
    let y = if y.ncols() == 1 { y.column(0).to_owned().into_dyn() } else { y.into_dyn() };
    write_npy(&a.output, y.view())?;
    Ok(())
}

/// `awd teacher grad`.
pub fn grad_cmd(a: &TeacherGradArgs) -> Result<()> {
    let method = match a.method.as_str() {
        "saliency" => GradMethod::Saliency,
        "integrated-gradients" => GradMethod::IntegratedGradients { steps: a.steps },
        other => bail!("--method {other}: expected saliency or integrated-gradients"),
    };
    let teacher = Teacher::load(&a.model).map_err(model_err(&a.model))?;
    let raw: ArrayD<f64> = read_npy_f64(&a.x)?;
    let shape = raw.shape().to_vec();
    let (x, _) = load_inputs(&a.x, None)?;
    let g = input_gradients(&teacher, x.view(), method, a.output_index).map_err(model_err(&a.x))?;
    write_npy(&a.output, g.into_shape_with_order(shape)?.view())?;
    Ok(())
}

/// `awd data synthetic`.
pub fn synthetic_data_cmd(a: &DataSyntheticArgs) -> Result<()> {
    use awd::data::{synthetic, SyntheticSpec};
    let spec = SyntheticSpec { train: a.train, test: a.test, length: 64, noise: a.noise, seed: a.seed };
    if spec.train == 0 || spec.test == 0 || !(spec.noise.is_finite() && spec.noise >= 0.0) {
        bail!("--train and --test must be at least 1 and --noise >= 0");
    }
    let d = synthetic(&spec)?;
    let dir = &a.output_dir;
    write_npy(&dir.join("x_train.npy"), d.x_train.view().into_dyn())?;
    write_npy(&dir.join("y_train.npy"), d.y_train.view().into_dyn())?;
    write_npy(&dir.join("x_test.npy"), d.x_test.view().into_dyn())?;
    write_npy(&dir.join("y_test.npy"), d.y_test.view().into_dyn())?;
    write_npy(&dir.join("beta.npy"), ndarray::ArrayView1::from(&d.beta).into_dyn())?;
    super::emit(&format!(
        "synthetic data: {} train, {} test samples of 64; wrote {}",
        spec.train,
        spec.test,
        dir.display()
    ))
}
