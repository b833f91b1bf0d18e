"""The source material's regression: a linear model :math:`\\hat y = X w + b` fitted by gradient descent.

Notation: ``X`` (n, d) inputs, ``y`` (n,) targets, ``w`` (d,) weights, ``b`` (1,) bias,
residual :math:`r = X w + b - y` (n,). The loss has the factor :math:`\\tfrac12`:

.. math::

    L(w, b) = \\tfrac12 \\cdot \\tfrac1n \\sum_i r_i^2, \\qquad
    \\frac{\\partial L}{\\partial w} = \\tfrac1n X^\\top r, \\qquad
    \\frac{\\partial L}{\\partial b} = \\tfrac1n \\sum_i r_i

(The source's ``evaluate`` is the plain mean squared error :math:`\\tfrac1n\\sum r_i^2 = 2L`,
whose gradients are twice these. Its gradient formulas are wrong: ``mean(X * (X*w - y))`` leaves
``b`` out of the residual, and ``mean(X * (w - y))`` for ``b`` multiplies by ``X`` and puts ``w``
where the prediction belongs.)
"""

from __future__ import annotations

import numbers

import numpy as np

from .train import DivergenceError

__all__ = ["predict", "half_mse", "half_mse_gradients", "descend"]


def predict(X: np.ndarray, w: np.ndarray, b: np.ndarray) -> np.ndarray:
    """:math:`\\hat y = X w + b`, shape (n,)."""
    return X @ w + b


def half_mse(X: np.ndarray, y: np.ndarray, w: np.ndarray, b: np.ndarray) -> float:
    """:math:`L = \\tfrac12 \\,\\mathrm{mean}(r^2)` with :math:`r = X w + b - y`."""
    r = predict(X, w, b) - y  # (n,)
    return 0.5 * float(np.mean(r ** 2))


def half_mse_gradients(X: np.ndarray, y: np.ndarray, w: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """:math:`(\\partial L/\\partial w, \\partial L/\\partial b) = (X^\\top r / n, \\mathrm{mean}(r))`, shapes (d,), (1,)."""
    r = predict(X, w, b) - y  # (n,)
    return X.T @ r / len(y), np.array([r.mean()])


def descend(X: np.ndarray, y: np.ndarray, w: np.ndarray, b: np.ndarray, optimizer, iterations: int,
            batch_size: int | None = None, seed: int = 0, tol: float | None = None,
            gradients=half_mse_gradients) -> dict:
    """Run ``iterations`` steps of ``optimizer`` (built on ``[w, b]``, which it updates in place).

    Each step uses the gradient of the whole set (``batch_size=None``: gradient descent) or of
    ``batch_size`` examples drawn without replacement (SGD, from ``np.random.default_rng(seed)``).
    Stops early once the full-set loss is below ``tol``; a NaN/inf loss raises ``DivergenceError``.
    ``gradients(X, y, w, b)`` computes the step's gradients (the lesson passes the source
    material's wrong formula here to show where it leads). Returns the trajectory
    ``{"w": (k+1, d), "b": (k+1,), "loss": (k+1,)}``, the starting point included.
    """
    if not (isinstance(iterations, numbers.Integral) and iterations >= 0):
        raise ValueError(f"descend: iterations={iterations!r} must be an integer >= 0")
    if batch_size is not None and not (isinstance(batch_size, numbers.Integral) and 1 <= batch_size <= len(y)):
        raise ValueError(f"descend: batch_size={batch_size!r} must be None or an integer in [1, {len(y)}]")
    if not (optimizer.params[0] is w and optimizer.params[1] is b):
        raise ValueError("descend: optimizer must be built on [w, b] (the same arrays, in this order)")
    rng = np.random.default_rng(seed)
    ws, bs, losses = [w.copy()], [float(b[0])], [half_mse(X, y, w, b)]
    for _ in range(iterations):
        if tol is not None and losses[-1] < tol:
            break
        with np.errstate(over="ignore", invalid="ignore"):  # a divergence is reported in step 4
            # 1. the examples of this step
            idx = slice(None) if batch_size is None else rng.choice(len(y), size=batch_size, replace=False)
            # 2. the gradient on them, and the update
            optimizer.step(gradients(X[idx], y[idx], w, b))
            # 3. record where we are (the loss on the whole set)
            ws.append(w.copy())
            bs.append(float(b[0]))
            losses.append(half_mse(X, y, w, b))
        # 4. stop a diverging run with a clear message
        if not np.isfinite(losses[-1]):
            raise DivergenceError(f"descend: the loss became {losses[-1]} at step {len(losses) - 1} "
                                  f"(lr={optimizer.lr:g}); the run diverged: try a smaller lr")
    return {"w": np.array(ws), "b": np.array(bs), "loss": np.array(losses)}
