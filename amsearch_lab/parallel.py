"""Parallel search: ``search(..., n_workers=k)`` keeps k trials running at once, on a process pool
or a Dask cluster, with the same strategies, history, storage and resume as the sequential loop.

Why this is not just "run k trials at once": a strategy learns from results, and in parallel it
must propose the next job while k - 1 others are still running (*pending* trials). Each strategy
says how it copes: random and grid search need nothing; the genetic algorithm breeds a generation
and evaluates it in parallel; regularized evolution and ASHA are asynchronous by design; Bayesian
optimization treats pending points as if they had returned a made-up value (the *constant liar*,
Ginsbourger, Le Riche & Carraro 2010, "Kriging is well-suited to parallelize optimization"), so it
never proposes a running point again; a strategy that cannot go on until a result is in (a
synchronous rung of successive halving, a greedy sweep, a gradient step) raises
``fidelity.WaitForTrials`` and the driver waits for the next result.

The driver (this module's ``run_parallel``, called by ``study.search``):

1. while a worker is free and the budget allows, ``ask()`` the strategy and submit the job;
2. wait for the first job to finish; keep the trial (its ``number`` is its place in the order
   results arrive), ``tell`` the strategy, call the callbacks; back to 1.

Only the driver writes the storage file. Each trial records ``asked`` (its place in the order of
asks) and ``n_asked`` (how many jobs had been asked when it was told), so a resume replays the
asks and tells in their original order (``study._replay``) and reaches exactly the same state,
even for strategies whose proposals depend on the order results came back (BO, ASHA,
evolution). Jobs that were running when the driver died were asked but never told: the resume
asks them again, gets the same jobs, and runs them first. A seeded random, grid or genetic
search therefore evaluates exactly the configurations of the sequential run with the same
seed, whatever the completion order; a BO or ASHA run depends on that order, and is exact only
as a resume of its own file.

Faults:

- a worker that dies mid-trial (a process killed, a machine lost) is not the objective's fault:
  the trial runs again on another worker, once; if that worker dies too, it is recorded
  ``failed`` with the reason. It never stays running forever;
- on a process pool, a dead worker breaks the whole pool (Python cannot tell which job killed
  it): the driver builds a new pool and resubmits every job that was running; each such job
  counts that as one of its two attempts;
- on Dask, the scheduler itself re-runs a task whose worker died; a search's own
  ``LocalCluster`` allows it once (``distributed.scheduler.allowed-failures = 1``), after which
  Dask raises ``KilledWorker`` and the trial is recorded failed. A result is released as soon as
  it is told, so a worker dying later never makes the scheduler compute it again;
- an exception or NaN from the objective is the objective's answer, never retried: a failed
  trial, as in the sequential loop.

The objective travels once per worker, not once per trial: a process pool started here gets it
(pickled by ``cloudpickle``, so a function defined in a notebook works) in each worker's
initializer; on Dask it is a worker plugin, which the scheduler installs on every worker, a
restarted one included (``dask_worker.py``). An objective
that holds its data (MNIST tensors) therefore ships the data once per worker.
"""

from __future__ import annotations

import concurrent.futures as cf
import copy
import multiprocessing
import numbers
import os
import pickle
import sys
import time
import warnings
from dataclasses import dataclass

from .fidelity import Job, WaitForTrials
from .history import History
from .storage import FAILED
from .strategies import SearchExhausted, Strategy
from .study import Checkpoints, _evaluate, _keep_history, ask_job, progress_bar, record, start_trial, worker_name

__all__ = ["Workers", "run_parallel", "run_task", "ATTEMPTS"]

ATTEMPTS = 2  # a trial whose worker dies runs once more; a second death records it failed


# -- what a worker does ----------------------------------------------------------------------------------
@dataclass
class Task:
    """One job as a worker receives it (plumbing): the job, the checkpoint it continues
    (``start``, ``state``), a copy of the strategy when it has a stopping rule (``stopper``: it
    decides with what was known when the job was submitted), and the resource already committed."""

    job: Job
    start: float
    state: object
    stopper: Strategy | None
    committed: float
    resource_budget: float | None
    multi_fidelity: bool
    storable: bool


def run_task(objective, task: Task) -> tuple:
    """Evaluate ``task`` with ``objective`` on this worker (the same ``_evaluate`` as the sequential
    loop). Returns ``(trial, checkpoint, error)``: ``checkpoint`` is ``(step, state)`` the job
    ended with (None for a plain objective), ``error`` the objective's exception when it raised
    (to re-raise with ``catch=False``), replaced by a RuntimeError with its text when it cannot
    be pickled back."""
    trial, run = start_trial(task.job, 0, task.stopper, task.committed, task.resource_budget, task.multi_fidelity,
                             task.start, task.state)
    trial.worker = worker_name()
    trial.start = time.time()
    error = _evaluate(objective, trial, run, storable=task.storable)
    trial.duration = time.time() - trial.start
    checkpoint = None if run is None or run.state is None else (run.last_step, run.state)
    if error is not None:
        try:
            pickle.dumps(error)
        except Exception:  # noqa: BLE001 - any pickling failure: send its text instead
            error = RuntimeError(f"{type(error).__name__}: {error}")
    return trial, checkpoint, error


_OBJECTIVE = None  # a process-pool worker's objective, unpickled once by its initializer


def _install(blob: bytes, threads: int) -> None:
    """A pool worker's initializer: unpickle the objective once, and give torch (when the driver
    imported it) ``threads`` threads, its share of the cores, so k workers do not oversubscribe."""
    global _OBJECTIVE
    import cloudpickle

    if "torch" in sys.modules:
        sys.modules["torch"].set_num_threads(threads)
    _OBJECTIVE = cloudpickle.loads(blob)


def _pool_task(task: Task) -> tuple:
    return run_task(_OBJECTIVE, task)


def _shipped_task(blob: bytes, task: Task) -> tuple:
    """For an executor the user built (no initializer of ours): the objective travels with the task."""
    import cloudpickle

    return run_task(cloudpickle.loads(blob), task)


def fork_or_spawn() -> str:
    """How worker processes start: ``"fork"`` on Linux, where it is safe and cheap (a worker starts
    with the driver's imports, as PyTorch's DataLoader workers do), ``"spawn"`` elsewhere (macOS,
    Windows), where a worker imports everything afresh."""
    return "fork" if sys.platform.startswith("linux") else "spawn"


# -- where the workers are -----------------------------------------------------------------------------
class Lost(Exception):
    """The worker running a job died (plumbing: the backend's answer, never the objective's).
    ``final``: the backend has retried it already (Dask's scheduler), so the driver does not."""

    def __init__(self, message: str, final: bool = False):
        super().__init__(message)
        self.final = final


class ProcessBackend:
    """Jobs on a ``concurrent.futures`` executor: a process pool of our own (rebuilt when a dead
    worker breaks it), or the user's executor."""

    def __init__(self, objective, n_workers: int, executor=None):
        import cloudpickle

        self.objective, self.n_workers = objective, n_workers
        self.blob = cloudpickle.dumps(objective)
        self.owned = executor is None
        self.executor = self._new_pool() if executor is None else executor
        self.broken = False
        self.pool_of: dict = {}  # handle -> the executor it was submitted to

    def _new_pool(self) -> cf.ProcessPoolExecutor:
        return cf.ProcessPoolExecutor(self.n_workers, mp_context=multiprocessing.get_context(fork_or_spawn()),
                                      initializer=_install,
                                      initargs=(self.blob, max(1, (os.cpu_count() or 1) // self.n_workers)))

    def submit(self, task: Task):
        if self.broken:  # a dead worker broke the pool: a new one for the resubmitted jobs
            self.executor.shutdown(wait=False, cancel_futures=True)
            if not self.owned:
                warnings.warn("search: the executor you passed broke (a worker died); the search goes on with a "
                              "process pool of its own", stacklevel=2)
            self.executor, self.owned, self.broken = self._new_pool(), True, False
        if self.owned:
            handle = self.executor.submit(_pool_task, task)
        elif isinstance(self.executor, cf.ThreadPoolExecutor):  # same process: nothing to ship
            handle = self.executor.submit(run_task, self.objective, task)
        else:
            handle = self.executor.submit(_shipped_task, self.blob, task)
        self.pool_of[handle] = self.executor
        return handle

    def wait(self, handles: list) -> set:
        return cf.wait(handles, return_when=cf.FIRST_COMPLETED).done

    def result(self, handle):
        try:
            return handle.result()
        except cf.process.BrokenProcessPool as e:
            self.broken = self.broken or self.pool_of[handle] is self.executor  # not a pool replaced already
            raise Lost(f"its worker process died ({e})") from None

    def release(self, handle) -> None:
        del self.pool_of[handle]

    def close(self, cancel: bool = False) -> None:
        if self.owned:
            self.executor.shutdown(wait=not cancel, cancel_futures=cancel)


class DaskBackend:
    """Jobs on a Dask cluster: a ``LocalCluster`` of our own, or the user's ``Client``. The
    objective is a worker plugin (``dask_worker.py``): every worker, a restarted one too, gets it once."""

    def __init__(self, objective, n_workers: int | None, client=None):
        import uuid

        import cloudpickle
        import dask
        from dask.distributed import Client, LocalCluster

        from .dask_worker import ObjectivePlugin

        self.cluster = None
        if client is None:
            # the scheduler re-runs a task whose worker died once, then raises KilledWorker; on
            # Linux the workers are forked, as the process pool's are: they start with the
            # driver's imports (spawned, each would spend seconds importing them again)
            with dask.config.set({"distributed.scheduler.allowed-failures": ATTEMPTS - 1,
                                  "distributed.worker.multiprocessing-method": fork_or_spawn()}):
                self.cluster = LocalCluster(n_workers=n_workers, threads_per_worker=1, processes=True,
                                            dashboard_address=":0")
                client = Client(self.cluster)
        self.client = client
        self.n_workers = n_workers if n_workers is not None else sum(client.nthreads().values())
        if self.n_workers < 1:
            raise ValueError(f"search: executor={client!r} has no worker threads")
        self.name = f"amsearch-objective-{uuid.uuid4().hex}"
        client.register_plugin(ObjectivePlugin(cloudpickle.dumps(objective)), name=self.name)

    def submit(self, task: Task):
        from .dask_worker import run_on_worker

        return self.client.submit(run_on_worker, self.name, task, pure=False)

    def wait(self, handles: list) -> set:
        from dask.distributed import wait

        return wait(handles, return_when="FIRST_COMPLETED").done

    def result(self, handle):
        from distributed.scheduler import KilledWorker

        try:
            return handle.result()
        except KilledWorker as e:  # the scheduler has already re-run it on another worker
            raise Lost(f"its worker died, every time it ran (Dask KilledWorker: {e})", final=True) from None

    def release(self, handle) -> None:
        handle.release()  # told: if its worker dies now, the scheduler must not compute it again

    def close(self, cancel: bool = False) -> None:
        if self.cluster is not None:
            self.client.close()
            self.cluster.close()
        else:
            self.client.unregister_worker_plugin(self.name)


class Workers:
    """The checked ``n_workers`` and ``executor`` arguments of ``search()`` (plumbing)."""

    def __init__(self, n_workers: int | None, executor):
        self.n_workers, self.executor = n_workers, executor

    @classmethod
    def check(cls, n_workers, executor) -> Workers | None:
        """The workers of a parallel search, or None for a sequential one (``n_workers`` None or 1
        and no executor). Raises ValueError naming the bad argument."""
        if n_workers is not None and not (isinstance(n_workers, numbers.Integral)
                                          and not isinstance(n_workers, bool) and n_workers >= 1):
            raise ValueError(f"search: n_workers={n_workers!r} must be None or an integer >= 1")
        if executor is None:
            return None if n_workers in (None, 1) else cls(int(n_workers), "process")
        if isinstance(executor, str):
            if executor not in ("process", "dask"):
                raise ValueError(f"search: executor={executor!r} must be 'process', 'dask', a "
                                 f"dask.distributed.Client or a concurrent.futures executor")
            if executor == "dask":
                _need_dask()
            return cls(2 if n_workers is None else int(n_workers), executor)
        if isinstance(executor, cf.Executor):
            size = getattr(executor, "_max_workers", None)
            return cls(int(n_workers or size or 1), executor)
        if type(executor).__name__ == "Client" and type(executor).__module__.startswith("distributed"):
            return cls(None if n_workers is None else int(n_workers), executor)
        raise ValueError(f"search: executor={executor!r} must be 'process', 'dask', a dask.distributed.Client "
                         f"or a concurrent.futures executor")

    def open(self, objective):
        if self.executor == "process":
            return ProcessBackend(objective, self.n_workers)
        if self.executor == "dask":
            return DaskBackend(objective, self.n_workers)
        if isinstance(self.executor, cf.Executor):
            return ProcessBackend(objective, self.n_workers, self.executor)
        return DaskBackend(objective, self.n_workers, self.executor)


def _need_dask() -> None:
    try:
        import dask.distributed  # noqa: F401
    except ImportError:
        raise ValueError("search: executor='dask' needs Dask: pip install 'amsearch_lab[parallel]'") from None


# -- the driver ------------------------------------------------------------------------------------------
@dataclass
class _Slot:
    """A submitted job (plumbing): its ask index, the job, its task, attempts so far, resource reserved."""

    asked: int
    job: Job
    task: Task
    attempts: int
    reserved: float
    submitted: float


def _reserve(job: Job, start: float, multi_fidelity: bool) -> float:
    """The resource a running job may still spend: up to its budget (0 when it has none)."""
    if not multi_fidelity or job.budget is None:
        return 0.0
    return max(float(job.budget) - start, 0.0)


def run_parallel(objective, space, strat, history: History, budget, timeout, progress, catch, callbacks,
                 multi_fidelity, resource_budget, pending, n_asks, workers: Workers) -> History:
    """The loop of ``study.search`` with several jobs in flight (see the module). Arguments are
    checked; ``pending`` are ``(ask index, job)`` pairs replayed from storage but never told:
    they run first. With a ``resource_budget``, a job is cut where the steps of the finished
    trials plus the budgets reserved by the running ones reach it, and no job starts once they do."""
    backend = workers.open(objective)
    queue = list(pending)
    in_flight: dict = {}  # handle -> _Slot
    checkpoints = Checkpoints()
    spent = sum(t.resource for t in history)
    reserved = 0.0  # resource the running jobs may still spend
    stopper = type(strat).should_stop is not Strategy.should_stop  # does the strategy stop trials early?
    storable = history.path is not None
    bar = progress_bar(strat, history, budget, resource_budget, progress)
    t0, asking, clean = time.time(), True, False

    def submit(asked: int, job: Job, attempts: int = 1):
        nonlocal reserved
        start, state = checkpoints.lookup(job) if multi_fidelity else (0, None)
        task = Task(job, start, state, copy.deepcopy(strat) if stopper else None, spent + reserved,
                    resource_budget, multi_fidelity, storable)
        slot = _Slot(asked, job, task, attempts, _reserve(job, start, multi_fidelity), time.time())
        reserved += slot.reserved
        in_flight[backend.submit(task)] = slot

    try:
        while True:
            # 1. fill the free workers: first the jobs a resume replayed, then new asks
            while asking and len(in_flight) < backend.n_workers and len(history) + len(in_flight) < budget:
                if timeout is not None and time.time() - t0 > timeout:
                    asking = False
                    break
                if resource_budget is not None and spent + reserved >= resource_budget:
                    break
                if queue:
                    submit(*queue.pop(0))
                    continue
                try:
                    job = ask_job(strat, space, history)
                except SearchExhausted:
                    asking = False
                    break
                except WaitForTrials as e:  # the strategy needs a result first
                    if not in_flight:
                        e = RuntimeError(f"{type(strat).__name__}.ask() waits for running trials, but none is "
                                         f"running: {e}")
                        _keep_history(e, history, "the strategy's ask()")
                        raise e from None
                    break
                submit(n_asks, job)
                n_asks += 1
            if not in_flight:
                break
            # 2. the first jobs to finish (in the order they were asked, when several have)
            done = sorted(backend.wait(list(in_flight)), key=lambda h: in_flight[h].asked)
            for handle in done:
                slot = in_flight.pop(handle)
                reserved -= slot.reserved
                try:
                    trial, checkpoint, error = backend.result(handle)
                except Lost as e:
                    backend.release(handle)
                    if not e.final and slot.attempts < ATTEMPTS:  # 3a. its worker died: once more, elsewhere
                        submit(slot.asked, slot.job, slot.attempts + 1)
                        continue
                    trial, _ = start_trial(slot.job, 0, None, 0, None, multi_fidelity, slot.task.start)
                    tries = ATTEMPTS if e.final else slot.attempts
                    trial.status, trial.error = FAILED, f"lost: {e}; it ran {tries} times"
                    trial.start, trial.duration = slot.submitted, time.time() - slot.submitted
                    checkpoint, error = None, None
                else:
                    backend.release(handle)
                spent += trial.resource
                if checkpoint is not None:
                    checkpoints.keep_state(slot.job.config, *checkpoint)
                trial.asked, trial.n_asked = slot.asked, n_asks
                # 3. keep it, and let the strategy learn from it; 4. stop?
                if record(trial, history, strat, checkpoints, bar, callbacks, resource_budget):
                    asking = False
                if error is not None and not catch:
                    raise error
        clean = True
    except KeyboardInterrupt:
        warnings.warn(f"search interrupted after {len(history)} trials ({len(in_flight)} running were dropped); "
                      f"the history is kept", stacklevel=3)
    finally:
        if bar is not None:
            bar.close()
        backend.close(cancel=not clean)
    return history
