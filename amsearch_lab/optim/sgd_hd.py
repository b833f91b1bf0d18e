"""SGD with hypergradient descent on the learning rate (SGD-HD; Baydin et al., 2018,
"Online Learning Rate Adaptation with Hypergradient Descent").

Plain SGD takes :math:`\\theta_t = \\theta_{t-1} - \\alpha\\,\\nabla f(\\theta_{t-1})`. Seen as a
function of the learning rate, the next loss has the derivative (the *hypergradient*)

.. math::

    \\frac{\\partial f(\\theta_t)}{\\partial \\alpha}
    = \\nabla f(\\theta_t) \\cdot \\frac{\\partial \\theta_t}{\\partial \\alpha}
    = -\\nabla f(\\theta_t) \\cdot \\nabla f(\\theta_{t-1}),

which costs one dot product of two gradients that SGD computes anyway. SGD-HD takes a gradient
step on :math:`\\alpha` with its own step size :math:`\\beta` before each parameter step:

.. math::

    h_t = g_t \\cdot g_{t-1}, \\qquad
    \\alpha_t = \\alpha_{t-1} + \\beta\\, h_t, \\qquad
    \\theta_t = \\theta_{t-1} - \\alpha_t\\, g_t,

with :math:`g_t = \\nabla f(\\theta_{t-1})` the (mini-batch) gradient of this step and
:math:`h_1 = 0`. When consecutive gradients agree (:math:`h_t > 0`) the steps are too short and
:math:`\\alpha` grows; when they point against each other the steps overshoot and it shrinks.
So a badly chosen :math:`\\alpha_0` is corrected during training. :math:`\\alpha` is kept
:math:`\\ge 0` (the paper does not need this in practice; a negative rate would ascend).
"""

from __future__ import annotations

import numbers

import numpy as np
import torch

from .sgd import SGD

__all__ = ["SGDHD"]


class SGDHD(SGD):
    """SGD whose ``lr`` follows its hypergradient (see the module): ``lr += beta * g_t . g_{t-1}``.

    ``weight_decay`` adds ``weight_decay * theta`` to each gradient first, so that ``g_t`` is the
    gradient of the regularised loss in both the hypergradient and the step. ``lr_history`` holds
    the learning rate used at every step.
    """

    def __init__(self, params, lr: float, beta: float = 1e-4, weight_decay: float = 0.0):
        super().__init__(params, lr=lr)
        if not (isinstance(beta, numbers.Real) and beta >= 0 and np.isfinite(beta)):
            raise ValueError(f"SGDHD: beta={beta!r} must be a finite number >= 0")
        if not (isinstance(weight_decay, numbers.Real) and weight_decay >= 0.0):
            raise ValueError(f"SGDHD: weight_decay={weight_decay!r} must be >= 0")
        self.beta, self.decay = float(beta), float(weight_decay)
        self.previous = None  # g_{t-1}, one array per parameter
        self.lr_history = []

    @torch.no_grad()
    def step(self, grads=None) -> None:
        if grads is None:
            grads = [getattr(p, "grad", None) for p in self.params]
        grads = list(grads)
        if len(grads) != len(self.params):
            raise ValueError(f"SGDHD.step: got {len(grads)} gradients for {len(self.params)} params")
        # 1. the gradient of the regularised loss, g_t
        g = [None if gi is None else (gi + self.decay * p if self.decay else gi) for p, gi in zip(self.params, grads)]
        # 2. hypergradient step on the learning rate: alpha_t = alpha_{t-1} + beta * g_t . g_{t-1}
        if self.previous is not None:
            h = sum(float((gi * gp).sum()) for gi, gp in zip(g, self.previous) if gi is not None and gp is not None)
            self.lr = max(self.lr + self.beta * h, 0.0)
        # 3. the SGD step with alpha_t
        super().step(g)
        self.previous = [None if gi is None else gi.clone() if isinstance(gi, torch.Tensor) else np.copy(gi)
                         for gi in g]
        self.lr_history.append(self.lr)
