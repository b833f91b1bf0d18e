"""The nas benchmark: its table means match a direct computation, and every part runs end to end
on a small slice of MNIST (a smoke run; the figures come from the full command)."""

import re

import numpy as np
import torch

from amsearch_lab import load_mnist
from amsearch_lab.bench import nas
from amsearch_lab.nas import Recipe, compare_strategies, evaluate_architecture, load_table, sample_architectures

torch.set_num_threads(1)


def test_summary_reads_the_checkpoints():
    curves = compare_strategies(load_table(), ["random"], 30, range(3), metric="test_acc")
    row = nas.summarize(curves, (10, 30))[0]
    assert row["seeds"] == 3
    assert row["mean@10"] == np.mean(curves["random"][:, 9]) and row["std@30"] == np.std(curves["random"][:, 29])


def test_every_part_runs_on_a_small_slice(capsys):
    argv = ["--seeds", "2", "--budget", "25", "--strategies", "random,evolution", "--speed", "2", "--top-k", "2",
            "--final-width", "4", "--full-epochs", "1", "--limit", "200", "--device", "cpu"]
    assert nas.main(argv) == 0
    out = capsys.readouterr().out
    assert re.search(r"2 random architectures in [\d.]+ s = [\d.]+ candidates/s", out)
    assert re.search(r"amsearch_lab [\d.]+ s per candidate, plain PyTorch loop [\d.]+ s per candidate", out)
    assert re.search(r"evolution +0\.\d{4} ± 0\.\d{4}", out)
    assert out.count("<- chosen by validation") == 1
    assert re.search(r"final network \S+/w4/h\d+: test accuracy 0\.\d{4} on 200 test images", out)


def test_the_plain_reference_does_the_same_work():
    """Same network, data and recipe: the plain loop learns as well as ours (batch order differs)."""
    data = load_mnist(device="cpu", limit=600)
    recipe = Recipe("t", n_train=600, n_val=600, n_test=600, epochs=2, batch_size=50, lr=0.1)
    arch = sample_architectures(1, seed=3)[0]
    val, test = nas.plain_evaluate(arch, data, recipe, device="cpu")
    ours = evaluate_architecture(arch, data, recipe, device="cpu")
    assert abs(val - ours["val_acc"]) < 0.1 and abs(test - ours["test_acc"]) < 0.1
