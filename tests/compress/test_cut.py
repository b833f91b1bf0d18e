"""Random cutting: the same draw as torch.nn.utils.prune.random_unstructured, exact counts, seeds,
and a structured cut that always leaves a layer at least one neuron."""

import pytest
import torch
from torch import nn
from torch.nn.utils import prune as torch_prune

from amsearch_lab.compress import (
    global_random_cut,
    global_random_masks,
    hidden_layers,
    keep_if_better,
    masks_of,
    random_mask,
    random_neurons,
    random_remaining,
    shrink,
)
from amsearch_lab.models import mlp, small_cnn


@pytest.mark.parametrize("amount", [0.1, 0.5, 0.93])
def test_random_mask_equals_torch_random_unstructured(amount):
    layer = nn.Linear(30, 20)
    torch.manual_seed(7)
    torch_prune.random_unstructured(layer, "weight", amount=amount)
    assert torch.equal(random_mask(layer.weight_orig, amount, seed=torch.Generator().manual_seed(7)), layer.weight_mask)


def test_int_seed_does_not_replay_the_initial_weights_stream():
    model = mlp((200, 100), seed=0)  # its weights come from torch.manual_seed(0)'s stream
    w = model[1].weight.detach()
    mask = random_mask(w, 0.5, seed=0)
    # the removed weights are an unbiased sample: their mean is near the mean of all weights
    assert abs(float(w[mask == 0].mean() - w.mean())) < 3 * float(w.std()) / (0.5 * w.numel()) ** 0.5


def test_global_random_masks_count_and_spread():
    model = mlp((100, 80, 60), seed=0)
    masks = global_random_masks({k: v for k, v in model.state_dict().items() if k.endswith("weight")}, 0.7, seed=3)
    n_total = sum(m.numel() for m in masks.values())
    assert int(sum((1 - m).sum() for m in masks.values())) == round(0.7 * n_total)
    for m in masks.values():  # spread evenly: every layer near 70 % (binomial sd < 1.5 %)
        assert abs(float(1 - m.mean()) - 0.7) < 0.05


def test_random_cut_is_reproducible_and_seed_dependent():
    model = mlp((10, 8, 3), seed=0)
    (_, a), (_, b), (_, c) = (global_random_cut(model, 0.5, seed=s) for s in (1, 1, 2))
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert not all(torch.equal(a[k], c[k]) for k in a)


def test_random_neurons():
    keep = random_neurons(300, 0.5, seed=0)
    assert len(keep) == 150 and len(set(keep.tolist())) == 150
    assert torch.all(keep[1:] > keep[:-1])
    assert torch.equal(keep, random_neurons(300, 0.5, seed=0))
    with pytest.raises(ValueError, match="seed='x'"):
        random_neurons(3, 0.5, seed="x")


@pytest.mark.parametrize("n, amount", [(4, 0.9), (1, 0.5), (3, 1.0), (300, 0.999)])
def test_random_neurons_keeps_at_least_one(n, amount):
    """round(0.9 * 4) = 4 of 4 neurons used to be cut, leaving a layer with no neurons."""
    keep = random_neurons(n, amount, seed=0)
    assert len(keep) == max(1, n - round(amount * n)) and 0 <= int(keep.min()) and int(keep.max()) < n


@pytest.mark.parametrize("seed", range(3))
def test_a_network_cut_to_one_channel_per_layer_still_runs(seed):
    model = small_cnn(seed=0)
    keep = {i: random_neurons(model[i].weight.shape[0], 0.99, seed=seed) for i in hidden_layers(model)}
    small = shrink(model, keep)
    assert [small[i].weight.shape[0] for i in hidden_layers(small)] == [1, 1, 1]
    with torch.no_grad():
        assert small(torch.randn(2, 1, 28, 28)).shape == (2, 10)


def test_random_neurons_names_a_bad_n():
    with pytest.raises(ValueError, match="n=0"):
        random_neurons(0, 0.5)


def test_random_remaining_removes_only_kept_entries():
    g = torch.Generator().manual_seed(0)
    masks = {"a": (torch.rand(10, 10, generator=g) > 0.5).float(), "b": torch.ones(4, 5)}
    kept = int(sum(m.sum() for m in masks.values()))
    new = random_remaining(masks, 0.3, seed=1)
    assert int(sum(m.sum() for m in new.values())) == kept - round(0.3 * kept)
    assert all(torch.all(new[k] <= masks[k]) for k in masks)
    assert all(torch.equal(new[k], random_remaining(masks, 0.3, seed=1)[k]) for k in masks)
    assert any(not torch.equal(new[k], random_remaining(masks, 0.3, seed=2)[k]) for k in masks)


def test_keep_if_better_accepts_only_a_strict_rise():
    model = mlp((6, 5, 3), seed=0)
    scores = iter([0.5, 0.5, 0.6, 0.4, 0.7])   # the model itself, then four proposals

    best, history = keep_if_better(model, lambda m: next(scores), steps=4, chunk=0.2, method="random")
    assert [h["accepted"] for h in history] == [True, False, True, False, True]
    assert [h["best"] for h in history] == [0.5, 0.5, 0.6, 0.6, 0.7]
    n = 6 * 5 + 5 * 3
    left = n - round(0.2 * n)            # step 1 rejected: step 2 proposes from the dense model again
    assert abs(history[1]["sparsity"] - history[2]["sparsity"]) < 1e-9
    left = left - round(0.2 * left)      # steps 3 and 4 propose from step 2's accepted model
    assert abs(history[3]["sparsity"] - (1 - left / n)) < 1e-9 and history[4]["sparsity"] == history[3]["sparsity"]
    assert int(sum(m.sum() for m in masks_of(best).values())) == left
    assert masks_of(model) == {}


def test_keep_if_better_by_magnitude_repeats_a_rejected_proposal():
    model = mlp((6, 5, 3), seed=0)
    _, history = keep_if_better(model, lambda m: 1.0, steps=3, chunk=0.5, method="magnitude")
    assert [h["accepted"] for h in history] == [True, False, False, False]
    assert len({h["sparsity"] for h in history[1:]}) == 1
    with pytest.raises(ValueError, match="method='cut'"):
        keep_if_better(model, lambda m: 1.0, steps=3, chunk=0.5, method="cut")
