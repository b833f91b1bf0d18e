"""The cached LeNet-300-100 is read back with ``torch.load(..., weights_only=True)``: tensors
load, pickled code does not run."""

import pickle
from types import SimpleNamespace

import pytest
import torch

from amsearch_lab.compress import trained
from amsearch_lab.models import lenet_300_100

DATA = SimpleNamespace(x_train=torch.zeros(7, 784))  # only its device and length name the cache file


def _cache_file(tmp_path, monkeypatch):
    monkeypatch.setattr(trained, "RUNS", tmp_path)
    return tmp_path / "lenet_300_100-seed0-epochs1-lr0.05-m0.9-n7.pt"


def test_a_cached_model_is_loaded_not_trained(tmp_path, monkeypatch):
    cached = lenet_300_100(seed=1)  # other weights than seed 0's, so a load is visible
    torch.save(cached.state_dict(), _cache_file(tmp_path, monkeypatch))
    monkeypatch.setattr(trained, "fit", lambda *a, **k: pytest.fail("trained although the cache holds the weights"))
    model = trained.trained_lenet(DATA, epochs=1, seed=0)
    for name, tensor in cached.state_dict().items():
        assert torch.equal(model.state_dict()[name], tensor)


class _RunsCodeOnLoad:
    def __reduce__(self):
        return (pytest.fail, ("torch.load ran pickled code",))


def test_a_cache_file_with_pickled_code_is_refused(tmp_path, monkeypatch):
    torch.save({"0.weight": _RunsCodeOnLoad()}, _cache_file(tmp_path, monkeypatch))
    with pytest.raises(pickle.UnpicklingError, match="Weights only load failed"):
        trained.trained_lenet(DATA, epochs=1, seed=0)
