"""Many independent L-BFGS-B runs in lockstep, so that each round of evaluations is one batch.

Bayesian optimization refines its acquisition function from about ten starting points. Each
run is an ordinary L-BFGS-B run (scipy's), but evaluating the GP at one point at a time pays
numpy's fixed cost per call (a few microseconds per operation, some thirty operations) for every
point: measured on a 50-point GP of Hartmann-6, the posterior and its gradient take 110 µs for
one point and 155 µs for eleven. Merging the runs into one L-BFGS-B run on the sum of the
objectives is *not* a way out: its line search accepts steps that raise the sum while some
terms get worse, and one steep term then sets the step for all (see ``BayesianOptimization``).

So each run keeps its own L-BFGS-B, in its own greenlet (a coroutine: the ``greenlet``
package); whenever a run asks for f(x) it pauses, and once every unfinished run has asked, one
vectorised call evaluates them all and each run resumes with its own value. Every run makes
exactly the steps it would make alone; only the evaluations are batched. Optuna's GP sampler
batches its acquisition search the same way (``optuna/_gp/batched_lbfgsb.py``).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from greenlet import greenlet
from scipy.optimize import minimize

__all__ = ["minimize_lockstep"]


def minimize_lockstep(fun: Callable[[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]], X0, bounds,
                      maxiter: int = 200, gtol: float = 1e-5) -> tuple[np.ndarray, np.ndarray]:
    """Minimise k functions with k L-BFGS-B runs, run i starting at X0[i] (X0: (k, d)).

    fun(X, rows) gets X (m, d), the current points of the m runs that are still going, and
    rows (m,), their indices into X0; it returns their values (m,) and gradients (m, d).
    bounds: d pairs (low, high), shared by all runs; maxiter and gtol as scipy's L-BFGS-B options.

    Returns the k final points (k, d) and their values (k,): those of k separate calls of
    ``scipy.optimize.minimize(..., method="L-BFGS-B")``, bit for bit when ``fun`` computes each row
    as it would alone (a batched matrix product may round the last bit differently). An exception
    raised by ``fun`` propagates.
    """
    X0 = np.atleast_2d(np.asarray(X0, dtype=float))
    k = len(X0)
    results: list = [None] * k

    def run(i: int) -> None:
        def f(x):
            value, grad = greenlet.getcurrent().parent.switch(x)  # pause until the batch is evaluated
            return value, grad

        results[i] = minimize(f, X0[i], jac=True, method="L-BFGS-B", bounds=bounds,
                              options={"maxiter": maxiter, "gtol": gtol})

    runs = [greenlet(run) for _ in range(k)]
    waiting = {i: runs[i].switch(i) for i in range(k)}  # each run's first point (None: finished)
    waiting = {i: x for i, x in waiting.items() if x is not None}
    while waiting:
        rows = np.fromiter(waiting, dtype=int, count=len(waiting))
        values, grads = fun(np.array([waiting[i] for i in rows]), rows)
        nxt = {}
        for j, i in enumerate(rows):
            x = runs[i].switch((float(values[j]), np.array(grads[j], dtype=float)))
            if x is not None:
                nxt[i] = x
        waiting = nxt
    return np.array([r.x for r in results]), np.array([r.fun for r in results])
