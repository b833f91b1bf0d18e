"""SGD/GD against torch.optim.SGD (dampening 0) step for step, on a torch model and on numpy arrays."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from amsearch_lab.models import mlp
from amsearch_lab.optim import GD, SGD

VARIANTS = {
    "plain": {},
    "momentum": {"momentum": 0.9},
    "nesterov": {"momentum": 0.9, "nesterov": True},
    "weight_decay": {"weight_decay": 1e-2},
    "all": {"momentum": 0.8, "nesterov": True, "weight_decay": 5e-3},
}


def batches(n_steps=25, batch_size=16, seed=0):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n_steps, batch_size, 12, generator=g)
    y = torch.randint(0, 3, (n_steps, batch_size), generator=g)
    return list(zip(x, y))


def one_step(model, optimizer, xb, yb):
    optimizer.zero_grad()
    F.cross_entropy(model(xb), yb).backward()
    optimizer.step()


@pytest.mark.parametrize("foreach", [False, True])
@pytest.mark.parametrize("name", list(VARIANTS))
def test_matches_torch_sgd_step_for_step(name, foreach):
    kwargs = VARIANTS[name]
    ours, theirs = mlp((12, 16, 3), seed=0), mlp((12, 16, 3), seed=0)
    opt = SGD(ours.parameters(), lr=0.1, **kwargs)
    ref = torch.optim.SGD(theirs.parameters(), lr=0.1, dampening=0.0, foreach=foreach, **kwargs)
    for k, (xb, yb) in enumerate(batches()):
        lr = 0.1 if k < 10 else 0.03  # a schedule changes lr half-way
        opt.lr = lr
        ref.param_groups[0]["lr"] = lr
        one_step(ours, opt, xb, yb)
        one_step(theirs, ref, xb, yb)
        for p, q in zip(ours.parameters(), theirs.parameters()):  # after every single step
            torch.testing.assert_close(p, q, rtol=0, atol=1e-6)
    # the updates really moved the weights (so the comparison could fail)
    assert not torch.allclose(next(ours.parameters()), next(mlp((12, 16, 3), seed=0).parameters()))


@pytest.mark.parametrize("name", list(VARIANTS))
def test_numpy_arrays_follow_the_same_rule(name):
    kwargs = VARIANTS[name]
    rng = np.random.default_rng(0)
    theta = rng.standard_normal(5)
    t_ref = torch.tensor(theta, requires_grad=True)
    ours = SGD([theta], lr=0.05, **kwargs)
    ref = torch.optim.SGD([t_ref], lr=0.05, **kwargs)
    for _ in range(30):
        g = rng.standard_normal(5)
        ours.step([g])
        t_ref.grad = torch.tensor(g)
        ref.step()
        np.testing.assert_allclose(theta, t_ref.detach().numpy(), rtol=0, atol=1e-12)


def test_gd_on_a_quadratic_takes_the_textbook_step():
    # f(theta) = 1/2 theta^2, gradient theta: theta_k = (1 - lr)^k theta_0
    theta = np.array([1.0])
    opt = GD([theta], lr=0.25)
    for _ in range(4):
        opt.step([theta.copy()])
    np.testing.assert_allclose(theta, [0.75 ** 4])


def test_parameters_without_gradient_are_skipped():
    a = torch.ones(3, requires_grad=True)
    b = torch.ones(3, requires_grad=True)
    opt = SGD([a, b], lr=0.5, momentum=0.9)
    (2 * a).sum().backward()
    opt.step()
    torch.testing.assert_close(a.detach(), torch.zeros(3))
    torch.testing.assert_close(b.detach(), torch.ones(3))
    opt.zero_grad()
    assert a.grad is None


@pytest.mark.parametrize("kwargs, match", [
    ({"lr": -0.1}, "lr=-0.1"),
    ({"lr": float("nan")}, "lr=nan"),
    ({"lr": 0.1, "momentum": 1.0}, "momentum=1.0"),
    ({"lr": 0.1, "momentum": -0.5}, "momentum=-0.5"),
    ({"lr": 0.1, "weight_decay": -1.0}, "weight_decay=-1.0"),
    ({"lr": 0.1, "nesterov": True}, "nesterov"),
])
def test_bad_input_raises_value_error(kwargs, match):
    with pytest.raises(ValueError, match=match):
        SGD([torch.zeros(2, requires_grad=True)], **kwargs)


def test_setting_a_negative_lr_later_raises():
    opt = SGD([torch.zeros(2, requires_grad=True)], lr=0.1)
    with pytest.raises(ValueError, match="lr=-1"):
        opt.lr = -1


def test_wrong_number_of_gradients_raises():
    opt = SGD([np.zeros(2), np.zeros(1)], lr=0.1)
    with pytest.raises(ValueError, match="1 gradients for 2 params"):
        opt.step([np.zeros(2)])
