"""Data augmentation for ``fit(..., augment=...)``: a random translation of each image.

``RandomShift(m)`` moves every image of a batch by its own integer offset ``(dy, dx)``, each
drawn uniformly from ``{-m, ..., m}``, and fills the uncovered border with zeros (the background
of MNIST). A digit shifted by a pixel or two is still the same digit, so the network sees a new
variant of every image in every epoch: the standard cheap augmentation for MNIST.

The offsets are drawn from the CPU ``torch.Generator`` that ``fit`` already uses to shuffle,
so a seeded run stays reproducible on any device.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

__all__ = ["RandomShift"]


class RandomShift:
    """``augment(x, generator) -> x shifted``: per-image integer shifts of at most ``max_shift`` pixels."""

    def __init__(self, max_shift: int = 2):
        if not (isinstance(max_shift, int) and max_shift >= 0):
            raise ValueError(f"RandomShift: max_shift={max_shift!r} must be an integer >= 0")
        self.max_shift = max_shift

    def __repr__(self) -> str:
        return f"RandomShift(max_shift={self.max_shift})"

    def offsets(self, n: int, generator: torch.Generator) -> torch.Tensor:
        """``(n, 2)`` integer offsets ``(dy, dx)`` in ``[-max_shift, max_shift]``."""
        m = self.max_shift
        return torch.randint(-m, m + 1, (n, 2), generator=generator)

    def __call__(self, x: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        """Shift each image of ``x`` (shape ``(n, c, h, w)``); the content moves by ``+dy`` rows
        and ``+dx`` columns: ``out[i, :, r, c] = x[i, :, r - dy, c - dx]``, zero outside."""
        if x.dim() != 4:
            raise ValueError(f"RandomShift: x has shape {tuple(x.shape)}; expected (n, channels, height, width)")
        m = self.max_shift
        if m == 0:
            return x
        n, _, h, w = x.shape
        d = self.offsets(n, generator).to(x.device)
        padded = F.pad(x, (m, m, m, m))  # (n, c, h + 2m, w + 2m), zeros around
        rows = torch.arange(h, device=x.device) + m - d[:, :1]  # (n, h): padded row read for output row r
        cols = torch.arange(w, device=x.device) + m - d[:, 1:]  # (n, w)
        batch = torch.arange(n, device=x.device)[:, None, None]
        return padded.permute(0, 2, 3, 1)[batch, rows[:, :, None], cols[:, None, :]].permute(0, 3, 1, 2)
