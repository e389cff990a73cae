"""siamese/evaluate/pairs.py: which pairs are scored."""

from __future__ import annotations

import numpy as np

from siamese.evaluate.pairs import GENUINE_PER_IDENTITY, evaluation_pairs

LABELS = np.array([0, 0, 0, 1, 1, 2, 2, 2, 2, 3])  # 3 + 1 + 6 = 10 genuine pairs, 35 impostor pairs


def test_evaluation_pairs_hold_every_genuine_pair_and_every_impostor_when_few():
    pairs = evaluation_pairs(LABELS)
    n = len(LABELS)
    expected = {(i, j, int(LABELS[i] == LABELS[j])) for i in range(n) for j in range(i + 1, n)}
    assert {tuple(row) for row in pairs.tolist()} == expected and len(pairs) == len(expected)


def test_impostor_sample_is_capped_and_seeded():
    pairs = evaluation_pairs(LABELS, max_impostors=8, seed=1)
    same = pairs[:, 2]
    assert same.sum() == 10 and (same == 0).sum() == 8
    assert (pairs[:, 0] < pairs[:, 1]).all()
    assert all(LABELS[i] != LABELS[j] for i, j, s in pairs if s == 0)
    assert np.array_equal(pairs, evaluation_pairs(LABELS, max_impostors=8, seed=1))
    assert not np.array_equal(pairs, evaluation_pairs(LABELS, max_impostors=8, seed=2))


def test_no_identity_dominates_the_genuine_pairs():
    # One person with 200 images (19,900 pairs of their own) beside 30 people with 3 images each.
    labels = np.r_[np.zeros(200, int), np.repeat(np.arange(1, 31), 3)]
    pairs = evaluation_pairs(labels, seed=0)
    genuine = pairs[pairs[:, 2] == 1]
    per_identity = np.bincount(labels[genuine[:, 0]])
    assert per_identity[0] == GENUINE_PER_IDENTITY and (per_identity[1:] == 3).all()
    assert (labels[genuine[:, 0]] == labels[genuine[:, 1]]).all()
    assert len({tuple(r) for r in genuine.tolist()}) == len(genuine)


def test_sampled_impostors_are_spread_over_identities_not_images():
    labels = np.r_[np.zeros(400, int), np.repeat(np.arange(1, 41), 4)]
    pairs = evaluation_pairs(labels, max_impostors=2_000, seed=3)
    impostor = pairs[pairs[:, 2] == 0]
    assert len(impostor) == 2_000 and (labels[impostor[:, 0]] != labels[impostor[:, 1]]).all()
    assert (impostor[:, 0] < impostor[:, 1]).all() and len({tuple(r) for r in impostor.tolist()}) == 2_000
    appearances = np.bincount(labels[impostor[:, :2].ravel()], minlength=41)
    # Drawn by identity, the big one appears in about 2 / 41 of the pairs' ends, not in 400 / 560 of them.
    assert appearances[0] / appearances.sum() < 0.05
    assert appearances[1:].min() > 0
