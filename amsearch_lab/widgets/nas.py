"""Neural architecture search on the shipped tabular benchmark: design a network, race a search
strategy on the table, and train the design live."""

from __future__ import annotations

import html

import ipywidgets as W
import numpy as np
from matplotlib.figure import Figure

from .. import plots
from .base import _Playground

__all__ = ["NASPlayground", "NAS_STRATEGIES"]

NAS_STRATEGIES = ("random", "evolution", "genetic", "bayes", "greedy")


class NASPlayground(_Playground):
    """Neural architecture search on the shipped tabular benchmark (``nas.load_table``), in two parts.

    *Design a network*: one dropdown per slot, the conv width and the head. The status says whether
    the genome is valid (or which rule it breaks), the layer table gives each layer's output shape
    and parameters (``nas.summary``), and the network is starred on the validation-accuracy-vs-parameters
    plot with the Pareto front of the whole table.

    *Race a strategy*: strategy, budget and number of seeds; Run searches the table with
    ``nas.compare_strategies`` and draws the anytime curves of the best validation accuracy found
    (median and interquartile band over seeds), random search alongside. The test column of the
    table is never shown: it is read once, for the network finally chosen, in the lesson. The
    networks the first seed visited are circled on the plot. Look-ups take milliseconds; BO refits
    a GP at every step, so the progress bar advances one seed at a time.

    *Train it*: the button trains the designed network now with the table's low-fidelity recipe
    (``nas.train_architecture``; about a second on a CPU, on the GPU when there is one), so the
    table's numbers can be checked against a live run.

    Data: ``arch`` (the designed network), ``reason`` (why it is invalid, or None), ``layers`` (its
    layer table as a DataFrame), ``row`` (its table row, or None), ``trained`` (the record of the
    last live training, or None), ``curves`` ({strategy: array of shape (seeds, budget)}),
    ``visited`` (the keys seed 0 looked up), ``picks`` (the network each seed picked).
    """

    figsize = (11, 4.2)
    options = {"bayes": {"n_candidates": 256, "n_local": 0}}  # all genes are Choices: nothing to polish

    def __init__(self, bench=None, strategy: str = "evolution", budget: int = 50, seeds: int = 5,
                 design: dict | None = None):
        super().__init__()
        from ..nas import load_table

        if strategy not in NAS_STRATEGIES:
            raise ValueError(f"NASPlayground: strategy={strategy!r} must be one of {list(NAS_STRATEGIES)}")
        if not (isinstance(budget, int) and 1 <= budget <= 300):
            raise ValueError(f"NASPlayground: budget={budget!r} must be an integer in [1, 300]")
        if not (isinstance(seeds, int) and 1 <= seeds <= 20):
            raise ValueError(f"NASPlayground: seeds={seeds!r} must be an integer in [1, 20]")
        self.bench = load_table() if bench is None else bench
        space, frame = self.bench.space, self.bench.frame
        design = dict(self.bench.best_by_validation().to_params() if design is None else design)
        unknown, missing = set(design) - set(space.names), set(space.names) - set(design)
        if unknown or missing:
            raise ValueError(f"NASPlayground: design={design!r} has unknown genes {sorted(unknown)} and lacks "
                             f"{sorted(missing)}; genes: {space.names}")
        for name, value in design.items():
            if value not in space.dimensions[name].choices:
                raise ValueError(f"NASPlayground: design[{name!r}]={value!r} must be one of "
                                 f"{space.dimensions[name].choices}")
        # design controls: one dropdown per gene of the genome space
        self.genes = {name: W.Dropdown(options=list(space.dimensions[name].choices), value=design.get(name),
                                       description=name, layout=W.Layout(width="190px"),
                                       style={"description_width": "45px"})
                      for name in space.names}
        self.layers_html = W.HTML()
        self.train_button = W.Button(description="Train it", icon="play", tooltip="low-fidelity recipe, live")
        self.train_status = W.HTML()
        self.trained: dict | None = None
        # race controls
        self.strategy = W.Dropdown(options=list(NAS_STRATEGIES), value=strategy, description="strategy")
        self.budget = W.IntSlider(value=budget, min=1, max=300, description="budget", continuous_update=False)
        self.seeds = W.IntSlider(value=seeds, min=1, max=20, description="seeds", continuous_update=False)
        self.run_button = W.Button(description="Run search", button_style="success", icon="play")
        self.progress = W.IntProgress(value=0, min=0, max=seeds, description="seeds")
        # data
        self.curves: dict[str, np.ndarray] = {}
        self.visited: list[str] = []
        self.picks: list[str] = []
        self._best_val = float(frame["val_acc"].max())
        for control in self.genes.values():
            control.observe(lambda _: self.update(), names="value")
        self.run_button.on_click(lambda _: self.run())
        self.train_button.on_click(lambda _: self.train())
        self.race_status = W.HTML()
        self.widget = W.VBox([
            W.HTML("<b>Design a network</b> (slots, conv width, head)"),
            W.HBox(list(self.genes.values()), layout=W.Layout(flex_flow="row wrap")),
            self.status, W.HBox([self.train_button, self.train_status]), self.layers_html,
            W.HTML("<b>Race a search strategy on the table</b>"),
            W.HBox([self.strategy, self.budget, self.seeds]), W.HBox([self.run_button, self.progress]),
            self.race_status, self.image])
        self.widget.add_class("amsearch-nas")
        self.update()

    @property
    def params(self) -> dict:
        """The genome the controls show."""
        return {name: control.value for name, control in self.genes.items()}

    def update(self) -> None:
        """Read the designed genome: validity, layer table, table row; redraw."""
        import pandas as pd

        from ..nas import Architecture, check, summary

        self.arch = Architecture.from_params(self.params)
        self.reason = check(self.arch)
        self.layers = pd.DataFrame(summary(self.arch)) if self.reason is None or "rule 2" in self.reason else None
        self.row = None if self.reason else self.bench.frame.loc[self.arch.key]
        if self.reason:
            self._say(f"<span style='color:#b00'>invalid: {html.escape(self.reason)}</span>")
        else:
            self._say(f"<b>{html.escape(self.arch.key)}</b>: {int(self.row['params']):,} parameters, "
                      f"{int(self.row['flops']):,} FLOPs; low-fidelity validation accuracy {self.row['val_acc']:.3f} "
                      f"(rank {self._rank()} of {len(self.bench)})")
        self.layers_html.value = "" if self.layers is None else self.layers.to_html(index=False)
        self.train_button.disabled = self.reason is not None
        self.trained, self.train_status.value = None, ""
        self.redraw()

    def train(self) -> None:
        """Train the designed network with the table's low-fidelity recipe, now."""
        from ..datasets import cached_mnist
        from ..nas import LOW_FIDELITY, train_architecture

        if self.reason is not None:
            self.train_status.value = "an invalid network cannot be trained"
            return
        self.train_button.disabled = True
        self.train_status.value = "training ..."
        try:
            data = cached_mnist(max(LOW_FIDELITY.n_train, LOW_FIDELITY.n_val, LOW_FIDELITY.n_test))
            _, self.trained = train_architecture(self.arch, data, LOW_FIDELITY, seed=0, device=data.x_train.device)
        finally:
            self.train_button.disabled = False
        r = self.trained
        self.train_status.value = (f"trained now in {r['train_seconds']:.1f} s on {html.escape(r['device'])}: "
                                   f"validation {r['val_acc']:.3f} (table: {self.row['val_acc']:.3f})")

    def _rank(self) -> int:
        return int((self.bench.frame["val_acc"] > self.row["val_acc"]).sum()) + 1

    def run(self) -> None:
        """Search the table with the chosen strategy (and random search, the baseline) over the seeds."""
        from ..nas import Architecture, compare_strategies, picked_accuracy, top_architectures

        name, budget, n_seeds = self.strategy.value, self.budget.value, self.seeds.value
        self.progress.max, self.progress.value = n_seeds, 0
        self.run_button.disabled = True
        try:
            curves, self.picks, self.visited = [], [], []
            for seed in range(n_seeds):
                history = self.bench.search(name, budget, seed, self.options.get(name))
                curves.append(picked_accuracy(history, self.bench, metric="val_acc"))
                self.picks += [arch.key for arch in top_architectures(history, k=1)]
                if seed == 0:
                    self.visited = sorted({Architecture.from_params(t.params).key for t in history if t.ok})
                self.progress.value = seed + 1
            self.curves = {name: np.array(curves)}
            if name != "random":
                self.curves.update(compare_strategies(self.bench, ["random"], budget, range(n_seeds), metric="val_acc"))
        finally:
            self.run_button.disabled = False
        means = {k: float(np.nanmean(c[:, -1])) for k, c in self.curves.items()}
        self.race_status.value = (f"after {budget} look-ups, mean best validation accuracy over {n_seeds} seed(s): "
                                  + ", ".join(f"{k} {v:.4f}" for k, v in means.items())
                                  + f"; seed 0 visited {len(self.visited)} networks and picked "
                                  f"{html.escape(self.picks[0]) if self.picks else 'none'}")
        self.redraw()

    def _draw(self, fig: Figure) -> None:
        left, right = fig.subplots(1, 2)
        frame = self.bench.frame
        highlight = {}
        if self.row is not None:
            highlight[f"designed: {self.arch.key}"] = (self.row["params"], self.row["val_acc"])
        plots.plot_pareto(frame["params"], frame["val_acc"], ax=right, highlight=highlight,
                          ylabel="validation accuracy", title="Every network of the table (low fidelity)")
        if self.visited:
            seen = frame.loc[self.visited]
            right.scatter(seen["params"], seen["val_acc"], s=40, facecolor="none", edgecolor="tab:orange",
                          linewidth=1.2, label=f"visited by {self.strategy.value}, seed 0 ({len(seen)})")
            right.legend(loc="lower right", fontsize=8)
        if self.curves:
            plots.plot_best_so_far(self.curves, ax=left, title="Anytime: best validation accuracy found",
                                   ylabel="best validation accuracy")
            left.axhline(self._best_val, color="gray", ls="--", lw=1, label="best validation accuracy in the table")
            low = max(0.5, np.nanmin([np.nanmin(c) for c in self.curves.values()]) - 0.01)
            left.set_ylim(low, self._best_val + 0.01)  # the dashed line of the table's best stays in view
            left.legend(fontsize=8, loc="lower right")
        else:
            left.set(xlabel="evaluations", ylabel="best validation accuracy", title="Press Run search")
