import numpy as np
import pytest

from amsearch_lab import Float, Int, Space, search
from amsearch_lab.strategies.random import RandomSearch, hit_probability, trials_needed


def test_hit_probability_matches_a_simulation():
    rng = np.random.default_rng(0)
    q, n, runs = 0.05, 20, 20000
    hits = (rng.random((runs, n)) < q).any(axis=1).mean()
    assert hit_probability(q, n) == pytest.approx(1 - 0.95**20)
    assert abs(hits - hit_probability(q, n)) < 4 * np.sqrt(hit_probability(q, n) * (1 - hit_probability(q, n)) / runs)


def test_trials_needed_is_the_smallest_n():
    assert trials_needed(0.05, 0.95) == 59  # the classic "60 random trials" rule of thumb
    for q in (0.01, 0.05, 0.1, 0.3):
        for p in (0.5, 0.9, 0.95, 0.99):
            n = trials_needed(q, p)
            assert hit_probability(q, n) >= p and hit_probability(q, n - 1) < p


@pytest.mark.parametrize("call, fragment", [(lambda: hit_probability(0, 5), "q=0"), (lambda: hit_probability(0.1, -1), "n=-1"),
                                            (lambda: trials_needed(0.1, 1.0), "p=1.0")])
def test_bad_input(call, fragment):
    with pytest.raises(ValueError, match=fragment):
        call()


def test_search_step_draws_from_a_lattice():
    space = Space({"x": Float(0.0, 2.0), "n": Int(0, 100)})
    history = search(lambda p: p["x"], space, RandomSearch, budget=200, seed=0, progress=False, options={"step": 0.25})
    assert {t.params["x"] for t in history} == {0.0, 0.5, 1.0, 1.5, 2.0}
    assert {t.params["n"] for t in history} <= {0, 25, 50, 75, 100}


def test_random_search_is_uniform():
    space = Space({"x": Float(0.0, 1.0)})
    strategy = RandomSearch(space, seed=1)
    xs = np.array([strategy.ask()["x"] for _ in range(4000)])
    counts, _ = np.histogram(xs, bins=10, range=(0, 1))
    chi2 = ((counts - 400) ** 2 / 400).sum()
    assert chi2 < 27.9  # 99.9% quantile of chi-square with 9 degrees of freedom
