//! `awd teacher train|predict|grad` and `awd data synthetic`.

use std::path::Path;

use anyhow::{bail, Result};
use awd::io::{read_npy_f64, write_npy};
use awd::pipeline::{teacher_gradients, teacher_predict, train_teacher, TeacherSpec};
use awd::teachers::{GradMethod, Teacher, TrainOptions};

use crate::args::{DataSyntheticArgs, TeacherGradArgs, TeacherPredictArgs, TeacherTrainArgs};
use crate::progress::Bar;

/// `awd teacher train`.
pub fn train_cmd(a: &TeacherTrainArgs) -> Result<()> {
    let x = read_npy_f64(&a.x)?;
    let y = read_npy_f64(&a.y)?;
    let spec = TeacherSpec {
        arch: a.arch,
        hidden: a.hidden,
        blocks: a.blocks,
        stem_stride: a.stem_stride,
        options: TrainOptions {
            epochs: a.epochs,
            batch_size: a.batch_size,
            lr: a.lr,
            val_fraction: a.val_fraction,
            patience: a.patience,
            seed: a.seed,
            augment: a.augment,
        },
    };
    let bar = Bar::new(a.epochs as u64, "epochs");
    let names = (a.x.display().to_string(), a.y.display().to_string());
    let (teacher, report) = train_teacher(
        &spec,
        x.view(),
        y.view(),
        (&names.0, &names.1),
        &mut |log| {
            bar.set_message(format!("loss {:.4} val {:.4}", log.train_loss, log.val_loss.unwrap_or(f64::NAN)));
            bar.inc(1);
        },
        &|| false,
    )?;
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

/// Load a teacher, naming the file in any error.
pub(crate) fn load_teacher(path: &Path) -> Result<Teacher> {
    Teacher::load(path).map_err(|e| match e {
        awd::teachers::TeacherError::File { .. } => anyhow::anyhow!("{e}"),
        other => anyhow::anyhow!("{}: {other}", path.display()),
    })
}

/// `awd teacher predict`.
pub fn predict_cmd(a: &TeacherPredictArgs) -> Result<()> {
    let teacher = load_teacher(&a.model)?;
    let x = read_npy_f64(&a.x)?;
    let y = teacher_predict(&teacher, &a.x.display().to_string(), x.view())?;
    let y = if y.ncols() == 1 { y.column(0).to_owned().into_dyn() } else { y.into_dyn() };
    write_npy(&a.output, y.view())?;
    eprintln!("awd: teacher predict: {} predictions of {}; wrote {}", y.shape()[0], a.x.display(), a.output.display());
    Ok(())
}

/// `awd teacher grad`.
pub fn grad_cmd(a: &TeacherGradArgs) -> Result<()> {
    let method = match a.method.as_str() {
        "saliency" => GradMethod::Saliency,
        "integrated-gradients" => GradMethod::IntegratedGradients { steps: a.steps },
        other => bail!("--method {other}: expected saliency or integrated-gradients"),
    };
    let teacher = load_teacher(&a.model)?;
    let x = read_npy_f64(&a.x)?;
    let g = teacher_gradients(&teacher, &a.x.display().to_string(), x.view(), method, a.output_index)?;
    write_npy(&a.output, g.view())?;
    eprintln!(
        "awd: teacher grad: input gradients ({}) of {} samples; wrote {}",
        a.method,
        g.shape()[0],
        a.output.display()
    );
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
