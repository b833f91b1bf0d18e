"""Neural architecture search (神经架构搜索): the genome space, the model builder, the training
recipes, the shipped tabular benchmark and the Pareto front.

``space.py``     genome (a ``Space`` of ``Choice``s), ``Architecture``, validity rule
``build.py``     architecture -> ``nn.Module``; feature sizes, parameters, FLOPs
``evaluate.py``  low-fidelity and full training recipes (``optim.fit`` underneath)
``tabular.py``   the tabular benchmarks ``datasets/nas_bench_mnist.csv.gz`` and ``nas_bench_cell.csv.gz``
``cell.py``      the shape-preserving cell space of one-shot NAS (DARTS operations)
``supernet.py``  the weight-sharing supernet: one path, or a mixture of every operation
``oneshot.py``   single-path one-shot: supernet training, shared-weight ranking, rank correlation
``darts.py``     DARTS: softmax (or Gumbel) relaxation, first/second-order architecture gradient
``final.py``     the last step: the best candidates widened, fully trained, chosen by validation
``pareto.py``    the non-dominated networks of a size/accuracy trade-off
"""

from .build import build, count_flops, count_params, feature_sizes, summary
from .cell import (
    CELL_CHANNELS,
    CELL_OPS,
    EDGES,
    CellArchitecture,
    build_cell,
    cell_space,
    count_cell_flops,
    count_cell_params,
    enumerate_cells,
)
from .darts import DARTS, PARAMETER_FREE, DARTSResult, derive, mixture_weights, parameter_free_share
from .evaluate import (
    CELL_RECIPE,
    FULL,
    LOW_FIDELITY,
    LowFidelityObjective,
    Recipe,
    evaluate_architecture,
    read_test_accuracy,
    train_architecture,
)
from .final import FINAL_WIDTH, FinalResult, top_architectures, train_final
from .oneshot import (
    SPOS_RECIPE,
    OneShotResult,
    SupernetObjective,
    one_shot_search,
    rank_correlation,
    recalibrate_batch_norm,
    sample_path,
    shared_weight_accuracy,
    train_supernet,
)
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
from .supernet import MixedEdge, Supernet
from .tabular import (
    CELL_TABLE_PATH,
    METRICS,
    TABLE_PATH,
    TabularBenchmark,
    compare_strategies,
    load_cell_table,
    load_table,
    picked_accuracy,
)

__all__ = [
    "nas_space", "Architecture", "InvalidArchitecture", "check", "validate", "enumerate_architectures",
    "sample_architectures", "MAX_PARAMS",
    "build", "count_params", "count_flops", "feature_sizes", "summary",
    "Recipe", "LOW_FIDELITY", "FULL", "train_architecture", "read_test_accuracy", "evaluate_architecture",
    "LowFidelityObjective",
    "TABLE_PATH", "METRICS", "TabularBenchmark", "load_table", "picked_accuracy", "compare_strategies",
    "FINAL_WIDTH", "top_architectures", "FinalResult", "train_final",
    "pareto_front",
    "CELL_OPS", "EDGES", "CELL_CHANNELS", "CellArchitecture", "cell_space", "enumerate_cells", "build_cell",
    "count_cell_params", "count_cell_flops", "CELL_RECIPE", "CELL_TABLE_PATH", "load_cell_table",
    "MixedEdge", "Supernet", "sample_path", "train_supernet", "recalibrate_batch_norm", "shared_weight_accuracy",
    "SupernetObjective", "rank_correlation", "SPOS_RECIPE", "OneShotResult", "one_shot_search",
    "DARTS", "DARTSResult", "PARAMETER_FREE", "mixture_weights", "derive", "parameter_free_share",
]
