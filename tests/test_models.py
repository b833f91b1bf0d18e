"""The lessons' models: layer order, shapes, parameter counts worked out by hand, forward passes
equal to the same layers written with ``torch.nn.functional``, and seeds that fix the weights."""

import pytest
import torch
from torch import nn
from torch.nn import functional as F

from amsearch_lab.models import lenet_300_100, mlp, small_cnn


def n_params(model):
    return sum(p.numel() for p in model.parameters())


def images(n=3, seed=0):
    return torch.rand(n, 1, 28, 28, generator=torch.Generator().manual_seed(seed))  # (n, 1, 28, 28)


def test_lenet_300_100_has_the_papers_layers_and_266_610_parameters():
    model = lenet_300_100(seed=0)
    linears = [m for m in model if isinstance(m, nn.Linear)]
    assert [(m.in_features, m.out_features) for m in linears] == [(784, 300), (300, 100), (100, 10)]
    # weights + biases: 784*300 + 300 + 300*100 + 100 + 100*10 + 10
    assert n_params(model) == 235_200 + 300 + 30_000 + 100 + 1_000 + 10 == 266_610


def test_mlp_is_flatten_then_linear_and_activation_with_logits_out():
    model = mlp((5, 4, 3, 2), activation=nn.Tanh, seed=0)
    assert [type(m) for m in model] == [nn.Flatten, nn.Linear, nn.Tanh, nn.Linear, nn.Tanh, nn.Linear]
    assert n_params(model) == (5 * 4 + 4) + (4 * 3 + 3) + (3 * 2 + 2)
    assert [type(m) for m in mlp((7, 2), seed=0)] == [nn.Flatten, nn.Linear]


def test_mlp_forward_equals_the_functional_formula():
    model = lenet_300_100(seed=1)
    x = images()
    W1, b1, W2, b2, W3, b3 = (p.detach() for p in model.parameters())
    h = x.reshape(len(x), -1)  # (n, 784)
    expected = F.linear(F.relu(F.linear(F.relu(F.linear(h, W1, b1)), W2, b2)), W3, b3)  # (n, 10)
    out = model(x)
    assert out.shape == (3, 10)
    torch.testing.assert_close(out, expected, rtol=0, atol=0)


def test_small_cnn_shapes_and_parameter_count():
    c1, c2, hidden = 16, 32, 64
    model = small_cnn((c1, c2), hidden=hidden, seed=0)
    x = images(n=5)
    assert model[:3](x).shape == (5, c1, 14, 14)
    assert model[:6](x).shape == (5, c2, 7, 7)
    assert model(x).shape == (5, 10)
    conv1, conv2 = 1 * c1 * 3 * 3 + c1, c1 * c2 * 3 * 3 + c2
    fc1, fc2 = c2 * 7 * 7 * hidden + hidden, hidden * 10 + 10
    assert (conv1, conv2, fc1, fc2) == (160, 4_640, 100_416, 650)
    assert n_params(model) == 105_866


def test_small_cnn_forward_equals_the_functional_formula():
    model = small_cnn((3, 4), hidden=6, seed=2)
    x = images()
    K1, k1, K2, k2, W1, b1, W2, b2 = (p.detach() for p in model.parameters())
    h = F.max_pool2d(F.relu(F.conv2d(x, K1, k1, padding=1)), 2)  # (n, 3, 14, 14)
    h = F.max_pool2d(F.relu(F.conv2d(h, K2, k2, padding=1)), 2)  # (n, 4, 7, 7)
    expected = F.linear(F.relu(F.linear(h.flatten(1), W1, b1)), W2, b2)
    torch.testing.assert_close(model(x), expected, rtol=0, atol=0)


@pytest.mark.parametrize("make", [lambda s: mlp((6, 5, 3), seed=s), lenet_300_100,
                                  lambda s: small_cnn((2, 3), hidden=4, seed=s)])
def test_the_seed_fixes_the_weights(make):
    a, b, c = make(0), make(0), make(1)
    for pa, pb in zip(a.parameters(), b.parameters()):
        assert torch.equal(pa, pb)
    assert any(not torch.equal(pa, pc) for pa, pc in zip(a.parameters(), c.parameters()))


@pytest.mark.parametrize("sizes", [(784,), (), (784, 0, 10), (784, 3.5, 10), (-1, 10)])
def test_bad_sizes_are_named(sizes):
    with pytest.raises(ValueError, match="sizes="):
        mlp(sizes)
