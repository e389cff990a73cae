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


PRECISIONS = ("auto", "fp32", "bf16")


def uses_bf16(precision: str, device: torch.device) -> bool:
    """Whether training computes in bfloat16 (autocast): 'auto' where the hardware does it natively, CUDA
    GPUs from Ampere on and CPUs with bf16 instructions (AVX512-BF16, AMX), where it is 1.5-2 times
    faster for the same accuracy; 'bf16' anywhere autocast allows; 'fp32' never."""
    if precision == "fp32" or device.type == "mps":
        return False
    if precision == "bf16":
        return True
    if device.type == "cuda":
        return torch.cuda.is_bf16_supported()
    try:
        return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except (AttributeError, RuntimeError):
        return False
