"""Bayesian optimization (贝叶斯优化): a Gaussian process of the loss, and an acquisition
function that says where the next evaluation is worth most.

One step (``ask``), once the initial design is evaluated:

1. fit the GP (``gp.py``) to the encoded points and their losses (a maximised objective is
   negated; failed trials take the worst loss; far outliers are pulled in, ``warp_outliers``);
2. score many quasi-random candidates, each rounded to a valid point, with the acquisition
   function (``acquisition.py``: log EI by default);
3. refine the best of them with L-BFGS-B on the acquisition's gradient;
4. propose the best candidate that has not been evaluated yet.

``fitted_model()`` and ``acquisition_values(U)`` show a learner (and the playground) the model
and the acquisition the next ``ask()`` will use, without changing what it does.
"""

from __future__ import annotations

import copy
import math

import numpy as np
from scipy.optimize import minimize

from ..acquisition import ACQUISITIONS
from ..gp import KERNELS, GaussianProcess, one_blas_thread
from ..lockstep import minimize_lockstep
from .base import SearchExhausted, Strategy, is_integer, is_real

__all__ = ["BayesianOptimization", "warp_outliers", "local_starts", "LIARS"]

LIARS = {"max": np.max, "mean": np.mean, "min": np.min}  # the constant liar's value, from the successful losses



# -- the model's data and the local starts -----------------------------------------------------------
def warp_outliers(losses, reach: float = 1e4) -> np.ndarray:
    """The losses with their far outliers pulled in, in rank order: what the GP is fitted to.

    One diverged run with a loss of 1e30, or a plateau of 1e308 over half the space, takes over
    the standardisation: next to it the ordinary losses get nearly the same z, the model sees
    them as flat and no longer knows which of them is better. An *outlier* here is a distinct
    loss more than ``reach`` interquartile ranges beyond the quartiles, outside
    [q1 - reach IQR, q3 + reach IQR] (Tukey's fences, Tukey 1977, *Exploratory Data Analysis*,
    with a far longer reach than his 1.5 or 3). The default 1e4 = 1/√noise_min: a bulk that far
    from a point shrinks, once standardised, below the GP's smallest noise standard deviation
    (√1e-8 = 1e-4), which is where the model stops seeing it. The quartiles are those of the
    *distinct* losses, so a plateau counts once however many trials sit on it.

    The m outliers above the fences become t + IQR k/m, with t the largest loss inside them and
    k = 1 for the smallest outlier, ..., m for the largest; those below become b - IQR k/m (b the
    smallest inside, k = m for the lowest). So outliers keep their order but not their size, as
    the worse half does in Google Vizier's half-rank output warping (``HalfRankComponent`` in
    google/vizier, ``vizier/_src/algorithms/designers/gp/output_warpers.py``). Every other loss is returned unchanged: on ordinary data
    (the test functions of ``bench hpo`` never reach 1e4 IQRs) the model is the plain one. The
    outliers only enter through comparisons, so even ±1e308 overflows nothing.
    """
    losses = np.asarray(losses, dtype=float)
    distinct = np.unique(losses)  # sorted
    q1 = np.quantile(distinct, 0.25, method="lower")  # values of the data: no interpolation
    q3 = np.quantile(distinct, 0.75, method="higher")
    with np.errstate(over="ignore"):  # fences beyond the float range: no outlier on that side
        iqr = q3 - q1
        inside = (distinct >= q1 - reach * iqr) & (distinct <= q3 + reach * iqr)
    top, bottom = distinct[inside].max(), distinct[inside].min()
    above, below = distinct[distinct > top], distinct[distinct < bottom]
    warped = losses.copy()
    up, down = losses > top, losses < bottom
    warped[up] = top + iqr * (np.searchsorted(above, losses[up]) + 1) / max(len(above), 1)
    warped[down] = bottom - iqr * (len(below) - np.searchsorted(below, losses[down])) / max(len(below), 1)
    return warped


def local_starts(values: np.ndarray, n: int, rng: np.random.Generator) -> list[int]:
    """Indices of up to ``n`` candidates to refine: the best score, then ``n - 1`` more drawn
    without replacement with probability ∝ exp(value - max) (for log EI: ∝ EI), which spreads
    the starts over several promising regions. Only finite scores take part: a -inf (nothing to
    gain) or NaN score is never a start, and exp(-inf - (-inf)) = NaN never reaches the draw."""
    finite = np.flatnonzero(np.isfinite(values))
    if n == 0 or len(finite) == 0:
        return []
    best = finite[np.argmax(values[finite])]
    weights = np.exp(values[finite] - values[best])
    weights[finite == best] = 0.0
    n_more = min(n - 1, int(np.count_nonzero(weights)))
    chosen = [int(best)]
    if n_more > 0:
        chosen += [int(i) for i in rng.choice(finite, size=n_more, replace=False, p=weights / weights.sum())]
    return chosen


# -- the strategy ------------------------------------------------------------------------------------
class BayesianOptimization(Strategy):
    """Bayesian optimization with a GP (Matérn-5/2 ARD by default) on the space's unit-cube encoding.

    acquisition   ``"ei"`` (log EI, default), ``"pi"`` (log PI) or ``"ucb"``
    n_initial     size of the initial design, proposed before any model is fitted
    init          the initial design: ``"sobol"`` (scrambled Sobol points), ``"lhs"`` (Latin
                  hypercube) or ``"random"``
    xi            the margin ξ of EI and PI (standardised units); beta  the β of UCB
    n_candidates  quasi-random candidates scored by the acquisition at every step
    n_local       how many candidates L-BFGS-B then refines (the best one, the others drawn with
                  probability ∝ exp(acquisition)), plus the incumbent
    n_restarts    random restarts of the GP's hyperparameter fit, besides its one start (the
                  previous step's θ, or the default θ at the first fit)
    refine        ``"separate"`` (default): one L-BFGS-B run per start (in lockstep, see
                  ``_refine``); ``"summed"``: one run on the sum of the starts' acquisition
                  values, the shortcut that looks equivalent and is not (kept so that lesson 05
                  can show the difference)
    liar          in a parallel search, the loss a *pending* point (asked, not yet told) is
                  given while the next one is chosen: ``"max"`` (default), ``"mean"`` or
                  ``"min"`` of the successful losses so far (the constant liar CL-max, CL-mean,
                  CL-min of Ginsbourger, Le Riche & Carraro 2010, "Kriging is well-suited to
                  parallelize optimization"). The GP is fitted to the told points plus the pending
                  ones at y = L, so the acquisition near a running point drops and a batch
                  spreads out; CL-max spreads it most. A pending point is never proposed again.
                  A sequential search never has a pending point, so this changes nothing there.

    Integer, stepped and categorical dimensions: every candidate is rounded to a valid point
    (steps, one-hot arg-max) *before* the acquisition scores it, and L-BFGS-B only moves the
    continuous Floats, so the GP and the acquisition always see points of the space. A point
    that was already evaluated is never proposed again; the best unseen candidate is taken.
    Failed trials enter the GP with the worst loss seen so far: the model learns to avoid the
    region without an infinite value wrecking the standardisation. Losses so far from the others
    that they would flatten the model (a plateau at 1e308, a diverged run) are pulled in next to
    them first, keeping their order (``warp_outliers``).
    """

    def __init__(self, space, seed=None, minimize=True, acquisition="ei", n_initial=10, init="sobol",
                 kernel="matern52", xi=0.0, beta=4.0, n_candidates=2048, n_local=10, n_restarts=0,
                 refine="separate", liar="max"):
        super().__init__(space, seed=seed, minimize=minimize)
        if acquisition not in ACQUISITIONS:
            raise ValueError(f"BayesianOptimization: acquisition={acquisition!r} must be one of {list(ACQUISITIONS)}")
        if init not in ("sobol", "lhs", "random"):
            raise ValueError(f"BayesianOptimization: init={init!r} must be 'sobol', 'lhs' or 'random'")
        if kernel not in KERNELS:
            raise ValueError(f"BayesianOptimization: kernel={kernel!r} must be one of {KERNELS}")
        for name, value, low in (("n_initial", n_initial, 1), ("n_candidates", n_candidates, 1),
                                 ("n_local", n_local, 0), ("n_restarts", n_restarts, 0)):
            if not is_integer(value) or value < low:
                raise ValueError(f"BayesianOptimization: {name}={value!r} must be an integer >= {low}")
        if not (is_real(xi) and xi >= 0):
            raise ValueError(f"BayesianOptimization: xi={xi!r} must be a number >= 0")
        if refine not in ("separate", "summed"):
            raise ValueError(f"BayesianOptimization: refine={refine!r} must be 'separate' or 'summed'")
        if not (is_real(beta) and beta >= 0):
            raise ValueError(f"BayesianOptimization: beta={beta!r} must be a number >= 0")
        if liar not in LIARS:
            raise ValueError(f"BayesianOptimization: liar={liar!r} must be one of {list(LIARS)}")
        self.acquisition, self.n_initial, self.init, self.kernel = acquisition, n_initial, init, kernel
        self.xi, self.beta = xi, beta
        self.n_candidates, self.n_local, self.n_restarts = n_candidates, n_local, n_restarts
        self.refine, self.liar = refine, liar
        self.gp_ = GaussianProcess(kernel=kernel)
        self.X_ = np.empty((0, space.n_unit))  # (n_trials, n_unit): encodings of the told params
        self.seen_ = set()  # keys of every point proposed (evaluated or pending)
        self.pending_ = {}  # key -> unit-cube point of each job asked and not told yet
        self.n_asked_ = 0
        self.design_ = None  # the initial design, drawn at the first ask
        self.sobol_ = None  # the candidates' quasi-random sequence, built at the first model-based ask
        self.continuous_ = np.array([  # the columns L-BFGS-B may move: Floats without a step
            s.start for s, dim in zip(space.unit_slices().values(), space.dimensions.values())
            if dim.continuous], dtype=int)

    # -- plumbing: unit-cube points, rounding, bookkeeping ---------------------------------------------
    def _cube(self, n: int, kind: str) -> np.ndarray:
        """``n`` points in [0, 1]^n_unit: scrambled Sobol, Latin hypercube or uniform."""
        from scipy.stats import qmc

        d, seed = self.space.n_unit, int(self.rng.integers(2**32))
        if kind == "sobol":
            points = qmc.Sobol(d, scramble=True, rng=np.random.default_rng(seed)).random_base2(
                max(0, math.ceil(math.log2(n))))
            return points[:n]
        if kind == "lhs":
            return qmc.LatinHypercube(d, rng=np.random.default_rng(seed)).random(n)
        return np.random.default_rng(seed).random((n, d))

    def _candidates(self) -> np.ndarray:
        """The next ``n_candidates`` points of one scrambled Sobol sequence (built once: building
        it costs more than drawing from it), rounded to valid points."""
        if self.sobol_ is None:
            from scipy.stats import qmc

            self.sobol_ = qmc.Sobol(self.space.n_unit, scramble=True, rng=np.random.default_rng(self.rng.integers(2**32)))
        return self.space.round_unit(self.sobol_.random(self.n_candidates))

    def _first_unseen(self, U: np.ndarray) -> np.ndarray | None:
        for u in U:
            if self.space.unit_key(u) not in self.seen_:
                return u
        return None

    def _random_unseen(self) -> dict:
        params = self.space.sample_unseen(self.rng, self.seen_, key=lambda p: self.space.unit_key(self.space.encode(p)))
        if params is None:
            raise SearchExhausted(f"BayesianOptimization: no unseen point found after {len(self.seen_)} evaluations")
        return params

    def tell(self, trial) -> None:
        super().tell(trial)
        u = self.space.encode(trial.params)
        self.X_ = np.vstack([self.X_, u])
        key = self.space.unit_key(u)
        self.seen_.add(key)
        self.pending_.pop(key, None)

    # -- the algorithm ----------------------------------------------------------------------------------
    def ask(self) -> dict:
        params = self._propose()
        u = self.space.encode(params)
        self.seen_.add(self.space.unit_key(u))  # pending: never proposed again
        self.pending_[self.space.unit_key(u)] = u
        self.n_asked_ += 1
        return params

    def _n_points(self) -> int:
        """Points proposed so far: asked, or told (a BO told trials it never asked, as BOHB's
        model is, counts those)."""
        return max(self.n_asked_, len(self.trials_))

    def _propose(self) -> dict:
        losses, ok = self._losses()
        n = self._n_points()
        # 0. initial design (and whenever fewer than two trials succeeded: nothing to model yet)
        if n < self.n_initial or ok.sum() < 2:
            if self.design_ is None:
                self.design_ = self.space.round_unit(self._cube(self.n_initial, self.init))
            u = self.design_[n] if n < self.n_initial else None
            if u is None or self.space.unit_key(u) in self.seen_:
                return self._random_unseen()
            return self.space.decode(u)
        with one_blas_thread():
            u = self._maximise_acquisition(losses, ok)
        return self._random_unseen() if u is None else self.space.decode(u)

    # -- the model and its acquisition, as the next ask() uses them ------------------------------------
    def _losses(self) -> tuple[np.ndarray, np.ndarray]:
        losses = np.array([self.loss(t) for t in self.trials_])  # (n_trials,)
        return losses, np.isfinite(losses)

    def lie(self, losses: np.ndarray, ok: np.ndarray) -> float:
        """The constant liar L given to every pending point: the max, mean or min of the
        successful losses ``losses[ok]`` (option ``liar``)."""
        return float(LIARS[self.liar](losses[ok]))

    def _fit(self, gp: GaussianProcess, losses: np.ndarray, ok: np.ndarray, rng: np.random.Generator) -> None:
        # 1. the data: failed trials take the worst successful loss; pending points the liar L;
        #    far outliers are pulled in
        y = np.where(ok, losses, losses[ok].max())
        X = self.X_
        if self.pending_:
            X = np.vstack([X, *self.pending_.values()])  # (n_trials + n_pending, n_unit)
            y = np.concatenate([y, np.full(len(self.pending_), self.lie(losses, ok))])
        y = warp_outliers(y, reach=1 / math.sqrt(gp.noise_min))
        # 2. fit the GP (warm-started from the last step's hyperparameters)
        gp.fit(X, y, n_restarts=self.n_restarts, rng=rng)

    def fitted_model(self) -> GaussianProcess | None:
        """A copy of the GP fitted to the trials told so far (and the pending points, at the liar's
        value) exactly as the next ``ask()`` will fit it (same warm start, same random restarts),
        or None while there is no model yet (the initial design, or fewer than two successful
        trials). Calling it changes nothing the
        strategy will do. Its ``predict(U, return_std=True)`` gives the posterior of the loss."""
        losses, ok = self._losses()
        if self._n_points() < self.n_initial or ok.sum() < 2:
            return None
        gp = copy.deepcopy(self.gp_)
        self._fit(gp, losses, ok, rng=copy.deepcopy(self.rng))
        return gp

    def acquisition_values(self, U, gp: GaussianProcess | None = None, grad: bool = False):
        """The acquisition ``ask()`` maximises (log EI, log PI or UCB, in the GP's standardised
        units) at the rows of U (m, n_unit), from ``gp`` (default: ``fitted_model()``); with
        ``grad=True`` also its slopes in μ and σ (see ``acquisition.py``). Raises ``ValueError``
        while there is no model yet."""
        gp = self.fitted_model() if gp is None else gp
        if gp is None:
            raise ValueError(f"BayesianOptimization: no model yet after {len(self.trials_)} trials (the initial "
                             f"design has n_initial={self.n_initial} points and two must succeed)")
        mean, var = gp.posterior(np.atleast_2d(U))
        return self._acquisition(gp, mean, np.sqrt(var), grad)

    def _acquisition(self, gp: GaussianProcess, mean, std, grad: bool):
        option = {"beta": self.beta} if self.acquisition == "ucb" else {"xi": self.xi}
        best = float(np.min(gp.z_))  # the best loss seen (failed trials hold the worst, never the best)
        return ACQUISITIONS[self.acquisition](mean, std, best, grad=grad, **option)

    def _maximise_acquisition(self, losses: np.ndarray, ok: np.ndarray) -> np.ndarray | None:
        # 1-2. fit the GP to the (warped) losses, in place: the next step warm-starts from it
        self._fit(self.gp_, losses, ok, rng=self.rng)
        # 3. score many quasi-random candidates, each rounded to a valid point first
        candidates = self._candidates()  # (n_candidates, n_unit)
        values = self.acquisition_values(candidates, self.gp_)
        # 4. refine with L-BFGS-B over the continuous columns, from the incumbent and n_local
        #    candidates: the best one and more drawn with probability ∝ exp(value - max)
        if self.n_local > 0 and len(self.continuous_) > 0:
            chosen = local_starts(values, self.n_local, self.rng)
            incumbent = self.X_[ok][np.argmin(losses[ok])]
            starts = np.vstack([candidates[chosen], incumbent])
            refined = self.space.round_unit(self._refine(starts))
            candidates = np.vstack([candidates, refined])
            values = np.concatenate([values, self.acquisition_values(refined, self.gp_)])
        # 5. the best candidate that has not been evaluated yet
        return self._first_unseen(candidates[np.argsort(-values, kind="stable")])

    def _refine(self, U0: np.ndarray) -> np.ndarray:
        """Local L-BFGS-B ascent of the acquisition from each row of U0 (k, n_unit), moving only
        the continuous columns; one run per start, each ending no lower than it began.

        The runs go in lockstep (``minimize_lockstep``): each is a run of its own, but every round
        of evaluations is one batch, which costs little more than one point. They are *not* merged
        into one run on the sum of their acquisition values, although the sum is separable: a line
        search on the sum accepts a step that raises the sum while lowering some of its terms, and
        the steepest start (the incumbent's, where the slope of log EI measured 50 to 1,100) sets
        the step for all the others. On 8 GP fits of Hartmann-6 (25 and 50 points) the merged run's
        best point was 0.6 to 2.5 below the separate runs' in log EI in 5 of them, and far from the
        incumbent, where the separate runs end next to it (as Optuna's do); on 12 states of runs
        of this strategy it was below by 0.29 and 1.0 in 2, within 0.06 in the others.

        It works on s = x / ℓ rather than x: the GP sees x only through x / ℓ, so in s every
        direction curves alike and L-BFGS-B needs fewer steps (a diagonal preconditioner, as in
        Optuna's ``optim_mixed``).
        """
        cols = self.continuous_
        scale = self.gp_.lengthscales_[cols]

        def negative(S, rows):
            U = U0[rows].copy()
            U[:, cols] = S * scale
            mean, var, d_mean, d_var = self.gp_.posterior_grad(U)
            std = np.sqrt(var)
            value, dv_dmean, dv_dstd = self._acquisition(self.gp_, mean, std, grad=True)
            grad = dv_dmean[:, None] * d_mean + (dv_dstd / (2 * std))[:, None] * d_var  # chain rule, (m, n_unit)
            return -value, -grad[:, cols] * scale

        S0 = U0[:, cols] / scale
        bounds = [(0.0, 1.0 / ell) for ell in scale]
        if self.refine == "summed":  # one run on the sum: what the docstring warns against
            k, every = len(U0), np.arange(len(U0))

            def summed(s):
                values, grads = negative(s.reshape(k, -1), every)
                return float(np.sum(values)), grads.ravel()

            result = minimize(summed, S0.ravel(), jac=True, method="L-BFGS-B", bounds=bounds * k,
                              options={"maxiter": 200, "gtol": 1e-4})
            S = result.x.reshape(k, -1)
            values = negative(S, every)[0]
        else:
            S, values = minimize_lockstep(negative, S0, bounds=bounds, maxiter=200, gtol=1e-4)
        rows = np.flatnonzero(np.isfinite(values) & (values <= negative(S0, np.arange(len(U0)))[0]))
        U = U0.copy()
        U[np.ix_(rows, cols)] = np.clip(S[rows] * scale, 0.0, 1.0)
        return U
