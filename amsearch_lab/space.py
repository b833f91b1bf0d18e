"""Search spaces: ``Space`` (and its ``Grid``) over the dimensions ``Float``, ``Int``, ``Choice``.

A *space* (搜索空间) maps each hyperparameter name to a *dimension* (``dimensions.py``). A point
of the space is a plain ``dict`` called ``params``. Every strategy sees the space through these
operations:

- ``sample(rng)``        draw ``params`` at random (a numpy ``Generator`` makes it reproducible)
- ``grid(n)``            every combination, lazily indexable like scikit-learn's ``ParameterGrid``
- ``encode`` / ``decode`` map ``params`` to and from the unit cube ``[0, 1]^d`` (BO and the GA
  work there; a ``Choice`` of k options takes k one-hot columns); ``round_unit`` moves many
  codes to those of valid points at once
- ``key(params)``        a hashable identity of a point; ``sample_unseen`` draws a point not yet seen
- ``neighbours(params)`` the points one step away along a single dimension (greedy search)
- ``params in space``    membership check
"""

from __future__ import annotations

import copy
import math
import numbers
from collections.abc import Mapping, Sequence

import numpy as np

from .dimensions import Choice, Dimension, Float, Int, Lattice

__all__ = ["Float", "Int", "Choice", "Space", "Grid", "Lattice"]


class Grid(Sequence):
    """Every combination of the grid values of each dimension, the last dimension varying
    fastest (like ``itertools.product``). Indexable and sized without building the list, nor
    any dimension's values (an Int's are a ``range``, a stepped Float's a ``Lattice``)."""

    def __init__(self, names: list[str], values: list[Sequence]):
        self.names, self.values = names, values

    @property
    def size(self) -> int:
        """Number of points; unlike ``len()``, it may exceed 2**63 - 1."""
        return math.prod(len(v) for v in self.values)

    def __len__(self) -> int:
        return self.size

    def __getitem__(self, i):
        if isinstance(i, slice):
            return [self[j] for j in range(*i.indices(self.size))]
        if i < 0:
            i += self.size
        if not 0 <= i < self.size:
            raise IndexError(f"grid index {i} out of range for a grid of {self.size} points")
        params = {}
        for name, vals in zip(reversed(self.names), reversed(self.values)):
            i, r = divmod(i, len(vals))
            params[name] = vals[r]
        return {name: params[name] for name in self.names}

    def __iter__(self):
        # by index: itertools.product would first copy every dimension's values into a tuple
        for i in range(self.size):
            yield self[i]


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
            if dim.name is not None and dim.name != name:  # one object under two names: bind a copy
                dim = copy.copy(dim)
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
        if not isinstance(rng, np.random.Generator):
            raise ValueError(f"Space.sample: rng={rng!r} must be a numpy Generator, e.g. np.random.default_rng(0)")
        return {name: dim.sample(rng) for name, dim in self.dimensions.items()}

    def grid(self, n: int = 5) -> Grid:
        """The full grid: each dimension's step lattice (Int, stepped Float), its choices, or
        ``n`` evenly spaced points per continuous Float (log-spaced when ``log=True``)."""
        if not isinstance(n, numbers.Integral) or isinstance(n, bool) or n < 1:
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
        if not np.all(np.isfinite(u)):
            raise ValueError(f"Space.decode: u={u.tolist()!r} must be finite")
        return {
            name: (dim.from_unit(u[s]) if dim.n_unit > 1 or isinstance(dim, Choice) else dim.from_unit(u[s][0]))
            for (name, dim), s in zip(self.dimensions.items(), self.unit_slices().values())
        }

    def round_unit(self, U) -> np.ndarray:
        """Each row of U (m, n_unit) moved to the code of the nearest valid point: row by row the
        same as ``encode(decode(u))``, vectorised (the Bayesian optimizer rounds thousands of
        candidates per step this way)."""
        U = np.clip(np.array(U, dtype=float, ndmin=2), 0.0, 1.0)
        if U.shape[1] != self.n_unit:
            raise ValueError(f"Space.round_unit: U has shape {U.shape}, expected (m, {self.n_unit})")
        for s, dim in zip(self.unit_slices().values(), self.dimensions.values()):
            U[:, s] = dim.round_unit(U[:, s])
        return U

    # -- identity of points ----------------------------------------------------------------------
    @staticmethod
    def unit_key(u) -> tuple:
        """A hashable identity of an encoded point, rounded to 9 decimals so that a value that went
        through a log/exp round trip (1e-3 vs 0.0010000000000000002) is the same point."""
        return tuple(np.round(np.asarray(u, dtype=float), 9))

    def key(self, params: Mapping) -> tuple:
        """A hashable identity of ``params``, one ``Dimension.key`` per parameter: exact for an Int
        of any size, a Float to 12 significant digits, a Choice by its index."""
        self.check(params)
        return tuple(dim.key(params[name]) for name, dim in self.dimensions.items())

    def sample_unseen(self, rng: np.random.Generator, seen, tries: int = 1000, key=None) -> dict | None:
        """A point drawn by ``sample(rng)`` whose ``key`` (default ``Space.key``) is not in
        ``seen``, or None when ``tries`` draws all hit evaluated points (a nearly exhausted space)."""
        key = self.key if key is None else key
        for _ in range(tries):
            params = self.sample(rng)
            if key(params) not in seen:
                return params
        return None

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
