"""``search()``: the one loop every strategy runs in (its trials and history: ``history.py``).

The loop owns all the plumbing (calling the objective, catching failures, timing, saving,
progress, callbacks). A strategy only answers ``ask()`` with the next ``params`` and learns from
``tell(trial)``; it never calls the objective or touches storage (Optuna's samplers work the
same way).

The generic workflow of the source material, "update -> evaluate -> keep the best -> stop?",
is exactly one pass of the ``while`` loop in ``search``.
"""

from __future__ import annotations

import inspect
import math
import numbers
import os
import socket
import time
import warnings
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path

import numpy as np

from .fidelity import Job, Run, TrialStopped, WaitForTrials
from .history import History, Trial
from .space import Space
from .storage import (
    FAILED,
    STOPPED,
    StorageInUse,
    check_storable,
    ensure_writable,
    lock_storage,
    same_stored,
    stored_form,
)
from .storage import plain as _plain
from .strategies import SearchExhausted, Strategy, get_strategy

__all__ = ["Trial", "History", "search", "StopSearch", "StorageInUse"]


class StopSearch(Exception):
    """Raise from a callback (or a widget's Stop button) to end a search after this trial."""


# -- the loop -------------------------------------------------------------------------------------
def _as_value(raw) -> float:
    """What an objective may return as its value: a real number (numpy and torch scalars included)."""
    if hasattr(raw, "item") and callable(raw.item):
        raw = raw.item()
    if isinstance(raw, bool) or not isinstance(raw, numbers.Real):
        raise TypeError(f"objective returned {raw!r}; it must return a real number")
    return float(raw)


def _as_result(raw, storable: bool) -> tuple[float, dict]:
    """An objective returns ``value`` or ``(value, info)``: ``info`` is a dict of extra outputs
    (a hypergradient, a learning curve) that the trial keeps in ``Trial.info`` for the strategy
    and the history. With storage, ``info`` must survive a JSON round trip."""
    info = {}
    if isinstance(raw, tuple) and len(raw) == 2 and isinstance(raw[1], Mapping):
        raw, info = raw
        if storable:
            try:
                info = stored_form(dict(info))
            except (TypeError, ValueError) as e:
                raise TypeError(f"objective returned info that cannot be stored in a JSON history ({e})") from None
        else:
            info = dict(info)
    return _as_value(raw), info


def takes_run(objective) -> bool:
    """True when ``objective`` is a multi-fidelity objective ``f(params, run)`` (two required
    positional parameters), False for a plain ``f(params)``; a ValueError for anything else."""
    try:
        parameters = list(inspect.signature(objective).parameters.values())
    except (TypeError, ValueError):  # a callable without a signature (some builtins): a plain objective
        return False
    positional = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    required = [p for p in parameters if p.kind in positional and p.default is inspect.Parameter.empty]
    if not any(p.kind in positional or p.kind == inspect.Parameter.VAR_POSITIONAL for p in parameters):
        raise ValueError(f"search: objective={objective!r} takes no positional argument; it must take params "
                         f"(a plain objective) or params and run (a multi-fidelity one)")
    if len(required) > 2 or any(p.kind == inspect.Parameter.KEYWORD_ONLY and p.default is inspect.Parameter.empty
                                for p in parameters):
        raise ValueError(f"search: objective={objective!r} must take params (a plain objective) or params and "
                         f"run (a multi-fidelity one), not {len(required)} required arguments")
    return len(required) == 2


def as_job(proposal) -> Job:
    """What ``ask()`` returned, as a ``Job``: a plain strategy's ``params`` dict becomes a job
    at the objective's full budget."""
    return proposal if isinstance(proposal, Job) else Job(params=proposal)


def _make_strategy(strategy, space, seed, minimize, options):
    """Build the strategy, turning every bad ``strategy``/``seed``/``options`` into a ValueError
    that names it, before anything is evaluated."""
    if isinstance(strategy, Strategy):
        if seed is not None or options:
            raise ValueError("search: pass seed and options to the strategy you built, not to search()")
        if repr(strategy.space) != repr(space):
            raise ValueError(f"search: the strategy was built on {strategy.space!r}, but the search runs on {space!r}")
        return strategy
    if isinstance(strategy, str):
        strategy = get_strategy(strategy)
    if not (isinstance(strategy, type) and issubclass(strategy, Strategy)):
        raise ValueError(f"search: strategy={strategy!r} must be a name, a Strategy class or a Strategy")
    if seed is not None and not (isinstance(seed, numbers.Integral) and not isinstance(seed, bool) and seed >= 0):
        raise ValueError(f"search: seed={seed!r} must be None or an integer >= 0")
    if options is None:
        options = {}
    if not isinstance(options, Mapping):
        raise ValueError(f"search: options={options!r} must be a dict of the strategy's options, e.g. {{'n': 5}}")
    accepted = [name for name in inspect.signature(strategy).parameters if name not in ("space", "seed", "minimize")]
    unknown = [name for name in options if name not in accepted]
    if unknown:
        raise ValueError(f"search: options={dict(options)!r}: {strategy.__name__} has no option {unknown[0]!r}; "
                         f"its options are {accepted}")
    try:
        return strategy(space, seed=seed, minimize=minimize, **options)
    except TypeError as e:  # a wrong type that the constructor did not check itself
        blamed = f"options={dict(options)!r} rejected by " if options else ""
        raise ValueError(f"search: {blamed}{strategy.__name__}: {e}") from None


def _check_arguments(objective, budget, minimize, timeout, progress, catch, callbacks, resource_budget) -> list:
    """Every plain argument of ``search`` checked up front; returns the callbacks as a list."""
    if not callable(objective):
        raise ValueError(f"search: objective={objective!r} must be a function params -> value")
    if not isinstance(budget, numbers.Integral) or isinstance(budget, bool) or budget < 0:
        raise ValueError(f"search: budget={budget!r} must be a non-negative integer")
    if resource_budget is not None and not (isinstance(resource_budget, numbers.Real)
                                            and not isinstance(resource_budget, bool) and 0 < resource_budget < math.inf):
        raise ValueError(f"search: resource_budget={resource_budget!r} must be None or a positive number "
                         f"(epochs, ...)")
    if timeout is not None and not (isinstance(timeout, numbers.Real) and not isinstance(timeout, bool)
                                    and 0 < timeout < math.inf):
        raise ValueError(f"search: timeout={timeout!r} must be a positive number of seconds")
    for name, flag in (("minimize", minimize), ("progress", progress), ("catch", catch)):
        if not isinstance(flag, (bool, np.bool_)):
            raise ValueError(f"search: {name}={flag!r} must be True or False")
    if callable(callbacks) or isinstance(callbacks, (str, bytes)) or not isinstance(callbacks, Iterable):
        raise ValueError(f"search: callbacks={callbacks!r} must be a list of functions cb(trial, history)")
    callbacks = list(callbacks)
    for cb in callbacks:
        if not callable(cb):
            raise ValueError(f"search: callbacks holds {cb!r}, which is not a function cb(trial, history)")
    return callbacks


def _replay(strategy, trials: list[Trial], path) -> tuple[list[tuple[int, Job]], int]:
    """Feed stored trials back through ask/tell so the strategy is where it would have been.

    The file is a journal (``Trial.asked``, ``Trial.n_asked``): before telling a trial, ``ask()``
    is called until ``n_asked`` jobs are out, so a parallel search's asks and tells interleave
    again exactly as they did (a file without these fields is a sequential one: ``asked`` =
    ``number``). Each proposal is compared with the trial asked at that place, in the form the
    file stores it (a tuple choice reads back as a list) and type-exactly; the trial then takes
    the proposed params, so the resumed history holds the same Python values as an uninterrupted
    one. Returns the jobs asked but never told (running when the search stopped) as
    ``(ask index, job)`` pairs, to be run first, and the number of asks made."""
    jobs: list[Job] = []  # every job asked so far, by ask index
    told: set[int] = set()

    def refuse(why: str):
        return ValueError(f"search: cannot resume from {path}: {why}. Use the same space, strategy, options and "
                          f"seed, or a new file.")

    for t in trials:
        asked, n_asked = journal(t)
        if asked in told or n_asked < len(jobs) or asked >= n_asked:
            raise ValueError(f"search: cannot resume from {path}: trial {t.number} (asked={t.asked}, "
                             f"n_asked={t.n_asked}) contradicts the trials before it; the file was edited?")
        while len(jobs) < n_asked:
            try:
                jobs.append(as_job(strategy.ask()))
            except SearchExhausted:
                raise refuse(f"the strategy has nothing left to propose at ask {len(jobs)} (a smaller grid or "
                             f"space?)") from None
            except WaitForTrials:
                raise refuse(f"the strategy waits for results at ask {len(jobs)}, where the file says it "
                             f"proposed a job") from None
        job = jobs[asked]
        params = job.params
        proposed = (stored_form(params), job.budget, job.config, job.bracket, job.rung)
        if not (same_stored(proposed[0], t.params) and proposed[1:] == (t.budget, t.config, t.bracket, t.rung)):
            raise refuse(f"trial {t.number} was {t.params} at budget {t.budget}, but this strategy and seed "
                         f"propose {proposed[0]} at budget {job.budget}")
        t.params = {k: _plain(v) for k, v in params.items()}
        t.asked, t.n_asked = asked, n_asked  # a file written before these fields: filled in
        strategy.tell(t)
        told.add(asked)
    return [(i, job) for i, job in enumerate(jobs) if i not in told], len(jobs)


def journal(t: Trial) -> tuple[int, int]:
    """``(asked, n_asked)`` of a stored trial; a file written before these fields is a sequential
    one: ``(number, number + 1)``."""
    asked = t.number if t.asked is None else t.asked
    return asked, asked + 1 if t.n_asked is None else t.n_asked


def _open_storage(storage, space, budget, minimize) -> tuple[History, object]:
    """Lock the storage file and load what it holds (every trial, checked)."""
    if not isinstance(storage, (str, os.PathLike)) or not str(storage):
        raise ValueError(f"search: storage={storage!r} must be a file path or None")
    path = Path(storage)
    check_storable(space)
    ensure_writable(path)

    def load() -> History:
        try:
            return History.load(path, minimize=minimize)
        except ValueError as e:
            raise ValueError(f"search: storage={str(path)!r} is not a trial history this search can resume: {e}") from None

    with warnings.catch_warnings():  # a first look, before the lock file is made beside a file that is no history
        warnings.simplefilter("ignore")
        load()
    lock = lock_storage(path)
    try:
        history = load()  # again, now that no other search can write it
    except BaseException:
        lock.release()
        raise
    return history, lock


def _keep_history(e: Exception, history: History, where: str) -> None:
    """Attach the history to an error raised by the strategy or a callback, so no evaluation is
    lost with it."""
    e.history = history
    if hasattr(e, "add_note"):  # Python >= 3.11
        e.add_note(f"search: {where} raised after {len(history)} trials; they are kept in "
                   f"this exception's .history" + (f" and in {history.path}" if history.path else ""))


def search(
    objective: Callable[[dict], float],
    space: Space | Mapping,
    strategy="random",
    budget: int = 20,
    seed: int | None = None,
    storage: str | os.PathLike | None = None,
    minimize: bool = True,
    timeout: float | None = None,
    progress: bool = True,
    catch: bool = True,
    callbacks: Iterable[Callable[[Trial, History], None]] = (),
    options: Mapping | None = None,
    resource_budget: float | None = None,
    n_workers: int | None = None,
    executor=None,
    batch_size: int | None = None,
) -> History:
    """Run ``budget`` evaluations of ``objective`` proposed by ``strategy``; return the History.

    objective  ``params -> value``, or ``params -> (value, info)`` with ``info`` a dict of extra
               outputs kept in ``Trial.info`` (what ``GradientSearch`` reads its gradient from);
               an exception or a NaN/inf value makes a failed trial and the search goes on
               (``catch=False`` re-raises the exception after recording it). A multi-fidelity
               objective ``(params, run) -> value`` trains up to ``run.budget`` and reports its
               learning curve with ``run.report(step, value, state=checkpoint)``
               (``fidelity.py``); it may return None to mean its last reported value.
    strategy   a registered name (``"random"``, ``"grid"``, ...), a Strategy class, or a built
               Strategy; ``options`` are passed to its constructor.
    storage    a JSON Lines file, locked for the whole search (a second search on the same file
               raises ``StorageInUse``); if it already holds trials they are checked and replayed,
               not re-run, and the search continues exactly as an uninterrupted run would have.
               A parallel search's file is replayed in the order of its asks and tells
               (``Trial.asked``, ``Trial.n_asked``); jobs that were running when it stopped run
               again first. (After the resume, a strategy whose proposals depend on the order
               results arrive, as BO's and ASHA's do, goes on from the replayed state, not
               necessarily as the interrupted run would have: that order is not reproducible.)
    timeout    seconds after which no new trial starts.
    callbacks  each called as ``cb(trial, history)`` after every trial; raise ``StopSearch`` to end.
    resource_budget  the total resource (epochs, ...) the search may spend, summed over its
               trials (``Trial.resource``): no trial starts once it is spent, and a multi-fidelity
               trial is stopped at the step that spends it (status ``stopped``), unless that is
               the last step of its job's budget. ``budget`` still caps the number of trials.
    n_workers  how many trials run at once (default 1, or the executor's worker count); with
               more than one the search runs in parallel (``parallel.py``): the strategy is asked
               for the next job while others still run, and results are kept in the order they
               arrive.
    executor   where parallel trials run: None or ``"process"`` (a process pool of ``n_workers``
               started for this search), ``"dask"`` (a Dask ``LocalCluster`` of ``n_workers``
               processes started for this search), a ``dask.distributed.Client`` (a running
               cluster, e.g. ``Client("tcp://scheduler:8786")``) or a ``concurrent.futures``
               executor; one you pass is used, not shut down.
    batch_size with a *batch objective* ``[params, ...] -> [value, ...]``: the strategy is asked
               for ``batch_size`` jobs at a time and one call evaluates them all, in this process
               (k networks trained as one stacked model: ``population.BatchTraining``). Trials
               are kept and told in the order they were asked, as in a parallel search
               (``parallel.BatchBackend``); not with ``n_workers``, ``executor`` or a
               multi-fidelity objective.

    Multi-fidelity: a strategy's ``ask()`` may return a ``fidelity.Job`` (params, budget and the
    configuration's id). Each job is one trial. The loop keeps, in memory, the last ``state`` each
    configuration reported and hands it to that configuration's next job (``run.state``,
    ``run.start``), so a promoted configuration continues rather than starts over; the trial's
    ``start_step`` and ``resource`` record which. After each report the loop asks the strategy's
    ``should_stop(trial)``; a stopped trial keeps its curve and is told to the strategy like any
    other.

    Every argument is checked before the first evaluation (``ValueError`` naming it). Ctrl-C ends
    the search cleanly; every finished trial is kept. An error raised by the strategy itself
    or a callback propagates with the history attached as its ``.history``.
    """
    # plumbing: check arguments, build the strategy, reload what was already evaluated
    if isinstance(space, Mapping):
        space = Space(space)
    if not isinstance(space, Space):
        raise ValueError(f"search: space={space!r} must be a Space or a dict of name -> dimension")
    callbacks = _check_arguments(objective, budget, minimize, timeout, progress, catch, callbacks, resource_budget)
    multi_fidelity = takes_run(objective)
    strat = _make_strategy(strategy, space, seed, minimize, options)
    from .parallel import Workers  # plumbing of a parallel search (imports no cluster library)

    workers = Workers.check(n_workers, executor, batch_size)
    if batch_size is not None and multi_fidelity:
        raise ValueError(f"search: batch_size={batch_size!r} needs a batch objective [params, ...] -> [value, ...], "
                         f"not the multi-fidelity objective {objective!r}")
    if workers is not None:
        workers.ship(objective)
    history, lock = History(minimize=minimize), None
    if storage is not None:
        history, lock = _open_storage(storage, space, budget, minimize)
    try:
        stored = len(history)
        if stored >= budget:  # the file holds the budget already: nothing runs, nothing is written
            history.trials = [t for t in history.trials if journal(t)[0] < budget][:budget]  # the first asks
            _replay(strat, history.trials, history.path)
            return history
        pending, n_asks = _replay(strat, history.trials, history.path)
        if lock is not None and stored < budget:  # trials will be appended: mend a torn or unterminated last line
            text = history.path.read_text(encoding="utf-8")
            if text and not text.endswith("\n"):
                history.save(history.path.resolve())  # the file itself, not a symbolic link to it
        note = strat.budget_note(budget)
        if note is not None:
            warnings.warn(f"search: {note}", stacklevel=2)
        if workers is not None:
            from .parallel import run_parallel

            return run_parallel(objective, space, strat, history, budget, timeout, progress, catch, callbacks,
                                multi_fidelity, resource_budget, pending, n_asks, workers)
        return _run(objective, space, strat, history, budget, timeout, progress, catch, callbacks,
                    multi_fidelity, resource_budget, pending, n_asks)
    finally:
        if lock is not None:
            lock.release()


def start_trial(job: Job, number: int, strategy: Strategy | None, spent: float, resource_budget,
                multi_fidelity=True, start=0, state=None):
    """The trial of ``job`` (number ``number``) and, for a multi-fidelity objective, the ``Run``
    it trains with, continuing the checkpoint ``state`` saved at step ``start``. After each report
    the run stops the job when ``resource_budget`` (``spent`` before it) is reached at a step that
    is not the job's last, or when ``strategy.should_stop(trial)`` says so (``strategy`` None:
    never). Returns ``(trial, run)``, ``run`` None for a plain objective."""
    trial = Trial(number=number, params={k: _plain(v) for k, v in job.params.items()},
                  budget=job.budget, config=job.config, bracket=job.bracket, rung=job.rung)
    if not multi_fidelity:
        return trial, None
    trial.start_step = start
    run = Run(trial.params, budget=job.budget, start=start, state=state)
    run.curve = trial.curve  # the trial's curve fills as the objective reports

    def should_stop(step, value):
        done = job.budget is not None and step >= job.budget  # the job's last step: let it finish
        if resource_budget is not None and spent + (step - start) >= resource_budget and not done:
            return f"the search's resource_budget={resource_budget} is spent"
        if strategy is not None and strategy.should_stop(trial):
            return f"stopped by {type(strategy).__name__} at step {step}"
        return None

    run._should_stop = should_stop
    return trial, run


class Checkpoints:
    """Plumbing of a multi-fidelity search: what each configuration's last job left, ``config ->
    (step, state)`` in memory, and how the next job starts from it. ``search()`` uses it, and so
    do ``parallel.py`` and ``simulate.simulate_workers``, so all start, stop and continue jobs alike."""

    def __init__(self):
        self.saved: dict = {}

    def lookup(self, job: Job) -> tuple:
        """``(start, state)`` the job continues from: its configuration's checkpoint, or ``(0,
        None)`` when there is none or it is already at or past the job's budget."""
        start, state = self.saved.get(job.config, (0, None))
        if job.budget is not None and start >= job.budget:  # nothing to continue: start over
            return 0, None
        return start, state

    def start(self, job: Job, number: int, strategy: Strategy, spent: float, resource_budget, multi_fidelity=True):
        """``start_trial`` for ``job``, continuing its configuration's checkpoint."""
        start, state = self.lookup(job) if multi_fidelity else (0, None)
        return start_trial(job, number, strategy, spent, resource_budget, multi_fidelity, start, state)

    def keep(self, config, run: Run | None) -> None:
        """Keep the state ``run`` ended with as ``config``'s checkpoint (nothing for a plain objective)."""
        if run is not None:
            self.keep_state(config, run.last_step, run.state)

    def keep_state(self, config, step, state) -> None:
        """Keep ``state``, trained to ``step``, as ``config``'s checkpoint (nothing if either is None)."""
        if state is not None and config is not None:
            self.saved[config] = (step, state)

    def forget(self, strategy: Strategy) -> None:
        """Drop the checkpoints of the configurations ``strategy`` will never train again."""
        for config in [c for c in self.saved if not strategy.may_continue(c)]:
            del self.saved[config]


def _evaluate(objective, trial: Trial, run: Run | None, storable: bool) -> Exception | None:
    """Call the objective for ``trial`` and fill in its outcome: ok, failed or stopped. Returns
    the objective's exception (to re-raise when ``catch=False``), else None."""
    try:
        raw = objective(dict(trial.params)) if run is None else objective(dict(trial.params), run)
        if run is not None and raw is None and run.curve:  # "my value is the last one I reported"
            raw = math.nan if run.curve[-1][1] is None else run.curve[-1][1]
        trial.value, trial.info = _as_result(raw, storable=storable)
        if not math.isfinite(trial.value):
            trial.status, trial.error = FAILED, f"objective returned {trial.value}"
            trial.value = None
    except KeyboardInterrupt:
        raise
    except TrialStopped as e:  # the strategy (or the resource budget) stopped it: keep its curve
        finite = [v for _, v in trial.curve if v is not None]
        trial.status, trial.value = STOPPED, (finite[-1] if finite else None)
        trial.error = run.stopped if run is not None and run.stopped else f"the objective stopped itself: {e}"
    except Exception as e:  # noqa: BLE001 - a failing objective is data, not a crash
        trial.status, trial.error, trial.value = FAILED, f"{type(e).__name__}: {e}", None
        return e
    return None


def progress_bar(strat, history, budget, resource_budget, progress):
    """Plumbing: the tqdm bar of a search (trials, or steps with a resource budget), or None."""
    if not progress:
        return None
    from tqdm.auto import tqdm

    spent = sum(t.resource for t in history)
    total, done = (budget, len(history)) if resource_budget is None else (resource_budget, spent)
    return tqdm(total=total, initial=min(done, total), desc=f"{type(strat).__name__}",
                unit="trial" if resource_budget is None else "step")


def record(trial: Trial, history: History, strat: Strategy, checkpoints: Checkpoints, bar, callbacks,
           resource_budget) -> bool:
    """Steps 3 and 4 of the loop, for every loop: keep the finished ``trial`` (its ``number`` is its
    place in the history), tell the strategy, update the bar, call the callbacks. Returns True
    when a callback raised ``StopSearch``; an error of the strategy or a callback propagates with
    the history attached."""
    trial.number = len(history)
    history.append(trial)
    try:
        strat.tell(trial)
    except Exception as e:
        _keep_history(e, history, "the strategy's tell()")
        raise
    checkpoints.forget(strat)
    if bar is not None:
        best = history.best
        bar.set_postfix_str("best=" + ("-" if best is None else f"{best.value:.5g}"), refresh=False)
        bar.update(1 if resource_budget is None else min(trial.resource, resource_budget - bar.n))
    try:
        for cb in callbacks:
            cb(trial, history)
    except StopSearch:
        return True
    except Exception as e:
        _keep_history(e, history, "a callback")
        raise
    return False


def ask_job(strat: Strategy, space: Space, history: History) -> Job:
    """Plumbing: ``strat.ask()`` as a checked ``Job``. ``SearchExhausted`` and ``WaitForTrials``
    pass through; any other error gets the history attached."""
    try:
        job = as_job(strat.ask())
        space.check(job.params)
        return job
    except (SearchExhausted, WaitForTrials):
        raise
    except Exception as e:
        _keep_history(e, history, "the strategy's ask()")
        raise


def worker_name() -> str:
    """The process that runs a trial, as a worker: ``host:pid``."""
    return f"{socket.gethostname()}:{os.getpid()}"


def _run(objective, space, strat, history, budget, timeout, progress, catch, callbacks, multi_fidelity=False,
         resource_budget=None, pending=(), n_asks=None) -> History:
    """The loop itself: ask, evaluate, keep, tell, stop? (arguments already checked). ``pending``
    are jobs asked before a resume and never told (``_replay``): they run first."""
    pending = list(pending)
    n_asks = len(history) if n_asks is None else n_asks  # jobs the strategy has proposed so far
    spent = sum(t.resource for t in history)  # resource spent so far (the trials of a resumed search too)
    bar = progress_bar(strat, history, budget, resource_budget, progress)
    t0 = time.time()
    checkpoints = Checkpoints()

    try:
        while len(history) < budget and (resource_budget is None or spent < resource_budget):
            if timeout is not None and time.time() - t0 > timeout:
                break
            # 1. ask the strategy for the next job (a params dict, or a multi-fidelity Job)
            if pending:
                asked, job = pending.pop(0)
            else:
                try:
                    job = ask_job(strat, space, history)
                except SearchExhausted:
                    break
                except WaitForTrials as e:  # a sequential loop has told every trial: the strategy is stuck
                    e = RuntimeError(f"{type(strat).__name__}.ask() waits for running trials, but none is running: {e}")
                    _keep_history(e, history, "the strategy's ask()")
                    raise e from None
                asked, n_asks = n_asks, n_asks + 1
            # 2. evaluate it, continuing the configuration's checkpoint if there is one; any
            #    failure is recorded, never lost
            trial, run = checkpoints.start(job, len(history), strat, spent, resource_budget, multi_fidelity)
            trial.asked, trial.n_asked, trial.worker = asked, n_asks, worker_name()
            trial.start = time.time()
            error = _evaluate(objective, trial, run, storable=history.path is not None)
            trial.duration = time.time() - trial.start
            spent += trial.resource
            checkpoints.keep(job.config, run)
            # 3. keep it, and let the strategy learn from it; 4. stop?
            stop = record(trial, history, strat, checkpoints, bar, callbacks, resource_budget)
            if error is not None and not catch:
                raise error
            if stop:
                break
    except KeyboardInterrupt:
        warnings.warn(f"search interrupted after {len(history)} trials; the history is kept", stacklevel=3)
    finally:
        if bar is not None:
            bar.close()
    return history
