"""Tests of ``strategies/hyperband.py``: Hyperband and model-based Hyperband (BOHB's idea, a GP).

Ground truths, none of them read from the strategy:
- Hyperband's brackets for R = 27, η = 3 are the table of Li et al. (2017); those for r = 2,
  R = 18 are worked out by hand below; one cycle of jobs must follow them rung by rung, spend
  Σ n_i (r_i − r_{i−1}) per bracket (checkpoints continue) and start again after s = 0;
- ModelBasedHyperband's ``model_budgets_`` is recomputed from the history: the largest budget
  with ``min_points`` successful results told before the draw;
- with ``random_fraction=1`` the draws are reproduced from the documented generator stream;
- with ``random_fraction=0`` and enough results, the proposals fall in a disc around the optimum
  of ``SyntheticCurves`` far more often than its area (the chance of a uniform draw): a binomial
  test.
The GP fits make ModelBasedHyperband the slow one; its runs use R = 9 and cheap BO options.
"""

import math

import numpy as np
import pytest
from scipy.stats import binomtest

from amsearch_lab import search
from amsearch_lab.curves import SyntheticCurves
from amsearch_lab.strategies import Hyperband, ModelBasedHyperband

from .test_halving import rungs_of

SPACE = SyntheticCurves.space()
OPTIMUM = np.array([0.3, 0.7])  # of SyntheticCurves: limit = (x − 0.3)² + (y − 0.7)² / 2
CHEAP_BO = {"n_candidates": 256, "n_local": 2}  # a faster acquisition search, same model

# Li et al. 2017, Table 1 (R = 27, η = 3): [(n_i, r_i), ...] per bracket s = 3, 2, 1, 0
PAPER = [[(27, 1), (9, 3), (3, 9), (1, 27)], [(12, 3), (4, 9), (1, 27)], [(6, 9), (2, 27)], [(4, 27)]]
# r = 2, R = 18, η = 3: R/r = 9, s_max = 2, B/R = 3; s = 2: n = ⌈3·9/3⌉ = 9 at 18/9 = 2; s = 1: n = ⌈3·3/2⌉ = 5
# at 6, ⌊5/3⌋ = 1 at 18; s = 0: n = 3 at 18
BY_HAND = [[(9, 2), (3, 6), (1, 18)], [(5, 6), (1, 18)], [(3, 18)]]


def continued_cost(schedule):
    """Σ n_i (r_i − r_{i−1}): the steps one bracket trains when promoted jobs continue."""
    before = [0] + [r for _, r in schedule[:-1]]
    return sum(n * (r - r0) for (n, r), r0 in zip(schedule, before))


@pytest.mark.parametrize("min_budget, max_budget, table", [(1, 27, PAPER), (2, 18, BY_HAND)])
def test_brackets_are_the_papers(min_budget, max_budget, table):
    assert Hyperband(SPACE, min_budget=min_budget, max_budget=max_budget).brackets_table == table


def test_continued_cost_by_hand():
    assert [continued_cost(s) for s in PAPER] == [27 + 9 * 2 + 3 * 6 + 18, 12 * 3 + 4 * 6 + 18, 6 * 9 + 2 * 18, 4 * 27]


@pytest.mark.parametrize("min_budget, max_budget, table", [(1, 27, PAPER), (2, 18, BY_HAND)])
def test_one_cycle_of_jobs_follows_the_brackets_and_starts_again(min_budget, max_budget, table):
    curves = SyntheticCurves(crossing=0, max_steps=max_budget)
    cycle = sum(n for bracket in table for n, _ in bracket)
    jobs = cycle + sum(n for n, _ in table[0])  # one cycle, then the first bracket again
    history = search(curves, SPACE, "hyperband", budget=jobs, seed=3, progress=False,
                     options=dict(eta=3, min_budget=min_budget, max_budget=max_budget))
    brackets = [t.bracket for t in history]
    assert brackets == sorted(brackets) and set(brackets) == set(range(len(table) + 1))  # counts 0, 1, ...
    for b in range(len(table) + 1):
        schedule = table[b % len(table)]
        rungs = rungs_of(history, b)
        assert [(len(r), {t.budget for t in r}) for r in rungs] == [(n, {r}) for n, r in schedule]
        assert sum(t.resource for t in history if t.bracket == b) == continued_cost(schedule)
        for k in range(len(rungs) - 1):  # rung k + 1 = the top of rung k (values ranked here)
            top = sorted(rungs[k], key=lambda t: (t.value, t.config))[:schedule[k + 1][0]]
            assert [t.config for t in rungs[k + 1]] == [t.config for t in top]
        finals = {t.config: curves.final(t.params) for t in rungs[0]}
        assert min(finals, key=finals.get) in {t.config for t in rungs[-1]}  # crossing = 0: the best survives
    assert {t.config for t in history if t.bracket == len(table)}.isdisjoint(
        t.config for t in history if t.bracket < len(table))  # the new cycle draws new configurations


def failing_curves(curves):
    """``curves``, failing (raising) for every configuration with x > 0.8."""
    def objective(params, run):
        if params["x"] > 0.8:
            raise RuntimeError("diverged")
        return curves(params, run)
    return objective


def first_jobs(history):
    """config -> the number of its first trial (the moment it was drawn, in a sequential search)."""
    first = {}
    for t in history:
        first.setdefault(t.config, t.number)
    return first


def test_model_budget_is_the_largest_with_min_points_successes():
    curves = SyntheticCurves(crossing=0, max_steps=9)
    strategy = ModelBasedHyperband(SPACE, seed=0, min_budget=1, max_budget=9, min_points=3, random_fraction=0,
                                   bo_options=CHEAP_BO)
    history = search(failing_curves(curves), SPACE, strategy, budget=40, progress=False)
    assert any(not t.ok for t in history)  # failures occur, and must not count
    expected = []
    first = first_jobs(history)
    for config in range(len(strategy.configs_)):
        counts = {}  # successful results per budget, told before the configuration was drawn
        for t in history[:first[config]]:
            if t.ok:
                counts[t.budget] = counts.get(t.budget, 0) + 1
        enough = [b for b, n in counts.items() if n >= 3]
        expected.append(max(enough) if enough else None)
    assert strategy.model_budgets_ == expected
    assert expected[:3] == [None] * 3 and {1, 3, 9} <= set(expected)  # uniform first, then every budget in turn


def test_random_fraction_one_draws_uniformly_from_the_documented_stream():
    """Same schedule as Hyperband, not the same draws: every draw first spends two numbers of the
    generator (the coin for ``random_fraction`` and a seed for the model), uniform or not."""
    curves = SyntheticCurves(crossing=0, max_steps=9)
    strategy = ModelBasedHyperband(SPACE, seed=5, min_budget=1, max_budget=9, random_fraction=1)
    model_based = search(curves, SPACE, strategy, budget=30, progress=False)
    plain = search(curves, SPACE, "hyperband", budget=30, seed=5, progress=False,
                   options=dict(min_budget=1, max_budget=9))
    assert all(b is None for b in strategy.model_budgets_)
    rng = np.random.default_rng(5)
    stream = []
    for _ in strategy.configs_:
        rng.random()
        rng.integers(2**32)
        stream.append(SPACE.sample(rng))
    assert strategy.configs_ == stream
    shape = [(t.budget, t.bracket, t.rung, t.start_step) for t in model_based]
    assert shape == [(t.budget, t.bracket, t.rung, t.start_step) for t in plain]
    assert model_based[0].params != plain[0].params


def test_with_enough_results_the_model_proposes_near_the_optimum():
    """Draws whose model was fitted on >= 10 successful results: the share of them within 0.15 of
    the optimum against the disc's area π 0.15² ≈ 0.071, the chance of a uniform draw (one-sided
    binomial test, p < 1e-3). Draws on fewer results are printed, not asserted: with 3 to 5 points
    the GP's expected improvement mostly explores."""
    curves = SyntheticCurves(crossing=0, max_steps=9)
    rich, poor = [], []
    for seed in (0, 2):
        strategy = ModelBasedHyperband(SPACE, seed=seed, min_budget=1, max_budget=9, min_points=3,
                                       random_fraction=0, bo_options=CHEAP_BO)
        history = search(curves, SPACE, strategy, budget=66, progress=False)
        for config, number in first_jobs(history).items():
            budget = strategy.model_budgets_[config]
            if budget is None:
                continue
            n = sum(1 for t in history[:number] if t.ok and t.budget == budget)
            params = strategy.configs_[config]
            distance = float(np.hypot(params["x"] - OPTIMUM[0], params["y"] - OPTIMUM[1]))
            (rich if n >= 10 else poor).append(distance)
    area = math.pi * 0.15**2
    hits = sum(d < 0.15 for d in rich)
    p = binomtest(hits, len(rich), area, alternative="greater").pvalue
    print(f"model on >= 10 results: {hits}/{len(rich)} within 0.15 (uniform: {area:.3f}), p = {p:.2g}; "
          f"on fewer: {sum(d < 0.15 for d in poor)}/{len(poor)}, median distance {np.median(poor):.3f}")
    assert len(rich) >= 20 and p < 1e-3


def test_a_brackets_model_based_draws_are_distinct():
    """Every configuration drawn so far counts as seen by the model: without that, a fresh GP fitted
    on the same results would propose one point again and again within a bracket."""
    curves = SyntheticCurves(crossing=0, max_steps=9)
    strategy = ModelBasedHyperband(SPACE, seed=1, min_budget=1, max_budget=9, min_points=3, random_fraction=0,
                                   bo_options=CHEAP_BO)
    history = search(curves, SPACE, strategy, budget=40, progress=False)
    for b in {t.bracket for t in history}:
        drawn = [(t.params["x"], t.params["y"]) for t in history if t.bracket == b and t.rung == 0]
        assert len(set(drawn)) == len(drawn), f"bracket {b}: {len(drawn)} draws, {len(set(drawn))} distinct"


@pytest.mark.parametrize("options, fragment", [
    (dict(min_points=1), "min_points=1"), (dict(min_points=2.5), "min_points=2.5"), (dict(min_points=True), "min_points=True"),
    (dict(random_fraction=-0.1), "random_fraction=-0.1"), (dict(random_fraction=1.5), "random_fraction=1.5"),
    (dict(random_fraction=math.nan), "random_fraction=nan"), (dict(random_fraction="0.5"), "random_fraction='0.5'"),
    (dict(bo_options={"seed": 1}), "bo_options="), (dict(bo_options={"minimize": False}), "bo_options="),
    (dict(bo_options={"n_initial": 0}), "n_initial=0"),
    (dict(eta=1), "eta=1"), (dict(min_budget=0), "min_budget=0"), (dict(min_budget=10, max_budget=9), "min_budget=10"),
])
def test_bad_options(options, fragment):
    with pytest.raises(ValueError, match=fragment):
        ModelBasedHyperband(SPACE, **options)


def test_an_unknown_bo_option_is_a_value_error_naming_it():
    with pytest.raises(ValueError, match="bo_options"):
        ModelBasedHyperband(SPACE, bo_options={"n_initail": 3})
