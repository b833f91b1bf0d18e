"""The Pareto front against the definition, checked pair by pair."""

import numpy as np
import pytest

from amsearch_lab.nas import pareto_front


def brute_force(cost, score):
    n = len(cost)
    dominated = [any(cost[j] <= cost[i] and score[j] >= score[i] and (cost[j], score[j]) != (cost[i], score[i])
                     for j in range(n)) for i in range(n)]
    return ~np.array(dominated)


@pytest.mark.parametrize("seed", range(20))
def test_front_matches_the_definition_with_ties(seed):
    rng = np.random.default_rng(seed)
    cost, score = rng.integers(0, 8, size=40), rng.integers(0, 8, size=40)  # many ties on purpose
    np.testing.assert_array_equal(pareto_front(cost, score), brute_force(cost, score))


def test_small_example():
    # (cost, score): (1, .5) (2, .9) (3, .8) (3, .95) (4, .95)
    mask = pareto_front([1, 2, 3, 3, 4], [0.5, 0.9, 0.8, 0.95, 0.95])
    assert mask.tolist() == [True, True, False, True, False]


def test_shapes_are_checked():
    with pytest.raises(ValueError, match="cost"):
        pareto_front([1, 2], [0.5])
