"""Greedy search (贪婪搜索): coordinate-wise hill climbing from the current best point.

The source material's rule is "in each step take the current best parameter combination and
update from it". Made precise, one *sweep* does, for each dimension ``d`` in turn:

1. propose the neighbours of the centre ``c`` along ``d`` (``space.neighbours``: one lattice
   step, another choice, or ``scale`` of the unit range for a continuous Float);
2. once they are evaluated, move to the best of them if its loss is lower than ``loss(c)``.

A sweep in which no dimension moved means ``c`` is a local optimum *at this step size*: the
step shrinks, ``scale <- shrink * scale``. Below ``min_scale`` the search is stuck; it restarts
from a random point (``restart=True``) or stops (``SearchExhausted``). Every evaluated point is
remembered, so a point is never proposed twice: an already known neighbour takes part in the
comparison with its stored loss, and a failed one counts as ``+inf`` (never an improvement).

Greedy search only ever accepts improvements, so from one start it ends in the local optimum
whose basin holds the start: that is why it needs restarts on a multimodal function.

In a parallel search the neighbours of one step run at once; ``ask()`` raises
``fidelity.WaitForTrials`` until all of them are told, since the move needs every result.
"""

from __future__ import annotations

import math

from ..fidelity import WaitForTrials
from .base import SearchExhausted, Strategy, check_flag, check_start, is_real


class GreedySearch(Strategy):
    """Coordinate-wise greedy search with step shrinking and random restarts (see the module).

    scale      first step, as a fraction of each continuous Float's (log) unit range
    shrink     factor applied to ``scale`` after a sweep without a move, in (0, 1)
    min_scale  below this step the search is stuck: restart or stop; default ``min(0.02, scale)``
    restart    ``True``: restart from a random unevaluated point when stuck; ``False``: stop
    start      the first centre (``params``); default: a random point
    """

    def __init__(self, space, seed=None, minimize=True, scale=0.25, shrink=0.5, min_scale=None,
                 restart=True, start=None):
        super().__init__(space, seed=seed, minimize=minimize)
        if not (is_real(scale) and 0 < scale <= 1):
            raise ValueError(f"GreedySearch: scale={scale!r} must be in (0, 1]")
        if not (is_real(shrink) and 0 < shrink < 1):
            raise ValueError(f"GreedySearch: shrink={shrink!r} must be in (0, 1)")
        if min_scale is None:  # a default never conflicts with a scale the user chose
            min_scale = min(0.02, scale)
        if not (is_real(min_scale) and 0 < min_scale <= scale):
            raise ValueError(f"GreedySearch: min_scale={min_scale!r} must be in (0, scale={scale!r}]")
        if start is not None:
            check_start("GreedySearch", space, start)
        self.scale0, self.shrink, self.min_scale = float(scale), float(shrink), float(min_scale)
        self.restart, self.start = check_flag("GreedySearch", "restart", restart), start
        # learned state
        self.scale_ = self.scale0
        self.centre_ = None  # the current point c (a params dict); None until the first ask
        self.seen_ = {}  # key(params) -> loss of every told point (inf while it is pending)
        self.queue_ = []  # proposals of the current dimension not yet asked
        self.pending_ = set()  # keys asked and not told yet (a parallel search)
        self.batch_ = []  # all proposals of the current dimension (compared once told)
        self.order_ = []  # the sweep's order of dimensions, a fresh random permutation per sweep
        self.dim_ = -1  # position in order_ of the dimension being tried
        self.moved_ = False  # did any dimension move in the current sweep?
        self.climbs_ = []  # one list of visited centres per start or restart (for the lesson's picture)

    # -- ask / tell ---------------------------------------------------------------------------------
    def ask(self) -> dict:
        if self.centre_ is None:
            self.climbs_.append([])
            self._set_centre(dict(self.start) if self.start is not None else self.space.sample(self.rng))
            self.order_ = [int(i) for i in self.rng.permutation(len(self.space))]
            self._propose([self.centre_])
        while not self.queue_:
            if self.pending_:  # a parallel search: the step needs every result of its batch
                raise WaitForTrials(f"GreedySearch: the step waits for {len(self.pending_)} results of its batch")
            self._step()
        params = self.queue_.pop(0)
        self.pending_.add(self.space.key(params))
        return params

    def tell(self, trial) -> None:
        super().tell(trial)
        self.seen_[self.space.key(trial.params)] = self.loss(trial)
        self.pending_.discard(self.space.key(trial.params))

    # -- the algorithm ------------------------------------------------------------------------------
    def _loss_of(self, params) -> float:
        return self.seen_.get(self.space.key(params), math.inf)

    def _set_centre(self, params) -> None:
        self.centre_ = params
        self.climbs_[-1].append(dict(params))

    def _propose(self, points: list) -> None:
        """Compare ``points`` at the next step; queue those not evaluated yet."""
        self.batch_ = points
        self.queue_ = [p for p in points if self.space.key(p) not in self.seen_]
        for p in self.queue_:
            self.seen_[self.space.key(p)] = math.inf  # pending: never proposed twice

    def _step(self) -> None:
        """Finish the dimension just tried, open the next one. Each call moves, shrinks the step,
        restarts or changes dimension, so ``ask()``'s loop ends."""
        # 1. move to the best point of the batch if it beats the centre
        best = min(self.batch_, key=self._loss_of, default=self.centre_)
        if self._loss_of(best) < self._loss_of(self.centre_):
            self._set_centre(best)
            self.moved_ = True
        # 2. the next dimension; a whole sweep without a move means stuck at this step size
        self.dim_ += 1
        if self.dim_ == len(self.space):
            self.dim_, moved, self.moved_ = 0, self.moved_, False
            self.order_ = [int(i) for i in self.rng.permutation(len(self.space))]
            if not moved and self._shrink_or_restart():
                return
        # 3. propose the centre's neighbours along that dimension
        name = self.space.names[self.order_[self.dim_]]
        value = self.centre_[name]
        self._propose([{**self.centre_, name: v} for v in self.space.dimensions[name].neighbours(value, self.scale_)])

    def _shrink_or_restart(self) -> bool:
        """Shrink the step; below ``min_scale`` restart from a random unevaluated point (True)."""
        # 1. a smaller step around the same centre (pointless if the centre itself failed)
        self.scale_ *= self.shrink
        if self.scale_ >= self.min_scale and math.isfinite(self._loss_of(self.centre_)):
            return False
        # 2. stuck for good at this centre
        if not self.restart:
            raise SearchExhausted(f"GreedySearch: stuck at {self.centre_} (step below min_scale={self.min_scale})")
        params = self.space.sample_unseen(self.rng, self.seen_)
        if params is None:
            raise SearchExhausted("GreedySearch: 1000 random draws found no unevaluated point")
        self.scale_, self.dim_ = self.scale0, -1
        self.climbs_.append([])
        self._set_centre(params)
        self._propose([params])
        return True
