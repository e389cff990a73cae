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
    identity_sizes,
    preview,
    sample_grid,
    sample_pairs,
    who_trains,
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


def test_who_trains_counts_people_with_pairs_and_single_image_people(make_identity_folders, tmp_path):
    root = make_identity_folders(n_identities=6, n_images=[1, 1, 2, 3, 4, 1])
    (root / "person_02" / "001.png").write_bytes(b"broken")  # one readable image left: a single-image person
    (root / "person_05" / "000.png").write_bytes(b"broken")  # none readable: counts for nothing
    _, counts = preview(str(root), 16, "grey", tmp_path / "data")
    assert [row["identity"] for row in counts] == ["person_04", "person_03"]  # the preview keeps pairs only
    sizes = identity_sizes(str(root), counts, tmp_path / "data")
    assert sizes == {"person_00": 1, "person_01": 1, "person_02": 1, "person_03": 3, "person_04": 4, "person_05": 0}
    left_out = who_trains(sizes, "leave_out", val_fraction=0.5)
    assert (left_out.with_pairs, left_out.pair_images, left_out.single) == (2, 7, 3)
    assert left_out.training_people == 1
    assert left_out.lines() == [
        "2 people with two images or more (7 images) train and validate: split by identity, about 1 to train and "
        "1 held out (50%) to validate on, never trained on.",
        "3 people with one image are left out (singletons = leave_out); with singletons = classes on the Train "
        "page they train as classes of their own."]
    classes = who_trains(sizes, "classes", val_fraction=0.5)
    assert classes.training_people == 4
    assert classes.lines()[1].startswith("3 people with one image train as classes of their own")


def test_who_trains_on_a_large_folder_counts_its_files(make_identity_folders, tmp_path):
    root = make_identity_folders(n_identities=5, n_images=[1, 8, 8, 8, 8])
    _, counts = preview(str(root), 16, "grey", tmp_path / "data", max_images=20)
    sizes = identity_sizes(str(root), counts, tmp_path / "data")
    assert sizes["person_00"] == 1 and who_trains(sizes).single == 1 and who_trains(sizes).with_pairs == 4
    assert who_trains({"a": 2, "b": 2}).lines()[1] == "Nobody has a single image."
