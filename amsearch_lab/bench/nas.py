"""Neural architecture search: evaluation speed, strategies on the tabular benchmark, and the
winner after full training.

``python -m amsearch_lab.bench nas [--seeds 20] [--budget 100] [--strategies random,evolution]
[--speed 10] [--no-full] [--full-epochs 8] [--device cpu]``

1. *Speed*: ``--speed`` random valid architectures (seeded) trained and measured with the
   low-fidelity recipe on the current device, after one warm-up evaluation; candidates per second
   is their number over the wall time (training, validation and test included).
2. *Tabular*: each strategy searches the shipped table (``nas.tabular``) for ``--budget``
   look-ups, once per seed 0..N-1, maximising validation accuracy; reported is the mean and
   standard deviation over seeds of the *test* accuracy of the best-by-validation pick after
   25, 50 and 100 evaluations (the honest NAS-Bench protocol), next to what the whole table offers.
3. *Full*: the table's best-by-validation network trained with the full recipe (all 50k training
   images), then its accuracy on the full 10k test split. ``--no-full`` skips it.
"""

from __future__ import annotations

import argparse
import time
from dataclasses import replace

import numpy as np
import torch

from ..datasets import load_mnist
from ..device import describe_device
from ..device import device as pick_device
from ..nas import (
    FULL,
    LOW_FIDELITY,
    Architecture,
    check,
    compare_strategies,
    evaluate_architecture,
    load_table,
    nas_space,
)

__all__ = ["DEFAULT_STRATEGIES", "STRATEGY_OPTIONS", "CHECKPOINTS", "speed", "summarize", "main"]

DEFAULT_STRATEGIES = ("random", "evolution", "genetic", "bayes", "greedy")
# every gene is a Choice: BO has no continuous Float to polish with L-BFGS-B, and 256 candidates
# per step are plenty for 2,500 genomes (it keeps the 20-seed benchmark to minutes on a CPU)
STRATEGY_OPTIONS = {"bayes": {"n_candidates": 256, "n_local": 0}}
CHECKPOINTS = (25, 50, 100)


def speed(n: int, data, device, seed: int = 0) -> dict:
    """Train ``n`` random valid architectures with the low-fidelity recipe; seconds and rate."""
    space, rng = nas_space(), np.random.default_rng(seed)
    archs = []
    while len(archs) < n + 1:
        arch = Architecture.from_params(space.sample(rng))
        if check(arch) is None:
            archs.append(arch)
    evaluate_architecture(archs[0], data, LOW_FIDELITY, device=device)  # warm-up: kernels, caches
    start = time.perf_counter()
    for arch in archs[1:]:
        evaluate_architecture(arch, data, LOW_FIDELITY, device=device)
    seconds = time.perf_counter() - start
    return {"n": n, "seconds": seconds, "per_second": n / seconds}


def summarize(curves: dict[str, np.ndarray], checkpoints=CHECKPOINTS) -> list[dict]:
    """One row per strategy: mean and std over seeds of the curves at each checkpoint."""
    rows = []
    for name, c in curves.items():
        row = {"strategy": name, "seeds": len(c)}
        for k in checkpoints:
            if k <= c.shape[1]:
                row[f"mean@{k}"], row[f"std@{k}"] = float(np.nanmean(c[:, k - 1])), float(np.nanstd(c[:, k - 1]))
        rows.append(row)
    return rows


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m amsearch_lab.bench nas", description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=20, help="seeds 0..N-1 per strategy (default 20)")
    parser.add_argument("--budget", type=int, default=100, help="look-ups per search on the table (default 100)")
    parser.add_argument("--strategies", default=",".join(DEFAULT_STRATEGIES), help="comma-separated names")
    parser.add_argument("--speed", type=int, default=10, help="architectures for the speed figure (0 skips)")
    parser.add_argument("--no-full", action="store_true", help="skip the full training of the winner")
    parser.add_argument("--full-epochs", type=int, default=FULL.epochs, help=f"epochs of the full recipe (default {FULL.epochs})")
    parser.add_argument("--device", default=None, help="cpu or cuda (default: amsearch_lab.device())")
    args = parser.parse_args(argv)
    if args.seeds < 1 or args.budget < 1:
        parser.error(f"--seeds={args.seeds} and --budget={args.budget} must be >= 1")
    dev = pick_device() if args.device is None else torch.device(args.device)
    print(f"device: {describe_device(dev)}; torch {torch.__version__}")
    data = load_mnist(device=dev) if args.speed or not args.no_full else None

    # 1. speed of the low-fidelity recipe
    if args.speed:
        s = speed(args.speed, data, dev)
        print(f"\nlow-fidelity evaluation ({LOW_FIDELITY.describe()}):\n"
              f"  {s['n']} random architectures in {s['seconds']:.2f} s = {s['per_second']:.2f} candidates/s")

    # 2. strategies on the tabular benchmark
    bench = load_table()
    frame = bench.frame
    print(f"\ntabular benchmark: {len(frame)} networks; best by validation has test accuracy "
          f"{bench.test_accuracy(bench.best_by_validation().to_params()):.4f}; "
          f"best test accuracy in the table {frame['test_acc'].max():.4f}")
    names = [s for s in args.strategies.split(",") if s]
    start = time.perf_counter()
    curves = compare_strategies(bench, names, args.budget, range(args.seeds), STRATEGY_OPTIONS)
    print(f"test accuracy of the best-by-validation pick, mean ± std over {args.seeds} seeds "
          f"({time.perf_counter() - start:.0f} s):")
    checkpoints = [k for k in CHECKPOINTS if k <= args.budget]
    print(f"  {'strategy':10s}" + "".join(f"{'after ' + str(k):>18s}" for k in checkpoints))
    for row in summarize(curves, checkpoints):
        print(f"  {row['strategy']:10s}" + "".join(f"{row[f'mean@{k}']:>11.4f} ± {row[f'std@{k}']:.4f}" for k in checkpoints))

    # 3. the winner, fully trained
    if not args.no_full:
        arch, recipe = bench.best_by_validation(), replace(FULL, epochs=args.full_epochs)
        print(f"\nfull training of the winner {arch.key} ({recipe.describe()}):")
        record = evaluate_architecture(arch, data, recipe, seed=0, device=dev)
        print(f"  validation accuracy {record['val_acc']:.4f}, test accuracy {record['test_acc']:.4f} "
              f"(10k test images), {record['train_seconds']:.0f} s of training on {record['device']}")
    return 0
