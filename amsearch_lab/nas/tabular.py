"""The shipped tabular NAS benchmarks: every network of a space, trained stand-alone.

``datasets/nas_bench_mnist.csv.gz`` (built by ``datasets/build_nas_bench.py``) holds one row per
distinct valid network of ``nas_space()`` with its validation and test accuracy after the
low-fidelity recipe, parameters, FLOPs, training seconds, device and recipe.
``datasets/nas_bench_cell.csv.gz`` (``--space cell``) does the same for the cell space of one-shot
NAS (``cell_space()``, ``CELL_RECIPE``), and adds a second seed for its networks (all of them
in the shipped file): how far two stand-alone trainings of one network agree (``load_cell_table``).
A search on the table looks the answer up instead of training, so strategies can be compared over many seeds
in seconds on a CPU, the way NAS-Bench-101/201 are used.

The honest protocol: strategies see only the *validation* accuracy (``objective``), and every
comparison that drives a choice (which strategy, which network, which size) reads the validation
accuracy too; the helpers that could read either column take it as an explicit ``metric``. The
*test* accuracy is read once, at the end, for the network finally chosen.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from pathlib import Path

import numpy as np

from ..space import Space
from ..study import History, search
from .cell import CellArchitecture, cell_space
from .pareto import pareto_front
from .space import Architecture, nas_space, validate

__all__ = ["TABLE_PATH", "COLUMNS", "CELL_TABLE_PATH", "CELL_COLUMNS", "METRICS", "TabularBenchmark", "load_table",
           "load_cell_table", "picked_accuracy", "compare_strategies"]

TABLE_PATH = Path(__file__).resolve().parents[2] / "datasets" / "nas_bench_mnist.csv.gz"
COLUMNS = ("key", "slot1", "slot2", "slot3", "slot4", "width", "head", "val_acc", "test_acc", "params", "flops",
           "train_seconds", "device", "threads", "torch", "recipe", "seed")
CELL_TABLE_PATH = TABLE_PATH.with_name("nas_bench_cell.csv.gz")
CELL_COLUMNS = ("key", "e01", "e02", "e12") + COLUMNS[7:]
METRICS = ("val_acc", "test_acc")  # the accuracy columns; choose on "val_acc", report "test_acc" once


def _check_metric(where: str, metric) -> None:
    if metric not in METRICS:
        raise ValueError(f"{where}: metric={metric!r} must be one of {list(METRICS)} "
                         f"('val_acc' for anything that drives a choice)")


def _decode_chain(params: Mapping) -> Architecture:
    return validate(Architecture.from_params(params))


class TabularBenchmark:
    """The table (a pandas ``frame`` indexed by network ``key``) and the genome ``space`` it covers.

    ``decode(params)`` gives a genome's architecture (with ``.key``), raising for an invalid one;
    the default is the chain space's (``Architecture``, validated). ``replicates``: the rows of
    the same networks trained with other seeds (the cell table has them), or None."""

    def __init__(self, frame, space: Space | None = None, decode=_decode_chain, replicates=None):
        self.frame = frame
        self.space = nas_space() if space is None else space
        self.decode, self.replicates = decode, replicates

    def __len__(self) -> int:
        return len(self.frame)

    def row(self, params: Mapping):
        """The table's row of the network a genome builds. An invalid genome raises
        ``InvalidArchitecture``; a valid one the table lacks raises ``KeyError``."""
        key = self.decode(params).key
        if key not in self.frame.index:
            raise KeyError(f"network {key} is not in the table ({len(self)} networks)")
        return self.frame.loc[key]

    def objective(self, params: Mapping) -> float:
        """What a strategy sees: the validation accuracy (to maximise)."""
        return float(self.row(params)["val_acc"])

    def test_accuracy(self, params: Mapping) -> float:
        """The test accuracy of the network (for scoring a pick, never for choosing)."""
        return float(self.row(params)["test_acc"])

    def best_by_validation(self):
        """The table's network with the highest validation accuracy (the first by key on a tie):
        what a search that found the best would pick."""
        row = self.frame.sort_index().sort_values("val_acc", ascending=False, kind="stable").iloc[0]
        return self.decode({k: row[k] for k in self.space.names})

    def rank(self, params: Mapping, metric: str = "val_acc") -> int:
        """1-based rank of the network among the table's by ``metric`` (1 = best; ties share the
        best rank): the position a search's pick reaches."""
        _check_metric("TabularBenchmark.rank", metric)
        value = self.row(params)[metric]
        return int((self.frame[metric] > value).sum()) + 1

    def pareto(self, *, metric: str, cost: str = "params"):
        """Boolean Series (index: network key): the networks on the Pareto front of ``cost``
        (a column to minimise, e.g. ``"params"`` or ``"flops"``) against ``metric`` (an accuracy
        column to maximise). ``metric`` has no default: a front drives a choice of network, so pass
        ``"val_acc"``. Raises ``ValueError`` for an unknown ``metric`` or ``cost``."""
        import pandas as pd

        _check_metric("TabularBenchmark.pareto", metric)
        if cost not in ("params", "flops", "train_seconds"):
            raise ValueError(f"TabularBenchmark.pareto: cost={cost!r} must be 'params', 'flops' or 'train_seconds'")
        return pd.Series(pareto_front(self.frame[cost], self.frame[metric]), index=self.frame.index, name="on_front")

    def top_rank(self, fraction: float = 0.1) -> int:
        """The worst rank still in the table's top ``fraction`` by validation accuracy,
        ``ceil(fraction * len(self))``. Raises ``ValueError`` unless 0 < ``fraction`` <= 1."""
        if not 0 < fraction <= 1:
            raise ValueError(f"TabularBenchmark.top_rank: fraction={fraction!r} must be in (0, 1]")
        return math.ceil(fraction * len(self))

    def evaluations_to_top(self, strategy: str, seeds: Iterable[int], budget: int, fraction: float = 0.1,
                           options: Mapping | None = None) -> np.ndarray:
        """Per seed, the number of look-ups (stand-alone trainings, had the table not existed)
        after which ``strategy``'s best-by-validation network is in the table's top ``fraction``;
        NaN when ``budget`` look-ups do not get there. Shape ``(n_seeds,)``."""
        # in the top fraction <=> a validation accuracy at least the (top_rank)-th best of the table
        threshold = np.sort(self.frame["val_acc"].to_numpy())[::-1][self.top_rank(fraction) - 1]
        out = []
        for seed in seeds:
            curve = picked_accuracy(self.search(strategy, budget, seed, options), self, metric="val_acc")
            hits = np.flatnonzero(curve >= threshold)  # NaN (no success yet) compares False
            out.append(hits[0] + 1 if hits.size else np.nan)
        return np.array(out, dtype=float)

    def search(self, strategy, budget: int, seed: int, options: Mapping | None = None) -> History:
        """``search()`` on the table: maximise validation accuracy with ``budget`` look-ups."""
        return search(self.objective, self.space, strategy, budget=budget, seed=seed, minimize=False,
                      progress=False, options=options)


def _read(path: Path, columns, build: str):
    import pandas as pd

    if not path.exists():
        raise FileNotFoundError(f"tabular benchmark {path} is missing; build it with "
                                f"`python datasets/build_nas_bench.py{build}` from the repository root")
    frame = pd.read_csv(path)
    missing = set(columns) - set(frame.columns)
    if missing:
        raise ValueError(f"tabular benchmark {path} lacks the columns {sorted(missing)}")
    return frame


def load_table(path: str | Path = TABLE_PATH) -> TabularBenchmark:
    """Read the chain space's benchmark file; a missing file raises ``FileNotFoundError`` saying how to build it."""
    return TabularBenchmark(_read(Path(path), COLUMNS, "").set_index("key"))


def load_cell_table(path: str | Path = CELL_TABLE_PATH) -> TabularBenchmark:
    """Read the cell space's benchmark (``datasets/nas_bench_cell.csv.gz``): ``frame`` holds the
    seed-0 row of every network of ``cell_space()``, ``replicates`` their seed-1 rows (every
    network in the shipped file; a build stopped early leaves a uniform sample), indexed by key too. A missing file raises ``FileNotFoundError``."""
    frame = _read(Path(path), CELL_COLUMNS, " --space cell")
    first = frame["seed"] == 0
    return TabularBenchmark(frame[first].set_index("key"), cell_space(), CellArchitecture.from_params,
                            frame[~first].set_index("key"))


def picked_accuracy(history: History, bench: TabularBenchmark, *, metric: str) -> np.ndarray:
    """After each evaluation, the ``metric`` column (``"val_acc"`` or ``"test_acc"``) of the
    best-by-validation network so far (NaN before the first success), shape ``(len(history),)``.
    With ``"val_acc"`` this is the search's own best-so-far curve, the one to compare strategies
    by; ``"test_acc"`` is the NAS-Bench convention for reporting a strategy whose choice is made."""
    _check_metric("picked_accuracy", metric)
    curve, best_val, best = [], -np.inf, np.nan
    for trial in history:
        if trial.ok and trial.value > best_val:
            best_val, best = trial.value, float(bench.row(trial.params)[metric])
        curve.append(best)
    return np.array(curve)


def compare_strategies(bench: TabularBenchmark, strategies: Iterable[str], budget: int, seeds: Iterable[int],
                       options: Mapping[str, Mapping] | None = None, *, metric: str) -> dict[str, np.ndarray]:
    """``{strategy: curves}`` with ``curves[i]`` the ``picked_accuracy(..., metric=metric)`` curve of
    seed ``seeds[i]``, shape ``(n_seeds, budget)``; ``options[strategy]`` are passed to its constructor.

    ``metric`` has no default: ``"val_acc"`` whenever the comparison drives a choice (which strategy
    to use, which network to keep); ``"test_acc"`` only for a report made after the choice, the
    convention of ``amsearch bench nas`` (NAS-Bench-201 reports the test accuracy of each strategy's pick).
    Raises ``ValueError`` for an unknown ``metric``."""
    _check_metric("compare_strategies", metric)
    options = options or {}
    return {name: np.array([picked_accuracy(bench.search(name, budget, seed, options.get(name)), bench, metric=metric)
                            for seed in seeds])
            for name in strategies}
