"""The gallery's comparisons (siamese/decisions/calibration.py), against the same comparisons written out as
loops: pairs of images, claims (an image against a person's other images) and searches (an image against
everyone else), each leaving out what it compares."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from siamese.distances import euclidean_paired
from siamese.decisions.calibration import calibrate


def test_the_comparisons_match_the_loops():
    rng = np.random.default_rng(0)
    names = ["ann"] * 3 + ["bob"] * 2 + ["cy"] * 1 + ["dee"] * 3
    vectors = torch.tensor(rng.normal(size=(len(names), 4)), dtype=torch.float32)
    cal = calibrate(vectors, names, euclidean_paired)
    d = lambda i, j: math.dist(vectors[i].tolist(), vectors[j].tolist())  # noqa: E731
    m = len(names)
    people = sorted(set(names))
    genuine_pairs = [d(i, j) for i in range(m) for j in range(i + 1, m) if names[i] == names[j]]
    impostor_pairs = [d(i, j) for i in range(m) for j in range(i + 1, m) if names[i] != names[j]]
    claim = lambda i, who: min((d(i, j) for j in range(m) if j != i and names[j] == who), default=None)  # noqa: E731
    genuine_claims = [c for i in range(m) if (c := claim(i, names[i])) is not None]
    impostor_claims = [claim(i, who) for i in range(m) for who in people if who != names[i]]
    non_mated = [min(claim(i, who) for who in people if who != names[i]) for i in range(m)]
    assert sorted(cal.pairs.genuine) == pytest.approx(sorted(genuine_pairs), abs=1e-5)
    assert sorted(cal.pairs.impostor) == pytest.approx(sorted(impostor_pairs), abs=1e-5)
    assert sorted(cal.claims.genuine) == pytest.approx(sorted(genuine_claims), abs=1e-5)
    assert sorted(cal.claims.impostor) == pytest.approx(sorted(impostor_claims), abs=1e-5)
    assert sorted(cal.searches.non_mated_best) == pytest.approx(sorted(non_mated), abs=1e-5)
    # mated searches: each image with another of its own (cy has none), ranked among all four people
    assert cal.searches.mated == 8 and (cal.people, cal.images, cal.most_images) == (4, 9, 3)
    for rank, mate, i in zip(cal.searches.mated_rank, cal.searches.mated_distance,
                             [i for i in range(m) if names[i] != "cy"]):
        others = [claim(i, who) for who in people if who != names[i]]
        assert mate == pytest.approx(claim(i, names[i]), abs=1e-5)
        assert rank == 1 + sum(o < claim(i, names[i]) for o in others)


def test_one_person_gives_no_impostor_comparison_and_one_image_each_no_genuine():
    vectors = torch.eye(3)
    alone = calibrate(vectors, ["ann"] * 3, euclidean_paired)
    assert len(alone.claims.impostor) == 0 and alone.searches.non_mated == 0 and len(alone.claims.genuine) == 3
    singles = calibrate(vectors, ["ann", "bob", "cy"], euclidean_paired)
    assert len(singles.claims.genuine) == 0 and singles.searches.mated == 0 and singles.searches.non_mated == 3
    assert singles.claim_confidence is None and singles.most_images == 1
    empty = calibrate(torch.empty(0, 4), [], euclidean_paired)
    assert (empty.people, empty.images, empty.most_images) == (0, 0, 0)
