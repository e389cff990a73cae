"""Projections keep the shape, separate separated clusters, and are cached; nearest neighbours exclude the
query; thumbnails are PNG data URIs."""

from __future__ import annotations

import base64
import io

import numpy as np
import pytest
import torch
from PIL import Image

from siamese import projection
from siamese.distances import euclidean_paired


def clusters(n_per: int = 20, dim: int = 16) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    centres = rng.normal(size=(3, dim)) * 10
    x = np.concatenate([c + rng.normal(size=(n_per, dim)) for c in centres]).astype(np.float32)
    return x, np.repeat(np.arange(3), n_per)


@pytest.mark.parametrize("method", ["pca", "tsne", "umap"])
@pytest.mark.parametrize("dims", [2, 3])
def test_projection_shape_and_separation(method, dims):
    x, labels = clusters()
    coords = projection.project(x, method, dims)
    assert coords.shape == (len(x), dims) and np.isfinite(coords).all()
    # Each point's nearest neighbour in the projection belongs to its own cluster.
    d = np.linalg.norm(coords[:, None] - coords[None], axis=2)
    np.fill_diagonal(d, np.inf)
    assert np.mean(labels[d.argmin(axis=1)] == labels) >= 0.95


def test_projection_is_cached_by_content():
    x, _ = clusters()
    first = projection.project(x, "pca", 2)
    assert projection.project(x.copy(), "pca", 2) is first
    assert projection.project(x + 1, "pca", 2) is not first


def test_unknown_method_lists_the_known_ones():
    with pytest.raises(ValueError, match="umap, pca, tsne"):
        projection.project(np.zeros((5, 3)), "mds")


def test_tiny_inputs_do_not_crash():
    assert projection.project(np.ones((2, 4)), "umap", 2).shape == (2, 2)


def test_warm_up_marks_umap_ready():
    projection.warm_up()
    assert projection.is_warm()


def test_nearest_neighbours_exclude_the_query_and_are_sorted():
    x = torch.tensor([[0.0, 0.0], [1.0, 0.0], [3.0, 0.0], [0.5, 0.0]])
    found = projection.nearest_neighbours(x, 0, euclidean_paired, k=3)
    assert [i for i, _ in found] == [3, 1, 2]
    assert [d for _, d in found] == pytest.approx([0.5, 1.0, 3.0])


def test_data_uri_is_a_png_of_the_requested_size():
    image = torch.randint(0, 255, (1, 20, 20), dtype=torch.uint8)
    uri = projection.data_uri(image, size=24)
    assert uri.startswith("data:image/png;base64,")
    decoded = Image.open(io.BytesIO(base64.b64decode(uri.split(",", 1)[1])))
    assert decoded.size == (24, 24)
