"""Masks on a model: a masked layer computes what ``torch.nn.utils.prune`` computes with the same
mask (outputs and gradients), a removed entry gets no gradient, a second mask replaces the first,
``remove_masks`` leaves plain layers with the zeros stored, and bad keys, shapes and models are named."""

from copy import deepcopy

import pytest
import torch
from torch import nn
from torch.nn.utils import parametrize
from torch.nn.utils import prune as torch_prune

from amsearch_lab.compress.masks import Mask, apply_masks, masks_of, prunable_weights, remove_masks
from amsearch_lab.models import mlp, small_cnn


def random_mask(shape, seed, keep=0.5):
    g = torch.Generator().manual_seed(seed)
    return (torch.rand(shape, generator=g) < keep).float()


def masks_for(model, seed=0):
    return {key: random_mask(w.shape, seed + i) for i, (key, w) in enumerate(prunable_weights(model).items())}


def test_prunable_weights_are_the_linear_and_conv_weights_in_forward_order():
    assert list(prunable_weights(mlp((6, 5, 4, 3), seed=0))) == ["1.weight", "3.weight", "5.weight"]
    weights = prunable_weights(small_cnn(seed=0))
    assert list(weights) == ["0.weight", "3.weight", "7.weight", "9.weight"]
    assert [tuple(w.shape) for w in weights.values()] == [(16, 1, 3, 3), (32, 16, 3, 3), (64, 32 * 7 * 7), (10, 64)]
    assert list(prunable_weights(nn.Linear(3, 2))) == ["weight"]


@pytest.mark.parametrize("make, x_shape", [(lambda: mlp((12, 8, 5), seed=0), (4, 12)),
                                           (lambda: small_cnn((4, 6), hidden=8, seed=0), (2, 1, 28, 28))])
def test_a_masked_model_matches_torch_prune_with_the_same_masks(make, x_shape):
    ours, theirs = make(), make()
    masks = masks_for(ours)
    apply_masks(ours, masks)
    for key, mask in masks.items():
        torch_prune.custom_from_mask(theirs.get_submodule(key.rpartition(".")[0]), "weight", mask)
    x = torch.randn(x_shape, generator=torch.Generator().manual_seed(1))
    out_ours, out_theirs = ours(x), theirs(x)
    torch.testing.assert_close(out_ours, out_theirs, rtol=0, atol=0)
    out_ours.square().sum().backward()
    out_theirs.square().sum().backward()
    for key, mask in masks.items():
        name = key.rpartition(".")[0]
        grad = ours.get_submodule(name).parametrizations.weight.original.grad
        torch.testing.assert_close(grad, theirs.get_submodule(name).weight_orig.grad, rtol=0, atol=0)
        assert torch.all(grad[mask == 0] == 0) and torch.any(grad[mask == 1] != 0)


def test_the_forward_pass_sees_mask_times_the_kept_weight():
    layer = nn.Linear(4, 3)
    before = layer.weight.detach().clone()
    mask = random_mask((3, 4), seed=2)
    apply_masks(layer, {"weight": mask})
    assert torch.equal(layer.weight, before * mask)
    assert torch.equal(layer.parametrizations.weight.original, before)  # the removed entries are only hidden


def test_the_mask_is_a_copy_and_a_buffer_not_a_parameter():
    model = mlp((3, 2), seed=0)
    mask = torch.ones(2, 3)
    apply_masks(model, {"1.weight": mask})
    mask[0, 0] = 0.0
    assert torch.equal(masks_of(model)["1.weight"], torch.ones(2, 3))
    assert not any("mask" in name for name, _ in model.named_parameters())
    assert "1.parametrizations.weight.0.mask" in model.state_dict()


def test_a_second_mask_replaces_the_first():
    model = mlp((3, 2), seed=0)
    first, second = torch.tensor([[1.0, 0, 1], [1, 1, 0]]), torch.tensor([[0.0, 1, 1], [1, 1, 1]])
    apply_masks(model, {"1.weight": first})
    apply_masks(model, {"1.weight": second})
    assert torch.equal(masks_of(model)["1.weight"], second)
    assert torch.equal(model[1].weight, model[1].parametrizations.weight.original * second)
    assert len(model[1].parametrizations.weight) == 1


def test_a_bias_can_be_masked_too():
    model = mlp((3, 2), seed=0)
    apply_masks(model, {"1.bias": torch.tensor([0.0, 1.0])})
    assert model[1].bias[0] == 0 and list(masks_of(model)) == ["1.bias"]


def test_the_mask_follows_the_weight_dtype():
    model = mlp((3, 2), seed=0).double()
    apply_masks(model, {"1.weight": torch.ones(2, 3, dtype=torch.bool)})
    assert masks_of(model)["1.weight"].dtype == torch.float64


def test_remove_masks_leaves_plain_layers_with_stored_zeros():
    model = small_cnn((4, 6), hidden=8, seed=0)
    masks = masks_for(model, seed=3)
    apply_masks(model, masks)
    x = torch.randn(2, 1, 28, 28, generator=torch.Generator().manual_seed(0))
    expected = model(x)
    reference = deepcopy(model)
    remove_masks(model)
    assert masks_of(model) == {}
    assert not any(parametrize.is_parametrized(m) for m in model.modules())
    torch.testing.assert_close(model(x), expected, rtol=0, atol=0)
    for key, w in prunable_weights(model).items():
        assert isinstance(w, nn.Parameter) and torch.all(w[masks[key] == 0] == 0)
    conv = model[3]
    assert (conv.kernel_size, conv.padding, conv.in_channels, conv.out_channels) == ((3, 3), (1, 1), 4, 6)
    torch.testing.assert_close(reference(x), expected, rtol=0, atol=0)  # the copy still has its masks


def test_mask_multiplies_entry_by_entry():
    weight, mask = torch.tensor([[2.0, -3.0], [4.0, 5.0]]), torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    assert torch.equal(Mask(mask)(weight), torch.tensor([[2.0, 0.0], [0.0, 5.0]]))


def test_masks_of_a_model_without_masks_is_empty():
    assert masks_of(mlp((3, 2), seed=0)) == {}


def test_a_mask_that_is_not_a_mask_is_not_reported():
    class Double(nn.Module):
        def forward(self, w):
            return 2 * w

    model = mlp((3, 2), seed=0)
    parametrize.register_parametrization(model[1], "weight", Double())
    assert masks_of(model) == {}


@pytest.mark.parametrize("key", ["9.weight", "0.weight", "1.scale", "1"])
def test_a_key_that_is_no_linear_or_conv_parameter_is_named(key):
    with pytest.raises(ValueError, match=f"'{key}'"):
        apply_masks(mlp((3, 2), seed=0), {key: torch.ones(2, 3)})


def test_a_missing_bias_is_named():
    model = nn.Sequential(nn.Linear(3, 2, bias=False))
    with pytest.raises(ValueError, match="'0.bias'"):
        apply_masks(model, {"0.bias": torch.ones(2)})


def test_a_mask_of_the_wrong_shape_is_named():
    with pytest.raises(ValueError, match=r"masks\['1.weight'\] has shape \(3, 2\), the parameter has \(2, 3\)"):
        apply_masks(mlp((3, 2), seed=0), {"1.weight": torch.ones(3, 2)})


def test_removing_the_mask_of_a_bare_layer_asks_for_a_container():
    layer = apply_masks(nn.Linear(3, 2), {"weight": torch.ones(2, 3)})
    with pytest.raises(ValueError, match="nn.Sequential"):
        remove_masks(layer)
