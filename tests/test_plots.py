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


def _pbt_history():
    """A hand-made PBT history: 3 members, 2 intervals of 2 epochs; member 2 fails in the first,
    then members 1 and 2 copy member 0; member 1 ends best."""
    from amsearch_lab.history import History, Trial

    rows = [(0, 0, 0, 0.1, 0.3), (0, 1, 1, 0.01, 0.5), (0, 2, 2, 0.5, None),
            (1, 0, 0, 0.1, 0.2), (1, 1, 0, 0.08, 0.15), (1, 2, 0, 0.12, 0.25)]
    history = History(minimize=True)
    for number, (r, m, parent, lr, value) in enumerate(rows):
        history.append(Trial(number, {"lr": lr}, value, status="ok" if value is not None else "failed",
                             info={"round": r, "member": m, "parent": parent}, start_step=2 * r, budget=2 * r + 2,
                             config=m))
    return history


def test_lineage_draws_segments_copies_failures_and_the_ancestry():
    ax = plots.plot_lineage(_pbt_history(), ax=Figure().subplots())
    _labelled(ax)
    segments, copies = (c.get_segments() for c in ax.collections[:2])
    assert sorted(tuple(map(tuple, s)) for s in segments) == sorted(
        [((0, m), (2, m)) for m in range(3)] + [((2, m), (4, m)) for m in range(3)])
    assert sorted(tuple(map(tuple, s)) for s in copies) == [((2, 0), (2, 1)), ((2, 0), (2, 2))]  # parent -> member
    colours = ax.collections[0].get_colors()
    assert len({tuple(c) for c in colours}) == 5  # five distinct learning rates (0.1 twice)
    failed, path = ax.lines
    assert list(failed.get_xdata()) == [2] and list(failed.get_ydata()) == [2]
    assert list(path.get_xdata()) == [0, 2, 2, 2, 4] and list(path.get_ydata()) == [0, 0, 0, 1, 1]
    assert "member 1" in path.get_label()  # the best of the last interval (0.15)
    ax = plots.plot_lineage(_pbt_history(), ax=Figure().subplots(), member=2)
    assert list(ax.lines[-1].get_ydata()) == [0, 0, 0, 2, 2]


def test_schedules_step_per_epoch_with_the_ancestry_and_references():
    ax = plots.plot_schedules(_pbt_history(), ax=Figure().subplots(), references={"cosine": [0.1, 0.07, 0.03, 0.0]},
                              log=False)
    _labelled(ax)
    steps = [p.get_data() for p in ax.patches]
    assert all(list(edges) == [0, 1, 2, 3, 4] for _, edges, _ in steps)
    values = [list(np.round(v, 6)) for v, _, _ in steps]
    assert values == [[0.1] * 4, [0.01, 0.01, 0.08, 0.08], [0.5, 0.5, 0.12, 0.12],  # members 0, 1, 2
                      [0.1, 0.1, 0.08, 0.08],  # member 1's final weights: member 0's first interval, then its own
                      [0.1, 0.07, 0.03, 0.0]]
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["members", "ancestry of member 1", "cosine"]


def test_lineage_and_schedules_of_a_real_run_and_bad_input():
    import pytest

    from amsearch_lab.history import History
    from amsearch_lab.models import mlp
    from amsearch_lab.population import PopulationBasedTraining

    g = torch.Generator().manual_seed(0)
    x, y = torch.randn(64, 4, generator=g), torch.randint(0, 3, (64,), generator=g)
    pbt = PopulationBasedTraining(Space({"lr": Float(1e-3, 1.0, log=True)}), population=5, epochs=4, interval=1,
                                  batch_size=16, seed=0)
    history = pbt.run(lambda i: mlp((4, 8, 3), seed=i), (x, y, x, y), device="cpu", progress=False)
    ax = plots.plot_lineage(history, ax=Figure().subplots())
    assert len(ax.collections[0].get_segments()) == len(history) == 20
    assert f"member {pbt.best_member_}" in ax.lines[-1].get_label()
    ax = plots.plot_schedules(history, ax=Figure().subplots())
    assert len(ax.patches) == 5 + 1 and ax.get_yscale() == "log"
    with pytest.raises(ValueError, match="empty"):
        plots.plot_lineage(History())
    with pytest.raises(ValueError, match="round, member and parent"):
        plots.plot_schedules(_history())
    with pytest.raises(ValueError, match="one per epoch"):
        plots.plot_schedules(history, ax=Figure().subplots(), references={"constant": [0.1] * 3})
    with pytest.raises(ValueError, match="member=7"):
        plots.plot_lineage(history, ax=Figure().subplots(), member=7)


def _softmax_trajectory(steps: int, n_ops: int, seed: int = 0) -> np.ndarray:
    """A made-up DARTS trajectory: ``softmax`` of a random walk of α, shape ``(steps + 1, 3, n_ops)``."""
    alpha = np.cumsum(np.random.default_rng(seed).normal(0, 0.1, (steps + 1, 3, n_ops)), axis=0)
    e = np.exp(alpha)
    return e / e.sum(axis=-1, keepdims=True)


def test_alpha_trajectories_one_panel_per_edge_one_line_per_operation():
    from matplotlib.colors import to_rgba

    from amsearch_lab.nas import CELL_OPS, EDGES, PARAMETER_FREE

    w = _softmax_trajectory(4, len(CELL_OPS))
    axes = plots.plot_alpha_trajectories(w, CELL_OPS, steps_per_epoch=2, axes=Figure().subplots(1, 3))
    assert len(axes) == len(EDGES) == 3
    for e, (ax, edge) in enumerate(zip(axes, EDGES)):
        _labelled(ax)
        assert edge in ax.get_title() and ax.get_xlabel() == "epoch"
        *ops, uniform = ax.lines
        assert [line.get_label() for line in ops] == list(CELL_OPS)
        for k, (line, op) in enumerate(zip(ops, CELL_OPS)):
            assert list(line.get_xdata()) == [0, 0.5, 1, 1.5, 2] and np.allclose(line.get_ydata(), w[:, e, k])
            assert line.get_linestyle() == ("--" if op in PARAMETER_FREE else "-")
            assert to_rgba(line.get_color()) == to_rgba(f"C{k}")  # one colour per operation, on every panel
        assert list(uniform.get_ydata()) == [1 / 7, 1 / 7] and uniform.get_linestyle() == ":"
    assert axes[0].figure.get_suptitle()
    # a subset of the operations keeps each one's colour; x in steps without steps_per_epoch
    axes = plots.plot_alpha_trajectories(_softmax_trajectory(3, 2), ("conv3x3", "skip"), axes=Figure().subplots(1, 3))
    conv, skip, _ = axes[0].lines
    assert to_rgba(conv.get_color()) == to_rgba("C3") and to_rgba(skip.get_color()) == to_rgba("C1")
    assert list(conv.get_xdata()) == [0, 1, 2, 3] and axes[0].get_xlabel() == "step"


def test_alpha_trajectories_refuse_bad_input():
    import pytest

    w = _softmax_trajectory(2, 3)
    ops = ("skip", "conv1x1", "maxpool")
    with pytest.raises(ValueError, match="shape"):
        plots.plot_alpha_trajectories(w[:, :2], ops)
    with pytest.raises(ValueError, match="shape"):
        plots.plot_alpha_trajectories(w, ops[:2])
    with pytest.raises(ValueError, match="conv7x7"):
        plots.plot_alpha_trajectories(w, ("skip", "conv1x1", "conv7x7"))
    with pytest.raises(ValueError, match="steps_per_epoch=0"):
        plots.plot_alpha_trajectories(w, ops, steps_per_epoch=0)
    with pytest.raises(ValueError, match="2 axes"):
        plots.plot_alpha_trajectories(w, ops, axes=Figure().subplots(1, 2))


def test_rank_correlation_scatter_titles_tau_and_rho_and_highlights():
    import pytest

    truth, scores = [0.1, 0.2, 0.3, 0.4, 0.5], [1.0, 2.0, 3.0, 5.0, 4.0]  # one swapped pair: tau 0.8, rho 0.9
    ax = plots.plot_rank_correlation(scores, truth, ax=Figure().subplots())
    _labelled(ax)
    assert "τ = 0.80" in ax.get_title() and "ρ = 0.90" in ax.get_title() and "5 networks" in ax.get_title()
    (dots,) = ax.collections
    assert np.allclose(dots.get_offsets(), np.column_stack([truth, scores]))  # x: truth, y: the score
    ax = plots.plot_rank_correlation(scores, truth, ax=Figure().subplots(), highlight=[3, 4], title="Supernet",
                                     highlight_label="top 40 %")
    rest, top = ax.collections
    assert np.allclose(top.get_offsets(), [[0.4, 5.0], [0.5, 4.0]]) and len(rest.get_offsets()) == 3
    assert ax.get_title().startswith("Supernet\n") and "top 40 % (2)" in [t.get_text() for t in ax.get_legend().get_texts()]
    mask = np.array([False, False, False, True, True])
    same = plots.plot_rank_correlation(scores, truth, ax=Figure().subplots(), highlight=mask)
    assert np.allclose(same.collections[1].get_offsets(), top.get_offsets())
    with pytest.raises(ValueError, match="equal lengths"):
        plots.plot_rank_correlation(scores, truth[:4])
    with pytest.raises(ValueError, match="one entry per network"):
        plots.plot_rank_correlation(scores, truth, highlight=mask[:4])
    with pytest.raises(ValueError, match="highlight="):
        plots.plot_rank_correlation(scores, truth, highlight=[5])
