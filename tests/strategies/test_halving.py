"""Tests of ``strategies/halving.py``: synchronous successive halving (SHA).

Ground truths, none of them read from the strategy:
- the schedules are written out by hand from the formula in ``fidelity.halving_schedule``;
- ``SyntheticCurves(crossing=0)`` ranks configurations the same at every step, so the best
  ``final`` among a bracket's n configurations must reach every rung;
- rung k + 1 holds the top n_{k+1} of rung k, ranked again here from the values in the history;
- a promoted job continues its checkpoint, so one bracket spends Σ n_k (r_k − r_{k−1}) steps,
  counted by the objective itself;
- a checkpoint probe (weak references to the states the objective reports) shows which
  checkpoints the loop still holds: exactly those of configurations that may still train.
With ``crossing > 0`` an early rung can misjudge: a seeded case where SHA drops the final best is
the reason Hyperband hedges over several brackets.
"""

import math
import weakref

import numpy as np
import pytest

from amsearch_lab import search
from amsearch_lab.curves import SyntheticCurves
from amsearch_lab.fidelity import TrialStopped, WaitForTrials
from amsearch_lab.history import Trial
from amsearch_lab.strategies import SuccessiveHalving

SPACE = SyntheticCurves.space()

# (n, eta, min_budget, max_budget) -> the schedule by hand: K = min(⌊log_η n⌋, ⌊log_η ⌊R/r⌋⌋) + 1 rungs,
# r_k = r η^k, n_{k+1} = ⌈n_k / η⌉
SCHEDULES = {
    (27, 3, 1, 27): [(27, 1), (9, 3), (3, 9), (1, 27)],
    (10, 2, 1, 16): [(10, 1), (5, 2), (3, 4), (2, 8)],  # ⌊log_2 10⌋ = 3 < ⌊log_2 16⌋ = 4: the budget stops at 8
    (20, 3, 2, 18): [(20, 2), (7, 6), (3, 18)],
    (9, 3, 3, 27): [(9, 3), (3, 9), (1, 27)],
    (50, 4, 1, 16): [(50, 1), (13, 4), (4, 16)],
}
# the steps one bracket trains, Σ n_k (r_k − r_{k−1}), by hand
SPENT = {
    (27, 3, 1, 27): 27 * 1 + 9 * 2 + 3 * 6 + 1 * 18,  # 81
    (10, 2, 1, 16): 10 * 1 + 5 * 1 + 3 * 2 + 2 * 4,  # 29
    (20, 3, 2, 18): 20 * 2 + 7 * 4 + 3 * 12,  # 104
    (9, 3, 3, 27): 9 * 3 + 3 * 6 + 1 * 18,  # 63
    (50, 4, 1, 16): 50 * 1 + 13 * 3 + 4 * 12,  # 137
}


def told(strategy, job, value, number, status="ok"):
    """Tell ``strategy`` the outcome of ``job`` as the loop would; returns the Trial."""
    trial = Trial(number, dict(job.params), value, status=status, budget=job.budget, config=job.config,
                  bracket=job.bracket, rung=job.rung)
    strategy.tell(trial)
    return trial


class Checkpoint:
    """A state an objective reports: a step and the configuration it belongs to (weakly referable)."""

    def __init__(self, step, key):
        self.step, self.key = step, key


class CheckpointProbe:
    """``SyntheticCurves`` with checkpoints the test can watch: ``live()`` gives the keys of the
    configurations whose checkpoint something (the loop) still holds; ``steps`` counts the steps
    trained; ``before[i]`` is ``live()`` when job i started, i.e. what the loop kept after job i − 1."""

    def __init__(self, curves):
        self.curves, self.states, self.steps, self.before = curves, weakref.WeakSet(), 0, []

    @staticmethod
    def key(params):
        return (params["x"], params["y"])

    def live(self):
        return {state.key for state in self.states}

    def __call__(self, params, run):
        self.before.append(self.live())
        reached = 0 if run.state is None else run.state.step
        assert reached == run.start
        for t in range(reached + 1, (run.budget or self.curves.max_steps) + 1):
            self.steps += 1
            value = self.curves.value_at(params, t)
            state = Checkpoint(t, self.key(params))
            self.states.add(state)
            run.report(t, value, state=state)
        return value


def run_sha(setting, seed, objective=None, brackets=1):
    n, eta, min_budget, max_budget = setting
    curves = SyntheticCurves(crossing=0, max_steps=max_budget)
    objective = curves if objective is None else objective
    jobs = brackets * sum(n_k for n_k, _ in SCHEDULES[setting])
    history = search(objective, SPACE, "sha", budget=jobs, seed=seed, progress=False,
                     options=dict(n=n, eta=eta, min_budget=min_budget, max_budget=max_budget))
    return history, curves


def rungs_of(history, bracket):
    """The trials of one bracket as ``[[trials of rung 0], [rung 1], ...]``, in the order they ran."""
    rungs = {}
    for t in history:
        if t.bracket == bracket:
            rungs.setdefault(t.rung, []).append(t)
    return [rungs[k] for k in sorted(rungs)]


def ranked(trials):
    """The successful trials best first, ties in the order their configurations were drawn (config id)."""
    ok = [t for t in trials if t.ok]
    return sorted(ok, key=lambda t: (t.value, t.config))


@pytest.mark.parametrize("setting", list(SCHEDULES))
def test_schedule_is_the_hand_computed_one(setting):
    n, eta, min_budget, max_budget = setting
    strategy = SuccessiveHalving(SPACE, n=n, eta=eta, min_budget=min_budget, max_budget=max_budget)
    assert strategy.schedule_ == SCHEDULES[setting]


@pytest.mark.parametrize("setting", list(SCHEDULES))
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_rungs_follow_the_schedule_and_keep_the_true_best(setting, seed):
    history, curves = run_sha(setting, seed, brackets=2)
    schedule = SCHEDULES[setting]
    for b in (0, 1):
        rungs = rungs_of(history, b)
        # trials per rung = n_k, at budget r_k
        assert [(len(r), {t.budget for t in r}) for r in rungs] == [(n_k, {r_k}) for n_k, r_k in schedule]
        # rung k + 1 = the top n_{k+1} of rung k, in rank order
        for k in range(len(rungs) - 1):
            assert [t.config for t in rungs[k + 1]] == [t.config for t in ranked(rungs[k])[:schedule[k + 1][0]]]
        # crossing = 0: the bracket's best final value survives every rung and wins the last one
        finals = {t.config: curves.final(t.params) for t in rungs[0]}
        best = min(finals, key=finals.get)
        assert all(best in {t.config for t in rung} for rung in rungs)
        assert ranked(rungs[-1])[0].config == best


@pytest.mark.parametrize("setting", list(SCHEDULES))
def test_one_bracket_spends_the_schedule_sum_with_continuation(setting):
    probe = CheckpointProbe(SyntheticCurves(crossing=0, max_steps=setting[3]))
    history, _ = run_sha(setting, seed=0, objective=probe)
    assert probe.steps == SPENT[setting]  # counted by the objective
    assert sum(t.resource for t in history) == SPENT[setting]
    below = [0] + [r_k for _, r_k in SCHEDULES[setting]]
    for t in history:  # a promoted job continues from the budget of the rung below
        assert t.ok and t.start_step == below[t.rung] and t.curve[0][0] == below[t.rung] + 1


def test_a_finished_bracket_starts_a_new_one_with_fresh_configurations():
    history, _ = run_sha((9, 3, 3, 27), seed=4, brackets=3)
    configs = [{t.config for t in history if t.bracket == b} for b in range(3)]
    params = [{(t.params["x"], t.params["y"]) for t in history if t.bracket == b} for b in range(3)]
    assert [len(c) for c in configs] == [9, 9, 9]
    assert not (configs[0] & configs[1] or configs[1] & configs[2] or configs[0] & configs[2])
    assert not (params[0] & params[1] or params[1] & params[2] or params[0] & params[2])
    first = [t for t in history if t.bracket == 1][0]
    assert first.rung == 0 and first.budget == 3 and first.config == 9  # ids go on counting


def flaky_probe(curves):
    """A probe whose configurations with x < 0.75 end badly after reporting a tempting value of
    −100: x < 0.25 raise, 0.25 <= x < 0.5 return NaN, 0.5 <= x < 0.75 stop themselves."""
    probe = CheckpointProbe(curves)

    def objective(params, run):
        x = params["x"]
        if x >= 0.75:
            return probe(params, run)
        probe.before.append(probe.live())
        state = Checkpoint(run.start + 1, probe.key(params))
        probe.states.add(state)
        run.report(run.start + 1, -100.0, state=state)
        if x < 0.25:
            raise RuntimeError("diverged")
        if x < 0.5:
            return math.nan
        raise TrialStopped("stopped by the objective")

    return probe, objective


def test_failed_nan_and_stopped_results_are_never_promoted():
    curves = SyntheticCurves(crossing=0, max_steps=27)
    _, objective = flaky_probe(curves)
    history = search(objective, SPACE, "sha", budget=60, seed=0, progress=False,
                     options=dict(n=27, eta=3, min_budget=1, max_budget=27))
    rung0 = rungs_of(history, 0)[0]
    statuses = [t.status for t in rung0]
    assert statuses.count("failed") >= 2 and statuses.count("stopped") >= 2  # every kind of bad ending occurs
    assert any(t.error == "objective returned nan" for t in rung0)
    good = [t.config for t in rung0 if t.ok]
    assert 1 <= len(good) < 9  # so rung 1 must hold fewer than its n_1 = 9
    for b in {t.bracket for t in history}:
        rungs = rungs_of(history, b)
        for k in range(len(rungs) - 1):
            assert [t.config for t in rungs[k + 1]] == [t.config for t in ranked(rungs[k])[:len(rungs[k + 1])]]
            assert {t.config for t in rungs[k + 1]} <= {t.config for t in rungs[k] if t.ok}
    assert [t.config for t in rungs_of(history, 0)[1]] == [t.config for t in ranked(rung0)]


def test_a_bracket_with_no_success_ends_and_the_next_one_begins():
    strategy = SuccessiveHalving(SPACE, seed=0, n=3, eta=3, min_budget=1, max_budget=9)
    for i in range(3):
        told(strategy, strategy.ask(), math.nan, i, status="failed")
    job = strategy.ask()
    assert (job.bracket, job.rung, job.config) == (1, 0, 3)


def test_ties_are_broken_by_draw_order_in_every_rung():
    # n = 4, η = 2: 4 at budget 1, 2 at 2, 1 at 4
    strategy = SuccessiveHalving(SPACE, seed=0, n=4, eta=2, min_budget=1, max_budget=4)
    jobs = [strategy.ask() for _ in range(4)]
    for i, (job, value) in enumerate(zip(jobs, [2.0, 1.0, 1.0, 3.0])):  # configs 1 and 2 tie for first
        told(strategy, job, value, i)
    rung1 = [strategy.ask() for _ in range(2)]
    assert [j.config for j in rung1] == [1, 2]  # the earlier draw first
    # rung 0 again, ranked against draw order: config 1 beats config 0, then they tie at rung 1
    strategy = SuccessiveHalving(SPACE, seed=0, n=4, eta=2, min_budget=1, max_budget=4)
    jobs = [strategy.ask() for _ in range(4)]
    for i, (job, value) in enumerate(zip(jobs, [2.0, 1.0, 3.0, 3.0])):
        told(strategy, job, value, i)
    rung1 = [strategy.ask() for _ in range(2)]
    assert [j.config for j in rung1] == [1, 0]
    for i, job in enumerate(rung1):
        told(strategy, job, 0.5, 4 + i)
    last = strategy.ask()
    assert (last.rung, last.config) == (2, 0)  # the tie at rung 1 goes to config 0, drawn first


def test_eliminated_configurations_lose_their_checkpoints():
    """After each job the loop holds the checkpoints of exactly the configurations that may still
    train: those trained so far that have a job still to come, and the successful ones of the
    current rung below the last (they may be promoted once the rung is complete)."""
    curves = SyntheticCurves(crossing=0, max_steps=27)
    probe, objective = flaky_probe(curves)
    history = search(objective, SPACE, "sha", budget=80, seed=1, progress=False,
                     options=dict(n=27, eta=3, min_budget=1, max_budget=27))
    last_rung = 3
    for i, t in enumerate(history.trials[:-1]):
        trained = {probe.key(u.params) for u in history.trials[:i + 1]}
        later = trained & {probe.key(u.params) for u in history.trials[i + 1:]}
        current = set()
        if t.rung < last_rung:
            current = {probe.key(u.params) for u in history.trials[:i + 1]
                       if (u.bracket, u.rung) == (t.bracket, t.rung) and u.ok}
        # a job that raised is kept one job longer: the loop holds its exception (for catch=False) until the
        # next job, and the exception's traceback holds the frames that held its checkpoint
        raised = {probe.key(t.params)} if (t.error or "").startswith("RuntimeError") else set()
        assert probe.before[i + 1] - raised == later | current, f"after job {i} ({t.status}, rung {t.rung})"
    ends = [i for i, t in enumerate(history.trials[:-1]) if t.rung == last_rung and history[i + 1].bracket != t.bracket]
    assert ends and all(probe.before[i + 1] == set() for i in ends)  # a finished bracket keeps nothing


def test_may_continue_after_a_bracket_that_ended_without_success():
    strategy = SuccessiveHalving(SPACE, seed=0, n=3, eta=3, min_budget=1, max_budget=9)
    for i in range(3):
        told(strategy, strategy.ask(), None, i, status="failed")
    strategy.ask()  # bracket 1 begins
    assert [strategy.may_continue(c) for c in range(3)] == [False, False, False]
    assert strategy.may_continue(3)


def test_parallel_workers_wait_for_the_rung():
    strategy = SuccessiveHalving(SPACE, seed=0, n=9, eta=3, min_budget=1, max_budget=9)
    jobs = [strategy.ask() for _ in range(9)]
    with pytest.raises(WaitForTrials, match="rung 0 waits for 9 results"):
        strategy.ask()
    assert all(strategy.may_continue(job.config) for job in jobs)  # running: its checkpoint is needed
    for i, job in reversed(list(enumerate(jobs))):  # results arrive in any order
        told(strategy, job, float(i % 4), i)
        if i:
            with pytest.raises(WaitForTrials):
                strategy.ask()
    promoted = [strategy.ask().config for _ in range(3)]
    assert promoted == [0, 4, 8]  # value 0 for configs 0, 4, 8


def test_crossing_curves_can_make_sha_drop_the_final_best():
    """Not a failure: with crossing curves the early rungs rank by the wrong thing. The same 27
    configurations (same seed) keep their best with crossing = 0 and lose it with crossing = 3,
    which is why Hyperband also runs brackets that judge later."""
    setting = (27, 3, 1, 27)
    kept, _ = run_sha(setting, seed=0)
    crossing = SyntheticCurves(crossing=3.0, max_steps=27)
    lost = search(crossing, SPACE, "sha", budget=40, seed=0, progress=False,
                  options=dict(n=27, eta=3, min_budget=1, max_budget=27))
    assert [t.params for t in kept if t.rung == 0] == [t.params for t in lost if t.rung == 0]
    rungs = rungs_of(lost, 0)
    finals = {t.config: crossing.final(t.params) for t in rungs[0]}
    best = min(finals, key=finals.get)
    winner = ranked(rungs[-1])[0].config
    assert winner != best and finals[winner] > finals[best]
    dropped_at = next(k for k, rung in enumerate(rungs) if best not in {t.config for t in rung})
    print(f"crossing=3: the final best (final {finals[best]:.3f}) is dropped at rung {dropped_at}; "
          f"SHA's winner has final {finals[winner]:.3f}")


@pytest.mark.parametrize("options, fragment", [
    (dict(n=0), "n=0"), (dict(n=2.5), "n=2.5"), (dict(n=True), "n=True"), (dict(eta=1), "eta=1"),
    (dict(min_budget=0), "min_budget=0"), (dict(min_budget=30, max_budget=27), "min_budget=30"),
    (dict(max_budget=np.inf), "max_budget=inf"),
])
def test_bad_options(options, fragment):
    with pytest.raises(ValueError, match=fragment):
        SuccessiveHalving(SPACE, **options)


def test_tell_rejects_a_trial_it_did_not_ask():
    with pytest.raises(ValueError, match="no bracket, config or rung"):
        SuccessiveHalving(SPACE).tell(Trial(0, {"x": 0.5, "y": 0.5}, 1.0))
