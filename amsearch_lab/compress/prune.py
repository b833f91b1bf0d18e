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
           "prune_remaining", "layer_sensitivity", "sparsity_schedule", "iterative_prune"]


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


def prune_remaining(weights: dict[str, torch.Tensor], masks: dict[str, torch.Tensor],
                    rate: float | dict[str, float], scope: str = "layer") -> dict[str, torch.Tensor]:
    """One round of iterative magnitude pruning: remove a further fraction ``rate`` of the entries
    each mask still keeps, the smallest ``|w|`` first (Frankle & Carbin 2019, Algorithm 1).

    ``weights`` and ``masks``: ``{name: tensor}`` of equal shapes (``masks`` 0/1). With
    ``scope="layer"`` each tensor loses ``round(rate * kept)`` of its ``kept`` entries (``rate`` a
    float, or a dict ``{name: rate}`` such as F&C's half rate for the output layer); with
    ``scope="global"`` all kept entries are ranked together (``rate`` a float). Removed entries stay
    removed. Returns new masks; the inputs are unchanged. Raises ValueError on a bad ``scope``,
    ``rate`` or mismatched keys/shapes."""
    if scope not in ("layer", "global"):
        raise ValueError(f"prune_remaining: scope={scope!r} must be 'layer' or 'global'")
    if set(weights) != set(masks) or not weights:
        raise ValueError(f"prune_remaining: weights {sorted(weights)} and masks {sorted(masks)} need the same keys")
    for key, w in weights.items():
        if tuple(w.shape) != tuple(masks[key].shape):
            raise ValueError(f"prune_remaining: masks[{key!r}] has shape {tuple(masks[key].shape)}, weight {tuple(w.shape)}")
    if isinstance(rate, dict):
        if scope == "global" or set(rate) != set(weights):
            raise ValueError(f"prune_remaining: a dict rate needs scope='layer' and the weights' keys, got {sorted(rate)}")
        rates = rate
    else:
        rates = dict.fromkeys(weights, rate)
    # a removed entry scores -1, below every |w| >= 0: it is among the smallest and stays removed
    scores = {key: torch.where(masks[key] > 0, w.detach().abs(), torch.full_like(w, -1.0)) for key, w in weights.items()}
    if scope == "layer":
        out = {}
        for key, s in scores.items():
            kept = int(masks[key].sum())
            out[key] = _smallest_k_mask(s, s.numel() - kept + n_to_prune(rates[key], kept))
        return out
    flat = torch.cat([s.reshape(-1) for s in scores.values()])  # (n_total,)
    kept = int(sum(m.sum() for m in masks.values()))
    mask = _smallest_k_mask(flat, flat.numel() - kept + n_to_prune(rate, kept))
    sizes = [s.numel() for s in scores.values()]
    return {key: m.view_as(s) for (key, s), m in zip(scores.items(), mask.split(sizes))}


def layer_sensitivity(model: nn.Module, sparsities: list[float],
                      evaluate: Callable[[nn.Module], float]) -> dict[str, list[float]]:
    """Prune one layer at a time (layer-wise magnitude, no fine-tuning) at each of ``sparsities``
    and record ``evaluate(copy)`` (e.g. validation accuracy): ``{parameter name: [value per
    sparsity]}``. The other layers stay dense; ``model`` is unchanged. A layer whose value falls
    early is *sensitive* and deserves a lower sparsity (Han et al. 2015, Fig. 6)."""
    if not sparsities:
        raise ValueError("layer_sensitivity: sparsities is empty")
    out = {}
    for key in prunable_weights(model):
        out[key] = []
        for s in sparsities:
            pruned = copy.deepcopy(model)
            w = prunable_weights(pruned)[key]
            apply_masks(pruned, {key: magnitude_mask(w, s)})
            out[key].append(evaluate(pruned))
    return out


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
