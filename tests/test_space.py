import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from amsearch_lab import Choice, Float, Int, Space


# -- invalid definitions name the parameter and the bad value ------------------------------------
@pytest.mark.parametrize(
    "dim, fragments",
    [
        (Float(1.0, 1.0), ["Float 'p'", "low=1.0", "high=1.0"]),
        (Float(2.0, 1.0), ["Float 'p'", "low=2.0"]),
        (Int(5, 3), ["Int 'p'", "low=5"]),
        (Float(0.0, 1.0, log=True), ["Float 'p'", "low=0.0", "log=True"]),
        (Float(-1.0, 1.0, log=True), ["low=-1.0", "log=True"]),
        (Int(0, 10, log=True), ["Int 'p'", "low=0", "log=True"]),
        (Choice([]), ["Choice 'p'", "choices=[]"]),
        (Choice(["a", "b", "a"]), ["Choice 'p'", "'a' twice"]),
        (Float(0.0, 1.0, step=2.0), ["Float 'p'", "step=2.0", "larger than the range"]),
        (Int(1, 5, step=10), ["Int 'p'", "step=10", "larger than the range"]),
        (Float(0.0, 1.0, step=0.0), ["step=0.0", "positive"]),
        (Float("a", 1.0), ["Float 'p'", "low='a'", "number"]),
        (Float(0.0, None), ["high=None", "number"]),
        (Float(0.0, float("inf")), ["high=inf"]),
        (Int(0.5, 3), ["Int 'p'", "low=0.5", "integer"]),
        (Int(1, 3, step=1.5), ["step=1.5", "integer"]),
        (Int(1, 100, log=True, step=2), ["step=2", "log=True"]),
        (Float(1.0, 10.0, log=True, step=1.0), ["step=1.0", "log=True"]),
    ],
)
def test_invalid_definitions_raise_naming_parameter_and_value(dim, fragments):
    with pytest.raises(ValueError) as info:
        Space({"p": dim})
    for fragment in fragments:
        assert fragment in str(info.value)


def test_a_named_dimension_is_checked_at_once():
    with pytest.raises(ValueError, match="Float 'lr': low=0 must be > 0 when log=True"):
        Float(0, 1, log=True, name="lr")


def test_space_rejects_non_dimensions_and_empty():
    with pytest.raises(ValueError, match="'n'"):
        Space({"n": (1, 10)})
    with pytest.raises(ValueError, match="non-empty"):
        Space({})


# -- grids ----------------------------------------------------------------------------------------
def test_grid_is_complete_and_ordered_last_dimension_fastest():
    space = Space({"a": Int(1, 3), "b": Choice(["x", "y"])})
    grid = space.grid()
    assert len(grid) == 6
    assert list(grid) == [
        {"a": 1, "b": "x"}, {"a": 1, "b": "y"}, {"a": 2, "b": "x"},
        {"a": 2, "b": "y"}, {"a": 3, "b": "x"}, {"a": 3, "b": "y"},
    ]
    assert [grid[i] for i in range(len(grid))] == list(grid)
    assert grid[-1] == {"a": 3, "b": "y"}
    with pytest.raises(IndexError):
        grid[6]


def test_grid_uses_steps_and_n_points_per_float():
    space = Space({"n": Int(10, 100, step=10), "lr": Float(1e-3, 1e-1, log=True), "x": Float(0, 1, step=0.25)})
    grid = space.grid(n=3)
    assert len(grid) == 10 * 3 * 5
    assert sorted({p["n"] for p in grid}) == list(range(10, 101, 10))  # 100 is included, unlike range(10, 100, 10)
    assert np.allclose(sorted({p["lr"] for p in grid}), [1e-3, 1e-2, 1e-1])
    assert sorted({p["x"] for p in grid}) == [0.0, 0.25, 0.5, 0.75, 1.0]
    assert all(p in space for p in grid)


def test_grid_is_lazy():
    space = Space({f"x{i}": Float(0, 1) for i in range(8)})
    grid = space.grid(n=10)  # 10**8 points: never built as a list
    assert len(grid) == 10**8
    levels = np.linspace(0, 1, 10)
    assert grid[12345678] == {f"x{i}": levels[digit] for i, digit in enumerate([1, 2, 3, 4, 5, 6, 7, 8])}


# -- sampling stays inside the space ------------------------------------------------------------
def space_from(lows, widths, use_log, steps):
    dims = {}
    for i, (low, width, log, step) in enumerate(zip(lows, widths, use_log, steps)):
        if log:
            dims[f"f{i}"] = Float(abs(low) + 1e-3, abs(low) + 1e-3 + width, log=True)
        elif step:
            dims[f"f{i}"] = Float(low, low + width, step=width / step)
        else:
            dims[f"f{i}"] = Float(low, low + width)
        dims[f"i{i}"] = Int(int(low), int(low) + 1 + int(width), log=False, step=1)
    dims["c"] = Choice(["a", 1, 2.5, None, True])
    return Space(dims)


@settings(max_examples=40, deadline=None)
@given(
    lows=st.lists(st.floats(-100, 100), min_size=1, max_size=4),
    widths=st.lists(st.floats(0.01, 50), min_size=4, max_size=4),
    use_log=st.lists(st.booleans(), min_size=4, max_size=4),
    steps=st.lists(st.sampled_from([0, 1, 3, 7]), min_size=4, max_size=4),
    seed=st.integers(0, 2**32 - 1),
)
def test_samples_and_decoded_points_stay_inside(lows, widths, use_log, steps, seed):
    space = space_from(lows, widths, use_log, steps)
    rng = np.random.default_rng(seed)
    for _ in range(10):
        params = space.sample(rng)
        assert params in space
        u = space.encode(params)
        assert u.shape == (space.n_unit,) and np.all((u >= 0) & (u <= 1))
        assert space.decode(u) in space
        assert space.decode(rng.random(space.n_unit) * 1.4 - 0.2) in space  # clipped when outside the cube
        for neighbour in space.neighbours(params):
            assert neighbour in space


def test_log_sampling_is_uniform_in_log():
    space = Space({"lr": Float(1e-4, 1.0, log=True)})
    rng = np.random.default_rng(0)
    logs = np.log10([space.sample(rng)["lr"] for _ in range(20000)])
    assert abs(np.mean(logs) - (-2.0)) < 0.03
    assert abs(np.mean(logs < -3) - 0.25) < 0.01


def test_int_encoding_gives_each_value_an_equal_share():
    space = Space({"k": Int(1, 4)})
    values = [space.decode([u])["k"] for u in np.linspace(0, 1, 4001)]
    counts = np.bincount(values)[1:]
    assert counts.tolist() == [1000, 1000, 1000, 1001]


# -- encode / decode ----------------------------------------------------------------------------
def test_encode_decode_round_trip_and_one_hot():
    space = Space({"lr": Float(1e-4, 1.0, log=True), "n": Int(8, 64, step=8), "act": Choice(["relu", "tanh", "gelu"])})
    params = {"lr": 1e-2, "n": 24, "act": "tanh"}
    u = space.encode(params)
    assert u.shape == (5,)
    assert u[0] == pytest.approx(0.5)  # 1e-2 is half-way between 1e-4 and 1 in log10
    assert u[2:].tolist() == [0.0, 1.0, 0.0]
    back = space.decode(u)
    assert back["n"] == 24 and back["act"] == "tanh" and back["lr"] == pytest.approx(1e-2)
    assert space.unit_slices() == {"lr": slice(0, 1), "n": slice(1, 2), "act": slice(2, 5)}


def test_decode_rounds_to_steps():
    space = Space({"x": Float(0.0, 1.0, step=0.1), "n": Int(10, 100, step=10)})
    params = space.decode([0.437, 0.51])
    assert params == {"x": 0.4, "n": 60}


def test_decode_rejects_wrong_shape():
    space = Space({"x": Float(0, 1)})
    with pytest.raises(ValueError, match="shape"):
        space.decode([0.1, 0.2])


# -- neighbours and membership --------------------------------------------------------------------
def test_neighbours_change_one_dimension_by_one_step():
    space = Space({"n": Int(10, 100, step=10), "x": Float(0.0, 1.0), "act": Choice(["relu", "tanh"])})
    params = {"n": 10, "x": 0.5, "act": "relu"}
    out = space.neighbours(params, scale=0.1)
    assert {"n": 20, "x": 0.5, "act": "relu"} in out
    assert {"n": 0, "x": 0.5, "act": "relu"} not in out  # below low: dropped
    assert {"n": 10, "x": pytest.approx(0.4), "act": "relu"} in out
    assert {"n": 10, "x": pytest.approx(0.6), "act": "relu"} in out
    assert {"n": 10, "x": 0.5, "act": "tanh"} in out
    assert len(out) == 4
    for n in out:
        assert sum(n[k] != params[k] for k in params) == 1


def test_membership():
    space = Space({"n": Int(10, 100, step=10), "x": Float(0.0, 1.0), "act": Choice(["relu", "tanh"])})
    assert {"n": 30, "x": 0.2, "act": "relu"} in space
    assert {"n": 35, "x": 0.2, "act": "relu"} not in space  # off the step lattice
    assert {"n": 30, "x": 1.2, "act": "relu"} not in space
    assert {"n": 30, "x": 0.2, "act": "elu"} not in space
    assert {"n": 30, "x": 0.2} not in space
    assert {"n": 30, "x": 0.2, "act": "relu", "extra": 1} not in space
    assert {"n": 30.5, "x": 0.2, "act": "relu"} not in space
    assert {"n": 30, "x": math.nan, "act": "relu"} not in space
    with pytest.raises(ValueError, match="Int 'n': value 35"):
        space.check({"n": 35, "x": 0.2, "act": "relu"})
    with pytest.raises(ValueError, match="missing parameter 'act'"):
        space.check({"n": 30, "x": 0.2})


def test_choice_keeps_types_apart():
    space = Space({"c": Choice([1, True, "1"])})
    assert Space({"c": Choice([0, False])}).dimensions["c"].n_unit == 2  # not duplicates: 0 and False differ in type
    assert space.decode(space.encode({"c": True}))["c"] is True
    assert space.decode(space.encode({"c": "1"}))["c"] == "1"
