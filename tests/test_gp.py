"""The Gaussian process against scikit-learn's GaussianProcessRegressor (same kernel, fixed
hyperparameters) and its analytic gradients against finite differences."""

import numpy as np
import pytest
from scipy.optimize import approx_fprime
from sklearn.gaussian_process import GaussianProcessRegressor
from sklearn.gaussian_process.kernels import RBF, ConstantKernel, Matern

from amsearch_lab.gp import GaussianProcess, log_marginal_likelihood, log_prior

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
