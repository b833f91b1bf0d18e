"""Ready-made objectives: the lessons' model-tuning tasks and classic test functions.

A ``Task`` bundles a space, an objective ``params -> value`` and its direction. The test
functions know their global optimum, so a search can be scored by its *simple regret*
``|best value found - optimum|``.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from .space import Float, Int, Space

__all__ = ["Task", "TASKS", "get_task", "branin", "hartmann6", "rosenbrock", "rastrigin", "forrester",
           "FORRESTER_BOUNDS", "iris_cv_scores"]


@dataclass
class Task:
    """A search problem: ``objective(params) -> value`` over ``space``."""

    name: str
    description: str
    make_space: Callable[[], Space]
    objective: Callable[[dict], float]
    minimize: bool = True
    optimum: float | None = None  # known best value, for test functions
    metric: str = "value"
    argmin: list = field(default_factory=list)  # known optimal points (as arrays), if any

    @property
    def space(self) -> Space:
        return self.make_space()

    def regret(self, value: float) -> float:
        """Simple regret of a value: its distance to the known optimum."""
        if self.optimum is None:
            raise ValueError(f"task {self.name!r} has no known optimum")
        return abs(value - self.optimum)


# -- classic test functions (Surjanovic & Bingham's Virtual Library of Simulation Experiments) ---
def _vector(params: dict) -> np.ndarray:
    return np.array([params[f"x{i}"] for i in range(len(params))], dtype=float)


def _box(d: int, low: float, high: float) -> Callable[[], Space]:
    return lambda: Space({f"x{i}": Float(low, high) for i in range(d)})


def branin(x) -> float:
    """Branin-Hoo on [-5, 10] x [0, 15]; three global minima of 0.397887."""
    x1, x2 = x
    b, c, t = 5.1 / (4 * np.pi**2), 5 / np.pi, 1 / (8 * np.pi)
    return float((x2 - b * x1**2 + c * x1 - 6) ** 2 + 10 * (1 - t) * np.cos(x1) + 10)


_H6_ALPHA = np.array([1.0, 1.2, 3.0, 3.2])
_H6_A = np.array([[10, 3, 17, 3.5, 1.7, 8], [0.05, 10, 17, 0.1, 8, 14],
                  [3, 3.5, 1.7, 10, 17, 8], [17, 8, 0.05, 10, 0.1, 14]])
_H6_P = 1e-4 * np.array([[1312, 1696, 5569, 124, 8283, 5886], [2329, 4135, 8307, 3736, 1004, 9991],
                         [2348, 1451, 3522, 2883, 3047, 6650], [4047, 8828, 8732, 5743, 1091, 381]])


def hartmann6(x) -> float:
    """Hartmann-6 on [0, 1]^6; global minimum -3.32237."""
    x = np.asarray(x, dtype=float)
    return float(-np.sum(_H6_ALPHA * np.exp(-np.sum(_H6_A * (x - _H6_P) ** 2, axis=1))))


def rosenbrock(x) -> float:
    """Rosenbrock's valley; global minimum 0 at (1, ..., 1)."""
    x = np.asarray(x, dtype=float)
    return float(np.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1 - x[:-1]) ** 2))


def rastrigin(x) -> float:
    """Rastrigin's many local minima; global minimum 0 at the origin."""
    x = np.asarray(x, dtype=float)
    return float(10 * len(x) + np.sum(x**2 - 10 * np.cos(2 * np.pi * x)))


FORRESTER_BOUNDS = (0.0, 1.0)


def forrester(x: float) -> float:
    """Forrester's 1-D function on [0, 1]: f(x) = (6x - 2)² sin(12x - 4), with a local minimum of
    about -0.99 near x = 0.14 and the global minimum f(0.7572) = -6.0207 (Forrester, Sóbester &
    Keane, 2008, *Engineering Design via Surrogate Modelling: A Practical Guide*, Wiley)."""
    return float((6 * x - 2) ** 2 * math.sin(12 * x - 4))


def _test_task(name, f, make_space, optimum, argmin, description) -> Task:
    return Task(name=name, description=description, make_space=make_space,
                objective=lambda params: f(_vector(params)), minimize=True,
                optimum=optimum, argmin=[np.asarray(a, dtype=float) for a in argmin])


# -- model-tuning tasks ---------------------------------------------------------------------------
def iris_space() -> Space:
    return Space({
        "n_estimators": Int(10, 100, step=10),
        "max_depth": Int(1, 10),
        "min_samples_leaf": Int(1, 20),
    })


def iris_cv_scores(params: dict, X=None, y=None):
    """The 5 fold accuracies, shape ``(5,)``, of a random forest with ``params`` on ``(X, y)``
    (default: all 150 iris flowers). The folds are scikit-learn's default for classifiers
    (stratified, unshuffled), so every strategy is scored on the same splits; pass the training
    flowers only when a test split is kept apart for the final report (lesson 01). Raises
    ValueError when only one of ``X`` and ``y`` is given."""
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.model_selection import StratifiedKFold, cross_val_score

    from .datasets import load_iris

    if (X is None) != (y is None):
        raise ValueError(f"iris_cv_scores: pass both X and y or neither (X is {type(X).__name__}, "
                         f"y is {type(y).__name__})")
    if X is None:
        X, y = load_iris()
    model = RandomForestClassifier(**params, random_state=0, n_jobs=1)
    return cross_val_score(model, X, y, cv=StratifiedKFold(n_splits=5), scoring="accuracy")


def iris_objective(params: dict) -> float:
    """5-fold cross-validated accuracy of a random forest on all 150 iris flowers (higher is
    better): the mean of ``iris_cv_scores(params)``."""
    return float(iris_cv_scores(params).mean())


def regression_space() -> Space:
    return Space({"degree": Int(1, 8), "alpha": Float(1e-8, 10.0, log=True)})


def regression_objective(params: dict) -> float:
    """5-fold cross-validated mean squared error of ridge regression on polynomial features of
    the source material's task (``y = x**2`` plus noise 0.1, 200 points; lower is better)."""
    from sklearn.linear_model import Ridge
    from sklearn.model_selection import KFold, cross_val_score
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import PolynomialFeatures

    from .datasets import make_regression

    X, y = make_regression(n=200, noise=0.1, seed=0)
    model = make_pipeline(PolynomialFeatures(params["degree"]), Ridge(alpha=params["alpha"]))
    folds = KFold(n_splits=5, shuffle=True, random_state=0)
    return float(-cross_val_score(model, X, y, cv=folds, scoring="neg_mean_squared_error").mean())


TASKS: dict[str, Task] = {
    "iris": Task("iris", "random forest on iris: 5-fold CV accuracy (maximize)", iris_space,
                 iris_objective, minimize=False, metric="cv_accuracy"),
    "regression": Task("regression", "ridge on polynomial features of y = x^2 + noise: 5-fold CV MSE",
                       regression_space, regression_objective, minimize=True, metric="cv_mse"),
    "branin": _test_task("branin", branin, lambda: Space({"x0": Float(-5.0, 10.0), "x1": Float(0.0, 15.0)}),
                         0.397887357729738, [(-np.pi, 12.275), (np.pi, 2.275), (9.42478, 2.475)],
                         "Branin-Hoo, 2-D, three global minima"),
    "hartmann6": _test_task("hartmann6", hartmann6, _box(6, 0.0, 1.0), -3.3223680114155,
                            [(0.20169, 0.150011, 0.476874, 0.275332, 0.311652, 0.6573)], "Hartmann-6, 6-D"),
    "rosenbrock4": _test_task("rosenbrock4", rosenbrock, _box(4, -5.0, 10.0), 0.0, [np.ones(4)],
                              "Rosenbrock, 4-D on [-5, 10]^4, a curved valley"),
    "rastrigin5": _test_task("rastrigin5", rastrigin, _box(5, -5.12, 5.12), 0.0, [np.zeros(5)],
                             "Rastrigin, 5-D on [-5.12, 5.12]^5, many local minima"),
}


def get_task(name: str) -> Task:
    """The task registered under ``name``; a clear error lists the valid names."""
    try:
        return TASKS[name]
    except KeyError:
        raise ValueError(f"unknown task {name!r}; choose one of: {', '.join(TASKS)}") from None
