"""The DARTS playground, driven from Python: set controls, press Run, check the trajectories, the
derived network and its row of the cell table.

Oracle: the playground's trajectory is ``nas.DARTS(...).run`` with the same settings; the rank it
shows is ``TabularBenchmark.rank`` of the derived network. The table here is made up (every network
of the cell space with random accuracies), so the tests never need the shipped one.
"""

import dataclasses

import numpy as np
import pandas as pd
import pytest

from amsearch_lab.datasets import cached_mnist
from amsearch_lab.nas import (
    CELL_RECIPE,
    DARTS,
    CellArchitecture,
    Supernet,
    TabularBenchmark,
    cell_space,
    count_cell_params,
    enumerate_cells,
)
from amsearch_lab.widgets import DARTSPlayground

LIMIT = 300  # images per split: DARTS takes its n_train = 100 and its validation batches from these


def _bench() -> TabularBenchmark:
    """A made-up cell table: every network of ``cell_space()``, accuracies drawn at random."""
    rng = np.random.default_rng(0)
    archs = enumerate_cells()
    val = rng.uniform(0.5, 0.95, len(archs))
    frame = pd.DataFrame({"key": [a.key for a in archs], **{e: [a.to_params()[e] for a in archs]
                                                           for e in ("e01", "e02", "e12")},
                          "val_acc": val, "test_acc": val + rng.normal(0, 0.01, len(archs)),
                          "params": [count_cell_params(a) for a in archs]})
    return TabularBenchmark(frame.set_index("key"), cell_space(), decode=CellArchitecture.from_params)


def test_playground_reproduces_darts_and_shows_the_rank_then_reruns_on_click():
    bench, data = _bench(), cached_mnist(LIMIT, device="cpu")
    pg = DARTSPlayground(bench=bench, data=data, n_train=100, seed=1, device="cpu")
    recipe = dataclasses.replace(CELL_RECIPE, n_train=100)
    expected = DARTS(Supernet(seed=1), alpha_lr=3e-3, recipe=recipe, seed=1).run(data, 1, device="cpu")
    assert pg.result.trajectory.shape == (3, 3, 7) and np.allclose(pg.result.trajectory, expected.trajectory)
    assert pg.derived == expected.derived
    params = expected.derived.to_params()
    assert pg.rank == bench.rank(params) and f"rank {pg.rank} of {len(bench)}" in pg.status.value
    derived, best = pg.table.to_dict("records")
    assert derived["network"] == expected.derived.key and derived["params"] == bench.row(params)["params"]
    assert derived["validation accuracy"] == bench.row(params)["val_acc"]
    assert best["network"] == bench.best_by_validation().key and best["rank (validation)"] == 1
    assert "test (report only)" in pg.table_html.value
    assert len(pg.figure.axes) == 3 and pg.image.value
    assert pg.figure.axes[0].get_xlabel() == "epoch"
    shown = pg.image.value
    pg.relaxation.value = "gumbel"
    pg.order.value = 2
    assert "press <b>Run</b>" in pg.status.value
    frame = bench.frame[bench.frame["e02"] == "none"]  # a part of the table: no derived network (none excluded)
    pg.bench = TabularBenchmark(frame, cell_space(), decode=CellArchitecture.from_params)
    pg.run_button.click()
    assert not np.allclose(pg.result.trajectory, expected.trajectory) and pg.image.value != shown
    assert "Gumbel" in pg.figure.get_suptitle() and not pg.run_button.disabled
    assert pg.rank is None and "not in the table" in pg.status.value and "not in the table" in pg.table_html.value
    assert pg.table.loc[1, "rank (validation)"] == 1  # the part's best is still ranked


@pytest.mark.parametrize("kwargs, match", [({"epochs": 0}, "epochs=0"), ({"alpha_lr": 1.0}, "alpha_lr=1.0"),
                                           ({"order": 3}, "order=3"), ({"relaxation": "hard"}, "relaxation='hard'"),
                                           ({"n_train": 50}, "n_train=50"), ({"seed": 0.5}, "seed=0.5"),
                                           ({"n_train": 400, "data": "small"}, "n_train=400")])
def test_bad_settings_are_refused_before_training(kwargs, match):
    if kwargs.get("data") == "small":
        kwargs["data"] = cached_mnist(LIMIT, device="cpu")
    with pytest.raises(ValueError, match=match):
        DARTSPlayground(bench=_bench(), **kwargs)
