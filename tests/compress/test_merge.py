"""Merging: identical or positively scaled neurons merge exactly; similarity equals scikit-learn's."""

import numpy as np
import pytest
import torch
from sklearn.metrics.pairwise import cosine_similarity

from amsearch_lab.compress import merge, merge_neurons, merge_pairs, similarity
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
