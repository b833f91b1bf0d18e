"""Gradient-based search and the hypergradients it follows: every hypergradient matches a
central finite difference; unrolled gradient descent converges to the closed-form ridge
solution; the strategy improves the validation loss and refuses non-differentiable objectives."""

import math

import numpy as np
import pytest
import torch

from amsearch_lab import Choice, Float, Int, Space, search
from amsearch_lab.hypergrad import iris_hypergrad_task, regression_hypergrad_task, unrolled_gd
from amsearch_lab.strategies import STRATEGIES
from amsearch_lab.strategies.gradient import GradientSearch
from amsearch_lab.study import Trial


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    """Tiny tensors: one thread is faster than several fighting over a busy CI machine."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="module")
def tasks():
    return {"regression": regression_hypergrad_task(steps=30), "iris": iris_hypergrad_task(steps=30)}


@pytest.mark.parametrize("name", ["regression", "iris"])
@pytest.mark.parametrize("point", [dict(alpha=1e-3, lr=0.05), dict(alpha=0.3, lr=0.1), dict(alpha=2.0, lr=0.15)])
def test_hypergradient_matches_finite_difference(tasks, name, point):
    task = tasks[name]
    _, grad = task.value_and_grad(point)
    for p in ("alpha", "lr"):
        h = 1e-5 * point[p]
        up, down = {**point, p: point[p] + h}, {**point, p: point[p] - h}
        fd = (task(up) - task(down)) / (2 * h)
        assert grad[p] == pytest.approx(fd, rel=1e-5, abs=1e-9), (name, p)


def test_unrolled_gd_converges_to_the_ridge_solution(tasks):
    task = tasks["regression"]
    X, y, alpha = task.X_train, task.y_train, 0.5
    n, d = X.shape
    # closed form with an unpenalised bias: centre, solve (Xc^T Xc / n + alpha I) W = Xc^T yc / n
    Xc, yc = X - X.mean(0), y - y.mean()
    W = torch.linalg.solve(Xc.T @ Xc / n + alpha * torch.eye(d, dtype=X.dtype), Xc.T @ yc / n)
    b = y.mean() - X.mean(0) @ W

    def train_loss(w):
        return ((X @ w[0] + w[1] - y) ** 2).mean() / 2 + 0.5 * alpha * (w[0] ** 2).sum()

    w = unrolled_gd(train_loss, task.weights0, torch.tensor(0.2, dtype=X.dtype), steps=400)
    torch.testing.assert_close(w[0].detach(), W, rtol=1e-6, atol=1e-8)
    torch.testing.assert_close(w[1].detach(), b, rtol=1e-6, atol=1e-8)


def test_value_and_grad_caches_the_last_point(tasks):
    task = tasks["iris"]
    a = task.value_and_grad(dict(alpha=0.01, lr=0.5))
    assert task.value_and_grad(dict(alpha=0.01, lr=0.5)) is a


def test_divergence_is_a_failed_value(tasks):
    task = regression_hypergrad_task(steps=1000)
    value, grad = task.value_and_grad(dict(alpha=1e-5, lr=0.2))  # lr above 2 / largest curvature
    assert math.isnan(value) and grad == {}


@pytest.mark.parametrize("name", ["regression", "iris"])
def test_gradient_search_improves_on_its_start(tasks, name):
    task = tasks[name]
    start = {"alpha": 1.0, "lr": 0.02}
    history = search(task, task.space, "gradient", budget=8, seed=0, progress=False,
                     options=dict(objective=task, start=start))
    assert history[0].params == start
    assert history.best.value < 0.8 * history[0].value
    losses = [t.value for t in history if t.ok]
    assert losses[1] < losses[0]  # the first step follows the negative hypergradient downhill


def test_maximize_climbs(tasks):
    task = tasks["iris"]
    negated = lambda p: -task(p)  # noqa: E731
    negated.value_and_grad = lambda p: (-task.value_and_grad(p)[0], {k: -g for k, g in task.value_and_grad(p)[1].items()})
    strategy = GradientSearch(task.space, objective=negated, minimize=False, start={"alpha": 1.0, "lr": 0.02})
    history = search(negated, task.space, strategy, budget=4, progress=False, minimize=False)
    assert history.best.value > history[0].value


def test_step_follows_the_normalised_hypergradient_in_log_space(tasks):
    task = tasks["regression"]
    start = {"alpha": 0.1, "lr": 0.05}
    strategy = GradientSearch(task.space, objective=task, lr=0.1, start=start)
    params = strategy.ask()
    strategy.tell(Trial(0, params, task(params)))
    _, grad = task.value_and_grad(start)
    g_u = np.array([grad[k] * start[k] * (math.log(d.high) - math.log(d.low))
                    for k, d in task.space.dimensions.items()])
    expected = task.space.decode(task.space.encode(start) - 0.1 * g_u / np.linalg.norm(g_u))
    nxt = strategy.ask()
    assert nxt == pytest.approx(expected)


def test_refuses_a_black_box_objective_and_discrete_dimensions(tasks):
    assert STRATEGIES["gradient"] is GradientSearch and GradientSearch.blackbox is False
    space = Space({"x": Float(0.0, 1.0)})
    with pytest.raises(ValueError, match="not differentiable"):
        search(lambda p: p["x"], space, "gradient", budget=3, progress=False)
    for dim in (Int(1, 5), Choice(["a", "b"]), Float(0.0, 1.0, step=0.1)):
        with pytest.raises(ValueError, match="'y'"):
            GradientSearch(Space({"x": Float(0.0, 1.0), "y": dim}), objective=tasks["iris"])
    with pytest.raises(ValueError, match="lr=0"):
        GradientSearch(tasks["iris"].space, objective=tasks["iris"], lr=0)
