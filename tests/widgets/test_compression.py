"""The compression playgrounds on a small trained LeNet-300-100.

Oracles: pruning removes exactly the smallest weights; quantization errors stay within half a
step; the low-rank parameter count matches the formula r (n + m) + m.
"""

import pytest
import torch

from amsearch_lab import widgets


@pytest.fixture(scope="module")
def trained():
    return widgets.mnist_base_model(epochs=3, limit=2000, seed=0)


def test_base_model_is_shared_and_copied(trained):
    model, data = trained
    again, data_again = widgets.mnist_base_model(epochs=3, limit=2000, seed=0)
    assert again is not model and data_again is data
    assert all(torch.equal(a, b) for a, b in zip(model.parameters(), again.parameters()))
    with pytest.raises(ValueError, match="data=None"):
        widgets.PruningPlayground(model=model)


def test_pruning_removes_exactly_the_smallest_weights(trained):
    model, data = trained
    playground = widgets.PruningPlayground(model, data, sparsity=0.0)
    assert playground.accuracy == playground.base_accuracy
    playground.sparsity.value = 0.5
    weights = torch.cat([p.detach().abs().flatten() for name, p in model.named_parameters() if name.endswith("weight")])
    kept = torch.cat([m.flatten() for m in playground.masks.values()]).bool()
    assert int((~kept).sum()) == round(0.5 * len(weights))
    assert weights[kept].min() >= weights[~kept].max()
    playground.sparsity.value = 0.9
    magnitude = playground.accuracy
    playground.method.value = "random"
    assert playground.accuracy < magnitude - 0.1  # importance matters
    assert len(playground.table) == 4 and set(playground.table["method"]) == {"magnitude", "random"}


def test_quantization_error_is_within_half_a_step(trained):
    model, data = trained
    playground = widgets.QuantizationPlayground(model, data, bits=2)
    errors = {}
    for bits in (2, 3, 4, 8):
        playground.bits.value = bits
        errors[bits] = playground.error
        w, w_q = playground.weight, playground.weight_q
        scale = w.abs().amax(dim=1) / (2 ** (bits - 1) - 1)  # symmetric, one scale per output row
        assert torch.all((w - w_q).abs() <= scale[:, None] / 2 + 1e-7)
        assert max(len(torch.unique(row)) for row in w_q) <= 2**bits - 1
    assert errors[2] > errors[3] > errors[4] > errors[8]
    assert abs(playground.accuracy - playground.base_accuracy) < 0.01  # 8 bits barely matter
    assert len(playground.table) == 4


def test_low_rank_parameter_count_matches_the_formula(trained):
    model, data = trained
    playground = widgets.LowRankPlayground(model, data, rank=1)
    assert playground.rank.max == 300
    low = playground.accuracy
    for r in (5, 60):
        playground.rank.value = r
        # a layer m x n is split only when r (n + m) + m < n m + m (rank capped at min(m, n))
        expected = min(r * 1084 + 300, 235500) + min(r * 400 + 100, 30100) + min(min(r, 10) * 110 + 10, 1010)
        assert playground.params == expected
    assert playground.accuracy > low
    assert list(playground.table["rank"]) == [1, 5, 60]

