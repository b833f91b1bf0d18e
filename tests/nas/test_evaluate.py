"""The training recipes: deterministic by seed, honest about invalid networks, usable as a
search objective."""

import pytest
import torch

from amsearch_lab import load_mnist, search
from amsearch_lab.nas import (
    Architecture,
    InvalidArchitecture,
    LowFidelityObjective,
    Recipe,
    evaluate_architecture,
    nas_space,
    read_test_accuracy,
    train_architecture,
)

TINY = Recipe("tiny", n_train=300, n_val=200, n_test=200, epochs=1, batch_size=50, lr=0.1)
ARCH = Architecture(("maxpool", "conv3x3", "maxpool", "identity"), 8, 0)


@pytest.fixture(scope="module")
def data():
    return load_mnist(device="cpu", limit=300)


def test_same_seed_same_numbers(data):
    a = evaluate_architecture(ARCH, data, TINY, seed=3, device="cpu")
    b = evaluate_architecture(ARCH, data, TINY, seed=3, device="cpu")
    c = evaluate_architecture(ARCH, data, TINY, seed=4, device="cpu")
    assert (a["val_acc"], a["test_acc"]) == (b["val_acc"], b["test_acc"])
    assert (a["val_acc"], a["test_acc"]) != (c["val_acc"], c["test_acc"])
    assert a["key"] == ARCH.key and a["params"] == 9 * 8 + 2 * 8 + (8 * 6 * 6 + 1) * 10 and a["recipe"] == "tiny" and a["device"].startswith("cpu")


def test_training_beats_chance(data):
    record = evaluate_architecture(ARCH, data, TINY, seed=0, device="cpu")
    assert record["val_acc"] > 0.3 and record["test_acc"] > 0.3  # chance is 0.1


def test_deterministic_mode_is_restored(data):
    before = torch.are_deterministic_algorithms_enabled()
    evaluate_architecture(ARCH, data, TINY, seed=0, device="cpu")
    assert torch.are_deterministic_algorithms_enabled() == before


def test_invalid_architecture_is_rejected_before_training(data):
    with pytest.raises(InvalidArchitecture, match="rule 1"):
        evaluate_architecture(Architecture(("maxpool",) * 3 + ("conv5x5",), 8, 0), data, TINY)


def test_objective_in_a_search_records_failures_and_never_reads_test(data):
    objective = LowFidelityObjective(data, TINY, seed=0, device="cpu")
    history = search(objective, nas_space(), "random", budget=4, seed=5, minimize=False, progress=False)
    ok = [t for t in history if t.ok]
    assert len(objective.records) == len(ok) >= 1
    assert [r["val_acc"] for r in objective.records] == [t.value for t in ok]
    assert not any("test_acc" in r for r in objective.records)  # the test split is read once, later
    assert all(not t.ok and "InvalidArchitecture" in t.error for t in history if not t.ok)


@pytest.mark.parametrize("field, value", [("n_train", 0), ("epochs", 0), ("batch_size", 1.5), ("lr", 0.0),
                                          ("max_shift", -1)])
def test_bad_recipe_is_named(field, value):
    kwargs = {"name": "bad", "n_train": 10, "n_val": 10, "n_test": 10, "epochs": 1, "batch_size": 10, "lr": 0.1,
              field: value}
    with pytest.raises(ValueError, match=f"{field}={value!r}"):
        Recipe(**kwargs)


def test_recipe_sgd_is_the_recipes_optimizer_and_a_cosine_over_every_step():
    recipe = Recipe("r", n_train=10, n_val=10, n_test=10, epochs=3, batch_size=50, lr=0.2, momentum=0.8,
                    weight_decay=1e-3)
    w = torch.zeros(2, requires_grad=True)
    optimizer, schedule = recipe.sgd([w], 120)
    assert (optimizer.lr, optimizer.momentum, optimizer.weight_decay) == (0.2, 0.8, 1e-3)
    assert schedule.t_max == 3 * 3  # ceil(120 / 50) = 3 steps per epoch, 3 epochs
    assert schedule(0) == pytest.approx(0.2) and schedule(9) == pytest.approx(0.0)
    assert recipe.sgd([w], 100, epochs=5)[1].t_max == 5 * 2


def test_shifted_recipe_trains_on_shifted_images(data):
    from dataclasses import replace

    plain = evaluate_architecture(ARCH, data, TINY, seed=0, device="cpu")
    shifted = evaluate_architecture(ARCH, data, replace(TINY, max_shift=2), seed=0, device="cpu")
    assert shifted["val_acc"] != plain["val_acc"] and shifted["val_acc"] > 0.3
    assert "random shifts of up to 2 px" in replace(TINY, max_shift=2).describe()


def test_train_architecture_leaves_the_test_split_for_later(data):
    model, record = train_architecture(ARCH, data, TINY, seed=3, device="cpu")
    assert "test_acc" not in record
    model.eval()
    with torch.no_grad():  # the test accuracy by hand: argmax of the logits against the labels
        by_hand = (model(data.x_test[:TINY.n_test]).argmax(1) == data.y_test[:TINY.n_test]).float().mean().item()
    assert read_test_accuracy(model, data, TINY) == pytest.approx(by_hand, abs=1e-6)
    full = evaluate_architecture(ARCH, data, TINY, seed=3, device="cpu")
    assert full == {**record, "train_seconds": full["train_seconds"], "test_acc": pytest.approx(by_hand, abs=1e-6)}
