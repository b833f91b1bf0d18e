"""The supernet: a path computes what its stand-alone network computes, the extracted network
is a copy with build_cell's structure, and a one-hot mixture is that path."""

import copy

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from amsearch_lab.nas import CELL_OPS, EDGES, CellArchitecture, MixedEdge, Supernet, build_cell, enumerate_cells
from amsearch_lab.nas.oneshot import sample_path

CHANNELS = 4
ARCHS = enumerate_cells()[::13] + [CellArchitecture(ops) for ops in [
    ("conv3x3", "conv5x5", "conv1x1"), ("none", "skip", "conv3x3"), ("conv5x5", "avgpool", "none"),
    ("maxpool", "none", "conv3x3")]]  # 20 canonical networks and 4 genotypes that are not


def one_hot(arch: CellArchitecture, ops=CELL_OPS, dtype=torch.float32) -> torch.Tensor:
    """Mixture weights (n_edges, n_ops) with a 1 at each edge's operation of ``arch``."""
    w = torch.zeros(len(EDGES), len(ops), dtype=dtype)
    for e, op in enumerate(arch.ops):
        w[e, list(ops).index(op)] = 1.0
    return w


@pytest.fixture(scope="module")
def images():
    return torch.rand(16, 1, 28, 28, generator=torch.Generator().manual_seed(1))


@pytest.fixture(scope="module")
def trained(images):
    """A supernet after 12 SGD steps on random paths and mixtures: its weights and batch-norm
    running statistics are far from their initial values."""
    supernet = Supernet(channels=CHANNELS, seed=0).train()
    y = torch.arange(len(images)) % 10
    optimizer = torch.optim.SGD(supernet.parameters(), lr=0.1, momentum=0.9)
    rng = np.random.default_rng(0)
    for step in range(12):
        optimizer.zero_grad()
        if step % 3 == 2:
            out = supernet(images, weights=torch.softmax(torch.randn(len(EDGES), len(CELL_OPS)), -1))
        else:
            out = supernet(images, arch=sample_path(rng, CELL_OPS))
        F.cross_entropy(out, y).backward()
        optimizer.step()
    return supernet


def test_the_fixture_is_trained(trained):
    fresh = Supernet(channels=CHANNELS, seed=0)
    conv = trained.cells[0]["e02"].ops["conv3x3"]
    assert not torch.equal(conv[1].weight, fresh.cells[0]["e02"].ops["conv3x3"][1].weight)
    assert (conv[2].running_mean.abs() > 1e-3).all()


@pytest.mark.parametrize("mode", ["train", "eval"])
def test_subnet_computes_what_the_path_computes(trained, images, mode):
    supernet = copy.deepcopy(trained).train(mode == "train")
    for arch in ARCHS:
        subnet = supernet.subnet(arch).train(mode == "train")
        with torch.no_grad():
            expected = supernet(images, arch=arch)
            got = subnet(images)
        assert (got - expected).abs().max() <= 1e-6, (arch, mode)
        if mode == "train":  # both updated their (separate) running statistics the same way
            for cell, sub_cell in zip(supernet.cells, (subnet.body[1], subnet.body[3])):
                for e, op in zip(EDGES, arch.ops):
                    for a, b in zip(cell[e].ops[op].buffers(), sub_cell.edges[e].buffers()):
                        assert torch.allclose(a.float(), b.float(), atol=1e-6), (arch, e, op)


def test_subnet_is_a_copy(trained, images):
    supernet = copy.deepcopy(trained)
    before = {k: v.clone() for k, v in supernet.state_dict().items()}
    arch = CellArchitecture(("conv3x3", "skip", "conv5x5"))
    subnet = supernet.subnet(arch).train()
    optimizer = torch.optim.SGD(subnet.parameters(), lr=0.5)
    for _ in range(2):  # moves its weights and its batch-norm statistics
        optimizer.zero_grad()
        subnet(images).sum().backward()
        optimizer.step()
    assert not torch.equal(subnet.body[1].edges["e01"][1].weight, supernet.cells[0]["e01"].ops["conv3x3"][1].weight)
    after = supernet.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before)


@pytest.mark.parametrize("arch", ARCHS[::3], ids=lambda a: a.key)
def test_subnet_has_build_cells_structure_and_its_weights_load_there(trained, images, arch):
    subnet, stand_alone = trained.subnet(arch), build_cell(arch, seed=5, channels=CHANNELS)
    assert [(n, p.shape) for n, p in subnet.named_parameters()] == [(n, p.shape) for n, p in stand_alone.named_parameters()]
    assert [(k, v.shape) for k, v in subnet.state_dict().items()] == [(k, v.shape) for k, v in stand_alone.state_dict().items()]
    stand_alone.load_state_dict(subnet.state_dict())
    supernet = copy.deepcopy(trained).eval()
    with torch.no_grad():
        assert (stand_alone.eval()(images) - supernet(images, arch=arch)).abs().max() <= 1e-6


@pytest.mark.parametrize("mode", ["train", "eval"])
def test_one_hot_mixture_equals_the_path(trained, images, mode):
    supernet = copy.deepcopy(trained).train(mode == "train")
    for arch in ARCHS:
        with torch.no_grad():
            mixture, path = supernet(images, weights=one_hot(arch)), supernet(images, arch=arch)
        assert (mixture - path).abs().max() <= 1e-6, (arch, mode)


def test_mixed_edge_is_the_weighted_sum_of_its_operations():
    edge = MixedEdge(channels=3, ops=CELL_OPS).train()
    x = torch.randn(4, 3, 7, 7, generator=torch.Generator().manual_seed(0))
    w = torch.softmax(torch.randn(len(CELL_OPS), generator=torch.Generator().manual_seed(1)), 0)
    expected = sum(w[k] * make(x) for k, make in enumerate(edge.ops[op] for op in CELL_OPS))
    assert torch.allclose(edge(x, w), expected, atol=1e-6)
    assert torch.equal(edge(x, "conv3x3"), edge.ops["conv3x3"](x))


def test_a_supernet_of_some_operations(images):
    ops = ("skip", "conv3x3", "maxpool")
    supernet = Supernet(channels=2, ops=ops, seed=0)
    assert supernet.op_names == ops
    assert all(tuple(cell[e].ops) == ops for cell in supernet.cells for e in EDGES)
    # stem 9 C, two cells of three conv3x3 edges (9 C^2 each), head 10 (C + 1)
    assert sum(p.numel() for p in supernet.parameters()) == 9 * 2 + 2 * 3 * 9 * 4 + 10 * 3
    arch = CellArchitecture(("conv3x3", "maxpool", "skip"))
    with torch.no_grad():
        assert (supernet(images, weights=one_hot(arch, ops)) - supernet(images, arch=arch)).abs().max() <= 1e-6
        assert supernet(images, weights=torch.full((3, 3), 1 / 3)).shape == (16, 10)
    with pytest.raises(ValueError, match="conv5x5"):
        supernet(images, arch=CellArchitecture(("conv5x5", "skip", "skip")))
    with pytest.raises(ValueError, match="none"):
        supernet.subnet(CellArchitecture(("none", "skip", "skip")))


def test_same_seed_same_weights():
    a, b, c = Supernet(channels=2, seed=3), Supernet(channels=2, seed=3), Supernet(channels=2, seed=4)
    assert all(torch.equal(p, q) for p, q in zip(a.parameters(), b.parameters()))
    assert not all(torch.equal(p, q) for p, q in zip(a.parameters(), c.parameters()))


@pytest.mark.parametrize("kwargs, match", [
    ({}, "exactly one of arch"),
    ({"arch": CellArchitecture(("skip",) * 3), "weights": torch.ones(3, 7) / 7}, "exactly one of arch"),
    ({"weights": torch.ones(3, 6) / 6}, r"\(3, 6\)"),
    ({"weights": torch.ones(2, 7) / 7}, r"\(2, 7\)"),
    ({"weights": torch.ones(21) / 7}, r"\(21,\)"),
])
def test_forward_rejects_bad_arguments(images, kwargs, match):
    with pytest.raises(ValueError, match=match):
        Supernet(channels=2)(images, **kwargs)


@pytest.mark.parametrize("ops", [(), ("skip", "conv7x7")])
def test_bad_operations_are_rejected(ops):
    with pytest.raises(ValueError, match="ops="):
        Supernet(channels=2, ops=ops)


@pytest.mark.parametrize("kwargs, match", [({"ops": ("skip", "skip")}, "repeats"), ({"channels": 0}, "channels"),
                                           ({"channels": 2.5}, "channels")])
def test_supernet_rejects_repeated_ops_and_bad_channels(kwargs, match):
    with pytest.raises(ValueError, match=match):
        Supernet(**kwargs)


def test_a_genotype_given_as_a_list_is_the_tuple_genotype():
    assert CellArchitecture(["skip", "none", "conv3x3"]) == CellArchitecture(("skip", "none", "conv3x3"))
    assert len({CellArchitecture(["skip"] * 3), CellArchitecture(("skip",) * 3)}) == 1


def test_slicing_a_cell_network_gives_its_layers():
    net = build_cell(CellArchitecture(("conv3x3", "skip", "avgpool")), seed=0).body
    assert list(net[1::2]) == [net[1], net[3]]
