"""PyWavelets parity of the transforms: every mode awd has, 1-D and 2-D,
batched, float32, strided and transposed inputs."""

import numpy as np
import pytest
import pywt

import awd

MODES = ["zero", "constant", "symmetric", "reflect", "periodic", "smooth", "antisymmetric", "periodization"]
WAVELETS = ["haar", "db2", "db5", "sym4", "coif2"]
TOL = 1e-12


def close(a, b, tol=TOL):
    assert a.shape == b.shape, (a.shape, b.shape)
    scale = max(1.0, float(np.abs(b).max(initial=0.0)))
    assert np.abs(a - b).max(initial=0.0) <= tol * scale


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("wavelet", WAVELETS)
def test_wavedec_waverec_match_pywt(mode, wavelet):
    rng = np.random.default_rng(hash((mode, wavelet)) % 2**32)
    for n in (17, 64, 101):
        x = rng.standard_normal((3, n))
        level = pywt.dwt_max_level(n, wavelet)
        ours, theirs = awd.wavedec(x, wavelet, mode=mode, level=level), pywt.wavedec(x, wavelet, mode=mode, level=level)
        assert len(ours) == len(theirs)
        for a, b in zip(ours, theirs):
            close(a, b)
        close(awd.waverec(ours, wavelet, mode=mode), pywt.waverec(theirs, wavelet, mode=mode))


@pytest.mark.parametrize("mode", MODES)
def test_wavedec2_waverec2_match_pywt(mode):
    rng = np.random.default_rng(7)
    x = rng.standard_normal((2, 37, 50))
    ours, theirs = awd.wavedec2(x, "db3", mode=mode, level=2), pywt.wavedec2(x, "db3", mode=mode, level=2)
    close(ours[0], theirs[0])
    for o, t in zip(ours[1:], theirs[1:]):
        assert isinstance(o, tuple) and len(o) == 3
        for a, b in zip(o, t):
            close(a, b)
    close(awd.waverec2(ours, "db3", mode=mode), pywt.waverec2(theirs, "db3", mode=mode))


def test_default_level_and_axis_match_pywt():
    rng = np.random.default_rng(1)
    x = rng.standard_normal((4, 200, 3))
    ours, theirs = awd.wavedec(x, "db4", axis=1), pywt.wavedec(x, "db4", axis=1)
    assert len(ours) == len(theirs)
    for a, b in zip(ours, theirs):
        close(a, b)
    close(awd.waverec(ours, "db4", axis=1), pywt.waverec(theirs, "db4", axis=1))
    img = rng.standard_normal((30, 5, 41))
    ours, theirs = awd.wavedec2(img, "sym3", axes=(0, 2)), pywt.wavedec2(img, "sym3", axes=(0, 2))
    close(ours[0], theirs[0])
    for o, t in zip(ours[1:], theirs[1:]):
        for a, b in zip(o, t):
            close(a, b)
    close(awd.waverec2(ours, "sym3", axes=(0, 2)), pywt.waverec2(theirs, "sym3", axes=(0, 2)))


def test_strided_transposed_and_fortran_inputs():
    rng = np.random.default_rng(2)
    base = rng.standard_normal((64, 300))
    for x in (base[:, ::3], base.T, np.asfortranarray(base), base[::2, 1::2]):
        for a, b in zip(awd.wavedec(x, "db5", mode="zero", level=3), pywt.wavedec(x, "db5", mode="zero", level=3)):
            close(a, b)
    img = rng.standard_normal((40, 60))
    for x in (img.T, img[::2, ::3]):
        ours, theirs = awd.wavedec2(x, "db2", level=2), pywt.wavedec2(x, "db2", level=2)
        close(ours[0], theirs[0])


def test_float32_in_float32_out():
    rng = np.random.default_rng(3)
    x = rng.standard_normal((10, 64)).astype(np.float32)
    ours, theirs = awd.wavedec(x, "db5", mode="zero", level=2), pywt.wavedec(x, "db5", mode="zero", level=2)
    for a, b in zip(ours, theirs):
        assert a.dtype == np.float32 and b.dtype == np.float32
        close(a.astype(np.float64), b.astype(np.float64), tol=1e-6)
    back = awd.waverec(ours, "db5", mode="zero")
    assert back.dtype == np.float32
    close(back.astype(np.float64), x.astype(np.float64), tol=1e-5)
    img = rng.standard_normal((33, 33)).astype(np.float32)
    c = awd.wavedec2(img, "haar", level=2)
    assert c[0].dtype == np.float32 and c[1][0].dtype == np.float32
    assert awd.waverec2(c, "haar").dtype == np.float32


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("shape", [(40, 64), (3, 50), (1, 3000), (2, 5, 37)])
def test_float32_matches_pywt_float32(mode, shape):
    """1-D transforms run in float32 arithmetic (batches of short signals in
    the tiled kernels, long ones in the row kernels): within float32 accuracy
    of pywt's own float32 results, and float32 all the way through."""
    x = np.random.default_rng(5).standard_normal(shape).astype(np.float32)
    level = min(3, pywt.dwt_max_level(shape[-1], "db4")) or 1
    ours, theirs = awd.wavedec(x, "db4", mode=mode, level=level), pywt.wavedec(x, "db4", mode=mode, level=level)
    # rounding errors carry across levels: measure them against the largest coefficient
    scale = max(1.0, max(float(np.abs(b).max()) for b in theirs))
    for a, b in zip(ours, theirs):
        assert a.dtype == np.float32 and a.shape == b.shape
        assert np.abs(a.astype(np.float64) - b).max() <= 2e-6 * scale
    back, ref = awd.waverec(ours, "db4", mode=mode), pywt.waverec(theirs, "db4", mode=mode)
    assert back.dtype == np.float32 and back.shape == ref.shape
    assert np.abs(back.astype(np.float64) - ref).max() <= 2e-6 * max(1.0, float(np.abs(ref).max()))


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("shape", [(33, 40), (2, 64, 48), (300, 260)])
def test_float32_2d_matches_pywt_float32(mode, shape):
    """2-D transforms run in float32 arithmetic too: within float32 accuracy
    of pywt's float32 wavedec2/waverec2, float32 all the way through."""
    x = np.random.default_rng(7).standard_normal(shape).astype(np.float32)
    ours, theirs = awd.wavedec2(x, "db4", mode=mode, level=2), pywt.wavedec2(x, "db4", mode=mode, level=2)
    flat = lambda c: [c[0]] + [a for level in c[1:] for a in level]
    scale = max(1.0, max(float(np.abs(b).max()) for b in flat(theirs)))
    for a, b in zip(flat(ours), flat(theirs)):
        assert a.dtype == np.float32 and a.shape == b.shape
        assert np.abs(a.astype(np.float64) - b).max() <= 2e-6 * scale
    back, ref = awd.waverec2(ours, "db4", mode=mode), pywt.waverec2(theirs, "db4", mode=mode)
    assert back.dtype == np.float32 and back.shape == ref.shape
    assert np.abs(back.astype(np.float64) - ref).max() <= 2e-6 * max(1.0, float(np.abs(ref).max()))


def test_mixed_float32_and_float64_coefficients_give_float64_like_pywt():
    x = np.random.default_rng(6).standard_normal((8, 64))
    c = awd.wavedec(x, "db2", level=2)
    c[0] = c[0].astype(np.float32)
    ours, theirs = awd.waverec(c, "db2"), pywt.waverec(c, "db2")
    assert ours.dtype == theirs.dtype == np.float64
    img = np.random.default_rng(6).standard_normal((20, 20)).astype(np.float32)
    for mixed in ("approx", "detail"):
        c = awd.wavedec2(img, "db2", level=2)
        if mixed == "approx":
            c[0] = c[0].astype(np.float64)
        else:
            c[1] = (c[1][0].astype(np.float64), c[1][1], c[1][2])
        ours, theirs = awd.waverec2(c, "db2"), pywt.waverec2(c, "db2")
        assert ours.dtype == theirs.dtype == np.float64, mixed


def test_integer_and_list_inputs_are_converted_like_pywt():
    data = [1, 2, 3, 4, 5, 6, 7, 8]
    for a, b in zip(awd.wavedec(data, "haar", level=2), pywt.wavedec(data, "haar", level=2)):
        close(a, b)


def test_levels_above_the_maximum_warn_like_pywt():
    x = np.random.default_rng(4).standard_normal((5, 64))
    with pytest.warns(UserWarning, match="dwt_max_level"):
        ours = awd.wavedec(x, "db5", mode="zero", level=4)
    with pytest.warns(UserWarning):
        theirs = pywt.wavedec(x, "db5", mode="zero", level=4)
    for a, b in zip(ours, theirs):
        close(a, b)


def test_wavelet_objects_match_pywt():
    for name in ("haar", "db1", "db5", "sym8", "coif3"):
        ours, theirs = awd.Wavelet(name), pywt.Wavelet(name)
        for a, b in zip(ours.filter_bank, theirs.filter_bank):
            close(np.array(a), np.array(b))
        assert ours.dec_len == theirs.dec_len and len(ours) == len(theirs)
        phi, psi, x = ours.wavefun(level=6)
        tphi, tpsi, tx = theirs.wavefun(level=6)
        close(phi, tphi, 1e-10)
        close(psi, tpsi, 1e-10)
        close(x, tx)
    assert set(awd.wavelist()) <= set(pywt.wavelist(kind="discrete"))
    assert awd.wavelist("db") == [w for w in pywt.wavelist("db")]
    for n, f in ((64, 10), (1000, 4), (5, 8)):
        assert awd.dwt_max_level(n, f) == pywt.dwt_max_level(n, f)
    assert awd.dwt_max_level(1024, "db5") == pywt.dwt_max_level(1024, "db5")


def test_any_wavelet_object_is_accepted():
    x = np.random.default_rng(5).standard_normal((3, 128))
    h = pywt.Wavelet("db3").rec_lo
    expected = pywt.wavedec(x, "db3", level=3)
    for w in ("db3", awd.Wavelet("db3"), awd.Wavelet.from_lowpass(h, "mine"), pywt.Wavelet("db3")):
        for a, b in zip(awd.wavedec(x, w, level=3), expected):
            close(a, b)
