"""Measures: counts and bytes equal hand counts for float, masked, quantized and split models."""

import pytest
import torch

from amsearch_lab.compress import (
    accuracy,
    apply_masks,
    count_nonzero,
    count_params,
    global_magnitude_prune,
    latency,
    magnitude_mask,
    prunable_weights,
    quantize_model,
    stored_bytes,
    summary,
)
from amsearch_lab.models import lenet_300_100, mlp

LENET_PARAMS = 784 * 300 + 300 + 300 * 100 + 100 + 100 * 10 + 10  # 266,610


def test_counts_and_bytes_of_a_float_model():
    model = lenet_300_100(seed=0)
    assert count_params(model) == LENET_PARAMS == sum(p.numel() for p in model.parameters())
    assert count_nonzero(model) == LENET_PARAMS
    assert stored_bytes(model) == 4 * LENET_PARAMS


def test_masked_model_counts_zeros_and_sparse_bytes():
    model, _ = global_magnitude_prune(lenet_300_100(seed=0), 0.9)
    n_weights = LENET_PARAMS - 410
    assert count_params(model) == LENET_PARAMS
    assert count_nonzero(model) == n_weights - round(0.9 * n_weights) + 410
    assert stored_bytes(model) == 4 * LENET_PARAMS
    # layer-wise 90 %: CSR costs 4 + 4 bytes per non-zero plus int32 row pointers; biases stay dense
    model = lenet_300_100(seed=0)
    apply_masks(model, {k: magnitude_mask(w, 0.9) for k, w in prunable_weights(model).items()})
    shapes = [(300, 784), (100, 300), (10, 100)]
    expected = sum(8 * (r * c - round(0.9 * r * c)) + 4 * (r + 1) + 4 * r for r, c in shapes)
    assert stored_bytes(model, sparse=True) == expected


def test_quantized_model_bytes():
    model, x = mlp((20, 10, 5), seed=0), torch.rand(16, 20)
    q, _ = quantize_model(model, x, bits=4, act_bits=8, per_channel=True)
    n_w, n_b, n_out = 20 * 10 + 10 * 5, 15, 15
    # int8 weights + float32 biases + per-channel float32 scales and int32 zero points + input scale/zero point
    assert stored_bytes(q) == n_w + 4 * n_b + 8 * n_out + 2 * (4 + 4)
    assert stored_bytes(q, packed=True) == (200 + 1) // 2 + (50 + 1) // 2 + 4 * n_b + 8 * n_out + 16
    assert count_params(q) == count_params(model) == n_w + n_b


def test_accuracy_latency_and_summary():
    model = mlp((4, 3), seed=0)
    x = torch.randn(10, 4)
    y = model(x).argmax(1)
    assert accuracy(model, x, y) == 1.0
    assert accuracy(model, x, (y + 1) % 3) == 0.0
    assert latency(model, x, warmup=1, repeats=3) > 0
    row = summary(model, x, y, x_latency=x)
    assert row["accuracy"] == 1.0 and row["params"] == 15 and row["latency_ms"] > 0
    with pytest.raises(ValueError, match="repeats=0"):
        latency(model, x, repeats=0)
