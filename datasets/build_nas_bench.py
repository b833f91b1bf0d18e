"""Build a tabular NAS benchmark: every distinct network of a space trained stand-alone.

Two tables, chosen by ``--space``:

- ``chain`` (default): ``datasets/nas_bench_mnist.csv.gz``, every valid network of ``nas_space()``
  trained once (seed 0) with the low-fidelity recipe (``amsearch_lab.nas.LOW_FIDELITY``);
- ``cell``: ``datasets/nas_bench_cell.csv.gz``, every network of ``cell_space()`` (the
  shape-preserving space of one-shot NAS and DARTS) trained with ``amsearch_lab.nas.CELL_RECIPE``,
  once with seed 0, and again with seed 1 for as many networks as the second pass reaches
  (``--seed 1``): the replicates that measure how much two stand-alone trainings agree.

Run from the repository root (a GPU is used when present):

    python datasets/build_nas_bench.py                   # all networks
    python datasets/build_nas_bench.py --limit 20        # a pilot: the first 20 of the order
    python datasets/build_nas_bench.py --shard 0/2 &     # two processes, each half of the order
    python datasets/build_nas_bench.py --shard 1/2 &
    python datasets/build_nas_bench.py --finish          # merge the shards into the .csv.gz
    python datasets/build_nas_bench.py --space cell --seed 1 --shard 0/2   # the cell table's replicates

The networks are visited in a seeded random order, so a stopped build is a uniform sample.
Each finished row is appended to ``datasets/<table>.part<i>.csv`` at once; a restarted build
skips the (network, seed) pairs already there (resumable). ``--finish`` checks that every network
is present exactly once with seed 0 (and at most once with any other seed), sorts by seed and key,
writes the gzip'd table, then deletes the parts.
"""

from __future__ import annotations

import argparse
import csv
import gzip
import sys
import time
from pathlib import Path

import numpy as np
import torch

from amsearch_lab import load_mnist
from amsearch_lab.nas.cell import enumerate_cells
from amsearch_lab.nas.evaluate import CELL_RECIPE, LOW_FIDELITY, evaluate_architecture
from amsearch_lab.nas.space import enumerate_architectures
from amsearch_lab.nas.tabular import CELL_COLUMNS, CELL_TABLE_PATH, COLUMNS, TABLE_PATH

ORDER_SEED = 0  # the visiting order
THREADS = 1  # torch threads: fixed, so that a re-evaluation gives the same numbers
# space -> (its networks, the table, its columns, the recipe)
SPACES = {"chain": (enumerate_architectures, TABLE_PATH, COLUMNS, LOW_FIDELITY),
          "cell": (enumerate_cells, CELL_TABLE_PATH, CELL_COLUMNS, CELL_RECIPE)}


def part_paths(table: Path) -> list[Path]:
    return sorted(table.parent.glob(table.name.replace(".csv.gz", ".part*.csv")))


def part_path(table: Path, shard: int) -> Path:
    return table.with_name(table.name.replace(".csv.gz", f".part{shard}.csv"))


def done_pairs(table: Path) -> set[tuple[str, int]]:
    pairs = set()
    for path in part_paths(table):
        with open(path, newline="") as f:
            pairs.update((row["key"], int(row["seed"])) for row in csv.DictReader(f))
    return pairs


def run(space: str, shard: int, n_shards: int, limit: int | None, seed: int, device) -> None:
    enumerate_networks, table, columns, recipe = SPACES[space]
    # 1. the networks of this shard, in the seeded order, minus those already done
    archs = enumerate_networks()
    order = np.random.default_rng(ORDER_SEED).permutation(len(archs))[:limit]
    done = done_pairs(table)
    todo = [archs[i] for j, i in enumerate(order) if j % n_shards == shard and (archs[i].key, seed) not in done]
    print(f"{space} shard {shard}/{n_shards}, seed {seed}: {len(todo)} networks to train ({len(archs)} in the space)",
          flush=True)
    data = load_mnist(device=device)
    path = part_path(table, shard)
    new = not path.exists()
    start = time.perf_counter()
    with open(path, "a", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=columns)
        if new:
            writer.writeheader()
        # 2. train each one and write its row at once
        for n, arch in enumerate(todo, 1):
            record = evaluate_architecture(arch, data, recipe, seed=seed, device=device)
            writer.writerow({**arch.to_params(), **record, "threads": THREADS, "torch": torch.__version__,
                             "recipe": recipe.describe()})
            f.flush()
            elapsed = time.perf_counter() - start
            print(f"{n}/{len(todo)} {arch.key} val={record['val_acc']:.4f} test={record['test_acc']:.4f} "
                  f"{record['train_seconds']:.2f}s (elapsed {elapsed:.0f}s, ETA {elapsed / n * (len(todo) - n):.0f}s)",
                  flush=True)


def finish(space: str) -> None:
    """Merge the parts into the gzip'd table, checking that each (network, seed) appears once
    and that every network has its seed-0 row."""
    enumerate_networks, table, columns, _ = SPACES[space]
    rows = {}
    for path in part_paths(table):
        with open(path, newline="") as f:
            for row in csv.DictReader(f):
                pair = (row["key"], int(row["seed"]))
                if pair in rows:
                    sys.exit(f"{pair} appears twice in the parts")
                rows[pair] = row
    expected = {a.key for a in enumerate_networks()}
    missing = expected - {key for key, seed in rows if seed == 0}
    if missing:
        sys.exit(f"{len(missing)} networks are not trained yet, e.g. {sorted(missing)[:3]}; run the build again")
    with gzip.open(table, "wt", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=columns)
        writer.writeheader()
        writer.writerows(rows[pair] for pair in sorted(rows, key=lambda p: (p[1], p[0])))
    for path in part_paths(table):
        path.unlink()
    print(f"wrote {table} ({len(rows)} rows, {table.stat().st_size} bytes)")


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--space", default="chain", choices=sorted(SPACES), help="which table to build")
    parser.add_argument("--shard", default="0/1", help="i/n: train every n-th network starting at the i-th")
    parser.add_argument("--limit", type=int, default=None, help="only the first LIMIT networks of the order")
    parser.add_argument("--seed", type=int, default=0, help="weights and batch order (0: the table; 1: replicates)")
    parser.add_argument("--device", default=None, help="cpu or cuda (default: amsearch_lab.device())")
    parser.add_argument("--finish", action="store_true", help="merge the parts into the .csv.gz")
    args = parser.parse_args(argv)
    if args.finish:
        finish(args.space)
        return
    shard, n_shards = (int(s) for s in args.shard.split("/"))
    if not 0 <= shard < n_shards:
        sys.exit(f"--shard {args.shard}: need 0 <= i < n")
    torch.set_num_threads(THREADS)
    run(args.space, shard, n_shards, args.limit, args.seed, args.device)


if __name__ == "__main__":
    main()
