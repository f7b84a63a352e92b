#!/usr/bin/env python3
"""Peak memory of `awd fit` as the data grows: writes X and G (n, 64)
.npy files of random numbers (float64, or float32 with --dtype float32), runs one epoch of `awd fit` on each n,
and polls /proc for the process's resident memory: in all (VmHWM), and its
anonymous part (heap, RssAnon), which is what must fit in RAM; the rest are
pages of the memory-mapped files, which the OS drops again under pressure.

    python3 tools/peak_memory.py --awd target/release/awd --sizes 200000 2000000
    python3 tools/peak_memory.py --sizes 200000 2000000 --dtype float32
    python3 tools/peak_memory.py --sizes 200000 --command distill
"""
import argparse
import os
import subprocess
import sys
import tempfile
import time

import numpy as np


def kb(status, key):
    for line in status.splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1])
    return 0


def measure(awd, x, g, out, epochs, command="fit", y=None):
    if command == "fit":
        cmd = [awd, "fit", "--x", x, "--grad", g, "--levels", "4", "--lambda", "0.01", "--gamma", "0.1",
               "--epochs", str(epochs), "--batch-size", "100", "--output", out]
    else:  # one grid point, one seed: the memory of loading, training and the model step
        cmd = [awd, "distill", "--x", x, "--y", y, "--grad", g, "--levels", "4", "--lambdas", "0.01",
               "--gammas", "0.1", "--epochs", str(epochs), "--batch-size", "100", "--seeds", "0",
               "--output-dir", out]
    start = time.time()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    peak_anon = 0
    peak_rss = 0
    while proc.poll() is None:
        try:
            with open(f"/proc/{proc.pid}/status") as f:
                s = f.read()
            peak_anon = max(peak_anon, kb(s, "RssAnon"))
            peak_rss = max(peak_rss, kb(s, "VmHWM"))
        except OSError:
            pass
        time.sleep(0.01)
    _, err = proc.communicate()
    if proc.returncode != 0:
        sys.exit(f"awd fit failed: {err.decode()}")
    return peak_rss, peak_anon, time.time() - start


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--awd", default="target/release/awd")
    ap.add_argument("--sizes", type=int, nargs="+", default=[200_000, 2_000_000])
    ap.add_argument("--epochs", type=int, default=1)
    ap.add_argument("--dtype", choices=["float64", "float32"], default="float64")
    ap.add_argument("--command", choices=["fit", "distill"], default="fit",
                    help="distill also needs targets: y is written as the sum of each row")
    a = ap.parse_args()
    dtype = np.dtype(a.dtype)
    rng = np.random.default_rng(0)
    print(f"awd {a.command}; X and G: {a.dtype}")
    print("| signals of 64 | X + G on disk | peak resident (VmHWM) | peak anonymous (RssAnon) | seconds |")
    print("|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as d:
        for n in a.sizes:
            x, g = os.path.join(d, "x.npy"), os.path.join(d, "g.npy")
            for path in (x, g):
                arr = np.lib.format.open_memmap(path, mode="w+", dtype=dtype, shape=(n, 64))
                for i in range(0, n, 100_000):
                    arr[i:i + 100_000] = rng.standard_normal((min(100_000, n - i), 64))
                del arr
            y = os.path.join(d, "y.npy")
            if a.command == "distill":
                xs = np.load(x, mmap_mode="r")
                np.save(y, np.concatenate([xs[i:i + 100_000].sum(axis=1, dtype=np.float64)
                                           for i in range(0, n, 100_000)]))
            out = os.path.join(d, "w.json" if a.command == "fit" else "distill_out")
            rss, anon, secs = measure(a.awd, x, g, out, a.epochs, a.command, y)
            disk = 2 * n * 64 * dtype.itemsize / 2**20
            print(f"| {n:,} | {disk:,.0f} MiB | {rss / 1024:,.0f} MiB | {anon / 1024:,.0f} MiB | {secs:.1f} |")


if __name__ == "__main__":
    main()
