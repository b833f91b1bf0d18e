"""The cell space: 259 distinct networks out of 343 genotypes, operations that keep the shape,
and parameter and FLOP counts that agree with what torch allocates and what its counter measures."""

import itertools
from collections import Counter

import pytest
import torch
import torch.nn.functional as F
from torch.utils.flop_counter import FlopCounterMode

from amsearch_lab.nas import (
    CELL_OPS,
    EDGES,
    CellArchitecture,
    Supernet,
    build_cell,
    cell_space,
    count_cell_flops,
    count_cell_params,
    enumerate_cells,
)
from amsearch_lab.nas.cell import cell_output, make_op

GENOTYPES = [CellArchitecture(ops) for ops in itertools.product(CELL_OPS, repeat=len(EDGES))]  # all 7^3 = 343


def network_of(arch: CellArchitecture) -> tuple:
    """Our own name for the network a genotype builds: node 1 is dead when an edge into or out of
    it is 'none', and then only o02 matters."""
    o01, o02, o12 = arch.ops
    return ("dead node 1", o02) if "none" in (o01, o12) else arch.ops


def test_enumerate_cells_gives_259_distinct_canonical_networks():
    archs = enumerate_cells()
    assert len(archs) == 7 * (6 * 6 + 1) == 259
    assert len({a.key for a in archs}) == 259 and len(set(archs)) == 259
    assert all(a.canonical() == a for a in archs)
    assert {network_of(a) for a in archs} == {network_of(g) for g in GENOTYPES}  # every network, once each
    assert len({network_of(g) for g in GENOTYPES}) == 259


def test_canonical_is_idempotent_and_merges_exactly_the_genotypes_with_a_dead_node_1():
    for g in GENOTYPES:
        c = g.canonical()
        assert c.canonical() == c and c.key == g.key
        dead = "none" in (g.ops[0], g.ops[2])
        assert c.ops == (("none", g.ops[1], "none") if dead else g.ops), g
    for g, h in itertools.combinations(GENOTYPES, 2):
        assert (g.key == h.key) == (network_of(g) == network_of(h)), (g, h)
    # 252 live genotypes are alone; each o02 merges the 7 + 7 - 1 = 13 genotypes with a dead node 1
    assert Counter(Counter(g.key for g in GENOTYPES).values()) == {1: 252, 13: 7}


def test_merged_genotypes_compute_the_same_function():
    """A genotype and its canonical one give the same logits on the same (supernet) weights: the
    dead edges contribute exact zeros (training-mode batch norm of a zero input is zero)."""
    supernet = Supernet(channels=2, seed=0).train()
    x = torch.rand(6, 1, 28, 28, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        for g in GENOTYPES:
            if g.canonical() != g:
                assert torch.equal(supernet(x, arch=g), supernet(x, arch=g.canonical())), g


def test_params_round_trip_and_the_space_matches_the_genotypes():
    arch = CellArchitecture(("conv3x3", "skip", "avgpool"))
    assert arch.to_params() == {"e01": "conv3x3", "e02": "skip", "e12": "avgpool"}
    assert CellArchitecture.from_params(arch.to_params()) == arch
    assert arch.key == "e01=conv3x3,e02=skip,e12=avgpool"
    assert CellArchitecture(("conv3x3", "skip", "none")).key == "e01=none,e02=skip,e12=none"
    grid = [CellArchitecture.from_params(p) for p in cell_space().grid()]
    assert len(grid) == 343 and set(grid) == set(GENOTYPES)
    assert cell_space(["skip", "conv1x1"]).dimensions["e12"].choices == ["skip", "conv1x1"]


@pytest.mark.parametrize("call, match", [
    (lambda: CellArchitecture(("skip", "skip")), r"ops=\('skip', 'skip'\)"),
    (lambda: CellArchitecture(("skip", "skip", "conv7x7")), "conv7x7"),
    (lambda: CellArchitecture.from_params({"e01": "skip", "e02": "skip"}), r"\['e12'\]"),
    (lambda: cell_space([]), r"ops=\[\]"),
    (lambda: cell_space(["skip", "conv7x7"]), "conv7x7"),
    (lambda: make_op("conv7x7"), "op='conv7x7'"),
    (lambda: build_cell(CellArchitecture(("skip",) * 3), channels=0), "channels=0"),
    (lambda: build_cell(CellArchitecture(("skip",) * 3), channels=2.5), "channels=2.5"),
])
def test_bad_input_raises_value_error_naming_the_value(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_param_count_matches_torch_for_many_genotypes():
    # hand count at C = 16 for conv3x3, skip, conv5x5: stem 9 * 16, two cells of (9 + 25) * 16^2, head 16 * 10 + 10
    assert count_cell_params(CellArchitecture(("conv3x3", "skip", "conv5x5"))) == 144 + 2 * 34 * 256 + 170
    for i, g in enumerate(GENOTYPES[::5]):  # 69 genotypes, canonical or not
        channels = (2, 3, 16)[i % 3]
        model = build_cell(g, seed=0, channels=channels)
        assert count_cell_params(g, channels) == sum(p.numel() for p in model.parameters()), (g, channels)


@pytest.mark.parametrize("channels", [4, 16])
def test_flops_match_torch_flop_counter(channels):
    archs = [CellArchitecture(ops) for ops in [("none",) * 3, ("conv1x1", "conv3x3", "conv5x5"), ("none", "skip", "conv5x5"),
                                               ("conv3x3", "maxpool", "none"), ("avgpool", "conv5x5", "conv5x5")]]
    x = torch.rand(1, 1, 28, 28)
    for arch in archs:
        model = build_cell(arch, channels=channels).eval()
        with FlopCounterMode(display=False) as counter, torch.no_grad():
            model(x)
        assert counter.get_total_flops() == count_cell_flops(arch, channels), arch


def test_cell_output_is_the_cells_graph():
    x0 = torch.ones(1, 1, 2, 2)
    scale = {"e01": 2.0, "e02": 3.0, "e12": 5.0}
    out = cell_output(x0, lambda e, x: scale[e] * x)  # x1 = 2 x0, x2 = 3 x0 + 5 x1
    assert torch.equal(out, torch.full_like(x0, 3.0 + 5.0 * 2.0))


@pytest.mark.parametrize("op", CELL_OPS)
def test_every_operation_keeps_the_shape(op):
    for channels, side in [(3, 14), (3, 7), (5, 1)]:
        module = make_op(op, channels).train()
        assert module(torch.rand(2, channels, side, side)).shape == (2, channels, side, side), (op, channels, side)


def test_none_skip_and_pools_compute_what_their_names_say():
    x = torch.randn(2, 3, 6, 6, generator=torch.Generator().manual_seed(0))
    assert torch.equal(make_op("none", 3)(x), torch.zeros_like(x))
    assert torch.equal(make_op("skip", 3)(x), x)
    padded = F.pad(x, (1, 1, 1, 1), value=-torch.inf)
    assert torch.equal(make_op("maxpool", 3)(x), padded.unfold(2, 3, 1).unfold(3, 3, 1).amax(dim=(-1, -2)))
    # the average leaves the padding out: a constant image stays constant, corners included
    assert torch.allclose(make_op("avgpool", 3)(torch.ones(1, 3, 5, 5)), torch.ones(1, 3, 5, 5))
    assert torch.allclose(make_op("avgpool", 3)(x)[:, :, 0, 0], x[:, :, :2, :2].mean(dim=(-1, -2)))
    assert sum(p.numel() for p in make_op("conv5x5", 3).parameters()) == 25 * 9  # no bias, no BN scale


@pytest.mark.parametrize("mode", ["train", "eval"])
def test_the_all_none_network_ignores_its_input(mode):
    model = build_cell(CellArchitecture(("none",) * 3), channels=4).train(mode == "train")
    a, b = torch.rand(5, 1, 28, 28), 10 * torch.randn(5, 1, 28, 28)
    with torch.no_grad():
        out_a, out_b = model(a), model(b)
    linear = model.body[-1][-1]
    assert torch.equal(out_a, out_b)
    assert torch.allclose(out_a, linear.bias.expand(5, 10))  # zero features: the logits are the head's bias


def test_build_cell_output_shape_and_seed():
    arch = CellArchitecture(("conv3x3", "skip", "conv1x1"))
    a, b, c = build_cell(arch, seed=1, channels=4), build_cell(arch, seed=1, channels=4), build_cell(arch, seed=2, channels=4)
    assert a(torch.rand(3, 1, 28, 28)).shape == (3, 10)
    assert all(torch.equal(p, q) for p, q in zip(a.parameters(), b.parameters()))
    assert not all(torch.equal(p, q) for p, q in zip(a.parameters(), c.parameters()))
