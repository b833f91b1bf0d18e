"""Merging (合并): fold pairs of near-duplicate neurons into one.

Neuron i of a hidden Linear layer has the incoming vector :math:`v_i = [W_{i,:}, b_i]`. Two
neurons are similar when their vectors are nearly parallel,

.. math:: C_{ij} = \\frac{v_i \\cdot v_j}{\\|v_i\\|\\,\\|v_j\\|} \\ge \\tau .

If :math:`v_j = c\\,v_i` with :math:`c > 0`, then with ReLU (which is positively homogeneous,
:math:`\\mathrm{relu}(c z) = c\\,\\mathrm{relu}(z)`) neuron j's output is :math:`a_j = c\\,a_i`, so
the next layer's :math:`W'_{:,i} a_i + W'_{:,j} a_j = (W'_{:,i} + c\\,W'_{:,j})\\,a_i`: neuron j
can be removed and its outgoing weights folded into neuron i, *exactly*. For nearly parallel
vectors we take the least-squares :math:`c = v_j\\cdot v_i / \\|v_i\\|^2` and the merge is an
approximation (fine-tuning repairs the rest).

A *dead* neuron, :math:`v_j = 0` (all incoming weights and its bias zero), outputs the constant
:math:`\\mathrm{act}(0)`. Its cosine with any neuron is taken as 0 (scikit-learn's convention for
a zero vector), so it pairs only when the threshold is :math:`\\le 0`; then its scale is
:math:`c = 0` (not the 0/0 of the formula) and the merge simply removes it. That is exact whenever
:math:`\\mathrm{act}(0) = 0`: ReLU and Identity (the layers ``merge_neurons`` merges through), and
also tanh, GELU, ELU, leaky ReLU. With :math:`\\mathrm{act}(0) \\ne 0` (sigmoid: 1/2, softplus:
log 2) the constant :math:`\\mathrm{act}(0)\\,W'_{:,j}` would belong in the next layer's bias instead.

The pure cores are ``similarity``, ``merge_pairs`` and ``merge``; ``merge_neurons`` applies them
to every hidden Linear layer of an ``nn.Sequential``. ``prune_like_merge`` builds the baseline a
merge should be compared with: the same layer sizes, reached by removing the least important
neurons instead (structured pruning, ``structured.py``).
"""

from __future__ import annotations

import copy
import math

import torch
from torch import nn

from .layers import layer_like
from .structured import hidden_layers, neuron_scores, next_layer, shrink

__all__ = ["similarity", "merge_pairs", "merge", "merge_neurons", "prune_like_merge"]

_HOMOGENEOUS = (nn.ReLU, nn.Identity)


def _incoming(w_in: torch.Tensor, b_in: torch.Tensor | None) -> torch.Tensor:
    """Plumbing: rows ``[W_i, b_i]``, shape (m, n + 1) (or (m, n) without bias)."""
    return w_in if b_in is None else torch.cat([w_in, b_in.unsqueeze(1)], dim=1)


def _rescaled(v: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Plumbing: each row of v divided by the power of two :math:`2^{e_i}` just above its largest
    entry, and e (m,). Dividing by a power of two only changes exponents, so it is exact, and
    afterwards no square of an entry can overflow or underflow. Cosines and the scale c are
    ratios in which :math:`2^{e_i}` cancels: on these rows they are the same floats as on v
    wherever v's squares stay in range (float32: entries between about 1e-19 and 1e19), and
    right where they do not (there the norms were inf or 0, and the cosines 0). A zero row stays 0."""
    _, e = torch.frexp(v.abs().amax(dim=1))  # max |v_i| < 2^e_i; e_i = 0 for a zero row
    return torch.ldexp(v.double(), -e.unsqueeze(1)).to(v.dtype), e


def similarity(w_in: torch.Tensor, b_in: torch.Tensor | None = None) -> torch.Tensor:
    """Cosine similarity :math:`C_{ij}` of the neurons' incoming vectors, shape (m, m); 0 for a
    dead neuron (a zero vector)."""
    u, _ = _rescaled(_incoming(w_in.detach(), None if b_in is None else b_in.detach()))
    u = u / u.norm(dim=1, keepdim=True).clamp_min(1e-12)  # a nonzero rescaled row has norm >= 1/2
    return u @ u.T


def merge_pairs(w_in: torch.Tensor, b_in: torch.Tensor | None = None, threshold: float = 0.95,
                max_pairs: int | None = None) -> list[tuple[int, int, float]]:
    """Disjoint pairs ``(keep, drop, c)`` with :math:`C \\ge` ``threshold``, most similar first.

    Greedy: walk the pairs by decreasing similarity and take a pair when neither neuron is taken
    yet (ties in the order of the indices). Of the two, the neuron with the longer vector is kept;
    ``c`` is the least-squares scale with :math:`v_{drop} \\approx c\\, v_{keep}`, 0 when ``drop`` is
    dead (see the module), and a pair with c < 0 is skipped. At most ``max_pairs`` pairs (None: no limit).
    """
    if not -1.0 <= threshold <= 1.0:
        raise ValueError(f"merge_pairs: threshold={threshold!r} must be a cosine in [-1, 1]")
    if max_pairs is not None and max_pairs < 0:
        raise ValueError(f"merge_pairs: max_pairs={max_pairs!r} must be >= 0 or None")
    u, e = _rescaled(_incoming(w_in.detach(), None if b_in is None else b_in.detach()))  # v_i = u_i 2^e_i
    sim = similarity(w_in, b_in)
    # 1. candidate pairs i < j above the threshold, most similar first
    i, j = torch.triu_indices(len(sim), len(sim), offset=1, device=sim.device)
    s = sim[i, j]
    above = s >= threshold
    order = torch.argsort(s[above], descending=True, stable=True)
    candidates = torch.stack([i[above][order], j[above][order]], dim=1).tolist()
    # 2. greedy: take a pair if both neurons are still free
    taken, pairs = set(), []
    norms = torch.ldexp(u.norm(dim=1).double(), e)  # |v_i|, in float64: no overflow
    dead = u.abs().amax(dim=1) == 0
    for a, b in candidates:
        if max_pairs is not None and len(pairs) >= max_pairs:
            break
        if a in taken or b in taken:
            continue
        keep, drop = (a, b) if norms[a] >= norms[b] else (b, a)
        if dead[drop]:  # v_drop = 0 = 0 v_keep exactly (the formula would give 0/0 for two dead ones)
            c = 0.0
        else:  # c = v_drop·v_keep / v_keep·v_keep = (u_drop·u_keep / u_keep·u_keep) 2^(e_drop - e_keep)
            c = math.ldexp(float(u[drop] @ u[keep] / (u[keep] @ u[keep])), int(e[drop] - e[keep]))
        if c < 0:  # only a scale c >= 0 passes through ReLU: relu(c z) = c relu(z)
            continue
        taken.update((a, b))
        pairs.append((keep, drop, c))
    return pairs


def merge(w_in: torch.Tensor, b_in: torch.Tensor | None, w_out: torch.Tensor,
          pairs: list[tuple[int, int, float]]) -> tuple[torch.Tensor, torch.Tensor | None, torch.Tensor]:
    """Fold each ``drop`` neuron into its ``keep`` neuron: :math:`W'_{:,keep} \\mathrel{+}= c\\,W'_{:,drop}`,
    then delete row ``drop`` of ``w_in``/``b_in`` and column ``drop`` of ``w_out``."""
    w_out = w_out.detach().clone()
    for keep, drop, c in pairs:
        w_out[:, keep] += c * w_out[:, drop]
    dropped = {drop for _, drop, _ in pairs}
    kept = torch.tensor([k for k in range(w_in.shape[0]) if k not in dropped], device=w_in.device)
    return w_in.detach()[kept], None if b_in is None else b_in.detach()[kept], w_out[:, kept]


@torch.no_grad()
def merge_neurons(model: nn.Sequential, threshold: float = 0.95,
                  max_pairs: int | None = None) -> tuple[nn.Sequential, dict[int, list]]:
    """Merge similar neurons in every hidden Linear layer that is followed by ReLU and a Linear.

    Returns ``(merged_model, pairs)`` with ``pairs[layer index]`` as from ``merge_pairs``;
    ``model`` itself is unchanged."""
    merged = copy.deepcopy(model)
    all_pairs = {}
    for i in hidden_layers(model):
        j = next_layer(model, i)
        between = list(model[i + 1:j])
        if not isinstance(model[i], nn.Linear) or not isinstance(model[j], nn.Linear) \
                or not all(isinstance(m, _HOMOGENEOUS) for m in between):
            continue  # merging is exact only through Linear -> ReLU -> Linear
        layer, nxt = merged[i], merged[j]
        pairs = merge_pairs(layer.weight, layer.bias, threshold, max_pairs)
        w_in, b_in, w_out = merge(layer.weight, layer.bias, nxt.weight, pairs)
        merged[i] = layer_like(layer, w_in, b_in)
        merged[j] = layer_like(nxt, w_out, nxt.bias)
        all_pairs[i] = pairs
    return merged, all_pairs


def prune_like_merge(model: nn.Sequential, pairs: dict[int, list], method: str = "l1", x: torch.Tensor | None = None,
                     y: torch.Tensor | None = None) -> tuple[nn.Sequential, dict[int, torch.Tensor]]:
    """The equal-size baseline of a merge: remove from each hidden layer ``i`` as many neurons as
    ``pairs[i]`` drops (``pairs`` as returned by ``merge_neurons(model, ...)``), those with the
    lowest ``neuron_scores(model, method, x, y)``. The result has the merged network's layer sizes,
    so the same parameter count.

    Returns ``(pruned_model, keep)`` like ``prune_neurons``; ``model`` itself is unchanged. Raises
    ValueError when ``pairs`` names a layer that is not a hidden layer of ``model``, or drops as
    many neurons as the layer has."""
    scores = neuron_scores(model, method, x, y)
    keep = {}
    for i, layer_pairs in pairs.items():
        if i not in scores:
            raise ValueError(f"prune_like_merge: pairs has layer index {i}; hidden layers are {sorted(scores)}")
        n, n_drop = scores[i].numel(), len(layer_pairs)
        if n_drop >= n:
            raise ValueError(f"prune_like_merge: pairs[{i}] drops {n_drop} neurons; layer {i} has only {n}")
        keep[i] = torch.topk(scores[i], n - n_drop).indices.sort().values  # the n - n_drop highest scores
    return shrink(model, keep), keep
