"""The test functions reach their published optima at their published minimisers, and nothing
sampled from their boxes goes below them."""

import numpy as np
import pytest

from amsearch_lab.tasks import TASKS

TEST_FUNCTIONS = ["branin", "hartmann6", "rosenbrock4", "rastrigin5"]


@pytest.mark.parametrize("name", TEST_FUNCTIONS)
def test_known_minimisers_reach_the_known_optimum(name):
    task = TASKS[name]
    assert task.argmin, f"{name} lists no minimiser"
    for x in task.argmin:
        params = {f"x{i}": float(v) for i, v in enumerate(x)}
        assert params in task.space
        assert task.objective(params) == pytest.approx(task.optimum, abs=1e-5)


@pytest.mark.parametrize("name", TEST_FUNCTIONS)
def test_no_sampled_point_beats_the_optimum(name):
    task = TASKS[name]
    rng = np.random.default_rng(0)
    space = task.space
    values = [task.objective(space.sample(rng)) for _ in range(500)]
    assert min(values) > task.optimum - 1e-9


@pytest.mark.parametrize("name", TEST_FUNCTIONS)
def test_the_minimiser_is_a_local_minimum(name):
    task = TASKS[name]
    rng = np.random.default_rng(1)
    x = task.argmin[0]
    for _ in range(50):
        step = x + 1e-3 * rng.standard_normal(len(x))
        assert task.objective({f"x{i}": v for i, v in enumerate(step)}) > task.optimum - 1e-9


def test_published_values():
    """Independent spot values: Branin(0, 0) = 55.6021, Rosenbrock(0, 0, 0, 0) = 3, Rastrigin(1, ..., 1) = 5."""
    assert TASKS["branin"].objective({"x0": 0.0, "x1": 0.0}) == pytest.approx(55.60211, abs=1e-4)
    assert TASKS["rosenbrock4"].objective({f"x{i}": 0.0 for i in range(4)}) == pytest.approx(3.0)
    assert TASKS["rastrigin5"].objective({f"x{i}": 1.0 for i in range(5)}) == pytest.approx(5.0)


def test_regret_needs_a_known_optimum():
    assert TASKS["branin"].regret(1.0) == pytest.approx(1.0 - 0.397887357729738)
    with pytest.raises(ValueError, match="iris"):
        TASKS["iris"].regret(0.9)
