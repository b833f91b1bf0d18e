"""Single-path one-shot NAS (SPOS): train the supernet once, then rank networks with its weights.

Guo et al. 2020, "Single path one-shot neural architecture search with uniform sampling" (ECCV);
the idea of ranking by shared weights comes from ENAS (Pham et al. 2018) and Bender et al. 2018.

1. **Supernet training** (``train_supernet``): for each mini-batch, draw one path ``a``
   uniformly (every edge's operation uniformly from the supernet's ops) and take one SGD step
   on the loss of that path only,

   .. math:: W \\leftarrow W - \\eta\\, \\nabla_W\\, L_{train}(W_a),\\qquad a \\sim U(\\mathcal A),

   so only the weights on the path move (the others get no gradient; ``optim.SGD`` skips them).
   The recipe (images, batch size, SGD with momentum, cosine decay per step) is the stand-alone
   one with a larger learning rate (``SPOS_RECIPE``), so one supernet epoch costs about one
   stand-alone epoch of an average network.
2. **Ranking** (``shared_weight_accuracy``): a network's score is the validation accuracy of its
   path with the shared weights, no training. Its batch-norm statistics can be *recalibrated*
   first (``recalibrate`` batches of training images through the path in training mode): the
   running statistics the supernet kept are an average over all the paths it sampled, not the
   statistics of this one.
3. **Search**: the score is an ordinary objective (``SupernetObjective``), so random search or
   regularized evolution search it with ``search()`` unchanged.

Whether the supernet ranks networks as stand-alone training does is the question one-shot NAS
stands on (Yu et al. 2020, "Evaluating the search phase of neural architecture search", found it
often does not); ``rank_correlation`` measures it against the tabular benchmark.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

import numpy as np
import torch
import torch.nn.functional as F

from ..device import pick_device
from ..optim import evaluate, shuffled_batches
from ..study import History, search
from .cell import EDGES, CellArchitecture, cell_space
from .evaluate import CELL_RECIPE, Recipe, deterministic
from .supernet import Supernet

__all__ = ["SPOS_RECIPE", "sample_path", "train_supernet", "recalibrate_batch_norm", "shared_weight_accuracy",
           "SupernetObjective", "rank_correlation", "OneShotResult", "one_shot_search"]


# the supernet's recipe: the stand-alone one (CELL_RECIPE) with a 3x larger learning rate. Each
# operation is on the sampled path only about one batch in seven, so at lr 0.1 a supernet learns
# slowly (training loss 1.80 after 6 epochs, against 1.59 at lr 0.3; 1.44 after 10 epochs at 0.3)
SPOS_RECIPE = replace(CELL_RECIPE, name="spos", lr=0.3)


def sample_path(rng: np.random.Generator, ops: Sequence[str]) -> CellArchitecture:
    """One operation per edge, each drawn uniformly from ``ops``: a path of the supernet."""
    return CellArchitecture(tuple(ops[i] for i in rng.integers(len(ops), size=len(EDGES))))


def _check_epochs(where: str, epochs) -> None:
    if not (isinstance(epochs, int) and epochs >= 1):
        raise ValueError(f"{where}: epochs={epochs!r} must be a positive integer")


def train_supernet(supernet: Supernet, data, epochs: int, recipe: Recipe = SPOS_RECIPE, seed: int = 0,
                   device=None) -> dict:
    """Single-path training of ``supernet`` in place (step 1 of the module docstring).

    ``data`` is a ``load_mnist()`` result; the first ``recipe.n_train`` training images are used,
    with ``recipe``'s batch size, SGD (lr, momentum, weight decay) and a cosine decay per step over
    ``epochs`` epochs. ``seed`` fixes the batch order and the paths. Returns ``{"epochs",
    "steps", "train_loss"`` (mean per epoch, list), ``"seconds"}``. Raises ``ValueError`` for
    ``epochs`` < 1.
    """
    _check_epochs("train_supernet", epochs)
    dev = pick_device() if device is None else torch.device(device)
    supernet.to(dev).train()
    x, y = data.x_train[:recipe.n_train].to(dev), data.y_train[:recipe.n_train].to(dev)
    generator, rng = torch.Generator().manual_seed(seed), np.random.default_rng(seed)
    optimizer, schedule = recipe.sgd(supernet.parameters(), len(x), epochs)
    losses, step, start = [], 0, time.perf_counter()
    with deterministic():
        for _ in range(epochs):
            total = torch.zeros((), device=dev)
            for idx in shuffled_batches(len(x), recipe.batch_size, generator, dev):
                optimizer.lr = schedule(step)
                path = sample_path(rng, supernet.op_names)  # 1. a uniform path
                optimizer.zero_grad()
                loss = F.cross_entropy(supernet(x[idx], arch=path), y[idx])  # 2. its loss only
                loss.backward()
                optimizer.step()  # 3. weights off the path have no gradient and stay put
                total += loss.detach() * len(idx)
                step += 1
            losses.append((total / len(x)).item())
    return {"epochs": epochs, "steps": step, "train_loss": losses, "seconds": time.perf_counter() - start}


@torch.no_grad()
def recalibrate_batch_norm(model: torch.nn.Module, x: torch.Tensor, batches: int, batch_size: int = 50) -> None:
    """Reset every batch norm's running statistics of ``model`` and re-estimate them as the plain
    average over the first ``batches`` mini-batches of ``x`` (shape ``(n, 1, 28, 28)``), run in
    training mode without gradients. Raises ``ValueError`` when ``x`` has fewer images."""
    if not (isinstance(batches, int) and batches >= 1) or batches * batch_size > len(x):
        raise ValueError(f"recalibrate_batch_norm: batches={batches!r} of {batch_size} images needs "
                         f"1 <= batches and batches * batch_size <= {len(x)} images")
    norms = [m for m in model.modules() if isinstance(m, torch.nn.modules.batchnorm._BatchNorm)]
    momenta = [m.momentum for m in norms]
    for m in norms:
        m.reset_running_stats()
        m.momentum = None  # a cumulative average, not an exponential one
    was_training = model.training
    model.train()
    for start in range(0, batches * batch_size, batch_size):
        model(x[start:start + batch_size])
    model.train(was_training)
    for m, momentum in zip(norms, momenta):
        m.momentum = momentum


def shared_weight_accuracy(supernet: Supernet, arch: CellArchitecture, data, n_val: int | None = 1000,
                           recalibrate: int = 0, recipe: Recipe = CELL_RECIPE) -> float:
    """Validation accuracy (first ``n_val`` images) of ``arch``'s path with the supernet's shared
    weights, without training. The path scored is ``arch.canonical()``: a dead edge's shared
    convolution would otherwise add the constant its batch norm's running statistics produce from
    zeros, so two genotypes of one network would score differently. With ``recalibrate`` > 0 its batch-norm statistics are first
    re-estimated from that many batches of the first training images (on a copy: the supernet
    is unchanged). Raises ``ValueError`` for ``recalibrate`` < 0."""
    if not (isinstance(recalibrate, int) and recalibrate >= 0):
        raise ValueError(f"shared_weight_accuracy: recalibrate={recalibrate!r} must be an integer >= 0")
    dev = next(supernet.parameters()).device
    net = supernet.subnet(arch.canonical())
    if recalibrate:
        recalibrate_batch_norm(net, data.x_train[:recipe.n_train].to(dev), recalibrate, recipe.batch_size)
    with deterministic():
        _, acc = evaluate(net, data.x_val[:n_val].to(dev), data.y_val[:n_val].to(dev))
    return acc


class SupernetObjective:
    """``params -> shared-weight validation accuracy`` (for ``search(..., minimize=False)``).

    ``evaluations`` counts the calls and ``seconds`` their wall time: the compute of the ranking.
    """

    def __init__(self, supernet: Supernet, data, n_val: int | None = 1000, recalibrate: int = 0):
        self.supernet, self.data, self.n_val, self.recalibrate = supernet, data, n_val, recalibrate
        self.evaluations, self.seconds = 0, 0.0

    def __call__(self, params: Mapping) -> float:
        start = time.perf_counter()
        acc = shared_weight_accuracy(self.supernet, CellArchitecture.from_params(params), self.data,
                                     self.n_val, self.recalibrate)
        self.evaluations += 1
        self.seconds += time.perf_counter() - start
        return acc


def rank_correlation(scores: Sequence[float], truth: Sequence[float], n_boot: int = 0, seed: int = 0) -> dict:
    """Kendall's tau and Spearman's rho between two scorings of the same networks (scipy's
    ``kendalltau`` (tau-b, ties handled) and ``spearmanr``): ``{"kendall", "spearman", "n"}``.
    1 means the same order, 0 no relation.

    With ``n_boot`` > 0 the networks are resampled with replacement ``n_boot`` times (a
    percentile bootstrap, seeded by ``seed``): ``"kendall_boot"`` holds the ``(n_boot,)`` taus and
    ``"kendall_interval"`` their 5th and 95th percentiles. Two calls with the same ``seed`` and
    length draw the same resamples, so their ``kendall_boot`` can be subtracted (a paired
    comparison). Raises ``ValueError`` on lengths that differ or < 3, or ``n_boot`` < 0."""
    from scipy.stats import kendalltau, spearmanr

    if len(scores) != len(truth) or len(scores) < 3:
        raise ValueError(f"rank_correlation: scores ({len(scores)}) and truth ({len(truth)}) need equal lengths >= 3")
    if not (isinstance(n_boot, int) and n_boot >= 0):
        raise ValueError(f"rank_correlation: n_boot={n_boot!r} must be an integer >= 0")
    scores, truth = np.asarray(scores, dtype=float), np.asarray(truth, dtype=float)
    out = {"kendall": float(kendalltau(scores, truth).statistic), "spearman": float(spearmanr(scores, truth).statistic),
           "n": len(scores)}
    if n_boot:
        rng = np.random.default_rng(seed)
        boot = []
        for _ in range(n_boot):
            idx = rng.integers(len(scores), size=len(scores))  # (n,) networks drawn with replacement
            boot.append(kendalltau(scores[idx], truth[idx]).statistic)
        out["kendall_boot"] = np.array(boot)
        out["kendall_interval"] = tuple(float(q) for q in np.nanpercentile(boot, [5, 95]))
    return out


@dataclass
class OneShotResult:
    """What ``one_shot_search`` returns: the trained ``supernet``, its ``training`` record
    (``train_supernet``), the search ``history`` over shared-weight scores, the ``pick`` (best
    score), and the ranking's cost: ``evaluations`` and ``score_seconds``; ``seconds`` is the whole
    pipeline's wall time."""

    supernet: Supernet
    training: dict
    history: History
    pick: CellArchitecture
    evaluations: int
    score_seconds: float
    seconds: float


def one_shot_search(data, epochs: int, strategy: str = "evolution", budget: int = 50, recalibrate: int = 4,
                    n_val: int | None = 1000, recipe: Recipe = SPOS_RECIPE, seed: int = 0, device=None,
                    options: Mapping | None = None) -> OneShotResult:
    """The single-path one-shot pipeline: train a ``Supernet`` (seed ``seed``) for ``epochs``
    (``train_supernet``), then search ``cell_space()`` with ``strategy`` for ``budget``
    shared-weight scores (``SupernetObjective``, maximised), and pick the best-scoring network.
    Nothing is trained stand-alone; the pick's true accuracy is for the caller to measure (or
    look up in the cell table). Raises ``ValueError`` for ``epochs`` or ``budget`` < 1."""
    _check_epochs("one_shot_search", epochs)
    if not (isinstance(budget, int) and budget >= 1):
        raise ValueError(f"one_shot_search: budget={budget!r} must be a positive integer")
    start = time.perf_counter()
    supernet = Supernet(seed=seed)
    training = train_supernet(supernet, data, epochs, recipe, seed, device)
    objective = SupernetObjective(supernet, data, n_val, recalibrate)
    history = search(objective, cell_space(supernet.op_names), strategy, budget=budget, seed=seed, minimize=False,
                     progress=False, options=options)
    pick = CellArchitecture.from_params(history.best.params)
    return OneShotResult(supernet, training, history, pick, objective.evaluations, objective.seconds,
                         time.perf_counter() - start)
