"""siamese/distances.py: paired and pairwise forms agree, match torch, and keep their ranges."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from siamese.distances import DISTANCES, get_distance
from siamese.errors import ConfigError


def vectors(n: int, seed: int, dim: int = 16) -> torch.Tensor:
    return torch.randn(n, dim, generator=torch.Generator().manual_seed(seed))


@pytest.mark.parametrize("name", DISTANCES)
def test_paired_equals_diagonal_of_pairwise(name):
    paired, pairwise = get_distance(name)
    a, b = vectors(20, 0), vectors(20, 1)
    torch.testing.assert_close(paired(a, b), pairwise(a, b).diagonal(), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("name", DISTANCES)
def test_pairwise_shape_and_entries_match_paired(name):
    paired, pairwise = get_distance(name)
    a, b = vectors(7, 2), vectors(5, 3)
    d = pairwise(a, b)
    assert d.shape == (7, 5)
    for i in range(7):
        torch.testing.assert_close(d[i], paired(a[i].expand(5, -1), b), rtol=1e-5, atol=1e-5)


def test_euclidean_matches_torch_cdist():
    _, pairwise = get_distance("euclidean")
    a, b = vectors(20, 4), vectors(30, 5)
    exact = torch.cdist(a.double(), b.double(), compute_mode="donot_use_mm_for_euclid_dist").float()
    torch.testing.assert_close(pairwise(a, b), exact, rtol=1e-5, atol=1e-4)


def test_l1_is_sum_of_absolute_differences():
    paired, pairwise = get_distance("l1")
    a, b = vectors(6, 6), vectors(4, 7)
    torch.testing.assert_close(pairwise(a, b), (a[:, None] - b[None]).abs().sum(-1))


def test_cosine_is_one_minus_cosine_of_the_angle():
    paired, pairwise = get_distance("cosine")
    a = torch.tensor([[1.0, 0.0], [0.0, 3.0], [-2.0, 0.0], [1.0, 1.0]])
    expected = torch.tensor([[0.0, 1.0, 2.0, 1 - 2 ** -0.5]])
    torch.testing.assert_close(pairwise(a[:1], a), expected)
    torch.testing.assert_close(paired(a[:1].expand(4, -1), a), expected[0])


def test_cosine_stays_within_0_and_2():
    paired, pairwise = get_distance("cosine")
    a = F.normalize(vectors(50, 8), dim=1)
    for d in (pairwise(a, a), pairwise(a, -a), paired(a, a), paired(a, -a)):
        assert d.min() >= 0 and d.max() <= 2


def test_euclidean_gradient_is_finite_at_distance_zero():
    paired, pairwise = get_distance("euclidean")
    a = vectors(4, 11).requires_grad_()
    (pairwise(a, a).sum() + paired(a, a.detach().clone()).sum()).backward()
    assert torch.isfinite(a.grad).all()


@pytest.mark.parametrize("name", DISTANCES)
def test_symmetry(name):
    paired, pairwise = get_distance(name)
    a, b = vectors(10, 9), vectors(10, 10)
    torch.testing.assert_close(paired(a, b), paired(b, a))
    torch.testing.assert_close(pairwise(a, b), pairwise(b, a).T, rtol=1e-5, atol=1e-5)


def test_unknown_distance_raises_config_error_listing_the_known():
    with pytest.raises(ConfigError, match="distance") as info:
        get_distance("manhattan")
    assert all(name in str(info.value) for name in DISTANCES)
