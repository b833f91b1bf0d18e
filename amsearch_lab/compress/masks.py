"""Masks on a model: keep a parameter entry where ``mask == 1``, hold it at zero where ``mask == 0``.

A mask is attached with ``torch.nn.utils.parametrize``: the parameter ``weight`` becomes
``mask * weight_orig``. The multiplication sits inside the forward pass, so the gradient of a
removed entry is exactly zero and any training loop (``amsearch_lab.optim.fit`` included)
fine-tunes a pruned model without knowing it is pruned. ``remove_masks`` bakes the zeros into a
plain parameter again. This mirrors ``torch.nn.utils.prune``, which uses a forward pre-hook.

Masks are keyed by parameter name as in ``model.named_parameters()``, e.g. ``"1.weight"``.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn.utils import parametrize

from .layers import layer_like, set_module

__all__ = ["Mask", "prunable_weights", "mask_sparsity", "apply_masks", "remove_masks", "masks_of"]


class Mask(nn.Module):
    """The parametrization ``w = mask * w_orig`` (the mask is a buffer, never trained)."""

    def __init__(self, mask: torch.Tensor):
        super().__init__()
        self.register_buffer("mask", mask.detach().clone())

    def forward(self, weight: torch.Tensor) -> torch.Tensor:
        return weight * self.mask


def prunable_weights(model: nn.Module) -> dict[str, torch.Tensor]:
    """The weights of every ``nn.Linear`` and ``nn.Conv2d`` by parameter name, in forward order
    (masked weights as the forward pass sees them). Biases are left out, as in Han et al. (2015)."""
    return {f"{name}.weight" if name else "weight": m.weight for name, m in model.named_modules()
            if isinstance(m, (nn.Linear, nn.Conv2d))}

def mask_sparsity(masks: dict[str, torch.Tensor]) -> float:
    """The fraction of entries that ``masks`` (``{name: 0/1 tensor}``) remove, over all tensors."""
    if not masks:
        raise ValueError("mask_sparsity: masks is empty")
    n_total = sum(m.numel() for m in masks.values())
    return 1.0 - float(sum(m.sum() for m in masks.values())) / n_total


def _split(model: nn.Module, key: str, caller: str) -> tuple[nn.Module, str]:
    """Plumbing: ``"1.weight"`` -> (model[1], "weight"), checking that the parameter exists."""
    module_name, _, param = key.rpartition(".")
    try:
        module = model.get_submodule(module_name)
    except AttributeError:
        module = None  # reported below
    if not isinstance(module, (nn.Linear, nn.Conv2d)) or param not in ("weight", "bias") \
            or getattr(module, param) is None:
        raise ValueError(f"{caller}: masks has key {key!r}, not the weight or bias of a Linear/Conv2d of the model")
    return module, param


def apply_masks(model: nn.Module, masks: dict[str, torch.Tensor]) -> nn.Module:
    """Attach ``masks[key]`` to parameter ``key`` (in place; returns ``model``).

    A parameter that already carries a mask gets the new one in its place (masks are not
    multiplied: compute the new mask from the current, already masked values, as the pruners do).
    """
    for key, mask in masks.items():
        module, param = _split(model, key, "apply_masks")
        value = getattr(module, param)
        if tuple(mask.shape) != tuple(value.shape):
            raise ValueError(f"apply_masks: masks[{key!r}] has shape {tuple(mask.shape)}, "
                             f"the parameter has {tuple(value.shape)}")
        mask = mask.to(device=value.device, dtype=value.dtype)
        if parametrize.is_parametrized(module, param):
            getattr(module.parametrizations, param)[0].mask.copy_(mask)
        else:
            parametrize.register_parametrization(module, param, Mask(mask))
    return model


def masks_of(model: nn.Module) -> dict[str, torch.Tensor]:
    """The masks attached by ``apply_masks``, by parameter name."""
    out = {}
    for name, module in model.named_modules():
        if parametrize.is_parametrized(module):
            for param, plist in module.parametrizations.items():
                if isinstance(plist[0], Mask):
                    out[f"{name}.{param}" if name else param] = plist[0].mask
    return out


def remove_masks(model: nn.Module) -> nn.Module:
    """Bake every mask into its layer: each masked layer is replaced by a plain one whose removed
    entries are stored zeros (in place; returns ``model``). Make a new optimizer afterwards: the
    layers' parameters are new tensors."""
    masked = {key.rpartition(".")[0] for key in masks_of(model)}
    for name in masked:
        layer = model.get_submodule(name)
        with torch.no_grad():
            plain = layer_like(layer, layer.weight.detach(), None if layer.bias is None else layer.bias.detach())
        if name:
            set_module(model, name, plain)
        else:
            raise ValueError("remove_masks: model is itself a masked layer; wrap it in nn.Sequential")
    return model
