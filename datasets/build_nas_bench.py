"""Build ``datasets/nas_bench_mnist.csv.gz``: every distinct valid network of ``nas_space()``
trained once with the low-fidelity recipe (``amsearch_lab.nas.evaluate.LOW_FIDELITY``).

Run from the repository root (a GPU is used when present):

    python datasets/build_nas_bench.py                   # all networks
    python datasets/build_nas_bench.py --limit 20        # a pilot: the first 20 of the order
    python datasets/build_nas_bench.py --shard 0/2 &     # two processes, each half of the order
    python datasets/build_nas_bench.py --shard 1/2 &
    python datasets/build_nas_bench.py --finish          # merge the shards into the .csv.gz

The networks are visited in a seeded random order, so a stopped build is a uniform sample.
Each finished row is appended to ``datasets/nas_bench_mnist.part<i>.csv`` at once; a restarted
build skips the networks already there (resumable). ``--finish`` checks that every network is
present exactly once, sorts by key and writes the gzip'd table, then deletes the parts.
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
from amsearch_lab.nas.evaluate import LOW_FIDELITY, evaluate_architecture
from amsearch_lab.nas.space import enumerate_architectures
from amsearch_lab.nas.tabular import COLUMNS, TABLE_PATH

ORDER_SEED = 0  # the visiting order
EVAL_SEED = 0  # weights and batch order of every network
THREADS = 1  # torch threads: fixed, so that a re-evaluation gives the same numbers


def part_path(shard: int) -> Path:
    return TABLE_PATH.with_name(f"nas_bench_mnist.part{shard}.csv")


def done_keys() -> set[str]:
    keys = set()
    for path in TABLE_PATH.parent.glob("nas_bench_mnist.part*.csv"):
        with open(path, newline="") as f:
            keys.update(row["key"] for row in csv.DictReader(f))
    return keys


def run(shard: int, n_shards: int, limit: int | None, device) -> None:
    # 1. the networks of this shard, in the seeded order, minus those already done
    archs = enumerate_architectures()
    order = np.random.default_rng(ORDER_SEED).permutation(len(archs))[:limit]
    todo = [archs[i] for j, i in enumerate(order) if j % n_shards == shard]
    done = done_keys()
    todo = [a for a in todo if a.key not in done]
    print(f"shard {shard}/{n_shards}: {len(todo)} networks to train ({len(archs)} in the space)", flush=True)
    data = load_mnist(device=device)
    path = part_path(shard)
    new = not path.exists()
    start = time.perf_counter()
    with open(path, "a", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=COLUMNS)
        if new:
            writer.writeheader()
        # 2. train each one and write its row at once
        for n, arch in enumerate(todo, 1):
            record = evaluate_architecture(arch, data, LOW_FIDELITY, seed=EVAL_SEED, device=device)
            writer.writerow({**arch.to_params(), **record, "threads": THREADS, "torch": torch.__version__,
                             "recipe": LOW_FIDELITY.describe()})
            f.flush()
            elapsed = time.perf_counter() - start
            print(f"{n}/{len(todo)} {arch.key} val={record['val_acc']:.4f} test={record['test_acc']:.4f} "
                  f"{record['train_seconds']:.2f}s (elapsed {elapsed:.0f}s, ETA {elapsed / n * (len(todo) - n):.0f}s)",
                  flush=True)


def finish() -> None:
    """Merge the parts into the gzip'd table, checking that each network appears exactly once."""
    rows = {}
    for path in sorted(TABLE_PATH.parent.glob("nas_bench_mnist.part*.csv")):
        with open(path, newline="") as f:
            for row in csv.DictReader(f):
                if row["key"] in rows:
                    sys.exit(f"{row['key']} appears twice in the parts")
                rows[row["key"]] = row
    expected = {a.key for a in enumerate_architectures()}
    missing = expected - set(rows)
    if missing:
        sys.exit(f"{len(missing)} networks are not trained yet, e.g. {sorted(missing)[:3]}; run the build again")
    with gzip.open(TABLE_PATH, "wt", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=COLUMNS)
        writer.writeheader()
        writer.writerows(rows[k] for k in sorted(rows))
    for path in TABLE_PATH.parent.glob("nas_bench_mnist.part*.csv"):
        path.unlink()
    print(f"wrote {TABLE_PATH} ({len(rows)} networks, {TABLE_PATH.stat().st_size} bytes)")


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shard", default="0/1", help="i/n: train every n-th network starting at the i-th")
    parser.add_argument("--limit", type=int, default=None, help="only the first LIMIT networks of the order")
    parser.add_argument("--device", default=None, help="cpu or cuda (default: amsearch_lab.device())")
    parser.add_argument("--finish", action="store_true", help="merge the parts into the .csv.gz")
    args = parser.parse_args(argv)
    if args.finish:
        finish()
        return
    shard, n_shards = (int(s) for s in args.shard.split("/"))
    if not 0 <= shard < n_shards:
        sys.exit(f"--shard {args.shard}: need 0 <= i < n")
    torch.set_num_threads(THREADS)
    run(shard, n_shards, args.limit, args.device)


if __name__ == "__main__":
    main()
