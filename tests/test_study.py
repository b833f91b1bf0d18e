import json
import math
import os
import signal
import subprocess
import sys
import textwrap
import time
import warnings

import numpy as np
import pytest

from amsearch_lab import Choice, Float, History, Int, Space, StopSearch, Trial, search


def space():
    return Space({"x": Float(-3.0, 3.0), "k": Int(1, 9), "c": Choice(["a", "b"])})


def quadratic(params):
    return (params["x"] - 1) ** 2 + 0.1 * params["k"] + (params["c"] == "b")


def test_history_best_and_best_so_far():
    h = History(minimize=True)
    for i, v in enumerate([3.0, None, 2.0, 5.0, 1.0]):
        h.append(Trial(i, {"x": i}, value=v, status="ok" if v is not None else "failed"))
    assert h.best.number == 4
    assert h.best_so_far().tolist() == [3.0, 3.0, 2.0, 2.0, 1.0]
    h_max = History(minimize=False)
    h_max.trials = h.trials
    assert h_max.best.number == 3
    assert h_max.best_so_far().tolist() == [3.0, 3.0, 3.0, 5.0, 5.0]
    frame = h.to_frame()
    assert list(frame.columns[:2]) == ["number", "x"] and len(frame) == 5
    assert h.leaderboard(2).number.tolist() == [4, 2]


def test_best_so_far_is_nan_until_first_success():
    h = History()
    h.append(Trial(0, {}, status="failed", error="boom"))
    h.append(Trial(1, {}, value=2.0))
    curve = h.best_so_far()
    assert math.isnan(curve[0]) and curve[1] == 2.0


@pytest.mark.parametrize("minimize", [True, False])
def test_best_so_far_never_gets_worse(minimize):
    """A property of History whatever proposed the trials (moved here from the strategy contract
    suite, where it tested no strategy): the curve is the running best of the ok values."""
    rng = np.random.default_rng(5)
    h = History(minimize=minimize)
    values = np.where(rng.random(60) < 0.2, np.nan, rng.normal(size=60))  # NaN = a failed trial
    for i, v in enumerate(values):
        failed = bool(np.isnan(v))
        h.append(Trial(i, {"x": i}, value=None if failed else float(v), status="failed" if failed else "ok"))
    curve = h.best_so_far()
    steps = np.diff(curve[~np.isnan(curve)])
    assert (steps <= 0).all() if minimize else (steps >= 0).all()
    running = np.fmin.accumulate(values) if minimize else np.fmax.accumulate(values)
    np.testing.assert_array_equal(curve, running)
    assert h.best.value == curve[-1]


def test_jsonl_round_trip(tmp_path):
    history = search(quadratic, space(), "random", budget=8, seed=0, storage=tmp_path / "h.jsonl", progress=False)
    lines = (tmp_path / "h.jsonl").read_text().splitlines()
    assert len(lines) == 8
    assert json.loads(lines[0])["number"] == 0
    loaded = History.load(tmp_path / "h.jsonl")
    assert [t.params for t in loaded] == [t.params for t in history]
    assert [t.value for t in loaded] == [t.value for t in history]
    history.save(tmp_path / "copy.jsonl")
    assert (tmp_path / "copy.jsonl").read_text() == (tmp_path / "h.jsonl").read_text()


def test_raising_and_nan_objectives_make_failed_trials_and_the_search_completes():
    def objective(params):
        if params["k"] % 3 == 0:
            raise ZeroDivisionError("k is a multiple of 3")
        if params["c"] == "b":
            return float("nan")
        return quadratic(params)

    history = search(objective, space(), "random", budget=30, seed=1, progress=False)
    assert len(history) == 30
    failed = [t for t in history if t.status == "failed"]
    assert any("ZeroDivisionError: k is a multiple of 3" in t.error for t in failed)
    assert any("nan" in t.error for t in failed)
    assert all(t.value is None for t in failed)
    assert history.best is not None and history.best.params["c"] == "a"


def test_non_numeric_return_is_a_failed_trial():
    history = search(lambda p: "good", space(), "random", budget=3, seed=0, progress=False)
    assert all(t.status == "failed" and "real number" in t.error for t in history)


def test_catch_false_reraises_after_recording(tmp_path):
    def objective(params):
        raise RuntimeError("broken objective")

    path = tmp_path / "h.jsonl"
    with pytest.raises(RuntimeError, match="broken objective"):
        search(objective, space(), "random", budget=5, seed=0, storage=path, catch=False, progress=False)
    assert len(History.load(path)) == 1  # the failed trial was saved before re-raising


def test_keyboard_interrupt_stops_cleanly_and_keeps_the_history():
    calls = []

    def objective(params):
        calls.append(params)
        if len(calls) == 6:
            raise KeyboardInterrupt
        return quadratic(params)

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        history = search(objective, space(), "random", budget=20, seed=0, progress=False)
    assert len(history) == 5
    assert any("interrupted" in str(w.message) for w in caught)


def test_resume_reproduces_an_uninterrupted_run(tmp_path):
    full = search(quadratic, space(), "random", budget=20, seed=3, progress=False)
    path = tmp_path / "h.jsonl"
    search(quadratic, space(), "random", budget=8, seed=3, storage=path, progress=False)
    calls = []

    def counting(params):
        calls.append(params)
        return quadratic(params)

    resumed = search(counting, space(), "random", budget=20, seed=3, storage=path, progress=False)
    assert len(calls) == 12  # the 8 stored trials are not run again
    assert [t.params for t in resumed] == [t.params for t in full]
    assert [t.value for t in resumed] == [t.value for t in full]
    assert len(History.load(path)) == 20


def test_resume_with_another_seed_is_refused(tmp_path):
    path = tmp_path / "h.jsonl"
    search(quadratic, space(), "random", budget=4, seed=0, storage=path, progress=False)
    with pytest.raises(ValueError, match="cannot resume"):
        search(quadratic, space(), "random", budget=8, seed=1, storage=path, progress=False)


def test_grid_search_stops_when_the_grid_is_exhausted():
    small = Space({"k": Int(1, 3), "c": Choice(["a", "b"])})
    history = search(lambda p: p["k"], small, "grid", budget=100, progress=False)
    assert len(history) == 6
    assert history.best.params == {"k": 1, "c": "a"}


def test_callbacks_see_every_trial_and_can_stop_the_search():
    seen = []

    def callback(trial, history):
        seen.append((trial.number, len(history)))
        if trial.number == 4:
            raise StopSearch

    history = search(quadratic, space(), "random", budget=20, seed=0, progress=False, callbacks=[callback])
    assert len(history) == 5
    assert seen == [(i, i + 1) for i in range(5)]


def test_timeout_stops_starting_new_trials():
    def slow(params):
        time.sleep(0.05)
        return quadratic(params)

    history = search(slow, space(), "random", budget=1000, seed=0, timeout=0.3, progress=False)
    assert 2 <= len(history) < 20


def test_maximize_picks_the_largest_value():
    history = search(lambda p: -quadratic(p), space(), "random", budget=15, seed=0, minimize=False, progress=False)
    assert history.best.value == max(t.value for t in history)


@pytest.mark.parametrize(
    "kwargs, fragment",
    [({"budget": -1}, "budget=-1"), ({"budget": 2.5}, "budget=2.5"), ({"budget": True}, "budget=True"),
     ({"budget": "3"}, "budget='3'"), ({"timeout": 0}, "timeout=0"), ({"timeout": float("inf")}, "timeout=inf"),
     ({"timeout": True}, "timeout=True"), ({"strategy": "annealing"}, "unknown strategy 'annealing'"),
     ({"strategy": 5}, "strategy=5"), ({"strategy": dict}, "strategy=<class 'dict'>"),
     ({"seed": 1.5}, "seed=1.5"), ({"seed": "0"}, "seed='0'"), ({"seed": -1}, "seed=-1"), ({"seed": True}, "seed=True"),
     ({"options": {"foo": 1}}, "has no option 'foo'; its options are \\['step'\\]"),
     ({"options": "n=5"}, "options='n=5' must be a dict"), ({"options": [("step", 0.5)]}, "options=\\[\\("),
     ({"strategy": "grid", "options": {"n": "5"}}, "n='5'"),
     ({"strategy": "evolution", "options": {"population": "many"}}, "population='many'"),
     ({"minimize": "yes"}, "minimize='yes'"), ({"progress": None}, "progress=None"), ({"catch": 1}, "catch=1"),
     ({"callbacks": print}, "callbacks=<built-in function print>"), ({"callbacks": [5]}, "callbacks holds 5"),
     ({"space": 5}, "space=5"), ({"space": {}}, "dimensions={}"), ({"objective": 5}, "objective=5")],
)
def test_bad_arguments_are_named_before_any_evaluation(kwargs, fragment):
    calls = []
    args = {"objective": lambda p: calls.append(p) or quadratic(p), "space": space(), "budget": 3, **kwargs}
    with pytest.raises(ValueError, match=fragment):
        search(progress=args.pop("progress", False), **args)
    assert calls == []


def test_a_partial_grid_in_order_is_pointed_to_the_shuffled_order():
    small = Space({"k": Int(1, 3), "c": Choice(["a", "b"])})
    with pytest.warns(UserWarning, match="the grid has 6 points and a budget of 4 walks only the first 4 in order"):
        search(lambda p: p["k"], small, "grid", budget=4, progress=False)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        search(lambda p: p["k"], small, "grid", budget=4, seed=0, progress=False, options={"shuffle": True})
        search(lambda p: p["k"], small, "grid", budget=6, progress=False)


def test_strategy_options_are_passed_and_checked():
    history = search(quadratic, space(), "random", budget=10, seed=0, progress=False, options={"step": 0.5})
    assert {t.params["x"] for t in history} <= {-3.0, 0.0, 3.0}
    with pytest.raises(ValueError, match="step=2"):
        search(quadratic, space(), "random", budget=1, seed=0, progress=False, options={"step": 2})


def test_progress_bar_shows_best_value(capsys):
    search(quadratic, space(), "random", budget=3, seed=0, progress=True)
    err = capsys.readouterr().err
    assert "best=" in err


KILL_SCRIPT = textwrap.dedent(
    """
    import sys, time
    from amsearch_lab import Float, Space, search

    def slow(params):
        time.sleep(0.05)
        return (params["x"] - 1) ** 2

    search(slow, Space({"x": Float(-3.0, 3.0)}), "random", budget=int(sys.argv[2]), seed=4,
           storage=sys.argv[1], progress=False)
    """
)


def test_jsonl_survives_a_kill_mid_search(tmp_path):
    path = tmp_path / "h.jsonl"
    script = tmp_path / "run.py"
    script.write_text(KILL_SCRIPT)
    proc = subprocess.Popen([sys.executable, str(script), str(path), "400"])
    deadline = time.time() + 60
    while time.time() < deadline and (not path.exists() or len(path.read_text().splitlines()) < 5):
        time.sleep(0.05)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    survived = History.load(path)
    assert 5 <= len(survived) < 400
    assert [t.number for t in survived] == list(range(len(survived)))
    # resuming finishes the search and gives what one uninterrupted run gives
    subprocess.run([sys.executable, str(script), str(path), str(len(survived) + 3)], check=True)
    resumed = History.load(path)
    uninterrupted = tmp_path / "u.jsonl"
    subprocess.run([sys.executable, str(script), str(uninterrupted), str(len(survived) + 3)], check=True)
    assert [t.params for t in resumed] == [t.params for t in History.load(uninterrupted)]


def test_torn_last_line_is_skipped_with_a_warning(tmp_path):
    path = tmp_path / "h.jsonl"
    search(quadratic, space(), "random", budget=4, seed=0, storage=path, progress=False)
    with open(path, "a") as f:
        f.write('{"number": 4, "params": {"x": 0.')
    with pytest.warns(UserWarning, match="torn last line"):
        history = History.load(path)
    assert len(history) == 4
    with pytest.warns(UserWarning):
        resumed = search(quadratic, space(), "random", budget=6, seed=0, storage=path, progress=False)
    assert len(resumed) == 6
    assert len(History.load(path)) == 6


def test_numpy_values_and_params_are_stored_as_plain_json(tmp_path):
    path = tmp_path / "h.jsonl"
    search(lambda p: np.float32(p["k"]), space(), "random", budget=3, seed=0, storage=path, progress=False)
    for line in path.read_text().splitlines():
        record = json.loads(line)
        assert isinstance(record["value"], float) and isinstance(record["params"]["k"], int)


@pytest.mark.parametrize("strategy, options", [("evolution", {"population": 3}), ("genetic", {"population": 2}),
                                               ("greedy", {"scale": 0.01})])
def test_an_option_the_user_chose_never_conflicts_with_a_default(strategy, options):
    history = search(quadratic, space(), strategy, budget=8, seed=0, progress=False, options=options)
    assert len(history) == 8


def test_a_gradient_step_above_the_default_cap_is_accepted():
    from amsearch_lab.strategies import GradientSearch

    strategy = GradientSearch(Space({"x": Float(-1.0, 1.0)}), seed=0, lr=1.0)
    assert strategy.max_lr == 1.0


@pytest.mark.parametrize("strategy, options, fragment", [
    ("random", {"step": True}, "step=True"), ("greedy", {"scale": True}, "scale=True"),
    ("bayes", {"n_initial": True}, "n_initial=True"), ("bayes", {"n_candidates": True}, "n_candidates=True"),
    ("bayes", {"xi": float("inf")}, "xi=inf"), ("bayes", {"beta": float("nan")}, "beta=nan"),
    ("genetic", {"tournament": True}, "tournament=True"), ("genetic", {"sigma": True}, "sigma=True"),
    ("genetic", {"eta": float("inf")}, "eta=inf"), ("genetic", {"elitism": False}, "elitism=False"),
    ("evolution", {"sample_size": True}, "sample_size=True"), ("evolution", {"scale": float("inf")}, "scale=inf"),
    ("grid", {"shuffle": "no"}, "shuffle='no' must be True or False"),
    ("greedy", {"restart": "no"}, "restart='no' must be True or False"),
    ("greedy", {"start": {"x": 99.0, "k": 1, "c": "a"}}, "start=.*is not a point of the space"),
    ("greedy", {"start": [1, 2]}, "start=\\[1, 2\\] is not a point"),
])
def test_bools_infinities_and_bad_starts_in_options_are_named(strategy, options, fragment):
    calls = []
    with pytest.raises(ValueError, match=fragment):
        search(lambda p: calls.append(p) or quadratic(p), space(), strategy, budget=3, progress=False, options=options)
    assert calls == []
