"""Low-rank splitting (分层): replace one wide Linear layer by two thin ones.

A weight :math:`W \\in \\mathbb{R}^{m\\times n}` has the singular value decomposition
:math:`W = U \\Sigma V^\\top` with :math:`\\sigma_1 \\ge \\sigma_2 \\ge \\dots`. Keeping the first r
terms gives the best rank-r approximation (Eckart–Young), with error
:math:`\\|W - W_r\\|_F = \\sqrt{\\sum_{k>r} \\sigma_k^2}`:

.. math::

    W_r = \\underbrace{U_r \\Sigma_r^{1/2}}_{B\\;(m\\times r)}\\;\\underbrace{\\Sigma_r^{1/2} V_r^\\top}_{A\\;(r\\times n)},
    \\qquad y = W x + b \\approx B (A x) + b .

So ``nn.Linear(n, m)`` becomes ``nn.Linear(n, r, bias=False)`` (weight A) followed by
``nn.Linear(r, m)`` (weight B, the old bias): :math:`r(n+m) + m` parameters instead of
:math:`nm + m`, fewer when :math:`r < nm/(n+m)`. The rank is given, or chosen as the smallest r
that keeps a fraction ``energy`` of :math:`\\sum_k \\sigma_k^2`. At full rank the split is exact.
``split_model`` returns ``(split copy, ranks)`` and leaves the model it is given unchanged.
"""

from __future__ import annotations

import copy

import torch
from torch import nn

from .layers import set_module

__all__ = ["energy", "rank_for_energy", "svd_factors", "split_linear", "split_model"]


def energy(singular_values: torch.Tensor) -> torch.Tensor:
    """Retained energy of each rank: :math:`E_r = \\sum_{k\\le r}\\sigma_k^2 / \\sum_k \\sigma_k^2`, shape (min(m, n),).

    The squares are taken of :math:`\\sigma / 2^e`, with :math:`2^e` the power of two just above
    :math:`\\sigma_1` (``frexp``). Dividing by a power of two is exact and cancels in the ratio, so
    :math:`E_r` is bit for bit the plain formula wherever that one works, and still right where
    its squares would overflow (:math:`\\sigma = 10^{200}`) or underflow to 0 (:math:`10^{-200}`).
    A zero matrix (every :math:`\\sigma_k = 0`) has no energy to lose: every rank keeps all of
    it, :math:`E_r = 1` (rank 1 already reproduces it exactly), so its rank for any fraction is 1.
    """
    s = singular_values.detach().double()
    if s.numel() == 0:
        raise ValueError("energy: singular_values is empty: a matrix without rows or columns has no rank to keep")
    _, e = torch.frexp(s.abs().max())  # max sigma < 2^e; e = 0 for a zero matrix
    s2 = torch.ldexp(s, -e) ** 2
    total = s2.sum()
    if total == 0:
        return torch.ones_like(s2)
    return torch.cumsum(s2, 0) / total


def rank_for_energy(singular_values: torch.Tensor, fraction: float) -> int:
    """The smallest rank r with :math:`E_r \\ge` ``fraction`` (1 for a zero matrix, see ``energy``)."""
    if not 0.0 < fraction <= 1.0:
        raise ValueError(f"rank_for_energy: fraction={fraction!r} must be in (0, 1]")
    e = energy(singular_values)
    # a tiny tolerance so that fraction=1.0 is reached despite rounding in the cumulative sum
    return min(int(torch.searchsorted(e, torch.tensor(fraction - 1e-12, dtype=e.dtype))) + 1, len(e))


def svd_factors(weight: torch.Tensor, rank: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Factors ``(A, B)`` of shapes (r, n) and (m, r) with ``B @ A`` the best rank-r approximation."""
    m, n = weight.shape
    if not (isinstance(rank, int) and 1 <= rank <= min(m, n)):
        raise ValueError(f"svd_factors: rank={rank!r} must be an integer in [1, {min(m, n)}]")
    # float64 so that the full-rank split reproduces W to float32 precision
    u, s, vh = torch.linalg.svd(weight.detach().double(), full_matrices=False)
    root = s[:rank].sqrt()
    a = root.unsqueeze(1) * vh[:rank]      # (r, n) = Σ_r^{1/2} V_r^T
    b = u[:, :rank] * root                 # (m, r) = U_r Σ_r^{1/2}
    return a.to(weight.dtype), b.to(weight.dtype)


@torch.no_grad()
def split_linear(layer: nn.Linear, rank: int | None = None, energy_fraction: float | None = None) -> nn.Sequential:
    """``nn.Linear(n, m)`` -> ``Sequential(Linear(n, r, bias=False), Linear(r, m))`` by truncated SVD.

    Give exactly one of ``rank`` and ``energy_fraction``."""
    if (rank is None) == (energy_fraction is None):
        raise ValueError(f"split_linear: give exactly one of rank={rank!r} and energy_fraction={energy_fraction!r}")
    if rank is None:
        rank = rank_for_energy(torch.linalg.svdvals(layer.weight.detach().double()), energy_fraction)
    a, b = svd_factors(layer.weight, rank)
    first = nn.Linear(layer.in_features, rank, bias=False).to(a.device, a.dtype)
    second = nn.Linear(rank, layer.out_features, bias=layer.bias is not None).to(b.device, b.dtype)
    first.weight.copy_(a)
    second.weight.copy_(b)
    if layer.bias is not None:
        second.bias.copy_(layer.bias)
    return nn.Sequential(first, second)


def split_model(model: nn.Module, rank: int | None = None, energy_fraction: float | None = None,
                only_if_smaller: bool = True) -> tuple[nn.Module, dict[str, int]]:
    """A copy of ``model`` with each ``nn.Linear`` split by ``split_linear``.

    With ``only_if_smaller`` a layer is split only when the two thin layers hold fewer
    parameters than the wide one (at rank ``min(rank, m, n)``). Returns ``(split, ranks)``,
    ``ranks[layer name]`` the rank of each layer that was split; ``model`` itself is unchanged."""
    if rank is not None and not (isinstance(rank, int) and rank >= 1):
        raise ValueError(f"split_model: rank={rank!r} must be a positive integer")
    split_copy = copy.deepcopy(model)
    ranks = {}
    for name, layer in list(split_copy.named_modules()):
        if not isinstance(layer, nn.Linear):
            continue
        r = min(rank, layer.in_features, layer.out_features) if rank is not None else None
        split = split_linear(layer, rank=r, energy_fraction=energy_fraction)
        if only_if_smaller and sum(p.numel() for p in split.parameters()) >= sum(p.numel() for p in layer.parameters()):
            continue
        set_module(split_copy, name, split)
        ranks[name] = split[0].out_features
    return split_copy, ranks
