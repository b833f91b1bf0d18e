"""DARTS on a slice of MNIST, one run per click: how the architecture weights softmax(α) of each
edge move, which network their argmax derives, and where that network ranks in the cell table."""

from __future__ import annotations

import dataclasses
import html

import ipywidgets as W
from matplotlib.figure import Figure

from .. import plots
from .base import _Playground

__all__ = ["DARTSPlayground", "RELAXATIONS", "GUMBEL_TEMPERATURE"]

RELAXATIONS = ("softmax", "gumbel")  # DARTS's softmax, or SNAS's Gumbel-softmax with an annealed temperature
GUMBEL_TEMPERATURE = (5.0, 0.5)  # tau from its start to its end over the run (Gumbel-softmax only)
N_TRAIN = (100, 2000)  # the range of the training-image slider; 500 images x 1 epoch take seconds on one CPU core


class DARTSPlayground(_Playground):
    """``nas.DARTS`` on a ``Supernet`` of the cell space, trained on the first ``n_train`` MNIST
    training images (the rest of ``nas.CELL_RECIPE``: batch 50, SGD lr 0.1 with momentum, the
    architecture steps on the first 1000 validation images), then judged by the cell table
    ``bench`` (``nas.load_cell_table()`` by default).

    Controls: epochs (1 to 5), the architecture learning rate (Adam on α, log slider from 1e-3
    to 1e-1), the order of the architecture gradient (1: ignore that the weights depend on α;
    2: through one virtual SGD step), the relaxation (``softmax``, or ``gumbel``: Gumbel noise with
    a temperature annealed from 5 to 0.5), the training images and the seed (of the supernet's
    weights, α, the batches and the noise). **Run** searches with them (the first run happens when
    the playground is built); changing a control only says that the figure is out of date.
    ``run()`` does the same without the button (tests, notebooks).

    The figure: softmax(α) of each edge per operation over the epochs (``plots.plot_alpha_trajectories``).
    The table: the derived network (argmax of α per edge, ``none`` excluded) with its rank among
    the table's networks by validation accuracy (``bench.rank``), its validation accuracy and
    parameters, beside the table's best network by validation accuracy. The test accuracy is shown
    for both, labelled "test (report only)": it is never what a choice is made on.

    Data: ``result`` (the ``DARTSResult`` of the last run), ``derived`` (its network), ``rank``
    (its 1-based rank, or None when the table lacks it), ``table`` (the DataFrame shown) and
    ``seconds`` (the search's wall time). Bad arguments raise ValueError before any training.
    """

    figsize = (12, 3.6)

    def __init__(self, bench=None, data=None, epochs: int = 1, alpha_lr: float = 3e-3, order: int = 1,
                 relaxation: str = "softmax", n_train: int = 500, seed: int = 0, device=None):
        super().__init__()
        from ..datasets import cached_mnist
        from ..nas import load_cell_table

        if not (isinstance(epochs, int) and 1 <= epochs <= 5):
            raise ValueError(f"DARTSPlayground: epochs={epochs!r} must be an integer in [1, 5]")
        if not 1e-3 <= alpha_lr <= 1e-1:
            raise ValueError(f"DARTSPlayground: alpha_lr={alpha_lr!r} must be in [0.001, 0.1]")
        if order not in (1, 2):
            raise ValueError(f"DARTSPlayground: order={order!r} must be 1 (first order) or 2 (second order)")
        if relaxation not in RELAXATIONS:
            raise ValueError(f"DARTSPlayground: relaxation={relaxation!r} must be one of {list(RELAXATIONS)}")
        if not (isinstance(n_train, int) and N_TRAIN[0] <= n_train <= N_TRAIN[1]):
            raise ValueError(f"DARTSPlayground: n_train={n_train!r} must be an integer in [{N_TRAIN[0]}, {N_TRAIN[1]}]")
        if not isinstance(seed, int):
            raise ValueError(f"DARTSPlayground: seed={seed!r} must be an integer")
        self.data = cached_mnist(device="cpu") if data is None else data
        if len(self.data.x_train) < n_train:
            raise ValueError(f"DARTSPlayground: n_train={n_train} exceeds the {len(self.data.x_train)} training "
                             f"images of data")
        self.bench = load_cell_table() if bench is None else bench
        self.device = device
        wide = {"description_width": "110px"}
        self.epochs = W.IntSlider(value=epochs, min=1, max=5, description="epochs", continuous_update=False)
        self.alpha_lr = W.FloatLogSlider(value=alpha_lr, base=10, min=-3, max=-1, step=0.05, description="α lr (Adam)",
                                         readout_format=".2g", continuous_update=False, style=wide)
        self.order = W.ToggleButtons(options=[("1st order", 1), ("2nd order", 2)], value=order, description="gradient")
        self.relaxation = W.ToggleButtons(options=[("softmax", "softmax"), ("Gumbel τ 5→0.5", "gumbel")],
                                          value=relaxation, description="relaxation")
        self.n_train = W.IntSlider(value=n_train, min=N_TRAIN[0], max=min(N_TRAIN[1], len(self.data.x_train)),
                                   step=100, description="training images", continuous_update=False, style=wide)
        self.seed = W.IntText(value=seed, description="seed")
        self.run_button = W.Button(description="Run", button_style="success", icon="play")
        self.table_html = W.HTML()
        for control in (self.epochs, self.alpha_lr, self.order, self.relaxation, self.n_train, self.seed):
            control.observe(lambda _: self._say("settings changed: press <b>Run</b> to search with them"),
                            names="value")
        self.run_button.on_click(lambda _: self.run())
        self.widget = W.VBox([W.HBox([self.epochs, self.alpha_lr, self.n_train]), W.HBox([self.order, self.seed]),
                              self.relaxation, W.HBox([self.run_button]), self.status, self.image, self.table_html])
        self.widget.add_class("amsearch-darts")
        self.run()

    def run(self) -> None:
        """Search with the current settings, then show the trajectories and the derived network's row."""
        import pandas as pd

        from ..nas import CELL_RECIPE, DARTS, PARAMETER_FREE, Supernet, parameter_free_share

        self.recipe = dataclasses.replace(CELL_RECIPE, n_train=self.n_train.value)
        gumbel = self.relaxation.value == "gumbel"
        seed = self.seed.value
        darts = DARTS(Supernet(seed=seed), alpha_lr=self.alpha_lr.value, order=self.order.value,
                      temperature=GUMBEL_TEMPERATURE if gumbel else 1.0, gumbel=gumbel, recipe=self.recipe, seed=seed)
        self.run_button.disabled = True
        self._say("searching ...")
        try:
            self.result = darts.run(self.data, self.epochs.value, device=self.device)
        finally:
            self.run_button.disabled = False
        self.seconds, self.derived = self.result.seconds, self.result.derived
        best = self.bench.best_by_validation()
        rows = []
        for label, arch in (("derived by DARTS", self.derived), ("table's best (validation)", best)):
            try:
                row, rank = self.bench.row(arch.to_params()), self.bench.rank(arch.to_params())
            except KeyError:  # a table that lacks the network (one still being built)
                row, rank = {"val_acc": float("nan"), "test_acc": float("nan"), "params": float("nan")}, None
            rows.append({"": label, "network": arch.key, "rank (validation)": rank, "validation accuracy": row["val_acc"],
                         "params": row["params"], "test (report only)": row["test_acc"]})
        self.rank = rows[0]["rank (validation)"]
        self.table = pd.DataFrame(rows)
        self.table_html.value = self.table.to_html(index=False, na_rep="not in the table", formatters={
            "rank (validation)": "{:.0f}".format, "params": "{:,.0f}".format,
            "validation accuracy": "{:.4f}".format, "test (report only)": "{:.4f}".format})
        self.ops = darts.supernet.op_names
        share = parameter_free_share(self.result.trajectory[-1], self.ops)
        uniform = sum(op in PARAMETER_FREE for op in self.ops) / len(self.ops)
        where = "not in the table" if self.rank is None else f"rank {self.rank} of {len(self.bench)} by validation accuracy"
        self._say(f"searched {self.epochs.value} epoch(s) on {self.recipe.n_train} images in {self.seconds:.1f} s; "
                  f"training loss per epoch [{', '.join(f'{v:.3f}' for v in self.result.train_loss)}]; "
                  f"derived network {html.escape(self.derived.key)}: {where}; parameter-free operations hold "
                  f"{share:.0%} of the final weights ({uniform:.0%} when uniform)")
        self.redraw()

    def _draw(self, fig: Figure) -> None:
        from ..nas import EDGES

        order = "1st" if self.order.value == 1 else "2nd"
        relaxation = "softmax" if self.relaxation.value == "softmax" else "Gumbel-softmax, τ 5 → 0.5"
        plots.plot_alpha_trajectories(self.result.trajectory, self.ops, self.result.steps_per_epoch,
                                      axes=fig.subplots(1, len(EDGES), sharey=True),
                                      title=f"DARTS ({order} order, {relaxation}, α lr {self.alpha_lr.value:.2g}): "
                                            f"softmax(α) of each edge")
