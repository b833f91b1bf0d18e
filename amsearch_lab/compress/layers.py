"""Plumbing shared by the compressors: build a fresh layer from given tensors, swap a sub-module.

Building fresh layers (rather than editing parametrized ones) also sidesteps a PyTorch pitfall:
``copy.deepcopy`` of a parametrized module shares its generated class, and
``parametrize.remove_parametrizations`` edits that class, breaking the other copy.
"""

from __future__ import annotations

import torch
from torch import nn

__all__ = ["layer_like", "set_module"]


@torch.no_grad()
def layer_like(layer: nn.Module, weight: torch.Tensor, bias: torch.Tensor | None) -> nn.Module:
    """A new layer of ``layer``'s kind (Linear, or Conv2d with its kernel/stride/padding) holding
    the given ``weight`` and ``bias``, whose shapes set the new layer's sizes."""
    if isinstance(layer, nn.Linear):
        new = nn.Linear(weight.shape[1], weight.shape[0], bias=bias is not None)
    else:
        new = nn.Conv2d(weight.shape[1], weight.shape[0], layer.kernel_size, stride=layer.stride,
                        padding=layer.padding, dilation=layer.dilation, bias=bias is not None,
                        padding_mode=layer.padding_mode)
    new = new.to(device=weight.device, dtype=weight.dtype)
    new.weight.copy_(weight)
    if bias is not None:
        new.bias.copy_(bias)
    return new


def set_module(model: nn.Module, name: str, module: nn.Module) -> None:
    """Replace the sub-module called ``name`` (e.g. ``"3"`` or ``"1.0"``) of ``model`` by ``module``."""
    parent, _, child = name.rpartition(".")
    setattr(model.get_submodule(parent), child, module)
