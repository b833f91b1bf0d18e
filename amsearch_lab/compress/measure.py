"""What a compressed model costs and how well it does: parameters, non-zeros, stored bytes,
test accuracy and inference latency.

Stored bytes are counted from the tensors a model would save (its ``state_dict``), so int8
weights count one byte each and their float32 scales four. Two honest variants:

* ``sparse=True``: a tensor with zeros may be stored in CSR form (non-zero values, their column
  indices as int32, row pointers as int32) when that is smaller — what pruning can really save;
* ``packed=True``: quantized weights of b < 8 bits are counted at b/8 bytes each, as if packed
  (PyTorch has no packed 4-bit tensor; without it, 4-bit weights occupy int8 storage).
"""

from __future__ import annotations

import statistics
import time

import torch
from torch import nn

from ..optim import evaluate

__all__ = ["count_params", "count_nonzero", "stored_bytes", "accuracy", "latency", "summary"]


def _state(model: nn.Module) -> dict[str, torch.Tensor]:
    """Plumbing: the tensors the model stores, with masks applied (masked weights read as zeros)."""
    state = {}
    for name, module in model.named_modules():
        for pname, p in list(module.named_parameters(recurse=False)) + list(module.named_buffers(recurse=False)):
            if pname not in ("original", "mask"):  # parametrization plumbing: its result is counted below
                state[f"{name}.{pname}"] = p
        if hasattr(module, "parametrizations"):
            for pname in module.parametrizations:
                state[f"{name}.{pname}"] = getattr(module, pname)
    return state


_WEIGHTS = ("weight", "bias", "q_weight")


def count_params(model: nn.Module) -> int:
    """Number of stored weights and biases (float or integer; masked entries included)."""
    return sum(t.numel() for name, t in _state(model).items() if name.rpartition(".")[2] in _WEIGHTS)


def count_nonzero(model: nn.Module) -> int:
    """Number of non-zero weights and biases (a masked entry is a zero)."""
    return sum(int(torch.count_nonzero(t)) for name, t in _state(model).items() if name.rpartition(".")[2] in _WEIGHTS)


def _csr_bytes(t: torch.Tensor) -> int:
    rows = t.shape[0] if t.dim() > 1 else 1
    return int(torch.count_nonzero(t)) * (t.element_size() + 4) + (rows + 1) * 4


def stored_bytes(model: nn.Module, sparse: bool = False, packed: bool = False) -> int:
    """Bytes of the model's stored tensors (see the module docstring for ``sparse`` and ``packed``)."""
    total = 0
    for name, t in _state(model).items():
        dense = t.numel() * t.element_size()
        module = model.get_submodule(name.rpartition(".")[0]) if "." in name else model
        if packed and name.endswith("q_weight") and getattr(module, "bits", 8) < 8:
            dense = (t.numel() * module.bits + 7) // 8
        total += min(dense, _csr_bytes(t)) if sparse and t.dim() > 0 else dense
    return total


def accuracy(model: nn.Module, x: torch.Tensor, y: torch.Tensor, batch_size: int = 1024) -> float:
    """Fraction of ``x`` that ``model`` classifies as ``y`` (eval mode; ``optim.evaluate``'s accuracy)."""
    return evaluate(model, x, y, batch_size=batch_size)[1]


@torch.no_grad()
def latency(model: nn.Module, x: torch.Tensor, warmup: int = 5, repeats: int = 30) -> float:
    """Median seconds of one forward pass on the fixed batch ``x`` (after ``warmup`` passes;
    CUDA is synchronized around each pass so that the time is the GPU's, not the launch's)."""
    if warmup < 0 or repeats < 1:
        raise ValueError(f"latency: warmup={warmup!r} must be >= 0 and repeats={repeats!r} >= 1")
    model.eval()
    sync = torch.cuda.synchronize if x.device.type == "cuda" else (lambda: None)
    for _ in range(warmup):
        model(x)
    times = []
    for _ in range(repeats):
        sync()
        start = time.perf_counter()
        model(x)
        sync()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def summary(model: nn.Module, x: torch.Tensor, y: torch.Tensor, x_latency: torch.Tensor | None = None) -> dict:
    """All the figures at once: accuracy on (x, y), params, non-zeros, bytes (dense and sparse),
    and latency on ``x_latency`` (if given)."""
    row = {"accuracy": accuracy(model, x, y), "params": count_params(model), "nonzero": count_nonzero(model),
           "bytes": stored_bytes(model), "sparse_bytes": stored_bytes(model, sparse=True, packed=True)}
    if x_latency is not None:
        row["latency_ms"] = 1000 * latency(model, x_latency)
    return row
