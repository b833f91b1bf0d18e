"""Bayesian optimization (贝叶斯优化): a Gaussian process of the loss, and an acquisition
function that says where the next evaluation is worth most.

Every acquisition function below is written for a loss to *minimise* (the strategy turns a
maximised objective into a loss first), and is *maximised* over the unit cube. With the GP
posterior μ(x), σ(x) (standardised units), the best loss seen so far f* and

    z = (f* - ξ - μ(x)) / σ(x),     φ, Φ the standard normal density and distribution,

- Expected Improvement   EI(x)  = E[max(f* - ξ - f(x), 0)] = σ(x) (z Φ(z) + φ(z))
- Probability of Improvement  PI(x) = P(f(x) < f* - ξ) = Φ(z)
- Upper Confidence Bound UCB(x) = -μ(x) + √β σ(x)   (the lower confidence bound of the loss, negated)

EI and PI are maximised through their logarithms: EI underflows to 0 far from the data (z ≪ 0),
which leaves the optimiser a flat landscape; log EI stays finite and keeps its slope. Where σ = 0
(or is so small that z overflows) each function returns its limit σ → 0, never a NaN.

Each acquisition function returns ``(value, ∂value/∂μ, ∂value/∂σ)`` so that the chain rule
with the GP's ``posterior_grad`` gives the gradient in x for L-BFGS-B.
"""

from __future__ import annotations

import math
import numbers

import numpy as np
from scipy.optimize import minimize
from scipy.special import erfcx, log_ndtr, ndtr

from ..gp import KERNELS, GaussianProcess, one_blas_thread
from .base import SearchExhausted, Strategy

__all__ = ["BayesianOptimization", "expected_improvement", "log_expected_improvement",
           "probability_of_improvement", "log_probability_of_improvement", "upper_confidence_bound", "ACQUISITIONS"]

LOG_SQRT_2PI = 0.5 * math.log(2 * math.pi)


# -- acquisition functions -------------------------------------------------------------------------
def _improvement(mean, std, best, xi):
    """d = f* - ξ - μ, σ and z = d / σ, broadcast to one shape, and the mask ``point`` of the
    points whose posterior is a point mass as far as floats can tell: σ = 0, or σ so small next
    to d that d / σ overflows. There each acquisition function takes its limit σ → 0, and ``z``
    holds 0 only as a placeholder."""
    d = best - xi - np.asarray(mean, dtype=float)
    std = np.asarray(std, dtype=float)
    if not np.all(std >= 0):
        raise ValueError(f"std={float(std[~(std >= 0)].flat[0])!r} must be >= 0 (a posterior standard deviation)")
    d, std = np.broadcast_arrays(d, std)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        z = d / std
    point = ~np.isfinite(z)
    return d, std, np.where(point, 0.0, z), point


def _pdf(z: np.ndarray) -> np.ndarray:
    """φ(z); exactly 0 once z² overflows (|z| > 1.3e154)."""
    with np.errstate(over="ignore"):
        return np.exp(-0.5 * z**2 - LOG_SQRT_2PI)


def _usable_slopes(value, d_mean, d_std):
    """Plumbing for the log acquisitions: where the value is -inf (nothing to gain there) the
    slopes are 0, not the NaN or ±inf of the formulas; a slope steeper than any float (σ → 0 at
    z ≪ 0) saturates at ± the largest float, so that an optimiser never receives inf or NaN."""
    gone, top = value == -np.inf, np.finfo(float).max
    return value, np.where(gone, 0.0, np.clip(d_mean, -top, top)), np.where(gone, 0.0, np.clip(d_std, -top, top))


def expected_improvement(mean, std, best: float, xi: float = 0.0) -> np.ndarray:
    """EI = σ (z Φ(z) + φ(z)), z = (f* - ξ - μ) / σ: the closed form, as in the textbooks
    (it rounds to 0 once z < -38; use ``log_expected_improvement`` to rank such points).

    At σ = 0 it is the limit σ → 0, EI = max(f* - ξ - μ, 0): the improvement of a value that is
    known; so it is wherever z overflows (σ below about 5e-309 |f* - ξ - μ|), where the closed form
    is exactly that limit in floats (Φ(z) is 0 or 1 and σ φ(z) is 0)."""
    d, std, z, point = _improvement(mean, std, best, xi)
    return np.where(point, np.maximum(d, 0.0), std * (z * ndtr(z) + _pdf(z)))


def _log_h(z: np.ndarray):
    """log h(z) with h(z) = z Φ(z) + φ(z), and the ratios Φ(z)/h(z), φ(z)/h(z), stable for z ≪ 0.

    For z = -u < -1, h(z) = φ(z) (1 - u R(u)) with the Mills ratio R(u) = Φ(-u)/φ(u) =
    √(π/2) erfcx(u/√2); for u > 1000 the series 1 - u R(u) = u⁻² - 3 u⁻⁴ + ... avoids cancellation.
    Beyond u ≈ 1e154, log h is -inf (it is below -1e308) and the ratios are inf.
    """
    z = np.asarray(z, dtype=float)
    log_h, cdf_ratio, pdf_ratio = (np.empty_like(z) for _ in range(3))
    mid = z > -1.0
    zm = z[mid]
    pdf, cdf = _pdf(zm), ndtr(zm)
    h = zm * cdf + pdf
    log_h[mid], cdf_ratio[mid], pdf_ratio[mid] = np.log(h), cdf / h, pdf / h
    u = -z[~mid]
    mills = math.sqrt(math.pi / 2) * erfcx(u / math.sqrt(2))
    with np.errstate(over="ignore", divide="ignore"):
        one_minus = np.where(u < 1e3, 1.0 - u * mills, u**-2.0 - 3.0 * u**-4.0)
        log_h[~mid] = -0.5 * u**2 - LOG_SQRT_2PI + np.log(one_minus)
        cdf_ratio[~mid], pdf_ratio[~mid] = mills / one_minus, 1.0 / one_minus
    return log_h, cdf_ratio, pdf_ratio


def log_expected_improvement(mean, std, best: float, xi: float = 0.0):
    """log EI = log σ + log(z Φ(z) + φ(z)), computed without underflow, and its derivatives

    ∂ log EI / ∂μ = -Φ(z) / (σ h(z)),    ∂ log EI / ∂σ = φ(z) / (σ h(z)).

    At σ = 0 (or z overflowing) the limit σ → 0: log EI = log(f* - ξ - μ), ∂/∂μ = -1/(f* - ξ - μ),
    ∂/∂σ = 0 (EI - (f* - ξ - μ) vanishes faster than any power of σ) where f* - ξ - μ > 0, and
    log EI = -inf elsewhere. Wherever log EI = -inf both slopes are 0.
    """
    d, std, z, point = _improvement(mean, std, best, xi)
    log_h, cdf_ratio, pdf_ratio = _log_h(z)
    gain = np.where(d > 0, d, 1.0)  # d where the limit is finite (1 elsewhere: a placeholder)
    with np.errstate(divide="ignore", over="ignore", invalid="ignore"):
        value = np.where(point, np.where(d > 0, np.log(gain), -np.inf), np.log(std) + log_h)
        d_mean = np.where(point, np.where(d > 0, -1.0 / gain, 0.0), -cdf_ratio / std)
        d_std = np.where(point, 0.0, pdf_ratio / std)
    return _usable_slopes(value, d_mean, d_std)


def probability_of_improvement(mean, std, best: float, xi: float = 0.0) -> np.ndarray:
    """PI = Φ(z), z = (f* - ξ - μ) / σ.

    At σ = 0 it is the probability under the point mass at μ, the indicator [μ < f* - ξ]; that
    is the limit σ → 0 except at μ = f* - ξ exactly, where Φ(0) = 1/2 for every σ > 0 but a known
    value equal to the target improves on nothing (PI = 0)."""
    d, _, z, point = _improvement(mean, std, best, xi)
    return np.where(point, (d > 0).astype(float), ndtr(z))


def log_probability_of_improvement(mean, std, best: float, xi: float = 0.0):
    """log PI = log Φ(z) and its derivatives, with λ(z) = φ(z)/Φ(z):

    ∂ log PI / ∂μ = -λ(z) / σ,    ∂ log PI / ∂σ = -z λ(z) / σ.

    λ is computed as √(2/π) / erfcx(-z/√2) (since Φ(z) = erfcx(-z/√2) e^{-z²/2} / 2), which stays
    accurate for z ≪ 0 where exp(log φ(z) - log Φ(z)) subtracts two huge, nearly equal numbers.
    At σ = 0 (or z overflowing): log PI = 0 with slopes 0 where μ < f* - ξ (λ → 0 faster than σ),
    -inf with slopes 0 elsewhere (see ``probability_of_improvement``).
    """
    d, std, z, point = _improvement(mean, std, best, xi)
    lam = math.sqrt(2 / math.pi) / erfcx(-z / math.sqrt(2))
    with np.errstate(divide="ignore", over="ignore", invalid="ignore"):
        value = np.where(point, np.where(d > 0, 0.0, -np.inf), log_ndtr(z))
        d_mean = np.where(point, 0.0, -lam / std)
        d_std = np.where(point, 0.0, -z * lam / std)
    return _usable_slopes(value, d_mean, d_std)


def upper_confidence_bound(mean, std, best: float = 0.0, beta: float = 4.0):
    """UCB = -μ + √β σ (``best`` is unused: UCB does not look at the incumbent), and its
    derivatives ∂/∂μ = -1, ∂/∂σ = √β. Larger β explores more. (σ = 0 needs no special case.)"""
    mean, std = np.asarray(mean, dtype=float), np.asarray(std, dtype=float)
    return -mean + math.sqrt(beta) * std, -np.ones_like(mean), math.sqrt(beta) * np.ones_like(std)

ACQUISITIONS = {"ei": log_expected_improvement, "pi": log_probability_of_improvement, "ucb": upper_confidence_bound}


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
    n_restarts    random restarts of the GP's hyperparameter fit, besides its two starts (the
                  default θ and the previous step's θ)

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
                 kernel="matern52", xi=0.0, beta=4.0, n_candidates=2048, n_local=10, n_restarts=0):
        super().__init__(space, seed=seed, minimize=minimize)
        if acquisition not in ACQUISITIONS:
            raise ValueError(f"BayesianOptimization: acquisition={acquisition!r} must be one of {list(ACQUISITIONS)}")
        if init not in ("sobol", "lhs", "random"):
            raise ValueError(f"BayesianOptimization: init={init!r} must be 'sobol', 'lhs' or 'random'")
        if kernel not in KERNELS:
            raise ValueError(f"BayesianOptimization: kernel={kernel!r} must be one of {KERNELS}")
        for name, value, low in (("n_initial", n_initial, 1), ("n_candidates", n_candidates, 1),
                                 ("n_local", n_local, 0), ("n_restarts", n_restarts, 0)):
            if not isinstance(value, numbers.Integral) or value < low:
                raise ValueError(f"BayesianOptimization: {name}={value!r} must be an integer >= {low}")
        if not (isinstance(xi, numbers.Real) and xi >= 0):
            raise ValueError(f"BayesianOptimization: xi={xi!r} must be a number >= 0")
        if not (isinstance(beta, numbers.Real) and beta >= 0):
            raise ValueError(f"BayesianOptimization: beta={beta!r} must be a number >= 0")
        self.acquisition, self.n_initial, self.init, self.kernel = acquisition, n_initial, init, kernel
        self.xi, self.beta = xi, beta
        self.n_candidates, self.n_local, self.n_restarts = n_candidates, n_local, n_restarts
        self.gp = GaussianProcess(kernel=kernel)
        self.X = np.empty((0, space.n_unit))  # (n_trials, n_unit): encodings of the told params
        self.seen = set()  # keys of every evaluated point
        self.design = None  # the initial design, drawn at the first ask
        self.sobol = None  # the candidates' quasi-random sequence, built at the first model-based ask
        self.continuous = np.array([  # the columns L-BFGS-B may move: Floats without a step
            s.start for s, dim in zip(space.unit_slices().values(), space.dimensions.values())
            if dim.kind == "Float" and dim.step is None], dtype=int)

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
        if self.sobol is None:
            from scipy.stats import qmc

            self.sobol = qmc.Sobol(self.space.n_unit, scramble=True, rng=np.random.default_rng(self.rng.integers(2**32)))
        return self.round_to_space(self.sobol.random(self.n_candidates))

    def round_to_space(self, U: np.ndarray) -> np.ndarray:
        """Each row of U (m, n_unit) moved to the encoding of the nearest valid point: the same as
        ``space.encode(space.decode(u))`` row by row (a test checks it), vectorised for speed."""
        U = np.clip(np.array(U, dtype=float), 0.0, 1.0)
        for s, dim in zip(self.space.unit_slices().values(), self.space.dimensions.values()):
            col = U[:, s.start]
            if dim.kind == "Choice":
                block = U[:, s]
                U[:, s] = np.eye(dim.n_unit)[np.argmax(block, axis=1)]
            elif dim.kind == "Int" and dim.log:  # exp onto [low − ½, high + ½], rounded; back to the bin's log-centre
                lo, hi = math.log(dim.low - 0.5), math.log(dim.high + 0.5)
                value = np.round(np.clip(np.exp(lo + col * (hi - lo)), dim.low, dim.high))
                U[:, s.start] = ((np.log(value - 0.5) + np.log(value + 0.5)) / 2 - lo) / (hi - lo)
            elif dim.on_lattice:  # an Int or a stepped Float: n equal slices, each to its centre (k + ½) / n
                n = dim.n_values
                U[:, s.start] = (np.minimum(np.floor(col * n), n - 1) + 0.5) / n
        return U

    @staticmethod
    def _key(u: np.ndarray) -> tuple:
        return tuple(np.round(u, 9))

    def _first_unseen(self, U: np.ndarray) -> np.ndarray | None:
        for u in U:
            if self._key(u) not in self.seen:
                return u
        return None

    def _random_unseen(self) -> dict:
        for _ in range(1000):
            params = self.space.sample(self.rng)
            if self._key(self.space.encode(params)) not in self.seen:
                return params
        raise SearchExhausted(f"BayesianOptimization: no unseen point found after {len(self.seen)} evaluations")

    def tell(self, trial) -> None:
        super().tell(trial)
        u = self.space.encode(trial.params)
        self.X = np.vstack([self.X, u])
        self.seen.add(self._key(u))

    # -- the algorithm ----------------------------------------------------------------------------------
    def ask(self) -> dict:
        losses = np.array([self.loss(t) for t in self.trials])
        ok = np.isfinite(losses)
        # 0. initial design (and whenever fewer than two trials succeeded: nothing to model yet)
        if len(self.trials) < self.n_initial or ok.sum() < 2:
            if self.design is None:
                self.design = self.round_to_space(self._cube(self.n_initial, self.init))
            u = self.design[len(self.trials)] if len(self.trials) < self.n_initial else None
            if u is None or self._key(u) in self.seen:
                return self._random_unseen()
            return self.space.decode(u)
        with one_blas_thread():
            u = self._maximise_acquisition(losses, ok)
        return self._random_unseen() if u is None else self.space.decode(u)

    def _maximise_acquisition(self, losses: np.ndarray, ok: np.ndarray) -> np.ndarray | None:
        # 1. the data: failed trials take the worst successful loss; far outliers are pulled in
        y = warp_outliers(np.where(ok, losses, losses[ok].max()), reach=1 / math.sqrt(self.gp.noise_min))
        # 2. fit the GP (warm-started from the last step's hyperparameters)
        self.gp.fit(self.X, y, n_restarts=self.n_restarts, rng=self.rng)
        best = float(np.min(self.gp.z_[ok]))
        acquisition = ACQUISITIONS[self.acquisition]
        option = {"beta": self.beta} if self.acquisition == "ucb" else {"xi": self.xi}

        def score(U):
            mean, var = self.gp.posterior(U)
            return acquisition(mean, np.sqrt(var), best, **option)[0]

        # 3. score many quasi-random candidates, each rounded to a valid point first
        candidates = self._candidates()  # (n_candidates, n_unit)
        values = score(candidates)
        # 4. refine with L-BFGS-B over the continuous columns, from the incumbent and n_local
        #    candidates: the best one and more drawn with probability ∝ exp(value - max)
        if self.n_local > 0 and len(self.continuous) > 0:
            chosen = local_starts(values, self.n_local, self.rng)
            incumbent = self.X[ok][np.argmin(losses[ok])]
            starts = np.vstack([candidates[chosen], incumbent])
            refined = self.round_to_space(self._refine(starts, acquisition, best, option))
            candidates, values = np.vstack([candidates, refined]), np.concatenate([values, score(refined)])
        # 5. the best candidate that has not been evaluated yet
        return self._first_unseen(candidates[np.argsort(-values, kind="stable")])

    def _refine(self, U0: np.ndarray, acquisition, best: float, option: dict) -> np.ndarray:
        """Local L-BFGS-B ascent of the acquisition from each row of U0 (k, n_unit), moving only
        the continuous columns.

        Two speed-ups, both exact: (a) the k ascents are one L-BFGS-B run on the sum of the k
        acquisition values (the sum is separable, so its maximiser is the k maximisers), which
        pays scipy's per-iteration overhead once instead of k times; (b) it works on s = x / ℓ
        rather than x: the GP sees x only through x / ℓ, so in s every direction curves alike
        and L-BFGS-B needs fewer steps (a diagonal preconditioner).
        """
        cols, k = self.continuous, len(U0)
        scale = self.gp.lengthscales_[cols]

        def negative(s):
            U = U0.copy()
            U[:, cols] = s.reshape(k, -1) * scale
            mean, var, d_mean, d_var = self.gp.posterior_grad(U)
            std = np.sqrt(var)
            value, dv_dmean, dv_dstd = acquisition(mean, std, best, **option)
            grad = dv_dmean[:, None] * d_mean + (dv_dstd / (2 * std))[:, None] * d_var  # chain rule, (k, n_unit)
            return -float(np.sum(value)), -(grad[:, cols] * scale).ravel()

        result = minimize(negative, (U0[:, cols] / scale).ravel(), jac=True, method="L-BFGS-B",
                          bounds=[(0.0, 1.0 / ell) for ell in scale] * k, options={"maxiter": 200, "gtol": 1e-4})
        U = U0.copy()
        U[:, cols] = np.clip(result.x.reshape(k, -1) * scale, 0.0, 1.0)
        return U
