"""The trained LeNet-300-100 that the compression lessons and benchmark start from.

Training it takes a minute on a laptop CPU, and three lessons plus a benchmark need the same
one, so its weights are cached in ``runs/`` (git-ignored; never committed), keyed by everything
that changes them: seed, epochs, learning rate and the number of training images.
"""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

from ..models import lenet_300_100
from ..optim import SGD, CosineDecay, fit

__all__ = ["trained_lenet", "RUNS"]

RUNS = Path(__file__).resolve().parents[2] / "runs"


def trained_lenet(data, epochs: int = 10, seed: int = 0, lr: float = 0.05, momentum: float = 0.9,
                  cache: bool = True, device=None) -> nn.Sequential:
    """LeNet-300-100 trained on ``data`` (``load_mnist()``) with SGD + momentum and a cosine
    learning rate per epoch (the recipe of ``python -m amsearch_lab.bench train``, about 98 %
    test accuracy after 10 epochs). With ``cache`` the weights are read from / written to ``runs/``."""
    dev = data.x_train.device if device is None else torch.device(device)
    path = RUNS / f"lenet_300_100-seed{seed}-epochs{epochs}-lr{lr}-m{momentum}-n{len(data.x_train)}.pt"
    model = lenet_300_100(seed=seed).to(dev)
    if cache and path.exists():
        model.load_state_dict(torch.load(path, map_location=dev, weights_only=True))
        return model
    fit(model, data, SGD(model.parameters(), lr, momentum=momentum), schedule=CosineDecay(lr, epochs),
        epochs=epochs, progress=False, seed=seed, device=dev)
    if cache:
        RUNS.mkdir(exist_ok=True)
        torch.save(model.state_dict(), path)
    return model
