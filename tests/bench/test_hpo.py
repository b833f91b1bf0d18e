"""The hpo benchmark harness: it covers every registered black-box strategy (multi-fidelity ones aside), its regret matches
the task's definition, the summary reads the checkpoints it claims to read, and each run is a
plain ``search()`` with a clock on the strategy (same curves, objective off the clock)."""

import time

import numpy as np
import pytest

from amsearch_lab import STRATEGIES, Float, RandomSearch, Space, search
from amsearch_lab.bench import hpo
from amsearch_lab.tasks import TASKS, Task


def test_default_strategies_are_every_blackbox_strategy():
    """Every black-box strategy but the multi-fidelity ones, which bench mf compares at equal epochs."""
    expected = {n for n, cls in STRATEGIES.items()
                if getattr(cls, "blackbox", True) is not False and not getattr(cls, "multi_fidelity", False)}
    assert set(hpo.blackbox_strategies()) == expected
    assert {"sha", "hyperband", "bohb", "asha", "median"}.isdisjoint(expected)


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


# -- the benchmark runs search(), the one loop, with a clock on the strategy ------------------------------
@pytest.mark.parametrize("strategy, task, seed, budget", [
    ("random", "branin", 0, 15), ("bayes", "branin", 1, 13), ("greedy", "hartmann6", 2, 20),
    ("genetic", "rosenbrock4", 0, 25), ("evolution", "rastrigin5", 1, 25), ("grid", "hartmann6", 0, 20)])
def test_run_one_gives_the_curve_of_a_plain_search(strategy, task, seed, budget):
    """Timing a strategy changes nothing it does: the rows are those of ``search()`` without the clock."""
    task = TASKS[task]
    rows = hpo.run_one(strategy, task, budget, seed)
    history = search(task.objective, task.space, strategy, budget=budget, seed=seed, minimize=task.minimize,
                     options=hpo.default_options(strategy, task.space, budget), progress=False)
    assert [r["trial"] for r in rows] == list(range(1, len(history) + 1))
    assert [r["value"] for r in rows] == [t.value for t in history]
    assert [r["best"] for r in rows] == list(history.best_so_far())
    assert [r["regret"] for r in rows] == [abs(b - task.optimum) for b in history.best_so_far()]


def test_an_exhausted_grid_ends_the_run_early():
    rows = hpo.run_one("grid", TASKS["branin"], 30, 0, options={"n": 3})
    assert len(rows) == 3 * 3
    assert rows[-1]["best"] == min(r["value"] for r in rows)


def test_failed_evaluations_are_rows_with_a_nan_value():
    def objective(params):
        if params["x"] > 0.5:
            raise RuntimeError("diverged")
        return params["x"]

    task = Task("half_fails", "fails on the right half", lambda: Space({"x": Float(0.0, 1.0)}), objective)
    rows = hpo.run_one("random", task, 20, 0)
    values = np.array([r["value"] for r in rows])
    assert len(rows) == 20 and np.isnan(values).any() and not np.isnan(values).all()
    np.testing.assert_array_equal([r["best"] for r in rows], np.fmin.accumulate(values))
    assert all(np.isnan(r["regret"]) for r in rows)


class _SlowToAsk(RandomSearch):
    def ask(self):
        time.sleep(0.02)
        return super().ask()


def test_overhead_counts_the_strategy_and_not_the_objective(monkeypatch):
    monkeypatch.setitem(hpo.STRATEGIES, "slow", _SlowToAsk)

    def slow_objective(params):
        time.sleep(0.1)
        return params["x"]

    task = Task("slow", "a slow objective", lambda: Space({"x": Float(0.0, 1.0)}), slow_objective)
    overhead = np.array([r["overhead_s"] for r in hpo.run_one("slow", task, 5, 0)])
    assert (overhead >= 0.02).all()
    assert np.median(overhead) < 0.1


def test_timed_passes_every_call_through():
    space = TASKS["branin"].space
    timed = hpo.Timed(RandomSearch(space, seed=4))
    history = search(TASKS["branin"].objective, space, timed, budget=7, progress=False)
    plain = search(TASKS["branin"].objective, space, "random", budget=7, seed=4, progress=False)
    assert [t.params for t in history] == [t.params for t in plain]
    assert len(timed.ask_s_) == len(timed.tell_s_) == 7 and timed.strategy.trials_ == history.trials
    assert all(wall >= 0 and cpu >= 0 for wall, cpu in timed.ask_s_ + timed.tell_s_)


def test_reference_statistics_are_read_like_the_labs(tmp_path):
    path = tmp_path / "reference.csv"
    path.write_text("# a comment line\ntool,task,seed,regret@10,regret@25,regret@50,ms_per_eval\n"
                    + "".join(f"tool-a,branin,{s},{10 + s},{5 + s},{s},{1 + s}\n" for s in range(4)))
    ref = hpo.load_reference(path).iloc[0]
    assert (ref["task"], ref["strategy"]) == ("branin", "tool-a")
    assert ref["median@50"] == np.median([0, 1, 2, 3]) and ref["iqr@50"] == pytest.approx(2.25 - 0.75)
    assert ref["median@10"] == 11.5 and ref["ms_per_eval"] == 2.5


def test_ranks_per_task_share_ties_and_average_over_tasks():
    import pandas as pd

    summary = pd.DataFrame({"task": ["f", "f", "f", "g", "g", "g"], "strategy": ["a", "b", "c"] * 2,
                            "median@50": [1.0, 2.0, 2.0, 3.0, 1.0, 2.0]})
    ranks = hpo.rank_table(summary)
    assert ranks.loc["b", "f"] == ranks.loc["c", "f"] == 2.5  # a tie shares the mean rank
    assert ranks.loc["a", "mean rank"] == (1 + 3) / 2 and list(ranks.index)[0] in ("a", "b")
    assert ranks["mean rank"].is_monotonic_increasing


def test_the_shipped_reference_covers_the_default_tasks():
    ref = hpo.load_reference()
    assert set(ref["task"]) == set(hpo.DEFAULT_TASKS)
    assert {"optuna-gp", "optuna-tpe", "optuna-random"} <= set(ref["strategy"])
