"""Bayesian optimization: the acquisition functions against their closed forms and Monte-Carlo
estimates from the posterior, their derivatives against finite differences, the rounding
against the space's own encode/decode, and the strategy's promises (no repeated point,
failed trials, both directions, better than random on Branin)."""

import math

import numpy as np
import pytest
from scipy.stats import norm

from amsearch_lab import Choice, Float, Int, Space, search
from amsearch_lab.strategies.bayes import (
    BayesianOptimization,
    expected_improvement,
    log_expected_improvement,
    log_probability_of_improvement,
    probability_of_improvement,
    upper_confidence_bound,
)
from amsearch_lab.tasks import TASKS

MEANS = np.array([-1.0, 0.0, 0.3, 2.0])
STDS = np.array([0.5, 1.0, 0.2, 0.7])
BEST = 0.1


def posterior_samples(n=400_000, seed=0):
    return MEANS + STDS * np.random.default_rng(seed).standard_normal((n, len(MEANS)))  # (n, 4)


def test_expected_improvement_matches_monte_carlo():
    f = posterior_samples()
    improvement = np.maximum(BEST - f, 0.0)
    mc, se = improvement.mean(axis=0), improvement.std(axis=0) / math.sqrt(len(f))
    ei = expected_improvement(MEANS, STDS, BEST)
    assert np.all(np.abs(ei - mc) < 4 * se + 1e-12)
    np.testing.assert_allclose(np.exp(log_expected_improvement(MEANS, STDS, BEST)[0]), ei, rtol=1e-12)


def test_probability_of_improvement_matches_monte_carlo():
    f = posterior_samples()
    mc = (f < BEST - 0.05).mean(axis=0)
    pi = probability_of_improvement(MEANS, STDS, BEST, xi=0.05)
    assert np.all(np.abs(pi - mc) < 4 * np.sqrt(pi * (1 - pi) / len(f)) + 1e-12)
    np.testing.assert_allclose(np.exp(log_probability_of_improvement(MEANS, STDS, BEST, xi=0.05)[0]), pi, rtol=1e-12)


def test_upper_confidence_bound_is_a_quantile_of_the_negated_loss():
    """With √β = Φ⁻¹(q), -μ + √β σ is the q-quantile of -f under the posterior."""
    q = 0.9
    beta = norm.ppf(q) ** 2
    ucb = upper_confidence_bound(MEANS, STDS, beta=beta)[0]
    np.testing.assert_allclose(ucb, np.quantile(-posterior_samples(), q, axis=0), atol=1e-2)


@pytest.mark.parametrize("z", [3.0, 0.0, -0.5, -1.0, -5.0, -30.0, -200.0, -5e3])
def test_log_ei_is_accurate_far_from_the_data(z):
    """Against the closed form where it is accurate, and against the asymptotic series
    h(z) = φ(z) (z⁻² - 3 z⁻⁴ + 15 z⁻⁶ - ...) where the closed form underflows."""
    std = 0.7
    mean = BEST - z * std
    log_ei = log_expected_improvement(np.array([mean]), np.array([std]), BEST)[0][0]
    if z > -20:
        assert log_ei == pytest.approx(math.log(expected_improvement(mean, std, BEST)), rel=1e-9)
    else:
        series = z**-2 - 3 * z**-4 + 15 * z**-6 - 105 * z**-8
        assert log_ei == pytest.approx(math.log(std) + norm.logpdf(z) + math.log(series), rel=1e-9)


@pytest.mark.parametrize("acquisition, option", [(log_expected_improvement, {"xi": 0.01}),
                                                 (log_probability_of_improvement, {"xi": 0.01}),
                                                 (upper_confidence_bound, {"beta": 2.0})])
@pytest.mark.parametrize("mean, std", [(0.0, 1.0), (1.5, 0.3), (30.0, 0.5)])
def test_acquisition_derivatives_match_finite_differences(acquisition, option, mean, std):
    def value(m, s):
        return acquisition(np.array([m]), np.array([s]), BEST, **option)[0][0]

    _, d_mean, d_std = acquisition(np.array([mean]), np.array([std]), BEST, **option)
    h = 1e-6
    assert d_mean[0] == pytest.approx((value(mean + h, std) - value(mean - h, std)) / (2 * h), rel=1e-5, abs=1e-7)
    assert d_std[0] == pytest.approx((value(mean, std + h) - value(mean, std - h)) / (2 * h), rel=1e-5, abs=1e-7)


def mixed_space():
    return Space({"lr": Float(1e-4, 1.0, log=True), "x": Float(-2.0, 3.0), "q": Float(0.0, 1.0, step=0.25),
                  "width": Int(8, 64, step=8), "units": Int(1, 1000, log=True), "act": Choice(["relu", "tanh", "gelu"])})


def test_rounding_matches_encode_of_decode():
    space = mixed_space()
    U = np.random.default_rng(0).random((300, space.n_unit))
    rounded = BayesianOptimization(space, seed=0).round_to_space(U)
    expected = np.array([space.encode(space.decode(u)) for u in U])
    np.testing.assert_allclose(rounded, expected, atol=1e-12)


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
                                          ({"n_candidates": 2.5}, "n_candidates")])
def test_bad_options_name_the_parameter(kwargs, name):
    with pytest.raises(ValueError, match=name):
        BayesianOptimization(mixed_space(), **kwargs)
