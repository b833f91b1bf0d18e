"""Quantization: integer (整数量化) and limited-precision (有限精度量化) numbers in place of float32.

A b-bit *uniform affine* quantizer maps a real x to an integer q in :math:`[q_{min}, q_{max}]`
with a scale s > 0 and an integer zero point z (the integer that stands for 0.0):

.. math::

    q = \\mathrm{clamp}\\big(\\mathrm{round}(x / s) + z,\\; q_{min},\\; q_{max}\\big), \\qquad
    \\hat x = s\\,(q - z).

From a range :math:`[x_{min}, x_{max}]` (widened to contain 0, so that 0.0 is exact):

* affine (unsigned, :math:`q \\in [0, 2^b - 1]`): :math:`s = (x_{max} - x_{min}) / (2^b - 1)`,
  :math:`z = \\mathrm{round}(-x_{min} / s)`;
* symmetric (signed, :math:`q \\in [-(2^{b-1}-1), 2^{b-1}-1]`, z = 0):
  :math:`s = \\max(|x_{min}|, |x_{max}|) / (2^{b-1} - 1)`.

A zero range (an all-zero tensor) has no scale of its own: any s > 0 represents 0 exactly, and
s = float32 eps (1.19e-7) is taken, as PyTorch's observers do. Any other range gets exactly the
s above, with no floor. An absolute floor (PyTorch's ``scale = max(scale, eps)``) gives every
tensor with s < eps (a range below :math:`255\\,\\mathrm{eps} \\approx 3 \\cdot 10^{-5}` at 8 bits)
fewer levels than the bits allow, and rounds all of one whose values are below
:math:`\\mathrm{eps}/2 \\approx 6 \\cdot 10^{-8}` to 0. A floor relative to the magnitude
:math:`M = \\max(|x_{min}|, |x_{max}|)`, such as :math:`\\mathrm{eps}\\,M`, would never bind: the
range holds both M and 0, so :math:`s \\ge M / (2^b - 1)`.
Scaling a tensor by a power of two scales s by the same power and leaves z and q unchanged (while
s stays a normal float, above 1.2e-38).

Inside the range the round trip error is at most :math:`s/2`. *Per-tensor* uses one (s, z) for
the whole tensor; *per-channel* one per slice along ``axis`` (one per output neuron of a weight).
``fake_quantize`` is the round trip in float: what a quantized model computes, in float32.
``int_linear`` is the real integer path of a Linear layer; ``fake_quantize_ste`` is the
straight-through estimator that lets quantization-aware training backpropagate through rounding.

*Limited precision* (有限精度量化) keeps floating point and drops bits. A binary float of e
exponent bits and m mantissa (fraction) bits stores a sign S, a biased exponent E and a fraction M,

.. math::

    x = (-1)^S\\, 2^{E - \\beta} \\left(1 + M / 2^m\\right) \\quad (1 \\le E \\le 2^e - 2), \\qquad
    x = (-1)^S\\, 2^{1 - \\beta}\\, M / 2^m \\quad (E = 0, \\text{subnormal}),

with bias :math:`\\beta = 2^{e-1} - 1` (E = :math:`2^e - 1` holds inf and NaN). Round to nearest
gives :math:`\\mathrm{fl}(x) = x (1 + \\delta)`, :math:`|\\delta| \\le u = 2^{-(m+1)}` (the *unit
roundoff*) for every x in the normal range: a relative error, the same for large and small values,
where an integer grid has the same absolute error s/2 everywhere. float16 (e=5, m=10) has
:math:`u = 2^{-11}` but a narrow range (largest 65504, smallest normal :math:`2^{-14}`); bfloat16
(e=8, m=7) keeps float32's exponent, hence its range, with :math:`u = 2^{-8}`
(Higham, *Accuracy and Stability of Numerical Algorithms*, 2nd ed., ch. 2; IEEE 754-2008).
``FloatFormat`` derives these numbers from (e, m); ``float_fields`` reads the three fields of a
tensor's values.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

__all__ = ["QParams", "qrange", "qparams_from_range", "qparams", "quantize", "dequantize",
           "fake_quantize", "fake_quantize_ste", "int_linear", "FloatFormat", "FLOAT_FORMATS", "float_format",
           "float_fields"]


@dataclass
class QParams:
    """Scale(s) s, zero point(s) z and the integer range [qmin, qmax] of a quantizer.

    ``scale`` and ``zero_point`` are 0-d tensors (per-tensor) or 1-d with one entry per slice
    along ``axis`` (per-channel)."""

    scale: torch.Tensor
    zero_point: torch.Tensor
    qmin: int
    qmax: int
    axis: int | None = None

    def shaped(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Plumbing: ``scale`` and ``zero_point`` reshaped to broadcast against ``x`` along ``axis``."""
        if self.axis is None:
            return self.scale, self.zero_point
        shape = [1] * x.dim()
        shape[self.axis] = -1
        return self.scale.view(shape), self.zero_point.view(shape)


def qrange(bits: int, symmetric: bool) -> tuple[int, int]:
    """``(qmin, qmax)``: :math:`(-(2^{b-1}-1), 2^{b-1}-1)` if symmetric, else :math:`(0, 2^b-1)`."""
    if not (isinstance(bits, int) and 2 <= bits <= 8):
        raise ValueError(f"bits={bits!r} must be an integer from 2 to 8")
    return (-(2 ** (bits - 1) - 1), 2 ** (bits - 1) - 1) if symmetric else (0, 2 ** bits - 1)


def qparams_from_range(x_min: torch.Tensor, x_max: torch.Tensor, bits: int = 8, symmetric: bool = True,
                       axis: int | None = None) -> QParams:
    """Scale and zero point for values in ``[x_min, x_max]`` (tensors: 0-d, or 1-d per channel).

    A zero range gets s = float32 eps, any other range exactly the s of the module's formulas
    (see there why there is no floor); ``x_max - x_min`` wider than the largest float32 (±3e38)
    is computed as ``2 (x_max/2 - x_min/2)``, exact, so s stays finite."""
    qmin, qmax = qrange(bits, symmetric)
    x_min = torch.as_tensor(x_min, dtype=torch.float32).clamp(max=0.0)  # widen the range to hold 0
    x_max = torch.as_tensor(x_max, dtype=torch.float32).clamp(min=0.0)
    if symmetric:
        scale = torch.maximum(-x_min, x_max) / qmax
    else:
        width = x_max - x_min  # inf for a range wider than the largest float: halve it, exactly
        scale = torch.where(torch.isinf(width), (x_max / 2 - x_min / 2) / (qmax - qmin) * 2, width / (qmax - qmin))
    # s = 0 only for a zero range (then eps, as PyTorch) or a range of a few subnormals (then
    # 2^-149, the smallest float32 > 0)
    scale = torch.where(x_max > x_min, scale.clamp(min=2.0 ** -149), torch.finfo(torch.float32).eps)
    zero_point = torch.zeros_like(scale, dtype=torch.int64)
    if not symmetric:
        zero_point = (qmin - torch.round(x_min / scale)).clamp(qmin, qmax).to(torch.int64)
    return QParams(scale, zero_point, qmin, qmax, axis)


def qparams(x: torch.Tensor, bits: int = 8, symmetric: bool = True, axis: int | None = None) -> QParams:
    """Scale and zero point from the min and max of ``x`` (per tensor, or per slice along ``axis``)."""
    x = x.detach()
    if x.numel() == 0:
        raise ValueError(f"qparams: x is empty (shape {tuple(x.shape)}); a range needs at least one value")
    if axis is None:
        return qparams_from_range(x.min(), x.max(), bits, symmetric)
    if not -x.dim() <= axis < x.dim():
        raise ValueError(f"qparams: axis={axis!r} is out of range for a tensor of shape {tuple(x.shape)}")
    axis = axis % x.dim()
    per_slice = x.movedim(axis, 0).flatten(1)  # (channels, rest)
    return qparams_from_range(per_slice.min(1).values, per_slice.max(1).values, bits, symmetric, axis)


def _check(x: torch.Tensor, qp: QParams) -> None:
    if qp.axis is not None and qp.scale.numel() != x.shape[qp.axis]:
        raise ValueError(f"qparams have {qp.scale.numel()} channels, x has {x.shape[qp.axis]} along axis={qp.axis}")


def quantize(x: torch.Tensor, qp: QParams) -> torch.Tensor:
    """:math:`q = \\mathrm{clamp}(\\mathrm{round}(x/s) + z, q_{min}, q_{max})`, stored as int8 (signed range)
    or uint8 (unsigned range)."""
    _check(x, qp)
    scale, zero_point = qp.shaped(x)
    q = torch.clamp(torch.round(x / scale) + zero_point, qp.qmin, qp.qmax)
    return q.to(torch.int8 if qp.qmin < 0 else torch.uint8)


def dequantize(q: torch.Tensor, qp: QParams) -> torch.Tensor:
    """:math:`\\hat x = s\\,(q - z)` in float32, clamped to the float32 range.

    For a range reaching ±3.4028e38 (the largest float32), an end of the grid
    :math:`s\\,(q - z)` can lie just beyond it (z is rounded; s is rounded up): it overflowed to
    ±inf; the nearest float32, ±3.4028e38, stands for it. The clamp changes no finite value."""
    scale, zero_point = qp.shaped(q)
    largest = torch.finfo(torch.float32).max
    return (scale * (q.to(torch.float32) - zero_point)).clamp(-largest, largest)


def fake_quantize(x: torch.Tensor, qp: QParams) -> torch.Tensor:
    """The round trip :math:`\\hat x = s\\,(\\mathrm{clamp}(\\mathrm{round}(x/s) + z, q_{min}, q_{max}) - z)` in float."""
    return dequantize(quantize(x, qp), qp).to(x.dtype)


def fake_quantize_ste(x: torch.Tensor, qp: QParams) -> torch.Tensor:
    """``fake_quantize`` forward; straight-through estimator backward (Bengio et al. 2013):

    .. math:: \\frac{\\partial \\hat x}{\\partial x} \\approx 1 \\text{ inside the range, } 0 \\text{ where clamped.}

    Rounding has zero gradient almost everywhere; the STE pretends it is the identity, so the
    float weights underneath keep learning. This is the gradient ``torch.fake_quantize_*`` uses.
    """
    scale, zero_point = qp.shaped(x)
    unclamped = torch.round(x / scale) + zero_point
    inside = ((unclamped >= qp.qmin) & (unclamped <= qp.qmax)).to(x.dtype)
    return fake_quantize(x, qp).detach() + (x - x.detach()) * inside


def int_linear(q_x: torch.Tensor, x_qp: QParams, q_w: torch.Tensor, w_qp: QParams,
               bias: torch.Tensor | None = None) -> torch.Tensor:
    """A Linear layer on integers: :math:`y_{no} = s_x s_{w,o} \\sum_k (q_{x,nk} - z_x)(q_{w,ok} - z_{w,o}) + b_o`.

    1. widen the 8-bit integers and remove the zero points;
    2. multiply and accumulate in 32-bit integers (the products of 8-bit numbers need 16 bits,
       their sum over k more);
    3. rescale the int32 accumulator to float once per output and add the bias.

    ``x_qp`` must be per-tensor; ``w_qp`` per-tensor or per output channel (axis 0). On the CPU
    step 2 is a true int32 matmul, computed by a generic kernel (PyTorch has no BLAS for integers):
    slower than the BLAS matmul of float32, so this function shows what an int8 layer computes,
    not how fast one runs (``quantized.torch_int8_model`` times PyTorch's int8 kernels). Other
    devices have no integer matmul in PyTorch; there the same integers are multiplied in float64,
    which is exact for accumulators below :math:`2^{53}`.
    """
    if x_qp.axis is not None:
        raise ValueError(f"int_linear: x_qp.axis={x_qp.axis!r}; activations need one per-tensor scale")
    if w_qp.axis not in (None, 0):
        raise ValueError(f"int_linear: w_qp.axis={w_qp.axis!r}; weights are per-tensor or per output row (0)")
    acc_dtype = torch.int32 if q_x.device.type == "cpu" else torch.float64
    # 1. integers without zero points
    x_int = q_x.to(acc_dtype) - x_qp.zero_point.to(acc_dtype)                    # (n, k)
    w_int = q_w.to(acc_dtype) - w_qp.zero_point.to(acc_dtype).view(-1, 1)        # (o, k)
    # 2. multiply-accumulate
    acc = x_int @ w_int.T                                                          # (n, o)
    # 3. rescale: s_x * s_w (one per output) times the accumulator
    y = acc.to(torch.float32) * (x_qp.scale * w_qp.scale.view(-1)).to(torch.float32)
    return y if bias is None else y + bias


@dataclass(frozen=True)
class FloatFormat:
    """A binary floating-point format: 1 sign bit, ``exponent_bits`` e, ``mantissa_bits`` m.

    Every number below follows from (e, m) alone (see the module docstring); the tests check them
    against ``torch.finfo``."""

    name: str
    exponent_bits: int
    mantissa_bits: int

    @property
    def bits(self) -> int:
        """Total width: 1 + e + m."""
        return 1 + self.exponent_bits + self.mantissa_bits

    @property
    def bias(self) -> int:
        """Exponent bias :math:`\\beta = 2^{e-1} - 1`."""
        return 2 ** (self.exponent_bits - 1) - 1

    @property
    def eps(self) -> float:
        """Machine epsilon :math:`2^{-m}`: the gap between 1 and the next float (``torch.finfo.eps``)."""
        return 2.0 ** -self.mantissa_bits

    @property
    def unit_roundoff(self) -> float:
        """:math:`u = 2^{-(m+1)}`: the largest relative error of round to nearest in the normal range."""
        return 2.0 ** -(self.mantissa_bits + 1)

    @property
    def max(self) -> float:
        """The largest finite value :math:`(2 - 2^{-m})\\, 2^{\\beta}`."""
        return (2.0 - 2.0 ** -self.mantissa_bits) * 2.0 ** self.bias

    @property
    def smallest_normal(self) -> float:
        """:math:`2^{1-\\beta}`; below it values are subnormal and lose relative precision."""
        return 2.0 ** (1 - self.bias)

    @property
    def smallest_subnormal(self) -> float:
        """:math:`2^{1-\\beta-m}`; half of it and less round to zero."""
        return 2.0 ** (1 - self.bias - self.mantissa_bits)


FLOAT_FORMATS = {
    torch.float32: FloatFormat("float32", 8, 23),
    torch.float16: FloatFormat("float16", 5, 10),
    torch.bfloat16: FloatFormat("bfloat16", 8, 7),
}
_BITS_AS_INT = {32: torch.int32, 16: torch.int16}


def float_format(dtype: torch.dtype) -> FloatFormat:
    """The ``FloatFormat`` of ``torch.float32``, ``torch.float16`` or ``torch.bfloat16``."""
    if dtype not in FLOAT_FORMATS:
        raise ValueError(f"float_format: dtype={dtype!r} must be one of {', '.join(map(str, FLOAT_FORMATS))}")
    return FLOAT_FORMATS[dtype]


def float_fields(x: torch.Tensor, dtype: torch.dtype) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """``(sign, exponent, mantissa)``: the three bit fields of ``x`` rounded to ``dtype``, as int64
    tensors of ``x``'s shape (S in {0, 1}, the biased exponent E, the fraction M; see the module
    docstring for the value they encode)."""
    fmt = float_format(dtype)
    raw = x.detach().to(dtype).view(_BITS_AS_INT[fmt.bits]).to(torch.int64) & (2 ** fmt.bits - 1)  # unsigned bits
    m = fmt.mantissa_bits
    return raw >> (fmt.bits - 1), (raw >> m) & (2 ** fmt.exponent_bits - 1), raw & (2 ** m - 1)
