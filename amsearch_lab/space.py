"""Search spaces: ``Float``, ``Int``, ``Choice`` and ``Space``.

A *space* (搜索空间) maps each hyperparameter name to a *dimension*. A point of the space is a
plain ``dict`` called ``params``. Every strategy sees the space through five operations:

- ``sample(rng)``        draw ``params`` at random (a numpy ``Generator`` makes it reproducible)
- ``grid(n)``            every combination, lazily indexable like scikit-learn's ``ParameterGrid``
- ``encode`` / ``decode`` map ``params`` to and from the unit cube ``[0, 1]^d`` (BO and the GA
  work there; a ``Choice`` of k options takes k one-hot columns)
- ``neighbours(params)`` the points one step away along a single dimension (greedy search)
- ``params in space``    membership check

Dimensions only store their arguments; they are checked when they join a ``Space`` so that an
error can name the parameter (scikit-learn's estimators also validate late, for the same reason).
"""

from __future__ import annotations

import itertools
import math
import numbers
from collections.abc import Mapping, Sequence

import numpy as np

__all__ = ["Float", "Int", "Choice", "Space", "Grid"]


def _is_number(x) -> bool:
    return isinstance(x, numbers.Real) and not isinstance(x, bool) and math.isfinite(x)


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

    # subclasses implement: validate, sample, grid_values, to_unit, from_unit, contains,
    # neighbours, n_unit (number of unit-cube columns)


class _Numeric(Dimension):
    """Shared maths of ``Float`` and ``Int``: a (log-)linear map of [low, high] onto [0, 1]."""

    def __init__(self, low, high, log=False, step=None, name=None):
        self.low, self.high, self.log, self.step = low, high, bool(log), step
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
        for field in ("low", "high"):
            value = getattr(self, field)
            if not _is_number(value):
                self._fail(f"{field}={value!r} must be a finite number")
        if self.low >= self.high:
            self._fail(f"low={self.low!r} must be < high={self.high!r}")
        if self.log and self.low <= 0:
            self._fail(f"low={self.low!r} must be > 0 when log=True")

    def _check_step(self):
        if not _is_number(self.step) or self.step <= 0:
            self._fail(f"step={self.step!r} must be a positive number")
        if self.step > (self.high - self.low) * (1 + 1e-9):  # tolerate float rounding of high - low
            self._fail(f"step={self.step!r} is larger than the range high - low = {self.high - self.low!r}")

    # -- the map between value and unit interval --------------------------------------------
    def _warp(self, v):
        return np.log(v) if self.log else v

    def _unwarp(self, w):
        return np.exp(w) if self.log else w

    def to_unit(self, value) -> float:
        lo, hi = self._warp(self.low), self._warp(self.high)
        return float((self._warp(value) - lo) / (hi - lo))

    def _from_unit_continuous(self, u) -> float:
        u = float(np.clip(u, 0.0, 1.0))
        lo, hi = self._warp(self.low), self._warp(self.high)
        value = float(self._unwarp(lo + u * (hi - lo)))
        return min(max(value, self.low), self.high)  # exp(log(low)) may land a hair outside

    def _snap(self, value):
        """Round a value onto the step lattice ``low + k * step`` inside [low, high]."""
        if self.step is None:
            return float(min(max(value, self.low), self.high))
        k_max = math.floor((self.high - self.low) / self.step + 1e-9)
        k = min(max(round((value - self.low) / self.step), 0), k_max)
        value = round(self.low + k * self.step, 12)  # 0.1 * 3 -> 0.3, not 0.30000000000000004
        return min(max(value, self.low), self.high)

    def lattice(self) -> list:
        """All values of a stepped dimension."""
        k_max = math.floor((self.high - self.low) / self.step + 1e-9)
        return [self._snap(self.low + k * self.step) for k in range(k_max + 1)]

    def from_unit(self, u):
        return self._snap(self._from_unit_continuous(u))

    def sample(self, rng: np.random.Generator):
        if self.step is not None:
            values = self.lattice()
            return values[int(rng.integers(len(values)))]
        return self.from_unit(rng.random())

    def contains(self, value) -> bool:
        if not _is_number(value) or not (self.low <= value <= self.high):
            return False
        if self.step is None:
            return True
        k = (value - self.low) / self.step
        return abs(k - round(k)) < 1e-6

    def neighbours(self, value, scale: float = 0.1) -> list:
        """Values one step below and above ``value``: the dimension's step, else ``scale`` of
        the (log) range. Values outside [low, high] are dropped."""
        if self.step is not None:
            candidates = [value - self.step, value + self.step]
            candidates = [self._snap(c) for c in candidates if self.low <= c + 1e-12 and c - 1e-12 <= self.high]
        else:
            u = self.to_unit(value)
            candidates = [self.from_unit(u + d) for d in (-scale, scale) if 0.0 <= u + d <= 1.0]
        return [c for c in dict.fromkeys(candidates) if c != value]


class Float(_Numeric):
    """A real-valued hyperparameter in ``[low, high]``; ``log=True`` samples ``log(value)``
    uniformly (for learning rates, regularisation strengths); ``step`` restricts it to
    ``low, low + step, ...``."""

    kind = "Float"

    def validate(self):
        super().validate()
        self.low, self.high = float(self.low), float(self.high)

    def grid_values(self, n: int = 5) -> list:
        if self.step is not None:
            return self.lattice()
        return [self.from_unit(u) for u in np.linspace(0.0, 1.0, n)]

    def _snap(self, value):
        return float(super()._snap(value))


class Int(_Numeric):
    """An integer hyperparameter in ``[low, high]`` (both included) on the lattice
    ``low, low + step, ...``; ``log=True`` spreads samples evenly over ``log(value)``."""

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

    def _snap(self, value):
        if self.log:
            return int(min(max(round(value), self.low), self.high))
        return int(super()._snap(value))

    def to_unit(self, value) -> float:
        if self.log:
            return super().to_unit(value)
        # Each of the n lattice values owns an equal slice of [0, 1]; encode to its centre.
        values = self.lattice()
        k = (value - self.low) / self.step
        return float((k + 0.5) / len(values))

    def from_unit(self, u):
        if self.log:
            return self._snap(self._from_unit_continuous(u))
        values = self.lattice()
        k = min(int(float(np.clip(u, 0.0, 1.0)) * len(values)), len(values) - 1)
        return values[k]

    def sample(self, rng: np.random.Generator):
        if self.log:
            return self.from_unit(rng.random())
        return super().sample(rng)

    def contains(self, value) -> bool:
        if not (isinstance(value, numbers.Integral) and not isinstance(value, bool)):
            return False
        if self.log:
            return self.low <= value <= self.high
        return super().contains(value)

    def lattice(self) -> list:
        return list(range(self.low, self.high + 1, self.step))

    def grid_values(self, n: int = 5) -> list:
        if self.log:
            return sorted({self.from_unit(u) for u in np.linspace(0.0, 1.0, n)})
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

    def contains(self, value) -> bool:
        try:
            self.index(value)
        except ValueError:
            return False
        return True

    def neighbours(self, value, scale: float = 0.1) -> list:
        return [c for c in self.choices if not (c == value and type(c) is type(value))]


class Grid(Sequence):
    """Every combination of the grid values of each dimension, the last dimension varying
    fastest (like ``itertools.product``). Indexable and sized without building the list."""

    def __init__(self, names: list[str], values: list[list]):
        self.names, self.values = names, values

    def __len__(self) -> int:
        return math.prod(len(v) for v in self.values)

    def __getitem__(self, i):
        if isinstance(i, slice):
            return [self[j] for j in range(*i.indices(len(self)))]
        if i < 0:
            i += len(self)
        if not 0 <= i < len(self):
            raise IndexError(f"grid index {i} out of range for a grid of {len(self)} points")
        params = {}
        for name, vals in zip(reversed(self.names), reversed(self.values)):
            i, r = divmod(i, len(vals))
            params[name] = vals[r]
        return {name: params[name] for name in self.names}

    def __iter__(self):
        for combo in itertools.product(*self.values):
            yield dict(zip(self.names, combo))


class Space:
    """A mapping ``{name: dimension}``; its points are ``params`` dicts."""

    def __init__(self, dimensions: Mapping[str, Dimension]):
        if not isinstance(dimensions, Mapping) or len(dimensions) == 0:
            raise ValueError(f"Space: dimensions={dimensions!r} must be a non-empty dict of name -> dimension")
        self.dimensions: dict[str, Dimension] = {}
        for name, dim in dimensions.items():
            if not isinstance(name, str) or not name:
                raise ValueError(f"Space: parameter name {name!r} must be a non-empty string")
            if not isinstance(dim, Dimension):
                raise ValueError(f"Space: parameter '{name}' has {dim!r}, not a Float, Int or Choice")
            self.dimensions[name] = dim.bind(name)

    def __repr__(self):
        inner = ", ".join(f"{n!r}: {d!r}" for n, d in self.dimensions.items())
        return f"Space({{{inner}}})"

    def __len__(self):
        return len(self.dimensions)

    @property
    def names(self) -> list[str]:
        return list(self.dimensions)

    # -- sampling and grids -------------------------------------------------------------------
    def sample(self, rng: np.random.Generator) -> dict:
        """One point drawn independently along each dimension."""
        return {name: dim.sample(rng) for name, dim in self.dimensions.items()}

    def grid(self, n: int = 5) -> Grid:
        """The full grid: each dimension's step lattice (Int, stepped Float), its choices, or
        ``n`` evenly spaced points per continuous Float (log-spaced when ``log=True``)."""
        if not isinstance(n, numbers.Integral) or n < 1:
            raise ValueError(f"Space.grid: n={n!r} must be a positive integer")
        return Grid(self.names, [dim.grid_values(n) for dim in self.dimensions.values()])

    # -- unit cube ------------------------------------------------------------------------------
    @property
    def n_unit(self) -> int:
        """Number of unit-cube columns (a Choice of k options takes k one-hot columns)."""
        return sum(dim.n_unit for dim in self.dimensions.values())

    def unit_slices(self) -> dict[str, slice]:
        """Which columns of an encoded vector belong to each parameter."""
        out, start = {}, 0
        for name, dim in self.dimensions.items():
            out[name] = slice(start, start + dim.n_unit)
            start += dim.n_unit
        return out

    def encode(self, params: Mapping) -> np.ndarray:
        """``params`` -> vector in ``[0, 1]^n_unit``."""
        self.check(params)
        parts = [np.atleast_1d(dim.to_unit(params[name])) for name, dim in self.dimensions.items()]
        return np.concatenate(parts).astype(float)

    def decode(self, u) -> dict:
        """Vector in the unit cube -> the nearest valid ``params`` (rounded to steps, arg-max
        over one-hot blocks). Values outside [0, 1] are clipped."""
        u = np.asarray(u, dtype=float).ravel()
        if u.shape != (self.n_unit,):
            raise ValueError(f"Space.decode: u has shape {u.shape}, expected ({self.n_unit},)")
        return {
            name: (dim.from_unit(u[s]) if dim.n_unit > 1 or isinstance(dim, Choice) else dim.from_unit(u[s][0]))
            for (name, dim), s in zip(self.dimensions.items(), self.unit_slices().values())
        }

    # -- neighbourhoods and membership ----------------------------------------------------------
    def neighbours(self, params: Mapping, scale: float = 0.1) -> list[dict]:
        """Points that differ from ``params`` in exactly one dimension by one step (the
        dimension's step, ``scale`` of its unit range, or another choice)."""
        self.check(params)
        out = []
        for name, dim in self.dimensions.items():
            for value in dim.neighbours(params[name], scale):
                out.append({**params, name: value})
        return out

    def __contains__(self, params) -> bool:
        return (
            isinstance(params, Mapping)
            and set(params) == set(self.dimensions)
            and all(dim.contains(params[name]) for name, dim in self.dimensions.items())
        )

    def check(self, params: Mapping) -> None:
        """Raise ``ValueError`` naming the first parameter that is missing or out of the space."""
        if not isinstance(params, Mapping):
            raise ValueError(f"params={params!r} must be a dict")
        extra = set(params) - set(self.dimensions)
        if extra:
            raise ValueError(f"params has unknown parameter(s) {sorted(extra)}; the space has {self.names}")
        for name, dim in self.dimensions.items():
            if name not in params:
                raise ValueError(f"params is missing parameter '{name}'")
            if not dim.contains(params[name]):
                raise ValueError(f"{dim.kind} '{name}': value {params[name]!r} is outside {dim!r}")
