"""Quantized models: each quantized layer computes the fake-quantized float layer; PTQ keeps an MLP
and a CNN close to float; QAT trains through the STE and converts to what it trained."""

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
)
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
