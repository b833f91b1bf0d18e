"""``python -m amsearch_lab.bench population``: a population of MLPs trained as one, and what PBT buys.

``python -m amsearch_lab.bench population [--part speed|compare|all] [--device cpu|cuda] [--quick]
[--configs 32] [--speed-train N] [--speed-val 10000] [--repeats 3]
[--population 8] [--epochs 8] [--interval 2] [--seeds 3] [--n-train 10000] [--n-val 10000] [--n-test 10000]
[--lr-low 0.001] [--lr-high 1.0] [--momentum 0.9] [--plot schedules.png]``

The network is the MLP 784-300-100-10 (``models.mlp((784, 300, 100, 10), seed=...)``), trained
by SGD (momentum ``--momentum``, batch ``--batch-size``) on MNIST (``datasets/mnist.npz``).

**speed** (``run_speed``): ``--configs`` learning rates on a log grid from 0.001 to 0.1 (momentum
0.9 keeps every one finite), one epoch each on ``--speed-train`` training images (default all
50,000), then validation on ``--speed-val`` images, two ways:

* sequential: ``Population(..., vectorized=False)``, one ``optim.fit`` call per configuration;
* vectorized: ``Population(..., vectorized=True)``, one stacked ``torch.func`` model.

After an untimed warm-up of both, the two run ``--repeats`` times in alternating order
(sequential first, then vectorized first, ...) so that a change of machine load hits both alike;
on CUDA the clock waits for the GPU before and after (``train.timed``). Printed: the seconds of
each run and their ratio, the medians and their ratio. Timed is ``Population.train`` as a user
calls it, validation included (once per network on both paths: the sequential path keeps the
figures of ``fit``'s own validation pass). The reference printed beside it was measured on an
H100 with plain PyTorch, not by this benchmark: 18.8 s against 1.87 s (10x); the goal is >= 10x
on a GPU. On a CPU there are no idle cores to fill and the ratio is only reported.

Also printed: how far apart the two paths end. They train the same networks on the same batches
but sum in another order (one batched product against N products), so their float32 weights
differ by rounding, which SGD sometimes amplifies. After one epoch of 50,000 images on the
development CPU (2 threads) 19 of the 32 configurations ended within 1e-6 of each other and 9
between 1e-4 and 6e-2 (not in order of learning rate), validation accuracies at most 0.22 pp apart;
trained in float64, three of those few agreed to 1e-15, so it is rounding, not a different
computation. A different batch order or update rule would move every configuration (a different
shuffle alone gives 3e-3 at lr 0.001), so the check is the *median* weight difference < 1e-4.

**compare** (``run_compare``): four ways to choose the learning rate, each spending the same
compute, N = ``--population`` networks x E = ``--epochs`` epochs (N E member-epochs), each choosing
its network on the **validation** split and reporting the **test** accuracy of that one network
only. The space is ``lr`` in [``--lr-low``, ``--lr-high``] (log scale); momentum is fixed for every
arm, so the arms differ only in how the learning rate is chosen over time.

    pbt        ``PopulationBasedTraining(space, population=N, epochs=E, interval=--interval)``;
               the chosen network is ``best_member_`` (best validation accuracy at the end)
    random     random search: PBT's own initial population (N independent draws from the space,
               the same seed) trained E epochs at constant lr without exploit/explore, so the
               gap between the two is exactly what exploit/explore adds
    constant   N learning rates on a log grid over the space, constant, E epochs
    cosine     the same N grid values as the initial learning rate of ``optim.CosineDecay(lr0, E)``
               (per epoch): a tuned cosine schedule, the usual strong baseline

Within one seed s, member i of every arm starts from the same weights (``mlp(seed=s N + i)``) and
sees the same shuffles (seed s N + i, as PBT seeds them): common random numbers, so the arms'
per-seed differences are printed too. Default sizes (chosen so that the whole compare part runs in
about 10 minutes on 2 CPU cores): N = 8, E = 8, the first 10,000 training images, the full
validation (10,000) and test (10,000) splits, seeds 0, 1, 2; ``--n-train 50000`` and larger
``--population``/``--epochs``/``--seeds`` give the full-size run.

Printed per arm: median [min, max] over seeds of the chosen network's validation and test
accuracy, member-epochs and seconds; PBT's test gap to each other arm, called a *tie* when it is
within the spread (smaller than the wider of the two arms' min-max ranges); and per seed the
learning-rate schedule PBT discovered (``population.ancestry``: the lr of each interval along the
chosen network's lineage). PBT's validation accuracy is the most optimistic of the four (it has
selected on the validation split at every interval); the test column is the fair one.
``--plot PATH`` saves those schedules beside the chosen cosine and constant ones (matplotlib, Agg).
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np
import torch

from ..datasets import MNIST, load_mnist
from ..device import describe_device, pick_device
from ..dimensions import Float
from ..models import mlp
from ..optim import ConstantLR, CosineDecay, evaluate
from ..population import Population, PopulationBasedTraining, ancestry, schedule_of
from ..space import Space
from .train import timed

__all__ = ["SIZES", "REFERENCE", "SPEED_GOAL", "ARMS", "run_speed", "print_speed", "compare_seed",
           "run_compare", "summarize", "print_compare", "plot_schedules", "main"]

SIZES = (784, 300, 100, 10)
REFERENCE = {"device": "H100", "sequential_s": 18.8, "vectorized_s": 1.87}  # plain PyTorch, a reference measurement (not this benchmark's)
SPEED_GOAL = 10.0
SPEED_LRS = (1e-3, 0.1)  # the speed part's log grid: every configuration stays finite at momentum 0.9
ARMS = ("pbt", "random", "constant", "cosine")
QUICK = {"configs": 4, "speed_train": 256, "speed_val": 256, "repeats": 1, "population": 4, "epochs": 2,
         "interval": 1, "seeds": 3, "n_train": 256, "n_val": 256, "n_test": 256}


def _subset(data: MNIST, n_train: int | None, n_val: int | None, n_test: int | None = None) -> MNIST:
    """The first ``n_*`` images of each split (None: all of it)."""
    return MNIST(data.x_train[:n_train], data.y_train[:n_train], data.x_val[:n_val], data.y_val[:n_val],
                 data.x_test[:n_test], data.y_test[:n_test])


# -- speed ------------------------------------------------------------------------------------------
def _weight_gaps(a: Population, b: Population) -> np.ndarray:
    """(N,): the largest |weight difference| of each member between two populations."""
    wa, wb = a.weights(), b.weights()
    return np.max([(wa[k] - wb[k]).abs().flatten(1).max(dim=1).values.cpu().numpy() for k in wa], axis=0)


def run_speed(data: MNIST, configs: int = 32, repeats: int = 3, batch_size: int = 128, momentum: float = 0.9,
              device=None, on_repeat=None) -> dict:
    """Time one epoch of ``configs`` learning rates (log grid ``SPEED_LRS``), sequential against
    vectorized (see the module), on ``data`` (its train and validation splits).
    ``on_repeat(r, order, sequential_s, vectorized_s)`` is called after each repeat (progress).

    Returns ``{"sequential_s": [...], "vectorized_s": [...]}`` (seconds of each repeat),
    ``"orders"`` (which path ran first in each repeat), ``"lrs"`` (configs,), ``"weight_gap"``
    (configs,): each configuration's largest |weight difference| between the two paths (max over
    repeats), and ``"val_acc_gap"``, ``"val_loss_gap"``: the largest differences of the validation
    figures. Raises ValueError for configs < 1 or repeats < 1."""
    for name, value in (("configs", configs), ("repeats", repeats)):
        if not (isinstance(value, int) and value >= 1):
            raise ValueError(f"run_speed: {name}={value!r} must be an integer >= 1")
    dev = pick_device() if device is None else torch.device(device)
    lrs = np.geomspace(*SPEED_LRS, configs)
    models = [mlp(SIZES, seed=i) for i in range(configs)]  # Population copies them: reused by every run

    # 1. warm-up (untimed): kernels, allocator, threads, on both paths
    warm = (data.x_train[:1024], data.y_train[:1024], data.x_val[:256], data.y_val[:256])
    for vectorized in (False, True):
        Population(models[:2], lr=lrs[:2], momentum=momentum, vectorized=vectorized, device=dev).train(
            warm, epochs=1, batch_size=batch_size)

    # 2. alternate the order, so that load changes hit both paths alike
    seconds = {"sequential": [], "vectorized": []}
    orders, gap, acc_gap, loss_gap = [], np.zeros(configs), 0.0, 0.0
    for r in range(repeats):
        order = ("sequential", "vectorized") if r % 2 == 0 else ("vectorized", "sequential")
        pops, records = {}, {}
        for name in order:
            pops[name] = Population(models, lr=lrs, momentum=momentum, vectorized=name == "vectorized", device=dev)
            s, records[name] = timed(dev, pops[name].train, data, epochs=1, batch_size=batch_size)
            seconds[name].append(s)
        orders.append(order)
        # 3. the same training? weights and validation figures of the two paths
        gap = np.maximum(gap, _weight_gaps(pops["sequential"], pops["vectorized"]))
        seq, vec = records["sequential"][-1], records["vectorized"][-1]
        acc_gap = max(acc_gap, float(np.max(np.abs(seq["val_acc"] - vec["val_acc"]))))
        loss_gap = max(loss_gap, float(np.max(np.abs(seq["val_loss"] - vec["val_loss"]))))
        if on_repeat is not None:
            on_repeat(r, order, seconds["sequential"][-1], seconds["vectorized"][-1])
    return {"sequential_s": seconds["sequential"], "vectorized_s": seconds["vectorized"], "orders": orders,
            "lrs": lrs, "weight_gap": gap, "val_acc_gap": acc_gap, "val_loss_gap": loss_gap}


def print_speed(result: dict, dev) -> None:
    """Print the summary of ``run_speed``'s ``result`` (measured on ``dev``) beside the reference."""
    lrs, n, k = result["lrs"], len(result["lrs"]), len(result["sequential_s"])
    seq, vec = statistics.median(result["sequential_s"]), statistics.median(result["vectorized_s"])
    ratio = seq / vec
    per_repeat = [s / v for s, v in zip(result["sequential_s"], result["vectorized_s"])]
    ref_ratio = REFERENCE["sequential_s"] / REFERENCE["vectorized_s"]
    print(f"sequential ({n} fit calls): {seq:.2f} s (median of {k})")
    print(f"vectorized (one stacked model): {vec:.2f} s (median of {k})")
    if dev.type == "cuda":
        verdict = f"goal >= {SPEED_GOAL:.0f}x: {'met' if ratio >= SPEED_GOAL else 'NOT met'}"
    else:
        verdict = f"the goal >= {SPEED_GOAL:.0f}x is for a GPU; on {dev.type} reported only"
    print(f"speed-up sequential / vectorized: {ratio:.2f}x (per repeat {min(per_repeat):.2f}x-{max(per_repeat):.2f}x; "
          f"{verdict})")
    print(f"reference ({REFERENCE['device']}, plain PyTorch, a reference measured elsewhere, 32 configurations, "
          f"50000 images): sequential {REFERENCE['sequential_s']} s, vectorized {REFERENCE['vectorized_s']} s, "
          f"{ref_ratio:.1f}x")
    # the two paths sum in another order (one batched product against N products): float32 rounding,
    # which SGD amplifies in a few configurations; a different batch or update would move them all
    gap = result["weight_gap"]
    worst, median = int(np.argmax(gap)), float(np.median(gap))
    same = median < 1e-4
    print(f"largest |weight difference| sequential vs vectorized, per configuration: median {median:.1e}, "
          f"largest {gap[worst]:.1e} (lr {lrs[worst]:.3g}); {int(np.sum(gap >= 1e-4))} of {n} at 1e-4 or more")
    print(f"largest |validation difference| sequential vs vectorized: accuracy {100 * result['val_acc_gap']:.2f} pp, "
          f"loss {result['val_loss_gap']:.1e}")
    print(f"same batches and updates on both paths: {'yes' if same else 'NO'} (median weight difference {median:.1e} "
          f"{'<' if same else '>='} 1e-4; larger ones are float32 rounding amplified by SGD)")


# -- compare ----------------------------------------------------------------------------------------
def _choose(pop: Population, val_acc: np.ndarray, data: MNIST) -> tuple[int | None, float, float]:
    """The member with the best final validation accuracy, its validation and test accuracy
    (None, NaN, NaN when every member diverged). The test split is read for that member only."""
    if np.all(np.isnan(val_acc)):
        return None, float("nan"), float("nan")
    best = int(np.nanargmax(val_acc))
    _, test_acc = evaluate(pop.member(best), data.x_test, data.y_test)
    return best, float(val_acc[best]), test_acc


def compare_seed(data: MNIST, seed: int, population: int = 8, epochs: int = 8, interval: int = 2,
                 lr_low: float = 1e-3, lr_high: float = 1.0, momentum: float = 0.9, batch_size: int = 128,
                 device=None) -> dict:
    """The four arms (``ARMS``) for one seed; see the module. Returns ``{arm: row}``, each row with
    ``val`` and ``test`` (accuracies of the chosen network), ``member_epochs``, ``seconds``,
    ``member`` (the chosen index) and ``schedule``: the chosen network's lr per epoch, a list of E
    floats (PBT's read from its lineage). The PBT row also holds ``ancestry``: ``(start_step,
    budget, lr, member)`` per interval."""
    _check_compare(1, population, epochs, interval, lr_low, lr_high, momentum, batch_size)
    dev = pick_device() if device is None else torch.device(device)
    n = population
    space = Space({"lr": Float(lr_low, lr_high, log=True)})
    seeds = [seed * n + i for i in range(n)]  # PBT's shuffle seeds; also each member's initial weights

    def make_model(i: int):
        return mlp(SIZES, seed=seeds[i])

    def sync():
        if dev.type == "cuda":
            torch.cuda.synchronize(dev)

    rows = {}
    # 1. PBT: exploit/explore every `interval` epochs
    sync()
    start = time.perf_counter()
    pbt = PopulationBasedTraining(space, population=n, epochs=epochs, interval=interval, batch_size=batch_size,
                                  fixed={"momentum": momentum}, seed=seed)
    history = pbt.run(make_model, data, device=dev, progress=False)
    sync()
    seconds = time.perf_counter() - start
    member, val, test = None, float("nan"), float("nan")
    lineage, schedule = [], [float("nan")] * epochs
    if pbt.best_member_ is not None:
        member = pbt.best_member_
        final = [t for t in history if t.info["round"] == history[-1].info["round"]]
        val = next(t.info["val_acc"] for t in final if t.info["member"] == member)
        _, test = evaluate(pbt.population_.member(member), data.x_test, data.y_test)
        path = ancestry(history, member)
        lineage = [(t.start_step, t.budget, t.params["lr"], t.info["member"]) for t in path]
        schedule = schedule_of(path)
    rows["pbt"] = {"val": val, "test": test, "member_epochs": n * epochs, "seconds": seconds, "member": member,
                   "schedule": schedule, "ancestry": lineage}

    # 2. the other arms: one vectorized population each, learning rates from a schedule
    initial = sorted((t for t in history if t.info["round"] == 0), key=lambda t: t.info["member"])
    grid = np.geomspace(lr_low, lr_high, n)
    arms = {"random": [ConstantLR(t.params["lr"]) for t in initial],
            "constant": [ConstantLR(lr) for lr in grid],
            "cosine": [CosineDecay(lr, t_max=epochs) for lr in grid]}
    for arm, schedules in arms.items():
        sync()
        start = time.perf_counter()
        pop = Population([make_model(i) for i in range(n)], lr=[s(0) for s in schedules], momentum=momentum,
                         seeds=seeds, device=dev)
        records = pop.train(data, epochs=epochs, batch_size=batch_size, schedules=schedules)
        sync()
        seconds = time.perf_counter() - start
        member, val, test = _choose(pop, records[-1]["val_acc"], data)
        schedule = [float("nan")] * epochs if member is None else [schedules[member](t) for t in range(epochs)]
        rows[arm] = {"val": val, "test": test, "member_epochs": n * len(records), "seconds": seconds,
                     "member": member, "schedule": schedule}
    return rows


def run_compare(data: MNIST, seeds=(0, 1, 2), on_seed=None, **options) -> dict:
    """``compare_seed`` for every seed: ``{seed: {arm: row}}``. ``on_seed(seed, rows)`` is called
    after each seed (progress). ``options`` are ``compare_seed``'s; bad ones raise ValueError
    before any training."""
    _check_compare(len(list(seeds)), **options)
    results = {}
    for seed in seeds:
        results[seed] = compare_seed(data, seed, **options)
        if on_seed is not None:
            on_seed(seed, results[seed])
    return results


def _check_compare(n_seeds: int, population: int = 8, epochs: int = 8, interval: int = 2, lr_low: float = 1e-3,
                   lr_high: float = 1.0, momentum: float = 0.9, batch_size: int = 128, device=None) -> None:
    for name, value, low in (("seeds", n_seeds, 1), ("population", population, 2), ("epochs", epochs, 1),
                             ("interval", interval, 1), ("batch_size", batch_size, 1)):
        if not (isinstance(value, int) and value >= low):
            raise ValueError(f"bench population: {name}={value!r} must be an integer >= {low}")
    if not (0 < lr_low < lr_high):
        raise ValueError(f"bench population: lr_low={lr_low!r}, lr_high={lr_high!r} must satisfy 0 < lr_low < lr_high")
    if not (0 <= momentum < 1):
        raise ValueError(f"bench population: momentum={momentum!r} must be in [0, 1)")


def summarize(results: dict) -> dict:
    """Per arm over seeds: ``{arm: {"val": (median, min, max), "test": (...), "member_epochs": median,
    "seconds": median, "seeds": k}}`` (NaNs, from arms whose every member diverged, are left out)."""
    out = {}
    for arm in ARMS:
        rows = [r[arm] for r in results.values()]
        cell = {}
        for key in ("val", "test"):
            values = [r[key] for r in rows if np.isfinite(r[key])]
            cell[key] = (statistics.median(values), min(values), max(values)) if values else (np.nan,) * 3
        cell["member_epochs"] = statistics.median(r["member_epochs"] for r in rows)
        cell["seconds"] = statistics.median(r["seconds"] for r in rows)
        cell["seeds"] = len(rows)
        out[arm] = cell
    return out


def _pct(cell) -> str:
    median, low, high = cell
    return f"{median:.2%} [{low:.2%}, {high:.2%}]"


def print_compare(results: dict) -> None:
    """Print ``run_compare``'s ``results``: the table per arm, PBT's gaps, PBT's schedules per seed."""
    summary = summarize(results)
    print("\nchosen on validation, reported on test: median [min, max] over seeds")
    print(f"{'arm':<9} {'seeds':>5} {'validation accuracy':>26} {'test accuracy':>26} {'member-epochs':>13} "
          f"{'seconds':>8}")
    for arm, s in summary.items():
        print(f"{arm:<9} {s['seeds']:>5} {_pct(s['val']):>26} {_pct(s['test']):>26} {s['member_epochs']:>13.0f} "
              f"{s['seconds']:>8.1f}")
    print("\nPBT's test gap to each arm (median - median; a tie when within the wider min-max range of the two)")
    pbt = summary["pbt"]["test"]
    for arm in ARMS[1:]:
        other = summary[arm]["test"]
        gap, spread = pbt[0] - other[0], max(pbt[2] - pbt[1], other[2] - other[1])
        verdict = "tie" if abs(gap) <= spread else ("PBT better" if gap > 0 else "PBT worse")
        paired = ", ".join(f"{100 * (r['pbt']['test'] - r[arm]['test']):+.2f}" for r in results.values())
        print(f"  pbt - {arm:<9} {100 * gap:+.2f} pp (spread {100 * spread:.2f} pp): {verdict}; "
              f"per seed {paired} pp")
    print("\nPBT's discovered schedules (the chosen network's lineage; epochs first-last: lr of member)")
    for seed, rows in results.items():
        row = rows["pbt"]
        steps = " | ".join(f"{a}-{b}: {lr:.3g} (m{m})" for a, b, lr, m in row["ancestry"]) or "every member diverged"
        print(f"  seed {seed} (member {row['member']}): {steps}")
        print(f"         cosine lr0 {rows['cosine']['schedule'][0]:.3g}, constant lr {rows['constant']['schedule'][0]:.3g}, "
              f"random lr {rows['random']['schedule'][0]:.3g}")


def plot_schedules(results: dict, path) -> None:
    """Save, for every seed, PBT's discovered lr schedule (solid) beside the chosen cosine
    (dashed) and constant (dotted) schedules: lr (log scale) against epochs."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4.5))
    for k, (seed, rows) in enumerate(results.items()):
        color = f"C{k % 10}"
        for arm, style in (("pbt", "-"), ("cosine", "--"), ("constant", ":")):
            lrs = rows[arm]["schedule"]
            ax.stairs(lrs, np.arange(len(lrs) + 1), baseline=None, color=color, linestyle=style,
                      linewidth=2 if arm == "pbt" else 1, label=f"seed {seed}: {arm}")
    ax.set_yscale("log")
    ax.set_xlabel("epoch")
    ax.set_ylabel("learning rate")
    ax.set_title("chosen lr schedules: PBT (solid), cosine (dashed), constant (dotted)")
    ax.legend(fontsize=7, ncol=len(results))
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


# -- command line -----------------------------------------------------------------------------------
def parse(argv):
    p = argparse.ArgumentParser(prog="python -m amsearch_lab.bench population", description=__doc__.split("\n\n")[0])
    p.add_argument("--part", choices=["speed", "compare", "all"], default="all")
    p.add_argument("--quick", action="store_true", help=f"tiny sizes, a smoke test (overrides {', '.join(QUICK)})")
    p.add_argument("--device", default=None, help="cpu or cuda (default: amsearch_lab.pick_device())")
    p.add_argument("--threads", type=int, default=None, help="CPU threads for torch (default: torch's choice)")
    p.add_argument("--batch-size", type=int, default=128)
    p.add_argument("--momentum", type=float, default=0.9, help="SGD momentum of every network (default 0.9)")
    g = p.add_argument_group("speed")
    g.add_argument("--configs", type=int, default=32, help="learning rates trained (default 32)")
    g.add_argument("--speed-train", type=int, default=None, help="training images (default all 50000)")
    g.add_argument("--speed-val", type=int, default=None, help="validation images (default all 10000)")
    g.add_argument("--repeats", type=int, default=3, help="timed runs of each path, alternating (default 3)")
    g = p.add_argument_group("compare")
    g.add_argument("--population", type=int, default=8, help="N, networks per arm (default 8)")
    g.add_argument("--epochs", type=int, default=8, help="E, epochs per network (default 8)")
    g.add_argument("--interval", type=int, default=2, help="PBT: epochs between exploit steps (default 2)")
    g.add_argument("--seeds", type=int, default=3, help="seeds 0..k-1 (default 3)")
    g.add_argument("--n-train", type=int, default=10_000, help="training images (default 10000)")
    g.add_argument("--n-val", type=int, default=None, help="validation images (default all 10000)")
    g.add_argument("--n-test", type=int, default=None, help="test images (default all 10000)")
    g.add_argument("--lr-low", type=float, default=1e-3, help="the lr space's low end (default 0.001)")
    g.add_argument("--lr-high", type=float, default=1.0, help="the lr space's high end (default 1.0)")
    g.add_argument("--plot", default=None, metavar="PATH", help="save the lr schedules to this image")
    args = p.parse_args(argv)
    if args.quick:
        for name, value in QUICK.items():
            setattr(args, name, value)
    limits = {"--speed-train": (args.speed_train, 50_000), "--speed-val": (args.speed_val, 10_000),
              "--n-train": (args.n_train, 50_000), "--n-val": (args.n_val, 10_000), "--n-test": (args.n_test, 10_000)}
    for flag, (value, high) in limits.items():
        if value is not None and not 1 <= value <= high:
            p.error(f"{flag}={value} must be in [1, {high}]")
    if args.threads is not None and args.threads < 1:
        p.error(f"--threads={args.threads} must be >= 1")
    try:
        _check_compare(args.seeds, args.population, args.epochs, args.interval, args.lr_low, args.lr_high,
                       args.momentum, args.batch_size)
        if args.configs < 1 or args.repeats < 1:
            raise ValueError(f"--configs={args.configs} and --repeats={args.repeats} must be >= 1")
    except ValueError as e:
        p.error(str(e))
    return args


def main(argv=None) -> int:
    args = parse(argv)
    if args.threads is not None:
        torch.set_num_threads(args.threads)
    dev = pick_device(args.device)
    sizes = [args.speed_train, args.speed_val, args.n_train, args.n_val, args.n_test]
    data = load_mnist(device=dev, limit=None if None in sizes else max(sizes))
    t0 = time.perf_counter()
    if args.part in ("speed", "all"):
        part = _subset(data, args.speed_train, args.speed_val)
        print(f"speed: {args.configs} learning rates ({SPEED_LRS[0]:g}..{SPEED_LRS[1]:g}, log grid; momentum "
              f"{args.momentum}) of the MLP {'-'.join(map(str, SIZES))}, one epoch of {len(part.x_train)} images "
              f"(batch {args.batch_size}) + validation on {len(part.x_val)}; {describe_device(dev)}")
        print(f"{'repeat':>6}  {'order':<24} {'sequential s':>12} {'vectorized s':>12} {'ratio':>6}", flush=True)

        def row(r, order, seq, vec):
            print(f"{r + 1:>6}  {' then '.join(o[:3] for o in order):<24} {seq:>12.2f} {vec:>12.2f} {seq / vec:>6.2f}",
                  flush=True)

        result = run_speed(part, configs=args.configs, repeats=args.repeats, batch_size=args.batch_size,
                           momentum=args.momentum, device=dev, on_repeat=row)
        print_speed(result, dev)
    if args.part in ("compare", "all"):
        if args.part == "all":
            print()
        part = _subset(data, args.n_train, args.n_val, args.n_test)
        n, e = args.population, args.epochs
        print(f"compare: PBT, random search, constant lr grid, cosine; MLP {'-'.join(map(str, SIZES))} on MNIST "
              f"({len(part.x_train)} train, {len(part.x_val)} validation, {len(part.x_test)} test images); "
              f"N = {n} networks x E = {e} epochs = {n * e} member-epochs per arm; lr in [{args.lr_low:g}, "
              f"{args.lr_high:g}] (log), momentum {args.momentum}, batch {args.batch_size}; PBT interval "
              f"{args.interval}; seeds 0..{args.seeds - 1}; {describe_device(dev)}", flush=True)

        def progress(seed, rows):
            cells = "  ".join(f"{arm} {r['val']:.2%}/{r['test']:.2%} ({r['seconds']:.0f} s)" for arm, r in rows.items())
            print(f"  seed {seed} (val/test): {cells}", flush=True)

        results = run_compare(part, seeds=range(args.seeds), on_seed=progress, population=n, epochs=e,
                              interval=args.interval, lr_low=args.lr_low, lr_high=args.lr_high,
                              momentum=args.momentum, batch_size=args.batch_size, device=dev)
        print_compare(results)
        if args.plot:
            plot_schedules(results, args.plot)
            print(f"schedules saved to {args.plot}")
    print(f"\ntotal {time.perf_counter() - t0:.0f} s")
    return 0
