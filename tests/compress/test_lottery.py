"""Lottery tickets: the IMP masks equal a plain numpy magnitude ranking, rewinding restores the
saved weights on the kept entries, removed weights stay zero through training, Adam as torch's."""

from copy import deepcopy

import numpy as np
import pytest
import torch
from torch import nn

from amsearch_lab.compress import (
    adam_fit,
    global_magnitude_masks,
    lottery_ticket,
    magnitude_mask,
    mask_sparsity,
    masks_of,
    prunable_weights,
    prune_remaining,
    reinitialize,
    rewind,
    rewind_model,
)
from amsearch_lab.models import mlp
from amsearch_lab.optim import shuffled_batches


def _random_weights_and_masks(seed=0):
    g = torch.Generator().manual_seed(seed)
    weights = {"a": torch.randn(12, 9, generator=g), "b": torch.randn(7, 12, generator=g), "c": torch.randn(3, 7, generator=g)}
    masks = {k: (torch.rand(w.shape, generator=g) > 0.3).float() for k, w in weights.items()}
    return weights, masks


def _numpy_prune(w, m, k):
    """Independent check: zero the k smallest |w| among the kept entries, by a numpy argsort."""
    w, m = np.asarray(w).ravel(), np.asarray(m).ravel().copy()
    kept = np.flatnonzero(m)
    m[kept[np.argsort(np.abs(w[kept]), kind="stable")[:k]]] = 0.0
    return m


@pytest.mark.parametrize("rate", [0.0, 0.2, 0.5, 1.0])
def test_layerwise_round_equals_numpy_ranking(rate):
    weights, masks = _random_weights_and_masks()
    new = prune_remaining(weights, masks, rate, scope="layer")
    for key, w in weights.items():
        kept = int(masks[key].sum())
        expected = _numpy_prune(w, masks[key], round(rate * kept))
        assert np.array_equal(new[key].numpy().ravel(), expected), key
        assert torch.all(new[key] <= masks[key])   # removed entries stay removed


def test_layerwise_dict_rate_and_global_round_equal_numpy_ranking():
    weights, masks = _random_weights_and_masks(1)
    rates = {"a": 0.2, "b": 0.2, "c": 0.1}   # F&C: the output layer at half the rate
    new = prune_remaining(weights, masks, rates)
    for key, w in weights.items():
        assert np.array_equal(new[key].numpy().ravel(), _numpy_prune(w, masks[key], round(rates[key] * int(masks[key].sum()))))
    glob = prune_remaining(weights, masks, 0.4, scope="global")
    w_all = np.concatenate([w.numpy().ravel() for w in weights.values()])
    m_all = np.concatenate([m.numpy().ravel() for m in masks.values()])
    expected = _numpy_prune(w_all, m_all, round(0.4 * int(m_all.sum())))
    assert np.array_equal(np.concatenate([m.numpy().ravel() for m in glob.values()]), expected)


def test_first_round_from_dense_equals_one_shot_pruning():
    model = mlp((20, 16, 12, 4), seed=0)
    weights = prunable_weights(model)
    ones = {k: torch.ones_like(w) for k, w in weights.items()}
    for key, m in prune_remaining(weights, ones, 0.3).items():
        assert torch.equal(m, magnitude_mask(weights[key], 0.3))
    glob = prune_remaining(weights, ones, 0.7, scope="global")
    for key, m in global_magnitude_masks(weights, 0.7).items():
        assert torch.equal(glob[key], m)


def test_prune_remaining_rejects_bad_arguments():
    weights, masks = _random_weights_and_masks()
    with pytest.raises(ValueError, match="scope='diagonal'"):
        prune_remaining(weights, masks, 0.2, scope="diagonal")
    with pytest.raises(ValueError, match="amount=1.5"):
        prune_remaining(weights, masks, 1.5)
    with pytest.raises(ValueError, match="dict rate"):
        prune_remaining(weights, masks, {"a": 0.1}, scope="layer")
    with pytest.raises(ValueError, match="same keys"):
        prune_remaining(weights, {"a": masks["a"]}, 0.2)


def test_rewind_restores_the_saved_weights_on_kept_entries():
    model = mlp((10, 8, 3), seed=3)
    init = {k: w.detach().clone() for k, w in prunable_weights(model).items()}
    masks = {k: (torch.rand(w.shape, generator=torch.Generator().manual_seed(1)) > 0.5).float() for k, w in init.items()}
    for key, w in rewind(init, masks).items():
        assert torch.equal(w[masks[key] == 1], init[key][masks[key] == 1])
        assert torch.all(w[masks[key] == 0] == 0)
    ticket = rewind_model(model, masks)
    for key, w in prunable_weights(ticket).items():
        assert torch.equal(w, init[key] * masks[key])
    assert torch.equal(prunable_weights(model)["1.weight"], init["1.weight"])   # the input is unchanged
    with pytest.raises(ValueError, match="carries masks"):
        rewind_model(ticket, masks)
    with pytest.raises(ValueError, match="lacks"):
        rewind(init, {"nope": torch.ones(2)})


def test_reinitialize_draws_fresh_weights_reproducibly_without_touching_the_global_stream():
    model = mlp((10, 8, 3), seed=3)
    masks = {k: torch.ones_like(w) for k, w in prunable_weights(model).items()}
    masks["1.weight"][:, :5] = 0
    state = torch.random.get_rng_state()
    a, b = reinitialize(model, masks, seed=5), reinitialize(model, masks, seed=5)
    assert torch.equal(torch.random.get_rng_state(), state)
    wa, wb, w0 = prunable_weights(a)["1.weight"], prunable_weights(b)["1.weight"], prunable_weights(model)["1.weight"]
    assert torch.equal(wa, wb) and not torch.allclose(wa[:, 5:], w0[:, 5:])
    assert torch.all(wa[:, :5] == 0)
    assert torch.equal(wa, masks["1.weight"] * mlp((10, 8, 3), seed=5)[1].weight)   # the default init of seed 5


def test_lottery_ticket_masks_are_nested_and_zeros_stay_zero_through_training():
    model = mlp((10, 16, 3), seed=0)
    before = deepcopy(model.state_dict())
    g = torch.Generator().manual_seed(0)
    data = (torch.randn(64, 10, generator=g), torch.randint(0, 3, (64,), generator=g),
            torch.randn(16, 10, generator=g), torch.randint(0, 3, (16,), generator=g))
    trained = []

    def train(net):
        adam_fit(net, data, epochs=2, lr=0.01, batch_size=16, device="cpu")
        trained.append(net)

    net, history = lottery_ticket(model, train, rounds=3, rate=0.5, evaluate=lambda m: 0.5)
    assert [h["round"] for h in history] == [0, 1, 2, 3] and len(trained) == 4
    n = 10 * 16 + 16 * 3
    kept = n
    for h, t in zip(history, trained):
        assert abs(h["sparsity"] - (1 - kept / n)) < 1e-9
        for key, w in prunable_weights(t).items():   # after training, the removed entries are still zero
            assert torch.all(w[h["masks"][key] == 0] == 0)
        kept = sum(int(m.sum()) - round(0.5 * int(m.sum())) for m in h["masks"].values())
    for prev, nxt in zip(history, history[1:]):
        for key in prev["masks"]:
            assert torch.all(nxt["masks"][key] <= prev["masks"][key])
    # the last round's masks come from the previous round's trained weights, ranked by |w|
    expected = prune_remaining(prunable_weights(trained[2]), history[2]["masks"], 0.5)
    for key, m in expected.items():
        assert torch.equal(history[3]["masks"][key], m)
    assert net is trained[-1] and masks_of(net).keys() == history[-1]["masks"].keys()
    for key, value in model.state_dict().items():
        assert torch.equal(value, before[key])   # the rewind point itself is unchanged
    assert mask_sparsity(history[-1]["masks"]) == history[-1]["sparsity"]


def test_adam_fit_equals_a_plain_torch_adam_loop():
    g = torch.Generator().manual_seed(1)
    x, y = torch.randn(50, 6, generator=g), torch.randint(0, 3, (50,), generator=g)
    ours, ref = mlp((6, 5, 3), seed=2), mlp((6, 5, 3), seed=2)
    adam_fit(ours, (x, y, x, y), epochs=2, lr=0.02, batch_size=8, seed=4, device="cpu")
    opt = torch.optim.Adam(ref.parameters(), lr=0.02)
    gen = torch.Generator().manual_seed(4)
    for _ in range(2):
        for idx in shuffled_batches(50, 8, gen):
            opt.zero_grad()
            nn.functional.cross_entropy(ref(x[idx]), y[idx]).backward()
            opt.step()
    for a, b in zip(ours.parameters(), ref.parameters()):
        assert torch.allclose(a, b, atol=1e-6)
