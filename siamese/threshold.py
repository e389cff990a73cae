"""Choosing the decision threshold of a trained run: every validation pair scored once, then the rates,
presets and hardest mistakes at any threshold are cheap.

Label convention: ``same = 1`` is a genuine pair; a pair is accepted when its distance is at most the
threshold.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from .data import FaceDataset
from .evaluate import (Roc, best_accuracy_threshold, equal_error_rate, evaluation_pairs, pair_distances,
                       rates_at_threshold, roc, threshold_at_far)
from .trained import TrainedModel, run_dataset


@dataclass
class ThresholdStudy:
    pairs: np.ndarray        # (M, 3) int64 rows (i, j, same) into the dataset
    distances: np.ndarray    # (M,) float64
    curve: Roc
    eer: float
    presets: dict[str, float]  # name -> threshold (a distance)

    @property
    def same(self) -> np.ndarray:
        return self.pairs[:, 2]

    def rates(self, threshold: float) -> dict[str, float]:
        """FAR, FRR, accuracy, precision, recall and the confusion counts at `threshold`."""
        return rates_at_threshold(self.distances, self.same, threshold)

    def operating_point(self, threshold: float) -> tuple[float, float]:
        """(false-accept rate, true-accept rate) at `threshold`: the point on the ROC curve."""
        r = self.rates(threshold)
        return r["far"], 1 - r["frr"]

    def hardest(self, threshold: float, k: int = 6) -> dict[str, list[tuple[int, int, float]]]:
        """The worst mistakes at `threshold` as (i, j, distance): 'false_accepts' (impostor pairs
        accepted, nearest first) and 'false_rejects' (genuine pairs rejected, farthest first)."""
        d, same = self.distances, self.same
        fa = np.flatnonzero((same == 0) & (d <= threshold))
        fr = np.flatnonzero((same == 1) & (d > threshold))
        fa = fa[np.argsort(d[fa], kind="stable")][:k]
        fr = fr[np.argsort(-d[fr], kind="stable")][:k]
        row = lambda m: (int(self.pairs[m, 0]), int(self.pairs[m, 1]), float(d[m]))  # noqa: E731
        return {"false_accepts": [row(m) for m in fa], "false_rejects": [row(m) for m in fr]}


def study_embeddings(embeddings: torch.Tensor, labels: np.ndarray, distance, max_impostors: int = 20_000,
                     seed: int = 0) -> ThresholdStudy:
    """Score every genuine pair and a seeded sample of impostor pairs of embeddings (N, D)."""
    pairs = evaluation_pairs(np.asarray(labels), max_impostors, seed)
    d = pair_distances(embeddings, pairs, distance)
    same = pairs[:, 2]
    curve = roc(d, same)
    eer, eer_threshold = equal_error_rate(curve)
    presets = {
        "EER": eer_threshold,
        "FAR 1e-2": threshold_at_far(d, same, 1e-2),
        "FAR 1e-3": threshold_at_far(d, same, 1e-3),
        "best accuracy": best_accuracy_threshold(d, same),
    }
    return ThresholdStudy(pairs, d, curve, eer, presets)


def study_run(trained: TrainedModel, data_dir: str = "data") -> tuple[ThresholdStudy, FaceDataset]:
    """The threshold study of a loaded run on its validation identities, and those images."""
    dataset = run_dataset(trained.run_dir, "validation", data_dir=data_dir, config=trained.config)
    embeddings = trained.embed(dataset.images)
    return study_embeddings(embeddings, dataset.labels.numpy(), trained.distance), dataset
