"""The scale benchmark harness: a tiny sequential run through ``main`` prints its table and goals and
saves rows that ``--from-csv`` prints again; bad arguments stop it with a clear error before any
search; the summary and the goals read what they claim (speed-ups per seed, configurations check
that can fail); a parallel smoke test runs the process pool and Dask modes on 2 workers. No timing
is asserted: the figures are printed by ``python -m amsearch_lab.bench scale``."""

import math
import pickle

import pandas as pd
import pytest

from amsearch_lab import search
from amsearch_lab.bench import BENCHMARKS, scale
from amsearch_lab.history import Trial
from amsearch_lab.strategies import RandomSearch

TINY = ["--seeds", "1", "--budget", "3"]


def test_main_tiny_sequential_run_and_from_csv(tmp_path, capsys):
    assert "scale" in BENCHMARKS
    csv = tmp_path / "scale.csv"
    assert scale.main([*TINY, "--modes", "sequential", "--csv", str(csv)]) == 0
    out = capsys.readouterr().out
    assert "speed-up [min-max]" in out and "overhead ms/trial" in out and "same configs" in out
    table = out[out.index("mode "):]
    assert [line.split()[0] for line in table.splitlines()[2:3]] == ["sequential"]
    assert "(a) lab over Dask" in out and "(b) lab over a process pool" in out and "not checked" in out
    rows = pd.read_csv(csv)
    assert list(rows.columns) == scale.COLUMNS
    assert list(rows["mode"]) == ["sequential"] and rows["trials"].tolist() == [3] and rows["used"].tolist() == [1]
    assert rows["same_configs"].tolist() == [True]
    assert 0 <= rows["start_s"][0] < rows["wall_s"][0] and 0 < rows["busy_s"][0] <= rows["wall_s"][0]
    # the saved rows print the same figures without running anything
    assert scale.main(["--from-csv", str(csv)]) == 0
    again = capsys.readouterr().out
    assert again[again.index("random forest on digits"):] == out[out.index("random forest on digits"):out.index("\ntotal ")]


@pytest.mark.parametrize("argv, message", [
    (["--seeds", "0"], "--seeds=0"),
    (["--budget", "0"], "budget=0"),
    (["--workers", "1"], "workers=1"),
    (["--modes", "pool,sequential"], "must start with 'sequential'"),
    (["--modes", "sequential,threads"], "mode 'threads' is unknown"),
    (["--mf", "--mf-max-epochs", "10"], "max_epochs=10"),
    (["--mf", "--mf-resource-budget", "0"], "--mf-resource-budget=0"),
    (["--from-csv", "x.csv", "--csv", "y.csv"], "--from-csv prints saved rows"),
])
def test_bad_arguments_stop_before_any_search(argv, message, capsys, monkeypatch):
    monkeypatch.setattr(scale, "search", lambda *a, **k: pytest.fail("a search ran"))
    with pytest.raises(SystemExit) as e:
        scale.main(argv)
    assert e.value.code == 2
    assert message in capsys.readouterr().err


def test_from_csv_rejects_other_files(tmp_path, capsys):
    other = tmp_path / "other.csv"
    other.write_text("a,b\n1,2\n")
    for path, message in ((other, "has the columns"), (tmp_path / "missing.csv", "cannot be read")):
        with pytest.raises(SystemExit):
            scale.main(["--from-csv", str(path)])
        assert message in capsys.readouterr().err


def test_same_configurations_can_fail():
    a, b, c = {"x": 1, "y": "sqrt"}, {"x": 2, "y": "sqrt"}, {"x": 3, "y": "log2"}
    assert scale.same_configurations([a, b, c], [c, a, b]) == (True, [], [])  # order does not matter
    assert scale.same_configurations([a, b], [a, c]) == (False, [b], [c])
    assert scale.same_configurations([a, a, b], [a, b, b]) == (False, [a], [b])  # as many times each
    assert scale.same_configurations([a, b], [a, b, c]) == (False, [], [c])


def _rows(walls: dict, same=True) -> pd.DataFrame:
    """Rows for two seeds: ``walls[mode] = (wall seed 0, wall seed 1)``, a 1 s start for parallel modes."""
    rows = []
    for mode, per_seed in walls.items():
        for seed, wall in enumerate(per_seed):
            parallel = mode != "sequential"
            rows.append({"workload": "forest", "mode": mode, "seed": seed, "workers": 2 if parallel else 1,
                         "used": 2 if parallel else 1, "trials": 40, "wall_s": wall, "start_s": 1.0 if parallel else 0.0,
                         "busy_s": 18.0, "best": 0.93, "to_target_s": wall / 2,
                         "same_configs": same if parallel else True})
    return pd.DataFrame(rows, columns=scale.COLUMNS)


def test_summary_speedups_and_goals():
    frame = _rows({"sequential": (20.0, 18.0), "pool": (10.0, 10.0), "dask": (13.0, 9.0)})
    summary = scale.summarize(frame).set_index("mode")
    assert summary.loc["pool", "speedup"] == pytest.approx(1.9)  # median of 2.0 and 1.8
    assert (summary.loc["pool", "speedup_min"], summary.loc["pool", "speedup_max"]) == pytest.approx((1.8, 2.0))
    assert summary.loc["pool", "speedup_run"] == pytest.approx((20 / 9 + 18 / 9) / 2)
    assert summary.loc["pool", "overhead_ms"] == pytest.approx((10 * 2 - 18) / 40 * 1000)
    assert summary.loc["sequential", "overhead_ms"] == pytest.approx((19 - 18) / 40 * 1000)
    holds = {goal[:3]: verdict for goal, verdict, _ in scale.goals(summary.reset_index())}
    assert holds == {"(a)": True, "(b)": True, "(c)": True}  # dask: median of 20/13 and 2.0 = 1.77
    slow = _rows({"sequential": (20.0, 18.0), "pool": (12.0, 12.0), "dask": (15.0, 15.0)}, same=False)
    goals = scale.goals(scale.summarize(slow))
    assert [verdict for _, verdict, _ in goals] == [False, False, False]
    assert "1.27x [1.20-1.33]" in goals[0][2] and "seeds [0, 1]" in goals[2][2]


def test_report_prints_not_met_and_differing_configurations(capsys):
    scale.report(_rows({"sequential": (20.0, 18.0), "pool": (12.0, 12.0)}, same=False))
    out = capsys.readouterr().out
    assert "NO [0, 1]" in out
    assert "(b) lab over a process pool: median wall-clock speed-up >= 1.85x on 2 workers: NOT met (1.58x" in out
    assert "(a) lab over Dask" in out and "not checked (dask not run)" in out
    assert "(c) every parallel run evaluated exactly the sequential run's configurations: NOT met" in out


def test_time_to_target():
    trials = [Trial(number=i, params={}, value=v, start=100.0 + i, duration=0.5) for i, v in enumerate([0.5, 0.9, 0.9])]
    assert scale.time_to_target(trials, 100.0, 0.9) == pytest.approx(1.5)
    assert math.isnan(scale.time_to_target(trials, 100.0, 0.95))
    trials[1].curve = [[1, 0.9]]  # trained to step 1 only
    trials[2].curve = [[3, 0.9]]
    assert scale.time_to_target(trials, 100.0, 0.9, full=3) == pytest.approx(2.5)


def test_objective_pickles_small_and_scores_the_same():
    objective = scale.DigitsForest()
    params = {"n_estimators": 5, "max_depth": 3, "max_features": "sqrt", "min_samples_leaf": 2}
    data = pickle.dumps(objective)
    assert len(data) < 1000  # the settings, not the pixels
    assert pickle.loads(data)(params) == objective(params)
    with pytest.raises(ValueError, match="folds=1"):
        scale.DigitsForest(folds=1)


def test_reference_script_draws_the_searchs_configurations():
    """scripts/scale_reference.py asks RandomSearch(forest_space(), seed) directly: the same
    configurations, in the same order, as search(..., seed=seed)."""
    space = scale.forest_space()
    history = search(lambda p: 0.0, space, "random", budget=10, seed=3, progress=False)
    strategy = RandomSearch(space, seed=3)
    assert [t.params for t in history] == [strategy.ask() for _ in range(10)]


def test_parallel_smoke_pool_and_dask():
    modes = ("sequential", "pool", "dask", "dask-client")
    rows = scale.run_forest(seeds=[0], budget=4, workers=2, modes=modes)
    assert [r["mode"] for r in rows] == list(modes)
    assert all(r["same_configs"] and r["trials"] == 4 for r in rows)
    assert len({r["best"] for r in rows}) == 1  # the same configurations score the same on any worker
    assert [r["workers"] for r in rows] == [1, 2, 2, 2]
    assert all(0 <= r["start_s"] < r["wall_s"] and r["to_target_s"] <= r["wall_s"] for r in rows)


def test_mf_asha_tiny(capsys):
    rows = scale.run_mf_asha(seeds=[0], workers=2, resource_budget=8, n_train=200, n_val=200, max_epochs=3)
    assert [(r["workload"], r["mode"]) for r in rows] == [("mf-asha", "sequential"), ("mf-asha", "pool")]
    assert not math.isnan(rows[0]["best"]) and rows[0]["to_target_s"] <= rows[0]["wall_s"]
    scale.report(pd.concat([_rows({"sequential": (20.0, 18.0)}), pd.DataFrame(rows, columns=scale.COLUMNS)]))
    assert "multi-fidelity: ASHA" in capsys.readouterr().out


def test_reference_printed_beside_at_its_settings(tmp_path, monkeypatch, capsys):
    reference = tmp_path / "scale_reference.csv"
    reference.write_text("tool,seed,workers,trials,wall_s,speedup,load_1min,version,measured\n"
                         "sequential-loop,0,1,40,20.0,1.0,0.5,python 3.11,2026-01-02\n"
                         "joblib,0,2,40,12.5,1.6,0.6,joblib 1.6.0,2026-01-02\n"
                         "joblib,1,2,40,14.0,1.4,0.4,joblib 1.6.0,2026-01-02\n")
    monkeypatch.setattr(scale, "REFERENCE_PATH", reference)
    scale.report(_rows({"sequential": (20.0, 18.0), "pool": (10.0, 10.0)}))
    out = capsys.readouterr().out
    assert "reference, measured by scripts/scale_reference.py on 2026-01-02" in out
    joblib_line = next(line for line in out.splitlines() if line.startswith("joblib"))
    assert joblib_line.split()[1:] == ["2", "2", "13.25", "1.50", "[1.40-1.60]", "0.50", "joblib", "1.6.0"]
    scale.report(_rows({"sequential": (20.0, 18.0), "pool": (10.0, 10.0)}).assign(trials=8))
    assert "not compared" in capsys.readouterr().out
