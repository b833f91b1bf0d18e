"""The builder: every network of the space runs, with the parameter count torch allocates and
the FLOPs torch's own counter measures."""

import numpy as np
import torch
from torch.utils.flop_counter import FlopCounterMode

from amsearch_lab.nas import Architecture, build, count_flops, count_params, enumerate_architectures, nas_space, summary
from amsearch_lab.nas.space import check


def test_every_sampled_valid_genome_builds_and_has_the_right_output_shape():
    space, rng = nas_space(), np.random.default_rng(0)
    x = torch.rand(2, 1, 28, 28)
    n_valid = 0
    for _ in range(150):
        arch = Architecture.from_params(space.sample(rng))
        if check(arch) is not None:
            continue
        model = build(arch, seed=0)
        with torch.no_grad():
            assert model(x).shape == (2, 10), arch
        assert sum(p.numel() for p in model.parameters()) == count_params(arch), arch
        n_valid += 1
    assert n_valid > 100


def test_flops_match_torch_flop_counter():
    archs = enumerate_architectures()
    x = torch.rand(1, 1, 28, 28)
    for arch in archs[::250]:  # the counter costs ~10 s on first use, then ~0.5 s per network
        model = build(arch).eval()
        with FlopCounterMode(display=False) as counter, torch.no_grad():
            model(x)
        assert counter.get_total_flops() == count_flops(arch), arch


def test_same_seed_same_weights():
    arch = Architecture(("conv5x5", "maxpool", "conv3x3", "identity"), 8, 64)
    a, b, c = build(arch, seed=1), build(arch, seed=1), build(arch, seed=2)
    assert all(torch.equal(p, q) for p, q in zip(a.parameters(), b.parameters()))
    assert not all(torch.equal(p, q) for p, q in zip(a.parameters(), c.parameters()))


def test_summary_lists_layers_and_adds_up():
    arch = Architecture(("conv3x3", "identity", "maxpool", "conv5x5"), 16, 64)
    rows = summary(arch)
    assert [r["layer"] for r in rows] == ["conv3x3", "maxpool", "conv5x5", "linear 1296 -> 64", "linear 64 -> 10"]
    assert rows[2]["output"] == "16 x 9 x 9"
    assert sum(r["params"] for r in rows) == count_params(arch)


def test_cpu_forward_stays_in_float32():
    model = build(Architecture(("conv3x3", "maxpool", "identity", "identity"), 8, 0))
    assert model(torch.rand(2, 1, 28, 28)).dtype == torch.float32
