"""Several datasets in one run (siamese/data/mix.py, siamese/train/inputs.py): people kept apart by source,
validation drawn from each, each source cut its own way, single-image people trained and never validated,
and the bad inputs refused with what to do."""

from __future__ import annotations

import pytest

from siamese.config import TrainConfig
from siamese.data.mix import split_cut, training_sources
from siamese.errors import ConfigError, DatasetError
from siamese.runs.folder import new_run_dir
from siamese.runs.trained import run_dataset
from siamese.train.inputs import prepare_data
from siamese.train.loop import train


def config(data, more=None, **overrides) -> TrainConfig:
    values = dict(data=str(data), more_data=more, input_size=32, model="compact", embedding_dim=16, p=4, k=3,
                  epochs=2, device="cpu", augment=False, val_fraction=0.25, seed=0)
    return TrainConfig(**{**values, **overrides})


@pytest.fixture
def two_sets(make_identity_folders, tmp_path):
    """Two datasets of 8 people each whose folders have the same names (s0 ... s7): other people all the same."""
    names = [f"s{i}" for i in range(8)]
    first = make_identity_folders(tmp_path / "first", names=names, n_images=4)
    second = make_identity_folders(tmp_path / "second", names=names, n_images=4, seed=3)
    return first, second


def test_people_of_two_datasets_stay_apart_and_each_gives_validation_people(tmp_path, two_sets):
    first, second = two_sets
    train_set, val_set, split = prepare_data(config(first, str(second)), tmp_path / "data")
    everyone = train_set.identities + val_set.identities
    assert len(everyone) == 16 and "s1" in everyone and "second/s1" in everyone
    assert {name.startswith("second/") for name in val_set.identities} == {True, False}
    rows = {row["label"]: row for row in split["sources"]}
    assert rows["first"]["prefix"] == "" and rows["second"]["prefix"] == "second/"
    assert rows["first"]["train_people"] + rows["first"]["validation_people"] == 8
    assert rows["second"]["validation_people"] == 2 and rows["second"]["train_images"] == 6 * 4


def test_validation_from_data_only_trains_the_other_datasets_whole(tmp_path, two_sets):
    first, second = two_sets
    train_set, val_set, _ = prepare_data(config(first, str(second), validate_from="data"), tmp_path / "data")
    assert not any(name.startswith("second/") for name in val_set.identities)
    assert sum(name.startswith("second/") for name in train_set.identities) == 8


def test_a_run_on_two_datasets_trains_and_its_readers_find_each_persons_images(tmp_path, two_sets):
    first, second = two_sets
    run = new_run_dir(tmp_path / "runs", "mixed")
    result = train(config(first, str(second)), run, data_dir=tmp_path / "data")
    assert result.status == "finished"
    trained_on = run_dataset(run, "train", data_dir=tmp_path / "data")
    assert any(name.startswith("second/") for name in trained_on.identities)
    second_people = trained_on.subset([n for n in trained_on.identities if n.startswith("second/")])
    assert all("/second/" in path for path in second_people.paths)


def test_each_dataset_is_cut_as_its_images_need(tmp_path, make_identity_folders):
    crops = make_identity_folders(tmp_path / "crops", n_identities=4, size=32)
    photos = make_identity_folders(tmp_path / "photos", n_identities=4, size=200)
    sources = training_sources([str(crops), str(photos), f"{photos}@whole"][:2], "auto", tmp_path / "data")
    assert [s.cut for s in sources] == ["whole", "align"]
    assert split_cut(f"{photos}@whole") == (str(photos), "whole")
    assert split_cut("plain") == ("plain", "auto")


def test_the_same_dataset_given_twice_is_refused(tmp_path, two_sets):
    first, _ = two_sets
    with pytest.raises(DatasetError, match="given twice"):
        prepare_data(config(first, f"{first}/../first"), tmp_path / "data")


def test_an_unreadable_second_dataset_is_named(tmp_path, two_sets):
    first, _ = two_sets
    with pytest.raises(DatasetError, match=r"dataset 2 of 2 \('.*nowhere'\)"):
        prepare_data(config(first, str(tmp_path / "nowhere")), tmp_path / "data")


def test_a_dataset_of_one_person_trains_whole_and_says_so(tmp_path, two_sets, make_identity_folders):
    first, _ = two_sets
    alone = make_identity_folders(tmp_path / "alone", n_identities=1, n_images=4, seed=9)
    train_set, val_set, split = prepare_data(config(first, str(alone)), tmp_path / "data")
    assert "alone/person_00" in train_set.identities
    assert any("alone has 1 people" in p and "all of them train" in p for p in split["problems"])


def test_single_image_people_train_as_classes_and_never_validate(tmp_path, make_identity_folders):
    faces = make_identity_folders(n_identities=10, n_images=[4] * 6 + [1] * 4)
    left_out = prepare_data(config(faces), tmp_path / "data")
    assert len(left_out[0].identities) + len(left_out[1].identities) == 6
    train_set, val_set, split = prepare_data(config(faces, singletons="classes", sampler="uniform"),
                                             tmp_path / "data")
    singles = {f"person_{i:02d}" for i in range(6, 10)}
    assert singles <= set(train_set.identities) and not singles & set(val_set.identities)
    assert split["single_image_people"] == 4
    assert not any("never drawn" in problem for problem in split["problems"])
    with_pk = prepare_data(config(faces, singletons="classes", sampler="pk"), tmp_path / "data")[2]
    assert any("single-image people are never drawn; set sampler to 'uniform'" in p for p in with_pk["problems"])
    run = new_run_dir(tmp_path / "runs", "singles")
    assert train(config(faces, singletons="classes", sampler="uniform"), run, data_dir=tmp_path / "data").status \
        == "finished"


def test_a_sample_of_the_datas_people(tmp_path, make_identity_folders):
    faces = make_identity_folders(n_identities=12, n_images=3)
    train_set, val_set, _ = prepare_data(config(faces, data_people=8), tmp_path / "data")
    assert len(train_set.identities) + len(val_set.identities) == 8
    again = prepare_data(config(faces, data_people=8), tmp_path / "data")
    assert again[0].identities == train_set.identities


def test_too_small_a_sample_is_refused():
    with pytest.raises(ConfigError, match="data_people: must be at least 4"):
        TrainConfig(data_people=3)
