"""The compress benchmark: every row runs end to end on a small slice of MNIST (a smoke run; the
figures come from the full command), and the dense model every row starts from stays unchanged."""

import re

import torch

from amsearch_lab import load_mnist
from amsearch_lab.bench import compress as bench
from amsearch_lab.compress import trained_lenet

torch.set_num_threads(1)


def test_every_row_runs_and_leaves_the_dense_model_unchanged(monkeypatch, capsys):
    dense = {}

    def small_mnist(device=None, limit=None):
        return load_mnist(device=device, limit=300)

    def untouched_lenet(data, **kwargs):  # trained for 1 epoch, not cached; kept to check it afterwards
        dense["model"] = trained_lenet(data, **{**kwargs, "epochs": 1}, cache=False)
        dense["state"] = {k: v.clone() for k, v in dense["model"].state_dict().items()}
        return dense["model"]

    monkeypatch.setattr(bench, "load_mnist", small_mnist)
    monkeypatch.setattr(bench, "trained_lenet", untouched_lenet)
    assert bench.main(["--quick", "--device", "cpu", "--latency-batch", "10"]) == 0
    out = capsys.readouterr().out
    rows = re.findall(r"^(\S.{23}) (\S.{21}) +(\d+\.\d\d) +[+-]\d+\.\d\d ", out, flags=re.M)
    assert len(rows) == 35 and rows[0][0].strip() == "dense"
    assert sum(1 for technique, _, _ in rows if technique.strip() == "magnitude (global)") == len(bench.SPARSITIES)
    assert sum(1 for technique, _, _ in rows if technique.strip().startswith(("float16", "bfloat16"))) == 4
    kernels = re.findall(r"^  (\S.{27}) accuracy +(\d+\.\d\d) % +(\d+\.\d\d) ms", out, flags=re.M)
    assert [name.strip() for name, _, _ in kernels][:2] == ["float32", "our int8 (emulated)"]
    assert any(name.startswith("torch.ao static") for name, _, _ in kernels)
    state = dense["model"].state_dict()
    assert list(state) == list(dense["state"])
    assert all(torch.equal(state[k], v) for k, v in dense["state"].items())
