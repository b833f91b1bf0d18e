"""Reference figures for ``python -m amsearch_lab.bench mf``: Optuna's pruners on the lab's
multi-fidelity workload ``curves.MnistMLP`` (5,000 training images, 10,000 validation images,
R = 27 epochs), with the same space, the same budget and the same scoring as the lab's harness.

Not part of the library or its tests (Optuna is not a dependency). To refresh the shipped table,
from the repository root (the 25 studies took 84 minutes on one thread of a busy 2-core CPU):

    .venv/bin/python -m pip install --target /tmp/optuna_pkgs optuna==5.0.0
    OMP_NUM_THREADS=1 PYTHONPATH=/tmp/optuna_pkgs .venv/bin/python scripts/mf_reference.py

(``pip --target`` also copies numpy and other packages the environment already has; remove
those copies from the folder so that the environment's own are used.) Rows are appended to
``--out`` as each run ends and a (method, seed) already there is skipped, so an interrupted
run resumes; ``--summary`` only prints the table of an existing file.

Methods (every sampler seeded with the run's seed):

    optuna-random-hyperband  RandomSampler + HyperbandPruner(min_resource=1, max_resource=27, reduction_factor=3)
    optuna-tpe-median        TPESampler + MedianPruner()  (defaults: 5 startup trials, no warm-up)
    optuna-tpe-sha           TPESampler + SuccessiveHalvingPruner(min_resource=1, reduction_factor=3)
    optuna-tpe-hyperband     TPESampler + HyperbandPruner(min_resource=1, max_resource=27, reduction_factor=3)
    optuna-random-full       RandomSampler + NopPruner(): random search at full fidelity (540 / 27 = 20 trials)

A trial trains its configuration epoch by epoch (``MnistMLP(seed=seed)``, so a configuration
trains the same way under every method of one seed); after each epoch it calls
``trial.report(val_accuracy, epoch)`` and raises ``optuna.TrialPruned`` when
``trial.should_prune()``. Budget: 540 epochs per run, a hard cap. Every epoch trained counts;
once 540 are spent the running trial stops there (it is not counted as trained to R) and the
study stops. The pick is the trial with the best validation accuracy among those trained to all
27 epochs; its network is kept in memory and scored on the test split once, at the end.

Output columns (one row per method and seed):

    method, seed          as above
    best_val              validation accuracy of the pick (10,000 images)
    test_acc              test accuracy of the pick (10,000 test images), read once
    lr, momentum, batch_size, width   the pick's configuration
    epochs                epochs trained in all (540 unless the study stopped otherwise)
    configs               trials started (configurations tried, the cut one included)
    completed             trials trained to all 27 epochs
    seconds               wall seconds of the study (training included)
    pruner_us             median microseconds of ``trial.report`` + ``trial.should_prune`` per epoch
    optuna, torch         versions
    device                where it trained, e.g. ``cpu (1 thread)``
"""

from __future__ import annotations

import argparse
import csv
import statistics
import time
from pathlib import Path

import optuna
import pandas as pd
import torch

from amsearch_lab.curves import MnistMLP
from amsearch_lab.device import describe_device

optuna.logging.set_verbosity(optuna.logging.ERROR)
R = 27  # epochs of a full training
METHODS = {
    "optuna-random-hyperband": lambda seed: (
        optuna.samplers.RandomSampler(seed=seed),
        optuna.pruners.HyperbandPruner(min_resource=1, max_resource=R, reduction_factor=3)),
    "optuna-tpe-median": lambda seed: (optuna.samplers.TPESampler(seed=seed), optuna.pruners.MedianPruner()),
    "optuna-tpe-sha": lambda seed: (
        optuna.samplers.TPESampler(seed=seed),
        optuna.pruners.SuccessiveHalvingPruner(min_resource=1, reduction_factor=3)),
    "optuna-tpe-hyperband": lambda seed: (
        optuna.samplers.TPESampler(seed=seed),
        optuna.pruners.HyperbandPruner(min_resource=1, max_resource=R, reduction_factor=3)),
    "optuna-random-full": lambda seed: (optuna.samplers.RandomSampler(seed=seed), optuna.pruners.NopPruner()),
}
COLUMNS = ["method", "seed", "best_val", "test_acc", "lr", "momentum", "batch_size", "width", "epochs", "configs",
           "completed", "seconds", "pruner_us", "optuna", "torch", "device"]


class BudgetSpent(Exception):
    """The run's epochs are spent in the middle of a trial: the trial and the study stop."""


class OptunaRun:
    """The ``run`` MnistMLP reports to, passing each epoch on to an Optuna trial.

    plumbing: a new configuration trained from epoch 0 to R (budget None); ``report`` counts the
    epoch against the run's budget, hands it to the pruner (timed) and stops the trial when the
    pruner says so or when the budget is spent before epoch R."""

    budget, start = None, 0

    def __init__(self, trial, counter: dict):
        self.trial, self.counter, self.state = trial, counter, None

    def report(self, step, value, state=None):
        self.state = state
        self.counter["epochs"] += 1
        t0 = time.perf_counter()
        self.trial.report(value, step)
        prune = self.trial.should_prune()
        self.counter["pruner_us"].append(1e6 * (time.perf_counter() - t0))
        if prune:
            raise optuna.TrialPruned()
        if self.counter["epochs"] >= self.counter["budget"] and step < R:
            raise BudgetSpent()


def run_one(method: str, seed: int, budget: int, n_train: int, n_val: int | None) -> dict:
    """One study: ``budget`` epochs of ``method`` on ``MnistMLP(n_train, n_val, seed=seed)``."""
    bench = MnistMLP(n_train=n_train, n_val=n_val, max_epochs=R, seed=seed)
    space = bench.space().dimensions
    counter = {"epochs": 0, "budget": budget, "pruner_us": []}
    best = {"value": -1.0, "params": None, "state": None}

    def objective(trial):
        params = {
            "lr": trial.suggest_float("lr", space["lr"].low, space["lr"].high, log=True),
            "momentum": trial.suggest_float("momentum", space["momentum"].low, space["momentum"].high),
            "batch_size": trial.suggest_categorical("batch_size", space["batch_size"].choices),
            "width": trial.suggest_categorical("width", space["width"].choices),
        }
        run = OptunaRun(trial, counter)
        value = bench(params, run)  # trained to R: neither pruned nor cut
        if value > best["value"]:  # the first of equal values stays the pick
            best.update(value=value, params=params, state=run.state)
        return value

    def stop_when_spent(study, trial):
        if counter["epochs"] >= budget:
            study.stop()

    sampler, pruner = METHODS[method](seed)
    study = optuna.create_study(direction="maximize", sampler=sampler, pruner=pruner)
    t0 = time.perf_counter()
    try:
        study.optimize(objective, callbacks=[stop_when_spent])
    except BudgetSpent:
        pass
    seconds = time.perf_counter() - t0
    completed = [t for t in study.trials if t.state == optuna.trial.TrialState.COMPLETE]
    picked = best["params"] or {}
    return {
        "method": method, "seed": seed,
        "best_val": round(best["value"], 4) if completed else float("nan"),  # k / n_val: 4 decimals are exact for 10,000
        "test_acc": round(bench.test_accuracy(best["state"]), 4) if completed else float("nan"),
        **{k: picked.get(k) for k in ("lr", "momentum", "batch_size", "width")},
        "epochs": counter["epochs"], "configs": len(study.trials), "completed": len(completed),
        "seconds": round(seconds, 1), "pruner_us": round(statistics.median(counter["pruner_us"]), 1),
        "optuna": optuna.__version__, "torch": torch.__version__, "device": describe_device("cpu"),
    }


def summary(table: pd.DataFrame) -> pd.DataFrame:
    """Median and interquartile range over seeds of the pick's validation and test accuracy per
    method, with the median epochs, configurations, completed trials, seconds and pruner cost."""
    def q(p):
        return lambda s: s.quantile(p)

    g = table.groupby("method", sort=False)
    out = pd.DataFrame({
        "seeds": g["seed"].count(),
        "val_median": g["best_val"].median(), "val_q25": g["best_val"].agg(q(0.25)), "val_q75": g["best_val"].agg(q(0.75)),
        "test_median": g["test_acc"].median(), "test_q25": g["test_acc"].agg(q(0.25)), "test_q75": g["test_acc"].agg(q(0.75)),
        "configs": g["configs"].median(), "completed": g["completed"].median(), "epochs": g["epochs"].median(),
        "seconds": g["seconds"].median(), "pruner_us": g["pruner_us"].median(),
    })
    return out.round(4)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("datasets/mf_reference.csv"))
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    parser.add_argument("--methods", nargs="+", choices=list(METHODS), default=list(METHODS))
    parser.add_argument("--budget", type=int, default=540, help="epochs per run (hard cap)")
    parser.add_argument("--n-train", type=int, default=5000)
    parser.add_argument("--n-val", type=int, default=None, help="validation images (default: all 10,000)")
    parser.add_argument("--summary", action="store_true", help="only print the summary of --out")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)

    if not args.summary:
        done = set()
        if args.out.exists():
            old = pd.read_csv(args.out)
            done = set(zip(old["method"], old["seed"]))
        for seed in args.seeds:
            for method in args.methods:
                if (method, seed) in done:
                    continue
                row = run_one(method, seed, args.budget, args.n_train, args.n_val)
                new = not args.out.exists()
                with args.out.open("a", newline="") as f:
                    writer = csv.DictWriter(f, fieldnames=COLUMNS)
                    if new:
                        writer.writeheader()
                    writer.writerow(row)
                print(f"{method} seed {seed}: val {row['best_val']:.4f} test {row['test_acc']:.4f} "
                      f"({row['configs']} configs, {row['completed']} to {R} epochs, {row['epochs']} epochs, "
                      f"{row['seconds']:.0f} s, pruner {row['pruner_us']:.0f} us/epoch)", flush=True)
    with pd.option_context("display.width", 200, "display.max_columns", 20):
        print(summary(pd.read_csv(args.out)))


if __name__ == "__main__":
    main()
