"""siamese/data/split.py: the split is by identity, disjoint, seeded, with two on each side."""

from __future__ import annotations

import pytest

from siamese.data.split import split_identities
from siamese.errors import DatasetError

IDENTITIES = [f"id{i}" for i in range(10)]


def test_split_is_disjoint_covers_all_and_is_seeded():
    train, val = split_identities(IDENTITIES, 0.3, seed=1)
    assert not set(train) & set(val) and sorted(train + val) == IDENTITIES
    assert len(val) == 3
    assert split_identities(IDENTITIES, 0.3, seed=1) == (train, val)
    assert any(split_identities(IDENTITIES, 0.3, seed=s)[1] != val for s in range(2, 6))


@pytest.mark.parametrize("fraction", [0.01, 0.5, 0.99])
def test_split_keeps_at_least_two_on_each_side(fraction):
    for n in (4, 5, 9):
        train, val = split_identities(IDENTITIES[:n], fraction, seed=0)
        assert len(train) >= 2 and len(val) >= 2 and len(train) + len(val) == n


def test_split_needs_four_identities():
    with pytest.raises(DatasetError, match="at least 4"):
        split_identities(IDENTITIES[:3], 0.25, seed=0)
