"""minimize_lockstep: k L-BFGS-B runs in lockstep are exactly k separate scipy runs."""

import numpy as np
import pytest
from scipy.optimize import minimize, rosen, rosen_der

from amsearch_lab.lockstep import minimize_lockstep

# a different function per run: a shifted, scaled Rosenbrock, so that the runs take different
# numbers of steps and finish at different rounds
SHIFTS = np.array([[0.0, 0.0, 0.0], [0.3, -0.2, 0.1], [-0.5, 0.4, 0.0], [0.1, 0.1, -0.3]])
SCALES = np.array([1.0, 10.0, 0.1, 3.0])


def one(x, i):
    return SCALES[i] * rosen(x - SHIFTS[i]), SCALES[i] * rosen_der(x - SHIFTS[i])


def batch(X, rows):
    pairs = [one(x, i) for x, i in zip(X, rows)]
    return np.array([v for v, _ in pairs]), np.array([g for _, g in pairs])


def test_equals_separate_scipy_runs():
    rng = np.random.default_rng(0)
    X0 = rng.uniform(-1.5, 1.5, size=(4, 3))
    bounds = [(-2.0, 2.0)] * 3
    X, values = minimize_lockstep(batch, X0, bounds, maxiter=300, gtol=1e-8)
    for i in range(4):
        alone = minimize(one, X0[i], args=(i,), jac=True, method="L-BFGS-B", bounds=bounds,
                         options={"maxiter": 300, "gtol": 1e-8})
        np.testing.assert_array_equal(X[i], alone.x)  # the very same iterates, not just close
        assert values[i] == alone.fun
    np.testing.assert_allclose(X, SHIFTS + 1.0, atol=1e-4)  # and they are the minimisers


def test_batches_the_evaluations():
    sizes = []

    def counting(X, rows):
        sizes.append(len(X))
        return batch(X, rows)

    minimize_lockstep(counting, np.zeros((4, 3)), [(-2.0, 2.0)] * 3, maxiter=50)
    assert sizes[0] == 4 and max(sizes) == 4  # one call per round, never more rows than runs
    assert sum(sizes) > len(sizes)  # so fewer calls than evaluations


def test_an_error_in_fun_propagates():
    def broken(X, rows):
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        minimize_lockstep(broken, np.zeros((2, 3)), [(-1.0, 1.0)] * 3)
