"""Bayesian optimization of a 1-D function, one evaluation per Step: the GP posterior and the
acquisition the next Step maximises."""

from __future__ import annotations

import ipywidgets as W
import numpy as np
from matplotlib.figure import Figure

from .. import plots
from ..space import Float, Space
from ..study import History, search
from ..tasks import FORRESTER_BOUNDS, forrester
from .base import _merge, _Playground

__all__ = ["BayesOptPlayground"]


class BayesOptPlayground(_Playground):
    """Bayesian optimization of a 1-D function, one evaluation per Step.

    The figure shows the GP posterior of every evaluation so far and the acquisition the next
    Step maximises (its maximiser on the grid is ``next_x``; the strategy then refines it with
    L-BFGS-B). The acquisition and its exploration parameter (ξ for EI and PI, β for UCB) can be
    changed between steps: the strategy is then built again with the new options and told every
    evaluation so far. Step calls ``search()`` with the ``BayesianOptimization`` strategy.

    Data: ``history``, ``grid`` (x values), ``mean`` and ``std`` (posterior on the grid, None
    during the initial design), ``acquisition_values`` (as the strategy computes them: log EI,
    log PI or UCB), ``next_x``. The figure shows EI and PI divided by their maximum (exp of the
    log minus its maximum), which is easier to read than a log that plunges to -800.
    """

    figsize = (8, 5.5)
    ACQUISITION_NAMES = (("expected improvement (EI)", "ei"), ("probability of improvement (PI)", "pi"),
                         ("upper confidence bound (UCB)", "ucb"))

    def __init__(self, f=forrester, bounds=FORRESTER_BOUNDS, acquisition: str = "ei", exploration: float | None = None,
                 n_initial: int = 2, seed: int = 0, n_grid: int = 300):
        super().__init__()
        if acquisition not in dict(self.ACQUISITION_NAMES).values():
            raise ValueError(f"BayesOptPlayground: acquisition={acquisition!r} must be 'ei', 'pi' or 'ucb'")
        self.f, self.space = f, Space({"x": Float(*bounds)})
        self.acquisition = W.Dropdown(options=self.ACQUISITION_NAMES, value=acquisition, description="acquisition",
                                      style={"description_width": "80px"})
        self.exploration = W.FloatSlider(description="", continuous_update=False, readout_format=".2f")
        self.n_initial = W.IntSlider(value=n_initial, min=2, max=8, description="initial points")
        self.seed = W.IntText(value=seed, description="seed")
        self.step_button = W.Button(description="Step", button_style="success", icon="step-forward")
        self.reset_button = W.Button(description="Reset", icon="refresh")
        self.grid = np.linspace(bounds[0], bounds[1], n_grid)
        self.f_grid = np.array([f(x) for x in self.grid])
        self._grid_unit = np.array([self.space.encode({"x": x}) for x in self.grid])  # (n_grid, 1)
        self._set_exploration_range(exploration)
        self.acquisition.observe(lambda _: (self._set_exploration_range(None), self._retune()), names="value")
        self.exploration.observe(lambda _: self._retune(), names="value")
        self.n_initial.observe(lambda _: self.reset(), names="value")
        self.seed.observe(lambda _: self.reset(), names="value")
        self.step_button.on_click(lambda _: self.step())
        self.reset_button.on_click(lambda _: self.reset())
        self.widget = W.VBox([W.HBox([self.acquisition, self.exploration]), W.HBox([self.n_initial, self.seed]),
                              W.HBox([self.step_button, self.reset_button]), self.status, self.image])
        self.widget.add_class("amsearch-bayes")
        self.reset()

    def _set_exploration_range(self, value: float | None) -> None:
        """ξ in [0, 1] (standardised units) for EI/PI, default 0.01; β in [0, 16] for UCB, default 4."""
        ucb = self.acquisition.value == "ucb"
        with self.exploration.hold_trait_notifications():
            self.exploration.max, self.exploration.step = (16.0, 0.1) if ucb else (1.0, 0.01)
            self.exploration.value = value if value is not None else (4.0 if ucb else 0.01)
            self.exploration.description = "β (UCB)" if ucb else "ξ"

    def _new_strategy(self):
        from ..strategies.bayes import BayesianOptimization

        option = {"beta": self.exploration.value} if self.acquisition.value == "ucb" else {"xi": self.exploration.value}
        return BayesianOptimization(self.space, seed=self.seed.value, acquisition=self.acquisition.value,
                                    n_initial=self.n_initial.value, n_candidates=256, n_local=3, **option)

    def reset(self) -> None:
        """Forget every evaluation and start again (new seed or initial design)."""
        self.strategy_ = self._new_strategy()
        self.history = History()
        self._preview()
        self._say("Press Step: the first points are the initial design; then the GP and the acquisition decide.")
        self.redraw()

    def _retune(self) -> None:
        """The acquisition or its parameter changed: a strategy with the new options learns every
        evaluation so far; redraw what Step will do."""
        self.strategy_ = self._new_strategy()
        for trial in self.history:
            self.strategy_.tell(trial)
        self._preview()
        self.redraw()

    def step(self) -> None:
        """One evaluation: the strategy proposes x, ``search()`` evaluates f(x)."""
        part = search(lambda p: self.f(p["x"]), self.space, strategy=self.strategy_, budget=1, progress=False)
        _merge(self.history, part)
        self._preview()
        best = self.history.best
        self._say(f"{len(self.history)} evaluations; last x = {part[0].params['x']:.4f}, "
                  f"f = {part[0].value:.4f}; best f = {best.value:.4f} at x = {best.params['x']:.4f}")
        self.redraw()

    def _preview(self) -> None:
        """The posterior of all evaluations and the acquisition over the grid, from the model the
        next Step will fit (``fitted_model()`` is a copy: showing the picture changes nothing the
        strategy will do)."""
        self.mean = self.std = self.acquisition_values = self.next_x = None
        gp = self.strategy_.fitted_model()
        if gp is None:
            return  # still the initial design: no model yet
        self.mean, self.std = gp.predict(self._grid_unit, return_std=True)  # (n_grid,) each, units of f
        self.acquisition_values = self.strategy_.acquisition_values(self._grid_unit, gp)
        self.next_x = float(self.grid[int(np.argmax(self.acquisition_values))])

    def _draw(self, fig: Figure) -> None:
        axes = fig.subplots(2, 1, sharex=True, height_ratios=(2, 1))
        X = [t.params["x"] for t in self.history]
        y = [t.value for t in self.history]
        label = {"ei": "EI / max EI", "pi": "PI / max PI", "ucb": "UCB"}[self.acquisition.value]
        if self.mean is None:
            axes[0].plot(self.grid, self.f_grid, "--", color="gray", label="true function")
            axes[0].scatter(X, y, color="black", zorder=3, label=f"evaluations ({len(X)})")
            axes[0].set(title=f"Initial design: {len(X)} of {self.strategy_.n_initial} points", ylabel="f(x)")
            axes[0].legend(fontsize=8, loc="upper left")
            axes[1].set(xlabel="x", ylabel=label)
            return
        shown = self.acquisition_values
        if self.acquisition.value != "ucb":
            shown = np.exp(shown - shown.max())
        plots.plot_gp_1d(self.grid, self.mean, self.std, X, y, f_true=self.f_grid, acquisition=shown,
                         next_x=self.next_x, axes=axes, acquisition_label=label,
                         title=f"GP posterior after {len(X)} evaluations, and the acquisition for the next")

