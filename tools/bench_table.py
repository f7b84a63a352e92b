#!/usr/bin/env python3
"""Same-run speed table: `awd bench dwt` against PyWavelets on identical cases.

Usage: cargo build --release && python3 tools/bench_table.py [--rounds 3] [--repeat 30]
Needs numpy and PyWavelets 1.8 (pip install pywavelets==1.8.0 numpy).
Runs PyWavelets (tools/pywt_timings.py) and awd alternately, `rounds` times,
and prints a Markdown table of the medians with the speed-up ratios and the
physical limit of each case on this machine, as awd measures it in the same
run: the larger of a parallel copy of the input and output bytes and the
multiply-adds at the measured peak FMA rate ("x limit" = awd's time / limit).
"""
import argparse
import json
import os
import statistics
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
AWD = os.path.join(HERE, "..", "target", "release", "awd")
AWD_CASES = [  # in the order of tools/pywt_timings.py's CASES
    ["--wavelet", "db5", "--mode", "zero", "--levels", "5", "--length", str(1 << 20)],
    ["--wavelet", "db5", "--mode", "zero", "--levels", "4", "--batch", "10000", "--length", "64"],
    ["--wavelet", "db5", "--mode", "zero", "--levels", "3", "--2d", "--size", "1024", "1024"],
    ["--wavelet", "db5", "--mode", "zero", "--levels", "5", "--length", str(1 << 20), "--float32"],
    ["--wavelet", "db5", "--mode", "zero", "--levels", "4", "--batch", "10000", "--length", "64", "--float32"],
    ["--wavelet", "db5", "--mode", "zero", "--levels", "3", "--2d", "--size", "1024", "1024", "--float32"],
]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--repeat", type=int, default=30)
    args = ap.parse_args()
    py = {i: ([], []) for i in range(len(AWD_CASES))}
    rs = {i: ([], []) for i in range(len(AWD_CASES))}
    limits = {i: ([], []) for i in range(len(AWD_CASES))}
    names = []
    for _ in range(args.rounds):
        out = subprocess.run([sys.executable, os.path.join(HERE, "pywt_timings.py"), "--repeat", str(args.repeat)],
                             check=True, capture_output=True, text=True).stdout
        cases = json.loads(out)["cases"]
        names = [c["case"] for c in cases]
        for i, c in enumerate(cases):
            py[i][0].append(c["forward_median_s"])
            py[i][1].append(c["inverse_median_s"])
        for i, case in enumerate(AWD_CASES):
            r = subprocess.run([AWD, "bench", "dwt", *case, "--repeat", str(args.repeat)],
                               check=True, capture_output=True, text=True).stdout
            r = json.loads(r)
            rs[i][0].append(r["forward_median_s"])
            rs[i][1].append(r["inverse_median_s"])
            limits[i][0].append(r["forward_limit_s"])
            limits[i][1].append(r["inverse_limit_s"])
    print(f"threads: {r['threads']}; kernels: {r.get('kernels', '?')}; peak multiply-adds (last run): {r['peak_multiply_adds_per_s']/1e9:.0f} G/s "
          f"({r['dtype']}); medians of {args.rounds} rounds x {args.repeat} repeats")
    print()
    print("| case | pywt forward | awd forward | speed-up | limit | x limit "
          "| pywt inverse | awd inverse | speed-up | limit | x limit |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for i, name in enumerate(names):
        cells = []
        for d in (0, 1):
            p, a, lim = (statistics.median(v[i][d]) for v in (py, rs, limits))
            cells.append(f"{p*1e3:.2f} ms | {a*1e3:.2f} ms | {p/a:.1f}x | {lim*1e3:.2f} ms | {a/lim:.1f}")
        print(f"| {name} | {cells[0]} | {cells[1]} |")


if __name__ == "__main__":
    main()
