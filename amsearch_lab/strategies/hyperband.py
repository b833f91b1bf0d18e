"""Hyperband (Li et al. 2017, "Hyperband: A Novel Bandit-Based Approach to Hyperparameter
Optimization", JMLR 18) and model-based Hyperband (the idea of BOHB, Falkner et al. 2018,
"BOHB: Robust and Efficient Hyperparameter Optimization at Scale", ICML).

Successive halving must choose how early to judge: many configurations on a small budget (an
aggressive bracket, right when early rankings hold) or few on a large one (safe when learning
curves cross). Hyperband does not choose; it hedges, running brackets s = s_max, ..., 0 in turn
(``fidelity.hyperband_brackets``), each a successive halving with n configurations starting at
budget r = R η^{-s}, with about the same total budget B = (s_max + 1) R each:

    s_max = ⌊log_η (R / r_min)⌋,   n = ⌈(s_max + 1) η^s / (s + 1)⌉,   rung i: ⌊n η^{-i}⌋ at r η^i

For R = 27, η = 3: [[27,1],[9,3],[3,9],[1,27]], [[12,3],[4,9],[1,27]], [[6,9],[2,27]],
[[4,27]]. The last bracket (s = 0) is plain random search at full budget. After it the cycle
starts again. Configurations are drawn uniformly, with replacement.

The budgets are exact fractions of R; they are whole numbers only when R / r_min is a power of η
(R = 27 or 81 for η = 3, not 16), so an objective that trains whole epochs needs such an R: with
R = 16, η = 3 the rungs would be 16/9 and 16/3 epochs, which such an objective rejects (every job
of those rungs fails).

``ModelBasedHyperband`` keeps the schedule and changes one thing: a new configuration is drawn
from a Bayesian optimizer (``bayes.py``: a GP and expected improvement) fitted on the results of
the *largest budget that already holds enough of them*, since larger budgets are the more
faithful, and uniformly when no budget does yet, or with probability ``random_fraction`` (BOHB's
ρ, which keeps the search exploring and its worst case Hyperband's). BOHB itself fits a
kernel density estimator (TPE); here the lab's GP takes its place.
"""

from __future__ import annotations

import math

from ..fidelity import check_schedule, hyperband_brackets
from .base import SearchExhausted, is_integer, is_real
from .bayes import BayesianOptimization
from .halving import HalvingStrategy

__all__ = ["Hyperband", "ModelBasedHyperband"]


class Hyperband(HalvingStrategy):
    """Hyperband: brackets of synchronous successive halving, most aggressive first (see the module).

    eta         reduction factor η (an integer >= 2)
    min_budget  the smallest budget r_min; max_budget  the largest budget R (epochs, ...)

    ``trial.bracket`` counts the brackets run (0, 1, 2, ...); bracket b follows
    ``brackets_table[b % len(brackets_table)]``.
    """

    def __init__(self, space, seed=None, minimize=True, eta=3, min_budget=1, max_budget=27):
        super().__init__(space, seed=seed, minimize=minimize)
        check_schedule(type(self).__name__, eta, min_budget, max_budget)
        self.eta, self.min_budget, self.max_budget = eta, min_budget, max_budget
        self.brackets_table = hyperband_brackets(min_budget, max_budget, eta)

    def schedule(self, b: int) -> list:
        return self.brackets_table[b % len(self.brackets_table)]


class ModelBasedHyperband(Hyperband):
    """Hyperband whose new configurations come from Bayesian optimization (see the module).

    min_points       results a budget needs before a model is fitted on it (default: the number
                     of hyperparameters + 3, BOHB's N_min + 2 with N_min = d + 1)
    random_fraction  share of the new configurations still drawn uniformly (BOHB's ρ = 1/3)
    bo_options       options of the ``BayesianOptimization`` fitted at each draw (its seed comes
                     from this strategy's generator)

    At each new configuration: 1. with probability ``random_fraction``, or when no budget has
    ``min_points`` successful results, draw uniformly; 2. else take the largest such budget, tell
    a fresh ``BayesianOptimization`` every result at that budget, mark every configuration
    drawn so far as seen (so none is drawn twice by the model), and return its ``ask()``.
    """

    def __init__(self, space, seed=None, minimize=True, eta=3, min_budget=1, max_budget=27, min_points=None,
                 random_fraction=1 / 3, bo_options=None):
        super().__init__(space, seed=seed, minimize=minimize, eta=eta, min_budget=min_budget, max_budget=max_budget)
        if min_points is None:
            min_points = len(space) + 3
        if not (is_integer(min_points) and min_points >= 2):
            raise ValueError(f"ModelBasedHyperband: min_points={min_points!r} must be an integer >= 2")
        if not (is_real(random_fraction) and 0 <= random_fraction <= 1):
            raise ValueError(f"ModelBasedHyperband: random_fraction={random_fraction!r} must be in [0, 1]")
        bo_options = dict(bo_options or {})
        if {"space", "seed", "minimize"} & set(bo_options):
            raise ValueError(f"ModelBasedHyperband: bo_options={bo_options!r} may not set space, seed or minimize")
        try:  # a bad option fails here, before any evaluation
            BayesianOptimization(space, **bo_options)
        except TypeError as e:
            raise ValueError(f"ModelBasedHyperband: bo_options={bo_options!r} rejected by BayesianOptimization: {e}") from None
        self.min_points, self.random_fraction, self.bo_options = int(min_points), float(random_fraction), bo_options
        self.model_budgets_: list = []  # the budget each new configuration's model was fitted on (None: uniform)

    def model_budget(self):
        """The largest budget with at least ``min_points`` successful results told, or None."""
        counts: dict = {}
        for t in self.trials_:
            if math.isfinite(self.loss(t)):
                counts[t.budget] = counts.get(t.budget, 0) + 1
        enough = [b for b, n in counts.items() if b is not None and n >= self.min_points]
        return max(enough) if enough else None

    def draw_params(self) -> dict:
        # 1. a uniform draw: by chance, or while no budget has enough results for a model
        uniform = self.rng.random() < self.random_fraction
        budget = None if uniform else self.model_budget()
        seed = int(self.rng.integers(2**32))  # drawn every time, so the stream does not depend on the branch
        if budget is None:
            self.model_budgets_.append(None)
            return self.space.sample(self.rng)
        # 2. Bayesian optimization on the results at that budget
        bo = BayesianOptimization(self.space, seed=seed, minimize=self.minimize,
                                  **{"n_initial": 1, **self.bo_options})
        for t in self.trials_:
            if t.budget == budget:
                bo.tell(t)
        # the configurations drawn already, told or still training at a lower budget, count as
        # seen: without them the model, which learns nothing new between two draws of a rung,
        # would propose the same point again and again
        bo.seen_.update(self.space.unit_key(self.space.encode(p)) for p in self.configs_)
        try:
            params = bo.ask()
        except SearchExhausted:  # every point of a finite space was evaluated at that budget
            self.model_budgets_.append(None)
            return self.space.sample(self.rng)
        self.model_budgets_.append(budget)
        return params
