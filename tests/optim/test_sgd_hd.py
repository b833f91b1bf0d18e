"""SGD-HD: the learning-rate update against the formula and against a finite difference of the
loss in the learning rate; beta = 0 is plain SGD; it recovers from a too-small learning rate."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from amsearch_lab.models import mlp
from amsearch_lab.optim import SGD, SGDHD, fit


def quadratic(theta):
    """f(theta) = 1/2 theta^T A theta, gradient A theta (A symmetric positive definite)."""
    A = np.array([[3.0, 0.5], [0.5, 1.0]])
    return 0.5 * theta @ A @ theta, A @ theta


def test_two_steps_follow_the_formula():
    theta = np.array([1.0, -2.0])
    opt = SGDHD([theta], lr=0.1, beta=0.01)
    _, g1 = quadratic(theta)
    opt.step([g1])  # h_1 = 0: a plain step
    np.testing.assert_allclose(theta, np.array([1.0, -2.0]) - 0.1 * g1)
    assert opt.lr == 0.1
    before = theta.copy()
    _, g2 = quadratic(theta)
    opt.step([g2])
    alpha2 = 0.1 + 0.01 * g2 @ g1  # alpha_t = alpha_{t-1} + beta g_t . g_{t-1}
    assert opt.lr == pytest.approx(alpha2)
    np.testing.assert_allclose(theta, before - alpha2 * g2)
    assert opt.lr_history == [0.1, pytest.approx(alpha2)]


def test_hypergradient_is_minus_the_derivative_of_the_loss_in_lr():
    """g_t . g_{t-1} = -d f(theta_{t-1} - alpha g_{t-1}) / d alpha (central finite difference)."""
    theta0, alpha, eps = np.array([0.7, 1.3]), 0.05, 1e-6
    _, g0 = quadratic(theta0)
    _, g1 = quadratic(theta0 - alpha * g0)
    fd = (quadratic(theta0 - (alpha + eps) * g0)[0] - quadratic(theta0 - (alpha - eps) * g0)[0]) / (2 * eps)
    assert g1 @ g0 == pytest.approx(-fd, rel=1e-6)
    opt = SGDHD([theta0.copy()], lr=alpha, beta=1.0)
    opt.step([g0])
    opt.step([g1])
    assert opt.lr == pytest.approx(alpha - fd, rel=1e-6)  # alpha <- alpha - beta * df/dalpha


def test_weight_decay_enters_the_hypergradient():
    theta, decay = np.array([1.0, 2.0]), 0.1
    opt = SGDHD([theta], lr=0.1, beta=0.5, weight_decay=decay)
    g1 = np.array([0.3, -0.2])
    eff1 = g1 + decay * theta
    opt.step([g1])
    g2 = np.array([0.1, 0.4])
    eff2 = g2 + decay * theta
    opt.step([g2])
    assert opt.lr == pytest.approx(0.1 + 0.5 * eff2 @ eff1)


def test_beta_zero_is_plain_sgd_on_a_torch_model():
    ours, ref = mlp((6, 8, 3), seed=0), mlp((6, 8, 3), seed=0)
    opt_hd, opt = SGDHD(ours.parameters(), lr=0.05, beta=0.0), SGD(ref.parameters(), lr=0.05)
    g = torch.Generator().manual_seed(0)
    for _ in range(10):
        x, y = torch.randn(16, 6, generator=g), torch.randint(0, 3, (16,), generator=g)
        for model, o in ((ours, opt_hd), (ref, opt)):
            o.zero_grad()
            F.cross_entropy(model(x), y).backward()
            o.step()
    for a, b in zip(ours.parameters(), ref.parameters()):
        torch.testing.assert_close(a, b, rtol=0, atol=0)


def test_recovers_from_a_tiny_learning_rate():
    """Logistic regression with lr = 1e-4: SGD barely moves, SGD-HD raises its lr and learns."""
    g = torch.Generator().manual_seed(0)
    w_true = torch.randn(10, 3, generator=g)
    x = torch.randn(600, 10, generator=g)
    y = (x @ w_true).argmax(1)
    data = (x[:500], y[:500], x[500:], y[500:])
    losses = {}
    for name, make in (("sgd", lambda p: SGD(p, lr=1e-4)), ("sgd_hd", lambda p: SGDHD(p, lr=1e-4, beta=0.02))):
        model = torch.nn.Linear(10, 3)
        torch.nn.init.zeros_(model.weight), torch.nn.init.zeros_(model.bias)
        opt = make(list(model.parameters()))
        losses[name] = fit(model, data, opt, epochs=3, batch_size=50, progress=False, device="cpu")["val_loss"][-1]
        if name == "sgd_hd":
            assert opt.lr > 100 * 1e-4  # grew by orders of magnitude
    assert losses["sgd"] > 1.0  # still near log(3) = 1.10
    assert losses["sgd_hd"] < 0.75 * losses["sgd"]  # measured: 0.63 vs 1.10


@pytest.mark.parametrize("bad", [dict(beta=-1.0), dict(beta=float("nan")), dict(weight_decay=-0.1)])
def test_bad_arguments_name_the_parameter(bad):
    name = next(iter(bad))
    with pytest.raises(ValueError, match=name):
        SGDHD([np.zeros(2)], lr=0.1, **bad)
