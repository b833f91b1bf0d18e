"""Regularized (aging) evolution (Real et al., 2019, "Regularized Evolution for Image
Classifier Architecture Search"), the strategy that found AmoebaNet.

A *population* of the ``population`` most recently evaluated individuals is kept in a queue:

1. the first ``population`` proposals are drawn at random from the space;
2. afterwards, each proposal is a child: draw ``sample_size`` individuals from the population
   (with replacement, as in the paper's code), take the best of them as the parent
   (*tournament selection*), and copy it with one dimension changed (*mutation*: a different
   option of one Choice, or one step of one numeric dimension, as ``Space.neighbours`` does);
3. each told trial joins the population on the right, and the *oldest* one leaves on the left
   (*aging*), however good it was. A failed trial (an invalid architecture) takes its place in
   the queue but is never drawn for a tournament.

Aging is the "regularization": an individual survives only through its children, so the
population keeps architectures that train well again and again rather than one lucky score.
Compared with the GA of ``genetic.py``: no crossover, one mutation per child, and the oldest
(not the worst) individual is removed.

For clarity over speed the tournament scans a Python list; with populations of tens of
individuals this costs microseconds next to training a network.
"""

from __future__ import annotations

import math
from collections import deque

from .base import Strategy, is_integer, is_real


class RegularizedEvolution(Strategy):
    """Aging evolution with tournament selection and one-dimension mutation (see the module).

    population   individuals kept alive (the paper's P)
    sample_size  individuals per tournament (the paper's S), drawn with replacement as in the
                 paper; 1 = a random parent, P = the best with probability 1 - (1 - 1/P)^P
                 (about 0.64 for P = 20); default ``min(5, population)``
    scale        step of a mutation on a continuous Float, as a fraction of its unit range
    """

    def __init__(self, space, seed=None, minimize=True, population=20, sample_size=None, scale=0.1):
        super().__init__(space, seed=seed, minimize=minimize)
        if not (is_integer(population) and population >= 2):
            raise ValueError(f"RegularizedEvolution: population={population!r} must be an integer >= 2")
        if sample_size is None:  # a default never conflicts with a population the user chose
            sample_size = min(5, population)
        if not (is_integer(sample_size) and 1 <= sample_size <= population):
            raise ValueError(f"RegularizedEvolution: sample_size={sample_size!r} must be an integer "
                             f"in [1, population={population}]")
        if not (is_real(scale) and 0 < scale <= 1):
            raise ValueError(f"RegularizedEvolution: scale={scale!r} must be in (0, 1]")
        self.population, self.sample_size, self.scale = int(population), int(sample_size), float(scale)
        # learned state
        self.population_ = deque(maxlen=self.population)  # (params, loss), oldest on the left
        self.n_asked_ = 0

    def ask(self) -> dict:
        self.n_asked_ += 1
        # 1. the initial population: random architectures
        alive = [(p, loss) for p, loss in self.population_ if math.isfinite(loss)]
        if self.n_asked_ <= self.population or not alive:
            return self.space.sample(self.rng)
        # 2. tournament: the best of sample_size living individuals drawn with replacement
        picks = self.rng.integers(len(alive), size=self.sample_size)
        parent, _ = min((alive[i] for i in picks), key=lambda pl: pl[1])
        return self.mutate(parent)

    def tell(self, trial) -> None:
        super().tell(trial)
        # 3. aging: the newest joins, the oldest leaves (deque(maxlen) drops it)
        self.population_.append((dict(trial.params), self.loss(trial)))

    def mutate(self, params: dict) -> dict:
        """``params`` with one dimension, chosen uniformly, moved to one of its neighbours."""
        names = [n for n, d in self.space.dimensions.items() if d.neighbours(params[n], self.scale)]
        if not names:  # every dimension has a single value: nothing to mutate
            return dict(params)
        name = names[int(self.rng.integers(len(names)))]
        options = self.space.dimensions[name].neighbours(params[name], self.scale)
        return {**params, name: options[int(self.rng.integers(len(options)))]}
