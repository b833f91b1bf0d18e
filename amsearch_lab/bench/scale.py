"""Parallel and distributed search: the lab's wall-clock speed-up on W workers, over a process pool and over Dask.

``python -m amsearch_lab.bench scale [--seeds 3] [--budget 40] [--workers 2]
[--modes sequential,pool,dask[,dask-client]] [--mf] [--mf-resource-budget 540] [--mf-n-train 5000]
[--mf-n-val N] [--mf-max-epochs 27] [--csv runs.csv]``
(``--from-csv runs.csv`` prints the figures of saved rows without running anything)

The workload (``DigitsForest`` on ``forest_space()``): ``--budget`` trials of seeded random search
maximising the 5-fold cross-validated accuracy of a random forest (``n_jobs=1``, ``random_state=0``)
on scikit-learn's bundled digits (1,797 images of 8x8 pixels, shipped with scikit-learn, no
download). A trial takes about 0.1 to 0.9 s on one core of the development machine. Run ``seed``
searches with that seed in every mode, so every mode evaluates the same configurations:

    sequential  ``search(..., n_workers=None)``: the one loop, in this process
    pool        ``search(..., n_workers=W)``: a process pool of W workers, started for the search
                and shut down at its end (both inside the wall clock)
    dask        ``search(..., executor="dask", n_workers=W)``: a Dask ``LocalCluster`` of W
                single-threaded worker processes, started for the search and closed at its end
    dask-client (only when asked for, ``--modes``) ``search(..., executor=client)``: the same
                cluster, started before the clock and closed after it, as a user's running
                cluster would be; the objective still travels to the workers inside the clock

What is measured, per mode and seed (``run_one``; times come from ``Trial.start`` and
``Trial.duration``, Unix seconds stamped by the worker that ran the trial, so they are comparable
with this process's clock only on one machine):

- ``wall_s``: wall clock of the ``search()`` call, pool or cluster start and shutdown included;
- ``start_s``: from the call to the start of the first trial (starting workers, shipping the
  objective to them); ``wall_s - start_s`` is the search without its start;
- ``used``: how many distinct workers ran trials (``Trial.worker``);
- ``busy_s``: the sum of the trials' durations (seconds inside the objective);
- ``best`` and ``to_target_s``: the best accuracy, and the seconds from the call to the end of
  the first trial that reached the *target*, the sequential run's best of the same seed;
- ``same_configs``: whether the run evaluated exactly the sequential run's configurations
  (as a multiset of params, ``same_configurations``).

``report`` prints per mode the medians over seeds, the speed-up over sequential (``wall_s`` of
sequential / ``wall_s``, per seed; median and min-max), the same without the start, and the
overhead per trial, ``(wall_s * W - busy_s) / trials`` (W = 1 for sequential): the seconds a
worker was not inside the objective, spread over the trials. Then the reference tools measured by
``scripts/scale_reference.py`` on the same 40 configurations (``datasets/scale_reference.csv``),
and the goals, on the median wall-clock speed-up with the start included: (a) mode ``dask``
>= 1.6x on 2 workers, (b) mode ``pool`` >= 1.85x, (c) every parallel run evaluated the sequential
run's configurations.

``--mf`` adds the multi-fidelity workload of ``bench mf`` (``curves.MnistMLP``, ``make_strategy("asha")``,
``--mf-resource-budget`` epochs per search): ASHA sequential and on W workers (process pool), per
seed; ``to_target_s`` is then the time to the end of the first trial trained to all R epochs whose
validation accuracy reached the sequential run's final best. Each trial trains on one torch thread
(``MnistObjective``), so W workers use W cores and the sequential run one.
"""

from __future__ import annotations

import argparse
import functools
import math
import time
from collections import Counter
from pathlib import Path

# imported at module level, not inside the objective: a worker that unpickles the objective imports
# this module, hence scikit-learn, then, before its first trial starts, not inside a trial's duration
from sklearn.datasets import load_digits
from sklearn.ensemble import RandomForestClassifier
from sklearn.model_selection import StratifiedKFold, cross_val_score

from ..space import Choice, Int, Space
from ..study import search

__all__ = ["MODES", "COLUMNS", "REFERENCE_PATH", "GOALS", "digits", "DigitsForest", "forest_space", "MnistObjective",
           "same_configurations", "time_to_target", "run_one", "run_forest", "run_mf_asha", "summarize",
           "load_reference", "goals", "format_table", "report", "main"]

MODES = ("sequential", "pool", "dask", "dask-client")
DEFAULT_MODES = MODES[:3]
GOALS = {"dask": 1.6, "pool": 1.85}  # median wall-clock speed-up over sequential on 2 workers
GOAL_WORKERS = 2
DEFAULTS = {"budget": 40, "workers": 2}  # the settings scripts/scale_reference.py measures
REFERENCE_PATH = Path(__file__).resolve().parents[2] / "datasets" / "scale_reference.csv"
COLUMNS = ["workload", "mode", "seed", "workers", "used", "trials", "wall_s", "start_s", "busy_s", "best",
           "to_target_s", "same_configs"]
FOREST, MF = "forest", "mf-asha"


# -- the workload ---------------------------------------------------------------------------------
@functools.lru_cache(maxsize=1)
def digits():
    """scikit-learn's bundled digits as ``(X, y)``: X (1797, 64) float pixels 0..16, y (1797,)
    labels 0..9. Loaded once per process (cached)."""
    return load_digits(return_X_y=True)


def forest_space() -> Space:
    """The random forest's space: trials of about 0.1-0.9 s each on one core of a 2-core CPU."""
    return Space({
        "n_estimators": Int(5, 30),
        "max_depth": Int(2, 16),
        "max_features": Choice(["sqrt", "log2"]),
        "min_samples_leaf": Int(1, 8),
    })


class DigitsForest:
    """``params -> accuracy``: the mean of the ``folds``-fold cross-validated accuracies (stratified,
    unshuffled folds, scikit-learn's default) of ``RandomForestClassifier(**params, n_jobs=1,
    random_state=seed)`` on ``digits()`` (maximise). Deterministic: a configuration scores the same
    in every process.

    A module-level class, so that a spawn-started worker can import it. Its pickle holds only
    ``folds`` and ``seed``: a worker rebuilds it, loading the data once per process (``digits``).
    Raises ValueError for ``folds`` not an integer >= 2."""

    def __init__(self, folds: int = 5, seed: int = 0):
        if not (isinstance(folds, int) and folds >= 2):
            raise ValueError(f"DigitsForest: folds={folds!r} must be an integer >= 2")
        self.folds, self.seed = folds, seed
        self.X, self.y = digits()

    def __reduce__(self):  # plumbing: pickle the settings, not the 0.9 MB of pixels
        return type(self), (self.folds, self.seed)

    def __call__(self, params: dict) -> float:
        model = RandomForestClassifier(**params, n_jobs=1, random_state=self.seed)
        return float(cross_val_score(model, self.X, self.y, cv=StratifiedKFold(self.folds), scoring="accuracy").mean())


@functools.lru_cache(maxsize=2)
def _mnist_bench(n_train: int, n_val: int | None, max_epochs: int, seed: int):
    from ..curves import MnistMLP

    return MnistMLP(n_train=n_train, n_val=n_val, max_epochs=max_epochs, seed=seed, device="cpu")


class MnistObjective:
    """``curves.MnistMLP(n_train, n_val, max_epochs, seed)`` as a multi-fidelity objective
    ``(params, run) -> val accuracy`` that a worker process can receive: its pickle holds the four
    settings, and each process builds the ``MnistMLP`` once (cached), on the CPU, with one torch
    thread (``torch.set_num_threads(1)``, set in every process that builds one)."""

    def __init__(self, n_train: int = 5000, n_val: int | None = None, max_epochs: int = 27, seed: int = 0):
        import torch

        torch.set_num_threads(1)
        self.settings = (n_train, n_val, max_epochs, seed)
        self.bench = _mnist_bench(*self.settings)

    def __reduce__(self):  # plumbing: pickle the settings, not the images
        return type(self), self.settings

    def __call__(self, params: dict, run) -> float:
        return self.bench(params, run)


# -- measuring ------------------------------------------------------------------------------------
def _key(params: dict) -> tuple:
    return tuple(sorted(params.items()))


def same_configurations(reference, other) -> tuple[bool, list, list]:
    """Whether the iterables of params ``other`` and ``reference`` hold the same configurations,
    each as many times (multisets). Returns ``(same, missing, extra)``: the params of ``reference``
    that ``other`` lacks and those it has in excess, each as a list of dicts."""
    want, got = Counter(map(_key, reference)), Counter(map(_key, other))
    return want == got, [dict(k) for k in (want - got).elements()], [dict(k) for k in (got - want).elements()]


def time_to_target(history, t0: float, target: float, full: float | None = None) -> float:
    """Seconds from ``t0`` (Unix) to the end (``start + duration``) of the first trial of
    ``history`` whose value reached ``target`` (maximising; values compared to 6 decimals), among
    ok trials, and when ``full`` is given among those whose curve reached step ``full``. NaN when
    none did."""
    ends = [t.start + t.duration - t0 for t in history if t.ok and round(t.value, 6) >= round(target, 6)
            and (full is None or (t.curve and t.curve[-1][0] == full))]
    return min(ends) if ends else math.nan


def _mode_options(mode: str, workers: int, client=None) -> dict:
    if mode == "sequential":
        return {}
    if mode == "pool":
        return {"n_workers": workers}
    if mode == "dask":
        return {"executor": "dask", "n_workers": workers}
    if mode == "dask-client":
        return {"executor": client, "n_workers": workers}
    raise ValueError(f"bench scale: mode {mode!r} is unknown; choose from {', '.join(MODES)}")


def _timed_search(objective, space, strategy, mode: str, workers: int, **options):
    """One ``search()`` in ``mode``; returns ``(history, t0, wall_s)``, t0 the Unix time of the call.
    For ``dask-client`` the cluster is started before the clock and closed after it."""
    cluster = client = None
    if mode == "dask-client":
        from dask.distributed import Client, LocalCluster

        cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=":0")
        client = Client(cluster)
        client.wait_for_workers(workers)
    try:
        t0, c0 = time.time(), time.perf_counter()
        history = search(objective, space, strategy, minimize=False, progress=False,
                         **_mode_options(mode, workers, client), **options)
        return history, t0, time.perf_counter() - c0
    finally:
        if cluster is not None:
            client.close()
            cluster.close()


def _row(workload, mode, seed, workers, history, t0, wall_s) -> dict:
    return {"workload": workload, "mode": mode, "seed": seed, "workers": 1 if mode == "sequential" else workers,
            "used": len({t.worker for t in history}), "trials": len(history), "wall_s": wall_s,
            "start_s": min(t.start for t in history) - t0 if len(history) else math.nan,
            "busy_s": sum(t.duration for t in history), "best": math.nan, "to_target_s": math.nan,
            "same_configs": None}


def run_one(mode: str, seed: int, budget: int = 40, workers: int = 2, objective=None):
    """One seeded random search of ``objective`` (default ``DigitsForest()``) on ``forest_space()``
    in ``mode``. Returns ``(row, history, t0)``: ``row`` a dict with the keys ``COLUMNS``
    (``to_target_s`` and ``same_configs`` are left for ``run_forest``, which knows the sequential
    run), the ``History`` and the Unix time of the call."""
    objective = DigitsForest() if objective is None else objective
    history, t0, wall_s = _timed_search(objective, forest_space(), "random", mode, workers, budget=budget, seed=seed)
    row = _row(FOREST, mode, seed, workers, history, t0, wall_s)
    row["best"] = max((t.value for t in history if t.ok), default=math.nan)
    return row, history, t0


def _check(seeds, budget, workers, modes=DEFAULT_MODES) -> tuple[list, list]:
    seeds, modes = list(seeds), list(modes)
    if not seeds or not all(isinstance(s, int) and not isinstance(s, bool) and s >= 0 for s in seeds):
        raise ValueError(f"bench scale: seeds={seeds!r} must be non-negative integers, at least one")
    if not (isinstance(budget, int) and budget >= 1):
        raise ValueError(f"bench scale: budget={budget!r} must be an integer >= 1")
    if not (isinstance(workers, int) and workers >= 2):
        raise ValueError(f"bench scale: workers={workers!r} must be an integer >= 2")
    for mode in modes:
        _mode_options(mode, workers)
    if modes[:1] != ["sequential"]:
        raise ValueError(f"bench scale: modes={modes!r} must start with 'sequential', the baseline of the speed-up")
    return seeds, modes


def run_forest(seeds=range(3), budget: int = 40, workers: int = 2, modes=DEFAULT_MODES, progress: bool = False):
    """Every mode (``sequential`` first) for every seed, seed by seed. Returns a list of rows
    (``COLUMNS``) with ``to_target_s`` (target: the sequential run's best of that seed) and
    ``same_configs`` filled in. Every argument is checked (ValueError naming it) before any search."""
    seeds, modes = _check(seeds, budget, workers, modes)
    objective = DigitsForest()
    rows = []
    for seed in seeds:
        reference = None
        for mode in modes:
            row, history, t0 = run_one(mode, seed, budget, workers, objective)
            if reference is None:
                reference = (row["best"], [t.params for t in history])
            row["to_target_s"] = time_to_target(history, t0, reference[0])
            row["same_configs"] = same_configurations(reference[1], [t.params for t in history])[0]
            rows.append(row)
            if progress:
                print(f"  seed {seed} {mode:11s}: {row['wall_s']:6.2f} s wall, {row['start_s']:5.2f} s to the first "
                      f"trial, {row['busy_s']:6.2f} s in the objective, best {row['best']:.4f}"
                      + ("" if row["same_configs"] else "  CONFIGURATIONS DIFFER"), flush=True)
    return rows


def run_mf_asha(seeds=range(1), workers: int = 2, resource_budget: float = 540, n_train: int = 5000,
                n_val: int | None = None, max_epochs: int = 27, eta: int = 3, progress: bool = False):
    """ASHA (``bench.mf.make_strategy("asha")``) on ``MnistObjective``: sequential, then on
    ``workers`` workers (process pool), ``resource_budget`` epochs per search, for each seed.
    Returns rows (``COLUMNS``; ``best`` = best validation accuracy among trials trained to all
    ``max_epochs`` epochs, ``to_target_s`` = time to reach the sequential run's best)."""
    from ..curves import MnistMLP
    from .mf import make_strategy

    seeds, _ = _check(seeds, 1, workers)
    if not (isinstance(resource_budget, (int, float)) and 0 < resource_budget < math.inf):
        raise ValueError(f"bench scale: resource_budget={resource_budget!r} must be a positive number of epochs")
    make_strategy("asha", MnistMLP.space(), 0, max_epochs=max_epochs, eta=eta)  # a bad schedule fails here
    rows = []
    for seed in seeds:
        objective = MnistObjective(n_train=n_train, n_val=n_val, max_epochs=max_epochs, seed=seed)
        target = None
        for mode in ("sequential", "pool"):
            strategy = make_strategy("asha", MnistMLP.space(), seed, max_epochs=max_epochs, eta=eta)
            history, t0, wall_s = _timed_search(objective, MnistMLP.space(), strategy, mode, workers,
                                                budget=10**9, resource_budget=resource_budget)
            row = _row(MF, mode, seed, workers, history, t0, wall_s)
            full = [t.value for t in history if t.ok and t.curve and t.curve[-1][0] == max_epochs]
            row["best"] = round(max(full), 6) if full else math.nan
            target = row["best"] if target is None else target
            row["to_target_s"] = time_to_target(history, t0, target, full=max_epochs)
            rows.append(row)
            if progress:
                print(f"  mf seed {seed} {mode:11s}: {row['wall_s']:6.1f} s wall, best val {row['best']:.4f}, "
                      f"sequential's best {target:.4f} reached after {row['to_target_s']:.1f} s", flush=True)
    return rows


# -- the figures ----------------------------------------------------------------------------------
def _median_range(values) -> tuple[float, float, float]:
    import numpy as np

    x = np.asarray([v for v in values if not math.isnan(v)], dtype=float)
    return (math.nan,) * 3 if len(x) == 0 else (float(np.median(x)), float(x.min()), float(x.max()))


def summarize(frame, workload: str = FOREST):
    """One row per mode of ``workload``'s rows: ``seeds``, ``workers``, ``trials`` and the medians
    over seeds of ``used``, ``wall_s``, ``start_s``, ``busy_s``, ``best``, ``to_target_s``;
    ``speedup`` and ``speedup_run`` (sequential's ``wall_s``, resp. ``wall_s - start_s``, over the
    mode's, per seed) as median with min and max (``*_min``, ``*_max``); ``reached``, the seeds
    whose run reached the target, and ``to_target_speedup``, the median over them of sequential's
    ``to_target_s`` over the mode's; ``overhead_ms``, the median over seeds of
    ``(wall_s * workers - busy_s) / trials`` in ms; ``same_configs``, the seeds whose run evaluated
    other configurations than the sequential run (a list, empty when all were the same)."""
    import pandas as pd

    rows = frame[frame["workload"] == workload]
    sequential = rows[rows["mode"] == "sequential"].set_index("seed")
    out = []
    for mode, group in rows.groupby("mode", sort=False):
        group = group.set_index("seed")
        base = sequential.reindex(group.index)
        row = {"mode": mode, "seeds": len(group), "workers": int(group["workers"].max()),
               "trials": float(group["trials"].median())}
        for column in ("used", "wall_s", "start_s", "busy_s", "best", "to_target_s"):
            row[column] = float(group[column].median())
        row["speedup"], row["speedup_min"], row["speedup_max"] = _median_range(base["wall_s"] / group["wall_s"])
        run = (base["wall_s"] - base["start_s"]) / (group["wall_s"] - group["start_s"])
        row["speedup_run"], row["speedup_run_min"], row["speedup_run_max"] = _median_range(run)
        row["to_target_speedup"] = _median_range(base["to_target_s"] / group["to_target_s"])[0]
        row["reached"] = int(group["to_target_s"].notna().sum())
        row["overhead_ms"] = float(((group["wall_s"] * group["workers"] - group["busy_s"]) / group["trials"]).median()
                                   * 1000)
        row["same_configs"] = [int(s) for s, same in group["same_configs"].items() if same is not None
                               and not (isinstance(same, float) and math.isnan(same)) and not bool(same)]
        out.append(row)
    return pd.DataFrame(out)


def load_reference(path=REFERENCE_PATH):
    """The rows of ``scripts/scale_reference.py`` (``tool, seed, workers, trials, wall_s, speedup,
    load_1min, version, measured``) summarised per tool: ``seeds``, median ``wall_s``, ``speedup``
    median, min and max, median ``load_1min`` (the machine's load when it ran), ``version`` and
    ``measured`` (date) as text."""
    import pandas as pd

    raw = pd.read_csv(path)
    out = []
    for tool, group in raw.groupby("tool", sort=False):
        speedup = _median_range(group["speedup"])
        out.append({"tool": tool, "seeds": len(group), "workers": int(group["workers"].max()),
                    "trials": int(group["trials"].max()), "wall_s": float(group["wall_s"].median()),
                    "speedup": speedup[0], "speedup_min": speedup[1], "speedup_max": speedup[2],
                    "load_1min": float(group["load_1min"].median()),
                    "version": str(group["version"].iloc[0]), "measured": str(group["measured"].iloc[0])})
    return pd.DataFrame(out)


def goals(summary) -> list[tuple[str, bool | None, str]]:
    """The goals as ``(goal, holds, figures)`` from ``summarize``'s output; ``holds`` is None when
    a goal cannot be checked (mode not run, or not on 2 workers)."""
    by_mode = {r["mode"]: r for _, r in summary.iterrows()}
    out = []
    for name, (mode, label) in zip("ab", (("dask", "lab over Dask"), ("pool", "lab over a process pool"))):
        goal = f"({name}) {label}: median wall-clock speed-up >= {GOALS[mode]}x on {GOAL_WORKERS} workers"
        r = by_mode.get(mode)
        if r is None:
            out.append((goal, None, f"{mode} not run"))
        elif r["workers"] != GOAL_WORKERS:
            out.append((goal, None, f"run on {r['workers']} workers"))
        else:
            out.append((goal, bool(r["speedup"] >= GOALS[mode]),
                        f"{r['speedup']:.2f}x [{r['speedup_min']:.2f}-{r['speedup_max']:.2f}] over {r['seeds']} "
                        f"seeds; {r['speedup_run']:.2f}x without the start"))
    parallel = [r for m, r in by_mode.items() if m != "sequential"]
    goal = "(c) every parallel run evaluated exactly the sequential run's configurations"
    if not parallel:
        out.append((goal, None, "no parallel mode run"))
    else:
        differ = {r["mode"]: r["same_configs"] for r in parallel if r["same_configs"]}
        out.append((goal, not differ, "; ".join(f"{m}: other configurations for seeds {s}" for m, s in differ.items())
                    or f"parallel runs checked: {sum(r['seeds'] for r in parallel)}"))
    return out


def _range(r, column) -> str:
    return "-" if math.isnan(r[column]) else f"{r[column]:.2f} [{r[column + '_min']:.2f}-{r[column + '_max']:.2f}]"


def format_table(summary) -> str:
    """The summary as fixed-width text, one line per mode."""
    header = (f"{'mode':11s} {'W':>2s} {'used':>4s} {'seeds':>5s} {'wall s':>7s} {'start s':>7s} "
              f"{'speed-up [min-max]':>19s} {'w/o start':>19s} {'busy s':>7s} {'overhead ms/trial':>17s} "
              f"{'best':>7s} {'to best s':>9s} {'same configs':>12s}")
    lines = [header, "-" * len(header)]
    for _, r in summary.iterrows():
        same = "yes" if not r["same_configs"] else f"NO {r['same_configs']}"
        lines.append(f"{r['mode']:11s} {r['workers']:2d} {r['used']:4.0f} {r['seeds']:5d} {r['wall_s']:7.2f} "
                     f"{r['start_s']:7.2f} "
                     f"{_range(r, 'speedup'):>19s} {_range(r, 'speedup_run'):>19s} {r['busy_s']:7.2f} "
                     f"{r['overhead_ms']:17.1f} {r['best']:7.4f} {r['to_target_s']:9.2f} {same:>12s}")
    return "\n".join(lines)


def format_mf(summary) -> str:
    """The multi-fidelity rows as fixed-width text: wall clock, best val, time to the sequential best."""
    header = (f"{'mode':11s} {'W':>2s} {'seeds':>5s} {'trials':>6s} {'wall s':>7s} {'busy s':>7s} {'best val':>8s} "
              f"{'reached':>7s} {'to sequential best s':>21s} {'speed-up to it':>14s}")
    lines = [header, "-" * len(header)]
    for _, r in summary.iterrows():
        lines.append(f"{r['mode']:11s} {r['workers']:2d} {r['seeds']:5d} {r['trials']:6.0f} {r['wall_s']:7.1f} "
                     f"{r['busy_s']:7.1f} {r['best']:8.4f} {r['reached']:3d}/{r['seeds']:<3d} {r['to_target_s']:21.1f} "
                     f"{r['to_target_speedup']:13.2f}x")
    return "\n".join(lines)


def report(frame) -> None:
    """Print the figures of per-seed rows ``frame`` (columns ``COLUMNS``): the lab's table, the
    reference tools when the rows have the reference's settings (40 trials, 2 workers) and
    ``datasets/scale_reference.csv`` exists, the multi-fidelity rows if any, and the goals."""
    forest = frame[frame["workload"] == FOREST]
    summary = summarize(frame, FOREST)
    budget = int(forest["trials"].max())
    workers = int(forest["workers"].max())
    print(f"\nrandom forest on digits, {budget} trials of random search per run; per mode, medians over seeds of: "
          f"wall s (the search() call, pool/cluster start and shutdown included), start s (to the first trial's "
          f"start), busy s (sum of trial durations); speed-up = sequential wall / wall per seed, median "
          f"[min-max], w/o start = the same on wall - start; overhead = (wall x W - busy) / trials; to best s = "
          f"until the sequential run's best was reached; same configs = the sequential run's configurations\n")
    print(format_table(summary))
    if {"budget": budget, "workers": workers} == DEFAULTS and REFERENCE_PATH.exists():
        reference = load_reference(REFERENCE_PATH)
        print(f"\nreference, measured by scripts/scale_reference.py on {', '.join(sorted(set(reference['measured'])))} "
              f"({REFERENCE_PATH.name}): the same configurations (seeds 0..N-1), speed-up over its own sequential "
              f"loop; load = the machine's 1-minute load average when it ran (median over seeds)\n")
        header = (f"{'tool':20s} {'W':>2s} {'seeds':>5s} {'wall s':>7s} {'speed-up [min-max]':>19s} {'load':>5s}  "
                  f"version")
        print(header + "\n" + "-" * len(header))
        for _, r in reference.iterrows():
            print(f"{r['tool']:20s} {r['workers']:2d} {r['seeds']:5d} {r['wall_s']:7.2f} {_range(r, 'speedup'):>19s} "
                  f"{r['load_1min']:5.2f}  {r['version']}")
    elif REFERENCE_PATH.exists():
        print(f"\n(the reference is measured at {DEFAULTS}: not compared)")
    else:
        print(f"\n(no {REFERENCE_PATH.name}: run scripts/scale_reference.py for the reference tools' figures)")
    if (frame["workload"] == MF).any():
        mf = summarize(frame, MF)
        print("\nmulti-fidelity: ASHA on MnistMLP (bench mf's workload), sequential vs a process pool; best val = "
              "best validation accuracy trained to R epochs; to sequential best s = from the search() call to the "
              "end of the first trial that reached the sequential run's final best (reached: in how many seeds; "
              "medians over the seeds that reached it)\n")
        print(format_mf(mf))
    print("\ngoals\n")
    for goal, holds, figures in goals(summary):
        verdict = "not checked" if holds is None else ("met" if holds else "NOT met")
        print(f"  {goal}: {verdict} ({figures})")


def main(argv=None) -> int:
    import pandas as pd

    parser = argparse.ArgumentParser(prog="python -m amsearch_lab.bench scale", description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=3, help="number of seeds 0..N-1 (default 3)")
    parser.add_argument("--budget", type=int, default=DEFAULTS["budget"], help="trials per search (default 40)")
    parser.add_argument("--workers", type=int, default=DEFAULTS["workers"],
                        help="W, workers of a parallel run (default 2)")
    parser.add_argument("--modes", default=",".join(DEFAULT_MODES),
                        help=f"comma-separated, sequential first, from {', '.join(MODES)} "
                             f"(default: {','.join(DEFAULT_MODES)})")
    parser.add_argument("--mf", action="store_true", help="also run ASHA on bench mf's MNIST workload, 1 vs W workers")
    parser.add_argument("--mf-resource-budget", type=int, default=540, help="epochs per multi-fidelity search (540)")
    parser.add_argument("--mf-n-train", type=int, default=5000, help="training images (default 5000)")
    parser.add_argument("--mf-n-val", type=int, default=None, help="validation images (default: all 10,000)")
    parser.add_argument("--mf-max-epochs", type=int, default=27, help="R, epochs of a full training (default 27)")
    parser.add_argument("--csv", default=None, metavar="PATH", help="write one row per workload, mode and seed here")
    parser.add_argument("--from-csv", default=None, metavar="PATH",
                        help="run nothing: print the figures of rows saved by --csv")
    args = parser.parse_args(argv)
    if args.from_csv:
        if args.csv or args.mf:
            parser.error("--from-csv prints saved rows: --csv and --mf need a run")
        try:
            frame = pd.read_csv(args.from_csv)
        except (OSError, ValueError) as e:
            parser.error(f"--from-csv={args.from_csv!r} cannot be read: {e}")
        if list(frame.columns) != COLUMNS:
            parser.error(f"--from-csv={args.from_csv!r} has the columns {list(frame.columns)}, not {COLUMNS}")
        if not (frame["workload"] == FOREST).any():
            parser.error(f"--from-csv={args.from_csv!r} holds no {FOREST!r} row")
        print(f"scale benchmark: rows read from {args.from_csv} (seeds {sorted(set(frame['seed']))})")
        report(frame)
        return 0

    if args.seeds < 1:
        parser.error(f"--seeds={args.seeds} must be >= 1")
    modes = args.modes.split(",")
    try:  # every argument checked before the first search
        _check(range(args.seeds), args.budget, args.workers, modes)
        if args.mf:
            from ..curves import MnistMLP
            from .mf import make_strategy

            make_strategy("asha", MnistMLP.space(), 0, max_epochs=args.mf_max_epochs)
            if args.mf_resource_budget < 1:
                raise ValueError(f"--mf-resource-budget={args.mf_resource_budget} must be >= 1 epoch")
    except ValueError as e:
        parser.error(str(e))
    print(f"scale benchmark: {args.budget} trials of random search on a random forest (digits), seeds "
          f"0..{args.seeds - 1}, modes {modes}, {args.workers} workers" + (", and ASHA on MnistMLP" if args.mf else ""),
          flush=True)
    t0 = time.perf_counter()
    rows = run_forest(range(args.seeds), args.budget, args.workers, modes, progress=True)
    if args.mf:
        rows += run_mf_asha(range(args.seeds), args.workers, args.mf_resource_budget, args.mf_n_train, args.mf_n_val,
                            args.mf_max_epochs, progress=True)
    frame = pd.DataFrame(rows, columns=COLUMNS)
    report(frame)
    print(f"\ntotal {time.perf_counter() - t0:.0f} s")
    if args.csv:
        Path(args.csv).parent.mkdir(parents=True, exist_ok=True)
        frame.to_csv(args.csv, index=False)
        print(f"per-seed rows saved to {args.csv}")
    return 0
