"""Lottery tickets: iterative magnitude pruning (IMP) with rewinding.

Frankle & Carbin (2019), "The lottery ticket hypothesis", Algorithm 1, with the rewinding of
Frankle, Dziugaite, Roy & Carbin (2020), "Linear mode connectivity and the lottery ticket
hypothesis". With :math:`\\theta_k` the weights after :math:`k` training steps (:math:`k = 0`:
the initialisation) and a mask :math:`m = 1`:

1. train :math:`m \\odot \\theta_k` to :math:`\\theta_T`;
2. :math:`m \\leftarrow` remove a fraction :math:`p` of the entries :math:`m` still keeps, the
   smallest :math:`|\\theta_T|` first (``prune.prune_remaining``);
3. **rewind**: :math:`\\theta \\leftarrow m \\odot \\theta_k`, and go to 1.

After :math:`r` rounds a fraction :math:`(1-p)^r` of the weights is left. The *ticket* is the
pair :math:`(m, \\theta_k)`. The control keeps :math:`m` and draws a fresh random initialisation
(``reinitialize``): if the ticket trains better, the kept weights' *starting values* mattered,
not only the mask's shape.

Pure cores: ``prune.prune_remaining`` (the masks) and ``rewind`` (tensors). Thin model wrappers:
``rewind_model``, ``reinitialize``, ``lottery_ticket``; each returns a new model and leaves the
one it is given unchanged. ``adam_fit`` is F&C's training recipe for LeNet-300-100 (Adam,
learning rate 1.2e-3, batches of 60) on the library's ``fit``.
"""

from __future__ import annotations

import copy
from collections.abc import Callable

import torch
from torch import nn

from ..optim import fit
from .masks import apply_masks, mask_sparsity, prunable_weights
from .prune import prune_remaining

__all__ = ["rewind", "rewind_model", "reinitialize", "lottery_ticket", "adam_fit"]



def rewind(initial: dict[str, torch.Tensor], masks: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """The rewound weights :math:`m \\odot \\theta_k`: ``{name: masks[name] * initial[name]}``
    for every masked name (shapes equal). The inputs are unchanged."""
    missing = set(masks) - set(initial)
    if missing:
        raise ValueError(f"rewind: masks has keys {sorted(missing)} that initial lacks")
    out = {}
    for key, m in masks.items():
        if tuple(m.shape) != tuple(initial[key].shape):
            raise ValueError(f"rewind: masks[{key!r}] has shape {tuple(m.shape)}, initial {tuple(initial[key].shape)}")
        out[key] = initial[key].detach() * m.to(initial[key].device)
    return out


def _plain(model: nn.Module, caller: str) -> None:
    """Plumbing: the wrappers take the network at its rewind point, without masks."""
    if any(k.endswith(".original") for k, _ in model.named_parameters()):
        raise ValueError(f"{caller}: model carries masks; pass the plain network at its rewind point")


def rewind_model(model: nn.Module, masks: dict[str, torch.Tensor]) -> nn.Module:
    """A copy of ``model`` (the plain network at its rewind point, :math:`\\theta_k`) with
    ``masks`` applied: its weights read :math:`m \\odot \\theta_k`, and training keeps the
    removed entries at zero."""
    _plain(model, "rewind_model")
    return apply_masks(copy.deepcopy(model), masks)


def reinitialize(model: nn.Module, masks: dict[str, torch.Tensor], seed: int) -> nn.Module:
    """The control: a copy of ``model`` whose layers get a fresh default initialisation
    (``reset_parameters``, drawn from ``torch.manual_seed(seed)`` without touching the global
    random stream), with ``masks`` applied."""
    _plain(model, "reinitialize")
    fresh = copy.deepcopy(model)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        for module in fresh.modules():
            if hasattr(module, "reset_parameters"):
                module.reset_parameters()
    return apply_masks(fresh, masks)


def lottery_ticket(model: nn.Module, train: Callable[[nn.Module], object], rounds: int,
                   rate: float | dict[str, float], scope: str = "layer",
                   evaluate: Callable[[nn.Module], float] | None = None) -> tuple[nn.Module, list[dict]]:
    """Iterative magnitude pruning with rewinding, ``rounds`` prunings of ``rate`` each (see the
    module docstring). ``model``: the plain network at its rewind point (unchanged).
    ``train(net)`` trains ``net`` in place (its masks applied); it is called ``rounds + 1`` times,
    first on the dense network. ``rate`` and ``scope`` as in ``prune.prune_remaining``.

    Returns ``(trained, history)``: the last round's trained network, and one dict per training,
    ``{"round", "sparsity", "masks", "value"}`` (``value = evaluate(trained network)`` or None;
    round 0 is dense). ``rewind_model(model, history[r]["masks"])`` is round ``r``'s ticket
    before training."""
    _plain(model, "lottery_ticket")
    if not (isinstance(rounds, int) and rounds >= 0):
        raise ValueError(f"lottery_ticket: rounds={rounds!r} must be a non-negative integer")
    masks = {key: torch.ones_like(w) for key, w in prunable_weights(model).items()}
    history = []
    for r in range(rounds + 1):
        # 1. rewind to the saved weights under the current mask, and train
        net = rewind_model(model, masks)
        train(net)
        history.append({"round": r, "sparsity": mask_sparsity(masks), "masks": masks,
                        "value": None if evaluate is None else evaluate(net)})
        # 2. prune the smallest trained weights among those still kept
        if r < rounds:
            masks = prune_remaining(prunable_weights(net), masks, rate, scope)
    return net, history


class _Adam(torch.optim.Adam):
    """Plumbing: ``torch.optim.Adam`` with the ``lr`` attribute that ``optim.fit`` reads and sets."""

    @property
    def lr(self) -> float:
        return self.param_groups[0]["lr"]

    @lr.setter
    def lr(self, value: float) -> None:
        for group in self.param_groups:
            group["lr"] = value


def adam_fit(model: nn.Module, data, epochs: int, lr: float = 1.2e-3, batch_size: int = 60,
             seed: int = 0, device=None):
    """Train ``model`` in place with Adam (``torch.optim.Adam``) at a constant ``lr`` for ``epochs``
    epochs on ``data`` (as ``optim.fit`` takes it), batches shuffled by ``seed``: F&C's recipe for
    LeNet-300-100. Masked entries get a zero gradient, so Adam leaves them at zero. Returns
    ``fit``'s ``FitResult``."""
    return fit(model, data, _Adam(model.parameters(), lr=lr), epochs=epochs, batch_size=batch_size,
               progress=False, seed=seed, device=device)
