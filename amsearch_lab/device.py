"""Which device to compute on: CUDA when present, else Apple's MPS, else the CPU."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import torch

__all__ = ["pick_device", "describe_device"]


def pick_device(prefer: str | None = None, verbose: bool = False) -> torch.device:
    """The device to use. ``prefer`` ("cpu", "cuda", "mps") forces one; it must be available.
    With ``verbose=True`` it says which device was chosen."""
    import torch  # imported here so that searches without torch models start fast

    if prefer is not None:
        prefer = str(prefer)
        kind = prefer.split(":")[0]
        available = {"cpu": True, "cuda": torch.cuda.is_available(), "mps": _mps_available()}
        if kind not in available:
            raise ValueError(f"pick_device: prefer={prefer!r} must be one of 'cpu', 'cuda', 'mps'")
        if not available[kind]:
            raise ValueError(f"pick_device: prefer={prefer!r} is not available on this machine")
        chosen = torch.device(prefer)
    elif torch.cuda.is_available():
        chosen = torch.device("cuda")
    elif _mps_available():
        chosen = torch.device("mps")
    else:
        chosen = torch.device("cpu")
    if verbose:
        print(f"amsearch_lab: using {describe_device(chosen)}")
    return chosen


def describe_device(dev: torch.device | str | None = None) -> str:
    """A one-line description, e.g. ``cuda (NVIDIA H100 80GB HBM3)`` or ``cpu (2 threads)``."""
    import torch

    dev = torch.device(dev) if dev is not None else pick_device()
    if dev.type == "cuda":
        return f"cuda ({torch.cuda.get_device_name(dev)})"
    if dev.type == "mps":
        return "mps (Apple GPU)"
    n = torch.get_num_threads()
    return f"cpu ({n} thread{'' if n == 1 else 's'})"


def _mps_available() -> bool:
    import torch

    return bool(getattr(torch.backends, "mps", None)) and torch.backends.mps.is_available()
