"""Reference figures for ``python -m amsearch_lab.bench scale``: other tools running the same work.

For each seed, the 40 configurations the lab's seeded random search evaluates
(``RandomSearch(forest_space(), seed)``, asked 40 times, as ``search(..., seed=seed)`` does) are
scored with ``DigitsForest()`` (random forest, 5-fold CV on the digits) by:

    sequential-loop      ``[objective(p) for p in configs]``: the baseline of every speed-up
    joblib               ``joblib.Parallel(n_jobs=2)`` (loky workers); the reusable workers are shut
                         down after each seed, inside the wall clock, so each seed starts them again
    ProcessPoolExecutor  ``concurrent.futures.ProcessPoolExecutor(2).map`` (the platform's default
                         start method: fork on Linux with Python 3.11), started and shut down per seed
    optuna-journal       Optuna (if importable): two processes started with ``spawn``, each running
                         ``study.optimize`` on one study in a ``JournalStorage`` file; the 40
                         configurations are enqueued (``study.enqueue_trial``), so the work is the same

Each wall clock includes starting and stopping the tool's workers (and creating the Optuna study);
the speed-up is the sequential loop's wall clock over the tool's, seed by seed. Every tool's
results are checked against the sequential loop's (same configurations, same accuracies) and the
script stops with an error if they differ. Output: ``--out`` (default ``datasets/scale_reference.csv``)
with one row per tool and seed:

    tool, seed, workers, trials   as above (trials: configurations evaluated)
    wall_s, speedup               seconds; sequential-loop wall_s / wall_s
    load_1min                     the 1-minute load average just before the run (other jobs on the machine)
    version, measured             the tool's version; the date

Optuna is not a project dependency. From the repository root (about 2 minutes on a 2-core CPU):

    .venv/bin/pip install --target /tmp/optuna_pkgs optuna==5.0.0
    OMP_NUM_THREADS=1 PYTHONPATH=/tmp/optuna_pkgs .venv/bin/python scripts/scale_reference.py

(remove the copy of numpy that ``pip --target`` puts in the folder, so the environment's is used).
"""

from __future__ import annotations

import argparse
import concurrent.futures
import csv
import datetime
import multiprocessing
import os
import platform
import tempfile
import time
from pathlib import Path

import joblib
from joblib.externals.loky import get_reusable_executor

from amsearch_lab.bench.scale import DigitsForest, forest_space, same_configurations
from amsearch_lab.space import Choice
from amsearch_lab.strategies import RandomSearch

COLUMNS = ["tool", "seed", "workers", "trials", "wall_s", "speedup", "load_1min", "version", "measured"]
WORKERS = 2


def configurations(seed: int, budget: int) -> list[dict]:
    """The params the lab's seeded random search evaluates, in the order it asks them."""
    strategy = RandomSearch(forest_space(), seed=seed)
    return [strategy.ask() for _ in range(budget)]


def run_joblib(objective, configs):
    values = joblib.Parallel(n_jobs=WORKERS)(joblib.delayed(objective)(p) for p in configs)
    get_reusable_executor(max_workers=WORKERS).shutdown(wait=True)  # so the next seed starts its workers again
    return configs, values


def run_pool(objective, configs):
    with concurrent.futures.ProcessPoolExecutor(WORKERS) as pool:
        return configs, list(pool.map(objective, configs))


def _optuna_objective(trial):
    import optuna

    if "config" not in trial.user_attrs:  # every enqueued configuration is taken: this process is done
        trial.study.stop()
        raise optuna.TrialPruned()
    params = {}
    for name, dim in forest_space().dimensions.items():
        params[name] = (trial.suggest_categorical(name, dim.choices) if isinstance(dim, Choice)
                        else trial.suggest_int(name, dim.low, dim.high, step=dim.step, log=dim.log))
    return DigitsForest()(params)


def _optuna_worker(path: str) -> None:
    import optuna
    from optuna.storages import JournalStorage
    from optuna.storages.journal import JournalFileBackend

    optuna.logging.set_verbosity(optuna.logging.ERROR)
    study = optuna.load_study(study_name="scale", storage=JournalStorage(JournalFileBackend(path)))
    study.optimize(_optuna_objective)


def run_optuna(objective, configs):
    import optuna
    from optuna.storages import JournalStorage
    from optuna.storages.journal import JournalFileBackend

    optuna.logging.set_verbosity(optuna.logging.ERROR)
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "journal.log")
        study = optuna.create_study(study_name="scale", direction="maximize",
                                    storage=JournalStorage(JournalFileBackend(path)))
        for i, params in enumerate(configs):
            study.enqueue_trial(params, user_attrs={"config": i})
        context = multiprocessing.get_context("spawn")
        workers = [context.Process(target=_optuna_worker, args=(path,)) for _ in range(WORKERS)]
        for w in workers:
            w.start()
        for w in workers:
            w.join()
        done = study.get_trials(states=(optuna.trial.TrialState.COMPLETE,))
    return [t.params for t in done], [t.value for t in done]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=3, help="seeds 0..N-1 (default 3)")
    parser.add_argument("--budget", type=int, default=40, help="configurations per seed (default 40)")
    parser.add_argument("--out", default=str(Path(__file__).resolve().parents[1] / "datasets" / "scale_reference.csv"))
    args = parser.parse_args()
    if args.seeds < 1 or args.budget < 1:
        parser.error(f"--seeds={args.seeds} and --budget={args.budget} must be >= 1")
    python = f"python {platform.python_version()}"
    tools = {"joblib": (run_joblib, f"joblib {joblib.__version__}"),
             "ProcessPoolExecutor": (run_pool, f"{python}, {multiprocessing.get_start_method()}")}
    try:
        import optuna

        tools["optuna-journal"] = (run_optuna, f"optuna {optuna.__version__}")
    except ImportError:
        print("optuna is not importable: its row is skipped (see the docstring to install it)")
    objective, today, rows = DigitsForest(), datetime.date.today().isoformat(), []
    for seed in range(args.seeds):
        configs = configurations(seed, args.budget)
        load, t0 = os.getloadavg()[0], time.perf_counter()
        values = [objective(p) for p in configs]
        sequential = time.perf_counter() - t0
        rows.append(["sequential-loop", seed, 1, len(configs), sequential, 1.0, load, python, today])
        for tool, (run, version) in tools.items():
            load, t0 = os.getloadavg()[0], time.perf_counter()
            params, got = run(objective, configs)
            wall = time.perf_counter() - t0
            same = same_configurations(configs, params)[0]
            if not same or sorted(round(v, 9) for v in got) != sorted(round(v, 9) for v in values):
                raise RuntimeError(f"{tool}, seed {seed}: not the sequential loop's configurations and accuracies")
            rows.append([tool, seed, WORKERS, len(params), wall, sequential / wall, load, version, today])
        for row in rows[-len(tools) - 1:]:
            print(f"seed {seed} {row[0]:20s} {row[4]:6.2f} s  speed-up {row[5]:.2f}  (load {row[6]:.2f})", flush=True)
    with open(args.out, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(COLUMNS)
        writer.writerows([[*r[:4], f"{r[4]:.3f}", f"{r[5]:.3f}", f"{r[6]:.2f}", *r[7:]] for r in rows])
    print(f"{len(rows)} rows written to {args.out}")


if __name__ == "__main__":
    main()
