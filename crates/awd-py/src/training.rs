//! `fit`, `sweep`, `distill`, models and teachers: arguments converted into
//! the library's configs, the library called on a helper thread (see
//! [`crate::run`]), results converted back.

use std::path::PathBuf;

use awd::distill::{Attribution, Progress, Shard, ValidityWeights};
use awd::interp::FeatureSign;
use awd::ndarray::ArrayViewD;
use awd::peaks::Estimator;
use awd::pipeline::{
    self, teacher_gradients, teacher_predict, train_teacher, Data, DistillConfig, Distilled, FitConfig, GammaScale,
    ModelSpec, Names, PreparedFit, Samples, TeacherSpec,
};
use awd::teachers::{Arch, GradMethod, Teacher, TrainOptions};
use awd::{Mode, SavedModel};
use numpy::{IntoPyArray, PyReadonlyArray1};
use pyo3::prelude::*;
use pyo3::types::PyTuple;

use crate::arrays::{to_numpy, vec_to_numpy, Floats};
use crate::errors::{core_to_py, to_py, value_error};
use crate::run::{run_interruptible, PyProgress};
use crate::wavelets::{extract_wavelet, to_python, PyLearnedWavelet};

fn parse_mode(mode: &str) -> PyResult<Mode> {
    mode.parse().map_err(core_to_py)
}

fn parse_attribution(a: &str) -> PyResult<Attribution> {
    a.parse().map_err(value_error)
}

/// Whether X holds signals `(n, L)` or maps `(n, H, W)`.
fn is_maps(x: &Floats<'_>, name: &str) -> PyResult<bool> {
    let shape = x.view64().shape().to_vec();
    match shape.len() {
        2 => Ok(false),
        3 => Ok(true),
        _ => Err(value_error(format!("{name} has shape {shape:?}; expected signals (n, L) or maps (n, H, W)"))),
    }
}

/// The fit settings of a Python call (the initial wavelet given as a name,
/// a JSON path or a wavelet object).
#[allow(clippy::too_many_arguments)]
fn fit_config(
    wavelet: Option<&Bound<'_, PyAny>>,
    levels: usize,
    mode: &str,
    attribution: &str,
    lam: f64,
    gamma: f64,
    epochs: usize,
    batch_size: usize,
    lr: f64,
    seed: u64,
    init_factor: f64,
    noise_factor: f64,
) -> PyResult<FitConfig> {
    let (label, lowpass) = match wavelet {
        None => (FitConfig::default().wavelet, None),
        Some(w) => match w.extract::<String>() {
            Ok(spec) => (spec, None),
            Err(_) => {
                let w = extract_wavelet(w)?;
                (w.name.clone(), Some(w.rec_lo))
            }
        },
    };
    Ok(FitConfig {
        wavelet: label,
        lowpass,
        init_factor,
        noise_factor,
        levels,
        mode: parse_mode(mode)?,
        attribution: parse_attribution(attribution)?,
        lambda: lam,
        gamma,
        epochs,
        batch_size,
        lr,
        seed,
        validity: ValidityWeights::default(),
    })
}

/// Float32 views of X and its gradients when both are float32 (or no
/// gradients are given): data kept as float32; `None` otherwise.
#[allow(clippy::type_complexity)]
fn float32_pair<'a>(
    x: &'a Floats<'_>,
    grad: Option<&'a Floats<'_>>,
) -> Option<(ArrayViewD<'a, f32>, Option<ArrayViewD<'a, f32>>)> {
    let grad32 = match grad {
        None => None,
        Some(g) => Some(g.view32()?),
    };
    Some((x.view32()?, grad32))
}

/// The samples of a fit: float32 X and gradients are kept as float32 (half
/// the memory; the fit equals that of their float64 values), anything else
/// as float64.
fn samples(x: &Floats<'_>, grad: Option<&Floats<'_>>) -> PyResult<Samples> {
    let maps = is_maps(x, "X")?;
    let names = ("X", "grad");
    if let Some((x32, g32)) = float32_pair(x, grad) {
        return Samples::new(x32, g32, maps, names).map_err(to_py);
    }
    let xv = x.view64();
    let gv = grad.map(|g| g.view64());
    Samples::new(xv.view(), gv.as_ref().map(|g| g.view()), maps, names).map_err(to_py)
}

/// Learn a wavelet from X (and the teacher's input gradients).
#[pyfunction]
#[pyo3(signature = (x, grad = None, *, wavelet = None, levels = 4, mode = "zero", lam = 0.0, gamma = 0.0,
    epochs = 50, batch_size = 100, lr = 0.001, seed = 0, attribution = "saliency", init_factor = 1.0,
    noise_factor = 0.0, callback = None, name = "awd"))]
#[allow(clippy::too_many_arguments)]
pub fn fit(
    py: Python<'_>,
    x: Floats<'_>,
    grad: Option<Floats<'_>>,
    wavelet: Option<&Bound<'_, PyAny>>,
    levels: usize,
    mode: &str,
    lam: f64,
    gamma: f64,
    epochs: usize,
    batch_size: usize,
    lr: f64,
    seed: u64,
    attribution: &str,
    init_factor: f64,
    noise_factor: f64,
    callback: Option<Py<PyAny>>,
    name: &str,
) -> PyResult<PyLearnedWavelet> {
    let cfg = fit_config(
        wavelet,
        levels,
        mode,
        attribution,
        lam,
        gamma,
        epochs,
        batch_size,
        lr,
        seed,
        init_factor,
        noise_factor,
    )?;
    let s = samples(&x, grad.as_ref())?;
    let prepared = PreparedFit::new(&cfg, &s).map_err(to_py)?;
    for w in prepared.warnings() {
        let text = std::ffi::CString::new(w).expect("no NUL");
        PyErr::warn(py, &py.get_type::<pyo3::exceptions::PyUserWarning>(), &text, 2)?;
    }
    let progress = PyProgress::new(callback);
    let lw = run_interruptible(py, &progress, || prepared.fit(name, &progress))?.map_err(to_py)?;
    if let Some(w) = PreparedFit::learned_warning(&lw.validity) {
        let text = std::ffi::CString::new(w).expect("no NUL");
        PyErr::warn(py, &py.get_type::<pyo3::exceptions::PyUserWarning>(), &text, 2)?;
    }
    Ok(PyLearnedWavelet { inner: lw })
}

/// Run (or resume) a lambda x gamma sweep into `output_dir`.
#[pyfunction]
#[pyo3(signature = (x, grad = None, *, output_dir, lams, gammas, wavelet = None, levels = 4, mode = "zero",
    epochs = 50, batch_size = 100, lr = 0.001, seed = 0, attribution = "saliency", init_factor = 1.0,
    noise_factor = 0.0, shard = None, callback = None))]
#[allow(clippy::too_many_arguments)]
pub fn sweep<'py>(
    py: Python<'py>,
    x: Floats<'py>,
    grad: Option<Floats<'py>>,
    output_dir: PathBuf,
    lams: Vec<f64>,
    gammas: Vec<f64>,
    wavelet: Option<&Bound<'py, PyAny>>,
    levels: usize,
    mode: &str,
    epochs: usize,
    batch_size: usize,
    lr: f64,
    seed: u64,
    attribution: &str,
    init_factor: f64,
    noise_factor: f64,
    shard: Option<&str>,
    callback: Option<Py<PyAny>>,
) -> PyResult<Bound<'py, PyAny>> {
    let shard = shard.map(|k| k.parse::<Shard>()).transpose().map_err(core_to_py)?;
    let cfg = fit_config(
        wavelet,
        levels,
        mode,
        attribution,
        0.0,
        0.0,
        epochs,
        batch_size,
        lr,
        seed,
        init_factor,
        noise_factor,
    )?;
    let s = samples(&x, grad.as_ref())?;
    let progress = PyProgress::new(callback);
    let points = match shard {
        None => run_interruptible(py, &progress, || pipeline::sweep(&cfg, &lams, &gammas, &s, &output_dir, &progress))?
            .map_err(to_py)?,
        Some(shard) => {
            let prepared = pipeline::PreparedFit::new(&cfg, &s).map_err(to_py)?;
            let run = run_interruptible(py, &progress, || {
                prepared.sweep_shard(&lams, &gammas, &output_dir, shard, &progress)
            })?
            .map_err(to_py)?;
            run.points
        }
    };
    to_python(py, &points)
}

/// An interpretable model (top-k + linear for signals, peak counting for
/// maps), as written by `awd distill`.
#[pyclass(name = "Model", module = "awd", frozen)]
#[derive(Clone)]
pub struct PyModel {
    inner: SavedModel,
}

#[pymethods]
impl PyModel {
    /// One prediction per signal `(n, L)` or map `(n, H, W)` (or one input).
    fn predict<'py>(&self, py: Python<'py>, x: Floats<'py>) -> PyResult<Bound<'py, PyAny>> {
        let xv = x.view64();
        let view = xv.view();
        let y = py.detach(|| self.inner.predict(view)).map_err(to_py)?;
        Ok(y.into_pyarray(py).into_any())
    }
    /// `"topk"` or `"peaks"`.
    #[getter]
    fn kind(&self) -> &'static str {
        match self.inner {
            SavedModel::TopK(_) => "topk",
            SavedModel::Peaks(_) => "peaks",
        }
    }
    /// The lowpass the model's wavelet is built on (None for a fixed filter).
    #[getter]
    fn lowpass<'py>(&self, py: Python<'py>) -> Option<Bound<'py, PyAny>> {
        self.inner.lowpass().map(|h| vec_to_numpy(py, h.to_vec()))
    }
    /// Everything in the model file, as a dict.
    fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        to_python(py, &self.inner)
    }
    /// Write the model file (atomically).
    fn save(&self, path: PathBuf) -> PyResult<()> {
        self.inner.save(&path).map_err(to_py)
    }
    fn __repr__(&self) -> String {
        format!("awd.Model(kind='{}')", self.kind())
    }
}

/// Read a model file written by `awd distill`, an experiment or `Model.save`.
#[pyfunction]
pub fn load_model(path: PathBuf) -> PyResult<PyModel> {
    Ok(PyModel { inner: SavedModel::load(&path).map_err(to_py)? })
}

/// The result of `awd.distill`.
#[pyclass(name = "Distilled", module = "awd", frozen)]
pub struct PyDistilled {
    inner: Distilled,
}

#[pymethods]
impl PyDistilled {
    /// The interpretable model on the selected learned wavelet.
    #[getter]
    fn model(&self) -> PyModel {
        PyModel { inner: self.inner.model.clone() }
    }
    /// The same model on the initial wavelet.
    #[getter]
    fn baseline(&self) -> PyModel {
        PyModel { inner: self.inner.baseline.clone() }
    }
    /// Each seed's model, in the order of `seeds`.
    #[getter]
    fn seed_models(&self) -> Vec<PyModel> {
        self.inner.seed_models.iter().map(|m| PyModel { inner: m.clone() }).collect()
    }
    /// The learned lowpass of the selected point.
    #[getter]
    fn lowpass<'py>(&self, py: Python<'py>) -> Option<Bound<'py, PyAny>> {
        self.inner.model.lowpass().map(|h| vec_to_numpy(py, h.to_vec()))
    }
    /// The initial lowpass (without noise).
    #[getter]
    fn initial_lowpass<'py>(&self, py: Python<'py>) -> Bound<'py, PyAny> {
        vec_to_numpy(py, self.inner.initial_lowpass.clone())
    }
    /// Everything measured: the dict written to results.json.
    #[getter]
    fn results<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        to_python(py, &self.inner.results)
    }
    /// `(model, baseline)` predictions on the test set, or None.
    #[getter]
    fn test_predictions<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyTuple>>> {
        match &self.inner.test_predictions {
            None => Ok(None),
            Some((a, b)) => Ok(Some(PyTuple::new(py, [vec_to_numpy(py, a.clone()), vec_to_numpy(py, b.clone())])?)),
        }
    }
    /// Write models/, results.json, report.md (and test predictions) into `dir`.
    fn save(&self, dir: PathBuf) -> PyResult<()> {
        self.inner.save(&dir).map_err(to_py)
    }
    fn __repr__(&self) -> String {
        let r = &self.inner.results;
        format!(
            "awd.Distilled(lambda={:.3e}, gamma={:.3e}, cv {} awd={:.4} baseline={:.4})",
            r.selected.lambda, r.selected.gamma, r.metric, r.cv.awd, r.cv.baseline
        )
    }
}

fn labels(a: Option<PyReadonlyArray1<'_, i64>>) -> Option<Vec<i64>> {
    a.map(|g| g.as_array().to_vec())
}

/// Distill: sweep, selection (cross-validated, or on `x_val`/`y_val`), the
/// interpretable model and its evaluation against the initial wavelet.
#[pyfunction]
#[pyo3(signature = (x, y, grad = None, *, groups = None, x_val = None, y_val = None, x_test = None, y_test = None, grad_test = None,
    groups_test = None, teacher = None, wavelet = "db5", levels = None, mode = "zero", attribution = "saliency",
    lams = None, gammas = None, gamma_scale = "absolute", epochs = 20, batch_size = 100, lr = 0.001, seeds = vec![0],
    noise_factor = 0.0,
    model = None, k = 6, feature_sign = "pos", ridge_alpha = 0.0, bins = vec![22], target = 0, estimator = "nearest",
    folds = 5, cv_seed = 0, one_standard_error = false, max_validity = None, bootstrap = 10000, work_dir = None, callback = None))]
#[allow(clippy::too_many_arguments)]
pub fn distill(
    py: Python<'_>,
    x: Floats<'_>,
    y: Floats<'_>,
    grad: Option<Floats<'_>>,
    groups: Option<PyReadonlyArray1<'_, i64>>,
    x_val: Option<Floats<'_>>,
    y_val: Option<Floats<'_>>,
    x_test: Option<Floats<'_>>,
    y_test: Option<Floats<'_>>,
    grad_test: Option<Floats<'_>>,
    groups_test: Option<PyReadonlyArray1<'_, i64>>,
    teacher: Option<PyRef<'_, PyTeacher>>,
    wavelet: &str,
    levels: Option<usize>,
    mode: &str,
    attribution: &str,
    lams: Option<Vec<f64>>,
    gammas: Option<Vec<f64>>,
    gamma_scale: &str,
    epochs: usize,
    batch_size: usize,
    lr: f64,
    seeds: Vec<u64>,
    noise_factor: f64,
    model: Option<&str>,
    k: usize,
    feature_sign: &str,
    ridge_alpha: f64,
    bins: Vec<usize>,
    target: usize,
    estimator: &str,
    folds: usize,
    cv_seed: u64,
    one_standard_error: bool,
    max_validity: Option<f64>,
    bootstrap: usize,
    work_dir: Option<PathBuf>,
    callback: Option<Py<PyAny>>,
) -> PyResult<PyDistilled> {
    let maps = is_maps(&x, "X")?;
    let base = if maps { DistillConfig::maps() } else { DistillConfig::default() };
    let spec = match model.unwrap_or(if maps { "peaks" } else { "topk" }) {
        "topk" => ModelSpec::TopK { k, sign: feature_sign.parse::<FeatureSign>().map_err(value_error)?, ridge_alpha },
        "peaks" => ModelSpec::Peaks { bins, target, estimator: estimator.parse::<Estimator>().map_err(value_error)? },
        other => return Err(value_error(format!("model '{other}' is unknown; expected 'topk' or 'peaks'"))),
    };
    let cfg = DistillConfig {
        wavelet: wavelet.to_string(),
        levels: levels.unwrap_or(base.levels),
        mode: parse_mode(mode)?,
        attribution: parse_attribution(attribution)?,
        lambdas: lams,
        gammas,
        gamma_scale: gamma_scale.parse::<GammaScale>().map_err(value_error)?,
        epochs,
        batch_size,
        lr,
        seeds,
        noise_factor,
        model: spec,
        folds,
        cv_seed,
        one_standard_error,
        max_validity,
        bootstrap,
        work_dir,
        ..base
    };
    // float32 X and gradients (as PyTorch hands them over) stay float32
    let yv = y.view64();
    let groups = labels(groups);
    let names = Names { grad: "grad".into(), grad_test: "grad_test".into(), ..Names::default() };
    let mut data = match float32_pair(&x, grad.as_ref()) {
        Some((x32, g32)) => Data::named(x32, yv.view(), g32, groups.as_deref(), maps, names),
        None => {
            let (xv, gv) = (x.view64(), grad.as_ref().map(|g| g.view64()));
            Data::named(xv.view(), yv.view(), gv.as_ref().map(|g| g.view()), groups.as_deref(), maps, names)
        }
    }
    .map_err(to_py)?;
    match (&x_val, &y_val) {
        (Some(xv), Some(yv)) => {
            let (xvv, yvv) = (xv.view64(), yv.view64());
            data = data.with_validation(xvv.view(), yvv.view()).map_err(to_py)?;
        }
        (None, None) => {}
        _ => return Err(value_error("give both x_val and y_val, or neither")),
    }
    match (&x_test, &y_test) {
        (Some(xt), Some(yt)) => {
            let ytv = yt.view64();
            let gt = labels(groups_test);
            data = match float32_pair(xt, grad_test.as_ref()) {
                Some((x32, g32)) => data.with_test(x32, ytv.view(), g32, gt.as_deref()),
                None => {
                    let (xtv, gtv) = (xt.view64(), grad_test.as_ref().map(|g| g.view64()));
                    data.with_test(xtv.view(), ytv.view(), gtv.as_ref().map(|g| g.view()), gt.as_deref())
                }
            }
            .map_err(to_py)?;
        }
        (None, None) => {}
        _ => return Err(value_error("give both x_test and y_test, or neither")),
    }
    let progress = PyProgress::new(callback);
    let teacher = teacher.as_ref().map(|t| &t.inner);
    if teacher.is_none() && data.train.grad.is_none() {
        return Err(value_error(
            "give the teacher's input gradients (grad=..., e.g. from torch.autograd.grad) or an awd teacher (teacher=...)",
        ));
    }
    let out = run_interruptible(py, &progress, || {
        let data = match teacher {
            Some(t) => data.with_teacher_gradients(t, cfg.attribution)?,
            None => data,
        };
        pipeline::distill(&cfg, &data, &progress)
    })?
    .map_err(to_py)?;
    Ok(PyDistilled { inner: out })
}

/// A teacher network trained by awd (MLP, LSTM or CNN on candle).
#[pyclass(name = "Teacher", module = "awd", frozen)]
pub struct PyTeacher {
    inner: Teacher,
    history: Option<serde_json::Value>,
}

#[pymethods]
impl PyTeacher {
    /// Train a teacher: `arch` is "mlp", "lstm" (signals `(n, L)`) or "cnn"
    /// (maps `(n, H, W)`); `y` is `(n,)` or `(n, k)`.
    #[staticmethod]
    #[pyo3(signature = (arch, x, y, *, hidden = None, blocks = None, stem_stride = 1, epochs = 20, batch_size = 100,
        lr = 0.01, val_fraction = 0.1, patience = 5, seed = 0, augment = false, callback = None))]
    #[allow(clippy::too_many_arguments)]
    fn train(
        py: Python<'_>,
        arch: &str,
        x: Floats<'_>,
        y: Floats<'_>,
        hidden: Option<usize>,
        blocks: Option<usize>,
        stem_stride: usize,
        epochs: usize,
        batch_size: usize,
        lr: f64,
        val_fraction: f64,
        patience: usize,
        seed: u64,
        augment: bool,
        callback: Option<Py<PyAny>>,
    ) -> PyResult<Self> {
        let arch: Arch = arch.parse().map_err(value_error)?;
        let spec = TeacherSpec {
            arch,
            hidden,
            blocks,
            stem_stride,
            options: TrainOptions { epochs, batch_size, lr, val_fraction, patience, seed, augment },
        };
        let (xv, yv) = (x.view64(), y.view64());
        let (xv, yv) = (xv.view(), yv.view());
        let progress = PyProgress::new(callback);
        let (teacher, report) = run_interruptible(py, &progress, || {
            train_teacher(
                &spec,
                xv,
                yv,
                ("X", "y"),
                &mut |log| {
                    progress.notify(log);
                },
                &|| progress.cancelled(),
            )
        })?
        .map_err(to_py)?;
        Ok(PyTeacher { inner: teacher, history: serde_json::to_value(&report).ok() })
    }

    /// Load weights saved by `Teacher.save` or `awd teacher train`.
    #[staticmethod]
    fn load(path: PathBuf) -> PyResult<Self> {
        Ok(PyTeacher { inner: Teacher::load(&path).map_err(|e| to_py(e.into()))?, history: None })
    }

    /// Save the weights (safetensors) and the config beside them.
    fn save(&self, path: PathBuf) -> PyResult<()> {
        self.inner.save(&path).map_err(|e| to_py(e.into()))
    }

    /// Predictions: `(n,)` for one output, `(n, k)` otherwise.
    fn predict<'py>(&self, py: Python<'py>, x: Floats<'py>) -> PyResult<Bound<'py, PyAny>> {
        let xv = x.view64();
        let y = teacher_predict(&self.inner, "X", xv.view()).map_err(to_py)?;
        let y = if y.ncols() == 1 { y.column(0).to_owned().into_dyn() } else { y.into_dyn() };
        Ok(to_numpy(py, y, false))
    }

    /// `grad_x f(x)` of output `output`, shaped like X: `method` is
    /// "saliency" or "integrated-gradients" (`steps` path points).
    #[pyo3(signature = (x, method = "saliency", steps = 32, output = 0))]
    fn input_gradients<'py>(
        &self,
        py: Python<'py>,
        x: Floats<'py>,
        method: &str,
        steps: usize,
        output: usize,
    ) -> PyResult<Bound<'py, PyAny>> {
        let method = match method {
            "saliency" => GradMethod::Saliency,
            "integrated-gradients" | "integrated_gradients" => GradMethod::IntegratedGradients { steps },
            other => {
                return Err(value_error(format!(
                    "method '{other}' is unknown; expected 'saliency' or 'integrated-gradients'"
                )))
            }
        };
        let xv = x.view64();
        let g = teacher_gradients(&self.inner, "X", xv.view(), method, output).map_err(to_py)?;
        Ok(to_numpy(py, g, x.is_f32()))
    }

    /// The training history (per-epoch losses, best epoch), or None for a
    /// loaded teacher.
    #[getter]
    fn history<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyAny>>> {
        self.history.as_ref().map(|h| to_python(py, h)).transpose()
    }
    /// The architecture and shapes.
    #[getter]
    fn config<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        to_python(py, &self.inner.config)
    }
    fn __repr__(&self) -> String {
        let c = &self.inner.config;
        format!("awd.Teacher(arch='{:?}', input_shape={:?}, outputs={})", c.arch, c.input_shape, c.outputs)
            .to_lowercase()
    }
}
