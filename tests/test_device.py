"""siamese/device.py: auto picks what is there; a device asked for by name must exist."""

from __future__ import annotations

import pytest
import torch

from siamese.device import pick_device, uses_bf16
from siamese.errors import ModelError


@pytest.mark.skipif(torch.cuda.is_available() or torch.backends.mps.is_available(),
                    reason="an accelerator is present")
def test_auto_device_is_the_cpu_here():
    assert pick_device("auto") == torch.device("cpu")
    assert pick_device("cpu") == torch.device("cpu")


@pytest.mark.skipif(torch.cuda.is_available(), reason="CUDA is present")
def test_asking_for_missing_cuda_raises_model_error():
    with pytest.raises(ModelError, match="cuda"):
        pick_device("cuda")


def test_precision_follows_the_hardware_unless_named():
    cpu = torch.device("cpu")
    assert uses_bf16("fp32", cpu) is False and uses_bf16("bf16", cpu) is True
    assert uses_bf16("auto", cpu) == bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
    assert uses_bf16("bf16", torch.device("mps")) is False
