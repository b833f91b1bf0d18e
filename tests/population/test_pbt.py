"""Population-based training: the two decisions (truncation selection, explore) on their own, then
the driver: reproducible, the same in both paths, its lineage, its History and its resume."""

import math
from pathlib import Path

import numpy as np
import pytest
import torch

from amsearch_lab import Choice, Float, History, Int, Space, Trial
from amsearch_lab.models import mlp
from amsearch_lab.population import (
    PopulationBasedTraining,
    ancestry,
    explore,
    founders,
    schedule_of,
    truncation_selection,
)
from amsearch_lab.study import StopSearch

torch.set_num_threads(1)  # tiny models: threads only contend on a shared machine

SPACE = Space({"lr": Float(1e-3, 1.0, log=True), "momentum": Float(0.0, 0.9)})


def toy(n=96, seed=0):
    """A small learnable 3-class problem: 20 features, the label is argmax of a fixed linear map."""
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, 20, generator=g)
    y = (x @ torch.randn(20, 3, generator=g)).argmax(dim=1)
    return x, y, x[: n // 3], y[: n // 3]


def make_model(i):
    return mlp((20, 8, 3), seed=i)


def pbt(**kwargs):
    options = {"population": 6, "epochs": 5, "interval": 2, "fraction": 0.25, "resample_prob": 0.2,
               "metric": "val_loss", "batch_size": 32, "seed": 1, **kwargs}
    return PopulationBasedTraining(kwargs.pop("space", SPACE), **{k: v for k, v in options.items() if k != "space"})


def run(driver, vectorized=True, **kwargs):
    return driver.run(make_model, toy(), device="cpu", vectorized=vectorized, progress=False, **kwargs)


def fields(history):
    """Every field of every trial but the clock's (start, duration)."""
    return [{k: v for k, v in vars(t).items() if k not in ("start", "duration", "worker")} for t in history]


# -- truncation selection -------------------------------------------------------------------------------
@pytest.mark.parametrize("n", [2, 3, 5, 8, 10])
@pytest.mark.parametrize("fraction", [0.1, 0.2, 0.25, 0.5])
def test_bottom_k_copy_from_top_k(n, fraction):
    scores = np.random.default_rng(n).permutation(n).astype(float)  # distinct; higher is better
    k = min(math.ceil(fraction * n), n // 2)
    pairs = truncation_selection(scores, fraction, np.random.default_rng(0))
    ranked = list(np.argsort(-scores))
    assert sorted(loser for loser, _ in pairs) == sorted(ranked[n - k:])
    assert all(winner in ranked[:k] for _, winner in pairs)
    flipped = truncation_selection(-scores, fraction, np.random.default_rng(0), minimize=True)
    assert flipped == pairs  # minimizing -score is maximizing score


def test_winners_are_drawn_uniformly_from_the_top_and_seeded():
    scores = np.arange(10.0)  # members 9..5 are the top 5
    rng = np.random.default_rng(0)
    counts = np.zeros(10)
    for _ in range(400):
        for _, winner in truncation_selection(scores, 0.5, rng):
            counts[winner] += 1
    assert counts[:5].sum() == 0 and counts[5:].min() > 300  # 2000 draws, 400 expected each
    assert truncation_selection(scores, 0.5, np.random.default_rng(7)) == \
        truncation_selection(scores, 0.5, np.random.default_rng(7))


def test_ties_are_ranked_by_member_index():
    pairs = truncation_selection([0.5] * 6, 0.33, np.random.default_rng(0))  # k = 2
    assert [loser for loser, _ in pairs] == [4, 5] and {w for _, w in pairs} <= {0, 1}
    pairs = truncation_selection([0.5] * 6, 0.33, np.random.default_rng(0), minimize=True)
    assert [loser for loser, _ in pairs] == [4, 5] and {w for _, w in pairs} <= {0, 1}


@pytest.mark.parametrize("scores, losers, winners", [
    ([0.9, math.nan, 0.5, 0.7, 0.8, 0.6], [1, 2], {0, 4}),  # NaN ranked last: in the bottom k = 2 anyway
    ([0.9, math.nan, 0.5, 0.7, math.nan, math.nan, 0.6, 0.8], [1, 4, 5], {0, 7}),  # NaN outside the bottom 2 too
    ([0.9, math.nan, math.nan, math.nan], [1, 2, 3], {0}),  # more NaN than N - k: never a winner
    ([math.inf, 0.5, 0.4, 0.3], [0, 3], {1, 2}),  # an infinite score (a failed trial) is no winner either
    ([math.nan] * 4, [], set()),  # nobody to copy from
])
def test_failed_members_always_copy_and_are_never_copied(scores, losers, winners):
    pairs = truncation_selection(scores, {4: 0.5, 6: 0.33, 8: 0.25}[len(scores)], np.random.default_rng(3))
    assert sorted(loser for loser, _ in pairs) == losers
    assert {winner for _, winner in pairs} <= winners


def test_truncation_selection_refuses_a_bad_fraction():
    for fraction in (0, 0.51, -0.1, "0.2"):
        with pytest.raises(ValueError, match="fraction="):
            truncation_selection([1.0, 2.0], fraction, np.random.default_rng(0))


# -- explore --------------------------------------------------------------------------------------------
EXPLORED = Space({"lr": Float(1e-4, 1.0, log=True), "dropout": Float(0.0, 0.5), "wd": Float(0.0, 0.1, step=0.01),
                  "width": Int(8, 64), "depth": Int(1, 300, log=True), "act": Choice(["relu", "tanh", "gelu"])})


@pytest.mark.parametrize("resample_prob", [0.0, 0.3, 1.0])
def test_explore_stays_inside_the_space(resample_prob):
    rng = np.random.default_rng(0)
    params = EXPLORED.sample(rng)
    for _ in range(300):
        params = explore(params, EXPLORED, rng, resample_prob=resample_prob)
        EXPLORED.check(params)
        assert params in EXPLORED
    edge = {"lr": 1.0, "dropout": 0.5, "wd": 0.1, "width": 64, "depth": 300, "act": "gelu"}
    for _ in range(20):  # pushed against the upper bounds: clipped, not outside
        assert explore(edge, EXPLORED, rng, factors=(1.2,), resample_prob=0.0) == edge


def test_explore_applies_the_factors_exactly_when_not_clipped():
    space = Space({"lr": Float(1e-4, 1.0, log=True), "momentum": Float(0.0, 0.99)})
    rng = np.random.default_rng(0)
    seen = set()
    for _ in range(50):
        out = explore({"lr": 0.01, "momentum": 0.5}, space, rng, resample_prob=0.0)
        assert out["lr"] in (0.01 * 0.8, 0.01 * 1.2) and out["momentum"] in (0.5 * 0.8, 0.5 * 1.2)
        seen.add((out["lr"], out["momentum"]))
    assert len(seen) == 4  # every combination of the two factors turns up
    out = explore({"width": 10, "act": "tanh"}, Space({"width": Int(8, 64), "act": Choice(["relu", "tanh"])}),
                  rng, factors=(1.2,), resample_prob=0.0)
    assert out == {"width": 12, "act": "tanh"}  # an Int rounded, a Choice kept
    out = explore({"wd": 0.05}, Space({"wd": Float(0.0, 0.1, step=0.01)}), rng, factors=(1.34,), resample_prob=0.0)
    assert out == {"wd": 0.07}  # 0.067 onto the lattice


def test_resample_prob_one_draws_from_the_space():
    space = Space({"lr": Float(1e-4, 1.0, log=True)})
    rng = np.random.default_rng(0)
    draws = [explore({"lr": 0.01}, space, rng, resample_prob=1.0)["lr"] for _ in range(200)]
    assert not set(draws) & {0.008, 0.012}
    assert min(draws) < 1e-3 and max(draws) > 1e-1  # spread over the whole (log) range
    assert np.median(np.log10(draws)) == pytest.approx(-2, abs=0.4)


def test_explore_is_reproducible_by_seed():
    a = [explore({"lr": 0.01, "momentum": 0.5}, SPACE, np.random.default_rng(s)) for s in range(5)]
    b = [explore({"lr": 0.01, "momentum": 0.5}, SPACE, np.random.default_rng(s)) for s in range(5)]
    assert a == b and len({tuple(p.values()) for p in a}) > 1


# -- the driver -----------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def reference():
    """An uninterrupted vectorized run: (driver, history)."""
    driver = pbt()
    return driver, run(driver)


def test_a_seeded_run_is_reproducible(reference):
    driver, history = reference
    again = pbt()
    assert fields(run(again)) == fields(history)
    for k, w in driver.population_.weights().items():
        assert torch.equal(again.population_.weights()[k], w)
    assert fields(run(pbt(seed=2))) != fields(history)


def test_vectorized_and_sequential_runs_give_the_same_history(reference):
    _, history = reference
    sequential = run(pbt(), vectorized=False)
    assert [(t.params, t.info["parent"], t.status) for t in sequential] == \
        [(t.params, t.info["parent"], t.status) for t in history]
    assert [t.value for t in sequential] == pytest.approx([t.value for t in history], abs=1e-5)


def test_history_trials_are_member_intervals(reference):
    driver, history = reference
    n = driver.population
    assert len(history) == 3 * n  # epochs 5 in intervals of 2: [0, 2], [2, 4], [4, 5]
    for t in history:
        r, i = t.info["round"], t.info["member"]
        assert t.number == r * n + i and t.config == i
        assert (t.start_step, t.budget) == [(0, 2), (2, 4), (4, 5)][r]
        assert [step for step, _ in t.curve] == list(range(t.start_step + 1, t.budget + 1))
        assert t.value == t.info["val_loss"] == t.curve[-1][1]
        assert t.ok and (t.asked, t.n_asked) == (t.number, t.number + 1)
    final = [t for t in history if t.info["round"] == 2]
    assert driver.best_member_ == min(final, key=lambda t: t.value).info["member"]
    # no exploit after the last interval: the population is the one the last trials measured
    pop = driver.population_
    assert pop.epochs_done == 5
    assert list(pop.hyperparameters["lr"]) == [t.params["lr"] for t in final]
    _, _, x_val, y_val = toy()
    assert list(pop.evaluate(x_val, y_val)[0]) == pytest.approx([t.value for t in final], abs=1e-6)


def test_lineage_says_who_copied_whom(reference):
    driver, history = reference
    n, k = driver.population, min(math.ceil(driver.fraction * driver.population), driver.population // 2)
    by = {(t.info["round"], t.info["member"]): t for t in history}
    copies = 0
    for r in (1, 2):
        before = sorted(range(n), key=lambda i: (by[r - 1, i].value, i))  # val_loss: lower is better
        for i in range(n):
            t, parent = by[r, i], by[r, i].info["parent"]
            if parent == i:  # kept its own weights and hyperparameters
                assert i not in before[n - k:] and t.params == by[r - 1, i].params
                continue
            copies += 1
            assert i in before[n - k:] and parent in before[:k]
            for name, value in t.params.items():  # explored from the parent's, not its own
                old = by[r - 1, parent].params[name]
                assert value in (old * 0.8, old * 1.2) or SPACE.dimensions[name].contains(value)
    assert copies == 2 * k
    for member in range(n):
        path = ancestry(history, member)
        assert [t.info["round"] for t in path] == [0, 1, 2] and path[-1].info["member"] == member
        for earlier, later in zip(path, path[1:]):
            assert later.info["parent"] == earlier.info["member"] and later.start_step == earlier.budget
    with pytest.raises(ValueError, match="member=6"):
        ancestry(history, 6)
    assert ancestry(History(), 0) == []


def test_the_lineage_is_where_the_weights_come_from(tmp_path, reference):
    # the checkpoint after round 0 holds the population after exploit: a member whose next
    # trial names another parent holds that parent's weights and velocity, bit for bit
    driver, history = reference
    path = tmp_path / "pbt.jsonl"
    run(pbt(), storage=path, callbacks=[stop_after(1, driver.population)])
    state = torch.load(str(path) + ".pt", weights_only=False)
    weights, velocity = state["population"]["weights"], state["population"]["velocity"]
    parents = [history[driver.population + i].info["parent"] for i in range(driver.population)]
    assert state["parents"] == parents and any(p != i for i, p in enumerate(parents))
    for i, p in enumerate(parents):
        for k in weights:
            assert torch.equal(weights[k][i], weights[k][p]) and torch.equal(velocity[k][i], velocity[k][p])
        for name in ("lr", "momentum"):  # and trains on with the hyperparameters its trial records
            assert state["population"]["hyperparameters"][name][i] == history[driver.population + i].params[name]
    distinct = {tuple(weights["1.bias"][i].tolist()) for i in range(driver.population)}
    assert len(distinct) == len(set(parents))  # members that kept their own weights all differ


def test_interval_longer_than_epochs_is_one_round_without_exploit():
    driver = pbt(epochs=2, interval=5)
    history = run(driver)
    assert len(history) == driver.population
    assert all(t.info["parent"] == t.info["member"] and (t.start_step, t.budget) == (0, 2) for t in history)


def test_population_of_two_and_a_diverging_member_with_storage(tmp_path):
    # lr 1e30 diverges; the run must go on, write its file (no NaN in JSON) and copy the failed member
    space = Space({"lr": Choice([0.05, 1e30])})
    for seed in range(20):
        rng = np.random.default_rng(seed)
        if sorted(space.sample(rng)["lr"] for _ in range(2)) == [0.05, 1e30]:
            break
    driver = pbt(space=space, population=2, epochs=3, interval=1, resample_prob=0.0, metric="val_acc", seed=seed)
    history = run(driver, storage=tmp_path / "pbt.jsonl")
    first = [t for t in history if t.info["round"] == 0]
    failed = [t for t in first if not t.ok]
    assert len(failed) == 1 and failed[0].value is None and "NaN" in failed[0].error
    assert failed[0].info["val_acc"] is None
    second = history[2 + failed[0].info["member"]]
    assert second.info["parent"] != second.info["member"] and second.ok and second.params == {"lr": 0.05}
    loaded = History.load(tmp_path / "pbt.jsonl", minimize=False)
    assert fields(loaded) == fields(history)
    assert fields(ancestry(loaded, 0)) == fields(ancestry(history, 0))
    assert driver.best_member_ is not None


def test_all_members_diverging_leaves_no_best_member():
    driver = pbt(space=Space({"lr": Float(1e29, 1e30, log=True)}), population=3, epochs=2, interval=1)
    history = run(driver)
    assert not any(t.ok for t in history) and driver.best_member_ is None
    assert all(t.info["parent"] == t.info["member"] for t in history)  # nobody to copy from


# -- storage and resume ---------------------------------------------------------------------------------
def stop_after(rounds, n):
    def callback(history):
        if len(history) >= rounds * n:
            raise StopSearch
    return callback


@pytest.mark.parametrize("rounds", [1, 2])
def test_a_stopped_run_resumes_to_the_uninterrupted_one(tmp_path, reference, rounds):
    driver, history = reference
    path = tmp_path / "pbt.jsonl"
    stopped = run(pbt(), storage=path, callbacks=[stop_after(rounds, driver.population)])
    assert len(stopped) == rounds * driver.population
    assert len(History.load(path, minimize=True)) == rounds * driver.population
    resumed_driver = pbt()
    resumed = run(resumed_driver, storage=path)
    assert fields(resumed) == fields(history)
    for k, w in driver.population_.weights().items():
        assert torch.equal(resumed_driver.population_.weights()[k], w)
    assert resumed_driver.best_member_ == driver.best_member_
    assert fields(History.load(path, minimize=True)) == fields(history)
    again = run(pbt(), storage=path)  # a finished run: nothing to train, the same history
    assert fields(again) == fields(history)


class CrashingData:
    """``toy()`` as attributes, whose ``x_train`` raises at its ``crash_at``-th read: a crash in
    the middle of a run (``Population.train`` reads it once per interval)."""

    def __init__(self, crash_at):
        self.reads, self.crash_at = 0, crash_at
        self._x, self.y_train, self.x_val, self.y_val = toy()

    @property
    def x_train(self):
        self.reads += 1
        if self.reads == self.crash_at:
            raise MemoryError("the machine went down")
        return self._x


def test_a_run_that_crashed_inside_an_interval_resumes_from_the_last_checkpoint(tmp_path, reference):
    driver, history = reference
    path = tmp_path / "pbt.jsonl"
    with pytest.raises(MemoryError):
        pbt().run(make_model, CrashingData(crash_at=4), device="cpu", progress=False, storage=path)
    kept = len(History.load(path))
    assert 0 < kept < len(history) and kept % driver.population == 0  # whole rounds, not all of them
    resumed = run(pbt(), storage=path)
    assert fields(resumed) == fields(history)


def test_a_vectorized_checkpoint_resumes_in_the_sequential_path(tmp_path, reference):
    driver, history = reference
    path = tmp_path / "pbt.jsonl"
    run(pbt(), storage=path, callbacks=[stop_after(1, driver.population)])
    resumed = run(pbt(), vectorized=False, storage=path)
    assert [t.params for t in resumed] == [t.params for t in history]
    assert [t.value for t in resumed] == pytest.approx([t.value for t in history], abs=1e-5)


def test_storage_of_other_settings_or_without_checkpoint_is_refused(tmp_path):
    path = tmp_path / "pbt.jsonl"
    run(pbt(epochs=1), storage=path)
    with pytest.raises(ValueError, match="other settings.*epochs"):
        run(pbt(epochs=2), storage=path)
    run(pbt(epochs=1), storage=path)  # the refusal released the file's lock
    Path(str(path) + ".pt").unlink()
    with pytest.raises(ValueError, match="checkpoint"):
        run(pbt(epochs=1), storage=path)


# -- bad arguments ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("kwargs, match", [
    ({"space": {"lr": Float(0.01, 1.0)}}, "space="),
    ({"space": Space({"lr": Float(0.01, 1.0), "dropout": Float(0.0, 0.5)})}, "dropout"),
    ({"space": Space({"momentum": Float(0.0, 0.9)})}, "lr is needed"),
    ({"space": Space({"lr": Float(0.01, 1.0), "momentum": Float(0.5, 1.0)})}, "momentum"),
    ({"space": Space({"lr": Choice([0.1, -1.0])})}, "lr"),
    ({"population": 1}, "population=1"),
    ({"population": 2.0}, "population=2.0"),
    ({"epochs": 0}, "epochs=0"),
    ({"interval": 0}, "interval=0"),
    ({"interval": True}, "interval=True"),
    ({"batch_size": 0}, "batch_size=0"),
    ({"fraction": 0.0}, "fraction=0.0"),
    ({"fraction": 0.6}, "fraction=0.6"),
    ({"factors": ()}, "factors="),
    ({"factors": (0.8, -1.2)}, "factors="),
    ({"factors": (0.8, math.inf)}, "factors="),
    ({"resample_prob": 1.5}, "resample_prob=1.5"),
    ({"metric": "accuracy"}, "metric='accuracy'"),
    ({"fixed": {"nesterov": True}}, "fixed="),
    ({"fixed": {"momentum": 1.0}}, "momentum"),
    ({"fixed": {"weight_decay": -1.0}}, "weight_decay"),
    ({"seed": -1}, "seed=-1"),
    ({"seed": 1.5}, "seed=1.5"),
])
def test_bad_arguments_raise_value_error_naming_them(kwargs, match):
    with pytest.raises(ValueError, match=match):
        pbt(**kwargs)


def test_members_of_different_shapes_are_refused():
    with pytest.raises(ValueError, match=r"models\[1\]"):
        pbt().run(lambda i: mlp((20, 8 + i, 3), seed=i), toy(), device="cpu", progress=False)


@pytest.mark.parametrize("kwargs, match", [
    ({"make_model": "mlp"}, "make_model="),
    ({"callbacks": lambda history: None}, "callbacks="),
    ({"callbacks": [None]}, "callbacks="),
    ({"device": "gpu"}, "device='gpu'"),
    ({"data": toy()[:3]}, "data"),
])
def test_bad_run_arguments_raise_value_error_before_training(kwargs, match, tmp_path):
    options = {"make_model": make_model, "data": toy(), "device": "cpu", "progress": False,
               "storage": tmp_path / "pbt.jsonl", **kwargs}
    with pytest.raises(ValueError, match=match):
        pbt().run(**options)
    assert not (tmp_path / "pbt.jsonl.pt").exists()  # nothing trained, no checkpoint


def test_founders_of_a_made_up_history():
    history = History()
    rows = [(0, 0, 0), (0, 1, 1), (0, 2, 2), (1, 0, 0), (1, 1, 0), (1, 2, 2), (2, 0, 1), (2, 1, 1), (2, 2, 1)]
    for number, (r, m, parent) in enumerate(rows):
        history.append(Trial(number, {"lr": 0.1}, 1.0, info={"round": r, "member": m, "parent": parent},
                             start_step=r, budget=r + 1))
    assert founders(history) == {0}  # round 2 copies member 1, which had copied member 0


def test_schedule_of_repeats_each_intervals_value_for_its_epochs():
    trials = [Trial(0, {"lr": 0.1}, 1.0, start_step=0, budget=2), Trial(1, {"lr": 0.05}, 1.0, start_step=2, budget=3),
              Trial(2, {"lr": 0.2}, 1.0, start_step=3, budget=6)]
    assert schedule_of(trials) == [0.1, 0.1, 0.05, 0.2, 0.2, 0.2]
    assert schedule_of([]) == []
