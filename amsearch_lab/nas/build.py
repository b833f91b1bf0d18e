"""Architecture -> ``nn.Module``, with its feature-map sizes, parameter count and FLOPs.

An architecture (see ``nas/space.py``) is a chain: slots of operations on a 1 x 28 x 28 image,
then a fully connected head. Each operation, with ``c`` channels and ``s x s`` maps coming in:

=============  =====================================  ==============  ==========================
operation      layers                                 map out         parameters
=============  =====================================  ==============  ==========================
``conv3x3``    Conv2d(c, w, 3, no padding), BN, ReLU  ``s - 2``       ``9 c w + 2 w``
``conv5x5``    Conv2d(c, w, 5, no padding), BN, ReLU  ``s - 4``       ``25 c w + 2 w``
``maxpool``    MaxPool2d(2)                           ``floor(s/2)``  0
``avgpool``    AvgPool2d(2)                           ``floor(s/2)``  0
``identity``   nothing (the slot is skipped)          ``s``           0
=============  =====================================  ==============  ==========================

(``w`` is the architecture's conv width; the convolutions have no bias because batch norm
follows, whose scale and shift are the ``2 w``.) The head flattens the ``c s^2`` features and
applies ``Linear(c s^2, h), ReLU, Linear(h, 10)``, or ``Linear(c s^2, 10)`` when ``h = 0``.

FLOPs count the multiply-adds of the convolutions and linear layers of one forward pass of one
image, two FLOPs each (the convention of ``torch.utils.flop_counter``, our test's oracle);
pooling, batch norm and ReLU are left out.
"""

from __future__ import annotations

import torch
from torch import nn

__all__ = ["KERNELS", "feature_sizes", "count_params", "count_flops", "build", "NASNet", "summary"]

KERNELS = {"conv3x3": 3, "conv5x5": 5}  # convolution operations and their kernel sizes
POOLS = {"maxpool": nn.MaxPool2d, "avgpool": nn.AvgPool2d}
INPUT = (1, 28)  # (channels, side) of an MNIST image
N_CLASSES = 10


def feature_sizes(arch, input_shape: tuple[int, int] = INPUT) -> list[tuple[int, int]]:
    """``(channels, side)`` of the feature map before the first slot and after each slot.
    A side can come out below 1: that architecture is invalid (``nas.space.check`` says so)."""
    c, s = input_shape
    sizes = [(c, s)]
    for op in arch.ops:
        if op in KERNELS:
            c, s = arch.width, s - KERNELS[op] + 1
        elif op in POOLS:
            s = s // 2
        sizes.append((c, s))
    return sizes


def _layer_shapes(arch) -> tuple[list[tuple[int, int, int, int]], list[tuple[int, int]]]:
    """The convolutions as ``(c_in, c_out, k, side_out)`` and the linear layers as ``(n_in, n_out)``."""
    sizes = feature_sizes(arch)
    convs = [(sizes[i][0], arch.width, KERNELS[op], sizes[i + 1][1]) for i, op in enumerate(arch.ops) if op in KERNELS]
    c, s = sizes[-1]
    n_features = c * s * s
    linears = [(n_features, arch.head), (arch.head, N_CLASSES)] if arch.head else [(n_features, N_CLASSES)]
    return convs, linears


def count_params(arch) -> int:
    """Trainable parameters: :math:`\\sum_{conv} (k^2 c_{in} w + 2w) + \\sum_{linear} (n_{in} + 1) n_{out}`."""
    convs, linears = _layer_shapes(arch)
    return sum(k * k * c_in * c_out + 2 * c_out for c_in, c_out, k, _ in convs) + \
        sum((n_in + 1) * n_out for n_in, n_out in linears)


def count_flops(arch) -> int:
    """FLOPs of one image's forward pass: :math:`2 \\sum_{conv} k^2 c_{in} w s_{out}^2 + 2 \\sum_{linear} n_{in} n_{out}`."""
    convs, linears = _layer_shapes(arch)
    return 2 * sum(k * k * c_in * c_out * s_out * s_out for c_in, c_out, k, s_out in convs) + \
        2 * sum(n_in * n_out for n_in, n_out in linears)


class NASNet(nn.Module):
    """The built network: ``body`` (slots and head, an ``nn.Sequential``) run under bfloat16
    autocast on CUDA when ``amp`` (mixed precision: matrix products in bf16, logits returned in
    float32 so that the loss is computed in full precision)."""

    def __init__(self, body: nn.Sequential, amp: bool = True):
        super().__init__()
        self.body = body
        self.amp = bool(amp)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        with torch.autocast("cuda", dtype=torch.bfloat16, enabled=self.amp and x.is_cuda):
            return self.body(x).float()  # (n, 10)


def build(arch, seed: int | None = 0, amp: bool = True) -> NASNet:
    """The ``nn.Module`` of ``arch`` (initial weights fixed by ``seed``); see the module table.
    Raises ``ValueError`` when a feature map collapses below 1 x 1."""
    sizes = feature_sizes(arch)
    if min(s for _, s in sizes) < 1:
        raise ValueError(f"build: arch={arch} shrinks the feature map to {min(s for _, s in sizes)} x "
                         f"{min(s for _, s in sizes)}; it is not a valid network")
    if seed is not None:
        torch.manual_seed(seed)
    layers: list[nn.Module] = []
    for (c_in, _), op in zip(sizes, arch.ops):
        if op in KERNELS:
            layers += [nn.Conv2d(c_in, arch.width, KERNELS[op], bias=False), nn.BatchNorm2d(arch.width), nn.ReLU()]
        elif op in POOLS:
            layers.append(POOLS[op](2))
    c, s = sizes[-1]
    layers.append(nn.Flatten())  # (n, c s^2)
    if arch.head:
        layers += [nn.Linear(c * s * s, arch.head), nn.ReLU(), nn.Linear(arch.head, N_CLASSES)]
    else:
        layers.append(nn.Linear(c * s * s, N_CLASSES))
    return NASNet(nn.Sequential(*layers), amp=amp)


def summary(arch) -> list[dict]:
    """One row per layer of ``arch``: ``{"layer", "output", "params"}``, e.g.
    ``{"layer": "conv3x3", "output": "16 x 26 x 26", "params": 176}``; then the head."""
    rows, sizes = [], feature_sizes(arch)
    for op, (c_in, _), (c, s) in zip(arch.ops, sizes, sizes[1:]):
        if op == "identity":
            continue
        n = KERNELS[op] ** 2 * c_in * c + 2 * c if op in KERNELS else 0
        rows.append({"layer": op, "output": f"{c} x {s} x {s}", "params": n})
    _, linears = _layer_shapes(arch)
    for n_in, n_out in linears:
        rows.append({"layer": f"linear {n_in} -> {n_out}", "output": f"{n_out}", "params": (n_in + 1) * n_out})
    return rows
