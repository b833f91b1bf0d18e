"""fidelity.py: the integer schedules against independent oracles (exact integers, scikit-learn's
``HalvingRandomSearchCV``, the tables of Li et al. 2017 and Algorithm 1 written out with
``fractions.Fraction``), argument errors, and ``Run.report``."""

import math
import os
import subprocess
import sys
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

from amsearch_lab import fidelity
from amsearch_lab.fidelity import Run, TrialStopped, halving_schedule, hyperband_brackets, ilog


# -- ilog ---------------------------------------------------------------------------------------------
def exact_ilog(x: int, base: int) -> int:
    """Ground truth by integer search: the k with base**k <= x < base**(k + 1)."""
    k = 0
    while base ** (k + 1) <= x:
        k += 1
    assert base**k <= x < base ** (k + 1)
    return k


@pytest.mark.parametrize("x, base, k", [(243, 3, 5), (2**50, 2, 50), (10**15, 10, 15), (242, 3, 4), (244, 3, 5),
                                        (2**50 - 1, 2, 49), (10**15 - 1, 10, 14), (1, 2, 0), (1000, 10, 3),
                                        (3**40, 3, 40), (3**40 - 1, 3, 39)])
def test_ilog_at_and_around_exact_powers(x, base, k):
    assert ilog(x, base) == k == exact_ilog(x, base)


def test_ilog_equals_integer_search_for_many_arguments():
    rng = np.random.default_rng(0)
    cases = [(x, b) for b in range(2, 12) for x in range(1, 400)]
    cases += [(int(x), int(b)) for x, b in zip(rng.integers(1, 10**12, 300), rng.integers(2, 40, 300))]
    cases += [(b**k + d, b) for b in (2, 3, 4, 5, 7, 10) for k in range(1, 30) for d in (-1, 0, 1)]
    for x, base in cases:
        assert ilog(x, base) == exact_ilog(x, base), (x, base)


def test_ilog_of_non_integers_is_the_floor_of_the_log():
    assert ilog(Fraction(81, 2), 3) == 3 and ilog(2.999, 3) == 0 and ilog(3.0, 3) == 1 and ilog(Fraction(27), 3) == 3


def test_the_floating_point_pitfall_ilog_avoids():
    assert math.floor(math.log(243, 3)) == 4  # log(243, 3) = 4.999999999999999
    assert math.floor(math.log(1000, 10)) == 2
    assert ilog(243, 3) == 5 and ilog(1000, 10) == 3


@pytest.mark.parametrize("x, base, name", [(0, 2, "x=0"), (0.5, 2, "x=0.5"), (float("nan"), 2, "x=nan"),
                                           (10, 1, "base=1"), (10, 2.0, "base=2.0"), (10, 0, "base=0")])
def test_ilog_bad_arguments(x, base, name):
    with pytest.raises(ValueError, match=f"ilog: {name}"):
        ilog(x, base)


# -- halving_schedule against scikit-learn ------------------------------------------------------------------
def sklearn_schedule(n, factor, min_resources, max_resources):
    """``(n_candidates_, n_resources_)`` of scikit-learn's HalvingRandomSearchCV without aggressive
    elimination, the resource being a parameter of an estimator that does nothing (one split of
    four samples, so a fit costs microseconds)."""
    from scipy.stats import uniform
    from sklearn.base import BaseEstimator
    from sklearn.experimental import enable_halving_search_cv  # noqa: F401 - makes the class importable
    from sklearn.model_selection import HalvingRandomSearchCV

    class Dummy(BaseEstimator):
        def __init__(self, a=0.5, epochs=1):
            self.a, self.epochs = a, epochs

        def fit(self, X, y=None):
            return self

        def score(self, X, y=None):
            return -abs(self.a - 0.3)

    search = HalvingRandomSearchCV(Dummy(), {"a": uniform(0, 1)}, n_candidates=n, factor=factor, resource="epochs",
                                   min_resources=min_resources, max_resources=max_resources,
                                   aggressive_elimination=False, cv=[(np.arange(2), np.arange(2, 4))], refit=False,
                                   random_state=0, n_jobs=1)
    search.fit(np.zeros((4, 1)))
    return [(int(c), int(r)) for c, r in zip(search.n_candidates_, search.n_resources_)]


@pytest.mark.parametrize("n, eta, r, R", [(27, 3, 1, 27), (30, 3, 2, 100), (20, 2, 1, 16), (100, 4, 1, 64),
                                          (9, 3, 1, 81), (125, 5, 1, 125), (50, 3, 5, 40)])
def test_halving_schedule_equals_scikit_learn(n, eta, r, R):
    assert halving_schedule(n, eta, r, R) == sklearn_schedule(n, eta, r, R)


@pytest.mark.parametrize("n, eta, ours, theirs", [
    (243, 3, [(243, 1), (81, 3), (27, 9), (9, 27), (3, 81), (1, 243)],
     [(243, 1), (81, 3), (27, 9), (9, 27), (3, 81)]),
    (1000, 10, [(1000, 1), (100, 10), (10, 100), (1, 1000)], [(1000, 1), (100, 10), (10, 100)]),
])
def test_halving_schedule_disagrees_with_scikit_learn_at_exact_powers(n, eta, ours, theirs):
    """Measured with scikit-learn 1.9: its floor(log(n, factor)) is one short when n = factor**k
    (log(243, 3) = 4.999...), so it stops a rung early with eta candidates left; the integer
    count runs the last rung down to one candidate at the full budget."""
    assert halving_schedule(n, eta, 1, n) == ours
    assert sklearn_schedule(n, eta, 1, n) == theirs


def test_halving_schedule_shape():
    # the last rung keeps between 1 and eta configurations; budgets never pass R
    for n in range(1, 90):
        for eta in (2, 3, 4):
            rungs = halving_schedule(n, eta, 1, 50)
            assert rungs[0][0] == n and 1 <= rungs[-1][0] <= max(eta, n) and all(r <= 50 for _, r in rungs)
            assert all(b == math.ceil(a / eta) for (a, _), (b, _) in zip(rungs, rungs[1:]))
    assert halving_schedule(27, 3, 0.5, 13.5) == [(27, 0.5), (9, 1.5), (3, 4.5), (1, 13.5)]
    assert [type(r) for _, r in halving_schedule(27, 3, 1, 27)] == [int] * 4


# -- hyperband_brackets against the paper ------------------------------------------------------------------
def algorithm_1(min_budget, max_budget, eta):
    """Li et al. 2017, Algorithm 1, in exact fractions (R in units of min_budget)."""
    R = Fraction(max_budget) / Fraction(min_budget)
    s_max = max(s for s in range(200) if Fraction(eta) ** s <= R)
    B = (s_max + 1) * R
    table = []
    for s in range(s_max, -1, -1):
        n = math.ceil(B / R * Fraction(eta) ** s / (s + 1))
        r = R * Fraction(eta) ** -s
        table.append([(math.floor(n * Fraction(eta) ** -i), r * Fraction(eta) ** i * Fraction(min_budget))
                      for i in range(s + 1)])
    return table


def as_passed(table):
    """The exact budgets as the loop receives them: an int when whole, else the nearest float."""
    return [[(n, int(r) if r.denominator == 1 else float(r)) for n, r in bracket] for bracket in table]


def test_hyperband_r27_eta3_is_the_issues_table():
    assert hyperband_brackets(1, 27, 3) == [[(27, 1), (9, 3), (3, 9), (1, 27)], [(12, 3), (4, 9), (1, 27)],
                                            [(6, 9), (2, 27)], [(4, 27)]]


def test_hyperband_r81_eta3_is_table_1_of_the_paper():
    assert hyperband_brackets(1, 81, 3) == [
        [(81, 1), (27, 3), (9, 9), (3, 27), (1, 81)],
        [(34, 3), (11, 9), (3, 27), (1, 81)],
        [(15, 9), (5, 27), (1, 81)],
        [(8, 27), (2, 81)],
        [(5, 81)],
    ]


@pytest.mark.parametrize("R", [9, 27, 81, 243, 100, 10])
@pytest.mark.parametrize("eta", [2, 3, 4])
def test_hyperband_equals_algorithm_1_in_fractions(R, eta):
    ours = hyperband_brackets(1, R, eta)
    assert ours == as_passed(algorithm_1(1, R, eta))
    assert len(ours) == exact_ilog(R, eta) + 1


@pytest.mark.parametrize("min_budget, max_budget, eta", [(2, 54, 3), (0.5, 40.5, 3), (3, 100, 2), (Fraction(1, 3), 9, 3)])
def test_hyperband_with_a_minimum_budget_other_than_one(min_budget, max_budget, eta):
    ours = hyperband_brackets(min_budget, max_budget, eta)
    assert ours == as_passed(algorithm_1(min_budget, max_budget, eta))
    exact = algorithm_1(min_budget, max_budget, eta)
    assert [[type(r) for _, r in b] for b in ours] == [[int if r.denominator == 1 else float for _, r in b] for b in exact]


@pytest.mark.parametrize("min_budget, max_budget, eta, k", [(0.1, 0.3, 3, 1), (0.1, 8.1, 3, 4), (0.2, 1.8, 3, 2),
                                                          (0.05, 4.05, 3, 4), (0.01, 0.09, 3, 2)])
def test_decimal_budgets_keep_every_rung(min_budget, max_budget, eta, k):
    """BUG (fidelity.py): Fraction(0.1) is the binary value 0.1000000000000000055..., so
    max_budget / min_budget = 8.1 / 0.1 comes out as 80.99... and ⌊log_3⌋ drops a bracket and a
    rung, the very pitfall the integer counts are there to avoid. The decimal the user wrote
    (Fraction(str(x)) or limit_denominator) gives R = 81."""
    exact = algorithm_1(Fraction(str(min_budget)), Fraction(str(max_budget)), eta)
    assert len(exact) == k + 1
    assert len(hyperband_brackets(min_budget, max_budget, eta)) == k + 1
    assert hyperband_brackets(min_budget, max_budget, eta) == as_passed(exact)
    assert len(halving_schedule(eta**k, eta, min_budget, max_budget)) == k + 1


def test_hyperband_counts_brackets_in_integers():
    assert len(hyperband_brackets(1, 81, 3)) == 5 and len(hyperband_brackets(1, 243, 3)) == 6
    assert len(hyperband_brackets(1, 1000, 10)) == 4 and len(hyperband_brackets(1, 2**20, 2)) == 21
    assert hyperband_brackets(1, 243, 3)[0] == [(243, 1), (81, 3), (27, 9), (9, 27), (3, 81), (1, 243)]


def test_the_schedules_do_not_depend_on_the_hash_seed():
    """Two interpreters with different PYTHONHASHSEED print the same tables. fidelity.py imports
    nothing of the package, so it is loaded from its file (the package import takes seconds)."""
    code = ("import importlib.util, sys; spec = importlib.util.spec_from_file_location('f', sys.argv[1]); "
            "f = importlib.util.module_from_spec(spec); sys.modules['f'] = f; spec.loader.exec_module(f); "
            "print([f.hyperband_brackets(1, R, e) for R in (27, 81, 243) for e in (2, 3)], "
            "f.halving_schedule(243, 3, 1, 243))")
    outputs = [subprocess.run([sys.executable, "-c", code, str(Path(fidelity.__file__))], capture_output=True,
                              text=True, check=True, env={**os.environ, "PYTHONHASHSEED": seed}).stdout
               for seed in ("1", "2")]
    assert outputs[0] == outputs[1]
    assert outputs[0].startswith(repr([hyperband_brackets(1, 27, 2)])[:-1])


# -- argument errors ----------------------------------------------------------------------------------
@pytest.mark.parametrize("kwargs, name", [
    ({"eta": 1}, "eta=1"), ({"eta": 2.5}, "eta=2.5"), ({"eta": True}, "eta=True"), ({"eta": "3"}, "eta='3'"),
    ({"min_budget": 0}, "min_budget=0"), ({"min_budget": -1}, "min_budget=-1"),
    ({"min_budget": float("nan")}, "min_budget=nan"), ({"max_budget": float("inf")}, "max_budget=inf"),
    ({"max_budget": "27"}, "max_budget='27'"), ({"max_budget": True}, "max_budget=True"),
    ({"min_budget": 30, "max_budget": 27}, "min_budget=30 must be <= max_budget=27"),
])
def test_schedule_arguments_are_named(kwargs, name):
    with pytest.raises(ValueError, match=f"hyperband_brackets: {name}"):
        hyperband_brackets(**kwargs)
    with pytest.raises(ValueError, match=f"halving_schedule: {name}"):
        halving_schedule(27, **kwargs)


@pytest.mark.parametrize("n", [0, -3, 2.5, True, "27", None])
def test_halving_schedule_names_a_bad_n(n):
    with pytest.raises(ValueError, match=f"halving_schedule: n={n!r}"):
        halving_schedule(n)


# -- Run.report ---------------------------------------------------------------------------------------
def test_report_enforces_increasing_steps():
    run = Run({"x": 1}, budget=5, start=2)
    for step in (2, 1, 0):  # not beyond start
        with pytest.raises(ValueError, match=f"step={step} must be greater than the last step 2"):
            run.report(step, 0.5)
    run.report(3, 0.5)
    run.report(3.5, 0.4)
    with pytest.raises(ValueError, match="step=3.5 must be greater than the last step 3.5"):
        run.report(3.5, 0.3)
    for bad in (float("nan"), float("inf"), True, "4", None):
        with pytest.raises(ValueError, match="Run.report: step="):
            run.report(bad, 0.3)
    assert run.curve == [[3, 0.5], [3.5, 0.4]] and run.last_step == 3.5


def test_report_records_nan_as_none_and_converts_scalars():
    run = Run({})
    run.report(1, float("nan"))
    run.report(2, np.float32(0.25))
    run.report(3, np.array(0.5))  # anything with .item(), as a torch scalar
    run.report(4, float("-inf"))
    assert run.curve == [[1, None], [2, 0.25], [3, 0.5], [4, None]]
    assert all(type(v) is float for _, v in run.curve[1:3])
    for bad in ("0.3", None, True, [0.1]):
        with pytest.raises(ValueError, match="Run.report: value="):
            run.report(5, bad)
    assert run.last_step == 4


def test_report_keeps_the_last_state_by_reference():
    start_state = {"epoch": 0}
    run = Run({}, start=0, state=start_state)
    assert run.state is start_state
    run.report(1, 0.1)  # no state given: the previous one stays
    assert run.state is start_state
    new = {"epoch": 2}
    run.report(2, 0.2, state=new)
    assert run.state is new  # a reference, not a copy
    run.report(3, 0.3)
    assert run.state is new


def test_report_raises_trial_stopped_when_the_callback_says_so():
    calls = []

    def should_stop(step, value):
        calls.append((step, value))
        return "too slow" if step >= 3 else None

    run = Run({}, budget=10, should_stop=should_stop)
    run.report(1, 0.9, state="s1")
    run.report(2, float("nan"), state="s2")
    with pytest.raises(TrialStopped, match="too slow"):
        run.report(3, 0.7, state="s3")
    assert run.stopped == "too slow"
    assert run.curve == [[1, 0.9], [2, None], [3, 0.7]] and run.state == "s3"  # recorded before the stop
    assert calls[0] == (1, 0.9) and math.isnan(calls[1][1]) and calls[2] == (3, 0.7)


def test_a_run_without_a_callback_never_stops():
    run = Run({}, budget=3)
    for step in range(1, 20):
        run.report(step, float(step))
    assert run.stopped is None and len(run.curve) == 19
