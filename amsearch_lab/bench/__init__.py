"""Benchmarks that print figures: ``python -m amsearch_lab.bench <name> [options]``.

Each benchmark is a module of this package with a ``main(argv)`` function; ``BENCHMARKS``
maps its name to the module. Speed and quality targets are checked here, never by timed tests.
"""

BENCHMARKS = {
    "hpo": "search strategies on test functions and tasks: simple regret and overhead",
    "train": "the MLP on MNIST: seconds per epoch (lab fit vs plain torch loop) and test accuracy",
    "compress": "LeNet-300-100 compression: accuracy, parameters, non-zeros, bytes, latency",
    "nas": "architecture search: low-fidelity speed, strategies on the tabular benchmark, full training",
    "mf": "multi-fidelity search on MNIST: best validation accuracy for a fixed number of epochs, against Optuna",
    "scale": "parallel search on 2 workers (process pool, Dask): wall-clock speed-up over sequential, overhead per trial",
    "population": "N MLPs as one stacked model (speed-up over N fit calls); PBT vs random search, constant lr, cosine",
    "oneshot": "one-shot NAS on the cell table: supernet rank correlation, SPOS and DARTS picks and compute, DARTS op mix",
}
