#!/usr/bin/env python3
"""The reference implementation's 2-D training step, timed on this machine.

Usage: python3 tools/bench_reference_2d.py --awave PATH [--size 64] [--levels 3] [--batch 64] [--steps 20]
Needs PyTorch and numpy, and a checkout of the reference
(https://github.com/Yu-Group/adaptive-wavelets; PATH is the folder holding
its `awave` package; awave's own imports need PyWavelets).

One step of `awave.Trainer` on a batch of random maps: the DWT2d forward,
its inverse, the loss of paper eq. 8 and Adam, on `torch.get_num_threads()`
threads (2 by default, like `awd bench fit --2d`). Without `--teacher` the
attribution term is left out, which makes the timing a LOWER bound of the
reference's step with attributions (those add a forward and a double
backward of the teacher per step); with `--teacher cnn` a small CNN
(2 convolutions) is the network whose saliency is penalised, with
`--teacher resnet18` the paper's cosmology teacher (needs torchvision;
untrained weights: the cost does not depend on them). Prints the median seconds per step as JSON, to compare with
`awd bench fit --2d --size H W --levels J --batch-size B` run beside it.
"""
import argparse
import json
import statistics
import sys
import time

import numpy as np


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--awave", required=True, help="folder holding the reference's awave package")
    ap.add_argument("--size", type=int, default=64)
    ap.add_argument("--levels", type=int, default=3)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--teacher", choices=["none", "cnn", "resnet18"], default="none")
    args = ap.parse_args()
    sys.path.insert(0, args.awave)
    import torch
    from awave.losses import get_loss_f
    from awave.transform2d import DWT2d
    from awave.utils.train import Trainer

    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    wt = DWT2d(wave="db5", mode="zero", J=args.levels)
    teacher = None
    if args.teacher == "cnn":
        teacher = torch.nn.Sequential(
            torch.nn.Conv2d(1, 8, 3, stride=2, padding=1), torch.nn.ReLU(),
            torch.nn.Conv2d(8, 16, 3, stride=2, padding=1), torch.nn.ReLU(),
            torch.nn.AdaptiveAvgPool2d(1), torch.nn.Flatten(), torch.nn.Linear(16, 1))
    elif args.teacher == "resnet18":  # the paper's cosmology teacher, built as awave.data.cosmology does
        import torchvision
        teacher = torchvision.models.resnet18(weights=None)
        teacher.conv1 = torch.nn.Conv2d(1, 64, kernel_size=(7, 7), stride=(2, 2), padding=(3, 3), bias=False)
        teacher.fc = torch.nn.Linear(teacher.fc.in_features, 3)
        for m in teacher.modules():  # double backward needs out-of-place ReLUs (awave's inplace=False)
            if isinstance(m, torch.nn.ReLU):
                m.inplace = False
    lam_attr = 1.0 if teacher is not None else 0.0
    loss_f = get_loss_f(lamlSum=1.0, lamhSum=1.0, lamL2norm=1.0, lamCMF=1.0, lamConv=1.0, lamL1wave=0.1,
                        lamL1attr=lam_attr)
    optimizer = torch.optim.Adam(wt.parameters(), lr=1e-3)
    trainer = Trainer(teacher, wt, optimizer, loss_f, target=0, device=torch.device("cpu"),
                      use_residuals=True, attr_methods="Saliency", n_print=10**9)
    rng = np.random.default_rng(0)
    data = torch.tensor(rng.standard_normal((args.batch, 1, args.size, args.size)), dtype=torch.float32)
    times = []
    for step in range(args.steps + 3):
        t0 = time.perf_counter()
        trainer._train_iteration(data)
        if step >= 3:  # warm-up steps are not timed
            times.append(time.perf_counter() - t0)
    print(json.dumps({
        "reference": "awave.Trainer._train_iteration", "torch": torch.__version__, "threads": args.threads,
        "size": args.size, "levels": args.levels, "batch": args.batch, "teacher": args.teacher,
        "attributions": teacher is not None, "steps_timed": args.steps,
        "seconds_per_step_median": statistics.median(times), "seconds_min": min(times), "seconds_max": max(times),
    }, indent=2))


if __name__ == "__main__":
    main()
