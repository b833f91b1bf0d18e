"""Structured pruning: remove whole neurons (rows of a Linear) or channels (filters of a Conv2d).

Each hidden neuron :math:`i` of layer :math:`l` gets an importance score; the lowest-scoring
fraction ``amount`` are removed. Three scores:

.. math::

    \\text{L1:}\\quad S_i = \\sum_j |W_{ij}| \\qquad
    \\text{activation:}\\quad S_i = \\frac{1}{N}\\sum_{n} \\overline{|a_{n,i}|} \\qquad
    \\text{Taylor:}\\quad S_i = \\frac{1}{N}\\sum_n \\Big|\\overline{a_{n,i}\\,\\frac{\\partial L}{\\partial a_{n,i}}}\\Big|

where :math:`a_{n,i}` is neuron i's output (after its activation function) on example n and
the bar averages over the spatial positions of a channel. The Taylor score (Molchanov et al.
2017) is the first-order estimate of how much the loss changes when :math:`a_i` is set to zero.

Unlike a mask, ``shrink`` builds a *smaller* network: layer l keeps only the kept rows (and
bias entries), and the next Linear/Conv2d keeps only the matching input columns. The result has
fewer parameters and does fewer multiplications — and computes exactly what the masked network
computes (``neuron_masks`` gives those masks, for the test and for the lesson).

Models are ``nn.Sequential`` (as in ``amsearch_lab.models``); layers are named by their index.
"""

from __future__ import annotations

import copy

import torch
from torch import nn

from .layers import layer_like
from .prune import n_to_prune

__all__ = ["hidden_layers", "l1_scores", "activation_scores", "taylor_scores", "neuron_scores",
           "keep_top", "neuron_masks", "shrink", "prune_neurons", "next_layer"]

_PARAMETRIC = (nn.Linear, nn.Conv2d)


def _check_sequential(model: nn.Module, caller: str) -> None:
    if not isinstance(model, nn.Sequential):
        raise ValueError(f"{caller}: model is a {type(model).__name__}; structured pruning needs an nn.Sequential")


def hidden_layers(model: nn.Sequential) -> list[int]:
    """Indices of the Linear/Conv2d layers whose outputs may be pruned: all but the last one."""
    _check_sequential(model, "hidden_layers")
    layers = [i for i, m in enumerate(model) if isinstance(m, _PARAMETRIC)]
    for i in layers[:-1]:
        nxt = next(j for j in layers if j > i)
        for between in model[i + 1:nxt]:
            if any(True for _ in between.parameters()):
                raise ValueError(f"hidden_layers: layer {i} feeds {type(between).__name__}, which has parameters; "
                                 "only parameter-free layers (activations, pooling, Flatten, Dropout) may sit between")
    return layers[:-1]


def _activation_end(model: nn.Sequential, index: int) -> int:
    """Plumbing: where layer ``index``'s output has passed its element-wise activation function."""
    end = index + 1
    while end < len(model) and not isinstance(model[end], (*_PARAMETRIC, nn.Flatten, nn.MaxPool2d, nn.AvgPool2d)):
        end += 1
    return end


def _per_neuron(t: torch.Tensor) -> torch.Tensor:
    """Plumbing: average over spatial positions, (n, c, h, w) -> (n, c); (n, c) stays."""
    return t.flatten(2).mean(2) if t.dim() > 2 else t


def _check_data(x: torch.Tensor, caller: str) -> None:
    """Plumbing: a mean over no examples is 0/0; refuse it by name."""
    if len(x) == 0:
        raise ValueError(f"{caller}: x has no examples (shape {tuple(x.shape)}); a mean score needs at least one")


def l1_scores(weight: torch.Tensor) -> torch.Tensor:
    """:math:`S_i = \\sum_j |W_{ij}|`: the L1 norm of each output row / filter. Shape (out,)."""
    return weight.detach().abs().flatten(1).sum(1)


@torch.no_grad()
def activation_scores(model: nn.Sequential, index: int, x: torch.Tensor, batch_size: int = 1024) -> torch.Tensor:
    """Mean absolute output of each neuron of layer ``index`` on the inputs ``x``. Shape (out,)."""
    _check_data(x, "activation_scores")
    head = model[:_activation_end(model, index)]
    total = 0.0
    for start in range(0, len(x), batch_size):
        total = total + _per_neuron(head(x[start:start + batch_size]).abs()).sum(0)
    return total / len(x)


def taylor_scores(model: nn.Sequential, index: int, x: torch.Tensor, y: torch.Tensor,
                  loss_fn=None, batch_size: int = 1024) -> torch.Tensor:
    """First-order Taylor importance :math:`|\\overline{a \\, \\partial L/\\partial a}|`, averaged over examples."""
    _check_data(x, "taylor_scores")
    loss_fn = nn.functional.cross_entropy if loss_fn is None else loss_fn
    end = _activation_end(model, index)
    head, tail = model[:end], model[end:]
    total = 0.0
    for start in range(0, len(x), batch_size):
        xb, yb = x[start:start + batch_size], y[start:start + batch_size]
        a = head(xb).detach().requires_grad_(True)  # (n, out[, h, w])
        # sum, not mean, so that dL/da_n is the gradient of example n's own loss
        (grad,) = torch.autograd.grad(loss_fn(tail(a), yb, reduction="sum"), a)
        total = total + _per_neuron(a.detach() * grad).abs().sum(0)
    return total / len(x)


def neuron_scores(model: nn.Sequential, method: str = "l1", x: torch.Tensor | None = None,
                  y: torch.Tensor | None = None) -> dict[int, torch.Tensor]:
    """Scores of every hidden layer's neurons, ``{layer index: (out,) tensor}``.

    ``method`` is ``"l1"`` (weights only), ``"activation"`` (needs ``x``) or ``"taylor"`` (needs ``x``, ``y``).
    """
    if method not in ("l1", "activation", "taylor"):
        raise ValueError(f"neuron_scores: method={method!r} must be 'l1', 'activation' or 'taylor'")
    if method != "l1" and (x is None or (method == "taylor" and y is None)):
        raise ValueError(f"neuron_scores: method={method!r} needs data: x{' and y' if method == 'taylor' else ''}")
    out = {}
    for i in hidden_layers(model):
        if method == "l1":
            out[i] = l1_scores(model[i].weight)
        elif method == "activation":
            out[i] = activation_scores(model, i, x)
        else:
            out[i] = taylor_scores(model, i, x, y)
    return out


def keep_top(scores: torch.Tensor, amount: float) -> torch.Tensor:
    """Sorted indices of the ``n - round(amount * n)`` highest scores (at least one is kept)."""
    n = scores.numel()
    n_keep = max(1, n - n_to_prune(amount, n))
    return torch.topk(scores, n_keep).indices.sort().values


def next_layer(model: nn.Sequential, index: int) -> int:
    return next(j for j in range(index + 1, len(model)) if isinstance(model[j], _PARAMETRIC))


def _input_columns(layer: nn.Module, keep: torch.Tensor, n_before: int) -> torch.Tensor:
    """Plumbing: the input features of ``layer`` fed by the kept channels ``keep`` of ``n_before``.
    After a Flatten, channel c feeds the block of ``in_features // n_before`` features c*hw ... (c+1)*hw-1."""
    n_in = layer.in_channels if isinstance(layer, nn.Conv2d) else layer.in_features
    if n_in % n_before:
        raise ValueError(f"shrink: a layer with {n_in} inputs cannot follow {n_before} outputs")
    block = n_in // n_before
    return (keep.unsqueeze(1) * block + torch.arange(block, device=keep.device)).reshape(-1) if block > 1 else keep


def neuron_masks(model: nn.Sequential, keep: dict[int, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Masks (for ``apply_masks``) that zero the rows and bias entries of the removed neurons."""
    masks = {}
    for i, kept in keep.items():
        layer = model[i]
        row = torch.zeros(layer.weight.shape[0], device=layer.weight.device)
        row[kept] = 1.0
        masks[f"{i}.weight"] = row.view(-1, *[1] * (layer.weight.dim() - 1)).expand_as(layer.weight).clone()
        if layer.bias is not None:
            masks[f"{i}.bias"] = row.clone()
    return masks


@torch.no_grad()
def shrink(model: nn.Sequential, keep: dict[int, torch.Tensor]) -> nn.Sequential:
    """A smaller copy of ``model`` where hidden layer ``i`` has only the neurons ``keep[i]``.

    Each ``keep[i]`` must hold at least one and only distinct neuron indices of layer i: a layer
    of zero neurons cannot compute (a Conv2d or Linear with 0 outputs fails in its forward pass),
    and a neuron kept twice would feed the next layer twice."""
    hidden = hidden_layers(model)
    for i, kept in keep.items():  # 1. check every keep before building anything
        if i not in hidden:
            raise ValueError(f"shrink: keep has layer index {i}; prunable hidden layers are {hidden}")
        n = model[i].weight.shape[0]
        if kept.numel() == 0:
            raise ValueError(f"shrink: keep[{i}]={kept!r} is empty; layer {i} must keep at least one of its {n} neurons")
        if kept.dim() != 1 or kept.dtype.is_floating_point or kept.dtype == torch.bool:
            raise ValueError(f"shrink: keep[{i}]={kept!r} must be a 1-d tensor of integer neuron indices")
        if len(set(kept.tolist())) < kept.numel() or not 0 <= int(kept.min()) <= int(kept.max()) < n:
            raise ValueError(f"shrink: keep[{i}]={kept!r} must hold distinct neuron indices of layer {i}, in [0, {n})")
    small = copy.deepcopy(model)
    for i, kept in keep.items():
        kept = kept.to(model[i].weight.device)
        j = next_layer(model, i)
        # 2. layer i: keep the rows (output neurons / filters) in `kept`
        small[i] = _resized(small[i], rows=kept)
        # 3. the next layer: keep the input columns those neurons feed
        small[j] = _resized(small[j], cols=_input_columns(model[j], kept, model[i].weight.shape[0]))
    return small


def _resized(layer: nn.Module, rows: torch.Tensor | None = None, cols: torch.Tensor | None = None) -> nn.Module:
    """Plumbing: a new Linear/Conv2d holding ``layer.weight[rows][:, cols]`` (and ``bias[rows]``)."""
    w = layer.weight
    w = w[rows] if rows is not None else w
    w = w[:, cols] if cols is not None else w
    b = None if layer.bias is None else (layer.bias[rows] if rows is not None else layer.bias)
    return layer_like(layer, w, b)


def prune_neurons(model: nn.Sequential, amount: float, method: str = "l1", x: torch.Tensor | None = None,
                  y: torch.Tensor | None = None) -> tuple[nn.Sequential, dict[int, torch.Tensor]]:
    """Remove the fraction ``amount`` of lowest-scoring neurons from every hidden layer.

    Returns ``(small_model, keep)``; ``model`` itself is unchanged."""
    scores = neuron_scores(model, method, x, y)
    keep = {i: keep_top(s, amount) for i, s in scores.items()}
    return shrink(model, keep), keep
