"""The architecture search space (搜索空间) of neural architecture search (神经架构搜索).

A *genome* is a point ``params`` of an ordinary ``Space`` of ``Choice``s, so every strategy
(random, greedy, GA, BO, regularized evolution) searches it unchanged:

- ``slot1 ... slotN``: one operation per slot, from ``conv3x3``, ``conv5x5`` (convolution +
  batch norm + ReLU, no padding), ``maxpool``, ``avgpool`` (2 x 2) and ``identity`` (the slot is
  skipped; an empty slot, so a genome encodes networks of 0 to N layers; in a chain "skip" and
  "none" are the same network, so they are one option);
- ``width``: the number of channels of every convolution (one width for all, as NAS-Bench-201
  fixes its channels: a width per slot would multiply the space by 2^N and no longer fit a table
  trained on a CPU);
- ``head``: the width of the hidden fully connected layer, 0 for none.

The source material encodes a network as a sequence of 10 operations; this is the same idea,
small enough that every network of it can be trained once and tabulated (``nas/tabular.py``).

Many genomes build the same network: identities can sit anywhere, and ``width`` means nothing
without a convolution. ``Architecture.canonical()`` picks one representative (identities moved
to the end, width set to the smallest when there is no convolution), and ``key`` names it.

**Validity rule** (``check``; invalid genomes are *rejected*, never silently repaired):
1. every feature map must stay at least 1 x 1 (a 5 x 5 convolution of a 3 x 3 map is invalid);
2. the network may have at most ``max_params`` trainable parameters.
An objective raises ``InvalidArchitecture`` (a ``ValueError``) naming the broken rule; ``search()``
records that as a failed trial, which every strategy ranks below any success.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from ..space import Choice, Space
from .build import KERNELS, count_params, feature_sizes

__all__ = ["OPS", "WIDTHS", "HEADS", "N_SLOTS", "MAX_PARAMS", "Architecture", "InvalidArchitecture",
           "nas_space", "check", "validate", "enumerate_architectures", "sample_architectures"]

OPS = ("conv3x3", "conv5x5", "maxpool", "avgpool", "identity")
WIDTHS = (4, 8)
HEADS = (0, 64)
N_SLOTS = 4
MAX_PARAMS = 100_000


class InvalidArchitecture(ValueError):
    """A genome that breaks the validity rule; the message names the rule and the numbers."""


@dataclass(frozen=True)
class Architecture:
    """A decoded genome: ``ops`` (one per slot), conv ``width`` and ``head`` width (0 = none)."""

    ops: tuple[str, ...]
    width: int
    head: int

    @classmethod
    def from_params(cls, params: Mapping) -> Architecture:
        """The architecture of a genome ``{"slot1": ..., ..., "width": ..., "head": ...}``."""
        slots = sorted((k for k in params if k.startswith("slot")), key=lambda k: int(k[4:]))
        if not slots or "width" not in params or "head" not in params:
            raise ValueError(f"Architecture.from_params: params={dict(params)!r} needs slot1.., width and head")
        return cls(tuple(params[k] for k in slots), int(params["width"]), int(params["head"]))

    def to_params(self) -> dict:
        """The genome of this architecture (inverse of ``from_params``)."""
        return {**{f"slot{i + 1}": op for i, op in enumerate(self.ops)}, "width": self.width, "head": self.head}

    @property
    def layers(self) -> tuple[str, ...]:
        """The operations that build a layer (identities dropped)."""
        return tuple(op for op in self.ops if op != "identity")

    @property
    def has_conv(self) -> bool:
        return any(op in KERNELS for op in self.ops)

    def canonical(self, widths: Sequence[int] = WIDTHS) -> Architecture:
        """The representative of every genome that builds the same network: layers in order,
        identities at the end, ``width = min(widths)`` when there is no convolution."""
        ops = self.layers + ("identity",) * (len(self.ops) - len(self.layers))
        return Architecture(ops, self.width if self.has_conv else min(widths), self.head)

    def widened(self, width: int) -> Architecture:
        """The same layers with ``width`` channels in every convolution: *search narrow, train
        wide*. The search ranks cheap, narrow networks; the final network is the winner with more
        channels (DARTS searches with 16 channels and trains its final network with 36; NASNet and
        ENAS do the same). The result may lie outside the search space's widths."""
        if not (isinstance(width, int) and width >= 1):
            raise ValueError(f"Architecture.widened: width={width!r} must be a positive integer")
        return Architecture(self.ops, width, self.head)

    @property
    def key(self) -> str:
        """A name of the network, equal for equal networks, e.g. ``conv3x3-maxpool/w16/h64``."""
        arch = self.canonical()
        return f"{'-'.join(arch.layers) or 'identity'}/w{arch.width}/h{arch.head}"


def nas_space(n_slots: int = N_SLOTS, ops: Sequence[str] = OPS, widths: Sequence[int] = WIDTHS,
              heads: Sequence[int] = HEADS) -> Space:
    """The genome space: ``n_slots`` operation slots, a conv width and a head width."""
    if not (isinstance(n_slots, int) and n_slots >= 1):
        raise ValueError(f"nas_space: n_slots={n_slots!r} must be a positive integer")
    unknown = [op for op in ops if op not in OPS]
    if unknown:
        raise ValueError(f"nas_space: ops={list(ops)!r} has unknown operations {unknown}; known: {OPS}")
    if any(not (isinstance(w, int) and w >= 1) for w in widths):
        raise ValueError(f"nas_space: widths={list(widths)!r} must be positive integers")
    if any(not (isinstance(h, int) and h >= 0) for h in heads):
        raise ValueError(f"nas_space: heads={list(heads)!r} must be integers >= 0")
    slots = {f"slot{i + 1}": Choice(list(ops)) for i in range(n_slots)}
    return Space({**slots, "width": Choice(list(widths)), "head": Choice(list(heads))})


def check(arch: Architecture, max_params: int = MAX_PARAMS) -> str | None:
    """Why ``arch`` is invalid (rule 1 or 2 of the module), or None when it is valid."""
    sizes = feature_sizes(arch)
    for i, ((_, s_in), (_, s_out)) in enumerate(zip(sizes, sizes[1:])):
        if s_out < 1:
            return (f"rule 1: slot{i + 1}={arch.ops[i]} turns a {s_in} x {s_in} feature map into "
                    f"{max(s_out, 0)} x {max(s_out, 0)}")
    n_params = count_params(arch)
    if n_params > max_params:
        return f"rule 2: {n_params} parameters > max_params={max_params}"
    return None


def validate(arch: Architecture, max_params: int = MAX_PARAMS) -> Architecture:
    """``arch`` itself when valid; else raise ``InvalidArchitecture`` with the reason."""
    reason = check(arch, max_params)
    if reason is not None:
        raise InvalidArchitecture(f"architecture {arch.key}: {reason}")
    return arch


def enumerate_architectures(space: Space | None = None, max_params: int = MAX_PARAMS) -> list[Architecture]:
    """Every distinct valid network of ``space`` (one canonical architecture each), in grid order."""
    space = nas_space() if space is None else space
    widths = space.dimensions["width"].choices
    seen = {}
    for params in space.grid():
        arch = Architecture.from_params(params).canonical(widths)
        if arch not in seen and check(arch, max_params) is None:
            seen[arch] = None
    return list(seen)



def sample_architectures(n: int, seed: int = 0, space: Space | None = None,
                         max_params: int = MAX_PARAMS) -> list[Architecture]:
    """``n`` valid architectures drawn at random from ``space`` (genomes sampled uniformly, the
    invalid ones skipped), reproducible by ``seed``; repeats are possible, as in random search."""
    space = nas_space() if space is None else space
    rng, archs = np.random.default_rng(seed), []
    while len(archs) < n:
        arch = Architecture.from_params(space.sample(rng))
        if check(arch, max_params) is None:
            archs.append(arch)
    return archs
