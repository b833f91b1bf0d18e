"""The dimensions of a search space: ``Float``, ``Int`` and ``Choice``.

A *dimension* is one hyperparameter's set of values. Each one knows how to

- ``sample(rng)``                draw a value (a numpy ``Generator`` makes it reproducible);
- ``grid_values(n)``             list its values for a grid (lazily: a ``range`` or a ``Lattice``);
- ``to_unit`` / ``from_unit``    map a value to and from ``[0, 1]`` (a ``Choice`` of k options to
                                 k one-hot columns), and ``round_unit`` a block of codes to the
                                 codes of valid values, vectorised;
- ``contains`` and ``neighbours`` test membership and step to the values next to one;
- ``continuous``                 say whether its values fill an interval (a Float without a step).

Dimensions only store their arguments; they are checked when they join a ``Space`` (``bind``)
so that an error can name the parameter (scikit-learn's estimators also validate late, for the
same reason). Every operation costs the same for ``Int(0, 10)`` and ``Int(0, 10**9)``: the values
of a stepped dimension are computed from their index k (``low + k * step``), never listed.
"""

from __future__ import annotations

import math
import numbers
import operator
import sys
from collections.abc import Sequence

import numpy as np

__all__ = ["Dimension", "Float", "Int", "Choice", "Lattice", "MAX_VALUES"]

MAX_VALUES = sys.maxsize  # the most values len() can count (2**63 - 1); a numpy Generator draws below 2**63


def _is_number(x) -> bool:
    """A real number that is finite as a float (10**400 is an int, but no float can hold it)."""
    try:
        return isinstance(x, numbers.Real) and not isinstance(x, bool) and math.isfinite(x)
    except OverflowError:
        return False


class Dimension:
    """Base class of one hyperparameter. Subclasses set ``kind`` and the operations below."""

    kind = "Dimension"
    name: str | None = None

    def _fail(self, message: str):
        label = f"{self.kind} '{self.name}'" if self.name is not None else self.kind
        raise ValueError(f"{label}: {message}")

    def bind(self, name: str) -> Dimension:
        """Give the dimension its name and check its definition (called by ``Space``)."""
        self.name = name
        self.validate()
        return self

    continuous = False  # True only for a Float without a step: the values fill an interval

    def key(self, value):
        """A hashable identity of ``value`` in this dimension (``Space.key`` joins them)."""
        return value

    # subclasses implement: validate, sample, grid_values, to_unit, from_unit, round_unit,
    # contains, neighbours, n_unit (number of unit-cube columns)


class _Numeric(Dimension):
    """Shared maths of ``Float`` and ``Int``.

    A *lattice* dimension (an Int without log, a Float with a step) holds the n values
    ``low + k * step``, k = 0 … n − 1. Everything about it is arithmetic on k, never a list of
    its values, so a dimension of 10**9 values costs what one of 10 costs. In the unit interval
    each value owns an equal slice [k/n, (k+1)/n) and encodes to its centre (k + ½)/n.

    The other dimensions map [0, 1] (log-)linearly onto an interval: [low, high] for a Float,
    [low − ½, high + ½] for a log Int (see ``Int``).
    """

    def __init__(self, low, high, log=False, step=None, name=None):
        self.low, self.high, self.log, self.step = low, high, log, step
        if name is not None:
            self.bind(name)

    def __repr__(self):
        return f"{self.kind}({self.low!r}, {self.high!r}, log={self.log}, step={self.step!r})"

    n_unit = 1

    def validate(self):
        self._check_bounds()
        if self.step is not None:
            if self.log:
                self._fail(f"step={self.step!r} cannot be combined with log=True")
            self._check_step()

    def _check_bounds(self):
        if not isinstance(self.log, (bool, np.bool_)):
            self._fail(f"log={self.log!r} must be True or False")
        self.log = bool(self.log)
        for field in ("low", "high"):
            value = getattr(self, field)
            if not _is_number(value):
                self._fail(f"{field}={value!r} must be a finite number (a float: at most about 1.8e308)")
        if self.low >= self.high:
            self._fail(f"low={self.low!r} must be < high={self.high!r}")
        if self.log and self.low <= 0:
            self._fail(f"low={self.low!r} must be > 0 when log=True")

    def _check_step(self):
        if not _is_number(self.step) or self.step <= 0:
            self._fail(f"step={self.step!r} must be a positive number")
        if self.step > (self.high - self.low) * (1 + 1e-9):  # tolerate float rounding of high - low
            self._fail(f"step={self.step!r} is larger than the range high - low = {self.high - self.low!r}")
        if not self.log and not (self.high - self.low) // self.step < MAX_VALUES:  # exact for Ints; nan when inf
            self._fail(f"step={self.step!r} cuts the range high - low = {self.high - self.low!r} into more than "
                       f"{MAX_VALUES} values, the most len() can count")

    @property
    def on_lattice(self) -> bool:
        """True for an Int without log and a Float with a step."""
        return self.step is not None and not self.log

    @property
    def continuous(self) -> bool:
        """True for a Float without a step (an Int always has one)."""
        return self.step is None

    def round_unit(self, U: np.ndarray) -> np.ndarray:
        """Column U (m, 1) of unit-cube codes -> the codes of the nearest valid values: vectorised
        ``to_unit(from_unit(u))`` for m codes at once (clipped into [0, 1]). A lattice of n values
        is n equal slices of [0, 1], each sent to its centre (k + ½) / n."""
        U = np.clip(np.asarray(U, dtype=float), 0.0, 1.0)
        if not self.on_lattice:
            return U
        n = self.n_values
        return (np.minimum(np.floor(U * n), n - 1) + 0.5) / n

    # -- the lattice low + k * step (O(1) in its size: no list is ever built) -----------------
    @property
    def n_values(self) -> int:
        """Number of lattice values: n = ⌊(high − low) / step⌋ + 1."""
        q = (self.high - self.low) / self.step
        # q is a quotient of rounded floats, a few ulps off: 1 / 1e-9 = 999999999.9999999, not 1e9
        return math.floor(q * (1 + 4 * sys.float_info.epsilon) + 1e-9) + 1

    def value_at(self, k: int):
        """The k-th lattice value ``low + k * step``, rounded to 12 decimals (0.1 * 3 -> 0.3,
        not 0.30000000000000004) and kept inside [low, high]."""
        value = round(self.low + k * self.step, 12)
        return float(min(max(value, self.low), self.high))

    def index(self, value) -> int:
        """The k of the lattice value nearest to ``value``: round((value − low) / step), clipped
        to 0 … n − 1."""
        return min(max(round((value - self.low) / self.step), 0), self.n_values - 1)

    def lattice(self) -> Sequence:
        """All lattice values, as a lazy sequence like ``range``: ``len`` and ``[k]`` are arithmetic."""
        return Lattice(self)

    # -- the map between value and unit interval --------------------------------------------
    def _warp(self, v):
        return np.log(v) if self.log else v

    def _unwarp(self, w):
        return np.exp(w) if self.log else w

    def _unit_bounds(self) -> tuple:
        """The interval (in log space when ``log=True``) that [0, 1] maps onto linearly."""
        return self._warp(self.low), self._warp(self.high)

    def to_unit(self, value) -> float:
        """u = (k + ½) / n on a lattice, else (w − lo) / (hi − lo) with w = value (log(value)
        when ``log=True``)."""
        if self.on_lattice:
            return (self.index(value) + 0.5) / self.n_values
        lo, hi = self._unit_bounds()
        w = self._warp(value)
        if not math.isfinite(hi - lo):  # a range wider than the largest float (±1.7e308): halve it, exactly
            w, lo, hi = w / 2, lo / 2, hi / 2
        return float((w - lo) / (hi - lo))

    def _from_unit_continuous(self, u) -> float:
        """value = w = lo + u (hi − lo) (exp(w) when ``log=True``), kept inside [low, high]."""
        u = float(np.clip(u, 0.0, 1.0))
        lo, hi = self._unit_bounds()
        if math.isfinite(hi - lo):
            w = lo + u * (hi - lo)
        else:  # the same on halved bounds: no step of the sum overflows
            w = 2 * (lo / 2 + u * (hi / 2 - lo / 2))
        value = float(self._unwarp(w))
        return min(max(value, self.low), self.high)  # exp(log(low)) may land a hair outside

    def from_unit(self, u):
        if self.on_lattice:  # the slice [k/n, (k+1)/n) holds u
            n = self.n_values
            return self.value_at(min(int(float(np.clip(u, 0.0, 1.0)) * n), n - 1))
        return self._from_unit_continuous(u)

    def sample(self, rng: np.random.Generator):
        if self.on_lattice:
            return self.value_at(int(rng.integers(self.n_values)))
        return self.from_unit(rng.random())

    def contains(self, value) -> bool:
        if not _is_number(value) or not (self.low <= value <= self.high):
            return False
        if not self.on_lattice:
            return True
        # on the lattice up to a millionth of a step, plus the float error of a value as large as
        # the bounds (4 ulps): low + k * step is rarely exact once k is in the billions
        tolerance = 1e-6 * self.step + 4 * math.ulp(max(abs(self.low), abs(self.high)))
        return abs(value - self.value_at(self.index(value))) <= tolerance

    def neighbours(self, value, scale: float = 0.1) -> list:
        """Values one step below and above ``value``: the next lattice values, else ``scale`` of
        the (log) range. Values outside [low, high] are dropped."""
        if self.on_lattice:
            k = self.index(value)
            return [self.value_at(j) for j in (k - 1, k + 1) if 0 <= j < self.n_values]
        u = self.to_unit(value)
        candidates = [self.from_unit(u + d) for d in (-scale, scale) if 0.0 <= u + d <= 1.0]
        return [c for c in dict.fromkeys(candidates) if c != value]


class Lattice(Sequence):
    """The values ``low + k * step`` of a stepped dimension, computed when indexed (like ``range``)."""

    def __init__(self, dim: _Numeric):
        self.dim = dim

    def __repr__(self):
        return f"Lattice({self.dim!r}, n={len(self)})"

    def __len__(self) -> int:
        return self.dim.n_values

    def __getitem__(self, k):
        if isinstance(k, slice):
            return [self[j] for j in range(*k.indices(len(self)))]
        k = operator.index(k)
        if k < 0:
            k += len(self)
        if not 0 <= k < len(self):
            raise IndexError(f"lattice index {k} out of range for {len(self)} values")
        return self.dim.value_at(k)


class Float(_Numeric):
    """A real-valued hyperparameter in ``[low, high]``; ``log=True`` samples ``log(value)``
    uniformly (for learning rates, regularisation strengths); ``step`` restricts it to
    ``low, low + step, ...``."""

    kind = "Float"

    def validate(self):
        super().validate()
        self.low, self.high = float(self.low), float(self.high)

    def key(self, value) -> float:
        """The value to 12 significant digits, so that a value that went through a log/exp round
        trip (1e-3 against 0.0010000000000000002) is the same point."""
        return float(f"{value:.12g}")

    def grid_values(self, n: int = 5) -> Sequence:
        if self.step is not None:
            return self.lattice()
        return [self.from_unit(u) for u in np.linspace(0.0, 1.0, n)]


class Int(_Numeric):
    """An integer hyperparameter in ``[low, high]`` (both included) on the lattice
    ``low, low + step, ...``; ``log=True`` spreads samples evenly over ``log(value)``.

    With ``log=True`` each integer v owns the whole bin [v − ½, v + ½]: u in [0, 1] maps
    linearly onto [log(low − ½), log(high + ½)] and exp of it is rounded, so v is drawn with
    the log-uniform mass

        P(v) = log((v + ½) / (v − ½)) / log((high + ½) / (low − ½)),

    end points included (a map onto [log low, log high] would give ``low`` and ``high`` only half
    a bin). v encodes to the log-centre of its bin, ½ (log(v − ½) + log(v + ½)) mapped the same
    way. Optuna widens the interval the same way (``optuna/_transform.py``, ``_SearchSpaceTransform``).
    All arithmetic on the lattice (sample, contains, neighbours, grid) is on Python ints, exact at
    any size; the unit-cube code is a float, so ``decode(encode(v)) == v`` holds up to about 2**50
    values (beyond that it decodes to a value near v).
    """

    kind = "Int"

    def __init__(self, low, high, log=False, step=1, name=None):
        super().__init__(low, high, log=log, step=step, name=name)

    def validate(self):
        for field in ("low", "high", "step"):
            value = getattr(self, field)
            if not (isinstance(value, numbers.Integral) and not isinstance(value, bool)):
                self._fail(f"{field}={value!r} must be an integer")
        self._check_bounds()
        if self.log and self.step != 1:
            self._fail(f"step={self.step!r} must be 1 when log=True")
        self._check_step()
        self.low, self.high, self.step = int(self.low), int(self.high), int(self.step)  # np.int64 -> int

    # -- the lattice, in exact integer arithmetic ---------------------------------------------
    @property
    def n_values(self) -> int:
        return (self.high - self.low) // self.step + 1

    def value_at(self, k: int) -> int:
        return self.low + k * self.step

    def index(self, value) -> int:
        k, r = divmod(value - self.low, self.step)
        k += 2 * r >= self.step  # round half up
        return int(min(max(k, 0), self.n_values - 1))

    def lattice(self) -> range:
        return range(self.low, self.high + 1, self.step)

    # -- the log map onto [log(low − ½), log(high + ½)] ---------------------------------------
    def _unit_bounds(self) -> tuple:
        if self.log:
            return math.log(self.low - 0.5), math.log(self.high + 0.5)
        return super()._unit_bounds()

    def to_unit(self, value) -> float:
        if self.log:  # the log-centre of the bin [v − ½, v + ½]
            lo, hi = self._unit_bounds()
            return float(((np.log(value - 0.5) + np.log(value + 0.5)) / 2 - lo) / (hi - lo))
        return super().to_unit(value)

    def from_unit(self, u):
        if self.log:
            return round(self._from_unit_continuous(u))
        return super().from_unit(u)

    def round_unit(self, U: np.ndarray) -> np.ndarray:
        if not self.log:
            return super().round_unit(U)
        # exp onto [low − ½, high + ½], rounded; back to the bin's log-centre
        U = np.clip(np.asarray(U, dtype=float), 0.0, 1.0)
        lo, hi = self._unit_bounds()
        value = np.round(np.clip(np.exp(lo + U * (hi - lo)), self.low, self.high))
        return ((np.log(value - 0.5) + np.log(value + 0.5)) / 2 - lo) / (hi - lo)

    def contains(self, value) -> bool:
        if not (isinstance(value, numbers.Integral) and not isinstance(value, bool)):
            return False
        value = int(value)
        return self.low <= value <= self.high and (value - self.low) % self.step == 0

    def grid_values(self, n: int = 5) -> Sequence:
        if self.log:  # n log-spaced values from low to high, rounded (repeats merged), the end
            # points exact: above 2**53 a float cannot hold every integer, so clip into the range
            inner = {min(max(round(float(v)), self.low), self.high)
                     for v in np.geomspace(float(self.low), float(self.high), n)}
            return sorted(inner | {self.low, self.high})
        return self.lattice()

    def neighbours(self, value, scale: float = 0.1) -> list:
        if self.log:
            u = self.to_unit(value)
            out = [self.from_unit(u + d) for d in (-scale, scale) if 0.0 <= u + d <= 1.0]
            # rounding can swallow a small log step: fall back to the next integer
            if value > self.low and value - 1 not in out and not any(o < value for o in out):
                out.insert(0, value - 1)
            if value < self.high and not any(o > value for o in out):
                out.append(value + 1)
            return [o for o in dict.fromkeys(out) if o != value]
        return super().neighbours(value, scale)


class Choice(Dimension):
    """A categorical hyperparameter: one of ``choices`` (numbers, strings, booleans, None)."""

    kind = "Choice"

    def __init__(self, choices, name=None):
        self.choices = list(choices) if isinstance(choices, (list, tuple, range)) else choices
        if name is not None:
            self.bind(name)

    def __repr__(self):
        return f"Choice({self.choices!r})"

    def validate(self):
        if not isinstance(self.choices, list):
            self._fail(f"choices={self.choices!r} must be a list or tuple")
        if len(self.choices) == 0:
            self._fail("choices=[] must hold at least one option")
        seen = []
        for c in self.choices:
            if isinstance(c, numbers.Real) and c != c:
                self._fail(f"choices={self.choices!r} holds NaN, which equals nothing and can never be matched")
            if any(c == s and type(c) is type(s) for s in seen):
                self._fail(f"choices={self.choices!r} holds {c!r} twice")
            seen.append(c)

    @property
    def n_unit(self) -> int:
        return len(self.choices)

    def index(self, value) -> int:
        for i, c in enumerate(self.choices):
            if c == value and type(c) is type(value):
                return i
        for i, c in enumerate(self.choices):  # 3 == 3.0, numpy scalars, ...
            if c == value:
                return i
        raise ValueError(f"Choice '{self.name}': {value!r} is not one of {self.choices!r}")

    def sample(self, rng: np.random.Generator):
        return self.choices[int(rng.integers(len(self.choices)))]

    def grid_values(self, n: int = 5) -> list:
        return list(self.choices)

    def to_unit(self, value) -> np.ndarray:
        onehot = np.zeros(len(self.choices))
        onehot[self.index(value)] = 1.0
        return onehot

    def from_unit(self, u):
        return self.choices[int(np.argmax(np.asarray(u, dtype=float)))]

    def key(self, value) -> int:
        """The position of ``value`` among the choices (choices need not be hashable)."""
        return self.index(value)

    def round_unit(self, U: np.ndarray) -> np.ndarray:
        """Block U (m, k) of scores -> the one-hot code of each row's arg-max choice."""
        return np.eye(len(self.choices))[np.argmax(np.asarray(U, dtype=float), axis=1)]

    def contains(self, value) -> bool:
        try:
            self.index(value)
        except ValueError:
            return False
        return True

    def neighbours(self, value, scale: float = 0.1) -> list:
        return [c for c in self.choices if not (c == value and type(c) is type(value))]
