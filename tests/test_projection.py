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
from siamese.errors import RunError


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


def test_projector_files_that_cannot_be_written_give_run_error(small_run, tmp_path):
    from siamese.projection import embed_run, write_projector_files

    embeddings, data = embed_run(small_run, data_dir=small_run.parent.parent / "data")
    blocker = tmp_path / "projector"
    blocker.write_text("a file where the folder should be")
    with pytest.raises(RunError, match="cannot write the projector files"):
        write_projector_files(blocker, embeddings, data)


def test_identity_traces_keep_each_points_row_and_face(small_run):
    from siamese.runs.trained import run_dataset

    data = run_dataset(small_run, "validation", data_dir=small_run.parent.parent / "data")
    coords = np.arange(len(data) * 3, dtype=np.float32).reshape(-1, 3)
    faces = [f"face-{i}" for i in range(len(data) - 1)]  # one face short: its point gets ''
    traces = projection.identity_traces(coords, data, faces, training={data.identities[0]})
    assert [t["name"] for t in traces] == data.identities
    assert traces[0]["symbol"] == "x" and {t["symbol"] for t in traces[1:]} == {"circle"}
    rows = [point[3] for t in traces for point in t["customdata"]]
    assert sorted(rows) == list(range(len(data)))
    for trace in traces:
        for point, x, z in zip(trace["customdata"], trace["x"], trace["z"]):
            assert (x, z) == (coords[point[3], 0], coords[point[3], 2])
            assert point[1] == trace["name"] and point[0] == (faces[point[3]] if point[3] < len(faces) else "")
    assert "z" not in projection.identity_traces(coords[:, :2], data, faces)[0]


def test_export_projector_writes_one_line_per_image(small_run):
    out, images = projection.export_projector(small_run, small_run.parent.parent / "data")
    assert out == small_run / "projector"
    assert len((out / "vectors.tsv").read_text().splitlines()) == images
    assert len((out / "metadata.tsv").read_text().splitlines()) == images + 1
