"""Fine-tuning after a cut: a few epochs of SGD with momentum and a cosine-decaying learning rate.

Removing weights, merging neurons or rounding them moves the network away from the minimum it
was trained to; a short retraining lets the remaining weights make up for it. Masks and QAT
fake-quantizers are parametrizations, so this ordinary loop (``amsearch_lab.optim.fit``)
respects them without knowing they are there.
"""

from __future__ import annotations

import math

from torch import nn

from ..optim import SGD, CosineDecay, fit

__all__ = ["fine_tune"]


def fine_tune(model: nn.Module, data, epochs: int = 2, lr: float = 0.01, momentum: float = 0.9,
              batch_size: int = 128, seed: int = 0, device=None):
    """Train ``model`` on ``data`` (``load_mnist()`` or ``(x_train, y_train, x_val, y_val)``) for
    ``epochs`` epochs, the learning rate decaying from ``lr`` to 0 along a cosine, step by step.
    Returns ``fit``'s ``FitResult``."""
    n_train = len(data.x_train if hasattr(data, "x_train") else data[0])
    steps = epochs * math.ceil(n_train / batch_size)
    return fit(model, data, SGD(model.parameters(), lr, momentum=momentum), schedule=CosineDecay(lr, steps),
               epochs=epochs, batch_size=batch_size, progress=False, seed=seed, device=device, schedule_per="step")
