"""Small torch models the lessons train on MNIST."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

__all__ = ["mlp", "lenet_300_100", "small_cnn"]


def mlp(sizes: Sequence[int] = (784, 300, 100, 10), activation: type[nn.Module] = nn.ReLU, seed: int | None = None) -> nn.Sequential:
    """A multilayer perceptron ``Flatten -> Linear -> act -> ... -> Linear`` (logits out).

    ``sizes`` lists the layer widths from input to output; ``seed`` fixes the initial weights.
    """
    sizes = list(sizes)
    if len(sizes) < 2 or any(not isinstance(s, int) or s < 1 for s in sizes):
        raise ValueError(f"mlp: sizes={sizes!r} must be at least two positive integers")
    if seed is not None:
        torch.manual_seed(seed)
    layers: list[nn.Module] = [nn.Flatten()]
    for i, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:])):
        layers.append(nn.Linear(n_in, n_out))
        if i < len(sizes) - 2:
            layers.append(activation())
    return nn.Sequential(*layers)


def lenet_300_100(seed: int | None = None) -> nn.Sequential:
    """LeNet-300-100 (LeCun et al. 1998; the model of Han et al. 2015's pruning study)."""
    return mlp((784, 300, 100, 10), seed=seed)


def small_cnn(channels: Sequence[int] = (16, 32), hidden: int = 64, seed: int | None = None) -> nn.Sequential:
    """Two 3x3 conv + ReLU + 2x2 max-pool blocks, then a hidden Linear layer and 10 logits."""
    if seed is not None:
        torch.manual_seed(seed)
    c1, c2 = channels
    return nn.Sequential(
        nn.Conv2d(1, c1, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),   # (n, c1, 14, 14)
        nn.Conv2d(c1, c2, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),  # (n, c2, 7, 7)
        nn.Flatten(), nn.Linear(c2 * 7 * 7, hidden), nn.ReLU(), nn.Linear(hidden, 10),
    )
