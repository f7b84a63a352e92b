#!/usr/bin/env python3
"""Same-process speed table: `awd.wavedec`/`waverec` (and the 2-D pair)
against PyWavelets on the README's three cases, through the Python call.

Usage: python3 tools/bench_python.py [--rounds 3] [--repeat 30]
Needs the awd package (pip install ./crates/awd-py), numpy and PyWavelets.
awd and pywt alternate within each round; each figure is the median over
rounds of the median over repetitions. Results are discarded between calls
(each call allocates its output, as a user's would).
"""
import argparse
import statistics
import warnings

import numpy as np
import pywt
from pywt_timings import median_time  # this folder's timing rule, shared with bench_table.py

import awd

CASES = [
    ("1 signal of 2^20, db5, zero, J=5", lambda r: r.standard_normal(1 << 20), 5, False),
    ("10,000 signals of 64, db5, zero, J=4", lambda r: r.standard_normal((10_000, 64)), 4, False),
    ("1024x1024 image, db5, zero, J=3", lambda r: r.standard_normal((1024, 1024)), 3, True),
]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--repeat", type=int, default=30)
    args = ap.parse_args()
    warnings.simplefilter("ignore")  # J=4 on 64 samples is above dwt_max_level, for both libraries
    rng = np.random.default_rng(0)
    print(f"awd {awd.__version__}, PyWavelets {pywt.__version__}, numpy {np.__version__}")
    print("| case | pywt forward | awd forward | speed-up | pywt inverse | awd inverse | speed-up |")
    print("|---|---|---|---|---|---|---|")
    for name, make, level, two_d in CASES:
        x = make(rng)
        dec, rec = (awd.wavedec2, awd.waverec2) if two_d else (awd.wavedec, awd.waverec)
        pdec, prec = (pywt.wavedec2, pywt.waverec2) if two_d else (pywt.wavedec, pywt.waverec)
        ca, cp = dec(x, "db5", mode="zero", level=level), pdec(x, "db5", mode="zero", level=level)
        rows = {k: [] for k in ("pf", "af", "pi", "ai")}
        for _ in range(args.rounds):
            rows["pf"].append(median_time(lambda: pdec(x, "db5", mode="zero", level=level), args.repeat))
            rows["af"].append(median_time(lambda: dec(x, "db5", mode="zero", level=level), args.repeat))
            rows["pi"].append(median_time(lambda: prec(cp, "db5", mode="zero"), args.repeat))
            rows["ai"].append(median_time(lambda: rec(ca, "db5", mode="zero"), args.repeat))
        m = {k: statistics.median(v) * 1e3 for k, v in rows.items()}
        print(f"| {name} | {m['pf']:.2f} ms | {m['af']:.2f} ms | {m['pf'] / m['af']:.1f}x "
              f"| {m['pi']:.2f} ms | {m['ai']:.2f} ms | {m['pi'] / m['ai']:.1f}x |")


if __name__ == "__main__":
    main()
