"""siamese/evaluate/pairs.py: which pairs are scored."""

from __future__ import annotations

import numpy as np

from siamese.evaluate.pairs import evaluation_pairs

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
