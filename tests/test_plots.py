"""Plots: each draws what it is given, titles and labels its axes."""

import numpy as np
import torch
from matplotlib.figure import Figure

from amsearch_lab import Choice, Float, Int, Space, plots, search


def _history():
    space = Space({"lr": Float(1e-3, 1.0, log=True), "layers": Int(1, 4), "act": Choice(["relu", "tanh"])})
    return search(lambda p: (np.log10(p["lr"]) + 1) ** 2 + p["layers"] + (p["act"] == "tanh"), space,
                  budget=15, seed=0, progress=False)


def _labelled(ax):
    assert ax.get_title() and ax.get_xlabel() and ax.get_ylabel()


def test_slices_and_parallel_coordinates_draw_every_trial():
    history = _history()
    axes = plots.plot_slices(history, fig=Figure())
    assert len(axes) == 3 and [a.get_xlabel() for a in axes] == ["lr", "layers", "act"]
    assert len(axes[0].collections[0].get_offsets()) == 15
    ax = plots.plot_parallel_coordinates(history, ax=Figure().subplots())
    _labelled(ax)
    assert len(ax.lines) == 15 + 1  # one line per trial, plus the best drawn again in bold
    assert ax.lines[-1].get_ydata().min() >= 0 and ax.lines[-1].get_ydata().max() <= 1


def test_weights_masks_gp_and_generations_draw():
    w = torch.randn(50, 20)
    _labelled(plots.plot_weight_histogram({"w": w, "sign": torch.sign(w)}, ax=Figure().subplots()))
    ax = plots.plot_mask(torch.tensor([[1.0, 0.0], [1.0, 1.0]]), ax=Figure().subplots())
    assert "75.0% kept" in ax.get_title()
    x = np.linspace(0, 1, 5)
    top, bottom = plots.plot_gp_1d(x, x, 0.1 + x, [0.5], [0.5], f_true=x, acquisition=x, next_x=1.0,
                                   axes=Figure().subplots(2, 1))
    assert top.get_title() and top.get_ylabel() == "f(x)" and bottom.get_xlabel() == "x"
    ax = plots.plot_generations_2d([[{"a": 0.1, "b": 0.2}], [{"a": 0.5, "b": 0.5}]], "a", "b",
                                   lambda a, b: a + b, ((0, 1), (0, 1)), ax=Figure().subplots())
    _labelled(ax)
    assert len(ax.collections) >= 3  # the contour and the two generations
