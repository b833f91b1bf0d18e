"""Regularized evolution: random start, aging, one-dimension mutation, tournament selection with
the exact probabilities of the best-of-S rule, and that selection makes it beat random search."""

import copy
import math

import numpy as np
import pytest

from amsearch_lab import Choice, Int, Space, search
from amsearch_lab.strategies.evolution import RegularizedEvolution
from amsearch_lab.study import Trial


def choice_space(n=8, k=5):
    return Space({f"x{i}": Choice(list(range(k))) for i in range(n)})


def tell(strategy, params, value, number):
    strategy.tell(Trial(number=number, params=params, value=value))


def test_first_population_is_a_random_sample():
    space = choice_space()
    strategy = RegularizedEvolution(space, seed=3, population=6, sample_size=2)
    rng = np.random.default_rng(3)
    for n in range(6):
        params = strategy.ask()
        assert params == space.sample(rng)
        tell(strategy, params, float(n), n)


def test_the_oldest_leaves_whatever_its_value():
    space = choice_space()
    strategy = RegularizedEvolution(space, seed=0, population=5, sample_size=2, minimize=False)
    told = []
    for n in range(12):
        params = strategy.ask()
        value = 100.0 if n == 0 else float(n)  # the first individual is by far the best
        tell(strategy, params, value, n)
        told.append((params, -value))
    assert list(strategy.population_) == told[-5:]  # the champion aged out


def tournament_winner(strategy):
    """The parent the next ``ask()`` will pick, by the module's rule (the best of ``sample_size``
    living individuals drawn with replacement), computed on a copy of the strategy's rng."""
    rng = copy.deepcopy(strategy.rng)
    alive = [(p, loss) for p, loss in strategy.population_ if math.isfinite(loss)]
    picks = rng.integers(len(alive), size=strategy.sample_size)
    return min((alive[i] for i in picks), key=lambda pl: pl[1])[0]


def assert_children_are_their_parents_with_one_dimension_changed(cls, population=4):
    space = choice_space()
    strategy = cls(space, seed=1, population=population, sample_size=2)
    for n in range(40):
        parent = tournament_winner(strategy) if n >= population else None
        params = strategy.ask()
        if parent is not None:
            changed = [k for k in params if params[k] != parent[k]]
            assert len(changed) == 1, f"child {n} {params} differs from its parent {parent} in {changed}"
        tell(strategy, params, float(sum(params.values())) + n / 1000, n)  # distinct values: no ties


def test_a_child_is_its_parent_with_one_dimension_changed():
    assert_children_are_their_parents_with_one_dimension_changed(RegularizedEvolution)


class ParentIsTheLoser(RegularizedEvolution):
    """Broken: mutates the worst of the tournament (same draws from the rng as the real one)."""

    def ask(self):
        self.n_asked_ += 1
        alive = [(p, loss) for p, loss in self.population_ if math.isfinite(loss)]
        if self.n_asked_ <= self.population or not alive:
            return self.space.sample(self.rng)
        picks = self.rng.integers(len(alive), size=self.sample_size)
        return self.mutate(max((alive[i] for i in picks), key=lambda pl: pl[1])[0])


def test_the_parent_check_fails_when_the_wrong_individual_is_mutated():
    with pytest.raises(AssertionError, match="differs from its parent"):
        assert_children_are_their_parents_with_one_dimension_changed(ParentIsTheLoser)


def test_tournament_picks_the_best_of_s_with_the_right_probabilities():
    # ten individuals at 0, 100, ..., 900 on an integer line; a child is its parent +-1,
    # so each child names its parent. Loss = the value: rank r (0 = best) is the parent when it
    # is the best of S draws with replacement: P(r) = ((n - r)^S - (n - r - 1)^S) / n^S.
    n, s = 10, 3
    space = Space({"x": Int(0, 1000)})
    strategy = RegularizedEvolution(space, seed=0, population=n, sample_size=s)
    for i in range(n):
        strategy.ask()
        tell(strategy, {"x": 100 * i}, float(100 * i), i)
    draws = 6000
    parents = [round(strategy.ask()["x"] / 100) for _ in range(draws)]
    observed = np.bincount(parents, minlength=n) / draws
    r = np.arange(n)
    expected = ((n - r) ** s - (n - r - 1) ** s) / n ** s
    np.testing.assert_allclose(observed, expected, atol=0.02)


def test_failed_trials_are_never_parents():
    space = Space({"x": Int(0, 1000)})
    strategy = RegularizedEvolution(space, seed=0, population=4, sample_size=4)
    for i in range(4):
        strategy.ask()
        strategy.tell(Trial(number=i, params={"x": 100 * i}, status="failed" if i else "ok",
                            value=None if i else 0.0))
    assert all(abs(strategy.ask()["x"] - 0) <= 1 for _ in range(50))


def test_beats_random_search_on_a_separable_problem():
    space = choice_space(n=8, k=5)
    target = {f"x{i}": i % 5 for i in range(8)}

    def matches(params):
        return float(sum(params[k] == v for k, v in target.items()))

    def best(strategy, seed):
        return search(matches, space, strategy, budget=100, seed=seed, minimize=False, progress=False).best.value

    evolution = np.mean([best("evolution", s) for s in range(20)])
    random = np.mean([best("random", s) for s in range(20)])
    assert evolution > random + 1.0


@pytest.mark.parametrize("kwargs, message", [
    ({"population": 1}, "population=1"), ({"sample_size": 0}, "sample_size=0"),
    ({"population": 5, "sample_size": 6}, "sample_size=6"), ({"scale": 0}, "scale=0")])
def test_bad_arguments_are_named(kwargs, message):
    with pytest.raises(ValueError, match=message):
        RegularizedEvolution(choice_space(), **kwargs)
