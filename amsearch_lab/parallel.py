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
  the trial runs again on another worker; if its worker dies again, it is recorded ``failed``
  with the reason. It never stays running forever;
- on a process pool, a dead worker breaks the whole pool (Python cannot tell which job killed
  it): the driver builds a new pool, and every job that was running becomes a *suspect* that
  runs again alone, one at a time, so a death is blamed only on the job that ran alone; a job
  whose worker dies twice while it runs alone is recorded failed, the others run on;
- on Dask, the scheduler itself re-runs a task whose worker died; a search's own
  ``LocalCluster`` allows it once (``distributed.scheduler.allowed-failures = 1``), after which
  Dask raises ``KilledWorker`` and the trial is recorded failed. A result is released as soon as
  it is told, so a worker dying later never makes the scheduler compute it again;
- an exception or NaN from the objective is the objective's answer, never retried: a failed
  trial, as in the sequential loop. A result that cannot travel back from the worker (an
  ``info`` holding a generator) is a failed trial that says so; an objective that cannot be
  pickled is refused before anything runs (a thread pool shares it, so there it may hold a lock).

A stopping rule (the median rule's ``should_stop``) runs on the worker, beside the objective,
with a copy of the strategy taken when the job started: it compares the job with the results
told by then, not with those that arrive while it runs. With k workers it therefore stops
fewer trials than the sequential rule, later: the price of not sending every report back to
the driver.

The objective travels once per worker, not once per trial: a process pool started here gets it
(pickled by ``cloudpickle``, so a function defined in a notebook works) in each worker's
initializer; on Dask it is a worker plugin, which the scheduler installs on every worker, a
restarted one included (``dask_worker.py``). An objective
that holds its data (MNIST tensors) therefore ships the data once per worker.
"""

from __future__ import annotations

import concurrent.futures as cf
import copy
import itertools
import multiprocessing
import numbers
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
    travel back. A result that cannot travel back to the driver (an ``info`` or a checkpoint
    holding a generator, a lock) makes the trial failed, saying so, instead of breaking the search."""
    trial, run = start_trial(task.job, 0, task.stopper, task.committed, task.resource_budget, task.multi_fidelity,
                             task.start, task.state)
    trial.worker = worker_name()
    trial.start = time.time()
    error = _evaluate(objective, trial, run, storable=task.storable)
    trial.duration = time.time() - trial.start
    checkpoint = None if run is None or run.state is None else (run.last_step, run.state)
    if error is not None and cannot_travel(error):
        error = RuntimeError(f"{type(error).__name__}: {error}")
    problem = cannot_travel((trial, checkpoint))
    if problem:
        trial.status, trial.value, trial.info, checkpoint = FAILED, None, {}, None
        trial.error = (f"its result cannot be sent back from the worker ({problem}): return an info dict and "
                       f"report checkpoints that pickle (tensors, arrays, numbers; no generators or locks)")
    return trial, checkpoint, error


def cannot_travel(thing) -> str | None:
    """Why ``thing`` does not survive a pickle round trip (the way back from a worker), or None
    when it does."""
    try:
        pickle.loads(pickle.dumps(thing))
        return None
    except Exception as e:  # noqa: BLE001 - any failure means it cannot travel
        return f"{type(e).__name__}: {e}"


_OBJECTIVE = None  # a process-pool worker's objective, unpickled once by its initializer
_INSTALL_ERROR = None  # why it could not be, if it could not


def one_torch_thread() -> None:
    """In a worker process: one torch thread, when the driver imported torch. A forked worker must
    not start a thread pool of its own (the parent's OpenMP pool does not survive a fork, and a
    new one can hang); PyTorch's DataLoader workers do the same."""
    if "torch" in sys.modules:
        sys.modules["torch"].set_num_threads(1)


def _install(blob: bytes) -> None:
    """A pool worker's initializer: unpickle the objective once (or keep why it failed)."""
    global _OBJECTIVE, _INSTALL_ERROR
    import cloudpickle

    one_torch_thread()
    try:
        _OBJECTIVE = cloudpickle.loads(blob)
    except Exception as e:  # noqa: BLE001 - reported by every task, not a dead pool
        _INSTALL_ERROR = f"{type(e).__name__}: {e}"


class ObjectiveUnavailable(RuntimeError):
    """The objective could not be unpickled on a worker: a set-up error, not a trial's result."""


def _pool_task(task: Task) -> tuple:
    if _INSTALL_ERROR is not None:
        raise ObjectiveUnavailable(f"search: the objective could not be unpickled on a worker process "
                                   f"({_INSTALL_ERROR})")
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

    def __init__(self, objective, blob: bytes | None, n_workers: int, executor=None):
        self.objective, self.blob, self.n_workers = objective, blob, n_workers
        self.owned = executor is None
        self.executor = self._new_pool() if executor is None else executor
        self.broken = False
        self.pool_of: dict = {}  # handle -> the executor it was submitted to

    def _new_pool(self) -> cf.ProcessPoolExecutor:
        return cf.ProcessPoolExecutor(self.n_workers, mp_context=multiprocessing.get_context(fork_or_spawn()),
                                      initializer=_install, initargs=(self.blob,))

    def submit(self, task: Task):
        if self.broken:  # a dead worker broke the pool: a new one for the resubmitted jobs
            if self.owned:  # one the user passed is theirs to shut down
                self.executor.shutdown(wait=False, cancel_futures=True)
            else:
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

    def __init__(self, blob: bytes, n_workers: int | None, client=None):
        import uuid

        import dask
        from dask.distributed import Client, LocalCluster

        from .dask_worker import ObjectivePlugin

        self.cluster = None
        if client is None:
            # the scheduler re-runs a task whose worker died once, then raises KilledWorker; on
            # Linux the workers are forked, as the process pool's are: they start with the
            # driver (spawned, each would spend seconds importing them again); a worker holds one
            # task at a time (saturation 1), so a worker's death never takes a queued task with it;
            # no statistical profiler sampling the trials' stacks every 10 ms (it slows them)
            with dask.config.set({"distributed.scheduler.allowed-failures": ATTEMPTS - 1,
                                  "distributed.scheduler.worker-saturation": 1.0,
                                  "distributed.worker.multiprocessing-method": fork_or_spawn(),
                                  "distributed.worker.profile.enabled": False}):
                self.cluster = LocalCluster(n_workers=n_workers, threads_per_worker=1, processes=True,
                                            dashboard_address=":0")
                client = Client(self.cluster)
        self.client = client
        self.n_workers = n_workers if n_workers is not None else sum(client.nthreads().values())
        if self.n_workers < 1:
            raise ValueError(f"search: executor={client!r} has no worker threads")
        self.name = f"amsearch-objective-{uuid.uuid4().hex}"
        client.register_plugin(ObjectivePlugin(blob), name=self.name)

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


class BatchBackend:
    """Jobs evaluated together, in this process, by a *batch objective*
    ``objective([params_1, ..., params_k]) -> [value_1, ..., value_k]`` (e.g. k networks trained
    as one stacked model, ``population.BatchTraining``): the driver asks up to ``batch_size``
    jobs, and the first ``wait`` evaluates every job submitted since the last one in one call.
    Each value becomes its trial as a plain objective's would (a NaN fails that trial only); an
    exception fails every trial of the batch. Each trial's ``duration`` is its share of the call."""

    def __init__(self, objective, n_workers: int):
        self.objective, self.n_workers = objective, n_workers
        self.waiting: dict = {}  # handle -> task, submitted but not evaluated
        self.done: dict = {}  # handle -> (trial, None, error)
        self.handles = itertools.count()

    def submit(self, task: Task):
        handle = next(self.handles)
        self.waiting[handle] = task
        return handle

    def wait(self, handles: list) -> set:
        if not any(h in self.done for h in handles):
            self._evaluate_batch()
        return {h for h in handles if h in self.done}

    def _evaluate_batch(self) -> None:
        batch, self.waiting = list(self.waiting.items()), {}
        start = time.time()
        try:
            raws = list(self.objective([dict(task.job.params) for _, task in batch]))
            if len(raws) != len(batch):
                raise ValueError(f"the batch objective returned {len(raws)} values for {len(batch)} params")
            answers = [lambda _params, raw=raw: raw for raw in raws]
        except Exception as e:  # noqa: BLE001 - the whole batch failed: each trial says why
            def fail(_params, e=e):
                raise e
            answers = [fail] * len(batch)
        share = (time.time() - start) / len(batch)
        for (handle, task), answer in zip(batch, answers):
            trial, _ = start_trial(task.job, 0, None, 0, None, multi_fidelity=False)
            error = _evaluate(answer, trial, None, storable=task.storable)
            trial.worker, trial.start, trial.duration = worker_name(), start, share
            self.done[handle] = (trial, None, error)

    def result(self, handle):
        return self.done[handle]

    def release(self, handle) -> None:
        self.done.pop(handle, None)

    def close(self, cancel: bool = False) -> None:
        self.waiting.clear()


class Workers:
    """The checked ``n_workers``, ``executor`` and ``batch_size`` arguments of ``search()`` (plumbing)."""

    def __init__(self, n_workers: int | None, executor):
        self.n_workers, self.executor = n_workers, executor

    @classmethod
    def check(cls, n_workers, executor, batch_size=None) -> Workers | None:
        """The workers of a parallel search, or None for a sequential one (``n_workers`` None or 1
        and no executor). Raises ValueError naming the bad argument."""
        if batch_size is not None:
            if not (isinstance(batch_size, numbers.Integral) and not isinstance(batch_size, bool) and batch_size >= 1):
                raise ValueError(f"search: batch_size={batch_size!r} must be None or an integer >= 1")
            if n_workers is not None or executor is not None:
                raise ValueError(f"search: batch_size={batch_size!r} evaluates batches in this process; it cannot "
                                 f"be combined with n_workers={n_workers!r} or executor={executor!r}")
            return cls(int(batch_size), "batch")
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

    def ship(self, objective) -> None:
        """Pickle ``objective`` for the workers (``cloudpickle``: a notebook's function works), once,
        before anything runs: a ValueError naming it when it cannot be (a lock, an open file, a
        generator inside). A thread pool shares the objective itself."""
        import cloudpickle

        self.objective, self.blob = objective, None
        if isinstance(self.executor, cf.ThreadPoolExecutor) or self.executor == "batch":
            return
        try:
            self.blob = cloudpickle.dumps(objective)
        except Exception as e:  # noqa: BLE001 - whatever pickling raised, the objective is the cause
            raise ValueError(f"search: objective={objective!r} cannot be sent to worker processes "
                             f"(n_workers={self.n_workers}, executor={self.executor!r}): {type(e).__name__}: {e}. "
                             f"Hold only data that pickles (arrays, tensors, numbers), or run it sequentially"
                             ) from None

    def open(self):
        """Start (or connect to) the workers; the objective travels to each of them once."""
        if self.executor == "batch":
            return BatchBackend(self.objective, self.n_workers)
        if self.executor == "process":
            return ProcessBackend(self.objective, self.blob, self.n_workers)
        if self.executor == "dask":
            return DaskBackend(self.blob, self.n_workers)
        if isinstance(self.executor, cf.Executor):
            return ProcessBackend(self.objective, self.blob, self.n_workers, self.executor)
        return DaskBackend(self.blob, self.n_workers, self.executor)


def _need_dask() -> None:
    try:
        import dask.distributed  # noqa: F401
    except ImportError:
        raise ValueError("search: executor='dask' needs Dask: pip install 'amsearch_lab[parallel]'") from None


# -- the driver ------------------------------------------------------------------------------------------
@dataclass
class _Slot:
    """A submitted job (plumbing): its ask index, the job, its task, the times its worker died
    while it ran alone, the resource reserved for it, and whether it runs alone (a suspect)."""

    asked: int
    job: Job
    task: Task
    deaths: int
    reserved: float
    submitted: float
    alone: bool


def run_parallel(objective, space, strat, history: History, budget, timeout, progress, catch, callbacks,
                 multi_fidelity, resource_budget, pending, n_asks, workers: Workers) -> History:
    """The loop of ``study.search`` with several jobs in flight (see the module). Arguments are
    checked and the objective pickled (``Workers.ship``); ``pending`` are ``(ask index, job)``
    pairs replayed from storage but never told: they run first.

    With a ``resource_budget``, each job reserves what it may spend when it starts: up to its
    budget, or, for a job without one, an equal share of what is left among the free workers; it
    is cut where the finished trials' steps plus the running jobs' reservations reach the
    budget, and no job starts once they do.

    A job lost with its worker while others ran (a process pool breaks as a whole, so any of them
    may have killed it) becomes a *suspect*: suspects run again one at a time, with nothing beside
    them, so a worker that dies then died of that job. A job whose worker dies ``ATTEMPTS`` times
    while it runs alone is recorded failed; the others run on."""
    queue = list(pending)
    suspects: list = []  # (asked, job, deaths) lost beside other jobs: rerun alone
    in_flight: dict = {}  # handle -> _Slot
    checkpoints = Checkpoints()
    spent = sum(t.resource for t in history)
    reserved = 0.0  # resource the running jobs may still spend
    stopper = type(strat).should_stop is not Strategy.should_stop  # does the strategy stop trials early?
    storable = history.path is not None
    t0, asking, clean, backend, bar = time.time(), True, False, None, None

    def submit(asked: int, job: Job, deaths: int = 0, alone: bool = False):
        nonlocal reserved
        start, state = checkpoints.lookup(job) if multi_fidelity else (0, None)
        if resource_budget is not None and multi_fidelity and job.budget is None:  # a share of what is left
            reserve = max(resource_budget - spent - reserved, 0.0) / (backend.n_workers - len(in_flight))
            committed = resource_budget - reserve  # the job is cut once it has spent its share
        else:
            reserve = 0.0 if not multi_fidelity or job.budget is None else max(float(job.budget) - start, 0.0)
            committed = spent + reserved
        task = Task(job, start, state, copy.deepcopy(strat) if stopper else None, committed, resource_budget,
                    multi_fidelity, storable)
        reserved += reserve
        in_flight[backend.submit(task)] = _Slot(asked, job, task, deaths, reserve, time.time(), alone)

    def lost(slot: _Slot, e: Lost):
        """A job whose worker died: a suspect to rerun alone, or (dead alone too often) a failed trial."""
        deaths = slot.deaths + slot.alone
        if not e.final and deaths < ATTEMPTS:
            suspects.append((slot.asked, slot.job, deaths))
            return None
        trial, _ = start_trial(slot.job, 0, None, 0, None, multi_fidelity, slot.task.start)
        why = "" if e.final else f"; it died each of the {deaths} times the job ran alone"
        trial.status, trial.error = FAILED, f"lost: {e}{why}"
        trial.start, trial.duration = slot.submitted, time.time() - slot.submitted
        return trial

    try:
        backend = workers.open()
        bar = progress_bar(strat, history, budget, resource_budget, progress)
        while True:
            # 1. fill the free workers: a suspect alone, else the jobs a resume replayed, then new asks
            while asking and len(in_flight) < backend.n_workers and len(history) + len(in_flight) < budget:
                if any(slot.alone for slot in in_flight.values()):
                    break  # a suspect runs with nothing beside it
                if suspects:
                    if not in_flight:
                        submit(*suspects.pop(0), alone=True)
                    break
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
                checkpoint, error = None, None
                try:
                    trial, checkpoint, error = backend.result(handle)
                except Lost as e:  # 3a. its worker died
                    trial = lost(slot, e)
                except Exception as e:  # the workers cannot run the objective at all (set-up, not a trial)
                    _keep_history(e, history, "a worker")
                    raise
                finally:
                    backend.release(handle)
                if trial is None:
                    continue
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
        if backend is not None:
            backend.close(cancel=not clean)
    return history
