"""Search strategies on test functions and tuning tasks: simple regret and strategy overhead.

``python -m amsearch_lab.bench hpo [--budget 50] [--seeds 10] [--tasks branin,hartmann6]
[--strategies random,bayes] [--plot curves.png]``

What is measured, per strategy, task and seed:

- the *anytime curve*: the best value after each evaluation; for a test function with a known
  optimum ``f*`` it is reported as the *simple regret* ``|best - f*|`` (the model-tuning tasks
  iris and regression have no known optimum, so their best value is reported instead);
- the strategy's own time per evaluation: the seconds spent inside ``ask()`` and ``tell()``,
  the objective excluded (what a user pays on top of the evaluations), as wall-clock time and
  as CPU time of this process (the CPU time is the fairer figure on a machine shared with other
  jobs, where the wall clock also counts the time spent waiting for a core).

``run_hpo`` runs each strategy in ``search()``, the library's one loop, wrapped in ``Timed``
(a Strategy whose ``ask``/``tell`` call the real strategy's with a clock around them), and
returns one row per evaluation; ``summarize`` turns those rows into the table ``main`` prints:
median and interquartile range over seeds of the regret after 10, 25 and 50 evaluations, and the
median over seeds of the mean overhead per evaluation (wall clock and CPU).

Next to the lab's figures, ``main`` prints the same statistics for Optuna's samplers (GP, TPE,
CMA-ES, random), measured with this harness by ``scripts/hpo_reference.py`` and shipped in
``datasets/hpo_reference.csv`` (Optuna is not a dependency), and ranks every strategy and tool by
its median regret on each function, with the mean rank over the functions.

Grid search gets a grid of at least ``budget`` points (``n = ceil(budget ** (1/d))`` values
per continuous dimension), walked in a seeded random order (``shuffle=True``) so that a budget
smaller than the grid is an unbiased sample of it. On Hartmann-6 with a budget of 50 that is a
2^6 = 64-point grid: a poor grid, reported as it is.
"""

from __future__ import annotations

import argparse
import math
import time
from collections.abc import Iterable, Mapping
from pathlib import Path

import numpy as np

from ..strategies import STRATEGIES, Strategy
from ..study import search
from ..tasks import TASKS, get_task

__all__ = ["DEFAULT_TASKS", "REFERENCE_PATH", "Timed", "blackbox_strategies", "default_options", "run_one", "run_hpo",
           "summarize", "load_reference", "rank_table", "main"]

DEFAULT_TASKS = ("branin", "hartmann6", "rosenbrock4", "rastrigin5")
CHECKPOINTS = (10, 25, 50)
REFERENCE_PATH = Path(__file__).resolve().parents[2] / "datasets" / "hpo_reference.csv"


def blackbox_strategies() -> list[str]:
    """Every registered strategy that can search a black-box objective (``blackbox`` not False),
    except the multi-fidelity ones (``multi_fidelity = True``): they spend a budget of epochs,
    not of evaluations, and ``bench mf`` compares them on an objective that has one."""
    return [name for name, cls in STRATEGIES.items()
            if getattr(cls, "blackbox", True) is not False and not getattr(cls, "multi_fidelity", False)]


def default_options(strategy: str, space, budget: int) -> dict:
    """Constructor options the benchmark gives a strategy by default: a shuffled grid of at
    least ``budget`` points for ``"grid"``; nothing for the others."""
    if strategy != "grid":
        return {}
    n_continuous = sum(1 for d in space.dimensions.values() if d.continuous)
    n = max(2, math.ceil(budget ** (1.0 / max(n_continuous, 1)) - 1e-9))
    return {"n": n, "shuffle": True}


class Timed(Strategy):
    """``strategy`` with a clock on it: ``ask()`` and ``tell()`` call the wrapped strategy's and
    record the seconds each call took, wall clock (``time.perf_counter``) and CPU of this process
    (``time.process_time``), in ``ask_s_`` and ``tell_s_`` as ``(wall, cpu)`` pairs, one per call
    that returned. Everything else (``SearchExhausted`` included) is the wrapped strategy's; it
    is a Strategy only so that ``search()`` takes it (its own ``rng`` and ``trials`` stay unused)."""

    def __init__(self, strategy: Strategy):
        super().__init__(strategy.space, seed=strategy.seed, minimize=strategy.minimize)
        self.strategy = strategy
        self.ask_s_: list[tuple[float, float]] = []
        self.tell_s_: list[tuple[float, float]] = []

    def ask(self) -> dict:
        t0, c0 = time.perf_counter(), time.process_time()
        params = self.strategy.ask()
        self.ask_s_.append((time.perf_counter() - t0, time.process_time() - c0))
        return params

    def tell(self, trial) -> None:
        t0, c0 = time.perf_counter(), time.process_time()
        self.strategy.tell(trial)
        self.tell_s_.append((time.perf_counter() - t0, time.process_time() - c0))


def run_one(strategy: str, task, budget: int, seed: int, options: Mapping | None = None) -> list[dict]:
    """One search of ``task`` by ``strategy`` in ``search()``: one row per evaluation (see ``run_hpo``)."""
    space = task.space
    opts = {**default_options(strategy, space, budget), **(options or {})}
    timed = Timed(STRATEGIES[strategy](space, seed=seed, minimize=task.minimize, **opts))
    history = search(task.objective, space, timed, budget=budget, minimize=task.minimize, progress=False)
    rows = []
    for trial, best, (t_ask, c_ask), (t_tell, c_tell) in zip(history, history.best_so_far(), timed.ask_s_,
                                                             timed.tell_s_):
        regret = task.regret(best) if task.optimum is not None and not math.isnan(best) else math.nan
        rows.append({"strategy": strategy, "task": task.name, "seed": seed, "trial": trial.number + 1,
                     "value": trial.value if trial.ok else math.nan, "best": float(best), "regret": regret,
                     "overhead_s": t_ask + t_tell, "overhead_cpu_s": c_ask + c_tell})
    return rows


def run_hpo(strategies: Iterable[str] | None = None, tasks: Iterable[str] | None = None, budget: int = 50,
            seeds: Iterable[int] = range(10), options: Mapping[str, Mapping] | None = None, progress: bool = False):
    """Run every ``strategy`` on every ``task`` for every seed, ``budget`` evaluations each.

    strategies  registered names; default: every black-box strategy in ``STRATEGIES``, so a newly
                registered strategy joins the benchmark without an edit here.
    tasks       names in ``amsearch_lab.tasks.TASKS``; default: the four test functions.
    options     ``{strategy name: constructor options}``, merged over ``default_options``.

    Returns a pandas DataFrame with one row per evaluation and the columns
    ``strategy, task, seed, trial`` (1-based evaluation count), ``value`` (NaN when it failed),
    ``best`` (best value so far), ``regret`` (``|best - optimum|``, NaN without a known optimum)
    ``overhead_s`` (wall-clock seconds in ``ask()`` + ``tell()`` for this evaluation) and
    ``overhead_cpu_s`` (the CPU seconds of the same calls).
    """
    import pandas as pd

    strategies = blackbox_strategies() if strategies is None else list(strategies)
    tasks = list(DEFAULT_TASKS) if tasks is None else list(tasks)
    seeds = list(seeds)
    if not isinstance(budget, int) or budget < 1:
        raise ValueError(f"run_hpo: budget={budget!r} must be a positive integer")
    for name in strategies:
        if name not in STRATEGIES:
            raise ValueError(f"run_hpo: strategy {name!r} is not registered; choose from {sorted(STRATEGIES)}")
    task_objects = [get_task(t) for t in tasks]
    options = dict(options or {})
    rows = []
    for task in task_objects:
        for name in strategies:
            t0 = time.perf_counter()
            for seed in seeds:
                rows.extend(run_one(name, task, budget, seed, options.get(name)))
            if progress:
                print(f"  {task.name:12s} {name:10s} {len(seeds)} seeds in {time.perf_counter() - t0:6.1f} s",
                      flush=True)
    return pd.DataFrame(rows)


def summarize(frame, checkpoints: Iterable[int] = CHECKPOINTS):
    """Median and interquartile range over seeds of the regret (or of the best value, for a task
    without a known optimum) after each checkpoint, and the median over seeds of the mean
    overhead per evaluation in milliseconds, wall clock (``ms_per_eval``) and CPU
    (``cpu_ms_per_eval``). One row per (task, strategy).

    A run that stopped early (an exhausted grid) is read at its last evaluation.
    """
    import pandas as pd

    out = []
    for (task, strategy), group in frame.groupby(["task", "strategy"], sort=False):
        column = "regret" if TASKS[task].optimum is not None else "best"
        row = {"task": task, "strategy": strategy, "metric": column}
        for k in checkpoints:
            at_k = group[group["trial"] <= k].groupby("seed")[column].last()
            q25, q50, q75 = np.nanpercentile(at_k.to_numpy(dtype=float), [25, 50, 75])
            row[f"median@{k}"], row[f"iqr@{k}"] = q50, q75 - q25
        row["ms_per_eval"] = 1000 * group.groupby("seed")["overhead_s"].mean().median()
        row["cpu_ms_per_eval"] = 1000 * group.groupby("seed")["overhead_cpu_s"].mean().median()
        out.append(row)
    return pd.DataFrame(out)


def load_reference(path=REFERENCE_PATH):
    """The reference tools' figures in the shape of ``summarize``'s output (``strategy`` holds the
    tool's name): median and IQR over seeds of the regret after 10, 25 and 50 evaluations, and
    the median over seeds of the tool's own milliseconds per evaluation (wall clock; the CPU
    column repeats it). Their budget is 50 evaluations, their seeds 0-9."""
    import pandas as pd

    raw = pd.read_csv(path, comment="#")
    out = []
    for (task, tool), group in raw.groupby(["task", "tool"], sort=False):
        row = {"task": task, "strategy": tool, "metric": "regret"}
        for k in CHECKPOINTS:
            q25, q50, q75 = np.percentile(group[f"regret@{k}"].to_numpy(dtype=float), [25, 50, 75])
            row[f"median@{k}"], row[f"iqr@{k}"] = q50, q75 - q25
        row["ms_per_eval"] = row["cpu_ms_per_eval"] = float(group["ms_per_eval"].median())
        out.append(row)
    return pd.DataFrame(out)


def rank_table(summary, at: int = 50):
    """Rank the strategies (and tools) on each task by median regret after ``at`` evaluations (1 =
    lowest; ties share the mean rank); returns a DataFrame indexed by strategy with one column per
    task and ``mean rank`` over the tasks, best first."""
    table = summary.pivot(index="strategy", columns="task", values=f"median@{at}")
    table = table[list(dict.fromkeys(summary["task"]))]
    ranks = table.rank(axis=0, method="average")
    ranks["mean rank"] = ranks.mean(axis=1)
    return ranks.sort_values("mean rank")


def format_table(summary, checkpoints: Iterable[int] = CHECKPOINTS) -> str:
    """The summary as fixed-width text: ``median [IQR]`` at each checkpoint, then ms/eval (wall, CPU)."""
    checkpoints = list(checkpoints)
    width = max([10, *(len(str(name)) for name in summary["strategy"])])
    header = f"{'task':12s} {'strategy':{width}s} {'metric':7s}" + "".join(f" {'@' + str(k):>20s}" for k in checkpoints)
    lines = [header + f" {'ms/eval':>9s} {'cpu ms':>8s}", "-" * (len(header) + 19)]
    for _, r in summary.iterrows():
        cells = "".join(f" {r[f'median@{k}']:10.3g} [{r[f'iqr@{k}']:7.2g}]" for k in checkpoints)
        lines.append(f"{r['task']:12s} {r['strategy']:{width}s} {r['metric']:7s}{cells} {r['ms_per_eval']:9.2f} "
                     f"{r['cpu_ms_per_eval']:8.2f}")
    return "\n".join(lines)


def plot_curves(frame, path) -> None:
    """Save the anytime curves (median and IQR band over seeds), one panel per task."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from ..plots import plot_best_so_far

    tasks = list(dict.fromkeys(frame["task"]))
    fig, axes = plt.subplots(1, len(tasks), figsize=(5 * len(tasks), 4), squeeze=False)
    for ax, task_name in zip(axes[0], tasks):
        task = TASKS[task_name]
        sub = frame[frame["task"] == task_name]
        runs = {name: [g["best"].to_numpy() for _, g in grp.groupby("seed")]
                for name, grp in sub.groupby("strategy", sort=False)}
        plot_best_so_far(runs, ax=ax, optimum=task.optimum, log=task.optimum is not None, title=task_name)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m amsearch_lab.bench hpo", description=__doc__.splitlines()[0])
    parser.add_argument("--budget", type=int, default=50, help="evaluations per search (default 50)")
    parser.add_argument("--seeds", type=int, default=10, help="number of seeds 0..N-1 (default 10)")
    parser.add_argument("--tasks", default=",".join(DEFAULT_TASKS),
                        help=f"comma-separated task names from {list(TASKS)} (default: the test functions)")
    parser.add_argument("--strategies", default=None, help="comma-separated names (default: every black-box one)")
    parser.add_argument("--plot", default=None, metavar="PATH", help="save the anytime curves to this image")
    args = parser.parse_args(argv)
    if args.budget < 1:
        parser.error(f"--budget={args.budget} must be >= 1")
    if args.seeds < 1:
        parser.error(f"--seeds={args.seeds} must be >= 1")
    strategies = args.strategies.split(",") if args.strategies else None
    tasks = args.tasks.split(",")
    checkpoints = [k for k in CHECKPOINTS if k < args.budget] + [args.budget]
    print(f"hpo benchmark: budget {args.budget}, seeds 0..{args.seeds - 1}, tasks {tasks}, "
          f"strategies {strategies or blackbox_strategies()}", flush=True)
    t0 = time.perf_counter()
    frame = run_hpo(strategies, tasks, budget=args.budget, seeds=range(args.seeds), progress=True)
    print(f"\nsimple regret |best - optimum| (best value for tasks without a known optimum): "
          f"median [IQR] over {args.seeds} seeds after k evaluations; ms/eval = strategy time "
          f"(ask + tell, objective excluded), median over seeds of the per-run mean, wall clock and CPU\n")
    summary = summarize(frame, checkpoints)
    print(format_table(summary, checkpoints))
    reference = load_reference() if REFERENCE_PATH.exists() else None
    if args.budget == 50 and reference is not None and set(tasks) <= set(reference["task"]):
        import pandas as pd

        both = pd.concat([summary, reference[reference["task"].isin(tasks)]], ignore_index=True)
        print(f"\nagainst Optuna's samplers on the same harness ({REFERENCE_PATH.name}: seeds 0-9, their own "
              f"time per evaluation; the lab's here: seeds 0..{args.seeds - 1})\n")
        print(format_table(both.sort_values(["task", "median@50"], kind="stable"), checkpoints))
        print("\nrank by median regret @50 on each function (1 = best), and the mean rank\n")
        print(rank_table(both).to_string(float_format=lambda v: f"{v:.2f}"))
    else:
        print("\n(reference figures are for a budget of 50 on the test functions: not compared here)")
    print(f"\ntotal {time.perf_counter() - t0:.0f} s")
    if args.plot:
        plot_curves(frame, args.plot)
        print(f"anytime curves saved to {args.plot}")
    return 0
