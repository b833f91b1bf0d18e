"""The regression lesson's gradients: finite differences, autograd, and the least-squares optimum."""

import numpy as np
import pytest
import torch
from sklearn.linear_model import LinearRegression

from amsearch_lab import make_regression
from amsearch_lab.optim import GD, SGD, DivergenceError, descend, half_mse, half_mse_gradients


@pytest.fixture
def problem():
    X, y = make_regression(n=50, seed=0)
    return X, y, np.array([0.3]), np.array([-0.2])


def test_gradients_match_central_finite_differences(problem):
    X, y, w, b = problem
    grad_w, grad_b = half_mse_gradients(X, y, w, b)
    h = 1e-6
    fd_w = (half_mse(X, y, w + h, b) - half_mse(X, y, w - h, b)) / (2 * h)
    fd_b = (half_mse(X, y, w, b + h) - half_mse(X, y, w, b - h)) / (2 * h)
    np.testing.assert_allclose(grad_w, [fd_w], rtol=1e-6)
    np.testing.assert_allclose(grad_b, [fd_b], rtol=1e-6)


def test_gradients_match_autograd_with_two_features(problem):
    X, y, _, _ = problem
    X2 = np.hstack([X, X ** 2])  # (n, 2)
    w, b = np.array([0.5, -1.0]), np.array([0.25])
    tw = torch.tensor(w, requires_grad=True)
    tb = torch.tensor(b, requires_grad=True)
    r = torch.tensor(X2) @ tw + tb - torch.tensor(y)
    (0.5 * (r ** 2).mean()).backward()
    grad_w, grad_b = half_mse_gradients(X2, y, w, b)
    np.testing.assert_allclose(grad_w, tw.grad.numpy(), rtol=1e-12)
    np.testing.assert_allclose(grad_b, tb.grad.numpy(), rtol=1e-12)


def test_the_source_gradient_for_b_is_wrong(problem):
    X, y, w, b = problem
    source_grad_b = np.mean(X[:, 0] * (w - y))  # the source material's formula
    _, grad_b = half_mse_gradients(X, y, w, b)
    assert abs(source_grad_b - grad_b[0]) > 0.1


def test_gradient_descent_reaches_least_squares(problem):
    X, y, _, _ = problem
    X2 = np.hstack([X, X ** 2])
    w, b = np.zeros(2), np.zeros(1)
    path = descend(X2, y, w, b, GD([w, b], lr=0.5, momentum=0.9), iterations=3000)
    ols = LinearRegression().fit(X2, y)
    np.testing.assert_allclose(w, ols.coef_, atol=1e-4)
    np.testing.assert_allclose(b, [ols.intercept_], atol=1e-4)
    assert path["loss"][-1] < 1e-8  # y = x^2 exactly: the quadratic feature fits it
    assert path["w"].shape == (3001, 2)


def test_sgd_is_reproducible_and_stops_at_tol(problem):
    X, y, _, _ = problem
    runs = []
    for _ in range(2):
        w, b = np.zeros(1), np.zeros(1)
        runs.append(descend(X, y, w, b, SGD([w, b], lr=0.3), iterations=500, batch_size=8, seed=3, tol=0.01))
    np.testing.assert_array_equal(runs[0]["w"], runs[1]["w"])
    assert runs[0]["loss"][-1] < 0.01 and len(runs[0]["loss"]) < 501


def test_bad_input_raises_value_error(problem):
    X, y, w, b = problem
    with pytest.raises(ValueError, match="batch_size=0"):
        descend(X, y, w, b, SGD([w, b], lr=0.1), iterations=5, batch_size=0)
    with pytest.raises(ValueError, match="iterations=-1"):
        descend(X, y, w, b, SGD([w, b], lr=0.1), iterations=-1)
    with pytest.raises(ValueError, match="built on"):
        descend(X, y, w, b, SGD([w.copy(), b], lr=0.1), iterations=5)


def test_a_too_large_step_diverges_with_a_clear_error(problem):
    X, y, w, b = problem
    with pytest.raises(DivergenceError, match=r"step \d+ \(lr=5\)"):
        descend(X, y, w, b, GD([w, b], lr=5.0), iterations=2000)  # 5 > 2 / lambda_max
