"""The loop with multi-fidelity objectives (``f(params, run)``) and strategies (``ask()`` returns a
``Job``): signatures, checkpoints handed to promoted jobs, resources counted against the schedules,
``resource_budget``, stopped/failed outcomes, storage and resume (study.py, fidelity.py)."""

import json
import math
from dataclasses import asdict

import pytest

from amsearch_lab import STRATEGIES, History, search
from amsearch_lab.curves import SyntheticCurves
from amsearch_lab.fidelity import Job, TrialStopped, WaitForTrials, halving_schedule
from amsearch_lab.strategies import SearchExhausted, Strategy
from amsearch_lab.study import takes_run

MULTI_FIDELITY = {  # small schedules on budgets 1..9, so a search of a few dozen trials runs several rungs
    "sha": {"n": 9, "eta": 3, "min_budget": 1, "max_budget": 9},
    "hyperband": {"eta": 3, "min_budget": 1, "max_budget": 9},
    "bohb": {"eta": 3, "min_budget": 1, "max_budget": 9},
    "asha": {"eta": 3, "min_budget": 1, "max_budget": 9},
    "median": {"max_budget": 9},
}
PLAIN = sorted(n for n, cls in STRATEGIES.items() if n not in MULTI_FIDELITY and getattr(cls, "blackbox", True))
SPACE = SyntheticCurves.space()  # x, y in [0, 1]


def test_every_registered_multi_fidelity_strategy_is_tested_here():
    assert {n for n in STRATEGIES if n not in PLAIN and getattr(STRATEGIES[n], "blackbox", True)} == set(MULTI_FIDELITY)


def limit(params):
    return (params["x"] - 0.3) ** 2 + (params["y"] - 0.7) ** 2


def value_at(params, t):
    """A hand-written learning curve: falls as 1/t towards ``limit``."""
    return limit(params) + 1 / t


class Recorder:
    """A multi-fidelity objective that records what each call received and the last state it
    reported. Its checkpoint is a new tuple ``(params key, step)`` at each step (never changed
    after it is reported); it trains up to ``run.budget`` (None: ``max_steps``)."""

    def __init__(self, max_steps=9, keep_state=True):
        self.max_steps, self.keep_state = max_steps, keep_state
        self.calls = []  # (params, budget, start, state received, last state reported)

    def __call__(self, params, run):
        key = (params["x"], params["y"])
        if run.state is not None:
            assert run.state == (key, run.start)
        call = [dict(params), run.budget, run.start, run.state, None]
        self.calls.append(call)
        for t in range(int(run.start) + 1, (run.budget or self.max_steps) + 1):
            call[4] = (key, t) if self.keep_state else None
            run.report(t, value_at(params, t), state=call[4])
        return value_at(params, run.budget or self.max_steps)


class Scripted(Strategy):
    """Asks ``jobs`` in order (then stops the search); ``stop(trial)`` decides should_stop,
    ``keep(config)`` may_continue; raises WaitForTrials at ask number ``wait_at``; records every
    trial it is told."""

    def __init__(self, space, jobs, stop=None, keep=None, wait_at=None):
        super().__init__(space, seed=0)
        self.jobs, self.stop, self.keep, self.wait_at = list(jobs), stop, keep, wait_at
        self.asked = 0

    def ask(self):
        if self.asked == self.wait_at:
            raise WaitForTrials("rung 0 waits for 1 result")
        if self.asked == len(self.jobs):
            raise SearchExhausted
        self.asked += 1
        return self.jobs[self.asked - 1]

    def should_stop(self, trial):
        return bool(self.stop and self.stop(trial))

    def may_continue(self, config):
        return self.keep is None or self.keep(config)


P0, P1 = {"x": 0.1, "y": 0.2}, {"x": 0.5, "y": 0.5}


# -- which objectives get a Run -----------------------------------------------------------------------
def plain_objective(params):
    return limit(params)


def test_takes_run_tells_the_two_kinds_apart():
    def mf(params, run):
        return 0.0

    received = []

    def optional_run(params, run=None):
        received.append(run)
        return 0.0

    def mf_extra(params, run, scale=1.0):
        return 0.0

    def star(params, *rest):
        return 0.0

    assert takes_run(mf) and takes_run(lambda p, r: 0.0) and takes_run(mf_extra) and takes_run(SyntheticCurves())
    assert takes_run(Recorder())
    assert not takes_run(plain_objective) and not takes_run(optional_run) and not takes_run(star)
    assert not takes_run(abs)  # a builtin with a signature (x, /)
    search(optional_run, SPACE, "sha", budget=3, seed=0, progress=False)  # called as f(params), even by sha
    assert received == [None] * 3


def test_takes_run_refuses_other_arities():
    def three(params, run, extra):
        return 0.0

    def keyword_only(params, *, run):
        return 0.0

    for bad in (three, keyword_only):
        with pytest.raises(ValueError, match="must take params .* or params and run"):
            takes_run(bad)
        with pytest.raises(ValueError, match="objective="):
            search(bad, SPACE, "random", budget=2, seed=0, progress=False)


def test_an_objective_that_takes_no_params_is_refused():
    """BUG (study.takes_run): ``f()`` is neither ``f(params)`` nor ``f(params, run)`` but is taken
    for a plain objective; every trial then fails with a TypeError instead of a ValueError
    before the first evaluation, as the docstring promises for "anything else"."""
    def no_params():
        return 0.0

    def keywords(**kwargs):
        return 0.0

    for bad in (no_params, keywords):
        with pytest.raises(ValueError, match="objective="):
            search(bad, SPACE, "random", budget=2, seed=0, progress=False)


# -- plain objectives with multi-fidelity strategies, and the other way round ------------------------------
@pytest.mark.parametrize("name", sorted(MULTI_FIDELITY))
def test_a_plain_objective_runs_with_every_multi_fidelity_strategy(name):
    history = search(plain_objective, SPACE, name, budget=30, seed=0, options=MULTI_FIDELITY[name], progress=False)
    assert len(history) == 30
    by_config = {}
    for t in history:
        assert t.ok and t.value == limit(t.params) and t.curve == [] and t.start_step == 0
        assert t.resource == (t.budget or 0)
        by_config.setdefault(t.config, []).append(t)
    for jobs in by_config.values():  # the same value at every budget
        assert len({(t.params["x"], t.params["y"], t.value) for t in jobs}) == 1
        assert [t.budget for t in jobs] == sorted(t.budget for t in jobs)
    if name != "median":  # a stopping rule trains each configuration once
        assert max(len(jobs) for jobs in by_config.values()) >= 2


@pytest.mark.filterwarnings("ignore:search. the grid has:UserWarning")  # a grid walked in order on purpose
@pytest.mark.parametrize("name", PLAIN)
def test_every_plain_strategy_runs_a_multi_fidelity_objective_to_its_maximum(name):
    objective = Recorder(max_steps=4)
    history = search(objective, SPACE, name, budget=8, seed=0, progress=False)
    assert len(history) == len(objective.calls) == 8
    for t, (params, budget, start, state, _) in zip(history, objective.calls):
        assert params == t.params and budget is None and start == 0 and state is None
        assert t.budget is None and t.config is None
        assert t.ok and t.value == value_at(t.params, 4) and [s for s, _ in t.curve] == [1, 2, 3, 4]
        assert t.resource == 4


# -- checkpoints and resources ----------------------------------------------------------------------
def test_a_promoted_job_continues_from_the_state_its_configuration_left():
    objective = Recorder(max_steps=27)
    history = search(objective, SPACE, "sha", budget=40, seed=3, progress=False)  # one bracket: 27, 9, 3, 1
    left = {}  # config -> (its last job's last step, the state object reported there)
    for t, (params, budget, start, state, last_state) in zip(history, objective.calls):
        assert params == t.params and budget == t.budget
        if t.config in left:
            step, reported = left[t.config]
            assert start == t.start_step == step and state is reported  # the very object, not a copy
        else:
            assert start == t.start_step == 0 and state is None
        assert t.resource == t.budget - t.start_step == len(t.curve)
        left[t.config] = (t.curve[-1][0], last_state)
    assert [t.start_step for t in history[27:]] == [1] * 9 + [3] * 3 + [9]


@pytest.mark.parametrize("n, eta, r, R, continued, restarted", [
    (27, 3, 1, 27, 27 * 1 + 9 * 2 + 3 * 6 + 1 * 18, 27 * 1 + 9 * 3 + 3 * 9 + 1 * 27),  # 81, 108
    (30, 3, 2, 100, 30 * 2 + 10 * 4 + 4 * 12 + 2 * 36, 30 * 2 + 10 * 6 + 4 * 18 + 2 * 54),  # 220, 300
])
def test_one_bracket_costs_its_schedule(n, eta, r, R, continued, restarted):
    """With checkpoints a bracket costs sum n_k (r_k - r_{k-1}); an objective that keeps no state
    trains every job from scratch and costs sum n_k r_k (both written out by hand above)."""
    schedule = halving_schedule(n, eta, r, R)
    trials = sum(n_k for n_k, _ in schedule)
    options = {"n": n, "eta": eta, "min_budget": r, "max_budget": R}
    for keep_state, expected in ((True, continued), (False, restarted)):
        history = search(Recorder(max_steps=R, keep_state=keep_state), SPACE, "sha", budget=trials, seed=0,
                         options=options, progress=False)
        assert [t.rung for t in history] == [k for k, (n_k, _) in enumerate(schedule) for _ in range(n_k)]
        assert sum(t.resource for t in history) == expected
        assert all(t.start_step == 0 for t in history) != keep_state


def test_a_job_at_or_below_its_checkpoint_and_a_dropped_checkpoint_start_over():
    jobs = [Job(P0, budget=4, config=0), Job(P0, budget=3, config=0), Job(P0, budget=6, config=0),
            Job(P1, budget=2, config=1), Job(P1, budget=5, config=1)]
    objective = Recorder()
    history = search(objective, SPACE, Scripted(SPACE, jobs, keep=lambda c: c != 1), budget=10, progress=False)
    assert [t.start_step for t in history] == [0, 0, 3, 0, 0]  # 3 <= 4: from scratch; config 1: dropped
    assert [t.resource for t in history] == [4, 3, 3, 2, 5]


# -- resource_budget -----------------------------------------------------------------------------------
@pytest.mark.parametrize("name, options, resource_budget, n_trials, last_status", [
    ("sha", {}, 27, 27, "ok"),  # rung 0: 27 jobs of one epoch; the 27th ends on its last step
    ("sha", {}, 30, 29, "stopped"),  # 27 + 2 (a promotion from 1 to 3) + 1 of the next one
    ("random", {}, 50, 2, "stopped"),  # 27 epochs, then 23 of the second configuration
    ("asha", {}, 40, None, None),
    ("hyperband", {"max_budget": 9}, 61, None, None),
    ("median", {"max_budget": 5}, 33, None, None),
])
def test_the_resource_budget_is_never_exceeded(name, options, resource_budget, n_trials, last_status):
    objective = SyntheticCurves(max_steps=27, noise=0.01)
    history = search(objective, SPACE, name, budget=500, seed=0, options=options, resource_budget=resource_budget,
                     progress=False)
    spent = [t.resource for t in history]
    assert sum(spent) == resource_budget  # whole steps: the report that reaches it is the last
    assert sum(spent[:-1]) < resource_budget  # so no trial started after it was spent
    last = history[-1]
    at_its_last_step = last.budget is not None and last.curve[-1][0] >= last.budget
    assert last.status == ("ok" if at_its_last_step else "stopped")
    if not at_its_last_step:
        assert f"resource_budget={resource_budget}" in last.error and last.value == last.curve[-1][1]
    assert all("resource_budget" not in (t.error or "") for t in history[:-1])
    if n_trials is not None:
        assert len(history) == n_trials and last.status == last_status


def test_a_multi_fidelity_job_that_fails_before_its_first_report_spent_nothing():
    """BUG (fidelity.resource_of): with no curve it counts the job's budget, which its docstring
    means for a plain objective; a multi-fidelity job that raised before its first report trained
    no step, yet is counted as its whole budget, so resource_budget=100 ends this search after 44
    jobs that trained nothing and sum(resource) = 108 > 100."""
    def out_of_memory(params, run):
        raise RuntimeError("CUDA out of memory")

    history = search(out_of_memory, SPACE, "hyperband", budget=50, seed=0, resource_budget=100, progress=False)
    assert all(t.status == "failed" and t.curve == [] for t in history)
    assert [t.resource for t in history] == [0] * 50


def test_a_resource_budget_that_falls_between_steps_is_overshot_by_less_than_one_step():
    history = search(SyntheticCurves(max_steps=27), SPACE, "random", budget=10, seed=0, resource_budget=40.5,
                     progress=False)
    assert [t.resource for t in history] == [27, 14] and history[-1].status == "stopped"


# -- stopped, failed and None outcomes -----------------------------------------------------------------------
def test_a_trial_the_strategy_stops_keeps_its_curve_and_last_finite_value():
    def objective(params, run):
        for t in range(1, 7):
            run.report(t, math.nan if t == 3 else t / 10, state=t)
        return 0.6

    strategy = Scripted(SPACE, [Job(P0, budget=6, config=0), Job(P1, budget=6, config=1)],
                        stop=lambda trial: trial.config == 0 and trial.curve[-1][0] == 3)
    history = search(objective, SPACE, strategy, budget=5, progress=False)
    stopped, done = history
    assert stopped.status == "stopped" and stopped.value == 0.2  # the step 3 value is NaN
    assert stopped.curve == [[1, 0.1], [2, 0.2], [3, None]] and stopped.resource == 3
    assert stopped.error == "stopped by Scripted at step 3"
    assert done.ok and done.value == 0.6 and len(done.curve) == 6
    assert [(t.number, t.status) for t in strategy.trials_] == [(0, "stopped"), (1, "ok")]  # told, like any other
    assert history.best is done


def test_an_objective_that_stops_itself_or_before_any_value():
    def objective(params, run):
        if params == P0:
            run.report(1, 0.5)
            raise TrialStopped("I give up")
        raise TrialStopped("no value")

    history = search(objective, SPACE, Scripted(SPACE, [Job(P0, 4, 0), Job(P1, 4, 1)]), budget=2, progress=False)
    assert [(t.status, t.value) for t in history] == [("stopped", 0.5), ("stopped", None)]
    assert history[0].error == "the objective stopped itself: I give up"


def test_none_means_the_last_reported_value_and_nan_or_raising_fails():
    def objective(params, run):
        x = params["x"]
        run.report(1, 0.9)
        if x == 0.1:
            run.report(2, 0.4)
            return None  # = 0.4
        if x == 0.2:
            run.report(2, math.nan)
            return None  # = NaN: failed
        if x == 0.3:
            return math.nan
        if x == 0.4:
            run.report(2, 0.3)
            raise RuntimeError("diverged")
        return 0.7

    jobs = [Job({"x": x, "y": 0.5}, budget=2, config=i) for i, x in enumerate([0.1, 0.2, 0.3, 0.4, 0.5])]
    history = search(objective, SPACE, Scripted(SPACE, jobs), budget=5, progress=False)
    assert [t.status for t in history] == ["ok", "failed", "failed", "failed", "ok"]
    assert [t.value for t in history] == [0.4, None, None, None, 0.7]
    assert history[1].error == "objective returned nan" and history[2].error == "objective returned nan"
    assert history[3].error == "RuntimeError: diverged" and history[3].curve == [[1, 0.9], [2, 0.3]]
    assert history[3].resource == 2


def test_none_without_any_report_fails():
    history = search(lambda params, run: None, SPACE, Scripted(SPACE, [Job(P0, 3, 0)]), budget=1, progress=False)
    assert history[0].status == "failed" and "returned None" in history[0].error


def test_a_strategy_that_waits_in_a_sequential_search_is_a_runtime_error():
    strategy = Scripted(SPACE, [Job(P0, 2, 0), Job(P1, 2, 1), Job(P0, 4, 0)], wait_at=2)
    with pytest.raises(RuntimeError, match="Scripted.ask\\(\\) waits for running trials.*rung 0 waits") as caught:
        search(Recorder(), SPACE, strategy, budget=5, progress=False)
    assert [t.params for t in caught.value.history] == [P0, P1]


# -- storage ----------------------------------------------------------------------------------------
def flaky_curves(noise):
    """SyntheticCurves that fail for x > 0.9 (after one report) and return NaN for y < 0.05."""
    curves = SyntheticCurves(max_steps=9, noise=noise)

    def objective(params, run):
        if params["x"] > 0.9:
            run.report(run.start + 1, 1.0, state=run.start + 1)
            raise RuntimeError("diverged")
        value = curves(params, run)
        return math.nan if params["y"] < 0.05 else value

    return objective


@pytest.mark.parametrize("name", sorted(MULTI_FIDELITY))
def test_a_stored_multi_fidelity_search_loads_back_identical(tmp_path, name):
    path = tmp_path / "h.jsonl"
    options = dict(MULTI_FIDELITY[name], **({"min_trials": 2} if name == "median" else {}))
    history = search(flaky_curves(0.02), SPACE, name, budget=40, seed=1, options=options, storage=path,
                     progress=False)
    loaded = History.load(path)
    assert [asdict(t) for t in loaded] == [asdict(t) for t in history]
    assert {"ok", "failed"} <= {t.status for t in loaded}
    if name == "median":
        assert "stopped" in {t.status for t in loaded}
    else:
        assert any(t.start_step > 0 for t in loaded)


def outcome(t):
    return t.params, t.budget, t.config, t.bracket, t.rung, t.status, t.value


@pytest.mark.parametrize("noise", [0.0, 0.05])
@pytest.mark.parametrize("name, k, n", [("sha", 11, 30), ("hyperband", 10, 40), ("bohb", 11, 26), ("asha", 12, 40),
                                        ("median", 7, 25)])
def test_resuming_a_multi_fidelity_search_equals_an_uninterrupted_one(tmp_path, name, k, n, noise):
    """SyntheticCurves' values do not depend on how a run is cut into jobs, so restarting the
    promoted configurations from step 0 after a resume (checkpoints live in memory) changes
    their start steps and resources, never what the search decides."""
    path, options = tmp_path / "h.jsonl", MULTI_FIDELITY[name]
    objective = SyntheticCurves(max_steps=9, noise=noise)
    search(objective, SPACE, name, budget=k, seed=2, options=options, storage=path, progress=False)
    resumed = search(objective, SPACE, name, budget=n, seed=2, options=options, storage=path, progress=False)
    full = search(objective, SPACE, name, budget=n, seed=2, options=options, progress=False)
    assert [outcome(t) for t in resumed] == [outcome(t) for t in full]
    assert [outcome(t) for t in History.load(path)] == [outcome(t) for t in full]
    if name == "median":
        assert "stopped" in {t.status for t in full}
    else:  # the first job after the resume of a configuration trained before it started over
        first_after = {}
        for a, b in zip(resumed[k:], full[k:]):
            if a.config in {t.config for t in full[:k]}:
                first_after.setdefault(a.config, (a.start_step, b.start_step))
        assert first_after and all(a == 0 and b > 0 for a, b in first_after.values())


def test_a_history_written_before_multi_fidelity_still_loads_and_resumes(tmp_path):
    path = tmp_path / "old.jsonl"
    search(plain_objective, SPACE, "random", budget=4, seed=0, storage=path, progress=False)
    old_fields = ["number", "params", "value", "status", "error", "start", "duration", "info"]
    path.write_text("".join(json.dumps({key: json.loads(line)[key] for key in old_fields}) + "\n"
                            for line in path.read_text().splitlines()))
    loaded = History.load(path)
    assert all((t.budget, t.config, t.bracket, t.rung, t.start_step, t.curve, t.resource) == (None, None, None, None,
                                                                                             0, [], 0.0) for t in loaded)
    resumed = search(plain_objective, SPACE, "random", budget=8, seed=0, storage=path, progress=False)
    full = search(plain_objective, SPACE, "random", budget=8, seed=0, progress=False)
    assert [(t.params, t.value) for t in resumed] == [(t.params, t.value) for t in full]
