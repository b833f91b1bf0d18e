"""Tests of ``simulate.py``: the worker simulation and the curve memo.

Ground truths: a 2-worker timeline worked out by hand for synchronous successive halving and
for ASHA; one worker reproduces the sequential ``search()``; a memoised objective gives every
strategy exactly the history it gets without the memo, while training each configuration once.
"""

import math

import numpy as np
import pandas as pd
import pytest
import torch

from amsearch_lab import ASHA, Float, MedianStopping, Space, SuccessiveHalving, search
from amsearch_lab.curves import MnistMLP, SyntheticCurves
from amsearch_lab.fidelity import WaitForTrials
from amsearch_lab.simulate import CurveMemo, idle_fraction, simulate_workers
from amsearch_lab.strategies import Hyperband, Strategy

SPACE = Space({"x": Float(0.0, 1.0)})


def flat(params, run):
    """A curve that is flat at x: the ranking at every step is the ranking by x."""
    for t in range(run.start + 1, (run.budget or 3) + 1):
        run.report(t, params["x"], state=t)
    return params["x"]


def columns(timeline, *names):
    return [tuple(row) for row in timeline[list(names)].itertuples(index=False)]


# -- the hand-worked example: 2 workers, one second per step, 6 steps in all -------------------------
def test_two_workers_synchronous_halving_by_hand():
    # schedule [(3, 1), (1, 3)]: three configurations at 1 step, the best goes on to 3 steps
    sha = SuccessiveHalving(SPACE, seed=0, n=3, eta=3, min_budget=1, max_budget=3)
    timeline = simulate_workers(sha, flat, n_workers=2, seconds_per_step=1.0, resource_budget=6)
    x = [p["x"] for p in sha.configs_]
    best = int(np.argmin(x[:3]))
    # t=0: c0 on w0, c1 on w1. t=1: c0 ends, w0 takes c2; c1 ends, w1 asks: rung 0 waits for c2
    # (WaitForTrials), w1 idles. t=2: c2 ends, w0 takes the best of c0..c2 on from step 1 to 3
    # (2 s); w1 asks again: the last rung waits for that job, so w1 idles on. t=4: it ends, the
    # bracket is over, w0 takes c3 of the next bracket; that spends the 6 steps.
    assert columns(timeline, "worker", "start", "end", "config", "rung", "start_step", "resource") == [
        (0, 0.0, 1.0, 0, 0, 0, 1.0), (1, 0.0, 1.0, 1, 0, 0, 1.0), (0, 1.0, 2.0, 2, 0, 0, 1.0),
        (0, 2.0, 4.0, best, 1, 1, 2.0), (0, 4.0, 5.0, 3, 0, 0, 1.0)]
    assert timeline["value"].tolist() == [x[0], x[1], x[2], x[best], x[3]]
    assert idle_fraction(timeline, 2) == pytest.approx(1 - 6 / (2 * 5))


def test_two_workers_asha_by_hand():
    # rungs at budgets 1 and 3; a promotion needs floor(n_0 / 3) >= 1, i.e. 3 results in rung 0
    asha = ASHA(SPACE, seed=0, eta=3, min_budget=1, max_budget=3)
    timeline = simulate_workers(asha, flat, n_workers=2, seconds_per_step=1.0, resource_budget=6)
    x = [p["x"] for p in asha.configs_]
    best = int(np.argmin(x[:3]))
    # t=1: c0 ends (1 result, no promotion): w0 takes c2; c1 ends (2 results): w1 takes c3.
    # t=2: c2 ends, 3 results: the best of c0..c2 is promoted on w0 (2 s); c3 ends, and the
    # 6 steps are spent. Nobody ever waits for a rung.
    assert columns(timeline, "worker", "start", "end", "config", "rung", "start_step", "resource") == [
        (0, 0.0, 1.0, 0, 0, 0, 1.0), (1, 0.0, 1.0, 1, 0, 0, 1.0), (0, 1.0, 2.0, 2, 0, 0, 1.0),
        (1, 1.0, 2.0, 3, 0, 0, 1.0), (0, 2.0, 4.0, best, 1, 1, 2.0)]
    assert idle_fraction(timeline, 2) == pytest.approx(1 - 6 / (2 * 4))


# -- properties -----------------------------------------------------------------------------------
def test_one_worker_is_the_sequential_search():
    curves = SyntheticCurves(crossing=1.0, noise=0.02, seed=3)
    for make in (lambda: Hyperband(curves.space(), seed=1), lambda: ASHA(curves.space(), seed=1),
                 lambda: MedianStopping(curves.space(), seed=1, min_trials=2)):
        timeline = simulate_workers(make(), curves, n_workers=1, resource_budget=200)
        history = search(curves, curves.space(), make(), budget=10_000, resource_budget=200, progress=False)
        assert len(timeline) == len(history)
        assert timeline["value"].tolist() == [t.value for t in history]
        assert timeline["resource"].tolist() == [t.resource for t in history]
        assert timeline["status"].tolist() == [t.status for t in history]
        assert (timeline["start"].iloc[1:].to_numpy() == timeline["end"].iloc[:-1].to_numpy()).all()  # no idle


@pytest.mark.parametrize("n_workers", [2, 3, 5])
def test_workers_never_overlap_and_the_budget_holds(n_workers):
    curves = SyntheticCurves(crossing=0.5, seed=0)
    speed = lambda p: 0.5 + p["x"]  # noqa: E731 - configurations train at different speeds
    for strategy in (SuccessiveHalving(curves.space(), seed=2), ASHA(curves.space(), seed=2)):
        timeline = simulate_workers(strategy, curves, n_workers=n_workers, seconds_per_step=speed,
                                    resource_budget=150)
        assert timeline["resource"].sum() == 150
        assert set(timeline["worker"]) == set(range(n_workers))
        for _, jobs in timeline.groupby("worker"):
            jobs = jobs.sort_values("start")
            assert (jobs["start"].iloc[1:].to_numpy() >= jobs["end"].iloc[:-1].to_numpy() - 1e-12).all()
        durations = timeline["end"] - timeline["start"]
        expected = [speed(strategy.configs_[c]) * r for c, r in zip(timeline["config"], timeline["resource"])]
        assert np.allclose(durations, expected)
        # a promoted job starts only after its configuration's previous job has ended
        for _, jobs in timeline.groupby("config"):
            assert (jobs["start"].iloc[1:].to_numpy() >= jobs["end"].iloc[:-1].to_numpy() - 1e-12).all()


def test_asha_keeps_workers_busy_where_synchronous_halving_waits():
    curves = SyntheticCurves(crossing=0.0, seed=0)
    sync = simulate_workers(SuccessiveHalving(curves.space(), seed=0), curves, n_workers=4, resource_budget=400)
    asha = simulate_workers(ASHA(curves.space(), seed=0), curves, n_workers=4, resource_budget=400)
    assert idle_fraction(asha, 4) < 0.1 < 0.3 < idle_fraction(sync, 4)
    last_start = asha["start"].max()
    for _, jobs in asha.groupby("worker"):  # back to back until the last job starts
        jobs = jobs[jobs["start"] <= last_start].sort_values("start")
        assert (jobs["start"].iloc[1:].to_numpy() == jobs["end"].iloc[:-1].to_numpy()).all()


class _AlwaysWaiting(Strategy):
    def ask(self):
        raise WaitForTrials("never ready")


def test_waiting_with_nothing_running_is_an_error():
    with pytest.raises(RuntimeError, match="none is running"):
        simulate_workers(_AlwaysWaiting(SPACE), flat, n_workers=2)


@pytest.mark.parametrize("kwargs, name", [
    ({"strategy": "asha"}, "strategy"), ({"objective": lambda p: p["x"]}, "objective"),
    ({"n_workers": 0}, "n_workers"), ({"seconds_per_step": -1.0}, "seconds_per_step"),
    ({"resource_budget": math.inf}, "resource_budget"), ({"max_jobs": 0}, "max_jobs")])
def test_bad_arguments_are_named(kwargs, name):
    arguments = {"strategy": ASHA(SPACE, seed=0), "objective": flat, **kwargs}
    with pytest.raises(ValueError, match=name):
        simulate_workers(**arguments)


def test_idle_fraction_of_an_empty_timeline_and_bad_workers():
    assert idle_fraction(pd.DataFrame(columns=["start", "end"]), 2) == 0.0
    with pytest.raises(ValueError, match="n_workers"):
        idle_fraction(pd.DataFrame(columns=["start", "end"]), 0)


# -- the memo ---------------------------------------------------------------------------------------
def _same(a, b):
    return ([(t.params, t.value, t.status, t.curve, t.resource) for t in a]
            == [(t.params, t.value, t.status, t.curve, t.resource) for t in b])


def test_memo_gives_every_strategy_its_own_history():
    curves = SyntheticCurves(crossing=1.5, noise=0.05, seed=4)
    memo = CurveMemo(curves)
    spent = 0
    for name, options in [("sha", {}), ("hyperband", {}), ("asha", {}), ("median", {"min_trials": 2}),
                          ("sha", {"n": 1, "min_budget": 27, "max_budget": 27})]:
        direct = search(curves, curves.space(), name, budget=10_000, seed=7, options=options, resource_budget=300,
                        progress=False)
        replayed = search(memo, curves.space(), name, budget=10_000, seed=7, options=options, resource_budget=300,
                          progress=False)
        assert _same(direct, replayed), name
        spent += sum(t.resource for t in replayed)
    # the same seed draws the same configurations: many steps are replayed, not trained
    assert memo.steps_trained + memo.steps_replayed == spent
    assert memo.steps_trained < 0.8 * spent
    assert all([s for s, _ in c] == list(range(1, len(c) + 1)) for c in memo.curves.values())  # each step once


def test_memo_keeps_the_checkpoint_of_a_trained_network():
    torch.set_num_threads(1)
    mlp = MnistMLP(n_train=300, n_val=300, max_epochs=3)
    space = mlp.space()
    memo = CurveMemo(mlp)
    direct = search(mlp, space, "sha", budget=6, seed=0, options={"n": 3, "eta": 3, "max_budget": 3},
                    progress=False)
    replayed = search(memo, space, "sha", budget=6, seed=0, options={"n": 3, "eta": 3, "max_budget": 3},
                      progress=False)
    assert _same(direct, replayed)
    top = [t for t in replayed if t.budget == 3][0]
    state = memo.state(top.params)
    assert state["epoch"] == 3 and memo.curve(top.params)[-1] == [3, top.value]
    assert 0.0 <= mlp.test_accuracy(state) <= 1.0
    again = search(memo, space, "sha", budget=6, seed=0, options={"n": 3, "eta": 3, "max_budget": 3},
                   progress=False)
    assert _same(direct, again) and memo.steps_replayed == sum(t.resource for t in again)


def test_memo_arguments():
    with pytest.raises(ValueError, match="objective"):
        CurveMemo(lambda p: p["x"])
    with pytest.raises(ValueError, match="max_step"):
        CurveMemo(flat)
    assert CurveMemo(flat, max_step=3).max_step == 3


def test_timeline_of_real_trials_is_relative_to_the_first_start():
    from amsearch_lab.history import Trial
    from amsearch_lab.simulate import timeline

    trials = [Trial(number=0, params={}, start=100.0, duration=2.0, worker="a"),
              Trial(number=1, params={}, start=101.0, duration=0.5, worker="b", status="failed")]
    line = timeline(trials)
    assert list(line.columns) == ["worker", "start", "end", "status"]
    assert line["start"].tolist() == [0.0, 1.0] and line["end"].tolist() == [2.0, 1.5]
    assert line["status"].tolist() == ["ok", "failed"]
    assert idle_fraction(line, 2) == pytest.approx(1 - 2.5 / 4)
    with pytest.raises(ValueError, match=r"trials \[0\] have no worker"):
        timeline([Trial(number=0, params={})])
