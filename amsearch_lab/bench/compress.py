"""``python -m amsearch_lab.bench compress``: every compression technique on LeNet-300-100.

The dense 784-300-100-10 network is trained once (``trained_lenet``: 10 epochs, cached in
``runs/``); every row starts from it, and it stays unchanged (each compression wrapper returns a
new model). Rows that remove weights or neurons are fine-tuned for ``--ft-epochs`` epochs (the
same budget for importance and for random cuts; iterative pruning: one epoch per round);
quantization rows are post-training unless marked QAT; float16/bfloat16 rows store every
weight in that format and compute in float32 ("weights") or in the format ("all"). Printed per
row: test accuracy, its change from dense in points, parameters, non-zeros, bytes stored densely,
bytes stored as sparse CSR / packed bits, and the median latency of one forward pass on a fixed
batch. Our int8 rows *emulate* integer arithmetic with general tensor ops, and our pruned rows
multiply dense weights by masks, so their latency says nothing about what int8 or sparse kernels
would give; a second table therefore times PyTorch's own int8 CPU kernels (``torch_int8_model``,
a reference, not a technique of the library) against float32 and our int8 path on the CPU.
Then the benchmark's targets, each marked met or NOT met.
"""

from __future__ import annotations

import argparse
import copy
import time

import torch

from ..compress import (
    fine_tune,
    global_magnitude_prune,
    global_random_cut,
    iterative_prune,
    merge_neurons,
    prepare_qat,
    prune_neurons,
    quantize_model,
    random_neurons,
    shrink,
    split_model,
    summary,
    trained_lenet,
)
from ..compress.measure import accuracy, latency
from ..compress.quantized import cast_model, torch_int8_model
from ..datasets import load_mnist
from ..device import describe_device, pick_device

SPARSITIES = (0.9, 0.95, 0.5, 0.98)


def parse(argv):
    p = argparse.ArgumentParser(prog="python -m amsearch_lab.bench compress", description=__doc__.split("\n\n")[0])
    p.add_argument("--epochs", type=int, default=10, help="epochs of the dense model")
    p.add_argument("--ft-epochs", type=int, default=2, help="fine-tuning epochs after each cut")
    p.add_argument("--ft-lr", type=float, default=0.05, help="initial learning rate of each fine-tune (cosine to 0)")
    p.add_argument("--device", default=None, help="cpu or cuda (default: amsearch_lab.pick_device())")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--latency-batch", type=int, default=1000)
    p.add_argument("--quick", action="store_true", help="10,000 images, 2 + 1 epochs: a smoke test, no targets")
    return p.parse_args(argv)


def main(argv=None) -> int:
    args = parse(argv)
    if args.quick:
        args.epochs, args.ft_epochs = min(args.epochs, 2), 1
    dev = pick_device(args.device)
    data = load_mnist(device=dev, limit=10_000 if args.quick else None)
    start = time.perf_counter()
    dense = trained_lenet(data, epochs=args.epochs, seed=args.seed, device=dev)
    print(f"LeNet-300-100 on MNIST ({len(data.x_train)} train / {len(data.x_test)} test), {describe_device(dev)}; "
          f"dense model: {args.epochs} epochs ({time.perf_counter() - start:.0f} s, 0 if cached in runs/); "
          f"fine-tuning: {args.ft_epochs} epochs; latency: median of 30 on a batch of {args.latency_batch}")
    x_lat = data.x_test[:args.latency_batch]
    rows = []

    def row(technique, setting, model):
        r = {"technique": technique, "setting": setting, **summary(model, data.x_test, data.y_test, x_lat)}
        rows.append(r)
        print(f"{technique:<24} {setting:<22} {100 * r['accuracy']:>7.2f} "
              f"{100 * (r['accuracy'] - rows[0]['accuracy']):>+6.2f} {r['params']:>8,} {r['nonzero']:>8,} "
              f"{r['bytes']:>10,} {r['sparse_bytes']:>10,} {r['latency_ms']:>8.2f}", flush=True)
        return r

    def tuned(model, seed=args.seed):
        fine_tune(model, data, epochs=args.ft_epochs, lr=args.ft_lr, seed=seed, device=dev)
        return model

    print(f"\n{'technique':<24} {'setting':<22} {'acc %':>7} {'Δ pts':>6} {'params':>8} {'non-zero':>8} "
          f"{'bytes':>10} {'CSR/packed':>10} {'lat ms':>8}")
    row("dense", "float32", dense)

    # 1. quantization after training: integer PTQ, weight-only bit widths (no training: cheap, first)
    calib = data.x_train[:2000]
    int8, _ = quantize_model(dense, calib, bits=8, act_bits=8)
    row("PTQ int8 (w8 a8)", "per-channel, integer", int8)
    for bits in (8, 6, 4, 3, 2):
        quantized, _ = quantize_model(dense, bits=bits, act_bits=None, per_channel=False)
        row("weights only", f"{bits}-bit per-tensor", quantized)
    for bits in (4, 3, 2):
        quantized, _ = quantize_model(dense, bits=bits, act_bits=None)
        row("weights only", f"{bits}-bit per-channel", quantized)
    for dtype in (torch.float16, torch.bfloat16):
        for activations in (False, True):
            low, _ = cast_model(dense, dtype, activations)
            row(f"{str(dtype)[6:]} ({'all' if activations else 'weights'})",
                "float32 compute" if not activations else f"{str(dtype)[6:]} compute", low)

    # 2. structured: 50 % of the hidden neurons removed, the network really shrinks
    for method in ("l1", "activation", "taylor"):
        small, _ = prune_neurons(dense, 0.5, method, data.x_val[:2000], data.y_val[:2000])
        row(f"neurons ({method})", "50% + ft", tuned(small))
    keep = {i: random_neurons(dense[i].out_features, 0.5, seed=args.seed + i) for i in (1, 3)}
    row("neurons (random cut)", "50% + ft", tuned(shrink(dense, keep)))

    # 3. unstructured: importance (magnitude) vs random cut, one shot + fine-tune
    for s in SPARSITIES:
        pruned, _ = global_magnitude_prune(dense, s)
        row("magnitude (global)", f"{s:.0%} + ft", tuned(pruned))
        cut, _ = global_random_cut(dense, s, seed=args.seed)
        row("random cut", f"{s:.0%} + ft", tuned(cut))

    # 4. iterative prune -> fine-tune (Han et al. 2015), one epoch per round
    for final, steps in ((0.92, 3), (0.98, 4)):
        pruned, _ = iterative_prune(dense, final, steps, lambda m: fine_tune(m, data, epochs=1, lr=args.ft_lr, device=dev))
        row("magnitude iterative", f"{final:.0%} in {steps} rounds", pruned)

    # 5. merging similar neurons, low-rank splitting
    merged, pairs = merge_neurons(dense, 0.4)
    row("merge", f"cos>=0.4 ({sum(len(p) for p in pairs.values())} pairs)", merged)
    row("merge", "cos>=0.4 + ft", tuned(merged))
    for rank in (64, 32):
        split, _ = split_model(dense, rank=rank)
        row("low-rank SVD", f"rank {rank}", split)
        row("low-rank SVD", f"rank {rank} + ft", tuned(split))

    # 6. quantization-aware training
    for bits in (2,):
        qat, _ = prepare_qat(dense, bits=bits)
        quantized, _ = quantize_model(tuned(qat), bits=bits, act_bits=None)
        row("QAT (STE)", f"{bits}-bit per-channel + ft", quantized)

    int8_kernels(dense, int8, data, calib, args.latency_batch)
    if not args.quick:
        targets(rows)
    print(f"\ntotal {time.perf_counter() - start:.0f} s")
    return 0


def targets(rows):
    """Print each target of the benchmark with the measured figure and whether it is met."""
    def get(technique, setting):
        return next(r for r in rows if r["technique"] == technique and r["setting"] == setting)

    dense = rows[0]

    def drop(r):
        return 100 * (dense["accuracy"] - r["accuracy"])

    s90, s95 = get("magnitude (global)", "90% + ft"), get("magnitude (global)", "95% + ft")
    it92 = get("magnitude iterative", "92% in 3 rounds")
    above = all(get("magnitude (global)", f"{s:.0%} + ft")["accuracy"] > get("random cut", f"{s:.0%} + ft")["accuracy"]
                for s in SPARSITIES)
    int8, w4 = get("PTQ int8 (w8 a8)", "per-channel, integer"), get("weights only", "4-bit per-channel")
    st = get("neurons (l1)", "50% + ft")
    checks = [
        (f"90% sparsity: {drop(s90):.2f} points below dense", drop(s90) <= 0.3, "<= 0.3"),
        (f"95% sparsity: {drop(s95):.2f} points below dense", drop(s95) <= 1.0, "<= 1.0"),
        (f"iterative 92%: {drop(it92):.2f} points below dense", drop(it92) <= 0.0, "aim: no loss"),
        ("magnitude above random cut at every sparsity", above, "all"),
        (f"int8: {drop(int8):.2f} points below dense", drop(int8) <= 0.2, "<= 0.2"),
        (f"4-bit: {drop(w4):.2f} points below dense", drop(w4) <= 0.5, "<= 0.5"),
        (f"structured 50%: {drop(st):.2f} points below dense", drop(st) <= 0.5, "<= 0.5"),
        (f"structured 50%: latency {st['latency_ms']:.2f} ms vs dense {dense['latency_ms']:.2f} ms",
         st["latency_ms"] < dense["latency_ms"], "faster"),
    ]
    print("\ntargets")
    for text, met, goal in checks:
        print(f"  {text:<62} target {goal:<13} {'met' if met else 'NOT met'}")


def int8_kernels(dense, int8, data, calib, batch):
    """Reference table: PyTorch's int8 CPU kernels against float32 and our emulated int8 on the CPU."""
    cpu = torch.device("cpu")
    dense_cpu, ours_cpu = copy.deepcopy(dense).to(cpu), copy.deepcopy(int8).to(cpu)
    x, y, x_lat = data.x_test.to(cpu), data.y_test.to(cpu), data.x_test[:batch].to(cpu)
    models = {"float32": dense_cpu, "our int8 (emulated)": ours_cpu}
    for engine in ("x86", "qnnpack"):  # qnnpack: the ARM/mobile kernels, static only (its dynamic path warns)
        if engine in torch.backends.quantized.supported_engines:
            models[f"torch.ao static ({engine})"] = torch_int8_model(dense_cpu, calib.to(cpu), engine)[0]
    if "x86" in torch.backends.quantized.supported_engines:
        models["torch.ao dynamic (x86)"] = torch_int8_model(dense_cpu, None, "x86")[0]
    print(f"\nint8 kernels on the CPU ({torch.get_num_threads()} threads), batch of {batch}; "
          "torch.ao rows are PyTorch's kernels, a reference")
    base = None
    for name, model in models.items():
        ms = 1000 * latency(model, x_lat)
        base = ms if base is None else base
        print(f"  {name:<28} accuracy {100 * accuracy(model, x, y):6.2f} %   {ms:8.2f} ms   "
              f"{ms / base:5.2f}x float32's time")
