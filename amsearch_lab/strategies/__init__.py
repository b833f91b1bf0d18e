"""Search strategies, one per module, all behind the same ask/tell interface.

``STRATEGIES`` maps each name used by ``search()``, the CLI and the benchmarks to its class.
A new strategy module adds one line to it.
"""

from .asha import ASHA
from .base import SearchExhausted, Strategy
from .bayes import BayesianOptimization
from .evolution import RegularizedEvolution
from .genetic import GeneticSearch
from .gradient import GradientSearch
from .greedy import GreedySearch
from .grid import GridSearch
from .halving import SuccessiveHalving
from .hyperband import Hyperband, ModelBasedHyperband
from .median import MedianStopping
from .random import RandomSearch

STRATEGIES: dict[str, type[Strategy]] = {
    "random": RandomSearch,
    "bayes": BayesianOptimization,
    "grid": GridSearch,
    "greedy": GreedySearch,
    "genetic": GeneticSearch,
    "gradient": GradientSearch,
    "evolution": RegularizedEvolution,
    # multi-fidelity: jobs with budgets, best with an objective f(params, run) (fidelity.py)
    "sha": SuccessiveHalving,
    "hyperband": Hyperband,
    "bohb": ModelBasedHyperband,
    "asha": ASHA,
    "median": MedianStopping,
}


def get_strategy(name: str) -> type[Strategy]:
    """The strategy class registered under ``name``; a clear error lists the valid names."""
    try:
        return STRATEGIES[name]
    except KeyError:
        raise ValueError(f"unknown strategy {name!r}; choose one of: {', '.join(sorted(STRATEGIES))}") from None


__all__ = [
    "STRATEGIES", "SearchExhausted", "Strategy", "get_strategy",
    "BayesianOptimization", "GeneticSearch", "GradientSearch", "GreedySearch", "GridSearch",
    "RandomSearch", "RegularizedEvolution", "ASHA", "Hyperband", "MedianStopping", "ModelBasedHyperband",
    "SuccessiveHalving",
]
