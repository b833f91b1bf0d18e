"""Magnitude pruning: masks equal torch.nn.utils.prune's; masks stay applied while training."""

from copy import deepcopy

import numpy as np
import pytest
import torch
from torch import nn
from torch.nn.utils import prune as torch_prune

from amsearch_lab.compress import (
    apply_masks,
    global_magnitude_masks,
    global_magnitude_prune,
    iterative_prune,
    layer_sensitivity,
    magnitude_mask,
    masks_of,
    prunable_weights,
    remove_masks,
    sparsity_schedule,
)
from amsearch_lab.models import mlp


@pytest.mark.parametrize("amount", [0.0, 0.3, 0.5, 0.9, 1.0])
def test_magnitude_mask_equals_torch_l1_unstructured(amount):
    layer = nn.Linear(40, 30)
    torch_prune.l1_unstructured(layer, "weight", amount=amount)
    assert torch.equal(magnitude_mask(layer.weight_orig, amount), layer.weight_mask)


@pytest.mark.parametrize("amount", [0.2, 0.75, 0.95])
def test_global_masks_equal_torch_global_unstructured(amount):
    model = mlp((20, 16, 12, 4), seed=0)
    ours = global_magnitude_masks(prunable_weights(model), amount)
    layers = [m for m in model if isinstance(m, nn.Linear)]
    torch_prune.global_unstructured([(m, "weight") for m in layers], torch_prune.L1Unstructured, amount=amount)
    for (key, mask), layer in zip(ours.items(), layers):
        assert torch.equal(mask, layer.weight_mask), key
    n_total = sum(m.weight.numel() for m in layers)
    assert int(sum((1 - m).sum() for m in ours.values())) == round(amount * n_total)


def test_masked_weights_stay_zero_while_training_and_after_removal():
    model, masks = global_magnitude_prune(mlp((10, 8, 3), seed=1), 0.6)
    opt = torch.optim.SGD(model.parameters(), lr=0.5, momentum=0.9)
    x, y = torch.randn(32, 10, generator=torch.Generator().manual_seed(0)), torch.arange(32) % 3
    for _ in range(5):
        opt.zero_grad()
        nn.functional.cross_entropy(model(x), y).backward()
        opt.step()
    for key, w in prunable_weights(model).items():
        assert torch.all(w[masks[key] == 0] == 0)
        assert torch.any(w[masks[key] == 1] != 0)
    out = model(x)
    remove_masks(model)
    assert masks_of(model) == {}
    assert torch.equal(model(x), out)
    assert sorted(k for k, _ in model.named_parameters()) == ["1.bias", "1.weight", "3.bias", "3.weight"]


def test_removing_masks_from_a_copy_leaves_the_original_working():
    model, _ = global_magnitude_prune(mlp((6, 4, 2), seed=0), 0.5)
    copy = remove_masks(deepcopy(model))
    x = torch.randn(3, 6)
    torch.testing.assert_close(copy(x), model(x))
    assert masks_of(model) and not masks_of(copy)


def test_sparsity_schedule_is_cubic_and_ends_at_final():
    s = sparsity_schedule(0.9, 4)
    assert s[-1] == pytest.approx(0.9)
    assert all(a < b for a, b in zip(s, s[1:]))
    assert s[0] == pytest.approx(0.9 * (1 - (3 / 4) ** 3))
    with pytest.raises(ValueError, match="steps=0"):
        sparsity_schedule(0.9, 0)
    with pytest.raises(ValueError, match="final=1.0"):
        sparsity_schedule(1.0, 3)


def test_iterative_prune_reaches_final_sparsity_and_removed_weights_stay_removed():
    seen = []

    def fine_tune(m):  # a stand-in for training: perturb every weight, masks must hold
        with torch.no_grad():
            for w in m.parameters():
                w.add_(0.01)
        seen.append({k: v.clone() for k, v in masks_of(m).items()})

    model, rounds = iterative_prune(mlp((12, 10, 3), seed=2), 0.8, 3, fine_tune, evaluate=lambda m: 1.0)
    assert [r["step"] for r in rounds] == [1, 2, 3] and rounds[-1]["value"] == 1.0
    n_total = sum(w.numel() for w in prunable_weights(model).values())
    n_zero = sum(int((w == 0).sum()) for w in prunable_weights(model).values())
    assert n_zero == round(0.8 * n_total)
    for earlier, later in zip(seen, seen[1:]):  # once removed, always removed
        for k in earlier:
            assert torch.all(later[k] <= earlier[k])


def test_bad_amount_and_bad_mask_key_raise():
    with pytest.raises(ValueError, match="amount=1.5"):
        magnitude_mask(torch.ones(3), 1.5)
    with pytest.raises(ValueError, match="'9.weight'"):
        apply_masks(mlp((3, 2), seed=0), {"9.weight": torch.ones(2, 3)})
    with pytest.raises(ValueError, match="shape"):
        apply_masks(mlp((3, 2), seed=0), {"1.weight": torch.ones(3, 2)})


def test_layer_sensitivity_prunes_one_layer_at_a_time():
    model = mlp((12, 10, 4), seed=0)
    x = torch.randn(20, 12, generator=torch.Generator().manual_seed(0))
    w1 = model[1].weight.detach().clone()
    seen = []

    def evaluate(m):
        seen.append({k: w.detach().clone() for k, w in prunable_weights(m).items()})
        return float(m(x).sum().detach())

    out = layer_sensitivity(model, [0.0, 0.5], evaluate)
    assert list(out) == ["1.weight", "3.weight"] and all(len(v) == 2 for v in out.values())
    # the second evaluation: layer 1 at 50 %, its 60 smallest |w| zeroed (numpy argsort), layer 3 dense
    w = seen[1]["1.weight"].numpy().ravel()
    order = np.argsort(np.abs(w1.numpy().ravel()))
    assert np.all(w[order[:60]] == 0) and np.array_equal(w[order[60:]], w1.numpy().ravel()[order[60:]])
    assert torch.equal(seen[1]["3.weight"], model[3].weight)
    assert out["1.weight"][0] == out["3.weight"][0] == float(model(x).sum().detach())   # 0 %: the dense value
    assert masks_of(model) == {}
    with pytest.raises(ValueError, match="sparsities is empty"):
        layer_sensitivity(model, [], evaluate)
