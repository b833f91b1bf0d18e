"""Hypergradients through an unrolled training run, each checked against an oracle that shares no
code with the module: a closed form on a 1-D quadratic, the same ridge training written in numpy
with its derivatives carried forward by hand (forward mode), and torch.optim.SGD for softmax
regression with finite differences of it. (``tests/strategies/test_gradient.py`` checks the same
tasks against finite differences of themselves, as the strategy uses them.)"""

import math

import numpy as np
import pytest
import torch

from amsearch_lab.hypergrad import iris_hypergrad_task, regression_hypergrad_task, unrolled_gd

POINTS = [dict(alpha=1e-3, lr=0.05), dict(alpha=0.3, lr=0.1), dict(alpha=2.0, lr=0.15)]


@pytest.fixture(scope="module")
def regression():
    return regression_hypergrad_task(steps=30)


@pytest.fixture(scope="module")
def iris():
    return iris_hypergrad_task(steps=20)


def test_unrolled_gd_on_a_quadratic_matches_the_closed_form():
    """``L(w) = a w^2 / 2``: ``w_T = (1 - lr a)^T w_0`` and ``dw_T/dlr = -T a (1 - lr a)^(T-1) w_0``."""
    a, w0, T = 3.0, 2.0, 7
    lr = torch.tensor(0.1, dtype=torch.float64, requires_grad=True)
    (w_T,) = unrolled_gd(lambda w: 0.5 * a * w[0] ** 2, [torch.tensor(w0, dtype=torch.float64)], lr, T)
    w_T.backward()
    assert float(w_T.detach()) == pytest.approx((1 - 0.1 * a) ** T * w0, rel=1e-14)
    assert float(lr.grad) == pytest.approx(-T * a * (1 - 0.1 * a) ** (T - 1) * w0, rel=1e-14)


def test_unrolled_gd_leaves_the_start_untouched():
    w0 = torch.ones(3, dtype=torch.float64)
    unrolled_gd(lambda w: (w[0] ** 2).sum(), [w0], torch.tensor(0.1, dtype=torch.float64), 5)
    assert torch.equal(w0, torch.ones(3, dtype=torch.float64)) and not w0.requires_grad


def ridge_forward_mode(task, alpha, lr):
    """The regression task's training in numpy: ``theta = [W; b]``, the gradient of the MSE plus
    ``alpha/2 ||W||^2`` is ``A theta - c`` with ``A = 2/n X1^T X1 + alpha P`` (``P`` masks the bias),
    ``c = 2/n X1^T y``. The tangents ``dtheta/dalpha`` and ``dtheta/dlr`` are updated alongside
    ``theta`` by differentiating ``theta <- theta - lr (A theta - c)`` by hand."""
    X, y = task.X_train.numpy(), task.y_train.numpy()
    Xv, yv = task.X_val.numpy(), task.y_val.numpy()
    X1, Xv1 = np.c_[X, np.ones(len(X))], np.c_[Xv, np.ones(len(Xv))]  # (n, d + 1): the bias column last
    P = np.diag([1.0] * X.shape[1] + [0.0])
    A, c = 2 / len(X) * X1.T @ X1 + alpha * P, 2 / len(X) * X1.T @ y
    theta, d_alpha, d_lr = np.zeros(X1.shape[1]), np.zeros(X1.shape[1]), np.zeros(X1.shape[1])
    for _ in range(task.steps):
        grad = A @ theta - c
        d_alpha, d_lr = d_alpha - lr * (A @ d_alpha + P @ theta), d_lr - grad - lr * A @ d_lr
        theta = theta - lr * grad
    residual = Xv1 @ theta - yv  # (n_val,)
    dV = 2 / len(Xv) * residual @ Xv1  # dV/dtheta
    return float(np.mean(residual ** 2)), {"alpha": float(dV @ d_alpha), "lr": float(dV @ d_lr)}


@pytest.mark.parametrize("point", POINTS)
def test_regression_value_and_hypergradient_match_forward_mode_by_hand(regression, point):
    value, grad = regression.value_and_grad(point)
    expected_value, expected_grad = ridge_forward_mode(regression, **point)
    assert value == pytest.approx(expected_value, rel=1e-10)
    for p in ("alpha", "lr"):
        assert grad[p] == pytest.approx(expected_grad[p], rel=1e-8, abs=1e-12), p


def sgd_softmax_value(task, alpha, lr):
    """The iris task's validation loss, trained with torch.optim.SGD on an nn.Linear: weight decay
    ``alpha`` on the weights only (SGD adds ``alpha * W`` to the gradient, the gradient of
    ``alpha/2 ||W||^2``), none on the bias, zero start, full batch."""
    model = torch.nn.Linear(4, 3).double()
    torch.nn.init.zeros_(model.weight), torch.nn.init.zeros_(model.bias)
    opt = torch.optim.SGD([{"params": [model.weight], "weight_decay": alpha},
                           {"params": [model.bias], "weight_decay": 0.0}], lr=lr)
    for _ in range(task.steps):
        opt.zero_grad()
        torch.nn.functional.cross_entropy(model(task.X_train), task.y_train).backward()
        opt.step()
    with torch.no_grad():
        return float(torch.nn.functional.cross_entropy(model(task.X_val), task.y_val))


@pytest.mark.parametrize("point", [dict(alpha=1e-3, lr=0.5), dict(alpha=0.3, lr=2.0)])
def test_iris_value_and_hypergradient_match_torch_sgd(iris, point):
    value, grad = iris.value_and_grad(point)
    assert value == pytest.approx(sgd_softmax_value(iris, **point), rel=1e-10)
    for p in ("alpha", "lr"):
        h = 1e-5 * point[p]
        fd = (sgd_softmax_value(iris, **{**point, p: point[p] + h})
              - sgd_softmax_value(iris, **{**point, p: point[p] - h})) / (2 * h)
        assert grad[p] == pytest.approx(fd, rel=1e-5, abs=1e-9), p


def test_a_point_outside_the_space_is_refused(regression):
    with pytest.raises(ValueError, match="lr"):
        regression.value_and_grad(dict(alpha=1e-3, lr=5.0))


def test_the_regression_features_are_standardised_on_the_training_split():
    task = regression_hypergrad_task(degree=4, n_train=12, n_val=30)
    assert task.X_train.shape == (12, 4) and task.X_val.shape == (30, 4)
    np.testing.assert_allclose(task.X_train.mean(0).numpy(), 0.0, atol=1e-12)
    np.testing.assert_allclose(task.X_train.std(0, unbiased=False).numpy(), 1.0, rtol=1e-12)
    assert [tuple(w.shape) for w in task.weights0] == [(4,), ()]
    assert not math.isclose(float(task.X_val.mean()), 0.0, abs_tol=1e-12)  # the validation split's own mean


def test_a_bad_degree_is_named():
    with pytest.raises(ValueError, match="degree=0"):
        regression_hypergrad_task(degree=0)


@pytest.mark.parametrize("point", [{"alpha": 1e-3, "lr": 0.05}, {"alpha": 0.5, "lr": 0.1}])
def test_the_value_alone_is_the_value_of_value_and_grad(regression, iris, point):
    """value() runs the same training without the graph: the same V (the iterates are the same
    arithmetic), and NaN where training diverges."""
    for task in (regression, iris):
        assert task.value(point) == pytest.approx(task.value_and_grad(point)[0], rel=1e-12, abs=1e-15)
    assert math.isnan(regression.value({"alpha": 1e-3, "lr": 0.2})) == math.isnan(
        regression.value_and_grad({"alpha": 1e-3, "lr": 0.2})[0])
