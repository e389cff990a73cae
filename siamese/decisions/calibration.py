"""The enrolled people compared with each other: comparisons from the camera the decisions are made on,
which the gallery's thresholds and confidences are drawn from (`rules.py`). A threshold chosen on
another dataset's pairs does not travel to a webcam's faces; these comparisons are of the faces the
decisions are about.

Every comparison leaves out what it compares: an enrolled image against another person's images is an
impostor comparison, against its own person's other images a genuine one. Three kinds, one per decision:

- pairs: image against image, genuine and impostor, for two photos compared;
- claims: an image against a person's other images, at the nearest of them, as a 1:1 claim is decided:
  genuine when the person is its own (leaving the image out), impostor otherwise;
- searches: an image searched against everyone enrolled, as 1:N is: a non-mated search against all the
  other people (its own left out: a stranger to a gallery of N - 1), a mated one with its own person's
  other images left in. The nearest distance per person and the mate's rank are the evaluation's own
  (`evaluate.identification`), so a gallery and a study search alike.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np
import torch

from ..distances import Distance, all_distances
from ..evaluate.calibration import Calibration, fit_calibration
from ..evaluate.identification import Searches, nearest_per_identity, searches

# A confidence is fitted only on at least this many genuine and impostor comparisons each.
MIN_FIT_COMPARISONS = 3


@dataclass
class Comparisons:
    """Distances of genuine and impostor comparisons of one kind."""

    genuine: np.ndarray   # (G,) float64
    impostor: np.ndarray  # (I,) float64

    def fit(self) -> Calibration | None:
        """p(same | distance) fitted on these comparisons, or None when there are too few of a kind."""
        if min(len(self.genuine), len(self.impostor)) < MIN_FIT_COMPARISONS:
            return None
        return fit_calibration(np.r_[self.genuine, self.impostor],
                               np.r_[np.ones(len(self.genuine), int), np.zeros(len(self.impostor), int)])


@dataclass
class GalleryCalibration:
    """The comparisons of a gallery of `people` people and `images` images (see the module)."""

    people: int
    images: int
    most_images: int    # the most images one person has: 1 means no genuine comparison can be made
    pairs: Comparisons
    claims: Comparisons
    searches: Searches  # non-mated against `people - 1` people, mated against `people`
    look_alikes: tuple[tuple[str, str], ...] = ()  # pairs of people nearer each other than themselves

    @cached_property
    def pair_confidence(self) -> Calibration | None:
        return self.pairs.fit()

    @cached_property
    def claim_confidence(self) -> Calibration | None:
        return self.claims.fit()


def calibrate(embeddings: torch.Tensor, names: list[str], distance: Distance) -> GalleryCalibration:
    """The comparisons of the enrolled images (M, D), named by person, under the run's distance."""
    people, labels = np.unique(np.asarray(names, dtype=object), return_inverse=True)
    m, n = len(labels), len(people)
    d = all_distances(distance, embeddings, embeddings).double() if m else torch.empty(0, 0, dtype=torch.float64)
    d.fill_diagonal_(float("inf"))  # an image is never compared with itself
    by_person = nearest_per_identity(d, labels)  # (M, N): each image's nearest of each person's images
    own = by_person[np.arange(m), labels]
    others = by_person.copy()
    others[np.arange(m), labels] = np.inf
    upper = np.triu(np.ones((m, m), bool), k=1)
    same = labels[:, None] == labels[None, :]
    d = d.numpy()
    mated = np.isfinite(own)
    found = searches(by_person[mated], labels[mated])
    strangers = searches(others, np.full(m, -1)).non_mated_best if n > 1 else np.empty(0)
    return GalleryCalibration(
        people=n, images=m, most_images=int(np.bincount(labels).max()) if m else 0,
        pairs=Comparisons(d[upper & same], d[upper & ~same]),
        claims=Comparisons(own[mated], others[np.isfinite(others)]),
        searches=Searches(found.mated_distance, found.mated_rank, strangers, n),
        look_alikes=look_alikes(by_person, labels, list(people)))


def look_alikes(by_person: np.ndarray, labels: np.ndarray, people: list[str]) -> tuple[tuple[str, str], ...]:
    """Pairs of people whose images are as near each other as the gallery's genuine comparisons are: the
    median, over each one's images, of the nearest distance to the other is no farther than the farthest
    genuine claim of the gallery, both ways. Most likely one person enrolled under two names, whose
    comparisons would count as impostors and pull the thresholds down. `by_person` (M, N): each image's
    nearest distance to each person (to its own person's other images)."""
    own = by_person[np.arange(len(labels)), labels]
    genuine = own[np.isfinite(own)]
    if len(genuine) == 0 or len(people) < 2:
        return ()
    limit = genuine.max()
    median = np.stack([np.median(by_person[labels == a], axis=0) for a in range(len(people))])
    near = median <= limit
    return tuple((people[a], people[b]) for a in range(len(people)) for b in range(a + 1, len(people))
                 if near[a, b] and near[b, a])
