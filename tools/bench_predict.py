#!/usr/bin/env python3
"""Same-run prediction speed of a clathrin fold: AWD and db5 (the saved
top-k models) against the teacher that fold chose and the reference's LSTM,
with `awd bench predict`, on the held-out cell's tracks and on 10,000 tracks
(that cell's, repeated).

Usage: cargo build --release && python3 tools/bench_predict.py --run out/clathrin --cell 1
       [--rounds 3] [--repeat 50] [--anchor path/to/another/awd]

`--run` is a finished `awd experiment clathrin` (leave one cell out). The
held-out cell's tracks are written by a quick single split of the same data
(`--quick --test-cells K`, a few seconds; the preprocessing is the same).
`--anchor` times the models with a second binary too (e.g. an earlier
build), alternating with this one, for a before/after ratio in one session.
Prints a Markdown table of medians over the rounds (plain Python, no numpy).
"""
import argparse
import ast
import glob
import json
import os
import statistics
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
AWD = os.path.join(HERE, "..", "target", "release", "awd")
DATA = os.path.join(HERE, "..", "data", "clathrin")
MANY = 10_000


def tile_npy(src, dst, rows):
    """Write the first `rows` rows of `src` repeated (a C-order 2-D .npy)."""
    with open(src, "rb") as f:
        magic = f.read(8)
        hlen = int.from_bytes(f.read(2 if magic[6] == 1 else 4), "little")
        header = f.read(hlen)
        body = f.read()
    h = ast.literal_eval(header.decode("latin1"))
    n, width = h["shape"]
    if h["fortran_order"]:
        sys.exit(f"{src}: Fortran-order arrays are not handled here")
    row_bytes = len(body) // n
    out = (body * (rows // n + 1))[: rows * row_bytes]
    new = dict(h, shape=(rows, width))
    text = repr(new).encode("latin1")
    pad = 64 - (10 + len(text) + 1) % 64
    text += b" " * pad + b"\n"
    with open(dst, "wb") as f:
        f.write(b"\x93NUMPY\x01\x00" + len(text).to_bytes(2, "little") + text + out)


def bench(binary, model, x, teachers, repeat):
    cmd = [binary, "bench", "predict", "--model", model, "--x", x, "--repeat", str(repeat)]
    for t in teachers:
        cmd += ["--teacher", t]
    return json.loads(subprocess.run(cmd, check=True, capture_output=True, text=True).stdout)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--run", required=True, help="a finished awd experiment clathrin output folder")
    ap.add_argument("--cell", type=int, required=True, help="the held-out cell whose fold is timed")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--repeat", type=int, default=50)
    ap.add_argument("--anchor", help="a second awd binary timed on the same models, alternating")
    a = ap.parse_args()
    results = json.load(open(os.path.join(a.run, "results.json")))
    folds = {f["held_out"]: f for f in results.get("folds", [])}
    if a.cell not in folds:
        sys.exit(f"{a.run}/results.json: no fold holds out cell {a.cell} (folds: {sorted(folds)})")
    fold = folds[a.cell]
    cells = sorted(set(fold["train_cells"]) | {a.cell})
    fdir = os.path.join(a.run, "folds", f"cell{a.cell}")
    chosen = fold["teacher"]["chosen"]
    members = sorted(glob.glob(os.path.join(fdir, "teacher", f"{chosen}_m*.safetensors")))
    lstm = sorted(glob.glob(os.path.join(fdir, "teacher", "lstm_m*.safetensors")))
    if not members or not lstm:
        sys.exit(f"{fdir}/teacher: the {chosen} members or the LSTM are missing")
    with tempfile.TemporaryDirectory() as tmp:
        train = ",".join(str(c) for c in cells if c != a.cell)
        subprocess.run(
            [AWD, "experiment", "clathrin", "--quick", "--data-dir", DATA, "--train-cells", train,
             "--test-cells", str(a.cell), "--output-dir", os.path.join(tmp, "split")],
            check=True, capture_output=True,
        )
        held = os.path.join(tmp, "split", "data", "x_test.npy")
        many = os.path.join(tmp, "many.npy")
        tile_npy(held, many, MANY)
        binaries = [("", AWD)] + ([(" (anchor)", a.anchor)] if a.anchor else [])
        times = {}
        for _ in range(a.rounds):
            for label, x in [("held-out", held), ("many", many)]:
                for who, binary in binaries:
                    for name in ["awd", "db5"]:
                        v = bench(binary, os.path.join(fdir, "models", f"{name}.json"), x, [], a.repeat)
                        times.setdefault((label, f"{name}{who}"), []).append(v["model_seconds_per_1000"])
                model = os.path.join(fdir, "models", "awd.json")
                for who, files in [(chosen, members), ("lstm", lstm)]:
                    v = bench(AWD, model, x, files, a.repeat)
                    times.setdefault((label, who), []).append(v["teacher_seconds_per_1000"])
        n_held = results["loco"]["per_cell"][str(a.cell)]["tracks"]
    models = ["awd", "db5"] + (["awd (anchor)", "db5 (anchor)"] if a.anchor else [])
    cols = models + list(dict.fromkeys([chosen, "lstm"]))
    print(f"Seconds per 1,000 tracks, median of {a.rounds} rounds of `awd bench predict --repeat {a.repeat}` "
          f"(fold of held-out cell {a.cell}; teacher {chosen}, {len(members)} member(s)):\n")
    print("| inputs | " + " | ".join(cols) + f" | {chosen} / awd | lstm / awd |")
    print("|---" * (len(cols) + 3) + "|")
    for label, rows in [("held-out", f"{n_held} tracks (cell {a.cell})"), ("many", f"{MANY:,} tracks")]:
        med = {c: statistics.median(times[(label, c)]) for c in cols}
        base = med["awd"]
        print(f"| {rows} | " + " | ".join(f"{med[c]:.2e}" for c in cols)
              + f" | {med[chosen] / base:.0f}x | {med['lstm'] / base:.0f}x |")


if __name__ == "__main__":
    main()
