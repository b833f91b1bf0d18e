import pytest
import torch

from amsearch_lab import describe_device, pick_device


def test_device_picks_cuda_when_available_else_cpu():
    chosen = pick_device()
    if torch.cuda.is_available():
        assert chosen.type == "cuda"
    elif not (hasattr(torch.backends, "mps") and torch.backends.mps.is_available()):
        assert chosen.type == "cpu"


def test_prefer_cpu_and_verbose(capsys):
    assert pick_device("cpu", verbose=True) == torch.device("cpu")
    assert "using cpu" in capsys.readouterr().out
    assert describe_device("cpu").startswith("cpu (")


def test_unknown_or_missing_device_is_an_error():
    with pytest.raises(ValueError, match="prefer='tpu'"):
        pick_device("tpu")
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="prefer='cuda' is not available"):
            pick_device("cuda")
