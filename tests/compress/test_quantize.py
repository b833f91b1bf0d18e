"""Quantizers: scales equal torch.ao's observers (when present), values equal torch's fake_quantize
ops, the round trip error is at most scale/2, the STE gradient equals torch's, and the integer
Linear equals fake quantization."""

import re

import pytest
import torch

from amsearch_lab.compress import QParams, dequantize, fake_quantize, fake_quantize_ste, int_linear
from amsearch_lab.compress.quantize import float_fields, float_format, qparams, qparams_from_range, qrange, quantize

try:
    from torch.ao.quantization import MinMaxObserver, PerChannelMinMaxObserver
except ImportError:  # PyTorch is removing torch.ao.quantization; the tests below then skip
    MinMaxObserver = PerChannelMinMaxObserver = None

needs_ao = pytest.mark.skipif(MinMaxObserver is None, reason="torch.ao.quantization is not available")


def _x(*shape, seed=0):
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed)) * 3 + 0.5


@needs_ao
@pytest.mark.parametrize("symmetric", [True, False])
def test_per_tensor_qparams_equal_torch_minmax_observer(symmetric):
    x = _x(1000)
    qmin, qmax = qrange(8, symmetric)
    obs = MinMaxObserver(dtype=torch.qint8 if symmetric else torch.quint8, quant_min=qmin, quant_max=qmax,
                         qscheme=torch.per_tensor_symmetric if symmetric else torch.per_tensor_affine)
    obs(x)
    scale, zero_point = obs.calculate_qparams()
    qp = qparams(x, 8, symmetric)
    torch.testing.assert_close(qp.scale, scale[0] if scale.dim() else scale, rtol=1e-6, atol=0)
    assert int(qp.zero_point) == int(zero_point)


@needs_ao
def test_per_channel_qparams_equal_torch_per_channel_observer():
    w = _x(6, 20)
    obs = PerChannelMinMaxObserver(ch_axis=0, dtype=torch.qint8, quant_min=-127, quant_max=127,
                                   qscheme=torch.per_channel_symmetric)
    obs(w)
    scale, zero_point = obs.calculate_qparams()
    qp = qparams(w, 8, symmetric=True, axis=0)
    torch.testing.assert_close(qp.scale, scale, rtol=1e-6, atol=0)
    assert torch.equal(qp.zero_point, zero_point.to(torch.int64))


@pytest.mark.parametrize("bits", [2, 3, 4, 6, 8])
@pytest.mark.parametrize("symmetric", [True, False])
def test_fake_quantize_equals_torch_per_tensor_op(bits, symmetric):
    x = _x(2000, seed=bits)
    qp = qparams(x, bits, symmetric)
    expected = torch.fake_quantize_per_tensor_affine(x, float(qp.scale), int(qp.zero_point), qp.qmin, qp.qmax)
    torch.testing.assert_close(fake_quantize(x, qp), expected, rtol=0, atol=1e-6)


def test_fake_quantize_equals_torch_per_channel_op():
    w = _x(5, 40, 3)
    for axis in (0, 2):
        qp = qparams(w, 4, symmetric=False, axis=axis)
        expected = torch.fake_quantize_per_channel_affine(w, qp.scale, qp.zero_point.to(torch.int32), axis,
                                                          qp.qmin, qp.qmax)
        torch.testing.assert_close(fake_quantize(w, qp), expected, rtol=0, atol=1e-6)


@pytest.mark.parametrize("bits", range(2, 9))
@pytest.mark.parametrize("symmetric", [True, False])
def test_round_trip_error_is_at_most_half_a_step(bits, symmetric):
    x = _x(5000, seed=bits)
    qp = qparams(x, bits, symmetric)
    q = quantize(x, qp)
    assert q.dtype == (torch.int8 if symmetric else torch.uint8)
    assert int(q.min()) >= qp.qmin and int(q.max()) <= qp.qmax
    assert float((dequantize(q, qp) - x).abs().max()) <= float(qp.scale) / 2 * (1 + 1e-5)


def test_zero_is_exact_and_an_all_zero_tensor_works():
    for symmetric in (True, False):
        qp = qparams_from_range(torch.tensor(0.3), torch.tensor(2.0), 8, symmetric)
        assert float(fake_quantize(torch.zeros(3), qp).abs().max()) == 0.0
        assert float(fake_quantize(torch.zeros(4), qparams(torch.zeros(4), 8, symmetric)).abs().max()) == 0.0


def test_ste_gradient_equals_torch_fake_quantize_gradient():
    x = _x(500).requires_grad_(True)
    qp = qparams_from_range(torch.tensor(-2.0), torch.tensor(3.0), 4, symmetric=False)  # clips the tails
    g = torch.randn(500)
    (fake_quantize_ste(x, qp) * g).sum().backward()
    ours = x.grad.clone()
    x.grad = None
    (torch.fake_quantize_per_tensor_affine(x, float(qp.scale), int(qp.zero_point), qp.qmin, qp.qmax) * g).sum().backward()
    assert torch.equal(ours, x.grad)
    assert 0 < int((ours == 0).sum()) < 500  # some values are clamped, most are not


def _int_and_fake(n, k, o, power_of_two):
    x, w, b = torch.rand(n, k) * 2 - 0.3, _x(o, k) * 0.1, _x(o, seed=1)
    x_qp, w_qp = qparams(x, 8, symmetric=False), qparams(w, 8, symmetric=True, axis=0)
    if power_of_two:  # scales 2^-e: every float product and sum below is exact
        x_qp.scale = 2.0 ** torch.round(torch.log2(x_qp.scale))
        w_qp.scale = 2.0 ** torch.round(torch.log2(w_qp.scale))
    y_int = int_linear(quantize(x, x_qp), x_qp, quantize(w, w_qp), w_qp, b)
    y_fake = torch.nn.functional.linear(fake_quantize(x, x_qp), fake_quantize(w, w_qp), b)
    return y_int, y_fake


def test_integer_linear_equals_fake_quantization_exactly():
    y_int, y_fake = _int_and_fake(32, 64, 10, power_of_two=True)
    assert torch.equal(y_int, y_fake)


def test_integer_linear_equals_fake_quantization_to_float_rounding():
    y_int, y_fake = _int_and_fake(64, 784, 30, power_of_two=False)
    torch.testing.assert_close(y_int, y_fake, rtol=1e-5, atol=1e-5)


def test_bad_bits_and_axes_raise():
    with pytest.raises(ValueError, match="bits=9"):
        qrange(9, True)
    with pytest.raises(ValueError, match="bits=1"):
        qparams(torch.ones(3), 1)
    with pytest.raises(ValueError, match="axis=3"):
        qparams(torch.ones(3, 3), axis=3)
    for empty, axis in ((torch.ones(0), None), (torch.ones(3, 0), 0)):  # were a RuntimeError and an IndexError
        with pytest.raises(ValueError, match=re.escape(f"x is empty (shape {tuple(empty.shape)})")):
            qparams(empty, axis=axis)
    qp = QParams(torch.ones(2), torch.zeros(2, dtype=torch.int64), -127, 127, axis=0)
    with pytest.raises(ValueError, match="2 channels"):
        quantize(torch.ones(3, 3), qp)
    with pytest.raises(ValueError, match="x_qp.axis=0"):
        int_linear(torch.ones(2, 2, dtype=torch.int8), qp, torch.ones(2, 2, dtype=torch.int8), qp)


# -- ranges at the ends of float32 -------------------------------------------------------------------------
@pytest.mark.parametrize("symmetric", [True, False])
@pytest.mark.parametrize("k", [-100, -60, -30, 40, 100])
def test_scaling_by_a_power_of_two_scales_only_s(symmetric, k):
    """Before, the absolute floor s >= eps = 1.2e-7 gave 2^-30 x (values ~3e-9) fewer levels and
    rounded 2^-60 x to all zeros; now z and q are those of x, for any x of normal floats."""
    x = _x(1000, seed=k)
    qp, qp_k = qparams(x, 8, symmetric), qparams(x * 2.0 ** k, 8, symmetric)
    assert torch.equal(qp_k.scale, qp.scale * 2.0 ** k) and torch.equal(qp_k.zero_point, qp.zero_point)
    assert torch.equal(quantize(x * 2.0 ** k, qp_k), quantize(x, qp))
    per_channel, per_channel_k = qparams(_x(4, 50), 4, symmetric, axis=0), qparams(_x(4, 50) * 2.0 ** k, 4, symmetric, axis=0)
    assert torch.equal(per_channel_k.scale, per_channel.scale * 2.0 ** k)


@pytest.mark.parametrize("symmetric", [True, False])
@pytest.mark.parametrize("end", [3e38, torch.finfo(torch.float32).max])
def test_a_range_near_the_largest_float_round_trips(symmetric, end):
    """x_max - x_min = 6e38 overflowed to inf: s = inf and every value came back NaN. At the
    largest float32, the grid end s (q_min - z) lies just past it and came back -inf."""
    x = torch.cat([torch.tensor([-end, end]), _x(998) * 1e37])
    qp = qparams(x, 8, symmetric)
    x_hat = fake_quantize(x, qp)
    assert torch.isfinite(qp.scale) and torch.isfinite(x_hat).all()
    assert float((x_hat.double() - x.double()).abs().max()) <= float(qp.scale) / 2 * (1 + 1e-5)


@pytest.mark.parametrize("symmetric", [True, False])
@pytest.mark.parametrize("value", [0.0, 2.0, -1e-30, 1e-44, 3e38])
def test_a_constant_tensor_round_trips(symmetric, value):
    x = torch.full((5,), value)
    qp = qparams(x, 8, symmetric)
    assert float(qp.scale) > 0
    assert float((fake_quantize(x, qp) - x).abs().max()) <= float(qp.scale) / 2 * (1 + 1e-5)
    if value == 0.0:  # as PyTorch's observers: s = eps, z = 0
        assert float(qp.scale) == torch.finfo(torch.float32).eps and int(qp.zero_point) == 0


# -- limited precision: float16 and bfloat16 ---------------------------------------------------------------
@pytest.mark.parametrize("dtype", [torch.float32, torch.float16, torch.bfloat16])
def test_float_format_numbers_equal_torch_finfo(dtype):
    fmt, info = float_format(dtype), torch.finfo(dtype)
    assert fmt.bits == info.bits
    assert fmt.eps == info.eps and fmt.unit_roundoff == info.eps / 2
    assert fmt.max == info.max and fmt.smallest_normal == info.smallest_normal
    assert fmt.smallest_subnormal == info.smallest_normal * info.eps
    assert torch.tensor(fmt.smallest_subnormal, dtype=dtype) > 0                  # representable ...
    assert torch.tensor(fmt.smallest_subnormal * 0.49, dtype=dtype) == 0          # ... and the last one
    assert torch.isinf(torch.tensor(fmt.max * (1 + fmt.eps), dtype=dtype))        # past max: overflow


def test_unit_roundoffs_are_two_to_the_minus_11_and_minus_8():
    assert float_format(torch.float16).unit_roundoff == 2.0 ** -11
    assert float_format(torch.bfloat16).unit_roundoff == 2.0 ** -8
    assert (float_format(torch.float16).exponent_bits, float_format(torch.float16).mantissa_bits) == (5, 10)
    assert (float_format(torch.bfloat16).exponent_bits, float_format(torch.bfloat16).mantissa_bits) == (8, 7)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float16, torch.bfloat16])
def test_float_fields_decode_to_the_rounded_value(dtype):
    fmt = float_format(dtype)
    x = torch.cat([_x(2000) * 10.0 ** torch.linspace(-6, 4, 2000), torch.tensor([0.0, -0.0, 1.0, -2.0])])
    x = x[x.abs() < fmt.max]                      # finite in dtype: normal, subnormal and zero values
    sign, exponent, mantissa = float_fields(x, dtype)
    assert sign.shape == exponent.shape == mantissa.shape == x.shape
    m, bias = fmt.mantissa_bits, fmt.bias
    normal = exponent > 0
    magnitude = torch.where(normal, 2.0 ** (exponent - bias).double() * (1 + mantissa.double() / 2 ** m),
                            2.0 ** (1 - bias) * mantissa.double() / 2 ** m)
    value = torch.where(sign == 1, -magnitude, magnitude)
    assert torch.equal(value, x.to(dtype).double())
    assert float_fields(torch.tensor([1.0]), dtype) == (torch.tensor([0]), torch.tensor([bias]), torch.tensor([0]))


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
def test_relative_rounding_error_is_at_most_the_unit_roundoff_in_the_normal_range(dtype):
    fmt = float_format(dtype)
    log2 = torch.empty(100_000, dtype=torch.float64).uniform_(-14, 15, generator=torch.Generator().manual_seed(1))
    x = 2.0 ** log2 * torch.sign(_x(100_000).double())         # |x| from 2^-14 (fp16's smallest normal) to 2^15
    rel = ((x.to(dtype).double() - x) / x).abs()
    assert float(rel.max()) <= fmt.unit_roundoff
    assert float(rel.max()) > 0.99 * fmt.unit_roundoff    # and the bound is reached
    tiny = torch.tensor([fmt.smallest_normal / 3], dtype=torch.float64)    # subnormal: the bound fails
    assert float(((tiny.to(dtype).double() - tiny) / tiny).abs()) > fmt.unit_roundoff or dtype == torch.bfloat16


def test_float_format_rejects_other_dtypes():
    with pytest.raises(ValueError, match="dtype=torch.int8"):
        float_format(torch.int8)
    with pytest.raises(ValueError, match="dtype=torch.float64"):
        float_fields(torch.ones(2), torch.float64)
