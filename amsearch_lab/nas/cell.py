"""A cell search space whose operations keep the shape: the space of one-shot NAS and DARTS.

The chain space of ``nas/space.py`` cannot share weights between its networks: its operations
change the feature-map size (unpadded convolutions, 2 x 2 pooling) and the channel count, so
the same slot sees different shapes in different networks. Weight sharing (a supernet, ENAS,
single-path one-shot) and the continuous relaxation of DARTS both need operations that can be
*added*: every candidate operation of an edge maps a ``(n, C, s, s)`` tensor to the same shape.
This space uses the DARTS operation set, made small (Liu et al. 2019, "DARTS: Differentiable
architecture search", ICLR; NAS-Bench-201 uses the same kind of cell):

=============  ==============================================  ==============
operation      layers (``C`` channels in and out, ``s`` kept)   parameters
=============  ==============================================  ==============
``none``       zero: the edge does not exist                   0
``skip``       identity                                        0
``conv1x1``    ReLU, Conv2d(C, C, 1), BN                        ``C^2``
``conv3x3``    ReLU, Conv2d(C, C, 3, padding 1), BN             ``9 C^2``
``conv5x5``    ReLU, Conv2d(C, C, 5, padding 2), BN             ``25 C^2``
``maxpool``    MaxPool2d(3, stride 1, padding 1)                0
``avgpool``    AvgPool2d(3, stride 1, padding 1, padding not    0
               counted)
=============  ==============================================  ==============

(Convolutions have no bias; batch norm has no learned scale or shift, ``affine=False``, as in
DARTS's search, so that a zero input stays zero and an edge after a ``none`` is truly dead.)

**The cell** is a small directed acyclic graph on nodes 0 (its input), 1 and 2 (its output):
``x1 = o01(x0)``, ``x2 = o02(x0) + o12(x1)``; a genotype picks one operation per edge
``EDGES = ("e01", "e02", "e12")``. **The network**: a stem (Conv2d(1, C, 3, padding 1), BN) on
the 28 x 28 image, a 2 x 2 max-pool (14 x 14), the cell, a 2 x 2 max-pool (7 x 7), the same
cell again (its own weights), BN, ReLU, global average pooling and Linear(C, 10) (the
batch norm before the head puts every network's features on one scale, as NAS-Bench-201's last
BN-ReLU does; without it the paths of a supernet differ in scale by 100x and its training diverges).

Several genotypes build one network: when ``o01`` or ``o12`` is ``none``, node 1 reaches the
output through nothing, so both are set to ``none`` (``CellArchitecture.canonical``). The 7^3 =
343 genotypes build ``len(enumerate_cells()) = 7 * (6 * 6 + 1) = 259`` distinct networks; the
one with every edge ``none`` outputs a constant (chance accuracy) and is kept, as NAS-Bench-201
keeps its disconnected cells. These are distinct *graphs*; a few of them compute the same family of
functions (``(skip, A, B)`` and ``(A, B, skip)`` both output ``A(x0) + B(x0)``), and each is trained
on its own, as NAS-Bench-201 counts its 15,625 cells.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import torch
from torch import nn

from ..space import Choice, Space
from .build import N_CLASSES, NASNet

__all__ = ["CELL_OPS", "EDGES", "CELL_CHANNELS", "CellArchitecture", "cell_space", "enumerate_cells",
           "make_op", "cell_output", "Cell", "CellNet", "build_cell", "count_cell_params", "count_cell_flops"]

CELL_OPS = ("none", "skip", "conv1x1", "conv3x3", "conv5x5", "maxpool", "avgpool")
EDGES = ("e01", "e02", "e12")  # edge "eij" goes from node i to node j
CELL_CHANNELS = 16  # C: channels of the stem and of every cell operation
KERNEL = {"conv1x1": 1, "conv3x3": 3, "conv5x5": 5}
SIDES = (14, 7)  # side of the feature map each of the two cells sees


@dataclass(frozen=True)
class CellArchitecture:
    """A genotype: one operation per edge, in the order of ``EDGES``."""

    ops: tuple[str, ...]

    def __post_init__(self):
        object.__setattr__(self, "ops", tuple(self.ops))  # a list would be unhashable and unequal to the tuple
        if len(self.ops) != len(EDGES) or any(op not in CELL_OPS for op in self.ops):
            raise ValueError(f"CellArchitecture: ops={self.ops!r} must be {len(EDGES)} operations of {CELL_OPS}")

    @classmethod
    def from_params(cls, params: Mapping) -> CellArchitecture:
        """The genotype of ``{"e01": ..., "e02": ..., "e12": ...}``."""
        missing = [e for e in EDGES if e not in params]
        if missing:
            raise ValueError(f"CellArchitecture.from_params: params={dict(params)!r} lacks the edges {missing}")
        return cls(tuple(params[e] for e in EDGES))

    def to_params(self) -> dict:
        return dict(zip(EDGES, self.ops))

    def canonical(self) -> CellArchitecture:
        """The representative of the genotypes that build this network: a node 1 that cannot
        reach the output (``o01`` or ``o12`` is ``none``) gets ``none`` on both of its edges."""
        o01, o02, o12 = self.ops
        if "none" in (o01, o12):
            o01 = o12 = "none"
        return CellArchitecture((o01, o02, o12))

    @property
    def key(self) -> str:
        """The network's name, equal for equal networks, e.g. ``e01=conv3x3,e02=skip,e12=avgpool``."""
        return ",".join(f"{e}={op}" for e, op in zip(EDGES, self.canonical().ops))


def cell_space(ops: Sequence[str] = CELL_OPS) -> Space:
    """The genotype space: one ``Choice`` of ``ops`` per edge (what every strategy searches)."""
    unknown = [op for op in ops if op not in CELL_OPS]
    if unknown or not ops:
        raise ValueError(f"cell_space: ops={list(ops)!r} must be a non-empty subset of {CELL_OPS}")
    return Space({e: Choice(list(ops)) for e in EDGES})


def enumerate_cells() -> list[CellArchitecture]:
    """Every distinct network of ``cell_space()`` (one canonical genotype each), in grid order."""
    seen = {}
    for params in cell_space().grid():
        seen.setdefault(CellArchitecture.from_params(params).canonical(), None)
    return list(seen)


class Zero(nn.Module):
    """The ``none`` operation: zeros of the input's shape (a missing edge)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.mul(0.0)


def make_op(op: str, channels: int = CELL_CHANNELS) -> nn.Module:
    """The module of one operation (see the module table); shape ``(n, C, s, s) -> (n, C, s, s)``."""
    if op == "none":
        return Zero()
    if op == "skip":
        return nn.Identity()
    if op in KERNEL:
        k = KERNEL[op]
        return nn.Sequential(nn.ReLU(), nn.Conv2d(channels, channels, k, padding=k // 2, bias=False),
                             nn.BatchNorm2d(channels, affine=False))
    if op == "maxpool":
        return nn.MaxPool2d(3, stride=1, padding=1)
    if op == "avgpool":
        return nn.AvgPool2d(3, stride=1, padding=1, count_include_pad=False)
    raise ValueError(f"make_op: op={op!r} is not one of {CELL_OPS}")


def cell_output(x0: torch.Tensor, apply: Callable[[str, torch.Tensor], torch.Tensor]) -> torch.Tensor:
    """The cell's graph, written once for the stand-alone cell and the supernet's:
    ``x1 = o01(x0)``, ``x2 = o02(x0) + o12(x1)``, where ``apply(e, x)`` runs edge ``e``'s operation."""
    x1 = apply("e01", x0)
    return apply("e02", x0) + apply("e12", x1)


class Cell(nn.Module):
    """One cell of a genotype (``cell_output``); ``edges[e]`` is the module on edge ``e``."""

    def __init__(self, edges: Mapping[str, nn.Module]):
        super().__init__()
        self.edges = nn.ModuleDict({e: edges[e] for e in EDGES})

    def forward(self, x0: torch.Tensor) -> torch.Tensor:
        return cell_output(x0, lambda e, x: self.edges[e](x))


def stem(channels: int = CELL_CHANNELS) -> nn.Sequential:
    """Conv2d(1, C, 3, padding 1) and BN on the 28 x 28 image, then a 2 x 2 max-pool: ``(n, C, 14, 14)``."""
    return nn.Sequential(nn.Conv2d(1, channels, 3, padding=1, bias=False), nn.BatchNorm2d(channels, affine=False),
                         nn.MaxPool2d(2))


def head(channels: int = CELL_CHANNELS) -> nn.Sequential:
    """BN, ReLU, global average pooling and Linear(C, 10): ``(n, C, s, s) -> (n, 10)``."""
    return nn.Sequential(nn.BatchNorm2d(channels, affine=False), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(channels, N_CLASSES))


class CellNet(nn.Sequential):
    """stem (14 x 14), cell, max-pool (7 x 7), cell, head: the stand-alone network of a genotype.
    ``cells`` are the two ``Cell`` modules (their own weights, one genotype)."""

    def __init__(self, cells: Sequence[Cell], channels: int = CELL_CHANNELS, stem_module=None, head_module=None):
        super().__init__(stem(channels) if stem_module is None else stem_module, cells[0], nn.MaxPool2d(2),
                         cells[1], head(channels) if head_module is None else head_module)

    def __getitem__(self, idx):
        if isinstance(idx, slice):  # a slice is a plain Sequential of the layers (this constructor wants cells)
            return nn.Sequential(*list(self)[idx])
        return super().__getitem__(idx)


def build_cell(arch: CellArchitecture, seed: int | None = 0, channels: int = CELL_CHANNELS) -> NASNet:
    """The stand-alone ``nn.Module`` of ``arch`` (initial weights fixed by ``seed``), wrapped in
    ``NASNet`` like the chain networks (bfloat16 autocast on CUDA). Input ``(n, 1, 28, 28)``, output ``(n, 10)``."""
    if not (isinstance(channels, int) and channels >= 1):
        raise ValueError(f"build_cell: channels={channels!r} must be a positive integer")
    if seed is not None:
        torch.manual_seed(seed)
    cells = [Cell({e: make_op(op, channels) for e, op in zip(EDGES, arch.ops)}) for _ in SIDES]
    return NASNet(CellNet(cells, channels))


def count_cell_params(arch: CellArchitecture, channels: int = CELL_CHANNELS) -> int:
    """Trainable parameters: :math:`9C + 2 \\sum_{edges} k^2 C^2 + 10(C + 1)` (stem, two cells, head)."""
    convs = sum(KERNEL[op] ** 2 for op in arch.ops if op in KERNEL)
    return 9 * channels + len(SIDES) * convs * channels ** 2 + N_CLASSES * (channels + 1)


def count_cell_flops(arch: CellArchitecture, channels: int = CELL_CHANNELS) -> int:
    """FLOPs of one image's forward pass (2 per multiply-add of the convolutions and the linear
    layer, as ``build.count_flops``): :math:`2(9 C \\cdot 28^2 + \\sum_{cells} s^2 \\sum_{edges} k^2 C^2 + 10C)`."""
    convs = sum(KERNEL[op] ** 2 for op in arch.ops if op in KERNEL)
    return 2 * (9 * channels * 28 ** 2 + sum(s * s for s in SIDES) * convs * channels ** 2 + N_CLASSES * channels)
