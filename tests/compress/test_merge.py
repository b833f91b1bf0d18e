"""Merging: identical or positively scaled neurons merge exactly, so do dead neurons (scale 0) and
copies at the ends of float32's range; similarity equals scikit-learn's; the equal-size pruning
baseline keeps the highest-L1 neurons (numpy's argsort) at the merged layer sizes."""

import numpy as np
import pytest
import torch
from sklearn.metrics.pairwise import cosine_similarity

from amsearch_lab.compress import count_params, merge, merge_neurons, merge_pairs, similarity
from amsearch_lab.compress.merge import prune_like_merge
from amsearch_lab.models import mlp


def _with_copies(seed=0):
    """A 10-12-8-3 MLP where hidden neuron 5 copies neuron 2 and neuron 9 is 3 x neuron 4."""
    model = mlp((10, 12, 8, 3), seed=seed)
    with torch.no_grad():
        model[1].weight[5], model[1].bias[5] = model[1].weight[2], model[1].bias[2]
        model[1].weight[9], model[1].bias[9] = 3 * model[1].weight[4], 3 * model[1].bias[4]
        model[3].weight[7], model[3].bias[7] = model[3].weight[0], model[3].bias[0]
    return model


def test_merging_identical_and_scaled_neurons_leaves_outputs_unchanged():
    model = _with_copies()
    merged, pairs = merge_neurons(model, threshold=0.999)
    assert sorted((min(k, d), max(k, d)) for k, d, _ in pairs[1]) == [(2, 5), (4, 9)]
    assert [(k, d) for k, d, _ in pairs[3]] in ([(0, 7)], [(7, 0)])
    assert (merged[1].out_features, merged[3].in_features, merged[3].out_features, merged[5].in_features) == \
        (10, 10, 7, 7)
    x = torch.randn(64, 10, generator=torch.Generator().manual_seed(1))
    torch.testing.assert_close(merged(x), model(x), atol=1e-5, rtol=1e-5)


def test_merge_scale_is_least_squares():
    w_in = torch.tensor([[1.0, 2.0], [2.0, 4.0], [0.0, 1.0]])
    w_out = torch.tensor([[1.0, 10.0, 100.0]])
    pairs = merge_pairs(w_in, None, threshold=0.99)
    assert pairs == [(1, 0, pytest.approx(0.5))]
    w_in2, _, w_out2 = merge(w_in, None, w_out, pairs)
    assert torch.equal(w_in2, torch.tensor([[2.0, 4.0], [0.0, 1.0]]))
    assert torch.allclose(w_out2, torch.tensor([[10.5, 100.0]]))


def test_similarity_equals_sklearn_and_pairs_respect_threshold():
    g = torch.Generator().manual_seed(0)
    w, b = torch.randn(30, 6, generator=g), torch.randn(30, generator=g)
    expected = cosine_similarity(np.c_[w.numpy(), b.numpy()])
    np.testing.assert_allclose(similarity(w, b).numpy(), expected, atol=1e-6)
    pairs = merge_pairs(w, b, threshold=0.6)
    used = [i for k, d, _ in pairs for i in (k, d)]
    assert len(used) == len(set(used))  # disjoint
    assert all(expected[k, d] >= 0.6 - 1e-6 for k, d, _ in pairs)
    sims = [expected[k, d] for k, d, _ in pairs]
    assert sims == sorted(sims, reverse=True)
    assert len(merge_pairs(w, b, threshold=0.6, max_pairs=1)) == 1
    with pytest.raises(ValueError, match="threshold=1.5"):
        merge_pairs(w, b, threshold=1.5)


def _with_dead_neurons(dead):
    """A 2-5-3 ReLU network: three live hidden neurons 120° apart (pairwise cosine -1/2, never
    merged at threshold 0) and the ``dead`` ones with zero incoming weights and bias."""
    model = mlp((2, 5, 3), seed=0)
    angles = torch.tensor([0.0, 2.0, 4.0]) * torch.pi / 3
    live = [i for i in range(5) if i not in dead]
    with torch.no_grad():
        model[1].weight[live] = torch.stack([angles.cos(), angles.sin()], dim=1)
        model[1].bias[live] = 0.0
        model[1].weight[dead], model[1].bias[dead] = 0.0, 0.0
    return model


@pytest.mark.parametrize("dead, n_left", [([1, 3], 3), ([0, 1], 4)])
def test_dead_neurons_merge_with_scale_zero_and_the_output_is_unchanged(dead, n_left):
    """A dead neuron (v = 0) outputs relu(0) = 0, so merging it with c = 0 is exact. Two dead ones
    used to give c = 0/0 = NaN, which passed the c <= 0 check and made every output NaN."""
    model = _with_dead_neurons(dead)
    merged, pairs = merge_neurons(model, threshold=0.0)
    assert all(c == 0.0 and d in dead for _, d, c in pairs[1]) and merged[1].out_features == n_left
    x = torch.randn(256, 2, generator=torch.Generator().manual_seed(1))
    torch.testing.assert_close(merged(x), model(x), atol=1e-6, rtol=0)


@pytest.mark.parametrize("scale", [1e-25, 1e-6, 1e20])
def test_parallel_neurons_merge_at_any_scale(scale):
    """float32 squares overflow above 1.8e19 and underflow below 1e-19: the norms came out inf or
    0, the cosine 0, and such copies were never merged (or got c = inf/inf)."""
    model = mlp((4, 6, 2), seed=0)
    with torch.no_grad():
        model[1].weight[:] = torch.randn(6, 4, generator=torch.Generator().manual_seed(2)) * scale
        model[1].bias[:] = torch.randn(6, generator=torch.Generator().manual_seed(3)) * scale
        model[1].weight[4], model[1].bias[4] = 3 * model[1].weight[1], 3 * model[1].bias[1]
    assert similarity(model[1].weight, model[1].bias)[1, 4] == pytest.approx(1.0, abs=1e-6)
    merged, pairs = merge_neurons(model, threshold=0.999)
    assert [(k, d) for k, d, _ in pairs[1]] == [(4, 1)] and pairs[1][0][2] == pytest.approx(1 / 3)
    x = torch.randn(64, 4, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        torch.testing.assert_close(merged(x), model(x), atol=1e-6 * float(model(x).abs().max()), rtol=1e-5)


def test_similarity_is_unchanged_bit_for_bit_on_ordinary_weights():
    g = torch.Generator().manual_seed(0)
    w, b = torch.randn(40, 7, generator=g), torch.randn(40, generator=g)
    v = torch.cat([w, b.unsqueeze(1)], dim=1)
    v = v / v.norm(dim=1, keepdim=True)
    assert torch.equal(similarity(w, b), v @ v.T)


def test_prune_like_merge_matches_the_merged_sizes_and_keeps_the_largest_l1_rows():
    model = mlp((10, 12, 8, 3), seed=0)
    merged, pairs = merge_neurons(model, threshold=0.2)
    assert sum(len(p) for p in pairs.values()) > 0
    pruned, keep = prune_like_merge(model, pairs)
    assert [m.weight.shape for m in pruned if hasattr(m, "weight")] == \
        [m.weight.shape for m in merged if hasattr(m, "weight")]
    assert count_params(pruned) == count_params(merged)
    for i, layer_pairs in pairs.items():
        l1 = np.abs(model[i].weight.detach().numpy()).sum(1)
        expected = np.sort(np.argsort(-l1, kind="stable")[:len(l1) - len(layer_pairs)])
        np.testing.assert_array_equal(keep[i].numpy(), expected)
    w1, w3 = model[1].weight.detach().numpy(), model[3].weight.detach().numpy()
    np.testing.assert_array_equal(pruned[1].weight.detach().numpy(), w1[keep[1].numpy()])
    np.testing.assert_array_equal(pruned[3].weight.detach().numpy(), w3[keep[3].numpy()][:, keep[1].numpy()])
    assert model[1].out_features == 12  # the input is unchanged


def test_prune_like_merge_scores_with_data_and_refuses_bad_pairs():
    model = mlp((10, 12, 8, 3), seed=0)
    x = torch.randn(64, 10, generator=torch.Generator().manual_seed(0))
    _, pairs = merge_neurons(model, threshold=0.2)
    pruned, _ = prune_like_merge(model, pairs, method="activation", x=x)
    assert count_params(pruned) == count_params(merge_neurons(model, threshold=0.2)[0])
    with pytest.raises(ValueError, match="layer index 2"):
        prune_like_merge(model, {2: []})
    with pytest.raises(ValueError, match="drops 12 neurons"):
        prune_like_merge(model, {1: [(0, 1, 1.0)] * 12})
