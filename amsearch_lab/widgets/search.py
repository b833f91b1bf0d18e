"""The search explorer: any task, any black-box strategy and its options, Run and Stop.

It is ``search()`` with controls: its callbacks draw the best-so-far plot and the trial table
after each finished trial, and raise ``StopSearch`` when Stop was pressed.
"""

from __future__ import annotations

import ast
import html
import inspect
import threading
import time

import ipywidgets as W
import numpy as np
from matplotlib.figure import Figure

from .. import plots
from ..strategies import STRATEGIES
from ..study import History, StopSearch, search
from ..tasks import TASKS, get_task
from .base import REDRAW_SECONDS, _in_kernel, _memo, _Playground

__all__ = ["SearchExplorer", "VIEWS"]


# -- the strategy's options as controls ---------------------------------------------------------------
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
        # the built-in tasks are plain objectives: multi-fidelity strategies have their own playground
        names = [n for n, cls in STRATEGIES.items()
                 if getattr(cls, "blackbox", True) and not getattr(cls, "multi_fidelity", False)]
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
