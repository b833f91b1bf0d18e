"""The NAS playground on the shipped tabular benchmark: the design shows its table row and the
validity rule, a race reproduces ``nas.compare_strategies``, and Train it matches the table."""

import numpy as np
import pytest

from amsearch_lab import widgets


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
    expected = compare_strategies(nas_bench, ["evolution", "random"], 30, range(3), metric="val_acc")
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
    assert "test_acc" not in nas.trained and "test" not in nas.train_status.value + nas.status.value
    # the table was built on a CPU with one thread; this test runs with one thread too
    assert abs(nas.trained["val_acc"] - nas.row["val_acc"]) < 0.02
    nas.genes["width"].value = 8  # a new design forgets the old training
    assert nas.trained is None and nas.train_status.value == ""
