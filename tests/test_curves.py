"""Tests of ``curves.py``: the multi-fidelity objectives ``MnistMLP`` and ``SyntheticCurves``.

Ground truths: a run cut into jobs reports exactly the curve of one uninterrupted run; the same
params give the same curve whatever else was trained before; a diverged network scores CHANCE;
with ``crossing=0`` the ranking at every step is the ranking by ``final``; bad arguments raise a
ValueError naming them. The MNIST tests train 500 images for at most 2 epochs (a few seconds).
"""

import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from amsearch_lab.curves import CHANCE, MnistMLP, SyntheticCurves, params_seed


class FakeRun:
    """The attributes and ``report`` of ``fidelity.Run`` that an objective uses, and the curve."""

    def __init__(self, budget=None, start=0, state=None):
        self.budget, self.start, self.state = budget, start, state
        self.curve = []

    def report(self, step, value, state=None):
        self.curve.append((step, value))
        if state is not None:
            self.state = state


GOOD = {"lr": 0.05, "momentum": 0.9, "batch_size": 64, "width": 0.5}
OTHER = {"lr": 0.01, "momentum": 0.5, "batch_size": 128, "width": 0.25}


@pytest.fixture(scope="module")
def mlp():
    torch.set_num_threads(1)
    return MnistMLP(n_train=500, n_val=500, max_epochs=2)


def _weights(state):
    return [p.detach().clone() for p in state["model"].parameters()]


# -- MnistMLP ---------------------------------------------------------------------------------------
def test_mnist_continuation_equals_uninterrupted(mlp):
    straight = FakeRun()  # budget None: to max_epochs
    assert mlp(GOOD, straight) == straight.curve[-1][1]
    first = FakeRun(budget=1)
    mlp(GOOD, first)
    second = FakeRun(budget=2, start=1, state=first.state)
    mlp(GOOD, second)
    assert [s for s, _ in straight.curve] == [1, 2]
    assert first.curve + second.curve == straight.curve  # exactly, not approximately
    for a, b in zip(_weights(straight.state), _weights(second.state)):
        assert torch.equal(a, b)
    assert second.state["epoch"] == 2 and not second.state["diverged"]
    assert 0.3 < straight.curve[-1][1] <= 1.0  # well above chance after 2 epochs of 500 images (0.44)


def test_mnist_same_params_same_curve_in_any_order(mlp):
    curves = {}
    for order in ([GOOD, OTHER], [OTHER, GOOD]):
        for params in order:
            run = FakeRun(budget=1)
            mlp(params, run)
            curves.setdefault(params["batch_size"], []).append(run.curve)
    assert all(a == b for a, b in curves.values())
    fresh = FakeRun(budget=1)
    MnistMLP(n_train=500, n_val=500, max_epochs=2)(GOOD, fresh)  # another instance, same seed
    assert fresh.curve == curves[GOOD["batch_size"]][0]
    other_seed = FakeRun(budget=1)
    MnistMLP(n_train=500, n_val=500, max_epochs=2, seed=1)(GOOD, other_seed)
    assert other_seed.curve != fresh.curve


def test_mnist_leaves_the_global_torch_generator_alone(mlp):
    before = torch.get_rng_state()
    mlp(GOOD, FakeRun(budget=1))
    assert torch.equal(before, torch.get_rng_state())


def test_mnist_largest_step_does_not_make_nan_in_two_epochs(mlp):
    # lr = 1 with momentum 0.99, the corner of the space, kills the ReLUs (accuracy near chance)
    # but the loss stays finite: no divergence is declared
    run = FakeRun()
    mlp({"lr": 1.0, "momentum": 0.99, "batch_size": 64, "width": 1.0}, run)
    assert not run.state["diverged"]
    assert all(0.0 <= v <= 1.0 for _, v in run.curve)


def test_mnist_diverged_network_scores_chance_and_does_not_raise(mlp):
    state = mlp.build(GOOD)
    with torch.no_grad():
        next(state["model"].parameters()).fill_(math.inf)  # the first loss will be NaN
    run = FakeRun(state=state)
    assert mlp(GOOD, run) == CHANCE
    assert run.curve == [(1, CHANCE), (2, CHANCE)]
    assert run.state["diverged"] and run.state["epoch"] == 2
    assert mlp.test_accuracy(run.state) == CHANCE


def test_mnist_test_accuracy_of_a_checkpoint(mlp):
    run = FakeRun(budget=1)
    mlp(GOOD, run)
    acc = mlp.test_accuracy(run.state)
    assert 0.2 < acc <= 1.0  # above chance after 1 epoch
    assert acc == mlp.test_accuracy(run.state)  # reading it changes nothing
    with pytest.raises(ValueError, match="state"):
        mlp.test_accuracy({"epoch": 1})


def test_mnist_space_and_widths(mlp):
    space = mlp.space()
    assert space.names == ["lr", "momentum", "batch_size", "width"]
    state = mlp.build({**GOOD, "width": 0.25})
    shapes = [tuple(p.shape) for p in state["model"].parameters()]
    assert shapes == [(75, 784), (75,), (25, 75), (25,), (10, 25), (10,)]


@pytest.mark.parametrize("run, match", [
    (FakeRun(budget=3), "run.budget=3"),             # beyond max_epochs
    (FakeRun(budget=1.5), "run.budget=1.5"),         # not whole
    (FakeRun(budget=0), "run.budget=0"),
    (FakeRun(start=1), "run.start=1"),               # start without a checkpoint
])
def test_mnist_bad_runs(mlp, run, match):
    with pytest.raises(ValueError, match=match):
        mlp(GOOD, run)
    assert run.curve == []


def test_mnist_budget_not_above_start_and_start_not_the_checkpoint(mlp):
    run = FakeRun(budget=1)
    mlp(GOOD, run)
    with pytest.raises(ValueError, match="run.budget=1"):
        mlp(GOOD, FakeRun(budget=1, start=1, state=run.state))
    with pytest.raises(ValueError, match="run.start=0"):
        mlp(GOOD, FakeRun(budget=2, start=0, state=run.state))


@pytest.mark.parametrize("params, match", [
    ({**GOOD, "lr": 2.0}, "lr"),
    ({**GOOD, "batch_size": 100}, "batch_size"),
    ({k: v for k, v in GOOD.items() if k != "width"}, "width"),
])
def test_mnist_params_outside_the_space(mlp, params, match):
    with pytest.raises(ValueError, match=match):
        mlp(params, FakeRun())


@pytest.mark.parametrize("kwargs, match", [
    ({"n_train": 0}, "n_train=0"), ({"n_train": 50_001}, "n_train=50001"), ({"n_train": 1.0}, "n_train=1.0"),
    ({"n_val": 0}, "n_val=0"), ({"n_val": 10_001}, "n_val=10001"),
    ({"max_epochs": 0}, "max_epochs=0"), ({"seed": -1}, "seed=-1"), ({"seed": True}, "seed=True"),
    ({"device": "tpu"}, "tpu"),
])
def test_mnist_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        MnistMLP(**kwargs)


# -- SyntheticCurves --------------------------------------------------------------------------------
def test_synthetic_continuation_equals_uninterrupted_with_noise():
    f = SyntheticCurves(crossing=1.0, noise=0.05, seed=3)
    params = {"x": 0.2, "y": 0.9}
    straight = FakeRun()
    assert f(params, straight) == straight.curve[-1][1]
    jobs, state, start = [], None, 0
    for budget in (1, 3, 9, 27):  # successive halving's rungs
        run = FakeRun(budget=budget, start=start, state=state)
        f(params, run)
        jobs += run.curve
        state, start = run.state, budget
    assert jobs == straight.curve
    assert [s for s, _ in straight.curve] == list(range(1, 28))
    assert straight.curve == [(t, f.value_at(params, t)) for t in range(1, 28)]


def test_synthetic_same_params_same_curve_in_any_order():
    f = SyntheticCurves(crossing=0.5, noise=0.1)
    a, b = {"x": 0.1, "y": 0.2}, {"x": 0.7, "y": 0.4}
    first = [f(p, FakeRun(budget=5)) for p in (a, b)]
    second = [f(p, FakeRun(budget=5)) for p in (b, a)]
    assert first == second[::-1]
    assert SyntheticCurves(crossing=0.5, noise=0.1, seed=1).value_at(a, 5) != f.value_at(a, 5)


def test_synthetic_formulas():
    f = SyntheticCurves(crossing=0.0)
    p = {"x": 0.3, "y": 0.7}
    assert f.limit(p) == 0.0
    assert f.value_at(p, 1) == 1.0  # limit + gap 1^(-rate)
    assert f.final(p) == pytest.approx(27 ** -0.5)
    g = SyntheticCurves(crossing=2.0, max_steps=9)
    q = {"x": 0.0, "y": 1.0}  # s = 1: gap e^2, rate 0.5 e^2
    assert g.final(q) == pytest.approx(0.09 + 0.045 + math.exp(2) * 9 ** (-0.5 * math.exp(2)))


@settings(max_examples=200, deadline=None)
@given(st.floats(0, 1), st.floats(0, 1), st.floats(0, 1), st.floats(0, 1), st.integers(1, 27))
def test_synthetic_without_crossing_ranks_every_step_as_final(x1, y1, x2, y2, t):
    f = SyntheticCurves(crossing=0.0)
    a, b = {"x": x1, "y": y1}, {"x": x2, "y": y2}
    # shifted copies of one curve: the difference at step t is the difference of the finals
    assert f.value_at(a, t) - f.value_at(b, t) == pytest.approx(f.final(a) - f.final(b), abs=1e-12)
    if abs(f.final(a) - f.final(b)) > 1e-9:
        assert (f.value_at(a, t) < f.value_at(b, t)) == (f.final(a) < f.final(b))


def test_synthetic_with_crossing_the_first_step_misranks():
    f = SyntheticCurves(crossing=1.0)
    rng = np.random.default_rng(0)
    points = [f.space().sample(rng) for _ in range(200)]
    first = np.array([f.value_at(p, 1) for p in points])
    final = np.array([f.final(p) for p in points])
    swapped = (first[:, None] < first[None, :]) != (final[:, None] < final[None, :])
    assert swapped.mean() > 0.05  # some pairs' order changes between step 1 and the end


def test_synthetic_noise_is_seeded_per_step():
    f = SyntheticCurves(noise=1.0)
    p = {"x": 0.5, "y": 0.5}
    values = [f.value_at(p, t) - f.mean_at(p, t) for t in range(1, 28)]
    assert len(set(values)) == 27  # a new draw at each step
    assert values == [f.value_at(p, t) - f.mean_at(p, t) for t in range(1, 28)]


def test_real_run_object():
    fidelity = pytest.importorskip("amsearch_lab.fidelity")
    f = SyntheticCurves()
    run = fidelity.Run({"x": 0.5, "y": 0.5}, budget=3)
    f({"x": 0.5, "y": 0.5}, run)
    assert run.curve == [[t, f.value_at({"x": 0.5, "y": 0.5}, t)] for t in (1, 2, 3)] and run.state == 3


@pytest.mark.parametrize("kwargs, match", [
    ({"crossing": -1}, "crossing=-1"), ({"crossing": math.inf}, "crossing=inf"), ({"noise": math.nan}, "noise=nan"),
    ({"max_steps": 0}, "max_steps=0"), ({"seed": 0.5}, "seed=0.5"),
])
def test_synthetic_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        SyntheticCurves(**kwargs)


def test_synthetic_bad_calls():
    f = SyntheticCurves()
    p = {"x": 0.5, "y": 0.5}
    with pytest.raises(ValueError, match="t=0"):
        f.value_at(p, 0)
    with pytest.raises(ValueError, match="t=1.5"):
        f.value_at(p, 1.5)
    with pytest.raises(ValueError, match="'x'"):
        f.value_at({"x": 2.0, "y": 0.5}, 1)
    with pytest.raises(ValueError, match="run.budget=28"):
        f(p, FakeRun(budget=28))
    with pytest.raises(ValueError, match="run.start=2"):
        f(p, FakeRun(start=2, state=3))


def test_params_seed_is_stable():
    # sha256 of the JSON text: the same in every process (Python's hash() of a str is not)
    assert params_seed(0, (0.5, 1)) == params_seed(0, [0.5, 1])
    assert params_seed(0, (0.5, 1)) != params_seed(1, (0.5, 1)) != params_seed(0, (0.5, 1), 3)
    assert 0 <= params_seed(123, (1e-3, 2)) < 2**63
    assert params_seed(0, (0.5, 1)) == 3744995412372410318
