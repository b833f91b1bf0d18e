"""Neural architecture search (神经架构搜索): the genome space, the model builder, the training
recipes, the shipped tabular benchmark and the Pareto front.

``space.py``     genome (a ``Space`` of ``Choice``s), ``Architecture``, validity rule
``build.py``     architecture -> ``nn.Module``; feature sizes, parameters, FLOPs
``evaluate.py``  low-fidelity and full training recipes (``optim.fit`` underneath)
``tabular.py``   the tabular benchmark ``datasets/nas_bench_mnist.csv.gz``
``final.py``     the last step: the best candidates widened, fully trained, chosen by validation
``pareto.py``    the non-dominated networks of a size/accuracy trade-off
"""

from .build import build, count_flops, count_params, feature_sizes, summary
from .evaluate import (
    FULL,
    LOW_FIDELITY,
    LowFidelityObjective,
    Recipe,
    evaluate_architecture,
    read_test_accuracy,
    train_architecture,
)
from .final import FINAL_WIDTH, FinalResult, top_architectures, train_final
from .pareto import pareto_front
from .space import (
    MAX_PARAMS,
    Architecture,
    InvalidArchitecture,
    check,
    enumerate_architectures,
    nas_space,
    sample_architectures,
    validate,
)
from .tabular import METRICS, TABLE_PATH, TabularBenchmark, compare_strategies, load_table, picked_accuracy

__all__ = [
    "nas_space", "Architecture", "InvalidArchitecture", "check", "validate", "enumerate_architectures",
    "sample_architectures", "MAX_PARAMS",
    "build", "count_params", "count_flops", "feature_sizes", "summary",
    "Recipe", "LOW_FIDELITY", "FULL", "train_architecture", "read_test_accuracy", "evaluate_architecture",
    "LowFidelityObjective",
    "TABLE_PATH", "METRICS", "TabularBenchmark", "load_table", "picked_accuracy", "compare_strategies",
    "FINAL_WIDTH", "top_architectures", "FinalResult", "train_final",
    "pareto_front",
]
