"""Grid search: the order of the walk, the seeded shuffle, and grids of any size."""

import numpy as np
import pytest

from amsearch_lab import Choice, Float, Int, Space, search
from amsearch_lab.strategies import GridSearch, SearchExhausted


def test_in_order_the_last_dimension_varies_fastest_and_the_grid_ends():
    space = Space({"k": Int(1, 2), "c": Choice(["a", "b", "c"])})
    grid = GridSearch(space)
    walked = [grid.ask() for _ in range(6)]
    assert walked == [{"k": k, "c": c} for k in (1, 2) for c in ("a", "b", "c")]
    with pytest.raises(SearchExhausted):
        grid.ask()


def test_a_small_shuffled_grid_is_one_seeded_permutation():
    space = Space({"k": Int(1, 4), "x": Float(0.0, 1.0)})
    grid = GridSearch(space, seed=3, n=3, shuffle=True)
    order = np.random.default_rng(3).permutation(12)
    assert [grid.ask() for _ in range(12)] == [space.grid(3)[int(i)] for i in order]


def test_a_huge_shuffled_grid_proposes_distinct_points_inside_the_space():
    space = Space({"a": Int(0, 10**18), "b": Int(0, 9), "n": Int(1000, 10**18 + 1000, log=True)})
    grid = GridSearch(space, seed=0, shuffle=True)
    assert grid.grid_.size > 2**63
    points = [grid.ask() for _ in range(200)]
    assert all(p in space for p in points)
    assert len({tuple(p.values()) for p in points}) == 200
    assert len({p["b"] for p in points}) == 10  # spread over the grid, not its first corner
    again = GridSearch(space, seed=0, shuffle=True)
    assert [again.ask() for _ in range(200)] == points


def test_a_log_int_grid_beyond_float_precision_stays_inside_the_space():
    space = Space({"n": Int(1000, 10**18 + 1000, log=True)})
    values = [p["n"] for p in space.grid(5)]
    assert values[0] == 1000 and values[-1] == 10**18 + 1000 and values == sorted(values)
    history = search(lambda p: float(np.log(p["n"])), space, "grid", budget=5, progress=False)
    assert len(history) == 5 and all(t.ok for t in history)


def test_the_budget_note_names_a_partial_ordered_grid_only():
    grid = GridSearch(Space({"k": Int(1, 3), "c": Choice(["a", "b"])}))
    assert "the grid has 6 points and a budget of 4" in grid.budget_note(4)
    assert grid.budget_note(6) is None
    assert GridSearch(grid.space, seed=0, shuffle=True).budget_note(4) is None
