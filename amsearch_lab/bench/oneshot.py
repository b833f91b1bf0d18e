"""One-shot architecture search against the cell table: does the supernet rank like stand-alone
training, and what do single-path one-shot and DARTS pick, at what compute?

``python -m amsearch_lab.bench oneshot [--part correlation|search|darts|all] [--seeds 5]
[--epochs 10] [--budget 30] [--recalibrate 4] [--darts-epochs 3] [--networks N] [--n-train 2000]
[--device cpu|cuda] [--quick]``

Every figure is against ``datasets/nas_bench_cell.csv.gz`` (every network of ``cell_space()``
trained stand-alone with ``CELL_RECIPE``, seed 0, and again with seed 1).

1. *correlation*: a supernet trained by single-path one-shot for ``--epochs`` (seed 0) scores
   every network of the table (or ``--networks`` of them) with its shared weights, without and with batch-norm recalibration
   (``--recalibrate`` batches); Kendall's tau and Spearman's rho against the table's validation
   accuracy, next to the *noise ceiling*: the same statistics between the two stand-alone seeds
   of the replicated sample (the supernet's on that sample too, to compare like with like).
2. *search*: per seed, the network picked by (a) single-path one-shot + regularized evolution
   (``--budget`` shared-weight scores), (b) first-order DARTS (``--darts-epochs``), (c) regularized
   evolution on the table (stand-alone training, looked up), (d) random search given the
   one-shot pipeline's seconds: its rank in the table by validation accuracy (1 = best), its test
   accuracy (read from the table for the pick only) and the compute spent, in seconds and in
   *stand-alone trainings* (seconds / the mean seconds of one stand-alone training, measured
   in the same run on a few networks). The goal: a pick in the table's top 10 % at under a fifth
   of what evolution needs to get there (its median number of trainings over 20 seeds).
3. *darts*: DARTS's operation mix over training (first order, second order, Gumbel-softmax):
   the mean weight of the parameter-free operations per epoch, and the derived network each epoch.
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
    CELL_RECIPE,
    DARTS,
    EDGES,
    SPOS_RECIPE,
    CellArchitecture,
    Supernet,
    TabularBenchmark,
    evaluate_architecture,
    load_cell_table,
    one_shot_search,
    parameter_free_share,
    rank_correlation,
    shared_weight_accuracy,
    train_supernet,
)
from ..nas.darts import derive

__all__ = ["TOP_FRACTION", "stand_alone_seconds", "table_architectures", "supernet_scores",
           "correlation", "noise_ceiling", "darts_pick", "main"]

TOP_FRACTION = 0.1  # "top 10 %": rank <= ceil(0.1 * networks)
EVOLUTION_SEEDS = 20  # seeds of evolution and random search on the table (look-ups cost nothing)


def stand_alone_seconds(bench: TabularBenchmark, data, n: int, seed: int = 0, device=None) -> float:
    """Mean wall seconds of one stand-alone training (``CELL_RECIPE``) over ``n`` networks of the
    table drawn by ``seed``, measured now, so that one-shot seconds convert to trainings."""
    picks = np.random.default_rng(seed).choice(len(bench), size=n, replace=False)
    seconds = [evaluate_architecture(arch, data, CELL_RECIPE, seed=0, device=device)["train_seconds"]
               for arch in table_architectures(bench, picks)]
    return float(np.mean(seconds))


def table_architectures(bench: TabularBenchmark, rows=None) -> list[CellArchitecture]:
    """The networks of the table in ``frame`` order, or those of the row positions ``rows``."""
    frame = bench.frame if rows is None else bench.frame.iloc[list(rows)]
    names = list(bench.space.names)
    return [bench.decode(row[names].to_dict()) for _, row in frame.iterrows()]


def supernet_scores(supernet: Supernet, archs, data, recalibrate: int) -> np.ndarray:
    """The shared-weight validation accuracy of each of ``archs``, shape ``(len(archs),)``."""
    return np.array([shared_weight_accuracy(supernet, arch, data, recalibrate=recalibrate) for arch in archs])


def noise_ceiling(bench: TabularBenchmark, n_boot: int = 0, seed: int = 0) -> dict:
    """``rank_correlation`` (with ``n_boot`` bootstrap resamples) between the replicate seed and
    seed 0 over the replicated networks: how far two stand-alone trainings agree."""
    sample = bench.replicates
    return rank_correlation(sample["val_acc"].to_numpy(), bench.frame.loc[sample.index, "val_acc"].to_numpy(),
                            n_boot=n_boot, seed=seed)


def correlation(bench: TabularBenchmark, data, epochs: int, recalibrate: int, seed: int = 0, device=None,
                networks: int | None = None, recipe=SPOS_RECIPE) -> dict:
    """Part 1: a supernet trained for ``epochs`` with ``recipe``, its scores of the table's
    networks (all, or a seeded sample of ``networks``) without and with recalibration, and their
    rank correlations with the table (those networks, and those of them in the replicated sample)."""
    supernet = Supernet(seed=seed)
    training = train_supernet(supernet, data, epochs, recipe=recipe, seed=seed, device=device)
    chosen = np.sort(np.random.default_rng(seed).permutation(len(bench))[:networks])  # (n,) table rows
    truth = bench.frame["val_acc"].to_numpy()[chosen]
    sample = bench.frame.index.isin(bench.replicates.index)[chosen]
    archs = table_architectures(bench, chosen)
    out = {"training": training, "ceiling": noise_ceiling(bench), "scores": {}}
    for k in (0, recalibrate):
        start = time.perf_counter()
        scores = supernet_scores(supernet, archs, data, k)
        out["scores"][k] = {"scores": scores, "seconds": time.perf_counter() - start,
                            "all": rank_correlation(scores, truth),
                            "sample": rank_correlation(scores[sample], truth[sample])}
    return out


def darts_pick(data, epochs: int, seed: int, device=None, **options) -> tuple[DARTS, object]:
    """``DARTS(Supernet(seed=seed), seed=seed, **options).run(data, epochs)``: the search and its result."""
    darts = DARTS(Supernet(seed=seed), seed=seed, **options)
    return darts, darts.run(data, epochs, device)


def _describe(bench: TabularBenchmark, arch: CellArchitecture) -> str:
    row = bench.row(arch.to_params())
    return (f"{arch.key:44s} rank {bench.rank(arch.to_params()):>3d}/{len(bench)}  val {row['val_acc']:.3f}  "
            f"test {row['test_acc']:.3f}")


def run_search(bench: TabularBenchmark, data, args, dev, unit: float) -> None:
    worst = bench.top_rank(TOP_FRACTION)
    evo = bench.evaluations_to_top("evolution", range(EVOLUTION_SEEDS), budget=len(bench), fraction=TOP_FRACTION)
    evo_median = float(np.nanmedian(evo))
    print(f"\nregularized evolution on stand-alone training (the table), {EVOLUTION_SEEDS} seeds: trainings until "
          f"the pick is in the top 10 % (rank <= {worst}): median {evo_median:.0f} "
          f"(min {np.nanmin(evo):.0f}, max {np.nanmax(evo):.0f}, not reached in {int(np.isnan(evo).sum())}) "
          f"= {evo_median * unit:.0f} s; a fifth of it: {evo_median / 5:.1f} trainings")
    evo1 = bench.evaluations_to_top("evolution", range(EVOLUTION_SEEDS), budget=len(bench), fraction=0.01)
    print(f"  ... and until it is in the top 1 % (rank <= {bench.top_rank(0.01)}): median {np.nanmedian(evo1):.0f} "
          f"(min {np.nanmin(evo1):.0f}, max {np.nanmax(evo1):.0f})")
    rows = {"spos": [], "darts": [], "random": []}
    for seed in range(args.seeds):
        shot = one_shot_search(data, args.epochs, budget=args.budget, recalibrate=args.recalibrate, seed=seed,
                               recipe=replace(SPOS_RECIPE, n_train=args.n_train),
                               device=dev)
        rows["spos"].append((bench.rank(shot.pick.to_params()), shot.seconds))
        print(f"  seed {seed} SPOS+evolution ({args.epochs} supernet epochs {shot.training['seconds']:.0f} s, "
              f"{shot.evaluations} scores {shot.score_seconds:.0f} s; {shot.seconds / unit:.1f} trainings): "
              f"{_describe(bench, shot.pick)}")
        _, result = darts_pick(data, args.darts_epochs, seed, dev, recipe=replace(CELL_RECIPE, n_train=args.n_train))
        rows["darts"].append((bench.rank(result.derived.to_params()), result.seconds))
        print(f"  seed {seed} DARTS 1st order ({args.darts_epochs} epochs, {result.seconds:.0f} s; "
              f"{result.seconds / unit:.1f} trainings): {_describe(bench, result.derived)}")
    spos_budget = max(1, int(np.median([s for _, s in rows["spos"]]) / unit))
    for seed in range(EVOLUTION_SEEDS):
        best = bench.search("random", spos_budget, seed).best
        rows["random"].append((bench.rank(best.params), spos_budget * unit))
    print(f"\nsummary (rank 1 = best of {len(bench)}; top 10 % = rank <= {worst}; one stand-alone training = "
          f"{unit:.1f} s measured now):")
    for name, label in (("spos", "SPOS + evolution"), ("darts", "DARTS, 1st order"),
                        ("random", f"random search, {spos_budget} trainings")):
        ranks = np.array([r for r, _ in rows[name]])
        seconds = np.median([s for _, s in rows[name]])
        print(f"  {label:32s} {len(ranks):>2d} seeds: median rank {np.median(ranks):.0f}, in the top 10 % "
              f"{int((ranks <= worst).sum())}/{len(ranks)}; median {seconds:.0f} s = {seconds / unit:.1f} trainings "
              f"({seconds / unit / evo_median:.2f} of evolution's median)")


def run_darts(data, args, dev) -> None:
    variants = {"first order": {}, "second order": {"order": 2},
                "Gumbel-softmax, tau 5 -> 0.5": {"gumbel": True, "temperature": (5.0, 0.5)}}
    recipe = replace(CELL_RECIPE, n_train=args.n_train)
    for name, options in variants.items():
        darts, result = darts_pick(data, args.darts_epochs, 0, dev, recipe=recipe, **options)
        ops, steps = darts.supernet.op_names, result.steps_per_epoch
        shares = [parameter_free_share(result.trajectory[e * steps], ops) for e in range(args.darts_epochs + 1)]
        derived = [derive(np.log(result.trajectory[e * steps]), ops).key for e in range(1, args.darts_epochs + 1)]
        print(f"\nDARTS {name} ({args.darts_epochs} epochs, {result.seconds:.0f} s): mean weight of the parameter-free "
              f"operations per epoch {' -> '.join(f'{s:.3f}' for s in shares)} (uniform: "
              f"{parameter_free_share(np.full((1, len(ops)), 1 / len(ops)), ops):.3f})")
        for e, key in enumerate(derived, 1):
            print(f"  derived after epoch {e}: {key}")
        final = result.trajectory[-1]
        for i, edge in enumerate(EDGES):
            print(f"  softmax(alpha) {edge}: " + "  ".join(f"{op} {w:.3f}" for op, w in zip(ops, final[i])))


QUICK = {"seeds": 1, "epochs": 1, "budget": 5, "recalibrate": 1, "darts_epochs": 1, "timing": 1, "networks": 30,
         "n_train": 300}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m amsearch_lab.bench oneshot", description=__doc__.splitlines()[0])
    parser.add_argument("--part", default="all", choices=("correlation", "search", "darts", "all"))
    parser.add_argument("--seeds", type=int, default=5, help="seeds of SPOS and DARTS in the search part (default 5)")
    parser.add_argument("--epochs", type=int, default=10, help="single-path supernet epochs (default 10)")
    parser.add_argument("--budget", type=int, default=30, help="shared-weight scores of the evolution (default 30)")
    parser.add_argument("--recalibrate", type=int, default=4, help="batch-norm recalibration batches (default 4)")
    parser.add_argument("--darts-epochs", type=int, default=3, help="DARTS epochs (default 3)")
    parser.add_argument("--timing", type=int, default=5, help="stand-alone trainings timed for the unit (default 5)")
    parser.add_argument("--networks", type=int, default=None, help="networks scored in the correlation part (default all)")
    parser.add_argument("--n-train", type=int, default=CELL_RECIPE.n_train,
                        help=f"training images of the supernets and DARTS (default {CELL_RECIPE.n_train}, the table's)")
    parser.add_argument("--device", default=None, help="cpu or cuda (default: amsearch_lab.pick_device())")
    parser.add_argument("--quick", action="store_true", help=f"a smoke run: {QUICK}")
    args = parser.parse_args(argv)
    if args.quick:
        for k, v in QUICK.items():
            setattr(args, k, v)
    for name in ("seeds", "epochs", "budget", "recalibrate", "darts_epochs", "timing", "n_train") + \
            (("networks",) if args.networks is not None else ()):
        if getattr(args, name) < 1:
            parser.error(f"--{name.replace('_', '-')}={getattr(args, name)} must be >= 1")
    dev = pick_device() if args.device is None else torch.device(args.device)
    torch.manual_seed(0)
    print(f"device: {describe_device(dev)}; torch {torch.__version__}")
    bench, data = load_cell_table(), load_mnist(device=dev)
    print(f"cell table: {len(bench)} networks ({CELL_RECIPE.describe()}); {len(bench.replicates)} replicated with "
          f"seed 1; best validation accuracy {bench.frame['val_acc'].max():.3f}")
    if args.quick:
        data = replace(data, x_val=data.x_val[:200], y_val=data.y_val[:200])
    start = time.perf_counter()
    if args.part in ("correlation", "all"):
        c = correlation(bench, data, args.epochs, args.recalibrate, device=dev, networks=args.networks,
                        recipe=replace(SPOS_RECIPE, n_train=args.n_train))
        ceiling = c["ceiling"]
        print(f"\nsupernet: single-path one-shot, {args.epochs} epochs ({c['training']['seconds']:.0f} s), seed 0; "
              f"training loss per epoch {' '.join(f'{v:.3f}' for v in c['training']['train_loss'])}")
        print(f"noise ceiling (stand-alone seed 0 vs seed 1, {ceiling['n']} networks): Kendall tau "
              f"{ceiling['kendall']:.3f}, Spearman rho {ceiling['spearman']:.3f}")
        for k, s in c["scores"].items():
            label = f"recalibrated ({k} batches)" if k else "supernet BN statistics"
            print(f"shared weights, {label:28s}: {s['all']['n']} networks tau {s['all']['kendall']:.3f} "
                  f"rho {s['all']['spearman']:.3f}; the replicated sample tau {s['sample']['kendall']:.3f} "
                  f"rho {s['sample']['spearman']:.3f} ({s['seconds']:.0f} s to score)")
    if args.part in ("search", "all"):
        unit = stand_alone_seconds(bench, data, args.timing, device=dev)
        run_search(bench, data, args, dev, unit)
    if args.part in ("darts", "all"):
        run_darts(data, args, dev)
    print(f"\n({time.perf_counter() - start:.0f} s in all)")
    return 0
