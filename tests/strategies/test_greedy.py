"""Greedy search: it climbs to the local optimum of its start's basin, never proposes a point
twice, shrinks its step, restarts when stuck, and stops when told not to restart."""

import math

import pytest

from amsearch_lab import Choice, Float, Int, Space, search
from amsearch_lab.strategies import SearchExhausted
from amsearch_lab.strategies.greedy import GreedySearch
from amsearch_lab.study import Trial


def quadratic(params):
    return (params["a"] - 3) ** 2 + (params["b"] + 1) ** 2


def lattice_space():
    return Space({"a": Int(-5, 5), "b": Int(-5, 5)})


def test_reaches_the_minimum_of_a_convex_lattice_function():
    history = search(quadratic, lattice_space(), "greedy", budget=40, seed=0, progress=False)
    assert history.best.value == 0  # the unique minimiser (3, -1) is on the lattice
    assert history.best.params == {"a": 3, "b": -1}


def test_every_move_is_an_improvement_and_one_dimension_at_a_time():
    strategy = GreedySearch(lattice_space(), seed=1)
    search(quadratic, lattice_space(), strategy, budget=40, progress=False)
    assert len(strategy.climbs_) >= 2  # it reached (3, -1), got stuck, and restarted
    for climb in strategy.climbs_:
        losses = [quadratic(p) for p in climb]
        assert all(b < a for a, b in zip(losses, losses[1:])), losses
        for a, b in zip(climb, climb[1:]):
            assert sum(a[k] != b[k] for k in a) == 1


def test_never_proposes_a_point_twice():
    history = search(quadratic, lattice_space(), "greedy", budget=60, seed=2, progress=False)
    points = [tuple(t.params.values()) for t in history]
    assert len(points) == len(set(points))


def test_gets_stuck_in_a_local_optimum_without_restarts():
    """Two basins on a 1-D lattice; starting in the bad one, greedy ends there and stops."""
    space = Space({"x": Int(0, 20)})
    def f(p):
        return min((p["x"] - 3) ** 2 + 5, (p["x"] - 16) ** 2)  # local min 5 at 3, global 0 at 16
    strategy = GreedySearch(space, seed=0, restart=False, start={"x": 1})
    history = search(f, space, strategy, budget=50, progress=False)
    assert len(history) < 50  # it stopped by itself
    assert history.best.params == {"x": 3} and history.best.value == 5
    with pytest.raises(SearchExhausted):
        strategy.ask()
    # with restarts, the same search escapes to the global minimum
    restarting = search(f, space, GreedySearch(space, seed=0, start={"x": 1}), budget=50, progress=False)
    assert restarting.best.value == 0


def test_step_shrinks_on_a_continuous_dimension():
    space = Space({"x": Float(0.0, 1.0)})
    strategy = GreedySearch(space, seed=0, scale=0.25, shrink=0.5, min_scale=0.001, restart=False)
    history = search(lambda p: abs(p["x"] - 0.3), space, strategy, budget=40, progress=False)
    assert strategy.scale_ < 0.25
    assert history.best.value < 0.01


def test_a_failed_start_is_left_behind():
    space = Space({"x": Int(0, 10), "c": Choice(["ok", "bad"])})
    def f(p):
        return math.nan if p["c"] == "bad" else (p["x"] - 7) ** 2
    history = search(f, space, GreedySearch(space, seed=0, start={"x": 0, "c": "bad"}), budget=30, progress=False)
    assert history[0].status == "failed"
    assert history.best.value == 0


def test_ask_tell_order_is_reproducible_by_hand():
    a, b = GreedySearch(lattice_space(), seed=4), GreedySearch(lattice_space(), seed=4)
    for i in range(15):
        pa, pb = a.ask(), b.ask()
        assert pa == pb
        a.tell(Trial(i, pa, quadratic(pa)))
        b.tell(Trial(i, pb, quadratic(pb)))


@pytest.mark.parametrize("bad", [dict(scale=0), dict(scale=1.5), dict(shrink=1.0), dict(min_scale=0.5, scale=0.25)])
def test_bad_options_name_the_parameter(bad):
    with pytest.raises(ValueError, match=next(iter(bad)) if "min_scale" not in bad else "min_scale"):
        GreedySearch(lattice_space(), **bad)


def test_bad_start_is_rejected():
    with pytest.raises(ValueError, match="'a'"):
        GreedySearch(lattice_space(), start={"a": 99, "b": 0})


def test_greedy_steps_by_one_on_an_integer_range_wider_than_float_precision():
    from amsearch_lab import Int, Space, search

    space = Space({"n": Int(0, 10**18)})
    history = search(lambda p: abs(p["n"] - 503), space, "greedy", budget=12, progress=False,
                     options={"start": {"n": 500}})
    assert history.best.params == {"n": 503}  # 500 -> 501 -> 502 -> 503, one step at a time
