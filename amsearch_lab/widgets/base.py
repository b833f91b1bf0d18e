"""Plumbing shared by the playgrounds: a Figure shown as a PNG image, a status line, display.

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
* A playground that steps a strategy (Bayesian optimization, the genetic algorithm) runs
  ``search()`` with a small budget on the same strategy object and appends the trials to its own
  History (``_merge``). A strategy's options are set when it is built, by its constructor, which
  checks them; a control that changes an option builds a new strategy.
"""

from __future__ import annotations

import functools
import io
import threading

import ipywidgets as W
from matplotlib.figure import Figure

from ..study import History

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

