"""Grid search (网格搜索): every combination of a fixed set of values per dimension."""

from __future__ import annotations

from .base import SearchExhausted, Strategy, check_flag, is_integer


class GridSearch(Strategy):
    """Propose every point of ``space.grid(n)``, in order or shuffled by the seed.

    In order, the last dimension varies fastest; ``shuffle=True`` walks the grid in a seeded
    random order, which makes a partial grid an unbiased sample. ``ask()`` raises
    ``SearchExhausted`` once every point has been proposed.

    A shuffled grid of up to ``PERMUTE_MAX`` points is one ``rng.permutation``; a larger one (up
    to astronomically many points) is walked by drawing one random index per dimension and
    skipping points already proposed, so its memory grows with the trials, not the grid."""

    PERMUTE_MAX = 2**20

    def __init__(self, space, seed=None, minimize=True, n=5, shuffle=False):
        super().__init__(space, seed=seed, minimize=minimize)
        if not is_integer(n) or n < 1:
            raise ValueError(f"GridSearch: n={n!r} must be a positive integer")
        self.n, self.shuffle = n, check_flag("GridSearch", "shuffle", shuffle)
        self.grid_ = space.grid(n)
        self.order_ = None  # the shuffled order, for a grid small enough to permute at once
        if self.shuffle and self.grid_.size <= self.PERMUTE_MAX:
            self.order_ = self.rng.permutation(self.grid_.size)
        self.proposed_ = set()  # flat indices proposed so far, for a large shuffled grid
        self.position_ = 0

    def budget_note(self, budget: int) -> str | None:
        if self.shuffle or budget >= self.grid_.size:
            return None
        return (f"the grid has {self.grid_.size} points and a budget of {budget} walks only the first {budget} in "
                f"order (the last dimension varies fastest); pass options={{'shuffle': True}} for a random order")

    def _next_index(self) -> int:
        if not self.shuffle:
            return self.position_
        if self.order_ is not None:
            return int(self.order_[self.position_])
        while True:  # a uniform point of the grid: one random index per dimension (mixed radix)
            index = 0
            for values in self.grid_.values:
                index = index * len(values) + int(self.rng.integers(len(values)))
            if index not in self.proposed_:
                self.proposed_.add(index)
                return index

    def ask(self) -> dict:
        if self.position_ >= self.grid_.size:
            raise SearchExhausted(f"GridSearch: all {self.grid_.size} grid points have been proposed")
        params = self.grid_[self._next_index()]
        self.position_ += 1
        return params
