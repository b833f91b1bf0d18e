"""Acquisition functions: how much an evaluation at x is worth, from the GP posterior there.

Every function here is written for a loss to *minimise* and is *maximised* over the search space
(Bayesian optimization turns a maximised objective into a loss first). With the posterior mean
μ(x) and standard deviation σ(x) of the loss (standardised units), the best loss seen so far f*,
a margin ξ ≥ 0 and

    z = (f* - ξ - μ(x)) / σ(x),     φ, Φ the standard normal density and distribution,

- Expected Improvement        EI(x) = E[max(f* - ξ - f(x), 0)] = σ(x) (z Φ(z) + φ(z))
                              (Močkus 1975; Jones, Schonlau & Welch 1998)
- Probability of Improvement  PI(x) = P(f(x) < f* - ξ) = Φ(z)   (Kushner 1964)
- Upper Confidence Bound      UCB(x) = -μ(x) + √β σ(x)          (Srinivas et al. 2010; the lower
                              confidence bound of the loss, negated)

Bayesian optimization maximises EI and PI through their logarithms: EI underflows to 0 far from
the data (z ≪ 0), which leaves the optimiser a flat landscape; log EI stays finite and keeps its
slope (Ament et al. 2023, "Unexpected Improvements to Expected Improvement"). Where σ = 0 (or is
so small that z overflows) each function returns its limit σ → 0, never a NaN.

One convention for all of them (as ``gp.log_marginal_likelihood``): ``f(mean, std, best, ...)``
returns the values, an array of the broadcast shape of ``mean`` and ``std``; with ``grad=True`` it
returns ``(value, ∂value/∂μ, ∂value/∂σ)``, which the chain rule with the GP's
``posterior_grad`` turns into the gradient in x for L-BFGS-B. ``ACQUISITIONS`` maps the names
``BayesianOptimization`` takes (``"ei"``, ``"pi"``, ``"ucb"``) to the function it maximises.
"""

from __future__ import annotations

import math

import numpy as np
from scipy.special import erfcx, log_ndtr, ndtr

__all__ = ["expected_improvement", "log_expected_improvement", "probability_of_improvement",
           "log_probability_of_improvement", "upper_confidence_bound", "ACQUISITIONS"]

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


def _result(value, d_mean, d_std, grad: bool):
    """Plumbing: the value alone, or with its slopes. Where the value is -inf (nothing to gain
    there) the slopes are 0, not the NaN or ±inf of the formulas; a slope steeper than any float
    (σ → 0 at z ≪ 0) saturates at ± the largest float, so that an optimiser never receives inf or NaN."""
    if not grad:
        return value
    gone, top = value == -np.inf, np.finfo(float).max
    return value, np.where(gone, 0.0, np.clip(d_mean, -top, top)), np.where(gone, 0.0, np.clip(d_std, -top, top))


def expected_improvement(mean, std, best: float, xi: float = 0.0, grad: bool = False):
    """EI = σ (z Φ(z) + φ(z)), z = (f* - ξ - μ) / σ: the closed form, as in the textbooks
    (it rounds to 0 once z < -38; use ``log_expected_improvement`` to rank such points), and
    with ``grad=True`` its slopes ∂EI/∂μ = -Φ(z), ∂EI/∂σ = φ(z).

    At σ = 0 it is the limit σ → 0, EI = max(f* - ξ - μ, 0): the improvement of a value that is
    known; so it is wherever z overflows (σ below about 5e-309 |f* - ξ - μ|), where the closed form
    is exactly that limit in floats (Φ(z) is 0 or 1 and σ φ(z) is 0)."""
    d, std, z, point = _improvement(mean, std, best, xi)
    cdf, pdf = ndtr(z), _pdf(z)
    value = np.where(point, np.maximum(d, 0.0), std * (z * cdf + pdf))
    return _result(value, np.where(point, -(d > 0).astype(float), -cdf), np.where(point, 0.0, pdf), grad)


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


def log_expected_improvement(mean, std, best: float, xi: float = 0.0, grad: bool = False):
    """log EI = log σ + log(z Φ(z) + φ(z)), computed without underflow, and (``grad=True``) its derivatives

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
    return _result(value, d_mean, d_std, grad)


def probability_of_improvement(mean, std, best: float, xi: float = 0.0, grad: bool = False):
    """PI = Φ(z), z = (f* - ξ - μ) / σ, and with ``grad=True`` its slopes
    ∂PI/∂μ = -φ(z)/σ, ∂PI/∂σ = -z φ(z)/σ.

    At σ = 0 it is the probability under the point mass at μ, the indicator [μ < f* - ξ]; that
    is the limit σ → 0 except at μ = f* - ξ exactly, where Φ(0) = 1/2 for every σ > 0 but a known
    value equal to the target improves on nothing (PI = 0)."""
    d, std, z, point = _improvement(mean, std, best, xi)
    value = np.where(point, (d > 0).astype(float), ndtr(z))
    if not grad:
        return value
    with np.errstate(divide="ignore", over="ignore", invalid="ignore"):
        d_mean = np.where(point, 0.0, -_pdf(z) / std)
        d_std = np.where(point, 0.0, -z * _pdf(z) / std)
    return _result(value, d_mean, d_std, grad)


def log_probability_of_improvement(mean, std, best: float, xi: float = 0.0, grad: bool = False):
    """log PI = log Φ(z) and (``grad=True``) its derivatives, with λ(z) = φ(z)/Φ(z):

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
    return _result(value, d_mean, d_std, grad)


def upper_confidence_bound(mean, std, best: float = 0.0, beta: float = 4.0, grad: bool = False):
    """UCB = -μ + √β σ (``best`` is unused: UCB does not look at the incumbent), and with
    ``grad=True`` its derivatives ∂/∂μ = -1, ∂/∂σ = √β. Larger β explores more. (σ = 0 needs no
    special case.)"""
    mean, std = np.broadcast_arrays(np.asarray(mean, dtype=float), np.asarray(std, dtype=float))
    value = -mean + math.sqrt(beta) * std
    return _result(value, -np.ones_like(mean), math.sqrt(beta) * np.ones_like(std), grad)

ACQUISITIONS = {"ei": log_expected_improvement, "pi": log_probability_of_improvement, "ucb": upper_confidence_bound}
