"""DARTS: the relaxation's weights, the derived network, and the architecture gradient of both
orders against central finite differences in float64."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn
from torch.func import functional_call

from amsearch_lab import load_mnist
from amsearch_lab.nas import (
    CELL_OPS,
    DARTS,
    EDGES,
    CellArchitecture,
    Recipe,
    Supernet,
    derive,
    mixture_weights,
    parameter_free_share,
)

TINY = Recipe(name="tiny", n_train=100, n_val=50, n_test=50, epochs=1, batch_size=25, lr=0.05)
STEPS = 4  # 100 training images in batches of 25


@pytest.fixture(scope="module")
def data():
    return load_mnist(device="cpu", limit=100)


def random_alpha(seed: int, n_ops: int = len(CELL_OPS)) -> torch.Tensor:
    return torch.randn(len(EDGES), n_ops, dtype=torch.float64, generator=torch.Generator().manual_seed(seed))


# -- the relaxation ---------------------------------------------------------------------------------
def test_mixture_weights_are_the_softmax_of_each_row():
    alpha, noise = random_alpha(0), random_alpha(1)
    for temperature in (0.3, 1.0, 4.0):
        w = mixture_weights(alpha, temperature, noise)
        e = torch.exp((alpha + noise) / temperature)
        assert w.shape == (3, 7) and torch.allclose(w, e / e.sum(dim=1, keepdim=True))
        assert torch.allclose(w.sum(dim=1), torch.ones(3, dtype=torch.float64))


def test_a_lower_temperature_sharpens_the_weights():
    alpha = random_alpha(2)
    peaks = [mixture_weights(alpha, t).max(dim=1).values for t in (100.0, 3.0, 1.0, 0.3, 0.01)]
    assert all((a < b).all() for a, b in zip(peaks, peaks[1:]))
    assert torch.allclose(peaks[0], torch.full((3,), 1 / 7, dtype=torch.float64), atol=1e-2)  # near uniform
    assert torch.allclose(peaks[-1], torch.ones(3, dtype=torch.float64))  # near one-hot


@pytest.mark.parametrize("temperature", [0.0, -1.0])
def test_mixture_weights_reject_a_temperature_that_is_not_positive(temperature):
    with pytest.raises(ValueError, match=f"temperature={temperature!r}"):
        mixture_weights(random_alpha(0), temperature)


def test_hard_weights_are_one_hot_forward_with_the_soft_gradient():
    alpha, noise, c = random_alpha(3), random_alpha(4), random_alpha(5)  # c: any downstream linear use
    soft_alpha, hard_alpha = alpha.clone().requires_grad_(), alpha.clone().requires_grad_()
    soft = mixture_weights(soft_alpha, 0.5, noise)
    hard = mixture_weights(hard_alpha, 0.5, noise, hard=True)
    expected = torch.zeros_like(alpha)
    expected[torch.arange(3), (alpha + noise).argmax(dim=1)] = 1.0
    assert torch.equal(hard.detach(), expected)
    (c * soft).sum().backward()
    (c * hard).sum().backward()
    assert torch.allclose(hard_alpha.grad, soft_alpha.grad, atol=1e-12) and soft_alpha.grad.abs().max() > 0


def test_derive_takes_the_argmax_and_leaves_none_out_unless_asked():
    alpha = torch.tensor([[5.0, 1, 2, 0, 0, 0, 0],  # none wins, then conv1x1
                          [0.0, 0, 0, 0, 3, 0, 0],  # conv5x5
                          [9.0, 0, 0, 0, 0, 0, 1]])  # none wins, then avgpool
    assert derive(alpha, CELL_OPS) == CellArchitecture(("conv1x1", "conv5x5", "avgpool"))
    assert derive(alpha, CELL_OPS, include_none=True) == CellArchitecture(("none", "conv5x5", "none"))
    ops = ("skip", "conv3x3")
    assert derive(torch.tensor([[1.0, 2], [3, 2], [0, 1]]), ops) == CellArchitecture(("conv3x3", "skip", "conv3x3"))


def test_parameter_free_share_by_hand():
    w = np.zeros((3, 7))
    w[0, CELL_OPS.index("skip")] = 1.0  # all parameter-free
    w[1, CELL_OPS.index("conv3x3")] = 1.0  # none
    w[2] = 1 / 7  # none, skip, maxpool, avgpool: 4 of 7
    assert parameter_free_share(w, CELL_OPS) == pytest.approx((1 + 0 + 4 / 7) / 3)
    assert parameter_free_share([[0.25, 0.75]] * 3, ("maxpool", "conv1x1")) == pytest.approx(0.25)


# -- the architecture gradient ------------------------------------------------------------------------
def smooth(module: nn.Module) -> nn.Module:
    """ReLU -> Softplus and max-pool -> average pool, in place: a network without kinks."""
    for name, child in module.named_children():
        if isinstance(child, nn.ReLU):
            setattr(module, name, nn.Softplus())
        elif isinstance(child, nn.MaxPool2d):
            setattr(module, name, nn.AvgPool2d(child.kernel_size, child.stride, child.padding, count_include_pad=False))
        else:
            smooth(child)
    return module


def float64_setup(data, order: int, smooth_net: bool = False):
    supernet = Supernet(channels=2, seed=0)
    supernet = (smooth(supernet) if smooth_net else supernet).double().train()
    darts = DARTS(supernet, order=order, seed=0)
    with torch.no_grad():
        darts.alpha.data = random_alpha(1)
    train = (data.x_train[:8].double(), data.y_train[:8])
    val = (data.x_val[:8].double(), data.y_val[:8])
    return supernet, darts, train, val


def loss(supernet, params, batch, alpha):
    x, y = batch
    return F.cross_entropy(functional_call(supernet, params, (x,), {"weights": torch.softmax(alpha, -1)}), y)


def central_difference(f, alpha: torch.Tensor, h: float = 1e-5) -> torch.Tensor:
    grad = torch.zeros_like(alpha)
    for i in np.ndindex(*alpha.shape):
        up, down = alpha.clone(), alpha.clone()
        up[i] += h
        down[i] -= h
        grad[i] = (f(up) - f(down)) / (2 * h)
    return grad


def virtual_step(supernet, train, alpha, xi):
    """W' = W - xi grad_W L_train(W, alpha)."""
    params = {n: p.detach().clone().requires_grad_() for n, p in supernet.named_parameters()}
    grads = torch.autograd.grad(loss(supernet, params, train, alpha), list(params.values()))
    return {n: (p - xi * g).detach() for (n, p), g in zip(params.items(), grads)}


def test_first_order_gradient_is_the_validation_loss_derivative(data):
    supernet, darts, train, val = float64_setup(data, order=1)
    g = darts.alpha_gradient(train, val)
    params = {n: p.detach() for n, p in supernet.named_parameters()}
    fd = central_difference(lambda a: loss(supernet, params, val, a), darts.alpha.detach())
    assert g.shape == (3, 7) and g.abs().max() > 1e-3
    assert (g - fd).abs().max() <= 1e-8
    assert darts.alpha.grad is None and all(p.grad is None for p in supernet.parameters())  # nothing left behind


def test_second_order_gradient_differentiates_through_the_virtual_step(data):
    """F(alpha) = L_val(W - xi grad_W L_train(W, alpha), alpha) by central differences.

    The library's Hessian-vector product is a finite difference with a step of 0.01 in W; on a
    ReLU/max-pool network that step crosses kinks, so this check uses a smooth copy (Softplus,
    average pools): there the difference converges and the algebra of step 1 is what is tested."""
    xi = 0.5
    supernet, darts, train, val = float64_setup(data, order=2, smooth_net=True)
    g = darts.alpha_gradient(train, val, xi=xi)
    fd = central_difference(lambda a: loss(supernet, virtual_step(supernet, train, a, xi), val, a),
                            darts.alpha.detach())
    # the first term alone (the validation gradient at W', the Hessian term dropped) is far off
    first = DARTS(supernet, order=1)
    with torch.no_grad():
        first.alpha.data = darts.alpha.detach().clone()
    w_prime, params = virtual_step(supernet, train, darts.alpha.detach(), xi), dict(supernet.named_parameters())
    with torch.no_grad():
        for n, p in w_prime.items():
            params[n].copy_(p)
    direct = first.alpha_gradient(train, val)
    assert (direct - fd).abs().max() > 1e-3
    assert (g - fd).abs().max() <= 1e-5  # measured 2e-7: the finite-difference product's own error


def test_second_order_with_xi_zero_is_first_order(data):
    supernet, darts, train, val = float64_setup(data, order=2)
    first = DARTS(supernet, order=1)
    with torch.no_grad():
        first.alpha.data = darts.alpha.detach().clone()
    assert torch.allclose(darts.alpha_gradient(train, val, xi=0.0), first.alpha_gradient(train, val), atol=1e-12)


@pytest.mark.parametrize("kwargs, match", [
    ({"order": 3}, "order=3"),
    ({"alpha_lr": 0.0}, "alpha_lr=0.0"),
    ({"alpha_weight_decay": -1e-3}, "alpha_weight_decay=-0.001"),
    ({"temperature": 0.0}, "temperature=0.0"),
    ({"temperature": (1.0, 0.0)}, r"temperature=\(1.0, 0.0\)"),
    ({"temperature": (1.0, 0.5, 0.1)}, r"temperature=\(1.0, 0.5, 0.1\)"),
    ({"hard": True}, "hard=True needs gumbel=True"),
    ({"xi": -0.1}, "xi=-0.1"),
])
def test_bad_arguments_are_rejected(kwargs, match):
    with pytest.raises(ValueError, match=match):
        DARTS(Supernet(channels=2), **kwargs)


def test_temperature_is_annealed_linearly():
    darts = DARTS(Supernet(channels=2), temperature=(5.0, 1.0))
    assert [darts.temperature(p) for p in (0.0, 0.5, 1.0)] == [5.0, 3.0, 1.0]
    assert torch.allclose(darts.weights(0.0), torch.softmax(darts.alpha / 5.0, -1))


# -- the loop ------------------------------------------------------------------------------------------
def run(data, seed: int = 0, **kwargs):
    darts = DARTS(Supernet(channels=2, seed=0), recipe=TINY, seed=seed, **kwargs)
    return darts, darts.run(data, epochs=1, device="cpu")


def test_run_is_reproducible_by_seed_and_its_trajectory_adds_up(data):
    darts, a = run(data, seed=0)
    _, b = run(data, seed=0)
    _, c = run(data, seed=1)
    assert np.array_equal(a.alpha, b.alpha) and np.array_equal(a.trajectory, b.trajectory)
    assert a.train_loss == b.train_loss and a.derived == b.derived
    assert not np.array_equal(a.alpha, c.alpha)
    assert a.trajectory.shape == (STEPS + 1, 3, 7) and a.alpha.shape == (3, 7) and len(a.train_loss) == 1
    assert a.steps_per_epoch == STEPS
    assert np.allclose(a.trajectory.sum(axis=-1), 1.0)
    first = torch.softmax(1e-3 * torch.randn((3, 7), generator=torch.Generator().manual_seed(0)), -1)
    assert np.allclose(a.trajectory[0], first.numpy())  # the initial alpha, 1e-3 N(0, 1) from the seed
    assert np.allclose(a.trajectory[-1], torch.softmax(torch.from_numpy(a.alpha), -1).numpy())
    assert not np.allclose(a.trajectory[0], a.trajectory[-1], atol=1e-6, rtol=0)  # alpha moved
    assert a.derived == derive(a.alpha, CELL_OPS) and "none" not in a.derived.ops
    assert np.array_equal(darts.alpha.detach().numpy(), a.alpha)


@pytest.mark.parametrize("kwargs", [{"order": 2}, {"gumbel": True, "hard": True, "temperature": (2.0, 0.5)}])
def test_run_variants(data, kwargs):
    _, result = run(data, **kwargs)
    assert result.trajectory.shape == (STEPS + 1, 3, 7) and np.all(np.isfinite(result.trajectory))
    assert np.isfinite(result.train_loss[0])


def test_gumbel_noise_is_fresh_at_every_step(data, monkeypatch):
    darts = DARTS(Supernet(channels=2, seed=0), gumbel=True, recipe=TINY, seed=0)
    drawn, sample = [], darts.sample_noise
    monkeypatch.setattr(darts, "sample_noise", lambda: drawn.append(sample()) or drawn[-1])
    darts.run(data, epochs=1, device="cpu")
    assert len(drawn) == STEPS
    assert all(not torch.equal(a, b) for i, a in enumerate(drawn) for b in drawn[i + 1:])
    assert DARTS(Supernet(channels=2)).sample_noise() is None  # no noise without gumbel


def test_gumbel_noise_has_the_gumbel_distribution():
    darts = DARTS(Supernet(channels=2), gumbel=True, seed=0)
    g = torch.cat([darts.sample_noise().flatten() for _ in range(500)]).double()  # 10500 draws
    assert g.mean().item() == pytest.approx(np.euler_gamma, abs=0.05)  # mean 0.577
    assert g.var().item() == pytest.approx(np.pi ** 2 / 6, abs=0.1)  # variance 1.645
