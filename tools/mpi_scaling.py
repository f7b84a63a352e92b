#!/usr/bin/env python3
"""Scaling of `awd fit` and `awd sweep` on one machine: 1 process with 1 and
2 threads, and `mpirun -np 2` with 1 thread per rank (chains spread over the
ranks, and every fit data-parallel). Writes X and G (n, 64) float64 .npy
files of random numbers, runs each case `--repeat` times (median wall time,
MPI start included), checks that every run wrote the single-process
results, and prints a Markdown table with the allreduce cost per step that
rank 0 reports.

    python3 tools/mpi_scaling.py --awd target/release/awd    # awd built with --features mpi
"""
import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np

MPIRUN = ["mpirun", "--allow-run-as-root", "--oversubscribe", "--bind-to", "none"]


def run(cmd, threads, ranks):
    env = dict(os.environ, RAYON_NUM_THREADS=str(threads))
    if ranks > 1:
        cmd = MPIRUN + ["-np", str(ranks), "-x", f"RAYON_NUM_THREADS={threads}"] + cmd
    start = time.perf_counter()
    done = subprocess.run(cmd, env=env, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        sys.exit(f"failed: {' '.join(cmd)}\n{done.stderr}")
    return seconds, done.stdout


def median_run(cmd, threads, ranks, repeat, clean):
    times, out = [], ""
    for _ in range(repeat):
        clean()
        seconds, out = run(cmd, threads, ranks)
        times.append(seconds)
    return statistics.median(times), out


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--awd", default="target/release/awd")
    ap.add_argument("--samples", type=int, default=50000)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    awd = os.path.abspath(args.awd)
    with tempfile.TemporaryDirectory() as tmp:
        rng = np.random.default_rng(0)
        x, g = os.path.join(tmp, "x.npy"), os.path.join(tmp, "g.npy")
        np.save(x, rng.standard_normal((args.samples, 64)))
        np.save(g, rng.standard_normal((args.samples, 64)))
        data = ["--x", x, "--grad", g, "--wavelet", "db5", "--levels", "4", "--batch-size", "100"]
        fit_out = os.path.join(tmp, "fit.json")
        fit = [awd, "fit", *data, "--lambda", "1e-4", "--gamma", "0.1", "--epochs", "30", "--output", fit_out]
        sweep_dir = os.path.join(tmp, "sweep")
        sweep = [awd, "sweep", *data, "--epochs", "5", "--lambdas", "log:1e-5:1e-4:4", "--gammas", "0,0.1,1",
                 "--output-dir", sweep_dir]

        def no_fit():
            if os.path.exists(fit_out):
                os.remove(fit_out)

        def no_sweep():
            subprocess.run(["rm", "-rf", sweep_dir], check=True)

        def lowpass():
            with open(fit_out) as f:
                return json.load(f)["lowpass"]

        def summary():
            with open(os.path.join(sweep_dir, "summary.json"), "rb") as f:
                return f.read()

        rows = []
        cases = [("1 process, 1 thread", 1, 1), ("1 process, 2 threads", 2, 1), ("`mpirun -np 2`, 1 thread each", 1, 2)]
        fit_cells, want = [], None
        for name, threads, ranks in cases:
            seconds, out = median_run(fit, threads, ranks, args.repeat, no_fit)
            h = lowpass()
            want = want or h
            same = "same filter" if h == want else "FILTER DIFFERS"
            m = re.search(r"allreduces \(a step's: (\d+) samples x (\d+) sums = (\d+) values\), ([0-9.]+) µs", out)
            extra = f"; allreduce {m.group(4)} µs a step ({int(m.group(3)) * 8:,} bytes)" if m else ""
            fit_cells.append(f"{seconds:.2f} s ({same}{extra})")
        rows.append(("`awd fit`, 30 epochs (15,000 steps)", fit_cells))
        sweep_cells, want = [], None
        for name, threads, ranks in cases:
            seconds, _ = median_run(sweep, threads, ranks, args.repeat, no_sweep)
            s = summary()
            want = want or s
            sweep_cells.append(f"{seconds:.2f} s ({'same files' if s == want else 'FILES DIFFER'})")
        seconds, _ = median_run(sweep + ["--data-parallel"], 1, 2, args.repeat, no_sweep)
        s = summary()
        rows.append(("`awd sweep`, 4 lambdas x 3 gammas x 5 epochs", sweep_cells))
        dp = f"{seconds:.2f} s ({'same files' if s == want else 'FILES DIFFER'})"
        print("| run | " + " | ".join(c[0] for c in cases) + " |")
        print("|---|---|---|---|")
        for label, cells in rows:
            print(f"| {label} | " + " | ".join(cells) + " |")
        print(f"\n`mpirun -np 2 awd sweep --data-parallel` (every fit across both ranks): {dp}")


if __name__ == "__main__":
    main()
