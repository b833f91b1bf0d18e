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


def test_workers_gantt_one_row_per_worker_one_bar_per_trial():
    from amsearch_lab.history import Trial

    trials = [Trial(0, {"x": 1}, 1.0, start=100.0, duration=2.0, worker="h:1"),
              Trial(1, {"x": 2}, None, status="failed", error="boom", start=100.5, duration=1.0, worker="h:2"),
              Trial(2, {"x": 3}, 0.5, status="stopped", start=102.0, duration=0.5, worker="h:1")]
    ax = plots.plot_workers(trials, ax=Figure().subplots())
    _labelled(ax)
    assert [t.get_text() for t in ax.get_yticklabels()] == ["h:1", "h:2"]  # by first start
    bars = {}  # (row, x0, width) -> face colour of every drawn bar
    for collection in ax.collections:
        paths = collection.get_paths()
        for path, colour in zip(paths, np.resize(collection.get_facecolors(), (len(paths), 4))):
            (x0, y0), (x1, y1) = path.vertices.min(axis=0), path.vertices.max(axis=0)
            bars[round((y0 + y1) / 2), round(x0, 6), round(x1 - x0, 6)] = tuple(colour)
    assert set(bars) == {(0, 0.0, 2.0), (1, 0.5, 1.0), (0, 2.0, 0.5)}  # seconds after the first start
    assert len(set(bars.values())) == 3  # ok, failed and stopped look different
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["ok (1)", "stopped (1)", "failed (1)"]


def test_workers_gantt_takes_a_history_or_a_timeline_and_checks_its_input():
    import pandas as pd
    import pytest

    ax = plots.plot_workers(_history(), ax=Figure().subplots())  # a sequential search: one worker
    assert len(ax.get_yticklabels()) == 1
    timeline = pd.DataFrame({"worker": [1, 0, 0], "start": [0.0, 0.0, 1.0], "end": [3.0, 1.0, 2.0]})
    ax = plots.plot_workers(timeline, ax=Figure().subplots())
    assert [t.get_text() for t in ax.get_yticklabels()] == ["0", "1"]
    assert ax.get_legend().get_texts()[0].get_text() == "ok (3)"
    with pytest.raises(ValueError, match="worker, start"):
        plots.plot_workers(timeline.drop(columns="worker"))
    with pytest.raises(ValueError, match="no trials"):
        plots.plot_workers([])
    history = _history()
    history.trials[0].worker = None
    with pytest.raises(ValueError, match=r"trials \[0\] have no worker"):
        plots.plot_workers(history)
