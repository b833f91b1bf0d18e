"""Population-based training on a slice of MNIST, one run per click: the lineage tree (who copied
whom, coloured by learning rate) and every member's learning-rate schedule, with the best member's
ancestry in black."""

from __future__ import annotations

import html
import time

import ipywidgets as W
from matplotlib.figure import Figure

from .. import plots
from ..dimensions import Float
from ..population import founders
from ..space import Space
from .base import _Playground

__all__ = ["PBTPlayground"]

LR_SPACE = Space({"lr": Float(1e-3, 1.0, log=True)})  # what each member tunes; momentum is fixed at MOMENTUM
MOMENTUM = 0.9
SIZES = (784, 32, 10)  # a small MLP: a run of 8 members x 8 epochs takes seconds on a CPU


class PBTPlayground(_Playground):
    """``PopulationBasedTraining`` of an MLP 784-32-10 on the first ``limit`` MNIST images of each
    split, tuning the learning rate (drawn log-uniformly from [0.001, 1]; momentum 0.9), ranked by
    validation loss.

    Controls: the population size N, the epochs, the interval between two exploit steps, the
    perturbation δ (explore multiplies the learning rate by 1 - δ or 1 + δ), the resample
    probability and the seed. **Run** trains the population with them (the first run happens when
    the playground is built); changing a control only says that the figure is out of date.

    Data: ``pbt`` (the ``PopulationBasedTraining`` of the last run, with ``population_`` and
    ``best_member_``), ``history``, ``schedule`` (the learning rate of the best member's ancestry,
    one per epoch), ``founders`` (the first-interval members whose weights survive) and
    ``seconds`` (the last run's training time). Bad arguments raise ValueError.
    """

    figsize = (11, 4.2)

    def __init__(self, population: int = 8, epochs: int = 8, interval: int = 2, perturbation: float = 0.2,
                 resample_prob: float = 0.25, seed: int = 0, limit: int = 2000, device=None):
        super().__init__()
        for name, value, low, high in (("population", population, 4, 16), ("epochs", epochs, 2, 16),
                                       ("interval", interval, 1, 16)):
            if not (isinstance(value, int) and low <= value <= high):
                raise ValueError(f"PBTPlayground: {name}={value!r} must be an integer in [{low}, {high}]")
        if not 0.05 <= perturbation <= 0.5:
            raise ValueError(f"PBTPlayground: perturbation={perturbation!r} must be in [0.05, 0.5]")
        if not 0 <= resample_prob <= 1:
            raise ValueError(f"PBTPlayground: resample_prob={resample_prob!r} must be in [0, 1]")
        if not (isinstance(limit, int) and limit >= 100):
            raise ValueError(f"PBTPlayground: limit={limit!r} must be an integer >= 100 (images per split)")
        self.limit, self.device = limit, device
        self.population = W.IntSlider(value=population, min=4, max=16, description="population N",
                                      continuous_update=False, style={"description_width": "90px"})
        self.epochs = W.IntSlider(value=epochs, min=2, max=16, description="epochs", continuous_update=False)
        self.interval = W.IntSlider(value=interval, min=1, max=16, description="interval", continuous_update=False)
        self.perturbation = W.FloatSlider(value=perturbation, min=0.05, max=0.5, step=0.05, description="explore ±δ",
                                          continuous_update=False, style={"description_width": "90px"})
        self.resample_prob = W.FloatSlider(value=resample_prob, min=0.0, max=1.0, step=0.05,
                                           description="resample p", continuous_update=False,
                                           style={"description_width": "90px"})
        self.seed = W.IntText(value=seed, description="seed")
        self.run_button = W.Button(description="Run", button_style="success", icon="play")
        for control in (self.population, self.epochs, self.interval, self.perturbation, self.resample_prob, self.seed):
            control.observe(lambda _: self._say("settings changed: press <b>Run</b> to train with them"),
                            names="value")
        self.run_button.on_click(lambda _: self.run())
        self.widget = W.VBox([W.HBox([self.population, self.epochs, self.interval]),
                              W.HBox([self.perturbation, self.resample_prob, self.seed]),
                              W.HBox([self.run_button]), self.status, self.image])
        self.widget.add_class("amsearch-population")
        self.run()

    def run(self) -> None:
        """Train the population with the current settings and show its lineage and schedules."""
        from ..datasets import cached_mnist
        from ..models import mlp
        from ..population import PopulationBasedTraining, ancestry, schedule_of

        delta = self.perturbation.value
        self.pbt = PopulationBasedTraining(LR_SPACE, population=self.population.value, epochs=self.epochs.value,
                                           interval=self.interval.value, factors=(1 - delta, 1 + delta),
                                           resample_prob=self.resample_prob.value, metric="val_loss",
                                           fixed={"momentum": MOMENTUM}, seed=self.seed.value)
        data = cached_mnist(self.limit, device=self.device)
        self.run_button.disabled = True
        self._say("training ...")
        try:
            start = time.perf_counter()
            seed, n = self.seed.value, self.population.value
            self.history = self.pbt.run(lambda i: mlp(SIZES, seed=seed * n + i), data, device=data.x_train.device,
                                        progress=False)
            self.seconds = time.perf_counter() - start
        finally:
            self.run_button.disabled = False
        best = self.pbt.best_member_
        self.founders = founders(self.history)
        if best is None:
            self.schedule = []
            self._say(f"every member failed (NaN loss) in the last interval; {self.seconds:.1f} s")
        else:
            self.schedule = schedule_of(ancestry(self.history, best))
            final = [t for t in self.history if t.info["member"] == best][-1]  # its last interval
            lrs = ", ".join(f"{lr:.3g}" for lr in self.schedule)
            self._say(f"trained {self.population.value} members x {self.epochs.value} epochs in {self.seconds:.1f} s "
                      f"on {html.escape(str(data.x_train.device))}; best member {best}: validation loss "
                      f"{final.info['val_loss']:.4f}, accuracy {final.info['val_acc']:.3f}; its lr per epoch "
                      f"[{lrs}]; {len(self.founders)} of {self.population.value} founders survive")
        self.redraw()

    def _draw(self, fig: Figure) -> None:
        left, right = fig.subplots(1, 2)
        plots.plot_lineage(self.history, ax=left, title=f"Lineage (interval {self.interval.value})")
        plots.plot_schedules(self.history, ax=right, title="Learning rate of each member")
