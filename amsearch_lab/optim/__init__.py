"""From-scratch parameter optimization: gradient descent / SGD / momentum, learning-rate
schedules, early stopping, and a small training loop ``fit()`` for torch models.

One concept per file: ``sgd.py`` (the update rules), ``schedules.py``, ``early_stopping.py``,
``train.py`` (``fit``, ``evaluate``), ``augment.py`` (random shifts), ``linear.py`` (the regression lesson's loss and gradients).
"""

from .augment import RandomShift
from .early_stopping import EarlyStopping
from .linear import descend, half_mse, half_mse_gradients
from .schedules import ConstantLR, CosineDecay, ExponentialDecay, Schedule, StepDecay
from .sgd import GD, SGD
from .sgd_hd import SGDHD
from .train import DivergenceError, FitResult, evaluate, fit, shuffled_batches

__all__ = [
    "GD", "SGD", "SGDHD",
    "Schedule", "ConstantLR", "ExponentialDecay", "StepDecay", "CosineDecay",
    "EarlyStopping", "RandomShift",
    "fit", "evaluate", "FitResult", "DivergenceError", "shuffled_batches",
    "half_mse", "half_mse_gradients", "descend",
]
