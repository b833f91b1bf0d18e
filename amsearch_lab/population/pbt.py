"""Population-based training (Jaderberg et al. 2017, "Population Based Training of Neural Networks").

PBT joins two ideas of the course: the genetic algorithm's *selection* and *mutation*, and
training strategy's *learning-rate schedules*. A population of N networks trains side by side;
every ``interval`` epochs each member is scored on the validation set and

1. **exploit** (selection): the members in the bottom ``fraction`` of the ranking copy the
   weights, optimizer state and hyperparameters of a member drawn uniformly from the top
   ``fraction`` (*truncation selection*; the paper's default is 20 %);
2. **explore** (mutation): each member that copied perturbs its hyperparameters: every number is
   multiplied by a factor drawn from ``factors`` (0.8 or 1.2) and kept inside the space, or, with
   probability ``resample_prob``, drawn afresh from the space.

Training then goes on from the copied weights, so no epoch is thrown away, and a member's
learning rate changes over time: the population discovers a *schedule*, not a constant. The
schedule a winner trained with is read from the lineage: which member's weights it continued at
each exploit step (``ancestry``).

**A driver, not an ask/tell strategy.** The ask/tell strategies never see a model: they propose
``params`` and learn a number. PBT's exploit step copies *weights* from one member to another,
and its members train together as one stacked model (``Population``), not as separate trials;
so ``PopulationBasedTraining.run`` owns the population and the loop, and writes the same
``History`` (one trial per member and interval) that every search writes. Its decisions are the
two pure functions below (``truncation_selection``, ``explore``), which tests check on their own.

A member whose loss becomes NaN (a learning rate too large) is a failed trial for that
interval and always copies a top member at the next exploit step, whatever its rank: the
population goes on. The greediness trap: exploiting after very few epochs rewards members that
*start* fast (a large learning rate), not those that *end* best; the interval is the guard.
"""

from __future__ import annotations

import math
import numbers
import os
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import torch

from ..dimensions import Choice, Float
from ..history import History, Trial
from ..space import Space
from ..storage import FAILED, OK, ensure_writable, lock_storage
from ..study import StopSearch
from .stacked import HYPERPARAMETERS, Population, per_member

__all__ = ["PopulationBasedTraining", "truncation_selection", "explore", "ancestry", "founders", "schedule_of"]

METRICS = {"val_acc": False, "val_loss": True}  # metric -> minimize?


# -- the two decisions (pure functions) ---------------------------------------------------------------
def truncation_selection(scores, fraction: float, rng: np.random.Generator, minimize: bool = False
                         ) -> list[tuple[int, int]]:
    """Exploit: ``(loser, winner)`` pairs; each loser copies its winner.

    scores    (N,) the members' validation metric; NaN (or inf) marks a failed member (ranked last)
    fraction  k = min(ceil(fraction N), N // 2) members at each end of the ranking: each of the
              bottom k copies one of the top k drawn uniformly (with replacement); a failed member
              outside the bottom k copies one too, and a failed member is never copied (when more
              than N - k failed, the top holds fewer than k; when all failed, nobody copies).
              Ties are ranked by member index.
    """
    scores = np.asarray(scores, dtype=float)
    n = len(scores)
    if not (isinstance(fraction, numbers.Real) and 0 < fraction <= 0.5):
        raise ValueError(f"truncation_selection: fraction={fraction!r} must be in (0, 0.5]")
    failed = ~np.isfinite(scores)
    key = np.where(failed, np.inf, scores if minimize else -scores)  # lower key = better
    order = np.argsort(key, kind="stable")  # best first
    k = min(math.ceil(fraction * n), n // 2)
    top = [int(i) for i in order[:k] if not failed[i]]
    losers = sorted((set(order[n - k:].tolist()) | set(np.flatnonzero(failed).tolist())) - set(top))
    if not top:
        return []
    return [(int(i), int(top[rng.integers(len(top))])) for i in losers]


def explore(params: dict, space: Space, rng: np.random.Generator, factors: Sequence[float] = (0.8, 1.2),
            resample_prob: float = 0.25) -> dict:
    """Mutation: each hyperparameter of ``params``, with probability ``resample_prob``, is drawn
    afresh from its dimension; otherwise a number is multiplied by a factor drawn uniformly from
    ``factors`` and brought back inside the dimension (clipped to [low, high]; an Int rounded, a
    stepped Float put on its lattice), and a ``Choice`` is kept. The result is inside ``space``."""
    out = {}
    for name, dim in space.dimensions.items():
        value = params[name]
        if rng.random() < resample_prob:
            out[name] = dim.sample(rng)
        elif isinstance(dim, Choice):
            out[name] = value
        else:
            moved = min(max(value * float(factors[rng.integers(len(factors))]), dim.low), dim.high)
            out[name] = moved if isinstance(dim, Float) and dim.step is None else dim.from_unit(dim.to_unit(moved))
    return out


def ancestry(history: History, member: int) -> list[Trial]:
    """The trials along the path of ``member``'s final weights, first interval first: at each
    exploit step, the member whose weights it continued (``info["parent"]``). Their ``params``
    over ``start_step``..``budget`` (epochs) are the schedule those weights were trained with."""
    by_round = {(t.info["round"], t.info["member"]): t for t in history}
    if not by_round:
        return []
    last = max(r for r, _ in by_round)
    if (last, member) not in by_round:
        raise ValueError(f"ancestry: member={member!r} is not in the history's last round")
    path, m = [], member
    for r in range(last, -1, -1):
        t = by_round[(r, m)]
        path.append(t)
        m = t.info["parent"]
    return path[::-1]


def schedule_of(trials, param: str = "lr") -> list:
    """The value of ``param`` during each epoch covered by consecutive ``trials`` (each from its
    ``start_step`` to its ``budget``), epoch 1 first: ``schedule_of(ancestry(history, m))`` is the
    schedule member m's final weights were trained with."""
    return [t.params[param] for t in trials for _ in range(int(t.budget) - int(t.start_step))]


def founders(history: History) -> set[int]:
    """The members of the first interval whose weights survive in the last one: the root of each
    final member's ``ancestry``. One founder left means every final network descends from the
    same initial one (selection has removed the diversity of the initial weights)."""
    if not len(history):
        return set()
    last = max(t.info["round"] for t in history)
    return {ancestry(history, t.info["member"])[0].info["member"] for t in history if t.info["round"] == last}


# -- the driver ---------------------------------------------------------------------------------------
class PopulationBasedTraining:
    """PBT over a ``Population`` (see the module).

    space          the hyperparameters each member tunes: a ``Space`` over some of ``lr``,
                   ``momentum``, ``weight_decay`` (the others are ``fixed``)
    population     N, the number of members
    epochs         epochs each member trains; the whole run costs N x epochs epochs of training
    interval       epochs between two exploit/explore steps (the last interval may be shorter)
    fraction       truncation selection's share at each end (0.2: bottom 20 % copy the top 20 %)
    factors        explore's multiplicative perturbations; ``resample_prob`` its chance to resample
    metric         ``"val_acc"`` (maximized) or ``"val_loss"`` (minimized): what ranks the members
    fixed          values of the hyperparameters not in ``space`` (default momentum 0, weight decay 0)
    seed           seeds the initial draw, the selections and the perturbations; member i's
                   shuffle generator is seeded ``seed * population + i``

    ``run(make_model, data)`` trains and returns the ``History``; afterwards ``population_`` is
    the trained ``Population``, ``history_`` the history and ``best_member_`` the member with the
    best final validation metric (the one to test). Bad arguments raise ValueError at once.
    """

    def __init__(self, space: Space, population: int = 10, epochs: int = 10, interval: int = 2,
                 fraction: float = 0.2, factors: Sequence[float] = (0.8, 1.2), resample_prob: float = 0.25,
                 metric: str = "val_acc", fixed: dict | None = None, batch_size: int = 128, seed: int = 0):
        if not isinstance(space, Space):
            raise ValueError(f"PopulationBasedTraining: space={space!r} must be a Space")
        unknown = [n for n in space.dimensions if n not in HYPERPARAMETERS]
        if unknown:
            raise ValueError(f"PopulationBasedTraining: space has {unknown}; a member tunes only {HYPERPARAMETERS}")
        for name, value, low in (("population", population, 2), ("epochs", epochs, 1), ("interval", interval, 1),
                                 ("batch_size", batch_size, 1)):
            if not (isinstance(value, numbers.Integral) and not isinstance(value, bool) and value >= low):
                raise ValueError(f"PopulationBasedTraining: {name}={value!r} must be an integer >= {low}")
        if not (isinstance(fraction, numbers.Real) and 0 < fraction <= 0.5):
            raise ValueError(f"PopulationBasedTraining: fraction={fraction!r} must be in (0, 0.5]")
        factors = tuple(factors)
        if not factors or not all(isinstance(f, numbers.Real) and 0 < f < math.inf for f in factors):
            raise ValueError(f"PopulationBasedTraining: factors={factors!r} must be positive numbers")
        if not (isinstance(resample_prob, numbers.Real) and 0 <= resample_prob <= 1):
            raise ValueError(f"PopulationBasedTraining: resample_prob={resample_prob!r} must be in [0, 1]")
        if metric not in METRICS:
            raise ValueError(f"PopulationBasedTraining: metric={metric!r} must be one of {list(METRICS)}")
        fixed = {"momentum": 0.0, "weight_decay": 0.0, **(fixed or {})}
        bad = [n for n in fixed if n not in HYPERPARAMETERS]
        if bad or ("lr" not in space.dimensions and "lr" not in fixed):
            raise ValueError(f"PopulationBasedTraining: fixed={fixed!r} must give the hyperparameters of "
                             f"{HYPERPARAMETERS} that space does not (lr is needed)")
        # every value a member can get (the space's bounds or choices: explore clips onto them) must
        # be one SGD takes; found here, not when a member reaches it after hours of training
        for where, name, values in ([("space", n, list(d.choices) if isinstance(d, Choice) else [d.low, d.high])
                                     for n, d in space.dimensions.items()]
                                    + [("fixed", n, [v]) for n, v in fixed.items()]):
            try:
                per_member(name, values, len(values))
            except (TypeError, ValueError):
                raise ValueError(f"PopulationBasedTraining: {where} gives {name} the values {values}; SGD needs "
                                 f"lr and weight_decay finite and >= 0, momentum in [0, 1)") from None
        if not (isinstance(seed, numbers.Integral) and not isinstance(seed, bool) and seed >= 0):
            raise ValueError(f"PopulationBasedTraining: seed={seed!r} must be an integer >= 0")
        self.space, self.population, self.epochs, self.interval = space, int(population), int(epochs), int(interval)
        self.fraction, self.factors, self.resample_prob, self.metric = fraction, factors, resample_prob, metric
        self.fixed = {n: v for n, v in fixed.items() if n not in space.dimensions}
        self.batch_size, self.seed = int(batch_size), int(seed)

    @property
    def minimize(self) -> bool:
        return METRICS[self.metric]

    def settings(self) -> dict:
        """The options that define a run (a resumed run must have the same)."""
        return {"space": repr(self.space), "population": self.population, "epochs": self.epochs,
                "interval": self.interval, "fraction": self.fraction, "factors": self.factors,
                "resample_prob": self.resample_prob, "metric": self.metric, "fixed": self.fixed,
                "batch_size": self.batch_size, "seed": self.seed}

    def run(self, make_model: Callable[[int], torch.nn.Module], data, device=None, vectorized: bool = True,
            storage: str | os.PathLike | None = None, progress: bool = True, callbacks=()) -> History:
        """Train the population for ``epochs`` epochs with an exploit/explore step every ``interval``.

        make_model   ``make_model(i)`` builds member i's network (e.g. ``lambda i: models.mlp(seed=i)``)
        data         ``(x_train, y_train, x_val, y_val)`` or ``load_mnist()``: validation ranks the members
        vectorized   train the members as one stacked model (False: one ``fit`` after another, same result)
        storage      a JSON Lines file for the history; a checkpoint of the population (weights,
                     optimizer state, random states) is kept beside it (``<storage>.pt``) after
                     every interval, and the same call resumes from it after a crash
        callbacks    ``cb(history)`` after every interval; raising ``StopSearch`` ends the run
        Returns the History: one trial per member and interval (``config`` = member, ``start_step``
        and ``budget`` = the interval's first and last epoch, ``value`` = the metric at its end,
        ``info`` = member, round, parent and the interval's losses, None where NaN)."""
        # plumbing: the arguments, storage, and the state a resume continues from
        if not callable(make_model):
            raise ValueError(f"PopulationBasedTraining.run: make_model={make_model!r} must be a function i -> network")
        if callable(callbacks) or isinstance(callbacks, (str, bytes)) or not all(callable(cb) for cb in callbacks):
            raise ValueError(f"PopulationBasedTraining.run: callbacks={callbacks!r} must be a list of functions "
                             f"cb(history)")
        callbacks = list(callbacks)
        lock, checkpoint = None, None
        if storage is not None:
            path = Path(storage)
            ensure_writable(path)
            lock = lock_storage(path)
        try:
            if storage is not None:
                checkpoint = self._load_checkpoint(path)
            return self._run(make_model, data, device, vectorized, storage, progress, callbacks, checkpoint)
        finally:
            if lock is not None:
                lock.release()

    def _run(self, make_model, data, device, vectorized, storage, progress, callbacks, checkpoint) -> History:
        from tqdm.auto import tqdm

        n, rng = self.population, np.random.default_rng(self.seed)
        history = History(minimize=self.minimize)
        # 1. the initial population: N draws from the space
        params = [self.space.sample(rng) for _ in range(n)]
        parents = list(range(n))  # whose weights each member starts the next interval with
        models = [make_model(i) for i in range(n)]
        pop = Population(models, **self._hyperparameters(params), seeds=[self.seed * n + i for i in range(n)],
                         vectorized=vectorized, device=device)
        if checkpoint is not None:  # a resume: everything as it was after the last finished interval
            pop.load_state(checkpoint["population"])
            rng.bit_generator.state = checkpoint["rng"]
            params, parents = checkpoint["params"], checkpoint["parents"]
            history.trials = [Trial(**record) for record in checkpoint["trials"]]
        if storage is not None:
            history.path = Path(storage)
            history.save(history.path)
        bar = tqdm(total=self.epochs, initial=pop.epochs_done, desc="PBT", unit="epoch", disable=not progress)
        round_ = len(history) // n
        while pop.epochs_done < self.epochs:
            # 2. train every member for one interval
            start, first = time.time(), pop.epochs_done
            records = pop.train(data, epochs=min(self.interval, self.epochs - first), batch_size=self.batch_size)
            scores = records[-1][self.metric]  # (N,)
            self._record(history, records, params, parents, scores, round_, first, start)
            bar.update(len(records))
            finite = scores[np.isfinite(scores)]
            if len(finite):  # not when every member failed
                bar.set_postfix(best=f"{finite.min() if self.minimize else finite.max():.4f}")
            # 3. exploit (selection) and explore (mutation), except after the last interval
            parents = list(range(n))
            if pop.epochs_done < self.epochs:
                for loser, winner in truncation_selection(scores, self.fraction, rng, self.minimize):
                    pop.copy_member(winner, loser)
                    params[loser] = explore(params[winner], self.space, rng, self.factors, self.resample_prob)
                    pop.set_hyperparameters(loser, **{k: params[loser][k] for k in self.space.dimensions})
                    parents[loser] = winner
            round_ += 1
            if storage is not None:
                self._save_checkpoint(Path(storage), pop, rng, params, parents, history)
            try:
                for cb in callbacks:
                    cb(history)
            except StopSearch:
                break
        bar.close()
        last = [t for t in history if t.info["round"] == round_ - 1]
        finished = [t for t in last if t.ok]
        self.population_, self.history_ = pop, history
        self.best_member_ = None
        if finished:
            best = min(finished, key=lambda t: t.value) if self.minimize else max(finished, key=lambda t: t.value)
            self.best_member_ = best.info["member"]
        return history

    def _hyperparameters(self, params: list[dict]) -> dict:
        return {name: [float(p[name]) if name in p else float(self.fixed[name]) for p in params]
                for name in HYPERPARAMETERS}

    def _record(self, history, records, params, parents, scores, round_, first, start) -> None:
        """One trial per member for the interval just trained."""
        seconds = sum(r["seconds"] for r in records)
        for i in range(self.population):
            value = float(scores[i])
            ok = math.isfinite(value)
            curve = [[r["epoch"], float(r[self.metric][i]) if math.isfinite(r[self.metric][i]) else None]
                     for r in records]
            info = {"member": i, "round": round_, "parent": parents[i],  # NaN -> None: JSON has no NaN
                    **{k: float(v) if math.isfinite(v := records[-1][k][i]) else None
                       for k in ("train_loss", "val_loss", "val_acc")}}
            number = len(history)
            history.append(Trial(
                number=number, params=dict(params[i]), value=value if ok else None, status=OK if ok else FAILED,
                error=None if ok else "the training loss became NaN or infinite (the learning rate is too large?)",
                start=start, duration=seconds / self.population, info=info, budget=records[-1]["epoch"],
                config=i, start_step=first, curve=curve, asked=number, n_asked=number + 1))

    # -- checkpoints (plumbing) -----------------------------------------------------------------------
    def _checkpoint_path(self, path: Path) -> Path:
        return path.with_name(path.name + ".pt")

    def _save_checkpoint(self, path: Path, pop, rng, params, parents, history) -> None:
        """The checkpoint first (atomically), then the history file it holds, so a crash between
        the two loses nothing: a resume rewrites the history from the checkpoint."""
        state = {"settings": self.settings(), "population": pop.state(), "rng": rng.bit_generator.state,
                 "params": [dict(p) for p in params], "parents": list(parents),
                 "trials": [vars(t).copy() for t in history]}
        ckpt = self._checkpoint_path(path)
        tmp = ckpt.with_name(ckpt.name + ".tmp")
        torch.save(state, tmp)
        tmp.replace(ckpt)
        history.save(path)

    def _load_checkpoint(self, path: Path) -> dict | None:
        ckpt = self._checkpoint_path(path)
        if not ckpt.exists():
            if path.exists() and path.stat().st_size > 0:
                raise ValueError(f"PopulationBasedTraining: storage={str(path)!r} holds trials but its checkpoint "
                                 f"{str(ckpt)!r} is missing; without the weights the run cannot go on: use a new file")
            return None
        state = torch.load(ckpt, weights_only=False)
        if state["settings"] != self.settings():
            diff = {k: (v, self.settings()[k]) for k, v in state["settings"].items() if self.settings().get(k) != v}
            raise ValueError(f"PopulationBasedTraining: storage={str(path)!r} was written by a run with other "
                             f"settings (stored, now): {diff}; use a new file to start afresh")
        return state
