"""Structured pruning: the shrunk model computes what the masked model computes, and is smaller;
the three scores match independent computations."""

import numpy as np
import pytest
import torch
from torch import nn

from amsearch_lab.compress import apply_masks, count_params, hidden_layers, keep_top, l1_scores, neuron_masks
from amsearch_lab.compress.cut import random_neurons
from amsearch_lab.compress.structured import activation_scores, neuron_scores, prune_neurons, shrink, taylor_scores
from amsearch_lab.models import mlp, small_cnn


def _data(shape, n=16, classes=10, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.rand(n, *shape, generator=g), torch.randint(0, classes, (n,), generator=g)


@pytest.mark.parametrize("method", ["l1", "activation", "taylor"])
def test_shrunk_mlp_equals_masked_mlp(method):
    model = mlp((20, 16, 12, 10), seed=0)
    x, y = _data((20,))
    small, keep = prune_neurons(model, 0.5, method, x, y)
    assert [len(k) for k in keep.values()] == [8, 6]
    masked = apply_masks(mlp((20, 16, 12, 10), seed=0), neuron_masks(model, keep))
    torch.testing.assert_close(small(x), masked(x), atol=1e-6, rtol=1e-5)
    assert [m.out_features for m in small if isinstance(m, nn.Linear)] == [8, 6, 10]
    assert count_params(small) == 20 * 8 + 8 + 8 * 6 + 6 + 6 * 10 + 10 < count_params(model)


def test_shrunk_cnn_equals_masked_cnn_through_flatten():
    model = small_cnn(seed=0)
    x, _ = _data((1, 28, 28), n=4)
    keep = {i: random_neurons(model[i].weight.shape[0], 0.5, seed=i) for i in hidden_layers(model)}
    small = shrink(model, keep)
    masked = apply_masks(small_cnn(seed=0), neuron_masks(model, keep))
    torch.testing.assert_close(small(x), masked(x), atol=1e-5, rtol=1e-5)
    assert (small[0].out_channels, small[3].in_channels, small[3].out_channels) == (8, 8, 16)
    assert (small[7].in_features, small[7].out_features, small[9].in_features) == (16 * 49, 32, 32)


def test_l1_scores_match_numpy():
    w = torch.randn(5, 3, 2, 2)
    np.testing.assert_allclose(l1_scores(w).numpy(), np.abs(w.numpy()).reshape(5, -1).sum(1), rtol=1e-6)


def test_activation_scores_match_a_hook():
    model = small_cnn(seed=1)
    x, _ = _data((1, 28, 28), n=6)
    seen = []
    handle = model[1].register_forward_hook(lambda m, i, out: seen.append(out.detach()))  # after the ReLU
    model(x)
    handle.remove()
    torch.testing.assert_close(activation_scores(model, 0, x, batch_size=4), seen[0].abs().mean((0, 2, 3)))


def test_taylor_scores_match_finite_differences():
    torch.set_default_dtype(torch.float64)
    try:
        model = mlp((6, 5, 3), seed=3)
        x, y = _data((6,), n=4, classes=3)
        scores = taylor_scores(model, 1, x, y, batch_size=3)
        # oracle: per example, |a_i * dL/da_i| with dL/da_i by central differences through the tail
        a = model[:3](x)
        tail, eps = model[3:], 1e-6
        expected = torch.zeros(5)
        for n in range(len(x)):
            for i in range(5):
                up, down = a[n:n + 1].clone(), a[n:n + 1].clone()
                up[0, i] += eps
                down[0, i] -= eps
                grad = (nn.functional.cross_entropy(tail(up), y[n:n + 1]) -
                        nn.functional.cross_entropy(tail(down), y[n:n + 1])) / (2 * eps)
                expected[i] += abs(a[n, i] * grad) / len(x)
        torch.testing.assert_close(scores, expected, atol=1e-7, rtol=1e-6)
    finally:
        torch.set_default_dtype(torch.float32)


def test_keep_top_and_errors():
    assert keep_top(torch.tensor([0.1, 3.0, 2.0, 0.5]), 0.5).tolist() == [1, 2]
    assert keep_top(torch.tensor([1.0, 2.0]), 1.0).tolist() == [1]  # at least one neuron stays
    with pytest.raises(ValueError, match="method='fisher'"):
        neuron_scores(mlp((3, 2, 2), seed=0), "fisher")
    with pytest.raises(ValueError, match="needs data"):
        neuron_scores(mlp((3, 2, 2), seed=0), "taylor", torch.ones(1, 3))
    with pytest.raises(ValueError, match="layer index 3"):
        shrink(mlp((3, 2, 2), seed=0), {3: torch.tensor([0])})
    with pytest.raises(ValueError, match="nn.Sequential"):
        hidden_layers(nn.Linear(2, 2))


@pytest.mark.parametrize("model_fn, index", [(lambda: mlp((20, 16, 12, 10), seed=0), 3), (lambda: small_cnn(seed=0), 0)],
                         ids=["Linear", "Conv2d"])
def test_shrink_refuses_a_layer_without_neurons(model_fn, index):
    """Before, keep[i] = [] built a layer with 0 outputs: a Conv2d with 0 channels fails in its
    forward pass, a Linear with 0 outputs makes the network a constant."""
    model = model_fn()
    with pytest.raises(ValueError, match=rf"keep\[{index}\]=tensor\(\[\], dtype=torch.int64\) is empty; layer {index}"):
        shrink(model, {index: torch.tensor([], dtype=torch.int64)})


def test_shrink_refuses_repeated_out_of_range_and_non_index_keeps():
    model = mlp((3, 4, 2), seed=0)
    for bad in (torch.tensor([1, 1]), torch.tensor([0, 4]), torch.tensor([-1, 2])):
        with pytest.raises(ValueError, match=r"keep\[1\]=.* distinct neuron indices of layer 1, in \[0, 4\)"):
            shrink(model, {1: bad})
    for bad in (torch.tensor([True, False, True, True]), torch.tensor([0.0, 1.0]), torch.tensor([[0, 1]])):
        with pytest.raises(ValueError, match=r"keep\[1\]=.* 1-d tensor of integer neuron indices"):
            shrink(model, {1: bad})


def test_data_scores_refuse_empty_data():
    """Before: total / len(x) = 0.0 / 0, a ZeroDivisionError."""
    model = mlp((6, 5, 3), seed=0)
    with pytest.raises(ValueError, match=r"activation_scores: x has no examples \(shape \(0, 6\)\)"):
        activation_scores(model, 1, torch.zeros(0, 6))
    with pytest.raises(ValueError, match=r"taylor_scores: x has no examples \(shape \(0, 6\)\)"):
        taylor_scores(model, 1, torch.zeros(0, 6), torch.zeros(0, dtype=torch.int64))
