"""Batch search: ``search(objective, space, batch_size=k)`` (``parallel.BatchBackend``) and the
batch objective ``BatchTraining``. The oracle is the sequential search of ``obj([params])[0]``."""

import math

import pytest
import torch

from amsearch_lab import Choice, Float, History, Int, Space, search
from amsearch_lab.models import mlp
from amsearch_lab.optim import SGD, fit
from amsearch_lab.population import BatchTraining
from amsearch_lab.study import StopSearch

torch.set_num_threads(1)  # tiny models: threads only contend on a shared machine

LR_SPACE = Space({"lr": Float(1e-3, 3.0, log=True), "momentum": Float(0.0, 0.9)})
SPACE = Space({"x": Float(-2.0, 2.0), "n": Int(1, 5), "kind": Choice(["a", "b"])})


def toy(n=96, seed=0):
    """A small learnable 3-class problem: 20 features, the label is argmax of a fixed linear map."""
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, 20, generator=g)
    y = (x @ torch.randn(20, 3, generator=g)).argmax(dim=1)
    return x, y, x[: n // 3], y[: n // 3]


def training(**kwargs):
    options = {"epochs": 2, "batch_size": 32, "device": "cpu", **kwargs}
    return BatchTraining(lambda: mlp((20, 8, 3), seed=0), toy(), **options)


class Recorder:
    """A cheap batch objective, ``(x - 0.5)^2 + n`` (+1 for kind b), that keeps every call's batch."""

    def __init__(self):
        self.calls = []

    def __call__(self, batch):
        self.calls.append([dict(p) for p in batch])
        return [(p["x"] - 0.5) ** 2 + p["n"] + (p["kind"] == "b") for p in batch]


def fields(history):
    """Every field of every trial but the clock's and the process's."""
    return [{k: v for k, v in vars(t).items() if k not in ("start", "duration", "worker")} for t in history]


# -- the same search, in batches ------------------------------------------------------------------------
def test_batch_search_equals_the_sequential_search_and_keeps_the_journal():
    obj = training()
    batched = search(obj, LR_SPACE, budget=7, seed=3, batch_size=3, progress=False)
    sequential = search(lambda p: obj([p])[0], LR_SPACE, budget=7, seed=3, progress=False)
    assert [t.params for t in batched] == [t.params for t in sequential]
    assert [t.value for t in batched] == pytest.approx([t.value for t in sequential], abs=1e-6)
    assert [t.info["val_loss"] for t in batched] == pytest.approx([t.info["val_loss"] for t in sequential], abs=1e-6)
    # the journal: told in the order asked; 3 asked before the first tell, the last batch of 1
    assert [t.asked for t in batched] == [t.number for t in batched] == list(range(7))
    assert [t.n_asked for t in batched] == [3, 3, 3, 6, 6, 6, 7]
    assert all(t.ok for t in batched) and len({t.start for t in batched}) == 3  # one start per batch
    # and the sequential path of the objective gives the same values
    by_fit = training(vectorized=False)([t.params for t in batched])
    assert [v for v, _ in by_fit] == pytest.approx([t.value for t in batched], abs=1e-5)


def test_a_configuration_is_worth_what_fit_gives_it():
    obj = training(fixed={"weight_decay": 1e-3}, seed=4)
    (value, info), = obj([{"lr": 0.2, "momentum": 0.5}])
    model = mlp((20, 8, 3), seed=0)
    result = fit(model, toy(), SGD(model.parameters(), lr=0.2, momentum=0.5, weight_decay=1e-3), epochs=2,
                 batch_size=32, seed=4, progress=False, device="cpu")
    assert value == pytest.approx(1 - result.records[-1]["val_acc"], abs=1e-6)
    assert info["val_loss"] == pytest.approx(result.records[-1]["val_loss"], abs=1e-5)
    (value, info), = training(metric="val_loss", fixed={"weight_decay": 1e-3}, seed=4)([{"lr": 0.2, "momentum": 0.5}])
    assert value == info["val_loss"] == pytest.approx(result.records[-1]["val_loss"], abs=1e-5)
    assert training()([]) == []


def test_batch_size_larger_than_the_budget_and_a_grid_that_runs_out():
    rec = Recorder()
    assert len(search(rec, SPACE, budget=2, seed=0, batch_size=5, progress=False)) == 2
    assert [len(c) for c in rec.calls] == [2]
    rec = Recorder()
    grid = Space({"x": Float(-2.0, 2.0, step=1.0)})  # 5 points
    history = search(lambda batch: rec([{**p, "n": 1, "kind": "a"} for p in batch]), grid, strategy="grid",
                     budget=10, batch_size=3, progress=False)
    assert len(history) == 5 and [len(c) for c in rec.calls] == [3, 2]


def test_the_backend_evaluates_what_was_submitted_since_the_last_wait_in_one_call():
    from amsearch_lab.fidelity import Job
    from amsearch_lab.parallel import BatchBackend, Task

    rec = Recorder()
    backend = BatchBackend(rec, n_workers=3)
    params = [{"x": 0.5, "n": i, "kind": "a"} for i in (1, 2, 3)]

    def submit(p):
        return backend.submit(Task(Job(params=p), 0, None, None, 0.0, None, False, False))

    first, second = submit(params[0]), submit(params[1])
    assert rec.calls == [] and backend.wait([first, second]) == {first, second}
    third = submit(params[2])
    assert backend.wait([first, third]) == {first}  # a result is waiting: nothing is evaluated
    assert backend.wait([third]) == {third} and [len(c) for c in rec.calls] == [2, 1]
    trials = [backend.result(h)[0] for h in (first, second, third)]
    assert [(t.params, t.value) for t in trials] == [(p, p["n"]) for p in params]
    assert trials[0].start == trials[1].start and trials[0].duration == trials[1].duration >= 0
    backend.release(first)
    assert first not in backend.done


# -- resume ---------------------------------------------------------------------------------------------
def stop_at(number):
    def callback(trial, history):
        if trial.number == number:
            raise StopSearch
    return callback


@pytest.mark.parametrize("make", [Recorder, training])
def test_a_stopped_batch_search_resumes_to_the_uninterrupted_one(tmp_path, make):
    space = SPACE if make is Recorder else LR_SPACE
    whole = search(make(), space, budget=8, seed=2, batch_size=3, progress=False)
    path = tmp_path / "batch.jsonl"
    first = make()
    stopped = search(first, space, budget=8, seed=2, batch_size=3, progress=False, storage=path,
                     callbacks=[stop_at(4)])
    assert len(stopped) == 6  # the batch of trial 4 was evaluated in one call: all of it is kept
    second = make()
    resumed = search(second, space, budget=8, seed=2, batch_size=3, progress=False, storage=path)
    assert fields(resumed) == fields(whole)
    assert fields(History.load(path)) == fields(whole)
    if make is Recorder:  # nothing stored was evaluated again
        assert [len(c) for c in first.calls] == [3, 3] and [len(c) for c in second.calls] == [2]


def test_a_file_cut_inside_a_batch_runs_the_lost_jobs_first(tmp_path):
    whole = search(Recorder(), SPACE, budget=9, seed=5, batch_size=3, progress=False)
    path = tmp_path / "batch.jsonl"
    search(Recorder(), SPACE, budget=9, seed=5, batch_size=3, progress=False, storage=path)
    lines = path.read_text().splitlines(keepends=True)
    path.write_text("".join(lines[:4]))  # trials 0-3: trials 4 and 5 of the second batch are lost
    rec = Recorder()
    resumed = search(rec, SPACE, budget=9, seed=5, batch_size=3, progress=False, storage=path)
    assert [c for c in rec.calls] == [[whole[4].params, whole[5].params, whole[6].params],
                                      [whole[7].params, whole[8].params]]
    assert [(t.params, t.value, t.asked) for t in resumed] == [(t.params, t.value, t.asked) for t in whole]


# -- failures -------------------------------------------------------------------------------------------
def test_a_nan_fails_only_its_trial():
    history = search(lambda batch: [1.0, math.nan, 2.0][: len(batch)], SPACE, budget=3, seed=0, batch_size=3,
                     progress=False)
    assert [t.status for t in history] == ["ok", "failed", "ok"]
    assert history[1].value is None and history[1].error == "objective returned nan"


def test_a_diverging_configuration_is_a_failed_trial_with_storage_too(tmp_path):
    space = Space({"lr": Choice([0.1, 1e30])})
    for storage in (None, tmp_path / "h.jsonl"):
        history = search(training(), space, strategy="grid", budget=2, batch_size=2, progress=False, storage=storage)
        assert [t.status for t in history] == ["ok", "failed"]
        assert history[1].error == "objective returned nan"
        assert history[1].info == {"val_loss": None, "val_acc": None, "train_loss": None}


def test_an_exception_fails_its_whole_batch_and_the_search_goes_on():
    calls = []

    def objective(batch):
        calls.append(len(batch))
        if len(calls) == 2:
            raise RuntimeError("out of memory")
        return [p["x"] for p in batch]

    history = search(objective, SPACE, budget=8, seed=0, batch_size=3, progress=False)
    assert [t.status for t in history] == ["ok"] * 3 + ["failed"] * 3 + ["ok"] * 2
    assert all(t.error == "RuntimeError: out of memory" for t in history if not t.ok)
    calls.clear()
    with pytest.raises(RuntimeError, match="out of memory"):
        search(objective, SPACE, budget=8, seed=0, batch_size=3, progress=False, catch=False)


def test_a_wrong_number_of_values_fails_the_batch_saying_so():
    history = search(lambda batch: [0.0] * (len(batch) - 1), SPACE, budget=3, seed=0, batch_size=3, progress=False)
    assert [t.status for t in history] == ["failed"] * 3
    assert all("returned 2 values for 3 params" in t.error for t in history)


def test_a_genetic_search_waits_at_generation_ends_and_matches_the_sequential_one():
    options = {"population": 5}
    rec = Recorder()
    batched = search(rec, SPACE, strategy="genetic", options=options, budget=12, seed=1, batch_size=3, progress=False)
    sequential = search(lambda p: Recorder()([p])[0], SPACE, strategy="genetic", options=options, budget=12, seed=1,
                        progress=False)
    assert [(t.params, t.value) for t in batched] == [(t.params, t.value) for t in sequential]
    # generation 1: 5 children in calls of 3 + 2; then 4 a generation (the elite is not evaluated
    # again): 3 + 1, and the budget's last 3
    assert [len(c) for c in rec.calls] == [3, 2, 3, 1, 3]


# -- bad arguments --------------------------------------------------------------------------------------
def multi_fidelity(params, run):
    return 0.0


@pytest.mark.parametrize("kwargs, match", [
    ({"batch_size": 2, "n_workers": 2}, "batch_size=2"),
    ({"batch_size": 2, "n_workers": 1}, "n_workers=1"),
    ({"batch_size": 2, "executor": "process"}, "executor='process'"),
    ({"batch_size": 0}, "batch_size=0"),
    ({"batch_size": True}, "batch_size=True"),
    ({"batch_size": 2.5}, "batch_size=2.5"),
    ({"batch_size": 2, "objective": multi_fidelity}, "multi-fidelity"),
])
def test_search_refuses_bad_batch_arguments(kwargs, match):
    rec = Recorder()
    objective = kwargs.pop("objective", rec)
    with pytest.raises(ValueError, match=match):
        search(objective, SPACE, budget=3, progress=False, **kwargs)
    assert rec.calls == []


@pytest.mark.parametrize("kwargs, match", [
    ({"make_model": "mlp"}, "make_model="),
    ({"epochs": 0}, "epochs=0"),
    ({"epochs": 1.5}, "epochs=1.5"),
    ({"metric": "val_acc"}, "metric='val_acc'"),
    ({"fixed": {"nesterov": True}}, "fixed="),
    ({"batch_size": 0}, "batch_size=0"),
    ({"seed": "0"}, "seed='0'"),
])
def test_batch_training_refuses_bad_arguments(kwargs, match):
    options = {"make_model": lambda: mlp((20, 8, 3), seed=0), "data": toy(), **kwargs}
    with pytest.raises(ValueError, match=match):
        BatchTraining(**options)


def test_batch_training_refuses_params_it_cannot_train():
    with pytest.raises(ValueError, match="'lr'"):
        training()([{"momentum": 0.5}])
    with pytest.raises(ValueError, match="dropout"):
        training()([{"lr": 0.1, "dropout": 0.5}])
    with pytest.raises(ValueError, match=r"momentum\[1\]"):
        training()([{"lr": 0.1, "momentum": 0.5}, {"lr": 0.1, "momentum": 1.5}])
