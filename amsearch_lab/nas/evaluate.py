"""Scoring architectures by training them: a cheap low-fidelity recipe for the search and
the full recipe for the final model. Both reuse ``optim.fit`` and are deterministic by seed.

The evaluation metric (评估指标) is classification accuracy. The search compares candidates on
the *validation* split only; the *test* split is never used to choose (the source material
validates its final model on the test set, so the test figure it reports is no longer an
unbiased estimate). ``train_architecture`` trains without reading the test split;
``read_test_accuracy`` reads it for a network that has been chosen; ``evaluate_architecture``
does both, for the tabular benchmark, which stores every network's test accuracy.

A recipe fixes everything but the architecture: the first ``n_train`` training images (all
when None), the first ``n_val`` validation and ``n_test`` test images, SGD with momentum
(our ``optim.SGD``), a cosine learning-rate decay per step from ``lr`` to 0 (``CosineDecay``),
``epochs`` passes of mini-batches of ``batch_size``, shuffled by a generator seeded with
``seed``, each training image shifted by up to ``max_shift`` pixels (``optim.RandomShift``, drawn
from the same generator; 0 = no augmentation); the weights are initialised from ``seed`` too
(``nas.build``). ``LOW_FIDELITY`` (what the table was built with) has no shifts; ``FULL`` has. On CUDA the network
runs its matrix products in bfloat16 (``NASNet``, mixed precision). On the CPU two runs with
the same seed and the same number of threads give identical numbers; a different thread count
or device may change the last digits (floating-point sums are done in another order).
"""

from __future__ import annotations

import time
from contextlib import contextmanager
from dataclasses import dataclass

import torch

from ..device import describe_device, pick_device
from ..optim import SGD, CosineDecay, RandomShift, evaluate, fit
from .build import build, count_flops, count_params
from .cell import CellArchitecture, build_cell, count_cell_flops, count_cell_params
from .space import MAX_PARAMS, Architecture, validate

__all__ = ["Recipe", "LOW_FIDELITY", "CELL_RECIPE", "FULL", "deterministic", "train_architecture", "read_test_accuracy",
           "evaluate_architecture", "LowFidelityObjective"]


@dataclass(frozen=True)
class Recipe:
    """How an architecture is trained and measured (see the module docstring)."""

    name: str
    n_train: int | None
    n_val: int | None
    n_test: int | None
    epochs: int
    batch_size: int
    lr: float
    momentum: float = 0.9
    weight_decay: float = 5e-4
    max_shift: int = 0

    def __post_init__(self):
        for field in ("n_train", "n_val", "n_test"):
            n = getattr(self, field)
            if n is not None and not (isinstance(n, int) and n >= 1):
                raise ValueError(f"Recipe {self.name!r}: {field}={n!r} must be a positive integer or None")
        if not (isinstance(self.epochs, int) and self.epochs >= 1):
            raise ValueError(f"Recipe {self.name!r}: epochs={self.epochs!r} must be a positive integer")
        if not (isinstance(self.batch_size, int) and self.batch_size >= 1):
            raise ValueError(f"Recipe {self.name!r}: batch_size={self.batch_size!r} must be a positive integer")
        if not self.lr > 0:
            raise ValueError(f"Recipe {self.name!r}: lr={self.lr!r} must be > 0")
        if not (isinstance(self.max_shift, int) and self.max_shift >= 0):
            raise ValueError(f"Recipe {self.name!r}: max_shift={self.max_shift!r} must be an integer >= 0")

    def describe(self) -> str:
        """One line, e.g. ``low: 2000 train / 1000 val / 1000 test images, 1 epoch(s), batch 50, ...``."""
        n = {f: ("all" if getattr(self, f) is None else getattr(self, f)) for f in ("n_train", "n_val", "n_test")}
        return (f"{self.name}: {n['n_train']} train / {n['n_val']} val / {n['n_test']} test images, "
                f"{self.epochs} epoch(s), batch {self.batch_size}, SGD lr {self.lr} momentum {self.momentum} "
                f"weight decay {self.weight_decay}, cosine decay per step"
                + (f", random shifts of up to {self.max_shift} px" if self.max_shift else ""))

    def sgd(self, parameters, n_images: int, epochs: int | None = None) -> tuple[SGD, CosineDecay]:
        """The recipe's optimizer and learning-rate schedule for ``epochs`` (default ``self.epochs``)
        passes over ``n_images`` training images: ``optim.SGD`` with the recipe's lr, momentum and
        weight decay, and a ``CosineDecay`` from ``lr`` to 0 over every step of the run
        (``ceil(n_images / batch_size)`` steps per epoch), to be applied per step."""
        epochs = self.epochs if epochs is None else epochs
        steps = epochs * -(-n_images // self.batch_size)  # ceil(n / batch) per epoch
        optimizer = SGD(parameters, lr=self.lr, momentum=self.momentum, weight_decay=self.weight_decay)
        return optimizer, CosineDecay(self.lr, t_max=steps)


LOW_FIDELITY = Recipe("low", n_train=2000, n_val=1000, n_test=1000, epochs=1, batch_size=50, lr=0.1)
# the cell table's recipe (``nas.cell``): the low-fidelity one with 3 epochs instead of 1. In a pilot
# (on a first version of these networks, without the batch norm before the head), one epoch (40 steps)
# left them near 30 % and two seeds of one network differed by up to 17 points, so a 1-epoch table
# would rank by noise. In the shipped table (3 epochs) the networks with a convolution reach a median
# validation accuracy of 0.847 (0.901 with three), and two seeds of a network differ by a median of
# 2.5 points (90th percentile 7.3, largest 14.6)
CELL_RECIPE = Recipe("cell", n_train=2000, n_val=1000, n_test=1000, epochs=3, batch_size=50, lr=0.1)
FULL = Recipe("full", n_train=None, n_val=None, n_test=None, epochs=12, batch_size=128, lr=0.1, max_shift=2)


@contextmanager
def deterministic():
    """Ask torch for deterministic kernels inside the block (warn where none exists), then
    restore the previous setting."""
    enabled, warn_only = torch.are_deterministic_algorithms_enabled(), torch.is_deterministic_algorithms_warn_only_enabled()
    torch.use_deterministic_algorithms(True, warn_only=True)
    try:
        yield
    finally:
        torch.use_deterministic_algorithms(enabled, warn_only=warn_only)


def _network(arch, seed: int, max_params: int) -> tuple[torch.nn.Module, int, int]:
    """``(model, params, flops)`` of a chain ``Architecture`` (validated) or a ``CellArchitecture``."""
    if isinstance(arch, CellArchitecture):
        return build_cell(arch, seed=seed), count_cell_params(arch), count_cell_flops(arch)
    validate(arch, max_params)
    return build(arch, seed=seed), count_params(arch), count_flops(arch)


def train_architecture(arch: Architecture | CellArchitecture, data, recipe: Recipe = LOW_FIDELITY, seed: int = 0,
                       device=None, max_params: int = MAX_PARAMS, progress: bool = False) -> tuple[torch.nn.Module, dict]:
    """Train ``arch`` with ``recipe`` on ``data`` (a ``load_mnist()`` result); the test split is not read.

    ``arch`` is a chain ``Architecture`` (``nas.space``) or a ``CellArchitecture`` (``nas.cell``).
    Returns ``(model, record)``: the trained network (on ``device``) and ``{"key", "val_acc",
    "params", "flops", "train_seconds", "device", "recipe", "seed"}``; ``train_seconds`` is the
    wall time of ``fit`` (training and the per-epoch validation). Raises ``InvalidArchitecture``
    for an invalid ``arch``. Use it where several networks are compared before one is chosen:
    read the test split afterwards, for the chosen one only (``read_test_accuracy``).
    """
    # 1. the network, the data subsets and the optimizer, all fixed by the recipe and seed
    dev = pick_device() if device is None else torch.device(device)
    x_train, y_train = data.x_train[:recipe.n_train], data.y_train[:recipe.n_train]
    x_val, y_val = data.x_val[:recipe.n_val], data.y_val[:recipe.n_val]
    with deterministic():
        model, n_params, n_flops = _network(arch, seed, max_params)
        model = model.to(dev)
        optimizer, schedule = recipe.sgd(model.parameters(), len(x_train))
        # 2. train with the one training loop of the library
        start = time.perf_counter()
        result = fit(model, (x_train, y_train, x_val, y_val), optimizer, schedule=schedule,
                     schedule_per="step", epochs=recipe.epochs, device=dev, batch_size=recipe.batch_size,
                     progress=progress, seed=seed, augment=RandomShift(recipe.max_shift) if recipe.max_shift else None)
        train_seconds = time.perf_counter() - start
    return model, {"key": arch.key, "val_acc": result.records[-1]["val_acc"], "params": n_params,
                   "flops": n_flops, "train_seconds": train_seconds, "device": describe_device(dev),
                   "recipe": recipe.name, "seed": seed}


def read_test_accuracy(model: torch.nn.Module, data, recipe: Recipe) -> float:
    """Accuracy of a trained ``model`` on the first ``recipe.n_test`` test images (all when None),
    on the device of its parameters: the figure to report, never one to choose by."""
    dev = next(model.parameters()).device
    x_test, y_test = data.x_test[:recipe.n_test].to(dev), data.y_test[:recipe.n_test].to(dev)
    with deterministic():
        _, acc = evaluate(model, x_test, y_test)
    return acc


def evaluate_architecture(arch: Architecture | CellArchitecture, data, recipe: Recipe = LOW_FIDELITY, seed: int = 0,
                          device=None, max_params: int = MAX_PARAMS, progress: bool = False) -> dict:
    """Train ``arch`` with ``recipe`` on ``data`` (``train_architecture``), then read the test split once.

    Returns ``train_architecture``'s record plus ``"test_acc"``. This is what the tabular
    benchmark stores for every network; a lesson reads a network's ``test_acc`` only once that
    network has been chosen by validation. Raises ``InvalidArchitecture`` for an invalid ``arch``.
    """
    model, record = train_architecture(arch, data, recipe, seed, device, max_params, progress)
    return {**record, "test_acc": read_test_accuracy(model, data, recipe)}


class LowFidelityObjective:
    """``params -> validation accuracy`` by training (for ``search(..., minimize=False)``).

    Every evaluation's record (``train_architecture``: key, validation accuracy, parameters,
    training time; no test accuracy) is kept in ``records``. The test split is never read here:
    it is read once, for the network finally chosen (``train_final`` / ``read_test_accuracy``).
    """

    def __init__(self, data, recipe: Recipe = LOW_FIDELITY, seed: int = 0, device=None, max_params: int = MAX_PARAMS):
        self.data, self.recipe, self.seed, self.device, self.max_params = data, recipe, seed, device, max_params
        self.records: list[dict] = []

    def __call__(self, params: dict) -> float:
        arch = Architecture.from_params(params)
        _, record = train_architecture(arch, self.data, self.recipe, self.seed, self.device, self.max_params)
        self.records.append(record)
        return record["val_acc"]


