"""DARTS: differentiable architecture search by a continuous relaxation of the choice of operation.

Liu, Simonyan and Yang 2019, "DARTS: Differentiable architecture search" (ICLR); the Gumbel
variants follow SNAS (Xie et al. 2019) and GDAS (Dong and Yang 2019).

**Relaxation.** Each edge ``e`` gets architecture weights :math:`\\alpha_e \\in \\mathbb R^K` (one per
operation) and outputs the mixture

.. math:: \\bar o_e(x) = \\sum_k w_{e,k}\\, o_k(x), \\qquad
          w_e = \\operatorname{softmax}\\big((\\alpha_e + g_e)/\\tau\\big),

with :math:`g = 0, \\tau = 1` for DARTS; ``temperature`` sets :math:`\\tau` (annealed linearly from
its first to its second value over the run) and ``gumbel=True`` adds Gumbel noise
:math:`g_{e,k} = -\\log(-\\log u),\\ u \\sim U(0, 1)`, drawn afresh at every step (SNAS); ``hard=True``
then uses the one-hot argmax forward with the soft weights' gradient (straight-through, GDAS).

**Bilevel problem.** The weights :math:`W` should minimise the training loss and :math:`\\alpha`
the validation loss *of the trained weights*:

.. math:: \\min_\\alpha L_{val}(W^*(\\alpha), \\alpha) \\quad\\text{s.t.}\\quad
          W^*(\\alpha) = \\arg\\min_W L_{train}(W, \\alpha).

It is the hypergradient problem of lesson 06 with the architecture as the hyperparameter. DARTS
alternates one step of each, on a training and a validation mini-batch:

1. :math:`\\alpha \\leftarrow \\alpha - \\eta_\\alpha \\cdot \\text{Adam}(g_\\alpha)` with, at ``order=1``,
   :math:`g_\\alpha = \\nabla_\\alpha L_{val}(W, \\alpha)` (first order: :math:`W^* \\approx W`), and at
   ``order=2`` the gradient through one virtual SGD step :math:`W' = W - \\xi \\nabla_W L_{train}(W, \\alpha)`:

   .. math:: g_\\alpha = \\nabla_\\alpha L_{val}(W', \\alpha) - \\xi\\, \\frac{\\nabla_\\alpha L_{train}(W^+, \\alpha)
             - \\nabla_\\alpha L_{train}(W^-, \\alpha)}{2\\epsilon},\\quad
             W^\\pm = W \\pm \\epsilon\\, \\nabla_{W'} L_{val}(W', \\alpha),\\ \\epsilon = \\frac{0.01}{\\lVert \\nabla_{W'} L_{val} \\rVert}

   (the second term is the Hessian-vector product :math:`\\nabla^2_{\\alpha, W} L_{train}\\, \\nabla_{W'} L_{val}`
   by a central finite difference, as in the paper; :math:`\\xi` defaults to the weights' current
   learning rate). The difference is exact only for a smooth loss: on a network of ReLUs and
   max-pools the step :math:`\\pm\\epsilon` crosses kinks, and the estimate can be off by as much as
   the term itself (the tests check it on a smooth copy of the network, Softplus for ReLU);
2. :math:`W \\leftarrow W - \\eta_W \\nabla_W L_{train}(W, \\alpha)` (SGD with momentum, ``optim.SGD``).

**Derivation.** The network kept is the argmax of :math:`\\alpha_e` per edge; like DARTS, ``none`` is
left out of the argmax unless ``include_none=True`` (its weight says how much an edge matters,
not which operation it should run).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch.func import functional_call

from ..device import pick_device
from ..optim import shuffled_batches
from .cell import EDGES, CellArchitecture
from .evaluate import CELL_RECIPE, Recipe, deterministic
from .supernet import Supernet

__all__ = ["PARAMETER_FREE", "mixture_weights", "derive", "parameter_free_share", "DARTSResult", "DARTS"]

PARAMETER_FREE = ("none", "skip", "maxpool", "avgpool")  # the operations without weights


def mixture_weights(alpha: torch.Tensor, temperature: float = 1.0, noise: torch.Tensor | None = None,
                    hard: bool = False) -> torch.Tensor:
    """``softmax((alpha + noise) / temperature)`` per edge (row), shape ``(n_edges, n_ops)``; with
    ``hard`` the rows are one-hot at their argmax in the forward pass and keep the soft rows'
    gradient (straight-through). Raises ``ValueError`` for ``temperature`` <= 0."""
    if not temperature > 0:
        raise ValueError(f"mixture_weights: temperature={temperature!r} must be > 0")
    logits = alpha if noise is None else alpha + noise
    soft = torch.softmax(logits / temperature, dim=-1)
    if not hard:
        return soft
    one_hot = F.one_hot(soft.argmax(dim=-1), soft.shape[-1]).to(soft.dtype)
    return one_hot - soft.detach() + soft


def derive(alpha: torch.Tensor, ops, include_none: bool = False) -> CellArchitecture:
    """The argmax operation of each edge (row of ``alpha``, shape ``(n_edges, n_ops)``), ``none``
    excluded unless ``include_none``."""
    alpha = torch.as_tensor(alpha, dtype=torch.float64).clone()
    if not include_none and "none" in ops and len(ops) > 1:
        alpha[:, list(ops).index("none")] = -torch.inf
    return CellArchitecture(tuple(ops[int(i)] for i in alpha.argmax(dim=-1)))


def parameter_free_share(weights, ops) -> float:
    """The mean weight, over edges, of the parameter-free operations (``PARAMETER_FREE``) in
    mixture weights of shape ``(n_edges, n_ops)``: 1 means the mixture has collapsed to them."""
    weights = np.asarray(weights)
    columns = [i for i, op in enumerate(ops) if op in PARAMETER_FREE]
    return float(weights[..., columns].sum(axis=-1).mean(axis=-1))


@dataclass
class DARTSResult:
    """What ``DARTS.run`` returns.

    ``alpha``: final architecture weights ``(n_edges, n_ops)``; ``trajectory``: ``softmax(alpha)``
    before the first step and after each step, ``(steps + 1, n_edges, n_ops)``; ``derived``: the
    argmax network; ``train_loss``: the mixture's mean training loss per epoch; ``seconds``: wall time; ``epochs``.
    """

    alpha: np.ndarray
    trajectory: np.ndarray
    derived: CellArchitecture
    train_loss: list
    seconds: float
    epochs: int

    @property
    def steps_per_epoch(self) -> int:
        """Steps per epoch: ``trajectory[e * steps_per_epoch]`` is softmax(alpha) after epoch ``e``."""
        return (len(self.trajectory) - 1) // self.epochs


class DARTS:
    """Architecture weights ``alpha`` for ``supernet`` and the alternating updates of the module
    docstring. ``alpha_lr``, ``alpha_weight_decay``: Adam on :math:`\\alpha` (betas 0.5, 0.999 as
    DARTS); ``order``: 1 or 2; ``temperature``: a number or ``(start, end)``; ``gumbel``, ``hard``:
    the SNAS/GDAS variants; ``xi``: the virtual step of order 2 (None: the weights' lr);
    ``recipe``: images, batch size and SGD of the weights; ``seed``: :math:`\\alpha`'s
    initialisation (:math:`10^{-3}\\, \\mathcal N(0, 1)` as DARTS), the batches and the noise.
    Bad arguments raise ``ValueError`` here, before any training.
    """

    def __init__(self, supernet: Supernet, alpha_lr: float = 3e-3, alpha_weight_decay: float = 1e-3, order: int = 1,
                 temperature: float | tuple[float, float] = 1.0, gumbel: bool = False, hard: bool = False,
                 xi: float | None = None, include_none: bool = False, recipe: Recipe = CELL_RECIPE, seed: int = 0):
        if order not in (1, 2):
            raise ValueError(f"DARTS: order={order!r} must be 1 (first order) or 2 (second order)")
        if not alpha_lr > 0:
            raise ValueError(f"DARTS: alpha_lr={alpha_lr!r} must be > 0")
        if not alpha_weight_decay >= 0:
            raise ValueError(f"DARTS: alpha_weight_decay={alpha_weight_decay!r} must be >= 0")
        temps = (temperature, temperature) if np.isscalar(temperature) else tuple(temperature)
        if len(temps) != 2 or not all(t > 0 for t in temps):
            raise ValueError(f"DARTS: temperature={temperature!r} must be a number > 0 or (start, end) > 0")
        if hard and not gumbel:
            raise ValueError("DARTS: hard=True needs gumbel=True (GDAS samples one operation per edge)")
        if xi is not None and not xi >= 0:
            raise ValueError(f"DARTS: xi={xi!r} must be >= 0")
        self.supernet, self.order, self.temperatures = supernet, order, temps
        self.gumbel, self.hard, self.xi, self.include_none, self.recipe = gumbel, hard, xi, include_none, recipe
        generator = torch.Generator().manual_seed(seed)
        shape = (len(EDGES), len(supernet.op_names))
        self.alpha = (1e-3 * torch.randn(shape, generator=generator)).requires_grad_()  # (n_edges, n_ops)
        self.alpha_optimizer = torch.optim.Adam([self.alpha], lr=alpha_lr, betas=(0.5, 0.999),
                                                weight_decay=alpha_weight_decay)
        self.generator, self.seed = generator, seed

    # -- the relaxation -------------------------------------------------------------------------
    def temperature(self, progress: float) -> float:
        """:math:`\\tau` at ``progress`` in [0, 1] of the run (linear from start to end)."""
        start, end = self.temperatures
        return start + (end - start) * progress

    def weights(self, progress: float = 1.0, noise: torch.Tensor | None = None) -> torch.Tensor:
        """The mixture weights ``(n_edges, n_ops)`` at ``progress`` (differentiable in ``alpha``)."""
        return mixture_weights(self.alpha, self.temperature(progress), noise, self.hard)

    def sample_noise(self) -> torch.Tensor | None:
        """Gumbel noise ``(n_edges, n_ops)`` for one step, or None without ``gumbel``."""
        if not self.gumbel:
            return None
        u = torch.rand(self.alpha.shape, generator=self.generator).clamp(1e-10, 1 - 1e-10)
        return -torch.log(-torch.log(u))

    def loss(self, params: dict, x, y, weights) -> torch.Tensor:
        """Cross-entropy of the mixture network with parameters ``params`` (name -> tensor)."""
        return F.cross_entropy(functional_call(self.supernet, params, (x,), {"weights": weights}), y)

    # -- step 1: the architecture gradient -----------------------------------------------------------
    def alpha_gradient(self, train_batch, val_batch, progress: float = 1.0, noise=None, xi: float = 0.0) -> torch.Tensor:
        """:math:`g_\\alpha` of step 1 (module docstring), shape ``(n_edges, n_ops)``, for the
        mini-batches ``(x, y)``; ``xi`` is used at ``order=2`` only. Leaves no ``.grad`` behind."""
        params = dict(self.supernet.named_parameters())
        alpha, tau = self.alpha, self.temperature(progress)

        def mix():  # w(alpha), a fresh graph for each gradient taken through it
            return mixture_weights(alpha, tau, noise, self.hard)

        if self.order == 1:
            return torch.autograd.grad(self.loss(params, *val_batch, mix()), alpha)[0]
        # order 2. a virtual SGD step W' = W - xi * grad_W L_train(W, alpha)
        names = list(params)
        grads = torch.autograd.grad(self.loss(params, *train_batch, mix().detach()), [params[n] for n in names])
        virtual = {n: (params[n] - xi * g).detach().requires_grad_() for n, g in zip(names, grads)}
        # the direct term, and the validation gradient at W'
        direct, *v = torch.autograd.grad(self.loss(virtual, *val_batch, mix()), [alpha] + [virtual[n] for n in names])
        # the Hessian-vector product by a central difference around W
        eps = 0.01 / torch.sqrt(sum((g * g).sum() for g in v))
        g_pm = []
        for sign in (1.0, -1.0):
            shifted = {n: (params[n] + sign * eps * g).detach() for n, g in zip(names, v)}
            g_pm.append(torch.autograd.grad(self.loss(shifted, *train_batch, mix()), alpha)[0])
        return direct - xi * (g_pm[0] - g_pm[1]) / (2 * eps)

    # -- the loop ----------------------------------------------------------------------------------
    def run(self, data, epochs: int, device=None) -> DARTSResult:
        """Alternate steps 1 and 2 for ``epochs`` passes over the first ``recipe.n_train``
        training images (weights, cosine-decayed SGD) while drawing validation batches from the
        first ``recipe.n_val`` validation images (``alpha``). Returns a ``DARTSResult``."""
        if not (isinstance(epochs, int) and epochs >= 1):
            raise ValueError(f"DARTS.run: epochs={epochs!r} must be a positive integer")
        recipe, dev = self.recipe, (pick_device() if device is None else torch.device(device))
        self.supernet.to(dev).train()
        with torch.no_grad():
            self.alpha.data = self.alpha.data.to(dev)
        x, y = data.x_train[:recipe.n_train].to(dev), data.y_train[:recipe.n_train].to(dev)
        x_val, y_val = data.x_val[:recipe.n_val].to(dev), data.y_val[:recipe.n_val].to(dev)
        optimizer, schedule = recipe.sgd(self.supernet.parameters(), len(x), epochs)
        total_steps = schedule.t_max
        trajectory = [torch.softmax(self.alpha.detach(), -1).cpu().numpy()]
        train_losses, step, start = [], 0, time.perf_counter()
        with deterministic():
            for _ in range(epochs):
                train_sum = torch.zeros((), device=dev)
                val_batches = iter(shuffled_batches(len(x_val), recipe.batch_size, self.generator, dev))
                for idx in shuffled_batches(len(x), recipe.batch_size, self.generator, dev):
                    optimizer.lr = schedule(step)
                    progress = step / max(total_steps - 1, 1)
                    noise = self.sample_noise()
                    noise = None if noise is None else noise.to(dev)
                    val_idx = next(val_batches, None)
                    if val_idx is None:  # the validation images are fewer: start another pass
                        val_batches = iter(shuffled_batches(len(x_val), recipe.batch_size, self.generator, dev))
                        val_idx = next(val_batches)
                    # 1. the architecture step on a validation batch
                    xi = optimizer.lr if self.xi is None else self.xi
                    g_alpha = self.alpha_gradient((x[idx], y[idx]), (x_val[val_idx], y_val[val_idx]), progress, noise, xi)
                    self.alpha_optimizer.zero_grad()
                    self.alpha.grad = g_alpha
                    self.alpha_optimizer.step()
                    # 2. the weights' step on a training batch, alpha fixed
                    optimizer.zero_grad()
                    with torch.no_grad():
                        w = self.weights(progress, noise)
                    loss = F.cross_entropy(self.supernet(x[idx], weights=w), y[idx])
                    loss.backward()
                    optimizer.step()
                    train_sum += loss.detach() * len(idx)
                    trajectory.append(torch.softmax(self.alpha.detach(), -1).cpu().numpy())
                    step += 1
                train_losses.append((train_sum / len(x)).item())
        seconds = time.perf_counter() - start
        alpha = self.alpha.detach().cpu()
        return DARTSResult(alpha.numpy(), np.stack(trajectory), derive(alpha, self.supernet.op_names, self.include_none),
                           train_losses, seconds, epochs)
