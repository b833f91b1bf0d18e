"""Early stopping (早停): stop training when the validation metric has stopped improving.

After each epoch the loop calls ``stopper.update(value, model)``. An epoch *improves* when
``value < best - min_delta`` (for a metric to maximise, such as accuracy:
``value > best + min_delta``). Training stops after ``patience`` epochs in a row without
improvement; with ``restore_best=True`` the model then gets back the weights of its best epoch.
"""

from __future__ import annotations

import math
import numbers

__all__ = ["EarlyStopping"]


class EarlyStopping:
    """``patience`` epochs without an improvement larger than ``min_delta`` stop the training.

    ``monitor`` names the record the loop passes (``"val_loss"`` by default); a name ending in
    ``"acc"`` is maximised, anything else minimised. Learned state: ``best``, ``best_epoch``,
    ``wait`` (epochs since the best), ``stopped_epoch`` (``None`` until it stops).
    """

    def __init__(self, patience: int, min_delta: float = 0.0, restore_best: bool = True,
                 monitor: str = "val_loss"):
        if not (isinstance(patience, numbers.Integral) and patience >= 0):
            raise ValueError(f"EarlyStopping: patience={patience!r} must be an integer >= 0")
        if not (isinstance(min_delta, numbers.Real) and min_delta >= 0):
            raise ValueError(f"EarlyStopping: min_delta={min_delta!r} must be >= 0")
        self.patience = int(patience)
        self.min_delta = float(min_delta)
        self.restore_best = bool(restore_best)
        self.monitor = monitor
        self.maximize = monitor.endswith("acc")
        self.best = -math.inf if self.maximize else math.inf
        self.best_epoch = None
        self.best_state = None
        self.wait = 0
        self.stopped_epoch = None

    def improves(self, value: float) -> bool:
        """Is ``value`` better than the best so far by more than ``min_delta``?"""
        if self.maximize:
            return value > self.best + self.min_delta
        return value < self.best - self.min_delta

    def update(self, value: float, model=None, epoch: int | None = None) -> bool:
        """Record one epoch's ``value``; return ``True`` when training should stop now."""
        if self.improves(value):
            self.best, self.best_epoch, self.wait = float(value), epoch, 0
            if self.restore_best and model is not None:
                # a copy, not a view: the optimizer keeps changing the live tensors
                self.best_state = {k: t.detach().clone() for k, t in model.state_dict().items()}
            return False
        self.wait += 1
        if self.wait >= self.patience:  # as Keras: patience=3 stops after the 3rd epoch without gain
            self.stopped_epoch = epoch
            return True
        return False

    def restore(self, model) -> None:
        """Load the best epoch's weights into ``model`` (when ``restore_best`` and one was seen)."""
        if self.restore_best and self.best_state is not None:
            model.load_state_dict(self.best_state)
