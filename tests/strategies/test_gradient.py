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
        fd = (task.value_and_grad(up)[0] - task.value_and_grad(down)[0]) / (2 * h)
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


def test_a_task_returns_its_gradient_as_the_trials_extra_output(tasks):
    task = tasks["iris"]
    value, info = task(dict(alpha=0.01, lr=0.5))
    assert (value, info["grad"]) == task.value_and_grad(dict(alpha=0.01, lr=0.5))
    history = search(task, task.space, "random", budget=2, seed=0, progress=False)
    assert set(history[0].info["grad"]) == {"alpha", "lr"}  # the loop keeps it in Trial.info


def test_resuming_a_gradient_search_trains_nothing_again(tasks, tmp_path):
    task, calls = tasks["regression"], []

    def counting(params):
        calls.append(params)
        return task(params)

    options = {"start": {"alpha": 1.0, "lr": 0.02}}
    path = tmp_path / "h.jsonl"
    search(counting, task.space, "gradient", budget=5, storage=path, progress=False, options=options)
    assert len(calls) == 5
    resumed = search(counting, task.space, "gradient", budget=8, storage=path, progress=False, options=options)
    assert len(calls) == 8  # the 5 stored trials were replayed from their stored gradients
    full = search(task, task.space, "gradient", budget=8, progress=False, options=options)
    assert [t.params for t in resumed] == [t.params for t in full]


def test_divergence_is_a_failed_value(tasks):
    task = regression_hypergrad_task(steps=1000)
    value, grad = task.value_and_grad(dict(alpha=1e-5, lr=0.2))  # lr above 2 / largest curvature
    assert math.isnan(value) and grad == {}


@pytest.mark.parametrize("name", ["regression", "iris"])
def test_gradient_search_improves_on_its_start(tasks, name):
    task = tasks[name]
    start = {"alpha": 1.0, "lr": 0.02}
    history = search(task, task.space, "gradient", budget=8, seed=0, progress=False, options=dict(start=start))
    assert history[0].params == start
    assert history.best.value < 0.8 * history[0].value
    losses = [t.value for t in history if t.ok]
    assert losses[1] < losses[0]  # the first step follows the negative hypergradient downhill


def test_maximize_climbs(tasks):
    task = tasks["iris"]
    def negated(p):
        value, grad = task.value_and_grad(p)
        return -value, {"grad": {k: -g for k, g in grad.items()}}

    strategy = GradientSearch(task.space, minimize=False, start={"alpha": 1.0, "lr": 0.02})
    history = search(negated, task.space, strategy, budget=4, progress=False, minimize=False)
    assert history.best.value > history[0].value


def test_step_follows_the_normalised_hypergradient_in_log_space(tasks):
    task = tasks["regression"]
    start = {"alpha": 0.1, "lr": 0.05}
    strategy = GradientSearch(task.space, lr=0.1, start=start)
    params = strategy.ask()
    value, info = task(params)
    strategy.tell(Trial(0, params, value, info=info))
    _, grad = task.value_and_grad(start)
    g_u = np.array([grad[k] * start[k] * (math.log(d.high) - math.log(d.low))
                    for k, d in task.space.dimensions.items()])
    expected = task.space.decode(task.space.encode(start) - 0.1 * g_u / np.linalg.norm(g_u))
    nxt = strategy.ask()
    assert nxt == pytest.approx(expected)


def test_refuses_a_black_box_objective_and_discrete_dimensions(tasks):
    assert STRATEGIES["gradient"] is GradientSearch and GradientSearch.blackbox is False
    space = Space({"x": Float(0.0, 1.0)})
    with pytest.raises(ValueError, match="trial 0 came back without a gradient") as caught:
        search(lambda p: p["x"], space, "gradient", budget=3, progress=False)
    assert len(caught.value.history) == 1  # the one evaluation is kept
    for dim in (Int(1, 5), Choice(["a", "b"]), Float(0.0, 1.0, step=0.1)):
        with pytest.raises(ValueError, match="'y'"):
            GradientSearch(Space({"x": Float(0.0, 1.0), "y": dim}))
    with pytest.raises(ValueError, match="lr=0"):
        GradientSearch(tasks["iris"].space, lr=0)


# -- gradients at the ends of the float range -----------------------------------------------------------
class ScaledBowl:
    """(x - 0.3)² + (y - 0.6)², whose ``value_and_grad`` reports the gradient times ``scale``."""

    def __init__(self, scale=1.0):
        self.scale = scale

    def __call__(self, p):
        value, grad = self.value_and_grad(p)
        return value, {"grad": grad}

    def value_and_grad(self, p):
        value = (p["x"] - 0.3) ** 2 + (p["y"] - 0.6) ** 2
        return value, {"x": self.scale * 2 * (p["x"] - 0.3), "y": self.scale * 2 * (p["y"] - 0.6)}


SQUARE = Space({"x": Float(0.0, 1.0), "y": Float(0.0, 1.0)})
LOG_Y = Space({"x": Float(0.0, 1.0), "y": Float(1e-3, 10.0, log=True)})  # dv/du = 9.2 y: 1e307 * 5.5 overflows


def run_bowl(space, scale):
    bowl = ScaledBowl(scale)
    return search(bowl, space, "gradient", budget=40, seed=0, progress=False, options=dict(start={"x": 0.9, "y": 0.1}))


@pytest.mark.parametrize("space", [SQUARE, LOG_Y], ids=["square", "log y"])
@pytest.mark.parametrize("scale", [1e307, 1e-320])
def test_only_the_direction_of_the_gradient_matters(space, scale):
    """The step is g/||g||: a gradient of 1e307 (||g||² overflows) or 1e-320 (||g||² is 0) walks
    where the gradient of 1 does. Before, 1e307 never moved from the start and 1e-320 was taken
    for a stationary point and jumped to random points, ending at (0.30, 0.67) on the square."""
    plain, scaled = run_bowl(space, 1.0), run_bowl(space, scale)
    # 1e-320 * (x - 0.3) keeps only ~13 bits: the objective's own rounding, hence the 1e-4
    assert scaled.best.params == pytest.approx(plain.best.params, abs=1e-4 if scale < 1 else 1e-12)
    if space is SQUARE:
        assert scaled.best.params == pytest.approx({"x": 0.3, "y": 0.6}, abs=1e-4)


def test_a_range_wider_than_the_largest_float_and_infinite_or_nan_gradients_raise_nothing():
    """high - low = inf (before: inf / inf = NaN params and a crash); an infinite gradient entry
    points along its sign; a NaN one gives no direction, so the next point is random."""
    wide = Space({"x": Float(-1e308, 1e308), "y": Float(0.0, 1.0)})
    bowl = ScaledBowl(1.0)
    history = search(bowl, wide, "gradient", budget=10, seed=0, progress=False, options=dict(start={"x": 0.9, "y": 0.1}))
    assert len(history) == 10 and all(t.params in wide for t in history)

    for dx, expected in [(math.inf, [1.0, 0.0]), (-math.inf, [-1.0, 0.0])]:
        strategy = GradientSearch(SQUARE, start={"x": 0.5, "y": 0.5})
        strategy.tell(Trial(0, strategy.ask(), 0.04, info={"grad": {"x": dx, "y": 1.0}}))
        assert strategy.grad_u_.tolist() == expected
        assert strategy.ask()["x"] == pytest.approx(0.5 - 0.1 * expected[0])

    strategy = GradientSearch(SQUARE, seed=0, start={"x": 0.5, "y": 0.5})
    strategy.tell(Trial(0, strategy.ask(), 0.04, info={"grad": {"x": math.nan, "y": 1.0}}))
    assert strategy.ask() == SQUARE.sample(np.random.default_rng(0))
