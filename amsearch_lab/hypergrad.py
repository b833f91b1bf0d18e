"""Hypergradients (超梯度): the gradient of a validation loss with respect to hyperparameters.

A training run is a function of its hyperparameters. Write ``T`` steps of gradient descent on
the training loss, with learning rate :math:`\\eta` and L2 strength :math:`\\alpha`, as

.. math::

    L_{train}(w; \\alpha) = \\ell_{train}(w) + \\tfrac{\\alpha}{2}\\,\\lVert W \\rVert^2, \\qquad
    w_{t+1} = w_t - \\eta\\,\\nabla_w L_{train}(w_t; \\alpha), \\quad t = 0, \\dots, T-1,

starting from :math:`w_0 = 0` (``W`` is the weight matrix; the bias is not penalised). Every
step is differentiable in :math:`w_t`, :math:`\\alpha` and :math:`\\eta`, so the validation loss
:math:`V(\\alpha, \\eta) = \\ell_{val}(w_T)` is too, and autograd gives
:math:`\\partial V / \\partial \\alpha` and :math:`\\partial V / \\partial \\eta` by
back-propagating through all ``T`` steps (``create_graph=True`` keeps each step's gradient in
the graph). This is the "unrolled" (reverse-mode) hypergradient of Maclaurin et al. (2015);
it costs one training run forwards and one backwards, and memory for all ``T`` iterates.

A ``HypergradTask`` is an objective ``params -> V`` with a ``value_and_grad(params)`` method,
which is what ``GradientSearch`` needs. Two tasks are built here: ridge regression on
polynomial features of the source material's ``y = x**2`` data, and softmax (logistic)
regression on iris.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch

from .space import Float, Space

__all__ = ["unrolled_gd", "HypergradTask", "regression_hypergrad_task", "iris_hypergrad_task"]


def unrolled_gd(train_loss: Callable, weights: list[torch.Tensor], lr: torch.Tensor, steps: int,
                create_graph: bool = True) -> list[torch.Tensor]:
    """``steps`` steps ``w <- w - lr * grad train_loss(w)``; returns the last iterate.

    ``train_loss(weights) -> scalar`` may depend on hyperparameter tensors; because each gradient
    is taken with ``create_graph=True``, the result is differentiable in them and in ``lr``. With
    ``create_graph=False`` each step is detached: the same iterates, without the graph of the
    whole run (what evaluating the value alone costs).
    """
    w = [x.detach().clone().requires_grad_(True) for x in weights]
    for _ in range(steps):
        grads = torch.autograd.grad(train_loss(w), w, create_graph=create_graph)
        w = [x - lr * g if create_graph else (x - lr * g).detach().requires_grad_(True) for x, g in zip(w, grads)]
    return w


@dataclass
class HypergradTask:
    """Validation loss after an unrolled training run, as a function of ``alpha`` and ``lr``.

    ``loss(w, X, y)`` is the data term (mean over examples); ``weights0`` are the starting
    weights ``[W, b]``; the training loss adds ``alpha / 2 * ||W||^2``.
    """

    name: str
    space: Space
    loss: Callable
    X_train: torch.Tensor
    y_train: torch.Tensor
    X_val: torch.Tensor
    y_val: torch.Tensor
    weights0: list
    steps: int = 50
    minimize: bool = True

    def __call__(self, params: dict) -> tuple[float, dict]:
        """The objective for ``search()``: ``(V, {"grad": {name: dV/dparam}})``, the value with its
        hypergradient as the trial's extra output (``GradientSearch`` reads it from ``Trial.info``;
        the other strategies ignore it)."""
        value, grad = self.value_and_grad(params)
        return value, {"grad": grad}

    def _train_loss(self, alpha) -> Callable:
        """The training loss ``w -> loss(w, train) + alpha / 2 * ||W||^2`` (``alpha`` a number or a tensor)."""
        return lambda w: self.loss(w, self.X_train, self.y_train) + 0.5 * alpha * (w[0] ** 2).sum()

    def value(self, params: dict) -> float:
        """``V`` alone, as a black-box strategy sees the task: the same training run without the
        graph the hypergradient needs, so it costs one training run (no backward pass through it).
        NaN when training diverged."""
        self.space.check(params)
        w_T = unrolled_gd(self._train_loss(float(params["alpha"])), self.weights0, float(params["lr"]), self.steps,
                          create_graph=False)
        with torch.no_grad():
            value = self.loss(w_T, self.X_val, self.y_val)
        return float(value) if torch.isfinite(value) else math.nan

    def value_and_grad(self, params: dict) -> tuple[float, dict]:
        """``(V, {name: dV/dparam})`` at ``params``; ``V`` is NaN (and the gradient empty) when
        training diverged."""
        self.space.check(params)
        # 1. hyperparameters as leaves of the graph (float64, so finite differences agree)
        hyper = {name: torch.tensor(float(params[name]), dtype=torch.float64, requires_grad=True)
                 for name in ("alpha", "lr")}
        # 2. unrolled training, then the validation loss of the last iterate
        w_T = unrolled_gd(self._train_loss(hyper["alpha"]), self.weights0, hyper["lr"], self.steps)
        value = self.loss(w_T, self.X_val, self.y_val)
        # 3. back-propagate through the whole run
        if not torch.isfinite(value):
            return math.nan, {}
        value.backward()
        return float(value.detach()), {name: float(h.grad) for name, h in hyper.items()}


def _mse(w, X, y):
    W, b = w
    return ((X @ W + b - y) ** 2).mean()


def _cross_entropy(w, X, y):
    W, b = w
    return torch.nn.functional.cross_entropy(X @ W + b, y)


def _f64(a) -> torch.Tensor:
    return torch.as_tensor(a, dtype=torch.float64)


def _standardize(X_train: np.ndarray, X_val: np.ndarray):
    mean, std = X_train.mean(axis=0), X_train.std(axis=0)
    return (X_train - mean) / std, (X_val - mean) / std


def regression_hypergrad_task(degree: int = 8, n_train: int = 20, n_val: int = 100, noise: float = 0.1,
                              steps: int = 50, seed: int = 0) -> HypergradTask:
    """Ridge regression on the features ``x, x^2, ..., x^degree`` (standardised) of the source
    material's data ``y = x^2 + noise``, trained by ``steps`` of full-batch gradient descent on
    ``n_train`` points; validation MSE on ``n_val`` others. Few points and a high degree make
    the L2 strength matter."""
    from .datasets import make_regression

    if not (isinstance(degree, int) and degree >= 1):
        raise ValueError(f"regression_hypergrad_task: degree={degree!r} must be a positive integer")
    X, y = make_regression(n=n_train + n_val, noise=noise, seed=seed)
    features = X ** np.arange(1, degree + 1)  # (n, degree)
    F_train, F_val = _standardize(features[:n_train], features[n_train:])
    space = Space({"alpha": Float(1e-5, 10.0, log=True), "lr": Float(1e-3, 0.2, log=True)})
    return HypergradTask("regression", space, _mse, _f64(F_train), _f64(y[:n_train]), _f64(F_val),
                         _f64(y[n_train:]), [_f64(np.zeros(degree)), _f64(0.0)], steps)


def iris_hypergrad_task(n_train: int = 60, steps: int = 50, seed: int = 0) -> HypergradTask:
    """Softmax (multinomial logistic) regression on iris's 4 standardised measurements, trained
    by ``steps`` of full-batch gradient descent on ``n_train`` flowers (a stratified random
    split); validation cross-entropy on the rest."""
    from sklearn.model_selection import train_test_split

    from .datasets import load_iris

    X, y = load_iris()
    X_tr, X_va, y_tr, y_va = train_test_split(X, y, train_size=n_train, stratify=y, random_state=seed)
    X_tr, X_va = _standardize(X_tr, X_va)
    space = Space({"alpha": Float(1e-4, 10.0, log=True), "lr": Float(1e-2, 5.0, log=True)})
    return HypergradTask("iris", space, _cross_entropy, _f64(X_tr), torch.as_tensor(y_tr), _f64(X_va),
                         torch.as_tensor(y_va), [_f64(np.zeros((4, 3))), _f64(np.zeros(3))], steps)
