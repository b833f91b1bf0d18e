"""Random search (随机搜索): every point drawn independently from the space."""

from __future__ import annotations

import numpy as np

from ..space import Choice
from .base import Strategy, is_real


class RandomSearch(Strategy):
    """Draw each ``params`` independently from the space.

    ``step`` is the source material's "search step" (搜索步长): when given (a fraction of each
    range in (0, 1]), numeric values are drawn from the lattice ``0, step, 2*step, ..., 1`` of
    the unit cube instead of continuously, e.g. ``step=0.1`` gives 11 levels per dimension.
    Choices are always drawn uniformly.
    """

    def __init__(self, space, seed=None, minimize=True, step=None):
        super().__init__(space, seed=seed, minimize=minimize)
        if step is not None and not (is_real(step) and 0 < step <= 1):
            raise ValueError(f"RandomSearch: step={step!r} must be in (0, 1] (a fraction of each range)")
        self.step = step

    def ask(self) -> dict:
        if self.step is None:
            return self.space.sample(self.rng)
        levels = np.arange(0.0, 1.0 + 1e-9, self.step)  # the lattice in the unit cube
        params = self.space.sample(self.rng)
        for name, dim in self.space.dimensions.items():
            if not isinstance(dim, Choice):
                params[name] = dim.from_unit(levels[self.rng.integers(len(levels))])
        return params


def hit_probability(q: float, n: int) -> float:
    """Chance that at least one of ``n`` independent random trials lands in the best ``q``
    fraction of the space: :math:`P = 1 - (1 - q)^n`."""
    if not 0 < q <= 1:
        raise ValueError(f"hit_probability: q={q!r} must be in (0, 1]")
    if n < 0:
        raise ValueError(f"hit_probability: n={n!r} must be >= 0")
    return 1.0 - (1.0 - q) ** n


def trials_needed(q: float, p: float) -> int:
    """Smallest ``n`` with ``hit_probability(q, n) >= p``: :math:`n = \\lceil \\log(1-p) / \\log(1-q) \\rceil`."""
    if not 0 < q < 1:
        raise ValueError(f"trials_needed: q={q!r} must be in (0, 1)")
    if not 0 <= p < 1:
        raise ValueError(f"trials_needed: p={p!r} must be in [0, 1)")
    n = int(np.ceil(np.log1p(-p) / np.log1p(-q)))
    # guard against rounding right at an integer
    return n - 1 if n > 0 and hit_probability(q, n - 1) >= p else n
