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
"""

from __future__ import annotations

import copy

import torch
from torch import nn
from torch.nn.utils import parametrize

from .layers import layer_like, set_module
from .quantize import QParams, dequantize, fake_quantize_ste, int_linear, qparams, qparams_from_range, quantize

__all__ = ["QuantLinear", "QuantConv2d", "calibrate", "quantize_model", "FakeQuantWeight", "prepare_qat"]


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
