"""The ask/tell interface that every strategy implements.

A strategy proposes ``params`` with ``ask()`` and learns the outcome with ``tell(trial)``.
It never calls the objective and never touches storage: ``search()`` does that. Constructors
take the space, a seed and the direction, and store their options (scikit-learn's habit);
learned state lives in attributes set by ``tell``.
"""

from __future__ import annotations

import math
import numbers

import numpy as np

from ..space import Space


def is_integer(x) -> bool:
    """An integer (numpy's included), not a bool: what a count option accepts."""
    return isinstance(x, numbers.Integral) and not isinstance(x, (bool, np.bool_))


def is_real(x) -> bool:
    """A finite real number, not a bool: what a numeric option accepts."""
    try:
        return isinstance(x, numbers.Real) and not isinstance(x, (bool, np.bool_)) and math.isfinite(x)
    except OverflowError:  # an int too large for a float
        return False


def check_flag(owner: str, name: str, value) -> bool:
    """``value`` if it is True or False, else a ValueError naming it (``bool("no")`` is True)."""
    if not isinstance(value, (bool, np.bool_)):
        raise ValueError(f"{owner}: {name}={value!r} must be True or False")
    return bool(value)


def check_start(owner: str, space: Space, start) -> None:
    """A ValueError naming ``start`` when it is not a point of ``space``."""
    try:
        space.check(start)
    except ValueError as e:
        raise ValueError(f"{owner}: start={start!r} is not a point of the space: {e}") from None


class SearchExhausted(Exception):
    """Raised by ``ask()`` when a strategy has nothing left to propose (a finished grid)."""


class Strategy:
    """Base class: keeps the space, a seeded ``Generator``, the direction and the told trials."""

    def __init__(self, space: Space, seed: int | None = None, minimize: bool = True):
        if not isinstance(space, Space):
            raise ValueError(f"{type(self).__name__}: space={space!r} must be a Space")
        self.space = space
        self.seed = seed
        self.rng = np.random.default_rng(seed)
        self.minimize = check_flag(type(self).__name__, "minimize", minimize)
        self.trials_ = []

    def budget_note(self, budget: int) -> str | None:
        """A sentence for the user when ``budget`` evaluations would use this strategy badly, else
        None (``search()`` warns with it; the CLI prints it)."""
        return None

    def ask(self) -> dict:
        raise NotImplementedError

    def tell(self, trial) -> None:
        self.trials_.append(trial)

    # -- multi-fidelity hooks (``fidelity.py``); a plain strategy keeps these defaults ------------
    def should_stop(self, trial) -> bool:
        """Asked by the loop after each value a multi-fidelity trial reports (``trial.curve`` so far):
        True stops the trial there. The default never stops one."""
        return False

    def may_continue(self, config) -> bool:
        """False once configuration ``config`` will never be trained again, so the loop can drop
        its checkpoint. The default keeps every checkpoint."""
        return True

    # -- helpers shared by the strategies that learn from values ---------------------------------
    def loss(self, trial) -> float:
        """The trial's value turned into something to minimise: ``value`` or ``-value``;
        ``+inf`` for a failed trial, so it is never preferred."""
        if trial.status != "ok" or trial.value is None or not math.isfinite(trial.value):
            return math.inf
        return trial.value if self.minimize else -trial.value

    def best_trial(self):
        """The best successful trial told so far, or None."""
        ok = [t for t in self.trials_ if math.isfinite(self.loss(t))]
        return min(ok, key=self.loss) if ok else None
