"""Gradient-based search (穿越搜索): gradient descent on the hyperparameters themselves.

The source material describes it as "compute the gradient of the model and update the
parameters along it". For *hyperparameters* that needs the gradient of the objective with
respect to them, a *hypergradient*: the objective must be differentiable (see
``amsearch_lab.hypergrad``, which differentiates a validation loss through an unrolled training
run). A black-box objective has no such gradient, and this strategy refuses it.

Each trial is one gradient step in the unit cube of the space, where a ``log=True`` Float is
``u = (log v - log low) / (log high - log low)``, so the step is taken in log space:

.. math::

    g_u = \\frac{\\partial f}{\\partial v}\\,\\frac{\\partial v}{\\partial u}, \\qquad
    \\frac{\\partial v}{\\partial u} = v\\,(\\log high - \\log low) \\text{ (log) or } high - low,

    u_{next} = \\mathrm{clip}\\Big(u_{best} - \\eta\\, \\frac{g_u}{\\lVert g_u \\rVert}, 0, 1\\Big).

The step has length :math:`\\eta` whatever the scale of the objective (normalised gradient
descent: a validation MSE of 0.01 and a cross-entropy of 1 get the same behaviour). Only the
direction :math:`g_u / \\lVert g_u \\rVert` is used, so :math:`g_u` is kept as
:math:`2^{-k} g_u`, its largest entry in [0.5, 1): a power of two scales exactly, so the step is
unchanged, and a gradient of 1e307 (whose square overflows) or 1e-320 (whose square is 0) points
the same way as one of 1. A step
that improves on the best point grows :math:`\\eta` by ``grow``; one that does not, or fails,
halves it (backtracking), and the next step starts again from the best point.

Each step needs the result of the last one, so in a parallel search ``ask()`` raises
``fidelity.WaitForTrials`` while a trial is running: gradient search does not parallelise.
"""

from __future__ import annotations

import math

import numpy as np

from ..fidelity import WaitForTrials
from ..space import Float
from .base import Strategy, check_start, is_real


class GradientSearch(Strategy):
    """Hypergradient descent, one step per trial (see the module).

    The objective must return its gradient with its value, ``(value, {"grad": {name:
    dvalue/dparam}})`` (a ``HypergradTask`` does): ``search()`` stores the extras in
    ``Trial.info`` and ``tell`` reads the gradient from there, so the strategy never calls the
    objective, and a resumed search replays the stored gradients instead of training again.

    lr         first step length eta in unit-cube coordinates
    grow       factor on eta after an improving step (at most ``max_lr``, default ``max(0.5, lr)``);
               a failed one halves it
    start      first point; default: a random point of the space
    """

    blackbox = False  # needs the objective's gradient: not part of the black-box contract tests and bench

    def __init__(self, space, seed=None, minimize=True, lr=0.1, grow=1.5, max_lr=None, start=None):
        super().__init__(space, seed=seed, minimize=minimize)
        for name, dim in space.dimensions.items():
            if not isinstance(dim, Float) or dim.step is not None:
                raise ValueError(f"GradientSearch: parameter '{name}' is {dim!r}; a gradient needs a continuous Float")
        if not (is_real(lr) and lr > 0):
            raise ValueError(f"GradientSearch: lr={lr!r} must be > 0")
        if not (is_real(grow) and grow >= 1):
            raise ValueError(f"GradientSearch: grow={grow!r} must be >= 1")
        if max_lr is None:  # a default never conflicts with a step the user chose
            max_lr = max(0.5, lr)
        if not (is_real(max_lr) and max_lr >= lr):
            raise ValueError(f"GradientSearch: max_lr={max_lr!r} must be >= lr={lr!r}")
        if start is not None:
            check_start("GradientSearch", space, start)
        self.start = start
        self.lr, self.grow, self.max_lr = float(lr), float(grow), float(max_lr)
        # learned state
        self.lr_ = self.lr
        self.best_loss_ = math.inf
        self.best_u_ = None  # unit-cube position of the best point so far
        self.grad_u_ = None  # 2**-k * d loss / d u at the best point (see _grad_u)
        self.n_asked_ = 0

    def ask(self) -> dict:
        if self.n_asked_ > len(self.trials_):  # a parallel search: each step needs the last result
            raise WaitForTrials("GradientSearch: each step starts from the last result, which is still running")
        self.n_asked_ += 1
        if self.best_u_ is None:  # nothing has succeeded yet: the start, then random points
            if not self.trials_ and self.start is not None:
                return dict(self.start)
            return self.space.sample(self.rng)
        if not np.any(self.grad_u_) or np.isnan(self.grad_u_).any():
            # a stationary point, or a gradient with no direction: nothing to follow, look elsewhere
            return self.space.sample(self.rng)
        norm = np.linalg.norm(self.grad_u_)  # in [0.5, sqrt(n)]: grad_u_ is scaled (see _grad_u)
        return self.space.decode(np.clip(self.best_u_ - self.lr_ * self.grad_u_ / norm, 0.0, 1.0))

    def tell(self, trial) -> None:
        grads = trial.info.get("grad") if isinstance(trial.info, dict) else None
        if trial.status == "ok" and not (isinstance(grads, dict) and set(self.space.names) <= set(grads)):
            raise ValueError(
                f"GradientSearch: trial {trial.number} came back without a gradient (its info is {trial.info!r}). "
                "The objective must return (value, {'grad': {name: dvalue/dparam}}), as the tasks of "
                "amsearch_lab.hypergrad do; for a black-box objective use random, grid, greedy, bayes or genetic.")
        super().tell(trial)
        loss = self.loss(trial)
        if loss < self.best_loss_:
            # 1. an improvement: step from here next, a little further
            if self.best_u_ is not None:
                self.lr_ = min(self.lr_ * self.grow, self.max_lr)
            self.best_loss_, self.best_u_ = loss, self.space.encode(trial.params)
            self.grad_u_ = self._grad_u(trial.params, grads)
        elif self.best_u_ is not None:
            # 2. overshoot or failure: a shorter step from the best point
            self.lr_ *= 0.5

    def _grad_u(self, params: dict, grads: dict) -> np.ndarray:
        """Chain rule from ``d value / d v`` (the objective's) to ``g_u = d loss / d u`` (the unit
        cube's), returned as ``2**-k * g_u`` with its largest entry in [0.5, 1).

        Each factor is split as ``m * 2**e`` (``math.frexp``) and the mantissas are multiplied
        in the order of the plain formula, so on ordinary gradients the result is the plain
        ``g_u`` times an exact power of two; a gradient of 1e307 times a range of 100 does not
        overflow, and one of 1e-320 keeps all its bits. An infinite entry gives its limit
        direction (its sign on those entries, 0 elsewhere); a NaN entry gives NaN (no direction).
        """
        sign = 1.0 if self.minimize else -1.0
        mantissas, exponents = [], []
        for name, dim in self.space.dimensions.items():
            v = params[name]
            if dim.log:  # dv/du = v (log high - log low)
                dv_du = _times(math.frexp(v), math.frexp(math.log(dim.high) - math.log(dim.low)))
            else:  # dv/du = high - low, halved when it is wider than the largest float
                span = dim.high - dim.low
                if math.isfinite(span):
                    dv_du = math.frexp(span)
                else:
                    m, e = math.frexp(dim.high / 2 - dim.low / 2)
                    dv_du = m, e + 1
            m, e = _times(math.frexp(sign * grads[name]), dv_du)
            mantissas.append(m)
            exponents.append(e)
        m = np.array(mantissas)
        if np.isinf(m).any():
            return np.where(np.isinf(m), np.sign(m), 0.0)
        top = max((e for mi, e in zip(mantissas, exponents) if mi != 0), default=0)
        return np.array([math.ldexp(mi, e - top) for mi, e in zip(mantissas, exponents)])


def _times(a: tuple, b: tuple) -> tuple:
    """Product of ``a = (m_a, e_a)`` and ``b`` meaning ``m * 2**e``, as ``(m, e)`` with m in [0.5, 1)."""
    m, e = math.frexp(a[0] * b[0])
    return m, a[1] + b[1] + e
