"""Playgrounds (ipywidgets) that end the lessons: a search explorer, Bayesian optimization in 1-D,
a genetic algorithm in 2-D, optimizers on the regression loss, three compression sliders,
neural architecture search, multi-fidelity search, population-based training and DARTS.

Every playground is a small class. Its controls are attributes (``explorer.budget``,
``explorer.run_button``), so is the data behind its plot and table (``explorer.history``,
``explorer.curve``, ``pruning.results``); ``.widget`` is the ipywidgets container, and a cell
that ends in the object shows it. Buttons work from Python too (``explorer.run_button.click()``):
that is how the tests and the lessons' quick-mode cells drive them.

One module per topic:

- ``base``: the plumbing they share (Figure -> PNG image, status line, memo); its docstring says
  why each plumbing choice was made;
- ``search``: ``SearchExplorer``, any task and any black-box strategy with its options;
- ``bayes``: ``BayesOptPlayground``, the GP posterior and the acquisition, one step at a time;
- ``genetic``: ``GeneticPlayground``, populations on a 2-D contour;
- ``optimizers``: ``OptimizerPlayground``, GD, SGD and momentum on the regression loss;
- ``compression``: ``PruningPlayground``, ``QuantizationPlayground``, ``LowRankPlayground`` and
  ``mnist_base_model``;
- ``nas``: ``NASPlayground``, design, race and train on the tabular benchmark;
- ``multi_fidelity``: ``MultiFidelityPlayground``, successive halving, Hyperband, ASHA, the median rule
  and model-based Hyperband on synthetic learning curves, one job at a time;
- ``population``: ``PBTPlayground``, population-based training of a small MLP on MNIST: the lineage
  tree and each member's learning-rate schedule;
- ``oneshot``: ``DARTSPlayground``, DARTS on a slice of MNIST: each edge's softmax(α) over the epochs and
  the derived network's rank in the cell table.

Every algorithm comes from the library: ``search()`` with its callbacks and ``StopSearch``, the
strategies, ``GaussianProcess`` and the acquisition functions, ``optim``, ``compress``, ``nas``,
``population``.
"""

from ..tasks import forrester
from .bayes import BayesOptPlayground
from .compression import LowRankPlayground, PruningPlayground, QuantizationPlayground, mnist_base_model
from .genetic import GeneticPlayground
from .multi_fidelity import MultiFidelityPlayground
from .nas import NASPlayground
from .oneshot import DARTSPlayground
from .optimizers import OptimizerPlayground
from .population import PBTPlayground
from .search import SearchExplorer

__all__ = ["SearchExplorer", "BayesOptPlayground", "GeneticPlayground", "OptimizerPlayground",
           "PruningPlayground", "QuantizationPlayground", "LowRankPlayground", "NASPlayground", "MultiFidelityPlayground",
           "PBTPlayground", "DARTSPlayground", "mnist_base_model", "forrester"]
