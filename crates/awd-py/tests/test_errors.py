"""Bad input is a Python exception of the natural type with the CLI's
message, never a crash."""

import numpy as np
import pytest

import awd


@pytest.fixture
def x():
    return np.random.default_rng(0).standard_normal((50, 64))


def test_bad_arrays(x):
    with pytest.raises(TypeError, match="dtype object"):
        awd.fit(np.array([[1, "a"], [2, None]], dtype=object))
    with pytest.raises(ValueError):
        awd.fit([[1.0, 2.0], [3.0]])  # ragged list
    with pytest.raises(ValueError, match="expected signals"):
        awd.fit(np.zeros((2, 3, 4, 5)))
    bad = x.copy()
    bad[3, 7] = np.nan
    with pytest.raises(ValueError, match="non-finite"):
        awd.fit(bad, levels=2)
    with pytest.raises(ValueError, match="non-finite"):
        awd.wavedec(bad, "db2")
    coeffs = awd.wavedec(x, "db2", level=2)
    coeffs[1][3, 1] = np.inf
    with pytest.raises(ValueError, match="non-finite"):
        awd.waverec(coeffs, "db2")
    with pytest.raises(ValueError, match="shaped like X"):
        awd.fit(x, x[:, :32], levels=2, gamma=0.1)
    with pytest.raises(ValueError, match="no teacher gradients"):
        awd.fit(x, levels=2, gamma=0.1)


def test_bad_names_and_levels(x):
    with pytest.raises(ValueError, match="unknown wavelet 'db55'"):
        awd.wavedec(x, "db55")
    with pytest.raises(ValueError, match="unknown mode"):
        awd.wavedec(x, "db2", mode="mirror")
    with pytest.raises(ValueError, match="negative"):
        awd.wavedec(x, "db2", level=-1)
    with pytest.raises(ValueError, match="out of range"):
        awd.wavedec(x, "db2", axis=5)
    with pytest.raises(TypeError, match="wavelet must be"):
        awd.wavedec(x, 3.5)
    with pytest.raises(ValueError, match="unknown architecture"):
        awd.Teacher.train("transformer", x, x[:, 0])


def test_missing_and_broken_files(tmp_path):
    with pytest.raises(FileNotFoundError, match="nothing.json"):
        awd.load_wavelet(tmp_path / "nothing.json")
    with pytest.raises(FileNotFoundError):
        awd.load_model(tmp_path / "nothing.json")
    (tmp_path / "bad.json").write_text("{not json")
    with pytest.raises(ValueError, match="bad.json"):
        awd.load_model(tmp_path / "bad.json")


def test_models_check_their_input(x, tmp_path):
    y = x[:, 10] - x[:, 40]
    out = awd.distill(x, y, np.zeros_like(x) + 0.01, levels=2, lams=[0], gammas=[0], epochs=1, bootstrap=10,
                      folds=3)
    with pytest.raises(ValueError, match="64"):
        out.model.predict(x[:, :32])
    with pytest.raises(ValueError):
        out.model.predict(np.zeros((2, 3, 64)))
