"""Random cutting: the same draw as torch.nn.utils.prune.random_unstructured, exact counts, seeds."""

import pytest
import torch
from torch import nn
from torch.nn.utils import prune as torch_prune

from amsearch_lab.compress import global_random_cut, global_random_masks, random_mask, random_neurons
from amsearch_lab.models import mlp


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
    a = global_random_cut(mlp((10, 8, 3), seed=0), 0.5, seed=1)
    b = global_random_cut(mlp((10, 8, 3), seed=0), 0.5, seed=1)
    c = global_random_cut(mlp((10, 8, 3), seed=0), 0.5, seed=2)
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert not all(torch.equal(a[k], c[k]) for k in a)


def test_random_neurons():
    keep = random_neurons(300, 0.5, seed=0)
    assert len(keep) == 150 and len(set(keep.tolist())) == 150
    assert torch.all(keep[1:] > keep[:-1])
    assert torch.equal(keep, random_neurons(300, 0.5, seed=0))
    with pytest.raises(ValueError, match="seed='x'"):
        random_neurons(3, 0.5, seed="x")
