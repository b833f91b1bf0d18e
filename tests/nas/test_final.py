"""The final step: the best distinct candidates of a search, widened, trained, chosen by validation."""

import math

import pytest

from amsearch_lab import load_mnist, search
from amsearch_lab.nas import (
    Architecture,
    Recipe,
    evaluate_architecture,
    load_table,
    nas_space,
    top_architectures,
    train_final,
)
from amsearch_lab.study import History, Trial

TINY = Recipe("tiny", n_train=300, n_val=200, n_test=200, epochs=1, batch_size=50, lr=0.1)


def test_top_architectures_are_the_best_distinct_networks_of_a_search():
    bench = load_table()
    history = search(bench.objective, bench.space, "random", budget=60, seed=0, minimize=False, progress=False)
    top = top_architectures(history, k=3)
    ok = [t for t in history if t.ok]
    best_by_key = {}
    for t in ok:
        key = Architecture.from_params(t.params).key
        best_by_key[key] = max(best_by_key.get(key, -math.inf), t.value)
    expected = sorted(best_by_key, key=lambda k: -best_by_key[k])[:3]
    assert [a.key for a in top] == expected
    assert len({a.key for a in top}) == 3 and all(a == a.canonical() for a in top)


def test_top_architectures_skip_failures_and_repeats():
    genome = {"slot1": "conv3x3", "slot2": "identity", "slot3": "maxpool", "slot4": "identity", "width": 8, "head": 0}
    same = {**genome, "slot2": "maxpool", "slot3": "identity"}  # the same network, another genome
    other = {**genome, "slot1": "conv5x5"}
    history = History(minimize=False)
    for trial in (Trial(0, genome, 0.9), Trial(1, same, 0.95), Trial(2, other, None, status="failed", error="NaN"),
                  Trial(3, other, 0.5)):
        history.append(trial)
    top = top_architectures(history, k=5)
    assert [a.key for a in top] == ["conv3x3-maxpool/w8/h0", "conv5x5-maxpool/w8/h0"]
    with pytest.raises(ValueError, match="k=0"):
        top_architectures(history, k=0)


def test_train_final_widens_trains_chooses_by_validation_and_tests_the_chosen_only():
    data = load_mnist(device="cpu", limit=300)
    candidates = [Architecture(("maxpool", "conv3x3", "maxpool", "identity"), 8, 0),
                  Architecture(("conv5x5", "maxpool", "identity", "identity"), 4, 0)]
    result = train_final(candidates, data, TINY, width=12, seed=0, device="cpu")
    assert [r["key"] for r in result.records] == [a.widened(12).key for a in candidates]
    assert result.best["val_acc"] == max(r["val_acc"] for r in result.records)
    for i, (arch, record) in enumerate(zip(candidates, result.records)):
        separate = evaluate_architecture(arch.widened(12), data, TINY, seed=0, device="cpu")  # trains and tests
        assert record["val_acc"] == separate["val_acc"]
        if i == result.chosen:  # the test split is read for the chosen network only
            assert record["test_acc"] == separate["test_acc"]
        else:
            assert math.isnan(record["test_acc"])
    frame = result.to_frame()
    assert frame["chosen"].sum() == 1 and frame.index[frame["chosen"]][0] == result.best["key"]
    assert frame["test_acc"].notna().sum() == 1
    with pytest.raises(ValueError, match="candidates"):
        train_final([], data, TINY)


def test_widened_networks_may_pass_the_search_space_limit():
    data = load_mnist(device="cpu", limit=100)
    big = Architecture(("conv3x3", "identity", "identity", "identity"), 8, 64)  # 8*26*26 features -> 64
    assert nas_space().dimensions["width"].choices == [4, 8]
    record = train_final([big], data, Recipe("t", 100, 100, 100, 1, 50, 0.1), width=8, device="cpu").best
    assert record["params"] > 100_000
