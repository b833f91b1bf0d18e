"""Model compression: pruning (剪枝), random cutting (剪切), merging (合并), low-rank splitting
(分层) and quantization (整数量化 / 有限精度量化).

Each technique is one pure function on tensors (a mask, a merge, a split, a quantizer) plus a
thin wrapper that applies it to a torch model, as in ``torch.nn.utils.prune``:

==============  =====================================  =======================================
file            pure core                              model wrapper
==============  =====================================  =======================================
prune.py        magnitude_mask, global_magnitude_masks global_magnitude_prune, iterative_prune,
                prune_remaining                        layer_sensitivity
cut.py          random_mask, global_random_masks,      global_random_cut, keep_if_better
                random_remaining
lottery.py      rewind (prune_remaining above)         lottery_ticket, rewind_model, reinitialize
structured.py   l1/activation/taylor scores, keep_top  prune_neurons (really smaller layers)
merge.py        similarity, merge_pairs, merge         merge_neurons, prune_like_merge (its baseline)
lowrank.py      svd_factors, rank_for_energy           split_model
quantize.py     qparams, quantize, fake_quantize, ...  (quantized.py) quantize_model, prepare_qat,
                FloatFormat, float_fields              cast_model; torch_int8_model (PyTorch's
                                                       int8 kernels, a timed reference)
measure.py      count_params, count_nonzero, stored_bytes, accuracy, latency, summary
trained.py      trained_lenet: the trained LeNet-300-100 the lessons start from (cached in runs/)
==============  =====================================  =======================================

**One convention for every model wrapper: a new model and a report, the input untouched.**

.. code-block:: python

    pruned, masks = global_magnitude_prune(dense, 0.9)          # dense is unchanged

========================  ==============================================================
wrapper                   report (what the wrapper chose)
========================  ==============================================================
global_magnitude_prune    masks: ``{parameter name: 0/1 mask}``, e.g. ``"1.weight"``
global_random_cut         masks, as above
iterative_prune           rounds: ``[{"step", "sparsity", "value"}, ...]``
keep_if_better            history: ``[{"step", "sparsity", "value", "accepted", "best"}, ...]``
lottery_ticket            history: ``[{"round", "sparsity", "masks", "value"}, ...]``
prune_neurons             keep: ``{layer index: indices of the neurons kept}``
merge_neurons             pairs: ``{layer index: [(keep, drop, c), ...]}``
prune_like_merge          keep: ``{layer index: indices of the neurons kept}``
split_model               ranks: ``{layer name: rank}`` of the layers split
quantize_model            ranges: ``{layer name: (min, max)}`` of the calibrated inputs
prepare_qat               quantizers: ``{parameter name: FakeQuantWeight}``
========================  ==============================================================

So a lesson sweeps sparsities, ranks or bit widths from one trained model, and compares before
with after, without copying or reloading it. ``torch.nn.utils.prune`` works in place instead
(so does ``torch.ao.quantization.prepare_qat`` by default): that saves memory on a large model,
but a copy of the lessons' LeNet-300-100 costs about a megabyte, and a learner who forgets one
``copy.deepcopy`` would measure a model pruned twice. The pure cores never change the tensors
they are given.

What does change the model it is given, on purpose: training (``fine_tune``, like ``optim.fit``;
the ``fine_tune`` callback of ``iterative_prune`` trains the copy) and the mask plumbing
``apply_masks`` / ``remove_masks``, which the wrappers use on their own copies.
Two building blocks take the decision as an argument and return only the new module:
``shrink(model, keep)`` (a smaller copy) and ``split_linear(layer, rank)`` (two thin layers).
"""

from .cut import global_random_cut, global_random_masks, keep_if_better, random_mask, random_neurons, random_remaining
from .finetune import fine_tune
from .lottery import adam_fit, lottery_ticket, reinitialize, rewind, rewind_model
from .lowrank import energy, rank_for_energy, split_linear, split_model, svd_factors
from .masks import Mask, apply_masks, mask_sparsity, masks_of, prunable_weights, remove_masks
from .measure import accuracy, count_nonzero, count_params, latency, stored_bytes, summary
from .merge import merge, merge_neurons, merge_pairs, prune_like_merge, similarity
from .prune import (
    global_magnitude_masks,
    global_magnitude_prune,
    iterative_prune,
    layer_sensitivity,
    magnitude_mask,
    prune_remaining,
    sparsity_schedule,
)
from .quantize import (
    FLOAT_FORMATS,
    FloatFormat,
    QParams,
    dequantize,
    fake_quantize,
    fake_quantize_ste,
    float_fields,
    float_format,
    int_linear,
    qparams,
    qparams_from_range,
    qrange,
    quantize,
)
from .quantized import (
    FakeQuantWeight,
    LowPrecision,
    QuantConv2d,
    QuantLinear,
    calibrate,
    cast_model,
    prepare_qat,
    quantize_model,
    torch_int8_model,
)
from .structured import (
    activation_scores,
    hidden_layers,
    keep_top,
    l1_scores,
    neuron_masks,
    neuron_scores,
    prune_neurons,
    shrink,
    taylor_scores,
)
from .trained import trained_lenet

__all__ = [
    "trained_lenet",
    "random_mask", "global_random_masks", "global_random_cut", "random_neurons", "random_remaining", "keep_if_better",
    "rewind", "rewind_model", "reinitialize", "lottery_ticket", "mask_sparsity", "adam_fit",
    "fine_tune",
    "energy", "rank_for_energy", "svd_factors", "split_linear", "split_model",
    "Mask", "apply_masks", "masks_of", "prunable_weights", "remove_masks",
    "accuracy", "count_params", "count_nonzero", "stored_bytes", "latency", "summary",
    "similarity", "merge_pairs", "merge", "merge_neurons", "prune_like_merge",
    "magnitude_mask", "global_magnitude_masks", "global_magnitude_prune", "sparsity_schedule", "iterative_prune",
    "prune_remaining", "layer_sensitivity",
    "QParams", "qrange", "qparams", "qparams_from_range", "quantize", "dequantize", "fake_quantize",
    "fake_quantize_ste", "int_linear", "FloatFormat", "FLOAT_FORMATS", "float_format", "float_fields",
    "QuantLinear", "QuantConv2d", "calibrate", "quantize_model", "FakeQuantWeight", "prepare_qat",
    "LowPrecision", "cast_model", "torch_int8_model",
    "hidden_layers", "l1_scores", "activation_scores", "taylor_scores", "neuron_scores", "keep_top",
    "neuron_masks", "shrink", "prune_neurons",
]
