"""A search's record: ``Trial`` (one evaluation) and ``History`` (the trials in order, optionally
mirrored to a JSON Lines file, whose format and checks live in ``storage.py``)."""

from __future__ import annotations

import json
import os
import warnings
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from .fidelity import resource_of
from .storage import OK, json_default, read_records
from .storage import plain as _plain

__all__ = ["Trial", "History"]


@dataclass
class Trial:
    """One evaluation of the objective.

    ``status`` is ``"ok"`` when the objective returned a finite number, ``"failed"`` with the
    reason in ``error`` when it raised or returned NaN/inf, and ``"stopped"`` when a
    multi-fidelity strategy stopped it early (``value`` is then its last finite reported value,
    or None; the reason is in ``error``). ``start`` is a Unix time in seconds; ``duration`` in
    seconds.

    Multi-fidelity fields (``fidelity.py``; None/empty for a plain search): ``budget`` the
    resource the trial was asked to train to, ``config`` the configuration's id (shared by every
    job of one configuration), ``bracket`` and ``rung`` its place in the strategy's schedule,
    ``start_step`` the step it continued from (0: trained from scratch), ``curve`` the
    ``[step, value]`` pairs it reported (a NaN value is stored as None).

    Parallel fields (``parallel.py``): ``number`` is the trial's place in the history, the order
    results arrived; ``asked`` is its place in the order the strategy proposed the jobs (0 = the
    first ``ask()``), ``n_asked`` how many jobs the strategy had proposed when this result was
    told, ``worker`` which worker ran it. In a sequential search ``asked == number`` and
    ``n_asked == number + 1``. Together they are the search's journal: replaying ``ask()`` until
    ``n_asked`` jobs are out, then telling the trial, repeats the strategy's exact course (what
    was known at each ask: the trials told before it). None in files written before them.
    """

    number: int
    params: dict
    value: float | None = None
    status: str = OK
    error: str | None = None
    start: float = 0.0
    duration: float = 0.0
    info: dict = field(default_factory=dict)
    budget: float | None = None
    config: int | None = None
    bracket: int | None = None
    rung: int | None = None
    start_step: float = 0
    curve: list = field(default_factory=list)
    asked: int | None = None
    n_asked: int | None = None
    worker: str | None = None

    @property
    def ok(self) -> bool:
        return self.status == OK

    @property
    def resource(self) -> float:
        """The resource this trial spent (``fidelity.resource_of``): last reported step (or budget)
        minus the step it continued from."""
        return resource_of(self)

    def to_json(self) -> str:
        record = asdict(self)
        record["params"] = {k: _plain(v) for k, v in self.params.items()}
        return json.dumps(record, allow_nan=False, default=json_default)


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
        line = None if self.path is None else trial.to_json() + "\n"  # fails before touching the file
        self.trials.append(trial)
        if self.path is not None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with open(self.path, "a", encoding="utf-8") as f:
                f.write(line)
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
        """Read a JSON Lines history, checking every record (``storage.check_record``).

        Only a last line without its newline can be a torn write (the process was killed while
        writing it): it is skipped with a warning. Any other bad line raises ``ValueError``
        naming it; nothing is dropped silently."""
        path = Path(path)
        history = cls(minimize=minimize)
        records, torn = read_records(path)
        if torn is not None:
            warnings.warn(f"{path}: {torn}", stacklevel=2)
        history.trials = [Trial(**record) for record in records]
        history.path = path
        return history

    # -- questions about the trials ---------------------------------------------------------------
    def _better(self, a: float, b: float) -> bool:
        return a < b if self.minimize else a > b

    @property
    def best(self) -> Trial | None:
        """The best ``ok`` trial (the earliest one on ties), or None when none succeeded. In a
        multi-fidelity search this mixes budgets; ``best_at(budget)`` compares like with like."""
        best = None
        for t in self.trials:
            if t.ok and (best is None or self._better(t.value, best.value)):
                best = t
        return best

    def best_at(self, budget) -> Trial | None:
        """The best ``ok`` trial trained to ``budget`` (its last reported step, or its budget when
        it reported none, equals ``budget``); the earliest on ties; None when there is none. In a
        multi-fidelity search, values at different budgets are not comparable: choose with this."""
        best = None
        for t in self.trials:
            reached = t.curve[-1][0] if t.curve else t.budget
            if t.ok and reached == budget and (best is None or self._better(t.value, best.value)):
                best = t
        return best

    def resource_curve(self, budget) -> tuple[np.ndarray, np.ndarray]:
        """The anytime curve of a multi-fidelity search: after each trial, the resource spent so far
        (cumulative ``Trial.resource``) and the best value among trials trained to ``budget``
        (NaN until the first one). Two arrays of shape (n_trials,)."""
        spent = np.cumsum([t.resource for t in self.trials])
        out, best = np.full(len(self.trials), np.nan), None
        for i, t in enumerate(self.trials):
            reached = t.curve[-1][0] if t.curve else t.budget
            if t.ok and reached == budget and (best is None or self._better(t.value, best)):
                best = t.value
            out[i] = np.nan if best is None else best
        return spent, out

    def best_so_far(self) -> np.ndarray:
        """Best value after each trial (NaN until the first success): the anytime curve."""
        out, best = np.full(len(self.trials), np.nan), None
        for i, t in enumerate(self.trials):
            if t.ok and (best is None or self._better(t.value, best)):
                best = t.value
            out[i] = np.nan if best is None else best
        return out

    def to_frame(self):
        """A pandas DataFrame: one row per trial, one column per parameter; a multi-fidelity search
        adds budget, config, bracket, rung, start_step and resource; a parallel one (results not
        in the order they were asked) adds worker and asked."""
        import pandas as pd

        multi_fidelity = any(t.budget is not None or t.curve for t in self.trials)
        parallel = any(t.asked is not None and t.asked != t.number for t in self.trials)
        rows = []
        for t in self.trials:
            row = {"number": t.number, **t.params, "value": t.value, "status": t.status,
                   "error": t.error, "start": t.start, "duration": t.duration}
            if multi_fidelity:
                row.update(budget=t.budget, config=t.config, bracket=t.bracket, rung=t.rung,
                           start_step=t.start_step, resource=t.resource)
            if parallel:
                row.update(worker=t.worker, asked=t.asked)
            rows.append(row)
        return pd.DataFrame(rows)

    def leaderboard(self, k: int = 5):
        """The ``k`` best ``ok`` trials as a DataFrame, best first."""
        frame = self.to_frame()
        if frame.empty:
            return frame
        frame = frame[frame.status == OK]
        return frame.sort_values("value", ascending=self.minimize, kind="stable").head(k)
