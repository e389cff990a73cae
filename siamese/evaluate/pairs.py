"""The pairs verification is measured on, as rows (i, j, same) of indices into a set of images, and their
distances. ``same = 1`` marks a genuine pair."""

from __future__ import annotations

import numpy as np
import torch

from ..distances import Distance


def evaluation_pairs(labels: np.ndarray, max_impostors: int = 20_000, seed: int = 0) -> np.ndarray:
    """Every genuine pair i < j, and all impostor pairs or a seeded sample of `max_impostors` of them.
    Returns (M, 3) int64 rows (i, j, same)."""
    labels = np.asarray(labels)
    i, j = np.triu_indices(len(labels), k=1)
    same = labels[i] == labels[j]
    genuine = np.flatnonzero(same)
    impostor = np.flatnonzero(~same)
    if len(impostor) > max_impostors:
        impostor = np.sort(np.random.default_rng(seed).choice(impostor, max_impostors, replace=False))
    keep = np.concatenate([genuine, impostor])
    return np.stack([i[keep], j[keep], same[keep].astype(np.int64)], axis=1)


@torch.no_grad()
def pair_distances(embeddings: torch.Tensor, pairs: np.ndarray, distance: Distance) -> np.ndarray:
    """Distances (M,) of the (i, j, same) rows of `pairs` over embeddings (N, D)."""
    i, j = torch.from_numpy(pairs[:, 0]), torch.from_numpy(pairs[:, 1])
    return distance(embeddings[i], embeddings[j]).numpy().astype(np.float64)
