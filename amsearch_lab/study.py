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
import time
import warnings
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path

import numpy as np

from .history import History, Trial
from .space import Space
from .storage import FAILED, StorageInUse, check_storable, ensure_writable, lock_storage, same_stored, stored_form
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


def _check_arguments(objective, budget, minimize, timeout, progress, catch, callbacks) -> list:
    """Every plain argument of ``search`` checked up front; returns the callbacks as a list."""
    if not callable(objective):
        raise ValueError(f"search: objective={objective!r} must be a function params -> value")
    if not isinstance(budget, numbers.Integral) or isinstance(budget, bool) or budget < 0:
        raise ValueError(f"search: budget={budget!r} must be a non-negative integer")
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


def _replay(strategy, trials: list[Trial], path) -> None:
    """Feed stored trials back through ask/tell so the strategy is where it would have been.

    Proposals are compared with the file in the form the file stores them (a tuple choice reads
    back as a list) and type-exactly; each stored trial then takes the proposed params, so the
    resumed history holds the same Python values as an uninterrupted one."""
    for t in trials:
        try:
            params = strategy.ask()
        except SearchExhausted:
            raise ValueError(f"search: cannot resume from {path}: the strategy has nothing left to propose at trial "
                             f"{t.number} (a smaller grid or space?). Use the same space, strategy, options "
                             f"and seed, or a new file.") from None
        if not same_stored(stored_form(params), t.params):
            raise ValueError(
                f"search: cannot resume from {path}: trial {t.number} was {t.params}, but this strategy and seed "
                f"propose {stored_form(params)}. Use the same space, strategy, options and seed, or a new file."
            )
        t.params = {k: _plain(v) for k, v in params.items()}
        strategy.tell(t)


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
) -> History:
    """Run ``budget`` evaluations of ``objective`` proposed by ``strategy``; return the History.

    objective  ``params -> value``, or ``params -> (value, info)`` with ``info`` a dict of extra
               outputs kept in ``Trial.info`` (what ``GradientSearch`` reads its gradient from);
               an exception or a NaN/inf value makes a failed trial and the search goes on
               (``catch=False`` re-raises the exception after recording it).
    strategy   a registered name (``"random"``, ``"grid"``, ...), a Strategy class, or a built
               Strategy; ``options`` are passed to its constructor.
    storage    a JSON Lines file, locked for the whole search (a second search on the same file
               raises ``StorageInUse``); if it already holds trials they are checked and replayed,
               not re-run, and the search continues exactly as an uninterrupted run would have.
    timeout    seconds after which no new trial starts.
    callbacks  each called as ``cb(trial, history)`` after every trial; raise ``StopSearch`` to end.

    Every argument is checked before the first evaluation (``ValueError`` naming it). Ctrl-C ends
    the search cleanly; every finished trial is kept. An error raised by the strategy itself
    or a callback propagates with the history attached as its ``.history``.
    """
    # plumbing: check arguments, build the strategy, reload what was already evaluated
    if isinstance(space, Mapping):
        space = Space(space)
    if not isinstance(space, Space):
        raise ValueError(f"search: space={space!r} must be a Space or a dict of name -> dimension")
    callbacks = _check_arguments(objective, budget, minimize, timeout, progress, catch, callbacks)
    strat = _make_strategy(strategy, space, seed, minimize, options)
    history, lock = History(minimize=minimize), None
    if storage is not None:
        history, lock = _open_storage(storage, space, budget, minimize)
    try:
        stored = len(history)
        history.trials = history.trials[:budget]  # a smaller budget: what an uninterrupted run gives; the file keeps all
        _replay(strat, history.trials, history.path)
        if lock is not None and stored < budget:  # trials will be appended: mend a torn or unterminated last line
            text = history.path.read_text(encoding="utf-8")
            if text and not text.endswith("\n"):
                history.save(history.path.resolve())  # the file itself, not a symbolic link to it
        note = strat.budget_note(budget)
        if note is not None:
            warnings.warn(f"search: {note}", stacklevel=2)
        return _run(objective, space, strat, history, budget, timeout, progress, catch, callbacks)
    finally:
        if lock is not None:
            lock.release()


def _run(objective, space, strat, history, budget, timeout, progress, catch, callbacks) -> History:
    """The loop itself: ask, evaluate, keep, tell, stop? (arguments already checked)."""
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=budget, initial=min(len(history), budget), desc=f"{type(strat).__name__}")
    t0 = time.time()

    try:
        while len(history) < budget:
            if timeout is not None and time.time() - t0 > timeout:
                break
            # 1. ask the strategy for the next point
            try:
                params = strat.ask()
                space.check(params)
            except SearchExhausted:
                break
            except Exception as e:
                _keep_history(e, history, "the strategy's ask()")
                raise
            # 2. evaluate it; any failure is recorded, never lost
            trial = Trial(number=len(history), params={k: _plain(v) for k, v in params.items()})
            trial.start = time.time()
            error = None
            try:
                trial.value, trial.info = _as_result(objective(dict(params)), storable=history.path is not None)
                if not math.isfinite(trial.value):
                    trial.status, trial.error = FAILED, f"objective returned {trial.value}"
                    trial.value = None
            except KeyboardInterrupt:
                raise
            except Exception as e:  # noqa: BLE001 - a failing objective is data, not a crash
                trial.status, trial.error, trial.value = FAILED, f"{type(e).__name__}: {e}", None
                error = e
            trial.duration = time.time() - trial.start
            # 3. keep it, and let the strategy learn from it
            history.append(trial)
            try:
                strat.tell(trial)
            except Exception as e:
                _keep_history(e, history, "the strategy's tell()")
                raise
            if bar is not None:
                best = history.best
                bar.set_postfix_str("best=" + ("-" if best is None else f"{best.value:.5g}"), refresh=False)
                bar.update(1)
            if error is not None and not catch:
                raise error
            # 4. stop?
            try:
                for cb in callbacks:
                    cb(trial, history)
            except StopSearch:
                break
            except Exception as e:
                _keep_history(e, history, "a callback")
                raise
    except KeyboardInterrupt:
        warnings.warn(f"search interrupted after {len(history)} trials; the history is kept", stacklevel=3)
    finally:
        if bar is not None:
            bar.close()
    return history
