"""Property-based tests of ``search()`` with every black-box strategy (hypothesis).

Hypothesis draws a space (Floats, Ints and Choices with log scales, steps, huge and tiny ranges,
negative bounds, choices of mixed types) and an objective (a deterministic function of the params
that sometimes returns NaN, ±inf, ±1e308, 5e-324, a non-number, or raises). For every strategy
in ``STRATEGIES`` except ``gradient`` (it needs ``value_and_grad``) it checks that

1. every proposal is inside the space;
2. the search never raises: a failing objective makes a failed trial, a finite value an ok one;
3. the storage file is valid JSON Lines and ``History.load`` reads back the same trials;
4. a search resumed from its file equals an uninterrupted one;
5. the same seed gives the same params.

A ``ValueError`` from a strategy's constructor means "this strategy does not handle this
space" and the example is rejected; any other error is a failure.
"""

import hashlib
import json
import math
import struct
import tempfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, reject, settings
from hypothesis import strategies as st

from amsearch_lab import STRATEGIES, Choice, Float, History, Int, Space, search

NAMES = sorted(name for name in STRATEGIES if name != "gradient")
OPTIONS = {  # small settings so that a budget of 6-15 reaches the model / breeding code
    "bayes": {"n_candidates": 64, "n_initial": 4},
    "genetic": {"population": 4},
    "evolution": {"population": 4, "sample_size": 2},
}
NEVER_EXHAUSTED = {"random", "genetic", "evolution"}  # these never raise SearchExhausted

SETTINGS = settings(max_examples=40, deadline=None, derandomize=True, database=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])

pytestmark = pytest.mark.filterwarnings("ignore:search. the grid has:UserWarning")


# -- spaces ---------------------------------------------------------------------------------------
@st.composite
def floats(draw):
    kind = draw(st.sampled_from(["plain", "log", "step", "special"]))
    if kind == "plain":
        low = draw(st.sampled_from([0.0, -1.0, -1e3, 1e-3, 1e6, -1e9]) | st.floats(-1e6, 1e6))
        high = low + 10.0 ** draw(st.integers(-9, 12))
        return Float(low, max(high, math.nextafter(low, math.inf)))  # a width below one ulp: two values
    if kind == "log":
        low = draw(st.sampled_from([1.0, 2.5, 7.0])) * 10.0 ** draw(st.integers(-12, 4))
        return Float(low, low * draw(st.sampled_from([1 + 1e-9, 1.5, 10.0, 1e4, 1e12])), log=True)
    if kind == "step":
        low = draw(st.sampled_from([0.0, -1.0, -1e3, 0.5, 1e-3, 123.456]))
        step = draw(st.sampled_from([1e-7, 1e-3, 0.1, 0.25, 1.0, 7.0, 1e6]))
        k = draw(st.integers(1, 20) | st.integers(1, 10**7))
        high = low + (k + draw(st.sampled_from([0.0, 0.5]))) * step
        while high - low < step:  # -1e3 + 1e-7 rounds to less than a step above -1e3: widen by ulps
            high = math.nextafter(high, math.inf)
        return Float(low, high, step=step)
    return draw(st.sampled_from([
        lambda: Float(0.0, 1.0, step=1e-7), lambda: Float(1e-8, 1e4, log=True), lambda: Float(-1e300, 1e300),
        lambda: Float(-1.7e308, 1.7e308), lambda: Float(1e-300, 1e300, log=True), lambda: Float(-5.0, -4.0),
        lambda: Float(5e-324, 1.0, log=True), lambda: Float(-5e-324, 5e-324), lambda: Float(1e308, 1.7e308),
        lambda: Float(-1e300, 1e300, step=1e290),
    ]))()


@st.composite
def ints(draw):
    kind = draw(st.sampled_from(["plain", "log", "special"]))
    if kind == "plain":
        low = draw(st.sampled_from([0, -1, 1, -10**9]) | st.integers(-10**9, 10**9))
        step = draw(st.sampled_from([1, 1, 1, 2, 3, 7, 1000]))
        width = draw(st.integers(1, 30) | st.sampled_from([10**9, 10**12, 10**18]))
        return Int(low, low + max(width, step), step=step)
    if kind == "log":
        low = draw(st.sampled_from([1, 2, 1000]) | st.integers(1, 10**6))
        return Int(low, low + draw(st.integers(1, 20) | st.sampled_from([10, 10**6, 10**12, 10**18])), log=True)
    return draw(st.sampled_from([
        lambda: Int(0, 10**9), lambda: Int(1000, 1010, log=True), lambda: Int(1, 2, log=True),
        lambda: Int(-10**18, 10**18, step=10**9), lambda: Int(-7, -3), lambda: Int(-4 * 10**18, 4 * 10**18),
        lambda: Int(0, 2**62), lambda: Int(1, 2**62, log=True),
    ]))()


CHOICE_VALUES = (st.text(max_size=4) | st.integers(-10**20, 10**20) | st.floats(allow_nan=False, allow_infinity=False)
                 | st.booleans() | st.none() | st.tuples(st.integers(-3, 3), st.text(max_size=2)))


def choices():
    # options are distinct as Choice counts them: type-exact (1, 1.0 and True are three options)
    return st.lists(CHOICE_VALUES, min_size=1, max_size=5, unique_by=lambda c: (type(c), c)).map(Choice)


@st.composite
def spaces(draw):
    dims = draw(st.lists(st.one_of(floats(), ints(), choices()), min_size=1, max_size=4))
    return Space({f"p{i}": dim for i, dim in enumerate(dims)})


# -- objectives ------------------------------------------------------------------------------------
class Raise:
    def __repr__(self):
        return "raise"


SPECIAL = [math.nan, math.inf, -math.inf, 1e308, -1e308, 5e-324, -5e-324, 0.0, 10**400, np.float64(math.nan),
           np.float32(3e38), 2**1000, -0.0, True, "1.0", None, Raise()]


def _plain_json(params) -> str:
    return json.dumps(params, sort_keys=True, default=lambda x: x.item())  # a tuple hashes as its list


class Objective:
    """A deterministic function of the params: with probability ``p_special`` (decided by a hash
    of the params) one of ``specials``, else the finite ``sum(asinh(numeric params)) + hash``."""

    def __init__(self, specials, p_special, salt):
        self.specials, self.p_special, self.salt = specials, p_special, salt

    def __repr__(self):
        return f"Objective(specials={self.specials!r}, p_special={self.p_special}, salt={self.salt})"

    def __call__(self, params):
        digest = hashlib.sha256(f"{self.salt}:{_plain_json(params)}".encode()).digest()
        u, pick = int.from_bytes(digest[:8], "big") / 2**64, int.from_bytes(digest[8:16], "big")
        if self.specials and u < self.p_special:
            special = self.specials[pick % len(self.specials)]
            if isinstance(special, Raise):
                raise RuntimeError("the objective failed")
            return special
        numeric = [v for v in params.values() if isinstance(v, (int, float)) and not isinstance(v, bool)]
        return math.fsum(math.asinh(v) for v in numeric) + u


@st.composite
def objectives(draw):
    specials = draw(st.lists(st.sampled_from(SPECIAL), max_size=4))
    return Objective(specials, draw(st.sampled_from([0.0, 0.3, 0.7, 1.0])), draw(st.integers(0, 2**16)))


def expected_value(objective, params):
    """What the trial of ``params`` must hold: the finite value, or None for a failed trial."""
    try:
        raw = objective(dict(params))
        raw = raw.item() if hasattr(raw, "item") else raw
        value = None if isinstance(raw, (bool, str)) or raw is None else float(raw)
    except (RuntimeError, OverflowError):
        return None
    return value if value is not None and math.isfinite(value) else None


# -- helpers ---------------------------------------------------------------------------------------
def same(a, b) -> bool:
    """Type-exact equality (1, 1.0 and True differ; so do a tuple and a list)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, (list, tuple)):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    return a == b


def summary(history) -> list:
    return [(t.number, t.params, t.value, t.status) for t in history]


def same_trials(a, b) -> bool:
    return len(a) == len(b) and all(same(x, y) for x, y in zip(summary(a), summary(b)))


def n_doubles(low: float, high: float) -> int:
    """How many float64 values lie in [low, high] (their bit patterns, ordered, are consecutive)."""
    def ordered(x):
        bits = struct.unpack("<q", struct.pack("<d", x))[0]
        return bits if bits >= 0 else -(bits & 0x7FFFFFFFFFFFFFFF)
    return ordered(high) - ordered(low) + 1


def n_points(space, cap: int = 10**6) -> int:
    """Number of points of the space (at most ``cap``)."""
    total = 1
    for dim in space.dimensions.values():
        if isinstance(dim, Choice):
            n = len(dim.choices)
        elif isinstance(dim, Int):
            n = (dim.high - dim.low) // dim.step + 1
        elif dim.step is not None:
            n = math.floor((dim.high - dim.low) / dim.step + 1e-9) + 1
        else:
            n = n_doubles(dim.low, dim.high)
        total = min(total * n, cap)
    return total


def grid_size(space) -> int:
    return math.prod(len(values) for values in space.grid(5).values)


def applicable(name, space, seed, minimize) -> dict:
    """The options for ``name``; rejects the example when the constructor refuses the space."""
    options = OPTIONS.get(name, {})
    try:
        STRATEGIES[name](space, seed=seed, minimize=minimize, **options)
    except ValueError:
        reject()
    return options


def run(name, objective, space, budget, seed, minimize, storage=None):
    return search(objective, space, name, budget=budget, seed=seed, storage=storage, minimize=minimize,
                  progress=False, options=OPTIONS.get(name))


common = dict(space=spaces(), objective=objectives(), budget=st.integers(6, 15), seed=st.integers(0, 2**32 - 1),
              minimize=st.booleans())


# -- the properties --------------------------------------------------------------------------------
@pytest.mark.parametrize("name", NAMES)
@SETTINGS
@given(**common)
def test_search_stays_inside_never_raises_and_stores_valid_jsonl(name, space, objective, budget, seed, minimize):
    applicable(name, space, seed, minimize)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "history.jsonl"
        history = run(name, objective, space, budget, seed, minimize, storage=path)
        text = path.read_text(encoding="utf-8")
        loaded = History.load(path)

    # 1. inside the space; 2. every outcome recorded as it should be
    for i, trial in enumerate(history):
        assert trial.number == i
        assert trial.params in space, f"{name} proposed {trial.params} outside {space}"
        value = expected_value(objective, trial.params)
        assert (trial.status, trial.value) == (("failed", None) if value is None else ("ok", value)), trial
    if name in NEVER_EXHAUSTED:
        assert len(history) == budget
    elif name == "grid":
        assert len(history) == min(budget, grid_size(space))
    elif len(history) < budget:  # greedy, bayes: stop early only once every point was evaluated
        assert len({_plain_json(t.params) for t in history}) >= n_points(space), f"{name} stopped at {len(history)}"

    # 3. the file: one JSON object per line, numbered 0..n-1, read back as the same trials
    assert text == "" or text.endswith("\n")
    records = [json.loads(line) for line in text.splitlines()]
    assert [r["number"] for r in records] == list(range(len(history)))
    assert len(loaded) == len(history)
    for t, u in zip(history, loaded):
        assert same((t.number, json.loads(_plain_json(t.params)), t.value, t.status),
                    (u.number, u.params, u.value, u.status)), (t, u)


@pytest.mark.parametrize("name", NAMES)
@SETTINGS
@given(**common, data=st.data())
def test_resumed_search_equals_uninterrupted(name, space, objective, budget, seed, minimize, data):
    applicable(name, space, seed, minimize)
    k = data.draw(st.integers(0, budget - 1), label="first budget")
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "history.jsonl"
        run(name, objective, space, k, seed, minimize, storage=path)
        resumed = run(name, objective, space, budget, seed, minimize, storage=path)
    uninterrupted = run(name, objective, space, budget, seed, minimize)
    assert same_trials(resumed, uninterrupted), (summary(resumed), summary(uninterrupted))


@pytest.mark.parametrize("name", NAMES)
@SETTINGS
@given(**common)
def test_same_seed_same_params(name, space, objective, budget, seed, minimize):
    applicable(name, space, seed, minimize)
    a, b = (run(name, objective, space, budget, seed, minimize) for _ in range(2))
    assert same_trials(a, b), (summary(a), summary(b))
