"""Tests of ``strategies/median.py``: the median stopping rule (Golovin et al. 2017, section 3.2.2).

Ground truths, none of them read from the strategy:
- a hand-computed example: three completed curves, their running averages and medians written
  out, and the decision at each step of a running trial, the boundary included (equal to the
  median: not stopped);
- ``rule()``, the rule recomputed here from the curves alone, replayed over every trial of a
  real search: each stopped trial was stopped at the first step where the rule says so, and no
  completed trial ever met it;
- against random search with the same seed (the same configurations, as the sampler is seeded
  alike): less resource, the same best configuration or one as good;
- a checkpoint probe: a configuration is never trained again, so the loop should keep none.
"""

import math

import numpy as np
import pytest

from amsearch_lab import search
from amsearch_lab.curves import SyntheticCurves
from amsearch_lab.history import Trial
from amsearch_lab.strategies import MedianStopping

from .test_halving import CheckpointProbe

SPACE = SyntheticCurves.space()
POINT = {"x": 0.5, "y": 0.5}


def completed(number, values, steps=None):
    """A finished trial that reported ``values`` (None: NaN) at ``steps`` (default 1, 2, ...)."""
    steps = steps or range(1, len(values) + 1)
    curve = [[s, v] for s, v in zip(steps, values)]
    finite = [v for v in values if v is not None]
    return Trial(number, dict(POINT), finite[-1], curve=curve, config=number)


def running(values):
    """A trial that has reported ``values`` at steps 1, 2, ... so far."""
    return Trial(99, dict(POINT), None, curve=[[s, v] for s, v in enumerate(values, start=1)], config=99)


def rule(done_curves, curve, min_trials=3, min_step=1, minimize=True):
    """The median stopping rule, from the curves alone: stop at the last step s of ``curve`` if
    s >= min_step, at least ``min_trials`` completed curves reported at or before s, and the best
    value of ``curve`` is strictly worse than the median of their running averages at s."""
    sign = 1 if minimize else -1
    step = curve[-1][0]
    averages = []
    for done in done_curves:
        seen = [sign * v for t, v in done if t <= step and v is not None]
        if seen:
            averages.append(sum(seen) / len(seen))
    if step < min_step or len(averages) < min_trials:
        return False
    best = min((sign * v for _, v in curve if v is not None), default=math.inf)
    return best > float(np.median(averages))


# the hand-computed example
A, B, C = [4.0, 2.0, 2.0, 0.0], [1.0, 1.0, 1.0, 1.0], [3.0, 3.0, 0.0, 0.0]
# running averages  A: 4, 3, 8/3, 2   B: 1, 1, 1, 1   C: 3, 3, 2, 1.5
MEDIANS = [3.0, 3.0, 2.0, 1.5]
D = [3.0, 3.5, 2.0, 1.6]  # best so far 3, 3, 2, 1.6: equal to the median at steps 1-3, worse at step 4
STOPS = [False, False, False, True]


def decisions(strategy, values):
    return [strategy.should_stop(running(values[:s])) for s in range(1, len(values) + 1)]


def test_the_hand_computed_example():
    curves = np.array([A, B, C])
    averages = np.cumsum(curves, axis=1) / np.arange(1, 5)  # (3 trials, 4 steps)
    assert np.median(averages, axis=0).tolist() == MEDIANS
    strategy = MedianStopping(SPACE)
    for i, values in enumerate([A, B, C]):
        strategy.tell(completed(i, values))
    assert [strategy.median_at(s) for s in (1, 2, 3, 4)] == MEDIANS
    assert decisions(strategy, D) == STOPS
    assert [rule([completed(i, v).curve for i, v in enumerate([A, B, C])], running(D[:s]).curve)
            for s in range(1, 5)] == STOPS


def test_maximize_mirrors_minimize():
    strategy = MedianStopping(SPACE, minimize=False)
    for i, values in enumerate([A, B, C]):
        strategy.tell(completed(i, [-v for v in values]))
    assert [strategy.median_at(s) for s in (1, 2, 3, 4)] == MEDIANS  # in loss units: −value
    assert decisions(strategy, [-v for v in D]) == STOPS
    assert decisions(strategy, D) == [False] * 4  # +3 beats every completed value when maximising
    assert decisions(strategy, [-100.0] * 4) == [True] * 4


def test_min_trials_and_min_step():
    strategy = MedianStopping(SPACE, min_trials=3)
    for i, values in enumerate([A, B]):
        strategy.tell(completed(i, values))
    terrible = [100.0] * 4
    assert decisions(strategy, terrible) == [False] * 4  # two completed trials are not enough
    strategy.tell(completed(2, C))
    assert decisions(strategy, terrible) == [True] * 4
    late = MedianStopping(SPACE, min_step=3)
    for i, values in enumerate([A, B, C]):
        late.tell(completed(i, values))
    assert decisions(late, terrible) == [False, False, True, True]
    two = MedianStopping(SPACE, min_trials=2)
    for i, values in enumerate([A, B]):
        two.tell(completed(i, values))
    assert decisions(two, terrible) == [True] * 4


def test_a_completed_curve_counts_from_its_first_report_and_skips_nan():
    strategy = MedianStopping(SPACE, min_trials=1)
    strategy.tell(completed(0, [0.0, 0.0], steps=[2, 4]))
    assert strategy.median_at(1) is None and strategy.median_at(2) == 0.0 and strategy.median_at(3) == 0.0
    strategy = MedianStopping(SPACE, min_trials=1)
    strategy.tell(completed(0, [1.0, None, 3.0]))  # the NaN at step 2 is no value
    assert [strategy.median_at(s) for s in (1, 2, 3)] == [1.0, 1.0, 2.0]


def test_a_trial_that_reported_only_nan_is_stopped_once_the_rule_applies():
    strategy = MedianStopping(SPACE, min_step=2)
    for i, values in enumerate([A, B, C]):
        strategy.tell(completed(i, values))
    assert decisions(strategy, [None, None, None]) == [False, True, True]
    assert rule([completed(i, v).curve for i, v in enumerate([A, B, C])], running([None, None]).curve, min_step=2)


def test_the_median_is_renewed_when_a_trial_completes():
    strategy = MedianStopping(SPACE)
    for i, values in enumerate([A, B, C]):
        strategy.tell(completed(i, values))
    assert strategy.should_stop(running(D))  # the median at step 4 is 1.5
    for status in ("stopped", "failed"):  # not completed: the median stays
        strategy.tell(Trial(5, dict(POINT), 9.0, status=status, curve=[[1, 9.0], [2, 9.0], [3, 9.0], [4, 9.0]]))
        assert strategy.median_at(4) == 1.5 and strategy.should_stop(running(D))
    strategy.tell(completed(6, [9.0, 9.0, 9.0, 9.0]))  # averages at step 4: 2, 1, 1.5, 9 -> median 1.75
    assert strategy.median_at(4) == 1.75
    assert not strategy.should_stop(running(D))  # 1.6 < 1.75


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_search_stops_by_the_rule_and_saves_resource(seed):
    curves = SyntheticCurves(crossing=0, noise=0.01, max_steps=27)
    stopping = search(curves, SPACE, "median", budget=60, seed=seed, progress=False)
    plain = search(curves, SPACE, "random", budget=60, seed=seed, progress=False)
    assert [t.params for t in stopping] == [t.params for t in plain]  # the sampler draws what random search draws
    # every decision, replayed with the rule computed here from the curves of the trials completed before
    for i, t in enumerate(stopping):
        done = [u.curve for u in stopping.trials[:i] if u.ok]
        fired = [rule(done, t.curve[:s]) for s in range(1, len(t.curve) + 1)]
        if t.status == "stopped":
            assert fired[-1] and not any(fired[:-1]) and "MedianStopping" in t.error
        else:
            assert t.ok and len(t.curve) == 27 and not any(fired)
    stopped = sum(t.status == "stopped" for t in stopping)
    spent, full = sum(t.resource for t in stopping), sum(t.resource for t in plain)
    best, reference = curves.final(stopping.best.params), curves.final(plain.best.params)
    print(f"seed {seed}: {stopped}/60 stopped, {spent:.0f} of {full:.0f} steps; "
          f"best final {best:.4f} against random search's {reference:.4f}")
    assert full == 60 * 27 and stopped >= 30 and spent < 0.5 * full
    assert best <= reference + 0.005


def test_sampler_bayes_is_told_every_trial():
    curves = SyntheticCurves(crossing=0, noise=0.01, max_steps=27)
    strategy = MedianStopping(SPACE, seed=0, sampler="bayes",
                              sampler_options={"n_initial": 4, "n_candidates": 256, "n_local": 2})
    history = search(curves, SPACE, strategy, budget=12, progress=False)
    assert len(strategy.sampler_.trials_) == 12
    statuses = [t.status for t in history]
    assert "stopped" in statuses and "ok" in statuses
    assert all(math.isinf(strategy.sampler_.loss(t)) for t in history if t.status == "stopped")  # told as unsuccessful


def test_jobs_carry_the_budget_and_a_new_configuration_each():
    strategy = MedianStopping(SPACE, seed=0, max_budget=9)
    jobs = [strategy.ask() for _ in range(3)]
    assert [(j.budget, j.config, j.rung, j.bracket) for j in jobs] == [(9, 0, None, None), (9, 1, None, None),
                                                                       (9, 2, None, None)]


def test_the_loop_keeps_no_checkpoint():
    """Every job trains a new configuration, so no checkpoint is ever kept for later."""
    probe = CheckpointProbe(SyntheticCurves(crossing=0, max_steps=9))
    search(probe, SPACE, "median", budget=20, seed=0, progress=False)
    assert [len(live) for live in probe.before] == [0] * 20  # checkpoints held as each job starts; none is ever used


@pytest.mark.parametrize("options, fragment", [
    (dict(sampler="median"), "sampler='median'"), (dict(sampler="hyperband"), "sampler='hyperband'"),
    (dict(sampler=3), "sampler=3"), (dict(sampler="nope"), "'nope'"),
    (dict(sampler_options={"n_initail": 3}, sampler="bayes"), "sampler_options="),
    (dict(max_budget=0), "max_budget=0"), (dict(max_budget=math.nan), "max_budget=nan"),
    (dict(max_budget=True), "max_budget=True"),
    (dict(min_trials=0), "min_trials=0"), (dict(min_trials=1.5), "min_trials=1.5"),
    (dict(min_step=-1), "min_step=-1"), (dict(min_step=math.inf), "min_step=inf"),
])
def test_bad_options(options, fragment):
    with pytest.raises(ValueError, match=fragment):
        MedianStopping(SPACE, **options)
