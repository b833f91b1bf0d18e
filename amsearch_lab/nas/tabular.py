"""The shipped tabular NAS benchmark: every network of the space, trained once.

``datasets/nas_bench_mnist.csv.gz`` (built by ``datasets/build_nas_bench.py``) holds one row per
distinct valid network of ``nas_space()`` with its validation and test accuracy after the
low-fidelity recipe, parameters, FLOPs, training seconds, device and recipe. A search on the
table looks the answer up instead of training, so strategies can be compared over many seeds
in seconds on a CPU, the way NAS-Bench-101/201 are used.

The honest protocol: strategies see only the *validation* accuracy (``objective``); a search is
scored by the *test* accuracy of the architecture it picked by validation (``picked_test_accuracy``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path

import numpy as np

from ..space import Space
from ..study import History, search
from .space import Architecture, nas_space, validate

__all__ = ["TABLE_PATH", "COLUMNS", "TabularBenchmark", "load_table", "picked_test_accuracy", "compare_strategies"]

TABLE_PATH = Path(__file__).resolve().parents[2] / "datasets" / "nas_bench_mnist.csv.gz"
COLUMNS = ("key", "slot1", "slot2", "slot3", "slot4", "width", "head", "val_acc", "test_acc", "params", "flops",
           "train_seconds", "device", "threads", "torch", "recipe", "seed")


class TabularBenchmark:
    """The table (a pandas ``frame`` indexed by network ``key``) and the genome ``space`` it covers."""

    def __init__(self, frame, space: Space | None = None):
        self.frame = frame
        self.space = nas_space() if space is None else space

    def __len__(self) -> int:
        return len(self.frame)

    def row(self, params: Mapping):
        """The table's row of the network a genome builds. An invalid genome raises
        ``InvalidArchitecture``; a valid one the table lacks raises ``KeyError``."""
        key = validate(Architecture.from_params(params)).key
        if key not in self.frame.index:
            raise KeyError(f"network {key} is not in the table ({len(self)} networks)")
        return self.frame.loc[key]

    def objective(self, params: Mapping) -> float:
        """What a strategy sees: the validation accuracy (to maximise)."""
        return float(self.row(params)["val_acc"])

    def test_accuracy(self, params: Mapping) -> float:
        """The test accuracy of the network (for scoring a pick, never for choosing)."""
        return float(self.row(params)["test_acc"])

    def best_by_validation(self) -> Architecture:
        """The table's network with the highest validation accuracy (the first by key on a tie):
        what a search that found the best would pick."""
        row = self.frame.sort_index().sort_values("val_acc", ascending=False, kind="stable").iloc[0]
        return Architecture.from_params({k: row[k] for k in self.space.names})

    def search(self, strategy, budget: int, seed: int, options: Mapping | None = None) -> History:
        """``search()`` on the table: maximise validation accuracy with ``budget`` look-ups."""
        return search(self.objective, self.space, strategy, budget=budget, seed=seed, minimize=False,
                      progress=False, options=options)


def load_table(path: str | Path = TABLE_PATH) -> TabularBenchmark:
    """Read the benchmark file; a missing file raises ``FileNotFoundError`` saying how to build it."""
    import pandas as pd

    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"tabular benchmark {path} is missing; build it with "
                                f"`python datasets/build_nas_bench.py` from the repository root")
    frame = pd.read_csv(path).set_index("key")
    missing = set(COLUMNS) - {"key"} - set(frame.columns)
    if missing:
        raise ValueError(f"tabular benchmark {path} lacks the columns {sorted(missing)}")
    return TabularBenchmark(frame)


def picked_test_accuracy(history: History, bench: TabularBenchmark) -> np.ndarray:
    """After each evaluation, the test accuracy of the best-by-validation network so far
    (NaN before the first success): the anytime curve of the honest protocol."""
    curve, best_val, best_test = [], -np.inf, np.nan
    for trial in history:
        if trial.ok and trial.value > best_val:
            best_val, best_test = trial.value, bench.test_accuracy(trial.params)
        curve.append(best_test)
    return np.array(curve)


def compare_strategies(bench: TabularBenchmark, strategies: Iterable[str], budget: int, seeds: Iterable[int],
                       options: Mapping[str, Mapping] | None = None) -> dict[str, np.ndarray]:
    """``{strategy: curves}`` with ``curves[i]`` the ``picked_test_accuracy`` curve of seed ``seeds[i]``,
    shape ``(n_seeds, budget)``; ``options[strategy]`` are passed to its constructor."""
    options = options or {}
    return {name: np.array([picked_test_accuracy(bench.search(name, budget, seed, options.get(name)), bench)
                            for seed in seeds])
            for name in strategies}
