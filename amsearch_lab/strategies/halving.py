"""Synchronous successive halving (逐次减半; Jamieson & Talwalkar 2016, "Non-stochastic Best Arm
Identification and Hyperparameter Optimization", AISTATS), the bracket that Hyperband repeats.

One *bracket* follows a schedule ``[(n_0, r_0), (n_1, r_1), ...]`` (``fidelity.halving_schedule``):

1. draw ``n_0`` configurations (uniformly, with replacement) and train each to budget ``r_0``
   (rung 0);
2. when every result of rung k is in, *promote* the ``n_{k+1}`` best of them to rung k + 1: each
   is trained on to budget ``r_{k+1}`` (from its checkpoint, when the objective leaves one);
3. the bracket ends after its last rung; the next one starts with fresh configurations.

It is *synchronous*: rung k + 1 starts only once rung k is complete. In a sequential search that
costs nothing; with parallel workers the free ones wait for the slowest job of the rung
(``ask()`` raises ``WaitForTrials``), the weakness asynchronous halving (``asha.py``) removes.

A configuration whose job failed, returned NaN or was stopped is never promoted; when fewer than
``n_{k+1}`` configurations of a rung succeeded, rung k + 1 holds only those that did (and the
bracket ends when none did). Ties are broken by the order the configurations were drawn in.
"""

from __future__ import annotations

import math

from ..fidelity import Job, WaitForTrials, check_schedule, halving_schedule
from .base import Strategy, is_integer

__all__ = ["Bracket", "HalvingStrategy", "SuccessiveHalving"]


class Bracket:
    """The state of one synchronous successive halving: which configurations each rung holds,
    which were asked, and the loss each told result had.

    schedule  ``[(n_k, r_k), ...]``: rung k trains (up to) n_k configurations to budget r_k
    """

    def __init__(self, index: int, schedule: list):
        self.index, self.schedule = index, list(schedule)
        self.rung = 0  # the rung now being filled
        self.todo: list[int] = []  # configurations of the current rung not yet asked
        self.drawn = 0  # new configurations drawn so far (rung 0)
        self.losses: list[dict[int, float]] = [{} for _ in self.schedule]  # rung -> {config: loss}
        self.asked: list[list[int]] = [[] for _ in self.schedule]  # rung -> configs asked, in order

    @property
    def budgets(self) -> list:
        return [r for _, r in self.schedule]

    def next_job(self, draw, params_of) -> Job | None:
        """The next job of this bracket; None once it is over. ``draw()`` makes a new configuration
        (its id); ``params_of(config)`` gives its params. Raises ``WaitForTrials`` while the
        current rung waits for results."""
        while True:
            k = self.rung
            budget = self.schedule[k][1]
            # 1. rung 0 draws its configurations one by one, as they are asked
            if k == 0 and self.drawn < self.schedule[0][0]:
                self.drawn += 1
                config = draw()
            elif self.todo:
                config = self.todo.pop(0)
            elif len(self.losses[k]) < len(self.asked[k]):
                raise WaitForTrials(f"bracket {self.index}: rung {k} waits for {len(self.asked[k]) - len(self.losses[k])} "
                                    f"results")
            # 2. the rung is complete: promote its best n_{k+1}, or end the bracket
            elif k + 1 < len(self.schedule) and self.promote():
                continue
            else:
                return None
            self.asked[k].append(config)
            return Job(params_of(config), budget=budget, config=config, bracket=self.index, rung=k)

    def promote(self) -> bool:
        """Move to the next rung with the best configurations of this one (finite losses only,
        ties to the earlier draw); False when none can be promoted."""
        k = self.rung
        ranked = sorted((c for c in self.asked[k] if math.isfinite(self.losses[k][c])),
                        key=lambda c: (self.losses[k][c], c))  # ties: the earlier draw (config ids count up)
        self.todo = ranked[:self.schedule[k + 1][0]]
        if not self.todo:
            return False
        self.rung = k + 1
        return True

    def tell(self, rung: int, config: int, loss: float) -> None:
        self.losses[rung][config] = loss

    def alive(self, config: int) -> bool:
        """True while ``config`` may still be trained further in this bracket."""
        k = self.rung
        return config in self.todo or (config in self.asked[k] and k + 1 < len(self.schedule)
                                       and math.isfinite(self.losses[k].get(config, 0.0)))  # 0.0: not told yet


class HalvingStrategy(Strategy):
    """Plumbing shared by the strategies that run brackets of synchronous successive halving:
    configurations and their ids, the brackets, routing results back. A subclass says which
    schedule bracket ``b`` follows (``schedule(b)``) and may draw configurations its own way
    (``draw_params()``; uniform by default)."""

    multi_fidelity = True  # asks for jobs with budgets (fidelity.Job)

    def __init__(self, space, seed=None, minimize=True):
        super().__init__(space, seed=seed, minimize=minimize)
        self.configs_: list[dict] = []  # config id -> params
        self.brackets_: list[Bracket] = []
        self.bracket_of_: dict[int, int] = {}  # config id -> its bracket

    def schedule(self, b: int) -> list:
        raise NotImplementedError

    def draw_params(self) -> dict:
        """The params of a new configuration: drawn uniformly from the space."""
        return self.space.sample(self.rng)

    def _draw(self) -> int:
        self.configs_.append(self.draw_params())
        config = len(self.configs_) - 1
        self.bracket_of_[config] = len(self.brackets_) - 1
        return config

    def ask(self) -> Job:
        while True:
            if not self.brackets_:
                self.brackets_.append(Bracket(0, self.schedule(0)))
            job = self.brackets_[-1].next_job(self._draw, lambda c: dict(self.configs_[c]))
            if job is not None:
                return job
            b = len(self.brackets_)  # the bracket is over: the next one begins
            self.brackets_.append(Bracket(b, self.schedule(b)))

    def tell(self, trial) -> None:
        super().tell(trial)
        if trial.bracket is None or trial.config is None or trial.rung is None:
            raise ValueError(f"{type(self).__name__}: trial {trial.number} has no bracket, config or rung; "
                             f"was it asked from this strategy?")
        self.brackets_[trial.bracket].tell(trial.rung, trial.config, self.loss(trial))

    def may_continue(self, config) -> bool:
        b = self.bracket_of_.get(config)
        return b is not None and self.brackets_[b].alive(config)


class SuccessiveHalving(HalvingStrategy):
    """Synchronous successive halving, one bracket after another (see the module); each bracket
    draws its configurations uniformly, with replacement.

    n           configurations drawn at the start of each bracket (rung 0)
    eta         reduction factor η: keep ⌈n_k / η⌉ configurations, give them η times the budget
    min_budget  budget r of rung 0 (epochs, ...); max_budget  the largest budget R

    The schedule is ``fidelity.halving_schedule(n, eta, min_budget, max_budget)``, the same rungs
    as scikit-learn's ``HalvingRandomSearchCV`` (``n_candidates_``, ``n_resources_``), counted in
    integers. With n = 27, η = 3, r = 1, R = 27: 27 configurations at 1, 9 at 3, 3 at 9, 1 at 27.
    """

    def __init__(self, space, seed=None, minimize=True, n=27, eta=3, min_budget=1, max_budget=27):
        super().__init__(space, seed=seed, minimize=minimize)
        if not (is_integer(n) and n >= 1):
            raise ValueError(f"SuccessiveHalving: n={n!r} must be an integer >= 1")
        check_schedule("SuccessiveHalving", eta, min_budget, max_budget)
        self.n, self.eta, self.min_budget, self.max_budget = n, eta, min_budget, max_budget
        self.schedule_ = halving_schedule(n, eta, min_budget, max_budget)

    def schedule(self, b: int) -> list:
        return self.schedule_
