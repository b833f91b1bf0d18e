"""RandomShift: each image moved by its own offset, checked against torch.roll with the wrapped
border zeroed (an independent way to translate an image), and its use inside fit()."""

import pytest
import torch
import torch.nn.functional as F

from amsearch_lab import load_mnist
from amsearch_lab.models import mlp
from amsearch_lab.optim import SGD, RandomShift, fit, shuffled_batches


def shift_by_roll(image: torch.Tensor, dy: int, dx: int) -> torch.Tensor:
    """``image`` (c, h, w) translated by (dy, dx) with zeros coming in: roll, then blank what wrapped."""
    out = torch.roll(image, shifts=(dy, dx), dims=(1, 2)).clone()
    if dy > 0:
        out[:, :dy] = 0
    elif dy < 0:
        out[:, dy:] = 0
    if dx > 0:
        out[:, :, :dx] = 0
    elif dx < 0:
        out[:, :, dx:] = 0
    return out


@pytest.mark.parametrize("max_shift", [1, 2, 3])
def test_each_image_is_translated_by_its_own_offset(max_shift):
    x = torch.rand(64, 2, 9, 7)
    shift = RandomShift(max_shift)
    out = shift(x, torch.Generator().manual_seed(0))
    offsets = shift.offsets(64, torch.Generator().manual_seed(0))  # the same draws
    assert out.shape == x.shape and offsets.abs().max() <= max_shift
    assert len({tuple(o) for o in offsets.tolist()}) > 1  # not one offset for the whole batch
    for i, (dy, dx) in enumerate(offsets.tolist()):
        torch.testing.assert_close(out[i], shift_by_roll(x[i], dy, dx), rtol=0, atol=0)


def test_zero_shift_is_the_identity_and_bad_input_is_named():
    x = torch.rand(3, 1, 5, 5)
    assert torch.equal(RandomShift(0)(x, torch.Generator()), x)
    with pytest.raises(ValueError, match="max_shift=-1"):
        RandomShift(-1)
    with pytest.raises(ValueError, match=r"shape \(3, 25\)"):
        RandomShift(1)(x.reshape(3, 25), torch.Generator())


def test_fit_applies_augment_to_each_batch_from_its_generator():
    data = load_mnist(device="cpu", limit=200)
    ours = mlp((784, 16, 10), seed=0)
    fit(ours, data, SGD(ours.parameters(), lr=0.1), epochs=2, batch_size=50, device="cpu", progress=False, seed=3,
        augment=RandomShift(2))
    # by hand: the same shuffles and the same shifts, drawn from one generator in the same order
    ref = mlp((784, 16, 10), seed=0)
    opt = torch.optim.SGD(ref.parameters(), lr=0.1)
    generator, shift = torch.Generator().manual_seed(3), RandomShift(2)
    for _ in range(2):
        for idx in shuffled_batches(len(data.x_train), 50, generator):
            opt.zero_grad()
            F.cross_entropy(ref(shift(data.x_train[idx], generator)), data.y_train[idx]).backward()
            opt.step()
    for p, q in zip(ours.parameters(), ref.parameters()):
        torch.testing.assert_close(p, q, rtol=0, atol=1e-6)
    plain = mlp((784, 16, 10), seed=0)
    fit(plain, data, SGD(plain.parameters(), lr=0.1), epochs=2, batch_size=50, device="cpu", progress=False, seed=3)
    assert not torch.allclose(next(plain.parameters()), next(ours.parameters()))
