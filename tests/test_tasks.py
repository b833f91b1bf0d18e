"""The test functions reach their published optima at their published minimisers, and nothing
sampled from their boxes goes below them."""

import numpy as np
import pytest

from amsearch_lab.tasks import FORRESTER_BOUNDS, TASKS, forrester

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


def test_forrester_known_minimum():
    """Forrester et al. (2008): the global minimum f(0.7572) = -6.0207 on [0, 1], a local one near
    x = 0.14, and f(0) = 4 sin(-4), f(1) = 16 sin(8) from the formula (6x - 2)² sin(12x - 4)."""
    assert forrester(0.7572) == pytest.approx(-6.0207, abs=1e-4)
    grid = np.linspace(*FORRESTER_BOUNDS, 100_001)
    values = np.array([forrester(x) for x in grid])
    assert grid[np.argmin(values)] == pytest.approx(0.7572, abs=1e-4)
    assert values.min() == pytest.approx(-6.0207, abs=1e-4)
    left = grid < 0.4
    assert grid[left][np.argmin(values[left])] == pytest.approx(0.14, abs=0.01)
    assert forrester(0.0) == pytest.approx(4 * np.sin(-4.0)) and forrester(1.0) == pytest.approx(16 * np.sin(8.0))


def test_iris_cv_scores_match_scikit_learn_on_the_data_given():
    """The oracle: scikit-learn's own cross_val_score with the same forest and folds."""
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.model_selection import StratifiedKFold, cross_val_score

    from amsearch_lab.datasets import load_iris
    from amsearch_lab.tasks import iris_cv_scores, iris_objective

    X, y = load_iris()
    params = {"n_estimators": 10, "max_depth": 2}
    forest = RandomForestClassifier(**params, random_state=0, n_jobs=1)
    expected = cross_val_score(forest, X[::2], y[::2], cv=StratifiedKFold(n_splits=5))
    assert np.array_equal(iris_cv_scores(params, X[::2], y[::2]), expected)
    assert iris_objective(params) == float(iris_cv_scores(params).mean())
    with pytest.raises(ValueError, match="both X and y"):
        iris_cv_scores(params, X)
