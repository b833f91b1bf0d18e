"""Tests of ``strategies/asha.py``: asynchronous successive halving (Li et al. 2020, Algorithm 2).

Ground truths, none of them read from the strategy:
- a hand-worked run with η = 3, every job written out;
- an oracle of the promotion rule, recomputed here after every result over long runs: in rung k
  (below the top), the top ⌊n_k / η⌋ of the n_k results told so far (finite losses only, ties
  in the order told) that were not promoted yet; the best of the highest such rung is promoted,
  else a new configuration starts at rung 0. The runs tell results in order, in reverse
  (several jobs asked before any is told: parallel workers) and at random;
- the rung budgets R η^{k−K}, computed with exact fractions.
"""

import math
from fractions import Fraction

import numpy as np
import pytest

from amsearch_lab import search
from amsearch_lab.curves import SyntheticCurves
from amsearch_lab.fidelity import hyperband_brackets
from amsearch_lab.history import Trial
from amsearch_lab.strategies import ASHA

SPACE = SyntheticCurves.space()


def told(strategy, job, value, number, status="ok"):
    """Tell ``strategy`` the outcome of ``job`` as the loop would."""
    strategy.tell(Trial(number, dict(job.params), value, status=status, budget=job.budget, config=job.config,
                        bracket=job.bracket, rung=job.rung))


def test_a_hand_worked_run():
    """η = 3, R = 9: rungs at budgets 1, 3, 9. Each step: the job asked, then the value told."""
    asha = ASHA(SPACE, seed=0, eta=3, min_budget=1, max_budget=9)
    script = [  # (config, rung) expected from ask(), value to tell, why
        ((0, 0), 5.0),  # nothing told: a new configuration
        ((1, 0), 3.0),  # rung 0 holds 1 result: ⌊1/3⌋ = 0 promotable
        ((2, 0), 4.0),  # 2 results: still 0
        ((1, 1), 2.0),  # 3 results: ⌊3/3⌋ = 1, the best (config 1, 3.0) goes to rung 1
        ((3, 0), 1.0),  # config 1 was promoted already; rung 1 holds 1 result: a new configuration
        ((3, 1), 6.0),  # 4 results: ⌊4/3⌋ = 1, top-1 is now config 3 (1.0), not promoted yet
        ((4, 0), 7.0),  # rung 0: top-1 = {3} promoted; rung 1: ⌊2/3⌋ = 0
        ((5, 0), 8.0),  # 5 results: ⌊5/3⌋ = 1
        ((6, 0), 0.5),  # 6 results: ⌊6/3⌋ = 2, top-2 = {3, 1}, both promoted
        ((6, 1), 2.5),  # 7 results: top-2 = {6, 3}: config 6 goes up
        ((1, 2), 9.0),  # rung 1: 3 results {1: 2.0, 3: 6.0, 6: 2.5}, top-1 = config 1 -> rung 2 (budget 9)
        ((7, 0), 1.0),  # nothing left to promote
    ]
    for number, ((config, rung), value) in enumerate(script):
        job = asha.ask()
        assert (job.config, job.rung, job.budget) == (config, rung, [1, 3, 9][rung]), f"step {number}"
        told(asha, job, value, number)
    assert asha.promoted_ == [{1, 3, 6}, {1}, set()]


def test_the_first_promotion_waits_for_eta_results_and_takes_the_best():
    for eta in (2, 3, 4):
        asha = ASHA(SPACE, seed=1, eta=eta, min_budget=1, max_budget=eta**2)
        values = [3.0, 1.0, 2.0, 0.5][:eta]
        for number, value in enumerate(values):
            job = asha.ask()
            assert job.rung == 0 and job.config == number
            told(asha, job, value, number)
        job = asha.ask()
        assert (job.rung, job.config, job.budget) == (1, int(np.argmin(values)), eta)


@pytest.mark.parametrize("min_budget, max_budget, eta, budgets", [
    (1, 27, 3, [1, 3, 9, 27]),
    (1, 100, 3, [Fraction(100, 81), Fraction(100, 27), Fraction(100, 9), Fraction(100, 3), 100]),
    (2, 18, 3, [2, 6, 18]),
    (1.5, 27, 3, [3, 9, 27]),  # R/r = 18: K = ⌊log_3 18⌋ = 2, so rung 0 is 27/9 = 3, not r = 1.5
    (1, 16, 2, [1, 2, 4, 8, 16]),
])
def test_rung_budgets_are_R_eta_to_the_k_minus_K(min_budget, max_budget, eta, budgets):
    asha = ASHA(SPACE, eta=eta, min_budget=min_budget, max_budget=max_budget)
    assert asha.budgets == [int(b) if b == int(b) else float(b) for b in budgets]
    assert [type(b) for b in asha.budgets] == [int if b == int(b) else float for b in budgets]
    assert asha.budgets == [r for _, r in hyperband_brackets(min_budget, max_budget, eta)[0]]


class Oracle:
    """The promotion rule, kept independently of the strategy from the jobs and results alone."""

    def __init__(self, eta, budgets, minimize):
        self.eta, self.budgets, self.minimize = eta, budgets, minimize
        self.results = [[] for _ in budgets]  # rung -> [(config, loss)] in the order told
        self.promoted = [set() for _ in budgets]
        self.n_configs = 0

    def expected(self):
        """(config, rung) the next ask() must return."""
        for k in reversed(range(len(self.budgets) - 1)):
            finite = [(loss, i, c) for i, (c, loss) in enumerate(self.results[k]) if math.isfinite(loss)]
            top = [c for _, _, c in sorted(finite)[:len(self.results[k]) // self.eta]]
            waiting = [c for c in top if c not in self.promoted[k]]
            if waiting:
                return waiting[0], k + 1
        return self.n_configs, 0

    def asked(self, job):
        if job.rung == 0:
            self.n_configs += 1
        else:
            assert job.config not in self.promoted[job.rung - 1], "promoted twice from one rung"
            self.promoted[job.rung - 1].add(job.config)

    def told(self, job, value, status):
        loss = math.inf if status != "ok" or not math.isfinite(value) else (value if self.minimize else -value)
        self.results[job.rung].append((job.config, loss))


@pytest.mark.parametrize("order", ["sequential", "reversed", "random"])
@pytest.mark.parametrize("minimize", [True, False])
def test_promotions_follow_the_floor_n_over_eta_rule(order, minimize):
    """600 jobs, η = 3, 4 rungs; results in order, or up to 6 jobs asked before the results come
    back in reverse (LIFO workers) or at random. Some results fail or are NaN."""
    rng = np.random.default_rng(7)
    asha = ASHA(SPACE, seed=7, minimize=minimize, eta=3, min_budget=1, max_budget=27)
    oracle = Oracle(3, asha.budgets, minimize)
    quality, running, number, outcomes = {}, [], 0, []
    while number < 600:
        width = 1 if order == "sequential" else int(rng.integers(1, 7))
        while len(running) < width:
            expected = oracle.expected()
            job = asha.ask()
            assert (job.config, job.rung) == expected, f"job {number + len(running)}"
            assert job.budget == asha.budgets[job.rung]
            oracle.asked(job)
            assert asha.may_continue(job.config)  # running: its checkpoint is needed
            running.append(job)
        job = running.pop(-1 if order != "random" else int(rng.integers(len(running))))
        quality.setdefault(job.config, rng.normal())
        draw = rng.random()
        status, value = "ok", quality[job.config] / job.budget
        if draw < 0.05:
            status, value = "failed", None
        elif draw < 0.1:
            value = math.nan  # NaN in an "ok" trial: the loop never tells one, the strategy must cope anyway
        told(asha, job, value, number, status)
        oracle.told(job, value, status)
        outcomes.append(status)
        number += 1
        for k in range(len(asha.budgets) - 1):  # promotions out of rung k: never failed ones
            losses = dict(oracle.results[k])
            assert all(math.isfinite(losses[c]) for c in asha.promoted_[k])
    assert asha.promoted_ == oracle.promoted[:len(asha.budgets)]
    assert all(asha.promoted_[k] for k in range(3)) and outcomes.count("failed") > 10  # every rung was exercised


def test_out_of_order_results_from_parallel_workers():
    """Three workers ask before any result is back, and tell in reverse order."""
    asha = ASHA(SPACE, seed=2, eta=3, min_budget=1, max_budget=9)
    jobs = [asha.ask() for _ in range(3)]
    assert [(j.config, j.rung) for j in jobs] == [(0, 0), (1, 0), (2, 0)]  # no result: nothing to promote
    for number, (job, value) in enumerate(reversed(list(zip(jobs, [2.0, 1.0, 3.0])))):
        told(asha, job, value, number)
    jobs = [asha.ask() for _ in range(3)]
    assert [(j.config, j.rung) for j in jobs] == [(1, 1), (3, 0), (4, 0)]  # config 1 promoted once only
    for number, job in enumerate(reversed(jobs), start=3):
        told(asha, job, 0.0 if job.rung == 0 else 5.0, number)
    # rung 0: {0: 2, 1: 1, 2: 3, 4: 0, 3: 0} -> ⌊5/3⌋ = 1, the top is config 4 (told before config 3)
    job = asha.ask()
    assert (job.config, job.rung) == (4, 1)


def test_may_continue():
    asha = ASHA(SPACE, seed=3, eta=2, min_budget=1, max_budget=2)  # rungs at 1 and 2
    a, b = asha.ask(), asha.ask()
    told(asha, a, 1.0, 0)
    told(asha, b, None, 1, status="failed")
    top = asha.ask()
    assert (top.config, top.rung) == (0, 1)
    assert asha.may_continue(0)  # promoted, running
    told(asha, top, 0.5, 2)
    assert not asha.may_continue(0)  # at the top rung: done
    assert not asha.may_continue(1)  # failed: never promoted
    c = asha.ask()
    told(asha, c, 9.0, 3)
    assert asha.may_continue(c.config)  # below the top: may be promoted when its rung grows


def test_through_search_promoted_jobs_continue_their_checkpoints():
    curves = SyntheticCurves(crossing=0, max_steps=27)
    history = search(curves, SPACE, "asha", budget=150, seed=0, progress=False,
                     options=dict(eta=3, min_budget=1, max_budget=27))
    below = {0: 0, 1: 1, 2: 3, 3: 9}
    assert all(t.ok for t in history)  # SyntheticCurves raises if run.start does not match its state
    assert all(t.start_step == below[t.rung] and t.resource == t.budget - below[t.rung] for t in history)
    assert max(t.rung for t in history) == 3
    # crossing = 0: the best configuration told so far is in the top ⌊n_k/η⌋ of every rung it reaches, so it
    # climbs at once; the best final among the configurations drawn in the first 100 jobs reached the top
    early = {t.config: curves.final(t.params) for t in history[:100] if t.rung == 0}
    assert min(early, key=early.get) in {t.config for t in history if t.rung == 3}


@pytest.mark.parametrize("options, fragment", [
    (dict(eta=1), "eta=1"), (dict(eta=2.0), "eta=2.0"), (dict(min_budget=0), "min_budget=0"),
    (dict(min_budget=30, max_budget=27), "min_budget=30"), (dict(max_budget=math.nan), "max_budget=nan"),
])
def test_bad_options(options, fragment):
    with pytest.raises(ValueError, match=fragment):
        ASHA(SPACE, **options)


def test_tell_rejects_a_trial_it_did_not_ask():
    with pytest.raises(ValueError, match="no config or rung"):
        ASHA(SPACE).tell(Trial(0, {"x": 0.5, "y": 0.5}, 1.0))
