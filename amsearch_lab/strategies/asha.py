"""Asynchronous successive halving, ASHA (Li et al. 2020, "A System for Massively Parallel
Hyperparameter Tuning", MLSys; Algorithm 2, the promotion variant).

Rungs k = 0..K train to budgets r_k = R η^{k-K} (K = ⌊log_η (R / r_min)⌋, the rungs of
Hyperband's most aggressive bracket). The budgets are exact fractions of R; they are whole numbers
only when R / r_min is a power of η (R = 27 or 81 for η = 3, not 16), so an objective that trains
whole epochs needs such an R: with R = 16, η = 3 the rungs would be 16/9 and 16/3 epochs, which
such an objective rejects (every job of those rungs fails).

ASHA never waits for a rung to fill. Whenever a worker is free (``ask()``):

1. look for a promotion, from the top rung down: in rung k (k < K), the configurations in the
   top ⌊n_k / η⌋ of the n_k results told so far that have not been promoted yet; promote the best
   of them to rung k + 1 (it trains on from r_k to r_{k+1});
2. if no rung has one, draw a new configuration (uniformly, with replacement) for rung 0.

So a configuration is promoted as soon as it is in the top 1/η of what its rung has seen *so
far*. The first results of a rung are never promoted on no evidence: ⌊n_k / η⌋ is 0 until η
results are in, so rung 0 collects η results before the first promotion. (The price of not
waiting: a configuration promoted early might not have made the top 1/η of the full rung; Li
et al. show this is rare and bounded.) A failed, NaN or stopped result has an infinite loss and
is never promoted. Ties are broken by the order the results were told.
"""

from __future__ import annotations

import math

from ..fidelity import Job, check_schedule, hyperband_brackets
from .base import Strategy

__all__ = ["ASHA"]


class ASHA(Strategy):
    """Asynchronous successive halving (see the module).

    eta         reduction factor η (an integer >= 2)
    min_budget  budget of rung 0 (r_min); max_budget  budget of the top rung R (epochs, ...)

    ``budgets`` lists the rungs' budgets; ``rungs_[k]`` maps each configuration told at rung k to
    its loss, in the order they were told.
    """

    multi_fidelity = True  # asks for jobs with budgets (fidelity.Job)

    def __init__(self, space, seed=None, minimize=True, eta=3, min_budget=1, max_budget=27):
        super().__init__(space, seed=seed, minimize=minimize)
        check_schedule("ASHA", eta, min_budget, max_budget)
        self.eta, self.min_budget, self.max_budget = eta, min_budget, max_budget
        self.budgets = [r for _, r in hyperband_brackets(min_budget, max_budget, eta)[0]]
        self.configs_: list[dict] = []  # config id -> params
        self.rungs_: list[dict[int, float]] = [{} for _ in self.budgets]  # rung -> {config: loss}
        self.promoted_: list[set[int]] = [set() for _ in self.budgets]  # rung -> configs promoted out of it

    def ask(self) -> Job:
        # 1. a promotion, from the top rung down
        for k in range(len(self.budgets) - 2, -1, -1):
            config = self.promotable(k)
            if config is not None:
                self.promoted_[k].add(config)
                return Job(dict(self.configs_[config]), budget=self.budgets[k + 1], config=config, rung=k + 1)
        # 2. else a new configuration at rung 0
        self.configs_.append(self.space.sample(self.rng))
        config = len(self.configs_) - 1
        return Job(dict(self.configs_[config]), budget=self.budgets[0], config=config, rung=0)

    def promotable(self, k: int) -> int | None:
        """The best configuration of rung k that is in its top ⌊n_k / η⌋ and not promoted yet, or None."""
        losses = self.rungs_[k]
        top = sorted((c for c in losses if math.isfinite(losses[c])), key=losses.get)[:len(losses) // self.eta]
        waiting = [c for c in top if c not in self.promoted_[k]]
        return waiting[0] if waiting else None

    def tell(self, trial) -> None:
        super().tell(trial)
        if trial.config is None or trial.rung is None:
            raise ValueError(f"ASHA: trial {trial.number} has no config or rung; was it asked from this strategy?")
        self.rungs_[trial.rung][trial.config] = self.loss(trial)

    def may_continue(self, config) -> bool:
        """A configuration below the top rung may be promoted whenever its rung grows, so its
        checkpoint is kept; one at the top rung, or with an infinite loss, never goes on."""
        for k in range(len(self.budgets) - 1, -1, -1):
            if config in self.rungs_[k]:
                return k < len(self.budgets) - 1 and math.isfinite(self.rungs_[k][config])
        return True  # asked, not told yet
