"""The shipped tabular benchmark: it covers the space, its sizes agree with the builder, and a
few of its entries come out again when re-trained with the same seed."""

import numpy as np
import pytest

from amsearch_lab import load_mnist
from amsearch_lab.nas import (
    LOW_FIDELITY,
    TABLE_PATH,
    Architecture,
    InvalidArchitecture,
    compare_strategies,
    count_flops,
    count_params,
    enumerate_architectures,
    evaluate_architecture,
    load_table,
    pareto_front,
    picked_accuracy,
)
from amsearch_lab.study import History, Trial

TOLERANCE = 0.01  # 10 of the 1,000 validation/test images: other CPUs may round sums differently


@pytest.fixture(scope="module")
def bench():
    return load_table()


def test_table_holds_every_valid_network_once(bench):
    assert len(bench) >= 1000
    assert bench.frame.index.is_unique
    assert set(bench.frame.index) == {a.key for a in enumerate_architectures()}
    assert TABLE_PATH.stat().st_size < 2_000_000


def test_rows_record_the_recipe_and_plausible_numbers(bench):
    frame = bench.frame
    assert (frame["recipe"] == LOW_FIDELITY.describe()).all()
    assert ((frame["seed"] == 0) & (frame["threads"] == 1)).all()
    assert frame[["val_acc", "test_acc"]].stack().between(0.0, 1.0).all()
    assert (frame["train_seconds"] > 0).all()
    assert frame["test_acc"].max() > 0.9  # the best networks learn MNIST in one short epoch


def test_sizes_agree_with_the_builder(bench):
    for key, row in bench.frame.iterrows():
        arch = Architecture.from_params({k: row[k] for k in bench.space.names})
        assert arch.key == key
        assert (count_params(arch), count_flops(arch)) == (row["params"], row["flops"])


def test_entries_match_a_re_evaluation(bench):
    data = load_mnist(device="cpu", limit=max(LOW_FIDELITY.n_train, LOW_FIDELITY.n_val, LOW_FIDELITY.n_test))
    with_conv = bench.frame[bench.frame["flops"] > 20_000].sort_values("flops")
    for key, row in with_conv.iloc[[0, 10, 20]].iterrows():  # three cheap networks with convolutions
        arch = Architecture.from_params({k: row[k] for k in bench.space.names})
        record = evaluate_architecture(arch, data, LOW_FIDELITY, seed=int(row["seed"]), device="cpu")
        assert abs(record["val_acc"] - row["val_acc"]) <= TOLERANCE, key
        assert abs(record["test_acc"] - row["test_acc"]) <= TOLERANCE, key


def test_lookups_follow_networks_not_genomes(bench):
    a = {"slot1": "identity", "slot2": "conv3x3", "slot3": "maxpool", "slot4": "identity", "width": 8, "head": 64}
    b = {"slot1": "conv3x3", "slot2": "identity", "slot3": "identity", "slot4": "maxpool", "width": 8, "head": 64}
    assert bench.objective(a) == bench.objective(b) == bench.frame.loc["conv3x3-maxpool/w8/h64", "val_acc"]
    collapsed = {"slot1": "maxpool", "slot2": "maxpool", "slot3": "maxpool", "slot4": "conv5x5", "width": 4, "head": 0}
    with pytest.raises(InvalidArchitecture, match="rule 1"):
        bench.objective(collapsed)


def test_picked_accuracy_follows_the_best_by_validation(bench):
    keys = bench.frame.sort_values("val_acc").index[[0, -1, 5]]  # worst, best, another by validation
    history = History(minimize=False)
    for i, key in enumerate(keys):
        row = bench.frame.loc[key]
        history.append(Trial(number=i, params={k: row[k] for k in bench.space.names}, value=float(row["val_acc"])))
    for metric in ("val_acc", "test_acc"):
        expected = bench.frame.loc[keys[[0, 1, 1]], metric].to_numpy()
        np.testing.assert_allclose(picked_accuracy(history, bench, metric=metric), expected)
    with pytest.raises(ValueError, match="metric='accuracy'"):
        picked_accuracy(history, bench, metric="accuracy")


def test_validation_curves_are_the_running_best_of_the_search(bench):
    curves = compare_strategies(bench, ["random"], 40, range(3), metric="val_acc")["random"]
    for seed, curve in enumerate(curves):
        values = [t.value if t.ok else -np.inf for t in bench.search("random", 40, seed)]
        running = np.maximum.accumulate(values)
        np.testing.assert_allclose(curve[np.isfinite(running)], running[np.isfinite(running)])
    with pytest.raises(ValueError, match="metric='test'"):
        compare_strategies(bench, ["random"], 5, range(1), metric="test")


def test_pareto_takes_the_selection_metric_explicitly(bench):
    with pytest.raises(TypeError):
        bench.pareto()  # no default metric
    on_front = bench.pareto(metric="val_acc")
    assert on_front.index.equals(bench.frame.index)
    np.testing.assert_array_equal(on_front.to_numpy(), pareto_front(bench.frame["params"], bench.frame["val_acc"]))
    by_flops = bench.pareto(metric="val_acc", cost="flops")
    assert by_flops[bench.frame["val_acc"].idxmax()]  # the most accurate network is on every front of cost
    with pytest.raises(ValueError, match="metric='acc'"):
        bench.pareto(metric="acc")
    with pytest.raises(ValueError, match="cost='size'"):
        bench.pareto(metric="val_acc", cost="size")
