"""The parallel loop (parallel.py): the same search over a sequential loop, a process pool and a
Dask LocalCluster (2 worker processes, loopback only), and its faults: workers killed mid-trial,
the driver killed and resumed."""

from __future__ import annotations

import concurrent.futures as cf
import json
import math
import os
import signal
import subprocess
import sys
import textwrap
import time
import zlib

import pytest

import amsearch_lab as al
from amsearch_lab.fidelity import WaitForTrials
from amsearch_lab.history import History
from amsearch_lab.space import Choice, Float, Int, Space
from amsearch_lab.strategies import BayesianOptimization, GeneticSearch, GradientSearch, GreedySearch
from amsearch_lab.study import search

distributed = pytest.importorskip("distributed")

SPACE = Space({"x": Float(-2, 2), "y": Float(-2, 2), "k": Int(0, 4), "c": Choice(["a", "b"])})


def bowl(params):
    """A quadratic whose evaluation sleeps 0-30 ms, set by the params: results come back out of order."""
    time.sleep((zlib.crc32(repr(sorted(params.items())).encode()) % 4) * 0.01)
    return params["x"] ** 2 + (params["y"] - 0.5) ** 2 + 0.1 * params["k"] + (params["c"] == "b")


@pytest.fixture(scope="module")
def client():
    """One Dask LocalCluster for the module: 2 worker processes, 1 thread each, no dashboard."""
    from dask.distributed import Client, LocalCluster

    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0") as cluster:
        with Client(cluster) as c:
            yield c


def by_ask(history: History) -> list[dict]:
    """The evaluated params in the order the strategy asked for them."""
    return [t.params for t in sorted(history, key=lambda t: t.asked)]


def run(mode, client=None, **kw):
    if mode == "sequential":
        return search(bowl, SPACE, progress=False, **kw)
    if mode == "process":
        return search(bowl, SPACE, progress=False, n_workers=2, **kw)
    return search(bowl, SPACE, progress=False, executor=client, **kw)


# -- the same configurations, whatever the workers ------------------------------------------------------
@pytest.mark.parametrize("mode", ["process", "dask"])
@pytest.mark.parametrize("strategy, options", [("random", {}), ("grid", {"n": 3, "shuffle": True}),
                                               ("genetic", {"population": 6})])
def test_seeded_parallel_run_evaluates_the_sequential_configurations(mode, strategy, options, client):
    sequential = run("sequential", strategy=strategy, budget=18, seed=3, options=options)
    parallel = run(mode, client, strategy=strategy, budget=18, seed=3, options=options)
    assert by_ask(parallel) == by_ask(sequential)
    assert sorted(t.asked for t in parallel) == list(range(18))
    assert [t.number for t in parallel] == list(range(18))  # numbers: the order results arrived
    assert len({t.worker for t in parallel}) == 2  # both workers took part
    for t in parallel:  # each trial was told after it was asked, and the journal counts asks
        assert t.asked < t.n_asked <= 18


def test_results_arrive_out_of_order_and_are_kept_in_that_order():
    h = search(bowl, SPACE, "random", budget=16, seed=0, progress=False, n_workers=2)
    asked = [t.asked for t in h]
    assert asked != sorted(asked)  # the sleeps reorder the results
    ends = [t.start + t.duration for t in h]
    assert all(b >= a - 0.05 for a, b in zip(ends, ends[1:]))  # appended as they finished (clocks of 2 processes)


def test_the_genetic_algorithm_waits_at_the_end_of_its_generation():
    ga = GeneticSearch(SPACE, seed=0, population=4)
    asked = [ga.ask() for _ in range(4)]
    with pytest.raises(WaitForTrials, match="generation 0 waits for 4"):
        ga.ask()
    for i, params in enumerate(reversed(asked)):  # told in the reverse order
        ga.tell(al.Trial(number=i, params=params, value=bowl(params)))
    assert ga.losses_ == [bowl(p) for p in asked]  # each result went to its own individual
    ga.ask()  # the next generation is bred


def test_greedy_and_gradient_searches_wait_for_the_results_they_need():
    greedy = GreedySearch(SPACE, seed=0)
    centre = greedy.ask()
    with pytest.raises(WaitForTrials):
        greedy.ask()
    greedy.tell(al.Trial(number=0, params=centre, value=1.0))
    batch = [greedy.ask(), greedy.ask()]  # the neighbours along one dimension go out together
    assert batch[0] != batch[1]
    gradient = GradientSearch(Space({"x": Float(0, 1)}), seed=0)
    gradient.ask()
    with pytest.raises(WaitForTrials, match="still running"):
        gradient.ask()


def test_greedy_search_runs_in_parallel():
    h = search(bowl, SPACE, "greedy", budget=20, seed=1, progress=False, n_workers=2)
    assert len(h) == 20 and len({json.dumps(t.params, sort_keys=True) for t in h}) == 20


# -- batch Bayesian optimization: the constant liar --------------------------------------------------------
def test_bo_never_proposes_a_pending_point_and_fits_the_liar():
    space = Space({"x": Float(0, 1), "y": Float(0, 1)})
    for liar in ("max", "mean", "min"):
        bo = BayesianOptimization(space, seed=0, n_initial=4, n_candidates=256, n_local=2, liar=liar)
        told = [bo.ask() for _ in range(4)]
        losses = [p["x"] + p["y"] for p in told]
        for i, (p, loss) in enumerate(zip(told, losses)):
            bo.tell(al.Trial(number=i, params=p, value=loss))
        pending = [bo.ask() for _ in range(3)]  # three proposals, none told
        keys = {space.key(p) for p in told + pending}
        assert len(keys) == 7
        gp = bo.fitted_model()  # fitted to the 4 told points and the 3 pending ones at the liar L
        assert gp.X_.shape == (7, 2)
        expected = {"max": max(losses), "mean": sum(losses) / 4, "min": min(losses)}[liar]
        assert bo.lie(bo._losses()[0], bo._losses()[1]) == pytest.approx(expected)


def test_bo_without_pending_points_is_the_sequential_strategy():
    """With one worker nothing is ever pending: the liar changes nothing (same proposals)."""
    a = search(bowl, SPACE, "bayes", budget=14, seed=2, progress=False, options={"n_initial": 6, "liar": "max"})
    b = search(bowl, SPACE, "bayes", budget=14, seed=2, progress=False, options={"n_initial": 6, "liar": "min"})
    assert [t.params for t in a] == [t.params for t in b]


@pytest.mark.parametrize("mode", ["process", "dask"])
def test_parallel_bo_proposes_distinct_points(mode, client):
    h = run(mode, client, strategy="bayes", budget=16, seed=0,
            options={"n_initial": 5, "n_candidates": 256, "n_local": 2})
    assert len(h) == 16
    assert len({SPACE.key(t.params) for t in h}) == 16


def test_bo_rejects_an_unknown_liar():
    with pytest.raises(ValueError, match="liar='median'"):
        BayesianOptimization(SPACE, liar="median")


# -- ASHA over workers ---------------------------------------------------------------------------------------
def curve(params, run):
    """A multi-fidelity objective: loss (1 + x^2) / step, one report per step, a checkpoint per step."""
    step = run.start
    state = run.state if run.state is not None else 0
    assert state == run.start  # continues exactly where the configuration stopped
    while step < run.budget:
        step += 1
        time.sleep(0.005)
        run.report(step, (1 + params["x"] ** 2) / step + 0.01 * params["k"], state=step)
    return None


@pytest.mark.parametrize("mode", ["process", "dask"])
def test_asha_promotes_by_its_rule_with_results_out_of_order(mode, client):
    kw = {"n_workers": 2} if mode == "process" else {"executor": client}
    h = search(curve, SPACE, "asha", budget=40, seed=0, progress=False, options={"eta": 3, "max_budget": 9}, **kw)
    assert len(h) == 40 and all(t.ok for t in h)
    for t in h:
        if t.rung == 0:
            assert t.start_step == 0
            continue
        # promoted: at its ask, its config was in the top floor(n/eta) of the rung below, among
        # the results told by then (told before ask i <=> n_asked <= i)
        below = [s for s in h if s.rung == t.rung - 1 and s.n_asked <= t.asked]
        ranked = sorted(below, key=lambda s: (s.value, s.n_asked))[: len(below) // 3]
        assert t.config in {s.config for s in ranked}
        assert t.start_step > 0  # continued from the checkpoint its last job left


def test_median_stopping_stops_trials_in_parallel():
    h = search(curve, SPACE, "median", budget=16, seed=0, progress=False, n_workers=2,
               options={"max_budget": 9, "min_trials": 3})
    assert len(h) == 16
    assert any(t.status == "stopped" for t in h)


def test_resource_budget_caps_a_parallel_search():
    h = search(curve, SPACE, "asha", budget=1000, seed=0, progress=False, n_workers=2, resource_budget=30,
               options={"eta": 3, "max_budget": 9})
    assert sum(t.resource for t in h) <= 30


# -- arguments ------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("kw, match", [({"n_workers": 0}, "n_workers=0"), ({"n_workers": True}, "n_workers=True"),
                                       ({"n_workers": "2"}, "n_workers='2'"), ({"executor": "ray"}, "executor='ray'"),
                                       ({"executor": object()}, "executor=<object")])
def test_bad_worker_arguments_are_refused_before_any_work(kw, match):
    calls = []
    with pytest.raises(ValueError, match=match):
        search(lambda p: calls.append(p) or 0.0, SPACE, budget=3, progress=False, **kw)
    assert calls == []


def test_a_thread_pool_and_a_users_process_pool_work_and_are_not_shut_down():
    with cf.ThreadPoolExecutor(2) as pool:
        h = search(bowl, SPACE, "random", budget=6, seed=0, progress=False, executor=pool)
        assert pool.submit(lambda: 1).result() == 1
    assert by_ask(h) == by_ask(search(bowl, SPACE, "random", budget=6, seed=0, progress=False))
    with cf.ProcessPoolExecutor(2) as pool:
        h = search(bowl, SPACE, "random", budget=6, seed=0, progress=False, executor=pool)
        assert pool.submit(abs, -1).result() == 1
    assert len(h) == 6


def counted(log, error):
    """An objective that logs each call to ``log``, raises ``error()`` for k == 0 and returns NaN for k == 1."""

    def objective(params):
        with open(log, "a") as f:
            f.write("x\n")
        if params["k"] == 0:
            raise error()
        return math.nan if params["k"] == 1 else float(params["k"])

    return objective


def test_a_failing_objective_is_a_failed_trial_never_retried(tmp_path):
    log = tmp_path / "calls"
    sometimes = counted(log, lambda: RuntimeError("k=0 is broken"))
    h = search(sometimes, SPACE, "random", budget=12, seed=0, progress=False, n_workers=2)
    assert len(log.read_text().split()) == 12  # every trial ran exactly once
    for t in h:
        assert t.ok == (t.params["k"] > 1)
    with pytest.raises(RuntimeError, match="k=0 is broken"):
        search(sometimes, SPACE, "random", budget=12, seed=0, progress=False, n_workers=2, catch=False)


# -- faults -----------------------------------------------------------------------------------------------------
def killer(marker_dir, always=False):
    """An objective that SIGKILLs its own worker process mid-trial for the configuration asked
    third (k == its k and x == its x), the first time only unless ``always``."""

    def objective(params):
        target = os.path.join(marker_dir, "target.json")
        if os.path.exists(target) and json.load(open(target)) == params:
            died = os.path.join(marker_dir, f"died-{len(os.listdir(marker_dir))}")
            if always or not any(n.startswith("died") for n in os.listdir(marker_dir)):
                open(died, "w").close()
                time.sleep(0.05)
                os.kill(os.getpid(), signal.SIGKILL)
        time.sleep(0.02)
        return bowl(params)

    return objective


def third_params():
    from amsearch_lab.strategies import RandomSearch

    strategy = RandomSearch(SPACE, seed=5)
    return [strategy.ask() for _ in range(3)][2]


@pytest.mark.parametrize("executor", ["process", "dask"])
def test_a_worker_killed_mid_trial_reruns_the_trial_once(executor, tmp_path):
    (tmp_path / "target.json").write_text(json.dumps(third_params()))
    storage = tmp_path / "h.jsonl"
    h = search(killer(str(tmp_path)), SPACE, "random", budget=10, seed=5, progress=False, n_workers=2,
               executor=executor, storage=storage)
    assert len([n for n in os.listdir(tmp_path) if n.startswith("died")]) == 1
    assert len(h) == 10 and all(t.ok for t in h)  # the killed trial ran again and succeeded
    assert sorted(t.asked for t in h) == list(range(10))  # none lost, none evaluated twice
    assert by_ask(h) == by_ask(search(bowl, SPACE, "random", budget=10, seed=5, progress=False))
    assert len(History.load(storage)) == 10  # the file is valid


@pytest.mark.parametrize("executor", ["process", "dask"])
def test_a_trial_whose_worker_always_dies_is_recorded_failed_and_spares_the_others(executor, tmp_path):
    (tmp_path / "target.json").write_text(json.dumps(third_params()))
    h = search(killer(str(tmp_path), always=True), SPACE, "random", budget=6, seed=5, progress=False, n_workers=2,
               executor=executor)
    assert len(h) == 6 and sorted(t.asked for t in h) == list(range(6))  # nothing stuck, nothing lost
    [dead] = [t for t in h if t.asked == 2]
    assert dead.status == "failed" and "lost" in dead.error and "died" in dead.error
    assert all(t.ok for t in h if t.asked != 2)  # the trials that ran beside it are not blamed
    died = len([n for n in os.listdir(tmp_path) if n.startswith("died")])
    # Dask: run twice (the scheduler's retry). A process pool breaks as a whole, so the job is
    # only blamed for deaths while it runs alone: twice alone, after once beside another job
    assert died == 2 if executor == "dask" else 2 <= died <= 3


DRIVER = textwrap.dedent("""
    import sys, time
    from amsearch_lab.space import Float, Int, Space
    from amsearch_lab.study import search

    def slow(params):
        time.sleep(0.15)
        return (params["x"] - 0.2) ** 2 + params["k"]

    if __name__ == "__main__":
        h = search(slow, Space({"x": Float(0, 1), "k": Int(0, 3)}), sys.argv[2], budget=16, seed=1,
                   storage=sys.argv[1], progress=False, n_workers=2)
        print(len(h))
""")


@pytest.mark.parametrize("strategy", ["random", "bayes"])
def test_kill_9_of_the_driver_loses_only_the_trials_in_flight_and_the_same_command_resumes(strategy, tmp_path):
    script, storage = tmp_path / "driver.py", tmp_path / "h.jsonl"
    script.write_text(DRIVER)
    command = [sys.executable, str(script), str(storage), strategy]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    driver = subprocess.Popen(command, start_new_session=True, env=env)
    deadline = time.time() + 60
    while time.time() < deadline and (not storage.exists() or len(storage.read_text().splitlines()) < 5):
        time.sleep(0.02)
    os.killpg(driver.pid, signal.SIGKILL)  # the driver and its workers, at once
    driver.wait()
    before = History.load(storage)
    assert 5 <= len(before) < 16
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    after = History.load(storage)
    assert len(after) == 16 and [t.params for t in after][:len(before)] == [t.params for t in before]
    assert sorted(t.asked for t in after) == list(range(16))  # every ask evaluated once: the lost ones rerun
    assert len({after.trials[0].worker, after.trials[-1].worker}) == 2  # two runs, other processes
    if strategy == "random":
        from amsearch_lab.strategies import RandomSearch

        rs = RandomSearch(Space({"x": Float(0, 1), "k": Int(0, 3)}), seed=1)
        assert by_ask(after) == [rs.ask() for _ in range(16)]


def test_a_parallel_search_resumes_exactly_from_its_file(tmp_path):
    """Stopped by a callback after 9 results, resumed by the same call: the replay of asks and
    tells (asked / n_asked) reproduces every proposal of the file, BO's included."""
    storage = tmp_path / "bo.jsonl"
    options = {"n_initial": 4, "n_candidates": 256, "n_local": 2}

    def stop_at_9(trial, history):
        if len(history) >= 9:
            raise al.StopSearch

    first = search(bowl, SPACE, "bayes", budget=14, seed=0, progress=False, n_workers=2, storage=storage,
                   options=options, callbacks=[stop_at_9])
    assert 9 <= len(first) <= 10  # the trial still running when it stopped is kept too
    resumed = search(bowl, SPACE, "bayes", budget=14, seed=0, progress=False, n_workers=2, storage=storage,
                     options=options)
    assert len(resumed) == 14 and len({SPACE.key(t.params) for t in resumed}) == 14
    assert sorted(t.asked for t in resumed) == list(range(14))
    # a sequential resume of the same file replays it just as well
    again = search(bowl, SPACE, "bayes", budget=14, seed=0, progress=False, storage=storage, options=options)
    assert [t.params for t in again] == [t.params for t in resumed]


def test_a_journal_that_contradicts_itself_is_refused(tmp_path):
    storage = tmp_path / "h.jsonl"
    search(bowl, SPACE, "random", budget=4, seed=0, progress=False, storage=storage)
    lines = storage.read_text().splitlines()
    record = json.loads(lines[2])
    record["asked"] = 1  # told twice
    lines[2] = json.dumps(record)
    storage.write_text("\n".join(lines) + "\n")
    with pytest.raises(ValueError, match="contradicts"):
        search(bowl, SPACE, "random", budget=6, seed=0, progress=False, storage=storage)


def test_storage_checks_the_journal_fields(tmp_path):
    from amsearch_lab.storage import check_record

    good = {"number": 0, "params": {}, "status": "ok", "value": 1.0, "asked": 0, "n_asked": 1, "worker": "h:1"}
    check_record(good, 0)
    for bad, match in (({"asked": 1, "n_asked": 1}, "asked=1 must be < n_asked=1"),
                       ({"asked": -1}, "asked=-1"), ({"n_asked": None}, "both null"),
                       ({"worker": 3}, "worker=3")):
        with pytest.raises(ValueError, match=match):
            check_record({**good, **bad}, 0)


class Heavy:
    """An objective holding data: each time it is unpickled (shipped to a process) it logs the pid."""

    def __init__(self, log):
        self.log, self.data = str(log), list(range(100_000))

    def __setstate__(self, state):
        self.__dict__.update(state)
        with open(self.log, "a") as f:
            f.write(f"{os.getpid()}\n")

    def __call__(self, params):
        return params["x"] ** 2 + len(self.data) * 0.0


@pytest.mark.parametrize("executor", ["process", "dask"])
def test_an_objective_with_data_is_shipped_once_per_worker_not_per_trial(executor, tmp_path):
    log = tmp_path / "unpickled"
    h = search(Heavy(log), SPACE, "random", budget=12, seed=0, progress=False, n_workers=2, executor=executor)
    pids = log.read_text().split()
    assert len(h) == 12 and len(pids) == len(set(pids)) <= 2


def test_the_cli_runs_a_parallel_search(tmp_path, capsys):
    from amsearch_lab.cli import main

    storage = tmp_path / "h.jsonl"
    assert main(["search", "--task", "branin", "--budget", "8", "--workers", "2", "--quiet",
                 "--storage", str(storage)]) == 0
    assert len(History.load(storage)) == 8
    assert main(["search", "--workers", "0"]) == 2
    assert "--workers" in capsys.readouterr().err


@pytest.mark.parametrize("strategy", ["sha", "hyperband"])
def test_synchronous_halving_waits_at_its_rungs_in_parallel(strategy):
    options = {"eta": 3, "min_budget": 1, "max_budget": 9, **({"n": 9} if strategy == "sha" else {})}
    h = search(curve, SPACE, strategy, budget=30, seed=0, progress=False, n_workers=2, options=options)
    assert len(h) == 30 and sorted(t.asked for t in h) == list(range(30))
    for t in h:
        if t.rung:  # promoted only once every result of the rung below, in its bracket, was told
            below = [s for s in h if s.bracket == t.bracket and s.rung == t.rung - 1]
            assert all(s.n_asked <= t.asked for s in below)
            best = sorted(below, key=lambda s: (s.value, s.asked))[: math.ceil(len(below) / 3)]
            assert t.config in {s.config for s in best}


# -- what a reviewer broke once ------------------------------------------------------------------------------
TORCH_DRIVER = textwrap.dedent("""
    import torch
    from amsearch_lab.space import Float, Space
    from amsearch_lab.study import search

    def matmul(params):
        a = torch.randn(300, 300)
        return float((a @ a).mean()) * 0 + params["x"]

    if __name__ == "__main__":
        torch.randn(300, 300) @ torch.randn(300, 300)  # the driver's thread pool runs before the fork
        h = search(matmul, Space({"x": Float(0, 1)}), "random", budget=4, seed=0, progress=False, n_workers=2)
        print(len(h))
""")


def test_a_pool_forked_from_a_driver_that_used_torch_does_not_hang(tmp_path):
    script = tmp_path / "driver.py"
    script.write_text(TORCH_DRIVER)
    env = {k: v for k, v in os.environ.items() if k not in ("OMP_NUM_THREADS", "MKL_NUM_THREADS")}
    done = subprocess.run([sys.executable, str(script)], env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and done.stdout.split()[-1] == "4", done.stderr


class Picky(Exception):
    """An exception that pickles but cannot be rebuilt (two required arguments)."""

    def __init__(self, column, why):
        super().__init__(f"column {column}: {why}")


def test_an_exception_that_cannot_travel_back_is_a_failed_trial_with_its_text(tmp_path):
    log = tmp_path / "calls"
    objective = counted(log, lambda: Picky("age", "has NaN"))
    h = search(objective, SPACE, "random", budget=8, seed=0, progress=False, n_workers=2)
    assert len(log.read_text().split()) == 8  # never retried
    failed = [t for t in h if t.params["k"] == 0]
    assert failed and all(not t.ok and "column age: has NaN" in t.error for t in failed)
    with pytest.raises(RuntimeError, match="column age: has NaN"):
        search(objective, SPACE, "random", budget=8, seed=0, progress=False, n_workers=2, catch=False)


@pytest.mark.parametrize("executor", ["process", "dask"])
def test_a_result_that_cannot_travel_back_is_a_failed_trial_that_says_why(executor):
    def objective(params):
        return params["x"], {"batches": (i for i in range(3))} if params["k"] == 0 else {}

    h = search(objective, SPACE, "random", budget=8, seed=0, progress=False, n_workers=2, executor=executor)
    assert len(h) == 8
    for t in h:
        assert t.ok == (t.params["k"] != 0)
        if not t.ok:
            assert "cannot be sent back from the worker" in t.error and "generator" in t.error


def budgetless(params, run):
    """A multi-fidelity objective without a job budget: trains to 10 steps."""
    for step in range(run.start + 1, 11):
        run.report(step, params["x"] / step)


@pytest.mark.parametrize("strategy", ["random", "median"])
def test_resource_budget_holds_for_jobs_without_a_budget(strategy):
    for n_workers in (1, 3):
        h = search(budgetless, SPACE, strategy, budget=50, seed=0, progress=False, n_workers=n_workers,
                   resource_budget=15)
        assert sum(t.resource for t in h) == pytest.approx(15)


class Unloadable:
    """Pickles, but fails to unpickle (as a CUDA tensor would in a process without the GPU)."""

    def __reduce__(self):
        return (_fail_to_load, ())

    def __call__(self, params):
        return 0.0


def _fail_to_load():
    raise RuntimeError("no GPU in this process")


@pytest.mark.parametrize("executor", ["process", "dask"])
def test_an_objective_that_cannot_be_unpickled_on_a_worker_raises_at_once(executor):
    with pytest.raises(Exception, match="no GPU in this process") as caught:
        search(Unloadable(), SPACE, "random", budget=6, seed=0, progress=False, n_workers=2, executor=executor)
    assert len(getattr(caught.value, "history", ())) == 0 or executor == "dask"


def test_an_objective_that_cannot_be_pickled_is_refused_before_any_work(tmp_path):
    import threading

    lock = threading.Lock()

    def objective(params):
        with lock:
            return params["x"]

    storage = tmp_path / "h.jsonl"
    with pytest.raises(ValueError, match=r"objective=.* cannot be sent to worker processes .*n_workers=2.*lock"):
        search(objective, SPACE, budget=4, progress=False, n_workers=2, storage=storage)
    assert not storage.exists()
    with cf.ThreadPoolExecutor(2) as pool:  # threads share the objective: nothing to pickle
        assert len(search(objective, SPACE, budget=4, progress=False, executor=pool)) == 4


def test_an_old_file_resumes_in_parallel_with_its_journal_filled_in(tmp_path):
    storage = tmp_path / "old.jsonl"
    search(bowl, SPACE, "random", budget=5, seed=0, progress=False, storage=storage)
    records = [json.loads(line) for line in storage.read_text().splitlines()]
    storage.write_text("".join(json.dumps({k: v for k, v in r.items() if k not in ("asked", "n_asked", "worker")})
                               + "\n" for r in records))  # as written before these fields existed
    h = search(bowl, SPACE, "random", budget=10, seed=0, progress=False, storage=storage, n_workers=2)
    assert sorted(t.asked for t in h) == list(range(10))
    assert by_ask(h) == by_ask(search(bowl, SPACE, "random", budget=10, seed=0, progress=False))


def test_a_smaller_budget_returns_the_first_asks_the_file_holds_and_runs_nothing(tmp_path):
    storage = tmp_path / "h.jsonl"
    search(bowl, SPACE, "random", budget=12, seed=0, progress=False, storage=storage, n_workers=2)
    text = storage.read_text()
    h = search(bowl, SPACE, "random", budget=5, seed=0, progress=False, storage=storage, n_workers=2)
    assert sorted(t.asked for t in h) == list(range(5))  # asks 0..4, never ask 5 in place of 4
    assert storage.read_text() == text
