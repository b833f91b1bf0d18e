"""Multi-fidelity search: the pieces the loop and the strategies share.

A *fidelity* (or *resource*, *budget*) is how much an evaluation may spend: epochs of training,
training images, seconds. A multi-fidelity strategy judges many configurations cheaply (a few
epochs) and gives more only to the ones that look best, instead of training every configuration
to the end. Glossary, as in the papers:

- **configuration**: a point ``params`` of the space; it may be trained in several *jobs*;
- **job**: one call of the objective: train a configuration up to a budget (``Job``);
- **rung**: the set of results at one budget; a configuration *promoted* from rung k goes on
  training to the budget of rung k + 1;
- **η** (``eta``): the reduction factor: each rung keeps about 1/η of the configurations and
  gives them η times the budget;
- **bracket**: one run of successive halving with its own starting budget (Hyperband runs
  several).

The objective of a multi-fidelity search takes a second argument, a ``Run``::

    def objective(params, run):
        model = run.state if run.state is not None else build(params)  # the checkpoint, if any
        for epoch in range(run.start, run.budget or MAX_EPOCHS):       # continue from run.start
            train_one_epoch(model)
            run.report(epoch + 1, validate(model), state=model)        # may raise TrialStopped
        return validate(model)

``search()`` tells the two kinds apart by their signature: an objective with two required
positional parameters gets a ``Run``; one with a single parameter is called as ``objective(params)``
at every budget, as before (its value is then the same at every budget).

This module also holds the arithmetic of the schedules (``ilog``, ``halving_schedule``,
``hyperband_brackets``), which avoids three pitfalls of popular tools:

- a floating ``log(243, 3)`` is 4.999..., whose floor silently drops a rung or a whole bracket:
  every count here is an integer, and every budget an exact fraction (``exact(0.1)`` is 1/10);
- a bracket chosen by hashing a trial's name (``hash()`` changes from one process to the next)
  makes a seeded run prune differently each time: here the schedule depends only on the
  options, and which job goes where only on the order of ``ask()`` calls;
- the budgets are options (``min_budget``, ``max_budget``), never an "auto" guess made from the
  first trial that happens to finish.
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass
from fractions import Fraction

__all__ = ["Job", "Run", "TrialStopped", "WaitForTrials", "ilog", "halving_schedule", "hyperband_brackets",
           "as_budget", "resource_of", "check_schedule"]


class TrialStopped(Exception):
    """Raised by ``Run.report`` when the strategy stops the trial (or the search's resource budget
    is spent). Let it propagate out of the objective: the loop records the trial as ``stopped``
    with its learning curve."""


class WaitForTrials(Exception):
    """Raised by ``ask()`` when no job can start until a running trial is told: a synchronous rung
    waits for its last results. A sequential search never sees it (every trial is told before the
    next ask); a parallel one waits for a result and asks again."""


@dataclass
class Job:
    """What a multi-fidelity strategy's ``ask()`` returns: train ``params`` up to ``budget``.

    config   the configuration's id, given by the strategy; every job of one configuration has
             the same id, so the loop can hand a promoted job the checkpoint its last job left
    budget   the resource to train up to (epochs, ...); None = the objective's full budget
    bracket, rung   where the job sits in the strategy's schedule (None when it has none)
    """

    params: dict
    budget: float | None = None
    config: int | None = None
    bracket: int | None = None
    rung: int | None = None


class Run:
    """What a multi-fidelity objective receives besides ``params``.

    budget  the step (epoch, ...) to train up to; None = the objective's own maximum
    start   the step already trained in ``state`` (0 for a new configuration)
    state   the checkpoint the configuration's previous job left with ``report(..., state=)``, or
            None; the loop keeps it in memory by reference (no copy), so the objective must not
            change a state after it returns, and a search resumed from storage starts promoted
            configurations from scratch (step 0), counting every step again
    curve   the ``[step, value]`` pairs reported so far by this job
    """

    def __init__(self, params: dict, budget=None, start=0, state=None, should_stop=None, spent=None):
        self.params, self.budget, self.start, self.state = params, budget, start, state
        self.curve: list[list] = []
        self.stopped: str | None = None  # why the job was stopped, once it is
        self._should_stop = should_stop  # (step, value) -> reason or None; set by the loop
        self._spent = spent

    @property
    def last_step(self):
        """The last step reported, or ``start`` when none was."""
        return self.curve[-1][0] if self.curve else self.start

    def report(self, step, value, state=None) -> None:
        """Record ``value`` at ``step`` (the steps of one job must increase) and keep ``state`` as
        this configuration's checkpoint; raise ``TrialStopped`` when the strategy stops the trial
        here. A NaN value is recorded (as null in storage) and never stops anything by itself."""
        if not (isinstance(step, numbers.Real) and not isinstance(step, bool) and math.isfinite(step)):
            raise ValueError(f"Run.report: step={step!r} must be a finite number")
        if step <= self.last_step:
            raise ValueError(f"Run.report: step={step!r} must be greater than the last step {self.last_step}")
        if hasattr(value, "item") and callable(value.item):
            value = value.item()
        if isinstance(value, bool) or not isinstance(value, numbers.Real):
            raise ValueError(f"Run.report: value={value!r} must be a real number")
        value = float(value)
        self.curve.append([step, value if math.isfinite(value) else None])
        if state is not None:
            self.state = state
        if self._should_stop is not None:
            reason = self._should_stop(step, value)
            if reason:
                self.stopped = reason
                raise TrialStopped(reason)


# -- the schedules, in integers ---------------------------------------------------------------------
def ilog(x, base: int) -> int:
    """The largest integer k with ``base**k <= x`` (``x >= 1``, integer ``base >= 2``): ⌊log_base x⌋
    without floating point, where ``floor(math.log(243, 3))`` is 4, not 5."""
    if not (isinstance(base, numbers.Integral) and base >= 2):
        raise ValueError(f"ilog: base={base!r} must be an integer >= 2")
    if not x >= 1:
        raise ValueError(f"ilog: x={x!r} must be >= 1")
    k, power = 0, base
    while power <= x:
        k, power = k + 1, power * base
    return k


def exact(x) -> Fraction:
    """A budget as an exact fraction, read as it is written: ``Fraction(0.1)`` is the binary
    double 0.1000000000000000055..., so 8.1 / 0.1 would come out as 80.99... and lose a rung;
    ``exact(0.1)`` is 1/10."""
    return Fraction(str(x)) if isinstance(x, float) else Fraction(x)


def as_budget(x: Fraction):
    """A budget as the loop passes it: an ``int`` when whole, else a ``float``."""
    return int(x) if x.denominator == 1 else float(x)


def check_schedule(owner: str, eta, min_budget, max_budget) -> None:
    """A ValueError naming ``eta``, ``min_budget`` or ``max_budget`` when a schedule cannot use it."""
    if not (isinstance(eta, numbers.Integral) and not isinstance(eta, bool) and eta >= 2):
        raise ValueError(f"{owner}: eta={eta!r} must be an integer >= 2")
    for name, value in (("min_budget", min_budget), ("max_budget", max_budget)):
        if not (isinstance(value, numbers.Real) and not isinstance(value, bool) and 0 < value < math.inf):
            raise ValueError(f"{owner}: {name}={value!r} must be a positive number")
    if min_budget > max_budget:
        raise ValueError(f"{owner}: min_budget={min_budget!r} must be <= max_budget={max_budget!r}")


def halving_schedule(n: int, eta: int = 3, min_budget=1, max_budget=27) -> list[tuple[int, object]]:
    """The rungs of one synchronous successive halving (Jamieson & Talwalkar 2016) as
    ``[(n_k, r_k), ...]``: ``n_k`` configurations trained to budget ``r_k``, computed as
    scikit-learn's ``HalvingRandomSearchCV`` does (without aggressive elimination) but in
    integers:

        K   = min(⌊log_η n⌋, ⌊log_η (⌊R / r⌋)⌋) + 1     rungs
        r_k = min(r η^k, R)                            budget of rung k
        n_0 = n,  n_{k+1} = ⌈n_k / η⌉                    configurations kept

    so the last rung holds between 1 and η configurations, at a budget that may stay below R
    when n is too small to need every rung.
    """
    check_schedule("halving_schedule", eta, min_budget, max_budget)
    if not (isinstance(n, numbers.Integral) and not isinstance(n, bool) and n >= 1):
        raise ValueError(f"halving_schedule: n={n!r} must be an integer >= 1")
    r, R = exact(min_budget), exact(max_budget)
    rungs = min(ilog(n, eta), ilog(math.floor(R / r), eta)) + 1
    out, n_k = [], int(n)
    for k in range(rungs):
        out.append((n_k, as_budget(min(r * eta**k, R))))
        n_k = -(-n_k // eta)  # ⌈n_k / η⌉
    return out


def hyperband_brackets(min_budget=1, max_budget=27, eta: int = 3) -> list[list[tuple[int, object]]]:
    """Hyperband's brackets (Li et al. 2017, JMLR, Algorithm 1) as ``[[(n_i, r_i), ...], ...]``,
    most aggressive first. With R = max_budget / min_budget (in units of the minimum budget):

        s_max = ⌊log_η R⌋,   B = (s_max + 1) R
        for s = s_max, ..., 0:   n = ⌈(B / R) η^s / (s + 1)⌉,   r = R η^{-s}
            rung i = 0..s:       n_i = ⌊n η^{-i}⌋,   r_i = r η^i     (times min_budget)

    For R = 27, η = 3 this is [[27,1],[9,3],[3,9],[1,27]], [[12,3],[4,9],[1,27]], [[6,9],[2,27]],
    [[4,27]], the paper's table; ``s_max`` is counted in integers, so R = 81 or 243 gives 5 or 6
    brackets. The budgets are exact fractions, passed on as ``int`` when whole."""
    check_schedule("hyperband_brackets", eta, min_budget, max_budget)
    unit = exact(min_budget)
    R = exact(max_budget) / unit
    s_max = ilog(math.floor(R), eta)
    brackets = []
    for s in range(s_max, -1, -1):
        n = math.ceil(Fraction(s_max + 1) * eta**s / (s + 1))  # B/R = s_max + 1
        r = R / eta**s
        brackets.append([(n // eta**i, as_budget(r * eta**i * unit)) for i in range(s + 1)])
    return brackets


def resource_of(trial) -> float:
    """The resource a finished trial spent: its last reported step minus the step it started
    from. A trial that reported nothing counts its budget when it succeeded (a plain objective
    trained to the budget it was given) and 0 when it failed (it raised before its first report;
    the loop cannot know more) or had no budget."""
    if trial.curve:
        end = trial.curve[-1][0]
    elif trial.status == "failed":
        return 0.0
    else:
        end = trial.budget
    if end is None:
        return 0.0
    return float(end) - float(trial.start_step or 0)
