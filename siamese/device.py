"""Where the arithmetic runs: CUDA when there is a GPU, then Apple's MPS, then the CPU."""

from __future__ import annotations

import torch

from .errors import ModelError

DEVICES = ("auto", "cpu", "cuda", "mps")


def pick_device(name: str = "auto") -> torch.device:
    """'auto': CUDA when there is a GPU, then Apple's MPS, then the CPU. A named device must exist."""
    cuda, mps = torch.cuda.is_available(), torch.backends.mps.is_available()
    if name == "auto":
        return torch.device("cuda" if cuda else "mps" if mps else "cpu")
    if name not in DEVICES:
        raise ModelError(f"device: {name!r} is not one of {', '.join(DEVICES)}")
    if (name == "cuda" and not cuda) or (name == "mps" and not mps):
        raise ModelError(f"device: {name} was asked for but is not available here; use 'auto' or 'cpu'")
    return torch.device(name)
