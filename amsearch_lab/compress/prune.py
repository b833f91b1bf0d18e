"""Unstructured magnitude pruning (剪枝): remove the weights with the smallest absolute value.

The importance of a weight is its magnitude :math:`|w|`. Pruning a fraction ``amount`` of a tensor
with :math:`n` entries removes the :math:`k = \\mathrm{round}(\\mathrm{amount}\\cdot n)` entries of
smallest :math:`|w|`:

.. math::

    m_j = 0 \\text{ if } |w_j| \\text{ is among the } k \\text{ smallest, else } 1, \\qquad w \\leftarrow m \\odot w

*Layer-wise* pruning ranks each tensor on its own (every layer loses the same fraction);
*global* pruning ranks all weights of the model together (layers with many small weights lose
more). The pure cores are ``magnitude_mask`` and ``global_magnitude_masks`` (the same rule as
``torch.nn.utils.prune.l1_unstructured`` / ``global_unstructured``); ``global_magnitude_prune``
and ``iterative_prune`` are the thin wrappers for models: each returns ``(pruned copy, report)``
and leaves the model it is given unchanged (see the package docstring).
"""

from __future__ import annotations

import copy
from collections.abc import Callable

import torch
from torch import nn

from .masks import apply_masks, prunable_weights

__all__ = ["n_to_prune", "magnitude_mask", "global_magnitude_masks", "global_magnitude_prune",
           "sparsity_schedule", "iterative_prune"]


def n_to_prune(amount: float, n: int) -> int:
    """How many of ``n`` entries a fraction ``amount`` removes: ``round(amount * n)``."""
    if not (isinstance(amount, (int, float)) and 0.0 <= amount <= 1.0):
        raise ValueError(f"amount={amount!r} must be a fraction in [0, 1]")
    return round(amount * n)


def _smallest_k_mask(scores: torch.Tensor, k: int) -> torch.Tensor:
    """Plumbing: a 0/1 mask of ``scores``' shape with zeros at its ``k`` smallest entries."""
    mask = torch.ones_like(scores)
    if k > 0:
        mask.view(-1)[torch.topk(scores.reshape(-1), k, largest=False).indices] = 0.0
    return mask


def magnitude_mask(weight: torch.Tensor, amount: float) -> torch.Tensor:
    """Layer-wise magnitude mask: zeros at the ``round(amount * weight.numel())`` smallest ``|w|``."""
    return _smallest_k_mask(weight.detach().abs(), n_to_prune(amount, weight.numel()))


def global_magnitude_masks(weights: dict[str, torch.Tensor], amount: float) -> dict[str, torch.Tensor]:
    """Global magnitude masks: rank the ``|w|`` of all tensors together, remove the smallest fraction."""
    if not weights:
        raise ValueError("global_magnitude_masks: weights is empty")
    # 1. one long vector of all magnitudes
    flat = torch.cat([w.detach().abs().reshape(-1) for w in weights.values()])  # (n_total,)
    # 2. one mask over it, zeros at the k smallest
    mask = _smallest_k_mask(flat, n_to_prune(amount, flat.numel()))
    # 3. cut it back into the tensors' shapes
    sizes = [w.numel() for w in weights.values()]
    return {key: m.view_as(w) for (key, w), m in zip(weights.items(), mask.split(sizes))}


def global_magnitude_prune(model: nn.Module, amount: float) -> tuple[nn.Module, dict[str, torch.Tensor]]:
    """A copy of ``model`` with the ``amount`` smallest-magnitude weights of all its Linear/Conv2d
    layers, ranked together, masked (the masks stay applied while training).

    Returns ``(pruned, masks)``; ``model`` itself is unchanged."""
    pruned = copy.deepcopy(model)
    masks = global_magnitude_masks(prunable_weights(pruned), amount)
    apply_masks(pruned, masks)
    return pruned, masks


def sparsity_schedule(final: float, steps: int, initial: float = 0.0) -> list[float]:
    """Sparsity after each of ``steps`` prune/fine-tune rounds, cubic as in Zhu & Gupta (2017):

    .. math:: s_t = s_f + (s_i - s_f)\\,(1 - t/T)^3, \\qquad t = 1, \\dots, T

    Many weights go early, while the network has slack; few go late, when each one matters.
    """
    if not (isinstance(steps, int) and steps >= 1):
        raise ValueError(f"sparsity_schedule: steps={steps!r} must be a positive integer")
    for name, value in (("final", final), ("initial", initial)):
        if not 0.0 <= value < 1.0:
            raise ValueError(f"sparsity_schedule: {name}={value!r} must be in [0, 1)")
    return [final + (initial - final) * (1 - t / steps) ** 3 for t in range(1, steps + 1)]


def iterative_prune(model: nn.Module, final: float, steps: int, fine_tune: Callable[[nn.Module], object],
                    evaluate: Callable[[nn.Module], float] | None = None) -> tuple[nn.Module, list[dict]]:
    """Prune → fine-tune, ``steps`` times, up to sparsity ``final`` (Han et al. 2015), on a copy of ``model``.

    Each round masks the globally smallest weights of the copy (already removed ones are zeros,
    so they stay removed), then calls ``fine_tune(pruned)``, which trains the copy in place with
    the masks applied. ``evaluate(pruned)`` (for example validation accuracy) is recorded after
    each round. Returns ``(pruned, rounds)``, one dict ``{"step", "sparsity", "value"}`` per
    round; ``pruned`` keeps its masks and ``model`` itself is unchanged.
    """
    pruned = copy.deepcopy(model)
    rounds = []
    for step, sparsity in enumerate(sparsity_schedule(final, steps), start=1):
        # 1. prune the copy to this round's sparsity (in place: it is ours)
        apply_masks(pruned, global_magnitude_masks(prunable_weights(pruned), sparsity))
        # 2. let the remaining weights make up for the removed ones
        fine_tune(pruned)
        # 3. record
        rounds.append({"step": step, "sparsity": sparsity, "value": None if evaluate is None else evaluate(pruned)})
    return pruned, rounds
