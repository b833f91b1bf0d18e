"""``python -m amsearch_lab.bench train``: the MLP 784-300-100-10 on MNIST, two ways.

* **lab**: ``amsearch_lab.optim.fit`` with the lab's ``SGD`` (momentum);
* **plain**: a hand-written loop with ``torch.optim.SGD`` (its defaults, e.g. the ``foreach``
  kernels on CUDA), doing the same work: the same initial weights, the same batches in the
  same order, the same learning rate each epoch, and a validation pass after each epoch.

The two run epoch by epoch in turn (lab, plain, lab, plain, ...) after an untimed warm-up, so
a machine whose load changes slows both alike. Printed: the median seconds per epoch of each,
their ratio (target: at most 1.10), the test accuracy after the last epoch (target: at least
98.0% after 10 epochs), and how far apart the two final models are.
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch
import torch.nn.functional as F

from ..datasets import load_mnist
from ..device import describe_device, pick_device
from ..models import lenet_300_100
from ..optim import SGD, CosineDecay, evaluate, fit, shuffled_batches

RATIO_TARGET = 1.10
ACCURACY_TARGET = 0.98


def plain_epoch(model, optimizer, x, y, x_val, y_val, batch_size, generator, scheduler=None):
    """One epoch of the textbook torch loop, then the validation loss (the same work as ``fit``);
    ``scheduler`` (a ``torch.optim.lr_scheduler``), when given, is stepped after every batch."""
    model.train()
    running = torch.zeros((), device=x.device)
    for idx in shuffled_batches(len(x), batch_size, generator, x.device):
        optimizer.zero_grad()
        loss = F.cross_entropy(model(x[idx]), y[idx])
        loss.backward()
        optimizer.step()
        if scheduler is not None:
            scheduler.step()
        running += loss.detach()
    model.eval()
    with torch.no_grad():
        val_loss = sum(F.cross_entropy(model(x_val[i:i + 1024]), y_val[i:i + 1024], reduction="sum")
                       for i in range(0, len(x_val), 1024)) / len(x_val)
    return running.item(), val_loss.item()


def timed(dev, fn, *args, **kwargs):
    """``(seconds, fn(*args, **kwargs))``: wall time, waiting for the GPU before and after."""
    if dev.type == "cuda":
        torch.cuda.synchronize(dev)
    start = time.perf_counter()
    value = fn(*args, **kwargs)
    if dev.type == "cuda":
        torch.cuda.synchronize(dev)
    return time.perf_counter() - start, value


def parse(argv):
    p = argparse.ArgumentParser(prog="python -m amsearch_lab.bench train", description=__doc__.split("\n\n")[0])
    p.add_argument("--epochs", type=int, default=10)
    p.add_argument("--batch-size", type=int, default=128)
    p.add_argument("--lr", type=float, default=0.05, help="initial learning rate of the cosine schedule")
    p.add_argument("--momentum", type=float, default=0.9)
    p.add_argument("--device", default=None, help="cpu or cuda (default: amsearch_lab.pick_device())")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=None,
                   help="CPU threads for torch (default: torch's choice); 1 on a CPU shared with other jobs")
    p.add_argument("--quick", action="store_true", help="2 epochs on 10,000 images: a smoke test, no targets")
    return p.parse_args(argv)


def main(argv=None) -> int:
    args = parse(argv)
    if args.quick:
        args.epochs = min(args.epochs, 2)
    if args.threads is not None:
        torch.set_num_threads(args.threads)
    dev = pick_device(args.device)
    data = load_mnist(device=dev, limit=10_000 if args.quick else None)
    schedule = CosineDecay(args.lr, t_max=args.epochs)
    print(f"MLP 784-300-100-10 on MNIST ({len(data.x_train)} train images), {describe_device(dev)}, "
          f"batch {args.batch_size}, {args.epochs} epochs, SGD momentum {args.momentum}, "
          f"cosine lr from {args.lr}")

    # 1. warm-up (untimed): allocator, kernels, threads
    warm = lenet_300_100(seed=args.seed).to(dev)
    subset = (data.x_train[:4096], data.y_train[:4096], data.x_val[:1024], data.y_val[:1024])
    fit(warm, subset, SGD(warm.parameters(), lr=0.01), epochs=1, device=dev, progress=False)
    plain_epoch(warm, torch.optim.SGD(warm.parameters(), lr=0.01), *subset, args.batch_size, torch.Generator())

    # 2. the same start for both: weights, batch order, learning rates
    lab_model = lenet_300_100(seed=args.seed).to(dev)
    plain_model = lenet_300_100(seed=args.seed).to(dev)
    lab_opt = SGD(lab_model.parameters(), lr=args.lr, momentum=args.momentum)
    plain_opt = torch.optim.SGD(plain_model.parameters(), lr=args.lr, momentum=args.momentum)
    lab_gen = torch.Generator().manual_seed(args.seed)
    plain_gen = torch.Generator().manual_seed(args.seed)

    # 3. epoch by epoch, in turn
    lab_seconds, plain_seconds = [], []
    print(f"{'epoch':>5} {'lr':>9} {'lab s':>8} {'plain s':>8} {'lab val loss':>13} {'plain val loss':>15}")
    for epoch in range(args.epochs):
        lr = schedule(epoch)
        lab_opt.lr = lr
        plain_opt.param_groups[0]["lr"] = lr
        seconds, lab_result = timed(dev, fit, lab_model, data, lab_opt, epochs=1, device=dev,
                                    batch_size=args.batch_size, progress=False, seed=lab_gen)
        lab_seconds.append(seconds)
        seconds, (_, plain_val_loss) = timed(dev, plain_epoch, plain_model, plain_opt, data.x_train, data.y_train,
                                             data.x_val, data.y_val, args.batch_size, plain_gen)
        plain_seconds.append(seconds)
        print(f"{epoch + 1:>5} {lr:>9.5f} {lab_seconds[-1]:>8.3f} {plain_seconds[-1]:>8.3f} "
              f"{lab_result.records[0]['val_loss']:>13.5f} {plain_val_loss:>15.5f}")

    # 4. the figures
    lab_s, plain_s = statistics.median(lab_seconds), statistics.median(plain_seconds)
    ratio = lab_s / plain_s
    _, lab_acc = evaluate(lab_model, data.x_test, data.y_test)
    _, plain_acc = evaluate(plain_model, data.x_test, data.y_test)
    gap = max((p - q).abs().max().item() for p, q in zip(lab_model.parameters(), plain_model.parameters()))
    print()
    print(f"{'loop':<34} {'s/epoch (median)':>17} {'test accuracy':>14}")
    print(f"{'lab: fit + amsearch_lab SGD':<34} {lab_s:>17.3f} {lab_acc:>14.2%}")
    print(f"{'plain: torch loop + torch.optim.SGD':<34} {plain_s:>17.3f} {plain_acc:>14.2%}")
    print(f"ratio lab / plain: {ratio:.3f} (target <= {RATIO_TARGET:.2f}: "
          f"{'met' if ratio <= RATIO_TARGET else 'NOT met'})")
    if args.quick:
        print("quick mode: accuracy target not checked")
    else:
        met = lab_acc >= ACCURACY_TARGET
        print(f"test accuracy after {args.epochs} epochs: {lab_acc:.2%} (target >= {ACCURACY_TARGET:.0%}"
              f"{' after 10 epochs' if args.epochs != 10 else ''}: {'met' if met else 'NOT met'})")
    print(f"largest |weight difference| lab vs plain after training: {gap:.2e}")
    return 0
