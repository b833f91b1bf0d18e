"""``python -m amsearch_lab.bench <name> [options]``: run one benchmark and print its figures."""

import importlib
import sys

from . import BENCHMARKS


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    if not argv or argv[0] in ("-h", "--help"):
        print("usage: python -m amsearch_lab.bench <name> [options]\n\nbenchmarks:")
        for name, what in BENCHMARKS.items():
            print(f"  {name:10s} {what}")
        return 0
    name = argv[0]
    if name not in BENCHMARKS:
        print(f"unknown benchmark {name!r}; choose one of: {', '.join(BENCHMARKS)}", file=sys.stderr)
        return 2
    try:
        module = importlib.import_module(f"amsearch_lab.bench.{name}")
    except ModuleNotFoundError as e:
        print(f"benchmark {name!r} is not available yet ({e})", file=sys.stderr)
        return 2
    return module.main(argv[1:]) or 0


if __name__ == "__main__":
    sys.exit(main())
