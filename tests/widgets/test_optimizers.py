"""The optimizer playground. Oracle: the full-batch methods end at the least-squares solution
of ``numpy.polyfit``."""

import math

import numpy as np
import pytest

from amsearch_lab import widgets


def _least_squares(playground):
    w, b = np.polyfit(playground.X[:, 0], playground.y, 1)
    return w, b


@pytest.mark.parametrize("method, lr, batch", [("GD", 1.0, 10), ("momentum", 0.1, 100)])
def test_full_batch_methods_end_at_least_squares(method, lr, batch):
    playground = widgets.OptimizerPlayground(method=method, lr=lr, batch_size=batch, iterations=500)
    w, b = _least_squares(playground)
    np.testing.assert_allclose(playground.optimum, (w, b), atol=1e-10)
    np.testing.assert_allclose([playground.path["w"][-1, 0], playground.path["b"][-1]], [w, b], atol=1e-3)
    assert playground.final_loss == pytest.approx(playground.loss(w, b), abs=1e-8)


def test_sgd_path_follows_the_controls_and_divergence_is_reported():
    playground = widgets.OptimizerPlayground(method="SGD", lr=0.3, batch_size=10, iterations=200)
    assert len(playground.path["loss"]) == 201
    assert playground.final_loss < playground.path["loss"][0] / 5
    before = playground.path["w"].copy()
    playground.lr.value = 0.1
    assert not np.array_equal(before, playground.path["w"])
    playground.method.value = "GD"
    playground.lr.value = 10 ** playground.lr.max  # far beyond 2 / (largest curvature)
    assert not (math.isfinite(playground.final_loss) and playground.final_loss < playground.path["loss"][0])
    assert "diverged" in playground.status.value



def test_a_run_whose_loss_overflows_is_reported_not_raised():
    """From a large enough step the loss overflows to inf within the run (descend raises
    DivergenceError); the playground says "diverged" on its status line instead of failing."""
    playground = widgets.OptimizerPlayground(method="GD", lr=3.0, iterations=500)
    assert playground.final_loss == math.inf and "diverged" in playground.status.value
    playground.lr.value = 0.3  # and it recovers at a stable step
    assert math.isfinite(playground.final_loss) and "diverged" not in playground.status.value
