"""Multi-fidelity search on synthetic learning curves, one job per click: the curves a strategy
trained (coloured by the step each configuration reached; the ones it stopped end early), the
number of configurations that stopped at each step, and a rung table of where the steps went."""

from __future__ import annotations

import math

import ipywidgets as W
import numpy as np
import pandas as pd
from matplotlib import colors
from matplotlib.figure import Figure

from ..curves import SyntheticCurves
from ..fidelity import ilog
from ..study import History, search
from .base import _Playground

__all__ = ["MultiFidelityPlayground", "MF_STRATEGIES", "best_final", "budget_choices", "rung_table", "config_curves"]

MF_STRATEGIES = ("sha", "hyperband", "asha", "median", "bohb")


def budget_choices(eta: int) -> list[int]:
    """The largest budgets R the playground offers for η: its powers η, η², ... up to 243. With R
    a power of η every rung's budget R η^{-k} is a whole number of steps (for another R, Hyperband's
    and ASHA's rungs fall between steps, which ``SyntheticCurves`` cannot train to)."""
    return [eta**k for k in range(1, 9) if eta**k <= 243]


def best_final(curves: SyntheticCurves, n: int = 2001) -> float:
    """The lowest ``curves.final`` over the space: what a perfect search of ``curves`` finds. The
    asymptote's x-term ``(x − 0.3)²`` is the only place x enters, so x = 0.3 and the minimum over
    y is taken on a grid of ``n`` points of [0, 1]."""
    return float(min(curves.final({"x": 0.3, "y": float(y)}) for y in np.linspace(0.0, 1.0, n)))


def rung_table(history: History, max_budget) -> pd.DataFrame:
    """Where a multi-fidelity search spent its steps: one row per budget its jobs trained to
    (``None``, the objective's own maximum, counts as ``max_budget``), smallest first, with

    jobs            the trials asked to train to that budget
    configurations  the distinct configurations among them
    stopped         the jobs stopped before reaching it (by the strategy or the resource budget)
    steps           the steps (epochs, ...) those jobs trained, ``Trial.resource`` summed
    share           steps / all steps
    """
    rows = {}
    for t in history:
        budget = max_budget if t.budget is None else t.budget
        row = rows.setdefault(budget, {"budget": budget, "jobs": 0, "configurations": set(), "stopped": 0, "steps": 0.0})
        row["jobs"] += 1
        row["configurations"].add(t.config)
        row["stopped"] += t.status == "stopped"
        row["steps"] += t.resource
    table = pd.DataFrame([{**r, "configurations": len(r["configurations"])} for _, r in sorted(rows.items())],
                         columns=["budget", "jobs", "configurations", "stopped", "steps"])
    total = table["steps"].sum()
    table["share"] = table["steps"] / total if total > 0 else 0.0
    return table


def config_curves(history: History) -> dict:
    """Each configuration's whole learning curve, its jobs put together: ``{config: (steps,
    values)}`` (two float arrays, by step), in the order the configurations first appear."""
    points: dict = {}
    for t in history:
        for step, value in t.curve:
            points.setdefault(t.config, {})[step] = math.nan if value is None else value
    return {c: (np.array(sorted(p), dtype=float), np.array([p[s] for s in sorted(p)], dtype=float))
            for c, p in points.items()}


class MultiFidelityPlayground(_Playground):
    """A multi-fidelity strategy on ``SyntheticCurves`` (power-law loss curves; ``crossing`` > 0
    makes slow starters overtake), one job per click.

    Changing any control runs the whole search again, at once (a synthetic curve costs
    microseconds): ``search(SyntheticCurves(crossing, seed=seed), strategy, resource_budget)``
    with the strategy built from η, the largest budget R and the seed (smallest budget 1; for
    ``median``, every job is given R). **Step** then shows its jobs one at a time, **Run**
    all of them, **Reset** none.

    Data: ``history`` (the whole search), ``shown`` (how many of its jobs are drawn),
    ``curves`` (the ``SyntheticCurves`` objective), ``table`` (``rung_table`` of the shown jobs),
    ``best_final`` (the lowest noiseless value at R over the space: what a perfect search finds).
    """

    figsize = (10.5, 4.2)

    def __init__(self, strategy: str = "hyperband", eta: int = 3, max_budget: int = 27, crossing: float = 0.0,
                 seed: int = 0, resource_budget: int = 357):
        super().__init__()
        if strategy not in MF_STRATEGIES:
            raise ValueError(f"MultiFidelityPlayground: strategy={strategy!r} must be one of {list(MF_STRATEGIES)}")
        if not (isinstance(eta, int) and 2 <= eta <= 5):
            raise ValueError(f"MultiFidelityPlayground: eta={eta!r} must be an integer in [2, 5]")
        if max_budget not in budget_choices(eta):
            raise ValueError(f"MultiFidelityPlayground: max_budget={max_budget!r} must be a power of eta={eta}: one of "
                             f"{budget_choices(eta)}")
        self.strategy = W.Dropdown(options=list(MF_STRATEGIES), value=strategy, description="strategy")
        self.eta = W.IntSlider(value=eta, min=2, max=5, description="η", continuous_update=False)
        self.max_budget = W.Dropdown(options=budget_choices(eta), value=max_budget, description="R (max)")
        self.crossing = W.FloatSlider(value=crossing, min=0.0, max=3.0, step=0.25, description="crossing",
                                      continuous_update=False)
        self.seed = W.IntText(value=seed, description="seed")
        self.resource_budget = W.IntSlider(value=resource_budget, min=10, max=1000, step=1,
                                           description="steps budget", continuous_update=False,
                                           style={"description_width": "90px"})
        self.step_button = W.Button(description="Step", button_style="success", icon="step-forward")
        self.run_button = W.Button(description="Run", icon="fast-forward")
        self.reset_button = W.Button(description="Reset", icon="refresh")
        self.table_html = W.HTML()
        self._holding = False  # True while the R choices follow a new η (one rerun, not several)
        for control in (self.strategy, self.max_budget, self.crossing, self.seed, self.resource_budget):
            control.observe(lambda _: None if self._holding else self.rerun(), names="value")
        self.eta.observe(lambda _: self._follow_eta(), names="value")
        self.step_button.on_click(lambda _: self.step())
        self.run_button.on_click(lambda _: self.show(len(self.history)))
        self.reset_button.on_click(lambda _: self.show(0))
        self.widget = W.VBox([W.HBox([self.strategy, self.eta, self.max_budget]),
                              W.HBox([self.crossing, self.seed, self.resource_budget]),
                              W.HBox([self.step_button, self.run_button, self.reset_button]), self.status,
                              self.image, self.table_html])
        self.widget.add_class("amsearch-multi-fidelity")
        self.rerun()

    def _follow_eta(self) -> None:
        """Offer the powers of the new η as R, keeping the one nearest the old R (in log scale)."""
        old, choices = self.max_budget.value, budget_choices(self.eta.value)
        self._holding = True
        try:
            self.max_budget.options = choices
            self.max_budget.value = min(choices, key=lambda r: abs(math.log(r / old)))
        finally:
            self._holding = False
        self.rerun()

    def options(self) -> dict:
        """The strategy's options from the controls: budgets 1 to R with η; ``sha`` draws
        n = η^⌊log_η R⌋ configurations per bracket (so that one reaches R), ``median`` gives every
        job R."""
        R, eta = self.max_budget.value, self.eta.value
        if self.strategy.value == "median":
            return {"max_budget": R}
        schedule = {"eta": eta, "min_budget": 1, "max_budget": R}
        return {"n": eta ** ilog(R, eta), **schedule} if self.strategy.value == "sha" else schedule

    def rerun(self) -> None:
        """Run the search with the current settings (all of it) and show none of its jobs yet."""
        R = self.max_budget.value
        self.curves = SyntheticCurves(crossing=self.crossing.value, max_steps=R, seed=self.seed.value)
        options = self.options()
        self.history = search(self.curves, self.curves.space(), self.strategy.value, budget=100_000,
                              seed=self.seed.value, options=options, resource_budget=self.resource_budget.value,
                              progress=False)
        self.best_final = best_final(self.curves)
        self.show(0)

    def step(self) -> None:
        """Show one more job."""
        self.show(min(self.shown + 1, len(self.history)))

    def show(self, n: int) -> None:
        """Show the first ``n`` jobs of the search: curves, rung table and status line."""
        self.shown = int(n)
        part = History(minimize=True)
        part.trials = self.history.trials[:self.shown]
        R = self.max_budget.value
        self.table = rung_table(part, R)
        self.table_html.value = self.table.to_html(index=False, float_format=lambda v: f"{v:.3g}")
        spent = sum(t.resource for t in part)
        full = [t for t in part if t.ok and t.curve and t.curve[-1][0] == R]
        if full:
            pick = min(full, key=lambda t: t.value)
            found = (f"pick (best value at R = {R}): true final {self.curves.final(pick.params):.4f}, "
                     f"best possible {self.best_final:.4f}")
        else:
            found = f"no configuration trained to R = {R} yet"
        self._say(f"{self.shown} of {len(self.history)} jobs, {spent:g} of {self.resource_budget.value} steps, "
                  f"{len({t.config for t in part})} configurations; {found}")
        self.redraw()

    def _draw(self, fig: Figure) -> None:
        from matplotlib.cm import ScalarMappable

        left, right = fig.subplots(1, 2, width_ratios=(1.6, 1))
        R = self.max_budget.value
        mappable = ScalarMappable(norm=colors.LogNorm(vmin=1, vmax=max(R, 2)), cmap="viridis")
        by_reach: dict = {}  # the step a configuration's training reached -> its curves
        for steps, values in config_curves(self.history.trials[:self.shown]).values():
            by_reach.setdefault(steps[-1], []).append((steps, values))
        for reached, group in sorted(by_reach.items()):
            # plumbing: the curves that reached one step drawn as one line, NaN between them (hundreds of
            # curves as separate artists take seconds to draw)
            xs = np.concatenate([np.append(steps, np.nan) for steps, _ in group])
            ys = np.concatenate([np.append(values, np.nan) for _, values in group])
            color = mappable.to_rgba(reached)
            left.plot(xs, ys, color=color, lw=1.5 if reached == R else 0.8, alpha=1.0 if reached == R else 0.6)
            left.plot([s[-1] for s, _ in group], [v[-1] for _, v in group], "o" if reached == R else "x",
                      color=color, ms=4)
        left.set(xscale="log", xlim=(0.9, 1.1 * R), xlabel="step (log scale)", ylabel="loss",
                 title=f"{self.strategy.value}: learning curves (× ended before R)")
        left.grid(alpha=0.3)
        fig.colorbar(mappable, ax=left, label="step reached")
        reached = sorted(by_reach)
        right.bar([f"{r:g}" for r in reached], [len(by_reach[r]) for r in reached],
                  color=[mappable.to_rgba(r) for r in reached])
        right.set(xlabel="step reached", ylabel="configurations", title="Where the configurations stopped")
