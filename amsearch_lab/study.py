"""Trials, their history, and ``search()``: the one loop every strategy runs in.

The loop owns all the plumbing (calling the objective, catching failures, timing, saving,
progress, callbacks). A strategy only answers ``ask()`` with the next ``params`` and learns from
``tell(trial)``; it never calls the objective or touches storage (Optuna's samplers work the
same way).

The generic workflow of the source material, "update -> evaluate -> keep the best -> stop?",
is exactly one pass of the ``while`` loop in ``search``.
"""

from __future__ import annotations

import json
import math
import numbers
import os
import time
import warnings
from collections.abc import Callable, Iterable, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from .space import Space
from .strategies import SearchExhausted, Strategy, get_strategy

__all__ = ["Trial", "History", "search", "StopSearch"]

OK, FAILED = "ok", "failed"


class StopSearch(Exception):
    """Raise from a callback (or a widget's Stop button) to end a search after this trial."""


def _plain(x):
    """numpy scalars -> Python scalars, so params survive JSON and compare equal after a reload."""
    if isinstance(x, np.generic):
        return x.item()
    return x


@dataclass
class Trial:
    """One evaluation of the objective.

    ``status`` is ``"ok"`` when the objective returned a finite number, else ``"failed"``
    with the reason in ``error``. ``start`` is a Unix time in seconds; ``duration`` in seconds.
    """

    number: int
    params: dict
    value: float | None = None
    status: str = OK
    error: str | None = None
    start: float = 0.0
    duration: float = 0.0
    info: dict = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.status == OK

    def to_json(self) -> str:
        record = asdict(self)
        record["params"] = {k: _plain(v) for k, v in self.params.items()}
        return json.dumps(record, allow_nan=False, default=_plain)

    @classmethod
    def from_json(cls, line: str) -> Trial:
        return cls(**json.loads(line))


class History:
    """The trials of one search, in order, optionally mirrored to a JSON Lines file.

    Each finished trial is appended to the file as one line and flushed to disk at once, so a
    crash or a kill loses at most the trial that was running.
    """

    def __init__(self, minimize: bool = True, path: str | os.PathLike | None = None):
        self.minimize = bool(minimize)
        self.path = Path(path) if path is not None else None
        self.trials: list[Trial] = []

    def __len__(self):
        return len(self.trials)

    def __iter__(self):
        return iter(self.trials)

    def __getitem__(self, i):
        return self.trials[i]

    def __repr__(self):
        best = self.best
        shown = "none yet" if best is None else f"{best.value:.6g} (trial {best.number})"
        return f"History({len(self)} trials, {'minimize' if self.minimize else 'maximize'}, best {shown})"

    # -- adding and saving ----------------------------------------------------------------------
    def append(self, trial: Trial) -> None:
        self.trials.append(trial)
        if self.path is not None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with open(self.path, "a", encoding="utf-8") as f:
                f.write(trial.to_json() + "\n")
                f.flush()
                os.fsync(f.fileno())

    def save(self, path: str | os.PathLike) -> Path:
        """Write every trial to ``path`` (JSON Lines, one trial per line), replacing the file."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_text("".join(t.to_json() + "\n" for t in self.trials), encoding="utf-8")
        tmp.replace(path)
        return path

    @classmethod
    def load(cls, path: str | os.PathLike, minimize: bool = True) -> History:
        """Read a JSON Lines history. A torn last line (the process was killed while writing
        it) is skipped with a warning; a bad line anywhere else is an error."""
        path = Path(path)
        history = cls(minimize=minimize)
        lines = path.read_text(encoding="utf-8").splitlines()
        for i, line in enumerate(lines):
            if not line.strip():
                continue
            try:
                history.trials.append(Trial.from_json(line))
            except (json.JSONDecodeError, TypeError) as e:
                if i == len(lines) - 1:
                    warnings.warn(f"{path}: skipping the torn last line {i + 1} ({e})", stacklevel=2)
                else:
                    raise ValueError(f"{path}: line {i + 1} is not a trial record: {e}") from e
        history.path = path
        return history

    # -- questions about the trials ---------------------------------------------------------------
    def _better(self, a: float, b: float) -> bool:
        return a < b if self.minimize else a > b

    @property
    def best(self) -> Trial | None:
        """The best ``ok`` trial (the earliest one on ties), or None when none succeeded."""
        best = None
        for t in self.trials:
            if t.ok and (best is None or self._better(t.value, best.value)):
                best = t
        return best

    def best_so_far(self) -> np.ndarray:
        """Best value after each trial (NaN until the first success): the anytime curve."""
        out, best = np.full(len(self.trials), np.nan), None
        for i, t in enumerate(self.trials):
            if t.ok and (best is None or self._better(t.value, best)):
                best = t.value
            out[i] = np.nan if best is None else best
        return out

    def to_frame(self):
        """A pandas DataFrame: one row per trial, one column per parameter."""
        import pandas as pd

        rows = []
        for t in self.trials:
            row = {"number": t.number, **t.params, "value": t.value, "status": t.status,
                   "error": t.error, "start": t.start, "duration": t.duration}
            rows.append(row)
        return pd.DataFrame(rows)

    def leaderboard(self, k: int = 5):
        """The ``k`` best ``ok`` trials as a DataFrame, best first."""
        frame = self.to_frame()
        if frame.empty:
            return frame
        frame = frame[frame.status == OK]
        return frame.sort_values("value", ascending=self.minimize, kind="stable").head(k)


# -- the loop -------------------------------------------------------------------------------------
def _as_value(raw) -> float:
    """What an objective may return: a real number (numpy and torch scalars included)."""
    if hasattr(raw, "item") and callable(raw.item):
        raw = raw.item()
    if isinstance(raw, bool) or not isinstance(raw, numbers.Real):
        raise TypeError(f"objective returned {raw!r}; it must return a real number")
    return float(raw)


def _make_strategy(strategy, space, seed, minimize, options):
    if isinstance(strategy, Strategy):
        if seed is not None or options:
            raise ValueError("search: pass seed and options to the strategy you built, not to search()")
        return strategy
    if isinstance(strategy, str):
        strategy = get_strategy(strategy)
    if not callable(strategy):
        raise ValueError(f"search: strategy={strategy!r} must be a name, a Strategy class or a Strategy")
    return strategy(space, seed=seed, minimize=minimize, **(options or {}))


def _replay(strategy, history: History) -> None:
    """Feed stored trials back through ask/tell so the strategy is where it would have been."""
    for t in history.trials:
        params = strategy.ask()
        if {k: _plain(v) for k, v in params.items()} != t.params:
            raise ValueError(
                f"search: cannot resume from {history.path}: trial {t.number} was {t.params}, but this "
                f"strategy and seed propose {params}. Use the same strategy, options and seed, or a new file."
            )
        strategy.tell(t)


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

    objective  ``params -> value``; an exception or a NaN/inf value makes a failed trial and the
               search goes on (``catch=False`` re-raises the exception after recording it).
    strategy   a registered name (``"random"``, ``"grid"``, ...), a Strategy class, or a built
               Strategy; ``options`` are passed to its constructor.
    storage    a JSON Lines file; if it already holds trials they are replayed, not re-run, and
               the search continues exactly as an uninterrupted run would have.
    timeout    seconds after which no new trial starts.
    callbacks  each called as ``cb(trial, history)`` after every trial; raise ``StopSearch`` to end.
    Ctrl-C ends the search cleanly; every finished trial is kept.
    """
    # plumbing: check arguments, build the strategy, reload what was already evaluated
    if isinstance(space, Mapping):
        space = Space(space)
    if not isinstance(budget, numbers.Integral) or budget < 0:
        raise ValueError(f"search: budget={budget!r} must be a non-negative integer")
    if timeout is not None and not (isinstance(timeout, numbers.Real) and timeout > 0):
        raise ValueError(f"search: timeout={timeout!r} must be a positive number of seconds")
    strat = _make_strategy(strategy, space, seed, minimize, options)
    history = History(minimize=minimize)
    if storage is not None and Path(storage).exists():
        history = History.load(storage, minimize=minimize)
        _replay(strat, history)
        history.save(storage)  # drops a torn last line, if any
    elif storage is not None:
        history.path = Path(storage)
    callbacks = list(callbacks)
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
            except SearchExhausted:
                break
            space.check(params)
            # 2. evaluate it; any failure is recorded, never lost
            trial = Trial(number=len(history), params={k: _plain(v) for k, v in params.items()})
            trial.start = time.time()
            error = None
            try:
                trial.value = _as_value(objective(dict(params)))
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
            strat.tell(trial)
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
    except KeyboardInterrupt:
        warnings.warn(f"search interrupted after {len(history)} trials; the history is kept", stacklevel=2)
    finally:
        if bar is not None:
            bar.close()
    return history
