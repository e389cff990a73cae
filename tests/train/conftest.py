"""What the training tests share: clean synthetic faces and a small configuration to train them with."""

from __future__ import annotations

from pathlib import Path

import pytest

from siamese.config import TrainConfig


@pytest.fixture
def faces(make_identity_folders):
    """12 clean synthetic identities x 6 images (an untrained network already separates them)."""
    return make_identity_folders(n_identities=12, n_images=6)


@pytest.fixture
def small_config():
    """Factory: `small_config(data, **overrides)`, a TrainConfig that trains in a second or two."""
    def make(data: Path, **overrides) -> TrainConfig:
        values = dict(data=str(data), input_size=32, model="compact", embedding_dim=16, p=4, k=3, epochs=3,
                      device="cpu", augment=False, val_fraction=0.5, seed=0, eval_every=1)
        return TrainConfig(**{**values, **overrides})
    return make
