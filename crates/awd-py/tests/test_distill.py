"""fit, sweep, distill, models and teachers from Python."""

import _thread
import json
import subprocess
import threading

import numpy as np
import pytest

import awd


# the settings of the fits compared with the command line, in both spellings
FIT_KW = dict(levels=3, epochs=4, batch_size=32, lam=0.01, gamma=0.1, noise_factor=0.05, seed=3)
FIT_ARGS = ["--levels", "3", "--epochs", "4", "--batch-size", "32", "--lambda", "0.01", "--gamma", "0.1",
            "--noise-factor", "0.05", "--seed", "3"]


def cli_fit(awd_binary, folder, x, grad, name):
    """`awd fit` with FIT_ARGS on x and grad saved as .npy files in folder: the written file."""
    np.save(folder / f"{name}_x.npy", x)
    np.save(folder / f"{name}_g.npy", grad)
    out = folder / f"{name}.json"
    subprocess.run([awd_binary, "fit", "--x", str(folder / f"{name}_x.npy"), "--grad", str(folder / f"{name}_g.npy"),
                    *FIT_ARGS, "--output", str(out)], check=True, capture_output=True)
    return json.loads(out.read_text())


def test_fit_equals_the_command_line_bit_for_bit(tmp_path, linear_data, awd_binary):
    x, _, grad = linear_data
    cli = cli_fit(awd_binary, tmp_path, x, grad, "cli")
    ours = awd.fit(x, grad, **FIT_KW)
    assert ours.lowpass.tolist() == cli["lowpass"]
    assert ours.history["total"].tolist() == [r["total"] for r in cli["history"]]
    # and the file it writes is the CLI's format, usable as a wavelet
    ours.save(tmp_path / "py.json")
    again = awd.load_wavelet(tmp_path / "py.json")
    assert again.lowpass.tolist() == cli["lowpass"]
    # float32 input and a transposed (Fortran-order) view give the same filter as float64 C-order
    xt = np.asfortranarray(x)
    assert awd.fit(xt, grad, **FIT_KW).lowpass.tolist() == cli["lowpass"]


def test_float32_data_fit_like_their_float64_values_and_like_the_cli(tmp_path, linear_data, awd_binary):
    # float32 X and G (as PyTorch hands them over) are kept as float32: the fit
    # equals the fit of their float64 values and the CLI's on float32 files
    x, _, grad = linear_data
    x32, g32 = x.astype(np.float32), grad.astype(np.float32)
    narrow = awd.fit(x32, g32, **FIT_KW)
    wide = awd.fit(x32.astype(np.float64), g32.astype(np.float64), **FIT_KW)
    assert narrow.lowpass.tolist() == wide.lowpass.tolist()
    assert narrow.history["total"].tolist() == wide.history["total"].tolist()
    assert narrow.lowpass.tolist() == cli_fit(awd_binary, tmp_path, x32, g32, "cli32")["lowpass"]
    # mixed types go through float64, with the same result
    assert awd.fit(x32, g32.astype(np.float64), **FIT_KW).lowpass.tolist() == narrow.lowpass.tolist()


def test_a_learned_wavelet_is_a_valid_wavelet_usable_everywhere(linear_data):
    x, _, grad = linear_data
    lw = awd.fit(x, grad, levels=3, epochs=15, lam=0.05, gamma=0.05, lr=0.01)
    assert len(lw.history["total"]) == 16
    assert sum(lw.validity.values()) < 1e-2
    # the learned wavelet is usable wherever a wavelet is
    coeffs = awd.wavedec(x, lw, mode="zero", level=2)
    rebuilt = awd.waverec(coeffs, lw, mode="zero")[:, :64]
    # near-perfect reconstruction: far closer than the signal's own scale
    assert np.abs(rebuilt - x).max() < 0.1 * np.abs(x).max()


def test_callback_sees_each_epoch_and_stops_early(linear_data):
    x, _, grad = linear_data
    seen = []

    def callback(record):
        seen.append(record)
        return record["epoch"] < 2

    lw = awd.fit(x, grad, levels=3, epochs=50, gamma=0.1, callback=callback)
    assert [r["epoch"] for r in seen] == [1, 2]
    assert lw.stopped_at == 2 and len(lw.history["epoch"]) == 3
    assert {"total", "reconstruction", "l1_coefficients", "l1_attributions"} <= set(seen[0])


def test_callback_exceptions_propagate(linear_data):
    x, _, grad = linear_data

    def callback(record):
        raise RuntimeError("from the callback")

    with pytest.raises(RuntimeError, match="from the callback"):
        awd.fit(x, grad, levels=3, epochs=5, callback=callback)


def test_sweep_writes_points_and_a_stopping_callback_raises_stopped(tmp_path, linear_data):
    x, _, grad = linear_data
    points = awd.sweep(x, grad, output_dir=tmp_path / "s", lams=[0, 0.01], gammas=[0, 0.1], levels=3, epochs=2)
    assert len(points) == 4 and (tmp_path / "s" / "summary.json").exists()
    with pytest.raises(awd.Stopped):
        awd.sweep(x, grad, output_dir=tmp_path / "t", lams=[0, 0.01], gammas=[0, 0.1], levels=3, epochs=2,
                  callback=lambda r: False)


def test_sweep_shards_write_the_whole_sweeps_files(tmp_path, linear_data):
    x, _, grad = linear_data
    grid = dict(lams=[0, 0.01, 0.1], gammas=[0, 0.1], levels=3, epochs=2)
    awd.sweep(x, grad, output_dir=tmp_path / "whole", **grid)
    first = awd.sweep(x, grad, output_dir=tmp_path / "parts", shard="1/2", **grid)
    assert sorted({p["lambda_index"] for p in first}) == [0, 2] and len(first) == 4
    assert not (tmp_path / "parts" / "summary.json").exists()
    second = awd.sweep(x, grad, output_dir=tmp_path / "parts", shard="2/2", **grid)
    assert len(second) == 2
    for name in sorted(p.name for p in (tmp_path / "whole").glob("point_*.json")) + ["summary.json"]:
        assert (tmp_path / "whole" / name).read_bytes() == (tmp_path / "parts" / name).read_bytes(), name
    with pytest.raises(ValueError, match="K/N"):
        awd.sweep(x, grad, output_dir=tmp_path / "bad", shard="3/2", **grid)


def test_ctrl_c_interrupts_a_long_fit(linear_data, ctrl_c_raises):
    x, _, grad = linear_data
    big = np.tile(x, (40, 1))
    timer = threading.Timer(0.5, _thread.interrupt_main)
    timer.start()
    try:
        with pytest.raises(KeyboardInterrupt):
            # finite, so that an interrupt that is not honoured fails the test (after about a minute) instead of
            # hanging the suite
            awd.fit(big, np.tile(grad, (40, 1)), levels=3, epochs=3000, gamma=0.1)
    finally:
        timer.cancel()


def r2(y, p):
    return 1.0 - np.sum((y - p) ** 2) / np.sum((y - y.mean()) ** 2)


def test_distill_end_to_end_beats_a_constant_and_round_trips(tmp_path, linear_data):
    x, y, grad = linear_data
    xt, yt = x[200:], y[200:]
    out = awd.distill(x[:200], y[:200], grad[:200], X_test=xt, y_test=yt, levels=3, lams=[0, 0.01],
                      gammas=[0, 0.1], epochs=3, bootstrap=200)
    pred = out.model.predict(xt)
    assert pred.shape == (100,)
    # a constant predictor (the training mean) has R^2 <= 0 on the test set
    assert r2(yt, pred) > r2(yt, np.full_like(yt, y[:200].mean()))
    res = out.results
    assert res["metric"] == "r2" and "selected" in res and "cv" in res
    assert np.isclose(res["test"]["awd"]["r2"], r2(yt, pred))
    diff = res["test"]["awd_minus_baseline"]
    assert diff["lo"] <= diff["mean"] <= diff["hi"]
    out.save(tmp_path / "d")
    loaded = awd.load_model(tmp_path / "d" / "models" / "awd.json")
    assert np.array_equal(loaded.predict(xt), pred)
    assert (tmp_path / "d" / "results.json").exists()


def test_distill_selects_on_a_validation_set(linear_data):
    x, y, grad = linear_data
    xv, yv = x[200:], y[200:]
    out = awd.distill(x[:200], y[:200], grad[:200], X_val=xv, y_val=yv, levels=3, lams=[0, 0.01],
                      gammas=[0, 0.1], epochs=2, bootstrap=100)
    cv = out.results["cv"]
    assert cv["validation_samples"] == 100 and cv["folds"] == 1
    # the selection score is the final model's R^2 on the validation set, the best of the grid
    assert np.isclose(cv["awd"], r2(yv, out.model.predict(xv)), rtol=0, atol=1e-9)
    assert cv["awd"] == max(g["cv_score"] for g in out.results["grid"])
    with pytest.raises(ValueError, match="x_val and y_val"):
        awd.distill(x[:200], y[:200], grad[:200], X_val=xv, levels=3, epochs=1)


def test_distill_keeps_float32_and_learns_what_the_float64_values_give(linear_data):
    x, y, grad = linear_data
    x32, g32 = x.astype(np.float32), grad.astype(np.float32)
    kw = dict(levels=3, lams=[0, 0.01], gammas=[0, 0.1], epochs=2, bootstrap=100)
    narrow = awd.distill(x32[:200], y[:200], g32[:200], X_test=x32[200:], y_test=y[200:], **kw)
    wide = awd.distill(x32[:200].astype(np.float64), y[:200], g32[:200].astype(np.float64),
                       X_test=x32[200:].astype(np.float64), y_test=y[200:], **kw)
    assert narrow.model.lowpass.tolist() == wide.model.lowpass.tolist()
    assert narrow.results["test"] == wide.results["test"]


def test_teacher_learns_and_feeds_distill(linear_data):
    x, y, _ = linear_data
    teacher = awd.Teacher.train("mlp", x[:200], y[:200], epochs=60, lr=0.01, seed=0)
    pred = teacher.predict(x[200:])
    assert pred.shape == (100,)
    assert r2(y[200:], pred) > 0.5
    g = teacher.input_gradients(x[:5])
    assert g.shape == (5, 64)
    out = awd.distill(x, y, teacher=teacher, levels=3, lams=[0], gammas=[0, 0.1], epochs=2, bootstrap=100)
    assert out.model.predict(x).shape == (300,)


def test_gammas_relative_to_the_l1_ratio(linear_data):
    x, y, grad = linear_data
    out = awd.distill(x, y, grad, levels=3, lams=[0], gammas=[0, 0.5], gamma_scale="l1_ratio", epochs=1, bootstrap=100)
    v = out.results["grid_values"]
    ratio = v["l1_coefficients_at_start"] / v["l1_attributions_at_start"]
    assert v["gammas"] == [0.0, 0.5 * ratio]
    with pytest.raises(ValueError, match="gamma scale"):
        awd.distill(x, y, grad, gammas=[0], gamma_scale="relative")


def test_a_1d_cnn_teacher_learns_signals_better_than_a_constant(linear_data):
    x, y, _ = linear_data
    teacher = awd.Teacher.train("cnn1d", x[:200], y[:200], epochs=60, lr=0.01, val_fraction=0.0, seed=0)
    pred = teacher.predict(x[200:])
    constant = np.full(100, y[:200].mean())
    assert r2(y[200:], pred) > r2(y[200:], constant) + 0.5
    assert teacher.input_gradients(x[:5]).shape == (5, 64)
    with pytest.raises(ValueError, match="cnn1d"):
        awd.Teacher.train("cnn1d", x[:20].reshape(20, 8, 8), y[:20], epochs=1)


def test_ctrl_c_interrupts_teacher_training(linear_data, ctrl_c_raises):
    x, y, _ = linear_data
    timer = threading.Timer(0.5, _thread.interrupt_main)
    timer.start()
    try:
        with pytest.raises(KeyboardInterrupt):
            awd.Teacher.train("mlp", np.tile(x, (20, 1)), np.tile(y, 20), epochs=3000, patience=100000)
    finally:
        timer.cancel()


def test_maps_fit_equals_the_command_line(tmp_path, awd_binary):
    rng = np.random.default_rng(1)
    maps = rng.standard_normal((40, 16, 16))
    grad = rng.standard_normal((40, 16, 16)) * 0.1
    np.save(tmp_path / "m.npy", maps)
    np.save(tmp_path / "g.npy", grad)
    out = tmp_path / "cli.json"
    subprocess.run([awd_binary, "fit", "--2d", "--x", str(tmp_path / "m.npy"), "--grad", str(tmp_path / "g.npy"),
                    "--wavelet", "db2", "--levels", "2", "--epochs", "2", "--batch-size", "8", "--gamma", "0.5",
                    "--output", str(out)], check=True, capture_output=True)
    cli = json.loads(out.read_text())
    ours = awd.fit(maps, grad, wavelet="db2", levels=2, epochs=2,
                   batch_size=8, gamma=0.5)
    assert ours.lowpass.tolist() == cli["lowpass"]


def test_maps_distill_with_the_posterior_mean_beats_a_constant_and_round_trips(tmp_path):
    # two classes of noise maps told apart by their amplitude
    rng = np.random.default_rng(5)
    amp = np.where(np.arange(180) % 2 == 0, 1.0, 2.0)
    maps = amp[:, None, None] * (rng.random((180, 16, 16)) - 0.5)
    y = np.where(np.arange(180) % 2 == 0, 0.25, 0.35)
    groups = np.arange(180) // 2 % 6
    out = awd.distill(maps[:120], y[:120], 0.1 * maps[:120], groups=groups[:120], X_test=maps[120:], y_test=y[120:],
                      levels=1, lams=[0], gammas=[0, 0.01], epochs=1, bins=[4, 6], estimator="posterior",
                      bootstrap=100)
    pred = out.model.predict(maps[120:])
    constant = np.sqrt(np.mean((y[120:] - y[:120].mean()) ** 2))
    assert np.sqrt(np.mean((y[120:] - pred) ** 2)) < 0.5 * constant
    out.save(tmp_path / "d")
    saved = json.loads((tmp_path / "d" / "models" / "awd.json").read_text())
    assert saved["estimator"] == "posterior_mean"
    assert out.results["selected"]["bins"] in (4, 6) and saved["binning"]["bins"] == out.results["selected"]["bins"]
    assert np.array_equal(awd.load_model(tmp_path / "d" / "models" / "awd.json").predict(maps[120:]), pred)
    with pytest.raises(ValueError, match="estimator 'mean' is unknown"):
        awd.distill(maps[:120], y[:120], estimator="mean", levels=1, lams=[0], gammas=[0], epochs=1)
