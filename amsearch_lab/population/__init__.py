"""Population-based training: a population of networks trained side by side.

``stacked.py``: ``Population``, N networks of one architecture with their own SGD hyperparameters,
trained as one stacked model (``torch.func``) or, as the reference, one ``fit`` after another.
``batch.py``: ``BatchTraining``, a batch objective for ``search(..., batch_size=k)``.
``pbt.py``: ``PopulationBasedTraining`` (Jaderberg et al. 2017), exploit and explore over a
``Population`` every few epochs.
"""

from .batch import BatchTraining
from .pbt import PopulationBasedTraining, ancestry, explore, founders, schedule_of, truncation_selection
from .stacked import HYPERPARAMETERS, Population

__all__ = ["Population", "BatchTraining", "HYPERPARAMETERS", "PopulationBasedTraining", "truncation_selection", "explore", "ancestry", "founders", "schedule_of"]
