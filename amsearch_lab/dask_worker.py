"""Plumbing of a search on Dask (``parallel.py``): the objective as a worker plugin.

Dask installs a registered worker plugin on every worker, including one that joins later or is
restarted after a crash, so the objective reaches each worker once and survives the death of
any of them. (Scattered data would not: when every worker holding it dies, it is gone, and
every trial that needs it is cancelled.) Imported only when Dask is used.
"""

from __future__ import annotations

from distributed import get_worker
from distributed.diagnostics.plugin import WorkerPlugin


class ObjectivePlugin(WorkerPlugin):
    """Holds the search's objective (pickled with cloudpickle) on each worker."""

    idempotent = True

    def __init__(self, blob: bytes):
        self.blob = blob
        self.objective = None

    def setup(self, worker) -> None:
        import cloudpickle

        from .parallel import one_torch_thread

        one_torch_thread()
        self.objective = cloudpickle.loads(self.blob)


def run_on_worker(name: str, task):
    """Evaluate ``task`` with the objective of the plugin ``name`` on this worker."""
    from .parallel import run_task

    return run_task(get_worker().plugins[name].objective, task)
