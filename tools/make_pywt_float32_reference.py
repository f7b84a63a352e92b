#!/usr/bin/env python3
"""Write PyWavelets' float32 wavedec and wavedec2 outputs for the float32 conformance tests.

Usage: python3 tools/make_pywt_float32_reference.py > crates/awd-core/tests/data/pywt/float32_wavedec.json
Needs numpy and PyWavelets 1.8. Inputs are float32 values k/64 - 0.5 for a
fixed permutation, so the test can rebuild them exactly.
"""
import json

import numpy as np
import pywt

CASES = [  # wavelet, mode, signals, length, levels
    ("db5", "zero", 20, 64, 4),
    ("sym4", "symmetric", 20, 37, 2),
    ("coif2", "periodization", 5, 100, 3),
    ("haar", "smooth", 20, 16, 3),
    ("db3", "periodic", 2, 5000, 5),
]
CASES_2D = [  # wavelet, mode, images, rows, cols, levels
    ("db5", "zero", 3, 40, 33, 2),
    ("sym4", "symmetric", 2, 40, 36, 3),
    ("coif2", "periodization", 2, 50, 37, 2),
    ("haar", "smooth", 2, 16, 16, 3),
    ("db3", "periodic", 1, 64, 48, 2),
]


def signals(n_signals, length):
    k = (np.arange(n_signals * length) * 7919) % 64
    return (k.astype(np.float32) / np.float32(64) - np.float32(0.5)).reshape(n_signals, length)


def main():
    out = {"pywt_version": pywt.__version__, "cases": []}
    for wav, mode, b, n, j in CASES:
        x = signals(b, n)
        c = pywt.wavedec(x, wav, mode, level=j, axis=-1)
        assert all(a.dtype == np.float32 for a in c)
        rec = pywt.waverec(c, wav, mode, axis=-1)
        out["cases"].append({
            "wavelet": wav, "mode": mode, "signals": b, "length": n, "levels": j,
            "coeffs": [a.tolist() for a in c], "dtype": str(c[0].dtype),
            "waverec": rec.tolist(), "waverec_dtype": str(rec.dtype),
        })
    out["cases_2d"] = []
    for wav, mode, b, h, w, j in CASES_2D:
        x = signals(b, h * w).reshape(b, h, w)
        c = pywt.wavedec2(x, wav, mode, level=j, axes=(-2, -1))
        arrays = [c[0]] + [a for level in c[1:] for a in level]
        assert all(a.dtype == np.float32 for a in arrays)
        rec = pywt.waverec2(c, wav, mode, axes=(-2, -1))
        out["cases_2d"].append({
            "wavelet": wav, "mode": mode, "images": b, "rows": h, "cols": w, "levels": j,
            # one packed row per image: cA_J, cH_J, cV_J, cD_J, ..., cD_1, each row-major
            "packed": np.concatenate([a.reshape(b, -1) for a in arrays], axis=1).tolist(),
            "dtype": str(arrays[0].dtype), "waverec2": rec.reshape(b, -1).tolist(),
            "recon_shape": list(rec.shape[1:]), "waverec2_dtype": str(rec.dtype),
        })
    print(json.dumps(out))


if __name__ == "__main__":
    main()
