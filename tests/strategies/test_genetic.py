"""Genetic algorithm: each operator against its formula, offspring inside the space,
elitism, and that selection makes the GA beat random search on a smooth function."""


import numpy as np
import pytest

from amsearch_lab import Choice, Float, Int, Space, search
from amsearch_lab.strategies.genetic import (
    GeneticSearch,
    blend,
    gaussian_mutation,
    reflect,
    resample_choice,
    sbx,
    tournament,
    uniform_crossover,
)
from amsearch_lab.tasks import get_task


def mixed_space():
    return Space({"lr": Float(1e-4, 1.0, log=True), "width": Int(8, 64, step=8),
                  "act": Choice(["relu", "tanh", "gelu"]), "x": Float(-2.0, 3.0)})


def test_tournament_returns_the_best_contestant():
    losses = np.array([5.0, 1.0, 3.0, 0.5, 4.0])
    assert tournament(losses, k=5, rng=np.random.default_rng(0)) == 3  # everyone competes
    rng = np.random.default_rng(1)
    picks = [tournament(losses, k=2, rng=rng) for _ in range(2000)]
    assert 0 not in picks and 4 in picks  # the worst (index 0) never wins a 2-tournament; the 2nd worst can
    # P(best wins a 2-tournament of 5) = 1 - C(4,2)/C(5,2) = 0.4
    assert abs(np.mean(np.array(picks) == 3) - 0.4) < 0.04


def test_sbx_matches_its_formula_and_keeps_the_mean():
    p1, p2 = np.array([0.2, 0.6, 0.5]), np.array([0.4, 0.1, 0.5])
    c1, c2 = sbx(p1, p2, eta=15.0, rng=np.random.default_rng(3))
    u = np.random.default_rng(3).random(3)
    beta = np.where(u <= 0.5, (2 * u) ** (1 / 16), (1 / (2 * (1 - u))) ** (1 / 16))
    np.testing.assert_allclose(c1, 0.5 * ((1 + beta) * p1 + (1 - beta) * p2))
    np.testing.assert_allclose(c2, 0.5 * ((1 - beta) * p1 + (1 + beta) * p2))
    np.testing.assert_allclose((c1 + c2) / 2, (p1 + p2) / 2)
    np.testing.assert_allclose(c1[2], 0.5)  # equal parents give equal children


def test_blend_stays_in_the_widened_interval():
    rng = np.random.default_rng(0)
    p1, p2 = np.full(1000, 0.4), np.full(1000, 0.6)
    c1, c2 = blend(p1, p2, alpha=0.5, rng=rng)
    for c in (c1, c2):
        assert c.min() >= 0.3 - 1e-12 and c.max() <= 0.7 + 1e-12  # [p1 - a d, p2 + a d], d = 0.2
        assert c.min() < 0.32 and c.max() > 0.68


def test_uniform_crossover_swaps_genes_between_children():
    p1, p2 = np.zeros(200), np.ones(200)
    c1, c2 = uniform_crossover(p1, p2, np.random.default_rng(0))
    np.testing.assert_array_equal(c1 + c2, np.ones(200))
    assert 0.35 < c1.mean() < 0.65


def test_gaussian_mutation_rate_and_bounds():
    x = np.full(10_000, 0.5)
    y = gaussian_mutation(x, prob=0.1, sigma=0.2, rng=np.random.default_rng(0))
    changed = y != x
    assert abs(changed.mean() - 0.1) < 0.01
    assert abs(np.std(y[changed] - 0.5) - 0.2) < 0.02
    edge = gaussian_mutation(np.ones(1000), prob=1.0, sigma=1.0, rng=np.random.default_rng(1))
    assert edge.min() >= 0.0 and edge.max() <= 1.0
    assert np.mean(edge == 1.0) < 0.01  # reflected, not clipped: no pile-up on the wall


def test_reflect_folds_back_into_the_unit_interval():
    np.testing.assert_allclose(reflect(np.array([-0.1, 0.0, 0.4, 1.0, 1.2, -0.95, 1.9])),
                               [0.1, 0.0, 0.4, 1.0, 0.8, 0.95, 0.1])


def test_resample_choice_gives_a_one_hot_block():
    rng = np.random.default_rng(0)
    block = np.array([0.0, 1.0, 0.0])
    for _ in range(50):
        out = resample_choice(block, prob=1.0, rng=rng)
        assert out.sum() == 1.0 and set(out) == {0.0, 1.0}
    assert resample_choice(block, prob=0.0, rng=rng) is block


@pytest.mark.parametrize("crossover", ["sbx", "blend", "uniform"])
def test_offspring_stay_inside_the_unit_cube_and_the_space(crossover):
    space = mixed_space()
    strategy = GeneticSearch(space, seed=0, crossover=crossover, sigma=1.0, mutation_prob=1.0, population=6)
    history = search(lambda p: p["x"] ** 2 + p["width"] / 64, space, strategy, budget=60, progress=False)
    assert strategy.generation_ >= 5
    for genomes, _ in strategy.generations_:
        assert genomes.min() >= 0.0 and genomes.max() <= 1.0
        for s, is_choice in strategy.blocks_:
            if is_choice:  # a Choice block stays one-hot: crossover moves it whole
                np.testing.assert_array_equal(np.sort(genomes[:, s], axis=1)[:, -1], 1.0)
                np.testing.assert_array_equal(genomes[:, s].sum(axis=1), 1.0)
    assert all(t.params in space for t in history)


def test_elites_survive_and_are_not_re_evaluated():
    space = mixed_space()
    strategy = GeneticSearch(space, seed=1, population=8, elitism=2)
    history = search(lambda p: (p["x"] - 1) ** 2, space, strategy, budget=8 + 6 * 4, progress=False)
    assert len(history) == 32 and strategy.generation_ == 4
    for (g0, l0), (g1, l1) in zip(strategy.generations_, strategy.generations_[1:]):
        best2 = np.argsort(l0, kind="stable")[:2]
        np.testing.assert_array_equal(g1[:2], g0[best2])
        np.testing.assert_array_equal(l1[:2], l0[best2])
    points = [tuple(t.params.values()) for t in history]
    assert len(points) == len(set(points))  # no point proposed twice


def test_beats_random_search_on_hartmann6():
    task = get_task("hartmann6")
    ga, rs = [], []
    for seed in range(5):
        ga.append(search(task.objective, task.space, "genetic", budget=50, seed=seed, progress=False).best.value)
        rs.append(search(task.objective, task.space, "random", budget=50, seed=seed, progress=False).best.value)
    assert np.median(ga) < np.median(rs)


@pytest.mark.parametrize("bad", [dict(population=1), dict(tournament=0), dict(crossover="onepoint"),
                                 dict(mutation_prob=1.5), dict(elitism=10), dict(sigma=-0.1), dict(eta=-1)])
def test_bad_options_name_the_parameter(bad):
    name = next(iter(bad))
    with pytest.raises(ValueError, match=f"{name}={bad[name]!r}"):
        GeneticSearch(mixed_space(), **bad)
