//! The data of a distillation: inputs `X`, targets `y`, the teacher's input
//! gradients `G`, optional groups, and an optional test set; checked once,
//! with errors that name the array (or its file) and the value.

use std::path::PathBuf;

use awd_core::check_finite;
use awd_core::distill::{Attribution, Geometry};
use awd_core::io::{read_npy_f64, read_npy_labels, shape_string};
use awd_teachers::{input_gradients, GradMethod, Teacher};
use ndarray::{Array2, ArrayViewD, Axis};

use crate::error::{Error, Result};

/// Steps of the integrated-gradients path when an awd teacher computes `G`.
pub const INTEGRATED_GRADIENT_STEPS: usize = 32;

/// Samples of one part (training or test): rows of `x` (images flattened
/// row-major), targets, gradients and groups.
#[derive(Debug, Clone)]
pub struct Part {
    /// Inputs, one sample per row.
    pub x: Array2<f64>,
    /// Targets `(n, outputs)`.
    pub y: Array2<f64>,
    /// Teacher input gradients, shaped like `x`.
    pub grad: Option<Array2<f64>>,
    /// Group of each sample (cell, patient, simulation).
    pub groups: Option<Vec<i64>>,
}

impl Part {
    /// Number of samples.
    pub fn len(&self) -> usize {
        self.x.nrows()
    }
    /// Whether there are no samples (never for a checked part).
    pub fn is_empty(&self) -> bool {
        self.x.nrows() == 0
    }
}

/// What each array is called in error messages: "X", "y" … for arrays
/// given in memory, the file names for arrays read from files.
#[derive(Debug, Clone)]
pub struct Names {
    /// Training inputs.
    pub x: String,
    /// Training targets.
    pub y: String,
    /// Training gradients.
    pub grad: String,
    /// Training groups.
    pub groups: String,
    /// Test inputs.
    pub x_test: String,
    /// Test targets.
    pub y_test: String,
    /// Test gradients.
    pub grad_test: String,
    /// Test groups.
    pub groups_test: String,
}

impl Default for Names {
    fn default() -> Self {
        let s = |v: &str| v.to_string();
        Names {
            x: s("X"),
            y: s("y"),
            grad: s("G"),
            groups: s("groups"),
            x_test: s("X_test"),
            y_test: s("y_test"),
            grad_test: s("G_test"),
            groups_test: s("groups_test"),
        }
    }
}

/// Training data (and optionally a test set) for [`crate::pipeline::distill`].
#[derive(Debug, Clone)]
pub struct Data {
    /// Signals or images.
    pub geometry: Geometry,
    /// The training part.
    pub train: Part,
    /// The test part, if given.
    pub test: Option<Part>,
    /// Names of the arrays, for messages.
    pub names: Names,
}

/// The files of a distillation (what `awd distill` takes).
#[derive(Debug, Clone, Default)]
pub struct DataFiles {
    /// Inputs .npy `(n, L)` or `(n, H, W)`.
    pub x: PathBuf,
    /// Targets .npy `(n,)` or `(n, k)`.
    pub y: PathBuf,
    /// Teacher input gradients .npy, shaped like `x`.
    pub grad: Option<PathBuf>,
    /// Groups .npy `(n,)` of integers.
    pub groups: Option<PathBuf>,
    /// Test inputs.
    pub x_test: Option<PathBuf>,
    /// Test targets.
    pub y_test: Option<PathBuf>,
    /// Test gradients.
    pub grad_test: Option<PathBuf>,
    /// Test groups.
    pub groups_test: Option<PathBuf>,
    /// Images: `x` is `(n, H, W)`.
    pub two_d: bool,
}

fn display(p: &Option<PathBuf>, default: &str) -> String {
    p.as_ref().map_or(default.to_string(), |p| p.display().to_string())
}

impl Data {
    /// Check and hold training data: `x` is `(n, L)` signals (or `(n, H, W)`
    /// images with `two_d`), `y` is `(n,)` or `(n, k)`, `grad` is shaped like
    /// `x`, `groups` has one label per sample. Any memory layout and strides.
    pub fn new(
        x: ArrayViewD<'_, f64>,
        y: ArrayViewD<'_, f64>,
        grad: Option<ArrayViewD<'_, f64>>,
        groups: Option<&[i64]>,
        two_d: bool,
    ) -> Result<Self> {
        Self::named(x, y, grad, groups, two_d, Names::default())
    }

    /// [`Data::new`] with the arrays' names for messages.
    pub fn named(
        x: ArrayViewD<'_, f64>,
        y: ArrayViewD<'_, f64>,
        grad: Option<ArrayViewD<'_, f64>>,
        groups: Option<&[i64]>,
        two_d: bool,
        names: Names,
    ) -> Result<Self> {
        let (geometry, xs) = samples(&names.x, x, two_d)?;
        let train = part(&names, false, &geometry, xs, y, grad, groups)?;
        Ok(Data { geometry, train, test: None, names })
    }

    /// Add a test set: inputs of the same signal length (or map size), as
    /// many target columns as the training targets.
    pub fn with_test(
        mut self,
        x: ArrayViewD<'_, f64>,
        y: ArrayViewD<'_, f64>,
        grad: Option<ArrayViewD<'_, f64>>,
        groups: Option<&[i64]>,
    ) -> Result<Self> {
        let two_d = matches!(self.geometry, Geometry::TwoD { .. });
        let (geometry, xs) = samples(&self.names.x_test, x, two_d)?;
        if geometry != self.geometry {
            return Err(Error::data(
                &self.names.x_test,
                format!(
                    "test samples are {} but the training samples ({}) are {}; both must have the same size",
                    describe(&geometry),
                    self.names.x,
                    describe(&self.geometry)
                ),
            ));
        }
        let test = part(&self.names, true, &geometry, xs, y, grad, groups)?;
        if test.y.ncols() != self.train.y.ncols() {
            return Err(Error::data(
                &self.names.y_test,
                format!(
                    "{} target column(s) but the training targets ({}) have {}",
                    test.y.ncols(),
                    self.names.y,
                    self.train.y.ncols()
                ),
            ));
        }
        self.test = Some(test);
        Ok(self)
    }

    /// Read the arrays of `files` (.npy, float64 or float32; groups as
    /// integers) and check them; errors name the file.
    pub fn load(files: &DataFiles) -> Result<Self> {
        let names = Names {
            x: files.x.display().to_string(),
            y: files.y.display().to_string(),
            grad: display(&files.grad, "G"),
            groups: display(&files.groups, "groups"),
            x_test: display(&files.x_test, "X_test"),
            y_test: display(&files.y_test, "y_test"),
            grad_test: display(&files.grad_test, "G_test"),
            groups_test: display(&files.groups_test, "groups_test"),
        };
        let x = read_npy_f64(&files.x)?;
        let y = read_npy_f64(&files.y)?;
        let grad = files.grad.as_ref().map(|p| read_npy_f64(p)).transpose()?;
        let groups = files.groups.as_ref().map(|p| read_npy_labels(p)).transpose()?;
        let data =
            Self::named(x.view(), y.view(), grad.as_ref().map(|g| g.view()), groups.as_deref(), files.two_d, names)?;
        match (&files.x_test, &files.y_test) {
            (Some(xt), Some(yt)) => {
                let xt = read_npy_f64(xt)?;
                let yt = read_npy_f64(yt)?;
                let gt = files.grad_test.as_ref().map(|p| read_npy_f64(p)).transpose()?;
                let grt = files.groups_test.as_ref().map(|p| read_npy_labels(p)).transpose()?;
                data.with_test(xt.view(), yt.view(), gt.as_ref().map(|g| g.view()), grt.as_deref())
            }
            (None, None) if files.grad_test.is_none() && files.groups_test.is_none() => Ok(data),
            _ => Err(Error::data(
                "test set",
                "give both the test inputs and the test targets (--x-test and --y-test), or neither",
            )),
        }
    }

    /// Compute `G` (training and test) from an awd teacher: the saliency for
    /// the saliency and input-x-gradient attributions, the path-averaged
    /// gradient (baseline 0) for integrated gradients. Gradients already
    /// given are replaced.
    pub fn with_teacher_gradients(mut self, teacher: &Teacher, attribution: Attribution) -> Result<Self> {
        let method = match attribution {
            Attribution::IntegratedGradients => GradMethod::IntegratedGradients { steps: INTEGRATED_GRADIENT_STEPS },
            _ => GradMethod::Saliency,
        };
        self.train.grad = Some(input_gradients(teacher, self.train.x.view(), method, 0)?);
        if let Some(t) = self.test.as_mut() {
            t.grad = Some(input_gradients(teacher, t.x.view(), method, 0)?);
        }
        Ok(self)
    }

    /// Values per sample (`L`, or `H * W`).
    pub fn sample_len(&self) -> usize {
        self.train.x.ncols()
    }
}

/// `(n, L)` or `(n, H, W)` as rows, with the geometry.
pub(super) fn samples(name: &str, x: ArrayViewD<'_, f64>, two_d: bool) -> Result<(Geometry, Array2<f64>)> {
    let geometry = samples_check(name, x.view(), two_d)?;
    let shape = x.shape();
    let flat: usize = shape[1..].iter().product();
    let rows = x.as_standard_layout().into_owned().into_shape_with_order((shape[0], flat)).expect("sizes agree");
    Ok((geometry, rows))
}

/// Check inputs as [`samples`] does (rank, emptiness, finiteness), without
/// copying them; their geometry.
pub(super) fn samples_check(name: &str, x: ArrayViewD<'_, f64>, two_d: bool) -> Result<Geometry> {
    let geometry = samples_geometry(name, x.shape(), two_d)?;
    check_finite(x.view()).map_err(|e| Error::data(name, e.to_string()))?;
    Ok(geometry)
}

/// The geometry of inputs of shape `shape`: an error for the wrong rank or
/// an empty array.
pub(super) fn samples_geometry(name: &str, shape: &[usize], two_d: bool) -> Result<Geometry> {
    let geometry = match (two_d, shape.len()) {
        (false, 2) => Geometry::OneD { n: shape[1] },
        (true, 3) => Geometry::TwoD { rows: shape[1], cols: shape[2] },
        (false, _) => {
            return Err(Error::data(
                name,
                format!(
                    "expected signals (n, L), got shape {}; for images (n, H, W) ask for 2-D (--2d)",
                    shape_string(shape)
                ),
            ))
        }
        (true, _) => {
            return Err(Error::data(
                name,
                format!("expected images (n, H, W) for 2-D, got shape {}", shape_string(shape)),
            ))
        }
    };
    if shape[0] == 0 || shape[1..].contains(&0) {
        return Err(Error::data(name, format!("holds no data (shape {})", shape_string(shape))));
    }
    Ok(geometry)
}

fn describe(g: &Geometry) -> String {
    match g {
        Geometry::OneD { n } => format!("signals of {n} samples"),
        Geometry::TwoD { rows, cols } => format!("maps of {rows}x{cols}"),
    }
}

/// Targets `(n,)` or `(n, k)` of `n` samples as `(n, k)`, finite; `names`
/// are the targets' and the inputs' for messages.
pub(super) fn targets(names: (&str, &str), y: ArrayViewD<'_, f64>, n: usize) -> Result<Array2<f64>> {
    let (yn, xn) = names;
    let y2 = match y.ndim() {
        1 => y.insert_axis(Axis(1)),
        2 => y,
        _ => {
            return Err(Error::data(
                yn,
                format!("expected targets (n,) or (n, k), got shape {}", shape_string(y.shape())),
            ))
        }
    };
    if y2.shape()[0] != n {
        return Err(Error::data(
            yn,
            format!("{} targets but {xn} holds {n} samples; give one target (row) per sample", y2.shape()[0]),
        ));
    }
    if y2.shape()[1] == 0 {
        return Err(Error::data(yn, "has no target columns"));
    }
    check_finite(y2.view()).map_err(|e| Error::data(yn, format!("{e}; drop or impute the sample's target")))?;
    Ok(y2.into_dimensionality::<ndarray::Ix2>().expect("rank 2").to_owned())
}

/// Check targets, gradients and groups against the inputs of one part.
fn part(
    names: &Names,
    test: bool,
    geometry: &Geometry,
    x: Array2<f64>,
    y: ArrayViewD<'_, f64>,
    grad: Option<ArrayViewD<'_, f64>>,
    groups: Option<&[i64]>,
) -> Result<Part> {
    let (xn, yn, gn, grn) = if test {
        (&names.x_test, &names.y_test, &names.grad_test, &names.groups_test)
    } else {
        (&names.x, &names.y, &names.grad, &names.groups)
    };
    let n = x.nrows();
    let y2 = targets((yn, xn), y, n)?;
    let grad = match grad {
        Some(g) => {
            let two_d = matches!(geometry, Geometry::TwoD { .. });
            let want: Vec<usize> = match geometry {
                Geometry::OneD { n: l } => vec![n, *l],
                Geometry::TwoD { rows, cols } => vec![n, *rows, *cols],
            };
            if g.shape() != want.as_slice() {
                return Err(Error::data(
                    gn,
                    format!(
                        "gradients have shape {} but {xn} has {}; G must be shaped like X",
                        shape_string(g.shape()),
                        shape_string(&want)
                    ),
                ));
            }
            Some(samples(gn, g, two_d)?.1)
        }
        None => None,
    };
    if let Some(gr) = groups {
        if gr.len() != n {
            return Err(Error::data(
                grn,
                format!("{} group labels but {xn} holds {n} samples; give one per sample", gr.len()),
            ));
        }
    }
    Ok(Part { x, y: y2, grad, groups: groups.map(<[i64]>::to_vec) })
}
