"""siamese/train/inputs.py: large folders are streamed from disk, and validated on a seeded sample of
held-out identities."""

from __future__ import annotations

import pytest

from siamese.data.dataset import FaceDataset, ImageFiles
from siamese.errors import DatasetError
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


def test_excluded_people_are_kept_out_of_training_and_validation(faces, small_config, tmp_path):
    people = tmp_path / "peopleDevTest.txt"
    people.write_text("3\nperson_02\t6\nperson_07\t6\nsomebody_else\t1\n")
    train_set, val_set, split = prepare_data(small_config(faces, exclude_people=str(people)))
    assert split["excluded"] == ["person_02", "person_07"]
    assert not {"person_02", "person_07"} & set(train_set.identities + val_set.identities)
    assert len(train_set.identities) + len(val_set.identities) == 10


def test_an_excluded_people_file_naming_nobody_of_the_dataset_is_refused(faces, small_config, tmp_path):
    people = tmp_path / "names.txt"
    people.write_text("Aaron_Peirsol\nAbba_Eban\n")
    with pytest.raises(DatasetError, match="names 2 people, none of them in the dataset"):
        prepare_data(small_config(faces, exclude_people=str(people)))


def test_the_face_cut_is_chosen_and_recorded(faces, small_config, tmp_path):
    assert prepare_data(small_config(faces), tmp_path)[2]["faces"] == "whole"  # 32 px images: crops already
    with pytest.raises(DatasetError, match="no face was found in any"):
        prepare_data(small_config(faces, faces="align"), tmp_path)
