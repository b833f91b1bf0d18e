"""Simulating multi-fidelity searches without paying for them twice.

Two tools for the lesson on multi-fidelity search and its playground:

- ``CurveMemo`` wraps a multi-fidelity objective whose learning curve depends only on the
  configuration (``curves.MnistMLP``, ``curves.SyntheticCurves``: each configuration is seeded
  from ``(seed, params)`` and continuing from a checkpoint equals one uninterrupted run). It
  trains each configuration once, as far as any job asks, and replays the recorded curve to every
  later job, so that several strategies can be compared on the same configurations for the cost
  of the epochs the union of their jobs needs. The strategies see exactly the reports, and count
  exactly the steps, they would have seen and counted without it.
- ``simulate_workers`` runs a strategy on ``W`` parallel workers in *simulated* time: a
  discrete-event simulation in which a job lasts ``seconds_per_step`` per step it trains. A
  synchronous strategy whose rung waits for its last results (its ``ask()`` raises
  ``fidelity.WaitForTrials``) leaves the free workers idle until the next job ends; an
  asynchronous one (ASHA, Li et al. 2020, "A System for Massively Parallel Hyperparameter
  Tuning", MLSys) never waits. ``idle_fraction`` measures the difference.
"""

from __future__ import annotations

import heapq
import json
import math
import numbers
from collections.abc import Callable

import pandas as pd

from .fidelity import WaitForTrials
from .strategies import SearchExhausted, Strategy
from .study import Checkpoints, _evaluate, as_job, takes_run

__all__ = ["CurveMemo", "simulate_workers", "idle_fraction", "timeline"]


class _Recorder:
    """Plumbing: the ``run`` a memoised objective trains with. Each report is recorded in the
    memo (value and checkpoint) before it is passed on to the search's own ``run`` (which may
    raise ``TrialStopped``), so a stopped job leaves the memo consistent."""

    def __init__(self, memo: CurveMemo, key: str, outer, budget, start, state):
        self.memo, self.key, self.outer = memo, key, outer
        self.params, self.budget, self.start, self.state = outer.params, budget, start, state

    def report(self, step, value, state=None) -> None:
        curve = self.memo.curves[self.key]
        self.memo.steps_trained += step - (curve[-1][0] if curve else 0)
        curve.append([step, value])
        if state is not None:
            self.state = self.memo.states[self.key] = state
        self.outer.report(step, value, state=step)


class CurveMemo:
    """A multi-fidelity objective that trains each configuration once and replays its curve.

    objective  a multi-fidelity objective ``f(params, run)`` whose reports depend only on
               ``params`` (not on how its training is cut into jobs, nor on what ran before)
    max_step   the step the objective trains to when ``run.budget`` is None; by default its
               ``max_epochs`` or ``max_steps`` attribute

    Calling the memo as ``memo(params, run)`` reports, for the steps ``run.start + 1 ..
    run.budget``, the values already recorded for ``params`` (no training), then trains the rest
    from the furthest checkpoint the objective left. What the search keeps as a configuration's
    checkpoint is the step reached (an int); the objective's own checkpoint stays in the memo:
    ``state(params)``. ``steps_trained`` counts the steps really trained, ``steps_replayed``
    those replayed. Memory: one checkpoint per configuration ever trained.

    Raises ``ValueError`` for an objective that is not multi-fidelity, a missing ``max_step``,
    or a ``run.start`` beyond what the memo recorded.
    """

    def __init__(self, objective: Callable, max_step: int | None = None):
        if not (callable(objective) and takes_run(objective)):
            raise ValueError(f"CurveMemo: objective={objective!r} must be a multi-fidelity objective f(params, run)")
        if max_step is None:
            max_step = getattr(objective, "max_epochs", getattr(objective, "max_steps", None))
        if not (isinstance(max_step, numbers.Integral) and not isinstance(max_step, bool) and max_step >= 1):
            raise ValueError(f"CurveMemo: max_step={max_step!r} must be an integer >= 1 (the objective has no "
                             f"max_epochs or max_steps attribute to take it from)")
        self.objective, self.max_step = objective, int(max_step)
        self.curves: dict[str, list] = {}  # key -> [[step, value], ...] trained so far
        self.states: dict[str, object] = {}  # key -> the objective's checkpoint at the curve's last step
        self.steps_trained = self.steps_replayed = 0

    def __repr__(self):
        return (f"CurveMemo({self.objective!r}: {len(self.curves)} configurations, {self.steps_trained} steps trained, "
                f"{self.steps_replayed} replayed)")

    @staticmethod
    def key(params: dict) -> str:
        """The memo's key for ``params``: their JSON text with sorted names."""
        return json.dumps(params, sort_keys=True, default=repr)

    def curve(self, params: dict) -> list:
        """The ``[step, value]`` pairs recorded for ``params`` (empty if never trained)."""
        return list(self.curves.get(self.key(params), []))

    def state(self, params: dict):
        """The objective's checkpoint of ``params`` at the last recorded step, or None."""
        return self.states.get(self.key(params))

    def __call__(self, params: dict, run):
        key = self.key(params)
        curve = self.curves.setdefault(key, [])
        reached = curve[-1][0] if curve else 0
        if run.start > reached:
            raise ValueError(f"CurveMemo: run.start={run.start!r} but the memo recorded {params} only up to step "
                             f"{reached}")
        target = self.max_step if run.budget is None else run.budget
        value = None
        # 1. replay what was trained already
        for step, recorded in [point for point in curve if run.start < point[0] <= target]:
            self.steps_replayed += 1
            run.report(step, math.nan if recorded is None else recorded, state=step)
            value = recorded
        # 2. train the rest, from the furthest checkpoint
        if reached < target:
            value = self.objective(params, _Recorder(self, key, run, budget=target, start=reached,
                                                     state=self.states.get(key)))
        return value


def _seconds_per_step(seconds_per_step, params) -> float:
    seconds = seconds_per_step(params) if callable(seconds_per_step) else seconds_per_step
    if not (isinstance(seconds, numbers.Real) and not isinstance(seconds, bool) and 0 < seconds < math.inf):
        raise ValueError(f"simulate_workers: seconds_per_step gave {seconds!r} for {params}; it must be a positive "
                         f"number")
    return float(seconds)


def simulate_workers(strategy: Strategy, objective: Callable, n_workers: int = 4, seconds_per_step=1.0,
                     resource_budget: float = 100, max_jobs: int = 100_000) -> pd.DataFrame:
    """Run ``strategy`` on ``n_workers`` parallel workers in simulated time; return the timeline.

    strategy         a built ``Strategy`` (asked and told here, as ``search()`` does)
    objective        a multi-fidelity objective ``f(params, run)`` (``fidelity.py``)
    n_workers        W, the number of workers (an integer >= 1)
    seconds_per_step the simulated seconds a job takes per step it trains: a positive number, or a
                     function ``params -> seconds`` (a wide network trains slower)
    resource_budget  the steps all jobs may train together; no job starts once they are spent,
                     and a job is cut at the step that spends them (status ``stopped``) unless it
                     is the last step of its budget
    max_jobs         a cap on the number of jobs (a guard against a strategy that never ends)

    The events, in simulated seconds from 0:

    1. every free worker asks the strategy for a job, lowest worker first. The job is evaluated
       at once (the objective runs, continuing the configuration's checkpoint as ``search()``
       does), and occupies the worker for ``seconds_per_step × steps trained``; its result is told
       to the strategy only when that time is over. If ``ask()`` raises ``WaitForTrials`` (a
       synchronous rung waiting for its last results), the worker, and every other free one,
       idles until the next job ends;
    2. the job that ends first (ties: the one started first) frees its worker and is told;
       then step 1 again, until no job runs and none can start.

    The strategy's ``should_stop`` is asked after each report, as in ``search()``; since a job
    is evaluated when it starts, it sees the trials told by then.

    Returns a DataFrame with one row per job, in the order they started: ``worker``, ``start``,
    ``end`` (simulated seconds), ``config``, ``bracket``, ``rung``, ``budget``, ``start_step``,
    ``resource`` (steps trained), ``value``, ``status``. Raises ``ValueError`` for a bad argument
    (before anything runs) and ``RuntimeError`` when ``ask()`` waits while no job is running
    (a strategy bug).
    """
    if not isinstance(strategy, Strategy):
        raise ValueError(f"simulate_workers: strategy={strategy!r} must be a built Strategy")
    if not (callable(objective) and takes_run(objective)):
        raise ValueError(f"simulate_workers: objective={objective!r} must be a multi-fidelity objective f(params, run)")
    if not (isinstance(n_workers, numbers.Integral) and not isinstance(n_workers, bool) and n_workers >= 1):
        raise ValueError(f"simulate_workers: n_workers={n_workers!r} must be an integer >= 1")
    if not callable(seconds_per_step):
        _seconds_per_step(seconds_per_step, {})
    if not (isinstance(resource_budget, numbers.Real) and not isinstance(resource_budget, bool)
            and 0 < resource_budget < math.inf):
        raise ValueError(f"simulate_workers: resource_budget={resource_budget!r} must be a positive number")
    if not (isinstance(max_jobs, numbers.Integral) and not isinstance(max_jobs, bool) and max_jobs >= 1):
        raise ValueError(f"simulate_workers: max_jobs={max_jobs!r} must be an integer >= 1")

    free = list(range(n_workers))  # a heap of free workers' ids
    running = []  # a heap of (end, number, worker, trial, config, run)
    checkpoints = Checkpoints()  # what each configuration's last job left, as in search()
    clock, committed, rows, number = 0.0, 0.0, [], 0
    while True:
        # 1. every free worker asks for a job, until the budget is spent or the strategy waits
        while free and committed < resource_budget and number < max_jobs:
            try:
                job = as_job(strategy.ask())
            except WaitForTrials as e:
                if not running:
                    raise RuntimeError(f"simulate_workers: {type(strategy).__name__}.ask() waits for running "
                                       f"trials, but none is running: {e}") from None
                break  # the free workers idle until the next job ends
            except SearchExhausted:
                break
            strategy.space.check(job.params)
            trial, run = checkpoints.start(job, number, strategy, committed, resource_budget)
            trial.start = clock
            _evaluate(objective, trial, run, storable=False)
            committed += trial.resource
            trial.duration = _seconds_per_step(seconds_per_step, trial.params) * trial.resource
            worker = heapq.heappop(free)
            heapq.heappush(running, (clock + trial.duration, number, worker, trial, job.config, run))
            number += 1
        if not running:
            break
        # 2. the next job to end frees its worker, and the strategy hears its result
        clock, _, worker, trial, config, run = heapq.heappop(running)
        checkpoints.keep(config, run)
        strategy.tell(trial)
        checkpoints.forget(strategy)
        rows.append({"worker": worker, "start": trial.start, "end": clock, "config": trial.config,
                     "bracket": trial.bracket, "rung": trial.rung, "budget": trial.budget,
                     "start_step": trial.start_step, "resource": trial.resource, "value": trial.value,
                     "status": trial.status, "number": trial.number})
        heapq.heappush(free, worker)
    columns = ["worker", "start", "end", "config", "bracket", "rung", "budget", "start_step", "resource", "value",
               "status"]
    if not rows:
        return pd.DataFrame(columns=columns)
    return pd.DataFrame(rows).sort_values("number").reset_index(drop=True)[columns]


def timeline(trials) -> pd.DataFrame:
    """Real trials (a History or a list of Trials) as ``simulate_workers``' timeline: one row per
    trial with ``worker``, ``start`` and ``end`` in seconds after the first trial started (from
    ``Trial.start`` and ``Trial.duration``), and ``status``; what ``idle_fraction`` and
    ``plots.plot_workers`` read. Raises ValueError for a trial without a worker (a history
    written before trials recorded one)."""
    trials = list(trials)
    unnamed = [t.number for t in trials if t.worker is None]
    if unnamed:
        raise ValueError(f"timeline: trials {unnamed[:5]} have no worker (written before trials recorded one)")
    frame = pd.DataFrame({"worker": [t.worker for t in trials], "start": [t.start for t in trials],
                          "end": [t.start + t.duration for t in trials], "status": [t.status for t in trials]},
                         columns=["worker", "start", "end", "status"])
    t0 = frame["start"].min() if len(frame) else 0.0
    return frame.assign(start=frame["start"] - t0, end=frame["end"] - t0)


def idle_fraction(timeline: pd.DataFrame, n_workers: int) -> float:
    """The share of the workers' time spent idle between 0 and the end of the last job:
    ``1 − Σ (end − start) / (W × makespan)``; 0.0 for an empty timeline."""
    if not (isinstance(n_workers, numbers.Integral) and not isinstance(n_workers, bool) and n_workers >= 1):
        raise ValueError(f"idle_fraction: n_workers={n_workers!r} must be an integer >= 1")
    if len(timeline) == 0:
        return 0.0
    makespan = float(timeline["end"].max())
    if makespan <= 0:
        return 0.0
    return 1.0 - float((timeline["end"] - timeline["start"]).sum()) / (n_workers * makespan)
