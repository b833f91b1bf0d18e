"""Reference figures for ``python -m amsearch_lab.bench hpo``: Optuna's samplers on the lab's test
functions, with the lab's harness (same tasks, same seeds, same budget, regret read the same way).

Not part of the library or its tests (Optuna is not a dependency). To refresh the shipped table:

    python -m venv /tmp/ref && /tmp/ref/bin/pip install optuna cmaes greenlet torch numpy scipy pandas filelock threadpoolctl
    PYTHONPATH=. /tmp/ref/bin/python scripts/hpo_reference.py > amsearch_lab/bench/hpo_reference.csv

Output: CSV with one row per (tool, task, seed): the regret |best - optimum| after 10, 25 and 50
evaluations and the sampler's own time per evaluation in milliseconds (wall clock of the whole
run minus the time spent in the objective, divided by the number of evaluations).
"""

import sys
import time

import numpy as np
import optuna

from amsearch_lab.bench.hpo import CHECKPOINTS, DEFAULT_TASKS
from amsearch_lab.tasks import get_task

optuna.logging.set_verbosity(optuna.logging.ERROR)
SAMPLERS = {
    "optuna-gp": lambda seed: optuna.samplers.GPSampler(seed=seed),
    "optuna-tpe": lambda seed: optuna.samplers.TPESampler(seed=seed),
    "optuna-cmaes": lambda seed: optuna.samplers.CmaEsSampler(seed=seed),
    "optuna-random": lambda seed: optuna.samplers.RandomSampler(seed=seed),
}


def main(budget: int = 50, seeds=range(10)) -> None:
    print(f"# optuna {optuna.__version__}; {budget} evaluations; seeds {seeds.start}..{seeds.stop - 1}")
    print("tool,task,seed," + ",".join(f"regret@{k}" for k in CHECKPOINTS) + ",ms_per_eval")
    for name in DEFAULT_TASKS:
        task = get_task(name)
        for tool, make in SAMPLERS.items():
            for seed in seeds:
                spent = [0.0]

                def objective(trial):
                    params = {k: trial.suggest_float(k, d.low, d.high, log=d.log) for k, d in task.space.dimensions.items()}
                    t0 = time.perf_counter()
                    value = task.objective(params)
                    spent[0] += time.perf_counter() - t0
                    return value

                study = optuna.create_study(sampler=make(seed), direction="minimize")
                t0 = time.perf_counter()
                study.optimize(objective, n_trials=budget)
                total = time.perf_counter() - t0
                best = np.minimum.accumulate([t.value for t in study.trials])
                regrets = ",".join(f"{task.regret(best[k - 1]):.6g}" for k in CHECKPOINTS)
                print(f"{tool},{name},{seed},{regrets},{1000 * (total - spent[0]) / budget:.2f}", flush=True)
            print(f"  {name} {tool} done", file=sys.stderr, flush=True)


if __name__ == "__main__":
    main()
