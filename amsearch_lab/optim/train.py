"""``fit()``: a small training loop for torch models, and ``evaluate()``.

One epoch is: shuffle the training set (seeded), then for each mini-batch
``zero_grad -> forward -> loss -> backward -> optimizer.step()``; then evaluate on the
validation set, record the epoch, and ask the schedule and early stopping what to do next.

The data stay on the device and the per-step losses are summed there too: the loop reads a
number back to the CPU only every ``CHECK_EVERY`` steps (to stop a diverging run early) and at
the end of each epoch, so that a GPU is never made to wait after every batch.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

import torch
import torch.nn.functional as F

from ..device import pick_device

__all__ = ["fit", "evaluate", "FitResult", "DivergenceError", "shuffled_batches"]

CHECK_EVERY = 50  # steps between two checks for a NaN/inf loss (each check synchronises the GPU)


class DivergenceError(ValueError):
    """The training loss became NaN or infinite (usually: the learning rate is too large)."""


@dataclass
class FitResult:
    """What ``fit`` returns: one record per epoch, and what early stopping decided.

    Each record has ``epoch`` (1-based), ``lr`` (at the start of the epoch), ``train_loss`` and
    ``train_acc`` (averaged over the epoch's mini-batches, while the weights changed),
    ``val_loss``, ``val_acc`` (after the epoch) and ``seconds`` (the epoch's wall time).
    """

    records: list = field(default_factory=list)
    best_epoch: int | None = None
    stopped_epoch: int | None = None

    def to_frame(self):
        import pandas as pd

        return pd.DataFrame(self.records).set_index("epoch")

    def __getitem__(self, key: str) -> list:
        return [r[key] for r in self.records]


def shuffled_batches(n: int, batch_size: int, generator: torch.Generator, device=None) -> list:
    """Index tensors of the mini-batches of one epoch: a random permutation of ``range(n)``
    (drawn on the CPU from ``generator``, so any device sees the same order) cut into pieces
    of ``batch_size`` (the last one may be smaller)."""
    order = torch.randperm(n, generator=generator).to(device)  # (n,)
    return list(order.split(batch_size))


def _unpack(data):
    """``(x_train, y_train, x_val, y_val)``, or an object with those attributes (``load_mnist()``)."""
    if hasattr(data, "x_train"):
        return data.x_train, data.y_train, data.x_val, data.y_val
    if len(data) != 4:
        raise ValueError(f"fit: data has {len(data)} items; expected (x_train, y_train, x_val, y_val)")
    return tuple(data)


def _correct(output: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Number of correct class predictions in a batch (``nan`` when this is not classification)."""
    if output.ndim == 2 and not y.is_floating_point():
        return (output.argmax(dim=1) == y).sum()
    return torch.tensor(math.nan, device=output.device)


@torch.no_grad()
def evaluate(model, x: torch.Tensor, y: torch.Tensor, batch_size: int = 1024, loss_fn=None) -> tuple[float, float]:
    """Mean loss and accuracy of ``model`` on ``(x, y)`` in eval mode (accuracy is ``nan`` for
    regression). ``loss_fn(output, y)`` must return the batch mean (default: cross-entropy on logits).
    Empty data raise a ValueError: their mean would be 0/0 = nan, which compares False with
    everything and so slips past checks such as ``acc < 0.5``."""
    if not (isinstance(batch_size, int) and batch_size >= 1):
        raise ValueError(f"evaluate: batch_size={batch_size!r} must be a positive integer")
    if len(x) == 0:
        raise ValueError(f"evaluate: x has no examples (shape {tuple(x.shape)}); a mean loss and accuracy need at least one")
    loss_fn = F.cross_entropy if loss_fn is None else loss_fn
    was_training = model.training
    model.eval()
    loss_sum = torch.zeros((), device=x.device)
    correct = torch.zeros((), device=x.device)
    for start in range(0, len(x), batch_size):
        xb, yb = x[start:start + batch_size], y[start:start + batch_size]
        output = model(xb)
        loss_sum += loss_fn(output, yb) * len(xb)
        correct += _correct(output, yb)
    model.train(was_training)
    n = len(x)
    return (loss_sum / n).item(), (correct / n).item()


def _raise_divergence(step_losses: torch.Tensor, epoch: int, first_step: int, lr: float) -> None:
    """Raise ``DivergenceError`` naming the first step whose loss is not finite, if any."""
    bad = (~torch.isfinite(step_losses)).nonzero()
    if len(bad):
        step = first_step + int(bad[0]) + 1  # 1-based step within the epoch
        value = step_losses[int(bad[0])].item()
        raise DivergenceError(
            f"fit: the training loss became {value} at epoch {epoch}, step {step} (lr={lr:g}); "
            f"the run diverged: try a smaller lr")


def fit(model, data, optimizer, schedule=None, epochs: int = 10, early_stopping=None, device=None,
        batch_size: int = 128, loss_fn=None, progress: bool = True, seed: int | torch.Generator = 0,
        schedule_per: str = "epoch", augment=None) -> FitResult:
    """Train ``model`` on ``data = (x_train, y_train, x_val, y_val)`` with ``optimizer`` (anything
    with ``zero_grad()``, ``step()`` and ``lr``) for at most ``epochs`` epochs.

    ``schedule(t)`` sets ``optimizer.lr`` before each epoch (``t`` = epochs done) or before each
    step (``schedule_per="step"``, ``t`` = steps done). ``early_stopping`` (an ``EarlyStopping``)
    sees each epoch's ``val_loss`` (or its ``monitor``) and may stop the run; at the end the model
    holds its best epoch's weights when ``early_stopping.restore_best``. The model and data are moved to ``device`` (default: ``amsearch_lab.pick_device()``).
    The batches are shuffled by a CPU ``torch.Generator`` seeded with ``seed`` (or by ``seed``
    itself when it is a Generator, so that calls of one epoch each continue one stream).
    ``augment(x_batch, generator)`` (e.g. ``optim.RandomShift(2)``), when given, transforms each
    training batch before the forward pass, drawing its randomness from the same generator.
    A NaN/inf training loss raises ``DivergenceError``; an empty training or validation set raises
    a ValueError before anything is trained.
    """
    # plumbing: check the arguments, put everything on one device
    if not (isinstance(epochs, int) and epochs >= 1):
        raise ValueError(f"fit: epochs={epochs!r} must be a positive integer")
    if not (isinstance(batch_size, int) and batch_size >= 1):
        raise ValueError(f"fit: batch_size={batch_size!r} must be a positive integer")
    if schedule_per not in ("epoch", "step"):
        raise ValueError(f"fit: schedule_per={schedule_per!r} must be 'epoch' or 'step'")
    x_train, y_train, x_val, y_val = _unpack(data)
    # empty data, before any training: the epoch's mean loss would be 0/0 = nan (train), or
    # evaluate would raise only after the first epoch had trained (validation)
    for name, x, mean in (("x_train", x_train, "training loss and accuracy"), ("x_val", x_val, "validation loss")):
        if len(x) == 0:
            raise ValueError(f"fit: {name} has no examples (shape {tuple(x.shape)}); a mean {mean} needs at least one")
    dev = pick_device() if device is None else torch.device(device)
    x_train, y_train, x_val, y_val = (t.to(dev) for t in (x_train, y_train, x_val, y_val))
    model.to(dev)
    loss_fn = F.cross_entropy if loss_fn is None else loss_fn
    generator = seed if isinstance(seed, torch.Generator) else torch.Generator().manual_seed(seed)
    result = FitResult()
    step = 0

    from tqdm.auto import tqdm

    bar = tqdm(range(1, epochs + 1), desc="fit", unit="epoch", disable=not progress)
    for epoch in bar:
        start = time.perf_counter()
        # 1. the learning rate for this epoch
        if schedule is not None and schedule_per == "epoch":
            optimizer.lr = schedule(epoch - 1)
        lr_epoch = optimizer.lr
        # 2. one pass over the shuffled training set
        model.train()
        batches = shuffled_batches(len(x_train), batch_size, generator, dev)
        step_losses = torch.empty(len(batches), device=dev)  # (n_batches,) stays on the device
        correct = torch.zeros((), device=dev)
        checked = 0
        for i, idx in enumerate(batches):
            if schedule is not None and schedule_per == "step":
                optimizer.lr = schedule(step)
            xb, yb = x_train[idx], y_train[idx]
            if augment is not None:
                xb = augment(xb, generator)
            optimizer.zero_grad()
            output = model(xb)
            loss = loss_fn(output, yb)
            loss.backward()
            optimizer.step()
            step += 1
            step_losses[i] = loss.detach()
            correct += _correct(output.detach(), yb)
            if (i + 1) % CHECK_EVERY == 0:  # 3. stop a diverging run soon, not after the epoch
                _raise_divergence(step_losses[checked:i + 1], epoch, checked, optimizer.lr)
                checked = i + 1
        _raise_divergence(step_losses[checked:], epoch, checked, optimizer.lr)
        sizes = torch.tensor([len(b) for b in batches], device=dev, dtype=step_losses.dtype)
        train_loss = ((step_losses * sizes).sum() / len(x_train)).item()
        train_acc = (correct / len(x_train)).item()
        # 4. validation, and the epoch's record
        val_loss, val_acc = evaluate(model, x_val, y_val, loss_fn=loss_fn)
        if dev.type == "cuda":
            torch.cuda.synchronize(dev)
        record = {"epoch": epoch, "lr": lr_epoch, "train_loss": train_loss, "train_acc": train_acc,
                  "val_loss": val_loss, "val_acc": val_acc, "seconds": time.perf_counter() - start}
        result.records.append(record)
        bar.set_postfix(loss=f"{train_loss:.4f}", val_loss=f"{val_loss:.4f}", val_acc=f"{val_acc:.4f}")
        # 5. early stopping: keep the best weights, stop when patience runs out
        if early_stopping is not None:
            stop = early_stopping.update(record[early_stopping.monitor], model, epoch)
            result.best_epoch = early_stopping.best_epoch
            if stop:
                result.stopped_epoch = epoch
                break
    bar.close()
    if early_stopping is not None:
        early_stopping.restore(model)
    return result
