"""Quantized models: each quantized layer computes the fake-quantized float layer; PTQ keeps an MLP
and a CNN close to float; QAT trains through the STE and converts to what it trained."""

import copy
import importlib.util

import pytest
import torch
from torch import nn

from amsearch_lab.compress import (
    QuantConv2d,
    QuantLinear,
    calibrate,
    count_params,
    fake_quantize,
    prepare_qat,
    qparams,
    qparams_from_range,
    quantize_model,
    stored_bytes,
)
from amsearch_lab.compress.quantize import float_format
from amsearch_lab.compress.quantized import cast_model, torch_int8_model
from amsearch_lab.models import mlp, small_cnn


def _x(*shape, seed=0):
    return torch.rand(*shape, generator=torch.Generator().manual_seed(seed))


def test_calibrate_records_each_layer_input_range():
    model, x = mlp((8, 6, 3), seed=0), _x(50, 8) * 2 - 1
    ranges = calibrate(model, x, batch_size=16)
    assert set(ranges) == {"1", "3"}
    assert (float(ranges["1"][0]), float(ranges["1"][1])) == (float(x.min()), float(x.max()))
    hidden = model[:3](x).detach()
    assert float(ranges["3"][1]) == float(hidden.max()) and float(ranges["3"][0]) == 0.0


def test_quant_linear_equals_fake_quantized_linear():
    layer, x = nn.Linear(40, 12), _x(20, 40)
    q = QuantLinear(layer, bits=8, per_channel=True, input_range=(x.min(), x.max()), act_bits=8)
    assert q.q_weight.dtype == torch.int8
    x_hat = fake_quantize(x, qparams_from_range(x.min(), x.max(), 8, symmetric=False))
    w_hat = fake_quantize(layer.weight.detach(), qparams(layer.weight, 8, axis=0))
    torch.testing.assert_close(q(x), nn.functional.linear(x_hat, w_hat, layer.bias.detach()), rtol=1e-5, atol=1e-5)


def test_quant_conv_equals_fake_quantized_conv():
    layer, x = nn.Conv2d(3, 5, 3, padding=1), _x(2, 3, 8, 8)
    q = QuantConv2d(layer, bits=6, per_channel=False, input_range=(x.min(), x.max()), act_bits=8)
    x_hat = fake_quantize(x, qparams_from_range(x.min(), x.max(), 8, symmetric=False))
    w_hat = fake_quantize(layer.weight.detach(), qparams(layer.weight, 6))
    expected = nn.functional.conv2d(x_hat, w_hat, layer.bias.detach(), padding=1)
    torch.testing.assert_close(q(x), expected, rtol=1e-5, atol=1e-5)


def test_ptq_int8_stays_close_to_float_for_mlp_and_cnn():
    for model, x in ((mlp((784, 64, 10), seed=0), _x(64, 1, 28, 28)), (small_cnn(seed=0), _x(8, 1, 28, 28))):
        qmodel, ranges = quantize_model(model, x, bits=8, act_bits=8)
        assert ranges.keys() == calibrate(model, x).keys()
        assert all(not isinstance(m, (nn.Linear, nn.Conv2d)) for m in qmodel.modules())
        assert count_params(qmodel) == count_params(model)
        out, qout = model(x).detach(), qmodel(x)
        assert float((out - qout).abs().max()) < 0.05 * float(out.abs().max())


def test_qat_forward_uses_quantized_weights_and_converts_exactly():
    x, y = _x(32, 10), torch.arange(32) % 3
    model, quantizers = prepare_qat(mlp((10, 8, 3), seed=0), bits=3)
    assert list(quantizers) == ["1.weight", "3.weight"] and quantizers["1.weight"] is model[1].parametrizations.weight[0]
    w = model[1].parametrizations.weight.original
    assert torch.equal(model[1].weight, fake_quantize(w.detach(), qparams(w, 3, axis=0)))
    assert len(torch.unique(model[1].weight[0])) <= 7  # 3 bits, symmetric: 7 levels per row
    opt = torch.optim.SGD(model.parameters(), lr=0.5)
    before = w.detach().clone()
    nn.functional.cross_entropy(model(x), y).backward()
    opt.step()
    assert not torch.equal(before, w.detach())  # the STE let a gradient through the rounding
    converted, ranges = quantize_model(model, bits=3, act_bits=None)
    assert ranges == {}  # weights only: nothing to calibrate
    torch.testing.assert_close(converted(x), model(x), rtol=0, atol=1e-6)


# -- limited precision ------------------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
def test_cast_model_stores_two_bytes_and_computes_with_the_rounded_weights(dtype):
    model, x = mlp((20, 16, 4), seed=0), _x(30, 20)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    weights_only, errors = cast_model(model, dtype)
    full, _ = cast_model(model, dtype, activations=True)
    assert all(torch.equal(v, model.state_dict()[k]) for k, v in before.items())     # the input is unchanged
    assert stored_bytes(weights_only) == stored_bytes(model) // 2 and count_params(full) == count_params(model)
    u = float_format(dtype).unit_roundoff
    for name, p in model.named_parameters():   # oracle: the error of torch's own cast
        p = p.detach()
        rounded = p.detach().to(dtype).float()
        assert errors[name] == pytest.approx(float(torch.linalg.norm(p - rounded) / torch.linalg.norm(p)), rel=1e-6)
        assert 0 < errors[name] <= u
    rounded = mlp((20, 16, 4), seed=0)
    rounded.load_state_dict({k: v.to(dtype).float() for k, v in model.state_dict().items()})
    out = weights_only(x)
    assert out.dtype == torch.float32 and torch.equal(out, rounded(x))     # float32 compute, rounded weights
    expected = copy.deepcopy(model).to(dtype)(x.to(dtype)).float()
    assert torch.equal(full(x), expected)                                   # everything in dtype
    reference = model(x).detach()
    assert float((full(x).detach() - reference).abs().max()) < 20 * u * float(reference.abs().max())


def test_cast_model_rejects_integer_and_unknown_dtypes():
    with pytest.raises(ValueError, match="dtype=torch.int8"):
        cast_model(mlp((4, 2), seed=0), torch.int8)
    with pytest.raises(ValueError, match="dtype=torch.float32"):
        cast_model(mlp((4, 2), seed=0), torch.float32)


# -- the torch.ao reference: its output is close to float32 and to our integer emulation (not its speed)
needs_ao_engine = pytest.mark.skipif(importlib.util.find_spec("torch.ao.quantization") is None
                                     or not torch.backends.quantized.supported_engines,
                                     reason="this PyTorch has no quantized CPU engine")


@needs_ao_engine
@pytest.mark.parametrize("make", [lambda: mlp((784, 64, 32, 10), seed=0), lambda: small_cnn(seed=0)])
@pytest.mark.parametrize("static", [True, False])
def test_torch_int8_reference_is_close_to_float_and_to_our_int8(make, static):
    model, x = make(), _x(200, 1, 28, 28)
    engine = "x86" if "x86" in torch.backends.quantized.supported_engines else torch.backends.quantized.engine
    previous = torch.backends.quantized.engine
    ref, report = torch_int8_model(model, x if static else None, engine=engine)  # dynamic: the CNN's convs stay float
    ours, _ = quantize_model(model, x, bits=8, act_bits=8)
    assert report == {"engine": engine, "mode": "static" if static else "dynamic"}
    assert torch.backends.quantized.engine == previous      # the engine is selected only while it runs
    with torch.no_grad():
        out, r, o = model(x), ref(x), ours(x)
    assert r.dtype == torch.float32 and r.shape == out.shape
    top = float(out.abs().max())
    assert float((r - out).abs().max()) < 0.05 * top      # int8 error: a few percent of the logits at most
    assert float((r - o).abs().max()) < 0.05 * top
    gap = float((r - o).abs().max())
    top2 = o.topk(2, dim=1).values
    clear = top2[:, 0] - top2[:, 1] > 2 * gap            # where no error of that size can swap the top two
    assert clear.sum() > 50 and torch.equal(r.argmax(1)[clear], o.argmax(1)[clear])
    assert all(torch.equal(a, b) for a, b in zip(model.state_dict().values(), make().state_dict().values()))


@needs_ao_engine
def test_torch_int8_reference_bad_input_raises():
    with pytest.raises(ValueError, match="engine='nope'"):
        torch_int8_model(mlp((4, 2), seed=0), engine="nope")
    with pytest.raises(ValueError, match="nn.Sequential"):
        torch_int8_model(nn.Linear(4, 2))
