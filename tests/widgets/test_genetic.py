"""The genetic-algorithm playground: one population per generation, elitism, and children that
only inherit their parents' genes when nothing mutates."""

import numpy as np

from amsearch_lab import widgets


def test_genetic_generations_and_elitism():
    ga = widgets.GeneticPlayground(function="rastrigin", population=8, seed=0)
    for _ in range(3):
        ga.next_button.click()
    assert [len(p) for p in ga.populations] == [8, 8, 8]
    assert len(ga.history) == 8 + 7 + 7  # the elite is not evaluated again
    assert all(a >= b for a, b in zip(ga.best_per_generation, ga.best_per_generation[1:]))
    assert ga.best_per_generation[-1] == ga.history.best.value
    ga.population.value = 10
    assert ga.populations == [] and ga.strategy_.population == 10


def test_genetic_without_mutation_children_only_inherit_genes():
    ga = widgets.GeneticPlayground(function="branin", population=10, seed=2)
    ga.mutation_rate.value = 0.0
    assert ga.strategy_.mutation_prob == 0.0
    ga.next_generation(2)
    for name in ("x0", "x1"):
        parents = np.array([p[name] for p in ga.populations[0]])
        for child in ga.populations[1]:
            assert np.isclose(parents, child[name]).any()  # uniform crossover copies whole genes

