"""The median stopping rule (Golovin et al. 2017, "Google Vizier: A Service for Black-Box
Optimization", KDD, section 3.2.2).

Every trial is meant to train to the full budget and reports its value after each step. After
each report at step s the rule compares it with the *completed* trials:

    stop the trial if its best value up to step s is strictly worse than the median, over the
    completed trials, of their running averages  ō_{1:s} = mean of the values they reported at
    steps <= s.

A trial that reported only NaN has no best value and is stopped as soon as the rule applies. The
rule waits for ``min_trials`` completed trials (the median of two curves is a poor judge) and
never stops a trial before step ``min_step``. It is a stopping rule, not a sampler: new
configurations come from ``sampler`` (any registered strategy, random search by default), which
is told every trial, the stopped ones as unsuccessful. Every job trains a new configuration,
so no checkpoint is kept (``may_continue`` is False).

Cost: when a completed trial is told, the running averages of every completed curve are laid
out on the union of their steps, a matrix (n_completed, n_steps) whose column j holds each
curve's running average at its last step <= steps[j] (NaN before its first), and the median of
every column is taken at once. ``should_stop`` is then one binary search and a look-up: most of
its calls come from trials stopped after a few steps, between two completed trials, so a
median computed on demand and cached would mostly be computed.
"""

from __future__ import annotations

import math

import numpy as np

from ..fidelity import Job
from .base import Strategy, is_integer, is_real

__all__ = ["MedianStopping"]


class MedianStopping(Strategy):
    """The median stopping rule over the configurations ``sampler`` proposes (see the module).

    sampler          the strategy that proposes configurations: a registered name (default
                     ``"random"``) built on the same space, seed and direction, with
                     ``sampler_options``
    max_budget       the budget every job is given (None: the objective's own maximum)
    min_trials       completed trials needed before anything is stopped
    min_step         no trial is stopped before this step

    In a parallel search (``parallel.py``) the rule runs on the worker with the completed trials
    known when the job started, so it stops fewer trials than it would sequentially.
    """

    multi_fidelity = True  # asks for jobs with budgets (fidelity.Job)

    def __init__(self, space, seed=None, minimize=True, sampler="random", sampler_options=None, max_budget=None,
                 min_trials=3, min_step=1):
        super().__init__(space, seed=seed, minimize=minimize)
        from . import get_strategy  # the registry imports this module

        if not isinstance(sampler, str) or sampler in ("median", "sha", "hyperband", "bohb", "asha"):
            raise ValueError(f"MedianStopping: sampler={sampler!r} must be the name of a registered strategy that "
                             f"proposes params (random, bayes, ...), not a multi-fidelity one")
        if max_budget is not None and not (is_real(max_budget) and max_budget > 0):
            raise ValueError(f"MedianStopping: max_budget={max_budget!r} must be None or a positive number")
        if not (is_integer(min_trials) and min_trials >= 1):
            raise ValueError(f"MedianStopping: min_trials={min_trials!r} must be an integer >= 1")
        if not (is_real(min_step) and min_step >= 0):
            raise ValueError(f"MedianStopping: min_step={min_step!r} must be a number >= 0")
        self.sampler, self.sampler_options = sampler, dict(sampler_options or {})
        self.max_budget, self.min_trials, self.min_step = max_budget, int(min_trials), min_step
        try:
            self.sampler_ = get_strategy(sampler)(space, seed=seed, minimize=minimize, **self.sampler_options)
        except TypeError as e:
            raise ValueError(f"MedianStopping: sampler_options={self.sampler_options!r} rejected by {sampler!r}: {e}") from None
        self.n_asked_ = 0
        self.completed_: list[tuple[np.ndarray, np.ndarray]] = []  # (steps, running averages) of each completed curve
        self.steps_ = np.empty(0)  # (n_steps,): every step a completed curve reported, sorted
        self.averages_ = np.empty((0, 0))  # (n_completed, n_steps): running average at each of steps_
        self.medians_ = np.empty(0)  # (n_steps,): median of each column over the curves that reached it
        self.counts_ = np.empty(0, dtype=int)  # (n_steps,): how many curves had reported by each step

    def ask(self) -> Job:
        params = self.sampler_.ask()
        self.n_asked_ += 1
        return Job(params, budget=self.max_budget, config=self.n_asked_ - 1)

    def tell(self, trial) -> None:
        super().tell(trial)
        self.sampler_.tell(trial)
        if trial.ok:
            points = [(step, self._loss(v)) for step, v in trial.curve if v is not None]
            if points:
                steps, losses = np.array(points).T
                self.completed_.append((steps, np.cumsum(losses) / np.arange(1, len(losses) + 1)))
                self._lay_out()

    def _lay_out(self) -> None:
        """Rebuild ``steps_`` and ``averages_`` from the completed curves; forget cached medians."""
        self.steps_ = np.unique(np.concatenate([steps for steps, _ in self.completed_]))
        rows = []
        for steps, avg in self.completed_:
            i = np.searchsorted(steps, self.steps_, side="right") - 1  # last own step <= each step
            rows.append(np.where(i >= 0, avg[np.maximum(i, 0)], np.nan))
        self.averages_ = np.array(rows)
        self.counts_ = np.sum(~np.isnan(self.averages_), axis=0)
        self.medians_ = np.nanmedian(self.averages_, axis=0)  # no column is all NaN: its step is some curve's

    def may_continue(self, config) -> bool:
        return False  # every job trains a new configuration to the end or is stopped for good

    def _loss(self, value) -> float:
        return value if self.minimize else -value

    def median_at(self, step) -> float | None:
        """The median over completed trials of their running average at ``step`` (loss units), or
        None while fewer than ``min_trials`` completed trials reported at or before it."""
        j = int(np.searchsorted(self.steps_, step, side="right")) - 1  # the column of step
        if j < 0 or self.counts_[j] < self.min_trials:
            return None
        return float(self.medians_[j])

    def should_stop(self, trial) -> bool:
        step = trial.curve[-1][0]
        if step < self.min_step:
            return False
        median = self.median_at(step)
        if median is None:
            return False
        best = min((self._loss(v) for _, v in trial.curve if v is not None), default=math.inf)
        return best > median
