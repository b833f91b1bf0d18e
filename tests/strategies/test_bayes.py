"""Bayesian optimization: the acquisition functions against their closed forms and Monte-Carlo
estimates from the posterior, their derivatives against finite differences, the rounding
against the space's own encode/decode, and the strategy's promises (no repeated point,
failed trials, both directions, better than random on Branin)."""

import math
import warnings

import numpy as np
import pytest
from scipy.stats import norm

from amsearch_lab import Choice, Float, Int, Space, search
from amsearch_lab.strategies.bayes import (
    BayesianOptimization,
    expected_improvement,
    local_starts,
    log_expected_improvement,
    log_probability_of_improvement,
    probability_of_improvement,
    upper_confidence_bound,
    warp_outliers,
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


def huge_space():
    return Space({"n": Int(0, 10**9), "big": Int(1, 10**12, log=True), "k": Int(1000, 1010, log=True),
                  "x": Float(0.0, 1.0, step=1e-7), "z": Int(-10**12, 10**12, step=7), "q": Float(0.0, 1.0, step=0.3)})


@pytest.mark.parametrize("space", [mixed_space(), huge_space()], ids=["mixed", "huge-and-log-ints"])
def test_rounding_matches_encode_of_decode(space):
    U = np.random.default_rng(0).random((300, space.n_unit))
    U[:2] = [[0.0] * space.n_unit, [1.0] * space.n_unit]  # the corners: end points get whole bins too
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


# -- σ → 0, z → ±∞ ------------------------------------------------------------------------------------
F_STAR = 1.0  # the incumbent f* of the σ → 0 tests


@pytest.mark.parametrize("xi", [0.0, 0.1])
@pytest.mark.parametrize("mean", [0.5, 0.9, 1.0, 1.5])
def test_acquisitions_at_zero_std_are_their_limits(mean, xi):
    """σ = 0: EI = max(f* - ξ - μ, 0), PI = [μ < f* - ξ], their logs (-inf where 0), and slopes
    that are the limits' own: ∂ log EI/∂μ = -1/(f* - ξ - μ), every other slope 0."""
    gain = F_STAR - xi - mean
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ei, pi = expected_improvement([mean], [0.0], F_STAR, xi), probability_of_improvement([mean], [0.0], F_STAR, xi)
        log_ei, log_pi = log_expected_improvement([mean], [0.0], F_STAR, xi), log_probability_of_improvement(
            [mean], [0.0], F_STAR, xi)
    assert ei[0] == max(gain, 0.0) and pi[0] == float(gain > 0)
    assert log_ei[0][0] == (math.log(gain) if gain > 0 else -math.inf)
    assert log_ei[1][0] == pytest.approx(-1 / gain if gain > 0 else 0.0) and log_ei[2][0] == 0.0
    assert log_pi[0][0] == (0.0 if gain > 0 else -math.inf) and log_pi[1][0] == log_pi[2][0] == 0.0


@pytest.mark.parametrize("mean", [0.5, F_STAR - 1e-9, -1e300])
def test_acquisitions_are_continuous_as_std_goes_to_zero(mean):
    """Where improvement is possible (μ < f*), σ = 1e-12 and σ = 0 give the same values and slopes."""
    for acquisition in (log_expected_improvement, log_probability_of_improvement):
        for a, b in zip(acquisition([mean], [1e-12], F_STAR), acquisition([mean], [0.0], F_STAR)):
            assert a[0] == pytest.approx(b[0], rel=1e-6, abs=1e-9)
    for acquisition in (expected_improvement, probability_of_improvement):
        assert acquisition([mean], [1e-12], F_STAR)[0] == pytest.approx(acquisition([mean], [0.0], F_STAR)[0], rel=1e-9)


def test_acquisitions_fall_to_their_zero_limit_as_std_goes_to_zero():
    """Where it is not (μ > f*), EI and PI go to 0 and their logs down to -inf, which σ = 0 gives."""
    for acquisition in (expected_improvement, probability_of_improvement):
        assert acquisition([1.5], [1e-12], F_STAR)[0] == acquisition([1.5], [0.0], F_STAR)[0] == 0.0
    for acquisition in (log_expected_improvement, log_probability_of_improvement):
        values = [acquisition([1.5], [std], F_STAR)[0][0] for std in (1e-3, 1e-6, 1e-12, 0.0)]
        assert values[0] > values[1] > values[2] > values[3] == -np.inf


@pytest.mark.parametrize("std", [0.0, 5e-324, 1e-300, 1e-160, 1e-12, 1.0, 1e300])
@pytest.mark.parametrize("mean", [-1e308, -1e160, -1.0, F_STAR - 1e-15, F_STAR, F_STAR + 1e-15, 3.0, 1e160, 1e308])
def test_acquisitions_stay_usable_at_the_ends_of_the_float_range(mean, std):
    """No warning, no NaN; values finite or -inf (nothing to gain), slopes always finite (an
    optimiser must never see inf or NaN), and where z = (f* - μ)/σ overflows, the σ = 0 limit."""
    with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
        z_overflows = not np.isfinite((F_STAR - mean) / np.float64(std))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for acquisition in (expected_improvement, probability_of_improvement):
            value = acquisition([mean], [std], F_STAR)
            assert np.isfinite(value[0])
            if z_overflows:
                assert value[0] == acquisition([mean], [0.0], F_STAR)[0]
        for acquisition in (log_expected_improvement, log_probability_of_improvement):
            value, d_mean, d_std = acquisition([mean], [std], F_STAR)
            assert not np.isnan(value[0]) and value[0] < np.inf
            assert np.isfinite(d_mean[0]) and np.isfinite(d_std[0])
            if value[0] == -np.inf:
                assert d_mean[0] == d_std[0] == 0.0


def test_log_pi_slope_is_accurate_far_below_the_incumbent():
    """λ(z) = φ(z)/Φ(z) = u (1 + u⁻² - 2u⁻⁴ + ...) for z = -u ≪ 0; exp(log φ - log Φ) lost 1e-4 of
    it at u = 1e6 (the two logs are -5e11 and nearly equal) and 80 % at u = 1e8."""
    for u in (1e6, 1e8):
        d_mean = log_probability_of_improvement([1.0 + u], [1.0], 1.0)[1][0]
        assert -d_mean == pytest.approx(u * (1 + u**-2), rel=1e-14)


def test_a_negative_std_is_refused_by_name():
    with pytest.raises(ValueError, match="std=-0.5"):
        log_expected_improvement([0.0, 1.0], [1.0, -0.5], 1.0)


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
