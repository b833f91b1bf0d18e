"""The contract every registered strategy keeps (Optuna's ``pytest_samplers`` idea):
proposals stay inside the space, the same seed gives the same trials, failed and NaN trials do
not stop the search, a strategy that learns proposes points nearer the optimum than chance, and
no strategy proposes an evaluated point again unless its documentation says it may.

Multi-fidelity strategies (their ``ask()`` returns a ``fidelity.Job``) keep the same contract,
with a configuration's jobs at increasing budgets counted as one configuration, and more: a
configuration is never trained twice to one budget, and a failed, NaN or stopped result is never
promoted.

A strategy that cannot run on a black-box objective sets ``blackbox = False`` and is tested
by its own module instead. (That the best-so-far curve never gets worse is a property of
``History``, tested in ``tests/test_study.py``.)
"""

import math
import sys
import warnings

import numpy as np
import pytest

from amsearch_lab import STRATEGIES, Choice, Float, GreedySearch, Int, Space, Strategy, search
from amsearch_lab.fidelity import Job, TrialStopped
from amsearch_lab.study import as_job

# the contract runs an unshuffled grid on a budget below its size on purpose; search() says so each time
pytestmark = pytest.mark.filterwarnings("ignore:search. the grid has:UserWarning")

BLACKBOX = sorted(name for name, cls in STRATEGIES.items() if getattr(cls, "blackbox", True) is not False)
BUDGET = 24
MULTI_FIDELITY = ["asha", "bohb", "hyperband", "median", "sha"]  # their ask() returns a fidelity.Job


def mixed_space():
    return Space({
        "lr": Float(1e-4, 1.0, log=True),
        "x": Float(-2.0, 3.0),
        "width": Int(8, 64, step=8),
        "depth": Int(1, 5),
        "act": Choice(["relu", "tanh", "gelu"]),
    })


def smooth(params):
    """A cheap objective with a unique minimum, so learning strategies have something to find."""
    penalty = {"relu": 0.0, "tanh": 0.3, "gelu": 0.1}[params["act"]]
    return (math.log10(params["lr"]) + 2) ** 2 + (params["x"] - 1) ** 2 + (params["width"] - 32) ** 2 / 500 \
        + 0.1 * params["depth"] + penalty


def flaky(params):
    """Raises for some points and returns NaN or inf for others."""
    if params["depth"] == 2:
        raise RuntimeError("the model diverged")
    if params["act"] == "tanh" and params["x"] > 1:
        return float("nan")
    if params["width"] == 64:
        return float("inf")
    return smooth(params)


@pytest.mark.parametrize("name", BLACKBOX)
def test_proposals_stay_inside_the_space(name):
    space = mixed_space()
    history = search(smooth, space, name, budget=BUDGET, seed=0, progress=False)
    assert len(history) > 0
    for trial in history:
        assert trial.params in space, f"{name} proposed {trial.params}"


@pytest.mark.parametrize("name", BLACKBOX)
def test_same_seed_same_trials(name):
    runs = [search(smooth, mixed_space(), name, budget=BUDGET, seed=7, progress=False) for _ in range(2)]
    assert [t.params for t in runs[0]] == [t.params for t in runs[1]]
    assert [t.value for t in runs[0]] == [t.value for t in runs[1]]


@pytest.mark.parametrize("name", BLACKBOX)
def test_different_seeds_differ(name):
    a = search(smooth, mixed_space(), name, budget=BUDGET, seed=1, progress=False)
    b = search(smooth, mixed_space(), name, budget=BUDGET, seed=2, progress=False)
    if name == "grid":  # an unshuffled grid is the same walk whatever the seed
        assert [t.params for t in a] == [t.params for t in b]
    else:
        assert [t.params for t in a] != [t.params for t in b]


@pytest.mark.parametrize("name", BLACKBOX)
@pytest.mark.parametrize("minimize", [True, False])
def test_survives_failed_and_nan_trials(name, minimize):
    objective = flaky if minimize else (lambda p: -flaky(p))
    history = search(objective, mixed_space(), name, budget=BUDGET, seed=3, progress=False, minimize=minimize)
    assert len(history) == BUDGET
    statuses = {t.status for t in history}
    assert "failed" in statuses and "ok" in statuses, f"{name}: the test should see both outcomes"
    for t in history:
        if t.status == "failed":
            assert t.value is None and t.error
        else:
            assert math.isfinite(t.value)


@pytest.mark.parametrize("name", BLACKBOX)
def test_ask_tell_by_hand_matches_search(name):
    """The loop adds nothing a user could not do with ask/tell directly (a multi-fidelity
    strategy's Job fields go into the trial as the loop puts them)."""
    from amsearch_lab.study import Trial

    space = mixed_space()
    strategy = STRATEGIES[name](space, seed=11)
    by_hand = []
    for i in range(10):
        job = as_job(strategy.ask())
        trial = Trial(number=i, params=job.params, value=smooth(job.params), budget=job.budget, config=job.config,
                      bracket=job.bracket, rung=job.rung)
        strategy.tell(trial)
        by_hand.append((job.params, job.budget, job.config, job.bracket, job.rung))
    history = search(smooth, space, name, budget=10, seed=11, progress=False)
    assert [(t.params, t.budget, t.config, t.bracket, t.rung) for t in history] == by_hand


def test_the_multi_fidelity_list_is_every_strategy_that_asks_jobs():
    asks_jobs = {name for name in BLACKBOX if isinstance(STRATEGIES[name](mixed_space(), seed=0).ask(), Job)}
    assert asks_jobs == set(MULTI_FIDELITY)


# -- a strategy that learns proposes points near the optimum -------------------------------------------
NOT_LEARNING = {
    "random": "draws every point independently of the values it is told",
    "grid": "walks a fixed grid, in an order set by the seed alone",
    # multi-fidelity strategies that select without learning: their promoted jobs repeat the best
    # configurations so far, but every new configuration is a uniform draw
    "sha": "draws every new configuration uniformly; it only chooses which ones to train further",
    "hyperband": "draws every new configuration uniformly; it only chooses which ones to train further",
    "asha": "draws every new configuration uniformly; it only chooses which ones to train further",
    "median": "a stopping rule over random search (its default sampler), which ignores the values it is told",
}
OPTIMUM = np.array([1.5, -2.0])  # off-centre, so a strategy that favours the middle gains nothing
QUARTER_RADIUS = math.sqrt(100 / 4 / math.pi)  # the disc of a quarter of the square's area (fits inside it)


def square():
    return Space({"x": Float(-5.0, 5.0), "y": Float(-5.0, 5.0)})


def bowl(params):
    return (params["x"] - OPTIMUM[0]) ** 2 + (params["y"] - OPTIMUM[1]) ** 2


def new_configurations(history) -> list:
    """The trials that proposed a new configuration: every trial of a plain strategy, the first
    job of each configuration of a multi-fidelity one (a promotion proposes nothing new)."""
    seen = set()
    out = []
    for t in history:
        if t.config is None or t.config not in seen:
            out.append(t)
            seen.add(t.config)
    return out


def assert_learns(strategy, seeds=(0, 1), budget=40):
    """The last half of the new configurations proposed in ``budget`` trials on the bowl, pooled
    over ``seeds``, have a median distance to the optimum below ``QUARTER_RADIUS``: more than half
    of them fall in the disc where a uniform random point falls with probability 1/4. Points that
    ignore the values pass this with probability P(Binomial(40, 1/4) >= 20) < 0.001 (a plain
    strategy), P(Binomial(28, 1/4) >= 14) < 0.004 (Hyperband's first bracket: 27 new
    configurations in 40 trials). Promotions are left out: they re-train the best
    configurations so far, which a strategy that draws uniformly does too."""
    late = []
    for seed in seeds:
        history = search(bowl, square(), strategy, budget=budget, seed=seed, progress=False)
        new = new_configurations(history)
        late += [[t.params["x"], t.params["y"]] for t in new[len(new) // 2:]]
    median = float(np.median(np.linalg.norm(np.array(late) - OPTIMUM, axis=1)))
    assert median < QUARTER_RADIUS, (f"{strategy}: median distance {median:.3g} of its late proposals to the "
                                     f"optimum; a uniform point is within {QUARTER_RADIUS:.3g} only 1/4 of the time")


@pytest.mark.parametrize("name", [n for n in BLACKBOX if n not in NOT_LEARNING])
def test_a_learning_strategy_proposes_near_the_optimum(name):
    assert_learns(name)


def test_the_strategies_exempt_from_learning_are_registered():
    assert set(NOT_LEARNING) <= set(BLACKBOX)


# -- no point is proposed twice, unless the strategy says it samples with replacement -----------------------
REPEATS_ALLOWED = {  # name: (words of its docstring that say so, why)
    "random": ("independently", "each point is an independent draw from the space, with replacement"),
    "sha": ("with replacement", "each new configuration is a uniform draw from the space"),
    "hyperband": ("with replacement", "each new configuration is a uniform draw from the space"),
    "bohb": ("with replacement", "a share random_fraction of its new configurations are uniform draws, and so "
                                 "are all of them until a budget holds enough results for a model"),
    "asha": ("with replacement", "each new configuration is a uniform draw from the space"),
    "median": ("random search by default", "its default sampler is random search, which draws with replacement"),
    "genetic": ("up to a few times", "the first generation is drawn at random, with replacement, and a child "
                                      "that repeats a point is mutated again only a few times"),
    "evolution": ("again and again", "the first population is drawn at random, with replacement, and a child is "
                                     "its parent mutated without a look at what was evaluated: aging keeps what "
                                     "trains well again and again, as in Real et al.'s code"),
}


def finite_space():
    return Space({"k": Int(0, 4), "c": Choice(["a", "b", "c"])})  # 5 x 3 = 15 points


def finite_objective(params):
    return (params["k"] - 3) ** 2 + {"a": 0.5, "b": 0.0, "c": 1.0}[params["c"]]


def assert_never_repeats(strategy, seeds=(0, 1, 2)):
    """With a budget of the space's size, no evaluated point is proposed again at the same budget
    (the search may stop early; a multi-fidelity strategy trains a point on to higher budgets)."""
    space = finite_space()
    for seed in seeds:
        history = search(finite_objective, space, strategy, budget=15, seed=seed, progress=False)
        keys = [(space.key(t.params), t.budget) for t in history]
        repeated = [t.params for t, key in zip(history, keys) if keys.count(key) > 1]
        assert not repeated, f"{strategy}, seed {seed}: proposed {repeated} more than once"


@pytest.mark.parametrize("name", [n for n in BLACKBOX if n not in REPEATS_ALLOWED])
def test_no_point_is_proposed_twice(name):
    assert_never_repeats(name)


@pytest.mark.parametrize("name", sorted(REPEATS_ALLOWED))
def test_a_strategy_allowed_to_repeat_says_so(name):
    cls = STRATEGIES[name]
    words, _ = REPEATS_ALLOWED[name]
    assert words in f"{sys.modules[cls.__module__].__doc__} {cls.__doc__}"


# -- multi-fidelity: jobs, promotions and failures -----------------------------------------------------
def curve_objective(minimize=True, max_steps=27):
    """A multi-fidelity ``flaky``: ``smooth + 1/t`` at steps t = start + 1 .. budget, continuing
    from its checkpoint (the step reached). Depth 2 raises from step 2 on (a failure after a
    first result at step 1), tanh with x > 1 reports NaN, and width 64 reports a value better than
    any other and stops itself, so a strategy that ranked stopped trials by value would promote
    them."""
    sign = 1 if minimize else -1

    def objective(params, run):
        for t in range(run.start + 1, (run.budget or max_steps) + 1):
            if params["depth"] == 2 and t >= 2:
                raise RuntimeError("the model diverged")
            value = math.nan if params["act"] == "tanh" and params["x"] > 1 else smooth(params) + 1 / t
            if params["width"] == 64:
                run.report(t, sign * -100.0, state=t)
                raise TrialStopped("out of memory")
            run.report(t, sign * value, state=t)
        return sign * value

    return objective


@pytest.mark.parametrize("name", MULTI_FIDELITY)
@pytest.mark.parametrize("minimize", [True, False])
def test_a_failed_nan_or_stopped_result_is_never_promoted(name, minimize):
    history = search(curve_objective(minimize), mixed_space(), name, budget=60, seed=4, minimize=minimize,
                     progress=False)
    assert {"ok", "failed", "stopped"} <= {t.status for t in history}, f"{name}: the test should see every outcome"
    errors = {t.error for t in history if t.status == "failed"}
    assert {"objective returned nan", "RuntimeError: the model diverged"} <= errors, f"{name}: and both failures"
    for i, t in enumerate(history):
        if t.status != "ok":
            later = [u.number for u in history.trials[i + 1:] if u.config == t.config]
            assert not later, f"{name}: trial {t.number} ({t.status}) was trained again in trials {later}"
    if name != "median":  # the ok results were promoted, so the check above had something to pass
        assert any(t.rung for t in history)


@pytest.mark.parametrize("name", MULTI_FIDELITY)
def test_a_configuration_is_trained_to_each_budget_once(name):
    history = search(smooth, mixed_space(), name, budget=75, seed=5, progress=False)  # hyperband cycles at 69
    jobs = {}
    for t in history:
        jobs.setdefault(t.config, []).append(t)
    assert None not in jobs, f"{name}: every job names its configuration"
    for config, trials in jobs.items():
        budgets = [t.budget for t in trials]
        assert all(t.params == trials[0].params for t in trials), f"{name}: configuration {config} changed its params"
        assert all(a is not None and a < b for a, b in zip(budgets, budgets[1:])), \
            f"{name}: configuration {config} was asked budgets {budgets}"


@pytest.mark.parametrize("name", MULTI_FIDELITY)
def test_same_seed_same_trials_with_a_multi_fidelity_objective(name):
    runs = [search(curve_objective(), mixed_space(), name, budget=40, seed=7, progress=False) for _ in range(2)]
    fields = [[(t.params, t.budget, t.config, t.start_step, t.curve, t.status, t.value) for t in run] for run in runs]
    assert fields[0] == fields[1]


# -- the checks above catch broken strategies ---------------------------------------------------------------
class Stuck(Strategy):
    """Broken: proposes the first grid point (a corner of the space) again and again."""

    def ask(self):
        return self.space.grid(2)[0]


class Uphill(GreedySearch):
    """Broken: the sign of the loss is flipped, so it climbs away from the optimum."""

    def loss(self, trial):
        return -super().loss(trial)


class Forgetful(GreedySearch):
    """Broken: forgets which points it has evaluated, so it proposes them again."""

    def tell(self, trial):
        super().tell(trial)
        self.seen_.clear()


@pytest.mark.parametrize("broken", [Stuck, Uphill])
def test_the_learning_check_fails_on_a_broken_strategy(broken):
    with pytest.raises(AssertionError, match="median distance"):
        assert_learns(broken)


@pytest.mark.parametrize("broken", [Stuck, Forgetful])
def test_the_repeat_check_fails_on_a_broken_strategy(broken):
    with pytest.raises(AssertionError, match="more than once"):
        assert_never_repeats(broken)


# -- losses at the ends of the float range ---------------------------------------------------------------
ORDER_ONLY = ["greedy", "genetic", "evolution"]  # strategies that only compare losses, never compute with them

def off_centre_bowl(params):
    return (params["x"] - 0.2) ** 2 + (params["y"] - 0.7) ** 2


def unit_square():
    return Space({"x": Float(0.0, 1.0), "y": Float(0.0, 1.0)})


ORDER_KEEPING = {"huge": lambda v: 1e300 * (1 + v), "tiny": lambda v: 1e-300 * (1 + v),
                 "near -max": lambda v: -1e308 / (1 + v)}


@pytest.mark.parametrize("strategy", ORDER_ONLY)
@pytest.mark.parametrize("transform", ORDER_KEEPING.values(), ids=list(ORDER_KEEPING))
def test_only_the_order_of_the_losses_matters(strategy, transform):
    """The strategy only compares losses, never computes with them, so losses near the ends of the
    float range (1e300, 1e-300, -1e308) give exactly the proposals of the plain ones."""
    plain = search(off_centre_bowl, unit_square(), strategy, budget=60, seed=0, progress=False)
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        extreme = search(lambda p: transform(off_centre_bowl(p)), unit_square(), strategy, budget=60, seed=0, progress=False)
    assert [t.params for t in extreme] == [t.params for t in plain]


@pytest.mark.parametrize("strategy", ORDER_ONLY)
@pytest.mark.parametrize("minimize", [True, False])
def test_a_plateau_at_the_largest_float_is_left_for_the_good_half(strategy, minimize):
    """1e308 (or -1e308 when maximising) on half of the square: no error, and the search keeps
    to the other half more than random search does (about half of its points)."""
    def objective(p):
        loss = 1e308 if p["x"] > 0.5 else off_centre_bowl(p)
        return loss if minimize else -loss

    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        history = search(objective, unit_square(), strategy, budget=60, seed=0, progress=False, minimize=minimize)
    good = [t.params["x"] <= 0.5 for t in history.trials[20:]]
    assert history.best.params["x"] <= 0.5 and sum(good) / len(good) > 0.65
