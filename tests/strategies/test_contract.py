"""The contract every registered strategy keeps (Optuna's ``pytest_samplers`` idea):
proposals stay inside the space, the same seed gives the same trials, failed and NaN trials do
not stop the search, and the best-so-far value never gets worse.

A strategy that cannot run on a black-box objective sets ``blackbox = False`` and is tested
by its own module instead.
"""

import math

import numpy as np
import pytest

from amsearch_lab import STRATEGIES, Choice, Float, Int, Space, search

BLACKBOX = sorted(name for name, cls in STRATEGIES.items() if getattr(cls, "blackbox", True))
BUDGET = 24


def mixed_space():
    return Space({
        "lr": Float(1e-4, 1.0, log=True),
        "x": Float(-2.0, 3.0),
        "width": Int(8, 64, step=8),
        "depth": Int(1, 5),
        "act": Choice(["relu", "tanh", "gelu"]),
    })


def smooth(params):
    """A cheap objective with a unique minimum, so learning strategies have something to find."""
    penalty = {"relu": 0.0, "tanh": 0.3, "gelu": 0.1}[params["act"]]
    return (math.log10(params["lr"]) + 2) ** 2 + (params["x"] - 1) ** 2 + (params["width"] - 32) ** 2 / 500 \
        + 0.1 * params["depth"] + penalty


def flaky(params):
    """Raises for some points and returns NaN or inf for others."""
    if params["depth"] == 2:
        raise RuntimeError("the model diverged")
    if params["act"] == "tanh" and params["x"] > 1:
        return float("nan")
    if params["width"] == 64:
        return float("inf")
    return smooth(params)


@pytest.mark.parametrize("name", BLACKBOX)
def test_proposals_stay_inside_the_space(name):
    space = mixed_space()
    history = search(smooth, space, name, budget=BUDGET, seed=0, progress=False)
    assert len(history) > 0
    for trial in history:
        assert trial.params in space, f"{name} proposed {trial.params}"


@pytest.mark.parametrize("name", BLACKBOX)
def test_same_seed_same_trials(name):
    runs = [search(smooth, mixed_space(), name, budget=BUDGET, seed=7, progress=False) for _ in range(2)]
    assert [t.params for t in runs[0]] == [t.params for t in runs[1]]
    assert [t.value for t in runs[0]] == [t.value for t in runs[1]]


@pytest.mark.parametrize("name", BLACKBOX)
def test_different_seeds_differ(name):
    a = search(smooth, mixed_space(), name, budget=BUDGET, seed=1, progress=False)
    b = search(smooth, mixed_space(), name, budget=BUDGET, seed=2, progress=False)
    if name == "grid":  # an unshuffled grid is the same walk whatever the seed
        assert [t.params for t in a] == [t.params for t in b]
    else:
        assert [t.params for t in a] != [t.params for t in b]


@pytest.mark.parametrize("name", BLACKBOX)
@pytest.mark.parametrize("minimize", [True, False])
def test_survives_failed_and_nan_trials(name, minimize):
    objective = flaky if minimize else (lambda p: -flaky(p))
    history = search(objective, mixed_space(), name, budget=BUDGET, seed=3, progress=False, minimize=minimize)
    assert len(history) == BUDGET
    statuses = {t.status for t in history}
    assert "failed" in statuses and "ok" in statuses, f"{name}: the test should see both outcomes"
    for t in history:
        if t.status == "failed":
            assert t.value is None and t.error
        else:
            assert math.isfinite(t.value)


@pytest.mark.parametrize("name", BLACKBOX)
@pytest.mark.parametrize("minimize", [True, False])
def test_best_so_far_never_gets_worse(name, minimize):
    objective = smooth if minimize else (lambda p: -smooth(p))
    history = search(objective, mixed_space(), name, budget=BUDGET, seed=5, progress=False, minimize=minimize)
    curve = history.best_so_far()
    steps = np.diff(curve[~np.isnan(curve)])
    assert (steps <= 0).all() if minimize else (steps >= 0).all()
    assert history.best.value == (curve[-1])


@pytest.mark.parametrize("name", BLACKBOX)
def test_ask_tell_by_hand_matches_search(name):
    """The loop adds nothing a user could not do with ask/tell directly."""
    from amsearch_lab.study import Trial

    space = mixed_space()
    strategy = STRATEGIES[name](space, seed=11)
    by_hand = []
    for i in range(10):
        params = strategy.ask()
        trial = Trial(number=i, params=params, value=smooth(params))
        strategy.tell(trial)
        by_hand.append(params)
    history = search(smooth, space, name, budget=10, seed=11, progress=False)
    assert [t.params for t in history] == by_hand
