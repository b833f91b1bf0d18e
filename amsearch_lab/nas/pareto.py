"""The Pareto front of a size/accuracy trade-off.

A network *dominates* another when it has no more parameters (cost :math:`c`) and no lower
accuracy (score :math:`a`), and is strictly better in one of the two:
:math:`c_i \\le c_j,\\ a_i \\ge a_j,\\ (c_i, a_i) \\ne (c_j, a_j)`. The Pareto front is the set of
networks that nothing dominates: for each size, the most accurate you can have.
"""

from __future__ import annotations

import numpy as np

__all__ = ["pareto_front"]


def pareto_front(cost, score) -> np.ndarray:
    """Boolean mask of the non-dominated points (minimise ``cost``, maximise ``score``).

    Sweep: sort by cost (ties: best score first); a point is on the front when its score beats
    every score seen at a strictly lower cost and it is the best of its own cost. O(n log n).
    """
    cost, score = np.asarray(cost, dtype=float), np.asarray(score, dtype=float)
    if cost.shape != score.shape or cost.ndim != 1:
        raise ValueError(f"pareto_front: cost {cost.shape} and score {score.shape} must be 1-D of one length")
    order = np.lexsort((-score, cost))  # by cost, then by score descending
    front = np.zeros(len(cost), dtype=bool)
    best_below = -np.inf  # best score at a strictly lower cost
    i = 0
    while i < len(order):
        # 1. the group of points sharing this cost, best score first
        j = i
        while j < len(order) and cost[order[j]] == cost[order[i]]:
            j += 1
        group_best = score[order[i]]
        # 2. its best points are on the front unless a cheaper point scores at least as well
        if group_best > best_below:
            for k in order[i:j]:
                front[k] = score[k] == group_best
        best_below = max(best_below, group_best)
        i = j
    return front
