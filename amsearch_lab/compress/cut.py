"""Random cutting (剪切): remove weights or neurons chosen at random — the baseline for pruning.

A random cut removes exactly as many entries as magnitude pruning would, :math:`k =
\\mathrm{round}(\\mathrm{amount}\\cdot n)`, but picks them uniformly at random. If importance did
not matter, pruning and cutting would do equally well; the lessons show they do not.

Entries are drawn as in ``torch.nn.utils.prune.random_unstructured``: draw :math:`u_j \\sim U(0,1)`
per entry and remove the :math:`k` largest :math:`u_j` (a uniformly random subset of size k).
``global_random_cut`` returns ``(cut copy, masks)`` like ``global_magnitude_prune``.

``keep_if_better`` is source 003's loop for both: remove a further chunk (by magnitude, 剪枝, or
at random, 剪切), evaluate, and keep the smaller model only if its score rose.
"""

from __future__ import annotations

import copy
from collections.abc import Callable

import numpy as np
import torch
from torch import nn

from .masks import apply_masks, mask_sparsity, masks_of, prunable_weights
from .prune import n_to_prune, prune_remaining

__all__ = ["random_mask", "global_random_masks", "global_random_cut", "random_neurons", "random_remaining",
           "keep_if_better"]

_CUT_STREAM = 0x637574  # "cut": keeps the cuts' random stream apart from other uses of the same seed


def _generator(seed: int | torch.Generator) -> torch.Generator:
    """A CPU ``torch.Generator`` for a cut: the generator itself, or one seeded from ``seed``.

    An int seed is first mixed by numpy's ``SeedSequence``: seeding torch with the bare seed
    would replay the stream that ``torch.manual_seed(seed)`` gave the model's *initial weights*
    (``models.lenet_300_100(seed=0)`` and a cut with ``seed=0``), so the "random" cut would remove
    exactly the weights that started largest — and still are. Pass a ``torch.Generator`` to
    draw from a stream of your choice."""
    if isinstance(seed, torch.Generator):
        return seed
    if not isinstance(seed, int):
        raise ValueError(f"seed={seed!r} must be an int or a torch.Generator")
    mixed = int(np.random.SeedSequence([seed, _CUT_STREAM]).generate_state(1, dtype=np.uint64)[0])
    return torch.Generator().manual_seed(mixed)


def random_mask(weight: torch.Tensor, amount: float, seed: int | torch.Generator = 0) -> torch.Tensor:
    """A mask with zeros at ``round(amount * weight.numel())`` uniformly random entries."""
    k = n_to_prune(amount, weight.numel())
    u = torch.rand(weight.shape, generator=_generator(seed)).to(weight.device)  # one U(0,1) per entry
    mask = torch.ones_like(weight)
    if k > 0:
        mask.view(-1)[torch.topk(u.reshape(-1), k).indices] = 0.0
    return mask


def global_random_masks(weights: dict[str, torch.Tensor], amount: float,
                        seed: int | torch.Generator = 0) -> dict[str, torch.Tensor]:
    """Random masks over all tensors together: ``round(amount * n_total)`` zeros anywhere.

    Each layer loses about the fraction ``amount`` (the same sparsity as ``global_magnitude_masks``
    overall, but spread evenly instead of where the weights are small)."""
    if not weights:
        raise ValueError("global_random_masks: weights is empty")
    n_total = sum(w.numel() for w in weights.values())
    flat = random_mask(torch.empty(n_total), amount, seed)
    sizes = [w.numel() for w in weights.values()]
    return {key: m.view_as(w).to(w.device) for (key, w), m in zip(weights.items(), flat.split(sizes))}


def global_random_cut(model: nn.Module, amount: float,
                      seed: int | torch.Generator = 0) -> tuple[nn.Module, dict[str, torch.Tensor]]:
    """A copy of ``model`` with a random fraction ``amount`` of all its Linear/Conv2d weights masked.

    Returns ``(cut, masks)``; ``model`` itself is unchanged."""
    cut = copy.deepcopy(model)
    masks = global_random_masks(prunable_weights(cut), amount, seed)
    apply_masks(cut, masks)
    return cut, masks


def random_neurons(n: int, amount: float, seed: int | torch.Generator = 0) -> torch.Tensor:
    """Indices (sorted) of the ``max(1, n - round(amount * n))`` neurons a random structured cut
    keeps out of ``n``: at least one, as ``structured.keep_top`` does, because a layer without
    neurons is no layer (a Conv2d with 0 channels fails in its forward pass; a Linear with 0
    outputs turns the network into a constant). ``random_neurons(4, 0.9)`` keeps 1, not 0."""
    if not (isinstance(n, int) and n >= 1):
        raise ValueError(f"random_neurons: n={n!r} must be a positive integer (the layer's neurons)")
    n_keep = max(1, n - n_to_prune(amount, n))
    return torch.randperm(n, generator=_generator(seed))[:n_keep].sort().values


def random_remaining(masks: dict[str, torch.Tensor], amount: float,
                     seed: int | torch.Generator = 0) -> dict[str, torch.Tensor]:
    """New masks that remove ``round(amount * kept)`` more entries, drawn uniformly among the
    ``kept`` entries that ``masks`` (``{name: 0/1 tensor}``) still keeps, over all tensors
    together. Removed entries stay removed; ``masks`` is unchanged."""
    if not masks:
        raise ValueError("random_remaining: masks is empty")
    flat = torch.cat([m.detach().reshape(-1).cpu() for m in masks.values()])  # (n_total,)
    kept = flat.nonzero().squeeze(1)                                          # indices still kept
    k = n_to_prune(amount, len(kept))
    drop = kept[torch.randperm(len(kept), generator=_generator(seed))[:k]]
    flat = flat.clone()
    flat[drop] = 0.0
    sizes = [m.numel() for m in masks.values()]
    return {key: f.view_as(m).to(m.device) for (key, m), f in zip(masks.items(), flat.split(sizes))}


def keep_if_better(model: nn.Module, evaluate: Callable[[nn.Module], float], steps: int, chunk: float,
                   method: str = "random", seed: int = 0) -> tuple[nn.Module, list[dict]]:
    """Source 003's pruning (剪枝) and cutting (剪切) loop, as the article writes it, on a copy of ``model``:

    1. propose: remove a further fraction ``chunk`` of the kept weights of the best model so far,
       the smallest ``|w|`` over all layers (``method="magnitude"``) or at random (``"random"``);
    2. evaluate the proposal (no fine-tuning);
    3. keep it only if ``evaluate`` rose strictly above the best value so far.

    Returns ``(best, history)``: ``history`` has one dict ``{"step", "sparsity", "value",
    "accepted", "best"}`` per step (``sparsity`` of the proposal, ``best`` the value kept after the
    step); step 0 is the model itself. Whatever ``evaluate`` reads is what the loop *selects on*:
    score the returned model on other data. A magnitude proposal depends only on the kept
    weights, so once one is rejected every later one is the same and is rejected too."""
    if method not in ("magnitude", "random"):
        raise ValueError(f"keep_if_better: method={method!r} must be 'magnitude' or 'random'")
    if not (isinstance(steps, int) and steps >= 1):
        raise ValueError(f"keep_if_better: steps={steps!r} must be a positive integer")
    if not 0.0 < chunk < 1.0:
        raise ValueError(f"keep_if_better: chunk={chunk!r} must be in (0, 1)")
    best = copy.deepcopy(model)
    masks = masks_of(best) or {key: torch.ones_like(w) for key, w in prunable_weights(best).items()}
    best_value = evaluate(best)
    history = [{"step": 0, "sparsity": mask_sparsity(masks), "value": best_value, "accepted": True, "best": best_value}]
    rng = torch.Generator().manual_seed(int(np.random.SeedSequence([seed, _CUT_STREAM]).generate_state(1)[0]))
    for step in range(1, steps + 1):
        # 1. propose a smaller model
        if method == "magnitude":
            proposal = prune_remaining(prunable_weights(best), masks, chunk, scope="global")
        else:
            proposal = random_remaining(masks, chunk, rng)
        candidate = apply_masks(copy.deepcopy(best), proposal)
        # 2. evaluate it, 3. keep it only if the score rose
        value = evaluate(candidate)
        accepted = value > best_value
        if accepted:
            best, masks, best_value = candidate, proposal, value
        history.append({"step": step, "sparsity": mask_sparsity(proposal),
                        "value": value, "accepted": accepted, "best": best_value})
    return best, history
