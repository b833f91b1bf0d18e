"""Bayesian optimization: the strategy's promises (no repeated point, failed trials, both
directions, better than random on Branin, extreme losses), and its public view of the model and
the acquisition. The acquisition functions are tested in tests/test_acquisition.py, the rounding
of candidates in tests/test_space.py."""

import math
import warnings

import numpy as np
import pytest

from amsearch_lab import Choice, Float, Int, Space, search
from amsearch_lab.strategies.bayes import BayesianOptimization, local_starts, warp_outliers
from amsearch_lab.tasks import TASKS


def mixed_space():
    return Space({"lr": Float(1e-4, 1.0, log=True), "x": Float(-2.0, 3.0), "q": Float(0.0, 1.0, step=0.25),
                  "width": Int(8, 64, step=8), "units": Int(1, 1000, log=True), "act": Choice(["relu", "tanh", "gelu"])})


def test_never_repeats_a_point_and_stops_when_the_space_is_used_up():
    space = Space({"k": Int(0, 3), "c": Choice(["a", "b"])})  # 8 points
    history = search(lambda p: (p["k"] - 2) ** 2 + (p["c"] == "b"), space, "bayes", budget=20, seed=0,
                     progress=False, options={"n_initial": 3})
    points = [tuple(t.params.values()) for t in history]
    assert len(points) == 8 and len(set(points)) == 8


def test_failed_trials_do_not_poison_the_model():
    """Half of Branin's box fails; BO still finds a global minimum in the other half."""
    branin = TASKS["branin"]

    def objective(p):
        if p["x0"] < 0:
            raise RuntimeError("diverged")
        return branin.objective(p)

    history = search(objective, branin.space, "bayes", budget=30, seed=0, progress=False)
    assert any(t.status == "failed" for t in history)
    assert branin.regret(history.best.value) < 0.05


@pytest.mark.parametrize("acquisition", ["ei", "pi", "ucb"])
def test_maximisation_beats_random_search_on_branin(acquisition):
    branin = TASKS["branin"]
    kwargs = dict(budget=25, seed=0, progress=False, minimize=False)
    bo = search(lambda p: -branin.objective(p), branin.space, "bayes", options={"acquisition": acquisition}, **kwargs)
    rs = search(lambda p: -branin.objective(p), branin.space, "random", **kwargs)
    assert branin.regret(-bo.best.value) < 0.1
    assert branin.regret(-rs.best.value) > 3 * branin.regret(-bo.best.value)


@pytest.mark.parametrize("kwargs, name", [({"acquisition": "thompson"}, "acquisition"), ({"init": "grid"}, "init"),
                                          ({"n_initial": 0}, "n_initial"), ({"kernel": "linear"}, "kernel"),
                                          ({"xi": -1.0}, "xi"), ({"beta": -2.0}, "beta"),
                                          ({"n_candidates": 2.5}, "n_candidates"), ({"refine": "joint"}, "refine")])
def test_bad_options_name_the_parameter(kwargs, name):
    with pytest.raises(ValueError, match=name):
        BayesianOptimization(mixed_space(), **kwargs)


# -- extreme losses ------------------------------------------------------------------------------------
def test_warp_outliers_leaves_ordinary_losses_alone():
    rng = np.random.default_rng(0)
    branin = TASKS["branin"]
    losses = np.array([branin.objective(branin.space.sample(rng)) for _ in range(40)])
    np.testing.assert_array_equal(warp_outliers(losses), losses)


@pytest.mark.parametrize("losses", [
    [1e308, 0.1, 0.3, 1e308, 0.2, 0.5, 1e308, 1e308, 1e308],  # a plateau over most of the trials
    [1e308, -1e308, 0.1, 0.3, 0.2, 0.5, 0.6, 1e300, 5e-324],  # both ends
    [1e30, 0.4, 0.1, 0.3, 0.2, 0.25, 0.35],  # one diverged run
    [2e-300, 1e-300, 3e-300, 1e-280, 4e-300, 0.0],  # outliers of tiny values
])
def test_warp_outliers_keeps_the_order_and_pulls_outliers_next_to_the_bulk(losses):
    losses = np.array(losses)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        warped = warp_outliers(losses)
    i, j = np.triu_indices(len(losses), 1)
    np.testing.assert_array_equal(warped[i] < warped[j], losses[i] < losses[j])  # the same order
    np.testing.assert_array_equal(warped[i] == warped[j], losses[i] == losses[j])  # and the same ties
    distinct = np.unique(losses)
    iqr = np.quantile(distinct, 0.75, method="higher") - np.quantile(distinct, 0.25, method="lower")
    inside = np.abs(losses) < 1e29 if losses.max() > 1 else losses < 1e-290
    np.testing.assert_array_equal(warped[inside], losses[inside])
    assert np.all(warped <= losses[inside].max() + iqr) and np.all(warped >= losses[inside].min() - iqr)


def test_local_starts_ignore_nan_and_minus_inf_scores():
    rng = np.random.default_rng(0)
    values = np.array([np.nan, -np.inf, -3.0, np.nan, -1.0, -np.inf, -2.0])
    for _ in range(20):
        chosen = local_starts(values, 5, rng)
        assert chosen[0] == 4 and sorted(chosen) == [2, 4, 6]
    assert local_starts(np.array([np.nan, -np.inf]), 5, rng) == []
    assert local_starts(values, 0, rng) == []


def test_the_issue_example_runs_and_keeps_to_the_good_half():
    """1e308 on half of the space made ask() fail with "Probabilities contain NaN"."""
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        history = search(lambda p: 1e308 if p["x"] > .5 else p["x"], {"x": Float(0, 1), "y": Float(0, 1)}, "bayes",
                         budget=15, seed=0, progress=False, catch=False)
    assert len(history) == 15 and all(t.params["x"] <= 0.5 for t in history.trials[10:])


def bowl(p):
    return (p["x"] - 0.2) ** 2 + (p["y"] - 0.7) ** 2


@pytest.mark.parametrize("objective, minimize, to_regret", [
    (lambda p: 1e308 if p["x"] > .5 else bowl(p), True, lambda v: v),  # a plateau at the largest float
    (lambda p: -1e308 if p["x"] > .5 else -bowl(p), False, lambda v: -v),  # the same, maximised
    (lambda p: 1e30 if (p["x"] - .8) ** 2 + (p["y"] - .2) ** 2 < .05 else bowl(p), True, lambda v: v),  # diverged runs
    (lambda p: 1e-300 * bowl(p), True, lambda v: 1e300 * v),  # tiny values
    (lambda p: 1e300 * bowl(p), True, lambda v: 1e-300 * v),  # huge values
], ids=["plateau", "plateau-maximised", "diverged-runs", "tiny", "huge"])
def test_extreme_values_neither_break_nor_blind_the_model(objective, minimize, to_regret):
    """The bowl's minimum 0 at (0.2, 0.7) is found as well as without the extremes (regret < 1e-3
    after 30; random search: 7e-3), so the model still ranks the ordinary points. Without
    ``warp_outliers`` the plateau gave 2e-2 and the diverged runs 5e-3 (medians of seeds 0-4);
    before the scaled standardisation the huge values overflowed it."""
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        history = search(objective, {"x": Float(0, 1), "y": Float(0, 1)}, "bayes", budget=30, seed=0,
                         progress=False, catch=False, minimize=minimize)
    assert to_regret(history.best.value) < 1e-3


# -- the public view of the model ---------------------------------------------------------------------
def forrester_bo(n_trials=6, seed=0):
    from amsearch_lab.study import Trial

    bo = BayesianOptimization(Space({"x": Float(0.0, 1.0)}), seed=seed, n_initial=4)
    for number in range(n_trials):
        params = bo.ask()
        x = params["x"]
        bo.tell(Trial(number=number, params=params, value=(6 * x - 2) ** 2 * math.sin(12 * x - 4)))
    return bo


def test_looking_at_the_model_changes_nothing_the_strategy_does():
    quiet, watched = forrester_bo(), forrester_bo()
    for _ in range(4):
        watched.fitted_model()
        watched.acquisition_values(np.linspace(0, 1, 50)[:, None])
        assert quiet.ask() == watched.ask()


def test_the_next_point_maximises_the_acquisition_it_reports():
    bo = forrester_bo()
    grid = np.linspace(0.0, 1.0, 2001)[:, None]  # (2001, 1)
    best_on_grid = bo.acquisition_values(grid).max()
    proposed = bo.space.encode(bo.ask())[None, :]
    assert bo.acquisition_values(proposed, bo.gp_)[0] >= best_on_grid - 1e-6


def test_no_model_during_the_initial_design_is_said_clearly():
    bo = forrester_bo(n_trials=2)
    assert bo.fitted_model() is None
    with pytest.raises(ValueError, match="no model yet after 2 trials"):
        bo.acquisition_values([[0.5]])


def hartmann_state(n_trials=25, seed=0, **options):
    """A BO run on Hartmann-6 after ``n_trials``, with its model fitted, and the refinement's
    starts (candidates as ``ask`` chooses them, and the incumbent). A run, not random points: the
    shortcut's trouble comes from evaluations clustered near the incumbent, which a random design
    does not have (on twelve random designs the two refinements tied)."""
    task = TASKS["hartmann6"]
    bo = BayesianOptimization(task.space, seed=seed, **options)
    search(task.objective, task.space, bo, budget=n_trials, progress=False)
    losses, ok = bo._losses()
    bo._fit(bo.gp_, losses, ok, rng=np.random.default_rng(0))
    candidates = bo._candidates()
    values = bo.acquisition_values(candidates, bo.gp_)
    starts = np.vstack([candidates[local_starts(values, bo.n_local, np.random.default_rng(1))],
                        bo.X_[ok][np.argmin(losses[ok])]])
    return bo, starts


def test_each_start_is_refined_as_if_alone_and_never_made_worse():
    bo, starts = hartmann_state()
    refined = bo._refine(starts)
    alone = np.vstack([bo._refine(row[None, :]) for row in starts])
    np.testing.assert_allclose(refined, alone, atol=1e-9)  # lockstep changes the batching (and rounding), not the steps
    assert np.all(bo.acquisition_values(refined, bo.gp_) >= bo.acquisition_values(starts, bo.gp_))


def test_separate_runs_find_a_higher_acquisition_than_one_run_on_the_sum():
    """The shortcut (one L-BFGS-B run on the sum of the starts' values) stops short: over twelve
    Hartmann-6 states (seeds 0-5, after 25 and 40 trials) the separate runs' best point is never
    lower in log EI by more than 0.1 and higher by more than 0.1 in some (measured: 2 of 12,
    by 0.29 and 1.0; the others within 0.06)."""
    gaps = []
    for seed in range(6):
        for n in (25, 40):
            bo, starts = hartmann_state(n_trials=n, seed=seed)
            best_separate = bo.acquisition_values(bo._refine(starts), bo.gp_).max()
            bo.refine = "summed"
            gaps.append(best_separate - bo.acquisition_values(bo._refine(starts), bo.gp_).max())
    gaps = np.array(gaps)
    assert np.sum(gaps > 0.1) >= 2 and np.sum(gaps < -0.1) == 0, np.round(gaps, 3)
