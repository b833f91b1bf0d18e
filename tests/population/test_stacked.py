"""Population: the stacked (torch.func) path equals N ``optim.fit`` runs, and so does the sequential path.

The oracle is ``optim.fit`` with ``optim.SGD``: member i of a population with hyperparameters
(lr_i, momentum_i, weight_decay_i) and shuffle seed s_i must end with the weights of
``fit(model_i, data, SGD(lr_i, momentum_i, weight_decay=weight_decay_i), seed=s_i)``.
"""

import math

import numpy as np
import pytest
import torch
from torch import nn

from amsearch_lab import load_mnist
from amsearch_lab.datasets import cached_mnist
from amsearch_lab.models import mlp
from amsearch_lab.optim import SGD, CosineDecay, evaluate, fit
from amsearch_lab.population import Population

torch.set_num_threads(1)  # tiny models: threads only contend on a shared machine

LR, MOMENTUM, WEIGHT_DECAY, SEEDS = [0.05, 0.2, 0.1, 0.02], [0.0, 0.9, 0.5, 0.0], [0.0, 1e-3, 0.0, 1e-2], [5, 6, 7, 8]
SIZES = (784, 16, 10)


@pytest.fixture(scope="module")
def mnist():
    d = load_mnist(device="cpu", limit=300)
    return d.x_train, d.y_train, d.x_val, d.y_val  # 300 and 300 examples


def toy(n=64, seed=0):
    """A small learnable 3-class problem: 20 features, the label is argmax of a fixed linear map."""
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, 20, generator=g)
    y = (x @ torch.randn(20, 3, generator=g)).argmax(dim=1)
    return x, y, x[: n // 4], y[: n // 4]


def members(n=4, sizes=(20, 8, 3)):
    return [mlp(sizes, seed=i) for i in range(n)]


def population(vectorized, models=None, lr=LR, momentum=MOMENTUM, weight_decay=WEIGHT_DECAY, seeds=SEEDS):
    models = members(len(seeds)) if models is None else models
    return Population(models, lr, momentum, weight_decay, seeds=seeds, vectorized=vectorized, device="cpu")


def close(a: dict, b: dict, atol=1e-5):
    assert a.keys() == b.keys()
    for k in a:
        torch.testing.assert_close(a[k], b[k], rtol=0, atol=atol, msg=lambda m, k=k: f"{k}: {m}")


# -- the oracle: N fit runs -----------------------------------------------------------------------------
@pytest.mark.parametrize("vectorized", [True, False])
def test_members_equal_n_fit_runs_with_their_own_hyperparameters(mnist, vectorized):
    # 300 examples in batches of 64: 5 steps an epoch, the last one of 44 examples
    pop = population(vectorized, [mlp(SIZES, seed=i) for i in range(4)])
    records = pop.train(mnist, epochs=1, batch_size=64) + pop.train(mnist, epochs=1, batch_size=64)
    weights = pop.weights()
    for i in range(4):
        model = mlp(SIZES, seed=i)
        opt = SGD(model.parameters(), lr=LR[i], momentum=MOMENTUM[i], weight_decay=WEIGHT_DECAY[i])
        result = fit(model, mnist, opt, epochs=2, batch_size=64, seed=SEEDS[i], progress=False, device="cpu")
        close({k: w[i] for k, w in weights.items()}, dict(model.named_parameters()))
        for ours, theirs in zip(records, result.records):
            assert ours["epoch"] == theirs["epoch"]
            for key in ("train_loss", "val_loss", "val_acc"):
                assert ours[key][i] == pytest.approx(theirs[key], abs=1e-5), (i, key)
    assert [r["epoch"] for r in records] == [1, 2] and pop.epochs_done == 2
    # the members really differ (the test would pass trivially if every member had member 0's settings)
    assert len({round(float(v), 4) for v in records[-1]["val_loss"]}) == 4


def test_member_is_a_module_with_that_members_weights(mnist):
    pop = population(True, [mlp(SIZES, seed=i) for i in range(4)])
    pop.train(mnist, epochs=1, batch_size=100)
    val_loss, val_acc = pop.evaluate(mnist[2], mnist[3])
    for i in range(4):
        loss, acc = evaluate(pop.member(i), mnist[2], mnist[3])
        assert (loss, acc) == pytest.approx((val_loss[i], val_acc[i]), abs=1e-6)
    assert isinstance(pop.member(0), nn.Module) and pop.member(0) is not pop.member(0)
    chunked = pop.evaluate(mnist[2], mnist[3], batch_size=7)  # 300 = 42 x 7 + 6: a short last chunk
    assert np.allclose(chunked[0], val_loss, atol=1e-6) and np.array_equal(chunked[1], val_acc)


# -- a diverging member ---------------------------------------------------------------------------------
@pytest.mark.parametrize("vectorized", [True, False])
def test_a_diverging_member_gets_nan_and_leaves_the_others_bit_identical(vectorized):
    data = toy()
    sane = population(vectorized, lr=[0.1, 0.1, 0.05, 0.2])
    wild = population(vectorized, lr=[0.1, 1e30, 0.05, 0.2])
    r_sane, r_wild = sane.train(data, epochs=3, batch_size=16), wild.train(data, epochs=3, batch_size=16)
    assert all(math.isnan(r[key][1]) for r in r_wild[1:] for key in ("train_loss", "val_loss", "val_acc"))
    others = [0, 2, 3]
    for a, b in zip(r_sane, r_wild):
        for key in ("train_loss", "val_loss", "val_acc"):
            assert np.array_equal(a[key][others], b[key][others]), key
    w_sane, w_wild = sane.weights(), wild.weights()
    for k in w_sane:
        assert torch.equal(w_sane[k][others], w_wild[k][others]), k


def test_a_member_blown_up_by_the_last_step_of_an_epoch_has_no_accuracy():
    # one step per epoch: the loss of that step is finite (computed before the update), the
    # weights after it are not; the member must not be ranked on the accuracy of NaN logits
    data = toy()
    for vectorized in (True, False):
        pop = population(vectorized, lr=[0.1, 1e30, 0.1, 0.1])
        record = pop.train(data, epochs=1, batch_size=64)[0]
        assert math.isfinite(record["train_loss"][1])
        assert math.isnan(record["val_loss"][1]) and math.isnan(record["val_acc"][1]), vectorized
        assert np.isfinite(record["val_acc"][[0, 2, 3]]).all()


# -- exploit: copy_member -------------------------------------------------------------------------------
def test_copy_member_copies_weights_velocity_and_hyperparameters_exactly_in_both_paths():
    data = toy()
    pops = [population(True), population(False)]
    for pop in pops:
        pop.train(data, epochs=1, batch_size=16)
        pop.copy_member(1, 3)  # member 1 has momentum 0.9: a velocity to copy
        pop.copy_member(0, 2)  # member 0 has momentum 0: no velocity at all
        state = pop.state()
        for k in state["weights"]:
            assert torch.equal(state["weights"][k][3], state["weights"][k][1])
            assert torch.equal(state["velocity"][k][3], state["velocity"][k][1])
            assert torch.equal(state["weights"][k][2], state["weights"][k][0])
            assert not state["velocity"][k][2].any() and state["velocity"][k][1].any()
        assert [h[3] for h in state["hyperparameters"].values()] == [0.2, 0.9, 1e-3]
        assert [h[2] for h in state["hyperparameters"].values()] == [0.05, 0.0, 0.0]
    close(pops[0].state()["velocity"], pops[1].state()["velocity"])
    # a copy, not an alias: member 3 frozen (lr 0), member 1 trained on
    for pop in pops:
        pop.set_hyperparameters(3, lr=0.0)
        before = pop.weights()
        pop.train(data, epochs=1, batch_size=16)
        after = pop.weights()
        for k in before:
            assert torch.equal(after[k][3], before[k][3]) and not torch.equal(after[k][1], before[k][1])


def test_after_copies_both_paths_still_train_alike_including_momentum_zero_to_nonzero():
    data = toy()
    pops = [population(True), population(False)]
    for pop in pops:
        pop.train(data, epochs=1, batch_size=16)
        pop.copy_member(0, 1)  # 1 (momentum 0.9, a velocity) <- 0 (momentum 0): the velocity goes
        pop.set_hyperparameters(1, momentum=0.8)  # and starts again from zero, as a fresh SGD's
        pop.copy_member(2, 3)  # 3 (momentum 0) <- 2 (momentum 0.5)
        pop.set_hyperparameters(3, momentum=0.0, lr=0.3)  # momentum > 0 -> 0: the velocity is dropped
        pop.set_hyperparameters(0, momentum=0.5)  # 0 had momentum 0: its velocity starts at zero
        pop.train(data, epochs=2, batch_size=16)
    close(pops[0].weights(), pops[1].weights())
    close(pops[0].state()["velocity"], pops[1].state()["velocity"])
    # the oracle for member 1: SGD(momentum 0.8) started fresh on member 0's weights after epoch 1,
    # with member 1's own shuffle generator
    ref = population(False)
    ref.train(data, epochs=1, batch_size=16)
    model = ref.member(0)
    generator = ref.generators[1]
    fit(model, data, SGD(model.parameters(), lr=0.05, momentum=0.8), epochs=2, batch_size=16, seed=generator,
        progress=False, device="cpu")
    close({k: w[1] for k, w in pops[0].weights().items()}, dict(model.named_parameters()))


# -- explore: set_hyperparameters -----------------------------------------------------------------------
def test_set_hyperparameters_checks_like_sgd_and_changes_one_member():
    pop = population(True)
    pop.set_hyperparameters(2, lr=0.7, weight_decay=0.01)
    assert list(pop.hyperparameters["lr"]) == [0.05, 0.2, 0.7, 0.02]
    assert list(pop.hyperparameters["weight_decay"]) == [0.0, 1e-3, 0.01, 1e-2]
    with pytest.raises(ValueError, match="momentum"):
        pop.set_hyperparameters(0, momentum=1.0)
    with pytest.raises(ValueError, match="'nesterov'"):
        pop.set_hyperparameters(0, nesterov=True)
    with pytest.raises(ValueError, match="i=4"):
        pop.set_hyperparameters(4, lr=0.1)
    assert list(pop.hyperparameters["momentum"]) == MOMENTUM  # a refused change changes nothing


# -- checkpoints ----------------------------------------------------------------------------------------
def test_state_round_trip_and_a_vectorized_state_continues_in_the_sequential_path():
    data = toy()
    pop = population(True)
    pop.train(data, epochs=1, batch_size=16)
    state = pop.state()
    saved = {k: w.clone() for k, w in state["weights"].items()}
    pop.train(data, epochs=2, batch_size=16)  # the reference continuation
    for k in saved:  # state() is a snapshot, not a view of the training weights
        assert torch.equal(state["weights"][k], saved[k])
    same = population(True, members(4, (20, 8, 3))[::-1])  # other initial weights: all must come from the state
    same.load_state(state)
    other = population(False, members(4, (20, 8, 3))[::-1])
    other.load_state(state)
    r_same, r_other = same.train(data, epochs=2, batch_size=16), other.train(data, epochs=2, batch_size=16)
    for k, w in pop.weights().items():
        assert torch.equal(same.weights()[k], w)  # the same path: bit for bit
    close(other.weights(), pop.weights())
    assert [r["epoch"] for r in r_same] == [r["epoch"] for r in r_other] == [2, 3]
    # and back: a sequential state into the vectorized path
    back = population(True, members(4, (20, 8, 3))[::-1])
    back.load_state(other.state())
    close(back.weights(), pop.weights())
    assert back.epochs_done == 3 and list(back.hyperparameters["lr"]) == LR


def test_load_state_refuses_a_population_of_another_size():
    small = Population(members(2), lr=0.1, device="cpu")
    with pytest.raises(ValueError, match="state"):
        population(True).load_state(small.state())


# -- bad arguments ----------------------------------------------------------------------------------------
def bn_model(seed):
    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(20, 8), nn.BatchNorm1d(8), nn.Linear(8, 3))


def dropout_model(seed):
    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(20, 8), nn.Dropout(0.5), nn.Linear(8, 3))


def frozen_model(seed):
    model = mlp((20, 8, 3), seed=seed)
    model[1].weight.requires_grad_(False)
    return model


@pytest.mark.parametrize("models, kwargs, match", [
    ([], {}, "models="),
    ([mlp((20, 8, 3), seed=0), "not a module"], {}, "models="),
    ([mlp((20, 8, 3), seed=0), mlp((20, 9, 3), seed=1)], {}, r"models\[1\]"),
    ([bn_model(0), bn_model(1)], {}, "buffers"),
    ([nn.ReLU(), nn.ReLU()], {}, "parameters"),
    ([frozen_model(0), frozen_model(1)], {}, "requires_grad"),
    ([dropout_model(0), dropout_model(1)], {}, "Dropout"),
    (members(2), {"lr": -0.1}, r"lr\[0\]"),
    (members(2), {"lr": [0.1, math.nan]}, r"lr\[1\]"),
    (members(2), {"lr": [0.1, 0.2, 0.3]}, "lr="),
    (members(2), {"momentum": [0.5, 1.0]}, r"momentum\[1\]"),
    (members(2), {"weight_decay": math.inf}, r"weight_decay\[0\]"),
    (members(2), {"seeds": [0]}, "seeds="),
    (members(2), {"seeds": [0, 1.5]}, "seeds="),
    (members(2), {"device": "gpu"}, "gpu"),
])
def test_bad_arguments_raise_value_error_naming_them(models, kwargs, match):
    kwargs = {"lr": 0.1, "device": "cpu", **kwargs}
    with pytest.raises(ValueError, match=match):
        Population(models, **kwargs)


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the message on a machine without CUDA")
def test_cuda_absent_is_a_value_error():
    with pytest.raises(ValueError, match="cuda"):
        Population(members(2), lr=0.1, device="cuda")


def test_dropout_is_fine_in_the_sequential_path():
    pop = Population([dropout_model(0), dropout_model(1)], lr=0.1, vectorized=False, device="cpu")
    assert np.isfinite(pop.train(toy(), epochs=1, batch_size=16)[0]["val_loss"]).all()


def test_bad_calls_raise_value_error_naming_the_argument():
    pop = population(True)
    x, y, xv, yv = toy()
    for call, match in [(lambda: pop.train((x, y, xv, yv), epochs=0), "epochs=0"),
                        (lambda: pop.train((x, y, xv, yv), batch_size=0), "batch_size=0"),
                        (lambda: pop.train((x, y, xv[:0], yv[:0])), "x_val"),
                        (lambda: pop.train((x, y, xv)), "data"),
                        (lambda: pop.evaluate(xv[:0], yv[:0]), "no examples"),
                        (lambda: pop.evaluate(xv, yv, batch_size=0), "batch_size=0"),
                        (lambda: pop.copy_member(0, 4), "dst=4"),
                        (lambda: pop.copy_member(-1, 0), "src=-1"),
                        (lambda: pop.member(4), "i=4")]:
        with pytest.raises(ValueError, match=match):
            call()
    assert pop.epochs_done == 0


def test_one_member_and_odd_batches_match_fit():
    # a population of one, a batch larger than the training set (one step an epoch), 1-example val set
    x, y, xv, yv = toy(30)
    data = (x, y, xv[:1], yv[:1])
    pop = Population([mlp((20, 8, 3), seed=3)], lr=0.3, momentum=0.9, seeds=[11], device="cpu")
    record = pop.train(data, epochs=3, batch_size=1000)[-1]
    model = mlp((20, 8, 3), seed=3)
    result = fit(model, data, SGD(model.parameters(), lr=0.3, momentum=0.9), epochs=3, batch_size=1000, seed=11,
                 progress=False, device="cpu")
    close({k: w[0] for k, w in pop.weights().items()}, dict(model.named_parameters()))
    assert record["val_loss"][0] == pytest.approx(result.records[-1]["val_loss"], abs=1e-5)
    assert repr(pop) == "Population(1 members, vectorized, lr=[0.3])"


@pytest.mark.parametrize("vectorized", [True, False])
def test_train_with_schedules_equals_fit_with_the_schedule(vectorized):
    """Oracle: member i of the population = ``fit`` with ``schedule=CosineDecay`` and the same seeds."""
    d = cached_mnist(limit=256, device="cpu")
    data = (d.x_train, d.y_train, d.x_val[:64], d.y_val[:64])
    schedules = [CosineDecay(0.2, t_max=3), CosineDecay(0.05, t_max=3)]
    pop = Population([mlp((784, 16, 10), seed=i) for i in range(2)], lr=0.2, momentum=0.5, seeds=[7, 8],
                     vectorized=vectorized, device="cpu")
    records = pop.train(data, epochs=3, batch_size=64, schedules=schedules)
    assert len(records) == 3 and pop.hyperparameters["lr"] == pytest.approx([s(2) for s in schedules])
    weights = pop.weights()
    for i, schedule in enumerate(schedules):
        model = mlp((784, 16, 10), seed=i)
        fit(model, data, SGD(model.parameters(), lr=0.2, momentum=0.5), schedule=schedule, epochs=3, batch_size=64,
            seed=7 + i, progress=False, device="cpu")
        for name, p in model.named_parameters():
            torch.testing.assert_close(weights[name][i], p.detach(), atol=1e-5, rtol=0)
    with pytest.raises(ValueError, match="schedules=.* must be 2 functions"):
        pop.train(data, schedules=schedules + schedules[:1])
