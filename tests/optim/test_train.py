"""fit() and evaluate(): the loop equals a hand-written torch.optim.SGD loop on the same batches."""

import math

import pytest
import torch
import torch.nn.functional as F

from amsearch_lab import load_mnist
from amsearch_lab.models import mlp
from amsearch_lab.optim import SGD, DivergenceError, ExponentialDecay, evaluate, fit, shuffled_batches


@pytest.fixture(scope="module")
def data():
    return load_mnist(device="cpu", limit=300)


def test_fit_equals_a_plain_torch_loop(data):
    schedule = ExponentialDecay(0.1, rate=0.5, decay_steps=1)
    ours = mlp((784, 32, 10), seed=0)
    result = fit(ours, data, SGD(ours.parameters(), lr=0.1, momentum=0.9), schedule=schedule,
                 epochs=3, batch_size=50, device="cpu", progress=False, seed=7)
    # the same model, batches and learning rates, by hand with torch.optim.SGD
    ref = mlp((784, 32, 10), seed=0)
    opt = torch.optim.SGD(ref.parameters(), lr=0.1, momentum=0.9)
    generator = torch.Generator().manual_seed(7)
    for epoch in range(3):
        opt.param_groups[0]["lr"] = 0.1 * 0.5 ** epoch
        for idx in shuffled_batches(len(data.x_train), 50, generator):
            opt.zero_grad()
            F.cross_entropy(ref(data.x_train[idx]), data.y_train[idx]).backward()
            opt.step()
    for p, q in zip(ours.parameters(), ref.parameters()):
        torch.testing.assert_close(p, q, rtol=0, atol=1e-5)
    assert result["lr"] == pytest.approx([0.1, 0.05, 0.025])
    frame = result.to_frame()
    assert list(frame.columns) == ["lr", "train_loss", "train_acc", "val_loss", "val_acc", "seconds"]
    assert frame["train_loss"].iloc[-1] < frame["train_loss"].iloc[0]
    assert frame["val_loss"].iloc[-1] == pytest.approx(evaluate(ours, data.x_val, data.y_val)[0], rel=1e-5)


def test_step_schedule_sets_lr_before_each_step(data):
    model = mlp((784, 16, 10), seed=0)
    opt = SGD(model.parameters(), lr=1.0)
    fit(model, data, opt, schedule=lambda t: 0.01 / (1 + t), schedule_per="step", epochs=2,
        batch_size=100, device="cpu", progress=False)
    assert opt.lr == pytest.approx(0.01 / 6)  # 2 epochs x 3 batches: the last step is t = 5


def test_evaluate_equals_the_full_batch_loss(data):
    model = mlp((784, 16, 10), seed=1)
    loss, acc = evaluate(model, data.x_val, data.y_val, batch_size=64)
    with torch.no_grad():
        logits = model(data.x_val)
    assert loss == pytest.approx(F.cross_entropy(logits, data.y_val).item(), rel=1e-5)
    assert acc == pytest.approx((logits.argmax(1) == data.y_val).float().mean().item())


def test_evaluate_regression_has_no_accuracy():
    model = torch.nn.Linear(3, 1)
    x, y = torch.randn(20, 3), torch.randn(20, 1)
    loss, acc = evaluate(model, x, y, loss_fn=F.mse_loss)
    assert loss == pytest.approx(F.mse_loss(model(x), y).item(), rel=1e-5) and math.isnan(acc)


def test_a_diverging_run_stops_with_a_clear_error():
    # least squares with a step far above 2 / (largest curvature): |w| grows geometrically to inf/nan
    g = torch.Generator().manual_seed(0)
    x, y = torch.randn(100, 5, generator=g), torch.randn(100, 1, generator=g)
    model = torch.nn.Linear(5, 1)
    with pytest.raises(DivergenceError, match=r"became (nan|inf) at epoch \d+, step \d+ \(lr=10\)"):
        fit(model, (x, y, x, y), SGD(model.parameters(), lr=10.0), epochs=100, batch_size=10,
            loss_fn=torch.nn.functional.mse_loss, device="cpu", progress=False)


def test_same_seed_same_run(data):
    finals = []
    for _ in range(2):
        model = mlp((784, 16, 10), seed=0)
        result = fit(model, data, SGD(model.parameters(), lr=0.1), epochs=2, batch_size=30,
                     device="cpu", progress=False, seed=5)
        finals.append(result["train_loss"])
    assert finals[0] == finals[1]


@pytest.mark.parametrize("kwargs, match", [
    ({"epochs": 0}, "epochs=0"),
    ({"batch_size": 0}, "batch_size=0"),
    ({"schedule_per": "batch"}, "schedule_per='batch'"),
])
def test_bad_input_raises_value_error(data, kwargs, match):
    model = mlp((784, 8, 10), seed=0)
    with pytest.raises(ValueError, match=match):
        fit(model, data, SGD(model.parameters(), lr=0.1), device="cpu", progress=False, **kwargs)


def test_evaluate_and_accuracy_refuse_empty_data(data):
    """Before: 0/0 = nan loss and accuracy, returned without a word."""
    from amsearch_lab.compress import accuracy

    model = mlp((784, 8, 10), seed=0)
    for measure in (evaluate, accuracy):
        with pytest.raises(ValueError, match=r"x has no examples \(shape \(0, 1, 28, 28\)\)"):
            measure(model, data.x_val[:0], data.y_val[:0])


@pytest.mark.parametrize("empty", ["x_train", "x_val"])
def test_fit_refuses_empty_data_before_training(data, empty):
    """Before: an empty training set gave train_loss = train_acc = 0/0 = nan; an empty validation
    set raised only in evaluate, after the first epoch had trained."""
    x_train, y_train, x_val, y_val = data.x_train, data.y_train, data.x_val, data.y_val
    if empty == "x_train":
        x_train, y_train = x_train[:0], y_train[:0]
    else:
        x_val, y_val = x_val[:0], y_val[:0]
    model = mlp((784, 8, 10), seed=0)
    before = [p.detach().clone() for p in model.parameters()]
    with pytest.raises(ValueError, match=rf"fit: {empty} has no examples \(shape \(0, 1, 28, 28\)\)"):
        fit(model, (x_train, y_train, x_val, y_val), SGD(model.parameters(), lr=0.1), device="cpu", progress=False)
    assert all(torch.equal(p, q) for p, q in zip(model.parameters(), before))  # nothing was trained
