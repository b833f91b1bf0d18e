"""Objectives that train step by step and report a learning curve (multi-fidelity objectives).

Both classes follow the protocol of ``fidelity.py``: ``objective(params, run)`` trains from
``run.start`` (the step already in ``run.state``) up to ``run.budget`` (None = its own maximum),
calls ``run.report(step, value, state=...)`` after every step, and returns the last value.

- ``MnistMLP``        the reference workload of ``python -m amsearch_lab.bench mf``: an MLP
                      trained epoch by epoch on MNIST; value = validation accuracy (maximise).
- ``SyntheticCurves`` power-law curves with a known ranking, no training at all; value = a loss
                      (minimise). For tests, the lesson and its playground.

A configuration always trains the same way, whatever the strategy and however its training is
cut into jobs: its randomness is seeded from ``(seed, params)`` by ``params_seed`` (sha256, never
Python's ``hash()``, which changes from one process to the next), and continuing from a
checkpoint gives exactly the curve of training straight through.
"""

from __future__ import annotations

import hashlib
import json
import math
import numbers

import numpy as np

from .space import Choice, Float, Space

__all__ = ["MnistMLP", "SyntheticCurves", "params_seed", "CHANCE"]

CHANCE = 0.1  # accuracy of a guess among MNIST's 10 classes: what a diverged MnistMLP scores


def params_seed(seed: int, key, *extra) -> int:
    """A seed in ``[0, 2**63)`` from ``seed``, a configuration's ``Space.key`` and any ``extra``
    JSON-able values (e.g. a step): the first 8 bytes of the sha256 of their JSON text. Stable
    across processes and machines."""
    text = json.dumps([seed, list(key), *extra])
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "big") >> 1


def _check_int(owner: str, name: str, value, low: int, high: int | None = None) -> None:
    if not (isinstance(value, numbers.Integral) and not isinstance(value, bool) and value >= low
            and (high is None or value <= high)):
        bound = f">= {low}" if high is None else f"in [{low}, {high}]"
        raise ValueError(f"{owner}: {name}={value!r} must be an integer {bound}")


def _steps(owner: str, run, reached: int, max_steps: int) -> range:
    """The steps a job trains: ``reached + 1 .. budget`` (budget None = ``max_steps``), after
    checking that ``run.start`` is the step its checkpoint reached and the budget is whole."""
    if run.start != reached:
        raise ValueError(f"{owner}: run.start={run.start!r} but its state has reached step {reached}"
                         + (" (no state: a new configuration starts at 0)" if run.state is None else ""))
    budget = max_steps if run.budget is None else run.budget
    if not (isinstance(budget, numbers.Real) and not isinstance(budget, bool) and budget == int(budget)
            and reached < budget <= max_steps):
        raise ValueError(f"{owner}: run.budget={run.budget!r} must be a whole number of steps in "
                         f"[{reached + 1}, {max_steps}] (start {reached}, max {max_steps})")
    return range(reached + 1, int(budget) + 1)


class MnistMLP:
    """LeNet-300-100 (LeCun et al. 1998) of width factor w, trained on MNIST by SGD with momentum
    (``optim.SGD``, ``optim.fit``), one ``run.report(epoch, val_accuracy)`` per epoch.

    The network is 784 → round(300 w) → round(100 w) → 10 with ReLU, cross-entropy on the logits;
    it trains on the first ``n_train`` training images, is scored on the first ``n_val`` images of
    the validation split (None = all 10,000; the value, maximised) and, once, on the 10,000 test
    images (``test_accuracy``). ``space()``:

        lr          Float(1e-4, 1, log=True)   SGD step size η
        momentum    Float(0, 0.99)             μ in v ← μ v + g, θ ← θ − η v
        batch_size  Choice([64, 128, 256])
        width       Choice([0.25, 0.5, 1.0])   w, the hidden widths' factor

    A configuration's initial weights (PyTorch's default ``nn.Linear`` init) and its batch order
    are drawn from one CPU ``torch.Generator`` seeded with ``params_seed(seed, space.key(params))``.
    Its checkpoint, the ``state`` reported each epoch, is a dict: ``model``, ``optimizer``,
    ``generator`` (where the batch order stands), ``epoch`` reached and ``diverged``. Continuing
    from it trains exactly as one uninterrupted run.

    Divergence: when the training loss becomes NaN or infinite (``optim.DivergenceError``), the
    configuration scores ``CHANCE`` (0.1) at that epoch and at every later one, and is not trained
    any further (its weights are no longer numbers); nothing is raised.

    ``device``: None or "cpu" (default), "cuda", "mps". Raises ``ValueError`` for a bad argument,
    params outside the space, or a ``run`` whose start or budget does not fit (see ``__call__``).
    """

    def __init__(self, n_train: int = 5000, n_val: int | None = None, max_epochs: int = 27, seed: int = 0,
                 device=None):
        _check_int("MnistMLP", "n_train", n_train, 1, 50_000)
        if n_val is not None:
            _check_int("MnistMLP", "n_val", n_val, 1, 10_000)
        _check_int("MnistMLP", "max_epochs", max_epochs, 1)
        _check_int("MnistMLP", "seed", seed, 0)
        from .datasets import cached_mnist
        from .device import pick_device

        self.device = pick_device("cpu" if device is None else device)
        self.n_train, self.n_val, self.max_epochs, self.seed = int(n_train), n_val, int(max_epochs), int(seed)
        data = cached_mnist(device=self.device)
        # flattened once here, not in every forward pass: (n, 784) float32 in [0, 1]
        self.x_train = data.x_train[:n_train].reshape(-1, 784)
        self.y_train = data.y_train[:n_train]
        self.x_val = data.x_val[:n_val].reshape(-1, 784)
        self.y_val = data.y_val[:n_val]
        self.x_test = data.x_test.reshape(-1, 784)
        self.y_test = data.y_test

    def __repr__(self):
        return (f"MnistMLP(n_train={self.n_train}, n_val={self.n_val}, max_epochs={self.max_epochs}, "
                f"seed={self.seed}, device='{self.device}')")

    @staticmethod
    def space() -> Space:
        return Space({"lr": Float(1e-4, 1.0, log=True), "momentum": Float(0.0, 0.99),
                      "batch_size": Choice([64, 128, 256]), "width": Choice([0.25, 0.5, 1.0])})

    def build(self, params: dict) -> dict:
        """A new configuration's checkpoint at epoch 0: its network, optimizer and generator."""
        import torch  # imported here, like datasets.py, so that importing the library stays fast
        from torch import nn

        from .optim import SGD

        key = self.space().key(params)  # also checks params (ValueError naming the parameter)
        generator = torch.Generator().manual_seed(params_seed(self.seed, key))
        w = params["width"]
        sizes = [784, round(300 * w), round(100 * w), 10]
        layers = []
        for n_in, n_out in zip(sizes[:-1], sizes[1:]):
            # PyTorch's default init of nn.Linear, drawn from our generator (not the global one)
            layer = nn.utils.skip_init(nn.Linear, n_in, n_out)
            nn.init.kaiming_uniform_(layer.weight, a=math.sqrt(5), generator=generator)
            nn.init.uniform_(layer.bias, -1 / math.sqrt(n_in), 1 / math.sqrt(n_in), generator=generator)
            layers += [layer, nn.ReLU()]
        model = nn.Sequential(*layers[:-1]).to(self.device)  # no ReLU on the logits
        optimizer = SGD(model.parameters(), lr=params["lr"], momentum=params["momentum"])
        return {"model": model, "optimizer": optimizer, "generator": generator, "epoch": 0, "diverged": False}

    def __call__(self, params: dict, run) -> float:
        """Train ``params`` from ``run.state`` (None: a new network) for the epochs
        ``run.start + 1 .. run.budget`` (None: ``max_epochs``), reporting the validation accuracy
        after each; return the last one. ``run.start`` must be the checkpoint's epoch (0 without
        one) and ``run.budget`` a whole number in ``[run.start + 1, max_epochs]``."""
        from .optim import DivergenceError, fit

        self.space().check(params)
        state = self.build(params) if run.state is None else run.state
        for epoch in _steps("MnistMLP", run, state["epoch"], self.max_epochs):
            if not state["diverged"]:
                try:
                    result = fit(state["model"], (self.x_train, self.y_train, self.x_val, self.y_val),
                                 state["optimizer"], epochs=1, batch_size=params["batch_size"],
                                 seed=state["generator"], device=self.device, progress=False)
                    value = result["val_acc"][-1]
                except DivergenceError:
                    state["diverged"] = True
            if state["diverged"]:
                value = CHANCE
            state["epoch"] = epoch
            run.report(epoch, value, state=state)
        return value  # the loop ran at least once: _steps checked start < budget

    def test_accuracy(self, state: dict) -> float:
        """Accuracy of a checkpoint's network on the 10,000 test images (``CHANCE`` if it
        diverged). Report it once, for the configuration the validation accuracy chose."""
        from .optim import evaluate

        if not (isinstance(state, dict) and "model" in state and "diverged" in state):
            raise ValueError(f"MnistMLP.test_accuracy: state={state!r} is not a checkpoint reported by MnistMLP")
        if state["diverged"]:
            return CHANCE
        return evaluate(state["model"], self.x_test, self.y_test, batch_size=5000)[1]


class SyntheticCurves:
    """Learning curves by formula, with a known ranking; the value is a loss (minimise).

    ``space()``: x Float(0, 1), y Float(0, 1). At step t = 1, 2, … a configuration scores

        value(t) = limit + gap · t^(−rate) + noise · ε_t,       ε_t ~ N(0, 1)
        limit    = (x − 0.3)² + (y − 0.7)² / 2                  the t → ∞ asymptote
        s        = 2 y − 1 ∈ [−1, 1]                            how slowly it starts
        gap      = exp(c s),   rate = 0.5 exp(c s)              c = ``crossing``

    ``final(params)`` is the noiseless value at ``max_steps``: what a full run measures, the
    ground truth a search is scored against. With ``crossing=0`` every configuration has gap 1
    and rate 0.5, so the curves are shifted copies of one another: the ranking at every step is
    the ranking by ``final``. With ``crossing > 0`` a slow starter (large y) begins higher and
    falls faster, so curves cross and an early step can rank configurations wrongly.

    ε_t comes from a numpy Generator seeded with ``params_seed(seed, space.key(params), t)``:
    the value at a step is the same however the run is cut into jobs. ``state`` is the step
    reached (an int). No training happens; a call costs microseconds.
    """

    def __init__(self, crossing: float = 0.0, noise: float = 0.0, max_steps: int = 27, seed: int = 0):
        for name, value in (("crossing", crossing), ("noise", noise)):
            if not (isinstance(value, numbers.Real) and not isinstance(value, bool) and 0 <= value < math.inf):
                raise ValueError(f"SyntheticCurves: {name}={value!r} must be a finite number >= 0")
        _check_int("SyntheticCurves", "max_steps", max_steps, 1)
        _check_int("SyntheticCurves", "seed", seed, 0)
        self.crossing, self.noise, self.max_steps, self.seed = float(crossing), float(noise), int(max_steps), int(seed)

    def __repr__(self):
        return (f"SyntheticCurves(crossing={self.crossing:g}, noise={self.noise:g}, "
                f"max_steps={self.max_steps}, seed={self.seed})")

    @staticmethod
    def space() -> Space:
        return Space({"x": Float(0.0, 1.0), "y": Float(0.0, 1.0)})

    def limit(self, params: dict) -> float:
        """The t → ∞ asymptote ``(x − 0.3)² + (y − 0.7)² / 2``."""
        self.space().check(params)
        return (params["x"] - 0.3) ** 2 + (params["y"] - 0.7) ** 2 / 2

    def _gap_rate(self, params: dict) -> tuple[float, float]:
        speed = math.exp(self.crossing * (2 * params["y"] - 1))  # exp(c s)
        return speed, 0.5 * speed

    def mean_at(self, params: dict, t) -> float:
        """The noiseless value at step ``t`` (a number >= 1): ``limit + gap · t^(−rate)``."""
        if not (isinstance(t, numbers.Real) and not isinstance(t, bool) and 1 <= t < math.inf):
            raise ValueError(f"SyntheticCurves: t={t!r} must be a finite step >= 1")
        gap, rate = self._gap_rate(params)
        return self.limit(params) + gap * t ** (-rate)

    def value_at(self, params: dict, t: int) -> float:
        """The value a run reports at step ``t`` (an integer >= 1): ``mean_at`` plus the step's noise."""
        _check_int("SyntheticCurves", "t", t, 1)
        value = self.mean_at(params, t)
        if self.noise > 0:
            rng = np.random.default_rng(params_seed(self.seed, self.space().key(params), int(t)))
            value += self.noise * rng.standard_normal()
        return value

    def final(self, params: dict) -> float:
        """The ground truth: the noiseless value at ``max_steps``."""
        return self.mean_at(params, self.max_steps)

    def __call__(self, params: dict, run) -> float:
        """Report ``value_at(params, t)`` for t = ``run.start + 1 .. run.budget`` (None:
        ``max_steps``) and return the last. ``run.state`` is the step reached (None = 0) and must
        equal ``run.start``; the budget must be whole, in ``[run.start + 1, max_steps]``."""
        self.space().check(params)
        reached = 0 if run.state is None else run.state
        for t in _steps("SyntheticCurves", run, reached, self.max_steps):
            value = self.value_at(params, t)
            run.report(t, value, state=t)
        return value  # the loop ran at least once: _steps checked start < budget
