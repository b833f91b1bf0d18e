"""The search explorer, driven from Python: set controls, press buttons, check the data behind the plots.

Oracle: a run reproduces ``search()`` with the same settings.
"""

import numpy as np
import pytest

from amsearch_lab import search, widgets
from amsearch_lab.tasks import TASKS


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

