#!/usr/bin/env python3
"""Time PyWavelets on the inputs of `awd bench dwt`, for same-run ratios.

Usage: python3 tools/pywt_timings.py [--repeat 30] > pywt.json
Needs numpy and PyWavelets (pip install pywavelets==1.8.0 numpy).
Prints JSON: one entry per case with the median seconds of the forward
(wavedec/wavedec2) and inverse (waverec/waverec2) transforms; float32 cases
transform float32 arrays (pywt computes and returns float32).
"""
import argparse
import json
import statistics
import time

import numpy as np
import pywt

CASES = [
    # name, shape, wavelet, mode, levels, 2-D?, dtype
    ("1 signal of 2^20, db5, zero, J=5", (1 << 20,), "db5", "zero", 5, False, "float64"),
    ("10,000 signals of 64, db5, zero, J=4", (10000, 64), "db5", "zero", 4, False, "float64"),
    ("1024x1024 image, db5, zero, J=3", (1024, 1024), "db5", "zero", 3, True, "float64"),
    ("1 signal of 2^20, float32", (1 << 20,), "db5", "zero", 5, False, "float32"),
    ("10,000 signals of 64, float32", (10000, 64), "db5", "zero", 4, False, "float32"),
    ("1024x1024 image, float32", (1024, 1024), "db5", "zero", 3, True, "float32"),
]


def median_time(fn, repeat):
    fn()
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=30)
    args = ap.parse_args()
    rng = np.random.default_rng(0)
    out = {"pywt_version": pywt.__version__, "numpy_version": np.__version__, "cases": []}
    import warnings

    warnings.simplefilter("ignore")  # J=4 on 64 samples exceeds dwt_max_level
    for name, shape, wav, mode, levels, two_d, dtype in CASES:
        x = (rng.random(shape) - 0.5).astype(dtype)
        if two_d:
            c = pywt.wavedec2(x, wav, mode, level=levels)
            fwd = median_time(lambda: pywt.wavedec2(x, wav, mode, level=levels), args.repeat)
            inv = median_time(lambda: pywt.waverec2(c, wav, mode), args.repeat)
        else:
            c = pywt.wavedec(x, wav, mode, level=levels, axis=-1)
            fwd = median_time(lambda: pywt.wavedec(x, wav, mode, level=levels, axis=-1), args.repeat)
            inv = median_time(lambda: pywt.waverec(c, wav, mode, axis=-1), args.repeat)
        assert c[0].dtype == np.dtype(dtype), "pywt keeps the input's float type"
        out["cases"].append({"case": name, "dtype": dtype, "forward_median_s": fwd, "inverse_median_s": inv})
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
