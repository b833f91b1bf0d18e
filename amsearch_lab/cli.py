"""The headless command line: ``amsearch-lab search | pbt | tasks | strategies``.

    amsearch-lab search --task iris --strategy random --budget 30 --seed 0
    amsearch-lab pbt --population 8 --epochs 8 --interval 2 --limit 10000
    amsearch-lab tasks
    amsearch-lab strategies

Every argument is checked before anything is evaluated or any file is touched; a bad one ends
the command with exit status 2 and one line, ``amsearch-lab: error: ...``, naming the flag and
its value.
"""

from __future__ import annotations

import argparse
import inspect
import json
import math
import os
import re
import sys
import time
import warnings
from pathlib import Path

from .storage import lock_storage
from .strategies import STRATEGIES, get_strategy
from .study import History, StorageInUse, search
from .tasks import TASKS, get_task

# the constructor arguments the CLI sets itself; --options may set only the others
_SET_BY_CLI = ("self", "space", "seed", "minimize")


class UsageError(Exception):
    """A bad command line: reported as one line, exit status 2."""


class _Parser(argparse.ArgumentParser):
    """argparse, but its errors end in the same one line as ours, not in a usage dump."""

    def error(self, message):
        raise UsageError(message)


# -- argument types: each names the flag and the value it refuses --------------------------------
def _int_at_least(low: int):
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not an integer") from None
        if value < low:
            raise argparse.ArgumentTypeError(f"{text!r} must be >= {low}")
        return value

    return parse


def _positive_seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from None
    if not (math.isfinite(value) and value > 0):
        raise argparse.ArgumentTypeError(f"{text!r} must be a positive number of seconds")
    return value


# -- plumbing: printing ---------------------------------------------------------------------------
def _first_doc_line(obj) -> str:
    return (obj.__doc__ or "").strip().splitlines()[0] if obj.__doc__ else ""


def _one_line_warning(message, category, filename, lineno, file=None, line=None):
    """Show a library warning as one line in the CLI's terms, without the source line."""
    print(f"amsearch-lab: warning: {message}", file=sys.stderr)


def _blackbox_names() -> list[str]:
    """The strategies the CLI runs: black-box ones for the built-in tasks, which are plain
    objectives (a multi-fidelity strategy needs an objective that trains to a budget)."""
    return [name for name, cls in STRATEGIES.items()
            if getattr(cls, "blackbox", True) is not False and not getattr(cls, "multi_fidelity", False)]


MULTI_FIDELITY_NOTE = ("needs a multi-fidelity objective f(params, run) that trains to a budget, which no built-in "
                       "task is; see `python -m amsearch_lab.bench mf` and lesson 13")


def _cmd_tasks(_args) -> int:
    for name, task in TASKS.items():
        direction = "minimize" if task.minimize else "maximize"
        print(f"{name:12s} {direction:9s} {task.description}")
    return 0


def _cmd_strategies(_args) -> int:
    for name, cls in STRATEGIES.items():
        line = f"{name:10s} {cls.__name__:22s} {_first_doc_line(cls)}"
        if getattr(cls, "blackbox", True) is False:
            line += " [not here: needs a differentiable objective, which no built-in task is; see amsearch_lab.hypergrad]"
        elif getattr(cls, "multi_fidelity", False):
            line += f" [not here: {MULTI_FIDELITY_NOTE}]"
        print(line)
    return 0


# -- search: check everything, then run ------------------------------------------------------------
def _build_strategy(args, space, minimize: bool):
    """The strategy the search will run, built from --strategy and --options, or a UsageError."""
    try:
        cls = get_strategy(args.strategy)
    except ValueError as e:
        raise UsageError(f"--strategy: {e}") from None
    if getattr(cls, "blackbox", True) is False:
        raise UsageError(
            f"--strategy {args.strategy} needs a differentiable objective (one that returns its "
            f"hypergradient with its value) and every built-in task is a black box; run it from Python on "
            f"amsearch_lab.hypergrad.regression_hypergrad_task() (lesson 06), or choose one of: "
            f"{', '.join(_blackbox_names())}")
    if getattr(cls, "multi_fidelity", False):
        raise UsageError(f"--strategy {args.strategy} {MULTI_FIDELITY_NOTE}; or choose one of: "
                         f"{', '.join(_blackbox_names())}")
    options = {}
    if args.options is not None:
        try:
            options = json.loads(args.options)
        except json.JSONDecodeError as e:
            raise UsageError(f"--options {args.options!r} is not JSON ({e}); "
                             "pass a JSON object such as '{\"n\": 5}'") from None
        if not isinstance(options, dict):
            raise UsageError(f"--options {args.options!r} must be a JSON object such as '{{\"n\": 5}}'")
    accepted = [p for p in inspect.signature(cls).parameters if p not in _SET_BY_CLI]
    unknown = [key for key in options if key not in accepted]
    if unknown:
        raise UsageError(f"--options {args.options!r}: {args.strategy} has no option {unknown[0]!r}; "
                         f"its options are: {', '.join(accepted) or '(none)'}")
    try:
        return cls(space, seed=args.seed, minimize=minimize, **options)
    except (ValueError, TypeError) as e:
        raise UsageError(f"--options {args.options!r}: {e}") from None


def _check_storage(storage: Path, resume: bool) -> None:
    """A UsageError unless the search can write ``storage`` and, for a fresh run, may replace it."""
    if storage.is_dir():
        raise UsageError(f"--storage {storage} is a directory; give a file path such as {storage / 'run.jsonl'}")
    if storage.exists() and not storage.is_file():
        raise UsageError(f"--storage {storage} is not a regular file (a device or a pipe?); choose another path")
    folder = storage.parent
    while not folder.exists():  # the search creates missing folders; the nearest existing one decides
        folder = folder.parent
    if not folder.is_dir() or not os.access(folder, os.W_OK | os.X_OK):
        raise UsageError(f"--storage {storage}: cannot write in {folder}; choose another path")
    if not storage.exists():
        return
    # a history: every line is a trial record, except that --resume drops a torn last line (a
    # kill cut the write short) after at least one record; search() rewrites the file without it
    try:
        with warnings.catch_warnings(record=True) as torn:  # History.load warns of a torn last line
            warnings.simplefilter("always")
            history = History.load(storage)
        is_history = not torn or (resume and len(history) > 0)
    except (ValueError, OSError):
        is_history = False
    if not is_history:
        raise UsageError(f"--storage {storage} exists and is not a trial history; choose another path or remove it")


def _cmd_search(args) -> int:
    # 1. check every argument; nothing has been evaluated or written yet
    try:
        task = get_task(args.task)
    except ValueError as e:
        raise UsageError(f"--task: {e}") from None
    space = task.space
    strategy = _build_strategy(args, space, task.minimize)
    if args.storage == "":
        raise UsageError("--storage '': give a file path, or leave the flag out for the default under runs/")
    storage = Path(args.storage) if args.storage else Path("runs") / f"{args.task}-{args.strategy}-seed{args.seed}.jsonl"
    _check_storage(storage, args.resume)
    note = strategy.budget_note(args.budget)
    if note is not None:  # said once, here; the same warning from search() is silenced below
        print(f"amsearch-lab: note: {note} (on the command line: --options '{{\"shuffle\": true}}')", file=sys.stderr)
    # 2. run
    t0 = time.time()
    try:
        if storage.exists() and not args.resume:  # a fresh run over an old history (checked above)
            lock = lock_storage(storage)  # never remove a history that another search is writing
            old = len(History.load(storage))
            if old:  # an empty file is left in place: the search writes into it
                storage.unlink()
            lock.release()
            if old:
                print(f"amsearch-lab: note: replacing the {old} trials of {storage} (--resume continues them instead)",
                      file=sys.stderr)
        with warnings.catch_warnings():
            warnings.showwarning = _one_line_warning
            if note is not None:  # the note above says it in the CLI's terms
                warnings.filterwarnings("ignore", message=re.escape(f"search: {note}"))
            history = search(task.objective, space, strategy, budget=args.budget, storage=storage,
                             minimize=task.minimize, timeout=args.timeout, progress=not args.quiet,
                             n_workers=args.workers, executor=None if args.workers == 1 else args.executor)
    except (ValueError, OSError, StorageInUse) as e:  # --resume over another run's file; a busy or unwritable file
        raise UsageError(f"--storage {storage}: {e}") from None
    elapsed = time.time() - t0
    # 3. report
    failed = sum(not t.ok for t in history)
    print(f"\n{task.name}: {task.description}")
    print(f"strategy {args.strategy}, seed {args.seed}: {len(history)} trials ({failed} failed) in {elapsed:.1f} s")
    best = history.best
    if best is None:
        print(f"no trial succeeded; the errors are in {storage}")
    else:
        board = history.leaderboard(args.top).drop(columns=["status", "error", "start", "worker", "asked"],
                                                   errors="ignore")
        board = board.rename(columns={"value": task.metric, "duration": "seconds"})
        print(board.to_string(index=False, float_format=lambda v: f"{v:.4g}"))
        print(f"best {task.metric} = {best.value:.4f} with {best.params}")
    print(f"history saved to {storage}")
    return 0


def _sizes(text: str) -> tuple[int, ...]:
    try:
        sizes = tuple(int(s) for s in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a comma-separated list of integers") from None
    if len(sizes) < 2 or sizes[0] != 784 or sizes[-1] != 10 or min(sizes) < 1:
        raise argparse.ArgumentTypeError(f"{text!r} must run from 784 inputs to 10 classes, e.g. 784,300,100,10")
    return sizes


def _cmd_pbt(args) -> int:
    from .datasets import load_mnist
    from .dimensions import Float
    from .models import mlp
    from .optim import evaluate
    from .population import PopulationBasedTraining, ancestry
    from .space import Space

    # 1. check every argument; nothing has been trained or written yet
    space = Space({"lr": Float(1e-3, 1.0, log=True), "momentum": Float(0.0, 0.95)})
    try:
        pbt = PopulationBasedTraining(space, population=args.population, epochs=args.epochs, interval=args.interval,
                                      fraction=args.fraction, seed=args.seed)
    except ValueError as e:
        raise UsageError(str(e)) from None
    if args.storage == "":
        raise UsageError("--storage '': give a file path, or leave the flag out for the default under runs/")
    storage = Path(args.storage) if args.storage else Path("runs") / f"pbt-seed{args.seed}.jsonl"
    _check_storage(storage, args.resume)
    checkpoint = storage.with_name(storage.name + ".pt")
    # 2. run
    data = load_mnist(limit=args.limit)
    t0 = time.time()
    try:
        if storage.exists() and not args.resume:  # a fresh run over an old one (checked above)
            lock = lock_storage(storage)
            storage.unlink()
            checkpoint.unlink(missing_ok=True)
            lock.release()
            print(f"amsearch-lab: note: replacing the run in {storage} (--resume continues it instead)",
                  file=sys.stderr)
        history = pbt.run(lambda i: mlp(args.sizes, seed=args.seed * args.population + i), data, storage=storage,
                          progress=not args.quiet)
    except (ValueError, OSError, StorageInUse) as e:
        raise UsageError(f"--storage {storage}: {e}") from None
    elapsed = time.time() - t0
    # 3. report: validation chose the member; the test split is read once, for it only
    member = pbt.best_member_
    print(f"\nPBT on MNIST (MLP {'-'.join(map(str, args.sizes))}, {len(data.x_train)} training images): "
          f"{args.population} members x {args.epochs} epochs, exploit/explore every {args.interval}, "
          f"{elapsed:.1f} s")
    if member is None:
        print(f"every member failed in the last interval; the history is in {storage}")
        return 0
    print(f"the schedule member {member}'s weights were trained with (epochs: lr, momentum; <- the member it copied):")
    for t in ancestry(history, member):
        copied = "" if t.info["parent"] == t.info["member"] else f"  <- copied member {t.info['parent']}"
        print(f"  {t.start_step:>3}-{t.budget:<3} member {t.info['member']:>2}: lr {t.params['lr']:.4g}, "
              f"momentum {t.params['momentum']:.3f}, val_acc {t.value:.4f}{copied}")
    _, test_acc = evaluate(pbt.population_.member(member), data.x_test, data.y_test)
    print(f"chosen on validation: member {member}, val_acc {history[-pbt.population + member].value:.4f}; "
          f"test accuracy {test_acc:.4f}")
    print(f"history saved to {storage} (checkpoint {checkpoint})")
    return 0


def build_parser() -> argparse.ArgumentParser:
    formatter = argparse.ArgumentDefaultsHelpFormatter
    parser = _Parser(prog="amsearch-lab", description="Automated model search, headless.", formatter_class=formatter)
    sub = parser.add_subparsers(dest="command", required=True)
    s = sub.add_parser("search", help="run a search on a built-in task and print a leaderboard",
                       formatter_class=formatter)
    s.add_argument("--task", default="iris", help=f"one of: {', '.join(TASKS)}")
    s.add_argument("--strategy", default="random", help=f"one of: {', '.join(_blackbox_names())}")
    s.add_argument("--budget", type=_int_at_least(1), default=30, help="number of evaluations")
    s.add_argument("--seed", type=_int_at_least(0), default=0, help="seed of the strategy's random choices")
    s.add_argument("--timeout", type=_positive_seconds, default=None,
                   help="seconds after which no new trial starts; None: no limit")
    s.add_argument("--storage", default=None,
                   help="JSON Lines history file, replaced by a fresh run only if it is a trial history; "
                        "None: runs/<task>-<strategy>-seed<seed>.jsonl")
    s.add_argument("--resume", action="store_true", help="continue the storage file instead of starting afresh")
    s.add_argument("--options", default=None,
                   help='strategy options as a JSON object, e.g. \'{"n": 5, "shuffle": true}\' for grid; '
                        "None: the strategy's defaults")
    s.add_argument("--workers", type=_int_at_least(1), default=1,
                   help="trials run at once (a parallel search when > 1)")
    s.add_argument("--executor", choices=["process", "dask"], default="process",
                   help="where parallel trials run: a process pool, or a Dask LocalCluster (needs the "
                        "'parallel' extra)")
    s.add_argument("--top", type=_int_at_least(1), default=5, help="rows of the leaderboard")
    s.add_argument("--quiet", action="store_true", help="no progress bar")
    s.set_defaults(func=_cmd_search)
    p = sub.add_parser("pbt", help="population-based training of an MLP on MNIST; prints the discovered schedule",
                       formatter_class=formatter)
    p.add_argument("--population", type=_int_at_least(2), default=8, help="members trained side by side")
    p.add_argument("--epochs", type=_int_at_least(1), default=8, help="epochs each member trains")
    p.add_argument("--interval", type=_int_at_least(1), default=2, help="epochs between exploit/explore steps")
    p.add_argument("--fraction", type=float, default=0.2, help="the bottom fraction copies the top fraction")
    p.add_argument("--sizes", type=_sizes, default=(784, 300, 100, 10), help="the MLP's layer widths")
    p.add_argument("--limit", type=_int_at_least(1), default=None,
                   help="keep the first LIMIT images of each split; None: all of MNIST")
    p.add_argument("--seed", type=_int_at_least(0), default=0, help="seed of the draws, selections and weights")
    p.add_argument("--storage", default=None,
                   help="JSON Lines history (a checkpoint <file>.pt is kept beside it); None: runs/pbt-seed<seed>.jsonl")
    p.add_argument("--resume", action="store_true", help="continue the storage file's run instead of starting afresh")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=_cmd_pbt)
    sub.add_parser("tasks", help="list the built-in tasks").set_defaults(func=_cmd_tasks)
    sub.add_parser("strategies", help="list the search strategies").set_defaults(func=_cmd_strategies)
    return parser


def main(argv=None) -> int:
    try:
        args = build_parser().parse_args(argv)
        return args.func(args)
    except UsageError as e:
        print(f"amsearch-lab: error: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
