"""Matplotlib figures used by the lessons. Each function returns the ``Axes`` it drew on
(pass ``ax=`` to draw into an existing one), sets a title and labels its axes."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

__all__ = ["anytime_bands", "plot_best_so_far", "plot_trials_2d", "plot_curves", "plot_paths_2d"]


def anytime_bands(curves) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Median and interquartile range over runs of best-so-far curves.

    ``curves`` is a list of Histories or of 1-D arrays (one per seed), padded with their last
    value to the longest run. Returns ``(median, q25, q75)``, each of shape (n_trials,).
    """
    arrays = [c.best_so_far() if hasattr(c, "best_so_far") else np.asarray(c, dtype=float) for c in curves]
    if not arrays:
        raise ValueError("anytime_bands: curves is empty")
    n = max(len(a) for a in arrays)
    stacked = np.array([np.concatenate([a, np.full(n - len(a), a[-1] if len(a) else np.nan)]) for a in arrays])
    with np.errstate(all="ignore"):
        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN columns before any success
            return tuple(np.nanpercentile(stacked, q, axis=0) for q in (50, 25, 75))


def plot_best_so_far(runs: Mapping[str, Sequence], ax=None, optimum: float | None = None,
                     log: bool = False, title: str = "Best value so far", ylabel: str = "best value"):
    """Anytime curves: for each label, the median best-so-far over its runs with an
    interquartile band. With ``optimum`` the y-axis shows the simple regret |best - optimum|."""
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=(6, 4))
    for label, curves in runs.items():
        median, q25, q75 = anytime_bands(curves)
        if optimum is not None:
            median, q25, q75 = (np.abs(a - optimum) for a in (median, q25, q75))
        x = np.arange(1, len(median) + 1)
        (line,) = ax.plot(x, median, label=f"{label} (median)")
        if len(curves) > 1:
            ax.fill_between(x, np.minimum(q25, q75), np.maximum(q25, q75), color=line.get_color(), alpha=0.2)
    if log:
        ax.set_yscale("log")
    ax.set_xlabel("evaluations (budget used)")
    ax.set_ylabel("simple regret |best - optimum|" if optimum is not None else ylabel)
    ax.set_title(title)
    ax.legend()
    ax.grid(alpha=0.3)
    return ax


def plot_trials_2d(histories, x: str, y: str, f=None, bounds=None, ax=None, levels: int = 30,
                   title: str = "Trials on the objective"):
    """Trials of one or more searches as points in the (x, y) plane, over the contour of
    ``f(x, y)`` when given. ``histories`` is a History or a ``{label: History}`` dict;
    ``bounds = ((x_low, x_high), (y_low, y_high))`` sets the contour's extent."""
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=(5, 4.5))
    if not isinstance(histories, Mapping):
        histories = {"trials": histories}
    if f is not None:
        if bounds is None:
            raise ValueError("plot_trials_2d: bounds=None; give ((x_low, x_high), (y_low, y_high)) to draw f")
        gx, gy = np.meshgrid(np.linspace(*bounds[0], 200), np.linspace(*bounds[1], 200))
        gz = np.vectorize(f)(gx, gy)
        contour = ax.contourf(gx, gy, gz, levels=levels, cmap="viridis", alpha=0.8)
        ax.figure.colorbar(contour, ax=ax, label="objective")
    markers = "osD^v*"
    for i, (label, history) in enumerate(histories.items()):
        ok = [t for t in history if t.ok]
        ax.scatter([t.params[x] for t in ok], [t.params[y] for t in ok], marker=markers[i % len(markers)],
                   edgecolor="black", facecolor="white" if i == 0 else "orange", s=36, label=f"{label} ({len(ok)})")
    ax.set_xlabel(x)
    ax.set_ylabel(y)
    ax.set_title(title)
    ax.legend(loc="upper right", fontsize=8)
    return ax


def plot_curves(curves: Mapping, ax=None, log: bool = False, xlabel: str = "iteration",
                ylabel: str = "loss", title: str = "Loss curves"):
    """One line per label: ``curves`` maps a label to ``y`` values (drawn at x = 0, 1, ...) or to
    an ``(x, y)`` pair, e.g. the loss per iteration or a metric per epoch (loss curves)."""
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=(6, 4))
    for label, curve in curves.items():
        x, y = curve if isinstance(curve, tuple) else (np.arange(len(curve)), curve)
        ax.plot(x, y, label=label)
    if log:
        ax.set_yscale("log")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.legend()
    ax.grid(alpha=0.3)
    return ax


def plot_paths_2d(paths: Mapping, f, bounds, ax=None, optimum=None, levels: int = 30, log: bool = True,
                  xlabel: str = "w", ylabel: str = "b", title: str = "Optimizer paths on the loss contour"):
    """Paths of optimizers in a 2-D parameter plane over the contour of ``f(x, y)`` (of
    ``log10 f`` when ``log``). ``paths`` maps a label to ``(xs, ys)``; ``bounds`` is
    ``((x_low, x_high), (y_low, y_high))``; ``optimum`` ``(x, y)`` is marked with a star."""
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=(6, 5))
    gx, gy = np.meshgrid(np.linspace(*bounds[0], 200), np.linspace(*bounds[1], 200))
    gz = np.vectorize(f)(gx, gy)  # (200, 200)
    contour = ax.contourf(gx, gy, np.log10(gz) if log else gz, levels=levels, cmap="viridis", alpha=0.8)
    ax.figure.colorbar(contour, ax=ax, label="log10 loss" if log else "loss")
    for label, (xs, ys) in paths.items():
        ax.plot(xs, ys, ".-", markersize=3, linewidth=1, label=f"{label} ({len(xs) - 1} steps)")
    if optimum is not None:
        ax.plot(*optimum, "*", color="red", markersize=14, markeredgecolor="black", label="optimum")
    ax.set_xlim(*bounds[0])
    ax.set_ylim(*bounds[1])
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.legend(loc="upper right", fontsize=8)
    return ax
