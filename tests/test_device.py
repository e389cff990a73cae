"""siamese/device.py: auto picks what is there; a device asked for by name must exist."""

from __future__ import annotations

import pytest
import torch

from siamese.device import pick_device
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
