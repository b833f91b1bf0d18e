"""Single-path one-shot: training moves only the sampled paths and equals stand-alone training on
a fixed path; batch-norm recalibration, shared-weight scoring and the rank correlation against
oracles computed here."""

import copy
import itertools

import numpy as np
import pytest
import torch
from scipy.stats import kendalltau, spearmanr

from amsearch_lab import load_mnist, search
from amsearch_lab.nas import (
    CELL_OPS,
    EDGES,
    CellArchitecture,
    Recipe,
    Supernet,
    SupernetObjective,
    cell_space,
    oneshot,
    rank_correlation,
    recalibrate_batch_norm,
    sample_path,
    shared_weight_accuracy,
    train_supernet,
)
from amsearch_lab.optim import SGD, CosineDecay, fit

TINY = Recipe(name="tiny", n_train=100, n_val=50, n_test=50, epochs=1, batch_size=25, lr=0.05)
ARCH = CellArchitecture(("conv3x3", "skip", "conv1x1"))


@pytest.fixture(scope="module")
def data():
    return load_mnist(device="cpu", limit=100)


@pytest.fixture(scope="module")
def trained(data):
    supernet = Supernet(channels=4, seed=0)
    train_supernet(supernet, data, epochs=2, recipe=TINY, seed=0, device="cpu")
    return supernet


def snapshot(module) -> dict:
    return {k: v.clone() for k, v in module.state_dict().items()}


def op_state(supernet, cell: int, edge: str, op: str) -> dict:
    return supernet.cells[cell][edge].ops[op].state_dict()


def fix_path(monkeypatch, arch):
    monkeypatch.setattr(oneshot, "sample_path", lambda rng, ops: arch)


def record_paths(monkeypatch) -> list:
    """The paths train_supernet draws from now on (drawn as before, and appended to the list)."""
    paths = []
    monkeypatch.setattr(oneshot, "sample_path", lambda rng, ops: paths.append(sample_path(rng, ops)) or paths[-1])
    return paths


def test_sample_path_draws_each_edge_uniformly_from_the_ops():
    rng = np.random.default_rng(0)
    paths = [sample_path(rng, ("skip", "conv1x1", "maxpool")) for _ in range(3000)]
    for e in range(len(EDGES)):
        counts = np.unique([p.ops[e] for p in paths], return_counts=True)[1]
        assert len(counts) == 3 and np.all(np.abs(counts / 3000 - 1 / 3) < 0.04)
    assert sample_path(np.random.default_rng(5), CELL_OPS) == sample_path(np.random.default_rng(5), CELL_OPS)


def test_train_supernet_moves_only_the_weights_on_the_sampled_paths(data, monkeypatch):
    sampled = record_paths(monkeypatch)
    supernet = Supernet(channels=2, seed=0)
    before = copy.deepcopy(supernet)
    record = train_supernet(supernet, data, epochs=1, recipe=TINY, seed=1, device="cpu")
    assert record["steps"] == len(sampled) == 4 and record["epochs"] == 1 and len(record["train_loss"]) == 1
    on_path = {(e, op) for arch in sampled for e, op in zip(EDGES, arch.ops)}
    n_moved = 0
    for cell, e, op in itertools.product(range(2), EDGES, CELL_OPS):
        old, new = op_state(before, cell, e, op), op_state(supernet, cell, e, op)
        if not old:
            continue  # an operation without weights or statistics
        same = all(torch.equal(old[k], new[k]) for k in old)
        assert same == ((e, op) not in on_path), (cell, e, op)  # off the paths: bit-identical
        n_moved += not same
    assert n_moved >= 1 and len(on_path) < len(EDGES) * len(CELL_OPS)  # the check saw both kinds
    assert not torch.equal(before.stem[0].weight, supernet.stem[0].weight)  # shared by every path


def test_a_supernet_of_some_operations_samples_only_those(data):
    supernet = Supernet(channels=2, ops=("skip", "conv1x1"), seed=0)
    before = snapshot(supernet)
    train_supernet(supernet, data, epochs=1, recipe=TINY, seed=0, device="cpu")
    after = supernet.state_dict()
    assert set(after) == set(before) and any(not torch.equal(before[k], after[k]) for k in before)
    assert all("conv3x3" not in k for k in after)


def test_train_supernet_is_reproducible_by_seed(data, monkeypatch):
    runs = []
    for seed in (0, 0, 1):
        paths = record_paths(monkeypatch)
        supernet = Supernet(channels=2, seed=0)
        record = train_supernet(supernet, data, epochs=1, recipe=TINY, seed=seed, device="cpu")
        runs.append((record["train_loss"], snapshot(supernet), paths))
    (loss_a, a, paths_a), (loss_b, b, paths_b), (loss_c, c, paths_c) = runs
    assert loss_a == loss_b and all(torch.equal(a[k], b[k]) for k in a) and paths_a == paths_b
    assert loss_a != loss_c and not all(torch.equal(a[k], c[k]) for k in a) and paths_a != paths_c  # the seed draws the paths


def test_a_fixed_path_trains_as_the_stand_alone_network(data, monkeypatch):
    """With ``sample_path`` fixed, supernet training is ``optim.fit`` of the path's network with
    the same SGD, the same cosine decay per step and the same batch order (fit's validation pass
    at the end of each epoch changes nothing)."""
    fix_path(monkeypatch, ARCH)
    supernet = Supernet(channels=4, seed=0)
    stand_alone = supernet.subnet(ARCH)  # the same initial weights, a copy
    record = train_supernet(supernet, data, epochs=2, recipe=TINY, seed=3, device="cpu")
    n = TINY.n_train
    optimizer = SGD(stand_alone.parameters(), lr=TINY.lr, momentum=TINY.momentum, weight_decay=TINY.weight_decay)
    result = fit(stand_alone, (data.x_train[:n], data.y_train[:n], data.x_val[:50], data.y_val[:50]), optimizer,
                 schedule=CosineDecay(TINY.lr, t_max=2 * 4), schedule_per="step", epochs=2, device="cpu",
                 batch_size=TINY.batch_size, progress=False, seed=3)
    assert np.allclose(record["train_loss"], result["train_loss"], rtol=1e-5)
    trained_path = supernet.subnet(ARCH).state_dict()
    for k, v in stand_alone.state_dict().items():
        assert torch.allclose(trained_path[k].float(), v.float(), atol=1e-5), k
    assert not torch.allclose(trained_path["body.1.edges.e01.1.weight"], Supernet(channels=4, seed=0).subnet(ARCH)
                              .state_dict()["body.1.edges.e01.1.weight"], atol=1e-3)  # it did train


def test_recalibrate_batch_norm_gives_the_average_of_the_batch_statistics(trained, data):
    model = trained.subnet(ARCH).eval()
    norms = [m for m in model.modules() if isinstance(m, torch.nn.BatchNorm2d)]
    norms[0].momentum = 0.3  # each batch norm gets its own momentum back
    inputs = {m: [] for m in norms}
    hooks = [m.register_forward_hook(lambda m, args, out: inputs[m].append(args[0].detach().clone())) for m in norms]
    x = data.x_train[:70]
    recalibrate_batch_norm(model, x, batches=3, batch_size=20)  # 60 images, 3 batches
    for h in hooks:
        h.remove()
    assert not model.training and [m.momentum for m in norms] == [0.3] + [0.1] * (len(norms) - 1)
    for m in norms:
        assert len(inputs[m]) == 3 and all(len(b) == 20 for b in inputs[m])
        # the oracle: the plain average over the batches of each batch's channel mean and
        # unbiased channel variance (what running_var stores in training mode)
        means = torch.stack([b.double().mean(dim=(0, 2, 3)) for b in inputs[m]])  # (batches, C)
        variances = torch.stack([b.double().transpose(0, 1).flatten(1).var(dim=1, unbiased=True) for b in inputs[m]])
        assert torch.allclose(m.running_mean.double(), means.mean(0), rtol=1e-5, atol=1e-6)
        assert torch.allclose(m.running_var.double(), variances.mean(0), rtol=1e-5, atol=1e-6)
        # equal batches: the average of the batch means is the mean over all 60 images
        pooled = torch.cat(inputs[m]).double().mean(dim=(0, 2, 3))
        assert torch.allclose(m.running_mean.double(), pooled, rtol=1e-5, atol=1e-6)
        assert int(m.num_batches_tracked) == 3


@pytest.mark.parametrize("batches, batch_size", [(0, 10), (1.5, 10), (8, 10)])
def test_recalibrate_batch_norm_rejects_bad_batches(trained, data, batches, batch_size):
    with pytest.raises(ValueError, match=f"batches={batches!r}"):
        recalibrate_batch_norm(trained.subnet(ARCH), data.x_train[:70], batches, batch_size)


def hand_accuracy(net, data, n_val) -> float:
    with torch.no_grad():
        return (net.eval()(data.x_val[:n_val]).argmax(1) == data.y_val[:n_val]).double().mean().item()


@pytest.mark.parametrize("recalibrate", [0, 2])
def test_shared_weight_accuracy_is_the_paths_accuracy_and_leaves_the_supernet_unchanged(trained, data, recalibrate):
    before, mode = snapshot(trained), trained.training
    acc = shared_weight_accuracy(trained, ARCH, data, n_val=60, recalibrate=recalibrate, recipe=TINY)
    after = trained.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before) and trained.training == mode
    net = trained.subnet(ARCH)
    if recalibrate:
        recalibrate_batch_norm(net, data.x_train[:TINY.n_train], recalibrate, TINY.batch_size)
    assert acc == pytest.approx(hand_accuracy(net, data, 60), abs=1e-6)


def test_shared_weight_accuracy_recalibrates_with_the_recipes_images_and_batches(trained, data, monkeypatch):
    calls, real = [], oneshot.recalibrate_batch_norm
    monkeypatch.setattr(oneshot, "recalibrate_batch_norm",
                        lambda net, x, batches, batch_size: calls.append((x, batches, batch_size)) or real(net, x, batches, batch_size))
    shared_weight_accuracy(trained, ARCH, data, n_val=50, recalibrate=3, recipe=TINY)
    (x, batches, batch_size), = calls
    assert torch.equal(x, data.x_train[:TINY.n_train]) and (batches, batch_size) == (3, TINY.batch_size)


def test_recalibration_changes_the_statistics_of_a_path(trained, data):
    """The supernet's running statistics average over every sampled path; the path's own differ."""
    net = trained.subnet(ARCH)
    recalibrate_batch_norm(net, data.x_train[:TINY.n_train], 4, TINY.batch_size)
    stats = net.state_dict()
    shared = trained.subnet(ARCH).state_dict()
    assert not torch.allclose(stats["body.1.edges.e01.2.running_var"], shared["body.1.edges.e01.2.running_var"])


def test_shared_weight_accuracy_rejects_a_negative_recalibration(trained, data):
    with pytest.raises(ValueError, match="recalibrate=-1"):
        shared_weight_accuracy(trained, ARCH, data, recalibrate=-1)


def test_supernet_objective_counts_evaluations_and_returns_the_shared_weight_accuracy(trained, data):
    objective = SupernetObjective(trained, data, n_val=50)
    assert objective(ARCH.to_params()) == shared_weight_accuracy(trained, ARCH, data, n_val=50)
    assert objective.evaluations == 1 and objective.seconds > 0
    history = search(objective, cell_space(), "random", budget=3, seed=0, minimize=False, progress=False)
    assert objective.evaluations == 4 and len(history) == 3
    for trial in history:
        arch = CellArchitecture.from_params(trial.params)
        assert trial.value == pytest.approx(hand_accuracy(trained.subnet(arch), data, 50), abs=1e-6)


def test_train_supernet_rejects_bad_epochs(data):
    with pytest.raises(ValueError, match="epochs=0"):
        train_supernet(Supernet(channels=2), data, epochs=0, recipe=TINY, device="cpu")


def hand_kendall(a, b) -> float:
    """(concordant - discordant) / pairs, for data without ties."""
    signs = [np.sign(a[i] - a[j]) * np.sign(b[i] - b[j]) for i, j in itertools.combinations(range(len(a)), 2)]
    return (sum(s > 0 for s in signs) - sum(s < 0 for s in signs)) / len(signs)


def test_rank_correlation_by_hand_and_against_scipy():
    scores, truth = [1.0, 2.0, 3.0, 4.0, 5.0], [2.0, 1.0, 4.0, 3.0, 5.0]
    r = rank_correlation(scores, truth)
    # 10 pairs, 2 discordant ((1, 2) and (3, 4)): tau = (8 - 2) / 10; rho = 1 - 6 * 4 / (5 * 24)
    assert r == {"kendall": pytest.approx(0.6), "spearman": pytest.approx(0.8), "n": 5}
    assert hand_kendall(scores, truth) == pytest.approx(0.6)
    assert rank_correlation([1, 2, 3], [3, 2, 1])["kendall"] == pytest.approx(-1.0)
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=30), rng.normal(size=30)
    r = rank_correlation(a, a + b)
    assert r["kendall"] == pytest.approx(hand_kendall(a, a + b)) == pytest.approx(kendalltau(a, a + b).statistic)
    assert r["spearman"] == pytest.approx(spearmanr(a, a + b).statistic)
    ties_a, ties_b = np.round(a), np.round(a + b)  # tau-b with ties, as scipy
    assert rank_correlation(ties_a, ties_b)["kendall"] == pytest.approx(kendalltau(ties_a, ties_b).statistic)


@pytest.mark.parametrize("scores, truth", [([1, 2, 3], [1, 2]), ([1, 2], [1, 2]), ([], [])])
def test_rank_correlation_rejects_bad_lengths(scores, truth):
    with pytest.raises(ValueError, match=rf"scores \({len(scores)}\) and truth \({len(truth)}\)"):
        rank_correlation(scores, truth)


def test_genotypes_of_one_network_get_one_shared_weight_score(trained, data):
    # a dead edge's shared convolution would add its batch norm's constant in eval mode
    dead = CellArchitecture(("none", "skip", "conv3x3"))
    assert dead.canonical() == CellArchitecture(("none", "skip", "none"))
    assert shared_weight_accuracy(trained, dead, data, n_val=100) == \
        shared_weight_accuracy(trained, dead.canonical(), data, n_val=100)


def test_rank_correlation_bootstrap_is_seeded_and_paired():
    rng = np.random.default_rng(0)
    truth = rng.normal(size=100)
    a, b = truth + 0.5 * rng.normal(size=100), truth + 3 * rng.normal(size=100)
    ra, rb = rank_correlation(a, truth, n_boot=200, seed=1), rank_correlation(b, truth, n_boot=200, seed=1)
    assert ra["kendall"] > rb["kendall"] + 0.2 and ra["kendall_boot"].shape == (200,)
    low, high = ra["kendall_interval"]
    assert low < ra["kendall"] < high
    assert np.array_equal(ra["kendall_boot"], rank_correlation(a, truth, n_boot=200, seed=1)["kendall_boot"])
    # the same resamples: the less noisy scores win on (nearly) every one of them
    assert (ra["kendall_boot"] > rb["kendall_boot"]).mean() > 0.9
    with pytest.raises(ValueError, match="n_boot"):
        rank_correlation(a, truth, n_boot=-1)
