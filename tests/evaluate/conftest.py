"""What the evaluation tests share: embeddings of well separated clusters."""

from __future__ import annotations

import numpy as np
import pytest
import torch


@pytest.fixture
def clustered():
    """Factory: `clustered(n_classes=10, per_class=5, noise=0.01)` -> (embeddings (N, n_classes), labels):
    every class at its own corner, far from the others."""
    def make(n_classes: int = 10, per_class: int = 5, noise: float = 0.01):
        labels = np.repeat(np.arange(n_classes), per_class)
        g = torch.Generator().manual_seed(0)
        centres = torch.eye(n_classes) * 10
        return centres[labels] + noise * torch.randn(len(labels), n_classes, generator=g), labels
    return make
