"""A trained run put to use (siamese/trained.py): the images of its split, decoded without the rest."""

from __future__ import annotations

import json
import shutil

import pytest

from siamese.config import TrainConfig
from siamese.data import dataset as data_module
from siamese.errors import DatasetError, RunError
from siamese.runs.folder import RunPaths, new_run_dir
from siamese.runs.trained import run_dataset
from siamese.train.loop import train


@pytest.fixture
def trained_run(make_identity_folders, tmp_path):
    faces = make_identity_folders(n_identities=8, n_images=4)
    config = TrainConfig(data=str(faces), embedding_dim=8, p=4, k=2, epochs=1, augment=False,
                         val_fraction=0.25, device="cpu")
    run = new_run_dir(tmp_path / "runs", "tiny")
    train(config, run)
    return run, faces, json.loads((run / "split.json").read_text())


def test_run_dataset_gives_the_recorded_identities_in_order(trained_run):
    run, faces, split = trained_run
    validation = run_dataset(run, "validation")
    assert validation.identities == split["validation"] and len(validation) == 2 * 4
    assert validation.labels.tolist() == [0] * 4 + [1] * 4
    training = run_dataset(run, "train")
    assert training.identities == split["train"] and len(training) == 6 * 4
    assert len(run_dataset(run, "all")) == 8 * 4


def test_run_dataset_reads_only_the_identities_it_needs(trained_run, monkeypatch):
    run, faces, split = trained_run
    opened = []
    real_load_image = data_module.load_image
    monkeypatch.setattr(data_module, "load_image", lambda path, *a, **k: opened.append(path) or
                        real_load_image(path, *a, **k))
    validation = run_dataset(run, "validation")
    assert len(validation) == 8
    assert sorted(opened) == sorted(p for name in split["validation"] for p in (faces / name).iterdir())


def test_run_dataset_says_which_identities_are_gone(trained_run):
    run, faces, split = trained_run
    shutil.rmtree(faces / split["validation"][0])
    with pytest.raises(DatasetError, match=f"no longer holds identities the run used: {split['validation'][0]}"):
        run_dataset(run, "validation")


def test_a_checkpoint_of_another_model_is_refused_with_run_error(small_run, tmp_path):
    import shutil

    from siamese.models import build_model
    from siamese.runs.files import save_torch
    from siamese.runs.folder import run_config
    from siamese.runs.trained import load_trained

    other = shutil.copytree(small_run, tmp_path / "other")
    stranger = build_model(TrainConfig.from_dict({**run_config(other).to_dict(), "embedding_dim": 4}))
    save_torch(RunPaths(other).checkpoint, {"model": stranger.state_dict()})
    with pytest.raises(RunError, match="does not match the run's configuration"):
        load_trained(other, device="cpu")
