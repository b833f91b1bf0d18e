"""Grid search (网格搜索): every combination of a fixed set of values per dimension."""

from __future__ import annotations

import numbers

from .base import SearchExhausted, Strategy


class GridSearch(Strategy):
    """Propose every point of ``space.grid(n)``, in order or shuffled by the seed.

    In order, the last dimension varies fastest; ``shuffle=True`` walks the grid in a seeded
    random order, which makes a partial grid an unbiased sample. ``ask()`` raises
    ``SearchExhausted`` once every point has been proposed."""

    def __init__(self, space, seed=None, minimize=True, n=5, shuffle=False):
        super().__init__(space, seed=seed, minimize=minimize)
        if not isinstance(n, numbers.Integral) or n < 1:
            raise ValueError(f"GridSearch: n={n!r} must be a positive integer")
        self.n, self.shuffle = n, bool(shuffle)
        self.grid = space.grid(n)
        self.order = self.rng.permutation(len(self.grid)) if self.shuffle else range(len(self.grid))
        self.position = 0

    def ask(self) -> dict:
        if self.position >= len(self.grid):
            raise SearchExhausted(f"GridSearch: all {len(self.grid)} grid points have been proposed")
        params = self.grid[int(self.order[self.position])]
        self.position += 1
        return params
