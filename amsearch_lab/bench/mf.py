"""Multi-fidelity search on MNIST: best validation accuracy for a fixed number of epochs.

``python -m amsearch_lab.bench mf [--seeds 5] [--resource-budget 540] [--strategies sha,asha]
[--n-train 5000] [--n-val N] [--max-epochs 27] [--eta 3] [--device cpu] [--plot curves.png] [--csv runs.csv]``
(``--from-csv runs.csv`` prints the figures of saved rows without training)

The workload is ``curves.MnistMLP`` (``MnistMLP.space()``: lr, momentum, batch size, width):
trained on the first ``--n-train`` training images, scored each epoch on the validation split
(all 10,000 images unless ``--n-val``), at most R = ``--max-epochs`` epochs. Each run is one
``search()`` of the space, maximising the validation accuracy, with a hard cap of
``--resource-budget`` epochs (``search(..., resource_budget=540)``; the trial count is not a limit).
Run ``seed`` uses that seed for the strategy and for ``MnistMLP(seed=seed)``, as
``scripts/mf_reference.py`` does: within one seed a configuration trains exactly the same way
under every strategy (and under Optuna), and the seeds vary both the draws and the training noise.

Strategies (η = ``--eta``, smallest budget 1 epoch, largest R):

    random-full   random search at full fidelity: every configuration trained to R epochs.
                  It is ``SuccessiveHalving(n=1, min_budget=R, max_budget=R)``, whose schedule is
                  [(1, R)]: random search that gives each job a budget. (Plain ``RandomSearch``
                  asks no budget; the cap would simply cut its last configuration.)
    sha           ``SuccessiveHalving(n=η^⌊log_η R⌋, η, 1, R)``: 27 configurations at 1 epoch,
                  9 at 3, 3 at 9, 1 at 27 for R = 27, η = 3; bracket after bracket
    hyperband     ``Hyperband(η, 1, R)``
    bohb          ``ModelBasedHyperband(η, 1, R)``: Hyperband drawing from a GP (BOHB's idea)
    asha          ``ASHA(η, 1, R)``
    median        ``MedianStopping(max_budget=R)``: random configurations, the median stopping rule
    median+bayes  ``MedianStopping(sampler="bayes", max_budget=R)``

What is measured, per strategy and seed (``run_one``):

- ``best_val``: the best validation accuracy among the configurations trained to all R epochs
  (``ok`` trials whose last reported step is R); the *pick* is the first trial with that value
  (accuracies are rounded to 6 decimals, which leaves k / 10,000 exact);
- ``test_acc``: the pick's accuracy on the 10,000 test images, read once per run, at the end.
  The objective keeps a reference to the checkpoint (``run.state``) of the best full-length
  configuration so far, so nothing is retrained and no other configuration ever sees the test;
- ``epochs`` (sum of ``Trial.resource``), ``configs`` (distinct configuration ids), ``completed``
  (configurations trained to R), ``trials`` (jobs), ``stopped`` (trials stopped by the strategy
  or the cap), ``seconds`` (wall clock of the search, training included);
- the strategy's own cost, the training excluded (``TimedMF``): ``ask_tell_ms``, the mean
  wall-clock milliseconds of ``ask()`` + ``tell()`` per job, and ``stop_us``, the median
  microseconds of one ``should_stop()`` call (the loop calls it after every reported epoch);
- the anytime curve: ``best_val`` so far against the epochs spent so far (``--plot``).

``main`` prints, per strategy, the median and interquartile range over seeds of ``best_val`` and
``test_acc`` and the median of the other columns; then the Optuna pruners' rows measured on the
same workload by ``scripts/mf_reference.py`` (``datasets/mf_reference.csv``, when it exists and
the settings are the defaults), a ranking by median ``best_val``, and whether three goals hold:
(a) bohb's median ``best_val`` >= Optuna TPE + Hyperband's, (b) every multi-fidelity strategy's
median above random-full's, (c) ``should_stop`` under 100 µs per reported epoch.
"""

from __future__ import annotations

import argparse
import math
import statistics
import time
from pathlib import Path

import numpy as np

from ..curves import MnistMLP
from ..fidelity import check_schedule, ilog
from ..strategies import ASHA, Hyperband, MedianStopping, ModelBasedHyperband, Strategy, SuccessiveHalving
from ..study import search
from .hpo import Timed

__all__ = ["STRATEGY_NAMES", "REFERENCE_PATH", "COLUMNS", "TimedMF", "make_strategy", "run_one", "run_mf",
           "anytime_median", "summarize", "load_reference", "goals", "format_table", "report", "main"]

STRATEGY_NAMES = ("random-full", "sha", "hyperband", "bohb", "asha", "median", "median+bayes")
FULL_FIDELITY = "random-full"
REFERENCE_PATH = Path(__file__).resolve().parents[2] / "datasets" / "mf_reference.csv"
REFERENCE_TPE_HYPERBAND = "optuna-tpe-hyperband"
DEFAULTS = {"resource_budget": 540, "n_train": 5000, "n_val": None, "max_epochs": 27, "eta": 3}
STOP_GOAL_US = 100.0
COLUMNS = ["strategy", "seed", "best_val", "test_acc", "lr", "momentum", "batch_size", "width", "epochs", "configs",
           "completed", "trials", "stopped", "seconds", "ask_tell_ms", "stop_us"]


class TimedMF(Timed):
    """``Timed`` for a multi-fidelity strategy: ``ask``/``tell`` are timed as in ``Timed``;
    ``should_stop`` is passed through with a wall clock around it (seconds in ``stop_s_``, one per
    call), and ``may_continue`` is passed through untimed."""

    def __init__(self, strategy: Strategy):
        super().__init__(strategy)
        self.stop_s_: list[float] = []

    def should_stop(self, trial) -> bool:
        t0 = time.perf_counter()
        stop = self.strategy.should_stop(trial)
        self.stop_s_.append(time.perf_counter() - t0)
        return stop

    def may_continue(self, config) -> bool:
        return self.strategy.may_continue(config)


def make_strategy(name: str, space, seed: int, max_epochs: int = 27, eta: int = 3) -> Strategy:
    """The strategy ``name`` (one of ``STRATEGY_NAMES``) built to maximise on ``space`` with budgets
    from 1 to ``max_epochs`` epochs and reduction factor ``eta`` (see the module). Raises
    ValueError for an unknown name or a schedule the strategy rejects."""
    check_schedule("bench mf", eta, 1, max_epochs)  # before ilog, which would name its own argument
    if eta ** ilog(max_epochs, eta) != max_epochs:  # else Hyperband's and ASHA's rungs fall between epochs
        raise ValueError(f"bench mf: max_epochs={max_epochs!r} must be a power of eta={eta!r} (e.g. {eta ** 3}), so "
                         f"that every rung's budget R η^-k is a whole number of epochs")
    common = {"seed": seed, "minimize": False}
    schedule = {"eta": eta, "min_budget": 1, "max_budget": max_epochs}
    if name == "random-full":
        return SuccessiveHalving(space, n=1, eta=eta, min_budget=max_epochs, max_budget=max_epochs, **common)
    if name == "sha":
        return SuccessiveHalving(space, n=eta ** ilog(max_epochs, eta), **schedule, **common)
    if name == "hyperband":
        return Hyperband(space, **schedule, **common)
    if name == "bohb":
        return ModelBasedHyperband(space, **schedule, **common)
    if name == "asha":
        return ASHA(space, **schedule, **common)
    if name == "median":
        return MedianStopping(space, sampler="random", max_budget=max_epochs, **common)
    if name == "median+bayes":
        return MedianStopping(space, sampler="bayes", max_budget=max_epochs, **common)
    raise ValueError(f"bench mf: strategy {name!r} is unknown; choose from {', '.join(STRATEGY_NAMES)}")


def run_one(name: str, bench: MnistMLP, resource_budget: float = 540, eta: int = 3):
    """One search of ``bench`` by strategy ``name`` with seed ``bench.seed``, capped at
    ``resource_budget`` epochs. Returns ``(row, curve, history)``: ``row`` a dict with the keys
    ``COLUMNS`` (see the module; NaN accuracies when no configuration reached ``bench.max_epochs``),
    ``curve`` an array of shape (n_trials, 2): epochs spent and ``best_val`` so far (NaN before the
    first full-length result) after each trial, and the search's ``History``."""
    R = bench.max_epochs
    space = bench.space()
    timed = TimedMF(make_strategy(name, space, bench.seed, max_epochs=R, eta=eta))
    pick = {"value": -math.inf, "state": None, "params": None}

    def objective(params, run):
        value = bench(params, run)  # raises TrialStopped when stopped: such a trial is never a pick
        if run.last_step == R and value > pick["value"]:  # the first of equal values stays the pick
            pick.update(value=value, state=run.state, params=params)
        return value

    t0 = time.perf_counter()
    history = search(objective, space, timed, budget=10**9, minimize=False, progress=False,
                     resource_budget=resource_budget)
    seconds = time.perf_counter() - t0

    # the anytime curve and the candidates: ok trials that reached R epochs
    curve = np.column_stack(history.resource_curve(R))  # (n_trials, 2): epochs spent, best val so far
    spent = curve[-1, 0] if len(history) else 0.0
    completed = {t.config for t in history if t.ok and t.curve and t.curve[-1][0] == R}
    found = pick["state"] is not None
    row = {
        "strategy": name, "seed": bench.seed,
        # accuracies are float32 fractions k / n_val: 6 decimals drop the float32 noise (0.9538999795 -> 0.9539)
        "best_val": round(pick["value"], 6) if found else math.nan,
        "test_acc": round(bench.test_accuracy(pick["state"]), 6) if found else math.nan,  # the one look at the test
        **{k: (pick["params"] or {}).get(k) for k in space.dimensions},
        "epochs": spent, "configs": len({t.config for t in history}), "completed": len(completed),
        "trials": len(history), "stopped": sum(t.status == "stopped" for t in history), "seconds": seconds,
        "ask_tell_ms": 1000 * float(np.mean([a[0] + t[0] for a, t in zip(timed.ask_s_, timed.tell_s_)])),
        "stop_us": 1e6 * statistics.median(timed.stop_s_) if timed.stop_s_ else math.nan,
    }
    return row, curve, history


def run_mf(strategies=STRATEGY_NAMES, seeds=range(5), resource_budget: float = 540, n_train: int = 5000,
           n_val: int | None = None, max_epochs: int = 27, eta: int = 3, device=None, progress: bool = False,
           on_row=None):
    """Run every strategy for every seed (seed by seed, so the first seeds finish first).

    Returns ``(frame, curves)``: a pandas DataFrame with one row per (strategy, seed) and the
    columns ``COLUMNS``, and ``{(strategy, seed): curve}`` (``run_one``). ``on_row(frame)`` is
    called with the rows so far after each run (to save them as they come). Every argument is
    checked (ValueError naming it) before anything is trained."""
    import pandas as pd

    strategies, seeds = list(strategies), list(seeds)
    for name in strategies:
        if name not in STRATEGY_NAMES:
            raise ValueError(f"bench mf: strategy {name!r} is unknown; choose from {', '.join(STRATEGY_NAMES)}")
    if not seeds or not all(isinstance(s, int) and s >= 0 for s in seeds):
        raise ValueError(f"bench mf: seeds={seeds!r} must be non-negative integers, at least one")
    if not (isinstance(resource_budget, (int, float)) and 0 < resource_budget < math.inf):
        raise ValueError(f"bench mf: resource_budget={resource_budget!r} must be a positive number of epochs")
    for name in strategies:  # a schedule a strategy rejects fails here, before any data is loaded
        make_strategy(name, MnistMLP.space(), 0, max_epochs=max_epochs, eta=eta)
    rows, curves = [], {}
    for seed in seeds:
        bench = MnistMLP(n_train=n_train, n_val=n_val, max_epochs=max_epochs, seed=seed, device=device)
        for name in strategies:
            row, curve, _ = run_one(name, bench, resource_budget=resource_budget, eta=eta)
            rows.append(row)
            curves[name, seed] = curve
            if progress:
                print(f"  {name:12s} seed {seed}: val {row['best_val']:.4f} test {row['test_acc']:.4f}  "
                      f"{row['configs']:3d} configs, {row['completed']:2d} to {max_epochs} epochs, "
                      f"{row['trials']:3d} trials, {row['epochs']:.0f} epochs, {row['seconds']:6.1f} s", flush=True)
            if on_row is not None:
                on_row(pd.DataFrame(rows, columns=COLUMNS))
    return pd.DataFrame(rows, columns=COLUMNS), curves


def anytime_median(curves: list, grid: np.ndarray) -> np.ndarray:
    """The median over runs of ``best_val`` so far at each number of epochs in ``grid``. Each
    curve (``run_one``) is a step function; a run with no full-length result yet counts as −∞, so
    the median is −∞ until at least half of the runs have one."""
    values = np.full((len(curves), len(grid)), -np.inf)  # (n_runs, n_grid)
    for i, curve in enumerate(curves):
        best = np.where(np.isnan(curve[:, 1]), -np.inf, curve[:, 1])
        last = np.searchsorted(curve[:, 0], grid, side="right") - 1  # the last trial ended by each grid point
        values[i, last >= 0] = best[last[last >= 0]]
    return np.median(values, axis=0)


def _quartiles(series) -> tuple[float, float]:
    """Median and interquartile range, NaN values left out (NaN when nothing is left)."""
    x = series.to_numpy(dtype=float)
    x = x[~np.isnan(x)]
    if len(x) == 0:
        return math.nan, math.nan
    q25, q50, q75 = np.percentile(x, [25, 50, 75])
    return float(q50), float(q75 - q25)


def summarize(frame):
    """One row per strategy: ``seeds``, median and IQR over seeds of ``best_val`` and ``test_acc``
    (``val``, ``val_iqr``, ``test``, ``test_iqr``), and the median over seeds of ``epochs``,
    ``configs``, ``completed``, ``trials``, ``seconds``, ``ask_tell_ms`` and ``stop_us``."""
    import pandas as pd

    out = []
    for name, group in frame.groupby("strategy", sort=False):
        row = {"strategy": name, "seeds": len(group)}
        row["val"], row["val_iqr"] = _quartiles(group["best_val"])
        row["test"], row["test_iqr"] = _quartiles(group["test_acc"])
        for column in ("epochs", "configs", "completed", "trials", "seconds", "ask_tell_ms", "stop_us"):
            row[column] = float(group[column].median())
        out.append(row)
    return pd.DataFrame(out)


def load_reference(path=REFERENCE_PATH):
    """Optuna's rows measured by ``scripts/mf_reference.py`` in the shape of ``summarize``'s output
    (``strategy`` holds the method), and the Optuna version(s) as text. One Optuna trial is one
    configuration, so ``trials`` repeats ``configs``; its ask/tell cost was not measured (NaN);
    ``stop_us`` is its ``trial.report`` + ``trial.should_prune`` per epoch."""
    import pandas as pd

    raw = pd.read_csv(path).rename(columns={"method": "strategy", "pruner_us": "stop_us"})
    raw["trials"], raw["ask_tell_ms"] = raw["configs"], math.nan
    version = ", ".join(sorted({str(v) for v in raw["optuna"]}))
    return summarize(raw), version


def goals(summary, reference=None) -> list[tuple[str, bool | None, str]]:
    """The benchmark's three goals as ``(goal, holds, figures)``, computed from ``summary`` (and
    Optuna's ``reference`` summary, or None); ``holds`` is None when a goal cannot be checked."""
    val = dict(zip(summary["strategy"], summary["val"]))
    out = []
    # (a) bohb against Optuna's TPE + Hyperband
    goal = f"(a) bohb median best val >= {REFERENCE_TPE_HYPERBAND}'s"
    ref = {} if reference is None else dict(zip(reference["strategy"], reference["val"]))
    if "bohb" in val and REFERENCE_TPE_HYPERBAND in ref:
        out.append((goal, bool(val["bohb"] >= ref[REFERENCE_TPE_HYPERBAND]),
                    f"{val['bohb']:.4f} vs {ref[REFERENCE_TPE_HYPERBAND]:.4f}"))
    else:
        out.append((goal, None, "bohb not run" if "bohb" not in val else f"no {REFERENCE_TPE_HYPERBAND} reference"))
    # (b) every multi-fidelity strategy above random search at full fidelity
    goal = f"(b) every multi-fidelity strategy's median best val > {FULL_FIDELITY}'s"
    others = [n for n in val if n != FULL_FIDELITY]
    if FULL_FIDELITY in val and others:
        below = [n for n in others if not val[n] > val[FULL_FIDELITY]]
        figures = f"{FULL_FIDELITY} {val[FULL_FIDELITY]:.4f}; " + ", ".join(f"{n} {val[n]:.4f}" for n in others)
        out.append((goal, not below, figures + (f"; not above: {', '.join(below)}" if below else "")))
    else:
        out.append((goal, None, f"needs {FULL_FIDELITY} and at least one other strategy"))
    # (c) should_stop cost per reported step
    goal = f"(c) should_stop < {STOP_GOAL_US:g} µs per reported epoch (median per run, median over seeds)"
    stop = {n: us for n, us in zip(summary["strategy"], summary["stop_us"]) if not math.isnan(us)}
    if stop:
        worst = max(stop, key=stop.get)
        out.append((goal, stop[worst] < STOP_GOAL_US, f"largest: {worst} {stop[worst]:.1f} µs"))
    else:
        out.append((goal, None, "no should_stop call measured"))
    return out


def _cell(median: float, iqr: float) -> str:
    return "     -" if math.isnan(median) else f"{median:.4f} [{iqr:.4f}]"


def format_table(summary) -> str:
    """The summary as fixed-width text: median [IQR] of best val and test, then medians."""
    width = max([12, *(len(str(name)) for name in summary["strategy"])])
    header = (f"{'strategy':{width}s} {'seeds':>5s} {'best val [IQR]':>17s} {'test [IQR]':>17s} {'epochs':>7s} "
              f"{'configs':>7s} {'to R':>5s} {'trials':>6s} {'wall s':>7s} {'ask+tell ms/job':>15s} "
              f"{'stop µs/step':>12s}")
    lines = [header, "-" * len(header)]
    for _, r in summary.iterrows():
        ask = "-" if math.isnan(r["ask_tell_ms"]) else f"{r['ask_tell_ms']:.3f}"
        stop = "-" if math.isnan(r["stop_us"]) else f"{r['stop_us']:.1f}"
        lines.append(f"{r['strategy']:{width}s} {r['seeds']:5d} {_cell(r['val'], r['val_iqr']):>17s} "
                     f"{_cell(r['test'], r['test_iqr']):>17s} {r['epochs']:7.0f} {r['configs']:7.0f} "
                     f"{r['completed']:5.0f} {r['trials']:6.0f} {r['seconds']:7.1f} {ask:>15s} {stop:>12s}")
    return "\n".join(lines)


def plot_curves(curves: dict, resource_budget: float, path) -> None:
    """Save the anytime curves: median over seeds of the best validation accuracy at R epochs
    against the epochs spent, one line per strategy (``anytime_median``)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    grid = np.arange(0, int(resource_budget) + 1)
    names = list(dict.fromkeys(name for name, _ in curves))
    fig, ax = plt.subplots(figsize=(7, 4.5))
    for name in names:
        runs = [c for (n, _), c in curves.items() if n == name]
        median = anytime_median(runs, grid)
        shown = np.isfinite(median)
        ax.step(grid[shown], median[shown], where="post", label=f"{name} ({len(runs)} seeds)")
    ax.set_xlabel("epochs spent")
    ax.set_ylabel("best validation accuracy at R epochs (median)")
    ax.set_title("MnistMLP: anytime curves")
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def report(frame, settings=DEFAULTS) -> None:
    """Print the figures of per-seed rows ``frame`` (columns ``COLUMNS``) measured with ``settings``
    (the keys of ``DEFAULTS``): the table, Optuna's rows when the settings are the defaults and
    ``datasets/mf_reference.csv`` exists, the ranking by median best val, and the goals."""
    import pandas as pd

    R = settings["max_epochs"]
    summary = summarize(frame)
    print(f"\nbest val = validation accuracy of the best configuration trained to all {R} epochs "
          f"(median [IQR] over seeds); test = that pick's test accuracy, read once per run; epochs, configs, "
          f"to R (configurations trained to {R}), trials, wall s: medians; ask+tell ms/job: mean "
          f"per job, stop µs/step: median per should_stop call (both per run, median over seeds)\n")
    print(format_table(summary))
    reference, both = None, summary
    if settings == DEFAULTS and REFERENCE_PATH.exists():
        reference, version = load_reference()
        print(f"\nOptuna {version}'s pruners on the same workload, measured by scripts/mf_reference.py "
              f"({REFERENCE_PATH.name}); stop µs/step = trial.report + trial.should_prune\n")
        print(format_table(reference))
        both = pd.concat([summary, reference], ignore_index=True)
    elif settings != DEFAULTS:
        print(f"\n(the Optuna reference is measured at the default settings {DEFAULTS}: not compared)")
    else:
        print(f"\n(no {REFERENCE_PATH.name}: run scripts/mf_reference.py for Optuna's figures)")
    ranked = both.assign(rank=both["val"].rank(ascending=False, method="min")).sort_values("rank", kind="stable")
    print("\nranking by median best val (1 = best)\n")
    for _, r in ranked.iterrows():
        rank = "-" if math.isnan(r["rank"]) else f"{r['rank']:.0f}"
        print(f"  {rank:>3s}  {r['strategy']:24s} {_cell(r['val'], r['val_iqr'])}")
    print("\ngoals\n")
    for goal, holds, figures in goals(summary, reference):
        verdict = "not checked" if holds is None else ("holds" if holds else "does NOT hold")
        print(f"  {goal}: {verdict} ({figures})")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m amsearch_lab.bench mf", description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=5, help="number of seeds 0..N-1 (default 5)")
    parser.add_argument("--resource-budget", type=int, default=DEFAULTS["resource_budget"],
                        help="epochs per search, a hard cap (default 540)")
    parser.add_argument("--strategies", default=",".join(STRATEGY_NAMES),
                        help=f"comma-separated names from {', '.join(STRATEGY_NAMES)} (default: all)")
    parser.add_argument("--n-train", type=int, default=DEFAULTS["n_train"], help="training images (default 5000)")
    parser.add_argument("--n-val", type=int, default=DEFAULTS["n_val"],
                        help="validation images (default: all 10,000)")
    parser.add_argument("--max-epochs", type=int, default=DEFAULTS["max_epochs"], help="R, epochs of a full training")
    parser.add_argument("--eta", type=int, default=DEFAULTS["eta"], help="reduction factor η (default 3)")
    parser.add_argument("--device", default="cpu", choices=["cpu", "cuda", "mps"], help="where to train (default cpu)")
    parser.add_argument("--plot", default=None, metavar="PATH", help="save the anytime curves to this image")
    parser.add_argument("--csv", default=None, metavar="PATH", help="write one row per strategy and seed here")
    parser.add_argument("--from-csv", default=None, metavar="PATH",
                        help="train nothing: print the figures of rows saved by --csv (give the settings they "
                             "were measured with)")
    args = parser.parse_args(argv)
    if args.seeds < 1:
        parser.error(f"--seeds={args.seeds} must be >= 1")
    strategies = args.strategies.split(",")
    settings = {"resource_budget": args.resource_budget, "n_train": args.n_train, "n_val": args.n_val,
                "max_epochs": args.max_epochs, "eta": args.eta}
    if args.from_csv:
        if args.plot or args.csv:
            parser.error("--from-csv prints saved rows: --plot and --csv need a run")
        import pandas as pd

        frame = pd.read_csv(args.from_csv)
        if list(frame.columns) != COLUMNS:
            parser.error(f"--from-csv={args.from_csv!r} has the columns {list(frame.columns)}, not {COLUMNS}")
        print(f"mf benchmark: rows read from {args.from_csv} (seeds {sorted(set(frame['seed']))})")
        report(frame, settings)
        return 0

    from ..device import describe_device

    print(f"mf benchmark: MnistMLP (n_train {args.n_train}, n_val {args.n_val or 10_000}, R = {args.max_epochs} "
          f"epochs, η = {args.eta}), {args.resource_budget} epochs per run, seeds 0..{args.seeds - 1}, "
          f"{describe_device(args.device)}; strategies {strategies}", flush=True)

    def save(frame):
        if args.csv:
            Path(args.csv).parent.mkdir(parents=True, exist_ok=True)
            frame.to_csv(args.csv, index=False)

    t0 = time.perf_counter()
    try:
        frame, curves = run_mf(strategies, range(args.seeds), device=args.device, progress=True, on_row=save,
                               **settings)
    except ValueError as e:
        parser.error(str(e))
    report(frame, settings)
    print(f"\ntotal {time.perf_counter() - t0:.0f} s")
    if args.csv:
        print(f"per-seed rows saved to {args.csv}")
    if args.plot:
        plot_curves(curves, args.resource_budget, args.plot)
        print(f"anytime curves saved to {args.plot}")
    return 0
