"""The last step of the NAS recipe: train the search's best candidates properly and hand one over.

A low-fidelity score (2,000 images, one epoch) only *ranks* networks, and noisily: on 1,000
validation images one standard error is about 0.9 points, more than the gap between the top
networks. So the final step does not trust the single best score. Following common practice
(DARTS, NASNet, ENAS re-train their best candidates before choosing), it

1. takes the ``k`` best distinct networks the search found, by low-fidelity validation accuracy;
2. *widens* each one (``Architecture.widened``): the same layers with more channels per
   convolution. The search ranked cheap narrow networks; the final network can afford more
   channels (search narrow, train wide);
3. trains each with the full recipe (all 50,000 training images, more epochs, random shifts);
4. chooses by the **full validation** accuracy, and only then reads the chosen network's **test**
   accuracy: the figure reported. The test split never takes part in a choice.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from .evaluate import FULL, Recipe, read_test_accuracy, train_architecture
from .space import Architecture

__all__ = ["FINAL_WIDTH", "top_architectures", "FinalResult", "train_final"]

FINAL_WIDTH = 16  # channels per convolution of the final networks: twice the widest of the search space


def top_architectures(history: Iterable, k: int = 3) -> list[Architecture]:
    """The ``k`` best distinct networks of a search's ``History`` (maximised objective, e.g. the
    low-fidelity validation accuracy), best first; failed trials are left out."""
    if not (isinstance(k, int) and k >= 1):
        raise ValueError(f"top_architectures: k={k!r} must be a positive integer")
    ranked = sorted((t for t in history if t.ok), key=lambda t: -t.value)  # stable: the earlier trial wins a tie
    chosen: dict[str, Architecture] = {}
    for trial in ranked:
        arch = Architecture.from_params(trial.params).canonical()
        chosen.setdefault(arch.key, arch)
        if len(chosen) == k:
            break
    return list(chosen.values())


@dataclass
class FinalResult:
    """``records``: one ``train_architecture`` record per candidate, in the given order, with
    ``test_acc`` read for the chosen one only (NaN for the others); ``chosen``: the index of the
    one with the highest full validation accuracy."""

    records: list[dict] = field(default_factory=list)
    chosen: int = 0

    @property
    def best(self) -> dict:
        """The chosen candidate's record: its ``test_acc`` is the figure to report."""
        return self.records[self.chosen]

    def to_frame(self):
        import pandas as pd

        frame = pd.DataFrame(self.records)
        frame["chosen"] = frame.index == self.chosen
        return frame.set_index("key")


def train_final(candidates: Sequence[Architecture], data, recipe: Recipe = FULL, width: int | None = FINAL_WIDTH,
                seed: int = 0, device=None, progress: bool = False) -> FinalResult:
    """Train every candidate (widened to ``width`` channels unless ``width`` is None) with
    ``recipe``, choose by validation accuracy (the first on a tie), then read the test split once,
    for the chosen network only. The widened networks may exceed the search space's parameter
    limit; they must still keep every feature map >= 1 x 1. Raises ``ValueError`` for no candidates."""
    if not candidates:
        raise ValueError("train_final: candidates=[] must name at least one architecture")
    result, models = FinalResult(), []
    # 1. train every candidate; only validation is measured
    for arch in candidates:
        final = arch if width is None else arch.widened(width)
        model, record = train_architecture(final, data, recipe, seed=seed, device=device, max_params=math.inf,
                                           progress=progress)
        models.append(model)
        result.records.append({**record, "test_acc": math.nan})
    # 2. choose by validation
    result.chosen = max(range(len(result.records)), key=lambda i: (result.records[i]["val_acc"], -i))
    # 3. the test split, read once, for the chosen network
    result.best["test_acc"] = read_test_accuracy(models[result.chosen], data, recipe)
    return result
