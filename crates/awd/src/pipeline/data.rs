//! The data of a distillation: inputs `X`, targets `y`, the teacher's input
//! gradients `G`, optional groups, an optional validation set (selection on
//! it instead of cross-validation) and an optional test set; checked once,
//! with errors that name the array (or its file) and the value.

use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use awd_core::check_finite;
use awd_core::distill::{Attribution, Geometry, SampleRows};
use awd_core::dwt::Real;
use awd_core::io::{read_npy_f64, read_npy_labels, read_npy_shape, shape_string, MappedNpy};
use awd_teachers::{input_gradients, GradMethod, Teacher};
use ndarray::{Array2, ArrayViewD, Axis, CowArray, Ix2};

use crate::error::{Error, Result};

/// Steps of the integrated-gradients path when an awd teacher computes `G`.
pub const INTEGRATED_GRADIENT_STEPS: usize = 32;

/// Samples as rows `(n, values)` (images flattened row-major): float64 in
/// memory, or a C-order `.npy` file (float64 or float32) mapped into memory,
/// all its rows or a process's share. A mapped file is paged in as it is
/// read and may be dropped again by the OS, so data larger than memory can
/// be used; float32 stays float32 until a chunk is read.
#[derive(Debug, Clone)]
pub struct SampleArray(Store);

#[derive(Debug, Clone)]
enum Store {
    Owned(Array2<f64>),
    Owned32(Array2<f32>),
    Mapped { map: Arc<MappedNpy>, range: Range<usize> },
}

impl From<Array2<f64>> for SampleArray {
    fn from(rows: Array2<f64>) -> Self {
        SampleArray(Store::Owned(rows))
    }
}

impl From<Array2<f32>> for SampleArray {
    fn from(rows: Array2<f32>) -> Self {
        SampleArray(Store::Owned32(rows))
    }
}

impl SampleArray {
    /// Rows held in memory.
    pub fn from_rows(rows: Array2<f64>) -> Self {
        rows.into()
    }

    /// The rows, float64 or float32, without a copy.
    pub fn view(&self) -> SampleRows<'_> {
        match &self.0 {
            Store::Owned(a) => a.view().into(),
            Store::Owned32(a) => a.view().into(),
            Store::Mapped { map, range } => map.rows().expect("C order, checked when mapped").slice_rows(range.clone()),
        }
    }

    /// The rows as float64: borrowed, or widened (a copy) from float32.
    pub fn to_f64(&self) -> CowArray<'_, f64, Ix2> {
        match self.view() {
            SampleRows::F64(v) => CowArray::from(v),
            SampleRows::F32(v) => CowArray::from(v.mapv(f64::from)),
        }
    }

    /// Number of rows (samples).
    pub fn nrows(&self) -> usize {
        self.view().dim().0
    }

    /// Values per row.
    pub fn ncols(&self) -> usize {
        self.view().dim().1
    }

    /// Whether the rows are a mapped file (not held in memory).
    pub fn is_mapped(&self) -> bool {
        matches!(self.0, Store::Mapped { .. })
    }

    /// Map `path` if it is a float64 or float32 C-order `.npy` of `two_d`'s
    /// rank; rows `range` of it (all when `None`), their values checked to
    /// be finite (one pass over those rows). `None` for a file a map cannot
    /// view (Fortran order, another byte order), read the usual way. Also
    /// returns the file's shape.
    pub(super) fn map(path: &Path, two_d: bool, range: Option<Range<usize>>) -> Result<Option<(Self, Vec<usize>)>> {
        let name = path.display().to_string();
        let Some(map) = MappedNpy::open(path)? else { return Ok(None) };
        if map.rows().is_none() {
            return Ok(None);
        }
        let shape = map.shape();
        samples_geometry(&name, &shape, two_d)?;
        let range = range.unwrap_or(0..shape[0]);
        if range.start > range.end || range.end > shape[0] {
            return Err(Error::data(
                name,
                format!("rows {}..{} asked of an array of shape {}", range.start, range.end, shape_string(&shape)),
            ));
        }
        let rows = SampleArray(Store::Mapped { map: Arc::new(map), range });
        rows.view().check_finite().map_err(|e| Error::data(&name, e.to_string()))?;
        Ok(Some((rows, shape)))
    }

    /// Map `path` (see [`SampleArray::map`]), or read it into memory when
    /// a map cannot view it; with the file's shape.
    fn map_or_read(path: &Path, two_d: bool) -> Result<(Self, Vec<usize>)> {
        if let Some(mapped) = Self::map(path, two_d, None)? {
            return Ok(mapped);
        }
        let a = read_npy_f64(path)?;
        let shape = a.shape().to_vec();
        let (_, rows) = samples(&path.display().to_string(), a.view(), two_d)?;
        Ok((SampleArray::from_rows(rows), shape))
    }
}

/// Samples of one part (training or test): rows of `x` (images flattened
/// row-major), targets, gradients and groups.
#[derive(Debug, Clone)]
pub struct Part {
    /// Inputs, one sample per row.
    pub x: SampleArray,
    /// Targets `(n, outputs)`.
    pub y: Array2<f64>,
    /// Teacher input gradients, shaped like `x`.
    pub grad: Option<SampleArray>,
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
        self.len() == 0
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
    /// Validation inputs.
    pub x_val: String,
    /// Validation targets.
    pub y_val: String,
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
            x_val: s("X_val"),
            y_val: s("y_val"),
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
    /// The validation part, if given: each grid point is then scored by a
    /// model fitted on all training samples and scored on these (a holdout)
    /// instead of by cross-validation. It needs no gradients.
    pub validation: Option<Part>,
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
    /// Validation inputs (selection on them instead of cross-validation).
    pub x_val: Option<PathBuf>,
    /// Validation targets.
    pub y_val: Option<PathBuf>,
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
    pub fn new<T: Real>(
        x: ArrayViewD<'_, T>,
        y: ArrayViewD<'_, f64>,
        grad: Option<ArrayViewD<'_, T>>,
        groups: Option<&[i64]>,
        two_d: bool,
    ) -> Result<Self>
    where
        Array2<T>: Into<SampleArray>,
    {
        Self::named(x, y, grad, groups, two_d, Names::default())
    }

    /// [`Data::new`] with the arrays' names for messages.
    pub fn named<T: Real>(
        x: ArrayViewD<'_, T>,
        y: ArrayViewD<'_, f64>,
        grad: Option<ArrayViewD<'_, T>>,
        groups: Option<&[i64]>,
        two_d: bool,
        names: Names,
    ) -> Result<Self>
    where
        Array2<T>: Into<SampleArray>,
    {
        let (geometry, xs) = samples(&names.x, x, two_d)?;
        let grad = owned_grad(&names.grad, &names.x, grad, &geometry, xs.nrows())?;
        let train = part(&names, Role::Train, xs.into(), y, grad, groups)?;
        Ok(Data { geometry, train, validation: None, test: None, names })
    }

    /// Add a test set: inputs of the same signal length (or map size), as
    /// many target columns as the training targets.
    pub fn with_test<T: Real>(
        mut self,
        x: ArrayViewD<'_, T>,
        y: ArrayViewD<'_, f64>,
        grad: Option<ArrayViewD<'_, T>>,
        groups: Option<&[i64]>,
    ) -> Result<Self>
    where
        Array2<T>: Into<SampleArray>,
    {
        let two_d = matches!(self.geometry, Geometry::TwoD { .. });
        let (geometry, xs) = samples(&self.names.x_test, x, two_d)?;
        let grad = owned_grad(&self.names.grad_test, &self.names.x_test, grad, &geometry, xs.nrows())?;
        self.test = Some(self.held_out(Role::Test, &geometry, xs.into(), y, grad, groups)?);
        Ok(self)
    }

    /// Add a validation set (inputs like the training ones, as many target
    /// columns): grid points are then scored on it, by models fitted on all
    /// training samples, instead of by cross-validation.
    pub fn with_validation<T: Real>(mut self, x: ArrayViewD<'_, T>, y: ArrayViewD<'_, f64>) -> Result<Self>
    where
        Array2<T>: Into<SampleArray>,
    {
        let two_d = matches!(self.geometry, Geometry::TwoD { .. });
        let (geometry, xs) = samples(&self.names.x_val, x, two_d)?;
        self.validation = Some(self.held_out(Role::Validation, &geometry, xs.into(), y, None, None)?);
        Ok(self)
    }

    /// A validation or test part (inputs `x` of `geometry`), checked against
    /// the training part: samples of the same size, as many target columns.
    fn held_out(
        &self,
        role: Role,
        geometry: &Geometry,
        x: SampleArray,
        y: ArrayViewD<'_, f64>,
        grad: Option<SampleArray>,
        groups: Option<&[i64]>,
    ) -> Result<Part> {
        let (xn, yn, _) = role.names(&self.names);
        if *geometry != self.geometry {
            return Err(Error::data(
                xn,
                format!(
                    "{} samples are {} but the training samples ({}) are {}; both must have the same size",
                    role.word(),
                    describe(geometry),
                    self.names.x,
                    describe(&self.geometry)
                ),
            ));
        }
        let p = part(&self.names, role, x, y, grad, groups)?;
        if p.y.ncols() != self.train.y.ncols() {
            return Err(Error::data(
                yn,
                format!(
                    "{} target column(s) but the training targets ({}) have {}",
                    p.y.ncols(),
                    self.names.y,
                    self.train.y.ncols()
                ),
            ));
        }
        Ok(p)
    }

    /// Read the arrays of `files` (.npy, float64 or float32; groups as
    /// integers) and check them; errors name the file. Inputs and gradients
    /// in C order are memory-mapped, not read (float32 staying float32).
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
            x_val: display(&files.x_val, "X_val"),
            y_val: display(&files.y_val, "y_val"),
        };
        let two_d = files.two_d;
        let (x, shape) = SampleArray::map_or_read(&files.x, two_d)?;
        let geometry = samples_geometry(&names.x, &shape, two_d)?;
        let y = read_npy_f64(&files.y)?;
        let grad = files.grad.as_deref().map(|g| file_grad(g, &names.x, &geometry, x.nrows())).transpose()?;
        let groups = files.groups.as_ref().map(|p| read_npy_labels(p)).transpose()?;
        let train = part(&names, Role::Train, x, y.view(), grad, groups.as_deref())?;
        let mut data = Data { geometry, train, validation: None, test: None, names };
        match (&files.x_val, &files.y_val) {
            (Some(xv), Some(yv)) => {
                let (x, shape) = SampleArray::map_or_read(xv, two_d)?;
                let geometry = samples_geometry(&data.names.x_val, &shape, two_d)?;
                let y = read_npy_f64(yv)?;
                data.validation = Some(data.held_out(Role::Validation, &geometry, x, y.view(), None, None)?);
            }
            (None, None) => {}
            _ => {
                return Err(Error::data(
                    "validation set",
                    "give both the validation inputs and targets (--x-val and --y-val), or neither",
                ))
            }
        }
        match (&files.x_test, &files.y_test) {
            (Some(xt), Some(yt)) => {
                let (x, shape) = SampleArray::map_or_read(xt, two_d)?;
                let geometry = samples_geometry(&data.names.x_test, &shape, two_d)?;
                let y = read_npy_f64(yt)?;
                let grad = files
                    .grad_test
                    .as_deref()
                    .map(|g| file_grad(g, &data.names.x_test, &geometry, x.nrows()))
                    .transpose()?;
                let groups = files.groups_test.as_ref().map(|p| read_npy_labels(p)).transpose()?;
                data.test = Some(data.held_out(Role::Test, &geometry, x, y.view(), grad, groups.as_deref())?);
                Ok(data)
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
        let grads = |x: &SampleArray| -> Result<SampleArray> {
            Ok(SampleArray::from_rows(input_gradients(teacher, x.to_f64().view(), method, 0)?))
        };
        self.train.grad = Some(grads(&self.train.x)?);
        if let Some(t) = self.test.as_mut() {
            t.grad = Some(grads(&t.x)?);
        }
        Ok(self)
    }

    /// Values per sample (`L`, or `H * W`).
    pub fn sample_len(&self) -> usize {
        self.train.x.ncols()
    }
}

/// `(n, L)` or `(n, H, W)` as rows, with the geometry.
pub(super) fn samples<T: Real>(name: &str, x: ArrayViewD<'_, T>, two_d: bool) -> Result<(Geometry, Array2<T>)> {
    let geometry = samples_check(name, x.view(), two_d)?;
    let shape = x.shape();
    let flat: usize = shape[1..].iter().product();
    let rows = x.as_standard_layout().into_owned().into_shape_with_order((shape[0], flat)).expect("sizes agree");
    Ok((geometry, rows))
}

/// Check inputs as [`samples`] does (rank, emptiness, finiteness), without
/// copying them; their geometry.
fn samples_check<T: Real>(name: &str, x: ArrayViewD<'_, T>, two_d: bool) -> Result<Geometry> {
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

/// Which part of the data an array belongs to (for its names in messages).
#[derive(Debug, Clone, Copy)]
enum Role {
    Train,
    Validation,
    Test,
}

impl Role {
    /// The names of this part's inputs, targets and groups (a validation
    /// part has none).
    fn names(self, n: &Names) -> (&str, &str, &str) {
        match self {
            Role::Train => (&n.x, &n.y, &n.groups),
            Role::Validation => (&n.x_val, &n.y_val, "validation groups"),
            Role::Test => (&n.x_test, &n.y_test, &n.groups_test),
        }
    }

    fn word(self) -> &'static str {
        match self {
            Role::Train => "training",
            Role::Validation => "validation",
            Role::Test => "test",
        }
    }
}

/// Check targets and groups against the inputs of one part (gradients are
/// checked by the caller, [`owned_grad`] or [`file_grad`]).
fn part(
    names: &Names,
    role: Role,
    x: SampleArray,
    y: ArrayViewD<'_, f64>,
    grad: Option<SampleArray>,
    groups: Option<&[i64]>,
) -> Result<Part> {
    let (xn, yn, grn) = role.names(names);
    let n = x.nrows();
    let y2 = targets((yn, xn), y, n)?;
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

/// Refuse gradients of shape `g_shape` (named `g_name`) not shaped like the
/// inputs (named `x_name`, of shape `x_shape`).
pub(super) fn check_grad_shape(g_name: &str, g_shape: &[usize], x_name: &str, x_shape: &[usize]) -> Result<()> {
    if g_shape == x_shape {
        return Ok(());
    }
    Err(Error::data(
        g_name,
        format!(
            "gradients have shape {} but {x_name} has {}; G must be shaped like X",
            shape_string(g_shape),
            shape_string(x_shape)
        ),
    ))
}

/// The shape of `n` inputs of `geometry`.
fn shape_of(geometry: &Geometry, n: usize) -> Vec<usize> {
    match geometry {
        Geometry::OneD { n: l } => vec![n, *l],
        Geometry::TwoD { rows, cols } => vec![n, *rows, *cols],
    }
}

/// Gradients given as an array, checked and copied into rows (of their
/// own type).
fn owned_grad<T: Real>(
    gn: &str,
    xn: &str,
    grad: Option<ArrayViewD<'_, T>>,
    geometry: &Geometry,
    n: usize,
) -> Result<Option<SampleArray>>
where
    Array2<T>: Into<SampleArray>,
{
    let Some(g) = grad else { return Ok(None) };
    check_grad_shape(gn, g.shape(), xn, &shape_of(geometry, n))?;
    let two_d = matches!(geometry, Geometry::TwoD { .. });
    Ok(Some(samples(gn, g, two_d)?.1.into()))
}

/// Gradients in a file, their shape checked from the header first, then
/// mapped (or read).
fn file_grad(path: &Path, xn: &str, geometry: &Geometry, n: usize) -> Result<SampleArray> {
    let gn = path.display().to_string();
    check_grad_shape(&gn, &read_npy_shape(path)?, xn, &shape_of(geometry, n))?;
    Ok(SampleArray::map_or_read(path, matches!(geometry, Geometry::TwoD { .. }))?.0)
}
