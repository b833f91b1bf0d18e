"""The Gaussian process against scikit-learn's GaussianProcessRegressor (same kernel, fixed
hyperparameters), its analytic gradients against finite differences, and its standardisation
against the exact rational value at the ends of the float range."""

import math
import warnings
from fractions import Fraction

import numpy as np
import pytest
from scipy.optimize import approx_fprime
from sklearn.gaussian_process import GaussianProcessRegressor
from sklearn.gaussian_process.kernels import RBF, ConstantKernel, Matern

from amsearch_lab.gp import GaussianProcess, log_marginal_likelihood, log_prior, standardize

LENGTHSCALES = np.array([0.3, 0.5, 0.8])
SIGNAL_VAR, NOISE_VAR = 1.7, 1e-2


def data(n=20, d=3, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.random((n, d))
    y = np.sin(5 * X).sum(axis=1) + 0.1 * rng.standard_normal(n) + 3.0
    return X, y, rng.random((40, d))


def sklearn_kernel(kernel):
    shape = Matern(length_scale=LENGTHSCALES, nu=2.5) if kernel == "matern52" else RBF(LENGTHSCALES)
    return ConstantKernel(SIGNAL_VAR) * shape


@pytest.mark.parametrize("kernel", ["matern52", "rbf"])
def test_posterior_and_likelihood_match_sklearn(kernel):
    X, y, X_new = data()
    gp = GaussianProcess(kernel, lengthscale=LENGTHSCALES, signal_var=SIGNAL_VAR, noise_var=NOISE_VAR)
    gp.fit(X, y, optimize=False)
    reference = GaussianProcessRegressor(sklearn_kernel(kernel), alpha=NOISE_VAR, optimizer=None,
                                         normalize_y=True).fit(X, y)
    mean, std = gp.predict(X_new, return_std=True)
    ref_mean, ref_std = reference.predict(X_new, return_std=True)
    np.testing.assert_allclose(mean, ref_mean, atol=1e-6)
    np.testing.assert_allclose(std, ref_std, atol=1e-6)
    assert gp.log_marginal_likelihood() == pytest.approx(reference.log_marginal_likelihood_value_, abs=1e-6)


@pytest.mark.parametrize("kernel", ["matern52", "rbf"])
def test_likelihood_gradient_matches_finite_difference(kernel):
    X, y, _ = data(n=15)
    z = (y - y.mean()) / y.std()
    theta = np.log(np.r_[LENGTHSCALES, SIGNAL_VAR, NOISE_VAR])
    _, grad = log_marginal_likelihood(theta, X, z, kernel, grad=True)
    numeric = approx_fprime(theta, lambda t: log_marginal_likelihood(t, X, z, kernel), 1e-6)
    np.testing.assert_allclose(grad, numeric, rtol=1e-4, atol=1e-4)


def test_prior_gradient_matches_finite_difference():
    theta = np.log(np.r_[LENGTHSCALES, SIGNAL_VAR, NOISE_VAR])
    _, grad = log_prior(theta)
    numeric = approx_fprime(theta, lambda t: log_prior(t)[0], 1e-7)
    np.testing.assert_allclose(grad, numeric, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("d", [1, 4])
def test_the_map_fit_finds_the_posterior_mode_solved_by_hand(d):
    """One observation: z = 0 and K = σ_f² + σ_n², so the log likelihood is -½ log(σ_f² + σ_n²)
    (+ const), flat in every length scale. The MAP length scales are then the prior's mode: the
    slope of -0.1 (ℓ² + ℓ⁻²) in log ℓ, 0.2 (ℓ⁻² - ℓ²), vanishes at ℓ = 1. For s = σ_f², t = σ_n²
    the posterior's slopes in log s and log t must vanish:
        -½ s / (s + t) + 1 - s = 0,      -½ t / (s + t) + 0.1 - 30 t = 0."""
    gp = GaussianProcess(lengthscale=0.2, signal_var=3.0, noise_var=1e-3).fit(np.full((1, d), 0.5), [2.0])
    np.testing.assert_allclose(gp.lengthscales_, 1.0, atol=5e-3)
    s, t = gp.signal_var_, gp.noise_var_
    assert -0.5 * s / (s + t) + 1 - s == pytest.approx(0.0, abs=2e-3)
    assert -0.5 * t / (s + t) + 0.1 - 30 * t == pytest.approx(0.0, abs=2e-3)
    # the two equations' solution (Newton's method from s = 0.5, t = 0.003): s = 0.50319, t = 0.0032271
    assert s == pytest.approx(0.50319, abs=2e-3) and t == pytest.approx(0.0032271, rel=0.03)


@pytest.mark.parametrize("kernel", ["matern52", "rbf"])
def test_posterior_gradient_matches_finite_difference(kernel):
    X, y, X_new = data()
    gp = GaussianProcess(kernel, lengthscale=LENGTHSCALES, signal_var=SIGNAL_VAR, noise_var=NOISE_VAR)
    gp.fit(X, y, optimize=False)
    mean, var, d_mean, d_var = gp.posterior_grad(X_new[:3])
    np.testing.assert_allclose(np.c_[mean, var], np.c_[gp.posterior(X_new[:3])], atol=1e-12)
    for i, x in enumerate(X_new[:3]):
        np.testing.assert_allclose(d_mean[i], approx_fprime(x, lambda u: gp.posterior(u)[0][0], 1e-7), atol=1e-4)
        np.testing.assert_allclose(d_var[i], approx_fprime(x, lambda u: gp.posterior(u)[1][0], 1e-7), atol=1e-4)


def test_fit_raises_the_posterior_and_finds_the_irrelevant_dimension():
    """y depends on x0 only: the fitted length scale of x1 must be much longer than that of x0."""
    rng = np.random.default_rng(1)
    X = rng.random((30, 2))
    y = np.sin(6 * X[:, 0])
    gp = GaussianProcess()
    start = gp._initial_theta(2)
    gp.fit(X, y, rng=rng)
    z = gp.z_
    assert -gp._neg_log_posterior(gp.theta_, X, z)[0] > -gp._neg_log_posterior(start, X, z)[0]
    assert gp.lengthscales_[1] > 3 * gp.lengthscales_[0]
    mean, std = gp.predict(X, return_std=True)  # nearly noise-free data: it interpolates
    np.testing.assert_allclose(mean, y, atol=1e-2)
    assert std.max() < 0.05


def test_duplicate_points_do_not_break_the_factorisation():
    X = np.array([[0.2, 0.2], [0.2, 0.2], [0.8, 0.1]])
    gp = GaussianProcess(noise_var=1e-6).fit(X, [1.0, 1.0, 0.0], optimize=False)
    assert np.all(np.isfinite(gp.predict(X, return_std=True)))


@pytest.mark.parametrize("kwargs, name", [({"kernel": "cubic"}, "kernel"), ({"lengthscale": -1.0}, "lengthscale"),
                                          ({"noise_var": 0.0}, "noise_var"), ({"signal_var": "1"}, "signal_var")])
def test_bad_arguments_name_the_parameter(kwargs, name):
    with pytest.raises(ValueError, match=name):
        GaussianProcess(**kwargs)


def test_bad_data_is_refused():
    with pytest.raises(ValueError, match="finite"):
        GaussianProcess().fit(np.zeros((2, 1)), [1.0, np.nan])
    with pytest.raises(ValueError, match="shape"):
        GaussianProcess().fit(np.zeros((3, 1)), [1.0, 2.0])


def exact_z(y):
    """The textbook z = (y - ȳ) / s_y evaluated in exact rationals, rounded once at the end."""
    y = [Fraction(v) for v in y]
    mean = sum(y) / len(y)
    var = sum((v - mean) ** 2 for v in y) / len(y)
    return np.array([math.copysign(math.sqrt(float((v - mean) ** 2 / var)), v - mean) for v in y])


def test_standardize_is_the_textbook_formula_bit_for_bit_on_ordinary_data():
    rng = np.random.default_rng(0)
    for scale in (1e-5, 1.0, 1e5):
        y = 3.0 + scale * rng.standard_normal(20)
        z, mean, std = standardize(y)
        assert np.array_equal(z, (y - y.mean()) / y.std()) and mean == y.mean() and std == y.std()
    assert standardize([7.0, 7.0])[0].tolist() == [0.0, 0.0]


@pytest.mark.parametrize("y", [[1e308, -1e308, 0.5], [1e155, 3e155, 2e155], [1.0, 1e300, 2e300, -3e300],
                               [5e-324, 0.0, 1e-323], [1e-308, 3e-308, 2e-308], [1e308, 1e308, 0.1, 0.3]])
def test_standardize_neither_overflows_nor_underflows(y):
    """The textbook formula gives z = 0 everywhere (s_y = inf) or NaN on these; scaled by a
    power of two first, z is the exact value to rounding."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        z, mean, std = standardize(y)
    np.testing.assert_allclose(z, exact_z(y), rtol=1e-12, atol=1e-14)
    assert np.isfinite(mean) and 0 < std < np.inf


@pytest.mark.parametrize("k", [-1000, 1000])
def test_the_fit_does_not_depend_on_the_scale_of_y(k):
    """A GP of y·2^k is the GP of y, bit for bit, while y·2^k is a normal float (2^1000 ≈ 1e301:
    before the scaled standardisation its squares overflowed and every z was 0)."""
    X, y, X_new = data(n=12)
    gp, scaled = GaussianProcess().fit(X, y), GaussianProcess().fit(X, np.ldexp(y, k))
    np.testing.assert_array_equal(scaled.z_, gp.z_)
    np.testing.assert_array_equal(scaled.theta_, gp.theta_)
    np.testing.assert_array_equal(scaled.predict(X_new), np.ldexp(gp.predict(X_new), k))


def test_a_plateau_at_the_largest_float_is_modelled_not_flattened():
    X = np.linspace(0, 1, 8)[:, None]
    y = np.where(X[:, 0] > 0.5, 1e308, X[:, 0])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        gp = GaussianProcess().fit(X, y)
        mean = gp.predict(X)
    plateau = X[:, 0] > 0.5
    # a step, not z = 0 everywhere (the detail of the low half, 1e-308 of the step, is below float
    # resolution here: BayesianOptimization pulls such outliers in first, see warp_outliers)
    np.testing.assert_array_equal(gp.z_, np.where(plateau, 1.0, -1.0))
    np.testing.assert_allclose(mean, y, atol=0.05 * 1e308)  # the fit's noise, at the step's scale
