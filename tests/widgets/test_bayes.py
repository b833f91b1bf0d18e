"""The Bayesian-optimization playground: the posterior passes through the evaluations, the
acquisition's maximiser is the next point, and UCB's β trades the mean for the uncertainty."""

import numpy as np

from amsearch_lab import widgets


def test_bayes_posterior_passes_through_the_evaluations_and_finds_the_minimum():
    bo = widgets.BayesOptPlayground(seed=2)
    assert bo.mean is None  # the initial design has no model yet
    for _ in range(4):
        bo.step_button.click()
    assert len(bo.history) == 4
    x = np.array([t.params["x"] for t in bo.history])
    y = np.array([t.value for t in bo.history])
    idx = np.abs(bo.grid[:, None] - x[None, :]).argmin(axis=0)  # grid points nearest the evaluations
    f_range = bo.f_grid.max() - bo.f_grid.min()
    assert np.all(np.abs(bo.mean[idx] - y) < 0.05 * f_range)
    assert bo.std[idx].max() < 0.2 * bo.std.max()
    assert bo.next_x == bo.grid[np.argmax(bo.acquisition_values)]
    for _ in range(4):
        bo.step()
    assert bo.history.best.value < -5.9  # global minimum -6.0207; the local one is about -0.99
    bo.seed.value = 5
    assert len(bo.history) == 0 and bo.strategy_.seed == 5 and bo.mean is None


def test_bayes_ucb_explores_more_with_larger_beta():
    bo = widgets.BayesOptPlayground(acquisition="ucb", seed=1)
    for _ in range(4):
        bo.step()
    stds = {}
    for beta in (0.0, 16.0):
        bo.exploration.value = beta
        assert bo.strategy_.acquisition == "ucb" and bo.strategy_.beta == beta
        stds[beta] = bo.std[np.argmax(bo.acquisition_values)]
    # the maximiser of -mu + sqrt(beta) sigma has a sigma that never shrinks as beta grows
    assert stds[16.0] >= stds[0.0]
    bo.acquisition.value = "ei"
    assert bo.strategy_.acquisition == "ei" and bo.exploration.value == 0.01 and bo.strategy_.xi == 0.01

