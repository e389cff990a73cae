"""Splits by identity, never by image or pair, so nobody seen in training is ever validated on; and seeded
samples of whole identities."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..errors import DatasetError


def split_identities(identities: list[str], val_fraction: float, seed: int) -> tuple[list[str], list[str]]:
    """Split identities (never images) into train and validation, seeded. Both sides get at least 2."""
    if len(identities) < 4:
        raise DatasetError(f"{len(identities)} identities cannot be split into training and validation; "
                           "at least 4 are needed (2 on each side)")
    order = np.random.default_rng(seed).permutation(len(identities))
    n_val = min(max(2, round(len(identities) * val_fraction)), len(identities) - 2)
    val = sorted(identities[i] for i in order[:n_val])
    train = sorted(identities[i] for i in order[n_val:])
    return train, val


def sample_identities(files: dict[str, list[Path]], max_images: int, per_identity: int,
                      seed: int) -> dict[str, list[Path]]:
    """A seeded sample of whole identities, each cut to its first `per_identity` files, added until the
    sample holds `max_images` files (and at least 2 identities); in name order."""
    names = sorted(files)
    chosen, images = [], 0
    for i in np.random.default_rng(seed).permutation(len(names)):
        if images >= max_images and len(chosen) >= 2:
            break
        chosen.append(names[i])
        images += min(len(files[names[i]]), per_identity)
    return {name: files[name][:per_identity] for name in sorted(chosen)}
