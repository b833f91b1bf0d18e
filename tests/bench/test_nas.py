"""The nas benchmark: its table means match a direct computation, and every part runs end to end
on a small slice of MNIST (a smoke run; the figures come from the full command)."""

import re

import numpy as np
import torch

from amsearch_lab.bench import nas
from amsearch_lab.nas import compare_strategies, load_table

torch.set_num_threads(1)


def test_summary_reads_the_checkpoints():
    curves = compare_strategies(load_table(), ["random"], 30, range(3))
    row = nas.summarize(curves, (10, 30))[0]
    assert row["seeds"] == 3
    assert row["mean@10"] == np.mean(curves["random"][:, 9]) and row["std@30"] == np.std(curves["random"][:, 29])


def test_every_part_runs_on_a_small_slice(capsys):
    argv = ["--seeds", "2", "--budget", "25", "--strategies", "random,evolution", "--speed", "2", "--top-k", "2",
            "--final-width", "4", "--full-epochs", "1", "--limit", "200", "--device", "cpu"]
    assert nas.main(argv) == 0
    out = capsys.readouterr().out
    assert re.search(r"2 random architectures in [\d.]+ s = [\d.]+ candidates/s", out)
    assert re.search(r"evolution +0\.\d{4} ± 0\.\d{4}", out)
    assert out.count("<- chosen by validation") == 1
    assert re.search(r"final network \S+/w4/h\d+: test accuracy 0\.\d{4} on 200 test images", out)
