"""The hpo benchmark harness: it covers every registered black-box strategy, its regret matches
the task's definition, and the summary reads the checkpoints it claims to read."""

import numpy as np
import pytest

from amsearch_lab import STRATEGIES
from amsearch_lab.bench import hpo
from amsearch_lab.tasks import TASKS


def test_default_strategies_are_every_blackbox_strategy():
    expected = {n for n, cls in STRATEGIES.items() if getattr(cls, "blackbox", True) is not False}
    assert set(hpo.blackbox_strategies()) == expected


def test_rows_curves_and_regret():
    frame = hpo.run_hpo(["random"], ["branin"], budget=6, seeds=[0, 1])
    assert len(frame) == 2 * 6
    branin = TASKS["branin"]
    for _, run in frame.groupby("seed"):
        values = run["value"].to_numpy()
        np.testing.assert_allclose(run["best"], np.minimum.accumulate(values))
        np.testing.assert_allclose(run["regret"], np.abs(np.minimum.accumulate(values) - branin.optimum))
    assert (frame["overhead_s"] >= 0).all()


def test_grid_has_at_least_budget_points():
    space = TASKS["hartmann6"].space
    options = hpo.default_options("grid", space, 50)
    assert len(space.grid(options["n"])) >= 50 and options["shuffle"]
    frame = hpo.run_hpo(["grid"], ["hartmann6"], budget=50, seeds=[0])
    assert len(frame) == 50


def test_summarize_reads_the_checkpoints():
    frame = hpo.run_hpo(["random"], ["branin"], budget=8, seeds=range(5))
    summary = hpo.summarize(frame, checkpoints=(3, 8))
    at3 = frame[frame.trial == 3]["regret"].to_numpy()
    row = summary.iloc[0]
    assert row["median@3"] == pytest.approx(np.median(at3))
    q25, q75 = np.percentile(at3, [25, 75])
    assert row["iqr@3"] == pytest.approx(q75 - q25)


def test_task_without_optimum_reports_best_value():
    frame = hpo.run_hpo(["random"], ["regression"], budget=3, seeds=[0])
    assert frame["regret"].isna().all()
    summary = hpo.summarize(frame, checkpoints=(3,))
    assert summary.iloc[0]["metric"] == "best"
    assert summary.iloc[0]["median@3"] == pytest.approx(frame["value"].min())


def test_main_prints_the_table(capsys):
    assert hpo.main(["--budget", "4", "--seeds", "2", "--tasks", "branin", "--strategies", "random"]) == 0
    out = capsys.readouterr().out
    assert "branin" in out and "random" in out and "ms/eval" in out


def test_unknown_strategy_is_named():
    with pytest.raises(ValueError, match="nope"):
        hpo.run_hpo(["nope"], ["branin"], budget=2, seeds=[0])
