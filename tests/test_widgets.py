"""Playgrounds, driven from Python: set controls, press buttons, check the data behind the plots.

Oracles: the explorer reproduces ``search()`` with the same settings; the optimizer playground
ends at the least-squares solution of ``numpy.polyfit``; pruning removes exactly the smallest
weights; quantization errors stay within half a step; the low-rank parameter count matches the
formula r (n + m) + m.
"""

import math

import numpy as np
import pytest
import torch

from amsearch_lab import search, widgets
from amsearch_lab.tasks import TASKS

torch.set_num_threads(1)  # tiny models; threads only contend on a shared 2-core machine


# -- search explorer ----------------------------------------------------------------------------------
def test_explorer_run_reproduces_search_and_fills_plot_and_table():
    explorer = widgets.SearchExplorer(task="branin", strategy="random", budget=10, seed=0, threaded=False)
    blank = explorer.image.value
    explorer.budget.value, explorer.seed.value = 6, 3
    explorer.run_button.click()
    task = TASKS["branin"]
    expected = search(task.objective, task.space, "random", budget=6, seed=3, progress=False)
    assert [t.params for t in explorer.history] == [t.params for t in expected]
    assert [t.value for t in explorer.history] == [t.value for t in expected]
    np.testing.assert_array_equal(explorer.curve, expected.best_so_far())
    assert list(explorer.table["number"]) == list(range(6)) and explorer.progress.value == 6
    assert explorer.image.value != blank and "finished: 6 trials" in explorer.status.value
    assert not explorer.run_button.disabled and explorer.stop_button.disabled


def test_explorer_strategy_options_reach_the_strategy():
    explorer = widgets.SearchExplorer(task="branin", strategy="random", budget=20, threaded=False)
    explorer.strategy.value = "grid"
    assert set(explorer.option_controls) == {"n", "shuffle"}
    explorer.option_controls["n"].value = 3
    assert explorer.options == {"n": 3, "shuffle": False}
    explorer.run_button.click()
    assert len(explorer.history) == 9  # a 3 x 3 grid is exhausted before the budget of 20
    assert sorted({t.params["x0"] for t in explorer.history}) == [-5.0, 2.5, 10.0]


def test_explorer_runs_accumulate_per_strategy_and_views_switch():
    explorer = widgets.SearchExplorer(task="branin", strategy="random", budget=5, threaded=False)
    for seed in (0, 1):
        explorer.seed.value = seed
        explorer.run_button.click()
    assert [len(h) for h in explorer.runs["random"]] == [5, 5]
    images = {explorer.image.value}
    for view in ("slices", "parallel coordinates"):
        explorer.view.value = view
        images.add(explorer.image.value)
    assert len(images) == 3
    explorer.task.value = "rosenbrock4"  # curves of another task are not comparable
    assert explorer.runs == {} and explorer.history is None


def test_explorer_stop_in_a_thread_keeps_what_was_evaluated():
    explorer = widgets.SearchExplorer(task="branin", strategy="random", budget=200, threaded=True)
    # press Stop as the third trial is reported (the progress bar moves before the stop check)
    explorer.progress.observe(lambda change: explorer.stop_button.click() if change.new == 3 else None, names="value")
    explorer.run_button.click()
    explorer.wait(timeout=120)
    assert not explorer.running
    assert len(explorer.history) == 3 and all(t.ok for t in explorer.history)
    assert explorer.runs["random"] == [explorer.history] and "stopped by you: 3 trials" in explorer.status.value


def test_explorer_shows_errors_and_rejects_bad_names():
    explorer = widgets.SearchExplorer(task="branin", strategy="grid", budget=3, threaded=False)
    explorer.option_controls["n"].value = -1
    explorer.run_button.click()
    assert isinstance(explorer.error, ValueError) and "error" in explorer.status.value
    assert not explorer.run_button.disabled
    with pytest.raises(ValueError, match="strategy='gradient'"):
        widgets.SearchExplorer(strategy="gradient")  # not a black-box strategy


# -- Bayesian optimization --------------------------------------------------------------------------------
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


# -- genetic algorithm ----------------------------------------------------------------------------------
def test_genetic_generations_and_elitism():
    ga = widgets.GeneticPlayground(function="rastrigin", population=8, seed=0)
    for _ in range(3):
        ga.next_button.click()
    assert [len(p) for p in ga.populations] == [8, 8, 8]
    assert len(ga.history) == 8 + 7 + 7  # the elite is not evaluated again
    assert all(a >= b for a, b in zip(ga.best_per_generation, ga.best_per_generation[1:]))
    assert ga.best_per_generation[-1] == ga.history.best.value
    ga.population.value = 10
    assert ga.populations == [] and ga.strategy_.population == 10


def test_genetic_without_mutation_children_only_inherit_genes():
    ga = widgets.GeneticPlayground(function="branin", population=10, seed=2)
    ga.mutation_rate.value = 0.0
    assert ga.strategy_.mutation_prob == 0.0
    ga.next_generation(2)
    for name in ("x0", "x1"):
        parents = np.array([p[name] for p in ga.populations[0]])
        for child in ga.populations[1]:
            assert np.isclose(parents, child[name]).any()  # uniform crossover copies whole genes


# -- optimizers on the regression loss -----------------------------------------------------------------
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


# -- compression on MNIST -----------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def trained():
    return widgets.mnist_base_model(epochs=3, limit=2000, seed=0)


def test_base_model_is_shared_and_copied(trained):
    model, data = trained
    again, data_again = widgets.mnist_base_model(epochs=3, limit=2000, seed=0)
    assert again is not model and data_again is data
    assert all(torch.equal(a, b) for a, b in zip(model.parameters(), again.parameters()))
    with pytest.raises(ValueError, match="data=None"):
        widgets.PruningPlayground(model=model)


def test_pruning_removes_exactly_the_smallest_weights(trained):
    model, data = trained
    playground = widgets.PruningPlayground(model, data, sparsity=0.0)
    assert playground.accuracy == playground.base_accuracy
    playground.sparsity.value = 0.5
    weights = torch.cat([p.detach().abs().flatten() for name, p in model.named_parameters() if name.endswith("weight")])
    kept = torch.cat([m.flatten() for m in playground.masks.values()]).bool()
    assert int((~kept).sum()) == round(0.5 * len(weights))
    assert weights[kept].min() >= weights[~kept].max()
    playground.sparsity.value = 0.9
    magnitude = playground.accuracy
    playground.method.value = "random"
    assert playground.accuracy < magnitude - 0.1  # importance matters
    assert len(playground.table) == 4 and set(playground.table["method"]) == {"magnitude", "random"}


def test_quantization_error_is_within_half_a_step(trained):
    model, data = trained
    playground = widgets.QuantizationPlayground(model, data, bits=2)
    errors = {}
    for bits in (2, 3, 4, 8):
        playground.bits.value = bits
        errors[bits] = playground.error
        w, w_q = playground.weight, playground.weight_q
        scale = w.abs().amax(dim=1) / (2 ** (bits - 1) - 1)  # symmetric, one scale per output row
        assert torch.all((w - w_q).abs() <= scale[:, None] / 2 + 1e-7)
        assert max(len(torch.unique(row)) for row in w_q) <= 2**bits - 1
    assert errors[2] > errors[3] > errors[4] > errors[8]
    assert abs(playground.accuracy - playground.base_accuracy) < 0.01  # 8 bits barely matter
    assert len(playground.table) == 4


def test_low_rank_parameter_count_matches_the_formula(trained):
    model, data = trained
    playground = widgets.LowRankPlayground(model, data, rank=1)
    assert playground.rank.max == 300
    low = playground.accuracy
    for r in (5, 60):
        playground.rank.value = r
        # a layer m x n is split only when r (n + m) + m < n m + m (rank capped at min(m, n))
        expected = min(r * 1084 + 300, 235500) + min(r * 400 + 100, 30100) + min(min(r, 10) * 110 + 10, 1010)
        assert playground.params == expected
    assert playground.accuracy > low
    assert list(playground.table["rank"]) == [1, 5, 60]


# -- neural architecture search ---------------------------------------------------------------------
@pytest.fixture(scope="module")
def nas_bench():
    from amsearch_lab.nas import load_table

    return load_table()


def test_nas_design_shows_the_table_row_and_the_validity_rule(nas_bench):
    from amsearch_lab.nas import count_params

    nas = widgets.NASPlayground(bench=nas_bench)
    pick = nas_bench.best_by_validation()
    assert nas.arch == pick and nas.reason is None and "rank 1 of" in nas.status.value
    assert nas.layers["params"].sum() == count_params(pick) == nas.row["params"]
    for slot, op in {"slot1": "maxpool", "slot2": "maxpool", "slot3": "maxpool", "slot4": "conv5x5"}.items():
        nas.genes[slot].value = op
    assert nas.reason.startswith("rule 1") and nas.row is None and "invalid" in nas.status.value
    nas.genes["slot4"].value = "identity"  # three poolings alone are valid: 28 -> 14 -> 7 -> 3
    assert nas.reason is None
    assert nas.arch.key == "maxpool-maxpool-maxpool/w4/h0" and nas.row["params"] == 1 * 3 * 3 * 10 + 10


def test_nas_race_reproduces_the_table_search_and_draws(nas_bench):
    from amsearch_lab.nas import compare_strategies

    nas = widgets.NASPlayground(bench=nas_bench, strategy="evolution", budget=30, seeds=3)
    before = nas.image.value
    nas.run_button.click()
    expected = compare_strategies(nas_bench, ["evolution", "random"], 30, range(3))
    assert set(nas.curves) == {"evolution", "random"}
    for name in expected:
        np.testing.assert_array_equal(nas.curves[name], expected[name])
    assert nas.progress.value == 3 and len(nas.picks) == 3
    from amsearch_lab.nas import Architecture

    for seed, pick in enumerate(nas.picks):  # each seed's pick: its best validation accuracy, the first on a tie
        ok = [t for t in nas_bench.search("evolution", 30, seed) if t.ok]
        assert pick == Architecture.from_params(max(ok, key=lambda t: t.value).params).key
    assert 1 <= len(nas.visited) <= 30 and set(nas.visited) <= set(nas_bench.frame.index)
    assert nas.image.value != before and "evolution" in nas.race_status.value


def test_nas_rejects_bad_settings(nas_bench):
    with pytest.raises(ValueError, match="strategy='annealing'"):
        widgets.NASPlayground(bench=nas_bench, strategy="annealing")
    with pytest.raises(ValueError, match="budget=0"):
        widgets.NASPlayground(bench=nas_bench, budget=0)
    with pytest.raises(ValueError, match="unknown genes \\['slot9'\\]"):
        widgets.NASPlayground(bench=nas_bench, design={"slot9": "conv3x3"})
    design = nas_bench.best_by_validation().to_params()
    with pytest.raises(ValueError, match="lacks \\['head'\\]"):
        widgets.NASPlayground(bench=nas_bench, design={k: v for k, v in design.items() if k != "head"})
    with pytest.raises(ValueError, match="design\\['width'\\]=16"):
        widgets.NASPlayground(bench=nas_bench, design={**design, "width": 16})


def test_nas_train_button_trains_the_designed_network_with_the_table_recipe(nas_bench):
    nas = widgets.NASPlayground(bench=nas_bench)
    nas.genes["slot1"].value, nas.genes["slot2"].value = "maxpool", "conv3x3"
    nas.genes["slot3"].value, nas.genes["slot4"].value = "maxpool", "identity"
    nas.genes["width"].value, nas.genes["head"].value = 4, 0
    assert nas.trained is None
    nas.train_button.click()
    assert nas.trained["key"] == nas.arch.key == "maxpool-conv3x3-maxpool/w4/h0"
    assert nas.trained["recipe"] == "low" and "table:" in nas.train_status.value
    # the table was built on a CPU with one thread; this test runs with one thread too
    assert abs(nas.trained["val_acc"] - nas.row["val_acc"]) < 0.02
    nas.genes["width"].value = 8  # a new design forgets the old training
    assert nas.trained is None and nas.train_status.value == ""
