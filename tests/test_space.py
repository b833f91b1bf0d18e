import itertools
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from amsearch_lab import Choice, Float, Int, Space
from amsearch_lab.space import Lattice


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
        (Int(0, 2**63 - 1), ["Int 'p'", "step=1", f"more than {2**63 - 1} values"]),  # 2**63 values
        (Float(0.0, 1.0, step=1e-300), ["Float 'p'", "step=1e-300", "values"]),
        (Float(-1e308, 1e308, step=1.0), ["Float 'p'", "step=1.0", "high - low = inf"]),
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


def test_stepped_float_encoding_gives_each_value_an_equal_share():
    """Like an Int: the end points own a whole slice, not half of one."""
    space = Space({"x": Float(0.0, 1.0, step=0.25)})
    values = [space.decode([u])["x"] for u in np.linspace(0, 1, 5001)]
    assert [values.count(v) for v in (0.0, 0.25, 0.5, 0.75, 1.0)] == [1000, 1000, 1000, 1000, 1001]
    assert space.encode({"x": 0.0})[0] == pytest.approx(0.1)  # the centre of the first slice [0, 0.2)
    uneven = Space({"x": Float(0.0, 1.0, step=0.3)})  # high = 1.0 is off the lattice 0, 0.3, 0.6, 0.9
    values = [uneven.decode([u])["x"] for u in np.linspace(0, 1, 4001)]
    assert [values.count(v) for v in (0.0, 0.3, 0.6, 0.9)] == [1000, 1000, 1000, 1001]


# -- log Ints: every integer v owns its whole bin [v - 1/2, v + 1/2] ------------------------------
def log_uniform_mass(dim, v):
    """P(v) when log(value) is uniform on [log(low - 1/2), log(high + 1/2)] and rounded."""
    return math.log((v + 0.5) / (v - 0.5)) / math.log((dim.high + 0.5) / (dim.low - 0.5))


def unit_bin(dim, v):
    """The u in [0, 1] that decode to v, found by bisection on ``from_unit`` (which grows with u)."""

    def first_u_reaching(w):
        lo, hi = 0.0, 1.0
        for _ in range(60):
            mid = (lo + hi) / 2
            lo, hi = (lo, mid) if dim.from_unit(mid) >= w else (mid, hi)
        return hi

    return (0.0 if v == dim.low else first_u_reaching(v)), (1.0 if v == dim.high else first_u_reaching(v + 1))


@pytest.mark.parametrize("low, high", [(1000, 1010), (1, 10), (1, 200)])
def test_log_int_bins_have_the_log_uniform_masses(low, high):
    dim = Space({"k": Int(low, high, log=True)}).dimensions["k"]
    masses = []
    for v in range(low, high + 1):
        a, b = unit_bin(dim, v)
        masses.append(b - a)
        assert b - a == pytest.approx(log_uniform_mass(dim, v), rel=1e-9, abs=1e-15)
        assert a < dim.to_unit(v) < b  # v encodes inside its own bin ...
        assert dim.from_unit(dim.to_unit(v)) == v  # ... so decoding gives v back
    assert sum(masses) == pytest.approx(1.0)


def test_log_int_samples_its_end_points_as_often_as_their_neighbours():
    """Int(1000, 1010, log=True) once drew 1000 and 1010 with probability 0.05, their neighbours 0.10."""
    space = Space({"k": Int(1000, 1010, log=True)})
    dim, rng, n = space.dimensions["k"], np.random.default_rng(0), 50_000
    counts = np.bincount([space.sample(rng)["k"] - 1000 for _ in range(n)], minlength=11)
    expected = n * np.array([log_uniform_mass(dim, v) for v in range(1000, 1011)])
    chi2 = ((counts - expected) ** 2 / expected).sum()
    assert chi2 < 29.59  # 99.9% quantile of chi-square with 10 degrees of freedom
    assert 0.9 < counts[0] / counts[1] < 1.1 and 0.9 < counts[10] / counts[9] < 1.1


def test_log_int_round_trips_and_keeps_its_neighbours():
    space = Space({"k": Int(1000, 1010, log=True), "big": Int(1, 10**12, log=True)})
    rng = np.random.default_rng(1)
    for _ in range(200):
        params = space.sample(rng)
        assert space.decode(space.encode(params)) == params
    dim = space.dimensions["k"]
    for v in range(1000, 1011):
        out = dim.neighbours(v)
        assert all(dim.contains(o) and o != v for o in out)
        assert any(o < v for o in out) == (v > 1000) and any(o > v for o in out) == (v < 1010)
    assert dim.grid_values(3) == [1000, 1005, 1010]  # log-spaced from low to high, as before


# -- spaces of any size: arithmetic on the lattice index, never a list of values ------------------
def old_lattice(dim):
    """The list the sampler used to build at every draw (and still the reference for the stream)."""
    if isinstance(dim, Int):
        return list(range(dim.low, dim.high + 1, dim.step))
    k_max = math.floor((dim.high - dim.low) / dim.step + 1e-9)
    return [min(max(round(dim.low + k * dim.step, 12), dim.low), dim.high) for k in range(k_max + 1)]


@pytest.mark.parametrize("dims", [
    {"a": Int(-7, 5, step=3), "x": Float(-1.0, 1.0, step=0.3), "c": Choice(["u", "v", "w"]),
     "y": Float(0.1, 0.7, step=0.1), "f": Float(-2.0, 3.0)},
    {"n": Int(0, 10**6)},
    {"x": Float(0.0, 1.0, step=1e-5), "m": Int(10, 100, step=10), "z": Float(1 / 3, 2.0, step=0.07)},
])
def test_sampling_keeps_the_seeded_stream_of_the_lattice_sampler(dims):
    """Same Generator state, same params as ``values[rng.integers(len(values))]`` over the built list."""
    space = Space(dims)
    lattices = {name: old_lattice(dim) for name, dim in space.dimensions.items() if dim.kind != "Choice" and dim.step}
    new_rng, old_rng = np.random.default_rng(7), np.random.default_rng(7)
    for _ in range(300):
        expected = {}
        for name, dim in space.dimensions.items():
            if name in lattices:
                expected[name] = lattices[name][int(old_rng.integers(len(lattices[name])))]
            elif dim.kind == "Choice":
                expected[name] = dim.choices[int(old_rng.integers(len(dim.choices)))]
            else:
                expected[name] = min(max(dim.low + old_rng.random() * (dim.high - dim.low), dim.low), dim.high)
        assert space.sample(new_rng) == expected
    assert new_rng.bit_generator.state == old_rng.bit_generator.state


@pytest.mark.parametrize("dim", [Int(0, 10**9), Float(0.0, 1.0, step=1e-7), Int(-10**12, 10**12, step=7),
                                 Float(0.0, 1e9, step=1e-3), Float(1 / 3, 2.0, step=1e-7)])
def test_huge_lattices_sample_encode_decode_and_step(dim):
    """Each of these once built its list of up to 10**12 values at every call. ``contains`` also
    once rejected ~1% of the lattice's own values at k ~ 10**11 (float error above its 1e-6 tolerance)."""
    space = Space({"p": dim})
    rng = np.random.default_rng(2)
    for _ in range(200):
        params = space.sample(rng)
        assert params in space
        assert space.decode(space.encode(params)) == params
        k = dim.index(params["p"])
        assert dim.value_at(k) == params["p"]
        assert [n["p"] for n in space.neighbours(params)] == [dim.value_at(j) for j in (k - 1, k + 1)]
    assert len(space.grid()) == dim.n_values and space.grid()[-1] == {"p": dim.value_at(dim.n_values - 1)}
    assert space.decode([0.0]) == {"p": dim.low} and space.decode([1.0]) == {"p": dim.value_at(dim.n_values - 1)}


def test_huge_int_lattice_is_exact_integer_arithmetic():
    """Beyond 2**53 a float cannot tell 10**17 from 10**17 - 1: membership and steps stay in ints."""
    dim = Space({"n": Int(0, 10**17, step=3)}).dimensions["n"]
    assert dim.contains(10**17 - 1)  # 10**17 - 1 = 3 * 33333333333333333
    assert not dim.contains(10**17) and not dim.contains(10**17 - 2)
    assert dim.neighbours(10**17 - 1) == [10**17 - 4]  # the top of the lattice: no step up
    assert dim.neighbours(3 * 10**15) == [3 * 10**15 - 3, 3 * 10**15 + 3]
    assert dim.lattice()[-1] == 10**17 - 1


@pytest.mark.parametrize("dim", [Int(0, 2**63 - 2), Int(-4 * 10**18, 4 * 10**18), Int(1, 2**62, log=True)])
def test_ints_up_to_the_largest_countable_lattice(dim):
    """2**63 - 1 values still sample and step exactly; the unit encoding is a float, so beyond
    about 2**50 values decode(encode(v)) is a value near v, no longer v itself."""
    space = Space({"n": dim})
    rng = np.random.default_rng(3)
    for _ in range(100):
        params = space.sample(rng)
        assert params in space and type(params["n"]) is int
        u = space.encode(params)
        assert 0 <= u[0] <= 1 and space.decode(u) in space
        assert abs(space.decode(u)["n"] - params["n"]) <= 1e-12 * (dim.high - dim.low)
        out = [n["n"] for n in space.neighbours(params)]
        assert out and all(dim.contains(n) and n != params["n"] for n in out)
        if not dim.log:  # exactly one step away
            assert all(abs(n - params["n"]) == dim.step for n in out)
    assert len(space.grid()) == (dim.n_values if not dim.log else 5)


def test_a_float_range_wider_than_the_largest_float():
    """high - low = 3.4e308 overflows to inf; the map once sent every sample to high and encoded it as nan."""
    space = Space({"x": Float(-1.7e308, 1.7e308)})
    rng = np.random.default_rng(4)
    xs = np.array([space.sample(rng)["x"] for _ in range(2000)])
    assert abs(np.mean(xs > 0) - 0.5) < 0.05 and np.all(np.isfinite(xs))
    assert space.decode([0.5]) == {"x": 0.0} and space.decode([0.0]) == {"x": -1.7e308}
    assert space.encode({"x": 1.7e308})[0] == 1.0 and space.encode({"x": 0.0})[0] == 0.5
    for x in xs[:50]:
        assert space.decode(space.encode({"x": x}))["x"] == pytest.approx(x, rel=1e-12, abs=1e293)


def test_float_lattice_keeps_its_top_value():
    """1 / 1e-9 = 999999999.9999999 in floats: the count of values allows for that rounding."""
    space = Space({"x": Float(0.0, 1.0, step=1e-9)})
    dim = space.dimensions["x"]
    assert dim.n_values == 10**9 + 1 and dim.lattice()[-1] == 1.0
    assert space.decode([1.0]) == {"x": 1.0} and {"x": 1.0} in space
    assert dim.neighbours(1.0) == [0.999999999]


def test_grid_of_huge_dimensions_is_lazy():
    space = Space({"n": Int(0, 10**9), "x": Float(0.0, 1.0, step=1e-7)})
    grid = space.grid()
    assert isinstance(space.dimensions["n"].grid_values(), range)
    assert isinstance(space.dimensions["x"].grid_values(), Lattice)
    assert len(grid) == (10**9 + 1) * (10**7 + 1) == grid.size
    assert grid[-1] == {"n": 10**9, "x": 1.0}
    assert grid[3] == {"n": 0, "x": 3e-7}
    first = list(itertools.islice(grid, 3))  # iterating never copies a dimension's values
    assert first == [{"n": 0, "x": 0.0}, {"n": 0, "x": 1e-7}, {"n": 0, "x": 2e-7}]
    lattice = space.dimensions["x"].lattice()
    assert lattice[1:4] == [1e-7, 2e-7, 3e-7] and lattice[-2] == 0.9999999
    with pytest.raises(IndexError):
        lattice[10**7 + 1]


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


@pytest.mark.parametrize(
    "build, fragment",
    [(lambda: Space({"x": Float(0.1, 1, log="yes")}), "Float 'x': log='yes' must be True or False"),
     (lambda: Space({"x": Int(1, 9, log=1)}), "Int 'x': log=1 must be True or False"),
     (lambda: Space({"x": Choice([float("nan"), 1.0])}), "Choice 'x': .*holds NaN"),
     (lambda: Space({"x": Float(0, 1)}).grid(True), "n=True"),
     (lambda: Space({"x": Float(0, 1)}).sample(0), "rng=0 must be a numpy Generator"),
     (lambda: Space({"x": Float(0, 1)}).decode([float("nan")]), "u=\\[nan\\] must be finite")],
)
def test_more_bad_arguments_are_named(build, fragment):
    with pytest.raises(ValueError, match=fragment):
        build()


def test_numpy_integer_bounds_become_python_ints():
    dim = Space({"x": Int(np.int64(0), np.int64(5))}).dimensions["x"]
    assert type(dim.low) is int and type(dim.high) is int and repr(dim) == "Int(0, 5, log=False, step=1)"


def test_one_dimension_object_under_two_names_keeps_each_name():
    shared = Float(0.0, 1.0)
    space = Space({"x": shared, "y": shared})
    with pytest.raises(ValueError, match="Float 'x'"):
        space.check({"x": 2.0, "y": 0.5})
    assert space.dimensions["x"].name == "x" and space.dimensions["y"].name == "y"


def mixed_space():
    return Space({"lr": Float(1e-4, 1.0, log=True), "x": Float(-2.0, 3.0), "q": Float(0.0, 1.0, step=0.25),
                  "width": Int(8, 64, step=8), "units": Int(1, 1000, log=True), "act": Choice(["relu", "tanh", "gelu"])})


def huge_space():
    return Space({"n": Int(0, 10**9), "big": Int(1, 10**12, log=True), "k": Int(1000, 1010, log=True),
                  "x": Float(0.0, 1.0, step=1e-7), "z": Int(-10**12, 10**12, step=7), "q": Float(0.0, 1.0, step=0.3)})


@pytest.mark.parametrize("space", [mixed_space(), huge_space()], ids=["mixed", "huge-and-log-ints"])
def test_round_unit_matches_encode_of_decode(space):
    U = np.random.default_rng(0).random((300, space.n_unit))
    U[:2] = [[0.0] * space.n_unit, [1.0] * space.n_unit]  # the corners: end points get whole bins too
    rounded = space.round_unit(U)
    expected = np.array([space.encode(space.decode(u)) for u in U])
    np.testing.assert_allclose(rounded, expected, atol=1e-12)


def test_the_space_names_points_and_draws_unseen_ones():
    space = Space({"lr": Float(1e-3, 1.0, log=True), "k": Int(0, 1), "c": Choice(["a", "b"])})
    assert space.key({"lr": 1e-3, "k": 0, "c": "a"}) == space.key({"lr": 0.0010000000000000002, "k": 0, "c": "a"})
    assert [d.continuous for d in space.dimensions.values()] == [True, False, False]
    assert not Float(0.0, 1.0, step=0.5).continuous
    seen = {space.key(p) for p in ({"lr": 0.5, "k": k, "c": c} for k in (0, 1) for c in "ab")}
    drawn = space.sample_unseen(np.random.default_rng(0), seen)
    assert drawn in space and space.key(drawn) not in seen
    finite = Space({"k": Int(0, 1)})
    assert finite.sample_unseen(np.random.default_rng(0), {finite.key({"k": 0}), finite.key({"k": 1})}) is None


@pytest.mark.parametrize("build", [lambda: Float(0, 10**400), lambda: Int(0, 10**400), lambda: Int(-10**400, 0),
                                   lambda: Float(0, 1, step=10**400)])
def test_numbers_beyond_any_float_are_named_not_overflowed(build):
    with pytest.raises(ValueError, match="'x'"):
        Space({"x": build()})


def test_a_log_int_grid_beyond_int64_stays_exact():
    values = list(Space({"z": Int(1, 2**64, log=True)}).grid(5))
    assert values[0] == {"z": 1} and values[-1] == {"z": 2**64}


def test_keys_tell_neighbouring_integers_apart_at_any_size():
    space = Space({"n": Int(0, 10**18), "x": Float(1e-3, 1.0, log=True)})
    a, b = {"n": 10**17, "x": 1e-3}, {"n": 10**17 + 1, "x": 1e-3}
    assert space.key(a) != space.key(b)
    assert space.key(a) == space.key({"n": 10**17, "x": 0.0010000000000000002})
