"""amsearch_lab: automated model search and architecture optimization, written to be read.

The public API: the search space, the one search loop, the strategies, the datasets and the
device helper. Sub-packages (``optim``, ``compress``, ``nas``, ``population``) are imported by name.
"""

from .datasets import load_iris, load_mnist, make_regression
from .device import describe_device, pick_device
from .space import Choice, Float, Int, Space
from .strategies import (
    ASHA,
    STRATEGIES,
    BayesianOptimization,
    GeneticSearch,
    GradientSearch,
    GreedySearch,
    GridSearch,
    Hyperband,
    MedianStopping,
    ModelBasedHyperband,
    RandomSearch,
    RegularizedEvolution,
    SearchExhausted,
    Strategy,
    SuccessiveHalving,
    get_strategy,
)
from .study import History, StopSearch, StorageInUse, Trial, search

__version__ = "0.1.0"

__all__ = [
    "Choice", "Float", "Int", "Space",
    "History", "StopSearch", "StorageInUse", "Trial", "search",
    "STRATEGIES", "Strategy", "SearchExhausted", "get_strategy", "BayesianOptimization", "GeneticSearch", "GradientSearch",
    "GreedySearch", "GridSearch", "RandomSearch", "RegularizedEvolution",
    "ASHA", "Hyperband", "MedianStopping", "ModelBasedHyperband", "SuccessiveHalving",
    "load_iris", "load_mnist", "make_regression",
    "describe_device", "pick_device",
]
