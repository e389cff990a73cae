"""The distances of labelled pairs: the one object every verification figure is read from, by the command
line, the Threshold page and the Runs page alike. Scored once; the ROC, EER, rates, presets and hardest
mistakes at any threshold are then cheap.

Label convention: ``same = 1`` is a genuine pair; a pair is accepted when its distance is at most the
threshold.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from functools import cached_property

import numpy as np
import torch

from ..distances import Distance
from .calibration import Calibration, fit_calibration
from .metrics import (
    Roc,
    best_accuracy_threshold,
    equal_error_rate,
    oneshot_score,
    oneshot_trials,
    rates_at_threshold,
    roc,
    tar_at_far,
    threshold_at_far,
)
from .pairs import evaluation_pairs, pair_distances


@dataclass
class PairScores:
    distances: np.ndarray             # (M,) float64
    same: np.ndarray                  # (M,) int64, 1 for a genuine pair
    pairs: np.ndarray | None = None   # (M, 2) int64 indices into the images scored, when they are known
    protocol: str = ""                # which pairs these are, in words, for every figure drawn from them
    extra: dict = field(default_factory=dict)

    @cached_property
    def curve(self) -> Roc:
        return roc(self.distances, self.same)

    @cached_property
    def _eer(self) -> tuple[float, float]:
        return equal_error_rate(self.curve)

    @property
    def eer(self) -> float:
        return self._eer[0]

    @property
    def eer_threshold(self) -> float:
        return self._eer[1]

    @property
    def genuine_pairs(self) -> int:
        return int(self.same.sum())

    @property
    def impostor_pairs(self) -> int:
        return int(len(self.same) - self.same.sum())

    @cached_property
    def presets(self) -> dict[str, float]:
        """Named thresholds (distances): EER, FAR 1e-2, FAR 1e-3, best accuracy."""
        return {
            "EER": self.eer_threshold,
            "FAR 1e-2": threshold_at_far(self.distances, self.same, 1e-2),
            "FAR 1e-3": threshold_at_far(self.distances, self.same, 1e-3),
            "best accuracy": best_accuracy_threshold(self.distances, self.same),
        }

    def rates(self, threshold: float) -> dict[str, float]:
        """FAR, FRR, accuracy, precision, recall and the confusion counts at `threshold`."""
        return rates_at_threshold(self.distances, self.same, threshold)

    def operating_point(self, threshold: float) -> tuple[float, float]:
        """(false-accept rate, true-accept rate) at `threshold`: the point on the ROC curve."""
        r = self.rates(threshold)
        return r["far"], 1 - r["frr"]

    def threshold_range(self) -> tuple[float, float]:
        """The smallest and largest distance: the range a threshold slider needs."""
        return float(self.distances.min()), float(self.distances.max())

    def clip(self, threshold: float) -> float:
        """`threshold` moved into `threshold_range`, for a slider that cannot show values outside it."""
        low, high = self.threshold_range()
        return float(np.clip(threshold, low, high))

    def roc_points(self, max_points: int = 400) -> dict[str, list[float]]:
        """The ROC as plain lists thinned to at most `max_points` points, for drawing: far, tar."""
        keep = np.unique(np.linspace(0, len(self.curve.far) - 1, min(len(self.curve.far), max_points))
                         .round().astype(int))
        return {"far": self.curve.far[keep].tolist(), "tar": self.curve.tar[keep].tolist()}

    def histogram(self, bins: int = 60) -> dict:
        """The distances binned over `threshold_range` for drawing, genuine and impostor apart: the bins'
        centres and width, and the count of each kind in each (a browser gets `bins` bars, not every pair)."""
        edges = np.linspace(*self.threshold_range(), bins + 1)
        return {"centres": ((edges[:-1] + edges[1:]) / 2).tolist(), "width": float(edges[1] - edges[0]),
                "genuine": np.histogram(self.distances[self.same == 1], edges)[0].tolist(),
                "impostor": np.histogram(self.distances[self.same == 0], edges)[0].tolist()}

    def det_points(self, max_points: int = 400) -> dict[str, list[float]]:
        """The DET curve (false-reject against false-accept rate, for log axes) as plain lists, thinned:
        rates of 0, which a log axis cannot show, are put at half the smallest rate the pairs allow
        (1 / 2n for n pairs of that kind), and said in `floor`."""
        far_floor, frr_floor = 0.5 / max(self.impostor_pairs, 1), 0.5 / max(self.genuine_pairs, 1)
        points = self.roc_points(max_points)
        return {"far": [max(v, far_floor) for v in points["far"]],
                "frr": [max(1 - v, frr_floor) for v in points["tar"]], "floor": [far_floor, frr_floor]}

    def det_point(self, threshold: float) -> tuple[float, float]:
        """(false-accept, false-reject rate) at `threshold`, with the floors of `det_points` for log axes."""
        r = self.rates(threshold)
        floor = self.det_points(2)["floor"]
        return max(r["far"], floor[0]), max(r["frr"], floor[1])

    def tar_table(self, fars: tuple[float, ...] = (1e-1, 1e-2, 1e-3)) -> list[dict]:
        """At each false-accept rate: the threshold that keeps to it, the true-accept rate there, the
        false-accept rate actually reached, and whether the pairs can resolve that rate at all (with n
        impostor pairs, rates below 1 / n read as 0)."""
        rows = []
        for far in fars:
            threshold = threshold_at_far(self.distances, self.same, far)
            r = self.rates(threshold)
            rows.append({"false accept rate": far, "threshold": threshold, "true accept rate": 1 - r["frr"],
                         "reached": r["far"], "resolved": far * self.impostor_pairs >= 1})
        return rows

    def hardest(self, threshold: float, k: int = 6) -> dict[str, list[tuple[int, int, float]]]:
        """The worst mistakes at `threshold` as (i, j, distance): 'false_accepts' (impostor pairs
        accepted, nearest first) and 'false_rejects' (genuine pairs rejected, farthest first)."""
        if self.pairs is None:
            return {"false_accepts": [], "false_rejects": []}
        d, same = self.distances, self.same
        fa = np.flatnonzero((same == 0) & (d <= threshold))
        fr = np.flatnonzero((same == 1) & (d > threshold))
        fa = fa[np.argsort(d[fa], kind="stable")][:k]
        fr = fr[np.argsort(-d[fr], kind="stable")][:k]
        row = lambda m: (int(self.pairs[m, 0]), int(self.pairs[m, 1]), float(d[m]))  # noqa: E731
        return {"false_accepts": [row(m) for m in fa], "false_rejects": [row(m) for m in fr]}

    def tar_at_far(self, fars: tuple[float, ...] = (1e-1, 1e-2, 1e-3)) -> dict[str, float]:
        """True-accept rate at each false-accept rate, keyed '1e-2' etc. (see `metrics.tar_at_far`)."""
        return {f"{far:.0e}".replace("e-0", "e-"): tar_at_far(self.distances, self.same, far) for far in fars}

    @cached_property
    def calibration(self) -> Calibration:
        """p(same | distance) fitted on these pairs (see `calibration.fit_calibration`)."""
        return fit_calibration(self.distances, self.same)

    def summary(self) -> dict:
        """The figures of these pairs: auc, eer, threshold (at the EER), accuracy there, thresholds and
        true-accept rates at false-accept rates of 1e-2 and 1e-3, and the pair counts."""
        tar = self.tar_at_far((1e-2, 1e-3))
        return {
            "auc": self.curve.auc, "eer": self.eer, "threshold": self.eer_threshold,
            "accuracy": self.rates(self.eer_threshold)["accuracy"],
            "threshold_far_1e2": self.presets["FAR 1e-2"], "threshold_far_1e3": self.presets["FAR 1e-3"],
            "tar_far_1e2": tar["1e-2"], "tar_far_1e3": tar["1e-3"],
            "genuine_pairs": self.genuine_pairs, "impostor_pairs": self.impostor_pairs,
        }


def score_pairs(embeddings: torch.Tensor, labels: np.ndarray, distance: Distance, protocol: str = "",
                max_impostors: int = 20_000, seed: int = 0) -> PairScores:
    """Score every genuine pair and a seeded sample of impostor pairs of embeddings (N, D)."""
    pairs = evaluation_pairs(np.asarray(labels), max_impostors, seed)
    return PairScores(pair_distances(embeddings, pairs, distance), pairs[:, 2], pairs[:, :2], protocol)


@dataclass
class Evaluation:
    """Summary of verification quality; thresholds are distances (accept when distance <= threshold)."""

    auc: float
    eer: float
    threshold: float
    accuracy: float
    threshold_far_1e2: float
    threshold_far_1e3: float
    tar_far_1e2: float           # true-accept rate at a false-accept rate of 1e-2
    tar_far_1e3: float
    oneshot_accuracy: float
    n_way: int
    genuine_pairs: int
    impostor_pairs: int

    def to_dict(self) -> dict:
        return asdict(self)


def evaluate_embeddings(embeddings: torch.Tensor, labels: np.ndarray, distance: Distance,
                        n_way: int = 10, trials: int = 1000, seed: int = 0) -> Evaluation:
    """Every figure of `Evaluation` for embeddings (N, D) of held-out identities."""
    return EvaluationSet.draw(labels, n_way, trials, seed).evaluate(embeddings, distance)


@dataclass
class EvaluationSet:
    """The pairs and one-shot trials `evaluate_embeddings` scores, drawn once from the labels: a training
    run scores its validation images after every epoch on the same ones, without drawing them again, on
    the embeddings' device."""

    pairs: np.ndarray    # (M, 3) int64 rows (i, j, same): `evaluation_pairs`
    trials: np.ndarray   # (T, 1 + n_way) int64 rows (query, supports...): `oneshot_trials`

    @classmethod
    def draw(cls, labels: np.ndarray, n_way: int = 10, trials: int = 1000, seed: int = 0,
             max_impostors: int = 20_000) -> "EvaluationSet":
        labels = np.asarray(labels)
        return cls(evaluation_pairs(labels, max_impostors, seed), oneshot_trials(labels, n_way, trials, seed))

    def scores(self, embeddings: torch.Tensor, distance: Distance, protocol: str = "") -> PairScores:
        pairs = self.pairs
        return PairScores(pair_distances(embeddings, pairs, distance), pairs[:, 2], pairs[:, :2], protocol)

    def evaluate(self, embeddings: torch.Tensor, distance: Distance) -> Evaluation:
        return Evaluation(**self.scores(embeddings, distance).summary(),
                          oneshot_accuracy=oneshot_score(embeddings, self.trials, distance),
                          n_way=self.trials.shape[1] - 1)
