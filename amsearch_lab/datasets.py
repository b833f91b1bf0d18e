"""The lessons' data: iris, the source material's regression task, and MNIST.

Nothing is downloaded at run time. Iris comes with scikit-learn; the regression task is
generated from a seed; MNIST is read from ``datasets/mnist.npz``, shipped in the repository
(see ``datasets/README.md`` for where it comes from and how ``build_mnist.py`` made it).
"""

from __future__ import annotations

import functools
import hashlib
import os
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:  # torch is imported only when MNIST is loaded
    import torch

__all__ = ["load_iris", "make_regression", "load_mnist", "cached_mnist", "MNIST", "mnist_path"]

# sha256 over the sorted array names and raw bytes of datasets/mnist.npz (file bytes vary with
# zip timestamps, the arrays do not).
MNIST_SHA256 = "d72f58ca3516e0960dca38179b4530ae877dc3f6fd4ded95b771fd4de5c460a8"
MNIST_SPLITS = {"train": 50_000, "val": 10_000, "test": 10_000}


def load_iris():
    """Iris as ``(X, y)``: 150 flowers, 4 measurements (cm), 3 species (scikit-learn's copy)."""
    from sklearn.datasets import load_iris as _sk_load_iris

    data = _sk_load_iris()
    return data.data.astype(np.float64), data.target.astype(np.int64)


def make_regression(n: int = 100, noise: float = 0.0, seed: int = 0):
    """The source material's task: ``X ~ U(0, 1)``, ``y = X**2 + noise * N(0, 1)``.

    Returns ``(X, y)`` with ``X`` of shape (n, 1) and ``y`` of shape (n,).
    """
    if not isinstance(n, (int, np.integer)) or n < 1:
        raise ValueError(f"make_regression: n={n!r} must be a positive integer")
    if not noise >= 0:
        raise ValueError(f"make_regression: noise={noise!r} must be >= 0")
    rng = np.random.default_rng(seed)
    X = rng.random((n, 1))
    y = X[:, 0] ** 2 + noise * rng.standard_normal(n)
    return X, y


def mnist_path() -> Path:
    """Where the MNIST file is looked for: ``$AMSEARCH_MNIST`` or ``<repo>/datasets/mnist.npz``."""
    env = os.environ.get("AMSEARCH_MNIST")
    return Path(env) if env else Path(__file__).resolve().parent.parent / "datasets" / "mnist.npz"


@dataclass
class MNIST:
    """The three splits as float tensors in [0, 1] of shape (n, 1, 28, 28) and int64 labels."""

    x_train: torch.Tensor
    y_train: torch.Tensor
    x_val: torch.Tensor
    y_val: torch.Tensor
    x_test: torch.Tensor
    y_test: torch.Tensor


def _content_sha256(arrays) -> str:
    h = hashlib.sha256()
    for k in sorted(arrays.files):
        h.update(k.encode())
        h.update(arrays[k].tobytes())
    return h.hexdigest()


def load_mnist(device=None, limit: int | None = None, verify: bool = False) -> MNIST:
    """MNIST (50k train / 10k validation / 10k test) on ``device`` (default: ``amsearch_lab.pick_device()``).

    Pixels are ``k / 255`` for the stored bytes ``k``. ``limit`` keeps the first ``limit`` images
    of each split (quick mode). ``verify=True`` also checks the file's content hash.
    A missing or damaged file raises ``FileNotFoundError``/``ValueError`` saying how to rebuild it.
    """
    import torch

    from .device import pick_device

    path = mnist_path()
    rebuild = "rebuild it with `python datasets/build_mnist.py` from the repository root"
    if not path.exists():
        raise FileNotFoundError(f"MNIST file {path} is missing; {rebuild}")
    try:
        arrays = np.load(path)
        data = {k: arrays[k] for k in arrays.files}
    except (OSError, ValueError, zipfile.BadZipFile, EOFError) as e:
        raise ValueError(f"MNIST file {path} is corrupt ({e}); {rebuild}") from e
    for split, n in MNIST_SPLITS.items():
        x, y = data.get(f"x_{split}"), data.get(f"y_{split}")
        if x is None or y is None or x.shape != (n, 28, 28) or y.shape != (n,) or x.dtype != np.uint8:
            raise ValueError(f"MNIST file {path} does not hold the expected '{split}' split; {rebuild}")
    if verify and _content_sha256(arrays) != MNIST_SHA256:
        raise ValueError(f"MNIST file {path} has unexpected content (hash mismatch); {rebuild}")
    if limit is not None and (not isinstance(limit, (int, np.integer)) or limit < 1):
        raise ValueError(f"load_mnist: limit={limit!r} must be a positive integer or None")
    dev = pick_device() if device is None else torch.device(device)
    tensors = {}
    for split in MNIST_SPLITS:
        x, y = data[f"x_{split}"][:limit], data[f"y_{split}"][:limit]
        tensors[f"x_{split}"] = (torch.from_numpy(x).to(dev).float() / 255.0).unsqueeze(1)  # (n, 1, 28, 28)
        tensors[f"y_{split}"] = torch.from_numpy(y.astype(np.int64)).to(dev)
    return MNIST(**tensors)


def cached_mnist(limit: int | None = None, device=None) -> MNIST:
    """``load_mnist(device, limit)`` (default device: ``amsearch_lab.pick_device()``), read from disk
    once per process for each device and ``limit``: every later call returns the same tensors, so
    a caller must not change them in place (the playgrounds share them)."""
    from .device import pick_device

    dev = pick_device() if device is None else device
    return _load_mnist_once(str(dev), limit)


@functools.lru_cache(maxsize=8)
def _load_mnist_once(device: str, limit: int | None) -> MNIST:
    return load_mnist(device=device, limit=limit)
