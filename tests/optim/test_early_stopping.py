"""Early stopping: when it stops, and that it gives back the best epoch's weights."""

import pytest
import torch
from torch import nn

from amsearch_lab import load_mnist
from amsearch_lab.models import mlp
from amsearch_lab.optim import SGD, EarlyStopping, evaluate, fit


def test_stops_after_patience_epochs_without_improvement():
    stopper = EarlyStopping(patience=2)
    values = [1.0, 0.8, 0.9, 0.85, 0.7]  # epochs 3 and 4 do not beat 0.8
    stops = [stopper.update(v, epoch=e) for e, v in enumerate(values[:4], start=1)]
    assert stops == [False, False, False, True]
    assert stopper.best_epoch == 2 and stopper.stopped_epoch == 4


def test_min_delta_ignores_tiny_improvements():
    stopper = EarlyStopping(patience=1, min_delta=0.1)
    assert not stopper.update(1.0, epoch=1)
    assert stopper.update(0.95, epoch=2)  # better, but by less than min_delta
    assert stopper.best == 1.0


def test_accuracy_is_maximised():
    stopper = EarlyStopping(patience=1, monitor="val_acc")
    assert not stopper.update(0.9, epoch=1)
    assert not stopper.update(0.95, epoch=2)
    assert stopper.update(0.93, epoch=3)
    assert stopper.best_epoch == 2


def test_restores_the_best_weights():
    model = nn.Linear(2, 1)
    stopper = EarlyStopping(patience=1)
    snapshots = {}
    for epoch, value in enumerate([0.5, 0.3, 0.4], start=1):
        with torch.no_grad():
            model.weight.fill_(float(epoch))  # the "training" of this epoch
        snapshots[epoch] = model.weight.detach().clone()
        stopper.update(value, model, epoch)
    stopper.restore(model)
    torch.testing.assert_close(model.weight.detach(), snapshots[2])


def test_fit_ends_with_the_best_epoch_weights():
    data = load_mnist(device="cpu", limit=400)
    model = mlp((784, 32, 10), seed=0)
    stopper = EarlyStopping(patience=10)
    result = fit(model, data, SGD(model.parameters(), lr=0.5, momentum=0.9), epochs=8,
                 early_stopping=stopper, batch_size=32, device="cpu", progress=False)
    val_losses = result["val_loss"]
    best = min(range(len(val_losses)), key=val_losses.__getitem__)
    assert best + 1 < len(val_losses), "this setting should overfit before the last epoch"
    assert result.best_epoch == best + 1
    loss, _ = evaluate(model, data.x_val, data.y_val)
    assert loss == pytest.approx(val_losses[best], rel=1e-5)
    assert loss < val_losses[-1]


def test_fit_stops_early():
    data = load_mnist(device="cpu", limit=400)
    model = mlp((784, 32, 10), seed=0)
    result = fit(model, data, SGD(model.parameters(), lr=0.5, momentum=0.9), epochs=30,
                 early_stopping=EarlyStopping(patience=2), batch_size=32, device="cpu", progress=False)
    assert result.stopped_epoch == len(result.records) < 30
    assert result.stopped_epoch == result.best_epoch + 2


@pytest.mark.parametrize("kwargs, match", [
    ({"patience": -1}, "patience=-1"),
    ({"patience": 1.5}, "patience=1.5"),
    ({"patience": 2, "min_delta": -0.1}, "min_delta=-0.1"),
])
def test_bad_input_raises_value_error(kwargs, match):
    with pytest.raises(ValueError, match=match):
        EarlyStopping(**kwargs)
