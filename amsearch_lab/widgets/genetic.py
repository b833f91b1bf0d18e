"""The genetic algorithm on a 2-D test function, one generation per click: the populations on
the contour and the best value per generation."""

from __future__ import annotations

import ipywidgets as W
from matplotlib.figure import Figure

from .. import plots
from ..space import Float, Space
from ..study import History, search
from ..tasks import branin, get_task, rastrigin, rosenbrock
from .base import _memo, _merge, _Playground

__all__ = ["GeneticPlayground", "GA_FUNCTIONS"]


def _first_two_bounds(task: str) -> tuple[tuple[float, float], tuple[float, float]]:
    """(low, high) of the first two dimensions of a registered task's space."""
    dims = list(get_task(task).space.dimensions.values())[:2]
    return tuple((d.low, d.high) for d in dims)


GA_FUNCTIONS = {  # name -> (f, bounds of x0 and x1)
    "branin": (branin, _first_two_bounds("branin")),
    "rastrigin": (rastrigin, _first_two_bounds("rastrigin5")),
    # the classic 2-D window around the curved valley: on rosenbrock4's [-5, 10]^2 the valley is a
    # sliver of the contour
    "rosenbrock": (rosenbrock, ((-2.0, 2.0), (-1.0, 3.0))),
}


class GeneticPlayground(_Playground):
    """The ``GeneticSearch`` strategy on a 2-D test function, one generation per click.

    Changing any control starts again with a ``GeneticSearch`` built with the new settings (its
    constructor checks them): the function, the population size, the seed, the mutation rate (the
    per-gene probability) or its size σ.

    Data: ``history``, ``populations`` (a list per generation of its params, elites included),
    ``best_per_generation`` (the best value in each population).
    """

    figsize = (10, 4.2)

    def __init__(self, function: str = "rastrigin", population: int = 12, mutation_rate: float = 0.5,
                 sigma: float = 0.2, seed: int = 0):
        super().__init__()
        if function not in GA_FUNCTIONS:
            raise ValueError(f"GeneticPlayground: function={function!r} must be one of {list(GA_FUNCTIONS)}")
        self.function = W.Dropdown(options=list(GA_FUNCTIONS), value=function, description="function")
        self.population = W.IntSlider(value=population, min=4, max=40, description="population",
                                      continuous_update=False)
        self.mutation_rate = W.FloatSlider(value=mutation_rate, min=0.0, max=1.0, step=0.05, description="mutation rate",
                                           continuous_update=False, style={"description_width": "90px"})
        self.sigma = W.FloatSlider(value=sigma, min=0.01, max=0.5, step=0.01, description="mutation σ",
                                   continuous_update=False, style={"description_width": "90px"})
        self.seed = W.IntText(value=seed, description="seed")
        self.next_button = W.Button(description="Next generation", button_style="success", icon="step-forward")
        self.run_button = W.Button(description="+10 generations", icon="fast-forward")
        self.reset_button = W.Button(description="Reset", icon="refresh")
        for control in (self.function, self.population, self.seed, self.mutation_rate, self.sigma):
            control.observe(lambda _: self.reset(), names="value")
        self.next_button.on_click(lambda _: self.next_generation())
        self.run_button.on_click(lambda _: self.next_generation(10))
        self.reset_button.on_click(lambda _: self.reset())
        self.widget = W.VBox([W.HBox([self.function, self.population, self.seed]),
                              W.HBox([self.mutation_rate, self.sigma]),
                              W.HBox([self.next_button, self.run_button, self.reset_button]), self.status, self.image])
        self.widget.add_class("amsearch-genetic")
        self.reset()

    def reset(self) -> None:
        from ..strategies.genetic import GeneticSearch

        self.f, self.bounds = GA_FUNCTIONS[self.function.value]
        self._f_xy = _memo(lambda a, b: self.f([a, b]))
        self.space = Space({f"x{i}": Float(*b) for i, b in enumerate(self.bounds)})
        self.strategy_ = GeneticSearch(self.space, seed=self.seed.value, population=self.population.value,
                                       mutation_prob=self.mutation_rate.value, sigma=self.sigma.value)
        self.history, self.populations, self.best_per_generation = History(), [], []
        self._say("Press Next generation: the first one is drawn at random.")
        self.redraw()

    def next_generation(self, n: int = 1) -> None:
        """Breed and evaluate ``n`` more generations (the elites are not evaluated again)."""
        for _ in range(n):
            size = self.strategy_.population - (self.strategy_.elitism if self.populations else 0)
            _merge(self.history, search(lambda p: self.f([p["x0"], p["x1"]]), self.space, strategy=self.strategy_,
                                        budget=size, progress=False))
            self.populations.append([self.space.decode(g) for g in self.strategy_.genomes_])
            self.best_per_generation.append(float(min(self.strategy_.losses_)))
        self._say(f"generation {len(self.populations) - 1}: {len(self.history)} evaluations, "
                  f"best f = {self.best_per_generation[-1]:.4g}")
        self.redraw()

    def _draw(self, fig: Figure) -> None:
        left, right = fig.subplots(1, 2, width_ratios=(1.3, 1))
        plots.plot_generations_2d(self.populations, "x0", "x1", self._f_xy, self.bounds, ax=left,
                                  title=f"{self.function.value}: population per generation")
        if self.populations:
            plots.plot_curves({"best in population": self.best_per_generation}, ax=right, xlabel="generation",
                              ylabel="f", title="Best value per generation")
        else:
            right.set(xlabel="generation", ylabel="f", title="Best value per generation")

