"""Schedules at chosen steps against their closed forms and torch.optim.lr_scheduler."""

import math

import pytest
import torch

from amsearch_lab.optim import ConstantLR, CosineDecay, ExponentialDecay, StepDecay


def torch_lrs(make_scheduler, n, lr0=0.1):
    """The learning rates torch's scheduler gives at t = 0 .. n-1."""
    opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=lr0)
    scheduler = make_scheduler(opt)
    lrs = []
    for _ in range(n):
        lrs.append(opt.param_groups[0]["lr"])
        opt.step()
        scheduler.step()
    return lrs


def test_constant():
    assert [ConstantLR(0.05)(t) for t in (0, 1, 1000)] == [0.05, 0.05, 0.05]


def test_exponential_decay_the_source_settings():
    # Keras ExponentialDecay(initial_learning_rate=0.1, decay_steps=10000, decay_rate=0.96)
    s = ExponentialDecay(0.1, rate=0.96, decay_steps=10_000)
    assert s(0) == pytest.approx(0.1)
    assert s(10_000) == pytest.approx(0.096)
    assert s(5_000) == pytest.approx(0.1 * math.sqrt(0.96))
    assert s(25_000) == pytest.approx(0.1 * 0.96 ** 2.5)
    staircase = ExponentialDecay(0.1, rate=0.96, decay_steps=10_000, staircase=True)
    assert staircase(19_999) == pytest.approx(0.096)


def test_exponential_decay_matches_torch_exponential_lr():
    ours = ExponentialDecay(0.1, rate=0.9, decay_steps=1)
    theirs = torch_lrs(lambda o: torch.optim.lr_scheduler.ExponentialLR(o, gamma=0.9), 20)
    assert [ours(t) for t in range(20)] == pytest.approx(theirs, rel=1e-12)


def test_step_decay_matches_torch_step_lr():
    ours = StepDecay(0.1, step_size=3, gamma=0.5)
    theirs = torch_lrs(lambda o: torch.optim.lr_scheduler.StepLR(o, step_size=3, gamma=0.5), 12)
    assert [ours(t) for t in range(12)] == pytest.approx(theirs, rel=1e-12)
    assert ours(7) == pytest.approx(0.1 * 0.25)


def test_cosine_matches_torch_cosine_annealing():
    ours = CosineDecay(0.1, t_max=10, lr_min=0.001)
    theirs = torch_lrs(lambda o: torch.optim.lr_scheduler.CosineAnnealingLR(o, T_max=10, eta_min=0.001), 11)
    assert [ours(t) for t in range(11)] == pytest.approx(theirs, rel=1e-9)
    assert ours(5) == pytest.approx(0.001 + 0.5 * 0.099)
    assert ours(10) == ours(50) == pytest.approx(0.001)


@pytest.mark.parametrize("make, match", [
    (lambda: ConstantLR(-0.1), "lr0=-0.1"),
    (lambda: ExponentialDecay(0.1, rate=1.5), "rate=1.5"),
    (lambda: ExponentialDecay(0.1, rate=0.9, decay_steps=0), "decay_steps=0"),
    (lambda: StepDecay(0.1, step_size=0), "step_size=0"),
    (lambda: CosineDecay(0.1, t_max=10, lr_min=0.2), "lr_min=0.2"),
])
def test_bad_input_raises_value_error(make, match):
    with pytest.raises(ValueError, match=match):
        make()


def test_negative_step_raises():
    with pytest.raises(ValueError, match="t=-1"):
        StepDecay(0.1, step_size=2)(-1)
