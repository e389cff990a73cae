"""siamese/sampling.py: P x K batches, and the pairs and triplets formed inside a batch."""

from __future__ import annotations

import math
from collections import Counter

import numpy as np
import pytest
import torch

from siamese.errors import SiameseError
from siamese.sampling import (
    PKSampler,
    UniformSampler,
    all_pairs,
    all_triplets,
    build_sampler,
    pair_masks,
)

# Images per identity: 5, 2, 3, 1 (left out: no genuine pair), 4, 6; 21 images in all.
COUNTS = [5, 2, 3, 1, 4, 6]
LABELS = np.repeat(np.arange(len(COUNTS)), COUNTS)


def test_every_batch_has_p_identities_with_min_k_available_distinct_images():
    sampler = PKSampler(torch.from_numpy(LABELS), p=3, k=4, seed=0)
    seen = set()
    for _ in range(50):
        batch = sampler.batch()
        assert len(set(batch.tolist())) == len(batch)
        per_identity = Counter(LABELS[batch].tolist())
        assert len(per_identity) == 3
        assert all(n == min(4, COUNTS[c]) for c, n in per_identity.items())
        seen.update(per_identity)
    assert seen == {0, 1, 2, 4, 5}


def test_p_is_capped_at_the_identities_available():
    sampler = PKSampler(LABELS, p=16, k=2, seed=0)
    assert sampler.p == 5
    assert len(set(LABELS[sampler.batch()].tolist())) == 5


@pytest.mark.parametrize("p,k", [(2, 2), (3, 4), (5, 3), (16, 4)])
def test_batches_per_epoch_is_images_over_batch_size_rounded_up(p, k):
    sampler = PKSampler(LABELS, p=p, k=k)
    assert sampler.batches_per_epoch == math.ceil(len(LABELS) / (min(p, 5) * k))
    assert len(list(sampler.epoch())) == sampler.batches_per_epoch


def test_an_epoch_ends_with_two_identities():
    sampler = PKSampler(np.array([0, 0, 1, 1]), p=16, k=4, seed=0)
    batches = list(sampler.epoch())
    assert len(batches) == 1
    assert sorted(batches[0].tolist()) == [0, 1, 2, 3]


@pytest.mark.parametrize("labels", [[0, 0, 1], [0, 1, 2, 3], [0, 0, 0, 0], []])
def test_fewer_than_two_identities_with_two_images_raises(labels):
    with pytest.raises((ValueError, SiameseError), match="2 identities"):
        PKSampler(np.array(labels, dtype=int), p=2, k=2)


def test_seeded_batches_are_reproducible_and_resumable():
    a, b, c = (PKSampler(LABELS, 3, 3, seed=s) for s in (7, 7, 8))
    first = [a.batch().tolist() for _ in range(5)]
    assert first == [b.batch().tolist() for _ in range(5)]
    assert first != [c.batch().tolist() for _ in range(5)]
    state = a.state()
    ahead = [a.batch().tolist() for _ in range(3)]
    a.set_state(state)
    assert [a.batch().tolist() for _ in range(3)] == ahead


BATCH_LABELS = torch.tensor([2, 0, 1, 0, 2, 1, 1, 0, 3])


def test_all_pairs_is_every_unordered_pair_with_same_1_iff_labels_equal():
    i, j, same = all_pairs(BATCH_LABELS)
    n = len(BATCH_LABELS)
    assert sorted(zip(i.tolist(), j.tolist())) == [(a, b) for a in range(n) for b in range(a + 1, n)]
    assert same.tolist() == [float(BATCH_LABELS[a] == BATCH_LABELS[b]) for a, b in zip(i, j)]


def test_pair_masks_never_pair_a_position_with_itself():
    genuine, impostor = pair_masks(BATCH_LABELS)
    n = len(BATCH_LABELS)
    for a in range(n):
        for b in range(n):
            same = bool(BATCH_LABELS[a] == BATCH_LABELS[b])
            assert genuine[a, b] == (same and a != b)
            assert impostor[a, b] == (not same)


def test_all_triplets_equals_a_loop_enumeration():
    labels = BATCH_LABELS.tolist()
    n = len(labels)
    expected = [[a, p, q] for a in range(n) for p in range(n) for q in range(n)
                if p != a and labels[p] == labels[a] and labels[q] != labels[a]]
    assert all_triplets(BATCH_LABELS).tolist() == expected


def test_uniform_batches_cover_every_image_once_an_epoch_and_resume_exactly():
    labels = torch.arange(10).repeat_interleave(5)  # 50 images
    sampler = UniformSampler(labels, 16, seed=0)
    epoch = list(sampler.epoch())
    assert len(epoch) == sampler.batches_per_epoch == 3 and all(len(b) == 16 for b in epoch)
    flat = np.concatenate(epoch)
    assert len(set(flat.tolist())) == 48  # distinct images; the last two, a short batch, are left out
    state = sampler.state()
    following = list(sampler.epoch())
    again = UniformSampler(labels, 16, seed=99)
    again.set_state(state)
    assert all(np.array_equal(a, b) for a, b in zip(following, again.epoch()))


def test_uniform_ranks_take_different_batches_of_the_same_permutation():
    labels = torch.arange(10).repeat_interleave(8)
    ranks = [list(UniformSampler(labels, 8, seed=1, rank=r, world_size=2).epoch()) for r in (0, 1)]
    assert len(ranks[0]) == len(ranks[1]) == 5
    together = np.concatenate(ranks[0] + ranks[1])
    assert len(set(together.tolist())) == len(together) == 80


def test_samplers_by_name():
    labels = torch.arange(6).repeat_interleave(4)
    assert isinstance(build_sampler("uniform", labels, 4, 2, 0), UniformSampler)
    assert build_sampler("uniform", labels, 4, 2, 0).batch_size == 8
    assert isinstance(build_sampler("pk", labels, 4, 2, 0), PKSampler)
