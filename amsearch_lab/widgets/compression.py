"""Compression on MNIST: pruning, quantization and low-rank sliders on a trained LeNet-300-100,
each measuring validation accuracy against size."""

from __future__ import annotations

import ipywidgets as W
import numpy as np
from matplotlib.figure import Figure

from .. import plots
from .base import _Playground

__all__ = ["mnist_base_model", "PruningPlayground", "QuantizationPlayground", "LowRankPlayground"]


def mnist_base_model(epochs: int = 3, limit: int | None = None, seed: int = 0):
    """``(model, data)``: MNIST on ``amsearch_lab.pick_device()`` (``datasets.cached_mnist``: loaded
    once per process for each ``limit``, the number of images kept per split) and
    ``compress.trained_lenet`` on it, which trains LeNet-300-100 once and then reads its weights
    from ``runs/``. Each call returns a fresh model, so a playground may change it."""
    from ..compress import trained_lenet
    from ..datasets import cached_mnist

    data = cached_mnist(limit)
    print(f"base model: LeNet-300-100, {epochs} epochs on {len(data.x_train)} images "
          f"(trained once, then read from runs/), on {data.x_train.device}")
    return trained_lenet(data, epochs=epochs, seed=seed).eval(), data


class _CompressionPlayground(_Playground):
    """Plumbing: the trained model (given, or ``mnist_base_model``), its data and the table of results."""

    figsize = (11, 4)

    def __init__(self, model=None, data=None, epochs: int = 3, limit: int | None = None, seed: int = 0):
        super().__init__()
        if model is not None and data is None:
            raise ValueError(f"{type(self).__name__}: model given with data=None; pass the data it was trained on")
        if model is None:
            model, data = mnist_base_model(epochs=epochs, limit=limit, seed=seed)
        from ..compress import accuracy

        self.base, self.data = model.eval(), data
        self.base_accuracy = accuracy(model, data.x_val, data.y_val)
        self.results: list[dict] = []

    def _draw_pareto(self, ax, cost: str, xlabel: str, setting: str, marked: dict | None = None) -> None:
        """Every result as (cost, accuracy) with the Pareto front; the current setting is starred
        and the rows in ``marked`` ({label: rows}) are circled."""
        latest = self.results[-1]
        plots.plot_pareto([r[cost] for r in self.results], [r["accuracy"] for r in self.results], ax=ax,
                          highlight={f"now: {setting} {latest[setting]}": (latest[cost], latest["accuracy"])},
                          xlabel=xlabel, ylabel="validation accuracy", log=False,
                          title="Accuracy against size (every setting tried)")
        for label, rows in (marked or {}).items():
            if rows:
                ax.scatter([r[cost] for r in rows], [r["accuracy"] for r in rows], s=60, facecolor="none",
                           edgecolor="tab:orange", linewidth=1.5, label=label)
                ax.legend(loc="best", fontsize=8)

    @property
    def table(self):
        """The settings tried so far and what they gave, as a DataFrame."""
        import pandas as pd

        return pd.DataFrame(self.results)

    def _record(self, row: dict) -> None:
        """Add a result row; trying the same setting again replaces its row."""
        keys = [k for k in row if k not in ("accuracy", "params", "nonzero", "bytes", "error", "max_error")]
        self.results = [r for r in self.results if any(r.get(k) != row[k] for k in keys)] + [row]


class PruningPlayground(_CompressionPlayground):
    """Sparsity slider: remove that fraction of all weights, by importance (smallest |w|, global
    magnitude pruning) or at random (the baseline), and measure validation accuracy (no fine-tuning).

    Data: ``masks`` (of the latest setting), ``accuracy``, ``results`` / ``table`` (every setting tried).
    """

    def __init__(self, model=None, data=None, sparsity: float = 0.8, method: str = "magnitude", seed: int = 0, **base):
        super().__init__(model, data, seed=seed, **base)
        if method not in ("magnitude", "random"):
            raise ValueError(f"PruningPlayground: method={method!r} must be 'magnitude' or 'random'")
        self.sparsity = W.FloatSlider(value=sparsity, min=0.0, max=0.99, step=0.01, description="sparsity",
                                      continuous_update=False)
        self.method = W.ToggleButtons(options=[("importance |w|", "magnitude"), ("random", "random")], value=method,
                                      description="remove by")
        self.seed = W.IntText(value=seed, description="random seed")
        for control in (self.sparsity, self.method, self.seed):
            control.observe(lambda _: self.update(), names="value")
        self.widget = W.VBox([W.HBox([self.sparsity, self.method]), self.seed, self.status, self.image])
        self.widget.add_class("amsearch-pruning")
        self.update()

    def update(self) -> None:
        from ..compress import accuracy, count_nonzero, global_magnitude_prune, global_random_cut

        if self.method.value == "magnitude":
            model, self.masks = global_magnitude_prune(self.base, self.sparsity.value)
        else:
            model, self.masks = global_random_cut(self.base, self.sparsity.value, seed=self.seed.value)
        self.accuracy = accuracy(model, self.data.x_val, self.data.y_val)
        self._record({"method": self.method.value, "sparsity": self.sparsity.value,
                      "seed": self.seed.value if self.method.value == "random" else None,
                      "accuracy": self.accuracy, "nonzero": count_nonzero(model)})
        self._say(f"{self.method.value}, sparsity {self.sparsity.value:.0%}: validation accuracy "
                  f"{self.accuracy:.4f} (unpruned {self.base_accuracy:.4f})")
        self.redraw()

    def _draw(self, fig: Figure) -> None:
        left, right = fig.subplots(1, 2)
        self._draw_pareto(left, "nonzero", "non-zero weights and biases", "sparsity",
                          marked={"removed at random": [r for r in self.results if r["method"] == "random"]})
        name, mask = next(iter(self.masks.items()))
        plots.plot_mask(mask, ax=right, title=f"mask of {name}")


class QuantizationPlayground(_CompressionPlayground):
    """Bit-width slider: the weights rounded to ``bits``-bit integers (symmetric, per output
    channel or per tensor). Shows one layer's weight histogram before and after, the rounding error
    of that layer, and the validation accuracy of the whole model with every weight quantized
    (``quantize_model``, weights only).

    Data: ``weight`` and ``weight_q`` (the shown layer), ``error`` (‖W - Ŵ‖ / ‖W‖), ``max_error``
    (max |W - Ŵ|), ``accuracy``, ``results`` / ``table``.
    """

    def __init__(self, model=None, data=None, bits: int = 4, per_channel: bool = True, **base):
        super().__init__(model, data, **base)
        from ..compress import prunable_weights

        self.bits = W.IntSlider(value=bits, min=2, max=8, description="bits", continuous_update=False)
        self.per_channel = W.Checkbox(value=per_channel, description="one scale per output channel")
        self.layer = W.Dropdown(options=list(prunable_weights(self.base)), description="layer shown")
        for control in (self.bits, self.per_channel, self.layer):
            control.observe(lambda _: self.update(), names="value")
        self.widget = W.VBox([W.HBox([self.bits, self.per_channel, self.layer]), self.status, self.image])
        self.widget.add_class("amsearch-quantization")
        self.update()

    def update(self) -> None:
        import torch

        from ..compress import accuracy, fake_quantize, prunable_weights, qparams, quantize_model, stored_bytes

        bits, per_channel = self.bits.value, self.per_channel.value
        self.weight = prunable_weights(self.base)[self.layer.value].detach()
        qp = qparams(self.weight, bits, symmetric=True, axis=0 if per_channel else None)
        self.weight_q = fake_quantize(self.weight, qp)
        self.error = float(torch.linalg.norm(self.weight - self.weight_q) / torch.linalg.norm(self.weight))
        self.max_error = float((self.weight - self.weight_q).abs().max())
        model_q, _ = quantize_model(self.base, bits=bits, act_bits=None, per_channel=per_channel)
        self.accuracy = accuracy(model_q, self.data.x_val, self.data.y_val)
        self._record({"bits": bits, "per_channel": per_channel, "accuracy": self.accuracy,
                      "bytes": stored_bytes(model_q, packed=True), "error": self.error})
        self._say(f"{bits}-bit weights ({'per channel' if per_channel else 'per tensor'}): {self.layer.value} "
                  f"relative error {self.error:.4f}; validation accuracy {self.accuracy:.4f} "
                  f"(float32 {self.base_accuracy:.4f})")
        self.redraw()

    def _draw(self, fig: Figure) -> None:
        left, right = fig.subplots(1, 2)
        plots.plot_weight_histogram({"float32": self.weight, f"{self.bits.value}-bit": self.weight_q}, ax=left,
                                    title=f"{self.layer.value}: weights before and after rounding")
        self._draw_pareto(right, "bytes", "stored bytes (weights packed to b bits)", "bits",
                          marked={"one scale per tensor": [r for r in self.results if not r["per_channel"]]})


class LowRankPlayground(_CompressionPlayground):
    """Rank slider: every Linear layer W (m x n) whose split is smaller becomes two thin layers
    B (m x r) A (r x n) from the truncated SVD (``split_model``). Shows the energy each layer
    keeps at rank r, and accuracy against parameters.

    Data: ``energies`` ({layer: retained energy per rank}), ``params``, ``accuracy``, ``results`` / ``table``.
    """

    def __init__(self, model=None, data=None, rank: int = 20, **base):
        super().__init__(model, data, **base)
        import torch

        from ..compress import energy

        linear = {name: m for name, m in self.base.named_modules() if isinstance(m, torch.nn.Linear)}
        self.energies = {name: energy(torch.linalg.svdvals(m.weight.detach())).cpu().numpy() for name, m in linear.items()}
        self.rank = W.IntSlider(value=rank, min=1, max=max(len(e) for e in self.energies.values()), description="rank r",
                                continuous_update=False)
        self.rank.observe(lambda _: self.update(), names="value")
        self.widget = W.VBox([self.rank, self.status, self.image])
        self.widget.add_class("amsearch-lowrank")
        self.update()

    def update(self) -> None:
        from ..compress import accuracy, count_params, split_model

        model, _ = split_model(self.base, rank=self.rank.value)
        self.params, self.accuracy = count_params(model), accuracy(model, self.data.x_val, self.data.y_val)
        self._record({"rank": self.rank.value, "params": self.params, "accuracy": self.accuracy})
        self._say(f"rank {self.rank.value}: {self.params:,} parameters (unsplit {count_params(self.base):,}); "
                  f"validation accuracy {self.accuracy:.4f} (unsplit {self.base_accuracy:.4f})")
        self.redraw()

    def _draw(self, fig: Figure) -> None:
        left, right = fig.subplots(1, 2)
        curves = {f"layer {name} ({len(e)} singular values)": (np.arange(1, len(e) + 1), e)
                  for name, e in self.energies.items()}
        plots.plot_curves(curves, ax=left, xlabel="rank r", ylabel=r"retained energy $\sum_{k \leq r} \sigma_k^2 / \sum_k \sigma_k^2$",
                          title="Energy kept by the first r singular values")
        left.axvline(self.rank.value, color="red", linewidth=1)
        self._draw_pareto(right, "params", "parameters", "rank")

