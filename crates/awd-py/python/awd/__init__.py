"""Adaptive wavelet distillation (Ha, Singh, Lanusse, Upadhyayula, Yu, NeurIPS 2021).

Distill a trained network into a learned wavelet and a tiny interpretable
model. The teacher enters only through its input gradients ``grad_x f(x)``,
computed once (``torch.autograd.grad``, or an :class:`awd.Teacher`).

* PyWavelets-compatible transforms: :func:`wavedec`, :func:`waverec`,
  :func:`wavedec2`, :func:`waverec2`, :func:`dwt_max_level`,
  :class:`Wavelet`, :func:`wavelist`.
* AWD: :func:`fit` (one learned wavelet), :func:`sweep` (a lambda x gamma
  grid), :func:`distill` (the whole pipeline: sweep, cross-validated
  selection, interpretable model, evaluation against the initial wavelet).
* Files: :func:`load_wavelet`, :func:`load_model`, the same JSON the ``awd``
  command line writes.

Everything runs in the Rust library ``awd``; this module converts arrays
(float32 or float64, any strides and memory order) and nothing else.
"""

from __future__ import annotations

import numpy as np

from . import _awd
from ._awd import (
    Distilled,
    LearnedWavelet,
    Model,
    Stopped,
    Teacher as _Teacher,
    Wavelet,
    dwt_max_level,
    load_model,
    load_wavelet,
    wavelist,
)

__version__ = _awd.__version__

__all__ = [
    "Distilled",
    "LearnedWavelet",
    "Model",
    "Stopped",
    "Teacher",
    "Wavelet",
    "distill",
    "dwt_max_level",
    "fit",
    "load_model",
    "load_wavelet",
    "sweep",
    "wavedec",
    "wavedec2",
    "wavelist",
    "waverec",
    "waverec2",
]


def _floats(a, name):
    """``a`` as a float32 or float64 array (any strides kept); a clear
    TypeError for objects, strings and complex numbers."""
    if a is None:
        return None
    if hasattr(a, "detach") and hasattr(a, "cpu") and hasattr(a, "numpy"):
        a = a.detach().cpu().numpy()  # a torch.Tensor
    arr = np.asarray(a)
    if arr.dtype in (np.float64, np.float32):
        return arr
    if arr.dtype.kind in "biuf":
        return arr.astype(np.float64)
    raise TypeError(
        f"{name} has dtype {arr.dtype}; awd needs real numbers (float32 or float64), "
        f"e.g. np.asarray({name}, dtype=float)"
    )


def _labels(g, name):
    """Group labels of any kind (integers, strings) as int64 codes."""
    if g is None:
        return None
    arr = np.asarray(g)
    if arr.ndim != 1:
        raise ValueError(f"{name} has shape {arr.shape}; expected one label per sample, shape (n,)")
    if arr.dtype.kind in "iu":
        return arr.astype(np.int64)
    return np.unique(arr, return_inverse=True)[1].astype(np.int64)


# ---------------------------------------------------------------- transforms


def wavedec(data, wavelet, mode="symmetric", level=None, axis=-1):
    """Multilevel 1-D discrete wavelet transform, as ``pywt.wavedec``.

    Returns ``[cA_n, cD_n, ..., cD_1]``; batched over every axis but
    ``axis``. float32 input gives float32 output. Levels above
    ``dwt_max_level`` are allowed with pywt's warning.
    """
    packed, lens, lead, axis = _awd.wavedec_packed(_floats(data, "data"), wavelet, mode, level, axis)
    lead = tuple(lead)
    out, start = [], 0
    for n in lens:
        # a view of the packed result: no copy
        a = packed[:, start:start + n].reshape(lead + (n,))
        out.append(a if axis == len(lead) else np.moveaxis(a, -1, axis))
        start += n
    return out


def waverec(coeffs, wavelet, mode="symmetric", axis=-1):
    """Multilevel 1-D inverse transform, as ``pywt.waverec``."""
    rows, lead, axis = _awd.waverec_rows([_floats(c, f"coeffs[{i}]") for i, c in enumerate(coeffs)], wavelet,
                                         mode, axis)
    out = rows.reshape(tuple(lead) + (rows.shape[1],))
    return out if axis == len(lead) else np.moveaxis(out, -1, axis)


def wavedec2(data, wavelet, mode="symmetric", level=None, axes=(-2, -1)):
    """Multilevel 2-D transform, as ``pywt.wavedec2``.

    Returns ``[cA_n, (cH_n, cV_n, cD_n), ..., (cH_1, cV_1, cD_1)]``; batched
    over every axis but ``axes``.
    """
    packed, shapes, lead, axes = _awd.wavedec2_packed(_floats(data, "data"), wavelet, mode, level, tuple(axes))
    lead = tuple(lead)
    last = (len(lead), len(lead) + 1)
    start = 0

    def take(shape):
        nonlocal start
        size = shape[0] * shape[1]
        a = packed[:, start:start + size].reshape(lead + tuple(shape))
        start += size
        return a if tuple(axes) == last else np.moveaxis(a, last, axes)

    out = [take(shapes[0])]
    for shape in shapes[1:]:
        out.append((take(shape), take(shape), take(shape)))
    return out


def waverec2(coeffs, wavelet, mode="symmetric", axes=(-2, -1)):
    """Multilevel 2-D inverse transform, as ``pywt.waverec2``."""
    if len(coeffs) == 0:
        raise ValueError("coeffs is empty; waverec2 needs [cA_n, (cH_n, cV_n, cD_n), ..., (cH_1, cV_1, cD_1)]")
    converted = [_floats(coeffs[0], "coeffs[0]")]
    for i, d in enumerate(coeffs[1:], start=1):
        if not isinstance(d, (tuple, list)) or len(d) != 3:
            raise ValueError(f"coeffs[{i}] must be a tuple of three arrays (cH, cV, cD)")
        converted.append(tuple(_floats(c, f"coeffs[{i}]") for c in d))
    return _awd.waverec2(converted, wavelet, mode, tuple(axes))


# ---------------------------------------------------------------- distillation


def fit(X, grad=None, *, wavelet="db5", levels=4, mode="zero", lam=0.0, gamma=0.0, epochs=50,
        batch_size=100, lr=0.001, seed=0, attribution="saliency", init_factor=1.0, noise_factor=0.0,
        callback=None, name="awd"):
    """Learn a wavelet from signals ``X`` (n, L) or maps (n, H, W).

    ``grad`` holds the teacher's input gradients, shaped like ``X`` (needed
    when ``gamma > 0``). ``wavelet`` is the initial wavelet: a name, a JSON
    file, an :class:`awd.Wavelet`, a :class:`awd.LearnedWavelet` or a
    ``pywt.Wavelet``. ``callback(record)`` receives each epoch's loss terms
    (a dict) and stops training early by returning ``False`` (the result
    then has ``stopped_at``). Ctrl-C interrupts and raises
    KeyboardInterrupt. The same data, settings and seed give the same filter
    as ``awd fit``, bit for bit.
    """
    return _awd.fit(_floats(X, "X"), _floats(grad, "grad"), wavelet=wavelet, levels=levels, mode=mode,
                    lam=lam, gamma=gamma, epochs=epochs, batch_size=batch_size, lr=lr, seed=seed,
                    attribution=attribution, init_factor=init_factor, noise_factor=noise_factor,
                    callback=callback, name=name)


def sweep(X, grad=None, *, output_dir, lams, gammas, wavelet="db5", levels=4, mode="zero", epochs=50,
          batch_size=100, lr=0.001, seed=0, attribution="saliency", init_factor=1.0, noise_factor=0.0,
          shard=None, callback=None):
    """Fit every point of the ``lams`` x ``gammas`` grid with the reference's
    warm starts, writing one learned-wavelet file per point into
    ``output_dir`` (a re-run resumes). Returns one dict per point.
    ``shard="K/N"`` (e.g. a job array's task) runs only part K of N (whole
    lambda chains, 1 <= K <= N) into the shared ``output_dir`` and returns
    that part's points; the files equal the whole sweep's, and the shard
    that completes the grid writes the summary.
    ``callback`` returning ``False`` raises :class:`awd.Stopped` (finished
    points stay on disk)."""
    return _awd.sweep(_floats(X, "X"), _floats(grad, "grad"), output_dir=str(output_dir),
                      lams=[float(v) for v in np.atleast_1d(lams)],
                      gammas=[float(v) for v in np.atleast_1d(gammas)], wavelet=wavelet, levels=levels,
                      mode=mode, epochs=epochs, batch_size=batch_size, lr=lr, seed=seed,
                      attribution=attribution, init_factor=init_factor, noise_factor=noise_factor,
                      shard=None if shard is None else str(shard), callback=callback)


def distill(X, y, grad=None, *, groups=None, X_val=None, y_val=None, X_test=None, y_test=None, grad_test=None, groups_test=None,
            teacher=None, wavelet="db5", levels=None, mode="zero", attribution="saliency", lams=None,
            gammas=None, gamma_scale="absolute", epochs=20, batch_size=100, lr=0.001, seeds=(0,), noise_factor=0.0,
            model=None, k=6, feature_sign="pos", ridge_alpha=0.0, bins=22, target=0, estimator="nearest", folds=5,
            cv_seed=0, one_standard_error=False, max_validity=None, bootstrap=10000, work_dir=None, callback=None):
    """Distill a network into a learned wavelet and an interpretable model.

    ``X`` is (n, L) signals (model "topk": the ``k`` largest coefficients
    per scale and a linear model) or (n, H, W) maps (model "peaks": peak
    counts of the wavelet's 3x3 sub-filters in ``bins`` bins per channel, or
    the count of best cross-validated score among several, chosen with each
    grid point; ``estimator`` "nearest", the
    paper's nearest class, or "posterior", the classes' targets weighted by
    exp(-chi^2/2)). ``grad`` is the teacher's
    input gradient, or pass an :class:`awd.Teacher` as ``teacher``.
    ``groups`` (cells, simulations) keep each group within one
    cross-validation fold. With ``X_val`` and ``y_val`` each grid point is
    instead scored on that validation set by a model fitted on all of ``X``
    (``folds`` is then unused). ``gamma_scale="l1_ratio"`` multiplies the
    given ``gammas`` by L1(coefficients) / L1(attributions) of ``X`` at the
    initial wavelet. Returns :class:`awd.Distilled`: ``.model``
    (``.predict``), ``.baseline`` (the same model on the initial wavelet),
    ``.results`` (results.json as a dict) and ``.save(dir)``.
    """
    return _awd.distill(
        _floats(X, "X"), _floats(y, "y"), _floats(grad, "grad"), groups=_labels(groups, "groups"),
        x_val=_floats(X_val, "X_val"), y_val=_floats(y_val, "y_val"),
        x_test=_floats(X_test, "X_test"), y_test=_floats(y_test, "y_test"),
        grad_test=_floats(grad_test, "grad_test"), groups_test=_labels(groups_test, "groups_test"),
        teacher=None if teacher is None else teacher._inner, wavelet=str(wavelet), levels=levels, mode=mode,
        attribution=attribution,
        lams=None if lams is None else [float(v) for v in np.atleast_1d(lams)],
        gammas=None if gammas is None else [float(v) for v in np.atleast_1d(gammas)], gamma_scale=gamma_scale,
        epochs=epochs, batch_size=batch_size, lr=lr, seeds=[int(s) for s in np.atleast_1d(seeds)],
        noise_factor=noise_factor, model=model, k=k, feature_sign=feature_sign, ridge_alpha=ridge_alpha,
        bins=[int(b) for b in np.atleast_1d(bins)], target=target, estimator=estimator, folds=folds, cv_seed=cv_seed, one_standard_error=one_standard_error,
        max_validity=max_validity, bootstrap=bootstrap,
        work_dir=None if work_dir is None else str(work_dir), callback=callback)


class Teacher:
    """A teacher network trained by awd (MLP, LSTM or 1-D CNN on signals, CNN on
    maps), for users without PyTorch."""

    def __init__(self, inner):
        self._inner = inner

    @classmethod
    def train(cls, arch, X, y, *, hidden=None, blocks=None, stem_stride=1, epochs=20, batch_size=100,
              lr=0.01, val_fraction=0.1, patience=5, seed=0, augment=False, callback=None):
        """Train ``arch`` ("mlp", "lstm", "cnn" for maps or "cnn1d" for signals) on ``X`` and targets ``y``
        ((n,) or (n, k)); ``callback(log)`` sees each epoch's losses."""
        return cls(_Teacher.train(arch, _floats(X, "X"), _floats(y, "y"), hidden=hidden, blocks=blocks,
                                  stem_stride=stem_stride, epochs=epochs, batch_size=batch_size, lr=lr,
                                  val_fraction=val_fraction, patience=patience, seed=seed, augment=augment,
                                  callback=callback))

    @classmethod
    def load(cls, path):
        """Load weights written by :meth:`save` or ``awd teacher train``."""
        return cls(_Teacher.load(str(path)))

    def save(self, path):
        """Write the weights (safetensors) and their config beside them."""
        self._inner.save(str(path))

    def predict(self, X):
        """Predictions: (n,) for one output, (n, k) otherwise."""
        return self._inner.predict(_floats(X, "X"))

    def input_gradients(self, X, method="saliency", steps=32, output=0):
        """``grad_x f(x)`` of output ``output``, shaped like ``X``; ``method``
        is "saliency" or "integrated-gradients"."""
        return self._inner.input_gradients(_floats(X, "X"), method, steps, output)

    @property
    def history(self):
        """Per-epoch losses of training (None for a loaded teacher)."""
        return self._inner.history

    @property
    def config(self):
        """Architecture, input shape, outputs."""
        return self._inner.config

    def __repr__(self):
        return repr(self._inner)
