"""The mf benchmark harness: a tiny run through ``main`` prints its table and goals, stays within
the epoch cap, picks a configuration trained to R epochs and reads the test split once per run;
the timing wrapper changes nothing a strategy does; the summaries and goals read what they claim."""

import math

import numpy as np
import pandas as pd
import pytest

from amsearch_lab import search
from amsearch_lab.bench import mf
from amsearch_lab.curves import MnistMLP, SyntheticCurves
from amsearch_lab.strategies import MedianStopping

TINY = ["--seeds", "1", "--n-train", "300", "--n-val", "300", "--max-epochs", "3", "--resource-budget", "12"]


@pytest.fixture
def test_reads(monkeypatch):
    """Every call of ``MnistMLP.test_accuracy``: the epoch its checkpoint reached and what it returned."""
    calls = []
    real = MnistMLP.test_accuracy

    def counted(self, state):
        accuracy = real(self, state)
        calls.append((state["epoch"], accuracy))
        return accuracy

    monkeypatch.setattr(MnistMLP, "test_accuracy", counted)
    return calls


def test_main_tiny_run(tmp_path, capsys, test_reads):
    csv = tmp_path / "mf.csv"
    assert mf.main([*TINY, "--strategies", "random-full,sha,median", "--csv", str(csv)]) == 0
    out = capsys.readouterr().out
    assert "best val [IQR]" in out and "stop µs/step" in out and "ranking by median best val" in out
    for name in ("random-full", "sha", "median"):
        assert name in out
    assert "(b) every multi-fidelity strategy" in out and "(c) should_stop" in out
    rows = pd.read_csv(csv)
    assert list(rows.columns) == mf.COLUMNS
    assert list(rows["strategy"]) == ["random-full", "sha", "median"]
    assert (rows["epochs"] <= 12).all()
    assert (rows["completed"] >= 1).all()
    # the test split was read once per run, for a checkpoint trained to all 3 epochs: the pick's
    assert [epoch for epoch, _ in test_reads] == [3, 3, 3]
    np.testing.assert_allclose(rows["test_acc"], [accuracy for _, accuracy in test_reads], atol=1e-6)
    # the saved rows print the same figures without training
    assert mf.main([*TINY, "--from-csv", str(csv)]) == 0
    again = capsys.readouterr().out
    assert again[again.index("best val = "):] == out[out.index("best val = "):out.index("\ntotal ")]
    assert len(test_reads) == 3


def test_run_one_picks_the_best_full_length_trial(test_reads):
    bench = MnistMLP(n_train=300, n_val=300, max_epochs=3, seed=1)
    row, curve, history = mf.run_one("asha", bench, resource_budget=12)
    full = [t for t in history if t.ok and t.curve[-1][0] == 3]
    best = max(t.value for t in full)
    assert row["best_val"] == pytest.approx(best, abs=1e-6)
    first_best = next(t for t in full if t.value == best)
    assert {k: row[k] for k in first_best.params} == first_best.params
    assert len(test_reads) == 1 and test_reads[0][1] == pytest.approx(row["test_acc"], abs=1e-6)
    assert row["epochs"] == sum(t.resource for t in history) <= 12
    assert row["configs"] == len({t.config for t in history}) and row["trials"] == len(history)
    assert row["completed"] == len({t.config for t in full})
    assert curve.shape == (len(history), 2)
    assert np.all(np.diff(curve[:, 0]) >= 0) and curve[-1, 0] == row["epochs"]
    assert curve[-1, 1] == best


def test_schedules():
    space = MnistMLP.space()
    assert mf.make_strategy("random-full", space, 0).schedule_ == [(1, 27)]
    assert mf.make_strategy("sha", space, 0).schedule_ == [(27, 1), (9, 3), (3, 9), (1, 27)]
    median = mf.make_strategy("median+bayes", space, 0)
    assert median.sampler == "bayes" and median.max_budget == 27 and not median.minimize
    with pytest.raises(ValueError, match="nope"):
        mf.make_strategy("nope", space, 0)


@pytest.mark.parametrize("name", ["median", "sha", "asha"])
def test_timing_changes_nothing(name):
    """``TimedMF`` passes should_stop and may_continue through: the same trials as without the clock.
    (The strategies maximise, so here they maximise SyntheticCurves' loss: the direction does not matter.)"""
    curves = SyntheticCurves(crossing=1.0, noise=0.01, max_steps=9, seed=0)
    space = curves.space()
    timed = mf.TimedMF(mf.make_strategy(name, space, 3, max_epochs=9))
    plain = search(curves, space, mf.make_strategy(name, space, 3, max_epochs=9), budget=10**6, minimize=False,
                   progress=False, resource_budget=120)
    clocked = search(curves, space, timed, budget=10**6, minimize=False, progress=False, resource_budget=120)
    assert [(t.params, t.status, t.curve) for t in plain] == [(t.params, t.status, t.curve) for t in clocked]
    assert len(timed.stop_s_) == sum(len(t.curve) for t in clocked) - sum(
        t.error is not None and "resource_budget" in t.error for t in clocked)
    if name == "median":
        assert isinstance(timed.strategy, MedianStopping) and any(t.status == "stopped" for t in clocked)


def test_anytime_median():
    a = np.array([[3, np.nan], [6, 0.5], [9, 0.7]])
    b = np.array([[4, 0.6], [9, 0.6]])
    c = np.array([[9, np.nan]])
    median = mf.anytime_median([a, b, c], np.arange(10))
    # a run without a full-length result counts as -inf: the median is finite once two of three have one
    assert list(median[:6]) == [-np.inf] * 6
    assert list(median[6:]) == [0.5, 0.5, 0.5, 0.6]


def _summary(vals, stop_us):
    frame = pd.DataFrame([{"strategy": name, "seed": 0, "best_val": v, "test_acc": v, "epochs": 540, "configs": 1,
                           "completed": 1, "trials": 1, "seconds": 1.0, "ask_tell_ms": 0.1, "stop_us": stop_us}
                          for name, v in vals.items()])
    return mf.summarize(frame)


def test_goals():
    summary = _summary({"random-full": 0.90, "bohb": 0.93, "asha": 0.92}, stop_us=5.0)
    reference = _summary({"optuna-tpe-hyperband": 0.925}, stop_us=math.nan)
    verdicts = [holds for _, holds, _ in mf.goals(summary, reference)]
    assert verdicts == [True, True, True]
    summary = _summary({"random-full": 0.92, "bohb": 0.91, "asha": 0.93}, stop_us=150.0)
    verdicts = [holds for _, holds, _ in mf.goals(summary, None)]
    assert verdicts == [None, False, False]


def test_summarize_median_and_iqr():
    frame = pd.DataFrame({"strategy": "sha", "seed": range(5), "best_val": [0.1, 0.5, 0.2, 0.4, 0.3],
                          "test_acc": [0.1, 0.5, 0.2, 0.4, np.nan], "epochs": 540, "configs": 3, "completed": 1,
                          "trials": 4, "seconds": 2.0, "ask_tell_ms": 0.5, "stop_us": 3.0})
    row = mf.summarize(frame).iloc[0]
    assert row["val"] == pytest.approx(0.3) and row["val_iqr"] == pytest.approx(0.2)
    assert row["test"] == pytest.approx(0.3) and row["seeds"] == 5


def test_bad_arguments_are_named():
    with pytest.raises(ValueError, match="nope"):
        mf.run_mf(["nope"], seeds=[0])
    with pytest.raises(ValueError, match="eta"):
        mf.run_mf(["sha"], seeds=[0], eta=1)
    with pytest.raises(SystemExit):
        mf.main(["--seeds", "0"])
