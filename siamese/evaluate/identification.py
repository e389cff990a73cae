"""Open-set identification (1:N) measured as NIST's FRVT measures it: probes searched against a gallery
of enrolled identities, some of whose identities are enrolled (mated searches) and some not (non-mated
searches: strangers). An identity's score in a search is the distance to its nearest enrolled image;
smaller is more alike, and a candidate is returned when its distance is at most the threshold T.

- FPIR(T), false-positive identification rate: of the non-mated searches, the fraction that return any
  candidate, that is whose nearest enrolled identity is within T.
- FNIR(T), false-negative identification rate (rank 1): of the mated searches, the fraction whose mate is
  not returned first within T. DIR(T) = 1 - FNIR(T), the detection and identification rate.
- CMC(k), the cumulative match characteristic: the fraction of mated searches whose mate is among the k
  nearest identities, whatever the threshold.

FPIR depends on the gallery's size (a stranger has more people to be mistaken for), so a threshold for a
target FPIR holds for the gallery size it was measured at. `open_set_study` enrols part of a labelled set
(several seeded draws) and searches the rest; `searches` is shared with the gallery's own calibration.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from ..distances import Distance, all_distances
from .metrics import threshold_at_rate

TARGETS = (1e-1, 1e-2)


@dataclass
class Searches:
    """The scores of searches against galleries of `gallery_size` identities."""

    mated_distance: np.ndarray   # (S_m,) float64: distance to the mate's nearest enrolled image
    mated_rank: np.ndarray       # (S_m,) int64: the mate's rank among the enrolled identities, from 1
    non_mated_best: np.ndarray   # (S_n,) float64: distance to the nearest enrolled identity
    gallery_size: int

    @property
    def mated(self) -> int:
        return len(self.mated_distance)

    @property
    def non_mated(self) -> int:
        return len(self.non_mated_best)

    def fpir(self, threshold: float) -> float:
        return float(np.mean(self.non_mated_best <= threshold)) if self.non_mated else float("nan")

    def dir(self, threshold: float) -> float:
        """Detection and identification rate at rank 1: the mate first and within `threshold`."""
        if not self.mated:
            return float("nan")
        return float(np.mean((self.mated_rank == 1) & (self.mated_distance <= threshold)))

    def fnir(self, threshold: float) -> float:
        return 1.0 - self.dir(threshold)

    def threshold_at_fpir(self, fpir: float) -> float:
        """The largest threshold whose FPIR over these searches is at most `fpir`."""
        return threshold_at_rate(self.non_mated_best, fpir)

    def resolves(self, rate: float) -> bool:
        """Whether the non-mated searches can tell a rate this small from 0 (at least 1 / rate of them)."""
        return rate * self.non_mated >= 1

    def cmc(self, max_rank: int = 10) -> list[float]:
        """CMC(k) for k = 1 .. max_rank (at most the gallery's size)."""
        ranks = range(1, min(max_rank, self.gallery_size) + 1)
        return [float(np.mean(self.mated_rank <= k)) if self.mated else float("nan") for k in ranks]

    def at_targets(self, targets: tuple[float, ...] = TARGETS) -> list[dict]:
        """At each target FPIR: the threshold, the FPIR it reaches on these searches, FNIR and DIR there,
        and whether the non-mated searches are enough to resolve the target at all."""
        rows = []
        for target in targets:
            threshold = self.threshold_at_fpir(target)
            rows.append({"fpir": target, "threshold": threshold, "fpir_reached": self.fpir(threshold),
                         "fnir": self.fnir(threshold), "dir": self.dir(threshold), "resolved": self.resolves(target)})
        return rows

    def curve(self, max_points: int = 300) -> dict[str, list[float]]:
        """DIR against FPIR over every threshold the scores hold, thinned, for drawing: fpir, dir."""
        thresholds = np.unique(np.r_[self.non_mated_best, self.mated_distance])
        keep = np.unique(np.linspace(0, len(thresholds) - 1, min(len(thresholds), max_points)).round().astype(int))
        chosen = thresholds[keep]
        return {"fpir": [self.fpir(t) for t in chosen], "dir": [self.dir(t) for t in chosen],
                "threshold": chosen.tolist()}

    @staticmethod
    def merge(parts: list["Searches"]) -> "Searches":
        return Searches(np.concatenate([p.mated_distance for p in parts]),
                        np.concatenate([p.mated_rank for p in parts]),
                        np.concatenate([p.non_mated_best for p in parts]), parts[0].gallery_size)


def identity_distances(probes: torch.Tensor, gallery: torch.Tensor, gallery_labels: np.ndarray,
                       distance: Distance) -> np.ndarray:
    """(P, I) float64: each probe's distance (P, D) to each enrolled identity's nearest image, the gallery
    (G, D) labelled 0 .. I-1 by `gallery_labels` (G,)."""
    return nearest_per_identity(all_distances(distance, probes, gallery), gallery_labels)


def nearest_per_identity(d: torch.Tensor, gallery_labels: np.ndarray) -> np.ndarray:
    """(P, I) float64: from distances (P, G) of probes to enrolled images labelled 0 .. I-1 by
    `gallery_labels` (G,), each probe's distance to each identity's nearest image (inf where a distance is,
    e.g. an image left out of its own search)."""
    labels = torch.as_tensor(np.asarray(gallery_labels), dtype=torch.int64)
    out = torch.full((len(d), int(labels.max()) + 1 if len(labels) else 0), float("inf"), dtype=torch.float64)
    return out.scatter_reduce(1, labels.expand(len(d), -1), d.double(), reduce="amin").numpy()


def searches(by_identity: np.ndarray, mates: np.ndarray) -> Searches:
    """Scores of searches from their per-identity distances (P, I) and each probe's enrolled identity
    (its column, or -1 for a stranger). Ties with the mate rank it first."""
    mated = mates >= 0
    rows = np.flatnonzero(mated)
    mate = by_identity[rows, mates[rows]]
    rank = 1 + np.sum(by_identity[rows] < mate[:, None], axis=1)
    return Searches(mate.astype(np.float64), rank.astype(np.int64), by_identity[~mated].min(axis=1, initial=np.inf),
                    by_identity.shape[1])


@dataclass
class OpenSetStudy:
    """Open-set identification on a labelled set: `searches` pooled over `draws` seeded draws of which
    `gallery_size` identities are enrolled (`enrolled_per_person` images each) and which are strangers."""

    searches: Searches
    draws: int
    gallery_size: int
    enrolled_per_person: int
    identities: int
    protocol: str = ""

    def summary(self, targets: tuple[float, ...] = TARGETS) -> dict:
        """The figures as plain data: per target FPIR its threshold, FPIR reached, FNIR and DIR; the CMC;
        the gallery's size and the counts of searches."""
        return {"protocol": self.protocol, "gallery_size": self.gallery_size, "identities": self.identities,
                "enrolled_per_person": self.enrolled_per_person, "draws": self.draws,
                "mated_searches": self.searches.mated, "non_mated_searches": self.searches.non_mated,
                "targets": self.searches.at_targets(targets), "cmc": self.searches.cmc(10),
                "rank1": self.searches.cmc(1)[0]}


def open_set_study(embeddings: torch.Tensor, labels: np.ndarray, distance: Distance, gallery_size: int | None = None,
                   enrolled_per_person: int = 1, draws: int = 5, seed: int = 0, protocol: str = "") -> OpenSetStudy:
    """Enrol `gallery_size` identities (default: half of them) of a labelled set of embeddings (N, D),
    `enrolled_per_person` images each, drawn at random; search every other image of theirs (mated) and
    every image of the identities left out (non-mated); `draws` times with different draws, pooled."""
    labels = np.asarray(labels)
    names = np.unique(labels)
    if len(names) < 2:
        raise ValueError("an open-set study needs at least 2 identities: one enrolled, one stranger")
    gallery_size = gallery_size or max(1, len(names) // 2)
    if not 1 <= gallery_size < len(names):
        raise ValueError(f"the gallery size must be between 1 and {len(names) - 1} (the identities less one "
                         f"stranger), not {gallery_size}")
    most = int(np.bincount(np.unique(labels, return_inverse=True)[1]).max())
    if not 1 <= enrolled_per_person < most:
        raise ValueError(f"{enrolled_per_person} enrolled images a person leave no image to search with: the "
                         f"people here have at most {most} images each, so enrol between 1 and {most - 1} of each")
    rng = np.random.default_rng(seed)
    parts = []
    for _ in range(draws):
        enrolled = rng.permutation(names)[:gallery_size]
        gallery_rows, gallery_labels, mate_of = [], [], np.full(len(labels), -1)
        for column, name in enumerate(enrolled):
            rows = rng.permutation(np.flatnonzero(labels == name))
            gallery_rows += rows[:enrolled_per_person].tolist()
            gallery_labels += [column] * len(rows[:enrolled_per_person])
            mate_of[rows[enrolled_per_person:]] = column
            mate_of[rows[:enrolled_per_person]] = -2  # enrolled images are not searched
        probes = np.flatnonzero(mate_of != -2)
        by_identity = identity_distances(embeddings[probes], embeddings[gallery_rows], np.array(gallery_labels),
                                         distance)
        parts.append(searches(by_identity, mate_of[probes]))
    return OpenSetStudy(Searches.merge(parts), draws, gallery_size, enrolled_per_person, len(names), protocol)
