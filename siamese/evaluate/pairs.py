"""The pairs verification is measured on, as rows (i, j, same) of indices into a set of images, and their
distances. ``same = 1`` marks a genuine pair."""

from __future__ import annotations

import numpy as np
import torch

from ..distances import Distance

# Genuine pairs one identity may give: enough for a person's variation, bounded so that one person with
# hundreds of photos (George_W_Bush has 530 in LFW, 140,000 pairs) does not make the figures his own.
GENUINE_PER_IDENTITY = 50


def evaluation_pairs(labels: np.ndarray, max_impostors: int = 20_000, seed: int = 0,
                     genuine_per_identity: int = GENUINE_PER_IDENTITY) -> np.ndarray:
    """The pairs figures are computed on, spread over identities so that none dominates: each identity's
    genuine pairs i < j, a seeded sample of `genuine_per_identity` when it has more; and every impostor
    pair when there are at most `max_impostors`, else that many drawn across identity pairs (two distinct
    identities chosen uniformly, then an image of each). Returns (M, 3) int64 rows (i, j, same)."""
    labels = np.asarray(labels)
    rng = np.random.default_rng(seed)
    members = [np.flatnonzero(labels == c) for c in np.unique(labels)]
    genuine = [_genuine_of(rows, genuine_per_identity, rng) for rows in members if len(rows) >= 2]
    genuine = np.concatenate(genuine) if genuine else np.empty((0, 2), np.int64)
    impostor = _impostors(labels, members, max_impostors, rng)
    rows = np.concatenate([np.c_[genuine, np.ones(len(genuine), np.int64)],
                           np.c_[impostor, np.zeros(len(impostor), np.int64)]])
    return rows.astype(np.int64)


def _genuine_of(rows: np.ndarray, limit: int, rng: np.random.Generator) -> np.ndarray:
    i, j = np.triu_indices(len(rows), k=1)
    if len(i) > limit:
        keep = np.sort(rng.choice(len(i), limit, replace=False))
        i, j = i[keep], j[keep]
    return np.stack([rows[i], rows[j]], axis=1)


def _impostors(labels: np.ndarray, members: list[np.ndarray], limit: int, rng: np.random.Generator) -> np.ndarray:
    n = len(labels)
    counts = np.array([len(m) for m in members])
    total = (n * n - int((counts ** 2).sum())) // 2
    if total <= limit:
        i, j = np.triu_indices(n, k=1)
        different = labels[i] != labels[j]
        return np.stack([i[different], j[different]], axis=1)
    chosen: set[tuple[int, int]] = set()
    for _ in range(100):  # each round draws twice what is missing; duplicates are rare and dropped
        want = 2 * (limit - len(chosen))
        a = rng.integers(0, len(members), want)
        b = (a + rng.integers(1, len(members), want)) % len(members)  # another identity, uniformly
        x = np.array([members[k][rng.integers(len(members[k]))] for k in a])
        y = np.array([members[k][rng.integers(len(members[k]))] for k in b])
        for u, v in zip(np.minimum(x, y).tolist(), np.maximum(x, y).tolist()):
            chosen.add((u, v))
            if len(chosen) == limit:
                return np.array(sorted(chosen), np.int64)
    return np.array(sorted(chosen), np.int64)


@torch.no_grad()
def pair_distances(embeddings: torch.Tensor, pairs: np.ndarray, distance: Distance) -> np.ndarray:
    """Distances (M,) of the (i, j, same) rows of `pairs` over embeddings (N, D), computed on the
    embeddings' device."""
    index = torch.from_numpy(pairs[:, :2]).to(embeddings.device)
    return distance(embeddings[index[:, 0]], embeddings[index[:, 1]]).cpu().numpy().astype(np.float64)
