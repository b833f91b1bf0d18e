"""Low-rank splitting: exact at full rank; the rank-r product is numpy's truncated SVD, its error the
Eckart-Young bound, and no other rank-r matrix tried comes closer; energy rule."""

import math

import numpy as np
import pytest
import torch
from torch import nn

from amsearch_lab.compress import count_params, energy, rank_for_energy, split_linear, split_model, svd_factors
from amsearch_lab.models import mlp


def test_full_rank_split_leaves_outputs_unchanged():
    layer = nn.Linear(30, 20)
    split = split_linear(layer, rank=20)
    assert [type(m) for m in split] == [nn.Linear, nn.Linear] and split[0].bias is None
    x = torch.randn(50, 30)
    torch.testing.assert_close(split(x), layer(x), atol=1e-5, rtol=1e-5)
    model = mlp((16, 12, 6, 3), seed=0)
    split, ranks = split_model(model, energy_fraction=1.0, only_if_smaller=False)
    assert ranks == {"1": 12, "3": 6, "5": 3}  # full rank min(m, n) of each layer
    torch.testing.assert_close(split(x[:, :16]), model(x[:, :16]), atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("rank", [1, 4, 9])
def test_rank_r_error_is_the_eckart_young_bound(rank):
    w = torch.randn(15, 12, generator=torch.Generator().manual_seed(rank))
    a, b = svd_factors(w, rank)
    assert a.shape == (rank, 12) and b.shape == (15, rank)
    s = np.linalg.svd(w.numpy(), compute_uv=False)
    assert float(torch.linalg.norm(w - b @ a)) == pytest.approx(np.sqrt((s[rank:] ** 2).sum()), rel=1e-4)


def test_the_product_is_numpys_truncated_svd_and_no_other_rank_r_matrix_is_closer():
    g = torch.Generator().manual_seed(0)
    w, r = torch.randn(20, 14, generator=g, dtype=torch.float64), 5
    a, b = svd_factors(w, r)
    u, s, vt = np.linalg.svd(w.numpy(), full_matrices=False)
    np.testing.assert_allclose((b @ a).numpy(), (u[:, :r] * s[:r]) @ vt[:r], atol=1e-12)
    best = float(torch.linalg.norm(w - b @ a))
    for _ in range(200):  # random rank-r competitors: projections W Q Q^T and perturbed optimal factors
        q, _ = torch.linalg.qr(torch.randn(14, r, generator=g, dtype=torch.float64))
        assert float(torch.linalg.norm(w - w @ q @ q.T)) > best
        noisy = (b + 0.01 * torch.randn(b.shape, generator=g, dtype=torch.float64)) @ a
        assert float(torch.linalg.norm(w - noisy)) > best


def test_rank_for_energy_matches_numpy():
    s = torch.tensor([4.0, 2.0, 1.0, 1.0])
    e = np.cumsum(s.numpy() ** 2) / (s.numpy() ** 2).sum()  # 16/22, 20/22, 21/22, 1
    np.testing.assert_allclose(energy(s).numpy(), e)
    assert [rank_for_energy(s, f) for f in (0.5, 16 / 22, 0.9, 0.95, 1.0)] == [1, 1, 2, 3, 4]
    with pytest.raises(ValueError, match="fraction=0"):
        rank_for_energy(s, 0)


def test_split_model_counts_and_only_if_smaller():
    model = mlp((784, 300, 100, 10), seed=0)
    split, ranks = split_model(model, rank=20)
    # 784x300 and 300x100 shrink at rank 20; 100x10 would grow (20 * 110 > 1000) and stays whole
    assert ranks == {"1": 20, "3": 20}
    assert count_params(split) == (784 * 20 + 20 * 300 + 300) + (300 * 20 + 20 * 100 + 100) + (100 * 10 + 10)
    assert isinstance(split[5], nn.Linear) and isinstance(split[1], nn.Sequential)
    with pytest.raises(ValueError, match="exactly one"):
        split_linear(nn.Linear(3, 3))
    with pytest.raises(ValueError, match="rank=0"):
        svd_factors(torch.ones(3, 3), 0)


def test_a_zero_matrix_keeps_all_its_energy_at_rank_one():
    """Before: 0/0 = NaN energies, searchsorted past the end, and a silent full rank."""
    np.testing.assert_array_equal(energy(torch.zeros(4)).numpy(), np.ones(4))
    assert [rank_for_energy(torch.zeros(4), f) for f in (0.1, 0.9, 1.0)] == [1, 1, 1]
    layer = nn.Linear(6, 5)
    with torch.no_grad():
        layer.weight.zero_()
    split = split_linear(layer, energy_fraction=0.9)
    assert split[0].out_features == 1
    x = torch.randn(3, 6)
    torch.testing.assert_close(split(x), layer(x))
    with pytest.raises(ValueError, match="singular_values is empty"):
        energy(torch.zeros(0))


@pytest.mark.parametrize("scale", [1e200, 1e-200, 2.0 ** 1000, 2.0 ** -1060])
def test_energy_does_not_depend_on_the_scale(scale):
    """sigma^2 overflowed to inf at 1e200 and underflowed to 0 at 1e-200 (NaN energies)."""
    s = torch.tensor([4.0, 2.0, 1.0, 1.0], dtype=torch.float64)
    got, expected = energy(s * scale), energy(s)
    if math.log2(scale).is_integer():  # a power of two scales exactly: the very same floats
        assert torch.equal(got, expected)
    np.testing.assert_allclose(got.numpy(), expected.numpy(), rtol=1e-14)
    assert [rank_for_energy(s * scale, f) for f in (0.5, 0.9, 0.95, 1.0)] == [1, 2, 3, 4]


def test_float32_weights_near_the_largest_float_split_like_ordinary_ones():
    layer = nn.Linear(12, 10)
    big = nn.Linear(12, 10)
    with torch.no_grad():
        big.weight.copy_(layer.weight / layer.weight.abs().max() * 3e38)
    assert torch.isfinite(big.weight).all()
    for fraction in (0.5, 0.9, 0.99):
        assert split_linear(big, energy_fraction=fraction)[0].out_features == \
            split_linear(layer, energy_fraction=fraction)[0].out_features
    split = split_linear(big, rank=10)
    x = torch.randn(4, 12) * 1e-3
    torch.testing.assert_close(split(x) / 1e38, big(x) / 1e38, rtol=1e-4, atol=1e-6)
