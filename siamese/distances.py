"""Distances between embeddings. Larger always means less alike; each comes paired and pairwise.

`paired(a, b)`: a and b are (N, D), the result (N,). `pairwise(a, b)`: a (N, D), b (M, D), result (N, M).
"""

from __future__ import annotations

from typing import Callable

import torch
import torch.nn.functional as F

from .errors import ConfigError

# Keeps the gradient of sqrt finite where two embeddings coincide (an anchor with itself).
_EPS = 1e-12


def euclidean_pairwise(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    squared = (a * a).sum(1, keepdim=True) - 2 * a @ b.T + (b * b).sum(1)[None, :]
    return squared.clamp_min(_EPS).sqrt()


def euclidean_paired(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    return ((a - b).pow(2).sum(1)).clamp_min(_EPS).sqrt()


def cosine_pairwise(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    return (1 - F.normalize(a, dim=1) @ F.normalize(b, dim=1).T).clamp(0, 2)


def cosine_paired(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    return (1 - F.cosine_similarity(a, b, dim=1)).clamp(0, 2)


def l1_pairwise(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    return torch.cdist(a, b, p=1)


def l1_paired(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    return (a - b).abs().sum(1)


Distance = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]

DISTANCES: dict[str, tuple[Distance, Distance]] = {
    "euclidean": (euclidean_paired, euclidean_pairwise),
    "cosine": (cosine_paired, cosine_pairwise),
    "l1": (l1_paired, l1_pairwise),
}


def get_distance(name: str) -> tuple[Distance, Distance]:
    """(paired, pairwise) functions of the named distance."""
    if name not in DISTANCES:
        raise ConfigError(f"distance: unknown {name!r}; known: {', '.join(DISTANCES)}")
    return DISTANCES[name]


def all_distances(distance: Distance, a: torch.Tensor, b: torch.Tensor, pairs_at_once: int = 200_000) -> torch.Tensor:
    """Every distance (N, M) between a (N, D) and b (M, D) by a paired distance (any: a learned one too),
    a few rows of `a` at a time so that memory stays bounded."""
    if len(a) == 0 or len(b) == 0:
        return torch.empty(len(a), len(b))
    rows = max(1, pairs_at_once // len(b))
    parts = [distance(chunk.repeat_interleave(len(b), dim=0), b.repeat(len(chunk), 1)).reshape(len(chunk), len(b))
             for chunk in a.split(rows)]
    return torch.cat(parts)
