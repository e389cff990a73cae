"""siamese/train/inputs.py: large folders are streamed from disk, and validated on a seeded sample of
held-out identities."""

from __future__ import annotations

from siamese.data.dataset import FaceDataset, ImageFiles
from siamese.train import inputs as inputs_module
from siamese.train.inputs import prepare_data


def test_auto_streams_folders_above_the_image_limit(faces, monkeypatch, small_config):
    train_set, val_set, _ = prepare_data(small_config(faces))
    assert isinstance(train_set, FaceDataset)  # 72 images: decoded up front
    monkeypatch.setattr(inputs_module, "STREAM_ABOVE_IMAGES", 50)
    train_set, val_set, split = prepare_data(small_config(faces))
    assert isinstance(train_set, ImageFiles) and len(train_set) == 36
    assert isinstance(val_set, FaceDataset) and len(val_set) == 36 and split["streamed"]
    assert sorted(train_set.identities + val_set.identities) == [f"person_{i:02d}" for i in range(12)]


def test_streamed_validation_is_a_seeded_sample_of_held_out_identities(faces, monkeypatch, small_config):
    monkeypatch.setattr(inputs_module, "VALIDATION_MAX_IMAGES", 10)
    monkeypatch.setattr(inputs_module, "VALIDATION_IMAGES_PER_IDENTITY", 4)
    config = small_config(faces, data_loading="stream")
    _, val_set, split = prepare_data(config)
    # 6 held-out identities of 6 images: identities are added, 4 images each, until 10 images are reached.
    assert len(val_set.identities) == 3 and len(val_set) == 12
    assert "validation uses 3 of the 6 held-out identities" in split["problems"]
    assert split["validation"] == val_set.identities
    assert prepare_data(config)[1].identities == val_set.identities
