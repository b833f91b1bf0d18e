"""The multi-fidelity playground, driven from Python: set controls, press buttons, check the data
behind the curves and the rung table.

Oracle: the playground's history is ``search()`` with the same settings; the rung table's steps
add up to the steps the search spent.
"""

import numpy as np
import pytest

from amsearch_lab import search, widgets
from amsearch_lab.curves import SyntheticCurves
from amsearch_lab.widgets.multi_fidelity import best_final, config_curves, rung_table


def test_playground_reproduces_search_and_steps_through_it():
    pg = widgets.MultiFidelityPlayground(strategy="hyperband", eta=3, max_budget=27, crossing=1.0, seed=2,
                                         resource_budget=200)
    curves = SyntheticCurves(crossing=1.0, max_steps=27, seed=2)
    expected = search(curves, curves.space(), "hyperband", budget=100_000, seed=2, resource_budget=200,
                      options={"eta": 3, "min_budget": 1, "max_budget": 27}, progress=False)
    assert [(t.params, t.value, t.budget, t.resource) for t in pg.history] == \
        [(t.params, t.value, t.budget, t.resource) for t in expected]
    assert pg.shown == 0 and pg.table.empty and "0 of" in pg.status.value
    blank = pg.image.value
    pg.step_button.click()
    pg.step_button.click()
    assert pg.shown == 2 and pg.table["jobs"].sum() == 2 and pg.image.value != blank
    pg.run_button.click()
    assert pg.shown == len(pg.history)
    assert pg.table["steps"].sum() == sum(t.resource for t in pg.history) == 200
    assert list(pg.table["budget"]) == [1, 3, 9, 27] and pg.table["share"].sum() == pytest.approx(1.0)
    assert "pick" in pg.status.value
    pg.step_button.click()  # nothing more to show
    assert pg.shown == len(pg.history)
    pg.reset_button.click()
    assert pg.shown == 0


def test_controls_rebuild_the_strategy():
    pg = widgets.MultiFidelityPlayground(strategy="sha", eta=2, max_budget=16, seed=0, resource_budget=300)
    assert pg.options() == {"n": 16, "eta": 2, "min_budget": 1, "max_budget": 16}
    assert list(rung_table(pg.history, 16)["budget"]) == [1, 2, 4, 8, 16]
    pg.strategy.value = "median"  # every job is given R; the rule stops some of them
    table = rung_table(pg.history, 16)
    assert list(table["budget"]) == [16] and table["stopped"].iloc[0] > 0
    pg.strategy.value = "asha"
    pg.eta.value = 3  # R follows: the power of 3 nearest 16 in log scale
    assert pg.max_budget.options == (3, 9, 27, 81, 243) and pg.max_budget.value == 27
    pg.run_button.click()
    assert list(pg.table["budget"]) == [1, 3, 9, 27] and pg.table.equals(rung_table(pg.history, 27))
    pg.crossing.value = 2.0
    assert pg.curves.crossing == 2.0 and pg.shown == 0


def test_curves_join_the_jobs_of_a_configuration_and_the_best_final_bounds_every_pick():
    pg = widgets.MultiFidelityPlayground(strategy="sha", seed=1, crossing=0.5, resource_budget=300)
    joined = config_curves(pg.history)
    assert set(joined) == {t.config for t in pg.history}
    for config, (steps, values) in joined.items():
        assert list(steps) == list(range(1, len(steps) + 1))  # one point per step, continued jobs joined
        assert np.allclose(values, [pg.curves.value_at(pg.history[[t.config for t in pg.history].index(config)].params,
                                                       int(s)) for s in steps])
    reached = [steps[-1] for steps, _ in joined.values()]
    assert min(reached) == 1 and max(reached) == 27  # most end early, a few reach R
    assert all(pg.curves.final(t.params) >= pg.best_final - 1e-12 for t in pg.history)


def test_rung_table_of_an_empty_history_and_bad_strategy():
    assert rung_table([], 27).empty
    with pytest.raises(ValueError, match="strategy"):
        widgets.MultiFidelityPlayground(strategy="random")
    with pytest.raises(ValueError, match="max_budget=16"):
        widgets.MultiFidelityPlayground(eta=3, max_budget=16)
    with pytest.raises(ValueError, match="eta"):
        widgets.MultiFidelityPlayground(eta=1)


@pytest.mark.parametrize("crossing", [0.0, 1.0, 2.5])
def test_best_final_matches_a_numerical_minimum(crossing):
    from scipy.optimize import minimize

    curves = SyntheticCurves(crossing=crossing)
    f = lambda z: curves.final({"x": float(z[0]), "y": float(z[1])})  # noqa: E731
    found = min(minimize(f, start, bounds=[(0, 1), (0, 1)]).fun for start in ([0.5, 0.5], [0.1, 0.9], [0.9, 0.1]))
    assert best_final(curves) == pytest.approx(found, abs=1e-6)
