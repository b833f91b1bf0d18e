"""Learning-rate schedules: the learning rate :math:`\\eta_t` as a function of a counter :math:`t`.

Each schedule is a small callable, ``schedule(t) -> lr``; ``t`` counts epochs or steps, as the
training loop decides (``fit(..., schedule_per="epoch" | "step")``), starting at 0.

* constant:     :math:`\\eta_t = \\eta_0`
* exponential:  :math:`\\eta_t = \\eta_0 \\, r^{t / T}`  (``decay_steps`` :math:`T`; the source
  material's Keras ``ExponentialDecay(0.1, decay_steps=10000, decay_rate=0.96)``)
* step:         :math:`\\eta_t = \\eta_0 \\, \\gamma^{\\lfloor t / s \\rfloor}`
* cosine:       :math:`\\eta_t = \\eta_{min} + \\tfrac12(\\eta_0 - \\eta_{min})(1 + \\cos(\\pi t / T))`
  for :math:`t \\le T`, then :math:`\\eta_{min}`
"""

from __future__ import annotations

import math
import numbers

__all__ = ["Schedule", "ConstantLR", "ExponentialDecay", "StepDecay", "CosineDecay"]


def _check(name: str, value, low: float, low_open: bool = False, high: float | None = None) -> float:
    ok = isinstance(value, numbers.Real) and math.isfinite(value) and (value > low if low_open else value >= low)
    if ok and high is not None:
        ok = value <= high
    if not ok:
        bound = f"> {low}" if low_open else f">= {low}"
        bound += f" and <= {high}" if high is not None else ""
        raise ValueError(f"{name}={value!r} must be a finite number {bound}")
    return float(value)


class Schedule:
    """Base class: ``lr0`` is the learning rate at ``t = 0``; subclasses define ``__call__``."""

    def __init__(self, lr0: float):
        self.lr0 = _check(f"{type(self).__name__}: lr0", lr0, 0.0)

    def __call__(self, t: int) -> float:
        raise NotImplementedError

    def _check_t(self, t) -> None:
        if not (isinstance(t, numbers.Real) and t >= 0):
            raise ValueError(f"{type(self).__name__}: t={t!r} must be >= 0")

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in vars(self).items())
        return f"{type(self).__name__}({args})"


class ConstantLR(Schedule):
    """:math:`\\eta_t = \\eta_0`."""

    def __call__(self, t: int) -> float:
        self._check_t(t)
        return self.lr0


class ExponentialDecay(Schedule):
    """:math:`\\eta_t = \\eta_0 \\, r^{t / T}` with ``rate`` :math:`r \\in (0, 1]` and
    ``decay_steps`` :math:`T > 0`; ``staircase=True`` uses :math:`\\lfloor t / T \\rfloor` (Keras' option)."""

    def __init__(self, lr0: float, rate: float, decay_steps: float = 1, staircase: bool = False):
        super().__init__(lr0)
        self.rate = _check("ExponentialDecay: rate", rate, 0.0, low_open=True, high=1.0)
        self.decay_steps = _check("ExponentialDecay: decay_steps", decay_steps, 0.0, low_open=True)
        self.staircase = bool(staircase)

    def __call__(self, t: int) -> float:
        self._check_t(t)
        exponent = t / self.decay_steps
        if self.staircase:
            exponent = math.floor(exponent)
        return self.lr0 * self.rate ** exponent


class StepDecay(Schedule):
    """:math:`\\eta_t = \\eta_0 \\, \\gamma^{\\lfloor t / s \\rfloor}`: multiply by ``gamma`` every
    ``step_size`` :math:`s` (``torch.optim.lr_scheduler.StepLR``)."""

    def __init__(self, lr0: float, step_size: int, gamma: float = 0.1):
        super().__init__(lr0)
        if not (isinstance(step_size, numbers.Integral) and step_size >= 1):
            raise ValueError(f"StepDecay: step_size={step_size!r} must be an integer >= 1")
        self.step_size = int(step_size)
        self.gamma = _check("StepDecay: gamma", gamma, 0.0, low_open=True, high=1.0)

    def __call__(self, t: int) -> float:
        self._check_t(t)
        return self.lr0 * self.gamma ** (int(t) // self.step_size)


class CosineDecay(Schedule):
    """:math:`\\eta_t = \\eta_{min} + \\tfrac12(\\eta_0 - \\eta_{min})(1 + \\cos(\\pi t / T))`
    for :math:`t \\le T` (``t_max``), then :math:`\\eta_{min}` (``lr_min``)
    (the closed form of ``torch.optim.lr_scheduler.CosineAnnealingLR``, without restarts)."""

    def __init__(self, lr0: float, t_max: int, lr_min: float = 0.0):
        super().__init__(lr0)
        if not (isinstance(t_max, numbers.Integral) and t_max >= 1):
            raise ValueError(f"CosineDecay: t_max={t_max!r} must be an integer >= 1")
        self.t_max = int(t_max)
        self.lr_min = _check("CosineDecay: lr_min", lr_min, 0.0, high=self.lr0)

    def __call__(self, t: int) -> float:
        self._check_t(t)
        progress = min(t, self.t_max) / self.t_max
        return self.lr_min + 0.5 * (self.lr0 - self.lr_min) * (1.0 + math.cos(math.pi * progress))
