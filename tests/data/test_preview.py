"""Dataset previews and where a first visit starts."""

from __future__ import annotations

import torch

from siamese.data import dataset as data_module
from siamese.data.folders import load_folder
from siamese.data.preview import (
    FACES_NOTE,
    augmentation_examples,
    default_source,
    identity_counts,
    preview,
    sample_grid,
    sample_pairs,
)
from siamese.data.sources import source_options


def test_first_visit_prefers_faces_under_data(tmp_path, make_identity_folders):
    assert default_source(tmp_path / "data") == ("digits", FACES_NOTE)
    (tmp_path / "data" / "sklearn").mkdir(parents=True)
    (tmp_path / "data" / "sklearn" / "olivetti.pkz").write_bytes(b"")
    assert default_source(tmp_path / "data") == ("olivetti", None)
    make_identity_folders(tmp_path / "data" / "mine")
    assert default_source(tmp_path / "data") == ("mine", None)
    assert source_options(tmp_path / "data")[0] == "mine" and "digits" in source_options(tmp_path / "data")


def test_counts_grid_and_pairs(make_identity_folders):
    data = load_folder(make_identity_folders(n_identities=4, n_images=[2, 3, 4, 5]), 16)
    assert identity_counts(data)[0] == {"identity": "person_03", "images": 5}
    grid = sample_grid(data, identities=3, per_identity=4)
    assert len(grid) == 3 and all(1 < len(images) <= 4 for _, images in grid)
    pairs = sample_pairs(data, n=5, seed=1)
    labels = data.labels
    assert all(labels[i] == labels[j] and i != j for i, j in pairs["genuine"])
    assert all(labels[i] != labels[j] for i, j in pairs["impostor"])


def test_augmentation_examples_differ_and_keep_shape():
    image = torch.randint(0, 255, (1, 24, 24), dtype=torch.uint8)
    out = augmentation_examples(image, strength=1.0, n=4)
    assert len(out) == 4 and all(o.shape == image.shape and o.dtype == torch.uint8 for o in out)
    assert not torch.equal(out[0], out[1])
    assert all(torch.equal(o, image) for o in augmentation_examples(image, strength=0.0, n=2))


def test_preview_of_a_small_folder_is_the_whole_dataset(make_identity_folders, tmp_path):
    root = make_identity_folders(n_identities=4, n_images=[2, 3, 4, 5])
    data, counts = preview(str(root), 16, "grey", tmp_path / "data")
    assert len(data) == 14 and data.problems == []
    assert counts == identity_counts(data)


def test_preview_of_a_large_folder_decodes_a_sample_and_counts_every_file(make_identity_folders, tmp_path,
                                                                          monkeypatch):
    root = make_identity_folders(n_identities=12, n_images=10)
    (root / "person_00" / "000.png").write_bytes(b"broken")  # counted by its name; person_00 is not sampled
    opened = []
    real_load_image = data_module.load_image
    monkeypatch.setattr(data_module, "load_image", lambda path, *a, **k: opened.append(path) or
                        real_load_image(path, *a, **k))
    data, counts = preview(str(root), 16, "grey", tmp_path / "data", max_images=20)
    # Identities are added, PREVIEW_PER_IDENTITY (8) images each, until 20 images: 3 identities.
    assert len(data.identities) == 3 and len(opened) == len(data) == 24
    assert len(counts) == 12 and all(row["images"] == 10 for row in counts)
    assert data.problems[0].startswith("120 images: showing a sample of 3 identities")
