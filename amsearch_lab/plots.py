"""Matplotlib figures used by the lessons. Each function returns the ``Axes`` it drew on
(pass ``ax=`` to draw into an existing one), sets a title and labels its axes."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

__all__ = ["anytime_bands", "plot_best_so_far", "plot_trials_2d", "plot_curves", "plot_paths_2d",
           "contour_2d", "plot_slices", "plot_parallel_coordinates", "plot_pareto",
           "plot_weight_histogram", "plot_mask", "plot_gp_1d", "plot_generations_2d",
           "plot_gp_band", "plot_likelihood_surface", "plot_images_28x28", "plot_heatmap", "plot_workers",
           "plot_lineage", "plot_schedules", "plot_alpha_trajectories", "plot_rank_correlation"]


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
        contour_2d(ax, f, bounds, levels)
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
    contour_2d(ax, f, bounds, levels, log=log, label="log10 loss" if log else "loss")
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


def contour_2d(ax, f, bounds, levels: int = 30, log: bool = False, label: str = "objective"):
    """Plumbing shared by the 2-D plots: the filled contour of ``f(x, y)`` (of ``log10 f`` when
    ``log``) over ``bounds = ((x_low, x_high), (y_low, y_high))`` on a 200 x 200 grid, with a
    colour bar named ``label``."""
    gx, gy = np.meshgrid(np.linspace(*bounds[0], 200), np.linspace(*bounds[1], 200))
    gz = np.vectorize(f)(gx, gy)  # (200, 200)
    contour = ax.contourf(gx, gy, np.log10(gz) if log else gz, levels=levels, cmap="viridis", alpha=0.8)
    ax.figure.colorbar(contour, ax=ax, label=label)
    return contour


def _figure_or_new(fig, figsize):
    """Plumbing: the Figure (or SubFigure) to draw several panels into, cleared; a new pyplot one if None."""
    if fig is None:
        import matplotlib.pyplot as plt

        return plt.figure(figsize=figsize, layout="constrained")
    fig.clear()
    return fig


def plot_slices(history, params: Sequence[str] | None = None, fig=None, title: str = "One-parameter slices"):
    """One panel per parameter: the value of every ``ok`` trial against that parameter alone, the
    best trial marked with a star. A slice hides the other parameters' effect; read it together
    with the parallel coordinates. Returns the array of Axes."""
    ok = [t for t in history if t.ok]
    if not ok:
        raise ValueError(f"plot_slices: history has {len(history)} trials and none succeeded")
    params = list(ok[0].params) if params is None else list(params)
    fig = _figure_or_new(fig, (3.2 * len(params), 3))
    axes = np.atleast_1d(fig.subplots(1, len(params), sharey=True))
    best = history.best
    for ax, name in zip(axes, params):
        ax.scatter([t.params[name] for t in ok], [t.value for t in ok], s=18, alpha=0.7, edgecolor="black", linewidth=0.4)
        ax.plot(best.params[name], best.value, "*", color="red", markersize=12, markeredgecolor="black")
        ax.set_xlabel(name)
        ax.grid(alpha=0.3)
    axes[0].set_ylabel("value")
    fig.suptitle(title)
    return axes


def plot_parallel_coordinates(history, params: Sequence[str] | None = None, ax=None,
                              title: str = "Parallel coordinates of the trials"):
    """Each ``ok`` trial is a line through one vertical axis per parameter (scaled to [0, 1] over the
    trials; a categorical parameter by its options' order), coloured by value; the best is bold."""
    import matplotlib as mpl

    ok = [t for t in history if t.ok]
    if not ok:
        raise ValueError(f"plot_parallel_coordinates: history has {len(history)} trials and none succeeded")
    params = list(ok[0].params) if params is None else list(params)
    if ax is None:
        import matplotlib.pyplot as plt

        _, ax = plt.subplots(figsize=(1.6 * len(params) + 2, 4))
    columns = []
    for name in params:
        raw = [t.params[name] for t in ok]
        if all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in raw):
            col = np.asarray(raw, dtype=float)
        else:  # categorical: the position of each option among the sorted distinct options
            options = sorted({str(v) for v in raw})
            col = np.array([options.index(str(v)) for v in raw], dtype=float)
        span = col.max() - col.min()
        columns.append((col - col.min()) / span if span > 0 else np.full(len(col), 0.5))
    lines = np.array(columns).T  # (n_ok, n_params)
    values = np.array([t.value for t in ok])
    norm = mpl.colors.Normalize(values.min(), values.max())
    cmap = mpl.colormaps["viridis" if history.minimize else "viridis_r"]
    x = np.arange(len(params))
    for row, value in zip(lines, values):
        ax.plot(x, row, color=cmap(norm(value)), alpha=0.6, linewidth=1)
    best = ok.index(history.best)
    ax.plot(x, lines[best], color="red", linewidth=2.5, label=f"best ({history.best.value:.4g})")
    ax.figure.colorbar(mpl.cm.ScalarMappable(norm=norm, cmap=cmap), ax=ax, label="value")
    ax.set_xticks(x, params)
    ax.set_xlabel("parameter")
    ax.set_ylabel("position in the trials' range (0 = lowest)")
    ax.set_title(title)
    ax.legend(loc="upper right", fontsize=8)
    return ax


def plot_weight_histogram(weights: Mapping, ax=None, bins: int = 100, log: bool = True,
                          title: str = "Weight histogram"):
    """Histograms of weight tensors (torch or numpy), one per label, e.g. ``{"float32": w, "4-bit": w_q}``;
    a quantized tensor shows as a few tall bars, one per level."""
    if ax is None:
        import matplotlib.pyplot as plt

        _, ax = plt.subplots(figsize=(6, 4))
    arrays = {label: np.asarray(w.detach().cpu() if hasattr(w, "detach") else w, dtype=float).ravel()
              for label, w in weights.items()}
    low = min(a.min() for a in arrays.values())
    high = max(a.max() for a in arrays.values())
    edges = np.linspace(low, high, bins + 1)
    for label, a in arrays.items():
        ax.hist(a, bins=edges, histtype="stepfilled", alpha=0.5, label=f"{label} ({len(np.unique(a))} distinct)")
    if log:
        ax.set_yscale("log")
    ax.set_xlabel("weight value")
    ax.set_ylabel("count")
    ax.set_title(title)
    ax.legend(fontsize=8)
    return ax


def plot_mask(mask, ax=None, title: str = "Mask (white = kept)"):
    """A 0/1 mask as an image, rows = output units, columns = inputs (a conv kernel's inputs
    flattened); the kept fraction is in the title."""
    m = np.asarray(mask.detach().cpu() if hasattr(mask, "detach") else mask, dtype=float)
    m = m.reshape(m.shape[0], -1) if m.ndim > 1 else m[None, :]
    if ax is None:
        import matplotlib.pyplot as plt

        _, ax = plt.subplots(figsize=(6, 3))
    ax.imshow(m, cmap="gray", vmin=0, vmax=1, aspect="auto", interpolation="nearest")
    ax.set_xlabel("input")
    ax.set_ylabel("output unit")
    ax.set_title(f"{title}: {m.mean():.1%} kept")
    return ax


def plot_gp_1d(x, mean, std, X_obs, y_obs, f_true=None, acquisition=None, next_x=None, axes=None,
               acquisition_label: str = "acquisition", title: str = "GP posterior and acquisition"):
    """Bayesian optimization in 1-D: on top the GP mean ± 2 std over the grid ``x``, the
    observations and (dashed) the true function; below the acquisition with its maximiser
    ``next_x``, where the next evaluation goes. Returns the two Axes."""
    if axes is None:
        import matplotlib.pyplot as plt

        _, axes = plt.subplots(2, 1, figsize=(7, 5), sharex=True, height_ratios=(2, 1))
    top, bottom = axes
    if f_true is not None:
        top.plot(x, f_true, "--", color="gray", label="true function")
    top.plot(x, mean, color="C0", label="posterior mean μ")
    top.fill_between(x, mean - 2 * std, mean + 2 * std, color="C0", alpha=0.2, label="μ ± 2σ")
    top.scatter(X_obs, y_obs, color="black", zorder=3, label=f"evaluations ({len(X_obs)})")
    if next_x is not None:
        top.axvline(next_x, color="red", linewidth=1)
    top.set_ylabel("f(x)")
    top.set_title(title)
    top.legend(fontsize=8, loc="upper left")
    if acquisition is not None:
        bottom.plot(x, acquisition, color="C2")
        if next_x is not None:
            bottom.axvline(next_x, color="red", linewidth=1, label=f"next x = {next_x:.3f}")
            bottom.legend(fontsize=8, loc="upper left")
    bottom.set_xlabel("x")
    bottom.set_ylabel(acquisition_label)
    return axes


def plot_generations_2d(generations: Sequence, x: str, y: str, f, bounds, ax=None, levels: int = 30,
                        title: str = "Population per generation"):
    """A genetic algorithm's populations on the contour of ``f(x, y)``: ``generations`` is a list
    (oldest first) of lists of params; older generations fade, the newest is red."""
    import matplotlib as mpl

    if ax is None:
        import matplotlib.pyplot as plt

        _, ax = plt.subplots(figsize=(5, 4.5))
    contour_2d(ax, f, bounds, levels)
    colors = mpl.colormaps["Oranges"](np.linspace(0.25, 0.9, max(len(generations), 1)))
    for g, population in enumerate(generations):
        newest = g == len(generations) - 1
        ax.scatter([p[x] for p in population], [p[y] for p in population], s=40 if newest else 18,
                   color="red" if newest else colors[g], edgecolor="black", linewidth=0.5,
                   label=f"generation {g}" if newest or g == 0 else None, zorder=3 if newest else 2)
    ax.set_xlim(*bounds[0])
    ax.set_ylim(*bounds[1])
    ax.set_xlabel(x)
    ax.set_ylabel(y)
    ax.set_title(title)
    if generations:
        ax.legend(loc="upper right", fontsize=8)
    return ax


def plot_gp_band(x, mean, std, X_obs=None, y_obs=None, samples=None, f_true=None, ax=None,
                 title: str = "Gaussian process"):
    """One GP over a 1-D grid ``x``: the mean with a ±2σ band, optional sample functions (rows
    of ``samples``, shape (k, len(x))), the observations and (dashed) the true function."""
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=(6, 3.5))
    if samples is not None:
        ax.plot(x, np.asarray(samples).T, color="C1", linewidth=0.8, alpha=0.6)
    if f_true is not None:
        ax.plot(x, f_true, "--", color="gray", label="true function")
    ax.plot(x, mean, color="C0", label="mean μ")
    ax.fill_between(x, mean - 2 * std, mean + 2 * std, color="C0", alpha=0.2, label="μ ± 2σ")
    if X_obs is not None:
        ax.scatter(X_obs, y_obs, color="black", zorder=3, s=15, label=f"observations ({len(X_obs)})")
    ax.set_xlabel("x")
    ax.set_ylabel("f(x)")
    ax.set_title(title)
    ax.legend(fontsize=7, loc="upper left")
    return ax


def plot_likelihood_surface(log_lengthscales, log_noises, values, best=None, ax=None, depth: float = 30.0,
                            title: str = "Log marginal likelihood"):
    """Contours of ``values`` (shape (len(log_noises), len(log_lengthscales))) over log10 ℓ (x)
    and log10 σ_n² (y), with the maximiser ``best = (log10 ℓ, log10 σ_n²)`` marked. Values more
    than ``depth`` below the maximum share the lowest colour, so the region that matters is legible."""
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=(6, 4.5))
    top = np.nanmax(values)
    shown = np.maximum(values, top - depth)
    contour = ax.contourf(log_lengthscales, log_noises, shown, levels=np.linspace(top - depth, top, 21), cmap="viridis")
    ax.figure.colorbar(contour, ax=ax, label=f"log p(y | X, θ), floored at max - {depth:g}")
    if best is not None:
        ax.plot(*best, "r*", markersize=14, label="maximum")
        ax.legend(loc="upper right", fontsize=8)
    ax.set_xlabel("log10 length scale ℓ")
    ax.set_ylabel("log10 noise variance σ_n²")
    ax.set_title(title)
    return ax


def plot_images_28x28(images, titles: Sequence[str] | None = None, ncols: int = 8, fig=None,
                      cmap: str = "gray", title: str = "28x28 images"):
    """Rows of ``images`` (each 784 values, e.g. the first-layer weights or masks of some neurons)
    drawn as 28x28 pictures in a grid. Returns the Figure."""
    a = np.asarray(images.detach().cpu() if hasattr(images, "detach") else images, dtype=float).reshape(-1, 28, 28)
    nrows = -(-len(a) // ncols)
    fig = _figure_or_new(fig, (1.3 * ncols, 1.4 * nrows + 0.4))
    for k, img in enumerate(a):
        ax = fig.add_subplot(nrows, ncols, k + 1)
        ax.imshow(img, cmap=cmap, interpolation="nearest")
        ax.set_xticks([])
        ax.set_yticks([])
        if titles is not None:
            ax.set_title(titles[k], fontsize=8)
    fig.suptitle(title)
    return fig


def plot_heatmap(matrix, ax=None, xlabel: str = "neuron j", ylabel: str = "neuron i", cmap: str = "RdBu_r",
                 vmin: float = -1.0, vmax: float = 1.0, title: str = "Heat map"):
    """A matrix (e.g. the cosine similarity of neurons) as a heat map with a colour bar."""
    if ax is None:
        import matplotlib.pyplot as plt

        _, ax = plt.subplots(figsize=(5, 4))
    m = np.asarray(matrix.detach().cpu() if hasattr(matrix, "detach") else matrix, dtype=float)
    im = ax.imshow(m, cmap=cmap, vmin=vmin, vmax=vmax, interpolation="nearest")
    ax.figure.colorbar(im, ax=ax)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    return ax


def plot_pareto(cost, score, ax=None, highlight=None, xlabel: str = "parameters", *, ylabel: str,
                title: str = "Accuracy vs size, with the Pareto front", log: bool = True):
    """Every point ``(cost, score)`` as a dot and the Pareto front (``nas.pareto_front``: nothing
    cheaper scores as well) as a staircase; ``highlight`` maps a label to one ``(cost, score)``
    point to mark, e.g. the search's pick. ``ylabel`` is required: it names the split the scores
    come from (a front that drives a choice is drawn on validation scores)."""
    import matplotlib.pyplot as plt

    from .nas.pareto import pareto_front

    if ax is None:
        _, ax = plt.subplots(figsize=(6, 4))
    cost, score = np.asarray(cost, dtype=float), np.asarray(score, dtype=float)
    front = pareto_front(cost, score)
    ax.scatter(cost, score, s=8, alpha=0.4, color="tab:blue", label=f"networks ({len(cost)})")
    order = np.argsort(cost[front])
    ax.step(cost[front][order], score[front][order], where="post", color="tab:red", marker="o", markersize=4,
            label=f"Pareto front ({int(front.sum())})")
    for label, (x, y) in (highlight or {}).items():
        ax.plot(x, y, "*", markersize=14, markeredgecolor="black", label=label)
    if log:
        ax.set_xscale("log")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.legend(loc="lower right", fontsize=8)
    ax.grid(alpha=0.3)
    return ax


STATUS_STYLE = {"ok": {"facecolor": "tab:blue"},  # how plot_workers draws each trial status
                "stopped": {"facecolor": "tab:orange", "hatch": ".."},
                "failed": {"facecolor": "tab:red", "hatch": "//"}}


def plot_workers(trials_or_frame, ax=None, title: str = "Trials on the workers"):
    """A Gantt chart of a parallel search (the view of Dask's dashboard "task stream"): one row per
    worker, one bar per trial from its start to its end, in seconds after the first trial started;
    bars coloured by status (ok blue, stopped orange dotted, failed red hatched), with the count of
    each in the legend. White space in a row is time that worker ran nothing.

    ``trials_or_frame`` is a History or a list of Trials (their ``worker``, ``start`` (Unix s),
    ``duration`` (s) and ``status``), or a DataFrame with columns ``worker``, ``start`` and
    ``duration`` or ``end`` (same units as ``start``), and optionally ``status`` (default ok),
    e.g. the timeline of ``simulate.simulate_workers``. Rows are ordered by the worker's first
    start. Raises ValueError when there is nothing to draw, a column is missing, or a trial has
    no worker (a history written before trials recorded one)."""
    import pandas as pd
    from matplotlib.patches import Patch

    if isinstance(trials_or_frame, pd.DataFrame):
        frame = trials_or_frame
        missing = [c for c in ("worker", "start") if c not in frame.columns]
        if missing or not {"duration", "end"} & set(frame.columns):
            raise ValueError(f"plot_workers: the frame has columns {list(frame.columns)}; it needs worker, start "
                             f"and duration or end")
        end = frame["end"] if "end" in frame.columns else frame["start"] + frame["duration"]
        status = frame["status"] if "status" in frame.columns else "ok"
        bars = pd.DataFrame({"worker": frame["worker"], "start": frame["start"], "end": end, "status": status})
    else:
        from .simulate import timeline

        try:
            bars = timeline(trials_or_frame)
        except ValueError as e:
            raise ValueError(f"plot_workers: {e}") from None
    if bars.empty:
        raise ValueError("plot_workers: no trials to draw")
    unknown = set(bars["status"]) - set(STATUS_STYLE)
    if unknown:
        raise ValueError(f"plot_workers: status {sorted(unknown)} is not one of {list(STATUS_STYLE)}")
    if ax is None:
        import matplotlib.pyplot as plt

        _, ax = plt.subplots(figsize=(9, 0.5 * bars["worker"].nunique() + 1.8))
    t0 = bars["start"].min()
    first = bars.groupby("worker")["start"].min()
    workers = sorted(first.index, key=lambda w: (first[w], str(w)))  # row 0: the worker that started first
    row = {w: i for i, w in enumerate(workers)}
    counts, legend = bars["status"].value_counts(), []
    for status, style in STATUS_STYLE.items():
        mine = bars[bars["status"] == status]
        for worker, group in mine.groupby("worker"):
            ax.broken_barh(list(zip(group["start"] - t0, group["end"] - group["start"])), (row[worker] - 0.4, 0.8),
                           edgecolor="white", linewidth=0.5, **style)
        if status in counts:
            legend.append(Patch(edgecolor="white", label=f"{status} ({counts[status]})", **style))
    ax.set_yticks(range(len(workers)), [str(w) for w in workers])
    ax.set_ylim(len(workers) - 0.5, -0.5)
    ax.set_xlabel("seconds since the first trial started")
    ax.set_ylabel("worker")
    ax.set_title(title)
    ax.legend(handles=legend, loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize=8)  # beside the bars
    ax.grid(axis="x", alpha=0.3)
    return ax


def _pbt_rounds(history) -> dict:
    """``{(round, member): trial}`` of a population-based training History (``info`` holds
    ``round``, ``member`` and ``parent``); ValueError when it is empty or a trial lacks them."""
    trials = list(history)
    if not trials:
        raise ValueError("plot_lineage/plot_schedules: the history is empty")
    missing = [t.number for t in trials if not {"round", "member", "parent"} <= set(t.info)]
    if missing:
        raise ValueError(f"plot_lineage/plot_schedules: trials {missing[:5]} have no round, member and parent in "
                         f"their info (a history written by PopulationBasedTraining has them)")
    return {(t.info["round"], t.info["member"]): t for t in trials}


def _final_member(history, rounds: dict, member) -> int:
    """``member``, or by default the member with the best value in the last round."""
    last = max(r for r, _ in rounds)
    members = sorted(m for r, m in rounds if r == last)
    if member is not None:
        if member not in members:
            raise ValueError(f"plot_lineage/plot_schedules: member={member!r} is not in the last round {members}")
        return member
    ok = [m for m in members if rounds[last, m].ok]
    if not ok:
        return members[0]
    sign = 1 if getattr(history, "minimize", True) else -1
    return min(ok, key=lambda m: sign * rounds[last, m].value)


def plot_lineage(history, ax=None, member: int | None = None, param: str = "lr", log: bool = True,
                 title: str = "Lineage: who copied whom"):
    """The family tree of a population-based training run (the History of
    ``population.PopulationBasedTraining``): x = epoch, y = member.

    Each trial (one member, one interval) is a horizontal segment from its first epoch
    (``start_step``, the epochs done before it) to its last (``budget``), coloured by its
    hyperparameter ``param`` (log scale when ``log``; colour bar beside); a failed one ends in a
    red ×. At each exploit step a grey line joins the parent at the epoch of the copy to the member
    that copied it (``info["parent"]``): a line from member p to member m at epoch e means m
    continued from p's weights after e epochs. The ancestry of ``member`` (default: the best
    member of the last interval) is drawn in black on top: the path its final weights travelled.
    Raises ValueError for an empty history or one whose trials lack round, member and parent."""
    from matplotlib import colors
    from matplotlib.cm import ScalarMappable
    from matplotlib.collections import LineCollection

    from .population.pbt import ancestry

    rounds = _pbt_rounds(history)
    chosen = _final_member(history, rounds, member)
    if ax is None:
        import matplotlib.pyplot as plt

        _, ax = plt.subplots(figsize=(8, 4))
    trials = list(rounds.values())
    values = np.array([t.params[param] for t in trials], dtype=float)
    low, high = values.min(), values.max()
    if high == low:
        low, high = (low / 2, high * 2) if log and low > 0 else (low - 1, high + 1)
    norm = colors.LogNorm(vmin=low, vmax=high) if log else colors.Normalize(vmin=low, vmax=high)
    mappable = ScalarMappable(norm=norm, cmap="viridis")
    m = [t.info["member"] for t in trials]
    segments = [[(t.start_step, y), (t.budget, y)] for t, y in zip(trials, m)]
    ax.add_collection(LineCollection(segments, colors=mappable.to_rgba(values), linewidths=3, zorder=2))
    copies = [[(t.start_step, t.info["parent"]), (t.start_step, t.info["member"])] for t in trials
              if t.info["parent"] != t.info["member"]]
    ax.add_collection(LineCollection(copies, colors="0.6", linewidths=1, zorder=1))
    failed = [(t.budget, t.info["member"]) for t in trials if not t.ok]
    if failed:
        ax.plot(*zip(*failed), "x", color="tab:red", markersize=7, zorder=3, label=f"failed ({len(failed)})")
    xs, ys = [], []
    for t in ancestry(history, chosen):
        if t.info["parent"] != t.info["member"]:
            xs.append(t.start_step)
            ys.append(t.info["parent"])
        xs += [t.start_step, t.budget]
        ys += [t.info["member"], t.info["member"]]
    ax.plot(xs, ys, color="black", linewidth=1.5, zorder=4, label=f"ancestry of member {chosen}")
    ax.figure.colorbar(mappable, ax=ax, label=f"{param} during the interval")
    n = max(m) + 1
    ax.set_xlim(0, max(t.budget for t in trials))
    ax.set_ylim(-0.5, n - 0.5)
    ax.set_yticks(range(n))
    ax.set_xlabel("epoch")
    ax.set_ylabel("member")
    ax.set_title(title)
    ax.legend(loc="lower right", fontsize=8, framealpha=0.9)
    return ax


def plot_schedules(history, ax=None, member: int | None = None, param: str = "lr", log: bool = True,
                   references: Mapping | None = None, title: str = "Each member's schedule"):
    """Each member's hyperparameter ``param`` over the epochs of a population-based training run
    (the History of ``population.PopulationBasedTraining``), as the value it trained with during
    each epoch: one thin grey step line per member index (it jumps where the member copied another
    and explored). The schedule that ``member``'s final weights were trained with (its ancestry,
    ``population.ancestry``; default member: the best of the last interval) is the thick black
    line. ``references`` maps a label to one value per epoch (epoch 1 first), drawn dashed: e.g.
    hand-made schedules to compare with. Log y-axis when ``log``. Raises ValueError for an empty
    history, trials without round, member and parent, or a reference of the wrong length."""
    from .population.pbt import ancestry, schedule_of

    rounds = _pbt_rounds(history)
    chosen = _final_member(history, rounds, member)
    if ax is None:
        import matplotlib.pyplot as plt

        _, ax = plt.subplots(figsize=(8, 4))
    members = sorted({m for _, m in rounds})
    n_rounds = max(r for r, _ in rounds) + 1
    epochs = int(max(t.budget for t in rounds.values()))
    edges = np.arange(epochs + 1)
    for i, m in enumerate(members):
        path = [rounds[r, m] for r in range(n_rounds) if (r, m) in rounds]
        ax.stairs(schedule_of(path, param), edges, baseline=None, color="0.6", linewidth=0.8, alpha=0.8,
                  label="members" if i == 0 else None)
    ax.stairs(schedule_of(ancestry(history, chosen), param), edges, baseline=None, color="black", linewidth=2.5,
              label=f"ancestry of member {chosen}")
    styles = [("tab:blue", "--"), ("tab:orange", ":"), ("tab:green", "-."), ("tab:red", (0, (5, 1, 1, 1)))] * 10
    for (label, values), (colour, style) in zip((references or {}).items(), styles):
        values = np.asarray(values, dtype=float)
        if values.shape != (epochs,):
            raise ValueError(f"plot_schedules: references[{label!r}] has {values.size} values; it needs one per "
                             f"epoch ({epochs})")
        ax.stairs(values, edges, baseline=None, color=colour, linestyle=style, linewidth=1.8, label=label)
    if log:
        ax.set_yscale("log")
    ax.set_xlim(0, epochs)
    ax.set_xlabel("epoch")
    ax.set_ylabel(param)
    ax.set_title(title)
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    return ax


def plot_alpha_trajectories(trajectory, ops: Sequence[str], steps_per_epoch: int | None = None, axes=None,
                            title: str = "Architecture weights softmax(α) during the search"):
    """How DARTS's architecture weights move: ``trajectory`` is ``DARTSResult.trajectory``, the
    rows ``softmax(alpha)`` before the first step and after each step, shape ``(steps + 1,
    n_edges, n_ops)``, with ``n_edges = len(nas.EDGES)`` and ``ops`` naming the last axis.

    One panel per edge (``axes``: that many Axes; default a new row of panels), one line per
    operation in a fixed colour (its place in ``nas.CELL_OPS``): dashed for the parameter-free
    operations (``nas.PARAMETER_FREE``), solid for those with weights. The dotted line is the
    uniform weight ``1 / n_ops`` every edge starts near. x is the epoch (step / ``steps_per_epoch``)
    when ``steps_per_epoch`` is given, else the step. Returns the Axes. Raises ValueError for a
    trajectory of the wrong shape, ``ops`` of another length or outside ``CELL_OPS``, or the wrong
    number of ``axes``."""
    from .nas.cell import CELL_OPS, EDGES
    from .nas.darts import PARAMETER_FREE

    w = np.asarray(trajectory, dtype=float)
    ops = list(ops)
    if w.ndim != 3 or w.shape[0] < 1 or w.shape[1] != len(EDGES) or w.shape[2] != len(ops):
        raise ValueError(f"plot_alpha_trajectories: trajectory of shape {w.shape} must be (steps + 1, n_edges, "
                         f"n_ops) = (*, {len(EDGES)}, {len(ops)}) for ops={ops}")
    unknown = [op for op in ops if op not in CELL_OPS]
    if unknown:
        raise ValueError(f"plot_alpha_trajectories: ops {unknown} are not in {CELL_OPS}")
    if steps_per_epoch is not None and not (isinstance(steps_per_epoch, int) and steps_per_epoch >= 1):
        raise ValueError(f"plot_alpha_trajectories: steps_per_epoch={steps_per_epoch!r} must be a positive integer")
    if axes is None:
        import matplotlib.pyplot as plt

        _, axes = plt.subplots(1, len(EDGES), figsize=(4 * len(EDGES), 3.4), sharey=True, layout="constrained")
    axes = np.atleast_1d(axes).ravel()
    if len(axes) != len(EDGES):
        raise ValueError(f"plot_alpha_trajectories: {len(axes)} axes given; it draws one per edge ({len(EDGES)})")
    steps = np.arange(len(w))
    x = steps if steps_per_epoch is None else steps / steps_per_epoch
    for e, (ax, edge) in enumerate(zip(axes, EDGES)):
        for k, op in enumerate(ops):
            ax.plot(x, w[:, e, k], color=f"C{CELL_OPS.index(op)}", linestyle="--" if op in PARAMETER_FREE else "-",
                    linewidth=1.6, label=op)
        ax.axhline(1 / len(ops), color="black", linestyle=":", linewidth=1, label=f"uniform 1/{len(ops)}")
        ax.set_title(f"edge {edge} (node {edge[1]} -> node {edge[2]})")
        ax.set_xlabel("step" if steps_per_epoch is None else "epoch")
        ax.set_ylabel("weight softmax(α)")
        ax.grid(alpha=0.3)
    axes[-1].legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize=8, title="dashed: no weights",
                    title_fontsize=8)
    axes[0].figure.suptitle(title)
    return axes


def plot_rank_correlation(scores, truth, ax=None, highlight=None, xlabel: str = "stand-alone validation accuracy (table)",
                          ylabel: str = "shared-weight validation accuracy (supernet)", title: str | None = None,
                          highlight_label: str = "highlighted"):
    """Does a cheap score order the networks as the expensive one does? One dot per network: x its
    ``truth`` (e.g. the table's stand-alone accuracy), y its ``scores`` (e.g. the supernet's
    shared-weight accuracy). The title gives Kendall's tau and Spearman's rho
    (``nas.rank_correlation``), after ``title`` when one is given. ``highlight`` (a boolean mask or
    a list of indices, e.g. the table's top 10 %) is drawn in red with ``highlight_label``. Returns
    the Axes. Raises ValueError for lengths that differ or are below 3, or a bad ``highlight``."""
    from .nas.oneshot import rank_correlation

    scores, truth = np.asarray(scores, dtype=float), np.asarray(truth, dtype=float)
    if scores.ndim != 1 or scores.shape != truth.shape or len(scores) < 3:
        raise ValueError(f"plot_rank_correlation: scores of shape {scores.shape} and truth of shape {truth.shape} "
                         f"must be 1-D, of equal lengths >= 3")
    mask = np.zeros(len(scores), dtype=bool)
    if highlight is not None:
        marked = np.asarray(highlight)
        if marked.dtype == bool:
            if marked.shape != mask.shape:
                raise ValueError(f"plot_rank_correlation: highlight mask of shape {marked.shape} must have one entry "
                                 f"per network ({len(mask)})")
            mask = marked
        else:
            if marked.size and (marked.dtype.kind not in "iu" or marked.min() < 0 or marked.max() >= len(mask)):
                raise ValueError(f"plot_rank_correlation: highlight={highlight!r} must be a boolean mask or indices "
                                 f"in [0, {len(mask)})")
            mask[marked.astype(int)] = True
    stats = rank_correlation(scores, truth)
    if ax is None:
        import matplotlib.pyplot as plt

        _, ax = plt.subplots(figsize=(5.5, 4.5))
    ax.scatter(truth[~mask], scores[~mask], s=14, alpha=0.6, color="tab:blue", label=f"networks ({int((~mask).sum())})")
    if mask.any():
        ax.scatter(truth[mask], scores[mask], s=22, alpha=0.9, color="tab:red", edgecolor="black", linewidth=0.4,
                   label=f"{highlight_label} ({int(mask.sum())})")
    line = f"Kendall τ = {stats['kendall']:.2f}, Spearman ρ = {stats['spearman']:.2f} ({stats['n']} networks)"
    ax.set_title(line if title is None else f"{title}\n{line}")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.legend(loc="lower right", fontsize=8)
    ax.grid(alpha=0.3)
    return ax
