"""Neural architecture search: evaluation speed, strategies on the tabular benchmark, and the
winner after full training.

``python -m amsearch_lab.bench nas [--seeds 20] [--budget 100] [--strategies random,evolution]
[--speed 10] [--no-full] [--top-k 3] [--final-width 16] [--full-epochs 12] [--limit N] [--device cpu]``

1. *Speed*: ``--speed`` random valid architectures (seeded) trained and measured with the
   low-fidelity recipe on the current device, after one warm-up evaluation; candidates per second
   is their number over the wall time (training, validation and test included). Then the same
   architectures on the issue's reference workload (one epoch on 10k images) with our loop and with
   a plain PyTorch loop doing the same work (``plain_evaluate``): seconds per candidate of each.
2. *Tabular*: each strategy searches the shipped table (``nas.tabular``) for ``--budget``
   look-ups, once per seed 0..N-1, maximising validation accuracy; reported is the mean and
   standard deviation over seeds of the *test* accuracy of the best-by-validation pick after
   25, 50 and 100 evaluations (the honest NAS-Bench protocol), next to what the whole table offers.
3. *Final*: the ``--top-k`` best distinct networks found by regularized evolution (seed 0,
   ``--budget`` look-ups on the table), widened to ``--final-width`` channels and trained with the
   full recipe (all 50k training images, random shifts; ``nas.train_final``); the one with the best
   full validation accuracy is chosen, and its accuracy on the 10k test split is the figure.
   ``--no-full`` skips it.
"""

from __future__ import annotations

import argparse
import time
from dataclasses import replace

import numpy as np
import torch

from ..datasets import load_mnist
from ..device import describe_device, pick_device
from ..nas import (
    FINAL_WIDTH,
    FULL,
    LOW_FIDELITY,
    Architecture,
    Recipe,
    build,
    compare_strategies,
    evaluate_architecture,
    load_table,
    sample_architectures,
    top_architectures,
    train_final,
)
from .train import plain_epoch, timed

__all__ = ["DEFAULT_STRATEGIES", "STRATEGY_OPTIONS", "CHECKPOINTS", "REFERENCE",
           "plain_evaluate", "speed", "summarize", "main"]

DEFAULT_STRATEGIES = ("random", "evolution", "genetic", "bayes", "greedy")
# every gene is a Choice: BO has no continuous Float to polish with L-BFGS-B, and 256 candidates
# per step are plenty for 2,500 genomes (it keeps the 20-seed benchmark to minutes on a CPU)
STRATEGY_OPTIONS = {"bayes": {"n_candidates": 256, "n_local": 0}}
CHECKPOINTS = (25, 50, 100)
# the plain-PyTorch reference workload: a small random CNN, one epoch on 10k MNIST images
REFERENCE = Recipe("reference", n_train=10_000, n_val=1000, n_test=1000, epochs=1, batch_size=50, lr=0.1)


def plain_evaluate(arch: Architecture, data, recipe: Recipe, seed: int = 0, device=None) -> tuple[float, float]:
    """The work of ``evaluate_architecture`` done by the textbook loop of ``bench train``
    (``plain_epoch``: ``torch.optim.SGD``, here with ``CosineAnnealingLR`` stepped per batch), then
    the validation and test accuracy under ``no_grad``: the reference our loop is timed against."""
    dev = torch.device(device) if device is not None else pick_device()
    model = build(arch, seed=seed).to(dev)
    x, y = data.x_train[:recipe.n_train].to(dev), data.y_train[:recipe.n_train].to(dev)
    x_val, y_val = data.x_val[:recipe.n_val].to(dev), data.y_val[:recipe.n_val].to(dev)
    x_test, y_test = data.x_test[:recipe.n_test].to(dev), data.y_test[:recipe.n_test].to(dev)
    opt = torch.optim.SGD(model.parameters(), lr=recipe.lr, momentum=recipe.momentum, weight_decay=recipe.weight_decay)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=recipe.epochs * -(-len(x) // recipe.batch_size))
    generator = torch.Generator().manual_seed(seed)
    for _ in range(recipe.epochs):
        plain_epoch(model, opt, x, y, x_val, y_val, recipe.batch_size, generator, schedule)
    with torch.no_grad():
        val_acc, test_acc = ((model(xs).argmax(1) == ys).float().mean().item() for xs, ys in ((x_val, y_val), (x_test, y_test)))
    return val_acc, test_acc


def speed(n: int, data, device, seed: int = 0, recipe: Recipe = LOW_FIDELITY, plain: bool = False) -> dict:
    """Train ``n`` random valid architectures with ``recipe`` (our ``evaluate_architecture``, or
    ``plain_evaluate`` when ``plain``), after one warm-up evaluation; seconds and candidates/s."""
    evaluate = plain_evaluate if plain else evaluate_architecture
    dev = pick_device() if device is None else torch.device(device)
    archs = sample_architectures(n + 1, seed)
    evaluate(archs[0], data, recipe, device=dev)  # warm-up: kernels, caches
    seconds, _ = timed(dev, lambda: [evaluate(a, data, recipe, device=dev) for a in archs[1:]])
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
    parser.add_argument("--no-full", action="store_true", help="skip the final training")
    parser.add_argument("--top-k", type=int, default=3, help="candidates trained in the final step (default 3)")
    parser.add_argument("--final-width", type=int, default=FINAL_WIDTH,
                        help=f"channels per convolution of the final networks (default {FINAL_WIDTH})")
    parser.add_argument("--full-epochs", type=int, default=FULL.epochs, help=f"epochs of the full recipe (default {FULL.epochs})")
    parser.add_argument("--limit", type=int, default=None, help="MNIST images per split (default all; for a smoke run)")
    parser.add_argument("--device", default=None, help="cpu or cuda (default: amsearch_lab.pick_device())")
    args = parser.parse_args(argv)
    if args.seeds < 1 or args.budget < 1 or args.top_k < 1 or args.final_width < 1:
        parser.error(f"--seeds={args.seeds}, --budget={args.budget}, --top-k={args.top_k} and "
                     f"--final-width={args.final_width} must be >= 1")
    dev = pick_device() if args.device is None else torch.device(args.device)
    print(f"device: {describe_device(dev)}; torch {torch.__version__}")
    data = load_mnist(device=dev, limit=args.limit) if args.speed or not args.no_full else None

    # 1. speed of the low-fidelity recipe, and of the reference workload against a plain PyTorch loop
    if args.speed:
        s = speed(args.speed, data, dev)
        print(f"\nlow-fidelity evaluation ({LOW_FIDELITY.describe()}):\n"
              f"  {s['n']} random architectures in {s['seconds']:.2f} s = {s['per_second']:.2f} candidates/s")
        reference = replace(REFERENCE, n_train=min(REFERENCE.n_train, len(data.x_train)))
        ours, plain = speed(args.speed, data, dev, recipe=reference), speed(args.speed, data, dev, recipe=reference, plain=True)
        print(f"reference workload ({reference.describe()}), the same {args.speed} architectures:\n"
              f"  amsearch_lab {ours['seconds'] / ours['n']:.3f} s per candidate, plain PyTorch loop "
              f"{plain['seconds'] / plain['n']:.3f} s per candidate (ratio {ours['seconds'] / plain['seconds']:.2f})")

    # 2. strategies on the tabular benchmark
    bench = load_table()
    frame = bench.frame
    print(f"\ntabular benchmark: {len(frame)} networks; best by validation has test accuracy "
          f"{bench.test_accuracy(bench.best_by_validation().to_params()):.4f}; "
          f"best test accuracy in the table {frame['test_acc'].max():.4f}")
    names = [s for s in args.strategies.split(",") if s]
    start = time.perf_counter()
    curves = compare_strategies(bench, names, args.budget, range(args.seeds), STRATEGY_OPTIONS, metric="test_acc")
    print(f"test accuracy of the best-by-validation pick, mean ± std over {args.seeds} seeds "
          f"({time.perf_counter() - start:.0f} s):")
    checkpoints = [k for k in CHECKPOINTS if k <= args.budget]
    print(f"  {'strategy':10s}" + "".join(f"{'after ' + str(k):>18s}" for k in checkpoints))
    for row in summarize(curves, checkpoints):
        print(f"  {row['strategy']:10s}" + "".join(f"{row[f'mean@{k}']:>11.4f} ± {row[f'std@{k}']:.4f}" for k in checkpoints))

    # 3. the final step: the search's best candidates, widened, fully trained, chosen by validation
    if not args.no_full:
        history = bench.search("evolution", args.budget, seed=0)
        candidates = top_architectures(history, args.top_k)
        recipe = replace(FULL, epochs=args.full_epochs)
        print(f"\nfinal step: the {len(candidates)} best networks of regularized evolution (seed 0, {args.budget} "
              f"look-ups), widened to {args.final_width} channels, trained with {recipe.describe()}:")
        final = train_final(candidates, data, recipe, width=args.final_width, seed=0, device=dev)
        for i, (arch, record) in enumerate(zip(candidates, final.records)):
            mark = "  <- chosen by validation" if i == final.chosen else ""
            print(f"  {record['key']:44s} low-fidelity val {bench.objective(arch.to_params()):.3f} | full val "
                  f"{record['val_acc']:.4f}  {record['params']:>7,} params  "
                  f"{record['train_seconds']:.0f} s{mark}")
        best = final.best
        print(f"  final network {best['key']}: test accuracy {best['test_acc']:.4f} on {len(data.x_test):,} test images "
              f"({best['device']})")
    return 0
