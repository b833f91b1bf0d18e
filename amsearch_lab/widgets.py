"""Playgrounds (ipywidgets) that end the lessons: a search explorer, Bayesian optimization in 1-D,
a genetic algorithm in 2-D, optimizers on the regression loss, and three compression sliders.

Every playground is a small class. Its controls are attributes (``explorer.budget``,
``explorer.run_button``), so is the data behind its plot and table (``explorer.history``,
``explorer.curve``, ``pruning.results``); ``.widget`` is the ipywidgets container, and a cell
that ends in the object shows it. Buttons work from Python too (``explorer.run_button.click()``):
that is how the tests and the lessons' quick-mode cells drive them.

Plumbing choices, said once here:

* Figures are drawn by ``amsearch_lab.plots`` into a matplotlib ``Figure`` that pyplot does not
  know about, and shown as a PNG in an ``ipywidgets.Image``. The same code then works in a
  notebook, in a test without a browser, and from a background thread, and leaks no figures.
* Inside a Jupyter kernel the search explorer runs its search in a background thread: the
  kernel stays free to receive the Stop button's click. Elsewhere it runs in the caller's thread.
  ``wait()`` joins the thread. While trials finish, the plot is redrawn only when at least
  ``REDRAW_SECONDS`` and three times the last drawing's duration have passed (drawing costs more
  than a test function's trial), and once at the end.
* A contour needs the function on a 200 x 200 grid, which does not change between redraws: the
  playgrounds hand the plots a memoised function (``_memo``), so only the first drawing pays.
* Every algorithm comes from the library: ``search()`` with its callbacks and ``StopSearch``, the
  strategies, ``GaussianProcess`` and the acquisition functions, ``optim``, ``compress``.
"""

from __future__ import annotations

import ast
import copy
import functools
import html
import inspect
import io
import math
import threading
import time

import ipywidgets as W
import numpy as np
from matplotlib.figure import Figure

from . import plots
from .space import Float, Space
from .strategies import STRATEGIES
from .study import History, StopSearch, search
from .tasks import TASKS, branin, get_task, rastrigin, rosenbrock

__all__ = ["SearchExplorer", "BayesOptPlayground", "GeneticPlayground", "OptimizerPlayground",
           "PruningPlayground", "QuantizationPlayground", "LowRankPlayground", "NASPlayground", "mnist_base_model",
           "forrester"]

REDRAW_SECONDS = 0.5
DPI = 72  # figure pixels per inch: the PNG is shown at its own size


def _in_kernel() -> bool:
    """True inside a Jupyter kernel (where a blocking loop would keep button clicks waiting)."""
    try:
        from IPython import get_ipython
    except ImportError:
        return False
    shell = get_ipython()
    return shell is not None and hasattr(shell, "kernel")


def _memo(f):
    """``f`` remembering its results (a pure function of a few floats, evaluated on a plot grid)."""
    return functools.lru_cache(maxsize=50_000)(f)


def _merge(history: History, part: History) -> None:
    """Plumbing: append the trials of a short ``search()`` call to a running History, renumbered."""
    for trial in part:
        trial.number = len(history)
        history.append(trial)


class _Playground:
    """Plumbing shared by the playgrounds: a Figure shown as a PNG image, a status line, display."""

    figsize = (10, 4)

    def __init__(self):
        self.figure = Figure(figsize=self.figsize, layout="constrained")
        self.image = W.Image(format="png", layout=W.Layout(width="100%", max_width=f"{int(self.figsize[0] * DPI)}px"))
        self.status = W.HTML()
        self._draw_lock = threading.Lock()

    def _draw(self, fig: Figure) -> None:
        raise NotImplementedError

    def redraw(self) -> None:
        """Draw the figure from the current data and show it."""
        with self._draw_lock:
            self.figure.clear()
            self._draw(self.figure)
            buffer = io.BytesIO()
            self.figure.savefig(buffer, format="png", dpi=DPI)
            self.image.value = buffer.getvalue()

    def _say(self, text: str) -> None:
        self.status.value = text

    def _ipython_display_(self):
        from IPython.display import display

        display(self.widget)


# -- search explorer --------------------------------------------------------------------------------
def _option_control(name: str, default) -> W.Widget:
    """A control for one constructor option of a strategy, chosen from its default's type."""
    style = {"description_width": "110px"}
    if isinstance(default, bool):
        return W.Checkbox(value=default, description=name, style=style)
    if isinstance(default, int):
        return W.IntText(value=default, description=name, style=style)
    if isinstance(default, float):
        return W.FloatText(value=default, description=name, style=style)
    if isinstance(default, str):
        return W.Text(value=default, description=name, style=style)
    return W.Text(value="" if default is None else repr(default), placeholder="default", description=name, style=style)


def _option_value(control: W.Widget, default):
    """The option's value read back from its control (a blank text is the default ``None``)."""
    if isinstance(default, (bool, int, float, str)):
        return control.value
    text = control.value.strip()
    if not text:
        return None
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError) as e:
        raise ValueError(f"option {control.description}={text!r} is not a Python literal ({e})") from None


VIEWS = ("trials 2-D", "slices", "parallel coordinates")


class SearchExplorer(_Playground):
    """Task, strategy, budget, seed and the strategy's own options as controls; Run starts
    ``search()`` and the best-so-far plot, the trial table and the progress bar follow each
    finished trial (a callback of the loop); Stop ends the search after the running trial,
    keeping every evaluated one (the callback raises ``StopSearch``).

    Runs accumulate per strategy (until the task changes or Clear): several seeds of one
    strategy give the median and interquartile band of the best-so-far curves.

    Data: ``history`` (the latest run), ``curve`` (its best-so-far values), ``table`` (its trials
    as a DataFrame), ``runs`` ({strategy: [History, ...]}), ``error`` (an exception that ended
    a run, or None).
    """

    figsize = (11, 4.2)

    def __init__(self, task: str = "branin", strategy: str = "random", budget: int = 30, seed: int = 0,
                 view: str = "trials 2-D", threaded: bool | None = None):
        super().__init__()
        get_task(task)  # a clear error for an unknown name
        names = [n for n, cls in STRATEGIES.items() if getattr(cls, "blackbox", True)]
        if strategy not in names:
            raise ValueError(f"SearchExplorer: strategy={strategy!r} must be one of {names}")
        if view not in VIEWS:
            raise ValueError(f"SearchExplorer: view={view!r} must be one of {VIEWS}")
        self.task = W.Dropdown(options=list(TASKS), value=task, description="task")
        self.strategy = W.Dropdown(options=names, value=strategy, description="strategy")
        self.budget = W.IntSlider(value=budget, min=1, max=max(200, budget), description="budget")
        self.seed = W.IntText(value=seed, description="seed")
        self.view = W.Dropdown(options=VIEWS, value=view, description="view")
        self.run_button = W.Button(description="Run", button_style="success", icon="play")
        self.stop_button = W.Button(description="Stop", button_style="danger", icon="stop", disabled=True)
        self.clear_button = W.Button(description="Clear runs", icon="trash")
        self.progress = W.IntProgress(value=0, min=0, max=budget, description="trials")
        self.table_html = W.HTML()
        self.options_box = W.VBox()
        self.option_controls: dict[str, W.Widget] = {}
        self.threaded = _in_kernel() if threaded is None else bool(threaded)
        # data
        self.history: History | None = None
        self.curve = np.array([])
        self.table = None
        self.runs: dict[str, list[History]] = {}
        self.error: Exception | None = None
        self._thread: threading.Thread | None = None
        self._stop_requested = False
        self._live = False  # a search is running and self.history is its partial History
        self._next_draw = 0.0
        self._contours = {}  # task name -> its memoised 2-D objective
        # wiring
        self._build_options()
        self.strategy.observe(lambda _: self._build_options(), names="value")
        self.task.observe(lambda _: self.clear(), names="value")
        self.view.observe(lambda _: self.redraw(), names="value")
        self.run_button.on_click(lambda _: self.run())
        self.stop_button.on_click(lambda _: self.stop())
        self.clear_button.on_click(lambda _: self.clear())
        self.widget = W.VBox([
            W.HBox([W.VBox([self.task, self.strategy, self.budget, self.seed, self.view]), self.options_box]),
            W.HBox([self.run_button, self.stop_button, self.clear_button, self.progress]),
            self.status, self.image, self.table_html])
        self.widget.add_class("amsearch-explorer")
        self._say("Choose a task and a strategy, then press Run.")
        self.redraw()

    # -- controls ----------------------------------------------------------------------------------
    def _build_options(self) -> None:
        """One control per constructor option of the chosen strategy (after space, seed, minimize)."""
        signature = inspect.signature(STRATEGIES[self.strategy.value].__init__)
        self._defaults = {name: p.default for name, p in signature.parameters.items()
                          if name not in ("self", "space", "seed", "minimize") and p.default is not inspect.Parameter.empty}
        self.option_controls = {name: _option_control(name, d) for name, d in self._defaults.items()}
        self.options_box.children = [W.HTML("<b>strategy options</b>"), *self.option_controls.values()]

    @property
    def options(self) -> dict:
        """The strategy options set in the controls, as passed to ``search(options=...)``."""
        return {name: _option_value(control, self._defaults[name]) for name, control in self.option_controls.items()}

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    # -- actions -------------------------------------------------------------------------------------
    def run(self) -> None:
        """Start a search with the controls' settings (in a thread inside a kernel)."""
        if self.running:
            return
        self._stop_requested, self.error, self.history = False, None, None
        self.progress.max, self.progress.value = self.budget.value, 0
        self.run_button.disabled, self.stop_button.disabled = True, False
        self._say(f"Running {self.strategy.value} on {self.task.value}...")
        if self.threaded:
            self._thread = threading.Thread(target=self._search, daemon=True)
            self._thread.start()
        else:
            self._search()

    def stop(self) -> None:
        """Ask the running search to stop after its current trial."""
        self._stop_requested = True

    def wait(self, timeout: float | None = None) -> None:
        """Block until a search started in the background has finished."""
        if self._thread is not None:
            self._thread.join(timeout)

    def clear(self) -> None:
        """Forget all runs (the curves of another task cannot be compared)."""
        if self.running:
            return
        self.runs, self.history, self.curve, self.table = {}, None, np.array([]), None
        self.table_html.value, self.progress.value = "", 0
        self.redraw()

    def _search(self) -> None:
        """Run the search; then draw the final picture, and only then say so and free the buttons."""
        task = get_task(self.task.value)
        self._live = True
        try:
            history = search(task.objective, task.space, strategy=self.strategy.value, budget=self.budget.value,
                             seed=self.seed.value, minimize=task.minimize, progress=False,
                             callbacks=[self._on_trial], options=self.options)
            self.history = history
            self.runs.setdefault(self.strategy.value, []).append(history)
            stopped = "stopped by you" if self._stop_requested and len(history) < self.budget.value else "finished"
            best = history.best
            message = (f"{stopped}: {len(history)} trials, best {task.metric} = "
                       f"{'-' if best is None else f'{best.value:.6g}'}"
                       + (f" (regret {task.regret(best.value):.3g})" if best is not None and task.optimum is not None else ""))
        except Exception as e:  # noqa: BLE001 - shown to the learner instead of dying in a thread
            self.error = e
            message = f"<span style='color:red'>error: {html.escape(f'{type(e).__name__}: {e}')}</span>"
        finally:
            self._live = False
            self._update_data()
            self.redraw()
        self._say(message)
        self.run_button.disabled, self.stop_button.disabled = False, True

    def _on_trial(self, trial, history: History) -> None:
        """The search loop's callback, after every trial: update the data, maybe redraw, maybe stop."""
        self.history = history
        self.progress.value = len(history)
        self._update_data()
        if time.monotonic() >= self._next_draw:
            start = time.monotonic()
            self.redraw()
            self._next_draw = time.monotonic() + max(REDRAW_SECONDS, 3 * (time.monotonic() - start))
        if self._stop_requested:
            raise StopSearch

    def _update_data(self) -> None:
        if self.history is None:
            return
        self.curve = self.history.best_so_far()
        frame = self.history.to_frame()
        self.table = frame.drop(columns=["error", "start"])
        best = self.history.best
        shown = self.table.tail(10).iloc[::-1]
        rows = shown.to_html(index=False, float_format=lambda v: f"{v:.5g}", border=0)
        self.table_html.value = (f"<b>latest trials</b> ({len(frame)} in all; best: trial "
                                 f"{'-' if best is None else best.number})" + rows)

    # -- the figure ------------------------------------------------------------------------------------
    def _draw(self, fig: Figure) -> None:
        task = get_task(self.task.value)
        left, right = fig.subfigures(1, 2, width_ratios=(1, 1.25))
        runs = {name: list(hs) for name, hs in self.runs.items()}
        if self._live and self.history is not None and len(self.history):  # the run in progress
            runs.setdefault(self.strategy.value, []).append(self.history)
        ax = left.subplots()
        if runs:
            plots.plot_best_so_far(runs, ax=ax, optimum=task.optimum, log=task.optimum is not None,
                                   title=f"{task.name}: best so far", ylabel=f"best {task.metric}")
        else:
            ax.set(title=f"{task.name}: best so far", xlabel="evaluations (budget used)", ylabel=f"best {task.metric}")
        history = self.history
        if history is None or history.best is None:
            ax = right.subplots()
            ax.set(title="trials (none yet)", xlabel="parameter", ylabel="value")
        elif self.view.value == "slices":
            plots.plot_slices(history, fig=right, title=f"{task.name}: value against each parameter")
        elif self.view.value == "parallel coordinates":
            plots.plot_parallel_coordinates(history, ax=right.subplots())
        else:
            self._draw_trials_2d(task, history, right.subplots())

    def _draw_trials_2d(self, task, history: History, ax) -> None:
        """The first two parameters; on the contour of the objective when it is a 2-D test function."""
        space = task.space
        x, y = list(space.dimensions)[:2]
        f = bounds = None
        if len(space) == 2 and task.optimum is not None:
            if task.name not in self._contours:
                self._contours[task.name] = _memo(lambda a, b: task.objective({x: a, y: b}))
            f = self._contours[task.name]
            bounds = tuple((space.dimensions[n].low, space.dimensions[n].high) for n in (x, y))
        plots.plot_trials_2d({task.name: history}, x, y, f=f, bounds=bounds, ax=ax,
                             title=f"{task.name}: the trials in ({x}, {y})")


# -- Bayesian optimization in 1-D -------------------------------------------------------------------
def forrester(x: float) -> float:
    """Forrester et al. (2008): f(x) = (6x - 2)² sin(12x - 4) on [0, 1]; a local minimum near
    x = 0.14 and the global minimum f = -6.0207 at x = 0.7572."""
    return float((6 * x - 2) ** 2 * math.sin(12 * x - 4))


class BayesOptPlayground(_Playground):
    """Bayesian optimization of a 1-D function, one evaluation per Step.

    The figure shows the GP posterior of every evaluation so far and the acquisition the next
    Step maximises (its maximiser on the grid is ``next_x``; the strategy then refines it with
    L-BFGS-B). The acquisition and its exploration parameter (ξ for EI and PI, β for UCB) can be
    changed between steps. Step calls ``search()`` with the ``BayesianOptimization`` strategy.

    Data: ``history``, ``grid`` (x values), ``mean`` and ``std`` (posterior on the grid, None
    during the initial design), ``acquisition_values`` (as the strategy computes them: log EI,
    log PI or UCB), ``next_x``. The figure shows EI and PI divided by their maximum (exp of the
    log minus its maximum), which is easier to read than a log that plunges to -800.
    """

    figsize = (8, 5.5)
    ACQUISITION_NAMES = (("expected improvement (EI)", "ei"), ("probability of improvement (PI)", "pi"),
                         ("upper confidence bound (UCB)", "ucb"))

    def __init__(self, f=forrester, bounds=(0.0, 1.0), acquisition: str = "ei", exploration: float | None = None,
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
        from .strategies.bayes import BayesianOptimization

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
        """The acquisition or its parameter changed: tell the strategy, redraw what Step will do."""
        self.strategy_.acquisition = self.acquisition.value
        if self.acquisition.value == "ucb":
            self.strategy_.beta = self.exploration.value
        else:
            self.strategy_.xi = self.exploration.value
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
        """The posterior of all evaluations and the acquisition over the grid.

        A copy of the strategy's GP is fitted here (warm-started from the strategy's last fit, with
        its own restarts), so showing the picture does not change what the strategy will do."""
        from .strategies.bayes import ACQUISITIONS

        strategy = self.strategy_
        self.mean = self.std = self.acquisition_values = self.next_x = None
        if len(strategy.trials) < max(strategy.n_initial, 2):
            return  # still the initial design: no model yet
        y = np.array([strategy.loss(t) for t in strategy.trials])  # (n,) f is never failing here
        gp = copy.deepcopy(strategy.gp).fit(strategy.X, y, n_restarts=strategy.n_restarts,
                                           rng=np.random.default_rng(self.seed.value))
        mean_z, var_z = gp.posterior(self._grid_unit)
        option = {"beta": strategy.beta} if strategy.acquisition == "ucb" else {"xi": strategy.xi}
        values = ACQUISITIONS[strategy.acquisition](mean_z, np.sqrt(var_z), float(gp.z_.min()), **option)[0]
        self.mean, self.std = gp.y_mean_ + gp.y_std_ * mean_z, gp.y_std_ * np.sqrt(var_z)
        self.acquisition_values = values
        self.next_x = float(self.grid[int(np.argmax(values))])

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


# -- genetic algorithm in 2-D -----------------------------------------------------------------------
GA_FUNCTIONS = {
    "branin": (branin, ((-5.0, 10.0), (0.0, 15.0))),
    "rastrigin": (rastrigin, ((-5.12, 5.12), (-5.12, 5.12))),
    "rosenbrock": (rosenbrock, ((-2.0, 2.0), (-1.0, 3.0))),
}


class GeneticPlayground(_Playground):
    """The ``GeneticSearch`` strategy on a 2-D test function, one generation per click.

    Changing the function, the population size or the seed starts again; the mutation rate
    (the per-gene probability) and its size σ act from the next generation on.

    Data: ``history``, ``populations`` (a list per generation of its params, elites included),
    ``best_per_generation`` (the best value in each population).
    """

    figsize = (10, 4.2)

    def __init__(self, function: str = "rastrigin", population: int = 12, mutation_rate: float = 0.5,
                 sigma: float = 0.2, seed: int = 0):
        super().__init__()
        if function not in GA_FUNCTIONS:
            raise ValueError(f"GeneticPlayground: function={function!r} must be one of {list(GA_FUNCTIONS)}")
        self.function = W.Dropdown(options=list(GA_FUNCTIONS), value=function, description="function")
        self.population = W.IntSlider(value=population, min=4, max=40, description="population",
                                      continuous_update=False)
        self.mutation_rate = W.FloatSlider(value=mutation_rate, min=0.0, max=1.0, step=0.05, description="mutation rate",
                                           continuous_update=False, style={"description_width": "90px"})
        self.sigma = W.FloatSlider(value=sigma, min=0.01, max=0.5, step=0.01, description="mutation σ",
                                   continuous_update=False, style={"description_width": "90px"})
        self.seed = W.IntText(value=seed, description="seed")
        self.next_button = W.Button(description="Next generation", button_style="success", icon="step-forward")
        self.run_button = W.Button(description="+10 generations", icon="fast-forward")
        self.reset_button = W.Button(description="Reset", icon="refresh")
        for control in (self.function, self.population, self.seed):
            control.observe(lambda _: self.reset(), names="value")
        self.mutation_rate.observe(lambda change: setattr(self.strategy_, "mutation_prob", change.new), names="value")
        self.sigma.observe(lambda change: setattr(self.strategy_, "sigma", change.new), names="value")
        self.next_button.on_click(lambda _: self.next_generation())
        self.run_button.on_click(lambda _: self.next_generation(10))
        self.reset_button.on_click(lambda _: self.reset())
        self.widget = W.VBox([W.HBox([self.function, self.population, self.seed]),
                              W.HBox([self.mutation_rate, self.sigma]),
                              W.HBox([self.next_button, self.run_button, self.reset_button]), self.status, self.image])
        self.widget.add_class("amsearch-genetic")
        self.reset()

    def reset(self) -> None:
        from .strategies.genetic import GeneticSearch

        self.f, self.bounds = GA_FUNCTIONS[self.function.value]
        self._f_xy = _memo(lambda a, b: self.f([a, b]))
        self.space = Space({f"x{i}": Float(*b) for i, b in enumerate(self.bounds)})
        self.strategy_ = GeneticSearch(self.space, seed=self.seed.value, population=self.population.value,
                                       mutation_prob=self.mutation_rate.value, sigma=self.sigma.value)
        self.history, self.populations, self.best_per_generation = History(), [], []
        self._say("Press Next generation: the first one is drawn at random.")
        self.redraw()

    def next_generation(self, n: int = 1) -> None:
        """Breed and evaluate ``n`` more generations (the elites are not evaluated again)."""
        for _ in range(n):
            size = self.strategy_.population - (self.strategy_.elitism if self.populations else 0)
            _merge(self.history, search(lambda p: self.f([p["x0"], p["x1"]]), self.space, strategy=self.strategy_,
                                        budget=size, progress=False))
            self.populations.append([self.space.decode(g) for g in self.strategy_.genomes_])
            self.best_per_generation.append(float(min(self.strategy_.losses_)))
        self._say(f"generation {len(self.populations) - 1}: {len(self.history)} evaluations, "
                  f"best f = {self.best_per_generation[-1]:.4g}")
        self.redraw()

    def _draw(self, fig: Figure) -> None:
        left, right = fig.subplots(1, 2, width_ratios=(1.3, 1))
        plots.plot_generations_2d(self.populations, "x0", "x1", self._f_xy, self.bounds, ax=left,
                                  title=f"{self.function.value}: population per generation")
        if self.populations:
            plots.plot_curves({"best in population": self.best_per_generation}, ax=right, xlabel="generation",
                              ylabel="f", title="Best value per generation")
        else:
            right.set(xlabel="generation", ylabel="f", title="Best value per generation")


# -- optimizers on the regression loss --------------------------------------------------------------
class OptimizerPlayground(_Playground):
    """Gradient descent, SGD and momentum fitting ``y_hat = w x + b`` to the lesson's data
    (``make_regression``), drawn on the contour of the loss L(w, b) = ½ mean((w x + b - y)²).

    GD uses all n points per step; SGD and momentum a random mini-batch of ``batch_size``
    (``batch_size = n`` is full-batch momentum). Every change of a control reruns ``descend``.

    Data: ``path`` ({"w", "b", "loss"} along the steps), ``final_loss``, ``optimum`` (the least-
    squares (w, b) from ``numpy.linalg.lstsq``: where every stable run should end).
    """

    figsize = (11, 4.2)
    METHODS = ("GD", "SGD", "momentum")

    def __init__(self, method: str = "GD", lr: float = 0.5, momentum: float = 0.9, batch_size: int = 10,
                 iterations: int = 100, n: int = 100, noise: float = 0.1, seed: int = 0, start=(-1.0, 1.5),
                 bounds=((-2.0, 3.0), (-1.5, 2.0))):
        super().__init__()
        from .datasets import make_regression

        if method not in self.METHODS:
            raise ValueError(f"OptimizerPlayground: method={method!r} must be one of {self.METHODS}")
        self.X, self.y = make_regression(n=n, noise=noise, seed=seed)
        self.start, self.bounds, self.seed = start, bounds, seed
        design = np.column_stack([self.X[:, 0], np.ones(n)])  # (n, 2): columns x and 1
        self.optimum = tuple(float(v) for v in np.linalg.lstsq(design, self.y, rcond=None)[0])
        self.loss = _memo(self.loss)
        self.method = W.ToggleButtons(options=self.METHODS, value=method, description="method")
        self.lr = W.FloatLogSlider(value=lr, base=10, min=-3, max=0.5, step=0.05, description="learning rate η",
                                   continuous_update=False, readout_format=".3g", style={"description_width": "100px"})
        self.momentum = W.FloatSlider(value=momentum, min=0.0, max=0.99, step=0.01, description="momentum μ",
                                      continuous_update=False, style={"description_width": "100px"})
        self.batch_size = W.IntSlider(value=batch_size, min=1, max=n, description="batch size",
                                      continuous_update=False, style={"description_width": "100px"})
        self.iterations = W.IntSlider(value=iterations, min=1, max=500, description="iterations",
                                      continuous_update=False, style={"description_width": "100px"})
        for control in (self.method, self.lr, self.momentum, self.batch_size, self.iterations):
            control.observe(lambda _: self.update(), names="value")
        self.widget = W.VBox([self.method, W.HBox([self.lr, self.momentum]), W.HBox([self.batch_size, self.iterations]),
                              self.status, self.image])
        self.widget.add_class("amsearch-optimizer")
        self.update()

    def loss(self, w: float, b: float) -> float:
        """L(w, b) on the playground's data (memoised per instance: the contour asks for it 40 000 times)."""
        from .optim import half_mse

        return half_mse(self.X, self.y, np.array([w]), np.array([b]))

    def update(self) -> None:
        """Run the chosen optimizer from ``start`` and redraw."""
        from .optim import SGD, descend

        method = self.method.value
        w, b = np.array([self.start[0]]), np.array([self.start[1]])
        optimizer = SGD([w, b], lr=self.lr.value, momentum=self.momentum.value if method == "momentum" else 0.0)
        with np.errstate(over="ignore", invalid="ignore"):
            self.path = descend(self.X, self.y, w, b, optimizer, self.iterations.value,
                                batch_size=None if method == "GD" else self.batch_size.value, seed=self.seed)
        self.final_loss = float(self.path["loss"][-1])
        diverged = not math.isfinite(self.final_loss) or self.final_loss > self.path["loss"][0]
        self._say(f"{method}: final loss {self.final_loss:.4g} at (w, b) = ({self.path['w'][-1, 0]:.4g}, "
                  f"{self.path['b'][-1]:.4g}); least squares: ({self.optimum[0]:.4f}, {self.optimum[1]:.4f}), "
                  f"loss {self.loss(*self.optimum):.4g}" + (" — <b style='color:red'>diverged</b>" if diverged else ""))
        self.redraw()

    def _draw(self, fig: Figure) -> None:
        left, right = fig.subplots(1, 2, width_ratios=(1.2, 1))
        label = self.method.value
        with np.errstate(over="ignore", invalid="ignore"):
            plots.plot_paths_2d({label: (self.path["w"][:, 0], self.path["b"])}, self.loss, self.bounds, ax=left,
                                optimum=self.optimum, title="Path on the loss contour L(w, b)")
            plots.plot_curves({label: self.path["loss"]}, ax=right, log=True, ylabel="loss L(w, b)",
                              title="Loss per iteration")


# -- compression on MNIST -----------------------------------------------------------------------------
_MNIST: dict = {}


def _mnist(limit: int | None = None):
    """MNIST on ``amsearch_lab.device()``, ``limit`` images per split, loaded once per kernel."""
    from .datasets import load_mnist
    from .device import device

    dev = device()
    key = (limit, str(dev))
    if key not in _MNIST:
        _MNIST[key] = load_mnist(device=dev, limit=limit)
    return _MNIST[key]


def mnist_base_model(epochs: int = 3, limit: int | None = None, seed: int = 0):
    """``(model, data)``: MNIST on ``amsearch_lab.device()`` (loaded once per kernel for each
    ``limit``, the number of images kept per split) and ``compress.trained_lenet`` on it, which
    trains LeNet-300-100 once and then reads its weights from ``runs/``. Each call returns a
    fresh model, so a playground may change it."""
    from .compress import trained_lenet

    data = _mnist(limit)
    dev = data.x_train.device
    print(f"base model: LeNet-300-100, {epochs} epochs on {len(data.x_train)} images "
          f"(trained once, then read from runs/), on {dev}")
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
        from .compress import accuracy

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
        from .compress import accuracy, count_nonzero, global_magnitude_prune, global_random_cut

        model = copy.deepcopy(self.base)
        if self.method.value == "magnitude":
            self.masks = global_magnitude_prune(model, self.sparsity.value)
        else:
            self.masks = global_random_cut(model, self.sparsity.value, seed=self.seed.value)
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
        from .compress import prunable_weights

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

        from .compress import accuracy, fake_quantize, prunable_weights, qparams, quantize_model, stored_bytes

        bits, per_channel = self.bits.value, self.per_channel.value
        self.weight = prunable_weights(self.base)[self.layer.value].detach()
        qp = qparams(self.weight, bits, symmetric=True, axis=0 if per_channel else None)
        self.weight_q = fake_quantize(self.weight, qp)
        self.error = float(torch.linalg.norm(self.weight - self.weight_q) / torch.linalg.norm(self.weight))
        self.max_error = float((self.weight - self.weight_q).abs().max())
        model_q = quantize_model(self.base, bits=bits, act_bits=None, per_channel=per_channel)
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

        from .compress import energy

        linear = {name: m for name, m in self.base.named_modules() if isinstance(m, torch.nn.Linear)}
        self.energies = {name: energy(torch.linalg.svdvals(m.weight.detach())).cpu().numpy() for name, m in linear.items()}
        self.rank = W.IntSlider(value=rank, min=1, max=max(len(e) for e in self.energies.values()), description="rank r",
                                continuous_update=False)
        self.rank.observe(lambda _: self.update(), names="value")
        self.widget = W.VBox([self.rank, self.status, self.image])
        self.widget.add_class("amsearch-lowrank")
        self.update()

    def update(self) -> None:
        from .compress import accuracy, count_params, split_model

        model = split_model(self.base, rank=self.rank.value)
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


# -- neural architecture search on the tabular benchmark ---------------------------------------------
NAS_STRATEGIES = ("random", "evolution", "genetic", "bayes", "greedy")


class NASPlayground(_Playground):
    """Neural architecture search on the shipped tabular benchmark (``nas.load_table``), in two parts.

    *Design a network*: one dropdown per slot, the conv width and the head. The status says whether
    the genome is valid (or which rule it breaks), the layer table gives each layer's output shape
    and parameters (``nas.summary``), and the network is starred on the accuracy-vs-parameters plot
    with the Pareto front of the whole table.

    *Race a strategy*: strategy, budget and number of seeds; Run searches the table with
    ``nas.compare_strategies`` (validation accuracy only) and draws the anytime curves of the
    pick's test accuracy (median and interquartile band over seeds), random search alongside. The
    networks the first seed visited are circled on the plot. Look-ups take milliseconds; BO refits
    a GP at every step, so the progress bar advances one seed at a time.

    *Train it*: the button trains the designed network now with the table's low-fidelity recipe
    (``nas.evaluate_architecture``; about a second on a CPU, on the GPU when there is one), so the
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
        from .nas import load_table

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
        self._pick_test = float(frame.loc[self.bench.best_by_validation().key, "test_acc"])
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

        from .nas import Architecture, check, summary

        self.arch = Architecture.from_params(self.params)
        self.reason = check(self.arch)
        self.layers = pd.DataFrame(summary(self.arch)) if self.reason is None or "rule 2" in self.reason else None
        self.row = None if self.reason else self.bench.frame.loc[self.arch.key]
        if self.reason:
            self._say(f"<span style='color:#b00'>invalid: {html.escape(self.reason)}</span>")
        else:
            self._say(f"<b>{html.escape(self.arch.key)}</b>: {int(self.row['params']):,} parameters, "
                      f"{int(self.row['flops']):,} FLOPs; low-fidelity validation accuracy {self.row['val_acc']:.3f}, "
                      f"test accuracy {self.row['test_acc']:.3f} (rank {self._rank()} of {len(self.bench)} by validation)")
        self.layers_html.value = "" if self.layers is None else self.layers.to_html(index=False)
        self.train_button.disabled = self.reason is not None
        self.trained, self.train_status.value = None, ""
        self.redraw()

    def train(self) -> None:
        """Train the designed network with the table's low-fidelity recipe, now."""
        from .nas import LOW_FIDELITY, evaluate_architecture

        if self.reason is not None:
            self.train_status.value = "an invalid network cannot be trained"
            return
        self.train_button.disabled = True
        self.train_status.value = "training ..."
        try:
            data = _mnist(max(LOW_FIDELITY.n_train, LOW_FIDELITY.n_val, LOW_FIDELITY.n_test))
            self.trained = evaluate_architecture(self.arch, data, LOW_FIDELITY, seed=0, device=data.x_train.device)
        finally:
            self.train_button.disabled = False
        r = self.trained
        self.train_status.value = (f"trained now in {r['train_seconds']:.1f} s on {html.escape(r['device'])}: "
                                   f"validation {r['val_acc']:.3f}, test {r['test_acc']:.3f} "
                                   f"(table: {self.row['val_acc']:.3f}, {self.row['test_acc']:.3f})")

    def _rank(self) -> int:
        return int((self.bench.frame["val_acc"] > self.row["val_acc"]).sum()) + 1

    def run(self) -> None:
        """Search the table with the chosen strategy (and random search, the baseline) over the seeds."""
        from .nas import Architecture, compare_strategies, picked_test_accuracy, top_architectures

        name, budget, n_seeds = self.strategy.value, self.budget.value, self.seeds.value
        self.progress.max, self.progress.value = n_seeds, 0
        self.run_button.disabled = True
        try:
            curves, self.picks, self.visited = [], [], []
            for seed in range(n_seeds):
                history = self.bench.search(name, budget, seed, self.options.get(name))
                curves.append(picked_test_accuracy(history, self.bench))
                self.picks += [arch.key for arch in top_architectures(history, k=1)]
                if seed == 0:
                    self.visited = sorted({Architecture.from_params(t.params).key for t in history if t.ok})
                self.progress.value = seed + 1
            self.curves = {name: np.array(curves)}
            if name != "random":
                self.curves.update(compare_strategies(self.bench, ["random"], budget, range(n_seeds)))
        finally:
            self.run_button.disabled = False
        means = {k: float(np.nanmean(c[:, -1])) for k, c in self.curves.items()}
        self.race_status.value = (f"after {budget} look-ups, mean test accuracy of the pick over {n_seeds} seed(s): "
                                  + ", ".join(f"{k} {v:.4f}" for k, v in means.items())
                                  + f"; seed 0 visited {len(self.visited)} networks and picked "
                                  f"{html.escape(self.picks[0]) if self.picks else 'none'}")
        self.redraw()

    def _draw(self, fig: Figure) -> None:
        left, right = fig.subplots(1, 2)
        frame = self.bench.frame
        highlight = {}
        if self.row is not None:
            highlight[f"designed: {self.arch.key}"] = (self.row["params"], self.row["test_acc"])
        plots.plot_pareto(frame["params"], frame["test_acc"], ax=right, highlight=highlight,
                          title="Every network of the table (low fidelity)")
        if self.visited:
            seen = frame.loc[self.visited]
            right.scatter(seen["params"], seen["test_acc"], s=40, facecolor="none", edgecolor="tab:orange",
                          linewidth=1.2, label=f"visited by {self.strategy.value}, seed 0 ({len(seen)})")
            right.legend(loc="lower right", fontsize=8)
        if self.curves:
            plots.plot_best_so_far(self.curves, ax=left, title="Anytime: test accuracy of the pick",
                                   ylabel="test accuracy of the pick")
            left.axhline(self._pick_test, color="gray", ls="--", lw=1, label="best by validation in the table")
            low = max(0.5, np.nanmin([np.nanmin(c) for c in self.curves.values()]) - 0.01)
            left.set_ylim(low, self._pick_test + 0.01)  # the dashed line of the table's best stays in view
            left.legend(fontsize=8, loc="lower right")
        else:
            left.set(xlabel="evaluations", ylabel="test accuracy of the pick", title="Press Run search")
