"""Acquisition functions against their closed forms and Monte-Carlo estimates from the
posterior, their derivatives against finite differences, their σ → 0 limits, and one return
convention for all of them (values; ``grad=True`` adds the slopes)."""

import math
import warnings

import numpy as np
import pytest
from scipy.stats import norm

from amsearch_lab.acquisition import (
    ACQUISITIONS,
    expected_improvement,
    log_expected_improvement,
    log_probability_of_improvement,
    probability_of_improvement,
    upper_confidence_bound,
)

F_STAR = 1.0  # the incumbent f* of the σ → 0 tests

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
    np.testing.assert_allclose(np.exp(log_expected_improvement(MEANS, STDS, BEST)), ei, rtol=1e-12)


def test_probability_of_improvement_matches_monte_carlo():
    f = posterior_samples()
    mc = (f < BEST - 0.05).mean(axis=0)
    pi = probability_of_improvement(MEANS, STDS, BEST, xi=0.05)
    assert np.all(np.abs(pi - mc) < 4 * np.sqrt(pi * (1 - pi) / len(f)) + 1e-12)
    np.testing.assert_allclose(np.exp(log_probability_of_improvement(MEANS, STDS, BEST, xi=0.05)), pi, rtol=1e-12)


def test_upper_confidence_bound_is_a_quantile_of_the_negated_loss():
    """With √β = Φ⁻¹(q), -μ + √β σ is the q-quantile of -f under the posterior."""
    q = 0.9
    beta = norm.ppf(q) ** 2
    ucb = upper_confidence_bound(MEANS, STDS, beta=beta)
    np.testing.assert_allclose(ucb, np.quantile(-posterior_samples(), q, axis=0), atol=1e-2)


@pytest.mark.parametrize("z", [3.0, 0.0, -0.5, -1.0, -5.0, -30.0, -200.0, -5e3])
def test_log_ei_is_accurate_far_from_the_data(z):
    """Against the closed form where it is accurate, and against the asymptotic series
    h(z) = φ(z) (z⁻² - 3 z⁻⁴ + 15 z⁻⁶ - ...) where the closed form underflows."""
    std = 0.7
    mean = BEST - z * std
    log_ei = log_expected_improvement(np.array([mean]), np.array([std]), BEST)[0]
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
        return acquisition(np.array([m]), np.array([s]), BEST, **option)[0]

    _, d_mean, d_std = acquisition(np.array([mean]), np.array([std]), BEST, grad=True, **option)
    h = 1e-6
    assert d_mean[0] == pytest.approx((value(mean + h, std) - value(mean - h, std)) / (2 * h), rel=1e-5, abs=1e-7)
    assert d_std[0] == pytest.approx((value(mean, std + h) - value(mean, std - h)) / (2 * h), rel=1e-5, abs=1e-7)


@pytest.mark.parametrize("xi", [0.0, 0.1])
@pytest.mark.parametrize("mean", [0.5, 0.9, 1.0, 1.5])
def test_acquisitions_at_zero_std_are_their_limits(mean, xi):
    """σ = 0: EI = max(f* - ξ - μ, 0), PI = [μ < f* - ξ], their logs (-inf where 0), and slopes
    that are the limits' own: ∂ log EI/∂μ = -1/(f* - ξ - μ), every other slope 0."""
    gain = F_STAR - xi - mean
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ei, pi = expected_improvement([mean], [0.0], F_STAR, xi), probability_of_improvement([mean], [0.0], F_STAR, xi)
        log_ei = log_expected_improvement([mean], [0.0], F_STAR, xi, grad=True)
        log_pi = log_probability_of_improvement([mean], [0.0], F_STAR, xi, grad=True)
    assert ei[0] == max(gain, 0.0) and pi[0] == float(gain > 0)
    assert log_ei[0][0] == (math.log(gain) if gain > 0 else -math.inf)
    assert log_ei[1][0] == pytest.approx(-1 / gain if gain > 0 else 0.0) and log_ei[2][0] == 0.0
    assert log_pi[0][0] == (0.0 if gain > 0 else -math.inf) and log_pi[1][0] == log_pi[2][0] == 0.0


@pytest.mark.parametrize("mean", [0.5, F_STAR - 1e-9, -1e300])
def test_acquisitions_are_continuous_as_std_goes_to_zero(mean):
    """Where improvement is possible (μ < f*), σ = 1e-12 and σ = 0 give the same values and slopes."""
    for acquisition in (log_expected_improvement, log_probability_of_improvement):
        for a, b in zip(acquisition([mean], [1e-12], F_STAR, grad=True), acquisition([mean], [0.0], F_STAR, grad=True)):
            assert a[0] == pytest.approx(b[0], rel=1e-6, abs=1e-9)
    for acquisition in (expected_improvement, probability_of_improvement):
        assert acquisition([mean], [1e-12], F_STAR)[0] == pytest.approx(acquisition([mean], [0.0], F_STAR)[0], rel=1e-9)


def test_acquisitions_fall_to_their_zero_limit_as_std_goes_to_zero():
    """Where it is not (μ > f*), EI and PI go to 0 and their logs down to -inf, which σ = 0 gives."""
    for acquisition in (expected_improvement, probability_of_improvement):
        assert acquisition([1.5], [1e-12], F_STAR)[0] == acquisition([1.5], [0.0], F_STAR)[0] == 0.0
    for acquisition in (log_expected_improvement, log_probability_of_improvement):
        values = [acquisition([1.5], [std], F_STAR)[0] for std in (1e-3, 1e-6, 1e-12, 0.0)]
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
            value, d_mean, d_std = acquisition([mean], [std], F_STAR, grad=True)
            assert not np.isnan(value[0]) and value[0] < np.inf
            assert np.isfinite(d_mean[0]) and np.isfinite(d_std[0])
            if value[0] == -np.inf:
                assert d_mean[0] == d_std[0] == 0.0


def test_log_pi_slope_is_accurate_far_below_the_incumbent():
    """λ(z) = φ(z)/Φ(z) = u (1 + u⁻² - 2u⁻⁴ + ...) for z = -u ≪ 0; exp(log φ - log Φ) lost 1e-4 of
    it at u = 1e6 (the two logs are -5e11 and nearly equal) and 80 % at u = 1e8."""
    for u in (1e6, 1e8):
        d_mean = log_probability_of_improvement([1.0 + u], [1.0], 1.0, grad=True)[1][0]
        assert -d_mean == pytest.approx(u * (1 + u**-2), rel=1e-14)


def test_a_negative_std_is_refused_by_name():
    with pytest.raises(ValueError, match="std=-0.5"):
        log_expected_improvement([0.0, 1.0], [1.0, -0.5], 1.0)


@pytest.mark.parametrize("acquisition", [expected_improvement, probability_of_improvement,
                                         *ACQUISITIONS.values()])
def test_one_return_convention_values_then_slopes_with_grad(acquisition):
    mean, std = np.array([[0.0, 1.0], [2.0, -1.0]]), np.array([[1.0, 0.5], [0.1, 2.0]])  # any shape
    value = acquisition(mean, std, BEST)
    assert isinstance(value, np.ndarray) and value.shape == mean.shape
    with_grad = acquisition(mean, std, BEST, grad=True)
    assert len(with_grad) == 3 and all(part.shape == mean.shape for part in with_grad)
    np.testing.assert_array_equal(with_grad[0], value)


@pytest.mark.parametrize("acquisition, option", [(expected_improvement, {"xi": 0.01}),
                                                 (probability_of_improvement, {"xi": 0.01})])
@pytest.mark.parametrize("mean, std", [(0.0, 1.0), (1.5, 0.3), (-0.4, 0.5)])
def test_plain_ei_and_pi_slopes_match_finite_differences(acquisition, option, mean, std):
    def value(m, s):
        return acquisition(np.array([m]), np.array([s]), BEST, **option)[0]

    _, d_mean, d_std = acquisition(np.array([mean]), np.array([std]), BEST, grad=True, **option)
    h = 1e-6
    assert d_mean[0] == pytest.approx((value(mean + h, std) - value(mean - h, std)) / (2 * h), rel=1e-5, abs=1e-8)
    assert d_std[0] == pytest.approx((value(mean, std + h) - value(mean, std - h)) / (2 * h), rel=1e-5, abs=1e-8)
