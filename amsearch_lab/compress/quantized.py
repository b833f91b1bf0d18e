"""Quantized models: post-training quantization (PTQ) and quantization-aware training (QAT).

PTQ (``quantize_model``) takes a trained float model and

1. *calibrates*: runs a few batches and records the range :math:`[x_{min}, x_{max}]` of the input
   of every Linear/Conv2d layer;
2. *converts*: replaces each layer by a ``QuantLinear``/``QuantConv2d`` that stores its weight as
   int8 (symmetric, one scale per output channel by default) and quantizes its input with the
   calibrated affine uint8 quantizer, then computes on integers (``int_linear``).

QAT (``prepare_qat``) trains *through* the quantizer: each weight is replaced by its fake-quantized
value in the forward pass, with the straight-through estimator in the backward pass, so the float
weights learn to sit where rounding hurts least. ``quantize_model`` then converts as for PTQ.
No ``torch.ao.quantization`` is used: every step is in ``quantize.py``. Both wrappers return
``(new model, report)`` and leave the model they are given unchanged (see the package docstring).

Limited precision (``cast_model``) stores every weight as float16 or bfloat16 and computes either
in float32 with the weights upcast (weights only) or entirely in the low-precision format.

``torch_int8_model`` is a *reference*, not part of the method: the same post-training int8
quantization done by PyTorch's quantized CPU engine (``torch.ao.quantization``, fbgemm/x86 or
qnnpack kernels), so that a lesson can time real int8 kernels next to the integer arithmetic
above, which is emulated with general tensor ops (an int32 matmul has no optimized CPU kernel).
"""

from __future__ import annotations

import copy
import warnings
from contextlib import contextmanager

import torch
from torch import nn
from torch.nn.utils import parametrize

from .layers import layer_like, set_module
from .quantize import (
    QParams,
    dequantize,
    fake_quantize_ste,
    float_format,
    int_linear,
    qparams,
    qparams_from_range,
    quantize,
)

__all__ = ["QuantLinear", "QuantConv2d", "calibrate", "quantize_model", "FakeQuantWeight", "prepare_qat",
           "LowPrecision", "cast_model", "torch_int8_model"]


class _QuantLayer(nn.Module):
    """Plumbing shared by the two quantized layers: int8 weight, its scales, the input quantizer."""

    def __init__(self, layer: nn.Module, bits: int, per_channel: bool, symmetric: bool,
                 input_range: tuple[torch.Tensor, torch.Tensor] | None, act_bits: int | None):
        super().__init__()
        w_qp = qparams(layer.weight, bits, symmetric, axis=0 if per_channel else None)
        self.bits, self.act_bits = bits, act_bits
        self.register_buffer("q_weight", quantize(layer.weight.detach(), w_qp))  # int8/uint8, like the weight
        self.register_buffer("w_scale", w_qp.scale.reshape(-1).to(torch.float32))
        self.register_buffer("w_zero_point", w_qp.zero_point.reshape(-1).to(torch.int32))
        self._w_range, self._w_axis = (w_qp.qmin, w_qp.qmax), w_qp.axis
        self.bias = None if layer.bias is None else nn.Parameter(layer.bias.detach().clone(), requires_grad=False)
        if act_bits is not None:
            if input_range is None:
                raise ValueError("quantize_model: act_bits is set but the layer was not calibrated")
            x_qp = qparams_from_range(input_range[0], input_range[1], act_bits, symmetric=False)
            self.register_buffer("x_scale", x_qp.scale)
            self.register_buffer("x_zero_point", x_qp.zero_point.to(torch.int32))
            self._x_range = (x_qp.qmin, x_qp.qmax)

    def w_qparams(self) -> QParams:
        scale, zp = (self.w_scale, self.w_zero_point) if self._w_axis == 0 else (self.w_scale[0], self.w_zero_point[0])
        return QParams(scale, zp, *self._w_range, self._w_axis)

    def x_qparams(self) -> QParams:
        return QParams(self.x_scale, self.x_zero_point, *self._x_range)

    def dequantized_weight(self) -> torch.Tensor:
        """:math:`\\hat W = s_w (q_w - z_w)`: the weight the integer layer effectively uses."""
        return dequantize(self.q_weight, self.w_qparams())


class QuantLinear(_QuantLayer):
    """A Linear layer with int8 weights. With ``act_bits`` the input is quantized too and the
    product is computed on integers (``int_linear``); without, only the weights are quantized."""

    def __init__(self, layer: nn.Linear, bits: int = 8, per_channel: bool = True, symmetric: bool = True,
                 input_range=None, act_bits: int | None = 8):
        super().__init__(layer, bits, per_channel, symmetric, input_range, act_bits)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.act_bits is None:
            return nn.functional.linear(x, self.dequantized_weight(), self.bias)
        x_qp = self.x_qparams()
        return int_linear(quantize(x, x_qp), x_qp, self.q_weight, self.w_qparams(), self.bias)


class QuantConv2d(_QuantLayer):
    """A Conv2d layer with int8 weights (and, with ``act_bits``, an int8 input).

    PyTorch has no integer convolution; the integers are convolved in float64, which is exact for
    accumulators below :math:`2^{53}`, and rescaled as in ``int_linear``."""

    def __init__(self, layer: nn.Conv2d, bits: int = 8, per_channel: bool = True, symmetric: bool = True,
                 input_range=None, act_bits: int | None = 8):
        super().__init__(layer, bits, per_channel, symmetric, input_range, act_bits)
        self.conv_args = dict(stride=layer.stride, padding=layer.padding, dilation=layer.dilation)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.act_bits is None:
            return nn.functional.conv2d(x, self.dequantized_weight(), self.bias, **self.conv_args)
        x_qp, w_qp = self.x_qparams(), self.w_qparams()
        # 1. integers without zero points, as float64
        x_int = quantize(x, x_qp).double() - x_qp.zero_point.double()
        w_int = self.q_weight.double() - w_qp.shaped(self.q_weight)[1].double()
        # 2. multiply-accumulate (exact in float64)
        acc = nn.functional.conv2d(x_int, w_int, None, **self.conv_args)   # (n, out, h, w)
        # 3. rescale per output channel, add the bias
        y = acc.float() * (x_qp.scale * self.w_scale).view(1, -1, 1, 1)
        return y if self.bias is None else y + self.bias.view(1, -1, 1, 1)


@torch.no_grad()
def calibrate(model: nn.Module, x: torch.Tensor, batch_size: int = 1024) -> dict[str, tuple[torch.Tensor, torch.Tensor]]:
    """Run ``x`` through ``model`` and return the (min, max) of each Linear/Conv2d layer's input."""
    ranges, hooks = {}, []

    def record(name):
        def hook(module, args):
            lo, hi = args[0].min(), args[0].max()
            old = ranges.get(name)
            ranges[name] = (lo, hi) if old is None else (torch.minimum(old[0], lo), torch.maximum(old[1], hi))
        return hook

    for name, m in model.named_modules():
        if isinstance(m, (nn.Linear, nn.Conv2d)):
            hooks.append(m.register_forward_pre_hook(record(name)))
    try:
        for start in range(0, len(x), batch_size):
            model(x[start:start + batch_size])
    finally:
        for h in hooks:
            h.remove()
    return ranges


def quantize_model(model: nn.Module, x_calib: torch.Tensor | None = None, bits: int = 8, act_bits: int | None = 8,
                   per_channel: bool = True, symmetric: bool = True) -> tuple[nn.Module, dict]:
    """A copy of ``model`` with every Linear/Conv2d replaced by its quantized version.

    ``bits``: weight bits (2..8). ``act_bits``: input bits (None: weights only, no calibration
    needed); activation ranges come from running ``x_calib``. A model prepared by
    ``prepare_qat`` is converted with the weights it learned. Returns ``(quantized, ranges)``,
    ``ranges`` the calibrated input ranges as ``calibrate`` gives them (``{}`` when ``act_bits``
    is None: nothing is calibrated); ``model`` itself is unchanged.
    """
    if act_bits is not None and x_calib is None:
        raise ValueError(f"quantize_model: act_bits={act_bits!r} needs calibration data x_calib")
    quantized = copy.deepcopy(model)
    ranges = calibrate(quantized, x_calib) if act_bits is not None else {}
    for name, m in list(quantized.named_modules()):
        if isinstance(m, (nn.Linear, nn.Conv2d)):
            if parametrize.is_parametrized(m, "weight") and isinstance(m.parametrizations.weight[0], FakeQuantWeight):
                m = layer_like(m, m.parametrizations.weight.original, m.bias)  # QAT: the float weights it trained
            kind = QuantLinear if isinstance(m, nn.Linear) else QuantConv2d
            set_module(quantized, name, kind(m, bits, per_channel, symmetric, ranges.get(name), act_bits))
    return quantized, ranges


class FakeQuantWeight(nn.Module):
    """The QAT parametrization ``w -> fake_quantize_ste(w)`` with scales from the current weight."""

    def __init__(self, bits: int = 8, per_channel: bool = True, symmetric: bool = True):
        super().__init__()
        self.bits, self.per_channel, self.symmetric = bits, per_channel, symmetric

    def forward(self, weight: torch.Tensor) -> torch.Tensor:
        qp = qparams(weight, self.bits, self.symmetric, axis=0 if self.per_channel else None)
        return fake_quantize_ste(weight, qp)


def prepare_qat(model: nn.Module, bits: int = 4, per_channel: bool = True,
                symmetric: bool = True) -> tuple[nn.Module, dict[str, FakeQuantWeight]]:
    """A copy of ``model`` whose every Linear/Conv2d weight is fake-quantized in the forward pass.
    Train it with any loop, then convert with ``quantize_model(qat_model, ..., bits=bits)``.

    Returns ``(qat_model, quantizers)``, ``quantizers[parameter name]`` the ``FakeQuantWeight``
    attached to it (keyed like pruning's masks, e.g. ``"1.weight"``); ``model`` itself is unchanged."""
    qat_model = copy.deepcopy(model)
    quantizers = {}
    for name, m in qat_model.named_modules():
        if isinstance(m, (nn.Linear, nn.Conv2d)):
            quantizer = FakeQuantWeight(bits, per_channel, symmetric)
            parametrize.register_parametrization(m, "weight", quantizer)
            quantizers[f"{name}.weight" if name else "weight"] = quantizer
    return qat_model, quantizers


class LowPrecision(nn.Module):
    """A model whose every float tensor is stored as ``dtype`` (float16 or bfloat16: 2 bytes each).

    ``activations=False``: each forward upcasts the stored weights to float32 and computes in
    float32 (the weights carry the rounding error, as in weight-only integer quantization);
    ``activations=True``: the input is cast to ``dtype`` and every operation runs in ``dtype``.
    Either way the logits come out as float32."""

    def __init__(self, model: nn.Module, dtype: torch.dtype, activations: bool = False):
        super().__init__()
        if dtype not in (torch.float16, torch.bfloat16):
            raise ValueError(f"LowPrecision: dtype={dtype!r} must be torch.float16 or torch.bfloat16")
        self.dtype, self.activations = dtype, activations
        self.model = copy.deepcopy(model).to(dtype)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.activations:
            return self.model(x.to(self.dtype)).float()
        upcast = {name: t.float() if t.is_floating_point() else t
                  for name, t in [*self.model.named_parameters(), *self.model.named_buffers()]}
        return torch.func.functional_call(self.model, upcast, (x.float(),))


def cast_model(model: nn.Module, dtype: torch.dtype, activations: bool = False) -> tuple[LowPrecision, dict]:
    """Limited precision: a ``LowPrecision`` copy of ``model`` stored as ``dtype``.

    Returns ``(low, errors)``, ``errors[parameter name]`` the relative rounding error
    :math:`\\lVert W - \\mathrm{fl}(W) \\rVert / \\lVert W \\rVert` (at most the unit roundoff
    :math:`2^{-11}` for float16, :math:`2^{-8}` for bfloat16, while no value is subnormal or
    overflows); ``model`` itself is unchanged."""
    float_format(dtype)  # raises ValueError for a dtype that is no known float format
    low = LowPrecision(model, dtype, activations)
    errors = {}
    for name, p in model.named_parameters():
        p = p.detach()
        rounded = low.model.get_parameter(name).detach().float()
        errors[name] = float(torch.linalg.norm(p - rounded) / torch.linalg.norm(p)) if p.any() else 0.0
    return low, errors


@contextmanager
def _quantized_engine(engine: str):
    """Plumbing: select PyTorch's quantized ``engine`` (packed int8 weights belong to one engine)
    and silence ``torch.ao``'s deprecation warnings; the previous engine comes back afterwards."""
    previous = torch.backends.quantized.engine
    torch.backends.quantized.engine = engine
    try:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=".*deprecated.*")
            yield
    finally:
        torch.backends.quantized.engine = previous


class _OnEngine(nn.Module):
    """Plumbing: runs a ``torch.ao`` quantized model on the engine it was converted for."""

    def __init__(self, model: nn.Module, engine: str):
        super().__init__()
        self.model, self.engine = model, engine

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        with _quantized_engine(self.engine):
            return self.model(x)


@torch.no_grad()
def torch_int8_model(model: nn.Sequential, x_calib: torch.Tensor | None = None,
                     engine: str | None = None) -> tuple[nn.Module, dict]:
    """Reference only: int8 post-training quantization by PyTorch's quantized CPU kernels.

    With ``x_calib``: *static* quantization (``torch.ao.quantization`` eager mode): each
    Linear/Conv2d followed by a ReLU is fused with it, weights become int8 with one symmetric
    scale per output channel in [-127, 127] (as ``quantize_model``), activations uint8 with a
    min/max range calibrated on ``x_calib``; the whole network then runs on quantized tensors.
    Without: *dynamic* quantization (``quantize_dynamic``): int8 weights (per channel), each
    Linear's input quantized per batch on the fly from its min and max, float between layers.

    ``engine``: ``"x86"`` or ``"fbgemm"`` (AVX2/AVX-512 kernels), ``"qnnpack"`` (ARM/mobile
    kernels), ``"onednn"``; default ``torch.backends.quantized.engine``. On the x86 engines the
    activations get 7 bits (``reduce_range``, PyTorch's own default): the AVX2 kernels add pairs
    of uint8 x int8 products in 16 bits (``vpmaddubsw``), which saturates beyond 32767.
    CPU only. ``torch.ao.quantization`` is deprecated in favour of the separate ``torchao``
    package; a PyTorch without it raises ``RuntimeError``. Returns ``(quantized, report)``,
    report ``{"engine", "mode"}``; ``model`` itself (an ``nn.Sequential``) is unchanged.
    """
    try:
        import torch.ao.quantization as aq
    except ImportError as e:  # pragma: no cover - depends on the PyTorch build
        raise RuntimeError(f"torch_int8_model needs torch.ao.quantization ({e})") from e
    engine = torch.backends.quantized.engine if engine is None else engine
    if engine not in torch.backends.quantized.supported_engines:
        raise ValueError(f"torch_int8_model: engine={engine!r} is not one of "
                         f"{torch.backends.quantized.supported_engines} in this PyTorch build")
    if not isinstance(model, nn.Sequential):
        raise ValueError(f"torch_int8_model: model is a {type(model).__name__}; eager-mode fusion needs an nn.Sequential")
    if any(p.device.type != "cpu" for p in model.parameters()):
        raise ValueError("torch_int8_model: PyTorch's quantized kernels run on the CPU; move the model there first")
    with _quantized_engine(engine):
        copied = copy.deepcopy(model).eval()
        if x_calib is None:
            quantized = aq.quantize_dynamic(copied, {nn.Linear: aq.per_channel_dynamic_qconfig}, dtype=torch.qint8)
        else:
            # 1. fuse Linear/Conv2d + ReLU, so that the ReLU's output range is the one quantized
            pairs = [[str(i), str(i + 1)] for i in range(len(copied) - 1)
                     if isinstance(copied[i], (nn.Linear, nn.Conv2d)) and isinstance(copied[i + 1], nn.ReLU)]
            fused = aq.fuse_modules(copied, pairs) if pairs else copied
            # 2. observers: min/max of the activations, per-channel symmetric weights
            quantized = nn.Sequential(aq.QuantStub(), fused, aq.DeQuantStub())
            quantized.qconfig = aq.QConfig(
                activation=aq.MinMaxObserver.with_args(dtype=torch.quint8, reduce_range=engine != "qnnpack"),
                weight=aq.PerChannelMinMaxObserver.with_args(dtype=torch.qint8, quant_min=-127, quant_max=127,
                                                             qscheme=torch.per_channel_symmetric))
            aq.prepare(quantized, inplace=True)
            # 3. calibrate, 4. convert to quantized modules with packed int8 weights
            for start in range(0, len(x_calib), 1024):
                quantized(x_calib[start:start + 1024])
            aq.convert(quantized, inplace=True)
    return _OnEngine(quantized, engine), {"engine": engine, "mode": "dynamic" if x_calib is None else "static"}
