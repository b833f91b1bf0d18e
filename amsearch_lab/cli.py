"""The headless command line: ``amsearch-lab search | tasks | strategies``.

    amsearch-lab search --task iris --strategy random --budget 30 --seed 0
    amsearch-lab tasks
    amsearch-lab strategies
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from .strategies import STRATEGIES, get_strategy
from .study import search
from .tasks import TASKS, get_task


def _first_doc_line(obj) -> str:
    return (obj.__doc__ or "").strip().splitlines()[0] if obj.__doc__ else ""


def _cmd_tasks(_args) -> int:
    for name, task in TASKS.items():
        direction = "minimize" if task.minimize else "maximize"
        print(f"{name:12s} {direction:9s} {task.description}")
    return 0


def _cmd_strategies(_args) -> int:
    for name, cls in STRATEGIES.items():
        print(f"{name:10s} {cls.__name__:22s} {_first_doc_line(cls)}")
    return 0


def _cmd_search(args) -> int:
    try:
        task = get_task(args.task)
        get_strategy(args.strategy)
        options = json.loads(args.options) if args.options else {}
        if not isinstance(options, dict):
            raise ValueError(f"--options={args.options!r} must be a JSON object")
    except (ValueError, json.JSONDecodeError) as e:
        print(f"amsearch-lab: error: {e}", file=sys.stderr)
        return 2
    storage = Path(args.storage) if args.storage else Path("runs") / f"{args.task}-{args.strategy}-seed{args.seed}.jsonl"
    if storage.exists() and not args.resume:
        storage.unlink()  # a fresh run; --resume continues the file instead
    t0 = time.time()
    try:
        history = search(task.objective, task.space, args.strategy, budget=args.budget, seed=args.seed,
                         storage=storage, minimize=task.minimize, timeout=args.timeout,
                         progress=not args.quiet, options=options)
    except ValueError as e:
        print(f"amsearch-lab: error: {e}", file=sys.stderr)
        return 2
    elapsed = time.time() - t0
    failed = sum(not t.ok for t in history)
    print(f"\n{task.name}: {task.description}")
    print(f"strategy {args.strategy}, seed {args.seed}: {len(history)} trials ({failed} failed) in {elapsed:.1f} s")
    board = history.leaderboard(args.top).drop(columns=["status", "error", "start"])
    board = board.rename(columns={"value": task.metric, "duration": "seconds"})
    print(board.to_string(index=False, float_format=lambda v: f"{v:.4g}"))
    best = history.best
    if best is not None:
        print(f"best {task.metric} = {best.value:.4f} with {best.params}")
    print(f"history saved to {storage}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="amsearch-lab", description="Automated model search, headless.")
    sub = parser.add_subparsers(dest="command", required=True)
    s = sub.add_parser("search", help="run a search on a built-in task and print a leaderboard")
    s.add_argument("--task", default="iris", help=f"one of: {', '.join(TASKS)}")
    s.add_argument("--strategy", default="random", help=f"one of: {', '.join(STRATEGIES)}")
    s.add_argument("--budget", type=int, default=30, help="number of evaluations")
    s.add_argument("--seed", type=int, default=0)
    s.add_argument("--timeout", type=float, default=None, help="seconds after which no new trial starts")
    s.add_argument("--storage", default=None, help="JSON Lines history file (default runs/<task>-<strategy>-seed<seed>.jsonl)")
    s.add_argument("--resume", action="store_true", help="continue the storage file instead of starting afresh")
    s.add_argument("--options", default=None, help='strategy options as JSON, e.g. \'{"step": 0.1}\'')
    s.add_argument("--top", type=int, default=5, help="rows of the leaderboard")
    s.add_argument("--quiet", action="store_true", help="no progress bar")
    s.set_defaults(func=_cmd_search)
    sub.add_parser("tasks", help="list the built-in tasks").set_defaults(func=_cmd_tasks)
    sub.add_parser("strategies", help="list the search strategies").set_defaults(func=_cmd_strategies)
    return parser


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
