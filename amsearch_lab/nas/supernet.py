"""The weight-sharing supernet of the cell space (``nas/cell.py``).

Every edge of the supernet holds *all* candidate operations, each with its own weights
(``MixedEdge``); a network of the space is one choice per edge, a *path* through the supernet,
and all networks share the stem, the head and the operation weights. Two ways to run it:

- **one path** (``supernet(x, arch=a)``): each edge applies only ``a``'s operation; this is
  exactly the stand-alone network of ``a`` with the shared weights (``supernet.subnet(a)`` copies
  them out into a ``CellNet``; the tests check that both compute the same to 1e-6). Single-path
  one-shot training samples one path per batch (``nas/oneshot.py``).
- **a mixture** (``supernet(x, weights=w)``): each edge outputs
  :math:`\\bar o_e(x) = \\sum_k w_{e,k}\\, o_k(x)` with ``w`` of shape ``(n_edges, n_ops)``;
  DARTS takes ``w = softmax(alpha)`` per edge (``nas/darts.py``). A one-hot row gives exactly
  that operation.

The two cells of a network share its genotype (one path, or one ``w``) but not their weights,
as DARTS's normal cells share their ``alpha``. Sources: Pham et al. 2018 (ENAS, weight sharing);
Bender et al. 2018 ("Understanding and simplifying one-shot architecture search");
Guo et al. 2020 (single-path one-shot); Liu et al. 2019 (DARTS).
"""

from __future__ import annotations

import copy

import torch
from torch import nn

from .build import NASNet
from .cell import (
    CELL_CHANNELS,
    CELL_OPS,
    EDGES,
    SIDES,
    Cell,
    CellArchitecture,
    CellNet,
    cell_output,
    head,
    make_op,
    stem,
)

__all__ = ["MixedEdge", "Supernet"]


class MixedEdge(nn.Module):
    """All candidate operations of one edge, ``ops[name]`` each with its own weights."""

    def __init__(self, channels: int = CELL_CHANNELS, ops=CELL_OPS):
        super().__init__()
        self.ops = nn.ModuleDict({op: make_op(op, channels) for op in ops})

    def forward(self, x: torch.Tensor, choice: str | torch.Tensor) -> torch.Tensor:
        """``ops[choice](x)`` for an operation name; :math:`\\sum_k w_k o_k(x)` for weights ``w``
        of shape ``(n_ops,)`` in the order of ``ops``."""
        if isinstance(choice, str):
            return self.ops[choice](x)
        return sum(w * op(x) for w, op in zip(choice, self.ops.values()))


class Supernet(nn.Module):
    """stem, mixed cell, max-pool, mixed cell, head: every network of ``cell_space()`` at once.

    ``forward(x, arch=None, weights=None)``: ``x`` of shape ``(n, 1, 28, 28)``; exactly one of
    ``arch`` (a ``CellArchitecture``: one path) or ``weights`` (a tensor ``(len(EDGES),
    len(ops))``: the mixture); returns logits ``(n, 10)``. Initial weights are fixed by ``seed``.
    """

    def __init__(self, channels: int = CELL_CHANNELS, ops=CELL_OPS, seed: int | None = 0):
        super().__init__()
        unknown = [op for op in ops if op not in CELL_OPS]
        if unknown or not ops or len(set(ops)) != len(ops):
            raise ValueError(f"Supernet: ops={list(ops)!r} must be a non-empty subset of {CELL_OPS}, without repeats")
        if not (isinstance(channels, int) and channels >= 1):
            raise ValueError(f"Supernet: channels={channels!r} must be a positive integer")
        if seed is not None:
            torch.manual_seed(seed)
        self.channels, self.op_names = channels, tuple(ops)
        self.stem = stem(channels)
        self.cells = nn.ModuleList(nn.ModuleDict({e: MixedEdge(channels, ops) for e in EDGES}) for _ in SIDES)
        self.pool = nn.MaxPool2d(2)
        self.head = head(channels)

    def _check_arch(self, where: str, arch: CellArchitecture) -> CellArchitecture:
        missing = [op for op in arch.ops if op not in self.op_names]
        if missing:
            raise ValueError(f"{where}: arch={arch.key} uses {missing}, not in this supernet's ops")
        return arch

    def _cell(self, cell: nn.ModuleDict, x0: torch.Tensor, choices) -> torch.Tensor:
        choice = dict(zip(EDGES, choices))  # edge -> an operation name or its (n_ops,) weights
        return cell_output(x0, lambda e, x: cell[e](x, choice[e]))

    def forward(self, x: torch.Tensor, arch: CellArchitecture | None = None,
                weights: torch.Tensor | None = None) -> torch.Tensor:
        if (arch is None) == (weights is None):
            raise ValueError("Supernet.forward: pass exactly one of arch= (one path) or weights= (a mixture)")
        if arch is not None:
            choices = self._check_arch("Supernet.forward", arch).ops
        else:
            if tuple(weights.shape) != (len(EDGES), len(self.op_names)):
                raise ValueError(f"Supernet.forward: weights of shape {tuple(weights.shape)} must be "
                                 f"(n_edges, n_ops) = {(len(EDGES), len(self.op_names))}")
            choices = list(weights)  # one (n_ops,) row per edge
        x = self.stem(x)  # (n, C, 14, 14)
        x = self._cell(self.cells[0], x, choices)
        x = self.pool(x)  # (n, C, 7, 7)
        x = self._cell(self.cells[1], x, choices)
        return self.head(x)  # (n, 10)

    def subnet(self, arch: CellArchitecture) -> NASNet:
        """The stand-alone network of ``arch`` holding a *copy* of the shared weights (and
        batch-norm statistics) of its path: ``build_cell``'s module, computing what
        ``self(x, arch=arch)`` computes. Changing the copy leaves the supernet unchanged."""
        self._check_arch("Supernet.subnet", arch)
        cells = [Cell({e: copy.deepcopy(cell[e].ops[op]) for e, op in zip(EDGES, arch.ops)}) for cell in self.cells]
        net = CellNet(cells, self.channels, stem_module=copy.deepcopy(self.stem), head_module=copy.deepcopy(self.head))
        return NASNet(net, amp=False).to(next(self.parameters()).device)  # float32, as the supernet runs
