"""The genome space: its size, canonical networks, and the validity rule against the layers
torch itself builds."""

import pytest
import torch
from torch import nn

from amsearch_lab.nas import (
    MAX_PARAMS,
    Architecture,
    InvalidArchitecture,
    build,
    check,
    count_params,
    enumerate_architectures,
    nas_space,
    sample_architectures,
    validate,
)


def test_space_is_a_space_of_choices_with_every_genome():
    space = nas_space()
    assert space.names == ["slot1", "slot2", "slot3", "slot4", "width", "head"]
    assert len(space.grid()) == 5 ** 4 * 2 * 2


def test_genome_round_trip():
    params = {"slot1": "conv3x3", "slot2": "identity", "slot3": "maxpool", "slot4": "conv5x5", "width": 16, "head": 64}
    assert Architecture.from_params(params).to_params() == params


def test_equal_networks_share_a_key_and_build_the_same_function():
    a = Architecture(("identity", "conv3x3", "identity", "maxpool"), 8, 0)
    b = Architecture(("conv3x3", "maxpool", "identity", "identity"), 8, 0)
    assert a.key == b.key == "conv3x3-maxpool/w8/h0"
    x = torch.rand(3, 1, 28, 28)
    assert torch.equal(build(a, seed=4)(x), build(b, seed=4)(x))
    # without a convolution the width does not matter
    assert Architecture(("maxpool",) * 4, 16, 0).key == Architecture(("maxpool",) * 4, 8, 0).key


def apply_plain_torch(arch):
    """Independent of nas.build: apply the slots with torch layers and return the final map shape,
    or None when torch refuses (a map smaller than the kernel)."""
    x = torch.zeros(1, 1, 28, 28)
    layers = {"conv3x3": lambda c: nn.Conv2d(c, arch.width, 3), "conv5x5": lambda c: nn.Conv2d(c, arch.width, 5),
              "maxpool": lambda c: nn.MaxPool2d(2), "avgpool": lambda c: nn.AvgPool2d(2), "identity": lambda c: nn.Identity()}
    for op in arch.ops:
        try:
            x = layers[op](x.shape[1])(x)
        except RuntimeError:
            return None
        if x.shape[-1] < 1:
            return None
    return x.shape


def test_rule_1_agrees_with_torch_on_every_genome():
    space = nas_space()
    for params in space.grid()[::2]:  # head does not affect rule 1: half the grid covers every slot/width combination
        arch = Architecture.from_params(params)
        reason = check(arch, max_params=10 ** 9)
        assert (reason is None) == (apply_plain_torch(arch) is not None), arch


def test_rule_1_names_the_slot_and_the_sizes():
    arch = Architecture(("maxpool", "maxpool", "maxpool", "conv5x5"), 8, 0)  # 28 -> 14 -> 7 -> 3 -> -1
    assert check(arch) == "rule 1: slot4=conv5x5 turns a 3 x 3 feature map into 0 x 0"
    with pytest.raises(ValueError, match="shrinks the feature map"):
        build(arch)


def test_rule_2_counts_the_parameters_torch_allocates():
    arch = Architecture(("conv3x3", "identity", "identity", "identity"), 8, 64)  # 8*26*26 features -> 64
    n = sum(p.numel() for p in build(arch).parameters())
    assert n == count_params(arch) > MAX_PARAMS
    assert check(arch) == f"rule 2: {n} parameters > max_params={MAX_PARAMS}"
    assert check(arch, max_params=n) is None
    with pytest.raises(InvalidArchitecture, match="rule 2"):
        validate(arch)


def test_enumeration_is_every_distinct_valid_network():
    archs = enumerate_architectures()
    keys = {a.key for a in archs}
    assert len(keys) == len(archs) == 1214
    assert all(check(a) is None for a in archs)
    valid_keys = {Architecture.from_params(p).key for p in nas_space().grid()
                  if check(Architecture.from_params(p)) is None}
    assert valid_keys == keys


@pytest.mark.parametrize("kwargs, message", [
    ({"n_slots": 0}, "n_slots=0"), ({"ops": ["conv7x7"]}, "unknown operations"),
    ({"widths": [0]}, "widths=\\[0\\]"), ({"heads": [-1]}, "heads=\\[-1\\]")])
def test_bad_space_arguments_are_named(kwargs, message):
    with pytest.raises(ValueError, match=message):
        nas_space(**kwargs)


def test_widening_keeps_the_layers_and_scales_the_convolutions():
    arch = Architecture(("conv5x5", "identity", "maxpool", "conv3x3"), 8, 64)
    wide = arch.widened(32)
    assert wide.layers == arch.layers and wide.head == 64 and wide.width == 32
    net = build(wide)
    convs = [m for m in net.modules() if isinstance(m, nn.Conv2d)]
    assert [(c.in_channels, c.out_channels) for c in convs] == [(1, 32), (32, 32)]
    assert sum(p.numel() for p in net.parameters()) == count_params(wide)
    assert net(torch.rand(2, 1, 28, 28)).shape == (2, 10)
    with pytest.raises(ValueError, match="width=0"):
        arch.widened(0)


def test_sampled_architectures_are_the_valid_genomes_of_a_seeded_stream():
    import numpy as np

    archs = sample_architectures(30, seed=5)
    space, rng, expected = nas_space(), np.random.default_rng(5), []
    while len(expected) < 30:  # the same stream, read by hand
        arch = Architecture.from_params(space.sample(rng))
        if check(arch) is None:
            expected.append(arch)
    assert archs == expected and all(check(a) is None for a in archs)
    assert sample_architectures(30, seed=6) != archs
    assert all(check(a, max_params=5000) is None for a in sample_architectures(20, seed=0, max_params=5000))
