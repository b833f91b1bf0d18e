"""Gradient descent (梯度下降), SGD (随机梯度下降), momentum (动量法) and Nesterov momentum.

One update rule covers all four; they differ only in ``momentum``, ``nesterov`` and in which
examples the training loop averages the gradient over (all of them: gradient descent; a
random mini-batch: SGD). For each parameter :math:`\\theta` with gradient :math:`g`, learning
rate :math:`\\eta`, momentum :math:`\\mu` and weight decay :math:`\\lambda`:

.. math::

    g \\leftarrow g + \\lambda\\,\\theta                      \\quad\\text{(weight decay)}

    v \\leftarrow \\mu\\,v + g                                 \\quad\\text{(velocity, } v_0 = 0)

    d = g + \\mu\\,v \\text{ if Nesterov else } v

    \\theta \\leftarrow \\theta - \\eta\\,d

With :math:`\\mu = 0` this is plain :math:`\\theta \\leftarrow \\theta - \\eta\\,g`. These are
exactly the formulas of ``torch.optim.SGD`` with ``dampening=0`` (tests compare step for step).
"""

from __future__ import annotations

import numbers

import numpy as np
import torch

__all__ = ["SGD", "GD"]


class SGD:
    """Update ``params`` in place by the rule in the module docstring.

    ``params`` is a list of torch tensors (``requires_grad``; their ``.grad`` is used, like
    ``torch.optim``) or of numpy arrays (then ``step(grads)`` must be given the gradients).
    ``lr`` is a plain attribute: a schedule (or you) may set it between steps.
    """

    def __init__(self, params, lr: float, momentum: float = 0.0, nesterov: bool = False,
                 weight_decay: float = 0.0):
        self.params = list(params)
        if not self.params:
            raise ValueError("SGD: params is empty; pass the model's parameters, e.g. model.parameters()")
        for i, p in enumerate(self.params):
            if not isinstance(p, (torch.Tensor, np.ndarray)):
                raise ValueError(f"SGD: params[{i}] is a {type(p).__name__}; expected a torch tensor or numpy array")
        if not (isinstance(momentum, numbers.Real) and 0.0 <= momentum < 1.0):
            raise ValueError(f"SGD: momentum={momentum!r} must be in [0, 1)")
        if not (isinstance(weight_decay, numbers.Real) and weight_decay >= 0.0):
            raise ValueError(f"SGD: weight_decay={weight_decay!r} must be >= 0")
        if nesterov and momentum == 0.0:
            raise ValueError(f"SGD: nesterov=True needs momentum > 0, got momentum={momentum!r}")
        self.lr = lr
        self.momentum = float(momentum)
        self.nesterov = bool(nesterov)
        self.weight_decay = float(weight_decay)
        self.velocity = [None] * len(self.params)  # v for each parameter, created at its first step

    @property
    def lr(self) -> float:
        return self._lr

    @lr.setter
    def lr(self, value: float) -> None:
        if not (isinstance(value, numbers.Real) and value >= 0.0 and np.isfinite(value)):
            raise ValueError(f"SGD: lr={value!r} must be a finite number >= 0")
        self._lr = float(value)

    def zero_grad(self) -> None:
        """Forget the torch gradients (``.grad = None``, as ``torch.optim`` does by default)."""
        for p in self.params:
            if isinstance(p, torch.Tensor):
                p.grad = None

    @torch.no_grad()
    def step(self, grads=None) -> None:
        """One update of every parameter. ``grads`` (same order as ``params``) overrides ``.grad``;
        a torch parameter whose gradient is ``None`` is skipped, as in ``torch.optim``."""
        if grads is None:
            grads = [getattr(p, "grad", None) for p in self.params]
        grads = list(grads)
        if len(grads) != len(self.params):
            raise ValueError(f"SGD.step: got {len(grads)} gradients for {len(self.params)} params")
        eta, mu, lam = self.lr, self.momentum, self.weight_decay
        for i, (theta, g) in enumerate(zip(self.params, grads)):
            if g is None:
                continue
            # 1. weight decay: the gradient of (lambda / 2) * ||theta||^2 is added to g
            if lam != 0.0:
                g = g + lam * theta
            # 2. momentum: v <- mu v + g, and the direction d
            if mu != 0.0:
                if self.velocity[i] is None:
                    self.velocity[i] = g * 0  # v_0 = 0 (same type, dtype and device as g)
                v = self.velocity[i]
                v *= mu
                v += g
                d = g + mu * v if self.nesterov else v
            else:
                d = g
            # 3. the step: theta <- theta - eta d (in place, so the model sees it)
            theta -= eta * d


# Full-batch gradient descent is the same update; the loop feeds it the gradient of the whole
# training set instead of a mini-batch's.
GD = SGD
