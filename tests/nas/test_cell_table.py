"""The shipped cell table: every network of ``cell_space()`` once with seed 0, a uniform sample
again with seed 1, sizes recomputed from the builder, and entries that come out again when
re-trained."""

import numpy as np
import pytest

from amsearch_lab import load_mnist
from amsearch_lab.nas import (
    CELL_RECIPE,
    CELL_TABLE_PATH,
    CellArchitecture,
    build_cell,
    count_cell_flops,
    count_cell_params,
    enumerate_cells,
    evaluate_architecture,
    load_cell_table,
)

TOLERANCE = 0.01  # 10 of the 1,000 validation/test images: other CPUs may round sums differently


@pytest.fixture(scope="module")
def bench():
    return load_cell_table()


def test_table_holds_every_network_once(bench):
    assert bench.frame.index.is_unique
    assert set(bench.frame.index) == {a.key for a in enumerate_cells()}
    assert len(bench) == 259
    assert CELL_TABLE_PATH.stat().st_size < 200_000


def test_replicates_are_a_sample_of_the_networks_with_another_seed(bench):
    rep = bench.replicates
    assert len(rep) >= 30 and rep.index.is_unique  # the build trained all 259 again; a stopped pass leaves fewer
    assert set(rep.index) <= set(bench.frame.index)
    assert (rep["seed"] == 1).all() and (bench.frame["seed"] == 0).all()
    # the same network with another seed: close, but not the same numbers
    gaps = (rep["val_acc"] - bench.frame.loc[rep.index, "val_acc"]).abs()
    assert gaps.max() > 0 and np.median(gaps) < 0.1


def test_rows_record_the_recipe_and_plausible_numbers(bench):
    frame = bench.frame
    assert (frame["recipe"] == CELL_RECIPE.describe()).all() and (frame["threads"] == 1).all()
    assert frame[["val_acc", "test_acc"]].stack().between(0.0, 1.0).all()
    assert (frame["train_seconds"] > 0).all()
    assert frame["val_acc"].max() > 0.9
    assert frame.loc["e01=none,e02=none,e12=none", "val_acc"] < 0.2  # no edge: chance level


def test_sizes_agree_with_the_builder(bench):
    for key, row in bench.frame.iterrows():
        arch = CellArchitecture.from_params({k: row[k] for k in bench.space.names})
        assert arch.key == key and arch.canonical() == arch
        n_params = sum(p.numel() for p in build_cell(arch).parameters())
        assert count_cell_params(arch) == n_params == row["params"]
        assert count_cell_flops(arch) == row["flops"]


def test_lookups_follow_networks_not_genotypes(bench):
    dead = {"e01": "conv5x5", "e02": "skip", "e12": "none"}  # node 1 reaches nothing
    same = {"e01": "none", "e02": "skip", "e12": "none"}
    assert bench.objective(dead) == bench.objective(same)
    assert bench.rank(same) == 1 + int((bench.frame["val_acc"] > bench.objective(same)).sum())
    with pytest.raises(ValueError, match="ops"):
        bench.objective({"e01": "conv7x7", "e02": "skip", "e12": "none"})


def test_an_entry_matches_a_re_evaluation(bench):
    data = load_mnist(device="cpu", limit=max(CELL_RECIPE.n_train, CELL_RECIPE.n_val, CELL_RECIPE.n_test))
    cheap = bench.frame[bench.frame["flops"] > 0].sort_values("flops").index[len(bench) // 3]
    arch = CellArchitecture.from_params(bench.frame.loc[cheap, list(bench.space.names)].to_dict())
    record = evaluate_architecture(arch, data, CELL_RECIPE, seed=0, device="cpu")
    assert abs(record["val_acc"] - bench.frame.loc[cheap, "val_acc"]) <= TOLERANCE, cheap
    assert abs(record["test_acc"] - bench.frame.loc[cheap, "test_acc"]) <= TOLERANCE, cheap
