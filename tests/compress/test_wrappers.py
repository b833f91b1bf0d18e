"""The convention of the package docstring, checked on every model wrapper: it returns
``(new model, report)`` and leaves the model it is given unchanged: the same tensors (values and
names), no gradients, the same train/eval mode, and nothing shared with the new model (training
the new model does not reach back into the old one)."""

import pytest
import torch
from torch import nn

import amsearch_lab.compress as compress
from amsearch_lab.compress import (
    apply_masks,
    global_magnitude_masks,
    global_magnitude_prune,
    global_random_cut,
    iterative_prune,
    keep_if_better,
    lottery_ticket,
    merge_neurons,
    prepare_qat,
    prunable_weights,
    prune_like_merge,
    prune_neurons,
    quantize_model,
    split_model,
)
from amsearch_lab.models import mlp

G = torch.Generator().manual_seed(0)
X, Y = torch.rand(32, 10, generator=G), torch.randint(0, 3, (32,), generator=G)


def _one_step(model: nn.Module) -> None:
    """A stand-in for fine-tuning: one SGD step on (X, Y)."""
    opt = torch.optim.SGD(model.parameters(), lr=0.5)
    opt.zero_grad()
    nn.functional.cross_entropy(model(X), Y).backward()
    opt.step()


WRAPPERS = {  # name -> (call, type of its report)
    "global_magnitude_prune": (lambda m: global_magnitude_prune(m, 0.5), dict),
    "global_random_cut": (lambda m: global_random_cut(m, 0.5, seed=1), dict),
    "iterative_prune": (lambda m: iterative_prune(m, 0.8, 2, _one_step, evaluate=lambda p: 0.0), list),
    "prune_neurons (l1)": (lambda m: prune_neurons(m, 0.5), dict),
    "prune_neurons (activation)": (lambda m: prune_neurons(m, 0.5, "activation", X), dict),
    "prune_neurons (taylor)": (lambda m: prune_neurons(m, 0.5, "taylor", X, Y), dict),
    "keep_if_better": (lambda m: keep_if_better(m, lambda p: 0.0, steps=2, chunk=0.3), list),
    "lottery_ticket": (lambda m: lottery_ticket(m, _one_step, rounds=2, rate=0.5, evaluate=lambda p: 0.0), list),
    "merge_neurons": (lambda m: merge_neurons(m, threshold=0.0), dict),
    "prune_like_merge": (lambda m: prune_like_merge(m, merge_neurons(m, threshold=0.0)[1]), dict),
    "split_model": (lambda m: split_model(m, rank=2), dict),
    "quantize_model (w4 a8)": (lambda m: quantize_model(m, X, bits=4, act_bits=8), dict),
    "quantize_model (weights only)": (lambda m: quantize_model(m, bits=4, act_bits=None), dict),
    "prepare_qat": (lambda m: prepare_qat(m, bits=3), dict),
}


def _snapshot(model: nn.Module) -> dict:
    return {"state": {k: v.detach().clone() for k, v in model.state_dict().items()},
            "grads": [p.grad for p in model.parameters()],
            "modes": [m.training for m in model.modules()]}


def _assert_unchanged(model: nn.Module, before: dict) -> None:
    after = _snapshot(model)
    assert list(after["state"]) == list(before["state"])  # no mask or quantizer attached, none removed
    for key, value in before["state"].items():
        assert torch.equal(after["state"][key], value), key
    assert all(g is None for g in after["grads"]) and after["modes"] == before["modes"]


@pytest.mark.parametrize("name", list(WRAPPERS))
@pytest.mark.parametrize("mode", ["train", "eval"])
def test_a_wrapper_returns_a_new_model_and_a_report_and_leaves_its_input_unchanged(name, mode):
    call, report_type = WRAPPERS[name]
    model = mlp((10, 8, 6, 3), seed=0).train(mode == "train")
    before = _snapshot(model)
    new, report = call(model)
    assert isinstance(new, nn.Module) and new is not model and isinstance(report, report_type)
    _assert_unchanged(model, before)
    # the new model owns its tensors: training it leaves the input alone
    if any(p.requires_grad for p in new.parameters()):
        _one_step(new)
    _assert_unchanged(model, before)


@pytest.mark.parametrize("name", ["global_magnitude_prune", "global_random_cut", "iterative_prune",
                                  "keep_if_better", "quantize_model (weights only)"])
def test_a_masked_input_keeps_its_masks(name):
    """A model that already carries masks (a parametrized model) is copied faithfully too."""
    model = mlp((10, 8, 6, 3), seed=0)
    apply_masks(model, global_magnitude_masks(prunable_weights(model), 0.3))
    before = _snapshot(model)
    WRAPPERS[name][0](model)
    _assert_unchanged(model, before)


def test_a_qat_model_is_converted_without_change():
    qat, _ = prepare_qat(mlp((10, 8, 3), seed=0), bits=3)
    before = _snapshot(qat)
    quantized, _ = quantize_model(qat, bits=3, act_bits=None)
    _assert_unchanged(qat, before)
    torch.testing.assert_close(quantized(X), qat(X), rtol=0, atol=1e-6)


def test_every_wrapper_of_the_package_docstring_is_checked_here():
    table = compress.__doc__.split("report (what the wrapper chose)")[1].split("\n\n")[0]
    documented = {line.split()[0] for line in table.splitlines()[2:-1]}
    assert documented == {name.split()[0] for name in WRAPPERS}
