"""A batch objective: k configurations of SGD hyperparameters trained in one pass.

Random search over learning rates spends its time training one network per configuration.
``BatchTraining`` trains k of them at once as one stacked ``Population`` and is called by
``search(objective, space, batch_size=k)``: the strategy proposes k configurations, one call
trains them side by side, and each result becomes its own trial.

Every configuration starts from the same initial weights and sees the same shuffles (common
random numbers): its value is exactly what one ``fit`` with those hyperparameters and seeds
gives, whichever batch it lands in, so the batch changes the speed, never the result.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable, Sequence

from torch import nn

from .stacked import HYPERPARAMETERS, Population

__all__ = ["BatchTraining"]

METRICS = ("val_error", "val_loss")


class BatchTraining:
    """``objective([params, ...]) -> [(value, info), ...]``: train one network per ``params``.

    make_model   ``make_model()`` builds the network; it must give the same initial weights at
                 every call (e.g. ``lambda: models.mlp(seed=0)``)
    data         ``(x_train, y_train, x_val, y_val)`` or ``load_mnist()``
    epochs       epochs per configuration; ``batch_size`` the SGD mini-batch size
    fixed        values of ``lr``, ``momentum``, ``weight_decay`` that ``params`` does not give
                 (default momentum 0, weight decay 0); ``params`` may hold only those three names
    metric       the value: ``"val_error"`` (1 - validation accuracy) or ``"val_loss"``, minimized
    seed         the shuffle seed shared by every configuration
    vectorized   one stacked model (True) or one ``fit`` after another (False): same values

    ``info`` holds ``val_loss``, ``val_acc`` and ``train_loss`` after the last epoch (None for a
    NaN: a JSON history has no NaN). A configuration that diverges gets NaN (a failed trial); the
    others are unaffected. Bad arguments raise ValueError at once.
    """

    def __init__(self, make_model: Callable[[], nn.Module], data, epochs: int = 1, fixed: dict | None = None,
                 metric: str = "val_error", batch_size: int = 128, seed: int = 0, vectorized: bool = True,
                 device=None):
        if not callable(make_model):
            raise ValueError(f"BatchTraining: make_model={make_model!r} must be a callable returning a network")
        if not (isinstance(epochs, numbers.Integral) and not isinstance(epochs, bool) and epochs >= 1):
            raise ValueError(f"BatchTraining: epochs={epochs!r} must be an integer >= 1")
        if metric not in METRICS:
            raise ValueError(f"BatchTraining: metric={metric!r} must be one of {METRICS}")
        if not (isinstance(batch_size, numbers.Integral) and not isinstance(batch_size, bool) and batch_size >= 1):
            raise ValueError(f"BatchTraining: batch_size={batch_size!r} must be an integer >= 1")
        if not (isinstance(seed, numbers.Integral) and not isinstance(seed, bool)):
            raise ValueError(f"BatchTraining: seed={seed!r} must be an integer")
        fixed = {"momentum": 0.0, "weight_decay": 0.0, **(fixed or {})}
        bad = [n for n in fixed if n not in HYPERPARAMETERS]
        if bad:
            raise ValueError(f"BatchTraining: fixed={fixed!r} may only hold {HYPERPARAMETERS}")
        self.make_model, self.data, self.epochs, self.fixed, self.metric = make_model, data, int(epochs), fixed, metric
        self.batch_size, self.seed, self.vectorized, self.device = int(batch_size), int(seed), vectorized, device

    def __repr__(self) -> str:
        return f"BatchTraining(epochs={self.epochs}, metric={self.metric!r}, vectorized={self.vectorized})"

    def __call__(self, batch: Sequence[dict]) -> list[tuple[float, dict]]:
        batch = list(batch)
        if not batch:
            return []
        hyper = {}
        for name in HYPERPARAMETERS:
            values = [p.get(name, self.fixed.get(name)) for p in batch]
            if any(v is None for v in values):
                raise ValueError(f"BatchTraining: no value for {name!r}: give it in the space or in fixed")
            hyper[name] = values
        unknown = sorted({k for p in batch for k in p} - set(HYPERPARAMETERS))
        if unknown:
            raise ValueError(f"BatchTraining: params hold {unknown}; only {HYPERPARAMETERS} are trained here")
        pop = Population([self.make_model() for _ in batch], **hyper, seeds=[self.seed] * len(batch),
                         vectorized=self.vectorized, device=self.device)
        last = pop.train(self.data, epochs=self.epochs, batch_size=self.batch_size)[-1]
        out = []
        for i in range(len(batch)):
            value = float(last["val_loss"][i] if self.metric == "val_loss" else 1.0 - last["val_acc"][i])
            info = {k: float(v) if math.isfinite(v := last[k][i]) else None for k in ("val_loss", "val_acc", "train_loss")}
            out.append((value if math.isfinite(value) else math.nan, info))
        return out
