"""The storage of a search: one JSON Lines file, one trial record per line, one writer at a time.

Plumbing for ``study.py``, kept apart so the loop stays short. Three promises:

- **One writer.** A search holds an exclusive lock on ``<file>.lock`` (``filelock``, an OS lock
  that dies with its process, so a ``kill -9`` never leaves a stale lock) from the moment it
  opens the file until it returns; a second search on the same file fails at once with
  ``StorageInUse`` instead of interleaving its lines with the first one's.
- **Every record is checked on load.** Fields, types, ``number`` equal to the line's position,
  ``status`` one of ``ok``/``failed``/``stopped``, an ``ok`` trial has a finite value. Only a last line that
  lacks its newline can be a torn write (the process died while writing it); any other bad line
  is an error, never silently dropped.
- **Values are compared in their stored form.** JSON turns a tuple into a list and cannot tell a
  numpy scalar from a Python one; ``stored_form`` is what a value becomes after a round trip
  through the file, and ``same_stored`` compares two such forms type-exactly (``1``, ``1.0`` and
  ``True`` are different values of a ``Choice``).
"""

from __future__ import annotations

import json
import math
import numbers
import os
from collections.abc import Mapping
from pathlib import Path

import numpy as np
from filelock import FileLock, Timeout

__all__ = ["StorageInUse", "lock_storage", "stored_form", "same_stored", "check_storable", "check_record"]

OK, FAILED, STOPPED = "ok", "failed", "stopped"


class StorageInUse(RuntimeError):
    """Another search (in this or another process) holds the lock on the storage file."""


def lock_storage(path: Path) -> FileLock:
    """Take the exclusive lock of ``path`` (the file ``<path>.lock`` beside the file it names once
    symbolic links are followed, so two names of one file share one lock) or raise
    ``StorageInUse`` at once. The caller releases it with ``lock.release()``. (Two hard links
    to one file are two names the lock cannot tell apart; don't write a history through both.)"""
    lock = FileLock(str(Path(path).resolve()) + ".lock", timeout=0)
    try:
        lock.acquire()
    except Timeout:
        raise StorageInUse(
            f"storage {str(path)!r} is in use by another search (it holds {str(path)!r}.lock); wait for it to "
            f"finish or use another file") from None
    return lock


# -- values as the file stores them ----------------------------------------------------------------
def plain(x):
    """numpy scalars -> Python scalars (``np.int64(3)`` -> ``3``), the form JSON can write."""
    if isinstance(x, np.generic):
        return x.item()
    return x


def json_default(x):
    """``json.dumps`` hook: numpy scalars become Python ones; anything else JSON cannot hold
    raises ``TypeError`` naming its type."""
    if isinstance(x, np.generic):
        return x.item()
    raise TypeError(f"{type(x).__name__} {x!r} is not JSON serializable")


def stored_form(value):
    """What ``value`` reads back as after a JSON round trip (tuples become lists, numpy scalars
    Python ones). Raises ``TypeError``/``ValueError`` when JSON cannot store it at all."""
    return json.loads(json.dumps(value, allow_nan=False, default=json_default))


def same_stored(a, b) -> bool:
    """Type-exact equality of two stored forms: ``1 != 1.0 != True`` here, unlike ``==``."""
    if type(a) is not type(b):
        return False
    if isinstance(a, list):
        return len(a) == len(b) and all(same_stored(x, y) for x, y in zip(a, b))
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(same_stored(a[k], b[k]) for k in a)
    return a == b


def check_storable(space) -> None:
    """Raise ``ValueError`` naming the parameter when a value of ``space`` cannot be written to a
    JSON Lines history, or when two of its choices would read back as the same value (``(1, 2)``
    and ``[1, 2]``); checked before the first evaluation, not after it."""
    for name, dim in space.dimensions.items():
        seen = []
        for value in getattr(dim, "choices", ()):
            try:
                form = stored_form(value)
            except (TypeError, ValueError) as e:
                raise ValueError(
                    f"Choice '{name}': the value {value!r} cannot be stored in a JSON history ({e}); use names "
                    f"(strings) as choices and map them to objects in the objective, or run without storage"
                ) from None
            if any(same_stored(form, s) for s in seen):
                raise ValueError(f"Choice '{name}': two choices are stored as the same value {form!r}; "
                                 f"a resumed search could not tell them apart")
            seen.append(form)


# -- one record ---------------------------------------------------------------------------------------
FIELDS = {"number", "params", "value", "status", "error", "start", "duration", "info",
          "budget", "config", "bracket", "rung", "start_step", "curve", "asked", "n_asked", "worker"}


def _is_real(x) -> bool:
    return isinstance(x, numbers.Real) and not isinstance(x, bool)


def check_record(record, position: int) -> None:
    """Raise ``ValueError`` saying what is wrong when ``record`` (a parsed JSON line) is not the
    trial at ``position`` (0-based) of a history."""
    if not isinstance(record, Mapping):
        raise ValueError(f"a trial record must be a JSON object, not {record!r}")
    missing, unknown = {"number", "params", "status"} - set(record), set(record) - FIELDS
    if missing or unknown:
        raise ValueError(f"fields missing {sorted(missing)} / unknown {sorted(unknown)}; a trial has {sorted(FIELDS)}")
    number, status, value = record["number"], record["status"], record.get("value")
    if not (isinstance(number, int) and not isinstance(number, bool)) or number != position:
        raise ValueError(f"number={number!r}, but this is trial {position} of the file")
    if not isinstance(record["params"], dict):
        raise ValueError(f"params={record['params']!r} must be an object")
    if status not in (OK, FAILED, STOPPED):
        raise ValueError(f"status={status!r} must be {OK!r}, {FAILED!r} or {STOPPED!r}")
    if status == OK and not (_is_real(value) and math.isfinite(value)):
        raise ValueError(f"value={value!r} of an ok trial must be a finite number")
    if status == FAILED and value is not None:
        raise ValueError(f"value={value!r} of a failed trial must be null")
    if record.get("error") is not None and not isinstance(record["error"], str):
        raise ValueError(f"error={record['error']!r} must be a string or null")
    for key in ("start", "duration"):
        if key in record and not (_is_real(record[key]) and math.isfinite(record[key]) and record[key] >= 0):
            raise ValueError(f"{key}={record[key]!r} must be a finite number >= 0 (seconds)")
    if status == STOPPED and not (value is None or (_is_real(value) and math.isfinite(value))):
        raise ValueError(f"value={value!r} of a stopped trial must be a finite number or null")
    if not isinstance(record.get("info", {}), dict):
        raise ValueError(f"info={record['info']!r} must be an object")
    _check_fidelity(record)
    _check_journal(record)


def _check_journal(record) -> None:
    """The parallel fields of a record: ``asked`` < ``n_asked`` (a job is told after it was
    asked), ``worker`` a string; all may be null (a file written before they existed)."""
    asked, n_asked, worker = record.get("asked"), record.get("n_asked"), record.get("worker")
    for key, v in (("asked", asked), ("n_asked", n_asked)):
        if v is not None and not (isinstance(v, int) and not isinstance(v, bool) and v >= 0):
            raise ValueError(f"{key}={v!r} must be an integer >= 0 or null")
    if (asked is None) != (n_asked is None):
        raise ValueError(f"asked={asked!r} and n_asked={n_asked!r} must be both null or both integers")
    if asked is not None and asked >= n_asked:
        raise ValueError(f"asked={asked!r} must be < n_asked={n_asked!r} (a job is told after it was asked)")
    if worker is not None and not isinstance(worker, str):
        raise ValueError(f"worker={worker!r} must be a string or null")


def _check_fidelity(record) -> None:
    """The multi-fidelity fields of a record (absent in a plain search's file)."""
    budget = record.get("budget")
    if budget is not None and not (_is_real(budget) and math.isfinite(budget) and budget > 0):
        raise ValueError(f"budget={budget!r} must be a positive number or null")
    for key in ("config", "bracket", "rung"):
        v = record.get(key)
        if v is not None and not (isinstance(v, int) and not isinstance(v, bool) and v >= 0):
            raise ValueError(f"{key}={v!r} must be an integer >= 0 or null")
    start_step = record.get("start_step", 0)
    if not (_is_real(start_step) and math.isfinite(start_step) and start_step >= 0):
        raise ValueError(f"start_step={start_step!r} must be a finite number >= 0")
    curve = record.get("curve", [])
    if not isinstance(curve, list):
        raise ValueError(f"curve={curve!r} must be a list of [step, value] pairs")
    for point in curve:
        if not (isinstance(point, list) and len(point) == 2 and _is_real(point[0]) and math.isfinite(point[0])
                and (point[1] is None or (_is_real(point[1]) and math.isfinite(point[1])))):
            raise ValueError(f"curve point {point!r} must be [step, value] with a finite step and a finite value or null")


RECORD_START = '{"number": '  # how every line that ``Trial.to_json`` writes begins


def read_records(path: Path) -> tuple[list[dict], str | None]:
    """Parse and check every line of ``path``. Returns the records and, when the last line lacks
    its newline, does not parse or check, and begins as a record does (a write cut short by a
    kill), a note on that torn line, which is left out; any other bad line raises ``ValueError``
    naming it, so a file that is not a history is never taken for one and rewritten."""
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as e:
        raise ValueError(f"{path}: not a trial history (not UTF-8 text: {e.reason} at byte {e.start})") from None
    lines = text.split("\n")  # the piece after the last newline is "" unless the last write was torn
    records, torn = [], None
    for i, line in enumerate(lines):
        last = i == len(lines) - 1
        if not line.strip():
            if not last:
                raise ValueError(f"{path}: line {i + 1} is blank; a history has one trial per line")
            continue
        try:
            record = json.loads(line)
        except ValueError as e:  # json.JSONDecodeError is a ValueError
            # a write cut short: the last line, no newline, and the beginning of a record
            if last and (line.startswith(RECORD_START) or RECORD_START.startswith(line)):
                torn = f"skipping the torn last line {i + 1} ({e})"
                continue
            raise ValueError(f"{path}: line {i + 1} is not a valid trial record: {e}") from None
        try:  # a complete JSON line is never a torn write: it must be a valid record
            check_record(record, len(records))
        except ValueError as e:
            raise ValueError(f"{path}: line {i + 1} is not a valid trial record: {e}") from None
        records.append(record)
    return records, torn


def ensure_writable(path: Path) -> None:
    """Raise ``ValueError`` naming ``storage`` when ``path`` is a folder, not a regular file (a
    device, a pipe) or cannot be written."""
    if "\0" in str(path):
        raise ValueError(f"search: storage={str(path)!r} holds a NUL character, which no file name can")
    if path.is_dir():
        raise ValueError(f"search: storage={str(path)!r} is a folder; give a file name such as 'runs/search.jsonl'")
    if path.exists() and not path.is_file():
        raise ValueError(f"search: storage={str(path)!r} is not a regular file (a device or a pipe?)")
    too_long = [part for part in path.parts if len(os.fsencode(part)) > 255]  # NAME_MAX, before any folder is made
    if too_long:
        raise ValueError(f"search: storage={str(path)!r} has a name longer than 255 bytes ({too_long[0][:20]}...)")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "a", encoding="utf-8"):
            pass
    except OSError as e:
        raise ValueError(f"search: storage={str(path)!r} cannot be written ({e.strerror})") from None
    if not os.access(path, os.W_OK):
        raise ValueError(f"search: storage={str(path)!r} cannot be written (permission denied)")
